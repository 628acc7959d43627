"""``llmos skills export`` / ``llmos skills import``: Agent Skills folders (agentskills.io).

``export SKILL_ID… --format agentskills --output DIR`` writes one specification-valid
folder per skill; ``import DIR… [--volume user] [--force]`` reads such folders (or anyone's
Agent Skills folder) into a volume, one commit per file, marked untrusted. The mapping is
in :mod:`llmos_jupyter._skills.agentskills` and ``docs/agent-skills.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    ex = skills_sub.add_parser(
        "export", help="write skills as Agent Skills folders (agentskills.io)",
        description="Write each skill as a specification-valid Agent Skills folder "
        "DIR/<name>/ (SKILL.md, scripts/execute.py or .js); the llmos fields go under "
        "metadata (see docs/agent-skills.md).")
    ex.add_argument("skill_ids", nargs="+", metavar="SKILL_ID")
    ex.add_argument("--format", choices=["agentskills"], default="agentskills",
                    help="the folder format (only agentskills)")
    ex.add_argument("--output", "-o", type=Path, required=True, metavar="DIR",
                    help="folder to write the skill folders into (created)")
    ex.add_argument("--force", action="store_true", help="overwrite existing skill folders")
    ex.set_defaults(handler=_export)

    im = skills_sub.add_parser(
        "import", help="read Agent Skills folders into a volume (marked untrusted)",
        description="Import Agent Skills folders: an llmos export becomes the same "
        "executable skill again; any other folder is copied as a standard skill. Each file "
        "is one commit; imported skills are untrusted (isolated) until `llmos trust`.")
    im.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    im.add_argument("--volume", choices=["user", "team"], default="user",
                    help="volume to import into (default user)")
    im.add_argument("--force", action="store_true",
                    help="import even when a skill with the same id exists")
    im.set_defaults(handler=_import)


def _export(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._skills.agentskills import export_skills
    from llmos_jupyter._skills.library import SkillLibrary

    library = SkillLibrary()
    skills = [library.get(sid) for sid in args.skill_ids]  # SkillNotFound: exit 2, suggestions
    for folder in export_skills(skills, args.output, force=args.force):
        out.print(f"[green]✓[/] {escape(str(folder))}", highlight=False)
    return 0


def _import(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._skills.agentskills import import_folders

    for item in import_folders(args.folders, volume=args.volume, force=args.force):
        for w in item.warnings:
            err.print(f"[yellow]warning:[/] {escape(str(w))}", highlight=False)
        for note in item.skipped:
            err.print(f"[yellow]skipped:[/] {escape(note)}", highlight=False)
        kind = "llmos skill" if item.llmos else "Agent Skill"
        out.print(f"[green]✓[/] {escape(item.skill_id)} ({kind}) → {escape(str(item.path))} "
                  f"[dim]untrusted; `llmos trust {escape(item.skill_id)}` to run it "
                  "in-process[/]", highlight=False)
    return 0
