"""Validate a workflow against a library, listing every problem at once, and plan its run.

Checks (each problem names its node, port or edge): ids outside the id grammar
(:mod:`llmos_jupyter._ids`: ``invalid-workflow-id``, ``invalid-node-id``,
``invalid-skill-id``, ``invalid-edge-id``), an inline skill that would replace a library
skill of the same id with other code (``inline-shadows-library``), unknown skill (with suggestions),
standard skill or non-local runtime used as a node, duplicate node id, duplicate edge id,
edge to a missing node or port, type mismatch between connected ports, two edges into one
input, unknown or ill-typed params and run-time overrides (enum, minimum, maximum),
required input neither wired nor set, and cycles (the nodes on the cycle, in order).

Control skills (system skills with a ``control:`` field; see :mod:`..._workflow.control`)
get node-specific ports here: ``switch`` declares ``case0``…``caseN-1`` from its
``cases`` param; ``subworkflow`` takes the declared ``inputs``/``outputs`` of the file it
names (typed from the inner ports). The files that ``subworkflow``/``map``/``loop`` name are
validated too (``invalid-subworkflow``), and a cycle of files is ``workflow-cycle``
naming them. Per-node policies in ``data`` (``retry``, ``timeout_s``) are checked
(``bad-policy``), as are the expressions of ``condition``/``switch``/``loop``
(``bad-expression``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from llmos_jupyter._exceptions import SkillNotFound, WorkflowInvalid, WorkflowProblem
from llmos_jupyter._ids import EDGE_ID_MAX, ID_KINDS, NODE_ID_MAX, id_problem, is_valid_id
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import BROWSER_RUNTIMES, LOCAL_RUNTIMES, Skill
from llmos_jupyter._skills.ports import Port, check_value, compatible
from llmos_jupyter._workflow.control import check_control, control_kind
from llmos_jupyter._workflow.graph import find_cycle, kahn_order, topological_order
from llmos_jupyter._workflow.model import INLINE_KEY, Node, Workflow

__all__ = ["Plan", "normalize_overrides", "plan", "topological_order", "validate"]

Overrides = Mapping[str, Any]


@dataclass(slots=True)
class Plan:
    """A validated workflow, ready for the engine.

    ``incoming[node]`` is a tuple of ``(input port, source node, source port)`` and
    ``successors[node]`` a tuple of node ids, both in edge order; ``order`` is a
    topological order (file order among independent nodes); ``overrides`` is normalised
    to ``{node: {port: value}}``; ``library`` includes the workflow's inline skills.
    """

    workflow: Workflow
    library: SkillLibrary
    nodes: dict[str, Node]
    skills: dict[str, Skill]
    order: list[str]
    incoming: dict[str, tuple[tuple[str, str, str], ...]]
    successors: dict[str, tuple[str, ...]]
    overrides: dict[str, dict[str, Any]]
    controls: dict[str, str] = field(default_factory=dict)
    """``{node: kind}`` of control nodes (``condition``, ``switch``, ``merge``, ``map``,
    ``loop``, ``delay``, ``subworkflow``)."""
    subflows: dict[str, Workflow] = field(default_factory=dict)
    """``{node: workflow}``: the sub-workflow each ``subworkflow``/``map``/``loop`` runs."""


def normalize_overrides(overrides: Overrides | None) -> dict[str, dict[str, Any]]:
    """Accept ``{"node": {"port": v}}`` and/or ``{"node.port": v}``; return the former."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and "." not in key:
            out.setdefault(key, {}).update(value)
        elif "." in key:
            node, port = key.split(".", 1)
            out.setdefault(node, {})[port] = value
        else:
            raise ValueError(f"override {key!r} must be 'NODE.PORT' or map a node to "
                             "{port: value}")
    return out


def validate(
    workflow: Workflow,
    library: SkillLibrary,
    overrides: Overrides | None = None,
    *,
    runtimes: tuple[str, ...] = LOCAL_RUNTIMES,
) -> list[WorkflowProblem]:
    """Every problem of ``workflow`` against ``library`` (empty list = valid)."""
    return _analyse(workflow, library, normalize_overrides(overrides), runtimes)[0]


def plan(
    workflow: Workflow,
    library: SkillLibrary,
    overrides: Overrides | None = None,
    *,
    runtimes: tuple[str, ...] = LOCAL_RUNTIMES,
) -> Plan:
    """Validate and return the run plan.

    Raises:
        WorkflowInvalid: with every problem found.
    """
    problems, result = _analyse(workflow, library, normalize_overrides(overrides), runtimes)
    if problems or result is None:
        raise WorkflowInvalid(problems, name=workflow.name or workflow.id)
    return result


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_param(port: Port, value: Any) -> str | None:
    """Why ``value`` does not fit input ``port`` (type, enum, minimum, maximum), or None."""
    if value is None and not port.required:
        return None
    try:
        value = check_value(port.type, value)
    except TypeError as exc:
        return str(exc)
    if port.enum is not None and value not in port.enum:
        return f"{value!r} is not one of {', '.join(map(repr, port.enum))}"
    unit = f" {port.unit}" if port.unit else ""
    if port.minimum is not None and isinstance(value, (int, float)) and value < port.minimum:
        return f"{value}{unit} is below the minimum {port.minimum}{unit}"
    if port.maximum is not None and isinstance(value, (int, float)) and value > port.maximum:
        return f"{value}{unit} is above the maximum {port.maximum}{unit}"
    return None


def _analyse(
    wf: Workflow,
    library: SkillLibrary,
    overrides: dict[str, dict[str, Any]],
    runtimes: tuple[str, ...],
    provided: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[list[WorkflowProblem], Plan | None]:
    """``provided``: inputs ``(node, port)`` a caller supplies at run time (a
    sub-workflow's declared inputs), exempt from ``missing-input``."""
    problems: list[WorkflowProblem] = []
    add = problems.append
    if not is_valid_id("workflow", wf.id):
        add(WorkflowProblem("invalid-workflow-id", str(id_problem("workflow", wf.id))))
    inline = wf.inline_skills() if wf.extra.get(INLINE_KEY) else []
    if inline:
        inline = _inline_overlay(inline, library, wf, add)
        if inline:
            library = library.overlay(inline)
    nodes: dict[str, Node] = {}
    skills: dict[str, Skill] = {}
    # The id grammar, checked inline: 5,000 nodes share a handful of skill ids.
    node_id_ok, edge_id_ok = ID_KINDS["node"][0].match, ID_KINDS["edge"][0].match
    good_skill_ids: set[str] = set()
    controls: dict[str, str] = {}
    subflows: dict[str, Workflow] = {}

    for node in wf.nodes:
        if type(node.id) is not str:  # built in code; a file's ids are strings
            add(WorkflowProblem("invalid-node-id", str(id_problem("node", node.id)),
                                node=repr(node.id)))
            continue
        if node.id in nodes:
            add(WorkflowProblem("duplicate-node", "node id is used more than once", node=node.id))
            continue
        nodes[node.id] = node
        nid = node.id
        if not (type(nid) is str and len(nid) <= NODE_ID_MAX and node_id_ok(nid)):
            add(WorkflowProblem("invalid-node-id", str(id_problem("node", nid)), node=nid))
        if not (type(node.skill) is str and node.skill in good_skill_ids):
            if not is_valid_id("skill", node.skill):
                add(WorkflowProblem("invalid-skill-id", str(id_problem("skill", node.skill)),
                                    node=nid))
                continue
            good_skill_ids.add(node.skill)
        try:
            skill = library.get(node.skill)
        except SkillNotFound as exc:
            add(WorkflowProblem("unknown-skill", str(exc), node=node.id))
            continue
        if not skill.executable:
            add(WorkflowProblem("not-executable", f"skill {skill.skill_id!r} is a standard "
                                "(instruction-only) skill and cannot run as a node", node=node.id))
            continue
        if skill.runtime not in runtimes:
            where = (" it runs in the browser, in the canvas widget's front-end: add the node "
                     "to a llmos_jupyter.Canvas and run it there"
                     if skill.runtime in BROWSER_RUNTIMES else "")
            add(WorkflowProblem("unsupported-runtime", f"skill {skill.skill_id!r} has runtime "
                                f"{skill.runtime!r}, which this engine does not run (it runs: "
                                f"{', '.join(runtimes)});{where}".rstrip(";"), node=node.id))
        kind = control_kind(skill)
        if kind is not None:
            controls[node.id] = kind
        if kind is not None or node.data_extra:
            skill = check_control(kind, wf, node, skill, overrides.get(node.id, {}), library,
                                  runtimes, add, subflows, _analyse)
        skills[node.id] = skill
        _check_params(node.id, skill, node.params, "param", add)

    for node_id, values in overrides.items():
        if node_id not in nodes:
            add(WorkflowProblem("missing-node",
                                f"override for unknown node{_suggest(node_id, nodes)}",
                                node=node_id))
        elif node_id in skills:
            _check_params(node_id, skills[node_id], values, "override", add)

    # No list per node: per-node lists live through the whole validation and the run, so
    # the garbage collector promotes them to its old generation, whose growth is what
    # triggers its full passes (at 10,000 nodes a third of the engine's overhead). Edges
    # are collected flat and grouped into tuples, which the collector untracks.
    pos = {n: i for i, n in enumerate(nodes)}
    wires: list[tuple[int, tuple[str, str, str]]] = []  # (target position, incoming entry)
    outs: list[tuple[int, str]] = []                    # (source position, target)
    deps: list[tuple[int, int]] = []                    # (target, source) positions, every edge
    edge_ids: set[str] = set()
    fed: dict[tuple[str, str], str] = {}
    for e in wf.edges:
        eid = e.id
        if not (type(eid) is str and len(eid) <= EDGE_ID_MAX and edge_id_ok(eid)):
            add(WorkflowProblem("invalid-edge-id", str(id_problem("edge", eid)), edge=eid))
        if e.id in edge_ids:
            add(WorkflowProblem("duplicate-edge", "edge id is used more than once", edge=e.id))
        edge_ids.add(e.id)
        ok = True
        for end, node_id in (("source", e.source), ("target", e.target)):
            if node_id not in nodes:
                add(WorkflowProblem("missing-node", f"edge {end} {node_id!r} is not a node of the "
                                    f"workflow{_suggest(node_id, nodes)}", node=node_id, edge=e.id))
                ok = False
        if not ok:
            continue
        src_skill, dst_skill = skills.get(e.source), skills.get(e.target)
        src_port = dst_port = None
        if src_skill is not None:
            src_port = src_skill.output_ports.get(e.source_handle)
            if src_port is None:
                add(WorkflowProblem(
                    "missing-port", f"skill {src_skill.skill_id!r} has no output "
                    f"{e.source_handle!r}{_suggest(e.source_handle, src_skill.output_ports)}",
                    node=e.source, port=e.source_handle, edge=e.id))
                ok = False
        if dst_skill is not None:
            dst_port = dst_skill.input_ports.get(e.target_handle)
            if dst_port is None:
                add(WorkflowProblem(
                    "missing-port", f"skill {dst_skill.skill_id!r} has no input "
                    f"{e.target_handle!r}{_suggest(e.target_handle, dst_skill.input_ports)}",
                    node=e.target, port=e.target_handle, edge=e.id))
                ok = False
        if (src_port is not None and dst_port is not None
                and not compatible(src_port.type, dst_port.type)):
            add(WorkflowProblem(
                "type-mismatch", f"output {e.source}.{e.source_handle} is {src_port.type} but "
                f"input {e.target}.{e.target_handle} expects {dst_port.type}",
                node=e.target, port=e.target_handle, edge=e.id))
            ok = False
        key = (e.target, e.target_handle)
        if key in fed:
            add(WorkflowProblem("duplicate-input", f"input already wired by edge {fed[key]!r}; "
                                "an input takes one edge", node=e.target, port=e.target_handle,
                                edge=e.id))
            ok = False
        else:
            fed[key] = e.id
        # Keep the dependency even for a bad edge, so cycles are still found.
        deps.append((pos[e.target], pos[e.source]))
        if ok:
            wires.append((pos[e.target], (e.target_handle, e.source, e.source_handle)))
            outs.append((pos[e.source], e.target))

    ids = list(nodes)
    incoming = _grouped(ids, wires)
    successors = _grouped(ids, outs)

    for node_id, skill in skills.items():
        if not skill.required_inputs:
            continue
        params, extra = nodes[node_id].params, overrides.get(node_id, {})
        wired = {port for port, _, _ in incoming[node_id]}
        for port in skill.required_inputs:
            if (port.name not in params and port.name not in extra and port.name not in wired
                    and (node_id, port.name) not in provided):
                add(WorkflowProblem("missing-input", "required input is neither wired nor set "
                                    f"({port.type}{', ' + port.unit if port.unit else ''})",
                                    node=node_id, port=port.name))

    order = kahn_order(ids, deps)
    if order is None:
        # Only on failure: find_cycle (graphlib) names the nodes on one cycle.
        predecessors: dict[str, list[str]] = {n: [] for n in ids}
        for target, source in sorted(deps, key=_first):
            predecessors[ids[target]].append(ids[source])
        cycle = find_cycle(predecessors)
        if cycle:
            add(WorkflowProblem("cycle", "cycle: " + " → ".join(cycle), node=cycle[0]))

    if problems or order is None:  # no order: the cycle problem was added above
        return problems, None
    return problems, Plan(wf, library, nodes, skills, order, incoming, successors, overrides,
                          controls, subflows)


_first = itemgetter(0)


def _same_skill(a: Skill, b: Skill) -> bool:
    """Same code (runtime, requires, code: the code hash) and the same ports."""
    return a.code_hash == b.code_hash and a.inputs == b.inputs and a.outputs == b.outputs


def _inline_overlay(inline: list[Skill], library: SkillLibrary, wf: Workflow,
                    add: Any) -> list[Skill]:
    """The inline skills to lay over ``library``. An inline skill (carried by the
    workflow file, untrusted) never silently replaces a library skill of the same id: one
    with other code or ports is a problem (``inline-shadows-library``); an identical copy
    (a notebook cell saved with ``%skill save``) is dropped, the library's is used."""
    out = []
    for skill in inline:
        known = library.get(skill.skill_id) if skill.skill_id in library else None
        if known is not None and known.volume == "inline":
            # A library the caller already laid the inline skills over (a front-end's
            # palette): judge against the skill underneath.
            below = [s for s in library.overridden(skill.skill_id) if s.volume != "inline"]
            known = below[-1] if below else None
        if known is None:
            out.append(skill)
            continue
        if _same_skill(skill, known):
            continue
        users = [n.id for n in wf.nodes if n.skill == skill.skill_id]
        where = f" (used by node {users[0]!r})" if users else ""
        add(WorkflowProblem(
            "inline-shadows-library",
            f"the workflow carries an inline skill {skill.skill_id!r}{where} whose code differs "
            f"from the library skill {known.skill_id!r} (volume {known.volume!r}); an inline "
            "skill may not replace a library skill: rename the node or its skill, use the "
            f"library skill (--uses {known.skill_id}), or save the new code to the library "
            f"(%skill save NODE --force)", node=users[0] if users else None))
    return out


def _grouped(ids: list[str], pairs: list[tuple[int, Any]]) -> dict[str, tuple[Any, ...]]:
    """``{id: tuple of the values paired with its position}``, values in list order."""
    pairs.sort(key=_first)  # stable: edge order within a node
    out: dict[str, tuple[Any, ...]] = dict.fromkeys(ids, ())
    second = itemgetter(1)
    for i, group in groupby(pairs, _first):
        out[ids[i]] = tuple(map(second, group))
    return out


def _check_params(node_id: str, skill: Skill, values: Mapping[str, Any], kind: str,
                  add: Any) -> None:
    ports = skill.input_ports
    for name, value in values.items():
        port = ports.get(name)
        if port is None:
            add(WorkflowProblem("bad-param", f"{kind} {name!r}: skill {skill.skill_id!r} has no "
                                f"input {name!r}{_suggest(name, ports)}", node=node_id, port=name))
            continue
        why = check_param(port, value)
        if why is not None:
            add(WorkflowProblem("bad-param", f"{kind} {name!r}: {why}", node=node_id, port=name))
