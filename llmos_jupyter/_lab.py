"""What the JupyterLab extension asks a kernel for: the library, the runs, a workflow run.

The extension has no server part (it must work unchanged in JupyterLite, where there is
no server to extend): it starts a small *library kernel* and executes one of these
functions in it, reading the JSON it prints. Each returns a JSON string; each is cheap
to import (no numpy, no IPython). Every call goes through the kernel's
:class:`~llmos_jupyter._workbench.Workbench` (its library, engine, cache and event bus),
so a document run and the kernel's magics and canvases share one engine and cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from llmos_jupyter._actors.message import payload_preview
from llmos_jupyter._engine.result import jsonable
from llmos_jupyter._paths import traces_dir
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.preview import output_previews
from llmos_jupyter._workbench import Workbench

__all__ = ["EVENT_PREFIX", "agent_system_graph_json", "arun_agent_system_json",
           "compare_runs_json", "export_notebook_json", "mcp_tools_json", "notebook_graph_json",
           "read_trace_json", "rerun_trace_json", "rewrite_cells_json",
           "run_agent_system_json", "run_workflow_json", "runs_json", "set_llmos_home",
           "skill_record", "skills_json", "validate_workflow_json"]


def set_llmos_home(path: str) -> str:
    """Point this kernel's volumes (and traces) at ``path`` (``LLMOS_HOME``, the extension's
    "volumes' location" setting); the kernel's workbench (library, engine) is made anew on
    the new volumes when it changes."""
    if os.environ.get("LLMOS_HOME") != path:
        from llmos_jupyter._api import forget_defaults

        os.environ["LLMOS_HOME"] = path
        forget_defaults()
    return json.dumps({"llmos_home": path})


def _is_trusted(skill: Any) -> bool:
    """``llmos_jupyter._trust.is_trusted``; a trust store that cannot be read means
    untrusted (the badge errs on the side of caution)."""
    try:
        from llmos_jupyter._trust import is_trusted
    except ImportError:  # pragma: no cover - an install without the trust module
        return skill.volume in ("system", "user", "memory", None)
    try:
        return bool(is_trusted(skill))
    except Exception:  # noqa: BLE001 - any trust-store failure: show the badge
        return False


def skill_record(library: SkillLibrary, skill: Any) -> dict[str, Any]:
    """What a front-end lists of a skill (:meth:`SkillLibrary.summary`) plus ``trusted``
    (bool, :func:`llmos_jupyter._trust.is_trusted`): the sidebar and the canvas palette
    show an "untrusted" badge when it is false. Text fields are plain text: the front-end
    never renders them as HTML."""
    return {**library.summary(skill), "trusted": _is_trusted(skill)}


def skills_json() -> str:
    """Every skill of the default volumes (system < team < user), the winner of each id,
    each with ``trusted`` (see :func:`skill_record`). The kernel's library is brought up to
    date with the files first (``refresh``), so an edited or new skill file shows."""
    library = Workbench.current().library
    library.refresh()
    return json.dumps({"skills": [skill_record(library, s) for s in library.list()],
                       "errors": [str(e) for e in library.errors]})


def _problem_dicts(problems: Any) -> list[dict[str, Any]]:
    return [{"code": p.code, "message": p.message, "node": p.node, "port": p.port,
             "edge": p.edge} for p in problems]


def validate_workflow_json(text: str) -> str:
    """Every validation problem of a workflow given as JSON text, against the default
    library (plus the workflow's inline skills): ``{"problems": [{"code", "message",
    "node", "port", "edge"}]}``, empty when it is valid. A text that is not JSON or not a
    workflow is one problem (code ``syntax`` / ``invalid``) saying where."""
    from llmos_jupyter._exceptions import LlmosError
    from llmos_jupyter._skills.model import BROWSER_RUNTIMES, LOCAL_RUNTIMES
    from llmos_jupyter._workflow.model import Workflow
    from llmos_jupyter._workflow.validate import validate

    try:
        json.loads(text)
    except ValueError as exc:
        return json.dumps({"problems": [{"code": "syntax", "message": f"JSON syntax error: {exc}",
                                         "node": None, "port": None, "edge": None}]})
    try:
        wf = Workflow.from_json(text)
        library = Workbench.current().library
        inline = wf.inline_skills() if wf.extra.get("inline_skills") else []
        if inline:
            library = library.overlay(inline)
        # Documents run javascript/threejs nodes in the page, so those runtimes are valid.
        problems = validate(wf, library, runtimes=LOCAL_RUNTIMES + BROWSER_RUNTIMES)
        from llmos_jupyter._widget.node_ports import node_ports

        # A switch's case ports, a subworkflow's interface: the canvas draws them.
        ports = node_ports(wf, library, LOCAL_RUNTIMES + BROWSER_RUNTIMES)
    except (LlmosError, ValueError, TypeError, KeyError) as exc:
        return json.dumps({"problems": [{"code": "invalid", "message": str(exc), "node": None,
                                         "port": None, "edge": None}]})
    return json.dumps({"problems": _problem_dicts(problems), "node_ports": jsonable(ports)})


def _run(path: Path) -> dict[str, Any] | None:
    """One row of the run history, from the trace record (read by
    :mod:`llmos_jupyter._trace.record`, the notebook's tail only)."""
    from llmos_jupyter._trace.record import read_run_record

    rec = read_run_record(path)
    if rec is None or not rec.workflow:  # unreadable, not JSON, or not a trace: not listed
        return None
    nodes = rec.raw.get("nodes") or {}
    params = {n: r.get("params") for n, r in nodes.items()
              if isinstance(r, dict) and r.get("params")}
    return {
        "path": str(path),
        "name": path.name,
        "run_id": rec.run_id or None,
        "workflow": rec.workflow_name,
        "workflow_id": rec.workflow_id or None,
        "status": rec.raw.get("status"),
        "started_at": rec.raw.get("started_at"),
        "duration_ms": rec.raw.get("duration_ms"),
        "nodes": {n.node_id: n.status for n in rec.nodes},
        "params": jsonable(params),
        "overrides": dict(rec.overrides),
    }


def runs_json(limit: int = 200) -> str:
    """The trace notebooks of the user volume, newest first, with status, time, params."""
    folder = traces_dir()
    files = sorted(folder.glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True) \
        if folder.is_dir() else []
    runs = [r for r in (_run(p) for p in files[:limit]) if r is not None]
    return json.dumps({"folder": str(folder), "runs": runs})


def mcp_tools_json(server: str | None = None, refresh: bool = False,
                   timeout_s: float = 10.0) -> str:
    """The canvas palette's MCP group (``llmos_jupyter._mcp.palette``): ``{"servers":
    [{"name", "label", "kind", "error"}], "server", "status", "tools", "error"}``.
    Without ``server`` only the configured servers (``[mcp.servers]`` of config.toml) are
    listed, none contacted (``status`` null); with it, that server's tools as palette
    entries (``status`` ``"ok"`` or ``"error"`` with one line: a dead server, or one
    silent for ``timeout_s`` seconds), cached for this kernel unless ``refresh``. Tool
    names and descriptions come from the server: the front-end shows them as text."""
    from llmos_jupyter._config import ConfigError

    reply: dict[str, Any] = {"servers": [], "server": None, "status": None, "tools": [],
                             "error": None}
    try:
        from llmos_jupyter._mcp.palette import configured_servers, palette_tools

        reply["servers"] = configured_servers()
    except (ConfigError, ImportError, OSError) as exc:
        reply["error"] = str(exc)
        if server is not None:
            reply.update(server=server, status="error")
        return json.dumps(reply)
    if server is not None:
        reply.update(palette_tools(server, timeout_s=timeout_s, refresh=refresh))
    return json.dumps(reply)


def read_trace_json(path: str) -> str:
    """A trace notebook's content and, when it lies under the kernel's working directory
    (the server's root), its path relative to it (so it can be opened in place)."""
    p = Path(path).resolve()
    try:
        rel: str | None = p.relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        rel = None
    return json.dumps({"relative": rel, "name": p.name,
                       "content": json.loads(p.read_text(encoding="utf-8"))})


EVENT_PREFIX = "@llmos-event "
"""Start of a stdout line carrying one engine event as JSON (live statuses while a
workflow runs); the call's result is still its last line."""


def _statuses_and_previews(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    statuses = {n: {"status": r.status, "elapsed_ms": round(r.duration_ms, 3),
                    **({"error": r.error} if r.error else {})}
                for n, r in result.nodes.items()}
    library = Workbench.current().library
    previews = {}
    for n, r in result.nodes.items():
        if r.outputs:
            ports = library.get(r.skill_id).output_ports if r.skill_id in library else {}
            previews[n] = output_previews(r.outputs, ports)
    return statuses, previews


def _print_events(q: Any) -> None:
    while not q.empty():
        print(EVENT_PREFIX + json.dumps(q.get_nowait()), flush=True)


def _run_and_report(workflow: Any, overrides: Any = None, targets: list[str] | None = None,
                    events: bool = False, browser: bool = False,
                    executor: str | None = None, scheduler: str | None = None) -> str:
    """Run in a background thread, print events as they come (``EVENT_PREFIX`` lines),
    turn a kernel interrupt into a cancel, and return the result as JSON text. With
    ``browser``, ``javascript``/``threejs`` nodes are asked of the front-end over stdin
    (:class:`~llmos_jupyter._widget.browser_runtime.StdinBridge`)."""
    import queue

    from llmos_jupyter._exceptions import LlmosError

    q: queue.Queue[Any] = queue.Queue()
    workbench = Workbench.current()
    on_event = (lambda e: q.put(e.to_dict())) if events else None
    bridge = None
    if browser:
        from llmos_jupyter._widget.browser_runtime import StdinBridge

        bridge = StdinBridge()
    dashboard = None
    try:
        engine = None
        if executor and executor != "threads":  # the JupyterLab setting: processes | dask
            engine = workbench.engine_for(executor, scheduler)
            dashboard = getattr(engine.node_executor(), "dashboard_link", None)
        handle = workbench.start(workflow, overrides, targets=targets, on_event=on_event,
                                 runners=bridge.runners() if bridge else None, engine=engine)
        result = None
        cancelled = False
        while result is None:
            try:
                _print_events(q)
                if bridge is not None:
                    bridge.pump()
                # The kernel's interrupt (the Cancel button) raises KeyboardInterrupt here,
                # in the waiting main thread: cancel at the next node boundary, keep waiting.
                result = handle.result(timeout=0.05)
            except TimeoutError:
                continue
            except KeyboardInterrupt:
                if not cancelled:
                    cancelled = True
                    handle.cancel()
                    print(EVENT_PREFIX + json.dumps({"kind": "cancelling"}), flush=True)
    except (LlmosError, ValueError) as e:
        return json.dumps({"status": "invalid", "message": str(e), "statuses": {}})
    _print_events(q)
    statuses, previews = _statuses_and_previews(result)
    message = f"{result.status} in {result.duration_ms:.0f} ms"
    if result.trace:
        message += f" · trace {result.trace}"
    reply = {"status": result.status, "message": message, "statuses": statuses,
             "previews": jsonable(previews), "trace": result.trace, "run_id": result.run_id}
    if dashboard:
        reply["dashboard"] = dashboard
    # Each node's output (the canvas' log panel; the threads executor sends no node_log).
    logs = {n: r.log[-20_000:] for n, r in result.nodes.items() if r.log}
    if logs:
        reply["logs"] = logs
    return json.dumps(reply)


def run_workflow_json(text: str, node: str | None = None, downstream: bool = False,
                      events: bool = False, browser: bool = False,
                      executor: str | None = None, scheduler: str | None = None) -> str:
    """Run a workflow given as JSON text: the per-node statuses, previews, a message and
    the trace path (JSON with ``status``, ``message``, ``statuses``, ``previews``,
    ``trace``; ``status`` is ``"invalid"`` with the problems in ``message`` when nothing
    ran).

    Args:
        text: the workflow JSON (React Flow field names, as saved by the canvas).
        node: run only this node and what it needs; with ``downstream`` also every node
            that depends on it.
        events: print each engine event as an ``EVENT_PREFIX`` line while running.
        browser: the caller's front-end runs ``javascript``/``threejs`` nodes: their
            requests come as ``input()`` prompts starting with ``STDIN_PREFIX``, answered
            with the ``{"outputs"}`` or ``{"error", "line"}`` JSON (without it such nodes
            are refused as an unsupported runtime).
        executor, scheduler: JupyterLab's executor setting (``processes`` | ``dask`` and a
            Dask scheduler address); ``None``/``threads`` runs on the kernel's engine. The
            reply then carries the Dask ``dashboard`` link.
    """
    from llmos_jupyter._workflow.model import Workflow

    wf = Workflow.from_json(text)
    targets = None
    if node is not None:
        if node not in wf:
            return json.dumps({"status": "invalid", "message": f"no node {node!r}",
                               "statuses": {}})
        targets = sorted(wf.downstream([node]) if downstream else {node})
    return _run_and_report(wf, targets=targets, events=events, browser=browser,
                           executor=executor, scheduler=scheduler)


def _trace_meta(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from llmos_jupyter._trace.record import trace_record_of

    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    trace = trace_record_of(nb.get("metadata") if isinstance(nb, dict) else None)
    if trace is None or not isinstance(trace.get("workflow"), dict):
        raise ValueError(f"{path}: not an llmos trace notebook (no metadata.llmos.trace)")
    return nb, trace


def rerun_trace_json(path: str, events: bool = False) -> str:
    """Run a traced run's workflow again with the same parameters and run-time overrides
    (as recorded in the trace's ``metadata.llmos.trace``); the result as
    :func:`run_workflow_json` gives it, with a new trace.

    Raises:
        ValueError: ``path`` is not a trace notebook.
    """
    from llmos_jupyter._workflow.model import Workflow

    _, trace = _trace_meta(path)
    source = trace.get("workflow_path")
    wf = Workflow.from_dict(trace["workflow"], path=Path(source) if source else None)
    return _run_and_report(wf, overrides=trace.get("overrides") or None, events=events)


def _trace_outputs(nb: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{node: {port: value}}`` from a trace's cells: the JSON outputs; a PNG as
    ``{"$image": "data:image/png;base64,..."}``."""
    out: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        node = (cell.get("metadata") or {}).get("llmos", {}).get("node")
        if not node:
            continue
        ports = out.setdefault(node, {})
        for o in cell.get("outputs", []):
            data = o.get("data") or {}
            if isinstance(data.get("application/json"), dict):
                ports.update(data["application/json"])
            elif "image/png" in data:
                port = (o.get("metadata") or {}).get("llmos", {}).get("port", "image")
                png = data["image/png"]
                png = "".join(png) if isinstance(png, list) else str(png)
                # The comparison shows the two plots side by side (an <img> of this data URL).
                ports[port] = {"$image": "data:image/png;base64," + png.replace("\n", "")}
    return out


def compare_runs_json(path_a: str, path_b: str) -> str:
    """Two runs side by side: for every node, its status, duration, parameters (inputs
    not wired from another node, run-time overrides applied) and outputs, as rows
    ``{"node", "kind": "status"|"param"|"output", "name", "a", "b", "same"}`` (values as
    JSON; ``None`` where a run has no such entry), plus each run's summary.

    Raises:
        ValueError: a path is not a trace notebook.
    """
    runs = []
    for path in (path_a, path_b):
        nb, trace = _trace_meta(path)
        runs.append((trace, _trace_outputs(nb)))
    (ta, oa), (tb, ob) = runs
    na, nb_ = ta.get("nodes") or {}, tb.get("nodes") or {}
    rows: list[dict[str, Any]] = []

    def add(node: str, kind: str, name: str, a: Any, b: Any) -> None:
        rows.append({"node": node, "kind": kind, "name": name, "a": a, "b": b,
                     "same": json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)})

    for node in list(dict.fromkeys([*na, *nb_])):
        ra, rb = na.get(node) or {}, nb_.get(node) or {}
        add(node, "status", "status", ra.get("status"), rb.get("status"))
        pa, pb = ra.get("params") or {}, rb.get("params") or {}
        for k in dict.fromkeys([*pa, *pb]):
            add(node, "param", k, pa.get(k), pb.get(k))
        xa, xb = oa.get(node) or {}, ob.get(node) or {}
        for k in dict.fromkeys([*xa, *xb]):
            add(node, "output", k, xa.get(k), xb.get(k))

    def summary(t: dict[str, Any], path: str) -> dict[str, Any]:
        wf = t.get("workflow") or {}
        return {"path": path, "run_id": t.get("run_id"), "status": t.get("status"),
                "workflow": wf.get("name") or wf.get("id"), "started_at": t.get("started_at"),
                "duration_ms": t.get("duration_ms")}

    return json.dumps({"a": summary(ta, path_a), "b": summary(tb, path_b),
                       "rows": jsonable(rows)})


def export_notebook_json(text: str) -> str:
    """The ``%%skill`` notebook of a workflow given as JSON text (nbformat v4 JSON)."""
    import nbformat

    from llmos_jupyter._notebook.mapping import notebook_from_workflow
    from llmos_jupyter._workflow.model import Workflow

    return nbformat.writes(notebook_from_workflow(Workflow.from_json(text)))


# -- the sidebar canvas of the active notebook (issue 5) --------------------------------------
# The notebook's graph and the cell edits of its canvas are computed here, by the same
# parser the kernel's %%skill magic uses, so the sidebar never disagrees with a run.
def notebook_graph_json(nb: dict[str, Any]) -> str:
    """The graph of a notebook's skill cells (``nb``: nbformat v4 JSON, outputs not needed).

    Returns ``{"workflow", "cells": {node: cell id}, "problems", "expressions"}`` (see
    :func:`llmos_jupyter._notebook.mapping.notebook_graph`); a notebook that cannot be
    read at all gives an empty workflow and one problem.
    """
    from llmos_jupyter._exceptions import LlmosError
    from llmos_jupyter._notebook.mapping import notebook_graph

    try:
        graph = jsonable(notebook_graph(nb).to_dict())
    except (LlmosError, AttributeError, TypeError, ValueError) as exc:
        return json.dumps({"workflow": {"nodes": [], "edges": []}, "cells": {},
                           "problems": [{"cell": None, "node": None,
                                         "message": f"cannot read the notebook: {exc}"}],
                           "expressions": {}})
    graph["validation"] = _graph_problems(graph)
    return json.dumps(graph)


def _graph_problems(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """Validation problems of a notebook's graph (what would stop a run), leaving out the
    missing inputs a parameter expression sets at run time."""
    from llmos_jupyter._workflow.model import Workflow
    from llmos_jupyter._workflow.validate import validate

    expressions = graph.get("expressions") or {}
    try:
        wf = Workflow.from_dict(graph["workflow"])
        problems = _problem_dicts(validate(wf, Workbench.current().library))
    except Exception as exc:  # noqa: BLE001 - reported, never raised into the sidebar
        return [{"code": "invalid", "message": str(exc), "node": None, "port": None,
                 "edge": None}]
    # A skill the library kernel does not know may be defined in the notebook's own kernel
    # (`%skill new`): the run says so if it is not; the graph does not refuse it.
    return [p for p in problems if p["code"] != "unknown-skill" and not (
        p["code"] == "missing-input" and p["port"] in (expressions.get(p["node"]) or {}))]


def rewrite_cells_json(edits: list[dict[str, Any]]) -> str:
    """New sources of skill cells for canvas edits, one per edit, in order.

    Each edit is ``{"source", "node_id"?, "wires"?: ["PORT=NODE.PORT", ...], "params"?:
    {name: value}, "remove"?: [name, ...]}`` (see
    :func:`llmos_jupyter._notebook.cells.rewrite_skill_cell`). Returns ``{"sources":
    [text | null], "errors": [message | null]}``: an edit that cannot be applied keeps
    its cell (``null``) and says why, naming the node.
    """
    from llmos_jupyter._exceptions import WorkflowError
    from llmos_jupyter._notebook.cells import Wire, rewrite_skill_cell

    sources: list[str | None] = []
    errors: list[str | None] = []
    for edit in edits:
        try:
            wires = None
            if edit.get("wires") is not None:
                wires = []
                for w in edit["wires"]:
                    port, _, src = str(w).partition("=")
                    node, _, src_port = src.rpartition(".")
                    wires.append(Wire(port, node, src_port))
            sources.append(rewrite_skill_cell(
                str(edit["source"]), node_id=edit.get("node_id"), wires=wires,
                params=edit.get("params"), remove=tuple(edit.get("remove") or ())))
            errors.append(None)
        except (WorkflowError, KeyError, TypeError, ValueError) as exc:
            sources.append(None)
            errors.append(getattr(exc, "message", None) or str(exc))
    return json.dumps({"sources": sources, "errors": errors})


# -- agent systems: a system TOML file as a document (issue 18 §5) ------------------------
# The document sends its text (maybe unsaved) and its path; check_system and the runtime
# read a file, and resolve a system's `skills` folders and workflow paths against its
# folder, so unsaved text is checked from a hidden file beside the real one.

def _system_path(path: str) -> Path:
    """The system file ``path`` names, as this kernel sees it: absolute, else relative to
    the working directory (the server's root for the library kernel), else — a document's
    own kernel starts in the document's folder — the file's name there."""
    p = Path(path)
    if p.is_absolute():
        return p
    for cand in (Path.cwd() / p, Path.cwd() / p.name):
        if cand.is_file():
            return cand
    return Path.cwd() / p


class _SystemText:
    """Context manager giving ``(real path, path to read)`` for a system file's text: the
    file itself when it holds that text, else a hidden copy beside it (in the temporary
    folder when its folder is not writable), removed on exit."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.real = text, _system_path(path or "untitled.agents.toml")
        self.tmp: Path | None = None

    def __enter__(self) -> tuple[Path, Path]:
        import tempfile

        try:
            if self.real.is_file() and self.real.read_text(encoding="utf-8") == self.text:
                return self.real, self.real
        except (OSError, UnicodeDecodeError):
            pass
        folder = self.real.parent if os.access(self.real.parent, os.W_OK) else None
        fd, name = tempfile.mkstemp(prefix=f".{self.real.stem}.", suffix=".unsaved.toml",
                                    dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(self.text)
        self.tmp = Path(name)
        return self.real, self.tmp

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)

    def clean(self, s: str) -> str:
        """``s`` with the hidden copy's path replaced by the real one."""
        return s.replace(str(self.tmp), str(self.real)) if self.tmp is not None else s


def agent_system_graph_json(text: str, path: str) -> str:
    """The graph and every problem of an actor system file given as TOML text.

    Args:
        text: the file's text (what the editor holds; need not be saved).
        path: its path (absolute, or relative to the kernel's working directory): the
            system's ``skills`` folders and workflow paths are relative to its folder.

    Returns:
        JSON ``{"name", "description", "timeout_s", "graph": {"nodes", "edges"}
        (:func:`llmos_jupyter._actors.graph.system_graph`), "problems": [{"where", "code",
        "message", "severity", "line"}], "valid"}`` — the problems of ``llmos agents
        check`` with the 1-based ``line`` they are about (``None`` when not located);
        ``valid`` is false when one is an ``error``. Invalid TOML is a problem (code
        ``toml``, with its line), never an exception.
    """
    from llmos_jupyter._actors.graph import system_view

    st = _SystemText(text, path)
    with st as (_, file):
        reply = jsonable(system_view(file, Workbench.current().library, text=text,
                                     clean=st.clean))
    reply["valid"] = not any(p["severity"] == "error" for p in reply["problems"])
    return json.dumps(reply)


def _agent_event(kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The live event a document gets for a runtime ``on_event`` call: ``{"kind":
    "agent-message", "id", "type", "sender", "receiver", "scope", "status",
    "reply_to", "payload_preview"}`` (the payload as JSON text, cut by
    :func:`~llmos_jupyter._actors.message.payload_preview`) or ``{"kind": "agent-actor",
    "id", "skill", "scope", "status",
    "restarts", "handled"}``."""
    if kind == "message":
        return {"kind": "agent-message", **{k: data.get(k) for k in (
            "id", "type", "sender", "receiver", "scope", "status", "reply_to")},
            "payload_preview": payload_preview(data.get("payload"))}
    if kind == "actor":
        return {"kind": "agent-actor", **{k: data.get(k) for k in (
            "id", "skill", "scope", "status", "restarts", "handled")}}
    return None


def _agent_input(input_json: str | None) -> tuple[Any, str | None]:
    if input_json is None or not str(input_json).strip():
        return None, None
    try:
        return json.loads(input_json), None
    except ValueError as exc:
        return None, f"the input is not JSON: {exc}"


def _agent_reply(outcome: Any) -> str:
    reply = jsonable(outcome.to_json())
    reply["name"] = outcome.name
    reply["duration_s"] = round(outcome.duration_s, 6)
    reply["message"] = (f"{outcome.status} after {len(outcome.messages)} message(s) in "
                        f"{outcome.duration_s:.2f} s" + (f" · {outcome.error}"
                                                          if outcome.error else ""))
    return json.dumps(reply)


def _invalid(problems: list[dict[str, Any]], message: str) -> str:
    return json.dumps({"status": "invalid", "message": message, "problems": problems,
                       "messages": [], "actors": {}, "result": None, "error": message})


async def arun_agent_system_json(text: str, path: str, input_json: str | None = None,
                                 events: bool = True, timeout_s: float | None = None) -> str:
    """:func:`run_agent_system_json` as a coroutine, for a kernel that can await in a cell
    and has no threads to spare (Pyodide): events are printed from the loop as they come."""
    def on_event(kind: str, data: dict[str, Any]) -> None:
        e = _agent_event(kind, data)
        if e is not None:
            print(EVENT_PREFIX + json.dumps(e), flush=True)

    return await _arun_agents(text, path, input_json, on_event if events else None, timeout_s)


async def _arun_agents(text: str, path: str, input_json: str | None, on_event: Any,
                       timeout_s: float | None) -> str:
    from llmos_jupyter._actors.graph import problem_rows
    from llmos_jupyter._actors.run import SystemInvalid, arun_file
    from llmos_jupyter._actors.runtime import ActorSystemError

    payload, bad = _agent_input(input_json)
    if bad:
        return _invalid([{"where": "input", "code": "input", "message": bad,
                          "severity": "error", "line": None}], bad)
    library = Workbench.current().library
    st = _SystemText(text, path)
    with st as (_, file):
        try:
            outcome = await arun_file(file, payload, timeout_s=timeout_s, library=library,
                                      on_event=on_event)
        except SystemInvalid as exc:
            problems = problem_rows(exc.problems, text, st.clean)
            first = problems[0]
            return _invalid(problems, f"{first['where']}: {first['message']}"
                            + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
        except (ActorSystemError, ValueError) as exc:
            msg = st.clean(str(exc))
            return _invalid([{"where": str(st.real), "code": "refused", "message": msg,
                              "severity": "error", "line": None}], msg)
    return _agent_reply(outcome)


def run_agent_system_json(text: str, path: str, input_json: str | None = None,
                          events: bool = True, timeout_s: float | None = None) -> str:
    """Check and run an actor system file given as TOML text, as ``llmos agents run
    --json`` does, and record the run (the runtime's trace notebook).

    The system runs on a fresh event loop in a helper thread (a kernel's cell already runs
    inside the kernel's loop, which it must not block on); this thread prints its live
    events as ``EVENT_PREFIX`` lines while it runs (``events``; see :func:`_agent_event`:
    each handled message, each actor status change). A kernel interrupt cancels the run
    (status ``interrupted``). The run ends by ``ctx.exit``, when idle, or at the system's
    ``timeout_s`` (``timeout_s`` here overrides it); a system without one runs until it
    ends or is interrupted.

    Args:
        text, path: the file's text and path, as for :func:`agent_system_graph_json`.
        input_json: the ``start`` message's payload as JSON text (empty: ``null``).

    Returns:
        JSON ``{"status": "exited"|"failed"|"timeout"|"interrupted"|"idle", "result",
        "error", "messages": [log entries in delivery order], "messages_dropped", "actors":
        {id: {skill, scope, restarts, handled, status, ...}}, "trace", "name",
        "duration_s", "message"}``; or ``{"status": "invalid", "problems", "message"}``
        when the file has errors or the input is not JSON (nothing ran).
    """
    import asyncio
    import queue
    import threading

    q: queue.Queue[dict[str, Any]] = queue.Queue()

    def on_event(kind: str, data: dict[str, Any]) -> None:
        e = _agent_event(kind, data)
        if e is not None:
            q.put(e)

    loop = asyncio.new_event_loop()
    box: dict[str, Any] = {}
    # Waited on instead of Thread.join: a KeyboardInterrupt inside join() can leave the
    # thread marked as stopped while it still runs (CPython gh-90882).
    done = threading.Event()

    def target() -> None:
        try:
            asyncio.set_event_loop(loop)
            task = loop.create_task(_arun_agents(text, path, input_json,
                                                 on_event if events else None, timeout_s))
            box["task"] = task
            box["reply"] = loop.run_until_complete(task)
        except asyncio.CancelledError:
            # Cancelled before the system started (the runtime turns a later cancel
            # into its own "interrupted" outcome).
            msg = "interrupted before the system started"
            box["reply"] = json.dumps({"status": "interrupted", "message": msg, "error": msg,
                                       "result": None, "messages": [], "actors": {}})
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc
        finally:
            loop.close()
            done.set()

    def drain() -> None:
        while True:
            try:
                e = q.get_nowait()
            except queue.Empty:
                return
            print(EVENT_PREFIX + json.dumps(e), flush=True)

    t = threading.Thread(target=target, name="llmos-agents-doc", daemon=True)
    t.start()
    # The kernel's interrupt (the document's Cancel) lands in this waiting thread as
    # KeyboardInterrupt: cancel the system's run task (the runtime stops its actors and
    # reports "interrupted"), keep waiting for its outcome. An interrupt that comes
    # before the task exists cancels it as soon as it does.
    want_cancel = cancelled = False
    while not done.is_set():
        try:
            drain()
            task = box.get("task")
            if want_cancel and not cancelled and task is not None:
                cancelled = True
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # the loop just closed: the run is over anyway
                    pass
            done.wait(0.05)
        except KeyboardInterrupt:
            if not want_cancel:
                want_cancel = True
                print(EVENT_PREFIX + json.dumps({"kind": "cancelling"}), flush=True)
    t.join()
    drain()
    if "error" in box:
        raise box["error"]
    return str(box["reply"])
