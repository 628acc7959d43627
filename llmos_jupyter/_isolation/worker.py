"""The isolated worker program and its wire format.

This file runs *inside* the sandbox as a script (``python -I -B worker.py zygote ...``),
bound read-only on its own: it imports nothing from ``llmos_jupyter`` and only the
standard library, so the sandbox needs no view of the source tree. The parent process
imports the same file for the wire format (:func:`encode`, :func:`decode`, frames), so both
ends always agree.

Processes (one *zygote* per runner, two processes per node)::

    zygote    imports what nodes need once (numpy), then waits for commands on the
     │        control socket; a child subreaper, so orphans come back to it
     └ supervisor  (one per node; forked on "run"; own session; child subreaper)
        └ node     (forked by the supervisor; rlimits, fresh scratch dir, stdout/stderr
                    captured; compiles and runs the skill's code; writes the result)

Forking a fresh node per request means one node cannot patch state (modules, globals)
that the next one sees. The supervisor outlives the node: it reaps it, kills every process
the skill left behind (a subreaper gets the double-forked ones too), reads the captured
log and reports the exit status, so a crash, ``os._exit`` or a signal is still reported.

Wire format: a frame is an 8-byte big-endian length N, then N bytes: an 8-byte length J,
J bytes of UTF-8 JSON (the message), then the message's binary attachments back to back
(their lengths are the message's ``"$blobs"`` list). The JSON is Python's dialect: ``NaN``,
``Infinity`` and ``-Infinity`` are written as such (both ends are Python). Values are
tagged so they come back with the same type:

* ``bytes`` (PNG or not) → ``{"$blob": i}``, attachment ``i`` of the frame, raw (no base64,
  no JSON escaping: a 10 MB image costs a copy, not a parse); back to ``bytes``. Without
  attachments (``encode(value)`` alone) bytes are ``{"$bytes": "<base64>"}``;
* a ``dict`` whose only key starts with ``$`` → ``{"$dict": {...}}`` (so data cannot
  forge a tag);
* tuples → lists; numpy arrays and scalars → lists and Python numbers (``.tolist()`` /
  ``.item()``); non-string dict keys ``int``/``float``/``bool``/``None`` → their JSON text;
* anything else (sets, objects, functions) is refused with ``TypeError`` naming where it
  sits (``outputs['x'][2]: set is not data``). Nothing is ever pickled.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from json import dumps as _json_dumps  # bound now: a skill patching json.dumps cannot
from json import loads as _json_loads  # garble the node's own reply
from typing import Any, NoReturn

__all__ = ["decode", "encode", "pack_frame", "read_frame", "unpack_frame", "write_frame"]

_HEADER = struct.Struct(">Q")
MAX_LOG = 1 << 20
"""Bytes of a node's stdout/stderr kept (the tail; the rest is cut with a note)."""


# -- wire format ---------------------------------------------------------------------------
def encode(value: Any, where: str = "value", blobs: list[bytes] | None = None) -> Any:
    """``value`` as tagged JSON data (see the module docstring); ``bytes`` go to ``blobs``
    when it is given. Raises ``TypeError`` naming where a non-data value sits."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                if k is None or isinstance(k, (bool, int, float)):
                    k = _json_dumps(k)
                else:
                    raise TypeError(f"{where}: dict key {k!r} ({type(k).__name__}) is not a "
                                    "string")
            out[k] = encode(v, f"{where}[{k!r}]", blobs)
        if len(out) == 1 and next(iter(out)).startswith("$"):
            return {"$dict": out}
        return out
    if isinstance(value, (list, tuple)):
        return [encode(v, f"{where}[{i}]", blobs) for i, v in enumerate(value)]
    if isinstance(value, (bytes, bytearray, memoryview)):
        if blobs is None:
            return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
        blobs.append(bytes(value))
        return {"$blob": len(blobs) - 1}
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy array / scalar
        return encode(value.tolist(), where, blobs)
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return encode(value.item(), where, blobs)
    raise TypeError(f"{where}: {type(value).__name__} is not data (only JSON values, bytes, "
                    "tuples and numpy arrays cross the isolation boundary)")


def decode(value: Any, blobs: list[bytes] | tuple[bytes, ...] = ()) -> Any:
    """The inverse of :func:`encode`. Raises ``ValueError`` for a tag that does not fit
    (the other end is untrusted)."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$blob":
                if type(inner) is not int or not 0 <= inner < len(blobs):
                    raise ValueError(f"no attachment {inner!r}")
                return blobs[inner]
            if key == "$bytes":
                if not isinstance(inner, str):
                    raise ValueError("$bytes is not base64 text")
                return base64.b64decode(inner)
            if key == "$dict":
                if not isinstance(inner, dict):
                    raise ValueError("$dict is not an object")
                return {k: decode(v, blobs) for k, v in inner.items()}
        return {k: decode(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, blobs) for v in value]
    return value


def dumps(message: dict[str, Any]) -> bytes:
    """A message (already encoded data) as JSON bytes."""
    return _json_dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pack_frame(message: dict[str, Any], blobs: Sequence[bytes] = ()) -> list[bytes]:
    """The parts of one frame (write them in order): headers, JSON, attachments."""
    if blobs:
        message = {**message, "$blobs": [len(b) for b in blobs]}
    body = dumps(message)
    size = _HEADER.size + len(body)
    for blob in blobs:  # a loop, not sum(): a skill may have patched builtins.sum
        size += len(blob)
    return [_HEADER.pack(size) + _HEADER.pack(len(body)), body, *blobs]


def unpack_frame(payload: bytes | bytearray | memoryview) -> tuple[Any, list[bytes]]:
    """A frame's payload (after the first length) → ``(message, attachments)``.

    Raises ``ValueError`` when it is not a well-formed frame."""
    view = memoryview(payload)
    if len(view) < _HEADER.size:
        raise ValueError("frame too short")
    (size,) = _HEADER.unpack_from(view)
    end = _HEADER.size + size
    if end > len(view):
        raise ValueError("frame JSON runs past its end")
    message = _json_loads(bytes(view[_HEADER.size:end]))
    blobs: list[bytes] = []
    sizes = message.get("$blobs", []) if isinstance(message, dict) else []
    if not isinstance(sizes, list):
        raise ValueError("$blobs is not a list")
    for n in sizes:
        if type(n) is not int or n < 0 or end + n > len(view):
            raise ValueError("attachment runs past the frame's end")
        blobs.append(bytes(view[end:end + n]))
        end += n
    return message, blobs


def write_frame(fd: int, message: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
    """Write one frame to a blocking file descriptor."""
    for part in pack_frame(message, blobs):
        data = memoryview(part)
        while data:
            data = data[os.write(fd, data):]


def read_frame(fd: int) -> tuple[Any, list[bytes]] | None:
    """Read one frame from a blocking file descriptor: ``(message, attachments)``, or
    ``None`` at end of file."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    (size,) = _HEADER.unpack(head)
    body = _read_exact(fd, size)
    if body is None or len(body) < size:
        raise EOFError("frame cut short")
    return unpack_frame(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if not k:
            return None if got == 0 else bytes(buf[:got])
        got += k
    return bytes(buf)


def frame_size(buffer: bytes | bytearray) -> int | None:
    """Total size (header included) of the first frame in ``buffer``, if its header is in."""
    if len(buffer) < _HEADER.size:
        return None
    return _HEADER.size + _HEADER.unpack_from(buffer)[0]


def code_hash(runtime: str, requires: list[str], code: str) -> str:
    """The same SHA-256 as ``Skill.code_hash`` (kept in step by a test)."""
    import hashlib

    h = hashlib.sha256()
    for part in (runtime, "\0".join(requires), code):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


# -- zygote --------------------------------------------------------------------------------
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    """``prctl(option, value)`` on Linux; a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _subreaper() -> None:
    """Make this process the reaper of its orphaned descendants."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (scans /proc; /proc/PID/task/*/children is not always
    compiled in)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which may itself hold ") ".
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(name))
    return out


def _kill_descendants() -> None:
    """SIGKILL and reap every descendant of this (subreaper) process (Linux: needs /proc;
    elsewhere only the node's process group is killed, by the supervisor)."""
    if not os.path.isdir("/proc/self"):
        return
    me = os.getpid()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child left: as a subreaper, no descendant left either
        if pid:
            continue
        for kid in _children(me):
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def zygote(ctrl_fd: int, drop_to: tuple[int, int] | None, preload: list[str],
           trusted: bool = False) -> None:
    """Serve ``run``/``kill`` commands on the control socket until it closes.

    ``trusted`` (fixed per zygote by its command line, never by a request): nodes keep the
    user's environment and working directory and get no rlimits (see :func:`run_node`)."""
    if drop_to is not None:
        # Started as real root (bubblewrap without a user namespace): become an ordinary
        # user, so RLIMIT_NPROC applies (root is exempt) and root-only files stay closed.
        uid, gid = drop_to
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    _subreaper()
    # Not dumpable, and so neither are the processes forked from it: a node cannot ptrace
    # or read the memory of the zygote, its supervisor or a node running beside it (same
    # user) to reach later nodes. (Dropping root above already did this; an ordinary user
    # needs it said.)
    if not trusted:  # a trusted node is the user's own code: debuggers may attach
        _prctl(_PR_SET_DUMPABLE, 0)
    loaded = []
    for name in preload:
        try:
            __import__(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001, S110 -- a missing optional package only costs speed
            pass
    # What every node imports, imported once here instead of after each fork.
    import faulthandler  # noqa: F401
    import gc
    import hashlib  # noqa: F401
    import io  # noqa: F401
    import linecache  # noqa: F401
    import resource  # noqa: F401
    import shutil  # noqa: F401
    import tempfile  # noqa: F401
    import traceback  # noqa: F401

    # Objects that exist now are never collected in a forked node: the collector need not
    # touch (and so copy-on-write-fault) their pages after each fork.
    gc.freeze()
    ctrl = socket.socket(fileno=ctrl_fd)
    nodes: dict[int, int] = {}  # request id -> supervisor pid

    def reap(*_: Any) -> None:
        abnormal = False
        try:
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if not pid:
                    break
                key = next((k for k, v in nodes.items() if v == pid), None)
                if key is None or status != 0:
                    abnormal = True  # a supervisor that did not clean up, or an orphan
                if key is not None:
                    del nodes[key]
        except ChildProcessError:
            return
        if not abnormal:
            return  # a supervisor that exited 0 killed its node's processes itself
        # Orphans adopted because a supervisor died abnormally: no node owns them.
        known = set(nodes.values())
        for kid in _children(os.getpid()):
            if kid not in known:
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGCHLD, reap)
    ctrl.sendall(dumps({"kind": "ready", "pid": os.getpid(), "uid": os.getuid(),
                        "preloaded": loaded}))
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 4)
        except ConnectionError:
            msg, fds = b"", []
        if not msg:
            break  # the parent closed the control socket (or died): stop everything
        request = json.loads(msg)
        if request["op"] == "run":
            if len(fds) not in (2, 3):
                for fd in fds:
                    os.close(fd)
                continue
            # A third fd: the log file, given by a parent that reads it while the node runs.
            data_fd, report_fd, *given_log = fds
            # Block SIGCHLD until the supervisor is registered: otherwise `reap` could run
            # between fork and registration and kill it as an unknown orphan.
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
            try:
                pid = os.fork()
            except OSError as exc:  # e.g. RLIMIT_NPROC reached by a fork bomb elsewhere
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
                try:
                    write_frame(report_fd, {"kind": "exit", "start_error": f"could not start "
                                            f"the node process: {exc}"})
                except OSError:
                    pass
                for fd in fds:
                    os.close(fd)
                continue
            if pid == 0:
                try:
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
                    ctrl.close()
                    supervise(data_fd, report_fd, request, trusted,
                              given_log[0] if given_log else None)
                finally:
                    os._exit(70)
            nodes[request["id"]] = pid
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
            for fd in fds:
                os.close(fd)
        elif request["op"] == "preload" and trusted:
            _preload(request.get("modules"))
        elif request["op"] == "kill":
            node_pid = nodes.get(request["id"])
            if node_pid is not None:
                try:
                    os.kill(node_pid, signal.SIGUSR1)
                except ProcessLookupError:
                    pass
    # Shutting down: each supervisor kills its node and what it started; then whatever is
    # left (a supervisor that did not answer, adopted orphans) is killed here. Outside
    # bubblewrap's PID namespace nothing else would.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in nodes.values():
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass
    import time

    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.005)
        except ChildProcessError:
            break
    for pid in nodes.values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _kill_descendants()
    os._exit(0)


_PRELOAD_BYTES = 48 * 1024  # the names of one preload request fit a control message


def exit_status(exc: SystemExit) -> int:
    """The process exit status of a skill's ``sys.exit(code)``, as Python itself maps it:
    ``None`` → 0, an int → itself (low 8 bits), anything else is printed to stderr → 1."""
    code = exc.code
    if code is None:
        return 0
    if not isinstance(code, int):
        print(code, file=sys.stderr)
        return 1
    return code & 0xFF


def _new_modules(before: set[str]) -> list[str]:
    """Modules this (trusted) node imported, in import order, as many as fit a control
    message: the parent asks the zygote to import them, so the next nodes of a skill
    that imports scipy or matplotlib do not pay that import again (0.2-0.3 s each)."""
    out, size = [], 0
    for name in list(sys.modules):
        if name in before or name.startswith("llmos_skill") or name == "__main__":
            continue
        size += len(name) + 3
        if size > _PRELOAD_BYTES:
            break
        out.append(name)
    return out


def _preload(modules: Any) -> None:
    """Import ``modules`` in the (trusted) zygote, so later forks have them; a module that
    fails to import is skipped. Only trusted zygotes take this request: the names come from
    a node's result, which an untrusted node controls."""
    if not isinstance(modules, list):
        return
    import gc
    import importlib

    for name in modules:
        if not isinstance(name, str) or name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001, S110 -- SystemExit too: only speed is at stake
            pass
    gc.freeze()


# -- supervisor ----------------------------------------------------------------------------
def supervise(data_fd: int, report_fd: int, request: dict[str, Any],
              trusted: bool = False, log_fd: int | None = None) -> None:
    """One node: fork the node process, wait for it, clean up, report. Never returns.

    The node gets ``data_fd`` (request in, result out); only the supervisor has
    ``report_fd``, so the skill cannot forge the exit report that ends the node for the
    parent (and with it the parent's timeout). ``log_fd``: the file the node's stdout and
    stderr go to when the parent gave one (it reads the output live from its own copy);
    else a fresh memfd. Either way its tail is in the exit report."""
    import shutil
    import tempfile

    os.setsid()  # own process group: the zygote can kill the whole node at once
    _subreaper()
    state = {"node": 0, "killed": False}

    def kill_node(*_: Any) -> None:  # SIGUSR1 from the zygote: timeout or cancel
        state["killed"] = True
        if state["node"]:
            try:  # the node's process group: the node and children that kept its group
                os.killpg(state["node"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    signal.signal(signal.SIGUSR1, kill_node)
    # A trusted node runs in the user's working directory and needs no scratch dir (only
    # the log file's home off Linux, then in the system's temp dir, not the user's tree):
    # creating and removing one costs ~1 ms on an overlay /tmp.
    workdir = None
    if not trusted or not hasattr(os, "memfd_create"):
        workdir = tempfile.mkdtemp(prefix="llmos-node-" if trusted else "node-",
                                   dir=None if trusted else os.getcwd())
    if log_fd is not None:
        pass
    elif hasattr(os, "memfd_create"):
        log_fd = os.memfd_create("llmos-node-log", 0)
    else:  # not Linux: an unlinked file in the scratch directory
        log_fd, log_path = tempfile.mkstemp(prefix="log-", dir=workdir)
        os.unlink(log_path)
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)
            os.close(report_fd)
            run_node(data_fd, log_fd, workdir, request.get("limits", {}), trusted)
        finally:
            os._exit(71)
    os.close(data_fd)
    try:
        os.setpgid(pid, pid)  # also here: whichever runs first, the group exists for kill_node
    except OSError:
        pass
    state["node"] = pid
    if state["killed"]:
        kill_node()
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    try:  # what the node started and left in its group
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _kill_descendants()  # and, as a subreaper, what left the group (setsid, double fork)
    report: dict[str, Any] = {"kind": "exit", "killed": state["killed"],
                              "maxrss_kib": usage.ru_maxrss,
                              "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}
    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["status"] = os.waitstatus_to_exitcode(status)
    size = os.lseek(log_fd, 0, os.SEEK_END)
    start = max(0, size - MAX_LOG)
    log = os.pread(log_fd, size - start, start).decode("utf-8", "backslashreplace")
    if start:
        log = f"[... {start} bytes of output cut ...]\n" + log
    report["log"] = log
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        write_frame(report_fd, report)
    except OSError:
        pass
    os._exit(0)


# -- node ----------------------------------------------------------------------------------
def _set_limits(limits: dict[str, Any]) -> None:
    """Apply the node's rlimits; one that the system refuses is said in the node's log."""
    import resource

    def setl(which: int, value: int | None, hard_extra: int = 0) -> None:
        if value is None:
            return
        try:
            _soft, hard = resource.getrlimit(which)
            new_hard = value + hard_extra
            if hard != resource.RLIM_INFINITY:
                new_hard = min(new_hard, hard)
            resource.setrlimit(which, (min(value, new_hard), new_hard))
        except (ValueError, OSError) as exc:
            print(f"llmos: could not set resource limit {which} to {value}: {exc}",
                  file=sys.stderr)

    setl(resource.RLIMIT_AS, limits.get("memory"))
    cpu = limits.get("cpu_s")
    # Soft limit: SIGXCPU; the hard limit one second later: SIGKILL if SIGXCPU is caught.
    setl(resource.RLIMIT_CPU, None if cpu is None else max(1, int(-(-cpu // 1))), 1)
    setl(resource.RLIMIT_NPROC, limits.get("max_processes"))
    setl(resource.RLIMIT_FSIZE, limits.get("file_size"))
    setl(resource.RLIMIT_NOFILE, limits.get("open_files"))
    setl(resource.RLIMIT_CORE, 0)


def run_node(sock_fd: int, log_fd: int, workdir: str | None, limits: dict[str, Any],
             trusted: bool = False) -> None:
    """Run one skill: read the request, execute, write the result frame. Never returns.

    Untrusted: in ``workdir`` (HOME and TMPDIR there) under ``limits``. Trusted: in the
    zygote's working directory with the user's environment and no rlimits (the parent's
    wall-clock timeout and cancel still kill it)."""
    import faulthandler
    import io
    import linecache
    import traceback

    # stdout and stderr (Python's and C's, and child processes') go to the log, unbuffered,
    # so what was printed before a crash or os._exit is kept.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    keep = sorted({0, 1, 2, sock_fd})
    for lo, hi in zip(keep, keep[1:] + [max(1 << 16, os.sysconf("SC_OPEN_MAX"))], strict=True):
        os.closerange(lo + 1, hi)  # no control socket, no other node's fds
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 -- lives with the process
    faulthandler.enable(sys.stderr)  # a segfault leaves the Python stack in the log
    if not trusted and workdir is not None:
        os.chdir(workdir)
        os.mkdir("tmp")
        os.environ.update(HOME=workdir, TMPDIR=os.path.join(workdir, "tmp"))
        import tempfile

        tempfile.tempdir = None  # re-read TMPDIR
        _set_limits(limits)

    def reply(message: dict[str, Any], blobs: Sequence[bytes] = ()) -> NoReturn:
        write_frame(sock_fd, message, blobs)
        os._exit(0)  # no atexit handlers or finalizers of the skill run after the result

    try:
        frame = read_frame(sock_fd)
        if frame is None:
            os._exit(72)
        request, in_blobs = frame
        code, path, line = request["code"], request["path"], int(request.get("line", 1))
        if code_hash(request["runtime"], request["requires"], code) != request["hash"]:
            reply({"kind": "result", "ok": False, "type": "SkillError",
                   "error": "SkillError: the code does not match its hash", "traceback": ""})
        inputs = decode(request["inputs"], in_blobs)
        del frame, in_blobs
        before = set(sys.modules) if trusted else None
        source = "\n" * (line - 1) + code
        # The .md file is not in the sandbox: give tracebacks its lines from the request.
        linecache.cache[path] = (len(source), None, source.splitlines(keepends=True), path)
        namespace: dict[str, Any] = {"__name__": request.get("module", "llmos_skill")}
        exec(compile(source, path, "exec"), namespace)  # noqa: S102 -- running it is the point
        fn = namespace.get("execute")
        if not callable(fn):
            reply({"kind": "result", "ok": False, "type": "SkillError",
                   "error": "SkillError: the code block does not define execute(inputs)",
                   "traceback": ""})
        raw = fn(inputs)
        if not isinstance(raw, dict):
            reply({"kind": "result", "ok": False, "type": "TypeError",
                   "error": f"TypeError: execute() returned {type(raw).__name__}, expected a "
                            "dict of outputs", "traceback": ""})
        blobs: list[bytes] = []
        outputs = {str(k): encode(v, f"output {k!r}", blobs) for k, v in raw.items()}
        result: dict[str, Any] = {"kind": "result", "ok": True, "outputs": outputs}
        if before is not None:  # trusted: what it imported, for the zygote to preload
            result["imported"] = _new_modules(before)
        reply(result, blobs)
    except SystemExit as exc:
        os._exit(exit_status(exc))
    except MemoryError:
        reply({"kind": "result", "ok": False, "type": "MemoryError", "memory": True,
               "error": "MemoryError", "traceback": ""})
    except BaseException as exc:  # noqa: BLE001 -- everything the skill raises is its failure
        tb = exc.__traceback__
        # Drop this file's frames: the traceback starts in the skill's code.
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        try:
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            message = str(exc)  # as the engine words an in-process failure
            error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        except Exception:  # noqa: BLE001 -- a hostile __str__ must not hide the failure
            text, error = "", type(exc).__name__
        reply({"kind": "result", "ok": False, "type": type(exc).__name__, "error": error,
               "traceback": text})


def main(argv: list[str]) -> None:
    """``worker.py zygote CTRL_FD [--drop UID:GID] [--preload a,b] [--trusted]``.

    ``--trusted``: the trusted mode (see :func:`zygote`); ``sys.path`` becomes the JSON list
    in ``LLMOS_SYS_PATH`` (the parent's), so nodes import what the user's process would —
    and not this file's directory, which running it as a script puts first."""
    if len(argv) < 2 or argv[0] != "zygote":
        sys.exit("usage: worker.py zygote CTRL_FD [--drop UID:GID] [--preload MOD,MOD] "
                 "[--trusted]")
    ctrl_fd = int(argv[1])
    drop, preload, trusted = None, [], False
    rest = argv[2:]
    while rest:
        if rest[0] == "--trusted":
            trusted, rest = True, rest[1:]
            path = os.environ.pop("LLMOS_SYS_PATH", None)
            if path is not None:
                sys.path[:] = _json_loads(path)
            continue
        opt, value, rest = rest[0], rest[1], rest[2:]
        if opt == "--drop":
            uid, gid = value.split(":")
            drop = (int(uid), int(gid))
        elif opt == "--preload":
            preload = [m for m in value.split(",") if m]
    zygote(ctrl_fd, drop, preload, trusted)


if __name__ == "__main__":
    main(sys.argv[1:])
