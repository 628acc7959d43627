"""The processes executor: each node a child process of a warm local worker."""

from __future__ import annotations

import os
import threading
import time

import pytest
from _executors.executor_skills import CPU, FAIL, NEEDS, SECRET, SPIN, expected

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._executors import ExecutorUnavailable, make_executor
from llmos_jupyter._isolation import NodeCancelled, NodeTimedOut, SkillRaised


@pytest.fixture(scope="module")
def ex():
    with make_executor("processes", workers=2) as executor:
        yield executor


def _run(ex, skill, inputs, *, trusted=True, timeout=None, cancel=None, key="r/n/k"):
    return ex.run_node(skill, inputs, trusted=trusted, limits=None, timeout=timeout,
                       cancel=cancel or threading.Event(), key=key)


def test_make_executor_names():
    with pytest.raises(ValueError, match="unknown executor 'gpu'.*threads, processes, dask"):
        make_executor("gpu")
    with pytest.raises(ValueError, match="scheduler address only applies to the dask"):
        make_executor("processes", scheduler="tcp://x:1")
    with pytest.raises(ValueError, match="workers=0"):
        make_executor("processes", workers=0)
    assert make_executor("processes", workers=3).max_parallel == 3


def test_pyodide_refuses_processes(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(ExecutorUnavailable, match="browser"):
        make_executor("processes")


def test_four_cpu_nodes_match_in_process_results(tmp_path):
    wf = Workflow(id="four")
    for i in range(4):
        wf.add_node("cpu", id=f"c{i}", params={"n": 200_000 + i})
    lib = SkillLibrary(volumes=[], skills=[CPU])
    in_process = Engine(lib, trace=False, cache=False).run(wf)
    engine = Engine(lib, trace=False, cache=False, executor="processes", max_workers=2)
    try:
        remote = engine.run(wf)
    finally:
        engine.close()
    assert remote.status == "completed", {n: r.error for n, r in remote.nodes.items()}
    for i in range(4):
        assert remote[f"c{i}"].outputs["s"] == in_process[f"c{i}"].outputs["s"] == \
            expected(200_000 + i)
        assert remote[f"c{i}"].outputs["pid"] != os.getpid()  # ran in a child process
        assert remote[f"c{i}"].log == f"cpu done {expected(200_000 + i)}\n"  # its own log
    # Two at a time in warm node processes (kept between nodes: no fork per node).
    assert 2 <= len({remote[f"c{i}"].outputs["pid"] for i in range(4)}) <= 4


def test_cpu_nodes_run_in_parallel(ex):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores")
    t0 = time.perf_counter()
    one = _run(ex, CPU, {"n": 1_500_000})
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    threads = [threading.Thread(target=_run, args=(ex, CPU, {"n": 1_500_000})) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = time.perf_counter() - t0
    assert one.outputs["s"] == expected(1_500_000)
    assert both < 1.8 * single, (both, single)  # under one GIL it would be ~2x


def test_spinning_node_is_killed_at_its_timeout(ex, tmp_path):
    pidfile = tmp_path / "pid"
    t0 = time.perf_counter()
    with pytest.raises(NodeTimedOut, match="timed out after 2 s"):
        _run(ex, SPIN, {"pidfile": str(pidfile)}, timeout=2)
    assert time.perf_counter() - t0 < 3.0
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


def test_raising_node_fails_with_the_skills_own_message(ex):
    with pytest.raises(SkillRaised) as info:
        _run(ex, FAIL, {"x": 3})
    assert info.value.reason == "ValueError: cannot use x = 3"
    assert "about to fail" in info.value.log
    assert "line" in info.value.traceback


def test_raising_node_fails_alone_in_a_run():
    wf = Workflow(id="branches")
    wf.add_node("fail", id="bad", params={"x": 3})
    wf.add_node("cpu", id="good", params={"n": 1000})
    lib = SkillLibrary(volumes=[], skills=[CPU, FAIL])
    engine = Engine(lib, trace=False, executor="processes", max_workers=2)
    try:
        r = engine.run(wf)
    finally:
        engine.close()
    assert r["bad"].status == "failed" and r["bad"].error == "ValueError: cannot use x = 3"
    assert r["good"].status == "completed" and r["good"].outputs["s"] == expected(1000)


@pytest.mark.parametrize("trusted", [True, False])
def test_cancel_kills_a_running_node(ex, tmp_path, trusted):
    pidfile = tmp_path / "pid"
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    t0 = time.perf_counter()
    with pytest.raises(NodeCancelled):
        # An untrusted node cannot write the pidfile (its file system is the sandbox's).
        _run(ex, SPIN, {"pidfile": str(pidfile) if trusted else None}, trusted=trusted,
             cancel=cancel)
    assert time.perf_counter() - t0 < 1.5
    if trusted:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pidfile.read_text()), 0)


def test_untrusted_node_cannot_read_an_env_secret(ex, monkeypatch):
    monkeypatch.setenv("LLMOS_TEST_SECRET", "s3cret")
    # The trusted worker was started before the variable: a new executor sees it.
    with make_executor("processes", workers=1) as fresh:
        assert _run(fresh, SECRET, {}, trusted=True).outputs == {"value": "s3cret"}
        assert _run(fresh, SECRET, {}, trusted=False).outputs == {"value": None}


def test_missing_requirement_is_named(ex):
    from llmos_jupyter._exceptions import RequirementMissing

    with pytest.raises(RequirementMissing, match="no_such_package_llmos_xyz"):
        _run(ex, NEEDS, {})


def test_trusted_worker_learns_the_imports_of_its_nodes():
    from toy_skills import skill_md

    from llmos_jupyter import parse_skill
    from llmos_jupyter._isolation import IsolatedRunner

    probe = parse_skill(skill_md("probe", """
        import sys

        def execute(inputs):
            had = "xml.dom.minidom" in sys.modules
            import xml.dom.minidom  # noqa: F401
            return {"had": had}
        """, outputs="[{name: had, type: boolean}]"))
    for trusted, second in ((True, True), (False, False)):
        with IsolatedRunner(trusted=trusted) as runner:
            assert runner.run(probe, {}).outputs == {"had": False}
            # Trusted: the zygote imported it after the first node; untrusted: never.
            assert runner.run(probe, {}).outputs == {"had": second}
