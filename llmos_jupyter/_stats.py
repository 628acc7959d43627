"""Run analytics from the trace notebooks: success rate, node durations, cache hits,
bottlenecks and failures grouped by error.

:func:`compute_stats` is a pure function of run records
(:class:`llmos_jupyter._trace.record.RunRecord`, read from the traces folder by
:func:`~llmos_jupyter._trace.record.read_run_records`); :func:`stats_report` reads the
folder and adds the filters used. ``llmos stats --json`` prints the report and the
JupyterLab run history shows the same object (asked of the library kernel), so both
show the same figures. The report is one JSON object::

    {
      "traces": "/home/me/.llmos/user/traces",   # stats_report only: the folder read
      "filters": {"workflow": "h2-vqe" | null, "since": ISO 8601 | null},  # stats_report only
      "runs": 12,                                # runs (trace notebooks) counted
      "statuses": {"completed": 10, "failed": 2},  # runs by final status
      "success_rate": 0.8333,                    # completed / runs (null without runs)
      "first": ISO 8601 | null, "last": ISO 8601 | null,   # start of the oldest / newest run
      "run_ms": {"p50": ms, "p95": ms, "mean": ms, "total": ms} | null,   # whole-run wall time
      "node_runs": {"completed": 30, "cached": 6, "failed": 2, "skipped": 1},
      "cache_hit_rate": 0.1579,                  # cached / (completed + cached + failed)
      "workflows": [{"workflow", "name", "runs", "completed", "success_rate", "last"}],
      "nodes": [                                 # one per (workflow, node), by total time
        {"workflow", "node", "skill", "runs",    # runs = times the node appears in a trace
         "completed", "cached", "failed", "skipped",
         "p50_ms", "p95_ms", "mean_ms", "max_ms", "total_ms",   # null when never executed
         "cache_hit_rate"}],                     # null when it never completed/cached/failed
      "bottlenecks": [                           # the top nodes by total executed time
        {"workflow", "node", "skill", "total_ms", "share", "p95_ms", "executed"}],
      "failures": [                              # node failures grouped by error, most first
        {"error": "ValueError: x must be > #, got #",   # the message, numbers as "#"
         "example": "ValueError: x must be > 0, got -1",  # the first message seen
         "count", "nodes": [node ids], "workflows": [workflow ids], "run_ids": [...≤ 10],
         "last": ISO 8601 | null}]
    }

Definitions. Durations are the wall time of a node's skill code (``duration_ms`` of the
trace), in milliseconds, over the node's *executed* runs: ``completed`` and ``failed``
(a cached or skipped node took no time). p50/p95 are percentiles with linear
interpolation between order statistics (Hyndman & Fan's definition 7, numpy.percentile's
default ``linear`` method). A node's cache-hit rate is ``cached / (completed + cached +
failed)``: skipped nodes had no chance of a hit. ``share`` is a node's fraction of all
executed node time in the selection. Failed nodes' errors (redacted) are grouped by
their text with every number replaced by ``#`` (the same fault with another value is one
group; numbers glued to a name, like ``x2``, are kept); a skipped node's reason is not a
failure. Rates are rounded to 4 decimals, times to 3.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["BOTTLENECKS", "compute_stats", "parse_since", "percentile", "stats_report"]

BOTTLENECKS = 5
"""How many nodes the report names as bottlenecks."""
FAILURE_RUN_IDS = 10
"""Run ids listed per failure group."""
_EXECUTED = ("completed", "failed")
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
# Numbers inside an error message (a value, an index, a size) vary between runs of the
# same fault; the group's key replaces each with "#".
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) of ``values`` with linear interpolation between
    order statistics (numpy's default ``linear`` method); ``None`` for no values."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat(timespec="milliseconds") if t is not None else None


def compute_stats(records: Iterable[Any], *, bottlenecks: int = BOTTLENECKS) -> dict[str, Any]:
    """The analytics of ``records`` (run records with ``run_id``, ``workflow_id``,
    ``workflow_name``, ``status``, ``started``, ``duration_ms`` and ``nodes`` of
    ``node_id``, ``skill_id``, ``status``, ``duration_ms``, ``cached``, ``error``) as the
    JSON object of the module docstring (without ``traces``/``filters``). Pure: it reads
    only its argument. Error texts are redacted (:mod:`llmos_jupyter._redact`)."""
    from llmos_jupyter._redact import redact

    runs = 0
    statuses: dict[str, int] = {}
    run_ms: list[float] = []
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    node_runs = {"completed": 0, "cached": 0, "failed": 0, "skipped": 0}
    workflows: dict[str, dict[str, Any]] = {}
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    failures: dict[str, dict[str, Any]] = {}
    llm_cost = 0.0
    llm_runs = 0
    for rec in records:
        runs += 1
        cost = getattr(rec, "llm_cost_usd", 0.0) or 0.0  # LLM nodes' estimated USD
        if cost:
            llm_cost += cost
            llm_runs += 1
        statuses[rec.status] = statuses.get(rec.status, 0) + 1
        run_ms.append(float(getattr(rec, "duration_ms", 0.0) or 0.0))
        started = rec.started
        if started is not None:
            first = started if first is None or started < first else first
            last = started if last is None or started > last else last
        wid = rec.workflow_id or "?"
        w = workflows.setdefault(wid, {"workflow": wid, "name": rec.workflow_name or wid,
                                       "runs": 0, "completed": 0, "last": None})
        w["runs"] += 1
        w["completed"] += rec.status == "completed"
        if started is not None and (w["last"] is None or started > w["last"]):
            w["last"] = started
        for n in rec.nodes:
            status = "cached" if n.cached else n.status
            if status in node_runs:
                node_runs[status] += 1
            entry = nodes.setdefault((wid, n.node_id), {
                "workflow": wid, "node": n.node_id, "skill": n.skill_id, "runs": 0,
                "completed": 0, "cached": 0, "failed": 0, "skipped": 0, "_ms": []})
            entry["runs"] += 1
            if n.skill_id:
                entry["skill"] = n.skill_id  # the latest run's skill
            if status in ("completed", "cached", "failed", "skipped"):
                entry[status] += 1
            if status in _EXECUTED:
                entry["_ms"].append(float(n.duration_ms or 0.0))
            if status == "failed":
                error = redact(n.error or "(no error message)")
                g = failures.setdefault(_NUMBER.sub("#", error), {
                    "error": _NUMBER.sub("#", error), "example": error, "count": 0,
                    "nodes": [], "workflows": [], "run_ids": [], "last": None})
                g["count"] += 1
                if n.node_id not in g["nodes"]:
                    g["nodes"].append(n.node_id)
                if wid not in g["workflows"]:
                    g["workflows"].append(wid)
                if rec.run_id not in g["run_ids"] and len(g["run_ids"]) < FAILURE_RUN_IDS:
                    g["run_ids"].append(rec.run_id)
                if started is not None and (g["last"] is None or started > g["last"]):
                    g["last"] = started

    node_rows = []
    executed_total = 0.0
    for entry in nodes.values():
        ms = entry.pop("_ms")
        total = sum(ms)
        executed_total += total
        chances = entry["completed"] + entry["cached"] + entry["failed"]
        node_rows.append({**entry, "executed": len(ms),
                          "p50_ms": _ms(percentile(ms, 50)), "p95_ms": _ms(percentile(ms, 95)),
                          "mean_ms": _ms(total / len(ms)) if ms else None,
                          "max_ms": _ms(max(ms)) if ms else None, "total_ms": _ms(total),
                          "cache_hit_rate": _rate(entry["cached"], chances)})
    node_rows.sort(key=lambda r: (-(r["total_ms"] or 0.0), r["workflow"], r["node"]))
    top = [{"workflow": r["workflow"], "node": r["node"], "skill": r["skill"],
            "total_ms": r["total_ms"], "share": _rate_f(r["total_ms"], executed_total),
            "p95_ms": r["p95_ms"], "executed": r["executed"]}
           for r in node_rows[:bottlenecks] if r["executed"]]
    chances = node_runs["completed"] + node_runs["cached"] + node_runs["failed"]
    return {
        "runs": runs,
        "statuses": dict(sorted(statuses.items())),
        "success_rate": _rate(statuses.get("completed", 0), runs),
        "first": _iso(first),
        "last": _iso(last),
        "run_ms": ({"p50": _ms(percentile(run_ms, 50)), "p95": _ms(percentile(run_ms, 95)),
                    "mean": _ms(sum(run_ms) / len(run_ms)), "total": _ms(sum(run_ms))}
                   if run_ms else None),
        "node_runs": node_runs,
        "cache_hit_rate": _rate(node_runs["cached"], chances),
        "workflows": [{**w, "success_rate": _rate(w["completed"], w["runs"]),
                       "last": _iso(w["last"])}
                      for w in sorted(workflows.values(),
                                      key=lambda w: (-w["runs"], w["workflow"]))],
        "nodes": node_rows,
        "bottlenecks": top,
        "failures": [{**g, "last": _iso(g["last"])}
                     for g in sorted(failures.values(), key=lambda g: (-g["count"], g["error"]))],
        "llm": {"runs": llm_runs, "cost_usd": round(llm_cost, 6)},
    }


def _rate_f(part: float | None, whole: float) -> float | None:
    return round(part / whole, 4) if part is not None and whole > 0 else None


def parse_since(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """A ``--since`` value as an aware UTC datetime: ISO 8601 (``2026-11-30``,
    ``2026-11-30T14:00``, with or without an offset; no offset means UTC) or a duration
    back from ``now`` (``90m``, ``24h``, ``7d``, ``2w``; ``s`` for seconds).

    Raises:
        ValueError: neither form, naming the value.
    """
    m = _RELATIVE.match(text)
    if m:
        now = now or dt.datetime.now(dt.UTC)
        return now - dt.timedelta(seconds=float(m[1]) * _UNIT_S[m[2]])
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a date or time (2026-11-30, "
                         "2026-11-30T14:00) or a duration back from now (90m, 24h, 7d, 2w)"
                         ) from None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def stats_report(*, workflow: str | None = None, since: str | dt.datetime | None = None,
                 folder: str | Path | None = None) -> dict[str, Any]:
    """:func:`compute_stats` of the runs in ``folder`` (default: the user volume's
    traces folder), only those of ``workflow`` (id or name) and started at or after
    ``since`` (a datetime or :func:`parse_since` text), plus ``traces`` and ``filters``.

    Raises:
        ValueError: ``since`` is not a time.
    """
    from llmos_jupyter._paths import traces_dir
    from llmos_jupyter._trace.record import read_run_records

    cutoff = parse_since(since) if isinstance(since, str) else since
    folder = Path(folder) if folder is not None else traces_dir()
    stats = compute_stats(read_run_records(folder, since=cutoff, workflow=workflow))
    return {"traces": str(folder),
            "filters": {"workflow": workflow, "since": _iso(cutoff)}, **stats}
