"""bot.config.FIELDS is the one declaration of every config key: config.example.toml, the
Config dataclasses' defaults and RhythmDispatcher's defaults all agree with it."""

from __future__ import annotations

import inspect
import re
import tomllib
from dataclasses import replace
from typing import Any

import pytest

from bot.config import (
    FIELDS,
    Config,
    ConfigError,
    EscalationConfig,
    StorageConfig,
    field_default,
    load_config,
    parse_config,
)
from jobs.dispatch import RhythmDispatcher
from tests.conftest import ROOT

EXAMPLE = ROOT / "config.example.toml"
BY_KEY = {f.key: f for f in FIELDS}


_SECTION_LINE = re.compile(r"^(?:# )?\[([a-z_]+)\]\s*$")
_COMMENTED_KEY = re.compile(r"^# ([a-z_]+) = ")


def example_text(*, uncomment: bool = False) -> str:
    """config.example.toml; with `uncomment`, its commented-out keys (`# key = value` of the
    fields marked `commented`, and their `# [section]` headers) made live."""
    text = EXAMPLE.read_text(encoding="utf-8")
    if not uncomment:
        return text
    commented = {f.key for f in FIELDS if f.commented}
    sections = {f.section for f in FIELDS}
    lines, section = [], ""
    for line in text.splitlines():
        header = _SECTION_LINE.match(line)
        if header and header.group(1) in sections:
            section = header.group(1)
            line = line.removeprefix("# ")
        key = _COMMENTED_KEY.match(line)
        if key and f"{section}.{key.group(1)}" in commented:
            line = line.removeprefix("# ")
        lines.append(line)
    return "\n".join(lines)


def example_values(*, uncomment: bool = False) -> dict[str, Any]:
    """Every key written in config.example.toml, dotted, with its TOML value (with
    `uncomment`, the commented-out ones too)."""
    data = tomllib.loads(example_text(uncomment=uncomment))
    values: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            values.update({f"{name}.{key}": item for key, item in value.items()})
        else:
            values[name] = value
    return values


def table_as_toml() -> dict[str, Any]:
    """The table's defaults as a parsed TOML document."""
    data: dict[str, Any] = {}
    for f in FIELDS:
        (data.setdefault(f.section, {}) if f.section else data)[f.name] = f.default
    return data


def test_keys_are_unique_and_described() -> None:
    assert len(BY_KEY) == len(FIELDS)
    for f in FIELDS:
        assert f.zh.strip() and f.en.strip(), f.key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in f.zh), f.key
        if f.high is not None:
            assert f.low is not None and f.low <= f.high, f.key


def test_example_keys_are_known_fields_with_the_default_values() -> None:
    """The example's header says omitted keys take the values shown: so they are the defaults
    (the commented-out ones too)."""
    for key, value in example_values(uncomment=True).items():
        assert key in BY_KEY, f"config.example.toml has {key}, which FIELDS does not declare"
        try:
            read = BY_KEY[key].read(value)
        except ConfigError as err:  # pragma: no cover - the message is the diagnosis
            pytest.fail(f"config.example.toml: {err}")
        assert read == field_default(key), key


def test_every_field_is_in_the_example_unless_deliberately_omitted() -> None:
    written = set(example_values())
    wanted = {f.key for f in FIELDS if f.in_example and not f.commented}
    assert wanted - written == set(), "missing from config.example.toml"
    assert written - wanted == set(), "in the example but undeclared, or marked in_example=False"


def test_commented_fields_are_documented_commented_out() -> None:
    """The 钉钉 keys are in the example as `# key = default` lines (under `# [dingtalk]`),
    with their description; made live they are the defaults, and the config still loads."""
    live = set(example_values(uncomment=True)) - set(example_values())
    assert live == {f.key for f in FIELDS if f.commented and f.in_example}
    assert "# [dingtalk]" in example_text()
    data = tomllib.loads(example_text(uncomment=True))
    assert parse_config(data, env={}, require_token=False) == Config()


def test_secrets_in_the_example_are_empty() -> None:
    values = example_values()
    for f in FIELDS:
        if f.secret and f.key in values:
            assert values[f.key] == "", f.key


def test_table_defaults_load_without_a_token_in_the_sandbox_case() -> None:
    # `make run` without config.toml or token: the sandbox parses an empty config.
    assert parse_config({}, env={}, require_token=False) == Config()
    assert parse_config(table_as_toml(), env={}, require_token=False) == Config()
    # The bot proper still wants a token, and that is the only thing missing.
    with pytest.raises(ConfigError) as info:
        parse_config(table_as_toml(), env={})
    assert info.value.key == "telegram.token"


def test_example_file_loads_as_the_defaults_without_a_token() -> None:
    config = load_config(EXAMPLE, env={}, require_token=False)
    expected = replace(Config(), source=EXAMPLE,
                       storage=replace(StorageConfig(), dir=EXAMPLE.parent / "data"))
    assert config == expected


def test_config_attributes_are_exactly_the_fields() -> None:
    config = Config()
    leaves: set[str] = set()
    for name, value in vars(config).items():
        if hasattr(value, "__dataclass_fields__"):
            leaves.update(f"{name}.{attr}" for attr in value.__dataclass_fields__)
        else:
            leaves.add(name)
    derived = {"timezone_name", "source"}  # the zone's name; the file read
    assert leaves - derived == {f.attr for f in FIELDS}
    for f in FIELDS:
        group, _, attr = f.attr.rpartition(".")
        holder = getattr(config, group) if group else config
        assert getattr(holder, attr) == field_default(f.key), f.key


def test_secret_values_never_show() -> None:
    marker = "777_SecretMarkerValue"  # valid for every secret (a webhook secret has no ':')
    data = table_as_toml()
    for f in FIELDS:
        if f.secret:
            (data.setdefault(f.section, {}) if f.section else data)[f.name] = marker
    data["dingtalk"].update(client_id="ding-id", robot_code="ding-robot",
                            webhook=f"https://oapi.dingtalk.com/robot/send?access_token={marker}")
    data["telegram"].update(mode="webhook", webhook_url="https://luoshi.example/telegram")
    data["storage"].update(backend="postgresql")
    config = parse_config(data, env={})
    assert config.telegram.webhook and config.storage.postgresql
    assert config.dingtalk.enabled
    assert marker not in repr(config)
    assert marker not in "\n".join(config.redacted_summary())


def test_dispatcher_defaults_are_the_tables() -> None:
    parameters = inspect.signature(RhythmDispatcher).parameters
    escalation = EscalationConfig()
    assert parameters["leader_after"].default == escalation.leader_after
    assert parameters["admin_after"].default == escalation.admin_after
