"""The canvas palette's MCP group in a real browser (JupyterLab + Chromium).

MCP servers configured in the JupyterLab server's LLMOS_HOME config.toml show in the
canvas widget's palette under "MCP". "Load tools" on the stdio reference server of the
test suite (tests/_mcp/ref_server.py) lists its tools — markup in a tool's title and
description is shown as text — while a silent server (never answers) and a missing
program report their errors without holding the kernel; clicking a tool adds an
``mcp-tool`` node with ``server``, ``tool`` and the schema's default ``arguments``
prefilled, Python's workflow follows, undo removes it, and the node runs. A screenshot
goes to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from browser.jlab import NEW_NOTEBOOK, RUN_CELL, cell_text, new_page, open_lab

pytest.importorskip("mcp")

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "tests" / "_mcp" / "ref_server.py"
SILENT = "import time; time.sleep(300)"

# JSON strings are TOML basic strings.
CONFIG = f"""
# -- added by tests/browser/test_mcp_palette.py (removed at its end) --
[mcp.servers.palette-ref]
command = [{json.dumps(sys.executable)}, {json.dumps(str(REF))}]

[mcp.servers.palette-silent]
command = [{json.dumps(sys.executable)}, "-c", {json.dumps(SILENT)}]

[mcp.servers.palette-missing]
command = ["/nonexistent/llmos-no-such-mcp-server"]
"""


@pytest.fixture
def mcp_config(jupyter_paths):
    """The three servers in the session server's config.toml (shared by the session's
    tests: appended, and the file's earlier text restored afterwards)."""
    path = jupyter_paths["llmos_home"] / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text(encoding="utf-8") if path.exists() else None
    if before is not None and "[mcp" in before:
        pytest.skip("the session's config.toml already has an [mcp] table")
    path.write_text((before or "") + CONFIG, encoding="utf-8")
    try:
        yield path
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(before, encoding="utf-8")


def test_palette_lists_a_configured_servers_tools_and_adds_prefilled_nodes(
        jupyter_server, mcp_config, browser, artifacts):
    base, token = jupyter_server
    page, errors = new_page(browser, 1500, 1000)
    try:
        open_lab(page, base, token)
        page.evaluate(NEW_NOTEBOOK)
        run = lambda code: cell_text(page.evaluate(RUN_CELL, code))  # noqa: E731
        out = run("from llmos_jupyter._widget.canvas import Canvas\n"
                  "c = Canvas(height=620)\n"
                  "c")
        assert "Error" not in out, out
        group = page.locator('.llmos-palette__group--mcp[data-category="MCP"]')
        group.wait_for(timeout=30_000)
        group.scroll_into_view_if_needed()
        ref = group.locator('[data-mcp-server="palette-ref"]')
        silent = group.locator('[data-mcp-server="palette-silent"]')
        missing = group.locator('[data-mcp-server="palette-missing"]')
        for server in (ref, silent, missing):
            assert server.get_attribute("data-mcp-status") == "idle"

        # A silent server first: listing happens in the background (bounded), so the
        # reference server's tools and the kernel stay available meanwhile.
        silent.locator('[data-action="mcp-load"]').click()
        missing.locator('[data-action="mcp-load"]').click()
        ref.locator('[data-action="mcp-load"]').click()
        page.locator('[data-mcp-server="palette-ref"][data-mcp-status="ok"]').wait_for(
            timeout=60_000)
        assert run("print(1 + 1)").strip() == "2"  # the kernel was not held

        fancy = ref.locator('[data-mcp-tool="fancy"]')
        assert fancy.locator(".llmos-palette__name").inner_text() == "Fancy <b>title</b>"
        assert group.locator("img, b").count() == 0  # the server's markup is text only
        assert "<img src=x onerror=alert(1)>Scale a value." in fancy.get_attribute("title")
        assert "factor?: number = 2" in fancy.get_attribute("title")
        assert ref.locator('[data-mcp-tool="add"] .llmos-mcp-args').inner_text() == "a, b"

        page.locator('[data-mcp-server="palette-missing"][data-mcp-status="error"]').wait_for(
            timeout=30_000)
        assert "was not found" in missing.locator('[data-mcp-error="server"]').inner_text()
        # The silent server's handshake times out (10 s in the palette).
        page.locator('[data-mcp-server="palette-silent"][data-mcp-status="error"]').wait_for(
            timeout=60_000)
        assert "did not answer tools/list" in \
            silent.locator('[data-mcp-error="server"]').inner_text()

        # The palette's search filters tools too.
        page.locator(".llmos-palette__search").fill("scale")
        page.wait_for_function("""() => document.querySelectorAll(
            '[data-mcp-server="palette-ref"] [data-mcp-tool]').length === 1""", timeout=10_000)
        page.locator(".llmos-palette__search").fill("")

        # Clicking an entry adds the prefilled node; Python's workflow follows.
        fancy.click()
        page.locator('[data-node-id="mcp-fancy"]').wait_for(timeout=15_000)
        got = run("import json, time\n"
                  "for _ in range(100):\n"
                  "    if c.workflow_obj.nodes: break\n"
                  "    time.sleep(0.1)\n"
                  "print(json.dumps([(n.id, n.skill, n.params) for n in c.workflow_obj.nodes]))")
        assert json.loads(got) == [["mcp-fancy", "mcp-tool", {
            "server": "palette-ref", "tool": "fancy",
            "arguments": {"factor": 2.0, "unit": "m"}}]], got
        ref.locator('[data-mcp-tool="echo"]').click()
        page.locator('[data-node-id="mcp-echo"]').wait_for(timeout=15_000)
        page.locator(".llmos-canvas").screenshot(path=str(artifacts / "canvas-mcp-palette.png"))

        # Undo takes the last one away (an edit like any other).
        page.locator('[data-action="undo"]').click()
        page.locator('[data-node-id="mcp-echo"]').wait_for(state="detached", timeout=15_000)

        # The prefilled node runs once given its required argument.
        result = run("c.set_params('mcp-fancy', arguments={'value': 3, 'factor': 2.0, 'unit': 'm'})\n"
                     "h = c.run(wait=True)\n"
                     "r = h.result()\n"
                     "print(r.status, r.nodes['mcp-fancy'].outputs.get('result'))")
        assert result.strip() == "completed 6.0 m", result
        page.locator('[data-node-id="mcp-fancy"][data-status="completed"]').wait_for(
            timeout=30_000)
        assert not [e for e in errors if "llmos" in e.lower() or "mcp" in e.lower()], errors
    finally:
        page.close()


def test_workflow_document_palette_adds_a_prefilled_mcp_node_and_saves_it(
        jupyter_server, jupyter_paths, mcp_config, browser, artifacts):
    """The same MCP group in a JupyterLab workflow document (through the library kernel):
    a tool's entry adds the prefilled node to the document, which is then dirty and saves
    it to disk."""
    base, token = jupyter_server
    root: Path = jupyter_paths["root"]
    (root / "mcp-doc.workflow.json").write_text(json.dumps(
        {"id": "mcp-doc", "nodes": [], "edges": []}), encoding="utf-8")
    page, errors = new_page(browser, 1500, 1000, console="llmos")
    try:
        open_lab(page, base, token)
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: 'mcp-doc.workflow.json'}); }")
        doc = page.locator(".llmos-WorkflowDocument:visible")
        group = doc.locator('.llmos-palette__group--mcp[data-category="MCP"]')
        group.wait_for(timeout=60_000)
        ref = group.locator('[data-mcp-server="palette-ref"]')
        ref.locator('[data-action="mcp-load"]').click()
        doc.locator('[data-mcp-server="palette-ref"][data-mcp-status="ok"]').wait_for(
            timeout=60_000)
        ref.locator('[data-mcp-tool="fancy"]').click()
        doc.locator('.react-flow__node[data-id="mcp-fancy"]').wait_for(timeout=15_000)
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty === true",
            timeout=15_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty === false",
            timeout=30_000)
        saved = json.loads((root / "mcp-doc.workflow.json").read_text(encoding="utf-8"))
        node = next(n for n in saved["nodes"] if n["id"] == "mcp-fancy")
        assert node["data"]["skill"] == "mcp-tool"
        assert node["data"]["params"] == {"server": "palette-ref", "tool": "fancy",
                                          "arguments": {"factor": 2.0, "unit": "m"}}
        doc.screenshot(path=str(artifacts / "document-mcp-palette.png"))
        assert not errors, errors
    finally:
        page.close()
