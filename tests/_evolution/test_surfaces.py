"""The CLI (`llmos evolve`, `llmos volume log|diff|restore`) and the magics (`%skill evolve`,
`%skill history`, commits from `%skill new`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_skills import skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._cli import main
from llmos_jupyter._volumes import Volume

ADD = skill_md("add", "def execute(inputs):\n    return {'sum': inputs['a'] + inputs['b']}",
               inputs="[{name: a, type: number, default: 1}, {name: b, type: number, default: 2}]",
               outputs="[{name: sum, type: number}]")
DOUBLE = skill_md("double", "def execute(inputs):\n    return {'y': 2 * inputs['x']}",
                  inputs="[{name: x, type: number}]", outputs="[{name: y, type: number}]")


@pytest.fixture
def runs(llmos_home):
    """Three runs of add → double (a = 1, 3, 2) in the user volume's traces."""
    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True)
    (folder / "add.md").write_text(ADD)
    (folder / "double.md").write_text(DOUBLE)
    wf = Workflow(id="twice")
    wf.add_node("add", id="add")
    wf.add_node("double", id="double")
    wf.connect("add", "sum", "double", "x")
    engine = Engine(SkillLibrary(llmos_home), max_workers=1, cache=False)
    for a in (1, 3, 2):
        assert engine.run(wf, {"add.a": a}).status == "completed"
    return wf


def test_cli_evolve_dry_run_then_write_then_volume_commands(capsys, runs, llmos_home):
    assert main(["evolve", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "CREATE" in out and "dry run, nothing written" in out
    assert "input  a = 2  [median; min 1, max 3, 3 distinct in 3 runs]" in out
    assert not Volume("user").is_repository

    assert main(["evolve", "--min-runs", "3"]) == 0
    out = capsys.readouterr().out
    sid = next(line.split()[1] for line in out.splitlines() if line.startswith("CREATE"))
    assert sid.startswith("compound-add-double-")
    assert main(["skills", "show", sid]) == 0
    capsys.readouterr()

    assert main(["volume", "log"]) == 0
    log = capsys.readouterr().out
    assert f"evolve: Add compound skill {sid} from 3 runs" in log
    assert "Initialise the user volume (2 existing files)" in log

    # Edit the compound by hand through the volume, diff it, restore it.
    vol = Volume("user")
    path = vol.skill_path(sid)
    original = path.read_text()
    vol.write_text(path, original.replace("default: 2\n", "default: 7\n", 1), message="Tune a")
    assert main(["volume", "diff", "HEAD"]) == 0
    diff = capsys.readouterr().out
    assert "-  default: 2" in diff and "+  default: 7" in diff
    assert main(["volume", "log", "--skill", sid]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "Tune a" in lines[0] and "evolve: Add" in lines[1]
    assert main(["volume", "restore", sid, "--rev", "HEAD~1"]) == 0
    assert "restored" in capsys.readouterr().out
    assert path.read_text() == original
    assert main(["volume", "diff", "nope"]) == 2
    assert "no revision 'nope'" in capsys.readouterr().err


def test_cli_volume_log_without_history(capsys, llmos_home):
    assert main(["volume", "log", "team"]) == 0
    assert "no history in the team volume" in capsys.readouterr().out


@pytest.fixture
def magics(llmos_home):
    from IPython.testing.globalipapp import get_ipython

    from llmos_jupyter._magics import LlmosMagics

    shell = get_ipython()
    m = LlmosMagics(shell, library=SkillLibrary(llmos_home))
    shell.register_magics(m)
    return shell


def test_skill_evolve_and_history_magics(capsys, runs, magics, llmos_home):
    magics.run_line_magic("skill", "evolve --dry-run")
    assert "dry run, nothing written" in capsys.readouterr().out
    magics.run_line_magic("skill", "evolve --min-runs 3")
    out = capsys.readouterr().out
    sid = next(line.split()[1] for line in out.splitlines() if line.startswith("CREATE"))
    magics.run_line_magic("skill", f"history {sid}")
    out = capsys.readouterr().out
    assert f"1 commit of {sid!r} in the user volume" in out
    assert f"evolve: Add compound skill {sid}" in out
    magics.run_line_magic("skill", "history nothing-here")
    assert "no history of 'nothing-here'" in capsys.readouterr().err


def test_skill_new_is_a_commit(capsys, magics, llmos_home):
    magics.run_line_magic("skill", "new fit-curve")
    capsys.readouterr()
    assert Volume("user").log()[0].summary == "Add skill fit-curve (skeleton from %skill new)"
    magics.run_line_magic("skill", "history fit-curve")
    assert "1 commit of 'fit-curve'" in capsys.readouterr().out
    assert Path(llmos_home / "user" / "skills" / "fit-curve.md").is_file()
