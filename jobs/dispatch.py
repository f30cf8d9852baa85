"""The daily rhythm dispatch: plan today's reminders, skip what is already done, send the rest.

每人每日一条: each person's due reminders go as one message, most urgent first (a person with
one due task gets the single-task reminder; a very long list is split only to stay within
Telegram's limits: bot/app/digest.py). Leaders get one 督办单 a day likewise.

Every reminder is recorded in the outbox keyed by (date, task, person, kind, channel), durably,
right after the channel accepted the message that carries it (a digest's entries in one change). A
second run on the same day (a restart, /dispatch) sends only what is missing — a digest of the
tasks not yet sent — so nothing is sent twice and nothing is dropped.

One reminder, one channel: a person reachable on several running channels (the sender may be
a router over them, bot/channels.py) gets each reminder at one address — `address_for`
(`Services.reminder_address`: [channels] prefer, else the channel they last used) — sent to
that address's account number and keyed in the outbox with that address's channel. Sent today
on one channel is sent: a second run does not send it again on another (`_sent_today`), though
the address would now be another one (the person used the other channel since).

已送达未读 (channels that can tell who read a message: 钉钉): each sent entry keeps the
sender's `receipt`; a run first asks who read the previous workday's reminders
(jobs/read_status.py) and records it, and the 督办单 names the 责任人 whose reminder was
delivered but not read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from bot.app.digest import DigestEntry, DigestPart, escalation_parts, reminder_parts
from bot.channels import channel_of
from bot.config import field_default
from bot.domain.accounts import account_number
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock
from bot.domain.ledger import Ledger
from bot.domain.model import (
    DINGTALK,
    TELEGRAM,
    Address,
    DeliveryStatus,
    OutboxEntry,
    Person,
    Task,
    channel_for,
    outbox_key,
)
from bot.domain.ports import (
    Buttons,
    DeliveryFailed,
    LedgerRepository,
    PersistenceError,
    Sender,
    Unreachable,
    retry_on_conflict,
)
from bot.domain.rhythm import URGENCY, ReminderKind, already_reported, plan_day
from bot.domain.warning import LightBoard
from bot.messages import Messages
from jobs.pacing import Pacer, interleave
from jobs.read_status import note_read_status

log = logging.getLogger(__name__)
T = TypeVar("T")

OUTBOX_KEEP_DAYS = 40
RETRY_DELAYS = (1.0, 3.0, 9.0)  # network trouble: back off, then give up until the next run
CONCURRENCY = 8


@dataclass
class DispatchReport:
    day: date
    workday: bool = True
    due: int = 0  # task × person reminders due today after 减负
    sent: int = 0  # reminders sent by this run (a digest carries several)
    messages: int = 0  # messages sent by this run (digests, their parts, 督办单)
    sent_before: int = 0  # already sent earlier today
    skipped_reported: int = 0  # 减负: already reported within the period
    failed: int = 0
    unbound: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    newly_unreachable: list[str] = field(default_factory=list)
    on_leave: list[str] = field(default_factory=list)
    escalated: int = 0  # 督办单 sent to leaders by this run
    listed: int = 0  # tasks in today's 挂牌督办 list (sent once a day)
    claimed_elsewhere: int = 0  # held by another planner while this run met them


CLAIM_PASSES = 3  # passes over reminders another planner held (see `run`) …
CLAIM_RETRY_SECONDS = 20.0  # … this long apart
KNOWN_CHANNELS = (TELEGRAM, DINGTALK)  # whose outbox keys a run looks for (`_sent_today`)
ESCALATION = "escalation"  # outbox kind of a 督办单 to a leader
LISTING = "listing"  # outbox kind of the day's 挂牌督办 list
LISTING_TASK = "挂牌督办"


@dataclass(frozen=True)
class _Item:
    task: Task
    kind: ReminderKind
    person: Person
    chat_id: int
    on_behalf: tuple[str, ...] = ()  # 请假: the owners this leader receives it for
    escalation: bool = False  # a 督办单, not a reminder
    channel: str = ""  # the channel of the address it goes to (the outbox key's)

    @property
    def outbox_kind(self) -> str:
        return ESCALATION if self.escalation else self.kind.value


@dataclass(frozen=True)
class _Message:
    """One message to one person: a digest (or a part of one), or a single reminder."""

    person: Person
    chat_id: int
    items: tuple[_Item, ...]
    text: str
    buttons: Buttons | None
    escalation: bool = False

    @property
    def rank(self) -> int:
        return min(URGENCY[item.kind] for item in self.items)


class RhythmDispatcher:
    def __init__(
        self,
        repo: LedgerRepository,
        calendar: WorkCalendar,
        clock: Clock,
        sender: Sender,
        messages: Messages,
        *,
        lights: LightBoard | None = None,
        pacer_factory: Callable[[], Pacer] = Pacer,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        concurrency: int = CONCURRENCY,
        leader_after: int = field_default("escalation.leader_after"),
        admin_after: int = field_default("escalation.admin_after"),
        admin_chats: Callable[[], list[int]] = list,
        ledger: Ledger | None = None,
        address_for: Callable[[Person, tuple[str, ...]], Address | None] | None = None,
    ) -> None:
        self.repo = repo  # reads; every write goes through the ledger
        self.ledger = ledger or Ledger(repo, clock)
        self.calendar = calendar
        self.clock = clock
        self.sender = sender
        self.messages = messages
        self.lights = lights or LightBoard(repo, calendar)
        self._pacer_factory = pacer_factory
        self._sleep = sleep
        self._retry_delays = retry_delays
        self._concurrency = concurrency
        self.leader_after = leader_after
        self.admin_after = admin_after
        self._admin_chats = admin_chats
        # Where one reminder to a person goes among the running channels (default: the
        # channel they last used; bootstrap passes Services.reminder_address).
        self._address_for = address_for or (lambda person, running: channel_for(
            person, running=running))
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def run(self, day: date | None = None) -> DispatchReport:
        """Send the day's missing reminders. Safe to call any number of times.

        Reminders another planner held while this run met them (a takeover while the old
        planner was still sending, on a shared store) are looked at again a little later, at
        most CLAIM_PASSES times: the old planner recorded them (then they count as sent
        before) or it stopped half way and released them (then this run sends them)."""
        async with self._lock:
            day = day or self.clock.today()
            report = await self._run(day)
            for _pass in range(CLAIM_PASSES):
                if not report.claimed_elsewhere:
                    break
                await self._sleep(CLAIM_RETRY_SECONDS)
                self.repo.refresh()
                again = await self._run(day)
                report.sent += again.sent
                report.messages += again.messages
                report.escalated += again.escalated
                report.failed += again.failed
                report.claimed_elsewhere = again.claimed_elsewhere
            return report

    async def _run(self, day: date) -> DispatchReport:
        report = DispatchReport(day=day)
        self.repo.refresh()  # what other workers changed (a shared store): new tasks, reports
        if not self.calendar.is_workday(day):
            report.workday = False
            return report
        self._forget_old_entries(day)
        # 已送达未读: who has not read the previous workday's reminders (channels that can
        # tell), recorded before today's 督办单 are written (they say it).
        await note_read_status(self.repo, self.ledger, self.sender,
                               self.calendar.previous_workday(day))
        due = self._due(day, report)
        items, unbound_entries = self._collect(due, day, report)
        if unbound_entries:
            self._record(self.ledger.record_deliveries, unbound_entries)
        await self._send_all(self.messages_for(items, day), day, report)
        # 层层压实: leaders after N overdue workdays (at once when an owner cannot be
        # reached), then the 挂牌督办 list for the admins.
        await self._send_all(self.messages_for(self._escalations(due, day, report), day),
                             day, report)
        await self._send_listing(due, day, report)
        log.info("dispatch %s: due %d, sent %d in %d messages, before %d, skipped %d, "
                 "failed %d, escalated %d, listed %d", day, report.due, report.sent,
                 report.messages, report.sent_before, report.skipped_reported, report.failed,
                 report.escalated, report.listed)
        return report

    def plan_messages(self, day: date) -> list[_Message]:
        """The messages a run would send now (no sending, no writes): for /plan-like views
        and the benchmark's schedule model."""
        report = DispatchReport(day=day)
        due = self._due(day, report)
        items, _ = self._collect(due, day, report)
        return self.messages_for(items, day)

    def messages_for(self, items: list[_Item], day: date) -> list[_Message]:
        """每人每日一条: one person's items (most urgent first, as given) as one message, or
        the few parts Telegram's limits need; a task listed twice for one person (their own,
        and covered for an owner on leave) once."""
        by_person: dict[str, list[_Item]] = {}
        for item in items:
            mine = by_person.setdefault(item.person.name, [])
            twin = next((i for i, had in enumerate(mine) if had.task.id == item.task.id), None)
            if twin is None:
                mine.append(item)
            else:
                had = mine[twin]
                mine[twin] = _Item(had.task, had.kind, had.person, had.chat_id,
                                   tuple(dict.fromkeys(had.on_behalf + item.on_behalf)),
                                   had.escalation, had.channel)
        out: list[_Message] = []
        unread = self._unread_owners(day) if any(i.escalation for i in items) else {}
        for mine in by_person.values():
            first = mine[0]
            entries = [DigestEntry(i.task, i.kind, i.on_behalf,
                                   unread.get(i.task.id, ()) if i.escalation else ())
                       for i in mine]
            parts: list[DigestPart]
            if first.escalation:
                parts = escalation_parts(self.messages, day, entries, self.calendar)
            else:
                parts = reminder_parts(self.messages, first.person.name, day, entries,
                                       self.calendar, lambda t: self.lights.of(t, day))
            of_task = {i.task.id: i for i in mine}
            for part in parts:
                out.append(_Message(first.person, first.chat_id,
                                    tuple(of_task[e.task.id] for e in part.entries),
                                    part.text, part.buttons, first.escalation))
        return out

    def _unread_owners(self, day: date) -> dict[str, tuple[str, ...]]:
        """Per task, its 责任人 whose reminder of the previous workday was delivered but not
        read (as recorded by jobs/read_status.py): the 督办单 says so."""
        found: dict[str, tuple[str, ...]] = {}
        for entry in self.ledger.unread_reminders(self.calendar.previous_workday(day)):
            task = self.repo.get_task(entry.task_id)
            if task is not None and entry.person in task.owners \
                    and entry.person not in found.get(task.id, ()):
                found[task.id] = (*found.get(task.id, ()), entry.person)
        return found

    async def _send_all(self, messages: list[_Message], day: date,
                        report: DispatchReport) -> None:
        ordered = interleave(messages, lambda message: message.chat_id)
        pacer = self._pacer_factory()
        gate = asyncio.Semaphore(self._concurrency)
        pending: set[asyncio.Task[None]] = set()
        async for message in pacer.paced(ordered, lambda m: m.chat_id, lambda m: m.rank):
            await gate.acquire()
            task = asyncio.create_task(self._deliver(message, day, report, gate))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)

    def _due(self, day: date, report: DispatchReport) -> list[tuple[Task, ReminderKind]]:
        """Today's due reminders per task, most urgent first, after 减负."""
        due: list[tuple[Task, ReminderKind]] = []
        for planned in plan_day(self.repo.tasks(), day, self.calendar):
            task = self.repo.get_task(planned.task_id)
            kind = planned.kind
            if task is None:
                continue
            if already_reported(task, kind, day):
                report.skipped_reported += len(task.owners)
                continue
            due.append((task, kind))
        due.sort(key=lambda tk: (URGENCY[tk[1]], tk[0].deadline or date.max, tk[0].id))
        return due

    def _address(self, person: Person | None) -> Address | None:
        """The one address a reminder to `person` goes to on the running channels."""
        if person is None:
            return None
        return self._address_for(person, self.sender.channels)

    def _reachable_leader(self, task: Task, day: date) -> Person | None:
        leader = self.repo.get_person(task.leader) if task.leader else None
        if leader is None or not leader.reachable or leader.on_leave(day):
            return None
        return leader

    def _escalations(self, due: list[tuple[Task, ReminderKind]], day: date,
                     report: DispatchReport) -> list[_Item]:
        items = []
        for task, kind in due:
            if kind is not ReminderKind.OVERDUE or task.deadline is None:
                continue
            days = self.calendar.workdays_between(task.deadline, day)
            stranded = [name for name in task.owners if self._owner_stranded(name, day)]
            if days < self.leader_after and not stranded:
                continue
            leader = self._reachable_leader(task, day)
            address = self._address(leader)
            if leader is None or address is None:
                continue
            if self._sent_today(day, task.id, leader.name, ESCALATION):
                continue
            items.append(_Item(task, kind, leader, account_number(address), tuple(stranded),
                               True, address.channel))
        return items

    def _sent_today(self, day: date, task_id: str, person: str, kind: str) -> bool:
        """The reminder went out today on some channel: one reminder, one channel, even when
        the channel it would go to now changed since (the person used another one since, a
        channel started or stopped, [channels] prefer changed over a restart)."""
        for channel in dict.fromkeys((*self.sender.channels, *KNOWN_CHANNELS)):
            entry = self.repo.outbox_get(outbox_key(day, task_id, person, kind, channel))
            if entry is not None and entry.status is DeliveryStatus.SENT:
                return True
        return False

    def _owner_stranded(self, name: str, day: date) -> bool:
        """An owner the bot cannot reach (not bound, never started it, blocked it). One on
        leave is not: their reminders already go to the leader, who is not told twice."""
        person = self.repo.get_person(name)
        if person is not None and person.on_leave(day):
            return False
        return person is None or not person.reachable

    async def _send_listing(self, due: list[tuple[Task, ReminderKind]], day: date,
                            report: DispatchReport) -> None:
        """挂牌督办: one list a day, in the admin group (or to each admin)."""
        listed = []
        for task, kind in due:
            if kind is ReminderKind.OVERDUE and task.deadline is not None:
                days = self.calendar.workdays_between(task.deadline, day)
                if days >= self.admin_after:
                    listed.append((task, days))
        report.listed = len(listed)
        if not listed:
            return
        listed.sort(key=lambda td: (-td[1], td[0].id))
        text = self.messages.listing(listed, self.admin_after)
        tried: set[int] = set()
        # A group found unreachable on the way is dropped from `admin_chats` (the sender
        # remembers it): the admins then get the list privately, in the second round.
        for _round in range(2):
            chats = [c for c in self._admin_chats() if c not in tried]
            if not chats:
                return
            for chat_id in chats:
                tried.add(chat_id)
                await self._send_listing_to(chat_id, text, day)

    async def _send_listing_to(self, chat_id: int, text: str, day: date) -> None:
        channel = channel_of(self.sender, chat_id)
        key = outbox_key(day, LISTING_TASK, str(chat_id), LISTING, channel)
        with self.repo.claim_outbox([key]) as claimed:
            if claimed:
                self.repo.refresh()
                await self._send_listing_claimed(chat_id, text, day, key, channel)

    async def _send_listing_claimed(self, chat_id: int, text: str, day: date, key: str,
                                    channel: str) -> None:
        existing = self.repo.outbox_get(key)
        if existing is not None and existing.status is DeliveryStatus.SENT:
            return
        try:
            message_id = await self.sender.send(chat_id, text)
        except (Unreachable, DeliveryFailed) as err:
            log.warning("挂牌督办 list to %s not sent: %s", chat_id, err)
            return
        listing = OutboxEntry(day, LISTING_TASK, str(chat_id), LISTING, DeliveryStatus.SENT,
                              self.clock.now(), message_id=message_id, chat_id=chat_id,
                              channel=channel)
        self._record(self.ledger.record_delivery, listing)

    def _collect(self, due: list[tuple[Task, ReminderKind]], day: date,
                 report: DispatchReport) -> tuple[list[_Item], list[OutboxEntry]]:
        """One item per task and 责任人, minus what was already sent; owners on leave are
        replaced by the task's leader (once per task)."""
        items: list[_Item] = []
        unbound: list[OutboxEntry] = []
        now = self.clock.now()
        for task, kind in due:
            away: list[str] = []
            for name in task.owners:
                report.due += 1
                person = self.repo.get_person(name)
                address = self._address(person)
                channel = address.channel if address is not None else self.sender.channel
                key = outbox_key(day, task.id, name, kind.value, channel)
                existing = self.repo.outbox_get(key)
                if self._sent_today(day, task.id, name, kind.value):
                    report.sent_before += 1
                    continue
                if person is not None and person.on_leave(day):
                    report.on_leave.append(name)
                    away.append(name)
                    continue
                if person is None or address is None:
                    report.unbound.append(name)
                    if existing is None:
                        unbound.append(OutboxEntry(day, task.id, name, kind.value,
                                                   DeliveryStatus.UNBOUND, now,
                                                   channel=channel))
                    continue
                items.append(_Item(task, kind, person, account_number(address),
                                   channel=address.channel))
            leader = self._reachable_leader(task, day) if away else None
            place = self._address(leader)
            if leader is not None and place is not None and leader.name not in away:
                if not self._sent_today(day, task.id, leader.name, kind.value):
                    items.append(_Item(task, kind, leader, account_number(place), tuple(away),
                                       channel=place.channel))
        report.unbound = sorted(set(report.unbound))
        report.on_leave = sorted(set(report.on_leave))
        return items, unbound

    async def _deliver(self, message: _Message, day: date, report: DispatchReport,
                       gate: asyncio.Semaphore) -> None:
        try:
            await self._deliver_one(message, day, report)
        except Exception:  # one failing recipient never stops the rest
            log.exception("reminders to %s failed unexpectedly", message.person.name)
            report.failed += len(message.items)
        finally:
            gate.release()

    async def _deliver_one(self, message: _Message, day: date, report: DispatchReport) -> None:
        """Send one message and record it, holding its outbox keys (`claim_outbox`): a second
        planner — a takeover while the old one still runs, on a shared store — skips what
        this one holds, and sees it sent once recorded."""
        keys = [outbox_key(day, item.task.id, item.person.name, item.outbox_kind,
                           item.channel or self.sender.channel) for item in message.items]
        with self.repo.claim_outbox(keys) as claimed:
            if not claimed:
                report.claimed_elsewhere += len(message.items)
                return
            self.repo.refresh()
            if all(self._sent_today(day, item.task.id, item.person.name, item.outbox_kind)
                   for item in message.items):
                report.sent_before += len(message.items)
                return
            await self._send_and_record(message, day, report)

    async def _send_and_record(self, message: _Message, day: date,
                               report: DispatchReport) -> None:
        attempt = 0
        while True:
            try:
                message_id = await self.sender.send(message.chat_id, message.text,
                                                    message.buttons)
                break
            except Unreachable:
                self._mark_unreachable(message, day, report)
                return
            except DeliveryFailed as err:
                if attempt >= len(self._retry_delays):
                    log.warning("reminders %s to %s not sent: %s",
                                ",".join(i.task.id for i in message.items),
                                message.person.name, err)
                    report.failed += len(message.items)
                    self._record(self.ledger.record_deliveries,
                                 self._entries(message, day, DeliveryStatus.FAILED))
                    return
                await self._sleep(self._retry_delays[attempt])
                attempt += 1
        if message.escalation:
            report.escalated += len(message.items)
        # A reminder (not a 督办单) also sets the task's last reminder, from which 预警 counts.
        self._record(lambda sent: self.ledger.record_sent(sent, reminder=not message.escalation),
                     self._entries(message, day, DeliveryStatus.SENT, message_id))
        report.sent += len(message.items)
        report.messages += 1

    def _mark_unreachable(self, message: _Message, day: date, report: DispatchReport) -> None:
        report.unreachable.append(message.person.name)
        person = self.repo.get_person(message.person.name)
        if person is not None and person.unreachable_since is None:
            report.newly_unreachable.append(person.name)
        self._record(self.ledger.mark_unreachable,
                     self._entries(message, day, DeliveryStatus.UNREACHABLE))

    def _entries(self, message: _Message, day: date, status: DeliveryStatus,
                 message_id: int | None = None) -> list[OutboxEntry]:
        now = self.clock.now()
        # A channel that can tell who read a message (钉钉) gives what to ask it with later:
        # kept with the entries, in the same change as the send's record (restarts lose none).
        receipt = self.sender.receipt(message.chat_id, message_id) \
            if message_id is not None else None
        return [OutboxEntry(day, item.task.id, item.person.name, item.outbox_kind, status, now,
                            message_id=message_id, chat_id=item.chat_id,
                            channel=item.channel or self.sender.channel, receipt=receipt)
                for item in message.items]

    def _forget_old_entries(self, day: date) -> None:
        self._record(self.ledger.forget_deliveries_before,
                     day - timedelta(days=OUTBOX_KEEP_DAYS))

    def _record(self, write: Callable[[T], object], what: T) -> None:
        """One ledger write; a failed one is logged, never raised (the run goes on). Another
        worker's change to the same task meanwhile (an official's report while the reminders
        go out; a shared store) refreshes the view: the write is computed again."""
        try:
            retry_on_conflict(lambda: write(what))
        except PersistenceError:
            # The message went out but its record did not: a later run may send it again.
            log.error("could not record a reminder in the outbox")
