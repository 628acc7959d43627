"""The JupyterLab extension in the offline site (``/lab/``), in headless Chromium.

Uses the session's offline build (``conftest.lite_site``). The skill library sidebar
starts its library kernel, which in the site is a Pyodide kernel: the extension installs
``llmos-jupyter`` into it from the site's piplite index, then lists the skills. A
``*.workflow.json`` opens in the canvas document and runs to completed in Pyodide. No
request may leave 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lite_chromium import ARGS, CHROMIUM, needs_browser, outside, sync_playwright

REPO = Path(__file__).resolve().parents[2]


def _shipped_skill_ids() -> list[str]:
    from llmos_jupyter._paths import system_skills_dir
    from llmos_jupyter._skills.library import SkillLibrary

    return sorted(s.skill_id for s in SkillLibrary(volumes=[("system", system_skills_dir())]))


def _drive(site_url: str) -> dict:
    requests: list[str] = []
    errors: list[str] = []
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            t0 = time.perf_counter()
            page.goto(f"{site_url}/lab/index.html")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands"
                                   ".hasCommand('llmos:open-skill-library')", timeout=90_000)
            out["extensions"] = page.evaluate(
                "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                ".federated_extensions?.map(e => e.name) ?? []")

            # -- the sidebar: its Pyodide library kernel lists the shipped skills ----------
            page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-skill-library'); }")
            panel = page.locator("#llmos-skills")
            page.wait_for_function(
                "() => document.querySelector('#llmos-skills [data-skill-id]') || "
                "document.querySelector('#llmos-skills [data-state=\"error\"]')",
                timeout=180_000)
            out["sidebar_s"] = time.perf_counter() - t0
            out["sidebar_error"] = panel.locator('[data-state="error"]').all_inner_texts()
            out["skills"] = sorted(panel.locator("[data-skill-id]").evaluate_all(
                "els => els.map((e) => e.dataset.skillId)"))

            # -- a workflow document in the canvas, run in the library kernel --------------
            page.evaluate("async () => { await window.jupyterapp.commands.execute("
                          "'docmanager:open', {path: 'rc-stats.workflow.json'}); }")
            doc = page.locator(".llmos-WorkflowDocument:visible")
            wf = json.loads((REPO / "jupyterlite/files/rc-stats.workflow.json").read_text())
            out["node_ids"] = [n["id"] for n in wf["nodes"]]
            for n in out["node_ids"]:
                doc.locator(f'.react-flow__node[data-id="{n}"]').wait_for(timeout=30_000)
            t1 = time.perf_counter()
            page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")
            # data-run-status is "running" while the kernel checks and runs: wait for the end.
            page.wait_for_selector(".llmos-WorkflowCanvas:is([data-run-status=completed], "
                                   "[data-run-status=failed], [data-run-status=cancelled], "
                                   "[data-run-status=invalid], [data-run-status=error])",
                                   timeout=120_000)
            out["run_s"] = time.perf_counter() - t1
            out["run_status"] = doc.locator(".llmos-WorkflowCanvas").get_attribute(
                "data-run-status")
            out["status_text"] = doc.locator('[role="status"]').all_inner_texts()
            out["node_status"] = {n: doc.locator(f'[data-node-id="{n}"]').first
                                  .get_attribute("data-status") for n in out["node_ids"]}
            # The run's trace was written into the browser's storage (the site's contents).
            out["traces"] = page.evaluate("""async () => {
              const c = window.jupyterapp.serviceManager.contents;
              const d = await c.get('llmos/user/traces', {content: true});
              return d.content.map(x => x.path);
            }""")
            artifacts = REPO / "tests/browser/artifacts"
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "lite-lab-workflow.png"))
        finally:
            browser.close()
    out["requests"], out["errors"] = requests, errors
    return out


@needs_browser
def test_sidebar_and_workflow_document_work_in_the_offline_site(site_url: str) -> None:
    with ThreadPoolExecutor(1) as pool:  # own thread: see test_lite_site
        out = pool.submit(_drive, site_url).result()
    print(f"\nsidebar listed after {out['sidebar_s']:.1f} s; workflow ran in {out['run_s']:.1f} s")
    assert {"llmos-jupyter", "anywidget", "@jupyter-widgets/jupyterlab-manager",
            "@jupyterlite/pyodide-kernel-extension"} <= set(out["extensions"]), out["extensions"]
    assert not out["sidebar_error"], out["sidebar_error"]
    assert out["skills"] == _shipped_skill_ids()
    assert out["run_status"] == "completed", (out["status_text"], out["errors"][-10:])
    assert set(out["node_status"].values()) <= {"completed", "cached"}, out["node_status"]
    assert any(t.endswith(".ipynb") for t in out["traces"]), out["traces"]
    assert not outside(out["requests"]), outside(out["requests"])
