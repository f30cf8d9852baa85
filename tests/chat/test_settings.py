"""What config.toml sets, taking effect in the running bot: [escalation], [scoring], the send
times of [bulletin] and [summary], and [warning] (the lights in /tasks). Loading and checking
the file itself is in tests/unit/test_config.py."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.domain.ledger import Ledger, NewTask
from bot.domain.replies import Reading, ReplyKind
from jobs.schedule import BULLETIN_JOB, SUMMARY_JOB, start_scheduler, stop_scheduler
from tests.chat.conftest import write_config
from tests.conftest import ADMIN, DEC1, LEADER, LI, TZ, ZHANG
from tests.support.harness import TOKEN, Harness

GROUP = -100900
NOV2 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def texts(bot: Harness, chat: int) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(chat)]


def add(ledger: Ledger, title: str, deadline: date | None, owners: tuple[str, ...] = ("张三",)
        ) -> str:
    return ledger.add_task(NewTask(title=title, lead_unit="县自然资源局", owners=owners,
                                   deadline=deadline), who="admin").id


def set_progress(ledger: Ledger, task_id: str, progress: int) -> None:
    ledger.submit_report(task_id, Reading(ReplyKind.PROGRESS, progress=progress,
                                          text=f"进度{progress}%"), who="张三", user_id=ZHANG)


def line_of(text: str, task_id: str) -> str:
    """The line of a task list that names `task_id`."""
    return next(line for line in text.splitlines() if task_id in line)


# ---- [escalation], [scoring], [bulletin] and [summary] ---------------------------------------

CONFIG_TEXT = """
timezone = "Asia/Shanghai"
[telegram]
token = "{token}"
[storage]
dir = "data"
[access]
admins = [{admin}]
[chats]
admin_group = {group}
[escalation]
leader_after = 1
admin_after = 2
[bulletin]
send_at = "08:15"
[summary]
send_at = "18:05"
[scoring]
base = 90
overdue_per_workday = 1.5
missed_report = 3
closed_on_time = 5
"""


@pytest.fixture
def loaded_config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TEXT.format(token=TOKEN, admin=ADMIN, group=GROUP), encoding="utf-8")
    return load_config(path, env={})


def test_config_file_values_are_loaded(loaded_config: Config, tmp_path: Path) -> None:
    config = loaded_config
    assert (config.escalation.leader_after, config.escalation.admin_after) == (1, 2)
    assert config.bulletin_at == time(8, 15) and config.summary_at == time(18, 5)
    assert (config.scoring.base, config.scoring.overdue_per_workday,
            config.scoring.missed_report, config.scoring.closed_on_time) == (90, 1.5, 3, 5)
    assert config.chats.admin_group == GROUP
    assert config.storage.dir == tmp_path / "data"


async def test_configured_escalation_and_scoring_take_effect(loaded_config: Config) -> None:
    async with Harness.from_config(loaded_config, now=at(11, 2)) as bot:
        bot.api.add_group(GROUP, "县政府督查室")
        bot.bind("张三", ZHANG)
        bot.bind("李四", LI)
        bot.bind("陈副县长", LEADER)
        # Scoring: a task done and closed on the first day of 中旬, before its deadline.
        school = bot.ledger.add_task(NewTask("职业中学新校区", "县教育局", ("李四",),
                                             date(2026, 11, 20)), who="admin")
        bot.clock.set(at(11, 11, 10))
        bot.ledger.submit_report(school.id, Reading(ReplyKind.COMPLETION, progress=100,
                                                    text="已完成"), who="李四", user_id=LI)
        bot.ledger.verify(school.id, who="督查室")
        # Escalation: deadline Fri 20 Nov, so Mon 23 is the first overdue workday.
        bot.clock.set(at(11, 23))
        late = bot.ledger.add_task(NewTask("中医院迁建项目一期工程", "县卫健局", ("张三",),
                                           date(2026, 11, 20), leader="陈副县长"),
                                   who="admin").id
        await bot.services.dispatcher.run()
        [sheet] = texts(bot, LEADER)  # leader_after = 1 (the default 3 would wait)
        assert "【督办单】" in sheet and late in sheet and "已逾期 1 个工作日" in sheet
        assert texts(bot, GROUP) == []
        bot.clock.set(at(11, 24))
        await bot.services.dispatcher.run()
        [listing] = texts(bot, GROUP)  # admin_after = 2 (the default 5 would wait)
        assert "【挂牌督办】" in listing and late in listing and "逾期 2 个工作日" in listing
        score = await bot.answer(ADMIN, "/score 2026-11-2")
        assert "满分 90" in score
        assert "县教育局 95 分" in score and "按时办结 1 项 +5" in score


async def test_summary_and_bulletin_jobs_run_at_the_configured_times(loaded_config: Config
                                                                     ) -> None:
    # Before the send time, so that no catch-up dispatch is queued.
    async with Harness.from_config(loaded_config, now=at(12, 1, 7)) as bot:
        scheduler = start_scheduler(bot.services, paused=True)
        try:
            for name, expected in ((SUMMARY_JOB, time(18, 5)), (BULLETIN_JOB, time(8, 15))):
                jobs = [j for j in scheduler.get_jobs() if j.id == name]
                assert len(jobs) == 1, name
                assert jobs[0].next_run_time is not None
                assert jobs[0].next_run_time.astimezone(TZ).time() == expected, name
        finally:
            await stop_scheduler(scheduler, wait=False)


# ---- [warning]: the lights in /tasks -------------------------------------------------------

WARNING_TOML = """
[warning]
near_deadline_workdays = 8
near_deadline_progress = 90
behind_schedule_margin = 10
"""


def test_warning_thresholds_are_read_from_the_config_file(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, WARNING_TOML), env={})
    assert (config.warning.near_deadline_workdays, config.warning.near_deadline_progress,
            config.warning.behind_schedule_margin) == (8, 90, 10)
    defaults = load_config(write_config(tmp_path), env={})
    assert (defaults.warning.near_deadline_workdays, defaults.warning.near_deadline_progress,
            defaults.warning.behind_schedule_margin) == (3, 80, 20)


async def test_configured_warning_thresholds_change_the_lights_in_tasks(
        tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, WARNING_TOML), env={})
    async with Harness.from_config(config, now=NOV2) as bot:
        # Opened a month ago, due 12-31, 35% done (序时进度 on 12-01 is about 49%).
        behind = add(bot.ledger, "吉港冠宇水泥技改", date(2026, 12, 31))
        set_progress(bot.ledger, behind, 35)
        bot.clock.set(DEC1)
        # Due in 3 workdays at 85%.
        nearly = add(bot.ledger, "职业中学新校区建设", date(2026, 12, 4))
        set_progress(bot.ledger, nearly, 85)
        # Due in 7 workdays at 50%.
        week = add(bot.ledger, "世忻铁路复线保德段征地", date(2026, 12, 10))
        set_progress(bot.ledger, week, 50)
        listing = await bot.answer(ADMIN, "/tasks")
        api = bot.api
    # margin 10: 35 < 49 − 10; progress 90: 85 < 90; 8 workdays: 7 ≤ 8 and 50 < 90.
    for task_id in (behind, nearly, week):
        assert line_of(listing, task_id).startswith("🟡"), listing

    # The same ledger under the default thresholds: every one of them is green.
    async with Harness(Path(config.storage.dir), now=DEC1, api=api) as bot:
        listing = await bot.answer(ADMIN, "/tasks")
    for task_id in (behind, nearly, week):
        assert line_of(listing, task_id).startswith("🟢"), listing


async def test_tasks_list_shows_red_yellow_and_green(tmp_path: Path) -> None:
    async with Harness(tmp_path / "data", now=NOV2) as bot:
        bot.bind("张三", ZHANG)
        overdue = add(bot.ledger, "世忻铁路复线保德段征地", date(2026, 11, 20))
        bot.clock.set(DEC1)
        plenty = add(bot.ledger, "职业中学新校区建设", date(2027, 6, 30))
        stuck = add(bot.ledger, "吉港冠宇水泥技改", date(2027, 6, 30))
        bot.ledger.submit_report(stuck, Reading(ReplyKind.DIFFICULTY, text="困难：资金未到位",
                                                detail="资金未到位"), who="张三", user_id=ZHANG)
        listing = await bot.answer(ADMIN, "/tasks")
        assert line_of(listing, overdue).startswith("🔴")
        assert line_of(listing, plenty).startswith("🟢")
        assert line_of(listing, stuck).startswith("🟡")
        # The 责任人 sees the same lights on their own list.
        own = await bot.answer(ZHANG, "/tasks")
        assert line_of(own, overdue).startswith("🔴")
        assert line_of(own, plenty).startswith("🟢")
