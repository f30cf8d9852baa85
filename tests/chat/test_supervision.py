"""督办 up the chain, 请假, 督帮一体 buttons, the daily summary and 容错."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from bot.domain.ledger import NewTask
from jobs.schedule import summary_job
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, LEADER, LI, TZ, ZHANG
from tests.support.harness import Harness

GROUP = -100700
# 2026-11-20 (Fri) deadline: Mon 23 = 1 overdue workday, Wed 25 = 3, Fri 27 = 5.
DEADLINE = date(2026, 11, 20)


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=TZ)


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=at(23), admin_group=GROUP) as harness:
        yield harness


def add(bot: Harness, owners: tuple[str, ...] = ("张三",), deadline: date = DEADLINE,
        title: str = "中医院迁建项目一期工程") -> str:
    return bot.ledger.add_task(NewTask(title=title, lead_unit="县卫健局", owners=owners,
                                       deadline=deadline, leader="陈副县长"), who="admin").id


def texts(bot: Harness, chat: int) -> list[str]:
    return [m["text"] for m in bot.api.messages_to(chat)]


async def run_on(bot: Harness, day: int) -> Any:
    bot.clock.set(at(day))
    return await bot.services.dispatcher.run()


async def test_overdue_climbs_to_the_leader_then_the_admin_group(bot: Harness) -> None:
    tid = add(bot)
    await run_on(bot, 23)  # 1 workday overdue: owners only
    assert len(texts(bot, ZHANG)) == 1 and texts(bot, LEADER) == [] and texts(bot, GROUP) == []
    await run_on(bot, 24)  # 2
    assert texts(bot, LEADER) == []
    report = await run_on(bot, 25)  # 3 = leader_after
    assert report.escalated == 1
    [sheet] = texts(bot, LEADER)
    assert "【督办单】" in sheet and tid in sheet and "已逾期 3 个工作日" in sheet
    assert "责任人：张三" in sheet and "尚未报送" in sheet
    assert texts(bot, GROUP) == []
    await run_on(bot, 27)  # 5 = admin_after
    [listing] = texts(bot, GROUP)
    assert "【挂牌督办】" in listing and tid in listing and "逾期 5 个工作日" in listing
    # Once a day: running again sends nothing new.
    await bot.services.dispatcher.run()
    assert len(texts(bot, GROUP)) == 1 and len(texts(bot, LEADER)) == 2  # days 3 and 5


async def test_an_unreachable_owner_escalates_at_once(bot: Harness) -> None:
    tid = add(bot, owners=("王五",))  # never bound
    await run_on(bot, 23)
    [sheet] = texts(bot, LEADER)
    assert tid in sheet and "无法接收提醒：王五" in sheet


async def test_a_blocked_owner_escalates_at_once(bot: Harness) -> None:
    tid = add(bot)
    bot.api.block(ZHANG)  # the send answers 403
    await run_on(bot, 23)  # only 1 workday overdue
    [sheet] = texts(bot, LEADER)
    assert tid in sheet and "无法接收提醒：张三" in sheet


async def test_an_owner_on_leave_is_not_reported_unreachable(bot: Harness) -> None:
    """The leader gets the forwarded reminder, not also a 督办单 calling the owner
    unreachable; the 督办单 comes after leader_after workdays as for anyone."""
    tid = add(bot)
    await bot.answer(ADMIN, "/leave 张三 11月23日 11月30日")
    await run_on(bot, 23)
    [forwarded] = texts(bot, LEADER)
    assert "张三 请假中" in forwarded and tid in forwarded and "无法接收" not in forwarded
    await run_on(bot, 25)  # 3 overdue workdays
    sheets = [t for t in texts(bot, LEADER) if "【督办单】" in t]
    assert len(sheets) == 1 and "无法接收" not in sheets[0]


async def test_officials_on_leave_get_nothing_and_their_leader_gets_it(bot: Harness) -> None:
    tid = add(bot, owners=("张三",), deadline=date(2026, 11, 30))
    assert "已登记 张三 请假" in await bot.answer(ADMIN, "/leave 张三 11月23日 11月24日")
    assert "张三：11月23日（周一）至11月24日（周二）" in await bot.answer(ADMIN, "/leave")
    await run_on(bot, 23)
    assert texts(bot, ZHANG) == []
    [forwarded] = texts(bot, LEADER)
    assert "张三 请假中" in forwarded and tid in forwarded
    await run_on(bot, 25)  # back from leave
    assert len(texts(bot, ZHANG)) == 1
    assert "没有人请假" in await bot.answer(ADMIN, "/leave")
    assert "已取消" in await bot.answer(ADMIN, "/leave 张三 取消")
    assert "用法：/leave" in await bot.answer(ADMIN, "/leave 张三 尽快")  # 明天 is a date now
    assert "没有找到" in await bot.answer(ADMIN, "/leave 无名氏 11月23日 11月24日")


async def test_difficulty_buttons_for_leader_and_admins(bot: Harness) -> None:
    tid = add(bot, deadline=date(2026, 12, 31))
    await bot.answer(ZHANG, "困难：施工用地尚未交付")
    alert = bot.api.messages_to(LEADER)[-1]
    [coord, solved] = [b["callback_data"] for b in alert["reply_markup"]["inline_keyboard"][0]]
    # Another official cannot take it on.
    bot.api.press_button(LI, alert, coord, strict=False)
    await bot.pump()
    assert "不是给您的" in bot.api.answered_callbacks[-1]["text"]
    bot.api.press_button(LEADER, alert, coord)
    await bot.pump()
    assert "陈副县长 协调解决" in texts(bot, ZHANG)[-1]
    assert bot.ledger.open_difficulties_of(tid)[0].coordinator == "陈副县长"
    bot.api.press_button(LEADER, alert, solved, strict=False)
    await bot.pump()
    assert bot.ledger.open_difficulties_of(tid) == []
    assert "困难已解决" in texts(bot, ZHANG)[-1]


async def test_daily_summary_lists_the_day(bot: Harness) -> None:
    late = add(bot, deadline=date(2026, 11, 20))
    done = add(bot, owners=("李四",), deadline=date(2026, 12, 31), title="职业中学新校区")
    add(bot, owners=("李四",), deadline=date(2026, 12, 31), title="吉港冠宇水泥技改")
    bot.clock.set(at(23, 10))
    await bot.answer(LI, "已完成")  # two open tasks: the bot asks which
    bot.api.press_button(LI, bot.api.messages_to(LI)[-1], f"PICK {done}")
    await bot.pump()
    await bot.answer(ZHANG, "困难：资金未到位")
    bot.clock.set(at(23, 17))
    await summary_job(bot.services)
    summary = texts(bot, GROUP)[-1]
    assert "今日小结" in summary
    assert f"今日新增逾期 1 项：{late}" in summary
    assert "待核账 1 项" in summary
    assert "未解决困难 1 项" in summary and "资金未到位" in summary and "已 0 天" in summary
    assert "今日报送" in summary
    assert "无法收到提醒" not in summary  # everyone could be reached


async def test_unreachable_found_after_the_summary_is_told_the_next_day(bot: Harness) -> None:
    """A catch-up dispatch after 17:30 finds 张三 unreachable: that day's summary has gone, so
    the next workday's tells the admins — once."""
    add(bot)
    bot.clock.set(at(23, 17))
    await summary_job(bot.services)
    assert "无法收到提醒" not in texts(bot, GROUP)[-1]
    bot.api.block(ZHANG)
    bot.clock.set(at(23, 19))  # the bot was down all day: the catch-up runs in the evening
    await bot.services.dispatcher.run()
    for day, told in ((24, True), (25, False)):
        bot.clock.set(at(day, 17))
        await summary_job(bot.services)
        assert ("新发现无法收到提醒的责任人：张三" in texts(bot, GROUP)[-1]) is told


async def test_exempt_is_recorded_with_who_and_why(bot: Harness) -> None:
    tid = add(bot)
    assert "用法：/exempt" in await bot.answer(ADMIN, f"/exempt {tid}")
    assert "移出考核" in await bot.answer(ADMIN, f"/exempt {tid} 上级政策调整")
    task = bot.ledger.task(tid)
    assert task.exempt_since == at(23) and task.exempt_reason == "上级政策调整"
    entry = bot.ledger.repo.history(tid)[-1]
    assert entry.action == "exempted" and entry.note == "上级政策调整"
    assert "仅限督查室" in await bot.answer(ZHANG, f"/exempt {tid} 我也想")
