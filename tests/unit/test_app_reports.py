"""Officials' reports and the admins' 核账 commands at the application level
(bot/app/reports.py, bot/app/review.py), with no channel: the services over the
FakeRepository, a FakeSender for whoever else is told, and a RecordingConversation for the
chat the message came from. What is asserted is what people would notice: what the caller
is answered (after the edits), what the admins, the 责任人 and the leader receive, and the
ledger's state.

The same flows through Telegram (HTML, ForceReply, quotes, edits on the fake Bot API) are in
tests/chat/test_loop.py, test_truthful.py and test_reading_chat.py; the buttons at this level
in test_app_decisions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest

import tests.conftest as people
from bot.app import actions, reports, review
from bot.app.conversation import Caller, Said, plain, said_rows
from bot.domain.model import Person, Task, TaskStatus
from bot.domain.replies import read_reply
from bot.services import Services
from tests.support.fake_channel import FakeSender, RecordingConversation, Sent
from tests.unit.conftest import LEADER, ZHANG, Actor

OFFICIAL = Caller(people.ZHANG, "张三")
OTHER_OFFICIAL = Caller(people.LI, "李四")
ADMIN = Caller(people.ADMIN, "督查室王主任")
STRANGER = Caller(people.STRANGER, "路人")
ADMINS = (people.ADMIN, people.OTHER_ADMIN)

_message_ids = count(500)


def said(caller: Caller, text: str, *, reply_to: Said | None = None) -> Said:
    """A message in the caller's private chat."""
    return Said(caller.user_id, next(_message_ids), text, author_id=caller.user_id,
                reply_to=reply_to)


def from_bot(sent: Sent) -> Said:
    """A message the bot sent, as the channel gives it back: plain text, its buttons'
    actions."""
    return Said(sent.chat_id, sent.message_id, sent.plain, by_bot=True,
                actions=said_rows(sent.buttons or ()))


def with_marker(sender: FakeSender, chat_id: int, marker: str) -> list[Sent]:
    return [m for m in sender.sent if m.chat_id == chat_id and marker in m.plain]


@pytest.fixture
def official(bind: Callable[[Actor], Person]) -> Person:
    return bind(ZHANG)


@pytest.fixture
def leader(bind: Callable[[Actor], Person]) -> Person:
    return bind(LEADER)


# ---- 交账, and who was told ----------------------------------------------------------------


async def test_a_completion_is_confirmed_at_once_then_names_the_admins_told(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    message = said(OFFICIAL, "已全部完成，材料已报送")
    await reports.on_plain(services, conversation, OFFICIAL, message)
    [confirmation] = conversation.said
    assert confirmation.quote == message
    assert "正在告知督查室" in plain(confirmation.text)  # first: under way, with ↩️ 撤回
    report_id = services.ledger.task(task.id).submission
    assert confirmation.buttons == [[("↩️ 撤回", f"UNDO {report_id}")]]
    # Then edited in place once the admins were reached, keeping the way back.
    [(_posted, final)] = conversation.edits
    assert f"已交账 {task.id}" in plain(final.text) and "已告知督查室。" in plain(final.text)
    assert final.buttons == confirmation.buttons
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED
    for admin in ADMINS:  # no admin group: each admin privately, with 核账通过 / 退回
        [post] = with_marker(sender, admin, "【交账】")
        assert task.id in post.plain and "已全部完成，材料已报送" in post.plain
        assert said_rows(post.buttons or ()) == (f"VERIFY {task.id} {report_id}",
                                                 f"REJECT {task.id} {report_id}")


async def test_admins_unreachable_the_confirmation_says_so(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    sender.unreachable |= set(ADMINS)
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "已全部完成"))
    assert "督查室暂无法送达。报送已记入台账，请另行告知督查室" in conversation.last
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED  # recorded all the same


async def test_where_the_confirmation_cannot_be_edited_who_was_told_is_said_apart(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    conversation.refuse_edits = True
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "已全部完成"))
    assert len(conversation.said) == 2
    assert "正在告知" in conversation.texts[0] and conversation.last == "已告知督查室。"


async def test_a_difficulty_reaches_the_leader_and_the_admins(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, leader: Person, task: Task) -> None:
    await reports.on_plain(services, conversation, OFFICIAL,
                           said(OFFICIAL, "困难：有几户一直不肯签字"))
    assert "已告知督查室和责任领导陈副县长" in conversation.last
    [difficulty] = services.ledger.repo.difficulties_of(task.id)
    coordinate = (f"DIFF {difficulty.id} coord", f"DIFF {difficulty.id} solved")
    [alert] = with_marker(sender, people.LEADER, "【困难】")
    assert "有几户一直不肯签字" in alert.plain and said_rows(alert.buttons or ()) == coordinate
    for admin in ADMINS:
        [alert] = with_marker(sender, admin, "【困难】")
        assert "转告" not in alert.plain and said_rows(alert.buttons or ()) == coordinate


async def test_admins_unreachable_a_difficulty_names_the_leader_only(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, leader: Person, task: Task) -> None:
    sender.unreachable |= set(ADMINS)
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "困难：资金还差一块"))
    assert "已告知责任领导陈副县长；督查室暂无法送达" in conversation.last
    assert with_marker(sender, people.LEADER, "【困难】")


async def test_a_leader_out_of_reach_is_named_and_the_admins_asked_to_relay(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "困难：资金还差一块"))
    assert "陈副县长暂无法送达，已请督查室转告" in conversation.last
    assert "请督查室转告" in with_marker(sender, people.ADMIN, "【困难】")[0].plain


async def test_progress_after_handing_in_takes_the_submission_back(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "已全部完成"))
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "进度45%"))
    assert "原交账已撤回" in conversation.last
    assert services.ledger.task(task.id).status is TaskStatus.OPEN
    # Each admin's 核账 post is edited (Sender.edit): it says so, and its buttons are gone.
    assert sorted(edit.chat_id for edit in sender.edits) == sorted(ADMINS)
    for admin in ADMINS:
        [post] = with_marker(sender, admin, "【交账】")
        assert "交账已撤回" in post.plain and not post.buttons
        assert with_marker(sender, admin, "【交账撤回】")


# ---- asking instead of guessing ------------------------------------------------------------


async def test_a_completed_step_is_asked_about_before_anything_is_recorded(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    message = said(OFFICIAL, "施工方案已制定完成")
    await reports.on_plain(services, conversation, OFFICIAL, message)
    [question] = conversation.said
    assert "确认交账？" in plain(question.text) and question.quote == message
    assert said_rows(question.buttons) == (f"SURE {task.id} yes", f"SURE {task.id} no")
    assert not list(services.ledger.repo.reports())


async def test_an_impossible_figure_is_asked_again_by_reply(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    message = said(OFFICIAL, "进度120%")
    await reports.on_plain(services, conversation, OFFICIAL, message)
    [prompt] = conversation.said
    assert prompt.text.startswith("📈") and prompt.ask and prompt.quote == message
    assert prompt.mention is None
    assert not list(services.ledger.repo.reports())


async def test_an_extension_without_a_date_records_the_rest_then_asks_for_one(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    message = said(OFFICIAL, "进度60%，需申请延期")
    await reports.on_plain(services, conversation, OFFICIAL, message)
    confirmation, prompt = conversation.said
    assert f"已记录 {task.id}：进度 60%" in plain(confirmation.text)
    assert prompt.text.startswith("⏳") and prompt.ask and prompt.quote == message
    assert services.ledger.task(task.id).progress == 60
    assert not services.ledger.repo.extensions_of(task.id)
    assert not [m for m in sender.sent if "【延期申请】" in m.plain]


async def test_an_extension_years_ahead_is_asked_about(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    message = said(OFFICIAL, "申请延期至2036年12月31日，资金未到位")
    await reports.on_plain(services, conversation, OFFICIAL, message)
    [question] = conversation.said
    assert question.quote == message
    assert said_rows(question.buttons) == (f"DATE ask ok {task.id}", f"DATE ask no {task.id}")
    assert not services.ledger.repo.extensions_of(task.id)


async def test_an_acknowledgement_is_no_report(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    await reports.on_plain(services, conversation, OFFICIAL, said(OFFICIAL, "收到"))
    assert conversation.last.startswith("如需报送")
    assert not list(services.ledger.repo.reports())


async def test_several_open_tasks_the_official_is_asked_which(
        services: Services, conversation: RecordingConversation, official: Person,
        make_task: Callable[..., Task]) -> None:
    first, second = make_task("任务甲"), make_task("任务乙")
    message = said(OFFICIAL, "进度30%")
    await reports.on_plain(services, conversation, OFFICIAL, message)
    [question] = conversation.said
    assert question.quote == message and "2 项在办任务" in plain(question.text)
    assert said_rows(question.buttons) == (f"PICK {first.id}", f"PICK {second.id}")


# ---- who may report ------------------------------------------------------------------------


async def test_a_strangers_report_is_refused(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    await sender.send(people.STRANGER, f"{task.id} 请报送进展",
                      services.messages.task_buttons(task.id))
    reminder = from_bot(sender.sent[-1])
    await reports.on_reply(services, conversation, STRANGER,
                           said(STRANGER, "已完成", reply_to=reminder))
    assert conversation.last == f"{task.id} 不是您负责的任务，无法报送。请用 /tasks 查看您的任务。"
    await reports.on_plain(services, conversation, STRANGER, said(STRANGER, "进度50%"))
    assert conversation.last.startswith("您好！您还未登记为本台账的责任人。")
    await reports.on_reply(services, conversation, OTHER_OFFICIAL,
                           said(OTHER_OFFICIAL, "已完成", reply_to=reminder))
    assert "不是您负责的任务" in conversation.last
    assert not list(services.ledger.repo.reports())
    assert services.ledger.task(task.id).status is TaskStatus.OPEN


async def test_a_leaders_remark_on_a_supervision_sheet_is_no_report(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, leader: Person, task: Task) -> None:
    sheet = services.messages.t("escalation_head", id=task.id, title=task.title)
    await sender.send(people.LEADER, sheet)
    remark = Caller(people.LEADER, "陈副县长")
    await reports.on_reply(services, conversation, remark,
                           said(remark, "已解决", reply_to=from_bot(sender.sent[-1])))
    assert conversation.last.startswith("如需报送")
    assert not list(services.ledger.repo.reports())


async def test_a_leaders_already_solved_under_a_difficulty_alert_is_no_new_difficulty(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, leader: Person, task: Task) -> None:
    """The 困难 alert starts with ⚠️ like the ⚠️ 有困难 prompt, but it asks for no 困难: the
    leader's "已解决" under it is a remark (the admins close it with /resolve)."""
    await reports.on_plain(services, conversation, OFFICIAL,
                           said(OFFICIAL, "困难：有几户一直不肯签字"))
    [alert] = with_marker(sender, people.LEADER, "【困难】")
    told_before = len(sender.sent)
    remark = Caller(people.LEADER, "陈副县长")
    await reports.on_reply(services, conversation, remark,
                           said(remark, "已解决", reply_to=from_bot(alert)))
    assert len(services.ledger.repo.difficulties_of(task.id)) == 1
    assert len(sender.sent) == told_before  # nobody is alerted again
    assert conversation.last.startswith("如需报送")


async def test_the_answer_to_a_difficulty_prompt_is_a_difficulty(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    prompt = services.messages.t("prompt_difficulty", id=task.id)
    await sender.send(people.ZHANG, prompt)
    await reports.on_reply(services, conversation, OFFICIAL,
                           said(OFFICIAL, "资金还没到位", reply_to=from_bot(sender.sent[-1])))
    [difficulty] = services.ledger.repo.difficulties_of(task.id)
    assert "资金还没到位" in difficulty.text


# ---- after a crash -------------------------------------------------------------------------


async def test_a_report_applied_before_a_crash_is_answered_once_more(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    message = said(OFFICIAL, "进度45%")
    services.ledger.submit_report(task.id, read_reply("进度45%", today=services.clock.today()),
                                  who="张三", user_id=people.ZHANG, source=message.source)
    await reports.reanswer(services, conversation, message.source, message)
    [answer] = conversation.said
    assert f"已记录 {task.id}：进度 45%" in plain(answer.text) and answer.quote == message
    # Overtaken by a newer report: an answer now would say what is no longer true.
    later = RecordingConversation()
    await reports.on_plain(services, later, OFFICIAL, said(OFFICIAL, "进度50%"))
    quiet = RecordingConversation()
    await reports.reanswer(services, quiet, message.source, message)
    assert quiet.said == []


# ---- the admins' commands ------------------------------------------------------------------


def command(text: str, by: Caller = ADMIN) -> Said:
    return said(by, text)


async def test_verify_and_reject_commands_tell_the_owner(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, task: Task) -> None:
    await reports.on_plain(services, RecordingConversation(), OFFICIAL, said(OFFICIAL, "已完成"))
    await review.reject(services, conversation, ADMIN, command(f"/reject {task.id} 需补充验收报告"))
    assert conversation.last == f"已退回 {task.id}。\n已告知责任人张三。"
    notice = sender.sent[-1]
    assert notice.chat_id == people.ZHANG and "需补充验收报告" in notice.plain
    assert f"ACT {task.id} done" in said_rows(notice.buttons or ())
    await reports.on_plain(services, RecordingConversation(), OFFICIAL, said(OFFICIAL, "已完成"))
    await review.verify(services, conversation, ADMIN, command(f"/verify {task.id}"))
    assert conversation.last.startswith(f"✅ {task.id} 已核账销账。")
    assert "已销账" in sender.to(people.ZHANG)[-1]
    assert services.ledger.task(task.id).status is TaskStatus.CLOSED


async def test_a_reject_without_reason_is_explained(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    await review.reject(services, conversation, ADMIN, command(f"/reject {task.id}"))
    assert "用法：/reject" in conversation.last


async def test_admin_commands_are_refused_to_officials_and_strangers(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    await reports.on_plain(services, RecordingConversation(), OFFICIAL, said(OFFICIAL, "已完成"))
    for use_case in (review.verify, review.reject, review.reopen, review.resolve,
                     review.extend):
        await use_case(services, conversation, OFFICIAL, command(f"/x {task.id} 理由", OFFICIAL))
        await use_case(services, conversation, STRANGER, command(f"/x {task.id} 理由", STRANGER))
    assert set(conversation.texts) == {"此命令仅限督查室管理员使用。",
                                       services.messages.t("not_registered")}
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED


async def test_an_extension_years_ahead_by_command_is_asked_about(
        services: Services, conversation: RecordingConversation, official: Person,
        task: Task) -> None:
    message = command(f"/extend {task.id} 2036-12-31")
    await review.extend(services, conversation, ADMIN, message)
    [question] = conversation.said
    assert question.quote == message
    assert said_rows(question.buttons) == (actions.encode(actions.DATE, "ext", "ok"),
                                           actions.encode(actions.DATE, "ext", "no"))
    assert services.ledger.task(task.id).deadline == task.deadline  # nothing changed yet
