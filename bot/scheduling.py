"""The scheduled jobs' hooks on the services (jobs/schedule.py): started paused, resumed once
the channel runs and the inbox was replayed, stopped at shutdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # apscheduler 3 ships no type information.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

    from bot.services import Services

__all__ = ["ScheduledJobs"]


class ScheduledJobs:
    """The scheduler hooks (jobs/schedule.py): the runtime that owns the event loop starts the
    jobs paused (bot/tg/app.py post_init), resumes them once the bot has started and the
    inbox was replayed (bot/tg/runner.py), and stops them (post_stop, post_shutdown)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.scheduler: AsyncIOScheduler | None = None

    def start(self, *, paused: bool = True) -> None:
        """Create the scheduler on the running loop and install the jobs (nothing runs while
        paused, the catch-up included)."""
        from jobs.schedule import start_scheduler

        self.scheduler = start_scheduler(self.services, paused=paused)

    def resume(self) -> None:
        if self.scheduler is not None:
            self.scheduler.resume()

    async def stop(self, *, wait: bool = True) -> None:
        """No new runs; with `wait`, a running job (a dispatch) finishes first. Idempotent."""
        if self.scheduler is not None:
            from jobs.schedule import stop_scheduler

            await stop_scheduler(self.scheduler, wait=wait)
