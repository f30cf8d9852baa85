"""工作通报 and 考核 for the chat, the scheduled jobs and the command line alike."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from bot.config import Config
from bot.domain.bulletin import Bulletin, build_bulletin, ledger_start, to_date
from bot.domain.calendar import WorkCalendar
from bot.domain.model import Report
from bot.domain.periods import Period, PeriodKind, ToDate, Window, period_of
from bot.domain.ports import LedgerRepository
from bot.domain.scoring import ScoringRules
from bot.messages import Messages

log = logging.getLogger(__name__)

# /report 旬 · /score 月 …: the words for the last complete period of a kind.
PERIOD_WORDS: dict[str, PeriodKind] = {
    "旬": PeriodKind.XUN, "xun": PeriodKind.XUN, "上旬": PeriodKind.XUN,
    "月": PeriodKind.MONTH, "月度": PeriodKind.MONTH, "month": PeriodKind.MONTH,
    "季": PeriodKind.QUARTER, "季度": PeriodKind.QUARTER, "quarter": PeriodKind.QUARTER,
}
# /report 今日 · /score 今日: 截至今日, from the ledger's first day to today.
TODAY_WORDS = frozenset({"今日", "今天", "截至今日", "截至今天", "截止今日", "截止今天", "当前",
                         "today", "now", "todate", "to-date"})
BULLETIN_KINDS = (PeriodKind.XUN, PeriodKind.MONTH, PeriodKind.QUARTER)


def scoring_rules(config: Config) -> ScoringRules:
    """The 考核's points from the config. `scoring.missed_report` is no longer read: scores
    rest on results, never on how often people report (issue 14)."""
    s = config.scoring
    return ScoringRules(base=s.base, overdue_per_workday=s.overdue_per_workday,
                        closed_on_time=s.closed_on_time)


def parse_period(text: str, today: date, default: PeriodKind) -> Window | None:
    """A period word (the last complete one), 今日 (截至今日: a `ToDate` ending today; its start
    is the ledger's first day, set by `make_bulletin`) or a period code (2026-12, 2026-Q4,
    2026-12-2; one in progress or still to come is returned as it is). None otherwise."""
    word = text.strip()
    if not word:
        return period_of(default, today).previous()
    if word.lower() in TODAY_WORDS:
        return ToDate(today, today)
    kind = PERIOD_WORDS.get(word.lower())
    if kind is not None:
        return period_of(kind, today).previous()
    try:
        period = Period.parse(word)
    except ValueError:
        return None
    return period if period.kind in BULLETIN_KINDS else None


def ledger_existed(repo: LedgerRepository, period: Window) -> bool:
    """Whether any task (cancelled ones aside) had been created (下达) by the end of `period`:
    a new deployment, or a ledger imported today without 下达日期, has nothing to report for
    the periods before it."""
    start = ledger_start(repo.tasks())
    return start is not None and start <= period.end


def reports_by_task(repo: LedgerRepository) -> dict[str, list[Report]]:
    grouped: dict[str, list[Report]] = {}
    for report in repo.reports():
        grouped.setdefault(report.task_id, []).append(report)
    return grouped


def make_bulletin(repo: LedgerRepository, calendar: WorkCalendar, config: Config,
                  period: Window, unit: str | None = None, *, today: date) -> Bulletin:
    """The bulletin of `period` as of today (a period in progress stops at today; a `ToDate`
    starts on the ledger's first day). Rank changes compare with the ranks the previous
    period's published bulletin stored; when none was published (the bot was not running
    then, or /report asks about a period never sent), with that period's ranking computed
    now. 截至今日 has no previous bulletin: no rank changes."""
    people = {p.name: p for p in repo.people()}

    def on_leave(name: str, day: date) -> bool:
        person = people.get(name)
        return person is not None and person.on_leave(day)

    tasks, reports = list(repo.tasks()), reports_by_task(repo)
    rules = scoring_rules(config)
    previous: dict[str, int] | None = None
    if isinstance(period, ToDate):
        period = to_date(tasks, period.end)
    else:
        previous = repo.bulletin_ranks(period.previous().code())
        if previous is None:
            previous = build_bulletin(tasks, reports, period.previous(), calendar, rules=rules,
                                      on_leave=on_leave, today=today).ranks
    return build_bulletin(tasks, reports, period, calendar, rules=rules, previous_ranks=previous,
                          unit=unit, on_leave=on_leave, today=today)


def chart_for(bulletin: Bulletin, messages: Messages) -> bytes | None:
    """The bulletin's chart, or None (no units, or no CJK font: text only)."""
    if not bulletin.units:
        return None
    from bot.adapters.chart import ChartRow, render_chart

    rows = [ChartRow(line.unit, line.on_time_rate, line.overdue) for line in bulletin.units]
    title = messages.catalog["chart_title"].format(period=bulletin.period.label(
        messages.language))
    try:
        return render_chart(title, rows)
    except Exception:  # a chart never stops the text bulletin
        log.exception("the bulletin chart could not be drawn; sending text only")
        return None


def score_sheets(bulletin: Bulletin) -> dict[str, tuple[Sequence[str], list[list[object]]]]:
    """Per-unit scores and the itemised deductions, for `python -m bot score`."""
    units: list[list[object]] = [
        [line.rank, line.unit, line.score, bulletin.scores[line.unit].base,
         bulletin.scores[line.unit].overdue_days, bulletin.scores[line.unit].closed_on_time,
         line.closed, line.overdue,
         round(line.on_time_rate * 100) if line.on_time_rate is not None else ""]
        for line in bulletin.units if line.unit in bulletin.scores]
    kind_names = {"overdue_days": "逾期工作日", "closed_on_time": "按时办结"}
    items: list[list[object]] = [
        [unit, item.task_id, kind_names.get(item.kind, item.kind), item.count, item.points]
        for unit, score in sorted(bulletin.scores.items()) for item in score.items]
    return {
        "单位得分": (("名次", "单位", "得分", "基础分", "逾期工作日", "按时办结",
                     "本期办结", "逾期任务", "按时完成率%"), units),
        "扣分明细": (("单位", "编号", "项目", "次数", "分值"), items),
    }
