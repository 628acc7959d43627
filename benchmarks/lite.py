"""The JupyterLite site: build time, site size, page load → kernel idle, first workflow run.

A benchmark, not a test: it prints figures. Needs the `lite` extra, npm, /usr/bin/chromium
and the Python playwright driver (never ``playwright install``). From the repo root::

    PYTHONPATH=. python benchmarks/lite.py            # offline build, ~1–2 min
    PYTHONPATH=. python benchmarks/lite.py --site _site   # reuse a built offline site

Method: ``build_site(offline=True)`` with and without source maps (warm download cache;
the figure includes building our wheel); the site's size, and the share of it that is
our JupyterLab extension (``extensions/llmos-jupyter``, i.e. the site without it would be
that much smaller); the site served on 127.0.0.1; a fresh Chromium profile opens
``lite-quickstart.ipynb``; page load → kernel idle; then each cell through
``notebook:run-cell`` (the first ``%pip install`` and the first ``run()`` of rc-stats timed
on their own). A second fresh profile opens ``/lab/`` and shows the skill library: page
load → skills listed (the library kernel starts and installs llmos-jupyter from piplite).
For comparison the same first ``run()`` (with its trace) in a fresh local Python process,
after ``import llmos_jupyter`` as in the notebook.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _browser(site: Path) -> dict[str, float]:
    import functools
    import http.server
    import importlib.util
    import threading

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO / "tests"))  # the tests' Chromium settings (lite_chromium)
    spec = importlib.util.spec_from_file_location("lite_test", REPO / "tests/lite/test_lite_site.py")
    t = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(t)  # type: ignore[union-attr]
    ARGS, CHROMIUM, RUN_CELL, WAIT_IDLE = t.ARGS, t.CHROMIUM, t.RUN_CELL, t.WAIT_IDLE

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    out: dict[str, float] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context().new_page()
            t0 = time.perf_counter()
            page.goto(f"{url}/notebooks/index.html?path=lite-quickstart.ipynb")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell"
                                   ".currentWidget && window.jupyterapp.shell.currentWidget"
                                   ".sessionContext", timeout=60_000)
            page.evaluate(WAIT_IDLE)
            out["page load -> kernel idle (s)"] = time.perf_counter() - t0
            t = time.perf_counter()
            page.evaluate(RUN_CELL, 1)
            out["%pip install llmos-jupyter anywidget + import (s)"] = time.perf_counter() - t
            t = time.perf_counter()
            page.evaluate(RUN_CELL, 3)
            out["first run() rc-stats in Pyodide, with trace (s)"] = time.perf_counter() - t
            page = browser.new_context().new_page()
            t0 = time.perf_counter()
            page.goto(f"{url}/lab/index.html")
            page.wait_for_function("() => window.jupyterapp?.commands.hasCommand("
                                   "'llmos:open-skill-library')", timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('llmos:open-skill-library')")
            page.wait_for_selector("#llmos-skills [data-skill-id]", timeout=180_000)
            out["/lab/ page load -> skill library listed, fresh profile (s)"] = (
                time.perf_counter() - t0)
            browser.close()
    finally:
        server.shutdown()
    return out


def _local_first_run() -> float:
    code = ("import time; from llmos_jupyter import Workflow, run; t=time.perf_counter(); "
            f"run(Workflow.load({str(REPO / 'jupyterlite/files/rc-stats.workflow.json')!r})); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as home:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={"LLMOS_HOME": home, "PYTHONPATH": str(REPO),
                                              "PATH": "/usr/bin:/bin"})
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, help="a built offline site (skip the builds)")
    args = ap.parse_args()
    from llmos_jupyter._lite.build import build_site

    rows: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        site = args.site
        if site is None:
            b = build_site(Path(tmp) / "maps", offline=True, sourcemaps=True)
            rows["offline build with source maps (s)"] = f"{b.seconds:.1f}"
            rows["site size with source maps (MB)"] = f"{_size(b.output):.1f}"
            b = build_site(Path(tmp) / "site", offline=True)
            rows["offline build --no-sourcemaps (s)"] = f"{b.seconds:.1f}"
            site = b.output
        rows["site size without source maps (MB)"] = f"{_size(site):.1f}"
        rows["  of which our JupyterLab extension (MB)"] = (
            f"{_size(site / 'extensions/llmos-jupyter'):.2f}")
        rows["  of which all federated extensions (MB)"] = f"{_size(site / 'extensions'):.2f}"
        with ThreadPoolExecutor(1) as pool:
            for k, v in pool.submit(_browser, site).result().items():
                rows[k] = f"{v:.2f}"
    rows["first run() rc-stats, local Python process, with trace (s)"] = f"{_local_first_run():.3f}"
    width = max(map(len, rows))
    for k, v in rows.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
