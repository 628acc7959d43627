"""``llmos mcp serve --port`` end to end: a real process serving streamable HTTP on a
free port, driven by the SDK's streamable HTTP client (as Claude Code's ``--transport
http`` would): list the tools, call ``data-analysis``, check the mean; then SIGTERM
stops it cleanly. Every wait is bounded; the process group is killed in ``finally``."""

from __future__ import annotations

import signal

import pytest

pytest.importorskip("mcp")
pytest.importorskip("uvicorn")

import anyio
from llmos_process import free_port, kill_group, listening, start_llmos, wait_listening
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

START_S = 90  # a cold interpreter, the SDK and the skill library on a loaded 2-core box


def test_streamable_http_lists_tools_and_computes_the_mean(llmos_home, tmp_path):
    port = free_port()
    log = tmp_path / "mcp-serve.log"
    proc = start_llmos(["mcp", "serve", "--port", str(port)], llmos_home, log)
    try:
        wait_listening(proc, port, log, START_S)
        assert f"http://127.0.0.1:{port}/mcp" in log.read_text()

        async def session() -> None:
            with anyio.fail_after(90):
                async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp"),
                                  cache=None) as client:
                    tools = {t.name: t for t in (await client.list_tools()).tools}
                    assert "data-analysis" in tools and "mcp-tool" in tools
                    assert tools["data-analysis"].input_schema["required"] == ["data"]
                    res = await client.call_tool("data-analysis",
                                                 {"data": [2.0, 4.0, 9.0, 1.0]})
                    assert not res.is_error, res.content
                    assert res.structured_content["mean"] == pytest.approx(4.0)
                    # A bad argument is the tool's error, not a dead connection.
                    res = await client.call_tool("data-analysis", {"data": "no"})
                    assert res.is_error
                    res = await client.call_tool("data-analysis", {"data": [10, 20]})
                    assert res.structured_content["mean"] == pytest.approx(15.0)

        anyio.run(session)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        kill_group(proc)
    assert "Traceback" not in log.read_text()
    assert not listening(port)
    # Each call was an engine run with a trace in the server's LLMOS_HOME.
    assert len(list((llmos_home / "user" / "traces").glob("*mcp-data-analysis*.ipynb"))) >= 2
