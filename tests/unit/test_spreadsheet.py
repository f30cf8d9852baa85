"""The spreadsheet adapter: real-shaped (messy) workbooks and CSV files in, ledger files out."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.adapters.spreadsheet import (
    MAX_BYTES,
    MAX_ROWS,
    MAX_ROWS_ABOVE_DATA,
    SheetError,
    read_sheets,
    read_table,
    write_csv,
    write_xlsx,
)
from bot.domain.ledger_file import (
    EXPORT_COLUMNS,
    ParsedRow,
    export_row,
    find_header,
    missing_columns,
    parse_rows,
)
from bot.domain.model import Frequency, Task, TaskStatus

CST = timezone(timedelta(hours=8))
TITLE = "2026年县政府重点工作任务台账"
HEADER = ["序号", "编号", "重点任务", "工作目标", "责任单位", "具体责任人", "分管领导",
          "配合单位", "完成时限", "调度频次", "备注"]  # fmt: skip


def _xlsx(build: Callable[[Worksheet], None]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    build(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _patch(data: bytes, part: str, edit: Callable[[str], str]) -> bytes:
    """Rewrite one XML part of an .xlsx, as another program might have written it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == part:
                edited = edit(content.decode("utf-8"))
                assert edited != content.decode("utf-8"), "the patch did not apply"
                content = edited.encode("utf-8")
            target.writestr(item, content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def _messy_ledger(sheet: Worksheet) -> None:
    sheet.title = "台账"
    sheet["A1"] = TITLE
    sheet.merge_cells("A1:K1")
    sheet["A2"] = "填报单位：县政府督查室"
    sheet["I2"] = "填报时间：2026年1月5日"
    sheet.append(HEADER)  # row 3
    sheet.append([1, "T1", "世忻铁路复线保德段征地", "完成主体征地", "县自然资源局", "张三、李四",
                  "陈副县长", "县林业局", "12月底前", "每旬", ""])  # fmt: skip
    sheet.append([2, "T2", "中医院迁建项目一期工程", "主体封顶", None, "吴九", "陈副县长",
                  None, date(2026, 11, 24), "每月", None])  # fmt: skip
    sheet.append([3, "T3", "老旧小区改造", "改造12个小区", None, "王五 赵六", "刘副县长",
                  "县财政局、县住建局", "2026年三季度", None, "  "])  # fmt: skip
    sheet.merge_cells("E4:E6")  # one 责任单位 for three tasks
    sheet["E4"] = "县发改局"
    # row 7 is blank
    sheet["A8"] = "=ROW()-4"
    sheet["B8"] = "T4"
    sheet["C8"] = "农村饮水安全巩固提升"
    sheet["E8"] = "=E4"
    sheet["F8"] = "孙七"
    sheet["I8"] = "长期"
    sheet["K8"] = "=NOW()"  # no cached value: reads as empty
    sheet.column_dimensions["M"].width = 30  # formatting beyond the data does not count
    sheet["M20"].number_format = "yyyy-mm-dd"


def _with_cached_values(data: bytes) -> bytes:
    """openpyxl writes formulas without results; Excel stores the last result in <v>."""

    def edit(xml: str) -> str:
        xml = xml.replace(
            '<c r="A8"><f>ROW()-4</f><v /></c>', '<c r="A8"><f>ROW()-4</f><v>4</v></c>'
        )
        return xml.replace(
            '<c r="E8"><f>E4</f><v /></c>', '<c r="E8" t="str"><f>E4</f><v>县发改局</v></c>'
        )

    return _patch(data, SHEET, edit)


@pytest.fixture(scope="module")
def messy() -> bytes:
    return _with_cached_values(_xlsx(_messy_ledger))


def test_messy_workbook_rows(messy: bytes) -> None:
    rows = read_table("2026年重点工作台账.xlsx", messy)
    assert [number for number, _ in rows] == [1, 2, 3, 4, 5, 6, 8]  # blank row 7 left out
    by_number = dict(rows)
    assert by_number[1] == [TITLE] * 11  # the merged title reads in every cell
    assert by_number[2][0] == "填报单位：县政府督查室"
    assert by_number[3] == HEADER
    assert [by_number[n][4] for n in (4, 5, 6)] == ["县发改局"] * 3  # the merged 责任单位
    assert by_number[5][8] == datetime(2026, 11, 24)
    assert by_number[6][10:] == []  # "  " at the end is trimmed
    assert by_number[8][0] == 4  # formulas read as their cached values
    assert by_number[8][4] == "县发改局"
    assert len(by_number[8]) == 9  # =NOW() without a cached value is empty and trimmed


def test_messy_workbook_parses(messy: bytes) -> None:
    rows = read_table("台账.xlsx", messy)
    header = find_header(rows)
    assert header is not None and header.row == 3 and header.unknown == []
    parsed, errors = parse_rows(rows, header, year=2026)
    assert errors == []
    assert parsed == [
        ParsedRow(4, "T0001", "世忻铁路复线保德段征地", "完成主体征地", "县发改局",
                  ("张三", "李四"), "陈副县长", ("县林业局",), date(2026, 12, 31), "",
                  Frequency.XUN, ""),
        ParsedRow(5, "T0002", "中医院迁建项目一期工程", "主体封顶", "县发改局", ("吴九",),
                  "陈副县长", (), date(2026, 11, 24), "", Frequency.MONTHLY, ""),
        ParsedRow(6, "T0003", "老旧小区改造", "改造12个小区", "县发改局", ("王五", "赵六"),
                  "刘副县长", ("县财政局", "县住建局"), date(2026, 9, 30), "", None, ""),
        ParsedRow(8, "T0004", "农村饮水安全巩固提升", "", "县发改局", ("孙七",), "", (), None,
                  "", None, ""),
    ]  # fmt: skip


def test_the_active_sheet_is_read() -> None:
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "填表说明"
    notes["A1"] = "请按模板填写"
    ledger = workbook.create_sheet("台账")
    ledger.append(["任务", "牵头单位", "责任人", "完成时限"])
    workbook.active = 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_table("a.xlsx", buffer.getvalue()) == [
        (1, ["任务", "牵头单位", "责任人", "完成时限"])
    ]


def test_a_wrong_dimension_does_not_cut_the_data() -> None:
    data = _xlsx(lambda s: [s.append(["任务", "牵头单位", "责任人", "完成时限"]),
                            s.append(["任务甲", "县发改局", "张三", "年底"])])  # fmt: skip
    data = _patch(
        data, SHEET, lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1"', xml)
    )
    assert read_table("a.xlsm", data) == [
        (1, ["任务", "牵头单位", "责任人", "完成时限"]),
        (2, ["任务甲", "县发改局", "张三", "年底"]),
    ]


def test_a_table_that_starts_further_down_and_right() -> None:
    def build(sheet: Worksheet) -> None:
        sheet["C5"], sheet["D5"] = "任务", "牵头单位"
        sheet["C6"], sheet["D6"] = "任务甲", "县发改局"

    data = _xlsx(build)
    assert '<dimension ref="C5:D6"' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET).decode()
    assert read_table("a.xlsx", data) == [
        (5, [None, None, "任务", "牵头单位"]),
        (6, [None, None, "任务甲", "县发改局"]),
    ]


def test_a_huge_merged_range_is_clipped_to_the_data() -> None:
    def build(sheet: Worksheet) -> None:
        for row in range(1, 6):
            sheet.append([f"a{row}", f"b{row}", f"c{row}" if row < 2 else None])

    merge = '<mergeCells count="1"><mergeCell ref="C1:XFD1048576"/></mergeCells>'
    data = _patch(
        _xlsx(build), SHEET, lambda xml: xml.replace("</sheetData>", "</sheetData>" + merge)
    )
    rows = read_table("a.xlsx", data)  # a merge over a whole column is clipped, not expanded
    assert rows == [(n, [f"a{n}", f"b{n}", "c1"]) for n in range(1, 6)]


def test_merged_cells_over_blank_rows() -> None:
    def build(sheet: Worksheet) -> None:
        sheet.append(["任务", "牵头单位", "责任人", "完成时限"])
        sheet.append(["任务甲", "县发改局", "张三", "年底"])
        sheet.merge_cells("B2:B5")  # row 3 is blank but inside the merged block
        sheet["C4"] = "王五"

    rows = read_table("a.xlsx", _xlsx(build))
    assert rows == [
        (1, ["任务", "牵头单位", "责任人", "完成时限"]),
        (2, ["任务甲", "县发改局", "张三", "年底"]),
        (3, [None, "县发改局"]),
        (4, [None, "县发改局", "王五"]),
    ]  # row 5 lies below the data


# -- CSV ----------------------------------------------------------------------------------------

CSV_TEXT = (
    "序号,任务,牵头单位,责任人,完成时限\r\n"
    "1,世忻铁路复线保德段征地,县自然资源局,张三、李四,12月底\r\n"
)
CSV_ROWS = [
    (1, ["序号", "任务", "牵头单位", "责任人", "完成时限"]),
    (2, ["1", "世忻铁路复线保德段征地", "县自然资源局", "张三、李四", "12月底"]),
]


def test_csv_gbk() -> None:
    assert read_table("台账.csv", CSV_TEXT.encode("gbk")) == CSV_ROWS


def test_csv_gb18030_beyond_gbk() -> None:
    text = CSV_TEXT.replace("张三", "𠀀三")  # a CJK Extension B name, not in GBK
    assert read_table("a.csv", text.encode("gb18030"))[1][1][3] == "𠀀三、李四"


def test_csv_utf8_with_and_without_bom() -> None:
    assert read_table("a.csv", codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8")) == CSV_ROWS
    assert read_table("a.CSV", CSV_TEXT.encode("utf-8")) == CSV_ROWS


def test_csv_utf16() -> None:
    assert read_table("a.csv", CSV_TEXT.encode("utf-16")) == CSV_ROWS


def test_csv_semicolon_and_tab() -> None:
    semicolon = CSV_TEXT.replace(",", ";").replace("张三、李四", "张三,李四")
    rows = read_table("a.csv", semicolon.encode("utf-8"))
    assert rows[1][1][3] == "张三,李四" and len(rows[0][1]) == 5
    tab = CSV_TEXT.replace(",", "\t")
    assert read_table("a.csv", tab.encode("utf-8")) == CSV_ROWS


def test_csv_blank_lines_quotes_and_short_rows() -> None:
    text = (
        '任务,牵头单位,责任人,完成时限,备注\n\n,,,,\n"多行\n任务",县发改局,张三,年底,\n'
        "任务乙,县财政局\n"
    )
    rows = read_table("a.csv", text.encode("utf-8"))
    assert rows == [
        (1, ["任务", "牵头单位", "责任人", "完成时限", "备注"]),
        (4, ["多行\n任务", "县发改局", "张三", "年底"]),
        (5, ["任务乙", "县财政局"]),
    ]


def test_csv_that_is_no_known_encoding() -> None:
    with pytest.raises(SheetError) as caught:
        read_table("a.csv", "任务,牵头单位\n".encode() + b"\xff\x80\xff\n")
    assert caught.value.code == "encoding"


def test_csv_empty() -> None:
    for data in (b"", b"\r\n\r\n", codecs.BOM_UTF8 + b" ,, \n"):
        with pytest.raises(SheetError) as caught:
            read_table("a.csv", data)
        assert caught.value.code == "empty"


# -- refusals -----------------------------------------------------------------------------------


def _code(filename: str, data: bytes) -> str:
    with pytest.raises(SheetError) as caught:
        read_table(filename, data)
    return caught.value.code


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def test_a_renamed_pdf() -> None:
    assert _code("台账.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n") == "not_spreadsheet"
    assert _code("台账.csv", b"%PDF-1.7\n") == "not_spreadsheet"


def test_a_broken_zip(messy: bytes) -> None:
    assert _code("a.xlsx", b"PK\x03\x04" + b"\x00" * 100) == "broken"
    assert _code("a.xlsx", messy[: len(messy) // 2]) == "broken"
    assert _code("a.xlsx", b"PK\x05\x06" + b"\x00" * 18) == "broken"
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert _code("a.xlsx", plain_zip.getvalue()) == "broken"


def test_a_word_document_named_xlsx() -> None:
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert _code("a.xlsx", docx.getvalue()) == "not_spreadsheet"


def test_an_encrypted_workbook() -> None:
    # A password-protected .xlsx is an OLE2 compound file with an EncryptedPackage stream.
    data = OLE2 + b"\x00" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 50
    data += "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1000
    with pytest.raises(SheetError) as caught:
        read_table("台账.xlsx", data)
    assert (caught.value.code, caught.value.detail) == ("encrypted", "EncryptedPackage")


def test_an_old_xls_file() -> None:
    data = OLE2 + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 1000
    assert _code("台账.xlsx", data) == "not_spreadsheet"
    with pytest.raises(SheetError) as caught:
        read_table("台账.xls", data)
    assert (caught.value.code, caught.value.detail) == ("not_spreadsheet", "xls")


@pytest.mark.parametrize("filename", ["台账.txt", "台账.numbers", "台账", "台账.xlsx.pdf", ""])
def test_other_extensions(filename: str) -> None:
    assert _code(filename, CSV_TEXT.encode("utf-8")) == "not_spreadsheet"


def test_a_workbook_named_csv_is_read_as_a_workbook(messy: bytes) -> None:
    assert read_table("台账.csv", messy) == read_table("台账.xlsx", messy)


def test_not_a_zip_at_all() -> None:
    assert _code("a.xlsx", "任务,牵头单位".encode()) == "not_spreadsheet"


def test_an_empty_sheet() -> None:
    assert _code("a.xlsx", _xlsx(lambda sheet: None)) == "empty"
    formatted_only = _xlsx(lambda s: setattr(s["C5"], "number_format", "yyyy-mm-dd"))
    assert _code("a.xlsx", formatted_only) == "empty"
    assert _code("a.xlsx", _xlsx(lambda s: s.append([None, "  ", ""]))) == "empty"
    assert _code("a.xlsx", b"") == "empty"


def test_too_big_is_checked_first() -> None:
    assert _code("a.xlsx", b"\x00" * (MAX_BYTES + 1)) == "too_big"
    assert _code("a.txt", b"\x00" * (MAX_BYTES + 1)) == "too_big"


def test_too_many_rows_csv() -> None:
    head = "任务,牵头单位,责任人,完成时限\n"
    at_limit = (head + "任务,单位,张三,年底\n" * MAX_ROWS).encode()
    assert len(read_table("a.csv", at_limit)) == MAX_ROWS + 1
    over = (head + "任务,单位,张三,年底\n" * (MAX_ROWS + MAX_ROWS_ABOVE_DATA)).encode()
    assert _code("a.csv", over) == "too_many_rows"


def test_too_many_rows_xlsx() -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    sheet.append(["任务", "牵头单位", "责任人", "完成时限"])
    for _ in range(MAX_ROWS + MAX_ROWS_ABOVE_DATA):
        sheet.append(["任务"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert _code("a.xlsx", buffer.getvalue()) == "too_many_rows"


def test_sheet_error_codes() -> None:
    error = SheetError("broken", "zip: bad")
    assert (error.code, error.detail, str(error)) == ("broken", "zip: bad", "broken: zip: bad")
    assert "too_many_rows" in SheetError.CODES


# -- writing ------------------------------------------------------------------------------------


def _task(**changes: object) -> Task:
    task = Task(
        id="T0007",
        title="世忻铁路复线保德段征地",
        lead_unit="县自然资源局",
        owners=("张三", "李四"),
        deadline=date(2026, 12, 31),
        created_at=datetime(2026, 1, 5, 9, 0, tzinfo=CST),
        goal="完成主体征地",
        leader="陈副县长",
        co_units=("县财政局",),
        category="重大项目",
        frequency=Frequency.XUN,
        progress=60,
        latest_note="完成主体征地",
        last_report_at=datetime(2026, 12, 3, 10, 15, tzinfo=CST),
    )
    return task.with_changes(**changes)


TASKS = [
    _task(),
    _task(id="T0012", title="中医院迁建项目一期工程", deadline=date(2026, 11, 24), owners=("吴九",),
          status=TaskStatus.SUBMITTED, frequency=None, remark="=HYPERLINK(\"x\")"),
    _task(id="A-3", title="-5%能耗", deadline=None, co_units=(), last_report_at=None,
          goal="+1", leader="", remark="+SUM(A1)", category="@县委"),
]  # fmt: skip
LIGHTS = ["黄", "红", "绿"]


def _export_rows() -> list[list[object]]:
    today = date(2026, 11, 27)
    return [
        export_row(task, light=light, today=today, overdue_workdays=3)
        for task, light in zip(TASKS, LIGHTS, strict=True)
    ]


def test_write_xlsx_reads_back_styled() -> None:
    data = write_xlsx(EXPORT_COLUMNS, _export_rows())
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet.title == "台账"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:Q4"
    assert [cell.value for cell in sheet[1]] == list(EXPORT_COLUMNS)
    assert all(cell.font.bold for cell in sheet[1])
    deadline, reported = sheet["H2"], sheet["P2"]
    assert deadline.value == datetime(2026, 12, 31) and deadline.number_format == "yyyy-mm-dd"
    assert reported.value == datetime(2026, 12, 3, 10, 15)
    assert reported.number_format == "yyyy-mm-dd hh:mm"
    assert sheet["H4"].value == "长期" and sheet["P4"].value is None
    fills = {sheet[f"N{row}"].value: sheet[f"N{row}"].fill.fgColor.rgb for row in (2, 3, 4)}
    assert fills == {"黄": "00FFEB9C", "红": "00FFC7CE", "绿": "00C6EFCE"}
    assert sheet["M2"].value == 60 and sheet["Q3"].value == 3
    # text that looks like a formula stays text
    assert sheet["K3"].value == '=HYPERLINK("x")' and sheet["K3"].data_type == "s"
    widths = {col: sheet.column_dimensions[col].width for col in "ABH"}
    assert widths["B"] > widths["A"] and 10 <= widths["H"] <= 14
    assert max(d.width for d in sheet.column_dimensions.values()) <= 50


def test_write_xlsx_empty_and_odd_values() -> None:
    data = write_xlsx(["任务", "备注"], [["a\x01b", None], ["x" * 40_000, 1.5]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet["A2"].value == "ab" and sheet["B2"].value is None
    assert len(sheet["A3"].value) == 32_767 and sheet["B3"].value == 1.5
    empty = load_workbook(io.BytesIO(write_xlsx(EXPORT_COLUMNS, []))).active
    assert empty is not None and empty.max_row == 1


def _parsed_fields(row: ParsedRow) -> tuple[object, ...]:
    return (row.task_id, row.title, row.goal, row.lead_unit, row.owners, row.leader,
            row.co_units, row.deadline, row.category, row.frequency, row.remark)  # fmt: skip


def _task_fields(task: Task) -> tuple[object, ...]:
    return (task.id, task.title, task.goal, task.lead_unit, task.owners, task.leader,
            task.co_units, task.deadline, task.category, task.frequency, task.remark)  # fmt: skip


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_export_file_imports_again_unchanged(kind: str) -> None:
    writer = write_xlsx if kind == "xlsx" else write_csv
    rows = read_table(f"导出.{kind}", writer(EXPORT_COLUMNS, _export_rows()))
    header = find_header(rows)
    assert header is not None and header.unknown == [] and missing_columns(rows) == []
    parsed, errors = parse_rows(rows, header, year=2026)
    assert errors == []
    assert [_parsed_fields(p) for p in parsed] == [_task_fields(t) for t in TASKS]


def test_write_csv() -> None:
    data = write_csv(EXPORT_COLUMNS, _export_rows())
    assert data.startswith(codecs.BOM_UTF8)
    text = data[3:].decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    assert lines[1].split(",")[7] == "2026-12-31"
    assert "2026-12-03 10:15" in lines[1]
    # text Excel would run as a formula is quoted; a plain number is not
    assert "'=HYPERLINK" in lines[2] and ",'-5%能耗," in lines[3] and ",'+SUM(A1)," in lines[3]
    assert ",'@县委," in lines[3] and ",+1," in lines[3]
    assert write_csv(["a"], [[-5], ["-5"], [None]]) == codecs.BOM_UTF8 + b'a\r\n-5\r\n-5\r\n""\r\n'


def test_ten_thousand_rows_round_trip() -> None:
    """Speed is measured in make bench; here: 10,000 rows write, read and parse back."""
    base = export_row(TASKS[0], light="绿", today=date(2026, 11, 27), overdue_workdays=0)
    rows = [[f"T{n:04d}", *base[1:13], LIGHTS[n % 3], *base[14:]] for n in range(1, 10_001)]
    data = write_xlsx(EXPORT_COLUMNS, rows)
    table = read_table("a.xlsx", data)
    header = find_header(table)
    assert header is not None
    parsed, errors = parse_rows(table, header, year=2026)
    assert len(parsed) == len(rows) and errors == []


def test_title_rows_do_not_count_against_the_row_limit() -> None:
    from bot.ledger_io import read_ledger_file

    titles = "2026年县政府重点工作任务台账\n（截至12月1日）\n任务,牵头单位,责任人,完成时限\n"
    full = (titles + "任务,县发改局,张三,年底\n" * MAX_ROWS).encode()
    result = read_ledger_file("a.csv", full, year=2026)
    assert result.sheet_error is None and len(result.rows) == MAX_ROWS
    over = (titles + "任务,县发改局,张三,年底\n" * (MAX_ROWS + 1)).encode()
    error = read_ledger_file("a.csv", over, year=2026).sheet_error
    assert error is not None and error.code == "too_many_rows"


# ---- every worksheet: read_sheets (issue 14, item 6) --------------------------------------------


def _book(*sheets: tuple[str, list[list[object]]], hidden: str = "") -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title == hidden:
            sheet.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


LEDGER_ROWS: list[list[object]] = [["任务", "牵头单位", "责任人", "完成时限"],
                                   *[[f"任务{i}", "县发改局", "张三", "长期"] for i in range(40)]]
NOTES_ROWS: list[list[object]] = [[f"第{i}条说明"] for i in range(40)]


def _is_ledger(head: list[tuple[int, list[object]]]) -> bool:
    return any(cells[:1] == ["任务"] for _number, cells in head)


def test_read_sheets_reads_past_the_head_only_the_sheets_that_look_right() -> None:
    data = _book(("说明", NOTES_ROWS), ("台账", LEDGER_ROWS), ("隐藏", LEDGER_ROWS), hidden="隐藏")
    notes, ledger, hidden = read_sheets("台账.xlsx", data, looks_right=_is_ledger)
    assert (notes.name, notes.position, notes.complete, len(notes.rows)) == (
        "说明", 0, False, MAX_ROWS_ABOVE_DATA)
    assert (ledger.name, ledger.position, ledger.complete, len(ledger.rows)) == (
        "台账", 1, True, 41)
    assert (hidden.hidden, ledger.hidden) == (True, False)


def test_read_sheets_by_name_or_position() -> None:
    data = _book(("说明", NOTES_ROWS), ("Sheet 2", LEDGER_ROWS))
    [by_name] = read_sheets("台账.xlsx", data, sheet="ｓｈｅｅｔ２")  # width, case, spaces
    [by_position] = read_sheets("台账.xlsx", data, sheet=0, looks_right=_is_ledger)
    assert (by_name.name, len(by_name.rows)) == ("Sheet 2", 41)
    assert (by_position.name, by_position.complete, len(by_position.rows)) == ("说明", True, 40)
    with pytest.raises(SheetError) as raised:
        read_sheets("台账.xlsx", data, sheet="台账")
    assert (raised.value.code, raised.value.detail, raised.value.sheets) == (
        "no_sheet", "台账", ("说明", "Sheet 2"))
    with pytest.raises(SheetError, match="no_sheet"):
        read_sheets("台账.xlsx", data, sheet=5)


def test_read_sheets_fills_merged_cells_before_asking() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["重点任务", "责任分工", None, "完成时限"])
    sheet.append([None, "牵头单位", "责任人"])
    sheet.merge_cells("A1:A2")
    sheet.merge_cells("D1:D2")
    sheet.merge_cells("B1:C1")
    out = io.BytesIO()
    book.save(out)
    seen: list[list[object]] = []

    def looks_right(head: list[tuple[int, list[object]]]) -> bool:
        seen.extend(cells for _number, cells in head)
        return False

    read_sheets("台账.xlsx", out.getvalue(), looks_right=looks_right)
    assert seen == [["重点任务", "责任分工", "责任分工", "完成时限"],
                    ["重点任务", "牵头单位", "责任人", "完成时限"]]


def test_a_csv_is_one_sheet_without_a_name() -> None:
    [sheet] = read_sheets("台账.csv", "任务,牵头单位\n甲,县发改局\n".encode())
    assert (sheet.name, sheet.position, sheet.rows) == ("", 0, [(1, ["任务", "牵头单位"]),
                                                               (2, ["甲", "县发改局"])])
