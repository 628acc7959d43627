"""The content-addressed run cache.

A node's cache key is a BLAKE2b digest of

* its skill's ``code_hash`` (runtime, requires and the code block's text),
* the canonical JSON of its non-wired resolved inputs (defaults < params < overrides),
* for each wired input: the port name, the *upstream node's cache key* and output port.

Keys chain like a Merkle tree, so a wired value is never hashed itself (no cost for large
arrays) and changing one parameter changes exactly that node's key and its descendants'.

Limits (also in docs/architecture.md): a skill is assumed deterministic in its inputs
(use a ``seed`` input for randomness); code a skill imports from outside its code block
(an installed package's version, files it reads) is not part of the key; inputs that do
not serialise to JSON (arbitrary objects) make the node and its descendants uncacheable,
so they always run. Cached outputs are shared, not copied: treat outputs as read-only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

__all__ = ["MemoryCache", "cache_key"]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": hashlib.blake2b(bytes(value), digest_size=16).hexdigest()}
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy array / scalar
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


@lru_cache(maxsize=1024)
def _seeded(code_hash: str) -> Any:
    # One hasher per skill, copied per node: cheaper than hashing the code hash each time.
    h = hashlib.blake2b(digest_size=20)
    h.update(code_hash.encode())
    return h


def cache_key(
    code_hash: str, values: dict[str, Any], wired: Iterable[tuple[str, str | None, str]]
) -> str | None:
    """The node's key, or ``None`` when an input cannot be hashed (the node always runs).

    ``wired`` holds ``(input port, upstream cache key, upstream output port)``.
    """
    if all(type(v) in _SCALARS for v in values.values()):
        # Fast path for the common case (scalar params): repr is exact for these types
        # and tells 1, 1.0 and True apart.
        payload = repr(sorted(values.items()))
    else:
        try:
            payload = json.dumps(values, sort_keys=True, separators=(",", ":"),
                                 default=_json_default)
        except (TypeError, ValueError):
            return None
    h = _seeded(code_hash).copy()
    h.update(payload.encode())
    for port, upstream_key, upstream_port in sorted(wired):
        if upstream_key is None:
            return None
        h.update(f"\0{port}\0{upstream_key}\0{upstream_port}".encode())
    return h.hexdigest()


class MemoryCache:
    """A thread-safe LRU mapping cache key → node outputs, kept in memory.

    Args:
        maxsize: how many node results to keep (least recently used are dropped).
    """

    def __init__(self, maxsize: int = 65536) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, outputs: dict[str, Any]) -> None:
        with self._lock:
            self._data[key] = outputs
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
