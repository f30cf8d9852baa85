"""The durable write path of ONE status report in a realistic ledger, against alternatives.

The ledger (also used by bench_e2e, bench_process and bench_ledger_io through
`realistic_data` / `template_store`): 10,000 tasks, 500 bound officials in 50 units, 100,000
history records (10 per task: 建账, then 催办 / 进度 / 导入更新) and one Report document per
进度 record (~36,000), every task carrying its latest report, plus the outbox a bot that has
run for a while holds (28 workdays × 3,500 reminders). Built by committing through
`StoreRepository` into a `DocStore` and closing it (a snapshot).

Measured side by side in one run, interleaved write by write (same disk, same moment):

(a) ours — `Ledger.submit_report` of a 进度60% reading on that ledger: what it builds, then
    `StoreRepository.commit` → one journal line + fsync (the commit alone is timed as well);
(b) stock TinyDB `JSONStorage` (no caching middleware) holding the same documents in one file,
    updating one task document (read + rewrite + fsync of the whole file, ~1 s: few writes);
(c) SQLite, WAL, `synchronous=FULL`, the same documents, UPDATE task + INSERT history in one
    transaction;
(d) a bare append + fsync of one ~300-byte line: the disk's floor for a durable write.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import JSONStorage

from bench.common import TZ, Row, make_officials, make_tasks, percentile, services_on, unit_name
from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import REPORT_COUNTER, TASK_COUNTER
from bot.domain.model import (
    DeliveryStatus,
    HistoryEntry,
    OutboxEntry,
    Person,
    Report,
    Task,
    TaskStatus,
    Unit,
)
from bot.domain.ports import Change
from bot.domain.replies import read_reply

# ---- parameters ------------------------------------------------------------------------------

TASKS = 10_000
OFFICIALS = 500
UNITS = 50
HISTORY = 100_000
BASE_DAY = date(2026, 12, 1)  # the ledger's "today"; tasks are due around it
OURS_WRITES = 1000  # (a), (c), (d): interleaved, one of each per round
TINYDB_WRITES = 10  # (b): about a second each
TINYDB_BUDGET = 45.0  # seconds; stop (b) early beyond this
TARGET_P99_MS = 2.0
OUTBOX_WORKDAYS = 28  # about the 40 days jobs.dispatch keeps
OUTBOX_PER_DAY = 3_500  # the plan sends 3,000–7,000 reminders a workday at 10,000 tasks
_OUTBOX_KINDS = ("daily", "xun", "monthly", "quarterly", "overdue")
APPEND_LINE_BYTES = 300

# ---- the realistic ledger (shared with the other benchmark modules) --------------------------

_PHRASES = ("已完成前期手续", "正在组织施工", "资金已拨付到位", "已召开专题推进会",
            "正在办理用地审批", "已完成招标", "主体工程过半", "正在整改验收问题", "已对接省厅",
            "按计划推进中")


@dataclass
class LedgerData:
    officials: list[Person]
    units: list[Unit]
    tasks: list[Task]
    history: list[HistoryEntry]
    reports: list[Report]
    counters: dict[str, int] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)

    def by_task(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}


def realistic_data(tasks: int = TASKS, history: int = HISTORY, *, officials: int = OFFICIALS,
                   units: int = UNITS, seed: int = 11) -> LedgerData:
    """`tasks` open tasks (bench.common.make_tasks) with `history` records spread evenly over
    them; every 进度 record has its Report and the task ends with that report's state."""
    rng = random.Random(seed)
    people = make_officials(officials, units)
    user_of = {p.name: p.user_id or 0 for p in people}
    # Canonical ids (T0001 … T9999, T10000), as the bot reads them back from its own messages
    # (bot.domain.text.normalize_task_id); make_tasks numbers T00001 ….
    task_list = [t.with_changes(id=f"T{n:04d}")
                 for n, t in enumerate(make_tasks(tasks, BASE_DAY, people, seed=seed), 1)]
    per_task, extra = divmod(history, len(task_list))
    records: list[HistoryEntry] = []
    reports: list[Report] = []
    final: list[Task] = []
    for index, task in enumerate(task_list):
        count = per_task + (1 if index < extra else 0)
        at = task.created_at
        records.append(HistoryEntry(task.id, at, "admin:1", "created", None, TaskStatus.OPEN,
                                    "建账"))
        progress, note, last_at, last_id = 0, "", None, ""
        for _ in range(count - 1):
            at = at + timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600))
            roll = rng.random()
            if roll < 0.45:
                records.append(HistoryEntry(task.id, at, "system", "remind",
                                            note="、".join(task.owners)))
            elif roll < 0.85:
                who = rng.choice(task.owners)
                before = {"status": "open", "progress": progress, "latest_note": note,
                          "last_report_at": last_at.isoformat() if last_at else None,
                          "last_report": last_id, "submitted_by": "", "submission": ""}
                progress = min(95, progress + rng.randint(5, 20))
                note = f"进度{progress}%，{rng.choice(_PHRASES)}"
                last_id = f"R{len(reports) + 1:06d}"
                last_at = at
                # Sources that never collide with the fake's own message ids.
                reports.append(Report(id=last_id, task_id=task.id, who=who,
                                      user_id=user_of[who], at=at, kind="progress", text=note,
                                      progress=progress, before=before,
                                      source=f"{user_of[who]}:{900_000 + len(reports)}"))
                records.append(HistoryEntry(task.id, at, who, "progress",
                                            note=f"{progress}%：{note}"))
            else:
                records.append(HistoryEntry(
                    task.id, at, "admin:1", "import_updated", note="完成时限",
                    changes={"deadline": ["2026-12-31", "2027-03-31"]}))
        final.append(task.with_changes(progress=progress, latest_note=note,
                                       last_report_at=last_at, last_report=last_id,
                                       goal=f"{task.title}，按期保质完成"))
    return LedgerData(
        officials=people, units=[Unit(unit_name(i)) for i in range(units)], tasks=final,
        history=records, reports=reports,
        counters={TASK_COUNTER: len(final), REPORT_COUNTER: len(reports)},
        outbox=outbox_entries(final, user_of, rng))


def outbox_entries(tasks: list[Task], user_of: dict[str, int],
                   rng: random.Random) -> list[OutboxEntry]:
    """What a bot that has run for a while holds: the reminders of the last OUTBOX_WORKDAYS
    workdays (jobs.dispatch keeps 40 days), OUTBOX_PER_DAY per day."""
    entries: list[OutboxEntry] = []
    day = BASE_DAY
    for _ in range(OUTBOX_WORKDAYS):
        day -= timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        sent_at = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=9)
        # 3,500 of 10,000 tasks a day; a smaller ledger in proportion
        per_day = min(len(tasks), OUTBOX_PER_DAY * len(tasks) // TASKS)
        for n, task in enumerate(rng.sample(tasks, per_day)):
            person = task.owners[0]
            entries.append(OutboxEntry(day, task.id, person, rng.choice(_OUTBOX_KINDS),
                                       DeliveryStatus.SENT, sent_at + timedelta(seconds=n / 28),
                                       message_id=10_000_000 + len(entries),
                                       chat_id=user_of[person]))
    return entries


def populate(store: DocStore, data: LedgerData, *, chunk: int = 1000) -> None:
    """Commit the ledger through the repository, `chunk` tasks (with their history and
    reports) per journal line."""
    repo = StoreRepository(store)
    repo.commit(Change(people=list(data.officials), units=list(data.units),
                       counters=dict(data.counters)))
    history: dict[str, list[HistoryEntry]] = {}
    for entry in data.history:
        history.setdefault(entry.task_id, []).append(entry)
    reports: dict[str, list[Report]] = {}
    for report in data.reports:
        reports.setdefault(report.task_id, []).append(report)
    for start in range(0, len(data.tasks), chunk):
        tasks = data.tasks[start:start + chunk]
        repo.commit(Change(
            tasks=tasks,
            history=[h for t in tasks for h in history.get(t.id, ())],
            reports=[r for t in tasks for r in reports.get(t.id, ())]))
    for start in range(0, len(data.outbox), chunk * 5):
        repo.commit(Change(outbox=data.outbox[start:start + chunk * 5]))


def build_store(directory: Path, data: LedgerData) -> None:
    """A closed store (snapshot written, empty journal) holding `data`."""
    store = DocStore.open(directory)
    try:
        populate(store, data)
    finally:
        store.close()


_TEMPLATES: dict[tuple[int, int], tuple[Path, LedgerData]] = {}
_TEMP_ROOT: list[tempfile.TemporaryDirectory[str]] = []


def template_store(tasks: int = TASKS, history: int = HISTORY) -> tuple[Path, LedgerData]:
    """A built store directory (do not modify it: copy it with `copy_store`) and its data,
    built once per process for each size and removed at exit."""
    key = (tasks, history)
    if key not in _TEMPLATES:
        if not _TEMP_ROOT:
            root = tempfile.TemporaryDirectory(prefix="luoshi-bench-tpl-")
            _TEMP_ROOT.append(root)
            atexit.register(root.cleanup)
        data = realistic_data(tasks, history)
        directory = Path(_TEMP_ROOT[0].name) / f"store-{tasks}-{history}"
        build_store(directory, data)
        _TEMPLATES[key] = (directory, data)
    return _TEMPLATES[key]


def copy_store(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock"))
    return target


def store_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


# ---- the four write paths --------------------------------------------------------------------


def _encode(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class Ours:
    """Ledger.submit_report on the realistic store; the repository commit is timed too."""

    def __init__(self, directory: Path, data: LedgerData, rng: random.Random) -> None:
        self.store = DocStore.open(directory)
        clock = FixedClock(datetime.combine(BASE_DAY, datetime.min.time(), TZ).replace(hour=10))
        self.ledger = services_on(self.store, clock).ledger
        self.repo = self.ledger.repo
        self.reading = read_reply("进度60%", today=BASE_DAY)
        self.user_of = {p.name: p.user_id or 0 for p in data.officials}
        self.task_ids = [t.id for t in data.tasks]
        self.rng = rng
        self.commits: list[float] = []
        self.count = 0
        inner = self.repo.commit

        def commit(change: Change) -> None:
            start = time.perf_counter()
            inner(change)
            self.commits.append((time.perf_counter() - start) * 1000)

        self.repo.commit = commit  # type: ignore[method-assign]

    def write(self) -> None:
        task = self.repo.get_task(self.rng.choice(self.task_ids))
        assert task is not None
        who = task.owners[0]
        self.count += 1
        self.ledger.submit_report(task.id, self.reading, who=who, user_id=self.user_of[who],
                                  source=f"bench:{self.count}")

    def close(self) -> None:
        self.store.close()


class Sqlite:
    """SQLite in WAL mode with synchronous=FULL; one transaction per report."""

    def __init__(self, path: Path, data: LedgerData, rng: random.Random) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript("""
            CREATE TABLE tasks (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE reports (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE outbox (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE history (seq INTEGER PRIMARY KEY, task TEXT NOT NULL,
                                  doc TEXT NOT NULL);
            CREATE INDEX history_task ON history (task);
        """)
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO tasks VALUES (?, ?)",
                            ((t.id, _encode(t.to_doc())) for t in data.tasks))
        self.db.executemany("INSERT INTO reports VALUES (?, ?)",
                            ((r.id, _encode(r.to_doc())) for r in data.reports))
        self.db.executemany("INSERT INTO outbox VALUES (?, ?)",
                            ((o.key, _encode(o.to_doc())) for o in data.outbox))
        self.db.executemany("INSERT INTO history (task, doc) VALUES (?, ?)",
                            ((h.task_id, _encode(h.to_doc())) for h in data.history))
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.tasks = data.tasks
        self.rng = rng
        self.now = datetime.combine(BASE_DAY, datetime.min.time(), TZ).replace(hour=10)

    def write(self) -> None:
        task = self.rng.choice(self.tasks).with_changes(progress=60, latest_note="进度60%",
                                                        last_report_at=self.now)
        entry = HistoryEntry(task.id, self.now, task.owners[0], "progress", note="60%：进度60%")
        db = self.db
        db.execute("BEGIN")
        db.execute("UPDATE tasks SET doc = ? WHERE id = ?", (_encode(task.to_doc()), task.id))
        db.execute("INSERT INTO history (task, doc) VALUES (?, ?)",
                   (task.id, _encode(entry.to_doc())))
        db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class Append:
    """One ~300-byte line appended and fsynced: the floor for any durable write."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = _encode({"seq": 0, "task": "T00001", "note": "x" * APPEND_LINE_BYTES})
        self.line = (line[:APPEND_LINE_BYTES - 1] + "\n").encode("utf-8")

    def write(self) -> None:
        os.write(self.fd, self.line)
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def tinydb_file(path: Path, data: LedgerData) -> None:
    """The same documents in one stock TinyDB file (written once, the way TinyDB would)."""
    tables: dict[str, dict[str, Any]] = {
        "tasks": {str(n): t.to_doc() for n, t in enumerate(data.tasks, 1)},
        "reports": {str(n): r.to_doc() for n, r in enumerate(data.reports, 1)},
        "outbox": {str(n): o.to_doc() for n, o in enumerate(data.outbox, 1)},
        "history": {str(n): h.to_doc() for n, h in enumerate(data.history, 1)},
    }
    storage = JSONStorage(str(path))
    try:
        storage.write(tables)
    finally:
        storage.close()


def tinydb_writes(path: Path, count: int, budget: float, rng: random.Random) -> list[float]:
    """Update one task document per write with stock TinyDB (JSONStorage, no caching)."""
    samples: list[float] = []
    db = TinyDB(str(path), storage=JSONStorage)
    try:
        table = db.table("tasks", cache_size=0)
        deadline = time.monotonic() + budget
        for _ in range(count):
            doc_id = rng.randint(1, TASKS)
            start = time.perf_counter()
            table.update({"progress": 60, "latest_note": "进度60%"}, doc_ids=[doc_id])
            samples.append((time.perf_counter() - start) * 1000)
            if time.monotonic() > deadline:
                break
    finally:
        db.close()
    return samples


# ---- the run ---------------------------------------------------------------------------------


def _p(samples: list[float]) -> str:
    return (f"p50 {percentile(samples, 0.5):.2f} ms, p99 {percentile(samples, 0.99):.2f} ms, "
            f"max {max(samples):.2f} ms (n={len(samples)})")


def interleaved(writers: list[Callable[[], None]], rounds: int) -> list[list[float]]:
    """One write of each writer per round, in a rotating order; ms per write, per writer."""
    samples: list[list[float]] = [[] for _ in writers]
    for round_no in range(rounds):
        for offset in range(len(writers)):
            k = (round_no + offset) % len(writers)
            start = time.perf_counter()
            writers[k]()
            samples[k].append((time.perf_counter() - start) * 1000)
    return samples


def run() -> list[Row]:
    rows: list[Row] = []
    start = time.monotonic()
    template, data = template_store()
    built = time.monotonic() - start
    rows.append(Row(
        "ledger: 10,000 tasks, 500 officials, 50 units, 100,000 history records",
        f"{len(data.reports):,} reports, {len(data.outbox):,} outbox entries "
        f"({OUTBOX_WORKDAYS} workdays of reminders); store {store_bytes(template) / 1e6:.1f} MB "
        "on disk; "
        f"built in {built:.1f} s"))
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-store-") as tmp:
        root = Path(tmp)
        ours = Ours(copy_store(template, root / "data"), data, random.Random(6))
        sqlite = Sqlite(root / "ledger.sqlite", data, random.Random(7))
        append = Append(root / "append.log")
        try:
            for writer in (ours.write, sqlite.write, append.write):  # warm up
                for _ in range(20):
                    writer()
            ours.commits.clear()
            gc.collect()
            ours_ms, sqlite_ms, append_ms = interleaved(
                [ours.write, sqlite.write, append.write], OURS_WRITES)
            commits = list(ours.commits)
        finally:
            ours.close()
            sqlite.close()
            append.close()

        tiny_path = root / "tinydb.json"
        tinydb_file(tiny_path, data)
        tiny_size = tiny_path.stat().st_size
        tiny_ms = tinydb_writes(tiny_path, TINYDB_WRITES, TINYDB_BUDGET, rng)

    ours_p99 = percentile(ours_ms, 0.99)
    rows.append(Row("(a) ours: Ledger.submit_report (build change + journal line + fsync)",
                    _p(ours_ms), f"p99 <= {TARGET_P99_MS:.0f} ms", ours_p99 <= TARGET_P99_MS))
    rows.append(Row("(a) ours: of which StoreRepository.commit", _p(commits)))
    rows.append(Row(f"(b) stock TinyDB JSONStorage, one task doc updated, file "
                    f"{tiny_size / 1e6:.0f} MB", _p(tiny_ms)))
    rows.append(Row("(c) SQLite WAL synchronous=FULL: UPDATE task + INSERT history",
                    _p(sqlite_ms)))
    rows.append(Row(f"(d) bare append + fsync of a {APPEND_LINE_BYTES}-byte line (disk floor)",
                    _p(append_ms)))
    a50, a99 = percentile(append_ms, 0.5), percentile(append_ms, 0.99)
    o50 = percentile(ours_ms, 0.5)
    rows.append(Row("ratio ours / bare append (p50, p99)",
                    f"{o50 / a50:.2f}x, {ours_p99 / a99:.2f}x"))
    rows.append(Row("ratio TinyDB / ours (p50, p99)",
                    f"{statistics.median(tiny_ms) / o50:,.0f}x, "
                    f"{percentile(tiny_ms, 0.99) / ours_p99:,.0f}x"))
    rows.append(Row("ratio SQLite / ours (p50, p99)",
                    f"{percentile(sqlite_ms, 0.5) / o50:.2f}x, "
                    f"{percentile(sqlite_ms, 0.99) / ours_p99:.2f}x"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
