"""skills/csv-read.md and skills/csv-write.md through the engine: round trips, RFC 4180
quoting, delimiters, numbers, ragged rows, encodings and paths confined to the working
directory."""

from __future__ import annotations

import os

import pytest
from skill_nodes import error, outputs

TABLE = [{"bond": 0.735, "energy": -1.137306, "label": "eq"},
         {"bond": 1.5, "energy": -0.998149, "label": 'long, "stretched"\nbond'},
         {"bond": 2, "energy": None, "label": "ünïcødé ✓"}]


@pytest.fixture
def work(tmp_path, monkeypatch):
    root = tmp_path / "work"
    root.mkdir()
    monkeypatch.chdir(root)
    return root.resolve()


def test_round_trip(work):
    out = outputs("csv-write", rows=TABLE, path="results/h2.csv")
    target = work / "results" / "h2.csv"
    assert out == {"path": str(target), "row_count": 3}
    assert target.read_bytes() == (
        'bond,energy,label\r\n0.735,-1.137306,eq\r\n'
        '1.5,-0.998149,"long, ""stretched""\nbond"\r\n'
        '2,,ünïcødé ✓\r\n').encode()
    back = outputs("csv-read", path="results/h2.csv")
    assert back["columns"] == ["bond", "energy", "label"] and back["row_count"] == 3
    assert back["rows"] == [{**row, "energy": "" if row["energy"] is None else row["energy"]}
                            for row in TABLE]


def test_cells_are_written_as_documented(work):
    outputs("csv-write", rows=[{"t": True, "f": False, "n": None, "x": 1e-05, "l": [1, "a"],
                                "o": {"k": 1}}], path="cells.csv")
    assert (work / "cells.csv").read_bytes().decode("utf-8").split("\r\n")[1] == \
        'true,false,,1e-05,"[1, ""a""]","{""k"": 1}"'
    assert "not a finite number" in error("csv-write", rows=[{"a": float("inf")}], path="x.csv")


def test_arrays_with_columns_tabs_and_no_header(work):
    outputs("csv-write", rows=[[1, "a"], [2, "b"]], columns=["id", "name"], path="t.tsv",
            delimiter="\t", header=False)
    assert (work / "t.tsv").read_bytes() == b"1\ta\r\n2\tb\r\n"
    out = outputs("csv-read", path="t.tsv", delimiter="\\t", header=False)
    assert out["columns"] == ["column_1", "column_2"]
    assert out["rows"] == [{"column_1": 1, "column_2": "a"}, {"column_1": 2, "column_2": "b"}]


def test_column_order_and_missing_keys(work):
    outputs("csv-write", rows=[{"b": 1}, {"a": 2, "b": 3}], path="o.csv", columns=["a", "b"])
    assert (work / "o.csv").read_bytes() == b"a,b\r\n,1\r\n2,3\r\n"
    outputs("csv-write", rows=[{"b": 1}, {"a": 2, "b": 3}], path="u.csv")
    assert (work / "u.csv").read_bytes() == b"b,a\r\n1,\r\n3,2\r\n"
    assert "rows[1] has a key 'c' that is not in columns" in error(
        "csv-write", rows=[{"a": 1}, {"c": 2}], path="x.csv", columns=["a"])
    assert "rows[1] has 1 cells; columns has 2" in error(
        "csv-write", rows=[[1, 2], [3]], path="x.csv", columns=["a", "b"])
    assert "rows are arrays: give columns" in error("csv-write", rows=[[1]], path="x.csv")
    assert "rows[1] is str, rows[0] is dict" in error("csv-write", rows=[{"a": 1}, "x"],
                                                      path="x.csv")


@pytest.mark.parametrize("cell, value", [
    ("42", 42), ("-7", -7), ("+3", 3), ("0", 0), ("0.735", 0.735), ("-1.5e-3", -0.0015),
    (".5", 0.5), ("1E3", 1000.0), ("007", "007"), ("02139", "02139"), ("1_000", "1_000"),
    ("0x1F", "0x1F"), ("nan", "nan"), ("inf", "inf"), ("", ""), (" 1", " 1"), ("1.2.3", "1.2.3"),
])
def test_number_recognition(work, cell, value):
    (work / "n.csv").write_text(f"v,w\n{cell},x\n", encoding="utf-8")
    assert outputs("csv-read", path="n.csv")["rows"] == [{"v": value, "w": "x"}]
    assert outputs("csv-read", path="n.csv", parse_numbers=False)["rows"] == [{"v": cell, "w": "x"}]


def test_reader_rules(work):
    (work / "r.csv").write_bytes("\ufeffa;b;\r\n1;2\r\n\r\n3;4;5\n".encode("utf-8"))
    out = outputs("csv-read", path="r.csv", delimiter=";")
    assert out["columns"] == ["a", "b", "column_3"]  # BOM skipped, empty name filled
    assert out["rows"] == [{"a": 1, "b": 2, "column_3": None}, {"a": 3, "b": 4, "column_3": 5}]
    (work / "wide.csv").write_text("a,b\n1,2\n3,4,5\n")
    assert error("csv-read", path="wide.csv") == \
        "ValueError: wide.csv line 3: has 3 cells, the header has 2"
    (work / "dup.csv").write_text("a,a\n1,2\n")
    assert "duplicate column name 'a'" in error("csv-read", path="dup.csv")
    (work / "q.csv").write_text('a\n"unterminated\n')
    assert error("csv-read", path="q.csv").startswith("ValueError: q.csv line ")
    (work / "empty.csv").write_text("")
    assert outputs("csv-read", path="empty.csv") == {"rows": [], "columns": [], "row_count": 0}


def test_encodings(work):
    (work / "l.csv").write_bytes("name\ncafé\n".encode("latin-1"))
    assert error("csv-read", path="l.csv") == \
        "ValueError: l.csv: not valid utf-8 at byte 8 (invalid continuation byte)"
    assert outputs("csv-read", path="l.csv", encoding="latin-1")["rows"] == [{"name": "café"}]
    assert "not a known text encoding" in error("csv-read", path="l.csv", encoding="klingon")


def test_size_cap(work):
    (work / "big.csv").write_text("a\n" + "1\n" * 1000)
    assert error("csv-read", path="big.csv", max_bytes=100) == \
        "ValueError: big.csv: the file is larger than max_bytes = 100 bytes"


def test_reads_are_confined_to_the_working_directory(work, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("k\nhunter2\n")
    for path in ("../secret.csv", str(outside), "/etc/passwd"):
        assert "is outside the working directory" in error("csv-read", path=path)
    os.symlink(outside, work / "link.csv")
    assert "is outside the working directory" in error("csv-read", path="link.csv")
    (work / "sub").mkdir()
    (work / "sub" / "in.csv").write_text("a\n1\n")
    os.symlink(work / "sub" / "in.csv", work / "inner-link.csv")  # a link inside is fine
    assert outputs("csv-read", path="inner-link.csv")["rows"] == [{"a": 1}]
    assert outputs("csv-read", path=str(work / "sub" / "in.csv"))["rows"] == [{"a": 1}]
    assert "no file at 'nope.csv'" in error("csv-read", path="nope.csv")
    assert "not a regular file" in error("csv-read", path="sub")


@pytest.mark.parametrize("path, fragment", [
    ("../escape.csv", ".."), ("/tmp/elsewhere.csv", "outside the working directory"),
    (".git/config", ".git"), ("link/out.csv", "symbolic link"),
])
def test_writes_are_confined_to_the_working_directory(work, tmp_path, path, fragment):
    (tmp_path / "other").mkdir()
    os.symlink(tmp_path / "other", work / "link")
    message = error("csv-write", rows=[{"a": 1}], path=path)
    assert message.startswith(("ValueError", "UnsafeWrite")) and fragment in message
    assert not (tmp_path / "escape.csv").exists() and not (tmp_path / "other" / "out.csv").exists()


def test_file_nodes_are_never_served_from_the_cache(work):
    """csv-read and csv-write touch files, which change outside their inputs."""
    from skill_nodes import system_library

    from llmos_jupyter import Engine, Workflow

    for name in ("csv-read", "csv-write", "sql-query", "http-request"):
        assert system_library().get(name).frontmatter.get("cache") is False, name
    engine = Engine(system_library(), max_workers=1)
    wf = Workflow(id="reread", name="reread")
    wf.add_node("csv-read", id="r", params={"path": "a.csv"})
    (work / "a.csv").write_text("x\n1\n")
    assert engine.run(wf, trace=False).nodes["r"].outputs["rows"] == [{"x": 1}]
    (work / "a.csv").write_text("x\n2\n")
    again = engine.run(wf, trace=False).nodes["r"]
    assert again.status == "completed" and again.outputs["rows"] == [{"x": 2}]
