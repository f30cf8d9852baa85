"""The sandbox web page in a real browser (Selenium + Debian's headless chromium).

The page talks to `SandboxWeb` on a real `FakeBotApiServer`; the "bot" is `ScriptedBot`, a thread
that long-polls the fake Bot API and answers a few things (/tasks with inline buttons, replies,
button presses with a callback answer), so this test doesn't need the real bot or the sandbox
runtime. Skipped when chromium/chromedriver/selenium are missing, unless CI is set (then it
fails: `.ci/browser.sh` installs them). Saves tests/artifacts/sandbox.png (phone width) and
tests/artifacts/sandbox-desktop.png.

Try the page by hand with the same scripted bot (no Telegram, no real bot):

    .venv/bin/python -m tests.browser.test_sandbox_browser [port]
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.sandbox.control import ACTIONS, Identity, SandboxControl
from bot.sandbox.web import SandboxWeb

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # tests/artifacts
TZ = ZoneInfo("Asia/Shanghai")

ADMIN = 1001
LEADER = 1002
OFFICIAL = 2001
GROUP = -1001234567890


# --------------------------------------------------------------------------- the fake sandbox


class DemoControl(SandboxControl):
    """A stand-in for the sandbox runtime: fixed identities and a running clock (starting on
    Tuesday 2026-12-01 09:00) that the "下一个工作日" button moves forward."""

    def __init__(self, start: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)) -> None:
        self._start = start
        self._offset = start.timestamp() - time.time()
        self.actions: list[str] = []
        self._lock = threading.Lock()

    def identities(self) -> list[Identity]:
        return [
            Identity(ADMIN, "王主任", "admin"),
            Identity(LEADER, "陈县长", "leader", "县政府"),
            Identity(OFFICIAL, "李四", "official", "住建局"),
            Identity(2002, "张伟", "official", "住建局"),
            Identity(2003, "赵六", "official", "教育局"),
            Identity(3001, "新同志", "new"),
        ]

    def admin_group(self) -> tuple[int, str]:
        return GROUP, "落实管理群"

    def timestamp(self) -> float:
        """The sandbox clock as a Unix time (the fake Bot API's clock: message dates)."""
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), TZ)

    def run_action(self, action: str, timeout: float = 120.0) -> str:
        if action not in ACTIONS:
            raise ValueError(action)
        self.actions.append(action)
        if action in ("next_workday", "next_day"):
            day = self.now().date() + timedelta(days=1)
            while action == "next_workday" and day.weekday() >= 5:
                day += timedelta(days=1)
            target = datetime(day.year, day.month, day.day, 8, 30, tzinfo=TZ)
            with self._lock:
                self._offset = target.timestamp() - time.time()
            return f"时钟已拨到 {target:%m-%d %H:%M}"
        texts = {"dispatch": "已调度 2 条提醒", "bulletin": "通报已发送", "summary": "小结已发送"}
        return texts.get(action, "已完成")

    def reset(self, timeout: float = 120.0) -> str:
        """The clock back to the start (the page's chats are the fake Bot API's)."""
        with self._lock:
            self._offset = self._start.timestamp() - time.time()
        self.actions.append("reset")
        return "沙盒已重置"


TASKS_TEXT = (
    "<b>待办任务（2 项）</b>\n"
    "1. 老旧小区改造 — <i>12月5日前</i>\n"
    "2. 防汛物资清点 — <i>12月8日前</i>\n"
    "回复本条消息可说明进展。"
)
TASKS_KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "✅ 办结 #1", "callback_data": "done:1"},
            {"text": "⏳ 延期 #1", "callback_data": "delay:1"},
        ],
        [{"text": "🆘 遇到困难", "callback_data": "help:1"}],
    ]
}


INVITE_CODE = "Inv1te_42"
TASKS_KEYBOARD_REST = [{"text": "🆘 遇到困难", "callback_data": "help:1"}]


class ScriptedBot(threading.Thread):
    """A tiny bot that long-polls the fake Bot API directly (api.call) and follows a script."""

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(name="scripted-bot", daemon=True)
        self.api = api
        self.stopping = threading.Event()
        self.errors: list[str] = []

    def call(self, method: str, **params: Any) -> Any:
        status, answer = self.api.call(method, params)
        if status != 200:
            self.errors.append(f"{method}: {answer}")
            return None
        return answer["result"]

    def run(self) -> None:
        offset = 0
        while not self.stopping.is_set():
            updates = self.call("getUpdates", offset=offset, timeout=0.5) or []
            for update in updates:
                offset = update["update_id"] + 1
                try:
                    self.handle(update)
                except Exception as exc:  # keep the bot alive; the test checks `errors`
                    self.errors.append(repr(exc))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)

    def handle(self, update: dict[str, Any]) -> None:
        if "message" in update:
            message = update["message"]
            chat = message["chat"]["id"]
            text = message.get("text", "")
            if text.startswith("/invite"):
                link = f"https://t.me/{self.api.bot_username}?start={INVITE_CODE}"
                self.call("sendMessage", chat_id=chat,
                          text=f"已生成邀请链接（7 天内有效）：\n{link}\n请转发给本人。")
            elif text == f"/start {INVITE_CODE}":
                self.call("sendMessage", chat_id=chat, text="绑定成功：欢迎，新同志！")
            elif text.startswith("/tasks"):
                self.call(
                    "sendMessage",
                    chat_id=chat,
                    text=TASKS_TEXT,
                    parse_mode="HTML",
                    reply_markup=json.dumps(TASKS_KEYBOARD),
                )
            elif message.get("reply_to_message"):
                self.call(
                    "sendMessage",
                    chat_id=chat,
                    text=f"已记录进展：<b>{text}</b>",
                    parse_mode="HTML",
                    reply_parameters=json.dumps({"message_id": message["message_id"]}),
                )
            elif "document" in message:
                name = message["document"].get("file_name", "")
                self.call("sendMessage", chat_id=chat, text=f"已收到文件 {name}")
            else:
                self.call("sendMessage", chat_id=chat, text="发送 /tasks 查看待办任务")
        elif "callback_query" in update:
            query = update["callback_query"]
            data = query["data"]
            chat = query["message"]["chat"]["id"]
            if data.startswith("done:"):
                self.call("answerCallbackQuery", callback_query_id=query["id"], text="已办结 ✅")
                self.call(
                    "editMessageText",
                    chat_id=chat,
                    message_id=query["message"]["message_id"],
                    text=query["message"]["text"] + "\n\n✅ 任务 #1 已办结",
                    reply_markup=json.dumps({"inline_keyboard": [TASKS_KEYBOARD_REST]}),
                )
            elif data.startswith("delay:"):
                self.call("answerCallbackQuery", callback_query_id=query["id"])
                self.call(
                    "sendMessage",
                    chat_id=chat,
                    text="请回复延期原因和新的完成日期：",
                    reply_markup=json.dumps(
                        {"force_reply": True, "input_field_placeholder": "延期原因"}
                    ),
                )
            else:
                self.call(
                    "answerCallbackQuery",
                    callback_query_id=query["id"],
                    text="已通知牵头领导协调",
                    show_alert=True,
                )


def make_sandbox(port: int = 0) -> tuple[FakeBotApiServer, ScriptedBot, DemoControl]:
    control = DemoControl()
    api = FakeBotApi(
        bot_first_name="落实机器人", bot_username="luoshi_sandbox_bot", clock=control.timestamp
    )
    api.add_group(GROUP, "落实管理群")
    server = FakeBotApiServer(api, port=port, routes=SandboxWeb(api, control))
    bot = ScriptedBot(api)
    return server, bot, control


# --------------------------------------------------------------------------- the browser


def _browser_missing() -> str | None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing:
        return f"{' and '.join(missing)} not installed (bash .ci/browser.sh installs them)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test can't run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium-manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=390,844",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(
        service=Service(executable_path=CHROMEDRIVER), options=options
    )
    browser.set_window_size(390, 844)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def sandbox() -> Iterator[tuple[FakeBotApiServer, ScriptedBot, DemoControl]]:
    server, bot, control = make_sandbox()
    server.start()
    bot.start()
    try:
        yield server, bot, control
    finally:
        bot.stop()
        server.stop()


class Page:
    """Small helpers over the page's data-testid hooks."""

    def __init__(self, driver: Any, timeout: float = 8.0) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.wait = WebDriverWait(driver, timeout, poll_frequency=0.05)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def until(self, condition: Callable[[], Any], what: str) -> Any:
        def check(_driver: Any) -> Any:
            try:
                return condition()
            except Exception:  # stale or not yet rendered elements: try again
                return None

        try:
            return self.wait.until(check)
        except Exception as exc:
            raise AssertionError(f"timed out waiting for {what}") from exc

    def dismiss_guide(self) -> None:
        """Close the first-visit guide if it shows (it covers the page until closed)."""
        guide = self.all('[data-testid="guide-dialog"]')
        if guide and guide[0].is_displayed():
            self.css('[data-testid="guide-close"]').click()
            self.until(lambda: not guide[0].is_displayed(), "the guide to close")

    def choose_identity(self, user_id: int) -> None:
        from selenium.webdriver.support.ui import Select

        self.until(lambda: self.css("#clock-label").text != "…", "the page to load")
        self.dismiss_guide()
        self.until(
            lambda: self.all(f'[data-testid="identity-select"] option[value="{user_id}"]'),
            "the identity picker",
        )
        Select(self.css('[data-testid="identity-select"]')).select_by_value(str(user_id))
        self.until(
            lambda: self.css(f'[data-testid="chat-item"][data-chat-id="{user_id}"].active'),
            "the private chat to open",
        )

    def messages(self) -> list[Any]:
        return self.all('[data-testid="message"]')

    def bot_message(self, contains: str) -> Any:
        def find() -> Any:
            for row in self.all('[data-testid="message"][data-from-bot="true"]'):
                if contains in row.text:
                    return row
            return None

        return self.until(find, f"a bot message with {contains!r}")

    def send(self, text: str, *, enter: bool = True) -> None:
        from selenium.webdriver.common.keys import Keys

        box = self.css('[data-testid="message-input"]')
        box.send_keys(text)
        if enter:
            box.send_keys(Keys.ENTER)
        else:
            self.css('[data-testid="send-button"]').click()
        self.until(lambda: box.get_attribute("value") == "", "the input to clear")

    def toast(self, contains: str) -> Any:
        def find() -> Any:
            for node in self.all('[data-testid="toast"]'):
                if contains in node.text:
                    return node
            return None

        return self.until(find, f"a toast with {contains!r}")


def test_chat_in_the_browser(
    driver: Any, sandbox: tuple[FakeBotApiServer, ScriptedBot, DemoControl]
) -> None:
    server, bot, control = sandbox
    page = Page(driver)
    driver.get(server.url + "/")

    # The picker: admins, leaders, officials by unit, new users.
    page.until(lambda: page.all("optgroup"), "the identity picker")
    groups = [g.get_attribute("label") for g in page.all("optgroup")]
    assert groups == ["管理员", "领导", "住建局", "教育局", "新用户"]
    assert page.css('[data-testid="clock"]').text.startswith("12月1日（周二）09:0")

    # The admin: two chats; /tasks gets the bot's answer with inline buttons.
    page.choose_identity(ADMIN)
    chats = page.all('[data-testid="chat-item"]')
    assert [c.get_attribute("data-chat-id") for c in chats] == [str(ADMIN), str(GROUP)]
    assert "落实机器人" in chats[0].text and "落实管理群" in chats[1].text
    page.send("/tasks")
    answer = page.bot_message("待办任务（2 项）")
    assert answer.find_element("css selector", ".text b").text == "待办任务（2 项）"
    assert len(answer.find_elements("css selector", '[data-testid="inline-button"]')) == 3
    mine = page.all('[data-testid="message"]:not([data-from-bot="true"])')
    assert mine and mine[0].text.startswith("/tasks")

    # The admin group opens and shows who is who.
    page.css(f'[data-testid="chat-item"][data-chat-id="{GROUP}"]').click()
    # (On a phone the chat list names the open chat; the header gives its room back.)
    page.until(
        lambda: page.css(f'[data-testid="chat-item"][data-chat-id="{GROUP}"].active')
        and page.css('[data-testid="chat-title"]').get_attribute("textContent") == "落实管理群",
        "the group to open",
    )

    # An official: only the private chat; reply to the bot's message by tapping it.
    page.choose_identity(OFFICIAL)
    assert len(page.all('[data-testid="chat-item"]')) == 1
    assert page.messages() == []
    page.send("/tasks", enter=False)
    card = page.bot_message("待办任务（2 项）")
    card_id = card.get_attribute("data-message-id")
    card.find_element("css selector", '[data-testid="message-bubble"]').click()
    reply_bar = page.css('[data-testid="reply-bar"]')
    page.until(lambda: reply_bar.is_displayed(), "the reply bar")
    assert reply_bar.text.startswith("回复：落实机器人：待办任务（2 项）")
    page.send("正在推进，预计周五完成")
    page.until(lambda: not reply_bar.is_displayed(), "the reply bar to close")
    echo = page.bot_message("已记录进展：正在推进，预计周五完成")
    assert echo.find_element("css selector", ".text b").text == "正在推进，预计周五完成"
    quoted = page.all(
        '[data-testid="message"]:not([data-from-bot="true"]) [data-testid="reply-quote"]'
    )
    assert quoted and "待办任务" in quoted[-1].text

    # The ✕ cancels a reply.
    echo.find_element("css selector", '[data-testid="message-bubble"]').click()
    page.until(lambda: reply_bar.is_displayed(), "the reply bar")
    page.css('[data-testid="reply-cancel"]').click()
    page.until(lambda: not reply_bar.is_displayed(), "the reply bar to close")

    # Press an inline button: the callback answer shows as a toast, the card is edited.
    card = page.css(f'[data-testid="message"][data-message-id="{card_id}"]')
    done = next(
        b for b in card.find_elements("css selector", '[data-testid="inline-button"]')
        if b.text == "✅ 办结 #1"
    )
    done.click()
    page.toast("已办结 ✅")
    page.bot_message("✅ 任务 #1 已办结")

    # A ForceReply prompt sets the reply target by itself; an alert answer shows a dialog.
    card = page.css(f'[data-testid="message"][data-message-id="{card_id}"]')
    buttons = card.find_elements("css selector", '[data-testid="inline-button"]')
    assert [b.text for b in buttons] == ["🆘 遇到困难"]
    buttons[0].click()
    alert = page.css('[data-testid="alert-dialog"]')
    page.until(lambda: alert.is_displayed(), "the alert dialog")
    assert page.css('[data-testid="alert-text"]').text == "已通知牵头领导协调"
    page.css('[data-testid="alert-ok"]').click()
    page.until(lambda: not alert.is_displayed(), "the alert to close")
    page.send("/tasks")
    page.until(lambda: len(page.all('[data-testid="inline-button"]')) == 4, "a second card")
    delay = next(b for b in page.all('[data-testid="inline-button"]') if b.text == "⏳ 延期 #1")
    delay.click()
    page.bot_message("请回复延期原因")
    page.until(
        lambda: "请回复延期原因" in page.css('[data-testid="reply-bar"]').text,
        "the ForceReply prompt to become the reply target",
    )
    assert page.css('[data-testid="message-input"]').get_attribute("placeholder") == "延期原因"

    # The clock buttons run sandbox actions.
    page.css('[data-testid="clock-next-workday"]').click()
    page.toast("时钟已拨到")
    page.until(
        lambda: page.css('[data-testid="clock"]').text.startswith("12月2日（周三）08:3"),
        "the clock to move",
    )
    assert control.actions == ["next_workday"]

    # Back to the reply bar state for the picture; no errors in the page or the bot.
    assert bot.errors == []
    severe = [
        entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"
    ]
    assert severe == []

    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "sandbox.png"))
    driver.set_window_size(1200, 800)
    page.until(lambda: page.css('[data-testid="chat-list"]').size["width"] < 400, "desktop layout")
    driver.save_screenshot(str(ARTIFACTS / "sandbox-desktop.png"))


# --------------------------------------------------------------------------- by hand


def main() -> None:
    """Serve the page with the scripted bot:
    `python -m tests.browser.test_sandbox_browser [port]`."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    server, bot, _control = make_sandbox(port)
    server.start()
    bot.start()
    print(f"sandbox page (scripted bot): {server.url}/  - Ctrl+C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        bot.stop()
        server.stop()


if __name__ == "__main__":
    main()
