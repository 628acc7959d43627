"""The trace record: written by the trace writer, read back typed by read_run_records."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from llmos_jupyter import Engine, Workflow
from llmos_jupyter._trace.record import (
    NodeRecord,
    RunRecord,
    parse_run_record,
    read_run_record,
    read_run_records,
    read_trace_metadata,
)


def _workflow(wid="rec", name="Record demo", fail=False):
    wf = Workflow(id=wid, name=name)
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("add", id="b")
    wf.connect("a", "sum", "b", "a")
    if fail:
        wf.add_node("fail", id="f", params={"x": 3})
        wf.add_node("add", id="after")
        wf.connect("f", "y", "after", "a")
    return wf


def test_a_real_run_reads_back_as_a_run_record(toy_library, tmp_path):
    engine = Engine(toy_library, max_workers=1, trace_dir=tmp_path)
    r = engine.run(_workflow(fail=True))
    rec = read_run_record(r.trace)
    assert isinstance(rec, RunRecord)
    assert (rec.run_id, rec.workflow_id, rec.workflow_name, rec.status) == (
        r.run_id, "rec", "Record demo", "failed")
    assert [n.node_id for n in rec.nodes] == list(r.nodes)
    by_id = {n.node_id: n for n in rec.nodes}
    assert by_id["f"] == NodeRecord("f", "fail", "failed", by_id["f"].duration_ms, False,
                                    "ValueError: cannot use x = 3", by_id["f"].started,
                                    by_id["f"].cache_key)
    assert by_id["after"].status == "skipped" and "upstream node 'f' failed" in by_id["after"].error
    assert rec.started is not None and rec.started.tzinfo is not None
    assert abs(rec.started.timestamp() - r.started_at) < 0.002  # ms precision in the file
    assert rec.finished - rec.started == dt.timedelta(milliseconds=round(r.duration_ms, 3))
    assert rec.duration_ms == round(r.duration_ms, 3)

    # The second run takes `a` and `b` from the cache.
    r2 = engine.run(_workflow())
    rec2 = read_run_record(r2.trace)
    assert [(n.node_id, n.status, n.cached, n.duration_ms) for n in rec2.nodes] == [
        ("a", "cached", True, 0.0), ("b", "cached", True, 0.0)]
    assert rec2.status == "completed" and rec2.path == str(r2.trace)


def test_read_run_records_filters_by_time_and_workflow(toy_library, tmp_path):
    engine = Engine(toy_library, max_workers=1, trace_dir=tmp_path)
    first = engine.run(_workflow("one", "First"))
    second = engine.run(_workflow("two", "Second"))
    (tmp_path / "notes.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (tmp_path / "broken.ipynb").write_text("{not json")
    all_runs = list(read_run_records(tmp_path))
    assert sorted(r.run_id for r in all_runs) == sorted([first.run_id, second.run_id])
    assert [r.run_id for r in read_run_records(tmp_path, workflow="two")] == [second.run_id]
    assert [r.run_id for r in read_run_records(tmp_path, workflow="First")] == [first.run_id]
    # `since` in every accepted form; a time after both runs gives nothing.
    start = min(r.started for r in all_runs)
    for since in (start, start.timestamp(), start.isoformat()):
        assert len(list(read_run_records(tmp_path, since=since))) == 2
    later = max(r.started for r in all_runs) + dt.timedelta(seconds=5)
    assert list(read_run_records(tmp_path, since=later)) == []
    assert list(read_run_records(tmp_path / "missing")) == []
    with pytest.raises(ValueError, match="since"):
        list(read_run_records(tmp_path, since="yesterday"))


def test_since_skips_old_files_by_name_without_reading_them(tmp_path):
    old = tmp_path / "20200101-000000-wf-run1.ipynb"
    old.write_text("this would not parse")  # never opened: its name says it is too old
    os.chmod(old, 0)
    try:
        assert list(read_run_records(tmp_path, since=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))) == []
    finally:
        os.chmod(old, 0o644)


def test_records_from_older_traces_are_read_leniently():
    rec = parse_run_record({"nodes": {"x": {"status": "completed"}, "bad": 3},
                            "workflow": {"id": "w"}, "started_at": "not a time"})
    assert rec.workflow_name == "w" and rec.status == "unknown" and rec.started is None
    assert rec.finished is None and [n.node_id for n in rec.nodes] == ["x"]
    assert rec.nodes[0] == NodeRecord("x", None, "completed", 0.0, False, None)
    with pytest.raises(ValueError, match="not an llmos trace record"):
        parse_run_record({"workflow": {}})


def test_tail_reader_falls_back_to_the_whole_file(tmp_path):
    p = tmp_path / "compact.ipynb"
    p.write_text(json.dumps({"metadata": {"llmos": {"trace": {"run_id": "r", "nodes": {}}}},
                             "cells": [], "nbformat": 4, "nbformat_minor": 5}))
    assert read_trace_metadata(p) == {"run_id": "r", "nodes": {}, "path": str(p)}
