"""The running bot process at the realistic size: start-up time and peak memory.

The store is bench_store's 10,000-task ledger (100,000 history records) plus a journal of
JOURNAL_LINES status reports committed after its last snapshot (each line one
`Ledger.submit_report`: the task, the report, a history record, the counters), as a bot that
crashed or was killed between two snapshots leaves it: the directory is copied while the
writer still has it open (everything committed is fsynced, nothing more is written).

Start-up: process spawn → the first getUpdates the fake Bot API receives (interpreter,
imports, store load + journal replay, repository decode, PTB initialise, post_init), median of
STARTS starts, each on a fresh copy of that directory. Peak RSS: VmHWM from
/proc/<pid>/status after start-up, and after a burst of BURST replies (50 officials × 10 at
once, each answered with 已记录) on the last start.

Diagnostics (no target): the same store opened in this process (load + replay, then the
repository's decode), and the bare import time of the bot's modules.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.bench_e2e import (
    CONCURRENT_OFFICIALS,
    BotProcess,
    Instruments,
    concurrent,
    prepare_chats,
    write_config,
)
from bench.bench_store import BASE_DAY, LedgerData, copy_store, store_bytes, template_store
from bench.common import TOKEN, TZ, Row, services_on, timed
from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.replies import read_reply
from bot.fakeapi import FakeBotApi, FakeBotApiServer

JOURNAL_LINES = 5_000
STARTS = 3
BURST_EACH = 10  # × CONCURRENT_OFFICIALS = 500 replies
TARGET_START_S = 3.0
TARGET_RSS_MB = 200.0


def with_journal(template: Path, data: LedgerData, target: Path, lines: int) -> int:
    """Copy of `template` whose journal holds `lines` committed reports beyond its snapshot;
    returns the journal's line count."""
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-journal-") as tmp:
        store = DocStore.open(copy_store(template, Path(tmp) / "data"),
                              snapshot_every=lines * 10)
        try:
            clock = FixedClock(datetime.combine(BASE_DAY, datetime.min.time(), TZ)
                               .replace(hour=10))
            ledger = services_on(store, clock).ledger
            repo = ledger.repo
            rng = random.Random(9)
            user_of = {p.name: p.user_id or 0 for p in data.officials}
            ids = [t.id for t in data.tasks]
            for n in range(lines):
                task = repo.get_task(rng.choice(ids))
                assert task is not None
                reading = read_reply(f"进度{rng.randint(10, 95)}%，{task.title[:6]}按计划推进",
                                     today=BASE_DAY)
                who = rng.choice(task.owners)
                ledger.submit_report(task.id, reading, who=who, user_id=user_of[who],
                                     source=f"journal:{n}")
            # What a killed bot leaves: the snapshot plus the fsynced journal.
            copy_store(Path(tmp) / "data", target)
        finally:
            store.close()
    return sum(path.read_bytes().count(b"\n") for path in target.glob("journal.*.jsonl"))


def in_process_load(directory: Path) -> tuple[float, float]:
    """(seconds to open + replay the store, seconds for the repository's decode)."""
    seconds, store = timed(lambda: DocStore.open(directory, writable=False))
    try:
        decode, _ = timed(lambda: StoreRepository(store))
    finally:
        store.close()
    return seconds, decode


def import_seconds() -> float:
    """Wall time of a fresh interpreter importing the bot's modules (what `run` needs)."""
    code = "import bot.bootstrap, bot.tg.app, bot.cli"
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   cwd=Path(__file__).resolve().parent.parent)
    return time.monotonic() - start


def run_starts(prepared: Path, data: LedgerData, tmp: Path, rows: list[Row]) -> None:
    starts: list[float] = []
    menus: list[float] = []
    hwm_start: list[int] = []
    burst_rows: list[Row] = []
    for n in range(STARTS):
        run_dir = tmp / f"start{n}"
        run_dir.mkdir()
        data_dir = copy_store(prepared, run_dir / "data")
        api = FakeBotApi(token=TOKEN, bot_username="luoshi_bench_bot")
        inst = Instruments(api)
        last = n == STARTS - 1
        with FakeBotApiServer(api) as server:
            officials = prepare_chats(api, data, CONCURRENT_OFFICIALS) if last else []
            bot = BotProcess(write_config(run_dir, server, data_dir), inst, run_dir / "bot.log")
            try:
                starts.append(bot.wait_ready())
                if inst.first_menu is not None:
                    menus.append(inst.first_menu - bot.spawned)
                time.sleep(0.5)  # let the first poll settle
                hwm_start.append(bot.status("VmHWM"))
                if last:
                    replies, wall = concurrent(api, inst, officials, BURST_EACH)
                    expected = CONCURRENT_OFFICIALS * BURST_EACH
                    hwm = bot.status("VmHWM") / 1024
                    confirmed = len(replies.latencies)
                    burst_rows.append(Row(
                        f"peak RSS (VmHWM) after a burst of {expected} replies",
                        f"{hwm:.0f} MB (VmRSS {bot.status('VmRSS') / 1024:.0f} MB; "
                        f"{confirmed} confirmed in {wall:.1f} s)",
                        f"<= {TARGET_RSS_MB:.0f} MB",
                        hwm <= TARGET_RSS_MB and confirmed == expected))
            finally:
                bot.kill()  # the copy is thrown away: no final snapshot needed
    median = statistics.median(starts)
    rows.append(Row(
        f"start-up: spawn → first getUpdates, {JOURNAL_LINES:,}-line journal, median of "
        f"{len(starts)}",
        f"{median:.2f} s (runs {', '.join(f'{s:.2f}' for s in starts)}; setMyCommands at "
        f"{statistics.median(menus):.2f} s)" if menus else f"{median:.2f} s",
        f"<= {TARGET_START_S:.0f} s", median <= TARGET_START_S))
    hwm_mb = statistics.median(hwm_start) / 1024
    rows.append(Row("peak RSS (VmHWM) after start-up, median",
                    f"{hwm_mb:.0f} MB (runs {', '.join(f'{h / 1024:.0f}' for h in hwm_start)})",
                    f"<= {TARGET_RSS_MB:.0f} MB", hwm_mb <= TARGET_RSS_MB))
    rows += burst_rows


def run() -> list[Row]:
    rows: list[Row] = []
    try:
        template, data = template_store()
        with tempfile.TemporaryDirectory(prefix="luoshi-bench-process-") as tmp_name:
            tmp = Path(tmp_name)
            prepared = tmp / "prepared"
            seconds, lines = timed(lambda: with_journal(template, data, prepared, JOURNAL_LINES))
            rows.append(Row("store: snapshot + journal beyond it",
                            f"{store_bytes(prepared) / 1e6:.1f} MB, {lines:,} journal lines "
                            f"(prepared in {seconds:.1f} s)"))
            run_starts(prepared, data, tmp, rows)
            load, decode = in_process_load(prepared)
            rows.append(Row("  in this process: DocStore.open (load + replay) / "
                            "StoreRepository decode", f"{load:.2f} s / {decode:.2f} s"))
        rows.append(Row("  in a fresh interpreter: import bot.bootstrap, bot.tg.app, bot.cli",
                        f"{import_seconds():.2f} s"))
    except Exception as err:  # report what we have, never hide the failure
        rows.append(Row("process: run", f"{type(err).__name__}: {err}", "completes", False))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
