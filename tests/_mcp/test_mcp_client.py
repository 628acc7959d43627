"""The mcp-tool / mcp-resource / mcp-prompt nodes against a stdio reference server
(tests/_mcp/ref_server.py, run with this interpreter), through the engine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from llmos_jupyter import SkillLibrary, Workflow
from llmos_jupyter._cli import main
from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._mcp import client as mcp_client
from llmos_jupyter._paths import system_skills_dir

REF = str(Path(__file__).with_name("ref_server.py"))
TOKEN = "forwarded-token-5f1c2e9a7b"


@pytest.fixture(scope="module")
def ref():
    """The reference server's spec. The environment is set before the server starts, so
    the env test sees what a real server would; every test of the module shares the one
    pooled server process (the pool is keyed by the spec)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANTHROPIC_API_KEY", "sk-ant-not-for-mcp-servers-0123456789")
        mp.setenv("LLMOS_MCP_TEST_TOKEN", TOKEN)
        yield {"command": [sys.executable, REF],
               "env": {"GIVEN": "1", "FORWARDED": "$LLMOS_MCP_TEST_TOKEN"}}
    mcp_client.close_all()


@pytest.fixture
def engine():
    return Engine(SkillLibrary(volumes=[("system", system_skills_dir())]), trace=False)


def run_nodes(engine, nodes):
    wf = Workflow(id="mcp-test")
    for node_id, (skill, params) in nodes.items():
        wf.add_node(skill, id=node_id, params=params)
    return engine.run(wf)


def test_tools_resources_prompts_through_the_engine(engine, ref):
    res = run_nodes(engine, {
        "add": ("mcp-tool", {"server": ref, "tool": "add", "arguments": {"a": 1, "b": 2.5}}),
        "echo": ("mcp-tool", {"server": ref, "tool": "echo", "arguments": {"text": "hi"}}),
        "pid1": ("mcp-tool", {"server": ref, "tool": "pid"}),
        "pid2": ("mcp-tool", {"server": ref, "tool": "pid"}),
        "note": ("mcp-resource", {"server": ref, "uri": "note://hello"}),
        "blob": ("mcp-resource", {"server": ref, "uri": "data://blob"}),
        "review": ("mcp-prompt", {"server": ref, "name": "review",
                                  "arguments": {"code": "x = 1", "language": "python"}}),
    })
    assert res.status == "completed", {n: r.error for n, r in res.nodes.items()}
    add = res.nodes["add"].outputs
    assert add["result"] == {"total": 3.5, "terms": 2}  # the structured content
    assert add["is_error"] is False
    assert add["content"][0]["type"] == "text" and json.loads(add["content"][0]["text"]) == \
        {"total": 3.5, "terms": 2}
    assert res.nodes["echo"].outputs["result"] == "echo: hi"  # no structured content: text
    # One server process served every node of the run.
    assert res.nodes["pid1"].outputs["result"] == res.nodes["pid2"].outputs["result"]
    # The server's stderr is in the node's log (a run of its own: nodes running at once
    # on one server cannot tell whose request a stderr line belongs to).
    shout = run_nodes(engine, {"shout": ("mcp-tool", {"server": ref, "tool": "shout",
                                                      "arguments": {"text": "hey"}})})
    assert "shouting hey" in (shout.nodes["shout"].log or "")
    assert res.nodes["note"].outputs == {"text": "Hello from the reference server.",
                                         "mime_type": "text/plain"}
    assert res.nodes["blob"].outputs["blob"] == "AAEC"  # base64 of 00 01 02
    assert res.nodes["review"].outputs["messages"] == [
        {"role": "user", "content": {"type": "text",
                                     "text": "Please review this python code:\nx = 1"}}]


def test_tool_error_fails_the_node_unless_allowed(engine, ref):
    res = run_nodes(engine, {
        "strict": ("mcp-tool", {"server": ref, "tool": "fail", "arguments": {"reason": "r1"}}),
        "lenient": ("mcp-tool", {"server": ref, "tool": "fail", "arguments": {"reason": "r2"},
                                 "allow_error": True}),
    })
    strict = res.nodes["strict"]
    assert strict.status == "failed"
    assert strict.error.startswith("McpToolError: tool 'fail' of MCP server")
    assert "refusing on purpose: r1" in strict.error
    lenient = res.nodes["lenient"].outputs
    assert lenient["is_error"] is True and "refusing on purpose: r2" in lenient["result"]


def test_stdio_server_gets_only_basics_and_listed_env(ref):
    names = mcp_client.call_tool(ref, "env")["result"].split("\n")
    assert {"PATH", "GIVEN", "FORWARDED"} <= set(names)
    assert "ANTHROPIC_API_KEY" not in names and "LLMOS_MCP_TEST_TOKEN" not in names
    assert "LLMOS_HOME" not in names


def test_named_server_from_config_and_cli_listing(ref, llmos_home, capsys):
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text(
        "[mcp.servers.ref]\n"
        f"command = {json.dumps(ref['command'])}\n"
        'env = { GIVEN = "1", FORWARDED = "$LLMOS_MCP_TEST_TOKEN" }\n', encoding="utf-8")
    out = mcp_client.call_tool("ref", "add", {"a": 2, "b": 3})
    assert out["result"]["total"] == 5
    capsys.readouterr()
    assert main(["mcp", "tools", "--json", "ref"]) == 0
    listing = json.loads(capsys.readouterr().out)
    tools = {t["name"]: t for t in listing["tools"]}
    assert listing["server"] == "ref"
    assert tools["add"]["input_schema"]["required"] == ["a", "b"]
    assert main(["mcp", "tools", "nosuch"]) == 2
    assert "no MCP server named 'nosuch'" in capsys.readouterr().err


def test_server_that_exits_immediately_fails_with_its_stderr(engine):
    code = "import sys; print('cannot start: no config', file=sys.stderr); sys.exit(3)"
    dead = {"command": [sys.executable, "-c", code]}
    res = run_nodes(engine, {"t": ("mcp-tool", {"server": dead, "tool": "x",
                                                "timeout_s": 20})})
    err = res.nodes["t"].error
    assert res.nodes["t"].status == "failed"
    assert err.startswith("McpServerError: MCP server python -c")
    assert "closed the connection" in err and "cannot start: no config" in err


def test_silent_server_times_out(engine):
    hung = {"command": [sys.executable, "-c", "import time; time.sleep(60)"]}
    res = run_nodes(engine, {"t": ("mcp-tool", {"server": hung, "tool": "x",
                                                "timeout_s": 1.5})})
    assert res.nodes["t"].status == "failed"
    assert "did not answer tools/call 'x' within 1.5 s" in res.nodes["t"].error


def test_missing_program_and_bad_specs():
    with pytest.raises(mcp_client.McpServerError, match="was not found"):
        mcp_client.call_tool({"command": ["llmos-no-such-mcp-server"]}, "x", timeout_s=10)
    with pytest.raises(ValueError, match="either command"):
        mcp_client.resolve_server({"command": ["a"], "url": "http://x"})
    with pytest.raises(ValueError, match=r"\$LLMOS_UNSET_VAR_X is not set"):
        mcp_client.resolve_server({"command": ["a"], "env": {"K": "$LLMOS_UNSET_VAR_X"}})
    assert "LLMOS_UNSET_VAR_X" not in os.environ
    spec = mcp_client.resolve_server({"url": "https://user:pw@example.org:8443/mcp?k=v"})
    assert spec["label"] == "https://example.org:8443/mcp"  # no credentials, no query
    assert mcp_client.resolve_server({"command": "npx", "args": ["-y", "srv"]})["command"] \
        == ["npx", "-y", "srv"]
