"""How the isolated worker is launched: a bubblewrap sandbox, or a plain subprocess.

bubblewrap (``bwrap``, Linux) gives the worker:

* new PID, IPC, UTS, cgroup and network namespaces (``--share-net`` only when the limits
  allow the network), ``--die-with-parent``, ``--new-session`` (no terminal injection);
* a root file system that holds only read-only binds of ``/usr`` (and the ``/bin``,
  ``/lib*`` links or dirs), the dynamic linker's files under ``/etc``, the Python
  installation (prefix, base prefix, site-packages) and the worker script itself; a
  private ``/proc`` and ``/dev``; private size-limited tmpfs ``/tmp``, ``/dev/shm`` and
  ``/scratch``.
  The user's home, ``LLMOS_HOME``, the working tree and the project source are not there.
* a cleared environment: only ``PATH``, ``LANG``, ``HOME``, ``TMPDIR``, ``USER``/``LOGNAME``
  and matplotlib's backend/config dir, so no API key or secret is inherited;
* as an ordinary user, bubblewrap's user namespace, with no nested user namespaces
  (``--disable-userns``, bubblewrap >= 0.8);
* when started as root (CI, containers), no user namespace but only the setuid/setgid
  capabilities, which the worker uses once to become ``nobody`` before anything else:
  root is exempt from ``RLIMIT_NPROC`` and could read root-only files in the view.

The fallback (no bubblewrap, or it fails to start) is the same worker as a plain
subprocess with the same rlimits and cleared environment, in a fresh scratch directory:
it does not isolate files or the network.
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from llmos_jupyter._isolation.limits import Limits

__all__ = ["Launch", "bwrap_launch", "find_bwrap", "subprocess_launch", "trusted_launch"]

WORKER = Path(__file__).with_name("worker.py")
SANDBOX_WORKER = "/llmos/worker.py"
SCRATCH = "/scratch"
_NOBODY = 65534

# /etc files the dynamic linker, time zone and BLAS alternatives need; network ones only
# when the network is allowed (name resolution, TLS roots).
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/alternatives")
_ETC_NET = ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
            "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates")


@dataclass
class Launch:
    """What to run for one zygote: ``argv`` with ``{ctrl}`` for the control socket's fd."""

    kind: str  # "bwrap" | "subprocess" | "trusted"
    argv: list[str]
    env: dict[str, str]
    cwd: str | None = None
    cleanup: list[str] = field(default_factory=list)  # host dirs to remove at close


def find_bwrap() -> str | None:
    """The ``bwrap`` executable, or ``None`` (not Linux, or bubblewrap not installed)."""
    if not sys.platform.startswith("linux"):
        return None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=8)
def _has_option(bwrap: str, option: str) -> bool:
    """Whether this bubblewrap knows ``option`` (asked once per process)."""
    try:
        out = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return option in out.stdout + out.stderr


def _env(home: str, tmp: str) -> dict[str, str]:
    bindir = os.path.dirname(sys.executable)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": tmp,
        "USER": "llmos",
        "LOGNAME": "llmos",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(tmp, "matplotlib"),
    }


def _python_dirs() -> list[str]:
    """The Python installation's directories, outermost only (prefixes, stdlib, sites)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_path(key))
    paths.update(site.getsitepackages())
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)})
    out: list[str] = []
    for p in real:
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return out


def _preload_arg(preload: list[str]) -> list[str]:
    return ["--preload", ",".join(preload)] if preload else []


def bwrap_launch(bwrap: str, limits: Limits, preload: list[str]) -> Launch:
    """The bubblewrap command line of a zygote (see the module docstring).

    Raises ``ValueError`` when a directory of the Python installation contains the home
    directory, ``LLMOS_HOME`` or the working directory (it would be visible inside)."""
    root = os.geteuid() == 0
    argv = [bwrap, "--die-with-parent", "--new-session"]
    if root:
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        if not limits.network:
            argv.append("--unshare-net")
    else:
        argv.append("--unshare-all")
        if limits.network:
            argv.append("--share-net")
        if _has_option(bwrap, "--disable-userns"):  # bubblewrap >= 0.8
            argv += ["--unshare-user", "--disable-userns"]  # no nested user namespaces
    argv += ["--hostname", "llmos-sandbox", "--clearenv"]
    for key, value in _env(SCRATCH, "/tmp").items():
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for path in _ETC + (_ETC_NET if limits.network else ()):
        argv += ["--ro-bind-try", path, path]
    # The private file systems come before the Python installation's binds: a virtual
    # environment under /tmp (or a Python installed there) must show through the tmpfs.
    argv += ["--proc", "/proc", "--dev", "/dev",
             # multiprocessing's semaphores live in /dev/shm: private and writable.
             "--perms", "1777", "--size", str(limits.file_size), "--tmpfs", "/dev/shm",
             "--perms", "1777", "--size", str(limits.file_size), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(limits.file_size), "--tmpfs", SCRATCH]
    made = {"/", "/usr", "/etc", "/tmp", SCRATCH, "/proc", "/dev"}
    private = [os.path.realpath(p) for p in (os.path.expanduser("~"), os.environ.get("LLMOS_HOME"),
                                              os.getcwd()) if p]
    for path in _python_dirs():
        for secret in private:
            if secret == path or secret.startswith(path.rstrip("/") + "/"):
                raise ValueError(f"the Python installation directory {path} contains {secret}; "
                                 "binding it would show that to untrusted skills")
        if path == "/usr" or path.startswith("/usr/"):
            continue
        # Create the parents world-readable: bubblewrap would copy /root's 0700, and the
        # worker (nobody) could not reach the installation below it.
        parents = list(reversed(Path(path).parents))[1:]
        for parent in map(str, parents):
            if parent not in made:
                argv += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        argv += ["--ro-bind", path, path]
        made.add(path)
    argv += ["--perms", "0755", "--dir", "/llmos",
             "--ro-bind", str(WORKER), SANDBOX_WORKER,
             "--chdir", SCRATCH,
             sys.executable, "-I", "-B", SANDBOX_WORKER, "zygote", "{ctrl}"]
    if root:
        argv += ["--drop", f"{_NOBODY}:{_NOBODY}"]
    argv += _preload_arg(preload)
    return Launch("bwrap", argv, {}, None)


def subprocess_launch(limits: Limits, preload: list[str]) -> Launch:
    """The fallback: the worker as a plain subprocess in a fresh scratch directory."""
    import tempfile

    del limits  # applied per node by the worker; nothing to isolate at launch
    scratch = tempfile.mkdtemp(prefix="llmos-scratch-")
    tmp = os.path.join(scratch, "tmp")
    os.mkdir(tmp)
    argv = [sys.executable, "-I", "-B", str(WORKER), "zygote", "{ctrl}", *_preload_arg(preload)]
    return Launch("subprocess", argv, _env(scratch, tmp), scratch, [scratch])


def trusted_launch(preload: list[str]) -> Launch:
    """The trusted mode: the worker as a plain child process with the user's environment,
    working directory and ``sys.path`` (no ``-I``, nothing cleared, no rlimits). It exists
    only so that a trusted node can be *killed* on timeout or cancel (a thread cannot) and
    so CPU-bound nodes run in parallel outside the caller's GIL; it isolates nothing."""
    import json

    env = dict(os.environ)
    env["LLMOS_SYS_PATH"] = json.dumps([os.path.abspath(p) if p else os.getcwd()
                                        for p in sys.path])
    argv = [sys.executable, "-B", str(WORKER), "zygote", "{ctrl}", "--trusted",
            *_preload_arg(preload)]
    return Launch("trusted", argv, env, os.getcwd())
