"""The reminder policy of SPEC "The rhythm", on the real work calendar (2026 data, 2027
fallback)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from bot.adapters.holidays import ChineseCalendarSource, default_calendar
from bot.domain.calendar import WorkCalendar
from bot.domain.model import Frequency, Task, TaskStatus
from bot.domain.rhythm import ReminderKind, already_reported, plan, reminder_kind
from tests.conftest import TZ

CAL = default_calendar()

OV, D, X, M, Q = (ReminderKind.OVERDUE, ReminderKind.DAILY, ReminderKind.XUN,
                 ReminderKind.MONTHLY, ReminderKind.QUARTERLY)


def task(deadline: date | None, frequency: Frequency | None = None, *, task_id: str = "T0001",
         status: TaskStatus = TaskStatus.OPEN, owners: tuple[str, ...] = ("张三",),
         last_report: date | None = None) -> Task:
    return Task(id=task_id, title="任务", lead_unit="县发改局", owners=owners, deadline=deadline,
                created_at=datetime(2026, 1, 1, tzinfo=TZ), frequency=frequency, status=status,
                last_report_at=(datetime.combine(last_report, datetime.min.time(), TZ)
                                if last_report else None))


d = date.fromisoformat


@pytest.mark.parametrize("day,deadline,frequency,expected", [
    # 2026-12-01 (Tue): first workday of December and of its 上旬, not of the quarter.
    ("2026-12-01", "2026-11-30", None, OV),
    ("2026-12-01", "2026-12-01", None, D),
    ("2026-12-01", "2026-12-10", None, D),
    ("2026-12-01", "2026-12-11", None, X),
    ("2026-12-01", "2026-12-31", None, X),
    ("2026-12-01", "2027-01-15", None, None),  # later quarter: only on the quarter's first day
    ("2026-12-01", "2027-03-31", Frequency.MONTHLY, M),  # 调度频次 minimum
    ("2026-12-01", "2027-03-31", Frequency.XUN, X),
    ("2026-12-01", "2026-12-31", Frequency.QUARTERLY, X),  # the finer kind wins
    ("2026-12-01", "2026-11-20", Frequency.DAILY, OV),  # overdue wins over all
    # 2026-12-02 (Wed): an ordinary workday.
    ("2026-12-02", "2026-12-15", None, None),
    ("2026-12-02", "2026-12-15", Frequency.DAILY, D),
    ("2026-12-02", "2026-12-02", None, D),
    ("2026-12-02", "2026-12-01", None, OV),
    # 旬 boundaries: the 10th belongs to 上旬, the 11th starts 中旬, the 21st 下旬.
    ("2026-12-10", "2026-12-10", None, D),
    ("2026-12-10", "2026-12-11", None, None),
    ("2026-12-11", "2026-12-20", None, D),  # Fri 11th: first workday of 中旬
    ("2026-12-11", "2026-12-21", None, X),
    ("2026-12-21", "2026-12-31", None, D),  # Mon 21st: 下旬 runs to the 31st
    ("2026-11-23", "2026-11-30", None, D),  # 30-day month
    ("2027-02-22", "2027-02-28", None, D),  # 28-day month (fallback year)
    ("2027-02-22", "2027-03-01", None, None),
    # Rest days: nothing at all, even overdue.
    ("2026-12-12", "2026-12-01", None, None),
    ("2026-10-03", "2026-09-30", None, None),  # 国庆
    # Months and quarters.
    ("2026-11-02", "2026-12-31", None, M),  # first workday of November, same quarter
    ("2026-11-03", "2026-12-31", None, None),
    ("2026-10-08", "2027-03-31", None, Q),  # first workday of Q4 after the National Day break
    ("2026-10-08", "2027-03-31", Frequency.XUN, X),
    ("2026-10-08", "2026-12-31", None, M),
    ("2026-10-09", "2027-03-31", None, None),
    ("2026-01-04", "2026-06-30", None, Q),  # Sunday 1 Jan 2026 +3: 调休 make-up workday
    ("2027-01-04", "2027-06-30", None, Q),  # 2027: 元旦 Fri, weekend, so Mon the 4th
    ("2027-01-01", "2027-06-30", None, None),
    ("2027-01-04", "2028-01-31", None, Q),  # a later year
    # No deadline: the 调度频次, 每月 when none is given.
    ("2026-12-01", None, None, M),
    ("2026-12-02", None, None, None),
    ("2026-12-11", None, Frequency.XUN, X),
    ("2026-12-14", None, Frequency.XUN, None),
    ("2026-12-14", None, Frequency.DAILY, D),
    ("2026-10-08", None, Frequency.QUARTERLY, Q),
    ("2026-11-02", None, Frequency.QUARTERLY, None),
])
def test_policy_table(day: str, deadline: str | None, frequency: Frequency | None,
                      expected: ReminderKind | None) -> None:
    t = task(d(deadline) if deadline else None, frequency)
    assert reminder_kind(t, d(day), CAL) == expected


@pytest.mark.parametrize("status", [TaskStatus.SUBMITTED, TaskStatus.CLOSED,
                                    TaskStatus.CANCELLED])
def test_only_open_tasks_are_reminded(status: TaskStatus) -> None:
    assert reminder_kind(task(d("2026-11-01"), status=status), d("2026-12-01"), CAL) is None


def test_plan_is_sorted_by_date_then_id_in_spec_json() -> None:
    tasks = [task(d("2026-12-31"), task_id="T0002", owners=("李四", "王五")),
             task(d("2026-12-03"), task_id="T0001"),
             task(d("2026-11-01"), task_id="T0003", status=TaskStatus.SUBMITTED)]
    planned = plan(tasks, d("2026-12-01"), d("2026-12-04"), CAL)
    lines = [json.dumps(p.to_json(), ensure_ascii=False) for p in planned]
    assert lines == [
        '{"date": "2026-12-01", "task": "T0001", "kind": "daily", "to": ["张三"]}',
        '{"date": "2026-12-01", "task": "T0002", "kind": "xun", "to": ["李四", "王五"]}',
        '{"date": "2026-12-02", "task": "T0001", "kind": "daily", "to": ["张三"]}',
        '{"date": "2026-12-03", "task": "T0001", "kind": "daily", "to": ["张三"]}',
        '{"date": "2026-12-04", "task": "T0001", "kind": "overdue", "to": ["张三"]}',
    ]


def test_plan_skips_rest_days_and_extra_holidays() -> None:
    calendar = WorkCalendar(ChineseCalendarSource(), extra_holidays=[d("2026-12-02")],
                            extra_workdays=[d("2026-12-05")])
    days = {p.day for p in plan([task(d("2026-12-10"))], d("2026-12-01"), d("2026-12-07"),
                                calendar)}
    assert days == {d("2026-12-01"), d("2026-12-03"), d("2026-12-04"), d("2026-12-05"),
                    d("2026-12-07")}


@pytest.mark.parametrize("kind,day,reported,skip", [
    (D, "2026-12-02", "2026-12-02", True),  # daily: reported today
    (D, "2026-12-02", "2026-12-01", False),
    (X, "2026-12-11", "2026-12-11", True),
    (X, "2026-12-11", "2026-12-10", False),  # previous 旬
    (M, "2026-12-01", "2026-12-01", True),
    (M, "2026-12-01", "2026-11-30", False),
    (Q, "2026-10-08", "2026-10-01", True),
    (Q, "2026-10-08", "2026-09-30", False),
    (OV, "2026-12-02", "2026-12-02", False),  # overdue reminders are never skipped
])
def test_burden_limit(kind: ReminderKind, day: str, reported: str, skip: bool) -> None:
    t = task(d("2026-12-31"), last_report=d(reported))
    assert already_reported(t, kind, d(day)) is skip


def test_no_date_ever_raises() -> None:
    t = task(d("2030-06-30"), Frequency.XUN)
    for year in (2027, 2030, 2099, 2100, 9998):
        start = date(year, 1, 1)
        plan([t], start, date(year, 12, 31), CAL)
