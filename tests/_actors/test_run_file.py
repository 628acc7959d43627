"""run_file (scripts and kernel cells) and the skill-runner actor (ctx.run_workflow)."""

from __future__ import annotations

import asyncio

import pytest
from toy_skills import ADD

from llmos_jupyter import Workflow
from llmos_jupyter._actors import SystemInvalid, run_file

DRIVER = """---
skill_id: my-driver
name: Driver
kind: actor
subscribes: [start, run_result]
---

```python
def on_start(ctx):
    pass

def on_message(ctx, msg):
    if msg.type == "start":
        ctx.send("run", {"workflow": "demo.workflow.json", "overrides": {"a": {"b": msg.payload}},
                         "outputs": [["b", "sum"]]})
    else:
        ctx.exit(msg.payload["outputs"])
```
"""


@pytest.fixture
def system_file(tmp_path, llmos_home):
    skills = llmos_home / "user" / "skills"
    skills.mkdir(parents=True)
    (skills / "add.md").write_text(ADD)
    (skills / "my-driver.md").write_text(DRIVER)
    wf = Workflow(id="demo", name="demo")
    wf.add_node("add", id="a", params={"a": 1})
    wf.add_node("add", id="b", params={"b": 10})
    wf.connect("a", "sum", "b", "a")
    wf.save(tmp_path / "demo.workflow.json")
    path = tmp_path / "runner.toml"
    path.write_text('[system]\nname = "runner"\n\n[[actors]]\nid = "driver"\nskill = "my-driver"\n\n'
                    '[[actors]]\nid = "runner"\nskill = "actor-skill-runner"\n')
    return path


def test_skill_runner_runs_a_workflow_relative_to_the_system_file(system_file, llmos_home):
    out = run_file(system_file, 5)
    assert out.status == "exited", out.error
    assert out.result == {"b.sum": 16}  # (1 + 5) + 10
    assert out.trace and out.trace.startswith(str(llmos_home))


def test_run_file_inside_a_running_loop_uses_a_helper_thread(system_file):
    async def cell():  # what a kernel cell is: code running inside the loop
        return run_file(system_file, 1, trace=False)

    assert asyncio.run(cell()).result == {"b.sum": 12}


def test_run_file_refuses_an_invalid_system(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[actors]]\nid = 'x'\nskill = 'nope'\n")
    with pytest.raises(SystemInvalid, match="no skill 'nope'") as info:
        run_file(path)
    assert [p.code for p in info.value.problems] == ["unknown-skill"]
