"""An actor system live in a notebook: the ``AgentsView`` widget and a run in the background.

``%agents run FILE`` (:mod:`llmos_jupyter._magics`) shows an :class:`AgentsView` (an
anywidget; its front end is ``llmos_jupyter/static/agents.js``, built from
``labextension/src/agentsWidget.tsx`` with the same React view as the JupyterLab Agent
System document) and, in a kernel whose cells run on an asyncio loop (ipykernel ≥ 6; 7
runs every cell inside its running loop), starts the system as a task on that loop with
:func:`start_run`: the cell returns at once, the kernel keeps handling comm messages (an
approval widget's click, the view's Stop button) while the actors run, and the
:class:`AgentsRun` handle gives the :class:`~llmos_jupyter._actors.runtime.RunOutcome`
(``await handle`` in a later cell, or ``handle.result()`` once it is done).

The view's state lives in Python: the runtime's ``on_event`` calls
(:meth:`AgentsView.on_event`, in the loop) are folded into ``actors`` / ``log`` / ``live``
as the JupyterLab document's ``applyAgentEvent`` does (``labextension/src/lab/
agentsLogic.ts``), and pushed to the front end at most every ``throttle_s`` seconds (a
run can deliver thousands of messages a second; one comm message per message would flood
the browser). When the run ends, the outcome's own message log and actor table replace
what the events built. Every string (actor ids, payload previews, errors) is data that
the front end renders as text.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import anywidget
    import traitlets
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the agents view needs anywidget: pip install 'llmos-jupyter[widget]'"
    ) from exc

from llmos_jupyter._actors.message import payload_preview
from llmos_jupyter._actors.runtime import RunOutcome
from llmos_jupyter._skills.ports import jsonable

__all__ = ["LOG_LIMIT", "AgentsRun", "AgentsView", "FrontEndMissing",
           "run_followed", "start_run"]

STATIC = Path(__file__).resolve().parent.parent / "static"
ESM = STATIC / "agents.js"
CSS = STATIC / "agents.css"

LOG_LIMIT = 2000
"""Message log entries the view keeps (the newest); the whole log is in ``RunOutcome``."""


class FrontEndMissing(FileNotFoundError):
    """``llmos_jupyter/static/agents.js`` is not built (``cd labextension && npm run build``)."""


def _log_entry(m: dict[str, Any]) -> dict[str, Any]:
    """A message log entry (runtime event or ``RunOutcome.messages[i]``) as the view's
    ``LogEntry``: ``{id, type, sender, receiver, scope, status, reply_to, preview}``."""
    def s(key: str, default: str = "") -> str:
        v = m.get(key)
        return default if v is None else str(v)

    return {"id": s("id"), "type": s("type"), "sender": s("sender"), "receiver": s("receiver"),
            "scope": s("scope"), "status": s("status", "handled"),
            "reply_to": None if m.get("reply_to") is None else str(m["reply_to"]),
            "preview": payload_preview(m.get("payload"))}


def _num(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


class AgentsView(anywidget.AnyWidget):
    """The graph of an actor system (scopes as group boxes, actors with live status,
    handled and restart counters) and its message log, updated while it runs.

    Traits (synced to the front end): ``name``, ``description``, ``graph`` (``{"nodes",
    "edges"}`` of :func:`llmos_jupyter._actors.graph.system_graph`), ``problems`` (``[{where,
    code, message, severity, line}]``), ``status`` (``idle`` | ``running`` | the outcome's
    status | ``error``), ``message`` (one line), ``running``, ``actors`` (``{id: {id,
    skill, scope, status, restarts, handled, failed}}``), ``log`` (the newest
    :data:`LOG_LIMIT` entries), ``live`` (messages seen as events), ``height`` (pixels).

    Args:
        throttle_s: seconds between pushes of live state to the front end (0: push on
            every event). Events always reach the Python-side state at once.
        log_limit: log entries kept.

    Raises:
        FrontEndMissing: ``static/agents.js`` is not built.
    """

    _esm = ESM
    _css = CSS if CSS.is_file() else ""

    name = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)
    graph: traitlets.Dict[str, Any] = traitlets.Dict({"nodes": [], "edges": []}).tag(sync=True)
    problems: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    actors = traitlets.Dict({}).tag(sync=True)
    log: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
    live = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(460).tag(sync=True)

    def __init__(self, *, throttle_s: float = 0.1, log_limit: int = LOG_LIMIT,
                 **kwargs: Any) -> None:
        if not ESM.is_file():
            raise FrontEndMissing(f"the agents view's front end {ESM} is not built "
                                  "(cd labextension && npm run build)")
        super().__init__(**kwargs)
        self.throttle_s = throttle_s
        self.log_limit = log_limit
        self._lock = threading.Lock()
        self._actors: dict[str, dict[str, Any]] = {}
        self._log: list[dict[str, Any]] = []
        self._live = 0
        self._flush_pending = False
        self._on_stop: list[Callable[[], Any]] = []
        self.on_msg(self._on_front_end)

    # -- from a system file ---------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, library: Any = None, **kwargs: Any) -> AgentsView:
        """The view of the system file at ``path``: its name, description, graph and
        problems (``llmos agents check``'s, with their line). An unreadable file gives an
        empty graph and its problem, never an exception."""
        from llmos_jupyter._actors.graph import system_view

        view = system_view(path, library)
        return cls(name=str(view["name"] or Path(path).name), description=view["description"],
                   graph=jsonable(view["graph"]), problems=jsonable(view["problems"]),
                   **kwargs)

    # -- the run's life -------------------------------------------------------------------
    def start(self, message: str = "running…") -> None:
        """A run begins: counters and log cleared, status ``running``."""
        with self._lock:
            self._actors, self._log, self._live = {}, [], 0
        with self.hold_sync():
            self.actors, self.log, self.live = {}, [], 0
            self.status, self.message, self.running = "running", message, True

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """The runtime's ``on_event`` (see :class:`~llmos_jupyter._actors.runtime.ActorSystem`):
        ``("message", log entry)`` appends to the log and counts the message on its
        receiver (``handled`` counts failed handler calls too, as the runtime does;
        ``failed`` those alone); ``("actor", {id, skill, scope, status, restarts,
        handled})`` sets the actor's status and counters (never lowering them). Other
        kinds are ignored."""
        with self._lock:
            if kind == "message":
                entry = _log_entry(data)
                a = self._actor(entry["receiver"])
                if not a.get("scope"):
                    a["scope"] = entry["scope"]
                if entry["status"] in ("handled", "failed"):
                    a["handled"] += 1
                if entry["status"] == "failed":
                    a["failed"] += 1
                self._log.append(entry)
                if len(self._log) > self.log_limit:
                    del self._log[:len(self._log) - self.log_limit]
                self._live += 1
            elif kind == "actor":
                a = self._actor(str(data.get("id", "")))
                for key in ("skill", "scope", "status"):
                    if data.get(key) is not None:
                        a[key] = str(data[key])
                a["restarts"] = max(a["restarts"], _num(data.get("restarts")))
                a["handled"] = max(a["handled"], _num(data.get("handled")))
            else:
                return
        self._schedule_flush()

    def _actor(self, actor_id: str) -> dict[str, Any]:
        a = self._actors.get(actor_id)
        if a is None:
            a = self._actors[actor_id] = {"id": actor_id, "status": "starting", "restarts": 0,
                                          "handled": 0, "failed": 0}
        return a

    def _schedule_flush(self) -> None:
        if self.throttle_s <= 0:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop: nothing to defer to
            self.flush()
            return
        with self._lock:
            if self._flush_pending:
                return
            self._flush_pending = True
        loop.call_later(self.throttle_s, self.flush)

    def flush(self) -> None:
        """Push the live state (actors, log, count) to the front end now."""
        with self._lock:
            self._flush_pending = False
            actors = {k: dict(v) for k, v in self._actors.items()}
            log, live = list(self._log), self._live
        with self.hold_sync():
            self.actors, self.log, self.live = actors, log, live

    def finish(self, outcome: RunOutcome) -> None:
        """The run ended: the outcome's message log and actor table (the runtime's own
        record) replace what the events built; status is the outcome's."""
        with self._lock:
            self._flush_pending = False
            actors = {k: dict(v) for k, v in self._actors.items()}
            for actor_id, a in (outcome.actors or {}).items():
                prev = actors.get(actor_id) or {"id": actor_id, "failed": 0}
                actors[actor_id] = {**prev, "id": actor_id,
                                    "skill": str(a.get("skill") or prev.get("skill") or ""),
                                    "scope": str(a.get("scope") or prev.get("scope") or ""),
                                    "status": str(a.get("status") or prev.get("status") or ""),
                                    "restarts": _num(a.get("restarts")),
                                    "handled": _num(a.get("handled"))}
            log = [_log_entry(m) for m in outcome.messages[-self.log_limit:]]
            self._actors, self._log = actors, log
            live = self._live
        first = (outcome.error or "").strip().splitlines()[:1]
        message = (f"{outcome.status} after {len(outcome.messages)} message(s) in "
                   f"{outcome.duration_s:.2f} s" + (f" · {first[0]}" if first else ""))
        with self.hold_sync():
            self.actors, self.log, self.live = actors, log, live
            self.status, self.message, self.running = outcome.status, message, False

    def fail(self, message: str) -> None:
        """The run could not start or broke (not an actor's failure: those end in an
        outcome): status ``error`` with ``message``."""
        self.flush()
        with self.hold_sync():
            self.status, self.message, self.running = "error", message, False

    def __repr__(self) -> str:
        # The text/plain of the widget's output (a front end without widgets shows it).
        return (f"AgentsView({self.name!r}, status={self.status!r}, messages={self.live}, "
                f"actors={len(self.actors)})")

    # -- the Stop button ------------------------------------------------------------------
    def on_stop(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when the front end's Stop button is pressed."""
        self._on_stop.append(callback)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("action") == "stop" and self.running:
            self.message = "stopping…"
            for cb in list(self._on_stop):
                cb()


class AgentsRun:
    """A system running as a task on the kernel's loop (what ``%agents run`` returns there).

    ``await run`` gives the :class:`RunOutcome` (a stop ends in status ``interrupted``);
    :meth:`result` gives it once :meth:`done`; :meth:`stop` cancels (the runtime calls
    every ``on_stop`` and records the run). An error that kept the system from running
    (an actor skill refused, say) is raised by both.
    """

    def __init__(self, task: asyncio.Task[RunOutcome], name: str, path: str,
                 view: AgentsView | None = None) -> None:
        self.task, self.name, self.path, self.view = task, name, path, view
        self._started = time.time()
        self._stopped: RunOutcome | None = None

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> RunOutcome:
        # Not `await self.task`: a task stopped before its first step is cancelled
        # without running a line of it, and awaiting it would raise CancelledError.
        await asyncio.wait([self.task])
        return self.result()

    def _stopped_outcome(self) -> RunOutcome:
        if self._stopped is None:
            self._stopped = RunOutcome("interrupted", error="stopped before the system started",
                                       name=self.name, started_at=self._started,
                                       duration_s=time.time() - self._started)
        return self._stopped

    def done(self) -> bool:
        """True once the system ended (or could not start)."""
        return self.task.done()

    def result(self) -> RunOutcome:
        """The outcome.

        Raises:
            RuntimeError: the system still runs (``await`` the handle in a cell instead:
                blocking here would stop the loop the actors run on).
            Exception: what kept the system from running.
        """
        if not self.task.done():
            raise RuntimeError(f"the actor system {self.name!r} is still running: "
                               "`await` this handle in a cell, or `%agents stop`")
        if self.task.cancelled():
            return self._stopped_outcome()
        return self.task.result()

    @property
    def outcome(self) -> RunOutcome | None:
        """The outcome when done (``None`` while running, or when the run raised)."""
        if not self.task.done():
            return None
        if self.task.cancelled():
            return self._stopped_outcome()
        if self.task.exception() is not None:
            return None
        return self.task.result()

    def stop(self) -> bool:
        """Cancel the run; False when it had already ended."""
        if self.task.done():
            return False
        if self.view is not None:
            self.view.message = "stopping…"
        return self.task.cancel()

    def __repr__(self) -> str:
        if not self.task.done():
            state = "running"
        elif self.outcome is not None:
            state = self.outcome.status
        else:
            state = "error"
        return f"<AgentsRun {self.name!r} ({self.path}): {state}>"


def _follow(view: AgentsView, kwargs: dict[str, Any]) -> None:
    """Start ``view`` and have it see every event of the run ``kwargs`` configure (before
    an ``on_event`` already there)."""
    view.start()
    prior = kwargs.pop("on_event", None)

    def on_event(kind: str, data: dict[str, Any]) -> None:
        view.on_event(kind, data)
        if prior is not None:
            prior(kind, data)

    kwargs["on_event"] = on_event


def run_followed(path: str | Path, input: Any = None, *, view: AgentsView,
                 **kwargs: Any) -> RunOutcome:
    """:func:`~llmos_jupyter._actors.run.run_file` (blocking) with ``view`` following the
    run: the form of :func:`start_run` where no loop may run it in the background (plain
    IPython, Pyodide's ``run_sync``). Whatever ``run_file`` raises is shown on the view,
    then raised."""
    from llmos_jupyter._actors.run import run_file

    _follow(view, kwargs)
    try:
        outcome = run_file(path, input, **kwargs)
    except BaseException as exc:  # a Ctrl-C too: the view must not say "running" on
        view.fail(f"{type(exc).__name__}: {exc}")
        raise
    view.finish(outcome)
    return outcome


def start_run(path: str | Path, input: Any = None, *, view: AgentsView | None = None,
              on_done: Callable[[AgentsRun], Any] | None = None,
              loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> AgentsRun:
    """Start :func:`~llmos_jupyter._actors.run.arun_file` as a task on ``loop`` (default:
    the running one) and return its handle at once; ``view`` follows the run (its Stop
    button cancels it); ``on_done(handle)`` is called when it ends. ``kwargs`` pass on to
    ``arun_file`` (``timeout_s``, ``llm_client``, ``library``…).

    Raises:
        RuntimeError: no running loop and none given.
    """
    from llmos_jupyter._actors.run import arun_file

    loop = loop or asyncio.get_running_loop()
    name = view.name if view is not None and view.name else Path(path).stem
    if view is not None:
        _follow(view, kwargs)

    async def body() -> RunOutcome:
        try:
            outcome = await arun_file(path, input, **kwargs)
        except Exception as exc:
            if view is not None:
                view.fail(f"{type(exc).__name__}: {exc}")
            raise
        if view is not None:
            view.finish(outcome)
        return outcome

    task = loop.create_task(body(), name=f"llmos-agents:{name}")
    handle = AgentsRun(task, name, str(path), view)
    if view is not None:
        view.on_stop(handle.stop)

    def done(t: asyncio.Task[RunOutcome]) -> None:
        # The runtime turns a cancel into its own "interrupted" outcome; only a task
        # stopped before the runtime took over ends cancelled.
        if t.cancelled():
            if view is not None:
                view.finish(handle.result())
        else:
            t.exception()  # retrieved: no "exception was never retrieved" warning
        if on_done is not None:
            on_done(handle)

    task.add_done_callback(done)
    return handle
