"""Telegram at the application's edge: an Update parsed into the application's inputs
(`Caller`, `Said`, `Press`), and `Reply` rendered as Telegram messages (HTML, inline keyboards,
ForceReply, quotes) through the one sender.

Handlers (bot/tg/handlers.py and the others) are thin: parse, call the use case in bot/app/,
and let `TelegramConversation` deliver what it says.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import (
    CallbackQuery,
    ForceReply,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatType

from bot.app.common import guarded
from bot.app.conversation import Caller, Posted, Press, Reply, Said
from bot.domain.model import Evidence
from bot.domain.ports import DeliveryFailed, Unreachable
from bot.messages import esc
from bot.services import Services
from bot.tg.context import LuoshiContext, telegram_sender
from bot.tg.notifier import keyboard

log = logging.getLogger(__name__)

T = TypeVar("T")


def caller_of(user: User) -> Caller:
    return Caller(user.id, user.full_name, user.username or "")


def evidence_of(message: Message) -> tuple[Evidence, ...]:
    """Photos and documents are kept as 佐证材料 (the largest photo size)."""
    if message.photo:
        return (Evidence("photo", message.photo[-1].file_id),)
    if message.document:
        return (Evidence("document", message.document.file_id,
                         message.document.file_name or ""),)
    return ()


def said_of(message: Message, bot_id: int | None, *, depth: int = 1) -> Said:
    """A Telegram message as the application sees it (with the message it answers, one level
    deep: Telegram gives no more)."""
    author = message.from_user
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup is not None else ()
    replied = message.reply_to_message
    return Said(
        chat_id=message.chat_id, message_id=message.message_id,
        text=message.text or message.caption or "",
        author_id=author.id if author is not None else None,
        by_bot=author is not None and bot_id is not None and author.id == bot_id,
        private=message.chat.type == ChatType.PRIVATE,
        evidence=evidence_of(message),
        actions=tuple(button.callback_data for row in rows for button in row
                      if isinstance(button.callback_data, str)),
        reply_to=said_of(replied, bot_id, depth=depth - 1)
        if replied is not None and depth > 0 else None)


def press_of(query: CallbackQuery, bot_id: int | None) -> Press:
    message = query.message if isinstance(query.message, Message) else None
    return Press(caller_of(query.from_user), query.data or "", query.id,
                 said_of(message, bot_id) if message is not None else None)


class TelegramConversation:
    """The chat an update came from, as the application's `Conversation`."""

    def __init__(self, services: Services, chat_id: int | None) -> None:
        self.services = services
        self.chat_id = chat_id

    @classmethod
    def of(cls, update: Update, context: LuoshiContext) -> TelegramConversation:
        chat = update.effective_chat
        if chat is None and update.callback_query is not None:
            chat_id: int | None = update.callback_query.from_user.id
        else:
            chat_id = chat.id if chat is not None else None
        return cls(context.services, chat_id)

    async def say(self, reply: Reply) -> Posted | None:
        sender = telegram_sender(self.services)
        if self.chat_id is None or sender is None:
            return None
        try:
            if reply.attachment is not None:
                return await self._attach(reply)
            message = await sender.send_message(
                self.chat_id, render(reply), reply_markup=markup_of(reply),
                reply_parameters=quote_of(reply))
        except (Unreachable, DeliveryFailed) as err:
            log.warning("could not answer in chat %s: %s", self.chat_id, err)
            return None
        return Posted(message.chat_id, message.message_id)

    async def _attach(self, reply: Reply) -> Posted:
        sender = telegram_sender(self.services)
        attachment = reply.attachment
        assert sender is not None and attachment is not None and self.chat_id is not None
        if attachment.kind == "photo":
            message_id = await sender.send_photo(self.chat_id, attachment.data, reply.text)
            return Posted(self.chat_id, message_id)
        message_id = await sender.send_document(self.chat_id, attachment.filename,
                                                attachment.data, render(reply))
        return Posted(self.chat_id, message_id)

    async def edit(self, posted: Posted, reply: Reply) -> bool:
        sender = telegram_sender(self.services)
        if sender is None:
            return False
        return await sender.edit_at(posted.chat_id, posted.message_id, render(reply),
                                    reply_markup=keyboard(reply.buttons) if reply.buttons
                                    else None)


def render(reply: Reply) -> str:
    """The text as Telegram HTML: Luoshi markup is already a subset of it. In a group, a
    question names who must answer (a selective ForceReply opens the reply box only for the
    users mentioned): at the end, where the prompt's leading emoji still tells it apart."""
    text = reply.text
    if reply.ask and reply.mention is not None:
        caller = reply.mention
        text = f'{text} <a href="tg://user?id={caller.user_id}">{esc(caller.name)}</a>'
    return text


def markup_of(reply: Reply) -> Any:
    if reply.ask:
        return ForceReply(selective=True)
    return keyboard(reply.buttons) if reply.buttons else None


def quote_of(reply: Reply) -> ReplyParameters | None:
    said = reply.quote
    if said is None:
        return None
    return ReplyParameters(message_id=said.message_id, chat_id=said.chat_id,
                           allow_sending_without_reply=True)


async def run(update: Update, context: LuoshiContext,
              use_case: Callable[[TelegramConversation], Awaitable[T]]) -> T | None:
    """Call a use case with this update's conversation, guarded (bot/app/common.py)."""
    conversation = TelegramConversation.of(update, context)
    return await guarded(context.services, conversation, lambda: use_case(conversation))
