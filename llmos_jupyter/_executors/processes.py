"""The ``processes`` executor: every node in a child process on this machine.

Trusted skills run in the warm node processes of a :class:`NodePool` (``node_pool.py``:
the user's environment, working directory and ``sys.path``; no fork per node; a timed-out
or cancelled node's process is killed and replaced). Untrusted ones go to the isolated
runner (``_isolation``): a sandboxed zygote (bubblewrap + rlimits) that forks a fresh
process per node, one zygote per distinct ``(network, file_size)`` of their limits, which
are fixed when a sandbox starts. CPU-bound Python skills run in parallel (no shared GIL)
and a timeout or cancel kills the node with everything it started.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from llmos_jupyter._executors.base import Executor
from llmos_jupyter._executors.node_pool import NodePool
from llmos_jupyter._isolation import IsolatedRunner, Limits, NodeCancelled, NodeRun

__all__ = ["ProcessExecutor"]

_log = logging.getLogger("llmos_jupyter.executors")
_TICK = 0.05  # seconds between cancel checks while a node waits for a free slot


class ProcessExecutor(Executor):
    """Runs nodes in child processes of warm local workers.

    Args:
        workers: nodes running at once (default: the CPU count); more callers wait.

    ``isolation_warning`` is set (and logged once) when untrusted nodes run without
    bubblewrap. Thread-safe; :meth:`close` kills the workers and any running node.
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers={workers!r}: expected at least 1")
        self.max_parallel = workers or os.cpu_count() or 1
        self.dashboard_link = None
        self.isolation_warning: str | None = None
        self._slots = threading.BoundedSemaphore(self.max_parallel)
        self._lock = threading.Lock()
        self._runners: dict[Any, IsolatedRunner | NodePool] = {}
        self._closed = False

    def _runner(self, trusted: bool, limits: Limits) -> IsolatedRunner | NodePool:
        key = "trusted" if trusted else (limits.network, limits.file_size)
        with self._lock:
            if self._closed:
                raise RuntimeError("this executor is closed")
            runner = self._runners.get(key)
            if runner is None:
                runner = self._runners[key] = (NodePool() if trusted
                                               else IsolatedRunner(limits))
        if not trusted and self.isolation_warning is None:
            warning = runner.isolation_warning  # starts the sandbox
            if warning:
                self.isolation_warning = warning
                _log.warning("%s", warning)
        return runner

    def run_node(self, skill: Any, inputs: dict[str, Any], *, trusted: bool, limits: Any,
                 timeout: float | None, cancel: threading.Event, key: str,
                 resources: dict[str, Any] | None = None,
                 wired: Any = None) -> NodeRun:
        """See :meth:`Executor.run_node`. ``resources`` are not enforced locally (the
        untrusted ``limits`` are); ``wired`` changes nothing here (one machine). A node's
        output (trusted or not) reaches :attr:`on_node_event` as ``{"key", "status":
        "log", "text", "time"}`` while it runs (bounded: ``_isolation.live_log``)."""
        del resources, wired
        lim = limits if limits is not None else Limits()
        runner = self._runner(trusted, lim)
        while not self._slots.acquire(timeout=_TICK):
            if cancel.is_set():
                raise NodeCancelled("cancelled")
        try:
            return runner.run(skill, inputs, cancel=cancel, timeout=timeout,
                              limits=None if trusted else lim, on_log=self.log_listener(key))
        finally:
            self._slots.release()

    def close(self) -> None:
        """Kill the warm workers and every node still running. Idempotent."""
        with self._lock:
            self._closed = True
            runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            runner.close()
