"""The fake 钉钉's HTTP side (bot/fakedingtalk/), over real local sockets with plain httpx:
tokens that expire on its clock, the robotCode check, one-to-one and group sends with
钉钉's rules (unknown users, the robot not in the group, 20 a minute, identical content
dropped within a day), read status, and the custom robot webhook's HMAC signature.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from bot.fakedingtalk import FakeDingTalk, ManualClock, webhook_sign

START = 1_796_000_000.0  # 2026-12-01 morning in 北京时间


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeDingTalk]:
    with FakeDingTalk(
        client_id="app", client_secret="secret", robot_code="robot", clock=clock
    ) as server:
        server.add_staff("zhangsan", "张三")
        server.add_group("cidWORK==", "工作群", ["zhangsan"])
        server.add_group("cidNOBOT==", "无机器人群", ["zhangsan"], robot_in=False)
        server.add_group(
            "cidADMIN==", "督查室", ["zhangsan"], webhook_token="hooktoken", webhook_secret="SEC1"
        )
        yield server


@pytest.fixture
def http(fake: FakeDingTalk) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, timeout=5) as client:
        yield client


def _token(http: httpx.Client) -> str:
    answer = http.post("/v1.0/oauth2/accessToken", json={"appKey": "app", "appSecret": "secret"})
    assert answer.status_code == 200 and answer.json()["expireIn"] == 7200
    return str(answer.json()["accessToken"])


def _send(http: httpx.Client, token: str, body: dict[str, Any], path: str) -> httpx.Response:
    return http.post(path, json=body, headers={"x-acs-dingtalk-access-token": token})


def _oto(user_ids: list[str], text: str, robot: str = "robot") -> dict[str, Any]:
    return {
        "robotCode": robot,
        "userIds": user_ids,
        "msgKey": "sampleMarkdown",
        "msgParam": json.dumps({"title": "督办", "text": text}, ensure_ascii=False),
    }


BATCH = "/v1.0/robot/oToMessages/batchSend"
GROUP = "/v1.0/robot/groupMessages/send"


def test_tokens_expire_on_the_clock_and_401(
    fake: FakeDingTalk, http: httpx.Client, clock: ManualClock
) -> None:
    wrong = http.post("/v1.0/oauth2/accessToken", json={"appKey": "app", "appSecret": "x"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalidClientIdOrSecret"
    token = _token(http)
    assert _send(http, token, _oto(["zhangsan"], "12月1日 任务3"), BATCH).status_code == 200
    assert _send(http, "forged", _oto(["zhangsan"], "x"), BATCH).status_code == 401
    clock.advance(7200)
    expired = _send(http, token, _oto(["zhangsan"], "12月1日 任务4"), BATCH)
    assert expired.status_code == 401 and expired.json()["code"] == "InvalidAuthentication"
    fresh = _token(http)
    assert _send(http, fresh, _oto(["zhangsan"], "12月1日 任务4"), BATCH).status_code == 200
    fake.expire_tokens()
    assert _send(http, fresh, _oto(["zhangsan"], "x"), BATCH).status_code == 401


def test_one_to_one_rules_and_read_status(fake: FakeDingTalk, http: httpx.Client) -> None:
    token = _token(http)
    bad_robot = _send(http, token, _oto(["zhangsan"], "x", robot="other"), BATCH)
    assert bad_robot.status_code == 400 and bad_robot.json()["code"] == "robot.not.exist"

    answer = _send(http, token, _oto(["zhangsan", "ghost"], "12月1日 请报进度"), BATCH).json()
    assert answer["invalidStaffIdList"] == ["ghost"] and answer["flowControlledStaffIdList"] == []
    same = _send(http, token, _oto(["zhangsan"], "12月1日 请报进度"), BATCH)
    assert same.status_code == 200  # reported as sent ...
    assert fake.texts_to("zhangsan") == ["12月1日 请报进度"]  # ... but dropped
    assert len(fake.messages_to("zhangsan", include_dropped=True)) == 2

    key = answer["processQueryKey"]

    def read_status() -> httpx.Response:  # a GET with query parameters, as the SDKs ask
        return http.get(READ, params={"robotCode": "robot", "processQueryKey": key},
                        headers={"x-acs-dingtalk-access-token": token})

    assert read_status().json()["messageReadInfoList"][0]["readStatus"] == "UNREAD"
    fake.mark_read(fake.messages_to("zhangsan")[0])
    assert read_status().json()["messageReadInfoList"][0]["readStatus"] == "READ"
    assert _send(http, token, {"robotCode": "robot", "processQueryKey": key},
                 READ).status_code == 404  # not a POST


READ = "/v1.0/robot/oToMessages/readStatus"


def test_group_sends_and_the_twenty_a_minute_limit(
    fake: FakeDingTalk, http: httpx.Client, clock: ManualClock
) -> None:
    token = _token(http)

    def group(group_id: str, n: int) -> httpx.Response:
        body = {
            "robotCode": "robot",
            "openConversationId": group_id,
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": f"第{n}条"}, ensure_ascii=False),
        }
        return _send(http, token, body, GROUP)

    assert group("cidNOBOT==", 0).json()["code"] == "robot.not.in.group"
    assert group("cidNOWHERE==", 0).json()["code"] == "invalidParameter.openConversationId"
    assert all(group("cidWORK==", n).status_code == 200 for n in range(20))
    throttled = group("cidWORK==", 20)
    assert throttled.status_code == 403
    assert throttled.json()["code"] == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
    clock.advance(601)
    assert group("cidWORK==", 21).status_code == 200
    assert fake.texts_to("cidWORK==")[-1] == "第21条"


def test_webhook_checks_the_signature(fake: FakeDingTalk, clock: ManualClock) -> None:
    body = {"msgtype": "markdown", "markdown": {"title": "日报", "text": "12月1日 日报"}}
    timestamp = int(clock.now() * 1000)

    def post(sign: str, ts: int = timestamp) -> dict[str, Any]:
        url = f"{fake.webhook_url('cidADMIN==')}&timestamp={ts}&sign={quote_plus(sign)}"
        return dict(httpx.post(url, json=body, timeout=5).json())

    assert post(webhook_sign("SEC1", timestamp)) == {"errcode": 0, "errmsg": "ok"}
    assert post(webhook_sign("WRONG", timestamp))["errcode"] == 310000
    stale = timestamp - 2 * 3600 * 1000
    assert post(webhook_sign("SEC1", stale), stale)["errcode"] == 310000
    assert fake.texts_to("cidADMIN==") == ["12月1日 日报"]


def test_open_connection_gives_a_single_use_ticket(fake: FakeDingTalk, http: httpx.Client) -> None:
    body = {
        "clientId": "app",
        "clientSecret": "secret",
        "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}],
        "ua": "test",
    }
    answer = http.post("/v1.0/gateway/connections/open", json=body).json()
    assert answer["endpoint"] == fake.stream_url
    assert fake.state.take_ticket(answer["ticket"])
    assert not fake.state.take_ticket(answer["ticket"])
    body["clientSecret"] = "wrong"
    assert http.post("/v1.0/gateway/connections/open", json=body).status_code == 400


def test_press_link_sends_the_content_as_the_users_text() -> None:
    from bot.fakedingtalk.users import link_text

    url = "dtmd://dingtalkclient/sendMessage?content=" + quote_plus("/done 3")
    assert link_text(url) == "/done 3"
    with pytest.raises(ValueError):
        link_text("https://example.com/?content=x")


async def test_the_sender_and_the_fake_agree_on_sends_buttons_and_read_status(
    fake: FakeDingTalk,
) -> None:
    """bot/dingtalk (client, renderer, sender) against the fake on real sockets: a message
    with buttons reaches the person as an action card whose buttons bring the action back,
    read status comes back once they open it, and a stranger's id is Unreachable."""
    from bot.dingtalk.api import DingTalkApi
    from bot.dingtalk.render import action_of_text
    from bot.dingtalk.sender import DingTalkSender
    from bot.domain.accounts import account_number
    from bot.domain.model import Address
    from bot.domain.ports import Unreachable

    zhang = account_number(Address("dingtalk", "zhangsan"))
    ghost = account_number(Address("dingtalk", "ghost"))
    people = {zhang: ("user", "zhangsan"), ghost: ("user", "ghost")}
    async with httpx.AsyncClient(base_url=fake.url, timeout=5) as client:
        api = DingTalkApi(client, client_id="app", client_secret="secret", robot_code="robot",
                          api_base=fake.url)
        sender = DingTalkSender(api, people.get)
        message_id = await sender.send(zhang, "<b>T0001</b> 12月1日 请报进度",
                                       [[("✅ 已完成", "ACT T0001 done")]])
        [sent] = fake.messages_to("zhangsan")
        assert "**T0001**" in sent.text and "<b>" not in sent.text
        [(label, url)] = sent.buttons
        assert "已完成" in label
        # What the client sends when the button is pressed: a robot message whose text
        # carries the action back.
        pressed = fake.frame(fake.press_link("zhangsan", url))
        assert action_of_text(pressed.data["text"]["content"]) == "ACT T0001 done"
        key = sender.receipt(zhang, message_id)
        assert key is not None
        assert await sender.read_by(zhang, key) == set()
        fake.mark_read(sent)
        assert await sender.read_by(zhang, key) == {"zhangsan"}
        with pytest.raises(Unreachable):
            await sender.send(ghost, "12月1日 请报进度")


async def test_the_same_text_twice_in_a_day_still_reaches_the_person(fake: FakeDingTalk) -> None:
    """钉钉 drops identical content to the same person within a day and reports success: a
    second /remind the same day would be "已催办" untruly. The sender makes it differ."""
    from bot.dingtalk.api import DingTalkApi
    from bot.dingtalk.sender import DingTalkSender
    from bot.domain.accounts import account_number
    from bot.domain.model import Address

    zhang = account_number(Address("dingtalk", "zhangsan"))
    async with httpx.AsyncClient(base_url=fake.url, timeout=5) as client:
        api = DingTalkApi(client, client_id="app", client_secret="secret", robot_code="robot",
                          api_base=fake.url)
        sender = DingTalkSender(api, {zhang: ("user", "zhangsan")}.get)
        for _ in range(3):
            await sender.send(zhang, "⏰【催办】T0001 世忻铁路复线征地")
    texts = fake.texts_to("zhangsan")
    assert len(texts) == 3 and len(set(texts)) == 3  # none dropped
    assert "第 2 次发送" in texts[1] and "第 3 次发送" in texts[2]
