"""``llmos mcp serve``: tool schemas from ports, calls through the engine, workflows as
tools, skills as resources — in-process through the SDK's Client, and end to end over
stdio against ``python -m llmos_jupyter._cli mcp serve``."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from llmos_jupyter import SkillLibrary, Workflow, parse_skill
from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._mcp.server import LlmosMcp, build_server, input_schema, result_content
from llmos_jupyter._paths import system_skills_dir
from llmos_jupyter._skills.ports import Port

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

PLOT = """---
skill_id: tiny-plot
name: Tiny plot
description: Returns a 1x1 PNG and its size.
runtime: python
inputs:
  - name: scale
    type: number
    default: 1.0
    minimum: 0
    unit: m
outputs:
  - name: image
    type: image
  - name: size
    type: integer
---

```python
import base64

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def execute(inputs):
    return {"image": PNG, "size": len(PNG)}
```
"""


@pytest.fixture
def library():
    return SkillLibrary(volumes=[("system", system_skills_dir())], skills=[parse_skill(PLOT)])


@pytest.fixture
def stats_workflow(tmp_path):
    wf = Workflow(id="stats-flow", name="Stats", extra={
        "description": "Mean and count of numbers.",
        "inputs": {"numbers": "stats.data"},
        "outputs": {"mean": "stats.mean", "n": "stats.count"}})
    wf.add_node("data-analysis", id="stats")
    path = wf.save(tmp_path / "stats.workflow.json")
    return path


def test_input_schema_from_ports():
    ports = [
        Port("r", "number", description="Resistance.", unit="Ω", minimum=0, maximum=1e9),
        Port("mode", "string", required=False, default="fast", has_default=True,
             enum=("fast", "exact")),
        Port("n", "integer"),
        Port("pic", "image", required=False),
        Port("blob", "any", required=False),
        Port("key", "string", secret=True),
    ]
    schema = input_schema(ports)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["r", "n", "key"]
    props = schema["properties"]
    assert props["r"] == {"type": "number", "description": "Resistance. Unit: Ω.",
                          "minimum": 0, "maximum": 1e9}
    assert props["mode"] == {"type": "string", "default": "fast", "enum": ["fast", "exact"]}
    assert props["n"] == {"type": "integer"}
    assert props["pic"]["type"] == "string" and "data:image/png;base64" in \
        props["pic"]["description"]
    assert props["blob"] == {}  # any: no type constraint
    assert props["key"]["writeOnly"] is True


def test_calls_run_through_one_engine(library, llmos_home):
    engine = Engine(library)
    app = LlmosMcp(library, engine=engine)
    names = [t.name for t in app.tools()]
    assert "data-analysis" in names and "tiny-plot" in names
    assert "switch" not in names and "map" not in names  # control flow: workflow-only
    ok, out, err = app.call("data-analysis", {"data": [1, 2, 3, 4]})
    assert ok and out["mean"] == 2.5 and out["count"] == 4, err
    traces = list((llmos_home / "user" / "traces").glob("*mcp-data-analysis*.ipynb"))
    assert len(traces) == 1  # the call is a traced run
    ok, _, err = app.call("data-analysis", {"values": [1, 2]})
    assert not ok and err == "tool 'data-analysis' has no argument(s) values (it takes: data)"
    ok, _, err = app.call("data-analysis", {"data": ["x"]})
    assert not ok and err == "ValueError: data[0] must be a number, got 'x'"
    ok, _, err = app.call("data-analysis", {})
    assert not ok and "required input is neither wired nor set" in err
    ok, _, err = app.call("no-such-tool", {})
    assert not ok and err == "unknown tool 'no-such-tool'"
    assert app.engine is engine


def test_images_become_image_content():
    content, structured = result_content({"plot": PNG, "n": 3})
    assert structured == {"plot": {"mimeType": "image/png", "content": 1}, "n": 3}
    assert content[0].type == "text" and json.loads(content[0].text) == structured
    assert content[1].type == "image" and content[1].mime_type == "image/png"
    assert base64.b64decode(content[1].data) == PNG


def test_workflow_tool_and_resources_through_the_sdk(library, stats_workflow):
    app = LlmosMcp(library, workflows=[stats_workflow], engine=Engine(library, trace=False))
    server = build_server(app)

    async def session():
        async with Client(server, cache=None) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            wf = tools["stats-flow"]
            assert wf.description == "Mean and count of numbers."
            assert wf.input_schema["required"] == ["numbers"]
            assert wf.input_schema["properties"]["numbers"]["type"] == "array"
            plot = tools["tiny-plot"].input_schema["properties"]["scale"]
            assert plot == {"type": "number", "description": "Unit: m.", "default": 1.0,
                            "minimum": 0}
            res = await client.call_tool("stats-flow", {"numbers": [2, 4, 9]})
            assert not res.is_error and res.structured_content == {"mean": 5.0, "n": 3}
            res = await client.call_tool("tiny-plot", {})
            assert [b.type for b in res.content] == ["text", "image"]
            assert res.structured_content["size"] == len(PNG)
            res = await client.call_tool("stats-flow", {"numbers": [True]})
            assert res.is_error and res.content[0].text.startswith("stats: ")
            listed = {r.uri: r for r in (await client.list_resources()).resources}
            assert listed["skill://data-analysis"].mime_type == "text/markdown"
            read = await client.read_resource("skill://data-analysis")
            text = read.contents[0].text
            assert text == (system_skills_dir() / "data-analysis.md").read_text(encoding="utf-8")

    anyio.run(session)


def test_workflow_without_outputs_is_refused(library, tmp_path):
    path = tmp_path / "bare.workflow.json"
    path.write_text(json.dumps({"id": "bare", "nodes": [], "edges": []}), encoding="utf-8")
    with pytest.raises(Exception, match="declares no \"outputs\""):
        LlmosMcp(library, workflows=[path])


def test_stdio_end_to_end_mean_of_data_analysis(llmos_home):
    """An MCP client (the SDK's stdio client) drives `python -m llmos_jupyter._cli mcp
    serve` as Claude Desktop would."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "llmos_jupyter._cli", "mcp", "serve"],
        env={"LLMOS_HOME": str(llmos_home)}, cwd=str(Path(__file__).parent))

    async def session():
        with anyio.fail_after(90):
            # mode="legacy": the initialize handshake of the clients in use today
            # (Claude Desktop, Claude Code speak protocol 2025-xx).
            async with Client(stdio_client(params, errlog=sys.stderr), cache=None,
                              mode="legacy") as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                assert "data-analysis" in tools and "mcp-tool" in tools
                assert tools["data-analysis"].input_schema["required"] == ["data"]
                res = await client.call_tool("data-analysis", {"data": [1, 2, 3, 4]})
                assert not res.is_error, res.content
                assert res.structured_content["mean"] == 2.5
                read = await client.read_resource("skill://data-analysis")
                assert read.contents[0].text.startswith("---\nskill_id: data-analysis\n")

    anyio.run(session)
    # The call was an engine run with a trace, in the server's LLMOS_HOME.
    assert list((llmos_home / "user" / "traces").glob("*mcp-data-analysis*.ipynb"))
