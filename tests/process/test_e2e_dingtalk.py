"""钉钉 end to end through the real process (`python -m bot --config … run`) with only
``[dingtalk]`` configured, against the fake 钉钉 (bot/fakedingtalk/) on local sockets (issue 15,
"Tests and figures"):

* an admin's /tasks and /invite (the answer says to send “绑定 CODE”), the official binds by
  sending it, /dispatch reaches them with the day in the text (the process runs on the real
  clock: the day is today as the bot formats it), they report 进度60%, the reminder's action
  card button 已完成 makes the task 待核账 — read back through `python -m bot export` and the
  store after the bot stopped;
* the server drops the WebSocket: a message sent meanwhile is handled once after the
  reconnect;
* SIGKILL in the middle of a burst of reports: after a restart every report whose frame was
  ACKed is in the store, and none is applied twice (the unACKed ones are delivered again).
"""

from __future__ import annotations

import csv
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import Report, Task, TaskStatus
from bot.domain.ports import Change
from bot.fakedingtalk import FakeDingTalk
from bot.messages import Messages
from tests.conftest import TZ
from tests.process.test_e2e import _env

pytestmark = pytest.mark.slow

SECRET = "e2e-dingtalk-client-secret"
ADMIN = "boss"
OFFICIAL = "zhang3"
WAIT = 20.0  # seconds: generous, a loaded machine runs several processes


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk(client_id="dingapp", client_secret=SECRET, robot_code="dingrobot") as srv:
        srv.add_staff(ADMIN, "督查室王主任")
        srv.add_staff(OFFICIAL, "张三")
        yield srv


def prepare(tmp_path: Path, fake: FakeDingTalk) -> Path:
    """Config with only [dingtalk]; one task of 张三's, three days overdue, in the store; today
    a workday whatever the real date is; send_at late, so the start-up catch-up stays away."""
    today = datetime.now(TZ).date()
    config = tmp_path / "config.toml"
    config.write_text(f"""
timezone = "Asia/Shanghai"
[storage]
dir = "data"
[access]
dingtalk_admins = ["{ADMIN}"]
[dingtalk]
client_id = "dingapp"
client_secret = "{SECRET}"
robot_code = "dingrobot"
api_base = "{fake.url}"
[rhythm]
send_at = "23:59"
[calendar]
extra_workdays = ["{today.isoformat()}"]
""", encoding="utf-8")
    store = DocStore.open(tmp_path / "data")
    try:
        ledger = Ledger(StoreRepository(store), FixedClock(datetime.now(TZ) - timedelta(days=30)))
        task = ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县发改局",
                                       owners=("张三",), deadline=today + timedelta(days=30)),
                               who="admin")
        ledger.repo.commit(Change(tasks=[task.with_changes(
            deadline=today - timedelta(days=3))]))
    finally:
        store.close()
    return config


class DingTalkProcess:
    """`python -m bot run`; started = its Stream connection is open (replay done before)."""

    def __init__(self, config: Path, fake: FakeDingTalk, log: Path) -> None:
        before = fake.connections
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            cwd=config.parent, env=_env(), stdout=log.open("ab"), stderr=subprocess.STDOUT)
        fake.wait_until(lambda: fake.connections > before, what="the Stream connection",
                        timeout=WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)


def ask(fake: FakeDingTalk, staff: str, text: str, expect: str) -> str:
    """`staff` says `text`; the first later message to them containing `expect`."""
    start = len(fake.messages_to(staff))

    def answer() -> str | None:
        return next((t for t in fake.texts_to(staff)[start:] if expect in t), None)

    fake.send_text(staff, text)
    fake.wait_until(answer, what=f"{expect!r} after {text!r}", timeout=WAIT)
    found = answer()
    assert found is not None
    return found


def bind(fake: FakeDingTalk) -> None:
    invite = ask(fake, ADMIN, "/invite 张三 县发改局", "绑定")
    code = re.search(r"绑定 ([^\s”\"]+)", invite)
    assert code is not None, invite
    ask(fake, OFFICIAL, f"绑定 {code.group(1)}", "张三")


def stored(tmp_path: Path) -> tuple[Task, list[Report]]:
    store = DocStore.open(tmp_path / "data", writable=False)
    try:
        repo = StoreRepository(store)
        task = repo.get_task("T0001")
        assert task is not None
        return task, list(repo.reports())
    finally:
        store.close()


def exported(config: Path, tmp_path: Path) -> list[dict[str, str]]:
    out = tmp_path / "ledger.csv"
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "export",
                             str(out)], capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_dingtalk_only_process_end_to_end(tmp_path: Path, fake: FakeDingTalk) -> None:
    config = prepare(tmp_path, fake)
    log = tmp_path / "bot.log"
    bot = DingTalkProcess(config, fake, log)
    try:
        ask(fake, ADMIN, "/tasks", "T0001")
        bind(fake)

        start = len(fake.messages_to(OFFICIAL))
        ask(fake, ADMIN, "/dispatch", "调度")
        fake.wait_until(lambda: any(m.buttons for m in fake.messages_to(OFFICIAL)[start:]),
                   what="the reminder with buttons")
        reminder = next(m for m in fake.messages_to(OFFICIAL)[start:] if m.buttons)
        today = datetime.now(TZ).date()
        day = Messages("zh").date(today)
        assert "T0001" in reminder.text
        assert f"（{day}调度）" in reminder.text, reminder.text

        ask(fake, OFFICIAL, "T0001 进度60%，已完成征地公告", "60%")
        # Read back while the bot runs (export is read-only beside the running writer).
        [row] = [r for r in exported(config, tmp_path) if r["编号"] == "T0001"]
        assert (row["进度"], row["状态"]) == ("60", "推进中"), row

        # The server drops the WebSocket; a message sent now is handled once, after the
        # reconnect (it was not ACKed on the dropped connection, or it is delivered anew).
        connections = fake.connections
        assert fake.drop_stream()
        frame = fake.send_text(ADMIN, "/task T0001")
        fake.wait_until(lambda: fake.connections > connections, what="the reconnect")
        fake.wait_until(lambda: fake.frame(frame).ack_code == 200, what="the ACK after reconnect")
        fake.wait_until(lambda: any("征地公告" in t for t in fake.texts_to(ADMIN)),
                   what="the answer to /task")
        # A later message in the same chat is handled after any redelivery of the first (one
        # lane a chat, in order): once it is answered, a second answer would be there.
        ask(fake, ADMIN, "/help", "督查室命令")
        assert sum("征地公告" in t for t in fake.texts_to(ADMIN)) == 1, "answered once"

        done = next(url for label, url in reminder.buttons if "已完成" in label)
        start = len(fake.messages_to(OFFICIAL))
        pressed = fake.press_link(OFFICIAL, done)
        fake.wait_until(lambda: fake.frame(pressed).ack_code == 200, what="the press ACKed")
        fake.wait_until(lambda: len(fake.messages_to(OFFICIAL)) > start, what="the press answered")
    finally:
        assert bot.stop() == 0
    task, reports = stored(tmp_path)
    assert task.status is TaskStatus.SUBMITTED  # 已完成 is a 交账: progress 100, to verify
    assert [r.progress for r in reports] == [60, 100]
    [row] = [r for r in exported(config, tmp_path) if r["编号"] == "T0001"]
    assert row["状态"] == "待核账", row
    text = log.read_text(encoding="utf-8", errors="replace")
    assert SECRET not in text, "the client secret is never logged"


def test_sigkill_mid_burst_loses_nothing_acked(tmp_path: Path, fake: FakeDingTalk) -> None:
    config = prepare(tmp_path, fake)
    log = tmp_path / "bot.log"
    bot = DingTalkProcess(config, fake, log)
    burst = 30
    try:
        bind(fake)
        def report(i: int) -> str:
            return fake.send_text(OFFICIAL, f"T0001 进度{i + 10}%，第{i}批材料已报送")

        # A third of the burst at once; killed once 8 are ACKed (the rest in flight), and the
        # rest arrives while the bot is down (钉钉 keeps it for the next connection).
        frames = [report(i) for i in range(10)]
        fake.wait_until(lambda: sum(fake.frame(f).ack_code == 200 for f in frames) >= 8,
                        what="the first ACKs", timeout=WAIT)
        bot.kill()
        acked = [i for i, f in enumerate(frames) if fake.frame(f).ack_code == 200]
        frames += [report(i) for i in range(10, burst)]
        assert 0 < len(acked) < burst, "the kill landed mid-burst"

        bot = DingTalkProcess(config, fake, log)
        fake.wait_until(lambda: all(fake.frame(f).ack_code == 200 for f in frames),
                   what="every frame ACKed after the restart")
        fake.wait_until(lambda: sum("%" in t for t in fake.texts_to(OFFICIAL)) >= burst,
                   what="the answers")
    finally:
        bot.stop()
    _, reports = stored(tmp_path)
    counts = {i: sum(f"第{i}批" in r.text for r in reports) for i in range(burst)}
    assert all(counts[i] == 1 for i in acked), {i: counts[i] for i in acked}
    assert all(n <= 1 for n in counts.values()), counts
    print(f"ACKed before SIGKILL: {len(acked)} of {burst}; after restart all {burst} applied "
          f"{sum(counts.values())} times")
