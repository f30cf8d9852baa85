"""Several workers on one county's PostgreSQL schema, at the level of the services: claims on
outbox keys (SKIP LOCKED), two planners dispatching at once (a takeover while the old one still
runs) sending every reminder once, and a use case computed on a stale view run again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import date
from itertools import count
from pathlib import Path

import psycopg
import pytest

from bot.adapters.pg_migrate import migrate
from bot.adapters.postgres import PgDocStore
from bot.app.common import retried
from bot.bootstrap import bootstrap
from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import FixedClock
from bot.domain.ledger import NewTask
from bot.domain.ports import Buttons
from bot.domain.replies import Reading, ReplyKind
from bot.services import Services
from jobs.pacing import Pacer
from tests.conftest import ADMIN, DEC1
from tests.support.fake_channel import FakeSender
from tests.support.harness import FakeTime

OFFICIALS = 12


class YieldingSender(FakeSender):
    """Gives the event loop away in every send, as a network call does: the other planner
    runs while this one holds its claims."""

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        await asyncio.sleep(0)
        return await super().send(chat_id, text, buttons)


@pytest.fixture
def stores(pg_dsn: str, tenant: str) -> Iterator[tuple[PgDocStore, PgDocStore]]:
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, tenant)
    one = PgDocStore.open(pg_dsn, tenant, max_size=12)
    two = PgDocStore.open(pg_dsn, tenant, max_size=12)
    yield one, two
    one.close()
    two.close()


def worker(store: PgDocStore, sender: FakeSender) -> Services:
    config = Config(telegram=TelegramConfig(token="123:test"),
                    access=AccessConfig(admins=frozenset({ADMIN})),
                    storage=StorageConfig(dir=Path("unused"), backend="postgresql"))
    time = FakeTime()
    services = bootstrap(config, store=store, clock=FixedClock(DEC1), calendar=WorkCalendar(),
                         sender=sender,
                         pacer_factory=lambda: Pacer(monotonic=time.monotonic, sleep=time.sleep),
                         sleep=time.sleep)
    return services


def seed(services: Services) -> None:
    """Twelve bound officials with two tasks each, due on 1 December (a reminder day)."""
    ledger = services.ledger
    codes = count(1)
    for i in range(OFFICIALS):
        name = f"干部{i:02d}"
        invite = ledger.create_invite(name, "县住建局", admin_id=ADMIN)
        ledger.redeem_invite(invite.code, 5000 + i)
        for title in ("供热管网改造", "老旧小区改造"):
            ledger.add_task(NewTask(title=f"{title}{next(codes)}", lead_unit="县住建局",
                                    owners=(name,), deadline=date(2026, 12, 31)),
                            who="督查室")


def test_a_claimed_key_is_skipped_by_another_worker(
        stores: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = stores
    with one.claim("outbox", ["2026-12-01|DB-1|张三"]) as mine:
        assert mine
        with two.claim("outbox", ["2026-12-01|DB-1|张三", "2026-12-01|DB-2|张三"]) as theirs:
            assert not theirs
        with two.claim("outbox", ["2026-12-01|DB-2|张三"]) as other_key:
            assert other_key
        one.commit([("outbox", "2026-12-01|DB-1|张三", {"status": "sent"})])
    with two.claim("outbox", ["2026-12-01|DB-1|张三"]) as later:
        assert later  # released with the first worker's transaction
        two.refresh()
        assert two.get("outbox", "2026-12-01|DB-1|张三") == {"status": "sent"}


def test_a_claim_ends_with_its_worker(pg_dsn: str, stores: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = stores
    with pytest.raises(RuntimeError), one.claim("outbox", ["k"]):
        raise RuntimeError("the worker died in the middle of a send")
    with two.claim("outbox", ["k"]) as held:
        assert held


async def test_two_planners_at_once_send_every_reminder_once(
        stores: tuple[PgDocStore, PgDocStore]) -> None:
    one, two = stores
    senders = YieldingSender(), YieldingSender()
    first, second = worker(one, senders[0]), worker(two, senders[1])
    seed(first)
    second.ledger.repo.refresh()
    reports = await asyncio.gather(first.dispatcher.run(DEC1.date()),
                                   second.dispatcher.run(DEC1.date()))
    per_chat = Counter(sent.chat_id for sender in senders for sent in sender.sent)
    assert sorted(per_chat) == [5000 + i for i in range(OFFICIALS)]
    assert set(per_chat.values()) == {1}  # 每人每日一条, across both planners
    assert sum(report.sent for report in reports) == OFFICIALS * 2
    # What one planner held when the other met it was looked at again (fake time) and
    # found sent: nothing is left held, nothing was sent twice.
    assert [r.claimed_elsewhere for r in reports] == [0, 0]
    again = await second.dispatcher.run(DEC1.date())  # a third run: nothing left
    assert again.messages == 0 and again.sent_before == OFFICIALS * 2


async def test_a_report_on_a_stale_worker_is_computed_again(
        stores: tuple[PgDocStore, PgDocStore]) -> None:
    """Two officials of one task report on two workers: neither report is lost."""
    one, two = stores
    first, second = worker(one, FakeSender()), worker(two, FakeSender())
    ledger = first.ledger
    for i, name in enumerate(("张三", "李四")):
        invite = ledger.create_invite(name, "县住建局", admin_id=ADMIN)
        ledger.redeem_invite(invite.code, 6000 + i)
    task = ledger.add_task(NewTask(title="征地拆迁", lead_unit="县住建局", owners=("张三", "李四"),
                                   deadline=date(2026, 12, 31)), who="督查室")
    second.ledger.repo.refresh()

    first.ledger.submit_report(task.id, Reading(ReplyKind.PROGRESS, progress=40, text="进度40%"),
                               who="张三", user_id=6000)

    attempts = []

    async def report() -> None:  # worker two has not seen 张三's report
        attempts.append(1)
        second.ledger.submit_report(task.id, Reading(ReplyKind.NOTE, text="已完成清表"),
                                    who="李四", user_id=6001)

    await retried(report)
    assert len(attempts) == 2  # refused once (stale), then computed on 张三's report
    one.refresh()
    notes = {r.text for r in first.ledger.repo.reports() if r.task_id == task.id}
    assert notes == {"进度40%", "已完成清表"}
    final = first.ledger.repo.get_task(task.id)
    assert final is not None and final.progress == 40


def test_inside_a_claim_no_other_connection_is_needed(
        pg_dsn: str, stores: tuple[PgDocStore, PgDocStore], tenant: str) -> None:
    """The dispatcher's sends in flight each hold a connection while claimed: refreshing and
    recording inside a claim use that one (a pool of one connection shows it: anything else
    would wait for a second one, with the event loop blocked)."""
    _one, other = stores
    with PgDocStore.open(pg_dsn, tenant, max_size=1) as store:
        with store.claim("outbox", ["2026-12-01|DB-1|张三"]) as held:
            assert held
            other.commit([("tasks", "DB-9", {"v": 1})])
            store.refresh()
            assert store.get("tasks", "DB-9") == {"v": 1}
            store.commit([("outbox", "2026-12-01|DB-1|张三", {"status": "sent"})])
        other.refresh()
        assert other.get("outbox", "2026-12-01|DB-1|张三") == {"status": "sent"}


async def test_reports_on_two_workers_at_once_meet_on_no_counter(
        stores: tuple[PgDocStore, PgDocStore]) -> None:
    """Two officials report on their own tasks on two workers, neither having seen the
    other's report: report numbers come from the database, so neither is refused."""
    one, two = stores
    first, second = worker(one, FakeSender()), worker(two, FakeSender())
    ledger = first.ledger
    tasks = []
    for i, name in enumerate(("张三", "李四")):
        invite = ledger.create_invite(name, "县住建局", admin_id=ADMIN)
        ledger.redeem_invite(invite.code, 6100 + i)
        tasks.append(ledger.add_task(NewTask(title=f"征地{i}", lead_unit="县住建局",
                                             owners=(name,), deadline=date(2026, 12, 31)),
                                     who="督查室"))
    second.ledger.repo.refresh()
    first.ledger.submit_report(tasks[0].id, Reading(ReplyKind.PROGRESS, progress=40,
                                                    text="进度40%"), who="张三", user_id=6100)
    second.ledger.submit_report(tasks[1].id, Reading(ReplyKind.PROGRESS, progress=50,
                                                     text="进度50%"), who="李四", user_id=6101)
    one.refresh()
    reports = sorted(first.ledger.repo.reports(), key=lambda r: r.id)
    assert [(r.id, r.text) for r in reports] == [("R000001", "进度40%"), ("R000002", "进度50%")]
