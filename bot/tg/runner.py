"""Runs the Application with our own intake instead of `Application.run_polling`.

The life cycle is python-telegram-bot's (initialize → post_init → start → … → stop →
post_stop → shutdown → post_shutdown); only the fetching differs (bot/tg/intake.py). The
scheduled jobs (jobs/schedule.py) are installed at post_init and run once the Application has
started, after the inbox's replay; post_stop lets a running one finish. SIGINT and SIGTERM
stop it gracefully: handlers get a few seconds, and whatever was received but not applied
waits in the inbox for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.runtime import stop_on_signals
from bot.tg.app import start_jobs
from bot.tg.intake import BACKOFF, Intake

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]


def run_polling(app: App, intake: Intake) -> None:
    """Block until SIGINT/SIGTERM (the `python -m bot run` main loop)."""
    asyncio.run(serve(app, intake))


async def serve(app: App, intake: Intake, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    started = False
    try:
        await _initialize(app, stop)
        if stop.is_set():
            return
        if app.post_init is not None:
            await app.post_init(app)
        with contextlib.suppress(TelegramError):
            await app.bot.delete_webhook()  # getUpdates is refused while a webhook is set
        await intake.replay()
        await app.start()
        started = True
        start_jobs(app)
        await intake.poll(stop)
    finally:
        await intake.close()
        if started and app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()  # nothing to do if it never initialized
        if app.post_shutdown is not None:  # closes the store, whatever happened
            await app.post_shutdown(app)


async def _initialize(app: App, stop: asyncio.Event) -> None:
    """`getMe` until it works: a bot started while the network is down waits for it."""
    failures = 0
    while not stop.is_set():
        try:
            await app.initialize()
            return
        except InvalidToken:
            raise
        except TelegramError as err:
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            log.warning("cannot reach Telegram (%s); retrying in %.0f s", err, delay)
            failures += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
