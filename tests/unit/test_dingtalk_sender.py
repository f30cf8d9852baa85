"""bot/dingtalk/sender.py over a MockTransport 钉钉: targets, outcomes, pacing, read status.
Time is a hand-moved clock; sleeping is recorded (and, where a test says so, held)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from urllib.parse import unquote

import httpx
import pytest

from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.render import action_of_text
from bot.dingtalk.sender import PHOTO_NOTE, DingTalkSender, Target, message_id_of
from bot.domain.ports import DeliveryFailed, Unreachable

SECRET = "app-secret-xyz"
USER, GROUP_A, GROUP_B, STRANGER = 9_007_199_254_740_993, -9_007_199_254_740_993, -2, 5
Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records every sleep; sleeps longer than `hold_over` wait for `release`."""

    def __init__(self, hold_over: float | None = None) -> None:
        self.delays: list[float] = []
        self.hold_over = hold_over
        self.release = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.hold_over is not None and delay > self.hold_over:
            await self.release.wait()


class Fake:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []
        self.count = 0
        self.user_answer: Handler | None = None
        self.group_answer: Handler | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1.0/oauth2/accessToken":
            return httpx.Response(200, json={"accessToken": "TOKEN-1", "expireIn": 7200})
        if path == "/v1.0/robot/oToMessages/readStatus":
            return httpx.Response(200, json={"sendStatus": "SUCCESS", "messageReadInfoList": [
                {"userId": "manager4220", "readStatus": "READ"}]})
        if path == "/v1.0/robot/groupMessages/query":
            return httpx.Response(200, json={"readUserIds": ["a1", "a2"], "hasMore": False})
        body = json.loads(request.content)
        answer = self.user_answer if "oToMessages" in path else self.group_answer
        if answer is not None:
            response = answer(request)
            if response.status_code != 200 or "StaffIdList" in response.text:
                return response  # refused
        self.count += 1
        self.sent.append((path, body))
        return httpx.Response(200, json={"processQueryKey": f"pqk{self.count}"})


DIRECTORY: dict[int, Target] = {USER: ("user", "manager4220"), GROUP_A: ("group", "cidA"),
                                GROUP_B: ("group", "cidB")}


def make(fake: Fake, *, clock: Clock | None = None,
         sleeps: Sleeps | None = None) -> tuple[DingTalkSender, Clock, Sleeps]:
    clock, sleeps = clock or Clock(), sleeps or Sleeps()
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    api = DingTalkApi(client, client_id="dingKEY", client_secret=SECRET, robot_code="dingBOT",
                      api_base="http://fake.test", monotonic=clock)
    sender = DingTalkSender(api, DIRECTORY.get, monotonic=clock, sleep=sleeps)
    return sender, clock, sleeps


def respond(status: int, **body: object) -> Handler:
    return lambda request: httpx.Response(status, json=body)


async def test_a_person_and_a_group_get_markdown_and_an_id() -> None:
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    assert sender.channel == "dingtalk"
    message_id = await sender.send(USER, "<b>T0012</b> 今日到期（12月1日）")
    assert message_id == message_id_of("pqk1") and message_id > 0
    path, body = fake.sent[0]
    assert path == "/v1.0/robot/oToMessages/batchSend" and body["userIds"] == ["manager4220"]
    assert body["msgKey"] == "sampleMarkdown"
    assert json.loads(str(body["msgParam"]))["text"] == "**T0012** 今日到期（12月1日）"
    await sender.send(GROUP_A, "群消息")
    assert fake.sent[1][0] == "/v1.0/robot/groupMessages/send"
    assert fake.sent[1][1]["openConversationId"] == "cidA"


async def test_buttons_round_trip_through_the_card() -> None:
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    await sender.send(USER, "T0012", [[("已完成", "ACT T0012 done"),
                                       ("报进度", "ACT T0012 progress")]])
    param = json.loads(str(fake.sent[0][1]["msgParam"]))
    assert fake.sent[0][1]["msgKey"] == "sampleActionCard2"
    text = unquote(param["actionURL1"].split("content=", 1)[1])
    assert action_of_text(text) == "ACT T0012 done"


async def test_unknown_chats_and_gone_recipients_are_unreachable() -> None:
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    with pytest.raises(Unreachable):
        await sender.send(STRANGER, "x")
    fake.user_answer = respond(200, processQueryKey="p", invalidStaffIdList=["manager4220"])
    with pytest.raises(Unreachable):
        await sender.send(USER, "x")
    for code in ("invalid.openConversationId", "invalidParameter.robotCode.notExsit",
                 "bot.stopped", "robot.not.in.group", "invalidParameter.openConversationId"):
        fake.group_answer = respond(400, code=code, message="…")
        with pytest.raises(Unreachable):
            await sender.send(GROUP_A, "x")


async def test_configuration_and_permission_trouble_is_failed_not_unreachable() -> None:
    fake = Fake()
    sender, _clock, sleeps = make(fake)
    fake.user_answer = respond(400, code="invalidParameter.robotCode.notExsit", message="…")
    with pytest.raises(DeliveryFailed):
        await sender.send(USER, "x")  # a one-to-one message: the robotCode is wrong
    fake.user_answer = respond(403, code="Forbidden.AccessDenied.AccessTokenPermissionDenied",
                               message="没有调用该接口的权限")
    with pytest.raises(DeliveryFailed):
        await sender.send(USER, "x")
    assert sleeps.delays == []  # not retried: retrying cannot help


async def test_throttling_and_5xx_are_retried_then_failed() -> None:
    fake = Fake()
    sender, _clock, sleeps = make(fake)
    answers = iter([respond(429, code="Throttling.Api", message="…"),
                    respond(503, code="ServiceUnavailable", message="…")])
    fake.user_answer = lambda request: next(answers, respond(200, processQueryKey="ok"))(request)
    await sender.send(USER, "x")  # two short retries, then sent
    assert sleeps.delays == [1.0, 5.0] and len(fake.sent) == 1

    fake.user_answer = respond(200, processQueryKey="p",
                               flowControlledStaffIdList=["manager4220"])
    with pytest.raises(DeliveryFailed):
        await sender.send(USER, "x")
    assert sleeps.delays == [1.0, 5.0, 1.0, 5.0]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fake.group_answer = down
    with pytest.raises(DeliveryFailed):
        await sender.send(GROUP_A, "x")
    fake.group_answer = respond(403, code="Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                                message="调用该接口触发了限流")
    sleeps.delays.clear()
    with pytest.raises(DeliveryFailed):
        await sender.send(GROUP_B, "x")
    assert sleeps.delays == [1.0, 5.0]  # throttled: retried, not unreachable


async def test_a_group_gets_20_a_minute_and_another_group_does_not_wait() -> None:
    fake = Fake()
    sleeps = Sleeps(hold_over=1.0)
    sender, clock, _ = make(fake, sleeps=sleeps)
    for n in range(20):
        await sender.send(GROUP_A, f"第{n}条")
    assert sleeps.delays == []
    waiting = asyncio.create_task(sender.send(GROUP_A, "第21条"))
    await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    assert sleeps.delays == [pytest.approx(60.0)]  # the 21st waits for the minute
    assert len(fake.sent) == 20
    await sender.send(GROUP_B, "另一个群")  # not held up by group A's wait
    await sender.send(USER, "一个人")  # nor are people
    assert len(fake.sent) == 22 and not waiting.done()
    sleeps.release.set()
    await waiting
    assert len(fake.sent) == 23
    clock.now += 61
    await sender.send(GROUP_A, "一分钟后")
    assert len(sleeps.delays) == 1


async def test_a_group_minute_counts_from_when_dingtalk_answered() -> None:
    # The first send arrives late (token, connection): 钉钉 counts it from its arrival, so
    # the 21st must wait 60 s from that answer, not from the 1st's reservation.
    fake = Fake()
    clock = Clock()
    inner = fake.__call__

    def late_first(request: httpx.Request) -> httpx.Response:
        if "groupMessages" in request.url.path and fake.count == 0:
            clock.now += 5.0  # the 1st reaches 钉钉 and is answered 5 s after its slot
        return inner(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(late_first))
    api = DingTalkApi(client, client_id="dingKEY", client_secret=SECRET, robot_code="dingBOT",
                      api_base="http://fake.test", monotonic=clock)
    sleeps = Sleeps()
    sender = DingTalkSender(api, DIRECTORY.get, monotonic=clock, sleep=sleeps)
    start = clock.now
    for n in range(21):
        await sender.send(GROUP_A, f"第{n}条")
    assert sleeps.delays == [pytest.approx(start + 5.0 + 60.0 - clock.now)]
    assert len(fake.sent) == 21


async def test_long_text_goes_in_parts_and_the_id_is_the_last() -> None:
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    text = "\n".join(f"{n} " + "丙" * 100 for n in range(120))
    message_id = await sender.send(USER, text, [[("已完成", "ACT T1 done"),
                                                ("报进度", "ACT T1 progress")]])
    keys = [body["msgKey"] for _path, body in fake.sent]
    assert len(keys) > 1 and keys[-1] == "sampleActionCard2"
    assert set(keys[:-1]) == {"sampleMarkdown"}
    assert message_id == message_id_of(f"pqk{len(keys)}")


async def test_read_by_asks_with_the_key_of_that_message() -> None:
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    to_person = await sender.send(USER, "催办")
    to_group = await sender.send(GROUP_A, "通报")
    key_person = sender.receipt(USER, to_person)
    key_group = sender.receipt(GROUP_A, to_group)
    assert key_person == sender.process_query_key(to_person) == "pqk1"
    assert key_group is not None and sender.receipt(USER, 12345) is None
    assert await sender.read_by(USER, key_person) == {"manager4220"}
    assert await sender.read_by(GROUP_A, key_group) == {"a1", "a2"}
    assert await sender.read_by(12345, "pqk1") is None  # a chat it does not know
    # A new sender (a restart) asks with the key kept in the outbox.
    again, _clock, _sleeps = make(fake)
    assert await again.read_by(USER, key_person) == {"manager4220"}


async def test_photo_sends_the_caption_and_says_the_image_is_missing() -> None:
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    await sender.send_photo(GROUP_A, b"\x89PNG...", "第48周通报")
    text = json.loads(str(fake.sent[0][1]["msgParam"]))["text"]
    assert "第48周通报" in text and PHOTO_NOTE in text
    assert await sender.edit(GROUP_A, 1, "新") is False
    with pytest.raises(DeliveryFailed):
        await sender.send_document(USER, "台账.xlsx", b"PK")


async def test_no_secret_or_token_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = Fake()
    sender, _clock, _sleeps = make(fake)
    await sender.send(USER, "x")
    fake.user_answer = respond(403, code="Forbidden", message="token TOKEN-1 denied")
    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(USER, "x")
    assert SECRET not in caplog.text and "TOKEN-1" not in caplog.text
    assert "TOKEN-1" not in str(caught.value)
