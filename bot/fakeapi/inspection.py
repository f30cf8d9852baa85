"""Inspection helpers: what the bot did (`sent`, `messages_to`, `calls`, `errors`, ...),
waiting for it (`wait_for`, `wait_until`, ...) and the viewer side (`chat_history`,
`chat_deletions`, `wait_chat_change`, ...) that shows a chat as its members see it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.fakeapi.protocol import JSONDict
from bot.fakeapi.state import FakeState


class InspectionMixin(FakeState):
    """Read-only views of `FakeBotApi`'s state for tests and viewers."""

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

    # ------------------------------------------------------------------ internals

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
