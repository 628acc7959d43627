"""Where a no-op node's time goes on the Dask executor (issue 12: per-node overhead).

Run from the repository root (needs dask + distributed; py-spy optional)::

    PYTHONPATH=. python benchmarks/dask_profile.py [--nodes 200] [--top 25] [--py-spy]

A LocalCluster of ``--workers`` (default 2) worker processes; a workflow of ``--nodes``
independent no-op nodes (``scale.py``'s ``noop`` skill), caching off, no trace; one warm-up
run, then:

1. the client process under ``cProfile`` for one run (every thread: the engine's node
   threads, where ``client.submit`` and the waits are, and the client's event loop,
   where the messages are packed), the top functions by own time and by cumulative time;
2. each worker's task thread under ``cProfile`` (a task enables a profiler in the
   worker's one executor thread; with ``threads_per_worker=1`` every node runs there):
   what ``run_node_task`` costs on the worker, node process hop included;
3. with ``--py-spy``, ``py-spy record`` of each worker process (all threads, the event
   loop included) during a second run, as the top own-time frames.

The overhead itself (against raw ``client.submit``) is ``scale.py --overhead-only``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill
from llmos_jupyter._executors import make_executor

NOOP_MD = ("---\nskill_id: noop\nversion: '1'\ninputs: [{name: i, type: integer}]\n"
           "outputs: [{name: y, type: integer}]\n---\n\n# noop\n\n```python\n"
           "def execute(inputs):\n    return {'y': inputs['i']}\n```\n")

def profile_start() -> int:
    """(A Dask task) enable a profiler in the worker's executor thread; it stays on."""
    from distributed import get_worker

    prof = cProfile.Profile()
    prof.enable()
    get_worker()._llmos_profile = prof  # this function arrives by value: no module globals
    return os.getpid()


def profile_stop(top: int) -> str:
    """(A Dask task) stop that profiler; its top functions as text."""
    from distributed import get_worker

    prof = get_worker()._llmos_profile
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumtime").print_stats(top)
    return out.getvalue()


def workflow(count: int, base: int) -> Workflow:
    wf = Workflow(id="noops")
    for i in range(count):
        wf.add_node("noop", id=f"noop{i}", params={"i": base + i})
    return wf


def run(engine: Engine, wf: Workflow) -> float:
    t0 = time.perf_counter()
    result = engine.run(wf)
    wall = time.perf_counter() - t0
    bad = [n for n, r in result.nodes.items() if r.status != "completed"]
    if bad:
        raise SystemExit(f"nodes failed: {bad[:3]}: {result[bad[0]].error}")
    return wall


def profile_all_threads(fn):
    """Run ``fn()`` with cProfile on in this thread and in every thread started meanwhile
    (``threading.setprofile`` hands new threads a profiler of their own)."""
    profs: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(*_):
        prof = cProfile.Profile()
        with lock:
            profs.append(prof)
        sys.setprofile(None)
        prof.enable()

    main = cProfile.Profile()
    threading.setprofile(start_in_thread)
    main.enable()
    try:
        fn()
    finally:
        main.disable()
        threading.setprofile(None)
    with lock:
        for prof in profs:
            prof.disable()
    return main, profs


def py_spy(pids: list[int], seconds: int, top: int) -> None:
    exe = shutil.which("py-spy")
    if exe is None:
        print("py-spy is not installed (pip install py-spy)")
        return
    outs = []
    procs = []
    for pid in pids:
        fd, path = tempfile.mkstemp(suffix=".txt")
        os.close(fd)
        outs.append(path)
        procs.append(subprocess.Popen([exe, "record", "--format", "raw", "-r", "200", "-d",
                                       str(seconds), "-p", str(pid), "-o", path, "--nonblocking"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs, outs


def summarize_raw(paths: list[str], top: int) -> None:
    """Own-time frames of py-spy's collapsed stacks (``frame;frame;... count``)."""
    own: dict[str, int] = {}
    total = 0
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    stack, _, count = line.rstrip().rpartition(" ")
                    if not stack:
                        continue
                    n = int(count)
                    total += n
                    leaf = stack.rsplit(";", 1)[-1]
                    own[leaf] = own.get(leaf, 0) + n
        except OSError:
            continue
    print(f"py-spy, workers, {total} samples, top own-time frames:")
    for leaf, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / max(total, 1):5.1f}%  {leaf}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--py-spy", action="store_true", help="also sample the workers")
    args = ap.parse_args()
    lib = SkillLibrary(volumes=[], skills=[parse_skill(NOOP_MD)])
    ex = make_executor("dask", workers=args.workers)
    engine = Engine(lib, trace=False, cache=False, executor=ex)
    client = ex.client  # type: ignore[attr-defined]
    print(f"{args.nodes} no-op nodes, {args.workers} workers, {os.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.2f}")
    run(engine, workflow(8, 10**6))  # warm the worker runners
    wall = run(engine, workflow(args.nodes, 0))
    print(f"unprofiled run: {wall / args.nodes * 1e3:.2f} ms/node")

    workers = list(client.scheduler_info()["workers"])
    for w in workers:
        client.submit(profile_start, pure=False, workers=[w], allow_other_workers=False).result()
    holder = {}

    def once() -> None:
        holder["wall"] = run(engine, workflow(args.nodes, 10**5))

    main_prof, profs = profile_all_threads(once)
    print(f"profiled run: {holder['wall'] / args.nodes * 1e3:.2f} ms/node (cProfile inflates)")
    stats = pstats.Stats(main_prof)
    for prof in profs:
        stats.add(prof)
    print("\n=== client process, all threads, by own time ===")
    stats.sort_stats("tottime").print_stats(args.top)
    print("=== client process, all threads, by cumulative time ===")
    stats.sort_stats("cumtime").print_stats(args.top)
    for w in workers:
        text = client.submit(profile_stop, args.top, pure=False, workers=[w],
                             allow_other_workers=False).result()
        print(f"\n=== worker {w}, task thread ===\n{text}")

    if args.py_spy:
        pids = list(client.run(os.getpid).values())
        seconds = max(3, int(wall * 1.5) + 2)
        started = py_spy(pids, seconds, args.top)
        if started:
            procs, outs = started
            time.sleep(1.0)
            end = time.monotonic() + seconds - 1.5
            while time.monotonic() < end:
                run(engine, workflow(args.nodes, 2 * 10**5 + int(time.time_ns() % 10**9)))
            for p in procs:
                p.wait()
            summarize_raw(outs, args.top)
    ex.close()


if __name__ == "__main__":  # LocalCluster's worker processes re-import this module
    main()
