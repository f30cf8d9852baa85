"""Tests for bot.config: loading, defaults, overrides and validation errors."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.config import (
    Config,
    ConfigError,
    load_config,
    parse_config,
    resolve_config_path,
)
from tests.conftest import ROOT

EXAMPLE = ROOT / "config.example.toml"
TOKEN = "123456789:AAFakeTokenValue_ForTests-XYZ"
ENV = {"BOT_TOKEN": TOKEN}


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, **kwargs: object) -> Config:
    kwargs.setdefault("env", ENV)
    return load_config(write(tmp_path, text), **kwargs)  # type: ignore[arg-type]


def error_for(tmp_path: Path, text: str, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text, **kwargs)
    return info.value


# --------------------------------------------------------------------------- loading


def test_example_file_loads() -> None:
    config = load_config(EXAMPLE, env={"BOT_TOKEN": "x"})
    assert config.telegram.token == "x"
    assert config.timezone_name == "Asia/Shanghai"
    assert config.language == "zh"
    assert config.storage.dir == EXAMPLE.parent / "data"
    assert config.source == EXAMPLE


def test_example_file_mentions_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in (
        "timezone",
        "language",
        "[telegram]",
        "token",
        "base_url",
        "base_file_url",
        "[storage]",
        "dir",
        "keep_backups",
        "snapshot_every",
        "[access]",
        "admins",
        "[chats]",
        "admin_group",
        "work_group",
        "[rhythm]",
        "send_at",
        "[calendar]",
        "extra_holidays",
        "extra_workdays",
    ):
        assert key in text
    assert 'token = ""' in text


def test_example_file_requires_token_without_env() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, env={})
    assert info.value.key == "telegram.token"


def test_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, "")
    assert config.timezone.key == "Asia/Shanghai"
    assert config.timezone_name == "Asia/Shanghai"
    assert config.language == "zh"
    assert config.telegram.token == TOKEN
    assert config.telegram.base_url == ""
    assert config.telegram.base_file_url == ""
    assert config.storage.dir == tmp_path / "data"
    assert config.storage.keep_backups == 14
    assert config.storage.snapshot_every == 2000
    assert config.access.admins == frozenset()
    assert config.chats.admin_group is None
    assert config.chats.work_group is None
    assert config.rhythm.send_at == time(9, 0)
    assert config.calendar.extra_holidays == frozenset()
    assert config.calendar.extra_workdays == frozenset()
    assert config.source == tmp_path / "config.toml"


def test_default_dataclasses_constructible() -> None:
    config = Config()
    assert config.timezone_name == "Asia/Shanghai"
    assert config.rhythm.send_at == time(9, 0)
    assert config.source is None


def test_full_config(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
timezone = "Asia/Urumqi"
language = "en"
[telegram]
token = "file-token"
base_url = "http://127.0.0.1:8081/bot"
base_file_url = "https://example.org/file/bot"
[storage]
dir = "/srv/luoshi"
keep_backups = 3
snapshot_every = 1
[access]
admins = [111, 222, 111]
[chats]
admin_group = -1001234567890
work_group = -42
[rhythm]
send_at = "18:05"
[calendar]
extra_holidays = ["2025-10-08", 2025-10-09]
extra_workdays = ["2025-09-28"]
""",
        env={},
    )
    assert config.timezone.key == "Asia/Urumqi"
    assert config.language == "en"
    assert config.telegram.token == "file-token"
    assert config.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert config.telegram.base_file_url == "https://example.org/file/bot"
    assert config.storage.dir == Path("/srv/luoshi")
    assert config.storage.keep_backups == 3
    assert config.storage.snapshot_every == 1
    assert config.access.admins == frozenset({111, 222})
    assert config.access.is_admin(111)
    assert not config.access.is_admin(333)
    assert config.chats.admin_group == -1001234567890
    assert config.chats.work_group == -42
    assert config.rhythm.send_at == time(18, 5)
    assert config.calendar.extra_holidays == {date(2025, 10, 8), date(2025, 10, 9)}
    assert config.calendar.extra_workdays == {date(2025, 9, 28)}


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_text(tmp_path, "")
    with pytest.raises(AttributeError):
        config.language = "en"  # type: ignore[misc]


def test_native_toml_time_accepted(tmp_path: Path) -> None:
    config = load_text(tmp_path, "[rhythm]\nsend_at = 07:30:00\n")
    assert config.rhythm.send_at == time(7, 30)


def test_utf8_bom_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('\ufefflanguage = "en"\n'.encode())
    assert load_config(path, env=ENV).language == "en"


# --------------------------------------------------------------------------- token / env


def test_env_token_overrides_file(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[telegram]\ntoken = "from-file"\n', env={"BOT_TOKEN": "env"})
    assert config.telegram.token == "env"


def test_file_token_used_without_env(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[telegram]\ntoken = " from-file "\n', env={})
    assert config.telegram.token == "from-file"


def test_empty_env_token_does_not_override(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[telegram]\ntoken = "from-file"\n', env={"BOT_TOKEN": "  "})
    assert config.telegram.token == "from-file"


def test_missing_token(tmp_path: Path) -> None:
    err = error_for(tmp_path, "", env={})
    assert err.key == "telegram.token"
    message = str(err)
    assert "telegram.token" in message
    assert "@BotFather" in message
    assert "BOT_TOKEN" in message
    assert "[telegram] token" in message
    assert str(tmp_path / "config.toml") in message


def test_missing_token_allowed_when_not_required(tmp_path: Path) -> None:
    config = load_text(tmp_path, "", env={}, require_token=False)
    assert config.telegram.token == ""
    assert not config.telegram.has_token


def test_bot_config_env_resolution(tmp_path: Path) -> None:
    path = write(tmp_path, 'language = "en"\n', name="custom.toml")
    config = load_config(env={"BOT_CONFIG": str(path), "BOT_TOKEN": "x"})
    assert config.language == "en"
    assert config.source == path


def test_explicit_path_beats_bot_config(tmp_path: Path) -> None:
    explicit = write(tmp_path, 'language = "en"\n', name="explicit.toml")
    other = write(tmp_path, 'language = "zh"\n', name="other.toml")
    config = load_config(explicit, env={"BOT_CONFIG": str(other), "BOT_TOKEN": "x"})
    assert config.language == "en"


def test_default_path_is_cwd_config_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, 'language = "en"\n')
    assert resolve_config_path(env={}) == tmp_path / "config.toml"
    assert load_config(env={"BOT_TOKEN": "x"}).language == "en"


# --------------------------------------------------------------------------- file problems


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing, env=ENV)
    message = str(info.value)
    assert str(missing) in message
    assert "config.example.toml" in message
    assert "config.toml" in message


def test_invalid_toml_reports_line_and_column(tmp_path: Path) -> None:
    err = error_for(tmp_path, 'language = "zh"\n[rhythm]\nsend_at = = "09:00"\n')
    message = str(err)
    assert "line 3" in message
    assert "第 3 行" in message
    assert "column" in message
    assert str(tmp_path / "config.toml") in message


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('language = "中文"'.encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert "UTF-8" in str(info.value)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # unknown keys at every level
        ("colour = 1\n", "colour"),
        ("[telegram]\ntokn = 'x'\n", "telegram.tokn"),
        ("[storage]\ndirectory = 'x'\n", "storage.directory"),
        ("[access]\nadmin = [1]\n", "access.admin"),
        ("[chats]\nadmin_grop = 1\n", "chats.admin_grop"),
        ("[rhythm]\nsend = '09:00'\n", "rhythm.send"),
        ("[calendar]\nholidays = []\n", "calendar.holidays"),
        ("[storage.extra]\nx = 1\n", "storage.extra"),
        # sections of the wrong type
        ("telegram = 'x'\n", "telegram"),
        ("storage = 1\n", "storage"),
        # time zone
        ("timezone = 'Mars/Olympus'\n", "timezone"),
        ("timezone = ''\n", "timezone"),
        ("timezone = '../etc/passwd'\n", "timezone"),
        ("timezone = 8\n", "timezone"),
        # language
        ("language = 'fr'\n", "language"),
        ("language = 1\n", "language"),
        # urls
        ("[telegram]\nbase_url = '127.0.0.1:8081/bot'\n", "telegram.base_url"),
        ("[telegram]\nbase_file_url = 'ftp://x/file/bot'\n", "telegram.base_file_url"),
        ("[telegram]\nbase_url = 1\n", "telegram.base_url"),
        # storage
        ("[storage]\ndir = ''\n", "storage.dir"),
        ("[storage]\ndir = 5\n", "storage.dir"),
        ("[storage]\nkeep_backups = 0\n", "storage.keep_backups"),
        ("[storage]\nkeep_backups = '14'\n", "storage.keep_backups"),
        ("[storage]\nkeep_backups = true\n", "storage.keep_backups"),
        ("[storage]\nkeep_backups = 1.5\n", "storage.keep_backups"),
        ("[storage]\nsnapshot_every = 0\n", "storage.snapshot_every"),
        ("[storage]\nsnapshot_every = -5\n", "storage.snapshot_every"),
        # admins
        ("[access]\nadmins = ['12345']\n", "access.admins"),
        ("[access]\nadmins = [12345.0]\n", "access.admins"),
        ("[access]\nadmins = [true]\n", "access.admins"),
        ("[access]\nadmins = 12345\n", "access.admins"),
        ("[access]\nadmins = [-1001234]\n", "access.admins"),
        # chats
        ("[chats]\nadmin_group = '-100123'\n", "chats.admin_group"),
        ("[chats]\nwork_group = 1.0\n", "chats.work_group"),
        ("[chats]\nwork_group = false\n", "chats.work_group"),
        # send_at
        ("[rhythm]\nsend_at = '25:00'\n", "rhythm.send_at"),
        ("[rhythm]\nsend_at = '09:60'\n", "rhythm.send_at"),
        ("[rhythm]\nsend_at = '9am'\n", "rhythm.send_at"),
        ("[rhythm]\nsend_at = '09:00:00'\n", "rhythm.send_at"),
        ("[rhythm]\nsend_at = 900\n", "rhythm.send_at"),
        ("[rhythm]\nsend_at = 09:00:30\n", "rhythm.send_at"),
        # calendar dates
        ("[calendar]\nextra_holidays = ['2025-02-30']\n", "calendar.extra_holidays"),
        ("[calendar]\nextra_holidays = ['2025/10/08']\n", "calendar.extra_holidays"),
        ("[calendar]\nextra_holidays = ['2025-1-8']\n", "calendar.extra_holidays"),
        ("[calendar]\nextra_holidays = [20251008]\n", "calendar.extra_holidays"),
        ("[calendar]\nextra_holidays = '2025-10-08'\n", "calendar.extra_holidays"),
        ("[calendar]\nextra_workdays = [2025-10-08T09:00:00]\n", "calendar.extra_workdays"),
        (
            "[calendar]\nextra_holidays = ['2025-10-08']\nextra_workdays = ['2025-10-08']\n",
            "calendar.extra_workdays",
        ),
    ],
)
def test_bad_values(tmp_path: Path, text: str, key: str) -> None:
    err = error_for(tmp_path, text)
    assert err.key == key
    message = str(err)
    assert f"[{key}]" in message
    assert f"配置错误 [{key}]:" in message
    assert f"Config error [{key}]:" in message
    assert str(tmp_path / "config.toml") in message
    assert TOKEN not in message


def test_send_at_message_format(tmp_path: Path) -> None:
    err = error_for(tmp_path, '[rhythm]\nsend_at = "25:00"\n')
    lines = str(err).splitlines()
    assert lines[0] == (
        '配置错误 [rhythm.send_at]: 应为 HH:MM 格式的时间，例如 "09:00"，实际为 "25:00"'
    )
    assert lines[1] == (
        'Config error [rhythm.send_at]: expected a time HH:MM such as "09:00", got "25:00"'
    )


def test_send_at_single_digit_hour_and_bounds(tmp_path: Path) -> None:
    assert load_text(tmp_path, "[rhythm]\nsend_at = '7:05'\n").rhythm.send_at == time(7, 5)
    assert load_text(tmp_path, "[rhythm]\nsend_at = '00:00'\n").rhythm.send_at == time(0, 0)
    assert load_text(tmp_path, "[rhythm]\nsend_at = '23:59'\n").rhythm.send_at == time(23, 59)


def test_unknown_key_lists_valid_keys(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[storage]\ndirectory = 'x'\n")
    message = str(err)
    assert "directory" in message
    for valid in ("dir", "keep_backups", "snapshot_every"):
        assert valid in message


def test_unknown_top_level_key_lists_sections(tmp_path: Path) -> None:
    message = str(error_for(tmp_path, "timzone = 'UTC'\n"))
    for valid in ("timezone", "language", "telegram", "calendar"):
        assert valid in message


def test_string_admin_id_hints_quotes(tmp_path: Path) -> None:
    message = str(error_for(tmp_path, "[access]\nadmins = [1, '12345']\n"))
    assert "access.admins" in message
    assert '"12345"' in message
    assert "item 2" in message
    assert "quotes" in message


def test_bool_is_not_int(tmp_path: Path) -> None:
    message = str(error_for(tmp_path, "[storage]\nkeep_backups = true\n"))
    assert "boolean" in message
    assert "布尔值" in message


def test_zero_chat_is_none_and_negative_allowed(tmp_path: Path) -> None:
    config = load_text(tmp_path, "[chats]\nadmin_group = 0\nwork_group = -100\n")
    assert config.chats.admin_group is None
    assert config.chats.work_group == -100


# --------------------------------------------------------------------------- token secrecy


def test_token_never_in_errors(tmp_path: Path) -> None:
    secret = "987654321:SuperSecretTokenValue"
    cases = [
        f'[telegram]\ntoken = "{secret}"\nbase_url = "{secret}"\n',
        f'[telegram]\ntoken = "{secret}"\n[rhythm]\nsend_at = "{secret}"\n',
        f'[telegram]\ntoken = "{secret}"\n[access]\nadmins = ["{secret}"]\n',
        # a long value that would be truncated in the middle of the token
        f'[telegram]\ntoken = "{secret}"\nbase_url = "ftp://host.example.org/bot{secret}"\n',
        f'[telegram]\ntoken = "{secret}"\ntimezone_x = 1\n',
    ]
    for text in cases:
        for env in ({}, {"BOT_TOKEN": secret}):
            err = error_for(tmp_path, text, env=env)
            assert secret not in str(err)
            assert secret not in err.zh
            assert secret not in err.en
            assert secret[:20] not in str(err)
    # a token given only through the environment is masked too
    err = error_for(tmp_path, f'language = "{secret}"\n', env={"BOT_TOKEN": secret})
    assert secret not in str(err)
    assert secret[:20] not in str(err)


def test_misplaced_token_as_telegram_value_hidden(tmp_path: Path) -> None:
    err = error_for(tmp_path, 'telegram = "555:HiddenTokenValue"\n', env={})
    assert err.key == "telegram"
    assert "HiddenTokenValue" not in str(err)


def test_non_string_token_value_hidden(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[telegram]\ntoken = 98765432123\n")
    assert err.key == "telegram.token"
    assert "98765432123" not in str(err)


def test_token_never_in_summary_or_repr(tmp_path: Path) -> None:
    config = load_text(
        tmp_path, "[access]\nadmins = [1, 2]\n[chats]\nadmin_group = -100\n", env=ENV
    )
    summary = config.redacted_summary()
    joined = "\n".join(summary)
    assert TOKEN not in joined
    assert TOKEN[-4:] not in joined
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert "Asia/Shanghai" in joined
    assert "zh" in joined
    assert str(tmp_path / "data") in joined
    assert "Admins: 2" in joined
    assert "-100" in joined
    assert "09:00" in joined
    assert "set" in joined


def test_summary_without_token(tmp_path: Path) -> None:
    config = load_text(tmp_path, "", env={}, require_token=False)
    joined = "\n".join(config.redacted_summary())
    assert "not set" in joined


# --------------------------------------------------------------------------- storage dir


def test_relative_storage_dir_resolved_against_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "luoshi"
    folder.mkdir(parents=True)
    path = write(folder, '[storage]\ndir = "state/ledger"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path, env=ENV)
    assert config.storage.dir == folder / "state" / "ledger"
    assert config.storage.dir.is_absolute()


def test_relative_config_path_gives_absolute_storage_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("config.toml"), env=ENV)
    assert config.storage.dir == tmp_path / "data"
    assert config.source == tmp_path / "config.toml"


def test_absolute_storage_dir_kept(tmp_path: Path) -> None:
    target = tmp_path / "abs"
    config = load_text(tmp_path, f'[storage]\ndir = "{target.as_posix()}"\n')
    assert config.storage.dir == target


def test_parse_config_without_source() -> None:
    config = parse_config({"storage": {"dir": "rel"}}, env={}, require_token=False)
    assert config.storage.dir == Path("rel")
    assert config.source is None


def test_other_errors_reported_before_missing_token(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[rhythm]\nsend_at = '25:00'\n", env={})
    assert err.key == "rhythm.send_at"


def test_duplicate_key_is_a_toml_error(tmp_path: Path) -> None:
    err = error_for(tmp_path, "language = 'zh'\nlanguage = 'en'\n")
    assert err.key is None
    assert "TOML" in str(err)
