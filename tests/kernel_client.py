"""A real kernel for tests that drive one over ZeroMQ (imported by test modules)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def kernel_client(kernel_name: str, llmos_home: Path, timeout: float = 60) -> Iterator[Any]:
    """A started kernel of ``kernel_name`` whose LLMOS_HOME is ``llmos_home``: its
    blocking client, ready (channels stopped and the kernel shut down at the end)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(env={**os.environ, "LLMOS_HOME": str(llmos_home)})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
