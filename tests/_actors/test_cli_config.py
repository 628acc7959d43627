"""System files in TOML, ``llmos agents`` and the recorded run notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from llmos_jupyter._actors.config import check_system
from llmos_jupyter._cli import main

REPO = Path(__file__).resolve().parents[2]

# Two actor skills the project never saw: they play ping-pong to a count.
SERVE = """---
skill_id: my-serve
name: Serve
kind: actor
subscribes: [start, back]
---

```python
def on_start(ctx):
    ctx.state["count"] = 0

def on_message(ctx, msg):
    if msg.type == "start":
        ctx.state["to"] = msg.payload["to"]
        ctx.send("hit", {"n": 1}, to="receiver")
    elif msg.payload["n"] >= ctx.state["to"]:
        ctx.exit({"rally": msg.payload["n"]})
    else:
        ctx.send("hit", {"n": msg.payload["n"] + 1}, to=msg.sender)
```
"""
RETURN = """---
skill_id: my-return
name: Return
kind: actor
subscribes: [hit]
---

```python
def on_start(ctx):
    pass

def on_message(ctx, msg):
    ctx.log(f"return {msg.payload['n']}")
    ctx.reply(msg, "back", msg.payload)
```
"""
SYSTEM = """
[system]
name = "rally"
timeout_s = 30

[[actors]]
id = "server"
skill = "my-serve"

[[actors]]
id = "receiver"
skill = "my-return"
"""


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def rally(tmp_path, llmos_home):
    user = llmos_home / "user" / "skills"
    user.mkdir(parents=True)
    (user / "my-serve.md").write_text(SERVE)
    (user / "my-return.md").write_text(RETURN)
    path = tmp_path / "rally.toml"
    path.write_text(SYSTEM)
    return path


def test_agents_run_json_has_every_hit_in_order(capsys, rally, llmos_home):
    code, out, err = run_cli(capsys, "agents", "run", str(rally), "--input", '{"to": 4}', "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "exited" and data["result"] == {"rally": 4}
    game = [(m["type"], m["payload"]["n"]) for m in data["messages"] if m["type"] in ("hit", "back")]
    assert game == [(t, n) for n in range(1, 5) for t in ("hit", "back")]
    assert data["actors"]["receiver"]["handled"] == 4
    assert set(data["actors"]["server"]) >= {"restarts", "handled", "status"}
    # The run is recorded as a notebook under the user volume.
    trace = Path(data["trace"])
    assert trace.parent == llmos_home / "user" / "agent-runs"
    nb = nbformat.read(trace, as_version=4)
    nbformat.validate(nb)
    assert all(c.cell_type == "markdown" for c in nb.cells)
    assert len(nb.cells) == 1 + len(data["messages"])
    assert "return 3" in nb.cells[1 + 5].source
    assert nb.metadata["llmos"]["agents"]["result"] == {"rally": 4}


def test_agents_run_text_and_clean(capsys, rally, llmos_home):
    code, out, err = run_cli(capsys, "agents", "run", str(rally), "--input", '{"to": 2}')
    assert code == 0, err
    assert '{"rally": 2}' in out and "hit: server -> receiver" in out and "recorded:" in err
    code, out, _ = run_cli(capsys, "agents", "clean", "--yes")
    assert code == 0 and "removed 1" in out
    assert not (llmos_home / "user" / "agent-runs").exists()


def test_agents_run_failure_exit_1_and_bad_input_exit_2(capsys, rally):
    code, out, _ = run_cli(capsys, "agents", "run", str(rally), "--input", "{nope", "--json")
    assert code == 2 and json.loads(out)["problems"][0]["where"] == "--input"
    # no "to": the server's handler raises (KeyError) on the start message, is restarted,
    # and then nothing is left to do: the run ends idle, exit 1
    code, out, _ = run_cli(capsys, "agents", "run", str(rally), "--input", "{}", "--json",
                             "--no-trace")
    assert code == 1
    data = json.loads(out)
    assert data["status"] == "idle" and "ctx.exit" in data["error"]
    assert data["actors"]["server"]["restarts"] == 1
    assert [m["status"] for m in data["messages"] if m["type"] == "start"] == ["failed"]


def test_local_skills_run_isolated_until_signed(capsys, tmp_path, llmos_home):
    folder = tmp_path / "sys"
    (folder / "actors").mkdir(parents=True)
    (folder / "actors" / "my-serve.md").write_text(SERVE)
    (folder / "actors" / "my-return.md").write_text(RETURN)
    path = folder / "rally.toml"
    path.write_text(SYSTEM.replace('timeout_s = 30', 'timeout_s = 30\nskills = ["actors"]'))
    code, out, err = run_cli(capsys, "agents", "check", str(path))
    assert code == 0 and err.count("runs isolated") == 2 and "llmos agents trust" in err
    code, out, err = run_cli(capsys, "agents", "run", str(path), "--input", '{"to": 2}',
                             "--json", "--no-trace")
    assert code == 0, err
    data = json.loads(out)
    assert data["result"] == {"rally": 2}
    assert data["actors"]["server"]["isolated"] and data["actors"]["receiver"]["isolated"]
    code, out, err = run_cli(capsys, "agents", "trust", str(path))
    assert code == 0 and "trusted my-serve" in out
    code, out, err = run_cli(capsys, "agents", "run", str(path), "--input", '{"to": 1}',
                             "--json", "--no-trace")
    assert code == 0, err
    assert not json.loads(out)["actors"]["server"]["isolated"]
    # editing a signed file revokes its trust
    (folder / "actors" / "my-return.md").write_text(RETURN.replace("return {", "ret {"))
    code, out, err = run_cli(capsys, "agents", "check", str(path))
    assert code == 0 and err.count("runs isolated") == 1 and "my-return" in err


BROKEN = """
[system]
name = "broken"
timeot_s = 3
scope = "ROOT"

[supervision]
strategy = "one_for_some"
max_restarts = -1

[scopes.abc]
parent = "000000"

[[actors]]
id = "a"
skill = "no-such-skill"

[[actors]]
id = "a"
skill = "condition"

[[actors]]
id = "p"
skill = "actor-pong"
scope = "toolong1"

[[actors]]
skill = "actor-pong"
"""


def test_check_lists_every_problem(capsys, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    _, problems = check_system(path)
    got = {(p.where, p.code) for p in problems}
    assert ("system.timeot_s", "unknown-key") in got
    assert ("system.scope", "scope") in got
    assert ("supervision.strategy", "strategy") in got
    assert ("supervision.max_restarts", "type") in got
    assert ("scopes.abc", "scope") in got
    assert ("actors[1] (a).skill", "unknown-skill") in got
    assert ("actors[2].id", "duplicate") in got
    assert ("actors[2] (a).skill", "not-actor") in got or ("actors[2].skill", "not-actor") in got
    assert ("actors[3] (p).scope", "scope") in got
    assert ("actors[4].id", "missing") in got
    # actor-pong subscribes to ping, which nobody in this system sends
    assert any(p.code == "unsent-subscription" and "'ping'" in p.message
               and p.severity == "warning" for p in problems)
    code, out, _ = run_cli(capsys, "agents", "check", str(path), "--json")
    assert code == 2 and len(json.loads(out)["problems"]) == len(problems)


def test_check_reports_toml_syntax_with_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[system]\nname = \n")
    _, problems = check_system(path)
    assert len(problems) == 1  # a syntax error comes alone, with its line
    assert "line 2" in problems[0].message


def test_example_systems_check_and_info(capsys):
    systems = sorted((REPO / "agents").glob("*.toml"))
    assert systems
    for path in systems:
        _, problems = check_system(path)
        assert [p for p in problems if p.severity == "error"] == [], (path, problems)
    code, out, _ = run_cli(capsys, "agents", "info", "--json")
    data = json.loads(out)
    assert code == 0 and "actor-ping" in {a["skill_id"] for a in data["actors"]}
    assert any(s.endswith("ping-pong.toml") for s in data["systems"])


def test_ping_pong_example_runs(capsys):
    code, out, err = run_cli(capsys, "agents", "run", str(REPO / "agents/ping-pong.toml"),
                             "--input", '{"rounds": 3}', "--json", "--no-trace")
    assert code == 0, err
    assert json.loads(out)["result"] == {"rounds": 3, "pongs": [1, 2, 3]}


def test_trace_escapes_untrusted_text(tmp_path):
    from llmos_jupyter._actors.runtime import RunOutcome
    from llmos_jupyter._actors.trace import write_agent_trace

    outcome = RunOutcome(status="exited", result="<b>x</b>", name="../../evil name",
                         started_at=0.0, messages=[{
                             "id": "m000001", "type": "<img src=x onerror=alert(1)>",
                             "sender": "a", "receiver": "b", "scope": "000000",
                             "payload": {"html": "<script>alert(1)</script>"},
                             "status": "handled", "log": ["[link](javascript:alert(1))"]}],
                         actors={})
    path = write_agent_trace(outcome, tmp_path)
    assert path.parent == tmp_path and ".." not in path.name
    # the cells (what Jupyter renders) hold inert text; the metadata keeps the data as data
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    assert "&lt;script&gt;" in text
    assert "<script>" not in text and "<img" not in text and "[link](" not in text


def test_system_graph_groups_actors_by_scope_with_message_edges(tmp_path):
    from llmos_jupyter._actors.graph import system_graph

    path = tmp_path / "g.toml"
    path.write_text('[[actors]]\nid = "ping"\nskill = "actor-ping"\n\n'
                    '[[actors]]\nid = "pong"\nskill = "actor-pong"\n\n'
                    '[[actors]]\nid = "far"\nskill = "actor-pong"\nscope = "a1b2c3"\n')
    cfg, _ = check_system(path)
    g = system_graph(cfg)
    groups = {n["id"]: n for n in g["nodes"] if n["type"] == "scope"}
    assert set(groups) == {"scope:000000", "scope:a1b2c3"}
    assert groups["scope:a1b2c3"]["parentId"] == "scope:000000"
    actors = {n["id"]: n for n in g["nodes"] if n["type"] == "actor"}
    assert actors["far"]["parentId"] == "scope:a1b2c3"
    assert actors["pong"]["data"]["subscribes"] == ["ping"]
    # ping sends "ping" (to whoever; pong subscribes, same scope), pong sends "pong"
    assert {(e["source"], e["target"], e["label"]) for e in g["edges"]} == {
        ("ping", "pong", "ping"), ("pong", "ping", "pong")}


def test_example_systems_dir_in_a_checkout_and_in_a_wheel(tmp_path):
    from llmos_jupyter._commands.agents import example_systems_dir

    assert example_systems_dir() == REPO / "agents"
    assert (example_systems_dir() / "ping-pong.toml").is_file()
    # An installed wheel: agents/ force-included as llmos_jupyter/agents.
    package = tmp_path / "site-packages" / "llmos_jupyter"
    (package / "agents").mkdir(parents=True)
    assert example_systems_dir(package) == package / "agents"
    # A checkout: no packaged copy, the folder beside the package.
    checkout = tmp_path / "repo" / "llmos_jupyter"
    checkout.mkdir(parents=True)
    assert example_systems_dir(checkout) == tmp_path / "repo" / "agents"
