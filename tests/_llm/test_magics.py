"""``%%llm`` and ``%llm`` in a real InteractiveShell, the model replayed (the replays
reproduce the Messages API's protocol; they are not the product's behaviour)."""

from __future__ import annotations

import pytest
from _llm.anthropic_replay import KEY, error, message, text_block
from _llm.test_agent import h2_script

from llmos_jupyter import SkillLibrary
from llmos_jupyter._llm.chat import list_chats
from llmos_jupyter._llm.magics import LlmMagics, register
from llmos_jupyter._magics import LlmosMagics


@pytest.fixture
def lib(llmos_home):
    return SkillLibrary(home=llmos_home)


def install(ip, lib, client=None):
    skills = LlmosMagics(ip, library=lib)
    skills.trace = False
    ip.register_magics(skills)
    m = LlmMagics(ip, library=lib, client=client)
    ip.register_magics(m)
    return m, skills


def test_register_adds_both_magics(ip):
    m = register(ip)
    assert isinstance(m, LlmMagics) and m in ip.configurables
    assert ip.find_cell_magic("llm") is not None and ip.find_line_magic("llm") is not None


def test_build_streams_the_answer_and_shows_the_skill_cells(ip, lib, make_client, capsys,
                                                           monkeypatch):
    published: list[dict] = []
    monkeypatch.setattr(ip.display_pub, "publish",
                        lambda data, *a, **k: published.append(data))
    monkeypatch.setattr(ip.display_formatter, "active_types",
                        [*ip.display_formatter.active_types, "text/html", "image/png"])
    made = make_client(h2_script(), stream=True)
    m, skills = install(ip, lib, made.client)
    m.agent.toolbox.trace = False
    ip.run_cell("%%llm --build --yes\ncompute the H2 ground state energy and plot the convergence")
    assert capsys.readouterr().err == ""
    assert not any("text/markdown" in d for d in published)  # Markdown only as safe HTML
    markdown = [d["text/html"] for d in published if "text/html" in d]
    assert len(markdown) > 2  # the placeholder, streamed updates, the final answer
    answer = [t for t in markdown if "-1.1373 Hartree" in t]
    assert answer and "7 calls" in answer[-1]
    text = "\n".join(d.get("text/plain", "") for d in published)
    assert "skill vqe --uses quantum-vqe" in text
    assert "--in hamiltonian=hamiltonian.hamiltonian" in text
    assert any("image/png" in d for d in published)
    assert set(skills.session.cells) == {"hamiltonian", "vqe", "plot"}  # %workflow run works
    assert len(list_chats()) == 1

    ip.run_line_magic("llm", "usage")
    ip.run_line_magic("llm", "history")
    out = capsys.readouterr().out
    assert "this chat:   7 calls" in out and "1 saved chat(s)" in out and "user: compute" in out


def test_errors_are_one_redacted_line(ip, lib, make_client, capsys):
    made = make_client([error(401, "authentication_error", f"invalid x-api-key {KEY}")])
    install(ip, lib, made.client)
    ip.run_cell("%%llm\nhello")
    err = capsys.readouterr().err
    assert "%%llm: the API rejected the key (401" in err and KEY not in err
    assert "Traceback" not in err


def test_without_a_key_the_magic_says_how_to_set_one(ip, lib, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    install(ip, lib)
    ip.run_cell("%%llm\nhello")
    err = capsys.readouterr().err
    assert "no Anthropic API key: set ANTHROPIC_API_KEY" in err and "%llm key" in err
    ip.run_line_magic("llm", "models")
    out = capsys.readouterr()
    assert "price table" in out.err and "claude-sonnet-5-5" in out.out and "$2 / $10" in out.out


def test_bad_options_and_empty_cells(ip, lib, make_client, capsys):
    install(ip, lib, make_client([]).client)
    ip.run_cell("%%llm --colour red\nhi")
    ip.run_cell("%%llm\n   ")
    ip.run_line_magic("llm", "frobnicate")
    err = capsys.readouterr().err
    assert "unrecognized arguments: --colour red" in err
    assert "write the request in the cell body" in err and "invalid choice: 'frobnicate'" in err


def test_resume_continues_a_saved_chat(ip, lib, make_client, capsys):
    made = make_client([message(text_block("first")), message(text_block("second"))])
    m, _ = install(ip, lib, made.client)
    ip.run_cell("%%llm\none")
    m._agent = None  # a "restart": the chat is only on disk now
    ip.run_line_magic("llm", "resume")
    ip.run_cell("%%llm\ntwo")
    sent = made.replay.bodies()[1]["messages"]
    assert [x["role"] for x in sent] == ["user", "assistant", "user"]
    assert "resumed chat" in capsys.readouterr().out


def test_key_is_typed_kept_in_memory_and_redacted(ip, lib, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    typed = "sk-ant-api03-TYPEDKEY-987654321"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": typed)
    m, _ = install(ip, lib)
    ip.run_line_magic("llm", "key")
    assert m.client.config.api_key == typed
    assert "key set for this kernel" in capsys.readouterr().out
    print(f"echo {typed}")
    from llmos_jupyter._llm.redact import redact

    assert typed not in redact(capsys.readouterr().out)


def test_key_in_a_front_end_without_input_says_how_to_set_it(ip, lib, capsys, monkeypatch):
    from IPython.core.error import StdinNotImplementedError

    def no_stdin(prompt=""):
        raise StdinNotImplementedError("getpass was called, but this frontend does not "
                                       "support input requests.")

    monkeypatch.setattr("getpass.getpass", no_stdin)
    install(ip, lib)
    ip.run_line_magic("llm", "key")
    err = capsys.readouterr().err
    assert "cannot read input" in err and "ANTHROPIC_API_KEY" in err and "config.toml" in err
    assert "Traceback" not in err and "StdinNotImplementedError" not in err


def _run_script():
    from _llm.anthropic_replay import tool_use

    return [message(tool_use("create_workflow", {"workflow_id": "w"}),
                    tool_use("add_node", {"node_id": "s", "skill_id": "data-analysis",
                                          "params": {"data": [1.0, 2.0, 4.5]}})),
            message(tool_use("run_workflow", {})),
            message(text_block("done"))]


@pytest.mark.parametrize("reply, approval", [("y", "approved"), ("n", "denied"),
                                             (None, "denied")])
def test_a_writing_tool_call_asks_in_the_front_end(ip, lib, make_client, capsys, monkeypatch,
                                                   llmos_home, reply, approval):
    from IPython.core.error import StdinNotImplementedError

    asked: list[str] = []

    def fake_input(prompt=""):
        asked.append(prompt)
        if reply is None:
            raise StdinNotImplementedError("no stdin")
        return reply

    monkeypatch.setattr("builtins.input", fake_input)
    made = make_client(_run_script())
    m, _ = install(ip, lib, made.client)
    m.agent.toolbox.trace = False
    ip.run_cell("%%llm --build\nmean of 1, 2, 4.5")
    out = capsys.readouterr()
    assert len(asked) == 1 and "writes" in out.out and "w.workflow.json" in out.out
    saved = llmos_home / "user" / "workflows" / "w.workflow.json"
    assert saved.exists() is (approval == "approved")
    result = m.agent.toolbox.results.get("w")
    assert (result is not None) is (approval == "approved")
    call = next(c for c in m.agent.chat.calls.values() if c["tool"] == "run_workflow")
    assert call["approval"] == approval
    if reply is None:
        assert "--yes" in out.err


def test_yes_skips_the_question(ip, lib, make_client, monkeypatch, llmos_home):
    monkeypatch.setattr("builtins.input", lambda prompt="": pytest.fail("asked despite --yes"))
    made = make_client(_run_script())
    m, _ = install(ip, lib, made.client)
    m.agent.toolbox.trace = False
    ip.run_cell("%%llm --build --yes\nmean of 1, 2, 4.5")
    assert (llmos_home / "user" / "workflows" / "w.workflow.json").exists()
    assert m.agent.toolbox.approve is None  # --yes held for that cell only


def test_an_answer_never_renders_live_markup(ip, lib, make_client, monkeypatch):
    from _notebook.test_display_escaping import PAYLOADS, assert_inert

    published: list[dict] = []
    monkeypatch.setattr(ip.display_pub, "publish",
                        lambda data, *a, **k: published.append(data))
    made = make_client([message(text_block("Here: " + " ".join(PAYLOADS)))], stream=True)
    install(ip, lib, made.client)
    ip.run_cell("%%llm\nhello")
    assert published and all(assert_inert(d) for d in published)
    assert "&lt;img src=x onerror=alert(1)&gt;" in published[-1]["text/html"]
