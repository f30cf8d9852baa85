"""The planner's advisory lock on a real PostgreSQL (bot/adapters/planner_lock.py, issue 16).

Workers are `PostgresPlannerLock`s campaigning in this event loop, each with its own session,
trying every 50 ms. Nothing waits on the wall clock: a test waits (with a generous timeout) for
an event — a worker gained or lost the lock — or for a worker to have made more attempts
(`PlannerLock.changed` is notified after each), then states what holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import psycopg
import pytest

from bot.adapters.planner_lock import (
    PostgresPlannerLock,
    lock_keys,
    planner_holder,
    planner_holder_async,
    planner_line,
    worker_name,
)

PERIOD = 0.05
WAIT = 10.0  # seconds before a test gives up waiting for an event (never reached when green)


@dataclass
class Worker:
    """One worker's campaign: its lock, and what it was told, in order, in `log` (shared by
    the workers of a test, so the order across workers shows too)."""

    name: str
    lock: PostgresPlannerLock
    log: list[str]
    gained: asyncio.Event = field(default_factory=asyncio.Event)
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def start(self) -> Worker:
        async def gained() -> None:
            self.log.append(f"{self.name} gained")
            self.gained.set()

        async def lost() -> None:
            self.log.append(f"{self.name} lost")
            self.lost.set()

        self.task = asyncio.create_task(self.lock.run(gained, lost))
        return self

    async def attempts(self, more: int = 2) -> None:
        """Until this worker has made `more` attempts from now on (the last one started after
        this call)."""
        target = self.lock.attempts + more
        await asyncio.wait_for(self.lock.wait_until(lambda: self.lock.attempts >= target), WAIT)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.lock.release()


Campaign = Callable[..., Worker]


@pytest.fixture
async def campaign() -> AsyncIterator[Campaign]:
    """Start workers: campaign(name, dsn, tenant, **lock options); all stopped at the end."""
    started: list[Worker] = []
    log: list[str] = []

    def start(name: str, dsn: str, tenant: str, **options: float) -> Worker:
        lock = PostgresPlannerLock(dsn, tenant, listen=f"{name}:8443",
                                   period=options.pop("period", PERIOD), **options)
        worker = Worker(name, lock, log).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop()


async def first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    done, pending = await asyncio.wait(waits, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    assert done, "nobody got the lock"


def terminate(dsn: str, pid: int) -> None:
    """The worker's server process ends, as when the worker is SIGKILLed (its socket closed)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def test_keys_are_two_non_negative_int4_per_tenant() -> None:
    one, two = lock_keys("county_a"), lock_keys("county_b")
    assert one[0] == two[0]  # the namespace
    assert one[1] != two[1]
    assert all(0 <= key < 2**31 for key in (*one, *two))
    assert lock_keys("county_a") == one  # stable across processes (not hash())


def test_worker_name_says_host_pid_and_listen_address_within_postgres_limit() -> None:
    name = worker_name("10.0.0.7:8443")
    assert name.startswith("luoshi ") and name.endswith(" 10.0.0.7:8443")
    assert len(worker_name("x" * 200).encode()) <= 63


def test_the_dsn_is_never_shown() -> None:
    lock = PostgresPlannerLock("postgresql://luoshi:s3cret@db/luoshi", "county")
    assert "s3cret" not in repr(lock) and "s3cret" not in lock.describe()


def test_the_planner_notices_its_own_silence_before_the_server_fences_it() -> None:
    with pytest.raises(ValueError, match="fence"):
        PostgresPlannerLock("postgresql:///x", "county", period=5, timeout=5, fence=9)
    assert PostgresPlannerLock("postgresql:///x", "county", period=5).fence == 20


async def test_one_tenant_has_exactly_one_planner(pg_dsn: str, tenant: str,
                                                  campaign: Campaign) -> None:
    a = campaign("a", pg_dsn, tenant)
    b = campaign("b", pg_dsn, tenant)
    await first(a.gained, b.gained)
    await a.attempts()
    await b.attempts()
    assert [a.lock.holding, b.lock.holding].count(True) == 1
    holder = a if a.lock.holding else b
    assert holder.log == [f"{holder.name} gained"]  # and nobody lost or gained since
    assert await planner_holder_async(pg_dsn, tenant) == holder.lock.application_name
    assert holder.lock.application_name.endswith(f" {holder.name}:8443")


async def test_two_tenants_plan_side_by_side(pg_dsn: str, tenant: str,
                                             campaign: Campaign) -> None:
    a = campaign("a", pg_dsn, tenant)
    b = campaign("b", pg_dsn, f"{tenant}_other")
    await asyncio.wait_for(a.gained.wait(), WAIT)
    await asyncio.wait_for(b.gained.wait(), WAIT)
    assert a.lock.holding and b.lock.holding
    assert await planner_holder_async(pg_dsn, f"{tenant}_other") == b.lock.application_name


async def test_nobody_holds_until_a_worker_campaigns(pg_dsn: str, tenant: str) -> None:
    assert await asyncio.to_thread(planner_holder, pg_dsn, tenant) is None
    assert "none" in await asyncio.to_thread(planner_line, pg_dsn, tenant)


async def test_check_names_the_planner_by_the_address_given_on_the_command_line(
        pg_dsn: str, tenant: str) -> None:
    lock = PostgresPlannerLock(pg_dsn, tenant, period=PERIOD)
    lock.identify("10.0.0.9:9000")  # python -m bot run --listen 10.0.0.9:9000
    worker = Worker("a", lock, []).start()
    try:
        await asyncio.wait_for(worker.gained.wait(), WAIT)
        line = await asyncio.to_thread(planner_line, pg_dsn, tenant)
        assert line.startswith("计划者 / Planner: luoshi ") and line.endswith(" 10.0.0.9:9000")
    finally:
        await worker.stop()


def test_check_says_when_the_database_cannot_be_asked() -> None:
    line = planner_line("postgresql://luoshi:s3cret@127.0.0.1:1/x?connect_timeout=2", "county")
    assert "cannot be asked" in line and "s3cret" not in line


async def test_a_dead_planner_is_replaced_and_knows_it_is_no_longer_one(
        pg_dsn: str, tenant: str, campaign: Campaign) -> None:
    a = campaign("a", pg_dsn, tenant)
    await asyncio.wait_for(a.gained.wait(), WAIT)
    b = campaign("b", pg_dsn, tenant)
    await b.attempts()
    assert not b.lock.holding
    pid = a.lock.backend_pid
    assert pid is not None

    await asyncio.to_thread(terminate, pg_dsn, pid)  # a's worker is killed
    await asyncio.wait_for(b.gained.wait(), WAIT)
    await asyncio.wait_for(a.lost.wait(), WAIT)
    await a.attempts()  # a reconnects and campaigns again: b holds now
    assert b.lock.holding and not a.lock.holding
    assert await planner_holder_async(pg_dsn, tenant) == b.lock.application_name
    assert a.log.count("a gained") == 1 and "b lost" not in a.log


async def test_a_planner_shutting_down_hands_over(pg_dsn: str, tenant: str,
                                                  campaign: Campaign) -> None:
    a = campaign("a", pg_dsn, tenant)
    await asyncio.wait_for(a.gained.wait(), WAIT)
    b = campaign("b", pg_dsn, tenant)
    await b.attempts()
    await a.stop()  # cancel the campaign, release the lock (its session ends)
    assert not a.lock.holding
    await asyncio.wait_for(b.gained.wait(), WAIT)
    assert await planner_holder_async(pg_dsn, tenant) == b.lock.application_name


async def test_a_lost_connection_is_lost_leadership_and_the_lock_is_won_back(
        pg_dsn: str, tenant: str, campaign: Campaign) -> None:
    """Alone: the session dies, the worker steps down at once, reconnects and plans again."""
    a = campaign("a", pg_dsn, tenant)
    await asyncio.wait_for(a.gained.wait(), WAIT)
    pid = a.lock.backend_pid
    assert pid is not None
    a.gained.clear()
    await asyncio.to_thread(terminate, pg_dsn, pid)
    await asyncio.wait_for(a.gained.wait(), WAIT)
    assert a.log == ["a gained", "a lost", "a gained"]
    assert a.lock.backend_pid != pid


class FreezingProxy:
    """A TCP relay to the database that can go silent without closing anything — a half-dead
    connection (a partition, a frozen firewall state): bytes are held, new connections
    dropped."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = False
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.frozen:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.frozen:
                continue  # swallowed: the peer waits for an answer that never comes
            writer.write(data)
            await writer.drain()
        if not self.frozen:  # a silent line tells nobody that the other end hung up
            writer.close()

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_silent_planner_steps_down_before_the_server_gives_its_lock_away(
        pg_dsn: str, tenant: str, campaign: Campaign) -> None:
    """The holder's connection goes silent: its keepalive gets no answer within `timeout`, so
    it stops planning; only later (the fence: idle_session_timeout) does the server end the
    silent session and another worker take over — never two planners at once."""
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    proxy = FreezingProxy(str(info["host"]), int(str(info["port"])))
    port = await proxy.start()
    try:
        proxied = psycopg.conninfo.make_conninfo(pg_dsn, port=port)
        a = campaign("a", proxied, tenant, timeout=0.5, fence=2.0)
        await asyncio.wait_for(a.gained.wait(), WAIT)
        b = campaign("b", pg_dsn, tenant, timeout=0.5, fence=2.0)
        await b.attempts()
        assert not b.lock.holding

        proxy.frozen = True
        await asyncio.wait_for(b.gained.wait(), WAIT)
        assert a.lost.is_set() and not a.lock.holding
        assert a.log == ["a gained", "a lost", "b gained"]
    finally:
        await proxy.close()
