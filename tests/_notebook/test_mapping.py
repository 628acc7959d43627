"""Notebook ⇄ Workflow mapping: pure over nbformat, round trips, headless runs."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from conftest import REPO
from nbformat import v4
from toy_skills import ADD

from llmos_jupyter import Engine, SkillLibrary, Workflow, WorkflowError, parse_skill
from llmos_jupyter._cli import main
from llmos_jupyter._notebook.mapping import (
    INLINE_KEY,
    notebook_from_workflow,
    read_notebook_workflow,
    workflow_from_notebook,
)

SHIPPED = ["h2-vqe.workflow.json", "rc-circuit.workflow.json"]


@pytest.mark.parametrize("name", SHIPPED)
def test_workflow_json_round_trips_through_a_notebook(name, tmp_path):
    path = REPO / "notebooks" / name
    wf = Workflow.load(path)
    nb = notebook_from_workflow(wf)
    nbformat.validate(nb)
    # Through the file format too (nbformat sorts metadata keys on disk).
    out = tmp_path / "wf.ipynb"
    nbformat.write(nb, out)
    again = Workflow.load(out)
    # The same JSON, fields in the file's order; key order *inside* nested objects (a
    # "tests" block) is nbformat's sorted order (documented in _notebook/mapping.py).
    original = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(again.to_json()) == original
    assert list(json.loads(again.to_json())) == list(original)
    # Positions live in the cells' metadata.
    cells = [c for c in nb.cells if c.source.startswith(("%%skill", "%skill"))]
    assert [c.metadata.llmos["node"] for c in cells] == [n.id for n in wf.nodes]
    assert cells[0].metadata.llmos["position"] == wf.nodes[0].position


def test_edge_ids_key_order_and_node_order_survive(tmp_path):
    wf = Workflow.from_dict({
        "name": "odd", "id": "odd-order", "viewport": {"x": 1, "y": 2, "zoom": 1.5},
        "nodes": [
            {"id": "b", "type": "skill", "position": {"x": 5, "y": 6},
             "data": {"skill": "add", "params": {"b": 2}, "label": "B"}, "selected": True},
            {"data": {"params": {}, "skill": "add"}, "id": "a", "position": {"x": 0, "y": 0},
             "type": "skill"},
        ],
        "edges": [
            {"id": "custom", "source": "a", "sourceHandle": "sum", "target": "b",
             "targetHandle": "a", "animated": True},
        ],
    })
    nb = notebook_from_workflow(wf)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sources[1].startswith("%skill a --uses add")  # a before b: cells run top to bottom
    assert workflow_from_notebook(nb).to_json() == wf.to_json()


def test_a_hand_written_notebook_gets_default_layout_and_a_title():
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# My study\n\ntext"),
        v4.new_code_cell("import math"),
        v4.new_code_cell("%%skill one --uses add\na = 1"),
        v4.new_code_cell("%%skill two --uses add --in a=one.sum b=one.sum"),
        v4.new_code_cell("%%skill three --uses add --in a=one.sum\nb = 3"),
        v4.new_code_cell("print(two.sum)"),
    ])
    wf = workflow_from_notebook(nb, path=REPO / "my-study.ipynb")
    assert (wf.id, wf.name) == ("my-study", "My study")
    assert [(n.id, n.position) for n in wf.nodes] == [
        ("one", {"x": 0, "y": 80}), ("two", {"x": 320, "y": 80}), ("three", {"x": 320, "y": 240})]
    assert [(e.source, e.target_handle, e.target) for e in wf.edges] == [
        ("one", "a", "two"), ("one", "b", "two"), ("one", "a", "three")]
    assert wf.nodes[2].params == {"b": 3}


def test_inline_skills_travel_with_the_workflow_and_run_headless(tmp_path, toy_library):
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("%%skill start --uses add\na = 2\nb = 3"),
        v4.new_code_cell("%%skill square --in x=start.sum\n"
                         "def execute(inputs: {'x': float}) -> {'y': float}:\n"
                         "    return {'y': inputs['x'] ** 2}\n"),
        v4.new_code_cell("%%skill again --uses square --in x=square.y"),
    ])
    path = tmp_path / "inline.ipynb"
    nbformat.write(nb, path)
    wf = Workflow.load(path)
    assert [n.skill for n in wf.nodes] == ["add", "square", "square"]
    assert list(wf.extra[INLINE_KEY]) == ["square"]
    assert [s.skill_id for s in wf.inline_skills()] == ["square"]

    # The engine sees the workflow's inline skills without changing the library.
    result = Engine(toy_library, max_workers=1, trace=False).run(wf)
    assert result.status == "completed" and result["again"]["y"] == 625
    assert "square" not in toy_library

    # Back to a notebook and to a workflow again: identical, the inline cell compact.
    nb2 = notebook_from_workflow(wf)
    assert workflow_from_notebook(nb2, path=path).to_json() == wf.to_json()
    square_cell = next(c for c in nb2.cells if c.source.startswith("%%skill square"))
    assert square_cell.source.startswith("%%skill square --in x=start.sum --inputs x:number "
                                         "--outputs y:number\ndef execute")


def test_inline_markdown_that_has_no_compact_form_is_kept_whole():
    md = ADD.replace("skill_id: add", "skill_id: adder").replace(
        "{name: a, type: number, default: 1}", "{name: a, type: number, default: 1, unit: V}")
    wf = Workflow(id="w")
    wf.add_node("adder", id="sum_node", params={"b": 4})
    wf.extra[INLINE_KEY] = {"adder": md}
    nb = notebook_from_workflow(wf)
    cell = next(c for c in nb.cells if c.source.startswith("%%skill"))
    assert cell.source.startswith("%%skill sum_node --set b=4\n---\nskill_id: adder")
    assert workflow_from_notebook(nb).to_json() == wf.to_json()


def test_two_cells_defining_one_inline_skill_differently():
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("%%skill f_x\ndef execute(inputs):\n    return {'y': 1}"),
        v4.new_code_cell("%%skill f-x\ndef execute(inputs):\n    return {'y': 2}"),
    ])
    with pytest.raises(WorkflowError, match="cell 2: %%skill f-x: another cell already defines"):
        workflow_from_notebook(nb)


def test_errors_name_the_file_and_the_cell(tmp_path):
    with pytest.raises(WorkflowError, match="cannot read notebook"):
        Workflow.load(tmp_path / "missing.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(WorkflowError, match="bad.ipynb: not a Jupyter notebook"):
        read_notebook_workflow(bad)
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1"),
                                v4.new_code_cell("%%skill a --uses add\na = x")])
    path = tmp_path / "kernel-only.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(WorkflowError) as info:
        Workflow.load(path)
    assert str(info.value).startswith(f"{path}: cell 2: %%skill a: line 1: a = x is not a literal")


def test_a_notebook_workflow_never_overwrites_its_notebook(tmp_path):
    nb = v4.new_notebook(cells=[v4.new_code_cell("%%skill a --uses add\na = 1")])
    path = tmp_path / "keep.ipynb"
    nbformat.write(nb, path)
    wf = Workflow.load(path)
    with pytest.raises(WorkflowError, match="save it as JSON"):
        wf.save()
    assert nbformat.read(path, as_version=4).cells[0].source.startswith("%%skill")
    out = wf.save(tmp_path / "keep.workflow.json")
    assert json.loads(out.read_text())["nodes"][0]["data"] == {"skill": "add", "params": {"a": 1}}


def test_the_mapping_imports_no_kernel():
    code = ("import sys, llmos_jupyter._notebook.mapping, llmos_jupyter._notebook.cells;"
            "bad = [m for m in ('IPython', 'ipyflow', 'ipykernel', 'numpy') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_llmos_run_runs_a_notebook(tmp_path, capsys, llmos_home):
    (llmos_home / "user" / "skills").mkdir(parents=True)
    (llmos_home / "user" / "skills" / "add.md").write_text(ADD)
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Sums"),
        v4.new_code_cell("%%skill first --uses add\na = 10"),
        v4.new_code_cell("%skill second --uses add --in a=first.sum b=first.sum"),
        v4.new_code_cell("print(second.sum)"),
    ])
    path = tmp_path / "sums.ipynb"
    nbformat.write(nb, path)
    assert main(["run", str(path), "--json", "--no-trace"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nodes"]["second"]["outputs"] == {"sum": 24}


@pytest.mark.parametrize("name", ["01-quickstart.ipynb", "04-three-d.ipynb", "05-write-a-skill.ipynb"])
def test_shipped_notebooks_are_workflows(name):
    wf = Workflow.load(REPO / "notebooks" / name)
    assert wf.nodes and all(n.skill for n in wf.nodes)
    from llmos_jupyter import validate

    assert validate(wf, SkillLibrary()) == []


def test_toy_skill_is_parseable():
    assert parse_skill(ADD).skill_id == "add"


def test_exported_notebooks_show_names_and_descriptions_as_text(tmp_path):
    wf = Workflow(id="w", name="<img src=x onerror=alert(1)> [a](javascript:x)",
                  extra={"description": "line one\n# not a heading <script>"})
    wf.add_node("add", id="a")
    nb = notebook_from_workflow(wf)
    intro = nb.cells[0].source
    assert "<img" not in intro and "<script>" not in intro and "\\](javascript" in intro
    assert "&lt;img" in intro and "\n# not a heading" not in intro
    back = workflow_from_notebook(nb)
    assert back.name == wf.name and back.extra["description"] == wf.extra["description"]
