"""A typed CallbackContext that hands the services to handlers (no raw bot_data lookups).

`Services` itself is channel-neutral (bot/services.py); it is re-exported here for the
handlers. Its ports are typed as ports; the Telegram-only parts of the concrete sender and
chat watch are reached through `telegram_sender` and `chat_watch`. Dialogue state is not
kept in python-telegram-bot's user_data or chat_data (one process's memory) but in the
services' dialogue store (bot/app/dialogue.py), so any worker can take the next message.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.channels import ChannelRouter
from bot.domain.model import TELEGRAM
from bot.services import Services
from bot.tg.notifier import ChatWatch, TelegramSender

__all__ = ["SERVICES_KEY", "LuoshiContext", "Services", "attach_services", "chat_watch",
           "services_of", "telegram_sender"]

SERVICES_KEY = "luoshi.services"


def telegram_sender(services: Services) -> TelegramSender | None:
    """The sender as the Telegram adapter built it (replies, ForceReply, edits) — the
    services' own, or Telegram's behind the channel router when 钉钉 runs beside it."""
    sender = services.sender
    if isinstance(sender, ChannelRouter):
        sender = sender.senders.get(TELEGRAM)
    if sender is None or isinstance(sender, TelegramSender):
        return sender
    raise TypeError(f"the Telegram handlers need a TelegramSender, not {type(sender).__name__}")


def chat_watch(services: Services) -> ChatWatch | None:
    """The chat watch as the Telegram adapter built it (it records moved groups)."""
    watch = services.watch
    if watch is None or isinstance(watch, ChatWatch):
        return watch
    raise TypeError(f"the Telegram handlers need a ChatWatch, not {type(watch).__name__}")


class LuoshiContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any],
                                    dict[Any, Any]]):
    @property
    def services(self) -> Services:
        return services_of(self.application)


def attach_services(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    app.bot_data[SERVICES_KEY] = services


def services_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services `attach_services` put on the Application (the one place they are read
    from bot_data)."""
    services = app.bot_data.get(SERVICES_KEY)
    if not isinstance(services, Services):
        raise RuntimeError("the Application has no services (bot/tg/app.py build_application)")
    return services
