"""Parameter checks: decoding Bot API parameters (form strings or JSON values, as Telegram
accepts both) and validating reply markup, with Telegram's error texts.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from bot.fakeapi.protocol import MAX_CALLBACK_DATA_BYTES, JSONDict, _bad_request

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


_BAD_MARKUP = "can't parse reply keyboard markup JSON object"


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
