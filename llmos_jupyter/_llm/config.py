"""LLM settings: ``$LLMOS_HOME/config.toml`` section ``[llm]``, overridden by the environment.

::

    # $LLMOS_HOME/config.toml
    [llm]
    model = "claude-sonnet-5-5"
    max_tokens = 4096
    # temperature = 0.2      # only sent with api_version = "2023-06-01" (see docs/llm.md)
    timeout = 120            # seconds per HTTP attempt
    max_retries = 4          # retries after the first attempt (429/5xx/529/connection)
    breaker_threshold = 5    # consecutive failed calls before failing fast
    breaker_cooldown = 30    # seconds the breaker stays open
    context_tokens = 3000    # budget of the skill summary in the system prompt
    max_steps = 20           # tool-loop limit per request
    # api_key = "sk-ant-…"   # prefer ANTHROPIC_API_KEY; a key here is never written back

Environment (wins over the file): ``ANTHROPIC_API_KEY``, ``LLMOS_MODEL``,
``LLMOS_MAX_TOKENS``, ``LLMOS_TEMPERATURE``, ``LLMOS_LLM_TIMEOUT``, ``LLMOS_LLM_RETRIES``,
``ANTHROPIC_BASE_URL``. The key is registered with :mod:`redact` the moment it is read,
and :class:`LlmConfig`'s ``repr`` never shows it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from llmos_jupyter._config import config_path as _config_path
from llmos_jupyter._config import config_section
from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._llm.redact import register_secret

__all__ = ["DEFAULT_MODEL", "LlmConfig", "config_path", "load_config"]

DEFAULT_MODEL = "claude-sonnet-5-5"

_ENV = {
    "model": "LLMOS_MODEL",
    "max_tokens": "LLMOS_MAX_TOKENS",
    "temperature": "LLMOS_TEMPERATURE",
    "timeout": "LLMOS_LLM_TIMEOUT",
    "max_retries": "LLMOS_LLM_RETRIES",
    "base_url": "ANTHROPIC_BASE_URL",
}


@dataclass(frozen=True)
class LlmConfig:
    """Settings of one client. ``api_key`` is excluded from ``repr`` and equality."""

    model: str = DEFAULT_MODEL
    max_tokens: int = 4096
    temperature: float | None = None
    timeout: float = 120.0
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 60.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    context_tokens: int = 3000
    max_steps: int = 20
    stream: bool = True
    base_url: str | None = None
    api_version: str | None = None
    api_key: str | None = field(default=None, repr=False, compare=False)

    def with_(self, **changes: Any) -> LlmConfig:
        """A copy with ``changes`` (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def config_path(home: Path | None = None) -> Path:
    """``$LLMOS_HOME/config.toml`` (:func:`llmos_jupyter._config.config_path`)."""
    return _config_path(home)


def _coerce(name: str, value: Any, where: str) -> Any:
    kinds = {f.name: f.type for f in fields(LlmConfig)}
    kind = str(kinds[name])
    try:
        if "int" in kind and "float" not in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        if "bool" in kind:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        return str(value)
    except (TypeError, ValueError):
        raise LlmosError(f"{where}: {name} = {value!r} is not a valid {kind}") from None


def load_config(home: Path | None = None, env: Mapping[str, str] | None = None,
                **overrides: Any) -> LlmConfig:
    """The settings: defaults < ``config.toml`` [llm] < environment < ``overrides``.

    Raises:
        LlmosError: the file is not valid TOML or a value has the wrong type (the message
            names the file and key, never the value of ``api_key``).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = config_path(home)
    known = {f.name for f in fields(LlmConfig)}
    # The one reader of config.toml; its ConfigError is an LlmosError naming the file.
    for key, value in config_section("llm", home).items():
        if key not in known:
            raise LlmosError(f"{path}: unknown key [llm] {key} (known: {', '.join(sorted(known))})")
        values[key] = value if key == "api_key" else _coerce(key, value, str(path))
    for key, var in _ENV.items():
        if environ.get(var):
            values[key] = _coerce(key, environ[var], var)
    if environ.get("ANTHROPIC_API_KEY"):
        values["api_key"] = environ["ANTHROPIC_API_KEY"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    register_secret(values.get("api_key"))
    return LlmConfig(**values)
