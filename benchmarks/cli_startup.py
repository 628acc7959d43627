"""CPU cost of starting the ``llmos`` command, beside ``python -c pass``.

Run from the repository root (an environment with JupyterLab installed is the case that
matters: its optional packages are what made ``jsonschema``'s import cost a second)::

    python benchmarks/cli_startup.py             # 7 runs of each command, median
    python benchmarks/cli_startup.py --runs 15
    python benchmarks/cli_startup.py --imports   # also: the slowest imports of `skills list`

Each command runs in a fresh process with ``LLMOS_HOME`` set to a temporary folder that
holds one trusted user skill (``noop``) and a one-node workflow using it. CPU time is user
+ system time of the child (``resource.getrusage(RUSAGE_CHILDREN)`` before and after), so a
busy machine changes it less than wall time; the median of the runs is printed with the
minimum and maximum. Goal (issue 14): ``skills list`` and a 1-node ``run`` at most 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 0.3

NOOP = """---
skill_id: noop
outputs: [{name: y, type: number}]
---

```python
def execute(inputs):
    return {"y": 1.0}
```
"""


def cpu_of(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``cmd``; fails loudly on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def slowest_imports(cmd: list[str], env: dict[str, str], n: int = 15) -> list[tuple[int, str]]:
    """The ``n`` imports with the largest cumulative time (µs) under ``-X importtime``."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative, name = line[len("import time:"):].split("|")
        rows.append((int(cumulative), name.rstrip()[1:]))  # drop the column's one space
    # Only unindented entries: what the command pulled in itself, not their sub-imports.
    top = [(us, name) for us, name in rows if not name.startswith(" ")]
    return sorted(top, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--imports", action="store_true",
                        help="print the slowest top-level imports of `llmos skills list`")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        (home / "user" / "skills").mkdir(parents=True)
        (home / "user" / "skills" / "noop.md").write_text(NOOP)
        workflow = Path(tmp) / "one.workflow.json"
        workflow.write_text(json.dumps({
            "id": "one", "nodes": [{"id": "a", "type": "skill", "data": {"skill": "noop"}}],
            "edges": [],
        }))
        env = {**os.environ, "LLMOS_HOME": str(home)}
        py = sys.executable
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import llmos_jupyter'": [py, "-c", "import llmos_jupyter"],
            "llmos skills list": [py, "-m", "llmos_jupyter", "skills", "list"],
            "llmos run (1 node, no trace)": [py, "-m", "llmos_jupyter", "run", "--no-trace",
                                             str(workflow)],
            "llmos run (1 node, trace)": [py, "-m", "llmos_jupyter", "run", str(workflow)],
        }
        for cmd in commands.values():  # warm the file cache and .pyc files
            cpu_of(cmd, env)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so load changes hit every command alike
            for name, cmd in commands.items():
                samples[name].append(cpu_of(cmd, env))

        base = statistics.median(c for c, _ in samples["python -c pass"])
        print(f"{'command':34} {'CPU median':>10} {'min':>7} {'max':>7} {'- python':>9} "
              f"{'wall':>7}  goal")
        for name, runs in samples.items():
            cpus = [c for c, _ in runs]
            med = statistics.median(cpus)
            wall = statistics.median(w for _, w in runs)
            goal = ""
            if name.startswith("llmos"):
                goal = "PASS" if med <= GOAL_S else "MISS"
            print(f"{name:34} {med:9.3f}s {min(cpus):6.3f}s {max(cpus):6.3f}s "
                  f"{med - base:8.3f}s {wall:6.3f}s  {goal}")
        print(f"({args.runs} runs each; goal for llmos commands: ≤ {GOAL_S} s CPU, "
              "interpreter start included)")

        if args.imports:
            print("\nslowest top-level imports of `llmos skills list` (cumulative, ms):")
            for us, name in slowest_imports(commands["llmos skills list"], env):
                print(f"  {us / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
