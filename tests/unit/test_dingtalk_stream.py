"""The 钉钉 Stream client (bot/dingtalk/stream.py) against the fake 钉钉 on real local sockets:
the connection it opens, frames handed to the handler and ACKed after it, the ping answered,
reconnects with fresh tickets, redelivery of an unACKed frame, backoff, and stop.

No real waiting: backoff goes through an injected sleep that records the delay; everything
else waits on events (with generous timeouts that only matter when a test fails).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.dingtalk.stream import (
    CARD_CALLBACK_TOPIC,
    ROBOT_MESSAGE_TOPIC,
    Backoff,
    FrameHandler,
    StreamClient,
)
from bot.fakedingtalk import FakeDingTalk, ManualClock

SECRET = "s3cret-never-logged"


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk(
        client_id="app", client_secret=SECRET, robot_code="robot", clock=ManualClock()
    ) as server:
        server.add_staff("zhangsan", "张三")
        server.add_staff("lisi", "李四")
        server.add_group("cidGROUP==", "督办群", ["zhangsan", "lisi"])
        yield server


class Recorder:
    """An idempotent handler: effects once per msgId, every call counted."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.effects: list[str] = []
        self.seen: set[str] = set()
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail = False

    async def __call__(self, topic: str, data: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append((topic, data))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("the bot could not take it")
        key = str(data.get("msgId") or data.get("outTrackId"))
        if key not in self.seen:
            self.seen.add(key)
            self.effects.append(key)
        return None


async def _start(
    fake: FakeDingTalk, handler: FrameHandler, **kw: Any
) -> tuple[StreamClient, asyncio.Event, asyncio.Task[None], list[float]]:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    options: dict[str, Any] = {"sleep": sleep, "random": lambda: 1.0, "monotonic": lambda: 0.0}
    options.update(kw)
    client = StreamClient(
        api_base=fake.url, client_id="app", client_secret=SECRET, handler=handler, **options
    )
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    return client, stop, task, delays


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    yield Recorder()


async def _finish(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_open_message_ack_and_ping(
    fake: FakeDingTalk, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, stop, task, _ = await _start(fake, recorder)
    assert await fake.wait_connected()

    ((_, _path, body),) = fake.requests("/v1.0/gateway/connections/open")
    assert body["clientId"] == "app" and body["clientSecret"] == SECRET
    assert body["subscriptions"] == [
        {"type": "CALLBACK", "topic": ROBOT_MESSAGE_TOPIC},
        {"type": "CALLBACK", "topic": CARD_CALLBACK_TOPIC},
    ]
    assert body["ua"]

    message_id = fake.send_text("zhangsan", "进度60%", quoted="【督办】任务 3")
    assert await fake.wait_acked(message_id)
    ((topic, data),) = recorder.calls
    assert topic == ROBOT_MESSAGE_TOPIC
    assert data["senderStaffId"] == "zhangsan" and data["senderNick"] == "张三"
    assert data["conversationType"] == "1" and data["msgtype"] == "text"
    assert data["text"]["content"] == "进度60%"
    assert data["text"]["repliedMsg"]["content"]["text"] == "【督办】任务 3"
    assert data["robotCode"] == "robot" and data["sessionWebhook"].startswith(fake.url)
    frame = fake.frame(message_id)
    assert (frame.ack_code, frame.deliveries, frame.ack_data) == (200, 1, "{}")

    group_id = fake.send_text("lisi", "@落实 /tasks", "cidGROUP==")
    card_id = fake.card_callback("lisi", {"action": "done:3"})
    assert await fake.wait_acked(group_id) and await fake.wait_acked(card_id)
    assert recorder.calls[1][1]["conversationType"] == "2"
    assert recorder.calls[1][1]["isInAtList"] is True
    assert recorder.calls[2][0] == CARD_CALLBACK_TOPIC
    assert recorder.calls[2][1]["userId"] == "lisi"

    link_id = fake.press_link("zhangsan", "dtmd://dingtalkclient/sendMessage?content=%2Fdone%203")
    assert await fake.wait_acked(link_id)
    assert recorder.calls[3][1]["text"]["content"] == "/done 3"

    assert await fake.ping()
    await _finish(stop, task)
    assert client.acked == 4
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert fake.tickets_used and logged
    for ticket in fake.tickets_used:
        assert ticket not in logged
    assert SECRET not in logged


async def test_drop_reconnects_with_a_fresh_ticket_and_redelivers_once(
    fake: FakeDingTalk, recorder: Recorder
) -> None:
    _client, stop, task, delays = await _start(fake, recorder)
    assert await fake.wait_connected()
    recorder.gate = asyncio.Event()
    message_id = fake.send_text("zhangsan", "已完成")
    await asyncio.wait_for(recorder.entered.wait(), 5)
    assert fake.drop_stream()  # the socket dies while the bot handles the frame
    recorder.gate.set()

    assert await fake.wait_acked(message_id)  # delivered again on the new connection
    assert fake.connections == 2
    assert len(set(fake.tickets_used)) == 2
    assert len(fake.requests("/v1.0/gateway/connections/open")) == 2
    assert fake.frame(message_id).deliveries == 2
    assert len(recorder.calls) == 2 and recorder.effects == [recorder.calls[0][1]["msgId"]]
    assert delays == [1.0]  # one backoff (base 1 s, random pinned at its top)
    await _finish(stop, task)
    assert fake.unacked() == []


async def test_handler_failure_is_not_acked_and_comes_again(
    fake: FakeDingTalk, recorder: Recorder
) -> None:
    _client, stop, task, _ = await _start(fake, recorder)
    assert await fake.wait_connected()
    recorder.fail = True
    message_id = fake.send_text("zhangsan", "进度60%")
    assert not await fake.wait_acked(message_id, timeout=0.5)
    assert fake.frame(message_id).ack_code == 500
    assert [f.message_id for f in fake.unacked()] == [message_id]

    recorder.fail = False
    fake.send_disconnect()  # SYSTEM disconnect: reconnect at once, no backoff
    assert await fake.wait_acked(message_id)
    assert fake.connections == 2 and recorder.effects == [recorder.calls[0][1]["msgId"]]
    await _finish(stop, task)


async def test_backoff_grows_is_capped_and_resets(fake: FakeDingTalk, recorder: Recorder) -> None:
    fake.refuse_connections(5)
    clock = [0.0]
    _client, stop, task, delays = await _start(
        fake, recorder, backoff_cap=4.0, healthy_after=30.0, monotonic=lambda: clock[0]
    )
    assert await fake.wait_connected()
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(set(fake.tickets_used)) == 1  # refused handshakes never used their tickets
    assert len(fake.requests("/v1.0/gateway/connections/open")) == 6

    clock[0] = 31.0  # the connection stayed up: healthy, the backoff starts over
    fake.drop_stream()
    assert await _reconnected(fake, 2)
    assert delays[-1] == 1.0
    await _finish(stop, task)


def test_backoff_jitter_stays_in_the_upper_half() -> None:
    backoff = Backoff(base=1.0, cap=8.0)
    lows = [backoff.next_delay(lambda: 0.0) for _ in range(5)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay(lambda: 0.5) == 0.75


async def test_open_failures_back_off(fake: FakeDingTalk, recorder: Recorder) -> None:
    fake.fail_http(2)
    _client, stop, task, delays = await _start(fake, recorder)
    assert await fake.wait_connected()
    assert delays == [1.0, 2.0]
    await _finish(stop, task)


async def test_stop_is_prompt_while_connected_and_while_waiting(
    fake: FakeDingTalk, recorder: Recorder
) -> None:
    client, stop, task, _ = await _start(fake, recorder)
    assert await fake.wait_connected()
    await _finish(stop, task)
    assert not client.connected.is_set()

    fake.refuse_connections(1)
    client = StreamClient(
        api_base=fake.url,
        client_id="app",
        client_secret=SECRET,
        handler=recorder,
        backoff_base=3600.0,  # the real asyncio.sleep: stop must cut it short
        backoff_cap=3600.0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    while fake.stream.refused < 1:
        await asyncio.sleep(0.01)
    await _finish(stop, task)


async def _reconnected(fake: FakeDingTalk, count: int) -> bool:
    for _ in range(500):
        if fake.connections >= count and await fake.wait_connected(0.01):
            return True
        await asyncio.sleep(0.01)
    return False
