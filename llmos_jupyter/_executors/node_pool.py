"""Trusted nodes in warm node processes: killable like a fresh process, no fork per node.

The isolated runner (``_isolation``) forks a supervisor and a fresh node process for every
node. On a 2-core machine a fork and exit of a Python process with numpy loaded costs
2-5 ms, twice per node: more than Dask's own cost of a task (benchmarks/README.md). For
*trusted* nodes — the user's own skills, which under the ``threads`` executor all share
one process anyway — the ``processes`` and ``dask`` executors use this pool instead:

    zygote         this file run as a script, with the user's environment, cwd and
     │             ``sys.path``; imports numpy (and what nodes imported) once; a subreaper
     └ node process  forked on demand and then *kept*: it runs one node after another (each
                   skill's code in a fresh namespace); its own process group; a subreaper,
                   so what a node started is killed when the node returns

What this keeps of the isolated runner: every node runs in a child process (CPU-bound
nodes use every core), a timeout or cancel kills that process with everything it started
(the zygote SIGKILLs the node's process group and reaps orphans) and a fresh one is forked
for later nodes; a crash (segfault, ``os._exit``) is reported with the same words
(``_isolation.runner``). What it gives up: nodes that run one after another in the same
node process see each other's module-level state (a module a skill patched, the working
directory it changed) — as they do on ``threads``. A node process is replaced after
``max_nodes`` nodes, when a node leaves a thread running, or when it ran out of memory.

The zygote is started by ``_isolation/zygote.py`` (``start_zygote``: the bounded ready
handshake the isolated runner uses too).

Each node process's stdout and stderr go to a memfd the parent also holds: the parent reads
new output while the node runs (live logs, ``on_log``) and the whole of it at the end.
POSIX only (fork, ``SCM_RIGHTS``); memfd on Linux, an unlinked file elsewhere.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any, Self

__all__ = ["NodePool"]

# -- the zygote program (runs as a script: stdlib and _isolation/worker.py only) -----------
_WORKER_PY = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           os.pardir, "_isolation", "worker.py"))


def _load_worker() -> Any:
    """``_isolation/worker.py`` (the wire format) by path: importing the package would load
    all of llmos_jupyter into every node process."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("llmos_isolation_worker", _WORKER_PY)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# Compiled skills of this node process: (hash, file, line) → (code, code object, linecache
# entry).
# A skill's later nodes skip the SHA-256 and compile() (≈1 ms for a 200-line skill); the
# code text is still compared, so a request whose code differs is hashed and checked.
_COMPILED: dict[tuple[str, str, int], tuple[str, Any, Any]] = {}
_COMPILED_MAX = 64


def _run_one(w: Any, request: dict[str, Any], blobs: list[bytes]
             ) -> tuple[dict[str, Any], list[bytes], bool]:
    """One node in this process: ``(result message, attachments, keep this process?)``.

    The messages are the isolated worker's (``_isolation/worker.py`` ``run_node``), so the
    parent reads them with the same code. ``SystemExit`` ends the process with its code,
    as it would end a fresh node process."""
    import linecache
    import threading
    import traceback

    try:
        code, path, line = request["code"], request["path"], int(request.get("line", 1))
        slot = (request["hash"], path, line)
        cached = _COMPILED.get(slot)
        if cached is not None and cached[0] == code:
            compiled, lines = cached[1], cached[2]  # a skill seen before: no hash, no compile
        else:
            if w.code_hash(request["runtime"], request["requires"], code) != request["hash"]:
                return ({"kind": "result", "ok": False, "type": "SkillError",
                         "error": "SkillError: the code does not match its hash",
                         "traceback": ""}, [], True)
            source = "\n" * (line - 1) + code
            compiled = compile(source, path, "exec")
            lines = (len(source), None, source.splitlines(keepends=True), path)
            while len(_COMPILED) >= _COMPILED_MAX:
                del _COMPILED[next(iter(_COMPILED))]
            _COMPILED[slot] = (code, compiled, lines)
        inputs = w.decode(request["inputs"], blobs)
        del blobs
        before = set(sys.modules)
        threads = threading.active_count()
        linecache.cache[path] = lines  # tracebacks show the skill's lines
        namespace: dict[str, Any] = {"__name__": request.get("module", "llmos_skill")}
        exec(compiled, namespace)  # noqa: S102 -- running it is the point
        fn = namespace.get("execute")
        if not callable(fn):
            return ({"kind": "result", "ok": False, "type": "SkillError",
                     "error": "SkillError: the code block does not define execute(inputs)",
                     "traceback": ""}, [], True)
        raw = fn(inputs)
        keep = threading.active_count() <= threads  # a thread left running: start afresh
        if not isinstance(raw, dict):
            return ({"kind": "result", "ok": False, "type": "TypeError",
                     "error": f"TypeError: execute() returned {type(raw).__name__}, expected "
                              "a dict of outputs", "traceback": ""}, [], keep)
        out_blobs: list[bytes] = []
        outputs = {str(k): w.encode(v, f"output {k!r}", out_blobs) for k, v in raw.items()}
        return ({"kind": "result", "ok": True, "outputs": outputs,
                 "imported": w._new_modules(before)}, out_blobs, keep)
    except SystemExit as exc:
        os._exit(w.exit_status(exc))
    except MemoryError:
        return ({"kind": "result", "ok": False, "type": "MemoryError", "memory": True,
                 "error": "MemoryError", "traceback": ""}, [], False)
    except BaseException as exc:  # noqa: BLE001 -- everything the skill raises is its failure
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next  # the traceback starts in the skill's code
        try:
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            message = str(exc)
            error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        except Exception:  # noqa: BLE001 -- a hostile __str__ must not hide the failure
            text, error = "", type(exc).__name__
        return ({"kind": "result", "ok": False, "type": type(exc).__name__, "error": error,
                 "traceback": text}, [], True)


def _serve_nodes(w: Any, data_fd: int, log_fd: int) -> None:
    """A node process: run requests from ``data_fd`` until it closes. Never returns."""
    import faulthandler
    import fcntl
    import io

    os.setpgid(0, 0)  # a kill takes the node's group: what it started goes with it
    w._subreaper()  # and what left the group comes back here, to be killed after the node
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    # Appending: the parent truncates the log before each node, wherever our offset is.
    fcntl.fcntl(log_fd, fcntl.F_SETFL, fcntl.fcntl(log_fd, fcntl.F_GETFL) | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    keep = sorted({0, 1, 2, data_fd})
    for lo, hi in zip(keep, keep[1:] + [max(1 << 16, os.sysconf("SC_OPEN_MAX"))], strict=True):
        os.closerange(lo + 1, hi)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 -- lives with the process
    faulthandler.enable(sys.stderr)
    try:
        while (frame := w.read_frame(data_fd)) is not None:
            request, blobs = frame
            del frame
            message, out_blobs, keep_going = _run_one(w, request, blobs)
            del request, blobs
            _kill_leftovers(w)
            if not keep_going:
                message["retire"] = True  # the parent must not send this process another node
            w.write_frame(data_fd, message, out_blobs)
            if not keep_going:
                break
    except (OSError, EOFError, ValueError):
        pass  # the parent went away mid-frame
    os._exit(0)


def _kill_leftovers(w: Any) -> None:
    """Kill the processes a node started (one ``waitpid`` when it started none)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        return
    w._kill_descendants()


def zygote(ctrl_fd: int, preload: list[str]) -> None:
    """Serve the control socket until it closes.

    Requests: ``{"op": "fork"}`` → a node process, answered ``{"kind": "node", "pid"}`` with
    its request socket and log fds; ``{"op": "kill", "pid"}`` → SIGKILL to that node's
    process group; ``{"op": "preload", "modules"}`` → import them for later forks. When a
    node process ends: ``{"kind": "exit", "pid", "status"|"signal", "cpu_s",
    "maxrss_kib"}``."""
    w = _load_worker()
    w._subreaper()
    for name in preload:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001, S110 -- a missing optional package only costs speed
            pass
    import faulthandler  # noqa: F401
    import fcntl  # noqa: F401 -- what every node process imports, once here
    import gc
    import io  # noqa: F401
    import linecache  # noqa: F401
    import threading  # noqa: F401
    import traceback  # noqa: F401

    gc.freeze()  # objects of the zygote are never collected (no copy-on-write of their pages)
    ctrl = socket.socket(fileno=ctrl_fd)
    live: set[int] = set()

    def reap(*_: Any) -> None:
        abnormal = False
        try:
            while True:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
                if not pid:
                    break
                report: dict[str, Any] = {"kind": "exit", "pid": pid,
                                          "maxrss_kib": usage.ru_maxrss,
                                          "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}
                if os.WIFSIGNALED(status):
                    report["signal"] = os.WTERMSIG(status)
                    abnormal = True
                else:
                    report["status"] = os.waitstatus_to_exitcode(status)
                if pid in live:
                    live.discard(pid)
                    try:
                        ctrl.sendall(w.dumps(report))
                    except OSError:
                        pass
                else:
                    abnormal = True
        except ChildProcessError:
            return
        if abnormal:  # what a killed node process started came back here: no node owns it
            for kid in w._children(os.getpid()):
                if kid not in live:
                    try:
                        os.kill(kid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    signal.signal(signal.SIGCHLD, reap)
    ctrl.sendall(w.dumps({"kind": "ready", "pid": os.getpid()}))
    while True:
        try:
            msg = ctrl.recv(1 << 16)
        except ConnectionError:
            msg = b""
        if not msg:
            break
        request = w._json_loads(msg)
        op = request.get("op")
        if op == "fork":
            _fork_node(w, ctrl, live)
        elif op == "kill":
            pid = request.get("pid")
            if pid in live:
                for kill in (os.killpg, os.kill):  # the group; the process if not led yet
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        elif op == "preload":
            w._preload(request.get("modules"))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the parent went away: everything goes
    for pid in live:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    w._kill_descendants()
    os._exit(0)


def _fork_node(w: Any, ctrl: socket.socket, live: set[int]) -> None:
    data, data_node = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if hasattr(os, "memfd_create"):
        log_fd = os.memfd_create("llmos-node-log", 0)
    else:
        import tempfile

        log_fd, log_path = tempfile.mkstemp(prefix="llmos-node-log-")
        os.unlink(log_path)
    # SIGCHLD waits until the pid is registered (or reap would take it for an orphan).
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    try:
        pid = os.fork()
    except OSError as exc:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        for s in (data, data_node):
            s.close()
        os.close(log_fd)
        ctrl.sendall(w.dumps({"kind": "error", "error": f"could not fork a node process: "
                                                        f"{exc}"}))
        return
    if pid == 0:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
            ctrl.close()
            data.close()
            _serve_nodes(w, data_node.detach(), log_fd)
        finally:
            os._exit(70)
    try:
        os.setpgid(pid, pid)  # also here: a kill right away finds the group
    except OSError:
        pass
    live.add(pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
    data_node.close()
    try:
        socket.send_fds(ctrl, [w.dumps({"kind": "node", "pid": pid})],
                        [data.fileno(), log_fd])
    finally:
        data.close()
        os.close(log_fd)


def main(argv: list[str]) -> None:
    """``node_pool.py CTRL_FD [--preload a,b]``; ``sys.path`` from ``LLMOS_SYS_PATH``."""
    import json

    path = os.environ.pop("LLMOS_SYS_PATH", None)
    if path is not None:
        sys.path[:] = json.loads(path)
    preload = argv[2].split(",") if len(argv) >= 3 and argv[1] == "--preload" else []
    zygote(int(argv[0]), [m for m in preload if m])


if __name__ == "__main__":
    main(sys.argv[1:])


# -- the parent side ----------------------------------------------------------------------
_TICK = 0.05  # seconds between cancel checks and live-log reads while a node runs
_GRACE = 5.0  # seconds a killed node process gets to die before the zygote is reset
_FORK_TIMEOUT = 30.0  # seconds to wait for a forked node process to be handed over
_EXIT_WAIT = 1.0  # seconds to wait for the zygote's exit report of a node process that died


class _Node:
    """One node process: its pid, the parent's end of its request socket, its log fd."""

    __slots__ = ("data", "log_fd", "pid", "uses")

    def __init__(self, pid: int, data: socket.socket, log_fd: int) -> None:
        self.pid, self.data, self.log_fd, self.uses = pid, data, log_fd, 0

    def close(self) -> None:  # the node process reads end-of-file and exits
        self.data.close()
        try:
            os.close(self.log_fd)
        except OSError:
            pass


class NodePool:
    """Runs trusted Python skills in warm node processes (see the module docstring).

    Args:
        max_nodes: nodes one node process runs before it is replaced by a fresh fork.
        preload: modules the zygote imports once (default: ``numpy`` when installed).

    :meth:`run` has the isolated runner's contract (``NodeRun``; ``SkillRaised``,
    ``NodeCrashed``, ``NodeTimedOut``, ``NodeCancelled``, ``RequirementMissing``, the same
    reasons in the same words) plus ``on_log`` for live output. Thread-safe: concurrent
    calls each get their own node process (the pool grows to the peak concurrency).
    :meth:`close` kills the zygote, the node processes and whatever they started.
    """

    sandbox = "trusted"
    isolation_warning = None

    def __init__(self, *, max_nodes: int = 500, preload: tuple[str, ...] | None = None) -> None:
        import threading

        if max_nodes < 1:
            raise ValueError(f"max_nodes={max_nodes!r}: expected at least 1")
        if preload is None:
            import importlib.util

            preload = tuple(m for m in ("numpy",) if importlib.util.find_spec(m) is not None)
        self.max_nodes = max_nodes
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._z: dict[str, Any] | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    def _start(self) -> dict[str, Any]:
        import json
        import queue
        import threading

        from llmos_jupyter._isolation import SandboxUnavailable
        from llmos_jupyter._isolation.zygote import ZygoteStartError, start_zygote

        if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
            raise SandboxUnavailable("node processes need a POSIX system (fork and Unix "
                                     "sockets)")
        env = dict(os.environ)
        env["LLMOS_SYS_PATH"] = json.dumps([os.path.abspath(p) if p else os.getcwd()
                                            for p in sys.path])
        argv = [sys.executable, "-B", os.path.abspath(__file__), "{ctrl}"]
        if self.preload:
            argv += ["--preload", ",".join(self.preload)]
        try:
            zygote = start_zygote(argv, env=env, what="the node pool's zygote", kind="pool")
        except (ZygoteStartError, OSError) as exc:
            raise SandboxUnavailable(f"cannot start the node worker: {exc}") from None
        z: dict[str, Any] = {"zygote": zygote, "idle": queue.SimpleQueue(),
                             "exits": {}, "exited": threading.Condition(),
                             "known": set(self.preload)}
        threading.Thread(target=_receive, args=(z,), name="llmos-node-pool",
                         daemon=True).start()
        return z

    def _zygote(self) -> dict[str, Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this NodePool is closed")
            z = self._z
            if z is None or not z["zygote"].alive():
                if z is not None:
                    _stop(z)
                z = self._z = self._start()
            return z

    def _reset(self, z: dict[str, Any]) -> None:
        with self._lock:
            if self._z is z:
                self._z = None
        _stop(z)

    def start(self, nodes: int = 1) -> None:
        """Start the zygote and fork ``nodes`` node processes now (else the first node
        does: ≈0.1-0.3 s, more with a large preload)."""
        z = self._zygote()
        for _ in range(nodes):
            _send(z, {"op": "fork"})

    def close(self) -> None:
        """Kill the zygote, every node process and what they started. Idempotent."""
        with self._lock:
            self._closed = True
            z, self._z = self._z, None
        if z is not None:
            _stop(z)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        z = getattr(self, "_z", None)
        if z is not None:
            try:
                z["zygote"].ctrl.close()  # the zygote kills everything and exits
            except Exception:  # noqa: BLE001, S110 -- interpreter shutdown
                pass

    def _take(self, cancel: Any) -> tuple[dict[str, Any], _Node]:
        """An idle node process, or a new fork (waiting for it, cancellable)."""
        import queue

        from llmos_jupyter._isolation import NodeCancelled, NodeCrashed

        for attempt in (1, 2):  # a dead zygote is restarted once
            z = self._zygote()
            try:
                node = z["idle"].get_nowait()
            except queue.Empty:
                _send(z, {"op": "fork"})
                waited = 0.0
                while True:
                    try:
                        node = z["idle"].get(timeout=_TICK)
                        break
                    except queue.Empty:
                        waited += _TICK
                        if cancel is not None and cancel.is_set():
                            raise NodeCancelled("cancelled") from None
                        if waited > _FORK_TIMEOUT:
                            self._reset(z)
                            raise NodeCrashed(f"lost: no node process started within "
                                              f"{_FORK_TIMEOUT:g} s") from None
            if isinstance(node, _Node):
                with z["exited"]:
                    dead = z["exits"].pop(node.pid, None) is not None
                if not dead:
                    return z, node
                node.close()  # it died idle (killed from outside): take another
                return self._take(cancel)
            if node is None:  # the zygote is gone
                self._reset(z)
                if attempt == 2:
                    raise NodeCrashed("lost: the node worker died (the next node starts a new "
                                      "one)")
                continue
            raise NodeCrashed(str(node))
        raise AssertionError("unreachable")

    # -- running ---------------------------------------------------------------------------
    def run(self, skill: Any, inputs: Any, *, cancel: Any = None, timeout: float | None = None,
            on_log: Any = None, limits: Any = None, tagged: bool = False) -> Any:
        """Run one node of the Python ``skill`` on ``inputs`` in a node process.

        Args:
            inputs: port → value (JSON data, ``bytes``, tuples, numpy arrays).
            cancel: a ``threading.Event``; when set, the node's process (group) is killed
                (checked every 50 ms).
            timeout: wall-clock seconds (``None``: none); the node is killed at it.
            on_log: ``callable(text)``, called from this thread with each new piece of the
                node's stdout/stderr while it runs (at most every 50 ms) and at its end,
                bounded (``_isolation.live_log``: ≤ 16 KiB a piece, 256 KiB a node, then
                ``… N lines dropped``).
            limits: ignored (trusted nodes have no rlimits); accepted for the runner's
                signature.
            tagged: ``inputs`` are already tagged JSON (``_isolation.worker.encode``
                without attachments) and the returned outputs are too: a value passes
                through without being decoded and encoded again (the Dask task, whose
                inputs and result are tagged JSON anyway; ≈0.3-0.5 s per million
                integers per walk).

        Returns:
            ``NodeRun``: outputs, the log (tail ≤ 1 MiB), wall ms, and — when the node's
            process ended with it — its CPU seconds and peak RSS (else 0).
        """
        import time

        from llmos_jupyter._exceptions import SkillError
        from llmos_jupyter._isolation import NodeCancelled, NodeRun
        from llmos_jupyter._isolation import worker as wire

        del limits
        if skill.code is None or skill.runtime != "python":
            raise SkillError(f"skill {skill.skill_id!r} has no Python code to run "
                             f"(runtime {skill.runtime!r})", path=getattr(skill, "path", None))
        if skill.requires:
            from llmos_jupyter._engine.requirements import check_requires

            check_requires(skill.skill_id, skill.requires)
        if cancel is not None and cancel.is_set():
            raise NodeCancelled("cancelled")
        request = {
            "code": skill.code, "path": skill.source_name, "line": skill.code_line,
            "hash": skill.code_hash, "runtime": skill.runtime, "requires": list(skill.requires),
            "module": f"llmos_skill_{skill.skill_id.replace('-', '_')}",
        }
        blobs: list[bytes] = []
        if tagged:
            request["inputs"] = dict(inputs)
        else:
            request["inputs"] = {str(k): wire.encode(v, f"input {k!r}", blobs)
                                 for k, v in inputs.items()}
        frame = b"".join(wire.pack_frame(request, blobs))
        del blobs
        z, node = self._take(cancel)
        t0 = time.perf_counter()
        keep = False
        try:
            os.ftruncate(node.log_fd, 0)  # this node's log only (the process appends)
            frames, stopped = self._exchange(z, node, frame, cancel, t0, timeout, on_log)
            log = _read_log(node.log_fd)
            node.uses += 1
            keep = ("result" in frames and stopped is None and node.uses < self.max_nodes
                    and not frames["result"].get("retire"))
        except BaseException:
            _send_quietly(z, {"op": "kill", "pid": node.pid})
            raise
        finally:
            if keep:
                z["idle"].put(node)
            else:
                node.close()
        ms = (time.perf_counter() - t0) * 1e3
        result = frames.get("result")
        self._learn_imports(z, result)
        if (tagged and stopped is None and isinstance(result, dict) and result.get("ok")
                and isinstance(result.get("outputs"), dict) and not result["$attachments"]):
            return NodeRun(result["outputs"], log, ms, 0.0, 0)  # as it came: tagged JSON
        run = _outcome(frames, stopped, ms, log)
        if tagged:  # attachments (bytes): the tagged form without them
            run = NodeRun(wire.encode(run.outputs, "outputs"), run.log, run.duration_ms,
                          run.cpu_s, run.maxrss_kib)
        return run

    def _learn_imports(self, z: dict[str, Any], result: Any) -> None:
        """Ask the zygote to import what a node imported, so later forks have it."""
        names = result.get("imported") if isinstance(result, dict) else None
        if not isinstance(names, list):
            return
        with self._lock:
            new = [n for n in names if isinstance(n, str) and n not in z["known"]]
            z["known"].update(new)
        if new:
            _send_quietly(z, {"op": "preload", "modules": new})

    def _exchange(self, z: dict[str, Any], node: _Node, frame: bytes, cancel: Any, t0: float,
                  limit: float | None, on_log: Any) -> tuple[dict[str, Any], str | None]:
        """Send the request, stream the log, take the result; kill on timeout or cancel.
        Returns ``({kind: frame}, why the node was stopped or None)``; ``exit`` is the
        zygote's report when the node's process died."""
        import select
        import time

        from llmos_jupyter._isolation.limits import format_seconds
        from llmos_jupyter._isolation.live_log import LiveLog, release_unread
        from llmos_jupyter._isolation.runner import _take_frames

        data = node.data
        data.setblocking(False)
        out = memoryview(frame)
        buf = bytearray()
        frames: dict[str, Any] = {}
        stopped: str | None = None
        grace_end = 0.0
        deadline = None if limit is None else t0 + limit
        live = None if on_log is None else LiveLog(node.log_fd, on_log)
        released = 0  # bytes at the log's head already given back (read as zeros)
        next_log = t0 + _TICK
        eof = False
        while not eof and "result" not in frames:
            now = time.perf_counter()
            if stopped is None:
                if cancel is not None and cancel.is_set():
                    stopped = "cancelled"
                elif deadline is not None and now >= deadline:
                    stopped = f"timed out after {format_seconds(limit)}"  # type: ignore[arg-type]
                if stopped is not None:
                    grace_end = now + _GRACE
                    if not _send_quietly(z, {"op": "kill", "pid": node.pid}):
                        grace_end = now
            if stopped is not None and now >= grace_end:
                self._reset(z)  # the node did not die: take everything down
                break
            if now >= next_log:
                next_log = now + _TICK
                if live is not None:
                    live.poll()
                released = release_unread(node.log_fd, live, released)
            wait = _TICK
            if stopped is None and deadline is not None:
                wait = max(0.0, min(wait, deadline - now))
            readable, writable, _ = select.select([data], [data] if out else [], [], wait)
            if writable:
                try:
                    out = out[data.send(out[: 1 << 20]):]
                except BlockingIOError:
                    pass
                except OSError:  # it died before reading all of it
                    out = memoryview(b"")
            if readable:
                try:
                    chunk = data.recv(1 << 20)
                except BlockingIOError:
                    chunk = None
                except OSError:
                    chunk = b""
                if chunk:
                    buf += chunk
                elif chunk is not None:
                    eof = True
            _take_frames(buf, frames, from_supervisor=False)
        if stopped is not None:
            frames.pop("result", None)  # it was being killed: the result came too late
        if live is not None:
            live.finish()
        if "result" not in frames or eof:
            exit_ = _exit_report(z, node.pid)
            if exit_ is not None:
                frames["exit"] = exit_
        return frames, stopped


def _receive(z: dict[str, Any]) -> None:
    """The zygote's messages: new node processes to the idle queue, exit reports to
    ``exits`` (one thread per zygote)."""
    import json

    ctrl = z["zygote"].ctrl
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 2)
        except OSError:
            msg, fds = b"", []
        if not msg:
            for fd in fds:
                os.close(fd)
            z["idle"].put(None)  # wakes a waiting node: the zygote is gone
            with z["exited"]:
                z["exited"].notify_all()
            return
        message = json.loads(msg)
        kind = message.get("kind")
        if kind == "node" and len(fds) == 2:
            z["idle"].put(_Node(message["pid"], socket.socket(fileno=fds[0]), fds[1]))
            continue
        for fd in fds:
            os.close(fd)
        if kind == "exit":
            with z["exited"]:
                exits = z["exits"]
                exits[message.get("pid")] = message
                while len(exits) > 256:  # processes retired unused: nobody asks
                    del exits[next(iter(exits))]
                z["exited"].notify_all()
        else:
            z["idle"].put(RuntimeError(str(message.get("error") or message)))


def _exit_report(z: dict[str, Any], pid: int) -> dict[str, Any] | None:
    """The zygote's report of ``pid``'s end (waits up to ``_EXIT_WAIT`` s for it)."""
    import time

    deadline = time.monotonic() + _EXIT_WAIT
    with z["exited"]:
        while pid not in z["exits"]:
            left = deadline - time.monotonic()
            if left <= 0 or not z["zygote"].alive():
                return None
            z["exited"].wait(left)
        return z["exits"].pop(pid)


def _send(z: dict[str, Any], message: dict[str, Any]) -> None:
    z["zygote"].send(message)


def _send_quietly(z: dict[str, Any], message: dict[str, Any]) -> bool:
    try:
        _send(z, message)
        return True
    except OSError:
        return False


def _stop(z: dict[str, Any]) -> None:
    """Stop the zygote (it kills its node processes) and close the idle node processes'
    sockets and logs."""
    import queue

    z["zygote"].stop()
    while True:
        try:
            node = z["idle"].get_nowait()
        except queue.Empty:
            break
        if isinstance(node, _Node):
            node.close()


def _read_log(fd: int) -> str:
    """The node's stdout/stderr: its last ``MAX_LOG`` bytes, with a note of what was cut."""
    from llmos_jupyter._isolation.worker import MAX_LOG

    try:
        size = os.fstat(fd).st_size
        start = max(0, size - MAX_LOG)
        text = os.pread(fd, size - start, start).decode("utf-8", "backslashreplace")
    except OSError:
        return ""
    return f"[... {start} bytes of output cut ...]\n" + text if start else text


def _outcome(frames: dict[str, Any], stopped: str | None, ms: float, log: str) -> Any:
    """The isolated runner's reading of the frames (the same errors in the same words),
    with the log read here and no rlimits (trusted nodes have none)."""
    from llmos_jupyter._isolation import Limits
    from llmos_jupyter._isolation.runner import _outcome as isolated_outcome

    lost = None
    if "result" in frames or stopped is not None or "exit" in frames:
        frames.setdefault("exit", {})["log"] = log
    else:
        lost = "the node's process ended without a report"
    return isolated_outcome(frames, stopped, ms, lost, Limits(memory=None))
