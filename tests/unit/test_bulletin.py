"""工作通报 and 考核 on a small ledger whose every figure is worked out by hand below.

Calendar (official 2026 data): November workdays are 2–6, 9–13, 16–20, 23–27 and 30 (21 days;
Nov 2 is the first workday of the month and of 上旬, Nov 11 of 中旬, Nov 23 of 下旬). December
上旬 workdays are 1–4 and 7–10 (8 days; Dec 1 is a Tuesday, Dec 5–6 a weekend).

The ledger (created 2026-10-20 unless said otherwise; "交账 Dec 8" = the completion report):

| 编号 | 牵头单位 | 责任人 | 时限 | what happens |
|---|---|---|---|---|
| T01 | 县教育局 | 张三 | Nov 20 | reports Nov 2, 11, 16, 17; 交账 Nov 18; closed Nov 19 (on time) |
| T02 | 县教育局 | 李四 | Dec 4 | report Nov 5; 交账 Dec 8; closed Dec 9 (late) |
| T03 | 县交通局 | 王五、赵六 | Nov 27 | reports Nov 2, 11, 23–25, 27, Dec 1–4, 7, 8; |
|     |          |            |        | Dec 9 withdrawn; still open (overdue) |
| T04 | 县交通局 | 王五 | Dec 31 | report Nov 10; 交账 Dec 3 (待核账) |
| T05 | 县水利局 | 孙七 | Nov 13 | cancelled (已撤销): never counts |
| T06 | 县水利局 | 周八 | Nov 25 | reports Nov 2, 11; still open (overdue); 容错 from Dec 7 09:00 |
| T07 | 县水利局 | 吴九 | 长期 | report Nov 20; 交账 Dec 1; closed Dec 2 (on time: no deadline) |
| T08 | 县交通局 | 赵六 | Dec 10 | created Nov 24; reports Dec 1–4, 7, 8; 交账 Dec 9; |
|     |          |      |        | closed Dec 10 (on time) |
| T09 | 县教育局 | 张三 | 2027-01-15 | created Dec 2, 调度频次 每旬; nothing else |
| T10 | 县水利局 | 周八 | Nov 10 | reports Nov 2–6, 9; 交账 Nov 10; closed Nov 12 (on time) |
| T11 | 县卫健委 | 郑十 | Dec 8 | created Dec 7; no report (overdue) |
| T12 | 县财政局 | 钱一 | Dec 4 | created Dec 1; 交账 Dec 1; closed Dec 3 (on time) |

Reminders by the rhythm (a 交账 date stops them; none before creation) — they make the 未报送
list of a bulletin, information that is never part of a score or a ranking:
- T01: Nov 2 xun (window 上旬 Nov 1–10, report Nov 2 ✓); Nov 11–17 daily (deadline in the
  same 旬): 11 ✓, 12 ✗, 13 ✗, 16 ✓, 17 ✓ → 2 missed in November.
- T02: Nov 2 monthly (deadline next month, same quarter; window Nov 1–30, report Nov 5 ✓);
  Dec 1, 2, 3, 4 daily and Dec 7 overdue, no report on those days → 5 missed in Dec 上旬.
- T03: Nov 2 xun ✓, Nov 11 xun ✓, Nov 23–27 daily (26 ✗), Nov 30 overdue ✗ → 2 missed in
  November (and in 下旬); Dec 1–10 overdue every workday: 9 (withdrawn) ✗, 10 ✗ → 2 missed.
- T04: Nov 2 monthly (window November, report Nov 10 ✓); Dec 1 xun (deadline in 下旬; window
  Dec 1–10, 交账 Dec 3 ✓) → 0 missed.
- T06: Nov 2 xun ✓, Nov 11 xun ✓, Nov 23, 24, 25 daily ✗✗✗, Nov 26, 27, 30 overdue ✗✗✗ → 6
  missed in November (and in 下旬); Dec 1, 2, 3, 4 overdue ✗ ×4, Dec 7–10 exempted → 4 missed.
- T07: no deadline → monthly: Nov 2 (window November, report Nov 20 ✓); Dec 1 is its 交账 day
  → no reminder.
- T08: created Nov 24 after November's monthly reminder (Nov 2) → none in November; Dec 1–8
  daily, all reported → 0 missed.
- T09: created Dec 2, after the 旬's xun reminder (Dec 1) → none.
- T10: Nov 2–9 daily, all reported → 0 missed.
- T11: Dec 7, 8 daily, Dec 9, 10 overdue, none reported → 4 missed.
- T12: 交账 on its creation day → no reminder.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.adapters.holidays import default_calendar
from bot.domain.bulletin import Bulletin, OverdueItem, Totals, UnitLine, build_bulletin, rank_units
from bot.domain.model import Frequency, Report, Task, TaskStatus
from bot.domain.periods import Period
from bot.domain.scoring import Deduction, ScoringRules, UnitScore, score_units
from tests.conftest import TZ

CAL = default_calendar()

EDU, TRA, WAT, HEA, FIN = "县教育局", "县交通局", "县水利局", "县卫健委", "县财政局"
XUN_DEC_1 = Period.parse("2026-12-1")
XUN_NOV_3 = Period.parse("2026-11-3")
NOV = Period.parse("2026-11")


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


CREATED = at(10, 20, 9)  # the default creation time of the ledger's tasks


def d(month: int, day: int) -> date:
    return date(2026, month, day)


class _Ledger:
    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self.reports: dict[str, list[Report]] = {}

    def report(self, task_id: str, when: datetime, *, kind: str = "progress",
               undone: bool = False) -> str:
        reports = self.reports.setdefault(task_id, [])
        report_id = f"R-{task_id}-{len(reports) + 1}"
        reports.append(Report(id=report_id, task_id=task_id, who="x", user_id=1, at=when,
                              kind=kind, text="", undone_at=when if undone else None))
        return report_id

    def task(self, task_id: str, unit: str, owners: tuple[str, ...], deadline: date | None, *,
             created: datetime = CREATED, reports: tuple[tuple[int, int], ...] = (),
             withdrawn: tuple[tuple[int, int], ...] = (), done: tuple[int, int] | None = None,
             closed: datetime | None = None, status: TaskStatus | None = None,
             exempt_since: datetime | None = None,
             frequency: Frequency | None = None) -> None:
        for month, day in reports:
            self.report(task_id, at(month, day))
        for month, day in withdrawn:
            self.report(task_id, at(month, day), undone=True)
        submission = ""
        if done is not None:
            submission = self.report(task_id, at(*done, 15), kind="completion")
        if status is None:
            status = (TaskStatus.CLOSED if closed else TaskStatus.SUBMITTED if done
                      else TaskStatus.OPEN)
        self.tasks.append(Task(
            id=task_id, title=f"任务{task_id}", lead_unit=unit, owners=owners,
            deadline=deadline, created_at=created, status=status, submission=submission,
            closed_at=closed, exempt_since=exempt_since, frequency=frequency))


def ledger(**changes: dict[str, object]) -> tuple[list[Task], dict[str, list[Report]]]:
    """The ledger of the module docstring; `changes` = {task id: fields to change}."""
    led = _Ledger()
    led.task("T01", EDU, ("张三",), d(11, 20), reports=((11, 2), (11, 11), (11, 16), (11, 17)),
             done=(11, 18), closed=at(11, 19))
    led.task("T02", EDU, ("李四",), d(12, 4), reports=((11, 5),), done=(12, 8),
             closed=at(12, 9))
    led.task("T03", TRA, ("王五", "赵六"), d(11, 27),
             reports=((11, 2), (11, 11), (11, 23), (11, 24), (11, 25), (11, 27),
                      (12, 1), (12, 2), (12, 3), (12, 4), (12, 7), (12, 8)),
             withdrawn=((12, 9),))
    led.task("T04", TRA, ("王五",), d(12, 31), reports=((11, 10),), done=(12, 3))
    led.task("T05", WAT, ("孙七",), d(11, 13), status=TaskStatus.CANCELLED)
    led.task("T06", WAT, ("周八",), d(11, 25), reports=((11, 2), (11, 11)),
             exempt_since=at(12, 7, 9))
    led.task("T07", WAT, ("吴九",), None, reports=((11, 20),), done=(12, 1), closed=at(12, 2))
    led.task("T08", TRA, ("赵六",), d(12, 10), created=at(11, 24),
             reports=((12, 1), (12, 2), (12, 3), (12, 4), (12, 7), (12, 8)), done=(12, 9),
             closed=at(12, 10))
    led.task("T09", EDU, ("张三",), date(2027, 1, 15), created=at(12, 2),
             frequency=Frequency.XUN)
    led.task("T10", WAT, ("周八",), d(11, 10),
             reports=((11, 2), (11, 3), (11, 4), (11, 5), (11, 6), (11, 9)), done=(11, 10),
             closed=at(11, 12))
    led.task("T11", HEA, ("郑十",), d(12, 8), created=at(12, 7))
    led.task("T12", FIN, ("钱一",), d(12, 4), created=at(12, 1, 9), done=(12, 1),
             closed=at(12, 3))
    tasks = [t.with_changes(**changes[t.id]) if t.id in changes else t for t in led.tasks]
    return tasks, led.reports


def bulletin(period: Period, *, previous_ranks: dict[str, int] | None = None,
             unit: str | None = None) -> Bulletin:
    tasks, reports = ledger()
    return build_bulletin(tasks, reports, period, CAL, previous_ranks=previous_ranks,
                          unit=unit)


# ---- December 上旬 (2026-12-1: Dec 1–10, 8 workdays) ------------------------------------------


def test_december_first_xun_scores_itemised() -> None:
    tasks, reports = ledger()
    scores = score_units(tasks, reports, XUN_DEC_1, CAL)
    # Scores rest on results: overdue workdays and tasks closed on time, never on missed
    # reports. An overdue workday is a workday after the deadline up to and including the
    # done date (the accepted 交账 of a verified task).
    assert scores == {
        # T02: overdue workdays after Dec 4 up to its 交账 Dec 8 = Dec 7, 8 → 2 (−2); closed
        # late → no bonus. 100 − 2 = 98.
        EDU: UnitScore(EDU, 98.0, 100, (
            Deduction("T02", "overdue_days", 2, -2.0),
        ), overdue_days=2, closed_on_time=0),
        # T03: overdue all 8 workdays (−8); T08 closed on time (+2); T04 submitted (待核账),
        # not closed: nothing. 100 − 8 + 2 = 94.
        TRA: UnitScore(TRA, 94.0, 100, (
            Deduction("T03", "overdue_days", 8, -8.0),
            Deduction("T08", "closed_on_time", 1, 2.0),
        ), overdue_days=8, closed_on_time=1),
        # T06 (容错 from Dec 7): overdue Dec 1–4 only → 4 (−4); T07 closed on time (+2); T05
        # cancelled. 100 − 4 + 2 = 98.
        WAT: UnitScore(WAT, 98.0, 100, (
            Deduction("T06", "overdue_days", 4, -4.0),
            Deduction("T07", "closed_on_time", 1, 2.0),
        ), overdue_days=4, closed_on_time=1),
        # T11: overdue Dec 9, 10 → 2 (−2). 100 − 2 = 98.
        HEA: UnitScore(HEA, 98.0, 100, (
            Deduction("T11", "overdue_days", 2, -2.0),
        ), overdue_days=2, closed_on_time=0),
        # T12 closed on time: 100 + 2 = 102, capped at 100.
        FIN: UnitScore(FIN, 100.0, 100, (
            Deduction("T12", "closed_on_time", 1, 2.0),
        ), overdue_days=0, closed_on_time=1),
    }


def test_december_first_xun_bulletin() -> None:
    b = bulletin(XUN_DEC_1)
    assert b.period == XUN_DEC_1
    assert (b.as_of, b.until, b.in_progress) == (None, d(12, 10), False)
    # open at Dec 10: T09 (EDU), T03 + T04 (TRA), T06 (WAT), T11 (HEA) = 5, of which T04 is
    # 待核账 (交账 Dec 3); closed in P: T02 (late), T08, T07, T12 = 4, on time 3; overdue: T03,
    # T06, T11 = 3. rate = 3 / (4 + 3) = 3/7.
    assert b.totals == Totals(open=5, closed=4, closed_on_time=3, overdue=3,
                              on_time_rate=3 / 7, pending=1)
    assert b.totals.total == 9
    # Ranking: FIN 100 (rate 1/1); then the 98s by rate: WAT (1/(1+1) = 0.5), then HEA
    # (0/(0+1) = 0) and EDU (0/(1+0) = 0) share 3rd, by name (卫 U+536B < 教 U+6559);
    # TRA 94 (0.5) → 5th.
    assert b.units == (
        UnitLine(FIN, 1, None, 100.0, open=0, closed=1, closed_on_time=1, overdue=0,
                 on_time_rate=1.0),
        UnitLine(WAT, 2, None, 98.0, open=1, closed=1, closed_on_time=1, overdue=1,
                 on_time_rate=0.5),
        UnitLine(HEA, 3, None, 98.0, open=1, closed=0, closed_on_time=0, overdue=1,
                 on_time_rate=0.0),
        UnitLine(EDU, 3, None, 98.0, open=1, closed=1, closed_on_time=0, overdue=0,
                 on_time_rate=0.0),
        UnitLine(TRA, 5, None, 94.0, open=2, closed=1, closed_on_time=1, overdue=1,
                 on_time_rate=0.5),
    )
    assert b.ranks == {FIN: 1, WAT: 2, HEA: 3, EDU: 3, TRA: 5}
    # 红榜: FIN (T12 closed on time, nothing overdue). EDU has nothing overdue but no task
    # closed on time (T02 closed late); TRA, WAT and HEA have an overdue task.
    assert b.red_list == (FIN,)
    # Overdue at Dec 10, by unit name (交 < 卫 U+536B < 水), days = workdays_overdue(deadline,
    # Dec 10): T03 Nov 27 → Nov 30 + 8 = 9; T11 Dec 8 → Dec 9, 10 = 2; T06 Nov 25 → Nov 26,
    # 27, 30 + 8 = 11 (still listed under 容错).
    assert b.overdue == (
        OverdueItem("T03", "任务T03", TRA, ("王五", "赵六"), d(11, 27), 9),
        OverdueItem("T11", "任务T11", HEA, ("郑十",), d(12, 8), 2),
        OverdueItem("T06", "任务T06", WAT, ("周八",), d(11, 25), 11, exempt=True),
    )
    # 未报送 (information only, out of the score): 李四 5 (T02), 周八 4 (T06), 郑十 4 (T11),
    # 王五 2 and 赵六 2 (T03; T04 none). Equal counts by name: 周 U+5468 < 郑 U+90D1, 王 U+738B
    # < 赵 U+8D75.
    assert b.silent == (("李四", 5), ("周八", 4), ("郑十", 4), ("王五", 2), ("赵六", 2))
    assert b.scores[EDU].score == 98.0


# ---- November (2026-11: 21 workdays) ------------------------------------------------------


def test_november_scores_itemised() -> None:
    tasks, reports = ledger()
    scores = score_units(tasks, reports, NOV, CAL)
    # T08 (created Nov 24), T09, T11, T12 (created in December) and T05 (cancelled) aside;
    # HEA and FIN lead nothing counting in November → not scored.
    assert scores == {
        # T01: closed Nov 19, 交账 Nov 18 <= Nov 20 → +2 (its 2 missed reminders cost
        # nothing). T02: open, not due. 100 + 2 = 102 → 100.
        EDU: UnitScore(EDU, 100.0, 100, (
            Deduction("T01", "closed_on_time", 1, 2.0),
        ), overdue_days=0, closed_on_time=1),
        # T03: overdue Nov 30 → 1 (−1). 100 − 1 = 99.
        TRA: UnitScore(TRA, 99.0, 100, (
            Deduction("T03", "overdue_days", 1, -1.0),
        ), overdue_days=1, closed_on_time=0),
        # T06: overdue Nov 26, 27, 30 → 3 (−3) (容错 starts Dec 7: no effect); T10: closed
        # Nov 12, 交账 Nov 10 = deadline → +2. 100 − 3 + 2 = 99.
        WAT: UnitScore(WAT, 99.0, 100, (
            Deduction("T06", "overdue_days", 3, -3.0),
            Deduction("T10", "closed_on_time", 1, 2.0),
        ), overdue_days=3, closed_on_time=1),
    }


def test_november_bulletin() -> None:
    b = bulletin(NOV)
    # open at Nov 30: T02 (EDU); T03, T04, T08 (TRA); T06, T07 (WAT) = 6. (T02, T04 and T07
    # were closed or submitted later: they read as open, and not 待核账, at the end of
    # November.) closed in P: T01, T10 = 2, both on time; overdue: T03, T06 = 2 → rate
    # 2 / (2 + 2) = 0.5.
    assert b.totals == Totals(open=6, closed=2, closed_on_time=2, overdue=2, on_time_rate=0.5)
    # EDU 100 (1/(1+0) = 1.0); WAT 99 (1/(1+1) = 0.5) before TRA 99 (0/(0+1) = 0.0).
    assert b.units == (
        UnitLine(EDU, 1, None, 100.0, open=1, closed=1, closed_on_time=1, overdue=0,
                 on_time_rate=1.0),
        UnitLine(WAT, 2, None, 99.0, open=2, closed=1, closed_on_time=1, overdue=1,
                 on_time_rate=0.5),
        UnitLine(TRA, 3, None, 99.0, open=3, closed=0, closed_on_time=0, overdue=1,
                 on_time_rate=0.0),
    )
    assert b.ranks == {EDU: 1, WAT: 2, TRA: 3}
    # 红榜: EDU (T01 closed on time; T02 not due yet, not overdue).
    assert b.red_list == (EDU,)
    # T03: workdays_overdue(Nov 27, Nov 30) = 1; T06: (Nov 25, Nov 30] = 26, 27, 30 = 3;
    # T06's 容错 starts after November: not marked.
    assert b.overdue == (
        OverdueItem("T03", "任务T03", TRA, ("王五", "赵六"), d(11, 27), 1),
        OverdueItem("T06", "任务T06", WAT, ("周八",), d(11, 25), 3),
    )
    # 周八 6 (T06; T10 none); 张三 2 (T01), 王五 2 and 赵六 2 (T03).
    assert b.silent == (("周八", 6), ("张三", 2), ("王五", 2), ("赵六", 2))


# ---- rank changes across two consecutive 旬 ---------------------------------------------------


def test_rank_changes_from_the_previous_xun() -> None:
    first = bulletin(XUN_NOV_3)
    # November 下旬 (Nov 21–30): EDU has T02 only, nothing due → 100, rate None;
    # TRA: T03 overdue Nov 30 (−1) → 99, rate 0/1; WAT: T06 overdue Nov 26, 27, 30 (−3) →
    # 97, rate 0/1. (T01, T10 were closed before the 旬.)
    assert [(u.unit, u.rank, u.score, u.on_time_rate) for u in first.units] == [
        (EDU, 1, 100.0, None), (TRA, 2, 99.0, 0.0), (WAT, 3, 97.0, 0.0)]
    second = bulletin(XUN_DEC_1, previous_ranks=first.ranks)
    # change = previous rank − rank: FIN new; WAT 3 → 2 = +1 (进位); HEA new; EDU 1 → 3 = −2
    # (退位); TRA 2 → 5 = −3.
    assert [(u.unit, u.rank, u.change) for u in second.units] == [
        (FIN, 1, None), (WAT, 2, 1), (HEA, 3, None), (EDU, 3, -2), (TRA, 5, -3)]


# ---- 容错, capping, rules, the unit filter ----------------------------------------------------


def test_exemption_removes_deductions_after_exempt_since() -> None:
    tasks, reports = ledger(T06={"exempt_since": None})
    # Without 容错 T06 is overdue all 8 workdays (−8): WAT = 100 − 8 + 2 = 94 instead of 98.
    wat = score_units(tasks, reports, XUN_DEC_1, CAL)[WAT]
    assert (wat.score, wat.overdue_days) == (94.0, 8)
    # 容错 from Dec 1 00:00: nothing of T06 counts in the 旬 → 100 + 2 (T07) = 102 → 100.
    tasks, reports = ledger(T06={"exempt_since": at(12, 1, 0)})
    wat = score_units(tasks, reports, XUN_DEC_1, CAL)[WAT]
    assert (wat.score, wat.items) == (100.0, (Deduction("T07", "closed_on_time", 1, 2.0),))
    # The bulletin figures stay factual: T06 is still overdue.
    b = build_bulletin(tasks, reports, XUN_DEC_1, CAL)
    assert [item.task_id for item in b.overdue if item.unit == WAT] == ["T06"]


def test_exempted_task_closed_after_exemption_earns_no_bonus() -> None:
    # T07 exempted Nov 30, closed Dec 2 → no bonus: WAT = 100 − 4 = 96.
    tasks, reports = ledger(T07={"exempt_since": at(11, 30)})
    wat = score_units(tasks, reports, XUN_DEC_1, CAL)[WAT]
    assert (wat.score, wat.closed_on_time) == (96.0, 0)
    # Exempted after it was closed (Dec 5): the bonus stays → 98.
    tasks, reports = ledger(T07={"exempt_since": at(12, 5)})
    assert score_units(tasks, reports, XUN_DEC_1, CAL)[WAT].score == 98.0
    # It still counts as closed on time in the bulletin.
    b = build_bulletin(tasks, reports, XUN_DEC_1, CAL)
    assert b.totals.closed_on_time == 3


def test_scores_are_capped_at_0_and_100() -> None:
    # TRA in November is T03 alone: 1 overdue workday.
    # 200 per overdue workday: 100 − 200 = −100 → 0; 60: 100 − 60 = 40 (inside, kept).
    tasks, reports = ledger()
    harsh = ScoringRules(overdue_per_workday=200.0, closed_on_time=2.0)
    assert score_units(tasks, reports, NOV, CAL, harsh)[TRA].score == 0.0
    mild = ScoringRules(overdue_per_workday=60.0)
    assert score_units(tasks, reports, NOV, CAL, mild)[TRA].score == 40.0
    # FIN in Dec 上旬 earns 2 above 100 → 100; a bigger bonus changes nothing.
    generous = ScoringRules(closed_on_time=50.0)
    scores = score_units(tasks, reports, XUN_DEC_1, CAL, generous)
    assert scores[FIN].score == 100.0
    # EDU under a lower base: 80 − 2 = 78.
    assert score_units(tasks, reports, XUN_DEC_1, CAL, ScoringRules(base=80))[EDU].score == 78.0


def test_unit_filter() -> None:
    first = bulletin(XUN_NOV_3)
    b = bulletin(XUN_DEC_1, previous_ranks=first.ranks, unit=WAT)
    # WAT keeps its county-wide rank (2) and change (+1).
    assert b.units == (UnitLine(WAT, 2, 1, 98.0, open=1, closed=1, closed_on_time=1,
                                overdue=1, on_time_rate=0.5),)
    assert b.totals == Totals(open=1, closed=1, closed_on_time=1, overdue=1, on_time_rate=0.5)
    assert b.red_list == ()
    assert b.overdue == (OverdueItem("T06", "任务T06", WAT, ("周八",), d(11, 25), 11,
                                     exempt=True),)
    assert b.silent == (("周八", 4),)
    assert b.ranks == {FIN: 1, WAT: 2, HEA: 3, EDU: 3, TRA: 5}  # the full ranking, to store
    assert set(b.scores) == {WAT}
    # The red-listed unit alone; a unit with nothing counting → empty.
    assert bulletin(XUN_DEC_1, unit=FIN).red_list == (FIN,)
    empty = bulletin(NOV, unit=FIN)
    assert (empty.units, empty.overdue, empty.silent) == ((), (), ())
    assert empty.totals == Totals(0, 0, 0, 0, None)


def test_rank_ties_and_tie_breaks() -> None:
    ranks = rank_units([("丙", 90.0, 0.5), ("甲", 95.0, None), ("乙", 90.0, 0.5),
                        ("丁", 90.0, None), ("戊", 90.0, 0.8), ("己", 80.0, None)])
    # 甲 95; then 90s by rate: 戊 0.8, 丙 = 乙 0.5 (shared), 丁 None (last); then 己 80.
    assert ranks == {"甲": 1, "戊": 2, "丙": 3, "乙": 3, "丁": 5, "己": 6}


def test_nothing_counting_gives_an_empty_bulletin() -> None:
    b = build_bulletin([], {}, XUN_DEC_1, CAL)
    assert b == Bulletin(XUN_DEC_1, Totals(0, 0, 0, 0, None), (), (), (), (), {}, {})


def test_a_missing_submission_report_reads_as_not_done() -> None:
    # T04's 交账 report is not in the store: no submitted date (a 待核账 task has no
    # closed_at), so T04 reminders go on after Dec 3 — there are none in the 旬 besides Dec
    # 1's xun, which the Dec 3 report (still in the store under another id) answers; and it
    # does not read as 待核账. TRA stays at 94.
    tasks, reports = ledger(T04={"submission": "R-missing"})
    b = build_bulletin(tasks, reports, XUN_DEC_1, CAL)
    assert (b.ranks[TRA], b.scores[TRA].score, b.totals.pending) == (5, 94.0, 0)
    # The quarter as a whole builds as well (every task, every rhythm).
    quarter = build_bulletin(tasks, reports, Period.parse("2026-Q4"), CAL)
    assert set(quarter.ranks) == {EDU, TRA, WAT, HEA, FIN}


def test_an_official_on_leave_is_not_named_for_those_days() -> None:
    """周八's 4 missed reminders in December 上旬 fall on Dec 1–4 (see test_unit_filter); on
    leave Dec 1–2, only the other days count against them by name; the unit's score is the
    same (missed reports are never in a score)."""
    tasks, reports = ledger()

    def on_leave(name: str, day: date) -> bool:
        return name == "周八" and d(12, 1) <= day <= d(12, 2)

    plain = build_bulletin(tasks, reports, XUN_DEC_1, CAL, unit=WAT)
    leave = build_bulletin(tasks, reports, XUN_DEC_1, CAL, unit=WAT, on_leave=on_leave)
    assert plain.silent == (("周八", 4),)
    assert leave.silent == (("周八", 2),)
    assert leave.scores == plain.scores
