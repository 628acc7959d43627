"""The Canvas widget's live node logs (``logs`` trait): node_log events of the
processes executor reach it while the node runs; a finished node's whole log replaces
them; a new run of a node starts its log afresh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("anywidget")
canvas_mod = pytest.importorskip("llmos_jupyter._widget.canvas")
if not canvas_mod.ESM.is_file():
    pytest.skip(f"front-end not built ({canvas_mod.ESM}); cd labextension && npm ci && npm run build",
                allow_module_level=True)

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._engine.events import Event
from llmos_jupyter._skills.parser import parse_skill
from llmos_jupyter._widget.canvas import Canvas

# Prints a line, then waits until the test creates `gate` (so the test sees the line while
# the node is still running, whatever the machine's speed), then prints another.
GATED = """---
skill_id: gated-printer
description: Prints, waits for a file, prints again.
inputs:
  - {name: gate, type: string}
outputs:
  - {name: ok, type: boolean}
---

```python
import os
import sys
import time


def execute(inputs):
    print("first <b>line</b>", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(inputs["gate"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    print("second line", file=sys.stderr, flush=True)
    return {"ok": os.path.exists(inputs["gate"])}
```
"""


def _wait(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _lines(canvas, node):
    return (canvas.logs.get(node) or {}).get("lines", [])


def test_live_log_on_the_processes_executor(llmos_home, tmp_path: Path):
    lib = SkillLibrary(volumes=[], skills=[parse_skill(GATED)])
    engine = Engine(lib, trace=False, executor="processes", max_workers=1)
    gate = tmp_path / "gate"
    wf = Workflow(id="logs")
    wf.add_node("gated-printer", id="p", params={"gate": str(gate)})
    canvas = Canvas(wf, engine=engine)
    try:
        handle = canvas.run()
        assert handle is not None, canvas.message
        assert _wait(lambda: "first <b>line</b>" in _lines(canvas, "p")), canvas.logs
        # Live: the node is still running (it waits for the gate).
        assert canvas.statuses["p"]["status"] == "running"
        assert "second line" not in _lines(canvas, "p")
        gate.touch()
        result = handle.result(60)
        assert result["p"].outputs == {"ok": True}
        assert _wait(lambda: not canvas.running)
        log = canvas.logs["p"]
        assert log["lines"] == ["first <b>line</b>", "second line"]
        assert log["total"] == 2 and log["open"] is False
    finally:
        canvas.close()
        engine.close()


def test_events_append_and_a_new_run_starts_afresh(toy_library):
    wf = Workflow(id="toy")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    engine = Engine(toy_library, trace=False, max_workers=1)
    c = Canvas(wf, library=toy_library, engine=engine)
    try:
        c._run_id = "r1"
        c._on_event(Event("node_log", "r1", "a", "add", "running", text="step 1\nste"))
        c._on_event(Event("node_log", "r1", "a", "add", "running", text="p 2\n"))
        c._on_event(Event("node_log", "r1", "ghost", "add", "running", text="x\n"))
        c._flush_logs()
        assert c.logs["a"] == {"lines": ["step 1", "step 2"], "open": False, "total": 2}
        assert "ghost" not in c.logs  # not a node of this canvas
        c._on_event(Event("run_started", "r1", nodes=("a",)))
        c._flush_logs()
        assert "a" not in c.logs
        c.set_workflow(wf)
        assert c.logs == {}
    finally:
        c.close()
