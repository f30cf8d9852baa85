"""预警: the traffic light rules, with the [warning] thresholds."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.adapters.holidays import default_calendar
from bot.domain.model import Task, TaskStatus
from bot.domain.warning import Light, WarningRules, expected_progress, light
from tests.conftest import TZ

CAL = default_calendar()
TODAY = date(2026, 12, 1)  # Tuesday


def task(deadline: date | None = date(2026, 12, 31), progress: int = 50,
         created: date = date(2026, 11, 1), **changes: object) -> Task:
    base = Task(id="T0001", title="任务", lead_unit="县发改局", owners=("张三",),
                deadline=deadline, created_at=datetime.combine(created, datetime.min.time(), TZ),
                progress=progress)
    return base.with_changes(**changes)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=TZ)


@pytest.mark.parametrize("t,expected", [
    (task(deadline=date(2026, 11, 30)), Light.RED),  # past the deadline
    (task(deadline=date(2026, 11, 30), status=TaskStatus.SUBMITTED), Light.RED),  # not closed
    (task(deadline=date(2026, 11, 30), status=TaskStatus.CLOSED), Light.GREEN),
    (task(), Light.GREEN),
    (task(deadline=date(2026, 12, 4), progress=70), Light.YELLOW),  # 3 workdays, < 80
    (task(deadline=date(2026, 12, 4), progress=85), Light.GREEN),
    (task(deadline=date(2026, 12, 7), progress=70,  # 4 workdays away
          created=date(2026, 11, 30)), Light.GREEN),
    (task(progress=20), Light.YELLOW),  # behind: expected 50 %, 20 < 50 − 20
    (task(progress=31), Light.GREEN),
    (task(deadline=None, progress=0), Light.GREEN),
    # No report since the last reminder's period began (xun on 1 Dec: 上旬 from 1 Dec).
    (task(reminded_on=date(2026, 12, 1), reminded_kind="xun",
          last_report_at=at("2026-11-30T10:00")), Light.YELLOW),
    (task(reminded_on=date(2026, 12, 1), reminded_kind="xun",
          last_report_at=at("2026-12-01T10:00")), Light.GREEN),
    (task(reminded_on=date(2026, 11, 2), reminded_kind="monthly",
          last_report_at=at("2026-11-05T10:00")), Light.GREEN),  # reported within that month
])
def test_lights(t: Task, expected: Light) -> None:
    assert light(t, TODAY, CAL) is expected


def test_open_difficulty_is_yellow_and_thresholds_come_from_config() -> None:
    assert light(task(), TODAY, CAL, open_difficulty=True) is Light.YELLOW
    strict = WarningRules(near_deadline_workdays=10, near_deadline_progress=90,
                          behind_schedule_margin=0)
    assert light(task(deadline=date(2026, 12, 10), progress=85), TODAY, CAL,
                 rules=strict) is Light.YELLOW
    assert light(task(progress=45), TODAY, CAL, rules=strict) is Light.YELLOW


def test_expected_progress_is_the_elapsed_share() -> None:
    assert expected_progress(task(created=date(2026, 11, 1)), TODAY) == 50
    assert expected_progress(task(created=date(2026, 12, 1)), TODAY) == 0
    assert expected_progress(task(deadline=None), TODAY) is None
