"""Reading and writing ledger files: .xlsx (openpyxl) and .csv.

read_table turns an uploaded file into rows of plain cell values with their sheet row numbers;
bot.domain.ledger_file makes sense of them. write_xlsx / write_csv render export rows.
Failures raise SheetError with a short code the bot turns into a message.

Reading .xlsx: read_table streams the active worksheet, read_sheets every worksheet (a
county workbook often has an instructions sheet first and the 台账 second), in openpyxl's
read-only mode (data_only, so formulas read as their cached values); merged ranges are
resolved from each sheet's own <mergeCells> list: every cell of a merged range reads as its
top-left value. read_sheets reads a sheet past its first rows only when the caller's
`looks_right` accepts them (a header it knows), so a big sheet beside the ledger costs
little. Read-only mode is chosen over a normal load because a normal load parses every sheet
of the workbook in full and creates an object for every cell of every merged range before
anything can be checked; streaming one sheet lets the row limit stop a huge file early.

Guards, because a file is read for anyone who can send one to the bot:
- before openpyxl sees a workbook, _check_package looks at EVERY member of the zip: how many
  there are, the uncompressed size the directory declares (all members together) and each
  member's compression ratio; then it inflates every member once with a hard cap on the bytes
  actually produced, so a directory that lies gets no further than one that tells the truth;
- a TimeBudget (20 s unless the caller says otherwise, on an injectable monotonic clock) is
  checked between rows and on every read openpyxl makes from the file, so a workbook that is
  small but slow to parse stops with SheetError("too_slow") instead of holding the bot.
The caller runs read_table off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import time
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

# openpyxl (which pulls in numpy, ~25 MB) is imported where a workbook is read or written, not
# when the bot starts: most days nobody sends a file.

# The control characters an .xlsx cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000  # data rows (counted below the header by bot.ledger_io)
# Non-blank rows allowed above the data: title rows and the header (find_header scans 20).
MAX_ROWS_ABOVE_DATA = 20
MAX_COLUMNS = 256  # cells further right are not read (a ledger has about 20 columns)
# Zip bomb guards for an .xlsx. A 10,000-row ledger is about 10 MB of XML (ratio about 15:1);
# pictures hardly compress. Past these numbers a file is refused before openpyxl parses it.
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024  # every member together, as declared and as inflated
MAX_RATIO = 100  # uncompressed : compressed, per member (deflate reaches about 1,030:1)
RATIO_FROM_BYTES = 1024 * 1024  # members smaller than this may compress as well as they like
MAX_MEMBERS = 1_000  # a workbook has 10 to 50 parts; a few hundred with many sheets or pictures
PARSE_SECONDS = 20.0  # the default TimeBudget for reading and parsing one file
MAX_MERGED_CELLS = 2_000_000  # cells inside merged ranges, clipped to the data

SHEET_TITLE = "台账"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
LIGHT_FILLS = {"红": "FFC7CE", "黄": "FFEB9C", "绿": "C6EFCE"}
LIGHT_FONTS = {"红": "9C0006", "黄": "9C5700", "绿": "006100"}
HEADER_FILL = "D9E1F2"

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PDF_MAGIC = b"%PDF"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_XLSX_EXTENSIONS = (".xlsx", ".xlsm")
_MERGE_REF = re.compile(
    rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=[\"']([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)[\"']"
)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_CSV_DELIMITERS = ",;\t"
_CSV_SNIFF_CHARS = 16 * 1024
# Text a spreadsheet program would take for a formula when it opens a file: it starts with one
# of these (Excel also runs a cell starting with a tab or carriage return through its formula
# parser when it imports a CSV).
FORMULA_PREFIXES = ("=", "+", "-", "@")
_CSV_FORMULA_PREFIXES = (*FORMULA_PREFIXES, "\t", "\r")
# A CSV cell written with a protective apostrophe: apostrophes, then a formula character.
_CSV_QUOTED = re.compile(r"^'+[=+\-@\t\r]")
_INFLATE_CHUNK = 1024 * 1024

Row = tuple[int, list[object]]


class SheetError(Exception):
    """The file cannot be read as a ledger table.

    code: one of CODES (too_big, too_complex, too_slow, not_spreadsheet, broken, encrypted,
    empty, too_many_rows, encoding, no_sheet); callers may raise their own codes with it too.
    too_complex: the package fails a zip bomb guard; too_slow: the TimeBudget ran out;
    no_sheet: the workbook has no worksheet of the name asked for (`detail`; `sheets` lists
    the ones it has).
    detail: a short technical note (the extension, a size, the parser's complaint).
    """

    CODES = frozenset(
        {"too_big", "too_complex", "too_slow", "not_spreadsheet", "broken", "encrypted", "empty",
         "too_many_rows", "encoding", "no_sheet"}
    )

    def __init__(self, code: str, detail: str = "", *, sheets: Sequence[str] = ()) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.sheets = tuple(sheets)


@dataclass
class Sheet:
    """One worksheet as read_sheets read it: its name, its 0-based position among the
    workbook's worksheets, its non-blank rows (merged cells filled) and whether they are all
    of them (`complete`) or only its first MAX_ROWS_ABOVE_DATA, which `looks_right` refused."""

    name: str
    position: int
    rows: list[Row]
    complete: bool = True
    hidden: bool = False


class TimeBudget:
    """A time limit checked cooperatively: check() raises SheetError("too_slow") once it ran out.

    `monotonic` is injectable so that tests move time without waiting.
    """

    def __init__(self, seconds: float = PARSE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._monotonic = monotonic
        self._ends = monotonic() + seconds

    def check(self) -> None:
        if self._monotonic() > self._ends:
            raise SheetError("too_slow", f"over {self.seconds:g} s")


class _BudgetedBytes(io.BytesIO):
    """The file's bytes, checking the budget on every read: zipfile reads the compressed data
    in small pieces, so even one huge part (shared strings, a single enormous row) parsed in
    one call inside openpyxl is interrupted within a fraction of a second of the limit."""

    def __init__(self, data: bytes, budget: TimeBudget) -> None:
        super().__init__(data)
        self._budget = budget

    def read(self, size: int | None = -1, /) -> bytes:
        self._budget.check()
        return super().read(size)


# -- reading ------------------------------------------------------------------------------------


def read_table(filename: str, data: bytes, *, budget: TimeBudget | None = None) -> list[Row]:
    """The non-blank rows of an uploaded .xlsx/.xlsm or .csv, with 1-based sheet row numbers.

    Trailing empty cells are trimmed from each row (rows differ in length); blank rows are left
    out, so the row numbers show where each row sits in the file. At most MAX_ROWS +
    MAX_ROWS_ABOVE_DATA non-blank rows are read (the data, the header and title rows above it);
    the data rows themselves are counted once the header is found.
    `budget` limits the time spent (default: PARSE_SECONDS from now). CPU-bound: call it from a
    worker thread, not the event loop.
    """
    if len(data) > MAX_BYTES:
        raise SheetError("too_big", f"{len(data)} bytes")
    budget = budget or TimeBudget()
    extension = PurePath(filename or "").suffix.lower()
    if extension in _XLSX_EXTENSIONS:
        return _read_xlsx(data, budget)
    if extension == ".csv":
        if data.startswith((_ZIP_MAGIC, _OLE2_MAGIC, _PDF_MAGIC)):
            # a workbook or a PDF named .csv: say what it really is
            return _read_xlsx(data, budget)
        return _read_csv(data, budget)
    raise SheetError("not_spreadsheet", extension.lstrip(".") or "no extension")


def read_sheets(filename: str, data: bytes, *, budget: TimeBudget | None = None,
                looks_right: Callable[[list[Row]], bool] | None = None,
                sheet: str | int | None = None) -> list[Sheet]:
    """The worksheets of an uploaded .xlsx/.xlsm (a .csv is one sheet named ""), in tab order.

    Each sheet's first MAX_ROWS_ABOVE_DATA non-blank rows are read and shown to `looks_right`;
    only a sheet it accepts (every sheet when it is None) is read to the end. `sheet` reads
    just that one: a name (compared without spaces, case or width differences; none such
    raises SheetError("no_sheet")) or a 0-based position. Chart sheets are not worksheets.
    The row limit applies to each sheet; `budget` to the whole file.
    """
    if len(data) > MAX_BYTES:
        raise SheetError("too_big", f"{len(data)} bytes")
    budget = budget or TimeBudget()
    extension = PurePath(filename or "").suffix.lower()
    if extension == ".csv" and not data.startswith((_ZIP_MAGIC, _OLE2_MAGIC, _PDF_MAGIC)):
        return [Sheet("", 0, _read_csv(data, budget))]
    if extension not in (*_XLSX_EXTENSIONS, ".csv"):
        raise SheetError("not_spreadsheet", extension.lstrip(".") or "no extension")
    with _open_package(data, budget) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's "unknown extension", "no default style", …
        sheets = _read_worksheets(data, archive, budget, looks_right, sheet)
    if not any(found.rows for found in sheets):
        raise SheetError("empty", "no cells")
    return sheets


def sheet_key(name: str) -> str:
    """A sheet name as compared with one asked for: NFKC, no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _open_workbook(data: bytes, budget: TimeBudget) -> Any:
    """openpyxl's read-only workbook over `data`; SheetError("broken") for a damaged package,
    the budget's own SheetError when reading takes too long."""
    from openpyxl import load_workbook

    try:
        return load_workbook(_BudgetedBytes(data, budget), read_only=True, data_only=True)
    except SheetError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged package
        raise SheetError("broken", f"{type(exc).__name__}: {exc}") from None


def _read_worksheets(data: bytes, archive: zipfile.ZipFile, budget: TimeBudget,
                     looks_right: Callable[[list[Row]], bool] | None,
                     wanted: str | int | None) -> list[Sheet]:
    workbook = _open_workbook(data, budget)
    try:
        worksheets = [ws for ws in workbook.worksheets if hasattr(ws, "reset_dimensions")]
        chosen = list(enumerate(worksheets))
        if isinstance(wanted, int):
            chosen = chosen[wanted : wanted + 1] if wanted >= 0 else []
        elif wanted is not None:
            chosen = [(i, ws) for i, ws in chosen if sheet_key(ws.title) == sheet_key(wanted)]
        if wanted is not None and not chosen:
            raise SheetError("no_sheet", str(wanted), sheets=[ws.title for ws in worksheets])
        sheets: list[Sheet] = []
        for position, worksheet in chosen:
            merges = _merged_ranges(archive, getattr(worksheet, "_worksheet_path", ""))
            check = looks_right if wanted is None else None
            rows, complete = _sheet_rows_if(worksheet, budget, merges, check)
            sheets.append(Sheet(worksheet.title, position, rows, complete,
                                getattr(worksheet, "sheet_state", "visible") != "visible"))
    except SheetError:
        raise
    except Exception as exc:  # a damaged sheet part
        raise SheetError("broken", f"{type(exc).__name__}: {exc}") from None
    finally:
        workbook.close()
    return sheets


def _sheet_rows_if(sheet: Any, budget: TimeBudget, merges: list[tuple[int, int, int, int]],
                   looks_right: Callable[[list[Row]], bool] | None) -> tuple[list[Row], bool]:
    """A sheet's rows with merged cells filled, and whether they are all of them: with
    `looks_right`, the sheet is read past its head only when its head (filled) is accepted."""
    sheet.reset_dimensions()
    rows: list[Row] = []
    tested = looks_right is None
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        budget.check()
        cells = _trimmed(values)
        if not cells:
            continue
        if not tested and len(rows) == MAX_ROWS_ABOVE_DATA:
            assert looks_right is not None
            tested = True
            if not looks_right(_filled_copy(rows, merges, budget)):
                return _filled_copy(rows, merges, budget), False
        rows.append((number, cells))
        _check_row_count(len(rows))
    if not tested:
        assert looks_right is not None
        head = _filled_copy(rows, merges, budget)
        return head, looks_right(head)
    _fill_merged(rows, merges, budget)
    return rows, True


def _filled_copy(rows: list[Row], merges: list[tuple[int, int, int, int]],
                 budget: TimeBudget) -> list[Row]:
    copy = [(number, list(cells)) for number, cells in rows]
    _fill_merged(copy, merges, budget)
    return copy


class _Package:
    """A checked workbook package (zip bomb guards passed), as a context manager."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def __enter__(self) -> zipfile.ZipFile:
        return self.archive

    def __exit__(self, *exc: object) -> None:
        self.archive.close()


def _open_package(data: bytes, budget: TimeBudget) -> _Package:
    """The workbook's zip, refused early for what is not one (an .xls, a PDF, a locked
    workbook) and for any package failing a guard (_check_package)."""
    if not data:
        raise SheetError("empty", "0 bytes")
    if data.startswith(_OLE2_MAGIC):
        if _ENCRYPTED_STREAM in data:
            raise SheetError("encrypted", "EncryptedPackage")
        raise SheetError("not_spreadsheet", "xls")
    if data.startswith(_PDF_MAGIC):
        raise SheetError("not_spreadsheet", "pdf")
    if data.startswith(_EMPTY_ZIP_MAGIC):
        raise SheetError("broken", "empty zip")
    if not data.startswith(_ZIP_MAGIC):
        raise SheetError("not_spreadsheet", "unknown format")
    try:
        archive = zipfile.ZipFile(_BudgetedBytes(data, budget))
    except SheetError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise SheetError("broken", f"zip: {exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _check_package(archive)
    except BaseException:
        archive.close()
        raise
    return _Package(archive)


def _read_xlsx(data: bytes, budget: TimeBudget) -> list[Row]:
    with _open_package(data, budget) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's "unknown extension", "no default style", …
        rows, merges = _read_active_sheet(data, archive, budget)
    _fill_merged(rows, merges, budget)
    if not rows:
        raise SheetError("empty", "no cells")
    return rows


def _check_package(archive: zipfile.ZipFile) -> None:
    """Refuse what is not a workbook, and any package that would inflate beyond the guards.

    First the directory (nothing is inflated): the number of members, the declared sizes of
    all members together and each member's ratio. Then every member is inflated once, in
    chunks, counting the bytes it really produces: more than it declared, more than the room
    left, or a ratio beyond MAX_RATIO stops it at that chunk.
    """
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SheetError("too_complex", f"{len(infos)} members")
    names = {info.filename for info in infos}
    if "word/document.xml" in names:
        raise SheetError("not_spreadsheet", "docx")
    if "ppt/presentation.xml" in names:
        raise SheetError("not_spreadsheet", "pptx")
    declared = 0
    for info in infos:
        declared += info.file_size
        if declared > MAX_UNCOMPRESSED_BYTES:
            raise SheetError("too_complex", f"more than {MAX_UNCOMPRESSED_BYTES} bytes inflated")
        _check_ratio(info, info.file_size)
    room = MAX_UNCOMPRESSED_BYTES
    for info in infos:
        room -= _inflate(archive, info, room)


def _check_ratio(info: zipfile.ZipInfo, size: int) -> None:
    if size > RATIO_FROM_BYTES and size > MAX_RATIO * max(info.compress_size, 1):
        raise SheetError("too_complex", f"{info.filename}: ratio over {MAX_RATIO}:1")


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, room: int) -> int:
    """Inflate one member without keeping it; the bytes it produced. Stops at the first chunk
    that passes what the member declared or the room left."""
    if info.is_dir():
        return 0
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_INFLATE_CHUNK):
                size += len(chunk)
                if size > info.file_size or size > room:
                    raise SheetError("too_complex", f"{info.filename}: inflates beyond "
                                                    f"{min(info.file_size, room)} bytes")
                _check_ratio(info, size)
    except SheetError:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError,
            ValueError, EOFError) as exc:
        # a bad CRC, a damaged stream, an unknown compression method, a zip password
        raise SheetError("broken", f"{info.filename}: {exc}") from None
    return size


def _read_active_sheet(
    data: bytes, archive: zipfile.ZipFile, budget: TimeBudget
) -> tuple[list[Row], list[tuple[int, int, int, int]]]:
    workbook = _open_workbook(data, budget)
    try:
        sheet = _active_worksheet(workbook)
        if sheet is None:
            raise SheetError("empty", "no worksheet")
        rows = _sheet_rows(sheet, budget)
        merges = _merged_ranges(archive, getattr(sheet, "_worksheet_path", ""))
    except SheetError:
        raise
    except Exception as exc:  # a damaged sheet part
        raise SheetError("broken", f"{type(exc).__name__}: {exc}") from None
    finally:
        workbook.close()
    return rows, merges


def _active_worksheet(workbook: Any) -> Any:
    """The active worksheet (the one the file was saved showing), else the first worksheet."""
    active = workbook.active
    if active is not None and hasattr(active, "reset_dimensions"):  # not a chart sheet
        return active
    return workbook.worksheets[0] if workbook.worksheets else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _trimmed(values: Sequence[object]) -> list[object]:
    end = min(len(values), MAX_COLUMNS)
    while end and _blank(values[end - 1]):
        end -= 1
    return list(values[:end])


def _sheet_rows(sheet: Any, budget: TimeBudget) -> list[Row]:
    # The <dimension> a file declares may be wrong (some generators write "A1"); read what the
    # sheet actually holds.
    sheet.reset_dimensions()
    rows: list[Row] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        budget.check()  # blank rows too: a million empty <row/>s add no row but take time
        cells = _trimmed(values)
        if not cells:
            continue
        rows.append((number, cells))
        _check_row_count(len(rows))
    return rows


def _check_row_count(count: int) -> None:
    if count > MAX_ROWS + MAX_ROWS_ABOVE_DATA:
        raise SheetError("too_many_rows", f"more than {MAX_ROWS} rows")


def _merged_ranges(archive: zipfile.ZipFile, path: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of one worksheet part as (min_col, min_row, max_col, max_row)."""
    from openpyxl.utils import range_boundaries

    path = path.lstrip("/")
    if not path or path not in archive.namelist():
        return []
    ranges: list[tuple[int, int, int, int]] = []
    tail = b""
    with archive.open(path) as stream:
        # <mergeCells> follows <sheetData>: scan in chunks, keeping a tail for split tags.
        while chunk := stream.read(1 << 20):
            buffer = tail + chunk
            last_end = 0
            for match in _MERGE_REF.finditer(buffer):
                min_col, min_row, max_col, max_row = range_boundaries(match[1].decode("ascii"))
                if min_col and min_row and max_col and max_row:
                    ranges.append((min_col, min_row, max_col, max_row))
                last_end = match.end()
            tail = buffer[max(last_end, len(buffer) - 200) :]
    return ranges


def _fill_merged(rows: list[Row], merges: list[tuple[int, int, int, int]],
                 budget: TimeBudget) -> None:
    """Every cell of a merged range reads as its top-left value, within the data's bounds."""
    if not rows:
        return
    by_number = {number: cells for number, cells in rows}
    last_row = rows[-1][0]
    width = max(len(cells) for _, cells in rows)
    cells_left = MAX_MERGED_CELLS
    added: list[Row] = []
    for min_col, min_row, max_col, max_row in merges:
        top = by_number.get(min_row)
        if top is None or min_col > len(top) or _blank(top[min_col - 1]):
            continue
        value = top[min_col - 1]
        right = min(max_col, width)
        for number in range(min_row, min(max_row, last_row) + 1):
            budget.check()
            cells = by_number.get(number)
            if cells is None:
                cells = by_number[number] = []
                added.append((number, cells))
            if len(cells) < right:
                cells.extend([None] * (right - len(cells)))
            for index in range(min_col - 1, right):
                cells[index] = value
            cells_left -= right - min_col + 1
            if cells_left < 0:
                raise SheetError("too_big", "merged cells")
    if added:
        rows.extend(added)
        rows.sort(key=lambda row: row[0])
        _check_row_count(len(rows))


def _read_csv(data: bytes, budget: TimeBudget) -> list[Row]:
    text = _decode(data)
    if not text.strip():
        raise SheetError("empty", "no text")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[Row] = []
    try:
        for number, values in enumerate(reader, start=1):
            budget.check()
            cells = _trimmed([_csv_unquoted(value) for value in values])
            if not cells:
                continue
            rows.append((number, cells))
            _check_row_count(len(rows))
    except csv.Error as exc:
        raise SheetError("broken", f"csv: {exc}") from None
    if not rows:
        raise SheetError("empty", "no cells")
    return rows


def _csv_unquoted(value: str) -> str:
    """A cell without the apostrophe write_csv put before text that looks like a formula."""
    return value[1:] if _CSV_QUOTED.match(value) else value


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[tuple[bytes, str], ...] = ((data[3:], "utf-8"),)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ((data, "utf-16"),)
    else:
        candidates = ((data, "utf-8"), (data, "gb18030"))
    for raw, encoding in candidates:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError("encoding", "neither UTF-8 nor GB18030")


def _delimiter(text: str) -> str:
    sample = text[:_CSV_SNIFF_CHARS]
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: first_line.count(d) for d in _CSV_DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in counts and (counts[sniffed] or not any(counts.values())):
        return sniffed
    best = max(_CSV_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


# -- writing ------------------------------------------------------------------------------------


def write_xlsx(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    date_columns: Sequence[str] = ("完成时限",),
    datetime_columns: Sequence[str] = ("最近填报",),
    light_column: str = "预警",
) -> bytes:
    """One sheet 台账: bold frozen header with an autofilter, column widths by content, dates as
    date cells, the 预警 cells filled red/yellow/green. Text is never written as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    formats: dict[int, str] = {}
    for index, name in enumerate(header):
        if name in datetime_columns:
            formats[index] = DATETIME_FORMAT
        elif name in date_columns:
            formats[index] = DATE_FORMAT
    light_index = list(header).index(light_column) if light_column in header else -1

    for index, width in enumerate(_column_widths(header, rows, formats), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    if header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    centered = Alignment(horizontal="center", vertical="center", wrap_text=True)
    header_cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=_clean_text(str(name)))
        _keep_text(cell)
        cell.font, cell.fill, cell.alignment = bold, header_fill, centered
        header_cells.append(cell)
    sheet.append(header_cells)

    styles = _CellStyles(sheet)
    for values in rows:
        out: list[object] = []
        for index, value in enumerate(values):
            if isinstance(value, datetime):
                fmt = formats.get(index, DATETIME_FORMAT)
                out.append(styles.dated(value.replace(tzinfo=None), fmt))
            elif isinstance(value, date):
                out.append(styles.dated(value, formats.get(index, DATE_FORMAT)))
            elif index == light_index and value in LIGHT_FILLS:
                out.append(styles.light(str(value)))
            elif isinstance(value, str):
                out.append(styles.text(_clean_text(value)))
            else:
                out.append(value)
        sheet.append(out)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# openpyxl's WriteOnlyCell is a factory function, not a class: its cells are typed loosely.
XlsxCell = Any


class _CellStyles:
    """Makes the styled write-only cells; each distinct style is built once and copied."""

    def __init__(self, sheet: object) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill

        self._new_cell: Callable[..., Any] = WriteOnlyCell
        self._fill, self._font, self._alignment = PatternFill, Font, Alignment
        self._sheet: Any = sheet
        self._templates: dict[str, XlsxCell] = {}

    def _template(self, key: str, style: Callable[[XlsxCell], None]) -> XlsxCell:
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._new_cell(self._sheet)
            style(template)
        return template

    def _cell(self, value: Any, template: XlsxCell) -> XlsxCell:
        cell = self._new_cell(self._sheet, value=value)
        cell._style = template._style  # the same style ids; write-only cells are not edited
        return cell

    def dated(self, value: date, number_format: str) -> XlsxCell:
        def style(cell: XlsxCell) -> None:
            cell.number_format = number_format

        return self._cell(value, self._template(number_format, style))

    def light(self, value: str) -> XlsxCell:
        def style(cell: XlsxCell) -> None:
            cell.fill = self._fill("solid", fgColor=LIGHT_FILLS[value])
            cell.font = self._font(color=LIGHT_FONTS[value])
            cell.alignment = self._alignment(horizontal="center")

        return self._cell(value, self._template(f"light:{value}", style))

    def text(self, value: str) -> object:
        if not looks_like_formula(value):
            return value
        cell = self._new_cell(self._sheet, value=value)
        _keep_text(cell)
        return cell


def looks_like_formula(value: str) -> bool:
    """Text a spreadsheet program would run as a formula (=…, +…, -…, @…)."""
    return value.startswith(FORMULA_PREFIXES)


def _keep_text(cell: Any) -> None:
    """A text cell that looks like a formula is written as text (data_type "s"): it shows
    literally, runs nothing (=HYPERLINK, =WEBSERVICE …) and imports again unchanged."""
    if isinstance(cell.value, str) and looks_like_formula(cell.value):
        cell.data_type = "s"


def _clean_text(value: str) -> str:
    """Without the control characters an .xlsx cannot hold, at most Excel's 32,767 characters."""
    return _ILLEGAL_CHARACTERS.sub("", value)[:32_767]


_WIDTH_SAMPLE_ROWS = 2_000
_MIN_WIDTH = 6
_MAX_WIDTH = 50


def _column_widths(
    header: Sequence[str], rows: Sequence[Sequence[object]], formats: dict[int, str]
) -> list[float]:
    """Character widths by content (CJK counts double), from the header and the first rows."""
    widths = [_display_width(str(name)) + 2 for name in header]
    for values in itertools.islice(rows, _WIDTH_SAMPLE_ROWS):
        for index, value in enumerate(values[: len(widths)]):
            if value is None or value == "":
                continue
            if isinstance(value, date):
                size = 16 if isinstance(value, datetime) else 10
                if formats.get(index) == DATE_FORMAT:
                    size = 10
            else:
                size = _display_width(str(value))
            widths[index] = max(widths[index], size + 2)
    return [float(min(max(width, _MIN_WIDTH), _MAX_WIDTH)) for width in widths]


def _display_width(value: object) -> int:
    """The width of a value's longest line in character cells (CJK counts double)."""
    text = "" if value is None else str(value)
    longest = max(text.splitlines() or [""], key=len)
    if longest.isascii():
        return len(longest)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def write_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese right), CRLF lines, ISO dates.

    Text Excel would take for a formula (=…, +…, -…, @…, a leading tab or CR) gets a leading
    apostrophe; read_table drops it again, so an exported CSV imports unchanged.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(str(name)) for name in header])
    writer.writerows(_csv_values(values) for values in rows)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _csv_values(values: Sequence[object]) -> Iterator[str]:
    for value in values:
        if value is None:
            yield ""
        elif isinstance(value, datetime):
            yield value.strftime("%Y-%m-%d %H:%M")
        elif isinstance(value, date):
            yield value.isoformat()
        elif isinstance(value, str):
            yield _csv_text(value)
        else:
            yield str(value)


def _csv_text(value: str) -> str:
    """Text that looks like a formula gets an apostrophe (shown literally, runs nothing); so
    does text that already starts with apostrophes before a formula character, so that reading
    (which takes one apostrophe off) gives back exactly what was written. Numbers (-5) stay."""
    if (value.startswith(_CSV_FORMULA_PREFIXES) and not _NUMBER.match(value)) or (
            _CSV_QUOTED.match(value)):
        return "'" + value
    return value


def write_sheets(sheets: Mapping[str, tuple[Sequence[str], Sequence[Sequence[object]]]]) -> bytes:
    """A small workbook of several plain sheets (bold frozen header), e.g. score reports.

    Text is cleaned of the control characters a workbook cannot hold, and text that looks like
    a formula (a unit named =HYPERLINK(…)) is written as text, as in write_xlsx."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    for blank in list(workbook.worksheets):
        workbook.remove(blank)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title=title[:31])
        for values in (header, *rows):
            sheet.append([_clean_text(v) if isinstance(v, str) else v for v in values])
            for cell in sheet[sheet.max_row]:
                _keep_text(cell)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for index, name in enumerate(header, start=1):
            width = max([_display_width(name)] + [_display_width(r[index - 1]) for r in rows
                                                  if index - 1 < len(r)])
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(
                max(width + 2, 8), 40)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

