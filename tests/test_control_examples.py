"""The bundled control-flow examples: the H2 curve as one map node, and a workflow file
turned into a skill (``llmos skills from-workflow``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._cli import main

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_h2_map_every_item_within_chemical_accuracy_of_full_ci():
    engine = Engine(SkillLibrary(), trace=False)
    res = engine.run(NOTEBOOKS / "h2-map.workflow.json")
    assert res.status == "completed"
    results = res.nodes["curve"].outputs["results"]
    assert len(results) == 24
    for item in results:
        assert abs(item["energy"] - item["exact"]) <= 1.6e-3
        assert item["energy"] >= item["exact"] - 1e-9  # variational
    assert res.nodes["flag"].status == "skipped"
    assert res.nodes["flag"].error == "branch not taken"
    assert "within chemical accuracy" in res.nodes["verdict"].outputs["result"]
    # The equilibrium of the exact curve is near 0.74 Å (STO-3G H2).
    best = min(results, key=lambda r: r["exact"])
    lengths = Workflow.load(NOTEBOOKS / "h2-map.workflow.json").node("curve").params["items"]
    assert 0.65 < lengths[results.index(best)] < 0.8


def test_a_workflow_becomes_a_skill_with_its_declared_ports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["skills", "from-workflow", str(NOTEBOOKS / "h2-point.workflow.json")]) == 0
    lib = SkillLibrary()
    skill = lib.get("h2-point")
    assert skill.volume == "user"
    assert [(p.name, p.type, p.unit) for p in skill.inputs] == [("bond_length", "number", "Å")]
    assert [p.name for p in skill.outputs] == ["energy", "exact", "error"]
    wf = Workflow(id="use")
    wf.add_node("h2-point", id="p", params={"bond_length": 0.735})
    res = Engine(lib, trace=False).run(wf)
    assert res.nodes["p"].outputs["energy"] == pytest.approx(-1.137306, abs=1.6e-3)
    # Again: the skill exists, so a second write is refused without --id.
    assert main(["skills", "from-workflow", str(NOTEBOOKS / "h2-point.workflow.json")]) == 2


def test_a_workflow_without_outputs_cannot_become_a_skill(tmp_path, capsys):
    path = tmp_path / "plain.workflow.json"
    path.write_text('{"id": "plain", "nodes": [], "edges": []}')
    assert main(["skills", "from-workflow", str(path), "--output", "-"]) == 2
    assert "declares no \"outputs\"" in capsys.readouterr().err


def test_a_workflow_with_a_required_interface_input_becomes_a_skill(tmp_path, capsys):
    path = tmp_path / "needs.workflow.json"
    path.write_text('{"id": "needs", "nodes": [{"id": "a", "data": {"skill": "json-query", '
                    '"params": {"expression": "length(@)"}}}], "edges": [], '
                    '"inputs": {"items": "a.data"}, "outputs": {"n": "a.result"}}')
    assert main(["skills", "from-workflow", str(path), "--output", "-"]) == 0
    text = capsys.readouterr().out
    from llmos_jupyter import parse_skill

    skill = parse_skill(text)
    assert [(p.name, p.required) for p in skill.inputs] == [("items", True)]
