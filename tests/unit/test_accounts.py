"""Account numbers: Telegram's ids stay themselves; other channels' string ids become stable
numbers outside Telegram's range (bot/domain/accounts.py)."""

from __future__ import annotations

from bot.domain.accounts import FOREIGN_BASE, account_number, group_number, is_foreign
from bot.domain.model import TELEGRAM, Address


def test_telegram_ids_are_their_own_numbers() -> None:
    assert account_number(Address(TELEGRAM, "2001")) == 2001
    assert group_number(Address(TELEGRAM, "-100500")) == -100500
    assert not is_foreign(2001) and not is_foreign(-100500) and not is_foreign((1 << 52) - 1)


def test_other_channels_get_stable_numbers_outside_telegrams_range() -> None:
    staff = Address("dingtalk", "manager4220")
    number = account_number(staff)
    assert number >= FOREIGN_BASE and is_foreign(number)
    assert account_number(Address("dingtalk", "manager4220")) == number  # every process agrees
    assert account_number(Address("dingtalk", "manager4221")) != number
    assert account_number(Address("feishu", "manager4220")) != number  # channel is part of it
    group = group_number(Address("dingtalk", "cidAbC123=="))
    assert group <= -FOREIGN_BASE and is_foreign(group)


def test_fifty_thousand_officials_share_no_number() -> None:
    numbers = {account_number(Address("dingtalk", f"staff{n:05d}")) for n in range(50_000)}
    assert len(numbers) == 50_000
