"""[dingtalk], [access] dingtalk_admins and [channels] prefer (issue 15): a complete section
runs 钉钉 (then no Telegram token is needed), a partial one names what is missing, secrets
never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config

SECRET = "dingSecretValue-0123456789abcdef"
WEBHOOK = "https://oapi.dingtalk.com/robot/send?access_token=hookTokenValue987"
HOOK_SECRET = "SECwebhookSecretValue555"
FULL = f"""
[dingtalk]
client_id = "dingabc123"
client_secret = "{SECRET}"
robot_code = "dingabc123"
admin_group = "cidAdminGroup=="
webhook = "{WEBHOOK}"
webhook_secret = "{HOOK_SECRET}"
"""


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None,
         require_token: bool = True) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env=env or {}, require_token=require_token)


def error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    return info.value


def test_a_complete_section_runs_dingtalk_without_a_telegram_token(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    assert config.dingtalk.enabled
    assert config.channels_enabled == ("dingtalk",)
    assert config.dingtalk.api_base == "https://api.dingtalk.com"
    assert config.dingtalk.admin_group == "cidAdminGroup=="
    assert config.dingtalk.work_group == ""
    assert config.channels.prefer == "last"


def test_both_channels_and_neither(tmp_path: Path) -> None:
    both = load(tmp_path, '[telegram]\ntoken = "1:x"\n' + FULL)
    assert both.channels_enabled == ("telegram", "dingtalk")
    neither = load(tmp_path, "", require_token=False)  # make run: the sandbox
    assert neither.channels_enabled == ()
    assert not neither.dingtalk.enabled
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "")
    assert info.value.key == "telegram.token"
    assert "[dingtalk]" in str(info.value)


def test_the_environment_gives_the_secrets(tmp_path: Path) -> None:
    text = '[dingtalk]\nclient_id = "a"\nrobot_code = "a"\n'
    config = load(tmp_path, text, {"DINGTALK_CLIENT_SECRET": " env-secret ",
                                   "DINGTALK_WEBHOOK_SECRET": "env-hook"})
    assert config.dingtalk.enabled
    assert config.dingtalk.client_secret == "env-secret"
    assert config.dingtalk.webhook_secret == "env-hook"
    overridden = load(tmp_path, FULL, {"DINGTALK_CLIENT_SECRET": "wins"})
    assert overridden.dingtalk.client_secret == "wins"


def test_the_environment_secret_alone_configures_nothing(tmp_path: Path) -> None:
    config = load(tmp_path, "", {"DINGTALK_CLIENT_SECRET": "x"}, require_token=False)
    assert not config.dingtalk.enabled
    assert config.channels_enabled == ()


def test_a_partial_section_names_what_is_missing(tmp_path: Path) -> None:
    err = error(tmp_path, '[dingtalk]\nclient_id = "dingabc"\n')
    assert err.key == "dingtalk.client_secret"
    message = str(err)
    assert "client_secret, robot_code" in message
    assert "缺少" in message and "missing" in message
    assert "DINGTALK_CLIENT_SECRET" in message
    err = error(tmp_path, f'[dingtalk]\nclient_secret = "{SECRET}"\nrobot_code = "r"\n')
    assert err.key == "dingtalk.client_id"
    assert SECRET not in str(err)
    err = error(tmp_path, '[dingtalk]\nadmin_group = "cid1"\n')
    assert err.key == "dingtalk.client_id"
    assert "client_id, client_secret, robot_code" in str(err)


def test_a_section_with_only_the_api_base_is_not_partial(tmp_path: Path) -> None:
    config = load(tmp_path, '[dingtalk]\napi_base = "http://127.0.0.1:9000"\n',
                  require_token=False)
    assert not config.dingtalk.enabled
    assert config.dingtalk.api_base == "http://127.0.0.1:9000"


def test_values_are_checked(tmp_path: Path) -> None:
    err = error(tmp_path, FULL.replace('admin_group = "cidAdminGroup=="', "admin_group = 5"))
    assert err.key == "dingtalk.admin_group"
    err = error(tmp_path, FULL + 'api_base = "api.dingtalk.com"\n')
    assert err.key == "dingtalk.api_base"
    err = error(tmp_path, '[channels]\nprefer = "wechat"\n' + FULL)
    assert err.key == "channels.prefer"
    assert '"dingtalk"' in str(err)


def test_dingtalk_admins_are_userid_strings(tmp_path: Path) -> None:
    config = load(tmp_path, '[access]\ndingtalk_admins = ["manager4220", " m2 "]\n' + FULL)
    assert config.access.dingtalk_admins == frozenset({"manager4220", "m2"})
    err = error(tmp_path, "[access]\ndingtalk_admins = [4220]\n" + FULL)
    assert err.key == "access.dingtalk_admins"
    assert "请加引号" in str(err) and "quotes" in str(err)
    err = error(tmp_path, '[access]\ndingtalk_admins = [""]\n' + FULL)
    assert err.key == "access.dingtalk_admins"
    err = error(tmp_path, '[access]\ndingtalk_admins = "manager4220"\n' + FULL)
    assert err.key == "access.dingtalk_admins"


def test_prefer_choices(tmp_path: Path) -> None:
    for choice in ("last", "telegram", "dingtalk"):
        config = load(tmp_path, f'[channels]\nprefer = "{choice}"\n' + FULL)
        assert config.channels.prefer == choice


def test_secrets_never_show(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    shown = "\n".join(config.redacted_summary()) + repr(config)
    for secret in (SECRET, "hookTokenValue987", HOOK_SECRET):
        assert secret not in shown
    summary = "\n".join(config.redacted_summary())
    assert "DingTalk client secret: 已设置 / set" in summary
    assert "DingTalk webhook: 已设置 / set" in summary
    assert "cidAdminGroup==" in summary
    assert "Channels: dingtalk" in summary


def test_a_secret_in_a_misplaced_value_is_masked(tmp_path: Path) -> None:
    # A secret pasted where a list belongs shows in no message.
    err = error(tmp_path, FULL + f'[access]\ndingtalk_admins = "{SECRET}"\n')
    assert err.key == "access.dingtalk_admins"
    assert SECRET not in str(err)
    assert "***" in str(err)


def test_summary_without_dingtalk(tmp_path: Path) -> None:
    config = load(tmp_path, "", require_token=False)
    summary = "\n".join(config.redacted_summary())
    assert "DingTalk: 未配置 / not configured" in summary
    assert "Channels: 沙盒 / sandbox" in summary
