"""台账 files through chat and the command line in this process: preview, confirm, errors,
export, round trip, [import] year. `python -m bot import|export` as its own process is in
tests/process/test_cli.py."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.config import load_config
from bot.domain.model import TaskStatus
from bot.domain.text import normalize_task_id
from bot.ledger_io import export_ledger, import_ledger_file
from tests.chat.conftest import OpenBot, write_config
from tests.conftest import ADMIN, DEC1, TZ, ZHANG
from tests.support.county_ledger import ROWS as COUNTY_ROWS
from tests.support.county_ledger import TITLES as COUNTY_TITLES
from tests.support.county_ledger import county_workbook
from tests.support.harness import Harness


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
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(now=DEC1, bound=()) as harness:
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


# -- 确认导入 after a stall, dates, long ids, slow files (issue 11 parts 4 and 7) ---------------

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def test_confirm_after_the_button_expired_still_imports_and_says_so(bot: Harness) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    before = len(bot.api.sent)
    bot.api.fail_next("answerCallbackQuery", 400, QUERY_TOO_OLD)
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    assert {t.id for t in bot.ledger.repo.tasks()} == {"T0101", "T0102", "T0103"}
    new = [m.get("text", "") for m in bot.api.sent[before:]]
    assert any("已导入" in text and "新增 3 项" in text for text in new)  # a new message
    assert not any("处理时出现问题" in m.get("text", "") for m in bot.api.messages_to(ADMIN))
    edited = next(m for m in bot.api.messages_to(ADMIN) if m["message_id"] ==
                  preview["message_id"])
    assert "已导入" in edited["text"] and not edited.get("reply_markup")  # no second press
    # Cancelling after a stall is said in the chat too.
    other = await send_file(bot, "台账2.xlsx", workbook(GOOD[:1]))
    before = len(bot.api.sent)
    bot.api.fail_next("answerCallbackQuery", 400, QUERY_TOO_OLD)
    bot.api.press_button(ADMIN, other, "IMP no")
    await bot.pump()
    assert any("已取消" in m.get("text", "") for m in bot.api.sent[before:])


async def test_a_normal_confirm_edits_the_preview_without_a_second_message(bot: Harness) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    before = len(bot.api.sent)
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    assert bot.api.sent[before:] == []  # the result replaced the preview
    assert "已导入" in bot.api.messages_to(ADMIN)[-1]["text"]


PAST_AND_FAR = [
    ["", "去年的任务", "县发改局", "张三", "2025-06-30", ""],
    ["", "十年规划", "县发改局", "张三", "2036年12月31日", ""],
    ["", "正常任务", "县发改局", "张三", "2027-06-30", ""],
]


async def test_past_and_far_deadlines_are_error_rows_with_a_way_out(bot: Harness) -> None:
    answer = await send_file(bot, "台账.xlsx", workbook(PAST_AND_FAR))
    text = answer["text"]
    assert "未导入任何内容" in text and not answer.get("reply_markup")
    assert "第 3 行「完成时限」“2025-06-30”：日期已过" in text
    assert "第 4 行「完成时限」“2036-12-31”：在三年以后" in text
    assert "/import 允许任意日期" in text
    assert list(bot.ledger.repo.tasks()) == []


async def test_a_year_outside_the_range_has_no_way_out(bot: Harness) -> None:
    rows = [["", "笔误", "县发改局", "张三", "9999-12-31", ""]]
    answer = await send_file(bot, "台账.xlsx", workbook(rows), caption="/import 允许任意日期")
    assert "2000–2099" in answer["text"] and not answer.get("reply_markup")


@pytest.mark.parametrize("caption", ["/import 允许任意日期", "/import any-date",
                                     "/import@luoshi_test_bot  允许 任意日期"])
async def test_the_caption_allows_any_date(bot: Harness, caption: str) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(PAST_AND_FAR), caption=caption)
    assert "新增 3 项" in preview["text"] and preview["text"].endswith("（本次允许任意日期）")
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    deadlines = {t.title: t.deadline for t in bot.ledger.repo.tasks()}
    assert deadlines["去年的任务"] == date(2025, 6, 30)
    assert deadlines["十年规划"] == date(2036, 12, 31)


async def test_the_command_allows_any_date_for_the_next_file(bot: Harness) -> None:
    assert "本次允许任意日期" in await bot.answer(ADMIN, "/import 允许任意日期")
    preview = await send_file(bot, "台账.xlsx", workbook(PAST_AND_FAR), caption=None)
    assert "新增 3 项" in preview["text"]
    bot.api.press_button(ADMIN, preview, "IMP ok")  # read back from the preview's last line
    await bot.pump()
    assert len(list(bot.ledger.repo.tasks())) == 3
    # The permission was for that file only.
    assert "允许任意日期" in await bot.answer(ADMIN, "/import")  # the help names the option
    late = [["", "另一项去年的任务", "县发改局", "张三", "2025-01-31", ""]]
    answer = await send_file(bot, "台账2.xlsx", workbook(late), caption=None)
    assert "日期已过" in answer["text"]


async def test_a_file_name_cannot_grant_any_date(bot: Harness) -> None:
    answer = await send_file(bot, "（本次允许任意日期）.xlsx", workbook(PAST_AND_FAR))
    assert "日期已过" in answer["text"] and not answer.get("reply_markup")


async def test_an_exported_ledger_with_past_deadlines_imports_again_unchanged(
        bot: Harness) -> None:
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    bot.clock.set(datetime(2027, 6, 1, 9, 0, tzinfo=TZ))  # every deadline has passed
    today = bot.clock.today()
    data = export_ledger(bot.ledger, bot.services.lights, bot.services.calendar, today)
    result = import_ledger_file(bot.ledger, "export.xlsx", data, who="test", year=2027,
                                dry_run=True)
    assert result.ok and result.summary is not None
    assert len(result.summary.unchanged) == 3
    # Changing one of those deadlines to another past date is asked about.
    edited = [["T0101", "世忻铁路复线保德段征地", "县自然资源局", "张三、李四", "2027-01-31",
               "陈副县长"]]
    changed = import_ledger_file(bot.ledger, "edit.xlsx", workbook(edited), who="test",
                                 year=2027, dry_run=True)
    assert [e.problem for e in changed.errors] == ["deadline_past"]


async def test_an_imported_t999999_is_followed_by_t1000000_that_commands_find(
        bot: Harness) -> None:
    rows = [["T999999", "世忻铁路复线保德段征地", "县自然资源局", "张三", "2027-06-30", ""]]
    preview = await send_file(bot, "台账.xlsx", workbook(rows))
    bot.api.press_button(ADMIN, preview, "IMP ok")
    await bot.pump()
    assert bot.ledger.task("T999999").title == "世忻铁路复线保德段征地"
    added = await bot.answer(ADMIN, "/add 职业中学新校区建设 | 县教育局 | 赵六 | 2027-06-30")
    assert "T1000000" in added
    assert normalize_task_id("t1000000") == "T1000000"
    assert "职业中学新校区建设" in await bot.answer(ADMIN, "/task T1000000")
    assert "职业中学新校区建设" in await bot.answer(ADMIN, "/task t1000000")
    # And a file naming it imports onto the same task.
    again = [["t1000000", "职业中学新校区建设", "县教育局", "赵六", "2027-06-30", ""]]
    result = import_ledger_file(bot.ledger, "again.xlsx", workbook(again), who="test",
                                year=2026, dry_run=True)
    assert result.summary is not None and result.summary.unchanged == ["T1000000"]


async def test_a_slow_file_stops_with_a_clear_answer(bot: Harness,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.app import files

    ticks = iter(range(10**9))
    monkeypatch.setattr(files, "monotonic", lambda: float(next(ticks)))
    answer = await send_file(bot, "台账.xlsx", workbook(GOOD * 20))
    assert "文件过大或过于复杂" in answer["text"] and not answer.get("reply_markup")
    assert list(bot.ledger.repo.tasks()) == []


async def test_the_file_is_parsed_off_the_event_loop(bot: Harness,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from bot.app import files

    threads: list[threading.Thread] = []
    real = files.read_ledger_file

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "read_ledger_file", spy)
    preview = await send_file(bot, "台账.xlsx", workbook(GOOD))
    assert "新增 3 项" in preview["text"]
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_cli_import_refuses_past_deadlines_unless_allowed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    rows = [["", "去年的任务", "县发改局", "张三", "2020-06-30", ""]]
    source = tmp_path / "台账.xlsx"
    source.write_bytes(workbook(rows))
    assert main(["--config", str(config), "import", str(source)]) == 1
    out = capsys.readouterr().out
    assert "日期已过" in out and "--allow-past" in out and "/import" not in out
    assert main(["--config", str(config), "import", str(source), "--allow-past",
                 "--dry-run"]) == 0
    assert "新增 1 项" in capsys.readouterr().out
    assert main(["--config", str(config), "import", str(source), "--allow-any-date"]) == 0
    assert "新增 1 项" in capsys.readouterr().out
    assert main(["--config", str(config), "import", str(source), "--time-limit", "0"]) == 2


# ---- [import] year, from config.toml ----------------------------------------------------------

CSV_HEADER = ["任务", "牵头单位", "责任人", "完成时限"]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def test_import_year_from_config_fills_deadlines_without_a_year(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[import]\nyear = 2028\n"), env={})
    assert config.imports.year == 2028
    data = csv_bytes([["世忻铁路复线保德段征地", "县自然资源局", "张三", "12月31日"],
                      ["职业中学新校区建设", "县教育局", "赵六", "12月底"],
                      ["吉港冠宇水泥技改", "县工信局", "王五", "2027年3月31日"]])
    async with Harness.from_config(config, now=DEC1) as bot:
        preview = await send_file(bot, "台账.csv", data)
        assert "新增 3 项" in preview["text"]
        bot.api.press_button(ADMIN, preview, "IMP ok")
        await bot.pump()
        assert "已导入" in bot.api.messages_to(ADMIN)[-1]["text"]
        deadlines = {t.title: t.deadline for t in bot.ledger.repo.tasks()}
    assert deadlines == {"世忻铁路复线保德段征地": date(2028, 12, 31),
                         "职业中学新校区建设": date(2028, 12, 31),
                         "吉港冠宇水泥技改": date(2027, 3, 31)}  # a written year is kept


async def test_without_import_year_the_current_year_is_used(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[import]\nyear = 0\n"), env={})
    data = csv_bytes([["世忻铁路复线保德段征地", "县自然资源局", "张三", "12月底"]])
    async with Harness.from_config(config, now=DEC1) as bot:
        preview = await send_file(bot, "台账.csv", data)
        bot.api.press_button(ADMIN, preview, "IMP ok")
        await bot.pump()
        assert [t.deadline for t in bot.ledger.repo.tasks()] == [date(2026, 12, 31)]


# ---- many bad rows ------------------------------------------------------------------------------


async def test_import_with_23_bad_rows_lists_20_then_counts_the_rest(tmp_path: Path) -> None:
    good = [["世忻铁路复线保德段征地", "县自然资源局", "张三", "2026-12-31"],
            ["职业中学新校区建设", "县教育局", "赵六", "2027-03-31"]]
    bad = [[f"任务{i}", "县发改局", "钱七", f"尽快{i}"] for i in range(1, 24)]
    async with Harness(tmp_path / "data", now=DEC1) as bot:
        before = len(bot.api.sent)
        bot.api.send_document(ADMIN, "台账.csv", csv_bytes(good + bad), caption="/import")
        await bot.pump()
        answers = [m for m in bot.api.sent[before:] if m["chat"]["id"] == ADMIN]
        text = "\n".join(m["text"] for m in answers)
        assert "有 23 处错误" in text and "未导入任何内容" in text
        # Sheet rows: 1 header, 2–3 good, 4–26 bad; the first 20 errors are rows 4–23.
        error_lines = [line for line in text.splitlines() if line.startswith("第 ")]
        assert len(error_lines) == 20
        assert error_lines[0].startswith("第 4 行") and "尽快1" in error_lines[0]
        assert error_lines[-1].startswith("第 23 行") and "尽快20" in error_lines[-1]
        for row in (24, 25, 26):
            assert f"第 {row} 行" not in text
        assert "另有 3 处错误" in text
        assert not any(m.get("reply_markup") for m in answers)  # nothing to confirm
        assert list(bot.ledger.repo.tasks()) == []


# ---- the 台账 a county keeps (issue 14, item 6) ------------------------------------------------


async def test_the_county_workbook_imports_with_its_progress_notes(bot: Harness) -> None:
    """Instructions first, the ledger on sheet 2 under a two-row merged header, 合计 /
    填表人 / 注 under the data, 进展情况 and 下达日期: previewed, confirmed, imported."""
    preview = await send_file(bot, "2026年重点任务台账.xlsx", county_workbook())
    text = preview["text"]
    assert "新增 4 项" in text and "工作表：重点任务台账" in text
    assert "其中 2 项读出了进度" in text and "已跳过 4 行合计、落款或说明" in text
    bot.api.press_button(ADMIN, preview, "IMP ok 1")
    await bot.pump()
    assert "已导入" in bot.api.messages_to(ADMIN)[-1]["text"]
    tasks = {t.title: t for t in bot.ledger.repo.tasks()}
    assert set(tasks) == set(COUNTY_TITLES)
    rail = tasks[COUNTY_TITLES[0]]
    assert (rail.progress, rail.latest_note) == (80, COUNTY_ROWS[0][7])
    assert rail.created_at == datetime(2026, 9, 1, tzinfo=TZ)
    assert rail.last_report_at is None  # the 督查室's note is no report of the official's
    # /task shows the note as the latest progress, and the history when it was recorded.
    answer = await bot.answer(ADMIN, f"/task {rail.id}")
    assert COUNTY_ROWS[0][7] in answer


async def test_several_ledger_sheets_ask_which_then_import_it(bot: Harness) -> None:
    question = await send_file(bot, "台账.xlsx", county_workbook(second_ledger="11月台账"))
    assert "2 个工作表都像台账" in question["text"]
    bot.api.press_button(ADMIN, question, "IMP sheet 2")
    await bot.pump()
    assert list(bot.ledger.repo.tasks()) == []
    edited = bot.api.messages_to(ADMIN)[-1]
    assert edited["message_id"] == question["message_id"]
    assert "工作表：11月台账" in edited["text"] and "新增 1 项" in edited["text"]
    bot.api.press_button(ADMIN, edited, "IMP ok 2")
    await bot.pump()
    assert [t.title for t in bot.ledger.repo.tasks()] == [COUNTY_TITLES[0]]
