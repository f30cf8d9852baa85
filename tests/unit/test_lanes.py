"""One lane per chat (bot/adapters/lanes.py): in order within a chat, and a chat that waits
holds up no other."""

from __future__ import annotations

import asyncio

from bot.adapters.lanes import Lanes


async def test_a_chat_keeps_its_order_and_a_waiting_chat_holds_up_no_other() -> None:
    gate, other_done = asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def handle(item: tuple[int, str]) -> None:
        chat, text = item
        if text == "slow":
            await gate.wait()
        done.append(f"{chat}:{text}")
        if chat == 2:
            other_done.set()

    lanes: Lanes[tuple[int, str]] = Lanes(handle, "test")
    for item in [(1, "slow"), (1, "second"), (2, "other")]:
        lanes.add(item[0], item)
    await other_done.wait()
    assert done == ["2:other"]  # chat 2 was not held up by chat 1's slow item
    gate.set()
    await lanes.idle()
    assert done == ["2:other", "1:slow", "1:second"]


async def test_close_cancels_what_does_not_finish_in_time() -> None:
    started = asyncio.Event()

    async def handle(item: int) -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes

    lanes: Lanes[int] = Lanes(handle, "test")
    lanes.add(1, 1)
    await started.wait()
    await lanes.close(grace=0)
    await lanes.idle()  # the cancelled lane is gone
