"""钉钉 at run time: the client, sender, inbound side and Stream built from ``[dingtalk]`` on the
bootstrapped services, and the process's life cycle with 钉钉 alone or beside Telegram.

* `DingTalkRuntime(services)` builds `DingTalkApi` (one httpx client), `DingTalkSender` with
  a directory over `Services.address_of` (people's 钉钉 accounts, the configured groups, and
  the chats that wrote to the robot since start: a stranger or an unconfigured group is
  answered too), `DingTalkInbound` and its `DingTalkIntake` (the durable inbox), and the
  `StreamClient` whose handler is the intake.
* `serve_dingtalk(services, stop)` — 钉钉 only: the scheduled jobs installed paused, the inbox
  replayed, the jobs resumed, the Stream served until `stop`; then the jobs stop, the lanes
  get a few seconds, the store is closed.
* `serve_both(services, app, intake, stop)` — Telegram and 钉钉: the Telegram Application
  connects its sender; both go behind a `ChannelRouter` (bot/channels.py) as the services'
  one sender; Telegram's runner owns the jobs' life cycle (one scheduler for both), and the
  Stream runs beside it until the same stop. Telegram by polling or by webhook (`runner`).

**Shutdown order with both channels.** Telegram's runner closes the store last thing
(``post_shutdown``), right after closing its own intake. 钉钉's frames are ACKed once they are
in the inbox, but applied afterwards in lanes: closing the store under a running lane would
lose the change (it would be replayed at the next start, answered late) or fail it half way.
So Telegram's intake is handed to the runner wrapped (`_DingTalkFirst`): its `close` — the
first step of the runner's shutdown, before the application stops, the jobs stop and the
store closes — first ends the Stream (no new frames), then lets 钉钉's lanes finish their
queued frames (`DingTalkIntake.close`, a few seconds' grace; what does not finish stays in the
inbox), and only then closes Telegram's intake. 钉钉's HTTP client is closed after the runner
returns, so the jobs' last sends and Telegram's draining lanes can still reach 钉钉.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.channels import ChannelRouter
from bot.dingtalk.api import DingTalkApi
from bot.dingtalk.inbound import DingTalkInbound, DingTalkIntake, said_of
from bot.dingtalk.sender import DingTalkSender, Target
from bot.dingtalk.stream import StreamClient
from bot.domain.model import DINGTALK, TELEGRAM
from bot.runtime import stop_on_signals
from bot.services import Services

log = logging.getLogger(__name__)


class DingTalkRuntime:
    """Everything 钉钉 needs in the process, on the services (see the module docstring)."""

    def __init__(self, services: Services, *, http: httpx.AsyncClient | None = None) -> None:
        config = services.config.dingtalk
        self.services = services
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self.api = DingTalkApi(self.http, client_id=config.client_id,
                               client_secret=config.client_secret,
                               robot_code=config.robot_code, api_base=config.api_base)
        self.seen: dict[int, Target] = {}  # chats that wrote to the robot since start
        self.sender = DingTalkSender(self.api, self.directory)
        self.inbound = DingTalkInbound(services)
        self.intake = DingTalkIntake(self.inbound, services.inbox, on_frame=self._saw)
        self.stream = StreamClient(api_base=config.api_base, client_id=config.client_id,
                                   client_secret=config.client_secret, handler=self.intake)

    def directory(self, chat_id: int) -> Target | None:
        """A chat number as a 钉钉 target: ("user", staffId) or ("group", cid)."""
        address = self.services.address_of(chat_id)
        if address is not None and address.channel == DINGTALK:
            return ("group" if chat_id < 0 else "user", address.id)
        return self.seen.get(chat_id)

    def _saw(self, data: dict[str, Any]) -> None:
        said = said_of(data)
        if said.private:
            staff = str(data.get("senderStaffId") or "")
            if staff:
                self.seen[said.chat_id] = ("user", staff)
        elif data.get("conversationId"):
            self.seen[said.chat_id] = ("group", str(data["conversationId"]))

    async def close(self) -> None:
        await self.intake.close()
        await self.http.aclose()


async def serve_dingtalk(services: Services, stop: asyncio.Event | None = None) -> None:
    """钉钉 alone: jobs, replay, Stream, until SIGINT/SIGTERM or `stop`."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    runtime = DingTalkRuntime(services)
    services.connect(runtime.sender)
    try:
        services.jobs.start(paused=True)
        await runtime.intake.replay()
        services.jobs.resume()
        log.info("Luoshi started on 钉钉 (Stream mode)")
        await runtime.stream.run(stop)
    finally:
        await services.jobs.stop()
        await runtime.close()
        await services.jobs.stop(wait=False)
        if services.close is not None:
            services.close()


class _DingTalkFirst:
    """Telegram's intake as the runner sees it, whose `close` first drains 钉钉 (the module
    docstring's shutdown order)."""

    def __init__(self, telegram: Any, runtime: DingTalkRuntime, stream: asyncio.Task[None],
                 stop: asyncio.Event) -> None:
        self.telegram = telegram
        self.runtime = runtime
        self.stream = stream
        self.stop = stop

    async def replay(self) -> Any:
        return await self.telegram.replay()

    async def poll(self, stop: asyncio.Event) -> None:
        await self.telegram.poll(stop)

    async def accept(self, raws: Any) -> int:  # webhook mode: the server hands updates here
        return int(await self.telegram.accept(raws))

    @property
    def allowed_updates(self) -> Any:
        return self.telegram.allowed_updates

    async def close(self) -> None:
        self.stop.set()
        try:
            await self.stream  # the Stream returns promptly once stop is set
        except Exception:
            log.exception("钉钉 Stream failed")
        finally:
            await self.runtime.intake.close()  # 钉钉's queued frames, before the store closes
            await self.telegram.close()


async def serve_both(services: Services, app: Any, intake: Any,
                     stop: asyncio.Event | None = None, *,
                     runner: Callable[[Any, Any, asyncio.Event], Awaitable[None]] | None = None,
                     ) -> None:
    """Telegram and 钉钉 in one loop: one router as the sender, one scheduler (Telegram's
    runner starts, resumes and stops it), one stop; 钉钉's intake drained before the runner
    closes the store. `runner(app, intake, stop)` is Telegram's: `serve` (polling) unless
    given (webhook mode: `serve_webhook` with its address)."""
    from bot.tg.runner import serve

    telegram_runner = runner or serve
    stop = stop or asyncio.Event()
    runtime = DingTalkRuntime(services)
    telegram = services.sender
    assert telegram is not None, "the Telegram Application connects its sender first"
    services.connect(ChannelRouter({TELEGRAM: telegram, DINGTALK: runtime.sender}),
                     services.watch)
    await runtime.intake.replay()
    stream = asyncio.create_task(runtime.stream.run(stop), name="luoshi-dingtalk-stream")
    try:
        drained_first: Any = _DingTalkFirst(intake, runtime, stream, stop)  # Intake's shape
        await telegram_runner(app, drained_first, stop)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await stream
        await runtime.close()
