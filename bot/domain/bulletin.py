"""工作通报: the bulletin that ranks units (比学赶超), as pure figures.

A bulletin covers a window W: a period (a 旬, month or quarter) or 截至今日 (`ToDate`: from the
ledger's first day to today), taken as of A = the end of W, or today for a period still in
progress (`bot.domain.scoring.as_of`). It uses the task definitions of `bot.domain.scoring`
(counting tasks, closed = verified by 核账, done date, closed on time, overdue at A, open at A,
pending at A, on-time rate, overdue task-workdays, missed reports, score):

- Per unit (the 牵头单位 of counting tasks): open at A, closed in W, closed on time, overdue at
  A, on-time rate = closed on time / (closed in W + overdue at A), None ("—") when that is 0,
  and the 考核 score. Units that lead no task counting in W are not ranked.
- Ranking: score descending, then on-time rate descending (None last), then unit name; units
  with the same score AND the same rate share a rank (1, 2, 2, 4). Scores rest on results
  (overdue workdays, closed on time), never on how often people report.
- Rank change against the previous bulletin's ranks: previous rank - rank, so positive = 进位
  (moved up), negative = 退位, 0 = same, None = not ranked before.
- 红榜: units with at least one task closed on time in W (verified by 核账, its 交账 on or before
  the deadline), none overdue at A, and every task closed in W closed on time; in rank order.
  A 待核账 task earns nothing yet, and one past its deadline is overdue.
- Overdue list: the tasks overdue at A, by unit name, then days overdue (descending), then
  编号; days overdue = the one count `bot.domain.warning.workdays_overdue(deadline, A)`. 容错
  (exempted) tasks stay in the counts and the list (marked `exempt`); the exemption only
  takes them out of the score.
- 未报送 (information, out of the score and the ranking): the officials (owners) of tasks with
  at least one missed report in W, each with the number of missed reminders summed over their
  tasks; by count descending, then name. Not computed for 截至今日.
- Totals: the unit figures summed over all counting tasks, with the same on-time rate, and
  the tasks 待核账 at A.

With `unit`, the bulletin is restricted to that unit (its line keeps its county-wide rank and
change); `ranks` always holds the full ranking, to store for the next bulletin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.domain.calendar import WorkCalendar
from bot.domain.model import Report, Task, TaskStatus
from bot.domain.periods import ToDate, Window
from bot.domain.scoring import (
    DEFAULT_RULES,
    ScoringRules,
    TaskFacts,
    UnitScore,
    as_of,
    scores_from_facts,
    task_facts,
)
from bot.domain.warning import workdays_overdue


@dataclass(frozen=True)
class Totals:
    """Figures over every counting task (or one unit's, with a unit filter)."""

    open: int
    closed: int
    closed_on_time: int
    overdue: int
    on_time_rate: float | None
    pending: int = 0  # 待核账 at the end (part of `open`)

    @property
    def total(self) -> int:
        """Every counting task: open at the end or closed in the window."""
        return self.open + self.closed


@dataclass(frozen=True)
class UnitLine:
    """One unit's row of the ranking."""

    unit: str
    rank: int
    change: int | None  # + 进位, - 退位, 0 same, None new
    score: float
    open: int
    closed: int
    closed_on_time: int
    overdue: int
    on_time_rate: float | None


@dataclass(frozen=True)
class OverdueItem:
    """A task overdue at the end of the period."""

    task_id: str
    title: str
    unit: str
    owners: tuple[str, ...]
    deadline: date
    days_overdue: int
    exempt: bool = False  # 容错: still listed, but out of the score


@dataclass(frozen=True)
class Bulletin:
    period: Window
    totals: Totals
    units: tuple[UnitLine, ...]  # ranked
    red_list: tuple[str, ...]  # 红榜, in rank order
    overdue: tuple[OverdueItem, ...]  # by unit, then days overdue descending
    silent: tuple[tuple[str, int], ...]  # 未报送: (official, missed reminders)
    ranks: dict[str, int]  # every ranked unit, to store for the next bulletin
    scores: dict[str, UnitScore] = field(default_factory=dict)  # itemised, per listed unit
    as_of: date | None = None  # the day the figures are taken, when before the period's end

    @property
    def until(self) -> date:
        """The day the figures are taken (A)."""
        return self.as_of or self.period.end

    @property
    def in_progress(self) -> bool:
        """A calendar period not over yet: its figures stop at today."""
        return not isinstance(self.period, ToDate) and self.until < self.period.end


def on_time_rate(closed_on_time: int, closed: int, overdue: int) -> float | None:
    """closed on time / (closed in P + overdue at end); None when nothing is due to judge."""
    denominator = closed + overdue
    return closed_on_time / denominator if denominator else None


def _totals(facts: Iterable[TaskFacts]) -> Totals:
    open_ = closed = on_time = overdue = pending = 0
    for f in facts:
        open_ += f.open_at_end
        closed += f.closed_in_period
        on_time += f.closed_on_time
        overdue += f.overdue_at_end
        pending += f.pending_at_end
    return Totals(open_, closed, on_time, overdue, on_time_rate(on_time, closed, overdue),
                  pending)


def _rate_key(rate: float | None) -> tuple[int, float]:
    return (1, 0.0) if rate is None else (0, -rate)


def rank_units(entries: Iterable[tuple[str, float, float | None]]) -> dict[str, int]:
    """Competition ranks (1, 2, 2, 4) of (unit, score, on-time rate) entries: score descending,
    then rate descending (None last), then name; equal score and rate share a rank."""
    ordered = sorted(entries, key=lambda e: (-e[1], _rate_key(e[2]), e[0]))
    ranks: dict[str, int] = {}
    previous: tuple[float, float | None] | None = None
    rank = 0
    for position, (unit, score, rate) in enumerate(ordered, start=1):
        if previous is None or (score, rate) != previous:
            rank = position
            previous = (score, rate)
        ranks[unit] = rank
    return ranks


def ledger_start(tasks: Iterable[Task]) -> date | None:
    """The ledger's first day: the earliest creation (下达) date of a task not cancelled."""
    return min((t.created_at.date() for t in tasks if t.status is not TaskStatus.CANCELLED),
               default=None)


def to_date(tasks: Iterable[Task], today: date) -> ToDate:
    """截至今日: the window from the ledger's first day (today when it is empty) to today."""
    start = ledger_start(tasks)
    return ToDate(today if start is None or start > today else start, today)


def build_bulletin(tasks: Iterable[Task], reports_by_task: Mapping[str, Sequence[Report]],
                   period: Window, calendar: WorkCalendar, *,
                   rules: ScoringRules = DEFAULT_RULES,
                   previous_ranks: Mapping[str, int] | None = None,
                   unit: str | None = None,
                   on_leave: Callable[[str, date], bool] | None = None,
                   today: date | None = None) -> Bulletin:
    """The 工作通报 of `period` (module docstring) as of `as_of(period, today)`: a period in
    progress stops at today. `unit` restricts it to one unit. `on_leave(name, day)`: an
    official is not named 未报送 for a day they were on leave (their leader was reminded
    instead)."""
    cumulative = isinstance(period, ToDate)
    until = as_of(period, today)
    facts = task_facts(tasks, reports_by_task, period, calendar, today=today,
                       missed=not cumulative)
    scores = scores_from_facts(facts, rules)
    by_unit: dict[str, list[TaskFacts]] = {}
    for f in facts:
        by_unit.setdefault(f.unit, []).append(f)
    unit_totals = {name: _totals(items) for name, items in by_unit.items()}
    ranks = rank_units((name, scores[name].score, unit_totals[name].on_time_rate)
                       for name in by_unit)
    ordered = sorted(ranks, key=lambda name: (ranks[name], name))
    shown = [name for name in ordered if unit is None or name == unit]
    if unit is not None:
        facts = by_unit.get(unit, [])

    lines = []
    for name in shown:
        t = unit_totals[name]
        change = None
        if previous_ranks is not None and name in previous_ranks:
            change = previous_ranks[name] - ranks[name]
        lines.append(UnitLine(name, ranks[name], change, scores[name].score, t.open, t.closed,
                              t.closed_on_time, t.overdue, t.on_time_rate))

    red_list = tuple(
        name for name in shown
        if unit_totals[name].overdue == 0
        and unit_totals[name].closed_on_time > 0
        and unit_totals[name].closed == unit_totals[name].closed_on_time)

    overdue = sorted(
        (OverdueItem(f.task.id, f.task.title, f.unit, f.task.owners, f.task.deadline,
                     workdays_overdue(f.task.deadline, until, calendar),
                     f.task.exempt_since is not None
                     and f.task.exempt_since.date() <= until)
         for f in facts if f.overdue_at_end and f.task.deadline is not None),
        key=lambda item: (item.unit, -item.days_overdue, item.task_id))

    missed: dict[str, int] = {}
    for f in facts:
        for name in dict.fromkeys(f.task.owners):
            count = sum(1 for day in f.missed_days
                        if on_leave is None or not on_leave(name, day))
            if count:
                missed[name] = missed.get(name, 0) + count
    silent = tuple(sorted(missed.items(), key=lambda item: (-item[1], item[0])))

    return Bulletin(period=period, totals=_totals(facts), units=tuple(lines),
                    red_list=red_list, overdue=tuple(overdue), silent=silent, ranks=ranks,
                    scores={name: scores[name] for name in shown},
                    as_of=until if until != period.end else None)
