"""Importing the 台账 a county already keeps (issue 14, item 6, and 下达日期 of item 2): the
ledger found on the workbook's second sheet under a two-row merged header, the 合计 /
填表人 / 注 rows under the data skipped and counted, 进展情况 imported as each task's latest
progress note dated the import day (its figure read by the reply reader), 下达日期 as the day
the task entered the ledger, and the choice of sheet when several look like the ledger.

The workbook is built by tests/support/county_ledger.py; the chat flows are in
test_app_files.py and tests/chat/test_ledger_chat.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger
from bot.domain.ledger_file import (
    FooterRow,
    Header,
    assigned_errors,
    footer_text,
    parse_table,
)
from bot.domain.model import TaskStatus
from bot.domain.ports import Change
from bot.ledger_io import apply_import, import_ledger_file, read_ledger_file
from bot.messages import Messages
from tests.conftest import DEC1, TZ
from tests.support.county_ledger import (
    FOOTER,
    LEDGER_SHEET,
    ROWS,
    TITLES,
    county_workbook,
)
from tests.support.fakes import FakeRepository

Y = 2026


def _import(ledger: Ledger, data: bytes, **options: Any) -> Any:
    return import_ledger_file(ledger, "台账.xlsx", data, who="督查室", year=Y, dry_run=False,
                              **options)


def _by_title(ledger: Ledger) -> dict[str, Any]:
    return {task.title: task for task in ledger.repo.tasks()}


# ---- footer rows ------------------------------------------------------------------------------


@pytest.mark.parametrize("cells", [
    ["合计"], ["合 计", None, "", "4项"], ["小计：3项"], ["总计（12项）"], [None, "共计", 12],
    ["填表人：王五    审核人：赵六"], ["填表人", "王五"], ["审核人 赵六"],
    ["填表日期：2026年11月30日"], ["联系电话：0350-1234567"], ["注：1. 完成时限请填写具体日期。"],
    ["注:"], ["注1.本表数据截至11月"], ["说明：本表由督查室汇总"], ["备注：跨年度项目另行统计"],
    ["注", "本表数据截至11月底"],
])
def test_footer_rows_are_told_by_their_first_text(cells: list[object]) -> None:
    assert footer_text(cells) is not None


@pytest.mark.parametrize("cells", [
    [1, "合计划生育服务中心改造", "县卫健局"], ["注册资本金到位", "县财政局"],
    ["说明书编制", "县文旅局"], ["负责人培训", "县人社局"], ["填表人员培训"],
    [2, "小计量器具检定", "县市场监管局"], ["T0101", "备注栏"], ["一、重大项目建设"],
])
def test_tasks_whose_titles_start_like_a_footer_word_are_tasks(cells: list[object]) -> None:
    assert footer_text(cells) is None


def test_a_one_text_line_continues_a_note_only_right_under_it() -> None:
    header = Header(row=1, columns={0: "任务", 1: "牵头单位", 2: "责任人", 3: "完成时限"})
    rows: list[tuple[int, list[object]]] = [
        (2, ["征地拆迁", "县自然资源局", "张三", "2026-12-31"]),
        (3, ["二、民生实事"] * 4),  # a section row: skipped silently, as before
        (4, ["职业中学新校区建设", "县教育局", "赵六", "长期"]),
        (5, ["注：1. 完成时限写具体日期。"]),
        (6, ["2. 进展情况写明完成比例。"] * 4),  # merged across: continues the note
        (7, ["3. 本表每月25日更新。"]),
    ]
    table = parse_table(rows, header, year=Y)
    assert [row.title for row in table.rows] == ["征地拆迁", "职业中学新校区建设"]
    assert table.errors == []
    assert [footer.row for footer in table.footer] == [5, 6, 7]
    assert table.footer[1] == FooterRow(6, "2. 进展情况写明完成比例。")


# ---- the county workbook, read ------------------------------------------------------------------


def test_the_county_workbook_is_read_from_its_second_sheet() -> None:
    result = read_ledger_file("台账.xlsx", county_workbook(), year=Y)
    assert result.sheet_error is None and result.missing_columns == [] and result.errors == []
    assert (result.sheet, result.sheet_position, result.sheet_choices) == (LEDGER_SHEET, 1, [])
    assert [row.title for row in result.rows] == TITLES
    assert [footer.row for footer in result.footer] == [8, 9, 10, 11]
    assert [footer.text for footer in result.footer][:2] == ["合计", " ".join(FOOTER[1].split())]
    rail, cement, school, heating = result.rows
    assert (rail.leader, rail.lead_unit) == ("陈副县长", "县自然资源局")
    assert rail.owners == ("张三", "李四")
    assert rail.deadline == date(2026, 12, 31) and heating.deadline == date(2027, 6, 30)
    assert school.deadline is None  # 长期坚持
    assert [row.assigned for row in result.rows] == [
        date(2026, 9, 1), date(2026, 10, 15), None, date(2026, 11, 2)]
    assert rail.progress_note == ROWS[0][7] and rail.progress == 80
    assert cement.progress_note == ROWS[1][7] and cement.progress is None  # no figure stated
    assert school.progress_note == "" and heating.progress == 45
    assert result.unknown_columns == []  # 责任分工 is the group above, not a column


@pytest.mark.parametrize("header", ["进展情况", "工作进展", "推进情况", "完成情况"])
def test_every_name_of_the_progress_column(header: str) -> None:
    data = ("任务,牵头单位,责任人,完成时限,交办日期," + header + "\n"
            "征地拆迁,县自然资源局,张三,2026-12-31,2026年9月1日,完成60%\n").encode("utf-8-sig")
    [row] = read_ledger_file("台账.csv", data, year=Y).rows
    assert (row.progress_note, row.progress, row.assigned) == ("完成60%", 60, date(2026, 9, 1))


def test_an_unreadable_assigned_date_is_an_error_row() -> None:
    data = ("任务,牵头单位,责任人,完成时限,下达日期\n"
            "征地拆迁,县自然资源局,张三,2026-12-31,上个月\n"
            "供热改造,县住建局,钱七,2026-12-31,长期\n").encode("utf-8-sig")
    result = read_ledger_file("台账.csv", data, year=Y)
    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (2, "下达日期", "assigned"), (3, "下达日期", "assigned")]


def test_an_assigned_date_after_today_is_an_error_even_when_any_date_is_allowed() -> None:
    ledger = Ledger(FakeRepository(), FixedClock(DEC1))
    data = ("任务,牵头单位,责任人,完成时限,下达日期\n"
            "征地拆迁,县自然资源局,张三,2026-12-31,2026-12-02\n"
            "供热改造,县住建局,钱七,2026-12-31,2026-12-01\n").encode("utf-8-sig")
    result = import_ledger_file(ledger, "台账.csv", data, who="督查室", year=Y, dry_run=False,
                                allow_any_date=True)
    assert [(e.row, e.problem) for e in result.errors] == [(2, "assigned_future")]
    assert list(ledger.repo.tasks()) == []
    assert assigned_errors(result.rows, date(2026, 12, 2)) == []


# ---- the import: 下达日期 and 进展情况 ------------------------------------------------------


@pytest.fixture
def county() -> Ledger:
    return Ledger(FakeRepository(), FixedClock(DEC1))


def test_assigned_dates_set_when_tasks_entered_the_ledger(county: Ledger) -> None:
    result = _import(county, county_workbook())
    assert result.ok and len(result.summary.new) == 4
    tasks = _by_title(county)
    rail = tasks["世忻铁路复线保德段征地"]
    assert rail.created_at == datetime(2026, 9, 1, tzinfo=TZ)
    assert tasks["职业中学新校区建设"].created_at == DEC1  # none given: the import
    entry = county.repo.history(rail.id)[0]
    assert (entry.at, entry.action, entry.note) == (DEC1, "imported", "下达日期 2026-09-01")


def test_progress_notes_are_the_latest_progress_dated_the_import_day(county: Ledger) -> None:
    """The 督查室's note, not an official's report: 最新进展 and 进度 are set, the history says
    when, and nothing counts as 最近填报 (this period's reminders still go out; a 督办单 does
    not say the official reported)."""
    result = _import(county, county_workbook())
    summary = result.summary
    tasks = _by_title(county)
    rail, cement = tasks["世忻铁路复线保德段征地"], tasks["吉港冠宇水泥技改"]
    heating, school = tasks["县城集中供热管网改造"], tasks["职业中学新校区建设"]
    assert sorted(summary.notes) == sorted([rail.id, cement.id, heating.id])
    assert sorted(summary.figures) == sorted([rail.id, heating.id])
    assert (rail.latest_note, rail.progress) == (ROWS[0][7], 80)
    assert (cement.latest_note, cement.progress) == (ROWS[1][7], 0)  # no figure: 进度 unchanged
    assert heating.progress == 45
    assert school.latest_note == ""
    assert all(task.status is TaskStatus.OPEN for task in tasks.values())  # nothing 交账
    assert all(task.last_report_at is None for task in tasks.values())  # nobody reported
    assert list(county.repo.reports()) == []
    actions = [(entry.action, entry.note) for entry in county.repo.history(rail.id)]
    assert actions == [("imported", "下达日期 2026-09-01"), ("progress", ROWS[0][7])]
    heating_notes = [entry.note for entry in county.repo.history(heating.id)]
    assert heating_notes[-1] == "完成年度投资的45%"  # states its figure: not repeated


def test_the_same_file_twice_changes_nothing(county: Ledger) -> None:
    _import(county, county_workbook())
    history = {t.id: len(county.repo.history(t.id)) for t in county.repo.tasks()}
    again = _import(county, county_workbook()).summary
    assert (again.new, again.updated, again.notes) == ([], [], [])
    assert len(again.unchanged) == 4
    assert {t.id: len(county.repo.history(t.id)) for t in county.repo.tasks()} == history


def test_a_new_note_and_a_new_assigned_date_update_the_task(county: Ledger) -> None:
    _import(county, county_workbook())
    rows = [list(row) for row in ROWS]
    rows[0][7] = "征地全部完成，进度100%"
    rows[1][6] = date(2026, 10, 20)
    summary = _import(county, county_workbook(rows)).summary
    tasks = _by_title(county)
    rail, cement = tasks["世忻铁路复线保德段征地"], tasks["吉港冠宇水泥技改"]
    assert sorted(summary.updated) == sorted([rail.id, cement.id])
    assert summary.notes == [rail.id] and len(summary.unchanged) == 2
    assert (rail.latest_note, rail.progress, rail.status) == (rows[0][7], 100, TaskStatus.OPEN)
    assert cement.created_at == datetime(2026, 10, 20, tzinfo=TZ)
    [updated] = [e for e in county.repo.history(cement.id) if e.action == "import_updated"]
    assert updated.changes == {"created_at": ["2026-10-15", "2026-10-20"]}
    assert Messages("zh").history_what(updated) == "导入更新（下达日期）"


def test_a_task_waiting_for_verification_keeps_its_progress(county: Ledger) -> None:
    _import(county, county_workbook())
    rail = _by_title(county)["世忻铁路复线保德段征地"]
    county.repo.commit(Change(tasks=[rail.with_changes(status=TaskStatus.SUBMITTED,
                                                       progress=100)]))
    rows = [list(row) for row in ROWS]
    rows[0][7] = "进度90%，收尾中"
    _import(county, county_workbook(rows))
    rail = county.task(rail.id)
    assert (rail.status, rail.progress, rail.latest_note) == (
        TaskStatus.SUBMITTED, 100, "进度90%，收尾中")


def test_a_dry_run_counts_the_notes_and_records_nothing(county: Ledger) -> None:
    result = read_ledger_file("台账.xlsx", county_workbook(), year=Y)
    apply_import(county, result, who="督查室", dry_run=True)
    assert result.summary is not None and len(result.summary.notes) == 3
    assert list(county.repo.tasks()) == [] and list(county.repo.reports()) == []


# ---- which sheet ------------------------------------------------------------------------------


def test_several_ledger_sheets_are_a_question_and_nothing_is_read() -> None:
    data = county_workbook(second_ledger="11月台账")
    result = read_ledger_file("台账.xlsx", data, year=Y)
    assert (result.sheet_choices, result.sheet_positions) == ([LEDGER_SHEET, "11月台账"], [1, 2])
    assert result.rows == [] and not result.ok
    by_name = read_ledger_file("台账.xlsx", data, year=Y, sheet="11 月台账")  # spaces ignored
    assert (by_name.sheet, by_name.sheet_position, len(by_name.rows)) == ("11月台账", 2, 1)
    by_position = read_ledger_file("台账.xlsx", data, year=Y, sheet=1)
    assert (by_position.sheet, len(by_position.rows)) == (LEDGER_SHEET, 4)


def test_a_sheet_that_is_not_there_names_the_sheets_there_are() -> None:
    result = read_ledger_file("台账.xlsx", county_workbook(), year=Y, sheet="台账")
    assert result.sheet_error is not None and result.sheet_error.code == "no_sheet"
    text = Messages("zh").import_result(result, "台账.xlsx", preview=True)
    assert text == "❌ 文件中没有名为“台账”的工作表。现有工作表：填表说明、重点任务台账。"


def test_an_empty_template_beside_the_ledger_is_passed_over() -> None:
    data = county_workbook(second_ledger="空白模板", second_rows=[])
    result = read_ledger_file("台账.xlsx", data, year=Y)
    assert (result.sheet, result.sheet_choices) == (LEDGER_SHEET, [])


def test_a_sheet_named_that_is_not_a_ledger_says_what_it_lacks() -> None:
    result = read_ledger_file("台账.xlsx", county_workbook(), year=Y, sheet="填表说明")
    assert result.missing_columns == ["任务", "牵头单位", "责任人", "完成时限"]


# ---- what the admin reads ---------------------------------------------------------------------


def test_the_preview_names_the_sheet_the_notes_and_the_skipped_rows(county: Ledger) -> None:
    result = read_ledger_file("台账.xlsx", county_workbook(), year=Y)
    apply_import(county, result, who="督查室", dry_run=True)
    lines = Messages("zh").import_result(result, "台账.xlsx", preview=True).splitlines()
    assert lines[1] == "共 4 行：新增 4 项，更新 0 项，无变化 0 项。"
    assert lines[3:] == [
        "工作表：重点任务台账",
        "进展情况 3 项记为最新进展（12月1日），其中 2 项读出了进度。",
        "已跳过 4 行合计、落款或说明：第 8 行“合计”、第 9 行“填表人：王五 审核人：…”、"
        "第 10 行“注：1. 完成时限请填…”、第 11 行“2. 进展情况请写明完…”"]
    english = Messages("en").import_result(result, "台账.xlsx", preview=True)
    assert "Sheet: 重点任务台账" in english and "Skipped 4 row(s)" in english
    question = read_ledger_file("台账.xlsx", county_workbook(second_ledger="11月台账"), year=Y)
    assert Messages("zh").import_result(question, "台账.xlsx", preview=True, cli=True) == (
        "台账.xlsx 中有多个工作表都像台账：重点任务台账、11月台账。"
        "请加上 --sheet 工作表名称 重新运行。")


def test_deadlines_are_read_as_in_chat_on_the_import_day() -> None:
    """The one deadline reader: 一季度 imported in December is next year's 3月31日 (never this
    year's, 248 days overdue), and 月底前 is this month's end — as /add would read them."""
    data = ("任务,牵头单位,责任人,完成时限\n"
            "征地拆迁,县自然资源局,张三,一季度\n"
            "供热改造,县住建局,钱七,月底前\n").encode("utf-8-sig")
    ledger = Ledger(FakeRepository(), FixedClock(DEC1))
    result = import_ledger_file(ledger, "台账.csv", data, who="督查室", year=Y, dry_run=False)
    assert not result.errors
    deadlines = {task.title: task.deadline for task in ledger.repo.tasks()}
    assert deadlines == {"征地拆迁": date(2027, 3, 31), "供热改造": date(2026, 12, 31)}
    # A ledger of another year (`[imports] year`) places them in that year, as before:
    # 月底前 names no month then, so it is an error row there.
    other = read_ledger_file("台账.csv", data, year=2028, today=DEC1.date())
    assert [row.deadline for row in other.rows] == [date(2028, 3, 31)]
    assert [e.column for e in other.errors] == ["完成时限"]
