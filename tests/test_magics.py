"""The magics in a real IPython shell: every subcommand and every error path."""

from __future__ import annotations

import json

import nbformat
import pytest
from toy_skills import ADD, COUNT, FAIL, skill_md

import llmos_jupyter
from llmos_jupyter import SkillLibrary, parse_skill
from llmos_jupyter._magics import LlmosMagics, MagicError
from llmos_jupyter._notebook.display import CELLS_MIME, NodeOutputs, SkillTable, SkillView

TEXT = skill_md("text", "def execute(inputs):\n    return {'s': 'hi'}",
                outputs="[{name: s, type: string}]")


@pytest.fixture
def lib(llmos_home):
    return SkillLibrary(home=llmos_home, volumes=[("user", llmos_home / "user" / "skills")], skills=[
        parse_skill(s) for s in (ADD, FAIL, COUNT, TEXT)])


@pytest.fixture
def magics(ip, lib):
    m = LlmosMagics(ip, library=lib)
    ip.register_magics(m)
    return m


def cell(ip, source):
    """Run a cell; return (Out value, stderr-worthy error object)."""
    result = ip.run_cell(source)
    return result.result


def test_load_ext_registers_the_magics(ip):
    llmos_jupyter.load_ipython_extension(ip)
    assert ip.find_cell_magic("skill") is not None
    assert ip.find_line_magic("skill") is not None
    assert ip.find_line_magic("workflow") is not None
    assert any(isinstance(c, LlmosMagics) for c in ip.configurables)


def test_a_cell_runs_its_node_and_binds_its_outputs(ip, magics, llmos_home):
    out = cell(ip, "%%skill a --uses add\na = 2\nb = 3")
    assert isinstance(out, NodeOutputs) and ip.user_ns["a"] is out
    assert out.sum == 5 and out["sum"] == 5 and "sum" in dir(out) and out._status == "completed"
    bundle = out._repr_mimebundle_()
    assert "<code>5</code>" in bundle["text/html"] and "sum = 5" in bundle["text/plain"]
    assert out._trace and str(llmos_home) in out._trace

    down = cell(ip, "%skill b --uses add --in a=a.sum")
    assert down.sum == 7 and "upstream: a cached" in repr(down)
    ip.run_cell("x = 10")
    assert cell(ip, "%%skill c --uses add\na = x * 2").sum == 22  # kernel expressions
    assert cell(ip, "%skill d --uses add --in a=a.sum b=b.sum").sum == 12  # the line form
    with pytest.raises(AttributeError, match="no output 'total'"):
        down.total


def test_an_edited_upstream_cell_reruns_only_what_changed(ip, magics):
    cell(ip, "%%skill n1 --uses count\nx = 1")
    cell(ip, "%skill n2 --uses count --in x=n1.y")
    calls = magics.library.get("count").load_function().__globals__["CALLS"]
    assert calls == [1, 2]
    cell(ip, "%%skill n1 --uses count\nx = 5")
    assert magics.session.status("n2") == "stale"
    r = ip.run_line_magic("workflow", "run n2")
    assert calls == [1, 2, 5, 10] and ip.user_ns["n2"].y == 20
    assert "n2" in repr(r) and magics.session.status("n2") == "completed"


@pytest.mark.parametrize(("source", "message"), [
    ("%%skill a --uses ad\na = 1", "%%skill a: node 'a': unknown skill 'ad'; did you mean 'add'?"),
    ("%%skill a --uses add\nq = 1", "param 'q': skill 'add' has no input 'q'"),
    ("%%skill a --uses add\na = 'x'", "param 'a': expected number, got str"),
    ("%%skill a --uses add --in a=nope.sum\nb = 1",
     "edge source 'nope' is not a node of the workflow (run the %%skill cell that defines it"),
    ("%%skill a --uses add --bogus\nb = 1", "%%skill a: unrecognized arguments: --bogus"),
    ("%%skill a --uses add\na = undefined_name",
     "%%skill a: line 1: a = undefined_name: NameError: name 'undefined_name' is not defined"),
    ("%%skill a --uses add\nprint(1)", "parameter assignments only"),
    ("%%skill a\nx = 1", "must define execute(inputs)"),
    ("%skill a --uses", "%%skill a: argument --uses: expected one argument"),
])
def test_user_mistakes_print_one_short_message(ip, magics, capsys, source, message):
    assert cell(ip, source) is None
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and "llmos_jupyter/" not in err


def test_type_mismatch_and_cycle(ip, magics, capsys):
    cell(ip, "%skill t --uses text")
    cell(ip, "%skill a --uses add --in a=t.s")
    assert "output t.s is string but input a.a expects number" in capsys.readouterr().err
    cell(ip, "%skill p --uses add")
    cell(ip, "%skill q --uses add --in a=p.sum")
    cell(ip, "%skill p --uses add --in a=q.sum")
    assert "cycle: p → q → p" in capsys.readouterr().err


def test_a_failing_node_shows_its_error_and_the_skill_frames(ip, magics, capsys):
    out = cell(ip, "%%skill f --uses fail\nx = 1")
    err = capsys.readouterr().err
    assert "%%skill f: node 'f' failed: ValueError: cannot use x = 1" in err
    assert "<skill:fail>" in err and "_engine" not in err
    assert out._status == "failed"
    with pytest.raises(AttributeError, match="node 'f' failed: ValueError"):
        out.y
    cell(ip, "%skill g --uses add --in a=f.y")
    assert "node 'g' skipped: upstream node 'f' failed" in capsys.readouterr().err


def test_raise_errors_makes_the_cell_fail_without_a_long_traceback(ip, magics, capsys):
    magics.raise_errors = True
    result = ip.run_cell("%%skill a --uses ad\nb = 1")
    assert isinstance(result.error_in_exec, MagicError)
    assert result.error_in_exec._render_traceback_() == [
        "%%skill a: node 'a': unknown skill 'ad'; did you mean 'add'?"]


def test_inline_skill_cells(ip, magics, capsys):
    out = cell(ip, "%%skill sq --in x=a.sum\ndef execute(inputs):\n    return {'y': inputs['x'] ** 2}")
    assert out is None and "no skill cell" not in capsys.readouterr().err
    cell(ip, "%skill a --uses add")
    out = cell(ip, "%%skill sq --in x=a.sum\ndef execute(inputs):\n    return {'y': inputs['x'] ** 2}")
    assert out.y == 9 and magics.library.get("sq").volume == "notebook"
    cell(ip, "%%skill add\ndef execute(inputs):\n    return {'sum': 0}")
    assert "the inline skill 'add' overrides the memory skill" in capsys.readouterr().err


def test_skill_list_and_show(ip, magics, capsys):
    table = ip.run_line_magic("skill", "list")
    assert isinstance(table, SkillTable) and len(table.skills) == 4
    assert "<code>add</code>" in table._repr_mimebundle_()["text/html"]
    assert ip.run_line_magic("skill", "list --category nope") is None
    assert "no skills match (categories: general)" in capsys.readouterr().err
    view = ip.run_line_magic("skill", "show add")
    assert isinstance(view, SkillView) and "| `a` | number | 1 |" in view.markdown()
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}  # Markdown only as sanitized HTML
    assert "<td><code>a</code></td>" in bundle["text/html"]
    ip.run_line_magic("skill", "show ad")
    assert "%skill show: unknown skill 'ad'; did you mean 'add'?" in capsys.readouterr().err
    ip.run_line_magic("skill", "lis")
    assert "unknown subcommand 'lis' (did you mean 'list'?)" in capsys.readouterr().err
    ip.run_line_magic("skill", "")
    assert "the following arguments are required" in capsys.readouterr().err


def test_skill_new_writes_a_skeleton_and_opens_it_as_a_cell(ip, magics, capsys, llmos_home):
    assert ip.run_line_magic("skill", "new fit-decay") is None
    path = llmos_home / "user" / "skills" / "fit-decay.md"
    assert path.is_file() and "fit-decay" in magics.library
    source = ip.rl_next_input
    assert source.startswith("%%skill fit_decay\n---\nskill_id: fit-decay")
    out = cell(ip, source)  # the new cell runs as an inline skill node
    assert out.y == 2.0
    ip.run_line_magic("skill", "new fit-decay")
    assert "already exists (add --force" in capsys.readouterr().err
    ip.run_line_magic("skill", "new Fit_Decay")
    assert "invalid skill id 'Fit_Decay'" in capsys.readouterr().err


def test_skill_save_turns_an_inline_cell_into_a_file(ip, magics, capsys, llmos_home):
    cell(ip, "%%skill double_it --inputs x:number=3 --outputs y:number\n"
             "def execute(inputs):\n    return {'y': 2 * inputs['x']}")
    ip.run_line_magic("skill", "save double_it")
    path = llmos_home / "user" / "skills" / "double-it.md"
    saved = parse_skill(path.read_text())
    assert (saved.skill_id, saved.category) == ("double-it", "general")
    assert magics.library.get("double-it").volume == "user"
    assert cell(ip, "%%skill again --uses double-it\nx = 5").y == 10
    ip.run_line_magic("skill", "save double_it")  # identical file: fine
    ip.run_line_magic("skill", "save double_it --as twice")
    assert (llmos_home / "user" / "skills" / "twice.md").is_file()
    assert "already exists" not in capsys.readouterr().err
    cell(ip, "%%skill double_it --inputs x:number=3 --outputs y:number\n"
             "def execute(inputs):\n    return {'y': 3 * inputs['x']}")
    ip.run_line_magic("skill", "save double_it")
    assert "already exists (add --force to overwrite it)" in capsys.readouterr().err
    ip.run_line_magic("skill", "save double_it --force")
    assert "3 * inputs" in path.read_text()
    ip.run_line_magic("skill", "save again")
    assert "uses the library skill 'double-it'" in capsys.readouterr().err
    ip.run_line_magic("skill", "save nope")
    assert "no skill cell defines node 'nope'" in capsys.readouterr().err
    ip.run_line_magic("skill", "save double_it --as Bad")
    assert "invalid skill id 'Bad'" in capsys.readouterr().err


def test_workflow_graph_run_and_status(ip, magics, capsys):
    ip.run_line_magic("workflow", "run")
    assert "no skill cells have run in this kernel yet" in capsys.readouterr().err
    ip.run_line_magic("workflow", "status")
    assert "no skill cells" in capsys.readouterr().out
    cell(ip, "%skill a --uses add")
    cell(ip, "%skill b --uses add --in a=a.sum")
    cell(ip, "%skill c --uses add --in a=b.sum")
    cell(ip, "%skill other --uses add")
    wf = ip.run_line_magic("workflow", "graph")
    assert [n.id for n in wf.nodes] == ["a", "b", "c", "other"] and len(wf.edges) == 2
    from llmos_jupyter._notebook.display import GraphView

    svg = GraphView(wf, magics._statuses())._repr_mimebundle_()["image/svg+xml"]
    assert svg.startswith("<svg") and svg.count("<rect") == 4

    view = ip.run_line_magic("workflow", "run b --downstream")
    assert [r["node"] for r in view.rows] == ["a", "b", "c"]
    view = ip.run_line_magic("workflow", "run b")
    assert [r["node"] for r in view.rows] == ["a", "b"]
    view = ip.run_line_magic("workflow", "run --all --no-trace")
    assert len(view.rows) == 4 and view.trace is None and "4 cached" in view.title
    status = ip.run_line_magic("workflow", "status")
    assert [r["status"] for r in status.rows] == ["cached"] * 4
    assert "<table" in status._repr_mimebundle_()["text/html"]

    for line, message in [("run nope", "no skill cell defines node 'nope'"),
                          ("run --downstream", "--downstream needs a NODE_ID"),
                          ("run a --all", "give NODE_IDs or --all, not both"),
                          ("bogus", "invalid choice: 'bogus'"),
                          ("", "the following arguments are required")]:
        ip.run_line_magic("workflow", line)
        assert message in capsys.readouterr().err


def test_workflow_export_and_import(ip, magics, lib, capsys, tmp_path):
    ip.run_line_magic("workflow", f"export {tmp_path / 'none.workflow.json'}")
    assert "no skill cells have run" in capsys.readouterr().err
    cell(ip, "%%skill a --uses add\na = 4")
    cell(ip, "%%skill sq --in x=a.sum\ndef execute(inputs):\n    return {'y': inputs['x'] ** 2}")
    target = tmp_path / "demo.workflow.json"
    ip.run_line_magic("workflow", f"export {target}")
    data = json.loads(target.read_text())
    assert [n["id"] for n in data["nodes"]] == ["a", "sq"] and "sq" in data["inline_skills"]
    ip.run_line_magic("workflow", f"export {target}")
    assert "already exists (add --force" in capsys.readouterr().err
    ip.run_line_magic("workflow", f"export {tmp_path / 'demo.ipynb'}")
    nb = nbformat.read(tmp_path / "demo.ipynb", as_version=4)
    assert [c.source.split()[1] for c in nb.cells if c.source.startswith("%%skill")] == ["a", "sq"]

    fresh = LlmosMagics(ip, library=SkillLibrary(volumes=[], skills=[parse_skill(ADD)]))
    ip.register_magics(fresh)
    view = ip.run_line_magic("workflow", f"import {target}")
    assert list(fresh.session.cells) == ["a", "sq"]
    bundle = view._repr_mimebundle_()
    assert [c["source"].split("\n")[0] for c in bundle[CELLS_MIME]["cells"]] == [
        "%%skill a --uses add", "%%skill sq --in x=a.sum --inputs x --outputs y"]
    ip.run_line_magic("workflow", "run --no-trace")
    assert ip.user_ns["sq"].y == 36
    ip.run_line_magic("workflow", f"import {tmp_path / 'missing.workflow.json'}")
    assert "cannot read workflow" in capsys.readouterr().err


def test_three_js_scenes_render_as_svg_without_pythreejs(ip, magics):
    from conftest import REPO

    from llmos_jupyter import load_skill
    from llmos_jupyter._notebook.display import is_scene, scene_svg

    skill = load_skill(REPO / "skills" / "threejs-cube.md")
    magics.library.add(skill)
    out = cell(ip, "%%skill cube --uses threejs-cube\nsize = 2\ncolor = '#abc'")
    assert is_scene(out.scene) and abs(out.volume - 8) < 1e-12
    assert "<polygon" in out._repr_mimebundle_()["text/html"]
    svg = scene_svg(out.scene)
    assert 3 <= svg.count("<polygon") <= 6  # two triangles per visible face


def test_workflow_export_into_the_user_volume_is_a_commit(ip, magics, llmos_home):
    from llmos_jupyter._volumes import Volume

    cell(ip, "%%skill a --uses add\na = 4")
    target = llmos_home / "user" / "workflows" / "mine.workflow.json"
    ip.run_line_magic("workflow", f"export {target}")
    assert json.loads(target.read_text())["nodes"][0]["id"] == "a"
    latest = Volume("user", llmos_home).log()[0]
    assert latest.message.startswith("Export workflow") and "workflows/mine.workflow.json" in latest.paths


def test_skill_reload_rereads_the_volumes(ip, magics, capsys, llmos_home):
    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cube.md").write_text(
        "---\nskill_id: cube\nname: Cube\ndescription: x cubed.\ncategory: general\n"
        "version: \"1\"\nruntime: python\ninputs:\n  - name: x\n    type: number\n"
        "outputs:\n  - name: y\n    type: number\n---\n\n```python\n"
        "def execute(inputs):\n    return {'y': inputs['x'] ** 3}\n```\n")
    assert "cube" not in magics.library
    assert ip.run_line_magic("skill", "reload") is None
    out = capsys.readouterr().out
    assert "cube" in magics.library and "new: cube" in out


def test_workflow_run_on_the_processes_executor_and_isolated(ip, magics, llmos_home):
    import os

    cell(ip, "%%skill sq\ndef execute(inputs):\n    import os\n"
             "    return {'y': 9, 'pid': os.getpid()}")
    assert ip.user_ns["sq"]["pid"] == os.getpid()
    magics.session.engine.cache.clear()  # else the cached in-process result comes back
    cell(ip, "%workflow run --all --executor processes --no-trace")
    r = ip.user_ns["sq"]
    assert r["y"] == 9 and r["pid"] != os.getpid()  # ran in a child process
    cell(ip, "%workflow run --all --isolate all --no-trace")
    assert ip.user_ns["sq"]["y"] == 9


def test_agents_magic_runs_a_system_and_checks_files(ip, capsys):
    from pathlib import Path

    ip.run_line_magic("load_ext", "llmos_jupyter")
    system = Path(__file__).resolve().parent.parent / "agents" / "ping-pong.toml"
    outcome = ip.run_line_magic("agents", f"run {system}")
    assert outcome.status == "exited"
    assert "exited" in capsys.readouterr().out
    ip.run_line_magic("agents", f"check {system}")
    assert "ok" in capsys.readouterr().out
