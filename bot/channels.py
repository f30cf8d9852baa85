"""Several channels behind one `Sender`: the router the services get when two channels run.

The application, the alerts and the scheduled jobs send to a chat *number* (bot/domain/
accounts.py): Telegram's ids as they are, other channels' accounts and groups as numbers at or
above `FOREIGN_BASE`. `ChannelRouter` holds each running channel's own sender and hands every
send to the channel the number belongs to (`route`: `is_foreign` → 钉钉, else Telegram), so
nothing above it needs to know which channel a chat is on.

* `channels` is every routed channel: `Services.reminder_address(person, running=…)` picks one
  address among them (one reminder, one channel), and `Services.admin_chats` names the admin
  chats of each.
* `channel` is the first (primary) channel's: what an outbox entry is keyed with when no
  address decided it (an unbound person). The rhythm dispatcher keys each sent reminder with
  the channel of the address it actually used (`channel_of`).
* Read status (`receipt`, `read_by`: 钉钉's 已送达未读) is asked of the chat's channel; a
  channel that cannot tell, or is not running, says None.
* A number whose channel is not running is `DeliveryFailed` (not `Unreachable`: the person is
  not at fault, and marking them unreachable would stop their reminders once that channel
  runs again).

Channel-neutral: it knows channels only by name and senders only by the domain's port.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.domain.accounts import is_foreign
from bot.domain.model import DINGTALK, TELEGRAM
from bot.domain.ports import Buttons, DeliveryFailed, Sender


def default_route(number: int) -> str:
    """The channel a chat number is on: 钉钉 for numbers outside Telegram's range."""
    return DINGTALK if is_foreign(number) else TELEGRAM


class ChannelRouter(Sender):
    """The `Sender` port over several channels' senders (keyed by their `channel`)."""

    def __init__(self, senders: Mapping[str, Sender],
                 route: Callable[[int], str] = default_route) -> None:
        if not senders:
            raise ValueError("a router needs at least one channel")
        self.senders = dict(senders)
        self.route = route
        self.channel = next(iter(self.senders))

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.senders)

    def channel_of(self, chat_id: int) -> str:
        """The channel a chat number is sent on."""
        return self.route(chat_id)

    def sender_for(self, chat_id: int) -> Sender:
        channel = self.route(chat_id)
        sender = self.senders.get(channel)
        if sender is None:
            raise DeliveryFailed(f"chat {chat_id} is on {channel}, which is not running")
        return sender

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        return await self.sender_for(chat_id).send(chat_id, text, buttons)

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        return await self.sender_for(chat_id).send_photo(chat_id, photo, caption)

    async def send_document(self, chat_id: int, filename: str, data: bytes,
                            caption: str = "") -> int:
        return await self.sender_for(chat_id).send_document(chat_id, filename, data, caption)

    async def edit(self, chat_id: int, message_id: int, text: str,
                   buttons: Buttons | None = None) -> bool:
        return await self.sender_for(chat_id).edit(chat_id, message_id, text, buttons)

    def receipt(self, chat_id: int, message_id: int) -> str | None:
        sender = self.senders.get(self.route(chat_id))
        return sender.receipt(chat_id, message_id) if sender is not None else None

    async def read_by(self, chat_id: int, receipt: str) -> set[str] | None:
        """Asked of the chat's channel; None when that channel is not running."""
        sender = self.senders.get(self.route(chat_id))
        return await sender.read_by(chat_id, receipt) if sender is not None else None


def channel_of(sender: Sender, chat_id: int) -> str:
    """The channel a send to `chat_id` goes out on, through any sender (a router asks its
    route; a single channel's sender is its own channel)."""
    if isinstance(sender, ChannelRouter):
        return sender.channel_of(chat_id)
    if len(sender.channels) > 1:
        return default_route(chat_id)
    return sender.channel
