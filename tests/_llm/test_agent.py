"""The tool loop builds and runs the H2 workflow from a replayed conversation.

The replayed model turns reproduce the Messages API's protocol (tool_use blocks in, tool
results out, streamed as server-sent events); they are not the product's behaviour — the
product is what the loop and the tools do with them: the real library, validation, engine.
"""

from __future__ import annotations

import json

import pytest
from _llm.anthropic_replay import KEY, message, text_block, tool_use

from llmos_jupyter import SkillLibrary, Workflow
from llmos_jupyter._llm.agent import Agent
from llmos_jupyter._llm.chat import Chat
from llmos_jupyter._llm.tools import Toolbox, approve_all

PROMPT = "compute the H2 ground state energy and plot the convergence"


def h2_script() -> list:
    return [
        message(text_block("I'll look at the quantum skills."),
                tool_use("list_skills", {"query": "H2 hamiltonian vqe convergence plot"})),
        message(tool_use("create_workflow", {"workflow_id": "h2-ground-state",
                                             "name": "H2 ground state"}),
                tool_use("add_node", {"node_id": "hamiltonian", "skill_id": "quantum-hamiltonian",
                                      "params": {"bond_length": 0.735}}),
                tool_use("add_node", {"node_id": "vqe", "skill_id": "quantum-vqe"}),
                tool_use("add_node", {"node_id": "plot", "skill_id": "plot-convergence"})),
        # one wrong port: the loop must return a precise error the model can act on
        message(tool_use("connect", {"source": "hamiltonian", "source_port": "hamiltonian",
                                     "target": "vqe", "target_port": "hamiltonian"}),
                tool_use("connect", {"source": "hamiltonian", "source_port": "nuclear_repulsion",
                                     "target": "vqe", "target_port": "energy_offset"}),
                tool_use("connect", {"source": "vqe", "source_port": "convergence",
                                     "target": "plot", "target_port": "data"})),
        message(text_block("The output is convergence_trace."),
                tool_use("connect", {"source": "vqe", "source_port": "convergence_trace",
                                     "target": "plot", "target_port": "data"}),
                tool_use("validate_workflow", {})),
        message(tool_use("run_workflow", {})),
        message(tool_use("read_outputs", {"node_id": "vqe", "port": "eigenvalue"})),
        message(text_block("The H2 ground state energy (STO-3G, 0.735 Å) is **-1.1373 Hartree**; "
                           "the convergence plot is attached.")),
    ]


@pytest.fixture
def library(llmos_home):
    return SkillLibrary(home=llmos_home)


def test_the_loop_builds_and_runs_the_h2_workflow(make_client, library, llmos_home):
    m = make_client(h2_script(), stream=True)
    agent = Agent(m.client, library, toolbox=Toolbox(library, trace=False), approve=approve_all)
    streamed: list[str] = []
    answer = agent.ask(PROMPT, build=True, on_text=streamed.append)

    assert answer.stop_reason == "end_turn" and answer.steps == 7
    assert "-1.1373 Hartree" in answer.text and "".join(streamed).startswith("I'll look")
    wf = answer.workflow
    assert [(n.id, n.skill) for n in wf.nodes] == [
        ("hamiltonian", "quantum-hamiltonian"), ("vqe", "quantum-vqe"), ("plot", "plot-convergence")]
    assert {(e.source, e.source_handle, e.target, e.target_handle) for e in wf.edges} == {
        ("hamiltonian", "hamiltonian", "vqe", "hamiltonian"),
        ("hamiltonian", "nuclear_repulsion", "vqe", "energy_offset"),
        ("vqe", "convergence_trace", "plot", "data")}
    assert answer.result.ok
    assert answer.result["vqe"].outputs["eigenvalue"] == pytest.approx(-1.137306, abs=1e-5)
    assert answer.saved == llmos_home / "user" / "workflows" / "h2-ground-state.workflow.json"
    assert len(Workflow.load(answer.saved).edges) == 3

    # what the model was sent: tools, the skill context, and a precise error for the bad port
    bodies = m.replay.bodies()
    assert {t["name"] for t in bodies[0]["tools"]} >= {"add_node", "connect", "run_workflow"}
    assert "quantum-vqe" in bodies[0]["system"] and "BUILD" in bodies[0]["system"]
    results = [b for msg in bodies[3]["messages"] if msg["role"] == "user"
               for b in msg["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    bad = [r for r in results if r.get("is_error")]
    assert len(bad) == 1 and "has no output 'convergence'" in bad[0]["content"]
    assert "convergence_trace" in bad[0]["content"]
    ran = json.loads(next(r["content"] for r in
                          [b for msg in bodies[5]["messages"] if msg["role"] == "user"
                           for b in msg["content"] if isinstance(b, dict)
                           and b.get("type") == "tool_result"][-1:]))
    assert ran["status"] == "completed" and ran["nodes"]["plot"]["outputs"]["image"].startswith("<PNG")

    # usage per call and per chat
    assert len(answer.usage.calls) == 7 and answer.usage.cost_usd > 0
    assert m.client.ledger.input_tokens == 7 * 1200


def test_the_chat_is_a_notebook_that_survives_a_restart(make_client, library, llmos_home):
    m = make_client(h2_script())
    agent = Agent(m.client, library, toolbox=Toolbox(library, trace=False))
    answer = agent.ask(PROMPT, build=True, approve=approve_all)
    path = answer.chat_path
    assert path.parent == llmos_home / "user" / "chats" and path.suffix == ".ipynb"

    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(PROMPT in c.source for c in md) and any("-1.1373" in c.source for c in md)
    assert len(code) == 12 and code[0].source.startswith("# tool: list_skills")
    errors = [c for c in code if c.outputs and c.outputs[0].output_type == "error"]
    assert len(errors) == 1 and "convergence" in errors[0].outputs[0].evalue
    assert nb.metadata.llmos.chat.total.calls == 7

    again = Chat.load(path)
    assert again.messages == agent.chat.messages
    assert again.ledger.input_tokens == agent.chat.ledger.input_tokens
    # continue the restored chat: the history is sent again
    m2 = make_client([message(text_block("It used 3 nodes."))])
    Agent(m2.client, library, chat=again).ask("how many nodes?")
    sent = m2.replay.bodies()[0]["messages"]
    assert len(sent) == len(agent.chat.messages) + 1 and sent[0]["content"][0]["text"] == PROMPT
    assert KEY not in path.read_text()


def test_the_step_limit_stops_a_model_that_never_stops(make_client, library):
    loop = [message(tool_use("list_skills", {})) for _ in range(3)]
    m = make_client(loop)
    answer = Agent(m.client, library).ask("list forever", build=True, max_steps=3)
    assert answer.stop_reason == "step_limit" and answer.steps == 3
    assert "step limit of 3" in answer.text and len(m.replay.requests) == 3


def test_without_build_only_read_only_tools_and_without_skills_none(make_client, library):
    m = make_client([message(text_block("a")), message(text_block("b"))])
    agent = Agent(m.client, library)
    agent.ask("what can the vqe skill do?")
    agent.ask("hello", use_skills=False)
    first, second = m.replay.bodies()
    assert [t["name"] for t in first["tools"]] == ["list_skills", "get_skill"]
    assert "tools" not in second and "system" not in second


def test_a_tool_the_mode_does_not_offer_is_refused(make_client, library):
    m = make_client([message(tool_use("run_workflow", {})), message(text_block("ok"))])
    answer = Agent(m.client, library).ask("run it")
    assert answer.tool_calls[0][2].is_error
    assert "not available in this mode" in answer.tool_calls[0][2].content



def test_a_key_pasted_into_a_chat_never_reaches_the_notebook(make_client, library):
    pasted = "sk-ant-api03-PASTED-abcdefghijklmnop"
    m = make_client([message(tool_use("get_skill", {"skill_id": pasted})),
                     message(text_block(f"Your key {pasted} should not be shared."))])
    answer = Agent(m.client, library).ask(f"is {pasted} a skill?")
    saved = answer.chat_path.read_text()
    assert pasted not in saved and "[REDACTED]" in saved
    assert pasted in m.replay.bodies()[0]["messages"][0]["content"][0]["text"]  # sent as typed
    assert pasted not in answer.tool_calls[0][2].content  # the tool's error is redacted too


def _run_script(workflow_id="w", skill="data-analysis"):
    return [message(tool_use("create_workflow", {"workflow_id": workflow_id}),
                    tool_use("add_node", {"node_id": "s", "skill_id": skill,
                                          "params": {"data": [1.0, 2.0, 4.5]}})),
            message(tool_use("run_workflow", {})),
            message(text_block("done"))]


def test_a_call_that_writes_needs_approval_and_a_denial_goes_back_to_the_model(
        make_client, library, llmos_home):
    import nbformat

    seen = []
    m = make_client(_run_script())
    agent = Agent(m.client, library, toolbox=Toolbox(library, trace=False),
                  approve=lambda req: seen.append(req) or False)
    answer = agent.ask("mean please", build=True)
    (req,) = seen
    assert req.tool == "run_workflow" and any("commits it to the user volume" in r
                                              for r in req.reasons)
    assert "w.workflow.json" in req.describe()
    name, _, result = answer.tool_calls[-1]
    assert name == "run_workflow" and result.is_error and result.approval == "denied"
    assert "did not approve" in m.replay.bodies()[2]["messages"][-1]["content"][0]["content"]
    assert not (llmos_home / "user" / "workflows").exists() and answer.result is None

    nb = nbformat.read(str(answer.chat_path), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.metadata.llmos.call.approval for c in cells] == [
        "not needed", "not needed", "denied"]
    assert cells[-1].source.startswith("# tool: run_workflow\n# approval: denied — writes ")
    assert cells[1].metadata.llmos.call.arguments["skill_id"] == "data-analysis"
    assert Chat.load(answer.chat_path).calls == agent.chat.calls


def test_without_an_approver_writing_calls_are_denied(make_client, library, llmos_home):
    m = make_client(_run_script())
    answer = Agent(m.client, library, toolbox=Toolbox(library, trace=False)).ask(
        "mean please", build=True)
    assert answer.tool_calls[-1][2].approval == "denied"
    assert not (llmos_home / "user" / "workflows").exists()


def test_untrusted_skills_are_named_and_the_saved_workflow_is_marked_untrusted(
        make_client, library, llmos_home, monkeypatch):
    from llmos_jupyter._llm import tools

    team = llmos_home / "team" / "skills"
    team.mkdir(parents=True)
    src = library.get("data-analysis").path.read_text(encoding="utf-8")
    (team / "team-stats.md").write_text(src.replace("skill_id: data-analysis",
                                                    "skill_id: team-stats"), encoding="utf-8")
    library.reload()
    assert library.get("team-stats").volume == "team"
    marked = []
    real_mark = tools.mark_untrusted
    monkeypatch.setattr(tools, "mark_untrusted",
                        lambda path, home=None: (marked.append(path), real_mark(path, home)))
    seen = []
    m = make_client(_run_script(skill="team-stats"))
    answer = Agent(m.client, library, toolbox=Toolbox(library, trace=False),
                   approve=lambda req: seen.append(req) or True).ask("mean", build=True)
    assert "runs untrusted skills: team-stats" in seen[0].reasons
    assert answer.tool_calls[-1][2].approval == "approved"
    saved = llmos_home / "user" / "workflows" / "w.workflow.json"
    assert marked == [saved]
    from llmos_jupyter._trust import trusted_list

    assert any(row.get("marked") and row["path"].endswith("w.workflow.json")
               for row in trusted_list(llmos_home))


def test_recorded_arguments_are_redacted(make_client, library):
    pasted = "sk-ant-api03-PASTED-abcdefghijklmnop"
    m = make_client([message(tool_use("list_skills", {"query": pasted})),
                     message(text_block("no"))])
    agent = Agent(m.client, library)
    answer = agent.ask("find it")
    (call,) = agent.chat.calls.values()
    assert pasted not in json.dumps(call) and call["approval"] == "not needed"
    assert pasted not in answer.chat_path.read_text()


def test_a_tool_name_from_the_model_cannot_become_code(make_client, library):
    import nbformat

    m = make_client([message(tool_use("x\nimport os; os.system('touch pwned')", {})),
                     message(text_block("ok"))])
    answer = Agent(m.client, library).ask("hi", build=True)
    nb = nbformat.read(str(answer.chat_path), as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code"]
    assert cell.source.splitlines()[0].startswith("# tool: x?import")
    assert all(line.startswith(("#", "{", "}", " ")) for line in cell.source.splitlines())
