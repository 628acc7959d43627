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
"""The ``log_event`` topic of live node events: ``{"key", "status": "started", "worker",
"time"}`` (only for a node still running after ``_STARTED_AFTER`` s, sent within ``_POLL``
s, ``time`` being when it started) and ``{"key", "status": "log", "text", "time"}``."""
_LOG_EVENT_MAX = 16 * 1024  # characters of output per live event (the full log comes at the end)

_runners: dict[Any, Any] = {}
_runners_lock = threading.Lock()


def _runner(trusted: bool, limits: dict[str, Any] | None) -> Any:
    """This worker process's warm runner for the mode (kept for the process' lifetime; its
    zygote dies with the worker: the control socket closes)."""
    from llmos_jupyter._executors.node_pool import NodePool
    from llmos_jupyter._isolation import IsolatedRunner, Limits

    lim = Limits(**limits) if limits else Limits()
    key = "trusted" if trusted else (lim.network, lim.file_size)
    with _runners_lock:
        runner = _runners.get(key)
        if runner is None:
            runner = _runners[key] = NodePool() if trusted else IsolatedRunner(lim)
    return runner, (None if trusted else lim)


class _StartReport:
    """A node's ``started`` event, sent at most once, with the time the node started, and
    the output it printed before that.

    Sent by the run's watch thread once the node has run ``_STARTED_AFTER`` s (so at most
    ``_POLL`` s late), or with its first output after that; a node that ends sooner sends
    no event at all — the engine emits its ``node_started`` when the result arrives, and
    the result carries the whole log. Each event is a worker → scheduler → client message:
    for a no-op node the ``started`` one cost as much as a tenth of Dask's own per-task
    work on a loaded 2-core machine, for a status nobody could see."""

    __slots__ = ("address", "done", "key", "lock", "pending", "sent", "started", "worker")

    def __init__(self, worker: Any, key: str) -> None:
        self.worker, self.key, self.address = worker, key, worker.address
        self.started = time.time()
        self.sent = self.done = False
        self.pending: list[str] = []  # output before the event went out (≤ live_log's cap)
        self.lock = threading.Lock()

    def _emit(self, message: dict[str, Any]) -> None:
        try:
            self.worker.log_event(TOPIC, message)
        except Exception:  # noqa: BLE001, S110 -- the worker is closing: the result says it all
            pass

    def send(self) -> None:
        """Send ``started`` (and the output held so far) unless sent or the node ended."""
        with self.lock:
            if self.sent or self.done:
                return
            self.sent = True
            held, self.pending = "".join(self.pending), []
        self._emit({"key": self.key, "status": "started", "worker": self.address,
                    "time": self.started})
        if held:
            self._emit({"key": self.key, "status": "log", "text": held, "time": time.time()})

    def log(self, text: str) -> None:
        """New output: held while the node is young, else sent (after ``started``)."""
        with self.lock:
            if self.done:
                return
            if not self.sent and time.time() - self.started < _STARTED_AFTER:
                self.pending.append(text)
                return
        self.send()
        self._emit({"key": self.key, "status": "log", "text": text, "time": time.time()})

    def drop(self) -> None:
        """The node ended: send nothing more (its result has the whole log)."""
        with self.lock:
            self.done = True
            self.pending = []


class _Watch:
    """One thread per worker process and run: polls the run's ``distributed.Event`` while
    nodes of that run run here and sets their cancel flags, and sends the ``started`` event
    of nodes that run longer than ``_STARTED_AFTER`` s. Polling (``is_set``, a short
    scheduler call every 0.2 s) rather than a long ``wait``: a pending wait would be cut
    (and logged as an error by the scheduler) when the cluster closes. The thread lingers
    ``_LINGER`` s after the run's last node here, so a run's next node does not pay a new
    thread and an immediate scheduler call (≈1.5-3.5 ms on a loaded 2-core machine)."""

    def __init__(self, name: str, client: Any) -> None:
        self.name, self.client = name, client
        self.flags: set[threading.Event] = set()
        self.starts: dict[threading.Event, _StartReport] = {}
        self.fired = False
        self.idle_since: float | None = None
        threading.Thread(target=self._loop, name=f"llmos-watch-{name}", daemon=True).start()

    def _loop(self) -> None:
        try:
            from distributed import Event

            event = Event(self.name, client=self.client)
            while True:
                with _watch_lock:
                    if not self.flags:
                        if time.monotonic() - (self.idle_since or 0.0) > _LINGER:
                            if _watches.get(self.name) is self:
                                del _watches[self.name]
                            return
                        busy = False
                    else:
                        busy = True
                if busy:
                    now = time.time()
                    with _watch_lock:
                        due = [r for r in self.starts.values()
                               if now - r.started >= _STARTED_AFTER]
                    for report in due:
                        report.send()
                if busy and event.is_set():
                    with _watch_lock:
                        self.fired = True
                        for flag in self.flags:
                            flag.set()
                time.sleep(_POLL)
        except Exception:  # noqa: BLE001 -- the scheduler is gone: timeouts still apply
            with _watch_lock:
                if _watches.get(self.name) is self:
                    del _watches[self.name]


_watches: dict[str, _Watch] = {}
_watch_lock = threading.Lock()
_POLL = 0.2  # seconds between checks of a run's cancel event
_LINGER = 10.0  # seconds a run's watch thread outlives the run's last node on this worker
_STARTED_AFTER = 0.05  # seconds a node runs before its watch sends its "started" event


def _watch(name: str, client: Any, cancel: threading.Event,
           start: _StartReport | None = None) -> None:
    with _watch_lock:
        watch = _watches.get(name)
        if watch is None:
            watch = _watches[name] = _Watch(name, client)
        watch.flags.add(cancel)
        if start is not None:
            watch.starts[cancel] = start
        watch.idle_since = None
        if watch.fired:
            cancel.set()


def _unwatch(name: str, cancel: threading.Event) -> None:
    with _watch_lock:
        watch = _watches.get(name)
        if watch is None:
            return
        watch.flags.discard(cancel)
        watch.starts.pop(cancel, None)
        if not watch.flags:  # no node of that run runs here now
            watch.idle_since = time.monotonic()


def _failure(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "kind": type(exc).__name__,
            "reason": getattr(exc, "reason", None) or str(exc) or type(exc).__name__,
            "error_type": getattr(exc, "error_type", type(exc).__name__),
            "log": getattr(exc, "log", ""), "traceback": getattr(exc, "traceback", ""),
            "package": getattr(exc, "package", "")}


def _log_sender(worker: Any, key: str, start: _StartReport | None = None) -> Any:
    """``on_log(text)`` that sends a running node's output to the client as events (through
    ``start`` when given: after its ``started`` event, nothing for a node that ended young)."""
    def on_log(text: str) -> None:
        if len(text) > _LOG_EVENT_MAX:
            cut = len(text) - _LOG_EVENT_MAX
            text = f"[... {cut} characters ...]\n" + text[cut:]
        if start is not None:
            start.log(text)
            return
        worker.log_event(TOPIC, {"key": key, "status": "log", "text": text,
                                 "time": time.time()})

    return on_log


def _forwarded(inputs: dict[str, Any], upstream: dict[str, Any] | None) -> dict[str, Any]:
    """``inputs`` (tagged JSON) with the wired ports taken from the upstream results."""
    if not upstream:
        return inputs
    merged = dict(inputs)
    for port, (result, src_port) in upstream.items():
        if not (isinstance(result, dict) and result.get("ok")
                and src_port in (result.get("outputs") or {})):
            raise ValueError(f"input {port!r}: the upstream result has no output "
                             f"{src_port!r}")
        merged[port] = result["outputs"][src_port]
    return merged


def run_node_task(code: str, code_hash: str, path: str, line: int, inputs: dict[str, Any],
                  trusted: bool, limits: dict[str, Any] | None, timeout: float | None, *,
                  skill_id: str, requires: list[str] | tuple[str, ...] = (),
                  cancel_event: str | None = None, node_key: str = "",
                  upstream: dict[str, Any] | None = None,
                  live_log: bool = True) -> dict[str, Any]:
    """Run one node on this worker; returns plain data (see the module docstring).

    ``inputs``: tagged JSON of the inputs the client sent; ``upstream``: ``{port:
    (upstream task's result, its output port)}`` for inputs taken from upstream results on
    the cluster. ``live_log``: send the node's output as it is written (bounded by
    ``_isolation.live_log``).

    Returns ``{"ok": True, "outputs": tagged JSON, "log", "duration_ms", "cpu_s",
    "maxrss_kib", "warning", "worker"}`` or ``{"ok": False, "kind": error class name,
    "reason", "error_type", "log", "traceback", "package"}``.
    """
    from llmos_jupyter._executors.base import SkillText
    from llmos_jupyter._isolation import worker as wire

    worker_address, client, worker, start = "", None, None, None
    try:
        from distributed import get_worker

        worker = get_worker()
        # The worker's client, kept by the worker: get_client() would look it up again
        # and log a "worker-get-client" event to the scheduler on every call.
        client = worker.client
        worker_address = worker.address
        start = _StartReport(worker, node_key)
    except Exception:  # noqa: BLE001, S110 -- not on a worker (tests call it directly)
        pass
    cancel = threading.Event()
    watching = bool(cancel_event and client is not None)
    if watching:
        _watch(cancel_event, client, cancel, start)  # type: ignore[arg-type]
    elif start is not None:
        start.send()  # no watch thread to send it later
    try:
        skill = SkillText(skill_id=skill_id, code=code, code_hash=code_hash, source_name=path,
                          code_line=int(line), requires=tuple(requires))
        try:
            tagged = _forwarded(inputs, upstream)
            # Trusted nodes take and give tagged JSON as it is (no decode + encode here);
            # the isolated runner of untrusted ones wants values.
            decoded = tagged if trusted else wire.decode(tagged)
        except (TypeError, ValueError) as exc:
            return {"ok": False, "kind": "TransferError", "reason": f"inputs: {exc}",
                    "error_type": "TransferError", "log": "", "traceback": "", "package": ""}
        runner, lim = _runner(trusted, limits)
        on_log = _log_sender(worker, node_key, start) if live_log and worker else None
        try:
            if trusted:
                run = runner.run(skill, decoded, cancel=cancel, timeout=timeout, on_log=on_log,
                                 tagged=True)
            else:
                run = runner.run(skill, decoded, cancel=cancel, timeout=timeout, limits=lim,
                                 on_log=on_log)
        except Exception as exc:  # noqa: BLE001 -- every node failure goes back as data
            out = _failure(exc)
            if type(exc).__name__ == "RequirementMissing":
                out["kind"] = "WorkerMissingPackage"
                out["package"] = getattr(exc, "package", "") or getattr(exc, "name", "")
            out["worker"] = worker_address
            return out
        try:
            outputs = run.outputs if trusted else wire.encode(run.outputs, "outputs")
        except TypeError as exc:
            return {"ok": False, "kind": "TransferError", "reason": str(exc),
                    "error_type": "TransferError", "log": run.log, "traceback": "",
                    "package": ""}
        return {"ok": True, "outputs": outputs, "log": run.log,
                "duration_ms": run.duration_ms, "cpu_s": run.cpu_s,
                "maxrss_kib": run.maxrss_kib, "worker": worker_address,
                "warning": None if trusted else runner.isolation_warning}
    finally:
        if start is not None:
            start.drop()  # ended before its watch sent "started": the result says it
        if watching:
            _unwatch(cancel_event, cancel)  # type: ignore[arg-type]
