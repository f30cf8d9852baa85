"""Admin views (/plan default, /people), no replay of missed days, and the `check` warning."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.domain.ledger import NewTask
from bot.domain.model import Frequency
from jobs.schedule import CATCH_UP_JOB, start_scheduler, stop_scheduler
from tests.support.harness import ADMIN, TOKEN, TZ, Harness

ZHANG, LI, WANG = 2001, 2002, 2003
DEC1 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # Tue: first workday of December
ROOT = Path(__file__).resolve().parent.parent


def add(bot: Harness, title: str, owners: tuple[str, ...], deadline: date | None,
        frequency: Frequency | None = None, unit: str = "县发改局") -> str:
    return bot.ledger.add_task(NewTask(title=title, lead_unit=unit, owners=owners,
                                       deadline=deadline, frequency=frequency),
                               who="admin").id


def texts_to(bot: Harness, chat: int) -> list[str]:
    return [m["text"] for m in bot.api.messages_to(chat)]


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness(tmp_path / "data", now=DEC1) as harness:
        harness.bind("张三", ZHANG, "县发改局")
        harness.bind("李四", LI, "县教育局")
        yield harness


# ---- 1. /plan without an argument: the next 10 days ------------------------------------------


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


# ---- 2. /people: names, units and binding state ----------------------------------------------


async def test_people_lists_names_units_and_binding_state(bot: Harness) -> None:
    invite = await bot.answer(ADMIN, "/invite 王五 县财政局")
    code = re.search(r"start=([\w-]+)", invite)
    assert code, invite
    add(bot, "农村公路养护", ("赵六",), date(2026, 12, 31), unit="县交通局")  # never invited

    text = await bot.answer(ADMIN, "/people")
    assert "人员（4 人，已绑定 2 人）" in text
    assert "张三（县发改局）✅ 已绑定" in text
    assert "李四（县教育局）✅ 已绑定" in text
    assert "王五（县财政局）⏳ 未绑定" in text
    assert "赵六（县交通局）⏳ 未绑定" in text

    # Once 王五 opens the invite link, /people shows them bound.
    bot.api.add_user(WANG, "王五")
    assert "绑定成功" in await bot.answer(WANG, f"/start {code.group(1)}")
    text = await bot.answer(ADMIN, "/people")
    assert "人员（4 人，已绑定 3 人）" in text
    assert "王五（县财政局）✅ 已绑定" in text
    assert "赵六（县交通局）⏳ 未绑定" in text


async def test_people_is_refused_to_officials(bot: Harness) -> None:
    text = await bot.answer(ZHANG, "/people")
    assert "仅限督查室" in text and "李四" not in text


# ---- 3. a restart on a later day does not replay the missed days -----------------------------


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


# ---- 4. `python -m bot check` warns about next year's missing 调休 data ----------------------


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
