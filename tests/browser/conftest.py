"""A real JupyterLab server and a headless Debian Chromium for the canvas' browser tests.

Skipped (with the reason shown) when /usr/bin/chromium, the playwright driver, JupyterLab,
anywidget or the built front-end (llmos_jupyter/static/canvas.js) is missing. Recipe:
/work/shared/browser-testing.md — never `playwright install`; Debian's chromium is used.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LLMOS_CHROMIUM", "/usr/bin/chromium"))
CANVAS_JS = REPO / "llmos_jupyter" / "static" / "canvas.js"
LABEXTENSION = REPO / "llmos_jupyter" / "labextension"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TOKEN = "llmos-canvas-test"
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} missing (apt-get install -y chromium)"
    for module, hint in (("playwright", "pip install playwright"),
                         ("jupyterlab", "pip install jupyterlab"),
                         ("anywidget", "pip install 'llmos-jupyter[widget]'")):
        if importlib.util.find_spec(module) is None:
            return f"{module} not installed ({hint})"
    if not CANVAS_JS.is_file():
        return f"{CANVAS_JS} not built (cd labextension && npm ci && npm run build)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """``(base_url, token)`` of a JupyterLab server with isolated config/data/runtime dirs
    and its own LLMOS_HOME; stopped (its process group) at the end of the session."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("jupyter")
    root = tmp / "root"
    root.mkdir()
    # The prebuilt JupyterLab extension of this checkout, as `pip install` would place it.
    if LABEXTENSION.joinpath("package.json").is_file():
        (tmp / "jdata" / "labextensions").mkdir(parents=True)
        (tmp / "jdata" / "labextensions" / "llmos-jupyter").symlink_to(LABEXTENSION)
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp / "jcfg"), JUPYTER_DATA_DIR=str(tmp / "jdata"),
               JUPYTER_RUNTIME_DIR=str(tmp / "jrt"), LLMOS_HOME=str(tmp / "llmos-home"),
               IPYTHONDIR=str(tmp / "ipython"), MPLBACKEND="Agg", PYTHONUNBUFFERED="1",
               # The server's kernels import this checkout's llmos_jupyter.
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    port = _free_port()
    log = open(tmp / "server.log", "wb")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
           "--ip", "127.0.0.1", f"--port={port}", f"--ServerApp.token={TOKEN}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.disable_check_xsrf=True"]
    if os.geteuid() != 0:
        cmd.remove("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=root)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (tmp / "server.log").read_text(errors="replace")[-3000:])
                time.sleep(0.3)
        _PATHS.update(root=root, llmos_home=tmp / "llmos-home", log=tmp / "server.log")
        yield base, TOKEN
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


_PATHS: dict[str, Path] = {}


@pytest.fixture(scope="session")
def jupyter_paths(jupyter_server) -> dict[str, Path]:
    """The server's ``root`` (its root_dir), ``llmos_home`` (its LLMOS_HOME) and ``log``."""
    return dict(_PATHS)


@pytest.fixture(scope="session")
def browser(jupyter_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    gitignore = ARTIFACTS / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n")
    return ARTIFACTS


def chromium_available() -> bool:  # used by benchmarks/canvas.py
    return _missing() is None and shutil.which(str(CHROMIUM)) is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report carries the tail of the JupyterLab server's log (the
    kernels' tracebacks land there), so a CI failure can be read without the machine."""
    report = yield
    if report.when == "call" and report.failed and _PATHS.get("log"):
        text = Path(_PATHS["log"]).read_text(errors="replace")
        report.sections.append(("JupyterLab server log (tail)", text[-6000:]))
    return report
