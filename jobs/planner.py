"""One planner at a time: the election port the scheduled jobs run under (issue 16, item 4).

Scheduled work (the daily dispatch, bulletins, the summary, the start-up catch-up:
jobs/schedule.py) must run in one process of a deployment. A county install is one process
on TinyDB, so its lock is always held (`LocalPlannerLock`: today's behaviour, no election at
all). Several webhook workers on one PostgreSQL elect one of them with an advisory lock
(bot/adapters/planner_lock.py `PostgresPlannerLock`); the scheduler hooks (bot/scheduling.py
`ScheduledJobs`) build the scheduler when this worker gains the lock and tear it down when it
loses it.

The election loop lives here, channel- and database-neutral (standard library and asyncio):
every `period` seconds the implementation makes one `_attempt` — try to take the lock, or,
when held, a cheap keepalive that proves the session holding it is alive. An attempt that
fails or gets no answer within `timeout` means the session is gone or cannot be trusted:
leadership is lost at once (`lost` is awaited before anything else, so the jobs are paused
before any reconnecting), the session is abandoned (closed in the background: a query stuck
on a half-dead connection may take a while to give up) and the next attempt opens a new one.

Safety rests on the implementation: its lock must be released by the server when the holding
session dies, and the server must end a silent session later than this loop notices the
silence (`period + timeout`) — PostgresPlannerLock's `idle_session_timeout` fence. Between
the two, an old planner may still be finishing a write; the outbox's keys make a second run
send only what is missing (jobs/dispatch.py).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

PERIOD = 5.0  # seconds between attempts: a dead planner is replaced within ~2 periods
Transition = Callable[[], Awaitable[None]]

__all__ = ["PERIOD", "LocalPlannerLock", "PlannerLock", "Transition"]


class PlannerLock(ABC):
    """Who plans: `holding` says whether this process is the planner now.

    `run(gained, lost)` campaigns until cancelled, awaiting `gained` when this process
    becomes the planner and `lost` when it stops being it (never twice in a row). Cancelling
    `run` between attempts keeps a held lock (the caller may still want to finish a running
    job while others wait; mid-attempt the session's state is unknown, so it is ended);
    `release()` gives it up (ends the session). `changed` is notified after every
    attempt, so a caller (a test, a health check) can wait for a state without polling.
    """

    local = False  # True: always held, no election (one process: TinyDB)

    def __init__(self, *, period: float = PERIOD, timeout: float | None = None) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        self.period = period
        self.timeout = period if timeout is None else timeout
        self.attempts = 0  # attempts made (observability, tests)
        self.changed = asyncio.Condition()
        self._holding = False
        self._failing = False  # the last attempt failed (log the first failure only)
        self._cleanups: set[asyncio.Task[None]] = set()

    @property
    def holding(self) -> bool:
        """This process is the planner (for a health endpoint: no query, no wait)."""
        return self._holding

    def identify(self, listen: str) -> None:
        """Name this worker also by the address it serves (``--listen``), before `run`."""
        return None  # a lock whose holder is named nowhere has nothing to change

    @abstractmethod
    def describe(self) -> str:
        """What is locked, for logs (never a password)."""

    @abstractmethod
    async def _attempt(self) -> bool:
        """One attempt: (re)connect if needed; take the lock, or prove it is still held when
        `holding`. True when held afterwards; raises when the session is unusable."""

    @abstractmethod
    def _detach(self) -> Callable[[], Awaitable[None]] | None:
        """Forget the current session (the next attempt opens a new one); the coroutine
        function that ends it, or None when there is none."""

    async def run(self, gained: Transition, lost: Transition) -> None:
        """Campaign until cancelled (see the class docstring)."""
        while True:
            held = await self._try_once(lost)
            if held != self._holding:
                self._holding = held
                log.info("%s: this process %s the planner", self.describe(),
                         "is now" if held else "is no longer")
                try:
                    await (gained() if held else lost())
                except Exception:
                    log.exception("%s: %s failed", self.describe(),
                                  "taking over" if held else "stepping down")
                    if held:  # no planner that cannot plan: let another worker take it
                        self._holding = False
                        self._abandon(None)
            await self._notify()
            await asyncio.sleep(self.period)

    async def _try_once(self, lost: Transition) -> bool:
        self.attempts += 1
        attempt = asyncio.ensure_future(self._attempt())
        try:
            done, _ = await asyncio.wait({attempt}, timeout=self.timeout)
        except asyncio.CancelledError:
            self._holding = False
            self._abandon(attempt)
            raise
        error: BaseException | None
        if attempt not in done:
            error = TimeoutError(f"no answer in {self.timeout} s")
        elif attempt.cancelled():
            error = RuntimeError("the attempt was cancelled")
        else:
            error = attempt.exception()
        if error is None:
            if self._failing:
                log.info("%s: the connection works again", self.describe())
            self._failing = False
            return bool(attempt.result())
        # Lost before anything else: the jobs pause before the session is even closed.
        if self._holding:
            self._holding = False
            log.warning("%s: the session holding the lock failed (%s): this process is no "
                        "longer the planner", self.describe(), error)
            try:
                await lost()
            except Exception:
                log.exception("%s: stepping down failed", self.describe())
        elif not self._failing:
            log.warning("%s: cannot try the lock now (%s); trying again every %s s",
                        self.describe(), error, self.period)
        else:
            log.debug("%s: still failing: %s", self.describe(), error)
        self._failing = True
        self._abandon(attempt)
        return False

    def _abandon(self, attempt: asyncio.Future[Any] | None) -> None:
        """Cancel `attempt` and end the session in the background: a query on a half-dead
        connection can take a while to be cancelled, and the next attempt must not wait."""
        if attempt is not None:
            attempt.cancel()
        close = self._detach()

        async def cleanup() -> None:
            if attempt is not None:
                await asyncio.gather(attempt, return_exceptions=True)
            if close is not None:
                try:
                    await close()
                except Exception as err:  # already broken: nothing left to release
                    log.debug("%s: closing the old session: %s", self.describe(), err)

        task = asyncio.get_running_loop().create_task(cleanup())
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def release(self) -> None:
        """Give the lock up (end the session) and wait, a bounded time, for abandoned
        sessions to close. Call after cancelling `run`. Idempotent."""
        self._holding = False
        self._abandon(None)
        pending = set(self._cleanups)
        if pending:
            _, late = await asyncio.wait(pending, timeout=max(self.timeout, 1.0))
            if late:
                log.warning("%s: %d old session(s) still closing", self.describe(), len(late))
        await self._notify()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Until `predicate()` holds, checked after every attempt (wrap in a timeout)."""
        async with self.changed:
            await self.changed.wait_for(predicate)


class LocalPlannerLock(PlannerLock):
    """One process (TinyDB: the store's writer lock already makes it the only one): always
    the planner, no election; ScheduledJobs resumes its scheduler as it always did."""

    local = True

    def __init__(self) -> None:
        super().__init__()
        self._holding = True

    def describe(self) -> str:
        return "local planner"

    async def _attempt(self) -> bool:
        return True

    def _detach(self) -> Callable[[], Awaitable[None]] | None:
        return None

    async def release(self) -> None:
        """Nothing to give up: one process is always its own planner."""
