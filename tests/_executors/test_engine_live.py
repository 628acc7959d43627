"""The engine on the dask executor: node_started comes from the worker, statuses are live,
results equal the in-process ones."""

from __future__ import annotations

import pytest
from toy_skills import skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._skills.parser import parse_skill

pytest.importorskip("distributed")

SQUARE = skill_md("square", """
def execute(inputs):
    print("squaring", inputs["x"])
    return {"y": inputs["x"] ** 2}
""", inputs="[{name: x, type: number}]", outputs="[{name: y, type: number}]")


def test_dask_run_emits_worker_side_starts_and_keeps_logs(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(SQUARE)])
    wf = Workflow(id="sq")
    for i in range(3):
        wf.add_node("square", id=f"s{i}", params={"x": i + 2})
    events = []
    engine = Engine(lib, trace=False, executor="dask", max_workers=2)
    try:
        r = engine.run(wf, on_event=events.append)
    finally:
        engine.close()
    assert [r[f"s{i}"].outputs["y"] for i in range(3)] == [4, 9, 16]
    assert "squaring 3" in r["s1"].log
    started = {e.node_id for e in events if e.kind == "node_started"}
    finished = {e.node_id for e in events if e.kind == "node_finished"}
    assert started == finished == {"s0", "s1", "s2"}
    # every node's start came before its finish
    order = [(e.kind, e.node_id) for e in events]
    for i in range(3):
        assert order.index(("node_started", f"s{i}")) < order.index(("node_finished", f"s{i}"))


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_node_output_reaches_the_bus_while_the_node_runs(llmos_home, tmp_path, executor):
    from _executors.executor_skills import TALK

    go = tmp_path / "go"
    logs = []

    def on_event(event):
        if event.kind == "node_log":
            logs.append((event.node_id, event.text))
            if "first" in event.text:
                go.touch()  # the node waits for this file: its line came while it ran

    wf = Workflow(id="talk")
    wf.add_node("talk", id="t", params={"go": str(go)})
    engine = Engine(SkillLibrary(volumes=[], skills=[TALK]), trace=False, executor=executor,
                    max_workers=1)
    try:
        r = engine.run(wf, on_event=on_event)
    finally:
        engine.close()
    assert r["t"].outputs == {"seen": True} and r["t"].log == "first\nsecond\n"
    assert logs[0] == ("t", "first\n")


def test_a_chain_on_dask_passes_the_upstream_future_and_releases_it(llmos_home, monkeypatch):
    from llmos_jupyter._executors import make_executor

    lib = SkillLibrary(volumes=[], skills=[parse_skill(SQUARE)])
    wf = Workflow(id="chain")
    wf.add_node("square", id="a", params={"x": 3})
    wf.add_node("square", id="b")
    wf.connect("a", "y", "b", "x")
    with make_executor("dask", workers=1) as ex:
        upstreams = []
        real_submit = ex.client.submit

        def spy(*args, **kwargs):
            upstreams.append(kwargs.get("upstream"))
            return real_submit(*args, **kwargs)

        monkeypatch.setattr(ex.client, "submit", spy)
        r = Engine(lib, trace=False, cache=False, executor=ex).run(wf)
        assert r["b"].outputs == {"y": 81} and r["b"].inputs == {"x": 9}
        assert upstreams[0] is None and set(upstreams[1]) == {"x"}  # b got a's future
        assert not ex.held  # released when the run ended


@pytest.mark.parametrize("executor", ["threads", "processes", "dask"])
def test_an_untrusted_nodes_output_reaches_the_bus_while_it_runs(llmos_home, executor):
    from _executors.executor_skills import WAIT, GoServer

    from llmos_jupyter._isolation import Limits

    server = GoServer()
    logs = []

    def on_event(event):
        if event.kind == "node_log":
            logs.append((event.node_id, event.text))
            if "first" in event.text:
                server.go()  # the node waits for this answer: its line came while it ran

    wf = Workflow(id="wait")
    wf.add_node("wait-for-go", id="w", params={"port": server.port})
    engine = Engine(SkillLibrary(volumes=[], skills=[WAIT]), trace=False, executor=executor,
                    max_workers=1, isolate="all", limits=Limits(network=True))
    try:
        r = engine.run(wf, on_event=on_event)
    finally:
        engine.close()
        server.close()
    assert r["w"].status == "completed", r["w"].error
    assert r["w"].isolated and r["w"].outputs == {"seen": True}
    assert r["w"].log == "first\nsecond\n"
    assert logs[0] == ("w", "first\n")
