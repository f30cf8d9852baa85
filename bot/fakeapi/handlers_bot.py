"""Bot API methods on the bot itself: getMe, logOut, close, the command menu
(set/get/deleteMyCommands), name and descriptions, and the chat menu button.
"""

from __future__ import annotations

import re

from bot.fakeapi.checks import _param_json, _param_str
from bot.fakeapi.protocol import FileTuple, JSONDict, _bad_request
from bot.fakeapi.state import FakeState


class BotMethods(FakeState):
    """getMe, logOut, close, the bot's commands, name, descriptions and menu button."""

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
