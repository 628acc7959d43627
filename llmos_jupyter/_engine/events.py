"""Run events: what the canvas, progress bars and the CLI listen to.

Kinds, in the order a run emits them::

    run_started    nodes = the node ids that will run (all start as "queued")
    node_started   a node begins executing (not emitted for cached or skipped nodes)
    node_finished  status "completed" (executed) or "cached" (outputs from the cache)
    node_failed    error = "ExceptionType: message"; the traceback is in the RunResult
    node_progress  a running node's progress: done of total (a ``map``'s items, a
                   ``loop``'s iterations of its maximum)
    node_log       text = new stdout/stderr of a running node (processes/dask executors,
                   at most every 50 ms per node); the whole log stays in NodeResult.log
    node_skipped   error = why (an upstream node failed, the run was cancelled, or
                   ``branch not taken``: the branch feeding it was not taken)
    run_finished   status "completed" | "failed" | "cancelled", trace = notebook path

Subscribers are called synchronously in the thread that ran the node, so they must be
quick and thread-safe; an exception in a subscriber is logged and never breaks the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Event", "EventBus", "EventKind", "Subscriber"]

log = logging.getLogger("llmos_jupyter.engine")

EventKind = Literal[
    "run_started", "node_started", "node_progress", "node_log", "node_finished",
    "node_failed", "node_skipped", "run_finished"
]


@dataclass(slots=True)
class Event:
    """One thing that happened during a run. Times are ``time.time()`` seconds.

    Treat events as read-only (not frozen only because frozen dataclasses are ~4× slower
    to build, and the engine builds two per node)."""

    kind: EventKind
    run_id: str
    node_id: str | None = None
    skill_id: str | None = None
    status: str | None = None
    duration_ms: float | None = None
    error: str | None = None
    nodes: tuple[str, ...] = ()
    outputs: dict[str, Any] | None = field(default=None, repr=False)
    trace: str | None = None
    time: float = field(default_factory=time.time)
    done: int | None = None
    total: int | None = None
    text: str | None = None
    dashboard: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``outputs`` left out: they may be large or binary)."""
        d = {"kind": self.kind, "run_id": self.run_id, "time": self.time}
        for key in ("node_id", "skill_id", "status", "duration_ms", "error", "trace", "text",
                    "dashboard"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.nodes:
            d["nodes"] = list(self.nodes)
        if self.total is not None:
            d["done"], d["total"] = self.done, self.total
        return d


Subscriber = Callable[[Event], Any]


class EventBus:
    """A list of subscribers; ``subscribe`` returns the function that unsubscribes."""

    def __init__(self) -> None:
        self._subscribers: tuple[Subscriber, ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def __bool__(self) -> bool:
        return bool(self._subscribers)

    def emit(self, event: Event, extra: Subscriber | None = None) -> None:
        # The tuple is replaced, never mutated, so iterating needs no lock.
        for callback in (*self._subscribers, extra) if extra else self._subscribers:
            try:
                callback(event)
            except Exception:  # a broken listener must not break the run
                log.exception("event subscriber %r failed on %s", callback, event.kind)
