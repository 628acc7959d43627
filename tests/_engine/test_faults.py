"""Faults inside trusted (in-process) skills fail only their own node; inputs are private
copies; outputs must be data; what a skill prints goes to its node's log."""

from __future__ import annotations

import math
import sys

import pytest

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._engine.data import OutputError, check_data, private_copy
from llmos_jupyter._skills.parser import parse_skill
from toy_skills import skill_md

SOURCE = skill_md("source", """
def execute(inputs):
    return {"values": [1.0, 2.0, 3.0, 4.0]}
""", outputs="[{name: values, type: array}]")

MUTATE = skill_md("mutate", """
def execute(inputs):
    v = inputs["values"]
    v.append(100.0)   # a careless skill mutates its input list
    v[0] = -50.0
    return {"n": len(v)}
""", inputs="[{name: values, type: array}]", outputs="[{name: n, type: integer}]")

MEAN = skill_md("mean", """
def execute(inputs):
    v = inputs["values"]
    return {"mean": sum(v) / len(v)}
""", inputs="[{name: values, type: array}]", outputs="[{name: mean, type: number}]")

FAULT = skill_md("fault", """
import sys, threading

class Loud:
    def __repr__(self):
        raise RuntimeError("repr bomb")
    __str__ = __repr__

def execute(inputs):
    kind = inputs["kind"]
    print("about to", kind)
    if kind == "exit0":
        sys.exit(0)
    if kind == "exit3":
        raise SystemExit(3)
    if kind == "os_exit":
        import os
        os._exit(4)
    if kind == "kbint":
        raise KeyboardInterrupt
    if kind == "close":
        sys.stdout.close()
        print("still fine")
        return {"y": 1}
    if kind == "thread":
        threading.Thread(target=lambda: None).start()
        return {"y": 2}
    if kind == "selfref":
        a = []
        a.append(a)
        return {"y": 3, "extra": a}
    if kind == "object":
        return {"y": 4, "extra": Loud()}
    if kind == "set":
        return {"y": 5, "extra": {3, 1, 2}}
    if kind == "nan":
        return {"y": float("nan"), "extra": [float("inf")]}
    if kind == "badkey":
        return {"y": 6, "extra": {Loud(): 1}}
    if kind == "raise_loud":
        raise ValueError(Loud())
    return {"y": 0}
""", inputs="[{name: kind, type: string}]", outputs="[{name: y, type: number}]")


@pytest.fixture
def lib(llmos_home):
    return SkillLibrary(volumes=[], skills=[parse_skill(t) for t in (SOURCE, MUTATE, MEAN, FAULT)])


def test_a_skill_mutating_its_input_cannot_corrupt_the_cached_upstream_output(lib):
    wf = Workflow(id="m")
    wf.add_node("source", id="src")
    wf.add_node("mutate", id="bad")
    wf.add_node("mean", id="mean")
    wf.connect("src", "values", "bad", "values")
    wf.connect("src", "values", "mean", "values")
    engine = Engine(lib, max_workers=1, trace=False)
    means = []
    for _ in range(3):  # the report: 3 of 3 runs wrong; cached src is reused on runs 2-3
        r = engine.run(wf)
        means.append(r["mean"].outputs["mean"])
        assert r["src"].outputs["values"] == [1.0, 2.0, 3.0, 4.0]
    assert means == [2.5, 2.5, 2.5]


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("kind, error", [
    ("exit0", "SystemExit"), ("exit3", "SystemExit"), ("kbint", "KeyboardInterrupt"),
    ("os_exit", "os._exit(4)"),
    ("selfref", "contains itself"), ("object", "is not data"), ("badkey", "keys must be strings"),
    ("raise_loud", "ValueError"),
])
def test_faults_fail_their_node_and_the_other_branch_completes(lib, workers, kind, error):
    wf = Workflow(id="f")
    wf.add_node("fault", id="bad", params={"kind": kind})
    wf.add_node("source", id="src")
    wf.add_node("mean", id="mean")
    wf.connect("src", "values", "mean", "values")
    r = Engine(lib, max_workers=workers, trace=False).run(wf)
    assert r["bad"].status == "failed"
    assert error in r["bad"].error
    assert r["mean"].outputs["mean"] == 2.5
    assert r.status == "failed"
    assert "about to" in (r["bad"].log or "")


def test_exit_inside_a_skill_keeps_the_trace(lib, tmp_path):
    wf = Workflow(id="t")
    wf.add_node("fault", id="bad", params={"kind": "exit0"})
    wf.add_node("source", id="src")
    r = Engine(lib, max_workers=1, trace=True, trace_dir=tmp_path).run(wf)
    assert r.trace and r.trace_error is None
    assert r["src"].status == "completed"


@pytest.mark.parametrize("kind, expected", [
    ("close", 1), ("thread", 2), ("set", 5),
])
def test_tolerated_faults_complete(lib, kind, expected, capsys):
    wf = Workflow(id="ok")
    wf.add_node("fault", id="n", params={"kind": kind})
    r = Engine(lib, max_workers=1, trace=False).run(wf)
    assert r["n"].status == "completed", r["n"].error
    assert r["n"].outputs["y"] == expected
    assert "about to" in r["n"].log
    # Nothing the skill printed reached the process' stdout.
    assert "about to" not in capsys.readouterr().out
    assert sys.stdout.write("x") == 1  # stdout still works after the skill closed it
    if kind == "set":
        assert r["n"].outputs["extra"] == [1, 2, 3]


def test_non_finite_numbers_are_kept_and_serialise_as_json(lib):
    import json

    wf = Workflow(id="nan")
    wf.add_node("fault", id="n", params={"kind": "nan"})
    r = Engine(lib, max_workers=1, trace=False).run(wf)
    assert r["n"].status == "completed"
    assert math.isnan(r["n"].outputs["y"])
    json.loads(json.dumps(r.to_json(), allow_nan=False))


def test_check_data_rules():
    assert check_data((1, [2, (3,)]), "o") == [1, [2, [3]]]
    assert check_data({1: "a", 2.5: "b", False: "c"}, "o") == {"1": "a", "2.5": "b", "false": "c"}
    with pytest.raises(OutputError, match="deeper"):
        deep: list = []
        cur = deep
        for _ in range(300):
            cur.append([])
            cur = cur[0]
        check_data(deep, "o")
    with pytest.raises(OutputError, match="4300 digits"):
        check_data({"a": [1, 10**5000]}, "o")
    assert check_data(10**4000, "o") == 10**4000
    shared = [1]
    assert check_data([shared, shared], "o") == [[1], [1]]  # shared, not cyclic
    value = {"a": [1, 2]}
    assert check_data(value, "o") is value  # nothing to change: the same object


def test_private_copy_is_independent():
    value = {"a": [1, [2, 3]], "b": "s"}
    c = private_copy(value)
    c["a"][1].append(4)
    assert value == {"a": [1, [2, 3]], "b": "s"}


def test_os_exit_still_works_in_a_forked_child_during_a_run(lib, tmp_path):
    fork = skill_md("forker", """
import os

def execute(inputs):
    pid = os.fork()
    if pid == 0:
        os._exit(7)          # the child leaves at once, as multiprocessing's children do
    _, status = os.waitpid(pid, 0)
    return {"code": os.waitstatus_to_exitcode(status)}
""", outputs="[{name: code, type: integer}]")
    library = SkillLibrary(volumes=[], skills=[parse_skill(fork)])
    wf = Workflow(id="fork")
    wf.add_node("forker", id="f")
    r = Engine(library, max_workers=1, trace=False).run(wf)
    assert r["f"].outputs == {"code": 7}
    import os
    assert os._exit.__name__ == "_exit"  # restored after the run
