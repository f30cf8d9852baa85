"""Bot API methods on incoming updates: getUpdates (long polling, offsets, allowed_updates,
the 409 conflicts), the webhook methods and answerCallbackQuery.

The webhook methods only record what the bot asked for (URL, secret token, allowed updates,
max_connections); `webhook.WebhookPoster` (run by `server.FakeBotApiServer`) does the
delivering, and takes an update out of the queue once a 200 came back.
"""

from __future__ import annotations

import re
import time

from bot.fakeapi.checks import _param_bool, _param_float, _param_int, _param_json, _param_str
from bot.fakeapi.protocol import (
    DEFAULT_ALLOWED_UPDATES,
    ApiError,
    FileTuple,
    JSONDict,
    _bad_request,
)
from bot.fakeapi.state import FakeState

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class UpdateMethods(FakeState):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo and answerCallbackQuery."""

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
        url = _param_str(params, "url") or ""
        secret = _param_str(params, "secret_token") or ""
        if secret and not _SECRET.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        max_connections = _param_int(params, "max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise _bad_request("bad webhook: max_connections must be between 1 and 100")
        self._webhook_url = url
        self._webhook_secret = secret
        self._webhook_max_connections = max_connections
        self._webhook_last_error = None
        allowed = _param_json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._webhook_allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if _param_bool(params, "drop_pending_updates"):
            self._updates = []
        return True

    def _m_deleteWebhook(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        self._webhook_url = ""
        self._webhook_secret = ""
        if _param_bool(params, "drop_pending_updates"):
            self._updates = []
        return True

    def _m_getWebhookInfo(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        info: JSONDict = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_url:
            info["max_connections"] = self._webhook_max_connections
            info["allowed_updates"] = sorted(self._webhook_allowed)
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

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
