"""Rich output for the magics: small objects with ``_repr_mimebundle_`` (no IPython import).

* :class:`NodeOutputs` — a node's outputs as attributes (``vqe.eigenvalue``), shown as an
  HTML table (numbers with units, arrays summarised, ``image`` ports as PNG, three.js
  scenes as a static SVG projection);
* :class:`SkillTable`, :class:`SkillView` — ``%skill list`` / ``%skill show``;
* :class:`GraphView` — a static SVG of the DAG (``%workflow graph``);
* :class:`RunView` — per-node status table (``%workflow run`` / ``status``);
* :class:`CellsView` — skill cells to paste or insert (``%workflow import``), with the
  ``application/vnd.llmos.cells+json`` bundle a front-end can insert as cells;
* :func:`threejs_widget` — a pythreejs renderer for a ``threejs-scene`` object (only
  when pythreejs is installed).

Everything renders as ``text/plain`` too, so terminals, traces and nbconvert keep a
readable form.

Nothing a skill carries (name, description, port descriptions, body, outputs) or an LLM
answer says reaches the page as live markup: HTML built here escapes every such string
(``html.escape``), Markdown is never handed to the front-end as ``text/markdown`` — a
cell's outputs are trusted by JupyterLab, so its Markdown renderer would not sanitize
them — but rendered by :func:`markdown_html` (markdown-it-py with raw HTML off, then the
``nh3`` sanitizer: no scripts, no event attributes, only ``http``/``https``/``mailto``
links). Values a skill declares ``secret: true`` show as ``●●●`` and every shown string
passes the one redaction step (:mod:`llmos_jupyter._redact`).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llmos_jupyter._redact import redact, redact_ports, strip_control
from llmos_jupyter._skills.ports import is_png, png_bytes

__all__ = [
    "CELLS_MIME",
    "NODE_MIME",
    "CellsView",
    "GraphView",
    "MarkdownText",
    "NodeOutputs",
    "RunView",
    "SkillTable",
    "SkillView",
    "graph_svg",
    "is_scene",
    "markdown_html",
    "scene_svg",
    "threejs_widget",
]

NODE_MIME = "application/vnd.llmos.node+json"
"""Mime type of a ``%%skill`` cell's result for front-ends (the JupyterLab sidebar canvas):
``{"node", "skill", "status", "elapsed_ms", "error"?, "previews": {port: preview}}`` with
previews as :func:`llmos_jupyter._skills.preview.preview` makes them for the canvas."""
_MAX_NODE_IMAGE = 300_000  # characters of a data URI kept in a notebook's node bundle

CELLS_MIME = "application/vnd.llmos.cells+json"
"""Mime type of ``{"cells": [{"source", "metadata"}]}``: skill cells a front-end may insert."""

SCENE_FORMAT = "threejs-scene"

_STATUS_COLOR = {
    "completed": "#2e7d32", "cached": "#1565c0", "failed": "#c62828", "skipped": "#b26a00",
    "stale": "#ef6c00", "not run": "#757575", "invalid": "#c62828",
}
_STATUS_MARK = {"completed": "✓", "cached": "≡", "failed": "✗", "skipped": "–", "stale": "↻",
                "not run": "·", "invalid": "!"}
_STYLE = ("font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; "
          "border-collapse: collapse")
_TD = "padding: 2px 8px; text-align: left; vertical-align: top"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# -- Markdown, sanitized ---------------------------------------------------------------------
_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
         "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
         "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
         "tr", "ul"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"},
               "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_SCHEMES = {"http", "https", "mailto"}


def _markdown_it() -> Any:
    from markdown_it import MarkdownIt

    # html=False: raw HTML in the source is shown as text; markdown-it also refuses
    # javascript:/vbscript:/file: and non-image data: links (validateLink).
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown_html(text: str) -> str:
    """Markdown (from a skill or an LLM answer) as HTML that cannot run anything.

    Rendered by markdown-it-py (CommonMark + tables) with raw HTML off, then cleaned by
    ``nh3`` (tags limited to text formatting, lists, tables, code, links and images;
    no ``on*``/``style`` attributes; URLs only ``http``, ``https``, ``mailto`` or
    relative; comments dropped). Without ``nh3`` (a platform with no wheel) the text is
    shown escaped in a ``<pre>``: safe, just not formatted.
    """
    try:
        import nh3
    except ImportError:  # pragma: no cover - nh3 ships wheels for the supported platforms
        return f"<pre style='white-space: pre-wrap'>{_e(text)}</pre>"
    rendered = _markdown_it().render(text)
    return nh3.clean(rendered, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES,
                     clean_content_tags={"script", "style"}, strip_comments=True,
                     link_rel="noopener noreferrer nofollow")


class MarkdownText:
    """Markdown shown safely: ``text/html`` from :func:`markdown_html` and ``text/plain``
    (redacted, terminal control sequences stripped). Stands in for IPython's ``Markdown``
    wherever the text comes from a skill or a model."""

    def __init__(self, text: str) -> None:
        self.text = redact(text)

    def __repr__(self) -> str:
        return strip_control(self.text)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self), "text/html": markdown_html(self.text)}


# -- values --------------------------------------------------------------------------------
def _num(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.10g}"
    return repr(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def summarize(value: Any, unit: str | None = None, width: int = 70) -> str:
    """One line of text for a port value (numbers with their unit, arrays summarised)."""
    u = f" {unit}" if unit else ""
    if _is_number(value):
        return _num(value) + u
    if isinstance(value, (bytes, bytearray)) or is_png(value):
        return f"<PNG image, {len(png_bytes(value))} bytes>"
    if is_scene(value):
        n = len(value.get("objects", []))
        return f"<three.js scene, {n} object{'s' if n != 1 else ''}>"
    if isinstance(value, list):
        if value and all(_is_number(x) for x in value):
            if len(value) <= 6:
                return "[" + ", ".join(_num(x) for x in value) + "]" + u
            return (f"array[{len(value)}]{u}: min {_num(min(value))}, max {_num(max(value))}, "
                    f"last {_num(value[-1])}")
        text = f"array[{len(value)}]"
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, str):
        text = value.splitlines()[0] + (" …" if "\n" in value else "") if value else "''"
    else:
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _png_tag(value: Any, max_width: int = 640) -> str:
    data = base64.b64encode(png_bytes(value)).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" style="max-width: {max_width}px" '
            'alt="image output"/>')


def value_html(value: Any, unit: str | None = None) -> str:
    """HTML for one port value."""
    u = f" <span style='color: #666'>{_e(unit)}</span>" if unit else ""
    if isinstance(value, (bytes, bytearray)) or is_png(value):
        return _png_tag(value)
    if is_scene(value):
        return scene_svg(value, size=260)
    if _is_number(value) or isinstance(value, bool):
        return f"<code>{_e(_num(value))}</code>{u}"
    if isinstance(value, str):
        if "\n" in value:
            return f"<pre style='margin: 0'>{_e(value)}</pre>"
        return f"<code>{_e(value)}</code>"
    if isinstance(value, list):
        if value and all(isinstance(r, list) for r in value) and len(value) <= 50 and all(
                len(r) <= 12 for r in value):
            rows = "".join("<tr>" + "".join(f"<td style='{_TD}'>{_e(_num(c))}</td>" for c in r)
                           + "</tr>" for r in value[:20])
            more = (f"<div style='color:#666'>… {len(value) - 20} more rows</div>"
                    if len(value) > 20 else "")
            return f"<table style='{_STYLE}'>{rows}</table>{more}"
        return f"<code>{_e(summarize(value, None, 200))}</code>{u}"
    if isinstance(value, dict):
        if value and len(value) <= 30 and all(
                _is_number(v) or isinstance(v, (str, bool)) or v is None for v in value.values()):
            rows = "".join(f"<tr><td style='{_TD}'><code>{_e(k)}</code></td>"
                           f"<td style='{_TD}'>{_e(_num(v) if _is_number(v) else v)}</td></tr>"
                           for k, v in value.items())
            return f"<table style='{_STYLE}'>{rows}</table>"
        text = json.dumps(value, indent=1, ensure_ascii=False, default=str)
        if len(text) > 2000:
            text = text[:2000] + "\n…"
        return f"<pre style='margin: 0; max-height: 240px; overflow: auto'>{_e(text)}</pre>"
    return f"<code>{_e(summarize(value, None, 200))}</code>"


# -- a node's outputs ------------------------------------------------------------------------
class NodeOutputs:
    """The outputs of one node, as attributes: ``vqe.eigenvalue``, ``vqe["eigenvalue"]``.

    Bound in the kernel under the node's variable name after each run. ``_status`` is
    ``completed``/``cached``/``failed``/``skipped``; ``_result`` is the
    :class:`~llmos_jupyter.NodeResult`; ``_trace`` the trace notebook's path. Reading an
    output of a node that failed raises ``AttributeError`` with the node's error.
    """

    __slots__ = ("_node_id", "_note", "_result", "_skill", "_trace", "_units")

    def __init__(self, node_id: str, result: Any, skill: Any = None, *, trace: str | None = None,
                 note: str = "") -> None:
        self._node_id = node_id
        self._result = result
        self._skill = skill
        self._trace = trace
        self._note = note
        self._units = {p.name: p.unit for p in getattr(skill, "outputs", ())}

    @property
    def _status(self) -> str:
        return self._result.status

    @property
    def _outputs(self) -> dict[str, Any]:
        return dict(self._result.outputs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._result.outputs[name]
        except KeyError:
            raise AttributeError(self._missing(name)) from None

    def __getitem__(self, name: str) -> Any:
        try:
            return self._result.outputs[name]
        except KeyError:
            raise KeyError(self._missing(name)) from None

    def _missing(self, name: str) -> str:
        r = self._result
        if not r.ok:
            return f"node {self._node_id!r} {r.status}: {r.error}; it has no output {name!r}"
        return (f"node {self._node_id!r} has no output {name!r} (outputs: "
                f"{', '.join(r.outputs) or 'none'})")

    def __contains__(self, name: object) -> bool:
        return name in self._result.outputs

    def __iter__(self) -> Any:
        return iter(self._result.outputs)

    def __dir__(self) -> Iterable[str]:
        return [*self._result.outputs, "_status", "_result", "_outputs", "_trace"]

    def _shown(self) -> dict[str, Any]:
        """The outputs as shown: ``secret: true`` ports masked, everything else redacted
        (the attributes keep the real values for the user's code)."""
        return redact_ports(self._skill, self._result.outputs, side="outputs")

    def __repr__(self) -> str:
        r = self._result
        head = f"{self._node_id} ({r.skill_id}) {r.status}"
        if r.status == "completed":
            head += f" in {r.duration_ms:.1f} ms"
        lines = [head]
        if not r.ok:
            lines.append(f"  {redact(r.error)}")
        for k, v in self._shown().items():
            lines.append(f"  {k} = {summarize(v, self._units.get(k))}")
        if self._note:
            lines.append(f"  {self._note}")
        if self._trace:
            lines.append(f"  trace: {self._trace}")
        return strip_control("\n".join(lines))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        r = self._result
        color = _STATUS_COLOR.get(r.status, "#333")
        took = f" in {r.duration_ms:.1f} ms" if r.status == "completed" else ""
        head = (f"<div style='margin-bottom: 4px'><b>{_e(self._node_id)}</b> "
                f"<span style='color: #666'>{_e(r.skill_id)}</span> "
                f"<span style='color: {color}'>{_STATUS_MARK.get(r.status, '')} "
                f"{_e(r.status)}{_e(took)}</span></div>")
        rows = []
        shown = self._shown()
        if not r.ok:
            rows.append(f"<tr><td colspan='2' style='{_TD}; color: {color}'>"
                        f"{_e(redact(r.error))}</td></tr>")
        for k, v in shown.items():
            rows.append(f"<tr><td style='{_TD}'><code>{_e(k)}</code></td>"
                        f"<td style='{_TD}'>{value_html(v, self._units.get(k))}</td></tr>")
        foot = []
        if self._note:
            foot.append(_e(self._note))
        if self._trace:
            foot.append(f"trace: <code>{_e(self._trace)}</code>")
        footer = (f"<div style='color: #666; font-size: 11px; margin-top: 4px'>"
                  f"{' · '.join(foot)}</div>") if foot else ""
        bundle: dict[str, Any] = {
            "text/plain": repr(self),
            "text/html": (f"<div>{head}<table style='{_STYLE}'>{''.join(rows)}</table>"
                          f"{footer}</div>"),
        }
        images = [v for v in shown.values() if isinstance(v, (bytes, bytearray)) or is_png(v)]
        if len(images) == 1:
            bundle["image/png"] = base64.b64encode(png_bytes(images[0])).decode("ascii")
        bundle[NODE_MIME] = self._node_bundle(shown)
        return bundle

    def _node_bundle(self, shown: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The machine-readable result (:data:`NODE_MIME`): status, time, error, previews
        (of the shown, i.e. masked and redacted, outputs)."""
        from llmos_jupyter._skills.preview import output_previews

        r = self._result
        ports = {p.name: p for p in getattr(self._skill, "outputs", ())}
        previews = output_previews(self._shown() if shown is None else shown, ports)
        for k, p in previews.items():
            if p.get("kind") == "image" and len(p.get("src", "")) > _MAX_NODE_IMAGE:
                previews[k] = {"kind": "other", "text": "image (shown in the cell output)"}
        out: dict[str, Any] = {"node": self._node_id, "skill": r.skill_id, "status": r.status,
                               "elapsed_ms": round(r.duration_ms, 3), "previews": previews}
        if r.error:
            out["error"] = redact(r.error)
        return out


# -- skills ----------------------------------------------------------------------------------
def _ports_text(ports: Sequence[Any]) -> str:
    return ", ".join(f"{p.name}: {p.type}" for p in ports) or "—"


class SkillTable:
    """``%skill list``: one row per skill (id, category, volume, ports, description)."""

    def __init__(self, skills: Sequence[Any], title: str = "") -> None:
        self.skills = list(skills)
        self.title = title

    def __repr__(self) -> str:
        if not self.skills:
            return "(no skills)"
        w = max(len(s.skill_id) for s in self.skills)
        lines = [self.title] if self.title else []
        for s in self.skills:
            kind = "" if s.executable else " (standard)"
            lines.append(f"{s.skill_id:{w}}  {s.category:14} {s.volume or 'memory':8} "
                         f"{s.description[:70]}{kind}")
        return strip_control(redact("\n".join(lines)))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        head = "".join(f"<th style='{_TD}'>{h}</th>" for h in
                       ("skill", "category", "volume", "inputs", "outputs", "description"))
        rows = []
        for s in self.skills:
            kind = "" if s.executable else " <i>(standard)</i>"
            rows.append(
                f"<tr><td style='{_TD}'><code>{_e(s.skill_id)}</code></td>"
                f"<td style='{_TD}'>{_e(s.category)}</td>"
                f"<td style='{_TD}'>{_e(s.volume or 'memory')}</td>"
                f"<td style='{_TD}'>{_e(_ports_text(s.inputs))}</td>"
                f"<td style='{_TD}'>{_e(_ports_text(s.outputs))}</td>"
                f"<td style='{_TD}'>{_e(redact(s.description))}{kind}</td></tr>")
        title = f"<div><b>{_e(self.title)}</b></div>" if self.title else ""
        return {"text/plain": repr(self),
                "text/html": (f"{title}<table style='{_STYLE}'><tr>{head}</tr>"
                              f"{''.join(rows)}</table>")}


def _port_table_md(ports: Sequence[Any]) -> str:
    if not ports:
        return "_none_\n"
    lines = ["| port | type | default | unit | description |", "|---|---|---|---|---|"]
    for p in ports:
        default = json.dumps(p.default, ensure_ascii=False) if p.has_default else (
            "required" if p.required else "")
        desc = (p.description or "").replace("|", "\\|").replace("\n", " ")
        default = default.replace("|", "\\|")
        lines.append(f"| `{p.name}` | {p.type} | {default} | {p.unit or ''} | {desc} |")
    return "\n".join(lines) + "\n"


class SkillView:
    """``%skill show ID``: the skill's metadata and ports as tables, then its Markdown.

    Shown as sanitized HTML (:func:`markdown_html`) and plain text; the Markdown source
    is :meth:`markdown` (redacted), never a ``text/markdown`` bundle.
    """

    def __init__(self, skill: Any, text: str | None = None) -> None:
        self.skill = skill
        self.text = text if text is not None else skill.to_markdown()

    def __repr__(self) -> str:
        return strip_control(redact(self.text))

    def markdown(self) -> str:
        """The view as Markdown (metadata line, port tables, body, code), redacted."""
        s = self.skill
        where = f"`{s.path}`" if s.path else "defined in this kernel"
        meta = (f"**`{s.skill_id}`** v{s.version} · {s.category} · runtime {s.runtime} · "
                f"volume {s.volume or 'memory'} · {where}")
        if s.requires:
            meta += " · requires " + ", ".join(f"`{r}`" for r in s.requires)
        parts = [f"## {s.name}", s.description, meta]
        if s.executable:
            parts += ["**Inputs**", _port_table_md(s.inputs),
                      "**Outputs**", _port_table_md(s.outputs)]
        body = s.body
        if s.code is not None and s.code.strip() not in body:
            fence = "`" * max(3, _longest_backtick_run(s.code) + 1)
            body += f"\n\n{fence}python\n{s.code.rstrip()}\n{fence}"
        parts += ["---", body]
        return redact("\n\n".join(p for p in parts if p))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self), "text/html": markdown_html(self.markdown())}


def _longest_backtick_run(text: str) -> int:
    import re

    return max((len(m) for m in re.findall(r"`+", text)), default=0)


# -- the graph -------------------------------------------------------------------------------
def graph_svg(workflow: Any, statuses: Mapping[str, str] | None = None) -> str:
    """A small static SVG of the workflow's DAG: one box per node (id, skill, status
    colour), layered left to right by dependency depth, edges labelled with the input
    port. Pure string building; no layout library."""
    from llmos_jupyter._notebook.mapping import default_positions

    statuses = statuses or {}
    ids = [n.id for n in workflow.nodes]
    pos = default_positions(ids, [(e.source, e.target) for e in workflow.edges])
    bw, bh, xs, ys, pad = 150, 44, 210, 66, 12
    cols = {n: p["x"] // 320 for n, p in pos.items()}
    rows = {n: (p["y"] - 80) // 160 for n, p in pos.items()}
    width = pad * 2 + (max(cols.values(), default=0)) * xs + bw
    height = pad * 2 + (max(rows.values(), default=0)) * ys + bh
    xy = {n: (pad + cols[n] * xs, pad + rows[n] * ys) for n in ids}
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'),
             ('<defs><marker id="llmos-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
              'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
              '<path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>')]
    sx: float  # whole pixels (int) unless a half box height or width is added
    sy: float
    tx: float
    ty: float
    for e in workflow.edges:
        if e.source not in xy or e.target not in xy:
            continue
        (x1, y1), (x2, y2) = xy[e.source], xy[e.target]
        sx, sy, tx, ty = x1 + bw, y1 + bh / 2, x2, y2 + bh / 2
        if tx <= sx:  # same column (a cycle or a back edge): route below
            sx, sy, tx, ty = x1 + bw / 2, y1 + bh, x2 + bw / 2, y2 + bh
        mx = (sx + tx) / 2
        parts.append(f'<path d="M {sx} {sy} C {mx} {sy}, {mx} {ty}, {tx} {ty}" fill="none" '
                     f'stroke="#888" stroke-width="1.2" marker-end="url(#llmos-arrow)">'
                     f'<title>{_e(e.source)}.{_e(e.source_handle)} → {_e(e.target)}.'
                     f'{_e(e.target_handle)}</title></path>')
    for n in workflow.nodes:
        x, y = xy[n.id]
        status = statuses.get(n.id, "not run")
        color = _STATUS_COLOR.get(status, "#757575")
        parts.append(
            f'<g><title>{_e(n.id)} ({_e(n.skill)}): {_e(status)}</title>'
            f'<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="6" fill="#fff" '
            f'stroke="{color}" stroke-width="2"/>'
            f'<text x="{x + 8}" y="{y + 17}" font-weight="bold" fill="#222">'
            f'{_e(_clip(n.id, 20))}</text>'
            f'<text x="{x + 8}" y="{y + 33}" fill="#666">{_e(_clip(n.skill, 22))}</text>'
            f'<circle cx="{x + bw - 10}" cy="{y + 10}" r="4" fill="{color}"/></g>')
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class GraphView:
    """``%workflow graph``: the DAG as SVG (text: one line per node with its inputs)."""

    def __init__(self, workflow: Any, statuses: Mapping[str, str] | None = None) -> None:
        self.workflow = workflow
        self.statuses = dict(statuses or {})

    def __repr__(self) -> str:
        wf = self.workflow
        lines = [repr(wf)]
        for n in wf.nodes:
            wires = ", ".join(f"{e.target_handle}←{e.source}.{e.source_handle}"
                              for e in wf.edges_into(n.id))
            status = self.statuses.get(n.id, "not run")
            lines.append(f"  {n.id} ({n.skill}) [{status}]" + (f"  {wires}" if wires else ""))
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self), "image/svg+xml": graph_svg(self.workflow, self.statuses)}


class RunView:
    """``%workflow run`` / ``%workflow status``: one row per node."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], title: str = "",
                 trace: str | None = None) -> None:
        self.rows = list(rows)
        self.title = title
        self.trace = trace

    def __repr__(self) -> str:
        lines = [self.title] if self.title else []
        w = max((len(r["node"]) for r in self.rows), default=4)
        for r in self.rows:
            ms = f"{r['ms']:.1f} ms" if r.get("ms") else ""
            lines.append(f"{_STATUS_MARK.get(r['status'], '?')} {r['node']:{w}}  {r['skill']:22} "
                         f"{r['status']:10} {ms:>10}  {r.get('detail', '')}".rstrip())
        if self.trace:
            lines.append(f"trace: {self.trace}")
        return strip_control(redact("\n".join(lines)))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        head = "".join(f"<th style='{_TD}'>{h}</th>" for h in ("node", "skill", "status", "ms", ""))
        body = []
        for r in self.rows:
            color = _STATUS_COLOR.get(r["status"], "#333")
            ms = f"{r['ms']:.1f}" if r.get("ms") else ""
            body.append(f"<tr><td style='{_TD}'><b>{_e(r['node'])}</b></td>"
                        f"<td style='{_TD}'>{_e(r['skill'])}</td>"
                        f"<td style='{_TD}; color: {color}'>{_STATUS_MARK.get(r['status'], '')} "
                        f"{_e(r['status'])}</td><td style='{_TD}'>{ms}</td>"
                        f"<td style='{_TD}'>{_e(redact(r.get('detail', '')))}</td></tr>")
        title = f"<div><b>{_e(self.title)}</b></div>" if self.title else ""
        trace = (f"<div style='color: #666; font-size: 11px'>trace: <code>{_e(self.trace)}</code>"
                 "</div>") if self.trace else ""
        return {"text/plain": repr(self),
                "text/html": f"{title}<table style='{_STYLE}'><tr>{head}</tr>{''.join(body)}"
                             f"</table>{trace}"}


class CellsView:
    """Skill cells shown as code blocks, plus a bundle a front-end can insert as cells."""

    def __init__(self, cells: Sequence[Mapping[str, Any]], title: str = "") -> None:
        self.cells = [dict(c) for c in cells]
        self.title = title

    def __repr__(self) -> str:
        out = [self.title] if self.title else []
        for i, c in enumerate(self.cells, 1):
            out += [f"# --- cell {i} ---", c["source"]]
        return strip_control(redact("\n".join(out)))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # Escaped HTML, not Markdown: a cell source (an inline skill's body) could close
        # a Markdown code fence and continue as live Markdown.
        parts = [f"<div><b>{_e(redact(self.title))}</b></div>"] if self.title else []
        for c in self.cells:
            parts.append("<pre style='margin: 4px 0; padding: 4px 8px; background: "
                         "var(--jp-layout-color2, #f5f5f5)'><code>"
                         f"{_e(redact(c['source']))}</code></pre>")
        return {"text/plain": repr(self), "text/html": "".join(parts),
                CELLS_MIME: {"cells": _redacted_cells(self.cells)}}


def _redacted_cells(cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The cells of a :data:`CELLS_MIME` bundle, every string redacted."""
    from llmos_jupyter._redact import redact_obj

    return [dict(redact_obj(c)) for c in cells]


# -- three.js scenes -------------------------------------------------------------------------
def is_scene(value: Any) -> bool:
    """True for a ``{"format": "threejs-scene", "objects": [...]}`` object (the output
    of the ``threejs-cube`` skill)."""
    return isinstance(value, Mapping) and value.get("format") == SCENE_FORMAT and isinstance(
        value.get("objects"), list)


def _shade(hex_color: str, k: float) -> str:
    c = hex_color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        r, g, b = 128, 128, 128
    k = max(0.0, min(1.0, k))
    return "#" + "".join(f"{int(v * k):02x}" for v in (r, g, b))


def scene_svg(scene: Mapping[str, Any], size: int = 300) -> str:
    """A static SVG of a three.js scene's meshes: orthographic view along the camera
    direction, faces painted back to front and shaded by a directional light (Lambert:
    brightness 0.35 + 0.65·max(0, n·l)). Needs each object's world ``vertices`` and
    triangle ``faces``."""
    cam = scene.get("camera", {}).get("position", [3, 3, 3])
    norm = math.sqrt(sum(c * c for c in cam)) or 1.0
    view = [c / norm for c in cam]  # from the origin towards the camera
    up = [0.0, 1.0, 0.0]
    right = _cross(up, view)
    rn = math.sqrt(sum(c * c for c in right)) or 1.0
    right = [c / rn for c in right]
    true_up = _cross(view, right)
    light = scene.get("light_direction", [0.4, 1.0, 0.7])
    ln = math.sqrt(sum(c * c for c in light)) or 1.0
    light = [c / ln for c in light]
    polys = []
    extent = 1e-9
    for obj in scene.get("objects", []):
        verts = obj.get("vertices") or []
        color = (obj.get("material") or {}).get("color", "#888888")
        for face in obj.get("faces") or []:
            pts = [verts[i] for i in face]
            a, b, c = pts[0], pts[1], pts[2]
            n = _cross([b[i] - a[i] for i in range(3)], [c[i] - a[i] for i in range(3)])
            nn = math.sqrt(sum(x * x for x in n)) or 1.0
            n = [x / nn for x in n]
            if _dot(n, view) <= 0:  # back face
                continue
            depth = sum(_dot(p, view) for p in pts) / len(pts)
            proj = [(_dot(p, right), _dot(p, true_up)) for p in pts]
            extent = max(extent, *(abs(x) for xy in proj for x in xy))
            polys.append((depth, proj, _shade(color, 0.35 + 0.65 * max(0.0, _dot(n, light)))))
    polys.sort(key=lambda t: t[0])
    scale = size * 0.42 / extent
    half = size / 2
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}"><rect width="{size}" height="{size}" '
            f'fill="{_e(scene.get("background", "#f5f5f5"))}"/>')]
    for _, proj, fill in polys:
        points = " ".join(f"{half + x * scale:.1f},{half - y * scale:.1f}" for x, y in proj)
        out.append(f'<polygon points="{points}" fill="{fill}" stroke="{fill}" stroke-width="0.5"/>')
    out.append("</svg>")
    return "".join(out)


def _cross(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def threejs_widget(scene: Mapping[str, Any], width: int = 360, height: int = 300) -> Any:
    """An interactive pythreejs ``Renderer`` (orbit controls) for a ``threejs-scene``.

    Raises:
        ImportError: pythreejs is not installed (``pip install pythreejs``).
    """
    import pythreejs as p3  # optional: only the display of scenes needs it

    children = []
    for obj in scene.get("objects", []):
        g = obj.get("geometry") or {}
        if g.get("type") == "BoxGeometry":
            geometry = p3.BoxGeometry(width=g.get("width", 1), height=g.get("height", 1),
                                      depth=g.get("depth", 1))
        else:
            geometry = p3.BufferGeometry(attributes={
                "position": p3.BufferAttribute(
                    [v for f in obj.get("faces", []) for i in f for v in obj["vertices"][i]],
                    normalized=False)})
        m = obj.get("material") or {}
        mesh = p3.Mesh(geometry, p3.MeshStandardMaterial(color=m.get("color", "#888888"),
                                                         metalness=m.get("metalness", 0.1),
                                                         roughness=m.get("roughness", 0.6)))
        if g.get("type") == "BoxGeometry":
            rx, ry, rz = obj.get("rotation", [0, 0, 0])
            mesh.rotation = (rx, ry, rz, obj.get("rotation_order", "XYZ"))
            mesh.position = tuple(obj.get("position", [0, 0, 0]))
        children.append(mesh)
    cam_pos = tuple(scene.get("camera", {}).get("position", [3, 3, 3]))
    camera = p3.PerspectiveCamera(position=cam_pos, fov=scene.get("camera", {}).get("fov", 45),
                                  aspect=width / height,
                                  children=[p3.DirectionalLight(position=cam_pos, intensity=0.8)])
    children += [camera, p3.AmbientLight(intensity=0.4)]
    return p3.Renderer(camera=camera, scene=p3.Scene(children=children,
                                                     background=scene.get("background", "#f5f5f5")),
                       controls=[p3.OrbitControls(controlling=camera)], width=width, height=height)
