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
