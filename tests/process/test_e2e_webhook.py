"""Webhook mode end to end: the real `python -m bot run --listen HOST:PORT` process, the fake
Bot API posting updates to it (bot/fakeapi/webhook.py) as Telegram posts to a worker.

One worker on the TinyDB store (the three-worker PostgreSQL test builds on this one): the
webhook is registered with the secret from the environment; an admin's /add and /invite, an
official's /start, reports and /tasks are answered; every update delivered twice is applied
once (read back from the store after the stop); /healthz says serving; SIGTERM stops it
cleanly without deleting the webhook; neither the token nor the secret is logged. And the
command line's errors: a bad --listen, --listen in polling mode, a port in use.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from tests.conftest import ADMIN, ZHANG
from tests.process.test_e2e import TOKEN

pytestmark = pytest.mark.slow

SECRET = "e2e-Webhook_secret-0123456789"
WAIT = 20.0  # seconds: generous, a loaded machine runs several test processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_e2e_bot")
    api.add_user(ADMIN, "王主任")
    api.add_user(ZHANG, "张三")
    with FakeBotApiServer(api) as srv:
        yield srv


def write_config(tmp_path: Path, server: FakeBotApiServer | None, *, port: int,
                 mode: str = "webhook") -> Path:
    base = server.base_url if server else "http://127.0.0.1:9/bot"
    files = server.base_file_url if server else "http://127.0.0.1:9/file/bot"
    path = tmp_path / "config.toml"
    path.write_text(f"""
timezone = "Asia/Shanghai"
[telegram]
token = "{TOKEN}"
base_url = "{base}"
base_file_url = "{files}"
mode = "{mode}"
webhook_url = "http://127.0.0.1:{port}/telegram/hook"
webhook_listen = "127.0.0.1:1"
[storage]
dir = "data"
[access]
admins = [{ADMIN}]
""", encoding="utf-8")
    return path


def env() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}
    return {**kept, "TELEGRAM_WEBHOOK_SECRET": SECRET}


def run_bot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "run", *args],
                          capture_output=True, text=True, timeout=60, env=env())


def ask(api: FakeBotApi, user: int, text: str, expect: str) -> dict[str, Any]:
    start = len(api.sent)
    api.send_text(user, text)
    return api.wait_for(lambda m: m["chat"]["id"] == user and expect in m.get("text", ""),
                        timeout=WAIT, start=start)


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def test_a_webhook_worker_answers_and_applies_each_update_once(
        tmp_path: Path, server: FakeBotApiServer) -> None:
    api = server.api
    port = free_port()
    config = write_config(tmp_path, server, port=port)
    log = tmp_path / "bot.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run",
         "--listen", f"127.0.0.1:{port}"],
        cwd=tmp_path, env=env(), stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        api.wait_until(lambda: bool(api.calls_of("setWebhook")), timeout=WAIT)
        [registered] = api.calls_of("setWebhook")
        assert registered["url"] == f"http://127.0.0.1:{port}/telegram/hook"
        assert registered["secret_token"] == SECRET
        assert healthz(port) == (200, {"ok": True, "state": "serving", "mode": "webhook",
                                       "backend": "tinydb", "planner": True})

        ask(api, ADMIN, "/add 世忻铁路复线保德段征地 | 县自然资源局 | 张三 | 2026-12-31", "T0001")
        invite = ask(api, ADMIN, "/invite 张三 县自然资源局", "start=")
        code = re.search(r"start=([\w-]+)", invite["text"]).group(1)  # type: ignore[union-attr]
        ask(api, ZHANG, f"/start {code}", "绑定成功")
        server.webhook.configure(duplicate_rate=1.0, seed=16)  # every update delivered twice
        ask(api, ZHANG, "进度30%", "30%")
        ask(api, ZHANG, "进度60%，已完成征地评估", "60%")
        listing = ask(api, ZHANG, "/tasks", "T0001")["text"]
        assert "世忻铁路复线保德段征地" in listing
        server.webhook.wait_idle(timeout=WAIT)
        twice = [d for d in server.webhook.deliveries if d.duplicate]
        assert len(twice) >= 3 and all(d.ok for d in twice)
        assert api.call("getWebhookInfo", {})[1]["result"]["pending_update_count"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        code_ = proc.wait(timeout=30)
    assert code_ == 0
    assert api.calls_of("deleteWebhook") == [], "the other workers still serve the webhook"
    text = log.read_text(encoding="utf-8", errors="replace")
    assert TOKEN.split(":")[1] not in text and SECRET not in text

    store = DocStore.open(tmp_path / "data", writable=False)
    try:
        repo = StoreRepository(store)
        reports = [r for r in repo.reports() if r.task_id == "T0001"]
        assert len(reports) == 2, "each reply applied once, though delivered twice"
        task = repo.get_task("T0001")
        assert task is not None and task.progress == 60
    finally:
        store.close()
    export = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "export",
                             str(tmp_path / "ledger.csv")],
                            capture_output=True, text=True, timeout=60, env=env())
    assert export.returncode == 0, export.stderr
    rows = (tmp_path / "ledger.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 2 and "T0001" in rows[1] and "60%" in rows[1]


def test_listen_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    config = write_config(tmp_path, None, port=1)
    bad = run_bot(config, "--listen", "8443")
    assert bad.returncode == 2 and "host:port" in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_bot(config, "--listen", f"127.0.0.1:{taken.getsockname()[1]}")
    assert busy.returncode == 2 and "cannot listen" in busy.stderr and "无法监听" in busy.stderr
    polling = write_config(tmp_path, None, port=1, mode="polling")
    wrong = run_bot(polling, "--listen", "127.0.0.1:8443")
    assert wrong.returncode == 2 and "webhook" in wrong.stderr
