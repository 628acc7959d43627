"""Secrets never leave the process: one scrubber for logs, errors, traces and chat notebooks.

Two layers:

* every secret the process knows (the configured API key, keys set with ``%llm key``) is
  registered with :func:`register_secret` and replaced verbatim wherever it appears;
* anything *shaped* like an Anthropic key (``sk-ant-…``) or an ``Authorization: Bearer``
  / ``x-api-key`` header value is replaced too, so a key we were never told about (pasted
  into a prompt, echoed in an error body) is still caught.

:func:`redact` works on strings; :func:`redact_obj` walks JSON-like data (dicts, lists) and
returns a scrubbed copy. :func:`install_log_filter` scrubs the log records of the SDK's
and our loggers (children included) so even ``DEBUG`` records (the SDK logs request
options there) are clean.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = ["REDACTED", "install_log_filter", "redact", "redact_obj", "register_secret"]

REDACTED = "[REDACTED]"

_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bearer\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
)

_ROOTS = frozenset({"anthropic", "httpx2", "httpx", "httpcore2", "httpcore", "llmos_jupyter"})


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so :func:`redact` removes it wherever it appears (≥ 8 chars)."""
    if secret and len(secret) >= 8:
        with _lock:
            _secrets.add(secret)


def redact(text: Any) -> str:
    """``text`` as a string with every known or key-shaped secret replaced by ``[REDACTED]``."""
    s = text if isinstance(text, str) else str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in s:
            s = s.replace(secret, REDACTED)
    s = _PATTERNS[0].sub(REDACTED, s)
    for pattern in _PATTERNS[1:]:
        s = pattern.sub(lambda m: m.group(1) + REDACTED, s)
    return s


def redact_obj(value: Any) -> Any:
    """A copy of JSON-like ``value`` with every string scrubbed (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_obj(k): redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value


_installed = False


def _scrub(record: logging.LogRecord) -> logging.LogRecord:
    if record.name.split(".")[0] in _ROOTS:
        try:
            message = record.getMessage()
        except Exception:
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
    return record


def install_log_filter() -> None:
    """Scrub every log record of the SDK, httpx2/httpcore2 and llmos_jupyter (and their
    child loggers) as it is created (idempotent).

    A ``logging.Filter`` on a logger does not see its children's records, so this wraps
    the log-record factory instead; records of other loggers pass untouched.
    """
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _scrub(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
