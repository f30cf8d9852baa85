"""End to end: the real `python -m bot` process against the fake Bot API over HTTP.

Admin /add, /invite, official /start <code>, /tasks, /remind; then SIGKILL and restart:
everything the bot confirmed is still there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.fakeapi import FakeBotApi, FakeBotApiServer
from tests.conftest import ADMIN, ZHANG

pytestmark = pytest.mark.slow

TOKEN = "987654:E2E-secret-token"
OFFICIAL = ZHANG  # 张三


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_e2e_bot")
    api.add_user(ADMIN, "王主任")
    api.add_user(OFFICIAL, "张三")
    with FakeBotApiServer(api) as srv:
        srv.start()
        yield srv


def write_config(tmp_path: Path, server: FakeBotApiServer) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
timezone = "Asia/Shanghai"
[telegram]
token = "{TOKEN}"
base_url = "{server.base_url}"
base_file_url = "{server.base_file_url}"
[storage]
dir = "data"
[access]
admins = [{ADMIN}]
""",
        encoding="utf-8",
    )
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}


class BotProcess:
    def __init__(self, config: Path, api: FakeBotApi, log: Path) -> None:
        self.api = api
        self.log = log
        env = _env()
        menus_before = len(api.calls_of("setMyCommands"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            cwd=config.parent, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        # Started = post_init ran (the journal was replayed before it; polling follows, and
        # updates sent from now on are queued for its first getUpdates).
        api.wait_until(lambda: len(api.calls_of("setMyCommands")) > menus_before, timeout=30)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def ask(api: FakeBotApi, user: int, text: str, expect: str, timeout: float = 15) -> dict[str, Any]:
    start = len(api.sent)
    api.send_text(user, text)
    return api.wait_for(lambda m: m["chat"]["id"] == user and expect in m.get("text", ""),
                        timeout=timeout, start=start)


def test_bot_process_end_to_end_survives_sigkill(tmp_path: Path,
                                                 server: FakeBotApiServer) -> None:
    api = server.api
    config = write_config(tmp_path, server)
    log = tmp_path / "bot.log"
    bot = BotProcess(config, api, log)
    try:
        assert api.commands, "the command menu is registered at start-up"
        ask(api, ADMIN, "/add 世忻铁路复线保德段征地 | 县自然资源局 | 张三 | 2026-12-31", "T0001")
        invite = ask(api, ADMIN, "/invite 张三 县自然资源局", "start=")
        code = re.search(r"start=([\w-]+)", invite["text"]).group(1)  # type: ignore[union-attr]
        ask(api, OFFICIAL, f"/start {code}", "绑定成功")
        ask(api, OFFICIAL, "/tasks", "T0001")
        start = len(api.sent)
        ask(api, ADMIN, "/remind T0001", "已催办")
        reminder = api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL and "催办" in m["text"],
                                start=start)
        assert "T0001" in reminder["text"]
        ask(api, ADMIN, "/add 中医院迁建项目一期工程 | 县卫健局 | 张三 | 2027-06-30", "T0002")
        # Read-only commands work while the bot runs (it holds the writer's lock).
        plan = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "plan",
             "--from", "2026-12-01", "--to", "2026-12-02", "--json"],
            capture_output=True, text=True, timeout=60, env=_env())
        assert plan.returncode == 0, plan.stderr
        assert plan.stdout.splitlines() == [
            '{"date": "2026-12-01", "task": "T0001", "kind": "xun", "to": ["张三"]}',
        ]
        bot.kill()  # right after the last confirmation

        bot = BotProcess(config, api, log)
        listing = ask(api, OFFICIAL, "/tasks", "T0002")["text"]
        assert "T0001" in listing and "世忻铁路复线保德段征地" in listing
        detail = ask(api, ADMIN, "/task T0001", "催办")["text"]
        assert "建账" in detail
        ask(api, ADMIN, "/add 职业中学新校区 | 县教育局 | 李四 | 长期", "T0003")
    finally:
        bot.kill()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert TOKEN not in text and TOKEN.split(":")[1] not in text, "the token must never be logged"


def test_bad_config_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[rhythm]\nsend_at = "25:00"\n[telegram]\ntoken = "x"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(path)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BOT_TOKEN": ""})
    assert result.returncode == 2
    assert "rhythm.send_at" in result.stderr


def test_missing_token_points_to_botfather(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[access]\nadmins = [1]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(path), "run"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr


def test_help_lists_subcommands() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True,
                            text=True, timeout=60, cwd="/")
    assert result.returncode == 0
    assert "run" in result.stdout and "check" in result.stdout


def test_check_summarises_config_and_store(tmp_path: Path, server: FakeBotApiServer) -> None:
    config = write_config(tmp_path, server)
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and TOKEN not in result.stdout


def test_damaged_store_refuses_to_start(tmp_path: Path, server: FakeBotApiServer) -> None:
    config = write_config(tmp_path, server)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ledger.json").write_text("{not json", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "run"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "ledger.json" in result.stderr


def test_plan_rejects_bad_dates(tmp_path: Path, server: FakeBotApiServer) -> None:
    config = write_config(tmp_path, server)
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "plan",
                             "--from", "2026-12-31", "--to", "2026-12-01"],
                            capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 2 and "--from" in result.stderr


def test_plan_table_without_token(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[storage]\ndir = \"data\"\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(path), "plan",
                             "--from", "2026-12-01", "--to", "2026-12-31"],
                            capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 0, result.stderr
    assert "0 reminders" in result.stdout
