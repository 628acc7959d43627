"""Validation of control nodes and per-node policies.

Control skills are system skills whose frontmatter says ``control: <kind>``; only the
system volume may claim engine semantics (a team or LLM-written skill cannot make
itself a ``map`` that runs files). Kinds and what validation adds:

============  ==========================================================================
condition     ``expression`` parses as a Python expression (evaluated by simpleeval)
switch        outputs ``case0``…``caseN-1`` declared from the ``cases`` param (+ ``default``)
merge         —
delay         —
subworkflow   inputs/outputs = the declared interface of the file ``workflow`` names
map           ``item_input`` (and the keys of ``params``) are inputs of that file
loop          that file declares an input ``state`` and an output ``state``;
              ``until`` parses
router        one output per key of the ``routes`` param (``llm-router``)
============  ==========================================================================

Per-node policies on any node (``data`` of the node, beside ``skill`` and ``params``):
``retry: {attempts: 1..100, backoff_s: ≥ 0, on: [exception type names]}`` and
``timeout_s: > 0`` (seconds).
"""

from __future__ import annotations

import ast
import contextvars
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import WorkflowError, WorkflowProblem
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import Port
from llmos_jupyter._workflow.model import Node, Workflow
from llmos_jupyter._workflow.subflows import interface, load_subflow, resolve_path

__all__ = ["CONTROL_KINDS", "FILE_KINDS", "check_control", "control_kind", "is_valid_port",
           "parse_expression", "typed_interface"]

CONTROL_KINDS = ("condition", "switch", "merge", "delay", "subworkflow", "map", "loop",
                 "router")
FILE_KINDS = ("subworkflow", "map", "loop")
"""Control kinds that run another workflow file."""

MAX_CASES = 64

# The files being validated, outermost first: a file met again is a cycle.
_STACK: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "llmos_subflow_stack", default=())


def control_kind(skill: Skill) -> str | None:
    """The control kind of a system skill (``None`` for ordinary skills)."""
    kind = skill.frontmatter.get("control") if skill.volume == "system" else None
    return kind if kind in CONTROL_KINDS else None


def is_valid_port(name: str) -> bool:
    """Port names of declared outputs: an identifier-like name (letters, digits, ``_``,
    ``-``; not starting with a digit), at most 64 characters."""
    return 0 < len(name) <= 64 and not name[0].isdigit() and \
        name.replace("-", "_").isidentifier() and name.isascii()


def parse_expression(text: Any) -> str | None:
    """Why ``text`` is not a valid expression, or ``None``. The syntax is Python's
    (``value > 0 and value < 10``, ``state['error'] < 1e-3``); what may be evaluated is
    simpleeval's (names given, no attribute access to dunders, no calls but a few)."""
    if not isinstance(text, str) or not text.strip():
        return "expected a non-empty expression string"
    try:
        ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        return f"invalid expression {text!r}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError):
        return f"invalid expression {text[:80]!r}"
    return None


Add = Callable[[WorkflowProblem], None]


def check_control(kind: str | None, wf: Workflow, node: Node, skill: Skill,
                  overrides: Mapping[str, Any], library: Any, runtimes: tuple[str, ...],
                  add: Add, subflows: dict[str, Workflow], analyse: Any) -> Skill:
    """Check one control node (and any node's policies); return the skill to plan the
    node with (a node-specific copy for ``switch`` and ``subworkflow``)."""
    _check_policies(node, add)
    if kind is None:
        return skill
    values = {**node.params, **overrides}
    nid = node.id
    if kind == "condition" and "expression" in values:
        _expr(values["expression"], nid, "expression", add)
    elif kind == "switch":
        cases = values.get("cases")
        if not isinstance(cases, list):
            if "cases" in values:
                return skill  # the param check names the wrong type
            add(WorkflowProblem("bad-param", "switch needs 'cases' set on the node (not wired): "
                                "its outputs case0…caseN-1 are declared from it", node=nid,
                                port="cases"))
            return skill
        if not cases or len(cases) > MAX_CASES:
            add(WorkflowProblem("bad-param", f"switch needs 'cases' set on the node: a list of 1 "
                                f"to {MAX_CASES} expressions (outputs case0…caseN-1 are declared "
                                "from it)", node=nid, port="cases"))
            return skill
        for i, case in enumerate(cases):
            _expr(case, nid, f"cases[{i}]", add)
        template = skill.output_ports.get("default") or Port("default", "any", required=False)
        outputs = tuple(dataclasses.replace(template, name=f"case{i}",
                                            description=f"the value, when cases[{i}] is the "
                                            "first case that holds")
                        for i in range(len(cases)))
        return dataclasses.replace(skill, outputs=outputs + tuple(skill.outputs))
    elif kind == "router":
        routes = values.get("routes")
        if not isinstance(routes, Mapping):
            if "routes" not in values:
                add(WorkflowProblem("bad-param", "set 'routes' on the node (route name → "
                                    "description): one output per route is declared from it",
                                    node=nid, port="routes"))
            return skill
        fixed = set(skill.output_ports)
        bad = [r for r in routes if not (isinstance(r, str) and is_valid_port(r)) or r in fixed]
        if bad or not routes or len(routes) > MAX_CASES:
            add(WorkflowProblem("bad-param", f"routes: 1 to {MAX_CASES} names that are port "
                                f"names and not {', '.join(sorted(fixed))}"
                                + (f" (bad: {', '.join(map(repr, bad[:5]))})" if bad else ""),
                                node=nid, port="routes"))
            return skill
        outputs = tuple(Port(name, "any", required=False,
                             description=f"the value, when the model chooses {name!r}")
                        for name in routes)
        return dataclasses.replace(skill, outputs=outputs + tuple(skill.outputs))
    elif kind == "loop" and "until" in values:
        _expr(values["until"], nid, "until", add)
    if kind not in FILE_KINDS:
        return skill

    ref = values.get("workflow")
    if ref is None:
        return skill  # missing-input says it
    inner = _inner(wf, nid, ref, library, runtimes, add, analyse)
    if inner is None:
        return skill
    sub, sub_inputs, sub_outputs = inner
    subflows[nid] = sub
    if kind == "subworkflow":
        if not sub_outputs:
            add(WorkflowProblem("bad-interface", f"sub-workflow {ref!r} declares no \"outputs\" "
                                "(name → \"node.port\"), so it cannot be used as a node",
                                node=nid, port="workflow"))
        workflow_port = skill.input_ports.get("workflow")
        ports = tuple(sub_inputs.values()) + ((workflow_port,) if workflow_port else ())
        return dataclasses.replace(skill, inputs=ports, outputs=tuple(sub_outputs.values()))
    if kind == "map":
        item_input = values.get("item_input")
        if not isinstance(item_input, str) or item_input not in sub_inputs:
            add(WorkflowProblem("bad-param", f"item_input {item_input!r} is not a declared input "
                                f"of {ref!r} (declared: {', '.join(sub_inputs) or 'none'})",
                                node=nid, port="item_input"))
            return skill
        params = values.get("params") or {}
        given = {item_input} | set(params if isinstance(params, Mapping) else {})
        for name in (params if isinstance(params, Mapping) else {}):
            if name not in sub_inputs:
                add(WorkflowProblem("bad-param", f"params: {name!r} is not a declared input of "
                                    f"{ref!r} (declared: {', '.join(sub_inputs)})", node=nid,
                                    port="params"))
        for name, port in sub_inputs.items():
            if port.required and name not in given:
                add(WorkflowProblem("missing-input", f"the sub-workflow's required input {name!r} "
                                    "gets no value: set it in params", node=nid, port="params"))
    if kind == "loop" and ("state" not in sub_inputs or "state" not in sub_outputs):
        add(WorkflowProblem("bad-interface", f"a loop's workflow maps state → state: {ref!r} must "
                            "declare an input \"state\" and an output \"state\"", node=nid,
                            port="workflow"))
    return skill


def _expr(text: Any, nid: str, port: str, add: Add) -> None:
    why = parse_expression(text)
    if why is not None:
        add(WorkflowProblem("bad-expression", f"{port}: {why}", node=nid, port=port.split("[")[0]))


def typed_interface(path: str | Path, library: Any,
                    runtimes: tuple[str, ...] | None = None) -> tuple[dict[str, Port],
                                                                       dict[str, Port]]:
    """The declared ``(inputs, outputs)`` of the workflow file ``path`` as typed ports
    (what a ``subworkflow`` node naming it gets; inputs the inner workflow sets itself are
    optional with that value as default, outputs optional).

    Raises:
        WorkflowInvalid: the file is missing, invalid, in a cycle or declares a port that
            does not exist (every problem listed).
    """
    from llmos_jupyter._exceptions import WorkflowInvalid
    from llmos_jupyter._skills.model import LOCAL_RUNTIMES
    from llmos_jupyter._workflow.validate import _analyse

    path = Path(path).resolve()
    probe = Workflow(id="interface", path=path.with_name(f".{path.name}.interface"))
    problems: list[WorkflowProblem] = []
    inner = _inner(probe, "interface", str(path), library, runtimes or LOCAL_RUNTIMES,
                   problems.append, _analyse)
    if inner is None:
        raise WorkflowInvalid(problems, name=path.name)
    return inner[1], inner[2]


def _check_policies(node: Node, add: Add) -> None:
    data = node.data_extra
    if "timeout_s" in data:
        t = data["timeout_s"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (0 < t < float("inf")):
            add(WorkflowProblem("bad-policy", f"data.timeout_s must be a positive number of "
                                f"seconds, not {t!r}", node=node.id))
    if "retry" not in data:
        return
    retry = data["retry"]
    why = None
    if not isinstance(retry, Mapping):
        why = "must be an object {attempts, backoff_s, on}"
    else:
        unknown = set(retry) - {"attempts", "backoff_s", "on"}
        attempts, backoff, on = retry.get("attempts", 1), retry.get("backoff_s", 0), \
            retry.get("on", [])
        if unknown:
            why = f"unknown field(s) {', '.join(sorted(map(str, unknown)))}"
        elif isinstance(attempts, bool) or not isinstance(attempts, int) or \
                not 1 <= attempts <= 100:
            why = f"attempts must be a whole number from 1 to 100, not {attempts!r}"
        elif isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or \
                not 0 <= backoff <= 3600:
            why = f"backoff_s must be seconds from 0 to 3600, not {backoff!r}"
        elif not isinstance(on, list) or not all(isinstance(x, str) and x.isidentifier()
                                                   for x in on):
            why = "on must be a list of exception type names (e.g. [\"HttpStatusError\"])"
    if why:
        add(WorkflowProblem("bad-policy", f"data.retry: {why}", node=node.id))


def _inner(wf: Workflow, nid: str, ref: Any, library: Any, runtimes: tuple[str, ...],
           add: Add, analyse: Any) -> tuple[Workflow, dict[str, Port], dict[str, Port]] | None:
    """Load and validate the file a control node names; its declared ports, typed."""
    if not isinstance(ref, str) or not ref.strip():
        add(WorkflowProblem("bad-param", "workflow must be the path of a *.workflow.json file "
                            "(set on the node; it cannot be wired)", node=nid, port="workflow"))
        return None
    stack = _STACK.get()
    if not stack and wf.path is not None:
        stack = (wf.path.resolve(),)
    target = resolve_path(wf, ref)
    if target in stack:
        chain = " → ".join(p.name for p in stack[stack.index(target):]) + f" → {target.name}"
        add(WorkflowProblem("workflow-cycle", f"sub-workflow cycle: {chain} (files: "
                            f"{', '.join(str(p) for p in stack)})", node=nid, port="workflow"))
        return None
    try:
        sub = load_subflow(wf, ref)
        in_decl, out_decl = interface(sub)
    except WorkflowError as exc:
        add(WorkflowProblem("invalid-subworkflow", str(exc), node=nid, port="workflow"))
        return None
    token = _STACK.set(stack + (target,))
    try:
        problems, inner_plan = analyse(sub, library, {}, runtimes, frozenset(in_decl.values()))
    finally:
        _STACK.reset(token)
    if problems or inner_plan is None:
        for p in problems:
            if p.code == "workflow-cycle":  # name the cycle once, at the outer node
                add(WorkflowProblem("workflow-cycle", p.message, node=nid, port="workflow"))
                return None
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        add(WorkflowProblem("invalid-subworkflow", f"{target.name}: {shown}{more}", node=nid,
                            port="workflow"))
        return None
    inputs: dict[str, Port] = {}
    outputs: dict[str, Port] = {}
    ok = True
    for decl, into, side in ((in_decl, inputs, "input"), (out_decl, outputs, "output")):
        for name, (inner_node, inner_port) in decl.items():
            skill = inner_plan.skills.get(inner_node)
            ports = (skill.input_ports if side == "input" else skill.output_ports) if skill else {}
            port = ports.get(inner_port)
            if port is None:
                add(WorkflowProblem("bad-interface", f"{target.name}: declared {side} {name!r} → "
                                    f"{inner_node}.{inner_port}, which is not an {side} port of "
                                    "that workflow", node=nid, port="workflow"))
                ok = False
                continue
            if side == "input":
                node = inner_plan.nodes[inner_node]
                if inner_port in node.params:  # the inner workflow's own value is the default
                    into[name] = dataclasses.replace(port, name=name, required=False,
                                                     default=node.params[inner_port],
                                                     has_default=True)
                else:
                    into[name] = dataclasses.replace(port, name=name)
            else:  # optional: a branch inside may not produce it
                into[name] = dataclasses.replace(port, name=name, required=False)
    return (sub, inputs, outputs) if ok else None
