"""每人每日一条 through the real process against the fake Bot API over HTTP: an official with
five due tasks gets one message listing them, with one 📝 button each; a reply naming one task
by its 序号 reports on that task, one naming another by its 编号 on that one; after SIGKILL the
stored ledger says so, and a second /dispatch sends nothing again."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import Frequency, Task
from bot.fakeapi import FakeBotApiServer
from tests.conftest import TZ
from tests.process.test_e2e import ADMIN, OFFICIAL, BotProcess, ask, server, write_config

__all__ = ["server"]  # the fixture, shared with test_e2e

pytestmark = pytest.mark.slow

TITLES = ("世忻铁路复线保德段征地", "中医院迁建项目一期工程", "供暖管网抢修", "职业中学新校区建设",
          "乡村振兴示范村创建")


def prepare(tmp_path: Path) -> None:
    """Five 每日 tasks of 张三 (due every workday), and 张三 bound, written to the store before
    the bot starts; today is made a workday whatever the real date is."""
    now = datetime.now(TZ)
    config = tmp_path / "config.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + f'[calendar]\nextra_workdays = ["{now.date().isoformat()}"]\n',
                      encoding="utf-8")
    store = DocStore.open(tmp_path / "data")
    try:
        ledger = Ledger(StoreRepository(store), FixedClock(now))
        for title in TITLES:
            ledger.add_task(NewTask(title=title, lead_unit="县发改局", owners=("张三",),
                                    deadline=None, frequency=Frequency.DAILY), who="admin")
        invite = ledger.create_invite("张三", "县发改局", admin_id=ADMIN)
        ledger.redeem_invite(invite.code, OFFICIAL)
    finally:
        store.close()


def stored(tmp_path: Path, task_id: str) -> Task:
    store = DocStore.open(tmp_path / "data", writable=False)
    try:
        task = StoreRepository(store).get_task(task_id)
        assert task is not None
        return task
    finally:
        store.close()


def test_five_due_tasks_one_message_and_a_reply_naming_one_task(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    config = write_config(tmp_path, server)
    prepare(tmp_path)
    log = tmp_path / "bot.log"
    bot = BotProcess(config, api, log)
    try:
        api.send_text(OFFICIAL, "/start")  # a chat the bot may write to (Telegram's rule)
        api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL)
        # After send_at the start-up catch-up sends it; before, /dispatch does. Either way: one.
        start = len(api.sent)
        api.send_text(ADMIN, "/dispatch")
        digest = api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL
                              and "今日调度" in m.get("text", ""), start=start, timeout=20)
        api.wait_for(lambda m: m["chat"]["id"] == ADMIN
                     and ("调度：应发" in m.get("text", "")), start=start, timeout=20)
        # The admin's report comes after every send of its run (and a start-up catch-up either
        # finished before it, or finds everything sent): nothing more can follow.
        to_official = [m for m in api.sent[start:] if m["chat"]["id"] == OFFICIAL]
        assert to_official == [digest]
        text = digest["text"]
        assert "共 5 项" in text
        listed = dict(re.findall(r"^(\d)\. \S+【日调度】(T\d{4})", text, re.M))
        assert sorted(listed) == ["1", "2", "3", "4", "5"]
        buttons = [b["callback_data"] for row in digest["reply_markup"]["inline_keyboard"]
                   for b in row]
        assert buttons == [f"ACT {listed[str(n)]} open" for n in range(1, 6)]

        # A reply naming one task by its 序号 reports on that task only.
        start = len(api.sent)
        api.send_text(OFFICIAL, "3. 进度60%，管线已铺设", reply_to=digest)
        api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL and listed["3"] in m["text"]
                     and "60%" in m["text"], start=start)
        # And by its 编号, on another line each.
        start = len(api.sent)
        api.send_text(OFFICIAL, f"{listed['5']} 进度20%\n1 进度10%", reply_to=digest)
        api.wait_for(lambda m: m["chat"]["id"] == OFFICIAL and listed["1"] in m["text"]
                     and "10%" in m["text"], start=start)
        ask(api, ADMIN, "/dispatch", "本次发送 0 条")
        bot.kill()
        assert stored(tmp_path, listed["3"]).progress == 60
        assert stored(tmp_path, listed["5"]).progress == 20
        assert stored(tmp_path, listed["1"]).progress == 10
        assert stored(tmp_path, listed["2"]).progress == 0
        assert stored(tmp_path, listed["4"]).progress == 0
    finally:
        bot.kill()
