"""Workdays: the official calendar with 调休, overrides from the config, and a safe fallback.

The official holiday data is third-party (see `bot.adapters.holidays`); it reaches the domain
through the `HolidaySource` port. Whatever the source does, a date never crashes the bot: an
exception from the source means "this year is not covered", and an uncovered year falls back to
weekends plus that year's statutory holidays.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.periods import Period, PeriodKind, period_of

log = logging.getLogger(__name__)

_ONE_DAY = timedelta(days=1)
_MIN_YEAR = date.min.year
_MAX_YEAR = date.max.year
# From this day of a year on, the next year's official arrangement is usually published.
_NEXT_YEAR_WARNING_FROM = (11, 1)


class HolidaySource(ABC):
    """Official holiday data (with 调休 make-up working days) for the years it covers."""

    @abstractmethod
    def is_workday(self, day: date) -> bool | None:
        """Whether `day` is an official workday; None when its year is not covered."""

    @abstractmethod
    def covers(self, year: int) -> bool:
        """Whether official data for `year` is available."""

    @abstractmethod
    def statutory_holidays(self, year: int) -> frozenset[date]:
        """Fallback rest days (besides weekends) for a year the data does not cover."""


@dataclass(frozen=True, slots=True)
class _Year:
    """One year, resolved: its workdays in order, and whether official data covered all of it."""

    workdays: tuple[date, ...]
    workday_set: frozenset[date]
    official: bool


def _as_date(value: date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {value!r}")
    return value


class WorkCalendar:
    """Answers "is this a workday?" and the period questions the rhythm asks, with caches.

    Decision order for one day: `extra_workdays` → workday; `extra_holidays` → rest day; the
    source's answer when it has one; otherwise weekends and the source's statutory holidays of
    that year are rest days and every other day is a workday. Each year is resolved once and
    kept, so a lookup is a set membership test.
    """

    def __init__(
        self,
        source: HolidaySource | None = None,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self._source = source
        self._extra_holidays = frozenset(_as_date(d) for d in extra_holidays)
        self._extra_workdays = frozenset(_as_date(d) for d in extra_workdays)
        self._years: dict[int, _Year] = {}
        self._source_covers: dict[int, bool] = {}
        self._first: dict[Period, date | None] = {}
        self._first_by_day: dict[tuple[PeriodKind, date], date | None] = {}

    @property
    def extra_holidays(self) -> frozenset[date]:
        return self._extra_holidays

    @property
    def extra_workdays(self) -> frozenset[date]:
        return self._extra_workdays

    # -- the source, guarded ----------------------------------------------------------------

    def _ask_covers(self, year: int) -> bool:
        cached = self._source_covers.get(year)
        if cached is not None:
            return cached
        answer = False
        if self._source is not None:
            try:
                answer = bool(self._source.covers(year))
            except Exception:
                log.warning(
                    "holiday source failed on covers(%s); treating it as uncovered",
                    year,
                    exc_info=True,
                )
                answer = False
        self._source_covers[year] = answer
        return answer

    def _official_answers(self, days: list[date]) -> list[bool | None]:
        """The source's answer for each day, or all None if the source fails on any of them."""
        if self._source is None:
            return [None] * len(days)
        try:
            return [None if (a := self._source.is_workday(d)) is None else bool(a) for d in days]
        except Exception:
            log.warning(
                "holiday source failed for %s; treating the year as uncovered",
                days[0].year,
                exc_info=True,
            )
            return [None] * len(days)

    def _statutory(self, year: int) -> frozenset[date]:
        if self._source is None:
            return frozenset()
        try:
            return frozenset(_as_date(d) for d in self._source.statutory_holidays(year))
        except Exception:
            log.warning("holiday source failed on statutory_holidays(%s)", year, exc_info=True)
            return frozenset()

    def _year(self, year: int) -> _Year:
        resolved = self._years.get(year)
        if resolved is None:
            resolved = self._years[year] = self._resolve_year(year)
        return resolved

    def _resolve_year(self, year: int) -> _Year:
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        days = [date.fromordinal(n) for n in range(first, last + 1)]
        answers = self._official_answers(days)
        statutory: frozenset[date] | None = None
        official = self._ask_covers(year)
        workdays: list[date] = []
        for day, answer in zip(days, answers, strict=True):
            if day in self._extra_workdays:
                workday = True
            elif day in self._extra_holidays:
                workday = False
            elif answer is not None:
                workday = answer
            else:
                official = False
                if statutory is None:
                    statutory = self._statutory(year)
                workday = day.weekday() < 5 and day not in statutory
            if workday:
                workdays.append(day)
        return _Year(tuple(workdays), frozenset(workdays), official)

    # -- single days ------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        day = _as_date(day)
        return day in self._year(day.year).workday_set

    def is_rest_day(self, day: date) -> bool:
        return not self.is_workday(day)

    def covers(self, year: int) -> bool:
        """Whether official data (with 调休) is available for the whole of `year`."""
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            return False
        return self._ask_covers(year) and self._year(year).official

    # -- periods ----------------------------------------------------------------------------

    def first_workday(self, period: Period) -> date | None:
        """The first workday of `period`, or None if it has none. Cached per period."""
        try:
            return self._first[period]
        except KeyError:
            pass
        workdays = self._year(period.start.year).workdays  # a period never spans two years
        index = bisect_left(workdays, period.start)
        found = workdays[index] if index < len(workdays) else None
        if found is not None and found > period.end:
            found = None
        self._first[period] = found
        return found

    def is_first_workday(self, day: date, kind: PeriodKind) -> bool:
        """Whether `day` is the first workday of its period of `kind`."""
        day = _as_date(day)
        key = (kind, day)
        try:
            first = self._first_by_day[key]
        except KeyError:
            first = self._first_by_day[key] = self.first_workday(period_of(kind, day))
        return first == day

    # -- ranges -----------------------------------------------------------------------------

    def next_workday(self, day: date) -> date:
        """The first workday strictly after `day` (ValueError if there is none before 10000)."""
        day = _as_date(day)
        for year in range(day.year, _MAX_YEAR + 1):
            workdays = self._year(year).workdays
            index = bisect_right(workdays, day)
            if index < len(workdays):
                return workdays[index]
        raise ValueError(f"no workday after {day}")

    def previous_workday(self, day: date) -> date:
        """The last workday strictly before `day` (ValueError if there is none after year 1)."""
        day = _as_date(day)
        for year in range(day.year, _MIN_YEAR - 1, -1):
            workdays = self._year(year).workdays
            index = bisect_left(workdays, day)
            if index > 0:
                return workdays[index - 1]
        raise ValueError(f"no workday before {day}")

    def _count_up_to(self, day: date) -> int:
        """Workdays on or before `day` within `day`'s year."""
        return bisect_right(self._year(day.year).workdays, day)

    def workdays_between(self, start: date, end: date) -> int:
        """Workdays d with start < d <= end (0 if end <= start): the N of "逾期 N 个工作日"."""
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        if start.year == end.year:
            return self._count_up_to(end) - self._count_up_to(start)
        total = len(self._year(start.year).workdays) - self._count_up_to(start)
        for year in range(start.year + 1, end.year):
            total += len(self._year(year).workdays)
        return total + self._count_up_to(end)

    def workdays(self, start: date, end: date) -> list[date]:
        """All workdays d with start <= d <= end, in order."""
        start, end = _as_date(start), _as_date(end)
        result: list[date] = []
        for year in range(start.year, end.year + 1):
            workdays = self._year(year).workdays
            result.extend(workdays[bisect_left(workdays, start) : bisect_right(workdays, end)])
        return result

    # -- warnings ---------------------------------------------------------------------------

    def missing_year(self, today: date) -> tuple[int, bool] | None:
        """The year whose official 调休 data is missing and matters now, with whether it is
        this year (True: workdays are computed meanwhile) or next (from 1 November); None
        when nothing is missing."""
        today = _as_date(today)
        if not self.covers(today.year):
            return today.year, True
        if (today.month, today.day) >= _NEXT_YEAR_WARNING_FROM and today.year < _MAX_YEAR:
            if not self.covers(today.year + 1):
                return today.year + 1, False
        return None

    def warning(self, today: date) -> str | None:
        """A short bilingual notice for whoever maintains the bot (the log, `check`) when
        official holiday data is missing, else None. Admins get theirs in their language
        (`missing_year`, the message catalogue)."""
        today = _as_date(today)
        if not self.covers(today.year):
            year = today.year
            return (
                f"⚠️ 缺少{year}年法定节假日调休数据：暂按周末和法定节日计算工作日。"
                "请升级 chinese-calendar，"
                "或在配置 [calendar] extra_holidays / extra_workdays 中补充。\n"
                f"⚠️ Official {year} holiday data (调休 make-up workdays) is missing: workdays "
                "follow weekends and statutory holidays. Update chinese-calendar "
                "(pip install -U chinese-calendar) or set [calendar] extra_holidays / "
                "extra_workdays."
            )
        if (today.month, today.day) >= _NEXT_YEAR_WARNING_FROM and today.year < _MAX_YEAR:
            year = today.year + 1
            if not self.covers(year):
                return (
                    f"⚠️ 尚缺{year}年法定节假日调休数据，届时将暂按周末和法定节日计算工作日。"
                    "请升级 chinese-calendar（pip install -U chinese-calendar），"
                    "或在配置 [calendar] extra_holidays / extra_workdays 中补充。\n"
                    f"⚠️ Official {year} holiday data (调休 make-up workdays) is not available "
                    "yet. Update chinese-calendar (pip install -U chinese-calendar) or set "
                    "[calendar] extra_holidays / extra_workdays."
                )
        return None
