"""A system file as a graph for the canvas: actors grouped by scope, message edges.

:func:`system_graph` gives React Flow-shaped data (the canvas's node/edge shape):

* one group node per scope, ``{"id": "scope:<scope>", "type": "scope", "data": {"scope",
  "strategy"}, "parentId": "scope:<parent>"}`` (the root has no ``parentId``);
* one node per configured actor, ``{"id": "<actor id>", "type": "actor", "parentId":
  "scope:<scope>", "data": {"skill", "subscribes", "config", "name"}}``;
* one edge per (sender, receiver, message type) that the code visibly allows: the sender's
  skill calls ``ctx.send("type", ...)`` with a literal type and the receiver, in the same
  scope, subscribes to it: ``{"id", "source", "target", "label": type}``.

Positions are a simple grid (the canvas may lay it out again). Actors spawned at run time
are not in the file, so they are not in the graph; the run's message log has them.
Everything is plain JSON data; the front end must render it as text.
"""

from __future__ import annotations

from typing import Any

from llmos_jupyter._actors.config import SystemConfig, static_messages
from llmos_jupyter._actors.message import ROOT_SCOPE
from llmos_jupyter._actors.skill import is_actor, subscriptions

__all__ = ["system_graph"]

_W, _H, _PAD = 220, 90, 40


def system_graph(cfg: SystemConfig, library: Any = None) -> dict[str, Any]:
    """The graph of a loaded system file (see the module docstring)."""
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
    scopes: list[str] = [ROOT_SCOPE]
    for sid in list(cfg.scopes) + [a["scope"] for a in actors]:
        if sid not in scopes:
            scopes.append(sid)
    nodes: list[dict[str, Any]] = []
    for col, sid in enumerate(scopes):
        members = [a for a in actors if a["scope"] == sid]
        entry = cfg.scopes.get(sid, {})
        group: dict[str, Any] = {
            "id": f"scope:{sid}", "type": "scope",
            "position": {"x": col * (_W + 2 * _PAD), "y": 0},
            "style": {"width": _W + _PAD, "height": max(1, len(members)) * _H + 2 * _PAD},
            "data": {"scope": sid,
                     "strategy": entry.get("strategy",
                                           cfg.supervision.get("strategy", "one_for_one"))}}
        if sid != ROOT_SCOPE:
            group["parentId"] = f"scope:{entry.get('parent', ROOT_SCOPE)}"
        nodes.append(group)
        for row, a in enumerate(members):
            skill = skill_of(a["skill"])
            nodes.append({
                "id": a["id"], "type": "actor", "parentId": f"scope:{sid}",
                "position": {"x": _PAD // 2, "y": _PAD + row * _H},
                "data": {"skill": a["skill"], "name": getattr(skill, "name", a["skill"]),
                         "subscribes": list(subscriptions(skill)) if skill else [],
                         "config": a.get("config", {})}})
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
