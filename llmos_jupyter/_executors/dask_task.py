"""The Dask task: runs ON THE WORKER, one node in a child process of a warm local runner.

The client sends only data: the skill's code text, its hash, the file name and line for
tracebacks, the inputs as tagged JSON (``_isolation.worker.encode``), the trust flag, the
untrusted limits as a dict and the timeout. Dask pickles :func:`run_node_task` *by
reference* (module + name), so the worker needs ``llmos_jupyter`` installed and never gets
a function, closure or object of the user's process.

On the worker each process keeps one :class:`IsolatedRunner` per mode (trusted; untrusted
per ``(network, file_size)``), started on the first node: a warm zygote that forks a fresh
process per node. A timeout or cancel kills that process (a Dask task itself cannot be
stopped: dask/distributed#2617). Cancel arrives through a ``distributed.Event`` named by
the client, polled by one thread per worker process and run while its nodes run.

The task never raises for a node's failure: it returns ``{"ok": False, "kind": ..., ...}``
and the client raises the named error. (The isolation errors take keyword arguments and
would not survive pickling; and a failure is data, not a worker problem.)
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["TOPIC", "run_node_task"]

TOPIC = "llmos-node"
"""The ``log_event`` topic of node ``started`` events (``{"key", "status", "worker"}``)."""

_runners: dict[Any, Any] = {}
_runners_lock = threading.Lock()


def _runner(trusted: bool, limits: dict[str, Any] | None) -> Any:
    """This worker process's warm runner for the mode (kept for the process' lifetime; its
    zygote dies with the worker: the control socket closes)."""
    from llmos_jupyter._isolation import IsolatedRunner, Limits

    lim = Limits(**limits) if limits else Limits()
    key = "trusted" if trusted else (lim.network, lim.file_size)
    with _runners_lock:
        runner = _runners.get(key)
        if runner is None:
            runner = _runners[key] = (IsolatedRunner(trusted=True) if trusted
                                      else IsolatedRunner(lim))
    return runner, (None if trusted else lim)


class _Watch:
    """One thread per worker process and run: polls the run's ``distributed.Event`` and
    sets the cancel flag of every node of that run running here. Polling (``is_set``, a
    short scheduler call every 0.2 s) rather than a long ``wait``: a pending wait would be
    cut (and logged as an error by the scheduler) when the cluster closes."""

    def __init__(self, name: str, client: Any) -> None:
        self.name, self.client = name, client
        self.flags: set[threading.Event] = set()
        self.fired = False
        self.stopped = False
        threading.Thread(target=self._loop, name=f"llmos-watch-{name}", daemon=True).start()

    def _loop(self) -> None:
        try:
            from distributed import Event

            event = Event(self.name, client=self.client)
            while not self.stopped:
                if event.is_set():
                    with _watch_lock:
                        self.fired = True
                        for flag in self.flags:
                            flag.set()
                time.sleep(_POLL)
        except Exception:  # noqa: BLE001, S110 -- the scheduler is gone: timeouts still apply
            pass


_watches: dict[str, _Watch] = {}
_watch_lock = threading.Lock()
_POLL = 0.2  # seconds between checks of a run's cancel event


def _watch(name: str, client: Any, cancel: threading.Event) -> None:
    with _watch_lock:
        watch = _watches.get(name)
        if watch is None:
            watch = _watches[name] = _Watch(name, client)
        watch.flags.add(cancel)
        if watch.fired:
            cancel.set()


def _unwatch(name: str, cancel: threading.Event) -> None:
    with _watch_lock:
        watch = _watches.get(name)
        if watch is None:
            return
        watch.flags.discard(cancel)
        if not watch.flags:  # no node of that run runs here now
            watch.stopped = True
            del _watches[name]


def _failure(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "kind": type(exc).__name__,
            "reason": getattr(exc, "reason", None) or str(exc) or type(exc).__name__,
            "error_type": getattr(exc, "error_type", type(exc).__name__),
            "log": getattr(exc, "log", ""), "traceback": getattr(exc, "traceback", ""),
            "package": getattr(exc, "package", "")}


def run_node_task(code: str, code_hash: str, path: str, line: int, inputs: dict[str, Any],
                  trusted: bool, limits: dict[str, Any] | None, timeout: float | None, *,
                  skill_id: str, requires: list[str] | tuple[str, ...] = (),
                  cancel_event: str | None = None, node_key: str = "") -> dict[str, Any]:
    """Run one node on this worker; returns plain data (see the module docstring).

    Returns ``{"ok": True, "outputs": tagged JSON, "log", "duration_ms", "cpu_s",
    "maxrss_kib", "warning", "worker"}`` or ``{"ok": False, "kind": error class name,
    "reason", "error_type", "log", "traceback", "package"}``.
    """
    from llmos_jupyter._executors.base import SkillText
    from llmos_jupyter._isolation import worker as wire

    worker_address, client = "", None
    try:
        from distributed import get_client, get_worker

        worker = get_worker()
        client = get_client()
        worker_address = worker.address
        worker.log_event(TOPIC, {"key": node_key, "status": "started", "worker": worker_address,
                                 "time": time.time()})
    except Exception:  # noqa: BLE001, S110 -- not on a worker (tests call it directly)
        pass
    cancel = threading.Event()
    watching = bool(cancel_event and client is not None)
    if watching:
        _watch(cancel_event, client, cancel)  # type: ignore[arg-type]
    try:
        skill = SkillText(skill_id=skill_id, code=code, code_hash=code_hash, source_name=path,
                          code_line=int(line), requires=tuple(requires))
        try:
            decoded = wire.decode(inputs)
        except (TypeError, ValueError) as exc:
            return {"ok": False, "kind": "TransferError", "reason": f"inputs: {exc}",
                    "error_type": "TransferError", "log": "", "traceback": "", "package": ""}
        runner, lim = _runner(trusted, limits)
        try:
            run = runner.run(skill, decoded, cancel=cancel, timeout=timeout, limits=lim)
        except Exception as exc:  # noqa: BLE001 -- every node failure goes back as data
            out = _failure(exc)
            if type(exc).__name__ == "RequirementMissing":
                out["kind"] = "WorkerMissingPackage"
                out["package"] = getattr(exc, "package", "") or getattr(exc, "name", "")
            out["worker"] = worker_address
            return out
        try:
            outputs = wire.encode(run.outputs, "outputs")
        except TypeError as exc:
            return {"ok": False, "kind": "TransferError", "reason": str(exc),
                    "error_type": "TransferError", "log": run.log, "traceback": "",
                    "package": ""}
        return {"ok": True, "outputs": outputs, "log": run.log,
                "duration_ms": run.duration_ms, "cpu_s": run.cpu_s,
                "maxrss_kib": run.maxrss_kib, "worker": worker_address,
                "warning": None if trusted else runner.isolation_warning}
    finally:
        if watching:
            _unwatch(cancel_event, cancel)  # type: ignore[arg-type]
