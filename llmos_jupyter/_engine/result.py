"""RunResult and NodeResult: what a run produced, node by node."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmos_jupyter._skills.ports import jsonable
from llmos_jupyter._workflow.model import Workflow

__all__ = ["NodeResult", "RunResult", "NodeStatus", "jsonable"]

NodeStatus = str
"""``completed`` | ``cached`` | ``failed`` | ``skipped`` (``queued``/``running`` live only
in events and on the canvas)."""


@dataclass(slots=True)
class NodeResult:
    """One node of a run.

    ``inputs`` are the resolved inputs the skill received; ``wired`` maps each wired
    input port to ``(source node, source port)``; ``duration_ms`` is wall time of the
    skill's ``execute`` (0 for cached and skipped nodes); ``error`` is one line,
    ``traceback`` the skill's frames; ``log`` what the skill printed (stdout and stderr,
    captured per node, ``None`` when it printed nothing); ``isolated`` tells whether it ran
    in an isolated worker (an untrusted skill) rather than in-process.
    """

    node_id: str
    skill_id: str
    status: NodeStatus
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    wired: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    duration_ms: float = 0.0
    started_at: float | None = None
    cache_key: str | None = None
    log: str | None = None
    isolated: bool = False
    attempts: int = 1
    """How many times the node ran (more than 1 under a ``data.retry`` policy)."""
    subruns: list[dict[str, Any]] | None = None
    """Nested runs of a ``subworkflow``/``map``/``loop`` node: one summary per run,
    ``{"tag", "run_id", "status", "duration_ms", "nodes": {id: {"status",
    "duration_ms", "error"}}}`` (``tag`` is the item index, iteration or ``sub``)."""

    @property
    def ok(self) -> bool:
        """True for ``completed`` and ``cached``."""
        return self.status in ("completed", "cached")

    def __getitem__(self, port: str) -> Any:
        return self.outputs[port]

    def to_json(self) -> dict[str, Any]:
        """``{"status", "duration_ms", "outputs", "error"}`` with JSON-safe outputs."""
        return {
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "outputs": jsonable(self.outputs),
            "error": self.error,
            **({"log": self.log} if self.log else {}),
        }


@dataclass(slots=True)
class RunResult:
    """The result of one run of a workflow.

    ``status``: ``completed`` (every node completed or cached), ``failed`` (a node
    failed; the other branches' results are kept), ``cancelled``. ``nodes`` is in
    execution order. ``trace`` is the trace notebook's path (``None`` if not written).
    ``warnings`` are things the user must know about the run as a whole (e.g. that
    untrusted nodes ran without file and network isolation on this machine).
    """

    run_id: str
    workflow: Workflow
    status: str
    nodes: dict[str, NodeResult]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_at: float = 0.0
    duration_ms: float = 0.0
    trace: str | None = None
    trace_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    trigger: dict[str, Any] | None = None
    """What started the run when it was not a person: ``{"type": "schedule" | "file" |
    "webhook", "index": i, "detail": …}`` (``llmos serve``)."""

    def __getitem__(self, node_id: str) -> NodeResult:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"node {node_id!r} did not run in {self.run_id} "
                           f"(nodes: {', '.join(self.nodes)})") from None

    def outputs(self, node_id: str) -> dict[str, Any]:
        """The outputs of one node (empty when it failed or was skipped)."""
        return self[node_id].outputs

    def _ids(self, *status: str) -> list[str]:
        return [n for n, r in self.nodes.items() if r.status in status]

    @property
    def ran(self) -> list[str]:
        """Nodes whose skill was executed (completed or failed)."""
        return self._ids("completed", "failed")

    @property
    def cached(self) -> list[str]:
        """Nodes whose outputs came from the cache."""
        return self._ids("cached")

    @property
    def failed(self) -> list[str]:
        return self._ids("failed")

    @property
    def skipped(self) -> list[str]:
        return self._ids("skipped")

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` object: ``{"status", "run_id", "duration_ms", "nodes":
        {id: {"status", "duration_ms", "outputs", "error"}}, "trace"}``; images become
        ``data:image/png;base64,`` URIs."""
        return {
            "status": self.status,
            "run_id": self.run_id,
            "workflow": self.workflow.id,
            "duration_ms": round(self.duration_ms, 3),
            "nodes": {n: r.to_json() for n, r in self.nodes.items()},
            "trace": self.trace,
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }

    def __repr__(self) -> str:
        return (f"<RunResult {self.run_id} {self.status}: {len(self.ran)} ran, "
                f"{len(self.cached)} cached, {len(self.failed)} failed, "
                f"{len(self.skipped)} skipped>")
