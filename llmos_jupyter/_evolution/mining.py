"""Finding repeated sub-workflows in traces.

For each trace, the nodes that finished (``completed`` or ``cached``) and the wires between
them form a graph. Every *connected* set of ≥ 2 of those nodes (all of them for components
of more than :data:`MAX_ENUMERATED` nodes) is one occurrence of a *pattern*: the induced
subgraph with each node labelled by ``(skill_id, code_hash)`` and each wire by its ports.
Node ids and layout play no part; a changed skill (another code hash) is another pattern.

The pattern's identity is a canonical form: nodes are ordered by depth (longest path from
a source) and a Weisfeiler-Lehman colour refinement of their labels and wires (until
stable for enumerated components, at most :data:`WL_ROUNDS_LARGE` rounds for larger
ones); ties between nodes that the refinement cannot tell apart are broken by trying their
permutations and keeping the smallest serialisation (exact for up to 720 permutations;
beyond that, node-id order, which can split one pattern into two but never merges
different ones). Its hash is the first 16 hex digits of SHA-256 over that serialisation.
Every step is linear in the nodes and wires (up to sorting), so a 5,000-node trace is
mined in about a second.

An occurrence *counts* only when at least one of its nodes ran in that trace (status
``completed``): a notebook's ``%%skill`` cells each write a trace, and the cell run after
A and B shows them again as ``cached``; that is the same run of A → B, not another one.
Each node's execution is identified by its cache key (content address: same skill,
inputs and upstream keys), which lets a sub-pattern seen in one cell's trace be
recognised inside the larger pattern of a later cell's trace.

Support is the number of traces with at least one counted occurrence. Patterns whose
support is below ``min_runs`` are dropped, and so is a pattern each of whose counted
occurrences lies inside an occurrence of a larger pattern with at least the same
support (only *closed* patterns remain: three runs of hamiltonian → vqe → plot give that
one pattern, not also hamiltonian → vqe), compared by executions, so it holds across the
traces of one notebook run.

Work per trace is small: traces of the same workflow share a structure (nodes, skills,
wires), and the enumeration and canonical forms are computed once per structure.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_ENUMERATED", "WL_ROUNDS_LARGE", "Member", "Occurrence", "Pattern", "mine"]

MAX_ENUMERATED = 12
"""Components up to this many nodes have every connected subset enumerated."""
WL_ROUNDS_LARGE = 4
"""Colour-refinement rounds for components larger than :data:`MAX_ENUMERATED` (depth
already orders chains and layered graphs; more rounds cost time and rarely split ties)."""
_MAX_SUBSETS = 2048
_MAX_PERMUTATIONS = 720
_OK = ("completed", "cached")
_PROGRESS_EVERY_S = 0.5

log = logging.getLogger("llmos_jupyter.evolution")

Wire = tuple[int, str, int, str]  # (source member, source port, target member, target port)


@dataclass(frozen=True, slots=True)
class Member:
    """One node of a pattern, in canonical order."""

    skill: str
    code_hash: str
    version: str | None


class Occurrence:
    """One place a pattern was found: a trace and the node ids matched, member by member.

    ``params`` (per member, the node's parameters) and ``executions`` (per member, its
    execution's identity: the node's cache key, or the run id and node id when the trace
    has none) are read from the trace when first asked for: mining 10,000 traces makes
    hundreds of thousands of occurrences, and most are only counted.
    """

    __slots__ = ("_executions", "_params", "_source", "nodes", "nodeset", "path", "run_id",
                 "started_at")

    def __init__(self, run_id: str, started_at: str, path: str, nodes: tuple[str, ...],
                 params: tuple[dict[str, Any], ...] | None = None,
                 executions: tuple[str, ...] | None = None, *,
                 source: dict[str, Any] | None = None,
                 nodeset: frozenset[str] | None = None) -> None:
        self.run_id, self.started_at, self.path, self.nodes = run_id, started_at, path, nodes
        self.nodeset = nodeset if nodeset is not None else frozenset(nodes)
        self._source = source
        self._params = params
        self._executions = executions

    @property
    def params(self) -> tuple[dict[str, Any], ...]:
        if self._params is None:
            src = self._source or {}
            self._params = tuple((src.get(n) or {}).get("params") or {} for n in self.nodes)
        return self._params

    @property
    def executions(self) -> tuple[str, ...]:
        if self._executions is None:
            src = self._source or {}
            self._executions = tuple(str((src.get(n) or {}).get("cache_key")
                                         or f"{self.run_id}/{n}") for n in self.nodes)
        return self._executions

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Occurrence) and (
            (self.run_id, self.nodes, self.params, self.executions)
            == (other.run_id, other.nodes, other.params, other.executions))

    __hash__ = None  # type: ignore[assignment]  # params are dicts

    def __repr__(self) -> str:
        return f"Occurrence(run_id={self.run_id!r}, nodes={self.nodes!r})"


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
        # Cached by the number of occurrences: support is asked often while mining.
        cached = self.__dict__.get("_runs")
        if cached is None or cached[0] != len(self.occurrences):
            seen: dict[str, None] = {}
            for o in self.occurrences:
                seen.setdefault(o.run_id, None)
            cached = self.__dict__["_runs"] = (len(self.occurrences), list(seen))
        return list(cached[1])

    @property
    def support(self) -> int:
        """How many traces contain the pattern (with a counted occurrence)."""
        self.runs  # noqa: B018 - refreshes the cache
        return len(self.__dict__["_runs"][1])

    def __repr__(self) -> str:
        chain = " + ".join(m.skill for m in self.members)
        return f"<Pattern {self.hash} {chain}: {self.support} runs>"


def mine(traces: Iterable[dict[str, Any]], *, min_runs: int = 3,
         progress: Callable[[str], None] | None = None) -> list[Pattern]:
    """The closed patterns found in ≥ ``min_runs`` traces, by support (desc) then hash.

    Args:
        traces: ``llmos.trace`` metadata dicts (see :func:`read_trace`).
        min_runs: the support a pattern needs.
        progress: called with a one-line message (traces done, large components) at most
            every half second and at the end; the same lines go to the
            ``llmos_jupyter.evolution`` logger at INFO.

    Raises:
        ValueError: ``min_runs`` < 1.
    """
    if min_runs < 1:
        raise ValueError(f"min_runs must be >= 1, got {min_runs}")
    # Mining allocates hundreds of thousands of small long-lived objects; the cyclic
    # collector would rescan them again and again (3x the time at 10,000 traces).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _mine(traces, min_runs, _Progress(progress))
    finally:
        if enabled:
            gc.enable()


def _mine(traces: Iterable[dict[str, Any]], min_runs: int, report: _Progress) -> list[Pattern]:
    memo: dict[Any, list[tuple[str, tuple[str, ...], frozenset[str]]]] = {}
    patterns: dict[str, Pattern] = {}
    reused: set[str] = set()  # cache keys of nodes some trace took from the cache
    ordered = sorted(traces, key=lambda t: (str(t.get("started_at") or ""), str(t.get("run_id"))))
    for k, trace in enumerate(ordered):
        report.tick(f"mining traces: {k}/{len(ordered)}")
        nodes = trace["nodes"]
        if not isinstance(nodes, dict):
            continue
        run_id = str(trace.get("run_id") or trace.get("path"))
        ok = [n for n, r in nodes.items() if isinstance(r, dict) and r.get("status") in _OK]
        if len(ok) < 2:
            continue
        ok_set = set(ok)
        edges = []
        for n in ok:
            wired = nodes[n].get("wired") or {}
            if not isinstance(wired, dict):
                continue
            for port, ref in wired.items():
                src, _, src_port = str(ref).rpartition(".")
                if src in ok_set and src != n:
                    edges.append((src, src_port, n, str(port)))
        if not edges:
            continue
        labels = {n: (str(nodes[n].get("skill")), str(nodes[n].get("code_hash") or ""))
                  for n in ok}
        key = (tuple(sorted((n, *labels[n]) for n in ok)), tuple(sorted(set(edges))))
        found = memo.get(key)
        if found is None:
            found = memo[key] = _structure_patterns(labels, sorted(set(edges)), report)
        ran = {n for n in ok if nodes[n].get("status") == "completed"}
        for n in ok:
            if n not in ran and nodes[n].get("cache_key"):
                reused.add(str(nodes[n]["cache_key"]))
        started = str(trace.get("started_at") or "")
        path = str(trace.get("path") or "")
        for phash, order, nodeset in found:
            if ran.isdisjoint(nodeset):
                continue  # every member came from the cache: an earlier trace's run
            pat = patterns.get(phash)
            if pat is None:
                members = tuple(Member(labels[n][0], labels[n][1], nodes[n].get("version"))
                                for n in order)
                index = {n: i for i, n in enumerate(order)}
                wires = tuple(sorted((index[s], sp, index[t], tp) for s, sp, t, tp in set(edges)
                                     if s in index and t in index))
                pat = patterns[phash] = Pattern(phash, members, wires)
            pat.occurrences.append(Occurrence(run_id, started, path, order, source=nodes,
                                              nodeset=nodeset))
    report.done(f"mined {len(ordered)} trace{'s' if len(ordered) != 1 else ''}: "
                f"{len(patterns)} pattern{'s' if len(patterns) != 1 else ''}")
    frequent = [p for p in patterns.values() if p.support >= min_runs]
    closed = _closed(frequent, reused)
    return sorted(closed, key=lambda p: (-p.support, -len(p.members), p.hash))


class _Progress:
    """Rate-limited progress lines to a callback and the logger."""

    def __init__(self, callback: Callable[[str], None] | None) -> None:
        self.callback = callback
        self.last = time.monotonic()

    def tick(self, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= _PROGRESS_EVERY_S:
            self.last = now
            self.emit(message)

    def done(self, message: str) -> None:
        self.emit(message)

    def emit(self, message: str) -> None:
        log.info("%s", message)
        if self.callback is not None:
            self.callback(message)


# -- per structure -------------------------------------------------------------------------
def _structure_patterns(labels: dict[str, tuple[str, str]], edges: list[tuple[str, str, str, str]],
                        report: _Progress | None = None
                        ) -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """Every (pattern hash, canonical node order, node set) of one trace structure."""
    adj: dict[str, set[str]] = {n: set() for n in labels}
    for s, _, t, _ in edges:
        adj[s].add(t)
        adj[t].add(s)
    out = []
    for comp in _components(adj):
        if len(comp) < 2:
            continue
        if len(comp) > MAX_ENUMERATED:
            if report is not None and len(comp) >= 1000:
                report.tick(f"canonical form of a {len(comp)}-node component", force=True)
            subsets = [frozenset(comp)]
        else:
            subsets = _connected_subsets(comp, adj)
        for sub in subsets:
            inner = [e for e in edges if e[0] in sub and e[2] in sub]
            phash, order = _canonical(sub, labels, inner)
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
               inner: list[tuple[str, str, str, str]]) -> tuple[str, tuple[str, ...]]:
    """(hash, canonical member order) of the subgraph ``sub`` with wires ``inner``."""
    nodes = sorted(sub)
    outs: dict[str, list[tuple[str, str, str]]] = {n: [] for n in nodes}
    ins: dict[str, list[tuple[str, str, str]]] = {n: [] for n in nodes}
    for s, sp, t, tp in inner:
        outs[s].append((sp, tp, t))
        ins[t].append((sp, tp, s))
    # Colours are ranks of sorted signatures: deterministic across processes (the hash
    # must not depend on PYTHONHASHSEED) and cheap to compare.
    palette = {lab: i for i, lab in enumerate(sorted({labels[n] for n in nodes}))}
    color = {n: palette[labels[n]] for n in nodes}
    count = len(palette)
    rounds = len(nodes) if len(nodes) <= MAX_ENUMERATED else WL_ROUNDS_LARGE
    for _ in range(rounds):
        sig = {n: (color[n],
                   tuple(sorted((sp, tp, color[t]) for sp, tp, t in outs[n])),
                   tuple(sorted((sp, tp, color[s]) for sp, tp, s in ins[n])))
               for n in nodes}
        ranks = {v: i for i, v in enumerate(sorted(set(sig.values())))}
        color = {n: ranks[sig[n]] for n in nodes}
        if len(ranks) == count:
            break  # stable: no class split
        count = len(ranks)
    depth = _depths(nodes, outs, ins)
    groups: dict[tuple[int, int], list[str]] = {}
    for n in nodes:
        groups.setdefault((depth[n], color[n]), []).append(n)
    ordered_groups = [groups[c] for c in sorted(groups)]
    perms = 1
    for g in ordered_groups:
        perms *= math.factorial(min(len(g), 8))  # capped: only "more than 720?" matters
        if perms > _MAX_PERMUTATIONS:
            break
    if perms == 1 or perms > _MAX_PERMUTATIONS:
        candidates: Iterable[tuple[str, ...]] = [tuple(n for g in ordered_groups for n in g)]
    else:
        candidates = (tuple(n for g in combo for n in g)
                      for combo in itertools.product(*(itertools.permutations(g)
                                                       for g in ordered_groups)))
    best: tuple[str, tuple[str, ...]] | None = None
    for order in candidates:
        index = {n: i for i, n in enumerate(order)}
        form = ([list(labels[n]) for n in order],
                sorted([index[s], sp, index[t], tp] for s, sp, t, tp in inner))
        text = json.dumps(form, separators=(",", ":"))
        if best is None or text < best[0]:
            best = (text, order)
    assert best is not None
    return hashlib.sha256(best[0].encode()).hexdigest()[:16], best[1]


def _depths(nodes: list[str], outs: dict[str, list[tuple[str, str, str]]],
            ins: dict[str, list[tuple[str, str, str]]]) -> dict[str, int]:
    """Longest path from a source, by Kahn's topological order (linear). Nodes on a cycle
    (not possible in a run's DAG, but traces are input) keep depth 0."""
    depth = {n: 0 for n in nodes}
    indeg = {n: len(ins[n]) for n in nodes}
    ready = [n for n in nodes if indeg[n] == 0]
    while ready:
        n = ready.pop()
        for _, _, t in outs[n]:
            depth[t] = max(depth[t], depth[n] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return depth


def _h(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()


# -- closed patterns -----------------------------------------------------------------------
def _closed(patterns: list[Pattern], reused: set[str]) -> list[Pattern]:
    """Drop each pattern whose every counted occurrence lies inside an occurrence of a
    larger pattern with at least the same support: in the same trace, or in another
    trace that took all of the occurrence's executions from the cache (``reused``)."""
    labels = {p.hash: Counter((m.skill, m.code_hash) for m in p.members) for p in patterns}
    views: dict[str, _Occurrences] = {}

    def view(p: Pattern) -> _Occurrences:
        if p.hash not in views:
            views[p.hash] = _Occurrences(p)
        return views[p.hash]

    keep = []
    for p in patterns:
        bigger = [q for q in patterns
                  if len(q.members) > len(p.members) and q.support >= p.support
                  and not labels[p.hash] - labels[q.hash]]  # q's members include p's
        if not any(view(p).inside(view(q), reused) for q in bigger):
            keep.append(p)
    return keep


class _Occurrences:
    """A pattern's occurrences by run (their node sets, shared between the traces of one
    structure, so cheap) and, built on demand, by execution."""

    def __init__(self, p: Pattern) -> None:
        self.pattern = p
        self.by_run: dict[str, list[Occurrence]] = {}
        for o in p.occurrences:
            self.by_run.setdefault(o.run_id, []).append(o)
        # Per run, the node sets as a hashable signature: traces of one structure share
        # the same node-set objects, so most runs have the same signature.
        self.shapes: dict[str, frozenset[frozenset[str]]] = {
            run: frozenset(o.nodeset for o in occs) for run, occs in self.by_run.items()}
        self._by_exec: dict[str, list[frozenset[str]]] | None = None

    def by_exec(self) -> dict[str, list[frozenset[str]]]:
        if self._by_exec is None:
            self._by_exec = {}
            for o in self.pattern.occurrences:
                occ = frozenset(o.executions)
                for e in occ:
                    self._by_exec.setdefault(e, []).append(occ)
        return self._by_exec

    def inside(self, big: _Occurrences, reused: set[str]) -> bool:
        """Whether every occurrence here lies in an occurrence of ``big``: first among the
        same trace's, by node ids (the common case), else anywhere by executions (a later
        trace that took these executions from the cache, as a notebook's next cell does)."""
        verdicts: dict[tuple[frozenset[frozenset[str]], frozenset[frozenset[str]]],
                       frozenset[frozenset[str]]] = {}
        empty: frozenset[frozenset[str]] = frozenset()
        for run, shape in self.shapes.items():
            big_shape = big.shapes.get(run, empty)
            key = (shape, big_shape)
            outside = verdicts.get(key)
            if outside is None:  # node sets of this run not inside one of big's
                outside = verdicts[key] = frozenset(
                    s for s in shape if not any(s <= b for b in big_shape))
            if not outside:
                continue
            for o in self.by_run[run]:
                if o.nodeset not in outside:
                    continue
                s = frozenset(o.executions)
                if not s <= reused:
                    return False  # no other trace reused all of it: it ran on its own
                index = big.by_exec()
                # The member execution shared with the fewest big occurrences (one that
                # re-ran each time), not one every run shares (an unchanged upstream).
                rarest = min((index.get(e, ()) for e in s), key=len)
                if not any(s <= b for b in rarest):
                    return False
        return True
