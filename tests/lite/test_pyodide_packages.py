"""A skill's ``requires`` loaded from the page's Pyodide distribution (the online site).

The Pyodide boundary is stubbed: ``pyodide_js`` (its lock and ``loadPackage``, which here
writes the package onto ``sys.path`` as Pyodide would unpack its wheel) and
``pyodide.ffi`` (``can_run_sync`` / ``run_sync``). Everything else is the real engine.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from toy_skills import skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._engine import requirements
from llmos_jupyter._exceptions import RequirementMissing

PKG = "llmos-fake-sci"  # a distribution that exists nowhere but in the stub lock
MODULE = "llmos_fake_sci"


class Pyodide:
    """The stand-ins, with what was asked of them."""

    def __init__(self, mp: pytest.MonkeyPatch, site: Path, lock: list[str],
                 can_wait: bool = True, load_works: bool = True) -> None:
        self.loaded: list[str] = []
        self.awaited: list[object] = []
        mp.setattr(sys, "platform", "emscripten")
        mp.syspath_prepend(str(site))

        def load_package(key: str) -> object:
            self.loaded.append(key)
            if load_works:
                (site / key.replace("-", "_")).mkdir(exist_ok=True)
                (site / key.replace("-", "_") / "__init__.py").write_text("VALUE = 42\n")
            return ("promise", key)

        def run_sync(promise: object) -> None:
            self.awaited.append(promise)

        lockfile = types.SimpleNamespace(to_py=lambda: {n: {} for n in lock})
        mp.setitem(sys.modules, "pyodide_js", types.SimpleNamespace(
            _api=types.SimpleNamespace(lockfile_packages=lockfile), loadPackage=load_package))
        ffi = types.ModuleType("pyodide.ffi")
        ffi.can_run_sync = lambda: can_wait  # type: ignore[attr-defined]
        ffi.run_sync = run_sync  # type: ignore[attr-defined]
        pyodide = types.ModuleType("pyodide")
        pyodide.ffi = ffi  # type: ignore[attr-defined]
        mp.setitem(sys.modules, "pyodide", pyodide)
        mp.setitem(sys.modules, "pyodide.ffi", ffi)
        requirements._available.cache_clear()

    def set_pypi_disabled(self, mp: pytest.MonkeyPatch, disabled: bool) -> None:
        mp.setitem(sys.modules, "piplite.piplite",
                   types.SimpleNamespace(_PIPLITE_DISABLE_PYPI=disabled))


@pytest.fixture
def pyodide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    yield lambda **kw: Pyodide(monkeypatch, tmp_path / "site-packages", **kw)
    sys.modules.pop(MODULE, None)  # imported by a skill from the stub's site-packages
    requirements._available.cache_clear()


@pytest.fixture(autouse=True)
def _site_dir(tmp_path: Path) -> None:
    (tmp_path / "site-packages").mkdir()


def test_a_required_package_of_the_distribution_is_loaded_before_the_skill_runs(
        pyodide, tmp_path: Path) -> None:
    stubs = pyodide(lock=["micropip", PKG])
    (tmp_path / "skills").mkdir()
    (tmp_path / "skills" / "sci.md").write_text(skill_md(
        "sci", f"import {MODULE}\n\ndef execute(inputs):\n    return {{'v': {MODULE}.VALUE}}",
        outputs="[{name: v, type: integer}]", extra=f"requires: [{PKG}>=1]\n"))
    engine = Engine(SkillLibrary(volumes=[("user", tmp_path / "skills")]), trace=False)
    wf = Workflow.from_dict({"id": "w", "name": "w", "nodes": [{"id": "n", "data": {"skill": "sci"}}],
                             "edges": []})
    result = engine.run(wf)
    assert result.status == "completed", result.nodes["n"].error
    assert result.nodes["n"].outputs == {"v": 42}
    assert stubs.loaded == [PKG] and stubs.awaited == [("promise", PKG)]


def test_without_stack_switching_the_message_says_to_import_it_in_a_cell(pyodide) -> None:
    stubs = pyodide(lock=[PKG], can_wait=False)
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("sci", (PKG,))
    assert stubs.loaded == []
    assert f"run `import {MODULE}` or %pip install {PKG} in a cell first" in str(exc.value)


def test_a_load_that_leaves_the_package_missing_is_reported(pyodide) -> None:
    stubs = pyodide(lock=[PKG], load_works=False)
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("sci", (PKG,))
    assert stubs.loaded == [PKG]
    assert "still not importable after loadPackage" in str(exc.value)


def test_offline_and_online_sites_word_a_package_outside_the_distribution(
        pyodide, monkeypatch: pytest.MonkeyPatch) -> None:
    stubs = pyodide(lock=["micropip"])
    stubs.set_pypi_disabled(monkeypatch, True)  # the offline site
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("sci", (PKG,))
    assert f"{PKG} is not available in this offline site" in str(exc.value)
    stubs.set_pypi_disabled(monkeypatch, False)  # online: piplite may ask PyPI
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("sci", (PKG,))
    assert "offline" not in str(exc.value) and f"%pip install {PKG}" in str(exc.value)
    assert stubs.loaded == []


def test_a_local_kernel_never_touches_pyodide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyodide_js", None)  # importing it would fail
    requirements._available.cache_clear()
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("sci", (PKG,))
    assert exc.value.hint == f"pip install {PKG}"
