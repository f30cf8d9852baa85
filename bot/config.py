"""Configuration loading and validation for Luoshi.

The configuration lives in a TOML file (``config.toml``; see ``config.example.toml``).
Every key is optional except a channel to run on: the Telegram bot token (which may also
come from the ``BOT_TOKEN`` environment variable), or a complete ``[dingtalk]`` section
(client_id, client_secret — or ``DINGTALK_CLIENT_SECRET`` — and robot_code). Every
problem is reported as a single :class:`ConfigError` whose message names the offending key,
says what was expected (in Chinese and in English) and names the file. Secret values (the
token, 钉钉's client secret, webhook and its secret) never appear in error messages, in
``repr(config)`` or in :meth:`Config.redacted_summary`.

Every key is declared once, in :data:`FIELDS` (key, kind, default, allowed range or
choices, description): the valid keys of each section, the order in which keys are
checked, the defaults of the :class:`Config` dataclasses and the values loaded all come
from it. ``tests/unit/test_config_fields.py`` holds ``config.example.toml`` to it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from bot.config_read import (
    _MASK,
    _READERS,
    _SECRETS,
    ConfigError,
    _check_table,
    _check_unknown,
)

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ENV_CONFIG",
    "ENV_DATABASE_URL",
    "ENV_DINGTALK_SECRET",
    "ENV_DINGTALK_WEBHOOK_SECRET",
    "ENV_TOKEN",
    "ENV_WEBHOOK_SECRET",
    "EXAMPLE_CONFIG_NAME",
    "FIELDS",
    "AccessConfig",
    "CalendarConfig",
    "ChannelsConfig",
    "ChatsConfig",
    "Config",
    "ConfigError",
    "ConfigField",
    "DingTalkConfig",
    "EscalationConfig",
    "ImportConfig",
    "RhythmConfig",
    "ScoringConfig",
    "StorageConfig",
    "TelegramConfig",
    "WarningConfig",
    "field_default",
    "load_config",
    "parse_config",
    "resolve_config_path",
]

Language = Literal["zh", "en"]

ENV_TOKEN = "BOT_TOKEN"
ENV_CONFIG = "BOT_CONFIG"
ENV_DINGTALK_SECRET = "DINGTALK_CLIENT_SECRET"
ENV_DINGTALK_WEBHOOK_SECRET = "DINGTALK_WEBHOOK_SECRET"
ENV_WEBHOOK_SECRET = "TELEGRAM_WEBHOOK_SECRET"
ENV_DATABASE_URL = "DATABASE_URL"
# [dingtalk]: what running the channel needs (a partial section is an error naming the rest).
DINGTALK_REQUIRED = ("dingtalk.client_id", "dingtalk.client_secret", "dingtalk.robot_code")
DEFAULT_CONFIG_NAME = "config.toml"
EXAMPLE_CONFIG_NAME = "config.example.toml"

_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)")

# --------------------------------------------------------------------------- the table of fields


@dataclass(frozen=True)
class ConfigField:
    """One configuration key, declared once.

    ``default`` is the TOML value used when the key is absent, written as in
    ``config.example.toml`` (``"09:00"``, ``0``, ``[]``); :func:`field_default` gives it
    read, as :class:`Config` holds it (``time(9, 0)``, ``None``, ``frozenset()``).
    """

    key: str  # dotted TOML key: "rhythm.send_at"; no dot at the top level
    kind: str  # how the value is read and checked: a key of _READERS
    default: Any
    zh: str  # what it is, in Chinese …
    en: str  # … and in English
    low: int | None = None  # allowed range, both ends included
    high: int | None = None
    choices: tuple[tuple[str, str, str], ...] = ()  # (value, 中文名, English name)
    sample: str = ""  # an example value named in error messages
    secret: bool = False  # never shown in messages, summaries or repr
    in_example: bool = True  # False: deliberately left out of config.example.toml
    commented: bool = False  # in config.example.toml as a commented-out line (`# key = …`)
    target: str = ""  # where the value lands in Config, when not at `key`

    @property
    def section(self) -> str:
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]

    @property
    def attr(self) -> str:
        """Dotted attribute path in :class:`Config` ("rhythm.send_at", "bulletin_at")."""
        return self.target or self.key

    def read(self, value: Any) -> Any:
        """``value`` checked and converted; raises :class:`ConfigError` naming the key."""
        return _READERS[self.kind](self, value)


F = ConfigField
FIELDS: tuple[ConfigField, ...] = (
    F("timezone", "timezone", "Asia/Shanghai",
      "时区（IANA 名称），决定“今天”和各发送时间",
      "time zone (IANA name); defines today and every send time"),
    F("language", "choice", "zh", "界面语言", "interface language",
      choices=(("zh", "中文", "Chinese"), ("en", "英文", "English"))),
    F("telegram.token", "string", "", f"机器人令牌（环境变量 {ENV_TOKEN} 优先）",
      f"bot token (the {ENV_TOKEN} environment variable overrides it)", secret=True),
    F("telegram.base_url", "url", "", "自建 Bot API 服务器地址，留空为官方服务器",
      "self-hosted Bot API server; empty = api.telegram.org",
      sample="http://127.0.0.1:8081/bot"),
    F("telegram.base_file_url", "url", "", "自建 Bot API 服务器的文件下载地址，留空为官方地址",
      "file download URL of a self-hosted Bot API server; empty = official",
      sample="http://127.0.0.1:8081/file/bot"),
    F("telegram.mode", "choice", "polling",
      "接收消息的方式：polling（单进程轮询）或 webhook（多个进程在负载均衡之后）",
      "how updates arrive: polling (one process) or webhook (workers behind a load balancer)",
      choices=(("polling", "轮询", "polling"), ("webhook", "Webhook", "webhook"))),
    F("telegram.webhook_url", "url", "", "webhook 模式：Telegram 推送消息的公网 https 地址",
      "webhook mode: the public https URL Telegram posts updates to",
      sample="https://luoshi.example.gov.cn/telegram", commented=True),
    F("telegram.webhook_listen", "listen", "127.0.0.1:8443",
      "webhook 模式：本进程监听的 host:port（命令行 --listen 优先）",
      "webhook mode: host:port this worker listens on (--listen overrides)",
      sample="127.0.0.1:8443", commented=True),
    F("telegram.webhook_secret", "string", "",
      f"webhook 模式：校验请求头 X-Telegram-Bot-Api-Secret-Token 的密钥（环境变量 "
      f"{ENV_WEBHOOK_SECRET} 优先；1–256 个字母、数字、_ 或 -）",
      f"webhook mode: the secret every request must carry in X-Telegram-Bot-Api-Secret-Token "
      f"(the {ENV_WEBHOOK_SECRET} environment variable overrides it; 1–256 of A–Z a–z 0–9 _ -)",
      secret=True, commented=True),
    F("storage.dir", "path", "data", "数据目录（相对路径相对于配置文件所在文件夹）",
      "data directory (relative to the config file's folder)"),
    F("storage.keep_backups", "integer", 14, "每日备份保留天数", "days of daily backups kept",
      low=1),
    F("storage.snapshot_every", "integer", 2000, "日志积累多少次提交后提前合并进快照",
      "commits after which the journal is folded into a snapshot early", low=1),
    F("storage.backend", "choice", "tinydb",
      "存储后端：tinydb（单机内置，默认）或 postgresql（市、省多县部署）",
      "store: tinydb (embedded, the default) or postgresql (a city's or province's counties)",
      choices=(("tinydb", "内置 TinyDB", "embedded TinyDB"),
               ("postgresql", "PostgreSQL", "PostgreSQL"))),
    F("storage.dsn", "string", "",
      f"postgresql 后端的连接串（环境变量 {ENV_DATABASE_URL} 优先）",
      f"the postgresql backend's connection string (the {ENV_DATABASE_URL} environment "
      "variable overrides it)", sample="postgresql://luoshi@127.0.0.1/luoshi", secret=True,
      commented=True),
    F("storage.tenant", "schema", "county",
      "postgresql 后端：本县的 schema 名（一县一个；小写字母、数字、下划线）",
      "postgresql backend: this county's schema (one per county; lowercase letters, digits, _)",
      sample="county_pingyang", commented=True),
    F("access.admins", "user_ids", [], "管理员（督查室）的 Telegram 用户 ID",
      "Telegram user ids of the admins (督查室)"),
    F("access.dingtalk_admins", "strings", [], "管理员（督查室）的钉钉 userid（staffId）",
      "钉钉 (DingTalk) userids (staffId) of the admins", sample="manager4220", commented=True),
    F("chats.admin_group", "chat_id", 0, "管理群 ID：提交、督办、通报（0 表示不使用）",
      "admin group chat id: submissions, escalations, bulletins (0 = none)"),
    F("chats.work_group", "chat_id", 0, "工作群 ID：通报（0 表示不使用）",
      "work group chat id: bulletins (0 = none)"),
    F("channels.prefer", "choice", "last",
      "同一人在 Telegram 和钉钉都已绑定时，提醒发往哪个渠道（每条提醒只发一次）",
      "where a person bound on several channels gets each reminder (once)",
      choices=(("last", "最近使用的渠道", "the channel they last used"),
               ("telegram", "Telegram", "Telegram"), ("dingtalk", "钉钉", "DingTalk"))),
    F("dingtalk.client_id", "string", "", "钉钉应用的 Client ID（原 AppKey）",
      "the 钉钉 app's Client ID (formerly AppKey)", commented=True),
    F("dingtalk.client_secret", "string", "",
      f"钉钉应用的 Client Secret（原 AppSecret；环境变量 {ENV_DINGTALK_SECRET} 优先）",
      f"the 钉钉 app's Client Secret (formerly AppSecret; the {ENV_DINGTALK_SECRET} "
      "environment variable overrides it)", secret=True, commented=True),
    F("dingtalk.robot_code", "string", "", "机器人的 RobotCode（通常与 Client ID 相同）",
      "the robot's RobotCode (usually the Client ID)", commented=True),
    F("dingtalk.api_base", "url", "https://api.dingtalk.com", "钉钉开放平台接口地址",
      "the 钉钉 open platform API", sample="https://api.dingtalk.com", commented=True),
    F("dingtalk.admin_group", "string", "",
      "钉钉管理群的 openConversationId：提交、督办、通报（留空表示不使用）",
      "openConversationId of the 钉钉 admin group: submissions, escalations, bulletins "
      "(empty = none)", commented=True),
    F("dingtalk.work_group", "string", "",
      "钉钉工作群的 openConversationId：通报（留空表示不使用）",
      "openConversationId of the 钉钉 work group: bulletins (empty = none)", commented=True),
    F("dingtalk.webhook", "url", "", "可选：群自定义机器人的 Webhook 地址（含 access_token）",
      "optional: a custom group robot's webhook URL (with its access_token)",
      sample="https://oapi.dingtalk.com/robot/send?access_token=…", commented=True),
    F("dingtalk.webhook_secret", "string", "",
      f"可选：群自定义机器人的加签密钥（环境变量 {ENV_DINGTALK_WEBHOOK_SECRET} 优先）",
      f"optional: the custom group robot's signing secret (the {ENV_DINGTALK_WEBHOOK_SECRET} "
      "environment variable overrides it)", secret=True, commented=True),
    F("rhythm.send_at", "time", "09:00", "每个工作日发送提醒的时间",
      "daily reminder time on workdays"),
    F("calendar.extra_holidays", "dates", [], "额外放假日", "extra days off"),
    F("calendar.extra_workdays", "dates", [], "额外工作日（调休上班）",
      "extra workdays (a weekend made a workday)"),
    F("warning.near_deadline_workdays", "integer", 3, "距完成时限不超过几个工作日时预警（黄）",
      "yellow when the deadline is this many workdays away …", low=0),
    F("warning.near_deadline_progress", "integer", 80, "……且进度低于此值",
      "… and progress is below this", low=0, high=100),
    F("warning.behind_schedule_margin", "integer", 20, "进度落后序时进度超过几个百分点时预警（黄）",
      "yellow when progress is this many points behind the elapsed share of time",
      low=0, high=100),
    F("import.year", "year", 0, "导入时不写年份的完成时限按哪一年算（0 表示今年）",
      "year of imported deadlines written without one (0 = this year)",
      low=2000, high=2100, target="imports.year"),
    F("escalation.leader_after", "integer", 3, "逾期几个工作日后向责任领导发督办单",
      "overdue workdays before the leader in charge gets a 督办单", low=0),
    F("escalation.admin_after", "integer", 5, "逾期几个工作日后列入挂牌督办",
      "overdue workdays before the task is listed as 挂牌督办", low=0),
    F("bulletin.send_at", "time", "09:30", "工作通报发送时间（每旬、月、季的第一个工作日）",
      "bulletin time (first workday of each 旬, month and quarter)", target="bulletin_at"),
    F("summary.send_at", "time", "17:30", "每日小结发送时间", "daily summary time",
      target="summary_at"),
    F("scoring.base", "number", 100, "考核起始分", "score each unit starts from", low=0, high=100),
    F("scoring.overdue_per_workday", "number", 1.0, "逾期任务每个工作日扣分",
      "points off per overdue task and workday", low=0, high=100),
    F("scoring.missed_report", "number", 2.0, "已停用：考核只看结果，不因应报未报扣分",
      "no longer used: scores rest on results (kept so that older configs load)",
      low=0, high=100),
    F("scoring.closed_on_time", "number", 2.0, "每项按时办结加分",
      "points added per task closed on time", low=0, high=100),
)
del F

# The fields of each section ("" = the top level), in the table's order: the order in which
# a config is checked, so the first mistake in this order is the one reported.
_SECTIONS: dict[str, tuple[ConfigField, ...]] = {}
for _f in FIELDS:
    _SECTIONS[_f.section] = (*_SECTIONS.get(_f.section, ()), _f)
del _f
_TOP_KEYS: tuple[str, ...] = tuple(
    name for section, group in _SECTIONS.items()
    for name in ([f.name for f in group] if not section else [section])
)
_DEFAULTS: dict[str, Any] = {f.key: f.read(f.default) for f in FIELDS}


def field_default(key: str) -> Any:
    """The default of ``key`` ("escalation.leader_after") as :class:`Config` holds it."""
    return _DEFAULTS[key]


# --------------------------------------------------------------------------- dataclasses
#
# The public shape of the configuration; every default comes from FIELDS.


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(default=field_default("telegram.token"), repr=False)
    base_url: str = field_default("telegram.base_url")
    base_file_url: str = field_default("telegram.base_file_url")
    mode: str = field_default("telegram.mode")  # "polling" or "webhook"
    webhook_url: str = field_default("telegram.webhook_url")
    webhook_listen: tuple[str, int] = field_default("telegram.webhook_listen")
    webhook_secret: str = field(default=field_default("telegram.webhook_secret"), repr=False)

    @property
    def webhook(self) -> bool:
        return self.mode == "webhook"

    @property
    def has_token(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class StorageConfig:
    dir: Path = field(default=field_default("storage.dir"))
    keep_backups: int = field_default("storage.keep_backups")
    snapshot_every: int = field_default("storage.snapshot_every")
    backend: str = field_default("storage.backend")  # "tinydb" or "postgresql"
    dsn: str = field(default=field_default("storage.dsn"), repr=False)
    tenant: str = field_default("storage.tenant")  # the county's schema (postgresql)

    @property
    def postgresql(self) -> bool:
        return self.backend == "postgresql"


@dataclass(frozen=True)
class AccessConfig:
    admins: frozenset[int] = field_default("access.admins")
    dingtalk_admins: frozenset[str] = field_default("access.dingtalk_admins")

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins


@dataclass(frozen=True)
class ChatsConfig:
    admin_group: int | None = field_default("chats.admin_group")
    work_group: int | None = field_default("chats.work_group")


@dataclass(frozen=True)
class ChannelsConfig:
    """[channels]: `prefer` — where a person reachable on several channels gets each
    reminder: "last" (the channel they last used, Person.last_channel), or a channel's name."""

    prefer: str = field_default("channels.prefer")


@dataclass(frozen=True)
class DingTalkConfig:
    """[dingtalk]: the second channel (Stream mode). Groups are openConversationId strings
    ("" = none); the webhook is a custom group robot's, optional."""

    client_id: str = field_default("dingtalk.client_id")
    client_secret: str = field(default=field_default("dingtalk.client_secret"), repr=False)
    robot_code: str = field_default("dingtalk.robot_code")
    api_base: str = field_default("dingtalk.api_base")
    admin_group: str = field_default("dingtalk.admin_group")
    work_group: str = field_default("dingtalk.work_group")
    webhook: str = field(default=field_default("dingtalk.webhook"), repr=False)
    webhook_secret: str = field(default=field_default("dingtalk.webhook_secret"), repr=False)

    @property
    def enabled(self) -> bool:
        """The channel can run: client_id, client_secret and robot_code are all set."""
        return bool(self.client_id and self.client_secret and self.robot_code)


@dataclass(frozen=True)
class RhythmConfig:
    send_at: time = field(default=field_default("rhythm.send_at"))


@dataclass(frozen=True)
class CalendarConfig:
    extra_holidays: frozenset[date] = field_default("calendar.extra_holidays")
    extra_workdays: frozenset[date] = field_default("calendar.extra_workdays")


@dataclass(frozen=True)
class WarningConfig:
    """预警 thresholds (the traffic light of a task)."""

    near_deadline_workdays: int = field_default("warning.near_deadline_workdays")
    near_deadline_progress: int = field_default("warning.near_deadline_progress")
    behind_schedule_margin: int = field_default("warning.behind_schedule_margin")


@dataclass(frozen=True)
class ImportConfig:
    """[import]: the year for deadlines written without one (12月31日); None = this year."""

    year: int | None = field_default("import.year")


@dataclass(frozen=True)
class EscalationConfig:
    """督办 up the chain: the 责任领导 after `leader_after` overdue workdays, 挂牌督办 in the
    admin group after `admin_after`."""

    leader_after: int = field_default("escalation.leader_after")
    admin_after: int = field_default("escalation.admin_after")


@dataclass(frozen=True)
class ScoringConfig:
    """考核: points per unit and period, capped at 0–100."""

    base: float = field_default("scoring.base")
    overdue_per_workday: float = field_default("scoring.overdue_per_workday")
    missed_report: float = field_default("scoring.missed_report")
    closed_on_time: float = field_default("scoring.closed_on_time")


@dataclass(frozen=True)
class Config:
    # Immutable values from the table; field() only keeps ruff's RUF009 quiet about the calls.
    timezone: ZoneInfo = field(default=field_default("timezone"))
    timezone_name: str = field_default("timezone").key
    language: Language = field(default=field_default("language"))
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    chats: ChatsConfig = field(default_factory=ChatsConfig)
    channels: ChannelsConfig = field(default_factory=ChannelsConfig)
    dingtalk: DingTalkConfig = field(default_factory=DingTalkConfig)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    warning: WarningConfig = field(default_factory=WarningConfig)
    imports: ImportConfig = field(default_factory=ImportConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    bulletin_at: time = field(default=field_default("bulletin.send_at"))
    summary_at: time = field(default=field_default("summary.send_at"))
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    source: Path | None = None

    @property
    def channels_enabled(self) -> tuple[str, ...]:
        """The channels this config can run ("telegram", "dingtalk"), in that order; none:
        the sandbox (`make run` without a token)."""
        return (("telegram",) if self.telegram.token else ()) + (
            ("dingtalk",) if self.dingtalk.enabled else ())

    def redacted_summary(self) -> list[str]:
        """Human-readable lines for the ``check`` command. Never shows a secret."""
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
            f"存储后端 / Store backend: {self.storage.backend}",
            *([f"数据库 / Database: {_set_text(self.storage.dsn)}",
               f"县（schema）/ Tenant (schema): {self.storage.tenant}"]
              if self.storage.postgresql else []),
            f"接收方式 / Updates by: {self.telegram.mode}",
            *([f"Webhook 地址 / Webhook URL: {_redact(self.telegram.webhook_url, token)}",
               "Webhook 监听 / Webhook listens on: "
               f"{self.telegram.webhook_listen[0]}:{self.telegram.webhook_listen[1]}",
               f"Webhook 密钥 / Webhook secret: {_set_text(self.telegram.webhook_secret)}"]
              if self.telegram.webhook else []),
            f"管理员 / Admins: {admins} 人 / user(s)",
            f"管理群 / Admin group: {_chat_text(self.chats.admin_group)}",
            f"工作群 / Work group: {_chat_text(self.chats.work_group)}",
            f"每日发送时间 / Send at: {self.rhythm.send_at.strftime('%H:%M')}",
            f"额外假日 / Extra holidays: {len(self.calendar.extra_holidays)}",
            f"额外调休工作日 / Extra workdays: {len(self.calendar.extra_workdays)}",
            f"Bot API 服务器 / Bot API server: {_redact(base_url, token)}",
            f"令牌 / Token: {token_line}",
            *self._dingtalk_summary(),
        ]

    def _dingtalk_summary(self) -> list[str]:
        ding = self.dingtalk
        prefer = {"last": "最近使用 / last used"}.get(self.channels.prefer, self.channels.prefer)
        lines = [f"渠道 / Channels: {', '.join(self.channels_enabled) or '沙盒 / sandbox'}",
                 f"提醒渠道优先 / Reminders prefer: {prefer}"]
        if not ding.enabled:
            return [*lines, "钉钉 / DingTalk: 未配置 / not configured"]
        secrets = (self.telegram.token, ding.client_secret, ding.webhook_secret)
        return [
            *lines,
            f"钉钉 Client ID / DingTalk client id: {_redact_all(ding.client_id, secrets)}",
            f"钉钉 Client Secret / DingTalk client secret: {_set_text(ding.client_secret)}",
            f"钉钉 RobotCode / DingTalk robot code: {_redact_all(ding.robot_code, secrets)}",
            f"钉钉接口 / DingTalk API: {_redact_all(ding.api_base, secrets)}",
            f"钉钉管理员 / DingTalk admins: {len(self.access.dingtalk_admins)} 人 / user(s)",
            f"钉钉管理群 / DingTalk admin group: {_group_text(ding.admin_group, secrets)}",
            f"钉钉工作群 / DingTalk work group: {_group_text(ding.work_group, secrets)}",
            f"钉钉群 Webhook / DingTalk webhook: {_set_text(ding.webhook)}",
            f"钉钉 Webhook 加签 / DingTalk webhook secret: {_set_text(ding.webhook_secret)}",
        ]


def _set_text(secret: str) -> str:
    return "已设置 / set (hidden)" if secret else "未设置 / not set"


def _group_text(cid: str, secrets: tuple[str, ...]) -> str:
    return _redact_all(cid, secrets) if cid else "未设置 / none"


def _redact_all(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = _redact(text, secret)
    return text


def _chat_text(chat_id: int | None) -> str:
    return "未设置 / none" if chat_id is None else str(chat_id)


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, _MASK) if secret else text


# --------------------------------------------------------------------------- parsing


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    group = _SECTIONS[name]
    table = _check_table(name, data.get(name, {}), secret=any(f.secret for f in group))
    _check_unknown(name, table, tuple(f.name for f in group))
    return table


def _check_calendar(values: Mapping[str, Any]) -> None:
    both = sorted(values["calendar.extra_holidays"] & values["calendar.extra_workdays"])
    if both:
        day = both[0].isoformat()
        raise ConfigError(
            "calendar.extra_workdays",
            f'日期 "{day}" 同时出现在 extra_holidays 和 extra_workdays 中，只能选一个',
            f'date "{day}" is in both extra_holidays and extra_workdays; choose one',
        )


# Checks across the fields of a section, run once the section is read.
_SECTION_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {"calendar": _check_calendar}


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
    env_values = {key: (environ.get(name) or "").strip() for key, name in _ENV_OVERRIDES}
    secrets = list(env_values.values())
    for f in FIELDS:
        table = data.get(f.section) if f.section else data
        if f.secret and isinstance(table, dict) and isinstance(table.get(f.name), str):
            secrets.append(table[f.name].strip())
    secrets = [secret for secret in secrets if secret]
    reset = _SECRETS.set(tuple(secrets))
    try:
        return _build(data, source=source, env=env_values, require_token=require_token)
    except ConfigError as err:
        for secret in secrets:
            err = err.scrubbed(secret)
        raise err.with_path(source) from None
    finally:
        _SECRETS.reset(reset)


# Keys an environment variable overrides (when set and not blank).
_ENV_OVERRIDES = (("telegram.token", ENV_TOKEN),
                  ("telegram.webhook_secret", ENV_WEBHOOK_SECRET),
                  ("storage.dsn", ENV_DATABASE_URL),
                  ("dingtalk.client_secret", ENV_DINGTALK_SECRET),
                  ("dingtalk.webhook_secret", ENV_DINGTALK_WEBHOOK_SECRET))


def _check_dingtalk(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """A [dingtalk] section names all of client_id, client_secret (or the environment
    variable) and robot_code, or none: a partial one is an error naming what is missing.
    The environment's secret alone configures nothing."""
    table = data.get("dingtalk")
    written = [name for name, value in (table.items() if isinstance(table, dict) else ())
               if name != "api_base" and value not in ("", [], 0)]
    missing = [key for key in DINGTALK_REQUIRED if not values[key]]
    if not written or not missing:
        return
    names = ", ".join(key.rpartition(".")[2] for key in missing)
    secret_zh = f"（client_secret 也可用环境变量 {ENV_DINGTALK_SECRET} 提供）" \
        if "dingtalk.client_secret" in missing else ""
    secret_en = f" (client_secret may come from the {ENV_DINGTALK_SECRET} environment " \
        "variable)" if "dingtalk.client_secret" in missing else ""
    raise ConfigError(
        missing[0],
        f"[dingtalk] 小节不完整：缺少 {names}{secret_zh}。请在钉钉开发者后台的应用凭证中"
        "查看，或删除整个 [dingtalk] 小节以不使用钉钉",
        f"the [dingtalk] section is incomplete: {names} missing{secret_en}. Find them under "
        "the app's credentials in the DingTalk developer console, or remove the whole "
        "[dingtalk] section to run without 钉钉",
    )


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _check_webhook(values: Mapping[str, Any]) -> None:
    """Webhook mode needs the public URL and a secret (Telegram sends it with every update, so
    a request without it is not Telegram's)."""
    secret = values["telegram.webhook_secret"]
    if secret and not _WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError("telegram.webhook_secret",
                          "只能由 1–256 个字母、数字、下划线或连字符组成（Telegram 的要求）",
                          "must be 1–256 characters of A–Z, a–z, 0–9, _ and - (Telegram's rule)")
    if values["telegram.mode"] != "webhook":
        return
    if not values["telegram.webhook_url"]:
        raise ConfigError("telegram.webhook_url",
                          "webhook 模式需要 Telegram 推送消息的公网地址，例如 "
                          '"https://luoshi.example.gov.cn/telegram"；或改用 mode = "polling"',
                          "webhook mode needs the public URL Telegram posts to, such as "
                          '"https://luoshi.example.gov.cn/telegram"; or use mode = "polling"')
    if not secret:
        raise ConfigError("telegram.webhook_secret",
                          f"webhook 模式需要密钥：在 [telegram] webhook_secret 或环境变量 "
                          f"{ENV_WEBHOOK_SECRET} 中设置一串随机的字母数字",
                          f"webhook mode needs a secret: set a random string of letters and "
                          f"digits in [telegram] webhook_secret or {ENV_WEBHOOK_SECRET}")


def _check_storage(values: Mapping[str, Any]) -> None:
    if values["storage.backend"] == "postgresql" and not values["storage.dsn"]:
        raise ConfigError("storage.dsn",
                          f"postgresql 后端需要连接串：在 [storage] dsn 或环境变量 "
                          f'{ENV_DATABASE_URL} 中设置，例如 "postgresql://luoshi@127.0.0.1/luoshi"',
                          f"the postgresql backend needs a connection string: set [storage] dsn "
                          f'or {ENV_DATABASE_URL}, such as "postgresql://luoshi@127.0.0.1/luoshi"')


def _build(
    data: Mapping[str, Any], *, source: Path | None, env: Mapping[str, str],
    require_token: bool
) -> Config:
    _check_unknown(None, data, _TOP_KEYS)
    values: dict[str, Any] = {}
    for section, group in _SECTIONS.items():
        table = _section(data, section) if section else data
        for f in group:
            values[f.key] = f.read(table.get(f.name, f.default))
        if section in _SECTION_CHECKS:
            _SECTION_CHECKS[section](values)

    for key, value in env.items():
        if value:
            values[key] = value
    _check_dingtalk(data, values)
    _check_webhook(values)
    _check_storage(values)
    store_dir: Path = values["storage.dir"]
    if not store_dir.is_absolute() and source is not None:
        values["storage.dir"] = source.parent / store_dir

    # Checked last, so that other mistakes in the file are reported first.
    dingtalk = all(values[key] for key in DINGTALK_REQUIRED)
    if require_token and not values["telegram.token"] and not dingtalk:
        raise ConfigError(
            "telegram.token",
            "缺少机器人令牌：请在 Telegram 中向 @BotFather 申请令牌，"
            f"填入 [telegram] token，或设置环境变量 {ENV_TOKEN}"
            "（只用钉钉时，请改为填写 [dingtalk] 小节）",
            "the bot token is missing: get a token from @BotFather in Telegram and put it "
            f"in [telegram] token or the {ENV_TOKEN} environment variable "
            "(to run on 钉钉 alone, fill in the [dingtalk] section instead)",
        )
    return _assemble(values, source)


def _assemble(values: Mapping[str, Any], source: Path | None) -> Config:
    """Config from read values, each placed at its field's ``attr``."""
    top: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for f in FIELDS:
        group, _, attr = f.attr.rpartition(".")
        (groups.setdefault(group, {}) if group else top)[attr] = values[f.key]
    for spec in fields(Config):
        if spec.name in groups and is_dataclass(spec.default_factory):
            top[spec.name] = cast(Callable[..., Any], spec.default_factory)(
                **groups.pop(spec.name))
    if groups:  # a target naming no group of Config: a mistake in FIELDS
        raise AssertionError(f"FIELDS targets unknown Config groups: {sorted(groups)}")
    top["timezone_name"] = top["timezone"].key
    return Config(**top, source=source)


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
