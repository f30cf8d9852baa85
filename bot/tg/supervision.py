"""督办 and 考核 commands: /leave, /exempt, /report, /score."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from telegram import Update

from bot.bulletins import PERIOD_WORDS, chart_for, make_bulletin, parse_period
from bot.domain.errors import InvalidField
from bot.domain.periods import PeriodKind
from bot.domain.ports import DeliveryFailed, Unreachable
from bot.domain.text import normalize, normalize_name, normalize_task_id, parse_deadline
from bot.tg.context import LuoshiContext
from bot.tg.handlers import actor, admin_only, guarded, reply

log = logging.getLogger(__name__)

CLEAR_WORDS = frozenset({"取消", "结束", "销假", "clear", "cancel"})


def _day(text: str, today: date) -> date | None:
    try:
        return parse_deadline(text, today=today)
    except InvalidField:
        return None


@admin_only
@guarded
async def leave_command(update: Update, context: LuoshiContext) -> None:
    """/leave 姓名 起 止 — no prompts to them in that window; their leaders get the reminders.
    /leave 姓名 取消 ends it; /leave alone lists who is on leave."""
    services = context.services
    msgs = services.messages
    args = [normalize(a) for a in (context.args or [])]
    today = services.clock.today()
    if not args:
        away = sorted((p for p in services.ledger.repo.people()
                       if p.leave_to is not None and p.leave_to >= today),
                      key=lambda p: (p.leave_from or today, p.name))
        if not away:
            await reply(update, context, msgs.t("leave_none"))
            return
        lines = [msgs.t("leave_list_head")]
        lines += [msgs.t("leave_line", name=p.name, start=msgs.date(p.leave_from),
                         end=msgs.date(p.leave_to)) for p in away]
        await reply(update, context, "\n".join(lines))
        return
    name = normalize_name(args[0])
    if len(args) == 2 and args[1].lower() in CLEAR_WORDS:
        services.ledger.set_leave(name, None, None)
        await reply(update, context, msgs.t("leave_cleared", name=name))
        return
    start = _day(args[1], today) if len(args) >= 2 else None
    end = _day(args[2], today) if len(args) >= 3 else start
    if start is None or end is None:
        await reply(update, context, msgs.t("leave_usage"))
        return
    if services.ledger.person_named(name) is None:
        await reply(update, context, msgs.t("leave_unknown", name=name))
        return
    try:
        services.ledger.set_leave(name, start, end)
    except InvalidField:
        await reply(update, context, msgs.t("leave_usage"))
        return
    await reply(update, context, msgs.t("leave_set", name=name, start=msgs.date(start),
                                        end=msgs.date(end)))


@admin_only
@guarded
async def exempt_command(update: Update, context: LuoshiContext) -> None:
    """/exempt 编号 理由 — 容错: out of scoring from now on, with who and why in its history."""
    services = context.services
    msgs = services.messages
    args = context.args or []
    task_id = normalize_task_id(args[0]) if args else None
    reason = " ".join(args[1:]).strip()
    if task_id is None or not reason:
        await reply(update, context, msgs.t("exempt_usage"))
        return
    assert update.effective_user is not None
    task = services.ledger.exempt(task_id, reason, who=actor(services, update.effective_user))
    await reply(update, context, msgs.t("exempted", id=task.id, reason=reason))


@admin_only
@guarded
async def report_command(update: Update, context: LuoshiContext) -> None:
    """/report [旬|月|季] [单位]: the bulletin of the last complete period, on demand."""
    services = context.services
    msgs = services.messages
    chat = update.effective_chat
    if chat is None:
        return
    args = [normalize(a) for a in (context.args or [])]
    today = services.clock.today()
    word = args[0] if args and args[0].lower() in PERIOD_WORDS else ""
    rest = args[1:] if word else args
    period = parse_period(word, today, PeriodKind.XUN)
    unit = " ".join(rest).strip() or None
    if period is None:
        await reply(update, context, msgs.t("report_usage"))
        return
    if unit is not None and unit not in services.ledger.unit_names():
        units = msgs.names(services.ledger.unit_names()) or "—"
        await reply(update, context, msgs.t("tasks_none_unit", unit=unit, units=units))
        return
    bulletin = await asyncio.to_thread(make_bulletin, services.ledger.repo, services.calendar,
                                       services.config, period, unit)
    chart = await asyncio.to_thread(chart_for, bulletin, msgs)
    if chart is not None and services.sender is not None:
        try:
            await services.sender.send_photo(chat.id, chart, msgs.t(
                "bulletin_chart_caption", period=period.label(msgs.language)))
        except (Unreachable, DeliveryFailed) as err:
            log.warning("bulletin chart not sent to %s: %s", chat.id, err)
    await reply(update, context, msgs.bulletin(bulletin, unit=unit))


@admin_only
@guarded
async def score_command(update: Update, context: LuoshiContext) -> None:
    """/score [期间]: unit scores with the deductions, for the last complete month by default."""
    services = context.services
    msgs = services.messages
    text = normalize(" ".join(context.args or []))
    period = parse_period(text, services.clock.today(), PeriodKind.MONTH)
    if period is None:
        await reply(update, context, msgs.t("score_usage"))
        return
    bulletin = await asyncio.to_thread(make_bulletin, services.ledger.repo, services.calendar,
                                       services.config, period)
    await reply(update, context, msgs.scores(period, list(bulletin.scores.values()),
                                             bulletin.ranks, services.config.scoring.base))
