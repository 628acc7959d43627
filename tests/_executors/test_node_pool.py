"""NodePool: trusted nodes in warm node processes, killed and replaced when they must stop."""

from __future__ import annotations

import os
import threading
import time

import pytest
from _executors.executor_skills import CPU, FAIL, SPIN, TALK, expected
from toy_skills import skill_md

from llmos_jupyter import parse_skill
from llmos_jupyter._executors import NodePool
from llmos_jupyter._isolation import NodeCancelled, NodeCrashed, NodeTimedOut, SkillRaised

PID = parse_skill(skill_md("pid", """
    import os

    def execute(inputs):
        return {"pid": os.getpid()}
    """, outputs="[{name: pid, type: integer}]"))

EXIT = parse_skill(skill_md("exiter", """
    import os
    import sys

    def execute(inputs):
        print("leaving")
        if inputs["how"] == "os_exit":
            os._exit(3)
        if inputs["how"] == "segfault":
            import ctypes
            ctypes.string_at(0)
        sys.exit(0)
    """, inputs="[{name: how, type: string}]"))

CHILD = parse_skill(skill_md("child", """
    import subprocess

    def execute(inputs):
        p = subprocess.Popen(["sleep", "60"], start_new_session=inputs["detach"])
        return {"pid": p.pid}
    """, inputs="[{name: detach, type: boolean}]", outputs="[{name: pid, type: integer}]"))

THREAD = parse_skill(skill_md("thread", """
    import os
    import threading

    def execute(inputs):
        threading.Thread(target=threading.Event().wait, daemon=True).start()
        return {"pid": os.getpid()}
    """, outputs="[{name: pid, type: integer}]"))

@pytest.fixture(scope="module")
def pool():
    with NodePool() as p:
        yield p


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie not reaped yet is gone too
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_nodes_reuse_a_warm_process_with_their_own_logs(pool):
    first = pool.run(CPU, {"n": 1000})
    second = pool.run(CPU, {"n": 2000})
    assert first.outputs["s"] == expected(1000) and second.outputs["s"] == expected(2000)
    assert first.outputs["pid"] == second.outputs["pid"] != os.getpid()
    assert first.log == f"cpu done {expected(1000)}\n"
    assert second.log == f"cpu done {expected(2000)}\n"  # not the first node's output


def test_a_raising_node_keeps_the_skills_message_and_traceback(pool):
    with pytest.raises(SkillRaised) as info:
        pool.run(FAIL, {"x": 2})
    assert info.value.reason == "ValueError: cannot use x = 2"
    assert "about to fail" in info.value.log
    assert "node_pool.py" not in info.value.traceback and "line" in info.value.traceback


@pytest.mark.parametrize(("how", "reason"), [
    ("os_exit", "exit status 3"),
    ("segfault", "segmentation fault"),
    ("sys_exit", "exit status 0 before returning outputs"),
])
def test_a_dying_node_is_named_and_replaced(pool, how, reason):
    before = pool.run(PID, {}).outputs["pid"]
    with pytest.raises(NodeCrashed) as info:
        pool.run(EXIT, {"how": how})
    assert info.value.reason == reason
    assert "leaving" in info.value.log
    after = pool.run(PID, {}).outputs["pid"]
    assert after != before and _gone(before)


def test_timeout_kills_the_node_and_a_fresh_process_takes_over(pool, tmp_path):
    pidfile = tmp_path / "pid"
    t0 = time.perf_counter()
    with pytest.raises(NodeTimedOut, match="timed out after 1 s"):
        pool.run(SPIN, {"pidfile": str(pidfile)}, timeout=1)
    assert time.perf_counter() - t0 < 3.0
    spinner = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while not _gone(spinner) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(spinner)
    assert pool.run(PID, {}).outputs["pid"] != spinner


def test_cancel_kills_the_node(pool, tmp_path):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(NodeCancelled):
        pool.run(SPIN, {"pidfile": str(tmp_path / "pid")}, cancel=cancel)


@pytest.mark.parametrize("detach", [False, True])
def test_processes_a_node_started_are_killed_when_it_returns(pool, detach):
    # Also one that left the node's session: the node process is their subreaper.
    child = pool.run(CHILD, {"detach": detach}).outputs["pid"]
    assert _gone(child)


def test_a_node_that_leaves_a_thread_gets_a_fresh_process_after_it(pool):
    leaver = pool.run(THREAD, {}).outputs["pid"]
    assert pool.run(PID, {}).outputs["pid"] != leaver


def test_max_nodes_replaces_the_process():
    with NodePool(max_nodes=2) as small:
        pids = [small.run(PID, {}).outputs["pid"] for _ in range(4)]
    assert pids[0] == pids[1] != pids[2] == pids[3]


def test_output_streams_while_the_node_runs(pool, tmp_path):
    go = tmp_path / "go"
    pieces: list[str] = []

    def on_log(text: str) -> None:
        pieces.append(text)
        if "first" in text:
            go.touch()  # the node only goes on once its first line reached us

    run = pool.run(TALK, {"go": str(go)}, on_log=on_log)
    assert run.outputs == {"seen": True}
    assert pieces[0] == "first\n" and "".join(pieces) == "first\nsecond\n" == run.log


def test_concurrent_nodes_get_their_own_processes(pool):
    out: list[int] = []
    threads = [threading.Thread(target=lambda: out.append(pool.run(CPU, {"n": 300_000})
                                                          .outputs["pid"]))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and len(set(out)) == 2


def test_close_kills_every_node_process():
    p = NodePool()
    pid = p.run(PID, {}).outputs["pid"]
    p.close()
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(pid)
    with pytest.raises(RuntimeError, match="closed"):
        p.run(PID, {})


def test_a_node_process_killed_while_idle_is_not_given_a_node():
    import signal

    with NodePool() as fresh:  # one node process, idle after its first node
        idle = fresh.run(PID, {}).outputs["pid"]
        os.kill(idle, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while idle not in fresh._z["exits"] and time.monotonic() < deadline:
            time.sleep(0.02)  # until the zygote's exit report reached the pool
        assert fresh.run(PID, {}).outputs["pid"] != idle


def test_a_warm_process_reuses_the_compiled_skill_but_checks_changed_code():
    from llmos_jupyter._executors import SkillText

    with NodePool() as pool:  # its own: one node process, which every node here reuses
        first = pool.run(PID, {})
        again = pool.run(PID, {})
        assert again.outputs == first.outputs  # the same process, from its compiled copy
        # Same hash, other code (a forged or stale request): hashed and refused, not run
        # from the cache.
        forged = SkillText(skill_id="pid", code=PID.code.replace("os.getpid()", "-1"),
                           code_hash=PID.code_hash, source_name=PID.source_name,
                           code_line=PID.code_line, requires=tuple(PID.requires))
        with pytest.raises(SkillRaised, match="does not match its hash"):
            pool.run(forged, {})
        assert pool.run(PID, {}).outputs == first.outputs


def test_a_trusted_node_printing_a_lot_keeps_its_log_tail(pool, monkeypatch):
    from llmos_jupyter._isolation import live_log

    released: list[int] = []
    real = live_log.release_head
    monkeypatch.setattr(live_log, "release_head",
                        lambda fd, upto: released.append(real(fd, upto)) or released[-1])
    # 24 MiB of output: the head of its log file is given back while it runs (the memfd
    # would otherwise hold all of it); the node's log is still the last 1 MiB, exactly.
    flood = parse_skill(skill_md("flood-trusted", """
        import sys
        import time

        def execute(inputs):
            chunk = "y" * 1023 + "\\n"
            for i in range(24):
                sys.stdout.write(chunk * 1024)
                time.sleep(0.06)  # let the parent's 50 ms tick see it grow
            print("end")
            return {"done": True}
        """, outputs="[{name: done, type: boolean}]"))
    pieces: list[str] = []
    run = pool.run(flood, {}, on_log=pieces.append)
    assert run.outputs == {"done": True}
    cut = 24 * (1 << 20) + 4 - (1 << 20)
    assert run.log.startswith(f"[... {cut} bytes of output cut ...]\n")
    assert run.log.endswith("y\nend\n") and "\0" not in run.log
    assert pieces[-1].startswith("… ") and "lines dropped" in pieces[-1]
    assert released and max(released) >= 8 << 20  # the head's memory went back meanwhile
