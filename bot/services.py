"""The service container: everything handlers and scheduled jobs may use, channel-neutral.

Built once by the composition root (bot/bootstrap.py `bootstrap`), the rhythm dispatcher and
the scheduled jobs' hooks included; the Telegram adapter connects its ports (`sender`,
`watch`) once the bot exists (bot/tg/app.py). Nothing here knows Telegram: the scheduled jobs
(jobs/) run on it alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Config
from bot.domain.accounts import account_number, group_number, is_foreign
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock
from bot.domain.dialogues import DialogueStore
from bot.domain.ledger import Ledger
from bot.domain.model import DINGTALK, TELEGRAM, Address, Person, channel_for
from bot.domain.ports import Sender
from bot.domain.warning import LightBoard
from bot.messages import Messages

if TYPE_CHECKING:
    from bot.adapters.inbox import StoreInbox
    from bot.bootstrap import ScheduledJobs
    from jobs.dispatch import RhythmDispatcher

log = logging.getLogger(__name__)


class ChatWatchPort(Protocol):
    """What is known about the bot's groups: moved ids and lost ones
    (bot/tg/notifier.py `ChatWatch` keeps it in the store)."""

    def resolve(self, chat_id: int) -> int:
        """The chat's current id (a group may have become a supergroup)."""
        ...

    def unreachable_since(self, chat_id: int) -> datetime | None:
        """When the chat was found unreachable, if it is."""
        ...


@dataclass
class Services:
    """Everything a handler or a job may use, built once by the composition root
    (bot/bootstrap.py, which also sets `dispatcher` and `jobs`)."""

    config: Config
    ledger: Ledger
    messages: Messages
    clock: Clock
    calendar: WorkCalendar
    lights: LightBoard
    snapshot: Callable[[], Awaitable[None]] | None = None  # make a store snapshot when due
    close: Callable[[], None] | None = None  # release the store on shutdown
    inbox: StoreInbox | None = None  # incoming updates (bot/adapters/inbox.py)
    sender: Sender | None = None  # the one way out (bot/tg/notifier.py TelegramSender)
    watch: ChatWatchPort | None = None  # moved and unreachable groups
    # When (time.monotonic) admins were last told that the store cannot write (a full disk).
    store_alert_at: float | None = None
    dispatcher: RhythmDispatcher = field(init=False, repr=False)  # jobs/dispatch.py
    # The config's own accounts and chats on other channels (钉钉 admins, groups), by number;
    # computed once per config.
    _configured: tuple[Config, dict[int, Address]] | None = field(
        default=None, init=False, repr=False)
    jobs: ScheduledJobs = field(init=False, repr=False)  # the scheduler hooks
    # What people are in the middle of saying (the guided /add, /import's file), kept in the
    # store so that any worker may take the next message (bot/domain/dialogues.py).
    dialogues: DialogueStore = field(init=False, repr=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def connect(self, sender: Sender, watch: ChatWatchPort | None = None) -> None:
        """The channel's ports, once it exists (bot/tg/app.py): handlers, alerts, jobs and
        the rhythm dispatcher all send through `sender` — with two channels running, a
        `ChannelRouter` over both (bot/channels.py), which sends each chat number on its own
        channel."""
        self.sender, self.watch = sender, watch
        self.dispatcher.sender = sender

    def is_admin(self, user_id: int | None) -> bool:
        """An admin: a Telegram id of [access] admins, or the account number of one of
        [access] dingtalk_admins (bot/domain/accounts.py)."""
        if user_id is None:
            return False
        if not is_foreign(user_id):
            return user_id in self.config.access.admins
        found = self._configured_numbers().get(user_id)
        return found is not None and found.channel == DINGTALK \
            and found.id in self.config.access.dingtalk_admins

    def admin_accounts(self) -> list[Address]:
        """Every admin's account: Telegram's ids, then 钉钉 userids (each sorted)."""
        return [*(Address(TELEGRAM, str(i)) for i in sorted(self.config.access.admins)),
                *(Address(DINGTALK, u) for u in sorted(self.config.access.dingtalk_admins))]

    def admin_group_numbers(self) -> dict[str, int]:
        """The admin group of each channel that has one, as chat numbers: Telegram's current
        id (it may have become a supergroup), 钉钉's openConversationId as
        `group_number(Address("dingtalk", cid))`."""
        groups: dict[str, int] = {}
        telegram = self.admin_group()
        if telegram is not None:
            groups[TELEGRAM] = telegram
        if self.config.dingtalk.admin_group:
            groups[DINGTALK] = group_number(Address(DINGTALK, self.config.dingtalk.admin_group))
        return groups

    def work_group_numbers(self) -> dict[str, int]:
        """The work group of each channel that has one, as chat numbers."""
        groups: dict[str, int] = {}
        telegram = self.config.chats.work_group
        if telegram:
            groups[TELEGRAM] = self.watch.resolve(telegram) if self.watch else telegram
        if self.config.dingtalk.work_group:
            groups[DINGTALK] = group_number(Address(DINGTALK, self.config.dingtalk.work_group))
        return groups

    def address_of(self, number: int) -> Address | None:
        """The account or chat behind a number (how a channel's sender finds the 钉钉 userid
        or openConversationId to send to): Telegram's numbers are their ids; other channels'
        are the config's admins and groups and the people's accounts. None: not known."""
        if not is_foreign(number):
            return Address(TELEGRAM, str(number))
        configured = self._configured_numbers().get(number)
        if configured is not None:
            return configured
        owner = self.ledger.account_owner(number)
        return owner[1] if owner is not None else None

    def reminder_address(self, person: Person,
                         running: tuple[str, ...] | None = None) -> Address | None:
        """Where one reminder to `person` goes: one address on the channels `running`
        ([channels] prefer, else the channel they last used; bot/domain/model.py
        `channel_for`)."""
        return channel_for(person, self.config.channels.prefer, running=running)

    def _configured_numbers(self) -> dict[int, Address]:
        cached = self._configured
        if cached is not None and cached[0] is self.config:
            return cached[1]
        numbers: dict[int, Address] = {}
        for userid in self.config.access.dingtalk_admins:
            address = Address(DINGTALK, userid)
            numbers[account_number(address)] = address
        for cid in (self.config.dingtalk.admin_group, self.config.dingtalk.work_group):
            if cid:
                numbers[group_number(Address(DINGTALK, cid))] = Address(DINGTALK, cid)
        self._configured = (self.config, numbers)
        return numbers

    def is_known(self, user_id: int) -> bool:
        """An admin or a bound official (anyone else is a stranger to the intake)."""
        return self.is_admin(user_id) or self.person(user_id) is not None

    def admin_group(self) -> int | None:
        """The admin group's current id (it may have become a supergroup), if configured."""
        group = self.config.chats.admin_group
        if not group:
            return None
        return self.watch.resolve(group) if self.watch is not None else group

    def admin_group_lost_since(self) -> datetime | None:
        """When the admin group was found unreachable (the bot removed from it), if it is."""
        group = self.admin_group()
        if group is None or self.watch is None:
            return None
        return self.watch.unreachable_since(group)

    def running_channels(self) -> tuple[str, ...]:
        """The channels the connected sender reaches (Telegram's alone before one is)."""
        return self.sender.channels if self.sender is not None else (TELEGRAM,)

    def admin_targets(self) -> list[tuple[int | None, list[int]]]:
        """Per running channel, where its admins are told: (the admin group's number, or None
        when that channel has none or it was found unreachable; the admins' own chats on that
        channel, the fallback)."""
        targets: list[tuple[int | None, list[int]]] = []
        running = self.running_channels()
        if TELEGRAM in running:
            group = self.admin_group()
            reachable = group if group and self.admin_group_lost_since() is None else None
            targets.append((reachable, sorted(self.config.access.admins)))
        if DINGTALK in running:
            groups = self.admin_group_numbers()
            number = groups.get(DINGTALK)
            if number is not None and self.watch is not None \
                    and self.watch.unreachable_since(number) is not None:
                number = None
            privates = [account_number(Address(DINGTALK, u))
                        for u in sorted(self.config.access.dingtalk_admins)]
            targets.append((number, privates))
        return targets

    def admin_chats(self) -> list[int]:
        """Where admins are told things, on every running channel: that channel's admin group
        if there is one and it can be reached, else its admins privately."""
        chats: list[int] = []
        for group, privates in self.admin_targets():
            chats += [group] if group is not None else privates
        return chats

    def background(self, work: Coroutine[Any, Any, object], name: str) -> asyncio.Task[None]:
        """Run long work (a dispatch, an import, a bulletin) outside the update's lane: the
        chat is free at once and the work reports back itself. Its commits are not the
        update's (the receipt is cleared)."""
        from bot.adapters.inbox import applying

        async def run() -> None:
            applying.set(None)
            try:
                await work
            except Exception:
                log.exception("background work %s failed", name)

        task = asyncio.create_task(run(), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def background_idle(self) -> None:
        """Wait for background work to finish (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def person(self, user_id: int | None) -> Person | None:
        return self.ledger.person_for_user(user_id) if user_id is not None else None

    def rhythm(self) -> RhythmDispatcher:
        """The rhythm dispatcher (it sends once a channel is connected)."""
        return self.dispatcher
