"""A small MCP reference server for the tests (stdio), written with the SDK's MCPServer.

Tools: ``add`` (structured content), ``echo`` (text only), ``fail`` (the tool raises:
an ``isError`` result), ``env`` (the environment variable names it was given),
``pid`` (its process id), ``sleep`` (sleeps ``seconds``), ``shout`` (writes to stderr),
``fancy`` (markup and control characters in its title/description; defaults).
Resources: ``note://hello`` (text/plain), ``data://blob`` (binary). Prompt: ``review``.
It writes one line to stderr at start-up so the tests can find it in the node's log.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("llmos-ref", log_level="WARNING")


class Sum(BaseModel):
    total: float
    terms: int


@server.tool(description="Add two numbers; returns {total, terms}.")
def add(a: float, b: float) -> Sum:
    return Sum(total=a + b, terms=2)


@server.tool(description="Echo the text back.", structured_output=False)
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="Always fails.", structured_output=False)
def fail(reason: str = "no reason") -> str:
    # ToolError: the SDK passes its message on (other exceptions are masked).
    raise ToolError(f"refusing on purpose: {reason}")


@server.tool(description="Names of the environment variables this server has.",
             structured_output=False)
def env() -> str:
    return "\n".join(sorted(os.environ))


@server.tool(description="This server's process id (tests connection reuse).",
             structured_output=False)
def pid() -> str:
    return str(os.getpid())


@server.tool(description="Sleep for the given seconds.", structured_output=False)
def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


@server.tool(description="Write a line to stderr and return ok.", structured_output=False)
def shout(text: str) -> str:
    print(f"shouting {text}", file=sys.stderr, flush=True)
    return "ok"


@server.tool(title="Fancy <b>title</b>",
             description="<img src=x onerror=alert(1)>Scale\u202e a\x07 value.\n\nSecond line.",
             structured_output=False)
def fancy(value: float, factor: float = 2.0, unit: str = "m") -> str:
    """A tool whose title and description hold markup and control characters: the
    palette must show them as text."""
    return f"{value * factor} {unit}"


@server.resource("note://hello", mime_type="text/plain", description="A greeting.")
def hello() -> str:
    return "Hello from the reference server."


@server.resource("data://blob", mime_type="application/octet-stream")
def blob() -> bytes:
    return b"\x00\x01\x02"


@server.prompt(description="Ask for a code review.")
def review(code: str, language: str = "python") -> str:
    return f"Please review this {language} code:\n{code}"


if __name__ == "__main__":
    print("ref server starting", file=sys.stderr, flush=True)
    server.run("stdio")
