"""Versioned migrations of a county's PostgreSQL schema, and moving a TinyDB store into one.

``python -m bot migrate`` (bot/cli.py) calls `migrate`: the county's schema is created if
missing, then every migration file (bot/adapters/migrations/NNNN_name.sql) newer than the
schema's version is applied, each in its own transaction together with its row in
``schema_version``. A transaction-level advisory lock per tenant makes two workers started at
once migrate one after the other (the second finds nothing to do). A store refuses to open a
schema of another version (bot/adapters/postgres.py), so a bot never runs against an older
schema — nor an older bot against a newer one.

``python -m bot migrate --from-tinydb DIR`` then calls `copy_from_tinydb`: every document and
every history record of the TinyDB store in DIR, in one transaction, into an empty tenant
(a tenant that holds anything is refused: nothing is ever merged or overwritten). The TinyDB
store is opened read-only and left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bot.adapters.atomic_storage import StoreError
from bot.adapters.docstore import DocStore
from bot.adapters.postgres import LATEST_VERSION, migrations, schema_version
from bot.adapters.store_files import raw as _raw

MIGRATE_LOCK = 0x4C756F73  # "Luos": the advisory lock namespace of migrations


@dataclass(frozen=True)
class Migrated:
    before: int  # the schema's version before
    after: int  # … and now
    applied: tuple[str, ...]  # "0001_documents", …


@dataclass(frozen=True)
class Copied:
    documents: dict[str, int]  # table → documents copied
    history: int  # history records copied


def connect(dsn: str) -> psycopg.Connection[Any]:
    """A connection for the command line; StoreError (never the DSN) when it fails."""
    try:
        return psycopg.connect(dsn, connect_timeout=10, application_name="luoshi migrate")
    except psycopg.Error as err:
        raise StoreError("无法连接数据库 / cannot connect to the PostgreSQL database "
                         f"({type(err).__name__}); check [storage] dsn or DATABASE_URL, and "
                         "that the server is running and reachable") from None


def migrate(conn: psycopg.Connection[Any], schema: str) -> Migrated:
    """Bring ``schema`` to the latest version (see the module docstring)."""
    before = schema_version(conn, schema)
    if before > LATEST_VERSION:
        raise StoreError(
            f"县 {schema} 的表结构版本 {before} 比本程序（{LATEST_VERSION}）新，请升级本程序 / "
            f"the schema {schema} is at version {before}, newer than this program's "
            f"{LATEST_VERSION}: upgrade the program")
    applied: list[str] = []
    for version, name, text in migrations():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (MIGRATE_LOCK, schema))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_version (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                .format(sql.Identifier(schema)))
            if schema_version(conn, schema) >= version:
                continue  # applied meanwhile by another process, or before
            # The schema name is validated (config `schema` kind), and quoted here as well.
            conn.execute(text.replace("{schema}", sql.Identifier(schema).as_string(conn))
                         .encode("utf-8"))
            conn.execute(sql.SQL("INSERT INTO {}.schema_version (version, name) VALUES (%s, %s)")
                         .format(sql.Identifier(schema)), (version, name))
            applied.append(f"{version:04d}_{name}")
    return Migrated(before, schema_version(conn, schema), tuple(applied))


def copy_from_tinydb(conn: psycopg.Connection[Any], schema: str, directory: Path) -> Copied:
    """Copy the TinyDB store in ``directory`` into the (migrated, empty) ``schema``."""
    if schema_version(conn, schema) != LATEST_VERSION:
        raise StoreError(f"县 {schema} 尚未建表，请先运行 python -m bot migrate / the schema "
                         f"{schema} is not migrated yet: run `python -m bot migrate` first")
    if not (directory / "ledger.json").exists() and not any(directory.glob("journal.*.jsonl")):
        raise StoreError(f"{directory} 不是落实的数据目录（没有 ledger.json）/ {directory} is not "
                         "a Luoshi store directory (no ledger.json): name the [storage] dir of "
                         "the county to move")
    store = DocStore.open(directory, writable=False)
    try:
        return _copy(conn, schema, store)
    finally:
        store.close()


def _copy(conn: psycopg.Connection[Any], schema: str, store: DocStore) -> Copied:
    def q(name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))

    counts: dict[str, int] = {}
    records = 0
    with conn.transaction():
        row = conn.execute(sql.SQL("SELECT seq FROM {} FOR UPDATE").format(q("meta"))).fetchone()
        held = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(q("docs"))).fetchone()
        if (row and row[0]) or (held and held[0]):
            raise StoreError(
                f"县 {schema} 的数据库中已有数据，不会覆盖或合并；请换一个 tenant，或先清空它 / "
                f"the schema {schema} already holds data; it is never overwritten or merged: "
                "choose another [storage] tenant, or empty that one first")
        with conn.cursor() as cur:
            for table in store.tables():
                docs = store.all(table)
                rows = [(table, key, _raw(doc).decode("utf-8")) for key, doc in docs.items()]
                with cur.copy(sql.SQL("COPY {} (tbl, key, doc, seq) FROM STDIN")
                              .format(q("docs"))) as copy:
                    for item in rows:
                        copy.write_row((*item, 1))
                counts[table] = len(rows)
            with cur.copy(sql.SQL("COPY {} (seq, i, key, rec) FROM STDIN")
                          .format(q("history"))) as copy:
                for key in store.history_keys():
                    for rec in store.history(key):
                        copy.write_row((1, records, key, _raw(rec).decode("utf-8")))
                        records += 1
        conn.execute(sql.SQL("UPDATE {} SET seq = 1").format(q("meta")))
    return Copied({k: v for k, v in counts.items() if v}, records)
