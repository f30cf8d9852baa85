"""考核: unit scores for a period, with 容错 exemptions (and the per-task facts bulletins share).

Definitions, for a period P = [start, end] (a 旬, month or quarter), "as of" the end of P:

- A task counts for a unit when the unit is its 牵头单位 (lead_unit). Cancelled tasks (已撤销)
  never count. A task *counts in P* when it is open at the end of P or closed in P (see below);
  units that lead no task counting in P are not scored (and not ranked).
- closed in P: status 已销账 and closed_at.date() in P.
- done date: the date of the task's 交账 report (`reports[task.submission].at.date()`, when that
  report is present and not withdrawn), else closed_at.date(). Only 待核账 and 已销账 tasks have
  one.
- closed on time: closed in P and (no deadline, or done date <= deadline).
- overdue at end: not cancelled, deadline is not None, deadline < end, and not (done date is not
  None and done date <= end).
- open at end: created on or before end and not closed by end (status 推进中 or 待核账, or
  已销账 with closed_at.date() > end, so that a past period reads as it was at its end).
- on-time rate: closed on time / (closed in P + overdue at end); None when the denominator is 0.
- overdue task-workdays in P, for one task: the workdays d in P with d > deadline, d < done date
  (or no done date), created on or before d, and d before exempt_since.date() (容错).
- missed reports in P, for one task: the rhythm's reminders (`rhythm.plan_day`, once per workday
  of P for all tasks) with the task treated as 推进中 on every workday d from its creation date
  to the day before its done date, and d before exempt_since.date(); a reminder is missed when no
  report of the task that was not withdrawn (undone_at is None) is dated within its securing
  period (`rhythm.securing_period`) cut at the end of P. A report earlier in the securing period
  than the reminder day counts, as it would have spared the reminder (减负). One count per
  reminder, whatever the number of owners.
- score = clamp(base - overdue_per_workday * overdue task-workdays - missed_report * missed
  reports + closed_on_time * tasks closed on time in P, 0, 100). A task exempted (exempt_since not
  None) earns no bonus when it was closed at or after exempt_since.

The state history of a task is not an input: a task that was 退回 (sent back) and submitted
again is taken as open until its latest 交账.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.domain.calendar import WorkCalendar
from bot.domain.model import Report, Task, TaskStatus
from bot.domain.periods import Period
from bot.domain.rhythm import ReminderKind, plan_day, securing_period

_ONE_DAY = timedelta(days=1)

OVERDUE_DAYS = "overdue_days"
MISSED_REPORTS = "missed_reports"
CLOSED_ON_TIME = "closed_on_time"
_KIND_ORDER = {OVERDUE_DAYS: 0, MISSED_REPORTS: 1, CLOSED_ON_TIME: 2}

SCORE_MIN = 0.0
SCORE_MAX = 100.0


@dataclass(frozen=True)
class ScoringRules:
    """Points of the 考核: a base, minus per overdue workday and per missed report, plus a bonus
    per task closed on time."""

    base: float = 100
    overdue_per_workday: float = 1.0
    missed_report: float = 2.0
    closed_on_time: float = 2.0


DEFAULT_RULES = ScoringRules()


@dataclass(frozen=True)
class Deduction:
    """One line of a unit's score: `points` is negative for a deduction, positive for the bonus."""

    task_id: str
    kind: str  # "overdue_days" | "missed_reports" | "closed_on_time"
    count: int
    points: float


@dataclass(frozen=True)
class UnitScore:
    """A unit's score with its itemised lines. `closed_on_time` counts the tasks that earned the
    bonus (an exempted task closed after its exemption does not)."""

    unit: str
    score: float
    base: float
    items: tuple[Deduction, ...]
    overdue_days: int
    missed_reports: int
    closed_on_time: int


@dataclass(frozen=True)
class TaskFacts:
    """What one counting task contributes in a period (shared by scores and bulletins)."""

    task: Task
    done: date | None  # done date (交账 date, else 销账 date)
    open_at_end: bool
    closed_in_period: bool
    closed_on_time: bool
    overdue_at_end: bool
    overdue_days: int  # overdue task-workdays in P, after 容错
    missed_reports: int  # missed reminders in P, after 容错
    bonus: bool  # closed on time and not exempted before closing
    missed_days: tuple[date, ...] = ()  # the workdays of those missed reminders

    @property
    def unit(self) -> str:
        return self.task.lead_unit


def _dated(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def done_date(task: Task, reports: Sequence[Report] = ()) -> date | None:
    """The day the task was reported done (交账), else closed (销账); None while not done."""
    if task.status not in (TaskStatus.SUBMITTED, TaskStatus.CLOSED):
        return None
    if task.submission:
        for report in reports:
            if report.id == task.submission and report.undone_at is None:
                return report.at.date()
    return _dated(task.closed_at)


def _workdays_in(calendar: WorkCalendar, first: date, last: date) -> int:
    """Workdays d with first <= d <= last."""
    if last < first:
        return 0
    return calendar.workdays_between(first - _ONE_DAY, last)


@dataclass
class _Facts:
    """Mutable working form of `TaskFacts` while the missed reports are counted."""

    task: Task
    done: date | None
    open_at_end: bool
    closed_in_period: bool
    closed_on_time: bool
    overdue_at_end: bool
    overdue_days: int
    bonus: bool
    created: date
    stop: date | None  # first day without reminders: min(done date, exemption date)
    report_days: list[date]  # sorted dates of the reports that were not withdrawn
    missed_days: list[date] = field(default_factory=list)

    def frozen(self) -> TaskFacts:
        return TaskFacts(self.task, self.done, self.open_at_end, self.closed_in_period,
                         self.closed_on_time, self.overdue_at_end, self.overdue_days,
                         len(self.missed_days), self.bonus, tuple(self.missed_days))


def _facts_of(task: Task, reports: Sequence[Report], period: Period,
              calendar: WorkCalendar) -> _Facts | None:
    """The facts of one task, or None when it does not count in `period`."""
    start, end = period.start, period.end
    if task.status is TaskStatus.CANCELLED:
        return None
    created = task.created_at.date()
    if created > end:
        return None
    closed_day: date | None = None
    if task.status is TaskStatus.CLOSED:
        closed_day = _dated(task.closed_at)
        if closed_day is None:
            return None  # closed with no closing time: nothing sound can be said about it
    closed_in = closed_day is not None and start <= closed_day <= end
    open_at_end = closed_day is None or closed_day > end
    if not (open_at_end or closed_in):
        return None  # closed before the period began
    done = done_date(task, reports)
    deadline = task.deadline
    on_time = closed_in and (deadline is None or (done is not None and done <= deadline))
    overdue = deadline is not None and deadline < end and not (done is not None and done <= end)
    exempt = _dated(task.exempt_since)
    stop = done
    if exempt is not None and (stop is None or exempt < stop):
        stop = exempt
    days = 0
    if deadline is not None:
        last = end if stop is None else min(end, stop - _ONE_DAY)
        days = _workdays_in(calendar, max(start, deadline + _ONE_DAY, created), last)
    bonus = on_time and not (task.exempt_since is not None and task.closed_at is not None
                             and task.closed_at >= task.exempt_since)
    report_days = sorted(r.at.date() for r in reports if r.undone_at is None)
    return _Facts(task, done, open_at_end, closed_in, on_time, overdue, days, bonus, created,
                  stop, report_days)


def _count_missed(facts: Sequence[_Facts], period: Period, calendar: WorkCalendar) -> None:
    """Fill in `missed_days`: the rhythm is planned once per workday of the period for all tasks."""
    start, end = period.start, period.end
    plannable = [(f.created, f.stop or date.max, f.task.with_changes(status=TaskStatus.OPEN))
                 for f in facts if f.stop is None or f.stop > start]
    by_id = {f.task.id: f for f in facts}
    for day in calendar.workdays(start, end):
        active = [task for created, stop, task in plannable if created <= day < stop]
        if not active:
            continue
        windows: dict[ReminderKind, tuple[date, date]] = {}
        for reminder in plan_day(active, day, calendar):
            window = windows.get(reminder.kind)
            if window is None:
                secured = securing_period(reminder.kind, day)
                window = windows[reminder.kind] = (secured.start, min(secured.end, end))
            f = by_id[reminder.task_id]
            days = f.report_days
            index = bisect_left(days, window[0])
            if index == len(days) or days[index] > window[1]:
                f.missed_days.append(day)


def task_facts(tasks: Iterable[Task], reports_by_task: Mapping[str, Sequence[Report]],
               period: Period, calendar: WorkCalendar) -> list[TaskFacts]:
    """The facts of every task counting in `period` (module docstring), in input order.

    Task ids are taken as unique (SPEC: 编号).
    """
    working = []
    for task in tasks:
        f = _facts_of(task, reports_by_task.get(task.id, ()), period, calendar)
        if f is not None:
            working.append(f)
    _count_missed(working, period, calendar)
    return [f.frozen() for f in working]


def scores_from_facts(facts: Iterable[TaskFacts],
                      rules: ScoringRules = DEFAULT_RULES) -> dict[str, UnitScore]:
    """Unit scores from precomputed task facts (see `score_units`)."""
    items_by_unit: dict[str, list[Deduction]] = {}
    for f in facts:
        items = items_by_unit.setdefault(f.unit, [])
        task_id = f.task.id
        if f.overdue_days:
            items.append(Deduction(task_id, OVERDUE_DAYS, f.overdue_days,
                                   -rules.overdue_per_workday * f.overdue_days))
        if f.missed_reports:
            items.append(Deduction(task_id, MISSED_REPORTS, f.missed_reports,
                                   -rules.missed_report * f.missed_reports))
        if f.bonus:
            items.append(Deduction(task_id, CLOSED_ON_TIME, 1, rules.closed_on_time))
    scores: dict[str, UnitScore] = {}
    for unit in sorted(items_by_unit):
        items = sorted(items_by_unit[unit], key=lambda i: (i.task_id, _KIND_ORDER[i.kind]))
        raw = rules.base + sum(i.points for i in items)
        score = round(min(SCORE_MAX, max(SCORE_MIN, raw)), 6)
        scores[unit] = UnitScore(
            unit=unit, score=score, base=rules.base, items=tuple(items),
            overdue_days=sum(i.count for i in items if i.kind == OVERDUE_DAYS),
            missed_reports=sum(i.count for i in items if i.kind == MISSED_REPORTS),
            closed_on_time=sum(i.count for i in items if i.kind == CLOSED_ON_TIME))
    return scores


def score_units(tasks: Iterable[Task], reports_by_task: Mapping[str, Sequence[Report]],
                period: Period, calendar: WorkCalendar,
                rules: ScoringRules = DEFAULT_RULES) -> dict[str, UnitScore]:
    """The score of every unit that leads a task counting in `period`, keyed by unit name."""
    return scores_from_facts(task_facts(tasks, reports_by_task, period, calendar), rules)
