"""The real sandbox (`python -m bot run --or-sandbox`) stopped and started again keeps its chats,
its clock and its update numbering; 重置沙盒 starts it over (issue 14, item 8). Over the page's
own HTTP API; marked slow like every test that starts the bot as a process."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import demo
from bot.sandbox.persist import STATE_NAME
from tests.process.test_sandbox_e2e import OFFICIAL, Sandbox

pytestmark = pytest.mark.slow


def stop_gracefully(box: Sandbox) -> None:
    box.proc.send_signal(signal.SIGTERM)
    box.proc.wait(timeout=30)


def day(answer: dict[str, Any]) -> str:
    """The date of a clock label ("12月7日（周一）09:00" → "12月7日（周一）"): the clock runs."""
    return str(answer["now_label"]).split("）")[0]


def post(box: Sandbox, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(box.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=130) as response:
        return response.status, json.loads(response.read())


def test_restart_keeps_chats_and_clock_and_reset_starts_over(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    try:
        box.post("/api/send", {"user": demo.ADMIN_ID, "chat": demo.ADMIN_ID, "text": "/tasks"})
        box.wait_message(demo.ADMIN_ID, "在办任务")
        moved = box.post("/api/clock", {"action": "next_workday"})
        reminder = box.wait_message(OFFICIAL, "世忻铁路复线", since=1)
        summary = box.post("/api/clock", {"action": "summary"})
        assert day(summary) == day(moved)  # 今日小结 leaves the clock alone
        before = box.get(f"/api/messages?user={OFFICIAL}&chat={OFFICIAL}&since=0&wait=0")
    finally:
        stop_gracefully(box)
    assert (tmp_path / "data-sandbox" / STATE_NAME).is_file()

    again = Sandbox(tmp_path)
    try:
        state = again.get("/api/state")
        assert day(state) == day(moved)  # the clock where it was left
        after = again.get(f"/api/messages?user={OFFICIAL}&chat={OFFICIAL}&since=0&wait=0")
        assert [m["text"] for m in after["messages"]] == [m["text"] for m in before["messages"]]
        assert after["cursor"] >= before["cursor"]
        ids = [i["user_id"] for i in state["identities"]]
        assert len(ids) == len(set(ids))
        # The reminder from before the restart is answered as if nothing happened.
        again.post("/api/send", {"user": OFFICIAL, "chat": OFFICIAL, "text": "进度90%",
                                 "reply_to": reminder["message_id"]})
        again.wait_message(OFFICIAL, "进度 90%", since=before["cursor"])

        status, reset = post(again, "/api/reset", {})
        assert status == 200 and reset["result"].startswith("沙盒已重置")
        fresh = again.get(f"/api/messages?user={demo.ADMIN_ID}&chat={demo.ADMIN_ID}"
                          f"&since=0&wait=0")
        assert all("/tasks" not in (m.get("text") or "") for m in fresh["messages"])
        assert fresh["cursor"] < after["cursor"]
        again.post("/api/send", {"user": demo.ADMIN_ID, "chat": demo.ADMIN_ID,
                                 "text": "/tasks"})
        again.wait_message(demo.ADMIN_ID, "在办任务")  # the bot runs again after the reset
    finally:
        stop_gracefully(again)
    log = (tmp_path / "data-sandbox" / "sandbox.log").read_text(encoding="utf-8")
    assert "sandbox resumed at" in log
