"""llmos-jupyter: skills as typed Markdown files, run as workflows with trace notebooks.

The public API is what this module exports; everything in ``_``-modules is private::

    from llmos_jupyter import SkillLibrary, Workflow, run

    result = run(Workflow.load("notebooks/h2-vqe.workflow.json"))
    result["vqe"].outputs["eigenvalue"]     # Hartree
    result.trace                            # the trace notebook's path

Nothing heavy is imported here: numpy, scipy and matplotlib load only inside the
skills that declare them, so the package also runs in Pyodide.
"""

from typing import Any as _Any  # private: the namespace is exactly __all__

# The core API, and the errors: one tree under LlmosError (mapped in
# llmos_jupyter._exceptions), every class catchable as llmos_jupyter.X without a private
# import.
from llmos_jupyter._api import default_library, run, validate
from llmos_jupyter._engine.engine import Engine, NodeTimeout, RunHandle
from llmos_jupyter._engine.events import Event
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._exceptions import (
    LlmosError,
    RequirementMissing,
    SkillError,
    SkillNotFound,
    WorkflowError,
    WorkflowInvalid,
    WorkflowProblem,
)
from llmos_jupyter._executors.errors import ExecutorUnavailable
from llmos_jupyter._isolation.errors import (
    IsolationError,
    NodeCrashed,
    SandboxUnavailable,
    SkillRaised,
)
from llmos_jupyter._llm.errors import (
    AuthenticationFailed,
    LlmError,
    LlmNotInstalled,
    LlmUnavailable,
    MissingApiKey,
    RequestRefused,
)
from llmos_jupyter._safe_write import UnsafeWrite
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.parser import load_skill, parse_skill
from llmos_jupyter._skills.ports import Port
from llmos_jupyter._trust import TrustError
from llmos_jupyter._version import __version__
from llmos_jupyter._volumes.errors import (
    RevisionNotFound,
    VolumeError,
    VolumeGitError,
    VolumeLocked,
    VolumeReadOnly,
)
from llmos_jupyter._widget.browser_runtime import BrowserSkillError, BrowserTimeout
from llmos_jupyter._workflow.model import Edge, Node, Workflow

__all__ = [
    "AuthenticationFailed",
    "BrowserSkillError",
    "BrowserTimeout",
    "Canvas",
    "Edge",
    "Engine",
    "Event",
    "ExecutorUnavailable",
    "IsolationError",
    "LlmError",
    "LlmNotInstalled",
    "LlmUnavailable",
    "LlmosError",
    "MissingApiKey",
    "Node",
    "NodeCrashed",
    "NodeResult",
    "NodeTimeout",
    "Port",
    "RequestRefused",
    "RequirementMissing",
    "RevisionNotFound",
    "RunHandle",
    "RunResult",
    "SandboxUnavailable",
    "Skill",
    "SkillError",
    "SkillLibrary",
    "SkillNotFound",
    "SkillRaised",
    "TrustError",
    "UnsafeWrite",
    "VolumeError",
    "VolumeGitError",
    "VolumeLocked",
    "VolumeReadOnly",
    "Workbench",
    "Workflow",
    "WorkflowError",
    "WorkflowInvalid",
    "WorkflowProblem",
    "__version__",
    "default_library",
    "load_ipython_extension",
    "load_skill",
    "parse_skill",
    "run",
    "validate",
]



def load_ipython_extension(ipython: _Any) -> None:
    """``%load_ext llmos_jupyter``: register the ``%%skill`` / ``%skill`` / ``%workflow``
    and ``%%llm`` / ``%llm`` magics (IPython is imported only here)."""
    from llmos_jupyter._llm.magics import register as register_llm
    from llmos_jupyter._magics import load_ipython_extension as load

    load(ipython)
    register_llm(ipython)  # %%llm / %llm; works (with a clear message) without anthropic


# Exports whose import is heavy load on first use (the canvas needs anywidget).
_LAZY = {"Canvas": "llmos_jupyter._widget.canvas", "Workbench": "llmos_jupyter._workbench"}


def __getattr__(name: str) -> _Any:
    """Lazy exports: ``Canvas`` imports anywidget only when first used; ``Workbench`` (the
    kernel's one service) loads its engine and session modules on first use."""
    if name in _LAZY:
        import importlib

        obj = getattr(importlib.import_module(_LAZY[name]), name)
        obj.__module__ = "llmos_jupyter"
        return obj
    raise AttributeError(f"module 'llmos_jupyter' has no attribute {name!r}")


# Users see llmos_jupyter.Workflow, not llmos_jupyter._workflow.model.Workflow.
for _name in __all__:
    if _name in _LAZY:
        continue
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, str):
        try:
            _obj.__module__ = "llmos_jupyter"
        except (AttributeError, TypeError):
            pass
del _name, _obj


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension in a development install
    (a wheel installs it into ``share/jupyter/labextensions/llmos-jupyter``)."""
    return [{"src": "labextension", "dest": "llmos-jupyter"}]
