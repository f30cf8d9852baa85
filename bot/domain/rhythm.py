"""The reminder rhythm: 以日保旬、以旬保月、以月保季、以季保年 (SPEC "The rhythm").

For each task in 推进中 and each workday D, with deadline T:
  T < D                                   → overdue    every workday
  T ≥ D, T in D's 旬                       → daily      every workday
  T in D's month, later 旬                 → xun        first workday of D's 旬
  T in D's quarter, later month            → monthly    first workday of D's month
  T in a later quarter or year             → quarterly  first workday of D's quarter
调度频次 adds a minimum (also reminded on the first workday of that rhythm's period; 每日 =
every workday); the finer kind wins, overdue wins over all. No deadline: the 调度频次,
每月 when none is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain.calendar import WorkCalendar
from bot.domain.model import Frequency, Task, TaskStatus
from bot.domain.periods import Period, PeriodKind, period_of


class ReminderKind(StrEnum):
    OVERDUE = "overdue"  # 督办
    DAILY = "daily"  # 以日保旬
    XUN = "xun"  # 以旬保月
    MONTHLY = "monthly"  # 以月保季
    QUARTERLY = "quarterly"  # 以季保年


# Finer first; overdue is handled before any comparison.
FINENESS: dict[ReminderKind, int] = {
    ReminderKind.DAILY: 0,
    ReminderKind.XUN: 1,
    ReminderKind.MONTHLY: 2,
    ReminderKind.QUARTERLY: 3,
}

# The period a reminder of each kind secures, and within which one report is enough (减负).
PERIOD_OF_KIND: dict[ReminderKind, PeriodKind] = {
    ReminderKind.OVERDUE: PeriodKind.DAY,
    ReminderKind.DAILY: PeriodKind.DAY,
    ReminderKind.XUN: PeriodKind.XUN,
    ReminderKind.MONTHLY: PeriodKind.MONTH,
    ReminderKind.QUARTERLY: PeriodKind.QUARTER,
}

KIND_OF_FREQUENCY: dict[Frequency, ReminderKind] = {
    Frequency.DAILY: ReminderKind.DAILY,
    Frequency.XUN: ReminderKind.XUN,
    Frequency.MONTHLY: ReminderKind.MONTHLY,
    Frequency.QUARTERLY: ReminderKind.QUARTERLY,
}

# Most urgent first when sending.
URGENCY: dict[ReminderKind, int] = {
    ReminderKind.OVERDUE: 0,
    ReminderKind.DAILY: 1,
    ReminderKind.XUN: 2,
    ReminderKind.MONTHLY: 3,
    ReminderKind.QUARTERLY: 4,
}


@dataclass(frozen=True)
class PlannedReminder:
    day: date
    task_id: str
    kind: ReminderKind
    to: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The SPEC's `plan --json` line."""
        return {"date": self.day.isoformat(), "task": self.task_id, "kind": self.kind.value,
                "to": list(self.to)}


@dataclass(frozen=True)
class _Day:
    """What the policy needs to know about one day, computed once for all tasks."""

    day: date
    workday: bool
    xun: tuple[int, int, int]
    month: tuple[int, int]
    quarter: tuple[int, int]
    due: dict[ReminderKind, bool]  # whether a reminder of each kind falls on this day


def _xun_key(day: date) -> tuple[int, int, int]:
    return (day.year, day.month, 1 if day.day <= 10 else 2 if day.day <= 20 else 3)


def _quarter_key(day: date) -> tuple[int, int]:
    return (day.year, (day.month - 1) // 3)


def _day(day: date, calendar: WorkCalendar) -> _Day:
    workday = calendar.is_workday(day)
    due = {kind: workday and (kind is ReminderKind.DAILY
                              or calendar.is_first_workday(day, PERIOD_OF_KIND[kind]))
           for kind in FINENESS}
    return _Day(day, workday, _xun_key(day), (day.year, day.month), _quarter_key(day), due)


def _kind_on(task: Task, ctx: _Day) -> ReminderKind | None:
    if task.status is not TaskStatus.OPEN or not ctx.workday:
        return None
    best: ReminderKind | None = None
    deadline = task.deadline
    if deadline is not None:
        if deadline < ctx.day:
            return ReminderKind.OVERDUE
        if _xun_key(deadline) == ctx.xun:
            base = ReminderKind.DAILY
        elif (deadline.year, deadline.month) == ctx.month:
            base = ReminderKind.XUN
        elif _quarter_key(deadline) == ctx.quarter:
            base = ReminderKind.MONTHLY
        else:
            base = ReminderKind.QUARTERLY
        if ctx.due[base]:
            best = base
    frequency = task.frequency
    if frequency is None and deadline is None:
        frequency = Frequency.MONTHLY
    if frequency is not None:
        minimum = KIND_OF_FREQUENCY[frequency]
        if ctx.due[minimum] and (best is None or FINENESS[minimum] < FINENESS[best]):
            best = minimum
    return best


def reminder_kind(task: Task, day: date, calendar: WorkCalendar) -> ReminderKind | None:
    """The reminder due for `task` on `day`, or None."""
    return _kind_on(task, _day(day, calendar))


def plan_day(tasks: Iterable[Task], day: date, calendar: WorkCalendar) -> list[PlannedReminder]:
    """Every reminder due on `day`, sorted by 编号."""
    ctx = _day(day, calendar)
    if not ctx.workday:
        return []
    planned = []
    for task in tasks:
        kind = _kind_on(task, ctx)
        if kind is not None:
            planned.append(PlannedReminder(day, task.id, kind, task.owners))
    planned.sort(key=lambda p: p.task_id)
    return planned


def plan(tasks: Iterable[Task], start: date, end: date,
         calendar: WorkCalendar) -> list[PlannedReminder]:
    """Reminders from `start` to `end` inclusive, sorted by date then 编号."""
    open_tasks = [t for t in tasks if t.status is TaskStatus.OPEN]
    result: list[PlannedReminder] = []
    for day in calendar.workdays(start, end):
        result.extend(plan_day(open_tasks, day, calendar))
    return result


def securing_period(kind: ReminderKind, day: date) -> Period:
    """The 减负 window of a reminder of `kind` on `day`: one report within it is enough
    (daily: the day itself; xun: the 旬; …)."""
    return period_of(PERIOD_OF_KIND[kind], day)


def secured_period(kind: ReminderKind, day: date) -> Period:
    """The period the reminder's work secures, as its message names it: 以日保旬 — a daily
    reminder secures the 旬; the others secure the period they are reminded in."""
    if kind is ReminderKind.DAILY:
        return period_of(PeriodKind.XUN, day)
    return securing_period(kind, day)


def already_reported(task: Task, kind: ReminderKind, day: date) -> bool:
    """减负: a non-overdue reminder is skipped when the task already got a status report within
    the current period of its kind. Overdue reminders are never skipped."""
    if kind is ReminderKind.OVERDUE or task.last_report_at is None:
        return False
    reported: datetime = task.last_report_at
    return securing_period(kind, day).contains(reported.date())
