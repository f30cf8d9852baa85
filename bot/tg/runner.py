"""Runs the Application with our own intake instead of `Application.run_polling` or
`run_webhook`.

The life cycle is python-telegram-bot's (initialize → post_init → start → … → stop →
post_stop → shutdown → post_shutdown), one copy for both modes (`_life_cycle`); only the
receiving differs: `serve` polls (bot/tg/intake.py), `serve_webhook` serves the webhook
(bot/tg/webhook.py) in one of several workers. The scheduled jobs (jobs/schedule.py) are
installed at post_init and run once the Application has started, after the inbox's replay;
post_stop lets a running one finish. SIGINT and SIGTERM stop it gracefully: handlers get a
few seconds, and whatever was received but not applied waits in the inbox for the next start.

Several workers share one webhook, so a worker never deletes it: not when it stops (the others
still serve it), and not at start in webhook mode. Polling deletes it at start (getUpdates is
refused while one is set): switching a deployment back to polling takes one restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.runtime import stop_on_signals
from bot.tg.app import start_jobs
from bot.tg.context import services_of
from bot.tg.intake import BACKOFF, Intake
from bot.tg.webhook import Health, WebhookServer, webhook_path

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
WEBHOOK_MAX_CONNECTIONS = 40  # Telegram's default: connections it opens to the balancer


def run_polling(app: App, intake: Intake) -> None:
    """Block until SIGINT/SIGTERM (the `python -m bot run` main loop)."""
    asyncio.run(serve(app, intake))


def run_webhook(app: App, intake: Intake, listen: tuple[str, int] | None = None) -> None:
    """Block until SIGINT/SIGTERM, serving the webhook on `listen` (webhook mode)."""
    asyncio.run(serve_webhook(app, intake, listen))


async def serve(app: App, intake: Intake, stop: asyncio.Event | None = None) -> None:
    """Polling: one process fetches with getUpdates (bot/tg/intake.py `Intake.poll`)."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)

    async def no_webhook() -> None:
        with contextlib.suppress(TelegramError):
            await app.bot.delete_webhook()  # getUpdates is refused while a webhook is set

    await _life_cycle(app, intake, stop, prepare=no_webhook, receive=lambda: intake.poll(stop))


async def serve_webhook(app: App, intake: Intake, listen: tuple[str, int] | None = None,
                        stop: asyncio.Event | None = None, *, health: Health | None = None,
                        on_serving: Callable[[WebhookServer], None] | None = None) -> None:
    """Webhook mode: Telegram posts updates to `[telegram] webhook_url`; this worker serves
    them on `listen` (default `[telegram] webhook_listen`) beside any number of others.

    The port is bound first (a port in use fails at once); the Application starts as in
    polling; then the server takes updates (bot/tg/webhook.py) and `setWebhook` is called —
    on every start: it is idempotent, and it tells Telegram the allowed updates and the
    secret. Stopping never calls `deleteWebhook`: the other workers still serve it. The
    server is closed (no new update, those being stored finish) before the intake and the
    store are. `health` adds to /healthz's JSON; `on_serving` is told once updates are
    taken (tests read the bound port from it)."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    telegram = services_of(app).config.telegram
    host, port = listen or telegram.webhook_listen
    server = WebhookServer(intake, path=webhook_path(telegram.webhook_url),
                           secret=telegram.webhook_secret, health=health)

    async def bind() -> None:  # ListenError if it cannot (then the store is closed as usual)
        await server.start(host, port)
        log.info("webhook: listening on %s:%d", host, server.port)

    async def receive() -> None:
        try:
            server.serving()
            if on_serving is not None:
                on_serving(server)
            await _set_webhook(app, telegram.webhook_url, telegram.webhook_secret,
                               intake.allowed_updates, stop)
            await stop.wait()
        finally:
            await server.close()

    try:
        await _life_cycle(app, intake, stop, begin=bind, receive=receive)
    finally:
        await server.close()


async def _life_cycle(app: App, intake: Intake, stop: asyncio.Event, *,
                      receive: Callable[[], Awaitable[None]],
                      begin: Callable[[], Awaitable[None]] | None = None,
                      prepare: Callable[[], Awaitable[None]] | None = None) -> None:
    """python-telegram-bot's life cycle around our intake, the same for polling and webhook:
    `begin` (the webhook's port bound) → initialize (retried until Telegram answers) →
    post_init (the jobs installed, paused) → `prepare` → the inbox replayed → start → the
    jobs resumed → `receive` until `stop`; then the intake's lanes drain → stop → post_stop
    (the jobs stop) → shutdown → post_shutdown (the store closes, whatever happened)."""
    started = False
    try:
        if begin is not None:
            await begin()
        await _initialize(app, stop)
        if stop.is_set():
            return
        if app.post_init is not None:
            await app.post_init(app)
        if prepare is not None:
            await prepare()
        await intake.replay()
        await app.start()
        started = True
        start_jobs(app)
        await receive()
    finally:
        await intake.close()
        if started and app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()  # nothing to do if it never initialized
        if app.post_shutdown is not None:  # closes the store, whatever happened
            await app.post_shutdown(app)


async def _set_webhook(app: App, url: str, secret: str, allowed: Sequence[str] | None,
                       stop: asyncio.Event) -> None:
    """`setWebhook` until it works (a worker started while Telegram is unreachable keeps
    serving what the others' webhook sends it, and registers once it can)."""
    async def register() -> None:
        await app.bot.set_webhook(url=url, secret_token=secret, allowed_updates=allowed,
                                  max_connections=WEBHOOK_MAX_CONNECTIONS)
        log.info("webhook registered with Telegram")

    await _until_it_works(register, stop, "setWebhook failed")


async def _initialize(app: App, stop: asyncio.Event) -> None:
    """`getMe` until it works: a bot started while the network is down waits for it."""
    await _until_it_works(app.initialize, stop, "cannot reach Telegram")


async def _until_it_works(call: Callable[[], Awaitable[object]], stop: asyncio.Event,
                          failed: str) -> None:
    """`call()` until it returns or `stop` is set; Telegram's errors are retried after a
    growing pause (an invalid token is not: it will not get better)."""
    failures = 0
    while not stop.is_set():
        try:
            await call()
            return
        except InvalidToken:
            raise
        except TelegramError as err:
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            log.warning("%s (%s); retrying in %.0f s", failed, err, delay)
            failures += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
