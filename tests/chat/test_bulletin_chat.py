"""工作通报 and 考核 through the bot: the scheduled bulletin, /report, /score, the CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from bot.adapters.chart import find_cjk_font
from bot.domain.ledger import NewTask
from bot.domain.replies import Reading, ReplyKind
from jobs.schedule import bulletin_job
from tests.support.harness import ADMIN, TZ, Harness

GROUP, WORK = -100800, -100801
ZHANG, LI = 2001, 2002


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=TZ)


async def seed(bot: Harness) -> None:
    """Two units in November: 县教育局 closes on time; 县卫健局 lets one task slip."""
    bot.clock.set(at(11, 2))
    ledger = bot.ledger
    school = ledger.add_task(NewTask("职业中学新校区", "县教育局", ("李四",), date(2026, 11, 20)),
                             who="admin")
    hospital = ledger.add_task(NewTask("中医院迁建项目一期工程", "县卫健局", ("张三",),
                                       date(2026, 11, 24)), who="admin")
    bot.clock.set(at(11, 18))
    ledger.submit_report(school.id, Reading(ReplyKind.COMPLETION, progress=100, text="已完成"),
                         who="李四", user_id=LI)
    ledger.verify(school.id, who="督查室")
    del hospital


@pytest.fixture
async def bot(tmp_path: Path):
    async with Harness(tmp_path / "data", admin_group=GROUP) as harness:
        harness.api.add_group(GROUP, "县政府督查室")
        harness.bind("张三", ZHANG)
        harness.bind("李四", LI)
        await seed(harness)
        yield harness


def group_texts(bot: Harness) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages_to(GROUP)]


async def test_bulletin_goes_out_on_the_first_workday_once(bot: Harness) -> None:
    bot.clock.set(at(12, 1, 9))  # Tue 1 Dec: first workday of the month and of 上旬
    await bulletin_job(bot.services)
    texts = [t for t in group_texts(bot) if "工作通报" in t]
    assert any("11月下旬（11月21日—11月30日）" in t for t in texts)  # the previous 旬
    month = next(t for t in texts if "（11月1日—11月30日）" in t)
    assert "1. 县教育局" in month and "2. 县卫健局" in month
    assert "🏅 红榜：县教育局" in month
    assert "县卫健局：T0002 中医院迁建项目一期工程（逾期 4 个工作日，张三）" in month
    photos = [m for m in bot.api.messages_to(GROUP) if "photo" in m]
    # A chart with each bulletin; text only on a machine without a CJK font (never boxes).
    assert len(photos) == (len(texts) if find_cjk_font() else 0)
    assert bot.ledger.repo.bulletin_ranks("2026-11") == {"县教育局": 1, "县卫健局": 2}
    before = len(bot.api.messages_to(GROUP))
    await bulletin_job(bot.services)
    assert len(bot.api.messages_to(GROUP)) == before


async def test_no_bulletin_on_other_days(bot: Harness) -> None:
    bot.clock.set(at(12, 2, 9))
    await bulletin_job(bot.services)
    assert group_texts(bot) == []


async def test_report_and_score_on_demand(bot: Harness) -> None:
    bot.clock.set(at(12, 3, 10))
    text = await bot.answer(ADMIN, "/report 月")
    assert "工作通报" in text and "县教育局" in text
    one = await bot.answer(ADMIN, "/report 月 县卫健局")
    assert "县卫健局" in one and "县教育局" not in one.split("\n", 2)[-1]
    assert "已有单位" in await bot.answer(ADMIN, "/report 月 县不存在局")
    score = await bot.answer(ADMIN, "/score 2026-11")
    assert "考核得分" in score and "逾期" in score and "按时办结 1 项 +2" in score
    assert "用法：/score" in await bot.answer(ADMIN, "/score 明年")
    assert "仅限督查室" in await bot.answer(ZHANG, "/score")


def test_score_cli_writes_itemised_workbook(tmp_path: Path) -> None:
    import asyncio

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
