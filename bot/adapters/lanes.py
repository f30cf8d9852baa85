"""One lane per chat: a channel's incoming messages are handled in order within a chat, and
chats do not wait for each other (a slow import in one chat never holds up an official's
report in another). Used by each channel's intake (bot/tg/intake.py, bot/dingtalk/inbound.py).

A lane is a queue with one worker task, created when the first item arrives and gone when the
queue is empty; an item leaves the queue only after its handler returned, so `close` knows
what was not done (it stays in the durable inbox for the next start).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Lanes(Generic[Item]):
    def __init__(self, handle: Callable[[Item], Awaitable[None]], name: str) -> None:
        self._handle = handle
        self._name = name
        self._queues: dict[int, deque[Item]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, lane: int, item: Item) -> None:
        """Queue `item` in its chat's lane (started if it was not running)."""
        self._queues.setdefault(lane, deque()).append(item)
        self._idle.clear()
        if lane not in self._workers:
            self._workers[lane] = asyncio.create_task(self._work(lane),
                                                      name=f"{self._name}-{lane}")

    async def _work(self, lane: int) -> None:
        queue = self._queues[lane]
        try:
            while queue:
                await self._handle(queue[0])
                queue.popleft()
        finally:
            del self._queues[lane]
            del self._workers[lane]
            if not self._workers:
                self._idle.set()

    async def idle(self) -> None:
        """Wait until every queued item was handled."""
        await self._idle.wait()

    async def close(self, grace: float) -> None:
        """Let running lanes finish (at most `grace` seconds), then cancel the rest."""
        if not self._workers:
            return
        workers = list(self._workers.values())
        _done, running = await asyncio.wait(workers, timeout=grace)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
