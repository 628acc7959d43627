"""``llmos mcp tools SERVER`` and ``llmos mcp serve``: MCP in both directions (docs/mcp.md).

* ``llmos mcp tools SERVER [--json] [--timeout S]`` lists the tools of an MCP server
  with their input schemas. SERVER is a ``[mcp.servers.NAME]`` name of config.toml, an
  ``http(s)://`` URL, a JSON spec (``'{"command": [...], "env": {...}}'``), or the words
  of a stdio command (``llmos mcp tools -- npx -y @modelcontextprotocol/server-everything``).
  Exit status 0, 1 when the server fails, 2 for a bad SERVER.
* ``llmos mcp serve [--workflow FILE]... [--port P] [--host H]`` serves the skill library
  (and the given workflows) as MCP tools and ``skill://ID`` resources: over stdio, or
  streamable HTTP at ``http://H:P/mcp`` with ``--port`` (H defaults to 127.0.0.1).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mcp", help="MCP: list a server's tools, or serve llmos over MCP",
                       description="Model Context Protocol in both directions: call other "
                       "servers' tools (llmos mcp tools) and offer llmos' skills as tools "
                       "(llmos mcp serve). See docs/mcp.md.")
    msub = p.add_subparsers(dest="mcp_command", metavar="{tools,serve}")
    p.set_defaults(handler=lambda args, out, err: _usage(p, err))

    t = msub.add_parser("tools", help="list an MCP server's tools and their input schemas",
                        description="List the tools of an MCP server with their input "
                        "schemas. SERVER: a [mcp.servers.NAME] name of config.toml, an "
                        "http(s):// URL, a JSON spec, or a stdio command after --.")
    t.add_argument("server", nargs="+", metavar="SERVER",
                   help="config name, URL, JSON spec, or command words (after --)")
    t.add_argument("--json", action="store_true", help="print exactly one JSON object")
    t.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for the server (default 30)")
    t.set_defaults(handler=_cmd_tools)

    s = msub.add_parser("serve", help="serve the skill library as an MCP server (stdio, or "
                        "HTTP with --port)",
                        description="Serve every executable Python skill as an MCP tool "
                        "(input schema from its ports) and every skill as a skill://ID "
                        "resource; calls run through the engine (cache, traces, isolation). "
                        "Stdio by default; streamable HTTP at http://HOST:PORT/mcp with --port.")
    s.add_argument("--workflow", action="append", default=[], metavar="FILE",
                   help="also offer this workflow (it must declare inputs/outputs); "
                   "repeatable")
    s.add_argument("--port", type=int, metavar="P", help="serve streamable HTTP on this port")
    s.add_argument("--host", default="127.0.0.1",
                   help="HTTP interface to bind (default 127.0.0.1: this machine only)")
    s.set_defaults(handler=_cmd_serve)


def _usage(p: argparse.ArgumentParser, err: Any) -> int:
    err.print(p.format_usage().rstrip(), highlight=False, markup=False)
    return 2


def _server_arg(words: list[str]) -> Any:
    """A name, URL or JSON spec (one word) or a command (several words)."""
    import json

    if len(words) == 1:
        word = words[0].strip()
        if word.startswith("{"):
            return json.loads(word)
        return word
    return {"command": list(words)}


def _cmd_tools(args: argparse.Namespace, out: Any, err: Any) -> int:

    from rich.markup import escape

    from llmos_jupyter._cli import _clean, _print_json
    from llmos_jupyter._mcp.client import McpServerError, list_tools, resolve_server

    def fail(code: int, exc: BaseException) -> int:
        if args.json:
            _print_json({"status": "failed" if code == 1 else "invalid",
                         "error": _clean(exc)})
        else:
            err.print(f"[red]error:[/] {escape(_clean(exc))}", highlight=False)
        return code

    try:
        server = _server_arg(args.server)
        spec = resolve_server(server)
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        return fail(2, exc)
    except ImportError as exc:  # the mcp extra is missing
        return fail(2, exc)
    try:
        tools = list_tools(server, timeout_s=args.timeout)
    except McpServerError as exc:
        return fail(1, exc)
    if args.json:
        _print_json({"status": "ok", "server": spec["label"], "tools": tools})
        return 0
    out.print(f"[bold]{escape(spec['label'])}[/]: {len(tools)} tool(s)", highlight=False)
    for tool in tools:
        out.print(f"\n[bold cyan]{escape(tool['name'])}[/]"
                  + (f" — {escape(tool['title'])}" if tool.get("title") else ""),
                  highlight=False)
        if tool["description"]:
            out.print(f"  {escape(tool['description'].strip())}", highlight=False)
        schema = tool["input_schema"] or {}
        required = set(schema.get("required", []))
        props = schema.get("properties", {}) or {}
        if not props:
            out.print("  (no arguments)", highlight=False)
        for name, prop in props.items():
            kind = prop.get("type", "any") if isinstance(prop, dict) else "any"
            if isinstance(kind, list):
                kind = "|".join(map(str, kind))
            mark = "" if name in required else "?"
            desc = prop.get("description", "") if isinstance(prop, dict) else ""
            out.print(f"  {escape(name)}{mark}: {escape(str(kind))}"
                      + (f" — {escape(desc)}" if desc else ""), highlight=False)
    return 0


def _cmd_serve(args: argparse.Namespace, out: Any, err: Any) -> int:
    from rich.markup import escape

    from llmos_jupyter._cli import _clean

    try:
        from llmos_jupyter._mcp.server import LlmosMcp, serve_http, serve_stdio

        app = LlmosMcp(workflows=args.workflow)
    except ImportError as exc:
        err.print(f"[red]error:[/] {escape(_clean(exc))} (install llmos-jupyter[mcp])",
                  highlight=False)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bad workflow file: say which and why
        err.print(f"[red]error:[/] {escape(_clean(exc))}", highlight=False)
        return 2
    if args.port is None:
        serve_stdio(app)  # stdout is the protocol: nothing else is printed there
        return 0
    err.print(f"llmos MCP server on http://{args.host}:{args.port}/mcp "
              f"({len(app.tools())} tools); Ctrl-C stops it", highlight=False)
    serve_http(app, host=args.host, port=args.port)
    return 0
