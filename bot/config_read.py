"""Reading config values: the ConfigError every problem becomes, and one reader per kind of
field (`_READERS`, keyed by `ConfigField.kind`). Split from bot/config.py, which declares the
fields (FIELDS), the dataclasses and loading; the messages name the key, say what was expected
in Chinese and English, and never show a secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from bot.config import ConfigField

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_SHOWN = 60
_MASK = "***"

# Secrets (token values) masked by _shown() while a config is being validated.
_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("_SECRETS", default=())


# --------------------------------------------------------------------------- errors


class ConfigError(Exception):
    """A configuration problem, reported once, in Chinese and English.

    ``key`` is the dotted key at fault (e.g. ``"rhythm.send_at"``), or ``None`` when
    the problem concerns the file as a whole (missing file, TOML syntax error).
    ``path`` is the configuration file, when there is one.
    """

    def __init__(self, key: str | None, zh: str, en: str, path: Path | None = None) -> None:
        self.key = key
        self.zh = zh
        self.en = en
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        tag = f" [{self.key}]" if self.key else ""
        lines = [f"配置错误{tag}: {self.zh}", f"Config error{tag}: {self.en}"]
        if self.path is not None:
            lines.append(f"配置文件 / Config file: {self.path}")
        return "\n".join(lines)

    @property
    def message(self) -> str:
        return str(self)

    def with_path(self, path: Path | None) -> ConfigError:
        """Return a copy of this error that names ``path``."""
        return ConfigError(self.key, self.zh, self.en, path)

    def scrubbed(self, secret: str) -> ConfigError:
        """Return a copy with every occurrence of ``secret`` masked."""
        if not secret or (secret not in self.zh and secret not in self.en):
            return self
        return ConfigError(
            self.key, self.zh.replace(secret, _MASK), self.en.replace(secret, _MASK), self.path
        )


# --------------------------------------------------------------------------- value helpers


def _type_names(value: Any) -> tuple[str, str]:
    """(zh, en) name of the TOML type of ``value``."""
    if isinstance(value, bool):
        return "布尔值", "boolean"
    if isinstance(value, int):
        return "整数", "integer"
    if isinstance(value, float):
        return "小数", "float"
    if isinstance(value, str):
        return "字符串", "string"
    if isinstance(value, datetime):
        return "日期时间", "datetime"
    if isinstance(value, date):
        return "日期", "date"
    if isinstance(value, time):
        return "时间", "time"
    if isinstance(value, list):
        return "列表", "array"
    if isinstance(value, dict):
        return "表", "table"
    return "未知类型", type(value).__name__


def _shown(value: Any) -> str:
    """A short TOML-like rendering of ``value`` for messages."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, date | time):
        text = value.isoformat()
    elif isinstance(value, dict):
        text = "{…}"
    elif isinstance(value, list):
        text = "[" + ", ".join(_shown(v) for v in value[:5]) + (", …]" if len(value) > 5 else "]")
    else:
        text = repr(value)
    for secret in _SECRETS.get():
        text = text.replace(secret, _MASK)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return text


def _got(value: Any, *, secret: bool = False) -> tuple[str, str]:
    """(zh, en) description of an actual value; hides the value when ``secret``."""
    zh_type, en_type = _type_names(value)
    if secret:
        return f"{zh_type}（内容已隐藏）", f"{en_type} (value hidden)"
    if isinstance(value, str):
        shown = _shown(value)
        return shown, shown
    return f"{zh_type} {_shown(value)}", f"{en_type} {_shown(value)}"


def _type_error(
    key: str, value: Any, zh_expected: str, en_expected: str, *, secret: bool = False
) -> ConfigError:
    zh_got, en_got = _got(value, secret=secret)
    hint_zh = hint_en = ""
    if isinstance(value, str) and zh_expected.startswith("整数"):
        stripped = value.strip().lstrip("-")
        if stripped.isdigit():
            hint_zh = "（请去掉引号）"
            hint_en = " (remove the quotes)"
    return ConfigError(
        key,
        f"应为{zh_expected}，实际为 {zh_got}{hint_zh}",
        f"expected {en_expected}, got {en_got}{hint_en}",
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_table(key: str, value: Any, *, secret: bool = False) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(
            key,
            value,
            f"一个表（TOML 小节 [{key}]）",
            f"a table (TOML section [{key}])",
            secret=secret,  # `telegram = "..."` is probably a misplaced token
        )
    return value


def _check_unknown(section: str | None, table: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    for name in table:
        if name not in valid:
            dotted = f"{section}.{name}" if section else name
            where_zh = f"[{section}] 小节" if section else "顶层"
            where_en = f"section [{section}]" if section else "the top level"
            listing = ", ".join(valid)
            raise ConfigError(
                dotted,
                f'未知的配置项 "{name}"；{where_zh}的有效配置项为：{listing}',
                f'unknown key "{name}"; valid keys in {where_en} are: {listing}',
            )


# --------------------------------------------------------------------------- readers
#
# One reader per kind of field: it checks a raw TOML value against the field's declaration
# and returns the value Config holds. Every failure is one ConfigError naming ``f.key``.


def _read_string(f: ConfigField, value: Any) -> str:
    if not isinstance(value, str):
        raise _type_error(f.key, value, "字符串", "a string", secret=f.secret)
    return value.strip()


def _read_url(f: ConfigField, value: Any) -> str:
    url = _read_string(f, value)
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(
            f.key,
            f'应以 http:// 或 https:// 开头，例如 "{f.sample}"，或留空',
            f'expected a URL starting with http:// or https:// such as "{f.sample}", or empty',
        )
    return url


def _read_path(f: ConfigField, value: Any) -> Path:
    """A non-empty path; a relative one is resolved against the config file by _build."""
    text = _read_string(f, value)
    if not text:
        raise ConfigError(
            f.key,
            f'应为数据目录路径，例如 "{f.default}"，不能为空',
            f'expected a data directory path such as "{f.default}", got an empty string',
        )
    return Path(text).expanduser()


def _read_integer(f: ConfigField, value: Any) -> int:
    if not _is_int(value):
        raise _type_error(f.key, value, "整数", "an integer")
    if f.low is not None and value < f.low:
        raise ConfigError(
            f.key,
            f"应为不小于 {f.low} 的整数，实际为 {value}",
            f"expected an integer >= {f.low}, got {value}",
        )
    if f.high is not None and value > f.high:
        raise ConfigError(f.key, f"应为 {f.low}–{f.high} 的整数，实际为 {value}",
                          f"expected an integer from {f.low} to {f.high}, got {value}")
    return cast(int, value)


def _read_year(f: ConfigField, value: Any) -> int | None:
    """A year between ``low`` and ``high``, or 0 for "this year" (None)."""
    if not _is_int(value):
        raise _type_error(f.key, value, "整数", "an integer")
    if value < 0:
        raise ConfigError(f.key, f"应为不小于 0 的整数，实际为 {value}",
                          f"expected an integer >= 0, got {value}")
    if value and not cast(int, f.low) <= value <= cast(int, f.high):
        raise ConfigError(f.key, f"应为 {f.low}–{f.high} 之间的年份，或 0 表示今年，实际为 {value}",
                          f"expected a year from {f.low} to {f.high}, or 0 for this year, "
                          f"got {value}")
    return cast(int, value) or None


def _read_number(f: ConfigField, value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not cast(float, f.low) <= value <= cast(float, f.high)):
        raise ConfigError(f.key, f"应为 {f.low}–{f.high} 之间的数，实际为 {_shown(value)}",
                          f"expected a number from {f.low} to {f.high}, got {_shown(value)}")
    return float(value)


def _read_choice(f: ConfigField, value: Any) -> str:
    quoted = [f'"{choice}"' for choice, _, _ in f.choices]
    if not isinstance(value, str):
        raise _type_error(f.key, value, " 或 ".join(quoted), " or ".join(quoted))
    text = value.strip().lower()
    if text not in (choice for choice, _, _ in f.choices):
        zh = "或 ".join(f'"{choice}"（{zh}）' for choice, zh, _ in f.choices)
        en = " or ".join(f'"{choice}" ({en})' for choice, _, en in f.choices)
        raise ConfigError(f.key, f"应为 {zh}，实际为 {_shown(value)}",
                          f"expected {en}, got {_shown(value)}")
    return text


def _read_timezone(f: ConfigField, value: Any) -> ZoneInfo:
    """An IANA zone; ``Config.timezone_name`` is its ``key`` (the name as written, stripped)."""
    if not isinstance(value, str):
        raise _type_error(
            f.key, value, "时区名称字符串", f'a time zone name string such as "{f.default}"'
        )
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise ConfigError(
        f.key,
        f'应为 IANA 时区名称，例如 "{f.default}"，实际为 {_shown(value)}'
        "（若名称无误，可能是系统缺少时区数据：请安装 tzdata）",
        f'expected an IANA time zone name such as "{f.default}", got {_shown(value)}'
        " (if the name is right, the system may lack time zone data: install tzdata)",
    )


def _read_time(f: ConfigField, value: Any) -> time:
    zh_expected = '应为 HH:MM 格式的时间，例如 "09:00"'
    en_expected = 'expected a time HH:MM such as "09:00"'
    if isinstance(value, time):  # a native TOML local time, e.g. send_at = 09:00:00
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ConfigError(
                f.key,
                f"{zh_expected}，实际为 {value.isoformat()}",
                f"{en_expected}, got {value.isoformat()}",
            )
        return value
    if not isinstance(value, str):
        zh_got, en_got = _got(value)
        raise ConfigError(f.key, f"{zh_expected}，实际为 {zh_got}", f"{en_expected}, got {en_got}")
    match = _TIME_RE.match(value.strip())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return time(hour, minute)
    raise ConfigError(
        f.key, f"{zh_expected}，实际为 {_shown(value)}", f"{en_expected}, got {_shown(value)}"
    )


def _read_dates(f: ConfigField, value: Any) -> frozenset[date]:
    zh_expected = '"YYYY-MM-DD" 格式日期的列表，例如 ["2025-10-08"]'
    en_expected = 'a list of "YYYY-MM-DD" dates such as ["2025-10-08"]'
    if not isinstance(value, list):
        raise _type_error(f.key, value, zh_expected, en_expected)
    result: set[date] = set()
    for index, item in enumerate(value, start=1):
        parsed = _parse_date(item)
        if parsed is None:
            zh_got, en_got = _got(item)
            raise ConfigError(
                f.key,
                f'第 {index} 项应为 "YYYY-MM-DD" 格式的有效日期，例如 "2025-10-08"，'
                f"实际为 {zh_got}",
                f'item {index}: expected a valid date "YYYY-MM-DD" such as "2025-10-08", '
                f"got {en_got}",
            )
        result.add(parsed)
    return frozenset(result)


def _parse_date(item: Any) -> date | None:
    if isinstance(item, datetime):
        return None
    if isinstance(item, date):  # a native TOML local date, e.g. 2025-10-08
        return item
    if not isinstance(item, str):
        return None
    text = item.strip()
    if not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _read_user_ids(f: ConfigField, value: Any) -> frozenset[int]:
    if not isinstance(value, list):
        raise _type_error(
            f.key,
            value,
            "Telegram 用户 ID（整数）的列表，例如 [123456789]",
            "a list of Telegram user ids (integers) such as [123456789]",
        )
    admins: set[int] = set()
    for index, item in enumerate(value, start=1):
        if not _is_int(item):
            zh_got, en_got = _got(item)
            hint_zh = hint_en = ""
            if isinstance(item, str) and item.strip().lstrip("-").isdigit():
                hint_zh, hint_en = "（请去掉引号）", " (remove the quotes)"
            raise ConfigError(
                f.key,
                f"第 {index} 项应为整数形式的 Telegram 用户 ID，例如 123456789，"
                f"实际为 {zh_got}{hint_zh}",
                f"item {index}: expected a Telegram user id as an integer such as 123456789, "
                f"got {en_got}{hint_en}",
            )
        if item <= 0:
            raise ConfigError(
                f.key,
                f"第 {index} 项应为正整数的 Telegram 用户 ID，实际为 {item}"
                "（负数是群组 ID，请填到 [chats]）",
                f"item {index}: expected a positive Telegram user id, got {item} "
                "(negative numbers are group chat ids; put those under [chats])",
            )
        admins.add(item)
    return frozenset(admins)


def _read_strings(f: ConfigField, value: Any) -> frozenset[str]:
    """A list of non-empty account strings (钉钉 userids); duplicates collapse."""
    if not isinstance(value, list):
        raise _type_error(f.key, value, f'字符串的列表，例如 ["{f.sample}"]',
                          f'a list of strings such as ["{f.sample}"]')
    result: set[str] = set()
    for index, item in enumerate(value, start=1):
        if not isinstance(item, str) or not item.strip():
            zh_got, en_got = _got(item)
            hint_zh = hint_en = ""
            if _is_int(item):
                hint_zh, hint_en = "（请加引号）", " (put it in quotes)"
            raise ConfigError(
                f.key,
                f'第 {index} 项应为非空字符串，例如 "{f.sample}"，实际为 {zh_got}{hint_zh}',
                f'item {index}: expected a non-empty string such as "{f.sample}", '
                f"got {en_got}{hint_en}",
            )
        result.add(item.strip())
    return frozenset(result)


def _read_chat_id(f: ConfigField, value: Any) -> int | None:
    """A chat id; 0 means none (None)."""
    if not _is_int(value):
        raise _type_error(
            f.key,
            value,
            "整数形式的群组 ID，例如 -1001234567890（0 表示不使用）",
            "a chat id as an integer such as -1001234567890 (0 = none)",
        )
    return None if value == 0 else cast(int, value)


def _read_listen(f: ConfigField, value: Any) -> tuple[str, int]:
    """``host:port`` (an IPv6 host in brackets: ``[::1]:8443``)."""
    text = _read_string(f, value)
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f.key, f'应为 host:port，例如 "{f.sample}"，实际为 {_shown(value)}',
                          f'expected host:port such as "{f.sample}", got {_shown(value)}')
    return host, int(port)


_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _read_schema(f: ConfigField, value: Any) -> str:
    """A PostgreSQL schema name we can put in SQL unquoted (and never pg_*)."""
    text = _read_string(f, value)
    if not _SCHEMA.fullmatch(text) or text.startswith("pg_"):
        raise ConfigError(f.key, f"应为小写字母、数字和下划线组成的名称（不以数字或 pg_ 开头），"
                          f'例如 "{f.sample}"，实际为 {_shown(value)}',
                          "expected a name of lowercase letters, digits and _ (not starting "
                          f'with a digit or pg_), such as "{f.sample}", got {_shown(value)}')
    return text


_READERS: dict[str, Callable[[ConfigField, Any], Any]] = {
    "listen": _read_listen,
    "schema": _read_schema,
    "string": _read_string,
    "url": _read_url,
    "path": _read_path,
    "integer": _read_integer,
    "year": _read_year,
    "number": _read_number,
    "choice": _read_choice,
    "timezone": _read_timezone,
    "time": _read_time,
    "dates": _read_dates,
    "user_ids": _read_user_ids,
    "strings": _read_strings,
    "chat_id": _read_chat_id,
}
