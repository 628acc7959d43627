"""Live node logs and the Dask dashboard link on the canvas, in a real browser.

A workflow document runs on the `processes` executor (JupyterLab setting): its skill
prints two lines, then waits until the test creates a gate file, then prints two more.
The first lines show on the node and in its side panel while the node is still running
(the engine's `node_log` events, forwarded by the document's kernel); after the run the
panel holds all four, as text (markup in them is never rendered). On the `dask` executor
the toolbar links the cluster's dashboard (http(s), a new tab, `rel=noopener`) while the
run goes on. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser.jlab import CURRENT, new_page, open_lab, put_settings, wait_run_over

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"
DOC = ".llmos-WorkflowDocument:visible"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

# Gated rather than timed: the test sees the first lines while the node waits for the
# gate, whatever the machine's speed (no wall-clock assumption).
GATED = """---
skill_id: gated-talker
description: Prints two lines, waits for a gate file, prints two more.
inputs:
  - {name: gate, type: string}
outputs:
  - {name: ok, type: boolean}
---

```python
import os
import sys
import time


def execute(inputs):
    print("talk 1: starting", flush=True)
    print("talk 2: <b>bold?</b> <img src=x onerror=alert(1)>", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(inputs["gate"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("talk 3: gate open", flush=True)
    print("talk 4: on stderr", file=sys.stderr, flush=True)
    return {"ok": os.path.exists(inputs["gate"])}
```
"""


def _workflow(gate: Path) -> dict:
    return {"id": "live-logs", "name": "live logs",
            "nodes": [{"id": "talker", "position": {"x": 0, "y": 0},
                       "data": {"skill": "gated-talker", "params": {"gate": str(gate)}}}],
            "edges": []}


def _open_doc(page, path: str) -> None:
    page.evaluate("() => { window.jupyterapp.commands.execute('llmos:refresh-skills'); }")
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute('docmanager:open', "
                  f"{{path: {json.dumps(path)}}}); }}")
    page.locator(f'{DOC} .react-flow__node[data-id="talker"]').wait_for(timeout=60_000)
    page.wait_for_function(f"() => {CURRENT}.context.sessionContext.session?.kernel",
                           timeout=60_000)


def _state(page) -> str:
    return page.evaluate(f"() => JSON.stringify([{CURRENT}.content.model.get('message'), "
                         f"{CURRENT}.content.model.get('statuses'), "
                         f"{CURRENT}.content.model.get('logs')])")


@pytest.mark.slow
def test_live_logs_on_the_processes_executor(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    user_skills = jupyter_paths["llmos_home"] / "user" / "skills"
    user_skills.mkdir(parents=True, exist_ok=True)
    (user_skills / "gated-talker.md").write_text(GATED, encoding="utf-8")
    gate = root / "live-logs.gate"
    gate.unlink(missing_ok=True)
    (root / "live-logs.workflow.json").write_text(json.dumps(_workflow(gate), indent=2),
                                                  encoding="utf-8")
    page, errors = new_page(browser, 1500, 1000, console=None)
    try:
        put_settings(base, token, {"executor": "processes"})
        open_lab(page, base, token)
        _open_doc(page, "live-logs.workflow.json")
        doc = page.locator(DOC)
        node = doc.locator('[data-node-id="talker"]').first
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")

        # -- while the node runs: its last line on the node, the lines in the side panel --
        try:
            page.wait_for_function(
                "() => document.querySelector('.llmos-WorkflowDocument:not(.lm-mod-hidden) "
                "[data-node-id=\"talker\"] .llmos-node__logline')?.textContent.includes('talk 2')",
                timeout=90_000)
        except Exception as exc:
            raise AssertionError(f"no live log line on the node: {_state(page)}") from exc
        assert node.get_attribute("data-status") == "running"  # before the node completes
        assert node.locator(".llmos-node__log").get_attribute("data-log-lines") == "2"
        doc.locator('.react-flow__node[data-id="talker"]').click()
        log = doc.locator('.llmos-side .llmos-log[data-log="talker"] pre')
        log.wait_for(timeout=10_000)
        assert log.inner_text().splitlines() == [
            "talk 1: starting", "talk 2: <b>bold?</b> <img src=x onerror=alert(1)>"]
        # Untrusted text is text: no element came out of it.
        assert log.locator("b, img").count() == 0 and node.locator("b, img").count() == 0
        assert node.get_attribute("data-status") == "running"
        page.screenshot(path=str(artifacts / "live-logs-running.png"))

        # -- the gate opens: the node completes with all four lines --------------------------
        gate.touch()
        wait_run_over(page, 120_000)
        assert node.get_attribute("data-status") == "completed", _state(page)
        page.wait_for_function(
            "() => document.querySelector('.llmos-WorkflowDocument:not(.lm-mod-hidden) "
            ".llmos-log[data-log=\"talker\"] pre')?.textContent.includes('talk 4')",
            timeout=10_000)
        assert log.inner_text().splitlines() == [
            "talk 1: starting", "talk 2: <b>bold?</b> <img src=x onerror=alert(1)>",
            "talk 3: gate open", "talk 4: on stderr"]
        assert node.locator(".llmos-node__log").get_attribute("data-log-lines") == "4"
        assert node.locator(".llmos-node__logline").count() == 0  # only while running
        page.screenshot(path=str(artifacts / "live-logs-done.png"))
        assert not [e for e in errors if "llmos" in e.lower()], errors
    finally:
        gate.touch()  # a node still waiting ends
        put_settings(base, token, {})
        page.close()


@pytest.mark.slow
def test_dask_dashboard_link_while_running(jupyter_server, jupyter_paths, browser, artifacts):
    pytest.importorskip("distributed")
    pytest.importorskip("bokeh")  # Dask serves its dashboard with bokeh
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    user_skills = jupyter_paths["llmos_home"] / "user" / "skills"
    user_skills.mkdir(parents=True, exist_ok=True)
    (user_skills / "gated-talker.md").write_text(GATED, encoding="utf-8")
    gate = root / "dask-logs.gate"
    gate.unlink(missing_ok=True)
    (root / "dask-logs.workflow.json").write_text(json.dumps(_workflow(gate), indent=2),
                                                  encoding="utf-8")
    page, errors = new_page(browser, 1500, 1000, console=None)
    try:
        put_settings(base, token, {"executor": "dask"})
        open_lab(page, base, token)
        _open_doc(page, "dask-logs.workflow.json")
        doc = page.locator(DOC)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")
        link = doc.locator(".llmos-toolbar a.llmos-dashboard")
        try:
            link.wait_for(timeout=120_000)
        except Exception as exc:
            raise AssertionError(f"no dashboard link while running: {_state(page)}") from exc
        assert page.evaluate(f"() => {CURRENT}.content.model.get('running')") is True
        href = link.get_attribute("href") or ""
        assert href.startswith(("http://", "https://")), href
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in (link.get_attribute("rel") or "").split()
        # The node's output reaches the canvas from the Dask worker too.
        page.wait_for_function(
            "() => document.querySelector('.llmos-WorkflowDocument:not(.lm-mod-hidden) "
            "[data-node-id=\"talker\"] .llmos-node__logline')?.textContent.includes('talk 2')",
            timeout=90_000)
        page.screenshot(path=str(artifacts / "live-logs-dask-dashboard.png"))
        gate.touch()
        wait_run_over(page, 120_000)
        assert doc.locator('[data-node-id="talker"]').first.get_attribute("data-status") == \
            "completed", _state(page)
        assert link.is_visible()  # still there after the run
        assert not [e for e in errors if "llmos" in e.lower()], errors
    finally:
        gate.touch()
        put_settings(base, token, {})
        page.close()


@pytest.mark.slow
def test_notebook_canvas_live_logs_and_switch_ports(jupyter_server, jupyter_paths, browser,
                                                    artifacts):
    """The Canvas widget in a notebook: the same live log on the processes executor, and a
    switch node drawn with the case ports its `cases` declare (wired from `case1`)."""
    from browser.jlab import NEW_NOTEBOOK, RUN_CELL, cell_text

    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    gate = root / "widget-logs.gate"
    gate.unlink(missing_ok=True)
    page, errors = new_page(browser, 1500, 1100, console=None)
    code = (
        "from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill\n"
        "from llmos_jupyter._widget.canvas import Canvas\n"
        f"lib = SkillLibrary(skills=[parse_skill({GATED!r})])\n"
        "wf = Workflow(id='widget-logs')\n"
        f"wf.add_node('gated-talker', id='talker', params={{'gate': {str(gate)!r}}})\n"
        "wf.add_node('switch', id='sw', params={'value': 2, 'cases': ['value < 0', 'value > 1']},"
        " position={'x': 0, 'y': 260})\n"
        "wf.add_node('gated-talker', id='after', position={'x': 380, 'y': 260})\n"
        "wf.connect('sw', 'case1', 'after', 'gate')\n"
        "engine = Engine(lib, trace=False, executor='processes', max_workers=2)\n"
        "c = Canvas(wf, library=lib, engine=engine, height=640)\nc")
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        out = page.evaluate(RUN_CELL, code)
        assert "Error" not in cell_text(out), cell_text(out)
        canvas = page.locator(".llmos-canvas")
        canvas.wait_for(timeout=30_000)
        canvas.scroll_into_view_if_needed()

        # -- the switch shows the ports its cases declare, and the wire from case1 ---------
        sw = page.locator('.react-flow__node[data-id="sw"]')
        sw.wait_for(timeout=15_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.react-flow__node[data-id=\"sw\"] "
            ".react-flow__handle.source')].map((h) => h.dataset.port).join() === "
            "'case0,case1,default'", timeout=15_000)
        assert page.locator('.react-flow__edge').count() == 1
        assert canvas.locator(".llmos-validity").get_attribute("data-validity") == "valid"
        # Cases edited (here from Python): the node's ports follow.
        page.evaluate(RUN_CELL, "c.set_params('sw', cases=['value < 0', 'value > 1', 'True'])")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.react-flow__node[data-id=\"sw\"] "
            ".react-flow__handle.source')].map((h) => h.dataset.port).join() === "
            "'case0,case1,case2,default'", timeout=15_000)
        canvas.locator('[data-action="fit"]').click()
        page.screenshot(path=str(artifacts / "switch-case-ports.png"))

        # -- a run: the talker's lines show before it completes ------------------------------
        page.evaluate(RUN_CELL, "h = c.run('talker')")
        node = page.locator('[data-node-id="talker"]').first
        page.wait_for_function(
            "() => document.querySelector('[data-node-id=\"talker\"] .llmos-node__logline')"
            "?.textContent.includes('talk 2')", timeout=90_000)
        assert node.get_attribute("data-status") == "running"
        page.locator('.react-flow__node[data-id="talker"]').click()
        log = canvas.locator('.llmos-side .llmos-log[data-log="talker"] pre')
        log.wait_for(timeout=10_000)
        assert "talk 1: starting" in log.inner_text()
        assert log.locator("b, img").count() == 0
        page.screenshot(path=str(artifacts / "live-logs-widget.png"))
        gate.touch()
        page.wait_for_function(
            "() => document.querySelector('[data-node-id=\"talker\"]')?.dataset.status "
            "=== 'completed'", timeout=60_000)
        page.wait_for_function(
            "() => document.querySelector('.llmos-log[data-log=\"talker\"] pre')"
            "?.textContent.includes('talk 4')", timeout=10_000)
        assert log.inner_text().splitlines()[-1] == "talk 4: on stderr"
        assert not [e for e in errors if "llmos" in e.lower()], errors
    finally:
        gate.touch()
        try:
            page.evaluate(RUN_CELL, "engine.close()")
        except Exception:  # noqa: BLE001 -- the page may be gone already
            pass
        page.close()


def _switch_doc(gate: Path) -> dict:
    """A switch whose case1 (`value != ''`) carries the gate's path into the talker."""
    return {
        "id": "switch-doc", "name": "switch ports",
        "nodes": [
            {"id": "sw", "position": {"x": 0, "y": 0},
             "data": {"skill": "switch", "params": {"value": str(gate),
                                                    "cases": ["value == ''", "value != ''"]}}},
            {"id": "talker", "position": {"x": 380, "y": 0}, "data": {"skill": "gated-talker"}},
        ],
        "edges": [{"id": "e", "source": "sw", "sourceHandle": "case1", "target": "talker",
                   "targetHandle": "gate"}],
    }


@pytest.mark.slow
def test_document_switch_ports_and_threads_logs(jupyter_server, jupyter_paths, browser,
                                                artifacts):
    """A workflow document draws a switch with its case ports (from the validate reply's
    node_ports) and, on the threads executor (no live node_log), shows each node's log
    from the run's reply."""
    from llmos_jupyter import _lab

    root: Path = jupyter_paths["root"]
    gate = root / "switch-doc.gate"
    gate.touch()  # open from the start: the talker does not wait
    probe = json.loads(_lab.validate_workflow_json(json.dumps(_switch_doc(gate))))
    assert "node_ports" in probe, probe
    base, token = jupyter_server
    user_skills = jupyter_paths["llmos_home"] / "user" / "skills"
    user_skills.mkdir(parents=True, exist_ok=True)
    (user_skills / "gated-talker.md").write_text(GATED, encoding="utf-8")
    (root / "switch-doc.workflow.json").write_text(json.dumps(_switch_doc(gate), indent=2),
                                                   encoding="utf-8")
    page, errors = new_page(browser, 1500, 1000, console=None)
    try:
        open_lab(page, base, token)
        _open_doc(page, "switch-doc.workflow.json")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.llmos-WorkflowDocument:not(.lm-mod-hidden) "
            ".react-flow__node[data-id=\"sw\"] .react-flow__handle.source')]"
            ".map((h) => h.dataset.port).join() === 'case0,case1,default'", timeout=60_000)
        doc = page.locator(DOC)
        assert doc.locator(".react-flow__edge").count() == 1
        page.screenshot(path=str(artifacts / "switch-case-ports-document.png"))

        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")
        wait_run_over(page, 120_000)
        assert doc.locator('[data-node-id="talker"]').first.get_attribute("data-status") == \
            "completed", _state(page)
        doc.locator('.react-flow__node[data-id="talker"]').click()
        log = doc.locator('.llmos-side .llmos-log[data-log="talker"] pre')
        log.wait_for(timeout=10_000)
        assert log.inner_text().splitlines()[0] == "talk 1: starting"
        assert log.inner_text().splitlines()[-1] == "talk 4: on stderr"
        assert not [e for e in errors if "llmos" in e.lower()], errors
    finally:
        page.close()
