"""预警: the traffic light of a task (红 red, 黄 yellow, 绿 green). Derived, never stored."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from bot.domain.calendar import WorkCalendar
from bot.domain.model import Task, TaskStatus


class Light(StrEnum):
    RED = "红"
    YELLOW = "黄"
    GREEN = "绿"


EMOJI = {Light.RED: "🔴", Light.YELLOW: "🟡", Light.GREEN: "🟢"}

NEAR_DEADLINE_WORKDAYS = 3
NEAR_DEADLINE_PROGRESS = 80


def light(task: Task, today: date, calendar: WorkCalendar) -> Light:
    """红: not closed and past the deadline. 黄: deadline within 3 workdays and 进度 < 80.
    绿: otherwise."""
    if task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED) or task.deadline is None:
        return Light.GREEN
    if task.deadline < today:
        return Light.RED
    if (calendar.workdays_between(today, task.deadline) <= NEAR_DEADLINE_WORKDAYS
            and task.progress < NEAR_DEADLINE_PROGRESS):
        return Light.YELLOW
    return Light.GREEN
