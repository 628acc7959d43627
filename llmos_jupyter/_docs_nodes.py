"""Generate ``docs/nodes.md``, the catalogue of every node, from the system skills.

The page is built only from what the system volume's skill files declare in their
frontmatter (id, name, description, category, version, runtime, ``requires``,
``capabilities`` and each port's type, default, unit, range, choices and description),
so it cannot drift from the skills: ``tests/test_docs_nodes.py`` fails when the
committed page differs from a fresh one. Regenerate it with::

    python -m llmos_jupyter._docs_nodes > docs/nodes.md
    python -m llmos_jupyter._docs_nodes --check docs/nodes.md   # exit 1 when stale

Executable skills (the nodes) are grouped by category in alphabetical order, skills by
id; standard (instruction-only) skills are listed at the end. The output is
deterministic: no dates, no absolute paths, ``\\n`` line ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["main", "node_docs"]

_HEADER = """\
# Nodes

Every node the system volume ships, with its ports. **Generated** from the skill files'
frontmatter by `python -m llmos_jupyter._docs_nodes > docs/nodes.md` — edit the skill
files in `skills/`, not this page (a test fails when it is out of date).

A port without a default is required unless marked *optional*; wired inputs override
parameters, which override defaults. Types are those of
[the skill format](skill-format.md): `string`, `number`, `integer`, `boolean`, `array`,
`object`, `image`, `any`.
"""


def _cell(text: Any) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    s = " ".join(str(text).split())
    return s.replace("\\", "\\\\").replace("|", "\\|")


def _code(value: Any) -> str:
    """``value`` as inline code (JSON for non-strings), fenced so backticks inside survive."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split()) if text.strip() else json.dumps(text)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" or text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _default(port: Any) -> str:
    if port.has_default:
        return _code(port.default)
    return "*required*" if port.required else "*optional*"


def _details(port: Any) -> str:
    parts = [port.description.strip()] if port.description else []
    if port.enum is not None:
        parts.append("One of " + ", ".join(_code(v) for v in port.enum) + ".")
    if port.minimum is not None and port.maximum is not None:
        parts.append(f"Range {port.minimum:g} to {port.maximum:g}.")
    elif port.minimum is not None:
        parts.append(f"Minimum {port.minimum:g}.")
    elif port.maximum is not None:
        parts.append(f"Maximum {port.maximum:g}.")
    fmt = (port.extra or {}).get("format")
    if fmt:
        parts.append(f"Format {_code(fmt)}.")
    if port.secret:
        parts.append("**Secret**: masked in front-ends, redacted in traces and logs.")
    return _cell(" ".join(parts)) if parts else ""


def _ports_table(ports: Iterable[Any], inputs: bool) -> list[str]:
    ports = list(ports)
    if not ports:
        return ["*None.*", ""]
    if inputs:
        lines = ["| Port | Type | Default | Unit | Description |", "|---|---|---|---|---|"]
        lines += [f"| `{p.name}` | {p.type} | {_default(p)} | {_cell(p.unit or '')} | "
                  f"{_details(p)} |" for p in ports]
    else:
        lines = ["| Port | Type | Unit | Description |", "|---|---|---|---|"]
        lines += [f"| `{p.name}` | {p.type} | {_cell(p.unit or '')} | {_details(p)} |"
                  for p in ports]
    return [*lines, ""]


def _source(skill: Any, root: Path) -> str:
    path = getattr(skill, "path", None)
    if path is None:
        return ""
    try:
        return "skills/" + Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _skill_section(skill: Any, root: Path) -> list[str]:
    meta = [f"category `{skill.category}`", f"version {skill.version}",
            f"runtime `{skill.runtime}`"]
    if skill.requires:
        meta.append("requires " + ", ".join(f"`{r}`" for r in skill.requires))
    capabilities = (skill.frontmatter or {}).get("capabilities") or []
    if capabilities:
        meta.append("capabilities " + ", ".join(f"`{c}`" for c in capabilities))
    source = _source(skill, root)
    if source:
        meta.append(f"source `{source}`")
    lines = [f"### {skill.skill_id}", "",
             f"**{_cell(skill.name)}** — {_cell(skill.description)}", "",
             " · ".join(meta), "", "**Inputs**", ""]
    lines += _ports_table(skill.inputs, inputs=True)
    lines += ["**Outputs**", ""]
    lines += _ports_table(skill.outputs, inputs=False)
    return lines


def node_docs(library: Any = None) -> str:
    """The Markdown text of ``docs/nodes.md``.

    Args:
        library: a :class:`~llmos_jupyter.SkillLibrary` (default: the system volume only,
            so the page does not depend on the user's or team's skills).

    Returns:
        The page, ``\\n`` line ends, ending with one newline.
    """
    from llmos_jupyter._paths import system_skills_dir
    from llmos_jupyter._skills.library import SkillLibrary

    root = system_skills_dir()
    if library is None:
        library = SkillLibrary(volumes=[("system", root)])
    skills = sorted(library, key=lambda s: (s.category, s.skill_id))
    nodes = [s for s in skills if s.executable]
    standard = [s for s in skills if not s.executable]
    categories: dict[str, list[Any]] = {}
    for s in nodes:
        categories.setdefault(s.category, []).append(s)

    lines = [_HEADER, "## Contents", ""]
    for category, members in categories.items():
        links = ", ".join(f"[{s.skill_id}](#{s.skill_id})" for s in members)
        lines.append(f"- **{category}**: {links}")
    lines.append("")
    for category, members in categories.items():
        lines += [f"## {category}", ""]
        for s in members:
            lines += _skill_section(s, root)
    if standard:
        lines += ["## Standard skills (instructions, not nodes)", "",
                  "| Skill | Description |", "|---|---|"]
        lines += [f"| `{s.skill_id}` | {_cell(s.description)} |" for s in standard]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m llmos_jupyter._docs_nodes [--check PATH]``: print the page (UTF-8), or
    with ``--check`` compare it with ``PATH`` and exit 1 (naming the file) when they
    differ."""
    parser = argparse.ArgumentParser(prog="python -m llmos_jupyter._docs_nodes",
                                     description="Generate docs/nodes.md from the system skills.")
    parser.add_argument("--check", metavar="PATH",
                        help="exit 1 if PATH differs from the generated page")
    args = parser.parse_args(argv)
    text = node_docs()
    if args.check:
        try:
            current = Path(args.check).read_text(encoding="utf-8")
        except OSError as exc:
            print(f"{args.check}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if current != text:
            print(f"{args.check} is out of date: run "
                  f"python -m llmos_jupyter._docs_nodes > {args.check}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
