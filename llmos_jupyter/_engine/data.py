"""What may cross a node boundary: plain data, checked on the way out, copied on the way in.

Outputs are cached, passed downstream, written into trace notebooks and printed as JSON,
so a node's outputs must be *data*. :func:`check_data` enforces the documented rules:

* ``None``, ``bool``, ``int``, ``float`` (NaN and ±inf allowed: JSON writers spell them
  ``"nan"``/``"inf"``/``"-inf"``, see ``ports.jsonable``), ``str``, ``bytes`` (PNG images and
  binary blobs) — kept as they are;
* ``list``; ``tuple`` → ``list``; ``set``/``frozenset`` → sorted ``list`` (insertion order
  if the items do not sort); ``dict`` with ``str`` keys (``int``/``float``/``bool`` keys
  become their JSON spelling, other keys are an error);
* numpy arrays and scalars (anything with ``tolist()``) → the same nested lists/numbers;
* anything else (arbitrary objects, functions, generators), a container that contains
  itself, or nesting deeper than :data:`MAX_DEPTH` → :class:`OutputError` naming the port
  and the path inside it (``output 'x'[3]['k']: …``). ``repr()`` of a bad value is never
  called: a raising ``__repr__`` cannot crash the engine.

:func:`private_copy` gives a skill its own copy of mutable inputs, so a skill that mutates
its input list cannot corrupt the upstream node's cached output.
"""

from __future__ import annotations

from typing import Any

from llmos_jupyter._exceptions import LlmosError

__all__ = ["MAX_DEPTH", "OutputError", "check_data", "private_copy"]

MAX_DEPTH = 200
"""Deepest nesting of lists/dicts accepted in an output (the JSON writers recurse)."""

_SCALARS = (type(None), bool, int, float, str)
_SCALAR_SET = frozenset(_SCALARS)
# Python refuses to print integers of more than 4,300 digits (CVE-2020-10735): such an
# output could never be shown, traced or written as JSON.
MAX_INT = 10**4300 - 1


class OutputError(LlmosError):
    """A node returned something that is not data (see :func:`check_data`)."""


def check_data(value: Any, where: str) -> Any:
    """``value`` as plain data by the rules above (the same object when nothing changes).

    Args:
        value: one output value.
        where: how to name it in errors, e.g. ``"output 'x'"``.

    Raises:
        OutputError: an object that is not data, a cycle, or nesting deeper than
            :data:`MAX_DEPTH`.
    """
    t = type(value)
    if t in _SCALAR_SET and (t is not int or -MAX_INT <= value <= MAX_INT):
        return value
    return _walk(value, where, 0, set())


def _walk(value: Any, where: str, depth: int, active: set[int]) -> Any:
    t = type(value)
    if t is int or isinstance(value, int) and t is not bool:
        if not -MAX_INT <= value <= MAX_INT:
            raise OutputError(f"{where}: an integer of more than 4300 digits cannot be data "
                              "(return it as a string or a float)")
        return value if t is int else int(value)
    if t in _SCALAR_SET or t is bytes:
        return value
    if depth >= MAX_DEPTH:
        raise OutputError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if t is list or t is tuple or t is dict or t is set or t is frozenset:
        ident = id(value)
        if ident in active:
            raise OutputError(f"{where}: a {t.__name__} that contains itself cannot be data")
        active.add(ident)
        try:
            if t is dict:
                return _walk_dict(value, where, depth, active)
            items = value
            if t is set or t is frozenset:
                try:
                    items = sorted(value)
                except TypeError:
                    items = list(value)
            changed = t is not list
            out = []
            for i, v in enumerate(items):
                tv = type(v)
                if tv in _SCALAR_SET and (tv is not int or -MAX_INT <= v <= MAX_INT):
                    out.append(v)
                    continue
                c = _walk(v, f"{where}[{i}]", depth + 1, active)
                changed = changed or c is not v
                out.append(c)
            return out if changed else value
        finally:
            active.discard(ident)
    if isinstance(value, (bool, int, float, str)):  # subclasses (e.g. IntEnum, numpy.float64)
        for base in (bool, int, float, str):
            if isinstance(value, base):
                return base(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):  # subclasses: as their base type
        return _walk(dict(value), where, depth, active)
    if isinstance(value, (list, tuple)):
        return _walk(list(value), where, depth, active)
    tolist = getattr(type(value), "tolist", None)
    if tolist is not None and callable(tolist):  # numpy arrays and scalars
        try:
            converted = value.tolist()
        except Exception as exc:
            raise OutputError(f"{where}: {t.__name__}.tolist() failed: "
                              f"{type(exc).__name__}") from None
        return _walk(converted, where, depth, active)
    raise OutputError(f"{where}: a {t.__module__}.{t.__qualname__} object is not data "
                      "(return numbers, strings, lists, dicts, bytes or numpy arrays)")


def _walk_dict(value: dict[Any, Any], where: str, depth: int, active: set[int]) -> Any:
    changed = type(value) is not dict
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = k
        if type(k) is not str:
            if isinstance(k, bool):
                key = "true" if k else "false"
            elif isinstance(k, (int, float, str)):
                key = str(k) if not isinstance(k, str) else str.__str__(k)
            else:
                raise OutputError(f"{where}: a dict key of type {type(k).__name__} is not data "
                                  "(keys must be strings)")
            changed = True
        tv = type(v)
        if tv in _SCALAR_SET and (tv is not int or -MAX_INT <= v <= MAX_INT):
            out[key] = v
            continue
        c = _walk(v, f"{where}[{key!r}]", depth + 1, active)
        changed = changed or c is not v
        out[key] = c
    return out if changed else value


def private_copy(value: Any) -> Any:
    """A copy of ``value`` the receiver may mutate freely: lists and dicts are copied
    (recursively), scalars, strings and bytes are shared (immutable). Anything else (an
    in-memory object passed between trusted nodes) is shared as it is."""
    t = type(value)
    if t in _SCALAR_SET or t is bytes:
        return value
    if t is list:
        return [v if type(v) in _SCALAR_SET else private_copy(v) for v in value]
    if t is dict:
        return {k: (v if type(v) in _SCALAR_SET else private_copy(v)) for k, v in value.items()}
    if t is tuple:
        return tuple(private_copy(v) for v in value)
    if t is bytearray:
        return bytearray(value)
    copy = getattr(value, "copy", None)  # numpy arrays
    if copy is not None and hasattr(value, "tolist"):
        try:
            return copy()
        except Exception:
            return value
    return value
