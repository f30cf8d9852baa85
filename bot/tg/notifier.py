"""The one way out to Telegram: every outgoing text goes through `TelegramSender`.

* Long texts are split at Telegram's limits (4,096 for a text, 1,024 for a caption) at line
  breaks, never inside an HTML tag or entity (`html_split`); buttons go under the last part.
* Telegram's errors become the domain's outcomes: `Unreachable` (blocked, never started, kicked
  from the group, no such chat) or `DeliveryFailed` (network, limits, anything else). Callers
  say "已告知" only for what was delivered.
* A group upgraded to a supergroup answers with its new id (`migrate_to_chat_id`): the move is
  stored (`ChatWatch`) and the message goes to the new id, now and from then on.
* A group the bot cannot reach is remembered with the time it was found, so admins' alerts go
  to each admin privately instead, and `check` and the daily summary say so.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.domain.clock import Clock
from bot.domain.ledger import Ledger
from bot.domain.ledger_records import CHAT_MOVED as MOVED
from bot.domain.ledger_records import CHAT_UNREACHABLE as UNREACHABLE
from bot.domain.ports import Buttons, DeliveryFailed, LedgerRepository, Sender, Unreachable
from bot.tg.html_split import CAPTION_LIMIT, clip, split_html

log = logging.getLogger(__name__)

_GONE = ("chat not found", "bot was kicked", "not a member", "have no rights to send",
         "chat_write_forbidden", "group chat was deactivated")


class ChatWatch:
    """What the bot learnt about its groups, kept in the store (counters), written through
    the ledger."""

    def __init__(self, repo: LedgerRepository, clock: Clock,
                 ledger: Ledger | None = None) -> None:
        self.repo = repo  # reads
        self.clock = clock
        self.ledger = ledger or Ledger(repo, clock)

    def resolve(self, chat_id: int) -> int:
        """The chat's current id, following stored moves (a group became a supergroup)."""
        seen = {chat_id}
        while True:
            moved = self.repo.counter(f"{MOVED}{chat_id}")
            if not moved or moved in seen:
                return chat_id
            seen.add(moved)
            chat_id = moved

    def moved(self, old: int, new: int) -> None:
        if old == new or self.repo.counter(f"{MOVED}{old}") == new:
            return
        log.warning("chat %s moved to %s (upgraded to a supergroup); using the new id", old, new)
        self.ledger.note_chat_moved(old, new)

    def unreachable_since(self, chat_id: int) -> datetime | None:
        since = self.repo.counter(f"{UNREACHABLE}{self.resolve(chat_id)}")
        return datetime.fromtimestamp(since, self.clock.now().tzinfo) if since else None

    def unreachable(self, chat_id: int) -> None:
        if chat_id < 0 and not self.repo.counter(f"{UNREACHABLE}{chat_id}"):
            log.warning("group %s cannot be reached", chat_id)
            self.ledger.note_chat_unreachable(chat_id)

    def delivered(self, chat_id: int) -> None:
        if chat_id < 0 and self.repo.counter(f"{UNREACHABLE}{chat_id}"):
            log.info("group %s can be reached again", chat_id)
            self.ledger.note_chat_reachable(chat_id)


class TelegramSender(Sender):
    def __init__(self, bot: Bot, watch: ChatWatch | None = None) -> None:
        self.bot = bot
        self.watch = watch

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        message = await self.send_message(chat_id, text, reply_markup=keyboard(buttons))
        return message.message_id

    async def send_message(self, chat_id: int, text: str, *, reply_markup: Any = None,
                           reply_parameters: Any = None) -> Message:
        """Send `text` (split when long); returns the last part's message. The reply markup
        goes under the last part, the quoted message above the first."""
        parts = split_html(text)
        message: Message | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            message = await self._deliver(
                chat_id, "sendMessage", text=part,
                reply_markup=reply_markup if last else None,
                reply_parameters=reply_parameters if index == 0 else None)
            chat_id = message.chat_id
        assert message is not None
        return message

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        message = await self._deliver(chat_id, "sendPhoto", photo=photo,
                                      caption=clip(caption, CAPTION_LIMIT) if caption else None)
        return message.message_id

    async def send_document(self, chat_id: int, filename: str, data: bytes,
                            caption: str = "") -> int:
        """A file (an exported workbook) with a short caption (clipped when too long)."""
        message = await self._deliver(chat_id, "sendDocument",
                                      document=InputFile(data, filename=filename),
                                      caption=clip(caption, CAPTION_LIMIT) if caption else None)
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str,
                   buttons: Buttons | None = None) -> bool:
        """The Sender port's edit (the first part when long): `edit_at` with the buttons as
        an inline keyboard, none when there are none."""
        return await self.edit_at(chat_id, message_id, text, reply_markup=keyboard(buttons))

    async def edit_at(self, chat_id: int, message_id: int, text: str, *,
                      reply_markup: Any = None) -> bool:
        """Replace the text of a message sent earlier (kept by its ids); without
        `reply_markup` its buttons go. False if Telegram refused (too old, deleted)."""
        if self.watch is not None:
            chat_id = self.watch.resolve(chat_id)
        try:
            await self.bot.edit_message_text(chat_id=chat_id, message_id=message_id,
                                             text=split_html(text)[0], reply_markup=reply_markup)
        except TelegramError as err:
            log.info("could not edit message %s: %s", message_id, err)
            return False
        return True

    async def _deliver(self, chat_id: int, method: str, **params: Any) -> Message:
        if self.watch is not None:
            chat_id = self.watch.resolve(chat_id)
        for _attempt in range(3):  # a group may have moved (twice at most, in practice)
            try:
                if method == "sendPhoto":
                    message = await self.bot.send_photo(chat_id=chat_id, **params)
                elif method == "sendDocument":
                    message = await self.bot.send_document(chat_id=chat_id, **params)
                else:
                    message = await self.bot.send_message(chat_id=chat_id, **params)
            except ChatMigrated as err:
                new_id = int(err.new_chat_id)
                if self.watch is not None:
                    self.watch.moved(chat_id, new_id)
                chat_id = new_id
                continue
            except Forbidden as err:  # blocked, never started, kicked from the group
                self._lost(chat_id)
                raise Unreachable(str(err)) from err
            except BadRequest as err:
                if any(sign in str(err).lower() for sign in _GONE):
                    self._lost(chat_id)
                    raise Unreachable(str(err)) from err
                raise DeliveryFailed(str(err)) from err
            except TelegramError as err:  # network, timeouts, limits after the retries
                raise DeliveryFailed(str(err)) from err
            if self.watch is not None:
                self.watch.delivered(chat_id)
            return message
        raise DeliveryFailed(f"chat {chat_id} keeps moving")

    def _lost(self, chat_id: int) -> None:
        if self.watch is not None:
            self.watch.unreachable(chat_id)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in buttons])
