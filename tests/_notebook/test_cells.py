"""The %%skill grammar: parsing the line and the body, port inference, canonical form."""

from __future__ import annotations

import re
import shlex

import pytest

from llmos_jupyter import WorkflowError
from llmos_jupyter._notebook.cells import (
    Wire,
    format_skill_cell,
    infer_ports,
    is_skill_cell,
    parse_skill_cell,
    skill_id_for,
    variable_name,
)


def test_uses_cell_with_wires_sets_and_literal_params():
    cell = parse_skill_cell(
        "%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian "
        "energy_offset=ham.nuclear_repulsion --set ansatz=RY\n"
        "iterations = 150\ncapacitance = 4.7 * 1e-7  # arithmetic on numbers is a literal\n"
        "title = 'H2 (0.735 Å)'\n")
    assert cell.uses == "quantum-vqe" and not cell.inline
    assert cell.wires == (Wire("hamiltonian", "ham", "hamiltonian"),
                          Wire("energy_offset", "ham", "nuclear_repulsion"))
    assert cell.params() == {"iterations": 150, "capacitance": 4.7e-7,
                             "title": "H2 (0.735 Å)", "ansatz": "RY"}
    assert cell.skill_id == "quantum-vqe"
    assert cell.reads() == ["ham"]


def test_set_values_are_json_else_strings_as_on_the_command_line():
    # One grammar with `llmos run --set` (_overrides.py): Python's True is not JSON.
    cell = parse_skill_cell("%%skill n --uses s --set a=1 b=true c=True d='[1, 2]' e=hello "
                            "'f=two words'\n")
    assert cell.params() == {"a": 1, "b": True, "c": "True", "d": [1, 2], "e": "hello",
                             "f": "two words"}
    with pytest.raises(WorkflowError, match=r"--set x: NaN is not a JSON number"):
        parse_skill_cell("%%skill n --uses s --set x=NaN\n")


def test_non_literal_params_need_a_kernel():
    cell = parse_skill_cell("%%skill ham --uses quantum-hamiltonian\nbond_length = d * 2\n")
    assert cell.reads() == ["d"]
    with pytest.raises(WorkflowError, match=r"line 1: bond_length = d \* 2 is not a literal"):
        cell.params()
    assert cell.params(evaluate=lambda a: 1.5) == {"bond_length": 1.5}


@pytest.mark.parametrize(("source", "message"), [
    ("%%skill\nx = 1", "missing NODE_ID"),
    ("%%skill a --uses s --bogus 1\n", "unrecognized arguments: --bogus 1"),
    ("%%skill a --uses s --in x\n", "--in 'x': expected PORT=NODE.PORT"),
    ("%%skill a --uses s --in x=node\n", "expected PORT=NODE.PORT"),
    ("%%skill a --uses s --in x=b.y x=c.z\n", "--in x=... is given twice"),
    ("%%skill a --uses s --set x\n", "--set 'x': expected PORT=VALUE"),
    ("%%skill a --uses s --set x=1 x=2\n", "--set x=... is given twice"),
    ("%%skill a --uses s --set x=1\nx = 2\n", "parameter 'x' is set twice"),
    ("%%skill a --uses s\nx = 1\nx = 2\n", "line 2: parameter 'x' is already set on line 1"),
    ("%%skill a --uses s\nprint(1)\n", "line 1: a --uses cell holds parameter assignments only"),
    ("%%skill a --uses s\nx = (\n", "syntax error in the parameters"),
    ("%%skill a --uses s --inputs x:number\n", "--inputs declares an inline skill"),
    ("%%skill a --uses s 'b c'\n", "unrecognized arguments"),
    ("%%skill a\n", "needs --uses SKILL_ID, or a body defining execute"),
    ("%%skill a --in 'x=b.y\n", "cannot split the line"),
    ("%%skill a --inputs 'x:vector'\ndef execute(inputs):\n    return {'y': 1}\n",
     "unknown type 'vector'"),
    ("%%skill a --outputs 'y:number=1'\ndef execute(inputs):\n    return {'y': 1}\n",
     "outputs take no default"),
    ("%%skill a --inputs 1x\ndef execute(inputs):\n    return {'y': 1}\n",
     "expected NAME"),
    ("%%skill a --inputs x x\ndef execute(inputs):\n    return {'y': 1}\n", "declares 'x' twice"),
    ("%%skill ___\ndef execute(inputs):\n    return {}\n", "cannot name an inline skill"),
])
def test_line_and_body_errors_are_short_and_precise(source, message):
    with pytest.raises(WorkflowError) as info:
        parse_skill_cell(source)
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


def test_not_a_skill_cell():
    assert not is_skill_cell("x = 1")
    assert not is_skill_cell("%skill list")
    assert not is_skill_cell("%skill show quantum-vqe")
    assert not is_skill_cell("%%skillful x")
    assert is_skill_cell("\n%%skill a --uses b")
    with pytest.raises(WorkflowError, match="not a %%skill cell"):
        parse_skill_cell("print(1)")


def test_line_form_is_a_node_without_body():
    cell = parse_skill_cell("%skill stats --uses data-analysis --in data=rc.voltage_data\n"
                            "print(stats.mean)\n")
    assert cell.node_id == "stats" and cell.uses == "data-analysis" and cell.params() == {}
    assert format_skill_cell("stats", uses="data-analysis",
                             wires=[Wire("data", "rc", "voltage_data")]) == (
        "%skill stats --uses data-analysis --in data=rc.voltage_data")


def test_inline_skill_ports_inferred_from_reads_and_returns():
    cell = parse_skill_cell(
        "%%skill fit_curve --in x=src.values\n"
        "import math\n\n"
        "def execute(inputs):\n"
        "    scale = inputs.get('scale', 2.0)\n"
        "    label = inputs.get('label', 'fit')\n"
        "    if inputs['x']:\n"
        "        return {'y': [v * scale for v in inputs['x']], 'label': label}\n"
        "    return {'y': [], 'n': 0}\n")
    skill = cell.skill
    assert cell.inline and skill.skill_id == "fit-curve" == cell.skill_id
    assert [(p.name, p.type, p.required, p.default) for p in skill.inputs] == [
        ("scale", "number", False, 2.0), ("label", "string", False, "fit"), ("x", "any", True, None)]
    assert [p.name for p in skill.outputs] == ["y", "label", "n"]
    assert skill.category == "notebook" and skill.volume == "notebook"
    assert skill.load_function()({"x": [1, 2], "scale": 3, "label": "l"}) == {"y": [3, 6], "label": "l"}


def test_inline_ports_from_annotations_and_typed_dict():
    code = (
        "from typing import NotRequired, TypedDict\n\n"
        "class Inputs(TypedDict):\n"
        "    x: float\n"
        "    n: NotRequired[int]\n\n"
        "def execute(inputs: Inputs) -> {'y': list, 'img': bytes}:\n"
        "    return dict(y=[inputs['x']] * inputs.get('n', 3), img=b'')\n")
    inputs, outputs = infer_ports(code)
    assert [(p.name, p.type, p.required, p.default) for p in inputs] == [
        ("x", "number", True, None), ("n", "integer", False, 3)]
    assert [(p.name, p.type) for p in outputs] == [("y", "array"), ("img", "image")]


def test_explicit_ports_beat_inference():
    cell = parse_skill_cell(
        "%%skill sq --inputs x:number=2 'label:string=\"a b\"' flag:boolean? "
        "--outputs y:number --name Square --requires numpy\n"
        "def execute(inputs):\n    return {'y': inputs['x'] ** 2}\n")
    s = cell.skill
    assert [(p.name, p.type, p.default, p.required) for p in s.inputs] == [
        ("x", "number", 2, False), ("label", "string", "a b", False), ("flag", "boolean", None, False)]
    assert [(p.name, p.type) for p in s.outputs] == [("y", "number")]
    assert s.name == "Square" and s.requires == ("numpy",)


@pytest.mark.parametrize(("code", "message"), [
    ("x = 1\n", "must define execute(inputs) at top level"),
    ("def execute(inputs):\n    out = {}\n    return out\n", "cannot infer the outputs"),
    ("def execute(inputs)\n", "syntax error"),
    ("def execute(inputs):\n    return {'a-b': 1}\n", "output 'a-b' is not a Python identifier"),
])
def test_inline_code_errors(code, message):
    with pytest.raises(WorkflowError, match=re.escape(message)):
        parse_skill_cell("%%skill node\n" + code).skill


def test_markdown_body_is_a_whole_skill_file():
    md = ("---\nskill_id: twice\ninputs: [{name: x, type: number}]\n"
          "outputs: [{name: y, type: number}]\n---\n\n# Twice\n\n```python\n"
          "def execute(inputs):\n    return {'y': 2 * inputs['x']}\n```\n")
    cell = parse_skill_cell("%%skill t --set x=4\n" + md)
    assert cell.markdown == md and cell.skill_id == "twice" and cell.params() == {"x": 4}
    with pytest.raises(WorkflowError, match="declare inputs in its frontmatter"):
        parse_skill_cell("%%skill t --inputs x\n" + md)
    with pytest.raises(WorkflowError, match=r"\[inputs.0.type\]|inputs"):
        parse_skill_cell("%%skill t\n" + md.replace("type: number}]\noutputs", "type: vector}]\noutputs")).skill


def test_format_then_parse_is_the_same_node():
    params = {"title": "RC (τ = 1 ms)", "samples": 501, "ratio": 1e-06, "flag": False,
              "nested": {"a": [1, 2.5, None], "b": "x" * 100}, "bad-key": 1, "lambda": 2}
    src = format_skill_cell("plot", uses="plot-convergence", params=params,
                            wires=[Wire("data", "rc", "voltage_data")])
    cell = parse_skill_cell(src)
    assert cell.params() == params and list(cell.params()) != []
    assert cell.wires == (Wire("data", "rc", "voltage_data"),)
    assert "--set" in src.splitlines()[0]  # non-identifiers and keywords go to --set


def test_names():
    assert variable_name("quantum-vqe-2") == "quantum_vqe_2"
    assert variable_name("class") == "class_"
    assert variable_name("2d") == "_2d"
    assert skill_id_for("Fit_Curve") == "fit-curve"


@pytest.mark.parametrize("node_id", ["a\nimport os", "a\rb", "a b", "a.b", "x" * 129])
def test_cells_refuse_node_ids_outside_the_grammar(node_id):
    with pytest.raises(WorkflowError, match="node id|cannot split"):
        parse_skill_cell(f"%%skill {shlex.quote(node_id)} --uses add\na = 1")
    with pytest.raises(WorkflowError, match="cannot write a %%skill cell"):
        format_skill_cell(node_id, uses="add")


def test_written_cells_keep_hostile_text_on_the_magic_line():
    from llmos_jupyter._notebook.cells import Wire

    with pytest.raises(WorkflowError, match="port name"):
        format_skill_cell("a", uses="add", wires=(Wire("x\nimport os", "b", "y"),))
    with pytest.raises(WorkflowError, match="skill id"):
        format_skill_cell("a", uses="Add\nimport os")
    src = format_skill_cell("a", code="def execute(inputs):\n    return {}\n",
                            name="n\nimport os", description="d\r\nprint(1)")
    _, _, body = src.partition("\n")
    assert body == "def execute(inputs):\n    return {}"
    cell = parse_skill_cell(src)
    assert (cell.name, cell.description) == ("n import os", "d print(1)")
