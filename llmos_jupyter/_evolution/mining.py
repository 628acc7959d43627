"""Finding repeated sub-workflows in traces.

For each trace, the nodes that finished (``completed`` or ``cached``) and the wires between
them form a graph. Every *connected* set of ≥ 2 of those nodes (all of them for components
of more than :data:`MAX_ENUMERATED` nodes) is one occurrence of a *pattern*: the induced
subgraph with each node labelled by ``(skill_id, code_hash)`` and each wire by its ports.
Node ids and layout play no part; a changed skill (another code hash) is another pattern.

The pattern's identity is a canonical form: nodes are ordered by a Weisfeiler-Lehman
colour refinement of their labels and wires, ties between nodes that the refinement
cannot tell apart are broken by trying their permutations and keeping the smallest
serialisation (exact for up to 720 permutations; beyond that, node-id order, which can
split one pattern into two but never merges different ones). Its hash is the first 16 hex
digits of SHA-256 over that serialisation.

Support is the number of traces with at least one occurrence. Patterns whose support is
below ``min_runs`` are dropped, and so is a pattern contained in a larger pattern with
exactly the same supporting traces (only *closed* patterns remain: three runs of
hamiltonian → vqe → plot give that one pattern, not also hamiltonian → vqe).

Work per trace is small: traces of the same workflow share a structure (nodes, skills,
wires), and the enumeration and canonical forms are computed once per structure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_ENUMERATED", "Member", "Occurrence", "Pattern", "mine"]

MAX_ENUMERATED = 12
"""Components up to this many nodes have every connected subset enumerated."""
_MAX_SUBSETS = 2048
_MAX_PERMUTATIONS = 720
_OK = ("completed", "cached")

Wire = tuple[int, str, int, str]  # (source member, source port, target member, target port)


@dataclass(frozen=True, slots=True)
class Member:
    """One node of a pattern, in canonical order."""

    skill: str
    code_hash: str
    version: str | None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a pattern was found: a trace and the node ids matched, member by member."""

    run_id: str
    started_at: str
    path: str
    nodes: tuple[str, ...]
    params: tuple[dict[str, Any], ...]


@dataclass
class Pattern:
    """A repeated sub-workflow: members, wires and every occurrence."""

    hash: str
    members: tuple[Member, ...]
    wires: tuple[Wire, ...]
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def runs(self) -> list[str]:
        """Distinct run ids of the supporting traces, oldest first."""
        seen: dict[str, None] = {}
        for o in self.occurrences:
            seen.setdefault(o.run_id, None)
        return list(seen)

    @property
    def support(self) -> int:
        """How many traces contain the pattern."""
        return len(self.runs)

    def __repr__(self) -> str:
        chain = " + ".join(m.skill for m in self.members)
        return f"<Pattern {self.hash} {chain}: {self.support} runs>"


def mine(traces: Iterable[dict[str, Any]], *, min_runs: int = 3) -> list[Pattern]:
    """The closed patterns found in ≥ ``min_runs`` traces, by support (desc) then hash.

    ``traces`` are ``llmos.trace`` metadata dicts (see :func:`read_trace`).
    """
    if min_runs < 1:
        raise ValueError(f"min_runs must be >= 1, got {min_runs}")
    memo: dict[Any, list[tuple[str, tuple[str, ...], frozenset[str]]]] = {}
    patterns: dict[str, Pattern] = {}
    # per pattern: run id -> node sets of its occurrences (for the closedness check)
    where: dict[str, dict[str, list[frozenset[str]]]] = {}
    ordered = sorted(traces, key=lambda t: (str(t.get("started_at") or ""), str(t.get("run_id"))))
    for trace in ordered:
        nodes = trace["nodes"]
        run_id = str(trace.get("run_id") or trace.get("path"))
        ok = [n for n, r in nodes.items() if r.get("status") in _OK]
        if len(ok) < 2:
            continue
        ok_set = set(ok)
        edges = []
        for n in ok:
            for port, ref in (nodes[n].get("wired") or {}).items():
                src, _, src_port = str(ref).rpartition(".")
                if src in ok_set:
                    edges.append((src, src_port, n, port))
        if not edges:
            continue
        labels = {n: (nodes[n].get("skill"), nodes[n].get("code_hash") or "") for n in ok}
        key = (tuple(sorted((n, *labels[n]) for n in ok)), tuple(sorted(edges)))
        found = memo.get(key)
        if found is None:
            found = memo[key] = _structure_patterns(labels, edges, nodes)
        for phash, order, nodeset in found:
            pat = patterns.get(phash)
            if pat is None:
                members = tuple(Member(labels[n][0], labels[n][1], nodes[n].get("version"))
                                for n in order)
                index = {n: i for i, n in enumerate(order)}
                wires = tuple(sorted((index[s], sp, index[t], tp) for s, sp, t, tp in edges
                                     if s in index and t in index))
                pat = patterns[phash] = Pattern(phash, members, wires)
            pat.occurrences.append(Occurrence(
                run_id, str(trace.get("started_at") or ""), str(trace.get("path") or ""),
                order, tuple(nodes[n].get("params") or {} for n in order)))
            where.setdefault(phash, {}).setdefault(run_id, []).append(nodeset)
    frequent = [p for p in patterns.values() if p.support >= min_runs]
    closed = _closed(frequent, where)
    return sorted(closed, key=lambda p: (-p.support, -len(p.members), p.hash))


# -- per structure -------------------------------------------------------------------------
def _structure_patterns(labels: dict[str, tuple[str, str]], edges: list[tuple[str, str, str, str]],
                        nodes: dict[str, Any]) -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """Every (pattern hash, canonical node order, node set) of one trace structure."""
    adj: dict[str, set[str]] = {n: set() for n in labels}
    for s, _, t, _ in edges:
        adj[s].add(t)
        adj[t].add(s)
    out = []
    for comp in _components(adj):
        if len(comp) < 2:
            continue
        subsets = (_connected_subsets(comp, adj) if len(comp) <= MAX_ENUMERATED
                   else [frozenset(comp)])
        for sub in subsets:
            phash, order = _canonical(sub, labels, edges)
            out.append((phash, order, sub))
    return out


def _components(adj: dict[str, set[str]]) -> list[set[str]]:
    seen: set[str] = set()
    comps = []
    for start in sorted(adj):
        if start in seen:
            continue
        comp, stack = {start}, [start]
        while stack:
            for m in adj[stack.pop()]:
                if m not in comp:
                    comp.add(m)
                    stack.append(m)
        seen |= comp
        comps.append(comp)
    return comps


def _connected_subsets(comp: set[str], adj: dict[str, set[str]]) -> list[frozenset[str]]:
    """Connected subsets of ≥ 2 nodes (grown edge by edge; capped at ``_MAX_SUBSETS``, the
    whole component always included)."""
    whole = frozenset(comp)
    level = {frozenset((a, b)) for a in comp for b in adj[a] if a < b}
    found = set(level)
    while level and len(found) < _MAX_SUBSETS:
        nxt = set()
        for sub in level:
            for n in sub:
                for m in adj[n]:
                    if m not in sub:
                        nxt.add(sub | {m})
        nxt -= found
        found |= nxt
        level = nxt
    found.add(whole)
    return sorted(found, key=lambda s: (len(s), sorted(s)))


def _canonical(sub: frozenset[str], labels: dict[str, tuple[str, str]],
               edges: list[tuple[str, str, str, str]]) -> tuple[str, tuple[str, ...]]:
    inner = [e for e in edges if e[0] in sub and e[2] in sub]
    color = {n: _h(labels[n]) for n in sub}
    for _ in range(len(sub)):
        new = {}
        for n in sub:
            outs = sorted((sp, tp, color[t]) for s, sp, t, tp in inner if s == n)
            ins = sorted((sp, tp, color[s]) for s, sp, t, tp in inner if t == n)
            new[n] = _h((color[n], outs, ins))
        if len(set(new.values())) == len(set(color.values())):
            color = new
            break
        color = new
    # Members in topological order (depth = longest path from a source), then by colour.
    depth = {n: 0 for n in sub}
    for _ in range(len(sub)):
        changed = False
        for s, _, t, _ in inner:
            if depth[t] < depth[s] + 1:
                depth[t], changed = depth[s] + 1, True
        if not changed:
            break
    groups: dict[tuple[int, str], list[str]] = {}
    for n in sorted(sub):
        groups.setdefault((depth[n], color[n]), []).append(n)
    ordered_groups = [groups[c] for c in sorted(groups)]
    count = math.prod(math.factorial(len(g)) for g in ordered_groups)
    if count == 1 or count > _MAX_PERMUTATIONS:
        candidates: Iterable[tuple[str, ...]] = [tuple(n for g in ordered_groups for n in g)]
    else:
        candidates = (tuple(n for g in combo for n in g)
                      for combo in itertools.product(*(itertools.permutations(g)
                                                       for g in ordered_groups)))
    best: tuple[Any, tuple[str, ...]] | None = None
    for order in candidates:
        index = {n: i for i, n in enumerate(order)}
        form = ([list(labels[n]) for n in order],
                sorted([index[s], sp, index[t], tp] for s, sp, t, tp in inner))
        text = json.dumps(form, separators=(",", ":"))
        if best is None or text < best[0]:
            best = (text, order)
    assert best is not None
    return hashlib.sha256(best[0].encode()).hexdigest()[:16], best[1]


def _h(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()


# -- closed patterns -----------------------------------------------------------------------
def _closed(patterns: list[Pattern], where: dict[str, dict[str, list[frozenset[str]]]]) -> list[Pattern]:
    """Drop each pattern that sits inside a larger one supported by the same traces."""
    by_support: dict[frozenset[str], list[Pattern]] = {}
    for p in patterns:
        by_support.setdefault(frozenset(where[p.hash]), []).append(p)
    keep = []
    for group in by_support.values():
        for p in group:
            bigger = [q for q in group if len(q.members) > len(p.members)]
            if not any(_inside(where[p.hash], where[q.hash]) for q in bigger):
                keep.append(p)
    return keep


def _inside(small: dict[str, list[frozenset[str]]], big: dict[str, list[frozenset[str]]]) -> bool:
    """Whether, in every trace, every occurrence of the small pattern lies in one of the big."""
    return all(any(s <= b for b in big[run]) for run, occ in small.items() for s in occ)
