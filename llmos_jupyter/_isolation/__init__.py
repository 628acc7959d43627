"""Isolation of untrusted skills: each node in a fresh process of a warm, sandboxed worker.

* :class:`Limits` (``limits.py``): memory, CPU, wall time, network, processes, files.
* :class:`IsolatedRunner` (``runner.py``): the engine ``Runner`` that sends a skill's
  source text and JSON inputs to the worker and returns JSON outputs and the node's log.
* ``sandbox.py``: the bubblewrap command line (or the plain-subprocess fallback).
* ``zygote.py``: starting and stopping a zygote (the bounded ready handshake), shared
  with the trusted node pool (``_executors/node_pool.py``).
* ``worker.py``: the worker program (zygote → supervisor → node) and the wire format.
* ``errors.py``: the named failures (``NodeCrashed`` and friends).

See docs/isolation.md.
"""

from llmos_jupyter._isolation.errors import (
    IsolationError,
    NodeCancelled,
    NodeCrashed,
    NodeTimedOut,
    SandboxUnavailable,
    SkillRaised,
)
from llmos_jupyter._isolation.limits import Limits
from llmos_jupyter._isolation.runner import IsolatedRunner, NodeRun

__all__ = ["IsolatedRunner", "IsolationError", "Limits", "NodeCancelled", "NodeCrashed",
           "NodeRun", "NodeTimedOut", "SandboxUnavailable", "SkillRaised"]
