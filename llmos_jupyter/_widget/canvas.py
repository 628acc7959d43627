"""The canvas widget: a React Flow node-graph editor of a workflow (anywidget).

The front-end is TypeScript in ``labextension/``, built into ``llmos_jupyter/static/``
(``canvas.js`` + ``canvas.css``) by ``npm run build`` (or the package build). Traits:

``workflow``  the workflow as React Flow JSON (``Workflow.to_dict()``): edits in the
              browser land here and in :attr:`Canvas.workflow_obj`; Python edits go
              through :meth:`Canvas.set_workflow`, the edit methods or :meth:`Canvas.sync`.
``skills``    the live library's executable skills with their ports (the palette).
``statuses``  ``{node: {"status", "elapsed_ms"?, "error"?}}`` driven by engine events.
``previews``  ``{node: {port: preview}}``: small JSON-safe forms of the outputs.
``errors``    the workflow's validation problems (``WorkflowProblem`` as dicts).
``logs``      ``{node: {"lines", "open", "total"}}``: the last lines each node printed,
              live from ``node_log`` events (processes/dask executors), then the whole
              log of each finished node (``_widget/node_log.py``).
``dashboard`` the Dask dashboard's URL while (and after) a run on ``executor="dask"``.
``node_ports`` the ports of control nodes declared from their parameters (a switch's
              ``case0``…, a subworkflow's interface), shown instead of the palette's.
``message``   one line about the last run or action.
``mcp_servers`` the ``[mcp.servers]`` entries of config.toml (the palette's MCP group;
              none contacted until the palette asks).
``mcp_tools`` ``{server: {"status", "tools", "error"}}``: a server's tools as palette
              entries, listed in a thread when the palette sends ``{"action":
              "mcp-tools", "server": NAME}`` (``_mcp/palette.py``).

The browser sends actions as custom messages ``{"action": "run" | "run-node" |
"run-downstream" | "cancel", "node": id}``; runs go through :meth:`Engine.start`.
``javascript`` and ``threejs`` nodes run in the front-end, in a Web Worker: the engine's
runner for them (:class:`BrowserRunner`) sends ``{"kind": "execute", ...}`` and waits for
``{"action": "result", ...}`` (protocol in ``browser_runtime.py``).
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# This module *is* the widget, so anywidget is imported at its top; the package imports
# it only on demand (``llmos_jupyter.Canvas``), keeping ``import llmos_jupyter`` light.
try:
    import anywidget
    import traitlets
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "llmos_jupyter.Canvas needs anywidget: pip install 'llmos-jupyter[widget]'"
    ) from exc

from llmos_jupyter._engine.engine import Engine, RunHandle
from llmos_jupyter._engine.events import Event
from llmos_jupyter._engine.result import RunResult
from llmos_jupyter._exceptions import LlmosError, WorkflowError, WorkflowInvalid
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import BROWSER_RUNTIMES, LOCAL_RUNTIMES
from llmos_jupyter._skills.preview import output_previews, preview
from llmos_jupyter._widget.browser_runtime import BrowserRunBlocked, BrowserRunner
from llmos_jupyter._widget.node_log import append_log, log_from_text
from llmos_jupyter._widget.node_ports import node_ports
from llmos_jupyter._workflow.model import Workflow
from llmos_jupyter._workflow.validate import validate

__all__ = ["Canvas", "FrontendMissing", "preview"]

STATIC = Path(__file__).resolve().parent.parent / "static"
ESM = STATIC / "canvas.js"
CSS = STATIC / "canvas.css"

_RUNTIMES = LOCAL_RUNTIMES + BROWSER_RUNTIMES  # what a canvas runs (browser ones in its front-end)


class FrontendMissing(LlmosError, RuntimeError):
    """The canvas' built front-end (``llmos_jupyter/static/canvas.js``) is missing."""


class Canvas(anywidget.AnyWidget):
    """A workflow as an editable, runnable node graph.

    ``Canvas(Workflow.load("h2.workflow.json"))`` shows it; edits in the browser change
    the same :class:`Workflow` object (:attr:`workflow_obj`); :meth:`run` does what the
    Run button does; :meth:`save` writes the workflow (with its layout).

    Args:
        workflow: a :class:`Workflow`, a ``*.workflow.json`` / ``.ipynb`` path, or
            ``None`` for an empty canvas.
        library: the skills for the palette and runs (default: the process' library).
        engine: the engine to run with (default: the kernel's
            :class:`~llmos_jupyter._workbench.Workbench` engine of ``library``, so the
            canvas shares its cache and event bus with ``%%skill`` cells, ``%%llm`` and
            :func:`llmos_jupyter.run`, and shows their runs of this workflow's id live).
        height: the widget's height in pixels.
        layout_direction: auto-layout from left to right (``"LR"``) or top to bottom
            (``"TB"``); the ``layout_direction`` trait.

    Raises:
        FrontendMissing: the front-end was not built (``cd labextension && npm ci &&
            npm run build``, or install a wheel built with Node available).
    """

    if ESM.is_file():
        _esm = ESM
        _css = CSS if CSS.is_file() else ""

    workflow = traitlets.Dict().tag(sync=True)
    skills: traitlets.List[Any] = traitlets.List().tag(sync=True)
    statuses = traitlets.Dict().tag(sync=True)
    previews = traitlets.Dict().tag(sync=True)
    errors: traitlets.List[Any] = traitlets.List().tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    dashboard = traitlets.Unicode("").tag(sync=True)
    """The Dask dashboard's URL when the canvas' engine runs on ``executor="dask"``."""
    logs = traitlets.Dict().tag(sync=True)
    """``{node: {"lines", "open", "total"}}``: each node's last lines of output."""
    node_ports = traitlets.Dict().tag(sync=True)
    """``{node: {"inputs"?, "outputs"?, "interface"?}}``: the ports a switch, router or
    subworkflow node declares from its parameters (``_widget/node_ports.py``)."""
    height = traitlets.Int(600).tag(sync=True)
    layout_direction = traitlets.Enum(("LR", "TB"), "LR").tag(sync=True)
    mcp_servers: traitlets.List[Any] = traitlets.List().tag(sync=True)
    """``[{"name", "label", "kind", "error"}]``: configured MCP servers (not contacted)."""
    mcp_tools = traitlets.Dict().tag(sync=True)
    """``{server: {"status": "loading" | "ok" | "error", "tools": [...], "error"}}``."""

    def __init__(
        self,
        workflow: Workflow | str | Path | None = None,
        *,
        library: SkillLibrary | None = None,
        engine: Engine | None = None,
        height: int = 600,
        layout_direction: str = "LR",
        **kwargs: Any,
    ) -> None:
        if not ESM.is_file() or not hasattr(type(self), "_esm"):
            raise FrontendMissing(
                f"the canvas front-end is not built ({ESM} is missing): run "
                "`npm ci && npm run build` in labextension/ (then restart the kernel), or "
                "install a llmos-jupyter wheel built with Node.js available"
            )
        if workflow is None:
            workflow = Workflow(id="workflow", name="Untitled workflow")
        elif not isinstance(workflow, Workflow):
            workflow = Workflow.load(workflow)
        from llmos_jupyter._workbench import Workbench

        if engine is None:
            workbench = (Workbench.for_library(library) if library is not None
                         else Workbench.current())
            engine = workbench.engine
        else:
            workbench = Workbench.for_library(library if library is not None else engine.library)
        self.workbench: Workbench = workbench
        """The kernel's service: runs of this canvas' workflow from other surfaces (a
        ``%%skill`` cell, ``%%llm``) on the same engine show here too."""
        self.engine: Engine = engine
        self.library: SkillLibrary = library if library is not None else engine.library
        self._wf = workflow
        self._lock = threading.RLock()
        self._handle: RunHandle | None = None
        self._run_id: str | None = None
        self._started: dict[str, float] = {}
        # Logs as events append to them; the trait follows at most every LOG_FLUSH_S (one
        # comm message for many 50 ms chunks of many nodes).
        self._logs: dict[str, Any] = {}
        self._log_timer: threading.Timer | None = None
        self.last_result: RunResult | None = None
        super().__init__(height=height, layout_direction=layout_direction, **kwargs)
        # javascript/threejs nodes of this canvas' runs execute in its front-end.
        self.browser_runner = BrowserRunner(lambda content: self.send(content))
        self._refresh_skills()
        self._refresh_mcp_servers()
        self.set_trait("workflow", workflow.to_dict())
        self._revalidate()
        self.observe(self._on_workflow, names="workflow")
        self.on_msg(self._on_msg)
        self._unsubscribe: Callable[[], None] | None = self.engine.subscribe(self._on_event)

    # -- the workflow: two views of one state ----------------------------------------------
    @property
    def workflow_obj(self) -> Workflow:
        """The :class:`Workflow` this canvas shows (browser edits change it in place)."""
        return self._wf

    def set_workflow(self, workflow: Workflow | str | Path) -> None:
        """Show another workflow (or a path to load); clears statuses and previews."""
        if not isinstance(workflow, Workflow):
            workflow = Workflow.load(workflow)
        self._wf = workflow
        self.statuses, self.previews = {}, {}
        self._set_logs({})
        self._refresh_skills()
        self.sync()

    def sync(self) -> None:
        """Push :attr:`workflow_obj` to the browser after editing it directly in Python."""
        self.workflow = self._wf.to_dict()
        self._revalidate()

    def add_node(self, skill: str, **kwargs: Any) -> str:
        """Add a node (see :meth:`Workflow.add_node`) and show it; returns its id."""
        node = self._wf.add_node(skill, **kwargs)
        self.sync()
        return node.id

    def connect(self, source: str, source_port: str, target: str, target_port: str) -> None:
        """Wire ``source.source_port`` → ``target.target_port`` and show it."""
        self._wf.connect(source, source_port, target, target_port)
        self.sync()

    def remove_node(self, node_id: str) -> None:
        """Remove a node and its edges."""
        self._wf.remove_node(node_id)
        self.sync()

    def set_params(self, node_id: str, **params: Any) -> None:
        """Set input values of a node (``None`` removes one)."""
        self._wf.set_params(node_id, **params)
        self.sync()

    def _on_workflow(self, change: dict[str, Any]) -> None:
        new = change["new"]
        try:
            wf = Workflow.from_dict(new, path=self._wf.path)
        except WorkflowError as exc:
            self.message = f"invalid workflow from the canvas: {exc}"
            return
        old = self._wf
        # Update in place, so a user's reference to the Workflow follows the canvas.
        old.id, old.name, old.nodes, old.edges = wf.id, wf.name, wf.nodes, wf.edges
        old.extra = wf.extra
        old._order = wf._order
        self._revalidate()

    def _revalidate(self) -> None:
        try:
            library = self._plan_library()
            problems = validate(self._wf, library, runtimes=_RUNTIMES)
        except (LlmosError, ValueError) as exc:
            self.errors = [{"code": "invalid", "message": str(exc)}]
            return
        ports = node_ports(self._wf, library, _RUNTIMES)
        if ports != self.node_ports:
            self.node_ports = ports
        self.errors = [
            {"code": p.code, "message": p.message, "node": p.node, "port": p.port, "edge": p.edge}
            for p in problems
        ]

    def _plan_library(self) -> SkillLibrary:
        inline = self._wf.inline_skills() if self._wf.extra.get("inline_skills") else []
        return self.library.overlay(inline) if inline else self.library

    def _refresh_skills(self) -> None:
        try:
            library = self._plan_library()
        except WorkflowError:
            library = self.library
        from llmos_jupyter._lab import skill_record

        # Each with ``trusted`` (the palette's and the nodes' "untrusted" badge).
        self.skills = [skill_record(library, s) for s in library.list() if s.executable]

    def reload_skills(self) -> None:
        """Re-read the library's volumes and refresh the palette."""
        if self.library is self.workbench.library:
            self.workbench.reload()
        else:
            self.library.reload()
        self._refresh_skills()
        self._revalidate()

    # -- running ---------------------------------------------------------------------------
    def run(self, node: str | None = None, *, downstream: bool = False, wait: bool = False,
            **kwargs: Any) -> RunHandle | None:
        """Run the workflow (or ``node`` and what it needs; with ``downstream`` also what
        depends on it) in the background, as the Run buttons do. Statuses and previews
        update live. Returns the :class:`RunHandle`, or ``None`` when the workflow is
        invalid (the problems are in :attr:`errors` and :attr:`message`). With ``wait``
        it blocks until the run is over.

        ``javascript``/``threejs`` nodes run in the canvas' front-end (a Web Worker), so
        the widget must be displayed in a live page. Raises :class:`BrowserRunBlocked` for
        ``wait=True`` from a kernel cell when such nodes would run: the kernel receives
        their results on the thread that cell blocks. Run without ``wait`` and read
        :attr:`last_result` in a later cell instead.
        """
        with self._lock:
            if self._handle is not None and not self._handle.done():
                self.message = "a run is in progress: cancel it first"
                return None
            wf = self._wf.copy()
            targets = None
            if node is not None:
                if node not in wf:
                    self.message = f"no node {node!r}"
                    return None
                targets = sorted(wf.downstream([node]) if downstream else {node})
            self._revalidate()
            if wait and not self.errors and _on_kernel_main_thread():
                browser = self._browser_nodes(wf, targets)
                if browser:
                    raise BrowserRunBlocked(
                        f"node{'s' * (len(browser) > 1)} {', '.join(map(repr, browser))} run in "
                        "the canvas front-end, whose results reach the kernel on the thread "
                        "this cell would block: call run() without wait=True and read "
                        ".last_result in a later cell")
            if self.errors:
                n = len(self.errors)
                first = self.errors[0]
                where = f"{first['node']}: " if first.get("node") else ""
                self.message = (f"not run: invalid: {where}{first['message']}"
                                + (f" (+{n - 1} more)" if n > 1 else ""))
                # A refused run leaves no statuses of an earlier run next to the problems.
                self.statuses, self.previews = {}, {}
                self._set_logs({})
                return None
            self.running = True
            self.message = "running…"
            if getattr(self.engine, "remote", False):
                # processes/dask: start (or reach) the executor now; show Dask's dashboard.
                try:
                    link = getattr(self.engine.node_executor(), "dashboard_link", None)
                except Exception as exc:  # noqa: BLE001 -- the run reports it as a failure
                    link = None
                    self.message = f"executor {self.engine.executor!r} unavailable: {exc}"
                self.dashboard = link or ""
            self._run_id = uuid.uuid4().hex[:12]  # known before the first event arrives
            handle = self.workbench.start(wf, targets=targets, run_id=self._run_id,
                                          engine=self.engine,
                                          runners=self.browser_runner.runners(), **kwargs)
            self._handle = handle
        if wait or sys.platform == "emscripten":  # Pyodide: no threads, the run is over
            self._watch(handle)
        else:
            threading.Thread(target=self._watch, args=(handle,), daemon=True,
                             name=f"llmos-canvas-{handle.run_id}").start()
        return handle

    def _browser_nodes(self, wf: Workflow, targets: list[str] | None) -> list[str]:
        library = self._plan_library()
        chosen = wf.upstream(targets) if targets is not None else {n.id for n in wf.nodes}
        return sorted(n.id for n in wf.nodes if n.id in chosen and n.skill in library
                      and library.get(n.skill).runtime in BROWSER_RUNTIMES)

    def cancel(self) -> None:
        """Cancel the current run (running nodes finish; the rest are skipped)."""
        if self._handle is not None and not self._handle.done():
            self._handle.cancel()
            self.message = "cancelling…"

    def _watch(self, handle: RunHandle) -> None:
        try:
            result = handle.result()
        except WorkflowInvalid as exc:
            self.errors = [{"code": p.code, "message": p.message, "node": p.node,
                            "port": p.port, "edge": p.edge} for p in exc.problems]
            self.message = f"not run: invalid: {exc}"
            self.statuses = {}
        except Exception as exc:  # noqa: BLE001 - whatever ended the run is reported
            self.message = f"run failed: {type(exc).__name__}: {exc}"
            # Nothing is queued or running after a failed run.
            self.statuses = {n: s for n, s in self.statuses.items()
                             if s.get("status") not in ("queued", "running")}
        else:
            self.last_result = result
            # Each finished node's whole log (also on the threads executor, which sends no
            # node_log events) replaces the lines that arrived live.
            with self._lock:
                for n, r in result.nodes.items():
                    if r.log and n in self._wf:
                        self._logs[n] = log_from_text(r.log)
            trace = f" · trace {result.trace}" if getattr(result, "trace", None) else ""
            self.message = (f"{result.status}: {len(result.ran)} ran, {len(result.cached)} cached, "
                            f"{len(result.failed)} failed, {len(result.skipped)} skipped{trace}")
        finally:
            self._flush_logs()
            with self._lock:
                if self._handle is handle:
                    self.running = False

    def _on_event(self, event: Event) -> None:
        if event.run_id != self._run_id:
            # Another run on the kernel's engine: shown when it runs this canvas' workflow
            # (a %%skill cell of the notebook this canvas shows, a %%llm build), and only
            # for the nodes this canvas has.
            if self.workbench.workflow_of(event.run_id) != self._wf.id:
                return
            if event.node_id is not None and event.node_id not in self._wf:
                return
        with self._lock:
            if event.kind == "node_log":
                if event.node_id is not None and event.node_id in self._wf and event.text:
                    self._logs[event.node_id] = append_log(self._logs.get(event.node_id),
                                                           event.text)
                    self._schedule_log_flush()
                return
            statuses = dict(self.statuses)
            if event.kind == "run_started":
                nodes = [n for n in event.nodes if n in self._wf]
                for n in nodes:
                    statuses[n] = {"status": "queued"}
                    self._logs.pop(n, None)
                self._schedule_log_flush()
                self.previews = {k: v for k, v in self.previews.items() if k not in nodes}
            elif event.node_id is None:
                return
            elif event.kind == "node_started":
                statuses[event.node_id] = {"status": "running"}
            elif event.kind == "node_finished":
                entry: dict[str, Any] = {"status": event.status or "completed"}
                if event.duration_ms is not None:
                    entry["elapsed_ms"] = round(event.duration_ms, 1)
                statuses[event.node_id] = entry
                self._set_previews(event)
            elif event.kind in ("node_failed", "node_skipped"):
                entry = {"status": "failed" if event.kind == "node_failed" else "skipped"}
                if event.error:
                    entry["error"] = event.error
                if event.duration_ms is not None:
                    entry["elapsed_ms"] = round(event.duration_ms, 1)
                statuses[event.node_id] = entry
            elif event.kind == "node_progress":  # a map's items: i / N on the node
                old = statuses.get(event.node_id) or {}
                if event.total is None or old.get("status") not in (None, "queued", "running"):
                    return
                statuses[event.node_id] = {**old, "status": "running", "done": event.done,
                                           "total": event.total}
            else:
                return
            self.statuses = statuses

    # -- live logs ---------------------------------------------------------------------------
    LOG_FLUSH_S = 0.1
    """How often the ``logs`` trait follows the events at most (seconds)."""

    def _set_logs(self, logs: dict[str, Any]) -> None:
        with self._lock:
            self._logs = dict(logs)
        self._flush_logs()

    def _schedule_log_flush(self) -> None:
        if sys.platform == "emscripten":  # Pyodide: no threads (and no live logs either)
            self._flush_logs()
            return
        with self._lock:
            if self._log_timer is None:
                self._log_timer = threading.Timer(self.LOG_FLUSH_S, self._flush_logs)
                self._log_timer.daemon = True
                self._log_timer.start()

    def _flush_logs(self) -> None:
        with self._lock:
            if self._log_timer is not None:
                self._log_timer.cancel()
                self._log_timer = None
            if self._logs != self.logs:
                self.logs = dict(self._logs)

    def _set_previews(self, event: Event) -> None:
        if not event.outputs or event.node_id is None:
            return
        try:
            skill = self._plan_library().get(event.skill_id or "")
            ports = skill.output_ports
        except (LlmosError, KeyError):
            ports = {}
        out = output_previews(event.outputs, ports)
        self.previews = {**self.previews, event.node_id: out}

    # -- actions from the browser ----------------------------------------------------------
    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        action, node = content.get("action"), content.get("node")
        if action == "result":  # a browser node's answer (javascript/threejs runtimes)
            self.browser_runner.answer(content)
        elif action == "run":
            self.run()
        elif action == "run-node" and node:
            self.run(node)
        elif action == "run-downstream" and node:
            self.run(node, downstream=True)
        elif action == "cancel":
            self.cancel()
        elif action == "mcp-tools" and isinstance(content.get("server"), str):
            self.load_mcp_tools(content["server"], refresh=bool(content.get("refresh")))

    # -- the palette's MCP group (llmos_jupyter._mcp.palette) --------------------------------
    def _refresh_mcp_servers(self) -> None:
        try:
            from llmos_jupyter._mcp.palette import configured_servers

            servers = configured_servers()
        except Exception as exc:  # noqa: BLE001 - a bad config.toml must not break the canvas
            self.message = f"MCP servers: {exc}"
            servers = []
        if servers != self.mcp_servers:
            self.mcp_servers = servers

    def load_mcp_tools(self, server: str, *, refresh: bool = False, wait: bool = False,
                       timeout_s: float | None = None) -> threading.Thread:
        """List configured MCP server ``server``'s tools into :attr:`mcp_tools` (status
        ``"loading"`` at once, then ``"ok"`` with the entries or ``"error"`` with why) in a
        daemon thread, so a slow or dead server never holds the kernel's comm handler;
        bounded by ``timeout_s`` (default ``_mcp.palette.PALETTE_TIMEOUT_S``), cached per
        kernel unless ``refresh``. The server list is re-read from config.toml first.
        ``wait`` joins the thread (tests, scripts). Returns the thread."""
        from llmos_jupyter._mcp.palette import PALETTE_TIMEOUT_S, palette_tools

        self._refresh_mcp_servers()
        with self._lock:
            self.mcp_tools = {**self.mcp_tools,
                              server: {"status": "loading", "tools": [], "error": None}}

        def work() -> None:
            try:
                reply = palette_tools(server, refresh=refresh,
                                      timeout_s=timeout_s or PALETTE_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - shown in the palette, never raised
                reply = {"status": "error", "tools": [], "error": f"{type(exc).__name__}: {exc}"}
            with self._lock:
                self.mcp_tools = {**self.mcp_tools, server: {
                    "status": reply["status"], "tools": reply["tools"],
                    "error": reply["error"]}}

        thread = threading.Thread(target=work, name=f"llmos-mcp-palette-{server}"[:60],
                                  daemon=True)
        thread.start()
        if wait:
            thread.join()
        return thread

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> Path:
        """Write the workflow (nodes, wiring, params and layout) as ``*.workflow.json``."""
        return self._wf.save(path)

    def close(self) -> None:
        """Stop listening to the engine and close the widget."""
        unsubscribe = getattr(self, "_unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe()
            self._unsubscribe = None
        timer = getattr(self, "_log_timer", None)
        if timer is not None:
            timer.cancel()
        super().close()

    def __repr__(self) -> str:
        return f"<Canvas {self._wf!r}>"


def _on_kernel_main_thread() -> bool:
    """True in a Jupyter kernel's main thread, where comm messages are handled."""
    if threading.current_thread() is not threading.main_thread() or "IPython" not in sys.modules:
        return False
    from IPython.core.getipython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
