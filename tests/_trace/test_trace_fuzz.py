"""No string a run carries becomes code or markup in its trace notebook.

Hypothesis builds run results directly (bypassing validation: any node id, skill id, port
name, parameter, output, error and workflow name), writes the trace, compiles and runs its
cells in order and checks that only the skill's code ran: every injected payload would
append to ``__RAN__``. ``LLMOS_FUZZ_EXAMPLES=100000`` runs the long version.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmos_jupyter import SkillLibrary, Workflow, parse_skill
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._trace.notebook import VALUE_CAP, write_trace

EXAMPLES = int(os.environ.get("LLMOS_FUZZ_EXAMPLES", "120"))

ECHO = parse_skill("""---
skill_id: echo
version: '1.0'
inputs: [{name: x, type: any, required: false}]
outputs: [{name: out, type: any}]
---

# echo

```python
def execute(inputs):
    CALLS.append(1)
    return {"out": inputs.get("x")}
```
""")

# Each payload, if it ever became code, appends to RAN (or fails to compile).
PAYLOADS = [
    "x\n__RAN__.append('newline')\n#",
    "x\r__RAN__.append('cr')\r#",
    "x\r\n__RAN__.append('crlf')",
    "x\u2028__RAN__.append('ls')",
    "x\x0c__RAN__.append('ff')",
    "'); __RAN__.append('quote'); ('",
    '"); __RAN__.append("dquote"); ("',
    "'''; __RAN__.append('triple'); '''",
    '"""; __RAN__.append("triple2"); """',
    "\\'; __RAN__.append('backslash'); #",
    "__import__('builtins').RAN_GLOBAL = 1",
    "}); __RAN__.append('brace'); print({",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "$\\href{javascript:alert(1)}{x}$",
    "a | b ` c ** d",
    "\x1b[31mred\x1b[0m",
    "\x00nul",
    "lone \ud800 surrogate",
]

text = st.one_of(st.text(max_size=30), st.sampled_from(PAYLOADS))
ident = st.one_of(text, st.sampled_from(["execute", "json", "pathlib", "CALLS", "RAN", "class",
                                         "None", "1x", "__builtins__", "display", "é"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), text)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4),
    st.tuples(inner, inner)), max_leaves=12)


@st.composite
def runs(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    ids = draw(st.lists(ident, min_size=n, max_size=n, unique=True))
    wf = Workflow(id=draw(ident), name=draw(text))
    nodes = {}
    for i, node_id in enumerate(ids):
        skill_id = "echo" if i == 0 or draw(st.booleans()) else draw(ident)
        status = "completed" if i == 0 else draw(st.sampled_from(
            ["completed", "cached", "failed", "skipped"]))
        params = draw(st.dictionaries(ident, values, max_size=3))
        inputs = dict(params)
        wired = {}
        if i and draw(st.booleans()):
            port = draw(ident)
            src = ids[draw(st.integers(min_value=0, max_value=i - 1))]
            wired[port] = (src, draw(st.one_of(st.just("out"), ident)))
            inputs[port] = draw(values)
        outputs = draw(st.dictionaries(ident, values, max_size=3)) if status != "failed" else {}
        error = draw(text) if status in ("failed", "skipped") else None
        wf.nodes.append(__import__("llmos_jupyter").Node(id=node_id, skill=skill_id, params=params))
        nodes[node_id] = NodeResult(node_id, skill_id, status, outputs=outputs, inputs=inputs,
                                    wired=wired, error=error, traceback=error, duration_ms=1.5,
                                    started_at=1.7e9, cache_key=draw(st.one_of(st.none(), text)),
                                    log=draw(st.one_of(st.none(), text)))
    overrides = draw(st.dictionaries(ident, st.dictionaries(ident, values, max_size=2), max_size=2))
    return RunResult(draw(text), wf, draw(st.sampled_from(["completed", "failed", "x\n<b>"])),
                     nodes, overrides=overrides, started_at=1.7e9, duration_ms=3.0)


LIB = SkillLibrary(volumes=[], skills=[ECHO])


def run_cells(path: Path) -> dict:
    """Compile every code cell (a SyntaxError would mean quoting broke) and run them in
    order in one namespace, as a kernel would, in the notebook's folder."""
    nb = nbformat.read(path, as_version=4)
    ns = {"CALLS": [], "__RAN__": [], "__name__": "__main__"}
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            code = compile(cell.source, f"cell {cell.id}", "exec")
            try:
                exec(code, ns)  # noqa: S102 - re-running the trace is the test
            except (KeyError, NameError, TypeError, AttributeError):
                pass  # the fuzzed wiring may not match what the skill returns
    finally:
        os.chdir(here)
    return ns


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(runs())
def test_no_run_string_becomes_code_or_markup(tmp_path_factory, result):
    import builtins

    folder = tmp_path_factory.mktemp("traces")
    path = write_trace(result, LIB, folder)
    assert path.parent == folder  # the run id cannot steer the file elsewhere
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    ns = run_cells(path)
    assert ns["__RAN__"] == [] and not hasattr(builtins, "RAN_GLOBAL")
    python_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    assert len(ns["CALLS"]) <= python_cells

    summary = nb.cells[0].source
    assert "<" not in summary  # no raw HTML: every < is &lt;
    assert not re.search(r"(?<!\\)\]\(", summary)  # no link syntax
    assert "\x1b" not in summary and "\x00" not in summary
    for line in summary.split("\n"):
        if line.startswith("|"):
            # every table row keeps its columns: no unescaped | from a value
            assert len(re.findall(r"(?<!\\)\|", line)) in (4, 6)


def test_payload_ids_in_a_trace(tmp_path):
    """The report's case: a node id with a newline became a line of code."""
    wf = Workflow(id="w")
    node_id = "a\n__import__('builtins').PWNED = 1\n#"
    nr = NodeResult(node_id, "echo", "completed", outputs={"out": 1}, inputs={"x": 1})
    result = RunResult("r1", wf, "completed", {node_id: nr}, started_at=1.7e9)
    path = write_trace(result, LIB, tmp_path)
    cell = nbformat.read(path, as_version=4).cells[1]
    assert cell.source.splitlines()[0] == f"# node {node_id!r} · skill echo v1.0 · completed in 0.0 ms"
    ns = run_cells(path)
    import builtins

    assert not hasattr(builtins, "PWNED") and ns["CALLS"] == [1]


def test_large_values_go_to_side_files_and_still_reexecute(tmp_path):
    big = list(range(VALUE_CAP))
    wf = Workflow(id="big")
    nr = NodeResult("n", "echo", "completed", outputs={"out": big[::-1]}, inputs={"x": big})
    result = RunResult("r2", wf, "completed", {"n": nr}, started_at=1.7e9)
    path = write_trace(result, LIB, tmp_path)
    side = sorted(p.name for p in (tmp_path / path.name.replace(".ipynb", ".outputs")).iterdir())
    assert side == ["n.out.json", "n.x.json"]
    assert path.stat().st_size < 20_000
    nb = nbformat.read(path, as_version=4)
    shown = nb.cells[1].outputs[0].data["application/json"]["out"]
    assert shown.startswith("<array of 16,384 items") and "n.out.json" in shown
    ns = run_cells(path)
    assert ns["n"]["out"] == big and ns["CALLS"] == [1]


def test_secret_ports_and_keys_are_never_written(tmp_path):
    skill = parse_skill(ECHO_SECRET)
    assert skill.input_ports["token"].secret
    lib = SkillLibrary(volumes=[], skills=[skill])
    key = "sk-ant-api03-" + "Zz9" * 12
    wf = Workflow(id="sec")
    wf.add_node("echo-secret", id="s", params={"token": "hunter2-password-value", "x": key})
    nr = NodeResult("s", "echo-secret", "completed",
                    outputs={"out": f"echo {key} and hunter2-password-value"},
                    inputs={"token": "hunter2-password-value", "x": key},
                    log=f"printed {key}")
    result = RunResult("r3", wf, "completed", {"s": nr}, started_at=1.7e9,
                       overrides={"s": {"token": "hunter2-password-value"}})
    raw = write_trace(result, lib, tmp_path).read_text(encoding="utf-8")
    text = json.dumps(json.loads(raw), ensure_ascii=False)
    assert "hunter2-password-value" not in text and key not in text
    assert "●●●" in text and "[REDACTED]" in text


ECHO_SECRET = """---
skill_id: echo-secret
version: '1.0'
inputs: [{name: token, type: string, secret: true}, {name: x, type: any, required: false}]
outputs: [{name: out, type: any}]
---

# echo-secret

```python
def execute(inputs):
    return {"out": inputs.get("x")}
```
"""


def test_non_finite_and_huge_values_round_trip(tmp_path):
    vals = {"nan": float("nan"), "inf": float("-inf"), "huge": 10**5000, "t": (1, "a")}
    wf = Workflow(id="vals")
    nr = NodeResult("v", "echo", "completed", outputs={"out": 1}, inputs={"x": vals})
    result = RunResult("r4", wf, "completed", {"v": nr}, started_at=1.7e9)
    path = write_trace(result, LIB, tmp_path)
    json.loads(path.read_text(encoding="utf-8"), parse_constant=pytest.fail)  # no NaN tokens
    ns = run_cells(path)
    x = ns["v"]["out"]
    assert math.isnan(x["nan"]) and x["inf"] == float("-inf") and x["huge"] == 10**5000
    assert x["t"] == (1, "a")


NASTY = parse_skill("""---
skill_id: nasty-echo
version: '1.0'
description: "<img src=x onerror=alert(1)> [x](javascript:alert(1))"
inputs: [{name: text, type: string}, {name: data, type: array, default: []}]
outputs: [{name: text, type: string}, {name: n, type: integer}]
---

# nasty-echo

```python
def execute(inputs):
    return {"text": inputs["text"], "n": len(inputs["data"])}
```
""")


@pytest.mark.slow
def test_a_nasty_valid_workflow_reexecutes_in_a_kernel(tmp_path):
    """Valid ids, hostile values: the trace re-runs in a real kernel, reproduces the
    outputs, and no payload runs (each would create the file ``pwned``)."""
    from nbclient import NotebookClient

    from llmos_jupyter import Engine

    payload = "x'); open('pwned', 'w'); ('\n\"\"\"; open('pwned', 'w'); #\r<script>alert(1)</script>"
    lib = SkillLibrary(volumes=[], skills=[NASTY])
    wf = Workflow(id="nasty", name="<b onmouseover=alert(1)>Nasty</b>\n# injected heading")
    wf.add_node("nasty-echo", id="a", params={"text": payload, "data": list(range(VALUE_CAP))})
    wf.add_node("nasty-echo", id="b_2", params={"data": [payload]})
    wf.connect("a", "text", "b_2", "text")
    r = Engine(lib, max_workers=1, trace_dir=tmp_path).run(wf)
    assert r.status == "completed"
    nb = nbformat.read(r.trace, as_version=4)
    assert "<b" not in nb.cells[0].source and "\n# injected" not in nb.cells[0].source
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert not (tmp_path / "pwned").exists()
    results = [next(o for o in c.outputs if o.output_type == "execute_result")
               for c in nb.cells if c.cell_type == "code"]
    assert [ast_eval(o.data["text/plain"]) for o in results] == [
        {"text": payload, "n": VALUE_CAP}, {"text": payload, "n": 1}]


def ast_eval(text):
    import ast

    return ast.literal_eval(text)


@given(st.floats(min_value=-2e9, max_value=4e9))
def test_start_times_read_as_datetime_writes_them(t):
    import datetime as dt

    from llmos_jupyter._trace.notebook import _iso

    assert _iso(t) == dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds")
