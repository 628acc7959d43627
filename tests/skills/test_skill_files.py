"""Format checks of every file in skills/ (frontmatter, code block, requires, docs)."""

import ast
import keyword
import re
import sys
from pathlib import Path

import pytest
import yaml

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"
EXECUTABLE = [
    "quantum-hamiltonian",
    "quantum-vqe",
    "plot-convergence",
    "circuit-rc",
    "data-analysis",
    "export-results",
]
INSTRUCTION_ONLY = ["python-coding"]
TYPES = {"string", "number", "integer", "boolean", "array", "object", "image", "any"}
CATEGORIES = {"quantum", "visualization", "electronics", "data"}
# import name -> distribution name, for the third-party modules our skills use
DISTRIBUTIONS = {"numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib"}
FENCE = re.compile(r"^```([^\n`]*)$", re.MULTILINE)


def all_markdown_skills():
    return sorted(p.stem for p in SKILLS_DIR.glob("*.md"))


def test_expected_skill_files_exist():
    assert set(EXECUTABLE + INSTRUCTION_ONLY) <= set(all_markdown_skills())
    assert (SKILLS_DIR / "skill-authoring" / "SKILL.md").is_file()


def check_value_type(value, type_name):
    checks = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "image": lambda v: isinstance(v, bytes),
        "any": lambda v: True,
    }
    return checks[type_name](value)


@pytest.mark.parametrize("name", EXECUTABLE)
def test_frontmatter(name, skill_frontmatter):
    fm = skill_frontmatter(name)
    for key in (
        "skill_id",
        "name",
        "description",
        "category",
        "tags",
        "version",
        "runtime",
        "inputs",
        "outputs",
    ):
        assert key in fm, f"{name}: missing {key}"
    assert fm["skill_id"] == name and re.fullmatch(r"[a-z0-9-]+", name)
    assert fm["category"] in CATEGORIES
    assert isinstance(fm["version"], str) and re.fullmatch(r"\d+\.\d+\.\d+", fm["version"])
    assert fm["runtime"] == "python"
    assert isinstance(fm["tags"], list) and fm["tags"]
    assert isinstance(fm.get("requires", []), list)
    for spec in fm["inputs"]:
        assert spec["name"].isidentifier() and not keyword.iskeyword(spec["name"])
        assert spec["type"] in TYPES
        assert isinstance(spec.get("description"), str) and spec["description"]
        if spec.get("required"):
            assert "default" not in spec
        if "default" in spec:
            assert check_value_type(spec["default"], spec["type"]), spec
        if "enum" in spec:
            assert isinstance(spec["enum"], list) and spec["enum"]
            if "default" in spec:
                assert spec["default"] in spec["enum"]
        for bound in ("minimum", "maximum"):
            if bound in spec:
                assert spec["type"] in ("number", "integer")
                assert isinstance(spec[bound], (int, float)) and not isinstance(spec[bound], bool)
        if "minimum" in spec and "default" in spec:
            assert spec["default"] >= spec["minimum"]
        if "maximum" in spec and "default" in spec:
            assert spec["default"] <= spec["maximum"]
    names = [s["name"] for s in fm["inputs"]]
    assert len(names) == len(set(names))
    for spec in fm["outputs"]:
        assert spec["name"].isidentifier() and spec["type"] in TYPES and spec.get("description")


@pytest.mark.parametrize("name", EXECUTABLE)
def test_single_python_block_and_other_fences_untagged_python(name, skill_source):
    text = (SKILLS_DIR / f"{name}.md").read_text(encoding="utf-8")
    tags = [t.strip() for t in FENCE.findall(text)]
    openers = tags[0::2]  # fences alternate opener / closer
    assert all(closer == "" for closer in tags[1::2])
    assert openers.count("python") == 1
    assert not any(t in ("py", "python3", "ipython") for t in openers)
    source = skill_source(name)
    assert text.rstrip().endswith("```"), "code block should close the file"
    tree = ast.parse(source)
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "execute" in funcs and [a.arg for a in funcs["execute"].args.args] == ["inputs"]


@pytest.mark.parametrize("name", EXECUTABLE)
def test_requires_matches_imports(name, skill_source, skill_frontmatter):
    tree = ast.parse(skill_source(name))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split(".")[0])
    # The host package is always importable (export-results writes through its safe_write).
    third_party = {m for m in modules
                   if m not in sys.stdlib_module_names and m != "llmos_jupyter"}
    assert third_party <= set(DISTRIBUTIONS), f"unknown third-party imports {third_party}"
    assert {DISTRIBUTIONS[m] for m in third_party} == set(
        skill_frontmatter(name).get("requires") or []
    )


@pytest.mark.parametrize("name", EXECUTABLE)
def test_outputs_declared_match_returned_keys(name, skill_source, skill_frontmatter):
    """Every key literal in the returned dict of execute is a declared output and vice versa."""
    tree = ast.parse(skill_source(name))
    execute = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "execute")
    returned = set()
    for node in ast.walk(execute):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            returned.update(k.value for k in node.value.keys if isinstance(k, ast.Constant))
    declared = {s["name"] for s in skill_frontmatter(name)["outputs"]}
    assert returned == declared


@pytest.mark.parametrize("name", EXECUTABLE)
def test_prose_documents_sources_and_limits(name):
    text = (SKILLS_DIR / f"{name}.md").read_text(encoding="utf-8")
    assert "## Limits" in text
    assert re.search(r"## (Method and sources|Formats)", text)


@pytest.mark.parametrize("name", INSTRUCTION_ONLY)
def test_instruction_only_skill(name, skill_frontmatter, skill_source):
    fm = skill_frontmatter(name)
    assert fm["skill_id"] == name and fm["category"] == "coding"
    assert fm["name"] and fm["description"]
    with pytest.raises(AssertionError):
        skill_source(name)  # no python block
    text = (SKILLS_DIR / f"{name}.md").read_text(encoding="utf-8")
    assert "```python" not in text


def test_agent_skills_folder():
    path = SKILLS_DIR / "skill-authoring" / "SKILL.md"
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match
    fm = yaml.safe_load(match.group(1))
    assert set(fm) == {"name", "description"}
    assert fm["name"] == path.parent.name == "skill-authoring"
    assert 0 < len(fm["description"]) <= 1024
    assert "```python" not in text
    assert "execute" in text and "frontmatter" in text.lower()
