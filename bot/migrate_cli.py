"""``python -m bot migrate [--from-tinydb DIR]``: the PostgreSQL store's schema for this county
(``[storage] tenant``), and moving a county's TinyDB store into it.

Run it before the first start on PostgreSQL and after every upgrade: a worker refuses to start
on a schema of another version (it says so). Safe to run again, and from several machines at
once (bot/adapters/pg_migrate.py). With ``--from-tinydb DIR`` the TinyDB store in DIR (the
county's old ``[storage] dir``; stop that bot first) is copied into the tenant, which must be
empty; the export (``python -m bot export``) is then the same, row for row and cell for cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import Config


def migrate_command(config: Config, from_tinydb: Path | None) -> int:
    from bot.adapters.atomic_storage import StoreError
    from bot.adapters.pg_migrate import connect, copy_from_tinydb, migrate
    from bot.cli import EXIT_CONFIG, EXIT_STORE

    storage = config.storage
    if not storage.postgresql:
        print('migrate 用于 PostgreSQL 存储：请在 [storage] 中设置 backend = "postgresql"、dsn'
              "（或环境变量 DATABASE_URL）和 tenant / migrate is for the PostgreSQL store: set "
              '[storage] backend = "postgresql", dsn (or DATABASE_URL) and tenant',
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        with connect(storage.dsn) as conn:
            done = migrate(conn, storage.tenant)
            if done.applied:
                print(f"县 / tenant {storage.tenant}: 表结构 / schema {done.before} → {done.after}"
                      f" ({', '.join(done.applied)})")
            else:
                print(f"县 / tenant {storage.tenant}: 表结构已是最新 / schema up to date "
                      f"(version {done.after})")
            if from_tinydb is not None:
                copied = copy_from_tinydb(conn, storage.tenant, from_tinydb)
                tables = ", ".join(f"{name} {count}" for name, count in copied.documents.items())
                print(f"已从 {from_tinydb} 迁入 / moved from {from_tinydb}: {tables}; "
                      f"history {copied.history}")
                print("请用 python -m bot export 核对导出的台账 / check the exported ledger "
                      "with python -m bot export")
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    return 0
