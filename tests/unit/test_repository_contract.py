"""One contract for the LedgerRepository port (bot/domain/ports.py), run over both
implementations: the FakeRepository the service tests use (tests/support/fakes.py) and the real
store (StoreRepository over a DocStore in a tmp dir).

A change is committed, then read back through every query method of the port; for the store
also from a copy of its files as a crash would leave them (the journal replayed), read-only
beside the writer (`python -m bot check`), and closed and opened again (the snapshot). Where
the fake and the store answer differently, the service tests could pass on the fake and fail
in production: such a difference is marked xfail(strict) on the implementation that is wrong.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.accounts import account_number
from bot.domain.model import (
    DINGTALK,
    Address,
    DeliveryStatus,
    Difficulty,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    Frequency,
    HistoryEntry,
    Invite,
    OutboxEntry,
    Person,
    RebindRequest,
    RebindStatus,
    Report,
    Role,
    Task,
    TaskStatus,
    Unit,
)
from bot.domain.ports import Change, LedgerRepository, PersistenceError
from tests.conftest import TZ
from tests.support.fakes import FakeRepository

# Microseconds on purpose: what is stored must come back to the microsecond.
T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=TZ)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ---- the two implementations -----------------------------------------------------------------


class FakeBackend:
    name = "fake"

    def __init__(self) -> None:
        self.repo: LedgerRepository = FakeRepository()

    def views(self) -> Iterator[tuple[str, LedgerRepository]]:
        yield "live", self.repo

    def fail_next_commit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert isinstance(self.repo, FakeRepository)
        self.repo.fail_next_commit = True

    def close(self) -> None:
        pass


class StoreBackend:
    name = "store"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.store = DocStore.open(directory)
        self.repo: LedgerRepository = StoreRepository(self.store)
        self._copies = 0
        self._opened: list[DocStore] = []

    def views(self) -> Iterator[tuple[str, LedgerRepository]]:
        """The live repository; a crash image opened by a new process (snapshot + journal
        replayed); a read-only open beside the writer; then the writer closed (final
        snapshot) and opened again, which stays the backend's repository afterwards."""
        yield "live", self.repo
        self._copies += 1
        crashed = self.directory.with_name(f"{self.directory.name}-crash{self._copies}")
        shutil.copytree(self.directory, crashed)
        yield "journal replayed", StoreRepository(self._open(crashed))
        yield "read-only", StoreRepository(self._open(self.directory, writable=False))
        self.store.close()
        self.store = DocStore.open(self.directory)
        self.repo = StoreRepository(self.store)
        yield "reopened", self.repo

    def _open(self, directory: Path, *, writable: bool = True) -> DocStore:
        store = DocStore.open(directory, writable=writable)
        self._opened.append(store)
        return store

    def fail_next_commit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The disk is full for the next fsync (the journal line is then cut off again)."""
        real_fsync = os.fsync

        def fail_once(fd: int) -> None:
            monkeypatch.setattr(os, "fsync", real_fsync)
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", fail_once)

    def close(self) -> None:
        for store in [*self._opened, self.store]:
            store.close()


class PostgresBackend:
    """The PostgreSQL store (a throwaway cluster: skipped without PostgreSQL's programs,
    except in CI). Views: the live repository; another worker's, opened before the change and
    refreshed (what it learns arrives through the store's listeners); a read-only open (`check`,
    `export`); the writer closed and opened again."""

    name = "postgresql"

    def __init__(self, dsn: str, tenant: str) -> None:
        import psycopg

        from bot.adapters.pg_migrate import migrate

        with psycopg.connect(dsn) as conn:
            migrate(conn, tenant)
        self.dsn, self.tenant = dsn, tenant
        self._opened: list[Any] = []
        self.store = self._open()
        self.repo: LedgerRepository = StoreRepository(self.store)
        self.other = self._open()
        self.other_repo = StoreRepository(self.other)

    def _open(self, *, writable: bool = True) -> Any:
        from bot.adapters.postgres import PgDocStore

        store = PgDocStore.open(self.dsn, self.tenant, writable=writable, max_size=2)
        self._opened.append(store)
        return store

    def views(self) -> Iterator[tuple[str, LedgerRepository]]:
        yield "live", self.repo
        self.other.refresh()
        yield "another worker, refreshed", self.other_repo
        yield "read-only", StoreRepository(self._open(writable=False))
        self.store.close()
        self.store = self._open()
        self.repo = StoreRepository(self.store)
        yield "reopened", self.repo

    def fail_next_commit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The database refuses the next commit (after its first statement)."""
        import psycopg

        from bot.adapters.postgres import PgDocStore

        real_write = PgDocStore._write

        def fail_once(*args: Any, **kwargs: Any) -> None:
            monkeypatch.setattr(PgDocStore, "_write", real_write)
            raise psycopg.errors.DiskFull("could not extend file: No space left on device")

        monkeypatch.setattr(PgDocStore, "_write", fail_once)

    def close(self) -> None:
        for store in self._opened:
            store.close()


Backend = FakeBackend | StoreBackend | PostgresBackend


@pytest.fixture(params=["fake", "store", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made: Backend
    if request.param == "fake":
        made = FakeBackend()
    elif request.param == "store":
        made = StoreBackend(tmp_path / "store")
    else:
        made = PostgresBackend(request.getfixturevalue("pg_dsn"),
                               request.getfixturevalue("tenant"))
    yield made
    made.close()


def check_views(backend: Backend, expect: Callable[[LedgerRepository], None]) -> None:
    """`expect` holds for every way of reading the backend's data back."""
    for label, repo in backend.views():
        try:
            expect(repo)
        except AssertionError as err:
            raise AssertionError(f"[{backend.name}, {label}] {err}") from err


def differs_on(request: pytest.FixtureRequest, backend: Backend, name: str,
               reason: str) -> None:
    """A known fake-vs-store difference: the implementation `name` gets it wrong."""
    if backend.name == name:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def by_id(items: Iterable[Any], key: str = "id") -> list[Any]:
    return sorted(items, key=lambda item: getattr(item, key))


# ---- a change with something of everything -------------------------------------------------


@dataclass
class Sample:
    tasks: list[Task] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    difficulties: list[Difficulty] = field(default_factory=list)
    extensions: list[ExtensionRequest] = field(default_factory=list)
    bulletin_ranks: dict[str, dict[str, int]] = field(default_factory=dict)
    rebinds: list[RebindRequest] = field(default_factory=list)

    def change(self) -> Change:
        return Change(tasks=list(self.tasks), people=list(self.people), units=list(self.units),
                      invites=list(self.invites), history=list(self.history),
                      counters=dict(self.counters), outbox=list(self.outbox),
                      reports=list(self.reports), difficulties=list(self.difficulties),
                      extensions=list(self.extensions),
                      bulletin_ranks={k: dict(v) for k, v in self.bulletin_ranks.items()},
                      rebinds=list(self.rebinds))


def sample() -> Sample:
    submitted = Task(
        id="T0001", title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
        owners=("张三", "李四"), deadline=date(2026, 12, 31), created_at=at(0),
        goal="12月底前完成征地", leader="陈副县长", co_units=("县财政局", "县教育局"),
        category="重点项目", frequency=Frequency.XUN, remark="市级督办",
        status=TaskStatus.SUBMITTED, progress=100, latest_note="已全部完成",
        last_report_at=at(30), last_report="R000002", submitted_by="张三",
        submission="R000002", reminded_on=date(2026, 12, 1), reminded_kind="xun",
        exempt_since=at(40), exempt_reason="暴雨停工")
    ongoing = Task(id="T0002", title="乡村振兴示范村创建", lead_unit="县教育局",
                   owners=("李四",), deadline=None, created_at=at(1))
    closed = Task(id="T0003", title="中医院迁建项目一期工程", lead_unit="县财政局",
                  owners=("张三",), deadline=date(2027, 3, 31), created_at=at(2),
                  status=TaskStatus.CLOSED, progress=100, closed_at=at(50))
    people = [
        Person(name="张三", unit="县自然资源局", user_id=2001, bound_at=at(3),
               leave_from=date(2026, 12, 7), leave_to=date(2026, 12, 11),
               accounts=(Address(DINGTALK, "zhang3"),), last_channel=DINGTALK),
        Person(name="李四", unit="县教育局", accounts=(Address(DINGTALK, "manager4220"),)),
        Person(name="陈副县长", role=Role.LEADER, user_id=2900, bound_at=at(4),
               unreachable_since=at(5)),
    ]
    history = [
        HistoryEntry("T0001", at(0), "admin:1001", "created", None, TaskStatus.OPEN, "建账"),
        HistoryEntry("T0002", at(1), "admin:1001", "imported", None, TaskStatus.OPEN,
                     "建账（导入）"),
        HistoryEntry("T0001", at(20), "张三", "progress", note="60%：主体征地完成"),
        HistoryEntry("T0001", at(30), "张三", "submitted", TaskStatus.OPEN,
                     TaskStatus.SUBMITTED, "已全部完成"),
        HistoryEntry("T0002", at(35), "admin:1001", "import_updated", note="完成时限",
                     changes={"deadline": [None, "2027-06-30"], "owners": [["王五"], ["李四"]]}),
        HistoryEntry("T0003", at(50), "admin:1002", "verified", TaskStatus.SUBMITTED,
                     TaskStatus.CLOSED),
    ]
    reports = [
        Report(id="R000001", task_id="T0001", who="张三", user_id=2001, at=at(20),
               kind="progress", text="进度60%，主体征地完成", progress=60,
               before={"status": "推进中", "progress": 0, "latest_note": "",
                       "last_report_at": None, "last_report": "", "submitted_by": "",
                       "submission": ""},
               source="2001:10"),
        Report(id="R000002", task_id="T0001", who="张三", user_id=2001, at=at(30),
               kind="completion", text="已全部完成", progress=100,
               evidence=(Evidence("photo", "AgAC-photo-1"),
                         Evidence("document", "BQAC-doc-1", "验收单.pdf")),
               before={"status": "推进中", "progress": 60, "last_report": "R000001"},
               source="callback:abc", difficulty_id="D0003", extension_id="E0002"),
        Report(id="R000003", task_id="T0002", who="李四", user_id=2002, at=at(32),
               kind="evidence", text="", evidence=(Evidence("photo", "AgAC-photo-2"),),
               undone_at=at(33)),
    ]
    difficulties = [
        Difficulty(id="D0001", task_id="T0001", text="征地补偿资金缺口200万", opened_by="张三",
                   opened_at=at(21), coordinator="陈副县长"),
        Difficulty(id="D0002", task_id="T0003", text="施工便道未贯通", opened_by="张三",
                   opened_at=at(22), resolved_at=at(50), resolved_by="admin:1002",
                   closed_with=TaskStatus.CLOSED.value),
        Difficulty(id="D0003", task_id="T0001", text="拆迁户不同意", opened_by="张三",
                   opened_at=at(23), withdrawn=True),
    ]
    extensions = [
        ExtensionRequest(id="E0001", task_id="T0002", requested_by="李四",
                         requested_at=at(24), new_deadline=date(2027, 2, 10),
                         reason="配套资金没到"),
        ExtensionRequest(id="E0002", task_id="T0001", requested_by="张三",
                         requested_at=at(25), new_deadline=date(2027, 1, 15),
                         status=ExtensionStatus.APPROVED, decided_by="admin:1001",
                         decided_at=at(26)),
    ]
    outbox = [
        OutboxEntry(date(2026, 12, 1), "T0001", "张三", "xun", DeliveryStatus.SENT, at(6),
                    message_id=501, chat_id=2001),
        OutboxEntry(date(2026, 12, 1), "T0002", "李四", "monthly", DeliveryStatus.UNBOUND,
                    at(6)),
        OutboxEntry(date(2026, 11, 30), "T0001", "-1001234567890", "post:R000002",
                    DeliveryStatus.SENT, at(31), message_id=77, chat_id=-1001234567890),
    ]
    return Sample(
        tasks=[submitted, ongoing, closed],
        people=people,
        units=[Unit("县自然资源局"), Unit("县教育局"), Unit("县财政局")],
        invites=[
            Invite("INV0001", "李四", at(7), at(7) + timedelta(days=7), created_by=1001),
            Invite("INV0002", "张三", at(2), at(2) + timedelta(days=7), created_by=1001,
                   used_by=2001, used_at=at(3)),
        ],
        history=history,
        counters={"task": 3, "report": 3, "difficulty": 3, "extension": 2, "rebind": 2,
                  "chat_moved:-100123": -1001234567890, "calendar_warned": 739586},
        outbox=outbox,
        reports=reports,
        difficulties=difficulties,
        extensions=extensions,
        bulletin_ranks={"2026-11": {"县教育局": 1, "县自然资源局": 2, "县财政局": 3}},
        rebinds=[
            RebindRequest(id="B0001", name="张三", invite="INV0003", old_user_id=2001,
                          new_user_id=2777, requested_at=at(8)),
            RebindRequest(id="B0002", name="陈副县长", invite="INV0004", old_user_id=None,
                          new_user_id=2900, requested_at=at(2),
                          status=RebindStatus.CONFIRMED, decided_by="admin:1001",
                          decided_by_id=1001, decided_at=at(4)),
            RebindRequest(id="B0003", name="李四", invite="INV0005",
                          old_user_id=account_number(Address(DINGTALK, "manager4220")),
                          new_user_id=account_number(Address(DINGTALK, "li4-new")),
                          requested_at=at(9), new_address=Address(DINGTALK, "li4-new"),
                          old_address=Address(DINGTALK, "manager4220")),
        ],
    )


def expect_sample(repo: LedgerRepository, s: Sample) -> None:
    """Every query method of the port answers what `s` holds (and nothing for unknown keys)."""
    for task in s.tasks:
        assert repo.get_task(task.id) == task
    assert repo.get_task("T9999") is None
    assert by_id(repo.tasks()) == by_id(s.tasks)

    for person in s.people:
        assert repo.get_person(person.name) == person
    assert repo.get_person("王五") is None
    assert by_id(repo.people(), "name") == by_id(s.people, "name")
    for person in s.people:
        if person.user_id is not None:
            assert repo.person_by_user(person.user_id) == person
    bound = {p.user_id for p in s.people}
    for stranger in (2777, 9, 2002):
        if stranger not in bound:
            assert repo.person_by_user(stranger) is None

    assert by_id(repo.units(), "name") == by_id(s.units, "name")
    for invite in s.invites:
        assert repo.get_invite(invite.code) == invite
    assert repo.get_invite("nope") is None

    for task_id in {t.id for t in s.tasks}:
        assert list(repo.history(task_id)) == [h for h in s.history if h.task_id == task_id]
    assert list(repo.history("T9999")) == []

    for name, value in s.counters.items():
        assert repo.counter(name) == value
    assert repo.counter("never-set") == 0

    for entry in s.outbox:
        assert repo.outbox_get(entry.key) == entry
    assert sorted(repo.outbox_keys()) == sorted(e.key for e in s.outbox)
    assert repo.outbox_get("2026-12-01|T0001|张三|daily") is None

    for made in s.reports:
        assert repo.get_report(made.id) == made
        if made.source:
            assert repo.report_from(made.source) == made
    assert repo.get_report("R999999") is None
    assert repo.report_from("2001:404") is None
    assert by_id(repo.reports()) == by_id(s.reports)

    for task_id in {t.id for t in s.tasks}:
        assert by_id(repo.difficulties_of(task_id)) == by_id(
            d for d in s.difficulties if d.task_id == task_id)
        assert by_id(repo.extensions_of(task_id)) == by_id(
            e for e in s.extensions if e.task_id == task_id)
    assert by_id(repo.open_difficulties()) == by_id(d for d in s.difficulties if d.open)
    for item in s.difficulties:
        assert repo.get_difficulty(item.id) == item
    assert repo.get_difficulty("D9999") is None
    assert list(repo.difficulties_of("T9999")) == [] and list(repo.extensions_of("T9999")) == []

    for request in s.rebinds:
        assert repo.get_rebind(request.id) == request
    assert repo.get_rebind("B9999") is None
    assert by_id(repo.rebinds()) == by_id(s.rebinds)

    for period, ranks in s.bulletin_ranks.items():
        assert repo.bulletin_ranks(period) == ranks
    assert repo.bulletin_ranks("1999-01") is None


# ---- the contract ----------------------------------------------------------------------------


def test_a_new_repository_is_empty(backend: Backend) -> None:
    check_views(backend, lambda repo: expect_sample(repo, Sample()))


def test_a_committed_change_reads_back_through_every_query(backend: Backend) -> None:
    s = sample()
    backend.repo.commit(s.change())
    check_views(backend, lambda repo: expect_sample(repo, s))


def test_each_commit_adds_to_what_is_there(backend: Backend) -> None:
    """Two changes touching different records: the second leaves the first's records be."""
    s = sample()
    first = Sample(tasks=s.tasks[:1], people=s.people[:1], units=s.units[:1],
                   invites=s.invites[:1], history=s.history[:3], counters={"task": 1},
                   outbox=s.outbox[:1], reports=s.reports[:1], difficulties=s.difficulties[:1],
                   extensions=s.extensions[:1], rebinds=s.rebinds[:1])
    second = Sample(tasks=s.tasks[1:], people=s.people[1:], units=s.units[1:],
                    invites=s.invites[1:], history=s.history[3:],
                    counters={k: v for k, v in s.counters.items() if k != "task"},
                    outbox=s.outbox[1:], reports=s.reports[1:],
                    difficulties=s.difficulties[1:], extensions=s.extensions[1:],
                    bulletin_ranks=s.bulletin_ranks, rebinds=s.rebinds[1:])
    backend.repo.commit(first.change())
    check_views(backend, lambda repo: expect_sample(repo, first))
    backend.repo.commit(second.change())
    s.counters["task"] = 1
    check_views(backend, lambda repo: expect_sample(repo, s))


def test_records_are_overwritten_by_key_and_history_is_appended(backend: Backend) -> None:
    s = sample()
    backend.repo.commit(s.change())
    zhang, li, leader = s.people
    t1, t2, t3 = s.tasks
    later = at(120)
    updated = Sample(
        tasks=[t2.with_changes(status=TaskStatus.SUBMITTED, progress=100, submitted_by="李四",
                               submission="R000004", last_report="R000004",
                               last_report_at=later, deadline=date(2027, 6, 30))],
        # 换绑: 张三 moves to a new phone; 李四 binds for the first time.
        people=[zhang.with_changes(user_id=2777, bound_at=later, leave_from=None,
                                   leave_to=None),
                li.with_changes(user_id=2002, bound_at=later)],
        units=[Unit("县教育局")],
        invites=[replace(s.invites[0], used_by=2002, used_at=later)],
        history=[HistoryEntry("T0002", later, "李四", "submitted", TaskStatus.OPEN,
                              TaskStatus.SUBMITTED, "完成")],
        counters={"report": 4, "rebind": 2},
        outbox=[replace(s.outbox[1], status=DeliveryStatus.SENT, at=later, message_id=900,
                        chat_id=2002)],
        reports=[replace(s.reports[0], undone_at=later)],
        difficulties=[s.difficulties[0].with_changes(resolved_at=later, resolved_by="陈副县长",
                                                     resolution="资金已拨付")],
        extensions=[s.extensions[0].with_changes(status=ExtensionStatus.REFUSED,
                                                 decided_by="admin:1002", decided_at=later)],
        bulletin_ranks={"2026-11": {"县财政局": 1, "县教育局": 2, "县自然资源局": 3}},
        rebinds=[s.rebinds[0].with_changes(status=RebindStatus.CONFIRMED,
                                           decided_by="admin:1001", decided_by_id=1001,
                                           decided_at=later)],
    )
    backend.repo.commit(updated.change())

    expected = Sample(
        tasks=[t1, updated.tasks[0], t3],
        people=[*updated.people, leader],
        units=s.units,
        invites=[updated.invites[0], s.invites[1]],
        history=[*s.history, *updated.history],
        counters={**s.counters, **updated.counters},
        outbox=[s.outbox[0], updated.outbox[0], s.outbox[2]],
        reports=[updated.reports[0], *s.reports[1:]],
        difficulties=[updated.difficulties[0], *s.difficulties[1:]],
        extensions=[updated.extensions[0], s.extensions[1]],
        bulletin_ranks=updated.bulletin_ranks,
        rebinds=[updated.rebinds[0], *s.rebinds[1:]],
    )

    def expect(repo: LedgerRepository) -> None:
        expect_sample(repo, expected)
        # The account 张三 left is nobody's any more; the new ones find their person.
        assert repo.person_by_user(2001) is None
        assert repo.person_by_user(2777) == updated.people[0]
        assert repo.person_by_user(2002) == updated.people[1]
        assert len(list(repo.units())) == 3
        assert len(list(repo.history("T0002"))) == 3

    check_views(backend, expect)


def test_an_unbound_person_is_found_by_no_account(backend: Backend) -> None:
    zhang = sample().people[0]
    backend.repo.commit(Change(people=[zhang]))
    backend.repo.commit(Change(people=[zhang.with_changes(user_id=None, bound_at=None,
                                                          accounts=())]))

    def expect(repo: LedgerRepository) -> None:
        assert repo.person_by_user(2001) is None
        found = repo.get_person("张三")
        assert found is not None and not found.bound

    check_views(backend, expect)


def test_outbox_entries_are_dropped_by_key(backend: Backend) -> None:
    s = sample()
    backend.repo.commit(s.change())
    kept, dropped, post = s.outbox
    again = replace(dropped, at=at(200))
    backend.repo.commit(Change(outbox_drop=[dropped.key, "2020-01-01|T0001|张三|daily"]))

    def expect_dropped(repo: LedgerRepository) -> None:
        assert repo.outbox_get(dropped.key) is None
        assert sorted(repo.outbox_keys()) == sorted([kept.key, post.key])
        assert repo.outbox_get(kept.key) == kept

    check_views(backend, expect_dropped)

    # Put back, then put and dropped in one change: the drop wins (forget_deliveries_before).
    backend.repo.commit(Change(outbox=[again]))
    check_views(backend, lambda repo: _expect_outbox(repo, [kept, again, post]))
    backend.repo.commit(Change(outbox=[replace(kept, at=at(300))], outbox_drop=[kept.key]))
    check_views(backend, lambda repo: _expect_outbox(repo, [again, post]))


def _expect_outbox(repo: LedgerRepository, entries: list[OutboxEntry]) -> None:
    assert sorted(repo.outbox_keys()) == sorted(e.key for e in entries)
    for entry in entries:
        assert repo.outbox_get(entry.key) == entry


def test_history_keeps_the_order_of_commits_and_entries(backend: Backend) -> None:
    entries = [HistoryEntry("T0001", at(n), "张三", f"step{n}", note=str(n)) for n in range(6)]
    backend.repo.commit(Change(history=entries[:3]))
    backend.repo.commit(Change(history=[HistoryEntry("T0002", at(9), "李四", "other")]))
    backend.repo.commit(Change(history=entries[3:]))
    check_views(backend, lambda repo: _expect_history(repo, entries))


def _expect_history(repo: LedgerRepository, entries: list[HistoryEntry]) -> None:
    assert list(repo.history("T0001")) == entries
    assert [h.action for h in repo.history("T0002")] == ["other"]


def test_an_empty_change_changes_nothing(backend: Backend) -> None:
    s = sample()
    backend.repo.commit(s.change())
    backend.repo.commit(Change())
    check_views(backend, lambda repo: expect_sample(repo, s))


def test_a_failed_commit_changes_nothing(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    s = sample()
    first = Sample(tasks=s.tasks[:1], people=s.people[:1], counters={"task": 1})
    backend.repo.commit(first.change())
    backend.fail_next_commit(monkeypatch)
    with pytest.raises(PersistenceError):
        backend.repo.commit(s.change())
    check_views(backend, lambda repo: expect_sample(repo, first))
    # The disk has room again: the same change goes through whole.
    backend.repo.commit(s.change())
    check_views(backend, lambda repo: expect_sample(repo, s))


# ---- differences between the fake and the store --------------------------------------------


def test_no_report_is_made_from_no_message(
        backend: Backend, request: pytest.FixtureRequest) -> None:
    backend.repo.commit(sample().change())  # R000003 has no source
    check_views(backend, lambda repo: _expect_no_report(repo))


def _expect_no_report(repo: LedgerRepository) -> None:
    assert repo.report_from("") is None


def test_a_difficulty_is_found_by_id_whatever_its_task(
        backend: Backend, request: pytest.FixtureRequest) -> None:
    item = sample().difficulties[0]
    backend.repo.commit(Change(difficulties=[item]))  # its task T0001 is not committed
    check_views(backend, lambda repo: _expect_difficulty(repo, item))


def _expect_difficulty(repo: LedgerRepository, item: Difficulty) -> None:
    assert repo.get_difficulty(item.id) == item
    assert list(repo.difficulties_of(item.task_id)) == [item]


def test_what_was_committed_does_not_change_with_the_callers_objects(
        backend: Backend, request: pytest.FixtureRequest) -> None:
    s = sample()
    change = s.change()
    backend.repo.commit(change)
    change.bulletin_ranks["2026-11"]["县教育局"] = 99
    s.reports[0].before["progress"] = 99
    s.history[4].changes["deadline"] = ["tampered"]
    read = backend.repo.bulletin_ranks("2026-11")
    assert read is not None
    read["县财政局"] = 99
    check_views(backend, lambda repo: _expect_untouched(repo))


def _expect_untouched(repo: LedgerRepository) -> None:
    assert repo.bulletin_ranks("2026-11") == {"县教育局": 1, "县自然资源局": 2, "县财政局": 3}
    report = repo.get_report("R000001")
    assert report is not None and report.before["progress"] == 0
    assert repo.history("T0002")[-1].changes["deadline"] == [None, "2027-06-30"]
