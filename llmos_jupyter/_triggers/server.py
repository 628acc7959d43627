"""``llmos serve``: run workflows when their triggers fire (docs/triggers.md).

One :class:`TriggerServer` serves several workflows through one engine:

* **queues** — each workflow has a bounded FIFO (``max_queue`` pending runs) and one
  worker thread, so its runs go one at a time, in arrival order; different workflows run
  side by side. A trigger that finds the queue full is refused: a webhook answers 429, a
  file or schedule event is dropped with a log line.
* **schedule** — a thread sleeps until the earliest next cron time (``croniter``, UTC)
  and queues a run.
* **file** — a ``watchfiles`` watcher over the folders; a file that appears (created or
  moved in) and matches the pattern queues one run with its absolute path as the input.
* **webhook** — a Starlette app (served by uvicorn, ``127.0.0.1`` by default): ``POST
  PATH`` with a JSON body queues a run with the body as the input. Bodies over
  ``max_body`` bytes get 413, non-JSON 400, a value the input port refuses 422, a missing
  or wrong signature 401 (when the trigger has ``secret_env``), a full queue 429; else
  202 ``{"run_id", "status": "queued"}``, or with ``?wait=1`` 200 ``{"run_id", "status",
  "trace", "error"}`` once the run is over.

Every run goes through :meth:`Engine.run` and writes its trace. The run id says what
triggered it: ``KIND-INDEX-HEX`` (``webhook-2-3fa9c1d2e4b5`` = ``triggers[2]``, a webhook;
see :func:`trigger_of_run`), which is how ``llmos serve --list`` finds a trigger's last runs
in the traces. A failing or invalid run is logged and the worker goes on.

Signature (when ``secret_env`` is set): header ``X-Llmos-Signature: sha256=<hex>``, the
lowercase hex HMAC-SHA256 of the raw request body keyed with the UTF-8 bytes of the
environment variable's value; compared in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._triggers.spec import (
    FileTrigger,
    ScheduleTrigger,
    Trigger,
    WebhookTrigger,
    next_times,
    previous_time,
)
from llmos_jupyter._workflow.model import Workflow

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_QUEUE", "SIGNATURE_HEADER", "Job", "QueueFull",
           "Served", "TriggerServer", "last_runs", "sign", "trigger_of_run", "verify_signature"]

DEFAULT_MAX_QUEUE = 16
"""Pending runs per workflow before triggers are refused."""
DEFAULT_MAX_BODY = 2**20
"""Largest webhook body accepted (bytes, 1 MiB)."""
SIGNATURE_HEADER = "X-Llmos-Signature"
"""The webhook signature header: ``sha256=<hex HMAC-SHA256 of the raw body>``."""

_RUN_ID = re.compile(r"^(schedule|file|webhook)-(\d+)-[0-9a-f]{12}$")


class QueueFull(Exception):
    """The workflow already has ``max_queue`` runs waiting."""


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``"sha256=" + hex HMAC-SHA256``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant-time
    comparison; a missing or malformed header is ``False``)."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def trigger_of_run(run_id: str) -> tuple[str, int] | None:
    """``(kind, trigger index)`` of a run id made by this server, ``None`` for other runs."""
    m = _RUN_ID.match(run_id or "")
    return (m.group(1), int(m.group(2))) if m else None


@dataclass
class Served:
    """One workflow served: the loaded workflow, its file and its checked triggers."""

    workflow: Workflow
    path: Path | None
    triggers: list[Trigger]
    library: Any = None
    ports: dict[int, Any] = field(default_factory=dict)
    """``{trigger index: Port}`` of each file/webhook trigger's input (filled by the
    server, used to refuse an ill-typed webhook body with 422 before queueing)."""

    @property
    def name(self) -> str:
        return self.workflow.id


@dataclass
class Job:
    """One queued run. ``future`` resolves to the engine's ``RunResult`` or, when the run
    could not start (invalid workflow or input), to the exception."""

    served: Served
    trigger: Trigger
    run_id: str
    overrides: dict[str, Any]
    detail: str
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class _Worker:
    """One workflow's bounded queue and the thread that drains it."""

    def __init__(self, server: TriggerServer, served: Served, max_queue: int):
        self.server = server
        self.served = served
        self.queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, daemon=True,
                                           name=f"llmos-serve-{self.served.name}")
            self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self.queue.get()
            try:
                if job is None:
                    return
                self.server._run(job)
            finally:
                self.queue.task_done()


class TriggerServer:
    """Runs ``served`` workflows when their triggers fire.

    Args:
        served: the workflows (see :class:`Served`; :meth:`from_files` builds them).
        engine: the engine every run goes through (traces are written where it writes them).
        max_queue: pending runs per workflow before triggers are refused (at least 1).
        max_body: largest webhook body in bytes.
        log: called with one line per event (runs queued/finished/dropped, refused
            requests); lines never hold a webhook secret.
        now: the clock (aware UTC ``datetime``), replaceable in tests.
    """

    def __init__(self, served: Iterable[Served], engine: Any, *,
                 max_queue: int = DEFAULT_MAX_QUEUE, max_body: int = DEFAULT_MAX_BODY,
                 log: Callable[[str], None] | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue={max_queue!r}: expected at least 1")
        if max_body < 1:
            raise ValueError(f"max_body={max_body!r}: expected at least 1 byte")
        self.served = list(served)
        self.engine = engine
        self.max_queue = max_queue
        self.max_body = max_body
        self.log = log or (lambda line: None)
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.stop_event = threading.Event()
        self._workers = {id(s): _Worker(self, s, max_queue) for s in self.served}
        self._threads: list[threading.Thread] = []
        self.watch_ready = threading.Event()
        """Set once the file watcher is watching (files created before may be missed)."""
        self._seen: set[str] = set()
        self.jobs: collections.deque[Job] = collections.deque(maxlen=1000)
        """The last 1,000 jobs queued, oldest first (see :meth:`wait_jobs`)."""
        self._queued = threading.Condition()
        self._engine_takes_trigger: bool | None = None
        self.hooks: dict[str, tuple[Served, WebhookTrigger]] = {}
        for s in self.served:
            self._resolve_ports(s)
            for t in s.triggers:
                if isinstance(t, WebhookTrigger):
                    if t.path in self.hooks:
                        other = self.hooks[t.path][0]
                        raise ValueError(f"webhook path {t.path!r} is declared by both "
                                         f"{other.name!r} and {s.name!r}")
                    self.hooks[t.path] = (s, t)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], engine: Any, **kwargs: Any) -> TriggerServer:
        """Load and check each workflow file's triggers (:func:`spec.load_triggers`).

        Raises:
            WorkflowError: a file cannot be read; ``TriggerInvalid`` for bad triggers.
        """
        from llmos_jupyter._triggers.spec import load_triggers

        served = []
        for p in paths:
            wf, triggers = load_triggers(p, engine.library)
            served.append(Served(wf, Path(p).resolve(), triggers, engine.library))
        return cls(served, engine, **kwargs)

    def _resolve_ports(self, s: Served) -> None:
        lib = s.library if s.library is not None else self.engine.library
        nodes = {n.id: n for n in s.workflow.nodes}
        for t in s.triggers:
            if isinstance(t, ScheduleTrigger):
                continue
            node_id, port = t.input.split(".", 1)
            try:
                s.ports[t.index] = lib.get(nodes[node_id].skill).input_ports[port]
            except Exception:  # noqa: BLE001, S110 - inline skills: the engine checks at run time
                pass

    # -- queueing and running ------------------------------------------------------------
    def start(self) -> None:
        """Start the workflows' worker threads (idempotent)."""
        for w in self._workers.values():
            w.start()

    def submit(self, served: Served, trigger: Trigger, value: Any = None, *,
               detail: str = "", block: bool = False) -> Job:
        """Queue a run of ``served`` for ``trigger`` (``value`` goes to its input port).

        Raises:
            QueueFull: ``max_queue`` runs are already waiting (only when ``block`` is false).
        """
        overrides: dict[str, Any] = {}
        if isinstance(trigger, ScheduleTrigger):
            overrides.update(trigger.overrides)
        else:
            overrides[trigger.input] = value
        job = Job(served, trigger, f"{trigger.type}-{trigger.index}-{uuid.uuid4().hex[:12]}",
                  overrides, detail)
        try:
            self._workers[id(served)].queue.put(job, block=block)
        except queue.Full:
            raise QueueFull(f"{served.name}: {self.max_queue} runs already queued") from None
        with self._queued:
            self.jobs.append(job)
            self._queued.notify_all()
        self.log(f"{served.name}: queued run {job.run_id} ({trigger.label}{detail})")
        return job

    def wait_jobs(self, n: int, timeout: float | None = None) -> list[Job]:
        """Block until at least ``n`` jobs have been queued since the start (or
        ``timeout`` seconds pass); returns :attr:`jobs` as a list."""
        with self._queued:
            self._queued.wait_for(lambda: len(self.jobs) >= n, timeout)
            return list(self.jobs)

    def _run(self, job: Job) -> None:
        """Run one job; never raises (a failing run must not stop the server)."""
        if not job.future.set_running_or_notify_cancel():
            return
        name = job.served.name
        try:
            result = self.engine.run(job.served.workflow, job.overrides, run_id=job.run_id,
                                     **self._trigger_kwargs(job))
        except BaseException as exc:
            from llmos_jupyter._redact import redact

            self.log(f"{name}: run {job.run_id} could not start: "
                     f"{redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__}")
            job.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        failed = [f"{n}: {r.error}" for n, r in result.nodes.items() if r.status == "failed"]
        where = f", trace {result.trace}" if result.trace else ""
        why = f" ({failed[0]})" if failed else ""
        self.log(f"{name}: run {job.run_id} {result.status}{why}{where}")
        job.future.set_result(result)

    def _trigger_kwargs(self, job: Job) -> dict[str, Any]:
        """``{"trigger": {...}}`` for an engine whose ``run`` records what triggered a run
        in the trace (a ``trigger`` keyword), else ``{}``: the run id says it anyway."""
        if self._engine_takes_trigger is None:
            import inspect

            try:
                params = inspect.signature(self.engine.run).parameters
                self._engine_takes_trigger = "trigger" in params
            except (TypeError, ValueError):
                self._engine_takes_trigger = False
        if not self._engine_takes_trigger:
            return {}
        return {"trigger": {"type": job.trigger.type, "index": job.trigger.index,
                            "detail": job.detail.removeprefix(": ")}}

    def join(self) -> None:
        """Wait until every queued run has finished."""
        for w in self._workers.values():
            w.queue.join()

    def stop(self) -> None:
        """Stop the schedule and file threads and the workers (after their current run)."""
        self.stop_event.set()
        for w in self._workers.values():
            if w.thread is None:
                continue
            while True:  # runs still waiting are dropped, not run after the stop
                try:
                    job = w.queue.get_nowait()
                except queue.Empty:
                    break
                w.queue.task_done()
                if job is not None and job.future.cancel():
                    self.log(f"{job.served.name}: dropped queued run {job.run_id} (stopping)")
            w.queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
        for w in self._workers.values():
            if w.thread is not None:
                w.thread.join(timeout=60)

    def _fire(self, served: Served, trigger: Trigger, value: Any = None, detail: str = "",
              block: bool = False) -> Job | None:
        """Queue a schedule/file run, or drop it with a log line when the queue is full."""
        try:
            return self.submit(served, trigger, value, detail=detail, block=block)
        except QueueFull:
            self.log(f"{served.name}: dropped {trigger.label}{detail}: {self.max_queue} runs "
                     "already queued")
            return None

    # -- --once ---------------------------------------------------------------------------
    def pending(self, traces: str | Path | None = None) -> list[tuple[Served, Trigger, Any, str]]:
        """What ``--once`` runs: for each ``file`` trigger, the matching files already in
        its folder that no completed run of this workflow was given (per the traces in
        ``traces``); for each ``schedule`` trigger, one run when a fire time has passed
        since its last run (or it never ran). Webhooks have nothing pending."""
        from llmos_jupyter._trace.record import read_run_records

        history = list(read_run_records(traces)) if traces is not None else []
        out: list[tuple[Served, Trigger, Any, str]] = []
        for s in self.served:
            runs = [r for r in history if r.workflow_id == s.workflow.id]
            for t in s.triggers:
                if isinstance(t, FileTrigger):
                    node, port = t.input.split(".", 1)
                    done = {r.overrides.get(node, {}).get(port) for r in runs
                            if r.status == "completed"
                            and isinstance(r.overrides.get(node), Mapping)}
                    for f in _matching_files(t):
                        if str(f) not in done:
                            out.append((s, t, str(f), f": {f.name}"))
                elif isinstance(t, ScheduleTrigger):
                    mine = [r.started for r in runs if r.started is not None
                            and trigger_of_run(r.run_id) == ("schedule", t.index)]
                    due = previous_time(t.cron, self.now())
                    if not mine or max(mine) < due:
                        out.append((s, t, None, f": due {due:%Y-%m-%d %H:%M} UTC"))
        return out

    def run_once(self, traces: str | Path | None = None) -> int:
        """Run what is pending (:meth:`pending`), one at a time per workflow, and return
        0 when every run completed (or there was nothing to do), else 1."""
        jobs = []
        self.start()
        try:
            for s, t, value, detail in self.pending(traces):
                # Blocking put: nothing piles up here, every pending item gets its run.
                job = self._fire(s, t, value, detail, block=True)
                if job is not None:
                    jobs.append(job)
            ok = True
            for job in jobs:
                try:
                    ok &= job.future.result().status == "completed"
                except Exception:  # noqa: BLE001 - already logged by _run
                    ok = False
        finally:
            self.stop()
        if not jobs:
            self.log("nothing pending")
        return 0 if ok else 1

    # -- schedule and file threads -------------------------------------------------------
    def _schedule_loop(self) -> None:
        items = [(s, t) for s in self.served for t in s.triggers if isinstance(t, ScheduleTrigger)]
        due = {id(t): next_times(t.cron, self.now())[0] for _, t in items}
        while not self.stop_event.is_set():
            now = self.now()
            for s, t in items:
                if due[id(t)] <= now:
                    self._fire(s, t, detail=f": {due[id(t)]:%Y-%m-%d %H:%M} UTC")
                    due[id(t)] = next_times(t.cron, now)[0]
            wait = min(due.values()) - self.now()
            # Wake at least once a minute: the wall clock may jump (suspend, NTP).
            self.stop_event.wait(max(0.0, min(wait.total_seconds(), 60.0)))

    def _watch_loop(self) -> None:
        import watchfiles

        items = [(s, t) for s in self.served for t in s.triggers if isinstance(t, FileTrigger)]
        folders = sorted({str(t.folder) for _, t in items})
        for _, t in items:  # files present at start are not new: --once handles those
            self._seen.update(str(f) for f in _matching_files(t))
        for changes in watchfiles.watch(*folders, stop_event=self.stop_event, debounce=300,
                                        rust_timeout=200, yield_on_timeout=True,
                                        recursive=False, raise_interrupt=False):
            self.watch_ready.set()
            for change, raw in sorted(changes, key=lambda c: c[1]):
                path = Path(raw)
                if change == watchfiles.Change.deleted:
                    self._seen.discard(str(path))
                    continue
                if (str(path) in self._seen or path.name.startswith(".")
                        or not path.is_file()):
                    continue
                for s, t in items:
                    if path.parent == t.folder and fnmatch.fnmatch(path.name, t.pattern):
                        self._seen.add(str(path))
                        self._fire(s, t, str(path), f": {path.name}")

    def start_sources(self) -> None:
        """Start the workers and the schedule and file threads (those with triggers)."""
        self.start()
        kinds = {t.type for s in self.served for t in s.triggers}
        for t in (t for s in self.served for t in s.triggers if isinstance(t, FileTrigger)):
            if not t.folder.is_dir():
                raise FileNotFoundError(f"triggers[{t.index}].path: the folder {t.folder} "
                                        "does not exist")
        for kind, target in (("schedule", self._schedule_loop), ("file", self._watch_loop)):
            if kind in kinds:
                th = threading.Thread(target=self._guarded(target), daemon=True,
                                      name=f"llmos-serve-{kind}")
                th.start()
                self._threads.append(th)

    def _guarded(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - say why a source stopped, keep serving
                self.log(f"{fn.__name__.strip('_')} stopped: {type(exc).__name__}: {exc}")
        return run

    # -- webhooks ------------------------------------------------------------------------
    def app(self) -> Any:
        """The Starlette app serving the webhook paths (``POST`` only)."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from llmos_jupyter._redact import register_secret

        def reply(code: int, **data: Any) -> JSONResponse:
            return JSONResponse(data, status_code=code)

        async def hook(request: Request) -> JSONResponse:
            served, trigger = self.hooks[request.url.path]
            name = served.name
            declared = request.headers.get("content-length")
            if declared is not None and not declared.isdigit():
                return reply(400, error="bad Content-Length header")
            if declared is not None and int(declared) > self.max_body:
                self.log(f"{name}: refused POST {trigger.path}: body over {self.max_body} bytes")
                return reply(413, error=f"body larger than {self.max_body} bytes")
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body:
                    self.log(f"{name}: refused POST {trigger.path}: "
                             f"body over {self.max_body} bytes")
                    return reply(413, error=f"body larger than {self.max_body} bytes")
            raw = bytes(body)
            if trigger.secret_env:
                secret = os.environ.get(trigger.secret_env)
                register_secret(secret)  # so redact() scrubs it from any log, trace or error
                if not secret:
                    self.log(f"{name}: refused POST {trigger.path}: ${trigger.secret_env} is "
                             "not set")
                    return reply(503, error="the webhook's secret is not configured")
                if not verify_signature(secret, raw, request.headers.get(SIGNATURE_HEADER)):
                    self.log(f"{name}: refused POST {trigger.path}: bad or missing signature")
                    return reply(401, error=f"bad or missing {SIGNATURE_HEADER} signature")
            try:
                value = json.loads(raw, parse_constant=_no_constant)
            except (ValueError, RecursionError) as exc:
                return reply(400, error=f"the body is not JSON: {str(exc)[:200]}")
            port = served.ports.get(trigger.index)
            if port is not None:
                from llmos_jupyter._workflow.validate import check_param

                why = check_param(port, value)
                if why:
                    return reply(422, error=f"{trigger.input}: {why}")
            try:
                client = request.client.host if request.client else "?"
                job = self.submit(served, trigger, value, detail=f": from {client}")
            except QueueFull as exc:
                self.log(f"{name}: refused POST {trigger.path}: {exc}")
                return reply(429, error=str(exc))
            if request.query_params.get("wait") not in ("1", "true", "yes"):
                return reply(202, run_id=job.run_id, status="queued")
            import asyncio

            try:
                result = await asyncio.wrap_future(job.future)
            except Exception as exc:  # noqa: BLE001 - the run could not start (invalid)
                from llmos_jupyter._redact import redact

                return reply(200, run_id=job.run_id, status="invalid", trace=None,
                             error=redact(str(exc)))
            failed = [f"{n}: {r.error}" for n, r in result.nodes.items() if r.status == "failed"]
            from llmos_jupyter._redact import redact

            return reply(200, run_id=job.run_id, status=result.status, trace=result.trace,
                         error=redact(failed[0]) if failed else None)

        routes = [Route(path, hook, methods=["POST"]) for path in self.hooks]
        return Starlette(routes=routes)

    def serve(self, host: str = "127.0.0.1", port: int = 8787,
              on_ready: Callable[[], None] | None = None) -> None:
        """Serve until interrupted (Ctrl-C / SIGTERM): workers, schedule and file threads,
        and the webhook app on ``host:port`` when any workflow declares a webhook.
        ``on_ready`` is called once SIGINT/SIGTERM stop the server cleanly (from then on a
        signal never kills it mid-way), before the sources start."""
        restore = _catch_stop_signals()
        try:
            if on_ready is not None:
                on_ready()
            self.start_sources()
            if self.hooks:
                import uvicorn

                config = uvicorn.Config(self.app(), host=host, port=port, log_level="warning",
                                        access_log=False, lifespan="off")
                # uvicorn handles SIGINT/SIGTERM itself (a graceful shutdown), then restores
                # the handlers found at start and re-raises the signal: ours, which ends
                # the wait below instead of SIGTERM's default (killing the process before
                # the workers are stopped).
                uvicorn.Server(config).run()
            else:
                while not self.stop_event.wait(3600):
                    pass
        except (_StopSignal, KeyboardInterrupt):
            pass
        finally:
            restore()
            self.log("stopping (after the runs in progress)")
            self.stop()


class _StopSignal(Exception):  # noqa: N818 - a signal, not an error
    """SIGINT or SIGTERM arrived: :meth:`TriggerServer.serve` stops."""


def _catch_stop_signals() -> Callable[[], None]:
    """Make SIGINT and SIGTERM raise :class:`_StopSignal` in the main thread; returns the
    function restoring the previous handlers (a no-op off the main thread, where signals
    cannot be handled)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        raise _StopSignal(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def last_runs(served: Served, traces: str | Path, n: int = 3) -> dict[int, list[Any]]:
    """``{trigger index: the last n RunRecords it started, newest first}`` from the
    trace notebooks in ``traces`` (runs recognised by :func:`trigger_of_run`)."""
    from llmos_jupyter._trace.record import read_run_records

    out: dict[int, list[Any]] = {t.index: [] for t in served.triggers}
    for r in read_run_records(traces, workflow=served.workflow.id):
        which = trigger_of_run(r.run_id)
        if which is not None and which[1] in out:
            out[which[1]].append(r)
    return {i: runs[::-1][:n] for i, runs in out.items()}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _matching_files(t: FileTrigger) -> list[Path]:
    """Files directly in the trigger's folder matching its pattern, by name (hidden files
    left out: editors' and downloads' temporary files)."""
    try:
        entries = sorted(os.scandir(t.folder), key=lambda e: e.name)
    except OSError:
        return []
    return [t.folder / e.name for e in entries
            if not e.name.startswith(".") and fnmatch.fnmatch(e.name, t.pattern) and e.is_file()]
