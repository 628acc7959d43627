"""The ``llmos`` command line: run workflows, list, show and check skills.

Exit status: 0 success, 1 a node failed (or a skill file has errors), 2 an invalid
workflow or a usage error (the problems are printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._engine.events import Event
from llmos_jupyter._engine.result import RunResult
from llmos_jupyter._exceptions import (
    LlmosError,
    SkillError,
    SkillNotFound,
    WorkflowError,
    WorkflowInvalid,
)
from llmos_jupyter._overrides import parse_sets
from llmos_jupyter._skills.library import SkillLibrary, skill_files
from llmos_jupyter._skills.parser import load_skill
from llmos_jupyter._skills.ports import is_png, png_bytes
from llmos_jupyter._version import __version__
from llmos_jupyter._workflow.model import Workflow

__all__ = ["main"]

_STATUS_STYLE = {
    "queued": ("·", "dim"), "running": ("▶", "cyan"), "completed": ("✓", "green"),
    "cached": ("≡", "blue"), "failed": ("✗", "red"), "skipped": ("–", "yellow"),
}


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="llmos", description="Run skill workflows; manage skills.")
    p.add_argument("--version", action="version", version=f"llmos-jupyter {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a *.workflow.json or a notebook of %%%%skill cells",
                       description="Run a workflow file or a notebook whose %%skill cells are the "
                       "workflow. Exit status: 0 completed, 1 a node failed, 2 invalid workflow "
                       "or usage, 130 cancelled with Ctrl-C (a second Ctrl-C quits at once).")
    r.add_argument("file", type=Path, help="the *.workflow.json or *.ipynb to run")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.PORT=VALUE",
                   help="override an input (VALUE parsed as JSON when it parses, else a string)")
    r.add_argument("--json", action="store_true",
                   help="print exactly one JSON object with the result on stdout (also for "
                   "invalid and cancelled runs; skills' output never goes there)")
    r.add_argument("--no-trace", action="store_true", help="do not write a trace notebook")
    r.add_argument("--workers", type=_positive_int, default=None,
                   help="parallel nodes (1 = sequential; default: the CPU count, 2-8)")
    r.add_argument("--timeout", type=_positive_seconds, default=None, metavar="SECONDS",
                   help="per-node timeout in seconds (a skill's timeout_s and a node's "
                   "data.timeout_s take precedence)")
    r.add_argument("--isolate", choices=("untrusted", "all", "none"), default="untrusted",
                   help="which nodes run in an isolated worker (default: untrusted skills; "
                   "see `llmos trust`)")
    r.add_argument("--limit", dest="limits", action="append", default=[], metavar="KEY=VALUE",
                   help="a limit of isolated workers: memory=4GiB, cpu=30 (s), timeout=10 (s), "
                   "processes=64, file_size=1GiB, open_files=256")
    r.add_argument("--allow-network", action="store_true",
                   help="let isolated (untrusted) nodes use the network")
    r.add_argument("--executor", choices=("threads", "processes", "dask"), default="threads",
                   help="where Python nodes run: this process (threads, default), a local "
                   "process pool (processes: a timed-out node's process is killed), or a Dask "
                   "cluster (dask)")
    r.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="the Dask scheduler to use with --executor dask (default: "
                   "DASK_SCHEDULER_ADDRESS, else a LocalCluster for this run)")
    r.add_argument("-v", "--verbose", action="store_true",
                   help="one line per node while running and in the summary, whatever the size")

    v = sub.add_parser("validate", help="validate a workflow without running it",
                       description="Check a workflow file against the library: unknown skills, "
                       "missing nodes or ports, type mismatches, cycles, required inputs, ids. "
                       "Exit status 0 when valid, 2 with every problem listed otherwise.")
    v.add_argument("file", type=Path, help="the *.workflow.json or *.ipynb to check")
    v.add_argument("--json", action="store_true",
                   help="print {status, problems: [{code, node, port, message}]}")

    t = sub.add_parser("trust", help="trust skills: run them in-process with your full power",
                       description="Sign the current content of skills (by id, or every inline "
                       "skill of a workflow file) with your per-user secret, like `jupyter "
                       "trust`. Editing a skill revokes it. Untrusted skills run isolated.")
    t.add_argument("targets", nargs="*", metavar="SKILL_ID|WORKFLOW",
                   help="skill ids, or *.workflow.json / *.ipynb files (their inline skills)")
    t.add_argument("--list", action="store_true", help="list what you trust and what is marked")
    u = sub.add_parser("untrust", help="withdraw trust from skills",
                       description="Remove your signature of skills (by id or workflow file).")
    u.add_argument("targets", nargs="+", metavar="SKILL_ID|WORKFLOW")

    s = sub.add_parser("skills", help="list, show or check skills")
    ss = s.add_subparsers(dest="skills_command", required=True)
    ls = ss.add_parser("list", help="list the library's skills")
    ls.add_argument("--category")
    ls.add_argument("--tag")
    ls.add_argument("--json", action="store_true")
    sh = ss.add_parser("show", help="show one skill")
    sh.add_argument("skill_id")
    ck = ss.add_parser("check",
                       help="validate skill files (every problem of each); exits 1 on errors")
    ck.add_argument("paths", nargs="+", type=Path)

    ev = sub.add_parser("evolve", help="mine trace notebooks into compound skills",
                        description="Find sub-workflows repeated in the trace notebooks and write "
                        "them as compound skills to the user volume (one commit each).")
    ev.add_argument("--min-runs", type=int, default=3, metavar="N",
                    help="successful traces a pattern needs (default 3)")
    ev.add_argument("--dry-run", action="store_true",
                    help="explain each candidate (support, members, learned defaults); "
                         "write nothing")

    vo = sub.add_parser("volume", help="history of the git-backed user and team volumes")
    vs = vo.add_subparsers(dest="volume_command", required=True)
    vl = vs.add_parser("log", help="commits, newest first")
    vl.add_argument("volume", nargs="?", default="user", choices=("user", "team"))
    vl.add_argument("--skill", metavar="SKILL_ID", help="only commits that touched this skill")
    vl.add_argument("--workflow", metavar="WORKFLOW_ID",
                    help="only commits that touched this workflow (workflows/<id>.workflow.json; "
                    "`llmos workflow restore ID REV` rolls it back)")
    vl.add_argument("-n", "--limit", type=int, default=None)
    vd = vs.add_parser("diff", help="what a commit changed (REV), or REV..REV2")
    vd.add_argument("rev", metavar="REV")
    vd.add_argument("rev2", nargs="?", metavar="REV2")
    vd.add_argument("--volume", default="user", choices=("user", "team"))
    vr = vs.add_parser("restore", help="put a skill back as it was at a revision (a new commit)")
    vr.add_argument("skill_id")
    vr.add_argument("--rev", required=True, metavar="REV")
    vr.add_argument("--volume", default="user", choices=("user", "team"))
    lt = sub.add_parser("lite", help="build the static JupyterLite site")
    lts = lt.add_subparsers(dest="lite_command", required=True)
    lb = lts.add_parser("build", help="jupyter lite build with our wheel, notebooks and skills")
    lb.add_argument("--offline", action="store_true",
                    help="everything local: Pyodide from npm, pure wheels from PyPI (cached)")
    lb.add_argument("--output", type=Path, default=Path("_site"), help="default ./_site")
    lb.add_argument("--sourcemaps", action="store_true", help="keep source maps (twice the size)")

    from llmos_jupyter._commands import register_all

    register_all(sub, ss)
    return p


class _UsageError(Exception):
    """argparse's complaint, turned into exit 2 (and JSON under ``--json``)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print and sys.exit(2)
        raise _UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (0 < value < float("inf")):  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _clean(text: Any) -> str:
    """What the CLI may print of a value from a skill, workflow or node: secrets redacted,
    terminal control sequences removed."""
    from llmos_jupyter._redact import redact, strip_control

    return strip_control(redact(text))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmos`` script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        if "--json" in argv:
            _print_json({"status": "invalid", "problems": [
                {"code": "usage", "node": None, "port": None, "message": str(exc)}]})
        else:
            _parser().print_usage(sys.stderr)
            print(_clean(str(exc)), file=sys.stderr)
        return 2
    from rich.console import Console

    # soft_wrap: messages carry file paths; wrapping them would break copy-paste and grep.
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    as_json = bool(getattr(args, "json", False)) and args.command in ("run", "validate")
    try:
        return _dispatch(args, out, err, as_json)
    except BrokenPipeError:
        # The reader went away (`llmos ... | head`): leave quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _dispatch(args: argparse.Namespace, out: Any, err: Any, as_json: bool) -> int:
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:  # a command of llmos_jupyter._commands
            return int(handler(args, out, err))
        if args.command == "run":
            return _cmd_run(args, out, err)
        if args.command == "validate":
            return _cmd_validate(args, out, err)
        if args.command in ("trust", "untrust"):
            return _cmd_trust(args, out, err)
        if args.command == "evolve":
            return _cmd_evolve(args, out, err)
        if args.command == "volume":
            return _cmd_volume(args, out, err)
        if args.command == "lite":
            from llmos_jupyter._lite.build import main as lite_main

            return lite_main(args, out, err)
        return {"list": _cmd_list, "show": _cmd_show, "check": _cmd_check}[args.skills_command](
            args, out, err)
    except WorkflowInvalid as exc:
        if as_json:
            _print_json({"status": "invalid", "problems": [
                {"code": p.code, "node": p.node, "port": p.port, "edge": p.edge,
                 "message": p.message} for p in exc.problems]})
        else:
            err.print(f"[red]error:[/] {escape(_clean(exc))}", highlight=False)
        return 2
    except BrokenPipeError:
        raise
    except (WorkflowError, LlmosError, ValueError, OSError) as exc:
        message = _clean(exc) if not isinstance(exc, OSError) else _clean(
            f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        if as_json:
            code = ("unknown-skill" if isinstance(exc, SkillNotFound)
                    else "unreadable-workflow" if isinstance(exc, (WorkflowError, OSError))
                    else "usage")
            _print_json({"status": "invalid", "problems": [
                {"code": code, "node": None, "port": None, "message": message}]})
        else:
            err.print(f"[red]error:[/] {escape(message)}", highlight=False)
        return 2


def _json_text(data: Any) -> str:
    from llmos_jupyter._redact import redact_obj

    # allow_nan=False: the object must parse in every JSON reader (jsonable spells NaN).
    return json.dumps(redact_obj(data), indent=2, allow_nan=False)


def _print_json(data: Any) -> None:
    print(_json_text(data))


# -- run -----------------------------------------------------------------------------------
class _StdoutGuard:
    """While a ``--json`` run goes, file descriptor 1 points at stderr, so nothing a skill,
    a C extension or a subprocess writes can corrupt the one JSON object; the object is
    printed through the saved descriptor afterwards."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.saved: int | None = None

    def __enter__(self) -> _StdoutGuard:
        if not self.active:
            return self
        try:
            if sys.stdout.fileno() != 1:
                return self
        except (AttributeError, OSError, ValueError):  # captured (tests, notebooks)
            return self
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(2, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            os.dup2(self.saved, 1)
            os.close(self.saved)
            self.saved = None


def _cmd_run(args: argparse.Namespace, out: Any, err: Any) -> int:
    overrides = parse_sets(args.sets)
    limits = None
    if args.limits or args.allow_network:
        from llmos_jupyter._isolation import Limits
        from llmos_jupyter._isolation.limits import config_limits

        # The run's options beat the user's [isolation] config; per-skill config beats both.
        base = Limits.parse(config_limits()[0])
        limits = Limits.parse([*args.limits, *(["network=yes"] if args.allow_network else [])],
                              base)
    workflow = Workflow.load(args.file)
    library = SkillLibrary()
    for e in library.errors[:20]:
        err.print(f"[yellow]warning:[/] skipped broken skill file {escape(_clean(e))}",
                  highlight=False)
    if len(library.errors) > 20:
        err.print(f"[yellow]warning:[/] … and {len(library.errors) - 20} more broken skill files "
                  "(llmos skills list shows them all)", highlight=False)
    if args.scheduler and args.executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    engine = Engine(library, max_workers=args.workers, node_timeout=args.timeout,
                    isolate=args.isolate, limits=limits, executor=args.executor,
                    scheduler=args.scheduler)
    if engine.remote:
        executor = engine.node_executor()  # start (or connect to) it before the progress
        link = getattr(executor, "dashboard_link", None)
        if link:
            err.print(f"{args.executor}: dashboard {link}", highlight=False, markup=False)
    # An invalid workflow raises WorkflowInvalid from the run's result (exit 2, nothing ran).
    progress = _Progress(err if args.json else out, workflow, verbose=args.verbose)
    try:
        with _StdoutGuard(args.json), progress:
            result, interrupted = _run_interruptible(engine, workflow, overrides,
                                                     trace=not args.no_trace,
                                                     on_event=progress.on_event, err=err)
    finally:
        engine.close()
    if args.json:
        try:
            data = result.to_json()
            if interrupted:
                data["interrupted"] = True
            text = _json_text(data)
        except (ValueError, TypeError, RecursionError) as exc:  # never lose the one object
            text = _json_text({"status": result.status, "run_id": result.run_id,
                               "trace": result.trace,
                               "error": f"the result could not be written as JSON: {exc}"})
        print(text)
    else:
        _print_summary(out, result, library, verbose=args.verbose)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(_clean(warning))}", highlight=False)
    if result.trace_error:
        err.print(f"[yellow]warning:[/] trace not written: {escape(_clean(result.trace_error))}")
    if interrupted:
        if _ABANDONED.is_set():
            # Abandoned node threads would keep the interpreter alive at exit (the pool's
            # threads are joined): everything is printed and written, so leave now.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    return 0 if result.status == "completed" else 1


_ABANDONED = threading.Event()
_GRACE_S = 2.0
"""Seconds running nodes get to stop after Ctrl-C before the run is abandoned."""


def _run_interruptible(engine: Engine, workflow: Workflow, overrides: dict[str, Any], *,
                       trace: bool, on_event: Any, err: Any) -> tuple[RunResult, bool]:
    """Run in a background thread; the first Ctrl-C cancels (running nodes interrupted
    where possible, the rest skipped, the trace written as cancelled), a second one exits
    at once with status 130."""
    import signal

    handle = engine.start(workflow, overrides, trace=trace, on_event=on_event)
    interrupts = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            handle.cancel()
            err.print("[yellow]cancelling…[/] (press Ctrl-C again to quit at once)",
                      highlight=False)
        else:
            os._exit(130)

    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
    cancelled_at: float | None = None
    try:
        while True:
            try:
                return handle.result(timeout=0.25), interrupts > 0
            except TimeoutError:
                if interrupts and cancelled_at is None:
                    cancelled_at = time.monotonic()
                if cancelled_at is not None and time.monotonic() - cancelled_at > _GRACE_S:
                    # In-process code stuck in a C call cannot be interrupted: keep what
                    # finished, write the trace, and leave its thread behind.
                    result = handle.abandon()
                    _ABANDONED.set()
                    return result, True
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, old)


class _Progress:
    """Live progress while a run goes. On a terminal: one redrawn block (counts, running
    nodes, elapsed) whatever the workflow's size. Otherwise: one line per finished node
    for small workflows (≤ 20 nodes) or with ``--verbose``, nothing for big ones. Fed by
    engine events from worker threads, so it only counts and stores; drawing happens in
    rich's refresh thread."""

    SMALL = 20

    def __init__(self, console: Any, workflow: Workflow, verbose: bool = False) -> None:
        self.console = console
        self.total = len(workflow.nodes)
        self.verbose = verbose
        self.lines = verbose or self.total <= self.SMALL
        self.counts: dict[str, int] = {}
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()
        self.live: Any = None
        self.t0 = time.monotonic()

    def __enter__(self) -> _Progress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(get_renderable=self._render, console=self.console,
                             refresh_per_second=8, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def on_event(self, ev: Event) -> None:
        kind = ev.kind
        if kind == "node_log":  # a running node's new output (processes/dask executors)
            if self.verbose and ev.text:
                console = self.live.console if self.live is not None else self.console
                for text in ev.text.splitlines():
                    console.print(f"[dim]{escape(_clean(ev.node_id or ''))} │[/] "
                                  f"{escape(_clean(text))}", highlight=False)
            return
        if kind == "node_progress":
            return
        if kind == "node_started":
            with self.lock:
                self.running[ev.node_id or ""] = time.monotonic()
            return
        if kind == "run_started":
            with self.lock:
                self.total = len(ev.nodes)
                self.lines = self.verbose or self.total <= self.SMALL
            return
        if ev.node_id is None:
            return
        with self.lock:
            self.running.pop(ev.node_id, None)
            status = ev.status or ""
            self.counts[status] = self.counts.get(status, 0) + 1
        if self.lines:
            mark, style = _STATUS_STYLE.get(ev.status or "", ("?", ""))
            took = f" {ev.duration_ms:.1f} ms" if ev.duration_ms else ""
            why = f": {ev.error}" if ev.error else ""
            line = f"[{style}]{mark}[/] {escape(_clean(f'{ev.node_id} {ev.status}{took}{why}'))}"
            if self.live is not None:
                self.live.console.print(line, highlight=False)
            else:
                self.console.print(line, highlight=False)

    def _render(self) -> Any:
        from rich.text import Text

        with self.lock:
            counts = dict(self.counts)
            running = list(self.running.items())
        done = sum(counts.values())
        now = time.monotonic()
        parts = [f"{done}/{self.total} done"]
        for status in ("completed", "cached", "failed", "skipped"):
            if counts.get(status):
                parts.append(f"{counts[status]} {status}")
        text = Text(" · ".join(parts) + f" · {now - self.t0:.1f} s")
        running.sort(key=lambda item: item[1])
        for node_id, since in running[:5]:
            text.append(f"\n  ▶ {_clean(node_id)} {now - since:.1f} s", style="cyan")
        if len(running) > 5:
            text.append(f"\n  … {len(running) - 5} more running", style="cyan")
        return text


_SUMMARY_NODES = 20
_SUMMARY_FAILURES = 5
_SUMMARY_OUTPUTS = 30
_TRACEBACK_LINES = 12


def _print_summary(out: Any, result: RunResult, library: SkillLibrary,
                   verbose: bool = False) -> None:
    """At most ~100 lines whatever the size: a node table for small runs (or --verbose),
    else totals; the outputs (every node's for small runs, sink nodes' for big ones, at
    most 30 lines); the first failures with the end of their traceback and log."""
    from rich.table import Table

    nodes = result.nodes
    title = (f"{_clean(result.workflow.name or result.workflow.id)} · run {result.run_id} · "
             f"{result.status} in {result.duration_ms:.0f} ms")
    if verbose or len(nodes) <= _SUMMARY_NODES:
        table = Table(title=escape(title), title_justify="left")
        columns: list[tuple[str, dict[str, Any]]] = [
            ("node", {}), ("skill", {"style": "dim"}), ("status", {}),
            ("ms", {"justify": "right"}), ("note", {"overflow": "fold"})]
        for col, kw in columns:
            table.add_column(col, **kw)
        for node_id, r in nodes.items():
            mark, style = _STATUS_STYLE.get(r.status, ("?", ""))
            note = ("isolated; " if r.isolated else "") + (r.error or "")
            table.add_row(escape(_clean(node_id)), escape(_clean(r.skill_id)),
                          f"[{style}]{mark} {r.status}[/]",
                          f"{r.duration_ms:.1f}" if r.status == "completed" else "",
                          escape(_clean(note)))
        out.print(table)
    else:
        counts: dict[str, int] = {}
        for r in nodes.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        totals = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        out.print(f"{title}\n  {len(nodes)} nodes: {totals}", highlight=False, markup=False)
    # Outputs of sink nodes, one per line (node.port = value unit).
    consumed = {e.source for e in result.workflow.edges}
    shown = 0
    # Small runs show every node's outputs; big ones those of sink nodes only.
    small = verbose or len(nodes) <= _SUMMARY_NODES
    sinks = list(nodes) if small else [n for n in nodes if n not in consumed]
    for node_id in sinks:
        r = nodes[node_id]
        skill = library.get(r.skill_id) if r.skill_id in library else None
        ports = skill.output_ports if skill else {}
        for name, value in r.outputs.items():
            if shown == _SUMMARY_OUTPUTS and not verbose:
                break
            port = ports.get(name)
            unit = f" {port.unit}" if port is not None and port.unit else ""
            shown_value = "●●●" if port is not None and getattr(port, "secret", False) \
                else _value_preview(value)
            out.print(_clean(f"  {node_id}.{name} = {shown_value}{unit}"),
                      highlight=False, markup=False)
            shown += 1
    total_outputs = sum(len(nodes[n].outputs) for n in sinks)
    if shown < total_outputs:
        out.print(f"  … {total_outputs - shown} more outputs (--verbose or --json for all)",
                  highlight=False, markup=False)
    failed = result.failed
    for node_id in failed[: (len(failed) if verbose else _SUMMARY_FAILURES)]:
        r = nodes[node_id]
        out.print(f"\n[red]node {escape(_clean(repr(node_id)))} failed:[/]", highlight=False)
        tb = (r.traceback or r.error or "").rstrip().splitlines()
        if len(tb) > _TRACEBACK_LINES and not verbose:
            tb = ["  …"] + tb[-_TRACEBACK_LINES:]
        out.print(_clean("\n".join(tb)), highlight=False, markup=False)
        if r.log:
            log = r.log.rstrip().splitlines()
            if len(log) > 5 and not verbose:
                log = ["…"] + log[-5:]
            out.print(_clean("  log: " + "\n       ".join(log)), highlight=False, markup=False)
    if len(failed) > _SUMMARY_FAILURES and not verbose:
        out.print(f"\n… {len(failed) - _SUMMARY_FAILURES} more failed nodes: "
                  + _clean(", ".join(failed[_SUMMARY_FAILURES:_SUMMARY_FAILURES + 10]))
                  + (" …" if len(failed) > _SUMMARY_FAILURES + 10 else ""),
                  highlight=False, markup=False)
    if result.trace:
        out.print(f"trace: {result.trace}", highlight=False, markup=False)


def _value_preview(value: Any) -> str:
    if is_png(value):
        data = png_bytes(value)
        w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return f"PNG {w}×{h}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, list):
        head = ", ".join(_value_preview(v) for v in value[:3])
        return f"[{head}{', …' if len(value) > 3 else ''}] ({len(value)})"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    text = str(value)
    first = text.split("\n", 1)[0]
    return (first[:60] + "…") if len(first) > 60 or "\n" in text else first


# -- validate / skills ---------------------------------------------------------------------
def _cmd_validate(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._testing.cases import load_cases
    from llmos_jupyter._workflow.validate import plan

    workflow = Workflow.load(args.file)
    p = plan(workflow, SkillLibrary())
    load_cases(workflow, p.library)  # a malformed "tests" block is an invalid file too
    if workflow.extra.get("triggers") is not None:  # so are triggers `llmos serve` cannot run
        from llmos_jupyter._triggers.spec import check_inputs, parse_triggers

        check_inputs(workflow, parse_triggers(workflow, source=args.file), p.library,
                     source=args.file)
    if args.json:
        _print_json({"status": "valid", "nodes": len(p.order), "edges": len(workflow.edges),
                     "problems": []})
    else:
        out.print(_clean(f"{args.file}: valid ({len(p.order)} nodes, {len(workflow.edges)} edges)"),
                  markup=False, highlight=False)
    return 0


def _trust_targets(targets: Sequence[str], library: SkillLibrary) -> list[Any]:
    """Skills named by id, or the inline skills of workflow files."""
    skills: list[Any] = []
    for target in targets:
        path = Path(target)
        if target.endswith((".json", ".ipynb")) and path.exists():
            inline = Workflow.load(path).inline_skills()
            if not inline:
                raise ValueError(f"{target}: this workflow carries no inline skills")
            skills += inline
        else:
            skills.append(library.get(target))
    return skills


def _cmd_trust(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter import _trust

    library = SkillLibrary()
    if args.command == "trust" and (args.list or not args.targets):
        rows = _trust.trusted_list(library.home)
        if not rows:
            out.print("nothing signed or marked; trusted by default: the system volume and your "
                      "own user volume", markup=False, highlight=False)
        for row in rows:
            if row.get("marked"):
                out.print(_clean(f"untrusted  {row['path']}  ({row.get('why', '')})"),
                          markup=False, highlight=False)
            else:
                out.print(_clean(f"trusted    {row.get('skill_id')}  {row.get('volume') or ''}  "
                                 f"{row.get('path') or '(inline)'}  signed {row.get('signed_at')}"),
                          markup=False, highlight=False)
        return 0
    skills = _trust_targets(args.targets, library)
    if args.command == "trust":
        _trust.trust(skills, library.home)
        for skill in skills:
            out.print(_clean(f"trusted {skill.skill_id} ({skill.volume or 'memory'}"
                             f"{', ' + str(skill.path) if skill.path else ''})"),
                      markup=False, highlight=False)
    else:
        _trust.untrust(skills, library.home)
        for skill in skills:
            out.print(_clean(f"untrusted {skill.skill_id} ({skill.volume or 'memory'})"),
                      markup=False, highlight=False)
    return 0


def _cmd_list(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._trust import is_trusted

    library = SkillLibrary()
    skills = library.list(category=args.category, tag=args.tag)
    if args.json:
        _print_json([{"skill_id": s.skill_id, "name": s.name, "category": s.category,
                      "executable": s.executable, "volume": s.volume,
                      "trusted": is_trusted(s, library.home),
                      "description": s.description} for s in skills])
    else:
        from rich.table import Table

        table = Table(box=None)
        for col in ("skill", "category", "kind", "volume", "trust", "description"):
            table.add_column(col, overflow="fold")
        for s in skills:
            volume = s.volume or ""
            if library.overridden(s.skill_id):
                volume += " (overrides " + ", ".join(
                    o.volume or "?" for o in library.overridden(s.skill_id)) + ")"
            trusted = is_trusted(s, library.home)
            table.add_row(escape(_clean(s.skill_id)), escape(_clean(s.category)),
                          "executable" if s.executable else "standard", volume,
                          "trusted" if trusted else "[yellow]untrusted[/]",
                          escape(_clean(s.description)))
        out.print(table)
    for e in library.errors:
        err.print(f"[yellow]warning:[/] {escape(_clean(e))}", highlight=False)
    return 0


def _cmd_show(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.table import Table

    from llmos_jupyter._trust import is_trusted

    library = SkillLibrary()
    skill = library.get(args.skill_id)
    trust = "trusted" if is_trusted(skill, library.home) else "untrusted"
    out.print(f"[bold]{escape(_clean(skill.name))}[/] ({escape(_clean(skill.skill_id))} "
              f"v{escape(_clean(skill.version))}, {escape(_clean(skill.category))}, "
              f"{skill.runtime if skill.executable else 'standard'}, {trust}) — "
              f"{escape(_clean(str(skill.path)))}", highlight=False)
    if skill.description:
        out.print(_clean(skill.description), markup=False, highlight=False)
    for kind, ports in (("inputs", skill.inputs), ("outputs", skill.outputs)):
        if not ports:
            continue
        table = Table(title=kind, title_justify="left")
        for col in ("port", "type", "unit", "default", "description"):
            table.add_column(col, overflow="fold")
        for p in ports:
            default = ("●●●" if getattr(p, "secret", False) and p.has_default
                       else repr(p.default) if p.has_default
                       else ("required" if p.required else ""))
            table.add_row(escape(_clean(p.name)), p.type, escape(_clean(p.unit or "")),
                          escape(_clean(default)), escape(_clean(p.description)))
        out.print(table)
    # The body as plain text: a skill's Markdown is data, never rendered with links or markup.
    out.print(_clean(skill.body), markup=False, highlight=False)
    return 0


def _cmd_check(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._skills.parser import check_skill_file

    files: list[Path] = []
    for path in args.paths:
        if path.is_dir():
            files += skill_files(path)
        elif path.exists():
            files.append(path)
        else:
            err.print(_clean(f"{path}: no such file or folder"), highlight=False, markup=False)
            return 2
    bad = warned = 0
    for f in files:
        warnings: list[Any] = []
        problems = check_skill_file(f, warnings=warnings)
        for w in warnings:  # Agent Skills specification violations: reported, not fatal
            err.print(f"[yellow]![/] {escape(_clean(w))}", highlight=False)
        warned += bool(warnings)
        if problems:
            bad += 1
            for exc in problems:
                err.print(f"[red]✗[/] {escape(_clean(exc))}", highlight=False)
            continue
        try:
            skill = load_skill(f)
        except SkillError as exc:  # check_skill_file and load_skill should agree
            bad += 1
            err.print(f"[red]✗[/] {escape(_clean(exc))}", highlight=False)
        else:
            from llmos_jupyter._actors.skill import check_actor_skill, is_actor

            actor_problems = check_actor_skill(skill)
            if actor_problems:
                bad += 1
                for problem in actor_problems:  # (`exc` is bound by an except clause above)
                    err.print(f"[red]✗[/] {escape(_clean(problem))}", highlight=False)
                continue
            kind = "actor" if is_actor(skill) else "executable" if skill.executable else "standard"
            out.print(f"[green]✓[/] {escape(_clean(f))} ({escape(_clean(skill.skill_id))}, {kind})",
                      highlight=False)
    out.print(f"{len(files) - bad} ok, {bad} with errors"
              + (f", {warned} with warnings" if warned else ""), highlight=False)
    return 1 if bad else 0


# -- evolve / volume -----------------------------------------------------------------------
def _cmd_evolve(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._evolution.evolve import evolve

    if args.min_runs < 1:
        raise ValueError(f"--min-runs must be >= 1, got {args.min_runs}")
    report = evolve(min_runs=args.min_runs, dry_run=args.dry_run,
                    progress=lambda message: err.print(_clean(message), markup=False,
                                                       highlight=False))
    out.print(report.explain(), markup=False, highlight=False)
    return 0


def _cmd_volume(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._volumes.volume import Volume

    vol = Volume(args.volume)
    if args.volume_command == "log":
        if args.workflow and args.skill:
            raise ValueError("volume log: give --skill or --workflow, not both")
        if args.workflow:
            from llmos_jupyter._workflow_versions import workflow_log

            revs = workflow_log(args.workflow, volume=vol, limit=args.limit)
        else:
            revs = vol.log(skill_id=args.skill, limit=args.limit)
        if not revs:
            what = (f" for workflow {args.workflow!r}" if args.workflow
                    else f" for skill {args.skill!r}" if args.skill else "")
            out.print(f"no history{what} in the {vol.name} volume ({vol.root})",
                      markup=False, highlight=False)
        for r in revs:
            out.print(f"{r}  [{', '.join(r.paths)}]", markup=False, highlight=False)
        return 0
    if args.volume_command == "diff":
        print(vol.diff(args.rev, args.rev2), end="")
        return 0
    rev = vol.restore(args.skill_id, args.rev)
    if rev is None:
        out.print(f"skill {args.skill_id!r} already matches {args.rev}; nothing to restore",
                  markup=False, highlight=False)
    else:
        out.print(f"restored {args.skill_id!r} as of {args.rev}: commit {rev.short} "
                  f"({', '.join(rev.paths)})", markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
