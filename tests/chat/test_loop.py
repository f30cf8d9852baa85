"""The closed loop in chat: reminder → reply → 交账 → 核账 → 销账, 退回, 延期, 困难, 撤回."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.ledger import NewTask
from bot.domain.model import TaskStatus
from tests.chat.conftest import OpenBot, buttons
from tests.conftest import ADMIN, DEC1, LEADER, LI, OTHER_ADMIN, ZHANG
from tests.support.harness import Harness


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, admins=frozenset({ADMIN, OTHER_ADMIN})) as harness:
        yield harness


def add(bot: Harness, title: str = "世忻铁路复线保德段征地", owners: tuple[str, ...] = ("张三",),
        deadline: date | None = date(2026, 12, 31)) -> str:
    return bot.ledger.add_task(NewTask(title=title, lead_unit="县自然资源局", owners=owners,
                                       deadline=deadline, leader="陈副县长"), who="admin").id


async def reminder_for(bot: Harness, chat: int) -> dict[str, Any]:
    await bot.services.dispatcher.run()
    return bot.api.messages_to(chat)[-1]


def last_to(bot: Harness, chat: int) -> dict[str, Any]:
    return bot.api.messages_to(chat)[-1]


async def press(bot: Harness, user: int, message: dict[str, Any], data: str,
                strict: bool = True) -> None:
    bot.api.press_button(user, message, data, strict=strict)
    await bot.pump()


async def test_reminder_reply_progress_is_recorded_with_undo(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    assert buttons(reminder) == [f"ACT {tid} done", f"ACT {tid} progress",
                                 f"ACT {tid} difficulty", f"ACT {tid} extend"]
    text = await bot.answer(ZHANG, "进度60%，完成主体征地", reply_to=reminder)
    assert f"已记录 {tid}：进度 60%" in text and "撤回" in text
    task = bot.ledger.task(tid)
    assert (task.progress, task.status, task.latest_note) == (60, TaskStatus.OPEN,
                                                             "进度60%，完成主体征地")
    assert task.last_report_at == DEC1


async def test_completion_goes_to_admins_and_verify_closes(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    assert "已交账" in await bot.answer(ZHANG, "已全部完成，材料已报送", reply_to=reminder)
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED
    submission = last_to(bot, ADMIN)
    assert "【交账】" in submission["text"] and tid in submission["text"]
    verify, reject = buttons(submission)
    report_id = bot.ledger.task(tid).submission
    assert (verify, reject) == (f"VERIFY {tid} {report_id}", f"REJECT {tid} {report_id}")
    await press(bot, ADMIN, submission, verify)
    assert bot.ledger.task(tid).status is TaskStatus.CLOSED
    assert "已核账" in last_to(bot, ADMIN)["text"] or "已核账" in bot.api.sent[-2]["text"]
    assert "已销账" in last_to(bot, ZHANG)["text"]
    # A second press on the old message changes nothing and says why.
    await press(bot, ADMIN, submission, verify, strict=False)
    assert "已核账" in bot.api.answered_callbacks[-1].get("text", "")
    assert bot.ledger.task(tid).status is TaskStatus.CLOSED


async def test_reject_with_reason_returns_the_task_to_its_owner(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "进度40%")
    await bot.answer(ZHANG, "已完成")
    submission = last_to(bot, ADMIN)
    await press(bot, ADMIN, submission, buttons(submission)[1])
    prompt = last_to(bot, ADMIN)
    assert prompt["text"].startswith("✍️") and tid in prompt["text"]
    assert "已退回" in await bot.answer(ADMIN, "佐证材料不全", reply_to=prompt)
    task = bot.ledger.task(tid)
    assert task.status is TaskStatus.OPEN and task.progress == 40
    notice = last_to(bot, ZHANG)
    assert "被退回" in notice["text"] and "佐证材料不全" in notice["text"]
    assert f"ACT {tid} done" in buttons(notice)
    history = bot.ledger.repo.history(tid)
    assert history[-1].note == "佐证材料不全" and history[-1].to_status is TaskStatus.OPEN


async def test_reject_and_verify_commands(bot: Harness) -> None:
    tid = add(bot)
    assert "用法：/reject" in await bot.answer(ADMIN, f"/reject {tid}")
    await bot.answer(ZHANG, "办结")
    assert "已退回" in await bot.answer(ADMIN, f"/reject {tid} 需补充验收报告")
    await bot.answer(ZHANG, "已完成")
    assert "已核账销账" in await bot.answer(ADMIN, f"/verify {tid}")
    assert "用法：/reopen" in await bot.answer(ADMIN, f"/reopen {tid}")
    assert "已重新打开" in await bot.answer(ADMIN, f"/reopen {tid} 复查发现问题")
    assert bot.ledger.task(tid).status is TaskStatus.OPEN


async def test_admin_never_verifies_their_own_submission(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ADMIN, f"/task {tid}")
    reminder_like = {"chat": {"id": ADMIN}, "message_id": bot.api.messages_to(ADMIN)[-1][
        "message_id"]}
    assert "已交账" in await bot.answer(ADMIN, "已完成", reply_to=reminder_like)
    assert "其他管理员" in await bot.answer(ADMIN, f"/verify {tid}")
    assert "已核账销账" in await bot.answer(OTHER_ADMIN, f"/verify {tid}")


async def test_plain_message_with_one_open_task_applies_to_it(bot: Harness) -> None:
    tid = add(bot)
    assert f"已记录 {tid} 最新进展" in await bot.answer(ZHANG, "已召开征地协调会")
    assert bot.ledger.task(tid).progress == 0


async def test_plain_message_with_several_tasks_asks_which(bot: Harness) -> None:
    first = add(bot)
    second = add(bot, title="中医院迁建项目一期工程")
    sent = await bot.say(ZHANG, "完成了六成")
    question = sent[-1]
    assert "哪一项" in question["text"]
    assert buttons(question) == [f"PICK {first}", f"PICK {second}"]
    await press(bot, ZHANG, question, f"PICK {second}")
    assert bot.ledger.task(second).progress == 60 and bot.ledger.task(first).progress == 0
    # Pressing again (or another choice) records nothing twice.
    await press(bot, ZHANG, question, f"PICK {first}", strict=False)
    assert bot.ledger.task(first).progress == 0
    # Someone else cannot pick for Zhang.
    await press(bot, LI, question, f"PICK {first}", strict=False)
    assert bot.ledger.task(first).progress == 0


async def test_undo_within_ten_minutes_only(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "进度30%")
    confirmation = last_to(bot, ZHANG)
    [undo] = buttons(confirmation)
    await bot.answer(ZHANG, "已完成")
    done_confirmation = last_to(bot, ZHANG)
    # The older report cannot be taken back: a newer one followed.
    await press(bot, ZHANG, confirmation, undo)
    assert "不能撤回" in bot.api.answered_callbacks[-1]["text"]
    await press(bot, ZHANG, done_confirmation, buttons(done_confirmation)[0])
    task = bot.ledger.task(tid)
    assert task.status is TaskStatus.OPEN and task.progress == 30
    assert "已撤回" in last_to(bot, ZHANG)["text"]
    await bot.answer(ZHANG, "进度50%")
    late = last_to(bot, ZHANG)
    bot.clock.advance(timedelta(minutes=11))
    await press(bot, ZHANG, late, buttons(late)[0])
    assert "超过 10 分钟" in bot.api.answered_callbacks[-1]["text"]
    assert bot.ledger.task(tid).progress == 50


async def test_photo_is_kept_as_evidence(bot: Harness) -> None:
    tid = add(bot)
    before = len(bot.api.sent)
    bot.api.send_photo(ZHANG, b"\x89PNG fake", caption="进度70%，现场照片")
    await bot.pump()
    assert "进度 70%" in bot.api.sent[before]["text"] and "佐证材料 1 个" in bot.api.sent[before][
        "text"]
    bot.api.send_document(ZHANG, "验收报告.pdf", b"%PDF-1.4")
    await bot.pump()
    assert "佐证材料（1 个文件）" in last_to(bot, ZHANG)["text"]
    reports = [bot.ledger.repo.get_report(f"R{i:06d}") for i in (1, 2)]
    assert reports[0] is not None and reports[0].evidence[0].kind == "photo"
    assert reports[1] is not None and reports[1].evidence[0].name == "验收报告.pdf"
    assert bot.ledger.task(tid).progress == 70


async def test_difficulty_reaches_admins_and_leader_until_resolved(bot: Harness) -> None:
    tid = add(bot)
    text = await bot.answer(ZHANG, "困难：征地补偿资金缺口200万，需县里协调")
    assert "已告知督查室和责任领导" in text
    assert "【困难】" in last_to(bot, ADMIN)["text"] and "资金缺口" in last_to(bot, ADMIN)["text"]
    assert "【困难】" in last_to(bot, LEADER)["text"]
    assert "🟡" in await bot.answer(ADMIN, f"/task {tid}")
    assert "已解决" in await bot.answer(ADMIN, f"/resolve {tid} 资金已落实")
    assert "资金已落实" in last_to(bot, ZHANG)["text"]
    assert "没有未解决的困难" in await bot.answer(ADMIN, f"/resolve {tid}")


async def test_difficulty_button_asks_then_records(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    await press(bot, ZHANG, reminder, f"ACT {tid} difficulty")
    prompt = last_to(bot, ZHANG)
    assert prompt["text"].startswith("⚠️") and bot.api.sent_markup(prompt) == {
        "force_reply": True, "selective": True}
    await bot.answer(ZHANG, "拆迁户不同意补偿标准", reply_to=prompt)
    assert bot.ledger.open_difficulties_of(tid)[0].text == "拆迁户不同意补偿标准"


async def test_extension_request_approved_by_button_keeps_the_original(bot: Harness) -> None:
    tid = add(bot)
    text = await bot.answer(ZHANG, "申请延期至2027年1月15日，原因：冬季停工")
    assert "延期申请" in text and "1月15日" in text
    request = last_to(bot, ADMIN)
    assert "【延期申请】" in request["text"] and "冬季停工" in request["text"]
    assert bot.ledger.task(tid).deadline == date(2026, 12, 31)
    approve, refuse = buttons(request)
    await press(bot, ADMIN, request, approve)
    assert bot.ledger.task(tid).deadline == date(2027, 1, 15)
    assert "延期已批准" in last_to(bot, ZHANG)["text"]
    assert any("2026-12-31" in h.note for h in bot.ledger.repo.history(tid))
    await press(bot, ADMIN, request, refuse, strict=False)  # a second, late press
    assert "已处理" in bot.api.answered_callbacks[-1]["text"]


async def test_an_old_button_never_decides_a_newer_request(tmp_path: Path) -> None:
    """Each admin has a copy of a request; one decides it, the official asks again; the other
    admin's old buttons must not approve or verify the new one."""
    other = OTHER_ADMIN
    async with Harness(tmp_path / "two", now=DEC1, admins=frozenset({ADMIN, other})) as bot:
        bot.bind("张三", ZHANG)
        tid = add(bot)
        await bot.answer(ZHANG, "申请延期至2027年1月15日，原因：冬季停工")
        first_a, first_b = last_to(bot, ADMIN), last_to(bot, other)
        await press(bot, ADMIN, first_a, buttons(first_a)[1])  # A refuses
        await bot.answer(ZHANG, "申请延期至2027年6月30日，原因：资金未到位")
        await press(bot, other, first_b, buttons(first_b)[0], strict=False)  # B's old 批准
        assert "已处理" in bot.api.answered_callbacks[-1]["text"]
        assert bot.ledger.task(tid).deadline == date(2026, 12, 31)
        assert bot.ledger.pending_extension(tid).new_deadline == date(2027, 6, 30)  # type: ignore[union-attr]
        # The same for 核账: a 交账, 退回 by command, a new 交账, the old 核账通过 button.
        await bot.answer(ZHANG, "已完成")
        old = last_to(bot, other)
        await bot.answer(ADMIN, f"/reject {tid} 缺验收报告")
        await bot.answer(ZHANG, "已全部完成，验收报告已补充")
        await press(bot, other, old, buttons(old)[0], strict=False)
        assert "新的交账" in bot.api.answered_callbacks[-1]["text"]
        assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED
        await press(bot, other, last_to(bot, other), buttons(last_to(bot, other))[0])
        assert bot.ledger.task(tid).status is TaskStatus.CLOSED


async def test_undo_never_reverses_an_admins_decision(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "进度60%")
    confirmation = last_to(bot, ZHANG)
    assert "已撤销" in await bot.answer(ADMIN, f"/cancel {tid} 任务调整")
    await press(bot, ZHANG, confirmation, buttons(confirmation)[0], strict=False)
    assert bot.api.answered_callbacks[-1].get("text")
    assert bot.ledger.task(tid).status is TaskStatus.CANCELLED


async def test_extension_button_reads_a_bare_date(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    await press(bot, ZHANG, reminder, f"ACT {tid} extend")
    prompt = last_to(bot, ZHANG)
    await bot.answer(ZHANG, "1月20日，原因：设备到货推迟", reply_to=prompt)
    assert bot.ledger.pending_extension(tid).new_deadline == date(2027, 1, 20)  # type: ignore[union-attr]
    assert "写明延期到的日期" in await bot.answer(ZHANG, "尽快", reply_to=prompt)
    assert "已将" in await bot.answer(ADMIN, f"/extend {tid} 2027-02-01")
    assert bot.ledger.task(tid).deadline == date(2027, 2, 1)


async def test_refused_extension_is_told(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "延期到1月31日")
    request = last_to(bot, ADMIN)
    await press(bot, ADMIN, request, buttons(request)[1])
    assert "未获批准" in last_to(bot, ZHANG)["text"]
    assert bot.ledger.task(tid).deadline == date(2026, 12, 31)


async def test_done_button_submits_and_second_press_is_refused(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    await press(bot, ZHANG, reminder, f"ACT {tid} done")
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED
    await press(bot, ZHANG, reminder, f"ACT {tid} done")
    assert "无需重复交账" in bot.api.answered_callbacks[-1]["text"]


async def test_only_owners_may_report(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    # Li forwards nothing; he answers a message of Zhang's task that he somehow has.
    await press(bot, LI, reminder, f"ACT {tid} done", strict=False)
    assert "不是给您的" in bot.api.answered_callbacks[-1]["text"]
    await press(bot, ZHANG, reminder, f"VERIFY {tid} R000001", strict=False)
    assert "不是给您的" in bot.api.answered_callbacks[-1]["text"]
    assert bot.ledger.task(tid).status is TaskStatus.OPEN


async def test_forged_callback_data_changes_nothing(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    for data in ("ACT T9999 done", "ACT T0001 explode", "VERIFY", "x" * 80, "UNDO R999999",
                 f"ACT {tid};drop done"):
        await press(bot, ZHANG, reminder, data, strict=False)
        assert bot.api.answered_callbacks[-1].get("text"), data
    assert bot.ledger.task(tid).status is TaskStatus.OPEN


async def test_replies_in_a_group_work_for_owners(tmp_path: Path) -> None:
    async with Harness(tmp_path / "g", now=DEC1, admin_group=-100500) as bot:
        bot.api.add_group(-100500, "督查室工作群")
        bot.bind("张三", ZHANG)
        tid = add(bot)
        await bot.answer(ZHANG, "已完成")
        submission = last_to(bot, -100500)
        assert "【交账】" in submission["text"]
        await press(bot, ADMIN, submission, buttons(submission)[0])
        assert bot.ledger.task(tid).status is TaskStatus.CLOSED


async def test_reject_button_in_the_admin_group_asks_the_admin_who_pressed(
        tmp_path: Path) -> None:
    async with Harness(tmp_path / "g2", now=DEC1, admin_group=-100500) as bot:
        bot.api.add_group(-100500, "督查室工作群")
        bot.bind("张三", ZHANG)
        tid = add(bot)
        await bot.answer(ZHANG, "已完成")
        submission = last_to(bot, -100500)
        await press(bot, ADMIN, submission, buttons(submission)[1])
        prompt = last_to(bot, -100500)
        assert bot.api.sent_markup(prompt) == {"force_reply": True, "selective": True}
        # Mentioned, so Telegram opens the reply box for this admin.
        assert any(e["type"] == "text_mention" and e["user"]["id"] == ADMIN
                   for e in prompt.get("entities", []))
        await bot.answer(ADMIN, "请补充验收报告", chat_id=-100500, reply_to=prompt)
        assert bot.ledger.task(tid).status is TaskStatus.OPEN
        assert "请补充验收报告" in last_to(bot, ZHANG)["text"]


async def test_closed_task_takes_no_reports(bot: Harness) -> None:
    tid = add(bot)
    reminder = await reminder_for(bot, ZHANG)
    await bot.answer(ZHANG, "已完成", reply_to=reminder)
    await bot.answer(OTHER_ADMIN, f"/verify {tid}")
    assert "不再接收报送" in await bot.answer(ZHANG, "进度90%", reply_to=reminder)


# ---- answering inside the work group, to the task's message ----------------------------------

WORK_GROUP = -100600


def texts_since(bot: Harness, before: int, chat: int) -> str:
    return "\n".join(m.get("text", "") for m in bot.api.sent[before:] if m["chat"]["id"] == chat)


@pytest.fixture
async def group_bot(open_bot: OpenBot) -> AsyncIterator[tuple[Harness, str, dict[str, Any]]]:
    """张三's task posted by the admin in the work group: (bot, task id, the bot's message)."""
    async with open_bot(now=DEC1, bound=(ZHANG, LI)) as bot:
        bot.api.add_group(WORK_GROUP, "重点工作推进群")
        tid = bot.ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
                                          owners=("张三",), deadline=date(2026, 12, 31)),
                                  who="admin").id
        assert tid in await bot.answer(ADMIN, f"/task {tid}", chat_id=WORK_GROUP)
        yield bot, tid, bot.api.messages_to(WORK_GROUP)[-1]


async def test_owner_replies_in_a_group_to_the_task_message_and_it_is_recorded(
        group_bot: tuple[Harness, str, dict[str, Any]]) -> None:
    bot, tid, task_message = group_bot
    before = len(bot.api.sent)
    bot.api.send_text(ZHANG, "进度60%，正在清表", chat_id=WORK_GROUP,
                      reply_to=task_message)
    await bot.pump()
    confirmation = [m for m in bot.api.sent[before:] if m["chat"]["id"] == WORK_GROUP]
    assert len(confirmation) == 1
    assert f"已记录 {tid}：进度 60%" in confirmation[0]["text"]
    assert "撤回" in str(confirmation[0].get("reply_markup"))
    # The confirmation quotes the official's message in the busy group.
    quoted = confirmation[0].get("reply_to_message") or {}
    assert quoted.get("text") == "进度60%，正在清表"
    task = bot.ledger.task(tid)
    assert (task.progress, task.latest_note, task.last_report_at) == (
        60, "进度60%，正在清表", DEC1)

    # 交账 in the group: confirmed there, and the admins get the submission to verify.
    before = len(bot.api.sent)
    bot.api.send_text(ZHANG, "已全部完成", chat_id=WORK_GROUP, reply_to=task_message)
    await bot.pump()
    assert "已交账" in texts_since(bot, before, WORK_GROUP)
    assert "【交账】" in texts_since(bot, before, ADMIN)
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED


async def test_in_a_group_others_cannot_report_and_plain_messages_are_not_reports(
        group_bot: tuple[Harness, str, dict[str, Any]]) -> None:
    bot, tid, task_message = group_bot
    # Someone who is not the task's 责任人 is told so, in the group; nothing changes.
    refused = await bot.answer(LI, "进度90%", chat_id=WORK_GROUP, reply_to=task_message)
    assert f"{tid} 不是您负责的任务" in refused
    # Group chatter that replies to nobody is not a report, and the bot stays quiet.
    assert await bot.say(ZHANG, "进度80%，今天开会讨论", chat_id=WORK_GROUP) == []
    task = bot.ledger.task(tid)
    assert (task.progress, task.last_report_at, task.latest_note) == (0, None, "")
