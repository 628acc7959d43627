"""What the JupyterLab extension asks a kernel for: the library, the runs, a workflow run.

The extension has no server part (it must work unchanged in JupyterLite, where there is
no server to extend): it starts a small *library kernel* and executes one of these
functions in it, reading the JSON it prints. Each returns a JSON string; each is cheap
to import (no numpy, no IPython).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from llmos_jupyter._engine.result import jsonable
from llmos_jupyter._paths import traces_dir
from llmos_jupyter._skills.library import SkillLibrary

__all__ = ["export_notebook_json", "notebook_graph_json", "read_trace_json",
           "rewrite_cells_json", "run_workflow_json", "runs_json", "skills_json"]


def skills_json() -> str:
    """Every skill of the default volumes (system < team < user), the winner of each id."""
    library = SkillLibrary()
    return json.dumps({"skills": [library.summary(s) for s in library.list()],
                       "errors": [str(e) for e in library.errors]})


def _run(path: Path) -> dict[str, Any] | None:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    trace = (nb.get("metadata") or {}).get("llmos", {}).get("trace")
    if not isinstance(trace, dict):
        return None
    wf = trace.get("workflow") or {}
    nodes = trace.get("nodes") or {}
    params = {n: r.get("params") or {} for n, r in nodes.items() if r.get("params")}
    return {
        "path": str(path),
        "name": path.name,
        "run_id": trace.get("run_id"),
        "workflow": wf.get("name") or wf.get("id"),
        "status": trace.get("status"),
        "started_at": trace.get("started_at"),
        "duration_ms": trace.get("duration_ms"),
        "nodes": {n: r.get("status") for n, r in nodes.items()},
        "params": jsonable(params),
        "overrides": trace.get("overrides") or {},
    }


def runs_json(limit: int = 200) -> str:
    """The trace notebooks of the user volume, newest first, with status, time, params."""
    folder = traces_dir()
    files = sorted(folder.glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True) \
        if folder.is_dir() else []
    runs = [r for r in (_run(p) for p in files[:limit]) if r is not None]
    return json.dumps({"folder": str(folder), "runs": runs})


def read_trace_json(path: str) -> str:
    """A trace notebook's content and, when it lies under the kernel's working directory
    (the server's root), its path relative to it (so it can be opened in place)."""
    p = Path(path).resolve()
    try:
        rel: str | None = p.relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        rel = None
    return json.dumps({"relative": rel, "name": p.name,
                       "content": json.loads(p.read_text(encoding="utf-8"))})


def run_workflow_json(text: str) -> str:
    """Run a workflow given as JSON text; the per-node statuses, a message and the trace."""
    from llmos_jupyter._api import run
    from llmos_jupyter._exceptions import LlmosError
    from llmos_jupyter._workflow.model import Workflow

    try:
        result = run(Workflow.from_json(text))
    except LlmosError as e:
        return json.dumps({"status": "invalid", "message": str(e), "statuses": {}})
    statuses = {n: {"status": r.status, "elapsed_ms": round(r.duration_ms, 3),
                    **({"error": r.error} if r.error else {})}
                for n, r in result.nodes.items()}
    message = f"{result.status} in {result.duration_ms:.0f} ms"
    if result.trace:
        message += f" · trace {result.trace}"
    return json.dumps({"status": result.status, "message": message, "statuses": statuses,
                       "trace": result.trace})


def export_notebook_json(text: str) -> str:
    """The ``%%skill`` notebook of a workflow given as JSON text (nbformat v4 JSON)."""
    import nbformat

    from llmos_jupyter._notebook.mapping import notebook_from_workflow
    from llmos_jupyter._workflow.model import Workflow

    return nbformat.writes(notebook_from_workflow(Workflow.from_json(text)))


# -- the sidebar canvas of the active notebook (issue 5) --------------------------------------
# The notebook's graph and the cell edits of its canvas are computed here, by the same
# parser the kernel's %%skill magic uses, so the sidebar never disagrees with a run.
def notebook_graph_json(nb: dict[str, Any]) -> str:
    """The graph of a notebook's skill cells (``nb``: nbformat v4 JSON, outputs not needed).

    Returns ``{"workflow", "cells": {node: cell id}, "problems", "expressions"}`` (see
    :func:`llmos_jupyter._notebook.mapping.notebook_graph`); a notebook that cannot be
    read at all gives an empty workflow and one problem.
    """
    from llmos_jupyter._exceptions import LlmosError
    from llmos_jupyter._notebook.mapping import notebook_graph

    try:
        return json.dumps(jsonable(notebook_graph(nb).to_dict()))
    except (LlmosError, AttributeError, TypeError, ValueError) as exc:
        return json.dumps({"workflow": {"nodes": [], "edges": []}, "cells": {},
                           "problems": [{"cell": None, "node": None,
                                         "message": f"cannot read the notebook: {exc}"}],
                           "expressions": {}})


def rewrite_cells_json(edits: list[dict[str, Any]]) -> str:
    """New sources of skill cells for canvas edits, one per edit, in order.

    Each edit is ``{"source", "node_id"?, "wires"?: ["PORT=NODE.PORT", ...], "params"?:
    {name: value}, "remove"?: [name, ...]}`` (see
    :func:`llmos_jupyter._notebook.cells.rewrite_skill_cell`). Returns ``{"sources":
    [text | null], "errors": [message | null]}``: an edit that cannot be applied keeps
    its cell (``null``) and says why, naming the node.
    """
    from llmos_jupyter._exceptions import WorkflowError
    from llmos_jupyter._notebook.cells import Wire, rewrite_skill_cell

    sources: list[str | None] = []
    errors: list[str | None] = []
    for edit in edits:
        try:
            wires = None
            if edit.get("wires") is not None:
                wires = []
                for w in edit["wires"]:
                    port, _, src = str(w).partition("=")
                    node, _, src_port = src.rpartition(".")
                    wires.append(Wire(port, node, src_port))
            sources.append(rewrite_skill_cell(
                str(edit["source"]), node_id=edit.get("node_id"), wires=wires,
                params=edit.get("params"), remove=tuple(edit.get("remove") or ())))
            errors.append(None)
        except (WorkflowError, KeyError, TypeError, ValueError) as exc:
            sources.append(None)
            errors.append(getattr(exc, "message", None) or str(exc))
    return json.dumps({"sources": sources, "errors": errors})
