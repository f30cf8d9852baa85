"""A durable, fast, generic document store: an append-only journal over atomic snapshots.

Layout of a store directory::

    ledger.json                  snapshot, a TinyDB file: one TinyDB table per store table,
                                 documents stored as {"key": <key>, "doc": <doc>}, plus a
                                 "_meta" table holding the snapshot's seq and how much of
                                 history.jsonl it covers ("history": {"bytes": L, "lines": N,
                                 "crc32": C}). Written one document per line, so it is loaded
                                 a line at a time (any other valid TinyDB layout loads too, all
                                 at once).
    history.jsonl                append-only history: {"seq":N,"i":I,"key":K,"rec":{...}} a line
    journal.<startseq>.jsonl     journal segments: {"crc":"<CRC-32 of the rest>","seq":N,
                                 "puts":[[t,k,doc|null],..],"history":[<history line>,..]} a
                                 line (lines without "crc" come from older versions)
    .lock                        flock()-ed by the single writer process

Integrity (checked on every open, read-only ones included; see ``bot.adapters.store_files``):
a snapshot that breaks the schema, a history file that is missing, shorter than the snapshot
covers or different in that part, and a complete journal line that fails its checksum are
all a ``StoreError`` naming the file; only a torn last journal line (an append that never
returned) is dropped. Files written before the history mark and the journal checksums existed
load unchecked; the first snapshot adds the mark.

Commit = one journal line, written and fsynced before anything changes in memory, so when
``commit`` returns the change survives a crash or power loss. Snapshots (``ledger.json`` +
``history.jsonl``) only bound the journal length and the startup time; they are taken from
shallow copies captured on the owner thread and written in a worker thread.

Memory: documents are held encoded (compact UTF-8 JSON bytes, about a third of the size of
the decoded dicts) and decoded on every read; callers that read a table often keep their own
decoded objects (the repository does). History records stay on disk: memory holds the byte
offset of each record in ``history.jsonl``, and only records not yet written there (the
journal holds them) are kept as text. So memory grows with the ledger, not with its history.

Threading: a DocStore belongs to one thread (the event loop thread). Only the I/O part of a
snapshot runs elsewhere, on copies. ``docs`` and ``history`` may also be called from another
thread (bulletins are built in one). Every read returns freshly decoded documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import re
import threading
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from bot.adapters.atomic_storage import SYNC_BYTES, GilYielder, StoreError, fsync_dir
from bot.adapters.store_files import (
    DECODE_ERRORS,
    FORMAT_VERSION,
    HISTORY_FILE,
    LEDGER_FILE,
    META_TABLE,
    HistoryMark,
    Raw,
    damaged,
    index_history,
    load_ledger,
    looks_unwritten,
    parse_record,
    seal_record,
    write_ledger,
)
from bot.adapters.store_files import decode as _decode
from bot.adapters.store_files import encode as _encode
from bot.adapters.store_files import raw as _raw

__all__ = [
    "HISTORY_FILE",
    "LEDGER_FILE",
    "DocStore",
    "Documents",
    "Put",
    "StoreError",
    "StoreLockedError",
    "StoreWriteError",
]

log = logging.getLogger(__name__)

Doc = dict[str, Any]
Put = tuple[str, str, dict[str, Any] | None]
"""(table, key, doc) — doc None deletes the key."""


class Documents(Protocol):
    """What the repository, the inbox and the dialogues need of a store: this DocStore
    (TinyDB files, one writer) or PgDocStore (PostgreSQL, many workers: ``refresh`` fetches
    their changes, ``subscribe`` hears of them)."""

    writable: bool

    @property
    def seq(self) -> int: ...

    def get(self, table: str, key: str) -> Doc | None: ...

    def all(self, table: str) -> Mapping[str, Doc]: ...

    def docs(self, table: str) -> list[Doc]: ...

    def history(self, key: str) -> list[Doc]: ...

    def history_count(self) -> int: ...

    def commit(self, puts: Sequence[Put], history: Sequence[tuple[str, Doc]] = ()) -> int: ...

    def refresh(self) -> int: ...

    def subscribe(self, listener: Callable[[list[tuple[str, str, Doc | None]]], None]) -> None:
        ...

    def claim(self, table: str, keys: Sequence[str]) -> AbstractContextManager[bool]: ...

    def take_number(self, counter: str, after: int) -> int | None: ...

    def close(self) -> None: ...
LOCK_FILE = ".lock"
_SEGMENT_RE = re.compile(r"^journal\.(\d+)\.jsonl$")
_READ_RETRIES = 5

# Looked up at every snapshot (tests replace it to simulate a crash while it writes).
_write_ledger = write_ledger
_damaged = damaged


class StoreLockedError(StoreError):
    """Another writer process holds the store."""


class StoreWriteError(Exception):
    """A commit (or snapshot) could not be made durable; nothing changed."""


class _Retry(Exception):
    """Read-only load raced with the writer's snapshot; load again."""


def _segment_name(start: int) -> str:
    return f"journal.{start:012d}.jsonl"


def _open_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


class _TableView(Mapping[str, Doc]):
    """A live read-only view of one table that decodes each document as it is read."""

    def __init__(self, docs: dict[str, Raw]) -> None:
        self._docs = docs

    def __len__(self) -> int:
        return len(self._docs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __contains__(self, key: object) -> bool:
        return key in self._docs

    def __getitem__(self, key: str) -> Doc:
        doc: Doc = _decode(self._docs[key])
        return doc


@dataclass
class _SnapshotJob:
    seq: int
    tables: dict[str, dict[str, Raw]]
    history_lines: list[tuple[str, str]]  # (key, line), in seq order
    history: HistoryMark  # what history.jsonl holds before these lines
    old_segments: list[Path]


class DocStore:
    """Tables of JSON documents keyed by string, plus per-key append-only history.

    Open with ``DocStore.open``. See the module docstring for the on-disk format.
    """

    def __init__(self, directory: Path, *, writable: bool, snapshot_every: int) -> None:
        self.directory = directory
        self.writable = writable
        self.snapshot_every = snapshot_every
        self._ledger_path = directory / LEDGER_FILE
        self._history_path = directory / HISTORY_FILE
        self._closed = False
        self._lock_fd = -1
        self._reset()
        # Owner thread vs. snapshot worker (and history readers): guards _pending,
        # _history_mem, _history_disk and _history_mark.
        self._state_lock = threading.Lock()
        # Held for the whole of a snapshot (released by the worker thread when it is done).
        self._snap_lock = threading.Lock()

    def _reset(self) -> None:
        self._tables: dict[str, dict[str, Raw]] = {}
        # key -> offsets in history.jsonl of its records, oldest first
        self._history_disk: dict[str, array[int]] = {}
        # key -> its records not yet in history.jsonl (compact JSON lines), oldest first
        self._history_mem: dict[str, list[str]] = {}
        self._history_total = 0
        # (key, line) of every record not yet in history.jsonl, in seq order
        self._pending: list[tuple[str, str]] = []
        # The part of history.jsonl known to be good (and, as it is written, the mark the next
        # snapshot records); what the loaded ledger.json said it covers (None: not said).
        self._history_mark = HistoryMark()
        self._covers: HistoryMark | None = None
        self._unmarked = False  # ledger.json predates the history mark: snapshot soon
        self._seq = 0
        self._snap_seq = 0  # seq of ledger.json on disk
        self._snap_started = 0  # seq of the latest snapshot begun (for snapshot_due)
        self._segments: list[Path] = []  # journal segments, oldest first; last is current
        self._seg_fd = -1
        self._seg_start = 0
        self._seg_len = 0
        self._seg_dirty = False  # a failed append could not be truncated away

    # ---- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path | str, *, writable: bool = True,
             snapshot_every: int = 2000) -> DocStore:
        """Open (and load) the store in ``directory``.

        ``writable=True`` creates the directory if needed and takes the writer lock
        (``StoreLockedError`` if another process has it). ``writable=False`` never writes
        anything and may run next to a live writer. ``StoreError`` if a file is damaged.
        """
        if snapshot_every < 1:
            raise ValueError("snapshot_every must be >= 1")
        store = cls(Path(directory), writable=writable, snapshot_every=snapshot_every)
        if writable:
            store._open_writable()
        else:
            store._open_read_only()
        return store

    def _open_writable(self) -> None:
        try:
            if not self.directory.is_dir():
                self.directory.mkdir(parents=True, exist_ok=True)
                fsync_dir(self.directory.parent)
            self._acquire_lock()
        except StoreError:
            raise
        except OSError as err:
            raise StoreError(
                f"数据目录无法打开 / cannot open the store directory {self.directory} ({err}); "
                "check the storage path and its permissions") from err
        try:
            self._load()
            self._remove_stale_temp_files()
            self._open_current_segment()
        except OSError as err:
            self._close_files()
            raise self._unreadable(err) from err
        except BaseException:
            self._close_files()
            raise

    def _open_read_only(self) -> None:
        if not self.directory.is_dir():
            return  # nothing there yet: an empty store (and nothing to break)
        for attempt in range(_READ_RETRIES):
            try:
                self._load()
                return
            except OSError as err:
                raise self._unreadable(err) from err
            except _Retry as retry:
                self._reset()
                if attempt == _READ_RETRIES - 1:
                    raise StoreError(
                        f"数据目录在读取时不断变化 / the store at {self.directory} kept changing "
                        f"while being read ({retry}); try again") from retry

    def _unreadable(self, err: OSError) -> StoreError:
        where = err.filename or self.directory
        return StoreError(
            f"数据目录无法读取 / cannot read the store at {where} ({err.strerror or err}); "
            "check the storage path, permissions and disk; the bot will not start on a store "
            "it cannot read")

    def _acquire_lock(self) -> None:
        path = self.directory / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = os.pread(fd, 32, 0).decode("ascii").strip()
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            pid = f" (pid {holder})" if holder else ""
            raise StoreLockedError(
                f"数据目录正被另一个 Luoshi 进程使用 / another Luoshi process{pid} is using the "
                f"store at {self.directory}; stop it first. Read-only commands (e.g. check) "
                "still work while it runs.") from err
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._lock_fd = fd

    def _remove_stale_temp_files(self) -> None:
        for tmp in self.directory.glob(f".{LEDGER_FILE}.*.tmp"):
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _open_current_segment(self) -> None:
        if self._segments:
            path = self._segments[-1]
            match = _SEGMENT_RE.match(path.name)
            assert match is not None
            self._seg_start = int(match.group(1))
        else:
            self._seg_start = self._seq + 1
            path = self.directory / _segment_name(self._seg_start)
            self._segments.append(path)
        created = not path.exists()
        self._seg_fd = _open_append(path)
        self._seg_len = os.fstat(self._seg_fd).st_size
        if created:
            fsync_dir(self.directory)

    # ---- loading --------------------------------------------------------------------------

    def _load(self) -> None:
        snap_seq = self._load_ledger()
        hwm = self._load_history()
        self._snap_seq = self._snap_started = self._seq = snap_seq
        self._replay_journal(snap_seq, hwm)
        if hwm[0] > self._seq:
            if not self.writable:
                raise _Retry(f"{HISTORY_FILE} is ahead of the journal")
            raise _damaged(
                self._history_path,
                f"it holds records up to seq {hwm[0]} but ledger and journal end at seq "
                f"{self._seq}: journal segments are missing")

    def _load_ledger(self) -> int:
        """Load ledger.json into the tables; returns its seq (0 without a snapshot)."""
        snapshot = load_ledger(self._ledger_path)
        self._tables = snapshot.tables
        self._covers = snapshot.covers
        self._unmarked = snapshot.covers is None and snapshot.seq > 0
        return snapshot.seq

    def _load_history(self) -> tuple[int, int]:
        """Index history.jsonl (offsets only) and check it against what ledger.json covers;
        returns the (seq, i) of its last record ((0, -1) if none)."""
        path = self._history_path
        index = index_history(path, self._covers)
        self._history_disk = index.offsets
        self._history_total = index.records
        if index.size > index.good.length and self.writable:
            # A torn last line from a crash mid-append (beyond what ledger.json covers); the
            # journal still holds its records.
            log.warning("dropping a torn last line of %s", path)
            self._truncate(path, index.good.length)
        self._history_mark = index.good
        return index.last

    def _truncate(self, path: Path, size: int) -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _list_segments(self) -> list[tuple[int, Path]]:
        found = []
        for entry in os.scandir(self.directory):
            match = _SEGMENT_RE.match(entry.name)
            if match:
                found.append((int(match.group(1)), Path(entry.path)))
        found.sort()
        return found

    def _replay_journal(self, snap_seq: int, hwm: tuple[int, int]) -> None:
        segments = self._list_segments()
        prev_seq = -1
        for index, (start, path) in enumerate(segments):
            is_last = index == len(segments) - 1
            if start > self._seq + 1:
                # A segment starting at `start` holds seqs >= start only: some are missing.
                if not self.writable:
                    raise _Retry("journal gap")
                raise _damaged(path, f"it starts at seq {start} but the ledger and older "
                                     f"segments end at seq {self._seq}; journal segments are "
                                     "missing")
            try:
                data = path.read_bytes()
            except FileNotFoundError as err:
                if not self.writable:
                    raise _Retry(f"{path.name} vanished") from err
                raise
            cut: int | None = None  # truncate the segment to this length (torn tail)
            offset = 0
            lines = data.split(b"\n")
            tail = lines.pop()  # b"" when the data ends with a newline
            if tail:
                if not is_last:
                    raise _damaged(path, f"line {len(lines) + 1} is incomplete")
                cut = len(data) - len(tail)
            for lineno, line in enumerate(lines, 1):
                start_offset = offset
                offset += len(line) + 1
                if not line:
                    continue
                try:
                    seq, puts, history = parse_record(line, prev_seq)
                except DECODE_ERRORS as err:
                    if (is_last and lineno == len(lines) and not tail
                            and looks_unwritten(line, start_offset)):
                        # Zero-filled blocks of an append a crash interrupted (never
                        # confirmed: see bot.adapters.store_files).
                        cut = start_offset
                        break
                    raise _damaged(path, f"line {lineno}: {err}") from err
                prev_seq = seq
                if seq > snap_seq:
                    if seq != self._seq + 1:
                        if not self.writable:
                            raise _Retry("journal gap")
                        raise _damaged(path, f"line {lineno}: expected seq {self._seq + 1}, "
                                             f"found {seq}; journal segments are missing")
                    self._apply([(table, key, _raw(doc) if doc is not None else None)
                                 for table, key, doc in puts])
                    self._seq = seq
                for i, item in enumerate(history):
                    if (seq, i) > hwm:
                        self._add_history(item["key"], _encode(item))
            if cut is not None:
                log.warning("dropping the unfinished last record of %s (it was never "
                            "confirmed)", path)
                if self.writable:
                    self._truncate(path, cut)
        self._segments = [path for _start, path in segments]

    # ---- reads ----------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Sequence number of the last committed change (0 for a new store)."""
        return self._seq

    @property
    def snapshot_seq(self) -> int:
        """The seq ledger.json holds (commits after it are only in the journal)."""
        return self._snap_seq

    def get(self, table: str, key: str) -> Doc | None:
        docs = self._tables.get(table)
        raw = docs.get(key) if docs is not None else None
        return _decode(raw) if raw is not None else None

    def all(self, table: str) -> Mapping[str, Doc]:
        """Live read-only view of ``key -> doc``, decoding as it is read (do not commit while
        iterating; from another thread use ``docs``)."""
        docs = self._tables.get(table)
        if docs is None:
            docs = self._tables.setdefault(table, {})
        return _TableView(docs)

    def docs(self, table: str) -> list[Doc]:
        """Every document of ``table``, decoded. Safe from any thread: the encoded documents
        are copied in one step first."""
        raws = list(self._tables.get(table, {}).values())
        return [_decode(raw) for raw in raws]

    def history(self, key: str) -> list[Doc]:
        """The history records committed for ``key``, oldest first (read from disk and the
        journal's pending records, freshly decoded). Safe from any thread."""
        with self._state_lock:
            offsets = list(self._history_disk.get(key, ()))
            pending = list(self._history_mem.get(key, ()))
        records: list[Doc] = []
        if offsets:
            try:
                with open(self._history_path, "rb") as handle:
                    for offset in offsets:
                        handle.seek(offset)
                        records.append(_decode(handle.readline())["rec"])
            except (OSError, ValueError) as err:
                raise StoreError(
                    f"数据文件无法读取 / cannot read {self._history_path} ({err}); restore the "
                    "store directory from a backup") from err
        records += [_decode(line)["rec"] for line in pending]
        return records

    def history_count(self) -> int:
        return self._history_total

    def tables(self) -> list[str]:
        """The tables holding documents (for moving a store elsewhere)."""
        return sorted(name for name, docs in self._tables.items() if docs)

    def history_keys(self) -> list[str]:
        """Every key that has history records (for moving a store elsewhere)."""
        with self._state_lock:
            return sorted(set(self._history_disk) | set(self._history_mem))

    def refresh(self) -> int:
        """Nothing to fetch: this process is the store's only writer (the lock). Other
        stores (bot/adapters/postgres.py) fetch other workers' changes here."""
        return 0

    def subscribe(self, listener: Callable[[list[tuple[str, str, Doc | None]]], None]) -> None:
        """Other writers' changes: there are none (see ``refresh``)."""

    def claim(self, table: str, keys: Sequence[str]) -> AbstractContextManager[bool]:
        """Keys held by no other writer: there is none (see ``refresh``)."""
        return contextlib.nullcontext(True)

    def take_number(self, counter: str, after: int) -> int | None:
        """None: with one writer the change carries its counters (see ``refresh``)."""
        return None

    # ---- the write path -------------------------------------------------------------------

    def commit(self, puts: Sequence[Put], history: Sequence[tuple[str, Doc]] = ()) -> int:
        """Durably apply ``puts`` and append ``history``; returns the new seq.

        Returns only after the change is fsynced to the journal. Raises ``StoreWriteError``
        (and changes nothing, on disk or in memory) if it cannot be made durable. An empty
        change is a no-op returning the current seq.
        """
        self._check_writable()
        if not puts and not history:
            return self._seq
        seq = self._seq + 1
        put_list: list[tuple[str, str, Raw | None]] = []
        put_json: list[bytes] = []
        for table, key, doc in puts:
            if not isinstance(table, str) or not table or table == META_TABLE:
                raise ValueError(f"invalid table name {table!r}")
            if not isinstance(key, str):
                raise TypeError(f"key must be a str, not {type(key).__name__}")
            if doc is not None and not isinstance(doc, dict):
                raise TypeError(f"doc must be a dict or None, not {type(doc).__name__}")
            raw = _raw(doc) if doc is not None else None
            put_list.append((table, key, raw))
            put_json.append(b"[" + _raw(table) + b"," + _raw(key) + b","
                            + (raw if raw is not None else b"null") + b"]")
        history_lines: list[tuple[str, str]] = []
        for i, (key, rec) in enumerate(history):
            if not isinstance(key, str) or not isinstance(rec, dict):
                raise TypeError("history items must be (str, dict)")
            history_lines.append(
                (key, _encode({"seq": seq, "i": i, "key": key, "rec": rec})))
        self._append(seal_record(
            b'{"seq":' + str(seq).encode("ascii") + b',"puts":[' + b",".join(put_json)
            + b'],"history":[' + ",".join(text for _key, text in history_lines).encode("utf-8")
            + b"]}"))
        # Durable: now make it visible.
        self._apply(put_list)
        for key, text in history_lines:
            self._add_history(key, text)
        self._seq = seq
        return seq

    def _append(self, data: bytes) -> None:
        fd, before = self._seg_fd, self._seg_len
        try:
            if self._seg_dirty:
                os.ftruncate(fd, before)
                self._seg_dirty = False
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as err:
            try:
                os.ftruncate(fd, before)
            except OSError:
                self._seg_dirty = True  # retried before the next append
            raise StoreWriteError(
                f"改动未保存 / the change was NOT saved: writing {self._segments[-1]} failed "
                f"({err}); free disk space or fix the disk, then try again") from err
        self._seg_len = before + len(data)

    def _apply(self, puts: Sequence[tuple[str, str, Raw | None]]) -> None:
        tables = self._tables
        for table, key, doc in puts:
            docs = tables.get(table)
            if docs is None:
                docs = tables[table] = {}
            if doc is None:
                docs.pop(key, None)
            else:
                docs[key] = doc

    def _add_history(self, key: str, line: str) -> None:
        """A record not yet in history.jsonl (the journal holds it until a snapshot)."""
        self._history_total += 1
        with self._state_lock:
            self._pending.append((key, line))
            lines = self._history_mem.get(key)
            if lines is None:
                self._history_mem[key] = [line]
            else:
                lines.append(line)

    def _check_writable(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        if not self.writable:
            raise RuntimeError("the store was opened read-only")

    # ---- snapshots ------------------------------------------------------------------------

    def snapshot_due(self) -> bool:
        """True once ``snapshot_every`` commits happened since the last snapshot began, or
        while ledger.json does not yet record how much history it covers (an older file)."""
        return (self.writable and not self._closed and not self._snap_lock.locked()
                and (self._seq - self._snap_started >= self.snapshot_every or self._unmarked))

    def snapshot(self) -> None:
        """Write a snapshot now, synchronously (waits for a running async snapshot first)."""
        self._check_writable()
        with self._snap_lock:
            job = self._begin_snapshot()
            self._write_snapshot(job)

    async def snapshot_async(self) -> None:
        """Write a snapshot with the I/O and serialization in a worker thread.

        Returns at once if a snapshot is already running. The state is captured when called;
        commits made meanwhile go to the new journal segment.
        """
        self._check_writable()
        if not self._snap_lock.acquire(blocking=False):
            return

        def work() -> None:
            try:
                self._write_snapshot(job)
            finally:
                self._snap_lock.release()

        try:
            job = self._begin_snapshot()
            # What asyncio.to_thread does, but shielded: once submitted, the worker always runs
            # to the end and releases the lock, even if this coroutine is cancelled.
            future = asyncio.get_running_loop().run_in_executor(None, work)
        except BaseException:
            self._snap_lock.release()
            raise
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_log_snapshot_failure)
            raise

    def _begin_snapshot(self) -> _SnapshotJob:
        """Owner thread, snapshot lock held: rotate the journal and capture the state."""
        seq = self._seq
        if self._seg_start != seq + 1:
            try:
                if self._seg_dirty:
                    os.ftruncate(self._seg_fd, self._seg_len)
                    self._seg_dirty = False
                path = self.directory / _segment_name(seq + 1)
                fd = _open_append(path)
                try:
                    fsync_dir(self.directory)
                except OSError:
                    os.close(fd)
                    raise
            except OSError as err:
                raise StoreWriteError(
                    f"快照失败 / snapshot failed: cannot start a new journal segment in "
                    f"{self.directory} ({err}); nothing is lost, the journal holds every "
                    "change") from err
            os.close(self._seg_fd)
            self._seg_fd, self._seg_start, self._seg_len = fd, seq + 1, 0
            self._segments.append(path)
        tables = {name: dict(docs) for name, docs in self._tables.items()}
        with self._state_lock:
            history_lines = list(self._pending)
            history = self._history_mark
        self._snap_started = seq
        return _SnapshotJob(seq=seq, tables=tables, history_lines=history_lines,
                            history=history, old_segments=self._segments[:-1])

    def _write_snapshot(self, job: _SnapshotJob) -> None:
        """Any thread: history.jsonl, then ledger.json, then drop the covered segments."""
        try:
            history, offsets = self._append_history(job)
            meta = {"seq": job.seq, "format": FORMAT_VERSION, "history": history.to_json()}
            _write_ledger(self._ledger_path, meta, job.tables)
        except OSError as err:
            raise StoreWriteError(
                f"快照失败 / snapshot failed: {err}; nothing is lost, the journal holds every "
                "change") from err
        with self._state_lock:
            # The written records now live on disk: index them, drop their text.
            del self._pending[:len(job.history_lines)]
            disk, mem = self._history_disk, self._history_mem
            for (key, _line), offset in zip(job.history_lines, offsets, strict=True):
                index = disk.get(key)
                if index is None:
                    disk[key] = array("q", (offset,))
                else:
                    index.append(offset)
                lines = mem[key]
                del lines[0]
                if not lines:
                    del mem[key]
            self._history_mark = history
        self._snap_seq = job.seq
        self._unmarked = False
        removed: list[Path] = []
        for path in job.old_segments:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                log.warning("cannot remove old journal segment %s: %s", path, err)
                continue
            removed.append(path)
        if removed:
            self._segments = [p for p in self._segments if p not in removed]
            try:
                fsync_dir(self.directory)
            except OSError as err:
                log.warning("cannot fsync %s: %s", self.directory, err)

    def _append_history(self, job: _SnapshotJob) -> tuple[HistoryMark, list[int]]:
        """Append the captured history lines to history.jsonl and fsync; returns the mark of
        the file as written (for ledger.json) and the offset of each line written."""
        if not job.history_lines:
            return job.history, []
        path = self._history_path
        good = job.history
        created = not path.exists()
        try:
            # Created only while it should be empty: a file removed from outside is not
            # silently started afresh (the snapshot would then cover bytes that are gone).
            fd = os.open(path, os.O_WRONLY | (0 if good.length else os.O_CREAT), 0o644)
        except FileNotFoundError as err:
            raise self._history_gone(f"the file is missing ({err.strerror})") from err
        try:
            size = os.fstat(fd).st_size
            if size < good.length:
                raise self._history_gone(f"it holds {size} bytes")
            # Drop whatever a failed earlier attempt may have left after the good part.
            os.ftruncate(fd, good.length)
            size = good.length
            mark = good
            lines = job.history_lines
            offsets: list[int] = []
            yield_gil = GilYielder()
            unsynced = 0
            for start in range(0, len(lines), 1000):
                yield_gil()
                chunk = []
                at = size
                for _key, line in lines[start:start + 1000]:
                    data = line.encode("utf-8") + b"\n"
                    offsets.append(at)
                    at += len(data)
                    chunk.append(data)
                joined = b"".join(chunk)
                mark = mark.extend(joined, len(chunk))
                view = memoryview(joined)
                unsynced += len(view)
                while view:
                    written = os.pwrite(fd, view, size)
                    size += written
                    view = view[written:]
                if unsynced >= SYNC_BYTES:  # see atomic_storage.SYNC_BYTES
                    os.fdatasync(fd)
                    unsynced = 0
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, good.length)
            raise
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.directory)
        return mark, offsets

    def _history_gone(self, detail: str) -> StoreWriteError:
        return StoreWriteError(
            f"快照失败 / snapshot failed: {self._history_path} was changed from outside: "
            f"{detail}, but this process wrote {self._history_mark.length} bytes to it; nothing "
            "is lost yet, the journal holds every change since the last snapshot, but the next "
            "start will refuse the store: stop the bot and restore the store directory from a "
            "backup (python -m bot restore)")

    # ---- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Final snapshot (if writable and anything changed, or ledger.json predates the
        history mark), then release the lock."""
        if self._closed:
            return
        try:
            if self.writable:
                with self._snap_lock:  # let a running async snapshot finish
                    pass
                if self._seq != self._snap_seq or self._pending or self._unmarked:
                    self.snapshot()
        finally:
            self._close_files()
            self._closed = True

    def _close_files(self) -> None:
        if self._seg_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._seg_fd)
            self._seg_fd = -1
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> DocStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _log_snapshot_failure(future: asyncio.Future[None]) -> None:
    """Report the outcome of a snapshot whose awaiting coroutine was cancelled."""
    if not future.cancelled() and future.exception() is not None:
        log.error("snapshot failed: %s", future.exception())
