"""Message envelopes and scope ids of the actor runtime.

An envelope is what one actor sends another (after Wasmind's ``MessageEnvelope``: type,
sender, scope, payload): ``id`` (``m000001``… in send order within one system run),
``type`` (a message type such as ``"start"`` or ``"pong"``), ``sender`` (an actor id, or
:data:`SYSTEM` for the coordinator), ``scope`` (the scope it was sent in), ``payload``
(JSON-able data, checked at send time), ``reply_to`` (the id of the message answered, or
``None``), ``ts`` (Unix time in seconds when sent) and ``to`` (the one receiver of a
directed message, ``None`` for a message routed by subscription).

Scopes are 6-character ids of lowercase letters and digits; :data:`ROOT_SCOPE`
(``000000``) is the root. The hierarchy (which scope is whose parent) is kept by the
runtime, not encoded in the id (as in Wasmind).

Control messages. An actor asks the coordinator itself for something by sending one of
:data:`CONTROL_TYPES` ``to=`` :data:`COORDINATOR` (``ctx.send("pause_actor", {"actor":
"w1"}, to="coordinator")``), so ``ctx`` needs no extra member. Only actors whose skill is
trusted (system volume, the user's own, or signed) may; the runtime refuses the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTROL_TYPES",
    "COORDINATOR",
    "ROOT_SCOPE",
    "SCOPE_RE",
    "SYSTEM",
    "SYSTEM_TYPES",
    "PREVIEW_CHARS",
    "Envelope",
    "check_scope",
    "json_payload",
    "payload_preview",
]

ROOT_SCOPE = "000000"
"""The root scope id."""
SCOPE_RE = re.compile(r"[0-9a-z]{6}\Z")
"""The scope id grammar: exactly 6 lowercase letters or digits."""
SYSTEM = "system"
"""The ``sender`` of messages the coordinator emits."""
SYSTEM_TYPES = frozenset({"start", "actor_ready", "all_actors_ready", "actor_restarted",
                          "actor_failed", "actor_stopped", "scope_gave_up", "actor_paused",
                          "actor_resumed"})
"""Message types the coordinator sends; an actor may subscribe to them (``check`` does not
ask that some actor sends them)."""

COORDINATOR = "coordinator"
"""The ``to`` of a control message (a reserved id: no actor may take it)."""
CONTROL_TYPES = frozenset({"pause_actor", "resume_actor"})
"""Control messages the coordinator accepts, payload ``{"actor": id, "reason"?: text}``:
``pause_actor`` holds the actor's messages in its mailbox (in order) until
``resume_actor``."""

_PAYLOAD_CAP = 1 << 20  # characters of JSON one payload may take (1 MiB)


def check_scope(scope: Any) -> str:
    """``scope`` if it is a valid scope id.

    Raises:
        ValueError: not a string of exactly 6 lowercase letters/digits.
    """
    if not isinstance(scope, str) or not SCOPE_RE.match(scope):
        raise ValueError(f"scope {scope!r} is not a scope id (6 lowercase letters or digits, "
                         f"e.g. {ROOT_SCOPE!r})")
    return scope


def json_payload(payload: Any, what: str = "payload") -> Any:
    """A JSON round trip of ``payload``: a deep copy that shares nothing with the sender
    (actors share no mutable state), with tuples turned into lists.

    Raises:
        TypeError: not JSON-able (a set, an object, NaN…), or larger than 1 MiB of JSON.
    """
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} is not JSON-able data: {exc}") from None
    if len(text) > _PAYLOAD_CAP:
        raise TypeError(f"{what} is {len(text)} characters of JSON, over the {_PAYLOAD_CAP} cap")
    return json.loads(text)


@dataclass(frozen=True)
class Envelope:
    """One message (see the module docstring for the fields). Handlers get it as ``msg``:
    ``msg.type``, ``msg.payload``…; ``msg["type"]`` works too."""

    id: str
    type: str
    sender: str
    scope: str
    payload: Any = None
    reply_to: str | None = None
    ts: float = 0.0
    to: str | None = None

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """``msg.get("payload")``, as on a dict."""
        return getattr(self, key, default) if key in self.__dataclass_fields__ else default

    def to_dict(self) -> dict[str, Any]:
        """The envelope as plain JSON-able data."""
        return {"id": self.id, "type": self.type, "sender": self.sender, "scope": self.scope,
                "payload": self.payload, "reply_to": self.reply_to, "ts": self.ts,
                "to": self.to}


PREVIEW_CHARS = 240
"""How much of a payload a live view shows (``agentsLogic.PREVIEW_CHARS`` on the page)."""


def payload_preview(value: Any) -> str:
    """``value`` as compact JSON text, cut to :data:`PREVIEW_CHARS` characters (``…`` marks
    the cut); ``repr`` for what JSON cannot hold. Text for a view, never markup."""
    from llmos_jupyter._skills.ports import jsonable

    try:
        s = json.dumps(jsonable(value), ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(value)
    return s if len(s) <= PREVIEW_CHARS else s[:PREVIEW_CHARS - 1] + "…"
