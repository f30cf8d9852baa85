"""Scheduled jobs on python-telegram-bot's JobQueue, rebuilt at every start with fixed names.

PTB persists no jobs: the ledger and its outbox are the source of truth. At start-up the daily
jobs are (re)installed, and if today's send time has already passed on a workday, the missing
reminders of today are sent at once (earlier days are not replayed).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, time
from typing import Any

from telegram.ext import Application, CallbackContext, JobQueue

from bot.bulletins import BULLETIN_KINDS, chart_for, make_bulletin
from bot.domain.model import DeliveryStatus, OutboxEntry, outbox_key
from bot.domain.periods import Period, period_of
from bot.domain.ports import Change, DeliveryFailed, PersistenceError, Unreachable
from bot.tg.alerts import notify_admins
from bot.tg.context import LuoshiContext, Services
from jobs.summary import daily_summary

log = logging.getLogger(__name__)

DISPATCH_JOB = "rhythm-dispatch"
SUMMARY_JOB = "daily-summary"
BULLETIN_JOB = "bulletin"
CATCH_UP_JOB = "rhythm-catch-up"
CALENDAR_JOB = "calendar-warning"
CALENDAR_WARNED = "calendar_warned"  # counter: ordinal of the day admins were last warned
CALENDAR_WARN_EVERY_DAYS = 7
MISFIRE_GRACE_SECONDS = 6 * 3600
JOB_KWARGS = {"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True}


def _replace_daily(jq: JobQueue[Any], name: str, callback: Any, services: Services,
                   at: time | None = None) -> None:
    """Named jobs are replaced, never doubled (a restart, a config reload)."""
    for job in jq.get_jobs_by_name(name):
        job.schedule_removal()
    when = (at or services.config.rhythm.send_at).replace(tzinfo=services.config.timezone)
    jq.run_daily(callback, time=when, name=name, job_kwargs=JOB_KWARGS)


def install_jobs(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    jq = app.job_queue
    if jq is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    _replace_daily(jq, DISPATCH_JOB, scheduled_dispatch, services)
    _replace_daily(jq, CALENDAR_JOB, calendar_warning_job, services)
    _replace_daily(jq, SUMMARY_JOB, summary_job, services, services.config.summary_at)
    _replace_daily(jq, BULLETIN_JOB, bulletin_job, services, services.config.bulletin_at)
    if catch_up_due(services):
        for job in jq.get_jobs_by_name(CATCH_UP_JOB):
            job.schedule_removal()
        jq.run_once(scheduled_dispatch, when=0, name=CATCH_UP_JOB, job_kwargs=JOB_KWARGS)
        jq.run_once(calendar_warning_job, when=0, name=f"{CALENDAR_JOB}-catch-up",
                    job_kwargs=JOB_KWARGS)
    warning = services.calendar.warning(services.clock.today())
    if warning:
        log.warning("%s", warning.replace("\n", " "))


def catch_up_due(services: Services) -> bool:
    """Started after today's send time on a workday: today's missing reminders go out now."""
    now = services.clock.now()
    return (services.calendar.is_workday(now.date())
            and now.time().replace(tzinfo=None) >= services.config.rhythm.send_at)


async def scheduled_dispatch(context: LuoshiContext) -> None:
    """Today's reminders; officials found unreachable are reported in the daily summary."""
    await context.services.dispatcher.run()


async def summary_job(context: LuoshiContext) -> None:
    services = context.services
    today = services.clock.today()
    if services.calendar.is_workday(today):
        # Reads every report of the ledger (~0.6 s at county scale): off the event loop.
        text = await asyncio.to_thread(daily_summary, services, today)
        await tell_admins(context, text)


async def calendar_warning_job(context: LuoshiContext) -> None:
    """Tell admins, once a week, that next year's (or this year's) 调休 data is missing."""
    services = context.services
    today = services.clock.today()
    text = services.calendar.warning(today)
    if text is None or not due_for_calendar_warning(services, today):
        return
    try:
        services.ledger.repo.commit(Change(counters={CALENDAR_WARNED: today.toordinal()}))
    except PersistenceError:
        log.error("could not record the calendar warning; not sending it now")
        return
    await tell_admins(context, text)


def bulletin_chats(services: Services) -> list[int]:
    """工作通报 go to the admin group and the work group; to the admins when neither is set."""
    chats = [c for c in (services.config.chats.admin_group, services.config.chats.work_group)
             if c]
    return chats or sorted(services.config.access.admins)


async def bulletin_job(context: LuoshiContext) -> None:
    """On the first workday of a 旬, month or quarter: the bulletin of the previous one."""
    services = context.services
    today = services.clock.today()
    if not services.calendar.is_workday(today):
        return
    for kind in BULLETIN_KINDS:
        if services.calendar.is_first_workday(today, kind):
            await publish_bulletin(context, period_of(kind, today).previous(), today)


async def publish_bulletin(context: LuoshiContext, period: Period, today: date) -> None:
    """Once per period and chat (the outbox), with the chart when a CJK font exists."""
    services = context.services
    repo = services.ledger.repo
    # Up to a second of pure computation for a quarter: off the event loop.
    bulletin = await asyncio.to_thread(make_bulletin, repo, services.calendar, services.config,
                                       period)
    text = services.messages.bulletin(bulletin)
    chart = await asyncio.to_thread(chart_for, bulletin, services.messages)
    task_key = f"bulletin:{period.code()}"
    sender = services.sender
    assert sender is not None
    for chat_id in bulletin_chats(services):
        key = outbox_key(today, task_key, str(chat_id), "bulletin")
        existing = repo.outbox_get(key)
        if existing is not None and existing.status is DeliveryStatus.SENT:
            continue
        try:
            if chart is not None:
                await sender.send_photo(chat_id, chart, services.messages.t(
                    "bulletin_chart_caption", period=period.label(services.messages.language)))
            sent = await sender.send_message(chat_id, text)
        except (Unreachable, DeliveryFailed) as err:
            log.warning("bulletin %s to %s not sent: %s", period.code(), chat_id, err)
            continue
        change = Change(outbox=[OutboxEntry(today, task_key, str(chat_id), "bulletin",
                                            DeliveryStatus.SENT, services.clock.now(),
                                            message_id=sent.message_id if sent else None,
                                            chat_id=chat_id)])
        if repo.bulletin_ranks(period.code()) is None:
            change.bulletin_ranks[period.code()] = bulletin.ranks
        try:
            repo.commit(change)
        except PersistenceError:
            log.error("bulletin %s sent but not recorded", period.code())


def due_for_calendar_warning(services: Services, today: date) -> bool:
    last = services.ledger.repo.counter(CALENDAR_WARNED)
    return last == 0 or today.toordinal() - last >= CALENDAR_WARN_EVERY_DAYS


async def tell_admins(context: CallbackContext[Any, Any, Any, Any], text: str) -> None:
    """To the admin group, or each admin privately when there is none or it cannot be
    reached (bot/tg/alerts.py)."""
    services: Services = context.application.bot_data["luoshi.services"]
    if not await notify_admins(services, text):
        log.warning("no admin chat could be reached")
