"""Workflow versions: save commits to the user volume, log, show, restore (a new commit)."""

from __future__ import annotations

import json

import pytest

from llmos_jupyter import Workflow, WorkflowError
from llmos_jupyter._cli import main
from llmos_jupyter._volumes.errors import RevisionNotFound, VolumeError
from llmos_jupyter._workflow_versions import (
    restore_workflow,
    save_workflow_version,
    workflow_at,
    workflow_log,
    workflow_relpath,
)


def flow(samples=11):
    wf = Workflow(id="rc-demo", name="RC demo")
    wf.add_node("circuit-rc", id="rc", params={"samples": samples})
    wf.extra["tests"] = [{"name": "tau", "expect": {"rc.time_constant": {"approx": 0.001}}}]
    return wf


def test_save_log_show_restore(llmos_home):
    first = save_workflow_version(flow(11))
    assert first.relpath == "workflows/rc-demo.workflow.json"
    assert first.path == llmos_home / "user" / "workflows" / "rc-demo.workflow.json"
    assert save_workflow_version(flow(11)).revision is None  # unchanged: no commit
    second = save_workflow_version(flow(21), message="21 samples")
    log = workflow_log("rc-demo")
    assert [r.id for r in log] == [second.revision.id, first.revision.id]
    assert [r.summary for r in log] == ["21 samples", "Save workflow rc-demo"]
    old = json.loads(workflow_at("rc-demo", first.revision.short))
    assert old["nodes"][0]["data"]["params"]["samples"] == 11
    assert old["tests"][0]["name"] == "tau"  # extra fields travel with the version
    rev = restore_workflow("rc-demo", "HEAD~1")
    assert rev.summary == f"Restore workflow rc-demo as of {first.revision.short}"
    assert Workflow.load(first.path).node("rc").params == {"samples": 11}
    assert first.path.read_text() == workflow_at("rc-demo", first.revision.id)
    assert len(workflow_log("rc-demo")) == 3
    assert restore_workflow("rc-demo", "HEAD") is None  # already that text


def test_a_deleted_workflow_can_be_restored(llmos_home):
    from llmos_jupyter._volumes.volume import Volume

    saved = save_workflow_version(flow())
    Volume("user").delete(saved.relpath, message="Remove rc-demo")
    assert not saved.path.exists()
    restore_workflow("rc-demo", saved.revision.short)
    assert Workflow.load(saved.path).id == "rc-demo"


def test_secrets_never_enter_the_history(llmos_home):
    key = "sk-ant-api03-" + "Kq7" * 12
    wf = flow()
    wf.add_node("http-request", id="fetch", params={"url": "http://x", "headers": {"X-Api-Key": key}})
    saved = save_workflow_version(wf)
    assert key not in workflow_at("rc-demo") and key not in saved.path.read_text()
    assert wf.node("fetch").params["headers"]["X-Api-Key"] == key  # memory keeps it


def test_errors(llmos_home, tmp_path):
    with pytest.raises(WorkflowError, match="cannot version workflow '../x'"):
        workflow_relpath("../x")
    assert workflow_log("never") == []
    with pytest.raises(VolumeError, match="no history yet"):
        restore_workflow("never", "HEAD")
    save_workflow_version(flow())
    with pytest.raises(RevisionNotFound):
        restore_workflow("rc-demo", "abcdef1")
    with pytest.raises(VolumeError, match="workflows/other.workflow.json does not exist"):
        workflow_at("other")


def test_cli(llmos_home, tmp_path, capsys):
    path = flow(11).save(tmp_path / "rc.workflow.json")
    assert main(["workflow", "save", str(path)]) == 0
    assert "saved workflow 'rc-demo' as " in capsys.readouterr().out
    flow(21).save(path)
    assert main(["workflow", "save", str(path), "-m", "more samples"]) == 0
    capsys.readouterr()
    assert main(["workflow", "log", "rc-demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["message"] for r in data["revisions"]] == ["more samples", "Save workflow rc-demo"]
    old = data["revisions"][1]["short"]
    assert main(["workflow", "restore", "rc-demo", old]) == 0
    assert f"restored workflow 'rc-demo' as of {old}" in capsys.readouterr().out
    assert main(["workflow", "show", "rc-demo"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"][0]["data"]["params"]["samples"] == 11
    assert main(["workflow", "log", "rc-demo"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(f"Restore workflow rc-demo as of {old}")
    assert main(["workflow", "restore", "rc-demo", "nope"]) == 2
    assert "no revision 'nope'" in capsys.readouterr().err
