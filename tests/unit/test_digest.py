"""每人每日一条 at the application and jobs level (jobs/dispatch.py, bot/app/digest.py,
bot/app/reports.py, bot/app/decisions.py), no Telegram: the services over the FakeRepository,
a FakeSender for what people receive, a RecordingConversation for the official's chat, and
fake time for the pacing (nothing sleeps).

What is asserted is what an official on a phone notices: one message a day listing every due
task most urgent first, a reply naming a task (编号 or 序号) reaching that task, the bot asking
which when a reply names none, and the outbox keeping one entry per (date, task, person, kind).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from itertools import count

import pytest

import tests.conftest as people
from bot.app import decisions, reports
from bot.app.conversation import Caller, Press, Said, plain, said_rows
from bot.app.digest import (
    MAX_BUTTONS,
    DigestEntry,
    line_mark,
    listed_tasks,
    named_parts,
    part_text,
    reminder_parts,
    units,
)
from bot.domain.model import DeliveryStatus, Person, Task, TaskStatus
from bot.domain.ports import Change
from bot.domain.rhythm import ReminderKind
from bot.domain.warning import Light
from bot.services import Services
from jobs.dispatch import DispatchReport
from jobs.pacing import Pacer
from tests.conftest import TZ
from tests.support.fake_channel import FakeSender, RecordingConversation, Sent
from tests.support.fakes import FakeRepository
from tests.support.harness import FakeTime
from tests.unit.conftest import LEADER, LI, ZHANG, Actor

OFFICIAL = Caller(people.ZHANG, "张三")
_ids = count(700)


@pytest.fixture
def dispatch(services: Services) -> Callable[[], object]:
    """Today's dispatch on fake time (the pacer never really waits)."""
    time = FakeTime()
    dispatcher = services.dispatcher
    dispatcher._pacer_factory = lambda: Pacer(monotonic=time.monotonic, sleep=time.sleep)
    dispatcher._sleep = time.sleep

    async def run(day: date | None = None) -> DispatchReport:
        return await dispatcher.run(day)

    return run


@pytest.fixture
def official(bind: Callable[[Actor], Person]) -> Person:
    return bind(ZHANG)


@pytest.fixture
def five(make_task: Callable[..., Task]) -> list[Task]:
    """Five tasks of 张三 due on 1 December (a Tuesday: first workday of the month, the
    quarter's last month, and of 上旬): overdue, daily, two 旬 and a 每日 one."""
    return [
        make_task("世忻铁路复线保德段征地", deadline=date(2026, 12, 31)),      # 旬
        make_task("中医院迁建项目一期工程", deadline=date(2026, 11, 24)),      # 督办
        make_task("供暖管网抢修", deadline=date(2026, 12, 8)),                # 日
        make_task("职业中学新校区建设", deadline=date(2026, 12, 25)),          # 旬
        make_task("乡村振兴示范村创建", deadline=date(2026, 11, 30)),          # 督办
    ]


def to(sender: FakeSender, chat: int) -> list[Sent]:
    return [m for m in sender.sent if m.chat_id == chat]


def from_bot(sent: Sent) -> Said:
    return Said(sent.chat_id, sent.message_id, sent.plain, by_bot=True,
                actions=said_rows(sent.buttons or ()))


def said(text: str, reply_to: Said | None = None, caller: Caller = OFFICIAL) -> Said:
    return Said(caller.user_id, next(_ids), text, author_id=caller.user_id, reply_to=reply_to)


# ---- the dispatch: one message a day -------------------------------------------------------


async def test_five_due_tasks_make_one_message_most_urgent_first(
        services: Services, sender: FakeSender, official: Person, five: list[Task],
        dispatch: Callable[[], object]) -> None:
    report = await dispatch()  # type: ignore[misc]
    assert (report.due, report.sent, report.messages) == (5, 5, 1)
    [digest] = to(sender, people.ZHANG)
    lines = digest.plain.splitlines()
    assert lines[0] == "📋【今日调度】12月1日（周二） 张三 共 5 项"
    # Overdue first (the longer overdue first), then daily, then 旬 by deadline.
    order = [five[1].id, five[4].id, five[2].id, five[3].id, five[0].id]
    for n, (line, task_id) in enumerate(zip(lines[1:6], order, strict=True), 1):
        assert line.startswith(f"{n}. ") and task_id in line
    assert "【督办】" in lines[1] and "11月24日（周二），已逾期 5 个工作日" in lines[1]
    assert "【日调度】" in lines[3] and "12月8日（周二），还剩 7 天" in lines[3]
    assert "【旬调度】" in lines[5] and "还剩 30 天" in lines[5]
    assert lines[-1].startswith("回复“序号/编号 + 进展”") and five[4].id in lines[-1]
    assert len(lines) == 7
    # Compact buttons: one row per task, in the list's order, each opening its choices.
    assert [row[0][1] for row in digest.buttons or ()] == [f"ACT {t} open" for t in order]
    assert all(len(row) == 1 for row in digest.buttons or ())
    assert (digest.buttons or [[("", "")]])[0][0][0].startswith(f"📝 1. {order[0]}")
    # The outbox: one entry per (date, task, person, kind), all naming the one message.
    entries = [services.ledger.repo.outbox_get(k) for k in services.ledger.repo.outbox_keys()
               if "|张三|" in k]
    assert sorted(e.task_id for e in entries if e) == sorted(t.id for t in five)
    assert {(e.status, e.message_id) for e in entries if e} == {
        (DeliveryStatus.SENT, digest.message_id)}
    assert all(services.ledger.task(t.id).reminded_on == date(2026, 12, 1) for t in five)


async def test_one_due_task_keeps_the_single_reminder_with_its_four_buttons(
        services: Services, sender: FakeSender, official: Person, task: Task,
        dispatch: Callable[[], object]) -> None:
    await dispatch()  # type: ignore[misc]
    [reminder] = to(sender, people.ZHANG)
    assert reminder.plain.startswith("🟢【旬调度】") or "【旬调度】" in reminder.plain
    assert "直接回复本消息报送" in reminder.plain
    assert reminder.buttons == services.messages.task_buttons(task.id)


async def test_a_second_run_sends_only_what_is_missing(
        services: Services, sender: FakeSender, official: Person, five: list[Task],
        make_task: Callable[..., Task], dispatch: Callable[[], object]) -> None:
    await dispatch()  # type: ignore[misc]
    again = await dispatch()  # type: ignore[misc]
    assert (again.sent, again.sent_before, again.messages) == (0, 5, 0)
    assert len(to(sender, people.ZHANG)) == 1
    # A task opened later the same day, then /dispatch: that task alone.
    late = make_task("临时交办事项", deadline=date(2026, 12, 4))
    third = await dispatch()  # type: ignore[misc]
    assert (third.sent, third.sent_before) == (1, 5)
    last = to(sender, people.ZHANG)[-1]
    assert late.id in last.plain and not any(t.id in last.plain for t in five)


async def test_burden_limit_leaves_reported_tasks_out_of_the_digest(
        services: Services, sender: FakeSender, official: Person, five: list[Task],
        dispatch: Callable[[], object]) -> None:
    repo = services.ledger.repo
    reported = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
    repo.commit(Change(tasks=[repo.get_task(five[0].id).with_changes(  # type: ignore[union-attr]
        last_report_at=reported)]))
    report = await dispatch()  # type: ignore[misc]
    assert report.skipped_reported == 1 and report.sent == 4
    [digest] = to(sender, people.ZHANG)
    assert five[0].id not in digest.plain and "共 4 项" in digest.plain


async def test_a_leader_covering_an_official_on_leave_gets_it_in_their_one_digest(
        services: Services, sender: FakeSender, bind: Callable[[Actor], Person],
        make_task: Callable[..., Task], dispatch: Callable[[], object]) -> None:
    bind(ZHANG)
    bind(LEADER)
    covered = make_task("供暖管网抢修", deadline=date(2026, 12, 8))
    own = make_task("领导自己的任务", owners=(LEADER.who,), deadline=date(2026, 12, 31))
    services.ledger.set_leave(ZHANG.who, date(2026, 12, 1), date(2026, 12, 5))
    report = await dispatch()  # type: ignore[misc]
    assert report.on_leave == ["张三"] and to(sender, people.ZHANG) == []
    [digest] = to(sender, people.LEADER)
    assert "共 2 项" in digest.plain
    line = next(x for x in digest.plain.splitlines() if covered.id in x)
    assert line.endswith("（代张三）")
    assert own.id in digest.plain


async def test_leaders_get_one_supervision_sheet_a_day(
        services: Services, sender: FakeSender, bind: Callable[[Actor], Person],
        make_task: Callable[..., Task], dispatch: Callable[[], object]) -> None:
    bind(ZHANG)
    bind(LEADER)
    late = [make_task(f"逾期任务{i}", deadline=date(2026, 11, 20 + i)) for i in range(3)]
    report = await dispatch()  # type: ignore[misc]
    assert report.escalated == 3
    sheets = [m for m in to(sender, people.LEADER) if "督办单" in m.plain]
    assert len(sheets) == 1
    sheet = sheets[0].plain
    assert sheet.startswith("🔴【督办单】12月1日（周二） 您分管的逾期任务 3 项")
    assert all(t.id in sheet for t in late) and "尚未报送" in sheet
    keys = [k for k in services.ledger.repo.outbox_keys() if k.endswith("|escalation")]
    assert len(keys) == 3
    again = await dispatch()  # type: ignore[misc]
    assert again.escalated == 0


async def test_an_unreachable_official_has_every_entry_of_the_digest_marked(
        services: Services, sender: FakeSender, official: Person, five: list[Task],
        dispatch: Callable[[], object]) -> None:
    sender.unreachable.add(people.ZHANG)
    report = await dispatch()  # type: ignore[misc]
    assert report.unreachable == ["张三"] and report.sent == 0
    statuses = {services.ledger.repo.outbox_get(k).status  # type: ignore[union-attr]
                for k in services.ledger.repo.outbox_keys() if "|张三|" in k}
    assert statuses == {DeliveryStatus.UNREACHABLE}
    assert services.ledger.repo.get_person("张三").unreachable_since is not None  # type: ignore[union-attr]


async def test_a_failed_digest_is_retried_whole_by_the_next_run(
        services: Services, sender: FakeSender, official: Person, five: list[Task],
        dispatch: Callable[[], object]) -> None:
    sender.failing.add(people.ZHANG)
    report = await dispatch()  # type: ignore[misc]
    assert report.failed == 5 and report.sent == 0
    sender.failing.clear()
    again = await dispatch()  # type: ignore[misc]
    assert (again.sent, again.messages) == (5, 1)


def test_a_long_digest_is_split_only_at_telegram_limits(services: Services) -> None:
    """120 tasks: parts within 4,096 characters and 100 buttons, the numbering going on,
    each part with its own tasks' buttons, every task exactly once."""
    tasks = [Task(id=f"T{i:04d}", title=f"重点项目推进工作第{i}项，涉及多个部门协同配合推进",
                  lead_unit="县发改局", owners=("张三",), deadline=date(2026, 12, 31),
                  created_at=datetime(2026, 11, 1, tzinfo=TZ))
             for i in range(1, 121)]
    entries = [DigestEntry(t, ReminderKind.XUN) for t in tasks]
    parts = reminder_parts(services.messages, "张三", date(2026, 12, 1), entries,
                           services.calendar, lambda _t: Light.GREEN)
    assert len(parts) >= 2
    seen = [e.task.id for p in parts for e in p.entries]
    assert seen == [t.id for t in tasks]
    numbers = []
    for part in parts:
        assert units(part.text) <= 4096
        assert len(part.buttons or ()) <= MAX_BUTTONS
        ids = [row[0][1].split()[1] for row in part.buttons or ()]
        assert ids == [e.task.id for e in part.entries]
        numbers += [int(line.split(".")[0]) for line in plain(part.text).splitlines()
                    if line[:1].isdigit()]
    assert numbers == list(range(1, 121))
    assert "续：第" in plain(parts[1].text)


# ---- reading a reply: 编号 or 序号 ------------------------------------------------------------


@pytest.mark.parametrize("line,mark", [
    ("2. 已完成", "2"), ("1 进度80%", "1"), ("2、已完成", "2"), ("第3项 已完成", "3"),
    ("T0007 已完成", "T0007"), ("DG-3 进度60%", "DG-3"), ("【T0007】已完成", "T0007"),
    ("t7：完成了一半", "t7"), ("2已完成", "2"),
])
def test_a_line_names_a_task_at_its_start(line: str, mark: str) -> None:
    found = line_mark(line)
    assert found is not None and found.text == mark


@pytest.mark.parametrize("line", [
    "3月底前完成", "80%已完成", "10日前报送材料", "已完成", "进度60%", "2026年完成主体",
    "PPP项目已签约", "",
])
def test_dates_figures_and_words_name_no_task(line: str) -> None:
    assert line_mark(line) is None


def test_several_lines_each_naming_a_task_become_parts() -> None:
    text = "汇报如下：\n1 进度80%\n资金已到位\n3. 已完成"
    parts = named_parts(text, lambda m: {"1": "T0001", "3": "T0003"}.get(m.text))
    assert [(p.task_id, p.span) for p in parts] == [("T0001", "0-1-3"), ("T0003", "3-3-4")]
    assert part_text(text, "0-1-3") == "汇报如下：\n进度80%\n资金已到位"
    assert part_text(text, "3-3-4") == "已完成"


async def _digest(services: Services, sender: FakeSender,
                  dispatch: Callable[[], object]) -> Said:
    await dispatch()  # type: ignore[misc]
    [digest] = to(sender, people.ZHANG)
    return from_bot(digest)


async def test_a_reply_naming_a_serial_number_reports_on_that_task(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    digest = await _digest(services, sender, dispatch)
    listed = listed_tasks(digest)
    assert len(listed) == 5
    await reports.on_reply(services, conversation, OFFICIAL, said("3 进度60%", digest))
    task = services.ledger.task(listed[3])
    assert task.progress == 60
    assert f"{listed[3]}" in conversation.last
    assert all(not services.ledger.task(listed[n]).last_report for n in (1, 2, 4, 5))


async def test_an_explicit_number_wins_and_several_lines_report_on_each(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    digest = await _digest(services, sender, dispatch)
    listed = listed_tasks(digest)
    text = f"1 进度30%\n{five[0].id} 进度70%，征地已完成大半"
    await reports.on_reply(services, conversation, OFFICIAL, said(text, digest))
    assert services.ledger.task(listed[1]).progress == 30
    assert services.ledger.task(five[0].id).progress == 70
    # Each task's report is its own, with its own 撤回.
    assert len({services.ledger.task(listed[1]).last_report,
                services.ledger.task(five[0].id).last_report}) == 2
    assert services.ledger.task(five[0].id).latest_note == "进度70%，征地已完成大半"


class Crash(BaseException):
    """The process dying mid-handling (not an error any guard would catch)."""


async def test_a_reply_of_several_parts_cut_by_a_crash_is_completed_at_restart(
        services: Services, sender: FakeSender, repo: FakeRepository,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    """Each part is its own commit; the first marks the message applied (the inbox's
    receipt), so after a crash between them the message is not handled again as new. At
    restart the recorded part is answered again and the rest applied — each exactly once."""
    digest = await _digest(services, sender, dispatch)
    listed = listed_tasks(digest)
    message = said("1 进度30%\n2 进度40%\n3 进度50%", digest)
    commit = repo.commit
    commits: list[int] = []

    def dying_commit(change: Change) -> None:
        if change.reports:
            commits.append(1)
            if len(commits) == 2:
                raise Crash
        commit(change)

    repo.commit = dying_commit  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await reports.on_reply(services, RecordingConversation(), OFFICIAL, message)
    repo.commit = commit  # type: ignore[method-assign]
    assert [services.ledger.task(listed[n]).progress for n in (1, 2, 3)] == [30, 0, 0]
    restarted = RecordingConversation()
    assert await reports.resume(services, restarted, OFFICIAL, message)
    assert [services.ledger.task(listed[n]).progress for n in (1, 2, 3)] == [30, 40, 50]
    assert len(list(repo.reports())) == 3  # the first part was not applied twice
    assert [listed[n] in text for n, text in zip((1, 2, 3), restarted.texts, strict=True)] \
        == [True, True, True]  # part 1 confirmed again, parts 2 and 3 now
    # A message nothing of which was recorded is not taken for a report.
    assert not await reports.resume(services, RecordingConversation(), OFFICIAL,
                                    said("县发改局", None))


async def test_a_reply_naming_no_task_asks_which(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    digest = await _digest(services, sender, dispatch)
    listed = listed_tasks(digest)
    message = said("已完成", digest)
    await reports.on_reply(services, conversation, OFFICIAL, message)
    [question] = conversation.said
    assert "哪一项" in plain(question.text) and question.quote == message
    assert [row[0][1] for row in question.buttons] == [f"PICK {listed[n]}" for n in range(1, 6)]
    assert all(services.ledger.task(t.id).status is TaskStatus.OPEN for t in five)
    # The answer: PICK reads the message again and applies it to the task chosen.
    under = Said(people.ZHANG, 9001, plain(question.text), by_bot=True, reply_to=message,
                 actions=said_rows(question.buttons))
    await decisions.decide(services, conversation,
                           Press(OFFICIAL, f"PICK {listed[2]}", "q1", under))
    assert services.ledger.task(listed[2]).status is TaskStatus.SUBMITTED


async def test_a_serial_number_beyond_the_list_is_no_serial_number(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    digest = await _digest(services, sender, dispatch)
    await reports.on_reply(services, conversation, OFFICIAL, said("9 进度60%", digest))
    assert "哪一项" in conversation.last
    assert all(services.ledger.task(t.id).progress == 0 for t in five)


async def test_an_explicit_number_wins_over_the_single_reminder_replied_to(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, make_task: Callable[..., Task], dispatch: Callable[[], object]
        ) -> None:
    due = make_task("供暖管网抢修", deadline=date(2026, 12, 8))
    other = make_task("明年的任务", deadline=date(2027, 6, 30))  # not due today
    await dispatch()  # type: ignore[misc]
    [reminder] = to(sender, people.ZHANG)
    await reports.on_reply(services, conversation, OFFICIAL,
                           said(f"{other.id} 进度20%", from_bot(reminder)))
    assert services.ledger.task(other.id).progress == 20
    assert services.ledger.task(due.id).progress == 0


async def test_a_plain_message_naming_a_task_reports_on_it(
        services: Services, conversation: RecordingConversation, official: Person,
        five: list[Task]) -> None:
    await reports.on_plain(services, conversation, OFFICIAL, said(f"{five[3].id} 进度45%"))
    assert services.ledger.task(five[3].id).progress == 45
    await reports.on_plain(services, conversation, OFFICIAL, said("进度50%"))
    assert "哪一项" in conversation.last  # five open tasks, none named


async def test_another_persons_task_named_explicitly_is_refused_not_misapplied(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], make_task: Callable[..., Task],
        dispatch: Callable[[], object]) -> None:
    foreign = make_task("别人的任务", owners=(LI.who,))
    digest = await _digest(services, sender, dispatch)
    await reports.on_reply(services, conversation, OFFICIAL,
                           said(f"{foreign.id} 已完成", digest))
    assert services.ledger.task(foreign.id).status is TaskStatus.OPEN
    assert foreign.id in conversation.last


async def test_a_completion_question_about_one_line_answers_for_that_line(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    """"1 进度80%" is recorded; "2 方案已制定完成" may be a part: 确认交账？ — and its 确认交账
    applies that line alone, once."""
    digest = await _digest(services, sender, dispatch)
    listed = listed_tasks(digest)
    message = said("1 进度80%\n2 方案已制定完成", digest)
    await reports.on_reply(services, conversation, OFFICIAL, message)
    assert services.ledger.task(listed[1]).progress == 80
    question = next(r for r in conversation.said if "确认交账" in plain(r.text))
    assert question.buttons[0][0][1] == f"SURE {listed[2]} yes 1-1-2"
    under = Said(people.ZHANG, 9002, plain(question.text), by_bot=True, reply_to=message,
                 actions=said_rows(question.buttons))
    await decisions.decide(services, conversation,
                           Press(OFFICIAL, question.buttons[0][0][1], "q2", under))
    second = services.ledger.task(listed[2])
    assert second.status is TaskStatus.SUBMITTED and second.latest_note == "方案已制定完成"
    assert services.ledger.task(listed[1]).status is TaskStatus.OPEN
    # Pressed again: already recorded, nothing twice.
    before = len(list(services.ledger.repo.history(listed[2])))
    await decisions.decide(services, conversation,
                           Press(OFFICIAL, question.buttons[0][0][1], "q3", under))
    assert len(list(services.ledger.repo.history(listed[2]))) == before


async def test_the_report_button_opens_the_tasks_four_choices(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, five: list[Task], dispatch: Callable[[], object]) -> None:
    digest = await _digest(services, sender, dispatch)
    listed = listed_tasks(digest)
    notice = await decisions.decide(services, conversation,
                                    Press(OFFICIAL, f"ACT {listed[1]} open", "q4", digest))
    assert notice is None
    [card] = conversation.said
    assert listed[1] in plain(card.text) and "【督办】" in plain(card.text)
    assert card.buttons == services.messages.task_buttons(listed[1])
    # A reply to the card reports on its task.
    shown = Said(people.ZHANG, 9003, plain(card.text), by_bot=True,
                 actions=said_rows(card.buttons))
    await reports.on_reply(services, conversation, OFFICIAL, said("进度35%", shown))
    assert services.ledger.task(listed[1]).progress == 35


async def test_the_report_button_of_someone_elses_digest_does_nothing(
        services: Services, sender: FakeSender, conversation: RecordingConversation,
        official: Person, bind: Callable[[Actor], Person], five: list[Task],
        dispatch: Callable[[], object]) -> None:
    bind(LI)
    digest = await _digest(services, sender, dispatch)
    stranger = Caller(people.LI, "李四")
    notice = await decisions.decide(services, conversation,
                                    Press(stranger, f"ACT {five[0].id} open", "q5", digest))
    assert notice is not None and conversation.said == []

