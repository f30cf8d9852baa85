"""Dates (issue 11, part 4): other years are shown with their year, approval requests with full
dates, typos in years are refused and far or past deadlines are asked about."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain.clock import FixedClock
from bot.domain.errors import InvalidField
from bot.domain.ledger import Ledger, NewTask
from bot.domain.replies import Reading, ReplyKind, read_reply
from bot.domain.text import (
    MAX_YEAR,
    MIN_YEAR,
    deadline_needs_confirmation,
    parse_deadline,
    years_later,
)
from bot.messages import Messages
from tests.conftest import NOV27 as NOW
from tests.conftest import TZ
from tests.unit.conftest import make_ledger

TODAY = NOW.date()


def zh() -> Messages:
    return Messages("zh", today=lambda: TODAY)


def en() -> Messages:
    return Messages("en", today=lambda: TODAY)


@pytest.fixture
def ledger() -> Ledger:
    return make_ledger(clock=FixedClock(NOW))


def rail(deadline: date | None = date(2026, 12, 31)) -> NewTask:
    return NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局", owners=("张三",),
                   deadline=deadline)


# ---- showing dates ------------------------------------------------------------------------


def test_a_date_of_this_year_has_no_year_and_any_other_year_has_one() -> None:
    msgs = zh()
    assert msgs.date(date(2026, 12, 31)) == "12月31日（周四）"
    assert msgs.date(date(2027, 1, 15)) == "2027年1月15日（周五）"
    assert msgs.date(date(2025, 12, 31)) == "2025年12月31日（周三）"
    assert msgs.date(None) == "长期"
    # The caller's day wins over the clock.
    assert msgs.date(date(2027, 1, 15), today=date(2027, 1, 1)) == "1月15日（周五）"


def test_the_year_follows_the_clock_given_to_messages() -> None:
    clock = FixedClock(NOW)
    msgs = Messages("zh", today=clock.today)
    assert msgs.date(date(2027, 1, 15)) == "2027年1月15日（周五）"
    clock.set(datetime(2027, 1, 2, 9, 0, tzinfo=TZ))
    assert msgs.date(date(2027, 1, 15)) == "1月15日（周五）"
    assert msgs.date(date(2026, 12, 31)) == "2026年12月31日（周四）"


def test_full_date_always_has_the_year() -> None:
    assert zh().full_date(date(2026, 12, 31)) == "2026年12月31日（周四）"
    assert zh().full_date(date(2036, 12, 31)) == "2036年12月31日（周三）"
    assert en().full_date(date(2027, 1, 15)) == "Fri 15 Jan 2027"
    assert en().date(date(2026, 12, 31)) == "Thu 31 Dec 2026"  # English always shows it
    assert zh().full_date(None) == "长期"


def test_short_dates_and_times_show_other_years() -> None:
    assert zh().short_date(date(2026, 12, 3)) == "12月3日"
    assert zh().short_date(date(2025, 12, 3)) == "2025年12月3日"
    assert en().short_date(date(2026, 12, 3)) == "3 Dec"
    assert en().short_date(date(2025, 12, 3)) == "3 Dec 2025"
    assert zh().datetime(datetime(2026, 1, 5, 9, 30, tzinfo=TZ)) == "1月5日 09:30"
    assert zh().datetime(datetime(2025, 1, 5, 9, 30, tzinfo=TZ)) == "2025年1月5日 09:30"
    assert en().datetime(datetime(2025, 1, 5, 9, 30, tzinfo=TZ)) == "5 Jan 2025 09:30"


@pytest.mark.parametrize("start,end,zh_text,en_text", [
    (date(2026, 11, 27), date(2036, 12, 31), "10 年 1 个月", "10 year(s) 1 month(s)"),
    (date(2026, 11, 27), date(2036, 11, 27), "10 年", "10 year(s)"),
    (date(2026, 11, 27), date(2027, 4, 30), "5 个月", "5 month(s)"),
    (date(2026, 11, 27), date(2026, 12, 26), "29 天", "29 day(s)"),
    (date(2026, 11, 27), date(2026, 11, 20), "7 天", "7 day(s)"),  # either order
    (date(2026, 1, 31), date(2026, 2, 28), "28 天", "28 day(s)"),
])
def test_span_in_the_largest_units(start: date, end: date, zh_text: str, en_text: str) -> None:
    assert zh().span(start, end) == zh_text
    assert en().span(start, end) == en_text


# ---- approval requests carry full dates -------------------------------------------------------


def test_a_ten_year_extension_request_cannot_pass_for_a_small_one(ledger: Ledger) -> None:
    task = ledger.add_task(rail(), who="admin")
    reading = read_reply("申请延期至2036年12月31日，原因：征地协调", today=TODAY)
    assert reading.new_deadline == date(2036, 12, 31)
    outcome = ledger.submit_report(task.id, reading, who="张三", user_id=501)
    assert outcome.extension is not None
    text = zh().extension_request(outcome.task, outcome.extension)
    assert "由 2026年12月31日（周四） 延至 2036年12月31日（周三）（延长 10 年）" in text
    assert "张三" in text and "征地协调" in text and task.id in text
    english = en().extension_request(outcome.task, outcome.extension)
    assert "from Thu 31 Dec 2026 to Wed 31 Dec 2036 (+10 year(s))" in english
    # The official's confirmation names the full date too.
    assert "至2036年12月31日（周三）" in zh().recorded(outcome)


def test_extension_request_of_a_long_running_task(ledger: Ledger) -> None:
    task = ledger.add_task(rail(deadline=None), who="admin")
    outcome = ledger.submit_report(
        task.id, Reading(ReplyKind.EXTENSION, text="延期", new_deadline=date(2027, 3, 31)),
        who="张三", user_id=501)
    assert outcome.extension is not None
    text = zh().extension_request(outcome.task, outcome.extension, reason="<略>")
    assert "由 长期 延至 2027年3月31日（周三）\n" in text and "&lt;略&gt;" in text


def test_a_submission_shows_the_full_deadline(ledger: Ledger) -> None:
    task = ledger.add_task(rail(), who="admin")
    outcome = ledger.submit_report(task.id, Reading(ReplyKind.COMPLETION, progress=100,
                                                    text="已完成 <全部>"),
                                   who="张三", user_id=501)
    text = zh().submission(outcome.task, outcome.report)
    assert "完成时限：2026年12月31日（周四）" in text and "&lt;全部&gt;" in text
    assert "&lt;全部&gt;" not in zh().submission(outcome.task, outcome.report, text="…")
    assert "Deadline: Thu 31 Dec 2026" in en().submission(outcome.task, outcome.report)


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "1999年12月31日", "2100-01-01",
                                  "1900/1/1"])
def test_parse_deadline_refuses_years_out_of_range(text: str) -> None:
    with pytest.raises(InvalidField) as info:
        parse_deadline(text, today=TODAY)
    params = info.value.params
    assert (params["field"], params["reason"], params["value"]) == ("deadline", "year_range", text)
    message = zh().error(info.value)
    assert f"{MIN_YEAR}—{MAX_YEAR}" in message and text in message and "2026-12-31" in message
    assert f"{MIN_YEAR}–{MAX_YEAR}" in en().error(info.value)


@pytest.mark.parametrize("text,expected", [
    ("2000-01-01", date(2000, 1, 1)), ("2099-12-31", date(2099, 12, 31)),
    ("2036年12月31日", date(2036, 12, 31)),
])
def test_parse_deadline_accepts_the_range_edges(text: str, expected: date) -> None:
    assert parse_deadline(text, today=TODAY) == expected


def test_the_ledger_refuses_out_of_range_years_everywhere(ledger: Ledger) -> None:
    with pytest.raises(InvalidField) as info:
        ledger.add_task(rail(deadline=date(9999, 12, 31)), who="admin")
    assert info.value.params["field"] == "deadline"
    task = ledger.add_task(rail(), who="admin")
    far = Reading(ReplyKind.EXTENSION, text="延期至9999年", new_deadline=date(9999, 1, 1))
    with pytest.raises(InvalidField) as info:
        ledger.submit_report(task.id, far, who="张三", user_id=501)
    assert (info.value.params["field"], info.value.params["reason"]) == (
        "extension_date", "year_range")
    assert "2000—2099" in zh().error(info.value)
    with pytest.raises(InvalidField):
        ledger.extend(task.id, date(2100, 1, 1), who="admin")
    # An extension into the past stays refused (part c).
    past = Reading(ReplyKind.EXTENSION, text="延期", new_deadline=date(2026, 11, 1))
    with pytest.raises(InvalidField):
        ledger.submit_report(task.id, past, who="张三", user_id=501)
    assert ledger.task(task.id).deadline == date(2026, 12, 31)


@pytest.mark.parametrize("day,expected", [
    (None, None),
    (date(2026, 11, 26), "past"),
    (date(2020, 1, 1), "past"),
    (TODAY, None),
    (date(2029, 11, 27), None),  # exactly three years ahead
    (date(2029, 11, 28), "far"),
    (date(2036, 12, 31), "far"),
])
def test_deadline_needs_confirmation(day: date | None, expected: str | None) -> None:
    assert deadline_needs_confirmation(day, TODAY) == expected


def test_three_years_after_29_february() -> None:
    assert years_later(date(2028, 2, 29), 3) == date(2031, 2, 28)
    assert deadline_needs_confirmation(date(2031, 3, 1), date(2028, 2, 29)) == "far"


def test_the_confirmation_questions_state_the_full_date_and_how_far() -> None:
    msgs = zh()
    assert msgs.date_confirmation(date(2036, 12, 31), TODAY) == (
        "⚠️ 完成时限 2036年12月31日（周三） 在 10 年 1 个月后，确认吗？")
    assert msgs.date_confirmation(date(2026, 11, 20), TODAY) == (
        "⚠️ 完成时限 2026年11月20日（周五） 已过去 7 天，确认吗？")
    assert msgs.date_confirmation(date(2036, 12, 31), TODAY, what="extension") == (
        "⚠️ 延期至 2036年12月31日（周三），在 10 年 1 个月后，确认吗？")
    assert msgs.date_confirmation(date(2027, 6, 30), TODAY) is None
    assert msgs.date_confirmation(None, TODAY) is None
    assert en().date_confirmation(date(2036, 12, 31), TODAY) == (
        "⚠️ The deadline Wed 31 Dec 2036 is 10 year(s) 1 month(s) from now. Confirm?")
    assert "Extend to Fri 20 Nov 2026, 7 day(s) ago" in (
        en().date_confirmation(date(2026, 11, 20), TODAY, what="extension") or "")
    for language in ("zh", "en"):
        catalog = Messages(language).catalog
        assert catalog["btn_date_ok"] and catalog["btn_date_retype"]
