"""Configuration loading and validation for Luoshi.

The configuration lives in a TOML file (``config.toml``; see ``config.example.toml``).
Every key is optional except the Telegram bot token, which may also come from the
``BOT_TOKEN`` environment variable. Every problem is reported as a single
:class:`ConfigError` whose message names the offending key, says what was expected
(in Chinese and in English) and names the file. The token value never appears in
error messages, in ``repr(config)`` or in :meth:`Config.redacted_summary`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ENV_CONFIG",
    "ENV_TOKEN",
    "EXAMPLE_CONFIG_NAME",
    "AccessConfig",
    "CalendarConfig",
    "ChatsConfig",
    "Config",
    "ConfigError",
    "ImportConfig",
    "RhythmConfig",
    "StorageConfig",
    "TelegramConfig",
    "WarningConfig",
    "load_config",
    "parse_config",
    "resolve_config_path",
]

Language = Literal["zh", "en"]

ENV_TOKEN = "BOT_TOKEN"
ENV_CONFIG = "BOT_CONFIG"
DEFAULT_CONFIG_NAME = "config.toml"
EXAMPLE_CONFIG_NAME = "config.example.toml"

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_LANGUAGE: Language = "zh"
DEFAULT_STORAGE_DIR = "data"
DEFAULT_KEEP_BACKUPS = 14
DEFAULT_SNAPSHOT_EVERY = 2000
DEFAULT_SEND_AT = time(9, 0)

# Valid keys of the top level and of every section.
_TOP_KEYS: tuple[str, ...] = (
    "timezone",
    "language",
    "telegram",
    "storage",
    "access",
    "chats",
    "rhythm",
    "calendar",
    "warning",
    "import",
    "escalation",
    "bulletin",
    "summary",
    "scoring",
)
_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "telegram": ("token", "base_url", "base_file_url"),
    "storage": ("dir", "keep_backups", "snapshot_every"),
    "access": ("admins",),
    "chats": ("admin_group", "work_group"),
    "rhythm": ("send_at",),
    "calendar": ("extra_holidays", "extra_workdays"),
    "warning": ("near_deadline_workdays", "near_deadline_progress", "behind_schedule_margin"),
    "import": ("year",),
    "escalation": ("leader_after", "admin_after"),
    "bulletin": ("send_at",),
    "summary": ("send_at",),
    "scoring": ("base", "overdue_per_workday", "missed_report", "closed_on_time"),
}

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)")
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


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(default="", repr=False)
    base_url: str = ""
    base_file_url: str = ""

    @property
    def has_token(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class StorageConfig:
    dir: Path = Path(DEFAULT_STORAGE_DIR)
    keep_backups: int = DEFAULT_KEEP_BACKUPS
    snapshot_every: int = DEFAULT_SNAPSHOT_EVERY


@dataclass(frozen=True)
class AccessConfig:
    admins: frozenset[int] = frozenset()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins


@dataclass(frozen=True)
class ChatsConfig:
    admin_group: int | None = None
    work_group: int | None = None


@dataclass(frozen=True)
class RhythmConfig:
    send_at: time = DEFAULT_SEND_AT


@dataclass(frozen=True)
class CalendarConfig:
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class WarningConfig:
    """预警 thresholds (the traffic light of a task)."""

    near_deadline_workdays: int = 3  # 黄 when the deadline is this many workdays away …
    near_deadline_progress: int = 80  # … and 进度 is below this
    behind_schedule_margin: int = 20  # 黄 when 进度 < 序时进度 − this


@dataclass(frozen=True)
class ImportConfig:
    """[import]: the year for deadlines written without one (12月31日); None = this year."""

    year: int | None = None


@dataclass(frozen=True)
class EscalationConfig:
    """督办 up the chain: the 责任领导 after `leader_after` overdue workdays, 挂牌督办 in the
    admin group after `admin_after`."""

    leader_after: int = 3
    admin_after: int = 5


@dataclass(frozen=True)
class ScoringConfig:
    """考核: points per unit and period, capped at 0–100."""

    base: float = 100.0
    overdue_per_workday: float = 1.0  # minus, per overdue task and workday
    missed_report: float = 2.0  # minus, per reminder not answered within its period
    closed_on_time: float = 2.0  # plus, per task closed on time


@dataclass(frozen=True)
class Config:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    timezone_name: str = DEFAULT_TIMEZONE
    language: Language = DEFAULT_LANGUAGE
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    chats: ChatsConfig = field(default_factory=ChatsConfig)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    warning: WarningConfig = field(default_factory=WarningConfig)
    imports: ImportConfig = field(default_factory=ImportConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    bulletin_at: time = time(9, 30)  # [bulletin] send_at
    summary_at: time = time(17, 30)  # [summary] send_at
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    source: Path | None = None

    def redacted_summary(self) -> list[str]:
        """Human-readable lines for the ``check`` command. Never shows the token."""
        token = self.telegram.token
        if token:
            token_line = f"已设置 / set (…{len(token)} chars, hidden)"
        else:
            token_line = "未设置 / not set"
        admins = len(self.access.admins)
        base_url = self.telegram.base_url or "默认 / default (api.telegram.org)"
        return [
            f"配置文件 / Config file: {self.source if self.source else '(none)'}",
            f"时区 / Time zone: {self.timezone_name}",
            f"语言 / Language: {self.language}",
            f"数据目录 / Store dir: {self.storage.dir}",
            f"备份保留 / Backups kept: {self.storage.keep_backups} 天 / days",
            f"快照间隔 / Snapshot every: {self.storage.snapshot_every} 次提交 / commits",
            f"管理员 / Admins: {admins} 人 / user(s)",
            f"管理群 / Admin group: {_chat_text(self.chats.admin_group)}",
            f"工作群 / Work group: {_chat_text(self.chats.work_group)}",
            f"每日发送时间 / Send at: {self.rhythm.send_at.strftime('%H:%M')}",
            f"额外假日 / Extra holidays: {len(self.calendar.extra_holidays)}",
            f"额外调休工作日 / Extra workdays: {len(self.calendar.extra_workdays)}",
            f"Bot API 服务器 / Bot API server: {_redact(base_url, token)}",
            f"令牌 / Token: {token_line}",
        ]


def _chat_text(chat_id: int | None) -> str:
    return "未设置 / none" if chat_id is None else str(chat_id)


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, _MASK) if secret else text


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


def _check_table(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(
            key,
            value,
            f"一个表（TOML 小节 [{key}]）",
            f"a table (TOML section [{key}])",
            secret=key == "telegram",  # `telegram = "..."` is probably a misplaced token
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


def _get_str(
    table: Mapping[str, Any], section: str, name: str, default: str, *, secret: bool = False
) -> str:
    key = f"{section}.{name}" if section else name
    value = table.get(name, default)
    if not isinstance(value, str):
        raise _type_error(key, value, "字符串", "a string", secret=secret)
    return value.strip()


def _get_int(
    table: Mapping[str, Any], section: str, name: str, default: int, *, minimum: int | None = None
) -> int:
    key = f"{section}.{name}"
    value = table.get(name, default)
    if not _is_int(value):
        raise _type_error(key, value, "整数", "an integer")
    if minimum is not None and value < minimum:
        raise ConfigError(
            key,
            f"应为不小于 {minimum} 的整数，实际为 {value}",
            f"expected an integer >= {minimum}, got {value}",
        )
    return cast(int, value)


def _get_number(table: Mapping[str, Any], name: str, default: float) -> float:
    key = f"scoring.{name}"
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigError(key, f"应为 0–100 之间的数，实际为 {_shown(value)}",
                          f"expected a number from 0 to 100, got {_shown(value)}")
    return float(value)


def _get_percent(table: Mapping[str, Any], name: str, default: int) -> int:
    value = _get_int(table, "warning", name, default, minimum=0)
    if value > 100:
        raise ConfigError(f"warning.{name}", f"应为 0–100 的整数，实际为 {value}",
                          f"expected an integer from 0 to 100, got {value}")
    return value


def _parse_timezone(value: Any) -> tuple[ZoneInfo, str]:
    key = "timezone"
    if not isinstance(value, str):
        raise _type_error(
            key, value, "时区名称字符串", f'a time zone name string such as "{DEFAULT_TIMEZONE}"'
        )
    name = value.strip()
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise ConfigError(
        key,
        f'应为 IANA 时区名称，例如 "{DEFAULT_TIMEZONE}"，实际为 {_shown(value)}'
        "（若名称无误，可能是系统缺少时区数据：请安装 tzdata）",
        f'expected an IANA time zone name such as "{DEFAULT_TIMEZONE}", got {_shown(value)}'
        " (if the name is right, the system may lack time zone data: install tzdata)",
    )


def _parse_language(value: Any) -> Language:
    key = "language"
    if not isinstance(value, str):
        raise _type_error(key, value, '"zh" 或 "en"', '"zh" or "en"')
    lang = value.strip().lower()
    if lang not in ("zh", "en"):
        raise ConfigError(
            key,
            f'应为 "zh"（中文）或 "en"（英文），实际为 {_shown(value)}',
            f'expected "zh" (Chinese) or "en" (English), got {_shown(value)}',
        )
    return cast(Language, lang)


def _parse_url(table: Mapping[str, Any], name: str, example: str) -> str:
    key = f"telegram.{name}"
    url = _get_str(table, "telegram", name, "")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(
            key,
            f'应以 http:// 或 https:// 开头，例如 "{example}"，或留空',
            f'expected a URL starting with http:// or https:// such as "{example}", or empty',
        )
    return url


def _parse_send_at(value: Any, key: str = "rhythm.send_at") -> time:
    zh_expected = '应为 HH:MM 格式的时间，例如 "09:00"'
    en_expected = 'expected a time HH:MM such as "09:00"'
    if isinstance(value, time):  # a native TOML local time, e.g. send_at = 09:00:00
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ConfigError(
                key,
                f"{zh_expected}，实际为 {value.isoformat()}",
                f"{en_expected}, got {value.isoformat()}",
            )
        return value
    if not isinstance(value, str):
        zh_got, en_got = _got(value)
        raise ConfigError(key, f"{zh_expected}，实际为 {zh_got}", f"{en_expected}, got {en_got}")
    match = _TIME_RE.match(value.strip())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return time(hour, minute)
    raise ConfigError(
        key, f"{zh_expected}，实际为 {_shown(value)}", f"{en_expected}, got {_shown(value)}"
    )


def _parse_date_list(table: Mapping[str, Any], name: str) -> frozenset[date]:
    key = f"calendar.{name}"
    value = table.get(name, [])
    zh_expected = '"YYYY-MM-DD" 格式日期的列表，例如 ["2025-10-08"]'
    en_expected = 'a list of "YYYY-MM-DD" dates such as ["2025-10-08"]'
    if not isinstance(value, list):
        raise _type_error(key, value, zh_expected, en_expected)
    result: set[date] = set()
    for index, item in enumerate(value, start=1):
        parsed = _parse_date(item)
        if parsed is None:
            zh_got, en_got = _got(item)
            raise ConfigError(
                key,
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


def _parse_admins(table: Mapping[str, Any]) -> frozenset[int]:
    key = "access.admins"
    value = table.get("admins", [])
    if not isinstance(value, list):
        raise _type_error(
            key,
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
                key,
                f"第 {index} 项应为整数形式的 Telegram 用户 ID，例如 123456789，"
                f"实际为 {zh_got}{hint_zh}",
                f"item {index}: expected a Telegram user id as an integer such as 123456789, "
                f"got {en_got}{hint_en}",
            )
        if item <= 0:
            raise ConfigError(
                key,
                f"第 {index} 项应为正整数的 Telegram 用户 ID，实际为 {item}"
                "（负数是群组 ID，请填到 [chats]）",
                f"item {index}: expected a positive Telegram user id, got {item} "
                "(negative numbers are group chat ids; put those under [chats])",
            )
        admins.add(item)
    return frozenset(admins)


def _parse_chat(table: Mapping[str, Any], name: str) -> int | None:
    key = f"chats.{name}"
    value = table.get(name, 0)
    if not _is_int(value):
        raise _type_error(
            key,
            value,
            "整数形式的群组 ID，例如 -1001234567890（0 表示不使用）",
            "a chat id as an integer such as -1001234567890 (0 = none)",
        )
    return None if value == 0 else cast(int, value)


# --------------------------------------------------------------------------- parsing


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    table = _check_table(name, data.get(name, {}))
    _check_unknown(name, table, _SECTION_KEYS[name])
    return table


def parse_config(
    data: Mapping[str, Any],
    *,
    source: Path | None = None,
    env: Mapping[str, str] | None = None,
    require_token: bool = True,
) -> Config:
    """Validate an already-parsed TOML mapping and build a :class:`Config`.

    Relative ``storage.dir`` values are resolved against the folder of ``source``
    (or left relative when ``source`` is None). Errors are raised as
    :class:`ConfigError` naming ``source``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    env_token = (environ.get(ENV_TOKEN) or "").strip()
    secrets = [env_token]
    telegram = data.get("telegram")
    if isinstance(telegram, dict) and isinstance(telegram.get("token"), str):
        secrets.append(telegram["token"].strip())
    secrets = [secret for secret in secrets if secret]
    reset = _SECRETS.set(tuple(secrets))
    try:
        return _build(data, source=source, env_token=env_token, require_token=require_token)
    except ConfigError as err:
        for secret in secrets:
            err = err.scrubbed(secret)
        raise err.with_path(source) from None
    finally:
        _SECRETS.reset(reset)


def _build(
    data: Mapping[str, Any], *, source: Path | None, env_token: str, require_token: bool
) -> Config:
    _check_unknown(None, data, _TOP_KEYS)

    tz, tz_name = _parse_timezone(data.get("timezone", DEFAULT_TIMEZONE))
    language = _parse_language(data.get("language", DEFAULT_LANGUAGE))

    tg = _section(data, "telegram")
    token = _get_str(tg, "telegram", "token", "", secret=True)
    if env_token:
        token = env_token
    telegram = TelegramConfig(
        token=token,
        base_url=_parse_url(tg, "base_url", "http://127.0.0.1:8081/bot"),
        base_file_url=_parse_url(tg, "base_file_url", "http://127.0.0.1:8081/file/bot"),
    )

    st = _section(data, "storage")
    dir_text = _get_str(st, "storage", "dir", DEFAULT_STORAGE_DIR)
    if not dir_text:
        raise ConfigError(
            "storage.dir",
            f'应为数据目录路径，例如 "{DEFAULT_STORAGE_DIR}"，不能为空',
            f'expected a data directory path such as "{DEFAULT_STORAGE_DIR}", got an empty string',
        )
    store_dir = Path(dir_text).expanduser()
    if not store_dir.is_absolute() and source is not None:
        store_dir = source.parent / store_dir
    storage = StorageConfig(
        dir=store_dir,
        keep_backups=_get_int(st, "storage", "keep_backups", DEFAULT_KEEP_BACKUPS, minimum=1),
        snapshot_every=_get_int(st, "storage", "snapshot_every", DEFAULT_SNAPSHOT_EVERY, minimum=1),
    )

    access = AccessConfig(admins=_parse_admins(_section(data, "access")))

    ch = _section(data, "chats")
    chats = ChatsConfig(
        admin_group=_parse_chat(ch, "admin_group"), work_group=_parse_chat(ch, "work_group")
    )

    rh = _section(data, "rhythm")
    rhythm = RhythmConfig(send_at=_parse_send_at(rh.get("send_at", "09:00")))

    cal = _section(data, "calendar")
    holidays = _parse_date_list(cal, "extra_holidays")
    workdays = _parse_date_list(cal, "extra_workdays")
    both = sorted(holidays & workdays)
    if both:
        day = both[0].isoformat()
        raise ConfigError(
            "calendar.extra_workdays",
            f'日期 "{day}" 同时出现在 extra_holidays 和 extra_workdays 中，只能选一个',
            f'date "{day}" is in both extra_holidays and extra_workdays; choose one',
        )
    calendar = CalendarConfig(extra_holidays=holidays, extra_workdays=workdays)

    wa = _section(data, "warning")
    warning = WarningConfig(
        near_deadline_workdays=_get_int(wa, "warning", "near_deadline_workdays", 3, minimum=0),
        near_deadline_progress=_get_percent(wa, "near_deadline_progress", 80),
        behind_schedule_margin=_get_percent(wa, "behind_schedule_margin", 20),
    )

    im = _section(data, "import")
    year = _get_int(im, "import", "year", 0, minimum=0)
    if year and not 2000 <= year <= 2100:
        raise ConfigError("import.year", f"应为 2000–2100 之间的年份，或 0 表示今年，实际为 {year}",
                          f"expected a year from 2000 to 2100, or 0 for this year, got {year}")
    imports = ImportConfig(year=year or None)

    es = _section(data, "escalation")
    escalation = EscalationConfig(
        leader_after=_get_int(es, "escalation", "leader_after", 3, minimum=0),
        admin_after=_get_int(es, "escalation", "admin_after", 5, minimum=0),
    )
    bulletin_at = _parse_send_at(_section(data, "bulletin").get("send_at", "09:30"),
                                 "bulletin.send_at")
    summary_at = _parse_send_at(_section(data, "summary").get("send_at", "17:30"),
                                "summary.send_at")
    sc = _section(data, "scoring")
    scoring = ScoringConfig(**{name: _get_number(sc, name, default) for name, default in (
        ("base", 100.0), ("overdue_per_workday", 1.0), ("missed_report", 2.0),
        ("closed_on_time", 2.0))})

    # Checked last, so that other mistakes in the file are reported first.
    if require_token and not token:
        raise ConfigError(
            "telegram.token",
            "缺少机器人令牌：请在 Telegram 中向 @BotFather 申请令牌，"
            f"填入 [telegram] token，或设置环境变量 {ENV_TOKEN}",
            "the bot token is missing: get a token from @BotFather in Telegram and put it "
            f"in [telegram] token or the {ENV_TOKEN} environment variable",
        )

    return Config(
        timezone=tz,
        timezone_name=tz_name,
        language=language,
        telegram=telegram,
        storage=storage,
        access=access,
        chats=chats,
        rhythm=rhythm,
        calendar=calendar,
        warning=warning,
        imports=imports,
        escalation=escalation,
        bulletin_at=bulletin_at,
        summary_at=summary_at,
        scoring=scoring,
        source=source,
    )


# --------------------------------------------------------------------------- loading


def resolve_config_path(
    path: Path | str | None = None, *, env: Mapping[str, str] | None = None
) -> Path:
    """The config file to use: ``path``, else ``$BOT_CONFIG``, else ``./config.toml``."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if path is None or str(path) == "":
        from_env = (environ.get(ENV_CONFIG) or "").strip()
        path = from_env or DEFAULT_CONFIG_NAME
    return Path(path).expanduser().absolute()


def _read_toml(path: Path) -> dict[str, Any]:
    def fail(zh: str, en: str) -> ConfigError:
        return ConfigError(None, zh, en, path)

    if not path.exists():
        raise fail(
            f"找不到配置文件 {path}。请将 {EXAMPLE_CONFIG_NAME} 复制为 {DEFAULT_CONFIG_NAME} "
            f"并按注释填写（或用环境变量 {ENV_CONFIG} 指定配置文件路径）",
            f"config file {path} not found. Copy {EXAMPLE_CONFIG_NAME} to "
            f"{DEFAULT_CONFIG_NAME} and fill it in (or point {ENV_CONFIG} at your config file)",
        )
    if not path.is_file():
        raise fail(f"{path} 不是文件", f"{path} is not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise fail(
            f"无法读取配置文件：{reason}", f"cannot read the config file: {reason}"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(
            f"配置文件必须是 UTF-8 编码（第 {exc.start} 字节处解码失败）",
            f"the config file must be UTF-8 encoded (decoding failed at byte {exc.start})",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        match = _TOML_POS_RE.search(detail)
        if match:
            line, col = match.group(1), match.group(2)
            where_zh, where_en = f"第 {line} 行第 {col} 列", f"at line {line}, column {col}"
        else:
            where_zh, where_en = "文件末尾", "at end of document"
        detail = re.sub(r"\s*\(at [^)]*\)\s*$", "", detail)
        raise fail(
            f"TOML 语法错误，{where_zh}：{detail}",
            f"invalid TOML {where_en}: {detail}",
        ) from None


def load_config(
    path: Path | str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    require_token: bool = True,
) -> Config:
    """Load, validate and return the configuration.

    ``path`` defaults to ``$BOT_CONFIG``, then ``./config.toml``. A non-empty
    ``BOT_TOKEN`` in ``env`` (default: ``os.environ``) overrides ``[telegram] token``.
    Raises :class:`ConfigError` on any problem.
    """
    config_path = resolve_config_path(path, env=env)
    data = _read_toml(config_path)
    return parse_config(data, source=config_path, env=env, require_token=require_token)
