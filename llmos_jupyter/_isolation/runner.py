"""IsolatedRunner: the engine's node runner for untrusted Python skills.

One warm *zygote* per runner (inside bubblewrap where available) forks a fresh process
per node; see ``worker.py`` for the processes and the wire format, ``sandbox.py`` for
what the sandbox holds. The parent side here sends the skill's source text, hash and
JSON inputs over a per-node socket, enforces the wall-clock limit and cancellation by
asking the zygote to kill the node, and turns what comes back into outputs or a named
failure.
"""

from __future__ import annotations

import itertools
import os
import select
import signal
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llmos_jupyter._exceptions import SkillError
from llmos_jupyter._isolation import worker as wire
from llmos_jupyter._isolation.errors import (
    NodeCancelled,
    NodeCrashed,
    NodeTimedOut,
    SandboxUnavailable,
    SkillRaised,
)
from llmos_jupyter._isolation.limits import Limits, format_bytes, format_seconds
from llmos_jupyter._isolation.live_log import LiveLog, release_unread
from llmos_jupyter._isolation.sandbox import (
    Launch,
    bwrap_launch,
    find_bwrap,
    subprocess_launch,
    trusted_launch,
)
from llmos_jupyter._isolation.zygote import Zygote, ZygoteStartError, start_zygote

__all__ = ["IsolatedRunner", "NodeRun"]

_TICK = 0.05  # seconds between checks of the cancel flag while a node runs
_GRACE = 5.0  # seconds the supervisor gets to report after a kill before the zygote is reset
_SIGNAL_REASONS = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGBUS: "bus error",
    signal.SIGABRT: "aborted",
    signal.SIGFPE: "floating-point exception",
    signal.SIGILL: "illegal instruction",
}


@dataclass(frozen=True)
class NodeRun:
    """What one isolated node returned.

    ``outputs``: port → value (``bytes`` for PNGs and other bytes, lists for tuples/arrays);
    ``log``: its stdout and stderr, interleaved as written (tail, ≤ 1 MiB);
    ``duration_ms``: wall time of the round trip; ``cpu_s``: CPU seconds of the node's
    process; ``maxrss_kib``: its peak resident memory in KiB.
    """

    outputs: dict[str, Any]
    log: str
    duration_ms: float
    cpu_s: float
    maxrss_kib: int


class IsolatedRunner:
    """Runs Python skills in an isolated worker; an engine ``Runner``.

    Args:
        limits: resource limits of each node (default :class:`Limits()`: 2 GiB, no network).
        sandbox: ``"auto"`` (bubblewrap if it works, else a subprocess, with
            :attr:`isolation_warning` set), ``"bwrap"`` (bubblewrap or
            :class:`SandboxUnavailable`), ``"subprocess"`` (no file/network isolation).
        preload: modules the warm worker imports once so nodes start fast (default:
            ``numpy`` when installed).
        trusted: the *trusted* mode, for the user's own skills: the worker is a plain
            child process with the user's environment, working directory and
            ``sys.path``, no sandbox and no rlimits (``limits`` other than ``timeout_s``
            are ignored; ``sandbox`` must stay ``"auto"``). Each node is still a fresh
            fork, killed with its processes on timeout or cancel. It isolates nothing: it
            makes trusted nodes killable and lets CPU-bound ones use several cores.

    Call it as the engine does, ``runner(skill, inputs, cancel=event, timeout=seconds)``
    → outputs, or use :meth:`run` for the outputs with the node's log. Safe to call from
    several threads at once (each node is its own process). ``close()`` (or ``with``)
    kills the worker and everything it started.
    """

    def __init__(self, limits: Limits | None = None, *, sandbox: str = "auto",
                 preload: tuple[str, ...] | None = None, trusted: bool = False) -> None:
        if sandbox not in ("auto", "bwrap", "subprocess"):
            raise ValueError(f"sandbox must be 'auto', 'bwrap' or 'subprocess', got {sandbox!r}")
        if trusted and sandbox != "auto":
            raise ValueError(f"trusted=True runs no sandbox; sandbox={sandbox!r} contradicts it")
        self.trusted = trusted
        self.limits = limits if limits is not None else Limits()
        self.sandbox_requested = sandbox
        if preload is None:
            import importlib.util

            preload = tuple(m for m in ("numpy",) if importlib.util.find_spec(m) is not None)
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._zygote: Zygote | None = None
        self._warning: str | None = None
        self._ids = itertools.count(1)
        self._closed = False
        self._finalizer = weakref.finalize(self, IsolatedRunner._stop_quietly, [None])

    # -- lifecycle -------------------------------------------------------------------------
    @staticmethod
    def _stop_quietly(holder: list[Zygote | None]) -> None:
        if holder[0] is not None:
            holder[0].stop()

    def start(self) -> None:
        """Start the warm worker now (otherwise the first node does; ~0.1-0.3 s).

        Raises:
            SandboxUnavailable: ``sandbox="bwrap"`` and bubblewrap is missing or fails.
        """
        self._ensure()

    @property
    def sandbox(self) -> str:
        """``"bwrap"``, ``"subprocess"`` or ``"trusted"``: what actually runs the nodes
        (starts the worker)."""
        return self._ensure().kind

    @property
    def isolation_warning(self) -> str | None:
        """``None`` under bubblewrap; otherwise one plain sentence to show once per run
        saying that files and network are not isolated (starts the worker)."""
        self._ensure()
        return self._warning

    def close(self) -> None:
        """Kill the worker, every running node and whatever they started. Idempotent."""
        with self._lock:
            self._closed = True
            z, self._zygote = self._zygote, None
            self._finalizer.detach()
        if z is not None:
            z.stop()

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure(self) -> Zygote:
        with self._lock:
            if self._closed:
                raise RuntimeError("this IsolatedRunner is closed")
            z = self._zygote
            if z is not None and z.proc.poll() is None:
                return z
            if z is not None:
                z.stop()
            z = self._zygote = self._start()
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, IsolatedRunner._stop_quietly, [z])
            return z

    def _reset(self, z: Zygote) -> None:
        """Throw away a zygote that stopped answering (the next node starts a new one)."""
        with self._lock:
            if self._zygote is z:
                self._zygote = None
        z.stop()

    def _start(self) -> Zygote:
        if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
            raise SandboxUnavailable("isolated skills need a POSIX system (fork and Unix "
                                     "sockets); this one has none")
        if self.trusted:
            try:
                return self._launch(trusted_launch(self.preload))
            except (ZygoteStartError, OSError) as exc:
                raise SandboxUnavailable(f"cannot start the node worker: {exc}") from None
        why = None
        if self.sandbox_requested in ("auto", "bwrap"):
            bwrap = find_bwrap()
            if bwrap is None:
                why = "bubblewrap (bwrap) is not installed" + (
                    " (apt-get install bubblewrap)" if sys.platform.startswith("linux") else "")
            else:
                try:
                    return self._launch(bwrap_launch(bwrap, self.limits, self.preload))
                except ZygoteStartError as exc:
                    why = f"bubblewrap failed to start ({exc})"
                except ValueError as exc:
                    why = str(exc)
            if self.sandbox_requested == "bwrap":
                raise SandboxUnavailable(f"cannot isolate skills: {why}")
        try:
            z = self._launch(subprocess_launch(self.limits, self.preload))
        except (ZygoteStartError, OSError) as exc:
            raise SandboxUnavailable(f"cannot start the isolated worker: {exc}"
                                     + (f"; {why}" if why else "")) from None
        why = why or "the subprocess sandbox was chosen"
        self._warning = (f"Untrusted skills run in a plain subprocess with resource limits and "
                         f"no secrets in its environment, but files and network are NOT "
                         f"isolated, because {why}.")
        return z

    def _launch(self, launch: Launch) -> Zygote:
        what = {"bwrap": "the bubblewrap sandbox", "subprocess": "the isolated worker",
                "trusted": "the node worker"}.get(launch.kind, "the isolated worker")
        env = launch.env or {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        return start_zygote(launch.argv, env=env, cwd=launch.cwd, what=what, kind=launch.kind,
                            cleanup=launch.cleanup)

    # -- running ---------------------------------------------------------------------------
    def __call__(self, skill: Any, inputs: Mapping[str, Any], *,
                 cancel: threading.Event | None = None,
                 timeout: float | None = None) -> dict[str, Any]:
        """The engine's ``Runner`` protocol: :meth:`run` → its ``outputs``."""
        return self.run(skill, inputs, cancel=cancel, timeout=timeout).outputs

    def run(self, skill: Any, inputs: Mapping[str, Any], *,
            cancel: threading.Event | None = None, timeout: float | None = None,
            limits: Limits | None = None,
            on_log: Callable[[str], object] | None = None) -> NodeRun:
        """Run one node of ``skill`` (a Python :class:`Skill`) on ``inputs`` in isolation.

        Args:
            inputs: port → value; JSON data, ``bytes`` (PNG), tuples, numpy arrays.
            cancel: when set while the node runs, its processes are killed (checked every
                50 ms).
            timeout: wall-clock seconds (the engine's ``node_timeout``); the smaller of it
                and ``limits.timeout_s`` applies.
            limits: this node's limits (e.g. a skill's own from the user's config) instead
                of the runner's; ``network`` and ``file_size`` are the sandbox's and must
                equal the runner's (``ValueError`` otherwise: use another runner).
            on_log: ``callable(text)``, called from this thread with each new piece of
                the node's stdout/stderr while it runs (at most every 50 ms) and at its
                end, bounded (``live_log``: ≤ 16 KiB a piece, 256 KiB a node, then
                ``… N lines dropped``); the whole log (its last 1 MiB) is still in
                :attr:`NodeRun.log` and the errors' ``log``. The parent creates the log
                file (a memfd) and hands it to the node's supervisor with the request.

        Returns:
            :class:`NodeRun` (outputs, log, duration, CPU, peak memory).

        Raises:
            SkillRaised: the skill's code raised (``.traceback`` points into the .md file).
            NodeCrashed: the process died: ``segmentation fault``, ``exit status 3``,
                ``exit status 0 before returning outputs``, ``killed: memory limit 2 GiB``,
                ``killed: CPU limit 30 s``, ``killed by signal 9 (SIGKILL)``.
            NodeTimedOut: ``timed out after 5 s``. NodeCancelled: ``cancelled``.
            TypeError: an input is not data (names the port).
            SkillError: the skill has no Python code. RequirementMissing: ``requires``.
            SandboxUnavailable: ``sandbox="bwrap"`` and bubblewrap cannot start.
        """
        if skill.code is None or skill.runtime != "python":
            raise SkillError(f"skill {skill.skill_id!r} has no Python code to run "
                             f"(runtime {skill.runtime!r})", path=skill.path)
        if skill.requires:
            from llmos_jupyter._engine.requirements import check_requires

            check_requires(skill.skill_id, skill.requires)
        if cancel is not None and cancel.is_set():
            raise NodeCancelled("cancelled")
        lim = self.limits if limits is None else limits
        if not self.trusted and (lim.network, lim.file_size) != (self.limits.network,
                                                                 self.limits.file_size):
            raise ValueError("network and file_size are fixed when the sandbox starts: run "
                             "this node on an IsolatedRunner created with those limits")
        limit = lim.effective_timeout(timeout)
        request = {
            "code": skill.code, "path": skill.source_name, "line": skill.code_line,
            "hash": skill.code_hash, "runtime": skill.runtime, "requires": list(skill.requires),
            "module": f"llmos_skill_{skill.skill_id.replace('-', '_')}",
        }
        blobs: list[bytes] = []
        request["inputs"] = {str(k): wire.encode(v, f"input {k!r}", blobs)
                             for k, v in inputs.items()}
        frame = b"".join(wire.pack_frame(request, blobs))
        del blobs
        t0 = time.perf_counter()
        rid = next(self._ids)
        data, data_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        report, report_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_fd = None if on_log is None else _log_file()
        live = None if log_fd is None else LiveLog(log_fd, on_log)  # type: ignore[arg-type]
        fds = [data_theirs.fileno(), report_theirs.fileno()]
        if log_fd is not None:
            fds.append(log_fd)
        try:
            try:
                for attempt in (1, 2):  # a zygote a skill killed may not look dead yet: retry
                    z = self._ensure()
                    try:
                        z.send({"op": "run", "id": rid,
                                "limits": {} if self.trusted else _limit_dict(lim)}, fds)
                        break
                    except OSError as exc:
                        self._reset(z)
                        if attempt == 2:
                            raise NodeCrashed(f"lost: the isolated worker does not start "
                                              f"nodes ({exc})") from None
            finally:
                data_theirs.close()
                report_theirs.close()
            try:
                frames, stopped = self._exchange(z, rid, data, report, frame, cancel, t0, limit,
                                                 live)
            except BaseException:  # KeyboardInterrupt in the caller: do not leave it running
                try:
                    z.send({"op": "kill", "id": rid})
                except OSError:
                    pass
                raise
        finally:
            data.close()
            report.close()
            if log_fd is not None:
                if live is not None:
                    live.finish()  # the node is over: the rest of its output, bounded
                os.close(log_fd)
        ms = (time.perf_counter() - t0) * 1e3
        if self.trusted:
            self._learn_imports(z, frames.get("result"))
        lost = None
        if "exit" not in frames:
            lost = ("the isolated worker died (the next node starts a new one)"
                    if z.proc.poll() is not None else
                    "the node's supervisor process died before reporting")
        return _outcome(frames, stopped, ms, lost, lim)

    def _learn_imports(self, z: Zygote, result: dict[str, Any] | None) -> None:
        """Trusted mode: ask the zygote to import what a node imported that it has not
        (once per name), so the next forks start with it."""
        names = result.get("imported") if isinstance(result, dict) else None
        if not isinstance(names, list):
            return
        with self._lock:
            known = z.ready.setdefault("$preloaded", set())
            new = [n for n in names if isinstance(n, str) and n not in known]
            known.update(new)
        if new:
            try:
                z.send({"op": "preload", "modules": new})
            except OSError:
                pass

    def _exchange(self, z: Zygote, rid: int, data: socket.socket, report: socket.socket,
                  frame: bytes, cancel: threading.Event | None, t0: float,
                  limit: float | None, live: LiveLog | None = None,
                  ) -> tuple[dict[str, dict[str, Any]], str | None]:
        """Send the request on ``data`` and collect the node's result from it; wait for the
        supervisor's exit report on ``report``; kill the node on timeout or cancel; give
        ``live`` the node's new output every 50 ms.
        Returns ``({kind: frame}, why it was stopped or None)``."""
        data.setblocking(False)
        report.setblocking(False)
        out = memoryview(frame)
        bufs = {data: bytearray(), report: bytearray()}
        frames: dict[str, dict[str, Any]] = {}
        deadline = None if limit is None else t0 + limit
        stopped: str | None = None
        grace_end = 0.0
        open_ = [data, report]
        next_log = t0 + _TICK
        released = 0  # bytes at the log's head given back (the node's log is its tail)
        while report in open_ and "exit" not in frames:
            now = time.perf_counter()
            if live is not None and now >= next_log:
                next_log = now + _TICK
                live.poll()
                released = release_unread(live.fd, live, released)
            if stopped is None:
                if cancel is not None and cancel.is_set():
                    stopped = "cancelled"
                elif deadline is not None and now >= deadline:
                    stopped = f"timed out after {format_seconds(limit)}"  # type: ignore[arg-type]
                if stopped is not None:
                    grace_end = now + _GRACE
                    try:
                        z.send({"op": "kill", "id": rid})
                    except OSError:
                        grace_end = now  # the zygote is gone: nothing will report
            if stopped is not None and now >= grace_end:
                self._reset(z)  # the supervisor never reported: take everything down
                return frames, stopped
            wait = _TICK
            if stopped is None and deadline is not None:
                wait = max(0.0, min(wait, deadline - now))
            readable, writable, _ = select.select(open_, [data] if out else [], [], wait)
            if writable:
                try:
                    out = out[data.send(out[: 1 << 20]):]
                except BlockingIOError:
                    pass
                except OSError:  # the node died before reading all of it
                    out = memoryview(b"")
            for sock in readable:
                try:
                    chunk = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    bufs[sock] += chunk
                else:
                    open_.remove(sock)
                    out = memoryview(b"") if sock is data else out
            _take_frames(bufs[report], frames, from_supervisor=True)
            _take_frames(bufs[data], frames, from_supervisor=False)
        if "exit" in frames and data in open_:
            # The supervisor reports after every process of the node is dead, so the data
            # socket is at its end: drain what the node wrote before it died.
            data.setblocking(True)
            data.settimeout(1.0)
            try:
                while chunk := data.recv(1 << 20):
                    bufs[data] += chunk
            except OSError:
                pass
            _take_frames(bufs[data], frames, from_supervisor=False)
        if "exit" not in frames and z.proc.poll() is not None:
            self._reset(z)
        return frames, stopped


def _log_file() -> int:
    """A new file for a node's stdout/stderr that this process reads while the node runs:
    a memfd (Linux), else an unlinked temporary file."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("llmos-node-log", 0)
    import tempfile

    fd, path = tempfile.mkstemp(prefix="llmos-node-log-")
    os.unlink(path)
    return fd


def _limit_dict(lim: Limits) -> dict[str, Any]:
    return {"memory": lim.memory, "cpu_s": lim.cpu_s, "max_processes": lim.max_processes,
            "file_size": lim.file_size, "open_files": lim.open_files}


def _outcome(frames: dict[str, dict[str, Any]], stopped: str | None, ms: float,
             lost: str | None, lim: Limits) -> NodeRun:
    exit_ = frames.get("exit", {})
    result = frames.get("result")
    log = exit_.get("log", "")
    if stopped == "cancelled":
        raise NodeCancelled("cancelled", log=log)
    if stopped is not None:
        raise NodeTimedOut(stopped, log=log)
    if result is not None:
        if result.get("ok") and isinstance(result.get("outputs"), dict):
            try:
                outputs = wire.decode(result["outputs"], result.get("$attachments", []))
            except (TypeError, ValueError, AttributeError):
                outputs = None
            if outputs is not None:
                return NodeRun(outputs, log, ms, exit_.get("cpu_s", 0.0),
                               exit_.get("maxrss_kib", 0))
        if result.get("ok") or "malformed" in frames:
            raise NodeCrashed("the node sent a malformed result", log=log)
        if result.get("memory"):
            raise NodeCrashed(_memory_reason(lim), log=log)
        raise SkillRaised(result.get("error") or result.get("type", "error"),
                          error_type=result.get("type", "Exception"), log=log,
                          traceback=result.get("traceback", ""))
    if "malformed" in frames and exit_.get("status") == 0:
        raise NodeCrashed("the node sent a malformed result", log=log)
    if not exit_:
        raise NodeCrashed(f"lost: {lost or 'the node reported nothing'}", log=log)
    if "start_error" in exit_:
        raise NodeCrashed(exit_["start_error"], log=log)
    raise NodeCrashed(_death_reason(exit_, lim), log=log)


def _memory_reason(lim: Limits) -> str:
    memory = lim.memory
    return f"killed: memory limit {format_bytes(memory)}" if memory else "out of memory"


def _death_reason(report: Mapping[str, Any], lim: Limits) -> str:
    sig = report.get("signal")
    if sig is None:
        status = report.get("status", -1)
        if status == 0:
            return "exit status 0 before returning outputs"
        return f"exit status {status}"
    cpu_hit = lim.cpu_s is not None and report.get("cpu_s", 0.0) >= lim.cpu_s - 0.05
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_hit):
        return f"killed: CPU limit {format_seconds(lim.cpu_s or 0)}"
    if sig == signal.SIGKILL and lim.memory and report.get("maxrss_kib", 0) * 1024 >= (
            0.9 * lim.memory):
        return _memory_reason(lim)
    if sig in _SIGNAL_REASONS:
        return _SIGNAL_REASONS[sig]
    try:
        name = signal.Signals(sig).name
    except ValueError:
        return f"killed by signal {sig}"
    return f"killed by signal {sig} ({name})"


def _take_frames(buf: bytearray, frames: dict[str, dict[str, Any]], *,
                 from_supervisor: bool) -> None:
    """Move the complete frames at the start of ``buf`` into ``frames`` by kind. The node
    process is the skill's, so its frames are untrusted: anything but one well-formed
    ``result`` marks the node ``malformed``; only the supervisor's socket carries ``exit``."""
    while (size := wire.frame_size(buf)) is not None and len(buf) >= size:
        try:
            message, blobs = wire.unpack_frame(bytes(buf[wire._HEADER.size:size]))
        except ValueError:  # also JSON errors
            message, blobs = None, []
        del buf[:size]
        ok = isinstance(message, dict) and isinstance(message.get("kind"), str)
        if ok:
            message["$attachments"] = blobs
        if from_supervisor:
            frames["exit"] = message if ok else {"kind": "exit", "malformed": True}
        elif ok and message["kind"] == "result" and "result" not in frames:
            frames["result"] = message
        else:
            frames["malformed"] = {}
