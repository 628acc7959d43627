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
        ('{"nodes": {}}', "'nodes' must be a list, not an object"),
        ('{"id": "x", "edges": []}', "needs 'nodes'"),
        ('"just text"', "not a string"),
        ('{"nodes": [], "edges": 3}', "'edges' must be a list"),
        ('{"nodes": [], "id": 3}', "'id' must be a string"),
        ('{"nodes": [], "name": ["x"]}', "'name' must be a string"),
        ('{"nodes": [7]}', "nodes[0] must be an object"),
        ('{"nodes": [{"id": "a", "data": []}]}', "data must be an object"),
        ('{"nodes": [{"id": "a", "data": {"skill": 5}}]}', "needs data.skill"),
        ('{"nodes": [{"id": "a", "position": [0, 0], "data": {"skill": "s"}}]}', "position must be"),
        ('{"nodes": [{"id": "a", "position": {"x": "0"}, "data": {"skill": "s"}}]}', "position must be"),
        ('{"nodes": [{"id": "a", "type": 1, "data": {"skill": "s"}}]}', "type must be a string"),
        (('{"nodes": [], "edges": [{"id": 5, "source": "a", "sourceHandle": "x", "target": "b",'
          ' "targetHandle": "y"}]}'), "'id' must be a string"),
        ('{"nodes": [], "inline_skills": {"a": 3}}', "inline_skills"),
        ('{"nodes": [{"id": "a", "data": {"skill": "s", "params": {"x": NaN}}}]}', "NaN"),
        ('{"nodes": [{"id": "a", "data": {"skill": "s", "params": {"x": -Infinity}}}]}', "Infinity"),
        ('{"nodes": [{"id": "a", "data": {"skill": "s", "params": {"x": 1e999}}}]}', "infinity"),
        ('{"nodes": [], "x": 123456789012345678901234567890}', "too large"),
        ('{"nodes": [], "x": 1' + "0" * 5000 + '}', "invalid workflow JSON"),
        ('{"nodes": [], "id": "a", "id": "b"}', "duplicate key 'id'"),
        ('{"nodes": [], "deep": ' + "[" * 150 + "]" * 150 + "}", "nested more than 100"),
        ('{"nodes": [], "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than"),
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


def test_invalid_utf8_is_a_named_error(tmp_path):
    path = tmp_path / "bad.workflow.json"
    path.write_bytes(b'{"nodes": [],\n "name": "caf\xe9"}')
    with pytest.raises(WorkflowError, match=r"not UTF-8 text: byte 0xe9") as info:
        Workflow.load(path)
    assert info.value.line == 2


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "bom.workflow.json"
    path.write_bytes(b'\xef\xbb\xbf{"id": "w", "nodes": []}')
    assert Workflow.load(path).id == "w"


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


# -- the node-id index (Workflow.nodes is a NodeList) -----------------------------------
def _ids_agree(wf):
    """node()/`in` answer exactly as a linear scan of wf.nodes would."""
    first = {}
    for n in wf.nodes:
        first.setdefault(n.id, n)
    for node_id, node in first.items():
        assert node_id in wf and wf.node(node_id) is node
    for gone in ("zz", "n3", "n4", "x", "renamed", "new"):
        if gone not in first:
            assert gone not in wf
            with pytest.raises(KeyError):
                wf.node(gone)


def _built(n=6):
    wf = Workflow(id="w")
    for i in range(n):
        wf.add_node("add", id=f"n{i}")
    assert "n0" in wf and "zz" not in wf  # the index is built
    return wf


def test_node_index_follows_direct_list_mutations():
    from llmos_jupyter import Node

    wf = _built()
    wf.nodes.append(Node(id="x", skill="add"))
    _ids_agree(wf)
    wf.nodes[3] = Node(id="zz", skill="add")  # replacement at the same length
    _ids_agree(wf)
    wf.nodes[0:2] = [Node(id="new", skill="add"), Node(id="n1", skill="add")]
    _ids_agree(wf)
    del wf.nodes[1]
    _ids_agree(wf)
    wf.nodes.insert(0, Node(id="n4", skill="add"))  # a duplicate id in front: first wins
    _ids_agree(wf)
    wf.nodes.remove(wf.nodes[0])
    wf.nodes.pop()
    _ids_agree(wf)
    wf.nodes.sort(key=lambda n: n.id)
    wf.nodes.reverse()
    _ids_agree(wf)
    wf.nodes += [Node(id="x", skill="add")]
    wf.nodes.extend([Node(id="n3", skill="add")])
    _ids_agree(wf)
    wf.nodes *= 2
    _ids_agree(wf)
    wf.nodes.clear()
    _ids_agree(wf)
    wf.add_node("add", id="x")
    with pytest.raises(ValueError, match="already used"):
        wf.add_node("add", id="x")


def test_node_index_follows_id_reassignment_and_new_lists():
    from llmos_jupyter import Node

    wf = _built()
    wf.node("n4").id = "renamed"  # same list, same length: only the id changed
    _ids_agree(wf)
    assert wf.add_node("add", id="n4").id == "n4"
    _ids_agree(wf)
    wf.nodes[0].id = "n5"  # now a duplicate of a later node: the first one wins
    assert wf.node("n5") is wf.nodes[0]
    _ids_agree(wf)
    other = Workflow(id="o", nodes=[Node(id="a", skill="add")])
    other.node("a").id = "b"  # a rename in another workflow
    _ids_agree(wf)
    wf.nodes = [Node(id="x", skill="add"), Node(id="n0", skill="add")]
    assert type(wf.nodes).__name__ == "NodeList" and wf.nodes == wf.nodes[:]
    _ids_agree(wf)
    wf.nodes = wf.nodes[::-1]  # a plain list of the same nodes
    assert wf.node("x") is wf.nodes[1]
    _ids_agree(wf)
    shared = Workflow(id="s")
    shared.nodes = wf.nodes  # already a NodeList: shared, not copied (as before)
    shared.add_node("add", id="via-shared")
    assert "via-shared" in wf
    wf.nodes = (Node(id="t", skill="add"),)  # any other sequence: kept, linear lookups
    assert "t" in wf and wf.node("t").id == "t" and "x" not in wf


def test_node_index_survives_bypassing_mutations():
    from llmos_jupyter import Node

    wf = _built()
    list.append(wf.nodes, Node(id="x", skill="add"))  # around the overrides: length check
    _ids_agree(wf)
    list.__setitem__(wf.nodes, 2, Node(id="n5", skill="add"))  # hit check: n2 is gone
    assert "n2" not in wf
    assert [] not in wf  # unhashable ids are not an error (as before)


def test_copy_and_pickle_keep_a_working_node_list():
    import pickle

    wf = _built()
    for other in (wf.copy(), pickle.loads(pickle.dumps(wf))):
        assert type(other.nodes) is type(wf.nodes)
        assert [n.id for n in other.nodes] == [n.id for n in wf.nodes]
        other.node("n1").id = "moved"
        other.add_node("add", id="n1")
        _ids_agree(other)
        _ids_agree(wf)
        assert wf.node("n1") is wf.nodes[1]
    state = wf.__getstate__() if hasattr(wf, "__getstate__") else dict(wf.__dict__)
    old = Workflow.__new__(Workflow)
    old.__setstate__({**state, "nodes": list(wf.nodes)})  # a pickle holding a plain list
    assert type(old.nodes) is type(wf.nodes) and "n5" in old


def test_add_node_scales():
    import time

    wf = Workflow(id="big")
    t0 = time.perf_counter()
    for i in range(20000):
        wf.add_node("add")
    assert time.perf_counter() - t0 < 5  # was quadratic: ~2.8 s for 10k, ~11 s for 20k
    assert wf.nodes[-1].id == "add-20000" and "add-777" in wf


def test_automatic_ids_take_the_first_free_suffix_after_edits():
    from llmos_jupyter import Node

    wf = Workflow(id="w")
    assert [wf.add_node("add").id for _ in range(4)] == ["add", "add-2", "add-3", "add-4"]
    wf.remove_node("add-2")
    assert wf.add_node("add").id == "add-2"
    wf.node("add-3").id = "other"
    assert wf.add_node("add").id == "add-3"
    wf.nodes[0] = Node(id="x", skill="add")
    assert wf.add_node("add").id == "add"
    assert wf.add_node("add").id == "add-5"
    wf.nodes = [n for n in wf.nodes if n.id != "add-4"]
    assert wf.add_node("add").id == "add-4"


def test_node_index_keeps_first_of_duplicates_after_reordering():
    from llmos_jupyter import Node

    wf = Workflow(id="w", nodes=[Node(id="b", skill="add"), Node(id="a", skill="add"),
                                 Node(id="a", skill="add")])
    assert wf.node("a") is wf.nodes[1]
    wf.nodes.reverse()  # [a, a, b]: the other "a" comes first now
    assert wf.node("a") is wf.nodes[0]
    first = wf.nodes[0]
    wf.nodes.sort(key=lambda n: n is first)  # stable: moves that "a" last
    assert wf.node("a") is wf.nodes[0]
    _ids_agree(wf)


KEY = "sk-ant-api03-" + "A1b2C3d4" * 6


def test_save_ipynb_writes_a_real_notebook(tmp_path):
    import nbformat

    wf = Workflow(id="nb-demo", name="Notebook demo")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("add", id="b")
    wf.connect("a", "sum", "b", "a")
    path = wf.save(tmp_path / "demo.ipynb")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert any(c.source.startswith("%%skill a --uses add") for c in nb.cells)
    back = Workflow.load(path)
    assert [(n.id, n.skill, n.params) for n in back.nodes] == [(n.id, n.skill, n.params) for n in wf.nodes]
    assert [(e.source, e.target) for e in back.edges] == [("a", "b")]
    # Its own notebook is never overwritten by a regenerated one ...
    with pytest.raises(WorkflowError, match="edited in its %%skill cells"):
        back.save()
    # ... but it can be saved as JSON or as another notebook.
    assert back.save(tmp_path / "copy.ipynb").exists()
    assert Workflow.load(back.save(tmp_path / "copy.workflow.json")).id == "nb-demo"


@pytest.mark.parametrize("name", ["keyed.workflow.json", "keyed.ipynb"])
def test_saved_files_never_hold_a_key(tmp_path, name):
    wf = Workflow(id="keyed")
    wf.add_node("add", id="a", params={"a": 1, "note": f"token {KEY}"})
    path = wf.save(tmp_path / name)
    text = path.read_text(encoding="utf-8")
    assert KEY not in text and "[REDACTED]" in text
    assert wf.node("a").params["note"] == f"token {KEY}"  # the workflow in memory is intact


def test_save_refuses_what_load_would_refuse(tmp_path):
    wf = Workflow(id="nan")
    wf.add_node("add", id="a", params={"a": float("nan")})
    with pytest.raises(WorkflowError, match="NaN or infinite"):
        wf.save(tmp_path / "nan.workflow.json")
    assert not (tmp_path / "nan.workflow.json").exists()
    bad = Workflow(id="bad")
    bad.add_node("add", id="a\nimport os")
    with pytest.raises(WorkflowError, match="node id"):
        bad.save(tmp_path / "bad.ipynb")


# -- the loader module and the graph module ------------------------------------------

def test_files_module_loads_and_saves_both_formats(tmp_path):
    from llmos_jupyter._workflow.files import load_workflow, save_workflow

    wf = Workflow(id="fl", name="Files")
    wf.add_node("add", id="a", params={"a": 1})
    wf.add_node("add", id="b")
    wf.connect("a", "sum", "b", "a")
    for name in ("fl.workflow.json", "fl.ipynb"):
        path = save_workflow(wf, tmp_path / name)
        assert path == tmp_path / name and wf.path == path
        back = load_workflow(path)
        assert [n.id for n in back.nodes] == ["a", "b"]
        assert [(e.source, e.target) for e in back.edges] == [("a", "b")]
        assert back.node("a").params == {"a": 1}
    with pytest.raises(WorkflowError, match="no path given"):
        save_workflow(Workflow(id="nowhere"))


def test_the_model_module_imports_no_file_format():
    import ast
    import inspect

    from llmos_jupyter._workflow import model

    imported = {n.module for n in ast.walk(ast.parse(inspect.getsource(model)))
                if isinstance(n, ast.ImportFrom)}
    assert not any(m and m.startswith("llmos_jupyter._notebook") for m in imported)


def test_graph_orders_and_walks():
    from llmos_jupyter._workflow.graph import (
        ancestors,
        descendants,
        find_cycle,
        kahn_order,
        topological_order,
    )

    preds = {"c": ["a", "b"], "a": [], "b": ["a"], "d": []}
    assert topological_order(preds) == ["a", "d", "b", "c"]  # ties in mapping order
    assert kahn_order(["x", "y"], [(0, 1)]) == ["y", "x"]
    assert find_cycle(preds) is None
    cyclic = {"a": ["c"], "b": ["a"], "c": ["b"], "d": []}
    assert topological_order(cyclic) is None
    cycle = find_cycle(cyclic)
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    edges = [("a", "b"), ("b", "c"), ("x", "c"), ("c", "d")]
    assert descendants(edges, ["b"]) == {"b", "c", "d"}
    assert ancestors(edges, ["c"]) == {"a", "b", "c", "x"}
    wf = Workflow()
    for n in "abc":
        wf.add_node("add", id=n)
    wf.connect("a", "sum", "b", "a")
    wf.connect("b", "sum", "c", "a")
    assert wf.downstream(["b"]) == {"b", "c"} and wf.upstream(["b"]) == {"a", "b"}
