"""``llmos skills from-workflow FILE``: a workflow with a declared interface as a skill."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any, skills_sub: Any) -> None:
    p = skills_sub.add_parser(
        "from-workflow", help="write a skill that runs a workflow file (its declared "
        "inputs/outputs become the skill's ports)")
    p.add_argument("file", type=Path, help="the *.workflow.json (with top-level inputs/outputs)")
    p.add_argument("--id", dest="skill_id", help="the skill id (default: the workflow's id)")
    p.add_argument("--output", type=Path,
                   help="write here instead of the user volume (a path or '-' for stdout)")
    p.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._skills.library import SkillLibrary
    from llmos_jupyter._skills.parser import parse_skill
    from llmos_jupyter._workflow.as_skill import workflow_skill_markdown

    library = SkillLibrary()
    text = workflow_skill_markdown(args.file, library, args.skill_id)
    skill = parse_skill(text)  # what we write must load
    if args.output is not None and str(args.output) == "-":
        print(text, end="")
        return 0
    if args.output is not None:
        from llmos_jupyter._safe_write import safe_write

        # Under the working directory only (no links, no .git): the same rule as csv-write.
        target = safe_write(Path.cwd(), args.output, text)
        out.print(f"wrote skill {skill.skill_id} to {target}", highlight=False)
        return 0
    from llmos_jupyter._volumes import Volume

    volume = Volume("user")
    path = volume.skill_path(skill.skill_id)
    if path.exists():
        err.print(f"[red]error:[/] {path} exists; pass --id NEW_ID or --output", highlight=False)
        return 2
    volume.write_text(path, text, message=f"skill {skill.skill_id} from workflow {args.file.name}")
    from llmos_jupyter._workflow.model import INLINE_KEY, Workflow

    if Workflow.load(args.file).extra.get(INLINE_KEY):
        from llmos_jupyter._trust import mark_untrusted

        mark_untrusted(path, why=f"built from workflow {args.file.name}, which carries "
                                 "inline skills")
    out.print(f"wrote skill {skill.skill_id} to {path}", highlight=False)
    return 0
