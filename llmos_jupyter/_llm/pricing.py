"""Token usage and estimated cost, per call and per chat.

``PRICES`` is USD per million tokens (input, output), **as published on
platform.claude.com's model pages, read 2026-11-21** (``PRICES_AS_OF``). Cache writes are
billed at 1.25× input (5-minute cache), cache reads at 0.1× input. Prices change: treat the
cost as an estimate, update the table (and the date) when they do. An unknown model gets
``cost_usd = None`` rather than a guess; a dated model id (``claude-haiku-4-5-20251001``)
is priced as its alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRICES", "PRICES_AS_OF", "CallUsage", "UsageLedger", "estimate_cost"]

PRICES_AS_OF = "2026-11-21"

PRICES: dict[str, tuple[float, float]] = {
    "claude-fable-5-1": (10.0, 50.0),
    "claude-opus-5-5": (4.0, 20.0),
    "claude-sonnet-5-5": (2.0, 10.0),
    "claude-haiku-5-5": (0.10, 0.50),   # "from" price: the lowest tier
    "claude-opus-5": (5.0, 25.0),
    "claude-sonnet-5": (2.0, 10.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
}

_DATED = re.compile(r"-\d{8}$")


def _price(model: str) -> tuple[float, float] | None:
    return PRICES.get(model) or PRICES.get(_DATED.sub("", model))


def estimate_cost(model: str, input_tokens: int, output_tokens: int,
                  cache_write: int = 0, cache_read: int = 0) -> float | None:
    """Estimated USD for one call, or ``None`` for a model not in :data:`PRICES`."""
    price = _price(model)
    if price is None:
        return None
    pin, pout = price
    return (input_tokens * pin + cache_write * pin * 1.25 + cache_read * pin * 0.1
            + output_tokens * pout) / 1e6


@dataclass
class CallUsage:
    """Tokens and estimated cost of one API call."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    duration_s: float = 0.0
    attempts: int = 1

    @classmethod
    def from_sdk(cls, model: str, usage: Any, **kw: Any) -> CallUsage:
        """From the SDK's ``message.usage`` (missing fields count as 0)."""
        def n(name: str) -> int:
            return int(getattr(usage, name, 0) or 0)
        return cls(model, n("input_tokens"), n("output_tokens"),
                   n("cache_creation_input_tokens"), n("cache_read_input_tokens"), **kw)

    @property
    def cost_usd(self) -> float | None:
        return estimate_cost(self.model, self.input_tokens, self.output_tokens,
                             self.cache_creation_input_tokens, self.cache_read_input_tokens)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cache_creation_input_tokens": self.cache_creation_input_tokens,
                "cache_read_input_tokens": self.cache_read_input_tokens,
                "cost_usd": self.cost_usd, "duration_s": round(self.duration_s, 3),
                "attempts": self.attempts}


@dataclass
class UsageLedger:
    """Every call of a chat (or a kernel): totals by summing :class:`CallUsage`."""

    calls: list[CallUsage] = field(default_factory=list)

    def add(self, usage: CallUsage) -> None:
        self.calls.append(usage)

    @property
    def input_tokens(self) -> int:
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(c.output_tokens for c in self.calls)

    @property
    def cost_usd(self) -> float | None:
        """Sum of the calls' costs; ``None`` when no call could be priced."""
        costs = [c.cost_usd for c in self.calls if c.cost_usd is not None]
        return sum(costs) if costs else None

    def to_json(self) -> dict[str, Any]:
        return {"calls": len(self.calls), "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "cost_usd": self.cost_usd,
                "prices_as_of": PRICES_AS_OF}

    def summary(self) -> str:
        cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "cost unknown"
        return (f"{len(self.calls)} calls, {self.input_tokens} input + {self.output_tokens} "
                f"output tokens, ≈ {cost} (prices as of {PRICES_AS_OF})")
