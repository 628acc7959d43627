"""A system file as a graph for the canvas: actors grouped by scope, message edges.

:func:`system_graph` gives React Flow-shaped data (the canvas's node/edge shape):

* one group node per scope, ``{"id": "scope:<scope>", "type": "scope", "data": {"scope",
  "strategy", "actors": n}, "parentId": "scope:<parent>", "style": {"width", "height"}}``
  (the root has no ``parentId``); a scope's box holds its actors in a column and its child
  scopes side by side below them;
* one node per configured actor, ``{"id": "<actor id>", "type": "actor", "parentId":
  "scope:<scope>", "data": {"skill", "subscribes", "config", "name", "scope"}}``;
* one edge per (sender, receiver, message type) that the code visibly allows: the sender's
  skill calls ``ctx.send("type", ...)`` with a literal type and the receiver, in the same
  scope, subscribes to it: ``{"id", "source", "target", "label": type}``.

Nodes come parents first, and positions are relative to the parent group (pixels), as
React Flow's sub-flows require. Actors spawned at run time are not in the file, so they
are not in the graph; the run's message log has them. Everything is plain JSON data; the
front end must render it as text.

:func:`problem_line` finds the line of a system file a :class:`~.config.Problem` is about,
so an editor can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmos_jupyter._actors.config import SystemConfig, static_messages
from llmos_jupyter._actors.message import ROOT_SCOPE
from llmos_jupyter._actors.skill import is_actor, subscriptions

__all__ = ["problem_line", "problem_rows", "system_graph", "system_view"]

# Actor box width and row height, group padding and the group's title band (pixels).
_W, _H, _PAD, _HEAD = 220, 120, 20, 36


def system_graph(cfg: SystemConfig, library: Any = None) -> dict[str, Any]:
    """The graph of a loaded system file (see the module docstring): ``{"nodes", "edges"}``.

    A partly invalid config (as :func:`~.config.check_system` leaves it) still gives the
    graph of what could be read: actors whose skill is unknown have empty ``subscribes``.
    """
    if library is None:
        from llmos_jupyter._skills.library import SkillLibrary

        library = SkillLibrary()

    def skill_of(skill_id: str | None) -> Any:
        if not skill_id:
            return None
        if skill_id in cfg.skills:
            return cfg.skills[skill_id]
        try:
            found = library.get(skill_id)
        except KeyError:
            return None
        return found if is_actor(found) else None

    actors = [a for a in cfg.actors if a.get("id") and a.get("scope")]
    # The scope tree: the root, scopes named by [scopes.X] (their parent, default the
    # root) and scopes only actors name (children of the root, as the runtime makes them).
    parent: dict[str, str | None] = {ROOT_SCOPE: None}
    for sid, entry in cfg.scopes.items():
        if sid != ROOT_SCOPE:
            parent[sid] = str(entry.get("parent", ROOT_SCOPE))
    for a in actors:
        parent.setdefault(a["scope"], ROOT_SCOPE)
    for p in list(parent.values()):
        if p is not None and p not in parent:
            parent[p] = ROOT_SCOPE  # named only as a parent
    # A parent chain that loops (a file error check_system reports) hangs under the root.
    for sid in list(parent):
        seen, cur = {sid}, parent[sid]
        while cur is not None and cur not in seen:
            seen.add(cur)
            cur = parent[cur]
        if cur is not None:
            parent[sid] = ROOT_SCOPE if sid != ROOT_SCOPE else None
    children: dict[str, list[str]] = {s: [] for s in parent}
    for sid, p in parent.items():
        if p is not None:
            children[p].append(sid)
    members = {s: [a for a in actors if a["scope"] == s] for s in parent}

    size: dict[str, tuple[int, int]] = {}

    def measure(sid: str) -> tuple[int, int]:
        kids = [measure(c) for c in children[sid]]
        rows = len(members[sid]) * _H
        width = max([_W] + [sum(w for w, _ in kids) + _PAD * (len(kids) - 1)]) + 2 * _PAD
        height = _HEAD + rows + (max(h for _, h in kids) + _PAD if kids else 0) + _PAD
        size[sid] = (width, height)
        return size[sid]

    measure(ROOT_SCOPE)
    nodes: list[dict[str, Any]] = []

    def place(sid: str, x: int, y: int) -> None:
        entry = cfg.scopes.get(sid, {})
        w, h = size[sid]
        group: dict[str, Any] = {
            "id": f"scope:{sid}", "type": "scope", "position": {"x": x, "y": y},
            "style": {"width": w, "height": h},
            "data": {"scope": sid, "actors": len(members[sid]),
                     "strategy": entry.get("strategy",
                                           cfg.supervision.get("strategy", "one_for_one"))}}
        if parent[sid] is not None:
            group["parentId"] = f"scope:{parent[sid]}"
        nodes.append(group)
        for row, a in enumerate(members[sid]):
            skill = skill_of(a["skill"])
            nodes.append({
                "id": a["id"], "type": "actor", "parentId": f"scope:{sid}",
                "extent": "parent",
                "position": {"x": _PAD, "y": _HEAD + row * _H},
                "data": {"skill": a["skill"], "name": getattr(skill, "name", a["skill"]),
                         "scope": sid,
                         "subscribes": list(subscriptions(skill)) if skill else [],
                         "config": a.get("config", {})}})
        cx, cy = _PAD, _HEAD + len(members[sid]) * _H
        for c in children[sid]:
            place(c, cx, cy)
            cx += size[c][0] + _PAD

    place(ROOT_SCOPE, 0, 0)
    edges: list[dict[str, Any]] = []
    for a in actors:
        sender = skill_of(a["skill"])
        if sender is None:
            continue
        sent = sorted(static_messages(sender)[0])
        for b in actors:
            receiver = skill_of(b["skill"])
            if b is a or receiver is None or b["scope"] != a["scope"]:
                continue
            subs = set(subscriptions(receiver))
            for t in sent:
                if t in subs or "*" in subs:
                    edges.append({"id": f"{a['id']}->{b['id']}:{t}", "source": a["id"],
                                  "target": b["id"], "label": t})
    return {"nodes": nodes, "edges": edges}


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_WHERE = re.compile(r"^(?P<table>[A-Za-z_]+)(?:\[(?P<index>\d+)\])?(?:\s*\([^)]*\))?"
                    r"(?:\.(?P<rest>.+))?$")


def _header(line: str) -> tuple[str, bool] | None:
    """``("actors", True)`` for ``[[actors]]``, ``("system", False)`` for ``[system]``."""
    m = re.match(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
    if not m:
        return None
    name = ".".join(part.strip().strip("\"'") for part in m.group(2).split("."))
    return name, m.group(1) == "[["


def problem_line(text: str, where: str, message: str = "") -> int | None:
    """The 1-based line of the system file ``text`` a problem is about, or ``None``.

    ``where`` and ``message`` are a :class:`~.config.Problem`'s: a TOML syntax error names
    its line in the message (``(at line 3, column 5)``, :mod:`tomllib`'s wording); ``actors[2]
    (pong).skill`` is the ``skill =`` line of the second ``[[actors]]`` table (else its
    header); ``system.name`` the ``name =`` line of ``[system]``; ``scopes.a1b2c3`` its
    ``[scopes.a1b2c3]`` header. Tables written inline (``actors = [...]``) are not
    located (``None``).
    """
    m = _TOML_AT.search(message)
    if m:
        return int(m.group(1))
    w = _WHERE.match(where.strip())
    if not w:
        return None
    table, index, rest = w.group("table"), w.group("index"), w.group("rest") or ""
    if table == "scopes" and rest:
        scope, _, rest = rest.partition(".")
        table = f"scopes.{scope}"
    lines = text.splitlines()
    start = None
    n = 0
    for i, line in enumerate(lines):
        h = _header(line)
        if h is None or h[0] != table:
            continue
        n += 1
        if index is None or n == int(index):
            start = i
            break
    if start is None:
        return None
    key = rest.split(".")[0] if rest else ""
    if key:
        for i in range(start + 1, len(lines)):
            if _header(lines[i]) is not None:
                break
            if re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", lines[i]):
                return i + 1
    return start + 1


def system_view(path: str | Path, library: Any = None, *, text: str | None = None,
                clean: Callable[[str], str] = str) -> dict[str, Any]:
    """What a view of the system file at ``path`` shows: ``{"name", "description",
    "timeout_s", "graph" (:func:`system_graph`), "problems": [{"where", "code", "message",
    "severity", "line"}]}`` — ``llmos agents check``'s problems, each with the 1-based
    line of ``text`` (default: the file's own text) it is about (:func:`problem_line`).
    ``clean`` rewrites the problems' strings (e.g. a hidden copy's path into the real
    one). A file that cannot be checked is one problem (``check-failed``) and an empty
    graph, never an exception; ``name`` is ``None`` when the file gives none.
    """
    from llmos_jupyter._actors.config import Problem, check_system

    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
    try:
        cfg, problems = check_system(path, library)
        graph = system_graph(cfg, library)
    except Exception as exc:  # noqa: BLE001 - shown in the view, never raised
        cfg, graph = None, {"nodes": [], "edges": []}
        problems = [Problem(str(path), "check-failed", f"cannot check the file: {exc}")]
    return {"name": getattr(cfg, "name", None), "timeout_s": getattr(cfg, "timeout_s", None),
            "description": getattr(cfg, "description", "") or "", "graph": graph,
            "problems": problem_rows(problems, text, clean)}


def problem_rows(problems: Any, text: str,
                 clean: Callable[[str], str] = str) -> list[dict[str, Any]]:
    """:class:`~.config.Problem` s as ``[{"where", "code", "message", "severity", "line"}]``:
    each with the 1-based line of the system file ``text`` it is about
    (:func:`problem_line`), its strings passed through ``clean``."""
    rows = []
    for p in problems:
        row: dict[str, Any] = {k: clean(v) for k, v in p.to_json().items()}
        row["line"] = problem_line(text, p.where, p.message)
        rows.append(row)
    return rows
