"""The application's inputs and outputs, channel-neutral.

Inputs: a `Caller` (who), a `Said` (a message: its text, 佐证材料, the bot message it answers,
the actions of the buttons under it) and a `Press` (a button). Outputs: `Reply`, a message as
data — text in Luoshi markup (below), rows of buttons as (label, action data) pairs
(bot/app/actions.py encodes and decodes the data), whether it quotes the message it answers,
whether it asks for an answer by reply, an attachment (a chart, a workbook). A channel renders
it: Telegram as HTML with inline keyboards and ForceReply (bot/tg/conversation.py).

Luoshi markup is the message catalogue's: plain text with user text escaped (`&lt;`, `&amp;`)
and one tag, ``<b>…</b>`` for emphasis (the key fact, a task's 编号). `plain` and `markdown`
render it for channels without HTML; a test keeps the catalogue inside it.

`Conversation` is the port to the chat the input came from: `say` into it, `edit` what was
said there (a confirmation completed with who was told; a decided button's message). The use
cases return the short notice for whoever pressed a button (shown as an alert) instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.domain.accounts import account_number
from bot.domain.model import Address, Evidence
from bot.domain.ports import Buttons

CHANNEL_TELEGRAM = "telegram"


@dataclass(frozen=True)
class Caller:
    """Who is speaking: an account on a channel (not yet a person of the ledger: the
    services map it, `Services.person`).

    `user_id` is the account's number (bot/domain/accounts.py): on Telegram its id itself.
    A channel naming accounts by strings (钉钉: the staffId "manager4220") gives that string
    as `account` and `account_number(Address(channel, account))` as `user_id` — build it
    with `Caller.on(channel, account, …)`, which does both.
    """

    user_id: int
    name: str = ""  # their name on the channel, shown to admins for strangers and 换绑
    handle: str = ""  # their @username, where the channel has one
    channel: str = CHANNEL_TELEGRAM
    account: str = ""  # the channel's own id of the account, when it is not `user_id`

    @classmethod
    def on(cls, channel: str, account: str, name: str = "", handle: str = "") -> Caller:
        """A caller on a channel that names accounts by strings (钉钉's staffId)."""
        address = Address(channel, account)
        return cls(account_number(address), name, handle, channel, account)

    @property
    def address(self) -> Address:
        """The account as an address (channel, the channel's own id)."""
        return Address(self.channel, self.account or str(self.user_id))

    @property
    def label(self) -> str:
        """How the account is shown to admins: name, @handle and id (the channel's own)."""
        shown = self.account or str(self.user_id)
        handle = f" @{self.handle}" if self.handle else ""
        return f"{self.name}{handle}（{shown}）" if self.name else shown


@dataclass(frozen=True)
class Said:
    """A message in a chat, as the application needs it."""

    chat_id: int
    message_id: int
    text: str = ""  # the text or a file's caption
    author_id: int | None = None
    by_bot: bool = False  # sent by this bot
    private: bool = True  # in a one-to-one chat (else a group)
    evidence: tuple[Evidence, ...] = ()  # photos and documents (佐证材料)
    actions: tuple[str, ...] = ()  # the action data of the buttons under it
    reply_to: Said | None = None  # the message it answers

    @property
    def source(self) -> str:
        """Names the message for good (a report made from it keeps this: never twice)."""
        return f"{self.chat_id}:{self.message_id}"


@dataclass(frozen=True)
class Press:
    """A button pressed: the action data is decoded by bot/app/actions.py, never trusted."""

    caller: Caller
    action: str
    press_id: str  # the channel's id of this press
    under: Said | None = None  # the message the button is under

    @property
    def source(self) -> str:
        return f"callback:{self.press_id}"


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: a chart (photo) or a workbook (document)."""

    filename: str
    data: bytes
    kind: Literal["photo", "document"] = "document"


@dataclass(frozen=True)
class Reply:
    """A message as data. `text` is Luoshi markup; the buttons' data is an action."""

    text: str
    buttons: Buttons = ()
    quote: Said | None = None  # shown as the answer to this message
    ask: bool = False  # the answer is expected as a reply to this message (📈, ⏳, ✍️ prompts)
    mention: Caller | None = None  # in a group: who is asked (only they get the reply box)
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Posted:
    """Where a message went: enough to edit it later."""

    chat_id: int
    message_id: int


class Conversation(Protocol):
    """The chat an input came from."""

    async def say(self, reply: Reply) -> Posted | None:
        """Send into the chat (split when long); None when it could not be delivered."""
        ...

    async def edit(self, posted: Posted, reply: Reply) -> bool:
        """Replace what was said (text and buttons); False when the channel refused."""
        ...


def said_rows(rows: Sequence[Sequence[tuple[str, str]]]) -> tuple[str, ...]:
    """The action data of rows of buttons (how a channel fills `Said.actions`)."""
    return tuple(data for row in rows for _label, data in row)


_TAG = re.compile(r"</?b>")


def plain(markup: str) -> str:
    """Luoshi markup as plain text (a button's alert, a channel without formatting)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def markdown(markup: str) -> str:
    """Luoshi markup as Markdown (钉钉, 飞书): emphasis as **…**, text unescaped."""
    return html.unescape(_TAG.sub("**", markup))


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the strictest count among the channels (Telegram's: an
    emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """Plain text cut to at most `limit` UTF-16 code units, ending with `ellipsis` when cut."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ellipsis)
    out: list[str] = []
    used = 0
    for ch in text:
        used += utf16_len(ch)
        if used > budget:
            break
        out.append(ch)
    return "".join(out) + ellipsis
