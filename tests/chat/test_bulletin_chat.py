"""工作通报 and 考核 through the bot: the scheduled bulletin (to the admin group and the work
group, once a period), 进位/退位 across two published bulletins, /report and /score. The `score`
command line is in tests/process/test_cli.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.adapters.chart import find_cjk_font
from bot.config import AccessConfig, ChatsConfig, Config, StorageConfig, TelegramConfig
from bot.domain.ledger import NewTask
from bot.domain.replies import Reading, ReplyKind
from jobs.schedule import bulletin_job
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, LI, TZ, ZHANG
from tests.support.harness import TOKEN, Harness

GROUP, WORK = -100800, -100801


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def texts(bot: Harness, chat: int) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(chat)]


async def seed(bot: Harness) -> None:
    """Two units in November: 县教育局 closes on time; 县卫健局 lets one task slip."""
    bot.clock.set(at(11, 2))
    ledger = bot.ledger
    school = ledger.add_task(NewTask("职业中学新校区", "县教育局", ("李四",), date(2026, 11, 20)),
                             who="admin")
    hospital = ledger.add_task(NewTask("中医院迁建项目一期工程", "县卫健局", ("张三",),
                                       date(2026, 11, 24)), who="admin")
    bot.clock.set(at(11, 18))
    ledger.submit_report(school.id, Reading(ReplyKind.COMPLETION, progress=100, text="已完成"),
                         who="李四", user_id=LI)
    ledger.verify(school.id, who="督查室")
    del hospital


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(admin_group=GROUP, bound=(ZHANG, LI)) as harness:
        await seed(harness)
        yield harness


def group_texts(bot: Harness) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(GROUP)]


async def test_bulletin_goes_out_on_the_first_workday_once(bot: Harness) -> None:
    bot.clock.set(at(12, 1, 9))  # Tue 1 Dec: first workday of the month and of 上旬
    await bulletin_job(bot.services)
    texts = [t for t in group_texts(bot) if "工作通报" in t]
    assert any("11月下旬（11月21日—11月30日）" in t for t in texts)  # the previous 旬
    month = next(t for t in texts if "（11月1日—11月30日）" in t)
    assert "1. 县教育局" in month and "2. 县卫健局" in month
    assert "🏅 红榜：县教育局" in month
    assert "县卫健局：T0002 中医院迁建项目一期工程（逾期 4 个工作日，张三）" in month
    photos = [m for m in bot.api.messages_to(GROUP) if "photo" in m]
    # A chart with each bulletin; text only on a machine without a CJK font (never boxes).
    assert len(photos) == (len(texts) if find_cjk_font() else 0)
    assert bot.ledger.repo.bulletin_ranks("2026-11") == {"县教育局": 1, "县卫健局": 2}
    before = len(bot.api.messages_to(GROUP))
    await bulletin_job(bot.services)
    assert len(bot.api.messages_to(GROUP)) == before


async def test_no_bulletin_on_other_days(bot: Harness) -> None:
    bot.clock.set(at(12, 2, 9))
    await bulletin_job(bot.services)
    assert group_texts(bot) == []


async def test_report_and_score_on_demand(bot: Harness) -> None:
    bot.clock.set(at(12, 3, 10))
    text = await bot.answer(ADMIN, "/report 月")
    assert "工作通报" in text and "县教育局" in text
    one = await bot.answer(ADMIN, "/report 月 县卫健局")
    assert "县卫健局" in one and "县教育局" not in one.split("\n", 2)[-1]
    assert "已有单位" in await bot.answer(ADMIN, "/report 月 县不存在局")
    score = await bot.answer(ADMIN, "/score 2026-11")
    assert "考核得分" in score and "逾期" in score and "按时办结 1 项 +2" in score
    assert "用法：/score" in await bot.answer(ADMIN, "/score 明年")
    assert "仅限督查室" in await bot.answer(ZHANG, "/score")


# --------------------------------------------------------------------------- work group


@pytest.fixture
async def work_bot(tmp_path: Path, open_bot: OpenBot) -> AsyncIterator[Harness]:
    config = Config(telegram=TelegramConfig(token=TOKEN),
                    access=AccessConfig(admins=frozenset({ADMIN})),
                    chats=ChatsConfig(admin_group=GROUP, work_group=WORK),
                    storage=StorageConfig(dir=tmp_path / "data"))
    async with open_bot(config=config, now=at(11, 2), bound=(ZHANG,)) as harness:
        harness.api.add_group(WORK, "县重点工作推进群")
        yield harness


async def test_scheduled_bulletin_reaches_the_work_group_too(work_bot: Harness
                                                             ) -> None:
    bot = work_bot
    bot.ledger.add_task(NewTask("中医院迁建项目一期工程", "县卫健局", ("张三",),
                                date(2026, 11, 24)), who="admin")
    bot.clock.set(at(12, 1, 9, 30))  # Tue 1 Dec: first workday of the month and of 上旬
    await bulletin_job(bot.services)
    for chat in (GROUP, WORK):
        month = [t for t in texts(bot, chat) if "工作通报" in t and "（11月1日—11月30日）" in t]
        assert len(month) == 1, chat
        assert "1. 县卫健局" in month[0]
        assert "县卫健局：T0001 中医院迁建项目一期工程（逾期 4 个工作日，张三）" in month[0]
        assert any("11月下旬（11月21日—11月30日）" in t for t in texts(bot, chat))
    # Groups are set: the admins' private chats are not flooded with it.
    assert not any("工作通报" in t for t in texts(bot, ADMIN))
    # Once per period and chat: a second run (a restart) sends nothing again to either group.
    before = {chat: len(bot.api.messages_to(chat)) for chat in (GROUP, WORK)}
    await bulletin_job(bot.services)
    assert {chat: len(bot.api.messages_to(chat)) for chat in (GROUP, WORK)} == before


# --------------------------------------------------------------------------- 进位/退位


@pytest.fixture
async def unseeded_bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=at(11, 2), admin_group=GROUP, bound=(ZHANG, LI)) as harness:
        yield harness


def _unit_line(text: str, unit: str) -> str:
    return next(line for line in text.splitlines() if f". {unit} " in line)


def _silent_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.startswith("📵 未报送：")), "")


async def test_rank_change_between_two_published_xun_bulletins(unseeded_bot: Harness) -> None:
    """中旬: 县教育局 reports every day, 县卫健局 is overdue and silent. 下旬: 县卫健局 closes its
    task on the first day, 县教育局 goes overdue and silent. The 下旬 bulletin shows the swap."""
    bot = unseeded_bot
    ledger = bot.ledger
    school = ledger.add_task(NewTask("职业中学新校区", "县教育局", ("李四",),
                                     date(2026, 11, 20)), who="admin")
    hospital = ledger.add_task(NewTask("中医院迁建项目一期工程", "县卫健局", ("张三",),
                                       date(2026, 11, 13)), who="admin")
    # 中旬 (11–20 Nov): 李四 reports on every workday, 张三 never does.
    for day in (11, 12, 13, 16, 17, 18, 19, 20):
        bot.clock.set(at(11, day, 10))
        ledger.submit_report(school.id, Reading(ReplyKind.PROGRESS, progress=5 * day,
                                                text=f"进度{5 * day}%"), who="李四", user_id=LI)
    # Mon 23 Nov, first workday of 下旬: the job publishes the 中旬 bulletin.
    bot.clock.set(at(11, 23, 9, 30))
    await bulletin_job(bot.services)
    [middle] = [t for t in texts(bot, GROUP) if "11月中旬" in t and "工作通报" in t]
    assert "1. 县教育局" in middle and "2. 县卫健局" in middle
    # No 上旬 bulletin was published: the change is against 上旬's ranking computed now, when
    # both units had reported nothing (shared 1st place).
    assert _unit_line(middle, "县教育局").startswith("1. 县教育局 100 分 —")
    assert "↓1 退位" in _unit_line(middle, "县卫健局")
    assert "张三" in _silent_line(middle) and "李四" not in _silent_line(middle)
    assert bot.ledger.repo.bulletin_ranks("2026-11-2") == {"县教育局": 1, "县卫健局": 2}
    # The same morning 张三 reports done and the office closes the task.
    bot.clock.set(at(11, 23, 10))
    ledger.submit_report(hospital.id, Reading(ReplyKind.COMPLETION, progress=100,
                                              text="已完成"), who="张三", user_id=ZHANG)
    ledger.verify(hospital.id, who="督查室")
    # 李四 falls silent; his task is overdue from 23 Nov. Tue 1 Dec: the 下旬 bulletin.
    bot.clock.set(at(12, 1, 9, 30))
    await bulletin_job(bot.services)
    [late] = [t for t in texts(bot, GROUP) if "11月下旬（11月21日—11月30日）" in t]
    hospital_line, school_line = _unit_line(late, "县卫健局"), _unit_line(late, "县教育局")
    assert hospital_line.startswith("1. 县卫健局") and "↑1 进位" in hospital_line
    assert school_line.startswith("2. 县教育局") and "↓1 退位" in school_line
    assert "县教育局：T0001 职业中学新校区（逾期 6 个工作日，李四）" in late
    silent = _silent_line(late)
    assert silent.startswith("📵 未报送：李四 ") and "张三" not in silent
    assert bot.ledger.repo.bulletin_ranks("2026-11-3") == {"县卫健局": 1, "县教育局": 2}


async def test_report_today_and_period_codes(bot: Harness) -> None:
    """/report 今日 is the 通报 as of today; /report takes /score's period codes (a code is
    never read as a unit name); a month in progress is scored up to today."""
    bot.clock.set(at(12, 3, 10))
    today = await bot.answer(ADMIN, "/report 今日")  # after the chart, when there is one
    assert "📊【工作通报】截至12月3日（周四）\n" in today
    # 2 tasks: 职业中学 closed on time; 中医院 overdue since 24 Nov (Nov 25–27, 30, Dec 1–3).
    assert ("截至12月3日，共有任务 2 项，已办结 1 项（占 50%），其中按时办结 1 项；"
            "正在办理 1 项，其中逾期 1 项（占 50%）") in today
    assert "县卫健局：T0002 中医院迁建项目一期工程（逾期 7 个工作日，张三）" in today
    xun = await bot.answer(ADMIN, "/report 2026-11-3")
    assert "📊【工作通报】11月下旬（11月21日—11月30日）" in xun
    month = await bot.answer(ADMIN, "/score 2026-12")
    assert "12月（截至12月3日）" in month and "逾期 3 个工作日 -3" in month
    tasks = await bot.answer(ADMIN, "/tasks")
    assert "已逾期 7 个工作日" in tasks
