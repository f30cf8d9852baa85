"""Both channels at once through the real process (`python -m bot --config … run` with
``[telegram]`` against the fake Bot API and ``[dingtalk]`` against the fake 钉钉, issue 15,
"Tests and figures": one person bound on both gets one reminder):

* 张三 binds on Telegram (/start CODE) and, from a second /invite of the same person, on 钉钉
  ("绑定 CODE2"): an added account, welcomed — no 换绑 question;
* an admin's /tasks on 钉钉 (a `dingtalk_admins` account) is answered there while Telegram runs;
* /dispatch (an admin on Telegram): ONE reminder, on the channel 张三 last used (the binding on
  钉钉), none on Telegram; 张三 reports 进度60% on Telegram; a second /dispatch the same day
  sends nothing (the reminder went out today, on the other channel);
* the process runs on the real clock and cannot move days: a new overdue task written to the
  store between runs stands for the next day's reminder. With `prefer = "last"` it goes to
  Telegram (now last used), and T0001 is not sent again there; with `prefer = "dingtalk"` a
  third task's reminder goes to 钉钉 although Telegram was used last.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.ports import Change
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.fakedingtalk import FakeDingTalk
from tests.conftest import ADMIN, TZ, ZHANG
from tests.process.test_e2e import TOKEN, _env

pytestmark = pytest.mark.slow

SECRET = "e2e-both-client-secret"
DT_ADMIN = "boss"
DT_ZHANG = "zhang3"
WAIT = 30.0  # seconds: generous, a loaded machine runs several processes


@pytest.fixture
def telegram() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_both_bot")
    api.add_user(ADMIN, "王主任")
    api.add_user(ZHANG, "张三")
    with FakeBotApiServer(api) as srv:
        srv.start()
        yield srv


@pytest.fixture
def dingtalk() -> Iterator[FakeDingTalk]:
    with FakeDingTalk(client_id="dingapp", client_secret=SECRET, robot_code="dingrobot") as srv:
        srv.add_staff(DT_ADMIN, "督查室王主任")
        srv.add_staff(DT_ZHANG, "张三")
        yield srv


def write_config(tmp_path: Path, telegram: FakeBotApiServer, dingtalk: FakeDingTalk,
                 prefer: str) -> Path:
    """Both channels; today a workday whatever the real date is; send_at late, so the
    start-up catch-up stays away and only /dispatch sends."""
    config = tmp_path / "config.toml"
    config.write_text(f"""
timezone = "Asia/Shanghai"
[telegram]
token = "{TOKEN}"
base_url = "{telegram.base_url}"
base_file_url = "{telegram.base_file_url}"
[dingtalk]
client_id = "dingapp"
client_secret = "{SECRET}"
robot_code = "dingrobot"
api_base = "{dingtalk.url}"
[storage]
dir = "data"
[access]
admins = [{ADMIN}]
dingtalk_admins = ["{DT_ADMIN}"]
[channels]
prefer = "{prefer}"
[rhythm]
send_at = "23:59"
[calendar]
extra_workdays = ["{datetime.now(TZ).date().isoformat()}"]
""", encoding="utf-8")
    return config


def add_overdue_task(tmp_path: Path, title: str) -> None:
    """A task of 张三's three days overdue, written while no bot runs (overdue reminders are
    due every workday and never skipped for a report)."""
    today = datetime.now(TZ).date()
    store = DocStore.open(tmp_path / "data")
    try:
        ledger = Ledger(StoreRepository(store), FixedClock(datetime.now(TZ) - timedelta(days=30)))
        task = ledger.add_task(NewTask(title=title, lead_unit="县发改局", owners=("张三",),
                                       deadline=today + timedelta(days=30)), who="admin")
        ledger.repo.commit(Change(tasks=[task.with_changes(deadline=today - timedelta(days=3))]))
    finally:
        store.close()


class BothProcess:
    """`python -m bot run`; started = Telegram's post_init ran (setMyCommands) and the 钉钉
    Stream connection is open."""

    def __init__(self, config: Path, api: FakeBotApi, fake: FakeDingTalk, log: Path) -> None:
        connections = fake.connections
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            cwd=config.parent, env=_env(), stdout=log.open("ab"), stderr=subprocess.STDOUT)
        fake.wait_until(lambda: fake.connections > connections, what="the Stream connection",
                        timeout=WAIT)
        tg_ask(api, ADMIN, "/help", "督查室命令")  # Telegram answers: it has started too

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise


def tg_ask(api: FakeBotApi, user: int, text: str, expect: str) -> dict[str, Any]:
    start = len(api.sent)
    api.send_text(user, text)
    return api.wait_for(lambda m: m["chat"]["id"] == user and expect in m.get("text", ""),
                        timeout=WAIT, start=start)


def dt_ask(fake: FakeDingTalk, staff: str, text: str, expect: str) -> str:
    start = len(fake.messages_to(staff))

    def answer() -> str | None:
        return next((t for t in fake.texts_to(staff)[start:] if expect in t), None)

    fake.send_text(staff, text)
    fake.wait_until(answer, what=f"{expect!r} after {text!r}", timeout=WAIT)
    found = answer()
    assert found is not None
    return found


def invite_code(api: FakeBotApi) -> str:
    invite = tg_ask(api, ADMIN, "/invite 张三 县发改局", "start=")
    code = re.search(r"start=([\w-]+)", invite["text"])
    assert code is not None, invite["text"]
    return code.group(1)


class Watch:
    """What each channel sent 张三 from now on."""

    def __init__(self, api: FakeBotApi, fake: FakeDingTalk) -> None:
        self.api, self.fake = api, fake
        self.tg_start, self.dt_start = len(api.sent), len(fake.messages_to(DT_ZHANG))

    def telegram(self) -> list[str]:
        return [m.get("text", "") for m in self.api.sent[self.tg_start:]
                if m["chat"]["id"] == ZHANG]

    def dingtalk(self) -> list[str]:
        return self.fake.texts_to(DT_ZHANG)[self.dt_start:]


def dispatch(api: FakeBotApi) -> str:
    """/dispatch from the Telegram admin; its report (sent when the fan-out is done)."""
    start = len(api.sent)
    api.send_text(ADMIN, "/dispatch")
    report = api.wait_for(lambda m: m["chat"]["id"] == ADMIN and "调度：应发" in m.get("text", ""),
                          timeout=WAIT, start=start)
    # No wait for strays: the report is sent after run() returned, and run() awaited every
    # send's answer — each fake recorded its message before answering.
    return str(report["text"])


def test_one_person_on_both_channels_gets_one_reminder(
        tmp_path: Path, telegram: FakeBotApiServer, dingtalk: FakeDingTalk) -> None:
    api, fake = telegram.api, dingtalk
    log = tmp_path / "bot.log"
    config = write_config(tmp_path, telegram, fake, "last")
    add_overdue_task(tmp_path, "世忻铁路复线保德段征地")
    bot = BothProcess(config, api, fake, log)
    try:
        # 张三 binds on Telegram, then (a second invite of the same person) on 钉钉.
        tg_ask(api, ZHANG, f"/start {invite_code(api)}", "绑定成功")
        welcome = dt_ask(fake, DT_ZHANG, f"绑定 {invite_code(api)}", "张三")
        assert "绑定成功" in welcome and "换绑" not in welcome, welcome
        assert not any("换绑" in m.get("text", "") for m in api.sent), "no 换绑 question"

        # An admin command on 钉钉 while Telegram runs.
        assert "世忻铁路" in dt_ask(fake, DT_ADMIN, "/tasks", "T0001")

        # One reminder, on the channel last used: 钉钉 (the binding there).
        watch = Watch(api, fake)
        dispatch(api)
        assert [t for t in watch.dingtalk() if "T0001" in t], watch.dingtalk()
        assert len(watch.dingtalk()) == 1, watch.dingtalk()
        assert watch.telegram() == [], watch.telegram()

        # 张三 reports on Telegram: it is now the channel last used.
        tg_ask(api, ZHANG, "T0001 进度60%，征地公告已发布", "60%")
        watch = Watch(api, fake)
        report = dispatch(api)
        assert watch.telegram() == [] and watch.dingtalk() == [], (
            report, watch.telegram(), watch.dingtalk())
        assert "本次发送 0 条" in report, report
    finally:
        assert bot.stop() == 0

    # "The next day": a new overdue task of 张三's (the process runs on the real clock).
    add_overdue_task(tmp_path, "中医院迁建项目一期工程")
    bot = BothProcess(config, api, fake, log)
    try:
        watch = Watch(api, fake)
        dispatch(api)
        [reminder] = watch.telegram()
        assert "T0002" in reminder and "T0001" not in reminder, reminder
        assert watch.dingtalk() == [], watch.dingtalk()
    finally:
        assert bot.stop() == 0

    # [channels] prefer = "dingtalk": 钉钉 although Telegram was used last.
    config = write_config(tmp_path, telegram, fake, "dingtalk")
    add_overdue_task(tmp_path, "供暖管网抢修")
    bot = BothProcess(config, api, fake, log)
    try:
        watch = Watch(api, fake)
        dispatch(api)
        [reminder] = watch.dingtalk()
        assert "T0003" in reminder and "T0002" not in reminder, reminder
        assert watch.telegram() == [], watch.telegram()
    finally:
        assert bot.stop() == 0
    text = log.read_text(encoding="utf-8", errors="replace")
    assert SECRET not in text and TOKEN not in text, "no secret is logged"
