"""Errors of the LLM layer. Every message is redacted before it is built.

Hierarchy::

    LlmosError
     └── LlmError                 anything the LLM layer raises on purpose
          ├── LlmNotInstalled     the ``anthropic`` package is missing (pip install hint)
          ├── MissingApiKey       no key in ANTHROPIC_API_KEY, config.toml or %llm key
          ├── AuthenticationFailed the API rejected the key (401) or its permissions (403)
          ├── RequestRefused      the API refused the request itself (400, 404, 413, 422)
          ├── LlmUnavailable      429 / 5xx / 529 / connection errors after every retry
          ├── CircuitOpen         failing fast: too many consecutive failures just now
          └── BrowserAccessBlocked the browser's fetch was blocked (CORS / org policy)
"""

from __future__ import annotations

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._llm.redact import redact

__all__ = [
    "AuthenticationFailed",
    "BrowserAccessBlocked",
    "CircuitOpen",
    "LlmError",
    "LlmNotInstalled",
    "LlmUnavailable",
    "MissingApiKey",
    "RequestRefused",
]


class LlmError(LlmosError):
    """Base class of the LLM layer's errors; the message never contains a secret."""

    def __init__(self, message: str, *, status: int | None = None,
                 request_id: str | None = None) -> None:
        self.message = redact(message)
        self.status = status
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class LlmNotInstalled(LlmError):
    """The ``anthropic`` SDK is not installed."""


class MissingApiKey(LlmError):
    """No API key is configured."""


class AuthenticationFailed(LlmError):
    """The API rejected the key (401) or the key lacks permission (403)."""


class RequestRefused(LlmError):
    """The API refused the request as such (bad request, unknown model, too large)."""


class LlmUnavailable(LlmError):
    """Rate limited, overloaded, server error or no connection, after every retry."""


class CircuitOpen(LlmError):
    """Too many consecutive failures: calls fail fast until the cool-down has passed."""


class BrowserAccessBlocked(LlmError):
    """The browser blocked the request (CORS, or the organisation disallows browser access)."""
