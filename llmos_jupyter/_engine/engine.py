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

import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmos_jupyter._engine.cache import MemoryCache, cache_key
from llmos_jupyter._engine.events import Event, EventBus, Subscriber
from llmos_jupyter._engine.requirements import check_requires
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import LOCAL_RUNTIMES, Skill
from llmos_jupyter._skills.ports import check_value
from llmos_jupyter._workflow.model import Workflow
from llmos_jupyter._workflow.validate import Plan, plan

__all__ = ["Engine", "RunHandle", "Runner"]

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
    ) -> None:
        self.library = library if library is not None else SkillLibrary()
        self.max_workers = max_workers or _default_workers()
        # `is False`, not truthiness: an empty cache object has len() 0.
        self.cache = MemoryCache() if cache is None else (None if cache is False else cache)
        self.node_timeout = node_timeout
        self.trace = trace
        self.trace_dir = Path(trace_dir) if trace_dir is not None else None
        self.events = EventBus()
        self.runners: dict[str, Runner] = dict(runners or {})
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event of every run; returns an unsubscriber."""
        return self.events.subscribe(callback)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="llmos-node")
            return self._pool

    def close(self) -> None:
        """Shut the thread pool down (it is recreated on the next parallel run)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

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
        ctx = _RunContext(self, p, run_id or uuid.uuid4().hex[:12], cancel or threading.Event(),
                          on_event, all_runners)
        ctx.emit(Event("run_started", ctx.run_id, nodes=tuple(selected)))
        if self.max_workers == 1 or len(selected) <= 1:
            for node_id in selected:
                ctx.execute(node_id)
        else:
            self._run_parallel(ctx, p, selected)
        return ctx.finish(self.trace if trace is None else trace)

    def start(self, workflow: Workflow | str | Path, overrides: Mapping[str, Any] | None = None,
              **kwargs: Any) -> RunHandle:
        """Start a run in a background thread; returns a :class:`RunHandle` to wait on or
        cancel. Validation errors surface from :meth:`RunHandle.result`."""
        return RunHandle(self, workflow, overrides, kwargs)

    def _run_parallel(self, ctx: _RunContext, p: Plan, selected: list[str]) -> None:
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
        loops = min(self.max_workers, len(selected))
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
        pool = self._executor()
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

        def target() -> None:
            try:
                self._future.set_result(engine.run(workflow, overrides, cancel=self._cancel,
                                                   run_id=self.run_id, **kwargs))
            except BaseException as exc:
                self._future.set_exception(exc)

        if sys.platform == "emscripten":  # Pyodide has no threads: the run is over on return
            target()
            return
        thread = threading.Thread(target=target, name=f"llmos-run-{self.run_id}", daemon=True)
        thread.start()

    def cancel(self) -> None:
        """Skip every node that has not started yet; running nodes finish."""
        self._cancel.set()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> RunResult:
        """Wait for the run; re-raises validation errors."""
        return self._future.result(timeout)


_NO_WIRES: Mapping[str, tuple[str, str]] = MappingProxyType({})


class _RunContext:
    """State of one run: results so far, the cancel flag, event emission."""

    def __init__(self, engine: Engine, p: Plan, run_id: str, cancel: threading.Event,
                 on_event: Subscriber | None, runners: Mapping[str, Runner]) -> None:
        self.engine = engine
        self.runners = runners
        self.plan = p
        self.run_id = run_id
        self.cancel = cancel
        self.on_event = on_event
        self.results: dict[str, NodeResult] = {}
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
        values = inputs  # the non-wired inputs: what the cache key hashes
        wired: Mapping[str, tuple[str, str]] = _NO_WIRES
        upstream_keys = []
        incoming = p.incoming[node_id]
        if incoming:
            # Few allocations per node on purpose: at 10,000 nodes the garbage collector's
            # full passes are a third of the engine's overhead.
            values = dict(inputs)
            wired = {}
            for port, src, src_port in incoming:
                up = results.get(src)
                if up is None or not up.ok:
                    why = "was cancelled" if self.cancel.is_set() else (
                        "failed" if up is not None and up.status == "failed" else "did not run")
                    self._skip(node_id, skill, f"upstream node {src!r} {why}")
                    return
                inputs[port] = up.outputs[src_port]
                values.pop(port, None)  # a wire beats a param; only the wire is in the key
                wired[port] = (src, src_port)
                upstream_keys.append((port, up.cache_key, src_port))
        if self.cancel.is_set():
            self._skip(node_id, skill, "run cancelled")
            return

        cache = self.engine.cache
        key = cache_key(skill.code_hash, values, upstream_keys) if cache is not None else None
        if key is not None:
            hit = cache.get(key)
            if hit is not None:
                result = NodeResult(node_id, skill.skill_id, "cached", hit, inputs, wired,
                                    cache_key=key, started_at=time.time())
                results[node_id] = result
                self.emit(Event("node_finished", self.run_id, node_id, skill.skill_id, "cached",
                                0.0, outputs=hit))
                return

        started = time.time()
        self.emit(Event("node_started", self.run_id, node_id, skill.skill_id, "running",
                        time=started))
        t0 = time.perf_counter()
        try:
            outputs = self._call(skill, inputs)
        except Exception as exc:
            ms = (time.perf_counter() - t0) * 1e3
            error = f"{type(exc).__name__}: {exc}"
            tb = exc.__traceback__
            # Drop the engine's own frames: the traceback starts in the skill's code.
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                tb = tb.tb_next
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            results[node_id] = NodeResult(node_id, skill.skill_id, "failed", {}, inputs, wired,
                                          error, text, ms, started, key)
            self.emit(Event("node_failed", self.run_id, node_id, skill.skill_id, "failed", ms,
                            error))
            return
        ms = (time.perf_counter() - t0) * 1e3
        results[node_id] = NodeResult(node_id, skill.skill_id, "completed", outputs, inputs, wired,
                                      None, None, ms, started, key)
        if key is not None:
            cache.put(key, outputs)
        self.emit(Event("node_finished", self.run_id, node_id, skill.skill_id, "completed", ms,
                        outputs=outputs))

    def _call(self, skill: Skill, inputs: dict[str, Any]) -> dict[str, Any]:
        if skill.runtime != "python":
            # A runner owns its timeout: it can stop its worker, which a thread cannot.
            raw = self.runners[skill.runtime](skill, inputs, cancel=self.cancel,
                                              timeout=self.engine.node_timeout)
            return check_outputs(skill, raw)
        if skill.requires:
            check_requires(skill.skill_id, skill.requires)
        fn = skill.load_function()
        timeout = self.engine.node_timeout
        if timeout is None:
            raw = fn(inputs)
        else:
            raw = _call_with_timeout(fn, inputs, timeout)
        return check_outputs(skill, raw)

    def _skip(self, node_id: str, skill: Skill, why: str) -> None:
        self.results[node_id] = NodeResult(node_id, skill.skill_id, "skipped", error=why)
        self.emit(Event("node_skipped", self.run_id, node_id, skill.skill_id, "skipped", error=why))

    def finish(self, trace: bool) -> RunResult:
        statuses = {r.status for r in self.results.values()}
        status = ("cancelled" if self.cancel.is_set() and "skipped" in statuses
                  else "failed" if "failed" in statuses or "skipped" in statuses
                  else "completed")
        # self.results is in completion order, which is execution order for one worker.
        result = RunResult(self.run_id, self.plan.workflow, status, self.results, self.plan.overrides,
                           self.started_at, (time.perf_counter() - self._t0) * 1e3)
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
        if checked is not value:
            if out is raw:  # copy on first conversion only; never mutate the skill's dict
                out = dict(raw)
            out[port.name] = checked
    return out


class OutputMissing(LlmosError):
    """A skill's ``execute`` did not return a declared output."""


def _call_with_timeout(fn: Callable[[dict[str, Any]], Any], inputs: dict[str, Any],
                       timeout: float) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(inputs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="llmos-node-timeout")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NodeTimeout(f"node did not finish within {timeout:g} s (its thread is abandoned; "
                          "Python threads cannot be killed)")
    if "error" in box:
        raise box["error"]
    return box["value"]
