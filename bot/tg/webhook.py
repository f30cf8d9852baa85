"""Telegram updates by webhook: the small HTTP server a worker runs behind the load balancer.

In webhook mode Telegram POSTs every update, as one JSON object, to ``[telegram]
webhook_url``; the load balancer passes it to any worker. This server answers:

* ``POST <path of webhook_url>`` — the update. The header ``X-Telegram-Bot-Api-Secret-Token``
  must carry ``webhook_secret`` (compared in constant time; Telegram sends it with every
  update, so a request without it is not Telegram's): 401 without it, 403 with a wrong one,
  and the body is never read (the connection is closed instead). A body that is not a JSON
  object is 400; one above ``MAX_BODY`` is 413. The update goes to the intake
  (``Intake.accept``, bot/tg/intake.py), which drops a redelivery by its receipt key, makes
  the rest durable in the inbox and starts handling it in its chat's lane. **200 only after
  ``accept`` returned**: then the update is durable, and Telegram may forget it. If storing
  failed (``PersistenceError``, or anything unexpected) the answer is 500 and Telegram
  delivers it again later — to this worker or another; the receipt key keeps it from being
  applied twice. Telegram also redelivers an update whose 200 came too late, and a load
  balancer may retry a request on another worker: the same reasoning covers both.
* ``GET`` or ``HEAD /healthz`` — for the load balancer: 200 ``{"ok": true, "state":
  "serving", …}`` plus whatever the ``health`` callback returns (the backend, the tenant, who
  plans…); 503 ``{"ok": false, "state": "starting" | "stopping"}`` otherwise, so the balancer
  sends nothing to a worker that cannot take it. While starting or stopping an update is
  answered 503 too (Telegram redelivers it; another worker takes it).
* anything else — 404 (405 for another method on the webhook's path).

HTTP/1.1 by hand on ``asyncio.start_server``: requests with ``Content-Length`` bodies only
(``Transfer-Encoding`` is answered 501; Telegram never sends it), keep-alive (Telegram keeps
up to ``max_connections`` connections open and reuses them), a limit on the header block
(431), a time limit for an idle connection, for the headers and for the body. It needs no
dependency and no thread; everything runs on the bot's event loop, so ``accept`` is called
exactly as the polling loop calls it.

Life cycle (bot/tg/runner.py ``serve_webhook``): ``start`` binds the port at once (a port in
use fails the start, not the first update) in state *starting*; ``serving()`` once the
Application runs; ``close()`` first refuses new work (state *stopping*, the listening socket
closed, idle keep-alive connections closed), lets requests inside ``accept`` finish (a few
seconds at most; ``accept`` does not wait on the network), and only then does the runner close
the intake and the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from bot.domain.ports import PersistenceError

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # an update is a few KB; Telegram's largest are far below this
MAX_HEADERS = 16 * 1024  # the whole header block (431 beyond it)
IDLE_TIMEOUT = 75.0  # seconds a kept-alive connection may wait for its next request
HEADER_TIMEOUT = 15.0  # seconds for the rest of a request's header block, once it began
BODY_TIMEOUT = 30.0  # seconds for the body
DRAIN_GRACE = 5.0  # seconds requests inside `accept` get at close
REFUSAL_LOG_EVERY = 60.0  # seconds between warnings about requests without the secret

STARTING, SERVING, STOPPING = "starting", "serving", "stopping"

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
           413: "Payload Too Large", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}


class Accepting(Protocol):
    """What the server hands updates to (``bot.tg.intake.Intake``)."""

    async def accept(self, raws: Sequence[dict[str, Any]]) -> int: ...


Health = Callable[[], dict[str, Any]]


def webhook_path(url: str) -> str:
    """The path this worker serves: that of the public URL (a reverse proxy keeps it)."""
    return urlsplit(url).path or "/"


class ListenError(Exception):
    """The worker cannot listen on its address (`--listen`, `[telegram] webhook_listen`)."""

    def __init__(self, host: str, port: int, err: OSError) -> None:
        super().__init__(f"无法监听 {host}:{port}（{err.strerror or err}）；请检查 --listen 或 "
                         f"[telegram] webhook_listen，以及该端口是否已被占用\n"
                         f"cannot listen on {host}:{port} ({err.strerror or err}); check "
                         f"--listen or [telegram] webhook_listen, and whether the port is in use")
        self.host = host
        self.port = port


class BadRequest(Exception):
    """The request cannot be read; answered with `status`, then the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    keep_alive: bool


@dataclass
class Response:
    status: int
    body: bytes = b""
    close: bool = False  # the request's body was not read: the connection cannot be reused
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: dict[str, Any], *, close: bool = False) -> Response:
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    return Response(status, body, close, {"Content-Type": "application/json; charset=utf-8"})


def _error(status: int, message: str, *, close: bool = False) -> Response:
    return _json(status, {"ok": False, "error": message}, close=close)


class _Refusals:
    """Requests without the right secret are counted, and logged at most once a minute (a
    scanner must not fill the log); the secret given is never logged."""

    def __init__(self, every: float = REFUSAL_LOG_EVERY,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.monotonic = monotonic
        self.count = 0
        self._logged_count = 0
        self._logged_at: float | None = None

    def note(self, peer: str, missing: bool) -> None:
        self.count += 1
        now = self.monotonic()
        if self._logged_at is not None and now - self._logged_at < self.every:
            return
        log.warning("webhook request refused: %s secret token (from %s; %d refused since the "
                    "last warning)", "no" if missing else "a wrong", peer,
                    self.count - self._logged_count)
        self._logged_at = now
        self._logged_count = self.count


class WebhookServer:
    """The webhook's HTTP server (see the module docstring)."""

    def __init__(self, intake: Accepting, *, path: str, secret: str,
                 health: Health | None = None, max_body: int = MAX_BODY,
                 idle_timeout: float = IDLE_TIMEOUT, header_timeout: float = HEADER_TIMEOUT,
                 body_timeout: float = BODY_TIMEOUT) -> None:
        if not secret:
            raise ValueError("the webhook needs a secret")
        self.intake = intake
        self.path = unquote(path) or "/"
        self._secret = secret.encode("utf-8")
        self.health = health or (lambda: {"mode": "webhook"})
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.state = STARTING
        self.refusals = _Refusals()
        self.accepted = 0  # updates answered 200 (new or redelivered)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], bool] = {}  # task → inside a request

    # ---- life cycle ----------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        """Bind and listen (state *starting*: health and updates are answered 503).
        ListenError when the address cannot be bound (in use, not this machine's)."""
        try:
            self._server = await asyncio.start_server(self._connection, host, port,
                                                      limit=MAX_HEADERS)
        except OSError as err:
            raise ListenError(host, port, err) from err

    @property
    def port(self) -> int:
        """The bound port (port 0 asks the system for a free one)."""
        assert self._server is not None and self._server.sockets, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    def serving(self) -> None:
        self.state = SERVING

    async def close(self, grace: float = DRAIN_GRACE) -> None:
        """Refuse new work, let requests being accepted finish, close every connection.
        Idempotent."""
        self.state = STOPPING
        if self._server is not None:
            self._server.close()
        idle = [task for task, busy in self._connections.items() if not busy]
        for task in idle:
            task.cancel()
        busy = [task for task, is_busy in self._connections.items() if is_busy]
        if busy:
            _done, late = await asyncio.wait(busy, timeout=grace)
            for task in late:
                task.cancel()
        tasks = list(self._connections)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # ---- one connection ------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self.state == STOPPING:
            writer.close()
            return
        self._connections[task] = False
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) else "?"
        try:
            while True:
                try:
                    request = await self._read_head(reader)
                except BadRequest as err:
                    await self._write(writer, _error(err.status, str(err), close=True), False)
                    return
                if request is None:
                    return  # the client closed, or stayed idle too long
                self._connections[task] = True
                response = await self._respond(request, reader, writer, peer)
                response.close |= not request.keep_alive or self.state == STOPPING
                await self._write(writer, response, request.method == "HEAD")
                self._connections[task] = False
                if response.close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the client went away
        except asyncio.CancelledError:
            return  # closing: an idle connection, or a request past the grace
        except Exception:
            log.exception("webhook connection from %s failed", peer)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_head(self, reader: asyncio.StreamReader) -> Request | None:
        """The request line and headers; None when the client closed or idled out."""
        try:
            first = await asyncio.wait_for(reader.readuntil(b"\n"), self.idle_timeout)
            while first.strip() == b"":  # stray line breaks between requests (RFC 9112)
                first = await asyncio.wait_for(reader.readuntil(b"\n"), self.idle_timeout)
        except (TimeoutError, asyncio.IncompleteReadError):
            return None
        except asyncio.LimitOverrunError as err:
            raise BadRequest(431, "request line too long") from err
        lines: list[bytes] = []
        size = len(first)
        try:
            async with asyncio.timeout(self.header_timeout):
                while (line := await reader.readuntil(b"\n")).strip():
                    size += len(line)
                    if size > MAX_HEADERS:
                        raise BadRequest(431, "headers too large")
                    lines.append(line)
        except TimeoutError as err:
            raise BadRequest(408, "headers took too long") from err
        except asyncio.LimitOverrunError as err:
            raise BadRequest(431, "headers too large") from err
        parts = first.decode("latin-1").strip().split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(400, "bad request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for raw in lines:
            name, colon, value = raw.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise BadRequest(400, "bad header line")
            key, value = name.lower(), value.strip()
            if key not in headers:
                headers[key] = value
            elif key == "content-length":
                if headers[key] != value:
                    raise BadRequest(400, "conflicting Content-Length")
            else:
                headers[key] = f"{headers[key]}, {value}"
        connection = headers.get("connection", "").lower()
        keep_alive = ("close" not in connection if version == "HTTP/1.1"
                      else "keep-alive" in connection)
        return Request(method.upper(), unquote(urlsplit(target).path), headers, keep_alive)

    async def _respond(self, request: Request, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, peer: str) -> Response:
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            response = self._health()
            # A body here is unexpected: not read, so the connection cannot be reused.
            response.close = "transfer-encoding" in request.headers or \
                request.headers.get("content-length", "0") not in ("", "0")
            return response
        if request.path != self.path or request.method != "POST":
            response = (_error(404, "not found") if request.path != self.path
                        else _error(405, "POST only"))
            if request.path == self.path:
                response.headers["Allow"] = "POST"
            body = await self._read_body(request, reader, writer)  # kept alive if it can
            response.close = isinstance(body, Response)
            return response
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode("latin-1"), self._secret):
            self.refusals.note(peer, given is None)
            return _error(401 if given is None else 403, "secret token required", close=True)
        if self.state != SERVING:
            return _error(503, self.state, close=True)
        body = await self._read_body(request, reader, writer)
        if isinstance(body, Response):
            return body
        try:
            update = json.loads(body)
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return _error(400, "the body is not an update")
        try:
            await self.intake.accept([update])
        except PersistenceError as err:
            log.error("update %s could not be stored (%s); Telegram will send it again",
                      update["update_id"], err)
            return _error(500, "not stored")
        except Exception:
            log.exception("update %s could not be accepted", update["update_id"])
            return _error(500, "not accepted")
        self.accepted += 1
        return Response(200)

    async def _read_body(self, request: Request, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> bytes | Response:
        if "transfer-encoding" in request.headers:
            return _error(501, "Transfer-Encoding is not supported; send Content-Length",
                          close=True)
        text = request.headers.get("content-length", "0")
        if not text.isdigit():
            return _error(400, "bad Content-Length", close=True)
        length = int(text)
        if length > self.max_body:
            return _error(413, "body too large", close=True)
        if request.headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            return await asyncio.wait_for(reader.readexactly(length), self.body_timeout)
        except TimeoutError:
            return _error(408, "body took too long", close=True)

    def _health(self) -> Response:
        try:
            extra = dict(self.health())
        except Exception:
            log.exception("the health callback failed")
            return _error(503, "health check failed")
        if self.state != SERVING:
            return _json(503, {"ok": False, "state": self.state, **extra})
        return _json(200, {"ok": True, "state": self.state, **extra})

    async def _write(self, writer: asyncio.StreamWriter, response: Response,
                     head_only: bool) -> None:
        lines = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, '')}",
                 *(f"{name}: {value}" for name, value in response.headers.items()),
                 f"Content-Length: {len(response.body)}"]
        if response.close:
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head_only:
            writer.write(response.body)
        await writer.drain()
