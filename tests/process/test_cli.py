"""`python -m bot` subcommands run as their own process, as an operator runs them: import
and export (also next to a running bot that holds the store), score, and check/run refusing a
damaged store. The same commands in this process are tested at their subject's level."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.replies import Reading, ReplyKind
from tests.chat.test_bulletin_chat import seed
from tests.chat.test_ledger_chat import GOOD, workbook
from tests.conftest import DEC1, ROOT, ZHANG
from tests.process.test_e2e import _env
from tests.store.test_store_integrity import DAY, backed_up_store, write_config
from tests.support.harness import Harness

pytestmark = pytest.mark.slow


def add(ledger: Ledger, title: str, deadline: date | None, owners: tuple[str, ...] = ("张三",)
        ) -> str:
    return ledger.add_task(NewTask(title=title, lead_unit="县自然资源局", owners=owners,
                                   deadline=deadline), who="admin").id


def set_progress(ledger: Ledger, task_id: str, progress: int) -> None:
    ledger.submit_report(task_id, Reading(ReplyKind.PROGRESS, progress=progress,
                                          text=f"进度{progress}%"), who="张三", user_id=ZHANG)


def run_export(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "export",
                           str(out)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=_env())


# ---- import and export -----------------------------------------------------------------------


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


# ---- export while the bot holds the store ---------------------------------------------------


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


# ---- score --------------------------------------------------------------------------------------


def test_score_cli_writes_itemised_workbook(tmp_path: Path) -> None:
    async def build() -> None:
        async with Harness(tmp_path / "data") as harness:
            await seed(harness)

    asyncio.run(build())
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    out = tmp_path / "scores.xlsx"
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "score",
                             "--period", "2026-11", str(out)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    units = list(book["单位得分"].iter_rows(values_only=True))
    assert units[0][:3] == ("名次", "单位", "得分")
    assert [row[1] for row in units[1:]] == ["县教育局", "县卫健局"]
    items = list(book["扣分明细"].iter_rows(values_only=True))
    assert any(row[1] == "T0002" and row[2] == "逾期工作日" for row in items[1:])
    bad = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "score",
                          "--period", "2026-13", str(out)], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "2026-Q4" in bad.stderr


# ---- check and run refuse a damaged store ------------------------------------------------------


def test_history_deleted_check_exits_3_naming_it_and_the_newest_good_backup(
        tmp_path: Path) -> None:
    data = backed_up_store(tmp_path)
    (data / "history.jsonl").unlink()
    config = write_config(tmp_path)
    for command in ("check", "run"):
        result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), command],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 3, result.stderr
        assert "history.jsonl" in result.stderr and "missing" in result.stderr
        assert f"python -m bot restore {DAY.isoformat()}" in result.stderr
        assert "Traceback" not in result.stderr
