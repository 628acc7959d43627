"""Hostile skills in the real bubblewrap sandbox: each is contained and fails (or not) with
its named reason, and a benign skill still returns the right answer.

Skipped only where bubblewrap is not installed (CI installs it); if it is installed but
does not start, the tests fail rather than silently testing the fallback.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import zlib
from pathlib import Path

import pytest

from llmos_jupyter._isolation import (
    IsolatedRunner,
    Limits,
    NodeCancelled,
    NodeCrashed,
    NodeTimedOut,
    SkillRaised,
)
from llmos_jupyter._isolation.sandbox import find_bwrap
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import is_png

pytestmark = pytest.mark.skipif(find_bwrap() is None, reason="bubblewrap (bwrap) not installed")

SECRET = "sk-ant-test-0123456789abcdef-hostile-suite"
REPO = Path(__file__).resolve().parents[2]


def skill(code: str, skill_id: str = "hostile", line: int = 12,
          requires: tuple[str, ...] = ()) -> Skill:
    return Skill(skill_id, skill_id, code=code, code_line=line,
                 path=Path("/team/skills") / f"{skill_id}.md", requires=requires)


def body(src: str) -> str:
    """A skill code block from an indented function body."""
    lines = src.strip("\n").splitlines()
    return "def execute(inputs):\n" + "\n".join("    " + ln for ln in lines) + "\n"


@pytest.fixture(scope="module")
def runner():
    # The secret is in the parent's environment when the sandbox starts: it must not pass.
    old = os.environ.get("ANTHROPIC_API_KEY")
    os.environ["ANTHROPIC_API_KEY"] = SECRET
    r = IsolatedRunner(Limits())
    try:
        r.start()
        assert r.sandbox == "bwrap", r.isolation_warning
        yield r
    finally:
        r.close()
        if old is None:
            os.environ.pop("ANTHROPIC_API_KEY", None)
        else:
            os.environ["ANTHROPIC_API_KEY"] = old


def descendants(pid: int) -> set[int]:
    """Host pids below ``pid`` (the sandbox's bubblewrap process)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            parent[int(name)] = int(stat[stat.rfind(b")") + 2:].split()[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - out
        out |= frontier
    return out


def settle(runner: IsolatedRunner, baseline: int, within: float = 2.0) -> int:
    """Wait until the sandbox is back to ``baseline`` processes; return the count."""
    end = time.monotonic() + within
    while True:
        n = len(descendants(runner._zygote.proc.pid))
        if n <= baseline or time.monotonic() > end:
            return n
        time.sleep(0.02)


@pytest.fixture(scope="module")
def baseline(runner):
    runner(skill(body("return {}")), {})
    return settle(runner, 0, within=0.5) or len(descendants(runner._zygote.proc.pid))


# -- benign --------------------------------------------------------------------------------
def test_benign_numpy_mean(runner):
    code = body("import numpy as np\nprint('mean of', len(inputs['xs']))\n"
                "return {'mean': float(np.mean(inputs['xs']))}")
    run = runner.run(skill(code, requires=("numpy",)), {"xs": [1.0, 2.0, 3.0, 4.0]})
    assert run.outputs == {"mean": 2.5}
    assert run.log == "mean of 4\n"


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    raw = b"".join(b"\x00" + bytes([x * 40 % 256, y * 40 % 256, 0]) * 1
                   for y in range(height) for x in range(1))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", width.to_bytes(4, "big") + height.to_bytes(4, "big")
                    + b"\x08\x02\x00\x00\x00")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_png_and_special_values_round_trip(runner):
    png = _png(1, 3)
    code = body("img = inputs['img']\nassert isinstance(img, bytes)\n"
                "return {'same': img, 'flipped': img[:8] + img[8:], 'n': inputs['n'] * 2,\n"
                "        'nan': float('nan'), 'pair': (1, 2), 'tag': {'$bytes': 'x'}}")
    out = runner(skill(code), {"img": png, "n": math.inf})
    assert out["same"] == png and is_png(out["flipped"])
    assert out["n"] == math.inf and math.isnan(out["nan"])
    assert out["pair"] == [1, 2] and out["tag"] == {"$bytes": "x"}


def test_skill_error_traceback_points_into_the_markdown(runner):
    code = "def execute(inputs):\n    x = 1\n    return {'y': x / 0}\n"
    with pytest.raises(SkillRaised) as info:
        runner(skill(code, "divider", line=20), {})
    exc = info.value
    assert exc.reason == "ZeroDivisionError: division by zero"
    assert exc.error_type == "ZeroDivisionError"
    assert 'File "/team/skills/divider.md", line 22, in execute' in exc.traceback
    assert "return {'y': x / 0}" in exc.traceback and "worker.py" not in exc.traceback


# -- secrets, files, network ---------------------------------------------------------------
def test_no_secret_in_environment_or_proc(runner):
    code = body("import os, glob\nseen = dict(os.environ)\nfor p in glob.glob('/proc/*/environ'):\n"
                "    try:\n        seen[p] = open(p, 'rb').read().decode('latin-1')\n"
                "    except OSError:\n        pass\nreturn {'seen': seen}")
    seen = runner(skill(code), {})["seen"]
    assert SECRET not in json.dumps(seen)
    assert "ANTHROPIC_API_KEY" not in seen and "LLMOS_HOME" not in seen
    assert seen["HOME"].startswith("/scratch/")


def test_host_files_outside_the_view_are_invisible(runner, tmp_path, llmos_home):
    secret_file = tmp_path / "host-secret.txt"
    secret_file.write_text(SECRET)
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text(f'api_key = "{SECRET}"')
    paths = [str(secret_file), str(llmos_home / "config.toml"), str(REPO / "pyproject.toml"),
             os.path.expanduser("~/.bashrc"), "/root", "/work", "/home", "/etc/shadow",
             "/etc/passwd", "/etc/hostname"]
    code = body("import os\nout = {}\nfor p in inputs['paths']:\n    try:\n"
                "        out[p] = open(p).read()[:100] if os.path.isfile(p) else os.listdir(p)\n"
                "    except OSError as e:\n        out[p] = type(e).__name__\n"
                "return {'out': out, 'host': os.uname().nodename}")
    result = runner(skill(code), {"paths": paths})
    out = result["out"]
    assert SECRET not in json.dumps(out)
    for p in paths:
        if p == "/root":  # only the read-only Python installation below it, if any
            assert out[p] in ([], [".pyenv"], "FileNotFoundError"), out[p]
        else:
            assert out[p] in ("FileNotFoundError", "PermissionError"), (p, out[p])
    assert result["host"] == "llmos-sandbox"


def test_no_network_connection(runner):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    code = body("import socket\ntry:\n    socket.create_connection(('127.0.0.1', inputs['port']),"
                " timeout=2)\n    return {'error': None}\nexcept OSError as e:\n"
                "    return {'error': type(e).__name__}")
    try:
        assert runner(skill(code), {"port": port})["error"] == "ConnectionRefusedError"
        with pytest.raises(socket.timeout):
            listener.accept()  # nothing reached the host's loopback
    finally:
        listener.close()


def test_writes_stay_in_scratch(runner, tmp_path, llmos_home):
    targets = [str(tmp_path / "pwned.txt"), str(llmos_home / "pwned.txt"),
               str(REPO / "pwned.txt"), "/usr/pwned.txt", sys_prefix_file()]
    code = body("import os\nout = {}\nfor p in inputs['targets']:\n    try:\n"
                "        open(p, 'w').write('x')\n        out[p] = 'written'\n"
                "    except OSError as e:\n        out[p] = type(e).__name__\n"
                "open('ok.txt', 'w').write('fine')\nout['cwd'] = os.getcwd()\nreturn out")
    out = runner(skill(code), {"targets": targets})
    for p in targets:
        assert out[p] != "written" and not os.path.exists(p), (p, out[p])
    assert out["cwd"].startswith("/scratch/")


def sys_prefix_file() -> str:
    import sys

    return os.path.join(sys.prefix, "pwned.txt")


# -- crashes and hogs ----------------------------------------------------------------------
@pytest.mark.parametrize(("code", "reason"), [
    (body("import os\nprint('bye')\nos._exit(3)"), "exit status 3"),
    (body("import sys\nsys.exit(3)"), "exit status 3"),
    (body("import sys\nsys.exit(0)"), "exit status 0 before returning outputs"),
    (body("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)"),
     "killed by signal 15 (SIGTERM)"),
    (body("import ctypes\nctypes.string_at(0)"), "segmentation fault"),
    (body("x = bytearray(3 * 1024**3)\nreturn {}"), "killed: memory limit 2 GiB"),
    (body("import numpy as np\nx = np.ones(3 * 1024**3 // 8)\nreturn {}"),
     "killed: memory limit 2 GiB"),
])
def test_crash_fails_with_named_reason(runner, code, reason):
    with pytest.raises(NodeCrashed) as info:
        runner(skill(code), {})
    assert info.value.reason == reason
    if reason == "exit status 3" and "print" in code:
        assert info.value.log == "bye\n"  # printed before os._exit: kept
    if reason == "segmentation fault":
        assert "Fatal Python error: Segmentation fault" in info.value.log
    assert runner(skill(body("return {'ok': 1}")), {}) == {"ok": 1}  # the next node is fine


def test_spin_is_killed_at_the_timeout(runner, baseline):
    code = body("while True:\n    pass")
    with pytest.raises(NodeTimedOut, match=r"^timed out after 0.5 s$"):
        runner(skill(code), {}, timeout=0.5)
    # The loop never ends on its own: returning at all means it was killed.
    assert settle(runner, baseline) <= baseline  # killed, not abandoned


def test_cancel_kills_the_node(runner, baseline):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(NodeCancelled, match="^cancelled$"):
        runner(skill(body("import time\ntime.sleep(600)")), {}, cancel=cancel)
    # Far below the 600 s the node would sleep: killed on cancel (a loose bound, not a
    # timing assertion that a busy CI machine could break).
    assert time.monotonic() - t0 < 120
    assert settle(runner, baseline) <= baseline


def test_cpu_limit():
    with IsolatedRunner(Limits(cpu_s=1), sandbox="bwrap") as r, \
            pytest.raises(NodeCrashed, match=r"^killed: CPU limit 1 s$"):
        r(skill(body("while True:\n    pass")), {})


def test_orphans_die_with_the_node(runner, baseline):
    code = body("import os, subprocess, time\n"
                "subprocess.Popen(['sleep', '1000'])\n"
                "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                "        time.sleep(1000)\n    os._exit(0)\n"
                "return {'pid': os.getpid()}")
    runner(skill(code), {})
    assert settle(runner, baseline) <= baseline


def test_patching_a_module_does_not_leak_to_the_next_node(runner):
    patch = body("import numpy, json\nnumpy.mean = lambda *a, **k: 42\n"
                 "json.dumps = lambda *a, **k: '42'\nimport builtins\nbuiltins.sum = lambda x: 42\n"
                 "return {'patched': numpy.mean([1])}")
    assert runner(skill(patch), {}) == {"patched": 42}
    use = body("import numpy\nreturn {'mean': float(numpy.mean(inputs['xs'])), "
               "'sum': sum(inputs['xs'])}")
    assert runner(skill(use), {"xs": [2.0, 3.0]}) == {"mean": 2.5, "sum": 5.0}


def test_fork_bomb_is_bounded():
    with IsolatedRunner(Limits(max_processes=32), sandbox="bwrap") as r:
        r.start()
        base = len(descendants(r._zygote.proc.pid))
        code = body("import os, time\nn = 0\ntry:\n    while n < 10000:\n"
                    "        if os.fork() == 0:\n            time.sleep(1000)\n            os._exit(0)\n"
                    "        n += 1\nexcept OSError as e:\n    return {'n': n, 'error': e.errno}\n"
                    "return {'n': n, 'error': None}")
        out = r(skill(code), {})
        assert out["error"] == 11 and out["n"] < 32  # EAGAIN from RLIMIT_NPROC
        assert settle(r, base) <= base
        assert r(skill(body("return {'ok': 1}")), {}) == {"ok": 1}


def test_parallel_nodes_run_concurrently(runner):
    code = body("import time\ntime.sleep(0.4)\nreturn {'i': inputs['i']}")
    results = {}

    def one(i):
        results[i] = runner(skill(code), {"i": i})["i"]

    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: 0, 1: 1, 2: 2, 3: 3}
    assert time.monotonic() - t0 < 1.2  # not 4 x 0.4 s


def test_non_data_output_is_refused(runner):
    with pytest.raises(SkillRaised, match=r"output 'x': set is not data"):
        runner(skill(body("return {'x': {1, 2}}")), {})



def test_forged_frames_do_not_end_the_node(runner, baseline):
    # The node writes a fake result and a fake exit report on its own socket, then spins:
    # only the supervisor's report ends a node, so the timeout still kills it.
    code = body("import os, json, struct\n"
                "def frame(m):\n    b = json.dumps(m).encode()\n    return struct.pack('>Q', len(b)) + b\n"
                "for fd in range(3, 64):\n    try:\n"
                "        os.write(fd, frame({'kind': 'result', 'ok': True, 'outputs': {'y': 42}}))\n"
                "        os.write(fd, frame({'kind': 'exit', 'status': 0}))\n"
                "    except OSError:\n        pass\n"
                "while True:\n    pass")
    with pytest.raises(NodeTimedOut):
        runner(skill(code), {}, timeout=0.5)
    assert settle(runner, baseline) <= baseline


def test_killing_its_supervisor_fails_only_that_node(runner, baseline):
    code = body("import os, signal, subprocess\nsubprocess.Popen(['sleep', '1000'])\n"
                "os.kill(os.getppid(), signal.SIGKILL)\nimport time\ntime.sleep(1000)")
    with pytest.raises(NodeCrashed, match="lost"):
        runner(skill(code), {}, timeout=5)
    assert settle(runner, baseline) <= baseline
    assert runner(skill(body("return {'ok': 1}")), {}) == {"ok": 1}


def test_killing_the_worker_fails_only_that_node(runner):
    code = body("import os, signal\nsupervisor = os.getppid()\n"
                "stat = open(f'/proc/{supervisor}/stat').read()\n"
                "zygote = int(stat[stat.rfind(')') + 2:].split()[1])\n"
                "os.kill(zygote, signal.SIGKILL)\nimport time\ntime.sleep(1000)")
    with pytest.raises(NodeCrashed, match="lost"):
        runner(skill(code), {}, timeout=5)
    assert runner(skill(body("return {'ok': 1}")), {}) == {"ok": 1}  # a new worker


@pytest.mark.skipif(os.geteuid() == 0, reason="as root the sandbox has no user namespace of its "
                    "own, so bubblewrap's --disable-userns does not apply (docs/isolation.md)")
def test_no_nested_user_namespace(runner):
    code = body("import subprocess\np = subprocess.run(['unshare', '-U', 'true'])\n"
                "return {'rc': p.returncode}")
    assert runner(skill(code), {})["rc"] != 0


def test_multiprocessing_and_a_long_log(runner):
    code = body("import multiprocessing as mp\nprint('x' * (3 * 1024 * 1024))\n"
                "with mp.Pool(2) as pool:\n    return {'sq': pool.map(abs, [-1, -2, 3])}")
    run = runner.run(skill(code), {})
    assert run.outputs == {"sq": [1, 2, 3]}
    assert run.log.startswith("[... ") and "bytes of output cut ...]" in run.log
    assert len(run.log) < 1024 * 1024 + 100


def test_per_node_limits(runner):
    grow = body("x = bytearray(700 * 1024**2)\nreturn {'n': len(x)}")
    assert runner(skill(grow), {}) == {"n": 700 * 1024**2}  # fits the runner's 2 GiB
    with pytest.raises(NodeCrashed, match=r"^killed: memory limit 512 MiB$"):
        runner.run(skill(grow), {}, limits=Limits(memory=512 * 1024**2))
    with pytest.raises(ValueError, match="fixed when the sandbox starts"):
        runner.run(skill(grow), {}, limits=Limits(network=True))


def test_no_ptrace_of_the_worker_or_other_nodes(runner):
    code = body("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                "sup = os.getppid()\nstat = open(f'/proc/{sup}/stat').read()\n"
                "zyg = int(stat[stat.rfind(')') + 2:].split()[1])\nout = {}\n"
                "for name, pid in (('supervisor', sup), ('zygote', zyg)):\n"
                "    out[name] = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH\n"
                "    if out[name] == 0:  # attached: let it go again, the test fails anyway\n"
                "        os.waitpid(pid, 0)\n        libc.ptrace(17, pid, None, None)\n"
                "    try:\n        open(f'/proc/{pid}/mem', 'rb').close()\n"
                "        out[name + ' mem'] = 'opened'\n"
                "    except OSError as e:\n        out[name + ' mem'] = type(e).__name__\n"
                "return out")
    assert runner(skill(code), {}, timeout=10) == {"supervisor": -1, "zygote": -1,
                                       "supervisor mem": "PermissionError",
                                       "zygote mem": "PermissionError"}


def test_code_without_execute_or_with_a_syntax_error(runner):
    with pytest.raises(SkillRaised, match=r"^SkillError: the code block does not define"):
        runner(skill("x = 1\n"), {})
    with pytest.raises(SkillRaised, match=r"^SyntaxError: .* \(hostile.md, line 31\)$") as info:
        runner(skill("def execute(inputs):\n    return {\n", line=30), {})
    assert 'File "/team/skills/hostile.md", line 31' in info.value.traceback
