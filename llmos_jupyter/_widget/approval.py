"""The approval widget: a proposed change shown in a notebook with Approve / Request
changes buttons (anywidget), for the ``approval`` actor's human-in-the-loop mode.

The front-end is the plain ES module ``approval.js`` beside this file (no build step). It
shows the change as *text*: ``textContent`` of a ``<pre>``, never HTML, since the change
comes from an actor (an LLM, a file, anyone). Traits:

``reviewer``  who is asked (the approval actor's id), shown in the header.
``path``      the file the change is for.
``content``   the proposed content (text; at most :data:`MAX_CHARS` characters are sent,
              ``truncated`` says how many more there were).
``status``    ``pending`` (buttons enabled) → ``decided`` or ``expired`` (no answer in
              time; buttons disabled).
``decision``  set by the front end: ``approve`` or ``request_changes`` (``""`` until then).
``comment``   set by the front end with the decision: the reviewer's comment.

The front end sets ``comment`` and ``decision`` together (one ``save_changes``); Python
takes the first valid decision while ``pending`` and ignores later ones (a second click,
a second view of the same widget), restoring the decided values.

Waiting. :meth:`ApprovalWidget.decided` is awaited on the loop the front end's messages
are handled on: in a Jupyter kernel (ipykernel ≥ 7 dispatches widget messages while an
async cell awaits), run the system with ``%agents run FILE`` or ``await arun_file(...)``
(or in the background), not with a call that blocks the kernel's thread; in JupyterLite
the browser's loop.
:meth:`ApprovalWidget.wait` blocks a thread instead (a handler in a worker thread).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import anywidget
    import traitlets
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the approval widget needs anywidget: pip install 'llmos-jupyter[widget]'"
    ) from exc

__all__ = ["MAX_CHARS", "ApprovalWidget", "Decision", "ask_approval", "in_kernel"]

MAX_CHARS = 200_000
"""Characters of the proposed content sent to the front end."""
ESM = Path(__file__).with_name("approval.js")
DECISIONS = ("approve", "request_changes")

_CSS = """
.llmos-approval { border: 1px solid var(--jp-border-color1, #ccc); border-radius: 4px;
  padding: 8px; font-family: var(--jp-ui-font-family, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); max-width: 100%; }
.llmos-approval-head { font-weight: 600; margin-bottom: 6px; }
.llmos-approval pre { max-height: 320px; overflow: auto; margin: 0 0 6px;
  padding: 6px; background: var(--jp-layout-color2, #f5f5f5);
  font-family: var(--jp-code-font-family, monospace); white-space: pre; }
.llmos-approval textarea { width: 100%; box-sizing: border-box; min-height: 3em; }
.llmos-approval-buttons { display: flex; gap: 6px; margin-top: 6px; }
.llmos-approval-status { margin-top: 6px; color: var(--jp-ui-font-color2, #555); }
"""


@dataclass(frozen=True)
class Decision:
    """A reviewer's answer: ``approved``, the ``comment`` (may be empty) and ``status``:
    ``decided`` (a person clicked) or ``expired`` (no answer within the timeout)."""

    approved: bool
    comment: str = ""
    status: str = "decided"


def in_kernel() -> bool:
    """True in a Jupyter kernel that can show widgets (ipykernel, or Pyodide's in
    JupyterLite), False in a plain ``python`` / ``llmos`` process or IPython terminal."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - any odd shell counts as "no kernel"
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


class ApprovalWidget(anywidget.AnyWidget):
    """One proposed change awaiting a person's decision (see the module docstring).

    Args:
        path: the file the change is for.
        content: the proposed content (text; longer than :data:`MAX_CHARS` is cut).
        reviewer: who is asked (shown in the header).

    Raises:
        FileNotFoundError: the front end ``approval.js`` is missing from the package.
    """

    _esm = ESM
    _css = _CSS

    reviewer = traitlets.Unicode("").tag(sync=True)
    path = traitlets.Unicode("").tag(sync=True)
    content = traitlets.Unicode("").tag(sync=True)
    truncated = traitlets.Int(0).tag(sync=True)
    status = traitlets.Enum(("pending", "decided", "expired"), "pending").tag(sync=True)
    decision = traitlets.Unicode("").tag(sync=True)
    comment = traitlets.Unicode("").tag(sync=True)

    def __init__(self, path: str, content: str, *, reviewer: str = "", **kwargs: Any) -> None:
        if not ESM.is_file():
            raise FileNotFoundError(f"the approval widget's front end {ESM} is missing")
        text = str(content)
        super().__init__(path=str(path), content=text[:MAX_CHARS],
                         truncated=max(0, len(text) - MAX_CHARS), reviewer=str(reviewer),
                         **kwargs)
        self._lock = threading.RLock()  # observers re-enter when a change is undone
        self._result: Decision | None = None
        self._event = threading.Event()
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[Decision]]] = []
        self.observe(self._on_decision, names=["decision"])
        self.observe(self._on_comment, names=["comment"])

    # -- the front end's answer -----------------------------------------------------------
    def _on_decision(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._result is not None:
                # Decided already (or expired): a later click or view changes nothing.
                if change["new"] != self._decided_value():
                    self.decision = self._decided_value()
                return
            if change["new"] not in DECISIONS:
                if change["new"]:
                    self.decision = ""  # not a decision the front end may send
                return
            self._result = Decision(change["new"] == "approve", self.comment.strip())
        self.status = "decided"
        self._resolve()

    def _on_comment(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._result is not None and change["new"] != self._result.comment:
                self.comment = self._result.comment

    def _decided_value(self) -> str:
        r = self._result
        if r is None or r.status != "decided":
            return ""
        return "approve" if r.approved else "request_changes"

    def _resolve(self) -> None:
        self._event.set()
        futures, self._futures = self._futures, []
        for loop, fut in futures:
            loop.call_soon_threadsafe(_set_result, fut, self._result)

    def expire(self, comment: str = "no decision in time") -> Decision:
        """End the wait without a decision (buttons disabled); returns the decision that
        stands: the person's, if one came in first."""
        with self._lock:
            if self._result is None:
                self._result = Decision(False, comment, "expired")
                expired = True
            else:
                expired = False
        if expired:
            self.comment = comment
            self.status = "expired"
            self._resolve()
        assert self._result is not None
        return self._result

    # -- waiting --------------------------------------------------------------------------
    @property
    def result(self) -> Decision | None:
        """The decision, or ``None`` while pending."""
        return self._result

    async def decided(self, timeout: float | None = None) -> Decision:
        """Wait (in an event loop) for the decision; after ``timeout`` seconds the
        widget expires and the result is ``Decision(False, ..., "expired")``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._result is not None:
                return self._result
            fut: asyncio.Future[Decision] = loop.create_future()
            self._futures.append((loop, fut))
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return self.expire(f"no decision within {timeout:g} s")

    def wait(self, timeout: float | None = None) -> Decision:
        """:meth:`decided` for a thread: block until the decision or ``timeout``."""
        if not self._event.wait(timeout):
            return self.expire(f"no decision within {timeout:g} s")
        assert self._result is not None
        return self._result


def _set_result(fut: asyncio.Future[Decision], value: Decision | None) -> None:
    if not fut.done():
        fut.set_result(value)  # type: ignore[arg-type]


def _display(widget: ApprovalWidget) -> None:
    from IPython.display import display

    display(widget)


async def ask_approval(path: str, content: str, *, reviewer: str = "",
                       timeout: float | None = None) -> Decision:
    """Show an :class:`ApprovalWidget` in the running cell and wait for the decision.

    Call it from the loop that handles the kernel's widget messages (an ``async``
    handler of an actor system run with ``await``). ``timeout`` seconds without a decision
    expire the widget: ``Decision(False, "no decision within … s", "expired")``.

    Raises:
        RuntimeError: not in a Jupyter kernel (:func:`in_kernel`).
    """
    if not in_kernel():
        raise RuntimeError("no notebook to ask in: the approval widget needs a Jupyter kernel")
    widget = ApprovalWidget(path, content, reviewer=reviewer)
    _display(widget)
    return await widget.decided(timeout)
