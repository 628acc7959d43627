"""The JupyterLab side of control flow and the llmos kernel, in a real browser.

- The launcher offers "New workflow from template" (one card per template of `llmos new`);
  a card writes the same files `llmos new` makes (sub-workflows too) and opens the canvas.
- The llmos kernel: its launcher card shows; "+ cell" in the skill library with no
  notebook open makes a notebook on the llmos kernel, and neither that nor a drag of a
  skill into it adds `%load_ext llmos_jupyter` (the kernel has the magics): the cell runs.
- The run history shows the statistics of the selected workflow, the same figures as
  `llmos_jupyter._stats.stats_report` (what `llmos stats --json` prints).
- The executor setting shows in the canvas toolbar and goes with document runs.
Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser.jlab import CELLS, CURRENT, WAIT_IDLE, drag, new_page, open_lab, put_settings

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")


def _open(page, path: str) -> None:
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute('docmanager:open', "
                  f"{{path: {json.dumps(path)}}}); }}")


@pytest.mark.slow
def test_new_workflow_from_template(jupyter_server, jupyter_paths, browser, artifacts):
    new = pytest.importorskip("llmos_jupyter._commands.new")
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    work = root / "from-templates"
    work.mkdir(exist_ok=True)
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        cards = page.locator('.jp-LauncherCard[data-category="Workflow from template"]')
        labels = cards.evaluate_all("els => els.map((e) => e.innerText.trim())")
        # The four known from the start (no kernel needed to show the launcher) …
        assert labels[:4] == ["Blank workflow", "H₂ dissociation curve", "HTTP → SQL", "Branching"]
        # … and every template `llmos new` has, once the library kernel listed them.
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-skill-library'); }")
        page.wait_for_function("n => document.querySelectorAll('.jp-LauncherCard"
                               "[data-category=\"Workflow from template\"]').length === n",
                               arg=len(new.TEMPLATES), timeout=60_000)
        assert cards.count() == len(new.TEMPLATES)
        page.screenshot(path=str(artifacts / "launcher-templates.png"))

        # Each card, in a folder of its own: the files `llmos new` makes, opened in the canvas.
        for template, label in (("branching", "Branching"), ("h2-curve", "H₂ dissociation curve")):
            page.evaluate(f"() => {{ window.jupyterapp.commands.execute("
                          f"'llmos:new-workflow-from-template', "
                          f"{{template: '{template}', cwd: 'from-templates'}}); }}")
            doc = page.locator(".llmos-WorkflowDocument:visible")
            first = json.loads(next(iter(new.new_workflow_files(template, template).values())))
            doc.locator(f'.react-flow__node[data-id="{first["nodes"][0]["id"]}"]').wait_for(
                timeout=60_000)
            assert page.evaluate(f"() => {CURRENT}.context.path") == \
                f"from-templates/{template}.workflow.json"
            for rel, text in new.new_workflow_files(template, template).items():
                assert (work / rel).read_text(encoding="utf-8") == text, rel
            # The canvas shows every node of the template.
            shown = sorted(doc.locator(".react-flow__node").evaluate_all(
                "els => els.map((e) => e.dataset.id)"))
            assert shown == sorted(n["id"] for n in first["nodes"])
        page.screenshot(path=str(artifacts / "launcher-template-h2-curve.png"))

        # The same card again: a new name, the first file untouched.
        before = (work / "branching.workflow.json").read_text(encoding="utf-8")
        page.evaluate("() => { window.jupyterapp.commands.execute("
                      "'llmos:new-workflow-from-template', "
                      "{template: 'branching', cwd: 'from-templates'}); }")
        page.wait_for_function(f"() => {CURRENT}?.context?.path === "
                               "'from-templates/branching-2.workflow.json'", timeout=60_000)
        assert (work / "branching.workflow.json").read_text(encoding="utf-8") == before
        second = json.loads((work / "branching-2.workflow.json").read_text(encoding="utf-8"))
        assert second["id"] == second["name"] == "branching-2"
        assert not errors, errors
    finally:
        page.close()
        shutil.rmtree(work, ignore_errors=True)


def _ensure_llmos_kernelspec(jdata: Path) -> None:
    """The llmos kernelspec where the test server looks (its isolated data folder), unless
    the environment has it already (a wheel install)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if "llmos" in KernelSpecManager().find_kernel_specs():
        return
    kernel = pytest.importorskip("llmos_jupyter._kernel")
    target = jdata / "kernels" / "llmos"
    if target.exists():
        return
    shutil.copytree(kernel.KERNELSPEC_DIR, target)
    spec = json.loads((target / "kernel.json").read_text(encoding="utf-8"))
    spec["argv"][0] = sys.executable
    (target / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


@pytest.mark.slow
def test_llmos_kernel_needs_no_load_ext(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    _ensure_llmos_kernelspec(jupyter_paths["root"].parent / "jdata")
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        card = page.locator('.jp-LauncherCard[data-category="Notebook"]').filter(
            has_text="Python 3 (llmos)")
        assert card.count() == 1

        # "+ cell" with no notebook open: a new notebook on the llmos kernel, no %load_ext.
        assert page.evaluate("() => window.jupyterapp.shell.widgets('main').next()?.value"
                             "?.constructor?.name !== 'NotebookPanel'")
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-skill-library'); }")
        panel = page.locator("#llmos-skills")
        skill = panel.locator('[data-skill-id="quantum-hamiltonian"]')
        skill.wait_for(timeout=60_000)
        skill.hover()
        skill.locator("[data-action=insert]").click()
        page.wait_for_function(f"() => {CURRENT}?.sessionContext?.session?.kernel?.name === "
                               "'llmos'", timeout=60_000)
        cells = page.evaluate(CELLS)
        assert [c["source"].splitlines()[0] for c in cells] == [
            "%%skill quantum_hamiltonian --uses quantum-hamiltonian"], cells

        # A drag into it adds the cell, and no %load_ext either.
        target = page.locator(".jp-NotebookPanel:visible .jp-Notebook").first
        box = target.bounding_box()
        drag(page, panel.locator('[data-skill-id="circuit-rc"] .llmos-Skill-id'),
             box["x"] + box["width"] / 2, box["y"] + box["height"] - 40)
        page.wait_for_function(f"() => {CURRENT}.content.widgets.length >= 2")
        sources = [c["source"] for c in page.evaluate(CELLS)]
        assert not any("%load_ext" in s for s in sources), sources
        assert sum(s.startswith("%%skill ") for s in sources) == 2, sources

        # The magics are there without it: the first cell runs.
        page.evaluate(f"() => {{ {CURRENT}.content.activeCellIndex = 0; "
                      "window.jupyterapp.commands.execute('notebook:run-cell'); }")
        page.wait_for_timeout(300)
        page.evaluate(WAIT_IDLE)
        out = page.evaluate(CELLS)[0]["outputs"]
        assert out and not any(o["output_type"] == "error" for o in out), out
        page.screenshot(path=str(artifacts / "llmos-kernel-notebook.png"))
        page.evaluate(f"() => {{ {CURRENT}.sessionContext.shutdown(); }}")
        assert not errors, errors
    finally:
        page.close()


FAIL_SKILL = """---
skill_id: fail-for-stats
description: Always raises (a stand-in for a node that fails).
inputs: []
outputs:
  - {name: value, type: any}
---

```python
def execute(inputs):
    raise ValueError("boom <img src=x onerror=alert(1)>")
```
"""

STATS_WORKFLOW = {
    "id": "stats-demo", "name": "stats-demo",
    "nodes": [
        {"id": "rc", "position": {"x": 0, "y": 0}, "data": {"skill": "circuit-rc", "params": {}}},
        {"id": "bad", "position": {"x": 0, "y": 200},
         "data": {"skill": "fail-for-stats", "params": {}}},
    ],
    "edges": [],
}


def _rate(r: float | None) -> str:  # formatRate of src/lab/stats.ts
    if r is None:
        return "—"
    pct = r * 100
    return f"{int(pct + 0.5) if pct >= 10 or pct == 0 else f'{pct:.1f}'} %"


@pytest.mark.slow
def test_run_history_statistics(jupyter_server, jupyter_paths, browser, artifacts):
    stats = pytest.importorskip("llmos_jupyter._stats")
    base, token = jupyter_server
    home: Path = jupyter_paths["llmos_home"]
    skills = home / "user" / "skills"
    skills.mkdir(parents=True, exist_ok=True)
    (skills / "fail-for-stats.md").write_text(FAIL_SKILL, encoding="utf-8")
    wf = jupyter_paths["root"] / "stats-demo.workflow.json"
    wf.write_text(json.dumps(STATS_WORKFLOW), encoding="utf-8")
    env = dict(os.environ, LLMOS_HOME=str(home),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    for _ in range(2):  # two runs (each fails at "bad"; "rc" completes, then maybe cached)
        subprocess.run([sys.executable, "-m", "llmos_jupyter", "run", str(wf)], env=env,
                       capture_output=True, timeout=120, check=False)
    want = stats.stats_report(workflow="stats-demo", folder=home / "user" / "traces")
    assert want["runs"] == 2, want

    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        # Another workflow ran last; the open document's statistics are shown first.
        subprocess.run([sys.executable, "-m", "llmos_jupyter", "run",
                        str(REPO / "notebooks" / "rc-circuit.workflow.json")], env=env,
                       capture_output=True, timeout=120, check=False)
        open_lab(page, base, token)
        _open(page, "stats-demo.workflow.json")
        page.locator('.llmos-WorkflowDocument:visible .react-flow__node[data-id="bad"]').wait_for(
            timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-run-history'); }")
        picker = page.locator("#llmos-runs [data-action=stats-workflow]")
        picker.wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('#llmos-runs "
                               "[data-action=stats-workflow]').value === 'stats-demo'",
                               timeout=30_000)
        options = picker.locator("option").evaluate_all("els => els.map((e) => e.value)")
        # Workflows by id (each run's workflow_id), the latest run's first.
        assert options[0] == "rc-circuit" and "stats-demo" in options, options
        # Picking another workflow shows its figures; picking back shows these again.
        picker.select_option("rc-circuit")
        page.locator('#llmos-runs .llmos-Stats-body[data-workflow="rc-circuit"]').wait_for(
            timeout=60_000)
        picker.select_option("stats-demo")
        body = page.locator('#llmos-runs .llmos-Stats-body[data-workflow="stats-demo"]')
        body.wait_for(timeout=60_000)
        assert body.get_attribute("data-runs") == "2"
        figures = body.locator(".llmos-Stats-figures")
        assert figures.locator("[data-stat=success-rate]").inner_text() == \
            f"success {_rate(want['success_rate'])}"
        assert figures.locator("[data-stat=cache-hit-rate]").inner_text() == \
            f"cache hits {_rate(want['cache_hit_rate'])}"
        rows = body.locator("[data-stat=nodes] tbody tr")
        assert sorted(rows.evaluate_all("els => els.map((e) => e.dataset.node)")) == \
            sorted(n["node"] for n in want["nodes"])
        bad = body.locator('[data-stat=nodes] tr[data-node="bad"] td')
        assert bad.nth(1).inner_text() == "2" and bad.nth(4).inner_text() == "2"  # runs, failed
        # Failures grouped by error: one group, twice, at "bad"; its text stays text.
        groups = body.locator("[data-stat=failures] li")
        assert groups.count() == len(want["failures"]) == 1
        assert groups.first.get_attribute("data-count") == "2"
        # (the group's text has its numbers as "#"; the first message seen is its tooltip)
        assert want["failures"][0]["error"] == "ValueError: boom <img src=x onerror=alert(#)>"
        assert want["failures"][0]["error"] in groups.first.inner_text()
        assert groups.first.locator(".llmos-Stats-error").get_attribute("title") == \
            "ValueError: boom <img src=x onerror=alert(1)>"
        assert body.locator("img").count() == 0
        assert "at bad" in groups.first.inner_text()
        slowest = body.locator("[data-stat=slowest] [data-node]").evaluate_all(
            "els => els.map((e) => e.dataset.node)")
        assert slowest == [b["node"] for b in want["bottlenecks"]][:5]
        page.locator("#llmos-runs .llmos-Stats").screenshot(path=str(artifacts / "run-stats.png"))
        assert not errors, errors
    finally:
        page.close()


@pytest.mark.slow
def test_executor_setting(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    shutil.copy(REPO / "notebooks" / "rc-circuit.workflow.json", root / "exec.workflow.json")
    page, errors = new_page(browser, 1500, 1000, console=None)
    try:
        put_settings(base, token, {"executor": "processes"})
        open_lab(page, base, token)
        _open(page, "exec.workflow.json")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        pill = doc.locator(".llmos-toolbar .llmos-executor")
        pill.wait_for(timeout=60_000)
        assert pill.get_attribute("data-executor") == "processes"
        assert pill.inner_text().strip() == "⚙ processes"

        # dask with a scheduler address: shown; changes apply to open documents at once.
        put_settings(base, token, {"executor": "dask", "daskScheduler": "tcp://127.0.0.1:1"})
        page.reload()
        page.wait_for_selector(".jp-LauncherCard, .llmos-WorkflowDocument", timeout=60_000)
        _open(page, "exec.workflow.json")
        pill = page.locator(".llmos-WorkflowDocument:visible .llmos-toolbar .llmos-executor")
        pill.wait_for(timeout=60_000)
        assert pill.inner_text().strip() == "⚙ dask · tcp://127.0.0.1:1"

        from llmos_jupyter import _lab
        if "executor" not in inspect.signature(_lab.run_workflow_json).parameters:
            pytest.skip("llmos_jupyter._lab.run_workflow_json takes no executor= yet")
        # A run on processes: the document's kernel runs it there and completes.
        put_settings(base, token, {"executor": "processes"})
        page.reload()
        page.wait_for_selector(".jp-LauncherCard, .llmos-WorkflowDocument", timeout=60_000)
        _open(page, "exec.workflow.json")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        doc.locator('.react-flow__node[data-id="rc"]').wait_for(timeout=60_000)
        page.wait_for_function(f"() => {CURRENT}.context.sessionContext.session?.kernel", timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")
        page.wait_for_function(f"() => {CURRENT}.content.model.get('running') === false && "
                               f"['completed', 'failed', 'error', 'invalid', 'cancelled']"
                               f".includes({CURRENT}.content.node.dataset.runStatus)",
                               timeout=120_000)
        state = page.evaluate(f"() => [{CURRENT}.content.node.dataset.runStatus, "
                              f"{CURRENT}.content.model.get('message')]")
        assert state[0] == "completed", state
        page.screenshot(path=str(artifacts / "executor-setting.png"))
        assert not [e for e in errors if "llmos" in e.lower()], errors
    finally:
        put_settings(base, token, {})
        page.close()
