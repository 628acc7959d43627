"""The offline JupyterLite site in headless Chromium: the quickstart runs in Pyodide.

The site is built once per session with ``llmos lite build --offline`` (or taken from
``$LLMOS_LITE_SITE`` when CI built it already), served on 127.0.0.1, and driven with
Playwright through ``window.jupyterapp``. Every request the page makes is recorded; none
may leave 127.0.0.1.
"""

from __future__ import annotations

import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lite_chromium import ARGS, CHROMIUM, needs_browser, outside, sync_playwright


def test_offline_site_config(lite_site: Path) -> None:
    cfg = json.loads((lite_site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = cfg["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
    assert "pyodide/pyodide.mjs" in kernel["pyodideUrl"]
    lock = json.loads((lite_site / "static/pyodide/pyodide-lock.json").read_text())
    for entry in lock["packages"].values():  # every kept lock entry has its file
        assert (lite_site / "static/pyodide" / entry["file_name"]).is_file()
    wheels = {p.name.split("-")[0].lower() for p in (lite_site / "pypi").glob("*.whl")}
    assert {"llmos_jupyter", "pyyaml", "jsonschema", "nbformat", "anywidget"} <= wheels
    assert (lite_site / "files/skills/data-analysis.md").is_file()
    # The federated extensions: exactly ours, the widgets' and the kernel's (nothing else
    # that happens to be installed on the building machine), each widget's JS at the
    # version of the wheel piplite serves.
    exts = {e["name"]: e for e in cfg["federated_extensions"]}
    assert set(exts) == {"llmos-jupyter", "anywidget", "@jupyter-widgets/jupyterlab-manager",
                         "@jupyterlite/pyodide-kernel-extension"}, set(exts)
    for name, wheel in (("anywidget", "anywidget"),
                        ("@jupyter-widgets/jupyterlab-manager", "jupyterlab_widgets"),
                        ("llmos-jupyter", "llmos_jupyter")):
        load = f"share/jupyter/labextensions/{name}/{exts[name]['load'].removeprefix('./')}"
        with zipfile.ZipFile(next((lite_site / "pypi").glob(f"{wheel}-*.whl"))) as zf:
            assert any(n.endswith(load) for n in zf.namelist()), (name, load)
        assert (lite_site / "extensions" / name / exts[name]["load"]).is_file()
    # The extension's library kernel is the site's Pyodide kernel.
    assert cfg["settingsOverrides"]["llmos-jupyter:plugin"]["kernel"] == "python"
    nb = json.loads((lite_site / "files/notebooks/01-quickstart.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python"


def test_online_build_loads_pyodide_from_its_cdn(tmp_path: Path) -> None:
    """The default build: no local Pyodide, the kernel's CDN default, PyPI fallback on."""
    pytest.importorskip("jupyterlite_core", reason="jupyterlite-core not installed (extra: lite)")
    from llmos_jupyter._lite.build import build_site

    site = build_site(tmp_path / "site", offline=False).output
    assert not (site / "static/pyodide").exists()
    cfg = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = cfg.get("litePluginSettings", {}).get(
        "@jupyterlite/pyodide-kernel-extension:kernel", {})
    assert "pyodideUrl" not in kernel and not kernel.get("disablePyPIFallback")
    ext = site / "extensions/@jupyterlite/pyodide-kernel-extension"
    assert any("cdn.jsdelivr.net/pyodide/" in f.read_text(errors="ignore")
               for f in ext.rglob("*.js")), "the kernel's default pyodideUrl is its CDN"
    assert list((site / "pypi").glob("llmos_jupyter-*.whl"))
    assert (site / "files/lite-quickstart.ipynb").is_file()
    # The same JupyterLab extension and library-kernel setting as the offline site.
    assert {e["name"] for e in cfg["federated_extensions"]} >= {"llmos-jupyter", "anywidget"}
    assert cfg["settingsOverrides"]["llmos-jupyter:plugin"]["kernel"] == "python"


WAIT_IDLE = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const k = panel.sessionContext.session.kernel;
  for (let i = 0; i < 1200 && k.status !== 'idle'; i++) await new Promise(r => setTimeout(r, 100));
  return k.status;
}"""

RUN_CELL = """async (index) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = index;
  const cell = nb.activeCell;
  await app.commands.execute('notebook:run-cell');
  return {type: cell.model.type, outputs: cell.model.type === 'code' ? cell.model.outputs.toJSON() : []};
}"""


def _text(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        if o["output_type"] == "stream":
            parts.append("".join(o["text"]) if isinstance(o["text"], list) else o["text"])
        elif o["output_type"] == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
        elif "data" in o:
            parts.append(str(o["data"].get("text/plain", "")))
    return "".join(parts)


def _drive(site_url: str) -> tuple[list[str], list[str], list[str], float, float]:
    """Open the quickstart, run every cell; (requests, cell texts, traces, idle s, run s)."""
    requests: list[str] = []
    console: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            t0 = time.perf_counter()
            page.goto(f"{site_url}/notebooks/index.html?path=lite-quickstart.ipynb")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext",
                                   timeout=60_000)
            assert page.evaluate(WAIT_IDLE) == "idle", console[-20:]
            idle_s = time.perf_counter() - t0
            n = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
            texts = []
            for i in range(n):
                res = page.evaluate(RUN_CELL, i)
                if res["type"] == "code":
                    texts.append(_text(res["outputs"]))
                    assert "Error" not in texts[-1] or "requires numpy" in texts[-1], texts[-1]
            run_s = time.perf_counter() - t0 - idle_s
            # The canvas rendered and its nodes finished (statuses pushed from the kernel).
            for node in ("rc", "stats"):
                page.locator(f'[data-node-id="{node}"][data-status="completed"]').wait_for(
                    timeout=30_000)
            trace = page.evaluate("""async () => {
              const c = window.jupyterapp.serviceManager.contents;
              const d = await c.get('llmos/user/traces', {content: true});
              return d.content.map(x => x.path);
            }""")
        finally:
            browser.close()
    return requests, texts, trace, idle_s, run_s


@needs_browser
def test_quickstart_runs_offline_in_pyodide(site_url: str) -> None:
    # Its own thread: the JupyterLab browser tests keep a sync Playwright (and its event
    # loop) open for the whole session, and a second one cannot start in that thread.
    with ThreadPoolExecutor(1) as pool:
        requests, texts, trace, idle_s, run_s = pool.submit(_drive, site_url).result()
    out = "\n".join(texts)
    print(f"\nkernel idle after {idle_s:.1f} s; notebook ran in {run_s:.1f} s\n{out}")
    assert "on emscripten" in out
    assert "rc: completed" in out and "stats: completed" in out
    assert "mean capacitor voltage: 4.003689 V over 501 samples" in out
    assert "llmos/user/traces/" in out and " True" in out
    # Two trace notebooks (the cells' run and the canvas' run); large outputs sit in a
    # `<trace>.outputs` folder beside their notebook.
    notebooks = [t for t in trace if t.endswith(".ipynb")]
    assert len(notebooks) == 2, trace
    assert all(t.endswith(".ipynb") or t[:-len(".outputs")] + ".ipynb" in notebooks
               for t in trace), trace
    assert "numpy is not available in this offline site" in out
    assert "completed: 2 ran, 0 cached, 0 failed" in out  # the canvas' run
    assert not outside(requests), outside(requests)
