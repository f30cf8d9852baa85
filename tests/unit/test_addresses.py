"""A person's addresses are (channel, id) pairs, and the outbox keys what was sent by channel,
so a person reachable on two channels can be told on either — and an install upgraded from
the Telegram-only outbox never sends the day's reminders again."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.model import (
    TELEGRAM,
    Address,
    DeliveryStatus,
    OutboxEntry,
    Person,
    outbox_key,
)
from tests.conftest import TZ

DAY = date(2026, 12, 3)
AT = datetime(2026, 12, 3, 9, 0, tzinfo=TZ)


def test_a_bound_person_is_reachable_on_telegram_and_on_the_accounts_kept() -> None:
    person = Person("张三", user_id=2001, accounts=(Address("dingtalk", "manager4220"),))
    assert person.addresses == (Address(TELEGRAM, "2001"), Address("dingtalk", "manager4220"))
    assert person.address_on("dingtalk") == Address("dingtalk", "manager4220")
    assert Person("李四").addresses == ()
    assert Person("李四").address_on(TELEGRAM) is None


def test_accounts_survive_the_store_and_old_documents_read_without_them() -> None:
    person = Person("张三", unit="县水利局", user_id=2001,
                    accounts=(Address("dingtalk", "manager4220"),))
    assert Person.from_doc(person.to_doc()) == person
    old = Person("王五", user_id=2003).to_doc()
    assert "accounts" not in old  # documents of a Telegram-only install are unchanged
    assert Person.from_doc(old).accounts == ()


def test_telegram_outbox_keys_keep_their_old_form() -> None:
    """An outbox written before channels existed still says "already sent today"."""
    entry = OutboxEntry(DAY, "T0001", "张三", "daily", DeliveryStatus.SENT, AT, 7, 2001)
    assert entry.key == "2026-12-03|T0001|张三|daily" == outbox_key(DAY, "T0001", "张三", "daily")
    assert OutboxEntry.from_doc(entry.to_doc()) == entry


def test_another_channel_has_its_own_outbox_key() -> None:
    on_dingtalk = OutboxEntry(DAY, "T0001", "张三", "daily", DeliveryStatus.SENT, AT,
                              channel="dingtalk")
    assert on_dingtalk.key != outbox_key(DAY, "T0001", "张三", "daily")
    assert on_dingtalk.key == outbox_key(DAY, "T0001", "张三", "daily", "dingtalk")
    assert OutboxEntry.from_doc(on_dingtalk.to_doc()).channel == "dingtalk"


async def test_the_dispatcher_keys_what_it_sent_by_its_channel(
        services, sender, ledger, make_task) -> None:  # type: ignore[no-untyped-def]
    """A person bound on 钉钉 only, a sender that is 钉钉's: the reminder goes to their 钉钉
    account number and its outbox key names the channel actually used."""
    from bot.domain.accounts import account_number
    from bot.domain.model import Address
    from tests.unit.conftest import ADMIN, ZHANG

    address = Address("dingtalk", "zhang3")
    invite = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    ledger.redeem_invite(invite.code, account_number(address), address)
    task = make_task()
    sender.channel = "dingtalk"
    report = await services.rhythm().run()
    assert report.sent >= 1 and sender.to(account_number(address))
    keys = list(services.ledger.repo.outbox_keys())
    mine = [k for k in keys if f"|{task.id}|张三|" in k]
    assert mine and all(k.endswith("|dingtalk") for k in mine)
    # A second run the same day sends nothing again.
    before = len(sender.sent)
    await services.rhythm().run()
    assert len(sender.sent) == before
