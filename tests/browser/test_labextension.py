"""The JupyterLab extension in a real browser (JupyterLab + Debian Chromium + Playwright).

One session, in order: the skill library sidebar (`#llmos-skills`) lists the shipped
skills and its search filters; dragging a skill into a notebook inserts a `%%skill` cell
that runs; a `*.workflow.json` opens in the canvas editor, is edited (a node dragged,
auto-layout from the command), marked dirty, saved (the file on disk changes), reverted
and reopened intact; running it from the command writes a trace that the run history
lists and opens. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from browser.jlab import CELLS, NEW_NOTEBOOK, WAIT_IDLE, center, drag, new_page, open_lab

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"
RC = REPO / "notebooks" / "rc-circuit.workflow.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")


def _shipped_skill_ids() -> list[str]:
    from llmos_jupyter._paths import system_skills_dir
    from llmos_jupyter._skills.library import SkillLibrary

    return sorted(s.skill_id for s in SkillLibrary(volumes=[("system", system_skills_dir())]))


@pytest.mark.slow
def test_labextension(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        # "New workflow" is in the launcher.
        assert page.locator('.jp-LauncherCard[title*="workflow" i], '
                            '.jp-LauncherCard:has-text("Workflow")').count() >= 1

        # -- 1. the sidebar lists the shipped skills ---------------------------------------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-skill-library'); }")
        panel = page.locator("#llmos-skills")
        shipped = _shipped_skill_ids()
        page.wait_for_selector(f'#llmos-skills [data-skill-id="{shipped[0]}"]', timeout=60_000)
        listed = sorted(panel.locator("[data-skill-id]").evaluate_all(
            "els => els.map((e) => e.dataset.skillId)"))
        # Exactly the shipped skills, plus skills other tests of this session wrote to the
        # server's user volume (its LLMOS_HOME is shared by the session's browser tests).
        user = jupyter_paths["llmos_home"] / "user" / "skills"
        extra = sorted(p.stem for p in user.glob("*.md")) if user.is_dir() else []
        everything = sorted(shipped + [e for e in extra if e not in shipped])
        assert listed == everything
        vqe = panel.locator('[data-skill-id="quantum-vqe"]')
        assert "system" in vqe.inner_text() and "iterations: integer" in vqe.inner_text()
        page.screenshot(path=str(artifacts / "labextension-sidebar.png"))

        # -- 2. search filters -------------------------------------------------------------
        panel.locator("input[type=search]").fill("quantum")
        page.wait_for_function("() => document.querySelectorAll("
                               "'#llmos-skills [data-skill-id]').length === "
                               f"{sum('quantum' in s for s in shipped)}")
        assert all(s.startswith("quantum")
                   for s in panel.locator("[data-skill-id]").evaluate_all(
                       "els => els.map((e) => e.dataset.skillId)"))
        panel.locator("input[type=search]").fill("no-such-skill-zzz")
        page.wait_for_selector('#llmos-skills [data-state="empty"]')
        panel.locator("input[type=search]").fill("")
        page.wait_for_function(f"() => document.querySelectorAll("
                               f"'#llmos-skills [data-skill-id]').length === {len(everything)}")

        # -- 3. drag a skill into a notebook: a %%skill cell that runs ----------------------
        page.evaluate(NEW_NOTEBOOK)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        target = page.locator(".jp-NotebookPanel:visible .jp-Notebook").first
        box = target.bounding_box()
        drag(page, panel.locator('[data-skill-id="quantum-hamiltonian"] .llmos-Skill-id'),
              box["x"] + box["width"] / 2, box["y"] + 40)
        cells = page.evaluate(CELLS)
        skill_cells = [c for c in cells if c["source"].startswith("%%skill")]
        assert len(skill_cells) == 1, cells
        assert skill_cells[0]["source"].splitlines()[0] == \
            "%%skill quantum_hamiltonian --uses quantum-hamiltonian"
        assert "bond_length = " in skill_cells[0]["source"]
        assert cells[0]["source"] == "%load_ext llmos_jupyter"
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_timeout(300)
        page.evaluate(WAIT_IDLE)
        cells = page.evaluate(CELLS)
        out = next(c for c in cells if c["source"].startswith("%%skill"))["outputs"]
        assert out and not any(o["output_type"] == "error" or o.get("name") == "stderr"
                               for o in out), out
        page.screenshot(path=str(artifacts / "labextension-drop-skill.png"))

        # -- 4. a workflow document: open, edit, dirty, save, revert, reopen ----------------
        shutil.copy(RC, root / "rc.workflow.json")
        original = json.loads((root / "rc.workflow.json").read_text())
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'rc.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        node_ids = [n["id"] for n in original["nodes"]]
        for n in node_ids:
            doc.locator(f'.react-flow__node[data-id="{n}"]').wait_for()
        assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty") \
            is False
        # Edit: drag a node 160 px down.
        node = doc.locator(f'.react-flow__node[data-id="{node_ids[0]}"] .llmos-node__title, '
                           f'.react-flow__node[data-id="{node_ids[0]}"]').first
        x, y = center(node)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 10, y + 80, steps=5)
        page.mouse.move(x + 20, y + 160, steps=5)
        page.mouse.up()
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty === true")
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty === false")
        saved = json.loads((root / "rc.workflow.json").read_text())
        pos = {n["id"]: n["position"] for n in saved["nodes"]}
        before = {n["id"]: n["position"] for n in original["nodes"]}
        assert pos[node_ids[0]] != before[node_ids[0]], (pos, before)
        assert [n["id"] for n in saved["nodes"]] == node_ids
        assert saved["edges"] == original["edges"]

        # Auto-layout from the command edits too; revert brings back the saved file.
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:auto-layout'); }")
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty === true")
        page.evaluate("() => window.jupyterapp.shell.currentWidget.context.revert()")
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty === false")
        assert json.loads((root / "rc.workflow.json").read_text()) == saved

        # Close and reopen: the canvas shows the saved document intact.
        page.evaluate("() => window.jupyterapp.shell.currentWidget.close()")
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'rc.workflow.json'}); }")
        for n in node_ids:
            doc.locator(f'.react-flow__node[data-id="{n}"]').wait_for()
        canvas_doc = page.evaluate(
            "() => JSON.parse(window.jupyterapp.shell.currentWidget.content.workflowText())")
        assert {n["id"]: n["position"] for n in canvas_doc["nodes"]} == pos
        assert canvas_doc["edges"] == saved["edges"]

        # -- 5. run it (command) and see the run in the run history ------------------------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")
        # data-run-status is "running" while the kernel checks and runs: wait for the end.
        page.wait_for_selector(".llmos-WorkflowCanvas:is([data-run-status=completed], "
                               "[data-run-status=failed], [data-run-status=cancelled], "
                               "[data-run-status=invalid], [data-run-status=error])",
                               timeout=90_000)
        assert doc.locator(".llmos-WorkflowCanvas").get_attribute("data-run-status") == \
            "completed", doc.locator('[role="status"]').all_inner_texts()
        for n in node_ids:
            assert doc.locator(f'[data-node-id="{n}"]').first.get_attribute("data-status") in (
                "completed", "cached")
        page.screenshot(path=str(artifacts / "labextension-workflow.png"))

        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-run-history'); }")
        run = page.locator('#llmos-runs .llmos-Run[data-status="completed"]').first
        run.wait_for(timeout=30_000)
        assert "RC step response" in run.inner_text()
        page.screenshot(path=str(artifacts / "labextension-runs.png"))
        run.click()
        page.wait_for_function("() => (window.jupyterapp.shell.currentWidget?.context?.path ?? '')"
                               ".startsWith('llmos-traces/')", timeout=30_000)
        assert not errors, errors
    finally:
        page.close()
