"""Fixtures of the LLM tests; the replay itself is in ``anthropic_replay.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from _llm.anthropic_replay import KEY, Made, Replay

from llmos_jupyter._llm.client import LlmClient
from llmos_jupyter._llm.config import LlmConfig


@pytest.fixture
def make_client() -> Callable[..., Made]:
    """``make_client(script, **config)``: an :class:`LlmClient` on the real SDK whose HTTP
    goes to a :class:`Replay`; retries sleep on a recorder (no real waiting)."""

    def make(script: list[Any], **cfg: Any) -> Made:
        replay = Replay(list(script))
        sleeps: list[float] = []
        clock = [1000.0]
        defaults = {"api_key": KEY, "max_retries": 3, "backoff_base": 0.01, "backoff_max": 0.05,
                    "stream": False, "breaker_threshold": 5, "breaker_cooldown": 30.0}
        defaults.update(cfg)
        client = LlmClient(LlmConfig(**defaults),
                           http_client=httpx2.Client(transport=httpx2.MockTransport(replay)),
                           sleep=sleeps.append, rng=lambda: 0.5, clock=lambda: clock[0])
        return Made(client, replay, sleeps, clock)

    return make
