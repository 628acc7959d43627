"""Without bubblewrap: the plain-subprocess fallback warns once, keeps rlimits, scrubs the
environment and names failures the same way; sandbox="bwrap" refuses to fall back."""

from __future__ import annotations

import json

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
