"""Workflow versions: workflows saved through llmos are commits of the user volume.

A workflow saved with :func:`save_workflow_version` (``llmos workflow save FILE``) is
written to ``<user volume>/workflows/<id>.workflow.json`` and committed, like a skill
written with ``%skill save``: the volume is a git repository (:mod:`llmos_jupyter._volumes`,
dulwich), so every saved state can be listed (:func:`workflow_log`, ``llmos workflow log
ID``), read back (:func:`workflow_at`) and restored (:func:`restore_workflow`, ``llmos
workflow restore ID REV``): a restore is a *new* commit holding the old text, so history
is never rewritten and a restore can itself be undone.

The file is the workflow's JSON as :meth:`Workflow.to_json` writes it (two-space indent,
the loaded key order, ``tests`` and other extra fields kept), with key-shaped strings and
known secrets redacted (:mod:`llmos_jupyter._redact`): a pasted API key never enters the
history. Writes take the volume's lock (concurrent saves all land, one commit each).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._workflow.model import Workflow

__all__ = ["WORKFLOWS_DIR", "SavedWorkflow", "restore_workflow", "save_workflow_version",
           "workflow_at", "workflow_log", "workflow_relpath"]

WORKFLOWS_DIR = "workflows"
"""The user volume's folder of saved workflows."""
SUFFIX = ".workflow.json"


@dataclass(frozen=True)
class SavedWorkflow:
    """Where a save went: the file, its path in the volume, and the commit (``None`` when
    the volume already held exactly this text)."""

    workflow_id: str
    path: Path
    relpath: str
    revision: Any


def _volume(volume: Any = None, home: str | Path | None = None) -> Any:
    from llmos_jupyter._volumes.volume import Volume

    return volume if volume is not None else Volume("user", home)


def workflow_relpath(workflow_id: str) -> str:
    """``workflows/<id>.workflow.json`` for a valid workflow id.

    Raises:
        WorkflowError: the id is not in the workflow id grammar (:mod:`llmos_jupyter._ids`),
            which also keeps the path inside the folder.
    """
    from llmos_jupyter._ids import id_problem

    problem = id_problem("workflow", workflow_id)
    if problem or workflow_id in (".", ".."):
        raise WorkflowError(f"cannot version workflow {workflow_id!r}: "
                            f"{problem or 'not a workflow id'}")
    return f"{WORKFLOWS_DIR}/{workflow_id}{SUFFIX}"


def workflow_text(workflow: Workflow) -> str:
    """The text a saved version holds (redacted JSON, as :meth:`Workflow.save` writes).

    Raises:
        WorkflowError: a NaN or infinite value (JSON has neither).
    """
    from llmos_jupyter._redact import redact_obj

    try:
        return json.dumps(redact_obj(workflow.to_dict()), indent=2, ensure_ascii=False,
                          allow_nan=False) + "\n"
    except ValueError:
        raise WorkflowError("cannot save: a parameter is NaN or infinite, which JSON cannot "
                            "hold", path=workflow.path) from None


def save_workflow_version(workflow: Workflow | str | Path, *, message: str | None = None,
                          volume: Any = None, home: str | Path | None = None) -> SavedWorkflow:
    """Write ``workflow`` (a :class:`Workflow` or a ``*.workflow.json`` / notebook path) to
    the user volume's ``workflows/<id>.workflow.json`` and commit it.

    Args:
        message: the commit message (default ``Save workflow <id>``).
        volume: a :class:`~llmos_jupyter._volumes.volume.Volume` (default: the user volume
            of ``home`` / ``$LLMOS_HOME``).

    Raises:
        WorkflowError: unreadable file, an id outside the grammar, NaN/Infinity.
        VolumeReadOnly, VolumeLocked, VolumeGitError: as for ``Volume.write_text``.
    """
    if not isinstance(workflow, Workflow):
        workflow = Workflow.load(workflow)
    rel = workflow_relpath(workflow.id)
    vol = _volume(volume, home)
    text = workflow_text(workflow)
    rev = vol.write_text(rel, text, message=message or f"Save workflow {workflow.id}")
    return SavedWorkflow(workflow.id, vol.root / rel, rel, rev)


def workflow_log(workflow_id: str, *, limit: int | None = None, volume: Any = None,
                 home: str | Path | None = None) -> list[Any]:
    """The commits that changed workflow ``workflow_id``, newest first (``Revision``s:
    ``id``, ``short``, ``author``, ``time``, ``message``, ``paths``); ``[]`` when it was
    never saved."""
    return _volume(volume, home).log(path=workflow_relpath(workflow_id), limit=limit)


def workflow_at(workflow_id: str, rev: str = "HEAD", *, volume: Any = None,
                home: str | Path | None = None) -> str:
    """The text of workflow ``workflow_id`` at revision ``rev`` (``HEAD``, ``HEAD~2``, a
    (short) commit id).

    Raises:
        RevisionNotFound: unknown revision.
        VolumeError: the workflow did not exist at that revision, or there is no history.
    """
    return _volume(volume, home).show(workflow_relpath(workflow_id), rev)


def restore_workflow(workflow_id: str, rev: str, *, volume: Any = None,
                     home: str | Path | None = None) -> Any:
    """Put workflow ``workflow_id`` back as it was at ``rev``: a new commit (history is
    never rewritten). Works for a workflow deleted since. Returns the commit, or ``None``
    when the file already has that text.

    Raises:
        RevisionNotFound, VolumeError: as for :func:`workflow_at`.
        VolumeReadOnly, VolumeLocked, VolumeGitError: as for ``Volume.write_text``.
    """
    vol = _volume(volume, home)
    rel = workflow_relpath(workflow_id)
    sha = vol.resolve(rev).decode()
    text = vol.show(rel, sha)
    return vol.write_text(rel, text, message=f"Restore workflow {workflow_id} as of "
                          f"{sha[:7]}\n\n{rel} set to its content at revision {sha}.")
