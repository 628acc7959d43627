"""Secrets are never written: the one redaction step of everything llmos writes.

Every writer (trace notebooks, chat notebooks, CLI output, logs, volume commits, saved
workflow files, notebook outputs of the magics) passes its text or JSON-like data through
:func:`redact` / :func:`redact_obj` just before writing. Three layers:

* **known secrets**, replaced verbatim wherever they occur: the value of
  ``ANTHROPIC_API_KEY``, the values of the environment variables the user lists as
  secret in ``$LLMOS_HOME/config.toml``::

      [secrets]
      env = ["OPENAI_API_KEY", "MY_DB_PASSWORD"]

  and every value registered with :func:`register_secret` (a key typed with ``%llm key``,
  the value of a port declared ``secret: true``). Values shorter than
  :data:`MIN_SECRET_LENGTH` characters are ignored: they occur by chance in ordinary text
  and would shred it;
* **key-shaped strings**, so a key we were never told about (pasted into a prompt, echoed
  in an error body, hard-coded in a skill) is still caught: Anthropic ``sk-ant-…``, OpenAI
  ``sk-…`` / ``sk-proj-…``, GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/
  ``github_pat_…``, AWS access key ids ``AKIA…``/``ASIA…`` and the value after
  ``aws_secret_access_key``, ``Authorization: Bearer|Basic|Token …`` and ``x-api-key``
  header values. The patterns are anchored on the vendors' fixed prefixes and lengths
  (and OpenAI's on a digit and an upper-case letter), so hex digests, run ids, skill ids
  such as ``sk-learn-regression`` and base64 image data are left alone;
* **credentials in URLs**, wherever a URL appears in text: the password of a URL's
  userinfo (``https://user:pw@host``, ``postgresql+psycopg://u:pw@h/db``, RFC 3986 §3.2.1,
  which deprecates it) and the value of query parameters whose name says secret
  (``?api_key=…``, ``&access_token=…``, ``?key=…``, ``&sig=…``, ``&password=…``);
* **secret HTTP headers** in data: inside a mapping under a ``headers`` key (or a port
  named ``headers``), the value of ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
  ``Set-Cookie``, ``X-Api-Key`` and of every header whose name contains ``token``,
  ``secret``, ``key``, ``password``, ``passwd``, ``auth``, ``session``, ``credential``
  or ``signature`` (:func:`is_secret_header`) is replaced whole and registered as a known
  secret, so a trace that prints the same value elsewhere is scrubbed too;
* **secret ports**: :func:`redact_ports` shows the value of a port declared
  ``secret: true`` as :data:`SECRET_MASK` (``●●●``) and registers it as a known secret.

:func:`strip_control` removes terminal control sequences from text a terminal will show
(the CLI): a skill id or output must not move the cursor, retitle the window or hide text.
:func:`install_log_filter` scrubs log records of the SDK's, httpx's and our loggers.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SECRET_MASK",
    "install_log_filter",
    "is_secret_header",
    "is_secret_param",
    "known_secrets",
    "redact",
    "redact_obj",
    "redact_ports",
    "register_secret",
    "register_secret_headers",
    "register_secrets_in",
    "register_url_secrets",
    "secret_env_names",
    "strip_control",
]

REDACTED = "[REDACTED]"
"""What a secret found in text is replaced with."""

SECRET_MASK = "●●●"
"""How the value of a ``secret: true`` port is shown and stored."""

MIN_SECRET_LENGTH = 6
"""Known secrets shorter than this are not replaced (see the module docstring)."""

ALWAYS_SECRET_ENV = ("ANTHROPIC_API_KEY",)
"""Environment variables whose values are secret whatever the config says."""

_lock = threading.Lock()
_registered: set[str] = set()

# Patterns replaced whole.
_WHOLE = (
    # Anthropic: sk-ant-api03-…, sk-ant-admin01-…
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}"),
    # OpenAI: legacy sk-<48 alnum>, sk-proj-/sk-svcacct-/sk-admin-<long>. A digit and an
    # upper-case letter are required so hyphenated words ("sk-learn-regression-model")
    # are not keys.
    re.compile(r"(?<![A-Za-z0-9_\-])sk-(?:proj-|svcacct-|admin-|None-)?"
               r"(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Z])[A-Za-z0-9_\-]{20,}"),
    # GitHub: classic tokens are the prefix + 36 base62 characters; fine-grained
    # github_pat_<22>_<59>.
    re.compile(r"(?<![A-Za-z0-9_])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])"),
    re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{30,}"),
    # AWS access key ids: AKIA (long-term) / ASIA (temporary) + 16 upper-case base32.
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])"),
)
# Patterns whose group 1 (the name and separator) is kept and the value replaced.
_VALUE = (
    re.compile(r"(?i)(aws_secret_access_key['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9/+=]{16,}"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)\s+)"
               r"[^\s'\",}]+"),
    re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
    # URL userinfo password (RFC 3986 §3.2.1: userinfo = user[:password], ending at '@';
    # '/', '?', '#' and '@' cannot occur in it unencoded). The scheme and user are kept.
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/?#@:'\"<>]*:)[^\s/?#@'\"<>]+(?=@)"),
    # Query parameters named like a credential (api_key, access_token, key, sig, ...).
    re.compile(r"(?i)([?&](?:[a-z0-9_.\-]*(?:token|secret|passw|pwd|api[_\-]?key|access[_\-]?key"
               r"|credential|signature)[a-z0-9_.\-]*|key|sig|auth)=)[^&#\s'\"<>]+"),
)

# Query parameter names whose values are credentials (the same names as in _VALUE).
_SECRET_PARAM = re.compile(
    r"(?i)^(?:[a-z0-9_.\-]*(?:token|secret|passw|pwd|api[_\-]?key|access[_\-]?key"
    r"|credential|signature)[a-z0-9_.\-]*|key|sig|auth)$")

# Header names whose values are credentials (RFC 9110 §11.6.2 Authorization, §11.7.2
# Proxy-Authorization; RFC 6265 Cookie / Set-Cookie) and the usual vendor names.
_SECRET_HEADER = re.compile(
    r"(?i)^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)$"
    r"|token|secret|key|passw|pwd|auth|session|credential|signature")

_ROOTS = frozenset({"anthropic", "httpx2", "httpx", "httpcore2", "httpcore", "llmos_jupyter"})


# -- known secrets -----------------------------------------------------------------------
def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so :func:`redact` removes it wherever it appears (values shorter
    than :data:`MIN_SECRET_LENGTH` are ignored)."""
    if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
        with _lock:
            _registered.add(secret)


_config_cache: dict[str, tuple[int, tuple[str, ...]]] = {}


def secret_env_names(home: Path | None = None) -> tuple[str, ...]:
    """``ANTHROPIC_API_KEY`` plus ``[secrets] env`` of ``$LLMOS_HOME/config.toml``.

    The file is re-read when it changes (keyed by path and modification time). A file
    that is not valid TOML, or an ``env`` that is not a list of strings, is ignored here —
    redaction must never fail a write; ``llmos`` reports config errors where it loads the
    config for its own use.
    """
    from llmos_jupyter._paths import llmos_home

    path = (home or llmos_home()) / "config.toml"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return ALWAYS_SECRET_ENV
    key = str(path)
    cached = _config_cache.get(key)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    from llmos_jupyter._config import ConfigError, config_section

    names: list[str] = list(ALWAYS_SECRET_ENV)
    try:
        env = config_section("secrets", home).get("env", [])
        if isinstance(env, list):
            names += [n for n in env if isinstance(n, str) and n not in names]
    except (ConfigError, OSError):
        pass
    _config_cache[key] = (mtime, tuple(names))
    return tuple(names)


def known_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Every known secret value (registered, and the secret environment variables' values),
    longest first so a secret containing another is replaced whole."""
    env = os.environ if env is None else env
    values = set()
    for name in secret_env_names():
        value = env.get(name)
        if value and len(value) >= MIN_SECRET_LENGTH:
            values.add(value)
    with _lock:
        values |= _registered
    return sorted(values, key=len, reverse=True)


# -- redaction ---------------------------------------------------------------------------
def _redact_with(s: str, known: Iterable[str]) -> str:
    for secret in known:
        if secret in s:
            s = s.replace(secret, REDACTED)
    for pattern in _WHOLE:
        s = pattern.sub(REDACTED, s)
    for pattern in _VALUE:
        s = pattern.sub(lambda m: m.group(1) + REDACTED, s)
    return s


def redact(text: Any) -> str:
    """``text`` (``str()`` of it if not a string) with every known or key-shaped secret
    replaced by :data:`REDACTED`."""
    s = text if isinstance(text, str) else str(text)
    return _redact_with(s, known_secrets())


def is_secret_header(name: Any) -> bool:
    """Whether an HTTP header called ``name`` carries a credential (case-insensitive):
    ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key``
    or any name containing ``token``, ``secret``, ``key``, ``passw``, ``pwd``, ``auth``,
    ``session``, ``credential`` or ``signature`` (``X-Auth-Token``, ``X-Session-Id``)."""
    return isinstance(name, str) and _SECRET_HEADER.search(name.strip()) is not None


def is_secret_param(name: Any) -> bool:
    """Whether a URL query parameter called ``name`` carries a credential: ``key``,
    ``sig``, ``auth`` or a name containing ``token``, ``secret``, ``passw``, ``pwd``,
    ``api_key``/``apikey``, ``access_key``, ``credential`` or ``signature``."""
    return isinstance(name, str) and _SECRET_PARAM.match(name) is not None


def register_url_secrets(url: Any, query: Any = None) -> None:
    """Register the credentials of an ``url`` as known secrets: the userinfo password and
    the values of credential query parameters (:func:`is_secret_param`), of the URL and
    of ``query`` (a mapping name → value or list of values, as an HTTP client adds it).
    A server that echoes them back (a redirect, an error page) is then scrubbed too."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    if not isinstance(url, str):
        return
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return
    if password:
        register_secret(password)
        register_secret(unquote(password))
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if is_secret_param(name):
            register_secret(value)
    if isinstance(query, Mapping):
        for name, value in query.items():
            if is_secret_param(name):
                for v in value if isinstance(value, (list, tuple)) else (value,):
                    if isinstance(v, str):
                        register_secret(v)


_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'\"<>]+")


def register_secrets_in(value: Any, _depth: int = 0) -> None:
    """Register every credential found in JSON-like ``value`` (a node's inputs, say) as a
    known secret: secret header values under a ``headers`` key
    (:func:`register_secret_headers`), and in every URL inside a string the userinfo
    password, the Basic credentials an HTTP client derives from it and credential query
    values (:func:`register_url_secrets`).

    For writers that see a run's values but not the process that ran it (a node run in a
    child process or on a Dask worker registered its secrets there): calling this on the
    node's inputs before :func:`redact` scrubs an echoed ``Authorization`` value from the
    outputs too. Never raises; nesting deeper than 64 levels is not walked.
    """
    if _depth > 64:
        return
    if isinstance(value, str):
        if "://" in value:
            for url in _URL_IN_TEXT.findall(value):
                register_url_secrets(url)
                _register_basic(url)
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and k.lower() == "headers":
                register_secret_headers(v)
            register_secrets_in(v, _depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            register_secrets_in(v, _depth + 1)


def _register_basic(url: str) -> None:
    """``base64(user:password)``, what HTTP clients send for a URL's userinfo."""
    import base64
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return
    if password:
        basic = f"{unquote(user or '')}:{unquote(password)}".encode()
        register_secret(base64.b64encode(basic).decode("ascii"))


def _header_items(headers: Any) -> list[tuple[Any, Any]] | None:
    """(name, value) pairs of a mapping or of a list of 2-item pairs (as httpx accepts)."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    if isinstance(headers, (list, tuple)) and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in headers):
        return [(p[0], p[1]) for p in headers]
    return None


def register_secret_headers(headers: Any) -> None:
    """Register the values of ``headers`` (a mapping or a list of pairs) whose names are
    secret (:func:`is_secret_header`) as known secrets, so :func:`redact` scrubs them from
    any text, including places that never see the mapping (an error, a trace cell).
    Values shorter than :data:`MIN_SECRET_LENGTH` are not registered (see there)."""
    for name, value in _header_items(headers) or ():
        if is_secret_header(name):
            for v in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(v, str):
                    register_secret(v)


def _walk(v: Any, known: list[str], key: Any = None) -> Any:
    if isinstance(v, str):
        return _redact_with(v, known)
    if isinstance(key, str) and key.lower() == "headers":
        items = _header_items(v)
        if items is not None:
            register_secret_headers(items)
            shown = [(_walk(k, known), REDACTED if is_secret_header(k) and x is not None
                      else _walk(x, known)) for k, x in items]
            return dict(shown) if isinstance(v, Mapping) else [list(p) for p in shown]
    if isinstance(v, Mapping):
        return {_walk(k, known): _walk(x, known, k) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_walk(x, known) for x in v]
    return v


def redact_obj(value: Any) -> Any:
    """A copy of JSON-like ``value`` with every string scrubbed, dict keys included.

    Dicts stay dicts (any ``Mapping`` becomes a ``dict``), lists and tuples become lists;
    other values (numbers, ``None``, bytes) are returned as they are. Under a ``headers``
    key (any case), a mapping or list of pairs is read as HTTP headers: the values of
    secret headers (:func:`is_secret_header`) become :data:`REDACTED` and are registered
    (:func:`register_secret_headers`).
    """
    return _walk(value, known_secrets())


def _is_secret(port: Any) -> bool:
    return bool(getattr(port, "secret", False))


def redact_ports(skill: Any, values: Mapping[str, Any], side: str | None = None) -> dict[str, Any]:
    """``values`` (port name → value, a node's params or outputs) with the value of every
    port ``skill`` declares ``secret: true`` shown as :data:`SECRET_MASK`, and every other
    value passed through :func:`redact_obj`.

    The string values of secret ports are also registered (:func:`register_secret`), so
    the same value is scrubbed when it turns up elsewhere (an error message, a log). A
    port named ``headers`` is read as HTTP headers (see :func:`redact_obj`).

    Args:
        skill: the node's skill (``None``: no port is secret).
        values: port name → value.
        side: ``"inputs"``, ``"outputs"`` or ``None`` (a name is secret on either side).
    """
    ports: list[Any] = []
    if skill is not None:
        if side in (None, "inputs"):
            ports += list(getattr(skill, "inputs", ()) or ())
        if side in (None, "outputs"):
            ports += list(getattr(skill, "outputs", ()) or ())
    secret = {p.name for p in ports if _is_secret(p)}
    for name in secret:
        v = values.get(name)
        if isinstance(v, str):
            register_secret(v)
    known = known_secrets()
    # The port name is the key: a port called ``headers`` is read as HTTP headers.
    return {k: SECRET_MASK if k in secret and v is not None else _walk(v, known, k)
            for k, v in values.items()}


# -- terminal control --------------------------------------------------------------------
_ANSI = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"        # OSC (titles, hyperlinks), BEL or ST ended
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"            # DCS / PM / APC / SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]"                  # CSI (colours, cursor moves, erase)
    r"|\x1b[ -/]*[0-~]"                          # other two-byte escapes (ESC c, ESC 7…)
    r"|\x9b[0-?]*[ -/]*[@-~]"                    # 8-bit CSI
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"              # 8-bit OSC
)
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"               # C0 (but \t \n), DEL, C1
    "\u200e\u200f\u202a-\u202e\u2066-\u2069]"    # bidi marks/overrides: reorder shown text
)


def strip_control(text: Any) -> str:
    """``text`` without terminal escape sequences (CSI, OSC, DCS, 8-bit forms), C0 and C1
    control characters (tab and newline are kept; ``\\r`` is removed: it would let a value
    overwrite the start of its line) and Unicode bidirectional overrides."""
    s = text if isinstance(text, str) else str(text)
    return _CONTROL.sub("", _ANSI.sub("", s))


# -- logs --------------------------------------------------------------------------------
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
