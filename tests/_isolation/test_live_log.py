"""Live output of isolated nodes: streamed while the node runs, bounded, the whole log kept.

The streaming skill waits on a TCP connection from the test (the network is allowed for
it), not on a file: under bubblewrap the node sees none of the host's files, and the test
answers only after the node's first line reached it — so the ordering is event-driven."""

from __future__ import annotations

import os
import re
import threading

import pytest
from _executors.executor_skills import WAIT, GoServer
from toy_skills import skill_md

from llmos_jupyter import parse_skill
from llmos_jupyter._isolation import IsolatedRunner, Limits
from llmos_jupyter._isolation.live_log import LiveLog

FLOOD = parse_skill(skill_md("flood", """
    import sys

    def execute(inputs):
        w = sys.stdout.write
        for i in range(inputs["n"]):
            w(f"line {i:06d}\\n")
        return {"done": True}
    """, inputs="[{name: n, type: integer}]", outputs="[{name: done, type: boolean}]"))


@pytest.fixture(scope="module")
def runner():
    with IsolatedRunner(Limits(network=True)) as r:
        yield r


def test_the_first_line_arrives_while_the_node_still_runs(runner):
    server = GoServer()
    pieces: list[str] = []

    def on_log(text: str) -> None:
        pieces.append(text)
        if "first" in text:
            server.go()  # the node goes on (and ends) only after this

    try:
        run = runner.run(WAIT, {"port": server.port}, on_log=on_log)
    finally:
        server.close()
    assert run.outputs == {"seen": True}
    assert pieces[0] == "first\n"
    assert "".join(pieces) == run.log == "first\nsecond\n"  # the whole log is kept as well


def test_a_flood_of_output_is_capped_live_and_the_log_keeps_its_tail(runner):
    pieces: list[str] = []
    n = 100_000  # 12 bytes a line: 1.2 MB, more than the 256 KiB live cap and the 1 MiB log
    run = runner.run(FLOOD, {"n": n}, on_log=pieces.append)
    assert run.outputs == {"done": True}
    assert all(len(p.encode()) <= 16 * 1024 + 200 for p in pieces)  # per piece (+ a note)
    live = "".join(pieces)
    assert len(live.encode()) < 256 * 1024 + 1024
    dropped = re.fullmatch(r"… (\d+) lines dropped from the live output \(the node's log "
                           r"keeps its last 1 MiB\)\n", pieces[-1])
    assert dropped, pieces[-1]
    assert "… live output capped at 256 KiB" in live
    shown = len(re.findall(r"^line \d{6}$", live, re.M))
    assert shown + int(dropped.group(1)) == n  # every line either shown or counted
    assert run.log.startswith("[... ") and run.log.endswith(f"line {n - 1:06d}\n")


def test_without_a_listener_nothing_is_read_live(runner):
    run = runner.run(FLOOD, {"n": 3})
    assert run.log == "line 000000\nline 000001\nline 000002\n"


def test_processes_executor_streams_an_untrusted_nodes_output():
    from llmos_jupyter._executors import make_executor

    server = GoServer()
    events: list[dict] = []

    def on_event(message: dict) -> None:
        events.append(message)
        if message.get("status") == "log" and "first" in message["text"]:
            server.go()

    try:
        with make_executor("processes", workers=1) as ex:
            ex.on_node_event = on_event
            run = ex.run_node(WAIT, {"port": server.port}, trusted=False,
                              limits=Limits(network=True), timeout=None,
                              cancel=threading.Event(), key="r/n/k")
    finally:
        server.close()
    assert run.outputs == {"seen": True} and run.log == "first\nsecond\n"
    assert events[0]["key"] == "r/n/k" and events[0]["text"] == "first\n"


# -- LiveLog on its own ----------------------------------------------------------------------
def _memfd(data: bytes = b"") -> int:
    fd = os.memfd_create("test-log", 0)
    os.write(fd, data)
    return fd


def test_pieces_are_bounded_and_cut_after_whole_lines():
    fd = _memfd(b"abcdefghi\n" * 5)
    pieces: list[str] = []
    live = LiveLog(fd, pieces.append, event_bytes=25, live_bytes=1000)
    live.poll()
    assert pieces == ["abcdefghi\nabcdefghi\n"]  # 25 bytes read, cut after the last line
    live.finish()
    assert "".join(pieces) == "abcdefghi\n" * 5 and all(len(p) <= 25 for p in pieces)
    os.close(fd)


def test_split_utf8_and_a_last_line_without_newline_come_out_whole():
    text = "größe 😀 end"
    data = text.encode()
    fd = _memfd(data[:9])  # cuts inside "ö"/"ß"'s bytes
    pieces: list[str] = []
    live = LiveLog(fd, pieces.append)
    live.poll()
    os.write(fd, data[9:])
    live.finish()
    assert "".join(pieces) == text
    os.close(fd)


def test_lines_past_the_cap_are_counted_not_sent():
    fd = _memfd(b"".join(b"%04d\n" % i for i in range(100)))  # 5 bytes a line
    pieces: list[str] = []
    live = LiveLog(fd, pieces.append, event_bytes=20, live_bytes=50)
    for _ in range(10):
        live.poll()
    os.write(fd, b"tail without newline")
    live.finish()
    assert "".join(pieces[:-2]) == "".join(f"{i:04d}\n" for i in range(10))
    assert pieces[-2].startswith("… live output capped at 50 B")
    assert pieces[-1].startswith("… 91 lines dropped")  # 90 lines and the unfinished one
    os.close(fd)


def test_a_failing_listener_does_not_stop_the_reading():
    fd = _memfd(b"x\n")

    def boom(text: str) -> None:
        raise RuntimeError("listener broke")

    live = LiveLog(fd, boom)
    live.finish()
    assert live.offset == 2
    os.close(fd)


def test_release_head_frees_the_memory_of_what_was_read_and_keeps_the_tail():
    from llmos_jupyter._isolation.live_log import release_head

    fd = _memfd(b"x" * (10 << 20) + b"tail\n")
    size = os.fstat(fd).st_size
    assert os.fstat(fd).st_blocks * 512 >= 10 << 20
    freed = release_head(fd, size - (1 << 20))
    assert freed == (size - (1 << 20)) // 4096 * 4096
    st = os.fstat(fd)
    assert st.st_size == size and st.st_blocks * 512 <= (1 << 20) + 2 * 4096  # memory back
    assert os.pread(fd, 5, size - 5) == b"tail\n" and os.pread(fd, 4, 0) == b"\0" * 4
    os.close(fd)


BIG = parse_skill(skill_md("big-output", """
    import sys
    import time

    def execute(inputs):
        chunk = "z" * 1023 + "\\n"
        for i in range(24):
            sys.stdout.write(chunk * 1024)
            time.sleep(0.06)  # the parent reads every 50 ms
        print("end")
        return {"done": True}
    """, outputs="[{name: done, type: boolean}]"))


def test_an_isolated_node_printing_a_lot_gives_the_memory_back_and_keeps_its_tail(
        runner, monkeypatch):
    from llmos_jupyter._isolation import live_log

    released: list[int] = []
    real = live_log.release_head
    monkeypatch.setattr(live_log, "release_head",
                        lambda fd, upto: released.append(real(fd, upto)) or released[-1])
    pieces: list[str] = []
    run = runner.run(BIG, {}, on_log=pieces.append)
    assert run.outputs == {"done": True}
    assert run.log.startswith(f"[... {23 * (1 << 20) + 4} bytes of output cut ...]\n")
    assert run.log.endswith("z\nend\n") and "\0" not in run.log
    assert released and max(released) >= 8 << 20
    assert "lines dropped" in pieces[-1]
