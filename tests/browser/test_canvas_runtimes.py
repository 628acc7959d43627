"""Browser runtimes in a real browser: javascript and threejs nodes run in Web Workers of the
canvas page, wired to Python nodes; their results reach the kernel; the three.js output is a
live WebGL preview; the SPICE netlist shows in the side panel. Screenshot in
tests/browser/artifacts/canvas-runtimes.png.
"""

from __future__ import annotations

import json

import pytest
from browser.jlab import NEW_NOTEBOOK, RUN_CELL, cell_text, new_page, open_lab


def _open_canvas(page, base, token, code):
    """A new notebook in JupyterLab running ``code`` (which displays a canvas); returns a
    function that runs a cell and returns its printed text."""
    open_lab(page, base, token)
    page.evaluate(NEW_NOTEBOOK)
    out = page.evaluate(RUN_CELL, code)
    assert "Error" not in cell_text(out), cell_text(out)
    page.locator(".llmos-canvas").wait_for(timeout=30_000)
    return lambda c: cell_text(page.evaluate(RUN_CELL, c))

SETUP = """
from llmos_jupyter import Workflow
from llmos_jupyter._widget.canvas import Canvas
wf = Workflow(id="runtimes", name="Browser runtimes")
wf.add_node("circuit-rc", id="rc", params={"samples": 51}, position={"x": 0, "y": 0})
wf.add_node("moving-average", id="ma", params={"window": 5}, position={"x": 320, "y": 0})
wf.add_node("data-analysis", id="stats", position={"x": 640, "y": 0})
wf.add_node("threejs-surface", id="surf", params={"resolution": 24}, position={"x": 0, "y": 420})
wf.add_node("data-analysis", id="heights", position={"x": 320, "y": 420})
wf.add_node("threejs-cube", id="cube", position={"x": 640, "y": 420})
wf.connect("rc", "voltage_data", "ma", "values")
wf.connect("ma", "smoothed", "stats", "data")
wf.connect("surf", "heights", "heights", "data")
c = Canvas(wf, height=900)
c
"""

CHECK = """
import json, math
r = c.last_result
v = r.outputs("rc")["voltage_data"]
ma = r.outputs("ma")
expected = [sum(v[i:i + 5]) / 5 for i in range(len(v) - 4)]
surf = r.outputs("surf")
print(json.dumps({
    "status": r.status,
    "statuses": {k: n.status for k, n in r.nodes.items()},
    "ma_len": len(ma["smoothed"]),
    "ma_err": max(abs(a - b) for a, b in zip(ma["smoothed"], expected)),
    "stats_mean": r.outputs("stats")["mean"], "ma_mean": sum(ma["smoothed"]) / len(ma["smoothed"]),
    "area": surf["surface_area"], "vertices": surf["vertex_count"],
    "heights_count": r.outputs("heights")["count"],
    "scene_type": surf["scene"]["object"]["type"],
    "preview": c.previews["surf"]["scene"]["kind"],
}))
"""


def _colourful_fraction(png: bytes) -> float:
    """Share of saturated pixels: the wave surface is blue to orange on a grey background,
    so a blank, black or uncoloured rendering scores near 0."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("HSV")
    _, sat, val = img.split()
    pixels = zip(sat.tobytes(), val.tobytes())
    return sum(1 for s, v in pixels if v > 40 and s > 60) / max(1, img.width * img.height)


def _all_completed(page, n: int, timeout: int = 120_000) -> None:
    page.wait_for_function("""(n) => {
        const ns = [...document.querySelectorAll('.llmos-canvas [data-node-id]')];
        return ns.length === n && ns.every((x) => x.dataset.status === 'completed');
    }""", arg=n, timeout=timeout)


@pytest.mark.slow
def test_javascript_and_threejs_nodes_run_in_the_browser(jupyter_server, browser, artifacts):
    base, token = jupyter_server
    page, errors = new_page(browser, 1500, 1200)
    try:
        run = _open_canvas(page, base, token, SETUP)
        page.locator('[data-node-id="ma"][data-status="idle"]').wait_for(timeout=15_000)
        assert run("print(c.errors)").strip() == "[]"

        # Run from Python without waiting (the kernel must stay free to receive the
        # browser's answers); every node, Python and browser, reaches completed.
        assert "RunHandle" in run("h = c.run(); print(type(h).__name__)")
        _all_completed(page, 6)
        got = {}
        for _ in range(100):
            text = run("print(c.last_result is not None and not c.running)")
            if "True" in text:
                got = json.loads(run(CHECK))
                break
            page.wait_for_timeout(100)
        assert got, "the run never finished on the kernel side"
        assert got["status"] == "completed", got
        assert got["ma_len"] == 47 and got["ma_err"] < 1e-12, got          # the JS result, in Python
        assert got["stats_mean"] == pytest.approx(got["ma_mean"], rel=1e-12)
        assert got["vertices"] == 625 and got["heights_count"] == 625
        assert got["area"] > 4.0 and got["scene_type"] == "Scene" and got["preview"] == "scene"

        # Live three.js previews: a WebGL canvas for the threejs skill's JSON and for the
        # threejs-cube skill's scene description, no fallback text.
        surf_canvas = page.locator('.react-flow__node[data-id="surf"] canvas[data-scene-canvas="surf.scene"]')
        surf_canvas.wait_for(timeout=15_000)
        page.locator('.react-flow__node[data-id="cube"] canvas[data-scene-canvas="cube.scene"]').wait_for(
            timeout=15_000)
        assert page.locator("[data-scene-fallback]").count() == 0
        # It draws something other than the background, and orbiting changes the picture.
        # (Fit keeps text readable, so not every node is in view: centre the surface.)
        run("c.send({'command': 'show', 'node': 'surf'})")
        page.wait_for_timeout(400)
        surf_canvas.scroll_into_view_if_needed()
        before = surf_canvas.screenshot(path=str(artifacts / "scene-before-orbit.png"))
        assert _colourful_fraction(before) > 0.05, "the surface is not drawn in its colours"
        box = surf_canvas.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 60, y + 20, steps=6)
        page.mouse.up()
        page.wait_for_timeout(200)
        after = surf_canvas.screenshot(path=str(artifacts / "scene-after-orbit.png"))
        assert after != before, "orbiting did not redraw the scene"
        # The orbit drag did not move the node.
        assert "'x': 0" in run("print(c.workflow_obj.node('surf').position)")

        # The SPICE netlist in the side panel: monospace, scrollable, the real deck.
        run("c.send({'command': 'show', 'node': 'rc'})")
        page.wait_for_timeout(400)
        page.locator('[data-node-id="rc"] .llmos-node__title').click()
        netlist = page.locator('[data-netlist="rc.netlist"]')
        netlist.wait_for(timeout=10_000)
        text = netlist.inner_text()
        assert "C1 out 0 1e-06 IC=0" in text and ".tran" in text, text
        assert netlist.evaluate("(e) => getComputedStyle(e).fontFamily").lower().find("mono") >= 0 or \
            netlist.evaluate("(e) => getComputedStyle(e).overflowY") == "auto"
        page.wait_for_timeout(300)
        page.locator(".llmos-canvas").screenshot(path=str(artifacts / "canvas-runtimes.png"))

        # A JavaScript error fails the node with the JS message and the skill file's line.
        run("c.set_params('ma', window=500); h = c.run('ma')")
        failed = page.locator('[data-node-id="ma"][data-status="failed"]')
        failed.wait_for(timeout=60_000)
        message = failed.locator(".llmos-node__error").inner_text()
        assert "RangeError: window must be an integer from 1 to 51" in message, message
        assert "moving-average.md, line" in message, message
    finally:
        page.close()
    real = [e for e in errors if "canvas" in e.lower() or "llmos" in e.lower() or "worker" in e.lower()]
    assert not real, real
