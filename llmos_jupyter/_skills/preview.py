"""Small JSON-safe previews of port values, for front-ends (the canvas, notebook outputs).

Kept apart from the widget so that code without anywidget (the ``%%skill`` magic's
display, the JupyterLab extension's library kernel) makes the same previews as the
canvas widget.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from llmos_jupyter._skills.ports import is_png, jsonable

__all__ = ["preview"]

_MAX_TEXT = 400
_MAX_POINTS = 200
_MAX_IMAGE = 4_000_000  # characters of a data URI shown as a preview


def preview(value: Any, port_type: str = "any", unit: str | None = None) -> dict[str, Any]:
    """A small JSON-safe preview of an output value for the canvas.

    Numbers and booleans are kept, text is cut to 400 characters, arrays become their
    length and up to 200 evenly spaced numbers (for a sparkline), PNG images a data URI.
    """
    if port_type == "image" or is_png(value):
        uri = jsonable(value)
        if isinstance(uri, str) and uri.startswith("data:image/png") and len(uri) <= _MAX_IMAGE:
            return {"kind": "image", "src": uri}
        return {"kind": "other", "text": "image (too large to preview)"}
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, bool):
        return {"kind": "boolean", "value": value}
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return {"kind": "text", "value": str(value)}
        out: dict[str, Any] = {"kind": "number", "value": value}
        if unit:
            out["unit"] = unit
        return out
    if isinstance(value, str):
        return {"kind": "text", "value": value[:_MAX_TEXT], "truncated": len(value) > _MAX_TEXT}
    if isinstance(value, (list, tuple)):
        flat = list(value)
        numeric = bool(flat) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat
        )
        if numeric:
            step = max(1, math.ceil(len(flat) / _MAX_POINTS))
            sample = [v for v in flat[::step] if math.isfinite(v)]
            if flat and sample and flat[-1] != sample[-1] and math.isfinite(flat[-1]):
                sample.append(flat[-1])
            return {"kind": "array", "length": len(flat), "values": sample, "numeric": True}
        text = json.dumps(jsonable(flat[:20]))
        return {"kind": "array", "length": len(flat), "values": [], "numeric": False,
                "text": text[:_MAX_TEXT]}
    if isinstance(value, Mapping):
        text = json.dumps(jsonable(dict(value)), indent=1)
        return {"kind": "object", "text": text[:_MAX_TEXT], "keys": [str(k) for k in list(value)[:20]]}
    return {"kind": "other", "text": repr(value)[:_MAX_TEXT]}
