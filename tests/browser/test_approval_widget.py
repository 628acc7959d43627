"""The approval widget in a real browser (JupyterLab + Chromium), issue 18 §4.

A notebook cell awaits an actor system whose reviewer is a person (`actor-approval`,
mode `human`). Each proposed change appears in that cell's output as a widget showing the
change as text (an HTML tag in it stays text and never runs); Approve writes the first
file, Request changes with a typed comment refuses the second, and the comment comes back
to the editor as the reason. Screenshot: artifacts/approval-widget.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from approval_systems import approval_system
from browser.jlab import CELLS, NEW_NOTEBOOK, WAIT_IDLE, cell_text, new_page, open_lab

LABEXTENSION = Path(__file__).resolve().parents[2] / "llmos_jupyter" / "labextension" / "package.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

XSS = '<img src=x onerror="window.__llmosXss=1">'

# Runs `code` in the last cell without waiting for it (the cell waits for our clicks).
FIRE_CELL = """(code) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  nb.activeCell.model.sharedModel.setSource(code);
  app.commands.execute('notebook:run-cell-and-insert-below');
}"""


def test_a_person_decides_in_the_approval_widget(jupyter_server, jupyter_paths, browser,
                                                 artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    out = root / "approved-out"
    system = root / "approve-in-browser.toml"
    system.write_text(approval_system("approve-in-browser", out, [
        ("page.html", f"<p>hi</p>{XSS}\n"), ("danger.py", "eval(input())\n")],
        timeout_s=120, person_timeout_s=100))
    page, errors = new_page(browser, 1400, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        page.evaluate(FIRE_CELL, "from llmos_jupyter._actors.run import arun_file\n"
                                 f"out = await arun_file({str(system)!r}, trace=False)\n"
                                 "import json; print('RESULT', json.dumps(out.result))")
        first = page.locator(".llmos-approval").nth(0)
        first.wait_for(timeout=90_000)
        head = first.locator(".llmos-approval-head")
        assert "page.html" in head.inner_text() and "person" in head.inner_text()
        # The change is text: its tag is shown, not rendered, and never runs.
        assert XSS in first.locator("pre").inner_text()
        assert first.locator("pre img").count() == 0
        first.locator("button.llmos-approval-approve").click()
        first.locator(".llmos-approval-status", has_text="Approved.").wait_for(timeout=30_000)
        assert first.locator("button.llmos-approval-approve").is_disabled()

        second = page.locator(".llmos-approval").nth(1)
        second.wait_for(timeout=30_000)
        assert "danger.py" in second.locator(".llmos-approval-head").inner_text()
        second.locator("textarea").fill("no eval, <b>please</b>")
        second.locator("button.llmos-approval-request").click()
        second.locator(".llmos-approval-status", has_text="Changes requested.").wait_for(
            timeout=30_000)
        page.evaluate(WAIT_IDLE)
        text = cell_text(page.evaluate(CELLS)[0]["outputs"])
        assert "RESULT" in text, text
        result = json.loads(text.split("RESULT", 1)[1])
        assert result == {"written": ["page.html"],
                          "refused": [{"path": "danger.py",
                                       "reason": "person: no eval, <b>please</b>"}]}
        assert (out / "page.html").read_text() == f"<p>hi</p>{XSS}\n"
        assert page.evaluate("() => window.__llmosXss") is None
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(artifacts / "approval-widget.png"))
        assert errors == []
    finally:
        page.close()
