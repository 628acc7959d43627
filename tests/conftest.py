"""Shared fixtures: every test gets its own LLMOS_HOME, so no test sees ~/.llmos."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_skills import ADD, COUNT, FAIL

import llmos_jupyter._api as api
from llmos_jupyter import SkillLibrary, parse_skill

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def llmos_home(tmp_path, monkeypatch):
    home = tmp_path / "llmos-home"
    monkeypatch.setenv("LLMOS_HOME", str(home))
    monkeypatch.setattr(api, "_library", None)
    monkeypatch.setattr(api, "_engines", {})
    return home


@pytest.fixture
def toy_library(llmos_home):
    """An in-memory library: add (a+b), fail (always raises), count (records calls)."""
    return SkillLibrary(volumes=[], skills=[parse_skill(ADD), parse_skill(FAIL), parse_skill(COUNT)])


@pytest.fixture
def ip():
    """IPython's test shell; variables a test defines are removed afterwards."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
