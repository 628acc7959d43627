"""Run a system file from Python: a script, a notebook cell (``%agents run FILE``) or Pyodide.

:func:`arun_file` is the coroutine (await it in a running loop: a kernel cell with
top-level ``await``, Pyodide); :func:`run_file` blocks: with no running loop it uses
``asyncio.run``; inside one (a Jupyter kernel's cell) it runs the system on a fresh loop
in a helper thread and waits, since a cell cannot block its own loop. Pyodide (JupyterLite)
has neither threads nor a loop of its own to start: there :func:`run_file` waits on the
browser's loop with ``pyodide.ffi.run_sync`` (JSPI) and otherwise says to ``await
arun_file(...)``; LLM actors call the API through the browser's ``fetch``
(:mod:`llmos_jupyter._actors.pyodide`).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from llmos_jupyter._actors.pyodide import in_pyodide, pyodide_system_kwargs, wait_for
from llmos_jupyter._actors.runtime import ActorSystemError, RunOutcome

__all__ = ["SystemInvalid", "arun_file", "run_file"]


class SystemInvalid(ActorSystemError):
    """The system file has errors; ``problems`` lists them (:class:`config.Problem`)."""

    def __init__(self, path: str | Path, problems: list[Any]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} error(s)\n{lines}")


async def arun_file(path: str | Path, input: Any = None, *, timeout_s: float | None = None,
                    trace: bool = True, library: Any = None, **kwargs: Any) -> RunOutcome:
    """Check, build and run the system file at ``path``; record the run (``trace``).

    ``kwargs`` pass on to :class:`ActorSystem` (``llm_client``, ``threads``…). In Pyodide
    the defaults are :func:`~llmos_jupyter._actors.pyodide.pyodide_system_kwargs`' (inline
    handlers, untrusted actors refused, the LLM client over ``fetch``).

    Raises:
        SystemInvalid: the file has errors (warnings do not stop it).
        ActorRefused: an actor skill is invalid (or untrusted under ``untrusted="refuse"``).
    """
    from llmos_jupyter._actors.config import build_system, check_system
    from llmos_jupyter._actors.trace import write_agent_trace

    if library is None:
        from llmos_jupyter._skills.library import SkillLibrary

        library = SkillLibrary()
    cfg, problems = check_system(path, library)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SystemInvalid(path, errors)
    if in_pyodide():
        kwargs = pyodide_system_kwargs(kwargs)
    system, specs = build_system(cfg, library, timeout_s=timeout_s, **kwargs)
    outcome = await system.run(specs, input)
    if trace:
        write_agent_trace(outcome)
    return outcome


def run_file(path: str | Path, input: Any = None, **kwargs: Any) -> RunOutcome:
    """:func:`arun_file`, blocking (see the module docstring).

    Raises:
        CannotWaitHere: in a Pyodide kernel without JSPI (await :func:`arun_file` there).
    """
    if in_pyodide():  # no threads, no asyncio.run; the WebLoop runs while run_sync waits
        return wait_for(arun_file(path, input, **kwargs))
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_file(path, input, **kwargs))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["outcome"] = asyncio.run(arun_file(path, input, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="llmos-agents", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["outcome"]
