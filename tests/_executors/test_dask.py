"""The dask executor against a LocalCluster and against a scheduler + worker started as
separate processes (which must outlive the executor). Skipped without ``distributed``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from _executors.executor_skills import CPU, FAIL, NEEDS, SECRET, SPIN, expected

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._executors import WorkerMissingPackage, make_executor
from llmos_jupyter._isolation import NodeCancelled, NodeTimedOut, SkillRaised


@pytest.fixture(scope="module")
def ex():
    # The workers inherit this process's environment when they start: a secret set now is
    # in every worker's environment, where an untrusted node must still not see it.
    saved = os.environ.get("LLMOS_TEST_SECRET")
    os.environ["LLMOS_TEST_SECRET"] = "worker-s3cret"
    try:
        executor = make_executor("dask", workers=2)
    finally:
        if saved is None:
            del os.environ["LLMOS_TEST_SECRET"]
        else:
            os.environ["LLMOS_TEST_SECRET"] = saved
    with executor:
        yield executor


def _run(ex, skill, inputs, *, trusted=True, timeout=None, cancel=None, key="r1/n/k",
         resources=None):
    return ex.run_node(skill, inputs, trusted=trusted, limits=None, timeout=timeout,
                       cancel=cancel or threading.Event(), key=key, resources=resources)


def test_local_cluster_shape(ex):
    assert ex.name == "dask" and ex.cluster is not None
    assert ex.max_parallel == 2
    assert len(ex.client.scheduler_info()["workers"]) == 2
    if ex.dashboard_link is not None:
        assert ex.dashboard_link.startswith("http")


def test_four_cpu_nodes_on_the_cluster_match_in_process(ex):
    wf = Workflow(id="four")
    for i in range(4):
        wf.add_node("cpu", id=f"c{i}", params={"n": 100_000 + i})
    lib = SkillLibrary(volumes=[], skills=[CPU])
    in_process = Engine(lib, trace=False, cache=False).run(wf)
    remote = Engine(lib, trace=False, cache=False, executor=ex).run(wf)
    assert remote.status == "completed", {n: r.error for n, r in remote.nodes.items()}
    for i in range(4):
        assert remote[f"c{i}"].outputs["s"] == in_process[f"c{i}"].outputs["s"] == \
            expected(100_000 + i)
        assert "cpu done" in (remote[f"c{i}"].log or "")
    worker_pids = set(ex.client.run(os.getpid).values())
    node_pids = {remote[f"c{i}"].outputs["pid"] for i in range(4)}
    assert not node_pids & (worker_pids | {os.getpid()})  # a child process of a worker


def test_raising_node_on_a_worker_has_the_skills_message(ex):
    with pytest.raises(SkillRaised) as info:
        _run(ex, FAIL, {"x": 3}, key="r2/bad/k")
    assert info.value.reason == "ValueError: cannot use x = 3"
    assert "about to fail" in info.value.log


def test_spinning_node_is_killed_at_its_timeout(ex):
    t0 = time.perf_counter()
    with pytest.raises(NodeTimedOut, match="timed out after 2 s"):
        _run(ex, SPIN, {}, timeout=2, key="r3/spin/k")
    assert time.perf_counter() - t0 < 3.0


def test_cancel_kills_the_node_on_the_worker(ex):
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    t0 = time.perf_counter()
    with pytest.raises(NodeCancelled):
        _run(ex, SPIN, {}, trusted=False, cancel=cancel, key="r4/spin/k")
    assert time.perf_counter() - t0 < 2.5
    # The worker is free again: the next node runs at once.
    assert _run(ex, CPU, {"n": 10}, key="r5/after/k").outputs["s"] == expected(10)


def test_untrusted_node_on_a_worker_gets_no_secret(ex):
    # Trusted nodes run with the worker's environment; untrusted ones in the sandbox.
    assert _run(ex, SECRET, {}, trusted=True, key="r6/t/k").outputs == {"value": "worker-s3cret"}
    assert _run(ex, SECRET, {}, trusted=False, key="r6/s/k").outputs == {"value": None}


def test_missing_package_on_the_worker_is_named(ex):
    with pytest.raises(WorkerMissingPackage, match="no_such_package_llmos_xyz"):
        _run(ex, NEEDS, {}, key="r7/needs/k")


def test_undeclared_resources_are_ignored(ex):
    assert ex.task_resources({"gpu": 1, "memory": "1GiB"}) is None
    assert _run(ex, CPU, {"n": 5}, resources={"gpu": 1}, key="r8/gpu/k").outputs["s"] == \
        expected(5)


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """``dask scheduler`` and one ``dask worker`` (declaring MEMORY and GPU) as separate
    processes, started with the ``dask`` command-line interface."""
    folder = tmp_path_factory.mktemp("dask")
    sched_file = folder / "scheduler.json"
    bindir = os.path.dirname(sys.executable)
    dask_cli = [sys.executable, "-m", "dask"]
    env = {**os.environ, "PATH": f"{bindir}:{os.environ.get('PATH', '')}"}
    procs = [subprocess.Popen([*dask_cli, "scheduler", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 30
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        import json

        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen(
            [*dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard",
             "--resources", "MEMORY=8e9,GPU=1"], cwd=folder, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout=30) as probe:
            probe.wait_for_workers(1, timeout=30)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_existing_cluster_is_used_and_left_running(external):
    executor = make_executor("dask", scheduler=external)
    try:
        assert executor.cluster is None and executor.address == external
        assert executor.task_resources({"memory": "1GiB", "gpu": 1}) == {"MEMORY": 2.0**30,
                                                                          "GPU": 1.0}
        assert executor.task_resources({"cpu": 2}) is None  # no worker declares CPU
        run = _run(executor, CPU, {"n": 1234}, resources={"memory": "1GiB"}, key="r9/x/k")
        assert run.outputs["s"] == expected(1234)
        with pytest.raises(SkillRaised, match=r"^ValueError: cannot use x = 1$"):
            _run(executor, FAIL, {"x": 1}, key="r9/y/k")
    finally:
        executor.close()
    with distributed.Client(external, timeout=10) as again:  # the scheduler still answers
        assert len(again.scheduler_info()["workers"]) == 1


def test_environment_variable_names_the_scheduler(external, monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", external)
    with make_executor("dask") as executor:
        assert executor.cluster is None and executor.address == external


def test_dask_missing_says_what_to_install(monkeypatch):
    from llmos_jupyter._executors import ExecutorUnavailable

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(ExecutorUnavailable, match=r'pip install "llmos-jupyter\[dask\]"'):
        make_executor("dask")


def test_config_toml_names_the_scheduler(external, llmos_home, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text(f'[dask]\nscheduler = "{external}"\n')
    with make_executor("dask") as executor:
        assert executor.cluster is None and executor.address == external


def test_workers_report_node_starts_live(ex, tmp_path):
    from _executors.executor_skills import TALK

    go = tmp_path / "go"
    seen = []

    def on_event(message):
        seen.append(message)
        if message.get("key") == "r10/live/k" and message["status"] == "started":
            go.touch()  # the node waits for this file: its start was reported while it ran

    ex.on_node_event = on_event
    try:
        run = _run(ex, TALK, {"go": str(go)}, key="r10/live/k")
    finally:
        ex.on_node_event = None
    assert run.outputs == {"seen": True}
    mine = [m for m in seen if m.get("key") == "r10/live/k"]
    assert mine[0]["status"] == "started"  # before its output too
    assert mine[0]["worker"] in ex.client.scheduler_info()["workers"]
    assert [m["status"] for m in mine].count("started") == 1


def test_a_short_node_sends_no_live_events(ex):
    # A node done within _STARTED_AFTER sends neither "started" nor its output (scheduler
    # messages less per node); the engine emits its node_started with the result, and the
    # result has the whole log.
    seen = []
    ex.on_node_event = seen.append
    try:
        run = _run(ex, CPU, {"n": 10}, key="r11/short/k")
        ex.client.run(lambda: None)  # a round trip to every worker: their events are out
    finally:
        ex.on_node_event = None
    assert run.outputs["s"] == expected(10) and "cpu done" in run.log
    assert not [m for m in seen if m.get("key") == "r11/short/k"]


def test_worker_lost_while_running_is_named():
    import dask
    from toy_skills import skill_md

    from llmos_jupyter import parse_skill
    from llmos_jupyter._executors import WorkerLost

    # The node kills the Dask worker process that runs it (its pid given as an input).
    killer = parse_skill(skill_md("killer", """
        import os
        import signal

        def execute(inputs):
            os.kill(inputs["pid"], signal.SIGKILL)
            return {}
        """, inputs="[{name: pid, type: integer}]"))
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = make_executor("dask", workers=1)
    try:
        (worker_pid,) = executor.client.run(os.getpid).values()
        with pytest.raises(WorkerLost, match="worker lost while running"):
            _run(executor, killer, {"pid": worker_pid}, key="r11/killer/k")
    finally:
        executor.close()


def test_raising_node_fails_alone_in_a_dask_run(ex):
    wf = Workflow(id="branches")
    wf.add_node("fail", id="bad", params={"x": 3})
    wf.add_node("cpu", id="good", params={"n": 1000})
    r = Engine(SkillLibrary(volumes=[], skills=[CPU, FAIL]), trace=False, executor=ex).run(wf)
    assert r["good"].status == "completed" and r["good"].outputs["s"] == expected(1000)
    assert r["bad"].status == "failed" and r["bad"].error == "ValueError: cannot use x = 3"
    assert "about to fail" in (r["bad"].log or "")


def test_a_lost_scheduler_fails_the_node_instead_of_hanging():
    from llmos_jupyter._executors import WorkerLost

    executor = make_executor("dask", workers=1)
    executor.disconnect_grace = 1.0
    try:
        threading.Timer(1.0, executor.cluster.close).start()
        t0 = time.perf_counter()
        with pytest.raises(WorkerLost, match="lost the connection to the Dask scheduler"):
            _run(executor, SPIN, {}, key="r12/spin/k")
        assert time.perf_counter() - t0 < 15
    finally:
        executor.close()


def _square():
    from toy_skills import skill_md

    from llmos_jupyter import parse_skill

    return parse_skill(skill_md("square", """
        def execute(inputs):
            return {"y": inputs["x"] * inputs["x"], "xs": [inputs["x"]] * 3}
        """, inputs="[{name: x, type: any}]",
        outputs="[{name: y, type: any}, {name: xs, type: any}]"))


def test_upstream_results_go_to_downstream_tasks_as_futures(ex, monkeypatch):
    # A stand-in for the engine: run a, then b wired from a.y (the engine's value is the
    # one a returned), c wired from a.y but with a value of another type (int vs float).
    square = _square()
    sent = []
    real_submit = ex.client.submit

    def spy(*args, **kwargs):
        sent.append(kwargs.get("upstream"))
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(ex.client, "submit", spy)
    a = ex.run_node(square, {"x": 3}, trusted=True, limits=None, timeout=None,
                    cancel=threading.Event(), key="rf/a/k1", wired={})
    assert a.outputs == {"y": 9, "xs": [3, 3, 3]}
    assert set(ex.held) == {("rf", "a")}  # the other tests pass no `wired`: nothing held
    b = ex.run_node(square, {"x": 9}, trusted=True, limits=None, timeout=None,
                    cancel=threading.Event(), key="rf/b/k2", wired={"x": ("a", "y")})
    assert b.outputs["y"] == 81
    (port, (future, src_port)), = sent[-1].items()
    assert (port, src_port) == ("x", "y") and future.key == ex.held[("rf", "a")].key
    c = ex.run_node(square, {"x": 9.0}, trusted=True, limits=None, timeout=None,
                    cancel=threading.Event(), key="rf/c/k3", wired={"x": ("a", "y")})
    assert c.outputs["y"] == 81.0 and isinstance(c.outputs["y"], float)
    assert sent[-1] is None  # not the same value: sent from here
    ex.release_run("rf")
    assert not ex.held


def test_worker_output_reaches_the_client_while_the_node_runs(ex, tmp_path):
    from _executors.executor_skills import TALK

    go = tmp_path / "go"
    live = []

    def on_event(message):
        if message.get("key") == "rl/talk/k" and message.get("status") == "log":
            live.append(message["text"])
            if "first" in message["text"]:
                go.touch()  # the node waits for this: the line came while it ran

    ex.on_node_event = on_event
    try:
        run = _run(ex, TALK, {"go": str(go)}, key="rl/talk/k")
    finally:
        ex.on_node_event = None
    assert run.outputs == {"seen": True} and run.log == "first\nsecond\n"
    assert live[0] == "first\n"


def test_skill_resources_and_node_timeout_on_an_external_cluster(external, monkeypatch):
    # A skill asking for a GPU runs on the worker that declares one (Dask resource "GPU");
    # the node's own timeout_s (data) beats the skill's and kills it there.
    from toy_skills import skill_md

    from llmos_jupyter import parse_skill

    gpu = parse_skill(skill_md("gpu-spin", """
        def execute(inputs):
            if inputs["spin"]:
                while True:
                    pass
            return {"ok": True}
        """, inputs="[{name: spin, type: boolean}]",
        outputs="[{name: ok, type: boolean, required: false}]",
        extra="resources: {gpu: 1, memory: 1GiB}\ntimeout_s: 30\n"))
    wf = Workflow(id="gpu")
    wf.add_node("gpu-spin", id="quick", params={"spin": False})
    wf.add_node("gpu-spin", id="stuck", params={"spin": True})
    wf.node("stuck").data_extra["timeout_s"] = 1
    with make_executor("dask", scheduler=external) as executor:
        asked = []
        real_submit = executor.client.submit

        def spy(*args, **kwargs):
            asked.append(kwargs.get("resources"))
            return real_submit(*args, **kwargs)

        monkeypatch.setattr(executor.client, "submit", spy)
        r = Engine(SkillLibrary(volumes=[], skills=[gpu]), trace=False, cache=False,
                   executor=executor).run(wf)
    assert r["quick"].outputs == {"ok": True}
    assert r["stuck"].status == "failed" and "timed out after 1 s" in r["stuck"].error
    assert asked == [{"GPU": 1.0, "MEMORY": 2.0**30}] * 2


def test_values_that_are_not_data_fail_the_node_naming_the_port(ex):
    from toy_skills import skill_md

    from llmos_jupyter import parse_skill
    from llmos_jupyter._executors import TransferError

    with pytest.raises(TransferError, match=r"cannot send to a Dask worker: .*'n'.*set"):
        _run(ex, CPU, {"n": {1, 2}}, key="rt/in/k")
    returns_set = parse_skill(skill_md("gives-set", """
        def execute(inputs):
            return {"s": {1, 2}}
        """, outputs="[{name: s, type: any}]"))
    with pytest.raises(SkillRaised, match=r"output 's'.*set is not data"):
        _run(ex, returns_set, {}, key="rt/out/k")


def test_workers_without_llmos_jupyter_get_no_task_and_the_node_says_so(tmp_path,
                                                                         monkeypatch):
    # What a cluster without llmos_jupyter looks like: the task's module does not import on
    # its workers (a task whose function cannot be unpickled would hang there). Stand-in:
    # the executor requires a module only this process can import.
    import importlib

    with make_executor("dask", workers=1) as executor:  # its workers start without the path
        (tmp_path / "llmos_only_here_xyz.py").write_text("")
        monkeypatch.syspath_prepend(str(tmp_path))
        importlib.import_module("llmos_only_here_xyz")
        executor.required_module = "llmos_only_here_xyz"
        with pytest.raises(WorkerMissingPackage, match="can import llmos_only_here_xyz: "
                                                       "install llmos_only_here_xyz") as info:
            _run(executor, CPU, {"n": 1}, key="rm/x/k")
        assert info.value.package == "llmos_only_here_xyz"


def test_bytes_tuples_and_tag_like_keys_cross_both_ways(ex):
    # Trusted nodes pass tagged JSON through the worker without decoding it: bytes (sent
    # as attachments by the node), tuples and a dict whose only key starts with "$" must
    # still come back as the values they were.
    from toy_skills import skill_md

    from llmos_jupyter import parse_skill

    echo = parse_skill(skill_md("echo", """
        def execute(inputs):
            return {"out": inputs["v"], "raw": b"\\x89PNG\\r\\n" + bytes(3), "pair": (1, 2.5)}
        """, inputs="[{name: v, type: any}]",
        outputs="[{name: out, type: any}, {name: raw, type: any}, {name: pair, type: any}]"))
    value = {"$tag": [1, {"$blob": 0}], "b": b"\x00\xff", "n": None, "f": 1.5}
    run = _run(ex, echo, {"v": value}, key="rb/echo/k")
    assert run.outputs == {"out": value, "raw": b"\x89PNG\r\n\x00\x00\x00", "pair": [1, 2.5]}
