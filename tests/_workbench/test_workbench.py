"""One service per kernel: every surface meets on the Workbench's engine, cache and bus."""

from __future__ import annotations

import pytest
from toy_skills import ADD, COUNT

import llmos_jupyter._api as api
from llmos_jupyter import SkillLibrary, Workflow, parse_skill
from llmos_jupyter._llm.tools import Toolbox, approve_all
from llmos_jupyter._magics import SKILL_SUBCOMMANDS, LlmosMagics
from llmos_jupyter._notebook.cells import RESERVED_SUBCOMMANDS
from llmos_jupyter._workbench import AuthoringError, Workbench


@pytest.fixture
def lib(llmos_home):
    return SkillLibrary(home=llmos_home, volumes=[("user", llmos_home / "user" / "skills")],
                        skills=[parse_skill(ADD), parse_skill(COUNT)])


@pytest.fixture
def magics(ip, lib):
    m = LlmosMagics(ip, library=lib)
    m.trace = False
    ip.register_magics(m)
    return m


def started(workbench):
    """The node_started events of the workbench's bus (nodes that really executed)."""
    seen: list[str] = []
    workbench.subscribe(lambda e: seen.append(e.node_id) if e.kind == "node_started" else None)
    return seen


def test_current_is_the_process_one_and_shares_run_s_engine():
    wb = Workbench.current()
    assert Workbench.current() is wb
    assert wb.engine is api.default_engine()  # llmos_jupyter.run() in a cell shares it
    view = wb.engine_for(main_thread=True)
    assert view is not wb.engine and view.max_workers == 1
    assert view.cache is wb.cache and view.events is wb.events
    assert wb.engine_for(main_thread=True) is view  # made once
    assert wb.engine_for() is wb.engine


def test_surfaces_given_one_library_share_one_workbench(ip, lib, magics):
    assert Workbench.for_library(lib) is magics.workbench
    assert Toolbox(lib, trace=False).workbench is magics.workbench
    other = SkillLibrary(volumes=[], skills=[parse_skill(ADD)])
    assert Workbench.for_library(other) is not magics.workbench


def test_llm_tools_reuse_what_skill_cells_computed(ip, magics, lib):
    ip.run_cell("%%skill c --uses count\nx = 21\n")
    assert ip.user_ns["c"].y == 42
    seen = started(magics.workbench)
    tb = Toolbox(lib, trace=False, approve=approve_all)
    assert not tb.call("create_workflow", {"workflow_id": "built"}).is_error
    assert not tb.call("add_node", {"node_id": "double", "skill_id": "count",
                                    "params": {"x": 21}}).is_error
    out = tb.call("run_workflow", {})
    assert not out.is_error, out.content
    assert out.content["nodes"]["double"] == {"status": "cached", "outputs": {"y": 42}}
    assert seen == []  # zero executions: the %%skill cell's result came from the cache
    # A new parameter value does execute (the cache is by inputs, not by node id).
    tb.call("set_params", {"node_id": "double", "params": {"x": 5}})
    assert tb.call("run_workflow", {}).content["nodes"]["double"]["status"] == "completed"
    assert seen == ["double"]


def test_a_skill_cell_run_shows_on_a_canvas_of_that_workflow(ip, magics, lib):
    canvas_mod = pytest.importorskip("llmos_jupyter._widget.canvas")
    if not canvas_mod.ESM.is_file():
        pytest.skip("front-end not built")
    ip.run_cell("%%skill a --uses add\na = 1\n")
    canvas = canvas_mod.Canvas(magics.session.workflow(), library=lib)
    other = canvas_mod.Canvas(Workflow(id="elsewhere"), library=lib)
    try:
        assert canvas.engine is magics.workbench.engine
        assert canvas.statuses == {}
        ip.run_cell("%%skill a --uses add\na = 5\n")
        assert canvas.statuses["a"]["status"] == "completed"
        assert canvas.previews["a"]["sum"]["value"] == 7
        assert other.statuses == {}  # another workflow's canvas shows nothing
        # A run of some other workflow with a node of the same id does not reach it.
        wf = Workflow(id="other")
        wf.add_node("add", id="a", params={"a": 100})
        magics.workbench.run(wf, trace=False)
        assert canvas.previews["a"]["sum"]["value"] == 7
        assert magics.workbench.workflow_of("no-such-run") is None
    finally:
        canvas.close()
        other.close()


def test_skill_authoring_writes_commits_and_reloads(lib, llmos_home):
    wb = Workbench.for_library(lib)
    path, text = wb.new_skill("fit-line")
    assert path == llmos_home / "user" / "skills" / "fit-line.md"
    assert path.read_text(encoding="utf-8") == text
    assert "fit-line" in lib
    revs = wb.skill_history("fit-line")
    assert [r.message.splitlines()[0] for r in revs] == [
        "Add skill fit-line (skeleton from %skill new)"]
    with pytest.raises(AuthoringError, match="already exists"):
        wb.new_skill("fit-line")
    with pytest.raises(AuthoringError, match="invalid skill id 'Fit Line'"):
        wb.new_skill("Fit Line")
    saved = wb.save_skill(lib.get("add"), as_id="add-two", source="test")
    assert saved.name == "add-two.md" and "add-two" in lib
    assert wb.skill_history("add-two")[0].message.splitlines()[0] == "Add skill add-two (test)"
    saved.unlink()
    report = wb.reload()
    assert report.removed == ("add-two",) and report.added == ()
    assert str(report) == f"reloaded {len(lib)} skills; gone: add-two"


def test_skill_subcommands_are_one_table():
    assert tuple(SKILL_SUBCOMMANDS) == RESERVED_SUBCOMMANDS
    assert all(callable(c.handler) for c in SKILL_SUBCOMMANDS.values())


def test_the_cli_writes_skills_through_the_workbench(llmos_home):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "llmos_jupyter", "skills", "new", "cli-made"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    path = llmos_home / "user" / "skills" / "cli-made.md"
    assert path.is_file()
    assert Workbench.current().skill_history("cli-made")[0].message.startswith(
        "Add skill cli-made (skeleton from %skill new)")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 2 and "already exists (add --force" in again.stderr
