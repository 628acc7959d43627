"""Control flow: condition/switch/merge branches, map/loop/subworkflow sub-runs, retry
and per-node timeout policies — through the real engine and the system skills."""

from __future__ import annotations

import json

import pytest
from toy_skills import ADD, COUNT, FAIL, skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill
from llmos_jupyter._engine.control import BRANCH_NOT_TAKEN, evaluate
from llmos_jupyter._workflow.validate import validate

FLAKY = skill_md(
    "flaky",
    """
    TRIES = []

    class Busy(Exception):
        retry_after_s = 0.0

    def execute(inputs):
        TRIES.append(1)
        if len(TRIES) < inputs["succeed_on"]:
            raise Busy(f"try {len(TRIES)}")
        return {"tries": len(TRIES)}
    """,
    inputs="[{name: succeed_on, type: integer}]",
    outputs="[{name: tries, type: integer}]",
)
SQUARE = skill_md(
    "square",
    """
    def execute(inputs):
        if inputs["x"] == 13:
            raise ValueError("unlucky 13")
        return {"y": inputs["x"] ** 2}
    """,
    inputs="[{name: x, type: number}]",
    outputs="[{name: y, type: number}]",
)
STEP = skill_md(
    "step",
    """
    def execute(inputs):
        s = dict(inputs["state"])
        s["x"] = s["x"] / 2
        s["n"] = s.get("n", 0) + 1
        return {"state": s}
    """,
    inputs="[{name: state, type: object}]",
    outputs="[{name: state, type: object}]",
)


@pytest.fixture
def lib(llmos_home):
    """The system skills (control nodes) plus toy skills."""
    return SkillLibrary(skills=[parse_skill(t) for t in (ADD, COUNT, FAIL, FLAKY, SQUARE, STEP)])


@pytest.fixture
def engine(lib):
    e = Engine(lib, trace=False)
    yield e
    e.close()


def branching(expression):
    wf = Workflow(id="branching")
    wf.add_node("condition", id="cond", params={"expression": expression})
    wf.add_node("count", id="yes")
    wf.add_node("count", id="no")
    wf.add_node("add", id="after_yes", params={"b": 0})
    wf.add_node("merge", id="join")
    wf.connect("cond", "true", "yes", "x")
    wf.connect("cond", "false", "no", "x")
    wf.connect("yes", "y", "after_yes", "a")
    wf.connect("after_yes", "sum", "join", "in0")
    wf.connect("no", "y", "join", "in1")
    return wf


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("value,taken,skipped,joined", [
    (5, ["yes", "after_yes"], ["no"], 10),
    (-5, ["no"], ["yes", "after_yes"], -10),
])
def test_condition_takes_one_branch_and_merge_joins(lib, value, taken, skipped, joined, workers):
    engine = Engine(lib, trace=False, max_workers=workers)
    res = engine.run(branching("value > 0"), {"cond.value": value})
    assert res.status == "completed"
    for n in taken:
        assert res.nodes[n].status == "completed"
    for n in skipped:
        assert res.nodes[n].status == "skipped"
        assert res.nodes[n].error == BRANCH_NOT_TAKEN
    assert res.nodes["join"].outputs == {"result": joined}
    assert sorted(res.skipped) == sorted(skipped)


def test_branch_events_carry_the_reason(engine):
    seen = []
    engine.run(branching("value > 0"), {"cond.value": 1}, on_event=seen.append)
    skipped = [(e.node_id, e.error) for e in seen if e.kind == "node_skipped"]
    assert skipped == [("no", BRANCH_NOT_TAKEN)]


def test_a_failure_still_fails_the_run_and_is_not_a_branch(lib, engine):
    wf = Workflow(id="f")
    wf.add_node("fail", id="bad", params={"x": 1})
    wf.add_node("count", id="after")
    wf.connect("bad", "y", "after", "x")
    res = engine.run(wf)
    assert res.status == "failed"
    assert res.nodes["after"].error == "upstream node 'bad' failed"


def test_merge_all_and_merge_with_every_input_untaken(engine):
    wf = Workflow(id="m")
    wf.add_node("condition", id="c", params={"expression": "value == 'never'", "value": "x"})
    wf.add_node("merge", id="both", params={"mode": "all"})
    wf.add_node("merge", id="only_true")
    wf.connect("c", "true", "both", "in0")
    wf.connect("c", "false", "both", "in1")
    wf.connect("c", "true", "only_true", "in0")
    res = engine.run(wf)
    assert res.nodes["both"].outputs == {"result": ["x"]}
    assert res.nodes["only_true"].status == "skipped"
    assert res.nodes["only_true"].error == BRANCH_NOT_TAKEN
    assert res.status == "completed"


def test_switch_declares_case_ports_from_cases(lib, engine):
    wf = Workflow(id="sw")
    wf.add_node("switch", id="s", params={"cases": ["value < 0", "value == 0"]})
    for n in ("neg", "zero", "pos"):
        wf.add_node("count", id=n)
    wf.connect("s", "case0", "neg", "x")
    wf.connect("s", "case1", "zero", "x")
    wf.connect("s", "default", "pos", "x")
    for value, ran in ((-3, "neg"), (0, "zero"), (7, "pos")):
        res = engine.run(wf, {"s.value": value})
        assert [n for n in ("neg", "zero", "pos") if res.nodes[n].status == "completed"] == [ran]
        assert res.nodes[ran].outputs == {"y": value * 2}
    wf.add_node("count", id="ghost")
    wf.connect("s", "case2", "ghost", "x")
    problems = validate(wf, lib)
    assert [(p.code, p.node, p.port) for p in problems] == [("missing-port", "s", "case2")]


def test_switch_and_condition_expressions_are_checked(lib):
    wf = Workflow(id="bad")
    wf.add_node("switch", id="s", params={"cases": "value > 1"})
    wf.add_node("condition", id="c", params={"expression": "value >"})
    codes = sorted((p.code, p.node) for p in validate(wf, lib))
    assert codes == [("bad-expression", "c"), ("bad-param", "s")]


@pytest.mark.parametrize("expression", [
    "value.__class__.__mro__", "__import__('os').system('true')", "open('/etc/passwd')",
    "(1).__class__", "value.__globals__",
])
def test_expressions_cannot_escape(expression):
    with pytest.raises(ValueError):
        evaluate(expression, {"value": evaluate})


def test_expression_evaluation_errors_fail_the_node_by_name(engine):
    wf = Workflow(id="e")
    wf.add_node("condition", id="c", params={"expression": "nope > 1", "value": 1})
    res = engine.run(wf)
    assert res.nodes["c"].status == "failed"
    assert "nope" in res.nodes["c"].error and res.nodes["c"].error.startswith("ValueError")


# -- sub-workflows ----------------------------------------------------------------------
def write(path, wf_dict):
    path.write_text(json.dumps(wf_dict))
    return path


def square_flow(tmp_path, name="square.workflow.json"):
    return write(tmp_path / name, {
        "id": "square", "nodes": [
            {"id": "sq", "data": {"skill": "square", "params": {}}},
            {"id": "plus", "data": {"skill": "add", "params": {"b": 1}}}],
        "edges": [{"id": "e", "source": "sq", "sourceHandle": "y", "target": "plus",
                   "targetHandle": "a"}],
        "inputs": {"x": "sq.x", "offset": "plus.b"},
        "outputs": {"squared": "sq.y", "plus_one": "plus.sum"}})


def outer(tmp_path, nodes, edges=()):
    return write(tmp_path / "outer.workflow.json", {"id": "outer", "nodes": nodes,
                                                     "edges": list(edges)})


@pytest.mark.parametrize("workers", [1, 3])
def test_map_runs_every_item_in_order(tmp_path, lib, workers):
    square_flow(tmp_path)
    path = outer(tmp_path, [{"id": "m", "data": {"skill": "map", "params": {
        "items": [1, 2, 3, 4, 5], "workflow": "square.workflow.json", "item_input": "x",
        "max_parallel": workers}}}])
    engine = Engine(lib, trace=False)
    progress = []
    res = engine.run(path, on_event=lambda e: e.kind == "node_progress" and progress.append(
        (e.done, e.total)))
    assert res.status == "completed"
    assert res.nodes["m"].outputs["results"] == [
        {"squared": x * x, "plus_one": x * x + 1} for x in (1, 2, 3, 4, 5)]
    assert res.nodes["m"].outputs["errors"] == []
    assert progress[0] == (0, 5) and sorted(progress)[-1] == (5, 5) and len(progress) == 6
    assert [s["tag"] for s in sorted(res.nodes["m"].subruns, key=lambda s: int(s["tag"]))] == \
        ["0", "1", "2", "3", "4"]


def test_map_items_are_cached_one_by_one(tmp_path, lib):
    square_flow(tmp_path)
    params = {"items": [1, 2], "workflow": "square.workflow.json", "item_input": "x"}
    path = outer(tmp_path, [{"id": "m", "data": {"skill": "map", "params": params}}])
    engine = Engine(lib, trace=False)
    engine.run(path)
    res = engine.run(path, {"m.items": [1, 2, 3]})
    statuses = [s["nodes"]["sq"]["status"] for s in
                sorted(res.nodes["m"].subruns, key=lambda s: int(s["tag"]))]
    assert statuses == ["cached", "cached", "completed"]


def test_map_failure_names_the_item_or_continues(tmp_path, lib, engine):
    square_flow(tmp_path)
    params = {"items": [1, 13, 3], "workflow": "square.workflow.json", "item_input": "x",
              "max_parallel": 1}
    path = outer(tmp_path, [{"id": "m", "data": {"skill": "map", "params": params}}])
    res = engine.run(path)
    assert res.nodes["m"].status == "failed"
    assert "item 1" in res.nodes["m"].error and "unlucky 13" in res.nodes["m"].error
    res = engine.run(path, {"m.continue_on_error": True})
    assert res.nodes["m"].status == "completed"
    out = res.nodes["m"].outputs
    assert out["results"][0] == {"squared": 1, "plus_one": 2} and out["results"][1] is None
    assert [e["index"] for e in out["errors"]] == [1]
    assert "unlucky 13" in out["errors"][0]["error"]


def test_map_params_fill_the_other_inputs(tmp_path, lib, engine):
    square_flow(tmp_path)
    path = outer(tmp_path, [{"id": "m", "data": {"skill": "map", "params": {
        "items": [2], "workflow": "square.workflow.json", "item_input": "x",
        "params": {"offset": 100}}}}])
    res = engine.run(path)
    assert res.nodes["m"].outputs["results"] == [{"squared": 4, "plus_one": 104}]


def test_subworkflow_node_takes_the_declared_ports(tmp_path, lib, engine):
    square_flow(tmp_path)
    path = outer(tmp_path, [
        {"id": "src", "data": {"skill": "add", "params": {"a": 2, "b": 1}}},
        {"id": "sub", "data": {"skill": "subworkflow",
                               "params": {"workflow": "square.workflow.json"}}},
        {"id": "dst", "data": {"skill": "count", "params": {}}}],
        [{"id": "e1", "source": "src", "sourceHandle": "sum", "target": "sub", "targetHandle": "x"},
         {"id": "e2", "source": "sub", "sourceHandle": "plus_one", "target": "dst",
          "targetHandle": "x"}])
    res = engine.run(path)
    assert res.status == "completed", res.nodes
    assert res.nodes["sub"].outputs == {"squared": 9, "plus_one": 10}
    assert res.nodes["dst"].outputs == {"y": 20}
    wf = Workflow.load(path)
    wf.connect("sub", "nope", "dst", "x")
    assert ("missing-port", "sub", "nope") in [(p.code, p.node, p.port) for p in validate(wf, lib)]


def test_a_cycle_of_files_is_named(tmp_path, lib):
    def node(target):
        return {"id": "n", "data": {"skill": "subworkflow", "params": {"workflow": target}}}

    write(tmp_path / "a.workflow.json", {"id": "a", "nodes": [node("b.workflow.json")],
                                         "edges": [], "outputs": {"o": "n.o"}})
    write(tmp_path / "b.workflow.json", {"id": "b", "nodes": [node("a.workflow.json")],
                                         "edges": [], "outputs": {"o": "n.o"}})
    problems = validate(Workflow.load(tmp_path / "a.workflow.json"), lib)
    assert [p.code for p in problems] == ["workflow-cycle"]
    assert "a.workflow.json → b.workflow.json → a.workflow.json" in problems[0].message


def test_missing_or_invalid_subworkflow_files_are_problems(tmp_path, lib):
    write(tmp_path / "broken.workflow.json", {"id": "b", "nodes": [
        {"id": "x", "data": {"skill": "no-such-skill"}}], "edges": [], "inputs": {"v": "x.a"}})
    path = outer(tmp_path, [
        {"id": "m1", "data": {"skill": "map", "params": {
            "items": [], "workflow": "missing.workflow.json", "item_input": "v"}}},
        {"id": "m2", "data": {"skill": "map", "params": {
            "items": [], "workflow": "broken.workflow.json", "item_input": "v"}}}])
    problems = {p.node: p for p in validate(Workflow.load(path), lib)}
    assert problems["m1"].code == "invalid-subworkflow" and "not found" in problems["m1"].message
    assert problems["m2"].code == "invalid-subworkflow" and "no-such-skill" in problems["m2"].message


def test_loop_runs_until_the_expression_holds(tmp_path, lib, engine):
    write(tmp_path / "halve.workflow.json", {
        "id": "halve", "nodes": [{"id": "s", "data": {"skill": "step", "params": {}}}],
        "edges": [], "inputs": {"state": "s.state"}, "outputs": {"state": "s.state"}})
    path = outer(tmp_path, [{"id": "l", "data": {"skill": "loop", "params": {
        "workflow": "halve.workflow.json", "state": {"x": 64}, "until": "x < 1"}}}])
    res = engine.run(path)
    assert res.nodes["l"].outputs == {"state": {"x": 0.5, "n": 7}, "iterations": 7,
                                      "converged": True}
    res = engine.run(path, {"l.max_iterations": 3})
    assert res.nodes["l"].outputs["converged"] is False
    assert res.nodes["l"].outputs["state"] == {"x": 8.0, "n": 3}


# -- policies ---------------------------------------------------------------------------
def test_retry_policy_retries_named_errors_only(lib, engine):
    tries = lib.get("flaky").load_function().__globals__["TRIES"]
    wf = Workflow(id="r")
    node = wf.add_node("flaky", id="f", params={"succeed_on": 3})
    node.data_extra["retry"] = {"attempts": 3, "backoff_s": 0, "on": ["Busy"]}
    res = engine.run(wf)
    assert res.nodes["f"].outputs == {"tries": 3} and res.nodes["f"].attempts == 3
    tries.clear()
    node.data_extra["retry"] = {"attempts": 2, "on": ["Busy"]}
    res = engine.run(wf, {"f.succeed_on": 5})
    assert res.nodes["f"].status == "failed"
    assert res.nodes["f"].error == "Busy: try 2 (after 2 attempts)"
    tries.clear()
    node.data_extra["retry"] = {"attempts": 5, "on": ["KeyError"]}
    res = engine.run(wf, {"f.succeed_on": 9})
    assert res.nodes["f"].error == "Busy: try 1" and len(tries) == 1


def test_bad_policies_are_validation_problems(lib):
    wf = Workflow(id="p")
    a = wf.add_node("add", id="a")
    a.data_extra["retry"] = {"attempts": 0}
    b = wf.add_node("add", id="b")
    b.data_extra["timeout_s"] = -1
    c = wf.add_node("add", id="c")
    c.data_extra["retry"] = {"attempts": 2, "on": "ValueError"}
    assert sorted((p.code, p.node) for p in validate(wf, lib)) == [
        ("bad-policy", "a"), ("bad-policy", "b"), ("bad-policy", "c")]


def test_node_timeout_s_in_data_applies(lib, engine):
    slow = parse_skill(skill_md("slow", "import time\ndef execute(inputs):\n"
                                "    for _ in range(400):\n        time.sleep(0.01)\n"
                                "    return {}"))
    e = Engine(SkillLibrary(skills=[slow]), trace=False)
    wf = Workflow(id="t")
    wf.add_node("slow", id="s").data_extra["timeout_s"] = 0.2
    res = e.run(wf)
    assert res.nodes["s"].status == "failed" and "timed out after 0.2 s" in res.nodes["s"].error


def test_delay_passes_the_value_on(engine):
    wf = Workflow(id="d")
    wf.add_node("delay", id="d", params={"value": {"k": [1]}, "seconds": 0})
    assert engine.run(wf).nodes["d"].outputs == {"value": {"k": [1]}}


def test_an_untrusted_network_skill_without_network_fails_before_running(tmp_path, llmos_home):
    from llmos_jupyter._isolation import Limits

    net = parse_skill(skill_md("net", "def execute(inputs):\n    return {}",
                               extra="capabilities: [network]\n"))
    engine = Engine(SkillLibrary(skills=[net]), trace=False, isolate="all", limits=Limits())
    wf = Workflow(id="n")
    wf.add_node("net", id="n")
    res = engine.run(wf)
    engine.close()
    assert res.nodes["n"].status == "failed"
    assert res.nodes["n"].error.startswith("CapabilityDenied: needs the network")
    assert "--allow-network" in res.nodes["n"].error


def test_an_item_that_does_not_fit_the_sub_workflow_is_named(tmp_path, lib, engine):
    square_flow(tmp_path)
    path = outer(tmp_path, [{"id": "m", "data": {"skill": "map", "params": {
        "items": [1, "two", 3], "workflow": "square.workflow.json", "item_input": "x",
        "max_parallel": 1}}}])
    res = engine.run(path)
    assert res.nodes["m"].status == "failed"
    assert res.nodes["m"].error.startswith("ControlError: map: item 1: node 'sq', port 'x'")
    res = engine.run(path, {"m.continue_on_error": True})
    assert [e["index"] for e in res.nodes["m"].outputs["errors"]] == [1]


def test_the_trace_keeps_attempts_nested_runs_and_the_trigger(tmp_path, lib, llmos_home):
    import nbformat

    from llmos_jupyter._trace.record import read_run_records

    square_flow(tmp_path)
    path = outer(tmp_path, [
        {"id": "m", "data": {"skill": "map", "params": {
            "items": [2, 3], "workflow": "square.workflow.json", "item_input": "x"}}},
        {"id": "f", "data": {"skill": "flaky", "params": {"succeed_on": 2},
                             "retry": {"attempts": 3, "on": ["Busy"]}}}])
    engine = Engine(lib, trace_dir=tmp_path / "traces")
    lib.get("flaky").load_function().__globals__["TRIES"].clear()
    res = engine.run(path, trigger={"type": "webhook", "index": 0, "detail": "/hooks/x"})
    meta = nbformat.read(res.trace, 4).metadata["llmos"]["trace"]
    assert meta["trigger"] == {"type": "webhook", "index": 0, "detail": "/hooks/x"}
    assert meta["nodes"]["f"]["attempts"] == 2
    subruns = sorted(meta["nodes"]["m"]["subruns"], key=lambda s: s["tag"])
    assert [s["tag"] for s in subruns] == ["0", "1"]
    assert subruns[0]["nodes"]["sq"]["status"] == "completed"
    [record] = read_run_records(tmp_path / "traces")
    assert record.trigger["type"] == "webhook"
