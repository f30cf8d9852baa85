"""What the fake shares with the real Bot API: value types, Telegram's limits, error answers
and the URL scheme (`/bot<token>/<method>`, `/file/bot<token>/<file_path>`).

Everything here is plain data or pure functions; the rest of `bot.fakeapi` builds on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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

#: A Bot API method handler: `handler(params, files)` returns the `result` value.
Handler = Callable[[JSONDict, dict[str, FileTuple]], Any]


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
