"""The sandbox page across a restart, with an invite link, and its layout (issue 14, item 8).

The scripted sandbox of test_sandbox_browser.py, saved with the sandbox's own persistence
(bot/sandbox/persist.py), stopped, and started again on the same port from what was saved:
the page reconnects by itself, and after a reload the history and the clock are still there.
An invite link the bot sent opens inside the page as the identity chosen. Saves
tests/artifacts/sandbox-restart.png (1280 px) and sandbox-restart-phone.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.sandbox.persist import SandboxState
from bot.sandbox.web import SandboxWeb
from tests.browser.test_sandbox_browser import (  # noqa: F401 - driver is a fixture
    ADMIN,
    ARTIFACTS,
    GROUP,
    INVITE_CODE,
    OFFICIAL,
    TZ,
    DemoControl,
    Page,
    ScriptedBot,
    driver,
    make_sandbox,
)

NEWCOMER = 3001  # DemoControl's role "new"
OFFLINE = "无法连接沙盒"


def restart(port: int, store: SandboxState) -> tuple[FakeBotApiServer, ScriptedBot]:
    """A new fake API, control and bot from what was saved, on the same port."""
    holder: list[DemoControl] = []
    api = FakeBotApi(bot_first_name="落实机器人", bot_username="luoshi_sandbox_bot",
                     clock=lambda: holder[0].timestamp())
    resumed = store.restore(api, TZ)
    assert resumed is not None, "nothing was restored"
    holder.append(DemoControl(start=resumed))
    server = FakeBotApiServer(api, port=port, routes=SandboxWeb(api, holder[0]))
    bot = ScriptedBot(api)
    server.start()
    bot.start()
    return server, bot


def rect(page: Page, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " height: r.height};", selector)
    return box


def check_layout(page: Page, width: int, height: int) -> None:
    page.driver.set_window_size(width, height)
    page.until(lambda: page.driver.execute_script("return window.innerWidth") <= width,
               f"the window at {width} px")
    inner = page.driver.execute_script("return [window.innerWidth, window.innerHeight]")
    items = page.driver.execute_script(
        "return [...document.querySelectorAll('.topbar button, .topbar select, .clock')]"
        ".filter(e => e.offsetParent !== null).map(e => {"
        " const r = e.getBoundingClientRect();"
        " return [e.textContent.trim(), r.right, e.scrollWidth > e.clientWidth + 1]; })")
    assert items, "no top bar controls"
    for text, right, clipped in items:
        assert right <= inner[0] - 4, f"{text!r} touches the right edge at {width} px"
        assert not clipped, f"{text!r} is cut off at {width} px"
    bar = rect(page, ".topbar")
    messages = rect(page, '[data-testid="messages"]')
    if width >= 1024:
        assert bar["height"] <= 50, bar  # one line
    else:
        assert bar["height"] <= 80, bar
        assert messages["top"] <= inner[1] * 0.2, (messages, inner)  # the chat keeps the screen


def test_restart_invite_and_layout(driver: Any, tmp_path: Path) -> None:  # noqa: F811
    server, bot, control = make_sandbox()
    server.start()
    bot.start()
    store = SandboxState(tmp_path)
    page = Page(driver)
    try:
        driver.get(server.url + "/")
        # The first visit explains the roles and the clock buttons, once.
        guide = page.css('[data-testid="guide-dialog"]')
        page.until(lambda: guide.is_displayed(), "the first-visit guide")
        for words in ("管理员", "责任人", "责任领导", "新用户", "立即调度", "发送通报",
                      "今日小结", "时钟不动", "下一个工作日", "重置沙盒"):
            assert words in guide.text, words
        page.dismiss_guide()

        # An official's day: a message, an answer, the clock moved.
        page.choose_identity(OFFICIAL)
        page.send("/tasks")
        page.bot_message("待办任务（2 项）")
        page.css('[data-testid="clock-next-workday"]').click()
        toast = page.toast("时钟已拨到")
        clock = page.css('[data-testid="clock"]')
        page.until(lambda: clock.text.startswith("12月2日（周三）08:3"), "the clock to move")
        # The toast has its own strip: it covers no message.
        assert rect(page, '[data-testid="toast"]')["top"] >= rect(
            page, '[data-testid="messages"]')["bottom"] - 1, toast.text

        # The sandbox stops (saved as the runtime's saver does on stop).
        bot.stop()
        store.save(server.api, control.now())
        port = server.port
        server.stop()
        banner = page.css('[data-testid="banner"]')
        page.until(lambda: banner.is_displayed(), "the disconnect banner")
        assert rect(page, '[data-testid="banner"]')["top"] >= rect(page, ".topbar")["bottom"] - 1
        assert clock.is_displayed() and page.css('[data-testid="identity-select"]').is_displayed()
        page.css('[data-testid="clock-dispatch"]').click()
        error = page.toast(OFFLINE)
        assert "Failed" not in error.text and "fetch" not in error.text

        # Started again from what was saved: the page reconnects, nothing is lost.
        server, bot = restart(port, store)
        page.until(lambda: not banner.is_displayed(), "the banner to go")
        driver.refresh()
        page.choose_identity(OFFICIAL)
        page.bot_message("待办任务（2 项）")
        mine = page.all('[data-testid="message"]:not([data-from-bot="true"])')
        assert mine and mine[0].text.startswith("/tasks")
        page.until(lambda: page.css('[data-testid="clock"]').text.startswith(
            "12月2日（周三）08:3"), "the clock as it was left")
        assert not page.css('[data-testid="guide-dialog"]').is_displayed()  # seen already

        # The admin invites someone; the link opens here, as the identity chosen.
        page.choose_identity(ADMIN)
        assert [c.get_attribute("data-chat-id") for c in page.all(
            '[data-testid="chat-item"]')] == [str(ADMIN), str(GROUP)]
        page.send("/invite 新同志")
        invitation = page.bot_message("已生成邀请链接")
        invitation.find_element("css selector", 'a[href*="t.me/"]').click()
        dialog = page.css('[data-testid="invite-dialog"]')
        page.until(lambda: dialog.is_displayed(), "the invite dialog")
        assert page.css('[data-testid="invite-command"]').text == f"/start {INVITE_CODE}"
        chosen = page.css('[data-testid="invite-identity"]')
        assert chosen.get_attribute("value") == str(NEWCOMER)  # a new account unless chosen
        page.css('[data-testid="invite-open"]').click()
        page.until(lambda: page.css(
            f'[data-testid="chat-item"][data-chat-id="{NEWCOMER}"].active'), "the new chat")
        assert page.css('[data-testid="identity-select"]').get_attribute("value") == str(
            NEWCOMER)
        page.bot_message("绑定成功")
        sent = page.all('[data-testid="message"]:not([data-from-bot="true"])')
        assert sent[-1].text.startswith(f"/start {INVITE_CODE}")
        assert len(driver.window_handles) == 1  # no dead t.me tab

        # The top bar fits a 1280 px screen and a phone.
        check_layout(page, 1280, 800)
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "sandbox-restart.png"))
        check_layout(page, 390, 844)
        driver.save_screenshot(str(ARTIFACTS / "sandbox-restart-phone.png"))
        assert bot.errors == []
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
                  and "Failed to load resource" not in e.get("message", "")]
        assert severe == []
    finally:
        bot.stop()
        server.stop()
