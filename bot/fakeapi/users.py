"""The user side: what people do in their Telegram clients (`add_user`, `send_text`,
`press_button`, `send_document`, `block`, ...) becomes the updates the bot polls, with the
visibility rules of real Telegram (privacy mode in groups, blocked bots, kicked bots).
"""

from __future__ import annotations

import copy
import logging

from bot.fakeapi.entities import _auto_entities
from bot.fakeapi.files import FilesMixin
from bot.fakeapi.protocol import JSONDict

_LOGGER = logging.getLogger(__name__)


class UsersMixin(FilesMixin):
    """The user side of `FakeBotApi`: users and groups, and the updates their actions cause."""

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

    # ------------------------------------------------------------------ internals

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
