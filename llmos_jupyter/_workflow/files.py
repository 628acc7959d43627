"""Workflow files: reading and writing ``*.workflow.json`` and notebooks (``*.ipynb``).

The workflow model (:mod:`llmos_jupyter._workflow.model`) is pure data: it parses and
builds JSON but never touches a file format beyond that. This module is the one loader:
it dispatches on the file's suffix, to strict JSON
(:func:`~llmos_jupyter._workflow.model.loads_strict`)
or to the notebook mapping (:mod:`llmos_jupyter._notebook.mapping`, a notebook's
``%%skill`` cells are the workflow). The mapping belongs to an upper layer; it is
imported inside the functions that need it (the one allowed upward import of
``_workflow``, listed in ``tests/test_layers.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmos_jupyter._atomic import atomic_write_text
from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._workflow.model import MAX_BYTES, Workflow

__all__ = ["load_workflow", "save_workflow"]


def load_workflow(path: str | Path) -> Workflow:
    """Read a ``*.workflow.json`` file, or a notebook (``*.ipynb``) whose ``%%skill``
    cells are the workflow.

    JSON files: UTF-8 (a leading BOM is ignored), at most
    :data:`~llmos_jupyter._workflow.model.MAX_BYTES`, parsed strictly.

    Raises:
        WorkflowError: missing/unreadable file, not UTF-8, too large, invalid JSON (with
            its line), wrong shape, or an invalid skill cell in a notebook.
    """
    path = Path(path)
    if path.suffix == ".ipynb":
        from llmos_jupyter._notebook.mapping import read_notebook_workflow

        return read_notebook_workflow(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise WorkflowError(f"cannot read workflow: {exc.strerror}", path=path) from None
    if len(data) > MAX_BYTES:
        raise WorkflowError(f"the file is larger than {MAX_BYTES // 2**20} MiB", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise WorkflowError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start} ({exc.reason})", path=path, line=line) from None
    return Workflow.from_json(text.removeprefix("\ufeff"), path=path)


def save_workflow(workflow: Workflow, path: str | Path | None = None) -> Path:
    """Write ``workflow`` atomically (temporary file + rename); returns the path and sets
    ``workflow.path`` to it.

    A path ending in ``.ipynb`` gets a real notebook whose ``%%skill`` cells are the
    workflow (:func:`llmos_jupyter._notebook.mapping.notebook_from_workflow`); any other
    path gets the JSON of :meth:`Workflow.to_json`. Key-shaped strings and known secrets
    in the workflow (a pasted API key in a param) are written as ``[REDACTED]``
    (:mod:`llmos_jupyter._redact`); the workflow in memory keeps them.

    Raises:
        WorkflowError: no path (and the workflow was not loaded from a file), a NaN or
            infinite value (JSON has neither), or the notebook cannot be built from this
            workflow (an id outside the grammar).
        OSError: the file cannot be written.
    """
    target = Path(path) if path is not None else workflow.path
    if target is None:
        raise WorkflowError("no path given and the workflow was not loaded from a file")
    data = workflow.to_dict()
    clean = _redacted_data(data)
    if target.suffix == ".ipynb":
        from llmos_jupyter._notebook.mapping import write_notebook

        wf = workflow if clean is data else Workflow.from_dict(clean, path=workflow.path)
        write_notebook(wf, target)
    else:
        try:
            text = json.dumps(clean, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except ValueError:  # load_workflow refuses NaN/Infinity: never write a file it refuses
            raise WorkflowError("cannot save: a parameter is NaN or infinite, which JSON "
                                "cannot hold", path=target) from None
        atomic_write_text(target, text)
    workflow.path = target
    return target


def _redacted_data(data: Any) -> Any:
    """``data`` itself when no string in it (keys included) holds a secret, else a copy
    with every string redacted. One ``redact`` call over the distinct strings joined, so
    saving a 5,000-node workflow costs one short scan, not one per string."""
    from llmos_jupyter._redact import redact, redact_obj

    seen: set[str] = set()
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            seen.add(v)
        elif isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    joined = "\x00".join(seen)
    return data if redact(joined) == joined else redact_obj(data)
