"""[telegram] mode / webhook_* and [storage] backend / dsn / tenant (issue 16): what a province's
operator writes, and the mistakes they get a message for — naming the key and what to do,
never showing the secret or the DSN's password."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, parse_config

TOKEN = {"telegram": {"token": "123:abc"}}


def parse(data: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    merged = {**TOKEN, **data, "telegram": {**TOKEN["telegram"], **data.get("telegram", {})}}
    return parse_config(merged, env=env or {})


def test_the_defaults_are_polling_on_tinydb() -> None:
    config = parse({})
    assert config.telegram.mode == "polling" and not config.telegram.webhook
    assert config.storage.backend == "tinydb" and not config.storage.postgresql
    assert config.telegram.webhook_listen == ("127.0.0.1", 8443)


def test_a_province_worker() -> None:
    config = parse({"telegram": {"mode": "webhook", "webhook_url": "https://bot.example/pingyang",
                                 "webhook_listen": "0.0.0.0:8441"},
                    "storage": {"backend": "postgresql", "tenant": "county_pingyang"}},
                   env={"DATABASE_URL": "postgresql://luoshi:pw@db/luoshi",
                        "TELEGRAM_WEBHOOK_SECRET": "s3cret_-X"})
    assert config.telegram.webhook and config.telegram.webhook_listen == ("0.0.0.0", 8441)
    assert config.telegram.webhook_secret == "s3cret_-X"
    assert config.storage.dsn == "postgresql://luoshi:pw@db/luoshi"
    summary = "\n".join(config.redacted_summary())
    assert "county_pingyang" in summary and "0.0.0.0:8441" in summary
    assert "pw@" not in summary and "s3cret" not in summary
    assert "pw@" not in repr(config) and "s3cret" not in repr(config)


def test_an_ipv6_listen_address() -> None:
    config = parse({"telegram": {"webhook_listen": "[::1]:9000"}})
    assert config.telegram.webhook_listen == ("::1", 9000)


@pytest.mark.parametrize(("data", "key", "says"), [
    ({"telegram": {"mode": "webhook", "webhook_secret": "abc"}}, "telegram.webhook_url",
     "public URL"),
    ({"telegram": {"mode": "webhook", "webhook_url": "https://x.example/t"}},
     "telegram.webhook_secret", "TELEGRAM_WEBHOOK_SECRET"),
    ({"telegram": {"webhook_secret": "has:colon"}}, "telegram.webhook_secret", "Telegram's rule"),
    ({"telegram": {"mode": "hook"}}, "telegram.mode", '"webhook"'),
    ({"telegram": {"webhook_listen": "8443"}}, "telegram.webhook_listen", "host:port"),
    ({"telegram": {"webhook_listen": "host:99999"}}, "telegram.webhook_listen", "host:port"),
    ({"telegram": {"webhook_url": "ftp://x"}}, "telegram.webhook_url", "http"),
    ({"storage": {"backend": "postgresql"}}, "storage.dsn", "DATABASE_URL"),
    ({"storage": {"backend": "mysql"}}, "storage.backend", '"postgresql"'),
    ({"storage": {"tenant": "Pingyang"}}, "storage.tenant", "lowercase"),
    ({"storage": {"tenant": "pg_catalog"}}, "storage.tenant", "pg_"),
    ({"storage": {"tenant": "1county"}}, "storage.tenant", "digit"),
    ({"storage": {"tenant": "a; DROP SCHEMA x"}}, "storage.tenant", "lowercase"),
])
def test_mistakes_name_the_key_and_what_to_do(data: dict[str, Any], key: str,
                                               says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert caught.value.key == key
    assert says in str(caught.value)


def test_a_dsn_in_an_error_is_not_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"storage": {"backend": "postgresql", "dsn": "postgresql://u:topsecret@h/db",
                           "tenant": "Bad"}})
    assert "topsecret" not in str(caught.value)
