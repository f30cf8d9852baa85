"""The document store's files: writing and checking a snapshot, indexing the history file,
and sealing and checking journal records. ``bot.adapters.docstore`` keeps the state; this
module only reads and writes bytes (see the docstore module docstring for the layout).

Integrity checks (each failure is a ``StoreError`` naming the file; the bot does not start):

* **Snapshot schema.** ``ledger.json`` must be an object holding a ``_meta`` table with one
  document (``seq`` a non-negative integer, ``format`` not newer than this program, optional
  ``history`` mark below) and tables that are objects of ``{"key": str, "doc": object}``
  entries, each key once per table. Anything else -- a table that is a list, a document that
  is a string, nesting too deep to decode -- names the file (and the line, in the
  one-document-per-line layout), never a traceback.

* **History coverage.** A snapshot records how much of ``history.jsonl`` it covers:
  ``"history": {"bytes": L, "lines": N, "crc32": C}`` -- the first L bytes of the file, holding
  N lines, have the CRC-32 C. On open, a history file that is missing, shorter than L, or
  whose first L bytes do not have N lines and checksum C is damaged. Bytes after L are the
  ones a crashed snapshot appended before it could replace ``ledger.json``; the journal still
  holds those records, so they are checked only line by line, as before.

  Why CRC-32 (``zlib.crc32``) and not SHA-256: the threat is accidental -- a truncated copy,
  a file restored from the wrong day, a damaged sector -- not a forger, who could rewrite
  ``ledger.json`` as easily as ``history.jsonl`` (a key-less hash would not stop them either).
  Truncation is caught by the length and line count alone; CRC-32 catches every burst error
  of up to 32 bits and any other damage with probability 1 - 2**-32. It is a plain integer
  that extends as lines are appended (``HistoryMark.extend``), so the writer never rereads
  the file, and it runs at gigabytes per second on any CPU (no SHA extensions needed). The
  check is folded into the line-by-line indexing that loading does anyway (~25 ms for
  100,000 history records, 19 MB), and since it vouches for the covered lines, indexing them
  parses only each line's head instead of decoding the whole record: indexing that history
  went from ~600 ms to ~220 ms of CPU (``index_history``).

* **Journal records.** Each line is the record's JSON object with a first field holding the
  CRC-32 of the rest: ``{"crc":"1a2b3c4d","seq":...}``. Dropping that field (the first 18
  bytes after the brace) gives back exactly the record as older versions wrote it, which is
  what the checksum covers. Lines written before checksums existed start ``{"seq":`` and are
  replayed unchecked (they must still parse, with exactly the fields a record has).

  A commit returns (and the user is told "已记录") only after its line, newline included, was
  written and fsynced. A crash before that can leave a prefix of the line without its
  newline -- a torn line, never confirmed, dropped on open. Some file systems (ext4 with
  delayed allocation, XFS) can also leave an unfinished append's allocated but never-written
  blocks reading as zeros, so its newline may be present after a zero-filled run: such a
  last line (a run of NUL bytes ending on a 512-byte sector boundary and starting at the
  line's start or on a sector boundary; JSON as written here never holds a raw NUL byte) is
  an unfinished append too and is dropped. Any other complete line that fails its checksum
  or does not parse -- flipped bits, a hand edit -- is corruption, even when it is the last.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

from bot.adapters.atomic_storage import AtomicJSONStorage, StoreError, atomic_write_chunks

__all__ = [
    "FORMAT_VERSION",
    "HISTORY_FILE",
    "LEDGER_FILE",
    "META_TABLE",
    "HistoryIndex",
    "HistoryMark",
    "Snapshot",
    "damaged",
    "index_history",
    "load_ledger",
    "looks_unwritten",
    "parse_record",
    "read_covered_history",
    "seal_record",
    "write_ledger",
]

Raw = bytes  # one document as compact UTF-8 JSON

LEDGER_FILE = "ledger.json"
HISTORY_FILE = "history.jsonl"
META_TABLE = "_meta"
# The layout is unchanged since version 1: the history mark and the journal checksums were
# added so that older programs still read these files (they ignore both).
FORMAT_VERSION = 1

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
decode = json.loads
# What decoding a damaged or hand-made file can raise besides StoreError.
DECODE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError)

# The first line of a snapshot in the one-document-per-line layout.
_SNAPSHOT_HEAD = re.compile(rb'^\{"_meta":\{"1":(\{.*\})\}$')
_DOC_MARK = b',"doc":'
_MARK_KEYS = frozenset({"bytes", "lines", "crc32"})
_RECORD_KEYS = frozenset({"seq", "puts", "history"})
_HISTORY_KEYS = frozenset({"seq", "i", "key", "rec"})
# The head of a history line as written here (a key without escapes), up to its record.
_HISTORY_HEAD = re.compile(rb'\{"seq":(0|[1-9][0-9]*),"i":(0|[1-9][0-9]*),"key":"([^"\\]*)",'
                           rb'"rec":\{')

_CRC_HEAD = b'{"crc":"'
_CRC_END = len(_CRC_HEAD) + 8  # the 8 hex digits end here; '",' follows
_CRC_FIELD = _CRC_END + 2
_HEX8 = re.compile(rb"[0-9a-f]{8}")
_UNSEALED_HEAD = b'{"seq":'
_NUL_RUN = re.compile(rb"\x00+")
SECTOR = 512
_NEVER = 1 << 62  # an offset no file reaches


def raw(value: Any) -> Raw:
    return encode(value).encode("utf-8")


def damaged(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"数据文件无法读取 / cannot be read: {path} ({detail}); restore the store directory "
        "from a backup or repair the file; the bot will not start on a damaged store")


def _is_count(value: Any) -> TypeGuard[int]:
    return type(value) is int and value >= 0


# ---- the history mark ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryMark:
    """A prefix of history.jsonl: its first ``length`` bytes, holding ``lines`` lines, whose
    CRC-32 is ``crc``. The empty prefix is ``HistoryMark()``."""

    length: int = 0
    lines: int = 0
    crc: int = 0

    def extend(self, data: bytes, lines: int) -> HistoryMark:
        """The mark after appending ``data`` (``lines`` complete lines)."""
        return HistoryMark(self.length + len(data), self.lines + lines, zlib.crc32(data, self.crc))

    def to_json(self) -> dict[str, int]:
        return {"bytes": self.length, "lines": self.lines, "crc32": self.crc}

    @classmethod
    def from_json(cls, value: Any) -> HistoryMark:
        if not isinstance(value, dict) or set(value) != _MARK_KEYS:
            raise ValueError(f"bad history mark {value!r}")
        length, lines, crc = value["bytes"], value["lines"], value["crc32"]
        if not (_is_count(length) and _is_count(lines) and _is_count(crc) and crc < 2**32
                and lines <= length and (length or not crc)):
            raise ValueError(f"bad history mark {value!r}")
        return cls(length, lines, crc)

    def describe(self) -> str:
        return f"{self.lines} lines ({self.length} bytes)"


# ---- the snapshot ----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A loaded ledger.json. ``covers`` is None for a snapshot written before the history
    mark existed (its history is not checked) and for a store without a snapshot yet."""

    seq: int = 0
    covers: HistoryMark | None = None
    tables: dict[str, dict[str, Raw]] = field(default_factory=dict)


def write_ledger(path: Path, meta: Mapping[str, Any],
                 tables: Mapping[str, Mapping[str, Raw]]) -> None:
    """Atomically write a snapshot: a TinyDB file, one document per line, the ``_meta``
    document (``seq``, ``format``, ``history``) first. Any thread; yields the GIL between
    documents."""

    def lines() -> Iterator[bytes]:
        yield b'{"_meta":{"1":' + raw(dict(meta)) + b"}\n"
        for name, docs in tables.items():
            yield b"," + raw(name) + b":{\n"
            last = len(docs)
            for n, (key, doc) in enumerate(docs.items(), 1):
                yield (b'"' + str(n).encode("ascii") + b'":{"key":' + raw(key) + _DOC_MARK
                       + doc + (b"}\n" if n == last else b"},\n"))
            yield b"}\n"
        yield b"}\n"

    atomic_write_chunks(path, lines())


def load_ledger(path: Path) -> Snapshot:
    """Load and check ledger.json (an empty ``Snapshot`` if there is none)."""
    try:
        if path.stat().st_size == 0:
            raise damaged(path, "the file is empty")
    except FileNotFoundError:
        return Snapshot()
    with open(path, "rb") as handle:
        head = handle.readline().rstrip(b"\n")
        match = _SNAPSHOT_HEAD.match(head)
        if match:
            return _load_lines(path, handle, match.group(1))
    return _load_whole(path)


def read_covered_history(path: Path) -> HistoryMark | None:
    """The history mark of the snapshot at ``path`` (None if it has none), read from the
    first line when the file is in this module's layout."""
    with open(path, "rb") as handle:
        match = _SNAPSHOT_HEAD.match(handle.readline().rstrip(b"\n"))
    if match:
        try:
            return _parse_meta(decode(match.group(1)))[1]
        except DECODE_ERRORS as err:
            raise damaged(path, f"line 1: {err}") from err
    return load_ledger(path).covers


def _parse_meta(meta: Any) -> tuple[int, HistoryMark | None]:
    if not isinstance(meta, dict):
        raise ValueError(f"the {META_TABLE} document is {type(meta).__name__}, expected an "
                         "object")
    seq = meta.get("seq")
    if not _is_count(seq):
        raise ValueError(f"bad seq {seq!r}")
    version = meta.get("format", FORMAT_VERSION)
    if type(version) is not int or version < 1:
        raise ValueError(f"bad format {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"format {version} is newer than this program ({FORMAT_VERSION})")
    covers = HistoryMark.from_json(meta["history"]) if "history" in meta else None
    return seq, covers


def _load_lines(path: Path, handle: BinaryIO, meta_json: bytes) -> Snapshot:
    """This module's layout: a header line, then per table a ``,"name":{`` line, one
    ``"n":{"key":k,"doc":d}`` line per document (comma-separated) and a ``}`` line."""
    lineno = 1
    tables: dict[str, dict[str, Raw]] = {}
    try:
        seq, covers = _parse_meta(decode(meta_json))
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
                name = decode(line[1:-2])
                if not isinstance(name, str) or name == META_TABLE or name in tables:
                    raise ValueError(f"bad table name {name!r}")
                docs = tables[name] = {}
            elif line == b"}":
                docs = None
            else:
                entry = line[:-1] if line.endswith(b",") else line
                wrapper = entry[entry.index(b":") + 1:]
                parsed = decode(wrapper)
                # (len + lookups: exactly these two fields, cheaper than comparing sets)
                if not isinstance(parsed, dict) or len(parsed) != 2:
                    raise ValueError('expected {"key": ..., "doc": {...}}')
                key, doc = parsed["key"], parsed["doc"]
                if not isinstance(key, str) or not isinstance(doc, dict):
                    raise ValueError("the key is not a string or the document not an object")
                if key in docs:
                    raise ValueError(f"key {key!r} appears twice")
                # The document's own bytes, as written here: with exactly these two fields,
                # key first, the text after ',"doc":' (a key's encoding never contains it,
                # its quotes being escaped) up to the closing brace is the document.
                docs[key] = wrapper[wrapper.index(_DOC_MARK) + len(_DOC_MARK):-1]
        if not ended or docs is not None:
            raise ValueError("the file ends early")
    except DECODE_ERRORS as err:
        raise damaged(path, f"line {lineno}: {err}") from err
    return Snapshot(seq, covers, tables)


def _load_whole(path: Path) -> Snapshot:
    """Any other TinyDB layout (written by TinyDB itself, or by hand): parsed at once."""
    data = AtomicJSONStorage(path).read()
    if data is None:
        raise damaged(path, "the file holds only white space")
    tables: dict[str, dict[str, Raw]] = {}
    try:
        meta_table = data.get(META_TABLE)
        if not isinstance(meta_table, dict) or len(meta_table) != 1:
            raise ValueError(f"expected a {META_TABLE} table with one document")
        seq, covers = _parse_meta(next(iter(meta_table.values())))
        for name, table in data.items():
            if name == META_TABLE:
                continue
            if not isinstance(table, dict):
                raise ValueError(f"table {name!r} is {type(table).__name__}, expected an "
                                 "object")
            docs: dict[str, Raw] = {}
            for entry in table.values():
                if not isinstance(entry, dict):
                    raise ValueError(f"an entry of table {name!r} is not an object")
                key, doc = entry["key"], entry["doc"]
                if not isinstance(key, str) or not isinstance(doc, dict):
                    raise ValueError(f"bad entry in table {name!r}")
                if key in docs:
                    raise ValueError(f"key {key!r} appears twice in table {name!r}")
                docs[key] = raw(doc)
            tables[name] = docs
    except DECODE_ERRORS as err:
        raise damaged(path, f"not a Luoshi snapshot: {err}") from err
    return Snapshot(seq, covers, tables)


# ---- history.jsonl ---------------------------------------------------------------------------


@dataclass
class HistoryIndex:
    offsets: dict[str, array[int]] = field(default_factory=dict)  # key -> record offsets
    records: int = 0  # distinct records indexed
    last: tuple[int, int] = (0, -1)  # (seq, i) of the last record
    good: HistoryMark = field(default_factory=HistoryMark)  # the complete lines
    size: int = 0  # bytes in the file (beyond good.length: a torn last line)


def index_history(path: Path, covers: HistoryMark | None) -> HistoryIndex:
    """Index history.jsonl (record offsets per key) and check it against the snapshot's mark.

    A missing file reads as empty. Raises ``StoreError`` naming the file if a line is
    damaged or if the file does not hold what ``covers`` says.

    Lines inside the covered part are vouched for by its checksum (checked once the part is
    read, before anything is returned), so only their head is parsed -- seq, i and key, the
    index needs no more -- not the record: about four times faster than decoding each line,
    which pays for the checksum several times over. Other lines (after the covered part, or
    all of them under an older snapshot) are decoded and checked one by one."""
    index = HistoryIndex()
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        if covers is not None and covers.length:
            raise damaged(path, f"the file is missing, but {LEDGER_FILE} covers its first "
                                f"{covers.describe()}; lines are missing") from None
        return index
    unchecked = covers is not None and covers.length > 0
    check_at = covers.length if covers is not None and unchecked else _NEVER
    vouched = covers.length if covers is not None else 0  # lines ending here or before
    head_of = _HISTORY_HEAD.match
    by_key = index.offsets
    crc = lines = offset = 0
    last = (0, -1)
    with handle:
        index.size = size = _file_size(handle)
        for lineno, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                break  # a torn last line (the caller drops it)
            start, offset = offset, offset + len(line)
            crc = zlib.crc32(line, crc)
            lines = lineno
            if offset >= check_at:
                _check_covered(path, covers, HistoryMark(offset, lines, crc))
                check_at, unchecked = _NEVER, False
            if line == b"\n":
                continue
            head = head_of(line) if offset <= vouched else None
            if head is not None:
                try:
                    seq, i, key = int(head[1]), int(head[2]), head[3].decode("utf-8")
                except UnicodeDecodeError:
                    head = None  # (damaged: decoded below to say where)
            if head is None:
                seq, i, key = _history_head(path, lineno, line)
            if (seq, i) <= last:
                continue  # duplicate of a record already indexed
            last = (seq, i)
            offsets = by_key.get(key)
            if offsets is None:
                by_key[key] = array("q", (start,))
            else:
                offsets.append(start)
            index.records += 1
    if unchecked:
        assert covers is not None
        torn = f" and a torn last line of {size - offset} bytes" if size > offset else ""
        raise damaged(path, f"it is shorter than {LEDGER_FILE} says: it holds {lines} "
                            f"complete lines ({offset} bytes){torn}, but {LEDGER_FILE} covers "
                            f"its first {covers.describe()}; lines are missing")
    index.last = last
    index.good = HistoryMark(offset, lines, crc)
    return index


def _history_head(path: Path, lineno: int, line: bytes) -> tuple[int, int, str]:
    """(seq, i, key) of a history line, decoded in full and checked."""
    try:
        rec = decode(line)
        if len(rec) != 4:  # exactly seq, i, key and rec (looked up below)
            raise ValueError("expected a history record")
        seq, i, key = rec["seq"], rec["i"], rec["key"]
        if not (type(seq) is int and type(i) is int and seq >= 0 and i >= 0
                and type(key) is str and type(rec["rec"]) is dict):
            raise ValueError("bad field types")
    except UnicodeDecodeError as err:
        raise damaged(path, f"line {lineno}: invalid UTF-8") from err
    except DECODE_ERRORS as err:
        raise damaged(path, f"line {lineno}: {err}") from err
    return seq, i, key


def _check_covered(path: Path, covers: HistoryMark | None, found: HistoryMark) -> None:
    assert covers is not None
    if found != covers:
        raise damaged(path, f"its first {covers.length} bytes do not match what {LEDGER_FILE} "
                            f"recorded ({covers.lines} lines, CRC-32 {covers.crc:08x}; found "
                            f"{found.lines} lines, CRC-32 {found.crc:08x} up to byte "
                            f"{found.length}): it was changed or damaged since the snapshot")


def _file_size(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


# ---- journal records -------------------------------------------------------------------------


def seal_record(body: bytes) -> bytes:
    """The journal line for ``body`` (a compact JSON object starting ``{"seq":``): the same
    object with a first field ``"crc"``, the CRC-32 of ``body`` in 8 hex digits, and a
    newline."""
    return b'{"crc":"%08x",' % zlib.crc32(body) + body[1:] + b"\n"


def _unseal(line: bytes) -> bytes:
    """The record a journal line holds (the line without its checksum field), checked."""
    if line.startswith(_CRC_HEAD):
        digits = line[len(_CRC_HEAD):_CRC_END]
        if line[_CRC_END:_CRC_FIELD] != b'",' or not _HEX8.fullmatch(digits):
            raise ValueError("the checksum field is damaged")
        body = b"{" + line[_CRC_FIELD:]
        if zlib.crc32(body) != int(digits, 16):
            raise ValueError("checksum mismatch: the record was changed or damaged after it "
                             "was written")
        return body
    if line.startswith(_UNSEALED_HEAD):
        return line  # written before records carried a checksum
    raise ValueError("not a journal record")


def parse_record(line: bytes, prev_seq: int) -> tuple[int, list[Any], list[Any]]:
    """(seq, puts, history) of a journal line (without its newline), checked against its
    checksum (if it has one) and its shape. ValueError/KeyError/TypeError/RecursionError if
    it is damaged."""
    rec = decode(_unseal(line))
    if not isinstance(rec, dict) or set(rec) != _RECORD_KEYS:
        raise ValueError("not a journal record")
    seq, puts, history = rec["seq"], rec["puts"], rec["history"]
    if type(seq) is not int or seq <= prev_seq:
        raise ValueError(f"seq {seq!r} out of order")
    if not isinstance(puts, list) or not isinstance(history, list):
        raise ValueError("bad record")
    for put in puts:
        table, key, doc = put
        if not (isinstance(table, str) and table and table != META_TABLE
                and isinstance(key, str) and (doc is None or isinstance(doc, dict))):
            raise ValueError("bad put")
    for i, item in enumerate(history):
        if (not isinstance(item, dict) or set(item) != _HISTORY_KEYS or item["seq"] != seq
                or item["i"] != i or not isinstance(item["key"], str)
                or not isinstance(item["rec"], dict)):
            raise ValueError("bad history item")
    return seq, puts, history


def looks_unwritten(line: bytes, offset: int) -> bool:
    """True if ``line``, found at byte ``offset`` of its file, shows the zero-filled blocks
    of an append a crash interrupted (see the module docstring): a run of NUL bytes ending on
    a sector boundary that starts at the line's start or on a sector boundary."""
    for run in _NUL_RUN.finditer(line):
        start, end = offset + run.start(), offset + run.end()
        if end % SECTOR == 0 and (run.start() == 0 or start % SECTOR == 0):
            return True
    return False
