"""The fake 钉钉's Stream side: a WebSocket server (the `endpoint` that `connections/open`
returns) on its own event loop in its own thread.

It checks the ticket (single-use, from `connections/open`), pushes CALLBACK frames to the
newest connection, and records the client's ACKs. Like the real server it delivers again, on
the next connection, every frame not ACKed with code 200. Faults: `drop()` cuts the current
connection without a closing handshake, `refuse(n)` turns away the next n handshakes (HTTP
503), `delay` holds each frame back that many seconds, `disconnect()` sends SYSTEM
`disconnect` (the server's way of asking for a reconnect).

Everything here runs on the server's loop; the `*_threadsafe` entry points are for other
threads (the HTTP server, the tests' loop).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bot.fakedingtalk.state import FakeState, JSONDict

__all__ = ["Frame", "StreamServer"]

_LOGGER = logging.getLogger(__name__)
#: The server's `websockets` logger: its DEBUG handshake lines carry the ticket.
_WS_LOGGER = logging.getLogger(__name__ + ".websocket")
_WS_LOGGER.setLevel(logging.INFO)
_T = TypeVar("_T")


@dataclass
class Frame:
    """A frame pushed to the client: `deliveries` counts the times it was sent; `ack_code`
    and `ack_data` are from the client's last ACK (None: not answered yet)."""

    message_id: str
    type: str
    topic: str
    data: JSONDict
    deliveries: int = 0
    ack_code: int | None = None
    ack_message: str = ""
    ack_data: Any = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    def wire(self) -> str:
        return json.dumps(
            {
                "specVersion": "1.0",
                "type": self.type,
                "headers": {
                    "appId": "fake-app",
                    "connectionId": "fake",
                    "contentType": "application/json",
                    "messageId": self.message_id,
                    "topic": self.topic,
                    "time": "0",
                },
                "data": json.dumps(self.data, ensure_ascii=False),
            },
            ensure_ascii=False,
        )


class StreamServer:
    """The WebSocket endpoint. `start()` binds 127.0.0.1 on a random port; `url` is the
    endpoint handed out by `connections/open`."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Server | None = None
        self.port = 0
        self.frames: dict[str, Frame] = {}
        #: Connections accepted so far, and the tickets they came with (never logged).
        self.accepted = 0
        self.tickets_used: list[str] = []
        self.refused = 0
        self._to_refuse = 0
        self.delay = 0.0
        self._current: ServerConnection | None = None
        self._connected = asyncio.Event()
        self._pongs: dict[str, asyncio.Event] = {}

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connect"

    # ---- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        self._server = await serve(
            self._session,
            "127.0.0.1",
            0,
            process_request=self._check,
            ping_interval=None,
            logger=_WS_LOGGER,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        """Run `coro` on the server's loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
        """Run `coro` on the server's loop; await the answer from another loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    # ---- connections -------------------------------------------------------------------------

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake: refuse when told to, and accept a valid ticket once."""
        if self._to_refuse > 0:
            self._to_refuse -= 1
            self.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "refused\n")
        split = urlsplit(request.path)
        ticket = (parse_qs(split.query).get("ticket") or [""])[0]
        if split.path != "/connect" or not self.state.take_ticket(ticket):
            return Response(401, "Unauthorized", Headers(), b"invalid ticket\n")
        self.tickets_used.append(ticket)
        return None

    async def _session(self, ws: ServerConnection) -> None:
        self.accepted += 1
        self._current = ws
        self._connected.set()
        self.state.notify_changed()
        try:
            for frame in list(self.frames.values()):
                if frame.ack_code != 200 and frame.type != "SYSTEM":
                    await self._deliver(ws, frame)
            async for raw in ws:
                self._on_reply(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._current is ws:
                self._current = None
                self._connected.clear()

    def _on_reply(self, raw: str | bytes) -> None:
        try:
            reply = json.loads(raw)
            message_id = str(reply["headers"]["messageId"])
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("fake 钉钉 stream: an undecodable reply")
            return
        if message_id in self._pongs:
            self._pongs[message_id].set()
            return
        frame = self.frames.get(message_id)
        if frame is None:
            return
        frame.ack_code = int(reply.get("code", 0))
        frame.ack_message = str(reply.get("message", ""))
        frame.ack_data = reply.get("data")
        if frame.ack_code == 200:
            frame.acked.set()
        self.state.notify_changed()

    async def _deliver(self, ws: ServerConnection, frame: Frame) -> None:
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        frame.deliveries += 1
        try:
            await ws.send(frame.wire())
        except ConnectionClosed:
            pass

    # ---- pushing frames (on the server's loop) -----------------------------------------------

    async def push(self, topic: str, data: JSONDict, type_: str = "CALLBACK") -> str:
        frame = Frame(uuid.uuid4().hex, type_, topic, data)
        self.frames[frame.message_id] = frame
        if self._current is not None:
            await self._deliver(self._current, frame)
        return frame.message_id

    async def wait_acked(self, message_id: str, timeout: float) -> bool:
        frame = self.frames[message_id]
        try:
            await asyncio.wait_for(frame.acked.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def ping(self, timeout: float) -> bool:
        """SYSTEM ping on the current connection; True when the client answered it."""
        ws = self._current
        if ws is None:
            return False
        message_id = uuid.uuid4().hex
        answered = self._pongs[message_id] = asyncio.Event()
        frame = Frame(message_id, "SYSTEM", "ping", {"opaque": uuid.uuid4().hex})
        await ws.send(frame.wire())
        try:
            await asyncio.wait_for(answered.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            del self._pongs[message_id]
        return True

    async def disconnect(self) -> None:
        """SYSTEM disconnect: the client should open a new connection."""
        ws = self._current
        if ws is not None:
            frame = Frame(uuid.uuid4().hex, "SYSTEM", "disconnect", {"reason": "fake"})
            await ws.send(frame.wire())

    async def drop(self) -> bool:
        """Cut the current connection without a closing handshake (a network failure)."""
        ws = self._current
        if ws is None:
            return False
        self._current = None
        self._connected.clear()
        ws.transport.abort()
        return True

    def refuse(self, count: int) -> None:
        self._to_refuse += count
