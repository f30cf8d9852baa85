"""Replies with several facets, 确认交账？, and the questions the bot asks instead of guessing,
as an official and the admins see them in chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from bot.domain.ledger import NewTask
from bot.domain.model import ExtensionStatus, TaskStatus
from tests.chat.conftest import OpenBot, buttons
from tests.conftest import ADMIN, LEADER, LI, TZ, ZHANG
from tests.support.harness import Harness

DEC10 = datetime(2026, 12, 10, 9, 0, tzinfo=TZ)


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC10) as harness:
        yield harness


def add(bot: Harness, owners: tuple[str, ...] = ("张三",)) -> str:
    return bot.ledger.add_task(NewTask(title="中医院迁建", lead_unit="县卫健局", owners=owners,
                                       deadline=date(2026, 12, 31), leader="陈副县长"),
                               who="admin").id


def with_marker(bot: Harness, chat: int, marker: str) -> list[dict[str, Any]]:
    return [m for m in bot.api.messages_to(chat) if marker in m.get("text", "")]


async def test_one_message_files_progress_a_difficulty_and_an_extension(bot: Harness) -> None:
    tid = add(bot)
    text = await bot.answer(ZHANG, "完成了55%，因为配套资金没到，申请延期到2月10日")
    assert f"已记录 {tid}：进度 55%" in text
    assert "困难“" in text and "延期申请（至2027年2月10日" in text and "撤回" in text
    task = bot.ledger.task(tid)
    assert (task.progress, task.status) == (55, TaskStatus.OPEN)
    [difficulty] = bot.ledger.repo.difficulties_of(tid)
    [request] = bot.ledger.repo.extensions_of(tid)
    assert "资金" in difficulty.text and request.new_deadline == date(2027, 2, 10)
    assert request.status is ExtensionStatus.PENDING
    # The admins get the 困难 and the 延期申请; the leader the 困难.
    assert with_marker(bot, ADMIN, "【困难】") and with_marker(bot, ADMIN, "【延期申请】")
    assert with_marker(bot, LEADER, "【困难】")


async def test_a_completed_step_is_asked_about_and_confirmed(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "施工方案已制定完成")
    question = bot.api.messages_to(ZHANG)[-1]
    assert "确认交账？" in question["text"]
    assert buttons(question) == [f"SURE {tid} yes", f"SURE {tid} no"]
    assert bot.ledger.task(tid).status is TaskStatus.OPEN  # nothing recorded yet
    # Someone else cannot answer for the official.
    bot.api.press_button(LI, question, f"SURE {tid} yes", strict=False)
    await bot.pump()
    assert bot.ledger.task(tid).status is TaskStatus.OPEN
    bot.api.press_button(ZHANG, question, f"SURE {tid} yes")
    await bot.pump()
    task = bot.ledger.task(tid)
    assert (task.status, task.progress) == (TaskStatus.SUBMITTED, 100)
    assert with_marker(bot, ADMIN, "【交账】")
    # A second press changes nothing.
    bot.api.press_button(ZHANG, question, f"SURE {tid} yes", strict=False)
    await bot.pump()
    assert len([r for r in bot.ledger.repo.reports() if r.task_id == tid]) == 1


async def test_just_progress_records_the_reply_as_news(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "施工方案已制定完成")
    question = bot.api.messages_to(ZHANG)[-1]
    bot.api.press_button(ZHANG, question, f"SURE {tid} no")
    await bot.pump()
    task = bot.ledger.task(tid)
    assert (task.status, task.latest_note) == (TaskStatus.OPEN, "施工方案已制定完成")
    assert not with_marker(bot, ADMIN, "【交账】")
    assert any("已记录" in m.get("text", "") for m in bot.api.messages_to(ZHANG))


async def test_progress_after_handing_in_takes_the_submission_back(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "已完成")
    [submission] = with_marker(bot, ADMIN, "【交账】")
    assert buttons(submission)
    text = await bot.answer(ZHANG, "进度45%")
    assert "原交账已撤回" in text
    task = bot.ledger.task(tid)
    assert (task.status, task.progress) == (TaskStatus.OPEN, 45)
    # The pending 核账 message says so and lost its buttons; the admins were told.
    [edited] = with_marker(bot, ADMIN, "【交账】")
    assert "交账已撤回" in edited["text"] and not buttons(edited)
    assert with_marker(bot, ADMIN, "【交账撤回】")


async def test_an_extension_without_a_date_asks_for_one_with_a_proposal(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "进度70%，春节以后才能完成，申请延期")
    assert bot.ledger.task(tid).progress == 70  # the rest is recorded
    prompt = bot.api.messages_to(ZHANG)[-1]
    assert prompt["text"].startswith(f"⏳ {tid}") and "年" in prompt["text"]
    assert not bot.ledger.repo.extensions_of(tid)
    await bot.answer(ZHANG, "2月28日，原因是春节期间群众外出", reply_to=prompt)
    [request] = bot.ledger.repo.extensions_of(tid)
    assert request.new_deadline == date(2027, 2, 28)


async def test_a_relative_extension_counts_from_the_deadline(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "申请延期20天，设备还没到货")
    [request] = bot.ledger.repo.extensions_of(tid)
    assert request.new_deadline == date(2027, 1, 20)


async def test_an_impossible_progress_is_asked_again_not_recorded(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "进度120%")
    prompt = bot.api.messages_to(ZHANG)[-1]
    assert prompt["text"].startswith(f"📈 {tid}") and "120%" in prompt["text"]
    assert bot.ledger.task(tid).progress == 0 and bot.ledger.task(tid).last_report == ""
    await bot.answer(ZHANG, "80%", reply_to=prompt)
    assert bot.ledger.task(tid).progress == 80


async def test_an_acknowledgement_is_not_a_report(bot: Harness) -> None:
    tid = add(bot)
    text = await bot.answer(ZHANG, "收到，马上落实👍")
    assert "如需报送" in text and bot.ledger.task(tid).last_report == ""


async def test_an_answer_to_the_progress_prompt_is_not_asked_about_again(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, f"/task {tid}")
    card = next(m for m in reversed(bot.api.messages_to(ZHANG))
                if f"ACT {tid} progress" in buttons(m))
    bot.api.press_button(ZHANG, card, f"ACT {tid} progress")
    await bot.pump()
    prompt = bot.api.messages_to(ZHANG)[-1]
    assert prompt["text"].startswith("📈")
    text = await bot.answer(ZHANG, "施工方案已制定完成", reply_to=prompt)
    assert "确认交账？" not in text and "已记录" in text
    assert bot.ledger.task(tid).status is TaskStatus.OPEN
