"""One grammar for the ids a workflow carries: node, skill, edge and workflow ids.

This module is the grammar's one home: the contract (:mod:`llmos_jupyter._contract`,
``NodeId`` … ``WorkflowId``) takes these patterns and limits, and the labextension build
generates ``labextension/src/contract.gen.ts`` from it, which ``ids.ts`` re-exports
(``tests/_contract`` fails when they drift), so the canvas, the kernel and the CLI accept
exactly the same ids. The grammar is deliberately plain ASCII: no control characters, no newline, no
space, no quote, no backslash, no ``<``/``&``/backtick, so an id can be written into
code, Markdown, HTML, a terminal or a file name without changing its meaning there (the
writers still quote or escape: this is the second line of defence, not the first).

===========  =========================================  ==========  ====================
kind         pattern                                     max length  examples
===========  =========================================  ==========  ====================
node         ``^[A-Za-z0-9_][A-Za-z0-9_-]*$``             128         ``vqe``, ``ham_1``
skill        ``^[a-z0-9][a-z0-9-]*$``                     128         ``quantum-vqe``
edge         ``^[A-Za-z0-9_][A-Za-z0-9_.:>+=@#~/-]*$``    512         ``e-ham-vqe``,
                                                                      ``a.sum->b.x``
workflow     ``^[A-Za-z0-9_][A-Za-z0-9_.-]*$``            128         ``h2-vqe``
===========  =========================================  ==========  ====================

Node ids hold no ``.``: ``NODE.PORT`` (``--set``, ``--in``, run-time overrides) splits on
it. Edge ids hold the default ``SRC.PORT->DST.PORT`` and React Flow's ids
(``reactflow__edge-a.out-b.in``, ``xy-edge__aout-bin``).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "EDGE_ID_MAX",
    "EDGE_ID_PATTERN",
    "ID_KINDS",
    "NODE_ID_MAX",
    "NODE_ID_PATTERN",
    "SKILL_ID_MAX",
    "SKILL_ID_PATTERN",
    "WORKFLOW_ID_MAX",
    "WORKFLOW_ID_PATTERN",
    "id_problem",
    "is_valid_id",
]

IdKind = Literal["node", "skill", "edge", "workflow"]

# Generated into labextension/src/contract.gen.ts (python -m llmos_jupyter._contract, then
# npm run gen:contract): change them here only.
NODE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"
NODE_ID_MAX = 128
SKILL_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
SKILL_ID_MAX = 128
EDGE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:>+=@#~/-]*$"
EDGE_ID_MAX = 512
WORKFLOW_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
WORKFLOW_ID_MAX = 128

ID_KINDS: dict[str, tuple[re.Pattern[str], int, str]] = {
    # re.ASCII: \w is not used, but keep the classes byte-for-byte what they say; \Z
    # instead of $ so a trailing newline is not accepted ("a\n" matches "^a$" in Python).
    "node": (re.compile(NODE_ID_PATTERN[:-1] + r"\Z"), NODE_ID_MAX,
             "letters, digits, '_' and '-'"),
    "skill": (re.compile(SKILL_ID_PATTERN[:-1] + r"\Z"), SKILL_ID_MAX,
              "lowercase letters, digits and '-'"),
    "edge": (re.compile(EDGE_ID_PATTERN[:-1] + r"\Z"), EDGE_ID_MAX,
             "letters, digits and _ . : > + = @ # ~ / -"),
    "workflow": (re.compile(WORKFLOW_ID_PATTERN[:-1] + r"\Z"), WORKFLOW_ID_MAX,
                 "letters, digits, '_', '.' and '-'"),
}
"""``kind → (compiled pattern, max length, the allowed characters in words)``."""


def is_valid_id(kind: IdKind, value: object) -> bool:
    """Whether ``value`` is a valid ``kind`` id (a ``str`` matching the grammar, not too long)."""
    pattern, limit, _ = ID_KINDS[kind]
    return isinstance(value, str) and len(value) <= limit and pattern.match(value) is not None


def id_problem(kind: IdKind, value: object) -> str | None:
    """Why ``value`` is not a valid ``kind`` id (one sentence), or ``None`` when it is.

    The message shows the value through :func:`ascii`, so a control character or a
    newline in it is visible and cannot break the line it is printed on.
    """
    pattern, limit, words = ID_KINDS[kind]
    if not isinstance(value, str):
        return f"{kind} id must be a string, got {type(value).__name__}"
    if not value:
        return f"{kind} id is empty"
    if len(value) > limit:
        return f"{kind} id is {len(value)} characters long; the limit is {limit}"
    if pattern.match(value) is None:
        first = "a letter or a digit" if kind == "skill" else "a letter, a digit or '_'"
        return f"{kind} id {_shown(value)} is not valid: use {words}, starting with {first}"
    return None


def _shown(value: str, limit: int = 80) -> str:
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
