"""Executors: where the engine runs ready, cache-missing Python nodes.

The engine keeps order, validation, cache, events, retries and the trace; an executor only
runs one node per :meth:`Executor.run_node` call, from several engine threads at once.

* ``threads``: in the calling thread (trusted) or the isolated runner (untrusted), as the
  engine does without an executor; a timed-out trusted node cannot be killed.
* ``processes`` (:class:`ProcessExecutor`): each node in a child process: trusted ones in
  the warm node processes of a :class:`NodePool` (no fork per node), untrusted ones in a
  fresh sandboxed process; CPU-bound skills run in parallel; timeout/cancel kill the
  process.
* ``dask`` (:class:`DaskExecutor`): one ``client.submit`` per node on a ``distributed``
  cluster; on the worker the node runs in a child process the same way; upstream results
  stay on the cluster and reach downstream tasks as futures.

See docs/scale-out.md.
"""

from __future__ import annotations

import threading
from typing import Any

from llmos_jupyter._executors.base import Executor, SkillText
from llmos_jupyter._executors.errors import (
    ExecutorUnavailable,
    TransferError,
    WorkerLost,
    WorkerMissingPackage,
)
from llmos_jupyter._executors.node_pool import NodePool
from llmos_jupyter._isolation import NodeRun

__all__ = ["EXECUTORS", "Executor", "ExecutorUnavailable", "NodePool", "NodeRun", "SkillText",
           "ThreadExecutor", "TransferError", "WorkerLost", "WorkerMissingPackage",
           "make_executor"]

EXECUTORS = ("threads", "processes", "dask")


class ThreadExecutor(Executor):
    """Trusted nodes in the calling thread (their prints go to the log through the engine's
    stream routing when a run is active); untrusted ones on an isolated runner."""

    name = "threads"

    def __init__(self, workers: int | None = None) -> None:
        import os

        self.max_parallel = workers or max(2, min(8, os.cpu_count() or 2))
        self.dashboard_link = None
        self._lock = threading.Lock()
        self._isolated: dict[Any, Any] = {}

    def run_node(self, skill: Any, inputs: dict[str, Any], *, trusted: bool, limits: Any,
                 timeout: float | None, cancel: threading.Event, key: str,
                 resources: dict[str, Any] | None = None, wired: Any = None) -> NodeRun:
        """See :meth:`Executor.run_node`. A trusted node past ``timeout`` fails with
        ``NodeTimeout`` but its thread runs on (threads cannot be killed)."""
        import time

        from llmos_jupyter._engine.streams import capture_node
        from llmos_jupyter._isolation import IsolatedRunner, Limits, NodeCancelled

        del key, resources, wired
        if cancel.is_set():
            raise NodeCancelled("cancelled")
        if not trusted:
            lim = limits if limits is not None else Limits()
            with self._lock:
                runner = self._isolated.get((lim.network, lim.file_size))
                if runner is None:
                    runner = self._isolated[(lim.network, lim.file_size)] = IsolatedRunner(lim)
            return runner.run(skill, inputs, cancel=cancel, timeout=timeout, limits=lim)
        from llmos_jupyter._engine.engine import _call_with_timeout

        fn = skill.load_function()
        t0 = time.perf_counter()
        with capture_node() as log:
            outputs = fn(inputs) if timeout is None else _call_with_timeout(fn, inputs, timeout)
        if not isinstance(outputs, dict):
            raise TypeError(f"execute() returned {type(outputs).__name__}, expected a dict")
        return NodeRun(outputs, log.text(), (time.perf_counter() - t0) * 1e3, 0.0, 0)

    def close(self) -> None:
        with self._lock:
            runners, self._isolated = list(self._isolated.values()), {}
        for runner in runners:
            runner.close()


def make_executor(name: str, *, workers: int | None = None,
                  scheduler: str | None = None) -> Executor:
    """The executor called ``name``.

    Args:
        name: ``"threads"``, ``"processes"`` or ``"dask"``.
        workers: parallel nodes (``processes``/``threads``) or LocalCluster worker
            processes (``dask``); default: the CPU count.
        scheduler: a Dask scheduler address (``dask`` only); else ``DASK_SCHEDULER_ADDRESS``,
            else ``[dask] scheduler`` in ``$LLMOS_HOME/config.toml``, else a LocalCluster
            that ``close()`` shuts down. An existing cluster is never shut down.

    Raises:
        ValueError: an unknown name, ``workers < 1``, or ``scheduler`` for a non-Dask
            executor.
        ExecutorUnavailable: ``processes``/``dask`` in Pyodide, or ``dask`` without
            ``distributed`` installed (``pip install "llmos-jupyter[dask]"``).
    """
    import sys

    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}: expected one of {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers={workers!r}: expected a positive number")
    if scheduler and name != "dask":
        raise ValueError(f"a scheduler address only applies to the dask executor, not {name!r}")
    if name == "threads":
        return ThreadExecutor(workers)
    if sys.platform == "emscripten":
        raise ExecutorUnavailable(f"the {name} executor cannot run in the browser (Pyodide "
                                  "has no processes); nodes run in the page")
    if name == "processes":
        from llmos_jupyter._executors.processes import ProcessExecutor

        return ProcessExecutor(workers)
    from llmos_jupyter._executors.dask_executor import DaskExecutor

    return DaskExecutor(workers, scheduler)
