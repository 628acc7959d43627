"""Evolution benchmark: mining time over 1,000 and 10,000 trace notebooks.

Run:  python benchmarks/evolve.py [--sizes 1000,10000] [--repeats 3] [--keep DIR]

The traces are generated, not run: running the H2 workflow 10,000 times takes hours.
First the real workflows run a few times (H2 VQE with iterations 100/150/120 and the RC
circuit twice), writing real trace notebooks through the engine. Each generated trace is
a copy of one of those notebooks (same cells, code and PNG outputs, so the same size on
disk: ~75 kB) with a new run id, start time and varied parameters in its
``metadata.llmos.trace`` (vqe.iterations 80-200, vqe.seed 1-9, rc.resistance 500-2000),
serialised exactly as nbformat does (sorted keys, one-space indent; checked against
``nbformat.writes`` for the first copy). 10,000 traces are about 0.75 GB in a temporary
folder, removed afterwards unless ``--keep``.

Timed: reading every trace's metadata (``read_trace``) and mining them (``mine``), the
work of ``llmos evolve`` before it writes anything; best of ``--repeats``. The files were
just written, so they are in the OS page cache (a cold cache adds the disk's read time for
the ~32 kB tail the reader touches per file). Goal: 10,000 traces in under 5 s.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def real_traces(home: Path) -> list[Path]:
    """Run the example workflows a few times; return their trace notebooks."""
    from llmos_jupyter import Engine, SkillLibrary, Workflow

    engine = Engine(SkillLibrary(home), max_workers=1, cache=False)
    h2 = Workflow.load(REPO / "notebooks" / "h2-vqe.workflow.json")
    rc = Workflow.load(REPO / "notebooks" / "rc-circuit.workflow.json")
    paths = [engine.run(h2, {"vqe.iterations": it}).trace for it in (100, 150, 120)]
    paths += [engine.run(rc, {"rc.resistance": r}).trace for r in (1000, 2000)]
    engine.close()
    return [Path(p) for p in paths]


def generate(bases: list[Path], n: int, folder: Path, seed: int = 20261121) -> None:
    """Write ``n`` trace notebooks into ``folder``, varied copies of ``bases``."""
    import nbformat

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    split = []
    for base in bases:
        text = base.read_text(encoding="utf-8")
        nb = json.loads(text)
        head = text[: text.rindex('\n "metadata": {') + len('\n "metadata": ')]
        split.append((head, nb["metadata"]))
    t0 = 1_700_000_000
    for i in range(n):
        head, meta = split[i % len(split)]
        meta = json.loads(json.dumps(meta))
        trace = meta["llmos"]["trace"]
        run_id = f"{i:012x}"
        trace["run_id"] = run_id
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(t0 + 60 * i))
        trace["started_at"] = stamp
        nodes = trace["nodes"]
        if "vqe" in nodes:
            nodes["vqe"]["params"]["iterations"] = rng.randint(80, 200)
            nodes["vqe"]["params"]["seed"] = rng.randint(1, 9)
        if "rc" in nodes:
            nodes["rc"]["params"]["resistance"] = rng.choice([500, 1000, 1500, 2000])
        body = json.dumps(meta, sort_keys=True, indent=1, ensure_ascii=False).replace("\n", "\n ")
        text = head + body + ',\n "nbformat": 4,\n "nbformat_minor": 5\n}'
        if i < len(split):  # byte for byte what nbformat writes
            assert text == nbformat.writes(nbformat.reads(text, as_version=4))
        name = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t0 + 60 * i))
        (folder / f"{name}-{trace['workflow']['id']}-{run_id}.ipynb").write_text(text, encoding="utf-8")


def mine_folder(folder: Path) -> tuple[float, int, list]:
    from llmos_jupyter._evolution import iter_traces, mine, trace_files

    t = time.perf_counter()
    records = list(iter_traces(trace_files(folder)))
    patterns = mine(records, min_runs=3)
    return time.perf_counter() - t, len(records), patterns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated traces here")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="llmos-evolve-bench-"))
    try:
        t = time.perf_counter()
        bases = real_traces(root / "home")
        print(f"{len(bases)} real runs traced in {time.perf_counter() - t:.1f} s "
              f"({sum(p.stat().st_size for p in bases) / len(bases) / 1e3:.0f} kB per trace)")
        print(f"{'traces':>8} {'generate s':>11} {'mine s (best)':>14} {'traces/s':>10} "
              f"{'patterns':>9}  largest pattern")
        for n in sizes:
            folder = root / f"traces-{n}"
            t = time.perf_counter()
            generate(bases, n, folder)
            gen = time.perf_counter() - t
            best, count, patterns = min((mine_folder(folder) for _ in range(args.repeats)),
                                        key=lambda r: r[0])
            assert count == n
            top = patterns[0] if patterns else None
            desc = (" → ".join(m.skill for m in top.members) + f" ({top.support} runs)") if top else "-"
            print(f"{n:>8} {gen:>11.1f} {best:>14.3f} {n / best:>10.0f} {len(patterns):>9}  {desc}")
            if not args.keep:
                shutil.rmtree(folder)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
