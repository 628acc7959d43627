"""The ports of control nodes whose ports come from their parameters, for the canvas.

A palette skill has fixed ports, but some control nodes declare theirs from what is set
on the node (``_workflow/control.py``, the same rules the validator and the engine use):

``switch``       outputs ``case0``…``caseN-1`` from its ``cases`` (then ``default``);
``llm-router``   one output per key of its ``routes`` (router kind);
``subworkflow``  the inputs and outputs the file its ``workflow`` names declares
                 (``typed_interface``), plus its ``workflow`` input.

``map`` and ``loop`` keep their own ports (items → results, state → state); their entry
carries the file's ``interface`` instead, so the canvas can say what each item runs.

:func:`node_ports` gives ``{node: {"skill", "inputs"?: [port], "outputs"?: [port],
"interface"?: {"inputs": [port], "outputs": [port]}}}`` (ports as ``Port.to_dict()``;
``skill`` the node's skill they were told for, so a stale entry is never applied to a
node that changed skill), only for nodes
whose ports differ from their skill's; a node whose parameters are not valid yet (no
``cases``, a missing file) is left out, so it shows its palette ports and the
validator's problem.
"""

from __future__ import annotations

from typing import Any

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._workflow.model import Workflow

__all__ = ["node_ports"]

# The kinds whose node-specific ports replace the skill's, and those with an interface.
_PORTED = ("switch", "router", "subworkflow")
_INTERFACED = ("map", "loop")


def _ports(ports: Any) -> list[dict[str, Any]]:
    return [p.to_dict() for p in ports]


def node_ports(wf: Workflow, library: Any, runtimes: tuple[str, ...]) -> dict[str, Any]:
    """``{node: ports}`` of ``wf``'s control nodes whose ports come from their parameters
    (see the module docstring); ``library`` resolves skills, ``runtimes`` are those the
    host runs (as for ``validate``). Never raises for a workflow's content: a node whose
    ports cannot be told is left out."""
    from llmos_jupyter._workflow.control import check_control, control_kind, typed_interface
    from llmos_jupyter._workflow.subflows import resolve_path
    from llmos_jupyter._workflow.validate import _analyse

    out: dict[str, Any] = {}
    for node in wf.nodes:
        try:
            skill = library.get(node.skill)
        except (LlmosError, KeyError):
            continue
        kind = control_kind(skill)
        if kind not in _PORTED + _INTERFACED:
            continue
        problems: list[Any] = []
        try:
            if kind in _PORTED:
                specific = check_control(kind, wf, node, skill, {}, library, runtimes,
                                         problems.append, {}, _analyse)
                if specific is skill:
                    continue
                if [p for p in problems if p.port in ("cases", "routes", "workflow")]:
                    continue  # half-declared: the palette ports and the problem show
                entry: dict[str, Any] = {"skill": node.skill}
                if specific.inputs != skill.inputs:
                    entry["inputs"] = _ports(specific.inputs)
                if specific.outputs != skill.outputs:
                    entry["outputs"] = _ports(specific.outputs)
                if len(entry) > 1:
                    out[node.id] = entry
            else:
                ref = node.params.get("workflow")
                if not isinstance(ref, str) or not ref.strip():
                    continue
                inputs, outputs = typed_interface(resolve_path(wf, ref), library, runtimes)
                out[node.id] = {"skill": node.skill,
                                "interface": {"inputs": _ports(inputs.values()),
                                              "outputs": _ports(outputs.values())}}
        except (LlmosError, ValueError, TypeError, KeyError, OSError):
            continue  # the validator reports what is wrong with the node
    return out
