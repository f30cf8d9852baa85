"""Telegram updates in: received at least once, applied exactly once, one chat never blocking
another.

python-telegram-bot's own polling confirms a batch to Telegram as soon as it is fetched and
handles updates one at a time. This module replaces it (see ``bot/adapters/inbox.py`` for the
durability argument):

* ``poll`` fetches with ``getUpdates``, makes the new updates durable in the inbox, and only
  then confirms them (the next call's offset). A redelivered update is recognised by its
  receipt key, never by comparing ids: ids may jump backwards (a new numbering after a quiet
  week, a test server restarted).
* Updates are handled in *lanes*, one per chat: in order within a chat, concurrently across
  chats. A group answer waiting for Telegram's 20-per-minute group limit, or a long command,
  holds up only its own chat.
* Senders who are neither admins nor bound officials (strangers) get a small budget per user
  in private chats and none in groups; beyond it their updates are dropped without an answer
  (and without being stored).
* At start-up, updates received but not yet applied (a crash, a stop) are handled first;
  those applied but never answered (the crash came between the commit and the answer) are
  answered without being applied again (`reanswer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.adapters.inbox import APPLIED, StoreInbox, applying, receipt_key
from bot.adapters.lanes import Lanes
from bot.domain.ports import ConcurrentChange, PersistenceError

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds a long poll waits for updates
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # after network trouble, one step per failure
STRANGER_BUDGET = 20  # updates per user ...
STRANGER_WINDOW = 600.0  # ... per this many seconds
STOP_GRACE = 10.0  # seconds running handlers get to finish at shutdown
SWEEP_EVERY = 30.0  # seconds between two looks for updates a stopped worker left (`sweep`) …
SWEEP_AFTER = timedelta(minutes=2)  # … that have waited this long

Sleep = Callable[[float], Awaitable[None]]


class StrangerBudget:
    """At most ``limit`` updates per ``window`` seconds from one unknown sender."""

    def __init__(self, limit: int = STRANGER_BUDGET, window: float = STRANGER_WINDOW, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.monotonic = monotonic
        self._hits: dict[int, deque[float]] = {}
        self.dropped = 0

    def allow(self, user_id: int) -> bool:
        now = self.monotonic()
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            self.dropped += 1
            if self.dropped % 100 == 1:
                log.info("ignoring a stranger's flood (user %s; %d ignored so far)", user_id,
                         self.dropped)
            return False
        hits.append(now)
        if len(self._hits) > 10_000:  # forget quiet senders
            self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < self.window}
        return True


def lane_of(update: Update) -> int:
    """Updates of one chat are handled in order: the chat's id (the user's without a chat)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


def _migration(update: Update) -> bool:
    """Telegram's note that a group became a supergroup (sent "by" whoever upgraded it)."""
    message = update.effective_message
    return message is not None and bool(message.migrate_to_chat_id
                                        or message.migrate_from_chat_id)


class Intake:
    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], inbox: StoreInbox, *,
                 is_known: Callable[[int], bool],
                 budget: StrangerBudget | None = None,
                 allowed_updates: Sequence[str] | None = None,
                 reanswer: Callable[[Update], Awaitable[None]] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.app = app
        self.inbox = inbox
        self.is_known = is_known
        self.budget = budget or StrangerBudget()
        self.allowed_updates = list(allowed_updates) if allowed_updates else None
        self._reanswer = reanswer
        self._sleep = sleep
        self._lanes: Lanes[tuple[str | None, Update, bool]] = Lanes(
            lambda item: self._handle(*item), "luoshi-lane")
        self.handled = 0
        # Webhook mode: an update that could not be stored is refused (PersistenceError), so
        # Telegram delivers it again — to this or another worker — once the store is back.
        # Polling cannot refuse (an unconfirmed batch blocks every later update): there it
        # is answered unrecorded ("not saved, please resend").
        self.redeliver_unstored = False

    # ---- in ------------------------------------------------------------------------------

    async def accept(self, raws: Sequence[dict[str, Any]]) -> int:
        """Take fetched updates: drop redeliveries and strangers' floods, make the rest
        durable (PersistenceError if that failed: then do not confirm them), start handling.
        Returns how many were new."""
        fresh: list[tuple[str, dict[str, Any], Update]] = []
        self.inbox.refresh()  # a shared store: what other workers received too
        for raw in raws:
            key = receipt_key(raw)
            if self.inbox.known(key):
                log.info("update %s was received before; not applied again", raw.get("update_id"))
                continue
            try:
                update = Update.de_json(raw, self.app.bot)
            except Exception:  # a shape this library cannot read: nothing we could do with it
                log.exception("cannot read update %s; skipped", raw.get("update_id"))
                continue
            user = update.effective_user
            if user is not None and not self.is_known(user.id) and not _migration(update):
                chat = update.effective_chat
                if chat is not None and chat.type != "private":
                    # A stranger in a group can do nothing there; answering would spend the
                    # group's 20 messages a minute that the officials' answers need.
                    continue
                if not self.budget.allow(user.id):
                    continue
            fresh.append((key, raw, update))
        if not fresh:
            return 0
        try:
            self.inbox.receive([(key, raw) for key, raw, _update in fresh])
        except ConcurrentChange:
            # Another worker received some of them meanwhile (a redelivery to two workers at
            # once, a shared store): now known; keep the rest.
            return await self.accept([raw for key, raw, _update in fresh
                                      if not self.inbox.known(key)])
        except PersistenceError as err:
            if self.redeliver_unstored:
                raise  # the webhook answers 500: Telegram sends them again later
            # The disk is full or failing. Handle them anyway: their own changes cannot be
            # saved either, so each sender is told nothing was saved and to resend (and the
            # admins are alerted) — better than silence while Telegram redelivers.
            log.error("updates could not be stored (%s); answering them unrecorded", err)
            for _key, _raw, update in fresh:
                self._enqueue(None, update)
            return len(fresh)
        for key, _raw, update in fresh:
            self._enqueue(key, update)
        return len(fresh)

    async def replay(self, older_than: timedelta | None = None) -> int:
        """Before polling: answer what was applied but not answered before the last stop or
        crash, and handle what was received but not applied. Returns how many. `older_than`:
        only what has waited that long (`sweep`)."""
        unanswered = self.inbox.pending(APPLIED, older_than=older_than)
        for key, raw in unanswered:
            update = self._read(key, raw)
            if update is not None:
                self._enqueue(key, update, reanswer=True)
        pending = self.inbox.pending(older_than=older_than)
        for key, raw in pending:
            update = self._read(key, raw)
            if update is not None:
                self._enqueue(key, update)
        if pending or unanswered:
            log.info("after the last stop: %d update(s) to handle, %d to answer",
                     len(pending), len(unanswered))
        return len(pending) + len(unanswered)

    async def sweep(self, stop: asyncio.Event, planner: Callable[[], bool], *,
                    every: float = SWEEP_EVERY, older_than: timedelta = SWEEP_AFTER) -> None:
        """Several webhook workers on one store: an update a worker stored (and Telegram
        was told so) but never handled — the worker died — is handled by the planner (one
        worker at a time) once it has waited `older_than`; a redelivery of it, or the slow
        worker finishing meanwhile, is recognised by its applied mark (`_handle`)."""
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            if planner():
                self.inbox.refresh()
                found = await self.replay(older_than)
                if found:
                    log.warning("%d update(s) left by a stopped worker handled here", found)

    def _read(self, key: str, raw: dict[str, Any]) -> Update | None:
        try:
            return Update.de_json(raw, self.app.bot)
        except Exception:
            log.exception("cannot read stored update %s; skipped", key)
            return None

    # ---- lanes ---------------------------------------------------------------------------

    def _enqueue(self, key: str | None, update: Update, *, reanswer: bool = False) -> None:
        self._lanes.add(lane_of(update), (key, update, reanswer))

    async def _handle(self, key: str | None, update: Update, reanswer: bool = False) -> None:
        receipt = self.inbox.begin(key) if key is not None else None
        if receipt is not None and not reanswer and self.inbox.applied(receipt.key):
            # Applied by another worker since (a shared store's sweep met a slow worker).
            log.info("update %s was applied elsewhere; not applied again", update.update_id)
            return
        token = applying.set(receipt)
        try:
            if not reanswer:
                await self.app.process_update(update)
            elif self._reanswer is not None:
                await self._reanswer(update)
        except Exception:  # process_update reports handler errors itself; this is a bug
            log.exception("update %s could not be processed", update.update_id)
        finally:
            applying.reset(token)
        try:
            if receipt is not None:
                self.inbox.finish(receipt)
        except PersistenceError as err:
            # Answered but not marked done: after a restart it is answered again, or (if it
            # committed nothing) handled again — at least once, never applied twice.
            log.error("update %s handled but not marked applied: %s", update.update_id, err)
        self.handled += 1

    async def idle(self) -> None:
        """Wait until every accepted update was handled."""
        await self._lanes.idle()

    async def close(self, grace: float = STOP_GRACE) -> None:
        """Let running handlers finish (at most `grace` seconds), then cancel the rest; what
        was not applied stays in the inbox for the next start."""
        await self._lanes.close(grace)

    # ---- polling -------------------------------------------------------------------------

    async def poll(self, stop: asyncio.Event, *, timeout: int = POLL_TIMEOUT) -> None:
        """Long-poll Telegram until `stop` is set. An update is confirmed (by the next
        call's offset) only once it is durable in the inbox."""
        offset: int | None = None
        failures = 0
        bot = self.app.bot
        while not stop.is_set():
            fetch = asyncio.ensure_future(bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=self.allowed_updates))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()  # stopping: nothing fetched by this call is confirmed
                await asyncio.gather(fetch, return_exceptions=True)
                return
            try:
                updates = fetch.result()
            except InvalidToken:
                raise
            except RetryAfter as err:
                await self._sleep(err.retry_after if isinstance(err.retry_after, float | int)
                                  else err.retry_after.total_seconds())
                continue
            except Conflict as err:
                log.error("another process polls this bot token (%s); retrying", err)
                failures = await self._back_off(failures)
                continue
            except TelegramError as err:
                log.warning("getUpdates failed: %s", err)
                failures = await self._back_off(failures)
                continue
            failures = 0
            if not updates:
                # Everything before `offset` is confirmed now. Without an offset the next
                # call gets whatever Telegram has, whatever its ids: a new numbering too.
                offset = None
                continue
            raws = [update.to_dict() for update in updates]
            await self.accept(raws)
            offset = updates[-1].update_id + 1

    async def _back_off(self, failures: int) -> int:
        await self._sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
        return failures + 1
