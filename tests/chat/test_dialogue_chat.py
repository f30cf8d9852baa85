"""The guided /add and /import's waiting through Telegram, with their state in the store
(issue 16 item 2; bot/tg/dialogue.py, bot/app/dialogue.py): a restarted bot goes on with the
next answer, a second Application over the same store (a second worker) takes it as well, the
timeout runs on the injected clock — told by the timer, or at the next message — and an
expired dialogue is never resumed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.dialogue import ADD_TIMEOUT, add_key
from bot.bootstrap import bootstrap
from bot.fakeapi import FakeRequest
from bot.tg.app import build_application, build_intake
from bot.tg.intake import Intake
from bot.tg.ratelimit import ChatRateLimiter
from tests.chat.conftest import OpenBot
from tests.chat.test_ledger_chat import GOOD, workbook
from tests.conftest import ADMIN, DEC1
from tests.support.harness import Harness

KEY = add_key(ADMIN, ADMIN)  # the admin's dialogue in their private chat


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, bound=()) as harness:
        yield harness


def texts(bot: Harness) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(ADMIN)]


async def test_the_guided_add_goes_on_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as bot:
        assert "第 1/4 步" in await bot.answer(ADMIN, "/add")
        assert "第 2/4 步" in await bot.answer(ADMIN, "职业中学新校区建设")
        api = bot.api
    async with Harness(data, now=DEC1, api=api) as bot:  # a new process, the same Telegram
        assert "第 3/4 步" in await bot.answer(ADMIN, "县教育局")
        assert "第 4/4 步" in await bot.answer(ADMIN, "周五、钱六")
        assert "T0001" in await bot.answer(ADMIN, "12月31日")
        task = bot.ledger.task("T0001")
        assert (task.title, task.lead_unit, task.owners) == ("职业中学新校区建设", "县教育局",
                                                             ("周五", "钱六"))


@asynccontextmanager
async def second_worker(bot: Harness) -> AsyncIterator[Intake]:
    """Another Application and intake on services of their own over the same store: a second
    worker (the store's documents are shared; TinyDB allows one writer, so it is the same
    store object here — PostgreSQL's workers are tests/store/test_postgres_dialogues.py)."""
    services = bootstrap(bot.config, store=bot.store, clock=bot.clock)
    services.close = None  # the first worker's store: it closes it
    app = build_application(services, request=FakeRequest(bot.api),
                            rate_limiter=ChatRateLimiter(monotonic=bot.time.monotonic,
                                                         sleep=bot.time.sleep))
    intake = build_intake(app, services)
    await app.initialize()
    try:
        yield intake
    finally:
        await intake.close()
        await app.shutdown()


async def test_the_next_answer_may_reach_another_worker(bot: Harness) -> None:
    first = bot.intake
    async with second_worker(bot) as second:
        for intake, text, expect in [(first, "/add", "第 1/4 步"),
                                     (second, "职业中学新校区建设", "第 2/4 步"),
                                     (first, "县教育局", "第 3/4 步"),
                                     (second, "周五、钱六", "第 4/4 步"),
                                     (first, "12月31日", "T0001")]:
            bot.intake = intake  # the load balancer sends this update there
            assert expect in await bot.answer(ADMIN, text)
        bot.intake = first
    assert bot.ledger.task("T0001").owners == ("周五", "钱六")


async def test_an_expired_dialogue_is_told_at_the_next_message_and_not_resumed(
        bot: Harness) -> None:
    await bot.answer(ADMIN, "/add")
    bot.clock.advance(ADD_TIMEOUT - timedelta(seconds=1))
    assert "第 2/4 步" in await bot.answer(ADMIN, "职业中学新校区建设")  # renewed
    bot.clock.advance(ADD_TIMEOUT)
    told = await bot.answer(ADMIN, "县教育局")
    assert told == bot.services.messages.t("dialog_expired")
    assert "第 3/4 步" not in await bot.answer(ADMIN, "县教育局")  # over: never resumed
    assert list(bot.ledger.repo.tasks()) == []
    assert "第 1/4 步" in await bot.answer(ADMIN, "/add")  # a new one starts afresh


async def test_a_command_after_the_timeout_is_told_and_runs(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 长期")
    await bot.answer(ADMIN, "/add")
    bot.clock.advance(ADD_TIMEOUT)
    answer = await bot.answer(ADMIN, "/tasks")
    assert bot.services.messages.t("dialog_expired") in answer and "T0001" in answer


async def test_the_timer_tells_the_timeout_when_it_is_due(bot: Harness) -> None:
    jobs = bot.app.job_queue
    assert jobs is not None
    await bot.answer(ADMIN, "/add")
    await bot.answer(ADMIN, "职业中学新校区建设")
    [job] = jobs.get_jobs_by_name(KEY)  # one timer a dialogue, set anew at each answer
    await job.run(bot.app)  # fired early (answered on another worker meanwhile): nothing
    assert texts(bot)[-1].startswith("第 2/4 步")
    bot.clock.advance(ADD_TIMEOUT)
    await job.run(bot.app)
    assert texts(bot)[-1] == bot.services.messages.t("dialog_expired")
    await job.run(bot.app)  # told once
    assert texts(bot).count(bot.services.messages.t("dialog_expired")) == 1
    assert "第 3/4 步" not in await bot.answer(ADMIN, "县教育局")
    assert bot.services.messages.t("dialog_expired") not in texts(bot)[-1]


async def test_a_finished_or_cancelled_dialogue_has_no_timer(bot: Harness) -> None:
    jobs = bot.app.job_queue
    assert jobs is not None
    await bot.answer(ADMIN, "/add")
    assert "已取消" in await bot.answer(ADMIN, "取消")
    assert jobs.get_jobs_by_name(KEY) == ()


async def test_during_the_dialogue_commands_still_run_and_it_waits_on(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 长期")
    await bot.answer(ADMIN, "/add")
    assert "T0001" in await bot.answer(ADMIN, "/tasks")
    assert "第 2/4 步" in await bot.answer(ADMIN, "任务乙")
    assert "第 1/4 步" in await bot.answer(ADMIN, "/add")  # /add starts over
    assert "第 2/4 步" in await bot.answer(ADMIN, "任务丙")


async def test_import_then_the_file_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as bot:
        assert "请发送" in await bot.answer(ADMIN, "/import")
        api = bot.api
    async with Harness(data, now=DEC1, api=api) as bot:
        before = len(bot.api.sent)
        bot.api.send_document(ADMIN, "台账.xlsx", workbook(GOOD), caption=None)
        await bot.pump()
        assert "新增 3 项" in bot.api.sent[before]["text"]


class _Crash(Exception):
    """The process dies where the conversation would have said something."""


class _Dying:
    async def say(self, reply: object) -> None:
        raise _Crash


async def test_a_step_saved_just_before_a_crash_is_asked_after_the_restart(
        tmp_path: Path) -> None:
    """The title was taken and its step saved (with the update's applied mark), then the
    process died before the next question went out: at the next start that question is asked
    — the title is not taken again — and the dialogue goes on."""
    from telegram import Update

    from bot.adapters.inbox import APPLIED, INBOX, applying, receipt_key
    from bot.app import dialogue
    from bot.tg.conversation import caller_of, said_of

    data = tmp_path / "data"
    async with Harness(data, now=DEC1) as first:
        assert "第 1/4 步" in await first.answer(ADMIN, "/add")
        api = first.api
        api.send_text(ADMIN, "职业中学新校区建设")
        (raw,) = api.pending_updates
        key = receipt_key(raw)
        first.intake.inbox.receive([(key, raw)])
        api.call("getUpdates", {"offset": raw["update_id"] + 1, "timeout": 0})
        update = Update.de_json(raw, first.app.bot)
        message = update.effective_message
        assert message is not None and message.from_user is not None
        token = applying.set(first.intake.inbox.begin(key))
        try:
            with pytest.raises(_Crash):
                await dialogue.take(first.services, caller_of(message.from_user),
                                    said_of(message, first.app.bot.id), _Dying())  # type: ignore[arg-type]
        finally:
            applying.reset(token)
        assert first.store.get(INBOX, key)["state"] == APPLIED  # type: ignore[index]
        asked = len(texts(first))
    async with Harness(data, now=DEC1, api=api) as second:
        assert await second.intake.replay() == 1
        await second.intake.idle()
        assert len(texts(second)) == asked + 1 and "第 2/4 步" in texts(second)[-1]
        assert "第 3/4 步" in await second.answer(ADMIN, "县教育局")
        assert "第 4/4 步" in await second.answer(ADMIN, "周五")
        assert "T0001" in await second.answer(ADMIN, "12月31日")
        assert second.ledger.task("T0001").title == "职业中学新校区建设"
