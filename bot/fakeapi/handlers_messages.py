"""Bot API methods on messages and chats: sendMessage, sendDocument, sendPhoto, the three
editMessage* methods, deleteMessage(s), getChat and sendChatAction, with the checks Telegram
makes (who the bot may write to, replies, captions, "message is not modified", ...).
"""

from __future__ import annotations

from bot.fakeapi.checks import (
    _BAD_MARKUP,
    _inline_only,
    _param_bool,
    _param_int,
    _param_json,
    _param_str,
    _same_markup,
    _validate_markup,
)
from bot.fakeapi.entities import parse_entities
from bot.fakeapi.files import FilesMixin
from bot.fakeapi.protocol import (
    DELETE_WINDOW_SECONDS,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ApiError,
    FileTuple,
    JSONDict,
    _bad_request,
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


_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class MessageMethods(FilesMixin):
    """Sending, editing and deleting messages, getChat and sendChatAction."""

    # ------------------------------------------------------------------ internals

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
        message_key = (stored["chat"]["id"], stored["message_id"])
        if markup is None:
            self._sent_markup.pop(message_key, None)
        else:
            self._sent_markup[message_key] = markup
        stored["edit_date"] = int(self.clock())
        self._touch_history(message_key)

    # ------------------------------------------------------------------ method handlers

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
