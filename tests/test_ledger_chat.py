"""台账 files through chat and the command line: preview, confirm, errors, export, round trip."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.domain.model import TaskStatus
from bot.ledger_io import export_ledger, import_ledger_file
from tests.harness import ADMIN, TZ, Harness

ZHANG = 2001
DEC1 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


def workbook(rows: list[list[Any]], *, title: str = "2026年县政府重点工作任务台账") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    ws.append(["序号", "任务编号", "重点任务", "责任单位", "具体责任人", "完成时限", "分管领导"])
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD = [
    ["T0101", "世忻铁路复线保德段征地", "县自然资源局", "张三、李四", "12月底", "陈副县长"],
    ["", "吉港冠宇水泥技改", "县工信局", "王五", date(2027, 3, 31), ""],
    ["", "职业中学新校区建设", "县教育局", "赵六", "长期", "刘副县长"],
]


@pytest.fixture
async def bot(tmp_path: Path):
    async with Harness(tmp_path / "data", now=DEC1) as harness:
        yield harness


async def send_file(bot: Harness, name: str, data: bytes, caption: str | None = "/import"
                    ) -> dict[str, Any]:
    before = len(bot.api.sent)
    bot.api.send_document(ADMIN, name, data, caption=caption)
    await bot.pump()
    return bot.api.sent[before]


async def test_import_preview_then_confirm(bot: Harness) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    assert "新增 3 项" in preview["text"] and "确认" in preview["text"]
    assert list(bot.ledger.repo.tasks()) == []  # nothing written before 确认导入
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    assert "已导入" in bot.api.messages_to(ADMIN)[-1]["text"]
    tasks = {t.id: t for t in bot.ledger.repo.tasks()}
    assert set(tasks) == {"T0101", "T0102", "T0103"}
    rail = tasks["T0101"]
    assert rail.deadline == date(2026, 12, 31) and rail.owners == ("张三", "李四")
    assert rail.leader == "陈副县长" and tasks["T0103"].deadline is None
    # A second press imports nothing twice.
    bot.api.press_button(ADMIN, preview, "IMP ok", strict=False)
    await bot.pump()
    assert len(list(bot.ledger.repo.tasks())) == 3


async def test_import_command_then_file(bot: Harness) -> None:
    assert "请发送" in await bot.answer(ADMIN, "/import")
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD), caption=None)
    assert "新增 3 项" in preview["text"]
    bot.api.press_button(ADMIN, preview, "IMP no")
    await bot.pump()
    assert "已取消" in bot.api.messages_to(ADMIN)[-1]["text"]
    assert list(bot.ledger.repo.tasks()) == []


async def test_one_bad_row_imports_nothing_and_lists_every_error(bot: Harness) -> None:
    rows = [*GOOD, ["", "", "县发改局", "", "下个月", ""],
            ["", "任务", "县发改局", "钱七", "尽快", ""]]
    answer = await send_file(bot, "台账.xlsx", workbook(rows))
    text = answer["text"]
    assert "未导入任何内容" in text
    assert "第 6 行" in text and "第 7 行" in text and "尽快" in text
    assert not answer.get("reply_markup")
    assert list(bot.ledger.repo.tasks()) == []


@pytest.mark.parametrize("name,data,expect", [
    ("台账.xlsx", b"%PDF-1.4 not a workbook", "无法识别"),
    ("台账.xlsx", b"PK\x03\x04broken zip", "损坏"),
    ("台账.pdf", b"%PDF-1.4", "无法识别"),
    ("台账.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le"),
     "密码"),
])
async def test_bad_files_get_a_clear_answer(bot: Harness, name: str, data: bytes,
                                            expect: str) -> None:
    answer = await send_file(bot, name, data)
    assert expect in answer["text"]
    assert list(bot.ledger.repo.tasks()) == []


async def test_officials_cannot_import(bot: Harness) -> None:
    bot.bind("张三", ZHANG)
    before = len(bot.api.sent)
    bot.api.send_document(ZHANG, "台账.xlsx", workbook(GOOD), caption="/import")
    await bot.pump()
    assert "仅限督查室" in bot.api.sent[before]["text"]
    assert list(bot.ledger.repo.tasks()) == []


async def test_export_sends_a_workbook_that_imports_unchanged(bot: Harness) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    before = len(bot.api.sent)
    await bot.say(ADMIN, "/export")
    document = next(m for m in bot.api.sent[before:] if "document" in m)
    data = bot.api.file_bytes(document["document"]["file_id"])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["编号", "任务", "目标"] and header[-6:] == [
        "状态", "进度", "预警", "最新进展", "最近填报", "逾期天数"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert isinstance(sheet.cell(2, header.index("完成时限") + 1).value, datetime)
    # Round trip: the exported file imports with nothing changed.
    result = import_ledger_file(bot.ledger, "export.xlsx", data, who="test", year=2026,
                                dry_run=False)
    assert result.ok and result.summary is not None
    assert (len(result.summary.new), len(result.summary.updated),
            len(result.summary.unchanged)) == (0, 0, 3)


async def test_reimport_of_an_edited_file_updates_and_keeps_history(bot: Harness) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    edited = [["T0101", "世忻铁路复线保德段征地", "县自然资源局", "张三", "2027-01-31",
               "陈副县长"]]
    result = import_ledger_file(bot.ledger, "edit.xlsx", workbook(edited), who="督查室",
                                year=2026, dry_run=False)
    assert result.summary is not None and result.summary.updated == ["T0101"]
    task = bot.ledger.task("T0101")
    assert task.owners == ("张三",) and task.deadline == date(2027, 1, 31)
    last = bot.ledger.repo.history("T0101")[-1]
    assert last.changes["deadline"] == ["2026-12-31", "2027-01-31"]
    assert task.status is TaskStatus.OPEN


def test_export_and_import_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    source = tmp_path / "台账.xlsx"
    source.write_bytes(workbook(GOOD))
    run = [sys.executable, "-m", "bot", "--config", str(config)]
    dry = subprocess.run([*run, "import", str(source), "--dry-run"], capture_output=True,
                         text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "新增 3 项" in dry.stdout
    done = subprocess.run([*run, "import", str(source)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "已导入" in done.stdout
    again = subprocess.run([*run, "import", str(source)], capture_output=True, text=True,
                           timeout=60)
    assert "无变化 3 项" in again.stdout
    out = tmp_path / "out.csv"
    exported = subprocess.run([*run, "export", str(out)], capture_output=True, text=True,
                              timeout=60)
    assert exported.returncode == 0, exported.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("编号,任务,目标") and "T0101" in text
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"%PDF-1.4")
    failed = subprocess.run([*run, "import", str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert failed.returncode == 1 and "无法识别" in failed.stdout


def test_cli_import_is_refused_while_the_store_is_in_use(tmp_path: Path) -> None:
    from bot.adapters.docstore import DocStore

    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    source = tmp_path / "台账.xlsx"
    source.write_bytes(workbook(GOOD))
    holder = DocStore.open(tmp_path / "data")  # the running bot
    try:
        result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "import",
                                 str(source)], capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert result.returncode == 3 and "stop" in result.stderr.lower()


def test_export_of_ten_thousand_is_not_a_timed_test_but_works(tmp_path: Path) -> None:
    """Behaviour only (speed is in make bench): a cancelled task is left out."""
    from bot.adapters.docstore import DocStore
    from bot.adapters.holidays import default_calendar
    from bot.adapters.repository import StoreRepository
    from bot.domain.clock import FixedClock
    from bot.domain.ledger import Ledger, NewTask
    from bot.domain.warning import LightBoard

    store = DocStore.open(tmp_path / "d")
    repo = StoreRepository(store)
    ledger = Ledger(repo, FixedClock(DEC1))
    kept = ledger.add_task(NewTask("甲", "县发改局", ("张三",), date(2026, 11, 20)), who="a")
    gone = ledger.add_task(NewTask("乙", "县发改局", ("张三",), None), who="a")
    ledger.cancel_task(gone.id, who="a")
    calendar = default_calendar()
    data = export_ledger(ledger, LightBoard(repo, calendar), calendar, DEC1.date(), fmt="csv")
    store.close()
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and kept.id in lines[1]
    assert lines[1].split(",")[-4:-3] == ["红"] or ",红," in lines[1]
