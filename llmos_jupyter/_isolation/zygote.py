"""Starting and stopping a *zygote*: a warm child process that forks node processes.

Two programs run as zygotes: the isolated worker (``worker.py zygote``, maybe inside
bubblewrap; used by :class:`~llmos_jupyter._isolation.IsolatedRunner`) and the trusted
node pool (``_executors/node_pool.py``; used by ``NodePool``). Both start the same way,
which lives here once:

1. a ``SOCK_SEQPACKET`` socket pair; the child's end is passed to the program as the
   ``{ctrl}`` argument (its fd number);
2. the program is started in its own session from a *keeper thread* that lives as long as
   it does (bubblewrap's ``--die-with-parent`` watches the thread that started it, and the
   engine's pool threads come and go);
3. the handshake: the program's first message on the control socket is a JSON object with
   ``"kind": "ready"``. It is bounded: the parent waits at most ``timeout`` seconds and
   checks every 50 ms whether the child has exited, so a child that dies (even one whose
   own child still holds the socket open) or never answers fails with
   :class:`ZygoteStartError` naming the program, its pid and what happened — its exit
   status and the last line of its stderr, or the seconds it was given — never a hang.

:meth:`Zygote.stop` closes the control socket (both programs then kill their node
processes and exit) and, after a grace period, kills the zygote's process group.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["START_TIMEOUT", "Zygote", "ZygoteStartError", "start_zygote"]

START_TIMEOUT = 30.0
"""Seconds a zygote gets to say it is ready (importing numpy on a loaded machine: ~1-3 s)."""
_TICK = 0.05  # seconds between checks that the starting child is still alive
_STOP_GRACE = 2.0  # seconds a zygote gets to exit after its control socket closes


class ZygoteStartError(Exception):
    """A zygote did not start: ``str(exc)`` names the program, its pid and what failed
    (exit status and last stderr line, no answer within the timeout, or a malformed
    first message)."""


@dataclass
class Zygote:
    """A running zygote: its process, the parent's end of the control socket, its
    ``ready`` message, and host directories to remove when it stops."""

    proc: subprocess.Popen[bytes]
    ctrl: socket.socket
    ready: dict[str, Any]
    what: str = "zygote"
    kind: str = ""
    """What launched it (``"bwrap"``, ``"subprocess"``, ``"trusted"``, ``"pool"``)."""
    cleanup: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while sending: one message at a time on the control socket."""

    def send(self, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
        """Send one control message (JSON) with ``fds`` attached. Raises ``OSError`` when
        the zygote is gone."""
        data = json.dumps(message, separators=(",", ":")).encode()
        with self.lock:
            if fds:
                socket.send_fds(self.ctrl, [data], list(fds))
            else:
                self.ctrl.sendall(data)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Close the control socket (the zygote kills its node processes and exits); kill
        its process group if it has not exited within 2 s. Idempotent."""
        try:
            self.ctrl.close()
        except OSError:
            pass
        _end(self.proc, _STOP_GRACE)
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def _end(proc: subprocess.Popen[bytes], grace: float, *, group: bool = False) -> None:
    """Wait ``grace`` s for ``proc`` to exit, then SIGKILL its session's process group
    (``group``: the group even when ``proc`` itself has exited)."""
    try:
        proc.wait(grace)
        if not group:
            return
    except subprocess.TimeoutExpired:
        pass
    for kill in (os.killpg, os.kill):  # its own session: the whole group goes
        try:
            kill(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def _spawn(argv: list[str], ctrl_fd: int, env: dict[str, str] | None, cwd: str | None,
           stderr: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` from a keeper thread that waits for it (see the module docstring)."""
    box: dict[str, Any] = {}
    started = threading.Event()

    def keep() -> None:
        try:
            box["proc"] = subprocess.Popen(
                argv, pass_fds=[ctrl_fd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, env=env, cwd=cwd, start_new_session=True)
        except BaseException as exc:  # noqa: BLE001 -- handed to the starting thread
            box["error"] = exc
        started.set()
        if "proc" in box:
            box["proc"].wait()

    threading.Thread(target=keep, name="llmos-zygote-keeper", daemon=True).start()
    started.wait()
    if "error" in box:
        raise box["error"]
    return box["proc"]


def start_zygote(argv: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: str | None = None, what: str = "zygote", kind: str = "",
                 timeout: float = START_TIMEOUT, cleanup: Sequence[str] = ()) -> Zygote:
    """Start ``argv`` as a zygote and wait (bounded) for its ``ready`` message.

    Args:
        argv: the command; every ``"{ctrl}"`` in it becomes the fd number of the child's
            end of the control socket (a ``SOCK_SEQPACKET`` Unix socket).
        env: its environment (``None``: this process's).
        cwd: its working directory (``None``: this process's).
        what: how errors name the program (``"the isolated worker"``).
        kind: kept as :attr:`Zygote.kind`.
        timeout: seconds to wait for the ``ready`` message.
        cleanup: host directories :meth:`Zygote.stop` removes (also removed here when the
            start fails).

    Returns:
        :class:`Zygote` with the decoded ``ready`` message.

    Raises:
        ZygoteStartError: the child exited before answering (``exited with status 1 before
            it was ready: ModuleNotFoundError: ...``), did not answer within ``timeout``
            (it is killed), or its first message is not ``{"kind": "ready", ...}``.
        OSError: the program cannot be executed at all (``FileNotFoundError``).
    """
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    line = [a.replace("{ctrl}", str(child.fileno())) for a in argv]
    with tempfile.TemporaryFile() as errors:  # its stderr: why it did not start
        try:
            try:
                proc = _spawn(line, child.fileno(), env, cwd, errors)
            finally:
                child.close()
        except BaseException:
            parent.close()
            for path in cleanup:
                shutil.rmtree(path, ignore_errors=True)
            raise
        try:
            ready = _handshake(parent, proc, what, timeout, errors)
        except BaseException:
            parent.close()
            _end(proc, 0.0, group=True)  # and what it started, still in its session
            for path in cleanup:
                shutil.rmtree(path, ignore_errors=True)
            raise
    return Zygote(proc, parent, ready, what, kind, list(cleanup))


def _handshake(ctrl: socket.socket, proc: subprocess.Popen[bytes], what: str,
               timeout: float, errors: Any) -> dict[str, Any]:
    """The child's ready message, or :class:`ZygoteStartError` saying why not."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ZygoteStartError(f"{what} (pid {proc.pid}) did not say it was ready within "
                                   f"{timeout:g} s; it was killed{_last_line(errors, ': ')}")
        readable, _, _ = select.select([ctrl], [], [], min(_TICK, left))
        if readable:
            try:
                msg = ctrl.recv(1 << 16)
            except OSError:
                msg = b""
            if msg:
                break
            # End of file: every holder of the child's end closed it. Say how it ended.
            status = _wait_briefly(proc)
            raise ZygoteStartError(f"{what} (pid {proc.pid}) {_ended(status)} before it was "
                                   f"ready{_last_line(errors, ': ')}")
        if proc.poll() is not None:
            # It died while something it started may still hold the socket open.
            raise ZygoteStartError(f"{what} (pid {proc.pid}) {_ended(proc.returncode)} "
                                   f"before it was ready{_last_line(errors, ': ')}")
    try:
        ready = json.loads(msg)
    except ValueError:
        ready = None
    if not isinstance(ready, dict) or ready.get("kind") != "ready":
        raise ZygoteStartError(f"{what} (pid {proc.pid}) answered {msg[:80]!r} instead of "
                               "its ready message")
    return ready


def _wait_briefly(proc: subprocess.Popen[bytes]) -> int | None:
    try:
        return proc.wait(1.0)
    except subprocess.TimeoutExpired:
        return None


def _ended(status: int | None) -> str:
    if status is None:
        return "closed its control socket"
    if status < 0:
        try:
            name = f" ({signal.Signals(-status).name})"
        except ValueError:
            name = ""
        return f"was killed by signal {-status}{name}"
    return f"exited with status {status}"


def _last_line(errors: Any, prefix: str) -> str:
    """The last non-empty line of the child's stderr so far (``""`` when none)."""
    try:
        errors.seek(0)
        lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return f"{prefix}{lines[-1].strip()}" if lines else ""
