"""When the running bot folds its journal into a snapshot, and when it backs the store up."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.adapters.backups import backup_root, list_backups
from bot.adapters.docstore import DocStore
from bot.domain.clock import FixedClock
from bot.runtime import SnapshotPolicy
from tests.conftest import TZ


class Seconds:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def journal_segments(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("journal."))


def commit(store: DocStore, n: int) -> None:
    store.commit([("tasks", f"T{n}", {"id": f"T{n}"})], [(f"T{n}", {"event": "created"})])


def policy(store: DocStore, seconds: Seconds) -> SnapshotPolicy:
    clock = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ))
    return SnapshotPolicy(store, clock, keep_backups=14, quiet_seconds=60, monotonic=seconds)


def test_a_change_is_snapshotted_after_a_quiet_minute_then_backed_up(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path / "data", snapshot_every=1000)
    seconds = Seconds()
    snap = policy(store, seconds)
    commit(store, 1)
    before = journal_segments(store.directory)

    seconds.now += 10
    asyncio.run(snap())
    assert journal_segments(store.directory) == before  # too soon: nothing rewritten
    assert list_backups(store.directory) == []

    seconds.now += 55
    asyncio.run(snap())
    assert journal_segments(store.directory) != before  # a snapshot rotated the journal
    reopened = DocStore.open(store.directory, writable=False)
    assert reopened.get("tasks", "T1") == {"id": "T1"}
    reopened.close()
    assert list_backups(store.directory) == ["2026-12-02"]
    store.close()


def test_many_commits_are_snapshotted_without_waiting_a_minute(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path / "data", snapshot_every=3)
    seconds = Seconds()
    snap = policy(store, seconds)
    for n in range(3):
        commit(store, n)
    before = journal_segments(store.directory)
    seconds.now += 5
    asyncio.run(snap())
    assert journal_segments(store.directory) != before
    store.close()


def test_nothing_changed_means_no_snapshot(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path / "data", snapshot_every=3)
    commit(store, 1)
    store.snapshot()
    seconds = Seconds()
    snap = policy(store, seconds)
    before = journal_segments(store.directory)
    seconds.now += 3600
    asyncio.run(snap())
    assert journal_segments(store.directory) == before
    store.close()


def test_a_journal_left_by_a_crash_is_snapshotted_before_the_days_backup(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path / "data", snapshot_every=1000)
    commit(store, 1)
    store.snapshot()
    commit(store, 2)  # only in the journal when the process dies
    store._close_files()  # a crash: no final snapshot
    store = DocStore.open(tmp_path / "data", snapshot_every=1000)
    seconds = Seconds()
    snap = policy(store, seconds)
    asyncio.run(snap())
    assert list_backups(store.directory) == []  # not the stale snapshot
    seconds.now += 61
    asyncio.run(snap())
    [day] = list_backups(store.directory)
    store.close()
    assert day == "2026-12-02"
    with DocStore.open(backup_root(store.directory) / day, writable=False) as backup:
        assert backup.get("tasks", "T2") == {"id": "T2"}  # the crash's journal is in it
