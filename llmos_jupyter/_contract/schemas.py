"""The JSON Schemas of everything that crosses Python ↔ TypeScript.

One dict, :data:`DEFINITIONS`, name → JSON Schema (draft 7). The TypeScript types of
``labextension/src/contract.gen.ts`` are generated from it (``npm run build`` runs
``scripts/gen-contract.mjs`` over ``contract.schema.json``, which
``python -m llmos_jupyter._contract`` writes from this module); ``tests/_contract``
fails when the committed files drift from this module or real payloads stop matching.

Groups (each definition's ``title`` is its TypeScript name):

* ids: ``NodeId``, ``SkillId``, ``EdgeId``, ``WorkflowId`` (from :mod:`llmos_jupyter._ids`);
* the cell grammar: ``ReservedSubcommand`` (``%skill list`` … are not node ids);
* workflows and skills: ``Port``, ``SkillSummary``, ``WfNode``, ``WfEdge``,
  ``WorkflowJSON``, ``Problem``, ``Preview``, ``StatusInfo``;
* engine events (``Event.to_dict``): ``EngineEvent``, one variant per ``EventKind``;
* the Canvas widget: ``CanvasState`` (its synced traits) and ``CanvasAction`` (messages
  from the browser);
* the browser runtime (``_widget/browser_runtime.py`` ⇄ ``runtime/protocol.ts``):
  ``ExecuteRequest``, ``CancelRequest``, ``WorkerAnswer``, ``ResultMessage``;
* trace metadata (:mod:`llmos_jupyter._trace.record`): ``TraceRecord``, ``TraceNodeRecord``;
* the library kernel's replies (``llmos_jupyter/_lab.py``): ``*Reply``;
* run analytics (``llmos_jupyter._stats.stats_report``): ``StatsReport``.

Definitions with ``x-ts-const`` also become a TypeScript ``const`` (the enum's values as
a readonly tuple, or an id's ``RegExp`` and maximum length), so lists such as the
reserved subcommands exist once.
"""

from __future__ import annotations

from typing import Any

from llmos_jupyter import _ids  # the grammar's one home; only its constants are read

__all__ = ["BROWSER_RUNTIMES", "DEFINITIONS", "EVENT_KINDS", "LAB_REPLIES", "NODE_STATUSES",
           "RESERVED_SUBCOMMANDS", "RUN_STATUSES", "SCHEMA_ID"]

SCHEMA_ID = "https://llmos-jupyter.invalid/contract.schema.json"

RESERVED_SUBCOMMANDS = ("list", "show", "new", "save", "evolve", "history", "reload")
"""``%skill`` subcommands: these words are never node ids on a ``%%skill`` line."""
EVENT_KINDS = ("run_started", "node_started", "node_progress", "node_log", "node_finished",
               "node_failed", "node_skipped", "run_finished")
"""Engine event kinds (``llmos_jupyter._engine.events.EventKind``)."""
NODE_STATUSES = ("idle", "queued", "running", "completed", "cached", "failed", "skipped")
"""A node's status on a canvas (``idle`` before any run; results hold the last four)."""
RUN_STATUSES = ("completed", "failed", "cancelled")
BROWSER_RUNTIMES = ("javascript", "threejs")

LAB_REPLIES: dict[str, str | None] = {
    "set_llmos_home": "LlmosHomeReply",
    "skills_json": "SkillsReply",
    "validate_workflow_json": "ValidateReply",
    "runs_json": "RunsReply",
    "read_trace_json": "ReadTraceReply",
    "run_workflow_json": "RunReply",
    "rerun_trace_json": "RunReply",
    "compare_runs_json": "CompareReply",
    "notebook_graph_json": "NotebookGraphReply",
    "rewrite_cells_json": "RewriteCellsReply",
    "skill_record": "SkillSummary",
    "export_notebook_json": None,  # an nbformat v4 notebook: nbformat's own schema
    "agent_system_graph_json": "AgentGraphReply",
    "run_agent_system_json": "AgentRunReply",
    "arun_agent_system_json": "AgentRunReply",
    "mcp_tools_json": "McpToolsReply",
}
"""Each library-kernel function of ``llmos_jupyter._lab`` → the definition of its reply
(its events, printed as ``EVENT_PREFIX`` lines, are ``EngineEvent``/``CancellingNotice``)."""

_ANY: dict[str, Any] = {}
_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object", "additionalProperties": True}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/definitions/{name}"}


def _null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _map(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values}


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _obj(title: str, props: dict[str, Any], required: tuple[str, ...] = (), *,
         extra: bool = False, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"title": title, "type": "object", "properties": props,
                           "required": list(required), "additionalProperties": extra}
    if description:
        out["description"] = description
    return out


def _enum(title: str, values: tuple[str, ...], const: str | None = None,
          description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"title": title, "type": "string", "enum": list(values)}
    if const:
        out["x-ts-const"] = const
    if description:
        out["description"] = description
    return out


def _id(title: str, pattern: str, limit: int, const: str, what: str) -> dict[str, Any]:
    # "not newline": Python's re.search lets "$" match before a final "\n" ("a\n" would
    # pass the pattern there), JavaScript's does not; the grammar has no newline at all.
    return {"title": title, "type": "string", "pattern": pattern, "minLength": 1,
            "maxLength": limit, "not": {"pattern": "\n"}, "x-ts-const": const,
            "description": f"{'An' if what[0] in 'aeiou' else 'A'} {what} id (llmos_jupyter._ids)."}


def _ids_defs() -> dict[str, Any]:
    return {
        "NodeId": _id("NodeId", _ids.NODE_ID_PATTERN, _ids.NODE_ID_MAX, "NODE_ID", "node"),
        "SkillId": _id("SkillId", _ids.SKILL_ID_PATTERN, _ids.SKILL_ID_MAX, "SKILL_ID", "skill"),
        "EdgeId": _id("EdgeId", _ids.EDGE_ID_PATTERN, _ids.EDGE_ID_MAX, "EDGE_ID", "edge"),
        "WorkflowId": _id("WorkflowId", _ids.WORKFLOW_ID_PATTERN, _ids.WORKFLOW_ID_MAX,
                          "WORKFLOW_ID", "workflow"),
    }


def _workflow_defs() -> dict[str, Any]:
    port = _obj("Port", {
        "name": _STR, "type": _STR, "required": _BOOL, "default": _ANY, "description": _STR,
        "unit": _STR, "enum": _list(_ANY), "minimum": _NUM, "maximum": _NUM, "secret": _BOOL,
    }, ("name", "type"), extra=True, description="A skill port as Port.to_dict() writes it "
                                                 "(fields a skill file adds are kept).")
    skill = _obj("SkillSummary", {
        "id": _STR, "name": _STR, "description": _null(_STR), "category": _STR,
        "tags": _list(_STR), "runtime": _STR, "executable": _BOOL,
        "volume": _null(_STR), "overrides": _list(_null(_STR)),
        "inputs": _list(_ref("Port")), "outputs": _list(_ref("Port")),
        "trusted": {"type": "boolean", "description": "False when the trust policy does not "
                                                       "vouch for the skill (an untrusted badge)."},
    }, ("id", "name", "category", "inputs", "outputs"),
        description="A skill of the live library (SkillLibrary.summary + trusted).")
    node = _obj("WfNode", {
        "id": _STR, "type": _STR,
        "position": _obj("WfPosition", {"x": _NUM, "y": _NUM}, ("x", "y"), extra=True),
        "data": _obj("WfNodeData", {"skill": _STR, "params": _OBJ}, ("skill",), extra=True),
    }, ("id", "position", "data"), extra=True,
        description="A workflow node in React Flow's field names (unknown fields are kept).")
    edge = _obj("WfEdge", {"id": _STR, "source": _STR, "sourceHandle": _STR, "target": _STR,
                           "targetHandle": _STR},
                ("id", "source", "sourceHandle", "target", "targetHandle"), extra=True)
    workflow = _obj("WorkflowJSON", {
        "id": _STR, "name": _STR, "nodes": _list(_ref("WfNode")), "edges": _list(_ref("WfEdge")),
    }, ("nodes", "edges"), extra=True, description="Workflow.to_dict(): a *.workflow.json file.")
    problem = _obj("Problem", {"code": _STR, "message": _STR, "node": _null(_STR),
                               "port": _null(_STR), "edge": _null(_STR)},
                   ("code", "message"), description="A validation problem (WorkflowProblem).")
    status = _obj("StatusInfo", {
        "status": _ref("NodeStatus"), "elapsed_ms": _NUM, "error": _STR,
        "done": _INT, "total": _INT,
    }, ("status",), description="A node's status on a canvas; done/total while a map or "
                                "loop node runs.")
    previews = [
        _obj("NumberPreview", {"kind": {"const": "number"}, "value": _NUM, "unit": _STR},
             ("kind", "value")),
        _obj("BooleanPreview", {"kind": {"const": "boolean"}, "value": _BOOL}, ("kind", "value")),
        _obj("TextPreview", {"kind": {"const": "text"}, "value": _STR, "truncated": _BOOL},
             ("kind", "value")),
        _obj("ArrayPreview", {"kind": {"const": "array"}, "length": _INT, "values": _list(_NUM),
                              "numeric": _BOOL, "text": _STR},
             ("kind", "length", "values", "numeric")),
        _obj("ImagePreview", {"kind": {"const": "image"}, "src": _STR}, ("kind", "src")),
        _obj("ObjectPreview", {"kind": {"const": "object"}, "text": _STR, "keys": _list(_STR)},
             ("kind", "text")),
        _obj("ScenePreview", {"kind": {"const": "scene"},
                              "format": {"enum": ["threejs-json", "threejs-scene"]},
                              # three.js JSON, walked structurally by ScenePreview.tsx
                              "scene": {"tsType": "any"}}, ("kind", "format", "scene")),
        _obj("NetlistPreview", {"kind": {"const": "netlist"}, "text": _STR, "lines": _INT,
                                "truncated": _BOOL}, ("kind", "text", "lines")),
        _obj("OtherPreview", {"kind": {"const": "other"}, "text": _STR}, ("kind", "text")),
    ]
    out = {"Port": port, "PortType": _enum("PortType", ("string", "number", "integer", "boolean",
                                                        "array", "object", "image", "any")),
           "SkillSummary": skill, "WfNode": node, "WfEdge": edge, "WorkflowJSON": workflow,
           "Problem": problem,
           "NodeStatus": _enum("NodeStatus", NODE_STATUSES, "NODE_STATUSES"),
           "RunStatus": _enum("RunStatus", RUN_STATUSES, "RUN_STATUSES"),
           "StatusInfo": status}
    for p in previews:
        out[p["title"]] = p
    out["Preview"] = {"title": "Preview", "description": "A small JSON-safe form of one output "
                      "(llmos_jupyter._skills.preview).",
                      "oneOf": [_ref(p["title"]) for p in previews]}
    out["Previews"] = {"title": "Previews", "description": "node → port → preview",
                       **_map(_map(_ref("Preview")))}
    return out


_EVENT_FIELDS: dict[str, Any] = {
    "run_id": _STR, "time": {"type": "number", "description": "Unix seconds"},
    "node_id": _STR, "skill_id": _STR, "status": _STR, "duration_ms": _NUM, "error": _STR,
    "trace": _STR, "nodes": _list(_STR), "done": {"type": "integer", "minimum": 0},
    "total": {"type": "integer", "minimum": 0},
    "text": {"type": "string", "description": "node_log: new stdout/stderr text"},
    "dashboard": {"type": "string", "description": "run_started on the dask executor: the "
                  "cluster's dashboard URL (when it serves one)"},
}
_EVENT_REQUIRED = {
    "run_started": (),
    "node_started": ("node_id",),
    "node_progress": ("node_id", "done", "total"),
    "node_log": ("node_id", "text"),
    "node_finished": ("node_id", "status"),
    "node_failed": ("node_id", "error"),
    "node_skipped": ("node_id", "error"),
    "run_finished": ("status",),
}
_EVENT_DOCS = {
    "run_started": "nodes = the node ids that will run (all start queued; omitted when none); "
                   "dashboard = the Dask dashboard URL on the dask executor",
    "node_started": "a node begins executing (not sent for cached or skipped nodes)",
    "node_progress": "a running node's progress: done of total (a map's items, a loop's "
                     "iterations of its maximum)",
    "node_log": "text = new stdout/stderr of a running node (processes/dask executors, at "
                "most every 50 ms per node); the whole log stays in the run result",
    "node_finished": "status completed (executed) or cached",
    "node_failed": "error = 'ExceptionType: message'",
    "node_skipped": "error = why: an upstream node failed, the run was cancelled, or "
                    "'branch not taken'",
    "run_finished": "status completed | failed | cancelled; trace = the notebook's path",
}


def _event_defs() -> dict[str, Any]:
    out: dict[str, Any] = {"EventKind": _enum("EventKind", EVENT_KINDS, "EVENT_KINDS")}
    variants = []
    for kind in EVENT_KINDS:
        name = "".join(w.title() for w in kind.split("_")) + "Event"
        props = {"kind": {"const": kind}, **_EVENT_FIELDS}
        if kind == "node_finished":
            props["status"] = {"enum": ["completed", "cached"]}
        elif kind == "run_finished":
            props["status"] = _ref("RunStatus")
        out[name] = _obj(name, props, ("kind", "run_id", "time", *_EVENT_REQUIRED[kind]),
                         description=f"{kind}: {_EVENT_DOCS[kind]}")
        variants.append(_ref(name))
    out["EngineEvent"] = {"title": "EngineEvent", "oneOf": variants,
                          "description": "Event.to_dict(): one engine event (outputs left out)."}
    out["CancellingNotice"] = _obj("CancellingNotice", {"kind": {"const": "cancelling"}},
                                   ("kind",), description="Printed by the library kernel when "
                                   "an interrupt turned into a cancel.")
    return out


def _canvas_defs() -> dict[str, Any]:
    state = _obj("CanvasState", {
        "workflow": _ref("WorkflowJSON"),
        "skills": _list(_ref("SkillSummary")),
        "statuses": _map(_ref("StatusInfo")),
        "previews": _ref("Previews"),
        "errors": _list(_ref("Problem")),
        "message": _STR,
        "running": _BOOL,
        "dashboard": {"type": "string", "description": "The Dask dashboard's URL, or ''."},
        "logs": _map(_ref("NodeLog")),
        "node_ports": _map(_ref("NodePorts")),
        "height": _INT,
        "layout_direction": {"enum": ["LR", "TB"]},
        "mcp_servers": _list(_ref("McpServerInfo")),
        "mcp_tools": {**_map(_ref("McpToolsState")),
                      "description": "Configured MCP server name → its tools as palette "
                                     "entries, once the palette asked (action mcp-tools)."},
    }, ("workflow", "skills", "statuses", "previews", "errors", "message", "running",
        "dashboard", "height", "layout_direction"),
        description="The Canvas widget's synced traits (llmos_jupyter._widget.canvas).")
    node_log = _obj("NodeLog", {
        "lines": _list(_STR), "open": _BOOL,
        "total": {"type": "integer", "minimum": 0, "description": "lines seen (some dropped)"},
    }, ("lines", "open", "total"),
        description="A node's last lines of output (at most 200; the last one still open when "
                    "open): llmos_jupyter._widget.node_log, src/nodeLog.ts.")
    action = _obj("CanvasAction", {
        "action": {"enum": ["run", "run-node", "run-downstream", "cancel", "mcp-tools"]},
        "node": _STR,
        "server": _STR,
        "refresh": _BOOL,
    }, ("action",), description="A custom message from the canvas front-end (run-node and "
                                "run-downstream name their node; mcp-tools names a configured "
                                "MCP server whose tools the palette lists).")
    ports = _obj("NodePorts", {
        "skill": {"type": "string", "description": "the node's skill these ports are for"},
        "inputs": _list(_ref("Port")), "outputs": _list(_ref("Port")),
        "interface": _obj("NodeInterface", {"inputs": _list(_ref("Port")),
                                            "outputs": _list(_ref("Port"))},
                          ("inputs", "outputs")),
    }, ("skill",), description="A control node's ports declared from its parameters, replacing its "
                   "skill's (switch cases, router routes, a subworkflow's interface), or the "
                   "interface of the file a map/loop runs: llmos_jupyter._widget.node_ports.")
    return {"CanvasState": state, "CanvasAction": action, "NodeLog": node_log,
            "NodePorts": ports, **_mcp_palette_defs()}


def _mcp_palette_defs() -> dict[str, Any]:
    """The palette's MCP group (llmos_jupyter._mcp.palette): every text field comes from
    an MCP server, untrusted, shown as text."""
    server = _obj("McpServerInfo", {
        "name": _STR, "label": {"type": "string", "description": "command line or URL"},
        "kind": {"enum": ["stdio", "http", ""]}, "error": _null(_STR),
    }, ("name", "label", "kind", "error"),
        description="A [mcp.servers.NAME] entry of config.toml (not contacted; error: why "
                    "it is unusable).")
    arg = _obj("McpToolArg", {
        "name": _STR, "type": _STR, "required": _BOOL, "description": _STR,
        "default": _ANY, "enum": _list(_STR),
    }, ("name", "type", "required", "description"),
        description="One property of a tool's input schema, for display.")
    tool = _obj("McpPaletteTool", {
        "name": _STR, "title": _STR, "description": _STR,
        "arguments": _list(_ref("McpToolArg")),
        "more_arguments": {"type": "integer", "minimum": 0},
        "params": _obj("McpToolParams", {"server": _STR, "tool": _STR, "arguments": _OBJ},
                       ("server", "tool", "arguments"),
                       description="The mcp-tool node's parameters (arguments: the schema's "
                                   "defaults)."),
    }, ("name", "title", "description", "arguments", "more_arguments", "params"),
        description="A tool of a configured MCP server as a palette entry.")
    state = _obj("McpToolsState", {
        "status": {"enum": ["loading", "ok", "error"]},
        "tools": _list(_ref("McpPaletteTool")), "error": _null(_STR),
    }, ("status", "tools", "error"))
    reply = _obj("McpToolsReply", {
        "servers": _list(_ref("McpServerInfo")), "server": _null(_STR),
        "status": {"enum": ["ok", "error", None]},
        "tools": _list(_ref("McpPaletteTool")), "error": _null(_STR),
    }, ("servers", "server", "status", "tools", "error"), description="mcp_tools_json")
    return {"McpServerInfo": server, "McpToolArg": arg, "McpPaletteTool": tool,
            "McpToolsState": state, "McpToolsReply": reply}


def _runtime_defs() -> dict[str, Any]:
    execute = _obj("ExecuteRequest", {
        "kind": {"const": "execute"}, "request": _STR, "skill": _STR,
        "runtime": _ref("BrowserRuntime"), "code": _STR,
        "code_line": {"type": "integer", "minimum": 1,
                      "description": "The skill file's line of the code's first line."},
        "source": {"type": "string", "description": "The skill file's name (name.md)."},
        "inputs": _OBJ,
    }, ("kind", "request", "skill", "runtime", "code", "code_line", "source", "inputs"),
        description="kernel → browser: run one javascript/threejs node in a Web Worker.")
    cancel = _obj("CancelRequest", {"kind": {"const": "cancel"}, "request": _STR,
                                    "reason": {"enum": ["cancel", "timeout"]}},
                  ("kind", "request"), description="kernel → browser: stop that worker.")
    ok = _obj("WorkerOutputs", {"outputs": _OBJ}, ("outputs",))
    err = _obj("WorkerError", {"error": _STR, "line": _null(_INT), "stack": _null(_STR)},
               ("error", "line", "stack"))
    answer = {"title": "WorkerAnswer", "oneOf": [_ref("WorkerOutputs"), _ref("WorkerError")],
              "description": "A worker's answer: outputs, or the error and its skill-file line."}
    result_ok = _obj("ResultOutputs", {"action": {"const": "result"}, "request": _STR,
                                       "outputs": _OBJ}, ("action", "request", "outputs"))
    result_err = _obj("ResultError", {"action": {"const": "result"}, "request": _STR,
                                      "error": _STR, "line": _null(_INT), "stack": _null(_STR)},
                      ("action", "request", "error", "line", "stack"))
    result = {"title": "ResultMessage", "oneOf": [_ref("ResultOutputs"), _ref("ResultError")],
              "description": "browser → kernel: the answer to one ExecuteRequest."}
    return {"BrowserRuntime": _enum("BrowserRuntime", BROWSER_RUNTIMES, "BROWSER_RUNTIMES"),
            "ExecuteRequest": execute, "CancelRequest": cancel, "WorkerOutputs": ok,
            "WorkerError": err, "WorkerAnswer": answer, "ResultOutputs": result_ok,
            "ResultError": result_err, "ResultMessage": result}


def _trace_defs() -> dict[str, Any]:
    node = _obj("TraceNodeRecord", {
        "skill": _null(_STR), "version": _ANY, "code_hash": _null(_STR),
        "status": _ref("NodeStatus"), "duration_ms": _NUM, "started_at": _null(_STR),
        "params": _OBJ, "wired": _map(_STR), "error": _null(_STR), "cache_key": _null(_STR),
        "attempts": _INT, "subruns": _list(_OBJ), "usage": _OBJ, "cost_usd": _NUM,
    }, ("skill", "status", "duration_ms", "params", "wired", "error"),
        description="One node of a trace record; wired maps a port to 'node.port'; attempts "
                    "(a retry policy), subruns (a control node's nested runs), usage and "
                    "cost_usd (an LLM node) only when they apply.")
    record = _obj("TraceRecord", {
        "run_id": _STR, "workflow": _ref("WorkflowJSON"), "workflow_path": _null(_STR),
        "overrides": _map(_OBJ), "status": _ref("RunStatus"), "started_at": _null(_STR),
        "duration_ms": _NUM, "nodes": _map(_ref("TraceNodeRecord")),
        "versions": _obj("TraceVersions", {"llmos_jupyter": _STR, "python": _STR,
                                           "platform": _STR}, extra=True),
        "trigger": _OBJ,
    }, ("run_id", "workflow", "status", "started_at", "duration_ms", "nodes"),
        description="A trace notebook's metadata.llmos.trace (llmos_jupyter._trace.record).")
    meta = _obj("TraceNotebookMetadata", {
        "llmos": _obj("TraceNotebookLlmos", {"trace": _ref("TraceRecord")}, ("trace",),
                      extra=True),
    }, ("llmos",), extra=True)
    return {"TraceNodeRecord": node, "TraceRecord": record, "TraceNotebookMetadata": meta}


def _lab_defs() -> dict[str, Any]:
    run_info = _obj("RunInfo", {
        "path": _STR, "name": _STR, "run_id": _null(_STR), "workflow": _null(_STR),
        "workflow_id": _null(_STR), "status": _null(_STR), "started_at": _null(_STR),
        "duration_ms": _null(_NUM),
        "nodes": _map(_STR), "params": _map(_OBJ), "overrides": _OBJ,
    }, ("path", "name"), description="One trace notebook in the run history.")
    brief = _obj("RunBrief", {"path": _STR, "run_id": _null(_STR), "status": _null(_STR),
                              "workflow": _null(_STR), "started_at": _null(_STR),
                              "duration_ms": _null(_NUM)}, ("path",))
    row = _obj("CompareRow", {"node": _STR, "kind": {"enum": ["status", "param", "output"]},
                              "name": _STR, "a": _ANY, "b": _ANY, "same": _BOOL},
               ("node", "kind", "name", "a", "b", "same"))
    graph_problem = _obj("NotebookProblem", {"cell": _null(_STR), "node": _null(_STR),
                                             "message": _STR}, ("cell", "node", "message"))
    return {
        "LlmosHomeReply": _obj("LlmosHomeReply", {"llmos_home": _STR}, ("llmos_home",),
                               description="set_llmos_home"),
        "SkillsReply": _obj("SkillsReply", {"skills": _list(_ref("SkillSummary")),
                                            "errors": _list(_STR)}, ("skills", "errors"),
                            description="skills_json"),
        "ValidateReply": _obj("ValidateReply", {"problems": _list(_ref("Problem")),
                                                "node_ports": _map(_ref("NodePorts"))},
                              ("problems",), description="validate_workflow_json"),
        "RunInfo": run_info,
        "RunsReply": _obj("RunsReply", {"folder": _STR, "runs": _list(_ref("RunInfo"))},
                          ("folder", "runs"), description="runs_json"),
        "ReadTraceReply": _obj("ReadTraceReply", {"relative": _null(_STR), "name": _STR,
                                                  "content": _OBJ},
                               ("relative", "name", "content"), description="read_trace_json"),
        "RunReply": _obj("RunReply", {
            "status": {"anyOf": [_ref("RunStatus"), {"const": "invalid"}]},
            "message": _STR, "statuses": _map(_ref("StatusInfo")), "previews": _ref("Previews"),
            "trace": _null(_STR), "run_id": _STR,
            "dashboard": _null({"type": "string", "description": "The Dask dashboard's URL."}),
            "logs": {**_map(_STR), "description": "Each finished node's output (NodeResult.log, "
                     "its end when long), replacing the live node_log lines."},
        }, ("status", "message", "statuses"),
            description="run_workflow_json / rerun_trace_json (status invalid: nothing ran)."),
        "RunBrief": brief,
        "CompareRow": row,
        "CompareReply": _obj("CompareReply", {"a": _ref("RunBrief"), "b": _ref("RunBrief"),
                                              "rows": _list(_ref("CompareRow"))},
                             ("a", "b", "rows"), description="compare_runs_json"),
        "NotebookProblem": graph_problem,
        "NotebookGraphReply": _obj("NotebookGraphReply", {
            "workflow": _ref("WorkflowJSON"), "cells": _map(_STR),
            "problems": _list(_ref("NotebookProblem")),
            "expressions": _map(_map(_STR)),
            "validation": _list(_ref("Problem")),
        }, ("workflow", "cells", "problems", "expressions"), description="notebook_graph_json"),
        "RewriteCellsReply": _obj("RewriteCellsReply", {"sources": _list(_null(_STR)),
                                                        "errors": _list(_null(_STR))},
                                  ("sources", "errors"), description="rewrite_cells_json"),
        **_agent_defs(),
    }


def _agent_defs() -> dict[str, Any]:
    """Agent System documents (issue 18 §5): llmos_jupyter._lab's agent functions."""
    problem = _obj("AgentProblem", {
        "where": _STR, "code": _STR, "message": _STR,
        "severity": {"enum": ["error", "warning"]},
        "line": _null({"type": "integer", "minimum": 1,
                       "description": "the system file's line (graph.problem_line)"}),
    }, ("where", "code", "message", "severity", "line"),
        description="A problem of `llmos agents check` with its line (config.Problem).")
    node = _obj("AgentGraphNode", {
        "id": _STR, "type": {"enum": ["scope", "actor"]}, "parentId": _STR,
        "extent": {"const": "parent"},
        "position": _obj("AgentPosition", {"x": _NUM, "y": _NUM}, ("x", "y")),
        "style": _obj("AgentBoxSize", {"width": _NUM, "height": _NUM}, ("width", "height")),
        "data": _OBJ,
    }, ("id", "type", "position", "data"),
        description="A scope group or actor node (llmos_jupyter._actors.graph.system_graph).")
    edge = _obj("AgentGraphEdge", {"id": _STR, "source": _STR, "target": _STR, "label": _STR},
                ("id", "source", "target", "label"))
    graph = _obj("AgentGraphReply", {
        "name": _null(_STR), "description": _null(_STR), "timeout_s": _null(_NUM),
        "graph": _obj("AgentGraph", {"nodes": _list(_ref("AgentGraphNode")),
                                     "edges": _list(_ref("AgentGraphEdge"))},
                      ("nodes", "edges")),
        "problems": _list(_ref("AgentProblem")), "valid": _BOOL,
    }, ("name", "graph", "problems", "valid"), description="agent_system_graph_json")
    run = _obj("AgentRunReply", {
        "status": {"enum": ["exited", "failed", "timeout", "interrupted", "idle", "invalid"]},
        "message": _STR, "result": _ANY, "error": _null(_STR),
        "messages": _list(_OBJ), "messages_dropped": _INT, "actors": _map(_OBJ),
        "trace": _null(_STR), "name": _STR, "duration_s": _NUM,
        "problems": _list(_ref("AgentProblem")),
    }, ("status", "message", "messages", "actors"),
        description="run_agent_system_json / arun_agent_system_json: `llmos agents run "
                    "--json`'s outcome (status invalid: nothing ran, see problems).")
    message = _obj("AgentMessageEvent", {
        "kind": {"const": "agent-message"}, "id": _STR, "type": _STR, "sender": _STR,
        "receiver": _STR, "scope": _STR, "status": _STR, "reply_to": _null(_STR),
        "payload_preview": _STR,
    }, ("kind", "id", "type", "sender", "receiver", "status", "payload_preview"),
        description="A live EVENT_PREFIX line of an agent run: a message was handled.")
    actor = _obj("AgentActorEvent", {
        "kind": {"const": "agent-actor"}, "id": _STR, "skill": _STR, "scope": _STR,
        "status": _STR, "restarts": _INT, "handled": _INT,
    }, ("kind", "id", "status", "restarts", "handled"),
        description="A live EVENT_PREFIX line of an agent run: an actor's status changed.")
    return {"AgentProblem": problem, "AgentGraphNode": node, "AgentGraphEdge": edge,
            "AgentGraphReply": graph, "AgentRunReply": run, "AgentMessageEvent": message,
            "AgentActorEvent": actor}


def _stats_defs() -> dict[str, Any]:
    num = _null(_NUM)
    rate = _null({"type": "number", "minimum": 0, "maximum": 1})
    iso = _null({"type": "string", "description": "ISO 8601"})
    node = _obj("StatsNode", {
        "workflow": _STR, "node": _STR, "skill": _null(_STR), "runs": _INT,
        "completed": _INT, "cached": _INT, "failed": _INT, "skipped": _INT, "executed": _INT,
        "p50_ms": num, "p95_ms": num, "mean_ms": num, "max_ms": num, "total_ms": num,
        "cache_hit_rate": rate,
    }, ("workflow", "node", "skill", "runs", "completed", "cached", "failed", "skipped",
        "executed", "p50_ms", "p95_ms", "mean_ms", "max_ms", "total_ms", "cache_hit_rate"),
        description="One (workflow, node): durations over its executed runs, ms.")
    bottleneck = _obj("StatsBottleneck", {
        "workflow": _STR, "node": _STR, "skill": _null(_STR), "total_ms": num, "share": rate,
        "p95_ms": num, "executed": _INT,
    }, ("workflow", "node", "skill", "total_ms", "share", "p95_ms", "executed"))
    failure = _obj("StatsFailure", {
        "error": _STR, "example": _STR, "count": _INT, "nodes": _list(_STR),
        "workflows": _list(_STR), "run_ids": _list(_STR), "last": iso,
    }, ("error", "example", "count", "nodes", "workflows", "run_ids", "last"),
        description="Node failures grouped by error text (numbers as #).")
    workflow = _obj("StatsWorkflow", {
        "workflow": _STR, "name": _STR, "runs": _INT, "completed": _INT,
        "success_rate": rate, "last": iso,
    }, ("workflow", "name", "runs", "completed", "success_rate", "last"))
    report = _obj("StatsReport", {
        "traces": _STR,
        "filters": _obj("StatsFilters", {"workflow": _null(_STR), "since": iso},
                        ("workflow", "since")),
        "runs": _INT, "statuses": _map(_INT), "success_rate": rate, "first": iso, "last": iso,
        "run_ms": _null(_obj("StatsRunMs", {"p50": num, "p95": num, "mean": num, "total": num},
                             ("p50", "p95", "mean", "total"))),
        "node_runs": _obj("StatsNodeRuns", {k: _INT for k in ("completed", "cached", "failed",
                                                               "skipped")},
                          ("completed", "cached", "failed", "skipped")),
        "cache_hit_rate": rate,
        "workflows": _list(_ref("StatsWorkflow")),
        "nodes": _list(_ref("StatsNode")),
        "bottlenecks": _list(_ref("StatsBottleneck")),
        "failures": _list(_ref("StatsFailure")),
        "llm": _obj("StatsLlm", {"runs": _INT, "cost_usd": _NUM}, ("runs", "cost_usd"),
                    description="LLM nodes' estimated cost (USD) and the runs that had any."),
    }, ("runs", "statuses", "success_rate", "first", "last", "run_ms", "node_runs",
        "cache_hit_rate", "workflows", "nodes", "bottlenecks", "failures"),
        description="llmos_jupyter._stats.stats_report (llmos stats --json; the run "
                    "history's analytics).")
    return {"StatsNode": node, "StatsBottleneck": bottleneck, "StatsFailure": failure,
            "StatsWorkflow": workflow, "StatsReport": report}


def _definitions() -> dict[str, Any]:
    out: dict[str, Any] = {}
    out.update(_ids_defs())
    out["ReservedSubcommand"] = _enum(
        "ReservedSubcommand", RESERVED_SUBCOMMANDS, "RESERVED_SUBCOMMANDS",
        "A %skill subcommand: never a node id on a %%skill line.")
    out.update(_workflow_defs())
    out.update(_event_defs())
    out.update(_canvas_defs())
    out.update(_runtime_defs())
    out.update(_trace_defs())
    out.update(_lab_defs())
    out.update(_stats_defs())
    return out


DEFINITIONS: dict[str, Any] = _definitions()
"""name → JSON Schema (draft 7); each has ``title`` = name."""
