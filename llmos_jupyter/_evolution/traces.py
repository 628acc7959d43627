"""Reading trace notebooks fast: only their ``metadata.llmos.trace``.

A trace is 50-100 kB (skill code, PNG outputs) but the evolution step needs only the
notebook metadata, a few kB at the end of the file: nbformat writes JSON with sorted
keys and a one-space indent, so the top-level ``"metadata"`` key is the one line that
reads ``\\n "metadata": {`` (a raw newline never occurs inside a JSON string), followed
only by ``"nbformat"`` and ``"nbformat_minor"``. :func:`read_trace` reads the file's tail,
parses that slice, and falls back to parsing the whole notebook when a file was written
differently.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["iter_traces", "read_trace", "read_traces", "trace_files"]

_META = b'\n "metadata": {'
_END = b',\n "nbformat":'
_TAIL = 32768


def trace_files(directory: str | Path) -> list[Path]:
    """The ``*.ipynb`` files directly in ``directory``, sorted by name (= time order)."""
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return []
    with entries:
        names = sorted(e.name for e in entries if e.name.endswith(".ipynb") and e.is_file()
                       and not e.name.startswith("."))
    return [Path(directory) / n for n in names]


def read_trace(path: str | Path) -> dict[str, Any] | None:
    """The ``llmos.trace`` metadata of a trace notebook (with ``path`` added), or ``None``
    for a notebook that is not a trace or cannot be read."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            tail = min(size, _TAIL)
            while True:
                f.seek(size - tail)
                data = f.read(tail)
                start = data.rfind(_META)
                if start >= 0 or tail == size:
                    break
                tail = min(size, tail * 4)
    except OSError:
        return None
    meta = None
    if start >= 0:
        end = data.rfind(_END)
        if end > start:
            try:
                meta = json.loads(data[start + len(_META) - 1:end])
            except ValueError:
                meta = None
    if meta is None:  # not nbformat's layout: parse the whole notebook
        try:
            with open(path, "rb") as f:
                meta = json.loads(f.read()).get("metadata")
        except (OSError, ValueError, AttributeError):
            return None
    trace = (meta or {}).get("llmos", {}).get("trace") if isinstance(meta, dict) else None
    if not isinstance(trace, dict) or not isinstance(trace.get("nodes"), dict):
        return None
    trace["path"] = str(path)
    return trace


def iter_traces(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """:func:`read_trace` over ``paths``, skipping files that are not traces."""
    for p in paths:
        t = read_trace(p)
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
            t = read_trace(p)
            if t is not None:
                out.append(t)
            if progress is not None and time.monotonic() - last >= 0.5:
                last = time.monotonic()
                progress(f"reading traces: {k + 1}/{len(paths)}")
    finally:
        if enabled:
            gc.enable()
    return out
