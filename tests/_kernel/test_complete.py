"""Completion and inspection of skill cells as pure functions (no kernel process), and
the same completion through IPython's completer in a plain shell after %load_ext."""

from __future__ import annotations

import pytest
from toy_skills import ADD, COUNT

from llmos_jupyter import SkillLibrary, parse_skill
from llmos_jupyter._kernel.complete import LINE_OPTIONS, complete, inspect
from llmos_jupyter._notebook.cells import RESERVED_SUBCOMMANDS, parse_skill_cell
from llmos_jupyter._workbench import Workbench


@pytest.fixture
def wb(llmos_home):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(ADD), parse_skill(COUNT)])
    wb = Workbench.for_library(lib)
    for source in ("%%skill first --uses add\na = 1\n", "%%skill second --uses count\nx = 2\n"):
        cell = parse_skill_cell(source)
        wb.session().define(cell, cell.params())
    return wb


def matches(code, wb, cursor=None):
    reply = complete(code, cursor, wb)
    return None if reply is None else reply["matches"]


@pytest.mark.parametrize(("code", "expected"), [
    ("%%skill ", ["first", "second"]),
    ("%%skill s", ["second"]),
    ("%skill ", [*RESERVED_SUBCOMMANDS, "first", "second"]),
    ("%skill s", ["show", "save", "second"]),
    ("%skill show ", ["add", "count"]),
    ("%skill list --", []),
    ("%%skill n --uses ", ["add", "count"]),
    ("%%skill n --uses c", ["count"]),
    ("%%skill n --uses add ", []),                      # --uses takes one value
    ("%%skill n --uses add --set ", ["a=", "b="]),
    ("%%skill n --uses add --set a=1 ", ["b="]),        # a is set already
    ("%%skill n --uses add --set a=", []),
    ("%%skill n --uses nosuch --set ", []),
    ("%%skill n --uses add --in b", ["b="]),
    ("%%skill n --uses add --in b=f", ["first."]),
    ("%%skill n --uses add --in b=first.", ["sum"]),
    ("%%skill n --uses add --in b=second.", ["y"]),
    ("%%skill n --uses add --in b=nosuch.", []),
    ("%%skill n --", list(LINE_OPTIONS)),
    ("%%skill n --i", ["--in", "--inputs"]),
    ("%%skill n --uses add\n", ["a", "b"]),
    ("%%skill n --uses add\na = 1\n", ["b"]),
    ("%%skill n --uses add --set b=2\n", ["a"]),
    ("%%skill n --uses add\n  b", ["b"]),
])
def test_completion_in_skill_cells(wb, code, expected):
    assert matches(code, wb) == expected


@pytest.mark.parametrize("code", [
    "x = 1\nprint(x",                        # not a skill cell
    "%%skill",                               # the magic word: IPython completes magics
    "%%skill n --uses add\na = fir",         # an expression over kernel variables
    "%%skill n\ndef execute(inputs):\n    re",  # inline code is Python
])
def test_python_places_fall_back(wb, code):
    assert complete(code, None, wb) is None


def test_offsets_replace_only_the_typed_part(wb):
    code = "%%skill n --uses add --in b=fi"
    reply = complete(code, None, wb)
    assert code[reply["cursor_start"]:reply["cursor_end"]] == "fi"
    mid = "%%skill n --uses c  # later"
    reply = complete(mid, mid.index("c") + 1, wb)  # the cursor in the middle of the line
    assert reply["matches"] == ["count"] and reply["cursor_end"] == mid.index("c") + 1
    quoted = "%%skill n --uses 'co"  # an open quote: the whole word is replaced
    reply = complete(quoted, None, wb)
    assert reply["matches"] == ["count"] and reply["cursor_start"] == quoted.index("'")


def test_inspect_finds_the_skill_from_any_word_of_the_line(wb):
    code = "%%skill n --uses add --set a=1 --in b=second.y\nb = 2\n"
    for word in ("n", "--uses", "add", "a=1"):
        reply = inspect(code, code.index(word) + 1, wb)
        assert reply["data"]["text/plain"].startswith("add — add"), word
    upstream = inspect(code, code.index("second.y") + 2, wb)
    assert upstream["data"]["text/plain"].startswith("count — count")
    assert inspect(code, len(code) - 3, wb)["found"] is True  # the parameter line "b = 2"
    assert inspect("%%skill n --uses nosuch\n", 20, wb) is None
    detail = inspect(code, code.index("add"), wb, detail_level=1)["data"]
    assert 'return {"sum": inputs["a"] + inputs["b"]}' in detail["text/plain"]
    assert "```python\n" in detail["text/markdown"]


def test_plain_shell_completes_after_load_ext(ip, wb):
    from IPython.core.completer import provisionalcompleter

    from llmos_jupyter._magics import LlmosMagics, load_ipython_extension

    load_ipython_extension(ip)
    ip.register_magics(LlmosMagics(ip, workbench=wb))
    try:
        code = "%%skill n --uses co"
        with provisionalcompleter():
            found = [(c.text, c.start, c.type) for c in ip.Completer.completions(code, len(code))]
        assert found == [("count", code.index("co"), "skill")]
    finally:  # the shell is shared by later tests: give it back the kernel's own magics
        ip.register_magics(LlmosMagics(ip))


def test_pyodide_startup_code_makes_a_plain_shell_an_llmos_one(ip):
    from llmos_jupyter._kernel.startup import PYODIDE_STARTUP_CODE, STARTUP_CODE

    assert PYODIDE_STARTUP_CODE.splitlines()[-1] == STARTUP_CODE
    result = ip.run_cell(PYODIDE_STARTUP_CODE)  # top-level await, as in Pyodide
    assert result.success, result.error_in_exec
    assert "skill" in ip.magics_manager.magics["cell"]
    assert sum(getattr(m, "_llmos_skill_matcher", False) for m in ip.Completer.custom_matchers) == 1
