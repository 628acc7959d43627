"""The lite build's configuration and the Pyodide-specific paths of the core (no browser)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from llmos_jupyter._engine import requirements
from llmos_jupyter._exceptions import RequirementMissing
from llmos_jupyter._lite.build import site_config

KERNEL = "@jupyterlite/pyodide-kernel-extension:kernel"


def test_offline_config_disables_the_pypi_fallback_and_online_does_not() -> None:
    offline = site_config(offline=True)["jupyter-config-data"]
    online = site_config(offline=False)["jupyter-config-data"]
    assert offline["litePluginSettings"][KERNEL]["disablePyPIFallback"] is True
    assert "disablePyPIFallback" not in online["litePluginSettings"][KERNEL]
    for cfg in (offline, online):
        assert cfg["exposeAppInBrowser"] == "true"  # a string: JupyterLite reads it so
        assert "pyodideUrl" not in cfg["litePluginSettings"][KERNEL]  # online: the CDN


@pytest.fixture
def browser_kernel(monkeypatch: pytest.MonkeyPatch):
    """Pretend to be Pyodide with a lock of the given package names."""

    def make(lock: list[str]) -> None:
        monkeypatch.setattr(sys, "platform", "emscripten")
        packages = types.SimpleNamespace(to_py=lambda: {n: {} for n in lock})
        fake = types.SimpleNamespace(_api=types.SimpleNamespace(lockfile_packages=packages))
        monkeypatch.setitem(sys.modules, "pyodide_js", fake)
        requirements._available.cache_clear()

    yield make
    requirements._available.cache_clear()


def test_offline_site_names_the_missing_package(browser_kernel) -> None:
    browser_kernel(["micropip", "ipython"])
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("quantum-hamiltonian", ("no-such-package-xyz>=1",))
    assert "no-such-package-xyz is not available in this offline site" in str(exc.value)


def test_online_site_suggests_pip_install(browser_kernel) -> None:
    browser_kernel(["no-such-package-xyz"])
    with pytest.raises(RequirementMissing) as exc:
        requirements.check_requires("s", ("no_such.package-xyz",))
    assert "%pip install no_such.package-xyz" in str(exc.value)


def test_llmos_home_is_under_the_jupyterlite_drive(monkeypatch, tmp_path: Path) -> None:
    from llmos_jupyter import _paths

    monkeypatch.delenv("LLMOS_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(_paths, "LITE_DRIVE", str(tmp_path))
    assert _paths.llmos_home() == tmp_path / "llmos"
    assert _paths.traces_dir() == tmp_path / "llmos" / "user" / "traces"


def test_engine_start_finishes_in_the_callers_thread_in_pyodide(monkeypatch) -> None:
    from llmos_jupyter import Engine, SkillLibrary, Workflow

    monkeypatch.setattr(sys, "platform", "emscripten")
    engine = Engine(SkillLibrary(), trace=False)
    assert engine.max_workers == 1
    wf = Workflow.load(Path(__file__).parents[2] / "jupyterlite/files/rc-stats.workflow.json")
    handle = engine.start(wf)
    assert handle.done()
    assert handle.result().status == "completed"


def test_site_notebooks_use_the_pyodide_kernelspec() -> None:
    files = Path(__file__).parents[2] / "jupyterlite" / "files"
    for nb in files.glob("*.ipynb"):
        assert json.loads(nb.read_text())["metadata"]["kernelspec"]["name"] == "python", nb


def test_only_the_wheels_extensions_go_into_the_site(tmp_path: Path) -> None:
    """The environment's labextensions are ignored; the listed wheels/folders are used."""
    from llmos_jupyter._lite.build import lite_build_config

    cfg = lite_build_config([tmp_path / "a.whl", tmp_path / "ext"])["LiteBuildConfig"]
    assert cfg["ignore_sys_prefix"] == ["federated_extensions"]  # not the Pyodide addons
    assert cfg["federated_extensions"] == [str(tmp_path / "a.whl"), str(tmp_path / "ext")]


def test_wheel_extensions_finds_prebuilt_labextensions(tmp_path: Path) -> None:
    import zipfile

    from llmos_jupyter._lite.build import _wheel_extensions

    base = "x-1.data/data/share/jupyter/labextensions"
    built = {"name": "@o/x", "jupyterlab": {"_build": {"load": "static/remoteEntry.1.js"}}}
    with zipfile.ZipFile(tmp_path / "x-1-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{base}/@o/x/package.json", json.dumps(built))
        zf.writestr(f"{base}/src-only/package.json", json.dumps({"name": "src-only"}))
    assert _wheel_extensions(tmp_path / "x-1-py3-none-any.whl") == ["@o/x"]
    with zipfile.ZipFile(tmp_path / "y-1-py3-none-any.whl", "w") as zf:
        zf.writestr("y/__init__.py", "")
    assert _wheel_extensions(tmp_path / "y-1-py3-none-any.whl") == []
