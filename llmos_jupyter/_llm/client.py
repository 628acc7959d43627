"""The Anthropic SDK behind one small, resilient call: :meth:`LlmClient.create`.

Retries are **ours**, not the SDK's (the SDK gets ``max_retries=0``). The SDK does retry
429/408/409/5xx/529 and connection errors with exponential backoff and jitter and honours
``retry-after``/``retry-after-ms`` — but (anthropic 2.x, read in ``_base_client.py``) its
backoff constants are module globals (0.5 s doubling to 8 s, not configurable per client),
a server's ``retry-after`` is obeyed up to ~50 days, and the attempts are invisible to a
caller, so a circuit breaker cannot count them. Our policy:

* retry on 429, 5xx (incl. 529 overloaded) and connection/timeout errors, at most
  ``max_retries`` times after the first attempt; never on 400/401/403/404/413/422;
* wait ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date) when the response sends
  one, capped at ``retry_after_max``; otherwise equal-jitter exponential backoff:
  ``d = min(backoff_max, backoff_base·2^attempt)``, wait ``d/2 + U(0, d/2)``;
* a streamed answer that already printed text is not retried (the user would see it twice);
* every retryable failure counts for the :class:`CircuitBreaker`: after
  ``breaker_threshold`` consecutive failures it opens and calls fail fast with
  :class:`CircuitOpen` for ``breaker_cooldown`` seconds; then one trial call is let
  through (half-open) and a success closes it again.

The per-attempt timeout is ``config.timeout`` (an ``httpx2.Timeout`` with a 10 s connect
limit), passed to the SDK. Every error is mapped to an :mod:`errors` class with a redacted
message; the key is registered with :mod:`redact` and never appears in one.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from llmos_jupyter._llm.config import LlmConfig, load_config
from llmos_jupyter._llm.errors import (
    AuthenticationFailed,
    BrowserAccessBlocked,
    CircuitOpen,
    LlmError,
    LlmNotInstalled,
    LlmUnavailable,
    MissingApiKey,
    RequestRefused,
)
from llmos_jupyter._llm.pricing import CallUsage, UsageLedger
from llmos_jupyter._llm.redact import install_log_filter, redact, register_secret

__all__ = ["CircuitBreaker", "LlmClient", "retry_delay"]

log = logging.getLogger(__name__)

NO_KEY = ("no Anthropic API key: set ANTHROPIC_API_KEY, put api_key under [llm] in "
          "$LLMOS_HOME/config.toml, or run %llm key (kept in this kernel's memory only)")


def _sdk() -> Any:
    try:
        import anthropic
    except ImportError:
        raise LlmNotInstalled(
            "the LLM layer needs the Anthropic SDK: "
            "pip install 'llmos-jupyter[llm]' (or pip install anthropic)") from None
    return anthropic


class CircuitBreaker:
    """Fail fast after ``threshold`` consecutive failures, for ``cooldown`` seconds."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.last_error = ""
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (cool-down over, next call is a trial)."""
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.cooldown else "half-open"

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` while open; let a trial call through when half-open."""
        with self._lock:
            if self.state == "open":
                left = self.cooldown - (self.clock() - self.opened_at)  # type: ignore[operator]
                raise CircuitOpen(
                    f"failing fast: the Anthropic API failed {self.failures} times in a row "
                    f"(last: {self.last_error}); not calling it again for {left:.0f} s "
                    f"(circuit breaker, threshold {self.threshold})")

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at = 0, None

    def failure(self, description: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = redact(description)
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = self.clock()


def _retry_after(headers: Any, cap: float) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date), capped."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(cap, max(0.0, float(ms) / 1000))
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return min(cap, max(0.0, float(value)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value).timestamp()
            return min(cap, max(0.0, when - time.time()))
    except (TypeError, ValueError):
        return None


def retry_delay(attempt: int, config: LlmConfig, headers: Any = None,
                rng: Callable[[], float] = random.random) -> float:
    """Wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    hinted = _retry_after(headers, config.retry_after_max)
    if hinted is not None:
        return hinted
    d = min(config.backoff_max, config.backoff_base * 2 ** attempt)
    return d / 2 + rng() * d / 2


def _body_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        err = inner if isinstance(inner, dict) else body
        kind, msg = err.get("type"), err.get("message")
        if msg:
            return f"{kind}: {msg}" if kind else str(msg)
    return str(getattr(exc, "message", "") or exc)


def _blocked_by_browser(exc: BaseException) -> BaseException | None:
    """The ``BrowserFetchBlocked`` behind an SDK connection error, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ == "BrowserFetchBlocked":
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _classify(exc: Exception) -> tuple[bool, LlmError, Any]:
    """``(retryable, mapped error, response headers)`` for an SDK exception."""
    anthropic = _sdk()
    blocked = _blocked_by_browser(exc)
    if blocked is not None:
        return False, BrowserAccessBlocked(str(blocked)), None
    if isinstance(exc, anthropic.APIStatusError):
        status, msg = exc.status_code, _body_message(exc)
        rid = getattr(exc, "request_id", None)
        headers = exc.response.headers if exc.response is not None else None
        if status == 401:
            return False, AuthenticationFailed(
                f"the API rejected the key (401 {msg}); check ANTHROPIC_API_KEY or "
                "[llm] api_key in config.toml", status=status, request_id=rid), headers
        if status == 403:
            if "cors" in msg.lower() or "browser" in msg.lower():
                return False, BrowserAccessBlocked(
                    f"the organisation does not allow requests from a browser (403 {msg}); "
                    "ask an admin to enable browser access or use a local kernel",
                    status=status, request_id=rid), headers
            return False, AuthenticationFailed(f"the key may not do this (403 {msg})",
                                               status=status, request_id=rid), headers
        if status == 429 or status >= 500:
            name = {429: "rate limited", 529: "overloaded"}.get(status, "server error")
            return True, LlmUnavailable(f"{name} ({status} {msg})", status=status,
                                        request_id=rid), headers
        return False, RequestRefused(f"the API refused the request ({status} {msg})",
                                     status=status, request_id=rid), headers
    if isinstance(exc, anthropic.APITimeoutError):
        return True, LlmUnavailable("the request timed out"), None
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        detail = f": {type(cause).__name__}: {cause}" if cause else ""
        return True, LlmUnavailable(f"cannot reach the Anthropic API{detail}"), None
    if isinstance(exc, anthropic.AnthropicError):
        return False, LlmError(f"{type(exc).__name__}: {exc}"), None
    raise exc


class LlmClient:
    """One configured connection to the Messages API, with a usage ledger.

    Args:
        config: settings (default: :func:`load_config`).
        http_client: an ``httpx2.Client`` for the SDK (tests pass one over
            ``httpx2.MockTransport``; the browser one over :mod:`fetch_transport`).
        sleep, rng, clock: injectable for fast, deterministic tests.
    """

    def __init__(self, config: LlmConfig | None = None, *, http_client: Any = None,
                 default_headers: dict[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or load_config()
        register_secret(self.config.api_key)
        install_log_filter()
        self.http_client = http_client
        self.default_headers = dict(default_headers or {})
        self.sleep, self.rng = sleep, rng
        self.breaker = CircuitBreaker(self.config.breaker_threshold,
                                      self.config.breaker_cooldown, clock)
        self.ledger = UsageLedger()
        self.last_usage: CallUsage | None = None
        self._client: Any = None
        self._temperature_noted = False

    # -- the SDK client ------------------------------------------------------------------
    @property
    def sdk(self) -> Any:
        """The ``anthropic.Anthropic`` client (built on first use; needs a key)."""
        if self._client is None:
            anthropic = _sdk()
            if not self.config.api_key:
                raise MissingApiKey(NO_KEY)
            import httpx2

            headers = dict(self.default_headers)
            if self.config.api_version:
                headers["anthropic-version"] = self.config.api_version
            kwargs: dict[str, Any] = {
                "api_key": self.config.api_key, "max_retries": 0,
                "timeout": httpx2.Timeout(self.config.timeout, connect=10.0),
                "default_headers": headers or None}
            if self.config.base_url:
                kwargs["base_url"] = self.config.base_url
            if self.http_client is not None:
                kwargs["http_client"] = self.http_client
            try:
                self._client = anthropic.Anthropic(**kwargs)
            except anthropic.AnthropicError as exc:
                raise LlmError(f"cannot create the Anthropic client: {exc}") from None
        return self._client

    def _params(self, kw: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in kw.items() if v is not None}
        params.setdefault("model", self.config.model)
        params.setdefault("max_tokens", self.config.max_tokens)
        if self.config.temperature is not None:
            # API version 2026-10-21 (the SDK 2.x default) rejects sampling parameters with
            # 400 even at their defaults; they are only sent with api_version 2023-06-01.
            if self.config.api_version == "2023-06-01":
                params["extra_body"] = {"temperature": self.config.temperature}
            elif not self._temperature_noted:
                self._temperature_noted = True
                log.info("temperature is ignored: API version 2026-10-21 rejects it "
                         "(set [llm] api_version = \"2023-06-01\" to send it)")
        return params

    # -- calls ---------------------------------------------------------------------------
    def create(self, *, messages: Iterable[dict[str, Any]], system: Any = None,
               tools: list[dict[str, Any]] | None = None, model: str | None = None,
               max_tokens: int | None = None, stream: bool | None = None,
               on_text: Callable[[str], None] | None = None) -> Any:
        """One Messages API call with retries and the breaker; returns the SDK ``Message``.

        With ``stream`` (default: ``config.stream``) the answer is streamed and ``on_text``
        gets each text delta as it arrives (long answers show up while they are written,
        and no read timeout hits a long generation).

        Raises:
            MissingApiKey, AuthenticationFailed, RequestRefused, LlmUnavailable,
            CircuitOpen, BrowserAccessBlocked, LlmNotInstalled.
        """
        params = self._params({"messages": list(messages), "system": system, "tools": tools,
                               "model": model, "max_tokens": max_tokens})
        stream = self.config.stream if stream is None else stream
        sdk = self.sdk
        started = time.monotonic()
        for attempt in range(self.config.max_retries + 1):
            self.breaker.before_call()
            printed = [False]
            try:
                if stream:
                    message = self._stream(sdk, params, on_text, printed)
                else:
                    message = sdk.messages.create(**params)
            except Exception as exc:
                retryable, error, headers = _classify(exc)
                if retryable:
                    self.breaker.failure(str(error))
                if not retryable or printed[0] or attempt == self.config.max_retries:
                    if retryable and attempt:
                        error = type(error)(f"{error} (gave up after {attempt + 1} attempts)",
                                            status=error.status, request_id=error.request_id)
                    raise error from None
                delay = retry_delay(attempt, self.config, headers, self.rng)
                log.info("Anthropic API: %s; retry %d/%d in %.2f s", error, attempt + 1,
                         self.config.max_retries, delay)
                self.sleep(delay)
                continue
            self.breaker.success()
            usage = CallUsage.from_sdk(message.model or params["model"], message.usage,
                                       duration_s=time.monotonic() - started,
                                       attempts=attempt + 1)
            self.ledger.add(usage)
            self.last_usage = usage
            return message
        raise AssertionError("unreachable")  # pragma: no cover

    def _stream(self, sdk: Any, params: dict[str, Any],
                on_text: Callable[[str], None] | None, printed: list[bool]) -> Any:
        with sdk.messages.stream(**params) as stream:
            for event in stream:
                if event.type == "text" and on_text is not None and event.text:
                    printed[0] = True
                    on_text(event.text)
            return stream.get_final_message()

    def models(self) -> list[str]:
        """Model ids the key can use (``GET /v1/models``)."""
        sdk = self.sdk
        self.breaker.before_call()
        try:
            return [m.id for m in sdk.models.list(limit=100)]
        except Exception as exc:
            _, error, _ = _classify(exc)
            raise error from None
