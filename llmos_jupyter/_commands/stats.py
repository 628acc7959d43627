"""``llmos stats [--workflow ID] [--since DATE] [--json]``: run analytics from the traces.

Reads the trace notebooks of the user volume (``$LLMOS_HOME/user/traces``) and prints
runs, success rate, per-node p50/p95 durations, cache hits, bottlenecks and failures
grouped by error (definitions in :mod:`llmos_jupyter._stats`; docs/stats.md). Exit
status 0, or 2 for a bad ``--since``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]

_NODE_ROWS = 20
_FAILURE_ROWS = 10


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stats", help="run analytics: success rate, node durations, cache hits, bottlenecks",
        description="Figures from the trace notebooks of past runs: runs and success rate, "
        "per-node p50/p95 duration, cache-hit rate, the slowest nodes by total time, and "
        "failures grouped by error.")
    p.add_argument("--workflow", metavar="ID", help="only runs of this workflow (id or name)")
    p.add_argument("--since", metavar="DATE",
                   help="only runs started at or after DATE: 2026-11-30, 2026-11-30T14:00 "
                   "(UTC unless an offset is given), or back from now: 90m, 24h, 7d, 2w")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(handler=_cmd_stats)


def _cmd_stats(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape
    from rich.table import Table

    from llmos_jupyter._cli import _clean, _print_json
    from llmos_jupyter._stats import stats_report

    try:
        report = stats_report(workflow=args.workflow, since=args.since)
    except ValueError as exc:
        if args.json:
            _print_json({"status": "invalid", "problems": [
                {"code": "usage", "node": None, "port": None, "message": str(exc)}]})
        else:
            err.print(f"[red]error:[/] {escape(_clean(exc))}", highlight=False)
        return 2
    if args.json:
        _print_json(report)
        return 0

    def text(s: Any) -> str:
        return escape(_clean(s))

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.1f} %"

    def day(iso: str | None) -> str:
        return (iso or "")[:16].replace("T", " ")

    def ms(x: float | None) -> str:
        return "" if x is None else f"{x:,.1f}"

    what = f"workflow {args.workflow!r}" if args.workflow else "all workflows"
    if args.since:
        what += f" since {report['filters']['since']}"
    if not report["runs"]:
        out.print(_clean(f"no runs of {what} in {report['traces']}"), markup=False,
                  highlight=False)
        return 0
    run_ms = report["run_ms"]
    out.print(f"[bold]{report['runs']} runs[/] of {text(what)} · success "
              f"{pct(report['success_rate'])} · cache hits {pct(report['cache_hit_rate'])} · "
              f"run p50 {ms(run_ms['p50'])} ms, p95 {ms(run_ms['p95'])} ms · "
              f"{text(day(report['first']))} → {text(day(report['last']))} UTC", highlight=False)
    if not args.workflow and len(report["workflows"]) > 1:
        table = Table(title="workflows", title_justify="left")
        wf_columns: list[tuple[str, dict[str, Any]]] = [
            ("workflow", {}), ("runs", {"justify": "right"}),
            ("success", {"justify": "right"}), ("last run", {})]
        for col, kw in wf_columns:
            table.add_column(col, **kw)
        for w in report["workflows"]:
            table.add_row(text(w["workflow"]), str(w["runs"]), pct(w["success_rate"]),
                          text(day(w["last"])))
        out.print(table)
    table = Table(title="nodes (by total time)", title_justify="left")
    columns: list[tuple[str, dict[str, Any]]] = [
        ("node", {"overflow": "fold"}), ("skill", {"style": "dim", "overflow": "fold"}),
        ("runs", {"justify": "right"}), ("p50 ms", {"justify": "right"}),
        ("p95 ms", {"justify": "right"}), ("total ms", {"justify": "right"}),
        ("cache hits", {"justify": "right"}), ("failed", {"justify": "right"})]
    for col, kw in columns:
        table.add_column(col, **kw)
    several = len(report["workflows"]) > 1
    for n in report["nodes"][:_NODE_ROWS]:
        name = f"{n['workflow']}/{n['node']}" if several else n["node"]
        table.add_row(text(name), text(n["skill"] or ""), str(n["runs"]), ms(n["p50_ms"]),
                      ms(n["p95_ms"]), ms(n["total_ms"]), pct(n["cache_hit_rate"]),
                      f"[red]{n['failed']}[/]" if n["failed"] else "0")
    out.print(table)
    if len(report["nodes"]) > _NODE_ROWS:
        out.print(f"… {len(report['nodes']) - _NODE_ROWS} more nodes (--json for all)",
                  highlight=False)
    llm = report.get("llm") or {}
    if llm.get("runs"):
        out.print(f"LLM nodes: ≈ ${llm['cost_usd']:.4f} estimated over {llm['runs']} runs "
                  "(prices of llmos_jupyter._llm.pricing)", highlight=False)
    if report["bottlenecks"]:
        parts = [f"{text(b['node'])} {pct(b['share'])}" for b in report["bottlenecks"]]
        out.print("bottlenecks (share of node time): " + ", ".join(parts), highlight=False)
    for g in report["failures"][:_FAILURE_ROWS]:
        where = ", ".join(g["nodes"][:5])
        out.print(f"[red]{g['count']}×[/] {text(g['error'])}  [dim]({text(where)}; e.g. "
                  f"{text(g['example'])})[/]",
                  highlight=False)
    if len(report["failures"]) > _FAILURE_ROWS:
        out.print(f"… {len(report['failures']) - _FAILURE_ROWS} more errors (--json for all)",
                  highlight=False)
    return 0
