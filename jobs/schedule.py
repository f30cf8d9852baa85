"""Scheduled jobs on one APScheduler `AsyncIOScheduler`, rebuilt at every start with fixed ids.

Channel-neutral: the jobs use only the services and their ports (bot/services.py), never
Telegram, so the engine runs without a Telegram `Application`. The runtime that owns the event
loop creates the scheduler, installs the jobs and stops it (bot/tg/app.py, the sandbox
through it).

Nothing is persisted by the scheduler: the ledger and its outbox are the source of truth. At
start-up the daily jobs are (re)installed, and if today's send time has already passed on a
workday, the missing reminders of today are sent at once (earlier days are not replayed).

Several workers on PostgreSQL (issue 16): only the planner has a scheduler (bot/scheduling.py,
jobs/planner.py). A worker taking over builds one as at start-up (`takeover`), which also
catches up today's bulletin when its time has passed (the outbox skips the chats that already
have it); when it loses the lock, `abort_scheduler` cancels the running jobs at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import date, time, tzinfo
from typing import Any

# apscheduler 3 ships no type information.
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from bot.alerts import notify_admins
from bot.bulletins import BULLETIN_KINDS, chart_for, make_bulletin
from bot.channels import channel_of
from bot.domain.ledger_records import CALENDAR_WARNED, SUMMARY_SENT
from bot.domain.model import DINGTALK, DeliveryStatus, OutboxEntry, outbox_key
from bot.domain.periods import Period, period_of
from bot.domain.ports import DeliveryFailed, PersistenceError, Unreachable, retry_on_conflict
from bot.services import Services
from jobs.read_status import note_read_status
from jobs.summary import daily_summary

log = logging.getLogger(__name__)

DISPATCH_JOB = "rhythm-dispatch"
SUMMARY_JOB = "daily-summary"
BULLETIN_JOB = "bulletin"
CATCH_UP_JOB = "rhythm-catch-up"
BULLETIN_CATCH_UP_JOB = f"{BULLETIN_JOB}-catch-up"
SUMMARY_CATCH_UP_JOB = f"{SUMMARY_JOB}-catch-up"
CALENDAR_JOB = "calendar-warning"
CALENDAR_CATCH_UP_JOB = f"{CALENDAR_JOB}-catch-up"
SNAPSHOT_JOB = "store-snapshot"
SNAPSHOT_CHECK_SECONDS = 5  # how often SnapshotPolicy is asked (bot/runtime.py)
CALENDAR_WARN_EVERY_DAYS = 7
MISFIRE_GRACE_SECONDS = 6 * 3600
# APScheduler drops a run more than 1 s late by default; we want late runs, once, one at a time.
JOB_DEFAULTS = {"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True,
                "max_instances": 1}

Job = Callable[[Services], Coroutine[Any, Any, None]]


def build_scheduler(timezone: tzinfo) -> AsyncIOScheduler:
    """The process's one scheduler, in the county's timezone (config.timezone)."""
    return AsyncIOScheduler(timezone=timezone, job_defaults=dict(JOB_DEFAULTS))


def start_scheduler(services: Services, *, paused: bool = False,
                    takeover: bool = False) -> AsyncIOScheduler:
    """Create the scheduler on the running event loop, install the jobs and start it (paused:
    nothing runs before `resume()`, the catch-up included; takeover: `install_jobs`)."""
    scheduler = build_scheduler(services.config.timezone)
    scheduler.start(paused=paused)
    install_jobs(scheduler, services, takeover=takeover)
    return scheduler


def running_jobs(scheduler: AsyncIOScheduler) -> list[asyncio.Future[Any]]:
    """The runs under way. The executor keeps no public handle on them; python-telegram-bot's
    JobQueue.stop reads the same set (apscheduler is pinned to 3.11)."""
    executor = scheduler._lookup_executor("default")
    return [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]


async def stop_scheduler(scheduler: AsyncIOScheduler, *, wait: bool = True) -> None:
    """No new runs; with `wait`, the jobs already running finish first, as they did under
    python-telegram-bot's JobQueue (APScheduler's asyncio executor would cancel them)."""
    if not scheduler.running:
        return
    if wait:
        scheduler.pause()
        await asyncio.gather(*running_jobs(scheduler), return_exceptions=True)
    if scheduler.running:  # meanwhile aborted (the planner lock lost)?
        scheduler.shutdown(wait=False)
    await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn


async def abort_scheduler(scheduler: AsyncIOScheduler) -> None:
    """No new runs, and the running ones cancelled and awaited: this worker lost the planner
    lock, another may start the same jobs at any moment (bot/scheduling.py says why not
    let them finish)."""
    running = running_jobs(scheduler)
    if running:
        log.warning("cancelling %d running job(s): %s", len(running),
                    "another worker plans now (their outbox keys keep it from sending twice)")
    if scheduler.running:
        scheduler.pause()
        scheduler.shutdown(wait=False)  # the asyncio executor cancels its runs
    for run in running:
        run.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await asyncio.sleep(0)


def _replace_daily(scheduler: AsyncIOScheduler, job_id: str, job: Job, services: Services,
                   at: time | None = None) -> None:
    """Fixed ids are replaced, never doubled (a restart, a config reload). Every day (the job
    itself checks for workdays) at `at` in the county's timezone."""
    at = at or services.config.rhythm.send_at
    trigger = CronTrigger(hour=at.hour, minute=at.minute, second=at.second,
                          timezone=services.config.timezone)
    scheduler.add_job(job, trigger, args=(services,), id=job_id, name=job_id,
                      replace_existing=True, **JOB_DEFAULTS)


def _run_now(scheduler: AsyncIOScheduler, job_id: str, job: Job, services: Services) -> None:
    scheduler.add_job(job, args=(services,), id=job_id, name=job_id, replace_existing=True,
                      **JOB_DEFAULTS)


def install_jobs(scheduler: AsyncIOScheduler, services: Services, *,
                 takeover: bool = False) -> None:
    """The daily jobs, and today's catch-up when due. `takeover`: a worker becoming the
    planner (issue 16) also catches up today's bulletin (safe: its outbox keys) and the daily
    summary (safe: SUMMARY_SENT records that it went out)."""
    _replace_daily(scheduler, DISPATCH_JOB, scheduled_dispatch, services)
    _replace_daily(scheduler, CALENDAR_JOB, calendar_warning_job, services)
    _replace_daily(scheduler, SUMMARY_JOB, summary_job, services, services.config.summary_at)
    _replace_daily(scheduler, BULLETIN_JOB, bulletin_job, services, services.config.bulletin_at)
    if catch_up_due(services):
        _run_now(scheduler, CATCH_UP_JOB, scheduled_dispatch, services)
        _run_now(scheduler, CALENDAR_CATCH_UP_JOB, calendar_warning_job, services)
    if takeover and bulletin_catch_up_due(services):
        _run_now(scheduler, BULLETIN_CATCH_UP_JOB, bulletin_job, services)
    if takeover and summary_catch_up_due(services):
        _run_now(scheduler, SUMMARY_CATCH_UP_JOB, summary_job, services)
    if services.snapshot is not None:
        scheduler.add_job(snapshot_job, "interval", seconds=SNAPSHOT_CHECK_SECONDS,
                          args=(services,), id=SNAPSHOT_JOB, name=SNAPSHOT_JOB,
                          replace_existing=True, **JOB_DEFAULTS)
    warning = services.calendar.warning(services.clock.today())
    if warning:
        log.warning("%s", warning.replace("\n", " "))


def catch_up_due(services: Services) -> bool:
    """Started after today's send time on a workday: today's missing reminders go out now."""
    now = services.clock.now()
    return (services.calendar.is_workday(now.date())
            and now.time().replace(tzinfo=None) >= services.config.rhythm.send_at)


def summary_catch_up_due(services: Services) -> bool:
    """After today's summary time on a workday (`summary_job` skips one already sent)."""
    now = services.clock.now()
    return (services.calendar.is_workday(now.date())
            and now.time().replace(tzinfo=None) >= services.config.summary_at)


def bulletin_catch_up_due(services: Services) -> bool:
    """After today's bulletin time on a workday (`bulletin_job` checks the first workday)."""
    now = services.clock.now()
    return (services.calendar.is_workday(now.date())
            and now.time().replace(tzinfo=None) >= services.config.bulletin_at)


async def scheduled_dispatch(services: Services) -> None:
    """Today's reminders; officials found unreachable are reported in the daily summary."""
    await services.rhythm().run()


async def snapshot_job(services: Services) -> None:
    """Fold the store's journal into a snapshot when due (bot/runtime.py SnapshotPolicy)."""
    if services.snapshot is not None:
        await services.snapshot()


async def summary_job(services: Services) -> None:
    """The daily summary, once a day: recorded when it reached the admins, so a planner
    taking over later that day (`install_jobs(takeover=True)`) sends it only if it was not."""
    today = services.clock.today()
    if not services.calendar.is_workday(today):
        return
    services.ledger.repo.refresh()  # other workers' reports (a shared store)
    if services.ledger.repo.counter(SUMMARY_SENT) == today.toordinal():
        return
    if await send_summary(services, today):
        try:
            retry_on_conflict(lambda: services.ledger.note_summary_sent(today))
        except PersistenceError:
            log.error("the daily summary went out but could not be recorded")


async def send_summary(services: Services, today: date) -> bool:
    """The summary of `today` so far, to the admins (also the sandbox's 今日小结, any number
    of times); False when no admin chat could be reached."""
    # 已送达未读: ask who read the previous workday's reminders, recorded for the summary.
    await note_read_status(services.ledger.repo, services.ledger, services.sender,
                           services.calendar.previous_workday(today))
    # Reads every report of the ledger (~0.6 s at county scale): off the event loop.
    text = await asyncio.to_thread(daily_summary, services, today)
    return await tell_admins(services, text)


async def calendar_warning_job(services: Services) -> None:
    """Tell admins (only them), once a week, in their language, that next year's (or this
    year's) 调休 data is missing, what the bot does meanwhile, and that whoever maintains it
    should update the data. The technical detail (which package, which config keys) is for
    the maintainer: the log and `check` (`WorkCalendar.warning`)."""
    today = services.clock.today()
    gap = services.calendar.missing_year(today)
    if gap is None or not due_for_calendar_warning(services, today):
        return
    year, now = gap
    text = services.messages.t("calendar_gap_now" if now else "calendar_gap_next", year=year)
    try:
        services.ledger.note_calendar_warning(today)
    except PersistenceError:
        log.error("could not record the calendar warning; not sending it now")
        return
    await tell_admins(services, text)


def bulletin_chats(services: Services) -> list[int]:
    """工作通报 go to the admin group and the work group; to the admins when neither is set."""
    chats = [c for c in (services.config.chats.admin_group, services.config.chats.work_group)
             if c]
    if DINGTALK in services.running_channels():  # 钉钉's groups too, when it runs
        chats += [groups[DINGTALK] for groups in (services.admin_group_numbers(),
                                                  services.work_group_numbers())
                  if DINGTALK in groups]
    return chats or sorted(services.config.access.admins)


async def bulletin_job(services: Services) -> None:
    """On the first workday of a 旬, month or quarter: the bulletin of the previous one."""
    today = services.clock.today()
    if not services.calendar.is_workday(today):
        return
    services.ledger.repo.refresh()  # other workers' reports (a shared store)
    for kind in BULLETIN_KINDS:
        if services.calendar.is_first_workday(today, kind):
            await publish_bulletin(services, period_of(kind, today).previous(), today)


async def publish_bulletin(services: Services, period: Period, today: date) -> None:
    """Once per period and chat (the outbox), with the chart when a CJK font exists."""
    repo = services.ledger.repo
    # Up to a second of pure computation for a quarter: off the event loop.
    bulletin = await asyncio.to_thread(make_bulletin, repo, services.calendar, services.config,
                                       period, today=today)
    text = services.messages.bulletin(bulletin)
    chart = await asyncio.to_thread(chart_for, bulletin, services.messages)
    task_key = f"bulletin:{period.code()}"
    sender = services.sender
    assert sender is not None
    for chat_id in bulletin_chats(services):
        channel = channel_of(sender, chat_id)  # a router: the chat's own channel
        key = outbox_key(today, task_key, str(chat_id), "bulletin", channel)
        existing = repo.outbox_get(key)
        if existing is not None and existing.status is DeliveryStatus.SENT:
            continue
        try:
            if chart is not None:
                await sender.send_photo(chat_id, chart, services.messages.t(
                    "bulletin_chart_caption", period=period.label(services.messages.language)))
            message_id = await sender.send(chat_id, text)  # split when long
        except (Unreachable, DeliveryFailed) as err:
            log.warning("bulletin %s to %s not sent: %s", period.code(), chat_id, err)
            continue
        entry = OutboxEntry(today, task_key, str(chat_id), "bulletin", DeliveryStatus.SENT,
                            services.clock.now(), message_id=message_id, chat_id=chat_id,
                            channel=channel)
        try:
            services.ledger.record_bulletin(period.code(), bulletin.ranks, entry)
        except PersistenceError:
            log.error("bulletin %s sent but not recorded", period.code())


def due_for_calendar_warning(services: Services, today: date) -> bool:
    last = services.ledger.repo.counter(CALENDAR_WARNED)
    return last == 0 or today.toordinal() - last >= CALENDAR_WARN_EVERY_DAYS


async def tell_admins(services: Services, text: str) -> bool:
    """To the admin group, or each admin privately when there is none or it cannot be
    reached (bot/alerts.py). False when no admin chat could be reached."""
    if not await notify_admins(services, text):
        log.warning("no admin chat could be reached")
        return False
    return True
