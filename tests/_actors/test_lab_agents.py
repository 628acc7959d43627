"""The kernel side of Agent System documents: llmos_jupyter._lab's agent functions and the
graph/line helpers of llmos_jupyter._actors.graph (issue 18 §5)."""

from __future__ import annotations

import _thread
import asyncio
import json
import threading
from pathlib import Path

import pytest

from llmos_jupyter import _lab
from llmos_jupyter._actors import run_file
from llmos_jupyter._actors.config import check_system
from llmos_jupyter._actors.graph import problem_line, system_graph

REPO = Path(__file__).resolve().parents[2]
PING_PONG = (REPO / "agents" / "ping-pong.toml").read_text(encoding="utf-8")


@pytest.fixture
def system(tmp_path, llmos_home):
    path = tmp_path / "ping-pong.toml"
    path.write_text(PING_PONG, encoding="utf-8")
    return path


def _events(out: str) -> list[dict]:
    return [json.loads(line[len(_lab.EVENT_PREFIX):]) for line in out.splitlines()
            if line.startswith(_lab.EVENT_PREFIX)]


def _reply(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


# -- the graph and the problems -------------------------------------------------------------

def test_graph_of_a_valid_system(system):
    r = json.loads(_lab.agent_system_graph_json(PING_PONG, str(system)))
    assert r["valid"] is True and r["problems"] == []
    assert r["name"] == "ping-pong" and r["timeout_s"] == 30
    nodes = {n["id"]: n for n in r["graph"]["nodes"]}
    assert nodes["scope:000000"]["type"] == "scope"
    assert nodes["ping"]["parentId"] == nodes["pong"]["parentId"] == "scope:000000"
    assert {(e["source"], e["target"], e["label"]) for e in r["graph"]["edges"]} == {
        ("ping", "pong", "ping"), ("pong", "ping", "pong")}


def test_invalid_toml_is_a_problem_with_its_line_not_an_exception(system):
    text = '[system]\nname = "x"\n[[actors]\nid = "a"\n'
    r = json.loads(_lab.agent_system_graph_json(text, str(system)))
    assert r["valid"] is False
    (p,) = r["problems"]
    assert p["code"] == "toml" and p["severity"] == "error" and p["line"] == 3
    assert p["where"] == str(system)  # the real file, not the hidden copy the check read
    assert [n["type"] for n in r["graph"]["nodes"]] == ["scope"]  # the empty root scope


def test_unsaved_text_is_checked_from_a_hidden_copy_that_is_removed(system):
    text = PING_PONG.replace('skill = "actor-pong"', 'skill = "no-such-actor"')
    r = json.loads(_lab.agent_system_graph_json(text, str(system)))
    errors = [p for p in r["problems"] if p["severity"] == "error"]
    assert [p["code"] for p in errors] == ["unknown-skill"]
    assert errors[0]["where"] == "actors[2] (pong).skill"
    assert errors[0]["line"] == PING_PONG.splitlines().index('skill = "actor-pong"') + 1
    assert sorted(p.name for p in system.parent.iterdir()) == ["ping-pong.toml"]
    # the file on disk is untouched
    assert system.read_text(encoding="utf-8") == PING_PONG


def test_a_relative_path_resolves_against_the_working_directory(system, monkeypatch):
    monkeypatch.chdir(system.parent.parent)
    r = json.loads(_lab.agent_system_graph_json(PING_PONG, f"{system.parent.name}/ping-pong.toml"))
    assert r["valid"] is True
    monkeypatch.chdir(system.parent)  # a document's kernel starts in the file's folder
    r = json.loads(_lab.agent_system_graph_json(PING_PONG, "somewhere/ping-pong.toml"))
    assert r["valid"] is True


def test_problem_line_locates_keys_tables_and_syntax():
    text = ('[system]\nname = 1\n\n[scopes.a1b2c3]\nparent = "zz"\n\n[[actors]]\nid = "a"\n\n'
            '[[actors]]\nid = "b"\nskill = "x"\n')
    assert problem_line(text, "system.name") == 2
    assert problem_line(text, "scopes.a1b2c3.parent") == 5
    assert problem_line(text, "scopes.a1b2c3") == 4
    assert problem_line(text, "actors[2] (b).skill") == 12
    assert problem_line(text, "actors[1]") == 7
    assert problem_line(text, "actors[1] (a).skill") == 7  # no such key: the table's header
    assert problem_line(text, "actors[3]") is None
    assert problem_line(text, "skill actor-x") is None
    assert problem_line("", "/x.toml", "not valid TOML: oops (at line 9, column 2)") == 9


def test_graph_nests_child_scopes_inside_their_parent(tmp_path, llmos_home):
    path = tmp_path / "nested.toml"
    path.write_text('[scopes.bbbbbb]\nparent = "aaaaaa"\n\n'
                    '[[actors]]\nid = "p"\nskill = "actor-ping"\n\n'
                    '[[actors]]\nid = "q"\nskill = "actor-pong"\nscope = "aaaaaa"\n\n'
                    '[[actors]]\nid = "r"\nskill = "actor-pong"\nscope = "bbbbbb"\n')
    cfg, _ = check_system(path)
    g = system_graph(cfg)
    nodes = {n["id"]: n for n in g["nodes"]}
    order = [n["id"] for n in g["nodes"]]
    for n in g["nodes"]:  # React Flow needs parents before children
        if "parentId" in n:
            assert order.index(n["parentId"]) < order.index(n["id"])
    assert nodes["scope:bbbbbb"]["parentId"] == "scope:aaaaaa"
    assert nodes["scope:aaaaaa"]["parentId"] == "scope:000000"
    assert nodes["r"]["parentId"] == "scope:bbbbbb"
    # a child box lies inside its parent's box (positions are relative to the parent)
    for child, parent in (("scope:bbbbbb", "scope:aaaaaa"), ("scope:aaaaaa", "scope:000000")):
        c, p = nodes[child], nodes[parent]
        assert c["position"]["x"] + c["style"]["width"] <= p["style"]["width"]
        assert c["position"]["y"] + c["style"]["height"] <= p["style"]["height"]
        assert c["position"]["y"] >= 36  # below the parent's title band


# -- runs ---------------------------------------------------------------------------------

def test_run_streams_events_and_returns_the_runtime_outcome(system, llmos_home, capsys):
    expected = run_file(system, {"rounds": 3}, trace=False)
    reply = json.loads(_lab.run_agent_system_json(PING_PONG, str(system), '{"rounds": 3}'))
    events = _events(capsys.readouterr().out)
    assert reply["status"] == "exited" == expected.status
    assert reply["result"] == expected.result
    assert [(m["sender"], m["receiver"], m["type"]) for m in reply["messages"]] == \
        [(m["sender"], m["receiver"], m["type"]) for m in expected.messages]
    msgs = [e for e in events if e["kind"] == "agent-message"]
    assert [e["id"] for e in msgs] == [m["id"] for m in reply["messages"]]
    assert msgs[0]["payload_preview"] == '{"rounds": 3}'
    actors = [e for e in events if e["kind"] == "agent-actor"]
    assert {(e["id"], e["status"]) for e in actors} >= {("ping", "ready"), ("pong", "stopped")}
    assert {a: r["handled"] for a, r in reply["actors"].items()} == \
        {a: r["handled"] for a, r in expected.actors.items()}
    # recorded as the runtime records runs
    trace = Path(reply["trace"])
    assert trace.is_file() and trace.is_relative_to(llmos_home)
    assert "exited after 7 message(s)" in reply["message"]


def test_a_long_payload_is_cut_in_the_live_event_not_in_the_reply(system, capsys):
    long = "x" * 5000
    reply = json.loads(_lab.run_agent_system_json(PING_PONG, str(system), json.dumps({"s": long})))
    (start,) = [e for e in _events(capsys.readouterr().out) if e.get("type") == "start"]
    assert len(start["payload_preview"]) == 240 and start["payload_preview"].endswith("…")
    assert reply["messages"][0]["payload"] == {"s": long}


def test_run_refuses_invalid_systems_and_input_without_running(system, llmos_home, capsys):
    bad = json.loads(_lab.run_agent_system_json(PING_PONG, str(system), "{not json"))
    assert bad["status"] == "invalid" and bad["problems"][0]["code"] == "input"
    text = PING_PONG.replace('skill = "actor-ping"', 'skill = "nope"')
    bad = json.loads(_lab.run_agent_system_json(text, str(system), ""))
    assert bad["status"] == "invalid" and bad["messages"] == []
    assert any(p["code"] == "unknown-skill" and p["line"] for p in bad["problems"])
    assert _events(capsys.readouterr().out) == []
    assert not (llmos_home / "user" / "agent-runs").exists()


def test_the_system_timeout_ends_a_run(system):
    text = PING_PONG.replace("rounds = 3", "rounds = 1000000000").replace("timeout_s = 30",
                                                                          "timeout_s = 0.5")
    reply = json.loads(_lab.run_agent_system_json(text, str(system), "", events=False))
    assert reply["status"] == "timeout", reply["message"]
    assert len(reply["messages"]) > 2


def test_runs_inside_a_running_loop_like_a_kernel_cell(system):
    async def cell():
        return _lab.run_agent_system_json(PING_PONG, str(system), "", events=False)

    assert json.loads(asyncio.run(cell()))["status"] == "exited"


def test_the_coroutine_form_for_kernels_without_threads(system, capsys):
    reply = json.loads(asyncio.run(_lab.arun_agent_system_json(PING_PONG, str(system))))
    assert reply["status"] == "exited"
    assert len([e for e in _events(capsys.readouterr().out)
                if e["kind"] == "agent-message"]) == len(reply["messages"])


def test_a_kernel_interrupt_cancels_the_run(system, capsys):
    text = PING_PONG.replace("rounds = 3", "rounds = 1000000000")
    # What the kernel's interrupt does: KeyboardInterrupt in the waiting (main) thread.
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        reply = json.loads(_lab.run_agent_system_json(text, str(system), ""))
    finally:
        timer.cancel()
    assert reply["status"] == "interrupted", reply["message"]
    assert {"kind": "cancelling"} in _events(capsys.readouterr().out)
