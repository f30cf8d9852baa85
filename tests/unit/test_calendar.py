"""Workdays (official data, 调休, fallback, overrides) and the periods of the rhythm."""

from __future__ import annotations

import ast
import sys
from datetime import date, timedelta

import chinese_calendar
import pytest
from lunardate import LunarDate

from bot.adapters.holidays import (
    ChineseCalendarSource,
    default_calendar,
    qingming,
    statutory_holidays,
)
from bot.domain.calendar import HolidaySource, WorkCalendar
from bot.domain.periods import (
    Period,
    PeriodKind,
    day_of,
    month_of,
    period_of,
    quarter_of,
    xun_index,
    xun_of,
    year_of,
)
from tests.conftest import ROOT


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> list[date]:
    start, end = d(first), d(last)
    return [start + timedelta(n) for n in range((end - start).days + 1)]


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return default_calendar()


# -- the domain stays pure ----------------------------------------------------------------------


@pytest.mark.parametrize("module", ["periods", "calendar"])
def test_domain_modules_import_only_stdlib(module: str) -> None:
    tree = ast.parse((ROOT / "bot" / "domain" / f"{module}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert (
                name.startswith("bot.domain")
                or top in sys.stdlib_module_names
                or (top == "__future__")
            ), name


# -- 2026: official data with 调休 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "day", ["2026-10-10", "2026-02-14", "2026-02-28", "2026-01-04", "2026-05-09", "2026-09-20"]
)
def test_2026_make_up_weekends_are_workdays(cal: WorkCalendar, day: str) -> None:
    assert d(day).weekday() >= 5
    assert cal.is_workday(d(day))
    assert not cal.is_rest_day(d(day))


@pytest.mark.parametrize(
    "day", [*days("2026-10-01", "2026-10-07"), *days("2026-02-16", "2026-02-23")]
)
def test_2026_holidays_are_rest_days(cal: WorkCalendar, day: date) -> None:
    assert cal.is_rest_day(day)


def test_2026_ordinary_days(cal: WorkCalendar) -> None:
    assert cal.is_rest_day(d("2026-03-07"))  # an ordinary Saturday
    assert cal.is_rest_day(d("2026-03-08"))  # and Sunday
    assert cal.is_workday(d("2026-03-09"))  # an ordinary Monday
    assert cal.is_workday(d("2026-10-08"))  # Thursday right after 国庆
    assert cal.covers(2026)
    assert cal.covers(2004)
    assert not cal.covers(2003)
    assert not cal.covers(2027)


def test_agrees_with_chinese_calendar_for_covered_years(cal: WorkCalendar) -> None:
    for day in days("2004-01-01", "2026-12-31"):
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day


# -- 2027 and other uncovered years: the fallback ------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2027-01-01",
        *[x.isoformat() for x in days("2027-02-05", "2027-02-08")],  # 除夕 to 初三
        "2027-04-05",  # 清明
        "2027-05-01",
        "2027-05-03",  # Monday after 5/1–5/2 falls on a weekend: no 调休 in the fallback
        "2027-06-09",  # 端午
        "2027-09-15",  # 中秋
        *[x.isoformat() for x in days("2027-10-01", "2027-10-03")],
    ],
)
def test_2027_fallback_rest_days(cal: WorkCalendar, day: str) -> None:
    if day == "2027-05-03":
        assert cal.is_workday(d(day))
    else:
        assert cal.is_rest_day(d(day))


def test_2027_fallback_workdays(cal: WorkCalendar) -> None:
    assert cal.is_workday(d("2027-01-04"))  # Monday
    assert cal.is_workday(d("2027-02-09"))  # 初四, a Tuesday
    assert cal.is_workday(d("2027-10-04"))  # Monday after 10/1–10/3
    assert cal.is_rest_day(d("2027-01-09"))  # an ordinary Saturday


def test_statutory_holidays_2027() -> None:
    assert sorted(statutory_holidays(2027)) == [
        d("2027-01-01"),
        *days("2027-02-05", "2027-02-08"),
        d("2027-04-05"),
        d("2027-05-01"),
        d("2027-05-02"),
        d("2027-06-09"),
        d("2027-09-15"),
        *days("2027-10-01", "2027-10-03"),
    ]


def test_statutory_holidays_outside_lunar_range_are_solar_only() -> None:
    assert statutory_holidays(2150) == frozenset(
        {
            d("2150-01-01"),
            d("2150-05-01"),
            d("2150-05-02"),
            d("2150-10-01"),
            d("2150-10-02"),
            d("2150-10-03"),
        }
    )
    assert len(statutory_holidays(2099)) == 13
    assert len(statutory_holidays(1900)) == 13


@pytest.mark.parametrize("year", [1, 2, 1899, 1900, 2027, 2030, 2099, 2100, 9998, 9999])
def test_nothing_raises_for_any_day(cal: WorkCalendar, year: int) -> None:
    day = date(year, 1, 1)
    for _ in range(366 if year != 9999 else 365):
        assert isinstance(cal.is_workday(day), bool)
        if day == date.max:
            break
        day += timedelta(1)
    assert cal.is_workday(date.min) is False  # 0001-01-01, a Monday, is 元旦
    assert isinstance(cal.is_workday(date.max), bool)
    assert cal.first_workday(year_of(date(year, 6, 1))) is not None
    assert cal.warning(date(year, 11, 15)) is not None


def test_fallback_festivals_agree_with_chinese_calendar() -> None:
    for year in range(2004, 2027):
        new_year = LunarDate(year, 1, 1).to_solar_date()  # 春节 初一
        assert {new_year - timedelta(1), new_year} <= statutory_holidays(year)
        assert chinese_calendar.is_holiday(new_year), year
        assert chinese_calendar.get_holiday_detail(new_year)[1] == "Spring Festival", year
    for year in range(2008, 2027):  # 清明, 端午 and 中秋 became holidays in 2008
        festivals = [
            qingming(year),
            LunarDate(year, 5, 5).to_solar_date(),
            LunarDate(year, 8, 15).to_solar_date(),
        ]
        for festival in festivals:
            assert festival in statutory_holidays(year)
            assert chinese_calendar.is_holiday(festival), (year, festival)
        # The data names only the weekdays of a holiday block (中秋 may merge into 国庆).
        for festival, name in zip(
            festivals[:2], ["Tomb-sweeping Day", "Dragon Boat Festival"], strict=True
        ):
            if festival.weekday() < 5:
                assert chinese_calendar.get_holiday_detail(festival)[1] == name, festival


def test_qingming_matches_chinese_calendar_solar_terms() -> None:
    for year in range(1900, 2100):
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
        assert qingming(year) == next(day for day, name in terms if name == "清明"), year
    assert qingming(2000) == d("2000-04-04")
    assert qingming(2027) == d("2027-04-05")
    assert qingming(2100) is None


# -- overrides ----------------------------------------------------------------------------------


def test_extras_override_data_and_fallback() -> None:
    cal = default_calendar(
        extra_holidays=[d("2026-03-09"), d("2027-01-04"), d("2026-10-10")],
        extra_workdays=[d("2026-10-05"), d("2027-02-06"), d("2026-03-07")],
    )
    assert cal.is_rest_day(d("2026-03-09"))  # data: workday
    assert cal.is_rest_day(d("2027-01-04"))  # fallback: workday
    assert cal.is_workday(d("2026-10-05"))  # data: 国庆
    assert cal.is_workday(d("2027-02-06"))  # fallback: 春节
    assert cal.is_workday(d("2026-03-07"))  # a Saturday
    assert cal.is_rest_day(d("2026-10-10"))  # data: make-up workday; holiday override wins


def test_extra_workday_beats_extra_holiday() -> None:
    cal = WorkCalendar(extra_holidays=[d("2026-03-09")], extra_workdays=[d("2026-03-09")])
    assert cal.is_workday(d("2026-03-09"))


def test_without_source_only_weekends_and_extras() -> None:
    cal = WorkCalendar(extra_holidays=[d("2026-03-10")])
    assert cal.is_workday(d("2026-10-01"))
    assert cal.is_rest_day(d("2026-10-03"))
    assert cal.is_rest_day(d("2026-03-10"))
    assert not cal.covers(2026)
    assert cal.warning(d("2026-03-01")) is not None


# -- a misbehaving source ------------------------------------------------------------------------


class _ExplodingSource(HolidaySource):
    def __init__(self) -> None:
        self.calls = 0

    def is_workday(self, day: date) -> bool | None:
        self.calls += 1
        raise RuntimeError("corrupt data")

    def covers(self, year: int) -> bool:
        return True

    def statutory_holidays(self, year: int) -> frozenset[date]:
        return frozenset({date(year, 1, 1), date(year, 10, 1)})


class _BrokenEverywhere(HolidaySource):
    def is_workday(self, day: date) -> bool | None:
        raise KeyError(day)

    def covers(self, year: int) -> bool:
        raise ZeroDivisionError

    def statutory_holidays(self, year: int) -> frozenset[date]:
        raise OSError("no file")


def test_source_exception_means_not_covered() -> None:
    source = _ExplodingSource()
    cal = WorkCalendar(source)
    assert cal.is_rest_day(d("2026-10-01"))  # fallback statutory holiday
    assert cal.is_workday(d("2026-10-02"))  # a Friday, not in this source's statutory list
    assert cal.is_workday(d("2026-10-09"))
    assert cal.is_rest_day(d("2026-10-10"))
    assert not cal.covers(2026)
    assert "2026" in (cal.warning(d("2026-05-01")) or "")
    calls = source.calls
    for day in days("2026-01-01", "2026-12-31"):
        cal.is_workday(day)
    assert source.calls == calls  # resolved once per year


def test_source_failing_everywhere_is_weekends_only() -> None:
    cal = WorkCalendar(_BrokenEverywhere())
    assert cal.is_workday(d("2026-10-01"))
    assert cal.is_rest_day(d("2026-10-03"))
    assert not cal.covers(2026)
    assert cal.first_workday(quarter_of(d("2026-10-01"))) == d("2026-10-01")


def test_chinese_calendar_source() -> None:
    source = ChineseCalendarSource()
    assert source.covers(2026)
    assert not source.covers(2027)
    assert source.is_workday(d("2026-10-10")) is True
    assert source.is_workday(d("2026-10-01")) is False
    assert source.is_workday(d("2027-01-04")) is None
    assert source.is_workday(d("0001-01-01")) is None


# -- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "index", "start", "end"),
    [
        ("2026-12-01", 1, "2026-12-01", "2026-12-10"),
        ("2026-12-10", 1, "2026-12-01", "2026-12-10"),
        ("2026-12-11", 2, "2026-12-11", "2026-12-20"),
        ("2026-12-20", 2, "2026-12-11", "2026-12-20"),
        ("2026-12-21", 3, "2026-12-21", "2026-12-31"),
        ("2026-12-31", 3, "2026-12-21", "2026-12-31"),
        ("2026-02-21", 3, "2026-02-21", "2026-02-28"),
        ("2028-02-29", 3, "2028-02-21", "2028-02-29"),
        ("2100-02-28", 3, "2100-02-21", "2100-02-28"),
        ("2000-02-25", 3, "2000-02-21", "2000-02-29"),
        ("2026-04-30", 3, "2026-04-21", "2026-04-30"),
    ],
)
def test_xun_boundaries(day: str, index: int, start: str, end: str) -> None:
    period = xun_of(d(day))
    assert xun_index(d(day)) == index
    assert (period.start, period.end) == (d(start), d(end))
    assert period.kind is PeriodKind.XUN
    assert period.contains(d(day))
    assert not period.contains(d(start) - timedelta(1))
    assert not period.contains(d(end) + timedelta(1))


@pytest.mark.parametrize(
    ("day", "end"),
    [
        ("2026-02-10", "2026-02-28"),
        ("2028-02-10", "2028-02-29"),
        ("2026-04-10", "2026-04-30"),
        ("2026-12-10", "2026-12-31"),
    ],
)
def test_month_ends(day: str, end: str) -> None:
    assert month_of(d(day)).end == d(end)
    assert month_of(d(day)).start == d(day).replace(day=1)


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        ("2026-01-01", "2026-01-01", "2026-03-31"),
        ("2026-03-31", "2026-01-01", "2026-03-31"),
        ("2026-04-01", "2026-04-01", "2026-06-30"),
        ("2026-06-30", "2026-04-01", "2026-06-30"),
        ("2026-07-01", "2026-07-01", "2026-09-30"),
        ("2026-09-30", "2026-07-01", "2026-09-30"),
        ("2026-10-01", "2026-10-01", "2026-12-31"),
        ("2026-12-31", "2026-10-01", "2026-12-31"),
    ],
)
def test_quarter_boundaries(day: str, start: str, end: str) -> None:
    period = quarter_of(d(day))
    assert (period.start, period.end) == (d(start), d(end))


def test_next_and_previous_across_year_ends() -> None:
    assert xun_of(d("2026-12-25")).next() == xun_of(d("2027-01-01"))
    assert xun_of(d("2027-01-05")).previous() == xun_of(d("2026-12-31"))
    assert xun_of(d("2028-02-15")).next() == xun_of(d("2028-02-29"))
    assert xun_of(d("2026-02-25")).next() == xun_of(d("2026-03-01"))
    assert month_of(d("2026-12-03")).next() == month_of(d("2027-01-01"))
    assert month_of(d("2027-01-03")).previous() == month_of(d("2026-12-31"))
    assert quarter_of(d("2026-11-03")).next().code() == "2027-Q1"
    assert quarter_of(d("2027-02-03")).previous().code() == "2026-Q4"
    assert year_of(d("2026-05-05")).next().code() == "2027"
    assert day_of(d("2026-12-31")).next() == day_of(d("2027-01-01"))
    assert day_of(d("2027-01-01")).previous() == day_of(d("2026-12-31"))
    with pytest.raises(OverflowError):
        year_of(date.max).next()


@pytest.mark.parametrize(
    ("period", "code", "zh", "en"),
    [
        (xun_of(d("2026-12-15")), "2026-12-2", "12月中旬", "mid Dec"),
        (xun_of(d("2026-12-01")), "2026-12-1", "12月上旬", "early Dec"),
        (xun_of(d("2026-02-28")), "2026-02-3", "2月下旬", "late Feb"),
        (month_of(d("2026-12-15")), "2026-12", "12月", "Dec 2026"),
        (quarter_of(d("2026-12-15")), "2026-Q4", "2026年第四季度", "2026 Q4"),
        (quarter_of(d("2026-01-15")), "2026-Q1", "2026年第一季度", "2026 Q1"),
        (quarter_of(d("2026-05-15")), "2026-Q2", "2026年第二季度", "2026 Q2"),
        (quarter_of(d("2026-08-15")), "2026-Q3", "2026年第三季度", "2026 Q3"),
        (year_of(d("2026-12-15")), "2026", "2026年", "2026"),
        (day_of(d("2026-12-03")), "2026-12-03", "12月3日", "3 Dec"),
    ],
)
def test_codes_and_labels(period: Period, code: str, zh: str, en: str) -> None:
    assert period.code() == code
    assert Period.parse(code) == period
    assert period.label() == zh
    assert period.label("zh") == zh
    assert period.label("en") == en


def test_codes_round_trip_over_years() -> None:
    day = d("2027-12-20")
    while day <= d("2029-01-10"):
        for kind in PeriodKind:
            period = period_of(kind, day)
            assert Period.parse(period.code()) == period
        day += timedelta(1)
    assert Period.parse("0001-01-01") == day_of(date.min)
    assert Period.parse("9999-Q4").end == date.max


@pytest.mark.parametrize(
    "code",
    [
        "",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "2026-12-4",
        "2026-02-30",
        "0000",
        "26",
        "2026/12",
        "2026-1",
        "abc",
        "2026-12-2x",
    ],
)
def test_bad_codes(code: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(code)


def test_inconsistent_period_is_rejected() -> None:
    with pytest.raises(ValueError):
        Period(PeriodKind.XUN, d("2026-12-01"), d("2026-12-11"))
    with pytest.raises(ValueError):
        Period(PeriodKind.MONTH, d("2026-12-02"), d("2026-12-31"))
    assert Period(PeriodKind.MONTH, d("2026-12-01"), d("2026-12-31")) == month_of(d("2026-12-09"))


# -- first workdays -----------------------------------------------------------------------------


def test_first_workday_of_2026_q4(cal: WorkCalendar) -> None:
    # 国庆 2026 is Oct 1–7; Oct 8 is a Thursday and a workday in the official data.
    assert chinese_calendar.is_workday(d("2026-10-08"))
    assert cal.first_workday(quarter_of(d("2026-11-11"))) == d("2026-10-08")
    assert cal.first_workday(month_of(d("2026-10-20"))) == d("2026-10-08")
    assert cal.first_workday(xun_of(d("2026-10-02"))) == d("2026-10-08")
    assert cal.is_first_workday(d("2026-10-08"), PeriodKind.QUARTER)
    assert not cal.is_first_workday(d("2026-10-09"), PeriodKind.QUARTER)
    assert not cal.is_first_workday(d("2026-10-01"), PeriodKind.QUARTER)


def test_first_workday_around_spring_festival_2026(cal: WorkCalendar) -> None:
    # 春节 2026: Feb 15–23 off; Feb 14 (Sat) and Feb 28 (Sat) are make-up workdays.
    assert cal.first_workday(xun_of(d("2026-02-15"))) == d("2026-02-11")
    assert cal.first_workday(xun_of(d("2026-02-25"))) == d("2026-02-24")
    assert cal.first_workday(month_of(d("2026-02-25"))) == d("2026-02-02")
    assert cal.is_first_workday(d("2026-02-24"), PeriodKind.XUN)


def test_first_workday_of_a_period_without_workdays() -> None:
    cal = default_calendar(extra_holidays=days("2026-02-11", "2026-02-14"))
    assert cal.first_workday(xun_of(d("2026-02-15"))) is None  # the whole 中旬 is off
    assert not any(
        cal.is_first_workday(day, PeriodKind.XUN) for day in days("2026-02-11", "2026-02-20")
    )
    assert cal.first_workday(day_of(d("2026-10-01"))) is None
    assert cal.first_workday(day_of(d("2026-10-10"))) == d("2026-10-10")


def test_first_workday_of_2027_q1(cal: WorkCalendar) -> None:
    assert cal.first_workday(quarter_of(d("2027-02-01"))) == d("2027-01-04")
    assert cal.first_workday(year_of(d("2027-02-01"))) == d("2027-01-04")
    assert cal.first_workday(xun_of(d("2027-02-06"))) == d("2027-02-01")
    assert cal.first_workday(xun_of(d("2027-02-15"))) == d("2027-02-11")


def test_first_workday_is_cached(cal: WorkCalendar) -> None:
    period = xun_of(d("2026-06-15"))
    assert cal.first_workday(period) is cal.first_workday(period)
    assert cal.first_workday(period) == d("2026-06-11")
    # 10,000 tasks checked on one day stays cheap: a dictionary hit each.
    hits = sum(cal.is_first_workday(d("2026-06-11"), PeriodKind.XUN) for _ in range(10_000))
    assert hits == 10_000


# -- ranges -------------------------------------------------------------------------------------


def test_next_and_previous_workday(cal: WorkCalendar) -> None:
    assert cal.next_workday(d("2026-09-30")) == d("2026-10-08")
    assert cal.next_workday(d("2026-10-08")) == d("2026-10-09")
    assert cal.next_workday(d("2026-10-09")) == d("2026-10-10")  # make-up Saturday
    assert cal.previous_workday(d("2026-10-08")) == d("2026-09-30")
    assert cal.next_workday(d("2026-12-31")) == d("2027-01-04")
    assert cal.previous_workday(d("2027-01-04")) == d("2026-12-31")
    assert cal.next_workday(d("2026-02-13")) == d("2026-02-14")
    assert cal.previous_workday(d("2026-02-24")) == d("2026-02-14")


def test_workdays_between_over_a_long_holiday(cal: WorkCalendar) -> None:
    # Overdue from Sep 30 (deadline) to Oct 9: workdays after the deadline are Oct 8 and 9.
    assert cal.workdays_between(d("2026-09-30"), d("2026-10-09")) == 2
    assert cal.workdays_between(d("2026-09-30"), d("2026-10-07")) == 0
    assert cal.workdays_between(d("2026-09-30"), d("2026-10-10")) == 3
    assert cal.workdays_between(d("2026-02-13"), d("2026-02-24")) == 2  # Feb 14 and 24
    assert cal.workdays_between(d("2026-10-09"), d("2026-09-30")) == 0
    assert cal.workdays_between(d("2026-10-09"), d("2026-10-09")) == 0
    assert cal.workdays(d("2026-09-29"), d("2026-10-10")) == [
        d("2026-09-29"),
        d("2026-09-30"),
        d("2026-10-08"),
        d("2026-10-09"),
        d("2026-10-10"),
    ]
    assert cal.workdays(d("2026-10-02"), d("2026-10-01")) == []


def test_workdays_between_across_years(cal: WorkCalendar) -> None:
    start, end = d("2025-12-15"), d("2027-01-15")
    expected = sum(1 for x in days("2025-12-16", "2027-01-15") if cal.is_workday(x))
    assert cal.workdays_between(start, end) == expected
    assert len(cal.workdays(start, end)) == expected + cal.is_workday(start)
    assert cal.workdays_between(d("2026-01-01"), d("2026-12-31")) == len(
        cal.workdays(d("2026-01-02"), d("2026-12-31"))
    )


# -- warnings -----------------------------------------------------------------------------------


def test_missing_year(cal: WorkCalendar) -> None:
    """Which year's 调休 data is missing and matters: this year's (workdays computed
    meanwhile), next year's from 1 November, or none."""
    assert cal.missing_year(d("2026-10-31")) is None
    assert cal.missing_year(d("2026-11-01")) == (2027, False)
    assert cal.missing_year(d("2027-03-01")) == (2027, True)


def test_warning_texts(cal: WorkCalendar) -> None:
    assert cal.warning(d("2026-03-01")) is None
    assert cal.warning(d("2026-10-31")) is None
    assert cal.warning(d("2025-11-27")) is None  # 2026 is covered

    next_year = cal.warning(d("2026-11-27"))
    assert next_year is not None
    assert "2027" in next_year
    assert "chinese-calendar" in next_year
    assert "pip install -U chinese-calendar" in next_year
    assert "extra_holidays" in next_year and "extra_workdays" in next_year
    assert next_year.startswith("⚠️")
    assert len(next_year.splitlines()) == 2
    assert cal.warning(d("2026-11-01")) == next_year

    this_year = cal.warning(d("2027-03-01"))
    assert this_year is not None
    assert this_year.startswith("⚠️ 缺少2027年法定节假日调休数据")
    assert "周末和法定节日" in this_year
    assert "2027" in this_year.splitlines()[1]
    assert "missing" in this_year.splitlines()[1]
    assert cal.warning(d("2027-12-31")) == this_year
