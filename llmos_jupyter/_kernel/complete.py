"""Skill-aware completion and inspection of ``%%skill`` cells, without a kernel.

:func:`complete` and :func:`inspect` take a cell's text and a cursor offset (Unicode code
points, as the Jupyter protocol counts them) and answer a ``complete_request`` /
``inspect_request`` reply's content, or ``None`` when the cursor is not somewhere only
llmos understands (then the kernel falls back to IPython's own completion and help):

* ``%%skill <Tab>`` — node ids of the skill cells this kernel has run;
  ``%skill <Tab>`` — the subcommands and node ids; ``%skill show <Tab>`` — skill ids;
* ``--uses <Tab>`` — executable skill ids of the library;
* ``--set <Tab>`` / ``--in <Tab>`` — the used skill's input ports (with type and unit);
  ``--in port=<Tab>`` — node ids, ``--in port=node.<Tab>`` — that node's output ports;
* ``--<Tab>`` — the line's options;
* a parameter line of a ``--uses`` cell (``iter<Tab>``) — input ports not set yet.

Each match's type and signature (``number [Ha] = 150``) are in the reply's
``metadata._jupyter_types_experimental``, which JupyterLab and Notebook 7 show beside it.

:func:`inspect` on a skill id (or on ``--uses``, the node id, a ``--set`` / ``--in`` word
or a parameter line) gives the skill's description, ports and source file as
``text/plain`` and ``text/markdown``. Every string from a skill file is data: in the
Markdown all ASCII punctuation of such text is backslash-escaped (so no HTML, link or
emphasis from a skill renders), code goes into a fence longer than any backtick run in it,
and everything passes the one redaction step.

The line is split by :func:`llmos_jupyter._notebook.cells.tokenize_line`, the tokenizer
the cell parser and rewriter use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._notebook.cells import (
    LINE_MAGIC,
    MAGIC,
    RESERVED_SUBCOMMANDS,
    LineToken,
    tokenize_line,
)
from llmos_jupyter._redact import redact, strip_control

__all__ = ["LINE_OPTIONS", "Match", "complete", "inspect", "skill_help"]

LINE_OPTIONS = ("--uses", "--in", "--set", "--inputs", "--outputs", "--name", "--description",
                "--requires")
"""The options of the ``%%skill`` line (``_notebook/cells.py``'s grammar)."""
_SKILL_ID_ARG = ("show", "history")  # %skill subcommands whose argument is a skill id
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM_LINE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class Match:
    """One completion: the ``text`` that replaces ``[start, end)``, its kind (``skill``,
    ``node``, ``port``, ``option``, ``command``) and a short signature."""

    text: str
    type: str
    signature: str = ""


@dataclass(frozen=True)
class _Cell:
    """Where the cursor is in a skill cell."""

    form: str                    # "cell" (%%skill) or "line" (%skill)
    line: str                    # the magic line (without the magic word's line prefix)
    line_start: int              # offset of the magic line in the code
    tokens: list[LineToken]      # the whole magic line's words (partial tokenizing)
    body: str                    # the cell's body (cell form)
    body_start: int


def _cell(code: str) -> _Cell | None:
    """The skill cell of ``code``, or ``None`` when it is not one."""
    stripped = code.lstrip("\n\r\t ")
    start = len(code) - len(stripped)
    first, nl, body = stripped.partition("\n")
    if first.startswith((MAGIC + " ", MAGIC + "\t")) or first.rstrip() == MAGIC:
        form = "cell"
    elif first.startswith((LINE_MAGIC + " ", LINE_MAGIC + "\t")):
        form = "line"
    else:
        return None
    tokens = tokenize_line(first, partial=True)
    return _Cell(form, first, start, tokens, body if form == "cell" else "",
                 start + len(first) + len(nl))


def _uses(cell: _Cell) -> str | None:
    words = [t.text for t in cell.tokens]
    for i, w in enumerate(words):
        if w == "--uses" and i + 1 < len(words):
            return words[i + 1]
        if w.startswith("--uses="):
            return w.partition("=")[2]
    return None


def _node_arg(cell: _Cell) -> str | None:
    """The node id (first word after the magic), when there is one."""
    if len(cell.tokens) > 1 and not cell.tokens[1].text.startswith("-"):
        return cell.tokens[1].text
    return None


# -- what the kernel knows ----------------------------------------------------------------
def _skill(workbench: Any, skill_id: str | None) -> Any:
    if not skill_id:
        return None
    try:
        return workbench.library.get(skill_id) if skill_id in workbench.library else None
    except LlmosError:
        return None


def _session_cells(workbench: Any) -> dict[str, Any]:
    return workbench.session().cells if workbench.has_session else {}


def _node_skill(workbench: Any, node_id: str) -> Any:
    state = _session_cells(workbench).get(node_id)
    if state is None:
        return None
    try:
        return _skill(workbench, state.cell.skill_id)
    except LlmosError:  # an inline skill that no longer parses
        return None


def _port_signature(port: Any, *, inp: bool) -> str:
    sig = str(port.type)
    if port.unit:
        sig += f" [{port.unit}]"
    if inp and port.has_default:
        sig += f" = {port.default!r}"
    elif inp and port.required:
        sig += " (required)"
    return strip_control(redact(sig))[:120]


def _skill_matches(workbench: Any, prefix: str) -> list[Match]:
    out = []
    for s in workbench.library.list():
        if s.executable and s.skill_id.startswith(prefix):
            out.append(Match(s.skill_id, "skill", strip_control(redact(s.description))[:80]))
    return sorted(out, key=lambda m: m.text)


def _node_matches(workbench: Any, prefix: str, suffix: str = "") -> list[Match]:
    out = []
    for node_id, state in _session_cells(workbench).items():
        if node_id.startswith(prefix):
            try:
                sig = state.cell.skill_id
            except LlmosError:
                sig = ""
            out.append(Match(node_id + suffix, "node", sig))
    return out


def _port_matches(ports: Iterable[Any], prefix: str, *, inp: bool, suffix: str = "",
                  skip: Iterable[str] = ()) -> list[Match]:
    skip = set(skip)
    return [Match(p.name + suffix, "port", _port_signature(p, inp=inp)) for p in ports
            if p.name.startswith(prefix) and p.name not in skip]


# -- completion ---------------------------------------------------------------------------
def _reply(matches: list[Match], start: int, end: int) -> dict[str, Any]:
    return {
        "status": "ok",
        "matches": [m.text for m in matches],
        "cursor_start": start,
        "cursor_end": end,
        "metadata": {"_jupyter_types_experimental": [
            {"start": start, "end": end, "text": m.text, "type": m.type,
             "signature": m.signature} for m in matches]},
    }


def complete(code: str, cursor_pos: int | None, workbench: Any) -> dict[str, Any] | None:
    """The ``complete_reply`` content for a cursor in a skill cell, or ``None`` (not a
    skill cell, or a place where Python completion applies: inline code, expressions).

    Args:
        code: the cell's text.
        cursor_pos: the cursor's offset in ``code`` (``None``: the end).
        workbench: the kernel's :class:`~llmos_jupyter._workbench.Workbench` (library
            and notebook session).
    """
    cursor_pos = len(code) if cursor_pos is None else max(0, min(cursor_pos, len(code)))
    cell = _cell(code)
    if cell is None:
        return None
    col = cursor_pos - cell.line_start
    if 0 <= col <= len(cell.line):
        return _complete_line(cell, col, cursor_pos, workbench)
    if cell.form == "cell" and cursor_pos >= cell.body_start:
        return _complete_body(cell, cursor_pos, workbench)
    return None


def _complete_line(cell: _Cell, col: int, cursor_pos: int, workbench: Any) -> dict[str, Any] | None:
    before = tokenize_line(cell.line[:col], partial=True)
    if not before:
        return None
    typing_word = not cell.line[:col][-1:].isspace() and len(before) > 0 and before[-1].end == col
    if typing_word and len(before) == 1:
        return None  # the magic word itself: IPython completes magics
    current = before[-1] if typing_word else LineToken("", col, col)
    previous = before[:-1] if typing_word else before
    words = [t.text for t in previous[1:]]  # without the magic word
    prefix = current.text
    start = cell.line_start + current.start
    # Positions inside the word are only exact when it has no quotes or escapes.
    plain = cell.line[current.start:col] == prefix

    if not words:  # the first argument: a node id (or a %skill subcommand)
        matches = _node_matches(workbench, prefix)
        if cell.form == "line":
            matches = [Match(c, "command", f"%skill {c}") for c in RESERVED_SUBCOMMANDS
                       if c.startswith(prefix)] + matches
        return _reply(matches, start, cursor_pos)
    if cell.form == "line" and words[0] in RESERVED_SUBCOMMANDS:
        if words[0] in _SKILL_ID_ARG and len(words) == 1 and not prefix.startswith("-"):
            return _reply(_skill_matches(workbench, prefix), start, cursor_pos)
        return _reply([], start, cursor_pos)
    if prefix.startswith("-"):
        return _reply([Match(o, "option") for o in LINE_OPTIONS if o.startswith(prefix)],
                      start, cursor_pos)
    option = next((w for w in reversed(words) if w.startswith("--")), None)
    if option == "--uses":
        if words[-1] != "--uses":
            return _reply([], start, cursor_pos)  # --uses takes one value
        return _reply(_skill_matches(workbench, prefix), start, cursor_pos)
    skill = _skill(workbench, _uses(cell))
    if option == "--set":
        if skill is None or "=" in prefix:
            return _reply([], start, cursor_pos)
        taken = [w.partition("=")[0] for w in words[words.index("--set") + 1:]]
        return _reply(_port_matches(skill.inputs, prefix, inp=True, suffix="=", skip=taken),
                      start, cursor_pos)
    if option == "--in":
        port, eq, source = prefix.partition("=")
        if not eq:
            if skill is None:
                return _reply([], start, cursor_pos)
            return _reply(_port_matches(skill.inputs, prefix, inp=True, suffix="="),
                          start, cursor_pos)
        node, dot, out_prefix = source.partition(".")
        if not plain:
            return _reply([], start, cursor_pos)
        if not dot:
            return _reply(_node_matches(workbench, node, suffix="."),
                          start + len(port) + 1, cursor_pos)
        upstream = _node_skill(workbench, node)
        ports = upstream.outputs if upstream is not None else ()
        return _reply(_port_matches(ports, out_prefix, inp=False),
                      start + len(port) + 1 + len(node) + 1, cursor_pos)
    return _reply([], start, cursor_pos)


def _complete_body(cell: _Cell, cursor_pos: int, workbench: Any) -> dict[str, Any] | None:
    skill = _skill(workbench, _uses(cell))
    if skill is None:
        return None  # inline code (Python) or an unknown skill: IPython's completion
    offset = cursor_pos - cell.body_start
    line_begin = cell.body.rfind("\n", 0, offset) + 1
    m = _PARAM_LINE.match(cell.body[line_begin:offset])
    if m is None:
        return None  # after `name =`: an expression over kernel variables
    prefix = m.group(2) or ""
    taken = []
    for ln in cell.body.split("\n"):
        name, eq, _ = ln.partition("=")
        if eq and _IDENT.match(name.strip()) and ln.strip() != cell.body[line_begin:offset].strip():
            taken.append(name.strip())
    taken += [w.partition("=")[0] for w in (t.text for t in cell.tokens) if "=" in w]
    return _reply(_port_matches(skill.inputs, prefix, inp=True, skip=taken),
                  cursor_pos - len(prefix), cursor_pos)


# -- inspection ---------------------------------------------------------------------------
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def _md(text: Any) -> str:
    """Text from a skill as inert Markdown: every ASCII punctuation character
    backslash-escaped (CommonMark allows it for all of them), line breaks kept."""
    lines = strip_control(redact(str(text))).split("\n")
    return "  \n".join(_MD_PUNCT.sub(r"\\\1", ln) for ln in lines)


def _fence(code: str) -> str:
    run = max((len(m) for m in re.findall(r"`+", code)), default=0)
    return "`" * max(3, run + 1)


def skill_help(skill: Any, *, detail: int = 0) -> dict[str, str]:
    """The inspection bundle of a skill: ``text/plain`` and ``text/markdown`` with its
    name, description, ports (type, unit, default), runtime, volume and source file;
    with ``detail`` > 0 also its code."""

    def plain_port(p: Any, inp: bool) -> str:
        text = f"  {p.name}: {_port_signature(p, inp=inp)}"
        if p.description:
            text += f" — {p.description}"
        return strip_control(redact(text))

    where = str(skill.path) if skill.path else "defined in this kernel (no file)"
    lines = [f"{skill.skill_id} — {skill.name}", "", skill.description.strip(), ""]
    if skill.executable:
        lines += ["Inputs:", *([plain_port(p, True) for p in skill.inputs] or ["  (none)"]),
                  "Outputs:", *([plain_port(p, False) for p in skill.outputs] or ["  (none)"]),
                  ""]
    lines += [(f"Runtime: {skill.runtime} · category {skill.category} · volume "
               f"{skill.volume or 'memory'}"), f"Source: {where}"]
    if skill.requires:
        lines.append("Requires: " + ", ".join(skill.requires))
    if detail and skill.code:
        lines += ["", skill.code.rstrip()]
    plain = strip_control(redact("\n".join(lines)))

    def md_ports(ports: Any, inp: bool) -> list[str]:
        if not ports:
            return ["_none_"]
        rows = ["| port | type | unit | default | description |", "|---|---|---|---|---|"]
        for p in ports:
            default = repr(p.default) if inp and p.has_default else (
                "required" if inp and p.required else "")
            cells = (p.name, p.type, p.unit or "", default, p.description or "")
            rows.append("| " + " | ".join(_md(c).replace("  \n", " ") for c in cells) + " |")
        return rows

    md = [f"**{_md(skill.skill_id)}** — {_md(skill.name)}", "", _md(skill.description.strip()), ""]
    if skill.executable:
        md += ["**Inputs**", "", *md_ports(skill.inputs, True), "", "**Outputs**", "",
               *md_ports(skill.outputs, False), ""]
    md += [(f"Runtime {_md(skill.runtime)} · category {_md(skill.category)} · volume "
            f"{_md(skill.volume or 'memory')}"), "", f"Source: {_md(where)}"]
    if detail and skill.code:
        code = redact(skill.code.rstrip())
        fence = _fence(code)
        md += ["", f"{fence}python", code, fence]
    return {"text/plain": plain, "text/markdown": "\n".join(md)}


def inspect(code: str, cursor_pos: int | None, workbench: Any,
            detail_level: int = 0) -> dict[str, Any] | None:
    """The ``inspect_reply`` content for a cursor on a skill in a skill cell (see the
    module docstring), or ``None`` to let IPython inspect."""
    cursor_pos = len(code) if cursor_pos is None else max(0, min(cursor_pos, len(code)))
    cell = _cell(code)
    if cell is None:
        return None
    skill = None
    col = cursor_pos - cell.line_start
    if 0 <= col <= len(cell.line):
        token = next((t for t in cell.tokens[1:] if t.start <= col <= t.end), None)
        if token is None:
            return None
        words = [t.text for t in cell.tokens]
        i = cell.tokens.index(token)
        text = token.text
        option = next((w for w in reversed(words[:i]) if w.startswith("--")), None)
        if _skill(workbench, text) is not None:
            skill = _skill(workbench, text)
        elif option == "--in" and "=" in text and col > token.start + text.find("="):
            # After the "=" of --in PORT=NODE.PORT: the upstream node's skill.
            skill = _node_skill(workbench, text.partition("=")[2].partition(".")[0])
        elif text in ("--uses", "--set", "--in") or (i == 1 and cell.form == "cell") or (
                i > 1 and not text.startswith("-") and "=" in text):
            skill = _skill(workbench, _uses(cell))
            if skill is None and i == 1:
                skill = _node_skill(workbench, text)
        elif i == 1 and cell.form == "line" and text not in RESERVED_SUBCOMMANDS:
            skill = _skill(workbench, _uses(cell))
    elif cell.form == "cell" and cursor_pos >= cell.body_start:
        skill = _skill(workbench, _uses(cell))
        offset = cursor_pos - cell.body_start
        begin = cell.body.rfind("\n", 0, offset) + 1
        name = cell.body[begin:].split("\n", 1)[0].partition("=")[0].strip()
        if skill is None or name not in skill.input_ports:
            return None  # an expression: IPython's help on the Python object
    if skill is None:
        return None
    return {"status": "ok", "found": True, "data": skill_help(skill, detail=detail_level),
            "metadata": {}}
