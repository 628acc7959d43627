"""Editing a notebook through its canvas: ``rewrite_skill_cell`` and ``notebook_graph``.

The JupyterLab sidebar canvas sends these through the library kernel
(``llmos_jupyter._lab``); here they are tested as the pure functions they are.
"""

from __future__ import annotations

import pytest

from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._notebook.cells import Wire, parse_skill_cell, rewrite_skill_cell
from llmos_jupyter._notebook.mapping import notebook_graph

VQE = ("%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian\n"
       "iterations = 100  # count\n"
       "# TODO seed (optional): integer — set `seed = ...`\n"
       "ansatz = 'ry'\n")


def test_a_changed_parameter_keeps_its_line_and_comment():
    out = rewrite_skill_cell(VQE, params={"iterations": 150})
    assert out == VQE.replace("iterations = 100", "iterations = 150")
    assert parse_skill_cell(out).params()["iterations"] == 150


def test_unchanged_values_leave_the_cell_byte_for_byte():
    assert rewrite_skill_cell(VQE, params={"iterations": 100, "ansatz": "ry"}) == VQE
    odd = "%%skill a   --uses x  --in  p=b.q\nn = 1"  # odd spacing survives a param edit
    assert rewrite_skill_cell(odd, params={"n": 2}) == "%%skill a   --uses x  --in  p=b.q\nn = 2"


def test_a_new_parameter_replaces_its_todo_line_or_is_appended():
    out = rewrite_skill_cell(VQE, params={"seed": 7, "tolerance": 1e-6})
    lines = out.splitlines()
    assert lines[2] == "seed = 7" and lines[-1] == "tolerance = 1e-06"
    assert "TODO seed" not in out
    assert parse_skill_cell(out).params() == {"iterations": 100, "seed": 7, "ansatz": "ry",
                                              "tolerance": 1e-6}


def test_removing_the_last_parameter_gives_the_line_form_and_back():
    out = rewrite_skill_cell("%%skill a --uses add\nb = 1\n", remove=["b"])
    assert out == "%skill a --uses add"
    back = rewrite_skill_cell(out, params={"b": [1, 2]})
    assert back == "%%skill a --uses add\nb = [1, 2]"


def test_wires_are_replaced_and_the_node_renamed():
    out = rewrite_skill_cell(VQE, wires=[])
    assert out.splitlines()[0] == "%%skill vqe --uses quantum-vqe"
    out = rewrite_skill_cell(out, node_id="vqe2", wires=[Wire("hamiltonian", "h2", "hamiltonian"),
                                                         Wire("seed", "rng", "value")])
    assert out.splitlines()[0] == ("%%skill vqe2 --uses quantum-vqe --in "
                                   "hamiltonian=h2.hamiltonian seed=rng.value")
    assert out.splitlines()[1:] == VQE.splitlines()[1:]


def test_set_options_expressions_and_values_without_a_literal():
    assert rewrite_skill_cell("%%skill a --uses x --set b=2\nc = 1", params={"b": 3}) == (
        "%%skill a --uses x --set b=3\nc = 1")
    # An expression only a kernel evaluates is kept unless the canvas sets that parameter.
    src = "%%skill a --uses x\nc = n * 2\nd = 1"
    assert rewrite_skill_cell(src, params={"d": 2}) == "%%skill a --uses x\nc = n * 2\nd = 2"
    assert rewrite_skill_cell(src, params={"c": 4}) == "%%skill a --uses x\nc = 4\nd = 1"
    # NaN has neither a Python literal nor a JSON form (the one --set grammar is JSON).
    with pytest.raises(WorkflowError, match=r"%%skill a: parameter 'c' = nan has no JSON form"):
        rewrite_skill_cell("%%skill a --uses x\nc = 1", params={"c": float("nan")})


def test_inline_cells_take_parameters_with_set():
    src = "%%skill f\ndef execute(inputs):\n    return {'y': inputs['x']}"
    out = rewrite_skill_cell(src, params={"x": 2}, wires=[Wire("x", "a", "b")])
    assert out.splitlines()[0] == "%%skill f --in x=a.b --set x=2"
    assert out.splitlines()[1:] == src.splitlines()[1:]


def test_a_bad_cell_or_result_names_the_problem():
    with pytest.raises(WorkflowError, match="not a %%skill cell"):
        rewrite_skill_cell("print(1)", params={"a": 1})
    with pytest.raises(WorkflowError, match="%%skill vqe: cannot rename the node to .--bad."):
        rewrite_skill_cell(VQE, node_id="--bad")


def _nb(*sources, positions=None):
    cells = []
    for i, s in enumerate(sources):
        meta = {"llmos": {"position": positions[i]}} if positions and positions[i] else {}
        cells.append({"cell_type": "code", "id": f"c{i}", "source": s, "metadata": meta})
    return {"cells": [{"cell_type": "markdown", "id": "md", "source": "# Title", "metadata": {}},
                      *cells], "metadata": {}}


def test_notebook_graph_maps_nodes_to_cells_and_reads_positions():
    g = notebook_graph(_nb("%load_ext llmos_jupyter",
                           "%skill ham --uses quantum-hamiltonian",
                           "%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian\n"
                           "iterations = 20",
                           positions=[None, None, {"x": 500, "y": 90}]))
    wf = g.to_dict()["workflow"]
    assert [n["id"] for n in wf["nodes"]] == ["ham", "vqe"]
    assert g.cells == {"ham": "c1", "vqe": "c2"}
    assert wf["nodes"][1]["position"] == {"x": 500, "y": 90}
    assert wf["nodes"][0]["position"] == {"x": 0, "y": 80}  # the default layout
    assert [(e["source"], e["target"], e["targetHandle"]) for e in wf["edges"]] == [
        ("ham", "vqe", "hamiltonian")]
    assert wf["nodes"][1]["data"]["params"] == {"iterations": 20}
    assert g.problems == []


def test_notebook_graph_is_lenient_with_a_notebook_being_typed():
    g = notebook_graph(_nb("%%skill a --uses add\nx = 1",
                           "%%skill b --uses add --in\n",  # half-typed: reported, left out
                           "%%skill c --uses add\nx = steps * 2\ny = 3",
                           "%%skill a --uses add\nx = 5"))  # a again: the later cell wins
    ids = [n["id"] for n in g.to_dict()["workflow"]["nodes"]]
    assert ids == ["c", "a"]
    assert g.cells["a"] == "c3"
    assert g.expressions == {"c": {"x": "steps * 2"}}
    assert {n["id"]: n["data"]["params"] for n in g.to_dict()["workflow"]["nodes"]} == {
        "c": {"y": 3}, "a": {"x": 5}}
    messages = [p["message"] for p in g.problems]
    assert any(m.startswith("cell 3:") and "--in" in m for m in messages), messages
    assert any("defined again in cell 5" in m for m in messages), messages
