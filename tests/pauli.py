"""Dense matrices of Pauli-string Hamiltonians, the reference the quantum skills are tested against."""

from __future__ import annotations

import numpy as np

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0.0, 1.0], [1.0, 0.0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def pauli_matrix(terms: dict[str, float]) -> np.ndarray:
    """Σ c·P as a dense 2ⁿ×2ⁿ matrix, qiskit convention: characters kron'ed left to right
    (the rightmost character acts on qubit 0)."""
    n = len(next(iter(terms)))
    total = np.zeros((2**n, 2**n), dtype=complex)
    for label, coeff in terms.items():
        m = np.array([[1.0 + 0j]])
        for ch in label:
            m = np.kron(m, PAULI[ch])
        total += coeff * m
    return total
