"""Reading trace notebooks for evolution: their ``metadata.llmos.trace`` records, fast.

The record's format and its reader live in :mod:`llmos_jupyter._trace.record` (one
module writes and reads trace metadata); this module adds what mining needs on top:
iterating many files and reading thousands of them with the garbage collector paused.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from llmos_jupyter._trace.record import read_trace_metadata, trace_files

__all__ = ["iter_traces", "read_trace", "read_traces", "trace_files"]


def read_trace(path: str | Path) -> dict[str, Any] | None:
    """The ``llmos.trace`` metadata of a trace notebook (with ``path`` added), or ``None``
    for a notebook that is not a trace or cannot be read
    (:func:`llmos_jupyter._trace.record.read_trace_metadata`)."""
    return read_trace_metadata(path)


def iter_traces(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """:func:`read_trace` over ``paths``, skipping files that are not traces."""
    for p in paths:
        t = read_trace_metadata(p)
        if t is not None:
            yield t


def read_traces(paths: Iterable[str | Path], *,
                progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """:func:`read_trace` of every path, as a list (files that are not traces skipped).

    The cyclic garbage collector is paused while reading: 10,000 traces make millions of
    small long-lived dicts, and its full collections, rescanning them again and again,
    tripled the time. ``progress`` gets ``"reading traces: k/n"`` at most twice a second.
    """
    paths = list(paths)
    out: list[dict[str, Any]] = []
    enabled = gc.isenabled()
    gc.disable()
    last = time.monotonic()
    try:
        for k, p in enumerate(paths):
            t = read_trace_metadata(p)
            if t is not None:
                out.append(t)
            if progress is not None and time.monotonic() - last >= 0.5:
                last = time.monotonic()
                progress(f"reading traces: {k + 1}/{len(paths)}")
    finally:
        if enabled:
            gc.enable()
    return out
