"""skills/plot-curve.md: gathers a bond-length scan; exact energies by diagonalisation."""

from __future__ import annotations

import io

import pytest

from llmos_jupyter import SkillLibrary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The textbook two-qubit H2 Hamiltonian at 0.735 Å (electronic, Hartree) and its exact
# total energy (electronic ground energy −1.857275030 Ha + nuclear repulsion 0.719968994 Ha).
H_0735 = {"II": -1.0523732, "IZ": 0.3979374, "ZI": -0.3979374, "ZZ": -0.0112801,
          "XX": 0.1809312}
EXACT_0735 = -1.137306036


@pytest.fixture(scope="module")
def skills():
    lib = SkillLibrary()
    return {s: lib.get(s).load_function() for s in ("plot-curve", "quantum-hamiltonian")}


def test_exact_energy_at_equilibrium(skills):
    out = skills["plot-curve"]({"bond_lengths": [0.735], "energy_01": -1.1373,
                                "hamiltonian_01": H_0735})
    assert out["image"].startswith(PNG_MAGIC)
    assert out["exact_energies"][0] == pytest.approx(EXACT_0735, abs=2e-6)
    assert out["max_error"] == pytest.approx(abs(-1.1373 - out["exact_energies"][0]))


def test_scan_is_sorted_and_finds_the_minimum(skills):
    lengths = [1.5, 0.5, 0.74, 1.0]
    inputs = {"bond_lengths": lengths}
    for i, r in enumerate(lengths, start=1):
        ham = skills["quantum-hamiltonian"]({"bond_length": r})
        inputs[f"hamiltonian_{i:02d}"] = ham["hamiltonian"]
        inputs[f"energy_{i:02d}"] = ham["hf_energy"]  # HF is an upper bound of the exact
    out = skills["plot-curve"](inputs)
    assert out["bond_lengths"] == sorted(lengths)
    assert out["equilibrium_bond_length"] == 0.74
    assert all(v >= e - 1e-9 for v, e in zip(out["vqe_energies"], out["exact_energies"], strict=True))
    import matplotlib.image

    assert matplotlib.image.imread(io.BytesIO(out["image"]), format="png").shape[:2] == (800, 800)


def test_missing_and_extra_ports_are_named(skills):
    with pytest.raises(ValueError, match="hamiltonian_02 is missing"):
        skills["plot-curve"]({"bond_lengths": [0.7, 0.8], "energy_01": -1.1,
                              "hamiltonian_01": H_0735, "energy_02": -1.1})
    with pytest.raises(ValueError, match="energy_03 is connected but bond_lengths has only 1"):
        skills["plot-curve"]({"bond_lengths": [0.7], "energy_01": -1.1,
                              "hamiltonian_01": H_0735, "energy_03": -1.0})
    with pytest.raises(ValueError, match="1 to 24 values"):
        skills["plot-curve"]({"bond_lengths": [0.5] * 25})
