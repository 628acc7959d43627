"""Property-based fuzzing of the skill parser (hypothesis).

Properties: whatever the text or bytes, ``parse_skill`` / ``load_skill`` / ``check_skill``
raise or return only :class:`SkillError` (and never the parser's "unexpected ... please
report" fallback, which would hide a bug); a library with one bad file still loads the
others; the compiled frontmatter checker agrees with ``jsonschema`` on the shipped schema.

The quick subset runs in CI (derandomized, a few seconds); the ``fuzz_long`` runs draw
≥ 10⁵ examples per property and are skipped unless selected:
``python -m pytest tests/_skills/test_fuzz.py -m fuzz_long``.
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toy_skills import ADD

from llmos_jupyter import SkillError, SkillLibrary, load_skill, parse_skill
from llmos_jupyter._skills.parser import check_skill, skill_schema
from llmos_jupyter._skills.schema import compile_schema

QUICK = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# LLMOS_FUZZ_EXAMPLES lowers (or raises) the long runs' budget, e.g. for a quick local check.
LONG = settings(max_examples=int(os.environ.get("LLMOS_FUZZ_EXAMPLES", "100000")), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

BUG = "please report this as a bug"  # the parser's fallback for an exception of its own

# -- strategies ----------------------------------------------------------------------------
FIELDS = ["skill_id", "name", "description", "category", "tags", "version", "runtime",
          "requires", "inputs", "outputs", "resources", "timeout_s", "type", "default",
          "enum", "minimum", "maximum", "secret", "format", "unit", "required", "cpu",
          "memory", "gpu", "x"]
YAML_TOKENS = [
    ": ", "\n", "\n  ", "\n    ", "- ", "[", "]", "{", "}", ", ", "'", '"', "#", "&a ", "*a",
    "&b ", "*b", "<<: ", "? ", "|", ">", "!!float ", "!!bool ", "!!int ", "!!timestamp ",
    "!!set ", "!!binary ", "!!str ", "!!map ", "!!seq ", "!!omap ", "!!null ", "!!python/name:os.system ",
    "!foo ", "!<tag:x> ", "%YAML 1.1\n", "---", "...", "~", "null", "true", "yes", "on",
    ".nan", ".inf", "-.inf", "0x1F", "0o17", "0b101", "1_000", "190:20:30", "1e400", "2024-01-01",
    "abc", "''", "1" * 120, "\t", "\\", "\r", "\ufeff", "\x85", "\u2028", "é", "😀",
    "number", "string", "integer", "python", "4GiB", "-1", "0", "1.5",
] + [f + ": " for f in FIELDS]

yaml_soup = st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=4)),
                     max_size=40).map("".join)

CODE_TOKENS = ["```python\n", "```\n", "```js\n", "~~~\n", "def execute(inputs):\n",
               "    return {'y': 1}\n", "async def execute(i): pass\n", "def execute(): pass\n",
               "(", ")", "[" * 50, "lambda: ", "\n", "    ", "import os\n", "\x0c", "# h\n"]
body_soup = st.lists(st.one_of(st.sampled_from(CODE_TOKENS), st.text(max_size=6)),
                     max_size=20).map("".join)

skill_texts = st.builds(
    lambda fm, body, head, sep: f"{head}\n{fm}\n{sep}\n{body}",
    yaml_soup, body_soup, st.sampled_from(["---", "---", "--- ", "\ufeff---", "", "-- -"]),
    st.sampled_from(["---", "---", "...", "", "--- x"]),
)


def _mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for pos, cut, insert in edits:
        at = pos % (len(text) + 1)
        text = text[:at] + insert + text[at + cut:]
    return text


mutated_skills = st.builds(
    _mutate, st.just(ADD),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 8),
                       st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=3))),
             min_size=1, max_size=6),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["number", "string", "integer", "any", "image", "python", "js",
                     "x", "4GiB", "512 MB", "a-b", "Bad_Id", "numpy>=1"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)),
    max_leaves=8,
)
ports = st.lists(st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "x1", "2bad", ""]),
                           "type": st.sampled_from(["number", "string", "integer", "vector",
                                                    "any", "boolean", "array"])},
                          optional={k: json_values for k in
                                    ["default", "enum", "minimum", "maximum", "secret",
                                     "required", "format", "unit", "description"]}),
    json_values,
), max_size=4)
frontmatters = st.fixed_dictionaries(
    {},
    optional={
        "skill_id": st.one_of(st.sampled_from(["ok-id", "Bad_Id", "", "x"]), json_values),
        "name": json_values, "description": json_values, "tags": json_values,
        "version": json_values, "runtime": st.sampled_from(["python", "js", "spice"]),
        "requires": json_values, "inputs": ports, "outputs": ports,
        "resources": st.one_of(json_values, st.fixed_dictionaries({}, optional={
            "cpu": json_scalars, "memory": json_scalars, "gpu": json_scalars})),
        "timeout_s": json_scalars, "extra": json_values,
    },
)


# -- properties ----------------------------------------------------------------------------
def assert_only_skill_errors(text: str) -> None:
    try:
        parse_skill(text, path="fuzz.md")
    except SkillError as exc:
        assert BUG not in exc.message, str(exc)
    problems = check_skill(text, path="fuzz.md")
    assert all(isinstance(p, SkillError) and BUG not in p.message for p in problems)


def check_yaml_soup(text: str) -> None:
    assert_only_skill_errors(text)


def check_frontmatter(data: dict) -> None:
    head = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    text = f"---\n{head}---\n```python\ndef execute(inputs):\n    return {{}}\n```\n"
    assert_only_skill_errors(text)


def check_bytes(tmp: Path, data: bytes) -> None:
    path = tmp / "fuzz.md"
    path.write_bytes(data)
    try:
        load_skill(path)
    except SkillError as exc:
        assert BUG not in exc.message, str(exc)


_VALIDATOR = jsonschema.Draft202012Validator(skill_schema())
_COMPILED = compile_schema(skill_schema())


def check_schema_agrees(data: dict) -> None:
    expected = _VALIDATOR.is_valid(data)
    got = _COMPILED(data)
    assert (got == []) == expected, (json.dumps(data, default=str)[:300], got)


@pytest.mark.parametrize("prop, strategy", [
    (check_yaml_soup, skill_texts),
    (assert_only_skill_errors, mutated_skills),
    (check_frontmatter, frontmatters),
    (check_schema_agrees, frontmatters),
], ids=["yaml-soup", "mutated-skill", "frontmatter", "schema-vs-jsonschema"])
def test_quick(prop, strategy):
    # Generating structured frontmatter costs ~10 ms an example: fewer of those in CI.
    n = 100 if strategy is frontmatters else 400
    settings(QUICK, max_examples=n)(given(strategy)(prop))()


def test_quick_bytes(tmp_path):
    prefixes = st.sampled_from([b"", b"---\n", b"---\nskill_id: x\n", b"\xef\xbb\xbf---\n"])

    @QUICK
    @given(prefixes, st.binary(max_size=200))
    def prop(prefix: bytes, data: bytes) -> None:
        check_bytes(tmp_path, prefix + data)

    prop()


@QUICK
@given(st.one_of(skill_texts, mutated_skills))
def test_one_bad_file_never_stops_the_library(tmp_path_factory, text):
    root = tmp_path_factory.mktemp("vol")
    (root / "add.md").write_text(ADD)
    (root / "bad.md").write_text(text, encoding="utf-8", errors="surrogatepass")
    lib = SkillLibrary(volumes=[("team", root)])
    assert "add" in lib or any(str(root / "bad.md") == e.path for e in lib.errors)
    assert all(isinstance(e, SkillError) for e in lib.errors)
    assert len(lib) + len(lib.errors) == 2


def test_quick_valid_schema_documents_are_accepted():
    """The agreement property must see valid documents too, not only rejections."""
    @QUICK
    @given(st.fixed_dictionaries({
        "skill_id": st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,10}\Z"),
        "inputs": st.lists(st.fixed_dictionaries(
            {"name": st.from_regex(r"\A[a-z_][a-z0-9_]{0,5}\Z"),
             "type": st.sampled_from(["number", "string", "integer", "any"])},
            optional={"minimum": st.floats(allow_nan=False), "secret": st.booleans()}),
            max_size=3),
        "timeout_s": st.floats(min_value=0.001, max_value=1e6),
    }))
    def prop(data):
        check_schema_agrees(data)
        assert _COMPILED(data) == []

    prop()


# -- long runs -----------------------------------------------------------------------------
@pytest.mark.fuzz_long
@pytest.mark.parametrize("prop, strategy", [
    (check_yaml_soup, skill_texts),
    (assert_only_skill_errors, mutated_skills),
    (check_frontmatter, frontmatters),
    (check_schema_agrees, frontmatters),
], ids=["yaml-soup", "mutated-skill", "frontmatter", "schema-vs-jsonschema"])
def test_long(prop, strategy):
    settings(LONG)(given(strategy)(prop))()


@pytest.mark.fuzz_long
def test_long_bytes(tmp_path):
    @LONG
    @given(st.sampled_from([b"", b"---\n", b"---\nskill_id: x\n"]), st.binary(max_size=400))
    def prop(prefix: bytes, data: bytes) -> None:
        check_bytes(tmp_path, prefix + data)

    prop()


def test_alphabet_constants_are_printable():
    # Keeps the token list honest: the soup must reach the YAML scanner, not just the reader.
    assert sum(t.strip(string.whitespace) != "" for t in YAML_TOKENS) > 50
