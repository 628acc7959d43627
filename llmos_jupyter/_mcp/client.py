"""Calling MCP servers from synchronous code: the engine of the ``mcp-*`` nodes.

A *server spec* names one MCP server:

* ``{"command": ["python", "server.py"], "env": {"NAME": "value"}, "cwd": "dir"}`` — a
  stdio server, started as a subprocess (``command`` may also be a string with the
  arguments in ``args``, the form of Claude Desktop's ``mcpServers`` entries);
* ``{"url": "http://127.0.0.1:8000/mcp", "headers": {...}}`` — a streamable HTTP server;
* ``"NAME"`` — the table ``[mcp.servers.NAME]`` of ``$LLMOS_HOME/config.toml`` holding
  one of the two forms above (a string starting with ``http://``/``https://`` is taken
  as a URL).

A stdio server's environment is the SDK's short list of basics (``HOME``, ``LOGNAME``,
``PATH``, ``SHELL``, ``TERM``, ``USER``; see ``mcp.client.stdio.get_default_environment``)
plus exactly what ``env`` lists — never the rest of the user's environment, so
``ANTHROPIC_API_KEY`` and friends stay out unless listed. A value written ``"$NAME"`` or
``"${NAME}"`` is copied from llmos' own environment (forwarding a secret without writing
it into a workflow) and registered for redaction, as are header values.

Connections live in a per-process pool keyed by the spec, so the nodes of a run (and the
runs of one kernel) share one server process; they are closed at interpreter exit. The
SDK is asynchronous: one daemon thread runs an asyncio event loop that owns every
connection (an *owner task* per connection enters and leaves the SDK's ``Client`` context,
since anyio's cancel scopes must be left by the task that entered them); the synchronous
functions here submit coroutines to that loop and wait. Each request is bounded by
``timeout_s`` (connecting included); a server that times out, exits or breaks the
connection is dropped from the pool (the SDK closes its stdin, then terminates its
process group) and the next request starts a fresh one.

The server's stderr goes to an unnamed temporary file; whatever it wrote since the last
request is printed after each request, to stderr, so the engine files it in the node's log
(the engine captures both streams per node). Nodes that use one server at the same time
cannot tell whose request a line belongs to: it lands in the log of the first to finish.

Errors: :class:`McpServerError` (could not start, died, timed out, refused the request),
:class:`McpToolError` (the tool answered with ``isError``), ``ValueError`` (a bad spec or
argument; the message names the port), ``TypeError`` (a value of the wrong
type, named likewise). Spec: https://modelcontextprotocol.io/specification
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import shlex
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "McpServerError",
    "McpToolError",
    "call_tool",
    "close_all",
    "get_prompt",
    "list_tools",
    "prompt_node",
    "read_resource",
    "resolve_server",
    "resource_node",
    "server_label",
    "tool_node",
]

DEFAULT_TIMEOUT_S = 30.0
_STDERR_TAIL_LINES = 8
_ENV_REF = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


class McpServerError(RuntimeError):
    """An MCP server could not be started, closed the connection, did not answer in time,
    or answered a request with a protocol error. The message names the server and the
    request and ends with the last lines of the server's stderr when it wrote any."""


class McpToolError(RuntimeError):
    """An MCP tool answered with ``isError: true``; the message holds the tool's text."""


# -- server specs ---------------------------------------------------------------------------


def resolve_server(server: Any, home: str | Path | None = None) -> dict[str, Any]:
    """The normalised spec of ``server`` (see the module docstring): ``{"kind": "stdio",
    "command": [...], "env": {...}, "cwd": str | None, "label": str}`` or ``{"kind": "http",
    "url": str, "headers": {...}, "label": str}``. ``$NAME`` env/header values are resolved.

    Raises:
        ValueError: an unknown server name (the message lists the configured ones), a bad
            field value, or a ``$NAME`` that is not set in the environment.
        TypeError: not a spec, or a field of the wrong type (the message names it).
        llmos_jupyter._config.ConfigError: ``config.toml`` is not valid TOML.
    """
    label = None
    if isinstance(server, str):
        name = server.strip()
        if name.startswith(("http://", "https://")):
            server = {"url": name}
        else:
            from llmos_jupyter._config import config_path, config_section

            servers = config_section("mcp", home).get("servers", {})
            entry = servers.get(name) if isinstance(servers, Mapping) else None
            if not isinstance(entry, Mapping):
                known = ", ".join(sorted(servers)) if isinstance(servers, Mapping) else ""
                raise ValueError(
                    f"server: no MCP server named {name!r} in [mcp.servers] of "
                    f"{config_path(home)} (configured: {known or 'none'}); give "
                    "{command: [...]} or {url: ...} instead")
            server, label = dict(entry), name
    if not isinstance(server, Mapping):
        raise TypeError("server: expected {command: [...], env: {...}} (stdio), {url: ...} "
                         f"(streamable HTTP) or a configured server's name, got "
                         f"{type(server).__name__}")
    if "url" in server and "command" in server:
        raise ValueError("server: give either command (stdio) or url (HTTP), not both")
    if "url" in server:
        url = server["url"]
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise ValueError(f"server.url: expected an http:// or https:// URL, got {url!r}")
        headers = _str_map(server.get("headers"), "server.headers")
        return {"kind": "http", "url": url, "headers": headers,
                "label": label or _url_label(url)}
    command = server.get("command")
    if isinstance(command, str):
        command = [command, *_str_list(server.get("args", []), "server.args")]
    elif "args" in server:
        raise ValueError("server.args: only with a string command (else put the arguments "
                         "in the command list)")
    command = _str_list(command, "server.command")
    if not command or not command[0]:
        raise ValueError("server.command: expected the program and its arguments, e.g. "
                         "[\"python\", \"server.py\"]")
    env = _str_map(server.get("env"), "server.env")
    cwd = server.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise ValueError(f"server.cwd: expected a folder path, got {type(cwd).__name__}")
    return {"kind": "stdio", "command": command, "env": env,
            "cwd": str(Path(cwd).expanduser()) if cwd else None,
            "label": label or _command_label(command)}


def server_label(server: Any, home: str | Path | None = None) -> str:
    """How messages name ``server``: its config name, URL (without credentials or query)
    or command line (shortened)."""
    return resolve_server(server, home)["label"]


def _str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what}: expected a list of strings, got {value!r}"[:300])
    return list(value)


def _str_map(value: Any, what: str) -> dict[str, str]:
    """A name → string mapping with ``$NAME`` values taken from the environment; every
    value is registered as a secret (env and headers are where credentials go)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{what}: expected an object of name → string, got "
                         f"{type(value).__name__}")
    out: dict[str, str] = {}
    for key, val in value.items():
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            val = str(val)
        if not isinstance(key, str) or not isinstance(val, str):
            raise TypeError(f"{what}.{key}: expected a string value")
        ref = _ENV_REF.match(val)
        if ref:
            var = ref.group(1) or ref.group(2)
            if var not in os.environ:
                raise ValueError(f"{what}.{key}: ${var} is not set in llmos' environment")
            val = os.environ[var]
        _register_secret(val)
        out[key] = val
    return out


def _register_secret(value: str) -> None:
    try:
        from llmos_jupyter._redact import register_secret
    except ImportError:  # a sandbox without llmos: the parent redacts what it writes
        return
    register_secret(value)


def _command_label(command: list[str]) -> str:
    # The program's file name, not its full path: "python server.py" reads better.
    text = shlex.join([Path(command[0]).name, *command[1:]])
    return text if len(text) <= 80 else text[:77] + "..."


def _url_label(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _pool_key(spec: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in spec.items() if k != "label"}, sort_keys=True)


# -- the event-loop thread and the pool -----------------------------------------------------


class _Connection:
    """One server connection, owned by a task on the pool's loop."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.label = spec["label"]
        self.client: Any = None
        self.error: BaseException | None = None
        self.ready = asyncio.Event()
        self.closing = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.start_lock = asyncio.Lock()
        # Unnamed file for the server's stderr: it needs a real descriptor (the child
        # writes to it directly); read with pread at our own offset.
        self.errfile = (tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - lives with self
                        if spec["kind"] == "stdio" else None)
        self.err_offset = 0
        self.err_lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done() and not self.closing.is_set()

    def _transport(self) -> Any:
        if self.spec["kind"] == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            cmd = self.spec["command"]
            params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=self.spec["env"],
                                           cwd=self.spec["cwd"])
            return stdio_client(params, errlog=self.errfile)  # type: ignore[arg-type]
        return _http_transport(self.spec["url"], self.spec["headers"])

    async def _own(self) -> None:
        from mcp import Client

        try:
            # cache=None: the SDK's response cache would serve a stale tools/list.
            async with Client(self._transport(), cache=None) as client:
                self.client = client
                self.ready.set()
                await self.closing.wait()
        except BaseException as exc:
            self.error = exc
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.client = None
            self.ready.set()
            if self.errfile is not None:
                # The server is gone; the request that saw it go may still be reading
                # its stderr for the node's log and error message: close a little later.
                asyncio.get_running_loop().call_later(5.0, self.errfile.close)

    async def ensure(self) -> Any:
        async with self.start_lock:
            if self.task is None:
                self.task = asyncio.get_running_loop().create_task(self._own())
            await self.ready.wait()
        if self.client is None:
            raise _unwrap(self.error) if self.error is not None else \
                ConnectionError("the connection closed")
        return self.client

    def stderr_new(self) -> str:
        """What the server wrote to stderr since the last call (UTF-8, lossy)."""
        if self.errfile is None:
            return ""
        with self.err_lock:
            try:
                data = os.pread(self.errfile.fileno(), 1 << 20, self.err_offset)
            except (OSError, ValueError):
                return ""
            self.err_offset += len(data)
        return data.decode("utf-8", "replace")

    def stderr_tail(self) -> str:
        if self.errfile is None:
            return ""
        try:
            size = os.fstat(self.errfile.fileno()).st_size
            data = os.pread(self.errfile.fileno(), 8192, max(0, size - 8192))
        except (OSError, ValueError):
            return ""
        lines = data.decode("utf-8", "replace").strip().splitlines()
        return "\n".join(lines[-_STDERR_TAIL_LINES:])


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    """The SDK's streamable HTTP transport with our headers; the HTTP client is closed
    with the connection (the SDK leaves a client it was given open)."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    # The SDK's own defaults: 30 s to connect/write, 300 s of read for a held stream.
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) \
            as http, streamable_http_client(url, http_client=http) as streams:
        yield streams


def _unwrap(exc: BaseException) -> BaseException:
    """The first leaf of (nested) exception groups: the SDK's task groups wrap failures."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class _Pool:
    """The process' MCP connections and the event loop that owns them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.pid = 0
        self.conns: dict[str, _Connection] = {}

    def _start(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():
                # After a fork the parent's loop thread does not exist here: start anew.
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="llmos-mcp-loop", daemon=True)
                thread.start()
                started.wait()
                self.loop, self.thread, self.pid, self.conns = loop, thread, os.getpid(), {}
            return self.loop

    def submit(self, coro: Awaitable[Any]) -> Future[Any]:
        loop = self._start()
        return asyncio.run_coroutine_threadsafe(coro, loop)  # type: ignore[arg-type]

    async def connection(self, spec: dict[str, Any]) -> _Connection:
        key = _pool_key(spec)
        conn = self.conns.get(key)
        if conn is None or (conn.task is not None and not conn.alive):
            conn = self.conns[key] = _Connection(spec)
        return conn

    async def drop(self, conn: _Connection) -> None:
        """Forget ``conn`` and close it in the background: a connected owner task leaves
        the SDK's context (stdin closed, then the process group terminated); one still
        stuck in the handshake is cancelled, which runs the same shutdown."""
        for key, c in list(self.conns.items()):
            if c is conn:
                del self.conns[key]
        conn.closing.set()
        if conn.task is not None and not conn.task.done() and conn.client is None:
            conn.task.cancel()

    async def close_all(self) -> None:
        conns = list(self.conns.values())
        self.conns.clear()
        for c in conns:
            c.closing.set()
        tasks = [c.task for c in conns if c.task is not None]
        if tasks:
            # The SDK's stdio shutdown waits 2 s for an exit, then signals the group.
            await asyncio.wait(tasks, timeout=6)


_pool = _Pool()


def close_all() -> None:
    """Close every pooled connection (stdio servers are asked to exit, then terminated).
    Called at interpreter exit; safe to call any time (later calls reconnect)."""
    if _pool.loop is None or _pool.pid != os.getpid() or not _pool.conns:
        return
    try:
        _pool.submit(_pool.close_all()).result(timeout=10)
    except Exception:  # noqa: BLE001, S110 - best effort at exit; nothing left to tell
        pass


atexit.register(close_all)


def _run(server: Any, what: str, timeout_s: float,
         op: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``op(client)`` against ``server`` within ``timeout_s``; print the server's new
    stderr afterwards (the node's log). Raises McpServerError for server trouble."""
    spec = resolve_server(server)
    timeout = _timeout(timeout_s)
    # Import the SDK here, not first on the loop thread: a cold import takes a second or
    # more and would block the loop (and every other connection's timeouts) meanwhile.
    import mcp.client.stdio
    import mcp.client.streamable_http  # noqa: F401
    holder: dict[str, _Connection] = {}

    async def go() -> Any:
        conn = holder["conn"] = await _pool.connection(spec)
        try:
            async with asyncio.timeout(timeout):
                client = await conn.ensure()
                return await op(client)
        except TimeoutError:
            await _pool.drop(conn)
            raise McpServerError(_with_tail(
                conn, f"MCP server {conn.label} did not answer {what} within {timeout:g} s "
                      "(timeout_s); the connection was closed")) from None
        except McpToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            leaf = _unwrap(exc)
            from mcp.shared.exceptions import MCPError
            from mcp_types import CONNECTION_CLOSED

            if isinstance(leaf, MCPError) and leaf.code != CONNECTION_CLOSED and conn.alive:
                # The server is fine; it refused this request (unknown tool, bad params).
                raise McpServerError(
                    f"MCP server {conn.label} refused {what}: {leaf.message}") from None
            await _pool.drop(conn)
            raise McpServerError(_with_tail(conn, _dead_message(conn, what, leaf))) from None

    try:
        return _pool.submit(go()).result()
    finally:
        conn = holder.get("conn")
        if conn is not None:
            text = conn.stderr_new()
            if text.strip():
                for line in text.rstrip("\n").splitlines():
                    # stderr: a node's log captures both streams, and the CLI's stdout
                    # stays clean for --json.
                    print(f"[mcp {conn.label} stderr] {line}", file=sys.stderr)


def _timeout(timeout_s: Any) -> float:
    if timeout_s is None:
        return DEFAULT_TIMEOUT_S
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or \
            not timeout_s > 0:
        raise ValueError(f"timeout_s: expected a positive number of seconds, got {timeout_s!r}")
    return float(timeout_s)


def _dead_message(conn: _Connection, what: str, exc: BaseException) -> str:
    if conn.spec["kind"] == "stdio":
        if isinstance(exc, FileNotFoundError):
            return f"MCP server {conn.label} could not be started: {conn.spec['command'][0]!r} " \
                   "was not found (is it installed and on PATH?)"
        if isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
            return f"MCP server {conn.label} could not be started: {exc}"
        return f"MCP server {conn.label} closed the connection during {what} (the process " \
               f"exited or stopped talking MCP on stdout): {_describe(exc)}"
    return f"MCP server {conn.label} failed during {what}: {_describe(exc)}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _with_tail(conn: _Connection, message: str) -> str:
    tail = conn.stderr_tail()
    return f"{message}. Its stderr ends: {tail}" if tail else message


# -- requests ---------------------------------------------------------------------------------


def _blocks_json(blocks: Any) -> list[dict[str, Any]]:
    return [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in blocks]


def _blocks_text(blocks: Any) -> str:
    return "\n".join(b.text for b in blocks if getattr(b, "type", None) == "text")


def call_tool(server: Any, tool: str, arguments: Mapping[str, Any] | None = None,
              timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Call ``tool`` of ``server`` (MCP ``tools/call``) with ``arguments``.

    Returns ``{"result", "content", "is_error"}``: ``result`` is the tool's structured
    content when it returned any, else its text blocks joined by newlines; ``content`` is
    the raw content list as JSON (``[{"type": "text", "text": ...}, {"type": "image",
    "data": base64, "mimeType": ...}, ...]``); ``is_error`` is the tool's ``isError``.

    Raises:
        McpServerError: the server could not be reached, died, timed out or refused.
        ValueError: a bad spec, tool name or arguments.
    """
    if not isinstance(tool, str) or not tool:
        raise ValueError("tool: expected the tool's name")
    args = dict(arguments or {})

    async def op(client: Any) -> dict[str, Any]:
        res = await client.call_tool(tool, args)
        result = res.structured_content if res.structured_content is not None \
            else _blocks_text(res.content)
        return {"result": result, "content": _blocks_json(res.content),
                "is_error": bool(res.is_error)}

    return _run(server, f"tools/call {tool!r}", timeout_s, op)


def list_tools(server: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[dict[str, Any]]:
    """Every tool of ``server`` (all pages of ``tools/list``) as ``{"name", "title",
    "description", "input_schema", "output_schema"}`` dicts (JSON Schemas as dicts)."""

    async def op(client: Any) -> list[dict[str, Any]]:
        tools, cursor = [], None
        for _ in range(1000):  # a paginator that never ends cannot hang us
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return [{"name": t.name, "title": t.title, "description": t.description or "",
                 "input_schema": t.input_schema, "output_schema": t.output_schema}
                for t in tools]

    return _run(server, "tools/list", timeout_s, op)


def read_resource(server: Any, uri: str, timeout_s: float = DEFAULT_TIMEOUT_S
                  ) -> dict[str, Any]:
    """Read resource ``uri`` of ``server`` (MCP ``resources/read``).

    Returns ``{"text", "mime_type", "blob"}``: the text parts joined (``""`` when the
    resource is binary only), the first part's MIME type (``None`` when the server gave
    none) and the binary parts' base64 (``None`` when there are none; several joined by
    newlines)."""
    if not isinstance(uri, str) or not uri:
        raise ValueError("uri: expected the resource's URI")

    async def op(client: Any) -> dict[str, Any]:
        res = await client.read_resource(uri)
        texts = [c.text for c in res.contents if hasattr(c, "text")]
        blobs = [c.blob for c in res.contents if hasattr(c, "blob")]
        mime = next((c.mime_type for c in res.contents if c.mime_type), None)
        return {"text": "\n".join(texts), "mime_type": mime,
                "blob": "\n".join(blobs) if blobs else None}

    return _run(server, f"resources/read {uri!r}", timeout_s, op)


def get_prompt(server: Any, name: str, arguments: Mapping[str, Any] | None = None,
               timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Get prompt ``name`` of ``server`` (MCP ``prompts/get``) filled with ``arguments``
    (MCP prompt arguments are strings: numbers, booleans and other values are sent as
    their JSON text).

    Returns ``{"messages": [{"role", "content"}...], "description"}`` where ``content``
    is the content block as JSON (``{"type": "text", "text": ...}``)."""
    if not isinstance(name, str) or not name:
        raise ValueError("name: expected the prompt's name")
    args = {str(k): v if isinstance(v, str) else json.dumps(v)
            for k, v in dict(arguments or {}).items()}

    async def op(client: Any) -> dict[str, Any]:
        res = await client.get_prompt(name, args)
        msgs = [{"role": m.role, "content": m.content.model_dump(
            mode="json", by_alias=True, exclude_none=True)} for m in res.messages]
        return {"messages": msgs, "description": res.description}

    return _run(server, f"prompts/get {name!r}", timeout_s, op)


# -- the nodes' execute(inputs) ---------------------------------------------------------------


def _object(inputs: Mapping[str, Any], port: str) -> dict[str, Any]:
    value = inputs.get(port)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{port}: expected an object, got {type(value).__name__}")
    return dict(value)


def tool_node(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``mcp-tool``'s execute: see :func:`call_tool`. A tool error fails the node with
    :class:`McpToolError` unless ``allow_error`` is true."""
    out = call_tool(inputs.get("server"), inputs.get("tool", ""), _object(inputs, "arguments"),
                    inputs.get("timeout_s", DEFAULT_TIMEOUT_S))
    if out["is_error"] and not inputs.get("allow_error", False):
        text = _blocks_text_json(out["content"]) or json.dumps(out["result"])[:500]
        raise McpToolError(f"tool {inputs.get('tool')!r} of MCP server "
                           f"{server_label(inputs.get('server'))} answered with an error: "
                           f"{text[:500]}")
    return out


def _blocks_text_json(blocks: list[dict[str, Any]]) -> str:
    return " ".join(b.get("text", "") for b in blocks if b.get("type") == "text").strip()


def resource_node(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``mcp-resource``'s execute: see :func:`read_resource`. ``mime_type`` and ``blob``
    are left out when null (optional outputs are absent, not null)."""
    out = read_resource(inputs.get("server"), inputs.get("uri", ""),
                        inputs.get("timeout_s", DEFAULT_TIMEOUT_S))
    return {k: v for k, v in out.items() if v is not None}


def prompt_node(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``mcp-prompt``'s execute: see :func:`get_prompt`."""
    out = get_prompt(inputs.get("server"), inputs.get("name", ""), _object(inputs, "arguments"),
                     inputs.get("timeout_s", DEFAULT_TIMEOUT_S))
    return {"messages": out["messages"]}
