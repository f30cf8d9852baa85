"""Telling people things, and knowing whether they were told.

`deliver(services, chat, message)` is the one way a message (bot/app/conversation.py `Reply`)
goes to anyone other than the caller: it returns `Delivered`, `Unreachable` (blocked, never
started, removed from the group: telling them again will not help) or `Failed` (for now: the
network, the channel's trouble) — values, not exceptions, so every caller decides what the
outcome means. The functions below return whether a message was delivered, so a
confirmation can name who was actually reached ("已告知督查室；责任领导暂无法送达，已请督查室
转告") instead of promising it. Channel-neutral: only the services' `Sender` port is used, and
a person is reached at their address on the sender's channel (`Person.address_on`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app.conversation import Reply
from bot.domain.accounts import account_number
from bot.domain.ports import Buttons, DeliveryFailed
from bot.domain.ports import Unreachable as UnreachableError
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Unreachable:
    """The recipient cannot be messaged (blocked the bot, never started it, removed it)."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """Not delivered for now (after the sender's own retries)."""

    reason: str


Delivery = Delivered | Unreachable | Failed


async def deliver(services: Services, chat_id: int, message: Reply) -> Delivery:
    """Send `message` to a chat (a person's or a group's) through the services' sender."""
    sender = services.sender
    if sender is None:
        return Failed("no channel is connected")
    attachment = message.attachment
    try:
        if attachment is None:
            message_id = await sender.send(chat_id, message.text, message.buttons or None)
        elif attachment.kind == "photo":
            message_id = await sender.send_photo(chat_id, attachment.data, message.text)
        else:
            message_id = await sender.send_document(chat_id, attachment.filename,
                                                    attachment.data, message.text)
    except UnreachableError as err:
        return Unreachable(str(err))
    except DeliveryFailed as err:
        return Failed(str(err))
    return Delivered(chat_id, message_id)


async def notify_admins(services: Services, text: str, buttons: Buttons | None = None) -> bool:
    """To the admin group; when there is none, or it cannot be reached (the bot was removed,
    or it is gone), to every admin privately. True if at least one admin chat got it."""
    return bool(await notify_admins_at(services, text, buttons))


async def notify_admins_at(services: Services, text: str,
                           buttons: Buttons | None = None) -> list[tuple[int, int]]:
    """As notify_admins; returns (chat id, message id) of every message delivered, so that a
    message with buttons can be edited when what it asks about changes."""
    message = Reply(text, buttons=buttons or ())
    reached: list[tuple[int, int]] = []
    # Each running channel's admin group, else (none, or it cannot be reached) its admins
    # privately (Services.admin_targets).
    for group, privates in services.admin_targets():
        if group is not None:
            outcome = await deliver(services, group, message)
            if isinstance(outcome, Delivered):
                reached.append((outcome.chat_id, outcome.message_id))
                continue
            # Unreachable: the sender has marked the group. Either way: admins privately.
            log.warning("admin group %s not reached (%s); telling admins privately", group,
                        outcome)
        for admin_id in privates:
            outcome = await deliver(services, admin_id, message)
            if isinstance(outcome, Delivered):
                reached.append((outcome.chat_id, outcome.message_id))
            else:
                log.warning("admin %s not reached: %s", admin_id, outcome)
    return reached


async def notify_person(services: Services, name: str, text: str,
                        buttons: Buttons | None = None) -> bool:
    """To a person of the ledger by name, at one of their addresses on the sender's channels;
    False when they have none (not bound) or cannot be reached."""
    person = services.ledger.repo.get_person(name)
    sender = services.sender
    if person is None or sender is None:
        return False
    # One address on the channels the sender reaches: [channels] prefer, else the one they
    # last used (bot/domain/model.py channel_for).
    address = services.reminder_address(person, running=sender.channels)
    if address is None:
        return False
    return await notify_chat(services, account_number(address), text, buttons)


async def notify_chat(services: Services, chat_id: int, text: str,
                      buttons: Buttons | None = None) -> bool:
    outcome = await deliver(services, chat_id, Reply(text, buttons=buttons or ()))
    if not isinstance(outcome, Delivered):
        log.warning("chat %s not reached: %s", chat_id, outcome)
        return False
    return True
