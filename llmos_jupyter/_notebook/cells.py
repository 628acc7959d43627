"""The ``%%skill`` cell: its magic line and body, parsed without a kernel.

One grammar serves the kernel (``_magics.py``) and the headless mapping
(``mapping.py``), so a notebook means the same graph in both::

    %%skill NODE_ID [--uses SKILL_ID] [--in PORT=NODE.PORT ...] [--set PORT=VALUE ...]
                    [--inputs NAME[:TYPE][?][=DEFAULT] ...] [--outputs NAME[:TYPE][?] ...]
                    [--name TEXT] [--description TEXT] [--requires PACKAGE ...]

A node without a body (no parameters) uses the line form ``%skill NODE_ID --uses ...``
(IPython refuses a cell magic with an empty body); the ``%skill`` subcommands
(:data:`RESERVED_SUBCOMMANDS`) cannot be node ids in the line form.

A cell is one of three kinds:

* **uses** (``--uses quantum-vqe``): a node of a library skill. The body holds parameter
  assignments, one per line (``iterations = 150``); values are Python literals (simple
  arithmetic on numbers is allowed: ``capacitance = 4.7 * 1e-7``). In a kernel a value
  may be any expression over kernel variables; headless (``llmos run``) it must be a
  literal.
* **inline code** (no ``--uses``): the body is Python defining ``execute(inputs)``; the
  node's skill is defined by the cell itself, with id ``skill_id_for(NODE_ID)``. Ports
  come from ``--inputs``/``--outputs`` or are inferred from the code (annotations, else
  ``inputs["x"]`` / ``inputs.get("x", default)`` reads and ``return {"y": ...}``).
* **inline Markdown** (no ``--uses``, body starting with ``---``): the body is a whole
  skill file (frontmatter + one code block), as ``%skill new`` writes it.

``--in PORT=NODE.PORT`` wires an upstream node's output into an input; ``--set
PORT=VALUE`` sets a parameter (``VALUE`` is JSON when it parses, else a string: the one
grammar of ``llmos run --set`` too, :mod:`llmos_jupyter._overrides`). Every mistake raises
:class:`~llmos_jupyter.WorkflowError` with a short message naming the option, port or line.

The line is split by :func:`tokenize_line` (POSIX quoting, with each word's span), the one
tokenizer parsing, rewriting (:func:`rewrite_skill_cell`) and the llmos kernel's
completion share.
"""

from __future__ import annotations

import argparse
import ast
import json
import keyword
import operator
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llmos_jupyter._contract.schemas import RESERVED_SUBCOMMANDS
from llmos_jupyter._exceptions import SkillError, WorkflowError
from llmos_jupyter._ids import ID_KINDS, id_problem
from llmos_jupyter._overrides import OverrideError, parse_set
from llmos_jupyter._overrides import parse_value as _parse_override
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import PORT_TYPES, Port

__all__ = [
    "INLINE_CATEGORY",
    "INLINE_VERSION",
    "RESERVED_SUBCOMMANDS",
    "Assignment",
    "LineToken",
    "SkillCell",
    "Wire",
    "format_skill_cell",
    "format_value",
    "infer_ports",
    "inline_markdown",
    "is_skill_cell",
    "parse_magic_line",
    "parse_skill_cell",
    "rewrite_skill_cell",
    "skill_id_for",
    "tokenize_line",
    "variable_name",
]

MAGIC = "%%skill"
LINE_MAGIC = "%skill"
# ``%skill`` subcommands, the one list (defined with the Python <-> TypeScript contract,
# whose generated ``contract.gen.ts`` the front-end reads): ``_magics.LlmosMagics``
# dispatches exactly these (its table is checked against this tuple at import). Any other
# first word of ``%skill`` is a node id (the line form), so these cannot be node ids there.
SUBCOMMANDS = RESERVED_SUBCOMMANDS  # the historical name
INLINE_CATEGORY = "notebook"
"""The category of skills defined inline in a cell (``%skill list --category notebook``)."""
INLINE_VERSION = "0.1.0"

_SKILL_ID = ID_KINDS["skill"][0]  # the one id grammar (llmos_jupyter/_ids.py)
_PORT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PORT_SPEC = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<type>[a-z]+))?(?P<opt>\?)?"
                        r"(?:=(?P<default>.*))?$", re.DOTALL)


# -- the model -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Wire:
    """``--in port=source.source_port``: an upstream output feeding this node's input."""

    port: str
    source: str
    source_port: str

    def __str__(self) -> str:
        return f"{self.port}={self.source}.{self.source_port}"


@dataclass(frozen=True, slots=True)
class Assignment:
    """One ``name = expression`` line of a ``--uses`` cell's body.

    ``literal`` tells whether ``value`` holds the evaluated literal; otherwise
    ``source`` is an expression only a kernel can evaluate (``names`` are the variables
    it reads). ``line`` is 1-based within the body.
    """

    name: str
    source: str
    value: Any = None
    literal: bool = True
    line: int = 1
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkillCell:
    """A parsed ``%%skill`` cell (see the module docstring for the grammar)."""

    node_id: str
    uses: str | None = None
    wires: tuple[Wire, ...] = ()
    sets: Mapping[str, Any] = field(default_factory=dict)
    assignments: tuple[Assignment, ...] = ()
    code: str | None = None
    markdown: str | None = None
    inputs: tuple[Port, ...] | None = None
    outputs: tuple[Port, ...] | None = None
    name: str | None = None
    description: str | None = None
    requires: tuple[str, ...] = ()

    @property
    def inline(self) -> bool:
        """True when the cell defines its own skill (code or Markdown body)."""
        return self.uses is None

    @property
    def variable(self) -> str:
        """The kernel variable holding this node's outputs (``vqe`` → ``vqe.eigenvalue``)."""
        return variable_name(self.node_id)

    @property
    def skill_id(self) -> str:
        """The id of the skill this node runs (``--uses``, or the inline skill's id)."""
        if self.uses is not None:
            return self.uses
        return self.skill.skill_id

    def params(self, evaluate: Any = None) -> dict[str, Any]:
        """The node's parameters: body assignments then ``--set`` values.

        ``evaluate(assignment)`` computes a non-literal value (the kernel passes one that
        evaluates in the user namespace); without it a non-literal value raises.

        Raises:
            WorkflowError: a non-literal value and no ``evaluate``.
        """
        out: dict[str, Any] = {}
        for a in self.assignments:
            if a.literal:
                out[a.name] = a.value
            elif evaluate is None:
                raise WorkflowError(
                    f"%%skill {self.node_id}: line {a.line}: {a.name} = {a.source} is not a "
                    "literal; only a kernel can evaluate variables (use a literal value, or "
                    "--in PORT=NODE.PORT to wire another node)")
            else:
                out[a.name] = evaluate(a)
        out.update(self.sets)
        return out

    @cached_property
    def skill(self) -> Skill:
        """The inline skill this cell defines.

        Raises:
            WorkflowError: the cell uses a library skill, or its code/Markdown is invalid.
        """
        if self.uses is not None:
            raise WorkflowError(f"%%skill {self.node_id} uses the library skill {self.uses!r}; "
                                "it defines no skill of its own")
        from llmos_jupyter._skills.parser import parse_skill

        text = self.skill_markdown
        try:
            skill = parse_skill(text, volume=INLINE_CATEGORY)
        except SkillError as exc:
            where = f"[{exc.field}] " if exc.field else ""
            raise WorkflowError(f"%%skill {self.node_id}: {where}{exc.message}") from None
        if not skill.executable:
            raise WorkflowError(f"%%skill {self.node_id}: the skill has no code block defining "
                                "execute(inputs)")
        return skill

    @cached_property
    def skill_markdown(self) -> str:
        """The inline skill as a skill file's text (what ``%skill save`` writes)."""
        if self.markdown is not None:
            return self.markdown
        if self.code is None:
            raise WorkflowError(f"%%skill {self.node_id} defines no skill")
        inputs, outputs = self.inputs, self.outputs
        if inputs is None or outputs is None:
            found_in, found_out = infer_ports(self.code, node_id=self.node_id)
            inputs = found_in if inputs is None else inputs
            outputs = found_out if outputs is None else outputs
        return inline_markdown(
            skill_id_for(self.node_id), self.code, inputs, outputs, name=self.name,
            description=self.description, requires=self.requires, node_id=self.node_id)

    def reads(self) -> list[str]:
        """The kernel variables this cell reads: upstream nodes' variables, then names
        used by non-literal parameter values (what ipyflow links the cell to)."""
        out = [variable_name(w.source) for w in self.wires]
        for a in self.assignments:
            out += [n for n in a.names if n not in out]
        return list(dict.fromkeys(out))


# -- the one tokenizer of the magic line ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LineToken:
    """One word of the ``%%skill`` line: ``text`` with quotes and escapes removed (as
    ``shlex.split`` gives it), ``start``/``end`` its span in the line (quotes included),
    ``closed`` false for a last word whose quote is still open (``partial`` mode)."""

    text: str
    start: int
    end: int
    closed: bool = True


_WHITESPACE = " \t\r\n"


def tokenize_line(line: str, *, partial: bool = False) -> list[LineToken]:
    """The words of a magic line with their spans: POSIX shell quoting as
    ``shlex.split(line, posix=True)`` reads it (single quotes literal; in double quotes a
    backslash escapes only ``"`` and ``\\``; outside quotes it escapes any character; no
    comments). Parsing, rewriting and the kernel's completion share it, so they agree on
    what a word is.

    Raises:
        WorkflowError: an open quote or a trailing backslash (``partial=False``); with
            ``partial`` (completion while typing) the last word just stays open.
    """
    tokens: list[LineToken] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in _WHITESPACE:
            i += 1
        if i >= n:
            break
        start, chars, quote = i, [], None
        while i < n:
            c = line[i]
            if quote == "'":
                if c == "'":
                    quote = None
                else:
                    chars.append(c)
                i += 1
            elif quote == '"':
                if c == '"':
                    quote = None
                    i += 1
                elif c == "\\" and i + 1 < n:
                    nxt = line[i + 1]
                    chars.append(nxt if nxt in '"\\' else c + nxt)
                    i += 2
                elif c == "\\":
                    quote = "\\"  # a trailing backslash inside an open quote
                    i += 1
                else:
                    chars.append(c)
                    i += 1
            elif c in _WHITESPACE:
                break
            elif c in "'\"":
                quote = c
                i += 1
            elif c == "\\":
                if i + 1 >= n:
                    quote = "\\"
                    i += 1
                else:
                    chars.append(line[i + 1])
                    i += 2
            else:
                chars.append(c)
                i += 1
        if quote is not None:
            if not partial:
                what = "No escaped character" if quote == "\\" else "No closing quotation"
                raise WorkflowError(f"%%skill: cannot split the line: {what}")
            tokens.append(LineToken("".join(chars), start, n, closed=False))
            break
        tokens.append(LineToken("".join(chars), start, i))
    return tokens


def _split(line: str, where: str = "%%skill") -> list[str]:
    """The words of a magic line (:func:`tokenize_line`), for argparse and rewriting."""
    try:
        return [t.text for t in tokenize_line(line)]
    except WorkflowError as exc:
        raise WorkflowError(f"{where}: {_strip_magic(exc.message)}") from None


# -- parsing -------------------------------------------------------------------------------
class _LineParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting (a kernel must never exit)."""

    def error(self, message: str) -> Any:
        raise WorkflowError(f"%%skill: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise WorkflowError(f"%%skill: {message or 'invalid arguments'}".strip())


def _line_parser() -> _LineParser:
    p = _LineParser(prog="%%skill", add_help=False, allow_abbrev=False,
                    description="A skill node as a cell.")
    p.add_argument("node_id")
    p.add_argument("--uses", metavar="SKILL_ID")
    p.add_argument("--in", dest="wires", action="extend", nargs="+", default=[],
                   metavar="PORT=NODE.PORT")
    p.add_argument("--set", dest="sets", action="extend", nargs="+", default=[],
                   metavar="PORT=VALUE")
    p.add_argument("--inputs", action="extend", nargs="+", default=None,
                   metavar="NAME[:TYPE][?][=DEFAULT]")
    p.add_argument("--outputs", action="extend", nargs="+", default=None,
                   metavar="NAME[:TYPE][?]")
    p.add_argument("--name")
    p.add_argument("--description")
    p.add_argument("--requires", action="extend", nargs="+", default=[], metavar="PACKAGE")
    return p


def _line_form_args(first: str) -> str | None:
    """The arguments of a first line ``%skill NODE_ID ...`` (the line form of a node, for
    cells without a body), or ``None`` for anything else (including ``%skill list``)."""
    if not first.startswith((LINE_MAGIC + " ", LINE_MAGIC + "\t")):
        return None
    rest = first[len(LINE_MAGIC):].strip()
    head = rest.split(None, 1)[0] if rest else ""
    if not head or head in SUBCOMMANDS or head.startswith("-"):
        return None
    return rest


def is_skill_cell(source: str) -> bool:
    """True when ``source`` (a code cell's text) is a skill node: it starts with
    ``%%skill``, or with the line form ``%skill NODE_ID ...`` (a node without a body)."""
    first = source.lstrip("\n\r\t ").split("\n", 1)[0].rstrip()
    if first == MAGIC or first.startswith((MAGIC + " ", MAGIC + "\t")):
        return True
    return _line_form_args(first) is not None


def split_cell(source: str) -> tuple[str, str]:
    """``(magic line arguments, body)`` of a skill cell's source. In the line form the
    body is empty: later lines are ordinary code the kernel runs after the node."""
    text = source.lstrip("\n\r\t ")
    first, _, body = text.partition("\n")
    if first.startswith(MAGIC):
        return first[len(MAGIC):].strip(), body
    return _line_form_args(first.rstrip()) or "", ""


def parse_skill_cell(source: str) -> SkillCell:
    """Parse a whole ``%%skill`` cell (magic line + body).

    Raises:
        WorkflowError: not a ``%%skill`` cell, or a mistake in the line or the body.
    """
    if not is_skill_cell(source):
        raise WorkflowError("not a %%skill cell (the first line must start with %%skill)")
    line, body = split_cell(source)
    return parse_magic_line(line, body)


def parse_magic_line(line: str, body: str = "") -> SkillCell:
    """Parse the arguments of ``%%skill`` (``line``, without the magic name) and ``body``.

    Raises:
        WorkflowError: unknown option, bad ``--in``/``--set``/port spec, body errors.
    """
    argv = _split(line)
    if not argv:
        raise WorkflowError("%%skill: missing NODE_ID (usage: %%skill NODE_ID [--uses SKILL_ID] "
                            "[--in PORT=NODE.PORT ...] [--set PORT=VALUE ...])")
    args = _line_parser().parse_args(argv)
    node_id = args.node_id
    why = id_problem("node", node_id)
    if why is not None:
        # ascii(): a newline or escape sequence in the id stays visible and inert.
        raise WorkflowError(f"%%skill {ascii(node_id)[1:-1][:80]}: {why}")
    where = f"%%skill {node_id}"

    wires = tuple(_parse_wire(w, where) for w in args.wires)
    seen_ports: dict[str, Wire] = {}
    for w in wires:
        if w.port in seen_ports:
            raise WorkflowError(f"{where}: --in {w.port}=... is given twice; an input takes "
                                "one wire")
        seen_ports[w.port] = w
    sets: dict[str, Any] = {}
    for item in args.sets:
        try:  # the one --set grammar, shared with `llmos run --set` (_overrides.py)
            name, value = parse_set(item, dotted=False)
        except OverrideError as exc:
            raise WorkflowError(f"{where}: {exc}") from None
        if name in sets:
            raise WorkflowError(f"{where}: --set {name}=... is given twice")
        sets[name] = value

    if args.uses is not None:
        for opt in ("inputs", "outputs", "name", "description"):
            if getattr(args, opt) is not None:
                raise WorkflowError(f"{where}: --{opt} declares an inline skill; it cannot be "
                                    f"combined with --uses {args.uses}")
        if args.requires:
            raise WorkflowError(f"{where}: --requires declares an inline skill; it cannot be "
                                f"combined with --uses {args.uses}")
        assignments = _parse_assignments(body, where)
        for a in assignments:
            if a.name in sets:
                raise WorkflowError(f"{where}: parameter {a.name!r} is set twice (line {a.line} "
                                    "and --set)")
        return SkillCell(node_id, uses=args.uses, wires=wires, sets=sets,
                         assignments=assignments)

    inputs = _parse_ports(args.inputs, "inputs", where) if args.inputs is not None else None
    outputs = _parse_ports(args.outputs, "outputs", where) if args.outputs is not None else None
    stripped = body.strip("\n")
    if stripped.lstrip().startswith("---"):
        extra = [o for o, v in (("inputs", inputs), ("outputs", outputs), ("name", args.name),
                                ("description", args.description)) if v is not None]
        if args.requires:
            extra.append("requires")
        if extra:
            raise WorkflowError(f"{where}: the body is a whole skill file; declare "
                                f"{', '.join(extra)} in its frontmatter, not with --{extra[0]}")
        return SkillCell(node_id, wires=wires, sets=sets, markdown=stripped.lstrip() + "\n")
    if not stripped.strip():
        raise WorkflowError(f"{where}: the cell needs --uses SKILL_ID, or a body defining "
                            "execute(inputs) (an inline skill)")
    code = _dedent_body(stripped)
    cell = SkillCell(node_id, wires=wires, sets=sets, code=code, inputs=inputs, outputs=outputs,
                     name=args.name, description=args.description,
                     requires=tuple(args.requires))
    skill_id_for(node_id)  # a node id that cannot name a skill fails here, with the reason
    return cell


def _dedent_body(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).rstrip() + "\n"


def _parse_wire(item: str, where: str) -> Wire:
    port, eq, src = item.partition("=")
    node, dot, src_port = src.rpartition(".")
    port = port.strip()
    if (not eq or not dot or not node or not _PORT_NAME.match(port)
            or not _PORT_NAME.match(src_port)):
        raise WorkflowError(f"{where}: --in {item!r}: expected PORT=NODE.PORT (e.g. "
                            "hamiltonian=ham.hamiltonian)")
    return Wire(port, node, src_port)


def parse_value(raw: str) -> Any:
    """A ``--set`` value: JSON when it parses (no NaN/Infinity), else the string
    (:func:`llmos_jupyter._overrides.parse_value`, the CLI's grammar too).

    Raises:
        WorkflowError: NaN/Infinity or a value nested too deeply.
    """
    try:
        return _parse_override(raw)
    except OverrideError as exc:
        raise WorkflowError(str(exc)) from None


def _parse_ports(items: list[str], kind: str, where: str) -> tuple[Port, ...]:
    ports = []
    names: set[str] = set()
    for item in items:
        m = _PORT_SPEC.match(item)
        if m is None:
            raise WorkflowError(f"{where}: --{kind} {item!r}: expected NAME[:TYPE][?][=DEFAULT] "
                                "with NAME a Python identifier")
        name, ptype = m["name"], m["type"] or "any"
        if ptype not in PORT_TYPES:
            raise WorkflowError(f"{where}: --{kind} {item!r}: unknown type {ptype!r} (types: "
                                f"{', '.join(PORT_TYPES)})")
        if name in names:
            raise WorkflowError(f"{where}: --{kind} declares {name!r} twice")
        names.add(name)
        has_default = m["default"] is not None
        if has_default and kind == "outputs":
            raise WorkflowError(f"{where}: --outputs {item!r}: outputs take no default")
        default = parse_value(m["default"]) if has_default else None
        required = not (m["opt"] or has_default)
        ports.append(Port(name, ptype, required=required, default=default,
                          has_default=has_default))
    return tuple(ports)


# -- the body of a --uses cell -----------------------------------------------------------
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}


def _constant(node: ast.AST) -> Any:
    """A literal, allowing arithmetic on numbers (``4.7 * 1e-7``); ValueError otherwise."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _constant(node.left), _constant(node.right)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            raise ValueError("arithmetic on non-numbers")
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _BINOPS[type(node.op)](left, right)
    return ast.literal_eval(node)


def _parse_assignments(body: str, where: str) -> tuple[Assignment, ...]:
    text = _dedent_body(body) if body.strip() else ""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise WorkflowError(f"{where}: line {exc.lineno}: syntax error in the parameters: "
                            f"{exc.msg}") from None
    out: list[Assignment] = []
    seen: dict[str, int] = {}
    for stmt in tree.body:
        src = ast.get_source_segment(text, stmt) or ""
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise WorkflowError(
                f"{where}: line {stmt.lineno}: a --uses cell holds parameter assignments "
                f"only (NAME = value), got: {src.splitlines()[0] if src else type(stmt).__name__}")
        name = stmt.targets[0].id
        if name in seen:
            raise WorkflowError(f"{where}: line {stmt.lineno}: parameter {name!r} is already set "
                                f"on line {seen[name]}")
        seen[name] = stmt.lineno
        value_src = ast.get_source_segment(text, stmt.value) or ""
        try:
            value = _constant(stmt.value)
        except (ValueError, TypeError, SyntaxError, ZeroDivisionError, OverflowError,
                MemoryError, RecursionError):
            names = tuple(dict.fromkeys(
                n.id for n in ast.walk(stmt.value)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)))
            out.append(Assignment(name, value_src, None, False, stmt.lineno, names))
        else:
            out.append(Assignment(name, value_src, value, True, stmt.lineno))
    return tuple(out)


# -- inline skills ---------------------------------------------------------------------------
def skill_id_for(node_id: str) -> str:
    """The id of the skill an inline cell defines: the node id in skill-id form
    (lowercase letters, digits, ``-``): ``fit_curve`` → ``fit-curve``.

    Raises:
        WorkflowError: the node id has no letter or digit to build an id from.
    """
    sid = re.sub(r"[^a-z0-9]+", "-", node_id.lower()).strip("-")[:64].rstrip("-")
    if not sid or not _SKILL_ID.match(sid):
        raise WorkflowError(f"%%skill {node_id}: node id cannot name an inline skill (use "
                            "letters, digits, '_' or '-')")
    return sid


def variable_name(node_id: str) -> str:
    """The Python name of a node's outputs namespace: ``vqe``, ``quantum-vqe-2`` →
    ``quantum_vqe_2``, ``class`` → ``class_``, ``2d`` → ``_2d``."""
    name = re.sub(r"\W", "_", node_id) or "_"
    if name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


_PY_TYPES = {
    "float": "number", "int": "integer", "bool": "boolean", "str": "string",
    "list": "array", "tuple": "array", "List": "array", "Tuple": "array", "Sequence": "array",
    "dict": "object", "Dict": "object", "Mapping": "object", "bytes": "image",
    "Any": "any", "object": "any",
}


def _annotation_type(node: ast.AST | None) -> str:
    if node is None:
        return "any"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if node.value in PORT_TYPES else _PY_TYPES.get(node.value, "any")
    if isinstance(node, ast.Subscript):
        base = node.value
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name in ("NotRequired", "Required", "Optional", "Annotated"):
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            return _annotation_type(inner)
        return _PY_TYPES.get(name, "any")
    if isinstance(node, ast.Attribute):
        return _PY_TYPES.get(node.attr, "any")
    if isinstance(node, ast.Name):
        return _PY_TYPES.get(node.id, "any")
    return "any"


def _literal_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", tuple: "array", dict: "object"}
    return names.get(type(value), "any")


def _annotated_fields(ann: ast.AST | None,
                      classes: dict[str, ast.ClassDef]) -> list[tuple[str, str, bool]] | None:
    """``[(name, type, required)]`` from ``{"x": float}`` or a TypedDict class name."""
    if isinstance(ann, ast.Dict):
        out = []
        for k, v in zip(ann.keys, ann.values, strict=True):
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                return None
            optional = isinstance(v, ast.Subscript) and getattr(v.value, "id", "") == "NotRequired"
            out.append((k.value, _annotation_type(v), not optional))
        return out
    name = ann.id if isinstance(ann, ast.Name) else (
        ann.value if isinstance(ann, ast.Constant) and isinstance(ann.value, str) else None)
    cls = classes.get(name) if name else None
    if cls is None:
        return None
    total = not any(kw.arg == "total" and isinstance(kw.value, ast.Constant)
                    and kw.value.value is False for kw in cls.keywords)
    out = []
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            a = stmt.annotation
            wrapper = getattr(a.value, "id", "") if isinstance(a, ast.Subscript) else ""
            required = (total if wrapper not in ("NotRequired", "Required")
                        else wrapper == "Required")
            out.append((stmt.target.id, _annotation_type(a), required))
    return out


def infer_ports(code: str, *, node_id: str = "?") -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """Inputs and outputs of an inline ``execute`` from its code, without running it.

    Inputs: the ``inputs`` parameter's annotation (a dict literal ``{"x": float}`` or a
    ``TypedDict`` class defined in the cell) gives names and types; otherwise the reads
    ``inputs["x"]`` (required) and ``inputs.get("x", default)`` (default from the literal)
    give names, typed ``any`` (or the default's type). Outputs: the return annotation
    (same forms), else the keys of the dict literals ``execute`` returns. Python types
    map to port types: float → number, int → integer, bool → boolean, str → string,
    list/tuple → array, dict → object, bytes → image.

    Raises:
        WorkflowError: a syntax error, no top-level ``execute``, or outputs that cannot be
            inferred (declare them with ``--outputs``).
    """
    where = f"%%skill {node_id}"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise WorkflowError(f"{where}: line {exc.lineno}: syntax error: {exc.msg}") from None
    classes = {s.name: s for s in tree.body if isinstance(s, ast.ClassDef)}
    fn = next((s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
               and s.name == "execute"), None)
    if fn is None:
        raise WorkflowError(f"{where}: an inline skill's body must define execute(inputs) at "
                            "top level (or use --uses SKILL_ID for a library skill)")
    params = fn.args.posonlyargs + fn.args.args
    arg = params[0] if params else None
    argname = arg.arg if arg is not None else "inputs"

    # Reads of inputs["x"] / inputs.get("x", d), in order of appearance.
    reads: dict[str, tuple[bool, Any, bool]] = {}  # name -> (required, default, has_default)
    for node in ast.walk(fn):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                and node.value.id == argname and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            reads.setdefault(node.slice.value, (True, None, False))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and isinstance(node.func.value, ast.Name)
              and node.func.value.id == argname and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            name = node.args[0].value
            default, has_default = None, False
            if len(node.args) > 1:
                try:
                    default, has_default = _constant(node.args[1]), True
                except (ValueError, TypeError, SyntaxError, ZeroDivisionError, OverflowError):
                    pass
            reads[name] = (False, default, has_default)
    # ast.walk is breadth-first; order by source position for stable, readable ports.
    positions: dict[str, tuple[int, int]] = {}
    for node in ast.walk(fn):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            key = node.args[0].value
        if isinstance(key, str) and key in reads and isinstance(node, ast.expr):
            pos = (node.lineno, node.col_offset)
            positions[key] = min(positions.get(key, pos), pos)

    annotated = _annotated_fields(arg.annotation if arg is not None else None, classes)
    inputs: list[Port] = []
    if annotated is not None:
        for name, ptype, required in annotated:
            _, default, has_default = reads.get(name, (required, None, False))
            inputs.append(Port(name, ptype, required=required and not has_default,
                               default=default, has_default=has_default))
    else:
        for name in sorted(reads, key=lambda n: positions.get(n, (0, 0))):
            required, default, has_default = reads[name]
            ptype = _literal_type(default) if has_default and default is not None else "any"
            inputs.append(Port(name, ptype, required=required and not has_default,
                               default=default, has_default=has_default))
        bad = [p.name for p in inputs if not _PORT_NAME.match(p.name)]
        if bad:
            raise WorkflowError(f"{where}: input {bad[0]!r} is not a Python identifier")

    out_fields = _annotated_fields(fn.returns, classes)
    outputs: list[Port] = []
    if out_fields is not None:
        outputs = [Port(n, t, required=r) for n, t, r in out_fields]
    else:
        keys: list[str] = []
        per_return: list[set[str]] = []
        dynamic = False
        returns = sorted((n for n in ast.walk(fn) if isinstance(n, ast.Return)),
                         key=lambda n: (n.lineno, n.col_offset))
        for node in returns:
            if node.value is None:
                continue
            if isinstance(node.value, ast.Dict) and all(
                    isinstance(k, ast.Constant) and isinstance(k.value, str)
                    for k in node.value.keys):
                names = [k.value for k in node.value.keys  # all of them (checked above)
                         if isinstance(k, ast.Constant) and isinstance(k.value, str)]
                keys += [k for k in names if k not in keys]
                per_return.append(set(names))
            else:
                dynamic = True
        if dynamic or not keys:
            raise WorkflowError(
                f"{where}: cannot infer the outputs: execute must return a dict literal "
                "({\"name\": value, ...}), annotate its return ({\"y\": float}), or declare "
                "--outputs NAME:TYPE ...")
        # An output some return statements leave out is optional.
        outputs = [Port(k, "any", required=all(k in r for r in per_return)) for k in keys]
    bad = [p.name for p in outputs if not _PORT_NAME.match(p.name)]
    if bad:
        raise WorkflowError(f"{where}: output {bad[0]!r} is not a Python identifier")
    return tuple(inputs), tuple(outputs)


def _fence(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    return "`" * max(3, longest + 1)


def inline_markdown(
    skill_id: str,
    code: str,
    inputs: tuple[Port, ...],
    outputs: tuple[Port, ...],
    *,
    name: str | None = None,
    description: str | None = None,
    requires: tuple[str, ...] = (),
    node_id: str | None = None,
) -> str:
    """The skill file text of an inline cell (deterministic: same cell, same text)."""
    import yaml

    desc = description or (f"Defined inline in the notebook cell %%skill {node_id}."
                           if node_id else "Defined inline in a notebook cell.")
    fm: dict[str, Any] = {
        "skill_id": skill_id,
        "name": name or skill_id,
        "description": desc,
        "category": INLINE_CATEGORY,
        "version": INLINE_VERSION,
        "runtime": "python",
    }
    if requires:
        fm["requires"] = list(requires)
    fm["inputs"] = [p.to_dict() for p in inputs]
    fm["outputs"] = [p.to_dict() for p in outputs]
    head = yaml.safe_dump(fm, sort_keys=False, allow_unicode=True, width=1000)
    fence = _fence(code)
    return (f"---\n{head}---\n\n# {name or skill_id}\n\n{desc}\n\n"
            f"{fence}python\n{code.rstrip()}\n{fence}\n")


# -- writing cells -------------------------------------------------------------------------
def format_value(value: Any) -> str | None:
    """``value`` as Python literal text that ``ast.literal_eval`` reads back equal, or
    ``None`` when there is no such text (NaN, non-JSON objects)."""
    import pprint

    text = pprint.pformat(value, width=88, sort_dicts=False, compact=False)
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    same = back == value and type(back) is type(value)
    return text if same else None


def set_token(node_id: str, name: str, value: Any) -> str:
    """``NAME=JSON``: one ``--set`` word that :func:`parse_value` reads back equal.

    Raises:
        WorkflowError: ``value`` has no JSON form (NaN, Infinity, an object), naming the
            node and the port.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WorkflowError(f"%%skill {node_id}: parameter {name!r} = {value!r} has no JSON "
                            f"form for --set ({exc})") from None
    return f"{name}={text}"


def _quote(arg: str) -> str:
    return shlex.quote(arg)


def _port_spec(p: Port, kind: str) -> str:
    spec = p.name + (f":{p.type}" if p.type != "any" else "")
    if p.has_default:
        spec += "=" + json.dumps(p.default, ensure_ascii=False, separators=(",", ":"))
    elif not p.required:
        spec += "?"
    return spec


def format_skill_cell(
    node_id: str,
    *,
    uses: str | None = None,
    params: Mapping[str, Any] | None = None,
    wires: tuple[Wire, ...] | list[Wire] = (),
    code: str | None = None,
    markdown: str | None = None,
    inputs: tuple[Port, ...] | None = None,
    outputs: tuple[Port, ...] | None = None,
    name: str | None = None,
    description: str | None = None,
    requires: tuple[str, ...] = (),
) -> str:
    """The source of a ``%%skill`` cell, in canonical form (``parse_skill_cell`` reads it
    back to the same node). Parameters that are identifiers with literal values go in
    the body, one per line; others become ``--set NAME=JSON``.

    Raises:
        WorkflowError: a node id, skill id or wire outside the id grammar
            (:mod:`llmos_jupyter._ids`): written into the magic line, a newline in one
            would end the line and turn the rest into the cell's code.
    """
    _check_cell_ids(node_id, uses, wires)
    if name is not None:
        name = _one_line(name)
    if description is not None:
        description = _one_line(description)
    parts = [MAGIC, _quote(node_id)]
    if uses is not None:
        parts += ["--uses", _quote(uses)]
    if wires:
        parts += ["--in", *(_quote(str(w)) for w in wires)]
    body_lines: list[str] = []
    sets: list[str] = []
    for key, value in (params or {}).items():
        text = format_value(value) if uses is not None else None
        if text is not None and key.isidentifier() and not keyword.iskeyword(key):
            lines = text.split("\n")
            indent = " " * (len(key) + 3)
            body_lines.append(f"{key} = " + ("\n" + indent).join(lines))
        else:
            sets.append(_quote(set_token(node_id, key, value)))
    if sets:
        parts += ["--set", *sets]
    if uses is None and markdown is None:
        if inputs is not None:
            parts += ["--inputs", *(_quote(_port_spec(p, "inputs")) for p in inputs)]
        if outputs is not None:
            parts += ["--outputs", *(_quote(_port_spec(p, "outputs")) for p in outputs)]
        if name is not None:
            parts += ["--name", _quote(name)]
        if description is not None:
            parts += ["--description", _quote(description)]
        if requires:
            parts += ["--requires", *(_quote(r) for r in requires)]
    head = " ".join(parts)
    if uses is not None:
        if not body_lines and node_id not in SUBCOMMANDS:
            # IPython refuses a cell magic with an empty body: use the line form.
            return LINE_MAGIC + head[len(MAGIC):]
        return head + ("\n" + "\n".join(body_lines) if body_lines else "")
    body = markdown if markdown is not None else (code or "")
    return head + "\n" + body.rstrip("\n")


def _check_cell_ids(node_id: str, uses: str | None, wires: Any) -> None:
    problems = [id_problem("node", node_id)]
    if uses is not None:
        problems.append(id_problem("skill", uses))
    for w in wires:
        problems.append(id_problem("node", w.source))
        for port in (w.port, w.source_port):
            if not isinstance(port, str) or not _PORT_NAME.match(port) or "\n" in port:
                problems.append(f"port name {port!a} is not valid (letters, digits, '_')")
    why = next((p for p in problems if p), None)
    if why is not None:
        raise WorkflowError(f"cannot write a %%skill cell: {why}")


def _one_line(text: str) -> str:
    """``text`` on one line (a newline inside a quoted option would still end the magic
    line): line breaks become spaces, other control characters are dropped."""
    return " ".join(re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", str(text)).splitlines())


# -- editing cells -------------------------------------------------------------------------
# The canvas of a notebook edits its skill cells in place: only what changed is rewritten,
# so the user's comments, order and formatting of everything else stay as they wrote them.
_NODE_ID = ID_KINDS["node"][0]
_SINGLE_VALUE_OPTIONS = ("--uses", "--name", "--description")


def _option_groups(tokens: list[str]) -> list[tuple[str | None, list[str]]]:
    """``[(option or None for the node id, values)]`` in line order (``--in a=b.c d=e.f``
    is one group; ``--uses X`` takes one value; ``--opt=value`` is one group)."""
    groups: list[tuple[str | None, list[str]]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--"):
            opt, eq, val = tok.partition("=")
            if eq:
                groups.append((opt, [val]))
                i += 1
            elif opt in _SINGLE_VALUE_OPTIONS:
                groups.append((opt, tokens[i + 1:i + 2]))
                i += 2
            else:
                j = i + 1
                while j < len(tokens) and not tokens[j].startswith("-"):
                    j += 1
                groups.append((opt, tokens[i + 1:j]))
                i = j
        else:
            groups.append((None, [tok]))
            i += 1
    return groups


def _replace_group(groups: list[tuple[str | None, list[str]]], opt: str, values: list[str],
                   after: tuple[str | None, ...]) -> list[tuple[str | None, list[str]]]:
    """``groups`` with every ``opt`` group merged into the first one's place and holding
    ``values`` (dropped when empty); a new group goes after the last ``after`` group."""
    out: list[tuple[str | None, list[str]]] = []
    placed = False
    for g in groups:
        if g[0] == opt:
            if not placed and values:
                out.append((opt, values))
            placed = True
        else:
            out.append(g)
    if not placed and values:
        at = max((i + 1 for i, g in enumerate(out) if g[0] in after), default=len(out))
        out.insert(at, (opt, values))
    return out


def _byte_col(line: str, col: int) -> int:
    """A character index from ``ast``'s UTF-8 byte column."""
    return len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))


def _assignment_text(name: str, value: Any, indent: int = 0) -> str | None:
    text = format_value(value)
    if text is None:
        return None
    pad = " " * (indent + len(name) + 3)
    return f"{name} = " + ("\n" + pad).join(text.split("\n"))


def rewrite_skill_cell(
    source: str,
    *,
    node_id: str | None = None,
    wires: list[Wire] | tuple[Wire, ...] | None = None,
    params: Mapping[str, Any] | None = None,
    remove: tuple[str, ...] | list[str] = (),
) -> str:
    """``source`` (a skill cell) with the node renamed, its ``--in`` wires replaced, the
    given parameters set and ``remove`` ones deleted; everything else is kept as written.

    A parameter already assigned in the body keeps its line (and trailing comment) with a
    new value; a parameter given with ``--set`` is changed there; a new one replaces its
    ``# TODO NAME`` line (see the JupyterLab skill cell template) or is appended. Values
    without a Python literal form (NaN) and parameters of inline cells go to ``--set``. A
    ``%%skill`` cell whose body ends up empty becomes the line form ``%skill`` (IPython
    refuses an empty cell magic body), and the line form gains a body when a parameter
    is added. Expression parameters (``n = steps * 2``) are only touched when named.

    Raises:
        WorkflowError: ``source`` is not a valid skill cell, or the result would not be
            (e.g. an invalid node id); the message names the cell's node.
    """
    parsed = parse_skill_cell(source)
    params = dict(params or {})
    remove = [r for r in remove if r not in params]
    stripped = source.lstrip("\n\r\t ")
    lead = source[: len(source) - len(stripped)]
    first, _, rest = stripped.partition("\n")
    cell_form = first.startswith(MAGIC)
    head_args = first[len(MAGIC if cell_form else LINE_MAGIC):]
    groups = _option_groups(_split(head_args, f"%%skill {parsed.node_id}"))
    line_changed = False

    if node_id is not None and (not _NODE_ID.match(node_id) or node_id in SUBCOMMANDS):
        raise WorkflowError(f"%%skill {parsed.node_id}: cannot rename the node to {node_id!r} "
                            "(use letters, digits, '_' or '-', not a %skill subcommand)")
    if node_id is not None and node_id != parsed.node_id:
        groups = [(None, [node_id]) if g[0] is None else g for g in groups]
        line_changed = True
    if wires is not None and tuple(wires) != parsed.wires:
        groups = _replace_group(groups, "--in", [str(w) for w in wires], (None, "--uses"))
        line_changed = True

    # Parameters: the --set tokens, then the body of a --uses cell.
    set_tokens = [v for g in groups if g[0] == "--set" for v in g[1]]
    set_names = [t.partition("=")[0].strip() for t in set_tokens]
    new_sets = dict(zip(set_names, set_tokens, strict=True))
    body_lines = rest.split("\n") if cell_form else []
    body_stmts: dict[str, ast.Assign] = {}
    if cell_form and parsed.uses is not None:
        body_text = _dedent_body(rest) if rest.strip() else ""
        if body_text.rstrip("\n") != rest.rstrip("\n"):
            body_lines = body_text.rstrip("\n").split("\n")  # an indented body: dedented
        for top in ast.parse(body_text).body:
            if isinstance(top, ast.Assign) and isinstance(top.targets[0], ast.Name):
                body_stmts[top.targets[0].id] = top
    line_rest_is_code = not cell_form and bool(rest.strip())
    appended: list[str] = []
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, new lines), 0-based

    def to_set(name: str, value: Any) -> None:
        new_sets[name] = set_token(parsed.node_id, name, value)

    for name, value in params.items():
        if name in parsed.sets and parsed.sets[name] == value and type(
                parsed.sets[name]) is type(value):
            continue
        if name in new_sets or parsed.uses is None or line_rest_is_code or not (
                name.isidentifier() and not keyword.iskeyword(name)):
            if name in body_stmts:
                dropped = body_stmts[name]
                edits.append((dropped.lineno - 1, (dropped.end_lineno or dropped.lineno) - 1, []))
            to_set(name, value)
            continue
        stmt = body_stmts.get(name)
        if stmt is not None:
            same = next((a for a in parsed.assignments if a.name == name), None)
            if same is not None and same.literal and same.value == value and type(
                    same.value) is type(value):
                continue
            start, end = stmt.value.lineno - 1, (stmt.value.end_lineno or stmt.value.lineno) - 1
            head = body_lines[start][: _byte_col(body_lines[start], stmt.value.col_offset)]
            tail = body_lines[end][_byte_col(body_lines[end], stmt.value.end_col_offset or 0):]
            text = format_value(value)
            if text is None:
                edits.append((stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1, []))
                to_set(name, value)
                continue
            text = ("\n" + " " * len(head)).join(text.split("\n"))
            edits.append((start, end, (head + text + tail).split("\n")))
            continue
        text = _assignment_text(name, value)
        if text is None:
            to_set(name, value)
            continue
        todo = re.compile(rf"^\s*#\s*TODO\s+{re.escape(name)}\b")
        at = next((i for i, ln in enumerate(body_lines) if todo.match(ln)), None)
        if at is not None:
            edits.append((at, at, text.split("\n")))
        else:
            appended += text.split("\n")
    for name in remove:
        if name in new_sets:
            del new_sets[name]
        elif name in body_stmts:
            dropped = body_stmts[name]
            edits.append((dropped.lineno - 1, (dropped.end_lineno or dropped.lineno) - 1, []))
    if list(new_sets.values()) != set_tokens:
        groups = _replace_group(groups, "--set", list(new_sets.values()), (None, "--uses", "--in"))
        line_changed = True

    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        body_lines[start:end + 1] = new
    if appended:
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
        body_lines += appended
    body = "\n".join(body_lines)

    want_cell_form = cell_form or bool(appended) or any(e[2] for e in edits)
    if want_cell_form and not body.strip():
        name_now = next((g[1][0] for g in groups if g[0] is None and g[1]), parsed.node_id)
        want_cell_form = name_now in SUBCOMMANDS  # the line form cannot name these
    if want_cell_form != cell_form:
        line_changed = True
    if not line_changed and not edits and not appended:
        return source

    if line_changed:
        words = [MAGIC if want_cell_form else LINE_MAGIC]
        for opt, values in groups:
            words += ([] if opt is None else [opt]) + [shlex.quote(v) for v in values]
        first = " ".join(words)
    if want_cell_form:
        out = lead + first + "\n" + body.strip("\n")
        if cell_form and rest.endswith("\n") and not out.endswith("\n"):
            out += "\n"
    else:
        out = lead + first + ("\n" + rest if not cell_form and rest else "")
    try:
        parse_skill_cell(out)  # the rewrite must read back as a skill cell
    except WorkflowError as exc:
        raise WorkflowError(f"%%skill {parsed.node_id}: the edit gives an invalid cell: "
                            f"{_strip_magic(exc.message)}") from None
    return out


def _strip_magic(message: str) -> str:
    return message.removeprefix("%%skill: ")
