"""Sub-workflows: a workflow's declared interface and the files control nodes call.

A workflow may declare what it takes and gives when used as one node::

    "inputs":  {"bond_length": "ham.bond_length"},
    "outputs": {"energy": "vqe.energy"}

Names follow the node-id grammar; each value is ``"<node>.<port>"`` of the same workflow
(an input port for ``inputs``, an output port for ``outputs``). The control skills
``subworkflow``, ``map`` and ``loop`` name another workflow file by a path relative to
the calling workflow's file (or to the working directory for a workflow built in
code). Resolution and the interface's shape live here (pure: no engine); the port types
come from validation (:mod:`llmos_jupyter._workflow.validate`), which knows the skills.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._ids import is_valid_id
from llmos_jupyter._workflow.model import Workflow

__all__ = ["Interface", "interface", "resolve_path"]

Interface = dict[str, tuple[str, str]]
"""``{name: (node id, port)}`` of a workflow's declared inputs or outputs."""


def interface(wf: Workflow) -> tuple[Interface, Interface]:
    """The declared ``(inputs, outputs)`` of ``wf`` (empty dicts when none declared).

    Raises:
        WorkflowError: ``inputs``/``outputs`` is not an object of ``name: "node.port"``
            strings, or a name is outside the id grammar (the message names the key).
    """
    out: list[Interface] = []
    for key in ("inputs", "outputs"):
        raw = wf.extra.get(key, {})
        if not isinstance(raw, Mapping):
            raise WorkflowError(f"the workflow's {key!r} must map names to \"node.port\" "
                                f"strings, not {type(raw).__name__}", path=wf.path)
        decl: Interface = {}
        for name, ref in raw.items():
            if not (isinstance(name, str) and is_valid_id("node", name)):
                raise WorkflowError(f"{key}: {name!r} is not a valid port name (letters, "
                                    "digits, '-', '_', '.')", path=wf.path)
            node, dot, port = ref.partition(".") if isinstance(ref, str) else ("", "", "")
            if not (dot and node and port):
                raise WorkflowError(f"{key}.{name}: expected \"node.port\", got {ref!r}",
                                    path=wf.path)
            decl[name] = (node, port)
        out.append(decl)
    return out[0], out[1]


def resolve_path(parent: Workflow, ref: str) -> Path:
    """The file a control node's ``workflow`` input names: relative to ``parent``'s file
    (its folder), or to the working directory when ``parent`` has no file. Absolute
    paths are kept. Returns a resolved absolute path (symlinks followed, so a cycle
    through two spellings of one file is still one file)."""
    path = Path(ref).expanduser()
    if not path.is_absolute():
        base = parent.path.parent if parent.path is not None else Path.cwd()
        path = base / path
    return path.resolve()


def load_subflow(parent: Workflow, ref: str) -> Workflow:
    """Load the workflow ``ref`` names (see :func:`resolve_path`).

    Raises:
        WorkflowError: missing, unreadable or malformed file (the path is named).
    """
    if not isinstance(ref, str) or not ref.strip():
        raise WorkflowError("the 'workflow' input must be the path of a *.workflow.json file")
    path = resolve_path(parent, ref)
    if not path.is_file():
        raise WorkflowError(f"sub-workflow {ref!r} not found ({path})", path=parent.path)
    return Workflow.load(path)
