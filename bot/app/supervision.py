"""督办 and 考核 commands, for admins only: /leave (请假), /exempt (容错), /report (the
bulletin on demand, with its chart) and /score.

Like bot/app/commands.py: plain inputs (the caller, the command's arguments as strings), the
answer said into the `Conversation`, failures answered by the channel's guard
(`bot.app.common.guarded`). The bulletin's chart is a `Reply` with a photo attachment; a
chart that cannot be delivered costs nothing but itself (the bulletin's text follows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

from bot.app.common import actor, admin_refusal
from bot.app.conversation import Attachment, Caller, Conversation, Reply
from bot.bulletins import PERIOD_WORDS, chart_for, make_bulletin, parse_period
from bot.domain.errors import InvalidField
from bot.domain.periods import PeriodKind
from bot.domain.text import normalize, normalize_name, normalize_task_id, parse_deadline
from bot.services import Services

CLEAR_WORDS = frozenset({"取消", "结束", "销假", "clear", "cancel"})


def _day(text: str, today: date) -> date | None:
    try:
        return parse_deadline(text, today=today)
    except InvalidField:
        return None


async def leave(services: Services, caller: Caller, args: Sequence[str],
                conversation: Conversation) -> None:
    """/leave 姓名 起 止 — no prompts to them in that window; their leaders get the reminders.
    /leave 姓名 取消 ends it; /leave alone lists who is on leave."""
    refusal = admin_refusal(services, caller)
    if refusal is not None:
        await conversation.say(refusal)
        return
    msgs = services.messages
    words = [normalize(a) for a in args]
    today = services.clock.today()
    if not words:
        away = sorted((p for p in services.ledger.repo.people()
                       if p.leave_to is not None and p.leave_to >= today),
                      key=lambda p: (p.leave_from or today, p.name))
        if not away:
            await conversation.say(Reply(msgs.t("leave_none")))
            return
        lines = [msgs.t("leave_list_head")]
        lines += [msgs.t("leave_line", name=p.name, start=msgs.date(p.leave_from),
                         end=msgs.date(p.leave_to)) for p in away]
        await conversation.say(Reply("\n".join(lines)))
        return
    name = normalize_name(words[0])
    if len(words) == 2 and words[1].lower() in CLEAR_WORDS:
        services.ledger.set_leave(name, None, None)
        await conversation.say(Reply(msgs.t("leave_cleared", name=name)))
        return
    start = _day(words[1], today) if len(words) >= 2 else None
    end = _day(words[2], today) if len(words) >= 3 else start
    if start is None or end is None:
        await conversation.say(Reply(msgs.t("leave_usage")))
        return
    if services.ledger.person_named(name) is None:
        await conversation.say(Reply(msgs.t("leave_unknown", name=name)))
        return
    try:
        services.ledger.set_leave(name, start, end)
    except InvalidField:
        await conversation.say(Reply(msgs.t("leave_usage")))
        return
    await conversation.say(Reply(msgs.t("leave_set", name=name, start=msgs.date(start),
                                        end=msgs.date(end))))


async def exempt(services: Services, caller: Caller, args: Sequence[str],
                 conversation: Conversation) -> None:
    """/exempt 编号 理由 — 容错: out of scoring from now on, with who and why in its history."""
    refusal = admin_refusal(services, caller)
    if refusal is not None:
        await conversation.say(refusal)
        return
    msgs = services.messages
    task_id = normalize_task_id(args[0]) if args else None
    reason = " ".join(args[1:]).strip()
    if task_id is None or not reason:
        await conversation.say(Reply(msgs.t("exempt_usage")))
        return
    task = services.ledger.exempt(task_id, reason, who=actor(services, caller))
    await conversation.say(Reply(msgs.t("exempted", id=task.id, reason=reason)))


async def report(services: Services, caller: Caller, args: Sequence[str],
                 conversation: Conversation) -> None:
    """/report [旬|月|季] [单位]: the bulletin of the last complete period, on demand: its
    chart first (when there is one), then its text. Both are built off the event loop."""
    refusal = admin_refusal(services, caller)
    if refusal is not None:
        await conversation.say(refusal)
        return
    msgs = services.messages
    words = [normalize(a) for a in args]
    today = services.clock.today()
    word = words[0] if words and words[0].lower() in PERIOD_WORDS else ""
    rest = words[1:] if word else words
    period = parse_period(word, today, PeriodKind.XUN)
    unit = " ".join(rest).strip() or None
    if period is None:
        await conversation.say(Reply(msgs.t("report_usage")))
        return
    if unit is not None and unit not in services.ledger.unit_names():
        units = msgs.names(services.ledger.unit_names()) or "—"
        await conversation.say(Reply(msgs.t("tasks_none_unit", unit=unit, units=units)))
        return
    bulletin = await asyncio.to_thread(make_bulletin, services.ledger.repo, services.calendar,
                                       services.config, period, unit)
    chart = await asyncio.to_thread(chart_for, bulletin, msgs)
    if chart is not None:
        caption = msgs.t("bulletin_chart_caption", period=period.label(msgs.language))
        await conversation.say(Reply(caption, attachment=Attachment("bulletin.png", chart,
                                                                    kind="photo")))
    await conversation.say(Reply(msgs.bulletin(bulletin, unit=unit)))


async def score(services: Services, caller: Caller, args: Sequence[str],
                conversation: Conversation) -> None:
    """/score [期间]: unit scores with the deductions, for the last complete month by default."""
    refusal = admin_refusal(services, caller)
    if refusal is not None:
        await conversation.say(refusal)
        return
    msgs = services.messages
    text = normalize(" ".join(args))
    period = parse_period(text, services.clock.today(), PeriodKind.MONTH)
    if period is None:
        await conversation.say(Reply(msgs.t("score_usage")))
        return
    bulletin = await asyncio.to_thread(make_bulletin, services.ledger.repo, services.calendar,
                                       services.config, period)
    await conversation.say(Reply(msgs.scores(period, list(bulletin.scores.values()),
                                             bulletin.ranks, services.config.scoring.base)))
