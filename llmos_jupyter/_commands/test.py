"""``llmos test FILE… [--junit report.xml] [--json] [--trace]``: run workflows' test cases.

Exit status: 0 every case passed (or was skipped), 1 a case failed, 2 a file is invalid (unreadable,
malformed ``tests`` block, overrides that do not validate) or no file holds a case.
See docs/workflow-tests.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test", help="run the test cases a workflow file carries (its \"tests\" block)",
        description="Run each case of each file's \"tests\" block through the engine and "
        "check its expectations (exact values, approx, contains, node status). Exit "
        "status: 0 all passed, 1 a case failed, 2 an invalid file or no cases.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help="*.workflow.json files (or notebooks) with a \"tests\" block")
    p.add_argument("--junit", type=Path, metavar="REPORT.xml",
                   help="also write a JUnit XML report there (for CI test reporters)")
    p.add_argument("--json", action="store_true",
                   help="print exactly one JSON object with every case's result")
    p.add_argument("--trace", action="store_true",
                   help="write a trace notebook for each case's run (default: none, so tests "
                   "do not fill the run history)")
    p.set_defaults(handler=_cmd_test)


def _cmd_test(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._api import default_library
    from llmos_jupyter._cli import _clean, _print_json, _StdoutGuard
    from llmos_jupyter._testing.runner import CaseResult, FileResult, junit_xml, run_file

    t0 = time.perf_counter()
    library = default_library()
    results: list[FileResult] = []

    def show_case(c: CaseResult) -> None:
        if args.json:
            return
        if c.skipped:
            out.print(f"  [yellow]–[/] {escape(_clean(c.case.name))}  [dim]skipped: "
                      f"{escape(_clean(c.case.skip))}[/]", highlight=False)
            return
        mark = "[green]✓[/]" if c.passed else "[red]✗[/]"
        out.print(f"  {mark} {escape(_clean(c.case.name))}  [dim]{c.duration_ms:.0f} ms[/]",
                  highlight=False)
        for line in c.messages:
            out.print("      " + _clean(line), markup=False, highlight=False)

    # Under --json nothing but the one object may reach stdout (a skill's C code or a
    # subprocess could print): file descriptor 1 points at stderr while cases run.
    with _StdoutGuard(args.json):
        for path in args.files:
            if not args.json:
                out.print(_clean(str(path)), markup=False, highlight=False, style="bold")
            result = run_file(path, library=library, trace=args.trace, on_case=show_case)
            results.append(result)
            if result.error and not args.json:
                err.print(f"  [red]invalid:[/] {escape(result.error)}", highlight=False)
            elif not result.cases and not args.json:
                out.print("  no test cases (no \"tests\" block, or an empty one)",
                          markup=False, highlight=False)
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    invalid = [r for r in results if r.error]
    seconds = time.perf_counter() - t0
    if invalid:
        status, code = "invalid", 2
    elif passed + failed + skipped == 0:
        status, code = "no-tests", 2
    else:
        status, code = ("failed", 1) if failed else ("passed", 0)
    if args.junit is not None:
        from llmos_jupyter._atomic import atomic_write_text

        atomic_write_text(args.junit, junit_xml(results))
    if args.json:
        _print_json({"status": status, "passed": passed, "failed": failed, "skipped": skipped,
                     "invalid": len(invalid), "duration_ms": round(seconds * 1e3, 3),
                     "files": [r.to_json() for r in results]})
        return code
    summary = f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
    if invalid:
        summary += f", {len(invalid)} invalid file{'s' if len(invalid) != 1 else ''}"
    if status == "no-tests":
        summary = "no test cases in " + ", ".join(str(f) for f in args.files)
    style = {"passed": "green", "failed": "red"}.get(status, "yellow")
    out.print(f"[{style}]{escape(_clean(summary))}[/] in {seconds:.1f} s", highlight=False)
    if args.junit is not None:
        out.print(_clean(f"JUnit report: {args.junit}"), markup=False, highlight=False)
    return code
