"""A compiled checker for ``skill.schema.json``, without importing ``jsonschema``.

Why not ``jsonschema`` itself: importing it imports its format checkers, and with the
optional format packages JupyterLab installs (``rfc3987-syntax`` builds a lark grammar on
import) that costs about one second of CPU in every command that loads skills. The skill
schema uses a small, fixed subset of JSON Schema 2020-12, so this module compiles that
subset into nested closures once and checks a frontmatter mapping in microseconds.

The schema file stays the one specification: :func:`compile_schema` refuses any keyword it
does not implement (so the schema cannot silently outgrow the checker), and the test suite
checks the verdicts against ``jsonschema.Draft202012Validator`` on generated documents.

Implemented: ``type``, ``enum``, ``pattern``, ``minLength``, ``maxLength``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``items`` (one schema),
``minItems``, ``maxItems``, ``uniqueItems``, ``properties``, ``additionalProperties``
(``false`` or a schema), ``required``, ``anyOf``, local ``$ref`` (``#/$defs/...``); the
annotations ``$schema``, ``$id``, ``title``, ``description``, ``default``, ``examples``.
Semantics follow 2020-12 as ``jsonschema`` implements it: ``bool`` is never a number, an
integral float is an ``integer``, ``1`` and ``True`` are different enum values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SchemaProblem", "compile_schema"]

_ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "examples", "$defs",
                "$comment"}


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One violation: ``path`` is the instance path (keys and list indices), ``keyword``
    the failing schema keyword, ``message`` a one-line explanation, ``value`` the
    offending instance (for callers that want to word their own message)."""

    path: tuple[Any, ...]
    keyword: str
    message: str
    value: Any = None


Check = Callable[[Any, tuple[Any, ...]], Iterator[SchemaProblem]]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise ValueError(f"unknown JSON Schema type {name!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers; containers compare element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], list[SchemaProblem]]:
    """Compile ``schema`` into a function returning every problem of an instance.

    Raises:
        ValueError: the schema uses a keyword (or a ``$ref``) this checker does not
            implement.
    """
    root = schema
    compiled_refs: dict[str, Check] = {}

    def resolve(ref: str) -> Check:
        if ref in compiled_refs:
            return compiled_refs[ref]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        slot: list[Check] = []

        # A forward slot lets recursive $refs compile (the schema's are not, but cheaply safe).
        def deferred(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
            return slot[0](value, path)

        compiled_refs[ref] = deferred
        slot.append(build(target))
        return deferred

    def build(node: Any) -> Check:
        if node is True or node == {}:
            return lambda value, path: iter(())
        if node is False:
            return lambda value, path: iter([SchemaProblem(path, "false",
                                                           "no value is allowed here")])
        unknown = set(node) - _ANNOTATIONS - _KEYWORDS
        if unknown:
            raise ValueError(f"skill schema uses unsupported keywords {sorted(unknown)}")
        checks: list[Check] = []

        if "$ref" in node:
            checks.append(resolve(node["$ref"]))
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            for t in types:
                _is_type(None, t)  # unknown type names fail at compile time

            def check_type(value: Any, path: tuple[Any, ...], types: list[str] = types
                           ) -> Iterator[SchemaProblem]:
                if not any(_is_type(value, t) for t in types):
                    want = types[0] if len(types) == 1 else types
                    yield SchemaProblem(path, "type", f"{_short(value)} is not of type {want!r}"
                                        if len(types) == 1 else
                                        f"{_short(value)} is not of type "
                                        + ", ".join(repr(t) for t in types), value)
            checks.append(check_type)
        if "enum" in node:
            options = node["enum"]

            def check_enum(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if not any(_equal(value, o) for o in options):
                    yield SchemaProblem(path, "enum", f"{_short(value)} is not one of "
                                        + ", ".join(map(str, options)), value)
            checks.append(check_enum)
        if "pattern" in node:
            rx = re.compile(node["pattern"])

            def check_pattern(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if isinstance(value, str) and not rx.search(value):
                    yield SchemaProblem(path, "pattern",
                                        f"{_short(value)} does not match {rx.pattern!r}", value)
            checks.append(check_pattern)
        for key, bad, word in (("minLength", lambda n, m: n < m, "shorter than"),
                               ("maxLength", lambda n, m: n > m, "longer than")):
            if key in node:
                def check_len(value: Any, path: tuple[Any, ...], key: str = key, m: int = node[key],
                              bad: Any = bad, word: str = word) -> Iterator[SchemaProblem]:
                    if isinstance(value, str) and bad(len(value), m):
                        yield SchemaProblem(path, key, f"{_short(value)} is {word} {m} characters",
                                            value)
                checks.append(check_len)
        for key, bad, word in (
            ("minimum", lambda v, m: v < m, "less than the minimum of"),
            ("maximum", lambda v, m: v > m, "greater than the maximum of"),
            ("exclusiveMinimum", lambda v, m: v <= m, "less than or equal to the minimum of"),
            ("exclusiveMaximum", lambda v, m: v >= m, "greater than or equal to the maximum of"),
        ):
            if key in node:
                def check_bound(value: Any, path: tuple[Any, ...], key: str = key,
                                m: float = node[key], bad: Any = bad, word: str = word
                                ) -> Iterator[SchemaProblem]:
                    # NaN compares false with everything, as in jsonschema: no problem here.
                    if _number(value) and bad(value, m):
                        yield SchemaProblem(path, key, f"{_short(value)} is {word} {m}", value)
                checks.append(check_bound)
        if "items" in node:
            item_check = build(node["items"])

            def check_items(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        yield from item_check(item, path + (i,))
            checks.append(check_items)
        for key, bad, word in (("minItems", lambda n, m: n < m, "fewer than"),
                               ("maxItems", lambda n, m: n > m, "more than")):
            if key in node:
                def check_count(value: Any, path: tuple[Any, ...], key: str = key,
                                m: int = node[key], bad: Any = bad,
                                word: str = word) -> Iterator[SchemaProblem]:
                    if isinstance(value, list) and bad(len(value), m):
                        yield SchemaProblem(path, key, f"has {word} {m} items", value)
                checks.append(check_count)
        if node.get("uniqueItems"):
            def check_unique(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if isinstance(value, list):
                    for i, a in enumerate(value):
                        for b in value[:i]:
                            if _equal(a, b):
                                yield SchemaProblem(path + (i,), "uniqueItems",
                                                    f"{_short(a)} is repeated", value)
                                return
            checks.append(check_unique)
        if "required" in node:
            required = list(node["required"])

            def check_required(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if isinstance(value, dict):
                    for key in required:
                        if key not in value:
                            yield SchemaProblem(path, "required",
                                                f"{key!r} is a required property", value)
            checks.append(check_required)
        props = {k: build(v) for k, v in node.get("properties", {}).items()}
        if props:
            def check_props(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if isinstance(value, dict):
                    for key, check in props.items():
                        if key in value:
                            yield from check(value[key], path + (key,))
            checks.append(check_props)
        if "additionalProperties" in node:
            extra_schema = node["additionalProperties"]
            allowed = ", ".join(sorted(props))
            extra_check = None if extra_schema is False else build(extra_schema)

            def check_extra(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if not isinstance(value, dict):
                    return
                for key in value:
                    if key in props:
                        continue
                    if extra_check is None:
                        yield SchemaProblem(path + (key,), "additionalProperties",
                                            f"unknown field {_short(key)} (allowed: {allowed})",
                                            value)
                    else:
                        yield from extra_check(value[key], path + (key,))
            checks.append(check_extra)
        if "anyOf" in node:
            branches = [build(b) for b in node["anyOf"]]

            def check_any(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
                if not any(next(iter(b(value, path)), None) is None for b in branches):
                    yield SchemaProblem(path, "anyOf", "matches none of the allowed forms", value)
            checks.append(check_any)

        def check(value: Any, path: tuple[Any, ...]) -> Iterator[SchemaProblem]:
            for c in checks:
                yield from c(value, path)
        return check

    top = build(schema)

    def problems(instance: Any) -> list[SchemaProblem]:
        return list(top(instance, ()))

    return problems


_KEYWORDS = {
    "$ref", "type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "items", "minItems", "maxItems", "uniqueItems",
    "required", "properties", "additionalProperties", "anyOf",
}
