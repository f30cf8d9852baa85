"""Official Chinese holiday data: the `chinese-calendar` package, plus a computed fallback.

`chinese-calendar` knows the State Council's yearly arrangement (holidays and 调休 make-up
workdays) for the years it ships (2004–2026 in 1.11.0) and raises NotImplementedError for the
others. For those years the fallback is the statutory holidays of the year, computed here:
元旦 1/1; 春节 除夕 to 初三; 清明; 劳动节 5/1–5/2; 端午; 中秋; 国庆 10/1–10/3.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from lunardate import LunarDate

from bot.domain.calendar import HolidaySource, WorkCalendar

_ONE_DAY = timedelta(days=1)

# The Qingming (清明) solar term by the common formula day = int(Y*D + C) - int(Y/4) in April,
# Y = year % 100, with C per century. chinese-calendar uses the same constants and lists no
# correction for 清明 in 1900–2100. Note 2000 takes the 21st-century C (April 4, 2000).
_QINGMING_D = 0.2422
_QINGMING_C = {19: 5.59, 20: 4.81}


def qingming(year: int) -> date | None:
    """The day of the 清明 solar term in `year` (1900–2099), else None."""
    c = _QINGMING_C.get(year // 100)
    if c is None:
        return None
    y = year % 100
    return date(year, 4, int(y * _QINGMING_D + c) - y // 4)


def _lunar(year: int, month: int, day: int) -> date | None:
    """The solar date of a lunar date (non-leap month), or None outside lunardate's range."""
    try:
        solar: date = LunarDate(year, month, day).to_solar_date()
        return solar
    except (ValueError, OverflowError, IndexError, KeyError):
        return None


@lru_cache(maxsize=512)
def statutory_holidays(year: int) -> frozenset[date]:
    """The statutory holidays of `year` (without weekends and without 调休 arrangements).

    The lunar festivals and 清明 are known for 1900–2099 only; outside that range the result
    holds just the solar-calendar ones (元旦, 劳动节, 国庆).
    """
    days: set[date] = {
        date(year, 1, 1),  # 元旦
        date(year, 5, 1),  # 劳动节
        date(year, 5, 2),
        date(year, 10, 1),  # 国庆
        date(year, 10, 2),
        date(year, 10, 3),
    }
    new_year = _lunar(year, 1, 1)  # 春节 初一; always in late January or February
    if new_year is not None:
        days.update(new_year + offset * _ONE_DAY for offset in range(-1, 3))  # 除夕 to 初三
    for festival in (qingming(year), _lunar(year, 5, 5), _lunar(year, 8, 15)):  # 清明 端午 中秋
        if festival is not None:
            days.add(festival)
    return frozenset(days)


class ChineseCalendarSource(HolidaySource):
    """`HolidaySource` backed by the chinese-calendar package."""

    def __init__(self) -> None:
        self._covers: dict[int, bool] = {}

    def covers(self, year: int) -> bool:
        cached = self._covers.get(year)
        if cached is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                cached = True
            except (NotImplementedError, ValueError, OverflowError):
                cached = False
            self._covers[year] = cached
        return cached

    def is_workday(self, day: date) -> bool | None:
        if not self.covers(day.year):
            return None
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return None

    def statutory_holidays(self, year: int) -> frozenset[date]:
        return statutory_holidays(year)


def default_calendar(
    extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()
) -> WorkCalendar:
    """The bot's calendar: chinese-calendar data, the config overrides, the computed fallback."""
    return WorkCalendar(
        ChineseCalendarSource(),
        extra_holidays=extra_holidays,
        extra_workdays=extra_workdays,
    )
