"""Account numbers: every caller and chat, on any channel, as one int.

The application knows people and chats by an int (`Caller.user_id`, `Said.chat_id`, the
Sender's `chat_id`): Telegram's own ids — users positive, groups negative, all below 2**53.
Other channels name accounts and chats by strings (钉钉: a staffId "manager4220", an
openConversationId "cidAbC…"). Each maps to a stable number outside Telegram's range, derived
from the string itself (SHA-256): nothing is stored, every process and every restart agrees,
and the reverse is found where it is needed (the person's `accounts`, the config's chats). With
50,000 officials the chance of two sharing a number is below one in a billion.
"""

from __future__ import annotations

import hashlib

from bot.domain.model import TELEGRAM, Address

FOREIGN_BASE = 1 << 53  # above every Telegram id (they fit in 52 bits)
_SPAN = 1 << 52


def _digest(address: Address) -> int:
    raw = hashlib.sha256(f"{address.channel}\x00{address.id}".encode()).digest()
    return int.from_bytes(raw[:8], "big") % _SPAN


def account_number(address: Address) -> int:
    """A person's account as the application's int: Telegram's id itself, else a number at
    or above FOREIGN_BASE."""
    if address.channel == TELEGRAM:
        return int(address.id)
    return FOREIGN_BASE + _digest(address)


def group_number(address: Address) -> int:
    """A group chat as the application's int: Telegram's (negative) id itself, else a negative
    number below -FOREIGN_BASE."""
    if address.channel == TELEGRAM:
        return int(address.id)
    return -(FOREIGN_BASE + _digest(address))


def is_foreign(number: int) -> bool:
    """Whether an account or chat number belongs to a channel other than Telegram."""
    return abs(number) >= FOREIGN_BASE
