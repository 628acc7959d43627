"""``%agents run`` in a real ipykernel, driven over ZeroMQ as JupyterLab drives it: the cell
returns while the system still runs (a task on the kernel's asyncio loop), the live
``AgentsView`` widget gets the run's state, and an approval widget the system shows gets
its decision as a comm message while the system runs; ``await handle`` in a later cell
gives the outcome; ``%agents stop`` cancels a run.
"""

from __future__ import annotations

import json
import os
import queue
import time

import pytest
from approval_systems import approval_system
from kernel_client import kernel_client

pytest.importorskip("anywidget")
pytest.importorskip("jupyter_client")

from llmos_jupyter._widget import agents as agents_widget  # noqa: E402

pytestmark = pytest.mark.skipif(not agents_widget.ESM.is_file(),
                                reason=f"{agents_widget.ESM} not built (cd labextension && npm run build)")

TIMEOUT = 60


@pytest.fixture
def kernel(llmos_home):
    with kernel_client("python3", llmos_home, TIMEOUT) as kc:
        yield kc


def _messages(kc, until, timeout=TIMEOUT):
    """IOPub messages (in order) until ``until(msg)`` is true; fails on a cell error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["msg_type"] == "error":
            pytest.fail(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        yield msg
        if until(msg):
            return
    pytest.fail("the kernel did not answer in time")


def _idle(cell):
    return lambda m: (m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                      and m["parent_header"].get("msg_id") == cell)


def test_the_cell_returns_at_once_and_an_approval_arrives_while_the_system_runs(
        kernel, tmp_path):
    kc = kernel
    system = tmp_path / "approve.toml"
    system.write_text(approval_system("approve-by-magic", tmp_path / "out",
                                      [("hello.py", "print('hello')\n")]))
    cell = kc.execute(f"%load_ext llmos_jupyter\nh = %agents run {system}\nprint('CELL DONE')")
    states: dict[str, dict] = {}  # comm id -> latest synced state
    approval = view = None
    order: list[str] = []
    for msg in _messages(kc, _idle(cell)):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open":
            states[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_msg" and content["comm_id"] in states:
            states[content["comm_id"]].update(content["data"].get("state", {}))
        elif kind == "display_data":
            model = content["data"].get("application/vnd.jupyter.widget-view+json", {}).get("model_id")
            st = states.get(model, {})
            if "graph" in st:
                view = model
                order.append("view")
            elif st.get("path") == "hello.py":
                approval = model
                order.append("approval")
        elif kind == "stream" and "CELL DONE" in content["text"]:
            order.append("cell done")
    # The view came first; the cell ended while the system waits for the person.
    assert view is not None and order[0] == "view" and "cell done" in order
    assert states[view]["name"] == "approve-by-magic" and states[view]["running"] is True
    assert {n["id"] for n in states[view]["graph"]["nodes"] if n["type"] == "actor"} == {
        "editor", "person"}
    assert not (tmp_path / "out" / "hello.py").exists()

    if approval is None:  # shown after the cell ended: still this cell's output
        for msg in _messages(kc, lambda m: m["msg_type"] == "display_data"):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "comm_open":
                states[content["comm_id"]] = dict(content["data"].get("state", {}))
            elif kind == "display_data":
                model = content["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
                assert states[model]["path"] == "hello.py"
                assert msg["parent_header"]["msg_id"] == cell
                approval = model
    assert states[approval]["status"] == "pending"
    # The click, as the front end sends it; the kernel is idle, the system still runs.
    kc.shell_channel.send(kc.session.msg("comm_msg", {
        "comm_id": approval,
        "data": {"method": "update", "buffer_paths": [],
                 "state": {"comment": "fine", "decision": "approve"}}}))
    summary = None
    for msg in _messages(kc, lambda m: m["msg_type"] == "stream"
                         and "approve-by-magic:" in m["content"]["text"]):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_msg" and content["comm_id"] in states:
            states[content["comm_id"]].update(content["data"].get("state", {}))
        if kind == "stream" and "approve-by-magic:" in content["text"]:
            summary = content["text"]
            # The summary goes to the cell that started the run.
            assert msg["parent_header"]["msg_id"] == cell
    assert summary is not None and "approve-by-magic: exited" in summary
    assert (tmp_path / "out" / "hello.py").read_text() == "print('hello')\n"
    assert states[view]["status"] == "exited" and states[view]["running"] is False
    assert [e["type"] for e in states[view]["log"]][:2] == ["start", "review_request"]

    cell2 = kc.execute("import json\no = await h\n"
                       "print('RESULT', json.dumps(o.result), h.result() is o)")
    out = ""
    for msg in _messages(kc, _idle(cell2)):
        if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == cell2:
            out += msg["content"]["text"]
    assert "RESULT" in out, out
    assert out.strip().endswith("True")
    result = json.loads(out.split("RESULT", 1)[1].rsplit(" ", 1)[0])
    assert result == {"written": ["hello.py"], "refused": []}


def test_agents_stop_cancels_a_background_run(kernel, tmp_path):
    kc = kernel
    ping_pong = os.path.join(os.path.dirname(__file__), "..", "..", "agents", "ping-pong.toml")
    cell = kc.execute("%load_ext llmos_jupyter\n"
                      f"h = %agents run {os.path.abspath(ping_pong)} --input '{{\"rounds\": 1000000000}}' --timeout 50")
    list(_messages(kc, _idle(cell)))
    # Messages flow after the cell ended (the view's live count, pushed as it runs).
    list(_messages(kc, lambda m: m["msg_type"] == "comm_msg"
                   and m["content"]["data"].get("state", {}).get("live", 0) >= 10))
    cell2 = kc.execute("%agents stop\no = await h\nprint('STATUS', o.status, len(o.messages) >= 10)")
    out = ""
    for msg in _messages(kc, _idle(cell2)):
        if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == cell2:
            out += msg["content"]["text"]
    assert "stopping ping-pong" in out and "STATUS interrupted True" in out, out
