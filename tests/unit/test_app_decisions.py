"""Buttons at the application level (bot/app/decisions.py), with no channel: a `Press` under a
message as the channel gives it back (plain text, its buttons' actions, the message it
answers), the presser's RecordingConversation (the pressed message edited in place, prompts,
confirmations), a FakeSender for whoever else is told, and the notice `decide` returns for
the presser (the channel's alert).

The same buttons through Telegram (callback queries answered, messages edited on the fake Bot
API) are in tests/chat/test_loop.py, test_closed_loop.py and test_reading_chat.py.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest

import tests.conftest as people
from bot.app import decisions, reports, review
from bot.app.conversation import Caller, Posted, Press, Reply, Said, plain, said_rows
from bot.domain.model import Person, Task, TaskStatus
from bot.services import Services
from tests.support.fake_channel import FakeSender, RecordingConversation, Sent
from tests.unit.conftest import LEADER, ZHANG, Actor

OFFICIAL = Caller(people.ZHANG, "张三")
OTHER_OFFICIAL = Caller(people.LI, "李四")
ADMIN = Caller(people.ADMIN, "督查室王主任")
OTHER_ADMIN = Caller(people.OTHER_ADMIN, "督查室李科长")
GROUP = -100500

_ids = count(500)


def said(caller: Caller, text: str, *, reply_to: Said | None = None) -> Said:
    """A message in the caller's private chat."""
    return Said(caller.user_id, next(_ids), text, author_id=caller.user_id, reply_to=reply_to)


def sent_message(sent: Sent) -> Said:
    """A message the sender delivered (to an admin, an official), as the channel gives it
    back under a press."""
    return Said(sent.chat_id, sent.message_id, sent.plain, by_bot=True,
                actions=said_rows(sent.buttons or ()))


def shown(conversation: RecordingConversation, reply: Reply, *, private: bool = True) -> Said:
    """A reply said in a conversation, as the channel gives it back under a press: plain
    text, its buttons' actions, the message it quotes."""
    message_id = next(i for i, r in enumerate(conversation.said, 1) if r is reply)
    return Said(conversation.chat_id, message_id, plain(reply.text), by_bot=True,
                private=private, actions=said_rows(reply.buttons), reply_to=reply.quote)


async def press(services: Services, conversation: RecordingConversation, caller: Caller,
                under: Said, action: str) -> str | None:
    return await decisions.decide(services, conversation,
                                  Press(caller, action, f"q{next(_ids)}", under))


def edited(conversation: RecordingConversation, under: Said) -> list[Reply]:
    """What the pressed message became, edit by edit."""
    return [reply for posted, reply in conversation.edits
            if posted == Posted(under.chat_id, under.message_id)]


def submission_post(sender: FakeSender, admin: int = people.ADMIN) -> Said:
    """The latest 交账 post an admin received, as it shows (after edits)."""
    posts = [m for m in sender.sent if m.chat_id == admin and "【交账】" in m.plain]
    return sent_message(posts[-1])


async def hand_in(services: Services, text: str = "已全部完成，材料已报送") -> None:
    await reports.on_plain(services, RecordingConversation(), OFFICIAL, said(OFFICIAL, text))


@pytest.fixture
def official(bind: Callable[[Actor], Person]) -> Person:
    return bind(ZHANG)


@pytest.fixture
def admin_chat() -> RecordingConversation:
    return RecordingConversation(chat_id=people.ADMIN)


# ---- 交账 → 核账 → 销账 --------------------------------------------------------------------


async def test_the_closed_loop_verify_closes_and_tells_the_owner(
        services: Services, sender: FakeSender, admin_chat: RecordingConversation,
        official: Person, task: Task) -> None:
    await hand_in(services)
    post = submission_post(sender)
    verify, _reject = post.actions
    assert await press(services, admin_chat, ADMIN, post, verify) is None
    assert services.ledger.task(task.id).status is TaskStatus.CLOSED
    # The post keeps its text, says who verified and who was told, and loses its buttons.
    [after] = edited(admin_chat, post)
    assert plain(after.text).startswith(post.text)
    assert plain(after.text).endswith("已核账（督查室王主任）\n已告知责任人张三。")
    assert after.buttons == ()
    assert "已通过核账，已销账" in sender.to(people.ZHANG)[-1]


async def test_reject_asks_for_the_reason_and_the_owner_is_told_it(
        services: Services, sender: FakeSender, admin_chat: RecordingConversation,
        official: Person, task: Task) -> None:
    await hand_in(services)
    post = submission_post(sender)
    assert await press(services, admin_chat, ADMIN, post, post.actions[1]) is None
    [prompt] = admin_chat.said
    assert prompt.text.startswith("✍️") and prompt.ask and prompt.mention is None
    reason = said(ADMIN, "佐证材料不全", reply_to=shown(admin_chat, prompt))
    await reports.on_reply(services, admin_chat, ADMIN, reason)
    assert admin_chat.last == f"已退回 {task.id}。\n已告知责任人张三。"
    notice = sender.sent[-1]
    assert notice.chat_id == people.ZHANG and "被退回" in notice.plain
    assert "理由：佐证材料不全" in notice.plain
    assert f"ACT {task.id} done" in said_rows(notice.buttons or ())
    assert services.ledger.task(task.id).status is TaskStatus.OPEN
    assert services.ledger.repo.history(task.id)[-1].note == "佐证材料不全"


async def test_an_official_pressing_verify_is_told_it_is_not_theirs(
        services: Services, sender: FakeSender, official: Person, task: Task) -> None:
    await hand_in(services)
    post = submission_post(sender)
    chat = RecordingConversation(chat_id=people.ZHANG)
    for action in post.actions:
        assert await press(services, chat, OFFICIAL, post, action) == "此按钮不是给您的。"
    assert chat.said == [] and chat.edits == []
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED


async def test_a_stale_verify_after_a_newer_submission_says_it_was_decided(
        services: Services, sender: FakeSender, admin_chat: RecordingConversation,
        official: Person, task: Task) -> None:
    await hand_in(services)
    old = submission_post(sender)
    await review.reject(services, RecordingConversation(), OTHER_ADMIN,
                        said(OTHER_ADMIN, f"/reject {task.id} 需补充验收报告"))
    await hand_in(services, "已全部完成，验收报告已补充")
    notice = await press(services, admin_chat, ADMIN, old, old.actions[0])
    assert notice is not None
    assert "此事项已处理" in notice and "已退回（督查室李科长）：需补充验收报告" in notice
    assert f"{task.id} 已有新的交账" in notice
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED  # the newer 交账 waits
    # The stale post says what became of it and loses its buttons; a second press does not
    # edit it again.
    [after] = edited(admin_chat, old)
    assert plain(after.text).endswith("已退回（督查室李科长）：需补充验收报告")
    assert after.buttons == ()
    shows_now = Said(old.chat_id, old.message_id, plain(after.text), by_bot=True)
    assert await press(services, admin_chat, ADMIN, shows_now, old.actions[0]) is not None
    assert len(edited(admin_chat, old)) == 1
    # The newer post still works.
    newer = submission_post(sender)
    assert await press(services, admin_chat, ADMIN, newer, newer.actions[0]) is None
    assert services.ledger.task(task.id).status is TaskStatus.CLOSED


# ---- the official's buttons ----------------------------------------------------------------


async def test_undo_takes_a_misread_report_back(
        services: Services, official: Person, task: Task) -> None:
    chat = RecordingConversation(chat_id=people.ZHANG)
    await reports.on_plain(services, chat, OFFICIAL, said(OFFICIAL, "进度60%"))
    assert services.ledger.task(task.id).progress == 60
    [confirmation] = chat.said
    under = shown(chat, confirmation)
    [undo] = under.actions
    assert await press(services, chat, OFFICIAL, under, undo) is None
    assert chat.last == f"已撤回 {task.id} 的这次报送，任务恢复原状。"
    assert edited(chat, under)[-1].buttons == ()
    assert services.ledger.task(task.id).progress == 0


async def test_a_completed_step_confirmed_as_submission(
        services: Services, sender: FakeSender, official: Person, task: Task) -> None:
    chat = RecordingConversation(chat_id=people.ZHANG)
    await reports.on_plain(services, chat, OFFICIAL, said(OFFICIAL, "施工方案已制定完成"))
    [question] = chat.said
    under = shown(chat, question)
    yes, _no = under.actions
    # Only the one who wrote the message may answer for it.
    assert await press(services, chat, OTHER_OFFICIAL, under, yes) == "此按钮不是给您的。"
    assert await press(services, chat, OFFICIAL, under, yes) is None
    assert edited(chat, under)[0].text == "已确认交账。"
    task_now = services.ledger.task(task.id)
    assert (task_now.status, task_now.progress) == (TaskStatus.SUBMITTED, 100)
    assert "已交账" in chat.last and "已告知督查室" in chat.last
    assert [m for m in sender.sent if m.chat_id == people.ADMIN and "【交账】" in m.plain]
    # A second press records nothing more.
    assert await press(services, chat, OFFICIAL, under, yes) is None
    assert edited(chat, under)[-1].text == "这条消息已记录过了。"
    assert len(list(services.ledger.repo.reports())) == 1


async def test_just_progress_records_the_message_as_news(
        services: Services, sender: FakeSender, official: Person, task: Task) -> None:
    chat = RecordingConversation(chat_id=people.ZHANG)
    await reports.on_plain(services, chat, OFFICIAL, said(OFFICIAL, "施工方案已制定完成"))
    under = shown(chat, chat.said[0])
    assert await press(services, chat, OFFICIAL, under, under.actions[1]) is None
    task_now = services.ledger.task(task.id)
    assert (task_now.status, task_now.latest_note) == (TaskStatus.OPEN, "施工方案已制定完成")
    assert not [m for m in sender.sent if "【交账】" in m.plain]


async def test_picking_a_task_applies_the_message_to_it(
        services: Services, official: Person, make_task: Callable[..., Task]) -> None:
    first, second = make_task("任务甲"), make_task("任务乙")
    chat = RecordingConversation(chat_id=people.ZHANG)
    await reports.on_plain(services, chat, OFFICIAL, said(OFFICIAL, "进度30%"))
    under = shown(chat, chat.said[0])
    assert await press(services, chat, OFFICIAL, under, f"PICK {second.id}") is None
    assert edited(chat, under)[0].text == f"已选择 {second.id}。"
    assert f"已记录 {second.id}：进度 30%" in chat.last
    assert (services.ledger.task(first.id).progress,
            services.ledger.task(second.id).progress) == (0, 30)


async def test_a_prompt_after_a_button_in_a_group_mentions_who_pressed(
        services: Services, official: Person, task: Task) -> None:
    group = RecordingConversation(chat_id=GROUP)
    reminder = Said(GROUP, 42, f"{task.id} 请报送进展", by_bot=True, private=False,
                    actions=said_rows(services.messages.task_buttons(task.id)))
    assert await press(services, group, OFFICIAL, reminder, f"ACT {task.id} progress") is None
    [prompt] = group.said
    assert prompt.text.startswith("📈") and prompt.ask and prompt.mention == OFFICIAL
    assert group.edits == []  # the reminder keeps its buttons


async def test_done_under_a_reminder_hands_in(
        services: Services, sender: FakeSender, official: Person, task: Task) -> None:
    chat = RecordingConversation(chat_id=people.ZHANG)
    reminder = Said(people.ZHANG, 42, f"{task.id} 请报送进展", by_bot=True,
                    actions=said_rows(services.messages.task_buttons(task.id)))
    assert await press(services, chat, OFFICIAL, reminder, f"ACT {task.id} done") is None
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED
    assert "已交账" in chat.last and "已告知督查室" in chat.last
    # A second press: the notice says so, nothing is handed in twice.
    assert await press(services, chat, OFFICIAL, reminder, f"ACT {task.id} done") \
        == f"{task.id} 已交账，正在等待督查室核账，无需重复交账。"
    assert len(list(services.ledger.repo.reports())) == 1


# ---- 困难 buttons ----------------------------------------------------------------------------


async def test_the_leader_coordinates_then_solves_a_difficulty(
        services: Services, sender: FakeSender, official: Person,
        bind: Callable[[Actor], Person], task: Task) -> None:
    bind(LEADER)
    await reports.on_plain(services, RecordingConversation(), OFFICIAL,
                           said(OFFICIAL, "困难：资金还差一块"))
    [alert] = [m for m in sender.sent if m.chat_id == people.LEADER and "【困难】" in m.plain]
    under = sent_message(alert)
    coordinate, solved = under.actions
    leader = Caller(people.LEADER, "陈副县长")
    chat = RecordingConversation(chat_id=people.LEADER)
    assert await press(services, chat, OFFICIAL, under, coordinate) == "此按钮不是给您的。"
    assert await press(services, chat, leader, under, coordinate) is None
    [after] = edited(chat, under)
    assert "陈副县长" in plain(after.text) and said_rows(after.buttons) == (solved,)
    assert "协调" in sender.to(people.ZHANG)[-1]
    assert await press(services, chat, leader, under, solved) is None
    assert edited(chat, under)[-1].buttons == ()
    assert not services.ledger.open_difficulties_of(task.id)


async def test_unknown_button_data_is_answered(
        services: Services, conversation: RecordingConversation) -> None:
    under = Said(1, 1, "旧消息", by_bot=True)
    notice = await press(services, conversation, ADMIN, under, "OLD something")
    assert notice == services.messages.t("button_unknown")
    assert conversation.said == [] and conversation.edits == []
