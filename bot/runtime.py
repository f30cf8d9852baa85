"""Builds the services from a config: store, repository, ledger, messages, clock."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.adapters.backups import make_daily_backup
from bot.adapters.docstore import DocStore
from bot.adapters.holidays import default_calendar
from bot.adapters.repository import StoreRepository
from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock, SystemClock
from bot.domain.ledger import Ledger
from bot.domain.warning import LightBoard, WarningRules
from bot.messages import Messages
from bot.tg.context import Services


def open_store(config: Config, *, writable: bool) -> DocStore:
    return DocStore.open(Path(config.storage.dir), writable=writable,
                         snapshot_every=config.storage.snapshot_every)


def build_services(config: Config, store: DocStore, *, clock: Clock | None = None) -> Services:
    repo = StoreRepository(store)
    clock = clock or SystemClock(config.timezone)
    ledger = Ledger(repo, clock)

    async def snapshot() -> None:
        if store.snapshot_due() or store.seq != _last_snapshot[0]:
            await store.snapshot_async()
            _last_snapshot[0] = store.seq
        if store.seq == _last_snapshot[0]:  # the snapshot files are complete: back them up
            await asyncio.to_thread(make_daily_backup, Path(store.directory), clock.today(),
                                    config.storage.keep_backups)

    _last_snapshot = [store.seq]
    calendar = build_calendar(config)
    rules = WarningRules(**vars(config.warning))
    return Services(config=config, ledger=ledger, messages=Messages(config.language),
                    clock=clock, calendar=calendar, lights=LightBoard(repo, calendar, rules),
                    snapshot=snapshot, close=store.close)


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
