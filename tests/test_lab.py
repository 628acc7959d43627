"""llmos_jupyter._lab: what the JupyterLab extension's library kernel prints (JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

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


def test_run_prints_live_events_and_runs_one_node_with_downstream(capsys):
    from llmos_jupyter._lab import EVENT_PREFIX

    text = RC.read_text(encoding="utf-8")
    r = json.loads(run_workflow_json(text, events=True))
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(ln[len(EVENT_PREFIX):]) for ln in lines if ln.startswith(EVENT_PREFIX)]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {e["node_id"] for e in events if e["kind"] == "node_finished"} == {"rc", "stats", "plot"}
    # Previews travel with the result (the canvas' forms: a number with its unit).
    assert r["previews"]["stats"], r["previews"]

    # "stats" + downstream ("plot"? no: plot hangs off rc) — only what depends on stats.
    wf = json.loads(text)
    down = {e["target"] for e in wf["edges"] if e["source"] == "stats"}
    r = json.loads(run_workflow_json(text, node="stats", downstream=True))
    assert set(r["statuses"]) == {"rc", "stats"} | down
    r = json.loads(run_workflow_json(text, node="nope"))
    assert r["status"] == "invalid" and "nope" in r["message"]


def _slow_skills():
    user = llmos_home() / "user" / "skills"
    user.mkdir(parents=True, exist_ok=True)
    (user / "slow.md").write_text(
        "---\nskill_id: slow\ninputs: [{name: x, type: number, default: 1}]\n"
        "outputs: [{name: y, type: number}]\n---\n\n```python\nimport _thread\nimport time\n\n"
        "def execute(inputs):\n    if inputs['x'] == 3:\n        time.sleep(0.3)\n"
        "        _thread.interrupt_main()\n"
        "    time.sleep(0.2)\n    return {'y': inputs['x'] * 2}\n```\n",
        encoding="utf-8")
    return {"id": "slow2", "name": "two slow", "nodes": [
        {"id": "a", "position": {"x": 0, "y": 0}, "data": {"skill": "slow", "params": {"x": 3}}},
        {"id": "b", "position": {"x": 300, "y": 0}, "data": {"skill": "slow"}}],
        "edges": [{"id": "e", "source": "a", "sourceHandle": "y", "target": "b",
                   "targetHandle": "x"}]}


def test_kernel_interrupt_cancels_the_run_and_interrupts_the_running_node():
    # Node "a" interrupts the main thread while it runs (once the main thread waits for
    # the run), as a kernel interrupt would: the cancel reaches the running node at its
    # next bytecode (after its sleep returns) and the rest is skipped.
    r = json.loads(run_workflow_json(json.dumps(_slow_skills())))
    assert r["statuses"]["a"]["status"] == "failed"
    assert "cancelled" in r["statuses"]["a"]["error"]
    assert r["statuses"]["b"]["status"] == "skipped"
    assert r["status"] == "cancelled"


def test_rerun_with_the_same_parameters_and_compare_two_runs():
    from llmos_jupyter._api import run
    from llmos_jupyter._lab import compare_runs_json, rerun_trace_json
    from llmos_jupyter._workflow.model import Workflow

    first = run(Workflow.load(RC), overrides={"rc.resistance": 2200})
    again = json.loads(rerun_trace_json(first.trace))
    assert again["status"] == "completed" and again["trace"] != first.trace
    trace = nbformat.read(again["trace"], as_version=4).metadata["llmos"]["trace"]
    assert trace["overrides"] == {"rc": {"resistance": 2200}}
    assert trace["nodes"]["rc"]["params"]["resistance"] == 2200

    other = run(Workflow.load(RC))  # resistance 1000 (the workflow's param)
    cmp = json.loads(compare_runs_json(first.trace, other.trace))
    assert cmp["a"]["run_id"] == first.run_id and cmp["b"]["run_id"] == other.run_id
    rows = {(r["node"], r["kind"], r["name"]): r for r in cmp["rows"]}
    res = rows[("rc", "param", "resistance")]
    assert (res["a"], res["b"], res["same"]) == (2200, 1000, False)
    assert rows[("rc", "status", "status")]["same"]
    # The time constant is an output computed from R: it differs, by the ratio of R.
    outs = [r for r in cmp["rows"] if r["node"] == "rc" and r["kind"] == "output"
            and isinstance(r["a"], (int, float)) and not isinstance(r["a"], bool)]
    assert any(not r["same"] for r in outs), outs
    same = json.loads(compare_runs_json(first.trace, again["trace"]))
    assert all(r["same"] for r in same["rows"] if r["kind"] == "param")

    bad = llmos_home() / "not-a-trace.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), bad)
    with pytest.raises(ValueError, match="not an llmos trace"):
        compare_runs_json(str(bad), first.trace)


def test_set_llmos_home_moves_the_volumes_and_traces(tmp_path):
    from llmos_jupyter._lab import set_llmos_home

    r = json.loads(run_workflow_json(RC.read_text(encoding="utf-8")))
    assert Path(r["trace"]).is_relative_to(llmos_home())
    assert json.loads(set_llmos_home(str(tmp_path / "elsewhere")))["llmos_home"].endswith("elsewhere")
    assert json.loads(runs_json())["runs"] == []  # the new home has no traces yet
    r = json.loads(run_workflow_json(RC.read_text(encoding="utf-8")))
    assert Path(r["trace"]).is_relative_to(tmp_path / "elsewhere")
    assert len(json.loads(runs_json())["runs"]) == 1


# -- the sidebar canvas of the active notebook ----------------------------------------------
def test_notebook_graph_json_and_rewrite_cells_json():
    from llmos_jupyter._lab import notebook_graph_json, rewrite_cells_json

    nb = {"metadata": {}, "cells": [
        {"cell_type": "code", "id": "h", "source": "%skill ham --uses quantum-hamiltonian",
         "metadata": {}},
        {"cell_type": "code", "id": "v", "metadata": {"llmos": {"position": {"x": 400, "y": 0}}},
         "source": "%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian\nseed = 1"},
    ]}
    g = json.loads(notebook_graph_json(nb))
    assert g["cells"] == {"ham": "h", "vqe": "v"} and len(g["workflow"]["edges"]) == 1
    assert json.loads(notebook_graph_json({"cells": 5}))["problems"][0]["message"].startswith(
        "cannot read the notebook")

    out = json.loads(rewrite_cells_json([
        {"source": nb["cells"][1]["source"], "params": {"seed": 2}, "wires": []},
        {"source": nb["cells"][0]["source"], "params": {"bond_length": 0.9}},
        {"source": "x = 1", "params": {"a": 1}},
    ]))
    assert out["sources"][:2] == ["%%skill vqe --uses quantum-vqe\nseed = 2",
                                  "%%skill ham --uses quantum-hamiltonian\nbond_length = 0.9"]
    assert out["sources"][2] is None and "not a %%skill cell" in out["errors"][2]
    assert out["errors"][:2] == [None, None]


def test_a_skill_cells_display_carries_the_node_bundle():
    from IPython.testing.globalipapp import get_ipython

    from llmos_jupyter._notebook.display import NODE_MIME

    from llmos_jupyter._magics import LlmosMagics

    ip = get_ipython()
    # The kernel's own magics (the test shell is shared: other tests register magics on
    # toy libraries, and %load_ext is a no-op once loaded).
    ip.register_magics(LlmosMagics(ip))
    out = ip.run_cell("%%skill rc --uses circuit-rc\nsamples = 11").result
    node = out._repr_mimebundle_()[NODE_MIME]
    assert node["node"] == "rc" and node["status"] == "completed" and node["skill"] == "circuit-rc"
    assert node["previews"]["time_constant"] == {"kind": "number", "value": 0.001, "unit": "s"}
    assert node["previews"]["voltage_data"]["kind"] == "array"
    json.dumps(node)  # JSON-safe, as a display bundle must be


def _browser_workflow() -> dict:
    # A JavaScript node between two Python ones (data-analysis reads the smoothed series).
    return {"id": "js-doc", "name": "js in a document", "nodes": [
        {"id": "ma", "position": {"x": 0, "y": 0},
         "data": {"skill": "moving-average", "params": {"values": [1, 2, 3, 4, 5, 6], "window": 3}}},
        {"id": "stats", "position": {"x": 300, "y": 0}, "data": {"skill": "data-analysis"}}],
        "edges": [{"id": "e", "source": "ma", "sourceHandle": "smoothed", "target": "stats",
                   "targetHandle": "data"}]}


class _FakeFrontEnd:
    """Answers the kernel's stdin prompts as the document's front-end would (the Web
    Worker's result, computed here in Python for the test)."""

    def __init__(self, fail: bool = False):
        self.prompts: list[dict] = []
        self.fail = fail

    def __call__(self, prompt: str) -> str:
        from llmos_jupyter._widget.browser_runtime import STDIN_PREFIX

        assert prompt.startswith(STDIN_PREFIX)
        req = json.loads(prompt[len(STDIN_PREFIX):])
        self.prompts.append(req)
        if self.fail:
            return json.dumps({"error": "RangeError: window 9 > 6 values", "line": 12})
        v, w = req["inputs"]["values"], req["inputs"]["window"]
        sm = [sum(v[i:i + w]) / w for i in range(len(v) - w + 1)]
        mean = sum(v) / len(v)
        std = (sum((x - mean) ** 2 for x in v) / (len(v) - 1)) ** 0.5
        return json.dumps({"outputs": {"smoothed": sm, "mean": mean, "std": std, "min": min(v),
                                       "max": max(v), "rms": (sum(x * x for x in v) / len(v)) ** 0.5,
                                       "count": len(v)}})


def test_browser_nodes_of_a_document_run_through_stdin(monkeypatch):
    import builtins

    text = json.dumps(_browser_workflow())
    # Without a front-end that answers, a JavaScript node is refused before anything runs.
    r = json.loads(run_workflow_json(text))
    assert r["status"] == "invalid" and "javascript" in r["message"]

    front = _FakeFrontEnd()
    monkeypatch.setattr(builtins, "input", front)
    r = json.loads(run_workflow_json(text, None, False, False, True))
    assert r["status"] == "completed", r
    assert len(front.prompts) == 1
    req = front.prompts[0]
    assert req["kind"] == "execute" and req["runtime"] == "javascript"
    assert req["source"] == "moving-average.md" and "function execute" in req["code"]
    assert r["previews"]["ma"]["smoothed"]["values"] == [2, 3, 4, 5]
    assert r["previews"]["stats"]["mean"]["value"] == 3.5  # the Python node got the JS output

    monkeypatch.setattr(builtins, "input", _FakeFrontEnd(fail=True))
    wf = _browser_workflow()
    wf["nodes"][0]["data"]["params"]["window"] = 4  # not the cached run
    r = json.loads(run_workflow_json(json.dumps(wf), None, False, False, True))
    assert r["statuses"]["ma"]["status"] == "failed"
    assert "RangeError" in r["statuses"]["ma"]["error"] and "line 12" in r["statuses"]["ma"]["error"]
    assert r["statuses"]["stats"]["status"] == "skipped"


def test_stdin_bridge_without_threads_asks_at_once():
    # Pyodide has no threads: the engine runs in the cell's thread and the runner asks then.
    from llmos_jupyter._api import default_library
    from llmos_jupyter._engine.engine import Engine
    from llmos_jupyter._widget.browser_runtime import StdinBridge
    from llmos_jupyter._workflow.model import Workflow

    front = _FakeFrontEnd()
    bridge = StdinBridge(front, threaded=False)
    result = Engine(default_library(), max_workers=1, trace=False).run(
        Workflow.from_dict(_browser_workflow()), runners=bridge.runners())
    assert result.status == "completed" and len(front.prompts) == 1
    assert result.nodes["ma"].outputs["smoothed"] == [2, 3, 4, 5]


# -- issue 19: validity, trust, comparison images ---------------------------------------------
def test_validate_workflow_json_names_every_problem():
    from llmos_jupyter._lab import validate_workflow_json

    syntax = json.loads(validate_workflow_json('{"nodes": ['))["problems"]
    assert syntax[0]["code"] == "syntax" and "JSON syntax error" in syntax[0]["message"]
    wf = json.loads(RC.read_text(encoding="utf-8"))
    assert json.loads(validate_workflow_json(json.dumps(wf)))["problems"] == []
    wf["nodes"].append({"id": "ghost", "position": {"x": 0, "y": 0}, "data": {"skill": "no-such"}})
    wf["edges"].append({"id": "bad", "source": "rc", "sourceHandle": "time_constant",
                        "target": "stats", "targetHandle": "data"})
    problems = json.loads(validate_workflow_json(json.dumps(wf)))["problems"]
    codes = {p["code"] for p in problems}
    assert {"unknown-skill", "type-mismatch"} <= codes, problems
    assert any(p["node"] == "ghost" for p in problems)


def test_skill_records_carry_trusted():
    team = llmos_home() / "team" / "skills"
    team.mkdir(parents=True)
    text = (REPO / "skills" / "circuit-rc.md").read_text(encoding="utf-8")
    (team / "team-rc.md").write_text(text.replace("skill_id: circuit-rc", "skill_id: team-rc"),
                                     encoding="utf-8")
    by_id = {s["id"]: s for s in json.loads(skills_json())["skills"]}
    assert by_id["circuit-rc"]["trusted"] is True  # a system skill
    assert by_id["team-rc"]["trusted"] is False    # the team volume is not vouched for


def test_notebook_graph_reports_what_would_stop_a_run():
    from llmos_jupyter._lab import notebook_graph_json

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%skill rc --uses circuit-rc"),
        nbformat.v4.new_code_cell("%skill bad --uses data-analysis --in data=rc.time_constant"),
        nbformat.v4.new_code_cell("%skill mine --uses defined-in-my-kernel")])
    graph = json.loads(notebook_graph_json(json.loads(nbformat.writes(nb))))
    codes = [p["code"] for p in graph["validation"]]
    assert "type-mismatch" in codes
    assert "unknown-skill" not in codes  # may be defined in the notebook's own kernel


def test_trace_outputs_keep_images_for_the_comparison():
    from llmos_jupyter._lab import _trace_outputs

    cell = nbformat.v4.new_code_cell("", metadata={"llmos": {"node": "plot"}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=\n"},
                                           metadata={"llmos": {"port": "image"}})]
    out = _trace_outputs({"cells": [cell]})
    assert out == {"plot": {"image": {"$image": "data:image/png;base64,iVBORw0KGgo="}}}
