"""Cost of an isolated node beside an in-process one (issue 13: ≤ 30 ms warm).

Run from the repository root::

    PYTHONPATH=. python benchmarks/isolation.py              # 200 warm nodes, 5 cold starts
    PYTHONPATH=. python benchmarks/isolation.py --nodes 50 --sandbox subprocess

What is timed (median and 90th percentile of wall time per node, after 10 warm-up nodes):

* in-process  ``skill.load_function()(inputs)`` plus the output check: what the engine does
              for a trusted node (compile cached);
* isolated    ``IsolatedRunner(...)(skill, inputs, cancel=..., timeout=None)``: request
              encoding, fork of a fresh supervisor and node process from the warm zygote,
              compile, execute, result and exit report, decoding;
* engine      ``Engine.run`` of a one-node workflow with the runner registered, trusted
              (python) vs isolated (runner), caching off, no trace: the whole engine path;
* cold start  ``IsolatedRunner().start()``: launching the sandbox and importing numpy in
              the zygote (once per runner, i.e. once per run).

The skill is a no-op: ``def execute(inputs): return {"y": inputs["x"]}``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from llmos_jupyter._engine.engine import check_outputs
from llmos_jupyter._isolation import IsolatedRunner, Limits
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import Port

NOOP = "def execute(inputs):\n    return {'y': inputs['x']}\n"


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--cold", type=int, default=5)
    ap.add_argument("--sandbox", default="auto", choices=("auto", "bwrap", "subprocess"))
    args = ap.parse_args()

    skill = Skill("noop", "noop", inputs=(Port("x", "number"),), outputs=(Port("y", "number"),),
                  code=NOOP)
    inputs = {"x": 1.5}
    cancel = threading.Event()

    fn = skill.load_function()
    inproc = []
    for _ in range(args.nodes):
        t = time.perf_counter()
        check_outputs(skill, fn(inputs))
        inproc.append((time.perf_counter() - t) * 1e3)

    cold = []
    for _ in range(args.cold):
        t = time.perf_counter()
        r = IsolatedRunner(Limits(), sandbox=args.sandbox)
        r.start()
        cold.append((time.perf_counter() - t) * 1e3)
        r.close()

    with IsolatedRunner(Limits(), sandbox=args.sandbox) as runner:
        print(f"sandbox: {runner.sandbox} (preloaded: {', '.join(runner.preload) or 'nothing'})")
        for _ in range(10):
            runner(skill, inputs, cancel=cancel, timeout=None)
        iso = []
        for _ in range(args.nodes):
            t = time.perf_counter()
            out = runner(skill, inputs, cancel=cancel, timeout=None)
            iso.append((time.perf_counter() - t) * 1e3)
            assert out == {"y": 1.5}
        engine_ms = _engine_compare(runner, max(20, args.nodes // 4))

    (im, i90), (sm, s90), (cm, _c90) = _stats(inproc), _stats(iso), _stats(cold)
    print(f"in-process node   median {im * 1e3:8.1f} µs   p90 {i90 * 1e3:8.1f} µs")
    print(f"isolated node     median {sm:8.2f} ms   p90 {s90:8.2f} ms   "
          f"({sm / im:,.0f}x in-process; target ≤ 30 ms: {'met' if sm <= 30 else 'MISSED'})")
    print(f"engine, 1 node    trusted {engine_ms[0]:6.2f} ms   isolated {engine_ms[1]:6.2f} ms "
          "(median Engine.run)")
    print(f"cold start        median {cm:8.1f} ms   (sandbox + zygote imports, once per runner)")


def _engine_compare(runner: IsolatedRunner, n: int) -> tuple[float, float]:
    """Median ``Engine.run`` of one no-op node, trusted vs isolated (runtime 'isolated')."""
    import dataclasses

    from llmos_jupyter import Engine, SkillLibrary
    from llmos_jupyter._workflow.model import Node, Workflow

    trusted = Skill("noop", "noop", inputs=(Port("x", "number", default=1.5, has_default=True),),
                    outputs=(Port("y", "number"),), code=NOOP)
    # The engine sends non-python runtimes to runners; a copy of the skill with its own
    # runtime name stands in for "untrusted" until the engine routes by trust.
    isolated = dataclasses.replace(trusted, skill_id="noop-iso", name="noop-iso",
                                   runtime="isolated")

    def python_runner(skill, inputs, *, cancel, timeout):
        return runner(dataclasses.replace(skill, runtime="python"), inputs, cancel=cancel,
                      timeout=timeout)

    lib = SkillLibrary(volumes=[], skills=[trusted, isolated])
    engine = Engine(lib, cache=False, trace=False, max_workers=1,
                    runners={"isolated": python_runner})
    out = []
    for skill_id in ("noop", "noop-iso"):
        wf = Workflow(nodes=[Node("n", skill_id)])
        times = []
        for _ in range(n):
            t = time.perf_counter()
            result = engine.run(wf)
            times.append((time.perf_counter() - t) * 1e3)
            assert result.status == "completed", result["n"].error
        out.append(statistics.median(times))
    return out[0], out[1]


if __name__ == "__main__":
    main()
