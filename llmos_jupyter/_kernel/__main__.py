"""``python -m llmos_jupyter._kernel -f CONNECTION_FILE`` starts the llmos kernel (what
the kernelspec runs); ``python -m llmos_jupyter._kernel install [...]`` installs the
kernelspec (see :mod:`llmos_jupyter._kernel.install`)."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "install":
        from llmos_jupyter._kernel.install import main as install

        raise SystemExit(install(sys.argv[2:]))
    from ipykernel.kernelapp import IPKernelApp

    from llmos_jupyter._kernel.kernel import LlmosKernel

    IPKernelApp.launch_instance(kernel_class=LlmosKernel)


if __name__ == "__main__":
    main()
