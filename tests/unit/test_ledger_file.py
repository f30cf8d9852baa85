"""The ledger file's pure parts: deadline phrases, the header, rows, export rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.deadlines import parse_deadline_phrase
from bot.domain.errors import InvalidField
from bot.domain.ledger_file import (
    COLUMNS,
    EXPORT_COLUMNS,
    EXPORT_EXTRA,
    REQUIRED,
    Header,
    ParsedRow,
    RowError,
    cell_text,
    column_of,
    deadline_window_errors,
    export_row,
    find_header,
    missing_columns,
    parse_frequency,
    parse_rows,
)
from bot.domain.model import Frequency, Task, TaskStatus
from bot.domain.text import normalize_task_id

Y = 2026
CST = timezone(timedelta(hours=8))
D = date


# -- 完成时限 phrases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("2026-12-31", D(2026, 12, 31)),
        ("2026/12/31", D(2026, 12, 31)),
        ("2026.12.31", D(2026, 12, 31)),
        ("2026-1-5", D(2026, 1, 5)),
        ("2027年3月5日", D(2027, 3, 5)),
        ("2026年12月31号", D(2026, 12, 31)),
        ("12月31日", D(2026, 12, 31)),
        ("3月5日", D(2026, 3, 5)),
        ("12月31", D(2026, 12, 31)),
        ("12月底", D(2026, 12, 31)),
        ("12月底前", D(2026, 12, 31)),
        ("12月末", D(2026, 12, 31)),
        ("2月底", D(2026, 2, 28)),
        ("2月下旬", D(2026, 2, 28)),
        ("12月上旬", D(2026, 12, 10)),
        ("12月中旬", D(2026, 12, 20)),
        ("12月下旬", D(2026, 12, 31)),
        ("6月中旬前", D(2026, 6, 20)),
        ("9月", D(2026, 9, 30)),
        ("十二月底", D(2026, 12, 31)),
        ("年底", D(2026, 12, 31)),
        ("年底前", D(2026, 12, 31)),
        ("年末", D(2026, 12, 31)),
        ("年内", D(2026, 12, 31)),
        ("一季度", D(2026, 3, 31)),
        ("第一季度", D(2026, 3, 31)),
        ("一季度末", D(2026, 3, 31)),
        ("二季度", D(2026, 6, 30)),
        ("第三季度", D(2026, 9, 30)),
        ("四季度", D(2026, 12, 31)),
        ("1季度", D(2026, 3, 31)),
        ("Q1", D(2026, 3, 31)),
        ("q2", D(2026, 6, 30)),
        ("Q4", D(2026, 12, 31)),
        ("2027-Q1", D(2027, 3, 31)),
        ("上半年", D(2026, 6, 30)),
        ("下半年", D(2026, 12, 31)),
        ("2027年12月底", D(2027, 12, 31)),
        ("2027年上半年", D(2027, 6, 30)),
        ("2027年一季度", D(2027, 3, 31)),
        ("2027年底前", D(2027, 12, 31)),
        ("2027年Q3", D(2027, 9, 30)),
        ("2026.12", D(2026, 12, 31)),
        ("12/31", D(2026, 12, 31)),  # month/day, as the reply reader reads 1/20
        ("6月30日之前", D(2026, 6, 30)),
        ("6月30日以前", D(2026, 6, 30)),
        ("6月30日前", D(2026, 6, 30)),
        ("年底前完成", D(2026, 12, 31)),
        ("6月底完成", D(2026, 6, 30)),
        ("截止12月31日", D(2026, 12, 31)),
        ("截至2027年3月底", D(2027, 3, 31)),
        ("2026年12月", D(2026, 12, 31)),
        # spaces and full-width characters do not matter
        (" 2026 - 12 - 31 ", D(2026, 12, 31)),
        ("１２月３１日", D(2026, 12, 31)),
        ("２０２６年６月底", D(2026, 6, 30)),
        ("12月\u3000底前", D(2026, 12, 31)),
        ("Ｑ３", D(2026, 9, 30)),
        ("2026-12-31 00:00:00", D(2026, 12, 31)),
        # no deadline
        ("长期", None),
        ("持续推进", None),
        ("常态化", None),
        ("长期坚持", None),
        (" 长 期 ", None),
        ("长期推进", None),
    ],
)
def test_deadline_phrases(phrase: str, expected: date | None) -> None:
    assert parse_deadline_phrase(phrase, year=Y) == expected


def test_deadline_cells_that_are_not_text() -> None:
    assert parse_deadline_phrase(D(2026, 5, 1), year=Y) == D(2026, 5, 1)
    assert parse_deadline_phrase(datetime(2026, 5, 1, 17, 30), year=Y) == D(2026, 5, 1)
    # a plausible Excel serial (a date cell that lost its format): 45658 is 2025-01-01
    assert parse_deadline_phrase(45658, year=Y) == D(2025, 1, 1)
    assert parse_deadline_phrase(46022.75, year=Y) == D(2025, 12, 31)


@pytest.mark.parametrize(
    "phrase",
    [
        "",
        "   ",
        None,
        "2月30日",
        "2026-02-30",
        "2025年2月29日",
        "13月底",
        "0月",
        "12月32日",
        "五季度",
        "Q5",
        "2026年",
        "2026",
        "明年",
        "尽快",
        "前",
        "完成",
        "截止",
        "已完成",
        "下旬",
        2026,
        20261231,
        12.31,
        29999,
        80001,
        True,
        float("nan"),
    ],
)
def test_unreadable_deadlines(phrase: object) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_deadline_phrase(phrase, year=Y)
    assert caught.value.params["field"] == "deadline"
    assert caught.value.params["value"] == ("" if phrase is None else str(phrase))


def test_year_parameter_only_fills_missing_years() -> None:
    assert parse_deadline_phrase("12月底", year=2030) == D(2030, 12, 31)
    assert parse_deadline_phrase("2月底", year=2028) == D(2028, 2, 29)
    assert parse_deadline_phrase("2027年12月底", year=2030) == D(2027, 12, 31)


# -- the header ---------------------------------------------------------------------------------

HEADER = ["序号", "编号", "任务", "目标", "牵头单位", "责任人", "责任领导", "配合单位", "完成时限",
          "类别", "调度频次", "备注"]  # fmt: skip


def test_canonical_header() -> None:
    header = find_header([(1, HEADER)])
    assert header is not None
    assert header.row == 1
    assert list(header.columns.values()) == list(COLUMNS)
    assert header.columns[1] == "编号"
    assert header.ignored == ["序号"]
    assert header.unknown == []


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("任务编号", "编号"),
        ("工作任务", "任务"),
        ("任务名称", "任务"),
        ("事项", "任务"),
        ("重点任务", "任务"),
        ("工作目标", "目标"),
        ("目标要求", "目标"),
        ("任务要求", "目标"),
        ("责任单位", "牵头单位"),
        ("主办单位", "牵头单位"),
        ("具体责任人", "责任人"),
        ("联系人", "责任人"),
        ("分管领导", "责任领导"),
        ("包联领导", "责任领导"),
        ("协办单位", "配合单位"),
        ("时限", "完成时限"),
        ("完成时间", "完成时限"),
        ("时间节点", "完成时限"),
        ("任务类别", "类别"),
        ("任务来源", "类别"),
        ("调度频率", "调度频次"),
        # spacing, line breaks, full-width, required marks
        ("牵 头 单 位", "牵头单位"),
        ("完成\n时限", "完成时限"),
        ("\u3000责任人\u3000", "责任人"),
        ("责任人（必填）", "责任人"),
        ("责任人(必填)", "责任人"),
        ("任务*", "任务"),
        ("*任务", "任务"),
        ("完成时限（必填）*", "完成时限"),
        ("完成时限\r\n(必填)", "完成时限"),
        ("备注　", "备注"),
    ],
)
def test_header_aliases_and_spacing(text: str, column: str) -> None:
    assert column_of(text) == column


def test_header_found_under_title_rows() -> None:
    title = "2026年县政府重点工作任务台账"
    rows = [
        (1, [title] * 11),  # a merged title reads in every cell
        (2, ["填报单位：县政府督查室", None, None, None, "填报时间：2026年1月5日"]),
        (4, ["序号", "重点任务", "工作目标", "责任单位", "具体责任人", "分管领导", "时间节点"]),
        (5, [1, "世忻铁路复线保德段征地", "完成征地", "县自然资源局", "张三", "王副县长", "年底"]),
    ]
    header = find_header(rows)
    assert header is not None and header.row == 4
    assert header.columns == {
        1: "任务", 2: "目标", 3: "牵头单位", 4: "责任人", 5: "责任领导", 6: "完成时限"
    }  # fmt: skip
    parsed, errors = parse_rows(rows, header, year=Y)
    assert errors == []
    assert [(p.row, p.title, p.deadline) for p in parsed] == [
        (5, "世忻铁路复线保德段征地", D(2026, 12, 31))
    ]


def test_header_beyond_max_scan_is_not_found() -> None:
    rows = [(n, [f"说明{n}"]) for n in range(1, 25)] + [(25, HEADER)]
    assert find_header(rows) is None
    assert find_header(rows, max_scan=30) is not None


def test_two_level_header_takes_the_lower_row() -> None:
    # 责任单位 spans 牵头单位 | 配合单位; vertical merges repeat the other names in both rows.
    rows = [
        (3, ["序号", "任务", "责任单位", "责任单位", "责任人", "完成时限"]),
        (4, ["序号", "任务", "牵头单位", "配合单位", "责任人", "完成时限"]),
        (5, [1, "老旧小区改造", "县住建局", "县财政局", "李四", "9月底"]),
    ]
    header = find_header(rows)
    assert header is not None and header.row == 4
    assert header.columns[3] == "配合单位"
    parsed, errors = parse_rows(rows, header, year=Y)
    assert errors == []
    assert parsed[0].co_units == ("县财政局",)


def test_exact_name_wins_over_an_alias_and_duplicates_are_reported() -> None:
    header = find_header([(1, ["责任单位", "任务", "牵头单位", "责任人", "完成时限", "重点任务"])])
    assert header is not None
    assert header.columns == {1: "任务", 2: "牵头单位", 3: "责任人", 4: "完成时限"}
    assert header.duplicates == ["责任单位", "重点任务"]
    assert header.unknown == []


def test_missing_required_columns_are_named() -> None:
    rows = [
        (1, ["2026年重点工作台账"]),
        (2, ["序号", "工作任务", "责任单位", "备注"]),
        (3, [1, "某任务", "县发改局", ""]),
    ]
    assert find_header(rows) is None
    assert missing_columns(rows) == ["责任人", "完成时限"]


def test_missing_columns_without_anything_like_a_header() -> None:
    rows = [(1, ["姓名", "电话"]), (2, ["张三", "123"])]
    assert find_header(rows) is None
    assert missing_columns(rows) == list(REQUIRED)
    assert missing_columns([(1, HEADER)]) == []


def test_unknown_columns_warn_and_export_columns_do_not() -> None:
    header = find_header([(1, [*HEADER, "联系电话", "进 度", "状态", "预警", "最新进展",
                               "最近填报", "逾期天数", "资金来源"])])  # fmt: skip
    assert header is not None
    assert header.unknown == ["联系电话", "资金来源"]
    assert header.ignored == ["序号", "进 度", "状态", "预警", "最新进展", "最近填报", "逾期天数"]
    assert set(header.columns.values()) == set(COLUMNS)


def test_exported_header_imports_cleanly() -> None:
    header = find_header([(1, list(EXPORT_COLUMNS))])
    assert header is not None
    assert header.unknown == [] and header.duplicates == []
    assert header.ignored == list(EXPORT_EXTRA)


def test_non_text_header_cells_are_skipped() -> None:
    header = find_header([(1, [None, 12, D(2026, 1, 1), "任务", "牵头单位", "责任人", "时限"])])
    assert header is not None
    assert header.columns == {3: "任务", 4: "牵头单位", 5: "责任人", 6: "完成时限"}
    assert header.unknown == []


# -- rows ---------------------------------------------------------------------------------------


def _header(columns: list[str], row: int = 1) -> Header:
    header = find_header([(row, columns)])
    assert header is not None
    return header


def test_a_full_row() -> None:
    header = _header(HEADER)
    cells = [1, "t7", " 世忻铁路复线保德段征地 ", "完成主体征地", "县自然资源局",
             "张三、李四", "陈副县长", "县财政局，县林业局", D(2026, 12, 31), "重大项目",
             "每旬", "需协调省公司"]  # fmt: skip
    parsed, errors = parse_rows([(1, HEADER), (2, cells)], header, year=Y)
    assert errors == []
    assert parsed == [
        ParsedRow(
            row=2,
            task_id="T0007",
            title="世忻铁路复线保德段征地",
            goal="完成主体征地",
            lead_unit="县自然资源局",
            owners=("张三", "李四"),
            leader="陈副县长",
            co_units=("县财政局", "县林业局"),
            deadline=D(2026, 12, 31),
            category="重大项目",
            frequency=Frequency.XUN,
            remark="需协调省公司",
        )
    ]


@pytest.mark.parametrize(
    ("text", "owners"),
    [
        ("张三", ("张三",)),
        ("张三、李四", ("张三", "李四")),
        ("张三，李四,王五", ("张三", "李四", "王五")),
        ("张三;李四；王五", ("张三", "李四", "王五")),
        ("张三/李四／王五", ("张三", "李四", "王五")),
        ("张三 李四\u3000王五", ("张三", "李四", "王五")),
        ("张三\n李四", ("张三", "李四")),
        ("张三、、李四、", ("张三", "李四")),
        ("张三、张三", ("张三",)),
    ],
)
def test_owners_splitting(text: str, owners: tuple[str, ...]) -> None:
    header = _header(["任务", "牵头单位", "责任人", "完成时限"])
    parsed, errors = parse_rows([(2, ["任务", "县发改局", text, "长期"])], header, year=Y)
    assert errors == []
    assert parsed[0].owners == owners


@pytest.mark.parametrize(
    ("cell", "task_id"),
    [
        (12, "12"),
        (12.0, "12"),
        ("12", "12"),
        ("t7", "T0007"),
        ("T7", "T0007"),
        ("T0012", "T0012"),
        ("Ｔ００１２", "T0012"),
        (" t12 ", "T0012"),
        ("a-12", "A-12"),
        ("ZD-2026-001", "ZD-2026-001"),
        ("T999999", "T999999"),
        ("t1000000", "T1000000"),
        ("T0001000000", "T1000000"),
        (1000000, "1000000"),
        ("T" + "9" * 19, "T" + "9" * 19),
        ("", None),
        (None, None),
    ],
)
def test_ids(cell: object, task_id: str | None) -> None:
    header = _header(["编号", "任务", "牵头单位", "责任人", "完成时限"])
    parsed, errors = parse_rows([(2, [cell, "任务", "县发改局", "张三", "长期"])], header, year=Y)
    assert errors == []
    assert parsed[0].task_id == task_id
    # What the import stores is what /task, /verify, /cancel and /remind look up.
    assert task_id is None or normalize_task_id(task_id) == task_id


@pytest.mark.parametrize("cell", ["ABC", "-12", "12-", "A--1", "T" + "1" * 20, "任务1", "T 1 2"])
def test_ids_no_command_could_find_are_errors(cell: str) -> None:
    header = _header(["编号", "任务", "牵头单位", "责任人", "完成时限"])
    parsed, errors = parse_rows([(2, [cell, "任务", "县发改局", "张三", "长期"])], header, year=Y)
    assert parsed == [] and [(e.column, e.problem) for e in errors] == [("编号", "bad_id")]
    assert normalize_task_id(cell) is None


# -- 完成时限 years and the window around today ------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        (D(1, 1, 1), "0001-01-01"),
        (datetime(9999, 12, 31), "9999-12-31"),
        ("9999-12-31", "9999-12-31"),
        ("1999年12月31日", "1999年12月31日（1999-12-31）"),
        ("2100-01-01", "2100-01-01"),
    ],
)
def test_a_year_outside_2000_to_2099_is_always_an_error(cell: object, shown: str) -> None:
    header = _header(["任务", "牵头单位", "责任人", "完成时限"])
    parsed, errors = parse_rows([(2, ["任务", "县发改局", "张三", cell])], header, year=Y)
    assert parsed == []
    assert [(e.row, e.column, e.problem) for e in errors] == [(2, "完成时限", "deadline_year")]
    assert errors[0].value == shown


def test_years_at_the_edges_of_the_range_are_read() -> None:
    header = _header(["任务", "牵头单位", "责任人", "完成时限"])
    rows = [(2, ["甲", "县发改局", "张三", "2000-01-01"]),
            (3, ["乙", "县发改局", "张三", "2099-12-31"])]
    parsed, errors = parse_rows(rows, header, year=Y)
    assert errors == [] and [p.deadline for p in parsed] == [D(2000, 1, 1), D(2099, 12, 31)]


def _parsed(number: int, deadline: date | None, task_id: str | None = None) -> ParsedRow:
    return ParsedRow(row=number, task_id=task_id, title=f"任务{number}", goal="",
                     lead_unit="县发改局", owners=("张三",), leader="", co_units=(),
                     deadline=deadline, category="", frequency=None, remark="")


def test_deadlines_in_the_past_or_over_three_years_ahead_are_errors() -> None:
    today = D(2026, 12, 1)
    rows = [_parsed(2, D(2026, 11, 30)), _parsed(3, today), _parsed(4, D(2029, 12, 1)),
            _parsed(5, D(2029, 12, 2)), _parsed(6, None), _parsed(7, D(2036, 12, 31))]
    errors = deadline_window_errors(rows, today)
    assert errors == [
        RowError(2, "完成时限", "2026-11-30", "deadline_past"),
        RowError(5, "完成时限", "2029-12-02", "deadline_far"),
        RowError(7, "完成时限", "2036-12-31", "deadline_far"),
    ]
    # A row that leaves an existing task's deadline as it is (a re-imported export) passes.
    kept = deadline_window_errors(rows, today, unchanged=lambda row: row.row == 2)
    assert [e.row for e in kept] == [5, 7]


def test_the_window_on_29_february() -> None:
    today = D(2028, 2, 29)
    rows = [_parsed(2, D(2031, 2, 28)), _parsed(3, D(2031, 3, 1))]
    assert [e.row for e in deadline_window_errors(rows, today)] == [3]


@pytest.mark.parametrize(
    ("text", "frequency"),
    [
        ("每日", Frequency.DAILY),
        ("每天", Frequency.DAILY),
        ("日", Frequency.DAILY),
        ("每旬", Frequency.XUN),
        ("旬", Frequency.XUN),
        ("按旬", Frequency.XUN),
        ("每月", Frequency.MONTHLY),
        ("月", Frequency.MONTHLY),
        ("按月", Frequency.MONTHLY),
        ("每季", Frequency.QUARTERLY),
        ("季", Frequency.QUARTERLY),
        ("每季度", Frequency.QUARTERLY),
        ("按季", Frequency.QUARTERLY),
        (" 每 月 ", Frequency.MONTHLY),
        ("", None),
    ],
)
def test_frequencies(text: str, frequency: Frequency | None) -> None:
    assert parse_frequency(text) == frequency


def test_every_error_of_every_row_is_collected() -> None:
    columns = ["序号", "编号", "任务", "牵头单位", "责任人", "责任领导", "配合单位", "完成时限",
               "调度频次"]  # fmt: skip
    header = _header(columns)
    rows = [
        (1, columns),
        (2, [1, "T1", "好任务", "县发改局", "张三", "", "", "年底", "每月"]),
        (3, [2, "", "", "", "", "", "", "", ""]),  # only 序号: skipped, not an error
        (4, [3, "T1", "", "县发改局", "张三", "", "", "明年", "每周"]),
        (5, [4, "任务#5", "甲" * 201, "", "、", "", "", "2月30日", ""]),
        (6, [5, "T6", "任务六", "单" * 61, "长" * 31, "领" * 31, "配" * 61, None, "月"]),
        (7, [6, "t0001", "任务七", "县发改局", "张三", "", "", "长期", ""]),
    ]
    parsed, errors = parse_rows(rows, header, year=Y)
    assert [p.row for p in parsed] == [2]
    assert {(e.row, e.column, e.problem) for e in errors} == {
        (4, "编号", "duplicate_id"),
        (4, "任务", "required"),
        (4, "完成时限", "deadline"),
        (4, "调度频次", "frequency"),
        (5, "编号", "bad_id"),
        (5, "任务", "too_long"),
        (5, "牵头单位", "required"),
        (5, "责任人", "required"),
        (5, "完成时限", "deadline"),
        (6, "牵头单位", "too_long"),
        (6, "责任人", "too_long"),
        (6, "责任领导", "too_long"),
        (6, "配合单位", "too_long"),
        (6, "完成时限", "required"),
        (7, "编号", "duplicate_id"),  # t0001 is T0001, the id of row 2
    }
    assert len(errors) == 15
    assert errors == sorted(errors, key=lambda e: e.row)  # in file order
    bad_deadline = next(e for e in errors if e.row == 4 and e.column == "完成时限")
    assert bad_deadline == RowError(row=4, column="完成时限", value="明年", problem="deadline")
    too_long = next(e for e in errors if e.row == 5 and e.column == "任务")
    assert len(too_long.value) <= 40 and too_long.value.endswith("…")


def test_blank_section_and_repeated_header_rows_are_skipped() -> None:
    columns = ["序号", "任务", "牵头单位", "责任人", "完成时限"]
    header = _header(columns)
    rows = [
        (1, columns),
        (2, []),
        (3, [None, None, "  ", None]),
        (4, ["一、重大项目建设"] * 5),  # a section row merged across the table
        (5, [1, "任务甲", "县发改局", "张三", "年底"]),
        (6, [1, "任务", "牵头单位", "责任人", "完成时限"]),  # the header again (a pasted page)
        (7, [2, "任务乙", "县财政局", "李四", "长期"]),
        (8, [3]),
        (9, ["合计", None, None, None, None, "共2项"]),  # only unknown cells filled
    ]
    parsed, errors = parse_rows(rows, header, year=Y)
    assert errors == []
    assert [(p.row, p.title) for p in parsed] == [(5, "任务甲"), (7, "任务乙")]


def test_rows_above_and_at_the_header_are_not_data() -> None:
    columns = ["任务", "牵头单位", "责任人", "完成时限"]
    rows = [
        (1, ["标题", "x", "y", "年底"]),
        (2, columns),
        (3, ["任务甲", "县发改局", "张三", "年底"]),
    ]
    header = find_header(rows)
    assert header is not None
    parsed, _ = parse_rows(rows, header, year=Y)
    assert [p.row for p in parsed] == [3]


def test_cell_values_of_every_type() -> None:
    header = _header(["编号", "任务", "目标", "牵头单位", "责任人", "完成时限", "类别", "备注"])
    rows = [
        (2, [7.0, 2026, 95.5, "县发改局", "张三", datetime(2026, 6, 30), 1, D(2026, 1, 5)]),
        (3, [8, "任务", None, "县发改局", "张三", 46022, True, datetime(2026, 1, 5, 8, 30)]),
        (4, [9, "任务", "", "县发改局", "张三", "'2026-06-30", "", "'=1+1"]),
    ]
    parsed, errors = parse_rows(rows, header, year=Y)
    assert [(e.row, e.problem) for e in errors] == [(4, "deadline")]
    first, second = parsed
    assert (first.task_id, first.title, first.goal, first.deadline) == (
        "7", "2026", "95.5", D(2026, 6, 30)
    )  # fmt: skip
    assert (first.category, first.remark) == ("1", "2026-01-05")
    assert (second.goal, second.deadline, second.remark) == (
        "",
        D(2025, 12, 31),
        "2026-01-05 08:30",
    )
    # In a workbook an apostrophe is part of the text (the CSV reader takes off the one
    # write_csv adds: see test_spreadsheet), so a remark "'=1+1" exports and imports as is.
    assert cell_text("'=1+1") == "'=1+1"
    assert cell_text("'abc") == "'abc"


def test_short_rows_read_missing_cells_as_blank() -> None:
    header = _header(["任务", "牵头单位", "责任人", "完成时限", "备注"])
    parsed, errors = parse_rows([(2, ["任务", "县发改局", "张三", "年底"])], header, year=Y)
    assert errors == [] and parsed[0].remark == ""
    parsed, errors = parse_rows([(3, ["任务", "县发改局"])], header, year=Y)
    assert {(e.column, e.problem) for e in errors} == {("责任人", "required"),
                                                       ("完成时限", "required")}  # fmt: skip


# -- export -------------------------------------------------------------------------------------

CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=CST)


def _task(**changes: object) -> Task:
    task = Task(
        id="T0007",
        title="世忻铁路复线保德段征地",
        lead_unit="县自然资源局",
        owners=("张三", "李四"),
        deadline=D(2026, 12, 31),
        created_at=CREATED,
        goal="完成主体征地",
        leader="陈副县长",
        co_units=("县财政局", "县林业局"),
        category="重大项目",
        frequency=Frequency.XUN,
        remark="需协调",
        progress=60,
        latest_note="完成主体征地",
        last_report_at=datetime(2026, 12, 3, 10, 15, 42, tzinfo=CST),
    )
    return task.with_changes(**changes)


def test_export_row_values() -> None:
    row = export_row(_task(), light="黄", today=D(2026, 11, 27), overdue_workdays=0)
    assert len(row) == len(EXPORT_COLUMNS)
    assert dict(zip(EXPORT_COLUMNS, row, strict=True)) == {
        "编号": "T0007",
        "任务": "世忻铁路复线保德段征地",
        "目标": "完成主体征地",
        "牵头单位": "县自然资源局",
        "责任人": "张三、李四",
        "责任领导": "陈副县长",
        "配合单位": "县财政局、县林业局",
        "完成时限": D(2026, 12, 31),
        "类别": "重大项目",
        "调度频次": "每旬",
        "备注": "需协调",
        "状态": "推进中",
        "进度": 60,
        "预警": "黄",
        "最新进展": "完成主体征地",
        "最近填报": datetime(2026, 12, 3, 10, 15, 42),
        "逾期天数": 0,
    }


def test_export_row_edge_values() -> None:
    task = _task(deadline=None, frequency=None, last_report_at=None, co_units=())
    row = dict(zip(EXPORT_COLUMNS, export_row(task, light="绿", today=D(2026, 1, 1),
                                               overdue_workdays=0), strict=True))  # fmt: skip
    assert (row["完成时限"], row["调度频次"], row["最近填报"], row["配合单位"]) == (
        "长期",
        "",
        "",
        "",
    )


def test_export_row_overdue_days_only_for_live_overdue_tasks() -> None:
    def overdue(task: Task, today: date) -> object:
        return export_row(task, light="红", today=today, overdue_workdays=3)[-1]

    assert overdue(_task(), D(2027, 1, 6)) == 3
    assert overdue(_task(status=TaskStatus.SUBMITTED), D(2027, 1, 6)) == 3
    assert overdue(_task(), D(2026, 12, 31)) == 0  # due today: not overdue
    assert overdue(_task(status=TaskStatus.CLOSED), D(2027, 1, 6)) == 0
    assert overdue(_task(deadline=None), D(2027, 1, 6)) == 0


def test_export_row_local_time() -> None:
    task = _task(last_report_at=datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    assert export_row(task, light="绿", today=D(2026, 12, 3), overdue_workdays=0)[15] == datetime(
        2026, 12, 3, 2, 0
    )
    assert export_row(task, light="绿", today=D(2026, 12, 3), overdue_workdays=0, tz=CST)[
        15
    ] == datetime(2026, 12, 3, 10, 0)
    with pytest.raises(ValueError):
        export_row(task, light="🔴", today=D(2026, 12, 3), overdue_workdays=0)


def _round_trip(tasks: list[Task]) -> list[ParsedRow]:
    header = find_header([(1, list(EXPORT_COLUMNS))])
    assert header is not None and header.unknown == []
    rows = [(1, list(EXPORT_COLUMNS))] + [
        (n, export_row(task, light="绿", today=D(2026, 6, 1), overdue_workdays=0))
        for n, task in enumerate(tasks, start=2)
    ]
    parsed, errors = parse_rows(rows, header, year=Y)
    assert errors == []
    return parsed


def _fields(task: Task) -> tuple[object, ...]:
    return (task.id, task.title, task.goal, task.lead_unit, task.owners, task.leader,
            task.co_units, task.deadline, task.category, task.frequency, task.remark)  # fmt: skip


def _parsed_fields(row: ParsedRow) -> tuple[object, ...]:
    return (row.task_id, row.title, row.goal, row.lead_unit, row.owners, row.leader,
            row.co_units, row.deadline, row.category, row.frequency, row.remark)  # fmt: skip


def test_export_then_import_gives_the_same_fields() -> None:
    tasks = [
        _task(),
        _task(id="T0008", deadline=None, frequency=None, co_units=(), goal="", leader=""),
        _task(id="A-12", owners=("王五",), frequency=Frequency.DAILY, remark="=SUM(A1)"),
        _task(id="12", title="12", category="2026"),
    ]
    parsed = _round_trip(tasks)
    assert [_parsed_fields(p) for p in parsed] == [_fields(t) for t in tasks]


_CJK = "推进重点工作任务项目建设改造征地县乡镇村局办委中心"
_NAME = "张王李赵钱孙周吴郑冯陈褚卫蒋沈韩杨"
_text = st.text(alphabet=_CJK + "ABCxyz0123（）《》“”-:. ", min_size=0, max_size=60).map(str.strip)
_names = st.lists(st.text(alphabet=_NAME, min_size=2, max_size=4), min_size=1, max_size=4,
                  unique=True)  # fmt: skip
_units = st.lists(st.text(alphabet=_CJK, min_size=2, max_size=12), max_size=3, unique=True)


@settings(max_examples=150, deadline=None)
@given(
    number=st.integers(min_value=1, max_value=9999),
    title=_text.filter(bool),
    goal=_text,
    lead=st.text(alphabet=_CJK, min_size=1, max_size=20),
    owners=_names,
    leader=st.text(alphabet=_NAME + "副县长", max_size=6),
    co_units=_units,
    deadline=st.none() | st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)),
    category=_text,
    frequency=st.none() | st.sampled_from(list(Frequency)),
    remark=_text,
)
def test_round_trip_property(
    number: int,
    title: str,
    goal: str,
    lead: str,
    owners: list[str],
    leader: str,
    co_units: list[str],
    deadline: date | None,
    category: str,
    frequency: Frequency | None,
    remark: str,
) -> None:
    task = _task(id=f"T{number:04d}", title=title, goal=goal, lead_unit=lead,
                 owners=tuple(owners), leader=leader, co_units=tuple(co_units),
                 deadline=deadline, category=category, frequency=frequency,
                 remark=remark)  # fmt: skip
    (parsed,) = _round_trip([task])
    assert _parsed_fields(parsed) == _fields(task)
