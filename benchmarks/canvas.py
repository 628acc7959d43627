"""The canvas in headless Chromium: pan, node-drag, zoom and select frame times at 1,000 /
5,000 nodes, kernel → DOM status latency, JS heap. A benchmark, not a test: it prints figures.

Needs what the browser tests need: /usr/bin/chromium (apt-get install -y chromium),
``pip install playwright jupyterlab anywidget`` (never ``playwright install``) and the
built front-end (``cd labextension && npm ci && npm run build``). From the repo root::

    PYTHONPATH=. python benchmarks/canvas.py              # 1k and 5k nodes (~1–2 min)
    PYTHONPATH=. python benchmarks/canvas.py --sizes 1000 --latency-samples 20

Method: a JupyterLab server on a free port (isolated JUPYTER_* dirs and LLMOS_HOME), a
notebook whose kernel displays ``Canvas`` of a generated layered DAG (N nodes, ~1.5 N
edges, in-memory no-op skills). Pan: the mouse drags the pane for 2 s while the page
counts ``requestAnimationFrame`` callbacks (frames/s and the 95th-percentile frame
time). Latency: the kernel sets one node's status and prints ``time.time()``; a
MutationObserver in the page records when that node's ``data-status`` changes; the
median of the differences (same machine, same clock). Heap: ``performance.memory``.

Three views per size, each interaction starting from the same view (the view is put back
before every step, so a wheel zoom never leaves the next step with no node in view):
*initial* (zoom 1 at the top left, as a large graph opens), *fit* (the Fit button: never
below the readable zoom 0.9, so a large graph is centred, not shrunk), *overview* (the
whole graph, ``{"command": "fit", "all": true}``: below zoom 0.45 the canvas draws boxes
on one ``<canvas>``, level of detail, and React Flow gets no DOM nodes).

Interactions, each for 2 s while frames are counted (frames/s, p50
and p95 of the gaps between ``requestAnimationFrame`` callbacks): *drag* moves one node
back and forth by its header; *zoom* sends mouse-wheel steps over the pane, in and out;
*select* clicks a different node every ~100 ms (React Flow's selection and the side panel
with that node's parameter editor), and *select ms* is the median time from the click to
the side panel showing the node (measured from Python, so it includes Playwright's
round trip of ≈ 1–3 ms).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
TOKEN = "llmos-canvas-bench"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--enable-precise-memory-info", "--js-flags=--expose-gc"]

HEAP = "() => { window.gc?.(); return performance.memory.usedJSHeapSize / 2 ** 20; }"

SETUP = r'''
import random, time
from llmos_jupyter import SkillLibrary, Workflow, parse_skill
from llmos_jupyter._widget.canvas import Canvas
NODE = """---
skill_id: bench-node
name: Bench node
category: bench
inputs: [{name: in0, type: any, required: false}, {name: in1, type: any, required: false}]
outputs: [{name: out, type: any}]
---

# Bench node

```python
def execute(inputs):
    return {"out": None}
```
"""
def make(n, seed=20261121):
    rnd = random.Random(seed)
    width = max(1, round(n ** 0.5))
    wf = Workflow(id=f"bench-{n}")
    for i in range(n):
        layer, row = divmod(i, width)
        wf.add_node("bench-node", id=f"n{i}", position={"x": layer * 320, "y": row * 140})
    for i in range(width, n):
        layer = i // width
        parents = rnd.sample(range((layer - 1) * width, layer * width), 2)
        wf.connect(f"n{parents[0]}", "out", f"n{i}", "in0")
        if rnd.random() < 0.5:
            wf.connect(f"n{parents[1]}", "out", f"n{i}", "in1")
    return wf
lib = SkillLibrary(volumes=[], skills=[parse_skill(NODE)])
'''

RUN_CELL = """async (code) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  const cell = nb.activeCell;
  cell.model.sharedModel.setSource(code);
  await app.commands.execute('notebook:run-cell-and-insert-below');
  for (let i = 0; i < 1200 && cell.model.executionCount === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return cell.model.outputs.toJSON();
}"""

# Starts counting and returns at once (a returned promise would make Playwright wait for
# it, so the input would only start after the counting window); the frame times land in
# window.__frames when the window is over.
COUNT_FRAMES = """(ms) => {
  window.__frames = null;
  const times = []; const t0 = performance.now();
  const tick = (t) => { times.push(t); if (t - t0 < ms) requestAnimationFrame(tick);
    else window.__frames = times; };
  requestAnimationFrame(tick);
}"""


def _text(outputs):
    out = []
    for o in outputs:
        if o.get("output_type") == "stream":
            out.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif o.get("output_type") == "error":
            raise RuntimeError(f"{o['ename']}: {o['evalue']}")
    return "".join(out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    root = tmp / "root"
    root.mkdir()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "jcfg"), JUPYTER_DATA_DIR=str(tmp / "jdata"),
               JUPYTER_RUNTIME_DIR=str(tmp / "jrt"), LLMOS_HOME=str(tmp / "home"),
               IPYTHONDIR=str(tmp / "ipython"), PYTHONPATH=str(REPO))
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1",
           f"--port={port}", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            return proc, base
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("JupyterLab did not start")


def frame_stats(times: list[float]) -> tuple[float, float, float]:
    """(frames/s, p50 ms, p95 ms) of rAF callback times (ms)."""
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    if not gaps or times[-1] <= times[0]:
        return 0.0, float("nan"), float("nan")  # no frame drawn in the window
    fps = (len(times) - 1) / ((times[-1] - times[0]) / 1000)
    p95 = gaps[min(len(gaps) - 1, int(0.95 * len(gaps)))]
    return fps, statistics.median(gaps), p95


def frames_during(page, action, seconds: float = 2.0) -> tuple[float, float, float]:
    """Call ``action(i)`` repeatedly for ``seconds`` while the page counts frames."""
    page.evaluate(COUNT_FRAMES, seconds * 1000)
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < seconds:
        action(i)
        i += 1
    page.wait_for_function("() => window.__frames !== null", timeout=30_000)
    return frame_stats(page.evaluate("() => window.__frames"))


def _pane_center(page) -> tuple[float, float]:
    box = page.locator(".llmos-canvas .llmos-flow .react-flow__pane").last.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _back_and_forth(i: int, amplitude: float) -> float:
    return amplitude * ((i // 40) % 2 * 2 - 1) * ((i % 40) / 40)


def _press_and_sway(page, x: float, y: float, amplitude: float, y_share: float,
                    seconds: float) -> tuple[float, float, float]:
    """Press at (x, y), sway the pointer back and forth while frames are counted, release."""
    page.mouse.move(x, y)
    page.mouse.down()
    try:
        return frames_during(page, lambda i: page.mouse.move(
            x + _back_and_forth(i, amplitude), y + y_share * _back_and_forth(i, amplitude)),
            seconds)
    finally:
        page.mouse.up()


def pan(page, seconds: float = 2.0) -> tuple[float, float, float]:
    cx, cy = _pane_center(page)
    return _press_and_sway(page, cx, cy, 150, 0.3, seconds)


def _visible_nodes(page, count: int) -> list[str]:
    """Ids of up to ``count`` nodes whose header lies inside the pane, nearest the centre."""
    return page.evaluate("""(count) => {
        const pane = document.querySelector('.llmos-canvas .react-flow__pane').getBoundingClientRect();
        const cx = pane.x + pane.width / 2, cy = pane.y + pane.height / 2;
        return [...document.querySelectorAll('.llmos-canvas .react-flow__node')]
          .map((n) => [n.dataset.id, n.querySelector('.llmos-node__head').getBoundingClientRect()])
          .filter(([, r]) => r.left > pane.left + 10 && r.right < pane.right - 10
                             && r.top > pane.top + 10 && r.bottom < pane.bottom - 10)
          // ... and not hidden by the notebook's scrolling or JupyterLab's chrome.
          .filter(([id, r]) => document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)
                                 ?.closest('.react-flow__node')?.getAttribute('data-id') === id)
          .sort((a, b) => Math.hypot(a[1].x - cx, a[1].y - cy) - Math.hypot(b[1].x - cx, b[1].y - cy))
          .slice(0, count).map(([id]) => id); }""", count)


def _head_center(page, node_id: str) -> tuple[float, float]:
    box = page.locator(f'.llmos-canvas .react-flow__node[data-id="{node_id}"] .llmos-node__title').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag_node(page, seconds: float = 2.0) -> tuple[float, float, float]:
    nodes = _visible_nodes(page, 1)
    if not nodes:
        raise RuntimeError("drag: no node in view (restore the zoom before this step)")
    node = nodes[0]
    x, y = _head_center(page, node)
    return _press_and_sway(page, x, y, 120, 0.5, seconds)


def zoom(page, seconds: float = 2.0) -> tuple[float, float, float]:
    cx, cy = _pane_center(page)
    page.mouse.move(cx, cy)
    # 20 steps in, 20 out: the zoom stays within React Flow's limits and returns.
    return frames_during(page, lambda i: page.mouse.wheel(0, -60 if (i // 20) % 2 == 0 else 60),
                         seconds)


def select(page, seconds: float = 2.0) -> tuple[float, float, float, float]:
    """Frame stats while clicking nodes in turn, and the median click → side panel ms.
    Needs nodes in view (raises ``RuntimeError`` saying so, never divides by zero)."""
    nodes = _visible_nodes(page, 8)
    if not nodes:
        raise RuntimeError("select: no node in view (restore the zoom before this step)")
    centers = [_head_center(page, n) for n in nodes]
    waits: list[float] = []

    def click(i: int) -> None:
        node = nodes[i % len(nodes)]
        t0 = time.perf_counter()
        page.mouse.click(*centers[i % len(nodes)])
        page.wait_for_selector(f'[data-side-node="{node}"]', timeout=10_000)
        waits.append((time.perf_counter() - t0) * 1000)
        page.wait_for_timeout(60)

    fps, p50, p95 = frames_during(page, click, seconds)
    return fps, p50, p95, statistics.median(waits) if waits else float("nan")


def _rendered(page) -> int:
    """DOM nodes React Flow draws (0 in the level-of-detail view, which draws on a canvas)."""
    return page.locator(".llmos-canvas .react-flow__node").count()


def _zoom_level(page) -> float:
    return page.evaluate("""() => new DOMMatrix(getComputedStyle(
        document.querySelector('.llmos-canvas .react-flow__viewport')).transform).a""")


def measure_view(page, run, restore: str, steps: tuple[str, ...]) -> dict:
    """Each interaction of ``steps`` from the same view: ``restore`` (Python run in the
    kernel: a ``c.send(...)`` command) puts the view back before every step, so a zoom
    step never leaves the next one with nothing in view."""
    out: dict = {}
    for step in steps:
        run(restore)
        page.wait_for_timeout(600)
        out.setdefault("zoom_level", _zoom_level(page))
        out.setdefault("rendered", _rendered(page))
        if step == "pan":
            out["pan"] = pan(page)
        elif step == "drag":
            out["drag"] = drag_node(page)
        elif step == "zoom":
            out["zoom"] = zoom(page)
        elif step == "select":
            *out["select"], out["select_ms"] = select(page)
    return out


INITIAL = "c.send({'command': 'viewport', 'x': 40, 'y': 40, 'zoom': 1})"
FIT = "c.send({'command': 'fit', 'duration': 0})"  # Fit: never below the readable zoom (0.9)
OVERVIEW = "c.send({'command': 'fit', 'all': True})"  # the whole graph: level of detail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--latency-samples", type=int, default=30)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        proc, base = start_server(Path(d))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1100})
                page.goto(f"{base}/lab?reset&token={TOKEN}")
                page.wait_for_selector(".jp-LauncherCard", timeout=60_000)
                page.evaluate("""async () => {
                    const nb = await window.jupyterapp.commands.execute('notebook:create-new',
                        {kernelName: 'python3'});
                    await nb.sessionContext.ready; }""")
                run = lambda code: _text(page.evaluate(RUN_CELL, code))
                run(SETUP)
                base_heap = page.evaluate(HEAP)
                rows = []
                for n in [int(s) for s in args.sizes.split(",")]:
                    t0 = time.perf_counter()
                    run(f"wf = make({n}); c = Canvas(wf, library=lib, height=700); "
                        "print(len(wf.nodes), len(wf.edges)); c")
                    page.wait_for_selector('.llmos-canvas [data-node-id="n0"]', timeout=120_000)
                    load_s = time.perf_counter() - t0
                    # The whole canvas in view (the notebook scrolls), so clicks land on it.
                    page.locator(".llmos-canvas").last.evaluate("(e) => e.scrollIntoView({block: 'start'})")
                    page.wait_for_timeout(500)
                    edges = json.loads(run("import json; print(json.dumps(len(wf.edges)))"))
                    heap = page.evaluate(HEAP)
                    views = {
                        "initial": measure_view(page, run, INITIAL, ("pan", "drag", "zoom", "select")),
                        "fit": measure_view(page, run, FIT, ("pan", "drag", "zoom", "select")),
                        "overview": measure_view(page, run, OVERVIEW, ("pan", "zoom")),
                    }
                    rows.append((n, edges, load_s, heap, views))
                    run("c.close()")
                    page.evaluate("""() => window.jupyterapp.commands.execute(
                        'notebook:clear-all-cell-outputs')""")
                    page.wait_for_timeout(500)

                # Kernel → DOM status latency on a small workflow.
                run("c = Canvas(make(20), library=lib, height=500); c")
                page.wait_for_selector('.llmos-canvas [data-node-id="n5"]', timeout=30_000)
                page.evaluate("""() => { window.__seen = []; window.__msgs = [];
                    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                    kernel.iopubMessage.connect((_, m) => {
                      if (m.header.msg_type === 'comm_msg' && m.content.data?.state?.statuses)
                        window.__msgs.push(Date.now() / 1000); });
                    const el = document.querySelector('.llmos-canvas [data-node-id="n5"]');
                    new MutationObserver(() => window.__seen.push(Date.now() / 1000))
                      .observe(el, {attributes: true, attributeFilter: ['data-status']}); }""")
                # Statuses change in engine threads during a run, not inside a cell: flip
                # one node's status from a kernel thread every 150 ms.
                n_lat = args.latency_samples
                run("import threading, time\n_ts = []\n"
                    "def _flip():\n"
                    f"    for i in range({n_lat}):\n"
                    "        time.sleep(0.15)\n"
                    "        _ts.append(time.time())\n"
                    "        c.statuses = {'n5': {'status': 'running' if i % 2 == 0 else 'completed'}}\n"
                    "_t = threading.Thread(target=_flip); _t.start()")
                page.wait_for_function(f"() => window.__seen.length >= {n_lat}",
                                       timeout=60_000)
                sent = [float(x) for x in run("_t.join(); print(' '.join(map(str, _ts)))").split()]
                seen = page.evaluate("() => window.__seen")
                got = page.evaluate("() => window.__msgs")
                lat = [(b - a) * 1000 for a, b in zip(sent, seen)]
                wire = [(b - a) * 1000 for a, b in zip(sent, got)] if len(got) == len(sent) else []
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)

    print(f"JS heap of JupyterLab with a notebook, before any canvas: {base_heap:.0f} MB")
    print("views: initial = zoom 1 at the top left; fit = Fit (never below the readable zoom "
          "0.9); overview = the whole graph (level of detail: boxes on one <canvas>)")
    print("frames/s (frame time p50 / p95 ms); select ms = median click → side panel")
    print(f"{'nodes':>6} {'edges':>6} {'load s':>7} {'heap MB':>8} {'view':>9} {'zoom':>6} "
          f"{'DOM nodes':>9} {'pan':>18} {'drag':>18} {'wheel zoom':>18} {'select':>18} "
          f"{'select ms':>9}")

    def cell(v) -> str:
        return f"{v[0]:5.1f} ({v[1]:4.1f}/{v[2]:5.1f})" if v else f"{'—':>18}"

    for n, e, load_s, heap, views in rows:
        for name, v in views.items():
            ms = v.get("select_ms")
            print(f"{n:>6} {e:>6} {load_s:>7.1f} {heap:>8.0f} {name:>9} {v['zoom_level']:>6.2f} "
                  f"{v['rendered']:>9} {cell(v.get('pan')):>18} {cell(v.get('drag')):>18} "
                  f"{cell(v.get('zoom')):>18} {cell(v.get('select')):>18} "
                  f"{(f'{ms:.1f}' if ms is not None else '—'):>9}")
    print(f"status kernel → DOM: median {statistics.median(lat):.1f} ms, "
          f"p95 {sorted(lat)[int(0.95 * (len(lat) - 1))]:.1f} ms over {len(lat)} changes")
    if wire:
        print(f"  of which kernel → browser message (websocket): median "
              f"{statistics.median(wire):.1f} ms; message → DOM: median "
              f"{statistics.median(lat) - statistics.median(wire):.1f} ms")


if __name__ == "__main__":
    main()
