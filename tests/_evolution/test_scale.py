"""Evolution at scale and its counting rules (issue 14, section 6).

* mining is near-linear: a 1,000-node trace well under a second, a 5,000-node one in a
  few seconds with progress messages, 10,000 traces of 20 nodes under 5 s (bounds with a
  wide margin: mining itself takes a tenth of them on a laptop);
* one notebook run counts once, however many ``%%skill`` cells (traces) it took;
* text that embeds another parameter (a title with the bond length) is not frozen as a
  learned default;
* a compound with an untrusted member is marked untrusted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml
from toy_skills import skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._evolution import evolve, iter_traces, mine, trace_files
from llmos_jupyter._evolution.evolve import MAX_COMPOUND_MEMBERS

ADD = skill_md("add", "def execute(inputs):\n    return {'sum': inputs['a'] + inputs['b']}",
               inputs="[{name: a, type: number, default: 1}, {name: b, type: number, default: 2}]",
               outputs="[{name: sum, type: number}]")
SCALE = skill_md("scale", "def execute(inputs):\n    return {'y': inputs['x'] * inputs['k']}",
                 inputs="[{name: x, type: number}, {name: k, type: number, default: 2}]",
                 outputs="[{name: y, type: number}]")
TITLED = skill_md(
    "titled", "def execute(inputs):\n    return {'text': inputs['title'] + ': ' + str(inputs['v'])}",
    inputs="[{name: v, type: number}, {name: title, type: string}]",
    outputs="[{name: text, type: string}]")


def _install(home: Path, volume: str = "user", **skills: str) -> None:
    folder = home / volume / "skills"
    folder.mkdir(parents=True, exist_ok=True)
    for sid, text in skills.items():
        (folder / f"{sid}.md").write_text(text)


# -- synthetic traces (metadata only) --------------------------------------------------------
def _chain_trace(n: int, run: int, *, parallel: int = 1) -> dict:
    """``parallel`` chains of ``n // parallel`` nodes over three skills; every node ran."""
    nodes = {}
    for i in range(n):
        wired = {"x": f"n{i - parallel}.y"} if i >= parallel else {}
        skill = "abc"[(i // parallel) % 3]  # the same sequence in every chain
        nodes[f"n{i}"] = {"skill": skill, "code_hash": "h" + skill, "version": "1",
                          "status": "completed", "params": {"k": (i + run) % 7},
                          "wired": wired, "cache_key": f"{run:08x}{i:08x}"}
    return {"run_id": f"r{run}", "started_at": f"2026-01-01T00:00:00.{run:06d}",
            "nodes": nodes, "path": f"/traces/r{run}.ipynb"}


def test_a_1000_node_trace_is_mined_in_well_under_a_second():
    trace = _chain_trace(1000, 0)
    start = time.process_time()
    [pattern] = mine([trace], min_runs=1)
    assert time.process_time() - start < 1.0
    assert len(pattern.members) == 1000 and len(pattern.wires) == 999


def test_a_5000_node_trace_in_seconds_with_progress():
    messages: list[str] = []
    start = time.process_time()
    [pattern] = mine([_chain_trace(5000, 0, parallel=2)], min_runs=1, progress=messages.append)
    assert time.process_time() - start < 5.0
    assert len(pattern.members) == 2500  # two chains: the same pattern twice in one trace
    assert pattern.support == 1 and len(pattern.occurrences) == 2
    assert any("5000" in m or "2500-node" in m for m in messages), messages
    assert messages[-1].startswith("mined 1 trace")


def test_10000_traces_of_20_nodes_under_5_seconds():
    traces = [_chain_trace(20, r, parallel=4) for r in range(10_000)]
    start = time.process_time()
    patterns = mine(traces, min_runs=3)
    assert time.process_time() - start < 5.0
    # Four chains of five nodes over skills a, b, c: closed patterns are the whole chains.
    assert {p.support for p in patterns} == {10_000}
    assert all(len(p.members) == 5 for p in patterns)


def _write_trace(folder: Path, trace: dict) -> Path:
    """A trace notebook with only metadata, laid out as nbformat writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = {"cells": [], "metadata": {"llmos": {"trace": trace}}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / f"{trace['run_id']}.ipynb"
    path.write_text(json.dumps(nb, sort_keys=True, indent=1))
    return path


def test_evolve_on_a_1000_node_trace_reports_without_writing_a_huge_compound(llmos_home):
    _write_trace(llmos_home / "user" / "traces", _chain_trace(1000, 0))
    report = evolve(min_runs=1)  # (its speed is benchmarks/evolve.py's business)
    [cand] = report.candidates
    assert cand.action == "skip" and f"more than {MAX_COMPOUND_MEMBERS}" in cand.reason
    text = report.explain()
    assert len(text.splitlines()) < 40 and "... and 988 more members" in text


# -- counting: one notebook run counts once -----------------------------------------------------
def _notebook_session(home: Path, a: float) -> None:
    """What a kernel does for cells ``%%skill n1 --uses add``, ``%%skill n2 --uses scale``,
    ``%%skill n3 --uses scale`` run one after the other: a trace per cell, each with the
    earlier cells' nodes taken from the kernel's cache."""
    engine = Engine(SkillLibrary(home), max_workers=1)  # one kernel: one cache
    wf = Workflow(id="analysis")
    wf.add_node("add", id="n1", params={"a": a, "b": 2})
    engine.run(wf)
    wf.add_node("scale", id="n2", params={"k": 3})
    wf.connect("n1", "sum", "n2", "x")
    second = engine.run(wf)
    assert second.nodes["n1"].status == "cached"
    wf.add_node("scale", id="n3", params={"k": 5})
    wf.connect("n2", "y", "n3", "x")
    engine.run(wf)
    engine.close()


def test_one_notebook_run_counts_once_not_once_per_cell(llmos_home):
    _install(llmos_home, add=ADD, scale=SCALE)
    for a in (1.0, 2.0, 3.0):
        _notebook_session(llmos_home, a)
    traces = list(iter_traces(trace_files(llmos_home / "user" / "traces")))
    assert len(traces) == 9
    patterns = mine(traces, min_runs=3)
    # Three notebook runs: add -> scale -> scale three times, and no separate add -> scale
    # (its counted occurrences are the second cells', inside the third cells' runs).
    assert [(p.support, [m.skill for m in p.members]) for p in patterns] == [
        (3, ["add", "scale", "scale"])]
    [p] = patterns
    assert len(p.occurrences) == 3


def test_reruns_in_one_kernel_with_new_params_are_new_runs(llmos_home):
    _install(llmos_home, add=ADD, scale=SCALE)
    engine = Engine(SkillLibrary(llmos_home), max_workers=1)
    wf = Workflow(id="chain")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("scale", id="s")
    wf.connect("a", "sum", "s", "x")
    for k in (2, 3, 4):  # add comes from the cache after the first run
        engine.run(wf, {"s.k": k})
    engine.run(wf, {"s.k": 4})  # the same computation again: every node cached
    engine.close()
    [p] = mine(iter_traces(trace_files(llmos_home / "user" / "traces")), min_runs=3)
    assert p.support == 3


# -- derived text ----------------------------------------------------------------------------
def _titled_runs(home: Path, titles) -> None:
    _install(home, add=ADD, titled=TITLED)
    engine = Engine(SkillLibrary(home), max_workers=1, cache=False)
    wf = Workflow(id="titled")
    wf.add_node("add", id="add", params={"b": 0})
    wf.add_node("titled", id="label")
    wf.connect("add", "sum", "label", "v")
    for a, title in titles:
        engine.run(wf, {"add.a": a, "label.title": title})
    engine.close()


def test_text_embedding_another_parameter_is_not_frozen(llmos_home):
    _titled_runs(llmos_home, [(0.74, "H2 at 0.74 Å"), (0.8, "H2 at 0.80 Å"), (0.74, "H2 at 0.74 Å")])
    report = evolve(min_runs=3, dry_run=True)
    [cand] = report.candidates
    learned = {lr.input: lr for lr in cand.compound.learned}
    assert learned["title"].rule == "derived" and learned["title"].source == "add.a"
    assert learned["a"].rule == "median" and learned["a"].value == 0.74
    ports = {p.name: p for p in cand.compound.inputs}
    assert not ports["title"].has_default and "embed add.a" in ports["title"].description
    fm = yaml.safe_load(cand.compound.markdown.split("---\n")[1])
    assert "title" not in fm["derived_from"]["learned"] and "a" in fm["derived_from"]["learned"]
    assert "default" not in next(p for p in fm["inputs"] if p["name"] == "title")
    assert "not learned: the runs' values embed add.a" in report.explain()


def test_fixed_text_is_still_learned(llmos_home):
    _titled_runs(llmos_home, [(1.5, "Energy"), (2.5, "Energy"), (3.5, "Energy")])
    [cand] = evolve(min_runs=3, dry_run=True).candidates
    learned = {lr.input: lr for lr in cand.compound.learned}
    assert learned["title"].rule == "mode" and learned["title"].value == "Energy"


# -- trust -----------------------------------------------------------------------------------
def test_compound_with_an_untrusted_member_is_marked_untrusted(llmos_home):
    from llmos_jupyter._trust import is_trusted

    _install(llmos_home, add=ADD)
    _install(llmos_home, "team", scale=SCALE)  # the team volume is untrusted
    engine = Engine(SkillLibrary(llmos_home), max_workers=1, cache=False, isolate="none")
    wf = Workflow(id="chain")
    wf.add_node("add", id="a")
    wf.add_node("scale", id="s")
    wf.connect("a", "sum", "s", "x")
    for k in (2, 3, 4):
        assert engine.run(wf, {"s.k": k}).status == "completed"
    engine.close()
    report = evolve(min_runs=3)
    [cand] = report.candidates
    assert cand.action == "create" and cand.untrusted == "scale"
    lib = SkillLibrary(llmos_home)
    assert lib.get(cand.skill_id).volume == "user"
    assert not is_trusted(lib.get(cand.skill_id))
    assert "trust: untrusted (member scale)" in report.explain()


def test_compound_of_trusted_members_stays_trusted(llmos_home):
    from llmos_jupyter._trust import is_trusted

    _install(llmos_home, add=ADD, scale=SCALE)
    engine = Engine(SkillLibrary(llmos_home), max_workers=1, cache=False)
    wf = Workflow(id="chain")
    wf.add_node("add", id="a")
    wf.add_node("scale", id="s")
    wf.connect("a", "sum", "s", "x")
    for k in (2, 3, 4):
        engine.run(wf, {"s.k": k})
    engine.close()
    [cand] = evolve(min_runs=3).candidates
    assert cand.untrusted is None
    assert is_trusted(SkillLibrary(llmos_home).get(cand.skill_id))
