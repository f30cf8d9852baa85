"""The PostgreSQL store (bot/adapters/postgres.py) and its migrations (bot/adapters/
pg_migrate.py) on a throwaway cluster (tests/support/postgres.py; skipped with a reason when
PostgreSQL's programs are missing, except in CI).

Several workers are modelled by several stores opened on one tenant: what one commits, another
sees after `refresh`; a change computed on a stale view of the same keys is refused
(ConcurrentChange) and the view refreshed; an update's applied mark makes applying it twice
impossible even from two workers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pytest

from bot.adapters import inbox
from bot.adapters.atomic_storage import StoreError
from bot.adapters.docstore import DocStore
from bot.adapters.pg_migrate import copy_from_tinydb, migrate
from bot.adapters.postgres import LATEST_VERSION, PgDocStore, SchemaMismatch
from bot.adapters.repository import StoreRepository
from bot.bootstrap import bootstrap
from bot.cli import export_command, import_command
from bot.config import parse_config
from bot.domain.model import Frequency, Task
from bot.domain.ports import Change, ConcurrentChange, PersistenceError
from tests.conftest import TZ
from tests.support.county_ledger import county_workbook


@pytest.fixture
def migrated(pg_dsn: str, tenant: str) -> str:
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, tenant)
    return tenant


@pytest.fixture
def workers(pg_dsn: str, migrated: str) -> Iterator[tuple[PgDocStore, PgDocStore]]:
    one = PgDocStore.open(pg_dsn, migrated, max_size=2)
    two = PgDocStore.open(pg_dsn, migrated, max_size=2)
    yield one, two
    one.close()
    two.close()


def task(task_id: str, title: str = "供热管网改造", progress: int = 0) -> Task:
    return Task(id=task_id, title=title, lead_unit="县住建局", owners=("张三",),
                deadline=date(2026, 12, 31),
                frequency=Frequency.XUN, created_at=datetime(2026, 12, 1, 9, tzinfo=TZ),
                progress=progress)


# ---- migrations --------------------------------------------------------------------------------


def test_migrate_creates_the_schema_once(pg_dsn: str, tenant: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        first = migrate(conn, tenant)
        again = migrate(conn, tenant)
    assert (first.before, first.after) == (0, LATEST_VERSION)
    assert first.applied == ("0001_documents", "0002_numbers")
    assert again.applied == () and again.before == again.after == LATEST_VERSION


def test_a_store_refuses_a_schema_not_migrated_or_newer(pg_dsn: str, tenant: str) -> None:
    with pytest.raises(SchemaMismatch, match="python -m bot migrate"):
        PgDocStore.open(pg_dsn, tenant)
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, tenant)
        conn.execute(f"INSERT INTO {tenant}.schema_version (version, name) VALUES (99, 'x')")
        conn.commit()
    with pytest.raises(SchemaMismatch, match="upgrade the program"):
        PgDocStore.open(pg_dsn, tenant)


def test_an_older_schema_is_refused_until_migrate_upgrades_it(
        pg_dsn: str, tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A county migrated by the previous release (version 1), data in it: the new program
    refuses to start on it, `migrate` applies only what is new, and the data is still there."""
    import bot.adapters.pg_migrate as pg_migrate
    from bot.adapters.postgres import migrations

    with psycopg.connect(pg_dsn) as conn:
        monkeypatch.setattr(pg_migrate, "migrations", lambda: migrations()[:1])
        assert migrate(conn, tenant).after == 1
        conn.execute(f"INSERT INTO {tenant}.docs VALUES ('tasks', 'DB-1', '{{}}', 1)")
        conn.execute(f"UPDATE {tenant}.meta SET seq = 1")
        conn.commit()
        monkeypatch.undo()
        with pytest.raises(SchemaMismatch, match="version 1, this program needs 2"):
            PgDocStore.open(pg_dsn, tenant)
        upgraded = migrate(conn, tenant)
    assert (upgraded.before, upgraded.after, upgraded.applied) == (1, 2, ("0002_numbers",))
    with PgDocStore.open(pg_dsn, tenant) as store:
        assert store.get("tasks", "DB-1") == {}


def test_numbers_are_handed_out_once_above_the_counter(
        workers: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = workers
    assert one.take_number("report", 41) == 42  # above a counter migrated from TinyDB
    assert two.take_number("report", 0) == 43  # a worker that saw nothing: still above
    assert one.take_number("report", 100) == 101
    assert two.take_number("difficulty", 0) == 1


def test_a_wrong_dsn_says_what_to_check_without_the_password(tenant: str) -> None:
    with pytest.raises(StoreError) as caught:
        PgDocStore.open("postgresql://luoshi:hunter2@127.0.0.1:1/none", tenant)
    assert "DATABASE_URL" in str(caught.value) and "hunter2" not in str(caught.value)


def test_two_tenants_are_two_counties(pg_dsn: str, migrated: str, tenant: str) -> None:
    other = f"{tenant}_b"
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, other)
    with PgDocStore.open(pg_dsn, migrated) as one, PgDocStore.open(pg_dsn, other) as two:
        one.commit([("tasks", "DB-1", {"title": "一县"})])
        two.refresh()
        assert two.get("tasks", "DB-1") is None


# ---- the DocStore's contract -------------------------------------------------------------------


def test_commit_get_history_and_reopen(pg_dsn: str, migrated: str) -> None:
    with PgDocStore.open(pg_dsn, migrated) as store:
        seq = store.commit([("tasks", "DB-1", {"title": "征地", "n": 1.5, "ok": True}),
                            ("people", "张三", {"name": "张三"})],
                           [("DB-1", {"what": "建账"}), ("DB-1", {"what": "交账"})])
        store.commit([("people", "张三", None)], [("DB-1", {"what": "核账"})])
        assert seq == 1 and store.seq == 2
        assert store.get("tasks", "DB-1") == {"title": "征地", "n": 1.5, "ok": True}
        assert store.get("people", "张三") is None
    with PgDocStore.open(pg_dsn, migrated, writable=False) as again:
        assert dict(again.all("tasks")) == {"DB-1": {"title": "征地", "n": 1.5, "ok": True}}
        assert "张三" not in again.all("people")
        assert [r["what"] for r in again.history("DB-1")] == ["建账", "交账", "核账"]
        assert again.history_count() == 3
        with pytest.raises(RuntimeError, match="read-only"):
            again.commit([("tasks", "DB-2", {})])


def test_other_workers_changes_arrive_on_refresh(
        workers: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = workers
    repo_two = StoreRepository(two)
    StoreRepository(one).commit(Change(tasks=[task("DB-1"), task("DB-2")]))
    assert repo_two.get_task("DB-1") is None  # not yet: no refresh
    assert two.refresh() == 2
    assert repo_two.get_task("DB-1") == task("DB-1")
    one.commit([("tasks", "DB-2", None)])
    two.refresh()
    assert repo_two.get_task("DB-2") is None and two.get("tasks", "DB-2") is None
    assert two.refresh() == 0  # nothing new: one cheap query


def test_a_change_on_a_stale_view_of_the_same_key_is_refused_then_retried(
        workers: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = workers
    repo_one, repo_two = StoreRepository(one), StoreRepository(two)
    repo_one.commit(Change(tasks=[task("DB-1")]))
    two.refresh()
    repo_one.commit(Change(tasks=[task("DB-1", progress=60)]))  # an official's report
    with pytest.raises(ConcurrentChange) as caught:  # worker two still saw progress 0
        repo_two.commit(Change(tasks=[task("DB-1", title="改名")]))
    assert caught.value.retryable and not caught.value.duplicate
    seen = repo_two.get_task("DB-1")
    assert seen is not None and seen.progress == 60  # refreshed by the refusal
    repo_two.commit(Change(tasks=[task("DB-1", title="改名", progress=seen.progress)]))
    one.refresh()
    assert repo_one.get_task("DB-1") == task("DB-1", title="改名", progress=60)


def test_changes_to_other_keys_both_apply(workers: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = workers
    one.commit([("tasks", "DB-1", {"v": 1})])
    two.commit([("tasks", "DB-2", {"v": 2})])  # behind, but on another key: fine
    assert two.get("tasks", "DB-1") == {"v": 1}  # and it learnt of DB-1 on the way
    one.refresh()
    assert one.get("tasks", "DB-2") == {"v": 2}
    assert one.seq == two.seq == 2


def test_one_update_applied_by_two_workers_at_once_applies_once(
        workers: tuple[PgDocStore, PgDocStore]) -> None:
    """The redelivered update reached both; both handle it; the applied mark is a key of both
    changes, so the second is refused as a duplicate (nothing to retry, nothing to say)."""
    one, two = workers
    report = Change(tasks=[task("DB-1", progress=60)])
    for store in (one, two):
        store.refresh()
    receipt_one = inbox.Receipt("77:abc", "2026-12-03T09:00:00+08:00")
    receipt_two = inbox.Receipt("77:abc", "2026-12-03T09:00:01+08:00")
    token = inbox.applying.set(receipt_one)
    try:
        StoreRepository(one).commit(report)
    finally:
        inbox.applying.reset(token)
    token = inbox.applying.set(receipt_two)
    try:
        with pytest.raises(ConcurrentChange) as caught:
            StoreRepository(two).commit(report)
    finally:
        inbox.applying.reset(token)
    assert caught.value.duplicate and not caught.value.retryable
    assert receipt_one.applied and not receipt_two.applied
    assert one.history_count() == 0


def test_a_lost_connection_fails_the_commit_cleanly(pg_dsn: str, migrated: str) -> None:
    with PgDocStore.open(pg_dsn, migrated, max_size=1) as store:
        repo = StoreRepository(store)
        repo.commit(Change(tasks=[task("DB-1")]))
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'luoshi' AND pid <> pg_backend_pid()")
        with pytest.raises(PersistenceError):
            repo.commit(Change(tasks=[task("DB-2")]))
        assert repo.get_task("DB-2") is None and store.get("tasks", "DB-2") is None
        repo.commit(Change(tasks=[task("DB-2")]))  # the pool replaced the connection
        assert repo.get_task("DB-2") == task("DB-2")


# ---- moving a county from TinyDB ---------------------------------------------------------------


def _cells(path: Path) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


def test_from_tinydb_the_exported_ledger_is_the_same_cell_for_cell(
        tmp_path: Path, pg_dsn: str, migrated: str) -> None:
    tiny = parse_config({"storage": {"dir": str(tmp_path / "data")}}, require_token=False)
    book = tmp_path / "台账.xlsx"
    book.write_bytes(county_workbook())
    assert import_command(tiny, book, dry_run=False, allow_any_date=True) == 0
    with DocStore.open(tmp_path / "data") as store:  # more than the import: history, invites
        ledger = bootstrap(tiny, store=store).ledger
        first, second = sorted(ledger.repo.tasks(), key=lambda t: t.id)[:2]
        ledger.exempt(first.id, "因政策调整容错", who="督查室")
        ledger.cancel_task(second.id, who="督查室", note="合并到其他任务")
        ledger.create_invite("张三", "县自然资源局", admin_id=1001)
    before = tmp_path / "before.xlsx"
    assert export_command(tiny, before) == 0

    with psycopg.connect(pg_dsn) as conn:
        copied = copy_from_tinydb(conn, migrated, tmp_path / "data")
        with pytest.raises(StoreError, match="already holds data"):
            copy_from_tinydb(conn, migrated, tmp_path / "data")
    assert copied.documents["tasks"] == 4 and copied.history >= 4
    pg = parse_config({"storage": {"backend": "postgresql", "dsn": pg_dsn, "tenant": migrated}},
                      require_token=False, env={})
    after = tmp_path / "after.xlsx"
    assert export_command(pg, after) == 0
    assert _cells(after) == _cells(before)
    with DocStore.open(tmp_path / "data", writable=False) as store, \
            PgDocStore.open(pg_dsn, migrated, writable=False) as moved:
        for key in store.history_keys():
            assert moved.history(key) == store.history(key)
        assert moved.tables() == store.tables()


def test_from_tinydb_refuses_a_folder_that_is_no_store(
        tmp_path: Path, pg_dsn: str, migrated: str) -> None:
    with psycopg.connect(pg_dsn) as conn, pytest.raises(StoreError, match="not a Luoshi store"):
        copy_from_tinydb(conn, migrated, tmp_path)
