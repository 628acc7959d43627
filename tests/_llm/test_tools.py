"""Every tool call is validated; a bad call returns one precise error the model can act on."""

from __future__ import annotations

import json

import pytest

from llmos_jupyter import SkillLibrary
from llmos_jupyter._llm.tools import TOOLS, Toolbox, approve_all, summarize


@pytest.fixture
def box(llmos_home):
    tb = Toolbox(SkillLibrary(home=llmos_home), trace=False, approve=approve_all)
    tb.call("create_workflow", {"workflow_id": "w"})
    tb.call("add_node", {"node_id": "ham", "skill_id": "quantum-hamiltonian"})
    tb.call("add_node", {"node_id": "vqe", "skill_id": "quantum-vqe"})
    return tb


def err(box, name, args):
    r = box.call(name, args)
    assert r.is_error, r.content
    return r.content


def test_every_tool_has_a_closed_json_schema():
    assert set(TOOLS) == {"list_skills", "get_skill", "create_workflow", "add_node", "connect",
                          "set_params", "validate_workflow", "run_workflow", "read_outputs"}
    for spec in TOOLS.values():
        assert spec["input_schema"]["type"] == "object"
        assert spec["input_schema"]["additionalProperties"] is False and spec["description"]


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("nope", {}, "unknown tool 'nope'; tools: list_skills"),
    ("add_node", {"skill_id": "quantum-vqe"}, "invalid input: input: 'node_id' is a required"),
    ("add_node", {"node_id": "x", "skill_id": "quantum-vqe", "colour": 1},
     "Additional properties are not allowed ('colour'"),
    ("add_node", {"node_id": "bad id!", "skill_id": "quantum-vqe"}, "node_id: 'bad id!' does not match"),
    ("add_node", {"node_id": "v2", "skill_id": "quantum-vq"},
     "unknown skill 'quantum-vq'; did you mean 'quantum-vqe'"),
    ("add_node", {"node_id": "vqe", "skill_id": "quantum-vqe"}, "node id 'vqe' is already used"),
    ("add_node", {"node_id": "doc", "skill_id": "python-coding"}, "is an instruction skill"),
    ("add_node", {"node_id": "v3", "skill_id": "quantum-vqe", "params": {"iters": 5}},
     "has no input 'iters'; inputs: hamiltonian, iterations"),
    ("set_params", {"node_id": "vqe", "params": {"iterations": 0}}, "below the minimum 1"),
    ("set_params", {"node_id": "vqe", "params": {"iterations": "many"}}, "input 'iterations'"),
    ("set_params", {"node_id": "ghost", "params": {}}, "no node 'ghost' in workflow 'w'; nodes: ham, vqe"),
    ("connect", {"source": "ham", "source_port": "energy", "target": "vqe",
                 "target_port": "hamiltonian"}, "no output 'energy'; outputs: hamiltonian, nuclear_repulsion"),
    ("connect", {"source": "ham", "source_port": "bond_length", "target": "vqe",
                 "target_port": "hamiltonian"}, "(that is an input)"),
    ("connect", {"source": "ham", "source_port": "num_qubits", "target": "vqe",
                 "target_port": "hamiltonian"}, ("type mismatch: ham.num_qubits is integer, "
                                                 "vqe.hamiltonian expects object")),
    ("run_workflow", {"workflow_id": "zzz"}, "no workflow 'zzz'; workflows: w"),
    ("read_outputs", {"node_id": "vqe"}, "has not run yet; call run_workflow"),
    ("create_workflow", {"workflow_id": "w"}, "workflow 'w' exists already"),
])
def test_bad_calls_get_precise_errors(box, name, args, expected):
    assert expected in err(box, name, args)


def test_an_invalid_workflow_does_not_run(box):
    assert "neither wired nor set" in err(box, "run_workflow", {})
    v = json.loads(box.call("validate_workflow", {}).text())
    assert v["valid"] is False and any("hamiltonian" in p for p in v["problems"])


def test_a_wired_input_cannot_be_wired_twice(box):
    box.call("connect", {"source": "ham", "source_port": "hamiltonian", "target": "vqe",
                         "target_port": "hamiltonian"})
    assert "already wired" in err(box, "connect", {"source": "ham", "source_port": "hamiltonian",
                                                   "target": "vqe", "target_port": "hamiltonian"})


def test_outputs_are_summarised_for_the_model():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    assert summarize(png) == "<PNG image, 108 bytes>"
    s = summarize(list(range(100)))
    assert s == {"length": 100, "first": [0, 1, 2], "last": [97, 98, 99], "min": 0, "max": 99}
    assert summarize(float("nan")) == "nan"


def test_list_skills_ranks_by_the_query(box):
    found = json.loads(box.call("list_skills", {"query": "plot convergence"}).text())
    assert found[0]["skill_id"] == "plot-convergence"
    full = json.loads(box.call("get_skill", {"skill_id": "quantum-vqe"}).text())
    assert full["inputs"][0]["name"] == "hamiltonian" and "documentation" in full


def test_a_workflow_the_model_runs_is_saved_as_a_commit_in_the_user_volume(box, llmos_home):
    from llmos_jupyter._volumes import Volume

    box.call("connect", {"source": "ham", "source_port": "hamiltonian", "target": "vqe",
                         "target_port": "hamiltonian"})
    result = box.call("run_workflow", {})
    assert not result.is_error, result.content
    saved = llmos_home / "user" / "workflows" / "w.workflow.json"
    assert json.loads(saved.read_text())["id"] == "w"
    (latest, *_) = Volume("user", llmos_home).log()
    assert latest.message.startswith("Save workflow w") and "workflows/w.workflow.json" in latest.paths
