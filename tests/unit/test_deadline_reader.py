"""The one deadline reader (issue 14, item 4): /add, the guided dialogue, import, /extend and
replies read a 完成时限 the same way, relative to a fixed today."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain.deadlines import parse_deadline_phrase, read_deadline
from bot.domain.errors import InvalidField
from bot.domain.replies import read_reply
from bot.domain.reply_dates import spring_festival
from bot.domain.text import deadline_needs_confirmation, parse_deadline

FRI_DEC_4 = date(2026, 12, 4)  # a Friday in December
WED_MAR_10 = date(2027, 3, 10)  # a Wednesday in the first quarter


@pytest.mark.parametrize("text,expected", [
    # plain dates, every usual way
    ("2026-12-31", date(2026, 12, 31)),
    ("2026/12/31", date(2026, 12, 31)),
    ("2026.12.31", date(2026, 12, 31)),
    ("20261231", date(2026, 12, 31)),
    ("2026年12月31日", date(2026, 12, 31)),
    ("2026年12月31号", date(2026, 12, 31)),
    ("２０２６年１２月３１日", date(2026, 12, 31)),
    ("12月31日", date(2026, 12, 31)),
    ("12月31号", date(2026, 12, 31)),
    ("十二月三十一日", date(2026, 12, 31)),
    ("12/31", date(2026, 12, 31)),
    ("12.31", date(2026, 12, 31)),
    ("二〇二七年五月三十一日", date(2027, 5, 31)),
    ("2026-12-31 00:00:00", date(2026, 12, 31)),
    # months and their parts
    ("12月底", date(2026, 12, 31)),
    ("12月末", date(2026, 12, 31)),
    ("12月", date(2026, 12, 31)),
    ("12月下旬", date(2026, 12, 31)),
    ("12月中旬", date(2026, 12, 20)),
    ("2026-12", date(2026, 12, 31)),
    ("2027年2月底", date(2027, 2, 28)),
    ("2月底", date(2027, 2, 28)),  # February is over this year: next year's
    ("3月31日", date(2027, 3, 31)),
    # this month, next month
    ("月底", date(2026, 12, 31)),
    ("月底前", date(2026, 12, 31)),
    ("本月底", date(2026, 12, 31)),
    ("下月底", date(2027, 1, 31)),
    ("下个月15号", date(2027, 1, 15)),
    ("15号", date(2026, 12, 15)),
    ("3号", date(2027, 1, 3)),  # the 3rd of this month is past: next month's
    # the year
    ("年底前", date(2026, 12, 31)),
    ("年底", date(2026, 12, 31)),
    ("年内", date(2026, 12, 31)),
    ("今年底", date(2026, 12, 31)),
    ("明年底", date(2027, 12, 31)),
    ("2027年底前", date(2027, 12, 31)),
    ("上半年", date(2027, 6, 30)),  # the first half is over: next year's
    ("下半年", date(2026, 12, 31)),
    ("2027年上半年", date(2027, 6, 30)),
    # quarters: the next such quarter end
    ("一季度", date(2027, 3, 31)),
    ("一季度末", date(2027, 3, 31)),
    ("第一季度", date(2027, 3, 31)),
    ("1季度", date(2027, 3, 31)),
    ("Q1", date(2027, 3, 31)),
    ("四季度", date(2026, 12, 31)),
    ("本季度末", date(2026, 12, 31)),
    ("下季度末", date(2027, 3, 31)),
    ("2027-Q2", date(2027, 6, 30)),
    ("2027年三季度", date(2027, 9, 30)),
    ("明年一季度", date(2027, 3, 31)),
    # days and weeks
    ("今天", FRI_DEC_4),
    ("明天", date(2026, 12, 5)),
    ("后天", date(2026, 12, 6)),
    ("下周五", date(2026, 12, 11)),
    ("下星期一", date(2026, 12, 7)),
    ("周五", FRI_DEC_4),
    ("周一", date(2026, 12, 7)),
    ("本周一", date(2026, 11, 30)),  # this week's, though past (asked about)
    ("20天内", date(2026, 12, 24)),
    ("两周", date(2026, 12, 18)),
    ("3个月内", date(2027, 3, 4)),
    # holidays
    ("春节前", date(2027, 2, 4)),  # 2027's 春节 is 6 February, 除夕 the 5th
    ("年前", date(2027, 2, 4)),
    ("元旦前", date(2026, 12, 31)),
    ("国庆前", date(2027, 9, 30)),
    # words around the date
    ("截止12月31日", date(2026, 12, 31)),
    ("6月30日之前完成", date(2027, 6, 30)),
    ("到年底", date(2026, 12, 31)),
    ("12月 底前", date(2026, 12, 31)),
    # English
    ("end of month", date(2026, 12, 31)),
    ("Dec 31", date(2026, 12, 31)),
    ("31 March 2027", date(2027, 3, 31)),
    # no deadline
    ("长期", None),
    ("长期坚持", None),
    ("ongoing", None),
])
def test_every_usual_form(text: str, expected: date | None) -> None:
    assert read_deadline(text, today=FRI_DEC_4) == expected
    assert parse_deadline(text, today=FRI_DEC_4) == expected  # the name callers use


@pytest.mark.parametrize("text,today,expected", [
    # a quarter asked after it ended is next year's; asked during it, this year's
    ("一季度", date(2026, 12, 31), date(2027, 3, 31)),
    ("一季度", date(2027, 1, 1), date(2027, 3, 31)),
    ("一季度", WED_MAR_10, date(2027, 3, 31)),
    ("一季度", date(2027, 4, 1), date(2028, 3, 31)),
    ("四季度", date(2027, 1, 2), date(2027, 12, 31)),
    ("本季度末", WED_MAR_10, date(2027, 3, 31)),
    ("下季度末", WED_MAR_10, date(2027, 6, 30)),
    # the year turns
    ("12月底", date(2027, 1, 5), date(2027, 12, 31)),
    ("1月15日", date(2026, 12, 30), date(2027, 1, 15)),
    ("下月底", date(2026, 12, 31), date(2027, 1, 31)),
    ("下周五", date(2026, 12, 30), date(2027, 1, 8)),
    ("年底前", date(2027, 1, 1), date(2027, 12, 31)),
    ("春节前", date(2027, 2, 5), date(2028, 1, 24)),  # 2027's eve has come: 2028's
    ("春节前", date(2027, 2, 4), date(2027, 2, 4)),
    # a date of this month that has passed stays in it (and is asked about)
    ("12月1日", FRI_DEC_4, date(2026, 12, 1)),
    ("12月上旬", date(2026, 12, 15), date(2026, 12, 10)),
    ("11月30日", FRI_DEC_4, date(2027, 11, 30)),
    ("2月29日", date(2027, 3, 1), date(2028, 2, 29)),
])
def test_relative_to_today_across_year_ends(text: str, today: date,
                                            expected: date) -> None:
    assert read_deadline(text, today=today) == expected


@pytest.mark.parametrize("text", ["", "   ", "尽快", "明年", "2026年", "2026", "春节后",
                                  "下旬", "前", "完成", "2月30日", "2027年2月29日", "13月底",
                                  "五季度", "Q5", "32号", "已完成", "x", "2027年下周五"])
def test_unreadable_phrases_are_refused(text: str) -> None:
    with pytest.raises(InvalidField) as info:
        read_deadline(text, today=FRI_DEC_4)
    assert info.value.params["field"] == "deadline"
    assert info.value.params["value"] == text


def test_years_out_of_range_are_refused_with_the_range() -> None:
    with pytest.raises(InvalidField) as info:
        read_deadline("9999-12-31", today=FRI_DEC_4)
    assert info.value.params["reason"] == "year_range"


def test_past_and_far_deadlines_are_read_and_asked_about() -> None:
    """The reader reads; whether to ask is deadline_needs_confirmation (every caller)."""
    past = read_deadline("2025-01-01", today=FRI_DEC_4)
    assert deadline_needs_confirmation(past, FRI_DEC_4) == "past"
    far = read_deadline("2036年12月31日", today=FRI_DEC_4)
    assert deadline_needs_confirmation(far, FRI_DEC_4) == "far"
    # a phrase without a year is never more than a year ahead, and only this month's past
    for text in ("一季度", "3月31日", "上半年", "春节前", "12月底"):
        assert deadline_needs_confirmation(read_deadline(text, today=FRI_DEC_4),
                                           FRI_DEC_4) is None, text
    assert deadline_needs_confirmation(read_deadline("12月1日", today=FRI_DEC_4),
                                       FRI_DEC_4) == "past"


def test_import_reads_with_today_or_in_the_ledgers_year() -> None:
    # With today (the importer's clock): as in chat; 一季度 in December is next year's.
    assert parse_deadline_phrase("一季度", year=2026, today=FRI_DEC_4) == date(2027, 3, 31)
    assert parse_deadline_phrase("月底前", today=FRI_DEC_4) == date(2026, 12, 31)
    # A ledger of another year: the phrases fall in that year; relative ones are refused.
    assert parse_deadline_phrase("一季度", year=2028, today=FRI_DEC_4) == date(2028, 3, 31)
    assert parse_deadline_phrase("12月底", year=2030) == date(2030, 12, 31)
    with pytest.raises(InvalidField):
        parse_deadline_phrase("下周五", year=2026)
    # Cells that are not text
    assert parse_deadline_phrase(datetime(2026, 5, 1, 17, 30), today=FRI_DEC_4) == date(
        2026, 5, 1)
    assert parse_deadline_phrase(46022, today=FRI_DEC_4) == date(2025, 12, 31)
    # The year range is the importer's to report (deadline_year), not an unreadable cell.
    assert parse_deadline_phrase("2206-12-31", today=FRI_DEC_4) == date(2206, 12, 31)


def test_spring_festival_table() -> None:
    assert spring_festival(2026) == date(2026, 2, 17)
    assert spring_festival(2027) == date(2027, 2, 6)
    assert spring_festival(2099) == date(2099, 1, 21)
    assert spring_festival(2100) is None


@pytest.mark.parametrize("text,today,deadline,expected", [
    ("申请延期至一季度末，原因：资金未到位", FRI_DEC_4, date(2026, 12, 31), date(2027, 3, 31)),
    ("可否宽限至本季度末", date(2026, 8, 3), date(2026, 8, 10), date(2026, 9, 30)),
    ("请求将完成时限延至2027年第一季度末", date(2026, 12, 21), date(2026, 12, 31),
     date(2027, 3, 31)),
    ("申请延期到春节前", FRI_DEC_4, date(2026, 12, 31), date(2027, 2, 4)),
    ("申请延期到上半年", FRI_DEC_4, date(2026, 12, 31), date(2027, 6, 30)),
    ("申请延期到下周五", date(2027, 1, 13), date(2027, 1, 15), date(2027, 1, 22)),
])
def test_replies_read_the_same_dates(text: str, today: date, deadline: date,
                                     expected: date) -> None:
    reading = read_reply(text, today=today, deadline=deadline)
    assert reading.extension and reading.new_deadline == expected
