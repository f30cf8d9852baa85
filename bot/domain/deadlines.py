"""The one deadline reader: a 完成时限 as people write it, in `/add`, the guided dialogue, an
imported ledger, `/extend`, and (through the same table of dates, bot/domain/reply_dates.py)
the dates of officials' replies.

Plain dates (2026-12-31, 2026/12/31, 2026.12.31, 20261231, 2026年12月31日, 12月31日, 12/31,
an Excel date cell), months and their parts (12月底, 12月下旬, 2027年3月), 年底前, 上半年,
quarters (一季度, 第一季度末, Q1, 2027-Q1), relative days (月底前, 下月底, 本季度末, 下周五,
周五, 明天, 15号, 20天内), holidays (春节前, 元旦前, 国庆前) and 长期 (no deadline).

A phrase without a year is the next such date, today included: 一季度 or 3月31日 asked in
December are next year's; a date of the current month stays in it (12月1日 written on
4 December is this 1 December, past). Whether a date read this
way is usual (not past, not more than three years ahead) is `text.deadline_needs_confirmation`:
the callers ask for confirmation; nothing here refuses a date for being past.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.domain.errors import InvalidField
from bot.domain.reply_dates import _whole_date, spring_festival
from bot.domain.text import NO_DEADLINE_WORDS, check_year

# Excel's 1900 date system (with its phantom 29 Feb 1900): serial 1 is 1900-01-01, so day 0
# is 1899-12-30 for every serial after February 1900.
_EXCEL_EPOCH = date(1899, 12, 30)
# A bare number is only taken for an Excel date serial in this range (1982-02-18 … 2119-01-10);
# anything else (2026, 20261231, 12.31) is ambiguous and refused.
SERIAL_MIN = 30_000
SERIAL_MAX = 80_000

_SPACES = re.compile(r"\s+")
_TRAILING_TIME = re.compile(r"(?<=\d)[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_PREFIXES = ("截止到", "截止", "截至", "到", "至", "于", "在")  # 截止12月31日, 到年底
_DONE_SUFFIXES = ("完成", "办结", "完工")  # 年底前完成
_BEFORE_SUFFIXES = ("之前", "以前", "前", "为止")
# Further ways ledgers say 长期, besides text.NO_DEADLINE_WORDS.
_MORE_NO_DEADLINE = frozenset({"长期推进", "长期任务", "持续开展", "常态化推进", "长期坚持推进"})
_YEAR_PREFIX = re.compile(r"^(\d{4})年|^(今年|明年)")

_NUM = r"(\d{1,2}|十[一二]?|[一二三四五六七八九十])"
_DAY = r"(\d{1,2}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[日号]?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_DAY = re.compile(rf"^{_NUM}月{_DAY}[日号]?$")
_MONTH_SLASH_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})$")
_MONTH_PART = re.compile(rf"^{_NUM}月份?(底|末|初|上旬|中旬|下旬)?$")
_QUARTER = re.compile(r"^第?([一二三四1-4])季度?[末底]?$")
_Q_CODE = re.compile(r"^(?:(\d{4})-?)?q([1-4])末?$")
_DAY_ONLY = re.compile(rf"^(?:本月|这个?月|当月)?{_DAY}[日号]$")
_NEXT_MONTH_DAY = re.compile(rf"^下个?月{_DAY}[日号]?$")
_WEEKDAY = re.compile(r"^(下|本|这|今)?(?:周|星期|礼拜)([一二三四五六日天])$")

_YEAR_END = frozenset({"年底", "年末", "年内", "年终"})
_ANCHORED_YEAR_END = frozenset({"底", "末", "内", "年底", "年末", "年内"})  # 2027年底
_MONTH_END = frozenset({"月底", "月末", "本月底", "本月末", "本月", "本月内", "这个月底",
                        "这月底", "当月底", "月内"})
_NEXT_MONTH_END = frozenset({"下月底", "下月末", "下个月底", "下个月末", "下月", "下个月"})
_QUARTER_END = frozenset({"本季度", "本季度末", "本季末", "季度末", "季末", "本季度内",
                          "这个季度末", "当季末"})
_NEXT_QUARTER_END = frozenset({"下季度", "下季度末", "下个季度", "下个季度末", "下季末"})
_DAYS_FROM_TODAY = {"今天": 0, "今日": 0, "当天": 0, "明天": 1, "明日": 1, "后天": 2}
_HALF_YEAR = {"上半年": 6, "下半年": 12}
_SPRING_FESTIVAL_WORDS = frozenset({"春节", "过年", "年", "农历年"})  # with 前: 春节前, 年前
_HOLIDAY_EVES = {"元旦": (1, 1), "五一": (5, 1), "劳动节": (5, 1), "国庆": (10, 1),
                 "国庆节": (10, 1)}
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


_YearBuild = Callable[[int], "date | None"]


class _Unreadable(Exception):
    """The phrase is not a deadline."""


def read_deadline(value: object, *, today: date) -> date | None:
    """A 完成时限 as typed or imported → its date, or None for 长期 (no deadline).

    Phrases without a year are the next such date counted from `today`. Raises
    InvalidField(field="deadline", value=…) for anything unreadable, and
    InvalidField(reason="year_range") for a year outside text.MIN_YEAR–MAX_YEAR.
    """
    result = _read(value, today, relative=True)
    if result is not None:
        check_year(result, field="deadline", value=_shown(value))
    return result


def parse_deadline_phrase(value: object, *, year: int | None = None,
                          today: date | None = None) -> date | None:
    """A 完成时限 cell of an imported ledger → its date, or None for 长期.

    With `today` (and no other `year`), it is read as in chat (read_deadline): 一季度 imported
    in December is next year's. A `year` alone (a ledger of that year) places the phrases
    that name none in it (12月底, 一季度, 年底前), and relative ones (月底, 下周五) are
    refused. The year range is the importer's to check (deadline_year). Raises
    InvalidField(field="deadline", value=…) for an empty cell or an unreadable phrase.
    """
    if today is not None and (year is None or year == today.year):
        return _read(value, today, relative=True)
    if year is None:
        raise ValueError("parse_deadline_phrase needs a year or today")
    return _read(value, date(year, 1, 1), relative=False)


def _read(value: object, today: date, *, relative: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _invalid(value)
    if isinstance(value, int | float):
        return _from_serial(value)
    text = "" if value is None else str(value)
    try:
        return _read_text(text, today, relative=relative)
    except (_Unreadable, ValueError, OverflowError):  # 2月30日, 13月, a year 0
        raise _invalid(value) from None


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _invalid(value: object) -> InvalidField:
    return InvalidField(field="deadline", value=_shown(value))


def _from_serial(value: float) -> date:
    if value != value or not SERIAL_MIN <= value <= SERIAL_MAX:  # NaN or out of range
        raise _invalid(value)
    return _EXCEL_EPOCH + timedelta(days=int(value))


def _read_text(text: str, today: date, *, relative: bool) -> date | None:
    raw = unicodedata.normalize("NFKC", text).strip()
    raw = _TRAILING_TIME.sub("", raw)  # "2026-12-31 00:00:00" from a CSV made elsewhere
    compact = _SPACES.sub("", raw).lower()
    if not compact:
        raise _Unreadable
    if compact in NO_DEADLINE_WORDS or compact in _MORE_NO_DEADLINE:
        return None
    body, before = _strip_affixes(compact)
    found = _read_compact(body, today, relative=relative, before=before)
    if found is not None:
        return found
    if relative:
        # The reply reader's table of dates, the whole phrase being one of them: durations
        # (20天, 两周, 3个月), English (end of month, Dec 31), 二〇二七年五月三十一日.
        for phrase in (raw.lower(), body):
            shared = _whole_date(phrase, today)
            if shared is not None:
                return shared
    raise _Unreadable


def _strip_affixes(compact: str) -> tuple[str, bool]:
    """截止12月31日前完成 → (12月31日, True): the date's words, and whether it said 前."""
    for prefix in _PREFIXES:
        if compact.startswith(prefix) and len(compact) > len(prefix):
            compact = compact[len(prefix):]
            break
    for suffix in _DONE_SUFFIXES:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            compact = compact[: -len(suffix)]
            break
    if compact.endswith("内") and compact[:-1].endswith(("天", "周", "月", "星期")):
        compact = compact[:-1]  # 20天内, 3个月内: the period itself
    for suffix in _BEFORE_SUFFIXES:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            return compact[: -len(suffix)], True
    return compact, False


def _read_compact(text: str, today: date, *, relative: bool, before: bool) -> date | None:
    """The phrase's date, or None when none of these forms is it."""
    for pattern in (_ISO, _COMPACT):
        match = pattern.match(text)
        if match:
            y, m, d = (int(g) for g in match.groups())
            return date(y, m, d)
    match = _YEAR_MONTH.match(text)
    if match:
        return _month_end(int(match[1]), int(match[2]))
    match = _Q_CODE.match(text)
    if match and match[1]:
        return _quarter_end(int(match[1]), int(match[2]))
    prefix = _YEAR_PREFIX.match(text)
    if prefix:
        year = int(prefix[1]) if prefix[1] else today.year + (1 if prefix[2] == "明年" else 0)
        rest = text[prefix.end():]
        if rest in _ANCHORED_YEAR_END:
            return date(year, 12, 31)
        found = _in_year(rest, date(year, 1, 1), before=before)
        if found is None:
            raise _Unreadable  # 2027年 alone, 2027年下周五
        return found
    found = _in_year(text, today, before=before)
    if found is not None or not relative:
        return found
    return _relative(text, today)


def _in_year(text: str, today: date, *, before: bool) -> date | None:
    """Forms that name a day or a period of a year: the next such one from `today` (from
    1 January of a year the phrase named: 2027年一季度)."""
    if text in _YEAR_END:
        return date(today.year, 12, 31)
    if text in _HALF_YEAR:
        month = _HALF_YEAR[text]
        return _next_end(today, lambda year: _month_end(year, month))
    match = _MONTH_DAY.match(text) or _MONTH_SLASH_DAY.match(text)
    if match:
        month, day = _number(match[1]), _number(match[2])
        return date(_year_of_month(month, today), month, day)
    match = _MONTH_PART.match(text)
    if match:
        month, part = _number(match[1]), match[2]
        part_day = {"上旬": 10, "初": 10, "中旬": 20}.get(part or "")
        year = _year_of_month(month, today)
        return date(year, month, part_day) if part_day else _month_end(year, month)
    match = _QUARTER.match(text) or _Q_CODE.match(text)
    if match and match.re is _Q_CODE and match[1]:
        raise _Unreadable  # 2027年2027-Q1
    if match:
        quarter = _number(match[match.re.groups])
        return _next_end(today, lambda year: _quarter_end(year, quarter))
    if (before and text in _SPRING_FESTIVAL_WORDS) or text == "春节":
        return _next_end(today, _before_spring_festival)
    if before and text in _HOLIDAY_EVES:
        month, day = _HOLIDAY_EVES[text]
        return _next_end(today, lambda year: date(year, month, day) - timedelta(days=1)
                         if month > 1 else date(year, 12, 31))
    return None


def _relative(text: str, today: date) -> date | None:
    """Forms that count from today: 月底, 下月底, 本季度末, 明天, 下周五, 15号."""
    if text in _MONTH_END:
        return _month_end(today.year, today.month)
    following = _first_of_next_month(today)
    if text in _NEXT_MONTH_END:
        return _month_end(following.year, following.month)
    quarter = (today.month - 1) // 3 + 1
    if text in _QUARTER_END:
        return _quarter_end(today.year, quarter)
    if text in _NEXT_QUARTER_END:
        return _quarter_end(today.year, quarter + 1) if quarter < 4 \
            else _quarter_end(today.year + 1, 1)
    if text in _DAYS_FROM_TODAY:
        return today + timedelta(days=_DAYS_FROM_TODAY[text])
    match = _NEXT_MONTH_DAY.match(text)
    if match:
        return date(following.year, following.month, _number(match[1]))
    match = _DAY_ONLY.match(text)
    if match:
        day = _number(match[1])
        if not 1 <= day <= 31:
            raise _Unreadable
        if day >= today.day and day <= calendar.monthrange(today.year, today.month)[1]:
            return date(today.year, today.month, day)
        return date(following.year, following.month, day)
    match = _WEEKDAY.match(text)
    if match:
        weekday = _WEEKDAYS[match[2]]
        monday = today - timedelta(days=today.weekday())
        if match[1] == "下":
            return monday + timedelta(days=7 + weekday)
        if match[1]:
            return monday + timedelta(days=weekday)  # 本周五: this week's, even if past
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


def _year_of_month(month: int, today: date) -> int:
    """The year of a month named without one: this year's until the month is over, then next
    year's. 12月1日 or 12月上旬 written on 4 December are this December's (past: the caller
    asks about them), 3月31日 written in December is next year's."""
    if not 1 <= month <= 12:
        raise _Unreadable
    return today.year if month >= today.month else today.year + 1


def _next_end(today: date, build: _YearBuild) -> date:
    """The date `build` gives in today's year if it is not past, else in the next year."""
    this_year = build(today.year)
    if this_year is not None and this_year >= today:
        return this_year
    following = build(today.year + 1)
    if following is None:
        raise _Unreadable
    return following


def _before_spring_festival(year: int) -> date | None:
    festival = spring_festival(year)
    return festival - timedelta(days=2) if festival is not None else None  # before 除夕


def _first_of_next_month(today: date) -> date:
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def _number(text: str) -> int:
    """'12', '十二', '三', '二十五' → 12, 12, 3, 25."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, units = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
    return _CN_DIGITS[text]


def _month_end(year: int, month: int) -> date:
    if not 1 <= month <= 12:
        raise ValueError(month)
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_end(year: int, quarter: int) -> date:
    return _month_end(year, quarter * 3)

