"""The executor protocol, and what a node sends to a remote worker instead of a ``Skill``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Self

from llmos_jupyter._isolation.runner import NodeRun

__all__ = ["Executor", "SkillText"]


class Executor:
    """Runs one ready node at a time per call; the engine calls :meth:`run_node` from
    several threads at once (up to :attr:`max_parallel`).

    Attributes:
        name: ``"threads"``, ``"processes"`` or ``"dask"``.
        max_parallel: how many nodes the engine should run at once with this executor.
        dashboard_link: the Dask dashboard URL, or ``None``.
    """

    name: str = "executor"
    max_parallel: int = 1
    dashboard_link: str | None = None
    passes_futures: bool = False
    """True when :meth:`run_node` uses ``wired`` (Dask: upstream results stay on the
    cluster and go to the downstream task as futures); the engine passes ``wired`` only
    then, so executors written before it keep working."""
    on_node_event: Any = None
    """``callable(message)`` for live node events, set by the engine or a UI; called from
    the executor's threads (keep it quick). Messages, ``key`` being ``run/node/cache-key``:
    ``{"key", "status": "started", "worker", "time"}`` (Dask: the node began on a worker)
    and ``{"key", "status": "log", "text", "time"}`` (new stdout/stderr of a running
    node, at most every 50 ms per node; the whole log still comes in ``NodeRun.log``)."""

    def log_listener(self, key: str) -> Any:
        """``on_log(text)`` for the node ``key`` that forwards to :attr:`on_node_event`
        (``None`` when nobody listens, so the node's log is not read while it runs)."""
        import time

        if self.on_node_event is None:
            return None

        def on_log(text: str) -> None:
            callback = self.on_node_event
            if callback is not None:
                callback({"key": key, "status": "log", "text": text, "time": time.time()})

        return on_log

    def release_run(self, run_id: str) -> None:
        """The run ``run_id`` is over: drop what was kept for it (Dask: the results held
        on the cluster for downstream nodes). Idempotent; a no-op by default."""

    def run_node(self, skill: Any, inputs: dict[str, Any], *, trusted: bool, limits: Any,
                 timeout: float | None, cancel: threading.Event, key: str,
                 resources: dict[str, Any] | None = None,
                 wired: Any = None) -> NodeRun:
        """Run one node of the Python ``skill`` on its resolved ``inputs``.

        Args:
            trusted: the user's own skill (a plain child process with the user's
                environment) or not (the bubblewrap sandbox with ``limits``).
            limits: ``_isolation.Limits`` of an untrusted node (``None``: the defaults);
                ignored for trusted nodes.
            timeout: wall-clock seconds (``None``: none); the node's process is killed.
            cancel: when set while the node runs, its process is killed.
            key: ``run_id/node_id/cache_key`` (the Dask task key).
            resources: the skill's ``resources`` frontmatter (``cpu``, ``memory``, ``gpu``).
            wired: ``{port: (upstream node id, upstream port)}`` of the inputs that come
                from wires (only passed when :attr:`passes_futures`); ``inputs`` still
                holds their values.

        Returns:
            :class:`NodeRun`: outputs as plain data, the node's stdout/stderr log, timings.

        Raises:
            SkillRaised, NodeCrashed, NodeTimedOut, NodeCancelled: as the isolated runner.
            WorkerLost, WorkerMissingPackage, TransferError: remote failures.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release what this executor started (idempotent)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} max_parallel={self.max_parallel}>"


@dataclass(frozen=True)
class SkillText:
    """The part of a ``Skill`` the isolated runner needs, rebuilt on a remote worker from
    the skill's source text: nothing else of the user's process is sent there."""

    skill_id: str
    code: str
    code_hash: str
    source_name: str
    code_line: int = 1
    requires: tuple[str, ...] = ()
    runtime: str = "python"
    path: Any = None
    resources: dict[str, Any] = field(default_factory=dict)
