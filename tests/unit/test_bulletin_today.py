"""A period in progress, 截至今日, and the one count of 逾期N个工作日 — every figure by hand.

Today is Friday 2026-12-04. December's workdays so far are Dec 1–4 (Tue–Fri); Nov 27 is a
Friday, Nov 30 a Monday; Dec 5–6 a weekend. The small ledger (created Nov 2, 9:00):

| 编号 | 牵头单位 | 责任人 | 时限 | what happened by Dec 4 |
|---|---|---|---|---|
| A1 | 县教育局 | 张三 | Nov 27 | nothing reported: 推进中, overdue |
| A2 | 县教育局 | 李四 | Dec 2 | 交账 Dec 1, not verified yet: 待核账 |
| A3 | 县交通局 | 王五 | Dec 3 | 交账 Dec 2, 核账 Dec 3: closed on time |
| A4 | 县交通局 | 赵六 | Dec 31 | nothing yet (not due) |
| A5 | 县水利局 | 孙七 | Nov 30 | 交账 Dec 2, 核账 Dec 3: closed late |
"""

from __future__ import annotations

from datetime import date, datetime

from bot.adapters.holidays import default_calendar
from bot.domain.bulletin import Totals, build_bulletin, ledger_start, to_date
from bot.domain.model import Report, Task, TaskStatus
from bot.domain.periods import Period, ToDate
from bot.domain.scoring import Deduction, UnitScore, as_of, score_units
from bot.domain.warning import Light, is_overdue, light, overdue_workdays, workdays_overdue
from tests.conftest import TZ

CAL = default_calendar()
TODAY = date(2026, 12, 4)
DEC = Period.parse("2026-12")
EDU, TRA, WAT = "县教育局", "县交通局", "县水利局"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


def _task(task_id: str, unit: str, owner: str, deadline: date, *, done: datetime | None = None,
          closed: datetime | None = None) -> tuple[Task, list[Report]]:
    reports: list[Report] = []
    submission = ""
    if done is not None:
        submission = f"R-{task_id}"
        reports.append(Report(id=submission, task_id=task_id, who=owner, user_id=1, at=done,
                              kind="completion", text="已完成"))
    status = TaskStatus.CLOSED if closed else TaskStatus.SUBMITTED if done else TaskStatus.OPEN
    return Task(id=task_id, title=f"任务{task_id}", lead_unit=unit, owners=(owner,),
                deadline=deadline, created_at=at(11, 2, 9), status=status,
                submission=submission, closed_at=closed), reports


def ledger(**closed: datetime) -> tuple[list[Task], dict[str, list[Report]]]:
    rows = [
        _task("A1", EDU, "张三", date(2026, 11, 27)),
        _task("A2", EDU, "李四", date(2026, 12, 2), done=at(12, 1), closed=closed.get("A2")),
        _task("A3", TRA, "王五", date(2026, 12, 3), done=at(12, 2), closed=at(12, 3)),
        _task("A4", TRA, "赵六", date(2026, 12, 31)),
        _task("A5", WAT, "孙七", date(2026, 11, 30), done=at(12, 2), closed=at(12, 3)),
    ]
    return [t for t, _ in rows], {t.id: r for t, r in rows if r}


def test_a_month_in_progress_is_scored_up_to_today_by_hand() -> None:
    """/score 2026-12 on Dec 4 counts Dec 1–4 only — never the 19 workdays still to come."""
    tasks, reports = ledger()
    assert as_of(DEC, TODAY) == TODAY
    scores = score_units(tasks, reports, DEC, CAL, today=TODAY)
    assert scores == {
        # A1: overdue on every workday of December so far: Dec 1, 2, 3, 4 → 4 (−4), not 23.
        # A2: 待核账 is not closed: overdue after Dec 2 — Dec 3, 4 → 2 (−2), no bonus.
        # 100 − 4 − 2 = 94.
        EDU: UnitScore(EDU, 94.0, 100, (
            Deduction("A1", "overdue_days", 4, -4.0),
            Deduction("A2", "overdue_days", 2, -2.0),
        ), overdue_days=6, closed_on_time=0),
        # A3 closed on time (+2); A4 not due, nothing reported: no deduction for reporting.
        # 100 + 2 → 100.
        TRA: UnitScore(TRA, 100.0, 100, (
            Deduction("A3", "closed_on_time", 1, 2.0),
        ), overdue_days=0, closed_on_time=1),
        # A5: overdue after Nov 30 up to its 交账 Dec 2: Dec 1, 2 → 2 (−2); closed late.
        WAT: UnitScore(WAT, 98.0, 100, (
            Deduction("A5", "overdue_days", 2, -2.0),
        ), overdue_days=2, closed_on_time=0),
    }
    # Without `today` the whole month would be counted: A1 23 workdays, A2 21 (Dec 3–31).
    assert score_units(tasks, reports, DEC, CAL)[EDU].overdue_days == 23 + 21


def test_the_bulletin_of_a_period_in_progress() -> None:
    tasks, reports = ledger()
    b = build_bulletin(tasks, reports, DEC, CAL, today=TODAY)
    assert (b.as_of, b.until, b.in_progress) == (TODAY, TODAY, True)
    # open at Dec 4: A1, A2 (待核账), A4 = 3; closed: A3 (on time), A5 (late) = 2;
    # overdue: A1, A2 = 2; rate = 1 / (2 + 2).
    assert b.totals == Totals(open=3, closed=2, closed_on_time=1, overdue=2,
                              on_time_rate=0.25, pending=1)
    # TRA 100 (1/1), WAT 98 (0/1), EDU 94 (0/2).
    assert [(u.unit, u.rank, u.score, u.overdue) for u in b.units] == [
        (TRA, 1, 100.0, 0), (WAT, 2, 98.0, 0), (EDU, 3, 94.0, 2)]
    # 红榜 needs a verified closure on time: TRA only. EDU's 待核账 A2 is neither closed nor
    # on time — it is overdue, as it is 🔴 in /tasks.
    assert b.red_list == (TRA,)
    # days = the one count at Dec 4: A1 Nov 30, Dec 1–4 = 5; A2 Dec 3, 4 = 2.
    assert [(i.task_id, i.days_overdue) for i in b.overdue] == [("A1", 5), ("A2", 2)]
    # 未报送 only for reminders whose period is over: A1's overdue reminders of Dec 1–3
    # (today's is still open) → 张三 3; A5's overdue reminder of Dec 1 → 孙七 1; A3's daily
    # reminder of Dec 1 (deadline in the same 旬) → 王五 1; A4's 旬 reminder of Dec 1 has until
    # Dec 10; A2 was reported done on Dec 1 (no reminder from its 交账 day on).
    assert b.silent == (("张三", 3), ("孙七", 1), ("王五", 1))


def test_verifying_the_submission_makes_it_closed_on_time() -> None:
    """核账 on Dec 4 of A2's 交账 of Dec 1: closed on time; the days it waited for 核账 are not
    held against the unit. EDU = 100 − 4 (A1) + 2 (A2) = 98."""
    tasks, reports = ledger(A2=at(12, 4, 16))
    edu = score_units(tasks, reports, DEC, CAL, today=TODAY)[EDU]
    assert (edu.score, edu.items) == (98.0, (Deduction("A1", "overdue_days", 4, -4.0),
                                             Deduction("A2", "closed_on_time", 1, 2.0)))
    b = build_bulletin(tasks, reports, DEC, CAL, today=TODAY)
    assert [(i.task_id, i.days_overdue) for i in b.overdue] == [("A1", 5)]
    assert b.red_list == (TRA,)  # EDU still has A1 overdue


def test_to_date_covers_the_ledger_from_its_first_day() -> None:
    tasks, reports = ledger()
    assert ledger_start(tasks) == date(2026, 11, 2)
    window = to_date(tasks, TODAY)
    assert window == ToDate(date(2026, 11, 2), TODAY)
    assert window.label("zh") == "截至12月4日"
    assert window.label("en") == "to 4 Dec"
    b = build_bulletin(tasks, reports, window, CAL, today=TODAY)
    # Every task counts: 5 = closed 2 (40%) + open 3, of which overdue 2 (40%), 待核账 1.
    assert b.totals == Totals(open=3, closed=2, closed_on_time=1, overdue=2,
                              on_time_rate=0.25, pending=1)
    assert (b.totals.total, b.as_of, b.in_progress) == (5, None, False)
    # Overdue task-workdays since the first day: A1 Nov 30, Dec 1–4 = 5; A2 2; A5 2.
    assert {u.unit: u.score for u in b.units} == {TRA: 100.0, WAT: 98.0, EDU: 93.0}
    assert b.silent == ()  # 未报送 is a period's figure
    # An empty ledger: a window of today alone.
    assert to_date([], TODAY) == ToDate(TODAY, TODAY)


def test_one_count_of_overdue_workdays() -> None:
    """逾期N个工作日: workdays after the deadline up to and including the day asked about."""
    tasks, _ = ledger()
    a1, a2, a3 = tasks[0], tasks[1], tasks[2]
    # Deadline Fri Nov 27; Monday Dec 7: Nov 30, Dec 1–4, Dec 7 = 6 workdays (10 days).
    assert overdue_workdays(a1, date(2026, 12, 7), CAL) == 6
    assert workdays_overdue(a1.deadline, date(2026, 12, 7), CAL) == 6
    # The weekend right after the deadline: overdue, 0 workdays yet.
    assert is_overdue(a1, date(2026, 11, 28))
    assert overdue_workdays(a1, date(2026, 11, 28), CAL) == 0
    assert overdue_workdays(a1, date(2026, 11, 27), CAL) == 0  # the deadline day itself
    # 待核账 is still live: counted, and 🔴.
    assert overdue_workdays(a2, TODAY, CAL) == 2
    assert light(a2, TODAY, CAL) is Light.RED
    # Closed: no longer overdue.
    assert overdue_workdays(a3, date(2026, 12, 7), CAL) == 0
    assert workdays_overdue(None, TODAY, CAL) == 0
