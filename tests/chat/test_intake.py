"""The intake: updates durable before confirmed, applied once, one chat never blocking another,
strangers on a budget, and ids that jump backwards still answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.inbox import APPLIED, DONE, INBOX, RECEIVED, receipt_key
from bot.domain.ledger import NewTask
from bot.tg.intake import STRANGER_BUDGET
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, LI, STRANGER, TZ, ZHANG
from tests.support.harness import Harness

GROUP = -100800
DEC1 = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, admin_group=GROUP, group_title="督查室工作群",
                        bound=(ZHANG, LI)) as harness:
        yield harness


def add(bot: Harness, owner: str = "张三") -> str:
    return bot.ledger.add_task(NewTask(title=f"{owner}的征地任务", lead_unit="县自然资源局",
                                       owners=(owner,), deadline=date(2026, 12, 31)),
                               who="admin").id


def inbox_states(bot: Harness) -> dict[str, str]:
    return {key: doc["state"] for key, doc in bot.store.all(INBOX).items()}


async def test_every_update_is_marked_applied_with_its_change(bot: Harness) -> None:
    task_id = add(bot)
    await bot.answer(ZHANG, "进度30%")
    await bot.answer(ADMIN, "/tasks")  # commits nothing: marked after it was answered
    states = inbox_states(bot)
    assert len(states) == 2 and set(states.values()) == {DONE}
    assert bot.ledger.task(task_id).progress == 30


async def test_a_redelivered_update_is_recognised_by_what_it_carries(bot: Harness) -> None:
    add(bot)
    await bot.answer(ZHANG, "进度30%")
    raw = bot.api.updates[-1]
    assert await bot.intake.accept([raw]) == 0
    # The same id in a new numbering carries another message: it is new.
    other = {**raw, "message": {**raw["message"], "message_id": 999, "text": "进度40%"}}
    assert receipt_key(other) != receipt_key(raw)
    assert await bot.intake.accept([other]) == 1
    await bot.intake.idle()
    assert len(list(bot.ledger.repo.reports())) == 2


async def test_received_but_not_handled_is_handled_once_after_a_restart(tmp_path: Path) -> None:
    """A crash after the inbox write (and the confirmation to Telegram) but before handling."""
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as first:
        first.bind("张三", ZHANG)
        task_id = add(first)
        api = first.api
        for n in range(5):
            api.send_text(ZHANG, f"已召开第{n}次协调会")
        raws = list(api.pending_updates)
        # Stored, then "crash": nothing handled (the lanes are not started).
        first.intake.inbox.receive([(receipt_key(raw), raw) for raw in raws])
        api.call("getUpdates", {"offset": raws[-1]["update_id"] + 1, "timeout": 0})
        assert set(inbox_states(first).values()) == {RECEIVED}
    async with Harness(data, now=DEC1, api=api) as second:
        assert await second.intake.replay() == 5
        await second.intake.idle()
        notes = [r.text for r in second.ledger.repo.reports() if r.task_id == task_id]
        assert sorted(notes) == [f"已召开第{n}次协调会" for n in range(5)]
        assert set(inbox_states(second).values()) == {DONE}
        assert sum("已记录" in m.get("text", "") for m in api.messages_to(ZHANG)) == 5
        assert await second.intake.replay() == 0  # nothing twice


async def test_a_busy_group_does_not_hold_up_a_private_report(bot: Harness) -> None:
    """Sends to the group wait (as on Telegram's 20-per-minute group limit); an official's
    private report is answered meanwhile."""
    add(bot)
    sender = bot.services.sender
    assert sender is not None
    release = asyncio.Event()
    original = sender.send_message

    async def slow_in_groups(chat_id: int, text: str, **kwargs: Any) -> Any:
        if chat_id < 0:
            await release.wait()
        return await original(chat_id, text, **kwargs)

    sender.send_message = slow_in_groups  # type: ignore[method-assign]
    for _ in range(60):
        bot.api.send_text(ADMIN, "/tasks", chat_id=GROUP)
    bot.api.send_text(ZHANG, "进度50%")
    await bot.intake.accept(bot.api.pending_updates)
    for _ in range(50):  # let the lanes run, without time passing
        await asyncio.sleep(0)
    answered = [m.get("text", "") for m in bot.api.messages_to(ZHANG)]
    assert any("进度 50%" in text for text in answered)
    assert not bot.api.messages_to(GROUP)  # the group's answers are still waiting
    release.set()
    await bot.intake.idle()
    assert len(bot.api.messages_to(GROUP)) == 60  # in order, all of them


async def test_a_strangers_flood_is_ignored_beyond_a_small_budget(bot: Harness) -> None:
    bot.api.add_user(STRANGER, "陌生人")
    bot.api.start_chat(STRANGER)
    for n in range(200):
        bot.api.send_text(STRANGER, f"垃圾消息{n}")
    await bot.pump()
    answers = bot.api.messages_to(STRANGER)
    assert 1 <= len(answers) <= STRANGER_BUDGET
    assert len(bot.store.all(INBOX)) <= STRANGER_BUDGET  # the rest was not even stored
    add(bot)
    assert "进度 20%" in await bot.answer(ZHANG, "进度20%")


async def test_polling_goes_on_when_update_ids_jump_backwards(bot: Harness) -> None:
    """After a quiet week Telegram numbers updates from a random id; a restarted test server
    numbers them from the start. Both must still be answered."""
    add(bot)
    stop = asyncio.Event()
    poller = asyncio.create_task(bot.intake.poll(stop, timeout=1))
    try:
        bot.api.send_text(ZHANG, "进度10%")
        await bot.api.wait_for_async(lambda m: m["chat"]["id"] == ZHANG
                                     and "进度 10%" in m.get("text", ""))
        # A quiet spell: a long poll returns nothing, so everything before is confirmed and
        # the next poll asks without an offset (a week on Telegram; a second here).
        while bot.api.calls_of("getUpdates")[-1].get("offset") is not None:
            await asyncio.sleep(0.05)
        bot.api.renumber_updates(5)
        bot.api.send_text(ZHANG, "进度20%")
        await bot.api.wait_for_async(lambda m: m["chat"]["id"] == ZHANG
                                     and "进度 20%" in m.get("text", ""))
        bot.api.send_text(ADMIN, "/tasks")
        await bot.api.wait_for_async(lambda m: m["chat"]["id"] == ADMIN
                                     and "征地任务" in m.get("text", ""))
    finally:
        stop.set()
        await poller
    assert not bot.api.pending_updates  # everything confirmed


async def test_applied_but_unanswered_is_answered_after_a_restart(tmp_path: Path) -> None:
    """The crash came after the report's commit, before its 已记录 went out: at the next start
    the official gets the answer, and the report is not applied again."""
    from bot.adapters.inbox import applying
    from bot.domain.replies import read_reply

    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as first:
        first.bind("张三", ZHANG)
        task_id = add(first)
        api = first.api
        message = api.send_text(ZHANG, "进度45%，完成主体征地")
        (raw,) = api.pending_updates
        key = receipt_key(raw)
        first.intake.inbox.receive([(key, raw)])
        api.call("getUpdates", {"offset": raw["update_id"] + 1, "timeout": 0})
        # What the handler does up to its commit; then the process dies.
        token = applying.set(first.intake.inbox.begin(key))
        first.ledger.submit_report(task_id, read_reply("进度45%，完成主体征地", today=DEC1.date()),
                                   who="张三", user_id=ZHANG,
                                   source=f"{ZHANG}:{message['message_id']}")
        applying.reset(token)
        assert inbox_states(first)[key] == APPLIED
    async with Harness(data, now=DEC1, api=api) as second:
        assert await second.intake.replay() == 1
        await second.intake.idle()
        answer = second.api.messages_to(ZHANG)[-1]
        assert "已记录" in answer["text"] and "45%" in answer["text"]
        assert answer.get("reply_to_message", {}).get("message_id") == message["message_id"]
        assert len([r for r in second.ledger.repo.reports() if r.task_id == task_id]) == 1
        assert inbox_states(second)[key] == DONE


async def test_strangers_in_a_group_get_no_answer(bot: Harness) -> None:
    bot.api.add_user(STRANGER, "陌生人")
    for _ in range(5):
        bot.api.send_text(STRANGER, "/tasks", chat_id=GROUP)
    await bot.pump()
    assert not bot.api.messages_to(GROUP)
    assert len(bot.store.all(INBOX)) == 0  # not even stored


async def test_the_planner_sweeps_what_a_dead_worker_left(bot: Harness) -> None:
    """Several webhook workers on one store: an update a worker stored (Telegram was told so)
    but never handled waits until the planner's sweep takes it — once it has waited two
    minutes (a younger one is probably being handled), and only in the planner."""
    task_id = add(bot)
    bot.api.send_text(ZHANG, "已召开推进会")
    [old] = list(bot.api.pending_updates)
    bot.intake.inbox.receive([(receipt_key(old), old)])  # stored by a worker that then died
    bot.clock.advance(timedelta(minutes=3))
    bot.api.send_text(ZHANG, "已完成清表")
    young = list(bot.api.pending_updates)[-1]
    bot.intake.inbox.receive([(receipt_key(young), young)])  # its worker is still at it
    stop = asyncio.Event()
    looks: list[bool] = []

    def planner() -> bool:  # not the planner at the first look, the planner at the second
        looks.append(len(looks) > 0)
        if len(looks) == 2:
            stop.set()
        return looks[-1]

    await bot.intake.sweep(stop, planner, every=0)
    await bot.intake.idle()
    notes = [r.text for r in bot.ledger.repo.reports() if r.task_id == task_id]
    assert notes == ["已召开推进会"]
    assert inbox_states(bot) == {receipt_key(old): DONE, receipt_key(young): RECEIVED}
