"""The Canvas widget's Python side, without a browser: traits, sync, actions, previews."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("anywidget")
canvas_mod = pytest.importorskip("llmos_jupyter._widget.canvas")
if not canvas_mod.ESM.is_file():
    pytest.skip(f"front-end not built ({canvas_mod.ESM}); cd labextension && npm ci && npm run build",
                allow_module_level=True)

from llmos_jupyter import Engine, Workflow
from llmos_jupyter._widget.canvas import Canvas, preview

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy_canvas(toy_library):
    wf = Workflow(id="toy")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("add", id="b", params={"b": 10})
    wf.connect("a", "sum", "b", "a")
    engine = Engine(toy_library, trace=False, max_workers=1)
    c = Canvas(wf, library=toy_library, engine=engine)
    yield c
    c.close()


def test_traits_describe_workflow_and_skills(toy_canvas):
    c = toy_canvas
    assert c.workflow == c.workflow_obj.to_dict()
    ids = {s["id"] for s in c.skills}
    assert {"add", "fail", "count"} <= ids
    add = next(s for s in c.skills if s["id"] == "add")
    assert [p["name"] for p in add["inputs"]] == ["a", "b"]
    assert add["outputs"][0]["type"] == "number"
    json.dumps(c.skills)  # JSON-safe
    assert c.errors == []


def test_browser_edits_change_the_same_workflow_object(toy_canvas):
    c = toy_canvas
    wf = c.workflow_obj
    data = json.loads(json.dumps(c.workflow))
    data["nodes"].append({"id": "c", "type": "skill", "position": {"x": 5, "y": 6},
                          "data": {"skill": "add", "params": {"a": 1, "b": 1}}})
    data["nodes"][0]["position"] = {"x": 100, "y": 50}
    c.workflow = data  # what a browser edit does
    assert c.workflow_obj is wf
    assert [n.id for n in wf.nodes] == ["a", "b", "c"]
    assert wf.node("a").position == {"x": 100, "y": 50}


def test_python_edits_reach_the_trait_and_validate(toy_canvas):
    c = toy_canvas
    node = c.add_node("fail")
    assert any(n["id"] == node for n in c.workflow["nodes"])
    assert any(p["code"] == "missing-input" and p["node"] == node for p in c.errors)
    c.set_params(node, x=2)
    assert c.errors == []
    c.remove_node(node)
    node = c.add_node("add")
    c.connect("b", "sum", node, "a")
    assert len(c.workflow["edges"]) == 2
    c.remove_node(node)
    assert len(c.workflow["edges"]) == 1
    c.workflow_obj.set_params("a", a=5)
    c.sync()
    assert c.workflow["nodes"][0]["data"]["params"]["a"] == 5


def test_run_sets_statuses_and_previews(toy_canvas):
    c = toy_canvas
    c.run(wait=True)
    assert c.statuses["a"]["status"] == "completed"
    assert c.statuses["b"]["status"] == "completed"
    assert c.previews["b"]["sum"] == {"kind": "number", "value": 13}
    assert c.running is False
    assert c.message.startswith("completed")
    c.run(wait=True)
    assert {v["status"] for v in c.statuses.values()} == {"cached"}


def _from_browser(c, content):
    """What the front-end sends: a widget custom message over the comm (the Jupyter
    widget message protocol), not a call of the widget's handler."""
    c.comm.handle_msg({"content": {"comm_id": c.comm.comm_id,
                                   "data": {"method": "custom", "content": content}},
                       "buffers": []})


def _wait_idle(c, timeout=10.0):
    import time

    end = time.monotonic() + timeout
    while c.running and time.monotonic() < end:  # the public trait the toolbar shows
        time.sleep(0.01)
    assert not c.running


def test_actions_from_the_browser(toy_canvas):
    c = toy_canvas
    _from_browser(c, {"action": "run-node", "node": "a"})
    _wait_idle(c)
    assert set(c.statuses) == {"a"}
    _from_browser(c, {"action": "run-downstream", "node": "a"})
    _wait_idle(c)
    assert c.statuses["b"]["status"] == "completed"
    _from_browser(c, {"action": "cancel"})  # nothing running: no error
    _from_browser(c, "not a dict")


def test_failures_and_invalid_workflows_are_reported(toy_library):
    wf = Workflow(id="bad")
    wf.add_node("fail", id="f", params={"x": 1})
    wf.add_node("add", id="after", params={"b": 1})
    wf.connect("f", "y", "after", "a")
    c = Canvas(wf, library=toy_library, engine=Engine(toy_library, trace=False, max_workers=1))
    assert c.errors == []
    c.run(wait=True)
    assert c.statuses["f"]["status"] == "failed"
    assert c.statuses["f"]["error"]
    assert c.statuses["after"]["status"] == "skipped"
    c.close()


def test_invalid_workflow_is_not_run(toy_library):
    wf = Workflow(id="bad")
    wf.add_node("nope", id="x")
    c = Canvas(wf, library=toy_library, engine=Engine(toy_library, trace=False))
    assert c.errors and c.errors[0]["code"] == "unknown-skill"
    assert c.run() is None
    assert c.message.startswith("not run")
    c.close()


def test_save_writes_the_layout(toy_canvas, tmp_path):
    c = toy_canvas
    data = json.loads(json.dumps(c.workflow))
    data["nodes"][1]["position"] = {"x": 321, "y": 7}
    c.workflow = data
    path = c.save(tmp_path / "toy.workflow.json")
    assert Workflow.load(path).node("b").position == {"x": 321, "y": 7}


def test_h2_canvas_loads_from_a_path():
    c = Canvas(REPO / "notebooks" / "h2-vqe.workflow.json")
    assert [n["id"] for n in c.workflow["nodes"]] == ["hamiltonian", "vqe", "plot"]
    assert c.errors == []
    c.close()


def test_previews():
    assert preview(1.5, "number", "Hartree") == {"kind": "number", "value": 1.5, "unit": "Hartree"}
    assert preview(True)["kind"] == "boolean"
    long = preview("x" * 1000)
    assert long["truncated"] and len(long["value"]) == 400
    arr = preview(list(range(1000)), "array")
    assert arr["length"] == 1000 and len(arr["values"]) <= 201 and arr["values"][-1] == 999
    assert preview([{"a": 1}], "array")["numeric"] is False
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 10
    assert preview(png, "image")["src"].startswith("data:image/png;base64,")
    assert preview({"a": [1, 2]}, "object")["keys"] == ["a"]
    assert preview(float("nan"))["kind"] == "text"
    json.dumps([preview(v) for v in (1, "s", [1.0], {"k": 1}, object())])


def test_missing_frontend_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(canvas_mod, "ESM", tmp_path / "canvas.js")
    with pytest.raises(canvas_mod.FrontendMissing, match="npm run build"):
        Canvas()


def test_layout_direction_is_a_synced_choice(toy_library):
    import traitlets

    c = Canvas(library=toy_library, layout_direction="TB")
    assert c.layout_direction == "TB" and c.trait_metadata("layout_direction", "sync")
    assert Canvas(library=toy_library).layout_direction == "LR"
    with pytest.raises(traitlets.TraitError):
        c.layout_direction = "diagonal"


def test_refused_run_clears_stale_statuses_and_says_invalid(toy_canvas):
    c = toy_canvas
    c.statuses = {n: {"status": "completed"} for n in ("a", "b")}
    c.previews = {"a": {"y": {"kind": "number", "value": 1}}}
    wf = json.loads(json.dumps(c.workflow))
    wf["nodes"][0]["data"]["skill"] = "nope"
    c.workflow = wf
    assert c.run() is None
    assert c.message.startswith("not run: invalid: ")
    assert c.statuses == {} and c.previews == {}


def test_palette_skills_say_whether_they_are_trusted(toy_canvas):
    assert toy_canvas.skills and all(isinstance(s["trusted"], bool) for s in toy_canvas.skills)


def test_a_canvas_on_the_dask_executor_shows_the_dashboard_link(llmos_home):
    pytest.importorskip("distributed")
    from toy_skills import ADD

    from llmos_jupyter import Canvas, Engine, SkillLibrary, Workflow
    from llmos_jupyter._skills.parser import parse_skill

    lib = SkillLibrary(volumes=[], skills=[parse_skill(ADD)])
    engine = Engine(lib, trace=False, executor="dask", max_workers=1)
    wf = Workflow(id="d")
    wf.add_node("add", id="a", params={"a": 2, "b": 5})
    canvas = Canvas(wf, engine=engine)
    try:
        result = canvas.run().result(60)
        assert result["a"].outputs["sum"] == 7
        assert canvas.dashboard.startswith("http")  # bokeh is in the [dask] extra
    finally:
        engine.close()
