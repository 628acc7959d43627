"""VQE benchmark: our quantum-vqe skill against qiskit on H2 / STO-3G at 0.735 Å.

Run:  python benchmarks/vqe.py [--repeats 5] [--seed 7] [--maxiter 100]

Both sides solve the same 2-qubit Hamiltonian (from the quantum-hamiltonian skill)
with the same ansatz (RealAmplitudes, reps=1, linear CNOT), the same start point
(numpy default_rng(seed).uniform(-pi, pi, 4), which is the skill's first start), the
same optimizer (scipy SLSQP, same maxiter and ftol=1e-10) and the same exact
parameter-shift gradient. Only the expectation values differ: our numpy state-vector
code inside the skill versus qiskit's StatevectorEstimator.

Timing: wall time of the solve only, best of --repeats. Our time covers the whole
skill call from the Pauli dictionary (validation, dense matrix, optimisation). The
qiskit time covers only the optimisation: building the SparsePauliOp, the circuit and
the estimator is done before the clock starts, which favours qiskit. A third row shows
qiskit with SLSQP's own finite-difference gradient (what a VQE without a gradient
object does).

The skills are loaded by executing their Markdown code block directly, so the
benchmark does not depend on the llmos_jupyter package.

BLAS threads are limited to 1 (unless already set in the environment): for 4x4
matrices threads only add overhead, and on a loaded machine OpenBLAS threads can slow
SLSQP by an order of magnitude. The setting applies to both sides equally.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import re
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

SKILLS = Path(__file__).resolve().parents[1] / "skills"
_PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def load_skill(skill_id: str):
    """exec the single ```python block of skills/<skill_id>.md and return execute."""
    text = (SKILLS / f"{skill_id}.md").read_text(encoding="utf-8")
    (code,) = _PYTHON_BLOCK.findall(text)
    namespace: dict = {"__name__": f"skill_{skill_id.replace('-', '_')}"}
    exec(compile(code, str(SKILLS / f"{skill_id}.md"), "exec"), namespace)
    return namespace["execute"]


def pauli_matrix(terms: dict) -> np.ndarray:
    n = len(next(iter(terms)))
    total = np.zeros((2**n, 2**n), dtype=complex)
    for label, coeff in terms.items():
        m = np.array([[1.0 + 0j]])
        for ch in label:
            m = np.kron(m, PAULI[ch])
        total += coeff * m
    return total


def best_of(fn, repeats: int):
    """(best wall time in s, result of the last call)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def make_qiskit_solver(hamiltonian: dict, x0: np.ndarray, maxiter: int, gradient: bool):
    """A closure that runs qiskit's side of the comparison; setup is done here, untimed."""
    from qiskit.circuit.library import real_amplitudes
    from qiskit.primitives import StatevectorEstimator
    from qiskit.quantum_info import SparsePauliOp

    operator = SparsePauliOp.from_list(list(hamiltonian.items()))
    ansatz = real_amplitudes(operator.num_qubits, reps=1, entanglement="linear")
    estimator = StatevectorEstimator()
    num_params = ansatz.num_parameters
    shifts = 0.5 * np.pi * np.vstack((np.eye(num_params), -np.eye(num_params)))
    counter = {"circuits": 0}

    def energy(theta):
        counter["circuits"] += 1
        return float(estimator.run([(ansatz, operator, theta)]).result()[0].data.evs)

    def parameter_shift(theta):
        counter["circuits"] += 2 * num_params
        evs = estimator.run([(ansatz, operator, theta[None, :] + shifts)]).result()[0].data.evs
        return 0.5 * (evs[:num_params] - evs[num_params:])

    def solve():
        counter["circuits"] = 0
        result = minimize(
            energy,
            x0,
            jac=parameter_shift if gradient else None,
            method="SLSQP",
            options={"maxiter": maxiter, "ftol": 1e-10},
        )
        return {
            "eigenvalue": float(result.fun),
            "iterations": int(result.nit),
            "circuits": counter["circuits"],
        }

    return solve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed repeats, best is reported (default 5)"
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the common start point (default 7)"
    )
    parser.add_argument("--maxiter", type=int, default=100, help="SLSQP maxiter (default 100)")
    args = parser.parse_args()

    import qiskit

    try:
        import qiskit_algorithms

        algorithms = (
            "installed (not used: the explicit loop keeps start point and gradient identical)"
        )
    except ImportError:
        algorithms = "not installed"

    # Hamiltonian construction (untimed).
    h2 = load_skill("quantum-hamiltonian")({"bond_length": 0.735})
    hamiltonian = h2["hamiltonian"]
    exact = float(np.linalg.eigvalsh(pauli_matrix(hamiltonian))[0])
    vqe = load_skill("quantum-vqe")
    x0 = np.random.default_rng(args.seed).uniform(-np.pi, np.pi, 4)  # = the skill's first start

    ours_inputs = {
        "hamiltonian": hamiltonian,
        "iterations": args.maxiter,
        "ansatz": "RY",
        "seed": args.seed,
        "restarts": 0,  # one start, the same x0 as qiskit
        "energy_offset": 0.0,
    }
    rows = []
    t, out = best_of(lambda: vqe(ours_inputs), args.repeats)
    rows.append(("ours (numpy statevector, skill)", t, out["eigenvalue"], out["iterations"]))
    for label, gradient in (
        ("qiskit StatevectorEstimator", True),
        ("qiskit, finite-diff gradient", False),
    ):
        solve = make_qiskit_solver(hamiltonian, x0, args.maxiter, gradient)
        t, res = best_of(solve, args.repeats)
        rows.append((label, t, res["eigenvalue"], res["iterations"]))

    print("H2 / STO-3G, 0.735 Å, 2 qubits (parity mapping, two-qubit reduction)")
    nuclear = h2["nuclear_repulsion"]
    print(
        f"exact electronic ground energy {exact:.9f} Ha (numpy eigvalsh); "
        f"nuclear repulsion {nuclear:.9f} Ha; FCI total {exact + nuclear:.9f} Ha"
    )
    print(
        f"ansatz RealAmplitudes reps=1 (linear CNOT), SLSQP maxiter={args.maxiter} ftol=1e-10, "
        f"start = default_rng({args.seed}).uniform(-pi, pi, 4), best of {args.repeats}"
    )
    print(
        f"qiskit {qiskit.__version__}, qiskit-algorithms {algorithms}; "
        f"numpy {np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    print()
    header = (
        f"{'method':<33} {'time (ms)':>10} {'energy (Ha)':>16} "
        f"{'|E-E_exact| (Ha)':>17} {'iters':>6}"
    )
    print(header)
    print("-" * len(header))
    for label, t, energy, iters in rows:
        error = abs(energy - exact)
        print(f"{label:<33} {t * 1e3:>10.2f} {energy:>16.10f} {error:>17.2e} {iters:>6d}")
    print()
    ours_time = rows[0][1]
    for label, t, _, _ in rows[1:]:
        print(f"speed ratio {label} / ours: {t / ours_time:.1f}x")


if __name__ == "__main__":
    main()
