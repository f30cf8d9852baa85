"""Pacing for fan-out under Telegram's limits: ~30 messages/s overall, about one per second in
a private chat, 20 per minute in a group. Time and sleep are injected (tests never wait)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


class Pacer:
    """Hands out send slots: evenly spaced overall, and spaced per chat.

    Slots are reserved in call order, so a caller that awaits `wait` in sequence gets a
    schedule it can keep even when the sends themselves run concurrently.
    """

    def __init__(
        self,
        *,
        per_second: float = 28.0,
        private_interval: float = 1.05,  # a margin over Telegram's 1 s: jitter causes 429s
        group_interval: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self._gap = 1.0 / per_second
        self._private = private_interval
        self._group = group_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_global = 0.0
        self._chat_ready: dict[int, float] = {}

    def reserve(self, chat_id: int) -> float:
        """Reserve the earliest slot for `chat_id`; returns the delay until it (seconds)."""
        now = self._monotonic()
        slot = max(now, self._next_global, self._chat_ready.get(chat_id, 0.0))
        self._next_global = slot + self._gap
        self._chat_ready[chat_id] = slot + (self._group if chat_id < 0 else self._private)
        return slot - now

    async def wait(self, chat_id: int) -> None:
        delay = self.reserve(chat_id)
        if delay > 0:
            await self._sleep(delay)

    async def paced(self, items: Sequence[T], chat_of: Callable[[T], int],
                    rank_of: Callable[[T], int], *,
                    window: int = 128) -> AsyncIterator[T]:
        """Yield `items` (most urgent first) as fast as the limits allow.

        A chat that is not ready does not hold up the others: among the next `window` items
        that are ready, the most urgent rank wins, then the chat with the most messages still
        to go (so the last seconds are not spent on one official with many tasks).
        """
        pending = list(items)
        remaining: dict[int, int] = {}
        for item in pending:
            remaining[chat_of(item)] = remaining.get(chat_of(item), 0) + 1
        while pending:
            now = self._monotonic()
            if self._next_global > now:
                await self._sleep(self._next_global - now)
                now = self._monotonic()
            best: tuple[int, int, int] | None = None
            earliest = float("inf")
            for index, item in enumerate(pending[:window]):
                chat = chat_of(item)
                ready = self._chat_ready.get(chat, 0.0)
                if ready > now:
                    earliest = min(earliest, ready)
                    continue
                key = (rank_of(item), -remaining[chat], index)
                if best is None or key < best:
                    best = key
            if best is None:
                await self._sleep(max(earliest - now, 0.0))
                continue
            item = pending.pop(best[2])
            chat = chat_of(item)
            remaining[chat] -= 1
            self.reserve(chat)
            yield item


def interleave(items: list[T], chat_of: Callable[[T], int]) -> list[T]:
    """Reorder urgency-sorted items into rounds: every chat's most urgent message first, then
    every chat's second, … so one official with many tasks does not hold up the rest."""
    seen: dict[int, int] = {}
    ranked: list[tuple[int, int, T]] = []
    for position, item in enumerate(items):
        chat = chat_of(item)
        round_no = seen.get(chat, 0)
        seen[chat] = round_no + 1
        ranked.append((round_no, position, item))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [item for _, _, item in ranked]
