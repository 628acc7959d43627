"""How an executor fails, beyond the isolated runner's own failures.

Hierarchy (all are ``llmos_jupyter._isolation.IsolationError``, so the engine reports them
like any isolated node's failure: ``Type: reason`` on one line)::

    IsolationError
     ├── NodeCrashed
     │    └── WorkerLost          ``worker lost while running`` (Dask ``KilledWorker``)
     ├── WorkerMissingPackage     a package (``llmos_jupyter``, a skill's ``requires``)
     │                            is not importable on the worker that ran the node
     └── TransferError            a value could not cross to or from the worker
    LlmosError
     └── ExecutorUnavailable      the executor cannot run here (Pyodide, no ``distributed``)
"""

from __future__ import annotations

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._isolation.errors import IsolationError, NodeCrashed

__all__ = ["ExecutorUnavailable", "TransferError", "WorkerLost", "WorkerMissingPackage"]


class WorkerLost(NodeCrashed):
    """The Dask worker running the node died (the scheduler gave up: ``KilledWorker``)."""


class WorkerMissingPackage(IsolationError):
    """A package the node needs is missing on the worker (``.package`` names it)."""

    def __init__(self, reason: str, *, package: str = "", log: str = "",
                 traceback: str = "") -> None:
        self.package = package
        super().__init__(reason, log=log, traceback=traceback)


class TransferError(IsolationError):
    """An input or output could not be sent between the engine and the worker."""


class ExecutorUnavailable(LlmosError):
    """The requested executor cannot run in this environment; the message says what to
    install or use instead."""
