"""Workflow, Node, Edge: a DAG of skill nodes, stored as ``*.workflow.json``.

The JSON uses React Flow's field names so the canvas state and the file are one thing::

    {"id": "h2-vqe", "name": "H2 ground state",
     "nodes": [{"id": "vqe", "type": "skill", "position": {"x": 0, "y": 0},
                "data": {"skill": "quantum-vqe", "params": {"iterations": 100}}}],
     "edges": [{"id": "e1", "source": "ham", "sourceHandle": "hamiltonian",
                "target": "vqe", "targetHandle": "hamiltonian"}]}

Fields this module does not know (``viewport``, ``data.label``, ``animated`` …) are kept
and written back, in their original key order: load → save reproduces the file exactly
(for files written with two-space indentation, as :meth:`Workflow.save` writes them).

Loading is strict (:func:`loads_strict`, :meth:`Workflow.from_dict`): a file that is not
UTF-8, not a JSON object, without ``nodes``, with NaN/Infinity, a duplicate key, an
integer beyond ±2**63, nesting deeper than :data:`MAX_DEPTH`, or fields of the wrong type
is a :class:`~llmos_jupyter.WorkflowError` naming the file (and line, when known). Ids
are checked against the one id grammar (:mod:`llmos_jupyter._ids`) by validation.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from llmos_jupyter._exceptions import SkillError, WorkflowError
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.parser import parse_skill
from llmos_jupyter._workflow.graph import ancestors, descendants

__all__ = ["MAX_BYTES", "MAX_DEPTH", "Edge", "Node", "Workflow", "loads_strict"]

INLINE_KEY = "inline_skills"
"""The workflow field holding skills defined inline (notebook cells)."""

_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_ID_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

MAX_BYTES = 256 * 2**20
"""The largest workflow file :meth:`Workflow.load` reads (256 MiB)."""
MAX_DEPTH = 100
"""How deeply a workflow file's JSON may nest (the file itself is depth 1)."""
MAX_INT = 2**63
"""Integers must lie strictly between -MAX_INT and MAX_INT: JSON readers disagree above."""


class _Refused(ValueError):
    """A JSON construct a workflow file may not hold (raised inside json.loads hooks)."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (NaN and Infinity are refused)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _Refused(f"duplicate key {dup!r} in one object "
                       "(refused: readers keep different copies)")
    return out


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                      type(value).__name__)


def loads_strict(text: str, *, path: Path | None = None) -> Any:
    """``json.loads`` for workflow files: refuses NaN/Infinity, duplicate keys, integers
    beyond ±2**63, floats that overflow to infinity and nesting deeper than
    :data:`MAX_DEPTH`.

    Raises:
        WorkflowError: what is wrong, with the line where the parser knows it.
    """
    try:
        data = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"invalid JSON: {exc.msg} (column {exc.colno})",
                            path=path, line=exc.lineno) from None
    except _Refused as exc:
        raise WorkflowError(f"invalid workflow JSON: {exc}", path=path) from None
    except RecursionError:
        raise WorkflowError(f"invalid workflow JSON: nested more than {MAX_DEPTH} levels deep",
                            path=path) from None
    except ValueError as exc:  # an integer with more digits than int() accepts
        raise WorkflowError(f"invalid workflow JSON: {str(exc).split(';')[0]}", path=path) from None
    problem = _check_values(data)
    if problem:
        raise WorkflowError(f"invalid workflow JSON: {problem}", path=path)
    return data


def _check_values(data: Any) -> str | None:
    """Why parsed JSON is refused (depth, huge numbers), or None. Iterative."""
    stack = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        v, depth = pop()
        t = type(v)
        if t is dict or t is list:
            if depth > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            for x in (v.values() if t is dict else v):
                tx = type(x)
                if tx is dict or tx is list:
                    push((x, depth + 1))
                elif tx is int:
                    if not -MAX_INT < x < MAX_INT:
                        return f"the integer {str(x)[:20]}... is too large (limit ±2**63)"
                elif tx is float and not math.isfinite(x):
                    return "a number overflows to infinity"
        elif t is int and not -MAX_INT < v < MAX_INT:
            return "the integer is too large (limit ±2**63)"
        elif t is float and not math.isfinite(v):
            return "a number overflows to infinity"
    return None


def _ordered(values: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``values`` with the keys of ``order`` first (as loaded), then the others."""
    if len(values) == len(order) and tuple(values) == order:
        return values  # already in order: the common case, and a 5,000-node trace's
    out = {k: values[k] for k in order if k in values}
    out.update((k, v) for k, v in values.items() if k not in out)
    return out


_renames = 0
"""Bumped whenever the ``id`` of an existing :class:`Node` is reassigned: node-id
indexes built before then are not trusted (see :class:`NodeList`)."""


class _NodeId:
    """``Node.id`` as a set-only data descriptor: reads stay plain instance-dict reads
    (no Python call), writes that *change* an existing node's id bump ``_renames``."""

    __slots__ = ()

    def __set__(self, node: Any, value: Any) -> None:
        d = node.__dict__
        if "id" in d and d["id"] != value:
            global _renames
            _renames += 1
        d["id"] = value


@dataclass(eq=False)
class Node:
    """One skill node. ``params`` are the node's input values (below wired inputs)."""

    id: str
    skill: str
    params: dict[str, Any] = field(default_factory=dict)
    position: dict[str, float] = field(default_factory=lambda: {"x": 0, "y": 0})
    type: str = "skill"
    extra: dict[str, Any] = field(default_factory=dict)
    data_extra: dict[str, Any] = field(default_factory=dict)
    _order: tuple[str, ...] = ("id", "type", "position", "data")
    _data_order: tuple[str, ...] = ("skill", "params")

    def to_dict(self) -> dict[str, Any]:
        data = _ordered({"skill": self.skill, "params": self.params, **self.data_extra},
                        self._data_order)
        return _ordered({"id": self.id, "type": self.type, "position": self.position,
                         "data": data, **self.extra}, self._order)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "node") -> Node:
        if not isinstance(raw, Mapping):
            raise WorkflowError(f"{where} must be an object, got {type(raw).__name__}")
        data = raw.get("data", {})
        if not isinstance(data, Mapping):
            raise WorkflowError(f"{where}.data must be an object, not {_json_type(data)}")
        node_id, skill = raw.get("id"), data.get("skill")
        if not isinstance(node_id, str) or not node_id:
            raise WorkflowError(f"{where} needs a non-empty string 'id'")
        if not isinstance(skill, str) or not skill:
            raise WorkflowError(f"node {node_id!r} needs data.skill (a skill id)")
        params = data.get("params", {})
        if not isinstance(params, Mapping):
            raise WorkflowError(f"node {node_id!r}: data.params must be an object, not "
                                f"{_json_type(params)}")
        position = raw.get("position", {"x": 0, "y": 0})
        if not isinstance(position, Mapping) or not all(
                isinstance(position.get(k, 0), (int, float))
                and not isinstance(position.get(k, 0), bool) for k in ("x", "y")):
            raise WorkflowError(f"node {node_id!r}: position must be an object with numbers "
                                "'x' and 'y'")
        node_type = raw.get("type", "skill")
        if not isinstance(node_type, str):
            raise WorkflowError(f"node {node_id!r}: type must be a string, not "
                                f"{_json_type(node_type)}")
        return cls(
            id=node_id,
            skill=skill,
            params=dict(params),
            position=dict(position),
            type=node_type,
            extra={k: v for k, v in raw.items() if k not in ("id", "type", "position", "data")},
            data_extra={k: v for k, v in data.items() if k not in ("skill", "params")},
            _order=tuple(raw),
            _data_order=tuple(data),
        )


Node.id = _NodeId()  # type: ignore[assignment]  # after @dataclass: a field without default


class NodeList(list[Any]):
    """``Workflow.nodes``: a plain ``list`` of :class:`Node` that also keeps an
    ``id → first position`` index for :meth:`Workflow.node`, ``in`` and ``add_node``.

    The index is exact or absent: every mutating ``list`` method drops it (``append`` and
    ``extend`` update it instead), so does renaming any node (``Node.id`` bumps a global
    counter), and a length mismatch; it is rebuilt, in O(n), on the next lookup. As a
    last guard a lookup checks that the node found really has the id asked for. (Unbound
    calls such as ``list.append(wf.nodes, x)`` or :mod:`heapq` bypass the overrides; the
    length check and the hit check catch all of those but a same-length replacement that
    brings in a new id.)
    """

    __slots__ = ("_hints", "_ix", "_ix_len", "_ix_renames")

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        super().__init__(iterable)
        self._ix: dict[Any, int] | None = None
        self._ix_len = -1
        self._ix_renames = -1
        # (index, {base: i}): base-2 … base-(i-1) are taken. Valid while that very index
        # dict is the live one: it is only ever grown in place (append/extend), any other
        # change builds a new one.
        self._hints: tuple[dict[Any, int], dict[str, int]] | None = None

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # Pickle / copy as the list alone: the index is rebuilt on demand.
        return (self.__class__, (list(self),))

    # -- the index ---------------------------------------------------------------------
    def _index(self) -> dict[Any, int] | None:
        """The current index, rebuilt if stale; ``None`` when ids are not hashable."""
        ix = self._ix
        if ix is not None and self._ix_len == len(self) and self._ix_renames == _renames:
            return ix
        ix = {}
        try:
            for i, node in enumerate(self):
                ix.setdefault(node.id, i)
        except (AttributeError, TypeError):  # not a Node, or an unhashable id
            self._ix = None
            return None
        self._ix, self._ix_len, self._ix_renames = ix, len(self), _renames
        return ix

    def _find(self, node_id: Any) -> Any:
        """The first element whose ``id == node_id``, or ``None``."""
        for _ in range(2):
            ix = self._index()
            if ix is None:
                break
            try:
                i = ix.get(node_id)
            except TypeError:  # unhashable: nothing hashable equals it here
                break
            if i is None:
                return None
            node = self[i]
            if node.id == node_id:
                return node
            self._ix = None  # a mutation went around the overrides: rebuild once
        for node in self:  # the linear fallback
            if node.id == node_id:
                return node
        return None

    def _unused_id(self, base: str) -> str:
        """The first of ``base``, ``base-2``, ``base-3`` … that no element has as id."""
        if self._find(base) is None:
            return base
        hints = self._hints
        ix = self._ix
        i = hints[1].get(base, 2) if hints is not None and ix is not None and hints[0] is ix else 2
        while self._find(f"{base}-{i}") is not None:
            i += 1
        ix = self._ix
        if ix is not None:
            if hints is None or hints[0] is not ix:
                hints = self._hints = (ix, {})
            hints[1][base] = i
        return f"{base}-{i}"

    # -- mutations ---------------------------------------------------------------------
    def append(self, node: Any) -> None:
        super().append(node)
        ix = self._ix
        if ix is not None:
            if self._ix_len == len(self) - 1 and self._ix_renames == _renames:
                try:
                    ix.setdefault(node.id, self._ix_len)
                    self._ix_len += 1
                    return
                except (AttributeError, TypeError):
                    pass
            self._ix = None

    def extend(self, nodes: Iterable[Any]) -> None:
        start = len(self)
        super().extend(nodes)
        ix = self._ix
        if ix is not None:
            if self._ix_len == start and self._ix_renames == _renames:
                try:
                    for i in range(start, len(self)):
                        ix.setdefault(self[i].id, i)
                    self._ix_len = len(self)
                    return
                except (AttributeError, TypeError):
                    pass
            self._ix = None

    def __iadd__(self, nodes: Iterable[Any]) -> Self:  # type: ignore[misc]
        self.extend(nodes)
        return self

    def __setitem__(self, i: Any, value: Any) -> None:
        super().__setitem__(i, value)
        self._ix = None

    def __delitem__(self, i: Any) -> None:
        super().__delitem__(i)
        self._ix = None

    def __imul__(self, n: Any) -> Self:  # type: ignore[misc]
        super().__imul__(n)
        self._ix = None
        return self

    def insert(self, i: Any, node: Any) -> None:
        super().insert(i, node)
        self._ix = None

    def remove(self, node: Any) -> None:
        super().remove(node)
        self._ix = None

    def pop(self, i: Any = -1) -> Any:
        node = super().pop(i)
        self._ix = None
        return node

    def clear(self) -> None:
        super().clear()
        self._ix = None

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._ix = None

    def reverse(self) -> None:
        super().reverse()
        self._ix = None


@dataclass(eq=False)
class Edge:
    """A wire from an output port (``source``.``source_handle``) to an input port."""

    id: str
    source: str
    source_handle: str
    target: str
    target_handle: str
    extra: dict[str, Any] = field(default_factory=dict)
    _order: tuple[str, ...] = ("id", "source", "sourceHandle", "target", "targetHandle")

    def to_dict(self) -> dict[str, Any]:
        return _ordered({"id": self.id, "source": self.source, "sourceHandle": self.source_handle,
                         "target": self.target, "targetHandle": self.target_handle,
                         **self.extra}, self._order)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "edge") -> Edge:
        if not isinstance(raw, Mapping):
            raise WorkflowError(f"{where} must be an object, got {type(raw).__name__}")
        keys = ("source", "sourceHandle", "target", "targetHandle")
        missing = [k for k in keys if not isinstance(raw.get(k), str) or not raw.get(k)]
        if missing:
            raise WorkflowError(f"{where} ({raw.get('id', 'no id')}) needs string "
                                + ", ".join(repr(k) for k in missing))
        edge_id = raw.get("id") or _edge_id(*(raw[k] for k in keys))
        if not isinstance(edge_id, str):
            raise WorkflowError(f"{where}: 'id' must be a string, not {_json_type(edge_id)}")
        return cls(
            id=edge_id,
            source=raw["source"],
            source_handle=raw["sourceHandle"],
            target=raw["target"],
            target_handle=raw["targetHandle"],
            extra={k: v for k, v in raw.items() if k not in ("id", *keys)},
            _order=tuple(raw),
        )


def _edge_id(source: str, source_handle: str, target: str, target_handle: str) -> str:
    return f"{source}.{source_handle}->{target}.{target_handle}"


@dataclass(eq=False)
class Workflow:
    """A workflow: skill nodes wired output → input. Mutable; validate before running.

    Build one in code::

        wf = Workflow(id="demo", name="Demo")
        wf.add_node("quantum-hamiltonian", id="ham", params={"bond_length": 0.735})
        wf.add_node("quantum-vqe", id="vqe")
        wf.connect("ham", "hamiltonian", "vqe", "hamiltonian")

    or load one with :meth:`load`. Validation (:func:`llmos_jupyter.validate`) needs a
    :class:`SkillLibrary`; this class only holds the graph.
    """

    id: str = "workflow"
    name: str = ""
    nodes: list[Node] = field(default_factory=NodeList)
    edges: list[Edge] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _order: tuple[str, ...] = ("id", "name", "nodes", "edges")

    def __setattr__(self, name: str, value: Any) -> None:
        # ``nodes`` is always a NodeList (O(1) lookups by id): a plain list given to the
        # constructor or assigned later is copied into one (so the workflow no longer
        # aliases that list object). Other sequences are kept as they are (linear lookups).
        if name == "nodes" and type(value) is list:
            value = NodeList(value)
        object.__setattr__(self, name, value)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Unpickling bypasses __setattr__; pickles of older versions hold a plain list.
        for name, value in state.items():
            self.__setattr__(name, value)

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The workflow as JSON-ready data (React Flow field names)."""
        return _ordered({"id": self.id, "name": self.name or self.id,
                         "nodes": [n.to_dict() for n in self.nodes],
                         "edges": [e.to_dict() for e in self.edges], **self.extra}, self._order)

    def to_json(self) -> str:
        """JSON text as :meth:`save` writes it (two-space indent, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, path: Path | None = None) -> Workflow:
        """Build from JSON data.

        Raises:
            WorkflowError: not an object, or nodes/edges of the wrong shape.
        """
        if not isinstance(raw, Mapping):
            raise WorkflowError(f"a workflow must be a JSON object, not {_json_type(raw)}",
                                path=path)
        try:
            if "nodes" not in raw:
                raise WorkflowError("a workflow needs 'nodes' (a list of node objects; [] for "
                                    "an empty workflow)")
            nodes_raw, edges_raw = raw["nodes"], raw.get("edges", [])
            for key, value in (("nodes", nodes_raw), ("edges", edges_raw)):
                if not isinstance(value, list):
                    raise WorkflowError(f"'{key}' must be a list, not {_json_type(value)}")
            for key in ("id", "name"):
                if raw.get(key) is not None and not isinstance(raw[key], str):
                    raise WorkflowError(f"the workflow's '{key}' must be a string, not "
                                        f"{_json_type(raw[key])}")
            inline = raw.get(INLINE_KEY)
            if inline is not None and (not isinstance(inline, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in inline.items())):
                raise WorkflowError(f"'{INLINE_KEY}' must map skill ids to skill Markdown text")
            nodes = [Node.from_dict(n, f"nodes[{i}]") for i, n in enumerate(nodes_raw)]
            edges = [Edge.from_dict(e, f"edges[{i}]") for i, e in enumerate(edges_raw)]
        except WorkflowError as exc:
            raise WorkflowError(exc.message, path=path) from None
        fallback = path.name.removesuffix(".json").removesuffix(".workflow") if path else "workflow"
        fallback = _ID_FILE_SAFE.sub("-", fallback).strip("-.") or "workflow"
        return cls(
            id=raw.get("id") or fallback,
            name=raw.get("name") or "",
            nodes=nodes,
            edges=edges,
            extra={k: v for k, v in raw.items() if k not in ("id", "name", "nodes", "edges")},
            path=path,
            _order=tuple(raw),
        )

    @classmethod
    def from_json(cls, text: str, *, path: Path | None = None) -> Workflow:
        """Parse JSON text, strictly (see :func:`loads_strict`).

        Raises:
            WorkflowError: invalid JSON (with its line), NaN/Infinity, a duplicate key, a
                huge number, nesting deeper than :data:`MAX_DEPTH`, or a wrongly shaped
                workflow.
        """
        return cls.from_dict(loads_strict(text, path=path), path=path)

    @classmethod
    def load(cls, path: str | Path) -> Workflow:
        """Read a ``*.workflow.json`` file or a notebook (``*.ipynb``): the same as
        :func:`llmos_jupyter._workflow.files.load_workflow`, which owns file formats.

        Raises:
            WorkflowError: missing/unreadable file, invalid JSON, wrong shape.
        """
        # The model stays free of file formats; the loader module is imported on use
        # (it imports this module, and the notebook mapping in turn).
        from llmos_jupyter._workflow.files import load_workflow

        return load_workflow(path)

    def save(self, path: str | Path | None = None) -> Path:
        """Write the workflow atomically to ``path`` (default: where it was loaded from),
        as JSON or, for ``.ipynb``, as a notebook, secrets redacted: the same as
        :func:`llmos_jupyter._workflow.files.save_workflow`.

        Raises:
            WorkflowError: no path, a NaN or infinite value, or a notebook that cannot be
                built from this workflow.
            OSError: the file cannot be written.
        """
        from llmos_jupyter._workflow.files import save_workflow

        return save_workflow(self, path)

    def inline_skills(self) -> list[Skill]:
        """The skills this workflow carries itself, in ``extra["inline_skills"]``
        (``{skill_id: skill Markdown}``): skills defined in notebook cells travel with
        the workflow, so an exported ``*.workflow.json`` stays self-contained. Validation
        and runs see them above the library's skills.

        Raises:
            WorkflowError: an inline skill's Markdown is invalid, or its id is not its key.
        """
        raw = self.extra.get(INLINE_KEY) or {}
        if not isinstance(raw, Mapping):
            raise WorkflowError(f"workflow {self.id!r}: {INLINE_KEY} must map skill ids to "
                                "skill Markdown", path=self.path)
        out = []
        for key, text in raw.items():
            try:
                skill = parse_skill(str(text), volume="inline")
            except SkillError as exc:
                field = f"[{exc.field}] " if exc.field else ""
                raise WorkflowError(f"inline skill {key!r}: {field}{exc.message}",
                                    path=self.path) from None
            if skill.skill_id != key:
                raise WorkflowError(f"inline skill {key!r} declares skill_id {skill.skill_id!r}",
                                    path=self.path)
            out.append(skill)
        return out

    def copy(self) -> Workflow:
        """A deep copy (nodes, edges and params are independent of this one)."""
        return copy.deepcopy(self)

    # -- queries -----------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        """The node with this id.

        Raises:
            KeyError: no such node (the message lists the node ids).
        """
        nodes = self.nodes
        if isinstance(nodes, NodeList):
            found = nodes._find(node_id)
            if found is not None:
                return found
        else:
            for n in nodes:
                if n.id == node_id:
                    return n
        raise KeyError(f"no node {node_id!r} in workflow {self.id!r} "
                       f"(nodes: {', '.join(n.id for n in self.nodes) or 'none'})")

    def __contains__(self, node_id: object) -> bool:
        nodes = self.nodes
        if isinstance(nodes, NodeList):
            return nodes._find(node_id) is not None
        return any(n.id == node_id for n in nodes)

    def edges_into(self, node_id: str) -> list[Edge]:
        """The edges whose target is this node."""
        return [e for e in self.edges if e.target == node_id]

    def downstream(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and every node reachable from them along edges."""
        return descendants(((e.source, e.target) for e in self.edges), node_ids)

    def upstream(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and every node they depend on."""
        return ancestors(((e.source, e.target) for e in self.edges), node_ids)

    # -- edits -------------------------------------------------------------------------
    def add_node(
        self,
        skill: str,
        *,
        id: str | None = None,
        params: Mapping[str, Any] | None = None,
        position: Mapping[str, float] | None = None,
    ) -> Node:
        """Append a node for ``skill``; ``id`` defaults to a unique slug of the skill id.

        Raises:
            ValueError: a node with this id exists already.
        """
        if id is None:
            base = _ID_SAFE.sub("-", skill.split("/")[-1]).strip("-")[:100] or "node"
            if isinstance(self.nodes, NodeList):
                id = self.nodes._unused_id(base)
            else:
                id, i = base, 2
                while id in self:
                    id, i = f"{base}-{i}", i + 1
        elif id in self:
            raise ValueError(f"node id {id!r} is already used in workflow {self.id!r}")
        if position is None:
            position = {"x": 260 * len(self.nodes), "y": 0}
        node = Node(id=id, skill=skill, params=dict(params or {}), position=dict(position))
        self.nodes.append(node)
        return node

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        node = self.node(node_id)
        self.nodes.remove(node)
        self.edges = [e for e in self.edges if node_id not in (e.source, e.target)]

    def connect(
        self, source: str, source_port: str, target: str, target_port: str, *, id: str | None = None
    ) -> Edge:
        """Wire ``source.source_port`` → ``target.target_port`` (validated at run time)."""
        edge = Edge(id=id or _edge_id(source, source_port, target, target_port), source=source,
                    source_handle=source_port, target=target, target_handle=target_port)
        self.edges.append(edge)
        return edge

    def disconnect(self, edge_id: str) -> None:
        """Remove the edge with this id.

        Raises:
            KeyError: no such edge.
        """
        before = len(self.edges)
        self.edges = [e for e in self.edges if e.id != edge_id]
        if len(self.edges) == before:
            raise KeyError(f"no edge {edge_id!r} in workflow {self.id!r}")

    def set_params(self, node_id: str, **params: Any) -> None:
        """Set input values on a node (a value of ``None`` removes the param)."""
        node = self.node(node_id)
        for k, v in params.items():
            if v is None:
                node.params.pop(k, None)
            else:
                node.params[k] = v

    def __repr__(self) -> str:
        return f"<Workflow {self.id!r}: {len(self.nodes)} nodes, {len(self.edges)} edges>"
