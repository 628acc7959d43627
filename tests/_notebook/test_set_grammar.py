"""One tokenizer of the %%skill line (as shlex reads it, with spans) and one grammar of
--set values shared by `llmos run --set` and `%%skill --set` (_overrides.py)."""

from __future__ import annotations

import random
import shlex

import pytest

from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._notebook.cells import parse_skill_cell, rewrite_skill_cell, tokenize_line
from llmos_jupyter._overrides import OverrideError, parse_set, parse_sets


def test_tokenizer_reads_the_line_as_shlex_does():
    rng = random.Random(16)
    alphabet = ["a", "b", " ", "\t", "'", '"', "\\", "=", "-", ".", "\n", "é"]
    for _ in range(20000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            want = shlex.split(line, posix=True)
        except ValueError as exc:
            with pytest.raises(WorkflowError, match=str(exc)):
                tokenize_line(line)
            continue
        tokens = tokenize_line(line)
        assert [t.text for t in tokens] == want, line
        for t in tokens:  # spans cover the word as written, quotes included
            assert shlex.split(line[t.start:t.end], posix=True) in ([t.text], [])


def test_partial_lines_keep_the_open_word():
    tokens = tokenize_line("%%skill a --uses 'qu", partial=True)
    assert [(t.text, t.start, t.end, t.closed) for t in tokens[-2:]] == [
        ("--uses", 10, 16, True), ("qu", 17, 20, False)]
    with pytest.raises(WorkflowError, match="No closing quotation"):
        tokenize_line("%%skill a --uses 'qu")


def test_parse_and_rewrite_share_the_tokenizer():
    src = "%%skill a --uses s --set 'title=two words' x=1\n"
    assert parse_skill_cell(src).sets == {"title": "two words", "x": 1}
    out = rewrite_skill_cell(src, params={"x": 2})
    # (an empty body: the line form)
    assert out.splitlines()[0] == "%skill a --uses s --set 'title=two words' x=2"
    assert parse_skill_cell(out).sets == {"title": "two words", "x": 2}


@pytest.mark.parametrize(("text", "expected"), [
    ("vqe.iterations=150", ("vqe.iterations", 150)),
    ("plot.title=H2 curve", ("plot.title", "H2 curve")),
    ('ham.atoms=["H","H"]', ("ham.atoms", ["H", "H"])),
    ("x.flag=true", ("x.flag", True)),
    ("x.flag=True", ("x.flag", "True")),       # Python's spelling is not JSON
    ("x.v=1e-3", ("x.v", 0.001)),
    ("x.v=", ("x.v", "")),
    (" x.v =null", ("x.v", None)),
    ('x.s="quoted"', ("x.s", "quoted")),
    ("x.s={bad", ("x.s", "{bad")),
])
def test_set_values_are_json_else_strings(text, expected):
    assert parse_set(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("x.v=NaN", "--set x.v: NaN is not a JSON number"),
    ("x.v=-Infinity", "--set x.v: -Infinity is not a JSON number"),
    ("x.v=[Infinity]", "--set x.v: Infinity is not a JSON number"),
    ("x.v=" + "[" * 100000 + "]" * 100000, "--set x.v: value nested too deeply"),
    ("novalue", "--set 'novalue': expected NODE.PORT=VALUE"),
    ("port=1", "--set 'port=1': expected NODE.PORT=VALUE"),
    ("=1", "--set '=1': expected NODE.PORT=VALUE"),
])
def test_set_errors_name_the_item(text, message):
    with pytest.raises(OverrideError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_set(text)


def test_cells_and_the_cli_read_values_the_same_way():
    items = ["a=1", "b=[1, 2]", "c=hello", "d=True", 'e={"k": null}']
    cli = parse_sets([f"n.{i}" for i in items])
    cell = parse_skill_cell("%%skill n --uses s --set " + " ".join(map(shlex.quote, items)) + "\n")
    assert {f"n.{k}": v for k, v in cell.sets.items()} == cli
    assert parse_sets(["n.a=1", "n.a=2"]) == {"n.a": 2}  # the CLI's last-wins
    assert parse_set("a=1", dotted=False) == ("a", 1)
