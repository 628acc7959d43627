"""Workflow documents' runs and the run history in a real browser (JupyterLab + Chromium).

A `*.workflow.json` of two slow nodes runs in the document's own kernel (the toolbar's
kernel picker shows it): statuses change live while it runs (one node `running`, the
next `queued`); Cancel interrupts the kernel, the running node finishes and the next is
skipped; Run node + downstream runs only what it must; the run history re-runs a trace
with its parameters and compares two runs side by side. Screenshots go to
tests/browser/artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser.jlab import CURRENT, new_page, open_lab, wait_run_over

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

# Sleeps long enough for a browser to see it running; returns a computed value.
SLOW_SKILL = """---
skill_id: slow-double
description: Doubles x after waiting `seconds` (a stand-in for a long computation).
inputs:
  - {name: x, type: number, default: 1}
  - {name: seconds, type: number, default: 1.5, unit: s}
outputs:
  - {name: y, type: number}
---

```python
import time


def execute(inputs):
    time.sleep(inputs["seconds"])
    return {"y": 2 * inputs["x"]}
```
"""

WORKFLOW = {
    "id": "slow-pair", "name": "slow pair",
    "nodes": [
        {"id": "a", "position": {"x": 0, "y": 0},
         "data": {"skill": "slow-double", "params": {"x": 3}}},
        {"id": "b", "position": {"x": 320, "y": 0}, "data": {"skill": "slow-double"}},
    ],
    "edges": [{"id": "a-b", "source": "a", "sourceHandle": "y", "target": "b",
               "targetHandle": "x"}],
}



def _status(doc, node: str) -> str | None:
    return doc.locator(f'[data-node-id="{node}"]').first.get_attribute("data-status")


def _wait_status(page, node: str, *statuses: str, timeout: float = 60_000) -> None:
    want = json.dumps(list(statuses))
    try:
        page.wait_for_function(
            f"() => {want}.includes(document.querySelector('.llmos-WorkflowDocument:not(.lm-mod-hidden) "
            f"[data-node-id=\"{node}\"]')?.dataset.status)", timeout=timeout)
    except Exception as exc:
        state = page.evaluate(f"() => [{CURRENT}.content.model.get('message'), "
                              f"JSON.stringify({CURRENT}.content.model.get('statuses'))]")
        raise AssertionError(f"node {node} never became {statuses}: {state}") from exc


def _start(page, command: str) -> None:
    """Execute a command without waiting for the promise it returns (a run's end)."""
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{command}'); }}")


@pytest.mark.slow
def test_document_runs_live_cancel_and_history(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    user_skills = jupyter_paths["llmos_home"] / "user" / "skills"
    user_skills.mkdir(parents=True, exist_ok=True)
    (user_skills / "slow-double.md").write_text(SLOW_SKILL, encoding="utf-8")
    (root / "slow.workflow.json").write_text(json.dumps(WORKFLOW, indent=2), encoding="utf-8")

    page, errors = new_page(browser, 1500, 1000, console=None)
    try:
        open_lab(page, base, token)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:refresh-skills'); }")
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'slow.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        for n in ("a", "b"):
            doc.locator(f'.react-flow__node[data-id="{n}"]').wait_for()

        # -- the document has a kernel of its own, shown (and changeable) in its toolbar ----
        page.wait_for_function(f"() => {CURRENT}.context.sessionContext.session?.kernel?.name "
                               "=== 'python3'", timeout=60_000)
        assert "Python" in doc.locator(".jp-Toolbar-kernelName").inner_text()

        # -- 1. run, cancel while "a" runs: "a" is interrupted (the engine raises
        #       NodeCancelled in a running in-process node) or had finished; "b" is skipped --
        _start(page, "llmos:run-workflow")
        _wait_status(page, "a", "running")
        assert _status(doc, "b") == "queued"  # live: the engine's events, not the end result
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:cancel-run'); }")
        wait_run_over(page, 90_000)
        assert _status(doc, "a") in ("completed", "failed")
        if _status(doc, "a") == "failed":
            assert "NodeCancelled" in doc.locator('[data-node-id="a"]').first.inner_text()
        assert _status(doc, "b") == "skipped"
        assert doc.locator(".llmos-WorkflowCanvas").get_attribute("data-run-status") != "completed"

        # -- 2. run again: "a" is cached (or runs again, if it was interrupted), "b" is seen
        #       running, then both are done ------------------------------------------------
        _start(page, "llmos:run-workflow")
        _wait_status(page, "b", "running")
        wait_run_over(page, 90_000)
        assert doc.locator(".llmos-WorkflowCanvas").get_attribute("data-run-status") == "completed"
        assert _status(doc, "a") in ("cached", "completed") and _status(doc, "b") == "completed"
        # The preview of b's output arrived with the result: y = 2 * (2 * 3) = 12.
        assert "12" in doc.locator('[data-node-id="b"]').first.inner_text()
        page.screenshot(path=str(artifacts / "workflow-runs-document.png"))

        # -- 3. run node + downstream from the selected node ---------------------------------
        doc.locator('.react-flow__node[data-id="b"]').click()
        page.wait_for_function(f"() => {CURRENT}.content.selectedNode() === 'b'")
        _start(page, "llmos:run-node-downstream")
        wait_run_over(page, 90_000)
        assert _status(doc, "b") == "cached"

        # -- 4. the run history: re-run the first completed run, compare two runs ----------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-run-history'); }")
        runs = page.locator("#llmos-runs .llmos-Run")
        page.wait_for_function("() => [...document.querySelectorAll('#llmos-runs .llmos-Run')]"
                               ".filter((e) => e.textContent.includes('slow pair')).length >= 3",
                               timeout=30_000)
        count = runs.count()
        # (other tests of the session may have left runs of other workflows)
        ours = page.locator("#llmos-runs .llmos-Run").filter(has_text="slow pair")
        cancelled = ours.and_(page.locator(".llmos-Run:not([data-status=completed])")).first
        completed = ours.and_(page.locator(".llmos-Run[data-status=completed]")).last
        cancelled.locator("[data-action=pick]").check()
        completed.locator("[data-action=pick]").check()
        page.locator("#llmos-runs [data-action=compare]").click()
        table = page.locator(".llmos-CompareWidget .llmos-Compare-table")
        table.wait_for(timeout=30_000)
        row = table.locator('tr[data-node="b"][data-kind="status"]')
        assert row.get_attribute("data-same") == "false"
        assert "skipped" in row.inner_text() and "completed" in row.inner_text()
        same = table.locator('tr[data-node="a"][data-kind="param"][data-name="x"]')
        assert same.get_attribute("data-same") == "true" and "3" in same.inner_text()
        page.screenshot(path=str(artifacts / "workflow-runs-compare.png"))

        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-run-history'); }")
        completed.locator("[data-action=rerun]").click()
        page.wait_for_function(
            f"() => document.querySelectorAll('#llmos-runs .llmos-Run').length === {count + 1}",
            timeout=60_000)
        assert page.locator("#llmos-runs .llmos-Run").first.get_attribute("data-status") == \
            "completed"
        assert not errors, errors
    finally:
        page.close()


JS_WORKFLOW = {
    "id": "js-doc", "name": "js in a document",
    "nodes": [
        {"id": "ma", "position": {"x": 0, "y": 0},
         "data": {"skill": "moving-average", "params": {"values": [1, 2, 3, 4, 5, 6], "window": 3}}},
        {"id": "stats", "position": {"x": 320, "y": 0}, "data": {"skill": "data-analysis"}},
    ],
    "edges": [{"id": "e", "source": "ma", "sourceHandle": "smoothed", "target": "stats",
               "targetHandle": "data"}],
}


@pytest.mark.slow
def test_document_runs_a_javascript_node_in_the_page(jupyter_server, jupyter_paths, browser,
                                                      artifacts):
    """The kernel asks the page for the JavaScript node (stdin); a Web Worker computes it;
    the Python node downstream gets its output."""
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    (root / "js.workflow.json").write_text(json.dumps(JS_WORKFLOW, indent=2), encoding="utf-8")
    page, errors = new_page(browser, 1400, 900, console=None)
    try:
        open_lab(page, base, token)
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'js.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        doc.locator('.react-flow__node[data-id="ma"]').wait_for()
        page.wait_for_function(f"() => {CURRENT}.context.sessionContext.session?.kernel?.name "
                               "=== 'python3'", timeout=60_000)
        _start(page, "llmos:run-workflow")
        wait_run_over(page, 90_000)
        state = page.evaluate(f"() => [{CURRENT}.content.model.get('message'), "
                              f"{CURRENT}.content.model.get('previews')]")
        assert doc.locator(".llmos-WorkflowCanvas").get_attribute("data-run-status") == \
            "completed", state
        assert _status(doc, "ma") == "completed" and _status(doc, "stats") == "completed"
        previews = state[1]
        # Trailing mean of 3 over 1..6 → [2, 3, 4, 5], computed in the page's Web Worker;
        # the Python node's mean of those is 3.5.
        assert previews["ma"]["smoothed"]["values"] == [2, 3, 4, 5]
        assert previews["stats"]["mean"]["value"] == 3.5
        page.screenshot(path=str(artifacts / "workflow-runs-javascript.png"))
        assert not errors, errors
    finally:
        page.close()
