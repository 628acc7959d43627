"""Control flow in the engine: branches, retries, and nodes that run other workflows.

Branches. A skill may leave an optional output out of its returned dict (``condition``
returns only ``true`` or only ``false``). A wire from an output that was not produced is
*untaken*; so is a wire from a node that was itself skipped because its branch was not
taken. A node with an untaken wire into a *required* input, or whose wired inputs are all
untaken, is ``skipped`` with the reason :data:`BRANCH_NOT_TAKEN` (not failed: the run
still completes). An untaken wire into an *optional* input leaves that input absent, so a
``merge`` fed by both sides runs with whichever arrived.

Retries. ``data.retry: {attempts, backoff_s, on}`` on any node: up to ``attempts`` tries,
waiting ``backoff_s · 2^(try − 1)`` seconds between them (or the server's ``Retry-After``
when the error carries ``retry_after_s`` and it is longer), only for errors whose type
name — or one of its base classes' — is in ``on`` (every error when ``on`` is empty).
Cancellation is never retried.

Sub-workflows. ``subworkflow``, ``map`` and ``loop`` run another workflow file through
the same engine (same library, cache, executor, isolation rules and cancel flag) as
nested runs: an inner node is cached on its own, so a map re-run with one new item runs
only that item. Nested runs write no trace of their own; their summaries are kept on the
calling node (:attr:`NodeResult.subruns`) and go into the outer run's trace. Map items run
as parallel branches (``max_parallel``, default the engine's worker count).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from llmos_jupyter._engine.events import Event
from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._workflow.subflows import interface

if TYPE_CHECKING:
    from llmos_jupyter._engine.engine import _RunContext
    from llmos_jupyter._engine.result import RunResult
    from llmos_jupyter._skills.model import Skill

__all__ = ["BRANCH_NOT_TAKEN", "ControlError", "RetryPolicy", "evaluate", "run_control"]

BRANCH_NOT_TAKEN = "branch not taken"
"""The ``error`` (reason) of a node skipped because the branch feeding it was not taken."""

MAX_MAP_ITEMS = 100_000
DEFAULT_MAX_ITERATIONS = 100


class ControlError(LlmosError):
    """A map item, loop iteration or sub-workflow failed (the message names which, the
    inner node and its error)."""


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """Evaluate ``expression`` safely with simpleeval (no ``eval``): Python syntax, only
    the given ``names``, literals, comparisons, arithmetic, ``and``/``or``/``not``,
    subscripts, ``len``/``abs``/``min``/``max``/``round``; no attribute access to
    underscored names, no imports, bounded powers and string sizes.

    Raises:
        ValueError: invalid expression or an unknown name (the message names it).
    """
    from simpleeval import EvalWithCompoundTypes, InvalidExpression

    functions = {"len": len, "abs": abs, "min": min, "max": max, "round": round,
                 "int": int, "float": float, "str": str, "bool": bool}
    try:
        return EvalWithCompoundTypes(names=dict(names), functions=functions).eval(expression)
    except InvalidExpression as exc:
        raise ValueError(f"expression {expression!r}: {exc}") from None
    except (SyntaxError, KeyError, TypeError, IndexError, ZeroDivisionError) as exc:
        raise ValueError(f"expression {expression!r}: {type(exc).__name__}: {exc}") from None


class RetryPolicy:
    """A node's ``data.retry`` (validated by :mod:`llmos_jupyter._workflow.control`)."""

    __slots__ = ("attempts", "backoff_s", "on")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.attempts = int(raw.get("attempts", 1))
        self.backoff_s = float(raw.get("backoff_s", 0))
        self.on = tuple(raw.get("on", ()))

    @staticmethod
    def of(data: Mapping[str, Any]) -> RetryPolicy | None:
        raw = data.get("retry") if data else None
        return RetryPolicy(raw) if isinstance(raw, Mapping) else None

    def matches(self, exc: BaseException) -> bool:
        """Whether ``exc`` is one of the ``on`` types (by name, base classes included;
        an isolated node's error is matched by the ``Type:`` its reason starts with)."""
        if not isinstance(exc, Exception) or type(exc).__name__ == "NodeCancelled":
            return False
        if not self.on:
            return True
        names = {cls.__name__ for cls in type(exc).__mro__}
        reason = getattr(exc, "reason", None)
        if isinstance(reason, str):
            names.add(reason.partition(":")[0].strip())
        return any(name in names for name in self.on)

    def delay(self, attempt: int, exc: BaseException) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        wait_s = self.backoff_s * (2 ** (attempt - 1))
        after = getattr(exc, "retry_after_s", None)
        if isinstance(after, (int, float)) and not isinstance(after, bool) and after > wait_s:
            wait_s = min(float(after), 3600.0)
        return wait_s


# -- sub-workflows ----------------------------------------------------------------------
def run_control(ctx: _RunContext, node_id: str, skill: Skill, inputs: dict[str, Any]
                ) -> dict[str, Any]:
    """Run a ``subworkflow``/``map``/``loop`` node; returns its outputs."""
    kind = ctx.plan.controls[node_id]
    sub = ctx.plan.subflows[node_id]
    in_decl, out_decl = interface(sub)
    if kind == "subworkflow":
        overrides = {f"{n}.{p}": inputs[name] for name, (n, p) in in_decl.items()
                     if name in inputs}
        res = _child(ctx, node_id, sub, overrides, "sub")
        _raise_on_failure(res, f"sub-workflow {_name(sub)}")
        return _outputs(res, out_decl)
    if kind == "map":
        return _map(ctx, node_id, sub, inputs, in_decl, out_decl)
    return _loop(ctx, node_id, sub, inputs, in_decl, out_decl)


def _name(sub: Any) -> str:
    return sub.path.name if sub.path is not None else repr(sub.id)


def _child(ctx: _RunContext, node_id: str, sub: Any, overrides: Mapping[str, Any],
           tag: str) -> RunResult:
    from llmos_jupyter._exceptions import WorkflowInvalid

    try:
        res = ctx.engine.run(sub, overrides, trace=False, cancel=ctx.cancel,
                             run_id=f"{ctx.run_id}.{node_id}.{tag}", runners=ctx.runners,
                             isolate=ctx.isolate, limits=ctx.limits, _nested=True)
    except WorkflowInvalid as exc:  # this item's / iteration's values do not fit the file
        what = {"sub": "sub-workflow"}.get(tag, f"item {tag}" if ctx.plan.controls.get(
            node_id) == "map" else f"iteration {tag}")
        problems = "; ".join(str(p) for p in exc.problems[:3])
        raise ControlError(f"{what}: {problems}") from None
    ctx.add_subrun(node_id, res, tag)
    return res


def _first_failure(res: RunResult) -> tuple[str, str]:
    for nid, r in res.nodes.items():
        if r.status == "failed":
            return nid, r.error or "failed"
    for nid, r in res.nodes.items():
        if r.status == "skipped" and r.error != BRANCH_NOT_TAKEN:
            return nid, r.error or "skipped"
    return "?", res.status


def _raise_on_failure(res: RunResult, what: str) -> None:
    if res.status == "completed":
        return
    nid, error = _first_failure(res)
    raise ControlError(f"{what}: node {nid!r} {error}" if res.status != "cancelled"
                       else f"{what}: cancelled")


def _outputs(res: RunResult, out_decl: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    out = {}
    for name, (n, p) in out_decl.items():
        r = res.nodes.get(n)
        if r is not None and r.ok and p in r.outputs:
            out[name] = r.outputs[p]  # absent (a branch not taken) stays absent
    return out


def _progress(ctx: _RunContext, node_id: str, skill_id: str, done: int, total: int) -> None:
    ctx.emit(Event("node_progress", ctx.run_id, node_id, skill_id, "running", done=done,
                   total=total))


def _map(ctx: _RunContext, node_id: str, sub: Any, inputs: dict[str, Any],
         in_decl: Mapping[str, tuple[str, str]], out_decl: Mapping[str, tuple[str, str]]
         ) -> dict[str, Any]:
    items = inputs.get("items")
    if not isinstance(items, list):
        raise TypeError(f"items must be an array, not {type(items).__name__}")
    if len(items) > MAX_MAP_ITEMS:
        raise ValueError(f"items: {len(items)} items is more than a map runs "
                         f"({MAX_MAP_ITEMS}); split the list")
    target = in_decl[inputs["item_input"]]
    fixed = {f"{in_decl[k][0]}.{in_decl[k][1]}": v
             for k, v in (inputs.get("params") or {}).items()}
    keep_going = bool(inputs.get("continue_on_error", False))
    total = len(items)
    width = inputs.get("max_parallel") or ctx.engine.max_workers
    width = max(1, min(int(width), total or 1))
    if sys.platform == "emscripten":
        width = 1
    skill_id = ctx.plan.skills[node_id].skill_id
    results: list[Any] = [None] * total
    errors: list[dict[str, Any]] = []
    _progress(ctx, node_id, skill_id, 0, total)

    def one(i: int) -> dict[str, Any]:
        res = _child(ctx, node_id, sub, {**fixed, f"{target[0]}.{target[1]}": items[i]}, str(i))
        _raise_on_failure(res, f"item {i}")
        return _outputs(res, out_decl)

    done = 0
    lock = threading.Lock()

    def record(i: int, fut_or_value: Any, exc: BaseException | None) -> None:
        nonlocal done
        with lock:
            done += 1
            if exc is None:
                results[i] = fut_or_value
            else:
                errors.append({"index": i, "error": str(exc)})
            finished = done
        _progress(ctx, node_id, skill_id, finished, total)

    if width == 1:
        for i in range(total):
            if ctx.cancel.is_set():
                raise ControlError(f"map cancelled after {done} of {total} items")
            try:
                value = one(i)
            except ControlError as exc:
                if not keep_going:
                    raise ControlError(f"map: {exc}") from None
                record(i, None, exc)
                continue
            record(i, value, None)
    else:
        pool = ThreadPoolExecutor(width, thread_name_prefix=f"llmos-map-{node_id}"[:40])
        try:
            pending: dict[Future[dict[str, Any]], int] = {}
            next_i = 0
            while next_i < total or pending:
                while next_i < total and len(pending) < width and not ctx.cancel.is_set():
                    pending[pool.submit(one, next_i)] = next_i
                    next_i += 1
                if not pending:
                    break
                finished_set, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished_set:
                    i = pending.pop(fut)
                    failure = fut.exception()  # not `exc`: an except clause above binds it
                    if failure is not None and not (keep_going
                                                    and isinstance(failure, ControlError)):
                        for other in pending:
                            other.cancel()
                        raise (ControlError(f"map: {failure}")
                               if isinstance(failure, ControlError) else failure)
                    record(i, None if failure else fut.result(), failure)
            if ctx.cancel.is_set() and done < total:
                raise ControlError(f"map cancelled after {done} of {total} items")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    errors.sort(key=lambda e: e["index"])
    return {"results": results, "errors": errors}


def _loop(ctx: _RunContext, node_id: str, sub: Any, inputs: dict[str, Any],
          in_decl: Mapping[str, tuple[str, str]], out_decl: Mapping[str, tuple[str, str]]
          ) -> dict[str, Any]:
    state = inputs.get("state")
    until = inputs.get("until")
    limit = int(inputs.get("max_iterations") or DEFAULT_MAX_ITERATIONS)
    target, source = in_decl["state"], out_decl["state"]
    skill_id = ctx.plan.skills[node_id].skill_id
    for iteration in range(1, limit + 1):
        if ctx.cancel.is_set():
            raise ControlError(f"loop cancelled after {iteration - 1} iterations")
        res = _child(ctx, node_id, sub, {f"{target[0]}.{target[1]}": state}, str(iteration))
        _raise_on_failure(res, f"iteration {iteration}")
        out = _outputs(res, {"state": source})
        if "state" not in out:
            raise ControlError(f"iteration {iteration}: the workflow produced no state "
                               f"({source[0]}.{source[1]} was not produced)")
        state = out["state"]
        _progress(ctx, node_id, skill_id, iteration, limit)
        if until:
            names = {"state": state, "iteration": iteration}
            if isinstance(state, Mapping):
                names.update({k: v for k, v in state.items() if isinstance(k, str)
                              and k.isidentifier() and k not in names})
            if evaluate(until, names):
                return {"state": state, "iterations": iteration, "converged": True}
    return {"state": state, "iterations": limit, "converged": not until}
