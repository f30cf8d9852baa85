"""预警: the traffic light of a task (红 red, 黄 yellow, 绿 green), and how overdue it is. Derived,
never stored.

逾期N个工作日 has one count, `overdue_workdays`, used by /tasks, /task, reminders, 督办单, the
通报, the 考核 and the export: the workdays after the deadline up to and including the day
asked about (the official calendar with 调休). A task is overdue while it is live — 推进中, or
待核账: a task is not closed until 核账 — and its deadline is past.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.domain.calendar import WorkCalendar
from bot.domain.model import Task, TaskStatus
from bot.domain.ports import LedgerRepository
from bot.domain.rhythm import ReminderKind, securing_period


class Light(StrEnum):
    RED = "红"
    YELLOW = "黄"
    GREEN = "绿"


EMOJI = {Light.RED: "🔴", Light.YELLOW: "🟡", Light.GREEN: "🟢"}


@dataclass(frozen=True)
class WarningRules:
    near_deadline_workdays: int = 3
    near_deadline_progress: int = 80
    behind_schedule_margin: int = 20


DEFAULT_RULES = WarningRules()


def workdays_overdue(deadline: date | None, day: date, calendar: WorkCalendar) -> int:
    """The N of 逾期N个工作日 on `day` for a deadline: workdays d with deadline < d <= day (0
    without a deadline, or until it has passed). Can be 0 on the rest days right after the
    deadline."""
    if deadline is None or day <= deadline:
        return 0
    return calendar.workdays_between(deadline, day)


def is_overdue(task: Task, day: date) -> bool:
    """Live (推进中 or 待核账) and past its deadline on `day`: 🔴."""
    return task.live and task.deadline is not None and task.deadline < day


def overdue_workdays(task: Task, day: date, calendar: WorkCalendar) -> int:
    """逾期N个工作日 of a task on `day`; 0 unless it is overdue (`is_overdue`)."""
    if not is_overdue(task, day):
        return 0
    return workdays_overdue(task.deadline, day, calendar)


def expected_progress(task: Task, today: date) -> int | None:
    """序时进度: the elapsed share of [created, deadline], in percent."""
    if task.deadline is None:
        return None
    start = task.created_at.date()
    total = (task.deadline - start).days
    if total <= 0:
        return 100
    elapsed = min(max((today - start).days, 0), total)
    return round(elapsed * 100 / total)


def light(task: Task, today: date, calendar: WorkCalendar, *,
          rules: WarningRules = DEFAULT_RULES, open_difficulty: bool = False) -> Light:
    """红: not closed and past the deadline.
    黄: an open 困难; or no report since the last reminder's period began; or the deadline
        within N workdays and 进度 < P; or behind schedule (进度 < 序时进度 − margin).
    绿: otherwise."""
    if task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED):
        return Light.GREEN
    if is_overdue(task, today):
        return Light.RED
    if open_difficulty:
        return Light.YELLOW
    if task.status is TaskStatus.SUBMITTED:  # done, waiting for 核账: nothing to chase
        return Light.GREEN
    if task.reminded_on is not None and task.reminded_kind:
        since = securing_period(ReminderKind(task.reminded_kind), task.reminded_on).start
        if task.last_report_at is None or task.last_report_at.date() < since:
            return Light.YELLOW
    if task.deadline is not None:
        near = calendar.workdays_between(today, task.deadline) <= rules.near_deadline_workdays
        if near and task.progress < rules.near_deadline_progress:
            return Light.YELLOW
        expected = expected_progress(task, today)
        if expected is not None and task.progress < expected - rules.behind_schedule_margin:
            return Light.YELLOW
    return Light.GREEN


class LightBoard:
    """Lights for many tasks at once, with the config's thresholds and the open 困难."""

    def __init__(self, repo: LedgerRepository, calendar: WorkCalendar,
                 rules: WarningRules = DEFAULT_RULES) -> None:
        self.repo = repo
        self.calendar = calendar
        self.rules = rules

    def of(self, task: Task, today: date) -> Light:
        open_difficulty = any(d.open for d in self.repo.difficulties_of(task.id))
        return light(task, today, self.calendar, rules=self.rules,
                     open_difficulty=open_difficulty)

    def all(self, tasks: Iterable[Task], today: date) -> dict[str, Light]:
        troubled = {d.task_id for d in self.repo.open_difficulties()}
        return {t.id: light(t, today, self.calendar, rules=self.rules,
                            open_difficulty=t.id in troubled) for t in tasks}
