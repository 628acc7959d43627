"""Ports: the typed inputs and outputs of a skill, and the checks on their values.

A port type is one of ``string, number, integer, boolean, array, object, image, any``.
Values crossing a port are plain Python data so that they serialise to JSON, notebooks
and the canvas alike; numpy scalars and arrays are accepted and converted (duck-typed
through ``.item()`` / ``.tolist()`` so numpy is never imported here).
"""

from __future__ import annotations

import base64
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["PORT_TYPES", "Port", "PortType", "check_value", "compatible", "is_png", "jsonable"]

PortType = Literal["string", "number", "integer", "boolean", "array", "object", "image", "any"]
PORT_TYPES: tuple[str, ...] = (
    "string", "number", "integer", "boolean", "array", "object", "image", "any",
)

_EXACT = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
          "array": (list,), "object": (dict,)}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_DATA_URI = "data:image/png;base64,"


@dataclass(frozen=True, slots=True)
class Port:
    """One input or output of a skill.

    ``unit`` is a free-text physical unit (``Ω``, ``F``, ``V``, ``s``, ``Hartree``, ``Å``);
    ``enum``, ``minimum`` and ``maximum`` constrain input values and drive the canvas'
    parameter editor. ``has_default`` tells a declared ``default: null`` from no default.
    ``secret`` marks a value that must never be shown or stored in clear (an API key, a
    password): front-ends mask it, traces and logs record it redacted.
    """

    name: str
    type: str = "any"
    required: bool = True
    default: Any = None
    has_default: bool = False
    description: str = ""
    unit: str | None = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    secret: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The port as frontmatter / JSON (only the fields that were set)."""
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        if not self.required:
            d["required"] = False
        if self.has_default:
            d["default"] = self.default
        if self.description:
            d["description"] = self.description
        for key in ("unit", "minimum", "maximum"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.enum is not None:
            d["enum"] = list(self.enum)
        if self.secret:
            d["secret"] = True
        d.update(self.extra)
        return d


def is_png(value: Any) -> bool:
    """True for PNG ``bytes`` (by magic number) or a ``data:image/png;base64,`` URI."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value[:8]) == _PNG_MAGIC
    return isinstance(value, str) and value.startswith(_PNG_DATA_URI)


def png_bytes(value: Any) -> bytes:
    """The raw PNG bytes of an ``image`` value (bytes or data URI)."""
    if isinstance(value, str):
        return base64.b64decode(value[len(_PNG_DATA_URI):])
    return bytes(value)


def _describe(value: Any) -> str:
    name = type(value).__name__
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{name} {text}"


def check_value(port_type: str, value: Any) -> Any:
    """Check ``value`` against ``port_type`` and return it as plain Python data.

    Conversions: numpy scalars → ``int``/``float``/``bool``; numpy arrays and tuples →
    ``list`` (for ``array``); ``bytearray``/``memoryview`` → ``bytes`` (for ``image``).
    An ``integer`` is accepted where a ``number`` is expected; ``bool`` is never a number.

    Raises:
        TypeError: the value does not fit; the message says what was expected and got.
    """
    if port_type == "any":
        return _plain(value)
    exact = _EXACT.get(port_type)
    if exact is not None and type(value) in exact:  # the common case, without ABC checks
        return value
    # np.float64 subclasses float, so test the exact type, not isinstance.
    if port_type in ("number", "integer", "boolean") and type(value) not in (bool, int, float) and (
        hasattr(value, "item")
    ):
        try:  # numpy scalar or 0-d array
            value = value.item()
        except (TypeError, ValueError):
            pass
    if port_type == "string":
        if isinstance(value, str):
            return value
    elif port_type == "number":
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return value
    elif port_type == "integer":
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    elif port_type == "boolean":
        if isinstance(value, bool):
            return value
    elif port_type == "array":
        if isinstance(value, list):
            return value
        if isinstance(value, tuple):
            return list(value)
        if hasattr(value, "tolist") and getattr(value, "ndim", 0) >= 1:
            return value.tolist()
    elif port_type == "object":
        if isinstance(value, dict):
            return value
        if isinstance(value, Mapping):
            return dict(value)
    elif port_type == "image":
        if is_png(value):
            return bytes(value) if not isinstance(value, str) else value
        raise TypeError(f"expected image (PNG bytes or data:image/png URI), got {_describe(value)}")
    else:
        raise TypeError(f"unknown port type {port_type!r}")
    raise TypeError(f"expected {port_type}, got {_describe(value)}")


def _plain(value: Any) -> Any:
    """Convert numpy values inside an ``any`` port to plain Python; leave the rest."""
    if hasattr(value, "tolist") and not isinstance(value, (bytes, str)) and hasattr(value, "dtype"):
        return value.tolist()
    return value


def compatible(source_type: str, target_type: str) -> bool:
    """Whether an output of ``source_type`` may feed an input of ``target_type``.

    Equal types fit, ``any`` fits both ways, and an ``integer`` output fits a ``number``
    input (every integer is a number; the reverse would silently truncate).
    """
    return (
        source_type == target_type
        or "any" in (source_type, target_type)
        or (source_type == "integer" and target_type == "number")
    )


def jsonable(value: Any) -> Any:
    """Plain JSON data: PNG bytes → data URI, other bytes → base64 object, non-finite
    floats → their string form (JSON has no NaN/Infinity), tuples → lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        if is_png(value):
            return "data:image/png;base64," + base64.b64encode(png_bytes(value)).decode()
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return repr(value)
