"""Telling people things, and knowing whether they were told.

Every function here returns whether the message was delivered, so a confirmation can name who
was actually reached ("已告知督查室；责任领导暂无法送达，已请督查室转告") instead of promising it.
Channel-neutral: only the services' `Sender` port is used.
"""

from __future__ import annotations

import logging

from bot.domain.ports import Buttons, DeliveryFailed, Unreachable
from bot.services import Services

log = logging.getLogger(__name__)


async def notify_admins(services: Services, text: str, buttons: Buttons | None = None) -> bool:
    """To the admin group; when there is none, or it cannot be reached (the bot was removed,
    or it is gone), to every admin privately. True if at least one admin chat got it."""
    return bool(await notify_admins_at(services, text, buttons))


async def notify_admins_at(services: Services, text: str,
                           buttons: Buttons | None = None) -> list[tuple[int, int]]:
    """As notify_admins; returns (chat id, message id) of every message delivered, so that a
    message with buttons can be edited when what it asks about changes."""
    sender = services.sender
    assert sender is not None
    group = services.admin_group()
    if group and services.admin_group_lost_since() is None:
        try:
            return [(group, await sender.send(group, text, buttons))]
        except Unreachable as err:  # the sender has marked the group: admins privately
            log.warning("admin group %s cannot be reached (%s); telling admins privately",
                        group, err)
        except DeliveryFailed as err:
            log.warning("admin group %s not reached (%s); telling admins privately", group, err)
    reached: list[tuple[int, int]] = []
    for admin_id in sorted(services.config.access.admins):
        try:
            reached.append((admin_id, await sender.send(admin_id, text, buttons)))
        except (Unreachable, DeliveryFailed) as err:
            log.warning("admin %s not reached: %s", admin_id, err)
    return reached


async def notify_person(services: Services, name: str, text: str,
                        buttons: Buttons | None = None) -> bool:
    """To a person of the ledger by name; False when they are not bound or cannot be reached."""
    person = services.ledger.repo.get_person(name)
    if person is None or not person.user_id:
        return False
    return await notify_chat(services, person.user_id, text, buttons)


async def notify_chat(services: Services, chat_id: int, text: str,
                      buttons: Buttons | None = None) -> bool:
    sender = services.sender
    assert sender is not None
    try:
        await sender.send(chat_id, text, buttons)
    except (Unreachable, DeliveryFailed) as err:
        log.warning("chat %s not reached: %s", chat_id, err)
        return False
    return True
