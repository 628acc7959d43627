"""Tests of skills/quantum-hamiltonian.md (H2 / STO-3G -> 2-qubit Pauli Hamiltonian)."""

import math

import numpy as np
import pytest
from pauli import pauli_matrix

# qiskit-nature, ParityMapper + two-qubit reduction, H2 STO-3G at 0.735 Å (electronic part).
REFERENCE_0735 = {
    "II": -1.052373245772859,
    "IZ": 0.39793742484318045,
    "ZI": -0.39793742484318045,
    "ZZ": -0.01128010425623538,
    "XX": 0.18093119978423156,
}
EXACT_ELECTRONIC_0735 = -1.857275030
NUCLEAR_REPULSION_0735 = 0.719968994
FCI_TOTAL_0735 = -1.137306036
RHF_TOTAL_0735 = -1.116998997  # PySCF / qiskit-nature RHF STO-3G at 0.735 Å
E_H_ATOM_STO3G = -0.466581850  # Szabo & Ostlund, STO-3G hydrogen atom (zeta = 1.24)




@pytest.fixture(scope="module")
def ham(skill_execute):
    return skill_execute("quantum-hamiltonian")


@pytest.fixture(scope="module")
def h2_0735(ham):
    return ham({"bond_length": 0.735})


def test_outputs_types(h2_0735):
    assert set(h2_0735) == {"hamiltonian", "nuclear_repulsion", "hf_energy", "num_qubits"}
    assert h2_0735["num_qubits"] == 2 and type(h2_0735["num_qubits"]) is int
    assert isinstance(h2_0735["hamiltonian"], dict)
    for label, coeff in h2_0735["hamiltonian"].items():
        assert len(label) == 2 and set(label) <= set("IXYZ")
        assert type(coeff) is float and abs(coeff) >= 1e-10
    assert type(h2_0735["nuclear_repulsion"]) is float
    assert type(h2_0735["hf_energy"]) is float


def test_default_is_0735(ham, h2_0735):
    assert ham({}) == h2_0735


def test_spectrum_matches_reference_at_0735(h2_0735):
    ours = np.linalg.eigvalsh(pauli_matrix(h2_0735["hamiltonian"]))
    ref = np.linalg.eigvalsh(pauli_matrix(REFERENCE_0735))
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_known_energies_at_0735(h2_0735):
    ground = np.linalg.eigvalsh(pauli_matrix(h2_0735["hamiltonian"]))[0]
    assert ground == pytest.approx(EXACT_ELECTRONIC_0735, abs=1e-6)
    assert h2_0735["nuclear_repulsion"] == pytest.approx(NUCLEAR_REPULSION_0735, abs=1e-8)
    assert ground + h2_0735["nuclear_repulsion"] == pytest.approx(FCI_TOTAL_0735, abs=1e-6)
    assert h2_0735["hf_energy"] == pytest.approx(RHF_TOTAL_0735, abs=1e-6)


def test_nuclear_repulsion_is_inverse_distance_in_bohr(ham):
    for r in (0.3, 0.9, 2.5):
        assert ham({"bond_length": r})["nuclear_repulsion"] == pytest.approx(
            0.529177210903 / r, rel=1e-12
        )


def test_hermitian_and_real(h2_0735):
    m = pauli_matrix(h2_0735["hamiltonian"])
    np.testing.assert_allclose(m, m.conj().T, atol=1e-14)
    assert np.abs(m.imag).max() < 1e-14


def test_qiskit_convention_gives_same_matrix(h2_0735):
    qi = pytest.importorskip("qiskit.quantum_info")
    m = qi.SparsePauliOp.from_list(list(h2_0735["hamiltonian"].items())).to_matrix()
    np.testing.assert_allclose(m, pauli_matrix(h2_0735["hamiltonian"]), atol=1e-14)


@pytest.mark.parametrize("r", [0.5, 1.0, 1.5, 2.5])
def test_variational_fci_below_hf(ham, r):
    out = ham({"bond_length": r})
    fci = np.linalg.eigvalsh(pauli_matrix(out["hamiltonian"]))[0] + out["nuclear_repulsion"]
    assert fci < out["hf_energy"]


def test_potential_energy_curve_shape(ham):
    def fci(r):
        out = ham({"bond_length": r})
        return np.linalg.eigvalsh(pauli_matrix(out["hamiltonian"]))[0] + out["nuclear_repulsion"]

    # STO-3G FCI minimum is near 0.735 Å.
    assert fci(0.735) < fci(0.65) and fci(0.735) < fci(0.82)
    # Dissociation: two STO-3G hydrogen atoms.
    assert fci(3.0) == pytest.approx(2 * E_H_ATOM_STO3G, abs=1e-3)


@pytest.mark.parametrize("bad", [0.29, 3.01, -1.0, 0.0, math.nan, math.inf])
def test_bond_length_out_of_range(ham, bad):
    with pytest.raises(ValueError, match=r"bond_length.*Å"):
        ham({"bond_length": bad})


@pytest.mark.parametrize("bad", ["0.7", None, True, [0.7]])
def test_bond_length_wrong_type(ham, bad):
    with pytest.raises(ValueError, match="bond_length"):
        ham({"bond_length": bad})


@pytest.mark.parametrize("edge", [0.3, 3.0])
def test_bond_length_range_is_inclusive(ham, edge):
    assert ham({"bond_length": edge})["num_qubits"] == 2
