"""The PostgreSQL store: the document store's API (bot/adapters/docstore.py) over one schema per
county, for a city or province running many counties and several workers on one cluster.

Why the same API: the repository (bot/adapters/repository.py), the inbox (bot/adapters/
inbox.py) and the dialogues (bot/adapters/dialogues.py) are written against ``get``/``all``/
``docs``/``history``/``commit``; on this store they work unchanged, so TinyDB stays the
default and both backends pass the same repository contract test.

Layout (bot/adapters/migrations/, applied by ``python -m bot migrate``): ``docs(tbl, key, doc
jsonb, seq)`` — every document, keyed like the DocStore's tables (the inbox's applied update
ids among them: the primary key makes each one unique); ``history(seq, i, key, rec)``;
``removed(tbl, key, seq)`` — deletions, so other workers drop them; ``meta`` — one row with the
county's commit counter; ``numbers`` — report, 困难 and 延期 numbers handed out one statement at
a time (`take_number`), so that reports handled at once on two workers never meet on a counter.

**Reads** come from a cache in this worker, like the DocStore's memory: documents held encoded
and decoded on every read. **Refresh**: other workers commit too, so before handling an update
(the inbox's ``begin``/``known``) and before a scheduled job, ``refresh()`` asks for the
counter (one indexed row) and, when it moved, fetches what changed since — in one REPEATABLE
READ snapshot — and tells the listeners (the repository keeps decoded objects).

**Commit** — one transaction: ``UPDATE meta SET seq = seq + 1`` takes the county's commit lock
(the row's), then, if others committed since this worker's view, their changes are read: when
one of them wrote a key this change writes too, the change was computed on stale data and is
refused (``ConcurrentChange``: nothing written; the cache is refreshed, so the caller can run
the use case again — bot/app/common.py ``guarded``, jobs/dispatch.py). Otherwise the documents
are upserted, deletions recorded, history appended, and the transaction commits; only then
does the cache change (durable, then visible). Exactly once across workers therefore rests on
the inbox: the applied mark of the update being handled is one of the keys of the change that
applies it, so two workers applying the same update cannot both commit.

Blocking: the repository contract is synchronous (use cases read and commit without awaiting),
so statements run on psycopg's pooled connections from the event loop, like the DocStore's
fsync. Each is a short round trip; no statement waits on a lock held across an ``await``
(the commit lock is held only for the statements of one commit).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.adapters.atomic_storage import StoreError
from bot.adapters.docstore import Doc, Put, StoreWriteError, _TableView
from bot.adapters.store_files import decode as _decode
from bot.adapters.store_files import raw as _raw
from bot.domain.ports import ConcurrentChange

__all__ = ["LATEST_VERSION", "PgDocStore", "Remote", "SchemaMismatch", "migrations"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Connections per worker: the dispatcher's sends in flight each hold one while claimed
# (jobs/dispatch.py CONCURRENCY = 8), with room for the updates handled meanwhile.
POOL_SIZE = 16
CLAIM_LOCKS = 0x4C756F74  # the advisory lock namespace of claimed keys (`claim`)
PRUNE_EVERY = 1000  # commits between two prunings of old tombstones …
KEEP_TOMBSTONES = 200_000  # … keeping the deletions of this many latest commits

Remote = list[tuple[str, str, Doc | None]]  # (table, key, doc or None = deleted), oldest first
Listener = Callable[[Remote], None]
# Set inside `claim` (per asyncio task): the connection whose transaction holds the claim.
_claiming: ContextVar[psycopg.Connection[Any] | None] = ContextVar("luoshi_claiming",
                                                                   default=None)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL with {schema}) of every migration file, in order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:4]), path.stem[5:], path.read_text(encoding="utf-8")))
    return found


LATEST_VERSION = max(version for version, _name, _sql in migrations())


class SchemaMismatch(StoreError):
    """The tenant's schema is missing, older (run ``python -m bot migrate``) or newer (this
    program is older than the database) than the version this program was written for."""


def schema_version(conn: psycopg.Connection[Any], schema: str) -> int:
    """The tenant's applied schema version; 0 when it has none (no schema, or never migrated)."""
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.schema_version",)).fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute(sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version")
                         .format(sql.Identifier(schema))).fetchone()
    return int(found[0]) if found else 0


def _write_error(err: Exception) -> StoreWriteError:
    return StoreWriteError(f"改动未保存 / the change was NOT saved: the database refused it "
                           f"({type(err).__name__}: {str(err).strip()[:200]}); try again")


class PgDocStore:
    """A county's documents in PostgreSQL (see the module docstring). Thread-safe reads of
    ``docs`` and ``history``; commits and refreshes from the event loop's thread."""

    def __init__(self, pool: ConnectionPool[Any], schema: str, *, writable: bool = True) -> None:
        self.pool = pool
        self.schema = schema
        self.writable = writable
        self.directory: Path | None = None  # no files: backups are the operator's pg_dump
        self._tables: dict[str, dict[str, bytes]] = {}
        self._seq = 0
        self._closed = False
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # one refresh or commit at a time in this worker
        self._q = {name: sql.Identifier(schema, name)
                   for name in ("meta", "docs", "removed", "history", "numbers")}

    # ---- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, dsn: str, schema: str, *, writable: bool = True, max_size: int = POOL_SIZE,
             application_name: str = "luoshi") -> PgDocStore:
        """Connect, check the schema's version, load the county's documents. ``StoreError``
        (never the DSN, which may hold a password) when it cannot."""
        try:
            pool: ConnectionPool[Any] = ConnectionPool(
                dsn, min_size=1, max_size=max_size, open=False, timeout=15.0,
                kwargs={"application_name": application_name, "connect_timeout": 10,
                        "autocommit": True,  # transactions are explicit: conn.transaction()
                        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                        "keepalives_count": 3})
            pool.open(wait=True, timeout=15.0)
        except (psycopg.Error, PoolTimeout) as err:
            raise StoreError(
                "无法连接数据库 / cannot connect to the PostgreSQL database "
                f"({type(err).__name__}); check [storage] dsn or DATABASE_URL, and that the "
                "server is running and reachable") from None
        store = cls(pool, schema, writable=writable)
        try:
            store._check_version()
            store._load()
        except BaseException:
            pool.close()
            raise
        return store

    def _check_version(self) -> None:
        with self.pool.connection() as conn:
            version = schema_version(conn, self.schema)
        if version == LATEST_VERSION:
            return
        if version < LATEST_VERSION:
            raise SchemaMismatch(
                f"数据库中县 {self.schema} 的表结构版本为 {version}，本程序需要 {LATEST_VERSION}："
                f"请先运行 python -m bot migrate / the schema {self.schema} is at version "
                f"{version}, this program needs {LATEST_VERSION}: run `python -m bot migrate` "
                "first")
        raise SchemaMismatch(
            f"数据库中县 {self.schema} 的表结构版本 {version} 比本程序（{LATEST_VERSION}）新："
            f"请升级本程序 / the schema {self.schema} is at version {version}, newer than this "
            f"program's {LATEST_VERSION}: upgrade the program (never run an older bot against "
            "a newer schema)")

    def _load(self) -> None:
        tables: dict[str, dict[str, bytes]] = {}
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            row = conn.execute(sql.SQL("SELECT seq FROM {}").format(self._q["meta"])).fetchone()
            seq = int(row[0]) if row else 0
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SELECT tbl, key, doc::text FROM {}")
                            .format(self._q["docs"]))
                for table, key, text in cur:
                    tables.setdefault(table, {})[key] = text.encode("utf-8")
        self._tables, self._seq = tables, seq

    # ---- reads (the DocStore's) -------------------------------------------------------------

    @property
    def seq(self) -> int:
        """The last commit this worker has seen (its own or fetched by ``refresh``)."""
        return self._seq

    def get(self, table: str, key: str) -> Doc | None:
        raw = self._tables.get(table, {}).get(key)
        return _decode(raw) if raw is not None else None

    def all(self, table: str) -> Mapping[str, Doc]:
        return _TableView(self._tables.setdefault(table, {}))

    def docs(self, table: str) -> list[Doc]:
        raws = list(self._tables.get(table, {}).values())
        return [_decode(raw) for raw in raws]

    def history(self, key: str) -> list[Doc]:
        with self.pool.connection() as conn:
            rows = conn.execute(sql.SQL("SELECT rec::text FROM {} WHERE key = %s ORDER BY seq, i")
                                .format(self._q["history"]), (key,)).fetchall()
        return [json.loads(text) for (text,) in rows]

    def history_count(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}")
                               .format(self._q["history"])).fetchone()
        return int(row[0]) if row else 0

    # ---- other workers' commits ---------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """``listener(changes)`` after other workers' changes entered the cache."""
        self._listeners.append(listener)

    def refresh(self) -> int:
        """Fetch what other workers committed since this worker's view; returns how many
        documents changed. One cheap query when nothing did. Raises StoreError when the
        database cannot be reached (the caller goes on with what it has, or fails the update:
        it is redelivered)."""
        if self._closed:
            return 0
        with self._lock:
            try:
                with self._connection() as conn:
                    row = conn.execute(sql.SQL("SELECT seq FROM {}")
                                       .format(self._q["meta"])).fetchone()
                    if row is None or int(row[0]) == self._seq:
                        return 0
                    if _claiming.get() is conn:
                        # Inside a claim (its transaction is open: no pool connection is
                        # taken — the claims in flight could hold them all). Read committed:
                        # a commit landing between the two reads is fetched again next time.
                        changes = self._changes_since(conn, self._seq)
                    else:
                        with conn.transaction():
                            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, "
                                         "READ ONLY")
                            changes = self._changes_since(conn, self._seq)
                    if changes is None:  # too far behind: tombstones pruned
                        return self._reload()
                    seq, remote = changes
            except (psycopg.Error, PoolTimeout) as err:
                raise StoreError(f"数据库暂时无法访问 / the database cannot be reached now "
                                 f"({type(err).__name__})") from err
            self._apply(remote)
            self._seq = max(self._seq, seq)
        self._notify(remote)
        return len(remote)

    def _reload(self) -> int:
        old = self._tables
        self._load()
        remote: Remote = []
        for table, docs in self._tables.items():
            before = old.get(table, {})
            remote += [(table, key, _decode(raw)) for key, raw in docs.items()
                       if before.get(key) != raw]
        for table, docs in old.items():
            remote += [(table, key, None) for key in docs if key not in self._tables.get(table, {})]
        self._notify(remote)
        return len(remote)

    def _changes_since(self, conn: psycopg.Connection[Any],
                       since: int) -> tuple[int, Remote] | None:
        """(the counter, the changes after ``since`` in commit order), or None when deletions
        that old were pruned (reload everything)."""
        row = conn.execute(sql.SQL("SELECT seq, pruned_below FROM {}")
                           .format(self._q["meta"])).fetchone()
        assert row is not None
        seq, pruned_below = int(row[0]), int(row[1])
        if since < pruned_below:
            return None
        found: list[tuple[int, str, str, Doc | None]] = []
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT seq, tbl, key, doc::text FROM {} WHERE seq > %s")
                        .format(self._q["docs"]), (since,))
            found += [(s, t, k, json.loads(text)) for s, t, k, text in cur]
            cur.execute(sql.SQL("SELECT seq, tbl, key FROM {} WHERE seq > %s")
                        .format(self._q["removed"]), (since,))
            found += [(s, t, k, None) for s, t, k in cur]
        found.sort(key=lambda item: item[0])
        return seq, [(table, key, doc) for _s, table, key, doc in found]

    def _apply(self, changes: Sequence[tuple[str, str, Doc | None]]) -> None:
        tables = self._tables
        for table, key, doc in changes:
            docs = tables.setdefault(table, {})
            if doc is None:
                docs.pop(key, None)
            else:
                docs[key] = _raw(doc)

    def _notify(self, remote: Remote) -> None:
        if remote:
            for listener in self._listeners:
                listener(remote)

    # ---- the write path -----------------------------------------------------------------------

    def commit(self, puts: Sequence[Put], history: Sequence[tuple[str, Doc]] = ()) -> int:
        """Durably apply ``puts`` and append ``history`` in one transaction; returns the new
        seq. ``ConcurrentChange`` when another worker wrote one of these keys since this
        worker's view (nothing written; the cache is refreshed); ``StoreWriteError`` when the
        database refused or could not be reached (nothing written)."""
        self._check_writable()
        if not puts and not history:
            return self._seq
        for table, key, doc in puts:
            if not isinstance(table, str) or not table:
                raise ValueError(f"invalid table name {table!r}")
            if not isinstance(key, str):
                raise TypeError(f"key must be a str, not {type(key).__name__}")
            if doc is not None and not isinstance(doc, dict):
                raise TypeError(f"doc must be a dict or None, not {type(doc).__name__}")
        for key, rec in history:
            if not isinstance(key, str) or not isinstance(rec, dict):
                raise TypeError("history items must be (str, dict)")
        with self._lock:
            remote, seq, refused = self._commit_locked(puts, history)
        self._notify(remote)  # others' changes reached the cache, whether this one did or not
        if refused is not None:
            raise refused
        return seq

    def _commit_locked(
        self, puts: Sequence[Put], history: Sequence[tuple[str, Doc]]
    ) -> tuple[Remote, int, ConcurrentChange | None]:
        q = self._q
        remote: Remote = []
        conflict: list[tuple[str, str]] = []
        try:
            with self._connection() as conn, conn.transaction():
                row = conn.execute(sql.SQL("UPDATE {} SET seq = seq + 1 RETURNING seq, "
                                           "pruned_below").format(q["meta"])).fetchone()
                assert row is not None
                seq = int(row[0])
                if seq - 1 != self._seq:
                    changes = self._changes_since(conn, self._seq)
                    if changes is None:
                        raise _Behind
                    remote = changes[1]
                    mine = {(table, key) for table, key, _doc in puts}
                    conflict = sorted({(t, k) for t, k, _d in remote if (t, k) in mine})
                    if conflict:
                        raise _Conflict
                self._write(conn, seq, puts, history)
                if seq % PRUNE_EVERY == 0:
                    self._prune(conn, seq)
        except _Conflict:
            # Their changes are committed facts: take them, so that a retry sees them.
            self._apply(remote)
            self._seq = seq - 1
            log.info("a change met another worker's on %s; refreshed, to be retried",
                     ", ".join(f"{t}/{k}" for t, k in conflict[:3]))
            return remote, self._seq, ConcurrentChange(
                f"another worker changed {conflict[0][0]} {conflict[0][1]} meanwhile")
        except _Behind:
            self._reload()
            return [], self._seq, ConcurrentChange("this worker's view was too old; reloaded")
        except (psycopg.Error, PoolTimeout) as err:
            raise _write_error(err) from err
        # Durable: now make it visible (others' changes first, then this one).
        self._apply(remote)
        self._apply(puts)
        self._seq = seq
        return remote, seq, None

    def take_number(self, counter: str, after: int) -> int:
        """The next number of `counter`, above `after` (the counter document as migrated
        from TinyDB, or as this worker sees it) and above every number taken before: one
        statement of its own, its row lock held only for it (migration 0002)."""
        self._check_writable()
        try:
            with self.pool.connection() as conn:
                row = conn.execute(sql.SQL(
                    "INSERT INTO {} AS n (name, value) VALUES (%s, %s) ON CONFLICT (name) "
                    "DO UPDATE SET value = greatest(n.value + 1, excluded.value) "
                    "RETURNING value").format(self._q["numbers"]), (counter, after + 1)).fetchone()
        except (psycopg.Error, PoolTimeout) as err:
            raise _write_error(err) from err
        assert row is not None
        return int(row[0])

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The claim's connection inside ``claim`` (its commit is then a savepoint of the
        claim's transaction), else one from the pool."""
        claimed = _claiming.get()
        if claimed is not None:
            yield claimed
            return
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def claim(self, table: str, keys: Sequence[str]) -> Iterator[bool]:
        """Hold ``keys`` of ``table`` against other workers for the block (see
        LedgerRepository.claim_outbox): one transaction holding an advisory lock per key,
        tried without waiting — a key another worker holds makes the value False (SKIP
        LOCKED: the key exists in no row yet, so a lock on the key's name stands in for a row
        lock). Commits inside the block are savepoints of that transaction and become durable
        when the block ends; the record of a send is the block's last step, so no other
        commit waits on this one across an ``await``. The transaction ends with the worker
        (SIGKILL included): what was claimed but not recorded can be claimed again."""
        self._check_writable()
        try:
            with self.pool.connection() as conn:
                try:
                    with conn.transaction():
                        held = True
                        for key in sorted(set(keys)):
                            row = conn.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
                                               (CLAIM_LOCKS, f"{self.schema}/{table}/{key}"))
                            found = row.fetchone()
                            if not found or not found[0]:
                                held = False
                                break
                        token = _claiming.set(conn if held else None)
                        try:
                            yield held
                        finally:
                            _claiming.reset(token)
                except psycopg.Error:
                    # The end of the transaction failed after its commits reached the cache.
                    with self._lock:
                        self._reload()
                    raise
        except (psycopg.Error, PoolTimeout) as err:
            raise _write_error(err) from err

    def _write(self, conn: psycopg.Connection[Any], seq: int, puts: Sequence[Put],
               history: Sequence[tuple[str, Doc]]) -> None:
        q = self._q
        latest: dict[tuple[str, str], Doc | None] = {}
        for table, key, doc in puts:  # a key put twice in one change: the last one counts
            latest[(table, key)] = doc
        upserts = [(t, k, _raw(d).decode("utf-8"), seq)
                   for (t, k), d in latest.items() if d is not None]
        deletes = [(t, k) for (t, k), d in latest.items() if d is None]
        with conn.cursor() as cur:
            if upserts:
                cur.executemany(sql.SQL(
                    "INSERT INTO {} (tbl, key, doc, seq) VALUES (%s, %s, %s::jsonb, %s) "
                    "ON CONFLICT (tbl, key) DO UPDATE SET doc = excluded.doc, seq = excluded.seq")
                    .format(q["docs"]), upserts)
            if deletes:
                cur.executemany(sql.SQL("DELETE FROM {} WHERE tbl = %s AND key = %s")
                                .format(q["docs"]), deletes)
                cur.executemany(sql.SQL("INSERT INTO {} (tbl, key, seq) VALUES (%s, %s, %s) "
                                        "ON CONFLICT DO NOTHING").format(q["removed"]),
                                [(t, k, seq) for t, k in deletes])
            if history:
                cur.executemany(sql.SQL("INSERT INTO {} (seq, i, key, rec) "
                                        "VALUES (%s, %s, %s, %s::jsonb)").format(q["history"]),
                                [(seq, i, key, _raw(rec).decode("utf-8"))
                                 for i, (key, rec) in enumerate(history)])

    def _prune(self, conn: psycopg.Connection[Any], seq: int) -> None:
        below = seq - KEEP_TOMBSTONES
        if below > 0:
            conn.execute(sql.SQL("DELETE FROM {} WHERE seq < %s").format(self._q["removed"]),
                         (below,))
            conn.execute(sql.SQL("UPDATE {} SET pruned_below = greatest(pruned_below, %s)")
                         .format(self._q["meta"]), (below,))

    def _check_writable(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        if not self.writable:
            raise RuntimeError("the store was opened read-only")

    # ---- the DocStore's other duties ------------------------------------------------------------

    def snapshot_due(self) -> bool:
        return False  # PostgreSQL is durable per commit; backups are pg_dump (README)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.pool.close()

    def __enter__(self) -> PgDocStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tables(self) -> list[str]:
        """The tables holding documents (as DocStore.tables)."""
        return sorted(name for name, docs in self._tables.items() if docs)


class _Conflict(Exception):
    """Inside `commit`: another worker wrote one of the change's keys; roll back."""


class _Behind(Exception):
    """Inside `commit`: this worker's view is older than the kept tombstones; roll back."""
