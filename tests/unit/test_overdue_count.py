"""One count of 逾期N个工作日 everywhere (issue 14, item 3): /tasks, /task, the 督办 reminder,
the 督办单, the 通报 and the export all say the same number of workdays — never calendar days.

The services' calendar is weekends-only (tests/unit/conftest.py). The task is due Friday
20 November; on Tuesday 1 December it is 11 calendar days late but 7 workdays (Nov 23–27,
Nov 30, Dec 1).
"""

from __future__ import annotations

from datetime import date, datetime

import tests.conftest as people
from bot.app import commands
from bot.app.conversation import Caller
from bot.bulletins import make_bulletin
from bot.domain.ledger import NewTask
from bot.domain.ledger_file import EXPORT_COLUMNS
from bot.domain.model import Task, TaskStatus
from bot.domain.periods import ToDate
from bot.domain.replies import Reading, ReplyKind
from bot.domain.rhythm import ReminderKind
from bot.domain.warning import Light
from bot.ledger_io import export_rows
from bot.services import Services
from tests.conftest import TZ
from tests.support.fake_channel import RecordingConversation
from tests.unit.conftest import START

ADMIN = Caller(people.ADMIN, "督查室")
TODAY = START.date()
LATE = "已逾期 7 个工作日"


def overdue_task(services: Services) -> Task:
    return services.ledger.add_task(NewTask(title="中医院迁建项目一期工程", lead_unit="县卫健局",
                                            owners=("张三",), deadline=date(2026, 11, 20),
                                            leader="陈副县长"), who="督查室")


def counts(services: Services, task: Task) -> dict[str, int]:
    """The overdue figure of the export's 逾期天数 and of the 通报's overdue list."""
    [row] = export_rows([task], {task.id: Light.RED}, services.calendar, TODAY)
    bulletin = make_bulletin(services.ledger.repo, services.calendar, services.config,
                             ToDate(TODAY, TODAY), today=TODAY)
    [item] = bulletin.overdue
    return {"export": int(str(row[EXPORT_COLUMNS.index("逾期天数")])),
            "bulletin": item.days_overdue}


async def test_every_place_says_the_same_workdays(services: Services) -> None:
    task = overdue_task(services)
    conversation = RecordingConversation()
    await commands.list_tasks(services, ADMIN, [], conversation)
    await commands.show_task(services, ADMIN, [task.id], conversation)
    listing, detail = conversation.texts
    assert LATE in listing and LATE in detail
    assert "11 天" not in listing + detail
    msgs, calendar = services.messages, services.calendar
    assert LATE in msgs.escalation_sheet(task, TODAY, calendar)  # 督办单
    assert LATE in msgs.rhythm_reminder(task, ReminderKind.OVERDUE, TODAY, calendar, Light.RED)
    assert counts(services, task) == {"export": 7, "bulletin": 7}


async def test_a_submission_waiting_for_verification_is_still_overdue(
        services: Services) -> None:
    """待核账 is not closed: past its deadline it stays 🔴 with the same count until 核账."""
    task = overdue_task(services)
    services.ledger.submit_report(task.id, Reading(ReplyKind.COMPLETION, progress=100,
                                                   text="已完成"), who="张三", user_id=2001)
    task = services.ledger.task(task.id)
    assert task.status is TaskStatus.SUBMITTED
    assert services.lights.of(task, TODAY) is Light.RED
    conversation = RecordingConversation()
    await commands.list_tasks(services, ADMIN, [], conversation)
    assert LATE in conversation.texts[-1]
    assert counts(services, task)["export"] == 7


def test_the_rest_days_right_after_the_deadline(services: Services) -> None:
    """Due Friday 27 November, on Saturday: past the deadline, no workday lost yet."""
    task = services.ledger.add_task(NewTask(title="职业中学新校区", lead_unit="县教育局",
                                            owners=("李四",), deadline=date(2026, 11, 27)),
                                    who="督查室")
    saturday = datetime(2026, 11, 28, 10, tzinfo=TZ).date()
    text = services.messages.deadline_with_days(task, saturday)
    assert text == "11月27日（周五），已过完成时限"
    monday = date(2026, 11, 30)
    assert services.messages.deadline_with_days(task, monday).endswith("已逾期 1 个工作日")
    closed = task.with_changes(status=TaskStatus.CLOSED)
    assert services.messages.deadline_with_days(closed, monday) == "11月27日（周五）"
