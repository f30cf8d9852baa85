"""Bulletins to the work group, 进位/退位 across two published bulletins, config wiring, and
`run --or-sandbox` with a token never starting the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest

from bot.config import (
    AccessConfig,
    ChatsConfig,
    Config,
    StorageConfig,
    TelegramConfig,
    load_config,
)
from bot.domain.ledger import NewTask
from bot.domain.replies import Reading, ReplyKind
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from jobs.schedule import BULLETIN_JOB, SUMMARY_JOB, bulletin_job, start_scheduler, stop_scheduler
from tests.support.harness import ADMIN, TOKEN, TZ, Harness

GROUP, WORK = -100900, -100901
ZHANG, LI, LEADER = 2001, 2002, 2900
ROOT = Path(__file__).resolve().parent.parent


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def texts(bot: Harness, chat: int) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(chat)]


# --------------------------------------------------------------------------- work group


@pytest.fixture
async def work_bot(tmp_path: Path):
    config = Config(telegram=TelegramConfig(token=TOKEN),
                    access=AccessConfig(admins=frozenset({ADMIN})),
                    chats=ChatsConfig(admin_group=GROUP, work_group=WORK),
                    storage=StorageConfig(dir=tmp_path / "data"))
    async with Harness.from_config(config, now=at(11, 2)) as harness:
        harness.api.add_group(GROUP, "县政府督查室")
        harness.api.add_group(WORK, "县重点工作推进群")
        harness.bind("张三", ZHANG)
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
async def bot(tmp_path: Path):
    async with Harness(tmp_path / "data", now=at(11, 2), admin_group=GROUP) as harness:
        harness.api.add_group(GROUP, "县政府督查室")
        harness.bind("张三", ZHANG)
        harness.bind("李四", LI)
        yield harness


def _unit_line(text: str, unit: str) -> str:
    return next(line for line in text.splitlines() if f". {unit} " in line)


def _silent_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.startswith("📵 未报送：")), "")


async def test_rank_change_between_two_published_xun_bulletins(bot: Harness) -> None:
    """中旬: 县教育局 reports every day, 县卫健局 is overdue and silent. 下旬: 县卫健局 closes its
    task on the first day, 县教育局 goes overdue and silent. The 下旬 bulletin shows the swap."""
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


# --------------------------------------------------------------------------- config wiring

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


# --------------------------------------------------------------------------- run --or-sandbox


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_or_sandbox_bot")
    api.add_user(ADMIN, "王主任")
    with FakeBotApiServer(api) as srv:
        srv.start()
        yield srv


def test_run_or_sandbox_with_a_token_runs_the_bot_not_the_sandbox(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    config = tmp_path / "config.toml"
    config.write_text(f"""
[telegram]
token = "{TOKEN}"
base_url = "{server.base_url}"
base_file_url = "{server.base_file_url}"
[storage]
dir = "data"
[access]
admins = [{ADMIN}]
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--or-sandbox",
             "--port", "0"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            # The bot polls the configured server: it registered its menu and asks for updates.
            try:
                api.wait_until(lambda: bool(api.calls_of("setMyCommands"))
                               and bool(api.calls_of("getUpdates")), timeout=30)
            except TimeoutError:
                pytest.fail("the bot never polled the configured server:\n"
                            + log.read_text(encoding="utf-8", errors="replace"))
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            # And it answers there, as the bot (not a sandbox with its own token).
            api.start_chat(ADMIN)
            start = len(api.sent)
            api.send_text(ADMIN, "/tasks")
            api.wait_for(lambda m: m["chat"]["id"] == ADMIN, timeout=15, start=start)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "落实沙盒已启动" not in output
    assert not (tmp_path / "data-sandbox").exists()
    assert (tmp_path / "data").is_dir()
