"""An in-memory fake of the Telegram Bot API.

`FakeBotApi` keeps the whole "Telegram side" of a conversation in memory: users, groups, the
update queue the bot polls, every message the bot sent, uploaded files and the bot's commands.
It is pure Python, performs no I/O and is thread-safe (one re-entrant lock guards all state; a
`threading.Condition` on that lock wakes long polls and `wait_for` callers).

Two halves:

* the *bot side* is `FakeBotApi.call(method, params, files)`, which answers exactly like the Bot
  API does (`{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description":
  ...}`, plus the HTTP status). `server.FakeBotApiServer` exposes it over HTTP and
  `request.FakeRequest` plugs it straight into python-telegram-bot;
* the *user side* (`add_user`, `send_text`, `press_button`, `send_document`, ...) creates the
  updates a real Telegram client would cause, and the inspection helpers (`sent`, `calls`,
  `wait_for`, ...) let tests look at what the bot did;
* the *viewer side* (`chat_history`, `chat_deletions`, `wait_chat_change`, ...) shows a chat as
  its members see it, with a global sequence number for polling (the sandbox web page).

Honesty notes (things real Telegram does that the fake reproduces, because bots break on them):
parse_mode HTML / MarkdownV2 / Markdown is parsed into plain text plus entities, with Telegram's
"can't parse entities" errors; leading/trailing whitespace is trimmed; bot commands, mentions,
hashtags, URLs and e-mails are auto-detected as entities; only inline keyboards are echoed in
`Message.reply_markup`; editing a message without `reply_markup` removes its inline keyboard;
an edit that changes nothing fails with "message is not modified"; callback_data is limited to
64 bytes; in groups with privacy mode on (the default) the bot only receives commands, replies
to its own messages and mentions of it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import logging
import math
import mimetypes
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "ApiError",
    "FakeBotApi",
    "parse_entities",
    "route_path",
    "utf16_len",
]

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]
#: An uploaded file: (filename, content) or (filename, content, mime type).
FileTuple = tuple[str, bytes] | tuple[str, bytes, str | None]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DELETE_WINDOW_SECONDS = 48 * 3600

_UPDATE_ID_BASE = 10_000_000
_CALLBACK_ID_BASE = 4_000_000_000_000_000_000

#: Update types delivered when `allowed_updates` is empty/unset (Telegram's default).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

#: Methods counted (and limited) by `FakeBotApi.rate_limit`.
RATE_LIMITED_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_BAD_MARKUP = "can't parse reply keyboard markup JSON object"


class ApiError(Exception):
    """A Bot API error answer; `call` turns it into the error JSON and HTTP status."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None,
                 migrate_to_chat_id: int | None = None):
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def response(self) -> tuple[int, JSONDict]:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return self.error_code, body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def _default_description(error_code: int, retry_after: int | None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(error_code, "Error")


# --------------------------------------------------------------------------- URL routing

_METHOD_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[^/]+)/?$")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")


def route_path(path: str) -> tuple[str, str, str] | None:
    """Split a URL path into `("method", token, method)` or `("file", token, file_path)`.

    The path must already be percent-decoded and have no query string. Returns None for paths
    that are neither `/bot<token>/<method>` nor `/file/bot<token>/<file_path>` (a prefix before
    them, like a reverse-proxy mount point, is tolerated).
    """
    match = _FILE_PATH.search(path)
    if match:
        return "file", match["token"], match["path"]
    match = _METHOD_PATH.search(path)
    if match:
        return "method", match["token"], match["method"]
    return None


# --------------------------------------------------------------------------- text & entities


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (the unit of Telegram entity offsets)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _entity_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse entities: {detail}")


_HTML_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|lt|gt|amp|quot);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _decode_html_entity(text: str, index: int) -> tuple[str | None, int]:
    match = _HTML_ENTITY.match(text, index)
    if not match:
        return None, index
    name = match.group(1)
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, index
        return chr(code), match.end()
    return _HTML_NAMED[name], match.end()


def _parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML parse mode (mirrors tdlib's parse_html, including its error texts)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    n = len(text)
    i = 0

    def unclosed(begin: int) -> ApiError:
        return _entity_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")

    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, end = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += _u16(decoded)
                i = end
                continue
        if ch != "<":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise _entity_error(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise _entity_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            tag, offset, attrs = stack.pop()
            if end_name and end_name != tag:
                raise _entity_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            i = j + 1
            if u16 > offset:
                _close_html_entity(entities, tag, offset, u16 - offset, attrs, out)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise unclosed(begin)
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise _entity_error(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        i = j
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] == ">":
                i += 1
                break
            name_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr_name = text[name_start:i].lower()
            if not attr_name:
                raise _entity_error(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] != "=":
                if tag == "blockquote" and attr_name == "expandable":
                    attrs["expandable"] = ""
                    continue
                raise _entity_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded, end = _decode_html_entity(text, i)
                        if decoded is not None:
                            value.append(decoded)
                            i = end
                            continue
                    value.append(text[i])
                    i += 1
                if i < n:
                    i += 1
                attr_value = "".join(value)
            else:
                token_start = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                attr_value = text[token_start:i].lower()
                if i < n and not text[i].isspace() and text[i] != ">":
                    raise _entity_error(
                        "Unexpected end of name token at byte offset "
                        f"{_byte_offset(text, token_start)}"
                    )
            if i >= n:
                raise unclosed(begin)
            attrs[attr_name] = attr_value
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _entity_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append((tag, u16, attrs))
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    return "".join(out), entities


def _close_html_entity(
    entities: list[JSONDict],
    tag: str,
    offset: int,
    length: int,
    attrs: dict[str, str],
    out: list[str],
) -> None:
    kind = _HTML_TAGS[tag]
    entity: JSONDict = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        url = attrs.get("href", "")
        if not url:
            return
        if url.startswith("tg://user?id="):
            user_id = url.removeprefix("tg://user?id=")
            if user_id.isdigit():
                entity = {
                    "type": "text_mention",
                    "offset": offset,
                    "length": length,
                    "user": {"id": int(user_id), "is_bot": False, "first_name": ""},
                }
                entities.append(entity)
                return
        entity["url"] = url
    elif kind == "code":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            entity["_language"] = language.removeprefix("language-")
    elif kind == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
        ):
            entities.pop()
            if last.get("_language"):
                entity["language"] = last["_language"]
    elif kind == "blockquote":
        if "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id:
            return
        entity["custom_emoji_id"] = emoji_id
    entities.append(entity)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenEntity:
    kind: str
    offset: int
    byte_offset: int
    start: int
    argument: str | None = None


def _parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's MarkdownV2 parse mode (mirrors tdlib's parse_markdown_v2)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    stack: list[_OpenEntity] = []
    quote_start: int | None = None
    n = len(text)
    i = 0

    def peek(k: int) -> str:
        return text[k] if k < n else ""

    def escapable(k: int) -> bool:
        return k < n and 0 < ord(text[k]) <= 126

    while i < n:
        ch = text[i]
        if ch == "\\" and escapable(i + 1):
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if ch == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        if ch not in ("`" if in_code else _MDV2_RESERVED):
            if ch == "\n" and quote_start is not None and peek(i + 1) != ">":
                if u16 > quote_start:
                    entities.append(
                        {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
                    )
                quote_start = None
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        top = stack[-1].kind if stack else None
        is_end = (
            (top == "bold" and ch == "*")
            or (top == "italic" and ch == "_" and peek(i + 1) != "_")
            or (top == "code" and ch == "`")
            or (top == "pre" and text.startswith("```", i))
            or (top in ("text_link", "custom_emoji") and ch == "]")
            or (top == "underline" and text.startswith("__", i))
            or (top == "strikethrough" and ch == "~")
            or (top == "spoiler" and text.startswith("||", i))
        )
        if not is_end:
            byte_offset = _byte_offset(text, i)
            argument: str | None = None
            if ch == "_":
                if peek(i + 1) == "_":
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif ch == "*":
                kind = "bold"
            elif ch == "~":
                kind = "strikethrough"
            elif ch == "|" and peek(i + 1) == "|":
                kind = "spoiler"
                i += 1
            elif ch == "[":
                kind = "text_link"
            elif ch == "`":
                if text.startswith("```", i):
                    kind = "pre"
                    i += 3
                    language_end = i
                    while (
                        language_end < n
                        and not text[language_end].isspace()
                        and text[language_end] != "`"
                    ):
                        language_end += 1
                    if i != language_end and language_end < n and text[language_end] != "`":
                        argument = text[i:language_end]
                        i = language_end
                    if peek(i) in ("\n", "\r"):
                        if peek(i + 1) in ("\n", "\r") and text[i] != text[i + 1]:
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif ch == "!" and peek(i + 1) == "[":
                kind = "custom_emoji"
                i += 1
            else:
                raise _entity_error(
                    f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(_OpenEntity(kind, u16, byte_offset, len(out), argument))
            i += 1
            continue
        opened = stack.pop()
        skip = u16 == opened.offset
        entity: JSONDict = {"type": opened.kind, "offset": opened.offset, "length": 0}
        if opened.kind in ("underline", "spoiler"):
            i += 1
        elif opened.kind == "pre":
            i += 2
            if opened.argument:
                entity["language"] = opened.argument
        elif opened.kind in ("text_link", "custom_emoji"):
            if peek(i + 1) != "(":
                url = "".join(out[opened.start :])
            else:
                i += 2
                url_start = i
                url_chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and escapable(i + 1):
                        url_chars.append(text[i + 1])
                        i += 2
                        continue
                    url_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise _entity_error(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_start)}"
                    )
                url = "".join(url_chars)
            if opened.kind == "custom_emoji":
                emoji_id = url.removeprefix("tg://emoji?id=")
                skip = skip or emoji_id == url or not emoji_id
                entity["custom_emoji_id"] = emoji_id
            elif url.startswith("tg://user?id=") and url[13:].isdigit():
                entity = {
                    "type": "text_mention",
                    "offset": opened.offset,
                    "length": 0,
                    "user": {"id": int(url[13:]), "is_bot": False, "first_name": ""},
                }
            else:
                skip = skip or not url
                entity["url"] = url
        if not skip:
            entity["length"] = u16 - opened.offset
            entities.append(entity)
        i += 1
    if stack:
        opened = stack[-1]
        name = _MDV2_TYPE_NAMES[opened.kind]
        if opened.kind == "pre" and opened.argument:
            name = "PreCode"
        raise _entity_error(f"Can't find end of {name} entity at byte offset {opened.byte_offset}")
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    return "".join(out), entities


def _parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's legacy Markdown parse mode (mirrors tdlib's parse_markdown)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if ch not in "_*`[":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        begin = i
        end_char = "]" if ch == "[" else ch
        i += 1
        is_pre = False
        language = ""
        if ch == "`" and text.startswith("``", i):
            i += 2
            is_pre = True
            language_end = i
            while (
                language_end < n and not text[language_end].isspace() and text[language_end] != "`"
            ):
                language_end += 1
            if i != language_end and language_end < n and text[language_end] != "`":
                language = text[i:language_end]
                i = language_end
            if i < n and text[i] in "\n\r":
                if i + 1 < n and text[i + 1] in "\n\r" and text[i] != text[i + 1]:
                    i += 2
                else:
                    i += 1
        start_index = len(out)
        offset = u16
        while i < n and (text[i] != end_char or (is_pre and not text.startswith("``", i + 1))):
            out.append(text[i])
            u16 += _u16(text[i])
            i += 1
        if i >= n:
            raise _entity_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if u16 > offset:
            entity: JSONDict = {"type": "", "offset": offset, "length": u16 - offset}
            if ch == "_":
                entity["type"] = "italic"
            elif ch == "*":
                entity["type"] = "bold"
            elif ch == "[":
                if i + 1 < n and text[i + 1] == "(":
                    i += 2
                    url_chars: list[str] = []
                    while i < n and text[i] != ")":
                        url_chars.append(text[i])
                        i += 1
                    url = "".join(url_chars)
                else:
                    url = "".join(out[start_index:])
                entity["type"] = "text_link"
                entity["url"] = url
            elif is_pre:
                entity["type"] = "pre"
                if language:
                    entity["language"] = language
            else:
                entity["type"] = "code"
            if entity["type"] != "text_link" or entity["url"]:
                entities.append(entity)
        if is_pre:
            i += 2
        i += 1
    return "".join(out), entities


_AUTO_ENTITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"(?i)(?<![\w@/])(?:https?://|www\.)[^\s<>\"]+")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![^\s(\[{\"'])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![\w@/.])@[A-Za-z][A-Za-z0-9_]{2,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d])\w+")),
)
_NO_AUTO_INSIDE = frozenset({"code", "pre", "text_link", "custom_emoji", "url", "email"})


def _auto_entities(text: str, existing: list[JSONDict]) -> list[JSONDict]:
    """Entities Telegram detects by itself (commands, mentions, hashtags, URLs, e-mails)."""
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _NO_AUTO_INSIDE
    ]
    found: list[JSONDict] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind == "url":
                value = value.rstrip(".,;:!?)]}'")
                if not value or value.lower() in ("http://", "https://", "www."):
                    continue
            offset = utf16_len(text[: match.start()])
            end = offset + utf16_len(value)
            if any(start < end and offset < stop for start, stop in taken):
                continue
            taken.append((offset, end))
            found.append({"type": kind, "offset": offset, "length": end - offset})
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return found


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading/trailing whitespace like Telegram does, keeping entities consistent."""
    whitespace = " \t\r\n\v\f"
    stripped_left = text.lstrip(whitespace)
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    result = stripped_left.rstrip(whitespace)
    total = utf16_len(result)
    fixed: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


def parse_entities(
    text: str,
    parse_mode: str | None = None,
    entities: list[JSONDict] | None = None,
) -> tuple[str, list[JSONDict]]:
    """Turn outgoing text into (plain text, entities) the way Telegram does.

    Explicit `entities` win over `parse_mode`. Leading/trailing whitespace is trimmed and
    commands, mentions, hashtags, URLs and e-mails are detected. Raises `ApiError` (400) on
    markup Telegram would reject or an unknown parse mode.
    """
    if entities:
        plain, parsed = text, [dict(e) for e in entities]
    elif parse_mode is None or parse_mode == "":
        plain, parsed = text, []
    else:
        mode = parse_mode.lower()
        if mode == "html":
            plain, parsed = _parse_html(text)
        elif mode == "markdownv2":
            plain, parsed = _parse_markdown_v2(text)
        elif mode == "markdown":
            plain, parsed = _parse_markdown(text)
        else:
            raise _bad_request(f"unsupported parse_mode {parse_mode}")
    plain, parsed = _trim(plain, parsed)
    parsed.extend(_auto_entities(plain, parsed))
    parsed.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, parsed


# --------------------------------------------------------------------------- parameters


def _param_int(params: JSONDict, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _bad_request(f"{name} is empty")
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _bad_request(f"invalid {name} specified")


def _param_float(params: JSONDict, name: str) -> float | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} specified") from None


def _param_bool(params: JSONDict, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _param_str(params: JSONDict, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _bad_request(f"invalid {name} specified")


def _param_json(params: JSONDict, name: str, error: str | None = None) -> Any:
    """A structured parameter; JSON strings are decoded (Telegram accepts both)."""
    value = params.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(error or f"can't parse {name} JSON object") from None
    return value


def _same_markup(a: JSONDict | None, b: JSONDict | None) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _validate_markup(raw: Any) -> JSONDict | None:
    """Validate a reply_markup object; returns it (deep-copied) or None."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad_request(_BAD_MARKUP)
    markup = copy.deepcopy(raw)
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad_request(
                        "can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard"
                    )
                actions = [key for key in _INLINE_BUTTON_ACTIONS if key in button]
                if not actions:
                    raise _bad_request("text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad_request("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = str(button["url"])
                    if not re.match(r"(?i)^(https?|tg)://\S+$", url):
                        raise _bad_request(
                            f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                        )
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        return markup
    if markup.get("force_reply") is True or markup.get("remove_keyboard") is True:
        return markup
    raise _bad_request(_BAD_MARKUP)


def _inline_only(markup: JSONDict | None) -> JSONDict | None:
    """What ends up in Message.reply_markup: inline keyboards with at least one button."""
    if markup and "inline_keyboard" in markup:
        rows = [row for row in markup["inline_keyboard"] if row]
        if rows:
            return {"inline_keyboard": rows}
    return None


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of PNG, GIF or JPEG data; (0, 0) when unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                (seg_len,) = struct.unpack(">H", data[i + 2 : i + 4])
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(width), int(height)
                i += 2 + seg_len
    except struct.error:
        pass
    return 0, 0


# --------------------------------------------------------------------------- state


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    data: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str | None = None


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class _RateLimiter:
    global_per_sec: int | None
    per_chat_per_sec: int | None
    per_group_per_min: int | None
    global_hits: deque[float] = field(default_factory=deque)
    chat_hits: dict[int, deque[float]] = field(default_factory=dict)
    group_hits: dict[int, deque[float]] = field(default_factory=dict)

    @staticmethod
    def _retry(hits: deque[float], limit: int | None, window: float, now: float) -> int | None:
        while hits and hits[0] <= now - window:
            hits.popleft()
        if limit is not None and len(hits) >= limit:
            return max(1, math.ceil(hits[0] + window - now))
        return None

    def check(self, chat_id: int | None, now: float) -> int | None:
        waits = [self._retry(self.global_hits, self.global_per_sec, 1.0, now)]
        if chat_id is not None:
            waits.append(
                self._retry(
                    self.chat_hits.setdefault(chat_id, deque()), self.per_chat_per_sec, 1.0, now
                )
            )
            if chat_id < 0:
                waits.append(
                    self._retry(
                        self.group_hits.setdefault(chat_id, deque()),
                        self.per_group_per_min,
                        60.0,
                        now,
                    )
                )
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def record(self, chat_id: int | None, now: float) -> None:
        self.global_hits.append(now)
        if chat_id is not None:
            self.chat_hits.setdefault(chat_id, deque()).append(now)
            if chat_id < 0:
                self.group_hits.setdefault(chat_id, deque()).append(now)


Handler = Callable[[JSONDict, dict[str, FileTuple]], Any]


class FakeBotApi:
    """The Telegram side of a bot conversation, in memory. See the module docstring.

    All public methods are thread-safe. Message and user dicts returned by the inspection
    helpers are the stored objects (edits are reflected in place); treat them as read-only.
    Anything returned by `call` is a deep copy.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "luoshi_test_bot",
        bot_id: int = 123456,
        clock: Callable[[], float] = time.time,
        *,
        bot_first_name: str = "Luoshi Test Bot",
        group_privacy: bool = True,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.clock = clock
        #: Privacy mode: in groups the bot only gets commands, replies to it and mentions of it.
        self.group_privacy = group_privacy
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._users: dict[int, JSONDict] = {}
        self._groups: dict[int, JSONDict] = {}
        self._started: set[int] = set()
        self._blocked: set[int] = set()
        self._kicked: set[int] = set()
        self._migrated: dict[int, int] = {}  # old group id -> its supergroup's id
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._sent: list[JSONDict] = []
        self._sent_markup: dict[tuple[int, int], JSONDict] = {}
        self._deleted: list[tuple[int, int]] = []
        self._updates: list[JSONDict] = []  # not yet confirmed
        self._all_updates: list[JSONDict] = []
        self._next_update_id = _UPDATE_ID_BASE + 1
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._max_wait: float | None = None
        self._wake_generation = 0
        self._webhook_url = ""
        self._callbacks: dict[str, JSONDict] = {}
        self._answered: list[JSONDict] = []
        self._next_callback = _CALLBACK_ID_BASE + 1
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._bot_settings: dict[tuple[str, str], Any] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._calls: list[tuple[str, JSONDict]] = []
        self._errors: list[tuple[str, JSONDict, JSONDict]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._drops: dict[str, deque[bool]] = {}
        self._limiter: _RateLimiter | None = None
        self._listeners: list[Callable[[], None]] = []
        # Chat history for viewers (the sandbox web page): every stored message, the users' and
        # the bot's, gets a global sequence number when it is stored, edited or deleted.
        self._history_seq = 0
        self._message_seq: dict[tuple[int, int], int] = {}
        self._deleted_seq: dict[tuple[int, int], int] = {}
        self._chat_seq: dict[int, int] = {}
        #: Number of 429 answers given (injected or from `rate_limit`).
        self.too_many_requests = 0
        self._handlers: dict[str, tuple[str, Handler]] = {}
        for name in (
            "getMe",
            "logOut",
            "close",
            "getUpdates",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "setMyDescription",
            "getMyDescription",
            "setMyShortDescription",
            "getMyShortDescription",
            "setMyName",
            "getMyName",
            "setChatMenuButton",
            "getChat",
            "sendMessage",
            "editMessageText",
            "editMessageCaption",
            "editMessageReplyMarkup",
            "deleteMessage",
            "deleteMessages",
            "answerCallbackQuery",
            "sendDocument",
            "sendPhoto",
            "getFile",
            "sendChatAction",
        ):
            handler = getattr(self, "_m_" + name)
            self._handlers[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ bot side

    def call(
        self,
        method: str,
        params: JSONDict,
        files: dict[str, FileTuple] | None = None,
        *,
        record: bool = True,
        max_wait: float | None = None,
    ) -> tuple[int, JSONDict]:
        """Execute one Bot API method; returns (HTTP status, response JSON).

        `params` hold decoded Python values (strings holding JSON for structured parameters
        are accepted too); `files` maps multipart part names to (filename, bytes[, mime]).
        getUpdates blocks up to its `timeout` parameter (long polling), capped by `max_wait`
        seconds when given (0 = never block). `record=False` keeps the call out of `calls`.
        """
        files = dict(files or {})
        with self._cond:
            entry = self._handlers.get(method.lower())
            name = entry[0] if entry else method
            recorded = self._recorded_params(params, files)
            if record:
                self._calls.append((name, recorded))
            try:
                if entry is None:
                    raise ApiError(404, "Not Found")
                self._check_fault(name)
                chat_id = self._rate_limit_chat(name, params)
                self._max_wait = max_wait
                result = entry[1](params, files)
                if self._limiter is not None and name in RATE_LIMITED_METHODS:
                    self._limiter.record(chat_id, self.clock())
                response: tuple[int, JSONDict] = (
                    200,
                    {"ok": True, "result": copy.deepcopy(result)},
                )
            except ApiError as exc:
                if exc.error_code == 429:
                    self.too_many_requests += 1
                response = exc.response()
            except Exception as exc:  # a bug in the fake or a very odd request
                _LOGGER.exception("fake Bot API crashed in %s", name)
                response = ApiError(500, f"Internal Server Error: {exc!r}").response()
            if not response[1]["ok"]:
                self._errors.append((name, recorded, response[1]))
            self._cond.notify_all()
            return response

    def register_method(self, name: str, handler: Handler) -> None:
        """Add (or replace) a Bot API method. `handler(params, files)` runs under the lock and
        returns the `result` value; raise `ApiError` for error answers. Names are matched
        case-insensitively; `name` is the canonical spelling used in `calls`."""
        with self._lock:
            self._handlers[name.lower()] = (name, handler)

    def check_token(self, token: str) -> bool:
        return token == self.token

    def take_connection_drop(self, method: str) -> str | None:
        """Consume a pending `drop_connection_next` for `method`.

        Returns None (answer normally), "before" (drop without executing the call) or "after"
        (execute the call, then drop the answer). Used by the transports.
        """
        with self._lock:
            entry = self._handlers.get(method.lower())
            for key in ((entry[0] if entry else method).lower(), "*"):
                queue = self._drops.get(key)
                if queue:
                    after = queue.popleft()
                    return "after" if after else "before"
            return None

    def add_update_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` (under the lock, from any thread) whenever an update is queued.

        Returns a function that removes the listener. Callbacks must be quick and must not
        block; `FakeRequest` uses this to wake its asyncio long poll.
        """
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def wake_pollers(self) -> None:
        """Make pending long polls return now (with whatever is queued, possibly nothing)."""
        with self._cond:
            self._wake_generation += 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ user side

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSONDict:
        """Register (or update) a human user; returns the stored User dict."""
        if user_id <= 0:
            raise ValueError("user ids must be positive")
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self._cond:
            self._users[user_id] = user
            return user

    def start_chat(self, user_id: int) -> None:
        """The user has opened a private chat with the bot (pressed Start) without the bot
        having processed an update for it yet: the bot may now message them."""
        with self._cond:
            self._ensure_user(user_id)
            self._started.add(user_id)

    def add_group(self, chat_id: int, title: str, *, chat_type: str | None = None) -> JSONDict:
        """Register a group the bot is a member of; returns the stored Chat dict.

        `chat_type` defaults to "supergroup" for ids like -100xxxxxxxxxx, else "group".
        """
        if chat_id >= 0:
            raise ValueError("group chat ids must be negative")
        if chat_type is None:
            chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = {"id": chat_id, "title": title, "type": chat_type}
        with self._cond:
            self._groups[chat_id] = chat
            self._kicked.discard(chat_id)
            return chat

    def migrate_group(self, chat_id: int, new_chat_id: int) -> None:
        """Upgrade a group to a supergroup with a new id, as Telegram does: a service message
        in each chat (migrate_to_chat_id / migrate_from_chat_id), and sends to the old id
        answer 400 with `migrate_to_chat_id`."""
        with self._cond:
            old = self._group(chat_id)
            self._groups[new_chat_id] = {"id": new_chat_id, "title": old["title"],
                                         "type": "supergroup"}
            self._migrated[chat_id] = new_chat_id
            now = int(self.clock())
            for chat, field, other in ((old, "migrate_to_chat_id", new_chat_id),
                                       (self._groups[new_chat_id], "migrate_from_chat_id",
                                        chat_id)):
                self._push_update("message", {
                    "message_id": self._allocate_message_id(chat["id"]), "date": now,
                    "chat": dict(chat), "from": dict(self.bot_user), field: other})

    def renumber_updates(self, next_update_id: int) -> None:
        """Number the next updates from `next_update_id`, as Telegram does after a week
        without updates (a random id) or a restarted test server (from the start again)."""
        with self._cond:
            self._next_update_id = next_update_id

    def kick_bot(self, chat_id: int) -> None:
        """Remove the bot from a group: further sends answer 403."""
        with self._cond:
            self._group(chat_id)
            self._kicked.add(chat_id)

    def block(self, user_id: int) -> None:
        """The user blocks the bot (queues a `my_chat_member` update, sends answer 403)."""
        with self._cond:
            user = self._user(user_id)
            if user_id not in self._blocked:
                self._blocked.add(user_id)
                if user_id in self._started:
                    self._push_member_update(user, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot (queues a `my_chat_member` update)."""
        with self._cond:
            user = self._user(user_id)
            if user_id in self._blocked:
                self._blocked.discard(user_id)
                if user_id in self._started:
                    self._push_member_update(user, "kicked", "member")

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        reply_to: JSONDict | int | None = None,
    ) -> JSONDict:
        """The user writes `text` (in their private chat, or in group `chat_id`).

        Returns the stored Message dict. Commands, mentions, hashtags and URLs get entities.
        `reply_to` is a message dict or a message_id in the same chat.
        """
        if not text:
            raise ValueError("empty text")
        with self._cond:
            message = self._new_user_message(user_id, chat_id, reply_to)
            message["text"] = text
            entities = _auto_entities(text, [])
            if entities:
                message["entities"] = entities
            self._deliver_user_message(message)
            return message

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
        chat_id: int | None = None,
        reply_to: JSONDict | int | None = None,
    ) -> JSONDict:
        """The user sends a file; returns the stored Message dict (with `document`)."""
        with self._cond:
            message = self._new_user_message(user_id, chat_id, reply_to)
            stored = self._store_file("document", content, filename, mime_type)
            message["document"] = self._document_json(stored)
            self._add_user_caption(message, caption)
            self._deliver_user_message(message)
            return message

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to: JSONDict | int | None = None,
    ) -> JSONDict:
        """The user sends a photo; returns the stored Message dict (with `photo`)."""
        with self._cond:
            message = self._new_user_message(user_id, chat_id, reply_to)
            stored = self._store_file("photo", content, "photo.jpg", "image/jpeg")
            message["photo"] = self._photo_json(stored)
            self._add_user_caption(message, caption)
            self._deliver_user_message(message)
            return message

    def press_button(
        self,
        user_id: int,
        message: JSONDict | int,
        data: str,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> str:
        """The user presses an inline button with callback_data `data` under `message`.

        `message` is a message dict (e.g. from `sent`) or a message_id in `chat_id` (default:
        the user's private chat). The current stored version of the message is used. With
        `strict`, `data` must belong to a button the message currently shows. Returns the
        callback query id.
        """
        with self._cond:
            user = self._ensure_user(user_id)
            if isinstance(message, dict):
                key = (message["chat"]["id"], message["message_id"])
            else:
                key = (chat_id if chat_id is not None else user_id, message)
            stored = self._messages.get(key)
            if stored is None or key in self._deleted:
                raise ValueError(f"no such message {key}")
            if strict:
                buttons = [
                    button.get("callback_data")
                    for row in (stored.get("reply_markup") or {}).get("inline_keyboard", [])
                    for button in row
                ]
                if data not in buttons:
                    raise ValueError(
                        f"message {key} has no button with callback_data {data!r}; "
                        f"it shows {buttons}"
                    )
            query_id = str(self._next_callback)
            self._next_callback += 1
            query = {
                "id": query_id,
                "from": user,
                "message": self._message_copy(stored),
                "chat_instance": str(abs(key[0]) * 7919 + 1_000_000_007),
                "data": data,
            }
            self._callbacks[query_id] = query
            if key[0] > 0:
                self._started.add(user_id)
            self._push_update("callback_query", query)
            return query_id

    def send_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (its `update_id` is assigned here); returns the stored update."""
        with self._cond:
            kinds = [key for key in update if key != "update_id"]
            if len(kinds) != 1:
                raise ValueError("an update has exactly one payload field")
            return self._push_update(kinds[0], copy.deepcopy(update[kinds[0]]))

    # ------------------------------------------------------------------ inspection

    @property
    def sent(self) -> list[JSONDict]:
        """Every message the bot sent, in order (stored dicts; edits reflected)."""
        with self._lock:
            return list(self._sent)

    def messages_to(self, chat_id: int, *, include_deleted: bool = False) -> list[JSONDict]:
        """Messages the bot sent to `chat_id`, in order."""
        with self._lock:
            return [
                m
                for m in self._sent
                if m["chat"]["id"] == chat_id
                and (include_deleted or (chat_id, m["message_id"]) not in self._deleted)
            ]

    def sent_markup(self, message: JSONDict) -> JSONDict | None:
        """The reply_markup exactly as the bot sent it (also reply keyboards / force_reply,
        which Telegram does not echo in Message.reply_markup)."""
        with self._lock:
            return self._sent_markup.get((message["chat"]["id"], message["message_id"]))

    def is_deleted(self, message: JSONDict) -> bool:
        with self._lock:
            return (message["chat"]["id"], message["message_id"]) in self._deleted

    @property
    def calls(self) -> list[tuple[str, JSONDict]]:
        """(method, params) of every call the bot made, failed ones included. Method names are
        canonical (camelCase) for known methods; uploads appear as
        `{"upload": filename, "size": n}` in params."""
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[tuple[str, JSONDict, JSONDict]]:
        """(method, params, error response) of every call answered with an error."""
        with self._lock:
            return list(self._errors)

    def calls_of(self, method: str) -> list[JSONDict]:
        """The params of every call to `method` (case-insensitive)."""
        with self._lock:
            return [params for name, params in self._calls if name.lower() == method.lower()]

    @property
    def answered_callbacks(self) -> list[JSONDict]:
        """answerCallbackQuery params (callback_query_id, text, show_alert, url, cache_time)."""
        with self._lock:
            return list(self._answered)

    @property
    def commands(self) -> list[JSONDict]:
        """Commands set for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        with self._lock:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def updates(self) -> list[JSONDict]:
        """Every update ever queued, confirmed or not."""
        with self._lock:
            return list(self._all_updates)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    @property
    def users(self) -> dict[int, JSONDict]:
        with self._lock:
            return dict(self._users)

    def wait_for(
        self,
        predicate: Callable[[JSONDict], bool],
        timeout: float = 10.0,
        start: int = 0,
    ) -> JSONDict:
        """Block until a message in `sent[start:]` satisfies `predicate`; return it.

        Edits count (a message edited into shape matches). Raises TimeoutError listing what
        was sent. Exceptions from `predicate` propagate.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._sent[start:]:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._describe_timeout(timeout, start))
                self._cond.wait(remaining)

    async def wait_for_async(
        self,
        predicate: Callable[[JSONDict], bool],
        timeout: float = 10.0,
        start: int = 0,
        poll_interval: float = 0.005,
    ) -> JSONDict:
        """`wait_for` for coroutines running on the bot's own event loop (e.g. with
        `FakeRequest`): polls without blocking the loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for message in self._sent[start:]:
                    if predicate(message):
                        return message
                if time.monotonic() >= deadline:
                    raise TimeoutError(self._describe_timeout(timeout, start))
            await asyncio.sleep(poll_interval)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until `condition()` (evaluated under the lock after every change) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout}s")
                self._cond.wait(remaining)

    def file_bytes(self, file_id: str) -> bytes:
        """Content of an uploaded file (by file_id); KeyError if unknown."""
        with self._lock:
            return self._files[file_id].data

    def download_path(self, file_path: str) -> bytes:
        """Content served at a `file_path` returned by getFile; KeyError if unknown."""
        with self._lock:
            return self._files_by_path[file_path.lstrip("/")].data

    def file_info(self, file_id: str) -> JSONDict:
        """What is known about an uploaded file: kind ("document" or "photo"), file_name,
        mime_type and size. KeyError if unknown."""
        with self._lock:
            stored = self._files[file_id]
            return {
                "file_id": stored.file_id,
                "kind": stored.kind,
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "size": len(stored.data),
            }

    # ------------------------------------------------------------------ chat history (viewers)

    @property
    def history_seq(self) -> int:
        """The latest chat-history sequence number (0 before anything was stored)."""
        with self._lock:
            return self._history_seq

    def chat_history(self, chat_id: int, since: int = 0) -> list[JSONDict]:
        """Every message in `chat_id`, the users' and the bot's, in chat order, as copies of the
        stored Message dicts plus `"seq"`.

        `seq` is global across chats and grows whenever a message is stored or edited (an edit
        gives the message a new seq), so a viewer polls with `since` = the largest seq it has
        seen and gets only what is new or changed. Deleted messages are left out; see
        `chat_deletions` for those.
        """
        with self._lock:
            found = [
                (key[1], seq)
                for key, seq in self._message_seq.items()
                if key[0] == chat_id and seq > since and key not in self._deleted_seq
            ]
            found.sort()
            return [
                {**self._message_copy(self._messages[(chat_id, message_id)]), "seq": seq}
                for message_id, seq in found
            ]

    def chat_deletions(self, chat_id: int, since: int = 0) -> list[int]:
        """Message ids in `chat_id` deleted after history seq `since`, in deletion order."""
        with self._lock:
            found = sorted(
                (seq, key[1])
                for key, seq in self._deleted_seq.items()
                if key[0] == chat_id and seq > since
            )
            return [message_id for _seq, message_id in found]

    def chat_seq(self, chat_id: int) -> int:
        """The seq of the latest change in `chat_id` (0 when nothing happened there)."""
        with self._lock:
            return self._chat_seq.get(chat_id, 0)

    def wait_chat_change(self, chat_id: int, since: int, timeout: float) -> bool:
        """Block up to `timeout` seconds until `chat_id` changes after seq `since` (a message
        stored, edited or deleted). Returns whether it did; `wake_pollers` ends the wait early.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            wake = self._wake_generation
            while self._chat_seq.get(chat_id, 0) <= since:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._wake_generation != wake:
                    return False
                self._cond.wait(remaining)
            return True

    def chat_title(self, chat_id: int) -> str:
        """The title a user sees for a chat: the bot's name for a private chat with it, the
        group title for a group. KeyError for an unknown group."""
        with self._lock:
            if chat_id > 0:
                return self.private_chat_title(chat_id)
            return str(self._groups[chat_id]["title"])

    def private_chat_title(self, user_id: int) -> str:
        """What the user's private chat with the bot is called in their client: the bot's name
        (as set by setMyName for the user's language, else its first name)."""
        with self._lock:
            user = self._users.get(user_id) or {}
            language = str(user.get("language_code") or "")
            for key in (("name", language), ("name", "")):
                name = self._bot_settings.get(key)
                if name:
                    return str(name)
            return str(self.bot_user["first_name"])

    def callback_answer(self, query_id: str) -> JSONDict | None:
        """The answerCallbackQuery params for callback query `query_id`, or None (yet)."""
        with self._lock:
            for answer in self._answered:
                if answer["callback_query_id"] == query_id:
                    return dict(answer)
            return None

    def wait_callback_answer(self, query_id: str, timeout: float) -> JSONDict | None:
        """Block up to `timeout` seconds for the bot to answer callback query `query_id`."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            wake = self._wake_generation
            while True:
                answer = self.callback_answer(query_id)
                remaining = deadline - time.monotonic()
                if answer is not None or remaining <= 0 or self._wake_generation != wake:
                    return answer
                self._cond.wait(remaining)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" = any method) with this error.

        For 429 `retry_after` defaults to 1 and the description to Telegram's
        "Too Many Requests: retry after N". The call is still recorded in `calls`.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        fault = _Fault(
            error_code,
            description or _default_description(error_code, retry_after),
            retry_after,
            count,
        )
        with self._lock:
            self._faults.setdefault(self._method_key(method), deque()).append(fault)

    def drop_connection_next(
        self, method: str, *, after_processing: bool = False, count: int = 1
    ) -> None:
        """Make the transport close the connection without answering the next call(s).

        With `after_processing` the call is executed first (the message *is* sent, only the
        answer is lost). `FakeRequest` raises a connection error instead.
        """
        with self._lock:
            queue = self._drops.setdefault(self._method_key(method), deque())
            queue.extend([after_processing] * count)

    def rate_limit(
        self,
        global_per_sec: int | None = 30,
        per_chat_per_sec: int | None = 1,
        per_group_per_min: int | None = 20,
        *,
        enabled: bool = True,
    ) -> None:
        """Enforce Telegram-like flood limits (sliding windows over `clock`) with 429 +
        retry_after on the methods in RATE_LIMITED_METHODS. None disables one limit,
        `enabled=False` all of them. 429s are counted in `too_many_requests`."""
        with self._lock:
            self._limiter = (
                _RateLimiter(global_per_sec, per_chat_per_sec, per_group_per_min)
                if enabled
                else None
            )

    # ------------------------------------------------------------------ internals: misc

    def _method_key(self, method: str) -> str:
        if method == "*":
            return "*"
        entry = self._handlers.get(method.lower())
        return (entry[0] if entry else method).lower()

    def _recorded_params(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        recorded = copy.deepcopy(params)
        for name, spec in files.items():
            upload = {"upload": spec[0], "size": len(spec[1])}
            referencing = [k for k, v in recorded.items() if v == f"attach://{name}"]
            for key in referencing or [name]:
                recorded[key] = upload
        return recorded

    def _check_fault(self, name: str) -> None:
        for key in (name.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                raise ApiError(fault.error_code, fault.description, fault.retry_after)

    def _rate_limit_chat(self, name: str, params: JSONDict) -> int | None:
        if self._limiter is None or name not in RATE_LIMITED_METHODS:
            return None
        try:
            chat_id = self._chat_id(params, required=False)
        except ApiError:
            chat_id = None
        retry_after = self._limiter.check(chat_id, self.clock())
        if retry_after is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        return chat_id

    def _describe_timeout(self, timeout: float, start: int) -> str:
        lines = [f"no matching message sent within {timeout}s; sent since #{start}:"]
        for index, message in enumerate(self._sent[start:], start):
            lines.append(f"  #{index} -> chat {message['chat']['id']}: {self._summary(message)}")
        if len(lines) == 1:
            lines.append("  (nothing)")
        failures = [
            f"  {name} -> {error['error_code']} {error['description']}"
            for name, _params, error in self._errors[-20:]
        ]
        if failures:
            lines.append("last failed calls:")
            lines.extend(failures)
        return "\n".join(lines)

    @staticmethod
    def _summary(message: JSONDict) -> str:
        if "text" in message:
            body = repr(message["text"][:200])
        elif "document" in message:
            body = f"[document {message['document'].get('file_name')!r}]"
        elif "photo" in message:
            body = "[photo]"
        else:
            body = "[?]"
        if message.get("caption"):
            body += f" caption={message['caption'][:100]!r}"
        if message.get("reply_markup"):
            labels = [
                f"{b.get('text')}={b.get('callback_data', b.get('url'))}"
                for row in message["reply_markup"]["inline_keyboard"]
                for b in row
            ]
            body += f" buttons={labels}"
        return body

    def _commands_key(self, scope: JSONDict | None, language_code: str | None) -> tuple[str, str]:
        if not scope or scope.get("type", "default") == "default":
            scope_key = "default"
        else:
            scope_key = json.dumps(scope, sort_keys=True)
        return scope_key, language_code or ""

    # ------------------------------------------------------------------ internals: chats

    def _user(self, user_id: int) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}; call add_user first")
        return user

    def _ensure_user(self, user_id: int) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            user = self.add_user(user_id, f"User{user_id}")
        return user

    def _group(self, chat_id: int) -> JSONDict:
        group = self._groups.get(chat_id)
        if group is None:
            raise ValueError(f"unknown group {chat_id}; call add_group first")
        return group

    def _private_chat(self, user: JSONDict) -> JSONDict:
        chat: JSONDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _chat_id(self, params: JSONDict, *, required: bool = True) -> int | None:
        value = params.get("chat_id")
        if isinstance(value, str) and value.startswith("@"):
            username = value[1:].lower()
            for chat in self._groups.values():  # users can't be addressed by @username
                if str(chat.get("username", "")).lower() == username:
                    return int(chat["id"])
            raise _bad_request("chat not found")
        chat_id = _param_int(params, "chat_id", required=required)
        if chat_id is None and required:
            raise _bad_request("chat_id is empty")
        return chat_id

    def _writable_chat(self, chat_id: int) -> JSONDict:
        """The Chat dict for a chat the bot may write to, or the API error Telegram gives."""
        if chat_id > 0:
            if chat_id == self.bot_id:
                raise ApiError(403, "Forbidden: bot can't send messages to bots")
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            user = self._users.get(chat_id)
            if chat_id not in self._started or user is None:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return self._private_chat(user)
        if chat_id in self._migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           migrate_to_chat_id=self._migrated[chat_id])
        group = self._groups.get(chat_id)
        if group is None:
            raise _bad_request("chat not found")
        if chat_id in self._kicked:
            kind = "supergroup" if group["type"] == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return dict(group)

    def _touch_history(self, key: tuple[int, int], *, deleted: bool = False) -> None:
        """Give a stored, edited or deleted message a new history seq and wake viewers."""
        self._history_seq += 1
        if deleted:
            self._deleted_seq[key] = self._history_seq
        else:
            self._message_seq[key] = self._history_seq
        self._chat_seq[key[0]] = self._history_seq
        self._cond.notify_all()

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _message_copy(self, message: JSONDict) -> JSONDict:
        return copy.deepcopy(message)

    def _resolve_reply(self, chat_id: int, reply_to: JSONDict | int | None) -> JSONDict | None:
        if reply_to is None:
            return None
        if isinstance(reply_to, dict) and reply_to["chat"]["id"] != chat_id:
            raise ValueError("reply_to is a message from another chat")
        message_id = reply_to["message_id"] if isinstance(reply_to, dict) else reply_to
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        quoted = self._message_copy(stored)
        quoted.pop("reply_to_message", None)
        return quoted

    # ------------------------------------------------------------------ internals: updates

    def _push_update(self, kind: str, payload: JSONDict) -> JSONDict:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self._updates.append(update)
        self._all_updates.append(update)
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                _LOGGER.exception("update listener failed")
        self._cond.notify_all()
        return update

    def _push_member_update(self, user: JSONDict, old: str, new: str) -> None:
        now = int(self.clock())
        self._push_update(
            "my_chat_member",
            {
                "chat": self._private_chat(user),
                "from": user,
                "date": now,
                "old_chat_member": {"user": self.bot_user, "status": old}
                | ({"until_date": 0} if old == "kicked" else {}),
                "new_chat_member": {"user": self.bot_user, "status": new}
                | ({"until_date": 0} if new == "kicked" else {}),
            },
        )

    def _new_user_message(
        self, user_id: int, chat_id: int | None, reply_to: JSONDict | int | None
    ) -> JSONDict:
        user = self._ensure_user(user_id)
        if chat_id is None or chat_id == user_id:
            chat = self._private_chat(user)
            if user_id in self._blocked:  # writing to a blocked bot means "restart" it
                self.unblock(user_id)
        else:
            chat = dict(self._group(chat_id))
        message: JSONDict = {
            "message_id": self._allocate_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(self.clock()),
        }
        quoted = self._resolve_reply(chat["id"], reply_to)
        if quoted is not None:
            message["reply_to_message"] = quoted
        return message

    def _add_user_caption(self, message: JSONDict, caption: str | None) -> None:
        if caption:
            message["caption"] = caption
            entities = _auto_entities(caption, [])
            if entities:
                message["caption_entities"] = entities

    def _deliver_user_message(self, message: JSONDict) -> None:
        chat_id = message["chat"]["id"]
        self._messages[(chat_id, message["message_id"])] = message
        self._touch_history((chat_id, message["message_id"]))
        if chat_id > 0:
            self._started.add(chat_id)
        elif not self._group_message_visible(message):
            return
        self._push_update("message", message)

    def _group_message_visible(self, message: JSONDict) -> bool:
        if message["chat"]["id"] in self._kicked:
            return False
        if not self.group_privacy:
            return True
        reply = message.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot_id:
            return True
        body = message.get("text") or message.get("caption") or ""
        me = self.bot_username.lower()
        for entity in message.get("entities") or message.get("caption_entities") or []:
            piece = body.encode("utf-16-le")[
                entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2
            ].decode("utf-16-le")
            if entity["type"] == "bot_command":
                _, _, target = piece.partition("@")
                if not target or target.lower() == me:
                    return True
            if entity["type"] == "mention" and piece[1:].lower() == me:
                return True
        return False

    # ------------------------------------------------------------------ internals: files

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        self._file_counter += 1
        digest = hashlib.sha256(f"{self.token}:{kind}:{self._file_counter}".encode()).digest()
        prefix = "BQACAgUAAxkBAAI" if kind == "document" else "AgACAgUAAxkBAAI"
        file_id = prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        unique = hashlib.sha256(data).digest()[:12]
        file_unique_id = "AgAD" + base64.urlsafe_b64encode(unique).decode().rstrip("=")
        if kind == "document" and not mime_type and file_name:
            mime_type = mimetypes.guess_type(file_name, strict=False)[0]
        stored = _StoredFile(file_id, file_unique_id, kind, bytes(data), file_name, mime_type)
        self._files[file_id] = stored
        return stored

    def _document_json(self, stored: _StoredFile) -> JSONDict:
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _photo_json(self, stored: _StoredFile) -> list[JSONDict]:
        width, height = _image_size(stored.data)
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": width,
                "height": height,
            }
        ]

    def _input_file(
        self, params: JSONDict, files: dict[str, FileTuple], field_name: str, kind: str
    ) -> _StoredFile:
        """Resolve an InputFile parameter: an upload, attach://name or an existing file_id."""
        value = params.get(field_name)
        spec: FileTuple | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            spec = files.get(value.removeprefix("attach://"))
            if spec is None:
                raise _bad_request(f"file for {field_name} not found in the request")
        elif value is None or value == "":
            spec = files.get(field_name)
            if spec is None:
                raise _bad_request(f"there is no {field_name} in the request")
        if spec is not None:
            file_name, data = spec[0], spec[1]
            mime_type = spec[2] if len(spec) > 2 else None
            if isinstance(data, str):
                data = data.encode("utf-8")
            if not data:
                raise _bad_request("file must be non-empty")
            limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES
            if len(data) > limit:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                return self._store_file("photo", data, file_name or "photo.jpg", "image/jpeg")
            if mime_type in (None, "", "application/octet-stream") and file_name:
                mime_type = mimetypes.guess_type(file_name, strict=False)[0] or mime_type
            return self._store_file("document", data, file_name or "document", mime_type)
        file_id = str(value)
        if re.match(r"(?i)^https?://", file_id):
            raise _bad_request("failed to get HTTP URL content")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            have = stored.kind.capitalize()
            raise _bad_request(f"can't use file of type {have} as {kind.capitalize()}")
        return stored

    # ------------------------------------------------------------------ internals: sending

    def _reply_target(self, params: JSONDict, chat_id: int) -> JSONDict | None:
        reply = _param_json(params, "reply_parameters")
        allow_missing = _param_bool(params, "allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = _param_int(reply, "message_id", required=True)
            allow_missing = allow_missing or _param_bool(reply, "allow_sending_without_reply")
            target_chat = reply.get("chat_id", chat_id)
            target_chat_id = _param_int({"chat_id": target_chat}, "chat_id")
            if target_chat_id not in (None, chat_id):
                raise _bad_request("message to be replied not found")
        elif reply is not None:
            raise _bad_request("can't parse reply parameters JSON object")
        else:
            message_id = _param_int(params, "reply_to_message_id")
            if message_id is None:
                return None
        stored = self._messages.get((chat_id, message_id))  # type: ignore[arg-type]
        if stored is None or (chat_id, message_id) in self._deleted:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        quoted = self._message_copy(stored)
        quoted.pop("reply_to_message", None)
        return quoted

    def _new_bot_message(self, params: JSONDict) -> tuple[JSONDict, JSONDict | None]:
        """Validate the common send parameters; returns (message skeleton, raw markup)."""
        chat_id = self._chat_id(params)
        assert chat_id is not None
        chat = self._writable_chat(chat_id)
        markup = _validate_markup(_param_json(params, "reply_markup", _BAD_MARKUP))
        reply = self._reply_target(params, chat_id)
        message: JSONDict = {
            "message_id": 0,
            "from": self.bot_user,
            "chat": chat,
            "date": int(self.clock()),
        }
        if reply is not None:
            message["reply_to_message"] = reply
        if _param_bool(params, "protect_content"):
            message["has_protected_content"] = True
        thread_id = _param_int(params, "message_thread_id")
        if thread_id is not None:
            message["message_thread_id"] = thread_id
        return message, markup

    def _commit_bot_message(self, message: JSONDict, markup: JSONDict | None) -> JSONDict:
        chat_id = message["chat"]["id"]
        message["message_id"] = self._allocate_message_id(chat_id)
        inline = _inline_only(markup)
        if inline is not None:
            message["reply_markup"] = inline
        key = (chat_id, message["message_id"])
        self._messages[key] = message
        if markup is not None:
            self._sent_markup[key] = markup
        self._sent.append(message)
        self._touch_history(key)
        return message

    def _set_caption(self, message: JSONDict, params: JSONDict) -> None:
        caption = _param_str(params, "caption")
        if not caption:
            message.pop("caption", None)
            message.pop("caption_entities", None)
            return
        entities = _param_json(params, "caption_entities")
        plain, parsed = parse_entities(caption, _param_str(params, "parse_mode"), entities)
        if len(plain) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        if plain:
            message["caption"] = plain
        if parsed:
            message["caption_entities"] = parsed
        else:
            message.pop("caption_entities", None)
        if _param_bool(params, "show_caption_above_media"):
            message["show_caption_above_media"] = True

    def _message_text(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        text = _param_str(params, "text")
        if text is None or text == "":
            raise _bad_request("message text is empty")
        plain, entities = parse_entities(
            text, _param_str(params, "parse_mode"), _param_json(params, "entities")
        )
        if not plain:
            raise _bad_request("message text is empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return plain, entities

    def _editable(self, params: JSONDict) -> JSONDict:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the fake Bot API")
        chat_id = self._chat_id(params)
        assert chat_id is not None
        message_id = _param_int(params, "message_id", required=True)
        self._writable_chat(chat_id)
        key = (chat_id, message_id)
        stored = self._messages.get(key)  # type: ignore[arg-type]
        if stored is None or key in self._deleted:
            raise _bad_request("message to edit not found")
        if stored["from"]["id"] != self.bot_id:
            raise _bad_request("message can't be edited")
        return stored

    def _apply_edit(self, stored: JSONDict, changes: JSONDict, markup: JSONDict | None) -> None:
        inline = _inline_only(markup)
        # A change value of None means "absent"; stored.get() is None for absent keys too.
        unchanged = all(stored.get(key) == value for key, value in changes.items())
        if unchanged and _same_markup(stored.get("reply_markup"), inline):
            raise _bad_request(_NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        if inline is None:
            stored.pop("reply_markup", None)
        else:
            stored["reply_markup"] = inline
        key = (stored["chat"]["id"], stored["message_id"])
        if markup is None:
            self._sent_markup.pop(key, None)
        else:
            self._sent_markup[key] = markup
        stored["edit_date"] = int(self.clock())
        self._touch_history(key)

    # ------------------------------------------------------------------ method handlers

    def _m_getMe(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        return True

    def _m_close(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        return True

    def _m_getUpdates(self, params: JSONDict, files: dict[str, FileTuple]) -> list[JSONDict]:
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _param_int(params, "offset")
        limit = _param_int(params, "limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = max(_param_float(params, "timeout") or 0.0, 0.0)
        if self._max_wait is not None:
            timeout = min(timeout, max(self._max_wait, 0.0))
        allowed = _param_json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        wake = self._wake_generation
        deadline = time.monotonic() + timeout
        while True:
            self._updates = [
                u for u in self._updates if self._update_kind(u) in self._allowed_updates
            ]
            if self._updates or timeout <= 0:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake_generation != wake:
                break
            self._cond.wait(remaining)
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        return self._updates[:limit]

    @staticmethod
    def _update_kind(update: JSONDict) -> str:
        return next(key for key in update if key != "update_id")

    def _m_setWebhook(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        self._webhook_url = _param_str(params, "url") or ""
        if _param_bool(params, "drop_pending_updates"):
            self._updates = []
        return True

    def _m_deleteWebhook(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        self._webhook_url = ""
        if _param_bool(params, "drop_pending_updates"):
            self._updates = []
        return True

    def _m_getWebhookInfo(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_setMyCommands(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        commands = _param_json(params, "commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands specified")
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("command description is empty or too long")
            cleaned.append({"command": name, "description": description})
        scope = _param_json(params, "scope")
        key = self._commands_key(scope, _param_str(params, "language_code"))
        self._commands[key] = cleaned
        return True

    def _m_getMyCommands(self, params: JSONDict, files: dict[str, FileTuple]) -> list[JSONDict]:
        key = self._commands_key(_param_json(params, "scope"), _param_str(params, "language_code"))
        return list(self._commands.get(key, []))

    def _m_deleteMyCommands(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        key = self._commands_key(_param_json(params, "scope"), _param_str(params, "language_code"))
        self._commands.pop(key, None)
        return True

    def _bot_setting(self, name: str, params: JSONDict) -> bool:
        key = (name, _param_str(params, "language_code") or "")
        self._bot_settings[key] = _param_str(params, name) or ""
        return True

    def _get_bot_setting(self, name: str, params: JSONDict) -> JSONDict:
        key = (name, _param_str(params, "language_code") or "")
        default = self.bot_user["first_name"] if name == "name" else ""
        return {name: self._bot_settings.get(key, default)}

    def _m_setMyDescription(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        return self._bot_setting("description", params)

    def _m_getMyDescription(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        return self._get_bot_setting("description", params)

    def _m_setMyShortDescription(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        return self._bot_setting("short_description", params)

    def _m_getMyShortDescription(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        return self._get_bot_setting("short_description", params)

    def _m_setMyName(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        return self._bot_setting("name", params)

    def _m_getMyName(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        return self._get_bot_setting("name", params)

    def _m_setChatMenuButton(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        self._bot_settings[("menu_button", "")] = _param_json(params, "menu_button")
        return True

    def _m_getChat(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat_id = self._chat_id(params)
        assert chat_id is not None
        if chat_id > 0:
            user = self._users.get(chat_id)
            if user is None or chat_id not in self._started:
                raise _bad_request("chat not found")
            chat = self._private_chat(user)
        else:
            group = self._groups.get(chat_id)
            if group is None or chat_id in self._kicked:
                raise _bad_request("chat not found")
            chat = dict(group)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_sendMessage(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        message, markup = self._new_bot_message(params)
        text, entities = self._message_text(params)
        message["text"] = text
        if entities:
            message["entities"] = entities
        preview = _param_json(params, "link_preview_options")
        if isinstance(preview, dict) and preview:
            message["link_preview_options"] = preview
        elif _param_bool(params, "disable_web_page_preview"):
            message["link_preview_options"] = {"is_disabled": True}
        return self._commit_bot_message(message, markup)

    def _m_sendDocument(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        message, markup = self._new_bot_message(params)
        self._set_caption(message, params)
        stored = self._input_file(params, files, "document", "document")
        message["document"] = self._document_json(stored)
        return self._commit_bot_message(message, markup)

    def _m_sendPhoto(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        message, markup = self._new_bot_message(params)
        self._set_caption(message, params)
        stored = self._input_file(params, files, "photo", "photo")
        message["photo"] = self._photo_json(stored)
        if _param_bool(params, "has_spoiler"):
            message["has_media_spoiler"] = True
        return self._commit_bot_message(message, markup)

    def _m_editMessageText(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        stored = self._editable(params)
        if "text" not in stored:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._message_text(params)
        markup = _validate_markup(_param_json(params, "reply_markup", _BAD_MARKUP))
        changes: JSONDict = {"text": text, "entities": entities or None}
        preview = _param_json(params, "link_preview_options")
        if isinstance(preview, dict) and preview:
            changes["link_preview_options"] = preview
        self._apply_edit(stored, changes, markup)
        return stored

    def _m_editMessageCaption(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        stored = self._editable(params)
        if "document" not in stored and "photo" not in stored:
            raise _bad_request("there is no caption in the message to edit")
        markup = _validate_markup(_param_json(params, "reply_markup", _BAD_MARKUP))
        probe: JSONDict = {}
        self._set_caption(probe, params)
        changes = {
            "caption": probe.get("caption"),
            "caption_entities": probe.get("caption_entities"),
        }
        self._apply_edit(stored, changes, markup)
        return stored

    def _m_editMessageReplyMarkup(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        stored = self._editable(params)
        markup = _validate_markup(_param_json(params, "reply_markup", _BAD_MARKUP))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        self._apply_edit(stored, {}, markup)
        return stored

    def _delete_one(self, chat_id: int, message_id: int) -> None:
        key = (chat_id, message_id)
        stored = self._messages.get(key)
        if stored is None or key in self._deleted:
            raise _bad_request("message to delete not found")
        mine = stored["from"]["id"] == self.bot_id
        if chat_id < 0 and not mine:
            raise _bad_request("message can't be deleted")
        if not mine and self.clock() - stored["date"] > DELETE_WINDOW_SECONDS:
            raise _bad_request("message can't be deleted for everyone")
        self._deleted.append(key)
        self._touch_history(key, deleted=True)

    def _m_deleteMessage(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        chat_id = self._chat_id(params)
        assert chat_id is not None
        message_id = _param_int(params, "message_id", required=True)
        self._writable_chat(chat_id)
        self._delete_one(chat_id, message_id)  # type: ignore[arg-type]
        return True

    def _m_deleteMessages(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        chat_id = self._chat_id(params)
        assert chat_id is not None
        self._writable_chat(chat_id)
        message_ids = _param_json(params, "message_ids")
        if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
            raise _bad_request("message_ids must be a non-empty list of at most 100 ids")
        for message_id in message_ids:
            try:
                self._delete_one(chat_id, int(message_id))
            except ApiError:
                pass  # Telegram skips messages that can't be deleted
        return True

    def _m_answerCallbackQuery(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        query_id = _param_str(params, "callback_query_id")
        if not query_id:
            raise _bad_request("query_id is empty")
        if query_id not in self._callbacks or any(
            a["callback_query_id"] == query_id for a in self._answered
        ):
            raise _bad_request(_QUERY_TOO_OLD)
        text = _param_str(params, "text")
        if text is not None and len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        answer: JSONDict = {"callback_query_id": query_id}
        if text is not None:
            answer["text"] = text
        if "show_alert" in params:
            answer["show_alert"] = _param_bool(params, "show_alert")
        url = _param_str(params, "url")
        if url is not None:
            answer["url"] = url
        cache_time = _param_int(params, "cache_time")
        if cache_time is not None:
            answer["cache_time"] = cache_time
        self._answered.append(answer)
        return True

    def _m_getFile(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        file_id = _param_str(params, "file_id")
        if not file_id:
            raise _bad_request("file_id is empty")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        if stored.file_path is None:
            if stored.kind == "photo":
                folder, suffix = "photos", ".jpg"
            else:
                folder = "documents"
                name = stored.file_name or ""
                suffix = name[name.rfind(".") :] if "." in name else ""
                if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
                    suffix = ""
            stored.file_path = f"{folder}/file_{len(self._files_by_path)}{suffix}"
            self._files_by_path[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _m_sendChatAction(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        chat_id = self._chat_id(params)
        assert chat_id is not None
        action = _param_str(params, "action")
        if not action:
            raise _bad_request("action is empty")
        if action not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._writable_chat(chat_id)
        return True
