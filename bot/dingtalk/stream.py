"""钉钉 Stream mode, the inbound side: an outbound WebSocket that brings robot messages and card
callbacks to the bot without a public IP or callback URL.

The protocol (open.dingtalk.com "Stream 模式协议接入说明"; checked against the official SDKs,
`dingtalk-stream` for Python and `dingtalk-stream-sdk-go`):

1. `POST {api_base}/v1.0/gateway/connections/open` with `clientId`, `clientSecret`,
   `subscriptions` (here the robot message topic `/v1.0/im/bot/messages/get` and the card
   callback topic `/v1.0/card/instances/callback`, both of type CALLBACK) and `ua` answers
   `{"endpoint", "ticket"}`. A ticket is good for one connection: every reconnect opens afresh.
2. A WebSocket to `endpoint?ticket=…` then carries JSON frames
   `{"specVersion", "type": "SYSTEM"|"EVENT"|"CALLBACK", "headers": {"topic", "messageId",
   …}, "data": "<a JSON string>"}`.
3. Every frame is answered with an ACK frame `{"code": 200, "headers": {"messageId",
   "contentType": "application/json"}, "message": "OK", "data": "<a JSON string>"}`. The SDKs
   answer the SYSTEM `ping` with its own data echoed back (the Go SDK's `OnPing`); the SYSTEM
   `disconnect` means the server is about to close this connection: open a new one.

How this client behaves:

* A CALLBACK or EVENT frame goes to `handler(topic, data)` (`data` parsed to a dict), and the
  ACK is sent only after the handler returns: a frame the bot could not take (it crashed,
  the socket dropped first) is not ACKed, and 钉钉 delivers unACKed frames again, so the
  handler must be idempotent (the robot message's `msgId` is the natural key). The handler's
  answer (a dict, or None for `{}`) becomes the ACK's data: a card callback may answer with
  card data. A handler that raises is logged and answered with code 500 and no data (the Go
  SDK answers 400 with the error's text; the Python SDK logs and answers nothing; we send no
  exception text over the wire), which leaves the frame to be redelivered.
* Frames of one connection reach the handler in order, one at a time (one worker per
  connection), so a person's messages are seen in the order they were sent; SYSTEM frames
  are answered by the reader directly, so a ping is answered even while a handler runs.
* Any disconnect (network, server close, `disconnect`, a failed `connections/open`) leads to
  a reconnect after an exponential backoff with jitter: `base * 2**n` capped at `cap`, of
  which the last half is random ("equal jitter"), and `n` back to 0 after a connection that
  stayed up `healthy_after` seconds. A SYSTEM `disconnect` reconnects at once (the server asked).
  `sleep`, `random` and the `monotonic` clock are injected, so tests run without waiting.
* `run(stop)` returns promptly once `stop` is set, from any state: the socket is closed and a
  backoff wait is cut short.
* The client secret and the ticket are never logged: they are only in the request body and
  the WebSocket URL, and error texts are scrubbed of both before logging. The `websockets`
  handshake (whose DEBUG lines carry the URL) logs to its own logger held at INFO.

Why not the official SDK: it makes blocking `requests` calls (opening a connection, tokens),
calls `time.sleep` inside async code (`start_forever`, and `start` in older releases) and
takes its endpoint from a fixed constant (`DINGTALK_OPENAPI_ENDPOINT`), so it would stall the
event loop shared with Telegram (our goal: no stall over 50 ms) and could not be pointed at
the fake server. The protocol is small; here it is spoken with httpx (async) and `websockets`
(asyncio), and nothing in this module blocks the event loop: no blocking I/O, no time.sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

__all__ = [
    "CARD_CALLBACK_TOPIC",
    "DEFAULT_TOPICS",
    "ROBOT_MESSAGE_TOPIC",
    "Backoff",
    "FrameHandler",
    "OpenFailed",
    "StreamClient",
    "ack_frame",
]

_LOGGER = logging.getLogger(__name__)
#: The `websockets` library's logger for our connections: its DEBUG handshake lines contain
#: the URL (and so the ticket); held at INFO so they are never emitted.
_WS_LOGGER = logging.getLogger(__name__ + ".websocket")
_WS_LOGGER.setLevel(logging.INFO)

#: The robot message topic (one-to-one and @robot in a group).
ROBOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
#: The interactive card callback topic (`Card_Callback_Router_Topic` in the Python SDK,
#: `CardInstanceCallbackTopic` in the Go SDK).
CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
DEFAULT_TOPICS = (ROBOT_MESSAGE_TOPIC, CARD_CALLBACK_TOPIC)

OPEN_PATH = "/v1.0/gateway/connections/open"
USER_AGENT = "luoshi-dingtalk-stream/1.0"

#: `await handler(topic, data)` → the ACK's data (None for `{}`). Raise to leave the frame
#: unACKed (answered with code 500, redelivered later).
FrameHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]


class OpenFailed(Exception):
    """`connections/open` did not give an endpoint and a ticket (the text carries no secret)."""


def ack_frame(
    message_id: str, data: Any, *, code: int = 200, message: str = "OK"
) -> dict[str, Any]:
    """The ACK frame for the frame `message_id`: `data` JSON-encoded as the protocol wants
    (the SDKs send the data as a JSON string)."""
    return {
        "code": code,
        "headers": {"messageId": message_id, "contentType": "application/json"},
        "message": message,
        "data": data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
    }


@dataclass
class Backoff:
    """Reconnect delays: `base * 2**attempt`, capped at `cap`; the first half fixed, the
    second half scaled by `random()` (equal jitter), so delays never collapse to zero and
    clients restarted together spread out."""

    base: float = 1.0
    cap: float = 60.0
    attempt: int = 0

    def next_delay(self, rand: Callable[[], float]) -> float:
        ceiling = min(self.cap, self.base * float(2 ** min(self.attempt, 30)))
        self.attempt += 1
        return ceiling / 2 + ceiling / 2 * rand()

    def reset(self) -> None:
        self.attempt = 0


class _Disconnect(Exception):
    """The server sent SYSTEM `disconnect`: reconnect now."""


class _Lost(Exception):
    """The connection ended (a clean close from the server counts too)."""


class StreamClient:
    """One Stream-mode session, kept up until `run`'s stop event is set.

    `api_base` is e.g. "https://api.dingtalk.com" (or the fake server's URL); `handler` gets
    every CALLBACK and EVENT frame. `http` may be a shared `httpx.AsyncClient` (otherwise one
    is made per run and closed at its end). `sleep`, `random` and `monotonic` are for tests.
    """

    def __init__(
        self,
        *,
        api_base: str,
        client_id: str,
        client_secret: str,
        handler: FrameHandler,
        topics: tuple[str, ...] = DEFAULT_TOPICS,
        http: httpx.AsyncClient | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        healthy_after: float = 30.0,
        ping_interval: float | None = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._client_id = client_id
        self._secret = client_secret
        self._handler = handler
        self._topics = topics
        self._http = http
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._healthy_after = healthy_after
        self._ping_interval = ping_interval
        self._sleep = sleep
        self._random = random
        self._monotonic = monotonic
        self._ticket = ""
        #: Connections opened so far (for tests and the status page).
        self.connections = 0
        #: Frames handled and ACKed with 200.
        self.acked = 0
        #: True while a WebSocket is open.
        self.connected = asyncio.Event()

    # ---- the run loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve, reconnect, until `stop` is set; then close and return."""
        own_http = self._http is None
        http = self._http or httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        try:
            while not stop.is_set():
                delay = await self._one_session(http, stop)
                if stop.is_set():
                    break
                if delay > 0:
                    _LOGGER.info("钉钉 stream: reconnecting in %.1f s", delay)
                    await self._wait(delay, stop)
        finally:
            self.connected.clear()
            if own_http:
                await http.aclose()

    async def _one_session(self, http: httpx.AsyncClient, stop: asyncio.Event) -> float:
        """Open, serve until the connection ends; answer the delay before the next attempt."""
        try:
            url = await self._race(self._open(http), stop)
        except OpenFailed as exc:
            _LOGGER.warning("钉钉 stream: connections/open failed: %s", self._scrub(str(exc)))
            return self._backoff.next_delay(self._random)
        if url is None:  # stopped
            return 0.0
        started = self._monotonic()
        try:
            async with connect(
                url,
                logger=_WS_LOGGER,
                ping_interval=self._ping_interval,
                open_timeout=10,
                close_timeout=2,
                max_size=4 * 1024 * 1024,
            ) as ws:
                self.connections += 1
                self.connected.set()
                _LOGGER.info("钉钉 stream: connected (connection %d)", self.connections)
                await self._serve(ws, stop)
        except _Disconnect:
            _LOGGER.info("钉钉 stream: the server asked to reconnect")
            self._backoff.reset()
            return 0.0
        except (TimeoutError, OSError, WebSocketException, _Lost) as exc:
            _LOGGER.warning(
                "钉钉 stream: connection lost: %s: %s",
                type(exc).__name__,
                self._scrub(str(exc)),
            )
        finally:
            self.connected.clear()
        if stop.is_set():
            return 0.0
        if self._monotonic() - started >= self._healthy_after:
            self._backoff.reset()
        return self._backoff.next_delay(self._random)

    async def _race(self, work: Awaitable[str], stop: asyncio.Event) -> str | None:
        """`work`'s result, or None if `stop` is set first (the work is cancelled)."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OpenFailed):
                await task
            return None
        return task.result()

    async def _wait(self, delay: float, stop: asyncio.Event) -> None:
        """The injected sleep, cut short by `stop`."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)

    # ---- opening a connection ----------------------------------------------------------------

    async def _open(self, http: httpx.AsyncClient) -> str:
        """`connections/open` → the WebSocket URL with its (single-use) ticket."""
        body = {
            "clientId": self._client_id,
            "clientSecret": self._secret,
            "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in self._topics],
            "ua": USER_AGENT,
        }
        try:
            response = await http.post(
                self._api_base + OPEN_PATH,
                json=body,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise OpenFailed(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise OpenFailed(f"HTTP {response.status_code}: {_error_code(response)}")
        try:
            answer = response.json()
            endpoint = str(answer["endpoint"])
            ticket = str(answer["ticket"])
        except (ValueError, KeyError, TypeError):
            raise OpenFailed("no endpoint and ticket in the answer") from None
        if urlsplit(endpoint).scheme not in ("ws", "wss") or not ticket:
            raise OpenFailed("the endpoint is not a WebSocket URL")
        self._ticket = ticket
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}ticket={quote_plus(ticket)}"

    def _scrub(self, text: str) -> str:
        for secret in (self._secret, self._ticket, quote_plus(self._ticket)):
            if secret:
                text = text.replace(secret, "***")
        return text

    # ---- serving one connection --------------------------------------------------------------

    async def _serve(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        """Read frames until the connection ends or `stop` is set. SYSTEM frames are answered
        here; the others are queued for the worker, which hands them to the handler in order."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        worker = asyncio.create_task(self._work(ws, queue))
        reader = asyncio.create_task(self._read(ws, queue))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {reader, worker, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            if reader in done:
                reader.result()  # raises _Disconnect / _Lost / ConnectionClosed
            if worker in done:
                worker.result()
        finally:
            stopper.cancel()
            reader.cancel()
            # The frame being handled is finished (its change is being made durable); what is
            # still queued was not ACKed and will come again on the next connection.
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait({})  # wakes the worker, which stops
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(worker), timeout=30)
            worker.cancel()
            await asyncio.gather(reader, worker, stopper, return_exceptions=True)

    async def _read(self, ws: ClientConnection, queue: asyncio.Queue[dict[str, Any]]) -> None:
        async for raw in ws:
            try:
                frame = json.loads(raw)
                if not isinstance(frame, dict):
                    raise ValueError("not an object")
            except ValueError:
                _LOGGER.warning("钉钉 stream: an undecodable frame (%d bytes)", len(raw))
                continue
            headers = frame.get("headers") or {}
            if frame.get("type") == "SYSTEM":
                topic = str(headers.get("topic", ""))
                message_id = str(headers.get("messageId", ""))
                if topic == "ping":
                    await ws.send(json.dumps(ack_frame(message_id, frame.get("data") or "{}")))
                elif topic == "disconnect":
                    _LOGGER.info("钉钉 stream: SYSTEM disconnect")
                    raise _Disconnect
                else:
                    _LOGGER.info("钉钉 stream: SYSTEM %s ignored", topic)
                continue
            queue.put_nowait(frame)
        raise _Lost("the server closed the connection")

    async def _work(self, ws: ClientConnection, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            frame = await queue.get()
            if not frame:
                return
            reply = await self._handle(frame)
            await ws.send(json.dumps(reply, ensure_ascii=False))
            if reply["code"] == 200:
                self.acked += 1

    async def _handle(self, frame: dict[str, Any]) -> dict[str, Any]:
        headers = frame.get("headers") or {}
        topic = str(headers.get("topic", ""))
        message_id = str(headers.get("messageId", ""))
        try:
            raw = frame.get("data") or "{}"
            data = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(data, dict):
                raise ValueError("data is not an object")
        except ValueError:
            _LOGGER.warning("钉钉 stream: frame %s on %s: undecodable data", message_id, topic)
            return ack_frame(message_id, {}, code=400, message="bad data")
        try:
            answer = await self._handler(topic, data)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("钉钉 stream: the handler failed on %s (frame %s)", topic, message_id)
            return ack_frame(message_id, {}, code=500, message="handler failed")
        return ack_frame(message_id, answer or {})


def _error_code(response: httpx.Response) -> str:
    """钉钉's error code from an error answer (`{"code", "message", "requestid"}`)."""
    try:
        answer = response.json()
    except ValueError:
        return "(no JSON)"
    if isinstance(answer, dict):
        return f"{answer.get('code', '')} {answer.get('message', '')}".strip()
    return "(unexpected answer)"
