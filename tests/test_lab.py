"""llmos_jupyter._lab: what the JupyterLab extension's library kernel prints (JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from llmos_jupyter._lab import (
    export_notebook_json,
    read_trace_json,
    run_workflow_json,
    runs_json,
    skills_json,
)
from llmos_jupyter._paths import llmos_home

REPO = Path(__file__).resolve().parents[1]
RC = REPO / "notebooks" / "rc-circuit.workflow.json"


def test_skills_lists_the_library_with_ports_volumes_and_overrides():
    data = json.loads(skills_json())
    by_id = {s["id"]: s for s in data["skills"]}
    assert {"quantum-vqe", "circuit-rc", "skill-authoring"} <= set(by_id)
    vqe = by_id["quantum-vqe"]
    assert vqe["volume"] == "system" and vqe["overrides"] == [] and vqe["executable"]
    assert any(p["name"] == "iterations" and p["type"] == "integer" for p in vqe["inputs"])
    assert not by_id["skill-authoring"]["executable"]

    # A user skill of the same id wins and says what it overrides.
    text = (REPO / "skills" / "circuit-rc.md").read_text(encoding="utf-8")
    user = llmos_home() / "user" / "skills"
    user.mkdir(parents=True)
    (user / "circuit-rc.md").write_text(text, encoding="utf-8")
    rc = {s["id"]: s for s in json.loads(skills_json())["skills"]}["circuit-rc"]
    assert rc["volume"] == "user" and rc["overrides"] == ["system"]


def test_run_then_runs_then_read_trace(tmp_path, monkeypatch):
    assert json.loads(runs_json())["runs"] == []
    r = json.loads(run_workflow_json(RC.read_text(encoding="utf-8")))
    assert r["status"] == "completed"
    assert set(r["statuses"]) == {"rc", "stats", "plot"}
    assert all(s["status"] in ("completed", "cached") for s in r["statuses"].values())
    runs = json.loads(runs_json())["runs"]
    assert len(runs) == 1
    run = runs[0]
    assert run["status"] == "completed" and run["workflow"] == "RC step response"
    assert run["duration_ms"] > 0 and run["params"]["rc"]["resistance"] == 1000
    assert run["path"] == r["trace"]

    (tmp_path / "root").mkdir()
    monkeypatch.chdir(tmp_path / "root")  # the trace is outside the server's root
    t = json.loads(read_trace_json(run["path"]))
    assert t["relative"] is None and t["content"]["metadata"]["llmos"]["trace"]["status"] == \
        "completed"
    monkeypatch.chdir(Path(run["path"]).parent.parent)
    assert json.loads(read_trace_json(run["path"]))["relative"] == \
        f"traces/{os.path.basename(run['path'])}"


def test_invalid_workflow_is_reported_not_raised():
    wf = {"id": "bad", "nodes": [{"id": "a", "position": {"x": 0, "y": 0},
                                  "data": {"skill": "no-such-skill"}}], "edges": []}
    r = json.loads(run_workflow_json(json.dumps(wf)))
    assert r["status"] == "invalid" and "no-such-skill" in r["message"]


def test_export_notebook():
    nb = nbformat.reads(export_notebook_json(RC.read_text(encoding="utf-8")), as_version=4)
    sources = [c.source for c in nb.cells]
    assert any(s.startswith("%load_ext llmos_jupyter") for s in sources)
    assert any(s.startswith("%%skill rc --uses circuit-rc") for s in sources)
