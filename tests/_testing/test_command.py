"""llmos test on real runs (exit codes, messages, --json, JUnit XML) and the pytest plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from llmos_jupyter._cli import main

REPO = Path(__file__).resolve().parents[2]

RC = {
    "id": "rc-stats", "name": "RC stats",
    "nodes": [{"id": "rc", "data": {"skill": "circuit-rc", "params": {"samples": 11}}},
              {"id": "stats", "data": {"skill": "data-analysis", "params": {}}}],
    "edges": [{"id": "e", "source": "rc", "sourceHandle": "voltage_data", "target": "stats",
               "targetHandle": "data"}],
}
GOOD = [{"name": "five volts", "expect": {
    "rc.steady_state_voltage": 5.0, "stats.count": 11, "rc.time_constant": {"approx": 0.001},
    "rc.netlist": {"contains": "R1 in out"}, "stats.max": {"approx": 4.96631, "abs": 1e-5}}},
    {"name": "broken", "overrides": {"rc.resistance": -1},
     "expect": {"rc": {"status": "failed"}, "stats": {"status": "skipped"}}}]
WRONG = {"name": "three volts", "overrides": {"rc.input_voltage": 3.0},
         "expect": {"rc.steady_state_voltage": 5.0, "stats.max": {"approx": 2.9, "rel": 0.01}}}


def write(tmp_path, tests, name="rc.workflow.json"):
    path = tmp_path / name
    path.write_text(json.dumps({**RC, "tests": tests}, indent=2))
    return path


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_passing_cases_exit_0(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "test", write(tmp_path, GOOD))
    assert code == 0, out
    assert "✓ five volts" in out and "✓ broken" in out and "2 passed, 0 failed" in out


def test_a_wrong_expectation_fails_with_a_precise_message(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "test", write(tmp_path, [*GOOD, WRONG]))
    assert code == 1
    assert ("case 'three volts': rc.steady_state_voltage: expected 5, actual 3 (off by -2; use "
            "{\"approx\": …} for a tolerance)") in out
    # 3 V (1 - e^-5) = 2.979786...: 0.0798 from 2.9, tolerance 1 % of 2.9
    assert ("case 'three volts': stats.max: expected ≈ 2.9 ± 0.029 (rel 0.01), actual "
            "2.979786159 (off by 0.0798, tolerance 0.029)") in out
    assert "2 passed, 1 failed" in out


def test_json_is_one_object_and_junit_parses(tmp_path, capsys):
    report = tmp_path / "out" / "report.xml"
    report.parent.mkdir()
    code, out, _ = run_cli(capsys, "test", write(tmp_path, [*GOOD, WRONG]), "--json",
                           "--junit", report)
    assert code == 1
    data = json.loads(out)
    assert (data["status"], data["passed"], data["failed"], data["invalid"]) == ("failed", 2, 1, 0)
    [f] = data["files"]
    assert [c["status"] for c in f["cases"]] == ["passed", "passed", "failed"]
    assert [x["key"] for x in f["cases"][2]["failures"]] == ["rc.steady_state_voltage",
                                                              "stats.max"]
    root = ET.parse(report).getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites", "3", "1", "0")
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["five volts", "broken", "three volts"]
    failure = cases[2].find("failure")
    assert failure.get("message").startswith("case 'three volts': rc.steady_state_voltage")
    assert failure.text.count("\n") == 1


def test_invalid_files_exit_2_and_others_still_run(tmp_path, capsys):
    bad = write(tmp_path, [{"name": "x", "overrides": {"rc.nope": 1},
                            "expect": {"rc.time_constant": 1}}], "bad.workflow.json")
    code, out, err = run_cli(capsys, "test", bad, write(tmp_path, GOOD), "--junit",
                             tmp_path / "r.xml")
    assert code == 2
    assert "tests[0] ('x'): node 'rc', port 'nope'" in err and "2 passed" in out
    suites = ET.parse(tmp_path / "r.xml").getroot().findall("testsuite")
    assert suites[0].find("testcase/error") is not None and suites[0].get("errors") == "1"
    code, out, _ = run_cli(capsys, "test", tmp_path / "missing.workflow.json", "--json")
    assert code == 2 and json.loads(out)["files"][0]["error"].endswith("No such file or directory")


def test_a_file_without_cases_is_exit_2(tmp_path, capsys):
    path = tmp_path / "plain.workflow.json"
    path.write_text(json.dumps(RC))
    code, out, _ = run_cli(capsys, "test", path)
    assert code == 2 and "no test cases" in out


def test_the_bundled_workflows_pass_their_tests(capsys):
    files = sorted((REPO / "notebooks").glob("*.workflow.json"))
    code, out, _ = run_cli(capsys, "test", *files, "--json")
    data = json.loads(out)
    assert code == 0, out
    assert all(f["cases"] for f in data["files"])  # every bundled workflow carries tests
    names = [c["name"] for f in data["files"] for c in f["cases"]]
    assert "H2 at 0.735 Å within 1.6 mHa of -1.137306 Ha" in names


def _plugin_args():
    """``-p`` the plugin unless the installed entry point already loads it (twice is an
    error)."""
    from importlib.metadata import entry_points

    installed = any(ep.value == "llmos_jupyter._testing.pytest_plugin"
                    for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "llmos_jupyter._testing.pytest_plugin"]


def pytest_run(tmp_path, *args):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", *_plugin_args(),
         "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"), "--rootdir",
         str(tmp_path), *args, str(tmp_path)],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=120)


def test_pytest_plugin_collects_cases_only_when_asked(tmp_path):
    write(tmp_path, [*GOOD, WRONG])
    off = pytest_run(tmp_path, "-q")
    assert off.returncode == 5, off.stdout  # no tests collected
    on = pytest_run(tmp_path, "-q", "--workflow-tests", "-rA")
    assert on.returncode == 1, on.stdout
    assert "1 failed, 2 passed" in on.stdout
    assert "case 'three volts': stats.max: expected ≈ 2.9 ± 0.029" in on.stdout
    assert "rc.workflow.json::three volts" in on.stdout
    deselected = pytest_run(tmp_path, "-q", "--workflow-tests", "-m", "not workflow")
    assert "3 deselected" in deselected.stdout


def test_pytest_plugin_reports_a_bad_block_as_a_collection_error(tmp_path):
    write(tmp_path, [{"name": "x", "expect": {"nope.y": 1}}])
    res = pytest_run(tmp_path, "-q", "--workflow-tests")
    assert res.returncode == 2
    assert "tests[0] ('x'): expect 'nope.y': node 'nope' is not in the workflow" in res.stdout
    assert "Traceback" not in res.stdout


def test_ini_option_turns_the_plugin_on(tmp_path):
    write(tmp_path, GOOD)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", *_plugin_args(),
         "-p", "no:cacheprovider", "-o", "workflow_tests=true", "-q", str(tmp_path)],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "2 passed" in res.stdout, res.stdout + res.stderr


def test_skipped_cases_are_reported_not_run(tmp_path, capsys):
    skip = {**WRONG, "skip": "needs a server"}
    path = write(tmp_path, [GOOD[0], skip])
    code, out, _ = run_cli(capsys, "test", path, "--junit", tmp_path / "r.xml")
    assert code == 0 and "– three volts  skipped: needs a server" in out
    assert "1 passed, 0 failed, 1 skipped" in out
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert root.get("skipped") == "1"
    assert root.find("testsuite/testcase[@name='three volts']/skipped").get("message") == (
        "needs a server")
    res = pytest_run(tmp_path, "-q", "--workflow-tests")
    assert "1 passed, 1 skipped" in res.stdout, res.stdout
