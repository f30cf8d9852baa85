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

from bot.app.common import actor, refused
from bot.app.conversation import Attachment, Caller, Conversation, Reply
from bot.bulletins import chart_for, ledger_existed, make_bulletin, parse_period
from bot.domain.errors import InvalidField
from bot.domain.periods import PeriodKind, ToDate, Window
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
    if await refused(services, caller, conversation):
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
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = normalize_task_id(args[0]) if args else None
    reason = " ".join(args[1:]).strip()
    if task_id is None or not reason:
        await conversation.say(Reply(msgs.t("exempt_usage")))
        return
    task = services.ledger.exempt(task_id, reason, who=actor(services, caller))
    await conversation.say(Reply(msgs.t("exempted", id=task.id, reason=reason)))


def _period_and_rest(words: Sequence[str], today: date,
                     default: PeriodKind) -> tuple[Window | None, list[str]]:
    """The period the first word names (旬|月|季, 今日, 2026-12, 2026-Q4, 2026-12-1), and the
    words after it; (None, words) when the first word names none."""
    if words:
        period = parse_period(words[0], today, default)
        if period is not None:
            return period, list(words[1:])
    return None, list(words)


async def report(services: Services, caller: Caller, args: Sequence[str],
                 conversation: Conversation) -> None:
    """/report [今日|旬|月|季|期间代码] [单位]: the bulletin on demand, its chart first (when
    there is one), then its text; both built off the event loop.

    Without a period: the last complete 旬 — or 截至今日 when the ledger did not exist then (a
    new deployment, a ledger imported today), and the bulletin says so. A period in progress
    is taken up to today; one still to come is answered as such."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    words = [normalize(a) for a in args]
    today = services.clock.today()
    asked, rest = _period_and_rest(words, today, PeriodKind.XUN)
    period: Window | None = asked
    note = ""
    if period is None:
        period = parse_period("", today, PeriodKind.XUN)
        assert period is not None
        if not ledger_existed(services.ledger.repo, period):
            note = msgs.t("report_fallback_today", period=period.label(msgs.language))
            period = ToDate(today, today)
    unit = " ".join(rest).strip() or None
    if period.start > today:
        await conversation.say(Reply(msgs.t("report_not_started",
                                            period=period.label(msgs.language))))
        return
    if unit is not None and unit not in services.ledger.unit_names():
        units = msgs.names(services.ledger.unit_names()) or "—"
        await conversation.say(Reply(msgs.t("tasks_none_unit", unit=unit, units=units)))
        return
    bulletin = await asyncio.to_thread(make_bulletin, services.ledger.repo, services.calendar,
                                       services.config, period, unit, today=today)
    chart = await asyncio.to_thread(chart_for, bulletin, msgs)
    if chart is not None:
        caption = msgs.t("bulletin_chart_caption", period=msgs.bulletin_label(bulletin))
        await conversation.say(Reply(caption, attachment=Attachment("bulletin.png", chart,
                                                                    kind="photo")))
    text = msgs.bulletin(bulletin, unit=unit)
    await conversation.say(Reply(f"{note}\n{text}" if note else text))


async def score(services: Services, caller: Caller, args: Sequence[str],
                conversation: Conversation) -> None:
    """/score [期间]: unit scores with the deductions, for the last complete month by default;
    a period in progress is scored up to today (never over days still to come), 今日 from the
    ledger's first day to today."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    text = normalize(" ".join(args))
    today = services.clock.today()
    period = parse_period(text, today, PeriodKind.MONTH)
    if period is None:
        await conversation.say(Reply(msgs.t("score_usage")))
        return
    if period.start > today:
        await conversation.say(Reply(msgs.t("report_not_started",
                                            period=period.label(msgs.language))))
        return
    bulletin = await asyncio.to_thread(make_bulletin, services.ledger.repo, services.calendar,
                                       services.config, period, today=today)
    await conversation.say(Reply(msgs.scores(bulletin.period, list(bulletin.scores.values()),
                                             bulletin.ranks, services.config.scoring.base,
                                             as_of=bulletin.as_of)))
