"""A replay of the Anthropic Messages API for the real SDK, over ``httpx2.MockTransport``.

These replays reproduce the peer's protocol — the JSON bodies, server-sent events, status
codes and headers the Messages API sends (text and tool_use content blocks, streaming
``message_start`` … ``message_stop`` with ``text_delta`` / ``input_json_delta``, 429 with
``retry-after``, 529 ``overloaded_error``, 401 ``authentication_error``). They are not the
product's behaviour: the product is what our client, tools and loop do with them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx2

from llmos_jupyter._llm.client import LlmClient

KEY = "sk-ant-api03-TESTKEY0123456789abcdefXYZ"
MODEL = "claude-sonnet-5-5"


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    tool_use.n = getattr(tool_use, "n", 0) + 1  # type: ignore[attr-defined]
    return {"type": "tool_use", "id": id or f"toolu_{tool_use.n:04d}", "name": name,  # type: ignore[attr-defined]
            "input": input}


def message(*blocks: dict[str, Any], stop_reason: str | None = None, input_tokens: int = 1200,
            output_tokens: int = 80, model: str = MODEL) -> dict[str, Any]:
    """A Messages API response body (``type: message``)."""
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return {"id": "msg_01" + "x" * 20, "type": "message", "role": "assistant", "model": model,
            "content": list(blocks), "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def error(status: int, kind: str, text: str, headers: dict[str, str] | None = None) -> tuple:
    body = {"type": "error", "error": {"type": kind, "message": text},
            "request_id": "req_011CTESTREQUEST"}
    return (status, body, headers or {})


def sse(msg: dict[str, Any]) -> bytes:
    """``msg`` as the Messages API streams it (event names and data as documented)."""
    events: list[tuple[str, dict[str, Any]]] = []
    start = dict(msg, content=[], stop_reason=None, stop_sequence=None,
                 usage=dict(msg["usage"], output_tokens=1))
    events.append(("message_start", {"type": "message_start", "message": start}))
    events.append(("ping", {"type": "ping"}))
    for i, block in enumerate(msg["content"]):
        if block["type"] == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": {"type": "text", "text": ""}}))
            text = block["text"]
            for j in range(0, len(text), 7):
                events.append(("content_block_delta", {
                    "type": "content_block_delta", "index": i,
                    "delta": {"type": "text_delta", "text": text[j:j + 7]}}))
        else:
            events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": dict(block, input={})}))
            raw = json.dumps(block["input"])
            for j in range(0, len(raw), 11):
                events.append(("content_block_delta", {
                    "type": "content_block_delta", "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": raw[j:j + 11]}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": msg["stop_reason"],
                                               "stop_sequence": None},
                                     "usage": {"output_tokens": msg["usage"]["output_tokens"]}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()


@dataclass
class Replay:
    """Answers each request with the next scripted item: a message dict (sent as JSON, or
    as SSE when the request asked to stream), an ``error(...)`` tuple, an exception to
    raise from the transport, or a callable ``request -> httpx2.Response``."""

    script: list[Any]
    requests: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected request #{len(self.requests)}: {request.url}")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        if callable(item):
            return item(request)
        headers = {"request-id": "req_011CTESTREQUEST"}
        if isinstance(item, tuple):
            status, body, extra = item
            return httpx2.Response(status, json=body, headers={**headers, **extra})
        if json.loads(request.content or b"{}").get("stream"):
            return httpx2.Response(200, content=sse(item),
                                   headers={**headers, "content-type": "text/event-stream"})
        return httpx2.Response(200, json=item, headers=headers)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@dataclass
class Made:
    client: LlmClient
    replay: Replay
    sleeps: list[float]
    clock: list[float]


