"""End to end through the real process: reminder → reply → 交账 → 退回 → 交账 → 核账 → 销账,
with the bot SIGKILLed right after each confirmation and the stored ledger checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.model import Task, TaskStatus
from bot.fakeapi import FakeBotApiServer
from tests.process.test_e2e import ADMIN, OFFICIAL, BotProcess, ask, server, write_config

__all__ = ["server"]  # the fixture, shared with test_e2e

pytestmark = pytest.mark.slow


def stored(tmp_path: Path, task_id: str) -> Task:
    """What is on disk, read as a second process would."""
    store = DocStore.open(tmp_path / "data", writable=False)
    try:
        task = StoreRepository(store).get_task(task_id)
        assert task is not None
        return task
    finally:
        store.close()


def test_closed_loop_survives_sigkill_after_every_confirmation(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    config = write_config(tmp_path, server)
    log = tmp_path / "bot.log"

    def restart(bot: BotProcess) -> BotProcess:
        bot.kill()
        return BotProcess(config, api, log)

    bot = BotProcess(config, api, log)
    try:
        ask(api, ADMIN, "/add 吉港冠宇水泥技改 | 县工信局 | 张三 | 2027-03-31", "T0001")
        invite = ask(api, ADMIN, "/invite 张三 县工信局", "start=")
        code = re.search(r"start=([\w-]+)", invite["text"]).group(1)  # type: ignore[union-attr]
        ask(api, OFFICIAL, f"/start {code}", "绑定成功")
        start = len(api.sent)
        ask(api, ADMIN, "/remind T0001", "已催办")
        reminder = api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL and "T0001" in m["text"]
                                and bool(m.get("reply_markup")), start=start)

        start = len(api.sent)
        api.send_text(OFFICIAL, "进度60%，设备已进场", reply_to=reminder)
        api.wait_for(lambda m: "进度 60%" in m["text"], start=start)
        bot = restart(bot)
        assert stored(tmp_path, "T0001").progress == 60

        start = len(api.sent)
        api.send_text(OFFICIAL, "已全部完成", reply_to=reminder)
        api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL and "已交账" in m["text"], start=start)
        submission = api.wait_for(lambda m: m["chat"]["id"] == ADMIN and "【交账】" in m["text"],
                                  start=start)
        bot = restart(bot)
        assert stored(tmp_path, "T0001").status is TaskStatus.SUBMITTED

        ask(api, ADMIN, "/reject T0001 缺少验收报告", "已退回")
        bot = restart(bot)
        task = stored(tmp_path, "T0001")
        assert (task.status, task.progress) == (TaskStatus.OPEN, 60)

        start = len(api.sent)
        api.send_text(OFFICIAL, "已完成，验收报告已补充", reply_to=reminder)
        submission = api.wait_for(lambda m: m["chat"]["id"] == ADMIN and "【交账】" in m["text"],
                                  start=start)
        bot = restart(bot)
        assert stored(tmp_path, "T0001").status is TaskStatus.SUBMITTED

        start = len(api.sent)
        [verify] = [b["callback_data"] for row in submission["reply_markup"]["inline_keyboard"]
                    for b in row if b["callback_data"].startswith("VERIFY ")]
        api.press_button(ADMIN, submission, verify)
        api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL and "已销账" in m["text"], start=start)
        bot = restart(bot)
        assert stored(tmp_path, "T0001").status is TaskStatus.CLOSED
        ask(api, ADMIN, "/task T0001", "已销账")
    finally:
        bot.kill()
