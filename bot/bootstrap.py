"""The composition root: `bootstrap(config)` builds the bot's services, and nothing else does.

Store and repository, ledger, calendar, messages, light board, the rhythm dispatcher and the
scheduled jobs' hooks, wired into one `Services` (bot/services.py). Every dependency has its
production default and can be injected instead (the model is cosmicpython's bootstrap.py):
tests pass a fixed clock, an already open store, fake time for the dispatcher's pacing, or a
sender that is not Telegram.

Channel-neutral, like the services: the Telegram adapter wires its Application, handlers and
sender onto what this returns (bot/tg/app.py `build_application`). Used by the command line
(bot/cli.py), the sandbox (bot/sandbox/runtime.py), the tests' harness
(tests/support/harness.py) and the benchmarks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.adapters.dialogues import MemoryDialogues, StoreDialogues
from bot.adapters.docstore import DocStore, Documents
from bot.adapters.inbox import StoreInbox
from bot.adapters.repository import StoreRepository
from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock, SystemClock
from bot.domain.ledger import Ledger
from bot.domain.ports import Buttons, LedgerRepository, Sender
from bot.domain.warning import LightBoard, WarningRules
from bot.messages import Messages
from bot.runtime import SnapshotPolicy, build_calendar, open_store
from bot.scheduling import ScheduledJobs
from bot.services import ChatWatchPort, Services
from jobs.dispatch import RhythmDispatcher
from jobs.pacing import Pacer

__all__ = ["NotConnected", "ScheduledJobs", "bootstrap"]


def bootstrap(
    config: Config,
    *,
    store: Documents | None = None,
    writable: bool = True,
    repository: LedgerRepository | None = None,
    clock: Clock | None = None,
    calendar: WorkCalendar | None = None,
    sender: Sender | None = None,
    watch: ChatWatchPort | None = None,
    pacer_factory: Callable[[], Pacer] = Pacer,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Services:
    """The services for `config`.

    store: the county's store — the DocStore at ``[storage] dir``, or its PostgreSQL schema
        (``[storage] backend``) — opened here (`writable`: the writer lock, the inbox and, for
        the DocStore, the snapshot policy) unless one is given; a store opened here is closed
        again if building fails. `Services.close` releases it either way.
    repository: instead of one over the store (a fake: then there is no store unless given).
    clock: the county's wall clock (`SystemClock` in ``config.timezone``).
    calendar: chinese-calendar with ``[calendar]``'s extra days.
    sender, watch: the channel's ports, when they exist already (a fake sender); the Telegram
        adapter connects its own once its bot exists (`Services.connect`).
    pacer_factory, sleep: the dispatcher's pacing and back-off (fake time in tests).

    Raises StoreError when the store cannot be opened, and what a damaged document raises
    (bot/cli.py DOCUMENT_ERRORS) when the repository cannot read it.
    """
    opened = None
    if store is None and repository is None:
        store = opened = open_store(config, writable=writable)
    try:
        if repository is None:
            assert store is not None
            repository = StoreRepository(store)
        if clock is None:
            clock = SystemClock(config.timezone)
        if calendar is None:
            calendar = build_calendar(config)
        return _build(config, store, repository, clock=clock, calendar=calendar, sender=sender,
                      watch=watch, pacer_factory=pacer_factory, sleep=sleep)
    except BaseException:
        if opened is not None:
            opened.close()
        raise


def _build(config: Config, store: Documents | None, repo: LedgerRepository, *, clock: Clock,
           calendar: WorkCalendar, sender: Sender | None, watch: ChatWatchPort | None,
           pacer_factory: Callable[[], Pacer],
           sleep: Callable[[float], Awaitable[None]]) -> Services:
    live = store if store is not None and store.writable else None  # not a reader's store
    services = Services(
        config=config,
        ledger=Ledger(repo, clock),
        # dates show other years' year; 逾期N个工作日 on the county's calendar
        messages=Messages(config.language, today=clock.today, calendar=calendar),
        clock=clock,
        calendar=calendar,
        lights=LightBoard(repo, calendar, WarningRules(**vars(config.warning))),
        # Snapshots and daily backups are the TinyDB store's; PostgreSQL's are pg_dump's.
        snapshot=(SnapshotPolicy(live, clock, config.storage.keep_backups)
                  if isinstance(live, DocStore) else None),
        close=store.close if store is not None else None,
        inbox=StoreInbox(live, clock) if live is not None else None,
    )
    escalation = config.escalation
    services.dispatcher = RhythmDispatcher(
        repo, calendar, clock, NotConnected(), services.messages, lights=services.lights,
        pacer_factory=pacer_factory, sleep=sleep, leader_after=escalation.leader_after,
        admin_after=escalation.admin_after, admin_chats=services.admin_chats,
        address_for=lambda person, running: services.reminder_address(person, running),
        ledger=services.ledger)  # one ledger: every write goes through it
    services.jobs = ScheduledJobs(services)
    services.dialogues = (StoreDialogues(live, clock) if live is not None
                          else MemoryDialogues(clock))
    if sender is not None:
        services.connect(sender, watch)
    return services


class NotConnected(Sender):
    """The sender until a channel is connected (`Services.connect`): nothing can be sent from
    a command-line tool, and a job that tries says why."""

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        raise RuntimeError("no channel is connected to the services (Services.connect)")

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        raise RuntimeError("no channel is connected to the services (Services.connect)")
