"""A crash-safe TinyDB storage: every write replaces the whole file atomically.

``write()`` streams the JSON into a temporary file in the same directory, flushes and fsyncs
it, ``os.replace``-s it onto the target and then fsyncs the directory. A kill at any instant
therefore leaves either the complete old file or the complete new one, never a torn file.

Serialization is done in small pieces (one TinyDB document at a time) and the writer briefly
sleeps every half millisecond of work, so a large write running in a worker thread does not
hold the GIL for long stretches and an asyncio event loop in the main thread keeps running.
Data is flushed (fdatasync) every 512 KiB rather than all at once at the end, which keeps the
latency of other small fsyncs (journal commits) low while a big file is being written.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

__all__ = [
    "SYNC_BYTES",
    "AtomicJSONStorage",
    "GilYielder",
    "StoreError",
    "atomic_write_chunks",
    "fsync_dir",
    "iter_json_chunks",
]

# Output is written in pieces of about this many bytes.
_CHUNK_BYTES = 64 * 1024
# Serialization pauses this long after holding the GIL for _HOLD_SECONDS: long enough for a
# thread waiting on the GIL (the event loop) to take it, instead of waiting for the
# interpreter's 5 ms switch interval. Costs up to ~20% of the serialization time.
_HOLD_SECONDS = 0.0005
_YIELD_SECONDS = 0.0001
# Flush to disk every this many bytes instead of all at the end, so that a concurrent small
# fsync (a journal commit) never queues behind megabytes of snapshot data.
SYNC_BYTES = 512 * 1024


class GilYielder:
    """Call often from CPU-bound code: sleeps briefly every ``hold`` seconds of work."""

    __slots__ = ("hold", "last", "pause")

    def __init__(self, pause: float = _YIELD_SECONDS, hold: float = _HOLD_SECONDS) -> None:
        self.pause = pause
        self.hold = hold
        self.last = time.perf_counter()

    def __call__(self) -> None:
        if self.pause and time.perf_counter() - self.last >= self.hold:
            time.sleep(self.pause)
            self.last = time.perf_counter()


class StoreError(Exception):
    """The store (or one of its files) cannot be loaded or opened.

    The message names the file and says what to do. Re-exported by ``bot.adapters.docstore``.
    """


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make directory entries (creates, renames, deletes) in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    return len(data)


def atomic_write_chunks(path: str | os.PathLike[str], chunks: Iterable[str | bytes], *,
                        encoding: str = "utf-8", create_dirs: bool = False,
                        pause: float = _YIELD_SECONDS) -> None:
    """Atomically replace ``path`` with the concatenation of ``chunks`` (``str`` chunks are
    encoded with ``encoding``, ``bytes`` chunks written as they are).

    Temp file in the same directory -> write -> fsync -> ``os.replace`` -> fsync directory.
    On any error the temp file is removed and the target is left untouched. ``pause`` > 0
    lets other threads run between chunks (see ``GilYielder``); 0 disables it.
    """
    target = Path(path)
    directory = target.parent
    if create_dirs:
        directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            # Keep the permissions of the file being replaced (mkstemp creates it 0600).
            os.fchmod(fd, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        yield_gil = GilYielder(pause)
        buffer: list[bytes] = []
        size = 0
        unsynced = 0
        for chunk in chunks:
            data = chunk.encode(encoding) if isinstance(chunk, str) else chunk
            buffer.append(data)
            size += len(data)
            if size >= _CHUNK_BYTES:
                unsynced += _write_all(fd, b"".join(buffer))
                buffer.clear()
                size = 0
                if unsynced >= SYNC_BYTES:
                    os.fdatasync(fd)
                    unsynced = 0
            yield_gil()
        if buffer:
            _write_all(fd, b"".join(buffer))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp_name, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    fsync_dir(directory)


def _json_key(key: Any) -> str:
    """Encode a mapping key the way ``json.dumps`` does (non-string keys become strings)."""
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    return json.dumps(json.dumps(key))


def iter_json_chunks(data: Mapping[str, Any]) -> Iterator[str]:
    """Yield the JSON of a TinyDB-shaped ``{table: {doc_id: doc}}`` mapping in pieces, one
    document per piece. The text equals ``json.dumps(data, ensure_ascii=False)``."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    yield "{"
    first_table = True
    for name, table in data.items():
        yield ("" if first_table else ", ") + _json_key(name) + ": "
        first_table = False
        if isinstance(table, Mapping):
            yield "{"
            first_doc = True
            for doc_id, doc in table.items():
                yield ("" if first_doc else ", ") + _json_key(doc_id) + ": " + dumps(doc)
                first_doc = False
            yield "}"
        else:
            yield dumps(table)
    yield "}"


class AtomicJSONStorage(Storage):
    """Drop-in replacement for ``tinydb.storages.JSONStorage`` with atomic, fsynced writes.

    Usage: ``TinyDB(path, storage=AtomicJSONStorage)``. Unlike ``JSONStorage`` it does not
    create the file on construction; a missing or empty file reads as ``None`` (empty DB).
    Extra keyword arguments (e.g. ``indent``) are passed to ``json.dumps``; without them the
    output is produced in small chunks.
    """

    def __init__(self, path: str | os.PathLike[str], create_dirs: bool = False,
                 encoding: str | None = None, access_mode: str = "r+", **kwargs: Any) -> None:
        super().__init__()
        self.path = Path(path)
        self.create_dirs = create_dirs
        self.encoding = encoding or "utf-8"
        self.access_mode = access_mode
        self.kwargs = kwargs

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return None
        if not raw.strip():
            return None
        try:
            data = json.loads(raw.decode(self.encoding))
        except (ValueError, RecursionError) as err:  # JSON, UTF-8, nesting too deep
            raise StoreError(
                f"数据文件无法读取 / cannot be read: {self.path} ({err}); restore it from a "
                "backup or repair it; the bot will not start on a damaged store") from err
        if not isinstance(data, dict):
            raise StoreError(
                f"数据文件无法读取 / cannot be read: {self.path} (top level is "
                f"{type(data).__name__}, expected an object); restore it from a backup; "
                "the bot will not start on a damaged store")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if not any(flag in self.access_mode for flag in ("+", "w", "a")):
            raise OSError(f'Cannot write to the database. Access mode is "{self.access_mode}"')
        chunks: Iterable[str]
        if self.kwargs:
            chunks = [json.dumps(data, **{"ensure_ascii": False, **self.kwargs})]
        else:
            chunks = iter_json_chunks(data)
        atomic_write_chunks(self.path, chunks, encoding=self.encoding,
                            create_dirs=self.create_dirs)

    def close(self) -> None:
        pass
