"""Dates in a reply: 2月10日, 2027年3月15日, 1.31, 元月底, 下月10日, 下周五, 20天, 两周, 半年.

`deadline(segment, today, base)` returns the first date a piece of text names; periods count
from `base` (an extension's current deadline). Dates without a year are the next such date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from bot.domain.reply_text import _number


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _upcoming(today: date, month: int, day: int | None, year_word: str = "") -> date | None:
    """A date given without a year: this year if it is not past, else next year.

    day None means the end of the month. 明年 / 今年 force the year.
    """
    def build(year: int) -> date | None:
        if not 1 <= month <= 12 or not 1 <= year <= 9999:
            return None
        if day is None:
            return _month_end(year, month)
        return _safe_date(year, month, day)

    if year_word in ("明年", "next year"):
        return build(today.year + 1)
    if year_word in ("今年", "this year"):
        return build(today.year)
    this_year = build(today.year)
    if this_year is not None and this_year >= today:
        return this_year
    return build(today.year + 1)


def _add_months(today: date, months: int) -> date | None:
    index = today.year * 12 + today.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    end = _month_end(year, month + 1)
    return end.replace(day=min(today.day, end.day))


def _add_days(today: date, days: float) -> date | None:
    try:
        return today + timedelta(days=round(days))
    except OverflowError:
        return None


_MON = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"
_EN_MONTHS = {name: index for index, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_EN_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_PERIOD_DAYS = {"月": 0, "周": 7, "星期": 7, "礼拜": 7, "天": 1, "日": 1,
                "month": 0, "week": 7, "day": 1}


def _cn_full_date(m: re.Match[str], today: date) -> date | None:
    """二〇二七年五月三十一日."""
    year = "".join(str(_CN_YEAR_DIGITS[char]) for char in m.group(1))
    month, day = _number(m.group(2)), _number(m.group(3))
    if month is None or day is None:
        return None
    return _safe_date(int(year), int(month), int(day))


_CN_YEAR_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                   "八": 8, "九": 9}


def _full_date(m: re.Match[str], today: date) -> date | None:
    return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _year_month(m: re.Match[str], today: date) -> date | None:
    year, month = int(m.group(1)), _number(m.group(2))
    if month is None or not 1 <= month <= 12 or not 1 <= year <= 9999:
        return None
    return _month_end(year, int(month))


def _month_day(m: re.Match[str], today: date) -> date | None:
    month, day = _number(m.group(2)), _number(m.group(3))
    if month is None or day is None:
        return None
    return _upcoming(today, int(month), int(day), m.group(1) or "")


def _month_only(m: re.Match[str], today: date) -> date | None:
    month = _number(m.group(2))
    if month is None:
        return None
    if (m.group(3) or "") in ("初", "上旬", "中旬", "下旬"):
        return None  # 1月中旬: not a date; the bot asks for one (and proposes it)
    return _upcoming(today, int(month), None, m.group(1) or "")


def _month_slash_day(m: re.Match[str], today: date) -> date | None:
    """1/20, 1.31, 2/28: month and day, the next such date."""
    return _upcoming(today, int(m.group(1)), int(m.group(2)))


def _next_month_day(m: re.Match[str], today: date) -> date | None:
    day = _number(m.group(1))
    following = _add_months(today.replace(day=1), 1)
    if day is None or following is None:
        return None
    return _safe_date(following.year, following.month, int(day))


def _this_month_day(m: re.Match[str], today: date) -> date | None:
    day = _number(m.group(1))
    return _safe_date(today.year, today.month, int(day)) if day is not None else None


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def _next_week_day(m: re.Match[str], today: date) -> date | None:
    """下周五: Friday of next week."""
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    return monday + timedelta(days=_WEEKDAYS[m.group(1)])


def _years(m: re.Match[str], today: date) -> date | None:
    """半年, 一年: months from the base date (the current deadline for an extension)."""
    count = 0.5 if m.group(1) == "半" else _number(m.group(1))
    if count is None:
        return None
    if m.group(2):
        count += 0.5
    return _add_months(today, int(count * 12))


def _this_month_end(m: re.Match[str], today: date) -> date | None:
    return _month_end(today.year, today.month)


def _next_month_end(m: re.Match[str], today: date) -> date | None:
    following = _add_months(today.replace(day=1), 1)
    return _month_end(following.year, following.month) if following else None


def _year_end(m: re.Match[str], today: date) -> date | None:
    return _safe_date(today.year + (1 if m.group(1) == "明" else 0), 12, 31)


def _day_of_month(m: re.Match[str], today: date) -> date | None:
    day = _number(m.group(1))
    if day is None:
        return None
    this_month = _safe_date(today.year, today.month, int(day))
    if this_month is not None and this_month >= today:
        return this_month
    following = _add_months(today.replace(day=1), 1)
    return _safe_date(following.year, following.month, int(day)) if following else None


def _duration(m: re.Match[str], today: date) -> date | None:
    count_word, half, unit = m.group(1), m.group(2), m.group(3).rstrip("s")
    count = 0.5 if count_word in ("半", "half a") else _number(count_word)
    if count is None:
        return None
    if half:
        count += 0.5
    step = _PERIOD_DAYS.get(unit, 1)
    if step:
        return _add_days(today, count * step)
    # Months: the same day n months later (clamped to the month's end); half a month is 15 days.
    whole = int(count)
    target = _add_months(today, whole) if whole else today
    if target is None:
        return None
    return _add_days(target, 15) if count > whole else target


def _quarter_end(year: int, quarter: int) -> date | None:
    if not 1 <= quarter <= 4 or not 1 <= year <= 9999:
        return None
    return _month_end(year, quarter * 3)


def _anchor_year(m: re.Match[str], today: date) -> int | None:
    """The year a phrase names before itself (2027年, 明年, 今年), or None."""
    digits, word = m.group(1), m.group(2)
    if digits:
        return int(digits)
    if word:
        return today.year + (1 if word == "明年" else 0)
    return None


def _upcoming_end(today: date, year: int | None, build: Callable[[int], date | None]
                  ) -> date | None:
    """A period's last day: in the year given, else this year's when it is not over, else
    next year's (一季度 asked in December is next year's 31 March)."""
    if year is not None:
        return build(year)
    this_year = build(today.year)
    if this_year is not None and this_year >= today:
        return this_year
    return build(today.year + 1)


def _quarter(m: re.Match[str], today: date) -> date | None:
    """一季度, 第一季度末, 2027年三季度: the quarter's last day, the next such one."""
    quarter = _number(m.group(3))
    if quarter is None:
        return None
    return _upcoming_end(today, _anchor_year(m, today),
                         lambda year: _quarter_end(year, int(quarter)))


def _this_quarter_end(m: re.Match[str], today: date) -> date | None:
    return _quarter_end(today.year, (today.month - 1) // 3 + 1)


def _next_quarter_end(m: re.Match[str], today: date) -> date | None:
    following = _add_months(today.replace(day=1), 3)
    return _quarter_end(following.year, (following.month - 1) // 3 + 1) if following else None


def _half_year(m: re.Match[str], today: date) -> date | None:
    """上半年 (30 June) and 下半年 (31 December): the next such one."""
    month = 6 if m.group(3) == "上" else 12
    return _upcoming_end(today, _anchor_year(m, today), lambda year: _month_end(year, month))


# 春节 (正月初一) of 2000–2099, as MMDD: the domain keeps no lunar calendar.
_SPRING_FESTIVAL = (
    "0205 0124 0212 0201 0122 0209 0129 0218 0207 0126 0214 0203 0123 0210 0131 0219 0208 0128 "
    "0216 0205 0125 0212 0201 0122 0210 0129 0217 0206 0126 0213 0203 0123 0211 0131 0219 0208 "
    "0128 0215 0204 0124 0212 0201 0122 0210 0130 0217 0206 0126 0214 0202 0123 0211 0201 0219 "
    "0208 0128 0215 0204 0124 0212 0202 0121 0209 0129 0217 0205 0126 0214 0203 0123 0211 0131 "
    "0219 0207 0127 0215 0205 0124 0212 0202 0122 0209 0129 0217 0206 0126 0214 0203 0124 0210 "
    "0130 0218 0207 0127 0215 0205 0125 0212 0201 0121").split()


def spring_festival(year: int) -> date | None:
    """春节 (正月初一) of a year from 2000 to 2099, else None."""
    if not 2000 <= year < 2000 + len(_SPRING_FESTIVAL):
        return None
    code = _SPRING_FESTIVAL[year - 2000]
    return date(year, int(code[:2]), int(code[2:]))


def _before_spring_festival(year: int) -> date | None:
    """春节前: the day before 除夕, when the holiday starts."""
    festival = spring_festival(year)
    return festival - timedelta(days=2) if festival else None


def _spring_festival_eve(m: re.Match[str], today: date) -> date | None:
    return _upcoming_end(today, _anchor_year(m, today), _before_spring_festival)


def _holiday_eve(month: int, day: int) -> Callable[[re.Match[str], date], date | None]:
    """元旦前 (31 December), 五一前 (30 April), 国庆前 (30 September): the day before the
    holiday, the next such day (2027年元旦前 is 31 December 2026)."""
    def eve(year: int) -> date | None:
        holiday = _safe_date(year, month, day)
        return holiday - timedelta(days=1) if holiday and holiday > date.min else None

    def build(m: re.Match[str], today: date) -> date | None:
        year = _anchor_year(m, today)
        if year is None:
            # The next eve: this year's holiday, or next year's when it has passed.
            return _upcoming_end(today, None, lambda y: eve(y + 1) if month == 1 else eve(y))
        return eve(year)
    return build


def _weekday(m: re.Match[str], today: date) -> date | None:
    """本周五 (this week's Friday, even if past) and 周五 (the next Friday, today included)."""
    weekday = _WEEKDAYS[m.group(2)]
    if m.group(1):
        return today - timedelta(days=today.weekday()) + timedelta(days=weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _en_month_day(m: re.Match[str], today: date) -> date | None:
    month, day = _EN_MONTHS[m.group(1)], int(m.group(2))
    if m.group(3):
        return _safe_date(int(m.group(3)), month, day)
    return _upcoming(today, month, day)


def _en_day_month(m: re.Match[str], today: date) -> date | None:
    month, day = _EN_MONTHS[m.group(2)], int(m.group(1))
    if m.group(3):
        return _safe_date(int(m.group(3)), month, day)
    return _upcoming(today, month, day)


def _en_end_of_month(m: re.Match[str], today: date) -> date | None:
    return _upcoming(today, _EN_MONTHS[m.group(1)], None)


_YEAR_WORD = r"(明年|今年)?\s*"
# 2027年 / 明年 / 今年 before a quarter, a half-year or a holiday (groups 1 and 2).
_ANCHOR = r"(?:(\d{4})\s*年\s*|(明年|今年)\s*)?"
_BEFORE = r"\s*(?:之|以)?\s*前"
_EN_COUNT = r"(\d{1,3}|a|an|another|one|two|three|four|five|six|seven|eight|nine|ten|twelve|half a)"
# Deadline patterns, each with its builder. At one place the longest match wins, then the
# earlier pattern (3月 is March, not three months; 3个月 is three months).
_DATE_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str], date], date | None]]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})"
                r"(?!\d)\s*[日号]?"), _full_date),
    (re.compile(r"(?<!\d)(\d{4})\s*年\s*" + _MON + r"\s*月\s*(?:份)?\s*(?:底|末|前)?"),
     _year_month),
    (re.compile(_YEAR_WORD + _MON + r"\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})"
                r"(?!\d)\s*[日号]?"), _month_day),
    (re.compile(_YEAR_WORD + r"(?<![\d个])" + _MON +
                r"\s*月\s*(?:份)?\s*(底|末|初|上旬|中旬|下旬)?"), _month_only),
    (re.compile(r"(?:本月|这个?月)\s*(?:底|末)|(?<![个下])月\s*(?:底|末)"
                r"|\bend\s+of\s+(?:the\s+|this\s+)?month\b"), _this_month_end),
    (re.compile(r"下\s*个?\s*月\s*(?:底|末)?|\bend\s+of\s+next\s+month\b"), _next_month_end),
    (re.compile(r"(明|今)?\s*年\s*年?\s*(?:底|末)|\bend\s+of\s+(?:the\s+|this\s+)?year\b"),
     _year_end),
    (re.compile(r"(?:至|到)\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"), _day_of_month),
    (re.compile(r"\b(?:until|till|by|to)\s+the\s+(\d{1,2})(?:st|nd|rd|th)\b"), _day_of_month),
    (re.compile(r"元旦"), lambda m, today: _upcoming(today, 1, 1)),
    (re.compile(r"([〇零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*"
                r"([一二三四五六七八九十]{1,3})\s*[日号]"), _cn_full_date),
    (re.compile(r"(?<![\d月至到])(\d{1,3}|[一二两三四五六七八九十]{1,3}|半)\s*个?\s*(半)?\s*多?"
                r"\s*(月|周|星期|礼拜|天|日)(?!期|内)"), _duration),
    (re.compile(r"\b" + _EN_COUNT + r"[\s-]+(?:more\s+)?()(months?|weeks?|days?)\b"), _duration),
    (re.compile(r"(?<![\d./])(1[0-2]|0?[1-9])\s*[/.]\s*(3[01]|[12]\d|0?[1-9])(?![\d./%])"),
     _month_slash_day),
    (re.compile(r"下\s*个?\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:[日号]"
                r"|(?![\d月]))"), _next_month_day),
    (re.compile(r"(?:本月|这个?月|当月)\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"),
     _this_month_day),
    (re.compile(r"下\s*(?:周|星期|礼拜)\s*([一二三四五六日天])"), _next_week_day),
    (re.compile(r"(半|[一两二三]|\d)\s*(?:个)?\s*(半)?\s*年(?![底末前内后])"), _years),
    (re.compile(r"\b" + _EN_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s*(\d{4})\b)?"),
     _en_month_day),
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _EN_MONTH +
                r"(?:,?\s*(\d{4})\b)?"), _en_day_month),
    (re.compile(r"\bend\s+of\s+" + _EN_MONTH), _en_end_of_month),
    (re.compile(_ANCHOR + r"第?\s*([一二三四1-4])\s*季度\s*(?:末|底)?"), _quarter),
    (re.compile(r"(?:本|这个?|当)\s*季度?\s*(?:末|底)|(?<![一二三四1-4第个下上本这当])季度\s*[末底]"),
     _this_quarter_end),
    (re.compile(r"下\s*个?\s*季度\s*(?:末|底)?"), _next_quarter_end),
    (re.compile(_ANCHOR + r"([上下])\s*半\s*年\s*(?:末|底)?"), _half_year),
    (re.compile(_ANCHOR + r"(?:春节|过年|(?<![\d一二两三四五六七八九十几半多个去今明当])年)"
                + _BEFORE + r"(?!后)"), _spring_festival_eve),
    (re.compile(_ANCHOR + r"元旦" + _BEFORE), _holiday_eve(12, 31)),
    (re.compile(_ANCHOR + r"(?:五一|劳动节)" + _BEFORE), _holiday_eve(4, 30)),
    (re.compile(_ANCHOR + r"国庆节?" + _BEFORE), _holiday_eve(9, 30)),
    (re.compile(r"(?<![上下每一两二三四五六七八九十几个])(本|这个?|今)?\s*(?:周|星期|礼拜)"
                r"\s*([一二三四五六日天])"), _weekday),
]


def _deadline(segment: str, today: date, base: date | None = None) -> date | None:
    """The first date the segment names (earliest match; at one place the longest wins).

    A period (20天, 两周, 一个月) counts from `base` (the current deadline), else from today.
    """
    matches: list[tuple[int, int, int]] = []
    found: list[tuple[re.Match[str], Callable[[re.Match[str], date], date | None]]] = []
    for pattern, build in _DATE_PATTERNS:
        for match in pattern.finditer(segment):
            if match.end() > match.start():
                matches.append((match.start(), -match.end(), len(found)))
                found.append((match, build))
    covered = 0  # a failed date (2月30日) is not retried as a shorter one (2月)
    for start, negative_end, index in sorted(matches):
        if start < covered:
            continue
        match, build = found[index]
        result = build(match, base or today) if _is_period(build) else build(match, today)
        if result is not None:
            return result
        covered = -negative_end
    return None



def _whole_date(phrase: str, today: date) -> date | None:
    """The date a whole phrase names, when one pattern covers all of it (the deadline fields'
    reading: bot/domain/deadlines.py); None otherwise. Periods count from today."""
    phrase = phrase.strip()
    for pattern, build in _DATE_PATTERNS:
        match = pattern.fullmatch(phrase)
        if match is not None:
            result = build(match, today)
            if result is not None:
                return result
    return None


def _is_period(build: Callable[[re.Match[str], date], date | None]) -> bool:
    return build is _duration or build is _years


def _extension_date(segment: str, today: date, deadline: date | None) -> date | None:
    """The date an extension asks for. A period counts from the current deadline; when that
    would still not be after today (an overdue task), from today."""
    found = _deadline(segment, today, deadline)
    if found is not None and deadline is not None and found <= today:
        from_today = _deadline(segment, today)
        if from_today is not None and from_today > found:
            return from_today
    return found


# 春节后, 年后, 往后推几天, 再宽限一段时间: an extension without a date. The bot asks for one,
# proposing a date: after the Spring Festival holiday, or a week or two past the deadline.
_VAGUE_FESTIVAL = re.compile(r"春节|过年|年后|节后|正月")


def _suggested_date(norm: str, today: date, deadline: date | None) -> date:
    base = max(deadline or today, today)
    if _VAGUE_FESTIVAL.search(norm):
        # The Spring Festival falls between 21 January and 20 February; a month later is
        # safely after the holiday and its 元宵.
        year = today.year + (1 if today.month >= 3 else 0)
        return max(date(year, 2, 28), base + timedelta(days=7))
    return base + timedelta(days=14)


