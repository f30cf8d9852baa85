"""A county's 台账 workbook as 督查室 keep it, built with openpyxl for the import tests.

An instructions sheet first; the ledger on the second sheet under a merged title row, with a
two-row merged header (责任分工 over 分管领导 / 牵头单位 / 责任人; 序号, 重点任务, 完成时限,
下达日期 and 进展情况 merged over both rows); 完成时限 as people write them (2026.12.31, 12月底前,
长期坚持, an Excel date, 2027年6月底); 进展情况 with and without a figure; under the data a
合计 row, a 填表人/审核人 line and a two-line 注.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import openpyxl

TITLE = "2026年县政府重点工作任务落实台账"
LEDGER_SHEET = "重点任务台账"
INSTRUCTIONS_SHEET = "填表说明"
# 序号, 重点任务, 分管领导, 牵头单位, 责任人, 完成时限, 下达日期, 进展情况, 备注
ROWS: list[list[Any]] = [
    [1, "世忻铁路复线保德段征地", "陈副县长", "县自然资源局", "张三、李四", "2026.12.31",
     date(2026, 9, 1), "已完成征地80%，正在进行地上附着物清点", ""],
    [2, "吉港冠宇水泥技改", "刘副县长", "县工信局", "王五", "12月底前",
     datetime(2026, 10, 15), "设备已进场安装，正在调试", "市级重点"],
    [3, "职业中学新校区建设", "", "县教育局", "赵六", "长期坚持", None, None, ""],
    [4, "县城集中供热管网改造", "陈副县长", "县住建局", "钱七", "2027年6月底",
     "2026年11月2日", "完成年度投资的45%", ""],
]
FOOTER = ["合计", "填表人：王五    审核人：赵六    填表日期：2026年11月30日",
          "注：1. 完成时限请填写具体日期或“长期坚持”。", "2. 进展情况请写明完成比例。"]
TITLES = [row[1] for row in ROWS]


def county_workbook(rows: list[list[Any]] | None = None, *, second_ledger: str | None = None,
                    second_rows: list[list[Any]] | None = None, footer: bool = True) -> bytes:
    """The workbook: 填表说明, then 重点任务台账 (`rows`, default ROWS). `second_ledger` adds a
    third sheet of that name in the same shape (e.g. last month's copy) with `second_rows`."""
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = INSTRUCTIONS_SHEET
    for line in ("填表说明", "1. 每月25日前更新进展情况。", "2. 责任人填写具体到人。",
                 "3. 完成时限写具体日期，常态化工作写“长期坚持”。"):
        notes.append([line])
    _ledger(book.create_sheet(LEDGER_SHEET), ROWS if rows is None else rows, footer=footer)
    if second_ledger is not None:
        second = ROWS[:1] if second_rows is None else second_rows
        _ledger(book.create_sheet(second_ledger), second, footer=footer)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _ledger(sheet: Any, rows: list[list[Any]], *, footer: bool) -> None:
    sheet.append([TITLE])
    sheet.merge_cells("A1:I1")
    sheet.append(["序号", "重点任务", "责任分工", None, None, "完成时限", "下达日期", "进展情况",
                  "备注"])
    sheet.append([None, None, "分管领导", "牵头单位", "责任人"])
    sheet.merge_cells("C2:E2")
    for column in "ABFGHI":
        sheet.merge_cells(f"{column}2:{column}3")
    for row in rows:
        sheet.append(row)
    if not footer:
        return
    last = sheet.max_row
    sheet.append(["合计", None, None, None, None, f"{len(rows)}项"])
    sheet.merge_cells(f"A{last + 1}:B{last + 1}")
    sheet.append([FOOTER[1]])
    sheet.merge_cells(f"A{last + 2}:I{last + 2}")
    sheet.append([FOOTER[2]])
    sheet.merge_cells(f"A{last + 3}:I{last + 3}")
    sheet.append([FOOTER[3]])
    sheet.merge_cells(f"A{last + 4}:I{last + 4}")
