"""Every error llmos-jupyter raises on purpose: one tree, exported from ``llmos_jupyter``.

The classes defined here are the core ones; the others live beside the code that raises
them and are re-exported by the package, so every one is catchable as
``llmos_jupyter.X`` without a private import::

    LlmosError
     ├── SkillError              a skill file is invalid (file, line, field)
     ├── SkillNotFound           no skill with that id in the library (with suggestions)
     ├── WorkflowError           a workflow file cannot be read at all (file, line)
     ├── WorkflowInvalid         a workflow fails validation (every problem listed)
     ├── RequirementMissing      a skill needs a Python package that is not installed
     ├── VolumeError             a volume operation failed (_volumes/errors.py)
     │    ├── VolumeReadOnly, RevisionNotFound, VolumeLocked, VolumeGitError
     ├── LlmError                the LLM layer (_llm/errors.py; messages redacted)
     │    ├── LlmNotInstalled, MissingApiKey, AuthenticationFailed, RequestRefused,
     │    └── LlmUnavailable
     ├── IsolationError          an isolated node failed (_isolation/errors.py)
     │    ├── SkillRaised, NodeCrashed, SandboxUnavailable (no sandbox on this machine)
     ├── ExecutorUnavailable     the executor cannot run here (_executors/errors.py)
     ├── NodeTimeout             a node ran past the engine's node_timeout
     ├── BrowserSkillError       a javascript/threejs node failed in the browser
     ├── BrowserTimeout          a browser node did not answer in time
     ├── TrustError              the trust store cannot be read or written
     └── UnsafeWrite             a write outside its folder or through a link was refused

A failing *node* is not an exception: its error is recorded in the run result, its
dependents are skipped and every other branch still runs. Catch ``LlmosError`` to handle
all user-facing mistakes::

    try:
        result = run(Workflow.load("h2.workflow.json"))
    except LlmosError as exc:
        print(exc)            # short and precise; no internal traceback needed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LlmosError",
    "RequirementMissing",
    "SkillError",
    "SkillNotFound",
    "WorkflowError",
    "WorkflowInvalid",
    "WorkflowProblem",
]


class LlmosError(Exception):
    """Base class of every error raised by llmos-jupyter on purpose."""


class SkillError(LlmosError):
    """A skill file could not be parsed or failed validation."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.path or "<skill>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.message}"


class SkillNotFound(LlmosError, KeyError):
    """No skill with this id is loaded in the library."""

    def __init__(self, skill_id: str, *, suggestions: Sequence[str] = ()) -> None:
        self.skill_id = skill_id
        self.suggestions = list(suggestions)
        super().__init__(skill_id)

    def __str__(self) -> str:
        msg = f"unknown skill {self.skill_id!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        return msg


class WorkflowError(LlmosError):
    """A workflow file could not be read (missing, not JSON, wrong shape)."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = self.path + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class WorkflowProblem:
    """One validation problem, located at a node (and port) or an edge."""

    code: str
    """Machine-readable kind: ``unknown-skill``, ``duplicate-node``, ``missing-node``,
    ``missing-port``, ``cycle``, ``type-mismatch``, ``missing-input``, ``duplicate-input``,
    ``bad-param``, ``not-executable``, ``duplicate-edge``, ``invalid-workflow-id``,
    ``invalid-node-id``, ``invalid-skill-id``, ``invalid-edge-id`` (the id grammar of
    ``_ids.py``), ``inline-shadows-library`` (an inline skill would replace a library
    skill of the same id with other code)."""
    message: str
    node: str | None = None
    port: str | None = None
    edge: str | None = None

    def __str__(self) -> str:
        where = []
        if self.node is not None:
            where.append(f"node {self.node!r}")
        if self.port is not None:
            where.append(f"port {self.port!r}")
        if self.edge is not None:
            where.append(f"edge {self.edge!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class WorkflowInvalid(LlmosError):
    """The workflow failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[WorkflowProblem], *, name: str | None = None) -> None:
        self.problems = list(problems)
        self.name = name
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = f"workflow {self.name!r} is invalid" if self.name else "workflow is invalid"
        n = len(self.problems)
        lines = [f"{head} ({n} problem{'s' if n != 1 else ''}):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class RequirementMissing(LlmosError):
    """A skill declares a Python package in ``requires`` that cannot be imported here."""

    def __init__(self, skill_id: str, package: str, *, hint: str | None = None) -> None:
        self.skill_id = skill_id
        self.package = package
        self.hint = hint or f"pip install {package}"
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return (
            f"skill {self.skill_id!r} requires {self.package}, which is not available "
            f"here ({self.hint})"
        )
