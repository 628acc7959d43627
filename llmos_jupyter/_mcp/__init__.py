"""MCP (Model Context Protocol) in both directions, on the official ``mcp`` Python SDK.

* :mod:`llmos_jupyter._mcp.client` — what the ``mcp-tool``, ``mcp-resource`` and
  ``mcp-prompt`` nodes and ``llmos mcp tools`` call: a per-process pool of connections to
  MCP servers (stdio subprocesses or streamable HTTP endpoints) owned by one background
  event-loop thread, used from synchronous code.
* :mod:`llmos_jupyter._mcp.server` — ``llmos mcp serve``: the skill library (and
  workflows with a declared interface) as an MCP server's tools and resources.
* :mod:`llmos_jupyter._mcp.palette` — the canvas palette's MCP group: configured servers'
  tools listed on demand (bounded, cached per session) as prefilled ``mcp-tool`` nodes.

Both import ``mcp`` lazily, so llmos works without the ``mcp`` extra until one of them
is used. Spec: https://modelcontextprotocol.io/specification ; docs/mcp.md.
"""
