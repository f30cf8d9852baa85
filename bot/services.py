"""The service container: everything handlers and scheduled jobs may use, channel-neutral.

Built once by the composition root (bot/runtime.py `build_services`); the Telegram adapter
fills in its ports (`sender`, `watch`) and the dispatcher once the bot exists
(bot/tg/app.py). Nothing here knows Telegram: the scheduled jobs (jobs/) run on it alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock
from bot.domain.ledger import Ledger
from bot.domain.model import Person
from bot.domain.ports import Sender
from bot.domain.warning import LightBoard
from bot.messages import Messages

if TYPE_CHECKING:
    from bot.adapters.inbox import StoreInbox
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
    """Everything a handler or a job may use, built once by the composition root."""

    config: Config
    ledger: Ledger
    messages: Messages
    clock: Clock
    calendar: WorkCalendar
    lights: LightBoard
    snapshot: Callable[[], Any] | None = None  # async callable: make a store snapshot
    close: Callable[[], None] | None = None  # release the store on shutdown
    dispatcher: RhythmDispatcher | None = None  # jobs/dispatch.py, built once the bot exists
    inbox: StoreInbox | None = None  # incoming updates (bot/adapters/inbox.py)
    sender: Sender | None = None  # the one way out (bot/tg/notifier.py TelegramSender)
    watch: ChatWatchPort | None = None  # moved and unreachable groups
    extra: dict[str, Any] = field(default_factory=dict)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.access.admins

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

    def admin_chats(self) -> list[int]:
        """Where admins are told things: the admin group if there is one and it can be
        reached, else each admin privately."""
        group = self.admin_group()
        if group and self.admin_group_lost_since() is None:
            return [group]
        return sorted(self.config.access.admins)

    def background(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
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
        """The dispatcher; it exists once the composition root has built the sender."""
        if self.dispatcher is None:
            raise RuntimeError("the dispatcher is built with the sender (bot/tg/app.py)")
        return self.dispatcher
