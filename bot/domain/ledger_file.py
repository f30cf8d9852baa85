"""The ledger file (台账 .xlsx / .csv): finding the header, reading rows, rendering export rows.

Pure: it works on rows of plain cell values (str, int, float, date, datetime, None) that an
adapter read from a file, and returns values an adapter writes. SPEC "Ledger file" fixes the
column names and the aliases an import accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from bot.domain.deadlines import parse_deadline_phrase
from bot.domain.errors import InvalidField
from bot.domain.model import Frequency, Task
from bot.domain.replies import read_progress
from bot.domain.text import (
    MAX_YEAR,
    MIN_YEAR,
    deadline_needs_confirmation,
    normalize,
    normalize_task_id,
    split_names,
)

COLUMNS: tuple[str, ...] = (
    "编号", "任务", "目标", "牵头单位", "责任人", "责任领导", "配合单位", "完成时限", "类别",
    "调度频次", "备注",
)  # fmt: skip
REQUIRED: tuple[str, ...] = ("任务", "牵头单位", "责任人", "完成时限")
EXPORT_EXTRA: tuple[str, ...] = ("状态", "进度", "预警", "最新进展", "最近填报", "逾期天数")
EXPORT_COLUMNS: tuple[str, ...] = COLUMNS + EXPORT_EXTRA

ALIASES: dict[str, tuple[str, ...]] = {
    "编号": ("任务编号",),
    "任务": ("工作任务", "任务名称", "事项", "重点任务"),
    "目标": ("工作目标", "目标要求", "任务要求"),
    "牵头单位": ("责任单位", "主办单位"),
    "责任人": ("具体责任人", "联系人"),
    "责任领导": ("分管领导", "包联领导"),
    "配合单位": ("协办单位",),
    "完成时限": ("时限", "完成时间", "时间节点"),
    "类别": ("任务类别", "任务来源"),
    "调度频次": ("调度频率",),
    "备注": (),
}
# Read on import only (an export does not write them): when the task was given to the ledger
# (its created_at, from which history, bulletins and scores count it) and the ledger's own
# progress column, imported as the task's latest progress note.
# And each 责任人's 钉钉 userid (staffId), in the order of the 责任人 cell: it binds them on 钉钉.
ASSIGNED, PROGRESS_NOTE, DINGTALK_ID = "下达日期", "进展情况", "钉钉UserID"
IMPORT_ONLY: dict[str, tuple[str, ...]] = {
    ASSIGNED: ("交办日期", "下达时间", "交办时间"),
    PROGRESS_NOTE: ("工作进展", "推进情况", "完成情况", "进展", "进展情况说明"),
    DINGTALK_ID: ("钉钉userid", "钉钉UserId", "钉钉ID", "钉钉id", "钉钉用户ID", "钉钉账号",
                  "UserID", "userid", "userId"),
}
USERID_MAX = 64  # a 钉钉 userid
# Recognised and skipped without a warning: the row number and what an export adds.
IGNORED_COLUMNS: tuple[str, ...] = ("序号", *EXPORT_EXTRA)

TITLE_MAX = 200  # 任务
NAME_MAX = 30  # each 责任人, 责任领导
UNIT_MAX = 60  # 牵头单位 and each 配合单位 (a lead may name two units: 县发改局、县财政局)
ERROR_VALUE_MAX = 40  # RowError.value is cut to this many characters (it goes into a message)

LIGHTS = ("红", "黄", "绿")
NO_DEADLINE_EXPORT = "长期"

_HEADER_NOISE = re.compile(r"\s+")
_REQUIRED_MARK = re.compile(r"(?:\(必填\)|\*|※)+$")
_LEADING_MARK = re.compile(r"^[*※]+")
# 调度频次 as written in ledgers → the rhythm; empty means none.
_FREQUENCIES: dict[str, Frequency] = {
    **dict.fromkeys(("每日", "每天", "日", "天", "按日", "按天"), Frequency.DAILY),
    **dict.fromkeys(("每旬", "旬", "按旬"), Frequency.XUN),
    **dict.fromkeys(("每月", "月", "按月", "月度"), Frequency.MONTHLY),
    **dict.fromkeys(("每季", "季", "每季度", "按季", "按季度", "季度"), Frequency.QUARTERLY),
}
_Fail = Callable[[str, str, str], None]  # parse_rows' per-row error collector


def header_key(text: str) -> str:
    """A header cell as compared: NFKC, no spaces or line breaks, no （必填） or * marks."""
    key = _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text))
    key = _REQUIRED_MARK.sub("", key)
    return _LEADING_MARK.sub("", key)


_CANONICAL: dict[str, str] = {header_key(name): name for name in (*COLUMNS, *IMPORT_ONLY)}
_BY_ALIAS: dict[str, str] = {
    header_key(alias): name
    for name, aliases in (*ALIASES.items(), *IMPORT_ONLY.items()) for alias in aliases
}
_IGNORED: frozenset[str] = frozenset(header_key(name) for name in IGNORED_COLUMNS)


def column_of(text: str) -> str | None:
    """The canonical column a header cell names (by name or alias), or None."""
    key = header_key(text)
    return _CANONICAL.get(key) or _BY_ALIAS.get(key)


@dataclass
class Header:
    """Where the header is and what each of its cells means.

    `columns` maps a 0-based cell index to its canonical column; `ignored` lists the header cells
    skipped on purpose (序号 and the export-only columns); `unknown` lists the other header
    cells (the importer warns about them); `duplicates` the cells naming a column another cell
    already names (the one read is the exact name if any, else the leftmost alias).
    """

    row: int
    columns: dict[int, str]
    ignored: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def index_of(self, column: str) -> int | None:
        for index, name in self.columns.items():
            if name == column:
                return index
        return None


def _read_header(number: int, cells: Sequence[object]) -> Header:
    header = Header(row=number, columns={})
    texts: dict[int, str] = {}
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip():
            texts[index] = cell
    # Exact names first, so 牵头单位 wins over a 责任单位 column elsewhere in the row.
    taken: set[str] = set()
    for table in (_CANONICAL, _BY_ALIAS):
        for index, text in texts.items():
            name = table.get(header_key(text))
            if name is None or name in taken or index in header.columns:
                continue
            header.columns[index] = name
            taken.add(name)
    for index, text in texts.items():
        if index in header.columns:
            continue
        shown = " ".join(text.split())
        if header_key(text) in _IGNORED:
            header.ignored.append(shown)
        elif column_of(text) is not None:
            header.duplicates.append(shown)
        else:
            header.unknown.append(shown)
    header.columns = dict(sorted(header.columns.items()))
    return header


def _complete(header: Header) -> bool:
    return set(REQUIRED) <= set(header.columns.values())


def find_header(rows: Sequence[tuple[int, Sequence[object]]], max_scan: int = 20) -> Header | None:
    """The first of the first `max_scan` rows that names every REQUIRED column, else None.

    Title rows above the header (a merged "2026年县政府重点工作任务台账") are passed over.
    With a two-level header (责任单位 spanning 牵头单位 | 配合单位 in the row below) the lower
    row, which names the columns cell by cell, is taken.
    """
    scanned = list(rows[:max_scan])
    for position, (number, cells) in enumerate(scanned):
        header = _read_header(number, cells)
        if not _complete(header):
            continue
        for next_number, next_cells in scanned[position + 1 :]:
            lower = _read_header(next_number, next_cells)
            if not _complete(lower):
                break
            header = lower
        return header
    return None


def missing_columns(rows: Sequence[tuple[int, Sequence[object]]], max_scan: int = 20) -> list[str]:
    """The REQUIRED columns missing from the row that looks most like a header.

    The best candidate is the first row naming the most known columns (at least two); without
    one every required column is reported. Empty when find_header would succeed.
    """
    best: Header | None = None
    for number, cells in rows[:max_scan]:
        header = _read_header(number, cells)
        if _complete(header):
            return []
        if len(header.columns) >= 2 and (best is None or len(header.columns) > len(best.columns)):
            best = header
    present = set(best.columns.values()) if best else set()
    return [name for name in REQUIRED if name not in present]


@dataclass(frozen=True)
class RowError:
    """One problem in one cell. `problem` is a key the message layer renders:

    required, deadline, deadline_year (outside MIN_YEAR–MAX_YEAR), deadline_past,
    deadline_far (see deadline_window_errors), frequency, too_long, duplicate_id, bad_id,
    assigned (下达日期 not a date), assigned_future (see assigned_errors).
    """

    row: int
    column: str
    value: str
    problem: str


@dataclass(frozen=True)
class ParsedRow:
    row: int
    task_id: str | None  # 编号, normalised; None when the file gives none
    title: str
    goal: str
    lead_unit: str
    owners: tuple[str, ...]
    leader: str
    co_units: tuple[str, ...]
    deadline: date | None  # None = 长期
    category: str
    frequency: Frequency | None
    remark: str
    assigned: date | None = None  # 下达日期: when the task entered the ledger, if given
    progress_note: str = ""  # 进展情况 as written ("" when the file has none)
    progress: int | None = None  # the figure the reply reader finds in it, if any
    dingtalk_ids: tuple[str, ...] = ()  # 钉钉UserID: one per 责任人, in their order


@dataclass(frozen=True)
class FooterRow:
    """A row below the header that is no task: 合计/小计/总计, a 填表人/审核人 line, a 注/说明
    line (and the one-text lines that continue a note). `text` is its first text, shortened."""

    row: int
    text: str


@dataclass
class ParsedTable:
    """What parse_table found below the header."""

    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    footer: list[FooterRow] = field(default_factory=list)


def cell_text(value: object) -> str:
    """A cell as text: strings stripped, 12.0 → "12", dates ISO, None → "".

    A leading apostrophe is kept: the one write_csv puts before formula-like text is taken off
    by the CSV reader, and in a workbook an apostrophe in a cell's value is really there.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_frequency(text: str) -> Frequency | None:
    """调度频次: 每日/每旬/每月/每季 and the usual variants; "" → None. Raises InvalidField."""
    key = _HEADER_NOISE.sub("", normalize(text))
    if not key:
        return None
    try:
        return _FREQUENCIES[key]
    except KeyError:
        raise InvalidField(field="frequency", value=text) from None


def parse_rows(
    rows: Sequence[tuple[int, Sequence[object]]],
    header: Header,
    *,
    year: int,
    today: date | None = None,
    check: Callable[[], None] | None = None,
) -> tuple[list[ParsedRow], list[RowError]]:
    """parse_table's rows and errors (the footer rows it skipped are left out)."""
    table = parse_table(rows, header, year=year, today=today, check=check)
    return table.rows, table.errors


def parse_table(
    rows: Sequence[tuple[int, Sequence[object]]],
    header: Header,
    *,
    year: int,
    today: date | None = None,
    check: Callable[[], None] | None = None,
) -> ParsedTable:
    """The data rows below the header → parsed rows, every error of every row, and the
    footer rows skipped (is_footer: 合计, 填表人, 注 …).

    Blank rows, rows whose known cells are all blank (a pre-numbered 序号 column), section rows
    merged across the table ("一、重大项目") and a repeated header line are skipped silently.
    A row with any error gives no ParsedRow; its errors are all reported.
    `year` is the ledger's year for deadlines that name none (12月底, 一季度). With `today` in
    that year, they are read as in chat (the one deadline reader): 一季度 imported in December
    is next year's 3月31日, 月底前 and 下周五 are read too. A deadline in a year outside
    MIN_YEAR–MAX_YEAR (0001, 9999) is always an error.
    `check` is called before each row (a time budget that raises to stop the parse).
    """
    table = ParsedTable()
    first_seen: dict[str, int] = {}
    in_note = False  # the last row was a 注/说明 line: a one-text line below continues it
    for number, cells in rows:
        if check is not None:
            check()
        if number <= header.row:
            continue
        footer = footer_text(cells, continues_note=in_note)
        if footer is not None:
            table.footer.append(FooterRow(number, _shorten(" ".join(footer.split()))))
            in_note = in_note or _is_note(footer)
            continue
        in_note = False
        raw = {
            name: (cells[index] if index < len(cells) else None)
            for index, name in header.columns.items()
        }
        texts = {name: cell_text(value) for name, value in raw.items()}
        if _skip(texts):
            continue
        row, row_errors = _parse_row(number, raw, texts, year=year, today=today,
                                     first_seen=first_seen)
        if row is not None:
            table.rows.append(row)
        table.errors.extend(row_errors)
    return table


# Footer rows, told by the row's first text: totals (spaces inside ignored: 合 计), signature
# lines and notes. A signature word or 注 counts only alone or followed by a colon, a space, a
# number: 填表人：王五, 注：1. …, but not 注册资本金 or 负责人培训.
_TOTAL = re.compile(r"^(?:合计|小计|总计|共计)(?:$|[:：(（\d])")
_SIGNATURE = re.compile(
    r"^(?:填表人|填报人|制表人|审核人|审批人|签发人|单位负责人|负责人|联系人|联系电话|填表单位"
    r"|填报单位|填表日期|填报日期|制表日期|报送日期)\s*(?:$|[:：]|\s)")
_NOTE = re.compile(r"^(?:注|说明|附注|备注)\s*(?:$|[:：]|\d|[一二三四五六七八九]?[、.．])")


def footer_text(cells: Sequence[object], *, continues_note: bool = False) -> str | None:
    """The row's first text when the row is a footer, not a task: 合计/小计/总计, a
    填表人/审核人 line, a 注/说明 line; with `continues_note` (the row above was a note), also a
    row of one text only (a merged line: "2. 本表数据截至…"). None for any other row."""
    filled = [text for text in (cell_text(cell) for cell in cells) if text]
    if not filled:
        return None
    first = unicodedata.normalize("NFKC", filled[0])
    if (_TOTAL.match(_HEADER_NOISE.sub("", first)) or _SIGNATURE.match(first)
            or _NOTE.match(first)):
        return filled[0]
    if continues_note and len(set(filled)) == 1:
        return filled[0]
    return None


def has_tasks(rows: Sequence[tuple[int, Sequence[object]]], header: Header) -> bool:
    """Whether any row under the header may be a task: not a footer row (as parse_table
    tells them), not blank in every column the header names (an empty template)."""
    in_note = False
    for number, cells in rows:
        if number <= header.row:
            continue
        footer = footer_text(cells, continues_note=in_note)
        if footer is not None:
            in_note = in_note or _is_note(footer)
            continue
        texts = {name: cell_text(cells[index] if index < len(cells) else None)
                 for index, name in header.columns.items()}
        if not _skip(texts):
            return True
        in_note = False
    return False


def _is_note(text: str) -> bool:
    return _NOTE.match(unicodedata.normalize("NFKC", text)) is not None


def _parse_row(
    number: int,
    raw: dict[str, object],
    texts: dict[str, str],
    *,
    year: int,
    today: date | None,
    first_seen: dict[str, int],
) -> tuple[ParsedRow | None, list[RowError]]:
    row_errors: list[RowError] = []

    def fail(column: str, value: str, problem: str) -> None:
        row_errors.append(RowError(number, column, _shorten(value), problem))

    task_id = _read_id(texts.get("编号", ""), fail)
    if task_id is not None:
        if task_id in first_seen:
            fail("编号", task_id, "duplicate_id")
        else:
            first_seen[task_id] = number

    title = texts.get("任务", "")
    if not title:
        fail("任务", title, "required")
    elif len(title) > TITLE_MAX:
        fail("任务", title, "too_long")

    lead_unit = texts.get("牵头单位", "")
    if not lead_unit:
        fail("牵头单位", lead_unit, "required")
    elif len(lead_unit) > UNIT_MAX:
        fail("牵头单位", lead_unit, "too_long")

    owners = split_names(texts.get("责任人", ""))
    if not owners:
        fail("责任人", texts.get("责任人", ""), "required")
    for name in owners:
        if len(name) > NAME_MAX:
            fail("责任人", name, "too_long")

    leader = texts.get("责任领导", "")
    if len(leader) > NAME_MAX:
        fail("责任领导", leader, "too_long")

    co_units = split_names(texts.get("配合单位", ""))
    for unit in co_units:
        if len(unit) > UNIT_MAX:
            fail("配合单位", unit, "too_long")

    deadline: date | None = None
    if not texts.get("完成时限", ""):
        fail("完成时限", "", "required")
    else:
        try:
            deadline = parse_deadline_phrase(raw.get("完成时限"), year=year, today=today)
        except InvalidField:
            fail("完成时限", texts["完成时限"], "deadline")
        else:
            if deadline is not None and not MIN_YEAR <= deadline.year <= MAX_YEAR:
                fail("完成时限", _deadline_shown(texts["完成时限"], deadline), "deadline_year")
                deadline = None

    frequency: Frequency | None = None
    try:
        frequency = parse_frequency(texts.get("调度频次", ""))
    except InvalidField:
        fail("调度频次", texts.get("调度频次", ""), "frequency")

    assigned: date | None = None
    if texts.get(ASSIGNED, ""):
        try:
            assigned = parse_deadline_phrase(raw.get(ASSIGNED), year=year)
        except InvalidField:
            assigned = None
        if assigned is None or not MIN_YEAR <= assigned.year <= MAX_YEAR:
            fail(ASSIGNED, texts[ASSIGNED], "assigned")
            assigned = None

    dingtalk_ids = _dingtalk_ids(texts.get(DINGTALK_ID, ""), owners, fail)
    note = texts.get(PROGRESS_NOTE, "")
    if row_errors:
        return None, row_errors
    row = ParsedRow(
        row=number,
        task_id=task_id,
        title=title,
        goal=texts.get("目标", ""),
        lead_unit=lead_unit,
        owners=owners,
        leader=leader,
        co_units=co_units,
        deadline=deadline,
        category=texts.get("类别", ""),
        frequency=frequency,
        remark=texts.get("备注", ""),
        assigned=assigned,
        progress_note=note,
        progress=read_progress(note) if note else None,
        dingtalk_ids=dingtalk_ids,
    )
    return row, []


def _dingtalk_ids(text: str, owners: tuple[str, ...], fail: _Fail) -> tuple[str, ...]:
    """The 钉钉UserID cell: one userid per 责任人 (separated as they are), or none at all."""
    ids = tuple(dict.fromkeys(part for part in re.split(r"[、，,;；/\s]+", normalize(text))
                              if part))
    if ids and owners and len(ids) != len(owners):
        fail(DINGTALK_ID, text, "dingtalk_ids")
    for userid in ids:
        if len(userid) > USERID_MAX:
            fail(DINGTALK_ID, userid, "too_long")
    return ids


def _skip(texts: dict[str, str]) -> bool:
    filled = [text for text in texts.values() if text]
    if not filled:
        return True
    # A section row ("一、重大项目建设") merged across the table reads the same in every cell.
    if len(filled) >= 3 and len(set(filled)) == 1 and len(filled) == len(texts):
        return True
    # The header line repeated (a file pasted together from printed pages).
    return all(column_of(texts.get(name, "")) == name for name in REQUIRED)


def _read_id(text: str, fail: _Fail) -> str | None:
    """编号 as every command reads it (normalize_task_id): what an import stores, /task finds.

    T-numbers of any length (T7 → T0007, T1000000), other ids upper-cased (a-12 → A-12).
    """
    if not text:
        return None
    task_id = normalize_task_id(text)
    if task_id is None:
        fail("编号", text, "bad_id")
    return task_id


def _deadline_shown(text: str, deadline: date) -> str:
    """The 完成时限 as written, with the date it was read as when that is not the same."""
    shown = deadline.isoformat()
    return shown if text in (shown, "") else f"{text}（{shown}）"


def deadline_window_errors(
    rows: Sequence[ParsedRow],
    today: date,
    *,
    unchanged: Callable[[ParsedRow], bool] = lambda row: False,
) -> list[RowError]:
    """A RowError for each deadline before `today` (deadline_past) or more than
    FAR_AHEAD_YEARS years after it (deadline_far): a typo more often than not (2206, 2016).

    `unchanged(row)` says the row leaves an existing task's deadline as it is (an exported
    file imported again): such a row is not asked about. The import skips this check when the
    admin allowed any date.
    """
    errors: list[RowError] = []
    for row in rows:
        problem = deadline_needs_confirmation(row.deadline, today)
        if problem is None or unchanged(row):
            continue
        assert row.deadline is not None
        errors.append(RowError(row.row, "完成时限", row.deadline.isoformat(),
                               f"deadline_{problem}"))
    return errors


def assigned_errors(rows: Sequence[ParsedRow], today: date) -> list[RowError]:
    """A RowError for each 下达日期 after `today` (assigned_future): a task cannot have entered
    the ledger on a day still to come. Not lifted by allowing any 完成时限."""
    return [RowError(row.row, ASSIGNED, row.assigned.isoformat(), "assigned_future")
            for row in rows if row.assigned is not None and row.assigned > today]


def _shorten(value: str) -> str:
    return value if len(value) <= ERROR_VALUE_MAX else value[: ERROR_VALUE_MAX - 1] + "…"


def export_row(
    task: Task,
    *,
    light: str,
    today: date,
    overdue_workdays: int,
    tz: tzinfo | None = None,
) -> list[object]:
    """A task as one export row, in the order EXPORT_COLUMNS (COLUMNS + EXPORT_EXTRA).

    完成时限 is a date (or 长期); 最近填报 a naive datetime in local time (converted to `tz` when
    given, else the wall time it was stored with) or ""; 逾期天数 is `overdue_workdays` for a live
    task past its deadline, else 0. parse_rows reads the row back to the same fields.
    """
    if light not in LIGHTS:
        raise ValueError(f"light must be one of {LIGHTS}, not {light!r}")
    reported: datetime | str = ""
    if task.last_report_at is not None:
        stamp = task.last_report_at
        if tz is not None and stamp.tzinfo is not None:
            stamp = stamp.astimezone(tz)
        reported = stamp.replace(tzinfo=None, microsecond=0)
    overdue = task.live and task.deadline is not None and task.deadline < today
    return [
        task.id,
        task.title,
        task.goal,
        task.lead_unit,
        "、".join(task.owners),
        task.leader,
        "、".join(task.co_units),
        task.deadline if task.deadline is not None else NO_DEADLINE_EXPORT,
        task.category,
        task.frequency.value if task.frequency else "",
        task.remark,
        task.status.value,
        int(task.progress),
        light,
        task.latest_note,
        reported,
        max(0, int(overdue_workdays)) if overdue else 0,
    ]
