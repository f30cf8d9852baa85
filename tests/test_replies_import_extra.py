"""Answers in a group, the [warning] and [import] settings, lights in /tasks, import error
overflow, and the export command line next to a running bot."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.config import load_config
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import TaskStatus
from bot.domain.replies import Reading, ReplyKind
from tests.support.harness import ADMIN, TOKEN, TZ, Harness

ROOT = Path(__file__).resolve().parent.parent
ZHANG, LI = 2001, 2002
WORK_GROUP = -100600
NOV2 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
DEC1 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
HEADER = ["任务", "牵头单位", "责任人", "完成时限"]


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """A config.toml like an operator writes it: data next to the file, one admin."""
    path = tmp_path / "config.toml"
    path.write_text(f'[telegram]\ntoken = "{TOKEN}"\n[storage]\ndir = "data"\n'
                    f"[access]\nadmins = [{ADMIN}]\n{extra}", encoding="utf-8")
    return path


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def line_of(text: str, task_id: str) -> str:
    """The line of a task list that names `task_id`."""
    return next(line for line in text.splitlines() if task_id in line)


def add(ledger: Ledger, title: str, deadline: date | None, owners: tuple[str, ...] = ("张三",)
        ) -> str:
    return ledger.add_task(NewTask(title=title, lead_unit="县自然资源局", owners=owners,
                                   deadline=deadline), who="admin").id


def set_progress(ledger: Ledger, task_id: str, progress: int) -> None:
    ledger.submit_report(task_id, Reading(ReplyKind.PROGRESS, progress=progress,
                                          text=f"进度{progress}%"), who="张三", user_id=ZHANG)


def texts_since(bot: Harness, before: int, chat: int) -> str:
    return "\n".join(m.get("text", "") for m in bot.api.sent[before:] if m["chat"]["id"] == chat)


# ---- 1. answering inside a group ----


@pytest.fixture
async def group_bot(tmp_path: Path) -> AsyncIterator[tuple[Harness, str, dict[str, Any]]]:
    """张三's task posted by the admin in the work group: (bot, task id, the bot's message)."""
    async with Harness(tmp_path / "data", now=DEC1) as bot:
        bot.api.add_group(WORK_GROUP, "重点工作推进群")
        bot.bind("张三", ZHANG)
        bot.bind("李四", LI)
        tid = add(bot.ledger, "世忻铁路复线保德段征地", date(2026, 12, 31))
        assert tid in await bot.answer(ADMIN, f"/task {tid}", chat_id=WORK_GROUP)
        yield bot, tid, bot.api.messages_to(WORK_GROUP)[-1]


async def test_owner_replies_in_a_group_to_the_task_message_and_it_is_recorded(
        group_bot: tuple[Harness, str, dict[str, Any]]) -> None:
    bot, tid, task_message = group_bot
    before = len(bot.api.sent)
    bot.api.send_text(ZHANG, "进度60%，正在清表", chat_id=WORK_GROUP,
                      reply_to=task_message)
    await bot.pump()
    confirmation = [m for m in bot.api.sent[before:] if m["chat"]["id"] == WORK_GROUP]
    assert len(confirmation) == 1
    assert f"已记录 {tid}：进度 60%" in confirmation[0]["text"]
    assert "撤回" in str(confirmation[0].get("reply_markup"))
    # The confirmation quotes the official's message in the busy group.
    quoted = confirmation[0].get("reply_to_message") or {}
    assert quoted.get("text") == "进度60%，正在清表"
    task = bot.ledger.task(tid)
    assert (task.progress, task.latest_note, task.last_report_at) == (
        60, "进度60%，正在清表", DEC1)

    # 交账 in the group: confirmed there, and the admins get the submission to verify.
    before = len(bot.api.sent)
    bot.api.send_text(ZHANG, "已全部完成", chat_id=WORK_GROUP, reply_to=task_message)
    await bot.pump()
    assert "已交账" in texts_since(bot, before, WORK_GROUP)
    assert "【交账】" in texts_since(bot, before, ADMIN)
    assert bot.ledger.task(tid).status is TaskStatus.SUBMITTED


async def test_in_a_group_others_cannot_report_and_plain_messages_are_not_reports(
        group_bot: tuple[Harness, str, dict[str, Any]]) -> None:
    bot, tid, task_message = group_bot
    # Someone who is not the task's 责任人 is told so, in the group; nothing changes.
    refused = await bot.answer(LI, "进度90%", chat_id=WORK_GROUP, reply_to=task_message)
    assert f"{tid} 不是您负责的任务" in refused
    # Group chatter that replies to nobody is not a report, and the bot stays quiet.
    assert await bot.say(ZHANG, "进度80%，今天开会讨论", chat_id=WORK_GROUP) == []
    task = bot.ledger.task(tid)
    assert (task.progress, task.last_report_at, task.latest_note) == (0, None, "")


# ---- 2. [warning] thresholds from config.toml ----

WARNING_TOML = """
[warning]
near_deadline_workdays = 8
near_deadline_progress = 90
behind_schedule_margin = 10
"""


def test_warning_thresholds_are_read_from_the_config_file(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, WARNING_TOML), env={})
    assert (config.warning.near_deadline_workdays, config.warning.near_deadline_progress,
            config.warning.behind_schedule_margin) == (8, 90, 10)
    defaults = load_config(write_config(tmp_path), env={})
    assert (defaults.warning.near_deadline_workdays, defaults.warning.near_deadline_progress,
            defaults.warning.behind_schedule_margin) == (3, 80, 20)


async def test_configured_warning_thresholds_change_the_lights_in_tasks(
        tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, WARNING_TOML), env={})
    async with Harness.from_config(config, now=NOV2) as bot:
        # Opened a month ago, due 12-31, 35% done (序时进度 on 12-01 is about 49%).
        behind = add(bot.ledger, "吉港冠宇水泥技改", date(2026, 12, 31))
        set_progress(bot.ledger, behind, 35)
        bot.clock.set(DEC1)
        # Due in 3 workdays at 85%.
        nearly = add(bot.ledger, "职业中学新校区建设", date(2026, 12, 4))
        set_progress(bot.ledger, nearly, 85)
        # Due in 7 workdays at 50%.
        week = add(bot.ledger, "世忻铁路复线保德段征地", date(2026, 12, 10))
        set_progress(bot.ledger, week, 50)
        listing = await bot.answer(ADMIN, "/tasks")
        api = bot.api
    # margin 10: 35 < 49 − 10; progress 90: 85 < 90; 8 workdays: 7 ≤ 8 and 50 < 90.
    for task_id in (behind, nearly, week):
        assert line_of(listing, task_id).startswith("🟡"), listing

    # The same ledger under the default thresholds: every one of them is green.
    async with Harness(Path(config.storage.dir), now=DEC1, api=api) as bot:
        listing = await bot.answer(ADMIN, "/tasks")
    for task_id in (behind, nearly, week):
        assert line_of(listing, task_id).startswith("🟢"), listing


# ---- 3. lights in the /tasks list ----


async def test_tasks_list_shows_red_yellow_and_green(tmp_path: Path) -> None:
    async with Harness(tmp_path / "data", now=NOV2) as bot:
        bot.bind("张三", ZHANG)
        overdue = add(bot.ledger, "世忻铁路复线保德段征地", date(2026, 11, 20))
        bot.clock.set(DEC1)
        plenty = add(bot.ledger, "职业中学新校区建设", date(2027, 6, 30))
        stuck = add(bot.ledger, "吉港冠宇水泥技改", date(2027, 6, 30))
        bot.ledger.submit_report(stuck, Reading(ReplyKind.DIFFICULTY, text="困难：资金未到位",
                                                detail="资金未到位"), who="张三", user_id=ZHANG)
        listing = await bot.answer(ADMIN, "/tasks")
        assert line_of(listing, overdue).startswith("🔴")
        assert line_of(listing, plenty).startswith("🟢")
        assert line_of(listing, stuck).startswith("🟡")
        # The 责任人 sees the same lights on their own list.
        own = await bot.answer(ZHANG, "/tasks")
        assert line_of(own, overdue).startswith("🔴")
        assert line_of(own, plenty).startswith("🟢")


# ---- 4. [import] year ----


async def send_import(bot: Harness, name: str, data: bytes) -> dict[str, Any]:
    before = len(bot.api.sent)
    bot.api.send_document(ADMIN, name, data, caption="/import")
    await bot.pump()
    return bot.api.sent[before]


async def test_import_year_from_config_fills_deadlines_without_a_year(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[import]\nyear = 2028\n"), env={})
    assert config.imports.year == 2028
    data = csv_bytes([["世忻铁路复线保德段征地", "县自然资源局", "张三", "12月31日"],
                      ["职业中学新校区建设", "县教育局", "赵六", "12月底"],
                      ["吉港冠宇水泥技改", "县工信局", "王五", "2027年3月31日"]])
    async with Harness.from_config(config, now=DEC1) as bot:
        preview = await send_import(bot, "台账.csv", data)
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
        preview = await send_import(bot, "台账.csv", data)
        bot.api.press_button(ADMIN, preview, "IMP ok")
        await bot.pump()
        assert [t.deadline for t in bot.ledger.repo.tasks()] == [date(2026, 12, 31)]


# ---- 5. many bad rows ----


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


# ---- 6. export on the command line while the bot runs ----


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}


def run_export(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "export",
                           str(out)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=_env())


def test_export_cli_works_while_the_bot_holds_the_store(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    holder = DocStore.open(tmp_path / "data")  # the running bot: writable, locked
    try:
        ledger = Ledger(StoreRepository(holder), FixedClock(DEC1))
        tid = add(ledger, "世忻铁路复线保德段征地", date(2027, 12, 31))
        xlsx = tmp_path / "台账.xlsx"
        done = run_export(config, xlsx)
        assert done.returncode == 0, done.stderr
        sheet = openpyxl.load_workbook(xlsx).active
        header = [c.value for c in sheet[1]]
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        assert len(rows) == 1
        assert rows[0][header.index("编号")] == tid
        assert rows[0][header.index("任务")] == "世忻铁路复线保德段征地"
        assert rows[0][header.index("责任人")] == "张三"

        # A change the bot makes afterwards shows in the next export (.csv this time).
        set_progress(ledger, tid, 40)
        out = tmp_path / "台账.csv"
        done = run_export(config, out)
        assert done.returncode == 0, done.stderr
        table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        assert table[0][:2] == ["编号", "任务"]
        assert len(table) == 2
        record = dict(zip(table[0], table[1], strict=True))
        assert record["编号"] == tid and record["任务"] == "世忻铁路复线保德段征地"
        assert record["进度"] in {"40", "40%"}
        # The bot still owns the store and keeps writing.
        set_progress(ledger, tid, 50)
        assert ledger.task(tid).progress == 50
    finally:
        holder.close()


@pytest.mark.parametrize("name", ["台账.pdf", "台账"])
def test_export_cli_refuses_other_file_types(tmp_path: Path, name: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    result = run_export(config, tmp_path / name)
    assert result.returncode == 2 and ".xlsx" in result.stderr
    assert not (tmp_path / name).exists()
