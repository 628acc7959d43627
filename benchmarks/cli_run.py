"""The CLI's per-node overhead on a big chain, beside dask.get, and what a trace costs.

Runs, each as a whole process (best of K wall-clock runs):

* ``llmos run chain-N.workflow.json --no-trace`` and the same with a 1-node workflow; the
  per-node overhead is (T_N − T_1) / (N − 1), so process start, imports and library load
  are subtracted;
* the same two graphs as ``dask.get`` in a fresh ``python`` process (``noop-i`` keys,
  ``noop-i`` depends on ``noop-(i-1)``), timed the same way;
* ``llmos run chain-N`` with the trace written, to show the trace's cost beside the run's.

Goal (issue 14): ours ≤ 0.5 × dask.get per node; the trace costs no more than the run.

    python benchmarks/cli_run.py [--nodes 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOOP = """---
skill_id: noop
name: No-op
inputs:
  - {name: x, type: any, required: false}
  - {name: i, type: integer, default: 0}
outputs:
  - {name: out, type: integer}
---

```python
def execute(inputs):
    return {"out": inputs["i"]}
```
"""

DASK = """
import sys, time, dask
n = int(sys.argv[1])
def noop(*args):
    return None
dsk = {"noop-0": (noop,)}
for i in range(1, n):
    dsk[f"noop-{i}"] = (noop, f"noop-{i-1}")
dask.get(dsk, f"noop-{n-1}")
"""


def chain(home: Path, n: int) -> Path:
    from llmos_jupyter import Workflow

    wf = Workflow(id=f"chain-{n}")
    for i in range(n):
        wf.add_node("noop", id=f"noop-{i}", params={"i": i})
        if i:
            wf.connect(f"noop-{i-1}", "out", f"noop-{i}", "x")
    return wf.save(home / f"chain-{n}.workflow.json")


def best(cmd: list[str], env: dict[str, str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n = args.nodes
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "user" / "skills").mkdir(parents=True)
        (home / "user" / "skills" / "noop.md").write_text(NOOP)
        env = {**os.environ, "LLMOS_HOME": str(home)}
        big, one = chain(home, n), chain(home, 1)
        llmos = [sys.executable, "-m", "llmos_jupyter._cli", "run"]
        t_big = best(llmos + [str(big), "--no-trace"], env, args.repeats)
        t_one = best(llmos + [str(one), "--no-trace"], env, args.repeats)
        t_trace = best(llmos + [str(big)], env, max(2, args.repeats // 2))
        dask_cmd = [sys.executable, "-c", DASK]
        d_big = best(dask_cmd + [str(n)], env, args.repeats)
        d_one = best(dask_cmd + ["1"], env, args.repeats)
    ours = (t_big - t_one) / (n - 1) * 1e6
    theirs = (d_big - d_one) / (n - 1) * 1e6
    run_s = t_big - t_one
    trace_s = t_trace - t_big
    print(f"{n}-node chain, best of {args.repeats}, process start subtracted (1-node run):")
    print(f"  llmos run --no-trace : {ours:8.1f} µs/node   (whole: {t_big:.2f} s, 1 node {t_one:.2f} s)")
    print(f"  dask.get             : {theirs:8.1f} µs/node   (whole: {d_big:.2f} s, 1 node {d_one:.2f} s)")
    ratio = ours / theirs if theirs > 0 else float("inf")
    print(f"  ratio ours/dask      : {ratio:8.2f}   goal <= 0.5: {'PASS' if ratio <= 0.5 else 'MISS'}")
    print(f"  trace writing        : {trace_s:8.2f} s beside the run's {run_s:.2f} s   "
          f"goal <= 1x: {'PASS' if trace_s <= run_s else 'MISS'}")


if __name__ == "__main__":
    main()
