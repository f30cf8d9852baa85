"""The sandbox web page: chat with the bot in a browser, as any demo official.

`SandboxWeb` is a `bot.fakeapi.server.Routes`: it shares the fake Bot API server's port and
answers every path that is not a Bot API one.

    server = FakeBotApiServer(api, routes=SandboxWeb(api, control))

Routes (JSON in and out; errors are `{"error": "中文 / English"}` with 4xx, never a 500 on bad
input):

* `GET /` - the page; `GET /static/<name>` - its script and style sheet.
* `GET /api/state[?user=<id>]` - the clock, the identities, the admin group, the bot and, with
  `user`, the chats that identity can open (`{id, title, kind, last_seq, preview}`).
* `GET /api/messages?user=<id>&chat=<id>&since=<seq>[&wait=<s>]` - the chat's messages changed
  after `since` (`{"messages": [...], "deleted": [ids], "cursor": seq}`; poll again with
  since=cursor). With since > 0 and nothing new it long-polls up to `wait` (default 20) s.
* `POST /api/send {user, chat, text, reply_to?}` - the user writes a message.
* `POST /api/press {user, chat, message_id, data}` - the user presses an inline button; the
  answer carries the bot's answerCallbackQuery text if it came within ~2 s.
* `POST /api/upload {user, chat, filename, content_base64, caption?, reply_to?}` - the user
  sends a file (at most 10 MB, else 413).
* `GET /api/file/<file_id>` - a file's bytes (documents as attachments).
* `POST /api/clock {action}` - one of `control.ACTIONS` (dispatch now, bulletin, ...).
* `/api/dingtalk/*` - a 钉钉 identity's chat (bot/sandbox/dingtalk_web.py), when the control
  has a fake 钉钉 (`control.dingtalk`).
* `POST /api/reset {}` - 重置沙盒: answers once the sandbox runs again from scratch (501 where
  the control cannot).

Identities carry their channel; the Telegram routes refuse a 钉钉 identity. A user may read and
write only their own private chat with the bot and, for admins and leaders,
the admin group. Identities the fake API doesn't know yet (e.g. role "new") are registered with
`api.add_user` on first use.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from bot.fakeapi.core import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    FakeBotApi,
    JSONDict,
    utf16_len,
)
from bot.fakeapi.server import RouteResponse
from bot.sandbox.control import ACTIONS, Identity, SandboxControl
from bot.sandbox.dingtalk_web import DingTalkWeb

__all__ = [
    "MAX_UPLOAD_BYTES",
    "STATIC_DIR",
    "SandboxWeb",
    "entities_to_html",
    "now_label",
]

_LOGGER = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Largest file the page may upload (decoded).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Largest request body: a 10 MB file in base64 plus the JSON around it.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + 64 * 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_FILENAME_LENGTH = 255
#: Long polls never wait longer than this (seconds), whatever the page asks.
MAX_POLL_WAIT = 25.0
#: Roles that see the admin group.
GROUP_ROLES = frozenset({"admin", "leader"})
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")
_FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
_INT = re.compile(r"[+-]?[0-9]{1,19}")
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_DOWNLOAD_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> _HttpError:
    return _HttpError(400, message)


# --------------------------------------------------------------------------- rendering


def now_label(now: datetime) -> str:
    """The clock as the page shows it: "12月1日（周二）09:00"."""
    return f"{now.month}月{now.day}日（{WEEKDAYS[now.weekday()]}）{now:%H:%M}"


def _safe_url(url: str) -> str | None:
    """`url` if it is an http(s) or mailto link a page may open, else None."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https", "mailto") else None


def _open_tag(entity: JSONDict, piece: str) -> tuple[str, str]:
    """(open tag, close tag) for one entity; ("", "") for entities shown as plain text."""
    kind = entity.get("type")
    simple = {
        "bold": "b",
        "italic": "i",
        "underline": "u",
        "strikethrough": "s",
        "code": "code",
        "blockquote": "blockquote",
        "expandable_blockquote": "blockquote",
    }
    if kind in simple:
        tag = simple[kind]
        return f"<{tag}>", f"</{tag}>"
    if kind == "pre":
        language = str(entity.get("language") or "")
        attr = f' data-language="{html.escape(language)}"' if language else ""
        return f"<pre{attr}>", "</pre>"
    if kind == "spoiler":
        return '<span class="tg-spoiler">', "</span>"
    url: str | None = None
    if kind == "text_link":
        url = _safe_url(str(entity.get("url") or ""))
    elif kind == "url":
        url = _safe_url(piece if "://" in piece else "http://" + piece)
    elif kind == "email":
        url = "mailto:" + piece
    if url is not None:
        href = html.escape(url, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">', "</a>"
    if kind == "bot_command":
        command = html.escape(piece, quote=True)
        return f'<span class="tg-command" data-command="{command}">', "</span>"
    if kind in ("mention", "text_mention", "hashtag", "cashtag"):
        return f'<span class="tg-{kind.replace("_", "-")}">', "</span>"
    return "", ""


def entities_to_html(text: str, entities: list[JSONDict] | None) -> str:
    """Render Telegram text + entities (UTF-16 offsets) as safe HTML.

    Everything from `text` is escaped; only the tags made here appear (b, i, u, s, code, pre,
    blockquote, a with http/https/mailto links, and spans with tg-* classes). Overlapping
    entities are closed and reopened so the result is always well nested. Newlines are kept as
    they are (the page shows bubbles with `white-space: pre-wrap`).
    """
    if not entities:
        return html.escape(text, quote=False)
    # UTF-16 offset -> index into `text`.
    index_of: dict[int, int] = {}
    u16 = 0
    for i, ch in enumerate(text):
        index_of[u16] = i
        u16 += 2 if ord(ch) > 0xFFFF else 1
    index_of[u16] = len(text)

    def to_index(offset: int) -> int:
        offset = min(max(offset, 0), u16)
        while offset not in index_of:  # inside a surrogate pair: round down
            offset -= 1
        return index_of[offset]

    spans: list[tuple[int, int, str, str]] = []
    for entity in entities:
        try:
            offset, length = int(entity["offset"]), int(entity["length"])
        except (KeyError, TypeError, ValueError):
            continue
        start, end = to_index(offset), to_index(offset + length)
        if end <= start:
            continue
        opening, closing = _open_tag(entity, text[start:end])
        if opening:
            spans.append((start, end, opening, closing))
    spans.sort(key=lambda s: (s[0], -s[1]))
    points = sorted({0, len(text), *(s[0] for s in spans), *(s[1] for s in spans)})
    out: list[str] = []
    stack: list[tuple[int, int, str, str]] = []
    pending = list(reversed(spans))
    for k, point in enumerate(points):
        if any(s[1] == point for s in stack):
            reopen: list[tuple[int, int, str, str]] = []
            while any(s[1] == point for s in stack):
                top = stack.pop()
                out.append(top[3])
                if top[1] != point:
                    reopen.append(top)
            for span in reversed(reopen):
                out.append(span[2])
                stack.append(span)
        while pending and pending[-1][0] == point:
            span = pending.pop()
            out.append(span[2])
            stack.append(span)
        if k + 1 < len(points):
            out.append(html.escape(text[point : points[k + 1]], quote=False))
    while stack:
        out.append(stack.pop()[3])
    return "".join(out)


def _short(text: str, limit: int = 40) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _summary(message: JSONDict) -> str:
    """A one-line preview of a message (reply quotes, the chat list)."""
    if message.get("text"):
        return _short(str(message["text"]))
    if "document" in message:
        name = message["document"].get("file_name") or "文件"
        return _short(f"[文件] {name}")
    if "photo" in message:
        caption = message.get("caption")
        return _short(f"[图片] {caption}" if caption else "[图片]")
    return _short(str(message.get("caption") or ""))


def _display_name(user: JSONDict) -> str:
    return " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k)) or "?"


# --------------------------------------------------------------------------- the routes


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes


_Handler = Callable[[_Request], RouteResponse]


class SandboxWeb:
    """The sandbox chat page and its JSON API (a `Routes` for `FakeBotApiServer`)."""

    #: Read by FakeBotApiServer: larger request bodies are refused (413) before being read.
    max_body_bytes = MAX_BODY_BYTES

    def __init__(
        self,
        api: FakeBotApi,
        control: SandboxControl,
        *,
        static_dir: Path = STATIC_DIR,
        poll_timeout: float = 20.0,
        answer_timeout: float = 2.0,
    ) -> None:
        self.api = api
        self.control = control
        self.static_dir = static_dir.resolve()
        self.poll_timeout = poll_timeout
        self.answer_timeout = answer_timeout
        self.dingtalk = DingTalkWeb(control, lambda: getattr(control, "dingtalk", None))
        self._routes: dict[tuple[str, str], _Handler] = {
            ("GET", "/api/state"): self._state,
            ("GET", "/api/messages"): self._messages,
            ("POST", "/api/send"): self._send,
            ("POST", "/api/press"): self._press,
            ("POST", "/api/upload"): self._upload,
            ("POST", "/api/clock"): self._clock,
            ("POST", "/api/reset"): self._reset,
        }

    # ------------------------------------------------------------------ dispatch

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Message,
        body: bytes,
    ) -> RouteResponse | None:
        request = _Request(method.upper(), path, query, headers, body)
        try:
            if path in ("/", "/index.html"):
                self._only(request, "GET")
                return self._static("index.html")
            if path.startswith("/static/"):
                self._only(request, "GET")
                return self._static(path.removeprefix("/static/"))
            if path.startswith("/api/file/"):
                self._only(request, "GET")
                return self._file(path.removeprefix("/api/file/"))
            if not path.startswith("/api/"):
                return None
            if path.startswith("/api/dingtalk/"):
                return self.dingtalk.handle(request.method, path, query, body)
            handler = self._routes.get((request.method, path))
            if handler is None:
                if any(p == path for _m, p in self._routes):
                    raise _HttpError(405, "不支持的请求方法 / method not allowed")
                raise _HttpError(404, "未找到 / not found")
            return handler(request)
        except _HttpError as exc:
            return self._json(exc.status, {"error": exc.message})

    @staticmethod
    def _only(request: _Request, method: str) -> None:
        if request.method != method:
            raise _HttpError(405, "不支持的请求方法 / method not allowed")

    # ------------------------------------------------------------------ responses

    @staticmethod
    def _json(status: int, payload: JSONDict) -> RouteResponse:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return (
            status,
            {
                "Content-Type": "application/json; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
            body,
        )

    def _static(self, name: str) -> RouteResponse:
        not_found = _HttpError(404, "未找到 / not found")
        if not _STATIC_NAME.fullmatch(name) or ".." in name:
            raise not_found
        path = (self.static_dir / name).resolve()
        if path.parent != self.static_dir or not path.is_file():
            raise not_found
        content_type = _STATIC_TYPES.get(path.suffix.lower())
        if content_type is None:
            raise not_found
        headers = {
            "Content-Type": content_type,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        if path.suffix.lower() == ".html":
            headers["Content-Security-Policy"] = _CSP
            headers["X-Frame-Options"] = "DENY"
        return 200, headers, path.read_bytes()

    # ------------------------------------------------------------------ input

    @staticmethod
    def _body(request: _Request) -> JSONDict:
        content_type = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        if content_type.lower() != "application/json":
            raise _HttpError(415, "请求须为 JSON / Content-Type must be application/json")
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _bad("请求不是有效的 JSON / body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise _bad("请求须为 JSON 对象 / body must be a JSON object")
        return payload

    @staticmethod
    def _as_int(value: Any, name: str, *, required: bool = True) -> int | None:
        if value is None or value == "":
            if required:
                raise _bad(f"缺少参数 {name} / {name} is required")
            return None
        if isinstance(value, bool):
            raise _bad(f"{name} 须为整数 / {name} must be an integer")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _INT.fullmatch(value.strip()):
            number = int(value.strip())
        else:
            raise _bad(f"{name} 须为整数 / {name} must be an integer")
        if abs(number) >= 2**63:
            raise _bad(f"{name} 超出范围 / {name} is out of range")
        return number

    @staticmethod
    def _query_value(request: _Request, name: str) -> str | None:
        values = request.query.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise _bad(f"参数 {name} 重复 / {name} given more than once")
        return values[0]

    @staticmethod
    def _as_text(
        value: Any, name: str, limit: int, *, required: bool = True, units: str = "chars"
    ) -> str | None:
        if value is None:
            if required:
                raise _bad(f"缺少参数 {name} / {name} is required")
            return None
        if not isinstance(value, str):
            raise _bad(f"{name} 须为字符串 / {name} must be a string")
        if "\x00" in value:
            raise _bad(f"{name} 含有非法字符 / {name} contains a NUL character")
        size = len(value.encode("utf-8")) if units == "bytes" else utf16_len(value)
        if size > limit:
            raise _bad(f"{name} 过长（最多 {limit}） / {name} is too long (at most {limit})")
        return value

    def _identity(self, value: Any) -> Identity:
        user_id = self._as_int(value, "user")
        for identity in self.control.identities():
            if identity.user_id == user_id:
                return identity
        raise _HttpError(403, "没有这个身份 / unknown identity")

    def _chats_of(self, identity: Identity) -> list[tuple[int, str, str]]:
        """(chat id, title, kind) of every chat `identity` may open (none on Telegram for a
        钉钉 identity: its chat is under /api/dingtalk/)."""
        if identity.channel != "telegram":
            return []
        chats = [(identity.user_id, self.api.private_chat_title(identity.user_id), "private")]
        if identity.role in GROUP_ROLES:
            group_id, title = self.control.admin_group()
            chats.append((group_id, title, "group"))
        return chats

    def _chat(self, identity: Identity, value: Any) -> int:
        """The chat id from the request (default: the private chat), if `identity` may use it."""
        chat_id = self._as_int(value, "chat", required=False)
        if identity.channel != "telegram":
            raise _HttpError(403, "此身份在钉钉上 / this identity is on 钉钉")
        if chat_id is None:
            return identity.user_id
        if chat_id not in [c[0] for c in self._chats_of(identity)]:
            raise _HttpError(403, "无权访问此会话 / you may not open this chat")
        return chat_id

    def _register(self, identity: Identity) -> None:
        """Make the fake API know the identity (by its name) before it writes anything."""
        if identity.user_id not in self.api.users:
            self.api.add_user(identity.user_id, identity.name)

    def _tz(self) -> tzinfo:
        return self.control.now().tzinfo or DEFAULT_TZ

    # ------------------------------------------------------------------ shaping

    def _shape(self, message: JSONDict, viewer: int, tz: tzinfo) -> JSONDict:
        """A stored Message (plus "seq") in the shape the page renders."""
        sender = message.get("from") or {}
        chat = message.get("chat") or {}
        when = datetime.fromtimestamp(int(message.get("date") or 0), tz)
        shaped: JSONDict = {
            "seq": message.get("seq", 0),
            "message_id": message["message_id"],
            "chat_id": chat.get("id"),
            "from": {
                "id": sender.get("id"),
                "name": _display_name(sender),
                "is_bot": bool(sender.get("is_bot")),
            },
            "outgoing": sender.get("id") == viewer,
            "date": int(message.get("date") or 0),
            "time": f"{when:%H:%M}",
            "day": f"{when.month}月{when.day}日（{WEEKDAYS[when.weekday()]}）",
            "edited": "edit_date" in message,
            "text": None,
            "html": None,
            "reply_to": None,
            "buttons": [],
            "force_reply": False,
            "placeholder": None,
            "document": None,
            "photo": None,
            "caption": None,
            "caption_html": None,
        }
        if "text" in message:
            shaped["text"] = message["text"]
            shaped["html"] = entities_to_html(message["text"], message.get("entities"))
        if message.get("caption"):
            shaped["caption"] = message["caption"]
            shaped["caption_html"] = entities_to_html(
                message["caption"], message.get("caption_entities")
            )
        quoted = message.get("reply_to_message")
        if isinstance(quoted, dict):
            shaped["reply_to"] = {
                "message_id": quoted.get("message_id"),
                "from": _display_name(quoted.get("from") or {}),
                "text": _summary(quoted),
            }
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            buttons = []
            for button in row:
                item: JSONDict = {"text": str(button.get("text", ""))}
                if "callback_data" in button:
                    item["data"] = str(button["callback_data"])
                elif button.get("url") and _safe_url(str(button["url"])):
                    item["url"] = str(button["url"])
                else:
                    continue
                buttons.append(item)
            if buttons:
                shaped["buttons"].append(buttons)
        document = message.get("document")
        if isinstance(document, dict):
            shaped["document"] = {
                "file_id": document.get("file_id"),
                "file_name": document.get("file_name") or "文件",
                "file_size": document.get("file_size"),
                "mime_type": document.get("mime_type"),
            }
        photo = message.get("photo")
        if isinstance(photo, list) and photo:
            largest = photo[-1]
            shaped["photo"] = {
                "file_id": largest.get("file_id"),
                "width": largest.get("width"),
                "height": largest.get("height"),
            }
        if sender.get("is_bot"):
            markup = self.api.sent_markup(message) or {}
            if markup.get("force_reply") and self._force_reply_targets(message, markup, viewer):
                shaped["force_reply"] = True
                placeholder = markup.get("input_field_placeholder")
                shaped["placeholder"] = str(placeholder) if placeholder else None
        return shaped

    def _force_reply_targets(self, message: JSONDict, markup: JSONDict, viewer: int) -> bool:
        """Whether a ForceReply prompt applies to `viewer` (Telegram's `selective` rules)."""
        if (message.get("chat") or {}).get("type") == "private" or not markup.get("selective"):
            return True
        quoted = message.get("reply_to_message") or {}
        if (quoted.get("from") or {}).get("id") == viewer:
            return True
        user = self.api.users.get(viewer) or {}
        username = str(user.get("username") or "").lower()
        return bool(username) and f"@{username}" in str(message.get("text") or "").lower()

    # ------------------------------------------------------------------ API handlers

    def _state(self, request: _Request) -> RouteResponse:
        now = self.control.now()
        group_id, group_title = self.control.admin_group()
        identities = self.control.identities()
        payload: JSONDict = {
            "now": now.isoformat(),
            "now_label": now_label(now),
            "identities": [
                {"user_id": i.user_id, "name": i.name, "role": i.role, "unit": i.unit,
                 "channel": i.channel}
                for i in identities
            ],
            "admin_group": {"id": group_id, "title": group_title},
            "bot": {
                "id": self.api.bot_id,
                "name": self.api.bot_user.get("first_name"),
                "username": self.api.bot_username,
            },
            "cursor": self.api.history_seq,
        }
        user = self._query_value(request, "user")
        if user is not None:
            identity = self._identity(user)
            chats = []
            for chat_id, title, kind in self._chats_of(identity):
                last_seq = self.api.chat_seq(chat_id)
                recent = self.api.chat_history(chat_id, since=max(last_seq - 1, 0))
                chats.append(
                    {
                        "id": chat_id,
                        "title": title,
                        "kind": kind,
                        "last_seq": last_seq,
                        "preview": _summary(recent[-1]) if recent else "",
                    }
                )
            payload["chats"] = chats
        return self._json(200, payload)

    def _messages(self, request: _Request) -> RouteResponse:
        identity = self._identity(self._query_value(request, "user"))
        chat_id = self._chat(identity, self._query_value(request, "chat"))
        since = self._as_int(self._query_value(request, "since"), "since", required=False) or 0
        if since < 0:
            raise _bad("since 不能为负数 / since must not be negative")
        wait_text = self._query_value(request, "wait")
        wait = self.poll_timeout
        if wait_text is not None:
            try:
                wait = float(wait_text)
            except ValueError:
                raise _bad("wait 须为数字 / wait must be a number") from None
            if not 0 <= wait <= MAX_POLL_WAIT:
                raise _bad(f"wait 须在 0 到 {MAX_POLL_WAIT:g} 之间 / wait out of range")
        if since > 0 and wait > 0 and self.api.chat_seq(chat_id) <= since:
            self.api.wait_chat_change(chat_id, since, wait)
        cursor = self.api.history_seq  # read first: nothing newer can be lost
        deleted = self.api.chat_deletions(chat_id, since)
        history = self.api.chat_history(chat_id, since)
        tz = self._tz()
        messages = [self._shape(m, identity.user_id, tz) for m in history]
        return self._json(200, {"messages": messages, "deleted": deleted, "cursor": cursor})

    def _reply_to(self, body: JSONDict) -> int | None:
        reply_to = self._as_int(body.get("reply_to"), "reply_to", required=False)
        if reply_to is not None and reply_to <= 0:
            raise _bad("reply_to 无效 / invalid reply_to")
        return reply_to

    def _send(self, request: _Request) -> RouteResponse:
        body = self._body(request)
        identity = self._identity(body.get("user"))
        chat_id = self._chat(identity, body.get("chat"))
        text = self._as_text(body.get("text"), "text", MAX_TEXT_LENGTH) or ""
        if not text.strip():
            raise _bad("消息不能为空 / text is empty")
        reply_to = self._reply_to(body)
        self._register(identity)
        try:
            message = self.api.send_text(
                identity.user_id,
                text.strip(),
                chat_id=chat_id,
                reply_to=reply_to,
            )
        except ValueError as exc:
            raise _bad(f"无法发送：{exc} / cannot send: {exc}") from None
        shaped = self._shape(message, identity.user_id, self._tz())
        return self._json(200, {"ok": True, "message": shaped})

    def _press(self, request: _Request) -> RouteResponse:
        body = self._body(request)
        identity = self._identity(body.get("user"))
        chat_id = self._chat(identity, body.get("chat"))
        message_id = self._as_int(body.get("message_id"), "message_id")
        data = self._as_text(body.get("data"), "data", MAX_CALLBACK_DATA_BYTES, units="bytes")
        if not data:
            raise _bad("缺少参数 data / data is required")
        self._register(identity)
        try:
            query_id = self.api.press_button(
                identity.user_id, message_id or 0, data, chat_id=chat_id, strict=True
            )
        except ValueError:
            raise _bad("按钮已失效 / this button is no longer available") from None
        answer = self.api.wait_callback_answer(query_id, self.answer_timeout)
        payload: JSONDict = {
            "ok": True,
            "answered": answer is not None,
            "text": None,
            "show_alert": False,
        }
        if answer is not None:
            payload["text"] = answer.get("text") or None
            payload["show_alert"] = bool(answer.get("show_alert"))
            url = _safe_url(str(answer.get("url") or ""))
            if url:
                payload["url"] = url
        return self._json(200, payload)

    def _upload(self, request: _Request) -> RouteResponse:
        body = self._body(request)
        identity = self._identity(body.get("user"))
        chat_id = self._chat(identity, body.get("chat"))
        raw_name = self._as_text(body.get("filename"), "filename", MAX_FILENAME_LENGTH) or ""
        filename = raw_name.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not filename or filename in (".", "..") or any(ord(c) < 32 for c in filename):
            raise _bad("文件名无效 / invalid filename")
        caption = self._as_text(
            body.get("caption"), "caption", MAX_CAPTION_LENGTH, required=False
        )
        encoded = body.get("content_base64")
        if not isinstance(encoded, str):
            raise _bad("content_base64 须为字符串 / content_base64 must be a string")
        if encoded.startswith("data:") and "," in encoded:  # a data: URL from FileReader
            encoded = encoded.split(",", 1)[1]
        if len(encoded) * 3 // 4 > MAX_UPLOAD_BYTES + 2:
            return self._json(413, {"error": "文件超过 10 MB / the file is larger than 10 MB"})
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("content_base64 不是有效的 Base64 / invalid base64") from None
        if not content:
            raise _bad("文件为空 / the file is empty")
        if len(content) > MAX_UPLOAD_BYTES:
            return self._json(413, {"error": "文件超过 10 MB / the file is larger than 10 MB"})
        reply_to = self._reply_to(body)
        self._register(identity)
        try:
            message = self.api.send_document(
                identity.user_id,
                filename,
                content,
                caption=caption.strip() if caption and caption.strip() else None,
                chat_id=chat_id,
                reply_to=reply_to,
            )
        except ValueError as exc:
            raise _bad(f"无法发送：{exc} / cannot send: {exc}") from None
        shaped = self._shape(message, identity.user_id, self._tz())
        return self._json(200, {"ok": True, "message": shaped})

    def _file(self, file_id: str) -> RouteResponse:
        if not _FILE_ID.fullmatch(file_id):
            raise _HttpError(404, "未找到文件 / no such file")
        try:
            info = self.api.file_info(file_id)
            data = self.api.file_bytes(file_id)
        except KeyError:
            raise _HttpError(404, "未找到文件 / no such file") from None
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if info["kind"] == "photo":
            if data.startswith(b"\x89PNG\r\n\x1a\n"):
                headers["Content-Type"] = "image/png"
            elif data[:6] in (b"GIF87a", b"GIF89a"):
                headers["Content-Type"] = "image/gif"
            else:
                headers["Content-Type"] = "image/jpeg"
            headers["Content-Disposition"] = "inline"
        else:
            name = str(info.get("file_name") or "file")
            suffix = Path(name).suffix.lower()
            headers["Content-Type"] = _DOWNLOAD_TYPES.get(suffix, "application/octet-stream")
            fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "file"
            headers["Content-Disposition"] = (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
            )
        return 200, headers, data

    def _clock(self, request: _Request) -> RouteResponse:
        body = self._body(request)
        action = body.get("action")
        if not isinstance(action, str) or action not in ACTIONS:
            known = ", ".join(ACTIONS)
            raise _bad(f"未知操作 / unknown action (one of: {known})")
        try:
            result = self.control.run_action(action)
        except ValueError as exc:
            raise _bad(f"操作无效：{exc} / invalid action: {exc}") from None
        except TimeoutError:
            return self._json(504, {"error": "操作超时 / the action timed out"})
        except Exception as exc:
            _LOGGER.exception("sandbox action %s failed", action)
            return self._json(
                500, {"error": f"操作失败，详见沙盒日志 sandbox.log / the action failed: {exc}"})
        now = self.control.now()
        return self._json(
            200, {"result": result, "now": now.isoformat(), "now_label": now_label(now)}
        )

    def _reset(self, request: _Request) -> RouteResponse:
        self._body(request)
        try:
            result = self.control.reset()
        except TimeoutError:
            return self._json(504, {"error": "重置超时，请刷新页面 / the reset timed out"})
        except Exception as exc:
            _LOGGER.exception("sandbox reset failed")
            return self._json(
                500, {"error": f"重置失败，详见沙盒日志 sandbox.log / the reset failed: {exc}"})
        now = self.control.now()
        return self._json(
            200, {"result": result, "now": now.isoformat(), "now_label": now_label(now)}
        )
