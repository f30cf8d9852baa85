"""The Sender port over python-telegram-bot: Telegram errors become the domain's outcomes."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.domain.ports import Buttons, DeliveryFailed, Sender, Unreachable


class TelegramSender(Sender):
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        try:
            message = await self.bot.send_message(chat_id=chat_id, text=text,
                                                  reply_markup=keyboard(buttons))
        except Forbidden as err:  # blocked, or never started the bot
            raise Unreachable(str(err)) from err
        except BadRequest as err:
            if "chat not found" in str(err).lower():
                raise Unreachable(str(err)) from err
            raise DeliveryFailed(str(err)) from err
        except RetryAfter as err:  # still limited after the rate limiter's own retries
            raise DeliveryFailed(str(err)) from err
        except TelegramError as err:  # network errors, timeouts, server trouble
            raise DeliveryFailed(str(err)) from err
        return message.message_id


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in buttons])
