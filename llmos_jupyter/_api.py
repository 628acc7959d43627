"""The one-call entry points: ``run`` and ``validate`` with a shared default engine.

Every surface (CLI, magics, canvas) goes through these or through an explicit
:class:`Engine`; the default engine is kept per library so its cache lives as long as
the kernel: running again after changing one parameter re-runs only what changed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._engine.result import RunResult
from llmos_jupyter._exceptions import WorkflowProblem
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._workflow import validate as _validate
from llmos_jupyter._workflow.model import Workflow

__all__ = ["default_engine", "default_library", "forget_defaults", "run", "validate"]

_lock = threading.Lock()
_library: SkillLibrary | None = None
_engines: dict[int, tuple[SkillLibrary, Engine]] = {}


def default_library() -> SkillLibrary:
    """The library of ``$LLMOS_HOME`` loaded once per process (``reload()`` to refresh)."""
    global _library
    with _lock:
        if _library is None:
            _library = SkillLibrary()
        return _library


def forget_defaults() -> None:
    """Drop the process' default library and engines (the next call loads ``$LLMOS_HOME``
    again), e.g. after ``LLMOS_HOME`` changed."""
    global _library
    with _lock:
        _library = None
        _engines.clear()


def default_engine(library: SkillLibrary | None = None) -> Engine:
    """The process-wide engine for ``library`` (created on first use)."""
    library = library or default_library()
    with _lock:
        entry = _engines.get(id(library))
        if entry is None or entry[0] is not library:
            entry = (library, Engine(library))
            _engines[id(library)] = entry
        return entry[1]


def run(
    workflow: Workflow | str | Path,
    overrides: Mapping[str, Any] | None = None,
    trace: bool = True,
    library: SkillLibrary | None = None,
    **kwargs: Any,
) -> RunResult:
    """Run a workflow with the default engine of ``library``.

    Args:
        workflow: a :class:`Workflow` or a ``*.workflow.json`` path.
        overrides: ``{"node": {"port": value}}`` or ``{"node.port": value}``.
        trace: write a trace notebook into ``<user volume>/traces``.
        library: the skills to use (default: system + team + user volumes).
        **kwargs: passed to :meth:`Engine.run` (``targets``, ``cancel``, ``on_event``).

    Returns:
        RunResult: per-node status, outputs, durations, errors and the trace path.

    Raises:
        WorkflowInvalid: every validation problem, before any node runs.
        WorkflowError: the workflow file cannot be read.
    """
    return default_engine(library).run(workflow, overrides, trace=trace, **kwargs)


def validate(
    workflow: Workflow | str | Path,
    library: SkillLibrary | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> list[WorkflowProblem]:
    """Every problem of ``workflow`` (an empty list when it is valid)."""
    if not isinstance(workflow, Workflow):
        workflow = Workflow.load(workflow)
    return _validate.validate(workflow, library or default_library(), overrides)
