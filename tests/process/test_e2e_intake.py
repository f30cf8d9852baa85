"""The intake and the one sender through the real process (`python -m bot run`) against the
fake Bot API server (issue 11, "Tests and figures"):

* a restart after which the server numbers updates lower than before (SIGTERM and SIGKILL):
  commands, replies and buttons are all still answered;
* SIGKILL with 30 updates fetched (and confirmed to Telegram) but not handled: after the
  restart every one of them is applied exactly once;
* a 4,090-character 交账 reaches the admin group in messages Telegram accepts, and the
  official's confirmation names who was reached;
* an admin group upgraded to a supergroup (new id, followed and kept across a restart), and
  an admin group that removed the bot (alerts go to each admin privately).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.ports import Change
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from tests.conftest import ADMIN, TZ
from tests.conftest import OTHER_ADMIN as ADMIN2
from tests.process.test_e2e import TOKEN, BotProcess, _env

pytestmark = pytest.mark.slow

OFFICIALS = [(f"干部{i}", 2200 + i) for i in range(5)]  # task T000{i+1} each
OLD_GROUP = -4_012_345_678  # a basic group's id ...
NEW_GROUP = -1_002_012_345_678  # ... and the id of the supergroup it became
WAIT = 20.0  # seconds: generous, a loaded machine runs several test processes


# ---- set-up ----------------------------------------------------------------------------------


def seed_store(data: Path) -> None:
    """One open task per official (T0001…T0005), every official bound to their account."""
    store = DocStore.open(data)
    try:
        ledger = Ledger(StoreRepository(store),
                        FixedClock(datetime(2026, 11, 27, 9, tzinfo=TZ)))
        for name, user_id in OFFICIALS:
            ledger.add_task(NewTask(f"{name}牵头的重点工作", "县发改局", (name,),
                                    date(2027, 6, 30)), who="admin")
            person = ledger.repo.get_person(name)
            assert person is not None
            ledger.repo.commit(Change(people=[person.with_changes(user_id=user_id)]))
    finally:
        store.close()


def write_config(tmp_path: Path, server: FakeBotApiServer, *, admin_group: int = 0) -> Path:
    """Two admins, an optional admin group, and no workday around now: no scheduled
    dispatch, summary or bulletin sends anything while a test runs."""
    today = datetime.now(TZ).date()
    holidays = ", ".join(f'"{today + timedelta(days=d)}"' for d in (-1, 0, 1))
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
admins = [{ADMIN}, {ADMIN2}]
[chats]
admin_group = {admin_group}
[calendar]
extra_holidays = [{holidays}]
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_intake_bot")
    for user_id, name in ((ADMIN, "王主任"), (ADMIN2, "李科长")):
        api.add_user(user_id, name)
        api.start_chat(user_id)
    for name, user_id in OFFICIALS:
        api.add_user(user_id, name)
        api.start_chat(user_id)
    with FakeBotApiServer(api) as srv:
        srv.start()
        yield srv


class Bot(BotProcess):
    """The real process; `stop` is a graceful SIGTERM."""

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0, self.log.read_text(errors="replace")[-2000:]

    def end(self) -> None:
        if self.proc.poll() is None:
            self.kill()


@pytest.fixture
def setup(tmp_path: Path, server: FakeBotApiServer) -> tuple[FakeBotApi, Path, Path]:
    seed_store(tmp_path / "data")
    return server.api, write_config(tmp_path, server), tmp_path / "bot.log"


# ---- helpers ---------------------------------------------------------------------------------


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


def ask(api: FakeBotApi, user: int, text: str, expect: str, *,
        reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
    """The user writes `text`; the bot's first message to them containing `expect`."""
    start = len(api.sent)
    api.send_text(user, text, reply_to=reply_to)
    return api.wait_for(lambda m: m["chat"]["id"] == user and expect in text_of(m),
                        timeout=WAIT, start=start)


def button(message: dict[str, Any], label: str) -> str:
    """The callback data of the button whose label contains `label`."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    for row in rows:
        for key in row:
            if label in key.get("text", ""):
                return str(key["callback_data"])
    raise AssertionError(f"no button {label!r} under {text_of(message)[:60]!r}: {rows}")


def press(api: FakeBotApi, user: int, message: dict[str, Any], label: str) -> dict[str, Any]:
    """The user presses a button; returns the bot's answer to the callback query."""
    query = api.press_button(user, message, button(message, label))
    answer = api.wait_callback_answer(query, timeout=WAIT)
    assert answer is not None, f"the {label} press was not answered"
    return answer


def prompt_and_reply(api: FakeBotApi, user: int, under: dict[str, Any], text: str,
                     expect: str) -> None:
    """📈 报进度 under a task message: the bot asks (a ForceReply prompt), the answer to the
    prompt is recorded."""
    start = len(api.sent)
    press(api, user, under, "报进度")
    prompt = api.wait_for(lambda m: m["chat"]["id"] == user and text_of(m).startswith("📈"),
                          timeout=WAIT, start=start)
    ask(api, user, text, expect, reply_to=prompt)


def wait_settled(api: FakeBotApi) -> None:
    """Every update was confirmed to the fake (the bot stored it first)."""
    api.wait_until(lambda: not api.pending_updates, timeout=WAIT)


def chat_ids(calls: list[dict[str, Any]]) -> list[int]:
    return [int(call["chat_id"]) for call in calls]


def clear_faults(api: FakeBotApi) -> None:
    """Use up the sendMessage faults still queued (on a chat that does not exist)."""
    while api.call("sendMessage", {"chat_id": 999_999_999, "text": "-"},
                   record=False)[0] == 429:
        pass


@contextmanager
def read_store(data: Path) -> Iterator[StoreRepository]:
    """The store, read-only (beside a running bot, or after it stopped)."""
    store = DocStore.open(data, writable=False)
    try:
        yield StoreRepository(store)
    finally:
        store.close()


# ---- a. a new numbering of updates after a restart -------------------------------------------


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_restart_with_lower_update_ids_answers_commands_replies_and_buttons(
        setup: tuple[FakeBotApi, Path, Path], how: str) -> None:
    api, config, log = setup
    (_, first), (_, second) = OFFICIALS[0], OFFICIALS[1]
    bot = Bot(config, api, log)
    try:
        assert "T0001" in ask(api, first, "/tasks", "T0001")["text"]
        start = len(api.sent)
        ask(api, ADMIN, "/remind T0001", "T0001")
        reminder = api.wait_for(lambda m: m["chat"]["id"] == first and "T0001" in text_of(m)
                                and m.get("reply_markup") is not None,
                                timeout=WAIT, start=start)
        ask(api, first, "进度30%", "进度 30%", reply_to=reminder)
        prompt_and_reply(api, first, reminder, "进度40%，完成主体工程", "进度 40%")
        first_run = len(api.updates)
        wait_settled(api)
        if how == "sigterm":
            bot.stop()
        else:
            bot.kill()

        api.renumber_updates(5)  # as after a quiet week, or a restarted server
        bot = Bot(config, api, log)
        ask(api, first, "/tasks", "T0001")
        ask(api, first, "进度50%", "进度 50%", reply_to=reminder)  # a reply to the old reminder
        detail = ask(api, first, "/task T0001", "T0001")
        assert "40%" in text_of(detail), "what the first run recorded is there"
        prompt_and_reply(api, first, detail, "进度60%", "进度 60%")
        # ✅ 已完成 (the other official), then the admin's 核账通过 under the 交账 alert.
        task2 = ask(api, second, "/task T0002", "T0002")
        start = len(api.sent)
        assert press(api, second, task2, "已完成").get("show_alert") is not True
        confirmation = api.wait_for(lambda m: m["chat"]["id"] == second
                                    and "已告知督查室" in text_of(m), timeout=WAIT, start=start)
        assert "已交账" in text_of(confirmation)
        alert = api.wait_for(lambda m: m["chat"]["id"] == ADMIN and "【交账】" in text_of(m),
                             timeout=WAIT, start=start)
        start = len(api.sent)
        assert press(api, ADMIN, alert, "核账通过").get("show_alert") is not True
        api.wait_for(lambda m: m["chat"]["id"] == second and "已通过核账" in text_of(m),
                     timeout=WAIT, start=start)
        api.wait_until(lambda: "已核账" in text_of(alert), timeout=WAIT)  # edited in place
        ids = [u["update_id"] for u in api.updates]
        assert max(ids[first_run:]) < 100 < min(ids[:first_run]), "numbered lower than before"
        wait_settled(api)
        bot.stop()
    finally:
        bot.end()
    with read_store(config.parent / "data") as repo:
        task1, task2_doc = repo.get_task("T0001"), repo.get_task("T0002")
        texts = [r.text for r in repo.reports() if r.task_id == "T0001"]
    assert task1 is not None and task1.progress == 60
    assert task2_doc is not None and task2_doc.status.value == "已销账"
    assert texts == ["进度30%", "进度40%，完成主体工程", "进度50%", "进度60%"], texts


# ---- b. SIGKILL with 30 fetched-but-unhandled updates --------------------------------------


def test_sigkill_with_30_fetched_unhandled_updates_applies_each_once(
        setup: tuple[FakeBotApi, Path, Path]) -> None:
    api, config, log = setup
    bot = Bot(config, api, log)
    try:
        # The first answer gets a 429 with retry_after=60: PTB's AIORateLimiter then holds
        # every send for 60 s, while the intake (getUpdates is not rate limited) keeps
        # fetching, storing and confirming. (Sends of other chats that were already past the
        # limiter's gate get a 429 of their own: none goes out.)
        api.fail_next("sendMessage", 429, retry_after=60, count=len(OFFICIALS) * 6)
        texts = []
        start = len(api.sent)
        for round_ in range(6):
            for name, user_id in OFFICIALS:
                text = f"{name}已召开第{round_ + 1}次协调会"
                texts.append(text)
                api.send_text(user_id, text)
        wait_settled(api)  # all 30 confirmed to Telegram: the bot stored them first
        assert not [m for m in api.sent[start:] if "已记录" in text_of(m)]
        assert api.too_many_requests >= 1
        with read_store(config.parent / "data") as before:  # beside the running writer
            applied_before = {r.text for r in before.reports()}
        # Each chat's first report was applied (its answer is the one held by the limiter);
        # the other 25 were stored as received, not applied.
        assert len(applied_before) <= len(OFFICIALS)
        bot.kill()
        clear_faults(api)

        bot = Bot(config, api, log)
        # The 25 not applied before the kill are answered now. (The bot does not answer an
        # update it had applied again: those answers were held by the limiter when the
        # process died, and the officials are not told their report was recorded.)
        unapplied = len(texts) - len(applied_before)
        api.wait_until(lambda: sum("已记录" in text_of(m) for m in api.sent[start:])
                       >= unapplied, timeout=WAIT)
        wait_settled(api)
        bot.stop()
    finally:
        bot.end()
    with read_store(config.parent / "data") as repo:
        stored = [r.text for r in repo.reports()]
    for text in texts:
        assert stored.count(text) == 1, f"{text!r} stored {stored.count(text)} times"
    assert len(stored) == len(texts)
    confirmed = [m.get("reply_to_message", {}).get("text", "") for m in api.sent[start:]
                 if "已记录" in text_of(m)]
    assert len(confirmed) == len(set(confirmed)), "a report was confirmed twice"
    assert set(texts) - applied_before <= set(confirmed) <= set(texts)


# ---- c. a 4,090-character 交账 ---------------------------------------------------------------


def long_submission(length: int = 4090) -> str:
    """"已完成。" and a pasted 情况说明: HTML special characters, many lines."""
    text = "已完成。\n情况说明：\n"
    number = 1
    while True:
        line = f"{number}、督导点位{number}：整改到位 <合格> & 已销号，资料已归档\n"
        if len(text) + len(line) > length:
            break
        text += line
        number += 1
    return text + "附" * (length - len(text))


def test_a_4090_character_submission_reaches_the_admin_group(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    group = -1_009_876_543_210
    api.add_group(group, "督查室工作群")
    seed_store(tmp_path / "data")
    config = write_config(tmp_path, server, admin_group=group)
    _, official = OFFICIALS[0]
    text = long_submission()
    assert len(text) == 4090
    bot = Bot(config, api, Path(tmp_path / "bot.log"))
    try:
        start = len(api.sent)
        api.send_text(official, text)
        confirmation = api.wait_for(lambda m: m["chat"]["id"] == official
                                    and "已告知督查室" in text_of(m), timeout=WAIT, start=start)
        assert "已交账" in text_of(confirmation) and "T0001" in text_of(confirmation)
        alerts = [m for m in api.sent[start:] if m["chat"]["id"] == group]
        assert alerts and "【交账】" in text_of(alerts[0]) and "T0001" in text_of(alerts[0])
        assert "整改到位 <合格> & 已销号" in text_of(alerts[0]), "quoted as written"
        assert "核账通过" in str(alerts[-1].get("reply_markup")), "the buttons under the last"
        # The alert quotes the start and points to /task for the rest: it is there (split
        # over several messages if need be).
        assert "全文见 /task T0001" in text_of(alerts[0])
        start = len(api.sent)
        api.send_text(ADMIN, "/task T0001")
        api.wait_for(lambda m: m["chat"]["id"] == ADMIN and "T0001" in text_of(m),
                     timeout=WAIT, start=start)
        last_line = text.strip().splitlines()[-1]
        api.wait_for(lambda m: m["chat"]["id"] == ADMIN and last_line in text_of(m),
                     timeout=WAIT, start=start)
        wait_settled(api)
        bot.stop()
    finally:
        bot.end()
    refused = [(method, error) for method, _, error in api.errors
               if "too long" in str(error.get("description", "")).lower()]
    assert not refused, refused
    with read_store(tmp_path / "data") as repo:
        assert [r.text for r in repo.reports()] == [text.strip()]
        task = repo.get_task("T0001")
    assert task is not None and task.status.value == "待核账"


# ---- d. the admin group moved, or removed the bot ------------------------------------------


def submit(api: FakeBotApi, official: int, expect: str = "已告知督查室") -> dict[str, Any]:
    """The official reports their task done; returns their (final) confirmation."""
    start = len(api.sent)
    api.send_text(official, "已完成，资料已归档")
    return api.wait_for(lambda m: m["chat"]["id"] == official and expect in text_of(m),
                        timeout=WAIT, start=start)


def alert_in(api: FakeBotApi, chat_id: int, task_id: str) -> dict[str, Any]:
    return api.wait_for(lambda m: m["chat"]["id"] == chat_id and "【交账】" in text_of(m)
                        and task_id in text_of(m), timeout=WAIT)


@pytest.mark.parametrize("learnt", ["from the service message", "from the 400 answer"])
def test_alerts_follow_an_admin_group_upgraded_to_a_supergroup(
        tmp_path: Path, server: FakeBotApiServer, learnt: str) -> None:
    api = server.api
    api.add_group(OLD_GROUP, "督查室工作群")
    seed_store(tmp_path / "data")
    config = write_config(tmp_path, server, admin_group=OLD_GROUP)
    log = tmp_path / "bot.log"
    by_answer = learnt == "from the 400 answer"
    if by_answer:
        # Upgraded while the bot was down for more than a day: the service messages
        # (migrate_to_chat_id / migrate_from_chat_id) expired unseen.
        api.migrate_group(OLD_GROUP, NEW_GROUP)
        last = api.pending_updates[-1]["update_id"]
        api.call("getUpdates", {"offset": last + 1, "timeout": 0}, record=False)
    bot = Bot(config, api, log)
    try:
        if not by_answer:
            api.migrate_group(OLD_GROUP, NEW_GROUP)
        submit(api, OFFICIALS[0][1])
        alert_in(api, NEW_GROUP, "T0001")
        to_old = chat_ids(api.calls_of("sendMessage")).count(OLD_GROUP)
        # Only a send that learnt the move went to the old id (answered with the new one).
        assert to_old == 1 if by_answer else to_old <= 1
        submit(api, OFFICIALS[1][1])
        alert_in(api, NEW_GROUP, "T0002")
        assert chat_ids(api.calls_of("sendMessage")).count(OLD_GROUP) == to_old
        wait_settled(api)
        bot.kill()  # the move was stored when it was learnt, not at shutdown

        bot = Bot(config, api, log)
        submit(api, OFFICIALS[2][1])
        alert_in(api, NEW_GROUP, "T0003")
        assert chat_ids(api.calls_of("sendMessage")).count(OLD_GROUP) == to_old
        assert not [m for m in api.sent if m["chat"]["id"] in (ADMIN, ADMIN2)
                    and "【交账】" in text_of(m)], "the group was reachable all along"
        wait_settled(api)
        bot.stop()
    finally:
        bot.end()


def test_alerts_reach_each_admin_privately_when_the_bot_was_removed_from_the_group(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    group = -1_005_555_555_555
    api.add_group(group, "督查室工作群")
    seed_store(tmp_path / "data")
    config = write_config(tmp_path, server, admin_group=group)
    bot = Bot(config, api, tmp_path / "bot.log")
    try:
        api.kick_bot(group)
        submit(api, OFFICIALS[0][1])  # "已告知督查室": each admin got it privately
        for admin in (ADMIN, ADMIN2):
            alert = alert_in(api, admin, "T0001")
            assert "核账通过" in str(alert.get("reply_markup"))
        assert not [m for m in api.sent if m["chat"]["id"] == group]
        to_group = chat_ids(api.calls_of("sendMessage")).count(group)
        submit(api, OFFICIALS[1][1])
        for admin in (ADMIN, ADMIN2):
            alert_in(api, admin, "T0002")
        assert chat_ids(api.calls_of("sendMessage")).count(group) == to_group, \
            "a group known to be unreachable is not tried for every alert"
        # Nobody can be reached: the official is told so, not "已告知督查室".
        api.block(ADMIN)
        api.block(ADMIN2)
        confirmation = submit(api, OFFICIALS[2][1], expect="暂无法送达")
        assert "已告知督查室" not in text_of(confirmation)
        wait_settled(api)
        check = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "check"],
                               capture_output=True, text=True, timeout=60, env=_env(),
                               cwd=tmp_path)
        bot.stop()
    finally:
        bot.end()
    assert check.returncode == 0, check.stderr
    said = check.stdout + check.stderr
    assert re.search(r"无法送达|cannot be reached", said), said
    assert str(group) in said
