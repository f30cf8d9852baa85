"""Runs the real bot against the built-in Bot API server, with a web chat page and a clock the
page can move. Production code has no sandbox branches: this module only composes the same
builders with another clock, config and transport address.

**钉钉 beside Telegram.** The sandbox also runs a `FakeDingTalk` (bot/fakedingtalk/) in this
process on 127.0.0.1, with the sandbox's own client id, secret and robot code (never a real
钉钉), and configures the bot's ``[dingtalk]`` against it: the bot runs both channels with
`serve_both` (one router, one scheduler), exactly as in production with both configured. The
demo ledger binds some officials on 钉钉 (bot/sandbox/demo.py); each such account is a 钉钉
identity on the page (bot/sandbox/dingtalk_web.py). The fake's clock is the sandbox's clock, so
钉钉's one-day duplicate rule and token expiry follow the simulated days. Only the Telegram side
is saved in data-sandbox/: after a restart the 钉钉 chats start empty (the ledger keeps
everything they did); 重置沙盒 empties them too."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from bot.bootstrap import bootstrap
from bot.config import (
    AccessConfig,
    ChatsConfig,
    Config,
    DingTalkConfig,
    StorageConfig,
    TelegramConfig,
)
from bot.dingtalk.runtime import serve_both
from bot.domain.accounts import account_number
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import Clock
from bot.domain.model import DINGTALK
from bot.domain.periods import PeriodKind, period_of
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.fakeapi.persistence import export_state, import_state
from bot.fakedingtalk import FakeDingTalk
from bot.runtime import setup_logging
from bot.sandbox import demo
from bot.sandbox.control import ACTIONS, Identity, SandboxControl
from bot.sandbox.persist import SandboxState, Saver, wipe
from bot.services import Services
from bot.tg.app import build_application, build_intake
from bot.tg.runner import serve

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "100000:LUOSHI-SANDBOX"
SANDBOX_BOT = "luoshi_sandbox_bot"
# The sandbox's own 钉钉 app (only ever against its in-process FakeDingTalk).
SANDBOX_DINGTALK = {"client_id": "dingsandboxclient", "client_secret": "sandbox-secret",
                    "robot_code": "dingsandboxrobot"}
DEFAULT_PORT = 8080


class MovableClock(Clock):
    """Wall-clock time plus an offset the sandbox page moves forward."""

    def __init__(self, tz: tzinfo, wall: Callable[[tzinfo], datetime] = datetime.now) -> None:
        self._tz = tz
        self._wall = wall
        self.offset = timedelta()

    def now(self) -> datetime:
        return self._wall(self._tz) + self.offset

    def move_to(self, moment: datetime) -> None:
        self.offset = moment - self._wall(self._tz)


def start_in_working_hours(clock: MovableClock, calendar: WorkCalendar, send_at: time) -> None:
    """Opened at night, before the morning send time or on a day off, the sandbox starts at
    the next send time on a workday, so the page shows a day's reminders at once."""
    now = clock.now()
    day = now.date()
    if calendar.is_workday(day) and now.time() >= send_at:
        return
    if not calendar.is_workday(day):
        day = calendar.next_workday(day)
    clock.move_to(datetime.combine(day, send_at, tzinfo=now.tzinfo))


class LiveSandbox(SandboxControl):
    def __init__(self, api: FakeBotApi, clock: MovableClock,
                 dingtalk: FakeDingTalk | None = None) -> None:
        self.api = api
        self.clock = clock
        #: The in-process fake 钉钉 the bot's 钉钉 channel runs against (None: Telegram only).
        self.dingtalk = dingtalk
        self.services: Services | None = None
        self.app: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.saver: Saver | None = None
        #: Set on the bot's loop to stop it (重置沙盒 stops it, then it is built again).
        self.stop: asyncio.Event | None = None
        self.ready = threading.Event()
        self._reset_requested = False

    def identities(self) -> list[Identity]:
        """The admin, every bound person once per channel (by Telegram id; on 钉钉 by their
        account's number) and a new user whose id is not anyone's yet (after an invite binds
        the new user, the next one gets another id)."""
        found = [Identity(demo.ADMIN_ID, demo.ADMIN_NAME, "admin", "县政府督查室")]
        used = {demo.ADMIN_ID}
        if self.services is not None:
            people = sorted(self.services.ledger.repo.people(), key=lambda p: (p.unit, p.name))
            for person in people:
                if person.user_id and person.user_id not in used:
                    used.add(person.user_id)
                    role = "leader" if person.role.value == "leader" else "official"
                    found.append(Identity(person.user_id, person.name, role, person.unit))
                address = person.address_on(DINGTALK)
                if address is not None and self.dingtalk is not None:
                    role = "leader" if person.role.value == "leader" else "official"
                    found.append(Identity(account_number(address), person.name, role,
                                          person.unit, channel=DINGTALK, account=address.id))
        new_user = demo.NEW_USER_ID
        while new_user in used:
            new_user += 1
        found.append(Identity(new_user, "新用户", "new"))
        return found

    def admin_group(self) -> tuple[int, str]:
        return demo.GROUP_ID, demo.GROUP_TITLE

    def now(self) -> datetime:
        return self.clock.now()

    def run_action(self, action: str, timeout: float = 120.0) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if self.loop is None:
            return "机器人尚在启动，请稍候再试。"
        future = asyncio.run_coroutine_threadsafe(self._act(action), self.loop)
        result = future.result(timeout)
        if self.saver is not None:  # the clock may have moved: keep it at once
            self.saver.save_now()
        return result

    def reset(self, timeout: float = 120.0) -> str:
        loop, stop = self.loop, self.stop
        if loop is None or stop is None:
            return "机器人尚在启动，请稍候再试。"
        self.ready.clear()
        self._reset_requested = True
        loop.call_soon_threadsafe(stop.set)
        if not self.ready.wait(timeout):
            raise TimeoutError("the sandbox did not come back in time")
        return "沙盒已重置：新的演示台账，聊天记录已清空，时钟从今天重新开始。"

    def take_reset(self) -> bool:
        """Whether the bot stopped for 重置沙盒 (and forget it)."""
        requested, self._reset_requested = self._reset_requested, False
        return requested

    async def _act(self, action: str) -> str:
        from jobs.schedule import publish_bulletin, send_summary

        services = self.services
        assert services is not None
        calendar = services.calendar
        if action in ("next_workday", "next_day"):
            day = self.clock.now().date() + timedelta(days=1)
            if action == "next_workday":
                while not calendar.is_workday(day):
                    day += timedelta(days=1)
            send_at = services.config.rhythm.send_at
            self.clock.move_to(datetime.combine(day, send_at, tzinfo=self.clock.now().tzinfo))
            if not calendar.is_workday(day):
                return f"已到 {services.messages.date(day)}（休息日）"
            report = await services.rhythm().run()
            sent_bulletins = 0
            for kind in (PeriodKind.XUN, PeriodKind.MONTH, PeriodKind.QUARTER):
                if calendar.is_first_workday(day, kind):
                    await publish_bulletin(services, period_of(kind, day).previous(), day)
                    sent_bulletins += 1
            extra = f"，工作通报 {sent_bulletins} 期" if sent_bulletins else ""
            return (f"已到 {services.messages.date(day)} {send_at:%H:%M}：调度提醒 "
                    f"{report.sent} 条{extra}")
        today = self.clock.now().date()
        if action == "dispatch":
            report = await services.rhythm().run()
            if not report.workday:
                return "今天是休息日，不发送调度提醒。"
            return f"今日调度：应发 {report.due} 条，本次发送 {report.sent} 条"
        if action == "bulletin":
            period = period_of(PeriodKind.XUN, today).previous()
            await publish_bulletin(services, period, today)
            return f"已发送 {period.label()} 工作通报（同一期每天只发一次）"
        # The summary of the day so far; the clock stays where it is.
        if not calendar.is_workday(today):
            return "今天是休息日，不发送今日小结。"
        if not await send_summary(services, today):
            return "督查室的聊天都无法送达，今日小结未发送。"
        return "已向督查室发送今日小结（时钟不变）"


def sandbox_config(config: Config, server: FakeBotApiServer,
                   dingtalk: FakeDingTalk | None = None) -> Config:
    """The user's config with the sandbox's token, server, people and its own data folder;
    with `dingtalk`, the 钉钉 channel against that fake (the sandbox's own app; any ``[dingtalk]``
    the user configured is never used here)."""
    data = config.storage.dir
    fake_dingtalk = DingTalkConfig(api_base=dingtalk.url, **SANDBOX_DINGTALK) \
        if dingtalk is not None else DingTalkConfig()
    return dataclasses.replace(
        config,
        dingtalk=fake_dingtalk,
        telegram=TelegramConfig(token=SANDBOX_TOKEN, base_url=server.base_url,
                                base_file_url=server.base_file_url),
        storage=StorageConfig(dir=data.with_name(data.name + "-sandbox"),
                              keep_backups=config.storage.keep_backups,
                              snapshot_every=config.storage.snapshot_every),
        access=AccessConfig(admins=frozenset({demo.ADMIN_ID})),
        chats=ChatsConfig(admin_group=demo.GROUP_ID),
    )


def run_sandbox(config: Config, *, port: int = DEFAULT_PORT) -> int:
    from bot.sandbox.web import SandboxWeb

    clock = MovableClock(config.timezone)
    api = _new_api(clock)
    dingtalk = new_dingtalk(clock).start()
    control = LiveSandbox(api, clock, dingtalk)
    server = FakeBotApiServer(api, port=port, routes=SandboxWeb(api, control))
    config = sandbox_config(config, server, dingtalk)
    # One line on the terminal (where to click); the bot's own log goes to a file.
    config.storage.dir.mkdir(parents=True, exist_ok=True)
    setup_logging(SANDBOX_TOKEN, log_file=config.storage.dir / "sandbox.log")
    server.start()
    print(f"落实沙盒已启动，请在浏览器打开 http://127.0.0.1:{server.port}"
          f"（未配置 Telegram 令牌；数据在 {config.storage.dir}）", flush=True)
    try:
        while True:
            _run_once(config, control)
            if not control.take_reset():
                return 0
            log.info("重置沙盒: emptying %s", config.storage.dir)
            wipe(config.storage.dir)
            fresh, blobs = export_state(_new_api(clock))
            import_state(api, fresh, blobs.__getitem__)
            dingtalk.forget_messages()
            clock.offset = timedelta()
    finally:
        server.stop()
        dingtalk.stop()


def new_dingtalk(clock: MovableClock) -> FakeDingTalk:
    """The sandbox's fake 钉钉 (not started), on the sandbox's clock."""
    return FakeDingTalk(clock=lambda: clock.now().timestamp(), **SANDBOX_DINGTALK)


def _new_api(clock: MovableClock) -> FakeBotApi:
    return FakeBotApi(token=SANDBOX_TOKEN, bot_username=SANDBOX_BOT,
                      bot_first_name="落实机器人", clock=lambda: clock.now().timestamp())


def _run_once(config: Config, control: LiveSandbox) -> None:
    """Build the bot on the sandbox's data and run it until SIGINT/SIGTERM or 重置沙盒. The
    chats and the clock are those saved last time, when the ledger is the same."""
    api, clock = control.api, control.clock
    state = SandboxState(config.storage.dir)
    services = bootstrap(config, clock=clock)
    resumed: datetime | None = None
    if list(services.ledger.repo.tasks()):
        resumed = state.restore(api, config.timezone)
    elif state.exists():
        state.set_aside("belongs to an earlier ledger (this one is new)")
    if resumed is not None:
        clock.move_to(resumed)
        log.info("sandbox resumed at %s", resumed.isoformat())
    else:
        start_in_working_hours(clock, services.calendar, config.rhythm.send_at)
        demo.seed_demo(services.ledger, services.calendar, clock.now())
    api.add_user(demo.ADMIN_ID, demo.ADMIN_NAME)
    api.add_group(demo.GROUP_ID, demo.GROUP_TITLE)
    for person in services.ledger.repo.people():
        if person.user_id and person.user_id not in api.users:
            api.add_user(person.user_id, person.name)
            api.start_chat(person.user_id)
    api.start_chat(demo.ADMIN_ID)
    if control.dingtalk is not None:
        for person in services.ledger.repo.people():
            address = person.address_on(DINGTALK)
            if address is not None and address.id not in control.dingtalk.state.staff:
                control.dingtalk.add_staff(address.id, person.name)
    app = build_application(services)
    saver = Saver(state, api, clock.now, lambda: clock.offset).start()
    control.services, control.app, control.saver = services, app, saver
    original_post_init = app.post_init

    async def post_init(application: Any) -> None:
        if original_post_init is not None:
            await original_post_init(application)
        control.loop = asyncio.get_running_loop()
        control.ready.set()

    app.post_init = post_init

    async def main() -> None:
        control.stop = asyncio.Event()
        intake = build_intake(app, services)
        if services.config.dingtalk.enabled:
            await serve_both(services, app, intake, control.stop)
        else:
            await serve(app, intake, control.stop)

    try:
        asyncio.run(main())
    finally:
        control.loop = control.stop = None
        control.saver = None
        saver.stop()
        control.services = control.app = None
