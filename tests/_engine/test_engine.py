"""The engine: order, input precedence, parallel branches, failures, timeout, cancel,
events and the content-addressed cache."""

from __future__ import annotations

import json

import pytest
from toy_skills import skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill, run


def chain(*ids, skill="add"):
    wf = Workflow(id="chain")
    for i, n in enumerate(ids):
        wf.add_node(skill, id=n)
        if i:
            wf.connect(ids[i - 1], "sum" if skill == "add" else "y", n, "a" if skill == "add" else "x")
    return wf


def calls(lib):
    return lib.get("count").load_function().__globals__["CALLS"]


def test_input_precedence_defaults_params_overrides_wires(toy_library):
    wf = Workflow()
    wf.add_node("add", id="src", params={"a": 10, "b": 20})        # 30
    wf.add_node("add", id="dst", params={"a": 1000, "b": 5})
    wf.connect("src", "sum", "dst", "a")
    r = Engine(toy_library, trace=False).run(wf, {"dst.b": 7, "dst": {"a": -1}})
    assert r["src"].inputs == {"a": 10, "b": 20}
    assert r["dst"].inputs == {"a": 30, "b": 7}                        # wire > override > param
    assert r["dst"].outputs == {"sum": 37}
    assert r["dst"].wired == {"a": ("src", "sum")}
    wf.add_node("add", id="bare")
    assert Engine(toy_library, trace=False).run(wf)["bare"].outputs == {"sum": 3}  # defaults


@pytest.mark.parametrize("workers", [1, 4])
def test_topological_order_and_results(toy_library, workers):
    wf = chain("a", "b", "c", "d")
    events = []
    engine = Engine(toy_library, max_workers=workers, trace=False)
    engine.subscribe(lambda ev: events.append((ev.kind, ev.node_id, ev.status)))
    r = engine.run(wf)
    assert r.status == "completed" and r.ok
    assert list(r.nodes) == ["a", "b", "c", "d"]
    assert r["d"].outputs["sum"] == 3 + 2 * 3
    started = [n for k, n, _ in events if k == "node_started"]
    assert started == ["a", "b", "c", "d"]
    assert events[0][0] == "run_started" and events[-1] == ("run_finished", None, "completed")


BARRIER = skill_md("meet", """
    import threading
    BARRIER = threading.Barrier(2, timeout=10)

    def execute(inputs):
        BARRIER.wait()          # only passes when both branches run at the same time
        return {"ok": True}
    """, inputs="[{name: tag, type: string, default: x}]", outputs="[{name: ok, type: boolean}]")


def test_independent_branches_run_in_parallel(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(BARRIER)])
    wf = Workflow()
    wf.add_node("meet", id="left", params={"tag": "l"})
    wf.add_node("meet", id="right", params={"tag": "r"})
    r = Engine(lib, max_workers=2, trace=False).run(wf)
    assert r.status == "completed", r["left"].error


def test_wide_fan_out_runs_every_node_exactly_once(toy_library):
    wf = Workflow()
    wf.add_node("count", id="root", params={"x": 1})
    for i in range(200):
        wf.add_node("count", id=f"leaf{i}")
        wf.connect("root", "y", f"leaf{i}", "x")
    started = []
    engine = Engine(toy_library, max_workers=4, cache=False, trace=False)
    engine.subscribe(lambda ev: ev.kind == "node_started" and started.append(ev.node_id))
    for _ in range(5):
        calls(toy_library).clear()
        started.clear()
        r = engine.run(wf)
        assert r.status == "completed"
        assert len(calls(toy_library)) == 201
        assert sorted(started) == sorted(n.id for n in wf.nodes)


def test_failed_node_skips_dependents_and_keeps_other_branches(toy_library, llmos_home):
    wf = Workflow(id="branches")
    wf.add_node("add", id="src", params={"a": 2})
    wf.add_node("fail", id="bad")
    wf.add_node("add", id="after_bad")
    wf.add_node("add", id="good")
    wf.connect("src", "sum", "bad", "x")
    wf.connect("bad", "y", "after_bad", "a")
    wf.connect("src", "sum", "good", "a")
    r = Engine(toy_library).run(wf)
    assert r.status == "failed"
    assert r["bad"].status == "failed"
    assert r["bad"].error == "ValueError: cannot use x = 4"
    assert "raise ValueError" in r["bad"].traceback
    assert "_engine" not in r["bad"].traceback  # the skill's frames, not ours
    assert r["after_bad"].status == "skipped"
    assert r["after_bad"].error == "upstream node 'bad' failed"
    assert r["good"].outputs == {"sum": 6}
    assert r.failed == ["bad"] and r.skipped == ["after_bad"]
    assert r.trace is not None and (llmos_home / "user/traces").is_dir()


OUTPUTS = skill_md("outs", """
    def execute(inputs):
        mode = inputs["mode"]
        if mode == "missing":
            return {"other": 1}
        if mode == "wrong":
            return {"value": "three"}
        if mode == "list":
            return [1, 2]
        import numpy as np
        return {"value": np.float64(2.5), "arr": np.arange(3), "flag": np.bool_(True)}
    """, inputs="[{name: mode, type: string}]",
    outputs="[{name: value, type: number}, {name: arr, type: array, required: false},"
            " {name: flag, type: boolean, required: false}]")


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("missing", "OutputMissing: output 'value' is missing from the returned dict (returned: other)"),
        ("wrong", "TypeError: output 'value': expected number, got str 'three'"),
        ("list", "TypeError: execute() returned list, expected a dict of outputs (value, arr, flag)"),
    ],
)
def test_outputs_are_checked_against_ports(llmos_home, mode, error):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(OUTPUTS)])
    wf = Workflow()
    wf.add_node("outs", id="o", params={"mode": mode})
    r = Engine(lib, trace=False).run(wf)
    assert r["o"].status == "failed"
    assert r["o"].error == error


def test_numpy_outputs_become_plain_python(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(OUTPUTS)])
    wf = Workflow()
    wf.add_node("outs", id="o", params={"mode": "numpy"})
    out = Engine(lib, trace=False).run(wf)["o"].outputs
    assert out == {"value": 2.5, "arr": [0, 1, 2], "flag": True}
    assert type(out["value"]) is float and type(out["arr"][0]) is int and type(out["flag"]) is bool


SLOW = skill_md("slow", """
    import threading
    GATE = threading.Event()
    STARTED = threading.Event()

    def execute(inputs):
        STARTED.set()
        GATE.wait(inputs["wait"])
        return {"y": 1}
    """, inputs="[{name: wait, type: number, default: 10}, {name: x, type: any, required: false}]",
    outputs="[{name: y, type: number}]")


def test_node_timeout_fails_the_node(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(SLOW)])
    wf = Workflow()
    wf.add_node("slow", id="s", params={"wait": 5})
    r = Engine(lib, node_timeout=0.2, trace=False).run(wf)
    assert r["s"].status == "failed"
    assert "timed out after 0.2 s" in r["s"].error
    lib.get("slow").load_function().__globals__["GATE"].set()


def test_cancel_skips_nodes_not_yet_started(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(SLOW)])
    g = lib.get("slow").load_function().__globals__
    wf = Workflow(id="c")
    wf.add_node("slow", id="first")
    wf.add_node("slow", id="second")
    wf.connect("first", "y", "second", "x")
    handle = Engine(lib, max_workers=1, trace=False).start(wf)
    assert g["STARTED"].wait(5)
    handle.cancel()
    g["GATE"].set()
    r = handle.result(10)
    assert r.status == "cancelled"
    # The running node is interrupted at its next bytecode (after the gate opens).
    assert r["first"].status == "failed" and "cancelled" in r["first"].error
    assert r["second"].status == "skipped"
    assert "cancel" in r["second"].error


def test_event_fields_and_broken_subscribers(toy_library, caplog):
    wf = chain("a", "b")
    wf.add_node("fail", id="f", params={"x": 1})
    engine = Engine(toy_library, max_workers=1, trace=False)
    seen = []
    unsubscribe = engine.subscribe(seen.append)
    engine.subscribe(lambda ev: 1 / 0)  # must not break the run
    r = engine.run(wf)
    kinds = [e.kind for e in seen]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert set(seen[0].nodes) == {"a", "b", "f"}
    per_node = {n: [e.kind for e in seen if e.node_id == n] for n in "abf"}
    assert per_node == {"a": ["node_started", "node_finished"], "b": ["node_started", "node_finished"],
                        "f": ["node_started", "node_failed"]}
    assert kinds.index("node_finished") < [e.node_id for e in seen].index("b")
    fin = next(e for e in seen if e.kind == "node_finished")
    assert (fin.node_id, fin.skill_id, fin.status, fin.outputs) == ("a", "add", "completed", {"sum": 3})
    assert fin.duration_ms >= 0
    assert next(e for e in seen if e.kind == "node_failed").error.startswith("ValueError")
    assert seen[-1].status == "failed" == r.status
    json.dumps([e.to_dict() for e in seen])
    assert "event subscriber" in caplog.text
    unsubscribe()
    engine.run(wf)
    assert len(seen) == len(kinds)


def test_cache_reruns_exactly_the_changed_node_and_descendants(toy_library):
    wf = Workflow()
    wf.add_node("count", id="a", params={"x": 1})
    wf.add_node("count", id="b")
    wf.add_node("count", id="c")
    wf.add_node("count", id="side", params={"x": 5})
    wf.connect("a", "y", "b", "x")
    wf.connect("b", "y", "c", "x")
    engine = Engine(toy_library, trace=False)
    first = engine.run(wf)
    assert sorted(first.ran) == ["a", "b", "c", "side"] and first.cached == []
    again = engine.run(wf)
    assert again.ran == [] and sorted(again.cached) == ["a", "b", "c", "side"]
    assert again["c"].status == "cached" and again["c"].outputs == {"y": 8}
    changed = engine.run(wf, {"b.x": 100})  # overridden, but b's wire wins → same inputs
    assert changed.ran == []
    wf.set_params("a", x=2)
    changed = engine.run(wf)
    assert sorted(changed.ran) == ["a", "b", "c"] and changed.cached == ["side"]
    assert changed["c"].outputs == {"y": 16}
    back = engine.run(wf, {"a.x": 1})
    assert back.ran == []  # the earlier results are still cached


def test_cache_key_follows_skill_code(toy_library):
    wf = Workflow()
    wf.add_node("add", id="a")
    engine = Engine(toy_library, trace=False)
    engine.run(wf)
    toy_library.add(parse_skill(skill_md(
        "add", "def execute(inputs):\n    return {'sum': inputs['a'] + inputs['b'] + 1}",
        inputs="[{name: a, type: number, default: 1}, {name: b, type: number, default: 2}]",
        outputs="[{name: sum, type: number}]")))
    r = engine.run(wf)
    assert r.ran == ["a"] and r["a"].outputs == {"sum": 4}


def test_unhashable_input_always_runs(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(SLOW)])
    lib.get("slow").load_function().__globals__["GATE"].set()
    wf = Workflow()
    wf.add_node("slow", id="s", params={"x": object(), "wait": 0})
    engine = Engine(lib, trace=False)
    assert engine.run(wf).ran == ["s"] and engine.run(wf).ran == ["s"]


def test_targets_run_a_node_and_its_upstream_only(toy_library):
    wf = chain("a", "b", "c")
    wf.add_node("add", id="other")
    r = Engine(toy_library, trace=False).run(wf, targets=["b"])
    assert list(r.nodes) == ["a", "b"]
    with pytest.raises(KeyError, match="no node 'zz'"):
        Engine(toy_library, trace=False).run(wf, targets=["zz"])


def test_missing_requirement_fails_the_node_with_install_hint(llmos_home):
    skill = parse_skill(skill_md("needy", "def execute(inputs):\n    return {}",
                                 extra="requires: [surely-not-installed-pkg>=1]\n"))
    wf = Workflow()
    wf.add_node("needy", id="n")
    r = Engine(SkillLibrary(volumes=[], skills=[skill]), trace=False).run(wf)
    assert r["n"].status == "failed"
    assert r["n"].error == ("RequirementMissing: skill 'needy' requires surely-not-installed-pkg, "
                            "which is not available here (pip install surely-not-installed-pkg)")


def test_run_accepts_a_path_and_reports_json(tmp_path, toy_library):
    path = tmp_path / "c.workflow.json"
    chain("a", "b").save(path)
    r = run(path, {"a.a": 5}, trace=False, library=toy_library)
    data = json.loads(json.dumps(r.to_json()))
    assert data["status"] == "completed"
    assert data["nodes"]["b"]["outputs"] == {"sum": 9}
    assert set(data["nodes"]["b"]) == {"status", "duration_ms", "outputs", "error"}


def test_default_engine_keeps_its_cache_across_calls(toy_library):
    wf = chain("a", "b")
    assert run(wf, library=toy_library, trace=False).cached == []
    assert run(wf, library=toy_library, trace=False).cached == ["a", "b"]


def test_an_empty_cache_object_is_used_not_mistaken_for_no_cache(toy_library):
    from llmos_jupyter._engine.cache import MemoryCache

    cache = MemoryCache(maxsize=10)
    engine = Engine(toy_library, cache=cache, trace=False)
    engine.run(chain("a", "b"))
    assert len(cache) == 2
    assert Engine(toy_library, cache=False, trace=False).cache is None


def test_lru_cache_drops_the_least_recently_used():
    from llmos_jupyter._engine.cache import MemoryCache

    cache = MemoryCache(maxsize=2)
    cache.put("a", {"x": 1})
    cache.put("b", {"x": 2})
    assert cache.get("a") == {"x": 1}
    cache.put("c", {"x": 3})
    assert cache.get("b") is None and cache.get("a") == {"x": 1} and len(cache) == 2


def test_run_started_on_dask_carries_the_dashboard_link(llmos_home):
    """Surfaces show the Dask dashboard while the run goes: the first event has the link."""
    pytest.importorskip("distributed")
    pytest.importorskip("bokeh")  # the scheduler serves a dashboard only with bokeh
    lib = SkillLibrary(volumes=[], skills=[parse_skill(skill_md("one", """
def execute(inputs):
    return {"y": 1}
""", outputs="[{name: y, type: number}]"))])
    wf = Workflow(id="d")
    wf.add_node("one", id="a")
    events = []
    engine = Engine(lib, trace=False, executor="dask", max_workers=1)
    try:
        engine.run(wf, on_event=events.append)
        link = engine.node_executor().dashboard_link
    finally:
        engine.close()
    started = [e for e in events if e.kind == "run_started"]
    assert link and link.startswith("http")
    assert started[0].dashboard == link and started[0].to_dict()["dashboard"] == link
    threads = Engine(lib, trace=False)
    ev2 = []
    threads.run(wf, on_event=ev2.append)
    assert "dashboard" not in ev2[0].to_dict()
