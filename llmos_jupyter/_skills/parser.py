"""Parse a skill Markdown file: YAML frontmatter, prose, one fenced code block.

The frontmatter is checked against ``skill.schema.json`` (JSON Schema 2020-12, shipped in
this package) with ``jsonschema``; fenced code blocks are found with ``markdown-it-py``
(CommonMark). Every error is a :class:`SkillError` naming the file, the 1-based line and
the field. The format is documented in ``docs/skill-format.md``.
"""

from __future__ import annotations

import ast
import json
import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from llmos_jupyter._exceptions import SkillError
from llmos_jupyter._skills.model import Skill, memory_bytes
from llmos_jupyter._skills.ports import Port, check_value

__all__ = ["load_skill", "parse_skill", "skill_schema"]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FENCE_LANGS = {
    "python": {"python", "py", "python3"},
    "javascript": {"javascript", "js"},
    "threejs": {"javascript", "js", "threejs"},
    "spice": {"spice", "netlist"},
}
_DELIMS = {"---"}


@lru_cache(maxsize=1)
def skill_schema() -> dict[str, Any]:
    """The frontmatter's JSON Schema (``llmos_jupyter/_skills/skill.schema.json``)."""
    text = resources.files("llmos_jupyter._skills").joinpath("skill.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = skill_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def load_skill(path: str | Path, *, volume: str | None = None) -> Skill:
    """Read and parse the skill file at ``path``.

    Raises:
        SkillError: unreadable file, bad frontmatter, schema violation, bad code block.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SkillError(f"not UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise SkillError(f"cannot read file: {exc.strerror}", path=path) from None
    return parse_skill(text, path=path, volume=volume)


def parse_skill(text: str, *, path: str | Path | None = None, volume: str | None = None) -> Skill:
    """Parse skill Markdown ``text``; ``path`` is used for errors and the id fallback.

    Returns:
        Skill: executable when the file has one fenced block in its runtime's language,
        standard (instruction-only) when it has none and declares no ports.

    Raises:
        SkillError: with ``path``, ``line`` (1-based) and ``field`` set where known.
    """
    path = Path(path) if path is not None else None
    lines = text.lstrip("\ufeff").split("\n")
    fm_lines, body_start = _split_frontmatter(lines, path)
    fm_text = "\n".join(fm_lines)
    data, line_of = _load_yaml(fm_text, path, first_line=2)

    def line(*keys: Any) -> int:
        # The deepest known line for a field path (falls back to its parents').
        for n in range(len(keys), -1, -1):
            if keys[:n] in line_of:
                return line_of[keys[:n]]
        return 2  # the frontmatter's first line

    _check_schema(data, path, line)

    skill_id = _skill_id(data, path, line)
    runtime = data.get("runtime", "python")
    inputs = _ports(data.get("inputs") or [], "inputs", path, line)
    outputs = _ports(data.get("outputs") or [], "outputs", path, line)

    body = "\n".join(lines[body_start - 1:]) if body_start <= len(lines) else ""
    # Declaring ports or a runtime makes a skill executable; otherwise code blocks are
    # examples inside a standard skill's instructions (as in Agent Skills' SKILL.md files),
    # unless the file's one Python block defines execute().
    declared = any(k in data for k in ("inputs", "outputs", "runtime"))
    blocks = _code_blocks(body, body_start, runtime)
    if not declared and not (len(blocks) == 1 and _defines_execute(blocks[0][0])):
        blocks = []
    code, code_line = _one_block(blocks, runtime, path)
    if code is None and declared:
        raise SkillError(
            f"declares inputs/outputs/runtime but has no ```{runtime} code block defining "
            "execute(inputs)",
            path=path, line=line("outputs") if outputs else line("inputs") if inputs else line("runtime"),
            field="code",
        )
    if code is not None and runtime == "python":
        _check_python(code, code_line, path)

    resources, timeout_s = _limits(data, path, line)
    version = data.get("version", "0.0.0")
    return Skill(
        skill_id=skill_id,
        name=str(data.get("name") or skill_id),
        description=str(data.get("description") or "").strip(),
        category=str(data.get("category") or "general"),
        tags=tuple(data.get("tags") or ()),
        version=str(version),
        runtime=runtime,
        requires=tuple(data.get("requires") or ()),
        inputs=inputs,
        outputs=outputs,
        code=code,
        code_line=code_line,
        body=body.strip("\n"),
        path=path,
        volume=volume,
        frontmatter=data,
        resources=resources,
        timeout_s=timeout_s,
    )


# -- frontmatter ---------------------------------------------------------------------------
def _split_frontmatter(lines: list[str], path: Path | None) -> tuple[list[str], int]:
    """Return (frontmatter lines, 1-based line where the body starts)."""
    if not lines or lines[0].strip() not in _DELIMS:
        raise SkillError(
            "missing YAML frontmatter: a skill file starts with a '---' line", path=path, line=1
        )
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return lines[1:i], i + 2
    raise SkillError("frontmatter is not closed: no second '---' line", path=path, line=1)


def _load_yaml(
    fm_text: str, path: Path | None, first_line: int
) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Load the frontmatter and map each field path to its 1-based file line."""
    try:
        node = yaml.compose(fm_text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(fm_text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark is not None else first_line
        raise SkillError(f"invalid YAML: {exc.problem or exc}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise SkillError(f"invalid YAML: {exc}", path=path, line=first_line) from None
    if not isinstance(data, dict):
        raise SkillError("frontmatter must be a YAML mapping (key: value lines)",
                         path=path, line=first_line)
    line_of: dict[tuple[Any, ...], int] = {}

    def walk(n: Any, key: tuple[Any, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                kk = key + (k.value,)
                line_of[kk] = first_line + k.start_mark.line
                walk(v, kk)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                line_of[key + (i,)] = first_line + v.start_mark.line
                walk(v, key + (i,))

    walk(node, ())
    return data, line_of


def _field_name(data: dict[str, Any], keys: tuple[Any, ...]) -> str:
    """``inputs.bond_length.default`` style name for a field path (port names, not indices)."""
    parts: list[str] = []
    cur: Any = data
    for k in keys:
        if isinstance(k, int) and isinstance(cur, list) and k < len(cur):
            item = cur[k]
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(str(name) if isinstance(name, str) and name else f"[{k}]")
            cur = item
        else:
            parts.append(str(k))
            cur = cur.get(k) if isinstance(cur, dict) else None
    return ".".join(parts).replace(".[", "[")


def _check_schema(data: dict[str, Any], path: Path | None, line: Any) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: line(*e.absolute_path))
    if not errors:
        return
    err = errors[0]
    keys = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            keys = keys + (extra[0],)
            msg = f"unknown field {extra[0]!r} (allowed: {', '.join(sorted(allowed))})"
        else:
            msg = err.message
    elif err.validator == "anyOf" and not keys:
        msg = "missing skill_id (or an Agent Skills style name) in the frontmatter"
        keys = ("skill_id",)
    elif err.validator == "pattern" and keys and keys[-1] == "skill_id":
        msg = f"skill_id {err.instance!r} must be lowercase letters, digits and '-'"
    elif err.validator == "enum":
        msg = f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    else:
        msg = err.message
    raise SkillError(msg, path=path, line=line(*keys), field=_field_name(data, keys) or None)


def _skill_id(data: dict[str, Any], path: Path | None, line: Any) -> str:
    if "skill_id" in data:
        return data["skill_id"]
    name = str(data.get("name", ""))
    if _ID_RE.match(name):
        return name
    if path is not None:
        stem = path.parent.name if path.name == "SKILL.md" else path.stem
        if _ID_RE.match(stem):
            return stem
    raise SkillError(
        f"no skill_id, and name {name!r} is not a valid id (lowercase letters, digits, '-')",
        path=path, line=line("name"), field="skill_id",
    )


def _ports(raw: list[dict[str, Any]], kind: str, path: Path | None, line: Any) -> tuple[Port, ...]:
    ports: list[Port] = []
    seen: dict[str, int] = {}
    for i, p in enumerate(raw):
        name, ptype = p["name"], p["type"]
        field = f"{kind}.{name}"
        if name in seen:
            raise SkillError(f"duplicate {kind[:-1]} port {name!r} (first at line {seen[name]})",
                             path=path, line=line(kind, i, "name"), field=field)
        seen[name] = line(kind, i)
        if ("minimum" in p or "maximum" in p) and ptype not in ("number", "integer", "any"):
            raise SkillError(f"minimum/maximum only apply to number or integer ports, not {ptype}",
                             path=path, line=line(kind, i), field=field)
        enum = tuple(p["enum"]) if "enum" in p else None
        if "default" in p and p["default"] is not None:
            try:
                check_value(ptype, p["default"])
            except TypeError as exc:
                raise SkillError(f"default does not fit the port type: {exc}", path=path,
                                 line=line(kind, i, "default"), field=f"{field}.default") from None
            if enum is not None and p["default"] not in enum:
                raise SkillError(f"default {p['default']!r} is not one of the enum values",
                                 path=path, line=line(kind, i, "default"), field=f"{field}.default")
        has_default = "default" in p
        ports.append(Port(
            name=name,
            type=ptype,
            # A port with a default is satisfied without a wire, so it is not required.
            required=bool(p.get("required", not has_default)),
            default=p.get("default"),
            has_default=has_default,
            description=str(p.get("description", "")).strip(),
            unit=p.get("unit"),
            enum=enum,
            minimum=p.get("minimum"),
            maximum=p.get("maximum"),
            extra={"format": p["format"]} if "format" in p else {},
            secret=bool(p.get("secret", False)),
        ))
    return tuple(ports)


def _limits(
    data: dict[str, Any], path: Path | None, line: Any
) -> tuple[dict[str, Any], float | None]:
    """``resources`` (as declared, checked) and ``timeout_s`` (a float) of the frontmatter."""
    resources = dict(data.get("resources") or {})
    if "memory" in resources:
        try:
            memory_bytes(resources["memory"])
        except ValueError as exc:
            raise SkillError(str(exc), path=path, line=line("resources", "memory"),
                             field="resources.memory") from None
    for key in ("cpu", "gpu"):
        if key in resources and not math.isfinite(resources[key]):
            raise SkillError(f"resources.{key} must be a finite number, got {resources[key]!r}",
                             path=path, line=line("resources", key), field=f"resources.{key}")
    timeout = data.get("timeout_s")
    if timeout is not None and not math.isfinite(timeout):
        raise SkillError(f"timeout_s must be a finite number of seconds, got {timeout!r}",
                         path=path, line=line("timeout_s"), field="timeout_s")
    return resources, float(timeout) if timeout is not None else None


# -- code ----------------------------------------------------------------------------------
def _code_blocks(body: str, body_start: int, runtime: str) -> list[tuple[str, int]]:
    """Fenced blocks in the runtime's language as (code, file line of the code's first line)."""
    langs = _FENCE_LANGS[runtime]
    return [
        (tok.content, body_start + tok.map[0] + 1)
        for tok in _markdown().parse(body)
        if tok.type == "fence" and tok.map and tok.info.strip().split(" ")[0].lower() in langs
    ]


def _defines_execute(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return True  # let _check_python report the syntax error with its line
    return any(isinstance(s, ast.FunctionDef) and s.name == "execute" for s in tree.body)


def _one_block(
    blocks: list[tuple[str, int]], runtime: str, path: Path | None
) -> tuple[str | None, int]:
    if not blocks:
        return None, 1
    if len(blocks) > 1:
        where = ", ".join(str(b[1] - 1) for b in blocks)
        raise SkillError(
            f"found {len(blocks)} ```{runtime} code blocks (lines {where}); an executable "
            "skill has exactly one (tag examples in the prose as ```text)",
            path=path, line=blocks[1][1] - 1, field="code",
        )
    return blocks[0]


def _check_python(code: str, code_line: int, path: Path | None) -> None:
    try:
        tree = ast.parse(code, filename=str(path or "<skill>"))
    except SyntaxError as exc:
        line = code_line + (exc.lineno or 1) - 1
        raise SkillError(f"Python syntax error in the code block: {exc.msg}",
                         path=path, line=line, field="code") from None
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "execute":
            if isinstance(stmt, ast.AsyncFunctionDef):
                raise SkillError("execute must be a plain function, not async",
                                 path=path, line=code_line + stmt.lineno - 1, field="code")
            if not stmt.args.args and not stmt.args.vararg:
                raise SkillError("execute must take one argument: execute(inputs)",
                                 path=path, line=code_line + stmt.lineno - 1, field="code")
            return
    raise SkillError("the python code block does not define execute(inputs) at top level",
                     path=path, line=code_line - 1, field="code")
