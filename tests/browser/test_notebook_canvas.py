"""The sidebar canvas of the active notebook in a real browser (JupyterLab + Debian Chromium).

One session, in order, on a notebook of two wired skill cells (`ham` → `vqe`): the right
sidebar (`#llmos-notebook-canvas`) shows both nodes and the edge; clicking a node
activates its cell and activating a cell selects its node; Run in the sidebar canvas runs
the cells in the notebook's kernel (both nodes `completed`, `vqe.eigenvalue` defined in
that kernel, the preview shown); a parameter changed in the canvas changes the cell's
text; moving a node writes `cell.metadata.llmos.position`; dropping a skill from the
skill library onto the sidebar canvas inserts a `%%skill` cell; `%workflow import`'s
"Insert N cells" inserts the cells below; a skill dropped on a workflow document's canvas
becomes a node there. Screenshot: artifacts/notebook-canvas.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from browser.jlab import CELLS, WAIT_IDLE, center, drag, new_page, open_lab
from browser.test_labextension import LABEXTENSION

REPO = Path(__file__).resolve().parents[2]
RC = REPO / "notebooks" / "rc-circuit.workflow.json"

pytestmark = pytest.mark.skipif(
    not LABEXTENSION.is_file(),
    reason=f"{LABEXTENSION.parent} not built (cd labextension && npm ci && npm run build)")

SIDE = "#llmos-notebook-canvas"


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# H2 in two cells"),
        nbformat.v4.new_code_cell("%load_ext llmos_jupyter"),
        nbformat.v4.new_code_cell("%skill ham --uses quantum-hamiltonian"),
        nbformat.v4.new_code_cell("%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian\n"
                                  "iterations = 20  # SLSQP iterations\nseed = 3"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def _kernel_print(page, code: str) -> str:
    """stdout of ``code`` run in the current notebook's kernel (not the library kernel)."""
    return page.evaluate("""async (code) => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      let out = '';
      const future = kernel.requestExecute({ code, store_history: false });
      future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'stream') out += msg.content.text;
        if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
      };
      await future.done;
      return out; }""", code)


def _source(page, index: int) -> str:
    return page.evaluate(CELLS)[index]["source"]


@pytest.mark.slow
def test_notebook_canvas(jupyter_server, jupyter_paths, browser, artifacts):
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    _write_notebook(root / "graph.ipynb")
    page, errors = new_page(browser, 1700, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate("""async () => {
            const nb = await window.jupyterapp.commands.execute('docmanager:open',
                                                                 {path: 'graph.ipynb'});
            await nb.sessionContext.ready; }""")
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:show-notebook-graph'); }")
        side = page.locator(SIDE)
        side.wait_for()
        # Widen the right sidebar as a user would: drag its splitter 300 px to the left.
        box = page.locator("#jp-right-stack").bounding_box()
        page.mouse.move(box["x"] - 2, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] - 150, box["y"] + 300, steps=4)
        page.mouse.move(box["x"] - 300, box["y"] + 300, steps=4)
        page.mouse.up()
        assert side.bounding_box()["width"] > box["width"] + 200

        # -- 1. the graph of the notebook's skill cells -------------------------------------
        for n in ("ham", "vqe"):
            side.locator(f'.react-flow__node[data-id="{n}"]').wait_for(timeout=60_000)
        page.wait_for_function(f"() => document.querySelectorAll('{SIDE} .react-flow__edge')"
                               ".length === 1")
        assert side.get_attribute("data-notebook") == "graph.ipynb"

        # -- 2. selection ⇄ active cell -----------------------------------------------------
        side.locator('.react-flow__node[data-id="vqe"]').click()
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content"
                               ".activeCellIndex === 3")
        assert side.locator('[data-side-node="vqe"]').count() == 1
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 2; }")
        page.wait_for_selector(f'{SIDE} .react-flow__node.selected[data-id="ham"]')
        assert side.locator(".react-flow__node.selected").count() == 1

        # -- 3. run from the sidebar canvas: in the notebook's kernel -----------------------
        side.locator('[data-action="run"]').first.click()
        for n in ("ham", "vqe"):
            side.locator(f'[data-node-id="{n}"][data-status="completed"]').wait_for(
                timeout=90_000)
        page.evaluate(WAIT_IDLE)
        eigen = float(_kernel_print(page, "print(vqe.eigenvalue)").strip())
        assert -1.9 < eigen < -1.8, eigen  # H2 at 0.735 Å: ≈ -1.857 Hartree (electronic)
        assert side.locator('[data-preview="vqe.eigenvalue"]').count() == 1
        assert _kernel_print(page, "print(type(vqe).__name__)").strip() == "NodeOutputs"

        # -- 4. a parameter changed in the canvas changes the cell --------------------------
        side.locator('.react-flow__node[data-id="vqe"]').click()
        field = side.locator('[data-side-node="vqe"] [data-param="iterations"] input')
        field.fill("30")
        field.press("Enter")
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets[3]"
                               ".model.sharedModel.getSource().includes('iterations = 30')")
        assert _source(page, 3) == (
            "%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian\n"
            "iterations = 30  # SLSQP iterations\nseed = 3")

        # -- 5. moving a node writes its position into the cell's metadata ------------------
        x, y = center(side.locator('.react-flow__node[data-id="ham"]'))
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 10, y + 40, steps=5)
        page.mouse.move(x + 20, y + 80, steps=5)
        page.mouse.up()
        page.wait_for_function("() => !!window.jupyterapp.shell.currentWidget.content.widgets[2]"
                               ".model.getMetadata('llmos')?.position")

        # -- 6. drop a skill from the skill library onto the sidebar canvas -----------------
        page.evaluate("() => { window.jupyterapp.commands.execute('llmos:open-skill-library'); }")
        skill = page.locator('#llmos-skills [data-skill-id="circuit-rc"] .llmos-Skill-id')
        skill.wait_for(timeout=60_000)
        flow = side.locator(".llmos-flow").bounding_box()
        drag(page, skill, flow["x"] + flow["width"] / 2, flow["y"] + flow["height"] - 40)
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets"
                               ".some((c) => c.model.sharedModel.getSource()"
                               ".startsWith('%%skill circuit_rc --uses circuit-rc'))")
        side.locator('.react-flow__node[data-id="circuit_rc"]').wait_for(timeout=30_000)
        cells = page.evaluate(CELLS)
        assert [c["source"].split("\n")[0] for c in cells if "skill" in c["source"]] == [
            "%skill ham --uses quantum-hamiltonian",
            "%%skill vqe --uses quantum-vqe --in hamiltonian=ham.hamiltonian",
            "%%skill circuit_rc --uses circuit-rc"]
        page.screenshot(path=str(artifacts / "notebook-canvas.png"))

        # -- 7. %workflow import: "Insert N cells" inserts them below -----------------------
        shutil.copy(RC, root / "rc.workflow.json")
        page.evaluate("""async () => {
            const nb = window.jupyterapp.shell.currentWidget;
            const n = nb.content.widgets.length;
            nb.content.activeCellIndex = n - 1;
            await window.jupyterapp.commands.execute('notebook:insert-cell-below');
            nb.content.activeCell.model.sharedModel.setSource('%workflow import rc.workflow.json');
            await window.jupyterapp.commands.execute('notebook:run-cell'); }""")
        button = page.locator('.jp-NotebookPanel:visible [data-action="insert-cells"]')
        button.wait_for(timeout=30_000)
        n_before = len(page.evaluate(CELLS))
        count = int(button.inner_text().split()[1])
        assert count >= 1
        button.click()
        after = page.evaluate(CELLS)
        assert len(after) == n_before + count
        assert all(c["source"].lstrip().startswith(("%%skill", "%skill"))
                   for c in after[-count:]), after[-count:]

        # -- 8. drop a skill onto a workflow document's canvas: a node where it lands -------
        page.evaluate("async () => { await window.jupyterapp.commands.execute("
                      "'docmanager:open', {path: 'rc.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        doc.locator(".react-flow__node").first.wait_for()
        n_nodes = doc.locator(".react-flow__node").count()
        flow = doc.locator(".llmos-flow").bounding_box()
        drag(page, page.locator('#llmos-skills [data-skill-id="data-analysis"] .llmos-Skill-id'),
              flow["x"] + 60, flow["y"] + 60)
        doc.locator('.react-flow__node[data-id="data-analysis"]').wait_for(timeout=10_000)
        assert doc.locator(".react-flow__node").count() == n_nodes + 1
        assert page.evaluate("() => JSON.parse(window.jupyterapp.shell.currentWidget.content"
                             ".workflowText()).nodes.some((n) => n.data.skill === 'data-analysis')")
        assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(artifacts / "notebook-canvas-failed.png"))
        raise
    finally:
        page.close()
