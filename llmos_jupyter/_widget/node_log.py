"""A node's live log as the canvas shows it: the last lines a running node printed.

The engine sends a running node's new stdout/stderr as ``node_log`` events (the
``processes`` and ``dask`` executors, at most every 50 ms per node); the Canvas widget
keeps them per node in its ``logs`` trait, ``{node: {"lines", "open", "total"}}``:

``lines``  the last :data:`LOG_MAX_LINES` lines, oldest first (each at most
           :data:`LOG_MAX_LINE_CHARS` characters); the last one is still being written
           when ``open`` (no newline yet).
``total``  every line seen (``total - len(lines)`` were dropped).

The same rules as the front-end's ``labextension/src/nodeLog.ts`` (both are tested on
``labextension/test/nodeLogCases.json``). The text is untrusted: the front-end renders it
as text only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["LOG_MAX_LINE_CHARS", "LOG_MAX_LINES", "append_log", "log_from_text"]

LOG_MAX_LINES = 200
LOG_MAX_LINE_CHARS = 2000

# Terminal control sequences (CSI, OSC, other escapes) and C0 controls but \t \n \r.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _keep_line(line: str, open_: bool) -> str:
    """A carriage return restarts the line; one ending a closed line is a CRLF's; an open
    line keeps a trailing ``\\r`` so the next chunk overwrites it; long lines are cut."""
    pending = open_ and line.endswith("\r")
    s = line[:-1] if line.endswith("\r") else line
    cr = s.rfind("\r")
    if cr >= 0:
        s = s[cr + 1:]
    if len(s) > LOG_MAX_LINE_CHARS:
        s = s[:LOG_MAX_LINE_CHARS - 1] + "…"
    return s + "\r" if pending else s


def append_log(log: Mapping[str, Any] | None, text: str,
               max_lines: int = LOG_MAX_LINES) -> dict[str, Any]:
    """``log`` (a ``{"lines", "open", "total"}`` dict, or ``None``) with ``text``
    appended, as a new dict: a chunk continues the open last line, ``\\r\\n`` ends a line
    as ``\\n`` does, terminal escapes are removed, and only the last ``max_lines`` lines
    are kept."""
    clean = _CONTROL.sub("", _ANSI.sub("", text))
    lines = list(log["lines"]) if log else []
    total = int(log["total"]) if log else 0
    open_ = bool(log and log.get("open")) and bool(lines)
    if clean:
        pieces = clean.split("\n")
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            if last and piece == "":  # ended with a newline: no line is open
                open_ = False
                break
            if open_:
                lines[-1] = _keep_line(lines[-1] + piece, last)
            else:
                lines.append(_keep_line(piece, last))
                total += 1
            open_ = last
    drop = max(0, len(lines) - max(1, max_lines))
    return {"lines": lines[drop:], "open": open_, "total": total}


def log_from_text(text: str, max_lines: int = LOG_MAX_LINES) -> dict[str, Any]:
    """A finished node's whole log (``NodeResult.log``) in the ``logs`` trait's shape."""
    return append_log(None, text, max_lines)
