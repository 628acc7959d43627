"""httpx2 transports over the browser's ``fetch``, for the SDK in Pyodide / JupyterLite.

The Anthropic SDK (2.x) speaks HTTP through ``httpx2``; in a browser kernel there are no
sockets, so :class:`FetchTransport` hands each request to ``js.fetch`` and turns the
``Response`` back into an ``httpx2.Response``::

    client = anthropic.Anthropic(api_key=key, http_client=httpx2.Client(transport=FetchTransport()))

(:func:`browser_http_client` builds exactly that; :func:`llmos_jupyter._llm.magics` uses it
automatically when ``sys.platform == "emscripten"``.)

* Every request gets ``anthropic-dangerous-direct-browser-access: true``: the API answers
  CORS preflights only with it. The key is typed by the user (``%llm key``, ``getpass``)
  and lives in the kernel's memory inside the browser tab — it is sent to
  api.anthropic.com and nowhere else, and never written to a notebook.
* A rejected ``fetch`` (``TypeError: Failed to fetch`` / ``NetworkError …`` / ``Load
  failed``) is how a browser reports a CORS refusal (and, indistinguishably, an offline
  network): it becomes :class:`BrowserFetchBlocked`, an ``httpx2.ConnectError`` whose
  message says what to check; the client maps it to ``BrowserAccessBlocked`` without
  retrying.
* The synchronous transport needs to wait for a JS promise: it uses
  ``pyodide.ffi.run_sync`` (JSPI, Pyodide ≥ 0.27 in browsers that support it) and falls
  back to a synchronous ``XMLHttpRequest`` (allowed in the web worker that runs a
  JupyterLite kernel). :class:`AsyncFetchTransport` awaits ``fetch`` directly, for
  ``AsyncAnthropic``.
* Bodies are read whole (``arrayBuffer``): a streamed answer arrives at once, then is
  parsed as the same server-sent events.

``pyodide`` and ``js`` are imported lazily, only when no ``fetch`` is injected; tests pass
fakes with the same shape as the JS objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

__all__ = ["BROWSER_HEADER", "AsyncFetchTransport", "BrowserFetchBlocked", "FetchTransport",
           "browser_http_client", "in_browser"]

BROWSER_HEADER = ("anthropic-dangerous-direct-browser-access", "true")

CORS_HELP = ("the browser blocked the request to {host} ({detail}). A browser reports a CORS "
             "refusal this way: the Anthropic API accepts browser calls only with the header "
             "'anthropic-dangerous-direct-browser-access: true' (sent), and an organisation "
             "can disable direct browser access altogether — then use a local Jupyter kernel "
             "or a proxy you control. Also check that the page is online.")

_DROP = {"host", "content-length", "connection", "accept-encoding", "user-agent"}


class BrowserFetchBlocked(httpx2.ConnectError):
    """The browser's ``fetch`` was rejected (CORS, organisation policy, or offline)."""


def in_browser() -> bool:
    """True in Pyodide (``sys.platform == "emscripten"``)."""
    import sys

    return sys.platform == "emscripten"


def _init(request: httpx2.Request, body: bytes) -> tuple[str, dict[str, Any]]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
    headers[BROWSER_HEADER[0]] = BROWSER_HEADER[1]
    init: dict[str, Any] = {"method": request.method, "headers": headers}
    if body:
        init["body"] = body
    return str(request.url), init


def _blocked(request: httpx2.Request, exc: BaseException) -> BrowserFetchBlocked:
    detail = str(exc).strip() or type(exc).__name__
    return BrowserFetchBlocked(CORS_HELP.format(host=request.url.host, detail=detail),
                               request=request)


def _headers_of(js_response: Any) -> list[tuple[str, str]]:
    out = []
    for pair in js_response.headers.entries():
        key, value = pair
        out.append((str(key), str(value)))
    return out


def _bytes_of(buffer: Any) -> bytes:
    if isinstance(buffer, (bytes, bytearray, memoryview)):
        return bytes(buffer)
    return bytes(buffer.to_bytes())


def _response(request: httpx2.Request, status: int, headers: list[tuple[str, str]],
              content: bytes) -> httpx2.Response:
    # fetch already decoded any content-encoding; do not let httpx2 decode twice.
    headers = [(k, v) for k, v in headers
               if k.lower() not in ("content-encoding", "content-length")]
    return httpx2.Response(status, headers=headers, content=content, request=request)


def _pyodide_fetch() -> tuple[Callable[..., Any], Callable[[Any], Any]]:
    try:
        import js  # type: ignore[import-not-found]
        from pyodide.ffi import to_js  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError("FetchTransport needs Pyodide (the browser's fetch); in a local "
                           "kernel the SDK's default HTTP transport is used") from None

    def convert(init: dict[str, Any]) -> Any:
        init = dict(init)
        if "body" in init:
            init["body"] = to_js(init["body"])
        return to_js(init, dict_converter=js.Object.fromEntries)

    return js.fetch, convert


class AsyncFetchTransport(httpx2.AsyncBaseTransport):
    """``fetch`` for ``httpx2.AsyncClient`` (``AsyncAnthropic``)."""

    def __init__(self, fetch: Callable[..., Awaitable[Any]] | None = None,
                 to_js: Callable[[Any], Any] | None = None) -> None:
        self._fetch, self._to_js = fetch, to_js

    def _tools(self) -> tuple[Callable[..., Any], Callable[[Any], Any]]:
        if self._fetch is None:
            self._fetch, default_to_js = _pyodide_fetch()
            self._to_js = self._to_js or default_to_js
        return self._fetch, self._to_js or (lambda x: x)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        fetch, to_js = self._tools()
        url, init = _init(request, await request.aread())
        try:
            resp = await fetch(url, to_js(init))
        except Exception as exc:  # a JsException from a rejected promise
            raise _blocked(request, exc) from exc
        buffer = await resp.arrayBuffer()
        return _response(request, int(resp.status), _headers_of(resp), _bytes_of(buffer))


class FetchTransport(httpx2.BaseTransport):
    """``fetch`` for ``httpx2.Client`` (the synchronous ``Anthropic`` client).

    Args:
        fetch: a ``js.fetch``-like callable returning an awaitable ``Response``.
        run_sync: waits for an awaitable (default ``pyodide.ffi.run_sync``).
        to_js: converts the ``init`` dict (default ``pyodide.ffi.to_js``).
        xhr: a factory of ``XMLHttpRequest`` objects, used when ``run_sync`` is not
            available (default ``js.XMLHttpRequest.new``).
    """

    def __init__(self, fetch: Callable[..., Any] | None = None,
                 run_sync: Callable[[Any], Any] | None = None,
                 to_js: Callable[[Any], Any] | None = None,
                 xhr: Callable[[], Any] | None = None) -> None:
        self._fetch, self._run_sync, self._to_js, self._xhr = fetch, run_sync, to_js, xhr

    def _setup(self) -> None:
        if self._fetch is None and self._xhr is None:
            self._fetch, default_to_js = _pyodide_fetch()
            self._to_js = self._to_js or default_to_js
            try:
                from pyodide.ffi import can_run_sync, run_sync  # (ignored above: once a file)

                if can_run_sync():
                    self._run_sync = run_sync
            except ImportError:
                pass
            if self._run_sync is None:
                import js  # mypy flags a missing module once per file (ignored above)

                self._xhr = js.XMLHttpRequest.new

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self._setup()
        url, init = _init(request, request.read())
        if self._fetch is not None and self._run_sync is not None:
            to_js = self._to_js or (lambda x: x)
            try:
                resp = self._run_sync(self._fetch(url, to_js(init)))
            except Exception as exc:
                raise _blocked(request, exc) from exc
            buffer = self._run_sync(resp.arrayBuffer())
            return _response(request, int(resp.status), _headers_of(resp), _bytes_of(buffer))
        if self._xhr is None:
            raise RuntimeError("FetchTransport: no run_sync and no XMLHttpRequest available")
        return self._via_xhr(request, url, init)

    def _via_xhr(self, request: httpx2.Request, url: str, init: dict[str, Any]) -> httpx2.Response:
        xhr = self._xhr()  # type: ignore[misc]
        try:
            xhr.open(init["method"], url, False)
            xhr.responseType = "arraybuffer"
            for k, v in init["headers"].items():
                xhr.setRequestHeader(k, v)
            body = init.get("body")
            xhr.send((self._to_js or (lambda x: x))(body) if body else None)
        except Exception as exc:  # NetworkError: the request was refused (CORS)
            raise _blocked(request, exc) from exc
        if int(xhr.status) == 0:  # a sync XHR blocked by CORS ends with status 0
            raise _blocked(request, RuntimeError("XMLHttpRequest status 0"))
        headers = []
        for line in str(xhr.getAllResponseHeaders()).strip().splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                headers.append((k.strip(), v.strip()))
        return _response(request, int(xhr.status), headers, _bytes_of(xhr.response))


def browser_http_client(**kwargs: Any) -> httpx2.Client:
    """An ``httpx2.Client`` over :class:`FetchTransport` with the browser-access header."""
    return httpx2.Client(transport=FetchTransport(**kwargs),
                         headers={BROWSER_HEADER[0]: BROWSER_HEADER[1]})
