"""The ledger's records of what the bot itself did: reminders and posts sent, the outbox,
bulletin ranks, chats that moved or cannot be reached, the sandbox's demo accounts.

A mixin of `Ledger` (bot/domain/ledger.py), kept apart from the task lifecycle: these are the
writes of the jobs and the sender, not of officials and admins. Each call is one durable
`Change`; a PersistenceError leaves the store as it was (the message may then go again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from bot.domain.clock import Clock
from bot.domain.model import DeliveryStatus, HistoryEntry, OutboxEntry, Person
from bot.domain.ports import Change, LedgerRepository
from bot.domain.rhythm import ReminderKind

POST_KIND = "post:"  # outbox kind prefix of a message kept for editing (record_posts)
CALENDAR_WARNED = "calendar_warned"  # counter: ordinal of the day admins were last warned
SUMMARY_SENT = "summary_sent"  # counter: ordinal of the last day whose summary went out
CHAT_MOVED = "chat_moved:"  # counter chat_moved:<old id> = the new id
REMINDER_KINDS = frozenset(kind.value for kind in ReminderKind)  # the rhythm's outbox kinds
CHAT_UNREACHABLE = "chat_unreachable:"  # chat_unreachable:<id> = since (Unix time), 0 = fine


class LedgerRecords:
    repo: LedgerRepository
    clock: Clock

    def record_reminder(self, task_id: str, *, who: str, sent_to: Iterable[str]) -> None:
        """催办: keep in the history that the task's 责任人 were urged, and to whom."""
        names = list(sent_to)
        entry = HistoryEntry(task_id, self.clock.now(), who, "remind", note="、".join(names))
        self.repo.commit(Change(history=[entry]))

    def record_posts(self, task_id: str, about: str, sent: Sequence[tuple[int, int]]) -> None:
        """Keep where a message that asks for a decision went (the 核账 buttons under a 交账:
        `about` is its report id), as (chat id, message id), so that it can be edited when
        the question goes away. Kept in the outbox, forgotten with it."""
        now = self.clock.now()
        entries = [OutboxEntry(self.clock.today(), task_id, str(chat_id), f"{POST_KIND}{about}",
                               DeliveryStatus.SENT, now, message_id=message_id,
                               chat_id=chat_id) for chat_id, message_id in sent]
        if entries:
            self.repo.commit(Change(outbox=entries))

    def posts(self, task_id: str, about: str) -> list[tuple[int, int]]:
        """Where the messages recorded by `record_posts` went (oldest first)."""
        found = []
        suffix = f"|{POST_KIND}{about}"
        for key in self.repo.outbox_keys():
            if key.endswith(suffix) and f"|{task_id}|" in key:
                entry = self.repo.outbox_get(key)
                if entry is not None and entry.chat_id is not None \
                        and entry.message_id is not None:
                    found.append((entry.chat_id, entry.message_id))
        return found

    def record_delivery(self, entry: OutboxEntry) -> None:
        """One message's outcome in the outbox, as given (a 挂牌督办 list sent, a reminder
        that failed after its retries)."""
        self.repo.commit(Change(outbox=[entry]))

    def record_deliveries(self, entries: Sequence[OutboxEntry]) -> None:
        """Several outcomes in one change (today's reminders to people not bound yet).
        Nothing is committed when there are none."""
        if entries:
            self.repo.commit(Change(outbox=list(entries)))

    def record_sent(self, entry: OutboxEntry | Sequence[OutboxEntry], *,
                    reminder: bool) -> None:
        """A message the recipient's chat accepted (`entry`, status SENT; several entries for
        one message listing several tasks, a daily digest: one change), with what it tells:
        the recipient can be reached again (an unreachable mark goes) and, for a rhythm
        `reminder`, the task was last reminded on `entry.day` with `entry.kind` (预警 counts
        "no report since the last reminder's period began" from there)."""
        entries = [entry] if isinstance(entry, OutboxEntry) else list(entry)
        change = Change(outbox=entries)
        for sent in entries:
            task = self.repo.get_task(sent.task_id)
            if reminder and task is not None and (
                    task.reminded_on, task.reminded_kind) != (sent.day, sent.kind):
                change.tasks.append(task.with_changes(reminded_on=sent.day,
                                                      reminded_kind=sent.kind))
        for name in dict.fromkeys(sent.person for sent in entries):
            person = self.repo.get_person(name)
            if person is not None and person.unreachable_since is not None:
                change.people.append(person.with_changes(unreachable_since=None))
        self.repo.commit(change)

    def mark_unreachable(self, entry: OutboxEntry | Sequence[OutboxEntry]) -> None:
        """A message that cannot be delivered (blocked, never started): its entry (status
        UNREACHABLE; several for a digest, one change) and, unless already marked, since when
        its recipient is unreachable."""
        entries = [entry] if isinstance(entry, OutboxEntry) else list(entry)
        change = Change(outbox=entries)
        for name in dict.fromkeys(sent.person for sent in entries):
            person = self.repo.get_person(name)
            if person is not None and person.unreachable_since is None:
                change.people.append(person.with_changes(unreachable_since=self.clock.now()))
        self.repo.commit(change)

    def deliveries_of(self, day: date) -> list[OutboxEntry]:
        """The outbox entries of one day (the keys start with it), in key order."""
        prefix = f"{day.isoformat()}|"
        found = []
        for key in sorted(k for k in self.repo.outbox_keys() if k.startswith(prefix)):
            entry = self.repo.outbox_get(key)
            if entry is not None:
                found.append(entry)
        return found

    def unread_reminders(self, day: date) -> list[OutboxEntry]:
        """Rhythm reminders of `day` delivered but found unread the next day (已送达未读,
        recorded by `record_read`): for the daily summary and the 督办单, without asking
        the channel again. Reminders only: 督办单, lists and posts are not counted."""
        return [entry for entry in self.deliveries_of(day)
                if entry.read is False and entry.status is DeliveryStatus.SENT
                and entry.kind in REMINDER_KINDS]

    def record_read(self, entries: Sequence[OutboxEntry]) -> None:
        """What the channel said about who read sent messages (`OutboxEntry.read` set on each),
        in one change. Nothing is committed when there is nothing."""
        if entries:
            self.repo.commit(Change(outbox=list(entries)))

    def forget_deliveries_before(self, day: date) -> int:
        """Drop the outbox entries of days before `day` (the 核账 posts kept by
        `record_posts` with them); returns how many. Nothing is committed when none."""
        cutoff = day.isoformat()
        old = [key for key in self.repo.outbox_keys() if key[:10] < cutoff]
        if old:
            self.repo.commit(Change(outbox_drop=old))
        return len(old)

    def record_bulletin(self, period_code: str, ranks: Mapping[str, int],
                        entry: OutboxEntry) -> None:
        """A 工作通报 of `period_code` sent to one chat (`entry`), and the period's unit ranks
        the first time it goes out (the next period's 进位/退位 compare with them; sends to
        other chats, or on another day, keep the ranks first recorded)."""
        change = Change(outbox=[entry])
        if self.repo.bulletin_ranks(period_code) is None:
            change.bulletin_ranks[period_code] = dict(ranks)
        self.repo.commit(change)

    def note_calendar_warning(self, day: date) -> None:
        """Admins are told on `day` that 调休 data is missing (the warning repeats weekly,
        counted from here: CALENDAR_WARNED)."""
        self.repo.commit(Change(counters={CALENDAR_WARNED: day.toordinal()}))

    def note_summary_sent(self, day: date) -> None:
        """The admins got `day`'s summary (a planner taking over later that day does not
        send it again: SUMMARY_SENT)."""
        self.repo.commit(Change(counters={SUMMARY_SENT: day.toordinal()}))

    def note_chat_moved(self, old: int, new: int) -> None:
        """A group became a supergroup: messages to `old` go to `new` from now on."""
        self.repo.commit(Change(counters={f"{CHAT_MOVED}{old}": new}))

    def note_chat_unreachable(self, chat_id: int) -> None:
        """The chat cannot be reached (the bot was removed, the group closed), from now."""
        since = int(self.clock.now().timestamp())
        self.repo.commit(Change(counters={f"{CHAT_UNREACHABLE}{chat_id}": since}))

    def note_chat_reachable(self, chat_id: int) -> None:
        """A message reached the chat again: its unreachable mark goes."""
        self.repo.commit(Change(counters={f"{CHAT_UNREACHABLE}{chat_id}": 0}))

    def seed_people(self, people: Sequence[Person]) -> None:
        """People put in as given, in one change, without invites or history: the sandbox's
        demo accounts (bot/sandbox/demo.py). In chat, accounts are bound through invites."""
        if people:
            self.repo.commit(Change(people=list(people)))
