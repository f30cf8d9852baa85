"""The state of the fake Telegram side and the few helpers every part of it uses.

`FakeState` holds everything (users, groups, messages, the update queue, files, recorded
calls, faults); the mixins that make up `core.FakeBotApi` (the user side, the inspection
helpers, fault injection and the method handlers) all work on it under its one re-entrant
lock, so they subclass it only to share it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.fakeapi.checks import _param_int
from bot.fakeapi.protocol import DEFAULT_ALLOWED_UPDATES, Handler, JSONDict, _bad_request

if TYPE_CHECKING:
    from bot.fakeapi.faults import _Fault, _Hold, _RateLimiter
    from bot.fakeapi.files import _StoredFile

_UPDATE_ID_BASE = 10_000_000
_CALLBACK_ID_BASE = 4_000_000_000_000_000_000


class FakeState:
    """The whole Telegram side of a conversation (see `core.FakeBotApi`). Callers hold
    `_lock` (or `_cond`, the condition on it) around every read and change."""

    def __init__(
        self,
        token: str,
        bot_username: str,
        bot_id: int,
        clock: Callable[[], float],
        bot_first_name: str,
        group_privacy: bool,
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
        # What setWebhook said (webhook.WebhookPoster delivers by it); a delivery's failure.
        self._webhook_secret = ""
        self._webhook_allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._webhook_max_connections = 40
        self._webhook_last_error: tuple[int, str] | None = None
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
        self._hold: _Hold | None = None  # FaultsMixin.hold
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

    # ------------------------------------------------------------------ shared helpers

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

    def _commands_key(self, scope: JSONDict | None, language_code: str | None) -> tuple[str, str]:
        if not scope or scope.get("type", "default") == "default":
            scope_key = "default"
        else:
            scope_key = json.dumps(scope, sort_keys=True)
        return scope_key, language_code or ""
