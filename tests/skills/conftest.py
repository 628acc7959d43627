"""Shared loader for the skill tests.

Until the core engine (``llmos_jupyter``) is wired in, a skill is loaded the
simple way: read ``skills/<name>.md``, take its single fenced block tagged
``python``, exec it into a fresh namespace and hand back ``execute``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"

# A fenced block opened by ```python (only that tag) and closed by ``` on its own line.
_PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def load_skill_source(name: str) -> str:
    """Return the code of the only ```python block of ``skills/<name>.md``."""
    text = (SKILLS_DIR / f"{name}.md").read_text(encoding="utf-8")
    blocks = _PYTHON_BLOCK.findall(text)
    if len(blocks) != 1:
        raise AssertionError(
            f"skills/{name}.md: expected exactly one ```python block, found {len(blocks)}"
        )
    return blocks[0]


def load_skill_frontmatter(name: str) -> dict:
    """Parse the YAML frontmatter (between the leading ``---`` lines)."""
    text = (SKILLS_DIR / f"{name}.md").read_text(encoding="utf-8")
    match = re.match(r"^---[ \t]*\n(.*?)^---[ \t]*$", text, re.DOTALL | re.MULTILINE)
    if match is None:
        raise AssertionError(f"skills/{name}.md has no YAML frontmatter")
    return yaml.safe_load(match.group(1))


def load_skill_execute(name: str):
    """Compile the skill's code block once and return its ``execute`` function."""
    namespace: dict = {"__name__": f"skill_{name.replace('-', '_')}"}
    exec(compile(load_skill_source(name), f"skills/{name}.md", "exec"), namespace)
    execute = namespace.get("execute")
    if not callable(execute):
        raise AssertionError(f"skills/{name}.md does not define execute(inputs)")
    return execute


def with_defaults(name: str, execute):
    """Wrap ``execute`` so missing inputs get their frontmatter defaults, as the engine does."""
    defaults = {
        spec["name"]: spec["default"]
        for spec in load_skill_frontmatter(name).get("inputs") or []
        if "default" in spec
    }

    def run(inputs: dict | None = None) -> dict:
        return execute({**defaults, **(inputs or {})})

    run.raw = execute
    return run


@pytest.fixture(scope="session")
def skill_execute():
    """Factory fixture: ``skill_execute("quantum-vqe")`` -> the skill's ``execute``.

    The returned callable merges the frontmatter defaults into the inputs before
    calling the skill (the core engine does the same); ``.raw`` is the bare function.
    """
    cache: dict = {}

    def _get(name: str):
        if name not in cache:
            cache[name] = with_defaults(name, load_skill_execute(name))
        return cache[name]

    return _get


@pytest.fixture(scope="session")
def skills_dir() -> Path:
    return SKILLS_DIR


@pytest.fixture(scope="session")
def skill_frontmatter():
    """Factory fixture: ``skill_frontmatter("quantum-vqe")`` -> the parsed YAML frontmatter."""
    return load_skill_frontmatter


@pytest.fixture(scope="session")
def skill_source():
    """Factory fixture: ``skill_source("quantum-vqe")`` -> the code of its ```python block."""
    return load_skill_source
