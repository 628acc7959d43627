"""The canvas palette's MCP group: configured servers and their tools as ready-made nodes.

``[mcp.servers.NAME]`` tables of ``$LLMOS_HOME/config.toml`` (see :mod:`.client`) are
listed by :func:`configured_servers` without contacting them (reading config.toml only).
:func:`palette_tools` lists one server's tools on demand — the palette's "Load tools"
button — bounded by ``timeout_s`` (default :data:`PALETTE_TIMEOUT_S`, shorter than a
node's: a person is waiting) and cached for the process (a kernel: one session) until
asked to ``refresh``. Each tool becomes a palette entry whose ``params`` are those of an
``mcp-tool`` node: ``{"server": NAME, "tool": TOOL, "arguments": {...}}`` (the arguments
the schema gives defaults for), plus a plain description of its input-schema properties.

Everything a server says (tool names, titles, descriptions, schema text) is untrusted
data: control characters are removed and lengths capped here; front-ends render it as
text, never as HTML. Callers: :class:`llmos_jupyter._widget.canvas.Canvas` (``mcp_servers``
/ ``mcp_tools`` traits) and :func:`llmos_jupyter._lab.mcp_tools_json`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["PALETTE_TIMEOUT_S", "configured_servers", "forget_tools", "palette_tools",
           "tool_entry"]

PALETTE_TIMEOUT_S = 10.0
_NAME_MAX = 128
_TEXT_MAX = 600
_PROPS_MAX = 40  # a schema with hundreds of properties is summarised, not listed whole
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

_cache: dict[tuple[str, str], dict[str, Any]] = {}
_cache_lock = threading.Lock()


def _text(value: Any, limit: int = _TEXT_MAX) -> str:
    """``value`` as one plain, bounded string: control and bidi-override characters
    removed (they could disguise what a text says), whitespace runs folded."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, dict, int, float, bool)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def configured_servers(home: str | Path | None = None) -> list[dict[str, Any]]:
    """The ``[mcp.servers.NAME]`` tables of config.toml as ``[{"name", "label", "kind",
    "error"}]`` sorted by name: ``kind`` is ``"stdio"`` or ``"http"``, ``label`` the command
    or URL shown as a tooltip (no env or header values: those hold secrets), ``error``
    ``None`` or why the entry is unusable (a bad field, an unset ``$NAME``). No server is
    contacted. A config.toml that is not valid TOML raises ``ConfigError``."""
    from llmos_jupyter._config import config_section
    from llmos_jupyter._mcp.client import resolve_server

    servers = config_section("mcp", home).get("servers", {})
    if not isinstance(servers, Mapping):
        return []
    out = []
    for name in sorted(servers):
        entry = servers[name]
        item: dict[str, Any] = {"name": str(name), "label": "", "kind": "", "error": None}
        try:
            spec = resolve_server(dict(entry) if isinstance(entry, Mapping) else entry)
        except (ValueError, TypeError) as exc:
            item["error"] = _text(exc)
        else:
            item["kind"] = spec["kind"]
            item["label"] = _text(" ".join(spec["command"]) if spec["kind"] == "stdio"
                                  else spec["label"], 300)
        out.append(item)
    return out


def _arg_doc(name: str, prop: Any, required: bool) -> dict[str, Any]:
    prop = prop if isinstance(prop, Mapping) else {}
    kind = prop.get("type", "any")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind)
    doc: dict[str, Any] = {"name": _text(name, _NAME_MAX), "type": _text(kind, 40),
                           "required": required,
                           "description": _text(prop.get("description") or prop.get("title"))}
    if "default" in prop:
        doc["default"] = prop["default"]
    if isinstance(prop.get("enum"), list):
        doc["enum"] = [_text(v, 80) for v in prop["enum"][:20]]
    return doc


def tool_entry(server: str, tool: Mapping[str, Any]) -> dict[str, Any]:
    """One palette entry of ``tool`` (a :func:`llmos_jupyter._mcp.client.list_tools`
    dict) of configured server ``server``::

        {"name", "title", "description",            # plain text, bounded
         "arguments": [{"name", "type", "required", "description", "default"?, "enum"?}],
         "more_arguments": int,                      # properties not listed (> 40)
         "params": {"server": server, "tool": name, "arguments": {defaults}}}

    ``params`` are the ``mcp-tool`` node's parameters; ``tool`` is the server's exact
    name (it goes back to the server as is), the other fields are for display only."""
    raw_schema = tool.get("input_schema")
    schema: Mapping[str, Any] = raw_schema if isinstance(raw_schema, Mapping) else {}
    raw_props = schema.get("properties")
    props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) \
        else set()
    names = list(props)
    args = [_arg_doc(str(n), props[n], n in required) for n in names[:_PROPS_MAX]]
    defaults = {str(n): props[n]["default"] for n in names
                if isinstance(props[n], Mapping) and "default" in props[n]}
    name = str(tool.get("name", ""))
    return {"name": _text(name, _NAME_MAX), "title": _text(tool.get("title"), 200),
            "description": _text(tool.get("description")),
            "arguments": args, "more_arguments": max(0, len(names) - _PROPS_MAX),
            "params": {"server": server, "tool": name, "arguments": defaults}}


def palette_tools(server: str, *, timeout_s: float = PALETTE_TIMEOUT_S,
                  refresh: bool = False, home: str | Path | None = None) -> dict[str, Any]:
    """The tools of configured server ``server`` as palette entries::

        {"server": name, "status": "ok", "tools": [tool_entry...], "error": None}
        {"server": name, "status": "error", "tools": [], "error": "one line"}

    Listed once per process and cached (per name and spec: an edited config.toml entry
    is listed anew); ``refresh`` lists again. A server that does not answer within
    ``timeout_s`` seconds, cannot start or is not configured gives ``status: "error"``
    (never raises for server trouble); the error is not cached, so "Load tools" retries.

    Raises:
        ValueError: ``timeout_s`` is not a positive number.
    """
    from llmos_jupyter._config import ConfigError
    from llmos_jupyter._mcp.client import (
        McpServerError,
        _pool_key,
        _timeout,
        list_tools,
        resolve_server,
    )

    timeout = _timeout(timeout_s)
    name = server.strip() if isinstance(server, str) else ""
    if not name or name.startswith(("http://", "https://")):
        return _failed(str(server), "expected the name of a [mcp.servers] entry of config.toml")
    try:
        spec = resolve_server(name, home)
    except (ValueError, TypeError, ConfigError) as exc:
        return _failed(name, str(exc))
    key = (name, _pool_key(spec))
    with _cache_lock:
        if not refresh and key in _cache:
            return _cache[key]
    try:
        # By name when it resolves the same way there (messages then name the server as
        # the user configured it); else the resolved spec.
        tools = list_tools(name if home is None else _spec_of(spec), timeout_s=timeout)
    except (McpServerError, ValueError, TypeError, OSError) as exc:
        return _failed(name, str(exc))
    entries = [tool_entry(name, t) for t in tools]
    entries.sort(key=lambda e: e["name"])
    reply = {"server": name, "status": "ok", "tools": entries, "error": None}
    with _cache_lock:
        _cache[key] = reply
    return reply


def _spec_of(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved spec back in the form :func:`resolve_server` takes (``$NAME`` values
    already resolved: listing must not resolve them a second time from a changed
    environment)."""
    if spec["kind"] == "http":
        return {"url": spec["url"], "headers": dict(spec["headers"])}
    out: dict[str, Any] = {"command": list(spec["command"]), "env": dict(spec["env"])}
    if spec.get("cwd"):
        out["cwd"] = spec["cwd"]
    return out


def _failed(server: str, why: str) -> dict[str, Any]:
    return {"server": _text(server, _NAME_MAX), "status": "error", "tools": [],
            "error": _text(why, 1000)}


def forget_tools() -> None:
    """Empty the cache (the next :func:`palette_tools` lists every server anew)."""
    with _cache_lock:
        _cache.clear()
