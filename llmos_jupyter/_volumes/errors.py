"""Errors of the git-backed volumes.

Hierarchy (all under :class:`llmos_jupyter.LlmosError`)::

    LlmosError
     └── VolumeError           a volume operation failed (not a repository, bad path)
          ├── VolumeReadOnly   a write to a volume this user may not change
          ├── RevisionNotFound a revision (commit id, HEAD~N) that the volume does not have
          ├── VolumeLocked     another process kept the volume (or its git lock) too long
          └── VolumeGitError   the git repository failed an operation (dulwich's error,
                               worded; the repository is named)
"""

from __future__ import annotations

from llmos_jupyter._exceptions import LlmosError

__all__ = ["RevisionNotFound", "VolumeError", "VolumeGitError", "VolumeLocked", "VolumeReadOnly"]


class VolumeError(LlmosError):
    """A volume operation failed (the message names the volume and what was asked)."""

    def __init__(self, message: str, *, volume: str | None = None) -> None:
        self.message = message
        self.volume = volume
        super().__init__(message)


class VolumeReadOnly(VolumeError):
    """A write was refused: the system volume is read-only, the team volume unless configured."""

    def __init__(self, volume: str, *, path: str | None = None, hint: str = "") -> None:
        self.path = path
        what = f" ({path})" if path else ""
        msg = f"the {volume} volume is read-only; refusing to write{what}"
        super().__init__(msg + (f". {hint}" if hint else ""), volume=volume)


class RevisionNotFound(VolumeError):
    """The volume's history has no revision of that name."""

    def __init__(self, rev: str, *, volume: str | None = None) -> None:
        self.rev = rev
        text = f"no revision {rev!r} in the {volume or ''} volume's history"
        super().__init__(text.replace("  ", " "), volume=volume)


class VolumeLocked(VolumeError):
    """A write waited too long: another process holds the volume's write lock, or a git
    process (not llmos) holds a lock file in its ``.git`` folder."""

    def __init__(self, message: str, *, volume: str | None = None, path: str | None = None) -> None:
        self.path = path
        super().__init__(message, volume=volume)


class VolumeGitError(VolumeError):
    """The volume's git repository could not do what was asked (a damaged or foreign
    repository, a full disk); ``cause`` is the underlying exception's text."""

    def __init__(self, message: str, *, volume: str | None = None, cause: str = "") -> None:
        self.cause = cause
        super().__init__(message, volume=volume)
