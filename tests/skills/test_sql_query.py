"""skills/sql-query.md through the engine on a temporary SQLite file: bound parameters,
injection attempts as values, writes refused unless allowed (parsed with sqlglot, and the
file opened read-only), JSON-able values, one-line errors without passwords."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from skill_nodes import error, fresh_execute, outputs, run_node

from llmos_jupyter._redact import REDACTED


@pytest.fixture
def db(tmp_path, monkeypatch):
    """results.db in a fresh working directory, with a table h2(bond, energy, label)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "results.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE h2 (bond REAL, energy REAL, label TEXT, raw BLOB)")
        conn.executemany("INSERT INTO h2 VALUES (?, ?, ?, ?)", [
            (0.5, -1.0551, "short", b"\x00\xff"), (0.735, -1.1373, "eq", None),
            (1.5, -0.9981, "long", None)])
    conn.close()
    return path


def table(path):
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT bond, energy, label FROM h2 ORDER BY bond").fetchall()
    conn.close()
    return rows


URL = "sqlite:///results.db"  # relative: the run's working directory


def test_select_with_bound_parameters(db):
    out = outputs("sql-query", url=URL,
                  query="SELECT bond, energy FROM h2 WHERE energy < :e ORDER BY bond",
                  parameters={"e": -1.05})
    assert out == {"rows": [{"bond": 0.5, "energy": -1.0551}, {"bond": 0.735, "energy": -1.1373}],
                   "columns": ["bond", "energy"], "row_count": 2}


def test_in_lists_expand_and_absolute_urls_work(db):
    out = outputs("sql-query", url=f"sqlite:///{db}",
                  query="SELECT label FROM h2 WHERE bond IN :bonds ORDER BY bond",
                  parameters={"bonds": [0.5, 1.5]})
    assert out["rows"] == [{"label": "short"}, {"label": "long"}]


def test_values_become_json(db):
    out = outputs("sql-query", url=URL, query=(
        "SELECT raw, CAST('12.5' AS DECIMAL) AS d, NULL AS n, 1 = 1 AS t FROM h2 "
        "WHERE label = :l"), parameters={"l": "short"})
    assert out["rows"] == [{"raw": "AP8=", "d": 12.5, "n": None, "t": 1}]  # base64 of 00 ff


def test_ctes_unions_comments_and_read_pragmas_are_reads(db):
    q = ("-- the equilibrium\n/* block */ WITH low AS (SELECT * FROM h2 WHERE energy < :e) "
         "SELECT label FROM low UNION SELECT 'extra' ORDER BY 1")
    assert outputs("sql-query", url=URL, query=q, parameters={"e": -1.1})["rows"] == \
        [{"label": "eq"}, {"label": "extra"}]
    cols = outputs("sql-query", url=URL, query="PRAGMA table_info('h2')")["rows"]
    assert [c["name"] for c in cols] == ["bond", "energy", "label", "raw"]
    assert outputs("sql-query", url=URL, query="PRAGMA user_version")["rows"] == \
        [{"user_version": 0}]


@pytest.mark.parametrize("value", [
    "x'; DROP TABLE h2; --", "' OR '1'='1", "1; DELETE FROM h2", "eq' --", "\x00",
    "Robert'); DROP TABLE h2;--",
])
def test_injection_attempts_are_only_values(db, value):
    out = outputs("sql-query", url=URL, query="SELECT count(*) AS n FROM h2 WHERE label = :l",
                  parameters={"l": value})
    assert out["rows"] == [{"n": 0}]
    outputs("sql-query", url=URL, query="INSERT INTO h2 (label) VALUES (:l)",
            parameters={"l": value}, allow_write=True)
    assert outputs("sql-query", url=URL, query="SELECT label FROM h2 WHERE label = :l",
                   parameters={"l": value})["rows"] == [{"label": value}]
    assert len(table(db)) == 4  # nothing dropped or deleted


@pytest.mark.parametrize("query, kind", [
    ("DELETE FROM h2", "DELETE"),
    ("/* harmless */ delete from h2 -- really", "DELETE"),
    ("UPDATE h2 SET energy = 0", "UPDATE"),
    ("INSERT INTO h2 (bond) VALUES (9)", "INSERT"),
    ("INSERT INTO h2 SELECT * FROM h2", "INSERT"),
    ("CREATE TABLE t2 (a)", "CREATE"),
    ("CREATE TEMP TABLE t2 (a)", "CREATE"),
    ("DROP TABLE h2", "DROP"),
    ("ALTER TABLE h2 ADD COLUMN c", "ALTER"),
    ("ATTACH DATABASE 'other.db' AS o", "ATTACH"),
    ("WITH d AS (DELETE FROM h2 RETURNING *) SELECT * FROM d", "DELETE"),
    ("SELECT * INTO copy FROM h2", "INTO"),
    ("REPLACE INTO h2 (bond) VALUES (1)", "REPLACE"),
    ("VACUUM INTO 'copy.db'", "VACUUM"),
    ("BEGIN", "TRANSACTION"),
])
def test_writes_are_refused_by_default(db, query, kind):
    message = error("sql-query", url=URL, query=query)
    assert message == f"ValueError: query writes ({kind}); set allow_write to run it"
    assert len(table(db)) == 3
    assert not (db.parent / "other.db").exists() and not (db.parent / "copy.db").exists()


@pytest.mark.parametrize("query, fragment", [
    ("SELECT 1; DROP TABLE h2", "query holds 2 statements; run one statement per node"),
    ("SELECT 1; SELECT 2;", "query holds 2 statements"),
    ("PRAGMA journal_mode = DELETE", "PRAGMA that can change the database"),
    ("PRAGMA user_version = 7", "PRAGMA that can change the database"),
    ("REINDEX", "not a reading statement"),
    ("SELECT FROM WHERE (", "cannot tell whether it writes (sqlglot: "),
])
def test_other_refusals(db, query, fragment):
    message = error("sql-query", url=URL, query=query)
    assert message.startswith("ValueError: query") and fragment in message
    assert len(table(db)) == 3


def test_writes_run_when_allowed_and_are_committed(db):
    out = outputs("sql-query", url=URL, query="UPDATE h2 SET energy = :e WHERE label = :l",
                  parameters={"e": -1.137306, "l": "eq"}, allow_write=True)
    assert out == {"rows": [], "columns": [], "row_count": 1}
    assert (0.735, -1.137306, "eq") in table(db)
    outputs("sql-query", url="sqlite:///fresh.db", query="CREATE TABLE t (a INTEGER)",
            allow_write=True)
    assert (db.parent / "fresh.db").is_file()
    out = outputs("sql-query", url="sqlite:///fresh.db",
                  query="INSERT INTO t VALUES (1), (2) RETURNING a", allow_write=True)
    assert out == {"rows": [{"a": 1}, {"a": 2}], "columns": ["a"], "row_count": 2}
    assert error("sql-query", url=URL, query="SELECT 1; SELECT 2", allow_write=True) == \
        "ValueError: query holds 2 statements; run one statement per node"


def test_read_only_connection_stops_what_parsing_might_miss(db):
    """The second layer on its own: with the sqlglot check switched off, SQLite's
    read-only open and query_only still refuse the write."""
    run = fresh_execute("sql-query")  # a namespace of its own: patching it is local
    run.namespace["_check_read_only"] = lambda query, dialect: None
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        run({"url": URL, "query": "DELETE FROM h2"})
    assert len(table(db)) == 3


def test_missing_database_is_not_created_by_a_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = error("sql-query", url="sqlite:///absent.db", query="SELECT 1")
    assert message.startswith("ValueError: no SQLite database file at ")
    assert not (tmp_path / "absent.db").exists()
    assert outputs("sql-query", url="sqlite://", query="SELECT 1 + :a AS x",
                   parameters={"a": 2})["rows"] == [{"x": 3}]


@pytest.mark.parametrize("kwargs, fragment", [
    ({"query": "SELECT :a, :b", "parameters": {"a": 1}},
     "parameter 'b' is used by the query but not given"),
    ({"query": "SELECT :a", "parameters": {"a": 1, "zz": 2}},
     "parameters given but not used by the query: zz"),
    ({"query": "SELECT :a", "parameters": {"a": {"nested": 1}}}, "parameters['a'] must be"),
    ({"query": "SELECT 1 AS a, 2 AS a"}, "duplicate column name 'a'"),
    ({"query": "SELECT bond FROM h2", "max_rows": 2}, "more than max_rows = 2 rows"),
])
def test_input_errors(db, kwargs, fragment):
    message = error("sql-query", url=URL, **kwargs)
    assert message.startswith("ValueError: ") and fragment in message


def test_driver_errors_are_one_line(db):
    assert error("sql-query", url=URL, query="SELECT * FROM missing") == \
        "OperationalError: no such table: missing"


def test_passwords_never_shown(db, llmos_home):
    url = "postgresql+psycopg2://analyst:pg-sekret-42@127.0.0.1:1/results"
    run, node = run_node("sql-query", trace=True, url=url, query="SELECT 1")
    assert node.status == "failed"
    assert "pg-sekret-42" not in node.error
    text = Path(run.trace).read_text(encoding="utf-8")
    assert "pg-sekret-42" not in text
    assert f"analyst:{REDACTED}@127.0.0.1" in text
