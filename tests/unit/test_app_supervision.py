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
