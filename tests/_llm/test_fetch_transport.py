"""The browser transport against a fake ``fetch`` / ``XMLHttpRequest`` with the JS objects'
shape (``Response.status``, ``headers.entries()``, ``arrayBuffer().to_bytes()``). The replayed
API bodies reproduce the peer's protocol; they are not the product's behaviour."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from _llm.anthropic_replay import KEY, Replay, message, text_block

from llmos_jupyter._llm.client import LlmClient
from llmos_jupyter._llm.config import LlmConfig
from llmos_jupyter._llm.errors import BrowserAccessBlocked
from llmos_jupyter._llm.fetch_transport import (
    AsyncFetchTransport,
    BrowserFetchBlocked,
    FetchTransport,
    browser_http_client,
)


class JsHeaders:
    def __init__(self, pairs):
        self.pairs = pairs

    def entries(self):
        return iter([[k, v] for k, v in self.pairs])


class JsBuffer:
    def __init__(self, data: bytes):
        self.data = data

    def to_bytes(self):
        return self.data


class JsResponse:
    def __init__(self, r: httpx2.Response):
        self.status = r.status_code
        self.headers = JsHeaders(list(r.headers.items()))
        self._body = r.content

    async def arrayBuffer(self):
        return JsBuffer(self._body)


class FakeFetch:
    """``js.fetch`` over a :class:`Replay`; records each (url, init)."""

    def __init__(self, replay=None, reject: str | None = None):
        self.replay, self.reject, self.calls = replay, reject, []

    async def __call__(self, url, init):
        self.calls.append((url, init))
        if self.reject:
            raise RuntimeError(self.reject)  # what a JsException of a rejected promise says
        request = httpx2.Request(init["method"], url, headers=init["headers"],
                                 content=init.get("body"))
        return JsResponse(self.replay(request))


def browser_client(fetch, **cfg):
    config = LlmConfig(api_key=KEY, backoff_base=0.001, backoff_max=0.002, **cfg)
    return LlmClient(config, http_client=browser_http_client(fetch=fetch, run_sync=asyncio.run),
                     sleep=lambda s: None)


def test_the_sdk_talks_through_fetch_with_the_browser_header():
    fetch = FakeFetch(Replay([message(text_block("hello from the browser"))]))
    msg = browser_client(fetch, stream=False).create(messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text == "hello from the browser"
    url, init = fetch.calls[0]
    assert url == "https://api.anthropic.com/v1/messages" and init["method"] == "POST"
    assert init["headers"]["anthropic-dangerous-direct-browser-access"] == "true"
    assert json.loads(init["body"])["messages"][0]["content"] == "hi"
    assert "host" not in init["headers"] and "content-length" not in init["headers"]


def test_a_streamed_answer_arrives_through_fetch():
    fetch = FakeFetch(Replay([message(text_block("streamed through fetch, in pieces"))]))
    parts: list[str] = []
    browser_client(fetch, stream=True).create(messages=[{"role": "user", "content": "hi"}],
                                              on_text=parts.append)
    assert "".join(parts) == "streamed through fetch, in pieces" and len(parts) > 1


def test_a_blocked_fetch_is_a_clear_cors_message_and_is_not_retried():
    fetch = FakeFetch(reject="TypeError: Failed to fetch")
    with pytest.raises(BrowserAccessBlocked) as exc:
        browser_client(fetch, stream=False).create(messages=[{"role": "user", "content": "hi"}])
    text = str(exc.value)
    assert "browser blocked the request to api.anthropic.com" in text
    assert "Failed to fetch" in text and "CORS" in text and "local Jupyter kernel" in text
    assert len(fetch.calls) == 1 and KEY not in text


def test_an_organisation_that_disallows_browsers_gets_told(make_client):
    body = (403, {"type": "error", "error": {"type": "permission_error", "message":
            "CORS requests are not allowed for this Organization because of its settings."}}, {})
    fetch = FakeFetch(Replay([body]))
    with pytest.raises(BrowserAccessBlocked, match="does not allow requests from a browser"):
        browser_client(fetch, stream=False).create(messages=[{"role": "user", "content": "hi"}])


def test_the_transport_alone_and_its_async_twin():
    replay = Replay([message(text_block("a")), message(text_block("b"))])
    transport = FetchTransport(fetch=FakeFetch(replay), run_sync=asyncio.run)
    with httpx2.Client(transport=transport) as c:
        r = c.post("https://api.anthropic.com/v1/messages", json={"x": 1})
    assert r.status_code == 200 and r.json()["content"][0]["text"] == "a"

    async def go():
        async with httpx2.AsyncClient(transport=AsyncFetchTransport(fetch=FakeFetch(replay))) as c:
            return await c.post("https://api.anthropic.com/v1/messages", json={"x": 2})
    assert asyncio.run(go()).json()["content"][0]["text"] == "b"

    blocked = FetchTransport(fetch=FakeFetch(reject="NetworkError"), run_sync=asyncio.run)
    with pytest.raises(BrowserFetchBlocked), httpx2.Client(transport=blocked) as c:
        c.get("https://api.anthropic.com/v1/models")


class FakeXHR:
    """A synchronous ``XMLHttpRequest`` (the fallback without JSPI)."""

    def __init__(self, replay, status_zero=False):
        self.replay, self.status_zero, self.headers = replay, status_zero, {}

    def open(self, method, url, is_async):
        assert is_async is False
        self.method, self.url = method, url

    def setRequestHeader(self, k, v):
        self.headers[k] = v

    def send(self, body):
        if self.status_zero:
            self.status = 0
            return
        r = self.replay(httpx2.Request(self.method, self.url, headers=self.headers, content=body))
        self.status, self.response = r.status_code, JsBuffer(r.content)
        self._h = "\r\n".join(f"{k}: {v}" for k, v in r.headers.items())

    def getAllResponseHeaders(self):
        return self._h


def test_the_xhr_fallback():
    replay = Replay([message(text_block("via xhr"))])
    xhrs = []

    def new():
        xhrs.append(FakeXHR(replay))
        return xhrs[-1]

    with httpx2.Client(transport=FetchTransport(xhr=new)) as c:
        r = c.post("https://api.anthropic.com/v1/messages", json={})
    assert r.json()["content"][0]["text"] == "via xhr"
    assert xhrs[0].headers["anthropic-dangerous-direct-browser-access"] == "true"
    zero = FetchTransport(xhr=lambda: FakeXHR(replay, True))
    with pytest.raises(BrowserFetchBlocked, match="status 0"), httpx2.Client(transport=zero) as c:
        c.get("https://api.anthropic.com/v1/models")


def test_outside_pyodide_the_transport_says_so():
    with pytest.raises(RuntimeError, match="needs Pyodide"), \
            httpx2.Client(transport=FetchTransport()) as c:
        c.get("https://api.anthropic.com/v1/models")
