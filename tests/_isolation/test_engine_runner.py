"""IsolatedRunner through the engine's runner protocol: a crashing isolated node fails with
its named reason, its dependent is skipped, the other branches complete, and a hostile
node's patching does not reach the trusted, in-process nodes.

Until the engine routes untrusted skills by trust, the isolated skills here carry their
own runtime name (``isolated``) and a small adapter hands them to the runner as Python.
"""

from __future__ import annotations

import dataclasses

import pytest

from llmos_jupyter import Engine, SkillLibrary
from llmos_jupyter._isolation import IsolatedRunner
from llmos_jupyter._isolation.sandbox import find_bwrap
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import Port
from llmos_jupyter._workflow.model import Workflow


def make(skill_id: str, code: str, runtime: str = "python", inputs: tuple[str, ...] = ()) -> Skill:
    return Skill(skill_id, skill_id, runtime=runtime, code=code,
                 inputs=tuple(Port(name) for name in inputs), outputs=(Port("y"),))


@pytest.fixture(scope="module")
def runner():
    with IsolatedRunner(sandbox="auto") as r:
        yield r


def test_engine_with_isolated_nodes(runner):
    if find_bwrap() is None:
        assert runner.isolation_warning  # the fallback says so

    def isolated(skill, inputs, *, cancel, timeout):
        return runner(dataclasses.replace(skill, runtime="python"), inputs, cancel=cancel,
                      timeout=timeout)

    lib = SkillLibrary(volumes=[], skills=[
        make("crash", "import ctypes\ndef execute(inputs):\n    ctypes.string_at(0)\n",
             runtime="isolated"),
        make("patcher", "import builtins\ndef execute(inputs):\n"
             "    builtins.sum = lambda xs: 42\n    return {'y': sum([1])}\n", runtime="isolated"),
        make("mean", "def execute(inputs):\n    return {'y': sum(inputs['xs']) / len(inputs['xs'])}\n",
             inputs=("xs",)),
        make("after", "def execute(inputs):\n    return {'y': inputs['x']}\n", inputs=("x",)),
    ])
    wf = Workflow()
    wf.add_node("crash", id="crash")
    wf.add_node("after", id="after")
    wf.connect("crash", "y", "after", "x")
    wf.add_node("patcher", id="patcher")
    wf.add_node("mean", id="mean", params={"xs": [2.0, 3.0]})
    engine = Engine(lib, trace=False, runners={"isolated": isolated}, max_workers=2)
    result = engine.run(wf)
    assert result["crash"].status == "failed"
    assert "segmentation fault" in result["crash"].error
    assert result["after"].status == "skipped"
    assert result["patcher"].outputs == {"y": 42}  # patched only inside its own process
    assert result["mean"].outputs == {"y": 2.5}  # the in-process sum is untouched
    assert result.status == "failed"
