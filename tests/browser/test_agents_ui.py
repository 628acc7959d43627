"""Agent System documents in a real browser (JupyterLab + Chromium), issue 18 §5.

The ping-pong system file (agents/ping-pong.toml, deterministic, no LLM) opens through
`llmos:open-agent-system` as scope boxes holding actor nodes; Run (with an input whose
text is an HTML tag) runs it in the document's kernel; the log beside the graph and the
actors' counters end equal to what the runtime itself records for the same system run
here in the test process, the events having arrived live; the payload's tag shows as
text. A `*.agents.toml` with a TOML syntax error opens (by default) with its problem and
line number. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from browser.jlab import new_page, open_lab

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"
PING_PONG = REPO / "agents" / "ping-pong.toml"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

DOC = ".llmos-AgentSystemDocument:not(.lm-mod-hidden)"
XSS = '<img src=x onerror="window.__llmosXss=1">'
BROKEN = '[system]\nname = "broken"\n[[actors]\nid = "a"\nskill = "actor-ping"\n'


def _outcome_here(path: Path, home: Path, payload: object, monkeypatch) -> object:
    """The runtime's own outcome of the same system and input (no trace)."""
    monkeypatch.setenv("LLMOS_HOME", str(home))
    from llmos_jupyter._actors import run_file

    return run_file(path, payload, trace=False)


def _edge_labels(doc) -> list[str]:
    # SVG text has no innerText: read textContent.
    return [t.text_content() or "" for t in doc.locator(".react-flow__edge-text").all()]


@pytest.mark.slow
def test_agent_system_document_runs_live_with_the_log(jupyter_server, jupyter_paths, browser,
                                                       artifacts, monkeypatch):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    home: Path = jupyter_paths["llmos_home"]
    shutil.copy(PING_PONG, root / "ping-pong.toml")
    (root / "broken.agents.toml").write_text(BROKEN, encoding="utf-8")
    payload = {"note": XSS}
    expected = _outcome_here(root / "ping-pong.toml", home, payload, monkeypatch)
    assert expected.status == "exited", expected.error
    runs = home / "user" / "agent-runs"
    before = set(runs.glob("*.ipynb")) if runs.is_dir() else set()

    page, errors = new_page(browser, 1500, 950, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-agent-system', "
                      "{path: 'ping-pong.toml'}); }")
        doc = page.locator(DOC)
        # -- the graph: the root scope's box holds both actors (React Flow parent/child) --
        doc.locator('.react-flow__node[data-id="scope:000000"]').wait_for(timeout=90_000)
        for actor in ("ping", "pong"):
            node = doc.locator(f'.react-flow__node[data-id="{actor}"]')
            node.wait_for(timeout=30_000)
            assert node.locator(f'[data-actor="{actor}"]').get_attribute("data-status") == "idle"
        parents = page.evaluate(
            "() => [...document.querySelectorAll('" + DOC + " .react-flow__node')]"
            ".map((n) => [n.dataset.id, n.classList.contains('llmos-AgentScopeNode')])")
        assert ["scope:000000", True] in parents
        labels = _edge_labels(doc)
        assert sorted(labels) == ["ping", "pong"], labels  # message types on the edges
        assert doc.locator(".llmos-AgentProblem-error").count() == 0

        # -- run with an input that carries an HTML tag; wait (bounded) for the outcome ----
        doc.locator(".llmos-AgentsView-input").fill(json.dumps(payload))
        doc.locator("[data-action=run]").click()
        try:
            page.wait_for_function(
                "() => { const v = document.querySelector('" + DOC + " .llmos-AgentSystemView');"
                " return v && !['idle', 'running'].includes(v.dataset.runStatus); }",
                timeout=120_000)
        except Exception as exc:
            msg = doc.locator(".llmos-AgentsView-message").inner_text()
            raise AssertionError(f"the run did not end: {msg}") from exc
        view = doc.locator(".llmos-AgentSystemView")
        assert view.get_attribute("data-run-status") == "exited", \
            doc.locator(".llmos-AgentsView-message").inner_text()

        # -- the log and the counters are the runtime's own record ---------------------------
        rows = doc.locator(".llmos-AgentLog-row")
        assert rows.count() == len(expected.messages) == 7
        log = doc.locator(".llmos-AgentLog")
        assert int(log.get_attribute("data-count")) == len(expected.messages)
        # every message also arrived live, as an event, while the system ran
        assert int(log.get_attribute("data-live")) == len(expected.messages)
        got = [(r.get_attribute("data-sender"), r.get_attribute("data-receiver"),
                r.get_attribute("data-type")) for r in rows.all()]
        assert got == [(m["sender"], m["receiver"], m["type"]) for m in expected.messages]
        for actor, rec in expected.actors.items():
            box = doc.locator(f'[data-actor="{actor}"]')
            assert int(box.get_attribute("data-handled")) == rec["handled"], actor
            assert int(box.get_attribute("data-restarts")) == rec["restarts"] == 0
            assert box.get_attribute("data-status") == rec["status"] == "stopped"
        assert sum(int(doc.locator(f'[data-actor="{a}"]').get_attribute("data-handled"))
                   for a in ("ping", "pong")) == len(expected.messages)
        pings = sum(1 for m in expected.messages if m["type"] == "ping")
        assert f"ping ×{pings}" in _edge_labels(doc), _edge_labels(doc)

        # -- untrusted text is text: the tag is shown, never made an element -------------
        start = doc.locator('.llmos-AgentLog-row[data-type="start"] .llmos-AgentLog-payload')
        assert "<img src=x onerror=" in start.inner_text()
        assert doc.locator(".llmos-AgentLog img").count() == 0
        assert page.evaluate("() => window.__llmosXss") is None

        # -- the run was recorded as the runtime records it --------------------------------
        new = set(runs.glob("*.ipynb")) - before
        assert any("ping-pong" in p.name for p in new), sorted(p.name for p in new)
        page.screenshot(path=str(artifacts / "agents-ping-pong.png"))

        # -- an invalid *.agents.toml opens here by default and names its line -------------
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'broken.agents.toml'}); }")
        problem = page.locator(DOC + " .llmos-AgentProblem-error").first
        problem.wait_for(timeout=60_000)
        assert "line 3" in problem.inner_text() and "TOML" in problem.inner_text()
        assert problem.get_attribute("data-line") == "3"
        assert page.locator(DOC + " [data-action=run]").is_disabled()
        page.screenshot(path=str(artifacts / "agents-invalid.png"))
        assert not errors, errors
    finally:
        page.close()
