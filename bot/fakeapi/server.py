"""Serve a `FakeBotApi` over HTTP, laid out like https://api.telegram.org.

    with FakeBotApiServer(api) as server:
        bot = telegram.Bot(api.token, base_url=server.base_url,
                           base_file_url=server.base_file_url)

Routes: `/bot<token>/<method>` (GET or POST; query string, urlencoded form, multipart form or
JSON body) and `/file/bot<token>/<file_path>` (downloads). A wrong token answers 401.

Once the bot sets a webhook, queued updates are POSTed to it by `server.webhook`, a
`webhook.WebhookPoster` started and stopped with the server (see there for the test hooks:
several targets, redeliveries).

Any other path is offered to the optional `routes` object (see `Routes`; the sandbox web page
uses this to share the port with the Bot API); without one, or when it declines, it is a 404.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import logging
import socket
import sys
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from bot.fakeapi.core import FakeBotApi, FileTuple, JSONDict, route_path
from bot.fakeapi.webhook import WebhookPoster

__all__ = [
    "JSON_FIELDS",
    "FakeBotApiServer",
    "RouteResponse",
    "Routes",
    "decode_form_value",
    "decode_request",
]

_LOGGER = logging.getLogger(__name__)

#: (HTTP status, response headers, body) as answered by `Routes.handle`.
RouteResponse = tuple[int, dict[str, str], bytes]

#: Largest request body accepted for a non-Bot-API route unless the routes object says
#: otherwise with a `max_body_bytes` attribute.
DEFAULT_MAX_ROUTE_BODY = 16 * 1024 * 1024


class Routes(Protocol):
    """Extra HTTP routes served next to the Bot API (e.g. the sandbox web page).

    `handle` gets the method ("GET", "POST", ...), the percent-decoded path, the parsed query
    string, the request headers and the raw body; it answers (status, headers, body), or None
    to decline (the server then answers 404). It runs on the server's request thread and may
    block (long polls). An optional `max_body_bytes` attribute caps request bodies (413).
    """

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Message,
        body: bytes,
    ) -> RouteResponse | None: ...

#: Form fields whose values are JSON-encoded by clients (structured, numeric or boolean
#: parameters). Everything else - notably text, caption, callback_query_id, data, file ids,
#: parse_mode - is taken verbatim, so a text "123" stays the string "123".
JSON_FIELDS = frozenset(
    {
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "allowed_updates",
        "cache_time",
        "caption_entities",
        "chat_id",
        "commands",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "duration",
        "entities",
        "from_chat_id",
        "has_spoiler",
        "height",
        "limit",
        "link_preview_options",
        "max_connections",
        "media",
        "menu_button",
        "message_id",
        "message_ids",
        "message_thread_id",
        "offset",
        "permissions",
        "protect_content",
        "reply_markup",
        "reply_parameters",
        "reply_to_message_id",
        "revoke_messages",
        "scope",
        "show_alert",
        "show_caption_above_media",
        "timeout",
        "until_date",
        "user_id",
        "width",
    }
)


def decode_form_value(name: str, raw: str) -> Any:
    """Decode one form/query value: JSON for `JSON_FIELDS` (falling back to the raw string,
    e.g. for chat_id "@channel"), verbatim otherwise."""
    if name in JSON_FIELDS:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _decode_pairs(pairs: list[tuple[str, str]]) -> JSONDict:
    return {name: decode_form_value(name, value) for name, value in pairs}


def _parse_multipart(content_type: str, body: bytes) -> tuple[JSONDict, dict[str, FileTuple]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("malformed multipart body")
    params: JSONDict = {}
    files: dict[str, FileTuple] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""  # decode=True gives bytes (or None)
        if part.get_param("filename", header="content-disposition") is not None:
            filename = part.get_filename() or ""
            mime = part.get_content_type() if part.get("content-type") else None
            files[str(name)] = (filename, payload, mime)
        else:
            charset = part.get_content_charset() or "utf-8"
            params[str(name)] = decode_form_value(str(name), payload.decode(charset, "replace"))
    return params, files


def decode_request(
    content_type: str | None, body: bytes, query: str = ""
) -> tuple[JSONDict, dict[str, FileTuple]]:
    """Turn an HTTP request into `FakeBotApi.call` arguments (params, files).

    Query-string parameters come first; body parameters override them. Raises ValueError for
    an undecodable body.
    """
    params = _decode_pairs(parse_qsl(query, keep_blank_values=True))
    files: dict[str, FileTuple] = {}
    if not body:
        return params, files
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime == "multipart/form-data":
        body_params, files = _parse_multipart(content_type or "", body)
        params.update(body_params)
    elif mime == "application/json" or (not mime and body.lstrip()[:1] == b"{"):
        decoded = json.loads(body.decode("utf-8"))
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif mime in ("application/x-www-form-urlencoded", ""):
        text = body.decode("utf-8")
        params.update(_decode_pairs(parse_qsl(text, keep_blank_values=True)))
    else:
        raise ValueError(f"unsupported Content-Type {mime}")
    return params, files


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], api: FakeBotApi, routes: Routes | None = None
    ) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.routes = routes
        self.stopping = False
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        # Tracked here, in the accept loop, not in the handler thread: once stop() has joined
        # the loop, every accepted connection is in the set it shuts down (a long poll accepted
        # at the last moment would otherwise hang its client for the whole poll).
        with self.connections_lock:
            if self.stopping:
                self.shutdown_request(request)
                return
            self.connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (a killed bot) is normal here, not an error."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self, limit: int | None = None) -> bytes | None:
        """The request body; None when it is larger than `limit` (then the connection can't be
        reused: the rest of the body is left unread)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if limit is not None and total > limit:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away (e.g. a cancelled long poll)
            self.close_connection = True

    def _send_json(self, status: int, payload: JSONDict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json")

    def _send_error(self, status: int, description: str) -> None:
        self._send_json(status, {"ok": False, "error_code": status, "description": description})

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        route = route_path(path)
        if route is None and self.server.routes is not None:
            self._handle_route(path, split.query)
            return
        body = self._read_body() or b""
        api = self.server.api
        if self.server.stopping:
            self._send_error(503, "Service Unavailable")
            return
        if route is None:
            self._send_error(404, "Not Found")
            return
        kind, token, rest = route
        if not api.check_token(token):
            self._send_error(401, "Unauthorized")
            return
        if kind == "file":
            try:
                data = api.download_path(rest)
            except KeyError:
                self._send_error(404, "Not Found")
                return
            self._send(200, data, "application/octet-stream")
            return
        try:
            params, files = decode_request(self.headers.get("Content-Type"), body, split.query)
        except (ValueError, UnicodeDecodeError) as exc:
            self._send_error(400, f"Bad Request: {exc}")
            return
        drop = api.take_connection_drop(rest)
        if drop == "before":
            self._drop()
            return
        status, payload = api.call(rest, params, files)
        if drop == "after":
            self._drop()
            return
        self._send_json(status, payload)

    def _handle_route(self, path: str, query_string: str) -> None:
        routes = self.server.routes
        assert routes is not None
        limit = int(getattr(routes, "max_body_bytes", DEFAULT_MAX_ROUTE_BODY))
        try:
            declared = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            declared = -1
        if declared < 0:
            self.close_connection = True
            self._send_route(*_route_error(400, "无效的 Content-Length / bad Content-Length"))
            return
        if declared > limit:
            # Don't read (or keep) a huge body: answer and close the connection.
            self.close_connection = True
            self._send_route(*_route_error(413, "请求过大 / request body too large"))
            return
        body = self._read_body(limit)
        if body is None:
            self._send_route(*_route_error(413, "请求过大 / request body too large"))
            return
        if self.server.stopping:
            self._send_route(*_route_error(503, "服务正在关闭 / service unavailable"))
            return
        query = parse_qs(query_string, keep_blank_values=True)
        try:
            answer = routes.handle(self.command, path, query, self.headers, body)
        except Exception:
            _LOGGER.exception("route %s %s failed", self.command, path)
            answer = _route_error(500, "服务器内部错误 / internal server error")
        if answer is None:
            answer = _route_error(404, "未找到 / not found")
        self._send_route(*answer)

    def _send_route(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            names = {name.lower() for name in headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if "content-type" not in names:
                self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away (e.g. a page closed during a long poll)
            self.close_connection = True


def _route_error(status: int, message: str) -> RouteResponse:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    return status, {"Content-Type": "application/json; charset=utf-8"}, body


class FakeBotApiServer:
    """A `FakeBotApi` behind a local ThreadingHTTPServer (daemon threads).

    The socket is bound in the constructor (port 0 picks a free port), so `base_url` is known
    before `start()`. Always `stop()` (or use it as a context manager). `routes` (see `Routes`)
    answers every path that is not a Bot API one; only 127.0.0.1 is bound unless `host` says
    otherwise.
    """

    def __init__(
        self,
        api: FakeBotApi | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        routes: Routes | None = None,
        webhook: WebhookPoster | None = None,
    ) -> None:
        self.api = api if api is not None else FakeBotApi()
        self.routes = routes
        #: Delivers updates once the bot set a webhook (idle until then).
        self.webhook = webhook if webhook is not None else WebhookPoster(self.api)
        self._httpd = _HTTPServer((host, port), self.api, routes)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For `telegram.Bot(base_url=...)`: PTB appends `<token>/<method>`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For `telegram.Bot(base_file_url=...)`: PTB appends `<token>/<file_path>`."""
        return f"{self.url}/file/bot"

    def start(self) -> FakeBotApiServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-bot-api:{self.port}",
                daemon=True,
            )
            self._thread.start()
            self.webhook.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake long polls, stop the accept loop, close open connections."""
        self._httpd.stopping = True
        self.webhook.stop()
        self.api.wake_pollers()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._httpd.connections_lock:
            connections = list(self._httpd.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()

    def __enter__(self) -> FakeBotApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
