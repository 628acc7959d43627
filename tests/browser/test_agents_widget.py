"""``%agents run`` in a notebook in a real browser (JupyterLab + Chromium), issue 18 §5.

A notebook cell runs ``%agents run ping-pong.toml`` with an input whose text is an HTML
tag: the cell shows the live ``AgentsView`` widget (the same React view as the Agent
System document): the root scope's box holding both actors, and the message log beside
it; when the run ends, the log and the actors' counters equal what the runtime records
for the same system and input run here in the test process, the tag in the payload is
shown as text, and the Stop button is disabled. Screenshot: artifacts/agents-widget.png.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from approval_systems import approval_system
from browser.jlab import NEW_NOTEBOOK, RUN_CELL, cell_text, new_page, open_lab

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"
AGENTS_JS = REPO / "llmos_jupyter" / "static" / "agents.js"
PING_PONG = REPO / "agents" / "ping-pong.toml"

pytestmark = pytest.mark.skipif(
    not (LABEXTENSION.is_file() and AGENTS_JS.is_file()),
    reason="the front end is not built (cd labextension && npm ci && npm run build)")

XSS = '<img src=x onerror="window.__llmosXss=1">'
VIEW = ".llmos-AgentsWidget"


def test_agents_run_in_a_notebook_shows_the_live_view(jupyter_server, jupyter_paths, browser,
                                                      artifacts, monkeypatch):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    home: Path = jupyter_paths["llmos_home"]
    shutil.copy(PING_PONG, root / "ping-pong-widget.toml")
    payload = {"rounds": 3, "note": XSS}
    monkeypatch.setenv("LLMOS_HOME", str(home))
    from llmos_jupyter._actors import run_file

    expected = run_file(root / "ping-pong-widget.toml", payload, trace=False)
    assert expected.status == "exited", expected.error

    page, errors = new_page(browser, 1400, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        outputs = page.evaluate(RUN_CELL, "%load_ext llmos_jupyter\n"
                                f"h = %agents run ping-pong-widget.toml --input '{json.dumps(payload)}'\n"
                                "h")
        assert "AgentsRun 'ping-pong'" in json.dumps(outputs), outputs
        view = page.locator(VIEW).first
        view.wait_for(timeout=60_000)
        try:
            page.wait_for_function(
                f"() => document.querySelector('{VIEW}')?.dataset.runStatus === 'exited'",
                timeout=60_000)
        except Exception as exc:
            msg = view.locator(".llmos-AgentsView-message").inner_text()
            raise AssertionError(f"the run did not end: {msg}; {cell_text(outputs)}") from exc

        # -- the graph: the root scope's box holds both actors, with the runtime's counters
        view.locator('.react-flow__node[data-id="scope:000000"]').wait_for(timeout=30_000)
        for actor, rec in expected.actors.items():
            box = view.locator(f'[data-actor="{actor}"]')
            box.wait_for(timeout=30_000)
            assert int(box.get_attribute("data-handled")) == rec["handled"], actor
            assert int(box.get_attribute("data-restarts")) == rec["restarts"] == 0
            assert box.get_attribute("data-status") == rec["status"] == "stopped"

        # -- the log beside it: the runtime's count, in delivery order ---------------------
        rows = view.locator(".llmos-AgentLog-row")
        assert rows.count() == len(expected.messages) == 7
        assert int(view.locator(".llmos-AgentLog").get_attribute("data-count")) == 7
        got = [(r.get_attribute("data-sender"), r.get_attribute("data-receiver"),
                r.get_attribute("data-type")) for r in rows.all()]
        assert got == [(m["sender"], m["receiver"], m["type"]) for m in expected.messages]

        # -- untrusted text is text ---------------------------------------------------------
        start = view.locator('.llmos-AgentLog-row[data-type="start"] .llmos-AgentLog-payload')
        assert "<img src=x onerror=" in start.inner_text()
        assert view.locator(".llmos-AgentLog img").count() == 0
        assert page.evaluate("() => window.__llmosXss") is None

        # -- the run is over: Stop is disabled, there is no Run button in the notebook ------
        assert view.locator("[data-action=cancel]").inner_text() == "Stop"
        assert view.locator("[data-action=cancel]").is_disabled()
        assert view.locator("[data-action=run]").count() == 0
        view.screenshot(path=str(artifacts / "agents-widget.png"))
        assert not errors, errors
    finally:
        page.close()




def test_a_click_in_the_approval_widget_reaches_a_system_started_by_the_magic(
        jupyter_server, jupyter_paths, browser, artifacts):
    """The cell of ``%agents run`` has returned (no ``[*]``) while the system waits for the
    person; the Approve click reaches the actor, the view ends ``exited``."""
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    out = root / "magic-approved"
    (root / "approve-by-magic.toml").write_text(approval_system(
        "approve-by-magic", out, [("hello.py", "print('hello')\n")], timeout_s=120,
        person_timeout_s=100))
    page, errors = new_page(browser, 1400, 1100, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        # RUN_CELL waits for the cell to end: it ends while the system still runs.
        page.evaluate(RUN_CELL, "%load_ext llmos_jupyter\nh = %agents run approve-by-magic.toml")
        view = page.locator(VIEW).first
        view.wait_for(timeout=60_000)
        approval = page.locator(".llmos-approval").first
        approval.wait_for(timeout=60_000)
        assert view.get_attribute("data-run-status") == "running"
        assert view.locator("[data-action=cancel]").is_enabled()  # Stop, while it runs
        assert not (out / "hello.py").exists()
        approval.locator("button.llmos-approval-approve").click()
        page.wait_for_function(
            f"() => document.querySelector('{VIEW}')?.dataset.runStatus === 'exited'",
            timeout=60_000)
        assert (out / "hello.py").read_text() == "print('hello')\n"
        types = [r.get_attribute("data-type") for r in view.locator(".llmos-AgentLog-row").all()]
        assert types[:2] == ["start", "review_request"] and "approve" in types, types
        page.locator(".jp-OutputArea").first.screenshot(path=str(artifacts / "agents-widget-approval.png"))
        assert not errors, errors
    finally:
        page.close()
