"""考核: unit scores for a window, with 容错 exemptions (and the per-task facts bulletins share).

Scores and rankings rest on results — tasks closed on time, tasks overdue — never on how fast
or how often people answer. Definitions, for a window W = [start, end] (a 旬, month or
quarter, or 截至今日 from the ledger's first day), taken as of A = end, or today when W is still
in progress (a period in progress is scored up to today, never over days still to come):

- A task counts for a unit when the unit is its 牵头单位 (lead_unit). Cancelled tasks (已撤销)
  never count, nor tasks created (下达) after A. A task *counts in W* when it is open at A or
  closed in W; units that lead no task counting in W are not scored (and not ranked).
- closed: 已销账, i.e. verified by 核账. A 待核账 task is not closed. closed in W: closed_at.date()
  in [start, A].
- done date (of a closed task only): the date of its accepted 交账 report
  (`reports[task.submission]`, when present and not withdrawn), else closed_at.date(). The
  work counts as done the day it was reported done, once 核账 has verified it: how long the
  督查室 took to verify does not make a unit late.
- submitted date: the same 交账 date for a 待核账 or 已销账 task (reminders stop on it).
- closed on time (按时办结): closed in W and (no deadline, or done date <= deadline).
- overdue at A: deadline is not None, deadline < A, and not (done date is not None and done
  date <= A). A 待核账 task past its deadline is overdue, as it is 🔴 in /tasks.
- open at A: created on or before A and not closed by A (推进中 or 待核账, or 已销账 with
  closed_at.date() > A, so that a past period reads as it was at its end).
- pending at A (待核账 at A): open at A with a submitted date on or before A.
- on-time rate: closed on time / (closed in W + overdue at A); None when the denominator is 0.
- overdue task-workdays in W, for one task: the workdays d with max(start, created) <= d <= A,
  d > deadline, d <= done date (when done) and d before exempt_since.date() (容错) — the days
  it was 逾期 by the one count (`bot.domain.warning.workdays_overdue`).
- score = clamp(base - overdue_per_workday * overdue task-workdays + closed_on_time * tasks
  closed on time in W, 0, 100). A task exempted (exempt_since not None) earns no bonus when
  it was closed at or after exempt_since.
- missed reports (information for the 未报送 list of a bulletin, never in a score): the rhythm's
  reminders (`rhythm.plan_day`, on the workdays of [start, A]) with the task treated as 推进中
  from its creation to the day before its submitted date, and before exempt_since.date(); a
  reminder is missed when no report that was not withdrawn is dated within its securing period
  (`rhythm.securing_period`) cut at the end of W, and that period is over (before today). A
  report earlier in the securing period than the reminder day counts (减负). One count per
  reminder, whatever the number of owners.

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
from bot.domain.periods import Window
from bot.domain.rhythm import ReminderKind, plan_day, securing_period
from bot.domain.warning import workdays_overdue

_ONE_DAY = timedelta(days=1)

OVERDUE_DAYS = "overdue_days"
CLOSED_ON_TIME = "closed_on_time"
_KIND_ORDER = {OVERDUE_DAYS: 0, CLOSED_ON_TIME: 1}

SCORE_MIN = 0.0
SCORE_MAX = 100.0


@dataclass(frozen=True)
class ScoringRules:
    """Points of the 考核: a base, minus per overdue task-workday, plus a bonus per task closed
    on time. Nothing for reporting often or fast: scores rest on results."""

    base: float = 100
    overdue_per_workday: float = 1.0
    closed_on_time: float = 2.0


DEFAULT_RULES = ScoringRules()


@dataclass(frozen=True)
class Deduction:
    """One line of a unit's score: `points` is negative for a deduction, positive for the bonus."""

    task_id: str
    kind: str  # "overdue_days" | "closed_on_time"
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
    closed_on_time: int


@dataclass(frozen=True)
class TaskFacts:
    """What one counting task contributes in a window (shared by scores and bulletins)."""

    task: Task
    done: date | None  # done date of a closed task (its accepted 交账's date, else 销账 date)
    open_at_end: bool
    closed_in_period: bool
    closed_on_time: bool
    overdue_at_end: bool
    overdue_days: int  # overdue task-workdays in the window, after 容错
    missed_reports: int  # missed reminders in the window, after 容错 (information only)
    bonus: bool  # closed on time and not exempted before closing
    missed_days: tuple[date, ...] = ()  # the workdays of those missed reminders
    pending_at_end: bool = False  # 待核账 at the end: reported done, not verified yet

    @property
    def unit(self) -> str:
        return self.task.lead_unit


def _dated(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def submitted_date(task: Task, reports: Sequence[Report] = ()) -> date | None:
    """The day of the task's current 交账 (待核账 or 已销账); else its 销账 day; None while
    推进中 (or cancelled)."""
    if task.status not in (TaskStatus.SUBMITTED, TaskStatus.CLOSED):
        return None
    if task.submission:
        for report in reports:
            if report.id == task.submission and report.undone_at is None:
                return report.at.date()
    return _dated(task.closed_at)


def done_date(task: Task, reports: Sequence[Report] = ()) -> date | None:
    """The day a closed (verified) task was done: its accepted 交账, else its 销账 day. None for
    a task that is not closed: a 待核账 task is not done until 核账."""
    if task.status is not TaskStatus.CLOSED:
        return None
    return submitted_date(task, reports)


def as_of(window: Window, today: date | None) -> date:
    """The day a window's figures are taken: its end, or today while it is in progress."""
    if today is None or today >= window.end:
        return window.end
    return today


def overdue_workdays_in(deadline: date | None, first: date, last: date,
                        calendar: WorkCalendar) -> int:
    """Workdays d with first <= d <= last on which a task with `deadline` was 逾期 (d after the
    deadline): the one count (`workdays_overdue`) at `last` minus the one before `first`."""
    if last < first:
        return 0
    return (workdays_overdue(deadline, last, calendar)
            - workdays_overdue(deadline, first - _ONE_DAY, calendar))


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
    pending: bool
    created: date
    stop: date | None  # first day without reminders: min(submitted date, exemption date)
    report_days: list[date]  # sorted dates of the reports that were not withdrawn
    missed_days: list[date] = field(default_factory=list)

    def frozen(self) -> TaskFacts:
        return TaskFacts(self.task, self.done, self.open_at_end, self.closed_in_period,
                         self.closed_on_time, self.overdue_at_end, self.overdue_days,
                         len(self.missed_days), self.bonus, tuple(self.missed_days),
                         self.pending)


def _facts_of(task: Task, reports: Sequence[Report], start: date, end: date,
              calendar: WorkCalendar) -> _Facts | None:
    """The facts of one task in [start, end] (end = the as-of day), or None when it does not
    count there."""
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
        return None  # closed before the window began
    submitted = submitted_date(task, reports)
    done = submitted if task.status is TaskStatus.CLOSED else None
    deadline = task.deadline
    on_time = closed_in and (deadline is None or (done is not None and done <= deadline))
    overdue = deadline is not None and deadline < end and not (done is not None and done <= end)
    pending = open_at_end and submitted is not None and submitted <= end
    exempt = _dated(task.exempt_since)
    last = end
    if done is not None:
        last = min(last, done)
    if exempt is not None:
        last = min(last, exempt - _ONE_DAY)
    days = overdue_workdays_in(deadline, max(start, created), last, calendar)
    stop = submitted
    if exempt is not None and (stop is None or exempt < stop):
        stop = exempt
    bonus = on_time and not (task.exempt_since is not None and task.closed_at is not None
                             and task.closed_at >= task.exempt_since)
    report_days = sorted(r.at.date() for r in reports if r.undone_at is None)
    return _Facts(task, done, open_at_end, closed_in, on_time, overdue, days, bonus, pending,
                  created, stop, report_days)


def _count_missed(facts: Sequence[_Facts], start: date, end: date, cut: date,
                  today: date | None, calendar: WorkCalendar) -> None:
    """Fill in `missed_days`: the rhythm is planned once per workday of [start, end] for all
    tasks; a securing period is cut at `cut` (the window's end) and judged once it is over
    (before `today`, when given)."""
    plannable = [(f.created, f.stop or date.max, f.task.with_changes(status=TaskStatus.OPEN))
                 for f in facts if f.stop is None or f.stop > start]
    by_id = {f.task.id: f for f in facts}
    for day in calendar.workdays(start, end):
        active = [task for created, stop, task in plannable if created <= day < stop]
        if not active:
            continue
        windows: dict[ReminderKind, tuple[date, date] | None] = {}
        for reminder in plan_day(active, day, calendar):
            if reminder.kind in windows:
                window = windows[reminder.kind]
            else:
                secured = securing_period(reminder.kind, day)
                window = (secured.start, min(secured.end, cut))
                if today is not None and window[1] >= today:
                    window = None  # still time to report: not missed (yet)
                windows[reminder.kind] = window
            if window is None:
                continue
            f = by_id[reminder.task_id]
            days = f.report_days
            index = bisect_left(days, window[0])
            if index == len(days) or days[index] > window[1]:
                f.missed_days.append(day)


def task_facts(tasks: Iterable[Task], reports_by_task: Mapping[str, Sequence[Report]],
               window: Window, calendar: WorkCalendar, *, today: date | None = None,
               missed: bool = True) -> list[TaskFacts]:
    """The facts of every task counting in `window` as of `as_of(window, today)` (module
    docstring), in input order. `missed=False` skips the missed reports (they are only
    information, and costly over a long window).

    Task ids are taken as unique (SPEC: 编号).
    """
    end = as_of(window, today)
    working = []
    for task in tasks:
        f = _facts_of(task, reports_by_task.get(task.id, ()), window.start, end, calendar)
        if f is not None:
            working.append(f)
    if missed:
        _count_missed(working, window.start, end, window.end, today, calendar)
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
            closed_on_time=sum(i.count for i in items if i.kind == CLOSED_ON_TIME))
    return scores


def score_units(tasks: Iterable[Task], reports_by_task: Mapping[str, Sequence[Report]],
                window: Window, calendar: WorkCalendar,
                rules: ScoringRules = DEFAULT_RULES, *,
                today: date | None = None) -> dict[str, UnitScore]:
    """The score of every unit that leads a task counting in `window`, keyed by unit name,
    as of `as_of(window, today)`."""
    return scores_from_facts(task_facts(tasks, reports_by_task, window, calendar, today=today,
                                        missed=False), rules)
