"""The approval widget in a real Jupyter kernel, driven over ZeroMQ as JupyterLab drives it:
a cell awaits an actor system whose reviewer is a person; each proposed change appears
as a widget in that cell's output; the "front end" answers with the comm message a click
sends; the decisions reach the actor while the cell is still running.
"""

from __future__ import annotations

import json
import queue
import time

import pytest
from approval_systems import approval_system
from kernel_client import kernel_client

pytest.importorskip("anywidget")
pytest.importorskip("jupyter_client")

TIMEOUT = 60


def test_a_person_approves_and_requests_changes_through_widgets_in_the_running_cell(
        tmp_path, llmos_home):
    system = tmp_path / "approve.toml"
    system.write_text(approval_system("approve-in-notebook", tmp_path / "out", [
        ("hello.py", "print('<b>hello</b>')\n"), ("danger.py", "eval(input())\n")]))
    with kernel_client("python3", llmos_home, TIMEOUT) as kc:
        cell = kc.execute("from llmos_jupyter._actors.run import arun_file\n"
                          f"out = await arun_file({str(system)!r}, trace=False)\n"
                          "import json; print('RESULT', json.dumps(out.result))")
        answers = {"hello.py": ("approve", "fine"), "danger.py": ("request_changes", "no eval")}
        comms: dict[str, str] = {}  # comm id -> path
        shown: list[str] = []
        result = None
        deadline = time.monotonic() + TIMEOUT
        while result is None and time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "comm_open":
                state = content["data"].get("state", {})
                if state.get("path") in answers:
                    assert state["status"] == "pending" and state["reviewer"] == "person"
                    comms[content["comm_id"]] = state["path"]
            elif kind == "display_data":
                view = content["data"].get("application/vnd.jupyter.widget-view+json")
                if view and view["model_id"] in comms:
                    # Shown in the cell that runs the system, while it still runs.
                    assert msg["parent_header"]["msg_id"] == cell
                    path = comms[view["model_id"]]
                    shown.append(path)
                    decision, comment = answers[path]
                    kc.shell_channel.send(kc.session.msg("comm_msg", {
                        "comm_id": view["model_id"],
                        "data": {"method": "update", "buffer_paths": [],
                                 "state": {"comment": comment, "decision": decision}}}))
            elif kind == "stream" and "RESULT" in content["text"]:
                result = json.loads(content["text"].split("RESULT", 1)[1])
            elif kind == "error":
                pytest.fail(f"{content['ename']}: {content['evalue']}")
        assert sorted(shown) == ["danger.py", "hello.py"]
        assert result == {"written": ["hello.py"],
                          "refused": [{"path": "danger.py", "reason": "person: no eval"}]}
        assert (tmp_path / "out" / "hello.py").read_text() == "print('<b>hello</b>')\n"
        assert not (tmp_path / "out" / "danger.py").exists()
