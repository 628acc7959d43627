"""Notebook ⇄ Workflow: a pure function over nbformat, no kernel involved.

A notebook's ``%%skill`` code cells are the workflow's nodes, in cell order; their
``--in PORT=NODE.PORT`` options are its edges. Every other cell (Markdown, plain code)
is ignored here; in a kernel it still runs (and, under ipyflow, may feed skill cells).

Where things live::

    notebook.metadata.llmos.workflow     {"id", "name", "description", ...}: the workflow's
                                         own fields except nodes and edges
    notebook.metadata.llmos.key_order    the workflow JSON's key order, when not the default
    notebook.metadata.llmos.node_order   node ids in JSON order, when cells are not in it
    notebook.metadata.llmos.edge_order   edge ids in JSON order, when not grouped by cell
    cell.metadata.llmos.position         {"x", "y"}: the node on the canvas
    cell.metadata.llmos.node / .type / .extra / .data / .order / .data_order
                                         the node id (informative) and any other node fields
    cell.metadata.llmos.edges            {input port: {"id", "extra", "order"}} for wires whose
                                         edge id is not the default ``src.port->dst.port``

Skills defined inline in cells travel with the workflow as skill Markdown in
``workflow.extra["inline_skills"]`` (``{skill_id: text}``), so an exported
``*.workflow.json`` stays self-contained; :meth:`Workflow.inline_skills` parses them and
validation / runs see them above the library's skills.

Round trip: ``workflow_from_notebook(notebook_from_workflow(wf)).to_json() ==
wf.to_json()``, except that nested key order inside extra node/edge fields and inside
extra workflow fields (a ``tests`` block) is not kept
(nbformat sorts metadata keys on disk). A notebook without ``metadata.llmos`` gets
default positions: 320 px per dependency level left to right, 160 px apart vertically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillError, WorkflowError
from llmos_jupyter._notebook.cells import (
    SkillCell,
    Wire,
    format_skill_cell,
    is_skill_cell,
    parse_skill_cell,
    skill_id_for,
)
from llmos_jupyter._workflow.model import INLINE_KEY, Edge, Node, Workflow, _edge_id
from llmos_jupyter._workflow.validate import topological_order

__all__ = [
    "INLINE_KEY",
    "CellEntry",
    "NotebookGraph",
    "build_workflow",
    "default_positions",
    "notebook_from_workflow",
    "notebook_graph",
    "read_notebook_workflow",
    "skill_cells",
    "workflow_from_notebook",
    "write_notebook",
]

"""``workflow.extra`` key holding the inline skills' Markdown, ``{skill_id: text}``."""

_DEFAULT_ORDER = ("id", "name", "nodes", "edges")
_NODE_ORDER = ("id", "type", "position", "data")
_DATA_ORDER = ("skill", "params")
X_STEP, Y_STEP, Y0 = 320, 160, 80


class NotebookWorkflow(Workflow):
    """A workflow read from a notebook. ``save()`` refuses to overwrite the ``.ipynb`` it
    came from (its other cells would be lost); save to a ``*.workflow.json`` path, or to
    another ``.ipynb``."""

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is not None and self.path is not None and target.suffix == ".ipynb" and (
                target == self.path or target.resolve() == Path(self.path).resolve()):
            raise WorkflowError("a notebook's workflow is edited in its %%skill cells; save it "
                                "as JSON with save('NAME.workflow.json'), or as a new notebook",
                                path=target)
        return super().save(target)


def write_notebook(workflow: Workflow, path: str | Path) -> Path:
    """Write :func:`notebook_from_workflow` of ``workflow`` to ``path`` atomically
    (what ``Workflow.save("x.ipynb")`` does).

    Raises:
        WorkflowError: the notebook does not validate (a bug, never silent).
        OSError: the file cannot be written.
    """
    import nbformat

    from llmos_jupyter._atomic import atomic_write_text

    nb = notebook_from_workflow(workflow)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise WorkflowError(f"cannot write the workflow as a notebook: {exc.message}",
                            path=path) from None
    atomic_write_text(Path(path), nbformat.writes(nb))
    return Path(path)


@dataclass
class CellEntry:
    """One skill cell on its way into a workflow: the parsed cell, its parameter
    values, its ``metadata.llmos`` and a label for error messages (``cell 4``)."""

    cell: SkillCell
    params: dict[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""


# -- notebook → workflow -------------------------------------------------------------------
def skill_cells(nb: Any) -> list[tuple[int, Any]]:
    """``(index, cell)`` of the notebook's ``%%skill`` code cells (index is 1-based)."""
    out = []
    for i, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") == "code" and is_skill_cell(_source(cell)):
            out.append((i, cell))
    return out


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _llmos_meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = (obj.get("metadata") or {}).get("llmos") or {}
    return dict(meta) if isinstance(meta, Mapping) else {}


def workflow_from_notebook(nb: Any, *, path: str | Path | None = None) -> Workflow:
    """The workflow of a notebook's ``%%skill`` cells (nbformat v4 node or plain dict).

    Returns:
        Workflow: nodes in cell order, edges from ``--in`` options, positions from
        ``cell.metadata.llmos``; inline skills in ``extra["inline_skills"]``. Its ``path``
        is the notebook's (and ``save()`` refuses to overwrite the notebook).

    Raises:
        WorkflowError: a skill cell cannot be parsed, a parameter is not a literal (only
            a kernel evaluates variables), or two cells define one inline skill differently.
    """
    path = Path(path) if path is not None else None
    entries = []
    for index, cell in skill_cells(nb):
        label = f"cell {index}"
        try:
            parsed = parse_skill_cell(_source(cell))
            params = parsed.params()
        except WorkflowError as exc:
            raise WorkflowError(f"{label}: {exc.message}", path=path) from None
        entries.append(CellEntry(parsed, params, _llmos_meta(cell), label))
    meta = _llmos_meta(nb)
    workflow_meta = meta.get("workflow")
    fields: Mapping[str, Any] = workflow_meta if isinstance(workflow_meta, Mapping) else {}
    if "name" not in fields:
        title = _first_heading(nb)
        if title:
            fields = {**fields, "name": title}
    return build_workflow(entries, fields=fields, key_order=meta.get("key_order"),
                          node_order=meta.get("node_order"), edge_order=meta.get("edge_order"),
                          path=path)


def _first_heading(nb: Any) -> str | None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+?)\s*#*\s*$", _source(cell), re.MULTILINE)
            if m:
                return m.group(1)
    return None


def read_notebook_workflow(path: str | Path) -> Workflow:
    """Read ``path`` (an ``.ipynb``) and return the workflow of its ``%%skill`` cells
    (:meth:`Workflow.load` calls this for notebooks).

    Raises:
        WorkflowError: the file is missing, not a notebook, or a skill cell is invalid.
    """
    import nbformat

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError(f"cannot read notebook: {exc.strerror}", path=path) from None
    except UnicodeDecodeError as exc:
        raise WorkflowError(f"not UTF-8 text ({exc.reason})", path=path) from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises NotJSONError, ValidationError, KeyError...
        raise WorkflowError(f"not a Jupyter notebook: {str(exc).splitlines()[0][:200]}",
                            path=path) from None
    return workflow_from_notebook(nb, path=path)


def build_workflow(
    entries: Sequence[CellEntry],
    *,
    fields: Mapping[str, Any] | None = None,
    key_order: Sequence[str] | None = None,
    node_order: Sequence[str] | None = None,
    edge_order: Sequence[str] | None = None,
    path: Path | None = None,
) -> Workflow:
    """Assemble a workflow from parsed skill cells (shared by the mapping and the kernel).

    Raises:
        WorkflowError: an inline skill is invalid, or two cells define the same inline
            skill id with different code.
    """
    fields = dict(fields or {})
    inline: dict[str, str] = {}
    nodes: list[Node] = []
    edges: list[Edge] = []
    missing_position: list[Node] = []
    for entry in entries:
        cell, meta = entry.cell, entry.meta
        prefix = f"{entry.label}: " if entry.label else ""
        try:
            if cell.inline:
                skill = cell.skill
                sid = skill.skill_id
                known = inline.get(sid)
                if known is not None and known != cell.skill_markdown:
                    raise WorkflowError(f"%%skill {cell.node_id}: another cell already defines "
                                        f"the inline skill {sid!r} differently")
                inline[sid] = cell.skill_markdown
            else:
                sid = cell.skill_id
        except WorkflowError as exc:
            raise WorkflowError(prefix + exc.message, path=path) from None
        position = meta.get("position")
        node = Node(
            id=cell.node_id,
            skill=sid,
            params=dict(entry.params),
            position=dict(position) if isinstance(position, Mapping) else {"x": 0, "y": 0},
            type=str(meta.get("type", "skill")),
            extra=dict(meta.get("extra") or {}),
            data_extra=dict(meta.get("data") or {}),
            _order=tuple(meta.get("order") or _NODE_ORDER),
            _data_order=tuple(meta.get("data_order") or _DATA_ORDER),
        )
        if not isinstance(position, Mapping):
            missing_position.append(node)
        nodes.append(node)
        edges_meta = meta.get("edges")
        edge_meta: Mapping[str, Any] = edges_meta if isinstance(edges_meta, Mapping) else {}
        for w in cell.wires:
            one_meta = edge_meta.get(w.port)
            em: Mapping[str, Any] = one_meta if isinstance(one_meta, Mapping) else {}
            extra = dict(em.get("extra") or {})
            edges.append(Edge(
                id=str(em.get("id") or _edge_id(w.source, w.source_port, cell.node_id, w.port)),
                source=w.source, source_handle=w.source_port, target=cell.node_id,
                target_handle=w.port, extra=extra,
                _order=tuple(em.get("order") or ("id", "source", "sourceHandle", "target",
                                                 "targetHandle"))))

    if node_order:
        rank = {n: i for i, n in enumerate(node_order)}
        nodes.sort(key=lambda n: rank.get(n.id, len(rank)))
    if edge_order:
        edge_rank = {e: i for i, e in enumerate(edge_order)}
        edges.sort(key=lambda e: edge_rank.get(e.id, len(edge_rank)))
    if missing_position:
        layout = default_positions([n.id for n in nodes],
                                   [(e.source, e.target) for e in edges])
        for n in missing_position:
            n.position = dict[str, float](layout[n.id])  # a copy, typed as Node.position

    extra = {k: v for k, v in fields.items() if k not in ("id", "name", "nodes", "edges")}
    if inline:
        extra[INLINE_KEY] = inline
    stem = path.name.removesuffix(".ipynb") if path is not None else "notebook"
    wf_id = str(fields.get("id") or _slug(stem) or "notebook")
    order = tuple(key_order) if key_order else tuple(
        k for k in ("id", "name", *fields, "nodes", "edges") if k in
        ("id", "name", "nodes", "edges") or k in fields)
    order = tuple(dict.fromkeys(order))
    return NotebookWorkflow(id=wf_id, name=str(fields.get("name") or ""), nodes=nodes,
                            edges=edges, extra=extra, path=path, _order=order)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def default_positions(node_ids: Sequence[str],
                      links: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Left-to-right layout: x = 320 px × dependency depth, y = 80 + 160 px × rank within
    that depth (nodes on a cycle stay at the depth reached so far)."""
    preds: dict[str, list[str]] = {n: [] for n in node_ids}
    for a, b in links:
        if a in preds and b in preds:
            preds[b].append(a)
    depth: dict[str, int] = {}

    def level(n: str, stack: frozenset[str]) -> int:
        if n in depth:
            return depth[n]
        d = 0
        for p in preds[n]:
            if p not in stack:
                d = max(d, level(p, stack | {n}) + 1)
        depth[n] = d
        return d

    rows: dict[int, int] = {}
    out = {}
    for n in node_ids:
        d = level(n, frozenset())
        k = rows.get(d, 0)
        rows[d] = k + 1
        out[n] = {"x": X_STEP * d, "y": Y0 + Y_STEP * k}
    return out


# -- workflow → notebook -------------------------------------------------------------------
def _topological(nodes: list[str], edges: list[Edge]) -> list[str]:
    """Topological order (file order among independent nodes); file order on a cycle."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        if e.source in preds and e.target in preds:
            preds[e.target].append(e.source)
    return topological_order(preds) or list(nodes)


def _cell_id(text: str, used: set[str]) -> str:
    base = (re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "cell")[:60]
    cid, i = base, 2
    while cid in used:
        cid, i = f"{base[:56]}-{i}", i + 1
    used.add(cid)
    return cid


def _compact_inline(node_id: str, markdown: str, wires: tuple[Wire, ...],
                    params: Mapping[str, Any]) -> str | None:
    """The compact (code body) cell for an inline skill, when it reproduces ``markdown``
    exactly; else ``None`` (the cell then holds the whole Markdown)."""
    from llmos_jupyter._skills.parser import parse_skill

    try:
        skill = parse_skill(markdown)
        if (skill.code is None or skill.runtime != "python"
                or skill.skill_id != skill_id_for(node_id)):
            return None
        default_desc = f"Defined inline in the notebook cell %%skill {node_id}."
        source = format_skill_cell(
            node_id, params=params, wires=wires, code=skill.code, inputs=skill.inputs,
            outputs=skill.outputs,
            name=skill.name if skill.name != skill.skill_id else None,
            description=skill.description if skill.description != default_desc else None,
            requires=skill.requires)
        again = parse_skill_cell(source)
        return source if again.skill_markdown == markdown else None
    except (SkillError, WorkflowError):
        return None


def notebook_from_workflow(workflow: Workflow) -> Any:
    """A notebook whose ``%%skill`` cells are ``workflow`` (nbformat v4 ``NotebookNode``).

    Cells come in a topological order so the notebook runs top to bottom: a Markdown
    title, ``%load_ext llmos_jupyter``, then one skill cell per node. Params become body
    assignments (``iterations = 100``); positions and other canvas state go to
    ``cell.metadata.llmos``; the workflow's own fields to ``metadata.llmos``.
    """
    from nbformat import v4

    data = workflow.to_dict()
    inline = dict(workflow.extra.get(INLINE_KEY) or {})
    node_ids = [n.id for n in workflow.nodes]
    order = _topological(node_ids, workflow.edges)
    by_id = {n.id: n for n in workflow.nodes}

    meta: dict[str, Any] = {"workflow": {k: v for k, v in data.items()
                                         if k not in ("nodes", "edges", INLINE_KEY)}}
    keys = list(data)
    if tuple(keys) != _natural_key_order(keys):
        meta["key_order"] = keys
    if order != node_ids:
        meta["node_order"] = node_ids
    grouped = [e.id for n in order for e in workflow.edges if e.target == n]
    if grouped != [e.id for e in workflow.edges] and len(set(grouped)) == len(grouped):
        meta["edge_order"] = [e.id for e in workflow.edges]

    from llmos_jupyter._ids import is_valid_id
    from llmos_jupyter._trace.notebook import markdown_text

    used: set[str] = set()
    # The workflow's name and description are data, not Markdown: escaped, so a name
    # holding <img onerror=...> or a javascript: link shows as text.
    title = markdown_text(workflow.name or workflow.id)
    desc = data.get("description")
    desc = markdown_text(desc) if isinstance(desc, str) and desc else ""
    wid = f"`{workflow.id}`" if is_valid_id("workflow", workflow.id) else markdown_text(workflow.id)
    intro = (f"# {title}\n\n" + (f"{desc}\n\n" if desc else "")
             + f"The `%%skill` cells below are the workflow {wid}: each cell is a node "
             "and its `--in PORT=NODE.PORT` options are the edges. Run the notebook top to "
             f"bottom, or headless with `llmos run` on this notebook.")
    cells = [v4.new_markdown_cell(intro, id=_cell_id("title", used)),
             v4.new_code_cell("%load_ext llmos_jupyter", id=_cell_id("load-ext", used))]
    defined: set[str] = set()
    for node_id in order:
        node = by_id[node_id]
        into = [e for e in workflow.edges if e.target == node_id]
        wires = tuple(Wire(e.target_handle, e.source, e.source_handle) for e in into)
        source = None
        if node.skill in inline and node.skill not in defined:
            defined.add(node.skill)
            source = _compact_inline(node_id, inline[node.skill], wires, node.params)
            if source is None:
                try:
                    from llmos_jupyter._skills.parser import parse_skill

                    md_id = parse_skill(inline[node.skill]).skill_id
                except SkillError:
                    md_id = node.skill
                if md_id == node.skill:
                    source = format_skill_cell(node_id, params=node.params, wires=wires,
                                               markdown=inline[node.skill])
        if source is None:
            source = format_skill_cell(node_id, uses=node.skill, params=node.params, wires=wires)
        cell = v4.new_code_cell(source, id=_cell_id(f"skill-{node_id}", used))
        cell.metadata["llmos"] = _node_meta(node, into)
        cells.append(cell)

    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["llmos"] = meta
    return nb


def _natural_key_order(keys: list[str]) -> tuple[str, ...]:
    """The key order ``build_workflow`` produces when no order is stored."""
    rest = [k for k in keys if k not in ("id", "name", "nodes", "edges")]
    return tuple(k for k in ("id", "name", *rest, "nodes", "edges") if k in keys)


def _node_meta(node: Node, into: list[Edge]) -> dict[str, Any]:
    meta: dict[str, Any] = {"node": node.id, "position": dict(node.position)}
    if node.type != "skill":
        meta["type"] = node.type
    if node.extra:
        meta["extra"] = dict(node.extra)
    if node.data_extra:
        meta["data"] = dict(node.data_extra)
    order = tuple(node.to_dict())
    if order != _NODE_ORDER + tuple(k for k in node.extra):
        meta["order"] = list(order)
    data_order = tuple(node.to_dict()["data"])
    if data_order != _DATA_ORDER + tuple(k for k in node.data_extra):
        meta["data_order"] = list(data_order)
    edges: dict[str, Any] = {}
    for e in into:
        em: dict[str, Any] = {}
        if e.id != _edge_id(e.source, e.source_handle, e.target, e.target_handle):
            em["id"] = e.id
        if e.extra:
            em["extra"] = dict(e.extra)
        edge_order = list(e.to_dict())
        natural = ["id", "source", "sourceHandle", "target", "targetHandle", *e.extra]
        if edge_order != natural:
            em["order"] = edge_order
        if em:
            edges[e.target_handle] = em
    if edges:
        meta["edges"] = edges
    return meta


# -- the live graph of an open notebook --------------------------------------------------------
@dataclass
class NotebookGraph:
    """The workflow of a notebook being edited, read leniently (see :func:`notebook_graph`).

    ``cells`` maps each node id to its cell's id (nbformat ≥ 4.5) or, without one, its
    0-based index as text; ``problems`` are ``{"cell", "node", "message"}`` dicts for the
    skill cells left out or partly read; ``expressions`` holds ``{node: {param: source}}``
    for parameter values only a kernel can evaluate (left out of ``params``).
    """

    workflow: Workflow
    cells: dict[str, str] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    expressions: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``{"workflow", "cells", "problems", "expressions"}``."""
        return {"workflow": self.workflow.to_dict(), "cells": self.cells,
                "problems": self.problems, "expressions": self.expressions}


def notebook_graph(nb: Any) -> NotebookGraph:
    """The graph of a notebook's skill cells while it is being edited.

    Unlike :func:`workflow_from_notebook`, a half-typed notebook still has a graph: a
    cell that does not parse (or whose inline skill is invalid) is left out and reported,
    a parameter set to an expression is left out of the node's params (and listed in
    ``expressions``), and when two cells name the same node the later one wins, as in a
    kernel that ran both top to bottom.

    Args:
        nb: an nbformat v4 notebook (``NotebookNode`` or plain dict); only code cells'
            ``id``, ``source`` and ``metadata`` and the notebook's ``metadata.llmos`` are read.

    Returns:
        NotebookGraph: the workflow (positions from ``cell.metadata.llmos``, else the
        default left-to-right layout), node → cell, problems and expressions.
    """
    entries: dict[str, CellEntry] = {}
    where: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    expressions: dict[str, dict[str, str]] = {}
    inline: dict[str, tuple[str, str]] = {}  # skill id -> (markdown, node)
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code" or not is_skill_cell(_source(cell)):
            continue
        key = str(cell.get("id") or i)
        label = f"cell {i + 1}"
        try:
            parsed = parse_skill_cell(_source(cell))
            if parsed.inline:
                sid = parsed.skill.skill_id
                known = inline.get(sid)
                if (known is not None and known[1] != parsed.node_id
                        and known[0] != parsed.skill_markdown):
                    raise WorkflowError(f"%%skill {parsed.node_id}: node {known[1]!r} already "
                                        f"defines the inline skill {sid!r} differently")
                inline[sid] = (parsed.skill_markdown, parsed.node_id)
        except WorkflowError as exc:
            problems.append({"cell": key, "node": None, "message": f"{label}: {exc.message}"})
            continue
        params = {a.name: a.value for a in parsed.assignments if a.literal}
        params.update(parsed.sets)
        exprs = {a.name: a.source for a in parsed.assignments if not a.literal}
        if exprs:
            expressions[parsed.node_id] = exprs
        if parsed.node_id in entries:
            problems.append({"cell": where[parsed.node_id], "node": parsed.node_id,
                             "message": f"node {parsed.node_id!r} is defined again in "
                                        f"{label}; the later cell wins"})
            del entries[parsed.node_id]  # re-inserted below: the node takes the later place
        entries[parsed.node_id] = CellEntry(parsed, params, _llmos_meta(cell), label)
        where[parsed.node_id] = key
    meta = _llmos_meta(nb)
    fields = meta.get("workflow") if isinstance(meta.get("workflow"), Mapping) else {}
    wf = build_workflow(list(entries.values()), fields=fields)
    return NotebookGraph(wf, where, problems, expressions)
