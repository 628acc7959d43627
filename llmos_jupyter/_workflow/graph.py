"""Graph algorithms over workflow nodes: topological order, cycles, ancestors and
descendants. One module for every place that orders or walks a workflow (validation and
planning, the notebook mapping, the model's ``upstream``/``downstream``).

Plain data in, plain data out: node ids (``str``) and edges as ``(source, target)``
pairs, so the module depends on nothing else in the package. Orders are deterministic:
ties are broken by the nodes' position in the input (the file order), which is what a
reader of a workflow file expects.
"""

from __future__ import annotations

import graphlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

__all__ = ["ancestors", "descendants", "find_cycle", "kahn_order", "topological_order"]

_first = itemgetter(0)


def topological_order(predecessors: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Kahn's algorithm (Kahn 1962, "Topological sorting of large networks"), ready
    nodes in the mapping's order; ``None`` when there is a cycle.

    Args:
        predecessors: ``{node: [nodes it depends on]}``; every predecessor must be a key.

    Raises:
        KeyError: a predecessor that is not a key of ``predecessors``.
    """
    ids = list(predecessors)
    pos = {n: i for i, n in enumerate(ids)}
    return kahn_order(ids, [(i, pos[p]) for i, preds in enumerate(predecessors.values())
                            for p in preds])


def kahn_order(ids: list[str], deps: Iterable[tuple[int, int]]) -> list[str] | None:
    """Kahn's algorithm over positions: ``deps`` holds ``(node, predecessor)`` positions
    into ``ids``; nodes become ready in the order their last predecessor finishes, ties in
    position order. ``None`` when there is a cycle.

    Flat lists only (successors of ``p`` are ``after[start[p]:start[p + 1]]``, sorted by
    position), so a 100,000-node graph adds no container per node.
    """
    n = len(ids)
    deps = sorted(deps, key=_first)
    indegree = [0] * n
    start = [0] * (n + 1)
    for target, source in deps:
        indegree[target] += 1
        start[source + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start[:n]
    after = [0] * len(deps)
    for target, source in deps:
        after[fill[source]] = target
        fill[source] += 1
    ready = deque(i for i in range(n) if indegree[i] == 0)
    order = []
    while ready:
        i = ready.popleft()
        order.append(ids[i])
        for m in after[start[i]:start[i + 1]]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    return order if len(order) == n else None


def find_cycle(predecessors: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The nodes of one cycle, first node repeated at the end (``["a", "b", "a"]``: a
    depends on b, b on a), or ``None`` for an acyclic graph. Uses :mod:`graphlib`, which
    names the cycle it finds."""
    try:
        graphlib.TopologicalSorter(predecessors).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def _reach(edges: Iterable[tuple[str, str]], start: Iterable[str], forward: bool) -> set[str]:
    nxt: dict[str, list[str]] = {}
    for a, b in edges:
        if not forward:
            a, b = b, a
        nxt.setdefault(a, []).append(b)
    seen = set(start)
    stack = list(seen)
    while stack:
        for m in nxt.get(stack.pop(), ()):
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return seen


def descendants(edges: Iterable[tuple[str, str]], node_ids: Iterable[str]) -> set[str]:
    """``node_ids`` and every node reachable from them along ``(source, target)`` edges."""
    return _reach(edges, node_ids, True)


def ancestors(edges: Iterable[tuple[str, str]], node_ids: Iterable[str]) -> set[str]:
    """``node_ids`` and every node they depend on (reachable against the edges)."""
    return _reach(edges, node_ids, False)
