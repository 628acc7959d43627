"""The one grammar of ``--set`` values: ``llmos run --set NODE.PORT=VALUE`` and
``%%skill NODE --set PORT=VALUE`` read a value the same way.

``VALUE`` is JSON (RFC 8259) when it parses as JSON, else the text itself as a string::

    parse_set("vqe.iterations=150")      -> ("vqe.iterations", 150)
    parse_set("plot.title=H2 curve")     -> ("plot.title", "H2 curve")
    parse_set('ham.atoms=["H","H"]')     -> ("ham.atoms", ["H", "H"])
    parse_set("x.flag=True")             -> ("x.flag", "True")    (JSON spells it true)

JSON has no ``NaN`` or ``Infinity`` (Python's ``json`` accepts them; we do not, so a value
means the same in every JSON reader, including the browser's), and a value nested deeper
than the parser's recursion limit is refused with the key named, not a crash. A text that
is neither valid JSON nor one of those errors is a string, so ``name=Alice`` needs no
quotes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["OverrideError", "parse_set", "parse_sets", "parse_value"]


class OverrideError(ValueError):
    """A ``--set`` item that cannot be read; the message names the item and the rule."""


def _no_constant(name: str) -> Any:
    raise OverrideError(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def parse_value(raw: str, *, key: str = "") -> Any:
    """A ``--set`` value (see the module docstring): JSON, else the string ``raw``.

    Raises:
        OverrideError: ``NaN``/``Infinity``/``-Infinity``, or nesting too deep to parse
            (the message names ``key``).
    """
    where = f"--set {key}: " if key else "--set: "
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except OverrideError as exc:
        raise OverrideError(where + str(exc)) from None
    except RecursionError:
        raise OverrideError(where + "value nested too deeply") from None
    except json.JSONDecodeError:
        return raw


def parse_set(text: str, *, dotted: bool = True) -> tuple[str, Any]:
    """``KEY=VALUE`` → ``(KEY, value)``; ``KEY`` is ``NODE.PORT`` (``dotted``, the CLI) or
    a port name (``dotted=False``, a ``%%skill`` cell). Spaces around ``KEY`` are dropped.

    Raises:
        OverrideError: no ``=``, an empty key, a key without ``.`` when ``dotted``, or a
            value :func:`parse_value` refuses.
    """
    key, eq, raw = text.partition("=")
    key = key.strip()
    shape = "NODE.PORT=VALUE" if dotted else "PORT=VALUE"
    if not eq or not key or (dotted and ("." not in key or key.startswith(".")
                                         or key.endswith("."))):
        raise OverrideError(f"--set {text!r}: expected {shape}")
    return key, parse_value(raw, key=key)


def parse_sets(items: Iterable[str], *, dotted: bool = True) -> dict[str, Any]:
    """Several ``--set`` items as one dict (a later item of the same key wins, as the
    CLI always did; ``%%skill`` refuses repeats itself).

    Raises:
        OverrideError: the first item that cannot be read.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, value = parse_set(item, dotted=dotted)
        out[key] = value
    return out
