"""How an isolated node fails.

Hierarchy::

    LlmosError
     └── IsolationError        base: ``.reason`` (one line), ``.log``, ``.traceback``
          ├── SkillRaised      the skill's code raised (``ZeroDivisionError: ...``)
          ├── NodeCrashed      the node process died or was killed (``segmentation fault``,
          │    │               ``exit status 3``, ``killed: memory limit 2 GiB``, ...)
          │    ├── NodeTimedOut     ``timed out after 5 s`` (its processes were killed)
          │    └── NodeCancelled    ``cancelled`` (its processes were killed)
          └── SandboxUnavailable    ``sandbox="bwrap"`` was asked for but cannot start
"""

from __future__ import annotations

from llmos_jupyter._exceptions import LlmosError

__all__ = ["IsolationError", "NodeCancelled", "NodeCrashed", "NodeTimedOut",
           "SandboxUnavailable", "SkillRaised"]


class IsolationError(LlmosError):
    """An isolated node failed; ``str(exc)`` is its named ``reason``.

    Attributes:
        reason: one line, e.g. ``segmentation fault`` or ``ValueError: bad input``.
        log: what the node printed on stdout/stderr before failing (its tail, ≤ 1 MiB).
        traceback: the skill's own frames (``""`` when the process died without one).
    """

    def __init__(self, reason: str, *, log: str = "", traceback: str = "") -> None:
        self.reason = reason
        self.log = log
        self.traceback = traceback
        super().__init__(reason)


class SkillRaised(IsolationError):
    """The skill's code raised an exception inside the sandbox (``.error_type`` is its
    class name there, e.g. ``ZeroDivisionError``)."""

    def __init__(self, reason: str, *, error_type: str, log: str = "",
                 traceback: str = "") -> None:
        self.error_type = error_type
        super().__init__(reason, log=log, traceback=traceback)


class NodeCrashed(IsolationError):
    """The node's process died without returning outputs: a signal, an exit, a limit."""


class NodeTimedOut(NodeCrashed):
    """The node ran past its wall-clock limit; its processes were killed."""


class NodeCancelled(NodeCrashed):
    """The run was cancelled while the node ran; its processes were killed."""


class SandboxUnavailable(IsolationError):
    """bubblewrap was required (``sandbox="bwrap"``) but is missing or failed to start."""
