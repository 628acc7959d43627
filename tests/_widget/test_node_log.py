"""A node's live log (``llmos_jupyter._widget.node_log``): the same cases as the
front-end's ``appendLog`` (``labextension/test/nodeLogCases.json``), so the notebook
canvas (kept in Python) and the JupyterLab document (kept in TypeScript) show alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmos_jupyter._widget.node_log import LOG_MAX_LINE_CHARS, append_log, log_from_text

CASES = Path(__file__).resolve().parents[2] / "labextension" / "test" / "nodeLogCases.json"


@pytest.mark.parametrize("case", json.loads(CASES.read_text(encoding="utf-8"))["cases"],
                         ids=lambda c: c["name"])
def test_shared_cases(case):
    log = None
    for chunk in case["chunks"]:
        log = append_log(log, chunk, case["max"])
    assert log == case["expect"]


def test_append_does_not_change_its_argument():
    first = append_log(None, "a\nb")
    second = append_log(first, "c\n")
    assert first == {"lines": ["a", "b"], "open": True, "total": 2}
    assert second == {"lines": ["a", "bc"], "open": False, "total": 2}


def test_long_lines_are_cut_also_while_open():
    log = append_log(None, "x" * (LOG_MAX_LINE_CHARS + 10))
    log = append_log(log, "yyy\n")
    (line,) = log["lines"]
    assert len(line) == LOG_MAX_LINE_CHARS and line.endswith("…") and "y" not in line


def test_log_from_text_keeps_the_last_lines():
    text = "".join(f"line {i}\n" for i in range(500))
    log = log_from_text(text)
    assert log["total"] == 500 and len(log["lines"]) == 200
    assert log["lines"][0] == "line 300" and log["lines"][-1] == "line 499"
