"""Two channels at once (bot/channels.py): the router sends each chat number on its channel,
the rhythm gives a person bound on both one reminder on one channel, and admins are told on
every running channel."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import tests.conftest as people
from bot.channels import ChannelRouter, channel_of
from bot.domain.accounts import account_number, group_number
from bot.domain.model import DINGTALK, TELEGRAM, Address
from bot.domain.ports import DeliveryFailed
from bot.services import Services
from tests.support.fake_channel import FakeSender
from tests.unit.conftest import ADMIN, ZHANG

ZHANG_DT = Address(DINGTALK, "zhang3")


@pytest.fixture
def telegram() -> FakeSender:
    return FakeSender()


@pytest.fixture
def dingtalk() -> FakeSender:
    sender = FakeSender()
    sender.channel = DINGTALK
    return sender


@pytest.fixture
def router(telegram: FakeSender, dingtalk: FakeSender) -> ChannelRouter:
    return ChannelRouter({TELEGRAM: telegram, DINGTALK: dingtalk})


def _services(repo, clock, router: ChannelRouter, **config: object) -> Services:  # type: ignore[no-untyped-def]
    from bot.bootstrap import bootstrap
    from bot.config import (
        AccessConfig,
        ChannelsConfig,
        Config,
        DingTalkConfig,
        StorageConfig,
        TelegramConfig,
    )
    from bot.domain.calendar import WorkCalendar

    base = Config(telegram=TelegramConfig(token="123:test"),
                  access=AccessConfig(admins=frozenset({people.ADMIN}),
                                      dingtalk_admins=frozenset({"boss"})),
                  dingtalk=DingTalkConfig(client_id="id", client_secret="s", robot_code="r"),
                  storage=StorageConfig(dir=Path("unused")))
    if "prefer" in config:
        base = dataclasses.replace(base, channels=ChannelsConfig(prefer=str(config["prefer"])))
    if "admin_group" in config:
        base = dataclasses.replace(base, dingtalk=dataclasses.replace(
            base.dingtalk, admin_group=str(config["admin_group"])))
    return bootstrap(base, repository=repo, clock=clock, calendar=WorkCalendar(),
                     sender=router)


def _bind_both(ledger, last: str) -> None:  # type: ignore[no-untyped-def]
    invite = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    ledger.redeem_invite(invite.code, ZHANG.user_id)
    invite = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    ledger.redeem_invite(invite.code, account_number(ZHANG_DT), ZHANG_DT)
    person = ledger.repo.get_person(ZHANG.who)
    from bot.domain.ports import Change
    ledger.repo.commit(Change(people=[person.with_changes(last_channel=last)]))


async def test_the_router_sends_each_number_on_its_channel(
        router: ChannelRouter, telegram: FakeSender, dingtalk: FakeSender) -> None:
    await router.send(ZHANG.user_id, "tg")
    await router.send(account_number(ZHANG_DT), "dt")
    await router.send(group_number(Address(DINGTALK, "cid1")), "dt group")
    assert [s.text for s in telegram.sent] == ["tg"]
    assert [s.text for s in dingtalk.sent] == ["dt", "dt group"]
    assert router.channels == (TELEGRAM, DINGTALK) and router.channel == TELEGRAM
    assert channel_of(router, account_number(ZHANG_DT)) == DINGTALK
    assert channel_of(telegram, ZHANG.user_id) == TELEGRAM


async def test_a_chat_on_a_channel_that_is_not_running_is_not_delivered(
        telegram: FakeSender) -> None:
    alone = ChannelRouter({TELEGRAM: telegram})
    with pytest.raises(DeliveryFailed):
        await alone.send(account_number(ZHANG_DT), "x")


@pytest.mark.parametrize("last", [TELEGRAM, DINGTALK])
async def test_a_person_bound_on_both_gets_one_reminder_on_the_last_used_channel(
        repo, clock, ledger, make_task, router, telegram, dingtalk,  # type: ignore[no-untyped-def]
        last: str) -> None:
    services = _services(repo, clock, router)
    _bind_both(ledger, last)
    task = make_task()
    report = await services.rhythm().run()
    assert report.sent == 1 and report.messages == 1
    used, other = (telegram, dingtalk) if last == TELEGRAM else (dingtalk, telegram)
    chat = ZHANG.user_id if last == TELEGRAM else account_number(ZHANG_DT)
    assert used.to(chat) and not other.sent
    keys = [k for k in repo.outbox_keys() if f"|{task.id}|{ZHANG.who}|" in k]
    assert len(keys) == 1
    assert keys[0].endswith("|dingtalk") == (last == DINGTALK)
    # Again the same day: nothing more, on either channel.
    await services.rhythm().run()
    assert len(used.sent) == 1 and not other.sent


@pytest.mark.parametrize("first", [TELEGRAM, DINGTALK])
async def test_a_reminder_sent_today_is_not_sent_again_on_the_channel_used_since(
        repo, clock, ledger, make_task, router, telegram, dingtalk,  # type: ignore[no-untyped-def]
        first: str) -> None:
    """Sent on one channel, then the person uses the other (a report there): a second run the
    same day sends nothing, on either channel (found by tests/process/test_e2e_both_channels)."""
    services = _services(repo, clock, router)
    _bind_both(ledger, first)
    make_task()
    assert (await services.rhythm().run()).sent == 1
    then = DINGTALK if first == TELEGRAM else TELEGRAM
    person = ledger.repo.get_person(ZHANG.who)
    from bot.domain.ports import Change
    ledger.repo.commit(Change(people=[person.with_changes(last_channel=then)]))
    again = await services.rhythm().run()
    assert (again.sent, again.sent_before) == (0, 1)
    assert len(telegram.sent) + len(dingtalk.sent) == 1


async def test_the_preferred_channel_wins_over_the_last_used(
        repo, clock, ledger, make_task, router, telegram, dingtalk) -> None:  # type: ignore[no-untyped-def]
    services = _services(repo, clock, router, prefer=DINGTALK)
    _bind_both(ledger, TELEGRAM)
    make_task()
    await services.rhythm().run()
    assert dingtalk.to(account_number(ZHANG_DT)) and not telegram.sent


async def test_admins_are_told_on_every_running_channel(
        repo, clock, router, telegram, dingtalk) -> None:  # type: ignore[no-untyped-def]
    from bot.alerts import notify_admins

    services = _services(repo, clock, router)
    boss = account_number(Address(DINGTALK, "boss"))
    assert services.admin_chats() == [people.ADMIN, boss]
    assert await notify_admins(services, "注意")
    assert telegram.to(people.ADMIN) == ["注意"] and dingtalk.to(boss) == ["注意"]

    grouped = _services(repo, clock, router, admin_group="cidAdmins")
    group = group_number(Address(DINGTALK, "cidAdmins"))
    assert grouped.admin_chats() == [people.ADMIN, group]
    dingtalk.unreachable.add(group)  # the robot was removed: its admins privately
    assert await notify_admins(grouped, "再次")
    assert dingtalk.to(boss) == ["注意", "再次"]


async def test_only_running_channels_count_for_admins(repo, clock, telegram) -> None:  # type: ignore[no-untyped-def]
    services = _services(repo, clock, ChannelRouter({TELEGRAM: telegram}))
    assert services.admin_chats() == [people.ADMIN]
