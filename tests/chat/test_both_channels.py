"""Telegram's handlers when 钉钉 runs beside it: the services' sender is then the channel
router (bot/channels.py), and every Telegram answer must still go out through Telegram's own
sender (a TypeError there once left every Telegram command unanswered in `run` with both)."""

from __future__ import annotations

from bot.channels import ChannelRouter
from bot.domain.model import DINGTALK, TELEGRAM
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, ZHANG
from tests.support.fake_channel import FakeSender


async def test_telegram_commands_are_answered_behind_the_router(open_bot: OpenBot) -> None:
    async with open_bot() as bot:
        services = bot.services
        dingtalk = FakeSender()
        dingtalk.channel = DINGTALK
        assert services.sender is not None
        services.connect(ChannelRouter({TELEGRAM: services.sender, DINGTALK: dingtalk}),
                         services.watch)
        assert "任务" in await bot.answer(ADMIN, "/tasks")
        assert await bot.answer(ZHANG, "/help")
        assert dingtalk.sent == []  # nothing of Telegram's went to 钉钉
