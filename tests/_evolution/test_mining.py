"""Mining over traces of small real runs: what makes two sub-workflows the same pattern."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_skills import skill_md

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._evolution import evolve, iter_traces, mine, trace_files
from llmos_jupyter._evolution.mining import _canonical

ADD = skill_md("add", "def execute(inputs):\n    return {'sum': inputs['a'] + inputs['b']}",
               inputs="[{name: a, type: number, default: 1}, {name: b, type: number, default: 2}]",
               outputs="[{name: sum, type: number}]")
SCALE = skill_md("scale", "def execute(inputs):\n    return {'y': inputs['x'] * inputs['k']}",
                 inputs="[{name: x, type: number}, {name: k, type: number, default: 2}]",
                 outputs="[{name: y, type: number}]")
SCALE_V2 = SCALE.replace("inputs['x'] * inputs['k']", "inputs['k'] * inputs['x']")
LABEL = skill_md("label", "def execute(inputs):\n    return {'text': f\"{inputs['prefix']}{inputs['v']}\"}",
                 inputs="[{name: v, type: number}, {name: prefix, type: string, default: 'v='}]",
                 outputs="[{name: text, type: string}]")


def _install(home: Path, **skills: str) -> SkillLibrary:
    folder = home / "user" / "skills"
    folder.mkdir(parents=True, exist_ok=True)
    for sid, text in skills.items():
        (folder / f"{sid}.md").write_text(text)
    return SkillLibrary(home)


def _chain(ids=("a", "s"), x=0, with_label=False) -> Workflow:
    wf = Workflow(id="chain")
    wf.add_node("add", id=ids[0], params={"a": 1, "b": 2}, position={"x": x, "y": 0})
    wf.add_node("scale", id=ids[1], position={"x": x + 300, "y": x})
    wf.connect(ids[0], "sum", ids[1], "x")
    if with_label:
        wf.add_node("label", id="lab")
        wf.connect(ids[1], "y", "lab", "v")
    return wf


def _run(home: Path, wf: Workflow, overrides_list) -> list[str]:
    engine = Engine(SkillLibrary(home), max_workers=1, cache=False)
    return [engine.run(wf, o).trace for o in overrides_list]


def _patterns(home: Path, min_runs: int = 3):
    return mine(iter_traces(trace_files(home / "user" / "traces")), min_runs=min_runs)


def test_node_ids_and_layout_do_not_matter(llmos_home):
    _install(llmos_home, add=ADD, scale=SCALE)
    _run(llmos_home, _chain(("a", "s")), [{"s.k": 3}])
    _run(llmos_home, _chain(("first", "second"), x=999), [{"second.k": 4}, {"second.k": 4}])
    [p] = _patterns(llmos_home)
    assert p.support == 3 and [m.skill for m in p.members] == ["add", "scale"]
    assert p.wires == ((0, "sum", 1, "x"),)


def test_different_skill_versions_are_different_patterns(llmos_home):
    _install(llmos_home, add=ADD, scale=SCALE)
    _run(llmos_home, _chain(), [{"s.k": k} for k in (1, 2, 3)])
    _install(llmos_home, scale=SCALE_V2)
    _run(llmos_home, _chain(), [{"s.k": k} for k in (4, 5, 6)])
    pats = _patterns(llmos_home)
    assert len(pats) == 2 and len({p.hash for p in pats}) == 2
    assert {p.members[1].code_hash for p in pats} == {
        SkillLibrary(llmos_home).get("scale").code_hash,
        _code_hash(SCALE)}
    # Two runs of each version never add up to one pattern of three.
    report = evolve(min_runs=4, dry_run=True)
    assert report.candidates == []
    # The old version's pattern is explained but not written: its member changed since.
    report = evolve(min_runs=3)
    actions = sorted((c.action, c.reason.split(" (")[0]) for c in report.candidates)
    assert actions == [("create", ""), ("skip", "member skill 'scale' changed since these runs")]
    [made] = report.by_action("create")
    learned = SkillLibrary(llmos_home).get(made.skill_id).frontmatter["derived_from"]["learned"]
    assert learned["k"]["default"] == 5 and learned["k"]["min"] == 4


def _code_hash(text: str) -> str:
    from llmos_jupyter import parse_skill

    return parse_skill(text).code_hash


def test_only_closed_patterns_and_shared_sub_workflows(llmos_home):
    _install(llmos_home, add=ADD, scale=SCALE, label=LABEL)
    # add → scale → label three times: one pattern (not also add → scale, scale → label).
    _run(llmos_home, _chain(with_label=True), [{}, {"s.k": 5}, {"lab.prefix": "k="}])
    [p] = _patterns(llmos_home)
    assert [m.skill for m in p.members] == ["add", "scale", "label"]
    # One more run of add → scale alone: add → scale now has more support on its own.
    _run(llmos_home, _chain(), [{}])
    pats = {tuple(m.skill for m in q.members): q.support for q in _patterns(llmos_home)}
    assert pats == {("add", "scale", "label"): 3, ("add", "scale"): 4}


def test_failed_nodes_cut_the_pattern(llmos_home):
    _install(llmos_home, add=ADD, scale=SCALE, label=LABEL)
    bad = SCALE.replace("def execute(inputs):\n", "def execute(inputs):\n    if inputs['k'] <= 0:\n"
                        "        raise ValueError('k must be > 0')\n")
    _install(llmos_home, scale=bad)
    _run(llmos_home, _chain(with_label=True), [{}, {}, {"s.k": -1}])
    assert _patterns(llmos_home) == []
    assert [[m.skill for m in p.members] for p in _patterns(llmos_home, 2)] == [
        ["add", "scale", "label"]]


def test_canonical_form_breaks_ties_between_identical_nodes():
    labels = {"p": ("add", "h"), "q": ("add", "h"), "r": ("scale", "h2")}
    one = _canonical(frozenset(labels), labels, [("p", "sum", "r", "x"), ("q", "sum", "r", "k")])
    labels2 = {"q": ("add", "h"), "p": ("add", "h"), "r": ("scale", "h2")}
    two = _canonical(frozenset(labels2), labels2, [("q", "sum", "r", "x"), ("p", "sum", "r", "k")])
    assert one[0] == two[0]
    # The node feeding port x takes the same place in both orders.
    assert one[1].index("p") == two[1].index("q") and one[1][2] == two[1][2] == "r"
    # Truly interchangeable nodes: any tie-break gives the same hash.
    sym = {"p": ("add", "h"), "q": ("add", "h"), "r": ("scale", "h2"), "t": ("scale", "h2")}
    a = _canonical(frozenset(sym), sym, [("p", "sum", "r", "x"), ("q", "sum", "t", "x")])
    b = _canonical(frozenset(sym), sym, [("p", "sum", "t", "x"), ("q", "sum", "r", "x")])
    assert a[0] == b[0]


def test_min_runs_must_be_positive():
    with pytest.raises(ValueError, match="min_runs"):
        mine([], min_runs=0)
