"""The engine's runner extension point: non-Python runtimes run through a callable that
validation, output checks, the cache, failures, cancel and timeout all treat like a node."""

from __future__ import annotations

import threading

import pytest
from toy_skills import ADD

from llmos_jupyter import Engine, SkillLibrary, Workflow, WorkflowInvalid, parse_skill, validate

JS = """---
skill_id: js-double
version: '1.0'
runtime: javascript
inputs: [{name: x, type: number}]
outputs: [{name: y, type: number}, {name: label, type: string, required: false}]
---

# double

```javascript
function execute(inputs) { return { y: 2 * inputs.x }; }
```
"""


@pytest.fixture
def library(llmos_home):
    return SkillLibrary(volumes=[], skills=[parse_skill(ADD), parse_skill(JS)])


def workflow():
    wf = Workflow(id="mixed")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("js-double", id="d")
    wf.add_node("add", id="c", params={"b": 100})
    wf.connect("a", "sum", "d", "x")
    wf.connect("d", "y", "c", "a")
    return wf


class Doubler:
    """Stands in for a JavaScript interpreter: evaluates this one skill's formula."""

    def __init__(self, result=None):
        self.calls = []
        self.result = result

    def __call__(self, skill, inputs, *, cancel, timeout):
        self.calls.append((skill.skill_id, dict(inputs), cancel, timeout))
        return self.result if self.result is not None else {"y": 2 * inputs["x"]}


def test_without_a_runner_a_browser_runtime_fails_validation_saying_where_it_runs(library):
    problems = validate(workflow(), library)
    [p] = [p for p in problems if p.code == "unsupported-runtime"]
    assert p.node == "d"
    assert "runtime 'javascript'" in p.message and "canvas" in p.message
    with pytest.raises(WorkflowInvalid, match="canvas"):
        Engine(library, trace=False).run(workflow())


def test_a_runner_runs_the_node_between_python_nodes_and_is_cached(library):
    runner = Doubler()
    engine = Engine(library, trace=False, max_workers=1, node_timeout=7.5)
    result = engine.run(workflow(), runners={"javascript": runner})
    assert result.status == "completed"
    assert result.outputs("d") == {"y": 6}
    assert result.outputs("c")["sum"] == 106
    [(skill, inputs, cancel, timeout)] = runner.calls
    assert (skill, inputs, timeout) == ("js-double", {"x": 3}, 7.5)
    assert isinstance(cancel, threading.Event)
    again = engine.run(workflow(), runners={"javascript": runner})
    assert again.nodes["d"].status == "cached" and len(runner.calls) == 1
    # The runner was for that run only: the engine itself still refuses the runtime.
    with pytest.raises(WorkflowInvalid):
        engine.run(workflow())


def test_engine_level_runners_and_parallel_runs(library):
    runner = Doubler()
    engine = Engine(library, trace=False, max_workers=4, runners={"javascript": runner})
    assert engine.run(workflow()).outputs("c")["sum"] == 106


def test_runner_outputs_are_checked_against_the_ports(library):
    engine = Engine(library, trace=False, max_workers=1, cache=False)
    missing = engine.run(workflow(), runners={"javascript": Doubler({"z": 1})})
    assert missing.nodes["d"].status == "failed"
    assert "output 'y' is missing" in missing.nodes["d"].error
    assert missing.nodes["c"].status == "skipped"
    wrong = engine.run(workflow(), runners={"javascript": Doubler({"y": "six"})})
    assert "output 'y'" in wrong.nodes["d"].error


def test_a_runner_error_fails_the_node_with_its_message(library):
    def broken(skill, inputs, *, cancel, timeout):
        raise RuntimeError("ReferenceError: z is not defined (js-double.md, line 12)")

    result = Engine(library, trace=False, cache=False).run(workflow(), runners={"javascript": broken})
    assert result.nodes["d"].error == "RuntimeError: ReferenceError: z is not defined (js-double.md, line 12)"
    assert result.nodes["a"].status == "completed" and result.nodes["c"].status == "skipped"


def test_the_trace_keeps_a_browser_node_as_its_recorded_outputs(library, tmp_path):
    import nbformat

    engine = Engine(library, trace=True, trace_dir=tmp_path, max_workers=1)
    result = engine.run(workflow(), runners={"javascript": Doubler()})
    nb = nbformat.read(result.trace, as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("llmos", {}).get("node") == "d"]
    assert "# runtime javascript: ran in the canvas front-end" in cell.source
    assert "#   function execute(inputs) { return { y: 2 * inputs.x }; }" in cell.source
    # The trace still re-executes top to bottom in a plain Python kernel.
    namespace: dict = {}
    for c in nb.cells:
        if c.cell_type == "code":
            exec(c.source, namespace)
    assert namespace["c"]["sum"] == 106
