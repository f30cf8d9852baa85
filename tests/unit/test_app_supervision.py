"""督办 and 考核 commands at the application level (bot/app/supervision.py), with no channel:
/leave, /exempt, /report (its chart a photo attachment) and /score, on the services over the
FakeRepository and a RecordingConversation. Through Telegram: tests/chat/test_supervision.py
and tests/chat/test_bulletin_chat.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime

import pytest

import tests.conftest as people
from bot.adapters.chart import find_cjk_font
from bot.app import supervision
from bot.app.conversation import Caller, Conversation
from bot.domain.clock import FixedClock
from bot.domain.ledger import NewTask
from bot.domain.model import Person, Task
from bot.domain.replies import Reading, ReplyKind
from bot.services import Services
from tests.conftest import TZ
from tests.support.fake_channel import FakeSender, RecordingConversation
from tests.unit.conftest import START, ZHANG, Actor

ADMIN = Caller(people.ADMIN, "督查室")
OFFICIAL = Caller(people.ZHANG, "张三")

UseCase = Callable[[Services, Caller, Sequence[str], Conversation], Awaitable[None]]


def open_task(services: Services, deadline: date = date(2026, 11, 20)) -> Task:
    """Overdue since 20 November unless told (the clock is at 1 December)."""
    return services.ledger.add_task(NewTask(title="中医院迁建项目一期工程", lead_unit="县卫健局",
                                            owners=("张三",), deadline=deadline), who="督查室")


def opened_in_november(services: Services, clock: FixedClock) -> Task:
    """A task opened on 2 November and overdue since the 20th: in November's bulletins."""
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    task = open_task(services)
    clock.set(START)
    return task


@pytest.mark.parametrize("use_case", [supervision.leave, supervision.exempt,
                                      supervision.report, supervision.score])
async def test_officials_are_refused(services: Services, conversation: RecordingConversation,
                                     bind: Callable[[Actor], Person], sender: FakeSender,
                                     use_case: UseCase) -> None:
    task = open_task(services)
    bind(ZHANG)
    await use_case(services, OFFICIAL, ["张三", "12月1日", "12月5日"], conversation)
    await use_case(services, OFFICIAL, [task.id, "政策调整"], conversation)
    assert conversation.texts == [services.messages.t("admin_only")] * 2
    assert all(reply.attachment is None for reply in conversation.said) and sender.sent == []
    person = services.ledger.repo.get_person("张三")
    assert person is not None and person.leave_to is None
    assert services.ledger.task(task.id).exempt_since is None


async def test_leave_is_set_listed_and_cleared(services: Services,
                                               conversation: RecordingConversation,
                                               bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    msgs = services.messages
    await supervision.leave(services, ADMIN, [], conversation)
    assert conversation.last == msgs.t("leave_none")
    await supervision.leave(services, ADMIN, ["张三", "12月1日", "12月5日"], conversation)
    assert conversation.last.startswith("已登记 张三 请假")
    person = services.ledger.repo.get_person("张三")
    assert person is not None
    assert (person.leave_from, person.leave_to) == (date(2026, 12, 1), date(2026, 12, 5))
    await supervision.leave(services, ADMIN, [], conversation)
    assert conversation.last.splitlines()[0] == msgs.t("leave_list_head")
    assert "张三" in conversation.last
    await supervision.leave(services, ADMIN, ["张三", "销假"], conversation)
    assert conversation.last == msgs.t("leave_cleared", name="张三")
    person = services.ledger.repo.get_person("张三")
    assert person is not None and person.leave_to is None


@pytest.mark.parametrize("args,key", [(["张三", "明年某天"], "leave_usage"),
                                      (["张三"], "leave_usage"),
                                      (["赵六", "12月1日"], "leave_unknown")])
async def test_leave_explains_what_it_could_not_take(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person], args: list[str], key: str) -> None:
    bind(ZHANG)
    await supervision.leave(services, ADMIN, args, conversation)
    assert conversation.texts == [services.messages.t(key, name=args[0])]


async def test_exempt_needs_a_reason_and_records_it(
        services: Services, conversation: RecordingConversation) -> None:
    task = open_task(services)
    await supervision.exempt(services, ADMIN, [task.id], conversation)
    assert conversation.last == services.messages.t("exempt_usage")
    assert services.ledger.task(task.id).exempt_since is None
    await supervision.exempt(services, ADMIN, [task.id, "上级政策", "调整"], conversation)
    assert conversation.last == f"已将 {task.id} 移出考核（容错）：上级政策 调整"
    assert services.ledger.task(task.id).exempt_reason == "上级政策 调整"
    [*_, entry] = services.ledger.repo.history(task.id)
    assert entry.who == "督查室（1001）" and "上级政策 调整" in entry.note


async def test_report_sends_the_chart_then_the_bulletin(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    opened_in_november(services, clock)
    await supervision.report(services, ADMIN, ["旬"], conversation)
    *chart, bulletin = conversation.said
    assert "工作通报" in bulletin.text and bulletin.attachment is None
    if find_cjk_font():  # text only on a machine without a CJK font (never boxes)
        [photo] = chart
        assert photo.attachment is not None and photo.attachment.kind == "photo"
        assert photo.attachment.data.startswith(b"\x89PNG")
        assert "按时完成率" in photo.text
    else:
        assert chart == []


async def test_report_of_an_unknown_unit_names_the_units(
        services: Services, conversation: RecordingConversation) -> None:
    open_task(services)
    await supervision.report(services, ADMIN, ["月", "县教育局"], conversation)
    assert conversation.texts == [services.messages.t("tasks_none_unit", unit="县教育局",
                                                      units="县卫健局")]


async def test_score_refuses_a_period_it_cannot_read(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    opened_in_november(services, clock)
    await supervision.score(services, ADMIN, ["去年夏天"], conversation)
    assert conversation.texts == [services.messages.t("score_usage")]
    await supervision.score(services, ADMIN, [], conversation)
    assert "县卫健局" in conversation.last


# ---- 通报 as of today, period codes, scores up to today (issue 14, items 2 and 3) -----------


def november_ledger(services: Services, clock: FixedClock) -> None:
    """Opened 2 November (weekends-only calendar): 县卫健局's task overdue since Fri 20 Nov;
    县教育局 closes one on time (交账 and 核账 on 24 Nov, due the 25th) and has one due at the
    end of December. The clock goes back to Tue 1 December."""
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    open_task(services)
    school = services.ledger.add_task(NewTask(title="职业中学新校区", lead_unit="县教育局",
                                              owners=("李四",), deadline=date(2026, 11, 25)),
                                      who="督查室")
    services.ledger.add_task(NewTask(title="乡村振兴示范村", lead_unit="县教育局",
                                     owners=("李四",), deadline=date(2026, 12, 31)), who="督查室")
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=TZ))
    services.ledger.submit_report(school.id, Reading(ReplyKind.COMPLETION, progress=100,
                                                     text="已完成"), who="李四", user_id=2002)
    services.ledger.verify(school.id, who="督查室")
    clock.set(START)


async def test_report_today_reads_like_a_supervision_bulletin(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    november_ledger(services, clock)
    await supervision.report(services, ADMIN, ["今日"], conversation)
    *chart, said = conversation.said
    text = conversation.texts[-1]
    lines = text.split("\n")
    assert lines[0] == "📊【工作通报】截至12月1日（周二）"
    # 3 tasks: 1 closed (on time), 2 in progress of which 1 overdue; rate 1 / (1 + 1).
    assert lines[1] == ("截至12月1日，共有任务 3 项，已办结 1 项（占 33%），其中按时办结 1 项；"
                        "正在办理 2 项，其中逾期 1 项（占 33%）；按时完成率 50%。")
    # Units ranked, with no 进位/退位 (there is no earlier 截至今日 to compare with):
    # 县卫健局 overdue Nov 23–27, 30, Dec 1 = 7 workdays since it was opened → 93.
    assert "1. 县教育局 100 分（按时率 100%，逾期 0 项）" in lines
    assert "2. 县卫健局 93 分（按时率 0%，逾期 1 项）" in lines
    assert "🏅 红榜：县教育局" in lines
    assert any(line.startswith("县卫健局：T0001 中医院迁建项目一期工程（逾期 7 个工作日，张三）")
               for line in lines)
    assert said.attachment is None
    if find_cjk_font():
        [photo] = chart
        assert photo.text.startswith("截至12月1日 各单位按时完成率")


async def test_report_without_a_period_falls_back_to_today_for_a_new_ledger(
        services: Services, conversation: RecordingConversation) -> None:
    """A ledger opened (or imported) today did not exist in 11月下旬: /report says so and
    gives 截至今日 — not "11月下旬没有需要通报的任务" over an overdue task."""
    open_task(services)  # opened today, overdue since 20 November
    await supervision.report(services, ADMIN, [], conversation)
    lines = conversation.texts[-1].split("\n")
    assert lines[0] == services.messages.t("report_fallback_today", period="11月下旬")
    assert lines[1] == "📊【工作通报】截至12月1日（周二）"
    assert "逾期 1 项" in lines[2]


async def test_report_without_a_period_gives_the_last_complete_xun(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    november_ledger(services, clock)
    await supervision.report(services, ADMIN, [], conversation)
    text = conversation.texts[-1]
    assert text.startswith("📊【工作通报】11月下旬（11月21日—11月30日）")
    assert "本期共涉及任务" in text


async def test_report_takes_period_codes_like_score(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    november_ledger(services, clock)
    await supervision.report(services, ADMIN, ["2026-11-3"], conversation)
    assert conversation.texts[-1].startswith("📊【工作通报】11月下旬（11月21日—11月30日）")
    await supervision.report(services, ADMIN, ["2026-11", "县卫健局"], conversation)
    only = conversation.texts[-1]
    assert only.startswith("📊【工作通报】11月 · 县卫健局（11月1日—11月30日）")
    assert "县教育局" not in only
    await supervision.report(services, ADMIN, ["2026-Q4"], conversation)
    assert "2026年第四季度（10月1日—12月1日，本期进行中，截至今日）" in conversation.texts[-1]
    await supervision.report(services, ADMIN, ["2027-Q1"], conversation)
    assert conversation.texts[-1] == "2027年第一季度尚未开始，没有可通报或计分的数据。"
    await supervision.report(services, ADMIN, ["今日", "县卫健局"], conversation)
    assert conversation.texts[-1].startswith("📊【工作通报】截至12月1日（周二） · 县卫健局")


async def test_score_of_a_month_in_progress_counts_only_days_that_have_passed(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    """/score 2026-12 on 1 December: one overdue workday (today), not the 23 of the month; and
    nothing for reports (scores rest on results)."""
    opened_in_november(services, clock)
    await supervision.score(services, ADMIN, ["2026-12"], conversation)
    text = conversation.texts[-1]
    assert text.split("\n")[0] == "🏆【考核得分】12月（截至12月1日）（满分 100）"
    assert "1. 县卫健局 99 分：逾期 1 个工作日 -1" in text
    assert "应报未报" not in text
    await supervision.score(services, ADMIN, ["2027-01"], conversation)
    assert conversation.texts[-1] == "1月尚未开始，没有可通报或计分的数据。"
