"""The llmos kernel: IPython's kernel with the llmos magics preloaded and skill-aware
completion and inspection (``%%skill --uses <Tab>``, Shift-Tab on a skill id).

* :class:`~llmos_jupyter._kernel.kernel.LlmosKernel` — the ``ipykernel`` subclass
  (``implementation = "llmos"``), started by ``python -m llmos_jupyter._kernel -f FILE``;
* :mod:`~llmos_jupyter._kernel.complete` — completion and inspection of skill cells,
  pure functions over the cell's text and the kernel's
  :class:`~llmos_jupyter._workbench.Workbench`;
* :mod:`~llmos_jupyter._kernel.startup` — the same behaviour in any IPython shell (the
  plain ``python3`` kernel after ``%load_ext llmos_jupyter``, JupyterLite's Pyodide
  kernel through its startup code): an IPython completion matcher;
* :mod:`~llmos_jupyter._kernel.install` — the ``llmos`` kernelspec
  (``kernelspec/kernel.json``, installed by the wheel into
  ``share/jupyter/kernels/llmos``; ``python -m llmos_jupyter._kernel install`` for an
  editable install).

Nothing here is imported by ``import llmos_jupyter``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["KERNELSPEC_DIR", "KERNEL_NAME"]

KERNEL_NAME = "llmos"
"""The kernelspec's name (``jupyter kernelspec list``; ``KernelManager(kernel_name=...)``)."""
KERNELSPEC_DIR = Path(__file__).resolve().parent / "kernelspec"
"""The kernelspec folder shipped in the package (``kernel.json`` and the logo)."""
