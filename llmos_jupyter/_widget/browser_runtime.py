"""Run ``javascript`` / ``threejs`` skills in the canvas front-end (a browser Web Worker).

The engine calls a :class:`BrowserRunner` like any runner (see ``Engine(runners=...)``):
it sends the skill's code and inputs to the widget's front-end as a custom message and
blocks the engine's worker thread until the front-end answers. The protocol::

    kernel → browser  {"kind": "execute", "request": id, "skill": skill_id,
                       "runtime": "javascript" | "threejs", "code": str,
                       "code_line": int, "source": "name.md", "inputs": {...}}
    kernel → browser  {"kind": "cancel", "request": id, "reason": "cancel" | "timeout"}
    browser → kernel  {"action": "result", "request": id, "outputs": {...}}
                   or {"action": "result", "request": id, "error": str,
                       "line": int | None, "stack": str | None}

These messages are defined once, as JSON Schema, in :mod:`llmos_jupyter._contract`
(``ExecuteRequest``, ``CancelRequest``, ``ResultMessage``); ``runtime/protocol.ts`` uses
the TypeScript types generated from them, and ``tests/_contract`` checks the messages this
module sends against the schemas.

The front-end runs each request in a fresh Web Worker (terminated on cancel/timeout),
so a JS skill cannot touch the page, and an endless loop costs one worker, not the tab.

Why blocking works: the kernel handles comm messages on its main thread, and canvas runs
go through :meth:`Engine.start` on background threads, so the main thread is free to
receive the answer. A cell that *waits* for such a run on the main thread would block
the very thread that must receive the answer; :class:`Canvas` refuses that with
:class:`BrowserRunBlocked`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from llmos_jupyter._engine.result import jsonable
from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._skills.model import BROWSER_RUNTIMES, Skill

__all__ = ["STDIN_PREFIX", "BrowserRunBlocked", "BrowserRunner", "BrowserSkillError",
           "BrowserTimeout", "StdinBridge"]

DEFAULT_TIMEOUT_S = 60.0
"""How long a browser node may run when the engine sets no ``node_timeout`` (seconds)."""

_POLL_S = 0.05  # how often a waiting runner looks at the run's cancel flag


class BrowserSkillError(LlmosError):
    """A JavaScript skill failed in the browser (its error message, file and line)."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 stack: str | None = None) -> None:
        self.message, self.source, self.line, self.stack = message, source, line, stack
        super().__init__(message)

    def __str__(self) -> str:
        where = f" ({self.source}, line {self.line})" if self.line and self.source else (
            f" (line {self.line})" if self.line else "")
        return f"{self.message}{where}"


class BrowserTimeout(LlmosError):
    """A browser node did not answer in time (its Web Worker was terminated)."""


class BrowserRunBlocked(LlmosError, RuntimeError):
    """Waiting for a run with browser nodes on the kernel's main thread would deadlock."""


class BrowserRunner:
    """The engine runner for ``javascript`` and ``threejs`` skills of one canvas.

    Args:
        send: sends one JSON message to the front-end (``Canvas.send``).
        default_timeout: seconds a node may take when the engine has no ``node_timeout``.

    Call it as the engine does: ``runner(skill, inputs, cancel=event, timeout=s)`` returns
    the outputs dict (checked against the ports by the engine). Raises
    :class:`BrowserSkillError` with the JS message and line, :class:`BrowserTimeout`, or
    :class:`BrowserSkillError` ("cancelled") when the run's ``cancel`` is set while the
    node runs (the worker is terminated, unlike a Python node, which finishes).
    """

    def __init__(self, send: Callable[[dict[str, Any]], None], *,
                 default_timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._send = send
        self.default_timeout = default_timeout
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[threading.Event, dict[str, Any]]] = {}

    @property
    def pending(self) -> list[str]:
        """Request ids sent and not answered yet."""
        with self._lock:
            return list(self._pending)

    def __call__(self, skill: Skill, inputs: Mapping[str, Any], *,
                 cancel: threading.Event | None = None,
                 timeout: float | None = None) -> dict[str, Any]:
        if skill.runtime not in BROWSER_RUNTIMES:
            raise ValueError(f"skill {skill.skill_id!r} has runtime {skill.runtime!r}; "
                             f"this runner runs {', '.join(BROWSER_RUNTIMES)}")
        request = uuid.uuid4().hex
        done = threading.Event()
        box: dict[str, Any] = {}
        with self._lock:
            self._pending[request] = (done, box)
        source = skill.path.name if skill.path is not None else f"{skill.skill_id}.md"
        try:
            self._send({
                "kind": "execute", "request": request, "skill": skill.skill_id,
                "runtime": skill.runtime, "code": skill.code or "",
                "code_line": skill.code_line, "source": source,
                "inputs": jsonable(dict(inputs)),
            })
            limit = self.default_timeout if timeout is None else timeout
            waited = 0.0
            while not done.wait(_POLL_S):
                waited += _POLL_S
                if cancel is not None and cancel.is_set():
                    self._send({"kind": "cancel", "request": request, "reason": "cancel"})
                    raise BrowserSkillError("run cancelled while the node ran in the browser "
                                            "(its Web Worker was terminated)")
                if waited >= limit:
                    self._send({"kind": "cancel", "request": request, "reason": "timeout"})
                    raise BrowserTimeout(
                        f"node did not finish within {limit:g} s in the browser (its Web Worker "
                        "was terminated; is the canvas displayed in a live front-end?)")
        finally:
            with self._lock:
                self._pending.pop(request, None)
        if "error" in box:
            raise BrowserSkillError(str(box["error"]), source=source, line=box.get("line"),
                                    stack=box.get("stack"))
        outputs = box.get("outputs")
        if not isinstance(outputs, dict):
            raise TypeError(f"execute() returned {type(outputs).__name__} in the browser, "
                            f"expected an object of outputs")
        return outputs

    def answer(self, content: Mapping[str, Any]) -> bool:
        """Deliver the front-end's ``{"action": "result", ...}`` message; returns whether it
        answered a pending request (late answers after a timeout are dropped)."""
        request = content.get("request")
        with self._lock:
            entry = self._pending.get(request) if isinstance(request, str) else None
        if entry is None:
            return False
        done, box = entry
        if content.get("error") is not None:
            box["error"] = content["error"]
            line = content.get("line")
            box["line"] = line if isinstance(line, int) and not isinstance(line, bool) else None
            box["stack"] = content.get("stack")
        else:
            box["outputs"] = content.get("outputs")
        done.set()
        return True

    def runners(self) -> dict[str, BrowserRunner]:
        """``{runtime: self}`` for every browser runtime, for ``Engine.run(runners=...)``."""
        return dict.fromkeys(BROWSER_RUNTIMES, self)


STDIN_PREFIX = "@llmos-browser-node "
"""Start of the ``input()`` prompt that carries one ``execute`` request to a front-end."""


class StdinBridge:
    """Browser nodes of a run whose front-end is not a widget (a JupyterLab workflow
    document): the requests travel as the kernel's ``input()`` prompts and the answers as
    the input replies (Jupyter's stdin channel), because a cell that is still executing
    cannot receive comm messages.

    :meth:`runners` gives the engine a :class:`BrowserRunner` whose requests are queued;
    the thread that executes the cell calls :meth:`pump` while it waits for the run, which
    asks the front-end with ``input(STDIN_PREFIX + request JSON)`` and delivers the JSON
    answer. Without threads (Pyodide) the engine runs in that very thread, so the runner
    asks at once instead. Cancel and timeout messages are not forwarded: the front-end
    stops its workers when the user cancels (a kernel interrupt, which also ends the
    ``input()``).

    Args:
        ask: the prompt function (default: the ``input`` of the moment — ipykernel installs
            its own for each execution); a test passes a fake front-end.
        threaded: queue requests for :meth:`pump` (default: unless on emscripten).
    """

    def __init__(self, ask: Callable[[str], str] | None = None, *,
                 threaded: bool | None = None) -> None:
        import queue
        import sys

        self._ask_fn = ask
        self.threaded = sys.platform != "emscripten" if threaded is None else threaded
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.runner = BrowserRunner(self._outbox.put if self.threaded else self._forward)

    def runners(self) -> dict[str, BrowserRunner]:
        """``{runtime: runner}`` for ``Engine.start(..., runners=...)``."""
        return self.runner.runners()

    def pump(self) -> None:
        """Forward every queued request and deliver its answer (in the cell's thread)."""
        while not self._outbox.empty():
            self._forward(self._outbox.get_nowait())

    def _forward(self, message: dict[str, Any]) -> None:
        if message.get("kind") != "execute":
            return
        import builtins
        import json

        ask = self._ask_fn or builtins.input
        text = ask(STDIN_PREFIX + json.dumps(message))
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"error": f"the front-end's answer is not JSON: {text[:200]!r}"}
        if not isinstance(answer, dict):
            answer = {"error": "the front-end's answer is not an object"}
        self.runner.answer({**answer, "request": message["request"]})
