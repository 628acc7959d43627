"""Install the ``llmos`` kernelspec (for editable installs: a wheel installs it itself
into ``<prefix>/share/jupyter/kernels/llmos``).

    python -m llmos_jupyter._kernel install [--user | --sys-prefix | --prefix P]

The spec's ``argv`` starts with ``python``, which ``jupyter_client`` replaces by the
Python that runs Jupyter; ``install`` writes this interpreter's full path instead, so the
kernel runs where llmos-jupyter is installed even when Jupyter runs elsewhere.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from llmos_jupyter._kernel import KERNEL_NAME, KERNELSPEC_DIR

__all__ = ["install", "main"]


def install(*, user: bool = False, prefix: str | None = None,
            executable: str | None = None) -> str:
    """Install the kernelspec; returns the folder it was installed to.

    Args:
        user: into the user's Jupyter data folder (``~/.local/share/jupyter``).
        prefix: into ``<prefix>/share/jupyter`` (``sys.prefix`` for ``--sys-prefix``).
        executable: the Python in ``argv`` (default: this one).

    Raises:
        OSError: the folder cannot be written (a system-wide install without rights:
            use ``user=True``).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        spec_dir = Path(tmp) / KERNEL_NAME
        shutil.copytree(KERNELSPEC_DIR, spec_dir)
        spec = json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8"))
        spec["argv"][0] = executable or sys.executable
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        return KernelSpecManager().install_kernel_spec(str(spec_dir), KERNEL_NAME, user=user,
                                                       prefix=prefix)


def main(argv: list[str] | None = None) -> int:
    """``python -m llmos_jupyter._kernel install [--user|--sys-prefix|--prefix P]``."""
    p = argparse.ArgumentParser(prog="python -m llmos_jupyter._kernel install",
                                description="Install the 'llmos' Jupyter kernelspec.")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into the user's Jupyter folder")
    where.add_argument("--sys-prefix", action="store_true",
                       help=f"into {sys.prefix}/share/jupyter (this environment)")
    where.add_argument("--prefix", help="into PREFIX/share/jupyter")
    args = p.parse_args(argv)
    prefix = sys.prefix if args.sys_prefix else args.prefix
    try:
        path = install(user=args.user, prefix=prefix)
    except OSError as exc:
        print(f"cannot install the llmos kernelspec: {exc} (try --user or --sys-prefix)",
              file=sys.stderr)
        return 1
    print(f"installed kernelspec {KERNEL_NAME!r} in {path}")
    return 0
