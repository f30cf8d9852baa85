"""The planner's lock on PostgreSQL: one worker of a county plans (jobs/planner.py, issue 16).

**The lock** is a session-level advisory lock, ``pg_try_advisory_lock(NAMESPACE_KEY,
tenant_key)``: two int4 keys, a fixed namespace (so other advisory locks of the application,
e.g. a migration's one-bigint lock, which PostgreSQL keeps apart anyway, cannot collide with
it) and one derived from the tenant (one planner per county; two counties in one cluster plan
side by side). Both keys are non-negative, so they read back unchanged from ``pg_locks``
(``classid``, ``objid``, ``objsubid = 2``). Two tenants whose 31-bit hashes collide would share
one planner lock (one of them would not plan): about one chance in ten million for 100
counties.

**The session** is one dedicated `psycopg.AsyncConnection` per worker (autocommit; not from
the store's pool: the lock belongs to a session, and a pooled connection would be handed to
other work), named by ``application_name`` — ``luoshi host:pid`` and, in webhook mode, the
address the worker listens on — so `planner_holder` (and ``pg_stat_activity``) tells an
operator which worker plans. A standby worker keeps its session open and tries again every
`period`; the holder runs ``SELECT 1`` as a keepalive on the same rhythm.

**Death of the holder**: PostgreSQL releases a session lock when the session ends. A killed
worker's socket is closed by its kernel, so the lock is free at once and a standby takes it at
its next attempt (≤ `period`). A worker that is still there but silent (partitioned, frozen)
is fenced by the server: ``idle_session_timeout`` (PostgreSQL 14+) ends a session idle for
`fence` seconds — longer than the holder takes to notice its own silence (``period +
timeout``: it steps down first) — and server-side TCP keepalives end it if the peer vanished
mid-query. Client-side libpq keepalives, ``tcp_user_timeout`` and ``statement_timeout`` bound
every wait on our side. With the defaults (5 s, 5 s, fence 20 s) a partitioned planner is
replaced within 25 s, a killed one within 5 s.

The DSN may hold a password: it is kept private and never logged (errors from psycopg name
the host, never the password).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from jobs.planner import PERIOD, PlannerLock

__all__ = ["NAMESPACE", "PostgresPlannerLock", "lock_keys", "planner_holder",
           "planner_holder_async", "planner_line", "worker_name"]

log = logging.getLogger(__name__)

NAMESPACE = "luoshi:planner"
FENCE_FLOOR = 10.0  # seconds: the server never ends a silent session sooner than this
APPLICATION_NAME_MAX = 63  # bytes (NAMEDATALEN - 1); longer names are cut by the server

HOLDER_SQL = """
SELECT a.application_name, host(a.client_addr), a.client_port, l.pid
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
LIMIT 1
"""


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(),
                          "big") & 0x7FFF_FFFF


def lock_keys(tenant: str) -> tuple[int, int]:
    """The advisory lock's two int4 keys for `tenant`'s planner (both ≥ 0)."""
    return _key(NAMESPACE), _key(f"{NAMESPACE}:{tenant}")


def worker_name(listen: str = "") -> str:
    """This worker's ``application_name``: ``luoshi host:pid`` (+ `` listen`` when the worker
    serves webhooks there), cut to what PostgreSQL keeps, printable ASCII only."""
    name = f"luoshi {socket.gethostname()}:{os.getpid()}" + (f" {listen}" if listen else "")
    name = "".join(c if " " <= c <= "~" else "?" for c in name)
    return name[:APPLICATION_NAME_MAX]


def _describe_holder(row: tuple[Any, ...]) -> str:
    name, host, port, pid = row
    if name:
        return str(name)
    if host:
        return f"{host}:{port}" if port else str(host)
    return f"pid {pid}"  # pg_stat_activity hides other roles' sessions from non-superusers


def planner_holder(dsn: str, tenant: str, *, timeout: float = 10.0) -> str | None:
    """Who plans `tenant` now: the holding session's ``application_name`` (``luoshi
    host:pid [listen]``), else its client address, else its backend pid; None when no worker
    holds the lock. For ``python -m bot check``; raises psycopg.Error when the database cannot
    be reached."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, math.ceil(timeout)),
                         application_name="luoshi check") as conn:
        row = conn.execute(HOLDER_SQL, lock_keys(tenant)).fetchone()
    return _describe_holder(row) if row is not None else None


def planner_line(dsn: str, tenant: str) -> str:
    """``python -m bot check``'s line on who plans `tenant` (never raises, never shows the
    DSN)."""
    try:
        holder = planner_holder(dsn, tenant)
    except psycopg.Error as err:
        return (f"计划者 / Planner: 无法查询 / cannot be asked "
                f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})")
    if holder is None:
        return ("计划者 / Planner: 无 —— 没有运行中的进程持有计划锁 / none: no running worker "
                "holds the planner lock")
    return f"计划者 / Planner: {holder}"


async def planner_holder_async(dsn: str, tenant: str, *, timeout: float = 10.0) -> str | None:
    """`planner_holder` on the event loop (a health endpoint that wants more than
    `PostgresPlannerLock.holding`)."""
    async with await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, connect_timeout=max(1, math.ceil(timeout)),
            application_name="luoshi health") as conn:
        cursor = await conn.execute(HOLDER_SQL, lock_keys(tenant))
        row = await cursor.fetchone()
    return _describe_holder(row) if row is not None else None


class PostgresPlannerLock(PlannerLock):
    """`tenant`'s planner lock on the database at `dsn` (see the module docstring).

    period: seconds between attempts (and keepalives); timeout: how long one attempt may take
    (default: `period`); fence: the server ends a session silent this long (default: the
    larger of 10 s and twice `period + timeout`); listen: the worker's webhook address, for
    its name.
    """

    def __init__(self, dsn: str, tenant: str, *, listen: str = "", period: float = PERIOD,
                 timeout: float | None = None, fence: float | None = None) -> None:
        super().__init__(period=period, timeout=timeout)
        self._dsn = dsn  # may hold a password: never logged, never in repr
        self.tenant = tenant
        self.keys = lock_keys(tenant)
        self.application_name = worker_name(listen)
        self.fence = fence if fence is not None else max(FENCE_FLOOR,
                                                         2 * (self.period + self.timeout))
        if self.fence <= self.period + self.timeout:
            raise ValueError("fence must exceed period + timeout: the planner must notice "
                             "its own silence before the server gives its lock away")
        self._conn: psycopg.AsyncConnection[Any] | None = None

    def identify(self, listen: str) -> None:
        """``--listen`` given on the command line (bot/cli.py): the name the next session
        carries (`worker_name`)."""
        self.application_name = worker_name(listen)

    def __repr__(self) -> str:
        return f"PostgresPlannerLock(tenant={self.tenant!r}, name={self.application_name!r})"

    def describe(self) -> str:
        return f"planner lock of {self.tenant}"

    @property
    def backend_pid(self) -> int | None:
        """The server process of the current session (a test terminates it: a dead worker)."""
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        wait = max(1, math.ceil(self.timeout))
        conn = await psycopg.AsyncConnection.connect(
            self._dsn, autocommit=True, application_name=self.application_name,
            connect_timeout=wait,
            # Our side: notice a vanished server while idle and while sending.
            keepalives=1, keepalives_idle=wait, keepalives_interval=wait,
            keepalives_count=3, tcp_user_timeout=int(self.timeout * 1000) + 1000)
        try:
            settings = {
                "statement_timeout": f"{int(self.timeout * 1000)}ms",
                # The server's side: a vanished client is found by TCP keepalives …
                "tcp_keepalives_idle": str(wait),
                "tcp_keepalives_interval": str(wait),
                "tcp_keepalives_count": "3",
            }
            if conn.info.server_version >= 140000:
                # … and a silent one is cut off after `fence` (the holder steps down first).
                settings["idle_session_timeout"] = f"{int(self.fence * 1000)}ms"
            for name, value in settings.items():
                await conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _attempt(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = None
            self._conn = await self._connect()
        if self.holding:  # a keepalive: the session (and so the lock) is alive
            await self._conn.execute("SELECT 1")
            return True
        cursor = await self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", self.keys)
        row = await cursor.fetchone()
        return bool(row and row[0])

    def _detach(self) -> Callable[[], Awaitable[None]] | None:
        conn, self._conn = self._conn, None
        return conn.close if conn is not None else None
