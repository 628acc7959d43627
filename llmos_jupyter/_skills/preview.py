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

__all__ = ["output_previews", "preview", "scene_format"]

_MAX_TEXT = 400
_MAX_POINTS = 200
_MAX_IMAGE = 4_000_000  # characters of a data URI shown as a preview
_MAX_SCENE = 4_000_000  # characters of three.js JSON sent as a live preview
_MAX_NETLIST = 200_000  # characters of a SPICE netlist shown in the netlist view


def scene_format(value: Any) -> str | None:
    """``"threejs-json"`` for three.js ``Object3D.toJSON()`` output (``metadata.type ==
    "Object"`` and an ``object``), ``"threejs-scene"`` for the ``threejs-cube`` skill's
    ``{"format": "threejs-scene", "objects": [...]}``, else ``None``."""
    if not isinstance(value, Mapping):
        return None
    if value.get("format") == "threejs-scene" and isinstance(value.get("objects"), list):
        return "threejs-scene"
    meta = value.get("metadata")
    if isinstance(meta, Mapping) and meta.get("type") == "Object" and isinstance(
            value.get("object"), Mapping):
        return "threejs-json"
    return None


def preview(value: Any, port_type: str = "any", unit: str | None = None, *,
            value_format: str | None = None, name: str | None = None) -> dict[str, Any]:
    """A small JSON-safe preview of an output value for the canvas.

    Numbers and booleans are kept, text is cut to 400 characters, arrays become their
    length and up to 200 evenly spaced numbers (for a sparkline), PNG images a data URI.
    A three.js scene (see :func:`scene_format`) becomes ``{"kind": "scene", "format",
    "scene"}`` (the whole JSON, up to 4 M characters) for a live view; a string whose port
    has ``format: spice-netlist`` (or is named ``netlist``) becomes ``{"kind": "netlist",
    "text", "lines", "truncated"}`` (up to 200,000 characters).
    """
    fmt = scene_format(value)
    if fmt is not None:
        scene = jsonable(value)
        size = len(json.dumps(scene))
        if size > _MAX_SCENE:
            return {"kind": "other", "text": f"three.js scene ({size / 1e6:.1f} M characters: "
                                             "too large to preview)"}
        return {"kind": "scene", "format": fmt, "scene": scene}
    if isinstance(value, str) and (value_format == "spice-netlist"
                                   or (value_format is None and name == "netlist")):
        return {"kind": "netlist", "text": value[:_MAX_NETLIST], "lines": len(value.splitlines()),
                "truncated": len(value) > _MAX_NETLIST}
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
        return {"kind": "object", "text": text[:_MAX_TEXT],
                "keys": [str(k) for k in list(value)[:20]]}
    return {"kind": "other", "text": repr(value)[:_MAX_TEXT]}


def output_previews(outputs: Mapping[str, Any], ports: Mapping[str, Any]) -> dict[str, Any]:
    """``{port: preview}`` of a node's outputs, each made with its output :class:`Port`'s
    type, unit and ``format`` (``ports`` maps names to ports; unknown names get ``any``).
    A value whose preview raises gets ``{"kind": "other", "text": "(no preview: …)"}``:
    a preview never costs a run its result."""
    out: dict[str, Any] = {}
    for name, value in outputs.items():
        port = ports.get(name)
        try:
            out[str(name)] = preview(
                value, port.type if port else "any", port.unit if port else None,
                value_format=port.extra.get("format") if port else None, name=str(name))
        except Exception as exc:  # noqa: BLE001 - any value may reach a preview
            out[str(name)] = {"kind": "other", "text": f"(no preview: {exc})"}
    return out
