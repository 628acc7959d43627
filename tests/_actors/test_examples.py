"""The example systems of agents: the deterministic ones for real, the LLM one
through the replayed Messages API (tests/_llm/anthropic_replay.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import pytest
from _llm.anthropic_replay import KEY, Replay, message, text_block, tool_use

from llmos_jupyter._actors.config import build_system, check_system
from llmos_jupyter._llm.client import LlmClient
from llmos_jupyter._llm.config import LlmConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "agents"


def run_example(name, input=None, **kw):
    cfg, problems = check_system(EXAMPLES / name)
    assert [p for p in problems if p.severity == "error"] == []
    system, specs = build_system(cfg, **kw)
    return asyncio.run(system.run(specs, input))


def test_delegation_network_with_sub_managers_retries_and_health_check():
    out = run_example("delegation-network.toml")
    assert out.status == "exited", out.error
    results = out.result["results"]
    # sum; a group (sub-manager: product and a flaky task, retried after a restart); mean;
    # a division by zero, which fails its retry too and is given up.
    assert results[:3] == [6.0, [24, 7], 2.5]
    assert "ZeroDivisionError" in results[3]["error"]
    a = out.actors
    sub = [k for k, v in a.items() if v["skill"] == "actor-delegation-manager" and k != "manager"]
    assert len(sub) == 1 and a[sub[0]]["scope"] not in ("000000", a["manager"]["scope"])
    workers = {k: v for k, v in a.items() if v["skill"] == "actor-worker"}
    assert len(workers) == 5 and len({v["scope"] for v in workers.values()}) == 5
    assert sorted(v["restarts"] for v in workers.values()) == [0, 0, 0, 1, 2]
    flags = [line for m in out.messages if m["receiver"] == "health" for line in m["log"]
             if line.startswith("flag:")]
    assert len(flags) == 3  # the flaky worker once, the dividing worker twice


def test_h2_scan_gathers_the_curve_from_workflow_runs():
    out = run_example("h2-scan.toml")
    assert out.status == "exited", out.error
    curve = out.result["results"]
    exact = [p["exact.exact_energy"] for p in curve]
    # STO-3G H2 full CI: the minimum near 0.735 Å is -1.1373 Hartree; 0.5 and 1.5 Å lie above.
    assert exact[1] == pytest.approx(-1.137306, abs=1e-5)
    assert exact[0] > exact[1] and exact[2] > exact[1]
    assert [p["vqe.eigenvalue"] for p in curve] == pytest.approx(exact, abs=1e-6)


def test_assistant_calls_tools_through_the_replayed_api():
    replay = Replay([
        message(tool_use("list_skills", {"query": "H2 energy"})),
        message(text_block("Use quantum-hamiltonian, then quantum-vqe.")),
    ])
    client = LlmClient(LlmConfig(api_key=KEY, stream=False, max_retries=0),
                       http_client=httpx2.Client(transport=httpx2.MockTransport(replay)),
                       sleep=lambda s: None)
    out = run_example("assistant.toml", {"prompt": "Which skills compute H2 energies?"},
                      llm_client=client)
    assert out.status == "exited", out.error
    assert out.result == {"answer": "Use quantum-hamiltonian, then quantum-vqe.", "steps": 2,
                          "tools": ["list_skills"]}
    first, second = replay.bodies()
    assert first["messages"] == [{"role": "user", "content": "Which skills compute H2 energies?"}]
    assert {t["name"] for t in first["tools"]} >= {"list_skills", "get_skill"}
    result = second["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and "quantum-vqe" in result["content"]
    assert not result["is_error"]


def test_code_with_experts_writes_only_what_every_expert_approved(tmp_path):
    cfg, problems = check_system(EXAMPLES / "code-with-experts.toml")
    assert [p for p in problems if p.severity == "error"] == []
    cfg.actors[0]["config"]["root"] = str(tmp_path / "out")
    cfg.actors[0]["config"]["changes"].append({"path": "../escape.py", "content": "x = 1\n"})
    system, specs = build_system(cfg)
    out = asyncio.run(system.run(specs))
    assert out.status == "exited", out.error
    assert out.result["written"] == ["hello.py"]
    assert (tmp_path / "out" / "hello.py").read_text() == "print('hello')\n"
    refused = {r["path"]: r["reason"] for r in out.result["refused"]}
    assert set(refused) == {"danger.py", "notes.txt", "../escape.py"}
    assert "contains 'eval('" in refused["danger.py"]
    assert "only .py files" in refused["notes.txt"]
    assert ".." in refused["../escape.py"]  # approved by both, refused by safe_write
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hello.py"]
    assert not (tmp_path / "escape.py").exists()
