"""Run analytics: percentiles, compute_stats on records, and exact figures from real runs."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from toy_skills import ADD, FAIL

import llmos_jupyter
from llmos_jupyter import Workflow
from llmos_jupyter._cli import main
from llmos_jupyter._stats import compute_stats, parse_since, percentile, stats_report
from llmos_jupyter._trace.record import NodeRecord, RunRecord

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def node(node_id, status, ms=0.0, error=None, skill="add"):
    return NodeRecord(node_id, skill, status, ms, status == "cached", error)


def run(run_id, status, nodes, minutes=0, workflow="wf", duration=10.0):
    start = T0 + dt.timedelta(minutes=minutes)
    return RunRecord(run_id, workflow, workflow.upper(), status, start,
                     start + dt.timedelta(milliseconds=duration), nodes, duration)


def test_percentile_is_numpys_linear_method():
    np = pytest.importorskip("numpy")
    rng = random.Random(3)
    for n in (1, 2, 3, 7, 20, 101):
        xs = [rng.uniform(0, 1000) for _ in range(n)]
        for q in (0, 5, 50, 95, 100):
            assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)), rel=1e-12)
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0], 95) == pytest.approx(19.5)


def test_compute_stats_exact_figures():
    records = [
        run("r1", "completed", [node("a", "completed", 10.0), node("b", "completed", 30.0)],
            0, duration=45.0),
        run("r2", "completed", [node("a", "cached"), node("b", "completed", 50.0)], 1,
            duration=55.0),
        run("r3", "failed", [node("a", "failed", 2.0, "ValueError: x = 3 is bad", "fail"),
                             node("b", "skipped", error="upstream a failed")], 2, duration=5.0),
        run("r4", "failed", [node("a", "failed", 4.0, "ValueError: x = 12 is bad", "fail")], 3,
            workflow="other", duration=6.0),
    ]
    s = compute_stats(records)
    assert (s["runs"], s["statuses"], s["success_rate"]) == (
        4, {"completed": 2, "failed": 2}, 0.5)
    assert (s["first"], s["last"]) == ("2026-11-30T12:00:00.000+00:00",
                                        "2026-11-30T12:03:00.000+00:00")
    # run times 5, 6, 45, 55: p50 = (6 + 45) / 2, p95 = 45 + 0.85 * 10
    assert s["run_ms"] == {"p50": 25.5, "p95": 53.5, "mean": 27.75, "total": 111.0}
    assert s["node_runs"] == {"completed": 3, "cached": 1, "failed": 2, "skipped": 1}
    assert s["cache_hit_rate"] == round(1 / 6, 4)
    by = {(n["workflow"], n["node"]): n for n in s["nodes"]}
    b = by[("wf", "b")]
    assert (b["runs"], b["completed"], b["skipped"], b["executed"]) == (3, 2, 1, 2)
    assert (b["p50_ms"], b["p95_ms"], b["mean_ms"], b["max_ms"], b["total_ms"]) == (
        40.0, 49.0, 40.0, 50.0, 80.0)
    assert b["cache_hit_rate"] == 0.0
    a = by[("wf", "a")]
    assert (a["completed"], a["cached"], a["failed"], a["total_ms"], a["cache_hit_rate"]) == (
        1, 1, 1, 12.0, round(1 / 3, 4))
    assert a["skill"] == "fail"  # the latest run's skill
    assert [n["node"] for n in s["nodes"]] == ["b", "a", "a"]  # by total time
    assert [(x["workflow"], x["node"], x["share"]) for x in s["bottlenecks"]] == [
        ("wf", "b", round(80 / 96, 4)), ("wf", "a", round(12 / 96, 4)),
        ("other", "a", round(4 / 96, 4))]
    [f] = s["failures"]
    assert f == {"error": "ValueError: x = # is bad", "example": "ValueError: x = 3 is bad",
                 "count": 2, "nodes": ["a"], "workflows": ["wf", "other"],
                 "run_ids": ["r3", "r4"], "last": "2026-11-30T12:03:00.000+00:00"}
    assert [(w["workflow"], w["runs"], w["success_rate"]) for w in s["workflows"]] == [
        ("wf", 3, round(2 / 3, 4)), ("other", 1, 0.0)]
    json.dumps(s, allow_nan=False)  # plain JSON


def test_no_runs():
    s = compute_stats([])
    assert (s["runs"], s["success_rate"], s["run_ms"], s["cache_hit_rate"], s["nodes"]) == (
        0, None, None, None, [])


def test_errors_are_redacted():
    key = "sk-ant-api03-" + "Zq9" * 10
    s = compute_stats([run("r", "failed", [node("a", "failed", 1.0, f"bad key {key}")])])
    assert key not in json.dumps(s) and "[REDACTED]" in s["failures"][0]["example"]


def test_parse_since():
    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    assert parse_since("2026-11-29") == dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    assert parse_since("2026-11-29T10:00+02:00") == dt.datetime(2026, 11, 29, 8, tzinfo=dt.UTC)
    assert parse_since("90m", now=now) == now - dt.timedelta(minutes=90)
    assert parse_since("2w", now=now) == now - dt.timedelta(days=14)
    with pytest.raises(ValueError, match="--since 'soon'"):
        parse_since("soon")


@pytest.fixture
def runs(llmos_home, tmp_path):
    """Real runs through the engine, with traces: completed, all cached, one failing."""
    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True)
    (folder / "add.md").write_text(ADD)
    (folder / "fail.md").write_text(FAIL)
    wf = Workflow(id="adder", name="Adder")
    wf.add_node("add", id="a", params={"a": 1})
    wf.add_node("add", id="b")
    wf.connect("a", "sum", "b", "a")
    path = wf.save(tmp_path / "adder.workflow.json")
    bad = Workflow(id="breaks", name="Breaks")
    bad.add_node("fail", id="f", params={"x": 7})
    bad.add_node("add", id="c")
    bad.connect("f", "y", "c", "a")
    results = [llmos_jupyter.run(path), llmos_jupyter.run(path),
               llmos_jupyter.run(path, {"a.a": 5}), llmos_jupyter.run(bad)]
    assert [r.status for r in results] == ["completed", "completed", "completed", "failed"]
    assert results[1].cached == ["a", "b"]
    return results


def test_exact_figures_from_real_traces(runs):
    s = stats_report()
    assert (s["runs"], s["statuses"], s["success_rate"]) == (
        4, {"completed": 3, "failed": 1}, 0.75)
    assert s["node_runs"] == {"completed": 4, "cached": 2, "failed": 1, "skipped": 1}
    assert s["cache_hit_rate"] == round(2 / 7, 4)
    # The trace keeps each duration rounded to the microsecond: the figures come from there.
    a_ms = [round(r.nodes["a"].duration_ms, 3) for r in runs[:3] if r.nodes["a"].status == "completed"]
    a = next(n for n in s["nodes"] if n["node"] == "a")
    assert (a["runs"], a["completed"], a["cached"], a["executed"]) == (3, 2, 1, 2)
    assert a["p50_ms"] == round(percentile(a_ms, 50), 3)
    assert a["p95_ms"] == round(percentile(a_ms, 95), 3)
    assert a["total_ms"] == round(sum(a_ms), 3)
    assert a["cache_hit_rate"] == round(1 / 3, 4)
    [f] = s["failures"]
    assert (f["error"], f["count"], f["nodes"], f["run_ids"]) == (
        "ValueError: cannot use x = #", 1, ["f"],
        [runs[3].run_id])
    only = stats_report(workflow="Breaks")  # by name too
    assert (only["runs"], only["success_rate"], only["filters"]["workflow"]) == (1, 0.0, "Breaks")
    assert stats_report(since="2099-01-01")["runs"] == 0


def test_cli_json_is_the_report(runs, capsys):
    assert main(["stats", "--json", "--workflow", "adder"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == stats_report(workflow="adder")
    assert (data["runs"], data["success_rate"], data["cache_hit_rate"]) == (3, 1.0, round(2 / 6, 4))


def test_cli_text_and_errors(runs, capsys):
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "4 runs of all workflows · success 75.0 % · cache hits 28.6 %" in out
    assert "1× ValueError: cannot use x = #" in out
    assert main(["stats", "--since", "soon"]) == 2
    assert "--since 'soon'" in capsys.readouterr().err
    assert main(["stats", "--since", "soon", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["status"] == "invalid"
    assert main(["stats", "--workflow", "nope"]) == 0
    assert "no runs of workflow 'nope'" in capsys.readouterr().out


def test_llm_cost_recorded_in_traces_is_summed():
    from types import SimpleNamespace

    from llmos_jupyter._stats import compute_stats

    def rec(cost):
        return SimpleNamespace(run_id="r", workflow_id="w", workflow_name="w", status="completed",
                               started=None, duration_ms=1.0, nodes=[], llm_cost_usd=cost)

    stats = compute_stats([rec(0.0125), rec(0.0), rec(0.0025)])
    assert stats["llm"] == {"runs": 2, "cost_usd": 0.015}
