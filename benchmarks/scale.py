"""Scale-out: N CPU-bound pure-Python nodes on threads, processes and Dask (issue 12).

Run from the repository root (needs dask + distributed: ``pip install -e ".[dask]"``)::

    PYTHONPATH=. python benchmarks/scale.py                  # 6 nodes of ~1.5 s, ~1-2 min
    PYTHONPATH=. python benchmarks/scale.py --nodes 8 --seconds 1 --noops 60

What is timed (wall clock, one workflow of N independent nodes, caching off, no trace):

* sequential   ``skill.load_function()(inputs)`` for each node in one thread: the baseline;
* threads      ``Engine(executor="threads")`` (the GIL serialises pure Python);
* processes    ``Engine(executor="processes")``: a fresh child process per node;
* dask +start  ``make_executor("dask")`` (LocalCluster, 1 thread per worker process)
               plus ``Engine(executor=that).run``: what ``llmos run --executor dask`` costs;
* dask         a second run on the same, warm cluster;
* raw submit   hand-written ``client.submit(cpu_work, n)`` of the same loop as a plain
               function on the same cluster, then ``gather``: what Dask alone costs.

Per-node overhead: M no-op nodes through our Dask path (engine → executor → worker → warm
node process) against M raw ``client.submit(noop)`` of a no-op function, and of a no-op
that forks one child and waits (what a fresh process per node would cost), with
``max_parallel`` in flight; (wall / M), in ``--overhead-repeats`` interleaved rounds on the
same cluster; the ratio ours / raw is the median of the rounds' ratios. Goal ≤ 1.2.

Upstream futures: a chain of ``--chain`` nodes, each passing ``--big-n`` integers to the
next, driven as the engine drives the Dask executor (``run_node(..., wired=...)``): the
upstream result reaches the next task as a future, worker to worker; against the same chain
with every value sent from the client.

Checks: a fully cached re-run submits 0 tasks; a spinning node with a 2 s timeout is killed
within 3 s on processes and on Dask.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill
from llmos_jupyter._executors import make_executor

CPU_CODE = """\
def execute(inputs):
    s = 0
    for i in range(inputs["n"]):
        s += i * i % 7
    return {"s": s}
"""
CPU_MD = ("---\nskill_id: cpu\nversion: '1'\ninputs: [{name: n, type: integer}]\n"
          "outputs: [{name: s, type: integer}]\n---\n\n# cpu\n\n```python\n" + CPU_CODE
          + "```\n")
NOOP_MD = ("---\nskill_id: noop\nversion: '1'\ninputs: [{name: i, type: integer}]\n"
           "outputs: [{name: y, type: integer}]\n---\n\n# noop\n\n```python\n"
           "def execute(inputs):\n    return {'y': inputs['i']}\n```\n")
BIG_MD = ("---\nskill_id: big\nversion: '1'\ninputs: [{name: n, type: integer}, "
          "{name: xs, type: any, required: false}]\noutputs: [{name: xs, type: any}]\n---\n\n"
          "# big\n\n```python\ndef execute(inputs):\n    xs = inputs.get('xs')\n"
          "    return {'xs': list(range(inputs['n'])) if xs is None else [x + 1 for x in xs]}\n"
          "```\n")
SPIN_MD = ("---\nskill_id: spin\nversion: '1'\ninputs: []\noutputs: [{name: y, type: number}]\n"
           "timeout_s: 2\n---\n\n# spin\n\n```python\ndef execute(inputs):\n    while True:\n"
           "        pass\n```\n")


def cpu_work(n: int) -> int:
    """The CPU skill's loop as a plain function, for raw ``client.submit``."""
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def noop(i: int) -> int:
    return i


def noop_forked(i: int) -> int:
    """A no-op that forks one child and waits for it: the floor of a killable node."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return i


def pipelined(client, m: int, width: int, tag: str) -> None:
    """``m`` raw no-op tasks from ``width`` threads, each submitting its next task when
    its last one returned: the engine's shape (``max_parallel`` loops)."""
    from concurrent.futures import ThreadPoolExecutor

    def lane(lane_no: int) -> None:
        for i in range(lane_no, m, width):
            client.submit(noop, i, pure=False, key=f"{tag}-{i}").result()

    with ThreadPoolExecutor(width) as pool:
        list(pool.map(lane, range(width)))


class Counting:
    """Wraps an executor and counts ``run_node`` calls (tasks submitted); everything else
    is the wrapped executor's (``passes_futures``, ``release_run``, ``on_node_event``)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @property
    def on_node_event(self):
        return self.inner.on_node_event

    @on_node_event.setter
    def on_node_event(self, callback):
        self.inner.on_node_event = callback

    def run_node(self, *args, **kwargs):
        self.calls += 1
        return self.inner.run_node(*args, **kwargs)

    def close(self):
        self.inner.close()


def workflow(skill_id: str, count: int, param: str, base: int) -> Workflow:
    wf = Workflow(id=f"scale-{skill_id}")
    for i in range(count):
        wf.add_node(skill_id, id=f"{skill_id}{i}", params={param: base + i})
    return wf


def timed_run(engine: Engine, wf: Workflow) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = engine.run(wf)
    wall = time.perf_counter() - t0
    bad = {n: r.error for n, r in result.nodes.items() if r.status not in ("completed", "cached")}
    if bad:
        raise SystemExit(f"nodes failed: {bad}")
    return wall, {n: r.outputs for n, r in result.nodes.items()}


def calibrate(seconds: float) -> int:
    n = 200_000
    t0 = time.perf_counter()
    cpu_work(n)
    per = (time.perf_counter() - t0) / n
    return max(10_000, int(seconds / per))


def cpu_rows(args, lib, wf, n: int, cores: int):
    """The table of N CPU-bound nodes on every mode; returns (processes executor, dask
    executor, an engine on the dask executor)."""
    rows: list[tuple[str, float]] = []
    fn = lib.get("cpu").load_function()
    sequential = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        reference = {f"cpu{i}": fn({"n": n + i}) for i in range(args.nodes)}
        sequential = min(sequential, time.perf_counter() - t0)
    rows.append(("sequential (in-process)", sequential))

    def best(engine: Engine, label: str) -> float:
        walls = []
        for _ in range(args.repeats):
            wall, out = timed_run(engine, wf)
            check(out, label)
            walls.append(wall)
        return min(walls)

    def check(outputs: dict, label: str) -> None:
        if outputs != reference:
            raise SystemExit(f"{label}: results differ from the sequential ones")

    engine = Engine(lib, trace=False, cache=False, executor="threads",
                    max_workers=args.workers or cores)
    rows.append(("threads", best(engine, "threads")))

    procs = Counting(make_executor("processes", workers=args.workers))
    engine = Engine(lib, trace=False, cache=False, executor=procs)
    wall, out = timed_run(engine, wf)
    check(out, "processes")
    rows.append(("processes (worker start included)", wall))
    rows.append(("processes (warm)", best(engine, "processes")))

    t0 = time.perf_counter()
    dask_ex = Counting(make_executor("dask", workers=args.workers))
    start = time.perf_counter() - t0
    engine = Engine(lib, trace=False, cache=False, executor=dask_ex)
    wall, out = timed_run(engine, wf)
    check(out, "dask")
    rows.append(("dask LocalCluster (cluster start included)", start + wall))
    rows.append(("dask LocalCluster (first run, start excluded)", wall))
    rows.append(("dask LocalCluster (warm)", best(engine, "dask")))

    client = dask_ex.inner.client
    raw_wall = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        futures = [client.submit(cpu_work, n + i, pure=False,
                                 key=f"cpu_work-{i}-{time.time_ns()}")
                   for i in range(args.nodes)]
        raw = client.gather(futures)
        raw_wall = min(raw_wall, time.perf_counter() - t0)
    rows.append(("raw client.submit (warm)", raw_wall))
    if {f"cpu{i}": {"s": v} for i, v in enumerate(raw)} != reference:
        raise SystemExit("raw client.submit: results differ")
    del futures

    print(f"\n{'mode':<48} {'wall s':>8} {'speedup':>8} {'× seq':>7}")
    for label, wall in rows:
        print(f"{label:<48} {wall:8.2f} {sequential / wall:8.2f} {wall / sequential:7.2f}")

    return procs, dask_ex, engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=1.5, help="CPU seconds per node")
    ap.add_argument("--noops", type=int, default=60, help="no-op nodes for the overhead")
    ap.add_argument("--workers", type=int, default=None, help="default: the CPU count")
    ap.add_argument("--chain", type=int, default=4, help="nodes of the data chain")
    ap.add_argument("--big-n", type=int, default=1_000_000,
                    help="integers each node of the chain passes on")
    ap.add_argument("--overhead-only", action="store_true",
                    help="only the per-node overhead and the checks (no CPU-bound table)")
    ap.add_argument("--overhead-repeats", type=int, default=5,
                    help="interleaved rounds of the per-node overhead (medians)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="best of K for the warm rows (the start-included rows run once)")
    args = ap.parse_args()

    cores = os.cpu_count() or 1
    lib = SkillLibrary(volumes=[], skills=[parse_skill(CPU_MD), parse_skill(NOOP_MD),
                                           parse_skill(SPIN_MD), parse_skill(BIG_MD)])
    n = calibrate(args.seconds)
    wf = workflow("cpu", args.nodes, "n", n)
    print(f"{args.nodes} CPU-bound pure-Python nodes, n={n:,} (~{args.seconds:g} s each), "
          f"{cores} cores, workers={args.workers or cores}, best of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.2f}")

    if args.overhead_only:
        procs = Counting(make_executor("processes", workers=args.workers))
        dask_ex = Counting(make_executor("dask", workers=args.workers))
        engine = Engine(lib, trace=False, cache=False, executor=dask_ex)
    else:
        procs, dask_ex, engine = cpu_rows(args, lib, wf, n, cores)
    client = dask_ex.inner.client

    # Per-node overhead: no-op nodes, ours vs raw submit, same cluster, same parallelism,
    # interleaved K times (the machine's other work moves every figure; the ratio of
    # neighbours moves less): medians.
    m = args.noops
    width = dask_ex.max_parallel
    timed_run(engine, workflow("noop", 4, "i", 10_000))  # warm the worker runners
    series: dict[str, list[float]] = {"ours": [], "raw": [], "pipe": [], "fork": [],
                                      "all": []}
    ratios: list[float] = []
    pipe_ratios: list[float] = []
    for rep in range(args.overhead_repeats):
        noop_wf = workflow("noop", m, "i", rep * m)
        t0 = time.perf_counter()
        timed_run(engine, noop_wf)
        ours = (time.perf_counter() - t0) / m * 1e3
        stamp = time.time_ns()
        t0 = time.perf_counter()
        for lo in range(0, m, width):  # the engine keeps max_parallel in flight: so does this
            client.gather([client.submit(noop, i, pure=False, key=f"noop-{i}-{stamp}")
                           for i in range(lo, min(m, lo + width))])
        raw_ms = (time.perf_counter() - t0) / m * 1e3
        t0 = time.perf_counter()
        pipelined(client, m, width, f"pipe-{stamp}")
        raw_pipe = (time.perf_counter() - t0) / m * 1e3
        t0 = time.perf_counter()
        for lo in range(0, m, width):
            client.gather([client.submit(noop_forked, i, pure=False, key=f"fork-{i}-{stamp}")
                           for i in range(lo, min(m, lo + width))])
        raw_fork = (time.perf_counter() - t0) / m * 1e3
        t0 = time.perf_counter()
        client.gather([client.submit(noop, i, pure=False, key=f"noopall-{i}-{stamp}")
                       for i in range(m)])
        raw_all = (time.perf_counter() - t0) / m * 1e3
        for name, value in (("ours", ours), ("raw", raw_ms), ("pipe", raw_pipe),
                            ("fork", raw_fork), ("all", raw_all)):
            series[name].append(value)
        ratios.append(ours / raw_ms)
        pipe_ratios.append(ours / raw_pipe)
    med = {name: statistics.median(values) for name, values in series.items()}
    ratio = statistics.median(ratios)
    print(f"\nper-node overhead, {m} no-op nodes, {width} in flight, median of "
          f"{args.overhead_repeats} interleaved rounds (range):")

    def span(name: str) -> str:
        return f"({min(series[name]):.2f}-{max(series[name]):.2f})"

    print(f"  ours (engine -> dask -> node process)  {med['ours']:7.2f} ms/node {span('ours')}")
    print(f"  raw client.submit, {width} in flight          {med['raw']:7.2f} ms/node "
          f"{span('raw')}")
    print(f"  ratio ours / raw (median of rounds)     {ratio:7.2f}   "
          f"({'PASS' if ratio <= 1.2 else 'MISS'} vs 1.2; rounds "
          f"{min(ratios):.2f}-{max(ratios):.2f})")
    print(f"  raw, {width} threads each submit+result    {med['pipe']:7.2f} ms/node "
          f"{span('pipe')}  ratio {statistics.median(pipe_ratios):.2f} (rounds "
          f"{min(pipe_ratios):.2f}-{max(pipe_ratios):.2f})")
    print(f"  raw client.submit of a forking no-op   {med['fork']:7.2f} ms/node {span('fork')}")
    print(f"  raw client.submit, all at once         {med['all']:7.2f} ms/node {span('all')}")

    # Upstream results as futures: a chain of nodes passing a list of --big-n integers,
    # driven like the engine drives it (run_node with `wired`), against the same chain with
    # every value sent from the client (no `wired`).
    big = lib.get("big")
    inner = dask_ex.inner
    for label, use_wires in (("values through the client", False),
                             ("upstream futures", True)):
        walls = []
        for rep in range(3):
            run_id = f"big{int(use_wires)}{rep}{time.time_ns()}"
            t0 = time.perf_counter()
            value = None
            for k in range(args.chain):
                inputs = {"n": args.big_n} if value is None else {"n": args.big_n, "xs": value}
                wired = ({} if k == 0 else {"xs": (f"b{k - 1}", "xs")}) if use_wires else None
                value = inner.run_node(big, inputs, trusted=True, limits=None, timeout=None,
                                       cancel=threading.Event(), key=f"{run_id}/b{k}/x",
                                       wired=wired).outputs["xs"]
            walls.append(time.perf_counter() - t0)
            inner.release_run(run_id)
            if value[-1] != args.big_n - 1 + args.chain - 1:
                raise SystemExit(f"{label}: wrong chain result")
        print(f"chain of {args.chain} nodes passing {args.big_n:,} integers, {label}: "
              f"{statistics.median(walls):.2f} s (median of 3; "
              f"{min(walls):.2f}-{max(walls):.2f})")

    # A fully cached re-run submits nothing.
    cached_engine = Engine(lib, trace=False, executor=dask_ex)
    timed_run(cached_engine, workflow("noop", 6, "i", 500))
    before = dask_ex.calls
    timed_run(cached_engine, workflow("noop", 6, "i", 500))
    print(f"\nfully cached re-run: {dask_ex.calls - before} tasks submitted")

    for label, ex in (("processes", procs), ("dask", dask_ex)):
        spin = Engine(lib, trace=False, cache=False, executor=ex)
        one = Workflow(id="spin")
        one.add_node("spin", id="spin")
        t0 = time.perf_counter()
        result = spin.run(one)
        wall = time.perf_counter() - t0
        print(f"spinning node, timeout_s 2, on {label}: {result['spin'].status} "
              f"({result['spin'].error}) after {wall:.2f} s")

    print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine "
          "skews every row)")
    if dask_ex.dashboard_link:
        print(f"\nDask dashboard (while running): {dask_ex.dashboard_link}")
    procs.close()
    dask_ex.close()
    threading.Event().wait(0.1)


if __name__ == "__main__":  # LocalCluster's worker processes re-import this module
    main()
