"""Drive the real Application in-process: fake Bot API transport, real store, fixed clock."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.adapters.docstore import DocStore
from bot.bootstrap import bootstrap
from bot.config import AccessConfig, ChatsConfig, Config, StorageConfig, TelegramConfig
from bot.domain.clock import FixedClock
from bot.fakeapi import FakeBotApi, FakeRequest
from bot.tg.app import build_application, build_intake, register_commands
from bot.tg.intake import StrangerBudget
from bot.tg.ratelimit import ChatRateLimiter
from jobs.pacing import Pacer
from tests.conftest import ADMIN, NOV27

TOKEN = "123456:TEST-token-secret"
START = NOV27  # unless `now` says otherwise


class FakeTime:
    """Monotonic time that only moves when something sleeps on it: pacing without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += max(delay, 0.0)
        await asyncio.sleep(0)


class Harness:
    def __init__(self, data_dir: Path, *, admins: frozenset[int] = frozenset({ADMIN}),
                 language: str = "zh", now: datetime = START,
                 admin_group: int | None = None, api: FakeBotApi | None = None,
                 config: Config | None = None) -> None:
        self.data_dir = data_dir
        # Passing the api of an earlier harness = a restarted process, same Telegram.
        self.api = api or FakeBotApi(token=TOKEN, bot_username="luoshi_test_bot")
        self.config = config or Config(language=language,  # type: ignore[arg-type]
                                       telegram=TelegramConfig(token=TOKEN),
                                       access=AccessConfig(admins=admins),
                                       chats=ChatsConfig(admin_group=admin_group),
                                       storage=StorageConfig(dir=data_dir))
        admins = self.config.access.admins
        self.clock = FixedClock(now)
        self.store = DocStore.open(data_dir)
        # The real services, rate limiter and dispatcher, paced on fake time so tests never
        # wait.
        self.time = FakeTime()
        self.services = bootstrap(
            self.config, store=self.store, clock=self.clock,
            pacer_factory=lambda: Pacer(monotonic=self.time.monotonic, sleep=self.time.sleep),
            sleep=self.time.sleep)
        self.app = build_application(self.services, request=FakeRequest(self.api),
                                     rate_limiter=ChatRateLimiter(monotonic=self.time.monotonic,
                                                                  sleep=self.time.sleep))
        # The real intake (durable inbox, one lane a chat), fed by `pump` instead of polling.
        self.intake = build_intake(self.app, self.services,
                                   budget=StrangerBudget(monotonic=self.time.monotonic))
        self._offset = 0
        for admin in admins:
            self.api.add_user(admin, f"管理员{admin}")
            self.api.start_chat(admin)

    @classmethod
    def from_config(cls, config: Config, *, now: datetime = START) -> Harness:
        """Built from a whole Config (a work group, or one read from a config.toml)."""
        return cls(Path(config.storage.dir), now=now, config=config)

    async def __aenter__(self) -> Harness:
        await self.app.initialize()
        await register_commands(self.app, self.services)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.intake.close()
        await self.services.background_idle()
        await self.app.shutdown()
        self.store.close()

    @property
    def ledger(self):
        return self.services.ledger

    def bind(self, name: str, user_id: int, unit: str = "") -> None:
        """Bind an official directly through the domain (the invite flow has its own tests)."""
        self.api.add_user(user_id, name)
        self.api.start_chat(user_id)
        invite = self.ledger.create_invite(name, unit, admin_id=ADMIN)
        self.ledger.redeem_invite(invite.code, user_id)

    async def pump(self) -> None:
        """Feed every queued update through the intake, like polling would, and wait until
        they were handled (background work such as /dispatch included)."""
        while True:
            pending = [u for u in self.api.pending_updates if u["update_id"] >= self._offset]
            if not pending:
                await self.services.background_idle()
                if not [u for u in self.api.pending_updates if u["update_id"] >= self._offset]:
                    return
                continue
            await self.intake.accept(pending)
            self._offset = pending[-1]["update_id"] + 1
            self.api.call("getUpdates", {"offset": self._offset, "timeout": 0})
            await self.intake.idle()

    async def say(self, user_id: int, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        """The user writes `text`; returns the messages the bot sent in answer (any chat)."""
        before = len(self.api.sent)
        self.api.send_text(user_id, text, **kwargs)
        await self.pump()
        return self.api.sent[before:]

    async def answer(self, user_id: int, text: str, **kwargs: Any) -> str:
        """Like `say`, but returns the texts sent back to that chat, joined."""
        chat = kwargs.get("chat_id") or user_id
        sent = await self.say(user_id, text, **kwargs)
        return "\n".join(m.get("text", "") for m in sent if m["chat"]["id"] == chat)
