"""The client on the real SDK against replayed Messages API responses (see conftest: the
replays reproduce the API's protocol; they are not the product's behaviour)."""

from __future__ import annotations

import logging

import httpx2
import pytest
from _llm.anthropic_replay import KEY, error, message, text_block, tool_use

from llmos_jupyter._llm.client import LlmClient, retry_delay
from llmos_jupyter._llm.config import LlmConfig
from llmos_jupyter._llm.errors import (
    AuthenticationFailed,
    CircuitOpen,
    LlmUnavailable,
    MissingApiKey,
    RequestRefused,
)

HI = [{"role": "user", "content": "hi"}]


def test_a_text_answer_with_usage_and_cost(make_client):
    m = make_client([message(text_block("Hello!"), input_tokens=1000, output_tokens=500)])
    msg = m.client.create(messages=HI, system="sys")
    assert msg.content[0].text == "Hello!" and msg.stop_reason == "end_turn"
    body = m.replay.bodies()[0]
    assert body["model"] == "claude-sonnet-5-5" and body["max_tokens"] == 4096
    assert body["system"] == "sys" and "temperature" not in body
    usage = m.client.last_usage
    assert (usage.input_tokens, usage.output_tokens, usage.attempts) == (1000, 500, 1)
    assert usage.cost_usd == pytest.approx((1000 * 2 + 500 * 10) / 1e6)
    assert m.client.ledger.cost_usd == pytest.approx(usage.cost_usd)
    headers = m.replay.requests[0].headers
    assert KEY in headers.get("authorization", "") + headers.get("x-api-key", "")


def test_429_is_retried_after_the_retry_after_header(make_client):
    m = make_client([error(429, "rate_limit_error", "Number of requests has exceeded your "
                           "per-minute rate limit", {"retry-after": "7"}),
                     message(text_block("ok"))])
    assert m.client.create(messages=HI).content[0].text == "ok"
    assert m.sleeps == [7.0] and m.client.last_usage.attempts == 2


def test_retry_after_is_capped_and_backoff_is_exponential_with_jitter():
    cfg = LlmConfig(backoff_base=1.0, backoff_max=8.0, retry_after_max=60)
    assert retry_delay(0, cfg, httpx2.Headers({"retry-after": "3600"})) == 60
    assert retry_delay(0, cfg, httpx2.Headers({"retry-after-ms": "250"})) == 0.25
    assert [retry_delay(a, cfg, rng=lambda: 0.0) for a in range(5)] == [0.5, 1, 2, 4, 4]
    assert [retry_delay(a, cfg, rng=lambda: 1.0) for a in range(5)] == [1, 2, 4, 8, 8]


def test_529_overloaded_and_500_and_connection_errors_are_retried(make_client):
    m = make_client([error(529, "overloaded_error", "Overloaded"),
                     error(500, "api_error", "Internal server error"),
                     httpx2.ConnectError("connection refused"),
                     message(text_block("finally"))])
    assert m.client.create(messages=HI).content[0].text == "finally"
    assert len(m.sleeps) == 3 and all(0 < s <= 0.05 for s in m.sleeps)
    assert m.client.breaker.failures == 0  # a success closes the count


def test_giving_up_names_the_cause_and_the_attempts(make_client):
    m = make_client([error(529, "overloaded_error", "Overloaded")] * 4)
    with pytest.raises(LlmUnavailable, match=r"overloaded \(529 overloaded_error: Overloaded\)"
                       r".*after 4 attempts") as exc:
        m.client.create(messages=HI)
    assert exc.value.status == 529 and len(m.replay.requests) == 4


def test_401_fails_at_once_with_a_clear_message_and_no_key(make_client):
    m = make_client([error(401, "authentication_error", f"invalid x-api-key {KEY}")])
    with pytest.raises(AuthenticationFailed) as exc:
        m.client.create(messages=HI)
    text = str(exc.value)
    assert "rejected the key (401" in text and "ANTHROPIC_API_KEY" in text
    assert KEY not in text and "[REDACTED]" in text
    assert len(m.replay.requests) == 1 and m.sleeps == []


def test_400_is_a_refused_request_not_retried(make_client):
    m = make_client([error(400, "invalid_request_error", "max_tokens: Field required")])
    with pytest.raises(RequestRefused, match="refused the request .400 invalid_request_error"):
        m.client.create(messages=HI)
    assert len(m.replay.requests) == 1


def test_missing_key_fails_before_any_request(make_client):
    m = make_client([], api_key=None)
    with pytest.raises(MissingApiKey, match="ANTHROPIC_API_KEY.*config.toml.*%llm key"):
        m.client.create(messages=HI)
    assert m.replay.requests == []


def test_circuit_breaker_opens_fails_fast_and_recovers(make_client):
    m = make_client([error(500, "api_error", "boom")] * 3 + [message(text_block("back"))],
                    max_retries=0, breaker_threshold=3, breaker_cooldown=30)
    for _ in range(3):
        with pytest.raises(LlmUnavailable):
            m.client.create(messages=HI)
    assert m.client.breaker.state == "open"
    with pytest.raises(CircuitOpen, match=r"failed 3 times in a row \(last: server error.*"
                       r"not calling it again for 30 s"):
        m.client.create(messages=HI)
    assert len(m.replay.requests) == 3  # failed fast: no request
    m.clock[0] += 31
    assert m.client.breaker.state == "half-open"
    assert m.client.create(messages=HI).content[0].text == "back"
    assert m.client.breaker.state == "closed"


def test_the_breaker_counts_retries_of_one_call(make_client):
    m = make_client([error(529, "overloaded_error", "Overloaded")] * 3, max_retries=5,
                    breaker_threshold=3)
    with pytest.raises(CircuitOpen):
        m.client.create(messages=HI)
    assert len(m.replay.requests) == 3


def test_streaming_text_arrives_in_deltas(make_client):
    long = "The H2 ground state energy is about -1.137 Hartree. " * 5
    m = make_client([message(text_block(long))], stream=True)
    parts: list[str] = []
    msg = m.client.create(messages=HI, on_text=parts.append)
    assert len(parts) > 10 and "".join(parts) == long and msg.content[0].text == long
    assert m.replay.bodies()[0]["stream"] is True
    assert m.client.last_usage.output_tokens == 80


def test_streamed_tool_use_input_is_reassembled(make_client):
    call = tool_use("add_node", {"node_id": "vqe", "skill_id": "quantum-vqe",
                                 "params": {"iterations": 50}})
    m = make_client([message(text_block("Adding."), call)], stream=True)
    msg = m.client.create(messages=HI)
    assert msg.stop_reason == "tool_use" and msg.content[1].input == call["input"]


def test_temperature_is_only_sent_with_the_2023_api_version(make_client):
    m = make_client([message(text_block("a")), message(text_block("b"))], temperature=0.2)
    m.client.create(messages=HI)
    assert "temperature" not in m.replay.bodies()[0]
    m2 = make_client([message(text_block("a"))], temperature=0.2, api_version="2023-06-01")
    m2.client.create(messages=HI)
    assert m2.replay.bodies()[0]["temperature"] == 0.2
    assert m2.replay.requests[0].headers["anthropic-version"] == "2023-06-01"


def test_the_key_never_reaches_a_log_line(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    m = make_client([error(429, "rate_limit_error", f"slow down {KEY}"), message(text_block("ok"))])
    m.client.create(messages=HI)
    logging.getLogger("llmos_jupyter.test").info("leak? %s", KEY)
    assert caplog.records and KEY not in caplog.text
    assert "[REDACTED]" in caplog.text


def test_without_the_sdk_the_error_says_what_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_anthropic(name, *a, **k):
        if name == "anthropic":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_anthropic)
    from llmos_jupyter._llm.errors import LlmNotInstalled

    with pytest.raises(LlmNotInstalled, match=r"pip install 'llmos-jupyter\[llm\]'"):
        LlmClient(LlmConfig(api_key=KEY)).create(messages=HI)
