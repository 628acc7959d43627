"""``llmos workflow save|log|show|restore``: workflow versions in the user volume.

``save FILE`` commits the workflow to ``<user volume>/workflows/<id>.workflow.json``;
``log ID`` lists its commits; ``show ID [--rev REV]`` prints it as it was; ``restore ID
REV`` puts it back as it was at REV (a new commit). See
:mod:`llmos_jupyter._workflow_versions`. Exit status 0, or 2 for an unreadable file, an
unknown revision or a workflow that was never saved (the error names which).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workflow", help="save workflows to the user volume (git) and roll "
                       "them back",
                       description="Versions of workflows: each save is a commit of the user "
                       "volume (workflows/<id>.workflow.json); restore makes a new commit with "
                       "an old version.")
    ws = p.add_subparsers(dest="workflow_command", required=True)
    s = ws.add_parser("save", help="commit a workflow file to the user volume")
    s.add_argument("file", type=Path, metavar="FILE", help="a *.workflow.json or notebook")
    s.add_argument("-m", "--message", help="the commit message (default: Save workflow ID)")
    s.set_defaults(handler=_cmd_save)
    lg = ws.add_parser("log", help="the saved versions of a workflow, newest first")
    lg.add_argument("workflow_id", metavar="ID")
    lg.add_argument("-n", "--limit", type=int, default=None)
    lg.add_argument("--json", action="store_true", help="print one JSON object")
    lg.set_defaults(handler=_cmd_log)
    sh = ws.add_parser("show", help="print a saved version of a workflow")
    sh.add_argument("workflow_id", metavar="ID")
    sh.add_argument("--rev", default="HEAD", metavar="REV", help="default HEAD (the latest)")
    sh.set_defaults(handler=_cmd_show)
    rs = ws.add_parser("restore", help="put a workflow back as it was at REV (a new commit)")
    rs.add_argument("workflow_id", metavar="ID")
    rs.add_argument("rev", metavar="REV", help="a commit id (short is fine), HEAD~N")
    rs.set_defaults(handler=_cmd_restore)


def _say(out: Any, text: str) -> None:
    from llmos_jupyter._cli import _clean

    out.print(_clean(text), markup=False, highlight=False)


def _cmd_save(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._workflow_versions import save_workflow_version

    saved = save_workflow_version(args.file, message=args.message)
    if saved.revision is None:
        _say(out, f"workflow {saved.workflow_id!r} unchanged since its last save ({saved.path})")
    else:
        _say(out, f"saved workflow {saved.workflow_id!r} as {saved.revision.short} "
                  f"({saved.path})")
    return 0


def _cmd_log(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._workflow_versions import workflow_log, workflow_relpath

    revs = workflow_log(args.workflow_id, limit=args.limit)
    if args.json:
        from llmos_jupyter._cli import _print_json

        _print_json({"workflow": args.workflow_id, "path": workflow_relpath(args.workflow_id),
                     "revisions": [{"id": r.id, "short": r.short, "author": r.author,
                                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                          time.gmtime(r.time)),
                                    "message": r.message} for r in revs]})
        return 0
    if not revs:
        _say(out, f"no saved versions of workflow {args.workflow_id!r} in the user volume "
                  "(save one with `llmos workflow save FILE`)")
    for r in revs:
        _say(out, str(r))
    return 0


def _cmd_show(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._workflow_versions import workflow_at

    print(workflow_at(args.workflow_id, args.rev), end="")
    return 0


def _cmd_restore(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._workflow_versions import restore_workflow

    rev = restore_workflow(args.workflow_id, args.rev)
    if rev is None:
        _say(out, f"workflow {args.workflow_id!r} already matches {args.rev}; nothing to restore")
    else:
        _say(out, f"restored workflow {args.workflow_id!r} as of {args.rev}: commit {rev.short}")
    return 0
