"""台账 files in and out: the one place that turns bytes into an import and tasks into a file.

Used by the chat (/import, /export) and the command line (`import`, `export`) alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.adapters.spreadsheet import MAX_ROWS, SheetError, read_table, write_csv, write_xlsx
from bot.domain.calendar import WorkCalendar
from bot.domain.ledger import ImportSummary, Ledger
from bot.domain.ledger_file import (
    COLUMNS,
    EXPORT_EXTRA,
    ParsedRow,
    RowError,
    export_row,
    find_header,
    missing_columns,
    parse_rows,
)
from bot.domain.model import Task, TaskStatus
from bot.domain.warning import Light, LightBoard

EXPORT_HEADER = (*COLUMNS, *EXPORT_EXTRA)


@dataclass
class ImportResult:
    """What an import found and (unless it was a dry run or failed) did."""

    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    sheet_error: SheetError | None = None
    summary: ImportSummary | None = None
    already_done: bool = False

    @property
    def ok(self) -> bool:
        return (self.sheet_error is None and not self.errors and not self.missing_columns
                and self.summary is not None)


def read_ledger_file(filename: str, data: bytes, *, year: int) -> ImportResult:
    """Parse and validate a file; nothing is written."""
    result = ImportResult()
    try:
        table = read_table(filename, data)
    except SheetError as err:
        result.sheet_error = err
        return result
    header = find_header(table)
    if header is None:
        result.missing_columns = list(missing_columns(table))
        if not result.missing_columns:
            result.sheet_error = SheetError("no_header", "")
        return result
    if sum(1 for number, _cells in table if number > header.row) > MAX_ROWS:
        result.sheet_error = SheetError("too_many_rows", f"more than {MAX_ROWS} data rows")
        return result
    result.unknown_columns = list(header.unknown)
    result.rows, result.errors = parse_rows(table, header, year=year)
    if not result.rows and not result.errors:
        result.sheet_error = SheetError("empty", "")
    return result


def import_ledger_file(ledger: Ledger, filename: str, data: bytes, *, who: str, year: int,
                       dry_run: bool, marker: str = "") -> ImportResult:
    """Validate the whole file; if any row is wrong nothing is imported (all-or-nothing).

    `marker` names the source (e.g. the chat message of the file) so that one file is not
    imported twice by a second press of 确认导入."""
    result = read_ledger_file(filename, data, year=year)
    if result.sheet_error or result.errors or result.missing_columns:
        return result
    if marker and ledger.repo.counter(marker):
        result.already_done = True
        return result
    result.summary = ledger.import_rows(result.rows, who=who, dry_run=dry_run, marker=marker)
    return result


def export_ledger(ledger: Ledger, lights: LightBoard, calendar: WorkCalendar, today: date,
                  *, fmt: str = "xlsx") -> bytes:
    """Every task except cancelled ones, in 编号 order, with the derived columns."""
    tasks = exported_tasks(ledger)
    rows = export_rows(tasks, lights.all(tasks, today), calendar, today)
    if fmt == "csv":
        return write_csv(EXPORT_HEADER, rows)
    return write_xlsx(EXPORT_HEADER, rows)


def exported_tasks(ledger: Ledger) -> list[Task]:
    """The tasks an export holds: all but cancelled ones, in 编号 order."""
    return sorted((t for t in ledger.repo.tasks() if t.status is not TaskStatus.CANCELLED),
                  key=lambda t: t.id)


def export_rows(tasks: Sequence[Task], colours: Mapping[str, Light], calendar: WorkCalendar,
                today: date) -> list[list[object]]:
    """One export row per task, with its 预警 light and workdays overdue."""
    rows: list[list[object]] = []
    for task in tasks:
        overdue = 0
        if task.deadline is not None and task.deadline < today and task.live:
            overdue = calendar.workdays_between(task.deadline, today)
        rows.append(export_row(task, light=colours[task.id].value, today=today,
                               overdue_workdays=overdue))
    return rows


def export_filename(today: date | datetime, fmt: str = "xlsx") -> str:
    return f"台账_{today:%Y%m%d}.{fmt}"
