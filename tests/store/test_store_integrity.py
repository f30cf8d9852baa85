"""Store integrity: damage to history.jsonl, the journal or the snapshot is noticed on open
(read-only included), named with its file, refused by `check` and `run` with exit 3 and the
newest good backup, and never copied into a backup; older files without the new checks load."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import cli
from bot.adapters.backups import (
    backup_is_good,
    backup_root,
    list_backups,
    make_daily_backup,
    newest_good_backup,
    restore_backup,
)
from bot.adapters.docstore import DocStore, StoreError, StoreWriteError
from bot.adapters.store_files import looks_unwritten, seal_record

TOKEN = "123456:INTEGRITY-test-token"
NOTES = "notes"  # a table the ledger repository does not read (its documents are free-form)
DAY = date(2026, 11, 26)
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=10)
FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---- helpers ---------------------------------------------------------------------------------


def task(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"T{n}", "title": f"落实第{n}项工作", **extra}


def fill(store: DocStore, first: int, last: int) -> None:
    for n in range(first, last + 1):
        store.commit([(NOTES, f"T{n}", task(n))], [(f"T{n}", {"event": "created", "n": n})])


def state(store: DocStore) -> dict[str, Any]:
    keys = sorted(store.all(NOTES))
    return {"seq": store.seq, NOTES: dict(store.all(NOTES)),
            "history": {k: store.history(k) for k in keys},
            "history_count": store.history_count()}


def make_store(directory: Path, *, journal: int = 2) -> dict[str, Any]:
    """Six tasks with history in the snapshot, `journal` more commits only in the journal
    (the files as a killed bot leaves them); returns the state."""
    store = DocStore.open(directory)
    fill(store, 1, 6)
    store.snapshot()
    fill(store, 7, 6 + journal)
    expected = state(store)
    store._close_files()  # killed: no final snapshot
    return expected


def segment(directory: Path) -> Path:
    (path,) = sorted(directory.glob("journal.*.jsonl"))
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def refused(directory: Path, *names: str) -> list[str]:
    """Open writable and read-only: both raise a StoreError naming every one of `names`."""
    messages = []
    for writable in (True, False):
        with pytest.raises(StoreError) as info:
            DocStore.open(directory, writable=writable)
        for name in names:
            assert name in str(info.value)
        messages.append(str(info.value))
    return messages


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\ntoken = "{TOKEN}"\n[storage]\ndir = "data"\n',
                      encoding="utf-8")
    return config


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`python -m bot check` in this process: (exit status, stderr)."""
    capsys.readouterr()
    status = cli.main(["--config", str(write_config(tmp_path)), "check"])
    return status, capsys.readouterr().err


def backed_up_store(tmp_path: Path) -> Path:
    """tmp_path/data with a good backup of DAY (the store as it was then), then more work."""
    data = tmp_path / "data"
    store = DocStore.open(data)
    fill(store, 1, 4)
    store.snapshot()
    assert make_daily_backup(data, DAY, keep_days=14) is not None
    fill(store, 5, 8)
    store.close()
    return data


def drop_checksums(directory: Path) -> None:
    """Rewrite the files as a version without the history mark and journal checksums wrote
    them."""
    ledger = directory / "ledger.json"
    if ledger.exists():
        first, rest = ledger.read_bytes().split(b"\n", 1)
        meta = json.loads(first[len(b'{"_meta":{"1":'):-1])
        del meta["history"]
        ledger.write_bytes(b'{"_meta":{"1":' + json.dumps(meta).encode() + b"}\n" + rest)
    for path in directory.glob("journal.*.jsonl"):
        old = []
        for line in lines_of(path):
            assert line.startswith(b'{"crc":"')
            old.append(b"{" + line[18:])
        path.write_bytes(b"".join(old))


# ---- history.jsonl ---------------------------------------------------------------------------


def test_a_snapshot_records_how_much_history_it_covers(tmp_path: Path) -> None:
    make_store(tmp_path)
    history = (tmp_path / "history.jsonl").read_bytes()
    meta = json.loads((tmp_path / "ledger.json").read_bytes().split(b"\n", 1)[0][14:-1])
    assert meta["history"] == {"bytes": len(history), "lines": 6,
                               "crc32": zlib.crc32(history)}


def _delete(path: Path) -> None:
    path.unlink()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _cut_lines(path: Path) -> None:
    path.write_bytes(b"".join(lines_of(path)[:-3]))


def _cut_bytes(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def _change_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[data.index(b'"n":3') + 4] = ord("8")  # still valid JSON: only the checksum tells
    path.write_bytes(bytes(data))


def _garble_a_record(path: Path) -> None:
    """The line's head is intact, its record is not JSON any more: the fast index of covered
    lines reads only heads, the checksum catches it."""
    data = path.read_bytes()
    path.write_bytes(data.replace(b'{"event":', b'{"event";', 2))


def _garble_a_head(path: Path) -> None:
    lines = lines_of(path)
    lines[3] = b"{not json}\n"
    path.write_bytes(b"".join(lines))


def _drop_a_middle_line(path: Path) -> None:
    lines = lines_of(path)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))


@pytest.mark.parametrize(("damage", "says"), [
    (_delete, "missing"),
    (_empty, "shorter"),
    (_cut_lines, "shorter"),
    (_cut_bytes, "shorter"),
    (_change_a_byte, "do not match"),
    (_garble_a_record, "do not match"),
    (_garble_a_head, "line 4"),
    (_drop_a_middle_line, "shorter"),
])
def test_damaged_history_is_refused_naming_the_file(tmp_path: Path, damage: Any,
                                                    says: str) -> None:
    make_store(tmp_path)
    history = tmp_path / "history.jsonl"
    damage(history)
    before = history.read_bytes() if history.exists() else None
    for message in refused(tmp_path, str(history)):
        assert says in message
        assert "ledger.json" in message or says.startswith("line ")
    assert (history.read_bytes() if history.exists() else None) == before  # left as found


def test_history_longer_than_the_snapshot_covers_is_fine(tmp_path: Path) -> None:
    """A snapshot that crashed after appending history but before replacing ledger.json:
    the extra records are also in the journal."""
    expected = make_store(tmp_path)
    history = tmp_path / "history.jsonl"
    covered = history.read_bytes()
    extra = [json.dumps({"seq": n, "i": 0, "key": f"T{n}",
                         "rec": {"event": "created", "n": n}},
                        ensure_ascii=False, separators=(",", ":")) + "\n" for n in (7, 8)]
    history.write_bytes(covered + "".join(extra).encode() + b'{"seq":9,"i"')  # + a torn line
    with DocStore.open(tmp_path) as store:
        assert state(store) == expected
        assert history.read_bytes().startswith(covered)
    with DocStore.open(tmp_path, writable=False) as store:
        assert state(store) == expected


def test_history_cut_short_check_exits_3_then_restore_works(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = backed_up_store(tmp_path)
    _cut_lines(data / "history.jsonl")
    status, err = check(tmp_path, capsys)
    assert status == 3
    assert "history.jsonl" in err and "shorter" in err and DAY.isoformat() in err
    assert cli.main(["--config", str(write_config(tmp_path)), "restore"]) == 0
    status, err = check(tmp_path, capsys)
    assert status == 0, err
    with DocStore.open(data, writable=False) as store:
        assert set(store.all(NOTES)) == {f"T{n}" for n in range(1, 5)}


def test_the_writer_does_not_recreate_a_history_file_removed_under_it(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path)
    fill(store, 1, 3)
    store.snapshot()
    fill(store, 4, 5)
    (tmp_path / "history.jsonl").unlink()
    with pytest.raises(StoreWriteError, match=r"history\.jsonl"):
        store.snapshot()
    assert not (tmp_path / "history.jsonl").exists()
    assert store.get(NOTES, "T5") == task(5)  # nothing lost in memory
    store._close_files()
    refused(tmp_path, "history.jsonl", "missing")


# ---- the journal -----------------------------------------------------------------------------


def test_journal_records_carry_a_checksum_of_the_record(tmp_path: Path) -> None:
    make_store(tmp_path)
    for line in lines_of(segment(tmp_path)):
        body = b"{" + line[18:-1]
        assert line == seal_record(body)
        assert line[:18] == b'{"crc":"%08x",' % zlib.crc32(body)
        assert json.loads(body)["seq"] in (7, 8)


@pytest.fixture(scope="module")
def killed_store() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        make_store(Path(tmp) / "store", journal=3)
        yield Path(tmp) / "store"


@FUZZ
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_flipped_bit_in_a_complete_last_record_is_corruption(
        killed_store: Path, where: float, bit: int) -> None:
    """The last line was fsynced before the commit returned: it was confirmed, so damage to
    it is reported (file and line), never dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "store"
        shutil.copytree(killed_store, directory)
        path = segment(directory)
        lines = lines_of(path)
        last = bytearray(lines[-1])
        at = int(where * (len(last) - 1))  # any byte but the newline
        last[at] ^= 1 << bit
        path.write_bytes(b"".join(lines[:-1]) + bytes(last))
        before = path.read_bytes()
        messages = refused(directory, path.name)
        assert any(f"line {n}" in messages[0] for n in (len(lines), len(lines) + 1))
        assert path.read_bytes() == before  # nothing cut off


def test_a_checksum_mismatch_is_named_as_such(tmp_path: Path) -> None:
    make_store(tmp_path)
    path = segment(tmp_path)
    lines = lines_of(path)
    lines[-1] = lines[-1].replace("落实".encode(), "推进".encode())  # still valid JSON
    path.write_bytes(b"".join(lines))
    message = refused(tmp_path, path.name)[0]
    assert f"line {len(lines)}" in message and "checksum mismatch" in message


def test_garbage_with_a_newline_after_the_last_record_is_corruption(tmp_path: Path) -> None:
    make_store(tmp_path)
    path = segment(tmp_path)
    with open(path, "ab") as handle:
        handle.write(b'{"crc":"00000000","seq":9,"puts":[]}\n')
    refused(tmp_path, path.name, "line 3")


@pytest.mark.parametrize("keep", [1, 17, 18, 40, -1])
def test_a_torn_last_line_without_newline_is_dropped(tmp_path: Path, keep: int) -> None:
    """A line without its newline was never fully written, so never fsynced nor confirmed
    (the prefix a crash leaves; `keep=-1`: everything but the newline)."""
    expected = make_store(tmp_path)
    path = segment(tmp_path)
    good = path.read_bytes()
    seal = seal_record('{"seq":9,"puts":[["notes","T9",{"id":"T9","title":"半"}]],'
                       '"history":[]}'.encode())
    torn = good + seal[:keep]
    path.write_bytes(torn)
    with DocStore.open(tmp_path, writable=False) as reader:
        assert state(reader) == expected
    assert path.read_bytes() == torn  # read-only changes nothing
    with DocStore.open(tmp_path) as store:
        assert state(store) == expected
        assert path.read_bytes() == good
        assert store.commit([(NOTES, "T9", task(9))]) == 9
    with DocStore.open(tmp_path) as store:
        assert store.get(NOTES, "T9") == task(9)


def test_zero_filled_blocks_are_recognised_only_on_sector_boundaries() -> None:
    line = b"\x00" * 100 + b'"seq":3}'
    assert looks_unwritten(line, 412)  # from the line's start to offset 512
    assert not looks_unwritten(line, 413)
    assert looks_unwritten(b'{"seq":' + b"\x00" * 1024 + b"}", 505)  # 512..1536 in between
    assert not looks_unwritten(b'{"seq":' + b"\x00" * 10 + b"}", 505)
    assert not looks_unwritten(b'{"seq":3}', 0)


# ---- the snapshot's schema -------------------------------------------------------------------


def _meta(**fields: Any) -> dict[str, Any]:
    return {"_meta": {"1": {"seq": 0, **fields}}}


SCHEMA_BREAKS: list[tuple[str, Any]] = [
    ("a list", []),
    ("a string", "ledger"),
    ("no _meta", {"tasks": {}}),
    ("an empty object", {}),
    ("_meta a list", {"_meta": [{"seq": 0}]}),
    ("_meta empty", {"_meta": {}}),
    ("_meta with two documents", {"_meta": {"1": {"seq": 0}, "2": {"seq": 1}}}),
    ("_meta document a list", {"_meta": {"1": [0]}}),
    ("seq a string", _meta(seq="3")),
    ("seq negative", _meta(seq=-1)),
    ("seq true", _meta(seq=True)),
    ("seq a float", _meta(seq=2.0)),
    ("format a string", _meta(format="1")),
    ("format newer", _meta(format=99)),
    ("history mark a list", _meta(history=[0, 0, 0])),
    ("history mark missing a field", _meta(history={"bytes": 0, "lines": 0})),
    ("history mark negative", _meta(history={"bytes": -1, "lines": 0, "crc32": 0})),
    ("a table that is a list", {**_meta(), "tasks": [{"key": "T1", "doc": {}}]}),
    ("a table that is a number", {**_meta(), "tasks": 5}),
    ("an entry that is a list", {**_meta(), "tasks": {"1": ["T1", {}]}}),
    ("an entry without doc", {**_meta(), "tasks": {"1": {"key": "T1"}}}),
    ("a document that is a string", {**_meta(), "tasks": {"1": {"key": "T1", "doc": "x"}}}),
    ("a document that is a list", {**_meta(), "tasks": {"1": {"key": "T1", "doc": []}}}),
    ("a key that is a number", {**_meta(), "tasks": {"1": {"key": 1, "doc": {}}}}),
    ("a key twice", {**_meta(), "tasks": {"1": {"key": "T1", "doc": {}},
                                          "2": {"key": "T1", "doc": {}}}}),
]


@pytest.mark.parametrize(("shape", "data"), SCHEMA_BREAKS, ids=[s for s, _ in SCHEMA_BREAKS])
def test_a_schema_invalid_snapshot_is_refused_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str, data: Any) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ledger = data_dir / "ledger.json"
    ledger.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    refused(data_dir, str(ledger))
    status, err = check(tmp_path, capsys)
    assert status == 3 and str(ledger) in err and "Traceback" not in err


def _store_layout(tmp_path: Path) -> Path:
    with DocStore.open(tmp_path) as store:
        fill(store, 1, 3)
    return tmp_path / "ledger.json"


@pytest.mark.parametrize(("line", "text"), [
    (1, b'{"_meta":{"1":{"seq":"3","format":1}}'),
    (1, b'{"_meta":{"1":{"seq":3,"history":{"bytes":"0","lines":0,"crc32":0}}}'),
    (2, b',"notes":['),
    (3, b'"1":{"key":"T1","doc":"not an object"},'),
    (3, b'"1":["T1",{}],'),
    (3, b'"1":{"key":"T1","doc":{"id":"T1"},"extra":1},'),
    (4, b'"2":{"key":"T1","doc":{"id":"T1"}},'),
    (3, b'"1":' + b"[" * 100_000 + b"]" * 100_000 + b","),
])
def test_a_schema_invalid_line_of_the_store_layout_is_named(tmp_path: Path, line: int,
                                                             text: bytes) -> None:
    ledger = _store_layout(tmp_path)
    lines = ledger.read_bytes().split(b"\n")
    assert lines[1] == b',"notes":{' and lines[2].startswith(b'"1":{"key":"T1"')
    lines[line - 1] = text
    ledger.write_bytes(b"\n".join(lines))
    refused(tmp_path, str(ledger), f"line {line}")


def test_a_deeply_nested_snapshot_is_refused_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "ledger.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    refused(tmp_path, "ledger.json")


@FUZZ
@given(value=JSON_VALUES, where=st.sampled_from(["top", "meta", "table", "entry", "doc"]))
def test_any_json_in_the_snapshot_loads_or_is_a_store_error(value: Any, where: str) -> None:
    data: Any = {"_meta": {"1": {"seq": 0}}, "tasks": {"1": {"key": "T1", "doc": {}}}}
    if where == "top":
        data = value
    elif where == "meta":
        data["_meta"]["1"] = value
    elif where == "table":
        data["tasks"] = value
    elif where == "entry":
        data["tasks"]["1"] = value
    else:
        data["tasks"]["1"]["doc"] = value
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ledger.json").write_text(json.dumps(data), encoding="utf-8")
        try:
            DocStore.open(tmp, writable=False).close()
        except StoreError as err:
            assert "ledger.json" in str(err)


def test_a_document_without_its_fields_is_exit_3_from_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Valid to the store, but not a task: check says so instead of a traceback."""
    with DocStore.open(tmp_path / "data") as store:
        store.commit([("tasks", "T1", {"title": "缺少字段"})])
    status, err = check(tmp_path, capsys)
    assert status == 3 and "expected fields" in err and "Traceback" not in err


# ---- backups ---------------------------------------------------------------------------------


def test_a_damaged_store_is_never_backed_up(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = backed_up_store(tmp_path)
    _cut_lines(data / "history.jsonl")
    later = date(2026, 11, 27)
    with caplog.at_level(logging.ERROR):
        assert make_daily_backup(data, later, keep_days=14) is None
    assert "NOT made" in caplog.text and "history.jsonl" in caplog.text
    assert list_backups(data) == [DAY.isoformat()]  # the good one stays, nothing new
    assert (backup_root(data) / f".{later.isoformat()}.rejected").is_dir()
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert make_daily_backup(data, later, keep_days=14) is None  # not retried today
    assert caplog.text == ""
    assert newest_good_backup(data) == DAY.isoformat()
    make_daily_backup(data, date(2026, 12, 11), keep_days=14)  # rejects, and prunes
    assert not (backup_root(data) / f".{later.isoformat()}.rejected").exists()


def test_a_backup_whose_history_is_short_is_not_good(tmp_path: Path) -> None:
    data = backed_up_store(tmp_path)
    store = DocStore.open(data)
    store.snapshot()
    store.close()
    newer = date(2026, 11, 27)
    assert make_daily_backup(data, newer, keep_days=14) is not None
    assert newest_good_backup(data) == newer.isoformat()
    _cut_lines(backup_root(data) / newer.isoformat() / "history.jsonl")
    assert not backup_is_good(data, newer.isoformat())
    assert newest_good_backup(data) == DAY.isoformat()
    with pytest.raises(StoreError, match="shorter"):
        restore_backup(data, newer.isoformat())


def test_a_backup_copies_exactly_the_history_its_snapshot_covers(tmp_path: Path) -> None:
    """A snapshot appending history while the backup copies: the copy stops where
    ledger.json says, so the pair agrees."""
    expected = make_store(tmp_path)
    history = tmp_path / "history.jsonl"
    covered = history.read_bytes()
    with open(history, "ab") as handle:
        handle.write(b'{"seq":7,"i":0,"key":"T7","rec":{"event":"created","n":7}}\n{"seq"')
    target = make_daily_backup(tmp_path, DAY, keep_days=14)
    assert target is not None
    assert (target / "history.jsonl").read_bytes() == covered
    with DocStore.open(target, writable=False) as backup:
        assert backup.seq == 6 and backup.history_count() == 6
    with DocStore.open(tmp_path, writable=False) as store:
        assert state(store) == expected


# ---- older files -----------------------------------------------------------------------------


def test_files_without_checksums_still_load_and_gain_them(tmp_path: Path) -> None:
    expected = make_store(tmp_path)
    drop_checksums(tmp_path)
    assert b'"crc"' not in segment(tmp_path).read_bytes()
    with DocStore.open(tmp_path, writable=False) as reader:
        assert state(reader) == expected
        assert not reader.snapshot_due()  # read-only: never writes
    # Not checked: an old snapshot does not say how much history it covers.
    copy = shutil.copytree(tmp_path, tmp_path.with_name("unchecked"))
    _cut_lines(copy / "history.jsonl")
    DocStore.open(copy, writable=False).close()

    store = DocStore.open(tmp_path, snapshot_every=1000)
    assert state(store) == expected
    assert store.snapshot_due()  # to add the history mark soon
    store.commit([(NOTES, "T1", task(1, status="done"))])  # sealed, after old lines
    lines = lines_of(segment(tmp_path))
    assert [line[:8] for line in lines] == [b'{"seq":7', b'{"seq":8', b'{"crc":"']
    expected = state(store)
    reopened = DocStore.open(crash_copy(tmp_path, "mixed"), writable=False)
    assert state(reopened) == expected  # a segment with old and new lines
    reopened.close()
    store.snapshot()
    assert not store.snapshot_due()
    store.close()
    assert b'"history":{"bytes":' in (tmp_path / "ledger.json").read_bytes()
    _cut_lines(tmp_path / "history.jsonl")
    refused(tmp_path, "history.jsonl", "shorter")


def test_an_old_snapshot_still_has_its_history_lines_checked_one_by_one(
        tmp_path: Path) -> None:
    make_store(tmp_path)
    drop_checksums(tmp_path)
    history = tmp_path / "history.jsonl"
    _garble_a_record(history)
    refused(tmp_path, str(history), "line 1")


def test_an_old_store_is_given_the_history_mark_when_closed(tmp_path: Path) -> None:
    make_store(tmp_path)
    DocStore.open(tmp_path).close()
    drop_checksums(tmp_path)
    DocStore.open(tmp_path).close()  # nothing changed, but the snapshot lacked the mark
    assert b'"history":{"bytes":' in (tmp_path / "ledger.json").read_bytes()


def crash_copy(directory: Path, name: str) -> Path:
    return Path(shutil.copytree(directory, directory.with_name(name),
                                ignore=shutil.ignore_patterns(".lock")))
