"""The real sandbox: `make run` without a token → one line, the page, the real bot behind it.

Driven over the page's own HTTP API, and in Debian's chromium through the page itself. With a
token, `run --or-sandbox` runs the bot and never the sandbox."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.sandbox import demo
from tests.browser.test_sandbox_browser import ARTIFACTS, Page, driver  # noqa: F401 - a fixture
from tests.conftest import ADMIN
from tests.support.harness import TOKEN

pytestmark = pytest.mark.slow

OFFICIAL = 2001  # 张伟, 世忻铁路复线保德段征地拆迁 (overdue in the demo ledger)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / "config.toml"
        config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--or-sandbox",
             "--port", str(self.port)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline()
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sandbox exited: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            try:
                state = self.get("/api/state")
            except OSError:
                state = {}
            if len(state.get("identities", [])) > 2:  # the bot has started and seeded
                return
            try:  # wait on the process itself: returns at once if it dies
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        raise AssertionError("the sandbox did not come up")

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=130) as response:
            return json.loads(response.read())

    def wait_message(self, user: int, contains: str, *, chat: int | None = None,
                     since: int = 0) -> dict[str, Any]:
        cursor = since
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            answer = self.get(f"/api/messages?user={user}&chat={chat or user}&since={cursor}"
                              f"&wait=5")
            for message in answer["messages"]:
                if message["from"]["is_bot"] and contains in (message.get("text") or ""):
                    return message
            cursor = answer.get("cursor", cursor)
        raise AssertionError(f"no bot message with {contains!r} for {user}")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    try:
        yield box
    finally:
        box.stop()


def test_make_run_without_token_starts_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    assert sandbox.first_line.strip().startswith("落实沙盒已启动")
    assert f"http://127.0.0.1:{sandbox.port}" in sandbox.first_line
    state = sandbox.get("/api/state")
    roles = {i["role"] for i in state["identities"]}
    assert roles == {"admin", "leader", "official", "new"}
    assert (tmp_path / "data-sandbox").is_dir() and not (tmp_path / "data").exists()
    # The admin asks for the ledger; the bot answers through the same HTTP code path.
    sandbox.post("/api/send", {"user": demo.ADMIN_ID, "chat": demo.ADMIN_ID, "text": "/tasks"})
    listing = sandbox.wait_message(demo.ADMIN_ID, "在办任务")
    assert "世忻铁路复线" in listing["text"] and "中医院迁建项目一期工程" in listing["text"]
    # An official replies to the morning's reminder, then presses ✅ 已完成.
    reminder = sandbox.wait_message(OFFICIAL, "世忻铁路复线")
    sandbox.post("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "进度80%，还差两户",
                               "reply_to": reminder["message_id"]})
    recorded = sandbox.wait_message(OFFICIAL, "进度 80%", since=reminder["seq"])
    done = next(b["data"] for row in reminder["buttons"] for b in row if "done" in b["data"])
    sandbox.post("/api/press", {"user": OFFICIAL, "chat": OFFICIAL,
                                "message_id": reminder["message_id"], "data": done})
    sandbox.wait_message(OFFICIAL, "已交账", since=recorded["seq"])
    sandbox.wait_message(demo.ADMIN_ID, "【交账】", chat=demo.GROUP_ID)
    # The clock panel moves the sandbox's time and runs the day's rhythm.
    before = sandbox.get("/api/state")["now"]
    moved = sandbox.post("/api/clock", {"action": "next_workday"})
    assert moved["now"] > before and "调度提醒" in moved["result"]


def test_sandbox_never_runs_with_a_real_token(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telegram]\ntoken = "123:real"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "sandbox"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "sandbox never runs" in result.stderr


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_or_sandbox_bot")
    api.add_user(ADMIN, "王主任")
    with FakeBotApiServer(api) as srv:
        srv.start()
        yield srv


def test_run_or_sandbox_with_a_token_runs_the_bot_not_the_sandbox(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    config = tmp_path / "config.toml"
    config.write_text(f"""
[telegram]
token = "{TOKEN}"
base_url = "{server.base_url}"
base_file_url = "{server.base_file_url}"
[storage]
dir = "data"
[access]
admins = [{ADMIN}]
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--or-sandbox",
             "--port", "0"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            # The bot polls the configured server: it registered its menu and asks for updates.
            try:
                api.wait_until(lambda: bool(api.calls_of("setMyCommands"))
                               and bool(api.calls_of("getUpdates")), timeout=30)
            except TimeoutError:
                pytest.fail("the bot never polled the configured server:\n"
                            + log.read_text(encoding="utf-8", errors="replace"))
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            # And it answers there, as the bot (not a sandbox with its own token).
            api.start_chat(ADMIN)
            start = len(api.sent)
            api.send_text(ADMIN, "/tasks")
            api.wait_for(lambda m: m["chat"]["id"] == ADMIN, timeout=15, start=start)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "落实沙盒已启动" not in output
    assert not (tmp_path / "data-sandbox").exists()
    assert (tmp_path / "data").is_dir()


def test_the_page_with_the_real_bot(driver: Any, sandbox: Sandbox) -> None:  # noqa: F811
    page = Page(driver, timeout=20)
    driver.get(sandbox.url + "/")
    page.choose_identity(demo.ADMIN_ID)
    page.send("/tasks")
    page.bot_message("在办任务")
    page.choose_identity(OFFICIAL)
    reminder = page.bot_message("世忻铁路复线")
    reminder.find_element("css selector", '[data-testid="message-bubble"]').click()
    page.send("进度70%，正在协调最后两户")
    page.bot_message("进度 70%")
    reminder = page.bot_message("世忻铁路复线")
    button = next(b for b in reminder.find_elements("css selector", '[data-testid="inline-button"]')
                  if "已完成" in b.text)
    button.click()
    page.bot_message("已交账")
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "sandbox-real-bot.png"))
