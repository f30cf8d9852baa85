"""The chat level: python-telegram-bot driven through the fake Bot API by the Harness (real
store in tmp_path, fixed clock, fake time for pacing). `open_bot` opens one with the usual
people of tests/conftest.py bound to their accounts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import bootstrap
from bot.config import parse_config
from bot.dingtalk.runtime import DingTalkRuntime
from bot.fakedingtalk import FakeDingTalk
from bot.services import Services
from tests.conftest import ADMIN, LEADER, LI, NAMES, ZHANG
from tests.support.harness import TOKEN, Harness

OpenBot = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
def open_bot(tmp_path: Path) -> OpenBot:
    """`async with open_bot(now=..., admin_group=..., admins=...) as bot`: a Harness on
    tmp_path/data (the keywords are the Harness's), its admin group created (titled
    `group_title`), and the people in `bound` (user ids, named by NAMES) bound to their
    accounts, each in their unit from `units` if given."""

    @asynccontextmanager
    async def open_(*, bound: Iterable[int] = (ZHANG, LI, LEADER),
                    units: Mapping[int, str] | None = None, group_title: str = "县政府督查室",
                    **options: Any) -> AsyncIterator[Harness]:
        async with Harness(tmp_path / "data", **options) as harness:
            group = harness.config.chats.admin_group
            if group is not None:
                harness.api.add_group(group, group_title)
            for user_id in bound:
                harness.bind(NAMES[user_id], user_id, (units or {}).get(user_id, ""))
            yield harness

    return open_


def buttons(message: dict[str, Any]) -> list[str]:
    """The callback data of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """A config.toml like an operator writes it: data next to the file, one admin, and
    `extra` (TOML) at the end."""
    path = tmp_path / "config.toml"
    path.write_text(f'[telegram]\ntoken = "{TOKEN}"\n[storage]\ndir = "data"\n'
                    f"[access]\nadmins = [{ADMIN}]\n{extra}", encoding="utf-8")
    return path


# ---- 钉钉: the channel on the fake 钉钉, with a real store ----------------------------------


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    """A fake 钉钉 on local sockets with the people the 钉钉 chat tests use: the admin (boss,
    in `dingtalk_admins`), 张三 (zhang3) and 李四 (li4)."""
    with FakeDingTalk(client_id="app", client_secret="secret", robot_code="robot") as server:
        server.add_staff("boss", "督查室王主任")
        server.add_staff("zhang3", "张三")
        server.add_staff("li4", "李四")
        yield server


@pytest.fixture
async def running(fake: FakeDingTalk,
                  tmp_path: Path) -> AsyncIterator[tuple[Services, DingTalkRuntime]]:
    """The bot with only 钉钉 configured against `fake`, on a real store in tmp_path, its
    Stream connected; closed down in order afterwards."""
    config = parse_config({
        "storage": {"dir": str(tmp_path / "data")},
        "access": {"dingtalk_admins": ["boss"]},
        "dingtalk": {"client_id": "app", "client_secret": "secret", "robot_code": "robot",
                     "api_base": fake.url},
    }, require_token=False)
    services = bootstrap(config)
    runtime = DingTalkRuntime(services)
    services.connect(runtime.sender)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.stream.run(stop))
    assert await fake.wait_connected()
    try:
        yield services, runtime
    finally:
        stop.set()
        await task
        await runtime.close()
        await services.background_idle()
        if services.close is not None:
            services.close()
