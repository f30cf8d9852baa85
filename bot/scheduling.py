"""The scheduled jobs' hooks on the services (jobs/schedule.py): started paused, resumed once
the channel runs and the inbox was replayed, stopped at shutdown — and, with several workers
on one PostgreSQL (issue 16), run only in the one that holds the planner lock.

**One process (TinyDB)**: the lock is `LocalPlannerLock`, always held; `start` builds the
scheduler paused, `resume` resumes it, `stop` stops it — exactly as before the election
existed.

**Several workers (PostgreSQL)**: `start` only notes that jobs are wanted; `resume` starts the
election (jobs/planner.py, bot/adapters/planner_lock.py). A worker that gains the lock builds
its scheduler as a starting process would (`start_scheduler(takeover=True)`): the daily jobs
installed, and today's missing reminders, calendar warning and bulletin caught up at once when
their time has passed — the outbox's keys make that send only what the previous planner did
not (jobs/dispatch.py). A worker that loses the lock (its session failed, or the server ended
it) aborts its scheduler at once.

**A running dispatch when the lock is lost is cancelled, not left to finish.** Another worker
may take over within one period and start its own dispatch, which reads the outbox once and
sends whatever is not recorded yet; an old dispatch left running would send the same rest of
the day's fan-out beside it, two planners for minutes. Cancelled, the overlap is at most the
sends in flight (the dispatcher's concurrency): a message the channel accepted whose outbox
record had not committed may go twice, and an old write already sent to the database may
still commit — either way the record is the same row the new planner writes (the outbox key),
never a second reminder recorded. At shutdown, by contrast, `stop(wait=True)` lets a running
dispatch finish while this worker keeps the lock and its keepalive (nobody else starts), then
releases the lock.

The health of a worker: `ScheduledJobs.planner` (is this worker the planner now; no query).
Who plans a county: bot/adapters/planner_lock.py `planner_holder(dsn, tenant)`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from jobs.planner import LocalPlannerLock, PlannerLock

if TYPE_CHECKING:
    # apscheduler 3 ships no type information.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

    from bot.config import Config
    from bot.services import Services

__all__ = ["ScheduledJobs", "planner_lock_for"]

log = logging.getLogger(__name__)


def planner_lock_for(config: Config) -> PlannerLock:
    """The lock `config` calls for: the PostgreSQL store's advisory lock for the county
    (``[storage] tenant``), named after this worker and, in webhook mode, the address it
    listens on; the local lock otherwise."""
    if not config.storage.postgresql:
        return LocalPlannerLock()
    from bot.adapters.planner_lock import PostgresPlannerLock

    host, port = config.telegram.webhook_listen
    listen = f"{host}:{port}" if config.telegram.webhook else ""
    return PostgresPlannerLock(config.storage.dsn, config.storage.tenant, listen=listen)


class ScheduledJobs:
    """The scheduler hooks (jobs/schedule.py): the runtime that owns the event loop starts the
    jobs paused (bot/tg/app.py post_init), resumes them once the bot has started and the
    inbox was replayed (bot/tg/runner.py), and stops them (post_stop, post_shutdown).

    lock: who plans (the module docstring); by default the one the services' config calls
    for (`planner_lock_for`)."""

    def __init__(self, services: Services, lock: PlannerLock | None = None) -> None:
        self.services = services
        self.lock = lock if lock is not None else planner_lock_for(services.config)
        self.scheduler: AsyncIOScheduler | None = None
        self._wanted = False  # started (elected mode: the election waits for `resume`)
        self._stopping = False
        self._election: asyncio.Task[None] | None = None

    @property
    def planner(self) -> bool:
        """This worker is the planner now (a health endpoint's answer; no query)."""
        return self.lock.holding

    def start(self, *, paused: bool = True) -> None:
        """Create the scheduler on the running loop and install the jobs (nothing runs while
        paused, the catch-up included). Elected: nothing is built until the lock is won."""
        if self.lock.local:
            from jobs.schedule import start_scheduler

            self.scheduler = start_scheduler(self.services, paused=paused)
            return
        self._wanted, self._stopping = True, False
        if not paused:
            self.resume()

    def resume(self) -> None:
        """Let the jobs run; elected: start campaigning for the lock (on the running loop)."""
        if self.lock.local:
            if self.scheduler is not None:
                self.scheduler.resume()
            return
        if self._wanted and not self._stopping and self._election is None:
            log.info("%s: campaigning every %s s", self.lock.describe(), self.lock.period)
            self._election = asyncio.get_running_loop().create_task(
                self.lock.run(self._gained, self._lost), name="planner-election")

    async def _gained(self) -> None:
        if self._stopping:
            return
        from jobs.schedule import abort_scheduler, start_scheduler

        if self.scheduler is not None:  # not expected: `_lost` clears it
            await abort_scheduler(self.scheduler)
        self.scheduler = start_scheduler(self.services, takeover=True)

    async def _lost(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            from jobs.schedule import abort_scheduler

            await abort_scheduler(scheduler)

    async def stop(self, *, wait: bool = True) -> None:
        """No new runs; with `wait`, a running job (a dispatch) finishes first — elected, while
        the lock is still held and kept alive — then the lock is released. Idempotent."""
        self._stopping = True
        if self.scheduler is not None:
            from jobs.schedule import stop_scheduler

            await stop_scheduler(self.scheduler, wait=wait)
        election, self._election = self._election, None
        if election is not None:
            election.cancel()
            await asyncio.gather(election, return_exceptions=True)
        await self.lock.release()
