"""每日小结 for admins at [summary] send_at on workdays, with the 督帮一体 digest."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.model import TaskStatus
from bot.services import Services


def daily_summary(services: Services, today: date) -> str:
    """Reports received today, submissions waiting for 核账, tasks overdue since today,
    officials found unreachable since the last summary, the previous workday's reminders
    delivered but not read (已送达未读: `summary_job` asks first, jobs/read_status.py), and
    the open 困难 with their age."""
    repo = services.ledger.repo
    msgs = services.messages
    calendar = services.calendar
    reports = [r for r in repo.reports() if r.at.date() == today and r.undone_at is None]
    waiting = sorted(t.id for t in repo.tasks() if t.status is TaskStatus.SUBMITTED)
    new_overdue = sorted(
        t.id for t in repo.tasks()
        if t.status is TaskStatus.OPEN and t.deadline is not None and t.deadline < today
        and calendar.workdays_between(t.deadline, today) == 1)
    # Officials found unreachable (403) since the previous workday's summary, told once —
    # also those found after that summary went out (a late catch-up dispatch).
    since = datetime.combine(calendar.previous_workday(today), services.config.summary_at,
                             tzinfo=services.config.timezone)
    unreachable = sorted(p.name for p in repo.people()
                         if p.unreachable_since is not None and p.unreachable_since > since)
    difficulties = sorted(repo.open_difficulties(), key=lambda d: d.opened_at)
    lines = [msgs.t("summary_head", day=msgs.date(today))]
    lost = services.admin_group_lost_since()
    if lost is not None:  # said first: everything else reached admins only privately
        lines.append(msgs.t("admin_group_lost", since=msgs.datetime(lost)))
    lines.append(msgs.t("summary_reports", count=len(reports),
                        tasks=len({r.task_id for r in reports})))
    lines.append(msgs.t("summary_waiting", count=len(waiting), ids=_ids(msgs, waiting)))
    lines.append(msgs.t("summary_overdue", count=len(new_overdue), ids=_ids(msgs, new_overdue)))
    if unreachable:
        lines.append(msgs.t("summary_unreachable", names=msgs.names(unreachable)))
    # 已送达未读: the previous workday's reminders still unread (as recorded by
    # jobs/read_status.py, asked just before this summary; channels that can tell only).
    yesterday = calendar.previous_workday(today)
    unread = services.ledger.unread_reminders(yesterday)
    if unread:
        items = [msgs.t("summary_unread_item", name=e.person, id=e.task_id)
                 for e in sorted(unread, key=lambda e: (e.person, e.task_id))]
        shown = "、".join(items[:30]) + ("…" if len(items) > 30 else "")
        lines.append(msgs.t("summary_unread", count=len(unread), day=msgs.date(yesterday),
                            items=shown))
    if difficulties:
        lines.append(msgs.t("summary_difficulties", count=len(difficulties)))
        for item in difficulties[:15]:
            age = (today - item.opened_at.date()).days
            who = msgs.t("summary_coordinator", who=msgs.who(item.coordinator)) \
                if item.coordinator else ""
            lines.append(msgs.t("summary_difficulty_line", id=item.task_id,
                                text=item.text[:40], days=age) + who)
    return "\n".join(lines)


def _ids(msgs: object, ids: list[str], limit: int = 15) -> str:
    if not ids:
        return "—"
    shown = "、".join(ids[:limit])
    return shown + ("…" if len(ids) > limit else "")
