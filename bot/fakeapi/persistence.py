"""Opt-in save and load of a `FakeBotApi`'s Telegram side, for the local sandbox (so its chats
survive a restart). Nothing in the fake calls this: tests never persist anything.

`export_state(api)` returns the state as plain JSON values plus the files' bytes by blob name
(the SHA-256 of the content); `import_state(api, state, blob)` puts such a state back into a
fresh `FakeBotApi`. What is kept: users, groups, who started / blocked / kicked the bot, every
message with its history sequence numbers (the chat history a viewer sees), the markup the bot
sent, deletions, update and message numbering, the updates not confirmed yet, files, the bot's
commands and names. What is not: recorded calls and errors, callback queries (a press from
before a restart is too old, as on Telegram), faults and flood limits.

No I/O here: the caller writes and reads (bot/sandbox/persist.py).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

from bot.fakeapi.files import _StoredFile
from bot.fakeapi.protocol import JSONDict
from bot.fakeapi.state import FakeState

__all__ = ["FORMAT", "export_state", "import_state", "latest_date", "state_version"]

#: Bumped whenever the shape changes; a state of another format is refused (ValueError).
FORMAT = 1


def state_version(api: FakeState) -> tuple[int, ...]:
    """Changes whenever something `export_state` keeps changes (cheap: for a saver's polling)."""
    with api._lock:
        return (api._history_seq, api._next_update_id, len(api._updates), api._file_counter,
                len(api._users), len(api._started), len(api._blocked), len(api._groups),
                len(api._bot_settings), len(api._commands))


def latest_date(api: FakeState) -> int:
    """The latest date (Unix time) on any stored message or edit; 0 when there is none."""
    with api._lock:
        return max((max(int(m.get("date") or 0), int(m.get("edit_date") or 0))
                    for m in api._messages.values()), default=0)


def _blob_name(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_state(api: FakeState) -> tuple[JSONDict, dict[str, bytes]]:
    """(the state as JSON values, {blob name: file bytes}). Taken under the api's lock, so it is
    one consistent moment."""
    with api._lock:
        files = []
        blobs: dict[str, bytes] = {}
        for stored in api._files.values():
            name = _blob_name(stored.data)
            blobs[name] = stored.data
            files.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          "kind": stored.kind, "file_name": stored.file_name,
                          "mime_type": stored.mime_type, "file_path": stored.file_path,
                          "blob": name})
        state: JSONDict = {
            "format": FORMAT,
            "users": list(api._users.values()),
            "groups": list(api._groups.values()),
            "started": sorted(api._started),
            "blocked": sorted(api._blocked),
            "kicked": sorted(api._kicked),
            "migrated": sorted(api._migrated.items()),
            "messages": list(api._messages.values()),
            "next_message_id": sorted(api._next_message_id.items()),
            "sent": [[m["chat"]["id"], m["message_id"]] for m in api._sent],
            "sent_markup": [[k[0], k[1], v] for k, v in api._sent_markup.items()],
            "deleted": [list(key) for key in api._deleted],
            "updates": api._updates,
            "next_update_id": api._next_update_id,
            "next_callback": api._next_callback,
            "commands": [[k[0], k[1], v] for k, v in api._commands.items()],
            "bot_settings": [[k[0], k[1], v] for k, v in api._bot_settings.items()],
            "files": files,
            "file_counter": api._file_counter,
            "history_seq": api._history_seq,
            "message_seq": [[k[0], k[1], v] for k, v in api._message_seq.items()],
            "deleted_seq": [[k[0], k[1], v] for k, v in api._deleted_seq.items()],
            "chat_seq": sorted(api._chat_seq.items()),
        }
        return copy.deepcopy(state), blobs


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _dict(value: Any) -> JSONDict:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return value


def _list(state: JSONDict, key: str) -> list[Any]:
    value = state.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{key!r} is missing or not a list")
    return value


def _keyed(state: JSONDict, key: str) -> dict[tuple[int, int], Any]:
    return {(_int(chat), _int(message)): value for chat, message, value in _list(state, key)}


def import_state(api: FakeState, state: JSONDict, blob: Callable[[str], bytes]) -> None:
    """Replace `api`'s Telegram side with `state` (from `export_state`); `blob(name)` returns a
    file's bytes. Raises ValueError (and changes nothing) when the state is of another format
    or malformed, or a file is missing or altered."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"not a fake Bot API state of format {FORMAT}")
    try:
        loaded = _parse(copy.deepcopy(state), blob)
    except (KeyError, TypeError, AttributeError, OSError) as exc:
        raise ValueError(f"malformed state: {exc!r}") from None
    with api._cond:
        for name, value in loaded.items():
            setattr(api, name, value)
        api._all_updates = list(api._updates)
        api._callbacks = {}
        api._answered = []
        api._cond.notify_all()


def _parse(state: JSONDict, blob: Callable[[str], bytes]) -> dict[str, Any]:
    messages = {(_int(m["chat"]["id"]), _int(m["message_id"])): _dict(m)
                for m in _list(state, "messages")}
    sent = [messages[(_int(chat), _int(message))] for chat, message in _list(state, "sent")]
    files: dict[str, _StoredFile] = {}
    for item in _list(state, "files"):
        data = blob(str(item["blob"]))
        if _blob_name(data) != item["blob"]:
            raise ValueError(f"file {item['file_id']} does not match its checksum")
        files[str(item["file_id"])] = _StoredFile(
            file_id=str(item["file_id"]), file_unique_id=str(item["file_unique_id"]),
            kind=str(item["kind"]), data=data, file_name=item.get("file_name"),
            mime_type=item.get("mime_type"), file_path=item.get("file_path"))
    deleted = [(_int(chat), _int(message)) for chat, message in _list(state, "deleted")]
    updates = [_dict(u) for u in _list(state, "updates")]
    for update in updates:
        _int(update["update_id"])
    return {
        "_users": {_int(u["id"]): _dict(u) for u in _list(state, "users")},
        "_groups": {_int(g["id"]): _dict(g) for g in _list(state, "groups")},
        "_started": {_int(i) for i in _list(state, "started")},
        "_blocked": {_int(i) for i in _list(state, "blocked")},
        "_kicked": {_int(i) for i in _list(state, "kicked")},
        "_migrated": {_int(old): _int(new) for old, new in _list(state, "migrated")},
        "_messages": messages,
        "_next_message_id": {_int(c): _int(n) for c, n in _list(state, "next_message_id")},
        "_sent": sent,
        "_sent_markup": {key: _dict(v) for key, v in _keyed(state, "sent_markup").items()},
        "_deleted": deleted,
        "_updates": updates,
        "_next_update_id": _int(state["next_update_id"]),
        "_next_callback": _int(state["next_callback"]),
        "_commands": {(str(s), str(lang)): list(v) for s, lang, v in _list(state, "commands")},
        "_bot_settings": {(str(a), str(b)): v for a, b, v in _list(state, "bot_settings")},
        "_files": files,
        "_files_by_path": {f.file_path: f for f in files.values() if f.file_path},
        "_file_counter": _int(state["file_counter"]),
        "_history_seq": _int(state["history_seq"]),
        "_message_seq": {k: _int(v) for k, v in _keyed(state, "message_seq").items()},
        "_deleted_seq": {k: _int(v) for k, v in _keyed(state, "deleted_seq").items()},
        "_chat_seq": {_int(c): _int(s) for c, s in _list(state, "chat_seq")},
    }
