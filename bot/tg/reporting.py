"""Officials' reports and the admins' 核账 commands, on Telegram: the thin edge of
bot/app/reports.py and bot/app/review.py.

Each handler parses the update into the application's inputs (`Caller`, `Said` with the bot
message it answers) and runs the use case in the update's conversation, guarded (a domain
error answered with what to do, a failed write with "please resend"). The inline buttons are
in `buttons`; what a report does, and who may make it, is decided in bot/app/ alone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.app import dialogue, reports, review
from bot.app.conversation import Caller, Conversation, Said
from bot.services import Services
from bot.tg.context import LuoshiContext, services_of
from bot.tg.conversation import TelegramConversation, caller_of, run, said_of

log = logging.getLogger(__name__)


def _inputs(update: Update, context: LuoshiContext) -> tuple[Caller, Said] | None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return None
    return caller_of(user), said_of(message, context.bot.id)


# ---- messages ----


async def on_reply(update: Update, context: LuoshiContext) -> None:
    """A reply to one of the bot's messages: a reminder, a task message or a prompt."""
    inputs = _inputs(update, context)
    if inputs is None:
        return
    caller, said = inputs
    await run(update, context, lambda conversation: reports.on_reply(
        context.services, conversation, caller, said))


async def on_plain(update: Update, context: LuoshiContext) -> None:
    """A message that is not a reply (in a private chat: groups count replies only)."""
    if update.effective_chat is None:
        return
    inputs = _inputs(update, context)
    if inputs is None:
        return
    caller, said = inputs
    await run(update, context, lambda conversation: reports.on_plain(
        context.services, conversation, caller, said))


async def reanswer(app: Any, update: Update) -> None:
    """A report applied just before a crash, never answered: answer it now (the intake calls
    this at start-up instead of handling the update again; bot/app/reports.py `reanswer`)."""
    services = services_of(app)
    query = update.callback_query
    message = update.effective_message
    chat = update.effective_chat
    chat_id = chat.id if chat is not None else query.from_user.id if query is not None else None
    conversation = TelegramConversation(services, chat_id)
    if query is not None:
        source, quote = f"callback:{query.id}", None
    elif message is not None:
        user = message.from_user
        if user is not None and await dialogue.reask(
                services, caller_of(user), said_of(message, _bot_id(app)), conversation):
            return  # a step of the guided /add: its question asked
        if user is not None and await reports.resume(
                services, conversation, caller_of(user), said_of(message, _bot_id(app))):
            return  # a report (its parts answered again, those not yet recorded applied)
        quote = said_of(message, None)
        source = quote.source
    else:
        return
    await reports.reanswer(services, conversation, source, quote)


def _bot_id(app: Any) -> int | None:
    """The bot's own id, once the Application is initialised (it knows itself by getMe)."""
    try:
        return int(app.bot.id)
    except RuntimeError:
        return None


# ---- admin commands ----

# One of bot/app/review.py's commands.
Command = Callable[[Services, Conversation, Caller, Said], Awaitable[None]]


async def _command(update: Update, context: LuoshiContext, command: Command) -> None:
    inputs = _inputs(update, context)
    if inputs is None:
        return
    caller, said = inputs
    await run(update, context, lambda conversation: command(
        context.services, conversation, caller, said))


async def verify_command(update: Update, context: LuoshiContext) -> None:
    await _command(update, context, review.verify)


async def reject_command(update: Update, context: LuoshiContext) -> None:
    await _command(update, context, review.reject)


async def reopen_command(update: Update, context: LuoshiContext) -> None:
    await _command(update, context, review.reopen)


async def resolve_command(update: Update, context: LuoshiContext) -> None:
    await _command(update, context, review.resolve)


async def extend_command(update: Update, context: LuoshiContext) -> None:
    await _command(update, context, review.extend)
