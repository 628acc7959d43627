"""Per-node capture of what a skill prints.

A skill's ``print`` must never reach the CLI's stdout (``--json`` prints exactly one JSON
object there) nor interleave with other nodes' output; it belongs to the node's *log*
(shown on failure, kept in the trace). ``sys.stdout``/``sys.stderr`` are process-wide,
and nodes run on several threads at once, so while any run is active both are replaced by
a :class:`_Router` that sends writes from a thread executing a node to that node's buffer
and everything else (the engine, the CLI's progress display, other threads) to the stream
it replaced. Closing the stream from inside a skill closes nothing.

Limits: output written by C code or subprocesses straight to file descriptors 1/2 is not
seen here (the CLI points fd 1 at stderr while a ``--json`` run goes, so it cannot corrupt
the JSON), and threads a skill starts itself write to the original streams. Each node's log
keeps at most :data:`MAX_LOG` characters (the rest is counted, not stored).
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["MAX_LOG", "NodeLog", "SkillExited", "capture_node", "routing"]

MAX_LOG = 64_000
"""Characters of a node's stdout + stderr kept in its log."""

_local = threading.local()
_lock = threading.Lock()
_users = 0
_saved: tuple[TextIO, TextIO] | None = None


class NodeLog:
    """What one node printed (at most :data:`MAX_LOG` characters are kept)."""

    __slots__ = ("parts", "size", "dropped")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text: str) -> None:
        room = MAX_LOG - self.size
        if room <= 0:
            self.dropped += len(text)
            return
        if len(text) > room:
            self.dropped += len(text) - room
            text = text[:room]
        self.parts.append(text)
        self.size += len(text)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped and self.size:
            out += f"\n[… {self.dropped} more characters not kept]\n"
        return out


class _Router(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr while runs are active."""

    def __init__(self, target: TextIO, name: str) -> None:
        self._target = target
        self._name = name

    def write(self, text: str) -> int:
        log = getattr(_local, "log", None)
        if log is not None:
            if not isinstance(text, str):
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            log.write(text)
            return len(text)
        return self._target.write(text)

    def flush(self) -> None:
        if getattr(_local, "log", None) is None:
            try:
                self._target.flush()
            except (OSError, ValueError):
                pass

    def close(self) -> None:  # a skill closing stdout must not close the process' stdout
        pass

    @property
    def closed(self) -> bool:
        return False

    def isatty(self) -> bool:
        return getattr(_local, "log", None) is None and bool(
            getattr(self._target, "isatty", lambda: False)())

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:  # e.g. ipykernel's OutStream attributes
        return getattr(self._target, name)


class SkillExited(SystemExit):
    """A skill called ``os._exit(status)`` inside the engine's process: turned into an
    exception that fails its node, rather than the end of the whole run."""


_real_os_exit = os._exit
_pid = os.getpid()


def _guarded_os_exit(status: int) -> Any:
    # Only a thread executing a node, in this very process: a forked child (multiprocessing,
    # subprocess helpers) must still be able to leave with os._exit.
    if os.getpid() == _pid and getattr(_local, "log", None) is not None:
        raise SkillExited(f"the skill called os._exit({status!r}) before returning its outputs")
    _real_os_exit(status)


@contextmanager
def routing() -> Iterator[None]:
    """Route node output while the block runs (re-entrant; nested runs share one router).
    Also guards ``os._exit`` in threads executing nodes (see :class:`SkillExited`)."""
    global _users, _saved, _pid
    with _lock:
        if _users == 0:
            _saved = (sys.stdout, sys.stderr)
            sys.stdout = _Router(sys.stdout, "stdout")
            sys.stderr = _Router(sys.stderr, "stderr")
            _pid = os.getpid()
            os._exit = _guarded_os_exit
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _saved is not None:
                # Put the originals back only if nobody replaced our router meanwhile.
                if isinstance(sys.stdout, _Router):
                    sys.stdout = _saved[0]
                if isinstance(sys.stderr, _Router):
                    sys.stderr = _saved[1]
                if os._exit is _guarded_os_exit:
                    os._exit = _real_os_exit
                _saved = None


@contextmanager
def capture_node() -> Iterator[NodeLog]:
    """Collect this thread's writes to stdout/stderr into the yielded log."""
    previous = getattr(_local, "log", None)
    log = NodeLog()
    _local.log = log
    try:
        yield log
    finally:
        _local.log = previous
