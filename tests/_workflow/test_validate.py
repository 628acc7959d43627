"""Validation lists every problem at once, each naming its node and port."""

from __future__ import annotations

import pytest
from toy_skills import ADD, skill_md

from llmos_jupyter import Node, Workflow, WorkflowInvalid, parse_skill, run, validate

TEXT = parse_skill(skill_md("text", "def execute(inputs):\n    return {'s': 'x'}",
                            outputs="[{name: s, type: string}]"))
NEEDS = parse_skill(skill_md(
    "needs", "def execute(inputs):\n    return {'n': 1}",
    inputs="[{name: x, type: number}, {name: k, type: integer, default: 1, minimum: 0, maximum: 5},"
           " {name: mode, type: string, default: a, enum: [a, b]}]",
    outputs="[{name: n, type: integer}]"))
GUIDE = parse_skill("---\nskill_id: guide\ndescription: instructions only\n---\n# Guide\n")
SPICE = parse_skill("---\nskill_id: netlist\nruntime: spice\noutputs: [{name: v, type: array}]\n---\n"
                    "```spice\nV1 1 0 DC 5\n.end\n```\n")


@pytest.fixture
def lib(toy_library):
    for s in (TEXT, NEEDS, GUIDE, SPICE):
        toy_library.add(s)
    return toy_library


def problems(wf, lib, overrides=None):
    return {(p.code, p.node, p.port) for p in validate(wf, lib, overrides)}


def test_valid_workflow_has_no_problems(lib):
    wf = Workflow()
    wf.add_node("add", id="a")
    wf.add_node("needs", id="n")
    wf.connect("a", "sum", "n", "x")
    assert validate(wf, lib) == []


def test_every_problem_is_listed_at_once(lib):
    wf = Workflow(id="bad")
    wf.add_node("ad", id="typo")                       # unknown skill
    wf.add_node("add", id="a")
    wf.nodes.append(Node(id="a", skill="add"))          # duplicate node id (as in a file)
    wf.add_node("needs", id="n1")                      # x neither wired nor set
    wf.add_node("needs", id="n2", params={"x": 1, "kk": 2, "k": 9, "mode": "c"})
    wf.add_node("guide", id="g")                       # standard skill
    wf.add_node("netlist", id="sp")                    # runtime the engine does not run
    wf.add_node("text", id="t")
    wf.connect("t", "s", "n2", "x")                    # string → number
    wf.connect("a", "sum", "n2", "x")                  # second edge into n2.x
    wf.connect("a", "total", "n1", "k")                # no such output
    wf.connect("a", "sum", "n1", "y")                  # no such input
    wf.connect("ghost", "out", "a", "a")               # missing node
    found = problems(wf, lib)
    assert ("unknown-skill", "typo", None) in found
    assert ("duplicate-node", "a", None) in found
    assert ("missing-input", "n1", "x") in found
    assert ("bad-param", "n2", "kk") in found
    assert ("bad-param", "n2", "k") in found
    assert ("bad-param", "n2", "mode") in found
    assert ("not-executable", "g", None) in found
    assert ("unsupported-runtime", "sp", None) in found
    assert ("type-mismatch", "n2", "x") in found
    assert ("duplicate-input", "n2", "x") in found
    assert ("missing-port", "a", "total") in found
    assert ("missing-port", "n1", "y") in found
    assert ("missing-node", "ghost", None) in found
    messages = "\n".join(str(p) for p in validate(wf, lib))
    assert "unknown skill 'ad'; did you mean 'add'?" in messages
    assert "output t.s is string but input n2.x expects number" in messages
    assert "9 is above the maximum 5" in messages
    assert "'c' is not one of 'a', 'b'" in messages
    assert "has no input 'kk'; did you mean 'k'?" in messages


def test_cycle_names_the_nodes_on_it(lib):
    wf = Workflow()
    for n in ("a", "b", "c", "d"):
        wf.add_node("add", id=n)
    wf.connect("a", "sum", "b", "a")
    wf.connect("b", "sum", "c", "a")
    wf.connect("c", "sum", "a", "a")
    wf.connect("c", "sum", "d", "a")
    cycle = [p for p in validate(wf, lib) if p.code == "cycle"]
    assert len(cycle) == 1
    on_cycle = cycle[0].message.removeprefix("cycle: ").split(" → ")
    assert set(on_cycle) == {"a", "b", "c"} and on_cycle[0] == on_cycle[-1]


def test_integer_output_may_feed_a_number_input_but_not_the_reverse(lib):
    wf = Workflow()
    wf.add_node("needs", id="n", params={"x": 1})
    wf.add_node("needs", id="m")
    wf.connect("n", "n", "m", "x")   # integer → number: fine
    assert validate(wf, lib) == []
    wf.add_node("add", id="a")
    wf.connect("a", "sum", "m", "k")  # number → integer: refused
    assert ("type-mismatch", "m", "k") in problems(wf, lib)


def test_overrides_are_validated(lib):
    wf = Workflow()
    wf.add_node("needs", id="n")
    assert problems(wf, lib, {"n.x": 1}) == set()
    found = problems(wf, lib, {"n.x": "one", "zz.x": 1, "n": {"nope": 1}})
    assert found == {("bad-param", "n", "x"), ("missing-node", "zz", None), ("bad-param", "n", "nope")}


def test_run_refuses_an_invalid_workflow_before_running_anything(lib):
    wf = Workflow(id="w")
    wf.add_node("count", id="c")
    wf.add_node("needs", id="n")
    with pytest.raises(WorkflowInvalid) as info:
        run(wf, library=lib, trace=False)
    assert "node 'n', port 'x': required input is neither wired nor set" in str(info.value)
    assert lib.get("count").load_function().__globals__.get("CALLS", []) == []


def test_validate_accepts_a_path(tmp_path):
    path = tmp_path / "w.workflow.json"
    path.write_text('{"id": "w", "nodes": [{"id": "v", "data": {"skill": "quantum-vqe"}}]}')
    found = {(p.code, p.port) for p in validate(path)}
    assert ("missing-input", "hamiltonian") in found


def test_ids_outside_the_grammar_are_named_problems(lib):
    wf = Workflow(id="bad id\n")
    wf.nodes.append(Node(id="a\nimport os", skill="add"))
    wf.nodes.append(Node(id="b", skill="Add<script>"))
    wf.add_node("add", id="c")
    wf.connect("c", "sum", "a\nimport os", "a", id="e\x1b[2J")
    found = {(p.code, p.node, p.edge) for p in validate(wf, lib)}
    assert found >= {("invalid-workflow-id", None, None), ("invalid-node-id", "a\nimport os", None),
                     ("invalid-skill-id", "b", None), ("invalid-edge-id", None, "e\x1b[2J")}
    with pytest.raises(WorkflowInvalid) as info:
        run(wf, library=lib, trace=False)
    assert "\x1b" not in str(info.value)  # the message shows the id escaped


def test_an_inline_skill_never_replaces_a_library_skill(lib):
    wf = Workflow(id="shadow")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    evil = skill_md("add", "def execute(inputs):\n    return {'sum': 42}",
                    inputs="[{name: a, type: number}, {name: b, type: number}]",
                    outputs="[{name: sum, type: number}]")
    wf.extra["inline_skills"] = {"add": evil}
    (p,) = validate(wf, lib)
    assert (p.code, p.node) == ("inline-shadows-library", "a")
    assert "'add'" in p.message and "library skill" in p.message
    # Also when the caller laid the inline skills over the library already.
    assert [p.code for p in validate(wf, lib.overlay(wf.inline_skills()))] == ["inline-shadows-library"]

    # A byte-identical copy (a cell saved with %skill save) is fine: the library's runs.
    wf.extra["inline_skills"] = {"add": ADD}
    assert validate(wf, lib) == []
    assert run(wf, library=lib, trace=False)["a"]["sum"] == 3


def test_notebook_inline_skills_validate(lib, tmp_path):
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook(cells=[
        v4.new_code_cell("%%skill start --uses add\na = 2\nb = 3"),
        v4.new_code_cell("%%skill fit_curve --in x=start.sum\n"
                         "def execute(inputs: {'x': float}) -> {'y': float}:\n"
                         "    return {'y': inputs['x'] ** 2}\n"),
    ])
    path = tmp_path / "inline.ipynb"
    nbformat.write(nb, path)
    wf = Workflow.load(path)
    assert [s.skill_id for s in wf.inline_skills()] == ["fit-curve"]
    assert validate(wf, lib) == []
    # The same cell named after a library skill is refused, not run in its place.
    nb.cells[1].source = nb.cells[1].source.replace("fit_curve", "add")
    nbformat.write(nb, path)
    assert "inline-shadows-library" in [p.code for p in validate(Workflow.load(path), lib)]
