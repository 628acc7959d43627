"""``llmos serve WORKFLOW…``: run workflows when their triggers fire (docs/triggers.md).

* ``llmos serve A.workflow.json B.workflow.json [--host 127.0.0.1] [--port 8787]
  [--max-queue 16] [--max-body BYTES]`` serves until Ctrl-C: cron schedules, new files in
  watched folders, webhook POSTs (on ``http://HOST:PORT/PATH`` when a workflow declares
  one). Exit 0 on Ctrl-C, 2 when a workflow or its triggers are invalid.
* ``--once`` runs what is pending (files already in the watched folders that no
  completed run was given, schedules due since their last run) and exits 0 when every
  run completed, 1 otherwise.
* ``--list`` prints each workflow's triggers and their last runs (from the traces).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run workflows on their triggers (schedule, file, webhook)",
                       description="Run workflows when their declared triggers fire: a cron "
                       "schedule, a new file in a watched folder, a webhook POST. Runs of "
                       "one workflow are queued and go one at a time; each writes a trace. "
                       "See docs/triggers.md.")
    p.add_argument("workflows", nargs="+", metavar="WORKFLOW",
                   help="*.workflow.json files declaring \"triggers\"")
    p.add_argument("--host", default="127.0.0.1",
                   help="webhook interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8787, metavar="P",
                   help="webhook port (default 8787; only bound when a workflow declares "
                   "a webhook)")
    p.add_argument("--once", action="store_true",
                   help="run what is pending (files in the folders, due schedules) and exit "
                   "(0: all runs completed, 1: a run failed)")
    p.add_argument("--list", action="store_true",
                   help="show each workflow's triggers and their last runs, then exit")
    p.add_argument("--max-queue", type=int, default=16, metavar="N",
                   help="pending runs per workflow before triggers are refused (default 16)")
    p.add_argument("--max-body", type=int, default=2**20, metavar="BYTES",
                   help="largest webhook body accepted (default 1048576)")
    p.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._cli import _clean
    from llmos_jupyter._engine.engine import Engine
    from llmos_jupyter._exceptions import WorkflowError
    from llmos_jupyter._paths import traces_dir
    from llmos_jupyter._skills.library import SkillLibrary

    def log(line: str) -> None:
        err.print(_clean(line), highlight=False, markup=False)

    if args.max_queue < 1 or args.max_body < 1:
        err.print("[red]error:[/] --max-queue and --max-body must be at least 1", highlight=False)
        return 2
    library = SkillLibrary()
    engine = Engine(library)
    try:
        from llmos_jupyter._triggers.server import TriggerServer, last_runs
        from llmos_jupyter._triggers.spec import WebhookTrigger

        server = TriggerServer.from_files(args.workflows, engine, max_queue=args.max_queue,
                                          max_body=args.max_body, log=log)
    except ImportError as exc:
        err.print(f"[red]error:[/] {escape(_clean(exc))} (install llmos-jupyter[serve])",
                  highlight=False)
        return 2
    except (WorkflowError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/] {escape(_clean(exc))}", highlight=False)
        return 2
    traces = engine.trace_dir or traces_dir(library.home)
    if args.list:
        for s in server.served:
            out.print(f"[bold]{escape(_clean(s.name))}[/] ({escape(_clean(s.path))})",
                      highlight=False)
            if not s.triggers:
                out.print("  (no triggers)")
            history = last_runs(s, traces)
            for t in s.triggers:
                out.print(f"  [{t.index}] {escape(_clean(t.label))}", highlight=False)
                for r in history.get(t.index, []):
                    when = f"{r.started:%Y-%m-%d %H:%M:%S} UTC" if r.started else "?"
                    out.print(f"      {when}  {escape(_clean(r.status))}  "
                              f"{escape(_clean(r.run_id))}  {escape(_clean(r.path or ''))}",
                              highlight=False)
                if not history.get(t.index):
                    out.print("      (no runs yet)")
        return 0
    without = [s.name for s in server.served if not s.triggers]
    if without:
        err.print(f"[red]error:[/] {escape(_clean(', '.join(without)))}: declares no "
                  "\"triggers\" (docs/triggers.md)", highlight=False)
        return 2
    if args.once:
        try:
            return server.run_once(traces)
        finally:
            engine.close()
    unsigned = [t.path for s in server.served for t in s.triggers
                if isinstance(t, WebhookTrigger) and not t.secret_env]
    if unsigned and args.host not in ("127.0.0.1", "localhost", "::1"):
        # Anyone who can reach the port could start these runs.
        err.print(f"[yellow]warning:[/] unsigned webhook(s) {escape(_clean(', '.join(unsigned)))} "
                  f"on {escape(args.host)}: set \"secret_env\" (docs/triggers.md)",
                  highlight=False)
    hooks = ", ".join(f"http://{args.host}:{args.port}{p}" for p in server.hooks)
    ready = (f"llmos serve: {sum(len(s.triggers) for s in server.served)} trigger(s) of "
             f"{len(server.served)} workflow(s)" + (f"; webhooks at {hooks}" if hooks else "")
             + "; Ctrl-C stops")
    try:
        server.serve(args.host, args.port, on_ready=lambda: log(ready))
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(_clean(exc))}", highlight=False)
        return 2
    finally:
        engine.close()
    return 0
