"""``llmos skills new SKILL_ID [--force]``: write a skeleton skill to the user volume.

The same code as ``%skill new`` (:meth:`llmos_jupyter._workbench.Workbench.new_skill`):
the file is written, committed to the user volume's git history and the library reloaded.

Exit status: 0 written, 2 an invalid id or an existing file (without ``--force``).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = skills_sub.add_parser(
        "new", help="write a skeleton skill to the user volume (a git commit)",
        description="Write <user volume>/skills/SKILL_ID.md from the skeleton %skill new "
        "writes, as one commit of the user volume.")
    p.add_argument("skill_id", metavar="SKILL_ID", help="lowercase letters, digits and '-'")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._workbench import AuthoringError, Workbench

    try:
        path, _ = Workbench.current().new_skill(args.skill_id, force=args.force)
    except AuthoringError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2
    out.print(f"wrote {escape(str(path))} (committed to the user volume); run it with "
              f"[bold]%%skill NODE --uses {escape(args.skill_id)}[/]", highlight=False)
    return 0
