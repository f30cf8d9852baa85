"""Faults: SIGKILL during a burst of replies, a damaged store and its backup, a full disk,
Telegram errors, and fuzzing of everything that reads outside input."""

from __future__ import annotations

import errno
import os
import random
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.backups import make_daily_backup
from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.config import ConfigError, parse_config
from bot.domain.clock import FixedClock
from bot.domain.deadlines import parse_deadline_phrase
from bot.domain.errors import InvalidField
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import Person
from bot.domain.ports import Change
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.ledger_io import import_ledger_file
from tests.conftest import ADMIN, TZ, ZHANG
from tests.process.test_e2e import TOKEN, BotProcess, write_config
from tests.support.harness import Harness

pytestmark = pytest.mark.slow

OFFICIALS = [(f"官员{i}", 2100 + i) for i in range(5)]


def seed_store(data: Path) -> None:
    """Five officials, one open task each, all bound."""
    store = DocStore.open(data)
    ledger = Ledger(StoreRepository(store), FixedClock(datetime(2026, 11, 27, 9, tzinfo=TZ)))
    for name, user_id in OFFICIALS:
        ledger.add_task(NewTask(f"{name}的任务", "县发改局", (name,), date(2027, 6, 30)),
                        who="admin")
        person = ledger.repo.get_person(name)
        assert person is not None
        ledger.repo.commit(Change(people=[person.with_changes(user_id=user_id)]))
    store.close()


def test_sigkill_during_a_burst_loses_no_confirmed_reply(tmp_path: Path) -> None:
    """20 seeded trials: kill the bot at a random moment while replies pour in; the store
    always loads and every reply the bot confirmed is in it."""
    rng = random.Random(20261127)
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_fault_bot")
    api.add_user(ADMIN, "王主任")
    for _, user_id in OFFICIALS:
        api.start_chat(user_id)
    with FakeBotApiServer(api) as server:
        server.start()
        config = write_config(tmp_path, server)
        seed_store(tmp_path / "data")
        log = tmp_path / "bot.log"
        sent_value = 0
        for _trial in range(20):
            bot = BotProcess(config, api, log)
            start = len(api.sent)
            for _ in range(30):  # the burst
                sent_value += 1
                _, user_id = OFFICIALS[sent_value % len(OFFICIALS)]
                api.send_text(user_id, f"已召开第{sent_value}次协调会")
            # Kill once a random number of them has been confirmed: mid-burst, every time
            # somewhere else.
            kill_after = rng.randint(1, 25)
            api.wait_until(lambda start=start, n=kill_after: sum(
                "已记录" in m.get("text", "") for m in api.sent[start:]) >= n, timeout=30)
            bot.kill()
            confirmed = {int(m) for msg in api.sent[start:] if "已记录" in msg.get("text", "")
                         for m in re.findall(r"第(\d+)次",
                                             msg.get("reply_to_message", {}).get("text", ""))}
            assert confirmed or not api.sent[start:], "confirmations quote their report"
            store = DocStore.open(tmp_path / "data", writable=False)
            try:
                stored = {int(m) for r in StoreRepository(store).reports()
                          for m in re.findall(r"第(\d+)次", r.text)}
            finally:
                store.close()
            assert confirmed <= stored, f"lost confirmed replies: {sorted(confirmed - stored)}"


def test_damaged_store_names_the_newest_good_backup_and_restore_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed_store(data)
    store = DocStore.open(data)
    store.snapshot()
    store.close()
    assert make_daily_backup(data, date(2026, 11, 26), keep_days=14) is not None
    (data / "ledger.json").write_text('{"tasks": {"1": {"key": "T0001", "doc"', encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\ntoken = "{TOKEN}"\n[storage]\ndir = "data"\n',
                      encoding="utf-8")
    run = [sys.executable, "-m", "bot", "--config", str(config)]
    started = subprocess.run([*run, "run"], capture_output=True, text=True, timeout=60)
    assert started.returncode == 3
    assert "ledger.json" in started.stderr and "2026-11-26" in started.stderr
    restored = subprocess.run([*run, "restore"], capture_output=True, text=True, timeout=60)
    assert restored.returncode == 0, restored.stderr
    store = DocStore.open(data, writable=False)
    assert len(list(StoreRepository(store).tasks())) == len(OFFICIALS)
    store.close()
    assert any(p.name.startswith("damaged-") for p in data.iterdir())


def test_truncated_journal_line_in_the_middle_refuses_to_start(tmp_path: Path) -> None:
    import shutil

    store = DocStore.open(tmp_path / "live")
    ledger = Ledger(StoreRepository(store), FixedClock(datetime(2026, 11, 27, 9, tzinfo=TZ)))
    for i in range(5):
        ledger.add_task(NewTask(f"任务{i}", "县发改局", ("张三",), None), who="admin")
    shutil.copytree(tmp_path / "live", tmp_path / "data",
                    ignore=shutil.ignore_patterns(".lock"))  # the disk as a crash left it
    store.close()
    [journal] = sorted((tmp_path / "data").glob("journal.*.jsonl"))
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 5
    journal.write_bytes(b"".join([*lines[:2], lines[2][:10] + b"\n", *lines[3:]]))
    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\ntoken = "{TOKEN}"\n[storage]\ndir = "data"\n',
                      encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "run"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and journal.name in result.stderr


async def test_disk_full_is_not_confirmed_and_admins_are_told(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with Harness(tmp_path / "data") as bot:
        bot.bind("张三", ZHANG)
        task = bot.ledger.add_task(NewTask("任务甲", "县发改局", ("张三",), None), who="a")
        before = (tmp_path / "data").stat()

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", full)
        text = await bot.answer(ZHANG, "进度50%")
        monkeypatch.undo()
        assert "未能保存" in text and "重新发送" in text and "已记录" not in text
        assert "磁盘" in bot.api.messages_to(ADMIN)[-1]["text"]
        assert bot.ledger.task(task.id).progress == 0
        assert "进度 50%" in await bot.answer(ZHANG, "进度50%")
        assert (tmp_path / "data").stat().st_ino == before.st_ino
    store = DocStore.open(tmp_path / "data", writable=False)
    assert StoreRepository(store).get_task(task.id).progress == 50  # type: ignore[union-attr]
    store.close()


async def test_telegram_errors_never_lose_a_report(tmp_path: Path) -> None:
    async with Harness(tmp_path / "data") as bot:
        bot.bind("张三", ZHANG)
        task = bot.ledger.add_task(NewTask("任务甲", "县发改局", ("张三",), None), who="a")
        bot.api.fail_next("sendMessage", 500, "Internal Server Error")
        await bot.say(ZHANG, "进度10%")  # the confirmation fails to go out
        bot.api.drop_connection_next("sendMessage", after_processing=True)
        await bot.say(ZHANG, "进度20%")  # delivered, but the answer is lost
        bot.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        await bot.say(ZHANG, "进度30%")
        assert bot.ledger.task(task.id).progress == 30
        texts = [r.text for r in bot.ledger.repo.reports()]
        assert texts == ["进度10%", "进度20%", "进度30%"]
        assert "进度 40%" in await bot.answer(ZHANG, "进度40%")


# ---- fuzzing: outside input never crashes and never changes data -----------------------------

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.none(),
                 st.dates(), st.datetimes()))
def test_deadline_phrases_read_or_refuse(value: object) -> None:
    try:
        result = parse_deadline_phrase(value, year=2026)
    except InvalidField:
        return
    assert result is None or isinstance(result, date)


_toml_values = st.recursive(
    st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
              st.dates()),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8)


@FUZZ
@given(st.dictionaries(st.sampled_from(["timezone", "language", "telegram", "storage", "access",
                                        "chats", "rhythm", "calendar", "warning", "import",
                                        "escalation", "bulletin", "summary", "scoring", "x"]),
                       _toml_values, max_size=5))
def test_config_loader_only_raises_config_errors(data: dict) -> None:
    try:
        parse_config(data, require_token=False)
    except ConfigError as err:
        assert str(err)


@FUZZ
@given(content=st.binary(max_size=2048), name=st.sampled_from(["台账.xlsx", "台账.csv"]),
       prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xd0\xcf\x11\xe0"]))
def test_random_files_never_crash_or_change_data(tmp_path: Path, content: bytes, name: str,
                                                 prefix: bytes) -> None:
    from tests.support.fakes import FakeRepository

    repo = FakeRepository()
    ledger = Ledger(repo, FixedClock(datetime(2026, 11, 27, 9, tzinfo=TZ)))
    result = import_ledger_file(ledger, name, prefix + content, who="fuzz", year=2026,
                                dry_run=False)
    if not result.ok:
        assert list(repo.tasks()) == [] and repo.commits == 0


def test_person_docs_survive_the_round_trip() -> None:
    person = Person(name="张三", unit="县发改局", user_id=5, leave_from=date(2026, 12, 1),
                    leave_to=date(2026, 12, 3))
    assert Person.from_doc(person.to_doc()) == person
