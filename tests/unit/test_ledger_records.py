"""The ledger's writes for the bot's own records (outbox, bulletin ranks, chats, the calendar
warning, demo accounts), against the fake repository; and that no other module commits."""

from __future__ import annotations

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.ledger_records import CALENDAR_WARNED, CHAT_MOVED, CHAT_UNREACHABLE
from bot.domain.model import DeliveryStatus, OutboxEntry, Person, Role
from bot.domain.ports import PersistenceError
from tests.conftest import DEC1 as NOW
from tests.conftest import ROOT
from tests.support.fakes import FakeRepository

TODAY = NOW.date()
WRITERS = (ROOT / "bot" / "domain", ROOT / "bot" / "adapters")


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ledger(repo: FakeRepository, clock: FixedClock) -> Ledger:
    return Ledger(repo, clock)


def entry(day: date = TODAY, task: str = "T0001", person: str = "张三", kind: str = "xun",
          status: DeliveryStatus = DeliveryStatus.SENT, message_id: int | None = 7,
          chat_id: int | None = 2001) -> OutboxEntry:
    return OutboxEntry(day, task, person, kind, status, NOW, message_id=message_id,
                       chat_id=chat_id)


def add_task(ledger: Ledger) -> str:
    return ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
                                   owners=("张三",), deadline=date(2026, 12, 31)),
                           who="王主任").id


# ---- nothing else writes ----------------------------------------------------------------


def _writes(path: Path) -> list[str]:
    """Calls of `<something>.commit(...)` and `Change(...)` constructions in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "commit":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(func)}()")
        elif isinstance(func, ast.Name) and func.id == "Change":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: Change()")
    return found


def test_only_the_domain_and_the_adapters_commit() -> None:
    """Every write goes through the ledger service (bot/domain/ledger.py): no module of the
    bot or its jobs outside bot/domain/ and bot/adapters/ commits to the repository or
    builds a Change."""
    offenders = []
    for top in (ROOT / "bot", ROOT / "jobs"):
        for path in sorted(top.rglob("*.py")):
            if not any(path.is_relative_to(writer) for writer in WRITERS):
                offenders += _writes(path)
    assert offenders == []
    # The scan sees what it looks for.
    assert any("self.repo.commit()" in w for w in _writes(ROOT / "bot" / "domain" / "ledger.py"))


# ---- the outbox ------------------------------------------------------------------------


def test_record_delivery_keeps_the_entry_as_given(ledger: Ledger, repo: FakeRepository) -> None:
    failed = entry(status=DeliveryStatus.FAILED, message_id=None)
    ledger.record_delivery(failed)
    assert repo.outbox_get(failed.key) == failed and repo.commits == 1


def test_record_deliveries_is_one_commit_and_none_for_nothing(ledger: Ledger,
                                                              repo: FakeRepository) -> None:
    ledger.record_deliveries([])
    assert repo.commits == 0
    unbound = [entry(person=name, status=DeliveryStatus.UNBOUND, message_id=None, chat_id=None)
               for name in ("张三", "李四")]
    ledger.record_deliveries(unbound)
    assert repo.commits == 1
    assert [repo.outbox_get(e.key) for e in unbound] == unbound


def test_record_sent_reminder_sets_the_last_reminder_and_clears_unreachable(
        ledger: Ledger, repo: FakeRepository) -> None:
    task_id = add_task(ledger)
    ledger.seed_people([Person(name="张三", user_id=2001, unreachable_since=NOW)])
    before = repo.commits
    sent = entry(task=task_id, kind="xun")
    ledger.record_sent(sent, reminder=True)
    assert repo.commits == before + 1
    assert repo.outbox_get(sent.key) == sent
    task = repo.get_task(task_id)
    assert task is not None and (task.reminded_on, task.reminded_kind) == (TODAY, "xun")
    person = repo.get_person("张三")
    assert person is not None and person.unreachable_since is None and person.reachable


def test_record_sent_not_a_reminder_leaves_the_task(ledger: Ledger,
                                                    repo: FakeRepository) -> None:
    """A 督办单 to a leader is not the task's reminder: 预警 does not count from it."""
    task_id = add_task(ledger)
    ledger.record_sent(entry(task=task_id, person="陈副县长", kind="escalation"),
                       reminder=False)
    task = repo.get_task(task_id)
    assert task is not None and (task.reminded_on, task.reminded_kind) == (None, "")


def test_record_sent_for_an_unknown_task_or_person_records_the_entry(
        ledger: Ledger, repo: FakeRepository) -> None:
    listing = entry(task="挂牌督办", person="-1001", kind="listing")
    ledger.record_sent(listing, reminder=True)
    assert repo.outbox_get(listing.key) == listing
    assert list(repo.tasks()) == [] and list(repo.people()) == []


def test_mark_unreachable_keeps_the_first_time(ledger: Ledger, repo: FakeRepository,
                                               clock: FixedClock) -> None:
    ledger.seed_people([Person(name="张三", user_id=2001)])
    first = entry(status=DeliveryStatus.UNREACHABLE, message_id=None)
    ledger.mark_unreachable(first)
    person = repo.get_person("张三")
    assert person is not None and person.unreachable_since == NOW
    assert repo.outbox_get(first.key) == first
    clock.advance(timedelta(days=1))
    ledger.mark_unreachable(entry(day=TODAY + timedelta(days=1),
                                  status=DeliveryStatus.UNREACHABLE, message_id=None))
    person = repo.get_person("张三")
    assert person is not None and person.unreachable_since == NOW


def test_forget_deliveries_before_drops_older_days_only(ledger: Ledger,
                                                        repo: FakeRepository) -> None:
    cutoff = date(2026, 10, 22)
    old = [entry(day=cutoff - timedelta(days=n)) for n in (1, 30)]
    kept = [entry(day=cutoff), entry(day=TODAY)]
    ledger.record_deliveries(old + kept)
    before = repo.commits
    assert ledger.forget_deliveries_before(cutoff) == 2
    assert sorted(repo.outbox_keys()) == sorted(e.key for e in kept)
    assert repo.commits == before + 1
    assert ledger.forget_deliveries_before(cutoff) == 0
    assert repo.commits == before + 1  # nothing to drop, nothing committed


# ---- bulletins, the calendar warning, chats, demo accounts ---------------------------------


def test_record_bulletin_keeps_the_ranks_first_published(ledger: Ledger,
                                                         repo: FakeRepository) -> None:
    ranks = {"县发改局": 1, "县工信局": 2}
    admin = entry(task="bulletin:2026-11", person="-1001", kind="bulletin", chat_id=-1001)
    ledger.record_bulletin("2026-11", ranks, admin)
    ranks["县发改局"] = 9  # the caller's dict is not kept
    work = entry(task="bulletin:2026-11", person="-1002", kind="bulletin", chat_id=-1002)
    ledger.record_bulletin("2026-11", {"县发改局": 2, "县工信局": 1}, work)
    assert repo.bulletin_ranks("2026-11") == {"县发改局": 1, "县工信局": 2}
    assert repo.outbox_get(admin.key) == admin and repo.outbox_get(work.key) == work
    assert repo.commits == 2


def test_note_calendar_warning_records_the_day(ledger: Ledger, repo: FakeRepository) -> None:
    ledger.note_calendar_warning(TODAY)
    assert repo.counter(CALENDAR_WARNED) == TODAY.toordinal()


def test_chat_notes(ledger: Ledger, repo: FakeRepository) -> None:
    ledger.note_chat_moved(-1001, -1002)
    assert repo.counter(f"{CHAT_MOVED}-1001") == -1002
    ledger.note_chat_unreachable(-1002)
    assert repo.counter(f"{CHAT_UNREACHABLE}-1002") == int(NOW.timestamp())
    ledger.note_chat_reachable(-1002)
    assert repo.counter(f"{CHAT_UNREACHABLE}-1002") == 0
    assert repo.commits == 3


def test_seed_people_puts_them_as_given(ledger: Ledger, repo: FakeRepository) -> None:
    ledger.seed_people([])
    assert repo.commits == 0
    people = [Person(name="张伟", unit="县自然资源局", user_id=2001, bound_at=NOW),
              Person(name="陈副县长", role=Role.LEADER, user_id=3001, bound_at=NOW)]
    ledger.seed_people(people)
    assert repo.commits == 1
    assert [repo.get_person(p.name) for p in people] == people
    assert repo.person_by_user(3001) == people[1]


def test_a_failed_write_changes_nothing(ledger: Ledger, repo: FakeRepository) -> None:
    task_id = add_task(ledger)
    repo.fail_next_commit = True
    sent = entry(task=task_id)
    with pytest.raises(PersistenceError):
        ledger.record_sent(sent, reminder=True)
    assert repo.outbox_get(sent.key) is None
    task = repo.get_task(task_id)
    assert task is not None and task.reminded_on is None
