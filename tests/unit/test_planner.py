"""One planner at a time (bot/scheduling.py, jobs/planner.py; issue 16): the scheduled jobs run
only in the worker holding the planner lock, a worker taking over catches up the same day and
sends only what was not sent, and a worker losing the lock stops at once.

Workers here are two services over one FakeRepository (the shared database), each with its
own scheduler hooks and a `SeatLock` — a `PlannerLock` whose "server" is a shared `Seat`, so
the election runs its real loop (every 50 ms) without PostgreSQL (tests/store/
test_planner_lock.py has the real lock). Tests wait for events: a lock's attempts
(`PlannerLock.changed`), a message sent (`GatedSender.changed`), never the wall clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

import tests.conftest as people
from bot.adapters.planner_lock import PostgresPlannerLock
from bot.bootstrap import bootstrap
from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import FixedClock
from bot.domain.model import Frequency, Person, Task
from bot.domain.ports import Buttons
from bot.scheduling import ScheduledJobs, planner_lock_for
from bot.services import Services
from jobs.planner import LocalPlannerLock, PlannerLock
from jobs.schedule import (
    BULLETIN_CATCH_UP_JOB,
    CATCH_UP_JOB,
    SUMMARY_CATCH_UP_JOB,
    install_jobs,
    running_jobs,
    start_scheduler,
    stop_scheduler,
    summary_job,
)
from tests.conftest import TZ
from tests.support.fake_channel import FakeSender
from tests.support.fakes import FakeRepository
from tests.unit.conftest import LI, ZHANG, Actor

PERIOD = 0.05
WAIT = 10.0  # seconds before a test gives up waiting for an event (never reached when green)
DEC2_10AM = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)  # Wed: after send time, not a 旬's first day


class Seat:
    """The lock's server: who holds it. A session that `dies` has lost it at once (as
    PostgreSQL releases a dead session's lock); its owner finds out at its next attempt."""

    def __init__(self) -> None:
        self.holder: SeatLock | None = None

    def kill(self, lock: SeatLock) -> None:
        lock.session_dead = True
        if self.holder is lock:
            self.holder = None


class SeatLock(PlannerLock):
    def __init__(self, seat: Seat, name: str) -> None:
        super().__init__(period=PERIOD, timeout=WAIT)
        self.seat, self.name = seat, name
        self.session_dead = False

    def describe(self) -> str:
        return f"seat lock {self.name}"

    async def _attempt(self) -> bool:
        if self.session_dead:
            raise ConnectionError("the session is gone")
        if self.seat.holder is None:
            self.seat.holder = self
        return self.seat.holder is self

    def _detach(self) -> Callable[[], Awaitable[None]] | None:
        self.session_dead = False  # the next attempt opens a new session
        if self.seat.holder is self:
            self.seat.holder = None  # a session ended releases its lock
        return None

    async def settle(self, more: int = 2) -> None:
        """Until `more` further attempts were made (the last started after this call)."""
        target = self.attempts + more
        await asyncio.wait_for(self.wait_until(lambda: self.attempts >= target), WAIT)

    async def until(self, holding: bool) -> None:
        await asyncio.wait_for(self.wait_until(lambda: self.holding is holding), WAIT)


@dataclass
class GatedSender(FakeSender):
    """A FakeSender whose sends to `held` chats wait until `gate` opens (a fan-out under way),
    and which notifies `changed` after every send."""

    held: set[int] = field(default_factory=set)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: asyncio.Event = field(default_factory=asyncio.Event)  # a held send is waiting
    cancelled: list[int] = field(default_factory=list)  # held sends cancelled
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        if chat_id in self.held:
            self.waiting.set()
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(chat_id)
                raise
        message_id = await super().send(chat_id, text, buttons)
        async with self.changed:
            self.changed.notify_all()
        return message_id

    def to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.sent if m.chat_id == chat_id]

    async def until_sent_to(self, chat_id: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: bool(self.to(chat_id))), WAIT)


def config() -> Config:
    return Config(telegram=TelegramConfig(token="123:test"),
                  access=AccessConfig(admins=frozenset({people.ADMIN})),
                  storage=StorageConfig(dir=Path("unused")))


@dataclass
class Worker:
    services: Services
    sender: GatedSender
    lock: SeatLock

    @property
    def jobs(self) -> ScheduledJobs:
        return self.services.jobs

    def start(self) -> Worker:
        """As the runners do: started paused, resumed after the inbox's replay."""
        self.jobs.start(paused=True)
        self.jobs.resume()
        return self

    async def idle(self) -> None:
        """Until the runs under way in this worker's scheduler (if any) have finished."""
        if self.jobs.scheduler is not None:
            await asyncio.wait_for(asyncio.gather(*running_jobs(self.jobs.scheduler)), WAIT)


Hire = Callable[[str], Worker]


@pytest.fixture
def seat() -> Seat:
    return Seat()


@pytest.fixture
async def hire(repo: FakeRepository, clock: FixedClock,
               seat: Seat) -> AsyncIterator[Hire]:
    """hire(name): a worker over the shared repository and clock; all stopped at the end."""
    hired: list[Worker] = []

    def make(name: str) -> Worker:
        sender = GatedSender()
        services = bootstrap(config(), repository=repo, clock=clock, calendar=WorkCalendar(),
                             sender=sender)
        lock = SeatLock(seat, name)
        services.jobs = ScheduledJobs(services, lock=lock)
        worker = Worker(services, sender, lock)
        hired.append(worker)
        return worker

    yield make
    for worker in hired:
        worker.sender.gate.set()
        await worker.jobs.stop(wait=False)


@pytest.fixture
def daily(make_task: Callable[..., Task], bind: Callable[[Actor], Person],
          clock: FixedClock) -> Iterator[tuple[Task, Task]]:
    """张三 and 李四 bound, each owning a daily task; Wednesday 2 December, 10:00 (after send
    time: a planner starting now catches up today's reminders)."""
    bind(ZHANG)
    bind(LI)
    tasks = (make_task("安全生产日巡查", owners=(ZHANG.who,), frequency=Frequency.DAILY),
             make_task("供暖管网日报", owners=(LI.who,), frequency=Frequency.DAILY))
    clock.set(DEC2_10AM)
    yield tasks


# ---- the lock the config calls for ---------------------------------------------------------


def test_a_county_on_tinydb_is_always_its_own_planner(services: Services) -> None:
    lock = services.jobs.lock
    assert isinstance(lock, LocalPlannerLock) and lock.local and lock.holding
    assert services.jobs.planner


def test_postgresql_workers_elect_one_planner_per_tenant_named_by_their_address() -> None:
    cfg = Config(telegram=TelegramConfig(token="123:test", mode="webhook",
                                         webhook_listen=("10.0.0.7", 8443)),
                 storage=StorageConfig(backend="postgresql",
                                       dsn="postgresql://luoshi:pw@db/luoshi", tenant="baode"))
    lock = planner_lock_for(cfg)
    assert isinstance(lock, PostgresPlannerLock) and not lock.local and not lock.holding
    assert lock.tenant == "baode" and lock.application_name.endswith(" 10.0.0.7:8443")
    assert lock.period * 2 + lock.fence <= 30  # a dead planner is replaced within 30 s


# ---- TinyDB: today's behaviour ---------------------------------------------------------------


async def test_the_local_planner_starts_paused_and_runs_once_resumed(
        services: Services, sender: FakeSender, daily: tuple[Task, Task]) -> None:
    jobs = services.jobs
    jobs.start(paused=True)
    try:
        assert jobs.scheduler is not None and jobs.scheduler.get_job(CATCH_UP_JOB) is not None
        await asyncio.sleep(0)
        assert sender.sent == []  # paused: nothing yet
        jobs.resume()
        catch_up = jobs.scheduler.get_job(CATCH_UP_JOB)
        for _ in range(100):  # the catch-up is handed to the executor on the loop's next turns
            if running_jobs(jobs.scheduler) or jobs.scheduler.get_job(CATCH_UP_JOB) is None:
                break
            await asyncio.sleep(0)
        assert catch_up is not None
        await asyncio.wait_for(asyncio.gather(*running_jobs(jobs.scheduler)), WAIT)
        assert {m.chat_id for m in sender.sent} >= {ZHANG.user_id, LI.user_id}
    finally:
        await jobs.stop()
    assert jobs.scheduler is not None and not jobs.scheduler.running


# ---- several workers: one planner ------------------------------------------------------------


async def test_jobs_run_only_in_the_worker_holding_the_lock(
        hire: Hire, daily: tuple[Task, Task]) -> None:
    a = hire("a").start()
    await a.lock.until(holding=True)
    b = hire("b").start()
    await b.lock.settle()
    assert a.jobs.planner and not b.jobs.planner
    assert b.jobs.scheduler is None  # a standby has no scheduler at all

    await a.sender.until_sent_to(LI.user_id)  # a's catch-up: today's reminders, once
    await a.idle()
    await b.lock.settle()
    assert len(a.sender.to(ZHANG.user_id)) == 1 and len(a.sender.to(LI.user_id)) == 1
    assert b.sender.sent == []
    assert not b.lock.holding and b.jobs.scheduler is None


async def test_a_lost_lock_stops_the_dispatch_and_the_new_planner_sends_only_the_rest(
        hire: Hire, seat: Seat, daily: tuple[Task, Task]) -> None:
    """a's dispatch has reached 张三 (sent and recorded) and waits on 李四's send when a's
    session dies: a stops planning at once — its dispatch cancelled, not finished — and b,
    taking over, catches up the same day: 李四 only, 张三 is in the outbox."""
    a = hire("a")
    a.sender.held = {LI.user_id}
    a.start()
    await a.lock.until(holding=True)
    await asyncio.wait_for(a.sender.waiting.wait(), WAIT)
    await a.sender.until_sent_to(ZHANG.user_id)
    b = hire("b").start()
    await b.lock.settle()
    assert not b.lock.holding and b.sender.sent == []

    seat.kill(a.lock)  # a's connection to the database dies
    await a.lock.until(holding=False)
    assert a.jobs.scheduler is None and a.sender.cancelled == [LI.user_id]
    await b.lock.until(holding=True)
    await b.sender.until_sent_to(LI.user_id)
    await b.idle()

    assert len(a.sender.to(ZHANG.user_id)) == 1 and a.sender.to(LI.user_id) == []
    assert b.sender.to(ZHANG.user_id) == [] and len(b.sender.to(LI.user_id)) == 1
    await a.lock.settle()  # a is back, as a standby
    assert not a.lock.holding and a.jobs.scheduler is None


async def test_a_worker_that_stops_hands_the_lock_over(hire: Hire,
                                                       daily: tuple[Task, Task]) -> None:
    a = hire("a").start()
    await a.lock.until(holding=True)
    await a.sender.until_sent_to(LI.user_id)
    await a.idle()
    b = hire("b").start()
    await b.lock.settle()
    assert not b.lock.holding

    await a.jobs.stop()
    assert not a.lock.holding and not a.jobs.planner
    await b.lock.until(holding=True)
    await b.idle()
    assert b.sender.sent == []  # its catch-up found today's reminders in the outbox


async def test_shutdown_lets_the_running_dispatch_finish_while_holding_the_lock(
        hire: Hire, daily: tuple[Task, Task]) -> None:
    """At shutdown nobody takes over under a dispatch that is finishing: the lock is kept (and
    kept alive) until it is done, then released."""
    a = hire("a")
    a.sender.held = {LI.user_id}
    a.start()
    await a.lock.until(holding=True)
    await asyncio.wait_for(a.sender.waiting.wait(), WAIT)
    b = hire("b").start()
    stopping = asyncio.create_task(a.jobs.stop(wait=True))
    await a.lock.settle()  # a keeps campaigning (its keepalive) while it waits
    await b.lock.settle()
    assert a.lock.holding and not b.lock.holding and not stopping.done()

    a.sender.gate.set()
    await asyncio.wait_for(stopping, WAIT)
    assert len(a.sender.to(LI.user_id)) == 1 and a.sender.cancelled == []
    assert not a.lock.holding
    await b.lock.until(holding=True)
    await b.idle()
    assert b.sender.sent == []


async def test_a_worker_losing_the_lock_while_shutting_down_plans_no_more(
        hire: Hire, seat: Seat, daily: tuple[Task, Task]) -> None:
    """Shutting down (waiting for its dispatch), a's session dies: the dispatch is cancelled
    as for any lost lock, and a's campaign, which may win the free lock again before the
    shutdown ends it, builds no scheduler."""
    a = hire("a")
    a.sender.held = {LI.user_id}
    a.start()
    await a.lock.until(holding=True)
    await asyncio.wait_for(a.sender.waiting.wait(), WAIT)
    stopping = asyncio.create_task(a.jobs.stop(wait=True))
    await a.lock.settle()
    seat.kill(a.lock)
    await asyncio.wait_for(stopping, WAIT)
    assert a.sender.cancelled == [LI.user_id] and a.sender.to(LI.user_id) == []
    assert a.jobs.scheduler is None and not a.lock.holding and seat.holder is None
    attempts = a.lock.attempts
    a.jobs.resume()  # after stop: nothing starts again
    b = hire("b").start()
    await b.lock.until(holding=True)
    await b.sender.until_sent_to(LI.user_id)
    assert a.lock.attempts == attempts


# ---- what a takeover catches up --------------------------------------------------------------


async def test_a_takeover_also_catches_up_the_bulletin_a_restart_does_not(
        services: Services, clock: FixedClock) -> None:
    clock.set(datetime(2026, 12, 1, 9, 29, tzinfo=TZ))  # Tue 1st: bulletins at 09:30
    scheduler = start_scheduler(services, paused=True, takeover=True)
    try:
        assert scheduler.get_job(BULLETIN_CATCH_UP_JOB) is None  # not time yet
        clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=TZ))
        install_jobs(scheduler, services)
        assert scheduler.get_job(BULLETIN_CATCH_UP_JOB) is None  # a restart: as before
        install_jobs(scheduler, services, takeover=True)
        assert scheduler.get_job(BULLETIN_CATCH_UP_JOB) is not None
        assert scheduler.get_job(CATCH_UP_JOB) is not None
    finally:
        await stop_scheduler(scheduler, wait=False)


async def test_a_takeover_sends_a_missed_summary_and_never_one_sent_already(
        services: Services, clock: FixedClock, sender: FakeSender) -> None:
    """The planner died just before 17:30; the next one takes over after it: the summary
    goes out then — once, however many takeovers follow that day."""
    clock.set(datetime(2026, 12, 1, 17, 29, tzinfo=TZ))
    scheduler = start_scheduler(services, paused=True, takeover=True)
    try:
        assert scheduler.get_job(SUMMARY_CATCH_UP_JOB) is None  # not time yet
        clock.set(datetime(2026, 12, 1, 17, 31, tzinfo=TZ))
        install_jobs(scheduler, services)
        assert scheduler.get_job(SUMMARY_CATCH_UP_JOB) is None  # a restart: as before
        install_jobs(scheduler, services, takeover=True)
        assert scheduler.get_job(SUMMARY_CATCH_UP_JOB) is not None
    finally:
        await stop_scheduler(scheduler, wait=False)
    await summary_job(services)  # the catch-up's run
    to_admin = [m for m in sender.sent if m.chat_id == people.ADMIN]
    assert len(to_admin) == 1 and "小结" in to_admin[0].text
    await summary_job(services)  # a second takeover, later the same day
    assert len([m for m in sender.sent if m.chat_id == people.ADMIN]) == 1
    clock.set(datetime(2026, 12, 2, 17, 30, tzinfo=TZ))
    await summary_job(services)  # the next day's
    assert len([m for m in sender.sent if m.chat_id == people.ADMIN]) == 2
