"""The CLI under stress: --json always one object, usage errors are exit 2, a skill's
output never reaches stdout, Ctrl-C cancels with a trace, big runs print short summaries,
trust commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from toy_skills import ADD, skill_md

from llmos_jupyter import Workflow
from llmos_jupyter._cli import main

NOISY = skill_md("noisy", """
import os, sys, threading

def execute(inputs):
    print("noise from print")
    sys.stderr.write("noise on stderr\\n")
    os.write(1, b"noise on fd 1\\n")
    threading.Thread(target=lambda: print("noise from a stray thread")).start()
    return {"y": inputs["x"] * 2}
""", inputs="[{name: x, type: number, default: 21}]", outputs="[{name: y, type: number}]")

SLEEPY = skill_md("sleepy", """
import time

def execute(inputs):
    time.sleep(inputs["s"])
    return {"done": True}
""", inputs="[{name: s, type: number, default: 30}]", outputs="[{name: done, type: boolean}]")


@pytest.fixture
def home(llmos_home):
    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True)
    for name, text in (("add", ADD), ("noisy", NOISY), ("sleepy", SLEEPY)):
        (folder / f"{name}.md").write_text(text)
    return llmos_home


def cli(*args: str, env_home: Path, timeout: float = 60, **kw):
    env = {**os.environ, "LLMOS_HOME": str(env_home)}
    return subprocess.run([sys.executable, "-m", "llmos_jupyter._cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def test_json_stays_one_object_whatever_a_skill_prints(home, tmp_path):
    wf = Workflow(id="noisy")
    wf.add_node("noisy", id="n")
    path = wf.save(tmp_path / "n.workflow.json")
    proc = cli("run", str(path), "--json", "--no-trace", env_home=home)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # exactly one JSON object, nothing else
    assert data["nodes"]["n"]["outputs"] == {"y": 42}
    assert "noise from print" in data["nodes"]["n"]["log"]
    assert "noise on fd 1" in proc.stderr  # fd 1 pointed at stderr during the run


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "at least 1"),
    (["--timeout", "0"], "positive"),
    (["--timeout", "-1"], "positive"),
    (["--timeout", "nan"], "positive"),
    (["--set", "a.a=NaN"], "NaN"),
    (["--set", "nodot"], "NODE.PORT"),
    (["--isolate", "sometimes"], "invalid choice"),
    (["--limit", "memory=lots"], "memory"),
])
def test_bad_options_are_exit_2_with_json(home, tmp_path, capsys, args, message):
    wf = Workflow(id="x")
    wf.add_node("add", id="a")
    path = wf.save(tmp_path / "x.workflow.json")
    code = main(["run", str(path), "--json", "--no-trace", *args])
    out, _ = capsys.readouterr()
    assert code == 2
    data = json.loads(out)
    assert data["status"] == "invalid"
    assert message in data["problems"][0]["message"]


@pytest.mark.parametrize("text", [
    "{", "[]", '{"nodes": 3}', '{"edges": []}', "\xff\xfe",
    '{"nodes": [{"id": "a", "data": {"skill": "nope"}}], "edges": []}',
    '{"nodes": [{"id": "a", "data": {"skill": "add"}}], "edges": [{"source": "a", "target": "zz"}]}',
])
def test_invalid_workflows_print_one_json_object(home, tmp_path, capsys, text):
    path = tmp_path / "bad.workflow.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
    code = main(["run", str(path), "--json", "--no-trace"])
    out, _ = capsys.readouterr()
    assert code == 2
    data = json.loads(out)
    assert data["status"] == "invalid" and data["problems"]
    assert {"code", "node", "port", "message"} <= set(data["problems"][0])


def test_validate_has_help_and_json(home, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    assert "Exit status" in capsys.readouterr().out
    wf = Workflow(id="v")
    wf.add_node("nope", id="a")
    path = wf.save(tmp_path / "v.workflow.json")
    assert main(["validate", str(path), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["problems"][0]["code"] == "unknown-skill" and data["problems"][0]["node"] == "a"


@pytest.mark.parametrize("workers", ["1", "3"])
def test_ctrl_c_cancels_writes_a_cancelled_trace_and_exits_130(home, tmp_path, workers):
    wf = Workflow(id="slow")
    wf.add_node("sleepy", id="s1", params={"s": 30})   # blocked in C: abandoned after 2 s
    wf.add_node("sleepy", id="s2", params={"s": 30})
    wf.add_node("add", id="quick")
    path = wf.save(tmp_path / "slow.workflow.json")
    env = {**os.environ, "LLMOS_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "llmos_jupyter._cli", "run", str(path),
                             "--workers", workers], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)  # interpreter start + the run begins
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    # (communicate's 20 s bound is under the 30 s the sleeping nodes would take: the run
    # was abandoned, not waited out; no tighter wall-clock assertion on shared CI)
    assert "Traceback" not in err and "Traceback" not in out.split("failed:")[0]
    traces = list((home / "user" / "traces").glob("*.ipynb"))
    assert len(traces) == 1
    meta = json.loads(traces[0].read_text())["metadata"]["llmos"]["trace"]
    assert meta["status"] == "cancelled"


def test_a_big_run_prints_a_short_summary(home, tmp_path):
    wf = Workflow(id="big")
    prev = None
    for i in range(2000):
        wf.add_node("add", id=f"n{i}")
        if prev:
            wf.connect(prev, "sum", f"n{i}", "a")
        prev = f"n{i}"
    path = wf.save(tmp_path / "big.workflow.json")
    proc = cli("run", str(path), "--no-trace", env_home=home, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines() + proc.stderr.splitlines()
    assert len(lines) <= 100, len(lines)
    assert "2000 nodes: 2000 completed" in proc.stdout
    assert "n1999.sum = 4001" in proc.stdout  # the sink's output


def test_control_sequences_and_keys_never_reach_the_terminal(home, tmp_path, capsys):
    (home / "user" / "skills" / "esc.md").write_text(skill_md("esc", """
def execute(inputs):
    return {"s": "\\x1b]0;pwned\\x07\\x1b[31mred sk-ant-api03-abcdefghijklmnop1234"}
""", outputs="[{name: s, type: string}]"))
    wf = Workflow(id="esc")
    wf.add_node("esc", id="e")
    path = wf.save(tmp_path / "e.workflow.json")
    assert main(["run", str(path), "--no-trace"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out and "\x07" not in out
    assert "abcdefghijklmnop1234" not in out


def test_trust_commands(home, tmp_path, capsys):
    team = home / "team" / "skills"
    team.mkdir(parents=True)
    (team / "tadd.md").write_text(ADD.replace("skill_id: add", "skill_id: tadd"))
    assert main(["skills", "list", "--json"]) == 0
    rows = {r["skill_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tadd"]["trusted"] is False and rows["add"]["trusted"] is True
    assert main(["trust", "tadd"]) == 0
    assert "trusted tadd" in capsys.readouterr().out
    assert main(["trust", "--list"]) == 0
    assert "tadd" in capsys.readouterr().out
    assert main(["skills", "list", "--json"]) == 0
    assert {r["skill_id"]: r for r in json.loads(capsys.readouterr().out)}["tadd"]["trusted"]
    assert main(["untrust", "tadd"]) == 0
    capsys.readouterr()
    assert main(["trust", "no-such-skill"]) == 2
