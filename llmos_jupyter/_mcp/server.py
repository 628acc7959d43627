"""``llmos mcp serve``: llmos as an MCP server (stdio, or streamable HTTP on localhost).

What it offers (https://modelcontextprotocol.io/specification/server):

* **tools** — every executable Python skill of the library (control-flow skills such as
  ``map``/``switch``, which only mean something inside a workflow, are left out), named
  by its skill id; and every workflow file given with ``--workflow`` that declares
  top-level ``inputs``/``outputs`` (``docs/control-flow.md``), named by its workflow id.
  A tool's input schema is built from the ports (:func:`input_schema`): JSON Schema
  types from port types, ``required`` from the ports, defaults, ``enum``, ``minimum``,
  ``maximum``, and the unit in each description.
* **resources** — every skill as ``skill://ID``, its Markdown file (``text/markdown``).

A tool call is one engine run (one :class:`~llmos_jupyter._engine.engine.Engine` for the
server's lifetime, so the cache, the trace notebooks and the isolation of untrusted
skills apply as in any run): a skill runs as a one-node workflow ``mcp-<skill id>`` with
the arguments as its parameters; a workflow runs with the arguments as overrides of its
declared inputs. The result's ``structuredContent`` is the outputs as JSON (the same JSON
also as a text block, for clients that read only text); image outputs (PNG) are also
sent as image content blocks and appear in the JSON as ``{"mimeType": "image/png",
"content": k}`` (``k`` = the block's index). A failed run answers ``isError: true`` with
the node's one-line error; nothing is raised to the client.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import Port, is_png, jsonable, png_bytes

__all__ = ["LlmosMcp", "ToolSpec", "build_server", "input_schema", "serve_http",
           "serve_stdio"]

_JSON_TYPES = {"string": "string", "number": "number", "integer": "integer",
               "boolean": "boolean", "array": "array", "object": "object"}


def port_schema(port: Port) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one input port: ``type`` from the port type (``image``
    → a ``data:image/png;base64,`` string; ``any`` → no type), ``description`` with the
    unit appended, ``default``, ``enum``, ``minimum``, ``maximum``; secret ports are
    ``writeOnly``."""
    schema: dict[str, Any] = {}
    if port.type in _JSON_TYPES:
        schema["type"] = _JSON_TYPES[port.type]
    elif port.type == "image":
        schema["type"] = "string"
        schema["contentMediaType"] = "image/png"
    desc = port.description.strip()
    if port.type == "image":
        desc = (desc + " " if desc else "") + "A PNG as a data:image/png;base64,… URI."
    if port.unit:
        desc = (desc.rstrip(".") + ". " if desc else "") + f"Unit: {port.unit}."
    if desc:
        schema["description"] = desc
    if port.has_default:
        try:
            json.dumps(port.default, allow_nan=False)
            schema["default"] = port.default
        except (TypeError, ValueError):
            pass  # a default JSON cannot carry is simply not advertised
    if port.enum is not None:
        schema["enum"] = list(port.enum)
    if port.minimum is not None:
        schema["minimum"] = port.minimum
    if port.maximum is not None:
        schema["maximum"] = port.maximum
    if port.secret:
        schema["writeOnly"] = True
    return schema


def input_schema(ports: Iterable[Port]) -> dict[str, Any]:
    """The ``inputSchema`` of a tool whose inputs are ``ports``: an object with one
    property per port, ``required`` = the ports that are required and have no default,
    no other properties."""
    ports = list(ports)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {p.name: port_schema(p) for p in ports},
        "additionalProperties": False,
    }
    required = [p.name for p in ports if p.required and not p.has_default]
    if required:
        schema["required"] = required
    return schema


@dataclass(frozen=True)
class ToolSpec:
    """One tool: a skill (``skill`` set) or a workflow file (``workflow`` set, with its
    declared interface ``inputs``/``outputs``: name → ``(node, port)``)."""

    name: str
    title: str
    description: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    skill: Skill | None = None
    workflow: Path | None = None
    interface_in: dict[str, tuple[str, str]] | None = None
    interface_out: dict[str, tuple[str, str]] | None = None


class LlmosMcp:
    """The tools and resources of ``llmos mcp serve`` and how a call runs; independent
    of the SDK so it can be tested directly.

    Args:
        library: the skill library (default: ``SkillLibrary()``, the user's volumes).
        workflows: workflow files to offer as tools (each must declare ``outputs``).
        engine: the engine calls run on (default: ``Engine(library)``).

    Raises:
        WorkflowError / WorkflowInvalid: a workflow file is unreadable, declares no
            outputs, or does not validate.
        ValueError: two tools would have the same name.
    """

    def __init__(self, library: Any = None, workflows: Iterable[str | Path] = (),
                 engine: Any = None) -> None:
        from llmos_jupyter._engine.engine import Engine
        from llmos_jupyter._skills.library import SkillLibrary

        self.library = library if library is not None else SkillLibrary()
        self.engine = engine if engine is not None else Engine(self.library)
        self._lock = threading.Lock()
        self.workflow_tools = [self._workflow_tool(Path(w)) for w in workflows]
        clash = {t.name for t in self.workflow_tools} & {s.skill_id for s in self._skills()}
        if clash:
            raise ValueError(f"workflow tool name(s) {', '.join(sorted(clash))} clash with "
                             "skill ids; give the workflow another id")

    # -- catalogue ------------------------------------------------------------------------
    def _skills(self) -> list[Skill]:
        """Executable Python skills, minus control-flow skills (engine-only semantics)."""
        refresh = getattr(self.library, "refresh", None)
        if callable(refresh):
            refresh()  # skills saved while the server runs appear on the next listing
        return [s for s in self.library
                if s.executable and s.runtime == "python" and "control" not in s.frontmatter]

    def tools(self) -> list[ToolSpec]:
        """Every tool: the skills by id, then the workflows."""
        out = [ToolSpec(name=s.skill_id, title=s.name, description=s.description,
                        inputs=tuple(s.inputs), outputs=tuple(s.outputs), skill=s)
               for s in sorted(self._skills(), key=lambda s: s.skill_id)]
        return out + self.workflow_tools

    def tool(self, name: str) -> ToolSpec | None:
        for t in self.workflow_tools:
            if t.name == name:
                return t
        try:
            skill = self.library.get(name)
        except Exception:  # noqa: BLE001 - unknown id: no such tool
            return None
        if skill in self._skills():
            return ToolSpec(name=skill.skill_id, title=skill.name,
                            description=skill.description, inputs=tuple(skill.inputs),
                            outputs=tuple(skill.outputs), skill=skill)
        return None

    def _workflow_tool(self, path: Path) -> ToolSpec:
        from llmos_jupyter._exceptions import WorkflowError
        from llmos_jupyter._workflow.model import Workflow
        from llmos_jupyter._workflow.subflows import interface
        path = path.expanduser().resolve()
        wf = Workflow.load(path)
        in_decl, out_decl = interface(wf)
        if not out_decl:
            raise WorkflowError("the workflow declares no \"outputs\" (name → \"node.port\"); "
                                "an MCP tool needs at least one", path=path)
        # Typed exactly as a subworkflow node types the interface (units, defaults from
        # the inner params).
        from llmos_jupyter._workflow.control import typed_interface

        ins_map, outs_map = typed_interface(path, self.library)
        ins = tuple(ins_map.values())
        outs = tuple(outs_map.values())
        desc = str(wf.extra.get("description") or f"Runs the workflow {wf.name or wf.id}.")
        return ToolSpec(name=wf.id, title=wf.name or wf.id, description=desc, inputs=ins,
                        outputs=outs, workflow=path,
                        interface_in=dict(in_decl), interface_out=dict(out_decl))

    def skill_markdown(self, skill_id: str) -> str | None:
        """The Markdown of skill ``skill_id`` (its file, else regenerated), or None."""
        try:
            skill = self.library.get(skill_id)
        except Exception:  # noqa: BLE001
            return None
        if skill.path is not None:
            try:
                return Path(skill.path).read_text(encoding="utf-8")
            except OSError:
                pass
        return skill.to_markdown()

    # -- calls ------------------------------------------------------------------------------
    def call(self, name: str, arguments: dict[str, Any] | None,
             cancel: threading.Event | None = None) -> tuple[bool, Any, str]:
        """Run tool ``name``: ``(ok, outputs, error)`` — outputs a dict when ok, else
        ``error`` is one line (unknown tool, unknown argument, invalid workflow, or the
        failed node's error)."""
        from llmos_jupyter._exceptions import WorkflowInvalid
        from llmos_jupyter._workflow.model import Workflow

        spec = self.tool(name)
        if spec is None:
            return False, None, f"unknown tool {name!r}"
        args = dict(arguments or {})
        known = {p.name for p in spec.inputs}
        unknown = sorted(set(args) - known)
        if unknown:
            return False, None, (f"tool {name!r} has no argument(s) {', '.join(unknown)} "
                                 f"(it takes: {', '.join(sorted(known)) or 'none'})")
        try:
            if spec.skill is not None:
                wf = Workflow(id=f"mcp-{spec.name}", name=f"MCP call: {spec.title}")
                wf.add_node(spec.name, id=spec.name, params=args)
                res = self.engine.run(wf, cancel=cancel)
                node = res.nodes[spec.name]
                if node.status == "failed" or not node.ok:
                    return False, None, _one_line(node.error or f"node {node.status}")
                return True, dict(node.outputs), ""
            assert spec.workflow is not None and spec.interface_in is not None \
                and spec.interface_out is not None
            wf = Workflow.load(spec.workflow)
            overrides = {f"{n}.{p}": args[k] for k, (n, p) in spec.interface_in.items()
                         if k in args}
            res = self.engine.run(wf, overrides, cancel=cancel)
            failed = [f"{n}: {_one_line(r.error)}" for n, r in res.nodes.items()
                      if r.status == "failed"]
            if failed:
                return False, None, "; ".join(failed)
            out: dict[str, Any] = {}
            for k, (n, p) in spec.interface_out.items():
                r = res.nodes.get(n)
                if r is not None and r.ok and p in r.outputs:
                    out[k] = r.outputs[p]
            return True, out, ""
        except WorkflowInvalid as exc:
            problems = getattr(exc, "problems", None) or []
            text = "; ".join(getattr(p, "message", str(p)) for p in problems) or str(exc)
            return False, None, _one_line(text)
        except Exception as exc:  # noqa: BLE001 - every failure is an isError result
            return False, None, _one_line(f"{type(exc).__name__}: {exc}")


def _one_line(text: Any) -> str:
    """The first non-empty line of an error, redacted and at most 2000 characters (node
    errors are already ``Type: message`` lines; this guards the odd multi-line one)."""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    try:
        from llmos_jupyter._redact import redact

        line = redact(line)
    except ImportError:  # pragma: no cover
        pass
    return line if len(line) <= 2000 else line[:1997] + "..."


def result_content(outputs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """``(content blocks, structured content)`` of a tool's outputs: PNG images become
    image blocks referenced from the JSON; the JSON is also the first (text) block."""
    import mcp_types as types

    images: list[Any] = []
    structured: dict[str, Any] = {}
    for key, value in outputs.items():
        if is_png(value):
            images.append(types.ImageContent(
                data=base64.b64encode(png_bytes(value)).decode("ascii"), mime_type="image/png"))
            structured[key] = {"mimeType": "image/png", "content": len(images)}
        else:
            structured[key] = jsonable(value)
    text = json.dumps(structured, ensure_ascii=False, allow_nan=False)
    return [types.TextContent(text=text), *images], structured


def build_server(app: LlmosMcp) -> Any:
    """The SDK's low-level ``mcp.server.Server`` serving ``app``'s tools and resources."""
    import anyio
    import mcp_types as types
    from mcp.server import Server
    from mcp.shared.exceptions import MCPError

    from llmos_jupyter._version import __version__

    async def list_tools(ctx: Any, params: Any) -> Any:
        specs = await anyio.to_thread.run_sync(app.tools)
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, title=t.title, description=t.description,
                       input_schema=input_schema(t.inputs)) for t in specs])

    async def call_tool(ctx: Any, params: Any) -> Any:
        cancel = threading.Event()
        try:
            ok, outputs, error = await anyio.to_thread.run_sync(
                app.call, params.name, params.arguments, cancel, abandon_on_cancel=True)
        except BaseException:
            cancel.set()  # the client went away: stop the run at the next node
            raise
        if not ok:
            return types.CallToolResult(content=[types.TextContent(text=error)], is_error=True)
        content, structured = result_content(outputs)
        return types.CallToolResult(content=content, structured_content=structured)

    async def list_resources(ctx: Any, params: Any) -> Any:
        skills = await anyio.to_thread.run_sync(
            lambda: sorted(app.library, key=lambda s: s.skill_id))
        return types.ListResourcesResult(resources=[
            types.Resource(uri=f"skill://{s.skill_id}", name=s.skill_id, title=s.name,
                           description=s.description, mime_type="text/markdown")
            for s in skills])

    async def read_resource(ctx: Any, params: Any) -> Any:
        uri = str(params.uri)
        if not uri.startswith("skill://"):
            raise MCPError(types.INVALID_PARAMS, f"unknown resource {uri!r} (llmos serves "
                                                 "skill://ID)")
        text = await anyio.to_thread.run_sync(app.skill_markdown, uri[len("skill://"):])
        if text is None:
            raise MCPError(types.INVALID_PARAMS, f"no skill {uri[len('skill://'):]!r}")
        return types.ReadResourceResult(contents=[
            types.TextResourceContents(uri=uri, text=text, mime_type="text/markdown")])

    return Server("llmos", version=__version__, title="llmos-jupyter",
                  instructions="Skills of the llmos library as tools (one engine run per "
                               "call; traces are written) and as skill://ID resources.",
                  on_list_tools=list_tools, on_call_tool=call_tool,
                  on_list_resources=list_resources, on_read_resource=read_resource)


def serve_stdio(app: LlmosMcp) -> None:
    """Serve over this process' stdin/stdout until the client closes stdin. (The SDK
    diverts file descriptor 1 to stderr meanwhile, so a stray print cannot corrupt the
    protocol stream.)"""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server(app)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def serve_http(app: LlmosMcp, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve streamable HTTP at ``http://HOST:PORT/mcp`` (uvicorn) until interrupted. On a
    loopback host the SDK's DNS-rebinding protection admits only localhost Host/Origin
    headers."""
    import signal

    import uvicorn

    server = build_server(app)
    asgi = server.streamable_http_app(host=host)

    class _Stop(Exception):  # noqa: N818 - a signal, not an error
        pass

    def stop(signum: int, frame: Any) -> None:
        raise _Stop

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, restores the handlers it found and
    # re-raises the signal: with SIGTERM's default that kills the process (status -15)
    # before the engine's pool closes. Ours ends the call instead.
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} \
        if main else {}
    try:
        uvicorn.run(asgi, host=host, port=port, log_level="warning")
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
