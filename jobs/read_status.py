"""已送达未读: which of a day's reminders were delivered but not read by the next day.

Channel-neutral. A channel that can tell who read a message (钉钉) gave, when the reminder
was sent, a `receipt` (its processQueryKey) that the dispatcher kept with the outbox entry,
durably (jobs/dispatch.py `_entries`). `note_read_status` asks the sender port
(`Sender.read_by(chat_id, receipt)`; a router asks the chat's channel) about each SENT
reminder of one day that has a receipt, and records the answer on the entry through the
ledger (`OutboxEntry.read`, `Ledger.record_read`, one change): False = 已送达未读.

It runs the next workday twice: at the start of the rhythm dispatch (so that day's 督办单
can say "张三：提醒已送达，未读") and before the daily summary (which lists them). The summary
and the 督办单 read what is recorded (`Ledger.unread_reminders`) and never ask the channel.
An entry found unread is asked again by the next run (someone who read it since is then no
longer listed); one found read is not asked again. Telegram cannot tell: its sender keeps the
port's defaults (no receipt, None), so nothing is asked and nothing recorded. A channel that
cannot answer now (None) leaves the entry as it was: never "unread" on a guess.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import date

from bot.domain.ledger import Ledger
from bot.domain.ledger_records import REMINDER_KINDS
from bot.domain.model import DeliveryStatus, OutboxEntry
from bot.domain.ports import LedgerRepository, PersistenceError, Sender

log = logging.getLogger(__name__)

CONCURRENCY = 8  # read-status questions in flight at once


@dataclass
class ReadCheck:
    day: date
    asked: int = 0  # reminders the channel was asked about
    unread: list[OutboxEntry] = field(default_factory=list)  # 已送达未读
    unknown: int = 0  # the channel could not say (left as they were)


def to_ask(ledger: Ledger, day: date) -> list[OutboxEntry]:
    """The day's SENT reminders with a receipt, not yet found read."""
    return [entry for entry in ledger.deliveries_of(day)
            if entry.status is DeliveryStatus.SENT and entry.kind in REMINDER_KINDS
            and entry.receipt is not None and entry.chat_id is not None
            and entry.read is not True]


async def note_read_status(repo: LedgerRepository, ledger: Ledger, sender: Sender | None,
                           day: date) -> ReadCheck:
    """Ask who read `day`'s reminders and record it (see the module). Never raises for the
    channel's or the store's trouble: logged, and the next run asks again."""
    check = ReadCheck(day)
    if sender is None:
        return check
    entries = to_ask(ledger, day)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def ask(entry: OutboxEntry) -> OutboxEntry | None:
        assert entry.chat_id is not None and entry.receipt is not None
        person = repo.get_person(entry.person)
        address = person.address_on(entry.channel) if person is not None else None
        if address is None:  # no longer bound there: whose read would count is unknown
            return None
        async with gate:
            try:
                readers = await sender.read_by(entry.chat_id, entry.receipt)
            except Exception:  # one question failing never stops the others
                log.exception("read status of %s's reminder %s failed", entry.person,
                              entry.task_id)
                readers = None
        check.asked += 1
        if readers is None:
            check.unknown += 1
            return None
        return replace(entry, read=address.id in readers)

    answered = [e for e in await asyncio.gather(*(ask(e) for e in entries)) if e is not None]
    before = {entry.key: entry.read for entry in entries}
    changed = [entry for entry in answered if entry.read != before[entry.key]]
    check.unread = [e for e in answered if e.read is False]
    try:
        ledger.record_read(changed)
    except PersistenceError:
        log.error("could not record the read status of %s's reminders", day)
    if entries:
        log.info("read status %s: asked %d, unread %d, unknown %d", day, check.asked,
                 len(check.unread), check.unknown)
    return check
