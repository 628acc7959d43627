"""`llmos` commands run as real server processes in tests (imported by test modules): a
free port, starting one in its own process group, waiting until it listens, killing it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_llmos(args: list[str], home: Path, log: Path) -> subprocess.Popen:
    """``python -m llmos_jupyter._cli ARGS`` with LLMOS_HOME ``home``, stderr to ``log``,
    in its own process group (so :func:`kill_group` takes its children too)."""
    env = {**os.environ, "LLMOS_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "llmos_jupyter._cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                            start_new_session=True)


def wait_listening(proc: subprocess.Popen, port: int, log: Path, start_s: float) -> None:
    """Until ``proc`` listens on ``port``; fails with its log when it exits or takes more
    than ``start_s`` seconds."""
    deadline = time.monotonic() + start_s
    while not listening(port):
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"did not listen on {port} within {start_s} s: "
                        f"{log.read_text()[-2000:]}")
        time.sleep(0.1)


def kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
