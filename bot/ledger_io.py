"""台账 files in and out: the one place that turns bytes into an import and tasks into a file.

Used by the chat (/import, /export) and the command line (`import`, `export`) alike.
An import is two steps: read_ledger_file (CPU only, no store: the chat runs it in a worker
thread, within a time budget) and apply_import (checks against the ledger and writes, on the
caller's thread). import_ledger_file does both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.adapters.spreadsheet import (
    MAX_ROWS,
    PARSE_SECONDS,
    Sheet,
    SheetError,
    TimeBudget,
    read_sheets,
    write_csv,
    write_xlsx,
)
from bot.domain.calendar import WorkCalendar
from bot.domain.ledger import Ledger
from bot.domain.ledger_file import (
    COLUMNS,
    EXPORT_EXTRA,
    FooterRow,
    Header,
    ParsedRow,
    RowError,
    assigned_errors,
    deadline_window_errors,
    export_row,
    find_header,
    has_tasks,
    missing_columns,
    parse_table,
)
from bot.domain.ledger_import import ImportSummary
from bot.domain.model import Task, TaskStatus
from bot.domain.warning import Light, LightBoard, overdue_workdays

EXPORT_HEADER = (*COLUMNS, *EXPORT_EXTRA)


@dataclass
class ImportResult:
    """What an import found and (unless it was a dry run or failed) did.

    `sheet` names the worksheet read when the workbook has several (`sheet_position` its
    0-based place among them); `sheet_choices` lists the worksheets that all look like the
    ledger when none was named: nothing is read then, the caller asks which (by name or by
    position, `sheet_positions`). `footer` holds the rows skipped as 合计, 填表人, 注 ….
    """

    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    sheet_error: SheetError | None = None
    summary: ImportSummary | None = None
    already_done: bool = False
    footer: list[FooterRow] = field(default_factory=list)
    sheet: str = ""
    sheet_position: int | None = None
    sheet_choices: list[str] = field(default_factory=list)
    sheet_positions: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.sheet_error is None and not self.errors and not self.missing_columns
                and not self.sheet_choices and self.summary is not None)


def read_ledger_file(filename: str, data: bytes, *, year: int, sheet: str | int | None = None,
                     today: date | None = None, seconds: float = PARSE_SECONDS,
                     monotonic: Callable[[], float] = time.monotonic) -> ImportResult:
    """Parse and validate a file; nothing is read from or written to the store.

    The ledger is the worksheet whose header names the required columns (`sheet`, a name or
    a 0-based position, reads that one only). When several do, those with rows below the
    header are the choices, and with more than one of them nothing is read: the result
    lists them in `sheet_choices`. Rows under the data that are no tasks (合计, 填表人, 注 …)
    are skipped and listed in `footer`.
    Reading and parsing together get `seconds` (on `monotonic`); past that the result holds
    SheetError("too_slow"). Safe to run in a worker thread.
    """
    result = ImportResult()
    budget = TimeBudget(seconds, monotonic)
    try:
        sheets = read_sheets(filename, data, budget=budget, sheet=sheet,
                             looks_right=lambda head: find_header(head) is not None)
        chosen = _choose(sheets, result)
        if chosen is None:
            return result
        table, header = chosen
        if sum(1 for number, _cells in table.rows if number > header.row) > MAX_ROWS:
            result.sheet_error = SheetError("too_many_rows", f"more than {MAX_ROWS} data rows")
            return result
        result.unknown_columns = list(header.unknown)
        parsed = parse_table(table.rows, header, year=year, today=today, check=budget.check)
        result.rows, result.errors, result.footer = parsed.rows, parsed.errors, parsed.footer
    except SheetError as err:
        result.rows, result.errors, result.footer = [], [], []
        result.sheet_error = err
        return result
    if not result.rows and not result.errors:
        result.sheet_error = SheetError("empty", "")
    return result


def _choose(sheets: Sequence[Sheet], result: ImportResult) -> tuple[Sheet, Header] | None:
    """The sheet to import and its header; None with `result` saying why (no header: the
    missing columns of the sheet that came closest; several candidates: the choices)."""
    found = [(sheet, header) for sheet in sheets
             if (header := find_header(sheet.rows)) is not None]
    if not found:
        best = min(sheets, key=lambda sheet: len(missing_columns(sheet.rows)))
        result.missing_columns = list(missing_columns(best.rows))
        if not result.missing_columns:
            result.sheet_error = SheetError("no_header", "")
        return None
    if len(found) > 1:
        # A sheet with nothing under its header (an empty template) and a hidden copy are
        # passed over when another candidate remains.
        for keep in (_has_data, _visible):
            if any(keep(s, h) for s, h in found):
                found = [(s, h) for s, h in found if keep(s, h)]
    if len(found) > 1:
        result.sheet_choices = [sheet.name for sheet, _header in found]
        result.sheet_positions = [sheet.position for sheet, _header in found]
        return None
    [(sheet, header)] = found
    if len(sheets) > 1 or sheet.position > 0:
        result.sheet, result.sheet_position = sheet.name, sheet.position
    return sheet, header


def _has_data(sheet: Sheet, header: Header) -> bool:
    return has_tasks(sheet.rows, header)


def _visible(sheet: Sheet, header: Header) -> bool:
    return not sheet.hidden


def apply_import(ledger: Ledger, result: ImportResult, *, who: str, dry_run: bool,
                 marker: str = "", allow_any_date: bool = False) -> ImportResult:
    """Check a read file against the ledger and import it, all or nothing (`result` is
    completed in place and returned).

    A 完成时限 in the past or more than three years ahead is an error row unless
    `allow_any_date` (or the row leaves an existing task's deadline as it is, so that an
    exported file imports again unchanged). `marker` names the source (e.g. the chat message
    of the file) so that one file is not imported twice by a second press of 确认导入.
    """
    if result.sheet_error or result.errors or result.missing_columns or result.sheet_choices:
        return result
    errors = assigned_errors(result.rows, ledger.clock.today())
    if errors:
        wrong = {error.row for error in errors}
        result.rows = [row for row in result.rows if row.row not in wrong]
        result.errors = errors
        return result
    if not allow_any_date:
        errors = deadline_window_errors(result.rows, ledger.clock.today(),
                                        unchanged=_keeps_deadline(ledger))
        if errors:
            wrong = {error.row for error in errors}
            result.rows = [row for row in result.rows if row.row not in wrong]
            result.errors = errors
            return result
    if marker and ledger.repo.counter(marker):
        result.already_done = True
        return result
    result.summary = ledger.import_rows(result.rows, who=who, dry_run=dry_run, marker=marker)
    return result


def _keeps_deadline(ledger: Ledger) -> Callable[[ParsedRow], bool]:
    """Whether a row leaves the deadline of the task it updates as it is. The task is found
    the way Ledger.import_rows finds it: by 编号, else by (任务, 牵头单位) among live tasks."""
    by_name: dict[tuple[str, str], Task] | None = None

    def unchanged(row: ParsedRow) -> bool:
        nonlocal by_name
        if row.task_id:
            task = ledger.repo.get_task(row.task_id)
        else:
            if by_name is None:
                by_name = {(t.title, t.lead_unit): t for t in ledger.repo.tasks()
                           if t.status is not TaskStatus.CANCELLED}
            task = by_name.get((row.title, row.lead_unit))
        return task is not None and task.deadline == row.deadline

    return unchanged


def import_ledger_file(ledger: Ledger, filename: str, data: bytes, *, who: str, year: int,
                       dry_run: bool, marker: str = "", allow_any_date: bool = False,
                       sheet: str | int | None = None, seconds: float = PARSE_SECONDS,
                       monotonic: Callable[[], float] = time.monotonic) -> ImportResult:
    """Read, validate and import a file; if any row is wrong nothing is imported. Deadlines
    are read as on the ledger's clock's today (一季度 in December: next year's)."""
    result = read_ledger_file(filename, data, year=year, sheet=sheet,
                              today=ledger.clock.today(), seconds=seconds,
                              monotonic=monotonic)
    return apply_import(ledger, result, who=who, dry_run=dry_run, marker=marker,
                        allow_any_date=allow_any_date)


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
    """One export row per task, with its 预警 light and 逾期天数 = 逾期N个工作日 (the one count,
    `bot.domain.warning.overdue_workdays`: live tasks past their deadline, 待核账 included)."""
    return [export_row(task, light=colours[task.id].value, today=today,
                       overdue_workdays=overdue_workdays(task, today, calendar))
            for task in tasks]


def export_filename(today: date | datetime, fmt: str = "xlsx") -> str:
    return f"台账_{today:%Y%m%d}.{fmt}"
