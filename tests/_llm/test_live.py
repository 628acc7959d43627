"""Against the real API: runs only with ANTHROPIC_API_KEY set (skipped visibly otherwise)."""

from __future__ import annotations

import os

import pytest

from llmos_jupyter import SkillLibrary
from llmos_jupyter._llm.agent import Agent
from llmos_jupyter._llm.client import LlmClient
from llmos_jupyter._llm.config import load_config
from llmos_jupyter._llm.tools import Toolbox

pytestmark = pytest.mark.skipif(not os.environ.get("ANTHROPIC_API_KEY"),
                                reason="live Anthropic API test: set ANTHROPIC_API_KEY to run it")


def test_live_build_of_the_h2_workflow(llmos_home):
    lib = SkillLibrary(home=llmos_home)
    client = LlmClient(load_config())
    agent = Agent(client, lib, toolbox=Toolbox(lib, trace=False))
    answer = agent.ask("compute the H2 ground state energy and plot the convergence", build=True)
    assert answer.result is not None and answer.result.ok, answer.text
    energies = [r.outputs.get("eigenvalue") for r in answer.result.nodes.values()
                if "eigenvalue" in r.outputs]
    assert energies and energies[0] == pytest.approx(-1.137, abs=2e-3)
    assert client.ledger.input_tokens > 0
    assert os.environ["ANTHROPIC_API_KEY"] not in answer.chat_path.read_text()
