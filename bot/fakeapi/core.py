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

Where things live: `protocol` (types, limits, `ApiError`, URL routing), `entities` (parse modes
and entities), `checks` (parameter decoding, reply markup), `state` (`FakeState`, the shared
state), `users` (the user side), `inspection` (inspection and viewer helpers), `faults` (fault
injection, flood limits), `files` (uploads, getFile) and the method handlers `handlers_bot`,
`handlers_updates` and `handlers_messages`. `FakeBotApi` below combines them (mixins over
`state.FakeState`) and is the one entry point; this module re-exports the names other code
imports from it.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable

from bot.fakeapi.entities import parse_entities, utf16_len
from bot.fakeapi.faults import RATE_LIMITED_METHODS, FaultsMixin
from bot.fakeapi.handlers_bot import BotMethods
from bot.fakeapi.handlers_messages import MessageMethods
from bot.fakeapi.handlers_updates import UpdateMethods
from bot.fakeapi.inspection import InspectionMixin
from bot.fakeapi.protocol import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ApiError,
    FileTuple,
    Handler,
    JSONDict,
    route_path,
)
from bot.fakeapi.users import UsersMixin

__all__ = [
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "ApiError",
    "FakeBotApi",
    "FileTuple",
    "JSONDict",
    "parse_entities",
    "route_path",
    "utf16_len",
]

_LOGGER = logging.getLogger(__name__)


class FakeBotApi(
    UsersMixin, InspectionMixin, FaultsMixin, MessageMethods, UpdateMethods, BotMethods
):
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
        super().__init__(token, bot_username, bot_id, clock, bot_first_name, group_privacy)
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
        if self._wait_if_held(method, params):
            return ApiError(502, "Bad Gateway").response()
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

    def _recorded_params(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        recorded = copy.deepcopy(params)
        for name, spec in files.items():
            upload = {"upload": spec[0], "size": len(spec[1])}
            referencing = [k for k, v in recorded.items() if v == f"attach://{name}"]
            for key in referencing or [name]:
                recorded[key] = upload
        return recorded
