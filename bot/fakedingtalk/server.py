"""`FakeDingTalk`: the fake 钉钉 in one process, on real sockets on 127.0.0.1.

    with FakeDingTalk(client_id="app", client_secret="s3cret", robot_code="robot") as fake:
        fake.add_staff("zhangsan", "张三")
        client = StreamClient(api_base=fake.url, client_id="app", client_secret="s3cret", ...)
        message_id = fake.send_text("zhangsan", "进度60%")
        assert await fake.wait_acked(message_id)
        fake.messages_to("zhangsan")  # what the robot sent them

Two ports: HTTP (`url`, the `api_base` for the OpenAPI, also serving the custom robot webhook
and session webhooks) on a threading HTTP server, and the Stream WebSocket (`stream_url`,
handed out by `connections/open`) on its own event loop thread. The user-side helpers are
synchronous and may be called from any thread; `wait_*` are async and may be awaited on any
event loop (they run on the fake's loop).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from bot.fakedingtalk import openapi, users
from bot.fakedingtalk.state import FakeState, Group, JSONDict, ManualClock, SentMessage, Staff
from bot.fakedingtalk.stream import Frame, StreamServer

__all__ = ["FakeDingTalk"]

_LOGGER = logging.getLogger(__name__)
ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeDingTalk) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("fake 钉钉 %s", format % args)  # the path only: no bodies, no secrets

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        try:
            decoded = json.loads(raw.decode("utf-8")) if raw else {}
            body: JSONDict = decoded if isinstance(decoded, dict) else {}
        except ValueError:
            body = {}
        if fake.state.http_delay > 0:
            time.sleep(fake.state.http_delay)  # the fake's own thread, never the bot's loop
        headers: Message = self.headers
        status, answer = openapi.answer(
            fake.state,
            method,
            split.path,
            parse_qs(split.query),
            headers,
            body,
            stream_endpoint=fake.stream_url,
        )
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


class FakeDingTalk:
    """The fake 钉钉 (see the module's docstring). `clock` is the fake's time in epoch seconds
    (tokens, tickets, the 20-a-minute limit, the one-day duplicate rule); give it a
    `ManualClock` in tests."""

    def __init__(
        self,
        *,
        client_id: str = "dingfakeclientid",
        client_secret: str = "fake-client-secret",
        robot_code: str = "dingfakerobotcode",
        clock: Callable[[], float] | ManualClock | None = None,
    ) -> None:
        if isinstance(clock, ManualClock):
            clock = clock.now
        self.state = FakeState(client_id, client_secret, robot_code, clock or time.time)
        self.stream = StreamServer(self.state)
        self._http: _HTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    # ---- life cycle --------------------------------------------------------------------------

    def start(self) -> FakeDingTalk:
        self.stream.start()
        http = self._http = _HTTPServer(self)
        self._http_thread = threading.Thread(
            target=lambda: http.serve_forever(poll_interval=0.05), daemon=True
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        self.stream.stop()

    def __enter__(self) -> FakeDingTalk:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The `api_base` (also the webhook host): http://127.0.0.1:PORT."""
        assert self._http is not None, "not started"
        host, port = self._http.server_address[:2]
        return f"http://{host if isinstance(host, str) else '127.0.0.1'}:{port}"

    @property
    def stream_url(self) -> str:
        return self.stream.url

    # ---- the organisation --------------------------------------------------------------------

    def add_staff(self, staff_id: str, name: str) -> Staff:
        return self.state.add_staff(staff_id, name)

    def add_group(
        self,
        open_conversation_id: str,
        title: str,
        members: list[str] | None = None,
        *,
        robot_in: bool = True,
        webhook_token: str | None = None,
        webhook_secret: str | None = None,
    ) -> Group:
        group = self.state.add_group(open_conversation_id, title, members, robot_in=robot_in)
        group.webhook_token = webhook_token
        group.webhook_secret = webhook_secret
        return group

    def webhook_url(self, open_conversation_id: str) -> str:
        """The custom robot's webhook URL for a group (without timestamp and sign)."""
        token = self.state.groups[open_conversation_id].webhook_token or ""
        return f"{self.url}/robot/send?access_token={quote_plus(token)}"

    # ---- the user side -----------------------------------------------------------------------

    def send_text(
        self,
        staff_id: str,
        text: str,
        conversation: str = "1",
        *,
        quoted: str | None = None,
        quoted_msg_id: str | None = None,
        at_robot: bool = True,
    ) -> str:
        """The person writes to the robot (one-to-one, or @robot in the group `conversation`):
        a robot message frame is pushed; answers the frame's messageId (see `wait_acked`)."""
        data = users.robot_message(
            self.state,
            staff_id,
            text,
            conversation=conversation,
            session_base=self.url,
            quoted=quoted,
            quoted_msg_id=quoted_msg_id,
            at_robot=at_robot,
        )
        return self.stream.call(self.stream.push(ROBOT_TOPIC, data))

    def press_link(self, staff_id: str, url: str) -> str:
        """The person taps an action card button whose URL is a
        `dtmd://dingtalkclient/sendMessage?content=…` link: their client sends the content."""
        return self.send_text(staff_id, users.link_text(url))

    def card_callback(
        self,
        staff_id: str,
        params: JSONDict,
        *,
        action_id: str = "action",
        out_track_id: str = "",
    ) -> str:
        """The person presses an interactive card's button: a card callback frame."""
        data = users.card_callback_data(
            self.state, staff_id, params, action_id=action_id, out_track_id=out_track_id
        )
        return self.stream.call(self.stream.push(CARD_TOPIC, data))

    def mark_read(self, message: SentMessage) -> None:
        """The recipient opens a one-to-one message (for `readStatus`)."""
        with self.state.lock:
            message.read_at = self.state.now()

    # ---- waiting (awaitable from any loop) ---------------------------------------------------

    def wait_until(self, predicate: Callable[[], object], *, what: str,
                   timeout: float = 30.0) -> None:
        """Block (from any thread but the fake's own) until `predicate()` holds, re-checking
        whenever the fake records a send, an ACK or a connection; AssertionError naming
        `what` after `timeout` seconds. Nothing sleeps: a test waits exactly as long as the bot
        takes."""
        deadline = time.monotonic() + timeout
        state = self.state
        with state.changed:
            seen = state.version
        # The predicate runs without the condition held (it may ask the bot's page over HTTP,
        # whose answer may itself record a change); a change in between is not missed: the
        # version says whether to wait at all.
        while not predicate():
            with state.changed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                if state.version == seen:
                    state.changed.wait(remaining)
                seen = state.version

    async def wait_acked(self, message_id: str, timeout: float = 5.0) -> bool:
        return await self.stream.submit(self.stream.wait_acked(message_id, timeout))

    async def wait_connected(self, timeout: float = 5.0) -> bool:
        return await self.stream.submit(self.stream.wait_connected(timeout))

    async def ping(self, timeout: float = 5.0) -> bool:
        """SYSTEM ping; True when the client answered."""
        return await self.stream.submit(self.stream.ping(timeout))

    # ---- faults ------------------------------------------------------------------------------

    def drop_stream(self) -> bool:
        """Cut the Stream connection (no closing handshake); False when none was open."""
        return self.stream.call(self.stream.drop())

    def send_disconnect(self) -> None:
        """SYSTEM disconnect on the Stream connection."""
        self.stream.call(self.stream.disconnect())

    def refuse_connections(self, count: int) -> None:
        """Turn away the next `count` WebSocket handshakes (HTTP 503)."""

        async def refuse() -> None:
            self.stream.refuse(count)

        self.stream.call(refuse())

    def fail_http(self, count: int) -> None:
        """Answer the next `count` OpenAPI calls with 503."""
        with self.state.lock:
            self.state.http_failures += count

    def set_delay(self, *, http: float = 0.0, stream: float = 0.0) -> None:
        """Hold every HTTP answer `http` seconds and every pushed frame `stream` seconds."""
        self.state.http_delay = http
        self.stream.delay = stream

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    def forget_messages(self) -> None:
        """Forget what was said (the robot's messages, the users' frames): the sandbox's
        重置沙盒 starts its 钉钉 chats over. Staff, groups and tokens stay."""
        with self.state.lock:
            self.state.sent.clear()
        self.stream.frames.clear()

    # ---- inspection --------------------------------------------------------------------------

    def messages_to(self, target: str, *, include_dropped: bool = False) -> list[SentMessage]:
        """What the robot sent to a staffId or a group (any route), oldest first."""
        with self.state.lock:
            return [
                m
                for m in self.state.sent
                if m.target == target and (include_dropped or not m.dropped)
            ]

    def texts_to(self, target: str) -> list[str]:
        return [m.text for m in self.messages_to(target)]

    @property
    def sent(self) -> list[SentMessage]:
        with self.state.lock:
            return list(self.state.sent)

    def frame(self, message_id: str) -> Frame:
        return self.stream.frames[message_id]

    def frames(self) -> list[Frame]:
        return list(self.stream.frames.values())

    def unacked(self) -> list[Frame]:
        return [f for f in self.stream.frames.values() if f.ack_code != 200]

    def requests(self, path: str | None = None) -> list[tuple[str, str, JSONDict]]:
        """HTTP requests received (method, path, JSON body), optionally for one path."""
        with self.state.lock:
            return [r for r in self.state.requests if path is None or r[1] == path]

    @property
    def connections(self) -> int:
        """WebSocket connections accepted so far."""
        return self.stream.accepted

    @property
    def tickets_used(self) -> list[str]:
        return list(self.stream.tickets_used)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a process that must know it in advance)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
