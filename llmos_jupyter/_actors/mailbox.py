"""A bounded actor mailbox with back-pressure and an unbounded lane for system messages.

Ordinary messages wait for room (:meth:`Mailbox.put`); the coordinator's own messages
(readiness, restarts, health pings) never wait (:meth:`Mailbox.put_system`), so the
coordinator cannot be blocked by a full mailbox (Akka keeps system messages on a separate
queue for the same reason). Both lanes share one FIFO so an actor sees them in the order
they arrived.

A paused mailbox (:meth:`Mailbox.pause`) hands out nothing, system messages included:
whatever arrives stays queued in order and is handed out after :meth:`Mailbox.resume`.
Senders still wait only for room, so pausing an actor slows those who send to it once its
mailbox is full, which is the back-pressure a paused consumer should exert.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

__all__ = ["Mailbox", "MailboxFull"]


class MailboxFull(Exception):
    """A send waited longer than the system's ``send_timeout_s`` for room in a mailbox."""


class Mailbox:
    """FIFO of envelopes holding at most ``maxsize`` ordinary messages (``maxsize`` ≥ 1).

    ``high_water`` is the largest number of ordinary messages it ever held (tests use it
    to see that the bound held).
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"mailbox_size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: deque[tuple[bool, Any]] = deque()  # (is_system, envelope)
        self._ordinary = 0
        self._cond = asyncio.Condition()
        self.high_water = 0
        self.paused = False

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, env: Any, timeout: float | None = None) -> None:
        """Append an ordinary message, waiting while the mailbox is full.

        Raises:
            MailboxFull: no room within ``timeout`` seconds (``None``: wait forever).
        """
        async with self._cond:
            if self._ordinary >= self.maxsize:
                try:
                    await asyncio.wait_for(
                        self._cond.wait_for(lambda: self._ordinary < self.maxsize), timeout)
                except TimeoutError:
                    raise MailboxFull(f"mailbox full ({self.maxsize} messages) for "
                                      f"{timeout:g} s") from None
            self._items.append((False, env))
            self._ordinary += 1
            self.high_water = max(self.high_water, self._ordinary)
            self._cond.notify_all()

    async def put_system(self, env: Any) -> None:
        """Append a coordinator message; never waits for room."""
        async with self._cond:
            self._items.append((True, env))
            self._cond.notify_all()

    async def pause(self) -> None:
        """Hand out nothing until :meth:`resume` (messages keep arriving and queue)."""
        async with self._cond:
            self.paused = True
            self._cond.notify_all()

    async def resume(self) -> None:
        """Hand out messages again, oldest first."""
        async with self._cond:
            self.paused = False
            self._cond.notify_all()

    async def get(self) -> Any:
        """Take the oldest message, waiting while the mailbox is empty or paused."""
        async with self._cond:
            await self._cond.wait_for(lambda: bool(self._items) and not self.paused)
            system, env = self._items.popleft()
            if not system:
                self._ordinary -= 1
            self._cond.notify_all()
            return env
