"""Per-node overhead of the llmos-jupyter engine on no-op skills, beside Dask.

Run from the repository root::

    PYTHONPATH=. python benchmarks/engine_overhead.py            # benchmark (~1-1.5 min, 2 cores)
    PYTHONPATH=. python benchmarks/engine_overhead.py --quick    # 1 repeat, no RSS subprocesses
    PYTHONPATH=. python benchmarks/engine_overhead.py --profile  # only: cProfile of the 10k runs
                                                                 # + micro-timings of each step

Shapes (the *same* graph is built for our engine and for Dask; node ``i`` of ours is
``noop-i`` and Dask's key is ``"noop-i"``):

* ``chain``   noop-0 -> noop-1 -> ... -> noop-(N-1).
* ``fan``     a two-level fan-out/fan-in tree: one root -> M middle nodes -> C collectors
              -> one sink, where middle node j (0-based) feeds collector j // 64 on port
              ``in{j % 64}`` (collectors have 64 input ports, the last one may be partly
              used), and collector c feeds the sink on port ``in{c}``. M is the largest
              number with 1 + M + ceil(M / 64) + 1 == N (N=1000: M=982, C=16;
              N=10000: M=9844, C=154).
* ``dag``     a random layered DAG: width w = round(sqrt(N)) (32 / 100), node i is in layer
              i // w; every node outside layer 0 has 1-3 distinct parents drawn uniformly from
              the previous layer (random.Random(20260801)), wired to ports in0..in2.

Skills: in-memory, no-op Python skills (``def execute(inputs): return {"out": None}``) with
optional ``any`` input ports ``in0..in{k-1}`` and one ``any`` output ``out``. Every node of
ours also gets a param ``i`` (its number, an optional ``integer`` input): without it, no-op
nodes with the same skill and the same upstream keys have the same cache key, and the
content-addressed cache would run only one of them per run (the 1,000-node fan would
execute 5 nodes and take 995 from the cache) -- that would measure deduplication, not
execution. Dask's tasks are the plain ``(noop, *parent_keys)``.

What is timed (best of ``--repeats``, default 3, after a warm-up run of each side on a
200-node fan; ``gc.collect()`` before each timed run, the collector stays enabled; the four
variants are interleaved within each repeat; each shape/size is built, timed and dropped
before the next, so the collector's full passes see one case at a time):

* ours     ``engine.run(wf)`` end to end (validation + planning, execution, results),
           on a *fresh* ``Engine(lib, max_workers=W, trace=False)`` per timed run, so the
           default ``MemoryCache`` is empty (every node a cache MISS, caching still on:
           keys are computed and results stored) and one no-op subscriber is attached
           (events on). "sync" is ``max_workers=1`` (the caller's thread), "parallel" is
           ``max_workers=W`` (default W = the engine's own default, max(2, min(8, cpus))).
* validate ``plan(wf, lib)`` alone, the validation + planning step ``engine.run`` starts with.
* Dask     ``dask.get(dsk, sinks)`` (synchronous scheduler) and
           ``dask.threaded.get(dsk, sinks, num_workers=W)`` with the same W, where
           ``dsk = {"noop-0": (noop,), "noop-1": (noop, "noop-0"), ...}``, ``noop(*args)``
           returns None, and ``sinks`` are the nodes with no successor (so Dask computes every
           node, like ours does).
* cached   a second ``engine.run(wf)`` on the engine of the last timed run: how many nodes
           came from the cache, and the time. If the default ``MemoryCache`` holds fewer than
           N entries (it held 4096 until commit 2e27f90, 65,536 since) the run cannot be
           fully cached, so the re-run is then also shown with ``MemoryCache(maxsize=2*N)``.

Peak memory: each of ours / Dask's 10,000-node ``dag`` runs is done once in a fresh
subprocess of this script (``--rss-child``); see ``rss_child`` for exactly what is measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import dask
import dask.threaded

from llmos_jupyter import Engine, SkillLibrary, Workflow, parse_skill
from llmos_jupyter._engine.cache import MemoryCache
from llmos_jupyter._workflow.validate import plan

SEED = 20260801
SIZES = (1000, 10_000)
SHAPES = ("chain", "fan", "dag")
FAN_WIDTH = 64
RATIO_GOAL = 0.5
SECOND_GOAL_S = 1.0


# -- graphs ---------------------------------------------------------------------------------
# A graph is a list of parent lists: parents[i] = the nodes feeding node i, in port order
# (parents[i][p] feeds input port in{p}). Node i is "noop-i" on both sides.
Graph = list[list[int]]


def chain_graph(n: int) -> Graph:
    return [[]] + [[i - 1] for i in range(1, n)]


def fan_sizes(n: int) -> tuple[int, int]:
    """(middle nodes M, collectors C) with 1 + M + C + 1 == n, C = ceil(M / FAN_WIDTH)."""
    m = n - 2
    while m + math.ceil(m / FAN_WIDTH) > n - 2:
        m -= 1
    c = math.ceil(m / FAN_WIDTH)
    assert 1 + m + c + 1 == n, (n, m, c)
    return m, c


def fan_graph(n: int) -> Graph:
    m, c = fan_sizes(n)
    parents: Graph = [[]]                                   # 0: root
    parents += [[0] for _ in range(m)]                      # 1..m: middle nodes
    for k in range(c):                                      # m+1..m+c: collectors
        parents.append([1 + j for j in range(k * FAN_WIDTH, min(m, (k + 1) * FAN_WIDTH))])
    parents.append([m + 1 + k for k in range(c)])           # n-1: sink
    return parents


def dag_graph(n: int, seed: int = SEED) -> Graph:
    rng = random.Random(seed)
    w = max(1, round(math.sqrt(n)))
    parents: Graph = []
    for i in range(n):
        layer = i // w
        if layer == 0:
            parents.append([])
            continue
        prev = range((layer - 1) * w, layer * w)
        parents.append(sorted(rng.sample(prev, rng.randint(1, min(3, len(prev))))))
    return parents


GRAPHS: dict[str, Callable[[int], Graph]] = {
    "chain": chain_graph, "fan": fan_graph, "dag": dag_graph,
}


def sinks(parents: Graph) -> list[int]:
    has_child = [False] * len(parents)
    for ps in parents:
        for p in ps:
            has_child[p] = True
    return [i for i, c in enumerate(has_child) if not c]


# -- our side -------------------------------------------------------------------------------
def skill_markdown(k: int) -> str:
    """A no-op skill ``noop-in{k}``: an optional ``integer`` input ``i`` (the node's number,
    set as a param), k optional ``any`` inputs ``in0..in{k-1}`` and one ``any`` output."""
    inputs = "".join(f"  - {{name: in{i}, type: any, required: false}}\n" for i in range(k))
    return (
        f"---\nskill_id: noop-in{k}\nname: No-op with {k} inputs\n"
        f"inputs:\n  - {{name: i, type: integer, required: false}}\n{inputs}"
        + "outputs:\n  - {name: out, type: any}\n---\n\nDoes nothing.\n\n"
        "```python\ndef execute(inputs):\n    return {\"out\": None}\n```\n"
    )


def skill_for(parents: Graph, i: int, fan: bool) -> int:
    k = len(parents[i])
    if fan and 3 < k < FAN_WIDTH and i != len(parents) - 1:
        return FAN_WIDTH
    return k


def make_library(graphs: list[Graph]) -> SkillLibrary:
    ks: set[int] = {0, 1, 2, 3, FAN_WIDTH}
    for g in graphs:
        ks.update(len(ps) for ps in g)
    return SkillLibrary(volumes=[], skills=[parse_skill(skill_markdown(k)) for k in sorted(ks)])


def make_workflow(name: str, parents: Graph) -> Workflow:
    """Built with the public API, node by node: ``add_node`` then ``connect``."""
    fan = name.startswith("fan")
    wf = Workflow(id=name, name=name)
    for i in range(len(parents)):
        wf.add_node(f"noop-in{skill_for(parents, i, fan)}", id=f"noop-{i}", params={"i": i},
                    position={"x": 0, "y": 0})
    for i, ps in enumerate(parents):
        for port, p in enumerate(ps):
            wf.connect(f"noop-{p}", "out", f"noop-{i}", f"in{port}")
    return wf


def new_engine(lib: SkillLibrary, workers: int, cache: Any = None) -> Engine:
    engine = Engine(lib, max_workers=workers, trace=False)
    if cache is not None:
        # Set after construction: Engine(cache=MemoryCache(...)) tests the cache's truth
        # value (``cache or None``), and an empty MemoryCache has len() == 0, so passing a
        # fresh one disables caching altogether.
        engine.cache = cache
    engine.subscribe(lambda ev: None)  # events on: one (no-op) subscriber
    return engine


# -- Dask side ------------------------------------------------------------------------------
def noop(*args: Any) -> None:
    return None


def dask_graph(parents: Graph) -> tuple[dict[str, tuple], list[str]]:
    dsk = {f"noop-{i}": (noop, *(f"noop-{p}" for p in ps)) for i, ps in enumerate(parents)}
    return dsk, [f"noop-{i}" for i in sinks(parents)]


# -- timing ---------------------------------------------------------------------------------
def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_ours_once(wf: Workflow, lib: SkillLibrary, workers: int) -> tuple[float, Engine]:
    """One timed cache-miss ``engine.run(wf)`` on a fresh engine; returns (seconds, engine)."""
    engine = new_engine(lib, workers)
    gc.collect()
    t0 = time.perf_counter()
    res = engine.run(wf)
    secs = time.perf_counter() - t0
    assert res.status == "completed" and len(res.ran) == len(wf.nodes), res
    return secs, engine


def cached_reruns(engine: Engine, wf: Workflow, lib: SkillLibrary) -> dict[str, Any]:
    """Re-run on the engine of a timed run (its cache holds that run), then, if the default
    cache is smaller than the workflow, once more with a cache big enough for every node."""
    n = len(wf.nodes)
    gc.collect()
    t0 = time.perf_counter()
    res = engine.run(wf)
    out = {"cached_s": time.perf_counter() - t0, "cached_hits": len(res.cached)}
    engine.close()
    if n > getattr(engine.cache, "maxsize", n):
        big = new_engine(lib, engine.max_workers, cache=MemoryCache(maxsize=2 * n))
        big.run(wf)
        gc.collect()
        t0 = time.perf_counter()
        res = big.run(wf)
        out["bigcache_s"] = time.perf_counter() - t0
        out["bigcache_hits"] = len(res.cached)
        big.close()
    return out


def measure_case(shape: str, n: int, lib: SkillLibrary, workers: int,
                 repeats: int) -> dict[str, Any]:
    """Build one shape/size for both sides, time every variant, then drop the graphs (so
    the heap the garbage collector scans holds one case at a time). The four variants are
    interleaved within each repeat, so drifting machine load hits all of them alike."""
    parents = GRAPHS[shape](n)
    t0 = time.perf_counter()
    wf = make_workflow(shape, parents)
    build = time.perf_counter() - t0
    dsk, keys = dask_graph(parents)
    val_s, _ = best_of(lambda: plan(wf, lib), repeats)
    best = {"sync": math.inf, "par": math.inf, "dget": math.inf, "dthr": math.inf}
    engines: dict[str, Engine] = {}
    for _ in range(repeats):
        for mode, w in (("sync", 1), ("par", workers)):
            secs, engine = run_ours_once(wf, lib, w)
            best[mode] = min(best[mode], secs)
            if mode in engines:
                engines[mode].close()
            engines[mode] = engine
            other = "dget" if mode == "sync" else "dthr"
            secs, _ = best_of((lambda: dask.get(dsk, keys)) if mode == "sync" else
                              (lambda: dask.threaded.get(dsk, keys, num_workers=workers)), 1)
            best[other] = min(best[other], secs)
    row = {"shape": shape, "n": n, "edges": sum(map(len, parents)), "val": val_s,
           "build": build, **best}
    row["sync_cached"] = cached_reruns(engines["sync"], wf, lib)
    row["par_cached"] = cached_reruns(engines["par"], wf, lib)
    return row  # the graphs go with this frame


def rss_child(side: str, mode: str, n: int, workers: int) -> None:
    """Peak-RSS measurement of one 10k ``dag`` run, printed as one JSON line.

    In this fresh process: import everything, build the graph (our Workflow + library +
    engine with its subscriber, or Dask's dict), do one warm-up run of a 10-node graph (so
    lazy imports, skill compilation and pool threads are not counted), ``gc.collect()``,
    then read the baseline. Then run the 10k graph once, keep its result alive, and read
    again. Reported:

    * ``peak_delta_kib`` = ru_maxrss(after) - ru_maxrss(baseline): how far the run raised the
      process's high-water mark of resident memory (Linux: KiB). This is the headline number.
    * ``over_current_kib`` = ru_maxrss(after) - current RSS at baseline (psutil): the run's
      peak above what the process actually held just before it (differs from the first if
      building the graph left a transient peak above the steady state).
    * ``retained_kib`` = current RSS after the run and a ``gc.collect()`` (result still
      referenced) - current RSS at baseline: what the process still holds once the run has
      returned (our RunResult with its NodeResults; for Dask mostly freed memory that the
      allocator has not returned to the OS).

    The parent starts this process through ``/bin/sh -c '"$@"; exit $?'``: on Linux,
    ru_maxrss survives ``execve``, so a child exec'd directly by the (large) parent would
    start with the parent's high-water mark and every delta would read 0. The shell forks
    before exec'ing Python, and a forked process starts with a fresh ru_maxrss.
    """
    import psutil

    proc = psutil.Process()
    parents = dag_graph(n)
    if side == "ours":
        lib = make_library([parents])
        wf = make_workflow("dag", parents)
        engine = new_engine(lib, 1 if mode == "sync" else workers)
        engine.run(make_workflow("warm", dag_graph(10)))
        engine.cache.clear()

        def go() -> Any:
            return engine.run(wf)
    else:
        dsk, keys = dask_graph(parents)
        wdsk, wkeys = dask_graph(dag_graph(10))
        if mode == "sync":
            dask.get(wdsk, wkeys)

            def go() -> Any:
                return dask.get(dsk, keys)
        else:
            dask.threaded.get(wdsk, wkeys, num_workers=workers)

            def go() -> Any:
                return dask.threaded.get(dsk, keys, num_workers=workers)
    gc.collect()
    base_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base_cur = proc.memory_info().rss // 1024
    t0 = time.perf_counter()
    result = go()
    secs = time.perf_counter() - t0
    after_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()  # Dask's scheduler state is freed by the cycle collector
    after_cur = proc.memory_info().rss // 1024
    del result
    print(json.dumps({"side": side, "mode": mode, "n": n, "base_maxrss_kib": base_max,
                      "base_rss_kib": base_cur, "peak_delta_kib": after_max - base_max,
                      "over_current_kib": after_max - base_cur,
                      "retained_kib": after_cur - base_cur, "seconds": secs}))


def run_rss(n: int, workers: int) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for mode in ("sync", "parallel"):
        for side in ("ours", "dask"):
            cmd = ["/bin/sh", "-c", '"$@"; exit $?', "sh",  # see rss_child: fresh ru_maxrss
                   sys.executable, os.path.abspath(__file__), "--rss-child", side, "--rss-mode",
                   mode, "--rss-n", str(n), "--workers", str(workers)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"RSS child {side}/{mode} failed:\n{proc.stderr}")
            out[(side, mode)] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# -- report ---------------------------------------------------------------------------------
def package_version() -> str:
    """The package version and the git commit measured (``+dirty``: llmos_jupyter/ edited)."""
    import llmos_jupyter

    root = os.path.dirname(os.path.dirname(os.path.abspath(llmos_jupyter.__file__)))
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "llmos_jupyter"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return f"{llmos_jupyter.__version__} @ {rev}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return llmos_jupyter.__version__

def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 repeat instead of 3 and no peak-RSS subprocesses")
    ap.add_argument("--repeats", type=int, default=None, help="best of this many (default 3)")
    ap.add_argument("--workers", type=int, default=None,
                    help="parallel workers for ours and dask.threaded (default: engine default)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated N")
    ap.add_argument("--profile", action="store_true",
                    help="instead of the benchmark: cProfile the largest chain and dag runs "
                         "(sync and parallel) and time each per-node step")
    ap.add_argument("--rss-child", choices=("ours", "dask"), help=argparse.SUPPRESS)
    ap.add_argument("--rss-mode", choices=("sync", "parallel"), default="parallel",
                    help=argparse.SUPPRESS)
    ap.add_argument("--rss-n", type=int, default=10_000, help=argparse.SUPPRESS)
    args = ap.parse_args()

    from llmos_jupyter._engine.engine import _default_workers

    workers = args.workers or _default_workers()
    if args.rss_child:
        rss_child(args.rss_child, args.rss_mode, args.rss_n, workers)
        return
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    t_start = time.perf_counter()
    if args.profile:
        profile_runs(max(sizes), workers)
        return

    print(f"engine_overhead: Python {platform.python_version()}, llmos-jupyter "
          f"{package_version()}, dask {dask.__version__}, {os.cpu_count()} CPUs, "
          f"parallel workers W={workers}, best of {repeats}")
    print("ours: engine.run(wf) end to end on a fresh Engine (cache MISS, caching + 1 event "
          "subscriber on, trace off); dask: dask.get / dask.threaded.get(num_workers=W)")

    warm = fan_graph(200)
    lib = make_library([*(GRAPHS[s](n) for s in SHAPES for n in sizes), warm])

    # Warm-up: compile the skills, start pools, import Dask's lazy modules.
    for w in (1, workers):
        new_engine(lib, w).run(make_workflow("fan-warm", warm))
    wdsk, wkeys = dask_graph(warm)
    dask.get(wdsk, wkeys)
    dask.threaded.get(wdsk, wkeys, num_workers=workers)

    rows = []
    for shape in SHAPES:
        for n in sizes:
            rows.append(measure_case(shape, n, lib, workers, repeats))
            gc.collect()
    build_s = {(r["shape"], r["n"]): r["build"] for r in rows}

    def us(seconds: float, n: int) -> str:
        return f"{seconds / n * 1e6:8.1f}"

    print()
    print(f"Per-node overhead, µs/node (best of {repeats}), ratio = ours / dask "
          f"(goal <= {RATIO_GOAL}):")
    head = (f"{'shape':<6} {'N':>6} {'edges':>6} │ {'validate':>8} │ {'ours-sync':>9} "
            f"{'dask.get':>8} {'ratio':>6} {'goal':>4} │ {'ours-par':>8} {'dask.thr':>8} "
            f"{'ratio':>6} {'goal':>4}")
    print(head)
    print("─" * len(head))
    all_ok = True
    for r in rows:
        n = r["n"]
        r1 = r["sync"] / r["dget"]
        r2 = r["par"] / r["dthr"]
        all_ok &= r1 <= RATIO_GOAL and r2 <= RATIO_GOAL
        print(f"{r['shape']:<6} {n:>6} {r['edges']:>6} │ {us(r['val'], n)} │ "
              f"{us(r['sync'], n):>9} {us(r['dget'], n)} {r1:6.2f} {mark(r1 <= RATIO_GOAL)} │ "
              f"{us(r['par'], n)} {us(r['dthr'], n)} {r2:6.2f} {mark(r2 <= RATIO_GOAL)}")

    print()
    print("Fully cached re-run (same engine, second run), µs/node and cache hits / N:")
    head2 = (f"{'shape':<6} {'N':>6} │ {'sync':>8} {'hits':>11} │ {'parallel':>8} {'hits':>11}"
             f" │ {'sync, big cache':>15} {'parallel, big cache':>19}")
    print(head2)
    print("─" * len(head2))
    for r in rows:
        n, s, p = r["n"], r["sync_cached"], r["par_cached"]
        big = ""
        if "bigcache_s" in s:
            big = (f" │ {us(s['bigcache_s'], n):>8} ({s['bigcache_hits']:>5}) "
                   f"{us(p['bigcache_s'], n):>10} ({p['bigcache_hits']:>5})")
        print(f"{r['shape']:<6} {n:>6} │ {us(s['cached_s'], n)} {s['cached_hits']:>5}/{n:<5} │ "
              f"{us(p['cached_s'], n)} {p['cached_hits']:>5}/{n:<5}{big}")
    print(f"(default cache: MemoryCache(maxsize={MemoryCache().maxsize})"
          + ("; 'big cache' = MemoryCache(maxsize=2N))"
             if any("bigcache_s" in r["sync_cached"] for r in rows) else ")"))

    print()
    print("Building the workflows with Workflow.add_node + connect (not timed above):")
    print("  " + ", ".join(f"{s} {n}: {build_s[(s, n)]:.2f} s" for s, n in build_s))

    print()
    goals = []
    big_n = max(sizes)
    dag = next((r for r in rows if r["shape"] == "dag" and r["n"] == big_n), None)
    if dag is not None and big_n >= 10_000:
        t_sync, t_par = dag["sync"], dag["par"]
        print(f"{big_n}-node dag validated+run in {t_par:.3f} s parallel (W={workers}), "
              f"{t_sync:.3f} s sync (validation alone {dag['val']:.3f} s); goal < "
              f"{SECOND_GOAL_S:.0f} s: parallel {mark(t_par < SECOND_GOAL_S)}, sync "
              f"{mark(t_sync < SECOND_GOAL_S)}")
        goals.append(t_par < SECOND_GOAL_S and t_sync < SECOND_GOAL_S)
    else:
        print("10000-node dag: not run (pass --sizes with 10000)")
    if not args.quick and big_n >= 10_000:
        rss = run_rss(10_000, workers)
        for mode, other in (("sync", "dask.get"), ("parallel", "dask.threaded")):
            o, d = rss[("ours", mode)], rss[("dask", mode)]
            ok = o["peak_delta_kib"] <= d["peak_delta_kib"]
            goals.append(ok)
            print(f"peak RSS, 10000-node dag, {mode:<8}: ours +{o['peak_delta_kib'] / 1024:6.1f} "
                  f"MiB vs {other:<13} +{d['peak_delta_kib'] / 1024:6.1f} MiB "
                  f"(ratio {o['peak_delta_kib'] / max(1, d['peak_delta_kib']):.2f}; goal <= dask: "
                  f"{mark(ok)})")
            print(f"    cross-checks: peak over current RSS at baseline ours "
                  f"+{o['over_current_kib'] / 1024:.1f} / dask +{d['over_current_kib'] / 1024:.1f}"
                  f" MiB; RSS still held after the run + gc ours +{o['retained_kib'] / 1024:.1f}"
                  f" / dask +{d['retained_kib'] / 1024:.1f} MiB; run took ours "
                  f"{o['seconds']:.2f} s / dask {d['seconds']:.2f} s")
        print("  (each number from one run in a fresh subprocess: ru_maxrss after the run minus "
              "ru_maxrss at a baseline taken after\n   imports, graph construction and a 10-node "
              "warm-up run, then gc.collect(); see rss_child() for details)")
    else:
        print("peak RSS: skipped (--quick)")
    goals.append(all_ok)
    print(f"ratio goal (both ratios <= {RATIO_GOAL} on every shape and size): {mark(all_ok)}")
    print(f"overall: {mark(all(goals))}   "
          f"(total benchmark time {time.perf_counter() - t_start:.0f} s)")



# -- profiling ------------------------------------------------------------------------------
class GcTimer:
    """A ``gc.callbacks`` entry adding up the collector's pauses per generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.counts = [0, 0, 0]
        self.spent = [0.0, 0.0, 0.0]
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            dt = time.perf_counter() - self._t0
            self.seconds += dt
            self.counts[info["generation"]] += 1
            self.spent[info["generation"]] += dt

    def summary(self) -> str:
        return ", ".join(f"gen{g}: {c}x {t * 1e3:.0f} ms"
                         for g, (c, t) in enumerate(zip(self.counts, self.spent)))


class PlainEvent:
    """Reference point for the micro-timings: Event's fields in a plain __slots__ class."""

    __slots__ = ("duration_ms", "error", "kind", "node_id", "nodes", "outputs", "run_id",
                 "skill_id", "status", "time", "trace")

    def __init__(self, kind: str, run_id: str, node_id: str | None = None,
                 skill_id: str | None = None, status: str | None = None,
                 duration_ms: float | None = None, error: str | None = None,
                 nodes: tuple[str, ...] = (), outputs: Any = None, trace: str | None = None,
                 time_: float | None = None) -> None:
        self.kind, self.run_id, self.node_id, self.skill_id = kind, run_id, node_id, skill_id
        self.status, self.duration_ms, self.error, self.nodes = status, duration_ms, error, nodes
        self.outputs, self.trace = outputs, trace
        self.time = time.time() if time_ is None else time_


def blake2_piece(code_hash: str) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=20)
    h.update(code_hash.encode())
    return h.hexdigest()


def profile_runs(n: int, workers: int) -> None:
    """cProfile one cache-miss ``engine.run`` of the N-node chain and dag, sync and parallel,
    then time the engine's per-node building blocks in isolation.

    Parallel mode runs nodes on pool threads, which cProfile does not follow: the engine's
    pool is replaced (from outside, in this process only) by a ThreadPoolExecutor whose
    initializer enables a profiler in each worker thread, and the threads' stats are merged
    with the caller's. Times are then thread-time summed over threads (lock waits included).
    cProfile adds a fixed cost to every Python call, so the profiled totals are ~2-3x the
    unprofiled ones: read the table for *where* the time goes, the micro-timings for *how
    much*.
    """
    print(f"engine_overhead --profile: N={n}, W={workers}, Python {platform.python_version()}, "
          f"llmos-jupyter {package_version()}")
    graphs = {s: GRAPHS[s](n) for s in ("chain", "dag")}
    lib = make_library(list(graphs.values()))
    wfs = {s: make_workflow(s, g) for s, g in graphs.items()}
    for w in (1, workers):
        new_engine(lib, w).run(make_workflow("warm", dag_graph(200)))
    for shape, wf in wfs.items():
        for w in (1, workers):
            wall, stats, gc_stats = profile_one(new_engine(lib, w), wf)
            print()
            print(f"== cProfile: {shape} N={n}, {'sync' if w == 1 else f'parallel W={w}'}: wall "
                  f"{wall:.3f} s under the profiler ({wall / n * 1e6:.1f} µs/node) ==")
            print(f"garbage collector: {gc_stats.seconds / n * 1e6:.1f} µs/node "
                  f"({gc_stats.summary()}); cProfile charges these pauses to the call that "
                  "triggered them (often builtins.sorted or a constructor)")
            print_stats(stats, n)
    micro_timings(lib, wfs["dag"], workers)


def profile_one(engine: Engine, wf: Workflow) -> tuple[float, Any, GcTimer]:
    """One ``engine.run(wf)`` under cProfile in the caller and in every pool thread."""
    import cProfile
    import io
    import pstats
    from concurrent.futures import ThreadPoolExecutor

    w = engine.max_workers
    profs: list[cProfile.Profile] = []
    local = threading.local()

    def init() -> None:
        prof = cProfile.Profile()
        local.prof = prof
        profs.append(prof)
        prof.enable()

    def stop() -> None:
        barrier.wait()
        local.prof.disable()

    if w > 1:
        engine._pool = ThreadPoolExecutor(w, thread_name_prefix="llmos-node", initializer=init)
        barrier = threading.Barrier(w)  # start every worker (each runs init once)
        for f in [engine._pool.submit(barrier.wait) for _ in range(w)]:
            f.result()
    main_prof = cProfile.Profile()
    gc.collect()
    gc_stats = GcTimer()
    gc.callbacks.append(gc_stats)
    t0 = time.perf_counter()
    main_prof.enable()
    engine.run(wf)
    main_prof.disable()
    wall = time.perf_counter() - t0
    gc.callbacks.remove(gc_stats)
    if w > 1:
        barrier = threading.Barrier(w)  # every worker runs stop() once
        for f in [engine._pool.submit(stop) for _ in range(w)]:
            f.result()
    engine.close()
    stats = pstats.Stats(main_prof, stream=io.StringIO())
    for p in profs:
        stats.add(p)
    return wall, stats, gc_stats


def micro_timings(lib: SkillLibrary, wf: Workflow, workers: int) -> None:
    """Unprofiled cost of each per-node step of ``_RunContext.execute``, µs per call."""
    import timeit
    from concurrent.futures import ThreadPoolExecutor

    from llmos_jupyter._engine.cache import cache_key
    from llmos_jupyter._engine.engine import check_outputs
    from llmos_jupyter._engine.events import Event, EventBus
    from llmos_jupyter._engine.requirements import check_requires
    from llmos_jupyter._engine.result import NodeResult

    n = len(wf.nodes)
    p = plan(wf, lib)
    node_id = p.order[-1]
    skill, node = p.skills[node_id], p.nodes[node_id]
    fn = skill.load_function()
    upstream = [(port, "0" * 40, sp) for port, _, sp in p.incoming[node_id]]
    values = {**skill.defaults, **node.params}
    outputs = {"out": None}
    bus = EventBus()
    bus.subscribe(lambda ev: None)
    cache = MemoryCache()
    keys = [f"{i:040x}" for i in range(n)]
    it = iter(range(10**9))
    lock = threading.Lock()
    pool = ThreadPoolExecutor(workers)

    def one(stmt: Callable[[], Any], number: int = 20000) -> float:
        return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6

    def lock_cycle() -> None:
        with lock:
            pass

    def submit_and_wait() -> None:
        pool.submit(noop).result()

    def submit_many() -> None:
        for f in [pool.submit(noop) for _ in range(1000)]:
            f.result()

    items = [
        ("values = dict(defaults); update(params); inputs = dict(values)",
         lambda: dict(dict(skill.defaults), **node.params)),
        (f"cache_key(code_hash, values, {len(upstream)} wired)",
         lambda: cache_key(skill.code_hash, values, upstream)),
        ("  piece: repr(sorted(values.items())) (scalar fast path since 2e27f90)",
         lambda: repr(sorted(values.items()))),
        ("  piece: json.dumps(values, sort_keys=True, ...) (the non-scalar path)",
         lambda: json.dumps(values, sort_keys=True, separators=(",", ":"))),
        ("  piece: blake2b(digest_size=20) + update(code_hash.encode()) + hexdigest()",
         lambda: blake2_piece(skill.code_hash)),
        ("MemoryCache.get (miss)", lambda: cache.get(keys[next(it) % n])),
        ("MemoryCache.put", lambda: cache.put(keys[next(it) % n], outputs)),
        ("Event(...) construction (frozen slots dataclass, time.time default)",
         lambda: Event("node_started", "run", node_id, skill.skill_id, "running")),
        ("  for comparison: a plain __slots__ class with the same 11 fields",
         lambda: PlainEvent("node_started", "run", node_id, skill.skill_id, "running")),
        ("Event(...) + EventBus.emit to 1 no-op subscriber",
         lambda: bus.emit(Event("node_finished", "run", node_id, skill.skill_id, "completed",
                                0.1, outputs=outputs))),
        ("time.time() + 2x time.perf_counter()",
         lambda: (time.time(), time.perf_counter(), time.perf_counter())),
        ("check_requires(skill_id, ())", lambda: check_requires(skill.skill_id, skill.requires)),
        ("skill.load_function() (cached)", skill.load_function),
        ("execute(inputs) (the no-op itself)", lambda: fn(values)),
        ("check_outputs(skill, raw)", lambda: check_outputs(skill, {"out": None})),
        ("NodeResult(...) construction",
         lambda: NodeResult(node_id, skill.skill_id, "completed", outputs, values, {}, None,
                            None, 0.1, 0.0, "k")),
        ("threading.Lock acquire/release (uncontended)", lock_cycle),
    ]
    print()
    print("== Micro-timings of the per-node steps (unprofiled, best of 5), µs per call ==")
    for name, fn_ in items:
        print(f"{one(fn_):8.2f}  {name}")
    print(f"{one(submit_and_wait, 2000):8.2f}  ThreadPoolExecutor.submit + result() round trip")
    print(f"{one(submit_many, 5) / 1000:8.2f}  ThreadPoolExecutor.submit, 1000 queued then waited,"
          " per task")
    pool.shutdown()
    t = min(timeit.repeat(lambda: plan(wf, lib), number=1, repeat=3))
    print(f"{t / n * 1e6:8.2f}  plan(wf, lib) per node ({n}-node dag, {len(wf.edges)} edges)")
    preds = {nid: [s for _, s, _ in p.incoming[nid]] for nid in p.order}
    from llmos_jupyter._workflow import validate as _validate

    topo = getattr(_validate, "_topological_order", None)
    if topo is not None:
        t = min(timeit.repeat(lambda: topo(preds), number=1, repeat=3))
        print(f"{t / n * 1e6:8.2f}    of which the topological sort (_topological_order) per node")
    from llmos_jupyter._engine.engine import _RunContext

    ctx = _RunContext(new_engine(lib, 1), p, "run", threading.Event(), None)
    for nid in p.order:
        ctx.execute(nid)
    t = min(timeit.repeat(lambda: ctx.finish(p.order, False), number=1, repeat=3))
    print(f"{t / n * 1e6:8.2f}  _RunContext.finish() per node (sort results, RunResult)")


_WAITS = {
    "<method 'get' of '_queue.SimpleQueue' objects>": "  [idle pool thread waiting for work]",
    "<method 'acquire' of '_thread.lock' objects>":
        "  [blocking waits: caller's done.wait() + lock/GIL contention]",
}


def print_stats(stats: Any, n: int, top: int = 24) -> None:
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        short = (file.split("llmos_jupyter/")[-1] if "llmos_jupyter/" in file
                 else os.path.basename(file))
        rows.append((tt, ct, nc, f"{short}:{line}({func})" if line else func))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    busy = sum(r[0] for r in rows if r[3] not in _WAITS)
    print(f"profiled thread-time {total / n * 1e6:.1f} µs/node, of which not in the two blocking "
          f"waits below {busy / n * 1e6:.1f} µs/node")
    print(f"{'tottime':>8} {'cumtime':>8} {'calls/node':>10}  function   (µs/node)")
    for tt, ct, nc, name in rows[:top]:
        print(f"{tt / n * 1e6:8.2f} {ct / n * 1e6:8.2f} {nc / n:10.3f}  "
              f"{name}{_WAITS.get(name, '')}")


if __name__ == "__main__":
    main()
