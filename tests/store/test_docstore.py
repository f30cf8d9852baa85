"""The journaled document store and the atomic TinyDB storage: durability and crash safety."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB

from bot.adapters import docstore as docstore_module
from bot.adapters.atomic_storage import AtomicJSONStorage
from bot.adapters.docstore import (
    DocStore,
    StoreError,
    StoreLockedError,
    StoreWriteError,
)


def task(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"T{n}", "title": f"落实第{n}项工作", "status": "open", **extra}


def fill(store: DocStore, first: int, last: int) -> None:
    """Commit tasks first..last, each with one history record."""
    for n in range(first, last + 1):
        store.commit([("tasks", f"T{n}", task(n))], [(f"T{n}", {"event": "created", "n": n})])


def state(store: DocStore) -> dict[str, Any]:
    """Everything observable about a store, for comparing two of them."""
    keys = sorted({k for name in ("tasks", "people") for k in store.all(name)}
                  | {f"T{n}" for n in range(100)})
    return {
        "seq": store.seq,
        "tasks": dict(store.all("tasks")),
        "people": dict(store.all("people")),
        "history": {k: store.history(k) for k in keys if store.history(k)},
        "history_count": store.history_count(),
    }


def snapshot_copy(src: Path, dst: Path) -> Path:
    """The files as a crashed process would have left them at this instant."""
    shutil.copytree(src, dst)
    return dst


def crash_image(directory: Path) -> Path:
    """``snapshot_copy`` into a fresh sibling directory."""
    return snapshot_copy(directory, directory.with_name(directory.name + "-crashed"))


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("journal.*.jsonl"))


def reopen_state(directory: Path) -> dict[str, Any]:
    with DocStore.open(directory) as store:
        return state(store)


# ---- basics -------------------------------------------------------------------------------


def test_commit_then_reopen_returns_the_data(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path / "data")
    seq = store.commit([("tasks", "T1", task(1)), ("people", "张三", {"name": "张三"})],
                       [("T1", {"event": "created"})])
    assert seq == 1 == store.seq
    assert store.get("tasks", "T1") == task(1)
    assert store.get("tasks", "missing") is None
    assert store.get("nope", "T1") is None
    before = state(store)
    store.close()

    reopened = DocStore.open(tmp_path / "data")
    assert state(reopened) == before
    assert reopened.get("people", "张三") == {"name": "张三"}
    reopened.close()


def test_all_is_a_read_only_live_view(tmp_path: Path) -> None:
    with DocStore.open(tmp_path) as store:
        view = store.all("tasks")
        assert len(view) == 0
        store.commit([("tasks", "T1", task(1))])
        assert dict(view) == {"T1": task(1)}
        with pytest.raises(TypeError):
            view["T2"] = task(2)  # type: ignore[index]


def test_reads_are_copies_a_caller_cannot_change_the_store(tmp_path: Path) -> None:
    with DocStore.open(tmp_path) as store:
        store.commit([("tasks", "T1", task(1))])
        got = store.get("tasks", "T1")
        assert got == task(1)
        got["status"] = "closed"  # a careless caller
        assert store.get("tasks", "T1") == task(1)
        assert store.docs("tasks") == [task(1)]
        assert store.docs("never-used") == []


def test_a_snapshot_written_by_stock_tinydb_loads(tmp_path: Path) -> None:
    """Any valid TinyDB layout of ledger.json loads (a hand-repaired file, an old backup)."""
    ledger = TinyDB(tmp_path / "ledger.json", storage=AtomicJSONStorage, indent=2)
    ledger.table("_meta").insert({"seq": 0, "format": 1})
    ledger.table("tasks").insert({"key": "T1", "doc": task(1)})
    ledger.close()
    with DocStore.open(tmp_path) as store:
        assert store.get("tasks", "T1") == task(1)
        store.commit([("tasks", "T2", task(2))])
    with DocStore.open(tmp_path) as store:  # rewritten in the store's own layout
        assert dict(store.all("tasks")) == {"T1": task(1), "T2": task(2)}
    assert (tmp_path / "ledger.json").read_text(encoding="utf-8").count("\n") > 4


def test_a_damaged_document_line_in_the_snapshot_is_named(tmp_path: Path) -> None:
    with DocStore.open(tmp_path) as store:
        fill(store, 1, 3)
    ledger = tmp_path / "ledger.json"
    lines = ledger.read_text(encoding="utf-8").split("\n")
    broken = next(i for i, line in enumerate(lines) if '"T2"' in line)
    lines[broken] = lines[broken][:25]
    ledger.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(StoreError, match=f"line {broken + 1}"):
        DocStore.open(tmp_path)
    lines[broken] = ""
    ledger.write_text("\n".join(lines[:-3]), encoding="utf-8")  # cut short as well
    with pytest.raises(StoreError, match=str(ledger)):
        DocStore.open(tmp_path, writable=False)


def test_history_moves_to_disk_at_a_snapshot_and_reads_the_same(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path)
    fill(store, 1, 3)
    store.commit([], [("T1", {"event": "note", "text": "协调土地"})])
    before = {k: store.history(k) for k in ("T1", "T2", "T3")}
    store.snapshot()
    assert store._history_mem == {}  # nothing held as text any more
    assert {k: store.history(k) for k in ("T1", "T2", "T3")} == before
    store.commit([], [("T1", {"event": "later"})])  # one on disk side, one pending
    assert [r["event"] for r in store.history("T1")] == ["created", "note", "later"]
    store.close()
    with DocStore.open(tmp_path, writable=False) as reader:
        assert [r["event"] for r in reader.history("T1")] == ["created", "note", "later"]


def test_delete(tmp_path: Path) -> None:
    with DocStore.open(tmp_path) as store:
        fill(store, 1, 3)
        store.commit([("tasks", "T2", None), ("tasks", "never-existed", None)])
        assert store.get("tasks", "T2") is None
        assert set(store.all("tasks")) == {"T1", "T3"}
        store.snapshot()
        store.commit([("tasks", "T3", None)])
    with DocStore.open(tmp_path) as store:
        assert set(store.all("tasks")) == {"T1"}
        assert store.history("T2") == [{"event": "created", "n": 2}]  # history is kept


def test_history_per_key_in_order(tmp_path: Path) -> None:
    with DocStore.open(tmp_path, snapshot_every=3) as store:
        for n in range(10):
            store.commit([], [("A", {"n": n}), ("B", {"n": -n})])
            if store.snapshot_due():
                store.snapshot()
        store.commit([], [("A", {"n": 10}), ("A", {"n": 11})])
        assert [r["n"] for r in store.history("A")] == list(range(12))
        assert [r["n"] for r in store.history("B")] == [-n for n in range(10)]
        assert store.history("C") == []
        assert store.history_count() == 22
    with DocStore.open(tmp_path) as store:
        assert [r["n"] for r in store.history("A")] == list(range(12))
        assert store.history_count() == 22


def test_empty_commit_is_a_noop_and_bad_puts_are_rejected(tmp_path: Path) -> None:
    with DocStore.open(tmp_path) as store:
        assert store.commit([]) == 0
        with pytest.raises(ValueError):
            store.commit([("_meta", "x", {})])
        with pytest.raises(TypeError):
            store.commit([("tasks", "T1", ["not", "a", "dict"])])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            store.commit([("tasks", "T1", {"x": object()})])
        assert store.seq == 0
        assert store.commit([("tasks", "T1", task(1))]) == 1
    assert reopen_state(tmp_path)["seq"] == 1


# ---- snapshots and journal replay ---------------------------------------------------------


def test_snapshot_then_more_commits_then_reopen(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path, snapshot_every=5)
    fill(store, 1, 4)
    assert not store.snapshot_due()
    fill(store, 5, 5)
    assert store.snapshot_due()
    store.snapshot()
    assert not store.snapshot_due()
    assert [p.name for p in segments(tmp_path)] == ["journal.000000000006.jsonl"]
    fill(store, 6, 8)
    store.commit([("tasks", "T1", task(1, status="done"))], [("T1", {"event": "done"})])
    expected = state(store)

    # Reopen from the snapshot + journal (no final snapshot: a crash).
    crashed = crash_image(tmp_path)
    assert reopen_state(crashed) == expected
    store.close()
    assert reopen_state(tmp_path) == expected

    ledger = TinyDB(tmp_path / "ledger.json", storage=AtomicJSONStorage)
    assert ledger.table("_meta").all()[0]["seq"] == 9
    docs = {d["key"]: d["doc"] for d in ledger.table("tasks").all()}
    assert docs["T1"]["status"] == "done"
    assert "落实" in (tmp_path / "ledger.json").read_text(encoding="utf-8")  # ensure_ascii off
    ledger.close()


def test_close_writes_a_final_snapshot_only_if_something_changed(tmp_path: Path) -> None:
    with DocStore.open(tmp_path) as store:
        fill(store, 1, 3)
    assert all(p.stat().st_size == 0 for p in segments(tmp_path))
    mtime = (tmp_path / "ledger.json").stat().st_mtime_ns
    DocStore.open(tmp_path).close()
    assert (tmp_path / "ledger.json").stat().st_mtime_ns == mtime
    assert reopen_state(tmp_path)["seq"] == 3


async def test_snapshot_async(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path)
    fill(store, 1, 3)
    await store.snapshot_async()
    fill(store, 4, 5)
    expected = state(store)
    crashed = crash_image(tmp_path)
    store.close()
    assert reopen_state(crashed) == expected
    assert reopen_state(tmp_path) == expected


async def test_commits_during_a_running_async_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DocStore.open(tmp_path, snapshot_every=2)
    fill(store, 1, 2)
    entered, release = threading.Event(), threading.Event()
    real_write = docstore_module._write_ledger

    def slow_write(path: Path, seq: int, tables: Any) -> None:
        entered.set()
        assert release.wait(5)
        real_write(path, seq, tables)

    monkeypatch.setattr(docstore_module, "_write_ledger", slow_write)
    running = asyncio.create_task(store.snapshot_async())
    assert await asyncio.to_thread(entered.wait, 5)
    # The loop is free while the worker writes: commit, read, ask for another snapshot.
    fill(store, 3, 6)
    assert not store.snapshot_due()  # one snapshot at a time
    await store.snapshot_async()  # returns at once: already running
    release.set()
    await running
    assert store.snapshot_due()
    expected = state(store)
    crashed = crash_image(tmp_path)
    with DocStore.open(crashed) as reopened:
        assert state(reopened) == expected
        assert reopened._snap_seq == 2  # the snapshot captured seq 2, commits 3..6 replayed
    store.close()
    assert reopen_state(tmp_path) == expected


# ---- crash simulation ---------------------------------------------------------------------


def test_crash_after_journal_append_before_any_snapshot(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path / "live")
    fill(store, 1, 5)
    store.commit([("tasks", "T2", None)])
    expected = state(store)
    crashed = snapshot_copy(tmp_path / "live", tmp_path / "crashed")
    assert not (crashed / "ledger.json").exists()
    assert reopen_state(crashed) == expected
    store.close()


def _crash_at_ledger_write(monkeypatch: pytest.MonkeyPatch, live: Path, crashed: Path) -> None:
    """Make the next ledger.json write copy the directory (the crash image), then fail."""

    def crash(path: Path, seq: int, tables: Any) -> None:
        snapshot_copy(live, crashed)
        raise OSError(errno.EIO, "simulated crash")

    monkeypatch.setattr(docstore_module, "_write_ledger", crash)


def test_crash_after_history_append_before_ledger_replace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    store = DocStore.open(live)
    fill(store, 1, 3)
    store.snapshot()
    fill(store, 4, 6)
    store.commit([], [("T1", {"event": "note"})])
    expected = state(store)

    with monkeypatch.context() as patch:
        _crash_at_ledger_write(patch, live, crashed)
        with pytest.raises(StoreWriteError, match="snapshot failed"):
            store.snapshot()
    # The crash image: history.jsonl already has seq 4..7, ledger.json is still at seq 3.
    lines = (crashed / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert reopen_state(crashed) == expected  # no duplicated history

    # The live store survived the failed snapshot; the next one must not duplicate either.
    assert state(store) == expected
    fill(store, 7, 7)
    expected = state(store)
    store.snapshot()
    store.close()
    assert reopen_state(tmp_path / "live") == expected
    lines = (live / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == expected["history_count"] == 8


def test_crash_mid_history_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    store = DocStore.open(live)
    fill(store, 1, 2)
    store.snapshot()
    fill(store, 3, 5)
    expected = state(store)
    with monkeypatch.context() as patch:
        _crash_at_ledger_write(patch, live, crashed)
        with pytest.raises(StoreWriteError):
            store.snapshot()
    store.close()
    history = crashed / "history.jsonl"
    data = history.read_bytes()
    history.write_bytes(data[:-20])  # the last line only half written
    assert reopen_state(crashed) == expected
    assert history.read_bytes().endswith(b"\n")  # the torn line was cut off
    assert reopen_state(crashed) == expected


def test_crash_after_ledger_replace_before_segments_are_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    store = DocStore.open(live)
    fill(store, 1, 4)
    expected = state(store)
    real_unlink = os.unlink

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).name.startswith("journal.") and not crashed.exists():
            snapshot_copy(live, crashed)
        real_unlink(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "unlink", unlink)
        store.snapshot()
    assert crashed.exists() and len(segments(crashed)) == 2
    assert reopen_state(crashed) == expected
    store.close()


def test_torn_last_journal_line_is_dropped(tmp_path: Path) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    store = DocStore.open(live)
    fill(store, 1, 3)
    expected = state(store)
    snapshot_copy(live, crashed)
    store.close()
    (segment,) = segments(crashed)
    good = segment.read_bytes()
    torn = good + '{"seq":4,"puts":[["tasks","T4",{"title":"半'.encode()[:-1]  # mid-character
    segment.write_bytes(torn)

    # Read-only: ignores the torn line and changes nothing.
    reader = DocStore.open(crashed, writable=False)
    assert state(reader) == expected
    reader.close()
    assert segment.read_bytes() == torn

    # Writable: drops and truncates it; new commits append cleanly after.
    with DocStore.open(crashed) as store:
        assert state(store) == expected
        assert segment.read_bytes() == good
        assert store.commit([("tasks", "T9", task(9))]) == 4
    assert reopen_state(crashed)["tasks"]["T9"] == task(9)


def test_garbled_newline_terminated_last_journal_line_is_corruption(tmp_path: Path) -> None:
    """A complete last line was written and fsynced before the commit returned, so it was
    confirmed: garbage there is damage to report, not a crash to tidy up."""
    with DocStore.open(tmp_path) as store:
        fill(store, 1, 2)
        (segment,) = segments(tmp_path)
        with open(segment, "ab") as handle:
            handle.write(b'{"seq":3,"puts":[\x00\x00\x00\n')
        # (simulating what a crashed process left behind; this one is still open)
        copy = crash_image(tmp_path)
    with pytest.raises(StoreError, match=rf"{segments(copy)[0]}.*line 3"):
        DocStore.open(copy)


def test_zero_filled_blocks_of_an_unfinished_append_are_dropped(tmp_path: Path) -> None:
    """After a crash some file systems show an unfinished append's blocks as zeros while a
    later block, newline included, did reach the disk: never confirmed, so dropped."""
    with DocStore.open(tmp_path) as store:
        fill(store, 1, 2)
        expected = state(store)
        (segment,) = segments(tmp_path)
        start = segment.stat().st_size
        store.commit([("tasks", "T3", task(3, note="长" * 3000))])  # spans several blocks
        copy = crash_image(tmp_path)
    (crashed,) = segments(copy)
    data = bytearray(crashed.read_bytes())
    assert len(data) > 4096 > start
    data[start:4096] = bytes(4096 - start)  # the first block of the append never written
    crashed.write_bytes(bytes(data))
    with DocStore.open(copy) as store:
        assert state(store) == expected
        assert crashed.stat().st_size == start  # cut off
        assert store.commit([("tasks", "T3", task(3))]) == 3
    assert reopen_state(copy)["tasks"]["T3"] == task(3)


# ---- damaged files ------------------------------------------------------------------------


def _make_store(directory: Path, snapshot_at: int | None = None) -> dict[str, Any]:
    store = DocStore.open(directory)
    fill(store, 1, 4)
    if snapshot_at is not None:
        store.snapshot()
        fill(store, 5, 5 + snapshot_at)
    expected = state(store)
    store._close_files()  # a crash: no final snapshot
    return expected


def test_corrupt_ledger_is_an_error_naming_the_file(tmp_path: Path) -> None:
    _make_store(tmp_path, snapshot_at=1)
    ledger = tmp_path / "ledger.json"
    ledger.write_text('{"_meta": {"1": {"seq": 4', encoding="utf-8")
    for writable in (True, False):
        with pytest.raises(StoreError, match=str(ledger)) as info:
            DocStore.open(tmp_path, writable=writable)
        assert "will not start" in str(info.value)
    ledger.write_bytes(b"")
    with pytest.raises(StoreError, match="empty"):
        DocStore.open(tmp_path)


def test_corrupt_middle_journal_line_is_an_error_naming_the_file(tmp_path: Path) -> None:
    _make_store(tmp_path)
    (segment,) = segments(tmp_path)
    lines = segment.read_bytes().split(b"\n")
    lines[1] = lines[1][:-5] + b"#####"
    segment.write_bytes(b"\n".join(lines))
    before = segment.read_bytes()
    with pytest.raises(StoreError, match=rf"{segment}.*line 2"):
        DocStore.open(tmp_path)
    with pytest.raises(StoreError, match=str(segment)):
        DocStore.open(tmp_path, writable=False)
    assert segment.read_bytes() == before


def test_torn_line_in_an_older_segment_is_an_error(tmp_path: Path) -> None:
    _make_store(tmp_path, snapshot_at=2)
    # Put back an old segment (as if deletion had not happened) with a torn tail, covering
    # seq > ledger seq so it matters.
    (newest,) = segments(tmp_path)
    assert newest.name == "journal.000000000005.jsonl"
    old = tmp_path / "journal.000000000003.jsonl"
    old.write_bytes(newest.read_bytes()[:-10])
    with pytest.raises(StoreError, match=str(old)):
        DocStore.open(tmp_path)


def test_corrupt_history_line_is_an_error_naming_the_file(tmp_path: Path) -> None:
    _make_store(tmp_path, snapshot_at=1)
    history = tmp_path / "history.jsonl"
    lines = history.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "{not json}\n"
    history.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(StoreError, match=rf"{history}.*line 2"):
        DocStore.open(tmp_path)


def test_missing_journal_records_are_an_error(tmp_path: Path) -> None:
    _make_store(tmp_path)
    (segment,) = segments(tmp_path)
    segment.write_bytes(b"".join(segment.read_bytes().splitlines(keepends=True)[1:]))
    with pytest.raises(StoreError, match="expected seq 1, found 2"):
        DocStore.open(tmp_path)


def test_missing_journal_segment_is_an_error(tmp_path: Path) -> None:
    _make_store(tmp_path, snapshot_at=1)  # ledger at seq 4, journal.5 holds 5..6
    (tmp_path / "ledger.json").unlink()
    with pytest.raises(StoreError, match="journal segments are missing"):
        DocStore.open(tmp_path)


def test_reader_racing_a_snapshot_retries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = DocStore.open(tmp_path)
    for n in range(1, 4):
        writer.commit([("tasks", f"T{n}", task(n))])  # no history: only the journal tells
    expected = state(writer)
    real_load_history = DocStore._load_history
    calls = []

    def load_history(self: DocStore) -> tuple[int, int]:
        calls.append(1)
        if len(calls) == 1:  # the reader has read the old ledger.json; now the writer...
            writer.snapshot()  # ...writes a new one and deletes journal 1..3
        return real_load_history(self)

    monkeypatch.setattr(DocStore, "_load_history", load_history)
    reader = DocStore.open(tmp_path, writable=False)
    assert len(calls) == 2
    assert state(reader) == expected
    reader.close()
    writer.close()


# ---- one writer ---------------------------------------------------------------------------


def test_second_writer_is_refused_and_readers_still_work(tmp_path: Path) -> None:
    writer = DocStore.open(tmp_path)
    fill(writer, 1, 2)
    with pytest.raises(StoreLockedError, match=str(tmp_path)) as info:
        DocStore.open(tmp_path)
    assert isinstance(info.value, StoreError)
    assert f"pid {os.getpid()}" in str(info.value)

    reader = DocStore.open(tmp_path, writable=False)
    assert state(reader) == state(writer)
    with pytest.raises(RuntimeError, match="read-only"):
        reader.commit([("tasks", "T9", task(9))])
    reader.close()

    fill(writer, 3, 3)
    writer.close()
    with DocStore.open(tmp_path) as again:
        assert again.seq == 3


def test_read_only_open_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with DocStore.open(missing, writable=False) as empty:
        assert empty.seq == 0 and dict(empty.all("tasks")) == {}
    assert not missing.exists()

    _make_store(tmp_path / "store", snapshot_at=1)
    before = {p.name: p.read_bytes() for p in (tmp_path / "store").iterdir()}
    with DocStore.open(tmp_path / "store", writable=False) as reader:
        assert reader.seq == 6
    assert {p.name: p.read_bytes() for p in (tmp_path / "store").iterdir()} == before


# ---- failed writes ------------------------------------------------------------------------


def _enospc(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failure", ["fsync", "write", "partial-write-and-truncate"])
def test_failed_commit_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    store = DocStore.open(tmp_path)
    fill(store, 1, 2)
    before = state(store)
    (segment,) = segments(tmp_path)
    disk_before = segment.read_bytes()

    real_write = os.write

    def partial_write(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:7])
        raise OSError(errno.ENOSPC, "No space left on device")

    patches: dict[str, Callable[..., Any]] = {
        "fsync": {"fsync": _enospc},
        "write": {"write": partial_write},
        "partial-write-and-truncate": {"write": partial_write, "ftruncate": _enospc},
    }[failure]
    with monkeypatch.context() as patch:
        for name, replacement in patches.items():
            patch.setattr(os, name, replacement)
        with pytest.raises(StoreWriteError, match="NOT saved") as info:
            store.commit([("tasks", "T1", None), ("tasks", "T3", task(3))],
                         [("T1", {"event": "deleted"})])
    assert isinstance(info.value.__cause__, OSError)
    assert state(store) == before
    if failure != "partial-write-and-truncate":
        assert segment.read_bytes() == disk_before
    # (otherwise the garbage is cut off before the next append)

    assert store.commit([("tasks", "T4", task(4))], [("T4", {"event": "created"})]) == 3
    expected = state(store)
    assert segment.read_bytes().count(b"\n") == 3  # no trace of the failed record
    crashed = crash_image(tmp_path)
    assert reopen_state(crashed) == expected
    store.close()
    assert reopen_state(tmp_path) == expected


def test_failed_snapshot_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DocStore.open(tmp_path)
    fill(store, 1, 3)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _enospc)
        with pytest.raises(StoreWriteError):
            store.snapshot()
    fill(store, 4, 4)
    expected = state(store)
    store.close()
    assert reopen_state(tmp_path) == expected


# ---- AtomicJSONStorage ----------------------------------------------------------------------


def test_atomic_storage_works_with_tinydb(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    assert AtomicJSONStorage(path).read() is None
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.table("people").insert({"name": "王五", "unit": "县财政局"})
    db.close()
    assert "王五" in path.read_text(encoding="utf-8")
    db = TinyDB(path, storage=AtomicJSONStorage)
    assert db.table("people").all() == [{"name": "王五", "unit": "县财政局"}]
    db.close()
    path.write_bytes(b"")
    assert AtomicJSONStorage(path).read() is None


def test_atomic_storage_keeps_the_old_file_if_replace_never_happens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"v": "旧"}}})
    old = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", _enospc)
        with pytest.raises(OSError):
            storage.write({"t": {"1": {"v": "新"}, "2": {"v": "x" * 200_000}}})
    assert path.read_bytes() == old
    assert AtomicJSONStorage(path).read() == {"t": {"1": {"v": "旧"}}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.json"]  # no temp file left
    storage.write({"t": {"1": {"v": "新"}}})
    assert storage.read() == {"t": {"1": {"v": "新"}}}


def test_atomic_storage_output_matches_json_dumps(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    data = {"_default": {}, "a": {"1": {"x": [1, 2.5, None, True], "名": "值"}, "2": {}},
            "b": {str(n): {"n": n} for n in range(3000)}}
    AtomicJSONStorage(path).write(data)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == json.dumps(data, ensure_ascii=False)
    AtomicJSONStorage(path, indent=2).write(data)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == json.dumps(data, ensure_ascii=False, indent=2)


def test_atomic_storage_read_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text('{"a": ', encoding="utf-8")
    with pytest.raises(StoreError, match=str(path)):
        AtomicJSONStorage(path).read()
    assert docstore_module.StoreError is StoreError
