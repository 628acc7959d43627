"""``llmos serve``'s server: webhooks (signature, size, JSON, queue bound), file events,
schedules with a fixed clock, ``--once`` and ``--list``; every run traced."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

pytest.importorskip("croniter")
pytest.importorskip("watchfiles")
pytest.importorskip("starlette")

from _triggers.helpers import library, workflow
from starlette.testclient import TestClient

from llmos_jupyter._cli import main
from llmos_jupyter._engine.engine import Engine
from llmos_jupyter._trace.record import read_run_records
from llmos_jupyter._triggers.server import (
    SIGNATURE_HEADER,
    TriggerServer,
    last_runs,
    sign,
    trigger_of_run,
    verify_signature,
)

UTC = dt.UTC
WAIT = 30  # seconds: an upper bound for a run that normally takes milliseconds


@pytest.fixture
def traces(tmp_path):
    return tmp_path / "traces"


def make_server(tmp_path, traces, triggers, skill="echo", **kwargs):
    engine = Engine(library(), trace_dir=traces, max_workers=1)
    lines: list[str] = []
    server = TriggerServer.from_files([workflow(tmp_path, triggers, skill=skill)], engine,
                                      log=lines.append, **kwargs)
    server.lines = lines
    return server


HOOK = {"type": "webhook", "path": "/hooks/echo", "input": "n.value"}


def test_a_webhook_post_produces_a_traced_run_holding_the_posted_value(tmp_path, traces):
    server = make_server(tmp_path, traces, [HOOK])
    server.start()
    try:
        client = TestClient(server.app())
        body = {"order": 17, "items": ["a", "b"]}
        reply = client.post("/hooks/echo", json=body)
        assert reply.status_code == 202
        run_id = reply.json()["run_id"]
        assert reply.json()["status"] == "queued" and trigger_of_run(run_id) == ("webhook", 0)
        result = server.wait_jobs(1, WAIT)[0].future.result(WAIT)
        assert result.status == "completed"
        assert result.nodes["n"].outputs == {"value": body}
        # ?wait=1: the reply comes when the run is over.
        reply = client.post("/hooks/echo?wait=1", json=[1, 2])
        assert reply.status_code == 200
        assert reply.json()["status"] == "completed" and reply.json()["error"] is None
    finally:
        server.stop()
    # Trace files sort by start second, then run id: find the run by its id.
    records = {r.run_id: r for r in read_run_records(traces)}
    assert len(records) == 2
    assert records[run_id].path == result.trace
    assert records[run_id].overrides == {"n": {"value": body}}
    assert records[run_id].status == "completed"


def test_signatures_are_required_when_secret_env_is_set(tmp_path, traces, monkeypatch):
    server = make_server(tmp_path, traces, [{**HOOK, "secret_env": "TEST_HOOK_SECRET"}])
    client = TestClient(server.app())
    body = json.dumps({"x": 1}).encode()
    # The secret is not configured: nothing is accepted.
    assert client.post("/hooks/echo", content=body).status_code == 503
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret-for-tests")
    good = sign("s3cret-for-tests", body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert client.post("/hooks/echo", content=body).status_code == 401
    assert client.post("/hooks/echo", content=body,
                       headers={SIGNATURE_HEADER: sign("another", body)}).status_code == 401
    # The signature covers the raw body: one changed byte and it no longer matches.
    assert client.post("/hooks/echo", content=body.replace(b"1", b"2"),
                       headers={SIGNATURE_HEADER: good}).status_code == 401
    assert client.post("/hooks/echo", content=body, headers={SIGNATURE_HEADER: good}).status_code == 202
    assert not any("s3cret" in line for line in server.lines)
    assert verify_signature("k", b"", sign("k", b"")) and not verify_signature("k", b"", "md5=00")


def test_oversize_non_json_ill_typed_and_wrong_method_are_refused(tmp_path, traces):
    server = make_server(tmp_path, traces, [HOOK], max_body=64)
    client = TestClient(server.app())
    assert client.post("/hooks/echo", content=b'"' + b"x" * 100 + b'"').status_code == 413
    assert client.post("/hooks/echo", content=b"x" * 65,
                       headers={"content-length": "10"}).status_code in (400, 413)
    assert client.post("/hooks/echo", content=b"{not json").status_code == 400
    assert client.post("/hooks/echo", content=b"NaN").status_code == 400
    assert client.get("/hooks/echo").status_code == 405
    assert client.post("/hooks/other", json=1).status_code == 404
    assert server.jobs == type(server.jobs)()  # nothing was queued


def test_a_value_the_input_port_refuses_gets_422_before_queueing(tmp_path, traces):
    # read-text's scale is a number: a string body is refused up front.
    engine = Engine(library(), trace_dir=traces)
    path = workflow(tmp_path, [{"type": "webhook", "path": "/h", "input": "n.path"},
                               {"type": "webhook", "path": "/s", "input": "n.scale"}],
                    skill="read-text")
    wf = json.loads(path.read_text())
    wf["nodes"][0]["data"]["params"] = {"path": str(path)}
    path.write_text(json.dumps(wf))
    server = TriggerServer.from_files([path], engine)
    client = TestClient(server.app())
    reply = client.post("/s", json="three")
    assert reply.status_code == 422 and reply.json()["error"].startswith("n.scale:")
    assert client.post("/h", json=3).status_code == 422
    assert client.post("/s", json=3).status_code == 202


def test_a_full_queue_answers_429_and_drains_in_order_once_started(tmp_path, traces):
    server = make_server(tmp_path, traces, [HOOK], max_queue=2)
    client = TestClient(server.app())  # workers not started yet: runs stay queued
    assert [client.post("/hooks/echo", json=i).status_code for i in range(3)] == [202, 202, 429]
    assert any("2 runs already queued" in line for line in server.lines)
    server.start()
    try:
        jobs = server.wait_jobs(2, WAIT)
        outputs = [j.future.result(WAIT).nodes["n"].outputs["value"] for j in jobs]
    finally:
        server.stop()
    assert outputs == [0, 1]


def test_a_failing_run_leaves_the_server_running(tmp_path, traces):
    server = make_server(tmp_path, traces, [HOOK, {"type": "webhook", "path": "/hooks/bad",
                                                   "input": "n.value"}])
    server.start()
    try:
        client = TestClient(server.app())
        failed = client.post("/hooks/echo?wait=1", json="boom").json()
        assert failed["status"] == "failed" and "asked to fail" in failed["error"]
        ok = client.post("/hooks/bad?wait=1", json="fine").json()
        assert ok["status"] == "completed"
    finally:
        server.stop()
    statuses = {r.run_id: r.status for r in read_run_records(traces)}
    assert statuses == {failed["run_id"]: "failed", ok["run_id"]: "completed"}
    assert any("failed (n: ValueError: asked to fail)" in line for line in server.lines)


def test_a_file_dropped_into_a_watched_folder_triggers_a_run(tmp_path, traces):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.txt").write_text("already here")  # present at start: not new
    server = make_server(tmp_path, traces, [{"type": "file", "path": "inbox", "pattern": "*.txt",
                                             "input": "n.path"}], skill="read-text")
    server.start_sources()
    try:
        assert server.watch_ready.wait(WAIT)
        (inbox / "skip.csv").write_text("not matching")
        (inbox / ".hidden.txt").write_text("hidden")
        (inbox / "new.txt").write_text("hello from a file")
        job = server.wait_jobs(1, WAIT)[0]
        result = job.future.result(WAIT)
    finally:
        server.stop()
    assert job.overrides == {"n.path": str(inbox / "new.txt")}
    assert result.status == "completed"
    assert result.nodes["n"].outputs == {"text": "hello from a file"}
    assert len(server.jobs) == 1
    assert result.trace is not None


def test_a_schedule_fires_when_the_clock_passes_its_time(tmp_path, traces):
    times = iter([dt.datetime(2026, 1, 1, 10, 2, tzinfo=UTC)])
    later = dt.datetime(2026, 1, 1, 10, 7, tzinfo=UTC)
    server = make_server(tmp_path, traces, [{"type": "schedule", "cron": "*/5 * * * *",
                                             "overrides": {"n.value": "tick"}}],
                         now=lambda: next(times, later))
    server.start_sources()
    try:
        job = server.wait_jobs(1, WAIT)[0]
        assert job.future.result(WAIT).nodes["n"].outputs == {"value": "tick"}
        assert "10:05 UTC" in job.detail
    finally:
        server.stop()
    assert len(server.jobs) == 1  # the next time, 10:10, is still ahead


def test_once_runs_pending_files_and_due_schedules_then_nothing(tmp_path, traces):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("b.txt", "a.txt"):
        (inbox / name).write_text(name.upper())
    clock = [dt.datetime(2026, 1, 1, 10, 2, tzinfo=UTC)]
    triggers = [{"type": "file", "path": "inbox", "pattern": "*.txt", "input": "n.path"},
                {"type": "schedule", "cron": "0 * * * *", "overrides": {"n.path": str(inbox / "a.txt")}}]

    def once():
        engine = Engine(library(), trace_dir=traces)
        path = workflow(tmp_path, triggers, skill="read-text")
        server = TriggerServer.from_files([path], engine, now=lambda: clock[0])
        return server, server.run_once(traces)

    server, code = once()
    assert code == 0
    assert [(j.trigger.type, j.detail) for j in server.jobs] == [
        ("file", ": a.txt"), ("file", ": b.txt"), ("schedule", ": due 2026-01-01 10:00 UTC")]
    # Runs are in the traces, so the same files and the same schedule time are done.
    server, code = once()
    assert code == 0 and len(server.jobs) == 0
    clock[0] = dt.datetime(2026, 1, 1, 11, 0, 30, tzinfo=UTC) + dt.timedelta(days=365)
    (inbox / "a.txt").unlink()  # the schedule's file is gone: its run fails
    server, code = once()
    assert code == 1 and [j.trigger.type for j in server.jobs] == ["schedule"]


def test_cli_list_and_once(tmp_path, capsys, llmos_home, monkeypatch):
    # Through `llmos serve`: the user volume holds the skills, traces go to LLMOS_HOME.
    skills = llmos_home / "user" / "skills"
    skills.mkdir(parents=True)
    from _triggers.helpers import ECHO, READ

    (skills / "echo.md").write_text(ECHO)
    (skills / "read-text.md").write_text(READ)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "one.txt").write_text("1")
    path = workflow(tmp_path, [{"type": "file", "path": "inbox", "input": "n.path"},
                               {"type": "webhook", "path": "/w", "input": "n.path"}],
                    skill="read-text")
    assert main(["serve", str(path), "--once"]) == 0
    assert main(["serve", str(path), "--list"]) == 0
    out = capsys.readouterr().out
    assert "[0] file" in out and "completed  file-0-" in out
    assert "[1] webhook POST /w -> n.path (unsigned)" in out and "(no runs yet)" in out
    served = TriggerServer.from_files([path], Engine(library()))
    assert [len(v) for v in last_runs(served.served[0], llmos_home / "user" / "traces").values()] == [1, 0]
    bad = workflow(tmp_path, [{"type": "file", "path": "inbox", "input": "n.nope"}],
                   wid="bad", skill="read-text")
    assert main(["serve", str(bad), "--once"]) == 2
    assert "triggers[0].input: 'n.nope'" in capsys.readouterr().err
    plain = workflow(tmp_path, [], wid="plain", skill="read-text")
    assert main(["serve", str(plain), "--once"]) == 2


def test_stop_returns_while_a_source_thread_waits(tmp_path, traces):
    server = make_server(tmp_path, traces, [{"type": "schedule", "cron": "0 0 1 1 *",
                                             "overrides": {"n.value": 1}}])
    server.start_sources()
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(WAIT)
    assert not stopper.is_alive()


def test_an_engine_that_records_triggers_gets_told_which_one_fired(tmp_path, traces):
    seen = []

    class RecordingEngine(Engine):
        def run(self, workflow, overrides=None, *, trigger=None, **kwargs):
            seen.append(trigger)
            return super().run(workflow, overrides, **kwargs)

    engine = RecordingEngine(library(), trace_dir=traces)
    server = TriggerServer.from_files([workflow(tmp_path, [HOOK])], engine)
    server.start()
    try:
        reply = TestClient(server.app()).post("/hooks/echo?wait=1", json=5)
    finally:
        server.stop()
    assert reply.json()["status"] == "completed"
    assert seen == [{"type": "webhook", "index": 0, "detail": "from testclient"}]


def test_stop_drops_runs_still_queued(tmp_path, traces):
    server = make_server(tmp_path, traces, [HOOK])
    client = TestClient(server.app())
    assert client.post("/hooks/echo", json=1).status_code == 202
    server.start()
    server.wait_jobs(1, WAIT)[0].future.result(WAIT)
    client.post("/hooks/echo", json=2)
    client.post("/hooks/echo", json=3)
    server.stop()
    # Each job either ran before the stop or was cancelled; none is left hanging.
    assert all(j.future.done() for j in server.jobs)
