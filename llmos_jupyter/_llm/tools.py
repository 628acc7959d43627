"""The tools the model calls, implemented on the real library, Workflow and Engine.

Each tool has a JSON schema (sent to the API as ``input_schema``) and a handler. Every call
is checked before it touches anything: the input against the schema (``jsonschema``,
additional properties refused), then against the library and the workflow (the skill
exists, the node exists, the port exists on that side, the types fit). A bad call returns
``is_error`` with one precise message — what was wrong and what exists instead — so the
model can correct itself; it never raises into the loop.

Results are JSON. Run outputs are summarised for the model: numbers and short strings as
they are, long lists as ``{"length", "first", "last", "min", "max"}``, PNG images as
``"<PNG image, N bytes>"``; :func:`read_outputs` gives one port in more detail.

A call that writes files, commits to a volume or runs untrusted code (today:
``run_workflow``, which saves ``<id>.workflow.json`` as a commit in the user volume and
runs the workflow's skills) first asks the user: :attr:`Toolbox.approve` gets an
:class:`ApprovalRequest` (tool, redacted arguments, the reasons) and returns ``True`` to
allow it. With no approver the call is denied. A denied call does nothing and returns
an ``is_error`` result the model sees (so it can explain or change course). Every call's
outcome (``approved``/``denied``/``not needed``) is on its :class:`ToolResult`. A workflow
file written for the model is marked untrusted (``_trust.mark_untrusted``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._engine.result import RunResult, jsonable
from llmos_jupyter._exceptions import LlmosError, SkillNotFound
from llmos_jupyter._llm.redact import redact, redact_obj
from llmos_jupyter._paths import volume_dir
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import compatible, is_png, png_bytes
from llmos_jupyter._workflow.model import Workflow
from llmos_jupyter._workflow.validate import validate

__all__ = ["TOOLS", "ApprovalRequest", "Approver", "ToolError", "ToolResult", "Toolbox",
           "approve_all", "is_trusted", "mark_untrusted"]

_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$", "maxLength": 64}
_WF = {"type": "string", "description": "Workflow id (default: the current workflow)."}

TOOLS: dict[str, dict[str, Any]] = {
    "list_skills": {
        "description": "List skills in the library (id, description, input and output ports). "
                       "Filter by a search query or a category.",
        "input_schema": {"type": "object", "properties": {
            "query": {"type": "string", "description": "Words to match (optional)."},
            "category": {"type": "string"}}, "additionalProperties": False}},
    "get_skill": {
        "description": "Full description of one skill: every port with type, unit, default, "
                       "and its documentation.",
        "input_schema": {"type": "object", "properties": {"skill_id": {"type": "string"}},
                         "required": ["skill_id"], "additionalProperties": False}},
    "create_workflow": {
        "description": "Start a new, empty workflow; it becomes the current workflow.",
        "input_schema": {"type": "object", "properties": {
            "workflow_id": _ID, "name": {"type": "string"}, "description": {"type": "string"}},
            "required": ["workflow_id"], "additionalProperties": False}},
    "add_node": {
        "description": "Add a node that runs a skill. node_id is a short name used to wire it.",
        "input_schema": {"type": "object", "properties": {
            "node_id": _ID, "skill_id": {"type": "string"},
            "params": {"type": "object", "description": "Input values set on the node."},
            "workflow_id": _WF}, "required": ["node_id", "skill_id"],
            "additionalProperties": False}},
    "connect": {
        "description": "Wire an output port of one node to an input port of another.",
        "input_schema": {"type": "object", "properties": {
            "source": {"type": "string"}, "source_port": {"type": "string"},
            "target": {"type": "string"}, "target_port": {"type": "string"},
            "workflow_id": _WF},
            "required": ["source", "source_port", "target", "target_port"],
            "additionalProperties": False}},
    "set_params": {
        "description": "Set input values on a node (null removes a value).",
        "input_schema": {"type": "object", "properties": {
            "node_id": {"type": "string"}, "params": {"type": "object"}, "workflow_id": _WF},
            "required": ["node_id", "params"], "additionalProperties": False}},
    "validate_workflow": {
        "description": "Check the workflow: unknown skills or ports, type mismatches, missing "
                       "required inputs, cycles. Returns every problem.",
        "input_schema": {"type": "object", "properties": {"workflow_id": _WF},
                         "additionalProperties": False}},
    "run_workflow": {
        "description": "Validate, run and save the workflow; returns each node's status and "
                       "a summary of its outputs.",
        "input_schema": {"type": "object", "properties": {"workflow_id": _WF},
                         "additionalProperties": False}},
    "read_outputs": {
        "description": "The outputs of a node from the last run (one port or all).",
        "input_schema": {"type": "object", "properties": {
            "node_id": {"type": "string"}, "port": {"type": "string"}, "workflow_id": _WF},
            "required": ["node_id"], "additionalProperties": False}},
}


class ToolError(LlmosError):
    """A tool call the model has to correct (its message goes back to the model)."""


@dataclass(frozen=True)
class ApprovalRequest:
    """A tool call waiting for the user's yes: ``arguments`` are redacted, ``reasons``
    say what the call would do (``writes …``, ``commits …``, ``runs untrusted skills …``)."""

    tool: str
    arguments: dict[str, Any]
    reasons: tuple[str, ...]

    def describe(self) -> str:
        """One paragraph for a prompt: the call and why it needs approval."""
        args = json.dumps(self.arguments, ensure_ascii=False, default=str)
        if len(args) > 300:
            args = args[:300] + "…"
        return (f"The model wants to call {self.tool}({args}), which "
                + "; ".join(self.reasons) + ".")


Approver = Callable[[ApprovalRequest], bool]
"""Decides an :class:`ApprovalRequest`: ``True`` allows the call."""


def approve_all(request: ApprovalRequest) -> bool:
    """An approver that allows every call (``%%llm --yes``)."""
    return True


def is_trusted(skill: Skill, home: Path | None = None) -> bool:
    """Whether ``skill`` runs with the user's full power (``_trust.is_trusted``; without
    that module: the system and user volumes and in-memory skills)."""
    try:
        from llmos_jupyter._trust import is_trusted as trusted
    except ImportError:  # pragma: no cover - _trust ships with the package
        return skill.volume in (None, "system", "user", "memory")
    return bool(trusted(skill, home=home))


def mark_untrusted(path: Path, home: Path | None = None) -> None:
    """Mark a file written on the model's behalf as untrusted (``_trust.mark_untrusted``)."""
    try:
        from llmos_jupyter._trust import mark_untrusted as mark
    except ImportError:  # pragma: no cover - _trust ships with the package
        return
    mark(path, "written by the LLM (%%llm run_workflow)", home=home)


@dataclass
class ToolResult:
    """What a tool returns to the model: JSON content and whether it is an error.

    ``approval`` is ``"approved"``/``"denied"`` for a call that needed the user's yes,
    ``None`` when it did not; ``reasons`` say why it needed one.
    """

    content: Any
    is_error: bool = False
    approval: str | None = None
    reasons: tuple[str, ...] = ()

    def text(self) -> str:
        if self.is_error:
            return redact(str(self.content))
        return json.dumps(redact_obj(jsonable(self.content)), ensure_ascii=False, default=str)

    def summary(self, limit: int = 300) -> str:
        """The (redacted) result text, cut to ``limit`` characters, for the chat record."""
        text = self.text()
        return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def summarize(value: Any, limit: int = 12) -> Any:
    """A compact, JSON-safe view of an output value for the model."""
    if is_png(value):
        return f"<PNG image, {len(png_bytes(value))} bytes>"
    value = jsonable(value)
    if isinstance(value, str) and len(value) > 400:
        return value[:400] + f"… ({len(value)} characters)"
    if isinstance(value, list) and len(value) > limit:
        nums = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out: dict[str, Any] = {"length": len(value), "first": [summarize(v) for v in value[:3]],
                               "last": [summarize(v) for v in value[-3:]]}
        if len(nums) == len(value):
            out.update(min=min(nums), max=max(nums))
        return out
    if isinstance(value, dict) and len(value) > 40:
        return {k: summarize(v) for k, v in list(value.items())[:40]} | {"…": f"{len(value)} keys"}
    if isinstance(value, dict):
        return {k: summarize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [summarize(v) for v in value]
    return value


def _skill_json(skill: Skill, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"skill_id": skill.skill_id, "description": skill.description,
                           "executable": skill.executable}
    if skill.executable:
        out["inputs"] = [p.to_dict() if full else _brief(p, True) for p in skill.inputs]
        out["outputs"] = [p.to_dict() if full else _brief(p, False) for p in skill.outputs]
    if full:
        out.update(name=skill.name, category=skill.category, tags=list(skill.tags),
                   requires=list(skill.requires), documentation=skill.body.strip()[:4000])
    return out


def _brief(port: Any, inp: bool) -> str:
    s = f"{port.name}: {port.type}"
    if port.unit:
        s += f" [{port.unit}]"
    if inp and port.has_default:
        s += f" = {port.default!r}"
    elif inp and port.required:
        s += " (required)"
    return s


@dataclass
class Toolbox:
    """The tools' state: the workflows being built and the last run of each.

    Args:
        library: the skills the model may use.
        engine: runs workflows (default: the workbench's engine in the caller's thread:
            the kernel's one cache and event bus, so a workflow the model builds reuses
            what ``%%skill`` cells computed and shows on an open canvas of that workflow).
        workbench: the kernel's :class:`~llmos_jupyter._workbench.Workbench` (default: the
            one of ``library``); runs and saved workflow files go through it.
        save_dir: where ``run_workflow`` saves ``<id>.workflow.json`` (default:
            ``<user volume>/workflows``).
        trace: write trace notebooks for runs.
        approve: asked before a call that writes, commits or runs untrusted code (see
            the module docstring); ``None`` denies such calls.
    """

    library: SkillLibrary
    engine: Engine | None = None
    workbench: Any = None
    save_dir: Path | None = None
    trace: bool = True
    workflows: dict[str, Workflow] = field(default_factory=dict)
    results: dict[str, RunResult] = field(default_factory=dict)
    saved: dict[str, Path] = field(default_factory=dict)
    current: str | None = None
    on_change: Callable[[str, Workflow], None] | None = None
    approve: Approver | None = None

    def __post_init__(self) -> None:
        if self.workbench is None:
            from llmos_jupyter._workbench import Workbench

            self.workbench = Workbench.for_library(self.library)
        if self.engine is None:
            # One worker in the caller's thread, as before, on the kernel's cache and bus.
            self.engine = self.workbench.engine_for(main_thread=True)
        if self.save_dir is None:
            self.save_dir = volume_dir("user") / "workflows"

    # -- the API side --------------------------------------------------------------------
    def definitions(self) -> list[dict[str, Any]]:
        """The ``tools`` parameter of a Messages API call."""
        return [{"name": n, **spec} for n, spec in TOOLS.items()]

    def call(self, name: str, arguments: Any) -> ToolResult:
        """Validate and run one tool call; errors come back as ``is_error`` results."""
        import jsonschema

        if name not in TOOLS:
            return ToolResult(f"unknown tool {name!r}; tools: {', '.join(TOOLS)}", True)
        if not isinstance(arguments, dict):
            return ToolResult(f"{name}: the input must be a JSON object, got "
                              f"{type(arguments).__name__}", True)
        validator = jsonschema.Draft202012Validator(TOOLS[name]["input_schema"])
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            msgs = [f"{'/'.join(map(str, e.path)) or 'input'}: {e.message}" for e in errors]
            return ToolResult(redact(f"{name}: invalid input: " + "; ".join(msgs)), True)
        approval: str | None = None
        reasons: tuple[str, ...] = ()
        try:
            reasons = self.needs_approval(name, arguments)
            if reasons:
                approval = "approved" if self._ask(name, arguments, reasons) else "denied"
                if approval == "denied":
                    return ToolResult(
                        f"{name}: the user did not approve this call ({'; '.join(reasons)}); "
                        "nothing was done. Do not repeat it unless the user asks; tell them "
                        "what you would have done.", True, approval, reasons)
            return ToolResult(getattr(self, "_" + name)(**arguments), False, approval, reasons)
        except (ToolError, LlmosError, ValueError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return ToolResult(redact(f"{name}: {msg}"), True, approval, reasons)

    def needs_approval(self, name: str, arguments: dict[str, Any]) -> tuple[str, ...]:
        """Why the call ``name(arguments)`` needs the user's yes (empty: it does not).

        Raises:
            ToolError: the call refers to a workflow that does not exist (it would fail
                before doing anything).
        """
        if name != "run_workflow":
            return ()
        wf = self._wf(arguments.get("workflow_id"))
        assert self.save_dir is not None
        reasons = [f"writes {self._save_path(wf)} and commits it to the user volume",
                   "runs the workflow's skills" + (" and writes their trace notebook"
                                                  if self.trace else "")]
        untrusted = sorted({n.skill for n in wf.nodes if n.skill in self.library
                            and not is_trusted(self.library.get(n.skill), self.library.home)})
        if untrusted:
            reasons.append("runs untrusted skills: " + ", ".join(untrusted))
        return tuple(reasons)

    def _ask(self, name: str, arguments: dict[str, Any], reasons: tuple[str, ...]) -> bool:
        if self.approve is None:
            return False
        request = ApprovalRequest(name, redact_obj(arguments), reasons)
        try:
            return bool(self.approve(request))
        except (KeyboardInterrupt, EOFError):
            return False

    def _save_path(self, wf: Workflow) -> Path:
        assert self.save_dir is not None
        return self.save_dir / f"{re.sub(r'[^A-Za-z0-9_-]+', '-', wf.id)}.workflow.json"

    # -- helpers -------------------------------------------------------------------------
    def _wf(self, workflow_id: str | None) -> Workflow:
        wid = workflow_id or self.current
        if wid is None:
            raise ToolError("no workflow yet; call create_workflow first")
        if wid not in self.workflows:
            raise ToolError(f"no workflow {wid!r}; workflows: "
                            f"{', '.join(self.workflows) or 'none'}")
        return self.workflows[wid]

    def _skill(self, skill_id: str) -> Skill:
        try:
            return self.library.get(skill_id)
        except SkillNotFound as exc:
            raise ToolError(f"{exc} (list_skills shows every id)") from None

    def _node_skill(self, wf: Workflow, node_id: str) -> Skill:
        if node_id not in wf:
            raise ToolError(f"no node {node_id!r} in workflow {wf.id!r}; nodes: "
                            f"{', '.join(n.id for n in wf.nodes) or 'none'}")
        return self._skill(wf.node(node_id).skill)

    def _check_params(self, skill: Skill, node_id: str, params: dict[str, Any]) -> None:
        from llmos_jupyter._workflow.validate import check_param

        for name, value in params.items():
            port = skill.input_ports.get(name)
            if port is None:
                raise ToolError(f"node {node_id!r} ({skill.skill_id}) has no input {name!r}; "
                                f"inputs: {', '.join(skill.input_ports) or 'none'}")
            if value is not None:
                problem = check_param(port, value)
                if problem:
                    raise ToolError(f"node {node_id!r} input {name!r}: {problem}")

    def _changed(self, wf: Workflow) -> None:
        if self.on_change is not None:
            self.on_change("changed", wf)

    # -- tools ---------------------------------------------------------------------------
    def _list_skills(self, query: str | None = None, category: str | None = None) -> Any:
        from llmos_jupyter._llm.context import score_skills

        skills = self.library.list(category=category)
        if query:
            skills = [s for sc, s in score_skills(query, skills) if sc > 0] or skills
        return [_skill_json(s) for s in skills]

    def _get_skill(self, skill_id: str) -> Any:
        return _skill_json(self._skill(skill_id), full=True)

    def _create_workflow(self, workflow_id: str, name: str = "", description: str = "") -> Any:
        if workflow_id in self.workflows:
            raise ToolError(f"workflow {workflow_id!r} exists already; use it or pick another id")
        wf = Workflow(id=workflow_id, name=name or workflow_id)
        if description:
            wf.extra["description"] = description
        self.workflows[workflow_id] = wf
        self.current = workflow_id
        self._changed(wf)
        return {"workflow_id": workflow_id, "nodes": [], "edges": []}

    def _add_node(self, node_id: str, skill_id: str, params: dict[str, Any] | None = None,
                  workflow_id: str | None = None) -> Any:
        wf = self._wf(workflow_id)
        skill = self._skill(skill_id)
        if not skill.executable:
            raise ToolError(f"skill {skill_id!r} is an instruction skill (no code); only "
                            "executable skills can be nodes")
        if node_id in wf:
            raise ToolError(f"node id {node_id!r} is already used in workflow {wf.id!r}")
        self._check_params(skill, node_id, params or {})
        x = 320 * len(wf.nodes)
        wf.add_node(skill_id, id=node_id, params=params or {}, position={"x": x, "y": 80})
        self._changed(wf)
        return {"node_id": node_id, "skill_id": skill_id,
                "inputs": [_brief(p, True) for p in skill.inputs],
                "outputs": [_brief(p, False) for p in skill.outputs]}

    def _connect(self, source: str, source_port: str, target: str, target_port: str,
                 workflow_id: str | None = None) -> Any:
        wf = self._wf(workflow_id)
        src, dst = self._node_skill(wf, source), self._node_skill(wf, target)
        out = src.output_ports.get(source_port)
        if out is None:
            hint = " (that is an input)" if source_port in src.input_ports else ""
            raise ToolError(f"node {source!r} ({src.skill_id}) has no output {source_port!r}"
                            f"{hint}; outputs: {', '.join(src.output_ports) or 'none'}")
        inp = dst.input_ports.get(target_port)
        if inp is None:
            hint = " (that is an output)" if target_port in dst.output_ports else ""
            raise ToolError(f"node {target!r} ({dst.skill_id}) has no input {target_port!r}"
                            f"{hint}; inputs: {', '.join(dst.input_ports) or 'none'}")
        if not compatible(out.type, inp.type):
            raise ToolError(f"type mismatch: {source}.{source_port} is {out.type}, "
                            f"{target}.{target_port} expects {inp.type}")
        if source == target:
            raise ToolError("a node cannot feed itself")
        if any(e.target == target and e.target_handle == target_port for e in wf.edges):
            raise ToolError(f"input {target}.{target_port} is already wired")
        edge = wf.connect(source, source_port, target, target_port)
        self._changed(wf)
        return {"edge": edge.id}

    def _set_params(self, node_id: str, params: dict[str, Any],
                    workflow_id: str | None = None) -> Any:
        wf = self._wf(workflow_id)
        skill = self._node_skill(wf, node_id)
        self._check_params(skill, node_id, params)
        wf.set_params(node_id, **params)
        self._changed(wf)
        return {"node_id": node_id, "params": wf.node(node_id).params}

    def _validate_workflow(self, workflow_id: str | None = None) -> Any:
        wf = self._wf(workflow_id)
        problems = validate(wf, self.library)
        return {"valid": not problems, "problems": [str(p) for p in problems],
                "nodes": [n.id for n in wf.nodes],
                "edges": [f"{e.source}.{e.source_handle} -> {e.target}.{e.target_handle}"
                          for e in wf.edges]}

    def _run_workflow(self, workflow_id: str | None = None) -> Any:
        wf = self._wf(workflow_id)
        problems = validate(wf, self.library)
        if problems:
            raise ToolError("the workflow is invalid; fix these first: "
                            + "; ".join(str(p) for p in problems))
        assert self.engine is not None and self.save_dir is not None
        path = self.workbench.save_workflow(
            wf, self._save_path(wf), text=redact(wf.to_json()),
            message=f"Save workflow {wf.id} (built by %%llm)")
        mark_untrusted(path, self.library.home)  # the model wrote it: the user has not vouched
        wf.path = path
        self.saved[wf.id] = path
        result = self.workbench.run(wf, engine=self.engine, trace=self.trace)
        self.results[wf.id] = result
        if self.on_change is not None:
            self.on_change("ran", wf)
        nodes = {}
        for nid, r in result.nodes.items():
            entry: dict[str, Any] = {"status": r.status}
            if r.ok:
                entry["outputs"] = {k: summarize(v) for k, v in r.outputs.items()}
            if r.error:
                entry["error"] = r.error
            nodes[nid] = entry
        return {"status": result.status, "saved": str(path), "trace": result.trace,
                "nodes": nodes}

    def _read_outputs(self, node_id: str, port: str | None = None,
                      workflow_id: str | None = None) -> Any:
        wf = self._wf(workflow_id)
        result = self.results.get(wf.id)
        if result is None:
            raise ToolError(f"workflow {wf.id!r} has not run yet; call run_workflow")
        if node_id not in result.nodes:
            raise ToolError(f"node {node_id!r} did not run; nodes: {', '.join(result.nodes)}")
        r = result.nodes[node_id]
        if not r.ok:
            raise ToolError(f"node {node_id!r} {r.status}: {r.error or 'no outputs'}")
        if port is not None:
            if port not in r.outputs:
                raise ToolError(f"node {node_id!r} has no output {port!r}; outputs: "
                                f"{', '.join(r.outputs)}")
            return {port: summarize(r.outputs[port], limit=200)}
        return {k: summarize(v, limit=50) for k, v in r.outputs.items()}

