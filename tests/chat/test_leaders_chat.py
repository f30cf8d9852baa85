"""Leaders, help and deadlines through Telegram (issue 14, items 4-5): /add with five fields
and the 📨 invite button, /mine with lights, /help by role, and deadlines such as 一季度 and
月底前 in /add and /extend — the real handlers against the fake Bot API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.app.actions import invite_data
from bot.domain.ledger import NewTask
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, LEADER, STRANGER, ZHANG
from tests.support.harness import Harness


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(bound=()) as harness:
        harness.api.add_user(ZHANG, "张三")
        harness.api.add_user(LEADER, "陈副县长")
        harness.api.add_user(STRANGER, "路人")
        yield harness


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_add_with_a_leader_offers_invite_links_for_whoever_is_not_bound(
        bot: Harness) -> None:
    bot.bind("张三", ZHANG)
    sent = await bot.say(ADMIN, "/add 中医院迁建项目 | 县卫健局 | 张三 | 一季度 | 陈副县长")
    [created] = [m for m in sent if m["chat"]["id"] == ADMIN]
    text = created["text"]
    assert "T0001" in text and "责任领导：陈副县长" in text
    assert "2027年3月31日" in text  # 一季度 after this year's: next year's, with its year
    assert "陈副县长 尚未绑定" in text
    assert buttons(created) == [invite_data("T0001")]
    task = bot.ledger.task("T0001")
    assert (task.leader, task.deadline) == ("陈副县长", date(2027, 3, 31))

    bot.api.press_button(ADMIN, created, invite_data("T0001"), strict=False)
    await bot.pump()
    links = bot.api.messages_to(ADMIN)[-1]["text"]
    match = re.search(r"陈副县长：https://t\.me/luoshi_test_bot\?start=([\w-]+)", links)
    assert match, links
    greeting = await bot.answer(LEADER, f"/start {match.group(1)}")
    assert "绑定成功" in greeting and "/mine" in greeting  # pointed to the tasks they lead
    # Pressed again: everyone is bound now.
    bot.api.press_button(ADMIN, created, invite_data("T0001"), strict=False)
    await bot.pump()
    assert "都已绑定" in bot.api.answered_callbacks[-1].get("text", "")


async def test_an_official_cannot_press_the_invite_button(bot: Harness) -> None:
    bot.bind("张三", ZHANG)
    sent = await bot.say(ADMIN, "/add 任务甲 | 县发改局 | 张三、李四 | 月底前")
    created = sent[-1]
    assert bot.ledger.task("T0001").deadline == date(2026, 11, 30)  # today is 27 November
    before = len(bot.api.sent)
    bot.api.press_button(ZHANG, created, invite_data("T0001"), strict=False)
    await bot.pump()
    assert bot.api.answered_callbacks[-1].get("text")  # told it is not theirs
    assert not [m for m in bot.api.sent[before:] if "start=" in m.get("text", "")]


async def test_a_past_deadline_in_add_is_asked_about_and_confirmed(bot: Harness) -> None:
    sent = await bot.say(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 2025-01-01 | 陈副县长")
    question = sent[-1]
    assert "已过去" in question["text"] and list(bot.ledger.repo.tasks()) == []
    bot.api.press_button(ADMIN, question, buttons(question)[0], strict=False)
    await bot.pump()
    task = bot.ledger.task("T0001")
    assert (task.deadline, task.leader) == (date(2025, 1, 1), "陈副县长")
    created = bot.api.messages_to(ADMIN)[-1]
    assert "责任领导：陈副县长" in created["text"] and "尚未绑定" in created["text"]


async def test_mine_shows_a_leader_the_tasks_they_lead(bot: Harness) -> None:
    bot.bind("陈副县长", LEADER)
    for title, deadline in (("职业中学新校区建设", date(2027, 6, 30)),
                            ("中医院迁建项目一期工程", date(2026, 11, 24))):
        bot.ledger.add_task(NewTask(title=title, lead_unit="县卫健局", owners=("张三",),
                                    deadline=deadline, leader="陈副县长"), who="admin")
    assert "没有在办任务" in await bot.answer(LEADER, "/tasks")  # not an owner …
    assert "/mine" in await bot.answer(LEADER, "/tasks")  # … but pointed to /mine
    text = await bot.answer(LEADER, "/mine")
    lines = text.splitlines()
    assert lines[0] == "我分管的任务（2 项）"
    assert lines[1].startswith("🔴T0002")  # overdue first
    assert "T0001" in text
    assert "陈副县长 分管的任务（2 项）" in await bot.answer(ADMIN, "/mine 陈副县长")
    assert "还未登记" in await bot.answer(STRANGER, "/mine")


async def test_help_differs_by_role(bot: Harness) -> None:
    bot.bind("张三", ZHANG)
    bot.bind("陈副县长", LEADER)
    bot.ledger.add_task(NewTask(title="任务甲", lead_unit="县卫健局", owners=("张三",),
                                deadline=date(2026, 12, 31), leader="陈副县长"), who="admin")
    admin = await bot.answer(ADMIN, "/help")
    leader = await bot.answer(LEADER, "/help")
    official = await bot.answer(ZHANG, "/help")
    assert "督查室命令" in admin and "| 责任领导]" in admin
    assert "责任领导" in leader and "/mine" in leader
    assert "责任人" in official and "进度60%" in official and "申请延期至" in official
    assert len({admin, leader, official}) == 3


async def test_extend_reads_quarters(bot: Harness) -> None:
    bot.ledger.add_task(NewTask(title="任务甲", lead_unit="县卫健局", owners=("张三",),
                                deadline=date(2026, 12, 31)), who="admin")
    text = await bot.answer(ADMIN, "/extend T0001 一季度末")
    assert "2027年3月31日" in text
    assert bot.ledger.task("T0001").deadline == date(2027, 3, 31)
