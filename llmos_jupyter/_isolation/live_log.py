"""Live output of a running node: new text of its log file, bounded, to a listener.

A node process writes its stdout and stderr to a log file (a memfd on Linux) that the
parent also holds. While the node runs, the parent calls :meth:`LiveLog.poll` (every
50 ms) and the listener gets what was written since — the engine turns each piece into a
``node_log`` event. Used by the trusted node pool (``_executors/node_pool.py``) and the
isolated runner (``runner.py``) alike.

Bounds, so a skill printing megabytes floods neither the parent's memory nor the event bus:

* at most :data:`EVENT_BYTES` (16 KiB) per piece, cut after the last whole line when it
  can be (more output waits for the next poll);
* at most :data:`LIVE_BYTES` (256 KiB) per node in all; after that the rest is *counted*,
  not read into text or sent: the listener gets one note when the cap is reached and,
  at the end, ``… N lines dropped …``. The node's own log (its last 1 MiB, in its result
  and the trace) is not affected.
* the file is read at most 1 MiB at a time, even to count the lines it drops.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from typing import Any

from llmos_jupyter._isolation.limits import format_bytes

__all__ = ["EVENT_BYTES", "LIVE_BYTES", "LiveLog", "release_head", "release_unread"]

EVENT_BYTES = 16 * 1024
"""Bytes of output in one live piece at most."""
LIVE_BYTES = 256 * 1024
"""Bytes of a node's output sent live at most; later lines are counted and dropped."""
_READ = 1 << 20  # bytes read at once when counting dropped lines


class LiveLog:
    """Streams a node's log file ``fd`` to ``on_log(text)`` while the node runs.

    Args:
        fd: the log file, written by the node (appended); only read here (``pread``), so
            the node's own file offset is untouched.
        on_log: called with each new piece of text (UTF-8, undecodable bytes escaped as
            ``\\xNN``); an exception it raises is swallowed (a listener's failure must not
            fail the node).
        live_bytes: the per-node cap (:data:`LIVE_BYTES`).
        event_bytes: the per-piece cap (:data:`EVENT_BYTES`).

    Call :meth:`poll` while the node runs and :meth:`finish` once when it has ended.
    Without drops, the pieces joined are exactly the file's text.
    """

    def __init__(self, fd: int, on_log: Callable[[str], object], *,
                 live_bytes: int = LIVE_BYTES, event_bytes: int = EVENT_BYTES) -> None:
        self.fd, self.on_log = fd, on_log
        self.live_bytes, self.event_bytes = live_bytes, event_bytes
        self.offset = 0  # bytes of the file read (sent or counted)
        self.sent = 0  # bytes sent live
        self.dropped_lines = 0
        self._dropping = False
        self._ends_line = True  # the last dropped byte ended a line
        self._decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")

    def _size(self) -> int:
        try:
            return os.fstat(self.fd).st_size
        except OSError:
            return self.offset

    def _emit(self, text: str) -> None:
        if text:
            try:
                self.on_log(text)
            except Exception:  # noqa: BLE001, S110 -- a listener's failure must not fail the node
                pass

    def poll(self, final: bool = False) -> None:
        """Send what the node wrote since the last call (one piece; with ``final``, all
        of it up to the caps)."""
        size = self._size()
        while self.offset < size:
            if not self._dropping and self.sent >= self.live_bytes:
                self._dropping = True
                rest = self._decoder.decode(b"", final=True)
                self._emit(rest + ("" if not rest or rest.endswith("\n") else "\n")
                           + f"… live output capped at {format_bytes(self.live_bytes)}: "
                           "further lines are counted, not shown (the node's log keeps its "
                           "last 1 MiB)\n")
            if self._dropping:
                self._count(size)
                return
            want = min(size - self.offset, self.event_bytes, self.live_bytes - self.sent)
            try:
                chunk = os.pread(self.fd, want, self.offset)
            except OSError:
                return
            if not chunk:
                return
            if len(chunk) == self.event_bytes and size - self.offset > len(chunk):
                cut = chunk.rfind(b"\n") + 1  # whole lines when there are any
                chunk = chunk[:cut] if cut else chunk
            self.offset += len(chunk)
            self.sent += len(chunk)
            self._emit(self._decoder.decode(chunk))
            if not final:
                return

    def _count(self, size: int) -> None:
        """Skip the bytes up to ``size``, counting their lines (1 MiB at a time)."""
        while self.offset < size:
            try:
                chunk = os.pread(self.fd, min(size - self.offset, _READ), self.offset)
            except OSError:
                return
            if not chunk:
                return
            self.offset += len(chunk)
            self.dropped_lines += chunk.count(b"\n")
            self._ends_line = chunk.endswith(b"\n")

    def finish(self) -> None:
        """The node has ended: send the rest (within the caps) and, when lines were
        dropped, ``… N lines dropped …``."""
        self.poll(final=True)
        if self._dropping:
            self._count(self._size())
            lines = self.dropped_lines + (0 if self._ends_line else 1)
            self._emit(f"… {lines} lines dropped from the live output (the node's log keeps "
                       "its last 1 MiB)\n")
        else:
            self._emit(self._decoder.decode(b"", final=True))


_PUNCH_HOLE = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE (linux/falloc.h)
_PAGE = 4096
_fallocate: list[Any] = []  # libc's fallocate, looked up once ([None] off Linux)


def release_head(fd: int, upto: int) -> int:
    """Free the memory of a log file's bytes before ``upto`` (rounded down to a page),
    keeping its size and offsets: they read back as zeros. Returns the bytes released.

    A memfd lives in memory, so a node that prints gigabytes would hold gigabytes there
    while only the last 1 MiB is ever read (the node's log) plus what :class:`LiveLog`
    has already read; the parent calls this with the lower of the two while the node runs.
    Linux ``fallocate(FALLOC_FL_PUNCH_HOLE)`` (memfd/tmpfs support it); elsewhere, or when
    it fails, nothing is released (returns 0)."""
    if not _fallocate:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            fallocate = libc.fallocate
            fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong,
                                  ctypes.c_longlong]
            _fallocate.append(fallocate)
        except (OSError, AttributeError):
            _fallocate.append(None)
    end = upto // _PAGE * _PAGE
    if _fallocate[0] is None or end <= 0:
        return 0
    return end if _fallocate[0](fd, _PUNCH_HOLE, 0, end) == 0 else 0


_RELEASE_STEP = 8 << 20  # release a log's head once this much more could go


def release_unread(fd: int, live: LiveLog | None, released: int) -> int:
    """Give back the memory of a running node's log file before what will still be read:
    its last ``MAX_LOG`` bytes (the node's log) and, with a live listener, what that has
    not read yet; in steps of 8 MiB. Bounds a node that prints gigabytes to ≈ 9 MiB of
    memory beyond its live listener's lag. ``released``: the mark returned by the last
    call (0 at the node's start); returns the new mark."""
    from llmos_jupyter._isolation.worker import MAX_LOG

    try:
        size = os.fstat(fd).st_size
    except OSError:
        return released
    keep_from = size - MAX_LOG if live is None else min(size - MAX_LOG, live.offset)
    if keep_from - released < _RELEASE_STEP:
        return released
    return max(released, release_head(fd, keep_from))
