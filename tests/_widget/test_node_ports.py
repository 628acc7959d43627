"""Ports of control nodes declared from their parameters (``_widget/node_ports.py``), as
the canvas shows them: a switch's case outputs, a subworkflow's interface, the file a map
runs; nodes whose parameters are not valid yet keep their palette ports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from toy_skills import ADD

from llmos_jupyter import SkillLibrary, Workflow, parse_skill
from llmos_jupyter._skills.model import LOCAL_RUNTIMES
from llmos_jupyter._widget.node_ports import node_ports

INNER = {
    "id": "inner", "nodes": [
        {"id": "s", "position": {"x": 0, "y": 0}, "data": {"skill": "add", "params": {"b": 5}}}],
    "edges": [], "inputs": {"x": "s.a", "y": "s.b"}, "outputs": {"total": "s.sum"},
}


@pytest.fixture
def lib(llmos_home):
    """The system skills (control nodes) plus `add`."""
    return SkillLibrary(skills=[parse_skill(ADD)])


def _names(ports):
    return [p["name"] for p in ports]


def test_switch_cases_become_outputs(lib):
    wf = Workflow(id="w")
    wf.add_node("switch", id="sw", params={"cases": ["value > 1", "value < 0", "True"]})
    wf.add_node("switch", id="unset")
    wf.add_node("switch", id="broken", params={"cases": "not a list"})
    wf.add_node("add", id="plain")
    ports = node_ports(wf, lib, LOCAL_RUNTIMES)
    assert set(ports) == {"sw"}  # the others show their palette ports (and the problem)
    assert _names(ports["sw"]["outputs"]) == ["case0", "case1", "case2", "default"]
    assert "inputs" not in ports["sw"] and ports["sw"]["skill"] == "switch"


def test_subworkflow_and_map_interfaces(lib, tmp_path: Path):
    (tmp_path / "inner.workflow.json").write_text(json.dumps(INNER), encoding="utf-8")
    wf = Workflow(id="outer", path=tmp_path / "outer.workflow.json")
    wf.add_node("subworkflow", id="sub", params={"workflow": "inner.workflow.json"})
    wf.add_node("map", id="each", params={"workflow": "inner.workflow.json", "items": [1, 2],
                                          "item_input": "x"})
    wf.add_node("subworkflow", id="missing", params={"workflow": "nope.workflow.json"})
    ports = node_ports(wf, lib, LOCAL_RUNTIMES)
    assert set(ports) == {"sub", "each"}
    sub = ports["sub"]
    assert _names(sub["inputs"]) == ["x", "y", "workflow"]
    # An input the inner workflow sets itself is optional, with its value as default.
    y = sub["inputs"][1]
    assert y["type"] == "number" and y["required"] is False and y["default"] == 5
    assert _names(sub["outputs"]) == ["total"] and sub["outputs"][0]["type"] == "number"
    each = ports["each"]
    assert set(each) == {"skill", "interface"} and each["skill"] == "map"  # its own ports stay
    assert _names(each["interface"]["inputs"]) == ["x", "y"]
    assert _names(each["interface"]["outputs"]) == ["total"]


def test_the_canvas_widget_follows_edits(lib):
    pytest.importorskip("anywidget")
    canvas_mod = pytest.importorskip("llmos_jupyter._widget.canvas")
    if not canvas_mod.ESM.is_file():
        pytest.skip("front-end not built")
    from llmos_jupyter import Engine

    wf = Workflow(id="w")
    wf.add_node("switch", id="sw", params={"cases": ["value > 1"]})
    engine = Engine(lib, trace=False, max_workers=1)
    c = canvas_mod.Canvas(wf, library=lib, engine=engine)
    try:
        assert _names(c.node_ports["sw"]["outputs"]) == ["case0", "default"]
        c.set_params("sw", cases=["value > 1", "value > 2"])
        assert _names(c.node_ports["sw"]["outputs"]) == ["case0", "case1", "default"]
        c.remove_node("sw")
        assert c.node_ports == {}
    finally:
        c.close()
        engine.close()
