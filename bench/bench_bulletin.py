"""Bulletin figures for a quarter over 10,000 tasks (moved out of the tests: no timed tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.common import Row, median_ms
from bot.adapters.holidays import default_calendar
from bot.domain.bulletin import build_bulletin
from bot.domain.model import Frequency, Report, Task, TaskStatus
from bot.domain.periods import Period

TZ = ZoneInfo("Asia/Shanghai")


def _ledger() -> tuple[list[Task], dict[str, list[Report]], int]:
    units = [f"单位{i:03d}" for i in range(120)]
    tasks, reports = [], {}
    start = datetime(2026, 9, 1, 9, tzinfo=TZ)
    for i in range(10_000):
        created = start + timedelta(days=i % 90)
        task_id = f"T{i:05d}"
        reports[task_id] = [
            Report(id=f"R{i}-{k}", task_id=task_id, who="x", user_id=1,
                   at=created + timedelta(days=7 * k + i % 5), kind="progress", text="")
            for k in range(i % 8)]
        closed = i % 4 == 0
        tasks.append(Task(
            id=task_id, title="任务", lead_unit=units[i % len(units)],
            owners=(f"人{i % 3000}",), deadline=date(2026, 10, 1) + timedelta(days=i % 120),
            created_at=created, status=TaskStatus.CLOSED if closed else TaskStatus.OPEN,
            closed_at=created + timedelta(days=40) if closed else None,
            frequency=Frequency.DAILY if i % 10 == 0 else None))
    return tasks, reports, len(units)


def run() -> list[Row]:
    calendar = default_calendar()
    tasks, reports, units = _ledger()
    quarter = Period.parse("2026-Q4")
    median, samples = median_ms(lambda: build_bulletin(tasks, reports, quarter, calendar), 3)
    return [Row("bulletin + scores: quarter 2026-Q4 over 10,000 tasks, "
                f"{units} units, median of {len(samples)}", f"{median:.0f} ms",
                "< 5,000 ms (a scheduled job, off the hot path)", median < 5000)]
