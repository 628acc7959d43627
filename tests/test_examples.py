"""The bundled example workflows end to end: real numbers, traces that re-execute."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import REPO

from llmos_jupyter import Workflow, run

H2 = REPO / "notebooks" / "h2-vqe.workflow.json"
RC = REPO / "notebooks" / "rc-circuit.workflow.json"
EXACT_TOTAL = -1.137306036  # Ha, H2 / STO-3G at 0.735 Å (full CI)


def test_h2_workflow_reaches_chemical_accuracy(llmos_home):
    result = run(Workflow.load(H2))
    assert result.status == "completed"
    assert abs(result["vqe"]["eigenvalue"] - EXACT_TOTAL) < 1.6e-3
    assert result["hamiltonian"]["nuclear_repulsion"] == pytest.approx(0.719968994, abs=1e-8)
    assert result["plot"]["image"][:8] == b"\x89PNG\r\n\x1a\n"
    assert result.trace.startswith(str(llmos_home / "user" / "traces"))


def test_changing_bond_length_reruns_the_chain_and_moves_the_energy(llmos_home):
    wf = Workflow.load(H2)
    first = run(wf, trace=False)
    second = run(wf, {"hamiltonian.bond_length": 1.5}, trace=False)
    assert sorted(second.ran) == ["hamiltonian", "plot", "vqe"]
    # Stretched H2 lies higher in energy than at equilibrium.
    assert second["vqe"]["eigenvalue"] > first["vqe"]["eigenvalue"] + 0.1
    third = run(wf, {"plot.title": "again"}, trace=False)
    assert third.ran == ["plot"] and sorted(third.cached) == ["hamiltonian", "vqe"]


@pytest.mark.slow
def test_h2_trace_reexecutes_and_reproduces_the_energy(llmos_home):
    from nbclient import NotebookClient

    result = run(Workflow.load(H2))
    nb = nbformat.read(result.trace, as_version=4)
    nbformat.validate(nb)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    vqe_cell = next(c for c in nb.cells if c.get("metadata", {}).get("llmos", {}).get("node") == "vqe")
    value = next(o for o in vqe_cell.outputs if o.output_type == "execute_result")
    rerun = ast.literal_eval(value.data["text/plain"])
    assert rerun["eigenvalue"] == pytest.approx(result["vqe"]["eigenvalue"], abs=1e-9)
    plot_cell = next(c for c in nb.cells if c.get("metadata", {}).get("llmos", {}).get("node") == "plot")
    assert any("image/png" in o.get("data", {}) for o in plot_cell.outputs)


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
def test_rc_workflow_through_ngspice_from_the_cli(llmos_home):
    out = subprocess.run(
        [sys.executable, "-m", "llmos_jupyter", "run", str(RC), "--json", "--set", "rc.use_ngspice=true"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rc = data["nodes"]["rc"]["outputs"]
    assert rc["simulator"].startswith("ngspice")
    assert rc["time_constant"] == pytest.approx(1e-3)
    stats = data["nodes"]["stats"]["outputs"]
    assert stats["max"] == pytest.approx(5 * (1 - 2.718281828459045 ** -5), abs=1e-3)
    assert data["nodes"]["plot"]["outputs"]["image"].startswith("data:image/png;base64,")
    assert data["trace"].endswith(".ipynb")


def test_readme_sample_output_is_what_llmos_run_prints(capsys, llmos_home):
    """The README shows the real output of its first command (timings, run id and trace
    path aside)."""
    import re

    from llmos_jupyter._cli import main

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("What the first command prints")
    a = readme.index("```text\n", start) + len("```text\n")
    sample = readme[a:readme.index("```", a)]
    assert main(["run", str(REPO / "notebooks" / "h2-vqe.workflow.json")]) == 0
    out = capsys.readouterr().out

    def normal(text: str) -> list[str]:
        text = re.sub(r"\d+(\.\d+)? ms", "T ms", text)
        text = re.sub(r"│ *\d+\.\d *│", "│ T │", text)  # the table's ms column
        text = re.sub(r"run [0-9a-f]{12}", "run ID", text)
        text = re.sub(r"trace: .*", "trace: PATH", text)
        return [re.sub(r"[ ─━]+", " ", line).strip() for line in text.strip().splitlines()]

    assert normal(out) == normal(sample)
