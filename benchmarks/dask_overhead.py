"""Per-node overhead of the Dask executor against raw ``client.submit``: wall and CPU.

Run from the repository root (needs dask + distributed + psutil)::

    PYTHONPATH=. python benchmarks/dask_overhead.py [--noops 60] [--rounds 15] [--workers 2]

``scale.py --overhead-only`` gives the same wall-clock rows among others; this focuses on
them with more interleaved rounds and adds what survives a loaded machine better: the
**CPU time** per node of every process involved — this one (engine, client and, for a
LocalCluster, the scheduler) and each worker with its descendants (the warm node
processes) — read with psutil before and after each measurement. On a shared 2-core
machine under load the wall times of neighbouring rounds differ by 2-3×; the CPU seconds
a node costs do not depend on who else runs.

Rows, in each round in this order, on one LocalCluster (``threads_per_worker=1``):

* ours: ``Engine(executor=dask).run`` of ``--noops`` no-op nodes (``scale.py``'s ``noop``
  skill, caching off, no trace), ``max_parallel`` in flight;
* raw batches: ``client.gather`` of ``max_parallel`` ``client.submit(noop, i)`` at a time;
* raw lanes: ``max_parallel`` threads, each ``client.submit(noop, i).result()`` in turn
  (the engine's shape).

Printed: medians over rounds (ms per node), and the ratios ours / raw as the median of
the rounds' ratios, wall and CPU. Goal (issue 12): ours / raw batches ≤ 1.2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import psutil

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill
from llmos_jupyter._executors import make_executor

NOOP_MD = ("---\nskill_id: noop\nversion: '1'\ninputs: [{name: i, type: integer}]\n"
           "outputs: [{name: y, type: integer}]\n---\n\n# noop\n\n```python\n"
           "def execute(inputs):\n    return {'y': inputs['i']}\n```\n")


def noop(i: int) -> int:
    return i


def workflow(count: int, base: int) -> Workflow:
    wf = Workflow(id="noops")
    for i in range(count):
        wf.add_node("noop", id=f"noop{i}", params={"i": base + i})
    return wf


class CpuMeter:
    """CPU seconds (user + system) of this process and of each worker process tree."""

    def __init__(self, worker_pids: list[int]) -> None:
        self.me = psutil.Process()
        self.workers = [psutil.Process(p) for p in worker_pids]

    def read(self) -> float:
        total = sum(self.me.cpu_times()[:2])
        for w in self.workers:
            for proc in [w, *w.children(recursive=True)]:
                try:
                    t = proc.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    pass  # a node process replaced meanwhile: its time is lost to both sides
        return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noops", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    lib = SkillLibrary(volumes=[], skills=[parse_skill(NOOP_MD)])
    ex = make_executor("dask", workers=args.workers)
    client = ex.client  # type: ignore[attr-defined]
    engine = Engine(lib, trace=False, cache=False, executor=ex)
    m, width = args.noops, ex.max_parallel
    engine.run(workflow(8, 10**6))  # warm the worker runners
    client.gather([client.submit(noop, i, pure=False) for i in range(8)])
    meter = CpuMeter(list(client.run(os.getpid).values()))
    print(f"{m} no-op nodes, {width} in flight, {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    def ours(rep: int) -> None:
        result = engine.run(workflow(m, rep * m))
        if result.status != "completed":
            raise SystemExit(f"our run failed: {result.status}")

    def batches(rep: int) -> None:
        stamp = time.time_ns()
        for lo in range(0, m, width):
            client.gather([client.submit(noop, i, pure=False, key=f"noop-{i}-{stamp}")
                           for i in range(lo, min(m, lo + width))])

    def lanes(rep: int) -> None:
        stamp = time.time_ns()

        def lane(k: int) -> None:
            for i in range(k, m, width):
                client.submit(noop, i, pure=False, key=f"lane-{i}-{stamp}").result()

        with ThreadPoolExecutor(width) as pool:
            list(pool.map(lane, range(width)))

    rows = {"ours": ours, "raw batches": batches, "raw lanes": lanes}
    wall: dict[str, list[float]] = {k: [] for k in rows}
    cpu: dict[str, list[float]] = {k: [] for k in rows}
    for rep in range(args.rounds):
        for name, fn in rows.items():
            c0, t0 = meter.read(), time.perf_counter()
            fn(rep)
            wall[name].append((time.perf_counter() - t0) / m * 1e3)
            cpu[name].append((meter.read() - c0) / m * 1e3)

    def ratio(series: dict[str, list[float]], base: str) -> str:
        rs = [a / b for a, b in zip(series["ours"], series[base], strict=True)]
        return f"{statistics.median(rs):.2f} (rounds {min(rs):.2f}-{max(rs):.2f})"

    print(f"{'':14}{'wall ms/node':>14}{'CPU ms/node':>14}   (medians; ranges)")
    for name in rows:
        print(f"{name:14}{statistics.median(wall[name]):14.2f}{statistics.median(cpu[name]):14.2f}"
              f"   wall {min(wall[name]):.2f}-{max(wall[name]):.2f}, "
              f"CPU {min(cpu[name]):.2f}-{max(cpu[name]):.2f}")
    print(f"ours / raw batches: wall {ratio(wall, 'raw batches')}, CPU "
          f"{ratio(cpu, 'raw batches')}  (goal ≤ 1.2)")
    print(f"ours / raw lanes:   wall {ratio(wall, 'raw lanes')}, CPU {ratio(cpu, 'raw lanes')}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    ex.close()


if __name__ == "__main__":  # LocalCluster's worker processes re-import this module
    main()
