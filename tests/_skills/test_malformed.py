"""Malformed skill files: every one is a located SkillError, and never stops a library.

The corpus has each kind of file that broke ``llmos skills list`` in issue 14: YAML tags
whose constructors raise Python errors, alias bombs and recursive anchors, deep nesting,
a 4,300-digit integer, binary junk; plus symlink cycles in a volume.
"""

from __future__ import annotations

import time

import pytest
from toy_skills import ADD

from llmos_jupyter import SkillError, SkillLibrary, load_skill, parse_skill
from llmos_jupyter._skills.library import skill_files
from llmos_jupyter._skills.parser import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    check_skill,
    check_skill_file,
)

LAUGHS = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
)

# name -> (frontmatter lines after skill_id, expected field or None, message fragment)
CORPUS = {
    "float-tag": ("x: !!float abc", None, "!!float 'abc' is not a valid"),
    "bool-tag": ("x: !!bool ''", None, "!!bool '' is not a valid"),
    "timestamp-tag": ("x: !!timestamp x", None, "!!timestamp 'x' is not a valid"),
    "int-tag": ("x: !!int ''", None, "!!int '' is not a valid"),
    "python-tag": ("x: !!python/object/apply:os.system [ls]", None, "could not determine a constructor"),
    "local-tag": ("x: !custom value", None, "could not determine a constructor"),
    "billion-laughs": (LAUGHS, "yaml-alias", "expand to more than"),
    "recursive-list": ("x: &a [*a]", "yaml-alias", "recursive YAML alias"),
    "recursive-map": ("x: &a {self: *a}", "yaml-alias", "recursive YAML alias"),
    "deep-flow": ("x: " + "[" * 5000 + "]" * 5000, "yaml-depth", f"deeper than {MAX_DEPTH}"),
    "deep-block": ("x:\n" + "".join(" " * i + "- \n" for i in range(1, 200)), "yaml-depth",
                   "deeper than"),
    "deep-aliases": ("a: &a " + "[" * 40 + "]" * 40 + "\nb: &b " + "[" * 40 + "*a" + "]" * 40,
                     "yaml-depth", "aliases nest deeper"),
    "huge-int": ("x: " + "7" * 4300, "yaml-int", "4300 digits is too long"),
    "huge-hex": ("x: 0x" + "f" * 4000, "yaml-int", "too long"),
    "set": ("x: !!set {a, b}", "x", "!!set value is not plain data"),
    "binary": ("x: !!binary aGVsbG8=", "x", "!!binary value is not plain data"),
    "timestamp-value": ("x: !!timestamp 2024-01-01", "x", "!!timestamp value is not plain"),
    "duplicate-key": ("x: 1\nx: 2", "yaml-duplicate-key", "duplicate key 'x'"),
    "unhashable-key": ("? [a, b]\n: c", None, "unhashable key"),
    "tab-indent": ("x:\n\t- a", None, "invalid YAML"),
    "nan-timeout": ("timeout_s: .nan", "timeout_s", "finite"),
}


def skill_text(frontmatter: str) -> str:
    return f"---\nskill_id: broken\n{frontmatter}\n---\nSome prose.\n"


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus_case_is_a_located_skill_error(tmp_path, name):
    frontmatter, field, fragment = CORPUS[name]
    path = tmp_path / f"{name}.md"
    path.write_text(skill_text(frontmatter))
    start = time.process_time()
    with pytest.raises(SkillError) as info:
        load_skill(path)
    assert time.process_time() - start < 2, "a malformed file must fail fast"
    err = info.value
    assert err.path == str(path) and err.line is not None and err.line >= 2
    assert err.field == field, str(err)
    assert fragment in err.message, str(err)
    assert "please report" not in err.message


def test_plain_dates_stay_strings_and_merges_work():
    skill = parse_skill(skill_text("created: 2024-01-01\nbase: &b {p: 1}\nm: {<<: *b, q: 2}"))
    assert skill.frontmatter["created"] == "2024-01-01"
    assert skill.frontmatter["m"] == {"p": 1, "q": 2}


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "encoding", "NUL byte"),
        (b"---\nskill_id: x\ndescription: caf\xe9\n---\n", "encoding", "not UTF-8"),
        (bytes(range(1, 256)) + b"\x00", "encoding", "NUL byte"),
        (b"---\nskill_id: x\n---\n" + b"a" * MAX_FILE_BYTES, "file-size", "larger than"),
    ],
)
def test_binary_and_oversize_files(tmp_path, data, field, fragment):
    path = tmp_path / "junk.md"
    path.write_bytes(data)
    with pytest.raises(SkillError) as info:
        load_skill(path)
    assert info.value.field == field
    assert fragment is None or fragment in info.value.message


def test_text_with_nul_or_surrogates_is_refused():
    with pytest.raises(SkillError, match="NUL"):
        parse_skill("---\nskill_id: x\n---\n\x00")
    with pytest.raises(SkillError, match="surrogate"):
        parse_skill("---\nskill_id: x\ndescription: '\ud800'\n---\n")


def test_code_too_deep_to_compile_is_a_syntax_error():
    code = "def execute(inputs):\n    return " + "-" * 50_000 + "1\n"
    with pytest.raises(SkillError) as info:
        parse_skill(f"---\nskill_id: x\noutputs: [{{name: y, type: number}}]\n---\n```python\n{code}```\n")
    assert info.value.field == "code" and info.value.line == 6


def test_check_lists_every_problem_in_line_order(tmp_path):
    path = tmp_path / "many.md"
    path.write_text(
        "---\nskill_id: Bad_Id\ntags: 3\ninputs:\n"
        "  - {name: a, type: vector}\n"
        "  - {name: b, type: number, default: x}\n"
        "  - {name: b, type: number}\n"
        "resources: {cpu: 0, memory: lots}\n"
        "outputs: [{name: y, type: number}]\n---\n"
        "```python\ndef execute(inputs:\n```\n"
    )
    problems = check_skill_file(path)
    got = [(p.line, p.field) for p in problems]
    assert got == [
        (2, "skill_id"), (3, "tags"), (5, "inputs.a.type"), (6, "inputs.b.default"),
        (7, "inputs.b"), (8, "resources.cpu"), (8, "resources.memory"), (12, "code"),
    ], [str(p) for p in problems]
    assert all(p.path == str(path) for p in problems)
    # load_skill raises the first of them; a valid file has none.
    with pytest.raises(SkillError):
        load_skill(path)
    good = tmp_path / "add.md"
    good.write_text(ADD)
    assert check_skill_file(good) == []
    assert check_skill_file(tmp_path / "missing.md")[0].message.startswith("cannot read file")
    assert [p.field for p in check_skill(skill_text("x: !!float abc"))] == [None]


def test_library_loads_the_rest_of_a_volume_full_of_bad_files(tmp_path):
    root = tmp_path / "skills"
    root.mkdir()
    for name, (frontmatter, _, _) in CORPUS.items():
        (root / f"{name}.md").write_text(skill_text(frontmatter))
    (root / "junk.md").write_bytes(b"\x00\x01\x02\xff")
    (root / "add.md").write_text(ADD)
    lib = SkillLibrary(volumes=[("team", root)])
    assert "add" in lib and len(lib) == 1
    assert len(lib.errors) == len(CORPUS) + 1
    assert all(isinstance(e, SkillError) and e.path for e in lib.errors)


def test_symlink_cycles_are_scanned_once(tmp_path):
    root = tmp_path / "skills"
    (root / "sub").mkdir(parents=True)
    (root / "add.md").write_text(ADD)
    (root / "sub" / "other.md").write_text(ADD.replace("skill_id: add", "skill_id: other"))
    for name in ("l1", "l2", "l3"):
        (root / name).symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "again.md").symlink_to(root / "add.md")
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    files = skill_files(root)  # returns at all: the cycles were not followed
    assert files == [root / "add.md", root / "sub" / "other.md"]
    lib = SkillLibrary(volumes=[("user", root)])
    assert {s.skill_id for s in lib} == {"add", "other"} and lib.errors == []


def test_refresh_picks_up_edits_new_and_deleted_files(tmp_path):
    root = tmp_path / "skills"
    root.mkdir()
    add = root / "add.md"
    add.write_text(ADD)
    lib = SkillLibrary(volumes=[("user", root)])
    lib.refresh_interval = 0  # check on every lookup
    first = lib.get("add")
    assert lib.refresh() is False and lib.get("add") is first  # unchanged: not re-parsed

    add.write_text(ADD.replace("version: '1.0'", "version: '2.0'"))
    assert lib.get("add").version == "2.0"

    (root / "mul.md").write_text(ADD.replace("skill_id: add", "skill_id: mul"))
    assert "mul" in lib
    add.write_text("---\nskill_id: add\ninputs: [\n---\n")
    assert "add" not in lib and [e.path for e in lib.errors] == [str(add)]
    (root / "mul.md").unlink()
    assert "mul" not in lib


def test_unknown_id_refreshes_at_once_even_with_a_long_interval(tmp_path):
    root = tmp_path / "skills"
    root.mkdir()
    lib = SkillLibrary(volumes=[("user", root)])
    lib.refresh_interval = float("inf")
    time.sleep(0.06)
    (root / "add.md").write_text(ADD)
    assert lib.get("add").skill_id == "add"


def test_in_memory_skills_survive_refresh(tmp_path):
    root = tmp_path / "skills"
    root.mkdir()
    lib = SkillLibrary(volumes=[("user", root)], skills=[parse_skill(ADD)])
    lib.refresh_interval = 0
    (root / "other.md").write_text(ADD.replace("skill_id: add", "skill_id: other"))
    assert {s.skill_id for s in lib} == {"add", "other"}
    overlay = lib.overlay([parse_skill(ADD.replace("skill_id: add", "skill_id: inline"))])
    (root / "third.md").write_text(ADD.replace("skill_id: add", "skill_id: third"))
    assert {s.skill_id for s in overlay} == {"add", "other", "inline", "third"}
    assert "inline" not in lib


def test_the_pure_python_yaml_path_gives_the_same_errors(tmp_path):
    """Without libyaml (some Pyodide builds) the parser falls back to PyYAML's Python
    scanner; the limits live in the composer, so the errors are the same."""
    import json
    import subprocess
    import sys

    names = ["float-tag", "billion-laughs", "recursive-list", "deep-flow", "huge-int",
             "duplicate-key"]
    script = (
        "import builtins, json, sys\n"
        "real = builtins.__import__\n"
        "def fake(name, *a, **k):\n"
        "    if name == 'yaml._yaml':\n"
        "        raise ImportError('no libyaml')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = fake\n"
        "from llmos_jupyter._skills import parser\n"
        "assert parser._Parser.__module__ == 'llmos_jupyter._skills.parser'\n"
        "out = {}\n"
        "for name, text in json.load(sys.stdin).items():\n"
        "    out[name] = [(p.field, p.message) for p in parser.check_skill(text)]\n"
        "print(json.dumps(out))\n"
    )
    texts = {n: skill_text(CORPUS[n][0]) for n in names}
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for name in names:
        [[field, message]] = got[name]
        assert field == CORPUS[name][1] and CORPUS[name][2] in message, (name, field, message)
