"""Actor systems in Pyodide (the JupyterLite kernel): waiting for a run, and the LLM's HTTP.

Pyodide runs Python in a browser tab (or its web worker): no threads, no processes, and the
event loop is the browser's (``pyodide.webloop.WebLoop``), already running, so
``asyncio.run`` and blocking waits on threads do not work. What the actor runtime needs
there, and where it comes from:

* Handlers run inline in the loop: :class:`~llmos_jupyter._actors.runtime.ActorSystem`
  does so under ``sys.platform == "emscripten"``; :func:`pyodide_system_kwargs` also says
  it explicitly (``threads=False``), and refuses untrusted actors (no process to isolate
  them in).
* Waiting for a run: a cell awaits it (``outcome = await arun_file(path)``; top-level
  ``await`` works in the Pyodide kernel). A *sync* caller (``%agents run``,
  :func:`~llmos_jupyter._actors.run.run_file`) waits with :func:`wait_for`, i.e.
  ``pyodide.ffi.run_sync``: JSPI stack switching (Pyodide ≥ 0.27, in Chromium-based
  browsers) suspends the caller while the WebLoop keeps running the actors. Where JSPI is
  missing, :func:`wait_for` raises :class:`CannotWaitHere` naming the ``await`` form.
* LLM actors (``ctx.llm``): the runtime's client is an ``LlmClient`` over the browser's
  ``fetch`` (:class:`BrowserLlmClient`, built on first use with
  :func:`llmos_jupyter._llm.fetch_transport.browser_http_client`), so calls keep the LLM
  layer's retries, circuit breaker and usage ledger; this is seed 001's "HTTP bridge"
  from WebAssembly agents to the Messages API.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from llmos_jupyter._actors.runtime import ActorSystemError

__all__ = ["AWAIT_HINT", "BrowserLlmClient", "CannotWaitHere", "in_pyodide",
           "pyodide_system_kwargs", "wait_for"]

T = TypeVar("T")

AWAIT_HINT = ("in this browser kernel, await the run in a cell instead: "
              "`from llmos_jupyter._actors import arun_file` then "
              "`outcome = await arun_file(\"SYSTEM.toml\", input)`")


class CannotWaitHere(ActorSystemError):
    """A blocking wait was asked for where Pyodide cannot block (no JSPI ``run_sync``)."""


def in_pyodide() -> bool:
    """True in Pyodide (``sys.platform == "emscripten"``), e.g. the JupyterLite kernel."""
    return sys.platform == "emscripten"


class BrowserLlmClient:
    """An :class:`~llmos_jupyter._llm.client.LlmClient` over the browser's ``fetch``, made on
    first use (a system without LLM actors never imports httpx2 or reads the LLM config).

    Every attribute is the real client's (``create``, ``ledger``, ``breaker``,
    ``http_client``…). Args: ``config`` (an ``LlmConfig``; default ``load_config()``) and
    ``transport`` keyword arguments for
    :class:`~llmos_jupyter._llm.fetch_transport.FetchTransport` (``fetch``, ``run_sync``,
    ``to_js``, ``xhr``: tests pass fakes of the JS objects).
    """

    def __init__(self, config: Any = None, **transport: Any) -> None:
        self._config = config
        self._transport = transport
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The real ``LlmClient`` (built now if it was not yet)."""
        if self._client is None:
            from llmos_jupyter._llm.client import LlmClient
            from llmos_jupyter._llm.fetch_transport import browser_http_client

            self._client = LlmClient(self._config,
                                     http_client=browser_http_client(**self._transport))
        return self._client

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this wrapper lacks: those of the real client.
        if name.startswith("__") or name in ("_config", "_transport", "_client"):
            raise AttributeError(name)
        return getattr(self.client, name)


def pyodide_system_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` for :class:`ActorSystem` with the Pyodide defaults filled in (what the
    caller passed wins): ``threads=False``, ``untrusted="refuse"`` and an
    ``llm_client`` over ``fetch`` (:class:`BrowserLlmClient`)."""
    out = dict(kwargs)
    out.setdefault("threads", False)
    out.setdefault("untrusted", "refuse")
    if out.get("llm_client") is None:
        out["llm_client"] = BrowserLlmClient()
    return out


def wait_for(aw: Awaitable[T]) -> T:
    """Block until ``aw`` is done, in Pyodide, with ``pyodide.ffi.run_sync`` (JSPI).

    Raises:
        CannotWaitHere: no JSPI here (the browser lacks it, or the caller's stack cannot
            be suspended); the message names the ``await`` form to use instead.
    """
    try:
        from pyodide.ffi import can_run_sync, run_sync  # type: ignore[import-not-found]
    except ImportError:
        can_run_sync = run_sync = None
    if run_sync is None or not can_run_sync():
        close = getattr(aw, "close", None)
        if close is not None:
            close()  # a coroutine never awaited would warn
        raise CannotWaitHere("this browser kernel cannot block until the actor system ends "
                             f"(no JSPI stack switching); {AWAIT_HINT}")
    return run_sync(aw)
