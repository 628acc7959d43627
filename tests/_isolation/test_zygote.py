"""start_zygote: the one bounded start-up handshake of the isolated worker and the node pool."""

from __future__ import annotations

import os
import sys
import time

import pytest

from llmos_jupyter._isolation.zygote import ZygoteStartError, start_zygote


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code, "{ctrl}"]


READY = """
import json, socket, sys
ctrl = socket.socket(fileno=int(sys.argv[1]))
ctrl.sendall(json.dumps({"kind": "ready", "pid": 1}).encode())
ctrl.recv(10)  # until the parent closes the socket
"""


def test_a_ready_zygote_is_returned_and_stops_when_its_socket_closes():
    z = start_zygote(_py(READY), what="the test zygote", kind="test")
    assert z.ready == {"kind": "ready", "pid": 1} and z.kind == "test" and z.alive()
    z.stop()
    assert z.proc.returncode == 0  # it read end-of-file and exited by itself


def test_a_child_that_dies_is_named_with_its_status_and_last_stderr_line():
    with pytest.raises(ZygoteStartError,
                       match=r"^the test zygote \(pid \d+\) exited with status 1 before it was "
                             r"ready: boom: no such module$"):
        start_zygote(_py("import sys; print('first', file=sys.stderr); "
                         "sys.exit('boom: no such module')"), what="the test zygote")


def test_a_child_that_dies_while_its_own_child_holds_the_socket_does_not_hang():
    # The grandchild keeps the control socket open: end-of-file never comes, only the
    # child's exit tells the parent. Without the exit check this waited the whole timeout.
    code = ("import os, sys, time\n"
            "if os.fork() == 0:\n"
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            "sys.exit(3)\n")
    with pytest.raises(ZygoteStartError, match=r"exited with status 3 before it was ready"):
        start_zygote(_py(code), what="the test zygote", timeout=120)


def test_a_child_that_never_answers_is_killed_after_the_timeout():
    code = "import os, sys, time\nprint(os.getpid(), file=sys.stderr, flush=True)\ntime.sleep(60)"
    with pytest.raises(ZygoteStartError,
                       match=r"did not say it was ready within 0\.5 s; it was killed") as info:
        start_zygote(_py(code), what="the test zygote", timeout=0.5)
    pid = int(str(info.value).rsplit(": ", 1)[1])  # its last stderr line is its pid
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)


def test_a_garbled_first_message_is_refused():
    code = ("import socket, sys\n"
            "socket.socket(fileno=int(sys.argv[1])).sendall(b'hello')\n"
            "import time; time.sleep(60)\n")
    with pytest.raises(ZygoteStartError, match=r"answered b'hello' instead of its ready"):
        start_zygote(_py(code), what="the test zygote")


def test_a_missing_program_is_an_oserror_and_cleans_up(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(OSError):
        start_zygote([str(tmp_path / "no-such-program"), "{ctrl}"], cleanup=[str(scratch)])
    assert not scratch.exists()


def test_what_a_failed_child_started_is_killed_with_it(tmp_path):
    pidfile = tmp_path / "grandchild"
    code = ("import os, sys, time\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            f"open({str(pidfile)!r}, 'w').write(str(pid))\n"
            "sys.exit(3)\n")
    with pytest.raises(ZygoteStartError, match="exited with status 3"):
        start_zygote(_py(code), what="the test zygote")
    pid = int(pidfile.read_text())
    for _ in range(200):  # SIGKILL is asynchronous; its parent (gone) was reaped by init
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    else:
        pytest.fail(f"the grandchild {pid} still runs")
