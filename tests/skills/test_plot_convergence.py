"""Tests of skills/plot-convergence.md (PNG line plot with optional reference line)."""

import io
import math

import numpy as np
import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TRACE = [-0.31, -0.73, 0.10, -1.12, -1.13, -1.1372, -1.13730]


@pytest.fixture(scope="module")
def plot(skill_execute):
    return skill_execute("plot-convergence")


def decode(png_bytes):
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png_bytes), format="png")


def red_pixels(img):
    """Pixels close to matplotlib's tab:red (214, 39, 40), the reference line colour."""
    rgb = (img[..., :3] * 255).astype(int)
    return int(np.sum((np.abs(rgb[..., 0] - 214) < 25) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)))


def test_returns_valid_png(plot):
    out = plot({"data": TRACE})
    assert set(out) == {"image"}
    png = out["image"]
    assert isinstance(png, bytes) and png.startswith(PNG_MAGIC)
    img = decode(png)
    assert img.shape[:2] == (500, 800)
    assert img.shape[2] in (3, 4)
    # something is drawn: not a blank canvas
    assert img[..., :3].min() < 0.5


def test_reference_line_is_drawn(plot):
    without = decode(plot({"data": TRACE})["image"])
    with_ref = decode(plot({"data": TRACE, "reference": -1.137306})["image"])
    assert red_pixels(without) == 0
    assert red_pixels(with_ref) > 300  # a dashed line across most of the 800-px axis


def test_deterministic_bytes(plot):
    assert (
        plot({"data": TRACE, "reference": -1.0})["image"]
        == plot({"data": TRACE, "reference": -1.0})["image"]
    )


def test_no_software_metadata(plot):
    assert b"matplotlib version" not in plot({"data": TRACE})["image"]


def test_labels_change_image(plot):
    a = plot({"data": TRACE})["image"]
    b = plot({"data": TRACE, "title": "Other", "xlabel": "step", "ylabel": "E"})["image"]
    assert a != b


def test_single_point_and_numpy_values(plot):
    assert plot({"data": [1.0]})["image"].startswith(PNG_MAGIC)
    assert plot({"data": list(np.linspace(0.0, 1.0, 5)), "reference": np.float64(0.5)})[
        "image"
    ].startswith(PNG_MAGIC)


def test_does_not_touch_pyplot(plot):
    import sys

    plot({"data": TRACE})
    if "matplotlib.pyplot" in sys.modules:  # imported elsewhere: no figure may have been registered
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_x_values(plot):
    t = [i * 1e-5 for i in range(501)]
    v = [5.0 * (1 - math.exp(-ti / 1e-3)) for ti in t]
    img = decode(plot({"data": v, "x": t, "xlabel": "Time (s)", "ylabel": "V"})["image"])
    assert img.shape[:2] == (500, 800)
    assert (
        plot({"data": [1.0, 2.0], "x": [0.0, 1.0]})["image"]
        != plot({"data": [1.0, 2.0], "x": [0.0, 3.0]})["image"]
    )


@pytest.mark.parametrize(
    "inputs,match",
    [
        ({"data": []}, "at least one"),
        ({"data": None}, "array"),
        ({"data": "1,2,3"}, "array"),
        ({"data": [1.0, "x"]}, r"data\[1\]"),
        ({"data": [1.0, True]}, r"data\[1\]"),
        ({"data": [1.0, 2.0, math.nan]}, r"data\[2\].*finite"),
        ({"data": [1.0], "reference": "low"}, "reference"),
        ({"data": [1.0], "title": 3}, "title"),
        ({"data": [1.0, 2.0], "x": [0.0]}, "same length"),
        ({"data": [1.0, 2.0], "x": [0.0, "a"]}, r"x\[1\]"),
        ({"data": [1.0], "x": 5}, "x must be an array"),
    ],
)
def test_bad_input(plot, inputs, match):
    with pytest.raises(ValueError, match=match):
        plot(inputs)
