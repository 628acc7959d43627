"""Secrets never leave the process: the LLM layer's name for :mod:`llmos_jupyter._redact`.

The one redaction step lives in :mod:`llmos_jupyter._redact` (every writer of llmos uses
it); this module re-exports it so ``from llmos_jupyter._llm.redact import redact`` keeps
working.
"""

from __future__ import annotations

from llmos_jupyter._redact import (
    REDACTED,
    SECRET_MASK,
    install_log_filter,
    redact,
    redact_obj,
    redact_ports,
    register_secret,
    strip_control,
)

__all__ = ["REDACTED", "SECRET_MASK", "install_log_filter", "redact", "redact_obj",
           "redact_ports", "register_secret", "strip_control"]
