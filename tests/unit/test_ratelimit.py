"""Flood limits per chat: a busy or penalised chat waits alone (fake time, no waiting)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from telegram.error import RetryAfter

from bot.tg.ratelimit import ChatRateLimiter

GROUP, OFFICIAL, OTHER = -100700, 2001, 2002


class FakeTime:
    """Discrete-event time: a sleeper wakes when the clock reaches its time, and the clock
    jumps to the next wake-up once every task is blocked (nothing here waits for real)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._sleepers.append((self.now + max(delay, 0.0), self._seq, future))
        await future

    async def run(self, *coros: Any) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let everything that can run, run
                await asyncio.sleep(0)
            if self._sleepers:
                self._sleepers.sort()
                wake, _seq, future = self._sleepers.pop(0)
                self.now = max(self.now, wake)
                future.set_result(None)
        for t in tasks:
            t.result()


def limiter(time: FakeTime) -> ChatRateLimiter:
    return ChatRateLimiter(monotonic=time.monotonic, sleep=time.sleep)


async def send(rl: ChatRateLimiter, time: FakeTime, log: list[tuple[int, float]], chat: int,
               fail: list[int] | None = None) -> None:
    async def call() -> dict[str, Any]:
        if fail:
            fail.pop()
            raise RetryAfter(30)
        log.append((chat, time.now))
        return {}

    await rl.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)


async def test_a_group_gets_twenty_a_minute() -> None:
    time = FakeTime()
    rl = limiter(time)
    log: list[tuple[int, float]] = []
    async def all_of_them() -> None:
        for _ in range(45):
            await send(rl, time, log, GROUP)

    await time.run(all_of_them())
    times = [t for _chat, t in log]
    for i in range(len(times) - 20):
        assert times[i + 20] - times[i] >= 60.0  # never 21 in a minute
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_a_penalised_group_does_not_hold_a_private_chat() -> None:
    time = FakeTime()
    rl = limiter(time)
    log: list[tuple[int, float]] = []
    await time.run(send(rl, time, log, GROUP, fail=[1]), send(rl, time, log, OFFICIAL),
                   send(rl, time, log, OTHER))
    assert [chat for chat, _t in log] == [OFFICIAL, OTHER, GROUP]
    assert log[1][1] < 1.0  # at once: the group waits alone
    assert log[-1][1] >= 30.0


async def test_a_private_chat_is_answered_at_once_and_in_order() -> None:
    time = FakeTime()
    rl = limiter(time)
    log: list[tuple[int, float]] = []
    await time.run(*(send(rl, time, log, OFFICIAL) for _ in range(10)))
    assert [t for _chat, t in log] == [0.0] * 10


async def test_a_429_holds_a_private_chat_alone_and_keeps_its_order() -> None:
    time = FakeTime()
    rl = limiter(time)
    log: list[tuple[int, float]] = []
    await time.run(send(rl, time, log, OFFICIAL, fail=[1]), send(rl, time, log, OFFICIAL),
                   send(rl, time, log, OTHER))
    assert log[0] == (OTHER, 0.0)  # the other chat does not wait
    official = [t for chat, t in log if chat == OFFICIAL]
    assert len(official) == 2 and all(t >= 30.0 for t in official)


async def test_one_chat_keeps_its_order_and_pace_when_paced() -> None:
    time = FakeTime()
    rl = ChatRateLimiter(monotonic=time.monotonic, sleep=time.sleep, private_burst=3)
    log: list[tuple[int, float]] = []
    order: list[int] = []

    async def numbered(index: int, chat: int) -> None:
        await send(rl, time, log, chat)
        order.append(index)

    await time.run(*(numbered(i, chat) for i, chat in
                      enumerate((OFFICIAL, OTHER, OFFICIAL, OTHER, OFFICIAL, OFFICIAL,
                                 OFFICIAL, OFFICIAL, OFFICIAL))))
    official = [t for chat, t in log if chat == OFFICIAL]
    assert len(official) == 7
    # A confirmation, its edit and a question go at once; then about one a second.
    assert official[:3] == [0.0, 0.0, 0.0] and official[3] > 3.0
    for i in range(len(official) - 3):
        assert official[i + 3] - official[i] >= 3.0  # never 4 in ~3 s
    assert [i for i in order if i not in (1, 3)] == [0, 2, 4, 5, 6, 7, 8]  # in order


async def test_the_bot_sends_a_burst_then_flows_at_its_rate() -> None:
    time = FakeTime()
    rl = limiter(time)
    log: list[tuple[int, float]] = []
    chats = [3000 + i for i in range(60)]  # 60 different private chats at once
    await time.run(*(send(rl, time, log, chat) for chat in chats))
    times = sorted(t for _chat, t in log)
    assert times[:29] == [0.0] * 29  # the burst
    assert times[-1] <= 31 / 29 + 0.01  # the rest flow at 29 a second, not a second later
    for i in range(len(times) - 58):
        assert times[i + 58] - times[i] >= 1.0  # never more than two bucketfuls in a second
