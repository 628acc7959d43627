"""Without bubblewrap: the plain-subprocess fallback warns once, keeps rlimits, scrubs the
environment and names failures the same way; sandbox="bwrap" refuses to fall back."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

import llmos_jupyter._isolation.runner as runner_module
from llmos_jupyter._isolation import IsolatedRunner, Limits, NodeCrashed, SandboxUnavailable
from llmos_jupyter._skills.model import Skill

SECRET = "sk-ant-test-fallback-0123456789"


def skill(code: str) -> Skill:
    return Skill("fallback", "fallback", code=code)


def test_subprocess_fallback_warns_and_scrubs_the_environment(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    with IsolatedRunner(sandbox="subprocess") as r:
        assert r.sandbox == "subprocess"
        warning = r.isolation_warning
        assert "files and network are NOT isolated" in warning and warning.count(".") == 1
        out = r(skill("import os\ndef execute(inputs):\n    return {'env': dict(os.environ)}\n"),
                {})
        assert SECRET not in json.dumps(out) and "LLMOS_HOME" not in out["env"]
        with pytest.raises(NodeCrashed, match="^exit status 4$"):
            r(skill("import os\ndef execute(inputs):\n    os._exit(4)\n"), {})
        assert r(skill("def execute(inputs):\n    return {'y': inputs['x'] + 1}\n"),
                 {"x": 1}) == {"y": 2}


def test_fallback_keeps_the_memory_limit():
    with IsolatedRunner(Limits(memory=512 * 1024**2), sandbox="subprocess") as r, \
            pytest.raises(NodeCrashed, match="^killed: memory limit 512 MiB$"):
        r(skill("def execute(inputs):\n    x = bytearray(1024**3)\n    return {}\n"), {})


def test_broken_bwrap_falls_back_with_the_reason(monkeypatch):
    monkeypatch.setattr(runner_module, "find_bwrap", lambda: "/bin/false")
    with IsolatedRunner() as r:
        assert r.sandbox == "subprocess"
        assert "bubblewrap failed to start" in r.isolation_warning
    monkeypatch.setattr(runner_module, "find_bwrap", lambda: None)
    with IsolatedRunner() as r:
        assert "bubblewrap (bwrap) is not installed" in r.isolation_warning
    with IsolatedRunner(sandbox="bwrap") as r, pytest.raises(SandboxUnavailable,
                                                              match="not installed"):
        r.start()


def test_bad_sandbox_name():
    with pytest.raises(ValueError, match="sandbox must be"):
        IsolatedRunner(sandbox="docker")


def test_closed_runner_refuses():
    r = IsolatedRunner(sandbox="subprocess")
    r.close()
    with pytest.raises(RuntimeError, match="closed"):
        r(skill("def execute(inputs):\n    return {}\n"), {})


def test_close_kills_running_nodes_and_their_children():
    r = IsolatedRunner(sandbox="subprocess")
    code = ("import os, subprocess, time\ndef execute(inputs):\n"
            "    subprocess.Popen(['sleep', '1001.5'], start_new_session=True)\n"
            "    time.sleep(1000)\n")
    errors = []

    def run():
        try:
            r(skill(code), {})
        except Exception as exc:  # noqa: BLE001 -- recorded for the assertion
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    # Wait for the child to appear (bounded): starting a sandboxed node on a loaded
    # machine can take seconds.
    end = time.monotonic() + 30
    while not _sleepers() and time.monotonic() < end:
        time.sleep(0.05)
    assert _sleepers(), "the node did not start its child"
    r.close()
    t.join(10)
    assert not t.is_alive() and errors
    end = time.monotonic() + 2
    while _sleepers() and time.monotonic() < end:
        time.sleep(0.02)
    assert not _sleepers()


def _sleepers() -> list[str]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if cmd == b"sleep\x001001.5\x00":
                out.append(name)
    return out


def test_python_installation_holding_the_home_is_not_bound(monkeypatch):
    from llmos_jupyter._isolation import sandbox

    prefix = sandbox._python_dirs()[0]
    monkeypatch.setenv("HOME", prefix + "/home")
    with pytest.raises(ValueError, match="binding it would show that"):
        sandbox.bwrap_launch("/usr/bin/bwrap", Limits(), [])
