"""The sandbox page's 钉钉 side: an identity bound on 钉钉 chats with the robot through the
sandbox's in-process `FakeDingTalk` (bot/sandbox/runtime.py), as a 钉钉 client would.

`DingTalkWeb` answers the paths under ``/api/dingtalk/`` for `SandboxWeb` (bot/sandbox/web.py
hands them over; everything else stays there). Identities come from the same
`SandboxControl.identities()`; only those with ``channel == "dingtalk"`` may use these routes,
and each only their own one-to-one chat with the robot.

* `GET /api/dingtalk/messages?user=<id>` — the whole chat, oldest first: the person's own
  texts (the robot-message frames they sent) and the robot's messages to them (markdown,
  action cards), `{"messages": [...], "cursor": n}` where `cursor` changes whenever the chat
  does (the page polls it and redraws on a change; a 钉钉 chat is short-lived, so no paging).
  A robot message is `{id, from_bot: true, time, title, html, buttons: [{label, url}]}`:
  the markdown rendered simply (text escaped, ``**bold**``, line breaks kept), the card's
  buttons plus any inline ``dtmd://`` links (more buttons than a card holds) as buttons.
* `POST /api/dingtalk/send {user, text}` — the person writes to the robot (`send_text`: a
  Stream frame the bot ACKs and answers).
* `POST /api/dingtalk/press {user, url}` — the person taps a button: only a URL the robot sent
  them (`press_link`: the client sends the button's text back).

The chat is what the fake holds in memory: it is not saved with the Telegram side
(bot/sandbox/persist.py), so after a restart it starts empty; the ledger keeps all it did.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from bot.fakeapi.server import RouteResponse
from bot.fakedingtalk import FakeDingTalk, SentMessage
from bot.sandbox.control import Identity, SandboxControl

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
MAX_TEXT = 4000
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]*)\]\((dtmd://[^)\s]+)\)")
_INT = re.compile(r"[0-9]{1,20}")


class _Error(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def markdown_html(text: str) -> str:
    """钉钉 markdown as the page shows it: escaped text, ``**bold**`` as <b>, hard breaks
    ("  \\n") as plain newlines (the bubble keeps line breaks), inline dtmd links as their
    label (they are shown as buttons)."""
    text = _LINK.sub(lambda m: m.group(1), text).replace("  \n", "\n")
    escaped = html.escape(text, quote=False)
    return _BOLD.sub(lambda m: f"<b>{m.group(1)}</b>", escaped)


def buttons_of(message: SentMessage) -> list[tuple[str, str]]:
    """The card's buttons, then inline dtmd:// links, as (label, url)."""
    found = list(message.buttons)
    found += [(m.group(1), m.group(2)) for m in _LINK.finditer(message.text)]
    return found


class DingTalkWeb:
    """The ``/api/dingtalk/*`` routes (see the module docstring). `fake` gives the running
    fake 钉钉, or None when the sandbox runs without one."""

    def __init__(self, control: SandboxControl,
                 fake: Callable[[], FakeDingTalk | None]) -> None:
        self.control = control
        self.fake = fake

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               body: bytes) -> RouteResponse:
        try:
            fake = self.fake()
            if fake is None:
                raise _Error(404, "沙盒未运行钉钉 / 钉钉 is not running here")
            if (method, path) == ("GET", "/api/dingtalk/messages"):
                identity = self._identity((query.get("user") or [""])[0])
                return self._json(200, self._messages(fake, identity))
            if (method, path) == ("POST", "/api/dingtalk/send"):
                data = self._body(body)
                identity = self._identity(data.get("user"))
                text = data.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise _Error(400, "消息不能为空 / text is empty")
                if len(text) > MAX_TEXT:
                    raise _Error(400, "消息太长 / text is too long")
                frame = fake.send_text(identity.account, text.strip())
                return self._json(200, {"ok": True, "id": frame})
            if (method, path) == ("POST", "/api/dingtalk/press"):
                data = self._body(body)
                identity = self._identity(data.get("user"))
                url = data.get("url")
                sent = {u for m in fake.messages_to(identity.account) for _l, u in buttons_of(m)}
                if not isinstance(url, str) or url not in sent:
                    raise _Error(400, "按钮无效 / not a button the robot sent you")
                try:
                    frame = fake.press_link(identity.account, url)
                except ValueError:
                    raise _Error(400, "按钮无效 / not a button the robot sent you") from None
                return self._json(200, {"ok": True, "id": frame})
            raise _Error(404, "未找到 / not found")
        except _Error as exc:
            return self._json(exc.status, {"error": exc.message})

    def _identity(self, value: Any) -> Identity:
        text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) \
            else ""
        if not _INT.fullmatch(text):
            raise _Error(400, "缺少或无效的参数 user / invalid user")
        for identity in self.control.identities():
            if identity.user_id == int(text):
                if identity.channel != "dingtalk" or not identity.account:
                    raise _Error(403, "此身份不在钉钉上 / this identity is not on 钉钉")
                return identity
        raise _Error(403, "没有这个身份 / unknown identity")

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise _Error(400, "请求须为 JSON / the body must be JSON") from None
        if not isinstance(data, dict):
            raise _Error(400, "请求须为 JSON 对象 / the body must be a JSON object")
        return data

    def _messages(self, fake: FakeDingTalk, identity: Identity) -> dict[str, Any]:
        tz: tzinfo | None = self.control.now().tzinfo
        staff = identity.account
        rows: list[tuple[float, int, int, dict[str, Any]]] = []
        for order, frame in enumerate(fake.frames()):
            data = frame.data
            if frame.topic != ROBOT_TOPIC or data.get("senderStaffId") != staff \
                    or data.get("conversationType") != "1":
                continue
            at = float(data.get("createAt") or 0) / 1000
            text = str((data.get("text") or {}).get("content") or "")
            rows.append((at, 0, order, {"id": f"u{frame.message_id}", "from_bot": False,
                                        "time": _time(at, tz), "title": "",
                                        "html": html.escape(text, quote=False),
                                        "buttons": []}))
        for message in fake.messages_to(staff):
            rows.append((message.at, 1, message.seq, {
                "id": f"b{message.seq}", "from_bot": True, "time": _time(message.at, tz),
                "title": str(message.msg_param.get("title") or ""),
                "html": markdown_html(message.text),
                "buttons": [{"label": label, "url": url}
                            for label, url in buttons_of(message)],
            }))
        rows.sort(key=lambda row: row[:3])
        messages = [row[3] for row in rows]
        cursor = f"{len(messages)}:{messages[-1]['id'] if messages else ''}"
        return {"messages": messages, "cursor": cursor}

    @staticmethod
    def _json(status: int, payload: dict[str, Any]) -> RouteResponse:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return (status, {"Content-Type": "application/json; charset=utf-8",
                         "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}, body)


def _time(at: float, tz: tzinfo | None) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%H:%M")
