"""Parse a skill Markdown file: YAML frontmatter, prose, one fenced code block.

The frontmatter is checked against ``skill.schema.json`` (JSON Schema 2020-12, shipped in
this package) by :mod:`llmos_jupyter._skills.schema`, a compiled checker for the subset
the schema uses (``jsonschema`` costs a second of imports; see that module). Fenced code
blocks are found with ``markdown-it-py`` (CommonMark). The format is documented in
``docs/skill-format.md``.

Whatever the bytes, parsing raises only :class:`SkillError`, naming the file, the 1-based
line and the field: YAML is read with a safe loader that turns constructor failures
(``!!float abc``, ``!!bool ''``) into located errors and refuses, with a named error,
files larger than :data:`MAX_FILE_BYTES`, frontmatter nested deeper than
:data:`MAX_DEPTH`, aliases that expand to more than :data:`MAX_YAML_VALUES` values
("billion laughs") or refer to themselves, integers longer than :data:`MAX_INT_DIGITS`
digits, binary data (NUL bytes, invalid UTF-8) and values that are not plain data
(``!!set``, ``!!binary``, ``!!timestamp``). Dates such as ``2024-01-01`` stay strings.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from llmos_jupyter._exceptions import SkillError
from llmos_jupyter._skills.model import Skill, memory_bytes
from llmos_jupyter._skills.ports import Port, check_value

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_DIGITS",
    "MAX_YAML_VALUES",
    "check_skill",
    "check_skill_file",
    "load_skill",
    "parse_skill",
    "skill_schema",
    "skill_warnings",
]

MAX_FILE_BYTES = 1 << 20
"""Largest skill file read (1 MiB); a larger file is refused with a named error."""
MAX_DEPTH = 64
"""Deepest nesting of YAML collections in the frontmatter."""
MAX_YAML_VALUES = 100_000
"""Most values the frontmatter may hold once aliases (``*name``) are expanded."""
MAX_INT_DIGITS = 100
"""Longest integer literal (digits) in the frontmatter; far below Python's 4,300-digit
int-to-str limit, so no later ``str()`` or ``json.dumps`` of a value can fail."""

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FENCE_LANGS = {
    "python": {"python", "py", "python3"},
    "javascript": {"javascript", "js"},
    "threejs": {"javascript", "js", "threejs"},
    "spice": {"spice", "netlist"},
}
_DELIMS = {"---"}
_PLAIN = (dict, list, str, int, float, bool, type(None))
_TAG_NAMES: dict[type, str] = {set: "!!set", bytes: "!!binary", tuple: "!!omap/!!pairs"}


@lru_cache(maxsize=1)
def skill_schema() -> dict[str, Any]:
    """The frontmatter's JSON Schema (``llmos_jupyter/_skills/skill.schema.json``)."""
    text = resources.files("llmos_jupyter._skills").joinpath("skill.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from llmos_jupyter._skills.schema import compile_schema

    return compile_schema(skill_schema())


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # Only block structure (fences) matters here; inline parsing is a third of the time.
    return MarkdownIt("commonmark").disable(["inline", "text_join"], ignoreInvalid=True)


# -- entry points --------------------------------------------------------------------------
def load_skill(path: str | Path, *, volume: str | None = None) -> Skill:
    """Read and parse the skill file at ``path``.

    Raises:
        SkillError: unreadable, too large or binary file, bad frontmatter, schema
            violation, bad code block. Nothing else, whatever the file holds.
    """
    path = Path(path)
    return parse_skill(_read(path), path=path, volume=volume)


def parse_skill(text: str, *, path: str | Path | None = None, volume: str | None = None) -> Skill:
    """Parse skill Markdown ``text``; ``path`` is used for errors and the id fallback.

    Returns:
        Skill: executable when the file has one fenced block in its runtime's language,
        standard (instruction-only) when it has none and declares no ports.

    Raises:
        SkillError: the first problem (schema problems first), with ``path``, ``line`` (1-based) and
            ``field`` set where known. :func:`check_skill` returns all of them.
    """
    skill, problems = _parse(text, Path(path) if path is not None else None, volume)
    if problems:
        raise problems[0]
    assert skill is not None
    return skill


def check_skill(text: str, *, path: str | Path | None = None,
                warnings: list[Any] | None = None) -> list[SkillError]:
    """Every problem of skill Markdown ``text``, sorted by line (empty when valid).

    Problems that stop the reading (no frontmatter, invalid YAML, a limit exceeded) come
    alone; past those, every schema violation, port problem and code problem is listed.
    When ``warnings`` is a list and the text loads, the Agent Skills specification
    violations of a third-party ``SKILL.md`` (``_skills.agentskills.SkillWarning``:
    description too long, name not the folder's...) are appended to it.
    """
    skill, problems = _parse(text, Path(path) if path is not None else None, None)
    if warnings is not None and skill is not None:
        warnings.extend(skill_warnings(skill))
    return sorted(problems, key=lambda p: p.line or 0)


def check_skill_file(path: str | Path, *, warnings: list[Any] | None = None) -> list[SkillError]:
    """Every problem of the skill file at ``path`` (empty when it loads), for
    ``llmos skills check``; see :func:`check_skill` (and its ``warnings``)."""
    path = Path(path)
    try:
        text = _read(path)
    except SkillError as exc:
        return [exc]
    return check_skill(text, path=path, warnings=warnings)


def skill_warnings(skill: Skill) -> list[Any]:
    """The Agent Skills specification violations of a skill loaded from a third-party
    ``SKILL.md`` folder (warnings, not errors: the skill loads); empty for llmos skills.
    See :func:`llmos_jupyter._skills.agentskills.spec_warnings`."""
    from llmos_jupyter._skills.agentskills import spec_warnings

    return spec_warnings(skill)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SkillError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    if len(data) > MAX_FILE_BYTES:
        raise SkillError(f"file is larger than {MAX_FILE_BYTES} bytes: not a skill file",
                         path=path, field="file-size")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise SkillError("binary data (a NUL byte): not a text file", path=path, line=line,
                         field="encoding")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SkillError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path,
                         line=line, field="encoding") from None


# -- the parse, collecting problems --------------------------------------------------------
class _Problems(list[SkillError]):
    def add(self, message: str, path: Path | None, line: int | None, field: str | None) -> None:
        self.append(SkillError(message, path=path, line=line, field=field))


def _parse(
    text: str, path: Path | None, volume: str | None
) -> tuple[Skill | None, list[SkillError]]:
    try:
        return _parse_checked(text, path, volume)
    except SkillError as exc:
        return None, [exc]
    except Exception as exc:  # noqa: BLE001 - the promise is "only SkillError", whatever the bytes
        # A bug of ours, not of the file: say so, so it gets reported rather than blamed
        # on the user (the fuzz tests fail on this message).
        return None, [SkillError(f"unexpected {type(exc).__name__} while parsing: {exc} "
                                 "(please report this as a bug)", path=path)]


def _parse_checked(
    text: str, path: Path | None, volume: str | None
) -> tuple[Skill | None, list[SkillError]]:
    _check_text(text, path)
    lines = text.lstrip("\ufeff").split("\n")
    fm_lines, body_start = _split_frontmatter(lines, path)
    data, line_of = _load_yaml("\n".join(fm_lines), path, first_line=2)

    def line(*keys: Any) -> int:
        # The deepest known line for a field path (falls back to its parents').
        for n in range(len(keys), -1, -1):
            if keys[:n] in line_of:
                return line_of[keys[:n]]
        return 2  # the frontmatter's first line

    problems = _Problems()
    bad = _check_schema(data, path, line, problems)

    def clean(*keys: Any) -> bool:
        """No schema problem at or below this field path."""
        return not any(b[: len(keys)] == keys for b in bad)

    skill_id = _skill_id(data, path, line, problems) if clean("skill_id") and clean("name") \
        else None
    runtime = data.get("runtime", "python") if clean("runtime") else "python"
    inputs = _ports(data, "inputs", path, line, clean, problems)
    outputs = _ports(data, "outputs", path, line, clean, problems)
    resources_, timeout_s = _limits(data, path, line, clean, problems)

    body = "\n".join(lines[body_start - 1:]) if body_start <= len(lines) else ""
    # Declaring ports or a runtime makes a skill executable; otherwise code blocks are
    # examples inside a standard skill's instructions (as in Agent Skills' SKILL.md files),
    # unless the file's one Python block defines execute().
    declared = any(k in data for k in ("inputs", "outputs", "runtime"))
    blocks = _code_blocks(body, body_start, runtime)
    if not declared and not (len(blocks) == 1 and _defines_execute(blocks[0][0])):
        blocks = []
    code, code_line = _one_block(blocks, runtime, path, problems)
    if code is None and declared and not any(p.field == "code" for p in problems):
        problems.add(
            f"declares inputs/outputs/runtime but has no ```{runtime} code block defining "
            "execute(inputs)",
            path, line("outputs") if "outputs" in data else line("inputs") if "inputs" in data
            else line("runtime"), "code",
        )
    if code is not None and runtime == "python":
        _check_python(code, code_line, path, problems)

    if problems:
        return None, list(problems)  # in the order found: schema (by line), then the rest
    assert skill_id is not None
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
        resources=resources_,
        timeout_s=timeout_s,
    ), []


def _check_text(text: str, path: Path | None) -> None:
    """Refuse what no text editor writes: oversize text, NUL characters, lone surrogates."""
    if not isinstance(text, str):
        raise SkillError(f"skill text must be str, got {type(text).__name__}", path=path)
    if len(text) > MAX_FILE_BYTES:
        raise SkillError(f"text is longer than {MAX_FILE_BYTES} characters: not a skill file",
                         path=path, field="file-size")
    nul = text.find("\x00")
    if nul >= 0:
        raise SkillError("binary data (a NUL character): not a text file", path=path,
                         line=text.count("\n", 0, nul) + 1, field="encoding")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SkillError("not valid Unicode text (a lone surrogate character)", path=path,
                         line=text.count("\n", 0, exc.start) + 1, field="encoding") from None


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


class _LimitExceeded(yaml.MarkedYAMLError):
    """A frontmatter limit (depth, integer size) was hit at a mark; ``field`` names it."""

    def __init__(self, problem: str, mark: Any, field: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.field = field


try:
    # libyaml scans and parses (six times faster than the pure-Python scanner, which is
    # most of a CLI start); composing stays in Python (yaml.composer) so that the depth
    # limit below holds: libyaml's own composer recurses in C without one.
    from yaml._yaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml (some Pyodide builds)
    from yaml.parser import Parser as _EventParser
    from yaml.reader import Reader as _Reader
    from yaml.scanner import Scanner as _Scanner

    class _Parser(_Reader, _Scanner, _EventParser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            _Reader.__init__(self, stream)
            _Scanner.__init__(self)
            _EventParser.__init__(self)


class _SkillLoader(yaml.composer.Composer, _Parser, yaml.constructor.SafeConstructor,
                   yaml.resolver.Resolver):
    """A safe loader that cannot be made to raise anything but ``YAMLError``, nest
    deeper than :data:`MAX_DEPTH` (its composer recurses per level) or build huge ints.
    Timestamps are not resolved implicitly: ``2024-01-01`` stays a string (JSON data)."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # the node's first event: composing it is next
                raise _LimitExceeded(f"nested deeper than {MAX_DEPTH} levels",
                                     event.start_mark if event is not None else None,
                                     "yaml-depth")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - ValueError, KeyError, TypeError, ...
            # SafeConstructor lets Python errors of bad tagged scalars escape
            # (!!float abc -> ValueError, !!bool '' -> KeyError); locate them instead.
            value = node.value if isinstance(node, yaml.ScalarNode) else "..."
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"{tag} {_short(value)} is not a valid {tag} value "
                f"({type(exc).__name__})", node.start_mark) from None

    def construct_yaml_int(self, node: Any) -> int:
        # Count every character: hex digits too (0xfff... is as big as its decimal twin).
        digits = len(str(node.value).replace("_", "").lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            raise _LimitExceeded(f"integer with {digits} digits is too long (at most "
                                 f"{MAX_INT_DIGITS})", node.start_mark, "yaml-int")
        return super().construct_yaml_int(node)


# types-PyYAML binds add_constructor's class to its own loader classes; this one is a
# loader too (unused-ignore: without the stubs installed, yaml is untyped).
_SkillLoader.add_constructor(  # type: ignore[type-var, unused-ignore]
    "tag:yaml.org,2002:int", _SkillLoader.construct_yaml_int)
_SkillLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_graph(root: Any, first_line: int, path: Path | None) -> None:
    """Refuse recursive aliases, alias bombs, aliases that nest deeper than
    :data:`MAX_DEPTH` and duplicate keys, on the composed nodes (before construction, which
    would build the recursive value and merge ``<<`` keys away)."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values once expanded, height)
    on_stack: set[int] = set()

    def fail(message: str, node: Any, field: str) -> SkillError:
        return SkillError(message, path=path, line=first_line + node.start_mark.line, field=field)

    def visit(node: Any, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in on_stack:
            raise fail("recursive YAML alias: a value contains itself", node, "yaml-alias")
        known = sizes.get(key)
        if known is None:
            on_stack.add(key)
            n, height = 1, 0
            children: list[Any] = []
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value != "<<":
                        if k.value in seen:
                            raise fail(f"duplicate key {_short(k.value)}", k, "yaml-duplicate-key")
                        seen.add(k.value)
                    children += (k, v)
            elif isinstance(node, yaml.SequenceNode):
                children = node.value
            for child in children:
                cn, ch = visit(child, depth + 1)
                n += cn
                height = max(height, ch + 1)
                if n > MAX_YAML_VALUES:
                    raise fail(f"YAML aliases expand to more than {MAX_YAML_VALUES} values "
                               "(an alias bomb?)", node, "yaml-alias")
            on_stack.discard(key)
            known = sizes[key] = (n, height)
        if depth + known[1] > MAX_DEPTH:
            raise fail(f"YAML aliases nest deeper than {MAX_DEPTH} levels", node, "yaml-depth")
        return known

    visit(root, 0)


def _load_yaml(
    fm_text: str, path: Path | None, first_line: int
) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Load the frontmatter and map each field path to its 1-based file line."""
    loader = None
    try:
        loader = _SkillLoader(fm_text)  # its reader refuses control characters at once
        node = loader.get_single_node()
        if node is None:
            raise SkillError("frontmatter is empty: it needs at least a skill_id (or name)",
                             path=path, line=first_line)
        _check_graph(node, first_line, path)
        data = loader.construct_document(node)
        if not isinstance(data, dict):
            raise SkillError("frontmatter must be a YAML mapping (key: value lines)",
                             path=path, line=first_line)
        line_of = _lines_and_types(loader, node, data, first_line, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark is not None else first_line
        # libyaml puts the stream's end one line past the last line: keep the file's line.
        line = min(line, first_line + fm_text.count("\n"))
        if isinstance(exc, _LimitExceeded):
            raise SkillError(f"frontmatter {exc.problem}", path=path, line=line,
                             field=exc.field) from None
        if "maximum nesting depth" in str(exc.problem or ""):
            # libyaml >= 0.2.5 (PyYAML 6.0.4 wheels) stops deep nesting itself, before our
            # composer's check: the same named error either way.
            raise SkillError(f"frontmatter nested deeper than {MAX_DEPTH} levels", path=path,
                             line=line, field="yaml-depth") from None
        raise SkillError(f"invalid YAML: {exc.problem or exc}", path=path, line=line) from None
    except yaml.reader.ReaderError as exc:
        line = first_line + fm_text.count("\n", 0, exc.position)
        raise SkillError(f"invalid YAML: character {exc.character!r} is not allowed "
                         "(a control character)", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise SkillError(f"invalid YAML: {exc}", path=path, line=first_line) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, line_of


def _lines_and_types(
    loader: _SkillLoader, root: Any, data: dict[str, Any], first_line: int, path: Path | None
) -> dict[tuple[Any, ...], int]:
    """Map each field path to its 1-based file line; refuse values that are not plain
    data (``!!set``, ``!!binary``, ``!!timestamp``, ``!!omap``), naming the field."""
    line_of: dict[tuple[Any, ...], int] = {}

    def walk(n: Any, key: tuple[Any, ...], value: Any) -> None:
        if not isinstance(value, _PLAIN):
            tag = _TAG_NAMES.get(type(value), n.tag.replace("tag:yaml.org,2002:", "!!"))
            raise SkillError(f"a YAML {tag} value is not plain data (use strings, numbers, "
                             "booleans, lists and mappings)", path=path,
                             line=first_line + n.start_mark.line,
                             field=".".join(map(str, key)) or None)
        if isinstance(n, yaml.MappingNode) and isinstance(value, dict):
            for k, v in n.value:  # merged (<<) pairs first, so the file's own pairs win
                # The constructed key (1 for "1:", True for "yes:") is what indexes value.
                ck = loader.construct_object(k) if isinstance(k, yaml.ScalarNode) else None
                kk = key + (ck,)
                line_of[kk] = first_line + k.start_mark.line
                if ck in value:
                    walk(v, kk, value[ck])
        elif isinstance(n, yaml.SequenceNode) and isinstance(value, list):
            # The list was built from this node (same length); a custom tag must not raise here.
            for i, (v, item) in enumerate(zip(n.value, value, strict=False)):
                line_of[key + (i,)] = first_line + v.start_mark.line
                walk(v, key + (i,), item)
        elif isinstance(value, (dict, list)):
            # The tag built another shape than the node (!!omap: a list of tuples).
            for item in (value.values() if isinstance(value, dict) else value):
                walk(n, key, item)

    walk(root, (), data)
    return line_of


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


def _check_schema(
    data: dict[str, Any], path: Path | None, line: Callable[..., int], problems: _Problems
) -> list[tuple[Any, ...]]:
    """Add every schema violation to ``problems``; return their field paths."""
    found = _validator()(data)
    for err in sorted(found, key=lambda e: line(*e.path)):
        keys = err.path
        msg = err.message
        if err.keyword == "anyOf" and not keys:
            msg = "missing skill_id (or an Agent Skills style name) in the frontmatter"
            keys = ("skill_id",)
        elif err.keyword == "pattern" and keys == ("skill_id",):
            msg = f"skill_id {_short(err.value)} must be lowercase letters, digits and '-'"
        elif err.keyword == "pattern" and keys == ("resources", "memory"):
            msg = f"memory {_short(err.value)} is not a size such as 512MiB, 4GiB or 2GB"
        elif err.keyword == "exclusiveMinimum" and keys in (("resources", "cpu"), ("timeout_s",)):
            msg = f"{keys[-1]} must be greater than 0, got {_short(err.value)}"
        problems.add(msg, path, line(*keys), _field_name(data, keys) or None)
    return [e.path for e in found] + [("skill_id",) for e in found if e.keyword == "anyOf"]


def _skill_id(
    data: dict[str, Any], path: Path | None, line: Callable[..., int], problems: _Problems
) -> str | None:
    if "skill_id" in data:
        return str(data["skill_id"])
    name = str(data.get("name", ""))
    if _ID_RE.match(name):
        return name
    if path is not None:
        stem = path.parent.name if path.name == "SKILL.md" else path.stem
        if _ID_RE.match(stem):
            return stem
    problems.add(
        f"no skill_id, and name {_short(name)} is not a valid id (lowercase letters, digits, '-')",
        path, line("name"), "skill_id",
    )
    return None


def _ports(
    data: dict[str, Any], kind: str, path: Path | None, line: Callable[..., int],
    clean: Callable[..., bool], problems: _Problems,
) -> tuple[Port, ...]:
    raw = data.get(kind) or []
    if not isinstance(raw, list):
        return ()
    ports: list[Port] = []
    seen: dict[str, int] = {}
    for i, p in enumerate(raw):
        if not clean(kind, i):
            continue  # the schema problem is reported; its fields may be any shape
        name, ptype = p["name"], p["type"]
        field = f"{kind}.{name}"
        if name in seen:
            problems.add(f"duplicate {kind[:-1]} port {name!r} (first at line {seen[name]})",
                         path, line(kind, i, "name"), field)
            continue
        seen[name] = line(kind, i)
        if ("minimum" in p or "maximum" in p) and ptype not in ("number", "integer", "any"):
            problems.add(f"minimum/maximum only apply to number or integer ports, not {ptype}",
                         path, line(kind, i), field)
        enum = tuple(p["enum"]) if "enum" in p else None
        if "default" in p and p["default"] is not None:
            try:
                check_value(ptype, p["default"])
            except TypeError as exc:
                problems.add(f"default does not fit the port type: {exc}", path,
                             line(kind, i, "default"), f"{field}.default")
            else:
                if enum is not None and p["default"] not in enum:
                    problems.add(f"default {_short(p['default'])} is not one of the enum values",
                                 path, line(kind, i, "default"), f"{field}.default")
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
    data: dict[str, Any], path: Path | None, line: Callable[..., int],
    clean: Callable[..., bool], problems: _Problems,
) -> tuple[dict[str, Any], float | None]:
    """``resources`` (as declared, checked) and ``timeout_s`` (a float) of the frontmatter."""
    resources_: dict[str, Any] = {}
    if clean("resources"):
        resources_ = dict(data.get("resources") or {})
        if "memory" in resources_:
            try:
                memory_bytes(resources_["memory"])
            except ValueError as exc:
                problems.add(str(exc), path, line("resources", "memory"), "resources.memory")
        for key in ("cpu", "gpu"):
            if key in resources_ and not math.isfinite(resources_[key]):
                problems.add(f"resources.{key} must be a finite number, got {resources_[key]!r}",
                             path, line("resources", key), f"resources.{key}")
    timeout = data.get("timeout_s") if clean("timeout_s") else None
    if timeout is not None and not math.isfinite(timeout):
        problems.add(f"timeout_s must be a finite number of seconds, got {timeout!r}",
                     path, line("timeout_s"), "timeout_s")
        timeout = None
    return resources_, float(timeout) if timeout is not None else None


# -- code ----------------------------------------------------------------------------------
def _code_blocks(body: str, body_start: int, runtime: str) -> list[tuple[str, int]]:
    """Fenced blocks in the runtime's language as (code, file line of the code's first line)."""
    langs = _FENCE_LANGS[runtime]
    return [
        (tok.content, body_start + tok.map[0] + 1)
        for tok in _markdown().parse(body)
        if tok.type == "fence" and tok.map and tok.info.strip().split(" ")[0].lower() in langs
    ]


def _python_tree(code: str, filename: str) -> ast.Module:
    """``ast.parse``; a source too deeply nested for the compiler is a SyntaxError too."""
    try:
        with warnings.catch_warnings():
            # Warnings about the code ("invalid escape sequence") belong to running it,
            # not to listing the library.
            warnings.simplefilter("ignore")
            return ast.parse(code, filename=filename)
    except (RecursionError, MemoryError, ValueError) as exc:
        detail = f": {exc}" if str(exc) else ""
        err = SyntaxError(f"the code is too deeply nested to compile ({type(exc).__name__}"
                          f"{detail})")
        err.lineno = 1
        raise err from None


def _defines_execute(code: str) -> bool:
    try:
        tree = _python_tree(code, "<skill>")
    except SyntaxError:
        return True  # let _check_python report the syntax error with its line
    return any(isinstance(s, ast.FunctionDef) and s.name == "execute" for s in tree.body)


def _one_block(
    blocks: list[tuple[str, int]], runtime: str, path: Path | None, problems: _Problems
) -> tuple[str | None, int]:
    if not blocks:
        return None, 1
    if len(blocks) > 1:
        where = ", ".join(str(b[1] - 1) for b in blocks)
        problems.add(
            f"found {len(blocks)} ```{runtime} code blocks (lines {where}); an executable "
            "skill has exactly one (tag examples in the prose as ```text)",
            path, blocks[1][1] - 1, "code",
        )
        return None, 1
    return blocks[0]


def _check_python(code: str, code_line: int, path: Path | None, problems: _Problems) -> None:
    try:
        tree = _python_tree(code, str(path or "<skill>"))
    except SyntaxError as exc:
        line = code_line + (exc.lineno or 1) - 1
        problems.add(f"Python syntax error in the code block: {exc.msg}", path, line, "code")
        return
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "execute":
            if isinstance(stmt, ast.AsyncFunctionDef):
                problems.add("execute must be a plain function, not async",
                             path, code_line + stmt.lineno - 1, "code")
            elif not stmt.args.args and not stmt.args.vararg:
                problems.add("execute must take one argument: execute(inputs)",
                             path, code_line + stmt.lineno - 1, "code")
            return
    problems.add("the python code block does not define execute(inputs) at top level",
                 path, code_line - 1, "code")
