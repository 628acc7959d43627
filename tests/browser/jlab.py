"""Driving JupyterLab from Playwright: run a notebook cell, read its text, drag things.

Shared by the browser tests (the `jupyter_server` / `browser` fixtures are in conftest.py).
"""

from __future__ import annotations

import json
import urllib.request

# The JupyterLab widget in the main area (a workflow document, a notebook...).
CURRENT = "window.jupyterapp.shell.currentWidget"

# Runs `code` in the last cell of the current notebook, waits for it, returns its outputs.
RUN_CELL = """async (code) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  const cell = nb.activeCell;
  cell.model.sharedModel.setSource(code);
  // Not awaited: the command's promise waits for the kernel; the loop below is bounded.
  app.commands.execute('notebook:run-cell-and-insert-below');
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 600 && (cell.model.executionCount === null || cell.promptNode?.textContent?.includes('*')); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return cell.model.outputs.toJSON();
}"""

NEW_NOTEBOOK = """async () => {
  const nb = await window.jupyterapp.commands.execute('notebook:create-new',
                                                       {kernelName: 'python3'});
  await Promise.race([nb.sessionContext.ready, new Promise((_, no) => setTimeout(
    () => no(new Error('kernel of the new notebook not ready in 90 s')), 90000))]); }"""

# Waits until the current notebook's kernel is idle and no cell shows `[*]`.
WAIT_IDLE = """async () => {
  const nb = window.jupyterapp.shell.currentWidget;
  await Promise.race([nb.sessionContext.ready, new Promise((_, no) => setTimeout(
    () => no(new Error('kernel of the notebook not ready in 90 s')), 90000))]);
  for (let i = 0; i < 600; i++) {
    const busy = nb.content.widgets.some((c) => c.model.type === 'code' &&
      (c.promptNode?.textContent ?? '').includes('*'));
    if (!busy && nb.sessionContext.session?.kernel?.status === 'idle') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}"""

# The current notebook's cells: type, source and outputs.
CELLS = """() => window.jupyterapp.shell.currentWidget.content.widgets.map((c) => ({
  type: c.model.type, source: c.model.sharedModel.getSource(),
  outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [] }))"""


def new_page(browser, width: int, height: int, console: str | None = "error"):
    """A page of this size and the list its errors land in: uncaught page errors, plus
    console errors (``console="error"``), only those mentioning llmos (``"llmos"``), or
    none (``None``)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    if console is not None:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and (
            console == "error" or "llmos" in m.text.lower()) else None)
    return page, errors


def open_lab(page, base: str, token: str) -> None:
    """A fresh JupyterLab page (layout reset), once the launcher shows."""
    page.goto(f"{base}/lab?reset&token={token}")
    page.wait_for_selector(".jp-LauncherCard", timeout=60_000)


def cell_text(outputs: list[dict]) -> str:
    """What a cell printed (stdout/stderr streams), plus `ename: evalue` of an error."""
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif o.get("output_type") == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
    return "".join(parts)


def center(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, source, x2: float, y2: float) -> None:
    """Press on `source`, move past the drag threshold, then to (x2, y2), release."""
    source.scroll_into_view_if_needed()  # e.g. the skill list is taller than the sidebar
    x1, y1 = center(source)
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x1 + 12, y1 + 6, steps=3)
    page.mouse.move(x2, y2, steps=12)
    page.mouse.up()


def put_settings(base: str, token: str, raw: dict) -> None:
    """Replace the extension's user settings (``llmos-jupyter:plugin``) on the server, as
    the Settings Editor saves them; open pages see the change."""
    req = urllib.request.Request(
        f"{base}/lab/api/settings/llmos-jupyter:plugin?token={token}", method="PUT",
        data=json.dumps({"raw": json.dumps(raw)}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10):
        pass


def wait_run_over(page, timeout: float) -> None:
    """Until the current workflow document's run has ended (whatever its status)."""
    page.wait_for_function(f"() => {CURRENT}.content.model.get('running') === false && "
                           f"{CURRENT}.content.node.dataset.runStatus !== 'running'",
                           timeout=timeout)
