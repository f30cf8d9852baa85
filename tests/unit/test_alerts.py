"""Telling others goes through one port whose outcomes are values (bot/alerts.py): what the
caller is then told names only who was reached."""

from __future__ import annotations

from collections.abc import Callable

import tests.conftest as people
from bot.alerts import Delivered, Failed, Unreachable, deliver, notify_admins, notify_person
from bot.app.conversation import Attachment, Reply
from bot.domain.model import Person
from bot.services import Services
from tests.support.fake_channel import FakeSender
from tests.unit.conftest import ZHANG, Actor


async def test_delivery_outcomes_are_values(services: Services, sender: FakeSender) -> None:
    sender.unreachable.add(people.LI)
    sender.failing.add(people.WANG)
    assert isinstance(await deliver(services, people.ZHANG, Reply("提醒")), Delivered)
    assert isinstance(await deliver(services, people.LI, Reply("提醒")), Unreachable)
    assert isinstance(await deliver(services, people.WANG, Reply("提醒")), Failed)
    assert sender.to(people.ZHANG) == ["提醒"] and sender.to(people.LI) == []


async def test_a_chart_goes_as_a_photo_and_a_channel_without_files_says_failed(
        services: Services, sender: FakeSender) -> None:
    chart = Reply("通报", attachment=Attachment("chart.png", b"png", "photo"))
    assert isinstance(await deliver(services, people.ADMIN, chart), Delivered)
    assert sender.sent[-1].photo == b"png"
    workbook = Reply("台账", attachment=Attachment("台账.xlsx", b"xlsx"))
    outcome = await deliver(services, people.ADMIN, workbook)
    assert isinstance(outcome, Failed) and "cannot send files" in outcome.reason


async def test_admins_are_told_privately_and_only_those_reached_count(
        services: Services, sender: FakeSender) -> None:
    sender.unreachable.add(people.ADMIN)
    assert await notify_admins(services, "【困难】T0001")
    assert sender.to(people.OTHER_ADMIN) == ["【困难】T0001"]
    sender.unreachable.add(people.OTHER_ADMIN)
    assert not await notify_admins(services, "again")


async def test_a_person_is_reached_at_their_address_on_the_senders_channel(
        services: Services, sender: FakeSender, bind: Callable[[Actor], Person]) -> None:
    assert not await notify_person(services, ZHANG.who, "退回")  # not bound yet
    bind(ZHANG)
    assert await notify_person(services, ZHANG.who, "退回")
    assert sender.to(people.ZHANG) == ["退回"]
    sender.channel = "dingtalk"  # no 钉钉 account: not reachable there
    assert not await notify_person(services, ZHANG.who, "退回")


async def test_a_person_on_dingtalk_is_told_at_their_account_number(
        services: Services, sender: FakeSender, ledger: object) -> None:
    from bot.domain.accounts import account_number
    from bot.domain.model import Address

    staff = Address("dingtalk", "manager4220")
    invite = services.ledger.create_invite(ZHANG.who, "", admin_id=people.ADMIN)
    services.ledger.redeem_invite(invite.code, account_number(staff), address=staff)
    sender.channel = "dingtalk"
    assert await notify_person(services, ZHANG.who, "退回")
    assert sender.to(account_number(staff)) == ["退回"]
