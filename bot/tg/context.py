"""A typed CallbackContext that hands the services to handlers (no raw bot_data lookups)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock
from bot.domain.ledger import Ledger
from bot.domain.model import Person
from bot.domain.warning import LightBoard
from bot.messages import Messages

SERVICES_KEY = "luoshi.services"


@dataclass
class Services:
    """Everything a handler may use, built once by the composition root."""

    config: Config
    ledger: Ledger
    messages: Messages
    clock: Clock
    calendar: WorkCalendar
    lights: LightBoard
    snapshot: Callable[[], Any] | None = None  # async callable: make a store snapshot
    close: Callable[[], None] | None = None  # release the store on shutdown
    dispatcher: Any = None  # jobs.dispatch.RhythmDispatcher, built once the bot exists
    extra: dict[str, Any] = field(default_factory=dict)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.access.admins

    def admin_chats(self) -> list[int]:
        """Where admins are told things: the admin group if there is one, else each admin."""
        group = self.config.chats.admin_group
        return [group] if group else sorted(self.config.access.admins)

    def person(self, user_id: int | None) -> Person | None:
        return self.ledger.person_for_user(user_id) if user_id is not None else None


class LuoshiContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any],
                                    dict[Any, Any]]):
    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]


def attach_services(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    app.bot_data[SERVICES_KEY] = services
