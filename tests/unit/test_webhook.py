"""The webhook's HTTP server (bot/tg/webhook.py) on a real socket, with a recording intake:
the secret checked before anything is read, bodies limited and parsed, 200 only once the
intake took the update, 500 when it could not be stored, /healthz for the load balancer,
keep-alive, and a close that lets a request being stored finish."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from bot.domain.ports import PersistenceError
from bot.tg.webhook import MAX_BODY, ListenError, WebhookServer, webhook_path

SECRET = "s3cret-Token_1"
PATH = "/telegram/hook"
UPDATE = {"update_id": 7, "message": {"message_id": 1, "text": "进度60%"}}


class RecordingIntake:
    """Stands in for bot.tg.intake.Intake: records what it was given; can fail or block."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.fail: Exception | None = None
        self.entered = asyncio.Event()
        self.release: asyncio.Event | None = None

    async def accept(self, raws: Sequence[dict[str, Any]]) -> int:
        self.entered.set()
        if self.release is not None:
            await self.release.wait()
        if self.fail is not None:
            raise self.fail
        self.accepted.extend(raws)
        return len(raws)


class Client:
    """One HTTP/1.1 connection, written and read by hand (keep-alive, odd requests)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, method: str, path: str, body: bytes = b"", *,
                   headers: dict[str, str] | None = None, length: bool = True) -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: worker"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if length and (body or method == "POST"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()

    async def response(self, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        return status, headers, await self.reader.readexactly(length)

    async def request(self, method: str, path: str, body: bytes = b"",
                      **options: Any) -> tuple[int, dict[str, str], bytes]:
        await self.send(method, path, body, **options)
        return await self.response(head=method == "HEAD")

    async def closed(self) -> bool:
        """The server closed the connection (EOF, or a reset)."""
        try:
            return await self.reader.read(1) == b""
        except ConnectionError:
            return True

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def post_headers(secret: str | None = SECRET) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return headers


def body_of(update: dict[str, Any]) -> bytes:
    return json.dumps(update, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def intake() -> RecordingIntake:
    return RecordingIntake()


@pytest.fixture
async def server(intake: RecordingIntake) -> AsyncIterator[WebhookServer]:
    server = WebhookServer(intake, path=PATH, secret=SECRET,
                           health=lambda: {"mode": "webhook", "backend": "tinydb"})
    await server.start("127.0.0.1", 0)
    server.serving()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def client(server: WebhookServer) -> AsyncIterator[Client]:
    client = await Client.connect(server.port)
    try:
        yield client
    finally:
        await client.close()


def test_the_path_served_is_the_public_urls() -> None:
    assert webhook_path("https://luoshi.example.gov.cn/telegram/hook?x=1") == "/telegram/hook"
    assert webhook_path("https://luoshi.example.gov.cn") == "/"


async def test_an_update_with_the_secret_is_accepted_then_answered_200(
        client: Client, intake: RecordingIntake, server: WebhookServer) -> None:
    status, _headers, body = await client.request("POST", PATH, body_of(UPDATE),
                                                  headers=post_headers())
    assert (status, body) == (200, b"")
    assert intake.accepted == [UPDATE]
    assert server.accepted == 1


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("guessed-1", 403),
                                                (SECRET + "x", 403), ("", 403)])
async def test_without_the_right_secret_nothing_is_read_or_stored(
        client: Client, intake: RecordingIntake, server: WebhookServer,
        caplog: pytest.LogCaptureFixture, secret: str | None, status: int) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.tg.webhook"):
        answer, headers, _body = await client.request("POST", PATH, body_of(UPDATE),
                                                      headers=post_headers(secret))
    assert answer == status
    assert headers.get("connection") == "close" and await client.closed()
    assert intake.accepted == [] and not intake.entered.is_set()
    assert server.refusals.count == 1
    assert SECRET not in caplog.text
    if secret:
        assert secret not in caplog.text


async def test_refusals_are_logged_at_most_once_a_minute(
        server: WebhookServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.tg.webhook"):
        for _ in range(5):
            client = await Client.connect(server.port)
            status, _h, _b = await client.request("POST", PATH, b"{}",
                                                  headers=post_headers("nope"))
            assert status == 403
            await client.close()
    assert server.refusals.count == 5
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"message": {}}', b"\xff\xfe",
                                  b""])
async def test_a_body_that_is_not_an_update_is_400(client: Client, intake: RecordingIntake,
                                                   body: bytes) -> None:
    status, _headers, answer = await client.request("POST", PATH, body, headers=post_headers())
    assert status == 400 and json.loads(answer)["ok"] is False
    assert intake.accepted == []
    # The body was read: the connection serves the next request.
    status, _headers, _answer = await client.request("POST", PATH, body_of(UPDATE),
                                                     headers=post_headers())
    assert status == 200


async def test_a_body_over_the_limit_is_413_without_being_read(
        client: Client, intake: RecordingIntake) -> None:
    await client.send("POST", PATH, headers={**post_headers(),
                                             "Content-Length": str(MAX_BODY + 1)},
                      length=False)
    status, headers, _answer = await client.response()
    assert status == 413 and headers.get("connection") == "close"
    assert await client.closed()
    assert intake.accepted == []


async def test_chunked_bodies_are_not_spoken(client: Client, intake: RecordingIntake) -> None:
    await client.send("POST", PATH, b"5\r\nhello\r\n0\r\n\r\n",
                      headers={**post_headers(), "Transfer-Encoding": "chunked"}, length=False)
    status, _headers, _answer = await client.response()
    assert status == 501 and await client.closed()
    assert intake.accepted == []


async def test_a_failed_store_is_500_so_telegram_sends_it_again(
        client: Client, intake: RecordingIntake) -> None:
    intake.fail = PersistenceError("disk full")
    status, _headers, _body = await client.request("POST", PATH, body_of(UPDATE),
                                                   headers=post_headers())
    assert status == 500
    intake.fail = RuntimeError("a bug")
    status, _headers, _body = await client.request("POST", PATH, body_of(UPDATE),
                                                   headers=post_headers())
    assert status == 500
    intake.fail = None
    status, _headers, _body = await client.request("POST", PATH, body_of(UPDATE),
                                                   headers=post_headers())
    assert status == 200 and intake.accepted == [UPDATE]


async def test_healthz_reports_the_callbacks_fields(client: Client) -> None:
    status, headers, body = await client.request("GET", "/healthz")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"ok": True, "state": "serving", "mode": "webhook",
                                "backend": "tinydb"}
    status, headers, body = await client.request("HEAD", "/healthz")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


async def test_starting_and_stopping_answer_503(intake: RecordingIntake) -> None:
    server = WebhookServer(intake, path=PATH, secret=SECRET)
    await server.start("127.0.0.1", 0)
    client = await Client.connect(server.port)
    try:
        status, _h, body = await client.request("GET", "/healthz")
        assert status == 503
        assert json.loads(body) == {"ok": False, "state": "starting", "mode": "webhook"}
        status, _h, _b = await client.request("POST", PATH, body_of(UPDATE),
                                              headers=post_headers())
        assert status == 503 and await client.closed()
        assert intake.accepted == []
    finally:
        await client.close()
        await server.close()
    assert server.state == "stopping"


async def test_other_paths_are_404_and_other_methods_405(client: Client) -> None:
    status, _h, _b = await client.request("GET", "/")
    assert status == 404
    status, _h, _b = await client.request("POST", "/elsewhere", body_of(UPDATE),
                                          headers=post_headers())
    assert status == 404
    status, headers, _b = await client.request("GET", PATH)
    assert status == 405 and headers["allow"] == "POST"
    status, _h, _b = await client.request("POST", "/healthz", b"{}")
    assert status == 404


async def test_one_connection_carries_many_updates(client: Client,
                                                   intake: RecordingIntake) -> None:
    for n in range(5):
        update = {**UPDATE, "update_id": n}
        status, headers, _b = await client.request("POST", f"{PATH}?ignored=1",
                                                   body_of(update), headers=post_headers())
        assert status == 200 and "connection" not in headers
    assert [u["update_id"] for u in intake.accepted] == [0, 1, 2, 3, 4]


async def test_a_malformed_request_is_400_and_closed(server: WebhookServer) -> None:
    client = await Client.connect(server.port)
    client.writer.write(b"NONSENSE\r\n\r\n")
    status, _headers, _body = await client.response()
    assert status == 400 and await client.closed()
    await client.close()


async def test_close_lets_a_request_being_stored_finish(server: WebhookServer,
                                                        intake: RecordingIntake) -> None:
    idle = await Client.connect(server.port)
    assert (await idle.request("GET", "/healthz"))[0] == 200
    busy = await Client.connect(server.port)
    intake.release = asyncio.Event()
    await busy.send("POST", PATH, body_of(UPDATE), headers=post_headers())
    await intake.entered.wait()
    closing = asyncio.create_task(server.close())
    assert await idle.closed()  # an idle keep-alive connection is closed at once
    assert not closing.done()
    intake.release.set()
    status, headers, _b = await busy.response()
    await closing
    assert status == 200 and intake.accepted == [UPDATE]
    assert headers["connection"] == "close"
    assert await busy.closed()
    await idle.close()
    await busy.close()


async def test_an_address_in_use_is_a_listen_error_that_names_it(
        server: WebhookServer, intake: RecordingIntake) -> None:
    second = WebhookServer(intake, path=PATH, secret=SECRET)
    with pytest.raises(ListenError) as caught:
        await second.start("127.0.0.1", server.port)
    assert f"127.0.0.1:{server.port}" in str(caught.value) and "无法监听" in str(caught.value)
    await second.close()
