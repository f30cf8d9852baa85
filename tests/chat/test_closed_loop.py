"""The closed loop stays consistent: 困难 close with their task (销账 / 撤销); buttons of
requests decided meanwhile say how and lose their buttons; /reject and /reopen answer with the
task's state; Chinese texts show no English words, no Telegram ids, no doubled figures."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import Difficulty, ExtensionStatus, RebindStatus, TaskStatus
from bot.domain.ports import Change
from bot.domain.replies import Reading, ReplyKind
from bot.messages import ZH, Messages
from jobs.schedule import summary_job
from tests.chat.conftest import OpenBot, buttons
from tests.conftest import ADMIN, DEC1, LEADER, NEW_PHONE, OTHER_ADMIN, TZ, ZHANG
from tests.support.fakes import FakeRepository
from tests.support.harness import Harness

WANG, LI = "督查室王主任", "督查室李科长"  # the two admins' Telegram names (not in the ledger)


# ---- 1. 困难 close with their task, in the same change ------------------------------------


class CountingRepository(FakeRepository):
    """Keeps every committed change, to see what went together."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []

    def commit(self, change: Change) -> None:
        self.changes.append(change)
        super().commit(change)


def rail_ledger(repo: FakeRepository | None = None) -> tuple[Ledger, str]:
    ledger = Ledger(repo or CountingRepository(), FixedClock(DEC1))
    task = ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
                                   owners=("张三",), deadline=date(2026, 12, 31),
                                   leader="陈副县长"), who="admin")
    return ledger, task.id


def raise_difficulty(ledger: Ledger, task_id: str, text: str) -> Difficulty:
    outcome = ledger.submit_report(task_id, Reading(ReplyKind.DIFFICULTY, text=f"困难：{text}",
                                                    detail=text), who="张三", user_id=ZHANG)
    assert outcome.difficulty is not None
    return outcome.difficulty


def submit_done(ledger: Ledger, task_id: str) -> None:
    ledger.submit_report(task_id, Reading(ReplyKind.COMPLETION, progress=100, text="已完成"),
                         who="张三", user_id=ZHANG)


def test_verify_closes_the_open_difficulties_in_the_same_change() -> None:
    ledger, tid = rail_ledger()
    repo = ledger.repo
    assert isinstance(repo, CountingRepository)
    money = raise_difficulty(ledger, tid, "征地补偿资金缺口200万")
    ledger.coordinate(money.id, who="陈副县长")
    land = raise_difficulty(ledger, tid, "拆迁户不同意补偿标准")
    solved = raise_difficulty(ledger, tid, "施工便道未贯通")
    ledger.resolve_difficulty(solved.id, "已打通", who="陈副县长")
    submit_done(ledger, tid)
    ledger.verify(tid, who="督查室王主任（1001）", user_id=ADMIN)

    assert ledger.open_difficulties_of(tid) == []
    assert repo.open_difficulties() == []
    last = repo.changes[-1]  # 销账 and the 困难 closing: one durable change
    assert [t.status for t in last.tasks] == [TaskStatus.CLOSED]
    assert sorted(d.id for d in last.difficulties) == sorted([money.id, land.id])
    for item in last.difficulties:
        assert item.closed_with == TaskStatus.CLOSED.value
        assert item.resolved_by == "督查室王主任（1001）" and item.resolved_at == DEC1
    assert ledger.repo.get_difficulty(money.id).coordinator == "陈副县长"  # type: ignore[union-attr]
    # The one solved before stays solved by whom it was.
    kept = ledger.repo.get_difficulty(solved.id)
    assert kept is not None and kept.closed_with == "" and kept.resolution == "已打通"
    note = [e for e in repo.history(tid) if e.action == "difficulties_closed"]
    assert len(note) == 1 and "征地补偿资金缺口200万" in note[0].note \
        and "拆迁户不同意补偿标准" in note[0].note and "施工便道" not in note[0].note
    assert note[0].who == "督查室王主任（1001）"


@pytest.mark.parametrize("state", [TaskStatus.OPEN, TaskStatus.SUBMITTED])
def test_cancel_closes_the_open_difficulties_in_the_same_change(state: TaskStatus) -> None:
    ledger, tid = rail_ledger()
    repo = ledger.repo
    assert isinstance(repo, CountingRepository)
    item = raise_difficulty(ledger, tid, "资金未到位")
    if state is TaskStatus.SUBMITTED:
        submit_done(ledger, tid)
    ledger.cancel_task(tid, who="督查室王主任（1001）", note="并入其他任务")
    last = repo.changes[-1]
    assert [t.status for t in last.tasks] == [TaskStatus.CANCELLED]
    [closed] = last.difficulties
    assert closed.id == item.id and closed.closed_with == TaskStatus.CANCELLED.value
    assert not closed.open and ledger.open_difficulties_of(tid) == []
    assert [e.action for e in last.history] == ["cancelled", "difficulties_closed"]


def test_a_task_without_open_difficulties_closes_as_before() -> None:
    ledger, tid = rail_ledger()
    repo = ledger.repo
    assert isinstance(repo, CountingRepository)
    submit_done(ledger, tid)
    ledger.verify(tid, who="督查室王主任（1001）", user_id=ADMIN)
    last = repo.changes[-1]
    assert last.difficulties == [] and [e.action for e in last.history] == ["verified"]


def test_difficulty_documents_stay_backward_compatible(tmp_path: Path) -> None:
    old_doc = {"id": "D0001", "task": "T0001", "text": "资金未到位", "opened_by": "张三",
               "opened_at": DEC1.isoformat(), "resolved_at": None, "resolved_by": "",
               "resolution": "", "withdrawn": False, "coordinator": ""}
    item = Difficulty.from_doc(old_doc)
    assert item.open and item.closed_with == ""
    assert item.to_doc() == old_doc  # an open or solved one is stored exactly as before
    # Closed with its task: kept across a restart of the real store.
    store = DocStore.open(tmp_path / "data")
    ledger = Ledger(StoreRepository(store), FixedClock(DEC1))
    task = ledger.add_task(NewTask(title="任务甲", lead_unit="县发改局", owners=("张三",),
                                   deadline=date(2026, 12, 31)), who="admin")
    difficulty = raise_difficulty(ledger, task.id, "用地未交付")
    ledger.cancel_task(task.id, who="admin")
    store.close()
    store = DocStore.open(tmp_path / "data")
    try:
        again = StoreRepository(store).get_difficulty(difficulty.id)
        assert again is not None and again.closed_with == "已撤销" and not again.open
    finally:
        store.close()


# ---- the Telegram harness --------------------------------------------------------------


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, admins=frozenset({ADMIN, OTHER_ADMIN}),
                        bound=(ZHANG, LEADER)) as harness:
        harness.api.add_user(ADMIN, WANG)
        harness.api.add_user(OTHER_ADMIN, LI)
        yield harness


def add(bot: Harness, deadline: date = date(2026, 12, 31)) -> str:
    return bot.ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
                                       owners=("张三",), deadline=deadline, leader="陈副县长"),
                               who="admin").id


def last_to(bot: Harness, chat: int, marker: str = "") -> dict[str, Any]:
    return [m for m in bot.api.messages_to(chat) if marker in m.get("text", "")][-1]


async def press(bot: Harness, user: int, message: dict[str, Any], data: str) -> str:
    """Press a button the message showed when it was sent; returns the alert (or "")."""
    bot.api.press_button(user, message, data, strict=False)
    await bot.pump()
    return bot.api.answered_callbacks[-1].get("text", "")


def current(bot: Harness, message: dict[str, Any]) -> dict[str, Any]:
    """The message as it is now (after edits)."""
    return next(m for m in bot.api.messages_to(message["chat"]["id"])
                if m["message_id"] == message["message_id"])


def no_ids(text: str) -> bool:
    return "（1001）" not in text and "（1002）" not in text and "(1001)" not in text


# ---- 2. buttons of requests decided meanwhile -----------------------------------------------


async def test_extension_buttons_after_another_admin_decided(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "申请延期至2027年1月15日，原因：冬季停工")
    mine, theirs = last_to(bot, ADMIN, "延期申请"), last_to(bot, OTHER_ADMIN, "延期申请")
    approve, refuse = buttons(theirs)
    await press(bot, ADMIN, mine, buttons(mine)[0])  # 王主任 approves
    assert bot.ledger.task(tid).deadline == date(2027, 1, 15)
    alert = await press(bot, OTHER_ADMIN, theirs, refuse)  # 李科长's copy, still with buttons
    assert "已处理" in alert and "已批准延期至2027年1月15日" in alert and WANG in alert
    assert no_ids(alert)
    edited = current(bot, theirs)
    assert buttons(edited) == [] and "已批准延期至2027年1月15日" in edited["text"]
    assert "【延期申请】" in edited["text"]  # its text stays
    [request] = bot.ledger.repo.extensions_of(tid)
    assert request.status is ExtensionStatus.APPROVED and bot.ledger.task(tid).deadline == \
        date(2027, 1, 15)
    # Pressed again (a stale client): the same answer, the line is not added twice.
    await press(bot, OTHER_ADMIN, theirs, approve)
    assert current(bot, theirs)["text"].count("已批准延期") == 1


async def test_a_refused_or_withdrawn_extension_says_so(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "申请延期至2027年1月15日，原因：冬季停工")
    mine, theirs = last_to(bot, ADMIN, "延期申请"), last_to(bot, OTHER_ADMIN, "延期申请")
    await press(bot, ADMIN, mine, buttons(mine)[1])  # refused
    alert = await press(bot, OTHER_ADMIN, theirs, buttons(theirs)[0])
    assert "未批准延期" in alert and WANG in alert and no_ids(alert)
    assert bot.ledger.task(tid).deadline == date(2026, 12, 31)
    assert buttons(current(bot, theirs)) == []
    # Withdrawn by the official (↩️ 撤回) before anyone decided.
    await bot.answer(ZHANG, "申请延期至2027年2月1日，原因：资金未到位")
    request = last_to(bot, ADMIN, "延期申请")
    confirmation = bot.api.messages_to(ZHANG)[-1]
    await press(bot, ZHANG, confirmation, buttons(confirmation)[0])
    alert = await press(bot, ADMIN, request, buttons(request)[0])
    assert "撤回" in alert and buttons(current(bot, request)) == []
    assert bot.ledger.task(tid).deadline == date(2026, 12, 31)


async def test_extension_buttons_of_a_closed_task(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "申请延期至2027年1月15日，原因：冬季停工")
    request = last_to(bot, ADMIN, "延期申请")
    await bot.answer(ADMIN, f"/cancel {tid} 任务调整")
    alert = await press(bot, ADMIN, request, buttons(request)[0])
    assert f"任务 {tid} 当前状态为 已撤销" in alert and "不再接收报送" not in alert
    assert buttons(current(bot, request)) == []
    assert bot.ledger.task(tid).deadline == date(2026, 12, 31)


async def test_difficulty_buttons_after_it_was_solved(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "困难：征地补偿资金缺口200万，需县里协调")
    leaders = last_to(bot, LEADER, "【困难】")
    admins = last_to(bot, ADMIN, "【困难】")
    coord, solved = buttons(admins)
    await press(bot, LEADER, leaders, buttons(leaders)[1])  # 陈副县长: 已解决
    assert bot.ledger.open_difficulties_of(tid) == []
    alert = await press(bot, ADMIN, admins, coord)
    assert "已处理" in alert and "已解决（陈副县长）" in alert
    assert "D0001" not in alert  # no raw ids
    edited = current(bot, admins)
    assert buttons(edited) == [] and "已解决（陈副县长）" in edited["text"]
    [item] = bot.ledger.repo.difficulties_of(tid)
    assert item.coordinator == "" and item.resolved_by == "陈副县长"
    await press(bot, ADMIN, admins, solved)
    assert bot.ledger.repo.get_difficulty(item.id).resolved_by == "陈副县长"  # type: ignore[union-attr]


async def test_difficulty_buttons_after_the_task_was_closed(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "困难：施工用地尚未交付")
    leaders = last_to(bot, LEADER, "【困难】")
    await bot.answer(ZHANG, "已完成")
    assert "已核账销账" in await bot.answer(OTHER_ADMIN, f"/verify {tid}")
    alert = await press(bot, LEADER, leaders, buttons(leaders)[1])
    assert "任务已销账，该困难随之关闭" in alert and LI in alert and no_ids(alert)
    edited = current(bot, leaders)
    assert buttons(edited) == [] and "该困难随之关闭" in edited["text"]
    [item] = bot.ledger.repo.difficulties_of(tid)
    assert item.closed_with == "已销账" and item.resolution == ""


async def test_a_second_coordinator_is_told_who_took_it_on(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "困难：资金未到位")
    leaders = last_to(bot, LEADER, "【困难】")
    admins = last_to(bot, ADMIN, "【困难】")
    coord, solved = buttons(leaders)
    await press(bot, LEADER, leaders, coord)
    assert buttons(current(bot, leaders)) == [solved]  # the coordinator marks it solved there
    alert = await press(bot, ADMIN, admins, coord)
    assert "陈副县长 负责协调" in alert
    assert bot.ledger.open_difficulties_of(tid)[0].coordinator == "陈副县长"
    edited = current(bot, admins)
    assert "陈副县长 负责协调" in edited["text"] and buttons(edited) == [solved]
    await press(bot, LEADER, leaders, solved)
    assert bot.ledger.open_difficulties_of(tid) == []


async def test_rebind_buttons_after_another_admin_decided(bot: Harness) -> None:
    invite = bot.ledger.create_invite("张三", "", admin_id=ADMIN)
    bot.api.add_user(NEW_PHONE, "张三新号")
    bot.api.start_chat(NEW_PHONE)
    await bot.answer(NEW_PHONE, f"/start {invite.code}")
    mine, theirs = last_to(bot, ADMIN, "换绑"), last_to(bot, OTHER_ADMIN, "换绑")
    await press(bot, ADMIN, mine, buttons(mine)[0])  # 确认换绑
    assert bot.ledger.person_for_user(NEW_PHONE).name == "张三"  # type: ignore[union-attr]
    alert = await press(bot, OTHER_ADMIN, theirs, buttons(theirs)[1])  # 不同意, too late
    assert "已确认换绑" in alert and WANG in alert and no_ids(alert)
    assert buttons(current(bot, theirs)) == []
    [request] = bot.ledger.repo.rebinds()
    assert request.status is RebindStatus.CONFIRMED
    assert bot.ledger.person_for_user(NEW_PHONE).name == "张三"  # type: ignore[union-attr]


async def test_submission_buttons_after_it_was_verified_or_sent_back(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "已完成")
    first = last_to(bot, OTHER_ADMIN, "【交账】")
    verify, _ = buttons(first)
    await bot.answer(ADMIN, f"/reject {tid} 缺验收报告")
    alert = await press(bot, OTHER_ADMIN, first, verify)
    assert "已退回" in alert and "缺验收报告" in alert and WANG in alert and no_ids(alert)
    assert bot.ledger.task(tid).status is TaskStatus.OPEN
    assert buttons(current(bot, first)) == []
    await bot.answer(ZHANG, "已全部完成，验收报告已补充")
    second = last_to(bot, OTHER_ADMIN, "【交账】")
    await press(bot, ADMIN, last_to(bot, ADMIN, "【交账】"), buttons(second)[0])  # 王主任 核账
    assert bot.ledger.task(tid).status is TaskStatus.CLOSED
    alert = await press(bot, OTHER_ADMIN, second, buttons(second)[1])  # 退回, too late
    assert "已核账" in alert and WANG in alert and no_ids(alert) and "不能改为" not in alert
    edited = current(bot, second)
    assert buttons(edited) == [] and f"已核账（{WANG}）" in edited["text"]
    assert bot.ledger.task(tid).status is TaskStatus.CLOSED
    assert not [m for m in bot.api.messages_to(OTHER_ADMIN) if m["text"].startswith("✍️")]


# ---- 3. /reject and /reopen say the task's state ---------------------------------------------


async def test_reject_and_reopen_answer_with_the_tasks_state(bot: Harness) -> None:
    tid = add(bot)
    answer = await bot.answer(ADMIN, f"/reject {tid} 材料不全")
    assert answer == f"任务 {tid} 当前状态为 推进中，没有待核账的交账，无需退回。"
    answer = await bot.answer(ADMIN, f"/reopen {tid} 复查发现问题")
    assert f"任务 {tid} 当前状态为 推进中" in answer and "无需重新打开" in answer
    await bot.answer(ZHANG, "已完成")
    answer = await bot.answer(ADMIN, f"/reopen {tid} 复查发现问题")
    assert "当前状态为 待核账" in answer and f"/reject {tid}" in answer
    await bot.answer(OTHER_ADMIN, f"/verify {tid}")
    answer = await bot.answer(ADMIN, f"/reject {tid} 材料不全")
    assert "当前状态为 已销账" in answer and f"/reopen {tid}" in answer
    answer = await bot.answer(ADMIN, f"/verify {tid}")
    assert "已销账" in answer and "无需" in answer
    for text in (answer,):
        assert "不能改为" not in text
    assert bot.ledger.task(tid).status is TaskStatus.CLOSED


# ---- 4. no English words, raw ids or doubled phrases -----------------------------------------


_ALLOWED_LATIN = {"Excel", "xlsx", "csv", "CSV", "MB", "UTF-", "Telegram"}  # names


def test_the_chinese_catalogue_has_no_english_words() -> None:
    for key, text in ZH.items():
        plain = re.sub(r"\{[a-z_]+\}|<[^>]+>|/[a-z]+|--[a-z-]+", "", text)
        words = set(re.findall(r"[A-Za-z][A-Za-z_-]+", plain)) - _ALLOWED_LATIN
        assert not words, (key, words)


def test_history_of_every_action_reads_in_chinese() -> None:
    msgs = Messages("zh", today=lambda: DEC1.date())
    from bot.domain.model import HistoryEntry

    for action in ("created", "imported", "import_updated", "cancelled", "remind", "submitted",
                   "extension_requested", "difficulty", "progress", "evidence", "withdrawn",
                   "verified", "rejected", "reopened", "exempted", "resolved", "coordinating",
                   "extended", "extension_refused", "difficulties_closed", "something_new"):
        entry = HistoryEntry("T0001", DEC1, "督查室王主任（1001）", action, note="",
                             changes={"deadline": ["2026-12-31", "2027-01-15"]})
        what = msgs.history_what(entry)
        assert not re.search(r"[A-Za-z]{2,}", what), (action, what)


async def test_task_history_shows_names_and_chinese_only(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ZHANG, "困难：征地补偿资金缺口200万")
    admins = last_to(bot, ADMIN, "【困难】")
    await press(bot, ADMIN, admins, buttons(admins)[0])  # 王主任: 我来协调
    assert f"{WANG} 协调解决" in bot.api.messages_to(ZHANG)[-1]["text"]
    assert no_ids(bot.api.messages_to(ZHANG)[-1]["text"])
    assert f"{WANG} 负责协调" in current(bot, admins)["text"] and no_ids(current(bot, admins)[
        "text"])
    bot.ledger.submit_report(tid, Reading(ReplyKind.EXTENSION, text="申请延期，原因：冬季停工",
                                          new_deadline=date(2027, 1, 15), detail="冬季停工"),
                             who="张三", user_id=ZHANG)
    await bot.answer(ADMIN, f"/extend {tid}")
    await bot.answer(ADMIN, f"/exempt {tid} 上级政策调整")
    text = await bot.answer(OTHER_ADMIN, f"/task {tid}")
    history = text.split("记录：", 1)[1]
    assert f"{WANG}：负责协调困难（征地补偿资金缺口200万）" in history
    assert not re.findall(r"[A-Za-z]{2,}", history), history  # coordinating, exempted, …
    assert no_ids(history)
    assert "督查室：建账\n" in history  # added by "admin"
    assert "建账（建账）" not in history and "2026-12-31" not in history
    assert "延期（12月31日（周四） → 2027年1月15日（周五））" in history


async def test_the_daily_summary_names_the_coordinator_without_an_id(bot: Harness) -> None:
    add(bot)
    await bot.answer(ZHANG, "困难：资金未到位")
    admins = last_to(bot, ADMIN, "【困难】")
    await press(bot, ADMIN, admins, buttons(admins)[0])
    bot.clock.set(DEC1.replace(hour=17, minute=30))
    await summary_job(bot.services)
    summary = last_to(bot, ADMIN, "今日小结")["text"]
    assert f"{WANG} 协调中" in summary and no_ids(summary)


async def test_a_submission_reported_by_an_admin_names_them_without_an_id(bot: Harness) -> None:
    tid = add(bot)
    await bot.answer(ADMIN, f"/task {tid}")
    await bot.answer(ADMIN, "已完成", reply_to=bot.api.messages_to(ADMIN)[-1])
    submission = last_to(bot, OTHER_ADMIN, "【交账】")["text"]
    assert f"{WANG} 报告已完成" in submission and no_ids(submission)


async def test_latest_progress_is_not_said_twice(tmp_path: Path) -> None:
    """进度90%，完成主体征地 reported: the reminder and the 督办单 show it once, not
    “进度 90%，进度90%”."""
    nov23 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    async with Harness(tmp_path / "late", now=nov23) as bot:
        bot.bind("张三", ZHANG)
        bot.bind("陈副县长", LEADER)
        tid = add(bot, deadline=date(2026, 11, 20))
        bot.ledger.submit_report(tid, Reading(ReplyKind.PROGRESS, progress=90,
                                              text="进度90%，完成主体征地"),
                                 who="张三", user_id=ZHANG)
        bot.clock.set(nov23 + timedelta(days=2))  # Wed 25: 3 overdue workdays
        await bot.services.dispatcher.run()
        reminder = bot.api.messages_to(ZHANG)[-1]["text"]
        sheet = last_to(bot, LEADER, "【督办单】")["text"]
        for text in (reminder, sheet):
            assert "最近进展（11月23日）：进度90%，完成主体征地" in text, text
            assert "进度 90%，进度90%" not in text
        history = (await bot.answer(ADMIN, f"/task {tid}")).split("记录：", 1)[1]
        assert "进度90%，完成主体征地" in history and "90%：进度90%" not in history


def test_a_progress_not_in_the_note_is_still_shown() -> None:
    msgs = Messages("zh", today=lambda: DEC1.date())
    ledger, tid = rail_ledger()
    ledger.submit_report(tid, Reading(ReplyKind.PROGRESS, progress=60, text="完成了六成"),
                         who="张三", user_id=ZHANG)
    from bot.domain.calendar import WorkCalendar
    from bot.domain.rhythm import ReminderKind
    from bot.domain.warning import Light

    text = msgs.rhythm_reminder(ledger.task(tid), ReminderKind.XUN, DEC1.date(),
                                WorkCalendar(), Light.GREEN)
    assert "最近进展（12月1日）：进度 60%，完成了六成" in text


def test_the_english_catalogue_has_the_same_new_keys() -> None:
    from bot.messages import EN

    assert set(ZH) - set(EN) == set()


