"""The ``dask`` executor: each ready node is one ``client.submit`` on a ``distributed``
cluster, where it runs in a child process of a warm runner on the worker (``dask_task``).

* Cluster: ``scheduler`` (an address), else ``DASK_SCHEDULER_ADDRESS``, else
  ``[dask] scheduler`` of ``$LLMOS_HOME/config.toml``; an existing cluster is only
  connected to and never shut down. With none, a ``LocalCluster(processes=True,
  threads_per_worker=1, n_workers=workers or the CPU count)`` is started and
  :meth:`DaskExecutor.close` shuts it down.
* Task: ``client.submit(run_node_task, code, code_hash, path, line, inputs, trusted,
  limits, timeout, upstream=..., key=(skill_id, "run/node/cache-key"), pure=False,
  workers=...)``. The key's first element groups tasks by skill on the dashboard (a key
  prefix per run would make the scheduler's prefix bookkeeping grow with every run).
  Inputs are tagged JSON; nothing of the user's process is pickled but the task
  function's *name*. Only workers where that function's module imports get tasks (each
  worker probed once).
* Upstream results: with ``wired`` (the engine's), each successful node's result stays
  held on the cluster until ``release_run``; a downstream input wired from it is passed
  as the future (``upstream``), so the value goes worker to worker.
* Cancel: the client sets ``distributed.Event("llmos-cancel-<run id>")``; the task's
  watcher thread sees it and the worker kills the node's process. A task still queued
  starts, sees the event and returns at once.
* Resources: a skill's ``resources: {cpu, memory, gpu}`` become Dask resources ``CPU``,
  ``MEMORY`` (bytes) and ``GPU`` — only those some worker of the cluster declares
  (``dask worker ADDRESS --resources "GPU=1,MEMORY=16e9"``); the others are ignored with a
  debug log, so a skill asking for a GPU still runs on a cluster that declares none.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from llmos_jupyter._executors.base import Executor
from llmos_jupyter._executors.errors import (
    ExecutorUnavailable,
    TransferError,
    WorkerLost,
    WorkerMissingPackage,
)
from llmos_jupyter._isolation import (
    IsolationError,
    NodeCancelled,
    NodeCrashed,
    NodeRun,
    NodeTimedOut,
    SandboxUnavailable,
    SkillRaised,
)

__all__ = ["DaskExecutor", "config_scheduler"]

_log = logging.getLogger("llmos_jupyter.executors")
_TICK = 0.05  # seconds between cancel checks while waiting for a task
_CANCEL_GRACE = 10.0  # seconds a cancelled task gets to report before it is abandoned
_RESOURCE_NAMES = {"cpu": "CPU", "memory": "MEMORY", "gpu": "GPU"}
_INSTALL = 'pip install "llmos-jupyter[dask]"'


def config_scheduler(home: Any = None) -> str | None:
    """``[dask] scheduler`` of ``$LLMOS_HOME/config.toml`` (``None`` when not set).

    Raises ``ValueError`` naming the file when it is not valid TOML."""
    from llmos_jupyter._config import config_section

    section = config_section("dask", home)  # ConfigError (a ValueError) names the file
    value = section.get("scheduler")
    return str(value) if value else None


class DaskExecutor(Executor):
    """Runs nodes as Dask tasks (see the module docstring).

    Args:
        workers: worker processes of the LocalCluster it starts (default: CPU count);
            ignored with an existing cluster.
        scheduler: the address of an existing scheduler (``tcp://host:8786``).

    Attributes:
        client: the ``distributed.Client``; ``cluster``: the LocalCluster it started or
        ``None``; ``dashboard_link``: the dashboard URL (``None`` without bokeh).

    Raises:
        ExecutorUnavailable: in Pyodide, or ``distributed`` is not installed.
        OSError / TimeoutError: the scheduler at ``scheduler`` does not answer (named).
    """

    name = "dask"
    passes_futures = True
    disconnect_grace = 10.0
    """Seconds without a connection to the scheduler before a waiting node fails (a client
    reconnects by itself meanwhile; a lost scheduler would otherwise hang the run)."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        import sys

        if sys.platform == "emscripten":
            raise ExecutorUnavailable("the dask executor cannot run in the browser (Pyodide "
                                      "has no processes or sockets); nodes run in the page")
        try:
            import distributed
        except ImportError:
            raise ExecutorUnavailable(f"the dask executor needs dask and distributed: "
                                      f"{_INSTALL}") from None
        if workers is not None and workers < 1:
            raise ValueError(f"workers={workers!r}: expected at least 1")
        address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or config_scheduler()
        self.cluster = None
        if address:
            try:
                self.client = distributed.Client(address, set_as_default=False, timeout=10)
            except (OSError, TimeoutError) as exc:
                raise type(exc)(f"cannot connect to the Dask scheduler at {address}: "
                                f"{exc}") from None
        else:
            try:
                self.cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, dashboard_address=":0", silence_logs=logging.WARNING)
            except RuntimeError as exc:  # "Nanny failed to start."
                raise ExecutorUnavailable(
                    f"could not start a Dask LocalCluster ({exc}). In a script, create the "
                    "engine under `if __name__ == \"__main__\":` — the workers are spawned "
                    "processes that import the script again") from None
            # Results straight from the workers (they are on this machine): without it each
            # node's result goes worker → scheduler → client, one more hop per node.
            self.client = distributed.Client(self.cluster, set_as_default=False,
                                             direct_to_workers=True)
        scheduler_rpc = self.client.scheduler  # None only on a client that never started
        if scheduler_rpc is None:
            raise ExecutorUnavailable("the Dask client has no scheduler connection")
        self.address = scheduler_rpc.address
        self.dashboard_link = self._dashboard()
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()
        self._resources_seen: tuple[float, set[str]] = (0.0, set())
        self._warned = False
        self._closed = False
        self._held: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._probe_lock = threading.Lock()
        self._probed: dict[str, bool] = {}
        self._usable: list[str] | None = None
        self._listed_at = float("-inf")
        self.on_node_event: Any = None
        """``callable(message)`` for live node events from the workers (``{"key",
        "status": "started", "worker", "time"}`` when a node starts on a worker rather than
        when it is queued; ``{"key", "status": "log", "text", "time"}`` for new output of a
        running node, bounded); set by the engine or a UI. Called on the client's thread."""
        from llmos_jupyter._executors.dask_task import TOPIC

        self.client.subscribe_topic(TOPIC, self._on_topic)

    def _on_topic(self, event: Any) -> None:
        callback = self.on_node_event
        if callback is None:
            return
        try:
            _, message = event
            callback(message)
        except Exception:  # noqa: BLE001 -- a UI's failure must not stop the client
            _log.debug("on_node_event failed", exc_info=True)

    def _dashboard(self) -> str | None:
        try:
            import bokeh  # noqa: F401 -- the dashboard is served only with bokeh
        except ImportError:
            return None
        try:
            return self.client.dashboard_link
        except Exception:  # noqa: BLE001 -- no dashboard on that scheduler
            return None

    @property
    def max_parallel(self) -> int:  # type: ignore[override]
        """Worker threads of the cluster now (at least 1)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 -- scheduler gone: the nodes will say so
            return 1

    # -- workers that can run our task --------------------------------------------------------
    required_module = "llmos_jupyter._executors.dask_task"
    """The module a worker must import to run a node (the task function's)."""
    recheck_s = 10.0
    """Seconds between re-listings of the cluster's workers (new ones are probed once)."""

    def _usable_workers(self) -> list[str] | None:
        """The workers where :attr:`required_module` imports, or ``None`` when that is all
        of them. Each worker is probed once (``client.run(find_spec, ...)``; the list is
        refreshed every :attr:`recheck_s` s): a task whose function does not unpickle on a
        worker breaks that worker's connection and the task never finishes (distributed
        2026.8), so such workers get no task. A worker that joins between two listings may
        still get one before it is probed."""
        import importlib.util

        with self._probe_lock:
            now = time.monotonic()
            if now - self._listed_at <= self.recheck_s:
                return self._usable
            workers = set(self.client.scheduler_info()["workers"])
            new = [w for w in workers if w not in self._probed]
            if new:
                found = self.client.run(importlib.util.find_spec, self.required_module,
                                        workers=new, on_error="return")
                for address in new:
                    spec = found.get(address)
                    self._probed[address] = spec is not None and not isinstance(spec,
                                                                                BaseException)
            usable = sorted(w for w in workers if self._probed.get(w))
            self._usable = None if len(usable) == len(workers) else usable
            self._listed_at = now
            return self._usable

    # -- resources -------------------------------------------------------------------------
    def _declared_resources(self) -> set[str]:
        seen_at, names = self._resources_seen
        if time.monotonic() - seen_at > 10.0:
            info = self.client.scheduler_info()
            names = set()
            for w in info.get("workers", {}).values():
                names.update((w.get("resources") or {}).keys())
            self._resources_seen = (time.monotonic(), names)
        return names

    def task_resources(self, wanted: dict[str, Any] | None) -> dict[str, float] | None:
        """A skill's ``resources`` as Dask resources the cluster declares (else ``None``)."""
        if not wanted:
            return None
        from llmos_jupyter._skills.model import memory_bytes

        declared = self._declared_resources()
        out: dict[str, float] = {}
        for name, value in wanted.items():
            dask_name = _RESOURCE_NAMES.get(str(name).lower(), str(name))
            if dask_name not in declared:
                _log.debug("resource %s=%s ignored: no worker of %s declares %s", name, value,
                           self.address, dask_name)
                continue
            out[dask_name] = float(memory_bytes(value) if dask_name == "MEMORY" else value)
        return out or None

    # -- running ---------------------------------------------------------------------------
    def run_node(self, skill: Any, inputs: dict[str, Any], *, trusted: bool, limits: Any,
                 timeout: float | None, cancel: threading.Event, key: str,
                 resources: dict[str, Any] | None = None,
                 wired: Any = None) -> NodeRun:
        """See :meth:`Executor.run_node`; ``key`` is ``run_id/node_id/cache_key``.

        ``wired`` (``{port: (upstream node, port)}``): an input wired from a node this
        executor ran in the same run is passed as that node's *future* — Dask hands the
        upstream result to the task on the worker — when the engine's value equals what
        the upstream node returned (same types), so the value never travels client →
        scheduler → worker. A caller that passes ``wired`` (``{}`` for a node without wired
        inputs) speaks this protocol: each successful node's result stays held on the
        cluster until :meth:`release_run` (the engine calls it when the run ends). Without
        ``wired`` nothing is held."""
        import dataclasses

        from llmos_jupyter._executors.dask_task import run_node_task
        from llmos_jupyter._isolation import worker as wire

        if self._closed:
            raise RuntimeError("this executor is closed")
        if cancel.is_set():
            raise NodeCancelled("cancelled")
        run_id, _, rest = key.partition("/")
        node_id = rest.partition("/")[0]
        upstream = self._upstream(run_id, inputs, wired)
        try:
            payload = wire.encode({k: v for k, v in inputs.items() if k not in upstream},
                                  "inputs")
        except TypeError as exc:
            raise TransferError(f"cannot send to a Dask worker: {exc}") from None
        event_name = f"llmos-cancel-{run_id}"
        lim = None if trusted or limits is None else dataclasses.asdict(limits)
        usable = self._usable_workers()
        if usable is not None and not usable:
            package = self.required_module.partition(".")[0]
            raise WorkerMissingPackage(
                f"no worker of the Dask cluster at {self.address} can import "
                f"{self.required_module}: install {package} there ({_INSTALL})",
                package=package)
        self._release((run_id, node_id))  # a retry of the node reuses its key
        t0 = time.perf_counter()
        future = self.client.submit(
            run_node_task, skill.code, skill.code_hash, skill.source_name, skill.code_line,
            payload, trusted, lim, timeout, skill_id=skill.skill_id,
            requires=list(skill.requires), cancel_event=event_name, node_key=key,
            upstream=upstream or None, live_log=self.on_node_event is not None,
            key=(skill.skill_id, key), pure=False, resources=self.task_resources(resources),
            workers=usable, allow_other_workers=False)
        held = False
        try:
            result = self._wait(future, cancel, event_name, key)
            run = self._outcome(result, (time.perf_counter() - t0) * 1e3)
            if self.keep_results and wired is not None:
                self._hold((run_id, node_id), future, run.outputs)
                held = True
            return run
        finally:
            if not held:
                future.release()  # the scheduler forgets the key: a retry can reuse it

    # -- upstream results held on the cluster ------------------------------------------------
    keep_results = True
    """Hold each successful node's result on the cluster for its downstream nodes (until
    :meth:`release_run`); ``False``: every value goes through the client."""
    max_held = 10_000
    """Results held at most (the oldest are released first): a bound for engines that do
    not call :meth:`release_run`."""

    def _hold(self, node: tuple[str, str], future: Any, outputs: dict[str, Any]) -> None:
        with self._lock:
            self._held[node] = (future, outputs)
            while len(self._held) > self.max_held:
                oldest = next(iter(self._held))
                self._held.pop(oldest)[0].release()

    def _release(self, node: tuple[str, str]) -> None:
        with self._lock:
            held = self._held.pop(node, None)
        if held is not None:
            held[0].release()

    def release_run(self, run_id: str) -> None:
        """Release the results of ``run_id`` held on the cluster. Idempotent."""
        with self._lock:
            nodes = [n for n in self._held if n[0] == run_id]
            futures = [self._held.pop(n)[0] for n in nodes]
        for future in futures:
            future.release()

    @property
    def held(self) -> dict[tuple[str, str], Any]:
        """``{(run id, node id): future}`` of the results held now (a copy)."""
        with self._lock:
            return {n: f for n, (f, _) in self._held.items()}

    def _upstream(self, run_id: str, inputs: dict[str, Any], wired: Any) -> dict[str, Any]:
        """``{port: (future, upstream port)}`` of the wired inputs whose upstream result is
        held here and equals the engine's value."""
        if not wired:
            return {}
        out = {}
        with self._lock:
            for port, (src, src_port) in wired.items():
                held = self._held.get((run_id, src))
                if held is None or port not in inputs:
                    continue
                future, outputs = held
                if src_port in outputs and _same(outputs[src_port], inputs[port]):
                    out[port] = (future, src_port)
        return out

    def _wait(self, future: Any, cancel: threading.Event, event_name: str,
              key: str) -> dict[str, Any]:
        from concurrent.futures import CancelledError

        from distributed import Event
        from distributed.scheduler import KilledWorker

        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        give_up = None
        cut_since: float | None = None
        while not done.wait(_TICK):
            if self.client.status != "running":
                now = time.monotonic()
                cut_since = cut_since or now
                if now - cut_since > self.disconnect_grace:
                    raise WorkerLost(f"lost the connection to the Dask scheduler at "
                                     f"{self.address} while the node ran (client "
                                     f"{self.client.status})")
            else:
                cut_since = None
            if cancel.is_set() and give_up is None:
                with self._lock:
                    self._cancelled.add(event_name)
                try:
                    Event(event_name, client=self.client).set()
                except Exception:  # noqa: BLE001, S110 -- the scheduler is gone: abandon below
                    pass
                give_up = time.monotonic() + _CANCEL_GRACE
            if give_up is not None and time.monotonic() > give_up:
                self.client.cancel(future)
                raise NodeCancelled("cancelled (the worker did not report back; the task "
                                    "was abandoned)")
        try:
            result = future.result()
        except KilledWorker as exc:
            raise WorkerLost(f"worker lost while running ({exc})") from None
        except CancelledError as exc:
            if cancel.is_set():
                raise NodeCancelled("cancelled") from None
            # Not ours: the scheduler dropped the task (it closed, or the connection broke).
            raise WorkerLost(f"lost the connection to the Dask scheduler at {self.address}: "
                             f"the task was cancelled there ({exc or 'no reason given'})"
                             ) from None
        except ModuleNotFoundError as exc:
            raise WorkerMissingPackage(
                f"{exc} on the Dask worker: install llmos-jupyter there ({_INSTALL})",
                package=exc.name or "") from None
        except Exception as exc:  # noqa: BLE001 -- anything else the cluster raised
            kind = type(exc).__name__
            if "serializ" in str(exc).lower() or "pickl" in str(exc).lower():
                raise TransferError(f"{kind}: {exc}") from None
            raise IsolationError(f"the Dask task {key} failed: {kind}: {exc}") from None
        if not isinstance(result, dict):
            raise TransferError(f"the Dask task {key} returned {type(result).__name__}")
        return result

    def _outcome(self, result: dict[str, Any], ms: float) -> NodeRun:
        from llmos_jupyter._isolation import worker as wire

        if result.get("ok"):
            warning = result.get("warning")
            if warning and not self._warned:
                self._warned = True
                _log.warning("on the Dask worker %s: %s", result.get("worker"), warning)
            try:
                outputs = wire.decode(result["outputs"])
            except (TypeError, ValueError, KeyError) as exc:
                raise TransferError(f"malformed outputs from the worker: {exc}") from None
            return NodeRun(outputs, result.get("log", ""), ms, result.get("cpu_s", 0.0),
                           result.get("maxrss_kib", 0))
        kind = result.get("kind", "")
        reason = result.get("reason") or kind or "failed"
        log, tb = result.get("log", "") or "", result.get("traceback", "") or ""
        if kind == "SkillRaised":
            raise SkillRaised(reason, error_type=result.get("error_type", "Exception"),
                              log=log, traceback=tb)
        if kind == "WorkerMissingPackage":
            raise WorkerMissingPackage(f"on the Dask worker {result.get('worker', '')}: "
                                       f"{reason}", package=result.get("package", ""), log=log)
        classes = {"NodeTimedOut": NodeTimedOut, "NodeCancelled": NodeCancelled,
                   "NodeCrashed": NodeCrashed, "SandboxUnavailable": SandboxUnavailable,
                   "TransferError": TransferError}
        cls = classes.get(kind)
        if cls is not None:
            raise cls(reason, log=log, traceback=tb)
        raise IsolationError(f"on the Dask worker {result.get('worker', '')}: {kind}: {reason}",
                             log=log, traceback=tb)

    def close(self) -> None:
        """Disconnect; shut the LocalCluster down if this executor started it (an existing
        cluster keeps running). Idempotent."""
        if self._closed:
            return
        self._closed = True
        from distributed import Event

        with self._lock:
            names, self._cancelled = list(self._cancelled), set()
            self._held = {}
        for name in names:  # a set event would otherwise stay on the scheduler
            try:
                Event(name, client=self.client).clear()
            except Exception:  # noqa: BLE001, S110
                pass
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _same(a: Any, b: Any) -> bool:
    """``a`` and ``b`` are the same data, types included (``1 == 1.0`` is not enough: the
    downstream skill would see an int where the engine gave it a float). Compared as
    pickles (exact types, C speed: ≈65 ms for a million integers where a recursive Python
    comparison takes ≈0.5 s); a false "different" (equal dicts in another key order) only
    means the value is sent from the client."""
    import pickle

    if type(a) is not type(b) or a != b:
        return a is b  # (NaN != NaN: the very same object still counts)
    try:
        return pickle.dumps(a, protocol=5) == pickle.dumps(b, protocol=5)
    except Exception:  # noqa: BLE001 -- not picklable: not data, send the value
        return False
