"""bot/dingtalk/api.py against httpx.MockTransport: requests recorded, no network, no sleep."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest

from bot.dingtalk.api import DingTalkApi, DingTalkError, webhook_sign

SECRET = "s3cr3t-app-secret"
HOOK_SECRET = "SEC0123hooksecret"
Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fake:
    """A fake 钉钉: tokens tok1, tok2, …; `answers` maps a path to a handler."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.tokens = 0
        self.answers: dict[str, Handler] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/v1.0/oauth2/accessToken":
            self.tokens += 1
            return httpx.Response(200, json={"accessToken": f"tok{self.tokens}",
                                             "expireIn": 7200})
        handler = self.answers.get(path)
        if handler is None:
            return httpx.Response(404, json={"code": "notFound", "message": path})
        return handler(request)

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def make(fake: Fake, clock: Clock | None = None) -> DingTalkApi:
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return DingTalkApi(client, client_id="dingAPPKEY", client_secret=SECRET,
                       robot_code="dingROBOT", api_base="http://fake.test",
                       monotonic=clock or Clock(), wall_ms=lambda: 1_700_000_000_123)


def ok_send(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"processQueryKey": "pqk-1", "invalidStaffIdList": [],
                                     "flowControlledStaffIdList": []})


async def test_token_is_cached_until_shortly_before_it_expires() -> None:
    fake, clock = Fake(), Clock()
    api = make(fake, clock)
    assert await api.access_token() == "tok1"
    token_call = fake.calls("/v1.0/oauth2/accessToken")[0]
    assert json.loads(token_call.content) == {"appKey": "dingAPPKEY", "appSecret": SECRET}
    clock.now += 7200 - 301
    assert await api.access_token() == "tok1"
    clock.now += 2  # inside the last five minutes
    assert await api.access_token() == "tok2"
    assert fake.tokens == 2


async def test_batch_send_body_and_header() -> None:
    fake = Fake()
    fake.answers["/v1.0/robot/oToMessages/batchSend"] = ok_send
    api = make(fake)
    key = await api.send_to_users(["manager4220"], "sampleMarkdown",
                                  {"title": "催办", "text": "**T0012** 今日到期"})
    assert key == "pqk-1"
    (request,) = fake.calls("/v1.0/robot/oToMessages/batchSend")
    assert request.method == "POST"
    assert request.headers["x-acs-dingtalk-access-token"] == "tok1"
    body = json.loads(request.content)
    assert body["robotCode"] == "dingROBOT"
    assert body["userIds"] == ["manager4220"]
    assert body["msgKey"] == "sampleMarkdown"
    assert isinstance(body["msgParam"], str)  # a JSON string, not an object
    assert json.loads(body["msgParam"]) == {"title": "催办", "text": "**T0012** 今日到期"}
    assert "催办" in body["msgParam"]  # UTF-8 kept, not \\u escapes
    with pytest.raises(ValueError):
        await api.send_to_users([f"u{n}" for n in range(21)], "sampleText", {"content": "x"})


async def test_a_401_renews_the_token_and_retries_exactly_once() -> None:
    fake = Fake()
    seen: list[str] = []

    def expired(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-acs-dingtalk-access-token"])
        return httpx.Response(401, json={"code": "InvalidAuthentication",
                                         "message": "token is not exist"})

    fake.answers["/v1.0/robot/groupMessages/send"] = expired
    api = make(fake)
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_group("cidGROUP", "sampleMarkdown", {"title": "t", "text": "x"})
    assert seen == ["tok1", "tok2"]  # one retry with a new token, then the error
    assert caught.value.status == 401 and caught.value.code == "InvalidAuthentication"

    calls = iter([expired, ok_send])
    fake.answers["/v1.0/robot/groupMessages/send"] = lambda r: next(calls)(r)
    seen.clear()
    assert await api.send_to_group("cidGROUP", "sampleMarkdown", {"title": "t"}) == "pqk-1"
    assert seen == ["tok2"] and fake.tokens == 3


async def test_errors_are_typed_and_network_is_status_zero() -> None:
    fake = Fake()
    fake.answers["/v1.0/robot/groupMessages/send"] = lambda r: httpx.Response(
        400, json={"code": "invalid.openConversationId", "message": "无效的openConversationId"})
    api = make(fake)
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_group("cidX", "sampleText", {"content": "x"})
    assert (caught.value.status, caught.value.code) == (400, "invalid.openConversationId")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.answers["/v1.0/robot/groupMessages/send"] = down
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_group("cidX", "sampleText", {"content": "x"})
    assert caught.value.status == 0 and caught.value.code == "network"


async def test_batch_send_refusing_every_recipient_raises() -> None:
    fake = Fake()
    fake.answers["/v1.0/robot/oToMessages/batchSend"] = lambda r: httpx.Response(
        200, json={"processQueryKey": "pqk", "invalidStaffIdList": ["gone1"]})
    api = make(fake)
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_users(["gone1"], "sampleText", {"content": "x"})
    assert caught.value.code == "invalidStaffIdList"
    assert await api.send_to_users(["gone1", "here"], "sampleText", {"content": "x"}) == "pqk"


async def test_read_status_is_a_get_with_the_key() -> None:
    fake = Fake()
    fake.answers["/v1.0/robot/oToMessages/readStatus"] = lambda r: httpx.Response(200, json={
        "sendStatus": "SUCCESS",
        "messageReadInfoList": [
            {"name": "张三", "userId": "u1", "readStatus": "READ", "readTimestamp": 1},
            {"name": "李四", "userId": "u2", "readStatus": "UNREAD"}]})
    api = make(fake)
    assert await api.read_status("pqk-9") == {"u1"}
    (request,) = fake.calls("/v1.0/robot/oToMessages/readStatus")
    assert request.method == "GET"
    assert request.url.params["processQueryKey"] == "pqk-9"
    assert request.url.params["robotCode"] == "dingROBOT"


async def test_group_read_status_follows_pages() -> None:
    fake = Fake()
    pages = iter([{"readUserIds": ["a", "b"], "hasMore": True, "nextToken": "n2"},
                  {"readUserIds": ["c"], "hasMore": False}])
    fake.answers["/v1.0/robot/groupMessages/query"] = lambda r: httpx.Response(
        200, json=next(pages))
    api = make(fake)
    assert await api.group_read_status("cidG", "pqk") == {"a", "b", "c"}
    second = json.loads(fake.calls("/v1.0/robot/groupMessages/query")[1].content)
    assert second["nextToken"] == "n2" and second["openConversationId"] == "cidG"


async def test_webhook_is_signed_as_documented() -> None:
    fake = Fake()
    fake.answers["/robot/send"] = lambda r: httpx.Response(200, json={"errcode": 0,
                                                                     "errmsg": "ok"})
    api = make(fake)
    url = "http://fake.test/robot/send?access_token=HOOKTOKEN"
    await api.webhook_send(url, HOOK_SECRET, {"msgtype": "markdown",
                                              "markdown": {"title": "t", "text": "x"}})
    (request,) = fake.calls("/robot/send")
    query = parse_qs(urlsplit(str(request.url)).query)
    assert query["access_token"] == ["HOOKTOKEN"]
    assert query["timestamp"] == ["1700000000123"]
    by_hand = base64.b64encode(hmac.new(HOOK_SECRET.encode(),
                                        f"1700000000123\n{HOOK_SECRET}".encode(),
                                        hashlib.sha256).digest()).decode()
    assert query["sign"] == [by_hand]  # parse_qs undoes the URL encoding
    assert f"sign={quote_plus(by_hand)}" in str(request.url)
    assert webhook_sign("1700000000123", HOOK_SECRET) == quote_plus(by_hand)

    fake.answers["/robot/send"] = lambda r: httpx.Response(200, json={
        "errcode": 410100, "errmsg": "send too fast"})
    with pytest.raises(DingTalkError) as caught:
        await api.webhook_send(url, HOOK_SECRET, {"msgtype": "text"})
    assert caught.value.code == "410100"


async def test_open_connection() -> None:
    fake = Fake()
    fake.answers["/v1.0/gateway/connections/open"] = lambda r: httpx.Response(
        200, json={"endpoint": "wss://fake.test/connect", "ticket": "TICKET1"})
    api = make(fake)
    subscriptions = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]
    assert await api.open_connection(subscriptions) == ("wss://fake.test/connect", "TICKET1")
    body = json.loads(fake.calls("/v1.0/gateway/connections/open")[0].content)
    assert body["clientId"] == "dingAPPKEY" and body["clientSecret"] == SECRET
    assert body["subscriptions"] == subscriptions and body["ua"]
    assert not fake.calls("/v1.0/oauth2/accessToken")  # Stream needs no token


async def test_no_secret_or_token_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = Fake()
    fake.answers["/v1.0/robot/groupMessages/send"] = lambda r: httpx.Response(
        401, json={"code": "InvalidAuthentication", "message": f"bad token tok1 {SECRET}"})

    def hook_down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    fake.answers["/robot/send"] = hook_down
    api = make(fake)
    errors: list[str] = []
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_group("cidG", "sampleText", {"content": "x"})
    errors.append(str(caught.value))
    with pytest.raises(DingTalkError) as caught:
        await api.webhook_send("http://fake.test/robot/send?access_token=HOOKTOKEN",
                               HOOK_SECRET, {"msgtype": "text"})
    errors.append(str(caught.value))
    text = caplog.text + " ".join(errors) + repr(api)
    for secret in (SECRET, "tok1", "tok2", "HOOKTOKEN", HOOK_SECRET):
        assert secret not in text
