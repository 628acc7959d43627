"""Workflow JSON: React Flow field names, exact round trip, edits, read errors."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from llmos_jupyter import Workflow, WorkflowError

EXAMPLES = sorted((REPO / "notebooks").glob("*.workflow.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip_byte_for_byte(path, tmp_path):
    wf = Workflow.load(path)
    out = wf.save(tmp_path / path.name)
    assert out.read_text() == path.read_text()


def test_unknown_fields_and_key_order_survive(tmp_path):
    raw = {
        "name": "n", "id": "w", "viewport": {"x": 1, "y": 2, "zoom": 1.5},
        "edges": [{"source": "a", "target": "b", "id": "e", "sourceHandle": "sum",
                   "targetHandle": "a", "animated": True}],
        "nodes": [
            {"data": {"label": "A", "skill": "add", "params": {"a": 1}}, "id": "a",
             "position": {"x": 0, "y": 0}, "type": "skill", "width": 200},
            {"id": "b", "type": "skill", "position": {"x": 1, "y": 2}, "data": {"skill": "add", "params": {}}},
        ],
    }
    text = json.dumps(raw, indent=2) + "\n"
    src = tmp_path / "w.workflow.json"
    src.write_text(text)
    wf = Workflow.load(src)
    assert wf.node("a").data_extra == {"label": "A"}
    assert wf.extra == {"viewport": {"x": 1, "y": 2, "zoom": 1.5}}
    assert wf.to_json() == text


def test_edits():
    wf = Workflow(id="w")
    a = wf.add_node("add", params={"a": 1})
    b = wf.add_node("add")
    assert (a.id, b.id) == ("add", "add-2")
    e = wf.connect(a.id, "sum", b.id, "a")
    assert wf.edges_into(b.id) == [e]
    assert wf.downstream([a.id]) == {a.id, b.id}
    assert wf.upstream([b.id]) == {a.id, b.id}
    wf.set_params(a.id, a=5, b=None)
    assert a.params == {"a": 5}
    with pytest.raises(ValueError, match="already used"):
        wf.add_node("add", id="add")
    wf.remove_node(a.id)
    assert wf.edges == [] and [n.id for n in wf.nodes] == ["add-2"]
    with pytest.raises(KeyError, match="no node 'zz'"):
        wf.node("zz")
    with pytest.raises(KeyError):
        wf.disconnect("nope")
    copy = wf.copy()
    copy.set_params("add-2", a=9)
    assert wf.node("add-2").params == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"nodes": [}', "invalid JSON"),
        ("[]", "must be a JSON object"),
        ('{"nodes": {}}', "must be lists"),
        ('{"nodes": [{"id": "a", "data": {}}]}', "needs data.skill"),
        ('{"nodes": [{"data": {"skill": "add"}}]}', "needs a non-empty string 'id'"),
        ('{"nodes": [], "edges": [{"source": "a", "target": "b"}]}', "'sourceHandle', 'targetHandle'"),
        ('{"nodes": [{"id": "a", "data": {"skill": "s", "params": 3}}]}', "params must be an object"),
    ],
)
def test_unreadable_workflows_name_the_file(tmp_path, text, fragment):
    path = tmp_path / "bad.workflow.json"
    path.write_text(text)
    with pytest.raises(WorkflowError) as info:
        Workflow.load(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "bad.workflow.json"
    path.write_text('{\n  "id": "x",\n  "nodes": [,]\n}\n')
    with pytest.raises(WorkflowError) as info:
        Workflow.load(path)
    assert info.value.line == 3
    assert f"{path}:3:" in str(info.value)


def test_missing_file():
    with pytest.raises(WorkflowError, match="cannot read workflow"):
        Workflow.load("/nonexistent/x.workflow.json")
