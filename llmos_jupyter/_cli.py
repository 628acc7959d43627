"""The ``llmos`` command line: run workflows, list, show and check skills.

Exit status: 0 success, 1 a node failed (or a skill file has errors), 2 an invalid
workflow or a usage error (the problems are printed).
"""

from __future__ import annotations

import argparse
import json
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
from llmos_jupyter._exceptions import LlmosError, SkillError, WorkflowError, WorkflowInvalid
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
    p = argparse.ArgumentParser(prog="llmos", description="Run skill workflows; manage skills.")
    p.add_argument("--version", action="version", version=f"llmos-jupyter {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a *.workflow.json or a notebook of %%%%skill cells",
                       description="Run a workflow file or a notebook whose %%skill cells are the workflow.")
    r.add_argument("file", type=Path, help="the *.workflow.json or *.ipynb to run")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.PORT=VALUE",
                   help="override an input (VALUE parsed as JSON when it parses, else a string)")
    r.add_argument("--json", action="store_true", help="print one JSON object with the result")
    r.add_argument("--no-trace", action="store_true", help="do not write a trace notebook")
    r.add_argument("--workers", type=int, default=None, help="thread-pool size (1 = sequential)")
    r.add_argument("--timeout", type=float, default=None, help="per-node timeout in seconds")

    v = sub.add_parser("validate", help="validate a workflow without running it")
    v.add_argument("file", type=Path)

    s = sub.add_parser("skills", help="list, show or check skills")
    ss = s.add_subparsers(dest="skills_command", required=True)
    ls = ss.add_parser("list", help="list the library's skills")
    ls.add_argument("--category")
    ls.add_argument("--tag")
    ls.add_argument("--json", action="store_true")
    sh = ss.add_parser("show", help="show one skill")
    sh.add_argument("skill_id")
    ck = ss.add_parser("check", help="validate skill files; exits 1 on errors")
    ck.add_argument("paths", nargs="+", type=Path)

    ev = sub.add_parser("evolve", help="mine trace notebooks into compound skills",
                        description="Find sub-workflows repeated in the trace notebooks and write "
                        "them as compound skills to the user volume (one commit each).")
    ev.add_argument("--min-runs", type=int, default=3, metavar="N",
                    help="successful traces a pattern needs (default 3)")
    ev.add_argument("--dry-run", action="store_true",
                    help="explain each candidate (support, members, learned defaults); write nothing")

    vo = sub.add_parser("volume", help="history of the git-backed user and team volumes")
    vs = vo.add_subparsers(dest="volume_command", required=True)
    vl = vs.add_parser("log", help="commits, newest first")
    vl.add_argument("volume", nargs="?", default="user", choices=("user", "team"))
    vl.add_argument("--skill", metavar="SKILL_ID", help="only commits that touched this skill")
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmos`` script; returns the exit status."""
    args = _parser().parse_args(argv)
    from rich.console import Console

    # soft_wrap: messages carry file paths; wrapping them would break copy-paste and grep.
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    try:
        if args.command == "run":
            return _cmd_run(args, out, err)
        if args.command == "validate":
            return _cmd_validate(args, out, err)
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
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2
    except (WorkflowError, LlmosError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2


# -- run -----------------------------------------------------------------------------------
def _parse_sets(sets: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in sets:
        key, eq, raw = item.partition("=")
        if not eq or "." not in key:
            raise ValueError(f"--set {item!r}: expected NODE.PORT=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        overrides[key.strip()] = value
    return overrides


def _cmd_run(args: argparse.Namespace, out: Any, err: Any) -> int:
    overrides = _parse_sets(args.sets)
    workflow = Workflow.load(args.file)
    library = SkillLibrary()
    for e in library.errors:
        err.print(f"[yellow]warning:[/] skipped broken skill file {escape(str(e))}", highlight=False)
    engine = Engine(library, max_workers=args.workers, node_timeout=args.timeout)
    progress = _Progress(err if args.json else out, workflow)
    with progress:
        result = engine.run(workflow, overrides, trace=not args.no_trace, on_event=progress.on_event)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_summary(out, result, library)
    if result.trace_error:
        err.print(f"[yellow]warning:[/] trace not written: {escape(result.trace_error)}")
    return 0 if result.status == "completed" else 1


class _Progress:
    """Live per-node status while a run goes (a redrawn table on a terminal, one line per
    event otherwise). Fed by engine events from worker threads."""

    def __init__(self, console: Any, workflow: Workflow) -> None:
        self.console = console
        self.skills = {n.id: n.skill for n in workflow.nodes}
        self.state: dict[str, tuple[str, float | None, float | None]] = {}
        self.lock = threading.Lock()
        self.live: Any = None

    def __enter__(self) -> _Progress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(get_renderable=self._table, console=self.console,
                             refresh_per_second=10, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def on_event(self, ev: Event) -> None:
        with self.lock:
            if ev.kind == "run_started":
                self.state = {n: ("queued", None, None) for n in ev.nodes}
                return
            if ev.node_id is None:
                return
            if ev.kind == "node_started":
                self.state[ev.node_id] = ("running", time.monotonic(), None)
            else:
                self.state[ev.node_id] = (ev.status or "", None, ev.duration_ms)
        if self.live is None and ev.kind != "node_started":
            mark, style = _STATUS_STYLE.get(ev.status or "", ("?", ""))
            took = f" {ev.duration_ms:.1f} ms" if ev.duration_ms else ""
            why = f": {ev.error}" if ev.error else ""
            self.console.print(f"[{style}]{mark}[/] {escape(f'{ev.node_id} {ev.status}{took}{why}')}",
                               highlight=False)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, padding=(0, 1))
        with self.lock:
            items = list(self.state.items())
        now = time.monotonic()
        for node_id, (status, since, ms) in items:
            mark, style = _STATUS_STYLE.get(status, ("?", ""))
            took = (f"{now - since:.1f} s" if since is not None
                    else f"{ms:.1f} ms" if ms else "")
            table.add_row(f"[{style}]{mark}[/]", node_id, f"[dim]{self.skills.get(node_id, '')}[/]",
                          f"[{style}]{status}[/]", took)
        return table


def _print_summary(out: Any, result: RunResult, library: SkillLibrary) -> None:
    from rich.table import Table

    table = Table(title=f"{result.workflow.name or result.workflow.id} · run {result.run_id} · "
                        f"{result.status} in {result.duration_ms:.0f} ms", title_justify="left")
    for col, kw in (("node", {}), ("skill", {"style": "dim"}), ("status", {}),
                    ("ms", {"justify": "right"}), ("note", {"overflow": "fold"})):
        table.add_column(col, **kw)
    for node_id, r in result.nodes.items():
        mark, style = _STATUS_STYLE.get(r.status, ("?", ""))
        table.add_row(node_id, r.skill_id, f"[{style}]{mark} {r.status}[/]",
                      f"{r.duration_ms:.1f}" if r.status == "completed" else "",
                      escape(r.error or ""))
    out.print(table)
    # Outputs one per line (node.port = value unit): wide values never squeeze the table.
    for node_id, r in result.nodes.items():
        skill = library.get(r.skill_id) if r.skill_id in library else None
        ports = skill.output_ports if skill else {}
        for name, value in r.outputs.items():
            port = ports.get(name)
            unit = f" {port.unit}" if port is not None and port.unit else ""
            out.print(f"  {node_id}.{name} = {_value_preview(value)}{unit}",
                      highlight=False, markup=False)
    for node_id in result.failed:
        out.print(f"\n[red]node {escape(repr(node_id))} failed:[/]", highlight=False)
        out.print(result.nodes[node_id].traceback or "", highlight=False, markup=False)
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
    from llmos_jupyter._workflow.validate import plan

    workflow = Workflow.load(args.file)
    p = plan(workflow, SkillLibrary())
    out.print(f"{args.file}: valid ({len(p.order)} nodes, {len(workflow.edges)} edges)",
              markup=False, highlight=False)
    return 0


def _cmd_list(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.table import Table

    library = SkillLibrary()
    skills = library.list(category=args.category, tag=args.tag)
    if args.json:
        print(json.dumps([{"skill_id": s.skill_id, "name": s.name, "category": s.category,
                           "executable": s.executable, "volume": s.volume,
                           "description": s.description} for s in skills], indent=2))
    else:
        table = Table(box=None)
        for col in ("skill", "category", "kind", "volume", "description"):
            table.add_column(col, overflow="fold")
        for s in skills:
            volume = s.volume or ""
            if library.overridden(s.skill_id):
                volume += " (overrides " + ", ".join(
                    o.volume or "?" for o in library.overridden(s.skill_id)) + ")"
            table.add_row(s.skill_id, s.category, "executable" if s.executable else "standard",
                          volume, escape(s.description))
        out.print(table)
    for e in library.errors:
        err.print(f"[yellow]warning:[/] {escape(str(e))}", highlight=False)
    return 0


def _cmd_show(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markdown import Markdown
    from rich.table import Table

    skill = SkillLibrary().get(args.skill_id)
    out.print(f"[bold]{escape(skill.name)}[/] ({skill.skill_id} v{skill.version}, {skill.category}, "
              f"{skill.runtime if skill.executable else 'standard'}) — {escape(str(skill.path))}",
              highlight=False)
    if skill.description:
        out.print(skill.description, markup=False)
    for kind, ports in (("inputs", skill.inputs), ("outputs", skill.outputs)):
        if not ports:
            continue
        table = Table(title=kind, title_justify="left")
        for col in ("port", "type", "unit", "default", "description"):
            table.add_column(col, overflow="fold")
        for p in ports:
            default = repr(p.default) if p.has_default else ("required" if p.required else "")
            table.add_row(p.name, p.type, p.unit or "", escape(default), escape(p.description))
        out.print(table)
    out.print(Markdown(skill.body))
    return 0


def _cmd_check(args: argparse.Namespace, out: Any, err: Any) -> int:
    files: list[Path] = []
    for path in args.paths:
        if path.is_dir():
            files += skill_files(path)
        elif path.exists():
            files.append(path)
        else:
            err.print(f"{path}: no such file or folder", highlight=False, markup=False)
            return 2
    bad = 0
    for f in files:
        try:
            skill = load_skill(f)
        except SkillError as exc:
            bad += 1
            err.print(f"[red]✗[/] {escape(str(exc))}", highlight=False)
        else:
            kind = "executable" if skill.executable else "standard"
            out.print(f"[green]✓[/] {escape(str(f))} ({skill.skill_id}, {kind})", highlight=False)
    out.print(f"{len(files) - bad} ok, {bad} with errors", highlight=False)
    return 1 if bad else 0


# -- evolve / volume -----------------------------------------------------------------------
def _cmd_evolve(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._evolution.evolve import evolve

    if args.min_runs < 1:
        raise ValueError(f"--min-runs must be >= 1, got {args.min_runs}")
    report = evolve(min_runs=args.min_runs, dry_run=args.dry_run)
    out.print(report.explain(), markup=False, highlight=False)
    return 0


def _cmd_volume(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._volumes.volume import Volume

    vol = Volume(args.volume)
    if args.volume_command == "log":
        revs = vol.log(skill_id=args.skill, limit=args.limit)
        if not revs:
            what = f" for skill {args.skill!r}" if args.skill else ""
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
