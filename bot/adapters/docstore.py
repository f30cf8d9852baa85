"""A durable, fast, generic document store: an append-only journal over atomic snapshots.

Layout of a store directory::

    ledger.json                  snapshot, a TinyDB file: one TinyDB table per store table,
                                 documents stored as {"key": <key>, "doc": <doc>}, plus a
                                 "_meta" table holding the snapshot's seq. Written one document
                                 per line, so it is loaded a line at a time (any other valid
                                 TinyDB layout loads too, all at once).
    history.jsonl                append-only history: {"seq":N,"i":I,"key":K,"rec":{...}} a line
    journal.<startseq>.jsonl     journal segments: {"seq":N,"puts":[[t,k,doc|null],..],
                                 "history":[<history line object>,..]} a line
    .lock                        flock()-ed by the single writer process

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
import json
import logging
import os
import re
import threading
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.adapters.atomic_storage import (
    SYNC_BYTES,
    AtomicJSONStorage,
    GilYielder,
    StoreError,
    atomic_write_chunks,
    fsync_dir,
)

__all__ = [
    "DocStore",
    "Put",
    "StoreError",
    "StoreLockedError",
    "StoreWriteError",
]

log = logging.getLogger(__name__)

Doc = dict[str, Any]
Put = tuple[str, str, dict[str, Any] | None]
"""(table, key, doc) — doc None deletes the key."""
Raw = bytes  # one document as compact UTF-8 JSON

LEDGER_FILE = "ledger.json"
HISTORY_FILE = "history.jsonl"
LOCK_FILE = ".lock"
META_TABLE = "_meta"
FORMAT_VERSION = 1
_SEGMENT_RE = re.compile(r"^journal\.(\d+)\.jsonl$")
_READ_RETRIES = 5

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode = json.loads
# The first line of a snapshot in this module's one-document-per-line layout.
_SNAPSHOT_HEAD = re.compile(rb'^\{"_meta":\{"1":(\{.*\})\}$')
_DOC_MARK = b',"doc":'


def _raw(value: Any) -> Raw:
    return _encode(value).encode("utf-8")


class StoreLockedError(StoreError):
    """Another writer process holds the store."""


class StoreWriteError(Exception):
    """A commit (or snapshot) could not be made durable; nothing changed."""


class _Retry(Exception):
    """Read-only load raced with the writer's snapshot; load again."""


def _segment_name(start: int) -> str:
    return f"journal.{start:012d}.jsonl"


def _damaged(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"数据文件无法读取 / cannot be read: {path} ({detail}); restore the store directory "
        "from a backup or repair the file; the bot will not start on a damaged store")


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


def _write_ledger(path: Path, seq: int, tables: Mapping[str, Mapping[str, Raw]]) -> None:
    """Atomically write a snapshot: a TinyDB file, one document per line (see the module
    docstring). Any thread; yields the GIL between documents."""

    def lines() -> Iterator[bytes]:
        yield b'{"_meta":{"1":' + _raw({"seq": seq, "format": FORMAT_VERSION}) + b"}\n"
        for name, docs in tables.items():
            yield b"," + _raw(name) + b":{\n"
            last = len(docs)
            for n, (key, raw) in enumerate(docs.items(), 1):
                yield (b'"' + str(n).encode("ascii") + b'":{"key":' + _raw(key) + _DOC_MARK
                       + raw + (b"}\n" if n == last else b"},\n"))
            yield b"}\n"
        yield b"}\n"

    atomic_write_chunks(path, lines())


@dataclass
class _SnapshotJob:
    seq: int
    tables: dict[str, dict[str, Raw]]
    history_lines: list[tuple[str, str]]  # (key, line), in seq order
    history_len: int
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
        # _history_mem, _history_disk and _history_len.
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
        self._history_len = 0  # bytes of history.jsonl known to be good
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
        path = self._ledger_path
        try:
            if path.stat().st_size == 0:
                raise _damaged(path, "the file is empty")
        except FileNotFoundError:
            return 0
        with open(path, "rb") as handle:
            head = handle.readline().rstrip(b"\n")
            match = _SNAPSHOT_HEAD.match(head)
            if match:
                return self._load_ledger_lines(path, handle, match.group(1))
        return self._load_ledger_whole(path)

    def _load_ledger_lines(self, path: Path, handle: Any, meta_json: bytes) -> int:
        """This module's layout: a header line, then per table a ``,"name":{`` line, one
        ``"n":{"key":k,"doc":d}`` line per document (comma-separated) and a ``}`` line."""
        lineno = 1
        try:
            meta = _decode(meta_json)
            seq = self._check_meta(meta)
            docs: dict[str, Raw] | None = None
            ended = False
            for lineno, line in enumerate(handle, 2):  # noqa: B007 (used in the error)
                line = line.rstrip(b"\n")
                if ended:
                    if line:
                        raise ValueError("text after the end")
                elif docs is None:
                    if line == b"}":
                        ended = True
                        continue
                    if not (line.startswith(b",") and line.endswith(b":{")):
                        raise ValueError("expected a table")
                    name = _decode(line[1:-2])
                    if not isinstance(name, str) or name == META_TABLE:
                        raise ValueError(f"bad table name {name!r}")
                    docs = self._tables.setdefault(name, {})
                elif line == b"}":
                    docs = None
                else:
                    entry = line[:-1] if line.endswith(b",") else line
                    wrapper = entry[entry.index(b":") + 1:]
                    parsed = _decode(wrapper)
                    key, doc = parsed["key"], parsed["doc"]
                    if not isinstance(key, str) or not isinstance(doc, dict):
                        raise ValueError("bad entry")
                    # The document's own bytes, as this module wrote them (a key's encoding
                    # never contains ',"doc":', its quotes being escaped).
                    docs[key] = wrapper[wrapper.index(_DOC_MARK) + len(_DOC_MARK):-1]
            if not ended or docs is not None:
                raise ValueError("the file ends early")
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as err:
            raise _damaged(path, f"line {lineno}: {err}") from err
        return seq

    def _load_ledger_whole(self, path: Path) -> int:
        """Any other TinyDB layout (written by TinyDB itself, or by hand): parsed at once."""
        raw = AtomicJSONStorage(path).read()
        if not raw:
            return 0
        try:
            metas = list(raw.get(META_TABLE, {}).values())
            seq = self._check_meta(metas[0])
            for name, table in raw.items():
                if name == META_TABLE:
                    continue
                docs: dict[str, Raw] = {}
                for entry in table.values():
                    key, doc = entry["key"], entry["doc"]
                    if not isinstance(key, str) or not isinstance(doc, dict):
                        raise ValueError(f"bad entry in table {name!r}")
                    docs[key] = _raw(doc)
                self._tables[name] = docs
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as err:
            raise _damaged(path, f"not a Luoshi snapshot: {err!r}") from err
        return seq

    @staticmethod
    def _check_meta(meta: Any) -> int:
        seq = meta["seq"]
        if not isinstance(seq, int) or seq < 0:
            raise ValueError(f"bad seq {seq!r}")
        version = meta.get("format", FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise ValueError(f"format {version} is newer than this program ({FORMAT_VERSION})")
        return seq

    def _load_history(self) -> tuple[int, int]:
        """Index history.jsonl (offsets only); returns the (seq, i) of its last record
        ((0, -1) if none)."""
        path = self._history_path
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return (0, -1)
        last = (0, -1)
        index = self._history_disk
        total = 0
        offset = 0
        with handle:
            file_size = os.fstat(handle.fileno()).st_size
            for lineno, line in enumerate(handle, 1):
                if not line.endswith(b"\n"):
                    break  # a torn last line (handled below)
                start, offset = offset, offset + len(line)
                if line == b"\n":
                    continue
                try:
                    rec = _decode(line)
                    seq, i, key = rec["seq"], rec["i"], rec["key"]
                    if not (isinstance(seq, int) and isinstance(i, int)
                            and isinstance(key, str) and isinstance(rec["rec"], dict)):
                        raise ValueError("bad field types")
                except UnicodeDecodeError as err:
                    raise _damaged(path, f"line {lineno}: invalid UTF-8") from err
                except (ValueError, KeyError, TypeError) as err:
                    raise _damaged(path, f"line {lineno}: {err}") from err
                if (seq, i) <= last:
                    continue  # duplicate of a record already indexed
                last = (seq, i)
                offsets = index.get(key)
                if offsets is None:
                    index[key] = array("q", (start,))
                else:
                    offsets.append(start)
                total += 1
        good = offset
        self._history_total = total
        if good < file_size and self.writable:
            # A torn last line from a crash mid-append; the journal still holds its records.
            log.warning("dropping a torn last line of %s", path)
            self._truncate(path, good)
        self._history_len = good
        return last

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
                    seq, puts, history = self._parse_record(line, prev_seq)
                except (ValueError, KeyError, TypeError) as err:
                    if is_last and lineno == len(lines) and not tail:
                        cut = start_offset  # torn/garbled last record of an unfinished append
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
                log.warning("dropping a torn last record of %s", path)
                if self.writable:
                    self._truncate(path, cut)
        self._segments = [path for _start, path in segments]

    @staticmethod
    def _parse_record(line: bytes, prev_seq: int) -> tuple[int, list[Any], list[Any]]:
        rec = _decode(line)
        seq, puts, history = rec["seq"], rec["puts"], rec["history"]
        if not isinstance(seq, int) or seq <= prev_seq:
            raise ValueError(f"seq {seq!r} out of order")
        if not isinstance(puts, list) or not isinstance(history, list):
            raise ValueError("bad record")
        for put in puts:
            table, key, doc = put
            if not (isinstance(table, str) and isinstance(key, str)
                    and (doc is None or isinstance(doc, dict))):
                raise ValueError("bad put")
        for i, item in enumerate(history):
            if (item["seq"] != seq or item["i"] != i or not isinstance(item["key"], str)
                    or not isinstance(item["rec"], dict)):
                raise ValueError("bad history item")
        return seq, puts, history

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
        line = (b'{"seq":' + str(seq).encode("ascii") + b',"puts":[' + b",".join(put_json)
                + b'],"history":['
                + ",".join(text for _key, text in history_lines).encode("utf-8") + b"]}\n")
        self._append(line)
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
        """True once ``snapshot_every`` commits happened since the last snapshot began."""
        return (self.writable and not self._closed and not self._snap_lock.locked()
                and self._seq - self._snap_started >= self.snapshot_every)

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
            history_len = self._history_len
        self._snap_started = seq
        return _SnapshotJob(seq=seq, tables=tables, history_lines=history_lines,
                            history_len=history_len, old_segments=self._segments[:-1])

    def _write_snapshot(self, job: _SnapshotJob) -> None:
        """Any thread: history.jsonl, then ledger.json, then drop the covered segments."""
        try:
            history_len, offsets = self._append_history(job)
            _write_ledger(self._ledger_path, job.seq, job.tables)
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
            self._history_len = history_len
        self._snap_seq = job.seq
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

    def _append_history(self, job: _SnapshotJob) -> tuple[int, list[int]]:
        """Append the captured history lines to history.jsonl and fsync; returns its length
        and the offset of each line written."""
        if not job.history_lines:
            return job.history_len, []
        path = self._history_path
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            # Drop whatever a failed earlier attempt may have left after the good part.
            os.ftruncate(fd, job.history_len)
            size = job.history_len
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
                view = memoryview(b"".join(chunk))
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
                os.ftruncate(fd, job.history_len)
            raise
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.directory)
        return size, offsets

    # ---- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Final snapshot (if writable and anything changed), then release the lock."""
        if self._closed:
            return
        try:
            if self.writable:
                with self._snap_lock:  # let a running async snapshot finish
                    pass
                if self._seq != self._snap_seq or self._pending:
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
