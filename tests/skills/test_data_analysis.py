"""Tests of skills/data-analysis.md (count, mean, sample std, min, max)."""

import math
import statistics

import numpy as np
import pytest


@pytest.fixture(scope="module")
def stats(skill_execute):
    return skill_execute("data-analysis")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_statistics_and_numpy(stats, seed):
    data = np.random.default_rng(seed).normal(3.0, 2.0, 257).tolist()
    out = stats({"data": data})
    assert out["count"] == 257 and type(out["count"]) is int
    assert out["mean"] == pytest.approx(statistics.fmean(data), rel=1e-15)
    assert out["std"] == pytest.approx(statistics.stdev(data), rel=1e-15)
    assert out["std"] == pytest.approx(float(np.std(data, ddof=1)), rel=1e-12)
    assert out["min"] == min(data) and out["max"] == max(data)
    assert all(type(out[k]) is float for k in ("mean", "std", "min", "max"))


def test_small_known_values(stats):
    out = stats({"data": [1, 2, 3, 4]})
    assert out == {
        "count": 4,
        "mean": 2.5,
        "std": pytest.approx(math.sqrt(5 / 3), rel=1e-15),
        "min": 1.0,
        "max": 4.0,
    }


def test_single_value_std_is_zero(stats):
    assert stats({"data": [42]}) == {"count": 1, "mean": 42.0, "std": 0.0, "min": 42.0, "max": 42.0}


def test_large_offset_no_cancellation(stats):
    out = stats({"data": [1e9 + 1, 1e9 + 2, 1e9 + 3]})
    assert out["std"] == 1.0
    assert out["mean"] == 1e9 + 2


def test_numpy_scalars_accepted(stats):
    out = stats({"data": [np.float32(1.5), np.int64(2), 3]})
    assert out["count"] == 3 and out["mean"] == pytest.approx(13 / 6)


@pytest.mark.parametrize(
    "data,match",
    [
        ([], "at least one"),
        (None, "array"),
        ("123", "array"),
        ({"a": 1}, "array"),
        ([1, 2, "3"], r"data\[2\]"),
        ([1, None], r"data\[1\]"),
        ([True, 1], r"data\[0\]"),
        ([1.0, math.nan], r"data\[1\].*finite"),
        ([math.inf], r"data\[0\]"),
    ],
)
def test_bad_data(stats, data, match):
    with pytest.raises(ValueError, match=match):
        stats({"data": data})
