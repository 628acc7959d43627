"""quantum-vqe with its DEFAULT inputs on 240 seeded random real Hamiltonians of 1-4 qubits.

The claim under test (skills/quantum-vqe.md, "Accuracy"): for every Pauli Hamiltonian of 1-4
qubits whose strings are products of I, X, Z and an even number of Y (a real symmetric matrix)
with coefficients in [-1, 1], the default run ends within chemical accuracy (1.6 mHa) of the
exact lowest eigenvalue. The reference is computed here, independently of the skill, with
numpy.linalg.eigvalsh of tests/pauli.py's dense matrix.

``CASES`` is also the benchmark set of benchmarks/vqe.py (it imports this module), so the
benchmark and the test measure the same Hamiltonians.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pauli import pauli_matrix

CHEMICAL_ACCURACY = 1.6e-3  # Hartree
SEED = 20261130
RANDOM_PER_QUBIT_COUNT = 50


def real_labels(num_qubits: int) -> list[str]:
    """All Pauli strings of n qubits with an even number of Y (real matrices), identity first."""
    return [
        "".join(p)
        for p in itertools.product("IXZY", repeat=num_qubits)
        if "".join(p).count("Y") % 2 == 0
    ]


def _random_terms(rng, labels: list[str], num_terms: int) -> dict[str, float]:
    picked = rng.choice(len(labels), size=num_terms, replace=False)
    return {labels[i]: float(rng.uniform(-1.0, 1.0)) for i in sorted(picked)}


def make_cases(seed: int = SEED, per_qubit_count: int = RANDOM_PER_QUBIT_COUNT):
    """[(case id, {pauli string: coefficient})]: edge cases, then random ones, deterministic.

    Per qubit count n = 1..4 (10 edge cases each):
      identity only; all-zero coefficients; one random non-identity term; a diagonal (I/Z)
      Hamiltonian with +-1 coefficients (degenerate ground states); a single-Z field
      (2**(n-1)-fold degenerate ground space); a ferromagnetic ZZ chain (2-fold degenerate,
      or the field -X on 1 qubit); a near-degenerate gap (ZZ chain split by 1e-4 of X on qubit
      0; on 1 qubit a 1e-4 Z field); all real strings with random coefficients; a sum of every string with coefficient
      +1; every string with coefficient -1.
    Random (``per_qubit_count`` per n): half with 1 to 2n+3 terms, half with 1 to all
    (4**n + 2**n) / 2 real strings; distinct strings, coefficients uniform in [-1, 1].
    """
    rng = np.random.default_rng(seed)
    cases = []
    for n in range(1, 5):
        labels = real_labels(n)
        non_identity = labels[1:]
        identity = "I" * n
        chain = (
            {"I" * (n - 2 - q) + "ZZ" + "I" * q: -1.0 for q in range(n - 1)}
            if n > 1
            else {"X": -1.0}
        )
        diagonal = [label for label in non_identity if set(label) <= {"I", "Z"}]
        edge = {
            "identity": {identity: float(rng.uniform(-1.0, 1.0))},
            "zero": {identity: 0.0, "Z" * n: 0.0},
            "single-term": {
                non_identity[rng.integers(len(non_identity))]: float(rng.uniform(-1, 1))
            },
            "diagonal-pm1": {label: float(rng.choice([-1.0, 1.0])) for label in diagonal},
            "z-field": {"I" * (n - 1) + "Z": 1.0},
            "zz-chain": chain,
            "near-degenerate": (
                {**chain, "I" * (n - 1) + "X": 1e-4} if n > 1 else {"I": 0.5, "Z": 1e-4}
            ),
            "all-strings": {label: float(rng.uniform(-1.0, 1.0)) for label in labels},
            "all-plus-one": dict.fromkeys(labels, 1.0),
            "all-minus-one": dict.fromkeys(labels, -1.0),
        }
        cases += [(f"{n}q-{name}", terms) for name, terms in edge.items()]
        for i in range(per_qubit_count):
            most = 2 * n + 3 if i % 2 == 0 else len(non_identity)
            num_terms = int(rng.integers(1, min(most, len(labels)) + 1))
            cases.append((f"{n}q-random-{i}", _random_terms(rng, labels, num_terms)))
    return cases


CASES = make_cases()


def exact_ground(terms: dict[str, float]) -> float:
    return float(np.linalg.eigvalsh(pauli_matrix(terms))[0])


def test_case_set_covers_what_it_claims():
    assert len(CASES) >= 200
    assert len({case_id for case_id, _ in CASES}) == len(CASES)
    for case_id, terms in CASES:
        n = len(next(iter(terms)))
        assert case_id.startswith(f"{n}q-") and 1 <= n <= 4
        assert all(len(label) == n and label.count("Y") % 2 == 0 for label in terms)
        assert all(-1.0 <= c <= 1.0 for c in terms.values())
        assert np.allclose(pauli_matrix(terms).imag, 0.0)  # real symmetric
    counts = [len(terms) for case_id, terms in CASES if "random" in case_id]
    assert min(counts) == 1 and max(counts) > 60  # single terms up to most 4-qubit strings
    # Degenerate ground states are in the set (the single-Z field: half the spectrum).
    spectrum = np.linalg.eigvalsh(pauli_matrix({"IIIZ": 1.0}))
    assert np.sum(np.isclose(spectrum, spectrum[0])) == 8


@pytest.fixture(scope="module")
def default_results(skill_execute):
    """(case id, terms, outputs) for every case with the skill's default inputs."""
    vqe = skill_execute("quantum-vqe")  # merges the frontmatter defaults, as the engine does
    return [(case_id, terms, vqe({"hamiltonian": terms})) for case_id, terms in CASES]


def test_defaults_reach_chemical_accuracy_on_every_case(default_results):
    errors = []
    for case_id, terms, out in default_results:
        error = out["eigenvalue"] - exact_ground(terms)
        assert error >= -1e-9, f"{case_id}: below the exact ground state (not variational)"
        errors.append((error, case_id, terms))
    worst, case_id, terms = max(errors)
    assert worst <= CHEMICAL_ACCURACY, f"worst error {worst:.3e} Ha in {case_id}: {terms}"


def test_outputs_report_starts_evaluations_and_a_separate_reference(default_results):
    for case_id, terms, out in default_results:
        assert type(out["starts"]) is int and 2 <= out["starts"] <= 8, case_id
        assert type(out["evaluations"]) is int and out["evaluations"] >= out["starts"], case_id
        # The reference port is exact; the eigenvalue port stays the variational energy.
        assert out["exact_eigenvalue"] == pytest.approx(exact_ground(terms), abs=1e-10)
        assert out["convergence_trace"][-1] == out["eigenvalue"]
        n = len(next(iter(terms)))
        assert out["num_parameters"] == {1: 2, 2: 4, 3: 12, 4: 28}[n]
