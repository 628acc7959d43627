"""The tests block of a workflow: loading with named errors, and the expectation forms."""

from __future__ import annotations

import pytest

from llmos_jupyter import SkillLibrary, Workflow
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._testing.cases import (
    CaseError,
    _approx,
    check_case,
    json_equal,
    load_cases,
)


def workflow(tests, path=None):
    wf = Workflow.from_dict({"id": "demo", "nodes": [
        {"id": "rc", "data": {"skill": "circuit-rc", "params": {}}},
        {"id": "stats", "data": {"skill": "data-analysis", "params": {}}}],
        "edges": [{"id": "e", "source": "rc", "sourceHandle": "voltage_data",
                   "target": "stats", "targetHandle": "data"}], "tests": tests}, path=path)
    return wf


def result(**nodes):
    wf = workflow([])
    return RunResult("r1", wf, "completed", {
        n: NodeResult(n, "x", status, outputs=outputs, error=error)
        for n, (status, outputs, error) in nodes.items()})


def test_no_block_is_no_cases():
    assert load_cases(Workflow.from_dict({"nodes": []})) == []


def test_cases_are_read_in_order_with_their_targets(tmp_path):
    wf = workflow([{"name": "a", "overrides": {"rc.resistance": 10},
                    "expect": {"stats.mean": {"approx": 1, "rel": 0.1}, "rc": {"status": "completed"},
                               "stats.count": 3}},
                   {"name": "b", "expect": {"rc.time_constant": {"equals": {"approx": 1}}}}],
                  path=tmp_path / "x.workflow.json")
    a, b = load_cases(wf)
    assert (a.name, a.index, a.overrides, a.targets) == ("a", 0, {"rc.resistance": 10},
                                                          ["stats", "rc"])
    assert [(e.kind, e.value, e.rel, e.abs) for e in a.expect] == [
        ("approx", 1, 0.1, None), ("status", "completed", None, None), ("equals", 3, None, None)]
    assert (b.expect[0].kind, b.expect[0].value) == ("equals", {"approx": 1})


def test_every_problem_is_named_with_file_index_and_case(tmp_path):
    path = tmp_path / "bad.workflow.json"
    wf = workflow([
        {"name": "ok", "expect": {"rc.time_constant": 1}},
        {"name": "typo", "expect": {"rc.time_constnt": 1, "nope.x": 1,
                                    "rc.netlist": {"approx": 1, "tol": 2}}},
        {"name": "ok", "overrides": {"rc": 1}, "expect": {"rc": {"status": "done"}}},
        "not an object",
        {"expect": {"stats.mean": {"approx": [1, "x"]}, "stats.count": {"approx": 1, "abs": -1}}},
    ], path=path)
    with pytest.raises(CaseError) as info:
        load_cases(wf, SkillLibrary())
    text = str(info.value)
    assert text.startswith(f"{path}: invalid tests block:")
    for needle in [
        ("tests[1] ('typo'): expect 'rc.time_constnt': skill 'circuit-rc' of node 'rc' has no "
        "output 'time_constnt'"),
        "tests[1] ('typo'): expect 'nope.x': node 'nope' is not in the workflow",
        "tests[1] ('typo'): expect 'rc.netlist': {'approx': …} takes only abs, approx, rel",
        "tests[2] ('ok'): override 'rc' must be \"node.port\"",
        "tests[2] ('ok'): expect 'rc': status must be one of completed, cached, failed, skipped",
        "tests[2] ('ok'): the name is already used by tests[0]",
        "tests[3] must be an object",
        "tests[4]: 'name' must be a non-empty string",
        "tests[4]: expect 'stats.mean': approx takes a number",
        "tests[4]: expect 'stats.count': abs must be a number ≥ 0, got -1",
    ]:
        assert needle in text, needle
    with pytest.raises(CaseError, match="'tests' must be a list"):
        load_cases(workflow({"name": "x"}))


@pytest.mark.parametrize("expected,rel,abs_", [
    (1.0, None, None), (1.0, 1e-3, None), (1.0, None, 1e-3), (1.0, 1e-3, 1e-2),
    (0.0, None, None), (0.0, 0.5, None), (-1e6, 1e-9, 0.5), (1e-14, None, None)])
@pytest.mark.parametrize("delta", [0.0, 1e-13, 1e-9, 1e-6, 5e-4, 2e-3, 0.02, 0.7])
def test_approx_agrees_with_pytest_approx(expected, rel, abs_, delta):
    for actual in (expected + delta, expected - delta):
        ours, _ = _approx(actual, expected, rel, abs_)
        assert ours == (actual == pytest.approx(expected, rel=rel, abs=abs_)), (actual, expected)


def test_approx_of_arrays_and_objects():
    assert _approx([1.0, 2.0], [1.0, 2.0000001], 1e-3, None)[0]
    ok, why = _approx([1.0, 2.5], [1.0, 2.0], None, 0.1)
    assert not ok and why == "at [1]: 2.5: off by 0.5, tolerance 0.1"
    assert _approx([1.0], [1.0, 2.0], None, None) == (False, "1 elements, expected 2 numbers")
    assert _approx({"a": 1.0}, {"a": 1.05}, 0.1, None)[0]
    assert not _approx(True, 1.0, None, None)[0]  # a boolean is not a number


def test_json_equality():
    assert json_equal(1, 1.0) and json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal(True, 1) and not json_equal(0, False) and not json_equal(None, 0)
    assert not json_equal([1, 2], [2, 1]) and not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal("1", 1)


def test_check_case_messages_name_case_port_expected_actual():
    wf = workflow([{"name": "c", "expect": {
        "rc.time_constant": 0.001, "rc.netlist": {"contains": "R1"}, "stats.mean": 2.5,
        "stats": {"status": "skipped"}, "rc.simulator": {"contains": "spice"},
        "stats.count": {"approx": [1, 2]}}}])
    [case] = load_cases(wf)
    res = result(rc=("completed", {"time_constant": 0.0010000001, "netlist": "R1 in out",
                                   "simulator": "analytic"}, None),
                 stats=("failed", {}, "ValueError: no data"))
    messages = [f.message for f in check_case(res, case)]
    assert messages == [
        ("case 'c': rc.time_constant: expected 0.001, actual 0.0010000001 (off by 1e-10; use "
        "{\"approx\": …} for a tolerance)"),
        "case 'c': stats.mean: expected 2.5, actual no value: the node failed (ValueError: no data)",
        "case 'c': stats: expected status skipped, actual status failed (ValueError: no data)",
        "case 'c': rc.simulator: expected a value containing \"spice\", actual \"analytic\"",
        ("case 'c': stats.count: expected ≈ [1, 2] element-wise (rel 1e-06), actual no value: the "
        "node failed (ValueError: no data)"),
    ]


def test_status_completed_accepts_cached_but_not_the_reverse():
    wf = workflow([{"name": "c", "expect": {"rc": {"status": "completed"},
                                            "stats": {"status": "cached"}}}])
    [case] = load_cases(wf)
    assert check_case(result(rc=("cached", {}, None), stats=("cached", {}, None)), case) == []
    [f] = check_case(result(rc=("completed", {}, None), stats=("completed", {}, None)), case)
    assert (f.key, f.actual) == ("stats", "status completed")


def test_contains_on_arrays_and_objects():
    wf = workflow([{"name": "c", "expect": {"rc.time": {"contains": 2},
                                            "rc.netlist": {"contains": {"a": [1]}},
                                            "rc.simulator": {"contains": "k"}}}])
    [case] = load_cases(wf)
    ok = result(rc=("completed", {"time": [1, 2.0], "netlist": {"a": [1], "b": 0},
                                  "simulator": {"k": 1}}, None))
    assert check_case(ok, case) == []
    bad = result(rc=("completed", {"time": [1], "netlist": {"a": [2]}, "simulator": {"j": 1}},
                     None))
    assert [f.detail for f in check_case(bad, case)] == [
        "1 elements", "['a'] is [2]", "keys: [\"j\"]"]


def test_values_are_shortened_and_secrets_redacted():
    key = "sk-ant-api03-" + "A1b2C3d4" * 6
    wf = workflow([{"name": "c", "expect": {"rc.netlist": "x", "rc.time": [0]}}])
    [case] = load_cases(wf)
    res = result(rc=("completed", {"netlist": f"key {key} end", "time": list(range(1000))}, None))
    f1, f2 = check_case(res, case)
    assert key not in f1.message and "[REDACTED]" in f1.actual
    assert len(f2.actual) == 120 and f2.actual.endswith("…")
    assert f2.detail == "at top: 1000 elements, expected 1"
