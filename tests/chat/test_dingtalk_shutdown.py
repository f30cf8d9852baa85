"""Both channels' shutdown order (bot/dingtalk/runtime.py `serve_both`): the store is closed
only after 钉钉's intake has applied the frames it had already ACKed and queued.

Telegram's runner is replaced by one that does what `bot.tg.runner.serve` does at the edges
(replay, poll until stop, then close its intake and close the store, as `post_shutdown`
does); 钉钉 is real (runtime, Stream, inbox) against the fake 钉钉, with each message's
handling slowed down so frames are still queued when the stop comes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.inbox import APPLIED, StoreInbox
from bot.bootstrap import bootstrap
from bot.config import parse_config
from bot.dingtalk import runtime as dingtalk_runtime
from bot.dingtalk.inbound import DingTalkInbound
from bot.domain.clock import SystemClock
from bot.fakedingtalk import FakeDingTalk
from tests.support.fake_channel import FakeSender

FRAMES = 5
HANDLING = 0.15  # seconds per message: 0.75 s of queued work when the stop comes


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk(client_id="app", client_secret="secret", robot_code="robot") as server:
        server.add_staff("boss", "督查室王主任")
        yield server


class TelegramIntake:
    """What the runner needs of Telegram's intake; records its close."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def replay(self) -> int:
        return 0

    async def poll(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def close(self) -> None:
        self.events.append("telegram intake closed")


async def test_the_store_closes_after_dingtalk_applied_its_queued_frames(
        fake: FakeDingTalk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config({
        "storage": {"dir": str(tmp_path / "data")},
        "access": {"dingtalk_admins": ["boss"]},
        "dingtalk": {"client_id": "app", "client_secret": "secret", "robot_code": "robot",
                     "api_base": fake.url},
    }, require_token=False)
    services = bootstrap(config)
    services.connect(FakeSender())  # Telegram's sender, connected first as the runner does
    events: list[str] = []
    close_store = services.close
    assert close_store is not None

    def closing() -> None:
        events.append("store closed")
        close_store()

    services.close = closing
    handle = DingTalkInbound.handle

    async def slow_handle(self: DingTalkInbound, data: dict[str, Any]) -> None:
        await asyncio.sleep(HANDLING)
        await handle(self, data)
        events.append("handled")

    monkeypatch.setattr(DingTalkInbound, "handle", slow_handle)

    async def serve(app: Any, intake: Any, stop: asyncio.Event) -> None:
        """bot.tg.runner.serve at its edges: intake.close, then post_shutdown closes the store."""
        try:
            await intake.replay()
            await intake.poll(stop)
        finally:
            await intake.close()
            assert services.close is not None
            services.close()

    monkeypatch.setattr("bot.tg.runner.serve", serve)
    stop = asyncio.Event()
    both = asyncio.create_task(dingtalk_runtime.serve_both(services, object(),
                                                           TelegramIntake(events), stop))
    assert await fake.wait_connected()
    frames = [fake.send_text("boss", "/tasks") for _ in range(FRAMES)]
    for frame in frames:
        assert await fake.wait_acked(frame)  # stored in the inbox, then ACKed
    assert events.count("handled") < FRAMES, "some frames are still queued at the stop"
    stop.set()
    await asyncio.wait_for(both, 10)

    assert events == ["handled"] * FRAMES + ["telegram intake closed", "store closed"]
    store = DocStore.open(tmp_path / "data", writable=False)
    try:
        inbox = StoreInbox(store, SystemClock(config.timezone))
        assert inbox.pending() == [] and inbox.pending(APPLIED) == [], "nothing left over"
    finally:
        store.close()
    assert len(fake.texts_to("boss")) >= FRAMES, "every /tasks answered"
