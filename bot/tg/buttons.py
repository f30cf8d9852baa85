"""Inline buttons on Telegram: the thin edge of bot/app/decisions.py.

A callback query is parsed into a `Press` (who pressed, the action data, the message it is
under with the message that one answers), the use case acts in the query's conversation
(editing the pressed message, asking, confirming), and the query is answered with the notice
it returns: plain text, at most 200 characters (Telegram's limit), shown as an alert.
"""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.error import TelegramError

from bot.app.decisions import decide
from bot.tg.context import LuoshiContext
from bot.tg.conversation import TelegramConversation, press_of

log = logging.getLogger(__name__)


async def on_button(update: Update, context: LuoshiContext) -> None:
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    notice = await decide(context.services, TelegramConversation.of(update, context),
                          press_of(query, context.bot.id))
    try:
        if notice:
            await query.answer(_plain(notice), show_alert=True)
        else:
            await query.answer()
    except TelegramError as err:  # a query answered late or twice: nothing to do
        log.info("callback answer failed: %s", err)


def _plain(text: str) -> str:
    """Alerts are plain text, at most 200 characters."""
    return re.sub(r"<[^>]+>", "", text)[:200]
