"""Issue 19 in a real browser: the canvas never edits the notebook behind the user's back,
documents save like documents, the notebook graph runs in graph order, text is readable
in both themes, and no skill text is rendered as HTML.

One JupyterLab server for the session (conftest.py), one page per test:

* ``test_canvas_widget_keys_drops_and_readability``: a canvas widget in a notebook; with
  a node selected every command-mode key (``a b x c v m y d d z Shift+↓ Enter``) leaves
  the notebook's cells exactly as they were; Delete removes only the canvas node;
  node text is ≥ 11 px at the initial zoom; after a run no two nodes overlap; a skill
  dragged from the skill library onto the widget becomes a node (no cell inserted); an
  XSS skill (team volume) listed in the sidebar and shown on the canvas runs no script
  and carries the "untrusted" badge; saved, closed and reopened (the widget's model is
  gone with its kernel) it shows a static snapshot, not "model not found".
* ``test_workflow_document_save_and_validity``: Ctrl+S writes a moved node to disk;
  the toolbar has Save; a JSON syntax error and an unknown skill say "invalid: …";
  Run on the invalid document is refused and leaves no stale statuses.
* ``test_notebook_graph_order_and_focus``: a notebook whose downstream cell comes first
  runs in graph order from the sidebar; selecting a node shows its cell but leaves the
  focus in the graph (command-mode keys and Ctrl+Z change no cell); a type mismatch
  refuses Run before anything runs.
* ``test_themes_contrast``: the run comparison and the node headers in the light and
  dark themes: WCAG AA contrast (4.5:1) from the computed styles; screenshots.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from browser.jlab import CELLS, NEW_NOTEBOOK, RUN_CELL, WAIT_IDLE, center, drag, new_page, open_lab
from browser.test_labextension import LABEXTENSION

REPO = Path(__file__).resolve().parents[2]
RC = REPO / "notebooks" / "rc-circuit.workflow.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

COMMAND_KEYS = ["a", "b", "x", "c", "v", "m", "y", "d", "d", "z", "Shift+ArrowDown", "Enter"]
XSS = "<img src=x onerror=window.__xss=1><script>window.__xss=1</script>"
XSS_SKILL = f"""---
skill_id: xss-probe
name: "Probe {XSS}"
description: "Says {XSS} and [a link](javascript:window.__xss=1)"
category: "probe <b>x</b>"
inputs:
  - {{name: text, type: string, default: "x", description: "in {XSS}"}}
outputs:
  - {{name: out, type: string, description: "out {XSS}"}}
---

# Probe {XSS}

```python
def execute(inputs):
    return {{"out": inputs["text"]}}
```
"""

# Closes the current notebook (shutting its kernel down) and opens it again.
REOPEN = """async (path) => { const app = window.jupyterapp;
  const w = app.shell.currentWidget; await w.sessionContext.shutdown(); w.dispose();
  const nb = await app.commands.execute('docmanager:open', {path});
  await nb.context.ready; }"""

# Text smaller than this on screen (font size × the canvas' zoom) fails the check.
MIN_TEXT_PX = 11
# Computes, for every text element under `root`, its colour against the first opaque
# background behind it (alpha-blended), and returns the worst WCAG contrast ratios.
CONTRAST = """(selector) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let acc = [255, 255, 255, 1];
    for (const c of layers.reverse()) acc = over(c, acc);
    return acc;
  };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const out = [];
  for (const root of document.querySelectorAll(selector)) {
    for (const el of root.querySelectorAll('*')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || el.getClientRects().length === 0) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || Number(st.opacity) < 0.5) continue;
      const bg = background(el);
      const fg = over(parse(st.color), bg);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      out.push({ text: el.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05),
                 cls: el.className && el.className.baseVal === undefined ? el.className : '' });
    }
  }
  return out.sort((x, y) => x.ratio - y.ratio).slice(0, 5); }"""


def _cells(page) -> list[tuple[str, str]]:
    return [(c["type"], c["source"]) for c in page.evaluate(CELLS)]


def _run(page, code: str) -> list[dict]:
    return page.evaluate(RUN_CELL, code)


def _text_sizes(page, scope: str) -> list[dict]:
    """Screen size (px) of every text element in the canvas nodes under `scope`."""
    return page.evaluate("""(scope) => {
      const vp = document.querySelector(scope + ' .react-flow__viewport');
      const zoom = new DOMMatrix(getComputedStyle(vp).transform).a;
      const out = [];
      for (const el of document.querySelectorAll(scope + ' .react-flow__node *')) {
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!own || el.getClientRects().length === 0) continue;
        out.push({ text: el.textContent.trim().slice(0, 30), px: parseFloat(getComputedStyle(el).fontSize) * zoom });
      }
      return out; }""", scope)


def _overlaps(page, scope: str) -> list[tuple[str, str]]:
    return page.evaluate("""(scope) => {
      const boxes = [...document.querySelectorAll(scope + ' .react-flow__node')]
        .map((n) => [n.dataset.id, n.getBoundingClientRect()]);
      const out = [];
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const [a, r] = boxes[i], [b, s] = boxes[j];
        if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1) out.push([a, b]);
      }
      return out; }""", scope)


@pytest.mark.slow
def test_canvas_widget_keys_drops_and_readability(jupyter_server, jupyter_paths, browser,
                                                  artifacts):
    base, token = jupyter_server
    home: Path = jupyter_paths["llmos_home"]
    team = home / "team" / "skills"
    team.mkdir(parents=True, exist_ok=True)
    probe = team / "xss-probe.md"
    probe.write_text(XSS_SKILL, encoding="utf-8")
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        _run(page, "from llmos_jupyter import Canvas, Workflow\n"
                   f"c = Canvas(Workflow.load({str(RC)!r}), height=520)\nc")
        canvas = page.locator(".jp-NotebookPanel:visible .llmos-canvas")
        canvas.locator('.react-flow__node[data-id="rc"]').wait_for(timeout=60_000)
        # Cells around the canvas, so that cut/delete/merge shortcuts would have prey.
        page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
            const shared = nb.model.sharedModel;
            shared.insertCell(shared.cells.length, {cell_type: 'markdown', source: '# below'});
            shared.insertCell(shared.cells.length, {cell_type: 'code', source: 'x = 1'}); }""")
        before = _cells(page)

        # -- readable at the initial zoom -----------------------------------------------
        sizes = _text_sizes(page, ".jp-NotebookPanel:not(.lm-mod-hidden) .llmos-canvas")
        assert sizes and min(s["px"] for s in sizes) >= MIN_TEXT_PX, sorted(
            sizes, key=lambda s: s["px"])[:3]

        # -- every command-mode key with a node selected: the notebook is unchanged ------
        node = canvas.locator('.react-flow__node[data-id="stats"]')
        node.locator(".llmos-node__title").click()
        canvas.locator('.react-flow__node.selected[data-id="stats"]').wait_for()
        for key in COMMAND_KEYS:
            page.keyboard.press(key)
            page.wait_for_timeout(60)
        page.wait_for_timeout(300)
        assert _cells(page) == before
        assert page.evaluate("() => !!document.activeElement.closest('.llmos-canvas')")
        assert canvas.locator(".react-flow__node").count() == 3
        # Delete removes the canvas selection only; Backspace with nothing selected: nothing.
        page.keyboard.press("Delete")
        canvas.locator('.react-flow__node[data-id="stats"]').wait_for(state="detached")
        page.keyboard.press("Backspace")
        page.wait_for_timeout(300)
        assert canvas.locator(".react-flow__node").count() == 2
        assert _cells(page) == before
        assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.mode") == "command"
        page.keyboard.press("Control+z")  # the canvas' undo brings it back
        canvas.locator('.react-flow__node[data-id="stats"]').wait_for()
        assert _cells(page) == before

        # -- after a run no two nodes overlap (previews grew them) ------------------------
        _run(page, "c.run()")
        for n in ("rc", "stats", "plot"):
            canvas.locator(f'[data-node-id="{n}"][data-status="completed"]').wait_for(
                timeout=90_000)
        canvas.locator('[data-preview="stats.mean"]').wait_for()
        page.wait_for_timeout(500)
        assert _overlaps(page, ".jp-NotebookPanel:not(.lm-mod-hidden) .llmos-canvas") == []
        assert canvas.locator('[data-node-id="stats"] [data-more]').inner_text() == "+1 more"
        # A plot opens large on click, over the page; a click closes it.
        _run(page, "c.send({'command': 'show', 'node': 'plot'})")
        image = canvas.locator('[data-preview-image="plot.image"]')
        image.first.wait_for(timeout=10_000)
        page.wait_for_timeout(300)
        image.first.click()
        lightbox = page.locator('[data-lightbox="plot.image"]')
        lightbox.wait_for()
        assert lightbox.locator("img").bounding_box()["width"] > 400
        lightbox.click()
        lightbox.wait_for(state="detached")
        before = _cells(page)

        # -- a skill dropped from the library onto the widget: a node, not cells ---------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-skill-library'); }")
        skill = page.locator('#llmos-skills [data-skill-id="data-analysis"] .llmos-Skill-id')
        skill.wait_for(timeout=60_000)
        flow = canvas.locator(".llmos-flow").bounding_box()
        drag(page, skill, flow["x"] + flow["width"] - 80, flow["y"] + flow["height"] - 60)
        dropped = canvas.locator('.react-flow__node[data-id="data-analysis"]')
        dropped.wait_for(timeout=10_000)
        page.wait_for_timeout(300)
        assert _cells(page) == before
        # ... where it was dropped (its top-left corner under the pointer)
        assert abs(dropped.bounding_box()["x"] - (flow["x"] + flow["width"] - 80)) < 12
        out = _run(page, "print(sorted(n.id for n in c.workflow_obj.nodes))")
        assert "data-analysis" in "".join(o.get("text", "") for o in out)

        # -- no skill text runs as HTML: sidebar and canvas ------------------------------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:refresh-skills'); }")
        entry = page.locator('#llmos-skills [data-skill-id="xss-probe"]')
        entry.wait_for(timeout=60_000)
        entry.locator(".llmos-Skill-head").click()  # expand the description
        assert entry.locator('[data-untrusted="true"]').count() == 1
        assert entry.locator("img, script").count() == 0
        _run(page, "c.reload_skills(); p = c.add_node('xss-probe', position={'x': 0, 'y': 0})\n"
                   f"c.previews = {{p: {{'out': {{'kind': 'text', 'value': {XSS!r}}}}}}}\n"
                   f"c.statuses = {{p: {{'status': 'failed', 'error': {XSS!r}}}}}")
        probe_node = canvas.locator('.react-flow__node[data-id="xss-probe"]')
        probe_node.wait_for(timeout=30_000)
        _run(page, "c.send({'command': 'show', 'node': p})")
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        probe_node.locator(".llmos-node__title").click()
        canvas.locator('[data-side-node="xss-probe"]').wait_for()
        assert probe_node.locator('[data-untrusted="true"]').count() == 1
        assert canvas.locator(".llmos-palette").get_by_text("Probe <img", exact=False).count() >= 1
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__xss") is None
        assert canvas.locator("img[src='x'], script").count() == 0
        assert page.locator("#llmos-skills img[src='x'], #llmos-skills script").count() == 0
        page.screenshot(path=str(artifacts / "ui-canvas-widget.png"))

        # -- reopened (the widget model went with the kernel): a static snapshot ----------
        path = page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                             " await w.context.save(); return w.context.path; }")
        saved = json.loads((jupyter_paths["root"] / path).read_text())
        snap = [c["metadata"]["llmos"]["canvas_snapshot"] for c in saved["cells"]
                if "canvas_snapshot" in c.get("metadata", {}).get("llmos", {})]
        assert snap and {n["id"] for n in snap[0]["workflow"]["nodes"]} >= {"rc", "stats", "plot"}
        page.evaluate(REOPEN, path)
        static = page.locator('.jp-NotebookPanel:visible [data-llmos-snapshot="true"]')
        static.locator('.react-flow__node[data-id="stats"]').wait_for(timeout=60_000)
        # The statuses and previews as saved (the probe's, set last, with its XSS text).
        assert static.locator('[data-node-id="xss-probe"][data-status="failed"]').count() == 1
        assert static.locator('[data-preview="xss-probe.out"]').count() == 1
        assert page.evaluate("() => window.__xss") is None
        assert page.locator(".jp-NotebookPanel:visible").get_by_text("model not found").count() == 0
        page.screenshot(path=str(artifacts / "ui-canvas-snapshot.png"))
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(artifacts / "ui-canvas-widget-failed.png"))
        raise
    finally:
        probe.unlink(missing_ok=True)
        page.close()


@pytest.mark.slow
def test_workflow_document_save_and_validity(jupyter_server, jupyter_paths, browser,
                                             artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    shutil.copy(RC, root / "save.workflow.json")
    wf = json.loads(RC.read_text())
    bad = dict(wf, nodes=[*wf["nodes"], {"id": "ghost", "type": "skill", "position":
                                         {"x": 0, "y": 400}, "data": {"skill": "no-such-skill"}}])
    (root / "unknown.workflow.json").write_text(json.dumps(bad), encoding="utf-8")
    (root / "syntax.workflow.json").write_text('{"nodes": [', encoding="utf-8")
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'save.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        node = doc.locator('.react-flow__node[data-id="rc"]')
        node.wait_for(timeout=60_000)
        assert doc.locator('.jp-Toolbar [data-action="save"]').count() == 1
        doc.locator('[data-validity="valid"]').wait_for(timeout=60_000)
        x, y = center(node.locator(".llmos-node__title"))
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 30, y + 40, steps=5)
        page.mouse.move(x + 60, y + 90, steps=5)
        page.mouse.up()
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
        assert page.locator(".jp-mod-current.jp-mod-dirty").count() >= 1  # the tab says so
        saved = (root / "save.workflow.json").read_text()
        page.keyboard.press("Control+s")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                               timeout=10_000)
        after = json.loads((root / "save.workflow.json").read_text())
        assert after != json.loads(saved)
        pos = {n["id"]: n["position"] for n in after["nodes"]}
        assert pos["rc"] != {"x": 0, "y": 80}, pos

        # -- invalid documents never say "valid" -----------------------------------------
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'unknown.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        validity = doc.locator('[data-validity="invalid"]')
        validity.wait_for(timeout=60_000)
        assert validity.inner_text().startswith("invalid:")
        assert "no-such-skill" in validity.inner_text()
        assert doc.locator('[data-validity="valid"]').count() == 0
        assert doc.locator('.llmos-problems [data-show-node="ghost"]').count() == 1
        doc.locator('[data-action="run"]').first.click()
        page.wait_for_function("() => document.querySelector('.llmos-WorkflowDocument:not(.lm-mod-hidden)"
                               " .llmos-WorkflowCanvas')?.dataset.runStatus === 'invalid'",
                               timeout=60_000)
        assert "not run: invalid" in doc.locator('[role="status"]').inner_text()
        assert doc.locator('[data-status]:not([data-status="idle"])').count() == 0

        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'syntax.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        # Until the new tab is shown, :visible may still find the previous (also invalid)
        # document: wait for this document's own message.
        validity = doc.locator('[data-validity="invalid"]', has_text="JSON syntax error")
        validity.wait_for(timeout=60_000)
        assert "JSON syntax error" in validity.inner_text()
        page.screenshot(path=str(artifacts / "ui-documents.png"))
        assert not [e for e in errors if "syntax" not in e.lower()], errors
    except Exception:
        page.screenshot(path=str(artifacts / "ui-documents-failed.png"))
        raise
    finally:
        page.close()


@pytest.mark.slow
def test_notebook_graph_order_and_focus(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext llmos_jupyter"),
        # Downstream first: notebook order would run `stats` before `rc` exists.
        nbformat.v4.new_code_cell("%skill stats --uses data-analysis --in data=rc.voltage_data"),
        nbformat.v4.new_code_cell("%%skill rc --uses circuit-rc\nsamples = 50"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (root / "order.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    page, errors = new_page(browser, 1600, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate("""async () => {
            const nb = await window.jupyterapp.commands.execute('docmanager:open', {path: 'order.ipynb'});
            await nb.sessionContext.ready; }""")
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:show-notebook-graph'); }")
        side = page.locator("#llmos-notebook-canvas")
        for n in ("rc", "stats"):
            side.locator(f'.react-flow__node[data-id="{n}"]').wait_for(timeout=60_000)
        assert side.bounding_box()["width"] >= 440  # opens at a usable width
        sizes = _text_sizes(page, "#llmos-notebook-canvas")
        assert min(s["px"] for s in sizes) >= MIN_TEXT_PX, sorted(sizes, key=lambda s: s["px"])[:3]
        assert _overlaps(page, "#llmos-notebook-canvas") == []

        # -- selecting a node shows its cell without focusing its editor ------------------
        page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
            nb.activeCellIndex = 1; nb.mode = 'edit'; }""")  # as after typing in a cell
        before = _cells(page)
        side.locator('.react-flow__node[data-id="rc"] .llmos-node__title').click()
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 2")
        assert page.evaluate("() => !document.activeElement.closest('.jp-Notebook')")
        # Keys go to the graph, not to the cell (Delete there would delete the node and,
        # by design, its cell: that is an edit of the graph, not of the cell's text).
        for key in [*COMMAND_KEYS, "Control+z"]:
            page.keyboard.press(key)
            page.wait_for_timeout(40)
        page.wait_for_timeout(600)
        assert _cells(page) == before
        assert page.evaluate("() => !document.activeElement.closest('.jp-Notebook')")

        # -- Run from the graph: graph order, both completed -------------------------------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-notebook-graph'); }")
        for n in ("rc", "stats"):
            side.locator(f'[data-node-id="{n}"][data-status="completed"]').wait_for(timeout=90_000)
        page.evaluate(WAIT_IDLE)
        assert page.evaluate("() => document.querySelector('#llmos-notebook-canvas').dataset.runOrder") \
            == "rc stats"

        # -- an invalid graph is refused before anything runs ------------------------------
        page.evaluate("""() => { const shared = window.jupyterapp.shell.currentWidget.content.model.sharedModel;
            shared.insertCell(shared.cells.length, {cell_type: 'code',
              source: "%skill bad --uses data-analysis --in data=rc.time_constant"}); }""")
        side.locator('.react-flow__node[data-id="bad"]').wait_for(timeout=30_000)
        side.locator('[data-validity="invalid"]').wait_for(timeout=30_000)
        counts = [c["outputs"] for c in page.evaluate(CELLS)]
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-notebook-graph'); }")
        page.wait_for_function("() => document.querySelector('#llmos-notebook-canvas')"
                               ".dataset.runStatus === 'invalid'", timeout=10_000)
        assert "not run: invalid" in side.locator('[role="status"]').inner_text()
        assert "expects array" in side.locator('[role="status"]').inner_text()
        time.sleep(0.5)
        assert [c["outputs"] for c in page.evaluate(CELLS)] == counts
        page.screenshot(path=str(artifacts / "ui-notebook-graph.png"))
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(artifacts / "ui-notebook-graph-failed.png"))
        raise
    finally:
        page.close()


@pytest.mark.slow
def test_themes_contrast(jupyter_server, jupyter_paths, browser, artifacts):
    """The run comparison and node headers meet WCAG AA (4.5:1) in both themes."""
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    shutil.copy(RC, root / "theme.workflow.json")
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        # Two runs with different parameters: a comparison with differing rows and plots.
        _run(page, "from llmos_jupyter import Workflow, run\n"
                   f"wf = Workflow.load({str(RC)!r})\n"
                   "for r in (1000, 2200):\n"
                   "    wf.set_params('rc', resistance=r)\n"
                   "    run(wf)\n")
        page.evaluate(WAIT_IDLE)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-run-history'); }")
        runs = page.locator("#llmos-runs .llmos-Run")
        runs.nth(1).wait_for(timeout=60_000)
        runs.nth(0).locator('[data-action="pick"]').check()
        runs.nth(1).locator('[data-action="pick"]').check()
        page.locator('#llmos-runs [data-action="compare"]').click()
        compare = page.locator(".llmos-Compare")
        compare.wait_for(timeout=60_000)
        assert compare.locator("[data-compare-image]").count() == 2  # the plots side by side
        assert compare.locator("tr.llmos-mod-differs").count() >= 1
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'theme.workflow.json', options: {mode: 'split-right'}}); }")
        page.locator(".llmos-WorkflowDocument .react-flow__node").first.wait_for(timeout=60_000)
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', "
                          "{theme: t})", theme)
            page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme,
                                   timeout=30_000)
            page.wait_for_timeout(800)
            name = theme.split()[-1].lower()
            page.screenshot(path=str(artifacts / f"ui-theme-{name}.png"))
            for selector in (".llmos-Compare", ".llmos-node__head", ".llmos-Compare-table"):
                worst = page.evaluate(CONTRAST, selector)
                assert worst, selector
                assert worst[0]["ratio"] >= 4.5, (theme, selector, worst)
            minimap = page.evaluate("() => getComputedStyle(document.querySelector("
                                    "'.llmos-WorkflowDocument .react-flow__minimap')).backgroundColor")
            body = page.evaluate("() => getComputedStyle(document.body).getPropertyValue("
                                 "'--jp-layout-color2').trim()")
            assert minimap != "rgb(255, 255, 255)" or name == "light", (minimap, body)
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Light'})")
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(artifacts / "ui-themes-failed.png"))
        raise
    finally:
        page.close()


@pytest.mark.slow
def test_notebook7_command_keys_stay_in_the_canvas(jupyter_server, jupyter_paths, browser,
                                                   artifacts):
    """The same isolation in Notebook 7 (its own shell, the same Lumino shortcuts)."""
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from llmos_jupyter import Canvas, Workflow\n"
                                  f"c = Canvas(Workflow.load({str(RC)!r}), height=480)\nc"),
        nbformat.v4.new_markdown_cell("# below"),
        nbformat.v4.new_code_cell("x = 1"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (root / "nb7.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    page, _ = new_page(browser, 1400, 1000, console=None)
    # Notebook 7's own core throws on a settings load here; only errors of this
    # extension's code (or mentioning llmos) count.
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(e.stack or str(e))
            if "llmos" in (e.stack or str(e)).lower() else None)
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "llmos" in m.text.lower() else None)
    cells = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map((c) =>
        [c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'code',
         c.querySelector('.jp-InputArea-editor')?.textContent ?? ''])"""
    try:
        page.goto(f"{base}/notebooks/nb7.ipynb?token={token}")
        first = page.locator(".jp-Notebook .jp-Cell").first
        first.wait_for(timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                               "#jp-top-panel", timeout=60_000)
        canvas = page.locator(".llmos-canvas")
        stats = canvas.locator('.react-flow__node[data-id="stats"]')
        dialogs: list[str] = []
        for _ in range(6):  # the kernel may still be starting: run the cell until it shows
            # A dialog of Notebook 7 itself (e.g. about the kernel starting on a loaded
            # machine) would take the clicks: note its text and close it, as a user would.
            dialog = page.locator(".jp-Dialog")
            if dialog.count():
                dialogs.append(dialog.first.inner_text())
                page.keyboard.press("Escape")
                dialog.first.wait_for(state="detached", timeout=10_000)
            first.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Escape")
            page.keyboard.press("Control+Enter")  # run the canvas cell, stay on it
            try:
                stats.wait_for(timeout=15_000)
                break
            except Exception:  # noqa: BLE001 - Playwright's timeout: try again
                continue
        stats.wait_for(timeout=30_000)
        assert not [d for d in dialogs if "llmos" in d.lower()], dialogs
        page.wait_for_timeout(500)
        before = page.evaluate(cells)
        assert len(before) == 3, before
        canvas.locator('.react-flow__node[data-id="stats"] .llmos-node__title').click()
        canvas.locator('.react-flow__node.selected[data-id="stats"]').wait_for()
        for key in COMMAND_KEYS:
            page.keyboard.press(key)
            page.wait_for_timeout(60)
        page.wait_for_timeout(400)
        assert page.evaluate(cells) == before
        page.keyboard.press("Delete")
        canvas.locator('.react-flow__node[data-id="stats"]').wait_for(state="detached")
        assert page.evaluate(cells) == before
        page.screenshot(path=str(artifacts / "ui-notebook7.png"))
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(artifacts / "ui-notebook7-failed.png"))
        raise
    finally:
        page.close()
