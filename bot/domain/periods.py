"""Calendar periods of the rhythm 以日保旬、以旬保月、以月保季、以季保年.

A period is a day, a 旬 (ten-day period: 上旬 days 1–10, 中旬 11–20, 下旬 21 to month end),
a month, a quarter or a year. Every period lies inside one calendar year.

`ToDate` is the other window a bulletin covers: 截至今日, from the ledger's first day to a day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

_ONE_DAY = timedelta(days=1)

_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZH_XUN = ("上旬", "中旬", "下旬")
_EN_XUN = ("early", "mid", "late")
_ZH_QUARTER = ("一", "二", "三", "四")

_CODE_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CODE_XUN = re.compile(r"(\d{4})-(\d{2})-([1-3])")
_CODE_MONTH = re.compile(r"(\d{4})-(\d{2})")
_CODE_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_CODE_YEAR = re.compile(r"(\d{4})")


class PeriodKind(StrEnum):
    DAY = "day"
    XUN = "xun"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def xun_index(day: date) -> int:
    """1 for 上旬 (days 1–10), 2 for 中旬 (11–20), 3 for 下旬 (21 to month end)."""
    if day.day <= 10:
        return 1
    if day.day <= 20:
        return 2
    return 3


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_index(day: date) -> int:
    return (day.month - 1) // 3 + 1


def _bounds(kind: PeriodKind, day: date) -> tuple[date, date]:
    """First and last day of the period of `kind` containing `day`."""
    if isinstance(day, datetime):
        day = day.date()
    if kind is PeriodKind.DAY:
        return day, day
    if kind is PeriodKind.XUN:
        index = xun_index(day)
        start = date(day.year, day.month, 10 * (index - 1) + 1)
        if index < 3:
            return start, date(day.year, day.month, 10 * index)
        return start, _month_end(day.year, day.month)
    if kind is PeriodKind.MONTH:
        return date(day.year, day.month, 1), _month_end(day.year, day.month)
    if kind is PeriodKind.QUARTER:
        first_month = 3 * (_quarter_index(day) - 1) + 1
        return date(day.year, first_month, 1), _month_end(day.year, first_month + 2)
    if kind is PeriodKind.YEAR:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(f"unknown period kind: {kind!r}")


@dataclass(frozen=True, order=True)
class Period:
    """A closed date range [start, end] of one kind (build it with `period_of`)."""

    kind: PeriodKind
    start: date
    end: date

    def __post_init__(self) -> None:
        kind = PeriodKind(self.kind)  # accepts the plain string value too
        if kind is not self.kind:
            object.__setattr__(self, "kind", kind)
        if _bounds(kind, self.start) != (self.start, self.end):
            raise ValueError(f"not a {kind.value} period: {self.start} .. {self.end}")

    # -- navigation -------------------------------------------------------------------------

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def next(self) -> Period:
        """The following period of the same kind (OverflowError after year 9999)."""
        return period_of(self.kind, self.end + _ONE_DAY)

    def previous(self) -> Period:
        """The preceding period of the same kind (OverflowError before year 1)."""
        return period_of(self.kind, self.start - _ONE_DAY)

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days + 1

    # -- text -------------------------------------------------------------------------------

    def label(self, lang: str = "zh") -> str:
        """Human label: zh "12月中旬" / "2026年第四季度"; en "mid Dec" / "2026 Q4"."""
        start = self.start
        if lang.lower().startswith("en"):
            month = _EN_MONTHS[start.month - 1]
            match self.kind:
                case PeriodKind.DAY:
                    return f"{start.day} {month}"
                case PeriodKind.XUN:
                    return f"{_EN_XUN[xun_index(start) - 1]} {month}"
                case PeriodKind.MONTH:
                    return f"{month} {start.year}"
                case PeriodKind.QUARTER:
                    return f"{start.year} Q{_quarter_index(start)}"
                case _:
                    return str(start.year)
        match self.kind:
            case PeriodKind.DAY:
                return f"{start.month}月{start.day}日"
            case PeriodKind.XUN:
                return f"{start.month}月{_ZH_XUN[xun_index(start) - 1]}"
            case PeriodKind.MONTH:
                return f"{start.month}月"
            case PeriodKind.QUARTER:
                return f"{start.year}年第{_ZH_QUARTER[_quarter_index(start) - 1]}季度"
            case _:
                return f"{start.year}年"

    def code(self) -> str:
        """Stable text code: "2026-12-03", "2026-12-2" (2nd 旬), "2026-12", "2026-Q4", "2026"."""
        start = self.start
        year = f"{start.year:04d}"
        match self.kind:
            case PeriodKind.DAY:
                return f"{year}-{start.month:02d}-{start.day:02d}"
            case PeriodKind.XUN:
                return f"{year}-{start.month:02d}-{xun_index(start)}"
            case PeriodKind.MONTH:
                return f"{year}-{start.month:02d}"
            case PeriodKind.QUARTER:
                return f"{year}-Q{_quarter_index(start)}"
            case _:
                return year

    @classmethod
    def parse(cls, code: str) -> Period:
        """Inverse of `code()`; ValueError on anything else."""
        if not isinstance(code, str):
            raise ValueError(f"not a period code: {code!r}")
        text = code.strip()
        try:
            if m := _CODE_DAY.fullmatch(text):
                y, mo, d = map(int, m.groups())
                return period_of(PeriodKind.DAY, date(y, mo, d))
            if m := _CODE_XUN.fullmatch(text):
                y, mo, x = map(int, m.groups())
                return period_of(PeriodKind.XUN, date(y, mo, 10 * (x - 1) + 1))
            if m := _CODE_MONTH.fullmatch(text):
                y, mo = map(int, m.groups())
                return period_of(PeriodKind.MONTH, date(y, mo, 1))
            if m := _CODE_QUARTER.fullmatch(text):
                y, q = map(int, m.groups())
                return period_of(PeriodKind.QUARTER, date(y, 3 * (q - 1) + 1, 1))
            if m := _CODE_YEAR.fullmatch(text):
                return period_of(PeriodKind.YEAR, date(int(m.group(1)), 1, 1))
        except ValueError as exc:  # e.g. month 13, day 31 in April, year 0
            raise ValueError(f"not a period code: {code!r} ({exc})") from None
        raise ValueError(f"not a period code: {code!r}")

    def __str__(self) -> str:
        return self.code()


def period_of(kind: PeriodKind | str, day: date) -> Period:
    """The period of `kind` that contains `day`."""
    kind = PeriodKind(kind)
    start, end = _bounds(kind, day)
    return Period(kind, start, end)


def day_of(day: date) -> Period:
    return period_of(PeriodKind.DAY, day)


def xun_of(day: date) -> Period:
    return period_of(PeriodKind.XUN, day)


def month_of(day: date) -> Period:
    return period_of(PeriodKind.MONTH, day)


def quarter_of(day: date) -> Period:
    return period_of(PeriodKind.QUARTER, day)


def year_of(day: date) -> Period:
    return period_of(PeriodKind.YEAR, day)


@dataclass(frozen=True)
class ToDate:
    """截至某日: the window [start, end] from the ledger's first day (`start`) to `end`, the day
    the figures are taken (a 督查通报 "截至9月14日"). Not a calendar period: no kind, no
    neighbours; it has the label and code a bulletin needs."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"a window ends before it starts: {self.start} .. {self.end}")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def label(self, lang: str = "zh") -> str:
        """zh "截至12月4日" / en "to 4 Dec"."""
        end = self.end
        if lang.lower().startswith("en"):
            return f"to {end.day} {_EN_MONTHS[end.month - 1]}"
        return f"截至{end.month}月{end.day}日"

    def code(self) -> str:
        return f"to-{self.end.isoformat()}"

    def __str__(self) -> str:
        return self.code()


# What a bulletin covers: a calendar period, or 截至今日.
Window = Period | ToDate
