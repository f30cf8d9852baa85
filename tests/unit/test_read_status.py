"""已送达未读 (issue 15 item 3), channel-neutral: the dispatcher keeps the sender's receipt with
each sent reminder (jobs/dispatch.py), the next workday's dispatch and the daily summary ask
who read them (jobs/read_status.py) and record it in the outbox, and the 督办单 and the
summary say which 责任人 have not read their reminder. The FakeSender plays a channel that
can tell (`receipts`); with its defaults it is Telegram, which cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

import tests.conftest as people
from bot.app.digest import DigestEntry, escalation_parts
from bot.domain.clock import FixedClock
from bot.domain.model import DeliveryStatus, OutboxEntry, Person, Task
from bot.domain.rhythm import ReminderKind
from bot.messages import Messages
from bot.services import Services
from jobs.dispatch import DispatchReport
from jobs.pacing import Pacer
from jobs.read_status import note_read_status
from jobs.schedule import summary_job
from jobs.summary import daily_summary
from tests.conftest import TZ
from tests.support.fake_channel import FakeSender
from tests.support.harness import FakeTime
from tests.unit.conftest import LEADER, ZHANG, Actor

DEC1 = date(2026, 12, 1)  # Tuesday
DEC2 = date(2026, 12, 2)
ZHANG_ACCOUNT = str(people.ZHANG)  # 张三's account id on the FakeSender's channel


@pytest.fixture
def dispatch(services: Services) -> Callable[[date], object]:
    time = FakeTime()
    dispatcher = services.dispatcher
    dispatcher._pacer_factory = lambda: Pacer(monotonic=time.monotonic, sleep=time.sleep)
    dispatcher._sleep = time.sleep

    async def run(day: date) -> DispatchReport:
        return await dispatcher.run(day)

    return run


@pytest.fixture
def late(bind: Callable[[Actor], Person], make_task: Callable[..., Task]) -> Task:
    """A task of 张三 (bound), led by 陈副县长 (bound), overdue since 20 November: both days
    a reminder for 张三 and a 督办单 for the leader."""
    bind(ZHANG)
    bind(LEADER)
    return make_task("中医院迁建项目一期工程", deadline=date(2026, 11, 20))


def reminder(services: Services, day: date, task: Task) -> OutboxEntry:
    [entry] = [e for e in services.ledger.deliveries_of(day)
               if e.task_id == task.id and e.person == "张三"]
    return entry


def sheets(sender: FakeSender) -> list[str]:
    return [m.plain for m in sender.sent
            if m.chat_id == people.LEADER and "督办单" in m.plain]


async def test_an_unread_reminder_is_on_the_next_sheet_and_in_the_summary(
        services: Services, sender: FakeSender, clock: FixedClock, late: Task,
        dispatch: Callable[[date], object]) -> None:
    sender.receipts = True
    await dispatch(DEC1)  # type: ignore[misc]
    sent = reminder(services, DEC1, late)
    assert sent.status is DeliveryStatus.SENT and sent.receipt == f"r{sent.message_id}"
    assert sent.read is None  # not asked yet
    assert "未读" not in sheets(sender)[-1]

    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=TZ))
    await dispatch(DEC2)  # type: ignore[misc]
    assert (people.ZHANG, sent.receipt) in sender.asked
    assert reminder(services, DEC1, late).read is False  # recorded, durably
    sheet = sheets(sender)[-1]
    assert "12月2日" in sheet and "张三：提醒已送达，未读" in sheet

    # The summary says it from the record, without asking the channel again …
    asked = len(sender.asked)
    text = daily_summary(services, DEC2)
    assert len(sender.asked) == asked
    assert "已送达未读 1 条" in text and f"张三（{late.id}）" in text
    # … and the summary job asks first: read since, no longer listed.
    sender.mark_read(sent.receipt, ZHANG_ACCOUNT)
    clock.set(datetime(2026, 12, 2, 17, 30, tzinfo=TZ))
    await summary_job(services)
    summary = next(m.plain for m in reversed(sender.sent) if "今日小结" in m.plain)
    assert "已送达未读" not in summary
    assert reminder(services, DEC1, late).read is True


async def test_read_ones_are_not_asked_again_and_unknown_ones_stay_unknown(
        services: Services, sender: FakeSender, late: Task,
        dispatch: Callable[[date], object]) -> None:
    sender.receipts = True
    await dispatch(DEC1)  # type: ignore[misc]
    sent = reminder(services, DEC1, late)
    assert sent.receipt is not None

    sender.read_unknown.add(people.ZHANG)  # the channel cannot say now
    check = await note_read_status(services.ledger.repo, services.ledger, sender, DEC1)
    assert check.asked == 1 and check.unknown == 1 and check.unread == []
    assert reminder(services, DEC1, late).read is None  # never "unread" on a guess
    assert "已送达未读" not in daily_summary(services, DEC2)

    sender.read_unknown.clear()
    sender.mark_read(sent.receipt, ZHANG_ACCOUNT)
    check = await note_read_status(services.ledger.repo, services.ledger, sender, DEC1)
    assert check.unread == [] and reminder(services, DEC1, late).read is True
    asked = len(sender.asked)
    check = await note_read_status(services.ledger.repo, services.ledger, sender, DEC1)
    assert check.asked == 0 and len(sender.asked) == asked


async def test_a_channel_that_cannot_tell_keeps_its_entries_as_they_were(
        services: Services, sender: FakeSender, clock: FixedClock, late: Task,
        dispatch: Callable[[date], object]) -> None:
    await dispatch(DEC1)  # type: ignore[misc]  # FakeSender's defaults: Telegram
    sent = reminder(services, DEC1, late)
    assert sent.receipt is None and "receipt" not in sent.to_doc() \
        and "read" not in sent.to_doc()
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=TZ))
    await dispatch(DEC2)  # type: ignore[misc]
    assert sender.asked == [] and "未读" not in sheets(sender)[-1]
    assert "已送达未读" not in daily_summary(services, DEC2)


def test_old_documents_load_and_new_fields_round_trip() -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    old = {"day": "2026-12-01", "task": "T1", "person": "张三", "kind": "overdue",
           "status": "sent", "at": at.isoformat(), "message_id": 7, "chat_id": 2001}
    entry = OutboxEntry.from_doc(old)
    assert entry.receipt is None and entry.read is None and entry.to_doc() == old
    kept = OutboxEntry(DEC1, "T1", "张三", "overdue", DeliveryStatus.SENT, at, message_id=7,
                       chat_id=2001, channel="dingtalk", receipt="pqk==", read=False)
    assert OutboxEntry.from_doc(kept.to_doc()) == kept


def test_the_digest_sheet_names_the_unread_owners(
        services: Services, make_task: Callable[..., Task]) -> None:
    tasks = [make_task(f"逾期任务{i}", deadline=date(2026, 11, 20 + i)) for i in range(2)]
    entries = [DigestEntry(tasks[0], ReminderKind.OVERDUE, unread=("张三",)),
               DigestEntry(tasks[1], ReminderKind.OVERDUE)]
    [part] = escalation_parts(services.messages, DEC2, entries, services.calendar)
    lines = part.text.splitlines()
    at = next(i for i, line in enumerate(lines) if "📭" in line)
    assert "张三：提醒已送达，未读" in lines[at]
    assert tasks[0].id in "\n".join(lines[:at]) and tasks[1].id not in "\n".join(lines[:at])
    [part] = escalation_parts(Messages("en"), DEC2, entries, services.calendar)
    assert "张三: reminder delivered, not read" in part.text
    [single] = escalation_parts(services.messages, DEC2, entries[:1], services.calendar)
    assert "张三：提醒已送达，未读" in single.text
