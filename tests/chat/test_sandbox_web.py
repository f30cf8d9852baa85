"""The sandbox web page's JSON API (bot/sandbox/web.py) over real HTTP, without a bot.

A `FakeBotApiServer` serves both the Bot API and `SandboxWeb`; the "bot" here is the test
itself, calling Bot API methods on the fake (`api.call`). A tiny `SandboxControl` stands in for
the sandbox runtime.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.holidays import default_calendar
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.sandbox.control import ACTIONS, Identity, SandboxControl
from bot.sandbox.runtime import MovableClock, start_in_working_hours
from bot.sandbox.web import MAX_UPLOAD_BYTES, SandboxWeb, entities_to_html, now_label

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = 1001
LEADER = 1002
OFFICIAL = 2001
OTHER_OFFICIAL = 2002
NEWBIE = 3001
GROUP = -1001234567890
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082"
)


class FakeControl(SandboxControl):
    def __init__(self) -> None:
        self.clock = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
        self.actions: list[str] = []
        self.fail_with: Exception | None = None

    def identities(self) -> list[Identity]:
        return [
            Identity(ADMIN, "王主任", "admin"),
            Identity(LEADER, "陈县长", "leader", "县政府"),
            Identity(OFFICIAL, "李四", "official", "住建局"),
            Identity(OTHER_OFFICIAL, "赵六", "official", "教育局"),
            Identity(NEWBIE, "新同志", "new"),
        ]

    def admin_group(self) -> tuple[int, str]:
        return GROUP, "落实管理群"

    def now(self) -> datetime:
        return self.clock

    def run_action(self, action: str, timeout: float = 120.0) -> str:
        if action not in ACTIONS:
            raise ValueError(action)
        if self.fail_with is not None:
            raise self.fail_with
        self.actions.append(action)
        if action == "next_workday":
            self.clock = datetime(2026, 12, 2, 8, 30, tzinfo=TZ)
        return f"已执行：{action}"

    def reset(self, timeout: float = 120.0) -> str:
        self.actions.append("reset")
        self.clock = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
        return "沙盒已重置"


@pytest.fixture
def api() -> FakeBotApi:
    fake = FakeBotApi(bot_first_name="落实机器人", bot_username="luoshi_bot")
    fake.add_group(GROUP, "落实管理群")
    return fake


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
def server(api: FakeBotApi, control: FakeControl) -> Iterator[FakeBotApiServer]:
    web = SandboxWeb(api, control, poll_timeout=2.0, answer_timeout=1.0)
    with FakeBotApiServer(api, routes=web) as srv:
        yield srv


class Response:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    server: FakeBotApiServer,
    path: str,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    timeout: float = 10.0,
) -> Response:
    data = raw if raw is not None else None
    if payload is not None:
        data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(server.url + path, data=data, method="POST" if (
        data is not None) else "GET")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.headers, exc.read())


def get(server: FakeBotApiServer, path: str) -> Response:
    return fetch(server, path)


def post(server: FakeBotApiServer, path: str, payload: Any) -> Response:
    return fetch(server, path, payload)


def bot_send(api: FakeBotApi, chat_id: int, text: str, **params: Any) -> dict[str, Any]:
    status, answer = api.call("sendMessage", {"chat_id": chat_id, "text": text, **params})
    assert status == 200, answer
    return answer["result"]


def messages(server: FakeBotApiServer, user: int, chat: int, since: int = 0) -> dict[str, Any]:
    answer = get(server, f"/api/messages?user={user}&chat={chat}&since={since}&wait=0")
    assert answer.status == 200, answer.body
    return answer.json


# --------------------------------------------------------------------------- page and static


def test_page_and_assets(server: FakeBotApiServer) -> None:
    page = get(server, "/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.body.decode("utf-8")
    for testid in ("identity-select", "chat-list", "message-input", "send-button",
                   "clock-dispatch", "clock-bulletin", "clock-summary", "clock-next-workday"):
        assert f'data-testid="{testid}"' in html
    # No CDN, no external assets: every src/href is local (or an inline data: icon).
    for url in re.findall(r"""(?:src|href)=["']([^"']*)""", html):
        assert url.startswith(("/static/", "data:")), url
    script_text = get(server, "/static/app.js").body.decode("utf-8")
    # (The SVG namespace is a name, not something fetched.)
    assert not re.search(r"""["'`](?:https?:)?//(?!www\.w3\.org/2000/svg")""", script_text)
    script = get(server, "/static/app.js")
    assert script.status == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    style = get(server, "/static/style.css")
    assert style.headers["Content-Type"].startswith("text/css")
    assert style.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../web.py",
        "/static/..%2Fweb.py",
        "/static/%2e%2e/web.py",
        "/static/%2e%2e%2fcontrol.py",
        "/static/..%5Cweb.py",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/.hidden",
        "/static/missing.js",
        "/static/",
        "/static/index.html%00.js",
        "/../../etc/passwd",
        "/etc/passwd",
        "/api/file/..%2F..%2Fetc%2Fpasswd",
        "/api/file/unknown",
    ],
)
def test_path_traversal_is_404(server: FakeBotApiServer, path: str) -> None:
    answer = get(server, path)
    assert answer.status == 404
    assert b"root:" not in answer.body and b"import" not in answer.body


def test_bot_api_routes_still_work(server: FakeBotApiServer, api: FakeBotApi) -> None:
    answer = get(server, f"/bot{api.token}/getMe")
    assert answer.status == 200 and answer.json["result"]["first_name"] == "落实机器人"
    assert get(server, "/bot123:WRONG/getMe").status == 401


def test_unknown_api_route_and_wrong_method(server: FakeBotApiServer) -> None:
    assert get(server, "/api/nothing").status == 404
    wrong = get(server, "/api/send")
    assert wrong.status == 405 and "error" in wrong.json
    assert post(server, "/api/state", {}).status == 405


# --------------------------------------------------------------------------- state and clock


def test_state(server: FakeBotApiServer) -> None:
    state = get(server, "/api/state").json
    assert state["now"] == "2026-12-01T09:00:00+08:00"
    assert state["now_label"] == "12月1日（周二）09:00"
    assert [i["user_id"] for i in state["identities"]] == [
        ADMIN, LEADER, OFFICIAL, OTHER_OFFICIAL, NEWBIE
    ]
    assert state["identities"][2] == {
        "user_id": OFFICIAL, "name": "李四", "role": "official", "unit": "住建局",
        "channel": "telegram",
    }
    assert state["admin_group"] == {"id": GROUP, "title": "落实管理群"}
    assert state["bot"]["name"] == "落实机器人"
    assert "chats" not in state

    admin = get(server, f"/api/state?user={ADMIN}").json
    assert [(c["id"], c["title"], c["kind"]) for c in admin["chats"]] == [
        (ADMIN, "落实机器人", "private"),
        (GROUP, "落实管理群", "group"),
    ]
    leader = get(server, f"/api/state?user={LEADER}").json
    assert [c["id"] for c in leader["chats"]] == [LEADER, GROUP]
    official = get(server, f"/api/state?user={OFFICIAL}").json
    assert [c["id"] for c in official["chats"]] == [OFFICIAL]


def test_state_chat_preview(server: FakeBotApiServer, api: FakeBotApi) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/start"})
    bot_send(api, OFFICIAL, "欢迎使用落实机器人")
    chats = get(server, f"/api/state?user={OFFICIAL}").json["chats"]
    assert chats[0]["preview"] == "欢迎使用落实机器人"
    assert chats[0]["last_seq"] == api.history_seq


def test_now_label() -> None:
    assert now_label(datetime(2026, 12, 6, 18, 5, tzinfo=TZ)) == "12月6日（周日）18:05"


def test_clock_action_passes_through(server: FakeBotApiServer, control: FakeControl) -> None:
    answer = post(server, "/api/clock", {"action": "next_workday"})
    assert answer.status == 200
    assert answer.json == {
        "result": "已执行：next_workday",
        "now": "2026-12-02T08:30:00+08:00",
        "now_label": "12月2日（周三）08:30",
    }
    assert post(server, "/api/clock", {"action": "dispatch"}).json["result"] == "已执行：dispatch"
    assert control.actions == ["next_workday", "dispatch"]


def test_clock_action_failure_is_json(server: FakeBotApiServer, control: FakeControl) -> None:
    control.fail_with = RuntimeError("boom")
    answer = post(server, "/api/clock", {"action": "summary"})
    assert answer.status == 500 and "操作失败" in answer.json["error"]
    control.fail_with = TimeoutError()
    assert post(server, "/api/clock", {"action": "summary"}).status == 504


# --------------------------------------------------------------------------- messages


def test_send_and_messages_round_trip(server: FakeBotApiServer, api: FakeBotApi) -> None:
    sent = post(
        server,
        "/api/send",
        {"user": OFFICIAL, "chat": OFFICIAL, "text": "<script>alert(1)</script> /tasks"},
    )
    assert sent.status == 200, sent.body
    mine = sent.json["message"]
    assert mine["outgoing"] is True
    assert "<script>" not in mine["html"]
    assert mine["html"].startswith("&lt;script&gt;alert(1)&lt;/script&gt; ")
    assert '<span class="tg-command" data-command="/tasks">/tasks</span>' in mine["html"]
    # The bot got the update, from the identity's name.
    update = api.pending_updates[-1]["message"]
    assert update["text"] == "<script>alert(1)</script> /tasks"
    assert update["from"]["first_name"] == "李四"

    bot_send(
        api,
        OFFICIAL,
        '<b>任务 &lt;script&gt;</b>\n<i>斜体</i> <u>下划线</u> <s>删除</s> <code>x&lt;y</code>\n'
        '<pre>块</pre> <a href="https://example.com/?a=1&amp;b=&quot;2">链接</a> '
        '<a href="javascript:alert(1)">坏链接</a> <tg-spoiler>剧透</tg-spoiler>',
        parse_mode="HTML",
        reply_parameters=json.dumps({"message_id": mine["message_id"]}),
        reply_markup=json.dumps(
            {"inline_keyboard": [[{"text": "办结", "callback_data": "done:1"},
                                  {"text": "说明", "url": "https://example.com/help"}]]}
        ),
    )
    listing = messages(server, OFFICIAL, OFFICIAL)
    assert [m["message_id"] for m in listing["messages"]] == [1, 2]
    assert listing["deleted"] == []
    assert listing["cursor"] == api.history_seq
    user_message, bot_message = listing["messages"]
    assert user_message["from"] == {"id": OFFICIAL, "name": "李四", "is_bot": False}
    assert user_message["time"] == datetime.fromtimestamp(user_message["date"], TZ).strftime(
        "%H:%M"
    )
    assert bot_message["from"]["is_bot"] is True and bot_message["outgoing"] is False
    body = bot_message["html"]
    assert body.startswith("<b>任务 &lt;script&gt;</b>\n<i>斜体</i> <u>下划线</u> <s>删除</s>")
    assert "<code>x&lt;y</code>" in body
    assert "<pre>块</pre>" in body
    assert (
        '<a href="https://example.com/?a=1&amp;b=&quot;2" target="_blank" '
        'rel="noopener noreferrer">链接</a>'
    ) in body
    assert "javascript" not in body and "坏链接" in body
    assert '<span class="tg-spoiler">剧透</span>' in body
    assert "<script" not in body
    assert bot_message["reply_to"] == {
        "message_id": 1,
        "from": "李四",
        "text": "<script>alert(1)</script> /tasks",
    }
    assert bot_message["buttons"] == [
        [{"text": "办结", "data": "done:1"}, {"text": "说明", "url": "https://example.com/help"}]
    ]
    assert bot_message["force_reply"] is False
    assert bot_message["seq"] > user_message["seq"]

    # Polling from the cursor: nothing new.
    assert messages(server, OFFICIAL, OFFICIAL, listing["cursor"])["messages"] == []


def test_force_reply_and_placeholder(server: FakeBotApiServer, api: FakeBotApi) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/start"})
    bot_send(
        api,
        OFFICIAL,
        "请说明延期原因",
        reply_markup=json.dumps({"force_reply": True, "input_field_placeholder": "延期原因"}),
    )
    prompt = messages(server, OFFICIAL, OFFICIAL)["messages"][-1]
    assert prompt["force_reply"] is True and prompt["placeholder"] == "延期原因"
    assert prompt["buttons"] == []
    # In a group a selective prompt is only for the user it replies to.
    said = post(server, "/api/send", {"user": ADMIN, "chat": GROUP, "text": "/report"}).json
    bot_send(
        api,
        GROUP,
        "请输入期间",
        reply_parameters=json.dumps({"message_id": said["message"]["message_id"]}),
        reply_markup=json.dumps({"force_reply": True, "selective": True}),
    )
    assert messages(server, ADMIN, GROUP)["messages"][-1]["force_reply"] is True
    assert messages(server, LEADER, GROUP)["messages"][-1]["force_reply"] is False


def test_edits_get_a_new_seq_and_deletions_are_reported(
    server: FakeBotApiServer, api: FakeBotApi
) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/tasks"})
    first = bot_send(api, OFFICIAL, "第一条")
    second = bot_send(api, OFFICIAL, "第二条")
    cursor = messages(server, OFFICIAL, OFFICIAL)["cursor"]
    status, _ = api.call(
        "editMessageText",
        {"chat_id": OFFICIAL, "message_id": first["message_id"], "text": "第一条（已改）"},
    )
    assert status == 200
    api.call("deleteMessage", {"chat_id": OFFICIAL, "message_id": second["message_id"]})
    changes = messages(server, OFFICIAL, OFFICIAL, cursor)
    assert [(m["message_id"], m["text"], m["edited"]) for m in changes["messages"]] == [
        (first["message_id"], "第一条（已改）", True)
    ]
    assert changes["deleted"] == [second["message_id"]]
    everything = messages(server, OFFICIAL, OFFICIAL)
    assert [m["message_id"] for m in everything["messages"]] == [1, first["message_id"]]


def test_long_poll_returns_when_the_bot_answers(
    server: FakeBotApiServer, api: FakeBotApi
) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/start"})
    cursor = messages(server, OFFICIAL, OFFICIAL)["cursor"]

    polled: list[Any] = []
    thread = threading.Thread(target=lambda: polled.append(get(
        server, f"/api/messages?user={OFFICIAL}&chat={OFFICIAL}&since={cursor}")))
    thread.start()
    bot_send(api, OFFICIAL, "你好")  # whether the poll is already waiting or not
    thread.join(timeout=10)
    [answer] = polled
    assert answer.status == 200
    assert [m["text"] for m in answer.json["messages"]] == ["你好"]

    # Nothing new: the poll ends empty when its wait is over.
    idle = get(
        server, f"/api/messages?user={OFFICIAL}&chat={OFFICIAL}&since={api.history_seq}&wait=0.3"
    )
    assert idle.json["messages"] == []
    # Activity in another chat doesn't end the wait with a false "nothing new".
    assert idle.json["cursor"] == api.history_seq


def test_stopping_the_server_ends_long_polls(api: FakeBotApi, control: FakeControl) -> None:
    web = SandboxWeb(api, control, poll_timeout=20.0)
    server = FakeBotApiServer(api, routes=web).start()
    result: list[float] = []

    def long_poll() -> None:
        started = time.monotonic()
        try:
            get(server, f"/api/messages?user={OFFICIAL}&chat={OFFICIAL}&since=5")
        except (OSError, http.client.HTTPException):  # cut off mid-answer: ended all the same
            pass
        result.append(time.monotonic() - started)

    thread = threading.Thread(target=long_poll)
    thread.start()
    server.stop()
    thread.join(timeout=5)
    assert result and result[0] < 5


def test_group_messages_are_visible_without_reaching_the_bot(
    server: FakeBotApiServer, api: FakeBotApi
) -> None:
    said = post(server, "/api/send", {"user": ADMIN, "chat": GROUP, "text": "大家好"})
    assert said.status == 200
    assert api.pending_updates == []  # privacy mode: a plain group message isn't for the bot
    listing = messages(server, LEADER, GROUP)
    assert [(m["from"]["name"], m["text"], m["outgoing"]) for m in listing["messages"]] == [
        ("王主任", "大家好", False)
    ]
    command = post(server, "/api/send", {"user": LEADER, "chat": GROUP, "text": "/tasks"})
    assert command.status == 200
    assert api.pending_updates[-1]["message"]["chat"]["id"] == GROUP


def test_reply_to(server: FakeBotApiServer, api: FakeBotApi) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/start"})
    prompt = bot_send(api, OFFICIAL, "请回复完成情况")
    answer = post(
        server,
        "/api/send",
        {"user": OFFICIAL, "chat": OFFICIAL, "text": "已完成", "reply_to": prompt["message_id"]},
    )
    assert answer.status == 200
    assert answer.json["message"]["reply_to"]["text"] == "请回复完成情况"
    update = api.pending_updates[-1]["message"]
    assert update["reply_to_message"]["message_id"] == prompt["message_id"]


def test_new_user_is_registered_on_first_use(server: FakeBotApiServer, api: FakeBotApi) -> None:
    assert NEWBIE not in api.users
    assert messages(server, NEWBIE, NEWBIE)["messages"] == []
    answer = post(server, "/api/send", {"user": NEWBIE, "chat": NEWBIE, "text": "/start"})
    assert answer.status == 200
    assert api.users[NEWBIE]["first_name"] == "新同志"
    assert answer.json["message"]["from"]["name"] == "新同志"


# --------------------------------------------------------------------------- buttons


def answer_next_callback(api: FakeBotApi, **params: Any) -> threading.Thread:
    """A bot thread that answers the next callback query with `params`."""

    def run() -> None:
        api.wait_until(lambda: any("callback_query" in u for u in api.pending_updates), 5)
        update = next(u for u in api.pending_updates if "callback_query" in u)
        api.call("getUpdates", {"offset": update["update_id"] + 1})
        api.call(
            "answerCallbackQuery",
            {"callback_query_id": update["callback_query"]["id"], **params},
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_press_returns_the_callback_answer(server: FakeBotApiServer, api: FakeBotApi) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/tasks"})
    keyboard = {"inline_keyboard": [[{"text": "办结", "callback_data": "done:7"}]]}
    card = bot_send(api, OFFICIAL, "任务 7", reply_markup=json.dumps(keyboard))
    api.call("getUpdates", {"offset": api.updates[-1]["update_id"] + 1})

    thread = answer_next_callback(api, text="已办结 ✅", show_alert=False)
    pressed = post(
        server,
        "/api/press",
        {"user": OFFICIAL, "chat": OFFICIAL, "message_id": card["message_id"], "data": "done:7"},
    )
    thread.join()
    assert pressed.status == 200, pressed.body
    assert pressed.json == {"ok": True, "answered": True, "text": "已办结 ✅", "show_alert": False}
    query = api.updates[-1]["callback_query"]
    assert query["data"] == "done:7" and query["from"]["id"] == OFFICIAL

    thread = answer_next_callback(api, text="请先填写原因", show_alert=True)
    alert = post(
        server,
        "/api/press",
        {"user": OFFICIAL, "chat": OFFICIAL, "message_id": card["message_id"], "data": "done:7"},
    )
    thread.join()
    assert alert.json["show_alert"] is True and alert.json["text"] == "请先填写原因"

    # A bot that never answers: the press still succeeds after the short wait.
    started = time.monotonic()
    silent = post(
        server,
        "/api/press",
        {"user": OFFICIAL, "chat": OFFICIAL, "message_id": card["message_id"], "data": "done:7"},
    )
    assert silent.json["answered"] is False and silent.json["text"] is None
    assert 0.9 < time.monotonic() - started < 3


# --------------------------------------------------------------------------- files


def test_upload_document_and_download(server: FakeBotApiServer, api: FakeBotApi) -> None:
    content = b"PK\x03\x04 fake xlsx bytes"
    answer = post(
        server,
        "/api/upload",
        {
            "user": ADMIN,
            "chat": ADMIN,
            "filename": "C:\\Users\\wang\\台账 2026.xlsx",
            "content_base64": base64.b64encode(content).decode(),
            "caption": "/import",
        },
    )
    assert answer.status == 200, answer.body
    shaped = answer.json["message"]
    assert shaped["document"]["file_name"] == "台账 2026.xlsx"
    assert shaped["document"]["file_size"] == len(content)
    assert shaped["caption"] == "/import"
    assert shaped["caption_html"] == (
        '<span class="tg-command" data-command="/import">/import</span>'
    )
    update = api.pending_updates[-1]["message"]
    assert update["caption"] == "/import"
    assert update["document"]["mime_type"] == XLSX
    listed = messages(server, ADMIN, ADMIN)["messages"]
    assert listed[-1]["document"]["file_id"] == shaped["document"]["file_id"]

    download = get(server, f"/api/file/{shaped['document']['file_id']}")
    assert download.status == 200
    assert download.body == content
    assert download.headers["Content-Type"] == XLSX
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E5%8F%B0%E8%B4%A6%202026.xlsx" in disposition

    csv = post(
        server,
        "/api/upload",
        {"user": ADMIN, "chat": ADMIN, "filename": "a.csv", "content_base64": "YSxiCg=="},
    ).json["message"]
    csv_download = get(server, f"/api/file/{csv['document']['file_id']}")
    assert csv_download.headers["Content-Type"] == "text/csv; charset=utf-8"
    other = post(
        server,
        "/api/upload",
        {"user": ADMIN, "chat": ADMIN, "filename": "x.html", "content_base64": "PGI+"},
    ).json["message"]
    other_download = get(server, f"/api/file/{other['document']['file_id']}")
    assert other_download.headers["Content-Type"] == "application/octet-stream"


def test_bot_photo_is_served_inline(server: FakeBotApiServer, api: FakeBotApi) -> None:
    post(server, "/api/send", {"user": ADMIN, "chat": ADMIN, "text": "/report"})
    status, answer = api.call(
        "sendPhoto",
        {
            "chat_id": ADMIN,
            "photo": "attach://chart",
            "caption": "<b>通报</b>",
            "parse_mode": "HTML",
        },
        {"chart": ("chart.png", PNG_1x1, "image/png")},
    )
    assert status == 200, answer
    shaped = messages(server, ADMIN, ADMIN)["messages"][-1]
    assert shaped["photo"]["width"] == 1 and shaped["caption_html"] == "<b>通报</b>"
    image = get(server, f"/api/file/{shaped['photo']['file_id']}")
    assert image.status == 200 and image.body == PNG_1x1
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"] == "inline"


def test_upload_too_large_is_413(server: FakeBotApiServer, api: FakeBotApi) -> None:
    big = base64.b64encode(b"x" * (MAX_UPLOAD_BYTES + 1)).decode()
    answer = post(
        server, "/api/upload", {"user": ADMIN, "chat": ADMIN, "filename": "a.bin",
                                "content_base64": big}
    )
    assert answer.status == 413 and "10 MB" in answer.json["error"]
    assert api.pending_updates == []


def test_huge_body_is_refused_before_reading(server: FakeBotApiServer) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    connection.putrequest("POST", "/api/upload")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(500 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert "error" in json.loads(response.read())
    connection.close()


# --------------------------------------------------------------------------- bad input


def _upload(**changes: Any) -> dict[str, Any]:
    body = {"user": ADMIN, "chat": ADMIN, "filename": "a.csv", "content_base64": "YSxiCg=="}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


BAD_POSTS = [
    ("/api/send", {"user": "abc", "chat": OFFICIAL, "text": "hi"}),
    ("/api/send", {"chat": OFFICIAL, "text": "hi"}),
    ("/api/send", {"user": True, "chat": OFFICIAL, "text": "hi"}),
    ("/api/send", {"user": 1.5, "chat": OFFICIAL, "text": "hi"}),
    ("/api/send", {"user": [OFFICIAL], "chat": OFFICIAL, "text": "hi"}),
    ("/api/send", {"user": OFFICIAL, "chat": "x", "text": "hi"}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": ""}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "  \n "}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": 123}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "a\x00b"}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "长" * 4097}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "😀" * 2049}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "hi", "reply_to": "x"}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "hi", "reply_to": 999}),
    ("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "hi", "reply_to": -1}),
    ("/api/send", {"user": 10**30, "chat": OFFICIAL, "text": "hi"}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": "x", "data": "a"}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": 1}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": 1, "data": ""}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": 1, "data": "x" * 65}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": 1, "data": {"a": 1}}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": 1, "data": "nope"}),
    ("/api/press", {"user": OFFICIAL, "chat": OFFICIAL, "message_id": 99, "data": "done:1"}),
    ("/api/upload", _upload(filename=...)),
    ("/api/upload", _upload(filename="")),
    ("/api/upload", _upload(filename="../")),
    ("/api/upload", _upload(filename="a\nb.csv")),
    ("/api/upload", _upload(filename="x" * 300)),
    ("/api/upload", _upload(content_base64=...)),
    ("/api/upload", _upload(content_base64="!!!not base64!!!")),
    ("/api/upload", _upload(content_base64="")),
    ("/api/upload", _upload(content_base64=12)),
    ("/api/upload", _upload(caption="c" * 1025)),
    ("/api/upload", _upload(caption=5)),
    ("/api/upload", _upload(reply_to="x")),
    ("/api/clock", {}),
    ("/api/clock", {"action": "rm -rf /"}),
    ("/api/clock", {"action": 5}),
    ("/api/clock", {"action": ["dispatch"]}),
]


@pytest.mark.parametrize(("path", "payload"), BAD_POSTS)
def test_bad_posts_are_400(
    server: FakeBotApiServer, api: FakeBotApi, control: FakeControl, path: str,
    payload: dict[str, Any]
) -> None:
    post(server, "/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "/tasks"})
    keyboard = {"inline_keyboard": [[{"text": "办结", "callback_data": "done:1"}]]}
    bot_send(api, OFFICIAL, "任务", reply_markup=json.dumps(keyboard))
    updates = len(api.updates)
    answer = post(server, path, payload)
    assert answer.status == 400, answer.body
    error = answer.json["error"]
    assert " / " in error and any("\u4e00" <= ch <= "\u9fff" for ch in error)
    assert len(api.updates) == updates  # nothing reached the bot
    assert control.actions == []


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b"\xff\xfe", b"", b'"text"', b"null"],
)
def test_undecodable_bodies_are_400(server: FakeBotApiServer, raw: bytes) -> None:
    answer = fetch(server, "/api/send", raw=raw)
    assert answer.status == 400, answer.body
    assert "error" in answer.json


def test_non_json_content_type_is_refused(server: FakeBotApiServer) -> None:
    form = fetch(
        server,
        "/api/send",
        raw=f"user={OFFICIAL}&chat={OFFICIAL}&text=hi".encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status == 415 and "error" in form.json
    plain = fetch(server, "/api/clock", raw=b'{"action": "dispatch"}', content_type="text/plain")
    assert plain.status == 415


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"chat={OFFICIAL}",
        f"user=abc&chat={OFFICIAL}",
        f"user={OFFICIAL}&chat=abc",
        f"user={OFFICIAL}&chat={OFFICIAL}&since=-1",
        f"user={OFFICIAL}&chat={OFFICIAL}&since=x",
        f"user={OFFICIAL}&chat={OFFICIAL}&since=1.5",
        f"user={OFFICIAL}&chat={OFFICIAL}&wait=x",
        f"user={OFFICIAL}&chat={OFFICIAL}&wait=100",
        f"user={OFFICIAL}&chat={OFFICIAL}&wait=-1",
        f"user={OFFICIAL}&user={ADMIN}&chat={OFFICIAL}",
    ],
)
def test_bad_message_queries_are_400(server: FakeBotApiServer, query: str) -> None:
    answer = get(server, f"/api/messages?{query}")
    assert answer.status == 400, answer.body
    assert "error" in answer.json


def test_bad_state_query_is_400(server: FakeBotApiServer) -> None:
    assert get(server, "/api/state?user=abc").status == 400


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("user", "chat"),
    [
        (OFFICIAL, ADMIN),  # someone else's private chat
        (OFFICIAL, OTHER_OFFICIAL),
        (OFFICIAL, GROUP),  # officials aren't in the admin group
        (NEWBIE, GROUP),
        (ADMIN, -100999),  # a group that isn't the admin group
        (9999, 9999),  # not an identity at all
    ],
)
def test_other_chats_are_403(
    server: FakeBotApiServer, api: FakeBotApi, user: int, chat: int
) -> None:
    post(server, "/api/send", {"user": ADMIN, "chat": ADMIN, "text": "/start"})
    bot_send(api, ADMIN, "私聊内容")
    updates = len(api.updates)
    reads = get(server, f"/api/messages?user={user}&chat={chat}&since=0&wait=0")
    assert reads.status == 403 and "error" in reads.json
    writes = post(server, "/api/send", {"user": user, "chat": chat, "text": "hi"})
    assert writes.status == 403
    presses = post(
        server, "/api/press", {"user": user, "chat": chat, "message_id": 2, "data": "x"}
    )
    assert presses.status == 403
    uploads = post(server, "/api/upload", _upload(user=user, chat=chat))
    assert uploads.status == 403
    assert len(api.updates) == updates


def test_admins_and_leaders_use_the_admin_group(server: FakeBotApiServer) -> None:
    for user in (ADMIN, LEADER):
        said = post(server, "/api/send", {"user": user, "chat": GROUP, "text": "收到"})
        assert said.status == 200
        assert get(server, f"/api/messages?user={user}&chat={GROUP}&wait=0").status == 200


def test_chat_defaults_to_the_private_chat(server: FakeBotApiServer, api: FakeBotApi) -> None:
    assert post(server, "/api/send", {"user": OFFICIAL, "text": "/start"}).status == 200
    assert api.pending_updates[-1]["message"]["chat"]["id"] == OFFICIAL


# --------------------------------------------------------------------------- rendering


def test_entities_to_html_nesting_and_overlap() -> None:
    text = "abcdef"
    entities = [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 2, "length": 4},  # overlaps the end of bold
    ]
    assert entities_to_html(text, entities) == "<b>ab<i>cd</i></b><i>ef</i>"
    nested = [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "italic", "offset": 1, "length": 2},
        {"type": "underline", "offset": 1, "length": 5},
    ]
    assert entities_to_html(text, nested) == "<b>a<u><i>bc</i>def</u></b>"


def test_entities_to_html_uses_utf16_offsets() -> None:
    text = "😀 <b> 完成 https://x.cn/a?b=1&c=2"
    entities = [
        {"type": "bold", "offset": 3, "length": 3},  # "<b>" after a 2-unit emoji and a space
        {"type": "url", "offset": 10, "length": 24},
    ]
    assert entities_to_html(text, entities) == (
        '😀 <b>&lt;b&gt;</b> 完成 <a href="https://x.cn/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer">https://x.cn/a?b=1&amp;c=2</a>'
    )


def test_entities_to_html_is_safe_with_odd_entities() -> None:
    text = 'x"><img src=y onerror=alert(1)>'
    entities: list[dict[str, Any]] = [
        {"type": "text_link", "offset": 0, "length": 5, "url": 'https://a/"><script>'},
        {"type": "text_link", "offset": 5, "length": 3, "url": "data:text/html,<script>"},
        {"type": "pre", "offset": 0, "length": 2, "language": '"><script>'},
        {"type": "bold", "offset": 50, "length": 3},  # out of range
        {"type": "bold", "offset": 1},  # malformed
        {"type": "custom_emoji", "offset": 0, "length": 1, "custom_emoji_id": "1"},
    ]
    rendered = entities_to_html(text, entities)
    assert "<script" not in rendered and "<img" not in rendered and "data:" not in rendered
    assert '<a href="https://a/&quot;&gt;&lt;script&gt;"' in rendered
    assert '<pre data-language="&quot;&gt;&lt;script&gt;">' in rendered
    assert entities_to_html("<i>", None) == "&lt;i&gt;"


# --------------------------------------------------------------------------- core: history


def test_chat_history_in_the_core() -> None:
    api = FakeBotApi()
    api.add_user(7, "Q")
    assert api.history_seq == 0 and api.chat_history(7) == []
    api.send_text(7, "hi")
    status, _ = api.call("sendMessage", {"chat_id": 7, "text": "hello"})
    assert status == 200
    history = api.chat_history(7)
    assert [(m["message_id"], m["seq"]) for m in history] == [(1, 1), (2, 2)]
    history[0]["text"] = "changed"  # copies: the stored message is untouched
    assert api.chat_history(7)[0]["text"] == "hi"
    assert "seq" not in api.sent[0]
    api.call("editMessageText", {"chat_id": 7, "message_id": 2, "text": "hello!"})
    assert [(m["message_id"], m["seq"]) for m in api.chat_history(7, since=2)] == [(2, 3)]
    api.call("deleteMessage", {"chat_id": 7, "message_id": 2})
    assert [m["message_id"] for m in api.chat_history(7)] == [1]
    assert api.chat_deletions(7) == [2] and api.chat_deletions(7, since=4) == []
    assert api.chat_seq(7) == 4 == api.history_seq
    assert api.wait_chat_change(7, 3, 0.0) is True
    assert api.wait_chat_change(7, 4, 0.05) is False
    assert api.private_chat_title(7) == "Luoshi Test Bot"
    api.call("setMyName", {"name": "落实机器人"})
    assert api.chat_title(7) == "落实机器人"


# --------------------------------------------------------------------------- server: routes


class _Routes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, list[str]], bytes]] = []

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        self.seen.append((method, path, query, body))
        if path == "/hello":
            headers = {"Content-Type": "text/plain; charset=utf-8", "X-Test": "1"}
            return 200, headers, "你好".encode()
        if path == "/crash":
            raise RuntimeError("boom")
        return None


def test_server_routes_hook(api: FakeBotApi) -> None:
    routes = _Routes()
    with FakeBotApiServer(api, routes=routes) as srv:
        assert srv.host == "127.0.0.1"
        hello = fetch(srv, "/hello?a=1&a=2&b=", raw=b"xyz", content_type="text/plain")
        assert (hello.status, hello.body.decode(), hello.headers["X-Test"]) == (200, "你好", "1")
        assert routes.seen[-1] == ("POST", "/hello", {"a": ["1", "2"], "b": [""]}, b"xyz")
        declined = get(srv, "/nothing%20here")
        assert declined.status == 404 and "error" in declined.json
        assert routes.seen[-1][1] == "/nothing here"
        crashed = get(srv, "/crash")
        assert crashed.status == 500 and "error" in crashed.json
        count = len(routes.seen)
        assert get(srv, f"/bot{api.token}/getMe").status == 200
        assert get(srv, f"/file/bot{api.token}/documents/none").status == 404
        assert len(routes.seen) == count  # Bot API paths never reach the routes


# ---- the sandbox's clock at start ------------------------------------------------------------


@pytest.mark.parametrize(("wall", "expected"), [
    # Thursday 3 Dec 2026, 06:30: before the send time, the same day's 09:00.
    (datetime(2026, 12, 3, 6, 30), datetime(2026, 12, 3, 9, 0)),
    # Thursday 10:15: already in working hours, the clock stays where it is.
    (datetime(2026, 12, 3, 10, 15), datetime(2026, 12, 3, 10, 15)),
    # Saturday 5 Dec: the next workday, Monday 7 Dec, 09:00.
    (datetime(2026, 12, 5, 14, 0), datetime(2026, 12, 7, 9, 0)),
])
def test_sandbox_starts_in_working_hours(wall: datetime, expected: datetime) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    clock = MovableClock(tz, wall=lambda zone: wall.replace(tzinfo=zone))
    start_in_working_hours(clock, default_calendar(), datetime(2026, 1, 1, 9, 0).time())
    assert clock.now() == expected.replace(tzinfo=tz)
