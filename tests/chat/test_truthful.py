"""Never pretend: long texts reach people in messages Telegram accepts, confirmations name who
was actually reached, groups that moved or dropped the bot are followed; dates carry their
year and unusual ones are confirmed; roles and identity as issue 11 asks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from bot.domain.ledger import NewTask
from bot.domain.model import TaskStatus
from jobs.schedule import summary_job
from tests.chat.conftest import OpenBot, buttons
from tests.conftest import ADMIN, LEADER, NEW_PHONE, OTHER_ADMIN, TZ, ZHANG
from tests.support.harness import Harness

GROUP, SUPERGROUP = -500, -100900
DEC1 = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, admin_group=GROUP, group_title="督查室工作群",
                        admins=frozenset({ADMIN, OTHER_ADMIN})) as harness:
        yield harness


def add(bot: Harness, owners: tuple[str, ...] = ("张三",), leader: str = "陈副县长",
        deadline: date | None = date(2026, 12, 31)) -> str:
    return bot.ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
                                       owners=owners, deadline=deadline, leader=leader),
                               who="admin").id


def texts(bot: Harness, chat: int) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(chat)]


def last(bot: Harness, chat: int) -> dict[str, Any]:
    return bot.api.messages_to(chat)[-1]


async def press(bot: Harness, user: int, message: dict[str, Any], data: str) -> None:
    bot.api.press_button(user, message, data)
    await bot.pump()


def too_long_errors(bot: Harness) -> list[Any]:
    return [e for e in bot.api.errors if "too long" in e[2].get("description", "")]


# ---- one truthful way out -------------------------------------------------------------------


async def test_a_long_submission_reaches_the_admins_and_the_official_is_told_so(
        bot: Harness) -> None:
    tid = add(bot)
    pasted = "已完成。情况说明：\n" + "征地<拆迁>&安置，群众满意。\n" * 300
    assert len(pasted) > 4000
    await bot.answer(ZHANG, pasted[:4090])
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED
    alert = texts(bot, GROUP)[-1]
    assert "【交账】" in alert and f"全文见 /task {tid}" in alert
    assert "2026年12月31日" in alert  # approval requests carry the full date
    assert not too_long_errors(bot)
    confirmation = texts(bot, ZHANG)[-1]  # edited in place once the alert went out
    assert "已交账" in confirmation and "已告知督查室" in confirmation
    assert "正在告知" not in confirmation
    # The whole text is in /task, in parts Telegram accepts, never cut inside an entity.
    detail = await bot.answer(ADMIN, f"/task {tid}")
    assert "lt;" not in detail.replace("&lt;", "") and not too_long_errors(bot)


async def test_an_unreachable_leader_is_named_and_the_office_asked_to_pass_it_on(
        bot: Harness) -> None:
    tid = add(bot, leader="王局长")  # a leader who never bound an account
    await bot.answer(ZHANG, "困难：资金还差一块，需县里协调")
    confirmation = texts(bot, ZHANG)[-1]
    assert "已告知督查室" in confirmation and "王局长暂无法送达" in confirmation
    assert "已请督查室转告" in confirmation
    alert = texts(bot, GROUP)[-1]
    assert "【困难】" in alert and tid in alert and "请督查室转告" in alert


async def test_a_reachable_leader_and_the_office_are_both_named(bot: Harness) -> None:
    add(bot)
    await bot.answer(ZHANG, "困难：有几户一直不肯签字")
    assert "已告知督查室和责任领导陈副县长" in texts(bot, ZHANG)[-1]
    assert "【困难】" in texts(bot, LEADER)[-1]


async def test_admin_group_that_removed_the_bot_alerts_go_to_each_admin(bot: Harness) -> None:
    tid = add(bot)
    bot.api.kick_bot(GROUP)
    await bot.answer(ZHANG, "已完成，已全部交付")
    for admin in (ADMIN, OTHER_ADMIN):
        assert any("【交账】" in t and tid in t for t in texts(bot, admin))
    assert "已告知督查室" in texts(bot, ZHANG)[-1]
    assert bot.services.admin_group_lost_since() is not None
    # The next alert goes straight to the admins, and the daily summary says why.
    await summary_job(bot.services)
    summary = texts(bot, ADMIN)[-1]
    assert "今日小结" in summary and "督查室群" in summary and "无法送达" in summary


async def test_nobody_reachable_means_the_official_is_told_the_truth(bot: Harness) -> None:
    add(bot)
    bot.api.kick_bot(GROUP)
    bot.api.block(ADMIN)
    bot.api.block(OTHER_ADMIN)
    await bot.answer(ZHANG, "已完成")
    confirmation = texts(bot, ZHANG)[-1]
    assert "督查室暂无法送达" in confirmation and "已告知督查室" not in confirmation


async def test_a_group_upgraded_to_a_supergroup_is_followed(bot: Harness) -> None:
    tid = add(bot)
    bot.api.migrate_group(GROUP, SUPERGROUP)
    await bot.pump()  # the service messages announcing the move
    await bot.answer(ZHANG, "进度80%")
    await bot.answer(ZHANG, "已完成")
    assert any("【交账】" in t and tid in t for t in texts(bot, SUPERGROUP))
    assert bot.services.admin_group() == SUPERGROUP
    assert not [c for c in bot.api.calls_of("sendMessage") if c.get("chat_id") == GROUP]


async def test_a_move_learnt_from_a_failed_send_is_kept(bot: Harness) -> None:
    """The bot missed the service message (it was down): the send answers with the new id."""
    tid = add(bot)
    bot.api.migrate_group(GROUP, SUPERGROUP)
    bot._offset = bot.api.updates[-1]["update_id"] + 1  # the service messages are lost
    await bot.answer(ZHANG, "已完成")
    assert any("【交账】" in t and tid in t for t in texts(bot, SUPERGROUP))
    assert "已告知督查室" in texts(bot, ZHANG)[-1]
    assert bot.services.admin_group() == SUPERGROUP


async def test_long_daily_lists_are_delivered_in_parts(bot: Harness) -> None:
    """The 挂牌督办 list and the daily summary grow past 4,096 characters in a big county."""
    owners = ("张三", "王建国", "李卫东", "赵志强", "孙红梅", "周海燕")
    for n in range(120):
        bot.ledger.add_task(NewTask(title=f"重点项目第{n}号：" + "征地拆迁安置" * 5,
                                    lead_unit=f"县自然资源局（不动产登记中心）第{n % 7}组",
                                    owners=owners, deadline=date(2026, 11, 2)), who="admin")
    await bot.services.dispatcher.run()
    listing = [t for t in texts(bot, GROUP) if "挂牌督办" in t]
    assert listing and not too_long_errors(bot)
    assert sum(len(t) for t in texts(bot, GROUP)) > 4096


# ---- dates --------------------------------------------------------------------------------


async def test_a_ten_year_extension_is_confirmed_and_shown_with_its_year(bot: Harness) -> None:
    tid = add(bot)
    question = await bot.answer(ZHANG, "申请延期至2036年12月31日，原因：征地未完成")
    assert "2036年12月31日" in question and "确认" in question
    assert bot.ledger.pending_extension(tid) is None  # nothing filed before the 确认
    await press(bot, ZHANG, last(bot, ZHANG), f"DATE ask ok {tid}")
    request = texts(bot, GROUP)[-1]
    assert "【延期申请】" in request
    assert "2026年12月31日" in request and "2036年12月31日" in request
    assert bot.ledger.pending_extension(tid).new_deadline == date(2036, 12, 31)  # type: ignore[union-attr]


async def test_retype_files_nothing(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "申请延期至2036年12月31日")
    await press(bot, ZHANG, last(bot, ZHANG), f"DATE ask no {tid}")
    assert bot.ledger.pending_extension(tid) is None
    assert "重新发送" in texts(bot, ZHANG)[-1]


async def test_add_with_a_past_deadline_asks_first(bot: Harness) -> None:
    question = await bot.answer(ADMIN, "/add 老旧小区改造 | 县住建局 | 李四 | 2025-01-01")
    assert "2025年1月1日" in question and "已过去" in question
    assert not list(bot.ledger.repo.tasks())
    await press(bot, ADMIN, last(bot, ADMIN), "DATE add ok")
    (task,) = bot.ledger.repo.tasks()
    assert task.deadline == date(2025, 1, 1) and task.title == "老旧小区改造"


async def test_someone_else_cannot_confirm_a_date(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 老旧小区改造 | 县住建局 | 李四 | 2030-01-01")
    question = last(bot, ADMIN)
    bot.api.press_button(OTHER_ADMIN, question, "DATE add ok", chat_id=ADMIN, strict=False)
    await bot.pump()
    assert not list(bot.ledger.repo.tasks())


async def test_add_rejects_impossible_years(bot: Harness) -> None:
    for year in ("0001", "9999"):
        text = await bot.answer(ADMIN, f"/add 任务 | 县住建局 | 李四 | {year}-01-01")
        assert "年份" in text
    assert not list(bot.ledger.repo.tasks())


async def test_guided_add_confirms_a_far_deadline_by_word(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add")
    await bot.answer(ADMIN, "职业中学新校区建设")
    await bot.answer(ADMIN, "县教育局")
    await bot.answer(ADMIN, "李四")
    assert "确认" in await bot.answer(ADMIN, "2035-06-30")
    assert "T0001" in await bot.answer(ADMIN, "确认")
    assert bot.ledger.task("T0001").deadline == date(2035, 6, 30)


async def test_dates_of_another_year_show_the_year(bot: Harness) -> None:
    tid = add(bot, deadline=date(2027, 1, 15))
    assert "2027年1月15日" in await bot.answer(ADMIN, f"/task {tid}")
    tid2 = add(bot, deadline=date(2026, 12, 20))
    detail = await bot.answer(ADMIN, f"/task {tid2}")
    assert "12月20日" in detail and "2026年12月20日" not in detail


# ---- roles and identity ---------------------------------------------------------------------


async def test_a_leader_covering_an_official_on_leave_can_report_and_press(bot: Harness) -> None:
    tid = add(bot)
    bot.ledger.set_leave("张三", date(2026, 11, 30), date(2026, 12, 10))
    await bot.services.dispatcher.run()
    reminder = last(bot, LEADER)
    assert tid in reminder["text"]
    await press(bot, LEADER, reminder, f"ACT {tid} progress")
    assert "此按钮不是给您的" not in str(bot.api.answered_callbacks[-1])
    prompt = last(bot, LEADER)
    assert "已记录" in await bot.answer(LEADER, "60%，张三休假期间由我跟进", reply_to=prompt)
    assert bot.ledger.task(tid).progress == 60
    # A plain message from the covering leader applies to the task they cover.
    assert "已记录" in await bot.answer(LEADER, "进度70%")


async def test_a_leaders_remark_on_an_alert_is_no_submission(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "困难：资金还差一块")
    alert = last(bot, LEADER)
    await bot.answer(LEADER, "已解决", reply_to=alert)
    assert bot.ledger.task(tid).status is TaskStatus.OPEN


async def test_acknowledgements_are_not_reports(bot: Harness) -> None:
    tid = add(bot)
    await bot.services.dispatcher.run()
    reminder = last(bot, ZHANG)
    for ack in ("收到", "好的", "👍"):
        assert "如需报送" in await bot.answer(ZHANG, ack, reply_to=reminder)
    assert "如需报送" in await bot.answer(ZHANG, "收到！")
    assert not [r for r in bot.ledger.repo.reports() if r.task_id == tid]
    assert bot.ledger.task(tid).last_report_at is None
    bot.api.send_update({"message": {
        "message_id": 9001, "date": int(DEC1.timestamp()),
        "chat": {"id": ZHANG, "type": "private", "first_name": "张三"},
        "from": {"id": ZHANG, "is_bot": False, "first_name": "张三"},
        "sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                    "width": 512, "height": 512, "is_animated": False,
                    "is_video": False}}})
    await bot.pump()
    assert "如需报送" in texts(bot, ZHANG)[-1]


async def test_self_verification_is_refused_by_account_not_by_name(bot: Harness) -> None:
    tid = add(bot, owners=("李四",))
    await bot.answer(ADMIN, f"/task {tid}")
    await bot.answer(ADMIN, "已完成", reply_to=last(bot, ADMIN))  # an admin reports for them
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED
    refusal = await bot.answer(ADMIN, f"/verify {tid}")
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED, refusal
    await bot.answer(OTHER_ADMIN, f"/verify {tid}")
    assert bot.ledger.task(tid).status is TaskStatus.CLOSED


async def test_rebinding_needs_an_admin_and_tells_the_previous_account(bot: Harness) -> None:
    invite = bot.ledger.create_invite("张三", "", admin_id=ADMIN)
    bot.api.add_user(NEW_PHONE, "张三新号")
    bot.api.start_chat(NEW_PHONE)
    answer = await bot.answer(NEW_PHONE, f"/start {invite.code}")
    assert "督查室确认" in answer
    assert bot.ledger.person_for_user(ZHANG).name == "张三"  # type: ignore[union-attr]
    question = last(bot, GROUP)
    assert "换绑" in question["text"]
    (ok, _no) = buttons(question)
    await press(bot, ADMIN, question, ok)
    assert bot.ledger.person_for_user(NEW_PHONE).name == "张三"  # type: ignore[union-attr]
    assert bot.ledger.person_for_user(ZHANG) is None
    assert "换绑" in texts(bot, ZHANG)[-1]  # the old account is told
    assert "已确认换绑" in texts(bot, NEW_PHONE)[-1]


async def test_a_zero_width_name_is_the_same_person(bot: Harness) -> None:
    add(bot, owners=("张\u200b三",))
    names = sorted(p.name for p in bot.ledger.repo.people())
    assert names.count("张三") == 1 and all("\u200b" not in n for n in names)
