"""The kernel's notebook: the skill cells run so far, as one workflow, and their results.

:class:`NotebookSession` is what the magics drive, kept free of IPython so it is tested
(and usable) without a shell. A kernel does not see the notebook file, so its graph is
the *latest definition of each skill cell it has executed*, in first-execution order;
``llmos run notebook.ipynb`` reads the file instead (``mapping.py``) and builds the same
graph from the same cells.

Running a node runs the sub-workflow of the node and everything it depends on: upstream
nodes whose cache key is unchanged come from the engine's cache (``cached``), stale ones
run again. A node is *stale* when its definition, or an upstream node's, changed after
its last run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._notebook.cells import INLINE_CATEGORY, SkillCell
from llmos_jupyter._notebook.mapping import CellEntry, build_workflow
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._workflow.model import Workflow

__all__ = ["CellState", "NotebookSession"]


@dataclass
class CellState:
    """One skill cell as last executed: parsed cell, evaluated params, logical time."""

    cell: SkillCell
    params: dict[str, Any]
    defined_at: int
    meta: dict[str, Any] = field(default_factory=dict)


class NotebookSession:
    """The skill cells of one kernel, their workflow and their last results.

    Args:
        workbench: the kernel's :class:`~llmos_jupyter._workbench.Workbench`: its library
            (where ``--uses`` skills are found; inline skills are added to it as in-memory
            skills of volume ``notebook``, overriding files of the same id) and its engine
            (nodes run in the caller's thread, on the workbench's cache and event bus, so a
            canvas of this workflow shows them and ``%%llm`` reuses their results).
        workflow_id: the workflow's id (the notebook's name when the kernel knows it).
        name: the workflow's name.

    Prefer :meth:`Workbench.session` (one session per kernel) to the constructor.
    """

    def __init__(self, workbench: Any, *, workflow_id: str = "notebook", name: str = "") -> None:
        self.workbench = workbench
        self.workflow_id = workflow_id
        self.name = name
        self.cells: dict[str, CellState] = {}
        self.results: dict[str, NodeResult] = {}
        self.ran_at: dict[str, int] = {}
        self.last_trace: str | None = None
        self.last_run: RunResult | None = None
        self._clock = 0

    @property
    def library(self) -> SkillLibrary:
        """The workbench's library."""
        return self.workbench.library

    @property
    def engine(self) -> Engine:
        """The engine a cell's run uses: the workbench's engine in the caller's thread
        (same cache and event bus as every other surface)."""
        return self.workbench.engine_for(main_thread=True)

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    # -- defining ------------------------------------------------------------------------
    def define(self, cell: SkillCell, params: Mapping[str, Any],
               meta: Mapping[str, Any] | None = None) -> Skill | None:
        """Record (or replace) a cell's node; register its inline skill in the library.

        Returns the library skill an inline skill shadows (a file with the same id), or
        ``None``.

        Raises:
            WorkflowError: the inline skill is invalid.
        """
        shadowed = None
        if cell.inline:
            skill = cell.skill
            old = self.library.get(skill.skill_id) if skill.skill_id in self.library else None
            if old is not None and old.volume != INLINE_CATEGORY:
                shadowed = old
            self.library.add(skill)
        prev = self.cells.get(cell.node_id)
        unchanged = (prev is not None and prev.cell == cell and prev.params == dict(params)
                     and (not cell.inline or prev.cell.skill_markdown == cell.skill_markdown))
        self.cells[cell.node_id] = CellState(
            cell, dict(params), prev.defined_at if unchanged and prev else self._tick(),
            dict(meta or {}))
        return shadowed

    def forget(self, node_id: str) -> None:
        """Drop a node (``%workflow`` keeps what cells defined; this is for tests/tools)."""
        self.cells.pop(node_id, None)
        self.results.pop(node_id, None)
        self.ran_at.pop(node_id, None)

    # -- the graph -----------------------------------------------------------------------
    def workflow(self, nodes: Iterable[str] | None = None) -> Workflow:
        """The workflow of the defined cells (all, or only ``nodes``), default layout.

        Raises:
            WorkflowError: an inline skill is invalid or defined twice differently.
        """
        keep = None if nodes is None else set(nodes)
        entries = [CellEntry(s.cell, s.params, s.meta, f"%%skill {n}")
                   for n, s in self.cells.items() if keep is None or n in keep]
        fields: dict[str, Any] = {"id": self.workflow_id}
        if self.name:
            fields["name"] = self.name
        wf = build_workflow(entries, fields=fields)
        wf.path = None
        return wf

    def upstream(self, node_ids: Iterable[str]) -> set[str]:
        return self.workflow().upstream(node_ids)

    def status(self, node_id: str) -> str:
        """``not run``, ``stale``, or the last run's status (``completed``, ``cached``,
        ``failed``, ``skipped``)."""
        r = self.results.get(node_id)
        if r is None or node_id not in self.cells:
            return "not run"
        if node_id in self.stale():
            return "stale"
        return r.status

    def stale(self) -> set[str]:
        """Nodes whose definition, or an upstream node's, changed after their last run."""
        wf = self.workflow()
        out = set()
        for node_id in self.results:
            if node_id not in self.cells:
                continue
            ran = self.ran_at.get(node_id, 0)
            for up in wf.upstream([node_id]):
                state = self.cells.get(up)
                if state is not None and state.defined_at > ran:
                    out.add(node_id)
                    break
        return out

    # -- running -------------------------------------------------------------------------
    def select(self, targets: Iterable[str] | None = None, *,
               downstream: bool = False) -> list[str]:
        """The nodes a run needs: ``targets`` and their upstream (all nodes for ``None``);
        with ``downstream``, also every node downstream of the targets (and what those
        need).

        Raises:
            WorkflowError: an unknown target (the message lists the nodes).
        """
        wf = self.workflow()
        if targets is None:
            return [n.id for n in wf.nodes]
        targets = list(targets)
        for t in targets:
            if t not in wf:
                known = ", ".join(self.cells) or "none yet"
                raise WorkflowError(f"no skill cell defines node {t!r} in this kernel (nodes: "
                                    f"{known}); run its %%skill cell first")
        chosen = wf.downstream(targets) if downstream else set(targets)
        need = wf.upstream(chosen)
        return [n.id for n in wf.nodes if n.id in need]

    def run(self, targets: Iterable[str] | None = None, *, downstream: bool = False,
            trace: bool | None = None, on_event: Any = None, isolate: str | None = None,
            executor: str = "threads", scheduler: str | None = None) -> RunResult:
        """Run ``targets`` (and what they need; see :meth:`select`) with the engine.

        ``isolate``: ``untrusted`` (default) | ``all`` | ``none`` for this run;
        ``executor``: ``threads`` (this kernel) | ``processes`` | ``dask`` — the executor is
        started once and kept for the kernel's lifetime, sharing the engine's cache.

        Raises:
            WorkflowInvalid: the selected sub-workflow fails validation (nothing ran).
            WorkflowError: an unknown target or an invalid inline skill.
        """
        nodes = self.select(targets, downstream=downstream)
        wf = self.workflow(nodes)
        # Edges whose source is not selected only exist for nodes that are not defined
        # yet; keep them so validation names the missing node.
        # The cells' inline skills are code the user just ran in this kernel: trusted.
        # Threads run in the caller's thread (output goes to the cell, Ctrl-C works between
        # nodes); processes/dask executors are started once and kept for the kernel.
        result = self.workbench.run(wf, executor=executor, scheduler=scheduler,
                                    main_thread=True, trace=trace, on_event=on_event,
                                    isolate=isolate, trusted_inline=True)
        now = self._tick()
        for node_id, r in result.nodes.items():
            self.results[node_id] = r
            self.ran_at[node_id] = now
        self.last_run = result
        if result.trace:
            self.last_trace = result.trace
        return result

    def rows(self) -> list[dict[str, Any]]:
        """One status row per defined node, for :class:`~.display.RunView` (outputs of
        ``secret: true`` ports masked, everything redacted)."""
        from llmos_jupyter._notebook.display import summarize
        from llmos_jupyter._redact import redact, redact_ports

        rows = []
        for node_id, state in self.cells.items():
            r = self.results.get(node_id)
            status = self.status(node_id)
            if r is None:
                detail = ""
            elif not r.ok:
                detail = redact(r.error or "")
            else:
                skill = self.library.get(r.skill_id) if r.skill_id in self.library else None
                shown = redact_ports(skill, r.outputs, side="outputs")
                detail = ", ".join(f"{k}={summarize(v, width=30)}" for k, v in shown.items())
            rows.append({"node": node_id, "skill": state.cell.skill_id if not state.cell.inline
                         else _inline_id(state.cell), "status": status,
                         "ms": r.duration_ms if r is not None and r.status == "completed" else None,
                         "detail": detail[:160]})
        return rows


def _inline_id(cell: SkillCell) -> str:
    try:
        return cell.skill.skill_id
    except WorkflowError:
        return "(invalid)"


def notebook_name(user_ns: Mapping[str, Any]) -> str | None:
    """The notebook's file name when the kernel knows it (``__session__`` is set by
    ipykernel from the server's session, ``__vsc_ipynb_file__`` by VS Code)."""
    for key in ("__session__", "__vsc_ipynb_file__"):
        value = user_ns.get(key)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return Path(value).name
    return None
