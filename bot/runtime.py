"""The runtime's pieces the composition root (bot/bootstrap.py) puts together: opening the
store, the work calendar, the snapshot policy, and logging."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapters.backups import make_daily_backup
from bot.adapters.docstore import DocStore
from bot.adapters.holidays import default_calendar
from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock

if TYPE_CHECKING:
    from bot.adapters.postgres import PgDocStore


def open_store(config: Config, *, writable: bool,
               application_name: str = "") -> DocStore | PgDocStore:
    """The county's store: the DocStore at ``[storage] dir`` (TinyDB, the default), or its
    schema ``[storage] tenant`` in PostgreSQL. ``StoreError`` saying what to do when it cannot
    be opened (a PostgreSQL schema older than this program: run ``python -m bot migrate``)."""
    storage = config.storage
    if storage.postgresql:
        from bot.adapters.postgres import PgDocStore

        return PgDocStore.open(storage.dsn, storage.tenant, writable=writable,
                               application_name=application_name or worker_name())
    return DocStore.open(Path(storage.dir), writable=writable,
                         snapshot_every=storage.snapshot_every)


def worker_name(listen: str = "") -> str:
    """How this process names itself to PostgreSQL (application_name: `check` shows who
    holds the planner lock): host, pid and the address it listens on, if any."""
    name = f"luoshi@{socket.gethostname()}:{os.getpid()}"
    return f"{name} {listen}"[:63] if listen else name[:63]


class SnapshotPolicy:
    """When the store folds its journal into a snapshot (called every few seconds by a job).

    A snapshot is written once ``[storage] snapshot_every`` commits piled up, or when anything
    changed and ``quiet_seconds`` passed since the last one. After a complete snapshot, today's
    backup is made if it is missing (the backup copies the snapshot files, so they agree).
    """

    def __init__(self, store: DocStore, clock: Clock, keep_backups: int, *,
                 quiet_seconds: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self.keep_backups = keep_backups
        self.quiet_seconds = quiet_seconds
        self.monotonic = monotonic
        # The seq the latest snapshot captured: after a crash the journal holds more, and the
        # first snapshot (then the day's backup) must include it.
        self.snapshot_seq = store.snapshot_seq
        self.snapshot_at = monotonic()

    async def __call__(self) -> None:
        store = self.store
        now = self.monotonic()
        changed = store.seq != self.snapshot_seq
        if store.snapshot_due() or (changed and now - self.snapshot_at >= self.quiet_seconds):
            seq = store.seq
            await store.snapshot_async()
            self.snapshot_seq, self.snapshot_at = seq, now
        if store.seq == self.snapshot_seq:  # the snapshot files hold everything: back them up
            await asyncio.to_thread(make_daily_backup, Path(store.directory), self.clock.today(),
                                    self.keep_backups)


def build_calendar(config: Config) -> WorkCalendar:
    return default_calendar(extra_holidays=config.calendar.extra_holidays,
                            extra_workdays=config.calendar.extra_workdays)


class RedactingFilter(logging.Filter):
    """Keeps the bot token out of every log line (httpx logs request URLs, which contain it)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "<token>")
                record.args = None
        return True


def setup_logging(token: str = "", level: int = logging.INFO,
                  log_file: Path | None = None) -> None:
    handler: logging.Handler = (logging.FileHandler(log_file, encoding="utf-8") if log_file
                                else logging.StreamHandler())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, token included; keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop` (the process's main loop ends gracefully). Where the loop
    cannot take signal handlers — not the main thread (a test runs the bot in one), or a
    platform without them — nothing is installed and `stop` is set by whoever runs it."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
