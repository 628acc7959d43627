"""The Python ↔ TypeScript contract: committed files match the schemas, the TypeScript
is what the generator makes of them, and real payloads (a run's events, the library
kernel's replies, a Canvas' traits, a trace's metadata, browser-runtime messages) match."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import typing
from pathlib import Path

import jsonschema
import pytest
from toy_skills import ADD, FAIL, skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill
from llmos_jupyter._contract import (
    BROWSER_RUNTIMES,
    DEFINITIONS,
    EVENT_KINDS,
    LAB_REPLIES,
    RESERVED_SUBCOMMANDS,
    SCHEMA_FILE,
    bundle,
    bundle_text,
    schema,
    validate,
)

REPO = Path(__file__).resolve().parents[2]
LABEXT = REPO / "labextension"
GEN_TS = LABEXT / "src" / "contract.gen.ts"


# -- drift ----------------------------------------------------------------------------
def test_the_schema_file_is_what_the_schemas_module_writes():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == bundle_text(), (
        "contract.schema.json is stale: run python -m llmos_jupyter._contract")
    jsonschema.Draft7Validator.check_schema(bundle())
    for name, d in DEFINITIONS.items():
        assert d.get("title") == name


def _node_with_generator() -> str | None:
    node = shutil.which("node")
    if node is None or not (LABEXT / "node_modules" / "json-schema-to-typescript").is_dir():
        return None
    return node


def test_the_typescript_is_what_the_generator_makes_of_the_schema(tmp_path):
    node = _node_with_generator()
    if node is None:
        pytest.skip("node or labextension/node_modules (npm ci) missing")
    out = tmp_path / "contract.gen.ts"
    subprocess.run([node, "scripts/gen-contract.mjs", "--out", str(out)], cwd=LABEXT,
                   check=True, capture_output=True, timeout=120)
    assert out.read_text(encoding="utf-8") == GEN_TS.read_text(encoding="utf-8"), (
        "src/contract.gen.ts is stale: run npm run gen:contract in labextension/")


def test_the_generated_typescript_has_every_definition_and_constant():
    text = GEN_TS.read_text(encoding="utf-8")
    for name in DEFINITIONS:
        assert f"export type {name} " in text or f"export interface {name} " in text, name
    assert ("export const RESERVED_SUBCOMMANDS = "
            + json.dumps(list(RESERVED_SUBCOMMANDS)) + " as const;") in text


def test_the_id_grammar_is_the_python_one_in_typescript():
    from llmos_jupyter import _ids

    text = GEN_TS.read_text(encoding="utf-8")
    for kind in ("NODE", "SKILL", "EDGE", "WORKFLOW"):
        pattern, limit = getattr(_ids, f"{kind}_ID_PATTERN"), getattr(_ids, f"{kind}_ID_MAX")
        assert f"export const {kind}_ID_PATTERN = /{pattern}/;" in text
        assert f"export const {kind}_ID_MAX = {limit};" in text
    ids_ts = (LABEXT / "src" / "ids.ts").read_text(encoding="utf-8")
    assert "from './contract.gen'" in ids_ts and "_ID_PATTERN = /" not in ids_ts


def test_the_lists_the_contract_holds_are_the_ones_the_code_uses():
    from llmos_jupyter._engine.events import EventKind
    from llmos_jupyter._notebook import cells
    from llmos_jupyter._skills.model import BROWSER_RUNTIMES as SKILL_BROWSER_RUNTIMES

    assert tuple(cells.RESERVED_SUBCOMMANDS) == RESERVED_SUBCOMMANDS
    assert typing.get_args(EventKind) == EVENT_KINDS
    assert tuple(SKILL_BROWSER_RUNTIMES) == BROWSER_RUNTIMES


def test_validation_refuses_what_the_browser_would_misread():
    with pytest.raises(jsonschema.ValidationError):
        validate("EngineEvent", {"kind": "node_progress", "run_id": "r", "time": 1.0,
                                 "node_id": "m", "done": 1})  # total missing
    with pytest.raises(jsonschema.ValidationError):
        validate("StatusInfo", {"status": "done"})
    for bad in ("a.b", "a\n", "", "x" * 129):
        with pytest.raises(jsonschema.ValidationError):
            validate("NodeId", bad)
    validate("NodeId", "ham_1")
    with pytest.raises(KeyError, match="no contract definition"):
        schema("Nope")


# -- real payloads ----------------------------------------------------------------------
SQUARE = skill_md("square", """
    def execute(inputs):
        return {"y": inputs["x"] ** 2}
    """, inputs="[{name: x, type: number}]", outputs="[{name: y, type: number}]")


def test_a_real_runs_events_and_trace_match(tmp_path):
    (tmp_path / "square.workflow.json").write_text(json.dumps({
        "id": "square", "nodes": [{"id": "sq", "data": {"skill": "square", "params": {}}}],
        "edges": [], "inputs": {"x": "sq.x"}, "outputs": {"squared": "sq.y"}}))
    lib = SkillLibrary(skills=[parse_skill(t) for t in (ADD, FAIL, SQUARE)])
    wf = Workflow(id="contract", name="Contract")
    wf.add_node("condition", id="cond", params={"value": 1, "expression": "value > 5"})
    wf.add_node("add", id="big")
    wf.connect("cond", "true", "big", "a")
    wf.add_node("map", id="m", params={"items": [1, 2, 3], "workflow": "square.workflow.json",
                                       "item_input": "x", "max_parallel": 1})
    wf.add_node("fail", id="f", params={"x": 1})
    wf.add_node("add", id="after")
    wf.connect("f", "y", "after", "a")
    wf.path = tmp_path / "contract.workflow.json"
    wf.save()
    events = []
    engine = Engine(lib, max_workers=1, trace_dir=tmp_path / "traces")
    try:
        result = engine.run(wf, on_event=lambda e: events.append(e.to_dict()))
    finally:
        engine.close()
    kinds = {e["kind"] for e in events}
    assert kinds >= {"run_started", "node_started", "node_progress", "node_finished",
                     "node_failed", "node_skipped", "run_finished"}
    for e in events:
        validate("EngineEvent", e)
    skipped = {e["node_id"]: e["error"] for e in events if e["kind"] == "node_skipped"}
    assert skipped["big"] == "branch not taken"
    progress = [(e["done"], e["total"]) for e in events if e["kind"] == "node_progress"]
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)

    import nbformat

    nb = nbformat.read(result.trace, as_version=4)
    validate("TraceNotebookMetadata", json.loads(json.dumps(nb.metadata)))


@pytest.fixture
def rc_text():
    return (REPO / "notebooks" / "rc-circuit.workflow.json").read_text(encoding="utf-8")


def test_every_library_kernel_function_has_a_reply_schema():
    from llmos_jupyter import _lab

    functions = {n for n in _lab.__all__ if callable(getattr(_lab, n))}
    assert functions == set(LAB_REPLIES), (
        "a _lab function was added or removed: give its reply a schema in "
        "_contract/schemas.py and list it in LAB_REPLIES")
    assert all(d is None or d in DEFINITIONS for d in LAB_REPLIES.values())


def test_real_library_kernel_replies_match(rc_text, capsys, tmp_path):
    from llmos_jupyter import _lab

    validate("SkillsReply", json.loads(_lab.skills_json()))
    validate("ValidateReply", json.loads(_lab.validate_workflow_json(rc_text)))
    validate("ValidateReply", json.loads(_lab.validate_workflow_json("{")))
    bad = json.loads(rc_text)
    bad["edges"][0]["targetHandle"] = "nope"
    problems = json.loads(_lab.validate_workflow_json(json.dumps(bad)))
    assert problems["problems"]
    validate("ValidateReply", problems)

    first = json.loads(_lab.run_workflow_json(rc_text, events=True))
    validate("RunReply", first)
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(ln[len(_lab.EVENT_PREFIX):]) for ln in lines
              if ln.startswith(_lab.EVENT_PREFIX)]
    assert events
    for e in events:
        validate("EngineEvent", e)
    validate("RunReply", json.loads(_lab.run_workflow_json(rc_text, node="nope")))
    second = json.loads(_lab.rerun_trace_json(first["trace"]))
    validate("RunReply", second)

    runs = json.loads(_lab.runs_json())
    assert len(runs["runs"]) == 2
    validate("RunsReply", runs)
    validate("CompareReply", json.loads(_lab.compare_runs_json(first["trace"], second["trace"])))
    read = json.loads(_lab.read_trace_json(first["trace"]))
    validate("ReadTraceReply", read)
    validate("TraceNotebookMetadata", read["content"]["metadata"])

    nb = {"metadata": {}, "cells": [
        {"cell_type": "code", "id": "h", "source": "%skill ham --uses quantum-hamiltonian",
         "metadata": {}},
        {"cell_type": "code", "id": "v", "metadata": {},
         "source": "%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian\nseed = 1"},
        {"cell_type": "code", "id": "w", "metadata": {},
         "source": "%%skill vqe --uses quantum-vqe\nseed = 2"},
    ]}
    graph = json.loads(_lab.notebook_graph_json(nb))
    assert graph["problems"]
    validate("NotebookGraphReply", graph)
    validate("NotebookGraphReply", json.loads(_lab.notebook_graph_json({"cells": 5})))
    validate("RewriteCellsReply", json.loads(_lab.rewrite_cells_json([
        {"source": nb["cells"][1]["source"], "params": {"seed": 2}, "wires": []},
        {"source": "x = 1", "params": {"a": 1}}])))
    validate("LlmosHomeReply", json.loads(_lab.set_llmos_home(str(tmp_path / "home"))))


def test_the_canvas_synced_traits_are_the_contracts():
    anywidget = pytest.importorskip("anywidget")
    from llmos_jupyter._widget.canvas import Canvas

    ours = set(Canvas.class_trait_names(sync=True)) - set(
        anywidget.AnyWidget.class_trait_names(sync=True))
    assert ours == set(DEFINITIONS["CanvasState"]["properties"]), (
        "a Canvas trait was added or removed: describe it in _contract/schemas.py CanvasState")


def test_a_real_canvas_state_matches(rc_text):
    pytest.importorskip("anywidget")
    from llmos_jupyter._widget.canvas import Canvas, FrontendMissing

    try:
        canvas = Canvas(Workflow.from_json(rc_text))
    except FrontendMissing:
        pytest.skip("the canvas front-end is not built")
    handle = canvas.run(wait=True)
    assert handle is not None and handle.result().status == "completed"
    props = DEFINITIONS["CanvasState"]["properties"]
    state = json.loads(json.dumps({k: getattr(canvas, k) for k in props}))
    assert state["statuses"] and state["previews"] and state["skills"]
    validate("CanvasState", state)
    canvas.add_node("no-such-skill", id="ghost")
    validate("CanvasState", json.loads(json.dumps({k: getattr(canvas, k) for k in props})))
    assert canvas.errors
    validate("CanvasAction", {"action": "run-node", "node": "ghost"})


def test_browser_runtime_messages_match():
    from llmos_jupyter._widget.browser_runtime import BrowserRunner

    skill = parse_skill("---\nskill_id: js-double\nruntime: javascript\n"
                        "inputs: [{name: x, type: number}]\noutputs: [{name: y, type: number}]\n"
                        "---\n\n```javascript\nfunction execute(inputs) { return {y: 2 * inputs.x}; }\n```\n")
    sent = []
    runner = BrowserRunner(sent.append, default_timeout=0.2)
    cancel = threading.Event()

    def answer():
        while not runner.pending:
            threading.Event().wait(0.01)
        reply = {"action": "result", "request": runner.pending[0], "outputs": {"y": 4}}
        validate("ResultMessage", reply)
        runner.answer(reply)

    t = threading.Thread(target=answer)
    t.start()
    assert runner(skill, {"x": 2}, cancel=cancel) == {"y": 4}
    t.join()
    from llmos_jupyter._widget.browser_runtime import BrowserTimeout

    with pytest.raises(BrowserTimeout):
        runner(skill, {"x": 3})
    assert [m["kind"] for m in sent] == ["execute", "execute", "cancel"]
    for m in sent:
        validate("ExecuteRequest" if m["kind"] == "execute" else "CancelRequest", m)
    validate("ResultMessage", {"action": "result", "request": "r", "error": "TypeError: x",
                               "line": 3, "stack": None})


def test_a_real_stats_report_matches(toy_library, tmp_path):
    from llmos_jupyter._stats import stats_report

    engine = Engine(toy_library, max_workers=1, trace_dir=tmp_path)
    wf = Workflow(id="stats", name="Stats")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("fail", id="f", params={"x": 3})
    wf.add_node("add", id="after")
    wf.connect("f", "y", "after", "a")
    try:
        engine.run(wf)
        engine.run(wf)  # `a` from the cache
    finally:
        engine.close()
    report = json.loads(json.dumps(stats_report(folder=tmp_path, workflow="stats")))
    assert report["runs"] == 2 and report["failures"] and report["bottlenecks"]
    validate("StatsReport", report)
    validate("StatsReport", json.loads(json.dumps(stats_report(folder=tmp_path / "none"))))
