"""The sandbox as a place to leave and come back to (issue 14, item 8): the fake Bot API's
state saved and put back (bot/fakeapi/persistence.py), the sandbox's state file on disk
(bot/sandbox/persist.py: atomic, set aside when unusable, never a crash), 重置沙盒 over HTTP,
identities without duplicates, and 今日小结 leaving the clock alone (bot/sandbox/runtime.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import bootstrap
from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.model import Person, Role
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.fakeapi.persistence import FORMAT, export_state, import_state, latest_date
from bot.sandbox import demo
from bot.sandbox.control import ACTIONS, Identity, SandboxControl
from bot.sandbox.persist import FILES_DIR, STATE_NAME, SandboxState, Saver, wipe
from bot.sandbox.runtime import LiveSandbox, MovableClock
from bot.sandbox.web import SandboxWeb
from tests.conftest import TZ
from tests.support.fake_channel import FakeSender
from tests.support.fakes import FakeRepository

USER = 2001
GROUP = -1001234567890
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=TZ)  # Thursday
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082"
)


def new_api(moment: datetime = NOW) -> FakeBotApi:
    return FakeBotApi(bot_first_name="落实机器人", bot_username="luoshi_bot",
                      clock=lambda: moment.timestamp())


def busy_api() -> FakeBotApi:
    """A conversation with a bit of everything: text, an edit, a deletion, a ForceReply, a
    document both ways, a group, an update not confirmed yet."""
    api = new_api()
    api.add_user(USER, "张伟")
    api.add_group(GROUP, "督查室工作群")
    api.send_text(USER, "/start")
    keyboard = {"inline_keyboard": [[{"text": "✅ 已完成", "callback_data": "done:1"}]]}
    api.call("sendMessage", {"chat_id": USER, "text": "<b>提醒</b> T0001",
                             "parse_mode": "HTML", "reply_markup": json.dumps(keyboard)})
    api.call("sendMessage", {"chat_id": USER, "text": "请回复进度",
                             "reply_markup": json.dumps({"force_reply": True,
                                                         "input_field_placeholder": "进度"})})
    api.call("editMessageText", {"chat_id": USER, "message_id": 2, "text": "提醒（已更新）"})
    api.call("sendMessage", {"chat_id": USER, "text": "将被删除"})
    api.call("deleteMessage", {"chat_id": USER, "message_id": 4})
    api.send_document(USER, "进展.xlsx", b"PK\x03\x04 workbook")
    api.call("sendPhoto", {"chat_id": GROUP}, {"photo": ("chart.png", PNG)})
    api.send_text(USER, "进度60%", reply_to=3)
    return api


def test_export_and_import_give_back_the_same_telegram_side() -> None:
    api = busy_api()
    state, blobs = export_state(api)
    state = json.loads(json.dumps(state))  # as read back from disk
    back = new_api()
    import_state(back, state, blobs.__getitem__)
    for chat in (USER, GROUP):
        assert back.chat_history(chat) == api.chat_history(chat)
        assert back.chat_deletions(chat) == api.chat_deletions(chat) == (
            [4] if chat == USER else [])
        assert back.chat_seq(chat) == api.chat_seq(chat)
    assert back.history_seq == api.history_seq
    assert back.users == api.users
    assert [m["message_id"] for m in back.sent] == [m["message_id"] for m in api.sent]
    prompt = back.chat_history(USER)[2]
    assert back.sent_markup(prompt) == {"force_reply": True, "input_field_placeholder": "进度"}
    document = next(m for m in back.chat_history(USER) if "document" in m)
    assert back.file_bytes(document["document"]["file_id"]) == b"PK\x03\x04 workbook"
    photo = back.messages_to(GROUP)[0]["photo"][-1]
    assert back.file_bytes(photo["file_id"]) == PNG
    # Numbering goes on where it stopped: updates, messages, files.
    assert [u["update_id"] for u in back.pending_updates] == [
        u["update_id"] for u in api.pending_updates]
    back.send_text(USER, "再一条")
    api.send_text(USER, "再一条")
    assert back.updates[-1]["update_id"] == api.updates[-1]["update_id"]
    assert back.chat_history(USER)[-1]["message_id"] == api.chat_history(USER)[-1]["message_id"]
    assert back.history_seq == api.history_seq
    # The bot polling the restored fake gets what was not confirmed, then what is new.
    status, answer = back.call("getUpdates", {"timeout": 0})
    assert status == 200 and [u["update_id"] for u in answer["result"]] == [
        u["update_id"] for u in api.pending_updates]


def test_a_press_from_before_the_restart_is_too_old_as_on_telegram() -> None:
    api = busy_api()
    query = api.press_button(USER, 2, "done:1", strict=False)
    state, blobs = export_state(api)
    back = new_api()
    import_state(back, state, blobs.__getitem__)
    status, answer = back.call("answerCallbackQuery", {"callback_query_id": query})
    assert status == 400 and "query is too old" in answer["description"]
    assert int(back.press_button(USER, 2, "done:1", strict=False)) > int(query)


@pytest.mark.parametrize("damage", [
    lambda s: s.update(format=FORMAT + 1),
    lambda s: s.pop("messages"),
    lambda s: s.update(next_update_id="10"),
    lambda s: s["sent"].append([USER, 999]),
    lambda s: s["files"][0].update(blob="0" * 64),
])
def test_a_malformed_state_changes_nothing(damage: Any) -> None:
    state, blobs = export_state(busy_api())
    damage(state)
    target = new_api()
    target.add_user(7, "原有")

    def blob(name: str) -> bytes:
        return blobs.get(name, b"altered")

    with pytest.raises(ValueError):
        import_state(target, state, blob)
    assert list(target.users) == [7] and target.history_seq == 0


# --------------------------------------------------------------------------- on disk


def test_saved_and_restored_with_the_clock(tmp_path: Path) -> None:
    api = busy_api()
    store = SandboxState(tmp_path)
    store.save(api, NOW + timedelta(hours=2))
    assert (tmp_path / STATE_NAME).is_file() and len(list((tmp_path / FILES_DIR).iterdir())) == 2
    assert not [p for p in tmp_path.rglob("*.tmp")]  # temp files renamed, none left behind
    back = new_api()
    assert store.restore(back, TZ) == NOW + timedelta(hours=2)
    assert back.chat_history(USER) == api.chat_history(USER)


def test_the_clock_never_goes_back_behind_the_last_message(tmp_path: Path) -> None:
    later = NOW + timedelta(days=3)
    api = new_api(later)
    api.add_user(USER, "张伟")
    api.send_text(USER, "进度80%")
    assert latest_date(api) == int(later.timestamp())
    SandboxState(tmp_path).save(api, NOW)  # saved before the message (a kill in between)
    assert SandboxState(tmp_path).restore(new_api(), TZ) == later


@pytest.mark.parametrize("content", [
    b'{"format": 1, "now": "2026-12-03T10:00:00+08:00", "api": {',  # torn
    b"\xff\xfe not text",
    b'{"format": 0, "now": "2026-12-03T10:00:00+08:00", "api": {}}',  # an older format
    b'{"format": 1, "now": "2026-12-03T10:00:00", "api": {}}',  # no time zone
    b'{"format": 1, "now": "later", "api": {}}',
    b'[]',
])
def test_an_unusable_state_is_set_aside_and_the_sandbox_starts_fresh(
        tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / STATE_NAME).write_bytes(content)
    api = new_api()
    with caplog.at_level(logging.WARNING, logger="bot.sandbox.persist"):
        assert SandboxState(tmp_path).restore(api, TZ) is None
    assert api.history_seq == 0
    aside = list(tmp_path.glob(f"{STATE_NAME}.*.set-aside"))
    assert len(aside) == 1 and aside[0].read_bytes() == content  # kept, never deleted
    assert not (tmp_path / STATE_NAME).exists()
    assert any("moved to" in r.getMessage() and "empty chats" in r.getMessage()
               for r in caplog.records)


def test_a_missing_file_sets_the_state_aside(tmp_path: Path) -> None:
    store = SandboxState(tmp_path)
    store.save(busy_api(), NOW)
    for blob in (tmp_path / FILES_DIR).iterdir():
        blob.unlink()
    assert store.restore(new_api(), TZ) is None
    assert list(tmp_path.glob(f"{STATE_NAME}.*.set-aside"))


def test_nothing_saved_is_nothing_restored(tmp_path: Path) -> None:
    assert SandboxState(tmp_path).restore(new_api(), TZ) is None
    assert list(tmp_path.iterdir()) == []


def test_the_saver_writes_what_changed_and_survives_a_failing_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    api = new_api()
    api.add_user(USER, "张伟")
    store = SandboxState(tmp_path)
    saver = Saver(store, api, lambda: NOW)
    saver.save_if_changed()
    first = (tmp_path / STATE_NAME).read_bytes()
    saver.save_if_changed()
    assert (tmp_path / STATE_NAME).read_bytes() == first
    api.send_text(USER, "进度50%")

    def full_disk(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "save", full_disk)
    with caplog.at_level(logging.ERROR, logger="bot.sandbox.persist"):
        assert saver.save_now() is False
        assert saver.save_now() is False
    assert len(caplog.records) == 1 and "No space left" in caplog.records[0].getMessage()
    monkeypatch.undo()
    saver.save_if_changed()  # tried again once the disk has room
    back = new_api()
    assert store.restore(back, TZ) == NOW
    assert back.chat_history(USER)[-1]["text"] == "进度50%"


def test_the_saver_thread_saves_and_saves_last_on_stop(tmp_path: Path) -> None:
    api = new_api()
    api.add_user(USER, "张伟")
    store = SandboxState(tmp_path)
    saver = Saver(store, api, lambda: NOW, interval=0.01).start()
    api.send_text(USER, "第一条")
    api.wait_until(lambda: store.exists(), timeout=5)  # the thread saw the change
    api.send_text(USER, "最后一条")
    saver.stop()
    back = new_api()
    store.restore(back, TZ)
    assert [m["text"] for m in back.chat_history(USER)] == ["第一条", "最后一条"]


def test_wipe_empties_the_folder_but_keeps_the_log(tmp_path: Path) -> None:
    store = SandboxState(tmp_path)
    store.save(busy_api(), NOW)
    (tmp_path / "sandbox.log").write_text("log", encoding="utf-8")
    (tmp_path / "ledger.json").write_text("{}", encoding="utf-8")
    wipe(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.log"]


# --------------------------------------------------------------------------- 重置沙盒 over HTTP


class ResettableControl(SandboxControl):
    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.resets = 0

    def identities(self) -> list[Identity]:
        return [Identity(1001, "王主任", "admin")]

    def admin_group(self) -> tuple[int, str]:
        return GROUP, "督查室工作群"

    def now(self) -> datetime:
        return NOW

    def run_action(self, action: str, timeout: float = 120.0) -> str:
        return "已完成"

    def reset(self, timeout: float = 120.0) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.resets += 1
        return "沙盒已重置"


def post_reset(server: FakeBotApiServer) -> tuple[int, Any]:
    request = urllib.request.Request(server.url + "/api/reset", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_reset_over_http() -> None:
    control = ResettableControl()
    with FakeBotApiServer(new_api(), routes=SandboxWeb(new_api(), control)) as server:
        status, answer = post_reset(server)
    assert status == 200 and answer["result"] == "沙盒已重置" and control.resets == 1
    assert answer["now_label"] == "12月3日（周四）10:00"


def test_a_reset_that_times_out_is_a_chinese_error() -> None:
    control = ResettableControl(fail_with=TimeoutError())
    with FakeBotApiServer(new_api(), routes=SandboxWeb(new_api(), control)) as server:
        status, answer = post_reset(server)
    assert status == 504 and answer["error"].startswith("重置超时，请刷新页面 / ")
    assert control.resets == 0


# --------------------------------------------------------------------------- the live control


def live(repo: FakeRepository, wall: datetime = NOW) -> tuple[LiveSandbox, FakeSender]:
    clock = MovableClock(TZ, wall=lambda zone: wall.astimezone(zone))
    sender = FakeSender()
    config = Config(telegram=TelegramConfig(token="123:test"),
                    access=AccessConfig(admins=frozenset({demo.ADMIN_ID})),
                    storage=StorageConfig(dir=Path("unused")))
    control = LiveSandbox(new_api(), clock)
    control.services = bootstrap(config, repository=repo, clock=clock, calendar=WorkCalendar(),
                                 sender=sender)
    return control, sender


def test_identities_are_listed_once_and_the_new_user_is_nobody_yet() -> None:
    repo = FakeRepository()
    control, _sender = live(repo)
    ids = [i.user_id for i in control.identities()]
    assert ids == [demo.ADMIN_ID, demo.NEW_USER_ID]
    # The new user took an invite (bound to 9001); someone is bound to the admin's id too.
    assert control.services is not None
    control.services.ledger.seed_people([
        Person(name="刘洋", unit="县教育局", user_id=demo.NEW_USER_ID, bound_at=NOW),
        Person(name="王主任本人", unit="县政府督查室", user_id=demo.ADMIN_ID, bound_at=NOW),
        Person(name="陈副县长", role=Role.LEADER, user_id=3001, bound_at=NOW),
    ])
    identities = control.identities()
    ids = [i.user_id for i in identities]
    assert len(ids) == len(set(ids))
    assert identities[-1] == Identity(demo.NEW_USER_ID + 1, "新用户", "new")
    assert Identity(demo.NEW_USER_ID, "刘洋", "official", "县教育局") in identities
    assert next(i for i in identities if i.user_id == 3001).role == "leader"


def test_today_summary_leaves_the_clock_where_it_is() -> None:
    repo = FakeRepository()
    control, sender = live(repo)
    before = control.clock.now()
    result = asyncio.run(control._act("summary"))
    assert control.clock.now() == before
    assert "时钟不变" in result
    assert [s.chat_id for s in sender.sent] == [demo.ADMIN_ID]


def test_today_summary_on_a_day_off_says_so() -> None:
    control, sender = live(FakeRepository(), wall=datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    assert asyncio.run(control._act("summary")) == "今天是休息日，不发送今日小结。"
    assert sender.sent == []


def test_reset_before_the_bot_runs_asks_to_wait() -> None:
    control = LiveSandbox(new_api(), MovableClock(TZ))
    assert "稍候" in control.reset()
    assert control.take_reset() is False
    assert set(ACTIONS) >= {"summary", "next_workday"}


def test_reset_stops_the_loop_and_waits_for_the_next_start() -> None:
    control = LiveSandbox(new_api(), MovableClock(TZ))

    async def run() -> str:
        control.loop = asyncio.get_running_loop()
        control.stop = asyncio.Event()
        waiting = asyncio.create_task(asyncio.to_thread(control.reset, 5.0))
        await control.stop.wait()  # the bot stops for the reset ...
        assert control.take_reset() is True and control.take_reset() is False
        control.ready.set()  # ... and the next one has started
        return await waiting

    assert asyncio.run(run()).startswith("沙盒已重置")

