"""Volumes under concurrency and crashes: every write lands once, stale locks recover.

* 8 processes × 50 writes at once: 400 commits, none lost, nothing on disk uncommitted;
* ``kill -9`` of a writer at arbitrary moments: the next write recovers (stale git locks,
  temporary files, the interrupted file committed) and the volume is clean;
* a git lock nobody owns: waited for while young, removed once stale;
* dulwich's failures are worded ``VolumeGitError``s; commit messages are redacted.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import llmos_jupyter._volumes.volume as volume_mod
from llmos_jupyter._volumes import Volume, VolumeError, VolumeGitError, VolumeLocked

PROCS, WRITES = 8, 50


def _writer(home: str, proc: int, start: mp.synchronize.Event) -> None:
    os.environ["LLMOS_HOME"] = home
    vol = Volume("user", home)
    start.wait()
    for j in range(WRITES):
        # Half to the process's own files, half to one file every process rewrites.
        rel = f"skills/p{proc}-{j % 5}.md" if j % 2 else "skills/shared.md"
        vol.write_text(rel, f"---\nskill_id: s\n---\nprocess {proc} write {j}\n",
                       message=f"p{proc} w{j}")


def _assert_clean(vol: Volume) -> None:
    """Every file under skills/ equals its blob at HEAD; the index has nothing staged."""
    from dulwich import porcelain

    status = porcelain.status(str(vol.root), untracked_files="all")
    assert not any(status.staged.values()), status.staged
    assert not status.unstaged, status.unstaged
    assert not [p for p in status.untracked if not p.startswith("traces/")], status.untracked
    assert not list((vol.root / ".git").rglob("*.lock"))


def test_eight_processes_fifty_writes_each_all_committed(llmos_home):
    ctx = mp.get_context("spawn" if sys.platform == "darwin" else "fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(llmos_home), i, start)) for i in range(PROCS)]
    for p in procs:
        p.start()
    t0 = time.monotonic()
    start.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * PROCS
    elapsed = time.monotonic() - t0

    vol = Volume("user")
    log = vol.log()
    messages = [r.summary for r in log]
    assert messages[-1].startswith("Initialise the user volume")
    writes = messages[:-1]
    # Every write is one commit: the shared file always changes (its text names the
    # writer and the write), and each own file gets a new text on every write.
    assert sorted(writes) == sorted(f"p{i} w{j}" for i in range(PROCS) for j in range(WRITES))
    for i in range(PROCS):  # each process's commits are in its own order
        own = [int(m.split("w")[1]) for m in reversed(writes) if m.startswith(f"p{i} ")]
        assert own == list(range(WRITES))
    _assert_clean(vol)
    # The last commit of the shared file is what the file holds.
    assert vol.show("skills/shared.md") == (vol.root / "skills/shared.md").read_text()
    assert elapsed < 90, f"400 writes took {elapsed:.1f} s"


KILLER = textwrap.dedent("""
    import sys
    from llmos_jupyter._volumes import Volume
    vol = Volume("user", sys.argv[1])
    print("ready", flush=True)
    j = 0
    while True:
        vol.write_text(f"skills/k{j % 3}.md", f"---\\nskill_id: k\\n---\\nwrite {j}\\n" * 200,
                       message=f"k {j}")
        j += 1
""")


def test_kill_minus_nine_at_any_moment_then_the_next_write_recovers(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/base.md", "---\nskill_id: base\n---\n", message="base")
    for delay in (0.05, 0.13, 0.21, 0.34, 0.55):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(llmos_home)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        vol.write_text("skills/after.md", f"---\nskill_id: after\n---\n{delay}\n",
                       message=f"after {delay}")
        _assert_clean(vol)
        assert vol.log(limit=1)[0].summary == f"after {delay}"


def _fake_crash(vol: Volume, rel: str, text: str, *, pid: int) -> None:
    """What a writer killed between writing the file and committing it leaves behind."""
    full = vol.root / rel
    full.write_text(text)
    tmp = full.parent / f".{full.name}.abcd1234.tmp"
    tmp.write_text("half a file")
    (vol.root / ".git" / "index.lock").write_bytes(b"")
    ref_lock = vol.root / ".git" / "refs" / "heads" / "master.lock"
    ref_lock.write_bytes(b"")
    vol._writer_path.write_text(json.dumps({"pid": pid, "host": "here", "time": 0, "path": rel}))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_lock_of_a_killed_writer_is_recovered_with_a_message(llmos_home, caplog):
    vol = Volume("user")
    vol.write_text("skills/fit.md", "---\nskill_id: fit\n---\nv1\n", message="v1")
    pid = _dead_pid()
    _fake_crash(vol, "skills/fit.md", "---\nskill_id: fit\n---\nv2 (interrupted)\n", pid=pid)

    with caplog.at_level("WARNING", logger="llmos_jupyter.volumes"):
        vol.write_text("skills/other.md", "---\nskill_id: other\n---\n", message="other")
    notes = " | ".join(vol.recovered)
    assert f"process {pid}, which is no longer running" in notes
    assert ".git/index.lock" in notes and "temporary file" in notes
    assert "committed skills/fit.md" in notes
    assert "stale git lock" in caplog.text
    assert [r.summary for r in vol.log(limit=2)] == ["other", "Recover interrupted write of skills/fit.md"]
    assert vol.show("skills/fit.md").endswith("v2 (interrupted)\n")
    assert not (vol.root / "skills" / ".fit.md.abcd1234.tmp").exists()
    _assert_clean(vol)
    # Nothing left to repair the next time.
    vol.write_text("skills/other.md", "---\nskill_id: other\n---\nx\n", message="again")
    assert vol.recovered == []


def test_unowned_git_lock_waited_for_while_young_removed_when_stale(llmos_home, monkeypatch):
    vol = Volume("user")
    vol.write_text("skills/fit.md", "---\nskill_id: fit\n---\n", message="v1")
    lock = vol.root / ".git" / "index.lock"
    lock.write_bytes(b"")
    monkeypatch.setattr(volume_mod, "LOCK_TIMEOUT_S", 0.3)
    with pytest.raises(VolumeLocked) as info:
        vol.write_text("skills/fit.md", "---\nskill_id: fit\n---\nv2\n", message="v2")
    assert "held by another git program" in str(info.value) and str(lock) in str(info.value)
    # The refused write changed nothing.
    assert (vol.root / "skills/fit.md").read_text() == "---\nskill_id: fit\n---\n"
    old = time.time() - volume_mod.STALE_GIT_LOCK_S - 5
    os.utime(lock, (old, old))
    vol.write_text("skills/fit.md", "---\nskill_id: fit\n---\nv2\n", message="v2")
    assert any("stale git lock .git/index.lock" in n for n in vol.recovered)
    _assert_clean(vol)


def test_a_young_git_lock_released_meanwhile_is_just_waited_for(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/fit.md", "---\nskill_id: fit\n---\n", message="v1")
    lock = vol.root / ".git" / "index.lock"
    lock.write_bytes(b"")
    import threading

    threading.Timer(0.3, lock.unlink).start()
    vol.write_text("skills/fit.md", "---\nskill_id: fit\n---\nv2\n", message="v2")
    assert vol.recovered == [] and vol.log(limit=1)[0].summary == "v2"


def test_failed_commit_puts_the_old_file_back(llmos_home, monkeypatch):
    vol = Volume("user")
    vol.write_text("skills/fit.md", "v1\n", message="v1")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Volume, "_commit", broken)
    with pytest.raises(VolumeGitError) as info:
        vol.write_text("skills/fit.md", "v2\n", message="v2")
    assert "could not commit skills/fit.md" in str(info.value)
    assert "No space left on device" in str(info.value)
    assert (vol.root / "skills/fit.md").read_text() == "v1\n"
    with pytest.raises(VolumeGitError):
        vol.write_text("skills/new.md", "new\n", message="new")
    assert not (vol.root / "skills/new.md").exists()
    monkeypatch.undo()
    _assert_clean(vol)


def test_damaged_repository_is_a_worded_error_not_a_dulwich_traceback(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/fit.md", "v1\n", message="v1")
    head = vol.log()[0].id
    obj = vol.root / ".git" / "objects" / head[:2] / head[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage")
    with pytest.raises(VolumeGitError) as info:
        vol.log()
    msg = str(info.value)
    assert msg.startswith("the user volume's git repository") and "read its history" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(VolumeError):
        vol.diff("HEAD")


def test_commit_messages_and_authors_are_redacted(llmos_home, monkeypatch):
    key = "sk-ant-api03-" + "A1b2C3d4" * 12
    monkeypatch.setenv("LLMOS_AUTHOR", f"Ada {key} <ada@example.org>")
    vol = Volume("user")
    rev = vol.write_text("skills/fit.md", "v1\n", message=f"Add fit\n\nused key {key}")
    assert key not in rev.message and "[REDACTED]" in rev.message
    assert key not in rev.author
    raw = subprocess.run(["git", "-C", str(vol.root), "log", "--format=%an%n%B"], check=False,
                         capture_output=True, text=True) if Path("/usr/bin/git").exists() else None
    if raw is not None and raw.returncode == 0:
        assert key not in raw.stdout


def test_orphan_temp_files_are_removed_only_when_old(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/fit.md", "v1\n", message="v1")
    young = vol.root / "skills" / ".other.md.k3j4h5g6.tmp"
    old = vol.root / "workflows" / ".wf.json.a1b2c3d4.tmp"
    old.parent.mkdir()
    young.write_text("being written")
    old.write_text("left by a crash long ago")
    past = time.time() - volume_mod.STALE_GIT_LOCK_S - 5
    os.utime(old, (past, past))
    vol.write_text("skills/fit.md", "v2\n", message="v2")
    assert young.exists() and not old.exists()
    assert vol.recovered == [("removed the temporary file workflows/.wf.json.a1b2c3d4.tmp of "
                              "an interrupted write")]
