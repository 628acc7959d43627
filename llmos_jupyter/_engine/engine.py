"""The engine: runs a validated workflow node by node, in topological order.

One engine serves every surface (CLI, magics, canvas, browser). A run:

1. validates the workflow against the library (:func:`plan`; nothing runs if invalid);
2. executes nodes in dependency order: with ``max_workers == 1`` in the caller's thread,
   otherwise on a thread pool where independent branches run in parallel;
3. resolves each node's inputs as skill defaults < node params < run-time overrides <
   wired upstream outputs, looks the node up in the content-addressed cache, and only
   executes it on a miss; checks the outputs against the declared ports;
4. emits events, records a :class:`NodeResult` per node, and writes the trace notebook.

Skills of other runtimes run through *runners*: ``Engine(runners={"javascript": fn})`` (or
``run(..., runners=...)`` for one run) makes ``plan()`` accept that runtime and calls
``fn(skill, inputs, *, cancel, timeout) -> dict`` instead of the Python code; the outputs
are checked, cached and reported exactly like a Python node's. The canvas registers one for
``javascript``/``threejs`` (executed in the browser); nowhere else are they accepted.

A failed node keeps its traceback, its dependents are ``skipped`` and every other branch
still runs. Cancellation takes effect at node boundaries: a running node finishes, nodes
not yet started are skipped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext as _nullcontext
from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmos_jupyter._engine.cache import MemoryCache, cache_key
from llmos_jupyter._engine.control import BRANCH_NOT_TAKEN, RetryPolicy
from llmos_jupyter._engine.data import OutputError, check_data, private_copy
from llmos_jupyter._engine.events import Event, EventBus, Subscriber
from llmos_jupyter._engine.requirements import check_requires
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._engine.streams import NodeLog, routing
from llmos_jupyter._engine.streams import _local as _stream_local
from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import LOCAL_RUNTIMES, Skill
from llmos_jupyter._skills.ports import check_value
from llmos_jupyter._workflow.model import Workflow
from llmos_jupyter._workflow.validate import Plan, plan

__all__ = ["ISOLATE_MODES", "Engine", "RunHandle", "Runner"]

ISOLATE_MODES = ("untrusted", "all", "none")
"""``Engine(isolate=...)``: which Python nodes run in an isolated worker process —
``untrusted`` skills only (the default), ``all`` nodes, or ``none`` (everything
in-process, as trusted code)."""

Runner = Callable[..., Any]
"""``runner(skill, inputs, *, cancel: threading.Event, timeout: float | None) -> dict``.

Runs one node of a non-Python runtime and returns its outputs (``dict`` of port → value),
or raises (the node fails with the exception's message). ``inputs`` are the resolved
inputs (defaults < params < overrides < wires; do not mutate them); ``cancel`` is the
run's cancel flag and ``timeout`` the engine's ``node_timeout`` in seconds (``None``: the
runner's own limit); the engine does not add its own timeout thread around a runner."""


class NodeTimeout(LlmosError):
    """A node ran longer than the engine's ``node_timeout``."""


def _default_workers() -> int:
    if sys.platform == "emscripten":
        return 1  # Pyodide has no threads: run in the caller's thread
    return max(2, min(8, (os.cpu_count() or 2)))


class Engine:
    """Runs workflows against one :class:`SkillLibrary`, with one cache and one event bus.

    Args:
        library: the skills nodes refer to (default: a fresh ``SkillLibrary()``).
        max_workers: thread-pool size; ``1`` runs every node in the caller's thread.
        cache: ``None`` for an in-memory LRU cache, ``False`` to disable caching, or any
            object with ``get(key)`` / ``put(key, outputs)``.
        node_timeout: seconds a node may run before it fails (``None``: no limit). A
            timed-out Python node's thread cannot be killed; it is abandoned and its
            result ignored.
        trace: write a trace notebook for every run unless a run says otherwise.
        trace_dir: where traces go (default ``<user volume>/traces``).
        runners: ``{runtime: Runner}`` for runtimes other than Python (see :data:`Runner`);
            ``plan()`` accepts exactly ``python`` plus these.
        isolate: ``"untrusted"`` (default), ``"all"`` or ``"none"``: which Python nodes run
            in an isolated worker (bubblewrap sandbox, rlimits, scrubbed environment; see
            ``llmos_jupyter._isolation``) instead of in this process. Trust is decided by
            ``llmos_jupyter._trust.is_trusted``.
        limits: the isolated workers' limits (``_isolation.Limits``; default: 2 GiB memory,
            no network, the node timeout). The user's, never the skill's.
        capture_output: collect what each node prints into its ``NodeResult.log`` instead
            of letting it reach the process' stdout/stderr.
        executor: where ready Python nodes run: ``"threads"`` (default: this process),
            ``"processes"`` (a local pool; each node in a child process that a timeout or
            cancel kills) or ``"dask"`` (a ``distributed`` cluster: ``scheduler`` or
            ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster for the engine's lifetime), or an
            executor object (``llmos_jupyter._executors``). The engine keeps order,
            validation, cache, events, retries and the trace either way.
        scheduler: the Dask scheduler address for ``executor="dask"``.
    """

    def __init__(
        self,
        library: SkillLibrary | None = None,
        *,
        max_workers: int | None = None,
        cache: Any = None,
        node_timeout: float | None = None,
        trace: bool = True,
        trace_dir: str | Path | None = None,
        runners: Mapping[str, Runner] | None = None,
        isolate: str = "untrusted",
        limits: Any = None,
        capture_output: bool = True,
        executor: Any = "threads",
        scheduler: str | None = None,
    ) -> None:
        if isolate not in ISOLATE_MODES:
            raise ValueError(f"isolate={isolate!r}: expected one of {', '.join(ISOLATE_MODES)}")
        if node_timeout is not None and not (node_timeout > 0 and node_timeout < float("inf")):
            raise ValueError(f"node_timeout={node_timeout!r}: expected a positive number of "
                             "seconds (or None for no limit)")
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers={max_workers!r}: expected at least 1")
        self.isolate = isolate
        self.limits = limits
        if isinstance(executor, str) and executor not in ("threads", "processes", "dask"):
            raise ValueError(f"executor={executor!r}: expected threads, processes or dask")
        self.executor = executor
        self.scheduler = scheduler
        self._executor_obj: Any = None if isinstance(executor, str) else executor
        self.capture_output = capture_output
        self.library = library if library is not None else SkillLibrary()
        self.max_workers = max_workers or _default_workers()
        self._workers_given = max_workers  # processes/dask size their pool by it when given
        self._runs: dict[str, _RunContext] = {}  # live runs, for events from remote workers
        # `is False`, not truthiness: an empty cache object has len() 0.
        self.cache = MemoryCache() if cache is None else (None if cache is False else cache)
        self.node_timeout = node_timeout
        self.trace = trace
        self.trace_dir = Path(trace_dir) if trace_dir is not None else None
        self.events = EventBus()
        self.runners: dict[str, Runner] = dict(runners or {})
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._isolation: Any = None

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event of every run; returns an unsubscriber."""
        return self.events.subscribe(callback)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="llmos-node")
            return self._pool

    @property
    def remote(self) -> bool:
        """True when Python nodes run on the ``processes`` or ``dask`` executor."""
        return self.executor != "threads"

    def node_executor(self) -> Any:
        """The executor object of ``processes``/``dask`` (created on first use and kept
        until :meth:`close`: a Dask cluster starts in 0.4-1.4 s)."""
        with self._pool_lock:
            if self._executor_obj is None:
                from llmos_jupyter._executors import make_executor

                self._executor_obj = make_executor(self.executor, workers=self._workers_given,
                                                   scheduler=self.scheduler)
            if getattr(self._executor_obj, "on_node_event", False) is None:
                # Ours, or a given one nobody listens to: its live events go to our runs.
                self._executor_obj.on_node_event = self._on_remote_event
            return self._executor_obj

    def _on_remote_event(self, message: Mapping[str, Any]) -> None:
        """Live events of the processes/dask executors: a node started on a Dask worker
        (not when it was queued) → its ``node_started``; new output of a running node →
        ``node_log`` with its ``text``."""
        key = str(message.get("key") or "")
        run_id, _, rest = key.partition("/")
        node_id = rest.partition("/")[0]
        ctx = self._runs.get(run_id)
        if ctx is None or node_id not in ctx.plan.skills:
            return
        when = float(message.get("time") or time.time())
        status = message.get("status")
        if status == "started":
            ctx.remote_started(node_id, when)
        elif status == "log" and isinstance(message.get("text"), str):
            ctx.emit(Event("node_log", run_id, node_id, ctx.plan.skills[node_id].skill_id,
                           "running", time=when, text=message["text"]))

    def _isolated_runner(self, limits: Any) -> Any:
        """The engine's warm isolated worker (started on the first untrusted node, kept
        for later runs: its cold start is 0.2-0.3 s). Each node passes its own limits."""
        with self._pool_lock:
            if self._isolation is None:
                from llmos_jupyter._isolation import IsolatedRunner

                self._isolation = IsolatedRunner(limits)
            return self._isolation

    def close(self) -> None:
        """Shut the thread pool and the isolated worker down (both are recreated when
        needed)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            isolation, self._isolation = self._isolation, None
            executor = None
            if isinstance(self.executor, str) and self._executor_obj is not None:
                executor, self._executor_obj = self._executor_obj, None
        if isolation is not None:
            isolation.close()
        if executor is not None:  # ours: a LocalCluster we started goes; a given one stays
            executor.close()

    # -- running -----------------------------------------------------------------------
    def run(
        self,
        workflow: Workflow | str | Path,
        overrides: Mapping[str, Any] | None = None,
        *,
        trace: bool | None = None,
        targets: Iterable[str] | None = None,
        cancel: threading.Event | None = None,
        on_event: Subscriber | None = None,
        run_id: str | None = None,
        runners: Mapping[str, Runner] | None = None,
        isolate: str | None = None,
        limits: Any = None,
        trusted_inline: bool = False,
        _context: list[Any] | None = None,
        _nested: bool = False,
        trigger: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run ``workflow`` and return its result (blocking).

        Args:
            workflow: a :class:`Workflow` or the path of a ``*.workflow.json``.
            overrides: run-time input values, ``{"node": {"port": v}}`` or
                ``{"node.port": v}``; they beat params and lose to wired inputs.
            trace: write the trace notebook (default: the engine's ``trace``).
            targets: run only these nodes and what they depend on.
            cancel: set this event to cancel the run at the next node boundary.
            on_event: an extra subscriber for this run only.
            runners: extra ``{runtime: Runner}`` for this run only (beat the engine's).
            isolate: this run's isolation mode (default: the engine's; see ``ISOLATE_MODES``).
            limits: this run's isolation limits (default: the engine's).
            trusted_inline: treat the workflow's inline skills as trusted: they are the
                cells the user just ran in their own kernel (the notebook session passes
                this); a workflow *file's* inline skills stay untrusted until signed.
            trigger: what started the run (``llmos serve``: ``{"type", "index",
                "detail"}``), kept on the result and in the trace.

        Raises:
            WorkflowInvalid: the workflow failed validation (nothing ran).
            WorkflowError: the workflow file could not be read.
        """
        if not isinstance(workflow, Workflow):
            workflow = Workflow.load(workflow)
        all_runners = {**self.runners, **runners} if runners else self.runners
        p = plan(workflow, self.library, overrides,
                 runtimes=LOCAL_RUNTIMES + tuple(r for r in all_runners if r not in LOCAL_RUNTIMES))
        selected = p.order
        if targets is not None:
            targets = list(targets)
            for t in targets:
                workflow.node(t)  # KeyError with the node list for an unknown target
            keep = workflow.upstream(targets)
            selected = [n for n in p.order if n in keep]
        isolate = self.isolate if isolate is None else isolate
        if isolate not in ISOLATE_MODES:
            raise ValueError(f"isolate={isolate!r}: expected one of {', '.join(ISOLATE_MODES)}")
        ctx = _RunContext(self, p, run_id or uuid.uuid4().hex[:12], cancel or threading.Event(),
                          on_event, all_runners, isolate,
                          self.limits if limits is None else limits)
        ctx.selected = selected
        ctx._trace = trace
        ctx.trusted_inline = trusted_inline
        ctx.trigger = dict(trigger) if trigger else None
        if _nested:  # a control node's inner run: its events stay off the engine's bus
            ctx._events = None
            trace = False
        if _context is not None:
            _context.append(ctx)
        self._runs[ctx.run_id] = ctx
        try:
            with (routing() if self.capture_output else _nullcontext()), _sigint_marker(ctx):
                # On Dask the dashboard link goes with the first event, so surfaces can
                # show it while the run goes (the cluster starts in node_executor()).
                dashboard = (getattr(self.node_executor(), "dashboard_link", None)
                             if self.remote and not _nested else None)
                ctx.emit(Event("run_started", ctx.run_id, nodes=tuple(selected),
                               dashboard=dashboard))
                loops = self.node_executor().max_parallel if self.remote else self.max_workers
                if loops == 1 or len(selected) <= 1:
                    for node_id in selected:
                        ctx.execute(node_id)
                else:
                    self._run_parallel(ctx, p, selected, loops)
        finally:
            self._runs.pop(ctx.run_id, None)
            release = getattr(self._executor_obj, "release_run", None) if self.remote else None
            if release is not None:  # Dask: the results it held on the cluster for this run
                release(ctx.run_id)
        return ctx.finish(self.trace if trace is None else trace)

    def start(self, workflow: Workflow | str | Path, overrides: Mapping[str, Any] | None = None,
              **kwargs: Any) -> RunHandle:
        """Start a run in a background thread; returns a :class:`RunHandle` to wait on or
        cancel. Validation errors surface from :meth:`RunHandle.result`."""
        return RunHandle(self, workflow, overrides, kwargs)

    def _run_parallel(self, ctx: _RunContext, p: Plan, selected: list[str],
                      loops: int | None = None) -> None:
        # W loops (W-1 on the pool + the calling thread) pull ready nodes from one queue.
        # After a node, its loop decrements the successors' in-degrees under one lock,
        # keeps one newly ready successor to run itself and queues the rest: a chain never
        # goes through the queue, a fan-out spreads over the loops.
        chosen = set(selected)
        indegree = {n: sum(1 for _, src, _ in p.incoming[n] if src in chosen) for n in selected}
        roots = [n for n in selected if indegree[n] == 0]
        remaining = len(selected)
        lock = threading.Lock()
        ready_q: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        loops = min(loops or self.max_workers, len(selected))
        failure: list[BaseException] = []

        def stop_all() -> None:
            for _ in range(loops):
                ready_q.put(None)

        def loop() -> None:
            nonlocal remaining
            while (node_id := ready_q.get()) is not None:
                try:
                    while node_id is not None:
                        ctx.execute(node_id)
                        ready = []
                        with lock:
                            remaining -= 1
                            for succ in p.successors[node_id]:
                                if succ in indegree:
                                    indegree[succ] -= 1
                                    if indegree[succ] == 0:
                                        ready.append(succ)
                            finished = remaining == 0
                        node_id = ready.pop() if ready else None
                        for other in ready:
                            ready_q.put(other)
                        if finished:
                            stop_all()
                except BaseException as exc:  # an engine bug: stop the run rather than hang it
                    failure.append(exc)
                    stop_all()
                    return

        for node_id in roots:
            ready_q.put(node_id)
        pool = self._executor() if loops <= self.max_workers else ThreadPoolExecutor(
            loops - 1, thread_name_prefix="llmos-remote")  # waits on remote nodes
        for _ in range(loops - 1):
            pool.submit(loop)
        # The caller's loop only sees a stop once every node is done (or on failure), so
        # no need to wait for the pool's loops: they drain their own stop markers.
        loop()
        if failure:
            raise failure[0]


class RunHandle:
    """A run in progress in a background thread (see :meth:`Engine.start`)."""

    def __init__(self, engine: Engine, workflow: Any, overrides: Any, kwargs: dict[str, Any]):
        self.run_id: str = kwargs.pop("run_id", None) or uuid.uuid4().hex[:12]
        self._cancel = threading.Event()
        self._future: Future[RunResult] = Future()
        self._context: list[_RunContext] = []

        def target() -> None:
            try:
                self._future.set_result(engine.run(workflow, overrides, cancel=self._cancel,
                                                   run_id=self.run_id, _context=self._context,
                                                   **kwargs))
            except BaseException as exc:
                self._future.set_exception(exc)

        if sys.platform == "emscripten":  # Pyodide has no threads: the run is over on return
            target()
            return
        thread = threading.Thread(target=target, name=f"llmos-run-{self.run_id}", daemon=True)
        thread.start()

    def cancel(self) -> None:
        """Skip every node that has not started yet and stop running ones where possible:
        isolated nodes' processes are killed; in-process Python nodes get a
        ``NodeCancelled`` raised at their next bytecode (code blocked inside a C call
        finishes that call first)."""
        self._cancel.set()
        for ctx in self._context:
            ctx.interrupt_running()

    def abandon(self) -> RunResult:
        """Give up on a cancelled run whose in-process nodes do not stop (code blocked in
        a C call such as ``time.sleep`` cannot be interrupted): the result and trace are
        made now from what finished, nodes still running are ``failed`` (abandoned) and
        the rest ``skipped``. Their threads go on in the background until they return."""
        self.cancel()
        if self._future.done() or not self._context:
            return self.result()
        return self._context[0].abandon()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> RunResult:
        """Wait for the run; re-raises validation errors."""
        return self._future.result(timeout)


_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NO_WIRES: Mapping[str, tuple[str, str]] = MappingProxyType({})


class _RunContext:
    """State of one run: results so far, the cancel flag, event emission."""

    def __init__(self, engine: Engine, p: Plan, run_id: str, cancel: threading.Event,
                 on_event: Subscriber | None, runners: Mapping[str, Runner],
                 isolate: str = "untrusted", limits: Any = None) -> None:
        self.engine = engine
        self.isolate = isolate
        self.limits = limits
        self._trusted: dict[int, bool] = {}
        self.trusted_inline = False
        self._config_limits: Any = None
        self._run_limits: Any = None
        self.isolation_warning: str | None = None
        # thread ident → node id of in-process nodes running now (for cancel)
        self._running: dict[int, str] = {}
        self._running_lock = threading.Lock()
        self.sigint_seen = False
        self._remote_started: set[str] = set()
        self._subruns: dict[str, list[dict[str, Any]]] = {}
        self.trigger: dict[str, Any] | None = None
        self._abandon_lock = threading.Lock()
        self._abandoned: RunResult | None = None
        self._trace: bool | None = None
        self.runners = runners
        self.plan = p
        self.run_id = run_id
        self.cancel = cancel
        self.on_event = on_event
        self.results: dict[str, NodeResult] = {}
        self.selected: list[str] = p.order  # the nodes this run runs (Engine.run narrows it)
        self.started_at = time.time()
        self._t0 = time.perf_counter()
        self._events = engine.events if (engine.events or on_event) else None

    def emit(self, event: Event) -> None:
        if self._events is not None:
            self._events.emit(event, self.on_event)

    def execute(self, node_id: str) -> None:
        p = self.plan
        skill = p.skills[node_id]
        node = p.nodes[node_id]
        results = self.results

        inputs = dict(skill.defaults)
        inputs.update(node.params)
        override = p.overrides.get(node_id)
        if override:
            inputs.update(override)
        for v in inputs.values():  # mutable defaults/params: the skill gets a copy
            if type(v) is list or type(v) is dict:
                inputs = {k2: private_copy(v2) for k2, v2 in inputs.items()}
                break
        values = inputs  # the non-wired inputs: what the cache key hashes
        wired: Mapping[str, tuple[str, str]] = _NO_WIRES
        upstream_keys = []
        incoming = p.incoming[node_id]
        if incoming:
            # Few allocations per node on purpose: at 10,000 nodes the garbage collector's
            # full passes are a third of the engine's overhead.
            values = dict(inputs)
            wired = {}
            untaken = 0
            for port, src, src_port in incoming:
                up = results.get(src)
                if up is not None and up.ok and src_port in up.outputs:
                    # The skill gets its own copy: mutating it cannot corrupt the upstream
                    # node's cached output (or what other dependents receive).
                    inputs[port] = private_copy(up.outputs[src_port])
                    values.pop(port, None)  # a wire beats a param; only the wire is in the key
                    wired[port] = (src, src_port)
                    upstream_keys.append((port, up.cache_key, src_port))
                elif up is not None and (up.ok or up.error == BRANCH_NOT_TAKEN):
                    # An untaken branch (see _engine/control.py): a required input makes the
                    # node skipped; an optional one is simply absent.
                    spec = skill.input_ports.get(port)
                    if spec is None or spec.required:
                        self._skip(node_id, skill, BRANCH_NOT_TAKEN)
                        return
                    untaken += 1
                    inputs.pop(port, None)
                    values.pop(port, None)
                    upstream_keys.append((port, "untaken", src_port))
                else:
                    why = "was cancelled" if self.cancel.is_set() else (
                        "failed" if up is not None and up.status == "failed" else "did not run")
                    self._skip(node_id, skill, f"upstream node {src!r} {why}")
                    return
            if untaken and untaken == len(incoming):
                self._skip(node_id, skill, BRANCH_NOT_TAKEN)
                return
        if self.cancel.is_set():
            self._skip(node_id, skill, "run cancelled")
            return

        cache = self.engine.cache
        control = p.controls.get(node_id) if p.controls else None
        if control in ("map", "loop", "subworkflow") or skill.frontmatter.get("cache") is False:
            # Not cached: a control node's files may change (its inner nodes are cached);
            # a skill that reads the outside world (files, a server) says `cache: false`.
            cache = None
        key = cache_key(skill.code_hash, values, upstream_keys) if cache is not None else None
        if key is not None and cache is not None:  # (key is None when cache is)
            hit = cache.get(key)
            if hit is not None:
                result = NodeResult(node_id, skill.skill_id, "cached", hit, inputs, wired,
                                    cache_key=key, started_at=time.time())
                results[node_id] = result
                self.emit(Event("node_finished", self.run_id, node_id, skill.skill_id, "cached",
                                0.0, outputs=hit))
                return

        started = time.time()
        if not (self.engine.executor == "dask" and skill.runtime == "python"):
            # (on Dask the worker says when the node really starts: _on_remote_event)
            self.emit(Event("node_started", self.run_id, node_id, skill.skill_id, "running",
                            time=started))
        t0 = time.perf_counter()
        isolated = False if control in ("map", "loop", "subworkflow") else \
            self._isolated(node_id, skill)
        log: str | None = None
        data = node.data_extra
        policy = RetryPolicy.of(data) if data else None
        attempt = 1
        try:
            while True:
                try:
                    outputs, log = self._dispatch(node_id, skill, inputs, isolated, key, control,
                                                  wired)
                    break
                except Exception as exc:
                    if policy is None or attempt >= policy.attempts or not policy.matches(exc) \
                            or self.cancel.is_set():
                        raise
                    # Wait (cancellable), then try again with fresh copies of the inputs.
                    if self.cancel.wait(policy.delay(attempt, exc)):
                        raise
                    attempt += 1
                    inputs = {k: private_copy(v) for k, v in inputs.items()}
        except BaseException as exc:
            # SystemExit, KeyboardInterrupt and GeneratorExit raised by a skill fail its node
            # only: the run's exit status is the run's, never the skill's.
            ms = (time.perf_counter() - t0) * 1e3
            error = _describe(exc)
            if isinstance(exc, NodeCancelled):
                error = "NodeCancelled: the run was cancelled while this node ran"
            # (by name: the package re-homes its public errors to module "llmos_jupyter",
            # and importing _isolation here would load it in Pyodide)
            from_child = any(c.__name__ == "IsolationError" for c in type(exc).__mro__)
            remote_tb = getattr(exc, "traceback", None) if from_child else None
            if from_child and hasattr(exc, "reason"):
                # An isolated node's failure: the skill's own ``Type: message`` or a named
                # reason (``segmentation fault``, ``killed: memory limit 2 GiB``, ...).
                error = exc.reason if type(exc).__name__ == "SkillRaised" else \
                    f"{type(exc).__name__}: {exc.reason}"
            if isinstance(remote_tb, str) and remote_tb:
                text = remote_tb  # the skill's frames, from inside the sandbox
            else:
                tb = exc.__traceback__
                # Drop the engine's own frames: the traceback starts in the skill's code
                # (an output check's failure has no frames of the skill: just its line).
                while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_ENGINE_DIR):
                    tb = tb.tb_next
                try:
                    text = "".join(traceback.format_exception(type(exc), exc, tb))
                except Exception:  # a hostile __str__: keep what is safe to show
                    text = error
            log = log or getattr(exc, "log", None) or None
            if attempt > 1:
                error = f"{error} (after {attempt} attempts)"
            results[node_id] = NodeResult(node_id, skill.skill_id, "failed", {}, inputs, wired,
                                          error, text, ms, started, key, log, isolated, attempt,
                                          self._subruns.pop(node_id, None))
            self.emit(Event("node_failed", self.run_id, node_id, skill.skill_id, "failed", ms,
                            error))
            if isinstance(exc, KeyboardInterrupt) and self.sigint_seen:
                # A real Ctrl-C / kernel interrupt (not a skill's own raise): stop the run.
                self.cancel.set()
            return
        ms = (time.perf_counter() - t0) * 1e3
        results[node_id] = NodeResult(node_id, skill.skill_id, "completed", outputs, inputs, wired,
                                      None, None, ms, started, key, log, isolated, attempt,
                                      self._subruns.pop(node_id, None) if self._subruns else None)
        if key is not None and cache is not None:
            cache.put(key, outputs)
        self.emit(Event("node_finished", self.run_id, node_id, skill.skill_id, "completed", ms,
                        outputs=outputs))

    def _dispatch(self, node_id: str, skill: Skill, inputs: dict[str, Any], isolated: bool,
                  key: str | None, control: str | None,
                  wired: Mapping[str, tuple[str, str]] = _NO_WIRES,
                  ) -> tuple[dict[str, Any], str | None]:
        """Run one node once, wherever it runs; ``(outputs, log)``."""
        if control in ("map", "loop", "subworkflow"):
            from llmos_jupyter._engine.control import run_control

            return check_outputs(skill, run_control(self, node_id, skill, inputs)), None
        if self.engine.remote and skill.runtime == "python":
            return self._call_remote(node_id, skill, inputs, not isolated, key, wired)
        if isolated:
            return self._call_isolated(node_id, skill, inputs)
        if not self.engine.capture_output:
            return self._call(node_id, skill, inputs), None
        # Inline rather than a context manager: this is per node on the hot path.
        previous = getattr(_stream_local, "log", None)
        captured = _stream_local.log = NodeLog()
        try:
            outputs = self._call(node_id, skill, inputs)
        except BaseException as exc:
            if captured.size and getattr(exc, "log", None) is None:
                try:  # the failure keeps what the node printed before it failed
                    exc.log = captured.text()  # type: ignore[attr-defined]  # any exception
                except Exception:
                    pass
            raise
        finally:
            _stream_local.log = previous
        return outputs, (captured.text() if captured.size else None)

    def add_subrun(self, node_id: str, res: RunResult, tag: str) -> None:
        """Keep a summary of a control node's nested run for its NodeResult and trace."""
        summary = {"tag": tag, "run_id": res.run_id, "status": res.status,
                   "duration_ms": round(res.duration_ms, 3),
                   "nodes": {n: {"status": r.status, "duration_ms": round(r.duration_ms, 3),
                                 **({"error": r.error} if r.error else {})}
                             for n, r in res.nodes.items()}}
        with self._running_lock:
            self._subruns.setdefault(node_id, []).append(summary)

    def abandon(self) -> RunResult:
        """The result of a cancelled run now, without waiting for running nodes."""
        with self._abandon_lock:
            if self._abandoned is not None:
                return self._abandoned
            self.cancel.set()
            running = set(self._running.values())
            results = dict(self.results)
            for node_id in getattr(self, "selected", self.plan.order):
                if node_id in results:
                    continue
                skill = self.plan.skills[node_id]
                if node_id in running:
                    results[node_id] = NodeResult(
                        node_id, skill.skill_id, "failed",
                        error="NodeCancelled: abandoned while running (in-process code blocked "
                              "in a C call cannot be interrupted)")
                else:
                    results[node_id] = NodeResult(node_id, skill.skill_id, "skipped",
                                                  error="run cancelled")
            self.results = results  # later writes of the abandoned threads go elsewhere
            self._abandoned = self.finish(self.engine.trace if self._trace is None else self._trace)
            return self._abandoned

    def _timeout(self, node_id: str, skill: Skill) -> float | None:
        """Seconds this node may run: node ``data.timeout_s`` < skill ``timeout_s`` <
        the engine's ``node_timeout`` (the first one set wins)."""
        node = self.plan.nodes[node_id]
        data = node.data_extra
        t = data.get("timeout_s") if isinstance(data, dict) else None
        if t is None:
            t = getattr(skill, "timeout_s", None)
        if t is None:
            return self.engine.node_timeout
        return float(t)

    def _isolated(self, node_id: str, skill: Skill) -> bool:
        if skill.runtime != "python" or self.isolate == "none":
            return False
        if self.isolate == "all":
            return True
        if self.trusted_inline and skill.volume in ("inline", "notebook"):
            return False
        key = id(skill)
        trusted = self._trusted.get(key)
        if trusted is None:
            from llmos_jupyter._trust import is_trusted

            trusted = self._trusted[key] = is_trusted(skill, self.engine.library.home)
        return not trusted

    def _node_limits(self, skill: Skill) -> Any:
        """The run's limits (explicit, else the user's ``[isolation]`` config, else the
        defaults), with the user's ``[isolation.skills.<id>]`` on top."""
        from llmos_jupyter._isolation import Limits
        from llmos_jupyter._isolation.limits import config_limits

        if self._config_limits is None:
            self._config_limits = config_limits(self.engine.library.home)
        base_items, per_skill = self._config_limits
        if self._run_limits is None:
            self._run_limits = self.limits if self.limits is not None else \
                Limits.parse(base_items)
        items = per_skill.get(skill.skill_id)
        return Limits.parse(items, self._run_limits) if items else self._run_limits

    def _call_isolated(self, node_id: str, skill: Skill,
                       inputs: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        limits = self._node_limits(skill)
        if not limits.network and "network" in (skill.frontmatter.get("capabilities") or ()):
            # Say why before running, rather than let it fail on a DNS error in the sandbox.
            raise CapabilityDenied(
                "needs the network (capabilities: [network]) but runs isolated without it: "
                "run with --allow-network (Limits(network=True)) or trust the skill "
                f"(llmos trust {skill.skill_id})")
        runner = self.engine._isolated_runner(limits)
        warning = runner.isolation_warning
        if warning and not self.isolation_warning:
            self.isolation_warning = warning
            import logging

            logging.getLogger("llmos_jupyter.engine").warning("%s", warning)
        if skill.requires:
            check_requires(skill.skill_id, skill.requires)

        def on_log(text: str) -> None:  # the node's output while it runs (bounded)
            self.emit(Event("node_log", self.run_id, node_id, skill.skill_id, "running",
                            time=time.time(), text=text))

        run = runner.run(skill, inputs, cancel=self.cancel, timeout=self._timeout(node_id, skill),
                         limits=limits, on_log=on_log)
        return check_outputs(skill, run.outputs), (run.log or None)

    def remote_started(self, node_id: str, when: float | None = None) -> None:
        """Emit ``node_started`` of a remote node once: from the worker's event, or when its
        result arrives first (events and results travel separately)."""
        with self._running_lock:
            if node_id in self._remote_started or node_id in self.results:
                return
            self._remote_started.add(node_id)
        self.emit(Event("node_started", self.run_id, node_id, self.plan.skills[node_id].skill_id,
                        "running", time=when or time.time()))

    def _call_remote(self, node_id: str, skill: Skill, inputs: dict[str, Any], trusted: bool,
                     key: str | None, wired: Mapping[str, tuple[str, str]] = _NO_WIRES,
                     ) -> tuple[dict[str, Any], str | None]:
        """A Python node on the processes/dask executor: in a child process there. An
        executor that ``passes_futures`` (Dask) is told which inputs come from which
        upstream node, so it can hand over the upstream result held on the cluster."""
        if skill.requires:
            check_requires(skill.skill_id, skill.requires)
        executor = self.engine.node_executor()
        # `wired` also when empty: it tells the executor the engine calls release_run.
        extra = {"wired": wired} if getattr(executor, "passes_futures", False) else {}
        run = executor.run_node(
            skill, inputs, trusted=trusted, limits=None if trusted else self._node_limits(skill),
            timeout=self._timeout(node_id, skill), cancel=self.cancel,
            key=f"{self.run_id}/{node_id}/{key or uuid.uuid4().hex}",
            resources=getattr(skill, "resources", None) or None, **extra)
        if self.engine.executor == "dask":
            self.remote_started(node_id)
        return check_outputs(skill, run.outputs), (run.log or None)

    def interrupt_running(self) -> None:
        """Raise ``NodeCancelled`` in the threads running in-process nodes now."""
        import ctypes

        with self._running_lock:  # a node leaving _running takes the same lock
            for ident in list(self._running):
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                           ctypes.py_object(NodeCancelled))

    def _call(self, node_id: str, skill: Skill, inputs: dict[str, Any]) -> dict[str, Any]:
        timeout = self._timeout(node_id, skill)
        if skill.runtime != "python":
            # A runner owns its timeout: it can stop its worker, which a thread cannot.
            raw = self.runners[skill.runtime](skill, inputs, cancel=self.cancel, timeout=timeout)
            return check_outputs(skill, raw)
        if skill.requires:
            check_requires(skill.skill_id, skill.requires)
        fn = skill.load_function()
        if timeout is None:
            ident = threading.get_ident()
            self._running[ident] = node_id
            try:
                raw = fn(inputs)
            finally:
                with self._running_lock:
                    self._running.pop(ident, None)
        else:
            raw = _call_with_timeout(fn, inputs, timeout, self._running, node_id,
                                     self._running_lock)
        return check_outputs(skill, raw)

    def _skip(self, node_id: str, skill: Skill, why: str) -> None:
        self.results[node_id] = NodeResult(node_id, skill.skill_id, "skipped", error=why)
        self.emit(Event("node_skipped", self.run_id, node_id, skill.skill_id, "skipped", error=why))

    def finish(self, trace: bool) -> RunResult:
        if self._abandoned is not None:  # abandon() already made the result and the trace
            return self._abandoned
        # A node skipped because its branch was not taken is the workflow working as
        # designed: the run still completes.
        incomplete = any(r.status == "failed" or (r.status == "skipped"
                                                  and r.error != BRANCH_NOT_TAKEN)
                         for r in self.results.values())
        status = ("cancelled" if self.cancel.is_set() and incomplete
                  else "failed" if incomplete else "completed")
        # self.results is in completion order, which is execution order for one worker.
        result = RunResult(self.run_id, self.plan.workflow, status, self.results,
                           self.plan.overrides, self.started_at,
                           (time.perf_counter() - self._t0) * 1e3)
        if self.isolation_warning:
            result.warnings.append(self.isolation_warning)
        result.trigger = self.trigger
        if trace:
            from llmos_jupyter._trace.notebook import write_trace

            try:
                directory = self.engine.trace_dir
                if directory is None:
                    from llmos_jupyter._paths import traces_dir

                    directory = traces_dir(self.engine.library.home)
                result.trace = str(write_trace(result, self.plan.library, directory))
            except Exception as exc:  # a trace failure must not lose the results
                result.trace_error = f"{type(exc).__name__}: {exc}"
        self.emit(Event("run_finished", self.run_id, status=status, duration_ms=result.duration_ms,
                        error=result.trace_error, trace=result.trace))
        return result


def check_outputs(skill: Skill, raw: Any) -> dict[str, Any]:
    """Check what ``execute`` returned against the skill's output ports.

    Returns the outputs as plain data (numpy values converted). Undeclared extra keys are
    kept. Raises ``TypeError`` (not a dict, wrong type) or ``KeyError`` (missing output)
    with the port named.
    """
    if not isinstance(raw, dict):
        raise TypeError(f"execute() returned {type(raw).__name__}, expected a dict of outputs "
                        f"({', '.join(skill.output_ports) or 'no outputs declared'})")
    out = raw
    declared = skill.output_ports
    for name, value in raw.items():  # undeclared extras must be data too (cached, traced)
        if name not in declared:
            if type(name) is not str:
                raise OutputError(f"execute() returned a key of type {type(name).__name__}; "
                                  "output names are strings")
            checked = check_data(value, f"output {name!r}")
            if checked is not value:
                if out is raw:
                    out = dict(raw)
                out[name] = checked
    for port in skill.outputs:
        if port.name not in raw:
            if port.required:
                raise OutputMissing(f"output {port.name!r} is missing from the returned dict "
                                    f"(returned: {', '.join(map(str, raw)) or 'nothing'})")
            continue
        value = raw[port.name]
        try:
            checked = check_value(port.type, value)
        except TypeError as exc:
            raise TypeError(f"output {port.name!r}: {exc}") from None
        except Exception as exc:  # a hostile object's __len__/__iter__/__float__ raised
            raise OutputError(f"output {port.name!r}: the value could not be checked "
                              f"({type(exc).__name__})") from None
        checked = check_data(checked, f"output {port.name!r}")
        if checked is not value:
            if out is raw:  # copy on first conversion only; never mutate the skill's dict
                out = dict(raw)
            out[port.name] = checked
    return out


class CapabilityDenied(LlmosError):
    """An isolated node's skill declares a capability its limits do not grant."""


class OutputMissing(LlmosError):
    """A skill's ``execute`` did not return a declared output."""


class NodeCancelled(LlmosError):
    """Raised inside a running in-process node when its run is cancelled."""


@contextlib.contextmanager
def _sigint_marker(ctx: _RunContext) -> Iterator[None]:
    """While a run executes nodes in the main thread, remember whether a KeyboardInterrupt
    came from a real SIGINT (Ctrl-C, a kernel interrupt) — which cancels the run — rather
    than from a skill raising it — which fails only that node. Custom handlers (the CLI's)
    are left alone."""
    import signal

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        ctx.sigint_seen = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _describe(exc: BaseException) -> str:
    """``Type: message`` of a node's exception, safe against a raising ``__str__``."""
    name = type(exc).__name__
    if type(exc).__name__ == "SkillExited":
        return f"SystemExit: {getattr(exc, 'code', None)}"
    if isinstance(exc, SystemExit):
        return f"SystemExit: the skill called exit({exc.code!r}) before returning its outputs"
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt: interrupted"
    try:
        text = str(exc)
    except Exception:
        text = "(its message could not be shown)"
    return f"{name}: {text}" if text else name


def _call_with_timeout(fn: Callable[[dict[str, Any]], Any], inputs: dict[str, Any],
                       timeout: float, running: dict[int, str] | None = None,
                       node_id: str = "", lock: Any = None) -> Any:
    box: dict[str, Any] = {}
    log = getattr(_stream_local, "log", None)  # the helper thread writes into the same node log

    def target() -> None:
        _stream_local.log = log
        ident = threading.get_ident()
        if running is not None:
            running[ident] = node_id
        try:
            box["value"] = fn(inputs)
        except BaseException as exc:
            box["error"] = exc
        finally:
            if running is not None:
                with lock or _nullcontext():
                    running.pop(ident, None)

    thread = threading.Thread(target=target, daemon=True, name="llmos-node-timeout")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # Ask the thread to stop at its next bytecode; code stuck in a C call cannot be
        # stopped in-process (untrusted nodes run isolated, where timeouts kill a process).
        import ctypes

        if thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                       ctypes.py_object(NodeTimeout))
        raise NodeTimeout(f"timed out after {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]
