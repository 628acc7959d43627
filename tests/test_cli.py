"""The llmos command: run (progress, summary, --json, --set, exit codes) and skills."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from toy_skills import ADD, FAIL

from llmos_jupyter import Workflow
from llmos_jupyter._cli import main


@pytest.fixture
def user_skills(llmos_home):
    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True)
    (folder / "add.md").write_text(ADD.replace("inputs:", "category: math\ninputs:"))
    (folder / "fail.md").write_text(FAIL)
    return folder


@pytest.fixture
def flow(tmp_path, user_skills):
    wf = Workflow(id="cli-demo", name="CLI demo")
    wf.add_node("add", id="a", params={"a": 1})
    wf.add_node("add", id="b")
    wf.connect("a", "sum", "b", "a")
    return wf.save(tmp_path / "demo.workflow.json")


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_progress_and_summary(capsys, flow, llmos_home):
    code, out, err = run_cli(capsys, "run", str(flow))
    assert code == 0, err
    assert "✓ a completed" in out and "✓ b completed" in out
    assert "CLI demo" in out and "sum = 5" in out
    traces = list((llmos_home / "user/traces").glob("*.ipynb"))
    assert len(traces) == 1 and f"trace: {traces[0]}" in out.replace("\n", "")


def test_run_json_and_set(capsys, flow):
    code, out, _ = run_cli(capsys, "run", str(flow), "--json", "--no-trace",
                           "--set", "a.a=10", "--set", "b.b=2.5")
    assert code == 0
    data = json.loads(out)
    assert data["status"] == "completed" and data["trace"] is None
    assert data["nodes"]["b"] == {"status": "completed", "duration_ms": data["nodes"]["b"]["duration_ms"],
                                  "outputs": {"sum": 14.5}, "error": None}


def test_set_value_that_is_not_json_stays_a_string(capsys, flow):
    code, _, err = run_cli(capsys, "run", str(flow), "--set", "a.a=ten")
    assert code == 2
    assert "node 'a', port 'a': override 'a': expected number, got str 'ten'" in err


def test_failed_node_exits_1_with_its_traceback(capsys, flow, tmp_path):
    wf = Workflow.load(flow)
    wf.add_node("fail", id="f", params={"x": 2})
    wf.save(flow)
    code, out, _ = run_cli(capsys, "run", str(flow), "--no-trace")
    assert code == 1
    assert "node 'f' failed" in out and "raise ValueError" in out
    assert "✓ b completed" in out  # the other branch still ran


def test_invalid_workflow_exits_2_listing_problems(capsys, tmp_path, user_skills):
    wf = Workflow(id="bad")
    wf.add_node("ad", id="x")
    wf.add_node("add", id="y", params={"q": 1})
    path = wf.save(tmp_path / "bad.workflow.json")
    code, out, err = run_cli(capsys, "run", str(path))
    assert code == 2 and out == ""
    assert "unknown skill 'ad'; did you mean 'add'" in err
    assert "node 'y', port 'q'" in err


@pytest.mark.parametrize("args", [["run", "x.json", "--set", "nodot=1"], ["run", "missing.workflow.json"]])
def test_usage_errors_exit_2(capsys, args, user_skills):
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "error:" in err


def test_skills_list_show_check(capsys, user_skills, tmp_path):
    code, out, _ = run_cli(capsys, "skills", "list", "--category", "math")
    assert code == 0 and "add" in out and "user" in out
    code, out, _ = run_cli(capsys, "skills", "list", "--json")
    ids = {s["skill_id"] for s in json.loads(out)}
    assert {"add", "fail", "quantum-vqe"} <= ids
    code, out, _ = run_cli(capsys, "skills", "show", "add")
    assert code == 0 and "inputs" in out and "number" in out
    code, _, err = run_cli(capsys, "skills", "show", "ad")
    assert code == 2 and "did you mean 'add'" in err

    bad = tmp_path / "bad.md"
    bad.write_text("---\nskill_id: bad\noutputs:\n  - name: y\n    type: num\n---\n")
    code, out, err = run_cli(capsys, "skills", "check", str(user_skills), str(bad))
    assert code == 1
    assert f"{bad}:5: [outputs.y.type]" in err
    assert "2 ok, 1 with errors" in out
    code, out, _ = run_cli(capsys, "skills", "check", str(user_skills))
    assert code == 0


def test_console_script_runs(flow):
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-m", "llmos_jupyter", "run", str(flow), "--json", "--no-trace"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["nodes"]["b"]["outputs"] == {"sum": 5}


def test_skills_check_reports_agent_skills_spec_violations_as_warnings(tmp_path, capsys):
    folder = tmp_path / "pdf-tools"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: Pdf_Tools\ndescription: d\nversion: 1\n---\nbody\n")
    assert main(["skills", "check", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "1 with warnings" in out
    assert len([line for line in err.splitlines() if line.startswith("! ")]) == 4
    assert "SKILL.md:4: [version]" in err
