"""Every notebook in notebooks/ runs top to bottom in a fresh kernel (the core ones also
under the ipyflow kernel), and the quickstart's skill cells run headless with ``llmos run``."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CORE = ["01-quickstart.ipynb", "02-h2-vqe.ipynb", "05-write-a-skill.ipynb"]
# What the magics print for a user mistake or a failed node (notes are not errors).
_MAGIC_ERROR = re.compile(r"^(%%skill|%skill|%workflow)\b[^:\n]*: (?!note:)", re.MULTILINE)


def _has_kernel(name: str) -> bool:
    try:
        from jupyter_client.kernelspec import find_kernel_specs

        return name in find_kernel_specs()
    except Exception:
        return False


def _execute(path, kernel: str):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name=kernel,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    magic_errors = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
                    if o.output_type == "stream" and o.name == "stderr"
                    and _MAGIC_ERROR.search(o.text)]
    return nb, errors, magic_errors


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, llmos_home):
    _, errors, magic_errors = _execute(path, "python3")
    assert errors == []
    assert magic_errors == []
    assert any((llmos_home / "user/traces").glob("*.ipynb")), "every notebook writes a trace"


@pytest.mark.slow
@pytest.mark.skipif(not _has_kernel("ipyflow"), reason="the ipyflow kernel is not installed")
@pytest.mark.parametrize("name", CORE)
def test_core_notebooks_run_under_ipyflow(name, llmos_home):
    _, errors, magic_errors = _execute(REPO / "notebooks" / name, "ipyflow")
    assert errors == []
    assert magic_errors == []


@pytest.mark.slow
def test_quickstart_runs_headless_with_llmos_run(capsys, llmos_home):
    from llmos_jupyter._cli import main

    assert main(["run", str(REPO / "notebooks" / "01-quickstart.ipynb"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["nodes"]) == ["h2", "h2_vqe", "h2_plot"]
    assert all(n["status"] == "completed" for n in result["nodes"].values())
    assert any((llmos_home / "user/traces").glob("*-01-quickstart-*.ipynb"))
