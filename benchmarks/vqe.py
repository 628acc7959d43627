"""VQE benchmark: the quantum-vqe skill's defaults against the same strategy on qiskit.

Run from the repository root:

    python benchmarks/vqe.py                    # ours on all 240 cases, qiskit on every 6th
    python benchmarks/vqe.py --qiskit-every 1   # qiskit on all 240 too (about 100x longer)
    python benchmarks/vqe.py --limit 5          # the first 5 cases of each qubit count
    python benchmarks/vqe.py --no-qiskit        # ours only (~20 s)

qiskit takes about a hundred times longer than the skill, so by default it runs on every 6th
case of each qubit count (40 cases, edge and random ones); the table gives our figures on the
whole set and, beside qiskit's, on the same subset, and the ratio is taken on that subset.

The set: ``CASES`` of tests/skills/test_vqe_random.py (imported, so the benchmark and the
test measure the same seeded Hamiltonians): 240 real Pauli Hamiltonians of 1-4 qubits with
coefficients in [-1, 1] (edge cases: identity only, all-zero, single term, degenerate and
near-degenerate ground states, all strings; then random term subsets). The reference is
numpy.linalg.eigvalsh of the dense matrix; the error of a run is its energy minus that.

Ours: one call of the skill's ``execute`` with its frontmatter defaults (the skill is
loaded by executing its Markdown code block, so this does not need the llmos_jupyter
package). The clock covers the whole call: validation, the dense matrix, every start.

qiskit: the same algorithm with qiskit doing the quantum part - ``real_amplitudes(n,
reps, entanglement="linear")`` with the skill's default depth, ``SparsePauliOp``,
``StatevectorEstimator`` evaluating the point and its 2P parameter-shift circuits as one
batch (the way gradients are taken with qiskit's primitives), scipy L-BFGS-B with the
skill's tolerances and iteration cap, the same start angles (numpy default_rng(seed), drawn
in the same order) and the same stopping rule (stop when two starts agree within the
skill's AGREEMENT on the lowest energy, at most 1 + restarts starts). Its clock covers
building the operator and the circuit too. qiskit-algorithms' ``VQE`` is not used: its
loop could not reproduce the start strategy and stopping rule.

Both sides compute the same exact gradient (the skill by adjoint differentiation, about
three state-vector passes; qiskit by the parameter-shift rule, 2P + 1 circuits), so both
follow the same optimizer path up to rounding and make about the same number of
evaluations; the time ratio is the simulator plus the gradient method.

BLAS threads are limited to 1 (unless already set in the environment) on both sides: for
matrices of at most 16x16 threads only add overhead, and on a loaded machine OpenBLAS
threads can slow a run by an order of magnitude.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
SKILLS = REPO / "skills"
_PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_FRONTMATTER = re.compile(r"^---[ \t]*\n(.*?)^---[ \t]*$", re.DOTALL | re.MULTILINE)


def load_skill(skill_id: str):
    """(execute with the frontmatter defaults merged in, the code block's namespace)."""
    text = (SKILLS / f"{skill_id}.md").read_text(encoding="utf-8")
    (code,) = _PYTHON_BLOCK.findall(text)
    namespace: dict = {"__name__": f"skill_{skill_id.replace('-', '_')}"}
    # Our own skill file from this repository, run the way the test loader runs it.
    exec(compile(code, str(SKILLS / f"{skill_id}.md"), "exec"), namespace)  # noqa: S102
    frontmatter = yaml.safe_load(_FRONTMATTER.match(text).group(1))
    defaults = {s["name"]: s["default"] for s in frontmatter["inputs"] if "default" in s}
    execute = namespace["execute"]

    def run(inputs: dict) -> dict:
        return execute({**defaults, **inputs})

    return run, namespace, defaults


def load_cases():
    """CASES of tests/skills/test_vqe_random.py (it imports tests/pauli.py)."""
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "skills")]
    from pauli import pauli_matrix
    from test_vqe_random import CASES

    return CASES, pauli_matrix


def qiskit_vqe(terms: dict, reps: int, *, seed: int, restarts: int, iterations: int, skill):
    """The skill's strategy on qiskit primitives; returns (energy, starts, evaluations)."""
    from qiskit.circuit.library import real_amplitudes
    from qiskit.primitives import StatevectorEstimator
    from qiskit.quantum_info import SparsePauliOp

    operator = SparsePauliOp.from_list(list(terms.items()))
    num_qubits = operator.num_qubits
    # The estimator refuses an operator whose coefficients are all zero ("Empty observable");
    # measure 1*I instead and subtract the 1 (the energy is then 0 at every angle).
    constant = 0.0
    if not np.any(operator.simplify().coeffs):
        operator, constant = SparsePauliOp("I" * num_qubits), 1.0
    ansatz = real_amplitudes(num_qubits, reps=reps, entanglement="linear")
    estimator = StatevectorEstimator()
    num_params = ansatz.num_parameters
    eye = np.eye(num_params)
    shifts = 0.5 * np.pi * np.vstack((np.zeros(num_params), eye, -eye))
    count = {"evaluations": 0}

    def energy_and_gradient(theta):
        evs = estimator.run([(ansatz, operator, theta[None, :] + shifts)]).result()[0].data.evs
        evs = evs - constant
        count["evaluations"] += 1
        return float(evs[0]), 0.5 * (evs[1 : num_params + 1] - evs[num_params + 1 :])

    rng = np.random.default_rng(seed)
    finals: list[float] = []
    for _ in range(1 + restarts):
        x0 = rng.uniform(-np.pi, np.pi, num_params)
        result = minimize(
            energy_and_gradient,
            x0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": iterations, "ftol": skill["FTOL"], "gtol": skill["GTOL"]},
        )
        finals.append(float(result.fun))
        if sum(f <= min(finals) + skill["AGREEMENT"] for f in finals) >= 2:
            break
    return min(finals), len(finals), count["evaluations"]


def select(cases, limit: int | None):
    """All cases, or the first ``limit`` of each qubit count (edge cases come first)."""
    if limit is None:
        return cases
    taken: dict[int, int] = {}
    chosen = []
    for case_id, terms in cases:
        n = len(next(iter(terms)))
        if taken.get(n, 0) < limit:
            taken[n] = taken.get(n, 0) + 1
            chosen.append((case_id, terms))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N cases of each qubit count"
    )
    parser.add_argument(
        "--qiskit-every",
        type=int,
        default=6,
        help="run qiskit on every K-th case of each qubit count (default 6; 1 = all)",
    )
    parser.add_argument("--no-qiskit", action="store_true", help="run our side only")
    args = parser.parse_args()

    cases, pauli_matrix = load_cases()
    cases = select(cases, args.limit)
    vqe, skill, defaults = load_skill("quantum-vqe")
    run_qiskit = not args.no_qiskit
    if run_qiskit:
        import qiskit

        qiskit_version = qiskit.__version__
        qiskit_vqe({"Z": 1.0}, 1, seed=0, restarts=0, iterations=1, skill=skill)  # imports
    vqe({"hamiltonian": {"Z": 1.0}})  # warm-up, untimed

    # (n, case id, ours error, ours s, starts, evals, qiskit error, qiskit s, qiskit evals)
    rows = []
    index_in_n: dict[int, int] = {}
    for case_id, terms in cases:
        n = len(next(iter(terms)))
        index_in_n[n] = index_in_n.get(n, -1) + 1
        exact = float(np.linalg.eigvalsh(pauli_matrix(terms))[0])
        t0 = time.perf_counter()
        out = vqe({"hamiltonian": terms})
        ours_s = time.perf_counter() - t0
        q_err = q_s = q_evals = float("nan")
        if run_qiskit and index_in_n[n] % args.qiskit_every == 0:
            t0 = time.perf_counter()
            q_energy, _, q_evals = qiskit_vqe(
                terms,
                skill["auto_reps"](n),
                seed=defaults["seed"],
                restarts=defaults["restarts"],
                iterations=defaults["iterations"],
                skill=skill,
            )
            q_s = time.perf_counter() - t0
            q_err = q_energy - exact
        rows.append(
            (
                n,
                case_id,
                out["eigenvalue"] - exact,
                ours_s,
                out["starts"],
                out["evaluations"],
                q_err,
                q_s,
                q_evals,
            )
        )

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{len(rows)} real Pauli Hamiltonians of 1-4 qubits (tests/skills/test_vqe_random.py"
        f"{'' if args.limit is None else f', first {args.limit} per qubit count'}); "
        f"quantum-vqe defaults {defaults}"
    )
    print(
        f"{platform.processor() or platform.machine()}, {cores} cores ({usable} usable), "
        f"load average {load:.1f} at the end; Python {platform.python_version()}, "
        f"numpy {np.__version__}"
        + (f", qiskit {qiskit_version}" if run_qiskit else "")
        + f"; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    print()
    header = (
        f"{'qubits':>6} {'cases':>5} {'worst error (Ha)':>16} {'time (s)':>9} {'starts':>6} "
        f"{'evals':>6} | {'cases':>5} {'ours (s)':>9} {'qiskit (s)':>10} {'qiskit/ours':>11} "
        f"{'qiskit worst (Ha)':>17} {'evals ours/qiskit':>17}"
    )
    print(f"{'ours: all cases':^55}| {'same subset, ours and qiskit':^76}")
    print(header)
    print("-" * len(header))
    groups = [(str(n), [r for r in rows if r[0] == n]) for n in sorted({r[0] for r in rows})]
    for label, group in [*groups, ("all", rows)]:
        sub = [r for r in group if not np.isnan(r[7])]
        sub_ours = sum(r[3] for r in sub)
        sub_q = sum(r[7] for r in sub)
        qiskit_part = (
            f"{len(sub):>5} {sub_ours:>9.3f} {sub_q:>10.2f} {sub_q / sub_ours:>10.0f}x "
            f"{max(r[6] for r in sub):>17.2e} "
            f"{f'{np.mean([r[5] for r in sub]):.0f}/{np.mean([r[8] for r in sub]):.0f}':>17}"
            if sub
            else f"{0:>5}"
        )
        print(
            f"{label:>6} {len(group):>5} {max(r[2] for r in group):>16.2e} "
            f"{sum(r[3] for r in group):>9.2f} {np.mean([r[4] for r in group]):>6.2f} "
            f"{np.mean([r[5] for r in group]):>6.0f} | {qiskit_part}"
        )
    worst = max(rows, key=lambda r: r[2])
    print()
    print(
        f"our worst error {worst[2]:.2e} Ha ({worst[1]}) over {len(rows)} cases; "
        f"chemical accuracy 1.6e-03 Ha: {'PASS' if worst[2] <= 1.6e-3 else 'MISS'}; "
        f"our total time {sum(r[3] for r in rows):.2f} s"
    )
    sub = [r for r in rows if not np.isnan(r[7])]
    if sub:
        ours_sub, q_sub = sum(r[3] for r in sub), sum(r[7] for r in sub)
        q_worst = max(sub, key=lambda r: r[6])
        ours_evals, q_evals = sum(r[5] for r in sub), sum(r[8] for r in sub)
        print(
            f"on the {len(sub)} cases both ran: ours {ours_sub:.2f} s, qiskit {q_sub:.2f} s, "
            f"ratio qiskit/ours {q_sub / ours_sub:.0f}x; worst error ours "
            f"{max(r[2] for r in sub):.2e} Ha, qiskit {q_worst[6]:.2e} Ha ({q_worst[1]})"
        )
        print(
            f"per energy-and-gradient evaluation: ours {ours_sub / ours_evals * 1e3:.2f} ms "
            f"({ours_evals} evaluations), qiskit {q_sub / q_evals * 1e3:.1f} ms ({q_evals})"
        )


if __name__ == "__main__":
    main()
