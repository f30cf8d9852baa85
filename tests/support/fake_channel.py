"""A channel for application-level tests, in memory: the services' `Sender` port (what others
are told) and a `Conversation` (what the caller is answered). Nothing is Telegram: the use
cases in bot/app/ run on these exactly as on a real channel (the model is httpx's
MockTransport)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from bot.app.conversation import Posted, Reply, plain
from bot.domain.ports import Buttons, DeliveryFailed, Sender, Unreachable


@dataclass
class Sent:
    chat_id: int
    text: str
    buttons: Buttons | None = None
    message_id: int = 0
    photo: bytes | None = None

    @property
    def plain(self) -> str:
        return plain(self.text)


@dataclass
class FakeSender(Sender):
    """Records what was sent to whom, and edits (in place in `sent`, and in `edits`). Chats
    in `unreachable` raise Unreachable (blocked, never started); chats in `failing` raise
    DeliveryFailed (the network)."""

    sent: list[Sent] = field(default_factory=list)
    edits: list[Sent] = field(default_factory=list)  # every edit, in order (as sent)
    unreachable: set[int] = field(default_factory=set)
    failing: set[int] = field(default_factory=set)
    # Read status, as a channel that can tell (钉钉): with `receipts`, each message's receipt
    # is "r<message id>" and `read_by` answers from `readers` (receipt → account ids; none
    # yet: nobody read it); chats in `read_unknown` answer None (the channel cannot say).
    receipts: bool = False
    readers: dict[str, set[str]] = field(default_factory=dict)
    read_unknown: set[int] = field(default_factory=set)
    asked: list[tuple[int, str]] = field(default_factory=list)  # every read_by question
    _ids: count[int] = field(default_factory=lambda: count(100))

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        self._check(chat_id)
        message = Sent(chat_id, text, buttons, next(self._ids))
        self.sent.append(message)
        return message.message_id

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        self._check(chat_id)
        message = Sent(chat_id, caption, None, next(self._ids), photo)
        self.sent.append(message)
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str,
                   buttons: Buttons | None = None) -> bool:
        """Replaces the recorded message's text and buttons, as a channel shows it; False
        for a message it never sent (too old, gone)."""
        for message in self.sent:
            if message.chat_id == chat_id and message.message_id == message_id:
                self.edits.append(Sent(chat_id, text, buttons, message_id))
                message.text, message.buttons = text, buttons
                return True
        return False

    def receipt(self, chat_id: int, message_id: int) -> str | None:
        return f"r{message_id}" if self.receipts else None

    async def read_by(self, chat_id: int, receipt: str) -> set[str] | None:
        self.asked.append((chat_id, receipt))
        if not self.receipts or chat_id in self.read_unknown:
            return None
        return set(self.readers.get(receipt, set()))

    def mark_read(self, receipt: str, account: str) -> None:
        """`account` opens the message kept as `receipt`."""
        self.readers.setdefault(receipt, set()).add(account)

    def _check(self, chat_id: int) -> None:
        if chat_id in self.unreachable:
            raise Unreachable(f"chat {chat_id} blocked the bot")
        if chat_id in self.failing:
            raise DeliveryFailed(f"chat {chat_id}: network down")

    def to(self, chat_id: int) -> list[str]:
        """The plain texts sent to one chat, in order."""
        return [m.plain for m in self.sent if m.chat_id == chat_id]


@dataclass
class RecordingConversation:
    """The caller's chat: every Reply said, and every edit, kept in order."""

    chat_id: int = 1
    said: list[Reply] = field(default_factory=list)
    edits: list[tuple[Posted, Reply]] = field(default_factory=list)
    refuse_edits: bool = False
    _ids: count[int] = field(default_factory=lambda: count(1))

    async def say(self, reply: Reply) -> Posted | None:
        self.said.append(reply)
        return Posted(self.chat_id, next(self._ids))

    async def edit(self, posted: Posted, reply: Reply) -> bool:
        if self.refuse_edits:
            return False
        self.edits.append((posted, reply))
        return True

    @property
    def texts(self) -> list[str]:
        """Plain texts said, with edits applied in place."""
        texts = [plain(r.text) for r in self.said]
        for posted, reply in self.edits:
            if 1 <= posted.message_id <= len(texts):
                texts[posted.message_id - 1] = plain(reply.text)
        return texts

    @property
    def last(self) -> str:
        return self.texts[-1] if self.texts else ""
