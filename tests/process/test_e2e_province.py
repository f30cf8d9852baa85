"""Three webhook workers on one county's PostgreSQL schema (issue 16), as a province runs them:
real `python -m bot run --listen` processes, the fake Bot API playing Telegram and a load
balancer (updates posted to random workers, many of them twice).

1. The planner (whichever worker wins the advisory lock) fans today's reminders out. Midway
   it is SIGKILLed — at a moment when its next sends are on the way but none has reached
   Telegram (the fake holds them unexecuted, then drops them: a killed process's requests
   die with it) and what it sent is recorded. Another worker takes over within 30 s and
   sends the rest: every official gets exactly one reminder.
2. The killed worker is started again (a supervisor would), and every official's report is
   posted to random workers, half of them twice: each is applied once and confirmed once.

(A send that reached Telegram in the instant before the kill, its record not yet committed,
would go again after the takeover: at least once, never lost. The test kills outside that
instant on purpose; bot/adapters/postgres.py `claim` says why it cannot be closed.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from bot.adapters.pg_migrate import migrate
from bot.adapters.planner_lock import planner_holder
from bot.adapters.postgres import PgDocStore
from bot.adapters.repository import StoreRepository
from bot.bootstrap import bootstrap
from bot.config import parse_config
from bot.domain.ledger import NewTask
from bot.domain.model import Frequency
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from tests.conftest import ADMIN
from tests.process.test_e2e import TOKEN
from tests.process.test_e2e_webhook import SECRET, free_port, healthz

pytestmark = pytest.mark.slow

OFFICIALS = 40
FIRST = 7000  # the officials' Telegram ids: FIRST, FIRST + 1, …
LET_THROUGH = 15  # reminders the first planner sends before the kill
WAIT = 60.0
TAKEOVER = 30.0  # the goal


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_province_bot")
    api.add_user(ADMIN, "王主任")
    for i in range(OFFICIALS):
        api.add_user(FIRST + i, f"干部{i:02d}")
        api.start_chat(FIRST + i)
    with FakeBotApiServer(api) as srv:
        yield srv


def write_config(tmp_path: Path, server: FakeBotApiServer, tenant: str, port: int) -> Path:
    # Today is made a workday (a weekend run too) and its send time has passed: whoever
    # becomes the planner catches today's reminders up at once.
    path = tmp_path / "config.toml"
    path.write_text(f"""
timezone = "Asia/Shanghai"
[telegram]
token = "{TOKEN}"
base_url = "{server.base_url}"
base_file_url = "{server.base_file_url}"
mode = "webhook"
webhook_url = "http://127.0.0.1:{port}/telegram/hook"
[storage]
backend = "postgresql"
tenant = "{tenant}"
[access]
admins = [{ADMIN}]
[rhythm]
send_at = "00:00"
[summary]
send_at = "23:59"
[bulletin]
send_at = "23:59"
[calendar]
extra_workdays = ["{today().isoformat()}"]
""", encoding="utf-8")
    return path


def seed(config: Path, dsn: str, tenant: str) -> None:
    """Forty bound officials, one daily task each (due today: a reminder each)."""
    with psycopg.connect(dsn) as conn:
        migrate(conn, tenant)
    loaded = parse_config(tomllib.loads(config.read_text(encoding="utf-8")), source=config,
                          env={"DATABASE_URL": dsn, "TELEGRAM_WEBHOOK_SECRET": SECRET})
    store = PgDocStore.open(dsn, tenant)
    try:
        ledger = bootstrap(loaded, store=store).ledger
        for i in range(OFFICIALS):
            name = f"干部{i:02d}"
            invite = ledger.create_invite(name, "县住建局", admin_id=ADMIN)
            ledger.redeem_invite(invite.code, FIRST + i)
            ledger.add_task(NewTask(title=f"老旧小区改造{i:02d}", lead_unit="县住建局",
                                    owners=(name,), deadline=today() + timedelta(days=90),
                                    frequency=Frequency.DAILY), who="督查室")
    finally:
        store.close()


def sent_recorded(dsn: str, tenant: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {tenant}.docs WHERE tbl = 'outbox' "
                           "AND doc->>'status' = 'sent'").fetchone()
    return int(row[0]) if row else 0


def outbox_writes(dsn: str, tenant: str) -> psycopg.Connection[Any]:
    """A connection told of every outbox write in the county (a trigger NOTIFYs on commit),
    set up before the workers start: waiting on it is waiting on the database's own event."""
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(f"""
        CREATE FUNCTION {tenant}.outbox_written() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{tenant}_outbox', NEW.key); RETURN NEW; END $$""")
    conn.execute(f"""
        CREATE TRIGGER outbox_written AFTER INSERT OR UPDATE ON {tenant}.docs
        FOR EACH ROW WHEN (NEW.tbl = 'outbox') EXECUTE FUNCTION {tenant}.outbox_written()""")
    conn.execute(f"LISTEN {tenant}_outbox")
    return conn


def wait_recorded(listener: psycopg.Connection[Any], dsn: str, tenant: str, count: int) -> None:
    """Until `count` reminders are recorded as sent, woken by each outbox write."""
    deadline = time.monotonic() + WAIT
    while sent_recorded(dsn, tenant) != count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{count} sends not recorded within {WAIT} s")
        for _note in listener.notifies(timeout=left, stop_after=1):
            pass


def reminders(api: FakeBotApi) -> Counter[int]:
    return Counter(m["chat"]["id"] for m in api.sent
                   if FIRST <= m["chat"]["id"] < FIRST + OFFICIALS)


def start_worker(config: Path, tmp_path: Path, port: int, dsn: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / f"worker-{port}.log").open("ab")
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}
    env.update(DATABASE_URL=dsn, TELEGRAM_WEBHOOK_SECRET=SECRET)
    return subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run",
                             "--listen", f"127.0.0.1:{port}"],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_three_workers_a_killed_planner_and_redelivered_updates(
        tmp_path: Path, server: FakeBotApiServer, pg_dsn: str, tenant: str) -> None:
    api = server.api
    ports = [free_port() for _ in range(3)]
    config = write_config(tmp_path, server, tenant, ports[0])
    seed(config, pg_dsn, tenant)
    officials = frozenset(range(FIRST, FIRST + OFFICIALS))
    api.hold("sendMessage", after=LET_THROUGH, chats=officials)
    listener = outbox_writes(pg_dsn, tenant)
    workers = {port: start_worker(config, tmp_path, port, pg_dsn) for port in ports}
    try:
        # ---- 1. the planner killed during the fan-out ----------------------------------------
        api.wait_until(lambda: api.held >= 1, timeout=WAIT)
        wait_recorded(listener, pg_dsn, tenant, LET_THROUGH)
        holder = planner_holder(pg_dsn, tenant) or ""
        [planner] = [port for port in ports if f"127.0.0.1:{port}" in holder]
        workers[planner].send_signal(signal.SIGKILL)
        workers[planner].wait(timeout=WAIT)
        killed_at = time.monotonic()
        api.release_held()  # what it had on the way never reached Telegram
        assert len(reminders(api)) == LET_THROUGH

        api.wait_until(lambda: len(reminders(api)) > LET_THROUGH, timeout=WAIT)
        takeover = time.monotonic() - killed_at
        api.wait_until(lambda: len(reminders(api)) == OFFICIALS, timeout=WAIT)
        assert takeover <= TAKEOVER, f"takeover took {takeover:.1f} s"
        assert set(reminders(api).values()) == {1}, "one reminder per official, none twice"
        successor = planner_holder(pg_dsn, tenant) or ""
        assert f"127.0.0.1:{planner}" not in successor and "127.0.0.1:" in successor

        # ---- 2. the worker back; reports posted to random workers, half of them twice ------
        workers[planner] = start_worker(config, tmp_path, planner, pg_dsn)
        calls = len(api.calls_of("setWebhook"))
        api.wait_until(lambda: len(api.calls_of("setWebhook")) > calls, timeout=WAIT)
        server.webhook.configure(
            targets=[f"http://127.0.0.1:{port}/telegram/hook" for port in ports],
            duplicate_rate=0.5, seed=16)
        start = len(api.sent)
        for i in range(OFFICIALS):
            api.send_text(FIRST + i, f"进度{10 + i}%")
        api.wait_until(lambda: len(api.sent) - start >= OFFICIALS, timeout=WAIT)
        server.webhook.wait_idle(timeout=WAIT)
        answers = Counter(m["chat"]["id"] for m in api.sent[start:])
        assert answers == Counter({FIRST + i: 1 for i in range(OFFICIALS)}), \
            "each report confirmed once"
        unsaved = [m["text"] for m in api.sent[start:] if "未能保存" in m.get("text", "")]
        assert unsaved == [], "a report met the others' and was not saved"
        health = [healthz(port)[1] for port in ports]
        assert all(h["state"] == "serving" and h["backend"] == "postgresql"
                   and h["tenant"] == tenant for h in health)
        assert [h["planner"] for h in health].count(True) == 1, "one planner"
        deliveries = server.webhook.deliveries
        assert sum(d.duplicate for d in deliveries) >= OFFICIALS // 4
        assert len({d.url for d in deliveries}) == 3, "all three workers took updates"
    finally:
        listener.close()
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=WAIT) for proc in workers.values()]
    assert codes.count(0) == 3, [p.read_text(errors="replace")[-2000:]
                                 for p in tmp_path.glob("worker-*.log")]
    assert api.calls_of("deleteWebhook") == []

    with PgDocStore.open(pg_dsn, tenant, writable=False) as store:
        repo = StoreRepository(store)
        for task in repo.tasks():
            reports = [r for r in repo.reports() if r.task_id == task.id]
            number = int(task.title[-2:])
            assert len(reports) == 1, f"{task.id}: each report applied once"
            assert task.progress == 10 + number
