"""``llmos serve`` as a real process: uvicorn on a free port, a webhook POST over TCP
becomes a traced run holding the posted value, and SIGTERM / SIGINT stop the server
cleanly (exit 0, the "stopping" line, the port released).

The in-process tests (test_server.py) drive the Starlette app through TestClient; these
cover what only a real process has: the CLI wiring, uvicorn's socket and its signal
handlers. Every wait is bounded and the process group is killed in ``finally``."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("croniter")
pytest.importorskip("watchfiles")

from _triggers.helpers import ECHO, workflow
from llmos_process import free_port, kill_group, listening, start_llmos, wait_listening

from llmos_jupyter._trace.record import read_run_records

START_S = 60  # an upper bound for a cold interpreter + imports on a loaded 2-core box
RUN_S = 60


def post(url: str, body: object, timeout: float) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:  # noqa: S310 - localhost
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            return exc.code, json.loads(text)
        except ValueError:  # Starlette's 404/405 are plain text
            return exc.code, {"text": text.decode("utf-8", "replace")}


@pytest.fixture
def served(tmp_path, llmos_home):
    """LLMOS_HOME with the echo skill, and a workflow with one webhook trigger."""
    skills = llmos_home / "user" / "skills"
    skills.mkdir(parents=True)
    (skills / "echo.md").write_text(ECHO, encoding="utf-8")
    wf = workflow(tmp_path, [{"type": "webhook", "path": "/hooks/echo", "input": "n.value"}])
    return llmos_home, wf


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_webhook_post_to_a_real_server_is_a_traced_run_and_signals_stop_it(
        served, tmp_path, stop_signal):
    home, wf = served
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start_llmos(["serve", str(wf), "--port", str(port)], home, log)
    try:
        wait_listening(proc, port, log, START_S)
        body = {"order": 4711, "note": f"posted-{stop_signal.name}"}
        code, reply = post(f"http://127.0.0.1:{port}/hooks/echo?wait=1", body, RUN_S)
        assert code == 200, reply
        assert reply["status"] == "completed" and reply["error"] is None, reply
        trace = Path(reply["trace"])
        assert trace.is_file() and trace.is_relative_to(home / "user" / "traces")
        # A queued (202) POST goes through the same worker: a second run, its own trace.
        code, queued = post(f"http://127.0.0.1:{port}/hooks/echo", [1, 2], RUN_S)
        assert code == 202 and queued["status"] == "queued"
        # A wrong path is not a trigger.
        code, _ = post(f"http://127.0.0.1:{port}/hooks/nope", {}, RUN_S)
        assert code == 404
        deadline = time.monotonic() + RUN_S
        while queued["run_id"] not in {r.run_id for r in read_run_records(trace.parent)}:
            assert time.monotonic() < deadline, "the queued run left no trace"
            time.sleep(0.2)

        proc.send_signal(stop_signal)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        kill_group(proc)
    err = log.read_text()
    assert "stopping (after the runs in progress)" in err, err
    assert "Traceback" not in err, err
    assert not listening(port)

    records = {r.run_id: r for r in read_run_records(trace.parent)}
    run = records[reply["run_id"]]
    assert run.status == "completed" and run.path == str(trace)
    assert run.overrides == {"n": {"value": body}}
    # The node's cell in the trace notebook holds its outputs: the posted value itself.
    nb = json.loads(trace.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"]
                if c.get("metadata", {}).get("llmos", {}).get("node") == "n")
    assert cell["outputs"][0]["data"]["application/json"] == {"value": body}
    assert records[queued["run_id"]].status == "completed"


def test_sigterm_stops_a_server_without_webhooks(served, tmp_path):
    """Only a file trigger: no uvicorn, the main thread waits; SIGTERM ends it with 0 too
    (before, SIGTERM's default killed the process without stopping the workers)."""
    home, _ = served
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wf = workflow(tmp_path, [{"type": "file", "path": str(inbox), "input": "n.value"}],
                  wid="watched")
    log = tmp_path / "serve-files.log"
    proc = start_llmos(["serve", str(wf)], home, log)
    try:
        deadline = time.monotonic() + START_S
        while "llmos serve: 1 trigger(s)" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        kill_group(proc)
    assert "stopping (after the runs in progress)" in log.read_text()
