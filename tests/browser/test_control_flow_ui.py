"""Control flow on the canvas, in a real browser (JupyterLab + Debian Chromium).

A workflow document runs a `condition` (5 > 3: the `true` branch runs, the `false`
branch and what follows it are skipped as "branch not taken"), a node that fails (its
dependent is skipped as "upstream failed") and a `map` over 4 items of a sub-workflow,
one at a time, in the document's kernel. Checked in the page: control nodes are drawn
distinctly (class, stripe colour, icon; the palette lists them first), skipped nodes
carry their reason (branch vs upstream failure) as text, exactly the wires of the untaken
branch are dashed, and the map shows `i / 4` while it runs. Screenshots go to
tests/browser/artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser.jlab import CURRENT, new_page, open_lab

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "llmos_jupyter" / "labextension" / "package.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

ECHO_SKILL = """---
skill_id: echo-value
description: Passes its input on unchanged.
inputs:
  - {name: value, type: any}
outputs:
  - {name: value, type: any}
---

```python
def execute(inputs):
    return {"value": inputs["value"]}
```
"""

FAIL_SKILL = """---
skill_id: fail-always
description: Always raises (a stand-in for a node that fails).
inputs: []
outputs:
  - {name: value, type: any}
---

```python
def execute(inputs):
    raise ValueError("boom <b>not html</b>")
```
"""

ITEM = {  # the map's sub-workflow: one delay per item (0.5 s, so the page sees progress)
    "id": "item", "name": "item", "inputs": {"x": "d.value"}, "outputs": {"y": "d.value"},
    "nodes": [{"id": "d", "position": {"x": 0, "y": 0},
               "data": {"skill": "delay", "params": {"seconds": 0.5}}}],
    "edges": [],
}


def _node(nid: str, skill: str, x: int, y: int, **params) -> dict:
    return {"id": nid, "position": {"x": x, "y": y}, "data": {"skill": skill, "params": params}}


def _edge(eid: str, s: str, sh: str, t: str, th: str) -> dict:
    return {"id": eid, "source": s, "sourceHandle": sh, "target": t, "targetHandle": th}


WORKFLOW = {
    "id": "control-ui", "name": "control ui",
    "nodes": [
        _node("cond", "condition", 0, 0, value=5, expression="value > 3"),
        _node("yes", "echo-value", 330, -90),
        _node("no", "echo-value", 330, 90),
        _node("after", "echo-value", 660, 90),
        _node("bad", "fail-always", 660, -120),
        _node("down", "echo-value", 990, -120),
        _node("m", "map", 330, 260, items=[1, 2, 3, 4], workflow="item.workflow.json",
              item_input="x", max_parallel=1),
    ],
    "edges": [
        _edge("c-yes", "cond", "true", "yes", "value"),
        _edge("c-no", "cond", "false", "no", "value"),
        _edge("no-after", "no", "value", "after", "value"),
        _edge("bad-down", "bad", "value", "down", "value"),
    ],
}


def _system_skills() -> set[str]:
    from llmos_jupyter._paths import system_skills_dir
    from llmos_jupyter._skills.library import SkillLibrary

    return {s.skill_id for s in SkillLibrary(volumes=[("system", system_skills_dir())])}


@pytest.mark.slow
def test_control_nodes_skips_and_map_progress(jupyter_server, jupyter_paths, browser, artifacts):
    missing = {"condition", "map", "delay"} - _system_skills()
    if missing:
        pytest.skip(f"control skills not in the library yet: {sorted(missing)}")
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    user_skills = jupyter_paths["llmos_home"] / "user" / "skills"
    user_skills.mkdir(parents=True, exist_ok=True)
    (user_skills / "echo-value.md").write_text(ECHO_SKILL, encoding="utf-8")
    (user_skills / "fail-always.md").write_text(FAIL_SKILL, encoding="utf-8")
    (root / "item.workflow.json").write_text(json.dumps(ITEM), encoding="utf-8")
    (root / "control-ui.workflow.json").write_text(json.dumps(WORKFLOW, indent=2),
                                                   encoding="utf-8")
    page, errors = new_page(browser, 1800, 1100, console=None)
    try:
        open_lab(page, base, token)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:refresh-skills'); }")
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'control-ui.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        for n in ("cond", "yes", "m"):
            doc.locator(f'.react-flow__node[data-id="{n}"]').wait_for()
        node = lambda n: doc.locator(f'[data-node-id="{n}"]').first  # noqa: E731
        page.wait_for_function("() => document.querySelector("
                               "'.llmos-WorkflowDocument [data-node-id=\"cond\"]')"
                               "?.dataset.control === 'true'", timeout=60_000)

        # -- 1. control nodes are drawn distinctly -------------------------------------------
        assert node("cond").get_attribute("data-control") == "true"
        assert node("m").get_attribute("data-control") == "true"
        assert node("yes").get_attribute("data-control") is None
        style = lambda n, prop: page.evaluate(  # noqa: E731
            f"() => getComputedStyle(document.querySelector('.llmos-WorkflowDocument "
            f"[data-node-id=\"{n}\"]'))['{prop}']")
        assert style("cond", "borderLeftWidth") == "6px"
        assert style("cond", "borderLeftColor") == "rgb(103, 65, 217)"  # the light theme's violet
        assert style("yes", "borderLeftColor") != "rgb(103, 65, 217)"
        for n, skill in (("cond", "condition"), ("m", "map")):  # an SVG icon per control skill
            icon = node(n).locator(f"svg[data-control-icon={skill}] path")
            assert icon.count() == 1
        assert node("cond").locator("svg[data-control-icon] path").get_attribute("d") != \
            node("m").locator("svg[data-control-icon] path").get_attribute("d")
        assert node("yes").locator("svg[data-control-icon]").count() == 0
        groups = doc.locator(".llmos-palette__group").evaluate_all(
            "els => els.map((e) => e.dataset.category)")
        assert groups[0] == "control", groups
        palette_control = sorted(doc.locator(".llmos-palette__item[data-control=true]").evaluate_all(
            "els => els.map((e) => e.dataset.skillId)"))
        assert {"condition", "map", "delay"} <= set(palette_control), palette_control

        # -- 2. run: the map shows i / 4 while it runs ---------------------------------------
        page.wait_for_function(f"() => {CURRENT}.context.sessionContext.session?.kernel?.name "
                               "=== 'python3'", timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:fit-view'); }")
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:run-workflow'); }")
        page.wait_for_function(
            "() => { const p = document.querySelector('.llmos-WorkflowDocument "
            "[data-node-id=\"m\"] [data-progress]'); if (!p) return false; "
            "const [d, t] = p.dataset.progress.split('/').map(Number); return t === 4 && d >= 1 && d < 4; }",
            timeout=90_000)
        progress = node("m").locator(".llmos-progress")
        text = progress.locator(".llmos-progress__text").inner_text()
        done = int(text.split("/")[0])
        assert text == f"{done} / 4"
        bar = progress.locator("[role=progressbar]")
        assert bar.get_attribute("aria-valuenow") == str(done)
        assert bar.get_attribute("aria-valuemax") == "4"
        page.screenshot(path=str(artifacts / "control-map-progress.png"))
        page.wait_for_function(f"() => {CURRENT}.content.model.get('running') === false && "
                               f"{CURRENT}.content.node.dataset.runStatus !== 'running'",
                               timeout=90_000)
        statuses = page.evaluate(f"() => {CURRENT}.content.model.get('statuses')")

        # -- 3. skipped nodes carry their reason ----------------------------------------------
        assert node("yes").get_attribute("data-status") == "completed", statuses
        assert node("m").get_attribute("data-status") == "completed", statuses
        assert node("m").locator(".llmos-progress").count() == 0  # finished: no progress left
        for n in ("no", "after"):
            assert node(n).get_attribute("data-status") == "skipped", statuses
            assert node(n).get_attribute("data-skip-kind") == "branch", statuses
            assert node(n).locator(".llmos-node__skip").inner_text() == "branch not taken"
            assert node(n).locator(".llmos-badge").inner_text().strip() == "not taken"
        assert node("bad").get_attribute("data-status") == "failed"
        assert node("down").get_attribute("data-status") == "skipped"
        assert node("down").get_attribute("data-skip-kind") == "upstream-failed"
        label = node("down").locator(".llmos-node__skip").inner_text()
        assert label == "upstream failed: upstream node 'bad' failed", label
        assert node("down").get_attribute("title") == "upstream node 'bad' failed"
        # The failing node's message is text: no element was made from it.
        assert node("bad").locator("b").count() == 0
        assert "boom <b>not html</b>" in node("bad").inner_text()
        # Greyed: dashed, muted text; an upstream failure keeps the error colour.
        assert style("no", "borderTopStyle") == "dashed"
        assert style("no", "color") != style("yes", "color")  # muted text
        assert style("no", "borderTopColor") != style("down", "borderTopColor")

        # -- 4. exactly the wires of the untaken branch are dashed -----------------------------
        inactive = sorted(doc.locator(".react-flow__edge.llmos-edge--inactive").evaluate_all(
            "els => els.map((e) => e.dataset.id)"))
        assert inactive == ["c-no", "no-after"], inactive
        dash = doc.locator('[data-testid="rf__edge-c-no"] path.react-flow__edge-path').first \
            .evaluate("e => getComputedStyle(e).strokeDasharray")
        assert dash not in ("none", ""), dash
        page.screenshot(path=str(artifacts / "control-skipped-branch.png"))

        # -- 5. the map's sub-workflow opens from its side panel -----------------------------
        doc.locator('.react-flow__node[data-id="m"] .llmos-node__title').click()
        doc.locator('[data-side-node="m"]').wait_for()
        assert doc.locator('[data-side-node="yes"]').count() == 0
        doc.locator('[data-side-node="m"] [data-action="open-subworkflow"]').click()
        page.wait_for_function(f"() => {CURRENT}?.context?.path === 'item.workflow.json'",
                               timeout=30_000)
        page.locator('.llmos-WorkflowDocument:visible .react-flow__node[data-id="d"]').wait_for()
        # A plain node has no such button.
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'control-ui.workflow.json'}); }")
        page.wait_for_function(f"() => {CURRENT}?.context?.path === 'control-ui.workflow.json'")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        doc.locator('.react-flow__node[data-id="yes"] .llmos-node__title').click()
        doc.locator('[data-side-node="yes"]').wait_for()
        assert doc.locator('[data-action="open-subworkflow"]').count() == 0

        # -- 6. the dark theme switches the control colour (readable on a dark background) -----
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Dark'})")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'",
                               timeout=30_000)
        page.wait_for_function("() => getComputedStyle(document.querySelector("
                               "'.llmos-WorkflowDocument [data-node-id=\"cond\"]'))"
                               ".borderLeftColor === 'rgb(177, 151, 252)'", timeout=30_000)
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)
        page.screenshot(path=str(artifacts / "control-dark-theme.png"))
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Light'})")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'",
                               timeout=30_000)
        assert not [e for e in errors if "llmos" in e.lower()], errors
    finally:
        page.close()
