"""javascript/threejs nodes of a Canvas: the kernel side of the browser-runtime protocol,
against a stand-in front-end in a test thread (the real one is tested in
tests/browser/test_canvas_runtimes.py and by vitest)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

pytest.importorskip("anywidget")
canvas_mod = pytest.importorskip("llmos_jupyter._widget.canvas")
if not canvas_mod.ESM.is_file():
    pytest.skip(f"front-end not built ({canvas_mod.ESM}); cd labextension && npm ci && npm run build",
                allow_module_level=True)

from llmos_jupyter import Engine, SkillLibrary, Workflow, validate
from llmos_jupyter._widget.browser_runtime import BrowserRunBlocked, BrowserRunner
from llmos_jupyter._widget.canvas import Canvas, preview


class FakeFrontend:
    """Receives the canvas' custom messages and answers ``execute`` requests from a thread,
    as the widget's front-end does; ``answer(msg)`` returns the reply fields (or None to
    stay silent)."""

    def __init__(self, canvas: Canvas, answer):
        self.canvas, self.answer = canvas, answer
        self.sent: list[dict] = []
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        canvas.send = self._receive  # what anywidget would deliver to the browser
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _receive(self, content, buffers=None):
        self.sent.append(content)
        self.inbox.put(content)

    def _loop(self):
        while True:
            msg = self.inbox.get()
            if msg.get("kind") != "execute":
                continue
            reply = self.answer(msg)
            if reply is not None:
                # What model.send({...}) from the page arrives as: a widget custom
                # message over the comm.
                content = {"action": "result", "request": msg["request"], **reply}
                self.canvas.comm.handle_msg({"content": {
                    "comm_id": self.canvas.comm.comm_id,
                    "data": {"method": "custom", "content": content}}, "buffers": []})


def moving_average(msg):
    xs, w = msg["inputs"]["values"], msg["inputs"]["window"]
    n = len(xs)
    mean = sum(xs) / n
    return {"outputs": {
        "smoothed": [sum(xs[i:i + w]) / w for i in range(n - w + 1)], "mean": mean,
        "std": (sum((x - mean) ** 2 for x in xs) / (n - 1)) ** 0.5, "min": min(xs), "max": max(xs),
        "rms": (sum(x * x for x in xs) / n) ** 0.5, "count": n}}


@pytest.fixture
def library(llmos_home):
    return SkillLibrary()  # the repository's skills: moving-average, data-analysis, circuit-rc


def rc_ma_stats() -> Workflow:
    wf = Workflow(id="browser")
    wf.add_node("circuit-rc", id="rc", params={"samples": 11})
    wf.add_node("moving-average", id="ma", params={"window": 3})
    wf.add_node("data-analysis", id="stats")
    wf.connect("rc", "voltage_data", "ma", "values")
    wf.connect("ma", "smoothed", "stats", "data")
    return wf


@pytest.fixture
def make_canvas(library):
    made = []

    def make(answer, **engine_kwargs):
        engine = Engine(library, trace=False, **engine_kwargs)
        c = Canvas(rc_ma_stats(), library=library, engine=engine)
        made.append(c)
        return c, FakeFrontend(c, answer)

    yield make
    for c in made:
        c.close()


def test_a_javascript_node_runs_in_the_frontend_between_python_nodes(make_canvas):
    c, fe = make_canvas(moving_average)
    assert c.errors == []  # the canvas accepts javascript nodes ...
    assert any(p.code == "unsupported-runtime" for p in validate(c.workflow_obj, c.library))  # ... run() does not
    c.run(wait=True)
    result = c.last_result
    assert result.status == "completed", result.nodes["ma"].error
    [msg] = [m for m in fe.sent if m.get("kind") == "execute"]
    assert msg["runtime"] == "javascript" and msg["skill"] == "moving-average"
    assert msg["source"] == "moving-average.md" and "function execute" in msg["code"]
    assert msg["code_line"] == c.library.get("moving-average").code_line
    assert msg["inputs"]["window"] == 3 and len(msg["inputs"]["values"]) == 11
    smoothed = result.outputs("ma")["smoothed"]
    assert len(smoothed) == 9
    assert result.outputs("stats")["count"] == 9
    assert result.outputs("stats")["mean"] == pytest.approx(sum(smoothed) / 9)
    assert c.statuses["ma"]["status"] == "completed"
    assert c.previews["ma"]["smoothed"]["kind"] == "array"
    # Re-running takes the node from the cache: no second request to the browser.
    c.run(wait=True)
    assert c.last_result.nodes["ma"].status == "cached"
    assert len([m for m in fe.sent if m.get("kind") == "execute"]) == 1


def test_a_javascript_error_fails_the_node_with_its_message_and_line(make_canvas):
    c, _ = make_canvas(lambda msg: {"error": "TypeError: values[1] must be a finite number",
                                    "line": 121, "stack": "at execute (moving-average.md:121:13)"})
    c.run(wait=True)
    ma = c.last_result.nodes["ma"]
    assert ma.status == "failed"
    assert ma.error == ("BrowserSkillError: TypeError: values[1] must be a finite number "
                        "(moving-average.md, line 121)")
    assert c.statuses["stats"]["status"] == "skipped"
    assert c.statuses["rc"]["status"] == "completed"


def test_outputs_from_the_browser_are_checked_against_the_ports(make_canvas):
    c, _ = make_canvas(lambda msg: {"outputs": {"smoothed": [1.0], "mean": "high"}})
    c.run(wait=True)
    assert "output 'mean'" in c.last_result.nodes["ma"].error


def test_timeout_terminates_the_worker(make_canvas):
    c, fe = make_canvas(lambda msg: None, node_timeout=0.3)
    t0 = time.perf_counter()
    c.run(wait=True)
    assert time.perf_counter() - t0 < 5
    ma = c.last_result.nodes["ma"]
    assert ma.status == "failed" and "did not finish within 0.3 s in the browser" in ma.error
    [cancel] = [m for m in fe.sent if m.get("kind") == "cancel"]
    assert cancel["reason"] == "timeout"
    assert c.browser_runner.pending == []
    # A late answer is dropped, not delivered to a later request.
    assert not c.browser_runner.answer({"request": cancel["request"], "outputs": {}})


def test_cancel_stops_a_running_browser_node(make_canvas):
    c, fe = make_canvas(lambda msg: None)
    handle = c.run()
    deadline = time.monotonic() + 20
    while not c.browser_runner.pending and time.monotonic() < deadline:
        time.sleep(0.02)
    assert c.browser_runner.pending, "the javascript node never started"
    c.cancel()
    result = handle.result(timeout=10)
    assert result.nodes["ma"].status == "failed" and "cancelled" in result.nodes["ma"].error
    assert result.nodes["stats"].status == "skipped"
    assert [m["reason"] for m in fe.sent if m.get("kind") == "cancel"] == ["cancel"]


def test_waiting_on_the_kernel_main_thread_is_refused(make_canvas, monkeypatch):
    c, _ = make_canvas(moving_average)
    monkeypatch.setattr(canvas_mod, "_on_kernel_main_thread", lambda: True)
    with pytest.raises(BrowserRunBlocked, match="'ma' run in the canvas front-end"):
        c.run(wait=True)
    assert c.run("rc", wait=True) is not None  # nothing browser-side upstream of rc: fine
    assert c.last_result.status == "completed"


def test_the_runner_refuses_python_skills(library):
    with pytest.raises(ValueError, match="runtime 'python'"):
        BrowserRunner(lambda m: None)(library.get("data-analysis"), {})


def test_scene_and_netlist_previews(library):
    three_json = {"metadata": {"version": 4.7, "type": "Object", "generator": "Object3D.toJSON"},
                  "geometries": [], "materials": [], "object": {"type": "Scene", "uuid": "u"}}
    assert preview(three_json) == {"kind": "scene", "format": "threejs-json", "scene": three_json}
    cube = library.get("threejs-cube").load_function()(
        {"size": 1, "color": "#4f8cc9", "rotation_x": 0, "rotation_y": 0, "rotation_z": 0})["scene"]
    assert preview(cube, "object")["format"] == "threejs-scene"
    huge = {**three_json, "object": {"type": "Scene", "pad": "x" * 4_100_000}}
    assert preview(huge)["kind"] == "other" and "too large" in preview(huge)["text"]
    net = library.get("circuit-rc").load_function()(
        {"resistance": 1000, "capacitance": 1e-6, "input_voltage": 5, "simulation_time": 0.005,
         "samples": 11, "use_ngspice": False})["netlist"]
    port = library.get("circuit-rc").output_ports["netlist"]
    pv = preview(net, port.type, value_format=port.extra["format"], name="netlist")
    assert pv == {"kind": "netlist", "text": net, "lines": 11, "truncated": False}
    assert ".tran 0.0005 0.005 uic" in pv["text"]
    assert preview("R1 a b 1k", "string", name="netlist")["kind"] == "netlist"
    assert preview("R1 a b 1k", "string", name="text")["kind"] == "text"
