"""Scheduled dispatch: what officials receive, once, in order; restarts, 403s, 429s, timeouts;
/plan; no replay of missed days; the calendar warning in chat and from `check`."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.domain.ledger import NewTask
from bot.domain.model import DeliveryStatus, Frequency
from bot.domain.ports import Change
from bot.domain.rhythm import ReminderKind
from jobs.pacing import Pacer, interleave
from jobs.schedule import (
    CALENDAR_JOB,
    CATCH_UP_JOB,
    DISPATCH_JOB,
    build_scheduler,
    calendar_warning_job,
    catch_up_due,
    install_jobs,
    scheduled_dispatch,
    start_scheduler,
    stop_scheduler,
    summary_job,
)
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, DEC1, LI, TZ, WANG, ZHANG
from tests.support.harness import TOKEN, FakeTime, Harness


def add(bot: Harness, title: str, owners: tuple[str, ...], deadline: date | None,
        frequency: Frequency | None = None, leader: str = "", unit: str = "县发改局") -> str:
    return bot.ledger.add_task(NewTask(title=title, lead_unit=unit, owners=owners,
                                       deadline=deadline, frequency=frequency, leader=leader),
                               who="admin").id


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, bound=(ZHANG, LI)) as harness:
        yield harness


def texts_to(bot: Harness, chat: int) -> list[str]:
    return [m["text"] for m in bot.api.messages_to(chat)]


async def test_each_owner_gets_one_message_a_day_most_urgent_first(bot: Harness) -> None:
    """每人每日一条: 张三's two due tasks in one digest (督办 first), 李四's one task as the
    single-task reminder with its four buttons."""
    xun = add(bot, "世忻铁路复线保德段征地", ("张三", "李四"), date(2026, 12, 31))
    overdue = add(bot, "中医院迁建项目一期工程", ("张三",), date(2026, 11, 24),
                  leader="陈副县长")
    add(bot, "明年任务", ("张三",), date(2027, 5, 1))  # later quarter: not today
    report = await bot.services.dispatcher.run()
    assert (report.due, report.sent, report.sent_before, report.messages) == (3, 3, 0, 2)
    [zhang] = texts_to(bot, ZHANG)
    lines = zhang.splitlines()
    assert lines[0] == "📋【今日调度】12月1日（周二） 张三 共 2 项"
    assert lines[1].startswith("1. 🔴【督办】") and overdue in lines[1]
    assert "11月24日（周二），已逾期 5 个工作日" in lines[1]
    assert lines[2].startswith("2. ") and "【旬调度】" in lines[2] and xun in lines[2]
    assert "12月31日（周四），还剩 30 天" in lines[2]
    assert lines[3] == f"回复“序号/编号 + 进展”，如“1 进度80%”“{xun} 已完成”；或点下方按钮。"
    assert len(lines) <= 8
    [message] = bot.api.messages_to(ZHANG)
    rows = message["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in rows] == [
        [f"ACT {overdue} open"], [f"ACT {xun} open"]]
    [li] = texts_to(bot, LI)
    assert "【旬调度】" in li and xun in li
    assert "12月31日（周四）" in li and "还剩 30 天" in li
    assert "以旬保月" in li and "12月上旬" in li
    assert "直接回复本消息" in li
    assert len(li.splitlines()) <= 8


async def test_a_daily_reminder_names_the_xun_it_secures(bot: Harness) -> None:
    """以日保旬: the deadline within this 旬 (due on the 8th), and a 每日 task due next year."""
    soon = add(bot, "供暖管网抢修", ("张三",), date(2026, 12, 8))
    later = add(bot, "安全生产日巡查", ("李四",), None, frequency=Frequency.DAILY)
    bot.clock.set(DEC1.replace(day=2))
    await bot.services.dispatcher.run()
    [zhang] = texts_to(bot, ZHANG)
    [li] = texts_to(bot, LI)
    for text, tid in ((zhang, soon), (li, later)):
        assert "【日调度】" in text and tid in text
        assert "以日保旬（本旬：12月上旬" in text
        assert "12月2日）" not in text  # not the day's own label


async def test_second_run_sends_nothing_again(bot: Harness) -> None:
    add(bot, "任务甲", ("张三", "李四"), date(2026, 12, 5))
    first = await bot.services.dispatcher.run()
    again = await bot.services.dispatcher.run()
    assert first.sent == 2
    assert (again.sent, again.sent_before) == (0, 2)
    assert len(bot.api.sent) == 2


async def test_dispatch_command_reports_and_is_idempotent(bot: Harness) -> None:
    add(bot, "任务甲", ("张三", "王五"), date(2026, 12, 5))
    text = await bot.answer(ADMIN, "/dispatch")
    assert "应发 2 条" in text and "本次发送 1 条" in text and "未绑定" in text and "王五" in text
    text = await bot.answer(ADMIN, "/dispatch")
    assert "本次发送 0 条" in text and "此前已发 1 条" in text
    assert len(texts_to(bot, ZHANG)) == 1
    assert "仅限督查室" in await bot.answer(ZHANG, "/dispatch")


async def test_rest_day_sends_nothing(bot: Harness) -> None:
    add(bot, "任务甲", ("张三",), date(2026, 11, 1))
    bot.clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=TZ))  # Saturday
    assert "休息日" in await bot.answer(ADMIN, "/dispatch")
    assert texts_to(bot, ZHANG) == []


async def test_burden_limit_skips_reported_tasks_but_never_overdue(bot: Harness) -> None:
    xun = add(bot, "任务甲", ("张三",), date(2026, 12, 31))
    late = add(bot, "任务乙", ("张三",), date(2026, 11, 30))
    repo = bot.ledger.repo
    reported = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
    repo.commit(Change(tasks=[repo.get_task(xun).with_changes(last_report_at=reported),
                              repo.get_task(late).with_changes(last_report_at=reported)]))
    report = await bot.services.dispatcher.run()
    assert report.skipped_reported == 1 and report.sent == 1
    [only] = texts_to(bot, ZHANG)
    assert late in only and "督办" in only
    assert "最近进展（12月1日）" in only


async def test_restart_mid_fan_out_sends_the_rest_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as bot:
        for i in range(6):
            bot.bind(f"官员{i}", 2100 + i)
        ids = [add(bot, f"任务{i}", (f"官员{i}",), date(2026, 12, 31)) for i in range(6)]

        class Crash(BaseException):
            pass

        sent = 0
        real_send = bot.services.dispatcher.sender.send

        async def dying_send(chat_id: int, text: str, buttons: Any = None) -> int:
            nonlocal sent
            if sent == 3:
                raise Crash  # the process dies here
            sent += 1
            return await real_send(chat_id, text, buttons)

        bot.services.dispatcher.sender.send = dying_send  # type: ignore[method-assign]
        with pytest.raises(Crash):
            await bot.services.dispatcher.run()
        first_api = bot.api
    async with Harness(data, now=DEC1.replace(hour=10), api=first_api) as bot:
        report = await bot.services.dispatcher.run()
        assert report.sent_before == 3 and report.sent == 3
    per_task = Counter(tid for m in first_api.sent for tid in ids if tid in m["text"])
    assert per_task == dict.fromkeys(ids, 1)


async def test_unreachable_official_is_marked_and_the_rest_still_sent(bot: Harness) -> None:
    add(bot, "任务甲", ("张三",), date(2026, 12, 5))
    add(bot, "任务乙", ("李四",), date(2026, 12, 5))
    bot.api.block(ZHANG)
    await scheduled_dispatch(bot.services)
    assert len(texts_to(bot, LI)) == 1
    person = bot.ledger.repo.get_person("张三")
    assert person is not None and person.unreachable_since is not None
    # Admins are told once, in the daily summary.
    bot.clock.set(DEC1.replace(hour=17, minute=30))
    await summary_job(bot.services)
    [summary] = texts_to(bot, ADMIN)
    assert "新发现无法收到提醒的责任人：张三" in summary
    bot.clock.set(DEC1.replace(day=2))
    await scheduled_dispatch(bot.services)
    bot.clock.set(DEC1.replace(day=2, hour=17, minute=30))
    await summary_job(bot.services)
    assert "张三" not in texts_to(bot, ADMIN)[-1]
    # Once they unblock, the next reminder reaches them and the flag clears.
    bot.api.unblock(ZHANG)
    bot.clock.set(DEC1.replace(day=3))
    await bot.services.dispatcher.run()
    assert len(texts_to(bot, ZHANG)) == 1
    assert bot.ledger.repo.get_person("张三").unreachable_since is None  # type: ignore[union-attr]


async def test_429_is_waited_out_and_sent_once(bot: Harness, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    add(bot, "任务甲", ("张三",), date(2026, 12, 5))
    bot.api.fail_next("sendMessage", 429, retry_after=7)
    report = await bot.services.dispatcher.run()
    assert report.sent == 1 and report.failed == 0
    # The rate limiter waited retry_after (on the harness's fake time) before retrying.
    assert any(w >= 7 for w in bot.time.sleeps), bot.time.sleeps
    assert len(texts_to(bot, ZHANG)) == 1


async def test_server_errors_are_retried_with_backoff(bot: Harness) -> None:
    add(bot, "任务甲", ("张三",), date(2026, 12, 5))
    bot.api.fail_next("sendMessage", 500, "Internal Server Error", count=2)
    report = await bot.services.dispatcher.run()
    assert report.sent == 1 and bot.time.sleeps.count(1.0) >= 1
    assert len(texts_to(bot, ZHANG)) == 1


async def test_lasting_failure_is_retried_by_the_next_run(bot: Harness) -> None:
    add(bot, "任务甲", ("张三",), date(2026, 12, 5))
    add(bot, "任务乙", ("李四",), date(2026, 12, 5))
    bot.api.drop_connection_next("sendMessage", count=8)  # every try of both, with retries
    report = await bot.services.dispatcher.run()
    assert report.sent == 0 and report.failed == 2
    assert bot.time.sleeps.count(9.0) == 2  # backed off 1 s, 3 s, 9 s before giving up
    statuses = Counter(bot.ledger.repo.outbox_get(k).status  # type: ignore[union-attr]
                       for k in bot.ledger.repo.outbox_keys())
    assert statuses == {DeliveryStatus.FAILED: 2}
    again = await bot.services.dispatcher.run()
    assert again.sent == 2 and again.failed == 0
    assert len(texts_to(bot, ZHANG)) == 1 and len(texts_to(bot, LI)) == 1


async def test_unbound_owner_is_recorded_and_sent_once_bound(bot: Harness) -> None:
    add(bot, "任务甲", ("王五",), date(2026, 12, 5))
    report = await bot.services.dispatcher.run()
    assert report.unbound == ["王五"] and report.sent == 0
    bot.bind("王五", WANG)
    again = await bot.services.dispatcher.run()
    assert again.sent == 1 and len(texts_to(bot, WANG)) == 1


async def test_plan_command_summarises_coming_workdays(bot: Harness) -> None:
    add(bot, "任务甲", ("张三", "李四"), date(2026, 12, 31))
    add(bot, "任务乙", ("张三",), date(2026, 12, 3))
    text = await bot.answer(ADMIN, "/plan 5")
    assert "12月1日（周二）：共 3 条（日调度 1、旬调度 2）" in text
    assert "12月2日（周三）：共 1 条" in text
    assert "12月5日" not in text  # Saturday
    assert "用法：/plan" in await bot.answer(ADMIN, "/plan 九十")
    assert "用法：/plan" in await bot.answer(ADMIN, "/plan 100")


async def test_jobs_are_installed_once_with_fixed_names(bot: Harness) -> None:
    scheduler = start_scheduler(bot.services, paused=True)  # installs them once
    try:
        install_jobs(scheduler, bot.services)  # a second time: replaced, not doubled
        jobs = [j for j in scheduler.get_jobs() if j.id == DISPATCH_JOB]
        assert len(jobs) == 1
        trigger_time = jobs[0].next_run_time
        assert trigger_time is not None
        assert trigger_time.astimezone(TZ).time() == time(9, 0)
        assert jobs[0].misfire_grace_time >= 3600 and jobs[0].coalesce is True
        assert len([j for j in scheduler.get_jobs() if j.id == CALENDAR_JOB]) == 1
    finally:
        await stop_scheduler(scheduler, wait=False)


async def test_catch_up_only_after_send_time_on_workdays(bot: Harness) -> None:
    bot.clock.set(datetime(2026, 12, 1, 8, 59, tzinfo=TZ))
    assert not catch_up_due(bot.services)
    bot.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    assert catch_up_due(bot.services)
    bot.clock.set(datetime(2026, 12, 5, 11, 0, tzinfo=TZ))  # Saturday
    assert not catch_up_due(bot.services)
    bot.clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=TZ))
    scheduler = start_scheduler(bot.services, paused=True)
    try:
        install_jobs(scheduler, bot.services)
        assert [j.id for j in scheduler.get_jobs() if j.id == CATCH_UP_JOB] == [CATCH_UP_JOB]
    finally:
        await stop_scheduler(scheduler, wait=False)


async def test_catch_up_runs_on_the_scheduler_once_it_is_resumed(bot: Harness) -> None:
    """Installed paused at post_init, the catch-up runs once the bot has started (after the
    inbox's replay), through APScheduler itself, with nothing but the services."""
    add(bot, "任务甲", ("张三",), date(2026, 12, 5))
    bot.clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=TZ))
    scheduler = start_scheduler(bot.services, paused=True)
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        assert texts_to(bot, ZHANG) == []  # paused: nothing yet
        scheduler.resume()
        for _ in range(200):
            if texts_to(bot, ZHANG):
                break
            await asyncio.sleep(0.01)
        assert len(texts_to(bot, ZHANG)) == 1
    finally:
        await stop_scheduler(scheduler)
    assert not scheduler.running


async def test_stopping_the_scheduler_lets_a_running_job_finish() -> None:
    """As python-telegram-bot's JobQueue did at shutdown: a dispatch under way is not cut."""
    scheduler = build_scheduler(TZ)
    scheduler.start()
    started, finished = asyncio.Event(), asyncio.Event()

    async def long_job() -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.set()

    scheduler.add_job(long_job, id="long")
    await asyncio.wait_for(started.wait(), 5)
    await stop_scheduler(scheduler)
    assert finished.is_set() and not scheduler.running


async def test_calendar_warning_reaches_admins_once_a_week(bot: Harness) -> None:
    bot.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    await calendar_warning_job(bot.services)
    await calendar_warning_job(bot.services)
    warnings = [t for t in texts_to(bot, ADMIN) if "2027" in t]
    assert len(warnings) == 1
    # In the admins' language, saying what the bot does meanwhile and whom to ask; no
    # package names or commands (those are for the maintainer: the log and `check`).
    assert "按周末和法定节假日推算工作日" in warnings[0] and "维护本系统" in warnings[0]
    assert not any(word in warnings[0] for word in ("pip", "chinese-calendar", "Official"))
    # Officials are not told (only admins are).
    assert not [t for t in texts_to(bot, ZHANG) if "2027" in t]
    bot.clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=TZ))
    await calendar_warning_job(bot.services)
    assert len([t for t in texts_to(bot, ADMIN) if "2027" in t]) == 2
    # Before 1 November of a covered year: silence.
    bot.clock.set(datetime(2026, 10, 30, 9, 0, tzinfo=TZ))
    before = len(texts_to(bot, ADMIN))
    await calendar_warning_job(bot.services)
    assert len(texts_to(bot, ADMIN)) == before


def test_pacer_spaces_messages_per_chat_and_overall() -> None:
    now = [0.0]
    pacer = Pacer(per_second=10, private_interval=1.0, group_interval=3.0,
                  monotonic=lambda: now[0])
    slots = []
    for chat in (1, 2, 1, -5, -5, 3):
        slots.append(round(pacer.reserve(chat), 3))
    assert slots == [0.0, 0.1, 1.0, 1.1, 4.1, 4.2]


async def test_a_chat_that_is_not_ready_does_not_hold_up_the_others() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=10, private_interval=1.0, monotonic=clock.monotonic,
                  sleep=clock.sleep)
    items = [(1, "a"), (1, "b"), (2, "c"), (3, "d"), (1, "e")]
    seen = []
    async for _chat, name in pacer.paced(items, lambda i: i[0], lambda i: 0):
        seen.append((name, round(clock.now, 2)))
    assert seen == [("a", 0.0), ("c", 0.1), ("d", 0.2), ("b", 1.0), ("e", 2.0)]


async def test_more_urgent_items_go_first_when_ready() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=10, monotonic=clock.monotonic, sleep=clock.sleep)
    items = [(1, 1), (2, 0), (3, 1)]
    order = [chat async for chat, _ in pacer.paced(items, lambda i: i[0], lambda i: i[1])]
    assert order == [2, 1, 3]


def test_interleave_puts_every_chat_first_message_before_any_second() -> None:
    items = [("a", 1), ("b", 1), ("c", 2), ("d", 3), ("e", 2)]
    assert [i[0] for i in interleave(items, lambda i: i[1])] == ["a", "c", "d", "b", "e"]


def test_reminder_kinds_are_the_spec_names() -> None:
    assert [k.value for k in ReminderKind] == ["overdue", "daily", "xun", "monthly", "quarterly"]


# ---- /plan without an argument: the next 10 days --------------------------------------------


async def test_plan_without_argument_covers_the_next_ten_days(bot: Harness) -> None:
    # A 每日 task: one reminder on every workday, so each listed day shows which days are covered.
    add(bot, "安全生产日巡查", ("张三",), None, frequency=Frequency.DAILY)
    default = await bot.answer(ADMIN, "/plan")
    assert "未来 10 天调度计划" in default and "12月1日（周二）起" in default
    # Dec 1–10 = Tue 1 … Thu 10; Dec 5/6 are the weekend.
    for day in ("12月1日（周二）", "12月4日（周五）", "12月7日（周一）", "12月10日（周四）"):
        assert f"{day}：共 1 条（日调度 1）" in default, day
    assert "12月5日" not in default and "12月6日" not in default
    assert "12月11日" not in default  # day 11 is beyond the default window

    short = await bot.answer(ADMIN, "/plan 3")
    assert "未来 3 天调度计划" in short
    assert "12月3日（周四）：共 1 条" in short
    assert "12月4日" not in short and "12月10日" not in short


async def test_plan_default_is_for_admins_only(bot: Harness) -> None:
    add(bot, "安全生产日巡查", ("张三",), None, frequency=Frequency.DAILY)
    text = await bot.answer(ZHANG, "/plan")
    assert "仅限督查室" in text and "调度计划" not in text


# ---- a restart on a later day does not replay the missed days -------------------------------


async def test_restart_on_a_later_day_catches_up_today_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as bot:
        bot.bind("张三", ZHANG)
        bot.bind("李四", LI)
        soon = add(bot, "供暖管网抢修", ("张三",), date(2026, 12, 3))  # daily until the 3rd
        patrol = add(bot, "安全生产日巡查", ("李四",), None, frequency=Frequency.DAILY)
        await bot.services.dispatcher.run()  # Dec 1: the bot was up and sent the day's rhythm
        assert len(texts_to(bot, ZHANG)) == 1 and len(texts_to(bot, LI)) == 1
        keys_before = set(bot.ledger.repo.outbox_keys())
        api = bot.api
    sent_before = len(api.sent)

    # Down on Wed 2, Thu 3 and Fri 4; restarted on Monday 7 December at 10:00 (after send_at).
    async with Harness(data, now=datetime(2026, 12, 7, 10, 0, tzinfo=TZ), api=api) as bot:
        scheduler = start_scheduler(bot.services, paused=True)
        start_up = [j for j in scheduler.get_jobs() if j.id.startswith(
            ("rhythm-catch-up", "calendar-warning-catch-up"))]
        await stop_scheduler(scheduler, wait=False)
        assert CATCH_UP_JOB in [j.id for j in start_up]
        for job in start_up:  # what the scheduler runs at once after start-up
            await job.func(*job.args)

        new_keys = set(bot.ledger.repo.outbox_keys()) - keys_before
        assert new_keys, "the catch-up sent nothing"
        assert {key.split("|")[0] for key in new_keys} == {"2026-12-07"}
        for missed in ("2026-12-02", "2026-12-03", "2026-12-04"):
            assert not any(key.startswith(missed) for key in bot.ledger.repo.outbox_keys())

        after = api.sent[sent_before:]
        zhang = [m["text"] for m in after if m["chat"]["id"] == ZHANG]
        li = [m["text"] for m in after if m["chat"]["id"] == LI]
        # One message per task, as of today: the task is now 2 workdays overdue (Fri 4, Mon 7).
        assert len(zhang) == 1 and soon in zhang[0]
        assert "督办" in zhang[0] and "已逾期 2 个工作日" in zhang[0]
        assert len(li) == 1 and patrol in li[0] and "【日调度】" in li[0]

        # Running the catch-up again the same day sends nothing more.
        catch_up = next(j for j in start_up if j.id == CATCH_UP_JOB)
        count = len(api.sent)
        await catch_up.func(*catch_up.args)
        assert not [m for m in api.sent[count:] if m["chat"]["id"] in (ZHANG, LI)]


async def test_restart_before_send_time_on_a_later_day_sends_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as bot:
        bot.bind("张三", ZHANG)
        add(bot, "供暖管网抢修", ("张三",), date(2026, 12, 3))
        api = bot.api
    async with Harness(data, now=datetime(2026, 12, 7, 8, 30, tzinfo=TZ), api=api) as bot:
        scheduler = start_scheduler(bot.services, paused=True)
        assert scheduler.get_job(CATCH_UP_JOB) is None
        await stop_scheduler(scheduler, wait=False)
        assert texts_to(bot, ZHANG) == []
        assert list(bot.ledger.repo.outbox_keys()) == []


# ---- `python -m bot check` warns about next year's missing 调休 data -------------------------


def _write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'timezone = "Asia/Shanghai"\n[telegram]\ntoken = "{TOKEN}"\n'
                    f'[storage]\ndir = "data"\n[access]\nadmins = [{ADMIN}]\n',
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("today,warned", [
    (datetime(2026, 10, 30, 12, 0, tzinfo=TZ), False),  # before 1 November: silence
    (datetime(2026, 11, 1, 12, 0, tzinfo=TZ), True),
    (datetime(2026, 12, 15, 12, 0, tzinfo=TZ), True),
])
def test_check_prints_next_year_calendar_warning_on_injected_date(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        today: datetime, warned: bool) -> None:
    config = _write_config(tmp_path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    monkeypatch.setattr(cli, "today_in", lambda _config: today.date())
    code = cli.main(["--config", str(config), "check"])
    out = capsys.readouterr().out
    assert code == 0
    assert "配置 / config: OK" in out
    if warned:
        assert "尚缺2027年法定节假日调休数据" in out
        assert "chinese-calendar" in out and "extra_holidays" in out
    else:
        assert "2027" not in out and "chinese-calendar" not in out


# ---- 每人每日一条 in chat: the digest, its buttons, replies naming a task --------------------


async def test_the_digest_in_chat_buttons_and_replies_reach_the_task_named(bot: Harness) -> None:
    """Through the fake Bot API: 📝 opens a task's four choices (✅ there 交账s that task);
    a reply "2 已完成" reports on the second task; a reply naming none asks which."""
    ids = [add(bot, f"任务{i}", ("张三",), date(2026, 12, 8 + i)) for i in range(3)]
    await bot.services.dispatcher.run()
    [digest] = bot.api.messages_to(ZHANG)
    assert "共 3 项" in digest["text"]
    bot.api.press_button(ZHANG, digest, f"ACT {ids[0]} open")
    await bot.pump()
    card = bot.api.messages_to(ZHANG)[-1]
    assert ids[0] in card["text"] and "【日调度】" in card["text"]
    bot.api.press_button(ZHANG, card, f"ACT {ids[0]} done")
    await bot.pump()
    assert bot.ledger.task(ids[0]).status.value == "待核账"
    texts = await bot.say(ZHANG, "2 进度40%", reply_to=digest)
    assert any(ids[1] in m.get("text", "") for m in texts)
    assert bot.ledger.task(ids[1]).progress == 40
    asked = await bot.answer(ZHANG, "进度50%", reply_to=digest)
    assert "哪一项" in asked
    assert bot.ledger.task(ids[2]).progress == 0


async def test_restart_mid_fan_out_of_digests_sends_each_task_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as bot:
        for i in range(4):
            bot.bind(f"官员{i}", 2100 + i)
        ids = [add(bot, f"任务{i}-{k}", (f"官员{i}",), date(2026, 12, 31))
               for i in range(4) for k in range(3)]

        class Crash(BaseException):
            pass

        sent = 0
        real_send = bot.services.dispatcher.sender.send

        async def dying_send(chat_id: int, text: str, buttons: Any = None) -> int:
            nonlocal sent
            if sent == 2:
                raise Crash  # the process dies here
            sent += 1
            return await real_send(chat_id, text, buttons)

        bot.services.dispatcher.sender.send = dying_send  # type: ignore[method-assign]
        with pytest.raises(Crash):
            await bot.services.dispatcher.run()
        first_api = bot.api
    async with Harness(data, now=DEC1.replace(hour=10), api=first_api) as bot:
        report = await bot.services.dispatcher.run()
        assert (report.sent_before, report.sent, report.messages) == (6, 6, 2)
    assert len(first_api.sent) == 4  # one digest per official, never two
    per_task = Counter(tid for m in first_api.sent for tid in ids
                       if f"{tid} " in m["text"])
    assert per_task == dict.fromkeys(ids, 1)
