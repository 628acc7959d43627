"""Tests of skills/quantum-vqe.md (state-vector VQE with a RealAmplitudes-style ansatz)."""

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


# Settings documented in the skill's prose (pass for these seeds and in a 100-seed survey).
RANDOM_CASES = [
    (1, {}, [11, 12, 13]),
    (2, {}, [21, 22, 23]),
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
    }
    assert type(h2_result["eigenvalue"]) is float
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
    for n, ansatz, terms in [
        (2, "RY", h2["hamiltonian"]),
        (3, "RYRY", random_real_hamiltonian(3, 5)),
    ]:
        out = vqe({"hamiltonian": terms, "ansatz": ansatz, "restarts": 0, "iterations": 5})
        reps = len(ansatz) // 2
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
    "num_qubits,options,seeds", RANDOM_CASES, ids=[f"{c[0]}q" for c in RANDOM_CASES]
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
