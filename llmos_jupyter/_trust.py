"""Trust: which skills may run with the user's full power, signed like Jupyter notebooks.

A skill is *trusted* when it comes from the system volume, was written by the user
(their user volume, by hand or with ``%skill new/save``; in-memory skills defined in their
own kernel), or carries the user's signature. Everything else — the team volume, the
``inline_skills`` a workflow file carries, skills written by the LLM, compound skills
evolved from untrusted members — is *untrusted* and runs isolated (``_isolation``).

The signature is an HMAC-SHA256 of the skill file's bytes (of a canonical form for
skills without a file, e.g. inline skills) with a per-user secret kept in
``$LLMOS_HOME/trust/secret`` (mode 0600), as ``jupyter trust`` signs notebooks with
``notebook_secret``. Editing a signed file changes its digest, which revokes the trust.
Signatures live in ``$LLMOS_HOME/trust/signatures.json``.

Files the product writes into the user volume on behalf of someone else (the LLM,
evolution from untrusted members) are *marked* untrusted by path with
:func:`mark_untrusted`; ``llmos trust`` lifts the mark and signs the content.

Source: Jupyter's notebook trust model, https://jupyter-server.readthedocs.io/en/latest/operators/security.html
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._paths import llmos_home

__all__ = [
    "TrustError",
    "is_trusted",
    "mark_untrusted",
    "signature",
    "trust",
    "trusted_list",
    "untrust",
]

# Volumes whose skills are the user's own (or the product's): trusted unless marked.
_OWN_VOLUMES = frozenset({"system", "user", "memory", None})

_lock = threading.Lock()
_secret_cache: dict[Path, bytes] = {}
# (home, path, mtime_ns, size) → digest: a library of 100 skills is checked per run.
_digest_cache: dict[tuple[Path, str, int, int], str] = {}


class TrustError(LlmosError):
    """The trust store could not be read or written, or a skill cannot be signed."""


def _home(home: str | Path | None) -> Path:
    return Path(home).expanduser() if home is not None else llmos_home()


def _store_dir(home: Path) -> Path:
    return home / "trust"


def _secret(home: Path) -> bytes:
    with _lock:
        cached = _secret_cache.get(home)
        if cached is not None:
            return cached
        path = _store_dir(home) / "secret"
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            # O_EXCL: two processes creating the secret at once keep the first one.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_bytes()
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
        if len(key) < 16:
            raise TrustError(f"{path}: trust secret is too short ({len(key)} bytes); delete it "
                             "to create a new one (every signature is then revoked)")
        _secret_cache[home] = key
        return key


def _content(skill: Any) -> bytes:
    """What the signature covers: the file's bytes, else a canonical form of the skill."""
    path = getattr(skill, "path", None)
    if path is not None and getattr(skill, "volume", None) != "inline":
        try:
            return Path(path).read_bytes()
        except OSError:
            pass
    canonical = {
        "skill_id": skill.skill_id,
        "code_hash": getattr(skill, "code_hash", None),
        "frontmatter": getattr(skill, "frontmatter", {}),
        "body": getattr(skill, "body", ""),
    }
    return json.dumps(canonical, sort_keys=True, default=str).encode("utf-8")


def signature(skill: Any, home: str | Path | None = None) -> str:
    """HMAC-SHA256 (hex) of the skill's content with the user's secret.

    Raises:
        TrustError: the secret cannot be read or created.
    """
    h = _home(home)
    path = getattr(skill, "path", None)
    key = None
    if path is not None and getattr(skill, "volume", None) != "inline":
        try:
            st = os.stat(path)
            key = (h, str(path), st.st_mtime_ns, st.st_size)
            cached = _digest_cache.get(key)
            if cached is not None:
                return cached
        except OSError:
            key = None
    digest = hmac.new(_secret(h), _content(skill), hashlib.sha256).hexdigest()
    if key is not None:
        _digest_cache[key] = digest
    return digest


_store_cache: dict[Path, tuple[int, int, dict[str, Any]]] = {}


def _load(home: Path) -> dict[str, Any]:
    """The store as a fresh dict (callers may change it); parsed once per file version."""
    path = _store_dir(home) / "signatures.json"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {"trusted": {}, "untrusted_paths": {}}
    except OSError as exc:
        raise TrustError(f"{path}: unreadable trust store ({exc})") from None
    cached = _store_cache.get(path)
    if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
        return {k: dict(v) for k, v in cached[2].items()}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrustError(f"{path}: unreadable trust store ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise TrustError(f"{path}: trust store is not a JSON object; fix or delete it")
    data = {"trusted": dict(data.get("trusted") or {}),
            "untrusted_paths": dict(data.get("untrusted_paths") or {})}
    _store_cache[path] = (st.st_mtime_ns, st.st_size, data)
    return {k: dict(v) for k, v in data.items()}


def _save(home: Path, data: dict[str, Any]) -> None:
    from llmos_jupyter._atomic import atomic_write_text

    atomic_write_text(_store_dir(home) / "signatures.json",
                      json.dumps(data, indent=1, sort_keys=True))


def _store_lock(home: Path) -> Any:
    """A cross-process lock around read-modify-write of the store (``filelock``)."""
    from filelock import FileLock

    _store_dir(home).mkdir(parents=True, exist_ok=True)
    return FileLock(str(_store_dir(home) / ".lock"), timeout=30)


def _mark_key(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def is_trusted(skill: Any, home: str | Path | None = None) -> bool:
    """Whether ``skill`` may run in-process with the user's full power.

    True for the system volume, the user's own skills (user volume files not marked by
    :func:`mark_untrusted`, in-memory skills) and skills whose current content the user
    signed with :func:`trust`; False for everything else (team volume, a workflow's inline
    skills, LLM-written and evolved-from-untrusted skills). Never raises: an unreadable
    trust store counts as "nothing signed".
    """
    volume = getattr(skill, "volume", None)
    if volume == "system":
        return True
    h = _home(home)
    try:
        data = _load(h)
    except TrustError:
        data = {"trusted": {}, "untrusted_paths": {}}
    path = getattr(skill, "path", None)
    marked = path is not None and _mark_key(path) in data["untrusted_paths"]
    if volume in _OWN_VOLUMES and not marked:
        return True
    if not data["trusted"]:
        return False
    try:
        return signature(skill, h) in data["trusted"]
    except (TrustError, OSError):
        return False


def trust(skills: Iterable[Any], home: str | Path | None = None) -> list[str]:
    """Sign the current content of each skill (and lift an untrusted mark on its file).

    Returns the signatures written. Raises:
        TrustError: the trust store cannot be written.
    """
    h = _home(home)
    with _store_lock(h):
        data = _load(h)
        out = []
        for skill in skills:
            sig = signature(skill, h)
            data["trusted"][sig] = {
                "skill_id": skill.skill_id, "volume": skill.volume,
                "path": str(skill.path) if skill.path else None,
                "signed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            if skill.path is not None:
                data["untrusted_paths"].pop(_mark_key(skill.path), None)
            out.append(sig)
        _save(h, data)
    return out


def untrust(skills: Iterable[Any], home: str | Path | None = None) -> int:
    """Remove the user's signature of each skill; files in the user volume are also marked
    untrusted (otherwise they would stay trusted as the user's own). Returns how many
    signatures were removed."""
    h = _home(home)
    removed = 0
    with _store_lock(h):
        data = _load(h)
        for skill in skills:
            sig = signature(skill, h)
            if data["trusted"].pop(sig, None) is not None:
                removed += 1
            # Drop signatures of older contents of the same file or inline skill too.
            for other, meta in list(data["trusted"].items()):
                if meta.get("skill_id") == skill.skill_id and meta.get("volume") == skill.volume:
                    del data["trusted"][other]
                    removed += 1
            if skill.path is not None and skill.volume in _OWN_VOLUMES:
                data["untrusted_paths"][_mark_key(skill.path)] = {
                    "skill_id": skill.skill_id, "why": "untrusted by the user"}
        _save(h, data)
    return removed


def mark_untrusted(path: str | Path, why: str = "written by the LLM",
                   home: str | Path | None = None) -> None:
    """Mark a file in the user volume as untrusted (the product wrote it on someone else's
    behalf: the LLM, evolution from untrusted members). ``llmos trust`` lifts the mark."""
    h = _home(home)
    with _store_lock(h):
        data = _load(h)
        data["untrusted_paths"][_mark_key(path)] = {"why": why}
        _save(h, data)


def trusted_list(home: str | Path | None = None) -> list[dict[str, Any]]:
    """The signatures the user gave, oldest first: ``[{signature, skill_id, volume, path,
    signed_at}]``, plus the marked files as ``{path, why, marked: True}``."""
    data = _load(_home(home))
    rows = [{"signature": sig, **meta} for sig, meta in data["trusted"].items()]
    rows.sort(key=lambda r: r.get("signed_at") or "")
    rows += [{"path": p, "marked": True, **meta} for p, meta in data["untrusted_paths"].items()]
    return rows
