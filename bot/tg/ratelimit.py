"""Telegram's flood limits, kept per chat so one busy chat never holds up the others.

python-telegram-bot's AIORateLimiter has no per-chat limit and, on any 429, pauses *every*
request of the bot for the whole retry_after: one group answering its 21st message in a
minute (retry after ~20 s) froze every official's confirmation (measured: 20.3 s). Its group
limiter is a leaky bucket, not Telegram's 20-per-minute window.

`ChatRateLimiter` throttles before sending instead:

* each group at most one message per `chat_interval` (Telegram: about one a second);
* private chats are not paced before sending: Telegram allows short bursts there, and an
  official's exchange with the bot never sustains one a second (measured: pacing them at one a
  second made an official's answers wait 1.05–1.5 s, and a fast sequence of replies queue for
  seconds). `private_burst` turns pacing on (that many at once, then no more in any
  `private_burst × chat_interval` seconds). A 429 still holds only its chat;
* each group at most `group_per_minute` in any 60 seconds;
* the bot as a whole `per_second` a second, with a burst of as many;
* a 429 holds only the chat it was about, for its retry_after, then the request is retried
  (`max_retries` times).

Requests of one chat wait their turn in order (slots are reserved when the request comes);
a chat that waits costs the others nothing. Answers to callback queries and other requests
without a chat are only subject to the overall limit. Time is injected (tests never wait).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class ChatRateLimiter(BaseRateLimiter[int]):
    def __init__(self, *, per_second: int = 29, chat_interval: float = 1.05,
                 group_per_minute: int = 20, private_burst: int | None = None,
                 max_retries: int = 3,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self.private_burst = max(1, private_burst) if private_burst is not None else None
        self.max_retries = max_retries
        self._monotonic = monotonic
        self._sleep = sleep
        self._chat_ready: dict[int, float] = {}  # the next free slot of each chat
        self._group_slots: dict[int, deque[float]] = {}  # reserved slots in the last minute
        self._private_slots: dict[int, deque[float]] = {}  # reserved slots in the burst window
        # Overall: a bucket of `per_second` tokens refilled at `per_second` a second — a burst
        # goes out at once and what follows flows at the rate (a one-second window made the
        # 30th message of a burst wait a whole second; measured 1.1 s p99 for 50 at once).
        self._tokens = float(per_second)
        self._refilled = monotonic()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = _chat_of(data)
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        attempt = 0
        while True:
            if chat is not None:
                await self._wait(self._reserve(chat))
            await self._wait_overall()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as err:
                if attempt >= retries:
                    raise
                attempt += 1
                delay = _seconds(err.retry_after) + 0.1
                log.info("flood limit on chat %s (%s): retrying in %.1f s", chat, endpoint,
                         delay)
                if chat is None:
                    await self._sleep(delay)
                else:  # only this chat waits
                    self._chat_ready[chat] = max(self._chat_ready.get(chat, 0.0),
                                                 self._monotonic() + delay)

    def _reserve(self, chat: int) -> float:
        """Reserve this chat's next slot (keeps the chat's requests in order)."""
        now = self._monotonic()
        slot = max(now, self._chat_ready.get(chat, 0.0))
        if chat < 0:
            slots = self._group_slots.setdefault(chat, deque())
            while slots and slots[0] <= now - 60.0:
                slots.popleft()
            if len(slots) >= self.group_per_minute:
                slot = max(slot, slots[-self.group_per_minute] + 60.5)
            slots.append(slot)
            self._chat_ready[chat] = slot + self.chat_interval
        elif self.private_burst is None:
            self._chat_ready[chat] = slot  # in order; a 429 moves this chat's next slot
        else:
            window = self.private_burst * self.chat_interval
            recent = self._private_slots.setdefault(chat, deque())
            while recent and recent[0] <= now - window:
                recent.popleft()
            if len(recent) >= self.private_burst:
                slot = max(slot, recent[-self.private_burst] + window)
            recent.append(slot)
            self._chat_ready[chat] = slot  # keeps the chat's order
            if len(self._private_slots) > 5000:  # forget chats that are free again
                self._private_slots = {c: q for c, q in self._private_slots.items()
                                       if q and q[-1] > now - window}
        if len(self._chat_ready) > 5000:  # forget chats that are free again
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}
        return slot

    async def _wait(self, slot: float) -> None:
        delay = slot - self._monotonic()
        if delay > 0:
            await self._sleep(delay)

    async def _wait_overall(self) -> None:
        while True:
            now = self._monotonic()
            self._tokens = min(float(self.per_second),
                               self._tokens + (now - self._refilled) * self.per_second)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            # At least a millisecond: a float remainder must not spin (or stall a fake clock).
            await self._sleep(max((1.0 - self._tokens) / self.per_second, 0.001))


def _chat_of(data: dict[str, Any]) -> int | None:
    value = data.get("chat_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):  # "@channel": treat it as no chat
        return None


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
