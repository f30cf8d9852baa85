"""The fake Bot API's webhook delivery (bot/fakeapi/webhook.py) against small local receivers:
nothing is posted before setWebhook; each update carries the secret; it is retried until a
200 and then leaves the queue; getWebhookInfo counts what is pending; allowed_updates filter;
several targets and redeliveries for the tests of several workers; a stop ends it promptly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.fakeapi.webhook import WebhookPoster

USER = 501
SECRET = "fake-webhook_secret"


class Receiver:
    """A local HTTP endpoint that records each POST and answers the next status in
    `statuses` (200 once they run out); `hold` makes it wait before answering."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.statuses: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()  # a POST came in (before `hold`)
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrived.set()
                receiver.hold.wait(10)
                with receiver.cond:
                    receiver.posts.append((json.loads(body), dict(self.headers.items())))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def ids(self) -> list[int]:
        with self.cond:
            return [update["update_id"] for update, _headers in self.posts]

    def wait_posts(self, count: int, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.posts) >= count, timeout), self.posts


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made = [Receiver(), Receiver()]
    for receiver in made:
        receiver.thread.start()
    yield made
    for receiver in made:
        receiver.hold.set()
        receiver.httpd.shutdown()
        receiver.httpd.server_close()


@pytest.fixture
def api() -> FakeBotApi:
    api = FakeBotApi()
    api.add_user(USER, "张三")
    return api


def set_webhook(api: FakeBotApi, url: str, **params: Any) -> None:
    status, answer = api.call("setWebhook", {"url": url, "secret_token": SECRET, **params})
    assert status == 200, answer


def info(api: FakeBotApi) -> dict[str, Any]:
    result: dict[str, Any] = api.call("getWebhookInfo", {})[1]["result"]
    return result


def test_updates_wait_for_a_webhook_then_arrive_in_order_with_the_secret(
        api: FakeBotApi, receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    with FakeBotApiServer(api, webhook=WebhookPoster(api, concurrency=1)) as server:
        for n in range(3):
            api.send_text(USER, f"第{n}条")
        assert info(api)["pending_update_count"] == 3 and receiver.posts == []
        set_webhook(api, receiver.url)
        server.webhook.wait_idle()
        assert receiver.ids() == [u["update_id"] for u in api.updates]
        assert [u["message"]["text"] for u, _h in receiver.posts] == ["第0条", "第1条", "第2条"]
        assert all(h["X-Telegram-Bot-Api-Secret-Token"] == SECRET for _u, h in receiver.posts)
        assert info(api)["pending_update_count"] == 0 and api.pending_updates == []
        assert api.call("getUpdates", {})[0] == 409


def test_an_update_is_retried_until_it_is_taken(api: FakeBotApi,
                                                 receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    receiver.statuses = [500, 503]
    poster = WebhookPoster(api, concurrency=1, backoff=(0.01,))
    with poster:
        set_webhook(api, receiver.url)
        api.send_text(USER, "进度60%")
        api.send_text(USER, "/tasks")
        poster.wait_idle()
    first, second = (u["update_id"] for u in api.updates)
    assert receiver.ids() == [first, first, first, second], "in order, the first one retried"
    assert [d.status for d in poster.delivered(first)] == [500, 503, 200]
    assert "503" in info(api)["last_error_message"]


def test_a_target_that_is_down_keeps_the_update_pending(api: FakeBotApi) -> None:
    poster = WebhookPoster(api, concurrency=1, backoff=(0.01,))
    with poster:
        set_webhook(api, "http://127.0.0.1:9/nobody-listens")
        api.send_text(USER, "进度60%")
        api.wait_until(lambda: len(poster.deliveries) >= 2)
    assert all(d.status is None for d in poster.deliveries)
    assert info(api)["pending_update_count"] == 1
    assert "Connection failed" in info(api)["last_error_message"]


def test_only_the_allowed_kinds_are_delivered(api: FakeBotApi,
                                              receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    poster = WebhookPoster(api, concurrency=1)
    with poster:
        set_webhook(api, receiver.url, allowed_updates=["callback_query"])
        api.send_text(USER, "not wanted")
        poster.wait_idle()
        assert receiver.posts == [] and api.pending_updates == []
        assert info(api)["allowed_updates"] == ["callback_query"]


def test_targets_spread_deliveries_and_duplicates_repeat_them(
        api: FakeBotApi, receivers: list[Receiver]) -> None:
    poster = WebhookPoster(api, concurrency=1, seed=7,  # one thread: the same draws each run
                           targets=[r.url for r in receivers], duplicate_rate=0.5)
    with poster:
        set_webhook(api, "https://luoshi.example.gov.cn/telegram")
        for n in range(30):
            api.send_text(USER, f"第{n}条")
        poster.wait_idle()
    ids = [u["update_id"] for u in api.updates]
    received = receivers[0].ids() + receivers[1].ids()
    assert set(received) == set(ids)
    assert receivers[0].posts and receivers[1].posts, "both workers got some"
    twice = {i for i in ids if received.count(i) == 2}
    assert 5 <= len(twice) <= 25 and all(received.count(i) <= 2 for i in ids)
    assert {d.update_id for d in poster.deliveries if d.duplicate} == twice


def test_delete_webhook_stops_delivery_and_getupdates_works_again(
        api: FakeBotApi, receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    poster = WebhookPoster(api, concurrency=1)
    with poster:
        set_webhook(api, receiver.url)
        api.send_text(USER, "one")
        poster.wait_idle()
        assert api.call("deleteWebhook", {})[0] == 200
        api.send_text(USER, "two")
        status, answer = api.call("getUpdates", {"timeout": 0})
        assert status == 200 and [u["message"]["text"] for u in answer["result"]] == ["two"]
    assert [u["message"]["text"] for u, _h in receiver.posts] == ["one"]


def test_stop_cuts_off_a_post_that_hangs(api: FakeBotApi, receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    receiver.hold.clear()  # the worker never answers
    poster = WebhookPoster(api, concurrency=1, timeout=30)
    poster.start()
    set_webhook(api, receiver.url)
    api.send_text(USER, "进度60%")
    assert receiver.arrived.wait(10)
    poster.stop()  # returns at once: the connection is shut down
    assert poster.deliveries[-1].status is None
    assert info(api)["pending_update_count"] == 1, "not taken: still queued"


def test_a_bad_secret_is_refused_like_telegram(api: FakeBotApi) -> None:
    status, answer = api.call("setWebhook", {"url": "https://x.example/h",
                                             "secret_token": "has space"})
    assert status == 400 and "secret token" in answer["description"]
