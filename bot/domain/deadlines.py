"""Reading a 完成时限 cell of an imported ledger: the many ways officials write a deadline.

Besides plain dates (2026-12-31, 2026年12月31日, 12月31日, an Excel date cell) ledgers say
12月底, 12月下旬, 年底前, 一季度, 上半年 or 长期. Everything here is a pure function of the cell
and the ledger's year; anything unreadable raises InvalidField(field="deadline").
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime, timedelta

from bot.domain.errors import InvalidField
from bot.domain.text import NO_DEADLINE_WORDS

# Excel's 1900 date system (with its phantom 29 Feb 1900): serial 1 is 1900-01-01, so day 0
# is 1899-12-30 for every serial after February 1900.
_EXCEL_EPOCH = date(1899, 12, 30)
# A bare number is only taken for an Excel date serial in this range (1982-02-18 … 2119-01-10);
# anything else (2026, 20261231, 12.31) is ambiguous and refused.
SERIAL_MIN = 30_000
SERIAL_MAX = 80_000

_SPACES = re.compile(r"\s+")
_TRAILING_TIME = re.compile(r"(?<=\d)[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_SUFFIXES = ("之前", "以前", "前")
_DONE_SUFFIX = "完成"  # 年底前完成
_PREFIXES = ("截止", "截至", "于")  # 截止12月31日
# Further ways ledgers say 长期, besides text.NO_DEADLINE_WORDS.
_MORE_NO_DEADLINE = frozenset({"长期推进", "长期任务", "持续开展", "常态化推进"})
_YEAR_PREFIX = re.compile(r"^(\d{4})年")

_NUM = r"(\d{1,2}|十[一二]?|[一二三四五六七八九十])"
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_DAY = re.compile(rf"^{_NUM}月(\d{{1,2}})[日号]?$")
_MONTH_PART = re.compile(rf"^{_NUM}月份?(底|末|上旬|中旬|下旬)?$")
_QUARTER = re.compile(r"^第?([一二三四1-4])季度?末?$")
_Q_CODE = re.compile(r"^(?:(\d{4})-?)?Q([1-4])末?$", re.IGNORECASE)

_YEAR_END_WORDS = frozenset({"年底", "年末", "年内", "底", "末", "内"})
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_deadline_phrase(value: object, *, year: int) -> date | None:
    """A 完成时限 cell → its date, or None for 长期 (no deadline).

    `year` is the ledger's year, used when the phrase names none (12月底, 一季度, 年底前).
    Raises InvalidField(field="deadline", value=…) for an empty cell (the column is required),
    an impossible date (2月30日) or any phrase it cannot read.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _invalid(value)
    if isinstance(value, int | float):
        return _from_serial(value)
    text = "" if value is None else str(value)
    result = _parse_text(text, year)
    if result is _UNREADABLE:
        raise _invalid(value)
    assert result is None or isinstance(result, date)
    return result


_UNREADABLE = object()


def _invalid(value: object) -> InvalidField:
    return InvalidField(field="deadline", value="" if value is None else str(value))


def _from_serial(value: float) -> date:
    if value != value or not SERIAL_MIN <= value <= SERIAL_MAX:  # NaN or out of range
        raise _invalid(value)
    return _EXCEL_EPOCH + timedelta(days=int(value))


def _parse_text(text: str, year: int) -> date | object | None:
    raw = unicodedata.normalize("NFKC", text).strip()
    raw = _TRAILING_TIME.sub("", raw)  # "2026-12-31 00:00:00" from a CSV made elsewhere
    compact = _SPACES.sub("", raw)
    if not compact:
        return _UNREADABLE
    if compact.lower() in NO_DEADLINE_WORDS or compact in _MORE_NO_DEADLINE:
        return None
    for prefix in _PREFIXES:
        if compact.startswith(prefix) and len(compact) > len(prefix):
            compact = compact[len(prefix) :]
            break
    if compact.endswith(_DONE_SUFFIX) and len(compact) > len(_DONE_SUFFIX):
        compact = compact[: -len(_DONE_SUFFIX)]
    for suffix in _SUFFIXES:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            compact = compact[: -len(suffix)]
            break
    try:
        return _parse_compact(compact, year)
    except ValueError:  # an impossible date such as 2月30日 or 13月
        return _UNREADABLE


def _parse_compact(text: str, year: int) -> date | object:
    for pattern in (_ISO, _COMPACT):
        match = pattern.match(text)
        if match:
            y, m, d = (int(g) for g in match.groups())
            return date(y, m, d)
    match = _YEAR_MONTH.match(text)
    if match:
        return _month_end(int(match[1]), int(match[2]))

    prefix = _YEAR_PREFIX.match(text)
    if prefix:
        year, text = int(prefix[1]), text[prefix.end() :]
    match = _Q_CODE.match(text)
    if match:
        return _quarter_end(int(match[1]) if match[1] else year, int(match[2]))
    if text in _YEAR_END_WORDS:
        return date(year, 12, 31)
    if text == "上半年":
        return date(year, 6, 30)
    if text == "下半年":
        return date(year, 12, 31)

    match = _QUARTER.match(text)
    if match:
        return _quarter_end(year, _number(match[1]))
    match = _MONTH_DAY.match(text)
    if match:
        return date(year, _number(match[1]), int(match[2]))
    match = _MONTH_PART.match(text)
    if match:
        month, part = _number(match[1]), match[2]
        if part == "上旬":
            return date(year, month, 10)
        if part == "中旬":
            return date(year, month, 20)
        return _month_end(year, month)  # 底, 末, 下旬, or the bare month (12月 = by its end)
    return _UNREADABLE


def _number(text: str) -> int:
    """'12', '十二', '三' → 12, 12, 3."""
    if text.isdigit():
        return int(text)
    if text.startswith("十"):
        return 10 + (_CN_DIGITS[text[1:]] if len(text) > 1 else 0)
    return _CN_DIGITS[text]


def _month_end(year: int, month: int) -> date:
    if not 1 <= month <= 12:
        raise ValueError(month)
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_end(year: int, quarter: int) -> date:
    return _month_end(year, quarter * 3)
