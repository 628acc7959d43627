"""The id grammar: one set of patterns in Python and TypeScript, refusing control chars."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from llmos_jupyter import _ids
from llmos_jupyter._ids import EDGE_ID_MAX, NODE_ID_MAX, id_problem, is_valid_id

TS = REPO / "labextension" / "src" / "contract.gen.ts"  # ids.ts re-exports these


def ts_constants() -> dict[str, str]:
    text = TS.read_text(encoding="utf-8")
    out = {m[1]: m[2] for m in re.finditer(r"export const (\w+_ID_PATTERN) = /(.*)/;", text)}
    out |= {m[1]: m[2] for m in re.finditer(r"export const (\w+_ID_MAX) = (\d+);", text)}
    return out


def test_typescript_has_the_same_patterns_and_limits():
    ts = ts_constants()
    kinds = ("NODE", "SKILL", "EDGE", "WORKFLOW")
    assert set(ts) == {f"{k}_ID_{s}" for k in kinds for s in ("PATTERN", "MAX")}
    for k in kinds:
        # A JS regex literal escapes "/" as "\/"; inside a class it may stand alone.
        assert ts[f"{k}_ID_PATTERN"] == getattr(_ids, f"{k}_ID_PATTERN"), k
        assert int(ts[f"{k}_ID_MAX"]) == getattr(_ids, f"{k}_ID_MAX"), k


CASES = [  # the same table as labextension/test/ids.test.ts
    ("node", "vqe", True), ("node", "ham_1", True), ("node", "2d-plot", True),
    ("node", "a.b", False), ("node", "a\nb", False), ("node", "a\n", False),
    ("node", "a b", False), ("node", "-a", False), ("node", "a'); import os #", False),
    ("node", "é", False), ("node", "", False), ("node", "x" * NODE_ID_MAX, True),
    ("node", "x" * (NODE_ID_MAX + 1), False),
    ("skill", "quantum-vqe", True), ("skill", "Quantum", False), ("skill", "a_b", False),
    ("edge", "e-ham-vqe", True), ("edge", "a.sum->b.x", True),
    ("edge", "reactflow__edge-a.out-b.in", True), ("edge", "xy-edge__aout-bin", True),
    ("edge", "a<img>", False), ("edge", "a\x00", False), ("edge", "x" * (EDGE_ID_MAX + 1), False),
    ("workflow", "h2-vqe", True), ("workflow", "v1.2", True), ("workflow", "a/b", False),
]


@pytest.mark.parametrize(("kind", "value", "ok"), CASES)
def test_grammar(kind, value, ok):
    assert is_valid_id(kind, value) is ok
    assert (id_problem(kind, value) is None) is ok


def test_problem_messages_show_control_characters_escaped():
    msg = id_problem("node", "a\nb\x1b[31m")
    assert "\n" not in msg and "\x1b" not in msg and r"\n" in msg
    assert "limit is 128" in id_problem("node", "x" * 129)
    assert "must be a string" in id_problem("edge", 3)


def test_the_ids_the_repo_ships_are_valid():
    import json

    files = [*REPO.glob("notebooks/*.workflow.json"), *REPO.glob("jupyterlite/files/*.workflow.json")]
    assert files
    for f in files:
        wf = json.loads(f.read_text(encoding="utf-8"))
        assert is_valid_id("workflow", wf["id"]), f
        for n in wf["nodes"]:
            assert is_valid_id("node", n["id"]) and is_valid_id("skill", n["data"]["skill"]), f
        for e in wf["edges"]:
            assert is_valid_id("edge", e["id"]), f
