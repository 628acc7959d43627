"""The canvas palette's MCP group: configured servers listed without being contacted,
a server's tools (the stdio reference server) as prefilled ``mcp-tool`` entries with
their argument docs, untrusted text sanitised, dead and silent servers reported within
the timeout, the per-session cache — through ``_mcp.palette``, the library kernel's
``mcp_tools_json`` (checked against its contract) and the Canvas widget's traits; and a
prefilled node actually runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from llmos_jupyter import SkillLibrary, Workflow
from llmos_jupyter._contract import validate
from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._mcp import client as mcp_client
from llmos_jupyter._mcp import palette
from llmos_jupyter._paths import system_skills_dir

REF = str(Path(__file__).with_name("ref_server.py"))
# A process that never speaks MCP: the handshake waits until the timeout.
SILENT = "import time; time.sleep(120)"


def toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


@pytest.fixture
def configured(llmos_home):
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text(f"""
[mcp.servers.ref]
command = [{toml_str(sys.executable)}, {toml_str(REF)}]
env = {{ SECRET_TOKEN = "do-not-show-me" }}

[mcp.servers.dead]
command = ["/nonexistent/llmos-no-such-mcp-server"]

[mcp.servers.silent]
command = [{toml_str(sys.executable)}, "-c", {toml_str(SILENT)}]

[mcp.servers.broken]
command = 42
""", encoding="utf-8")
    palette.forget_tools()
    yield llmos_home
    palette.forget_tools()
    mcp_client.close_all()


def test_configured_servers_are_listed_without_contacting_them(configured):
    servers = {s["name"]: s for s in palette.configured_servers()}
    assert list(servers) == ["broken", "dead", "ref", "silent"]
    assert servers["ref"]["kind"] == "stdio" and REF in servers["ref"]["label"]
    assert "do-not-show-me" not in json.dumps(servers)  # env values hold secrets
    assert servers["broken"]["error"].startswith("server.command: expected a list of strings")
    assert servers["dead"]["error"] is None  # not started: listing is on demand
    assert mcp_client._pool.conns == {}


def test_a_servers_tools_become_prefilled_mcp_tool_entries(configured):
    reply = palette.palette_tools("ref", timeout_s=60)
    assert reply["status"] == "ok" and reply["error"] is None, reply
    tools = {t["name"]: t for t in reply["tools"]}
    assert {"add", "echo", "fancy", "sleep"} <= set(tools)
    assert [t["name"] for t in reply["tools"]] == sorted(tools)
    add = tools["add"]
    assert add["params"] == {"server": "ref", "tool": "add", "arguments": {}}
    assert [(a["name"], a["type"], a["required"]) for a in add["arguments"]] == \
        [("a", "number", True), ("b", "number", True)]
    assert add["description"] == "Add two numbers; returns {total, terms}."
    fancy = tools["fancy"]
    # Defaults prefill the node's arguments; the docs say which are optional.
    assert fancy["params"]["arguments"] == {"factor": 2.0, "unit": "m"}
    assert {a["name"]: a["required"] for a in fancy["arguments"]} == \
        {"value": True, "factor": False, "unit": False}
    # Untrusted text: control and bidi characters gone, lines folded, markup left as
    # text for the front-end to show as text (never parsed as HTML).
    assert fancy["description"] == \
        "<img src=x onerror=alert(1)>Scale a value. Second line."
    assert fancy["title"] == "Fancy <b>title</b>"
    for entry in reply["tools"]:
        validate("McpPaletteTool", entry)

    # Cached for the session: the same reply, no second listing; refresh lists again.
    assert palette.palette_tools("ref") is reply
    again = palette.palette_tools("ref", refresh=True, timeout_s=60)
    assert again is not reply and again == reply


def test_the_prefilled_node_runs(configured):
    entry = next(t for t in palette.palette_tools("ref", timeout_s=60)["tools"]
                 if t["name"] == "fancy")
    params = {**entry["params"], "arguments": {**entry["params"]["arguments"], "value": 3}}
    wf = Workflow(id="palette")
    wf.add_node("mcp-tool", id="t", params=params)
    res = Engine(SkillLibrary(volumes=[("system", system_skills_dir())]), trace=False).run(wf)
    assert res.status == "completed", res.nodes["t"].error
    assert res.nodes["t"].outputs["result"] == "6.0 m"


def test_dead_silent_and_unknown_servers_are_errors_within_the_timeout(configured):
    dead = palette.palette_tools("dead", timeout_s=20)
    assert dead["status"] == "error" and dead["tools"] == []
    assert "could not be started" in dead["error"] and "was not found" in dead["error"]
    silent = palette.palette_tools("silent", timeout_s=1.5)
    assert silent["status"] == "error"
    assert "did not answer tools/list within 1.5 s" in silent["error"]
    unknown = palette.palette_tools("nosuch")
    assert unknown["status"] == "error" and "configured: broken, dead, ref, silent" in \
        unknown["error"]
    assert palette.palette_tools("https://example.invalid/mcp")["status"] == "error"
    # Errors are not cached: the next "Load tools" tries again.
    assert all(k[0] == "ref" for k in palette._cache)


def test_the_library_kernels_mcp_tools_json(configured):
    from llmos_jupyter import _lab

    listing = json.loads(_lab.mcp_tools_json())
    validate("McpToolsReply", listing)
    assert [s["name"] for s in listing["servers"]] == ["broken", "dead", "ref", "silent"]
    assert listing["status"] is None and listing["tools"] == []
    reply = json.loads(_lab.mcp_tools_json("ref", timeout_s=60))
    validate("McpToolsReply", reply)
    assert reply["status"] == "ok" and reply["server"] == "ref"
    assert any(t["params"] == {"server": "ref", "tool": "echo", "arguments": {}}
               for t in reply["tools"])
    failed = json.loads(_lab.mcp_tools_json("silent", timeout_s=1))
    validate("McpToolsReply", failed)
    assert failed["status"] == "error" and "did not answer" in failed["error"]
    (configured / "config.toml").write_text("[mcp\n", encoding="utf-8")
    bad = json.loads(_lab.mcp_tools_json("ref"))
    validate("McpToolsReply", bad)
    assert bad["status"] == "error" and "not valid TOML" in bad["error"]


def test_the_canvas_widget_lists_tools_on_the_palettes_request(configured):
    pytest.importorskip("anywidget")
    from llmos_jupyter._widget.canvas import Canvas, FrontendMissing

    try:
        canvas = Canvas()
    except FrontendMissing:
        pytest.skip("the canvas front-end is not built")
    try:
        assert [s["name"] for s in canvas.mcp_servers] == ["broken", "dead", "ref", "silent"]
        assert canvas.mcp_tools == {}
        seen: list[str] = []
        canvas.observe(lambda ch: seen.append(ch["new"].get("ref", {}).get("status")),
                       names="mcp_tools")
        canvas._on_msg(canvas, {"action": "mcp-tools", "server": "ref"}, [])
        thread = next(t for t in __import__("threading").enumerate()
                      if t.name == "llmos-mcp-palette-ref")
        thread.join(60)
        assert seen[0] == "loading" and seen[-1] == "ok"
        state = canvas.mcp_tools["ref"]
        assert state["error"] is None and {"add", "fancy"} <= {t["name"] for t in state["tools"]}
        canvas.load_mcp_tools("silent", wait=True, timeout_s=1)
        assert canvas.mcp_tools["silent"]["status"] == "error"
        assert canvas.mcp_tools["ref"]["status"] == "ok"  # one server's failure is its own
        validate("CanvasAction", {"action": "mcp-tools", "server": "ref", "refresh": True})
        props = ("mcp_servers", "mcp_tools")
        validate("CanvasState", {**{k: getattr(canvas, k) for k in (
            "workflow", "skills", "statuses", "previews", "errors", "message", "running",
            "dashboard", "height", "layout_direction")},
            **json.loads(json.dumps({k: getattr(canvas, k) for k in props}))})
    finally:
        canvas.close()
