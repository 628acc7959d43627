"""``llmos agents run|check|info|clean|trust``: actor systems configured in TOML.

* ``run SYSTEM.toml [--input JSON] [--timeout S] [--json] [--no-trace]``: run the system;
  the input goes out as a ``start`` message; prints the ``ctx.exit`` result (``--json``:
  ``{status, result, error, messages, actors, trace}``). Exit 0 (an actor called
  ``ctx.exit``), 1 (a supervisor gave up, timeout, idle, interrupted), 2 (invalid system).
* ``check SYSTEM.toml [--json]``: every problem of the file; exit 2 when one is an error,
  0 when there are only warnings (a subscription no actor of the system sends).
* ``info [--json]``: the library's actor skills and the example systems.
* ``clean [--yes]``: remove the recorded agent runs (``<user volume>/agent-runs``).
* ``trust SYSTEM.toml``: sign the actor skills of the file's ``skills`` folders.

See docs/agents.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["example_systems", "example_systems_dir", "register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agents", help="run, check and inspect actor systems (TOML)",
                       description="Agents as actors: systems of kind: actor skills that "
                       "exchange messages under supervision, configured in TOML.")
    ss = p.add_subparsers(dest="agents_command", required=True)
    r = ss.add_parser("run", help="run a system file",
                      description="Run an actor system; the input is sent as a `start` "
                      "message and the result of ctx.exit is printed. Exit 0 when an actor "
                      "called ctx.exit, 1 when a supervisor gave up or the run timed out or "
                      "went idle, 2 for an invalid system.")
    r.add_argument("system", metavar="SYSTEM.toml")
    r.add_argument("--input", metavar="JSON", help="payload of the start message (JSON)")
    r.add_argument("--timeout", type=float, metavar="S", help="override [system] timeout_s")
    r.add_argument("--json", action="store_true",
                   help="print {status, result, error, messages, actors, trace}")
    r.add_argument("--no-trace", action="store_true", help="do not record the run")
    r.set_defaults(handler=_cmd_run)
    c = ss.add_parser("check", help="list every problem of a system file")
    c.add_argument("system", metavar="SYSTEM.toml")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=_cmd_check)
    i = ss.add_parser("info", help="actor skills and example systems")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=_cmd_info)
    k = ss.add_parser("clean", help="remove recorded agent runs")
    k.add_argument("--yes", action="store_true", help="do not ask")
    k.set_defaults(handler=_cmd_clean)
    t = ss.add_parser("trust", help="trust the actor skills next to a system file",
                      description="Sign the actor skills of a system file's `skills` folders "
                      "(read them first): untrusted actors run isolated, trusted ones in-process.")
    t.add_argument("system", metavar="SYSTEM.toml")
    t.set_defaults(handler=_cmd_trust)


def example_systems_dir(package_dir: Path | None = None) -> Path:
    """The folder of the example system files: ``llmos_jupyter/agents`` in an installed
    wheel (the top-level ``agents/`` folder is force-included there, as ``skills/`` is),
    else the source checkout's top-level ``agents/``. ``package_dir``: the
    ``llmos_jupyter`` folder to look from (default: this package's)."""
    here = package_dir if package_dir is not None else Path(__file__).resolve().parent.parent
    packaged = here / "agents"
    if packaged.is_dir():
        return packaged
    return here.parent / "agents"  # source checkout / editable install


def example_systems() -> list[Path]:
    """The example system files shipped with the package (:func:`example_systems_dir`),
    then the user's own under ``<user volume>/agents``."""
    from llmos_jupyter._paths import volume_dir

    out: list[Path] = []
    for folder in (example_systems_dir(), volume_dir("user") / "agents"):
        if folder.is_dir():
            out += sorted(folder.glob("*.toml"))
    return out


def _problems_out(problems: list[Any], path: str, as_json: bool, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._cli import _clean, _print_json

    if as_json:
        _print_json({"status": "invalid", "problems": [p.to_json() for p in problems]})
    else:
        n = sum(p.severity == "error" for p in problems)
        err.print(f"[red]{escape(_clean(path))}: {n} error(s)[/]", highlight=False)
        for p in problems:
            err.print(f"  {escape(_clean(str(p)))}", highlight=False)
    return 2


def _cmd_check(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._actors.config import check_system
    from llmos_jupyter._cli import _clean, _print_json

    cfg, problems = check_system(args.system)
    if any(p.severity == "error" for p in problems):
        return _problems_out(problems, args.system, args.json, err)
    if args.json:
        _print_json({"status": "valid", "problems": [p.to_json() for p in problems],
                     "name": cfg.name, "actors": [a["id"] for a in cfg.actors]})
    else:
        for p in problems:
            err.print(_clean(f"  {p}"), markup=False, highlight=False)
        out.print(_clean(f"{args.system}: valid ({len(cfg.actors)} actors"
                         + (f", {len(problems)} warning(s))" if problems else ")")),
                  markup=False, highlight=False)
    return 0


def _cmd_run(args: argparse.Namespace, out: Any, err: Any) -> int:
    import asyncio
    import json

    from rich.markup import escape

    from llmos_jupyter._actors.config import build_system, check_system
    from llmos_jupyter._actors.runtime import ActorSystemError
    from llmos_jupyter._actors.trace import write_agent_trace
    from llmos_jupyter._cli import _clean, _print_json

    payload = None
    if args.input is not None:
        try:
            payload = json.loads(args.input)
        except json.JSONDecodeError as exc:
            from llmos_jupyter._actors.config import Problem

            return _problems_out([Problem("--input", "input", f"not JSON: {exc}")],
                                 args.system, args.json, err)
    if args.timeout is not None and args.timeout <= 0:
        from llmos_jupyter._actors.config import Problem

        return _problems_out([Problem("--timeout", "timeout", "must be > 0")], args.system,
                             args.json, err)
    from llmos_jupyter._skills.library import SkillLibrary

    library = SkillLibrary()
    cfg, problems = check_system(args.system, library)
    problems = [p for p in problems if p.severity == "error"]  # warnings do not stop a run
    if problems:
        return _problems_out(problems, args.system, args.json, err)
    def show(kind: str, m: dict[str, Any]) -> None:
        # Messages as they are handled, so a long run shows its progress.
        if kind != "message":
            return
        out.print(_clean(f"{m['id']} {m['type']}: {m['sender']} -> {m['receiver']}"
                         + ("" if m["status"] == "handled" else f" [{m['status']}]")),
                  markup=False, highlight=False)
        for line in m.get("log", []):
            out.print(_clean(f"    {line}"), markup=False, highlight=False)

    try:
        system, specs = build_system(cfg, library, timeout_s=args.timeout,
                                     on_event=None if args.json else show)
        outcome = asyncio.run(system.run(specs, payload))
    except (ActorSystemError, ValueError) as exc:
        from llmos_jupyter._actors.config import Problem

        return _problems_out([Problem(args.system, "refused", str(exc))], args.system,
                             args.json, err)
    if not args.no_trace:
        try:
            write_agent_trace(outcome)
        except OSError as exc:
            err.print(f"[yellow]warning:[/] the run was not recorded: {escape(_clean(exc))}",
                      highlight=False)
    code = 0 if outcome.ok else 1
    if args.json:
        _print_json(outcome.to_json())
        return code
    if outcome.ok:
        out.print(_clean(json.dumps(outcome.result, ensure_ascii=False)), markup=False,
                  highlight=False)
    else:
        err.print(f"[red]{escape(outcome.status)}:[/] {escape(_clean(outcome.error or ''))}",
                  highlight=False)
    if outcome.trace:
        err.print(_clean(f"recorded: {outcome.trace}"), markup=False, highlight=False)
    return code


def _cmd_info(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._actors.skill import is_actor, subscriptions
    from llmos_jupyter._cli import _clean, _print_json
    from llmos_jupyter._skills.library import SkillLibrary

    actors = [s for s in SkillLibrary() if is_actor(s)]
    systems = example_systems()
    if args.json:
        _print_json({"actors": [{"skill_id": s.skill_id, "name": s.name,
                                 "description": s.description, "volume": s.volume,
                                 "subscribes": list(subscriptions(s))} for s in actors],
                     "systems": [str(p) for p in systems]})
        return 0
    out.print("actor skills:", markup=False, highlight=False)
    for s in actors:
        out.print(_clean(f"  {s.skill_id:<28} [{', '.join(subscriptions(s))}]  {s.description}"),
                  markup=False, highlight=False)
    out.print("systems:", markup=False, highlight=False)
    for p in systems:
        out.print(_clean(f"  {p}"), markup=False, highlight=False)
    return 0


def _cmd_clean(args: argparse.Namespace, out: Any, err: Any) -> int:
    import shutil

    from llmos_jupyter._actors.trace import agent_runs_dir

    folder = agent_runs_dir()
    runs = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not runs:
        out.print("no recorded agent runs", markup=False, highlight=False)
        return 0
    if not args.yes:
        answer = input(f"remove {len(runs)} recorded agent run(s) in {folder}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    shutil.rmtree(folder)
    out.print(f"removed {len(runs)} recorded agent run(s)", markup=False, highlight=False)
    return 0


def _cmd_trust(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter import _trust
    from llmos_jupyter._actors.config import load_system
    from llmos_jupyter._cli import _clean

    problems: list[Any] = []
    cfg = load_system(args.system, problems)
    if problems:
        return _problems_out(problems, args.system, False, err)
    skills = list(cfg.skills.values())
    if not skills:
        out.print("no actor skills next to this system file", markup=False, highlight=False)
        return 0
    _trust.trust(skills)
    for s in skills:
        out.print(_clean(f"trusted {s.skill_id} ({s.path})"), markup=False, highlight=False)
    return 0
