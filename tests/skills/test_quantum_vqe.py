"""Tests of skills/quantum-vqe.md (state-vector VQE with a RealAmplitudes-style ansatz).

The defaults on 240 random real Hamiltonians of 1-4 qubits: tests/skills/test_vqe_random.py.
"""

import itertools
import math

import numpy as np
import pytest
from pauli import pauli_matrix

CHEMICAL_ACCURACY = 1.6e-3  # Hartree
FCI_TOTAL_0735 = -1.137306036


def exact_ground(terms):
    return float(np.linalg.eigvalsh(pauli_matrix(terms))[0])


def random_real_hamiltonian(num_qubits, seed, num_terms=None):
    """Random coefficients in [-1, 1] on distinct Pauli strings with an even number of Y."""
    rng = np.random.default_rng(seed)
    available = (4**num_qubits + 2**num_qubits) // 2 - 1  # even-Y strings, excluding none
    num_terms = min(num_terms or 2 * num_qubits + 3, available)
    terms = {}
    while len(terms) < num_terms:
        label = "".join(rng.choice(list("IXYZ"), num_qubits))
        if label.count("Y") % 2 == 0:
            terms[label] = float(rng.uniform(-1.0, 1.0))
    return terms


# Defaults for every qubit count, plus explicit depths that workflows written for version
# 1.0.0 set (they keep working; `restarts` is now an upper bound).
RANDOM_CASES = [
    (1, {}, [11, 12, 13]),
    (2, {}, [21, 22, 23]),
    (3, {}, [31, 32, 288]),  # seed 288: 1.0.0's defaults stopped 1.8 mHa above the ground state
    (4, {}, [41, 42]),
    (3, {"ansatz": "RYRYRY"}, [31, 32]),
    (4, {"ansatz": "RYRYRYRY", "restarts": 3}, [41, 42]),
]


@pytest.fixture(scope="module")
def vqe(skill_execute):
    return skill_execute("quantum-vqe")


@pytest.fixture(scope="module")
def h2(skill_execute):
    return skill_execute("quantum-hamiltonian")({"bond_length": 0.735})


@pytest.fixture(scope="module")
def h2_result(vqe, h2):
    return vqe({"hamiltonian": h2["hamiltonian"], "energy_offset": h2["nuclear_repulsion"]})


def test_h2_total_energy_within_chemical_accuracy(h2_result, h2):
    assert abs(h2_result["eigenvalue"] - FCI_TOTAL_0735) < CHEMICAL_ACCURACY
    exact_total = exact_ground(h2["hamiltonian"]) + h2["nuclear_repulsion"]
    assert abs(h2_result["eigenvalue"] - exact_total) < CHEMICAL_ACCURACY
    assert h2_result["eigenvalue"] >= exact_total - 1e-9  # variational bound


def test_h2_electronic_energy_without_offset(vqe, h2):
    out = vqe({"hamiltonian": h2["hamiltonian"]})
    assert abs(out["eigenvalue"] - exact_ground(h2["hamiltonian"])) < CHEMICAL_ACCURACY


def test_output_types(h2_result):
    assert set(h2_result) == {
        "eigenvalue",
        "convergence_trace",
        "iterations",
        "optimal_parameters",
        "circuit_diagram",
        "num_parameters",
        "starts",
        "evaluations",
        "exact_eigenvalue",
    }
    assert type(h2_result["eigenvalue"]) is float
    assert type(h2_result["exact_eigenvalue"]) is float
    assert type(h2_result["starts"]) is int and type(h2_result["evaluations"]) is int
    assert type(h2_result["iterations"]) is int and 1 <= h2_result["iterations"] <= 100
    assert type(h2_result["num_parameters"]) is int
    assert all(type(v) is float for v in h2_result["convergence_trace"])
    assert all(type(v) is float for v in h2_result["optimal_parameters"])
    assert isinstance(h2_result["circuit_diagram"], str)


def test_convergence_trace(h2_result):
    trace = h2_result["convergence_trace"]
    assert len(trace) == h2_result["iterations"] + 1  # start point + one per iteration
    assert trace[-1] == h2_result["eigenvalue"]
    assert trace[-1] < trace[0]
    assert trace[-1] <= min(trace) + 1e-12
    # "monotone-ish": the second half of the trace never rises by more than 1 mHa
    tail = trace[len(trace) // 2 :]
    assert all(b <= a + 1e-3 for a, b in itertools.pairwise(tail))


def test_parameters_and_diagram(h2_result):
    params = h2_result["optimal_parameters"]
    assert h2_result["num_parameters"] == len(params) == 4  # 2 qubits x (reps 1 + 1)
    lines = h2_result["circuit_diagram"].splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("q0: ") and lines[1].startswith("q1: ")
    assert len(lines[0]) == len(lines[1])
    assert "■" in lines[0] and "X" in lines[1]
    # qiskit order: layer by layer, qubit 0 first -> q0 shows params[0], params[2]
    assert f"RY({params[0]:.3f})" in lines[0] and f"RY({params[2]:.3f})" in lines[0]
    assert f"RY({params[1]:.3f})" in lines[1] and f"RY({params[3]:.3f})" in lines[1]


def test_energy_matches_qiskit_statevector(vqe, h2):
    """Independent check of the ansatz and the Pauli/qubit-order convention against qiskit."""
    circuit_library = pytest.importorskip("qiskit.circuit.library")
    qi = pytest.importorskip("qiskit.quantum_info")
    for n, ansatz, reps, terms in [
        (2, "RY", 1, h2["hamiltonian"]),
        (3, "RYRY", 2, random_real_hamiltonian(3, 5)),
        (4, "auto", 6, random_real_hamiltonian(4, 6)),
    ]:
        out = vqe({"hamiltonian": terms, "ansatz": ansatz, "restarts": 0, "iterations": 5})
        qc = circuit_library.real_amplitudes(n, reps=reps, entanglement="linear")
        state = qi.Statevector(qc.assign_parameters(out["optimal_parameters"]))
        energy = state.expectation_value(qi.SparsePauliOp.from_list(list(terms.items()))).real
        assert energy == pytest.approx(out["eigenvalue"], abs=1e-10)
        assert out["num_parameters"] == qc.num_parameters


def test_reproducible_and_seed_dependent(vqe, h2):
    a = vqe({"hamiltonian": h2["hamiltonian"], "seed": 3, "restarts": 0})
    b = vqe({"hamiltonian": h2["hamiltonian"], "seed": 3, "restarts": 0})
    c = vqe({"hamiltonian": h2["hamiltonian"], "seed": 4, "restarts": 0})
    assert a == b
    assert a["convergence_trace"][0] != c["convergence_trace"][0]


def test_energy_offset_shifts_everything(vqe, h2):
    base = vqe({"hamiltonian": h2["hamiltonian"], "energy_offset": 0.0})
    shifted = vqe({"hamiltonian": h2["hamiltonian"], "energy_offset": 10.0})
    assert shifted["eigenvalue"] == pytest.approx(base["eigenvalue"] + 10.0, abs=1e-12)
    np.testing.assert_allclose(
        shifted["convergence_trace"], np.array(base["convergence_trace"]) + 10.0, atol=1e-12
    )


def test_iteration_cap(vqe, h2):
    out = vqe({"hamiltonian": h2["hamiltonian"], "iterations": 2, "restarts": 0})
    assert out["iterations"] <= 2
    assert len(out["convergence_trace"]) <= 4


def test_deeper_ansatz_parameter_count(vqe):
    out = vqe(
        {"hamiltonian": {"ZZI": 1.0, "IXX": 0.5}, "ansatz": "RYRY", "restarts": 0, "iterations": 3}
    )
    assert out["num_parameters"] == 9 == len(out["optimal_parameters"])
    assert len(out["circuit_diagram"].splitlines()) == 3


@pytest.mark.parametrize(
    "num_qubits,options,seeds",
    RANDOM_CASES,
    ids=[f"{c[0]}q-{c[1].get('ansatz', 'auto')}" for c in RANDOM_CASES],
)
def test_random_real_hamiltonians(vqe, num_qubits, options, seeds):
    for seed in seeds:
        terms = random_real_hamiltonian(num_qubits, seed)
        out = vqe({"hamiltonian": terms, **options})
        exact = exact_ground(terms)
        assert out["eigenvalue"] >= exact - 1e-9
        assert out["eigenvalue"] - exact < CHEMICAL_ACCURACY, (seed, terms)


def test_complex_hamiltonian_limit_is_upper_bound(vqe):
    """Documented limit: a lone Y has ground -1 but real states give <Y> = 0."""
    out = vqe({"hamiltonian": {"Y": 1.0}})
    assert out["eigenvalue"] == pytest.approx(0.0, abs=1e-9)
    assert out["eigenvalue"] > exact_ground({"Y": 1.0}) + 0.5
    assert out["exact_eigenvalue"] == pytest.approx(-1.0, abs=1e-12)  # the reference shows the gap


@pytest.mark.parametrize(
    "hamiltonian,match",
    [
        ({}, "non-empty"),
        ([("ZZ", 1.0)], "object"),
        ({"ZA": 1.0}, r"invalid character.*'A'"),
        ({"zz": 1.0}, "invalid character"),
        ({"": 1.0}, "0 characters"),
        ({"IIIIIII": 1.0}, "7 characters"),
        ({"ZZ": 1.0, "Z": 0.5}, "same length"),
        ({"ZZ": "1.0"}, "coefficient of 'ZZ'"),
        ({"ZZ": True}, "coefficient of 'ZZ'"),
        ({"ZZ": math.nan}, "finite"),
        ({"ZZ": 1 + 1j}, "real"),
        ({7: 1.0}, "not a string"),
    ],
)
def test_bad_hamiltonian(vqe, hamiltonian, match):
    with pytest.raises(ValueError, match=match):
        vqe({"hamiltonian": hamiltonian})


@pytest.mark.parametrize(
    "options,match",
    [
        ({"ansatz": "RX"}, "ansatz"),
        ({"ansatz": "AUTO"}, "ansatz"),
        ({"ansatz": "ry"}, "ansatz"),
        ({"ansatz": ""}, "ansatz"),
        ({"ansatz": "RY" * 11}, "at most 10"),
        ({"iterations": 0}, "iterations"),
        ({"iterations": 2.5}, "iterations"),
        ({"seed": -1}, "seed"),
        ({"restarts": -1}, "restarts"),
        ({"energy_offset": "0.7"}, "energy_offset.*Hartree"),
    ],
)
def test_bad_options(vqe, options, match):
    with pytest.raises(ValueError, match=match):
        vqe({"hamiltonian": {"ZZ": 1.0}, **options})


def test_auto_ansatz_depth_grows_with_the_qubit_count(vqe):
    """auto = n(n-1)/2 repetitions (at least 1, at most 10): n x (reps + 1) parameters."""
    for n, params in [(1, 2), (2, 4), (3, 12), (4, 28), (5, 55), (6, 66)]:
        out = vqe({"hamiltonian": {"Z" * n: 1.0}, "restarts": 0, "iterations": 1})
        assert out["num_parameters"] == params == len(out["optimal_parameters"])
        assert len(out["circuit_diagram"].splitlines()) == n
    explicit = vqe(
        {"hamiltonian": {"ZZZ": 1.0}, "ansatz": "RYRYRY", "restarts": 0, "iterations": 1}
    )
    default = vqe({"hamiltonian": {"ZZZ": 1.0}, "restarts": 0, "iterations": 1})
    assert explicit == default  # auto on 3 qubits is exactly "RYRYRY"


def test_starts_stop_when_two_agree(vqe, h2):
    out = vqe({"hamiltonian": h2["hamiltonian"]})
    assert out["starts"] == 2  # both starts find the ground state
    single = vqe({"hamiltonian": h2["hamiltonian"], "restarts": 0})
    assert single["starts"] == 1
    assert single["evaluations"] < out["evaluations"]
    # The first start is the same with and without restarts (same generator, drawn first),
    # so more starts can only lower the result.
    assert out["eigenvalue"] <= single["eigenvalue"]


def test_starts_continue_until_agreement_and_respect_the_cap(vqe):
    """One repetition is far too shallow for this 4-qubit Hamiltonian: its starts stop in
    different local minima, so the run keeps starting until two agree or the cap is hit."""
    terms = random_real_hamiltonian(4, 20)
    capped = vqe({"hamiltonian": terms, "ansatz": "RY", "restarts": 2})
    assert capped["starts"] == 3
    wide = vqe({"hamiltonian": terms, "ansatz": "RY", "restarts": 20})
    assert 3 < wide["starts"] <= 21
    assert wide["eigenvalue"] <= capped["eigenvalue"]  # the same first 3 starts, then more
    assert wide["eigenvalue"] - exact_ground(terms) > CHEMICAL_ACCURACY  # the depth is the limit
    # Starts cut short by the iteration cap (almost) never agree: every allowed start runs.
    short = vqe({"hamiltonian": terms, "iterations": 2, "restarts": 4})
    assert short["starts"] == 5
    assert short["evaluations"] >= 5 * 2


def test_eigenvalue_is_the_variational_energy_not_the_reference(vqe):
    """The eigenvalue port is <psi(theta)|H|psi(theta)> at the returned angles, even when it
    misses the exact value (a capped run); exact_eigenvalue is only reported beside it."""
    qi = pytest.importorskip("qiskit.quantum_info")
    circuit_library = pytest.importorskip("qiskit.circuit.library")
    terms = random_real_hamiltonian(4, 9)
    out = vqe({"hamiltonian": terms, "iterations": 3, "restarts": 0, "energy_offset": 0.5})
    qc = circuit_library.real_amplitudes(4, reps=6, entanglement="linear")
    state = qi.Statevector(qc.assign_parameters(out["optimal_parameters"]))
    energy = state.expectation_value(qi.SparsePauliOp.from_list(list(terms.items()))).real
    assert out["eigenvalue"] == pytest.approx(energy + 0.5, abs=1e-10)
    assert out["exact_eigenvalue"] == pytest.approx(exact_ground(terms) + 0.5, abs=1e-10)
    assert out["eigenvalue"] > out["exact_eigenvalue"] + 1e-3  # 3 iterations are not enough


def test_adjoint_gradient_equals_parameter_shift_on_qiskit(skill_source):
    """The skill's adjoint gradient against the parameter-shift rule evaluated with qiskit's
    Statevector on qiskit's own RealAmplitudes circuit (independent simulator and ansatz)."""
    qi = pytest.importorskip("qiskit.quantum_info")
    circuit_library = pytest.importorskip("qiskit.circuit.library")
    namespace: dict = {"__name__": "quantum_vqe_internals"}
    exec(compile(skill_source("quantum-vqe"), "skills/quantum-vqe.md", "exec"), namespace)  # noqa: S102
    terms = random_real_hamiltonian(3, 17)
    operator = qi.SparsePauliOp.from_list(list(terms.items()))
    reps = 2
    qc = circuit_library.real_amplitudes(3, reps=reps, entanglement="linear")
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, qc.num_parameters)

    def qiskit_energy(angles):
        state = qi.Statevector(qc.assign_parameters(angles))
        return state.expectation_value(operator).real

    gather = namespace["_cnot_chain_permutation"](3)
    energy, gradient = namespace["_energy_and_gradient"](
        theta,
        pauli_matrix(terms).real,
        3,
        reps,
        gather,
        np.argsort(gather),
        namespace["_generators"](3),
    )
    shift = 0.5 * np.pi * np.eye(len(theta))
    expected = [0.5 * (qiskit_energy(theta + s) - qiskit_energy(theta - s)) for s in shift]
    assert energy == pytest.approx(qiskit_energy(theta), abs=1e-12)
    np.testing.assert_allclose(gradient, expected, atol=1e-12)
    assert np.abs(gradient).max() > 1e-2  # a random point, not a stationary one
