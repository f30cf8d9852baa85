"""The sandbox with a 钉钉 identity, over its HTTP API (issue 15, item 7): the real sandbox
runtime (bot/sandbox/runtime.py) in a thread — the bot on both channels against the fake Bot
API and the in-process fake 钉钉 — and the page's routes (bot/sandbox/web.py,
bot/sandbox/dingtalk_web.py). 吴敏 of the demo ledger is on 钉钉 only: after 立即调度 his
reminder is on 钉钉, "进度60%" typed on the page sets his task's progress, a button works, and
Telegram's identities and 今日小结 still work beside it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from bot.fakeapi import FakeBotApiServer
from bot.sandbox import demo
from bot.sandbox.runtime import (
    LiveSandbox,
    MovableClock,
    _new_api,
    _run_once,
    new_dingtalk,
    sandbox_config,
)
from bot.sandbox.web import SandboxWeb

TASK = "中医院迁建项目一期工程"  # 吴敏's, overdue: reminded every workday


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[FakeBotApiServer, LiveSandbox]]:
    config = parse_config({"storage": {"dir": str(tmp_path / "data")}}, require_token=False)
    clock = MovableClock(config.timezone)
    api = _new_api(clock)
    dingtalk = new_dingtalk(clock).start()
    control = LiveSandbox(api, clock, dingtalk)
    server = FakeBotApiServer(api, port=0, routes=SandboxWeb(api, control, poll_timeout=1.0))
    config = sandbox_config(config, server, dingtalk)
    server.start()
    thread = threading.Thread(target=_run_once, args=(config, control), daemon=True)
    thread.start()
    try:
        assert control.ready.wait(60), "the sandbox did not start"
        yield server, control
    finally:
        loop, stop = control.loop, control.stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        server.stop()
        dingtalk.stop()
    assert not thread.is_alive()


def call(server: FakeBotApiServer, path: str, payload: Any = None) -> tuple[int, Any]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(server.url + path, data=data,
                                     method="POST" if data is not None else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=130) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def chat(server: FakeBotApiServer, user: int) -> list[dict[str, Any]]:
    status, answer = call(server, f"/api/dingtalk/messages?user={user}")
    assert status == 200, answer
    messages: list[dict[str, Any]] = answer["messages"]
    return messages


def wait_for(server: FakeBotApiServer, control: LiveSandbox, user: int, text: str,
             after: int = 0, timeout: float = 20.0) -> dict[str, Any]:
    """The robot's last message to `user` (on the page, after the first `after`) containing
    `text`, once the fake 钉钉 has it: the wait is on the fake's record of sends, never a
    sleep."""

    def found() -> list[dict[str, Any]]:
        return [m for m in chat(server, user)[after:] if m["from_bot"] and text in m["html"]]

    assert control.dingtalk is not None
    control.dingtalk.wait_until(found, what=f"the robot's {text!r} to {user}", timeout=timeout)
    return found()[-1]


def progress(control: LiveSandbox) -> int | None:
    assert control.services is not None
    task = next(t for t in control.services.ledger.repo.tasks() if t.title == TASK)
    return task.progress


def test_a_dingtalk_identity_is_reminded_reports_and_presses(
        sandbox: tuple[FakeBotApiServer, LiveSandbox]) -> None:
    server, control = sandbox
    status, state = call(server, "/api/state")
    assert status == 200
    by_name: dict[str, list[dict[str, Any]]] = {}
    for identity in state["identities"]:
        by_name.setdefault(identity["name"], []).append(identity)
    assert [i["channel"] for i in by_name["吴敏"]] == ["dingtalk"]
    assert sorted(i["channel"] for i in by_name["李娜"]) == ["dingtalk", "telegram"]
    assert [i["channel"] for i in by_name["张伟"]] == ["telegram"]
    liu = by_name["吴敏"][0]["user_id"]
    # The Telegram routes refuse a 钉钉 identity; the 钉钉 routes refuse a Telegram one.
    assert call(server, f"/api/messages?user={liu}&since=0&wait=0")[0] == 403
    assert call(server, f"/api/dingtalk/messages?user={demo.OFFICIALS[0][2]}")[0] == 403

    status, answer = call(server, "/api/clock", {"action": "dispatch"})
    assert status == 200, answer
    reminder = wait_for(server, control, liu, TASK)
    assert reminder["buttons"], reminder
    dtmd = "dtmd://dingtalkclient/sendMessage"
    assert all(b["url"].startswith(dtmd) for b in reminder["buttons"])
    # Telegram's officials got theirs on Telegram, side by side.
    assert control.api.chat_history(demo.OFFICIALS[0][2], since=0)

    before = len(chat(server, liu))
    status, answer = call(server, "/api/dingtalk/send", {"user": liu, "text": "进度60%"})
    assert status == 200, answer
    mine = chat(server, liu)[before]
    assert not mine["from_bot"] and mine["html"] == "进度60%"
    wait_for(server, control, liu, "60", after=before + 1)
    assert progress(control) == 60  # recorded before it was confirmed

    # A button the robot sent: pressed, its text comes back to the bot and it answers.
    url = reminder["buttons"][0]["url"]
    before = len(chat(server, liu))
    status, answer = call(server, "/api/dingtalk/press", {"user": liu, "url": url})
    assert status == 200, answer
    wait_for(server, control, liu, "", after=before)  # the bot answers the press
    pressed = chat(server, liu)[before]
    assert not pressed["from_bot"], pressed
    # A URL the robot never sent is refused.
    bad = {"user": liu, "url": "dtmd://dingtalkclient/sendMessage?content=%2Fstart"}
    assert call(server, "/api/dingtalk/press", bad)[0] == 400

    status, answer = call(server, "/api/clock", {"action": "summary"})
    assert status == 200, answer
