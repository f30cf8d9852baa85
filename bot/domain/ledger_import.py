"""Importing 台账 rows into the ledger (Ledger.import_rows): all of them in one change, or none.

A row with a known 编号 updates that task (each changed field in its history); with an
unknown 编号 it creates the task under that id; without 编号 it matches a live task by
(任务, 牵头单位), else it gets a new id. Importing the same file twice changes nothing.

下达日期 (ParsedRow.assigned) is when the task entered the ledger: its `created_at` (the start
of that day, local time), from which 序时进度, bulletins and scores count it. The 建账 entry of
the history keeps the moment of the import (who imported what, when), its note naming the
下达日期.

进展情况 (ParsedRow.progress_note) becomes the task's latest progress note (最新进展), dated the
import, with a "progress" history entry by the importer. Its figure (ParsedRow.progress, read
by the reply reader) sets 进度 when the note states one. It is the 督查室's record, not the
official's report: it does not count as 最近填报 — reminders go out this period as usual (减负
skips only what officials reported), 督办单 do not say the official reported, lights and
the daily summary count only real reports. A note does not 交账 (an imported "已完成" sets
进度 100, the task stays 推进中 until it is reported done and verified), opens no 困难 and asks
for no 延期; a task that is not live (已办结, 已撤销) or waits for 核账 keeps its 进度. A note
the task already has is not recorded again.

钉钉UserID (ParsedRow.dingtalk_ids, one per 责任人) binds each 责任人 on 钉钉 (Person.accounts,
replacing an account they had there), in the same change; a userid another person is bound
to is left alone and listed (ImportSummary.account_conflicts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from bot.domain.accounts import account_number
from bot.domain.ledger_file import ParsedRow
from bot.domain.model import DINGTALK, Address, Frequency, HistoryEntry, Person, Task, TaskStatus
from bot.domain.ports import Change

if TYPE_CHECKING:
    from bot.domain.ledger import Ledger

IMPORTED_FIELDS = ("title", "goal", "lead_unit", "owners", "leader", "co_units", "deadline",
                   "category", "frequency", "remark")


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do), by 编号.

    `updated`: tasks whose fields, 下达日期 or progress note changed; `notes`: tasks given the
    file's 进展情况 as their latest progress note, `figures` those of them whose 进度 it set.
    """

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    on: date = date.min  # the import day (the date of its progress notes)
    accounts: list[str] = field(default_factory=list)  # people given a 钉钉 account (names)
    account_conflicts: list[str] = field(default_factory=list)  # "userid（bound to 名字）"


def import_rows(ledger: Ledger, rows: Sequence[ParsedRow], *, who: str, dry_run: bool = False,
                marker: str = "") -> ImportSummary:
    """Upsert imported rows as one change (see the module's docstring)."""
    # The helpers are the ledger's own (ids, units, people): this is its import, kept apart.
    from bot.domain.ledger import TASK_COUNTER, _names, _t_number
    from bot.domain.text import normalize_name

    repo = ledger.repo
    now = ledger.clock.now()
    change = Change()
    summary = ImportSummary(on=_local_day(now, now))
    by_name = {(t.title, t.lead_unit): t for t in repo.tasks()
               if t.status is not TaskStatus.CANCELLED}
    change.counters[TASK_COUNTER] = max(
        [repo.counter(TASK_COUNTER)]
        + [_t_number(t.id) for t in repo.tasks()]
        + [_t_number(r.task_id or "") for r in rows])
    accounts: dict[str, tuple[str, str]] = {}  # name → (userid, unit)
    for row in rows:
        fields: dict[str, object] = {name: getattr(row, name) for name in IMPORTED_FIELDS}
        fields["owners"] = owners = _names(row.owners)
        if len(row.dingtalk_ids) == len(owners):
            accounts.update((name, (userid, row.lead_unit))
                            for name, userid in zip(owners, row.dingtalk_ids, strict=True))
        fields["leader"] = leader = normalize_name(row.leader)
        created = _start_of(row.assigned, now) if row.assigned is not None else None
        if row.task_id:
            existing = repo.get_task(row.task_id)
        else:
            existing = by_name.get((row.title, row.lead_unit))
        if existing is None:
            task_id = row.task_id or ledger._next_task_id(change)
            task = Task(id=task_id, created_at=created or now, **fields)  # type: ignore[arg-type]
            note = f"下达日期 {row.assigned.isoformat()}" if row.assigned else "建账（导入）"
            change.history.append(HistoryEntry(task_id, now, who, "imported", None,
                                               TaskStatus.OPEN, note))
            summary.new.append(task_id)
        else:
            old = {name: getattr(existing, name) for name in IMPORTED_FIELDS}
            diff = {k: [_plain_value(old[k]), _plain_value(v)] for k, v in fields.items()
                    if old[k] != v}
            if created is not None and _local_day(existing.created_at, now) != row.assigned:
                diff["created_at"] = [_local_day(existing.created_at, now).isoformat(),
                                      _plain_value(row.assigned)]
                fields["created_at"] = created
            task = existing.with_changes(**fields) if diff else existing
            if diff:
                change.history.append(HistoryEntry(existing.id, now, who, "import_updated",
                                                   note="、".join(diff), changes=diff))
        noted = _progress_note(ledger, change, task, row, who=who, now=now)
        if noted is not None:
            task = noted
            summary.notes.append(task.id)
            if row.progress is not None and task.progress == row.progress:
                summary.figures.append(task.id)
        if existing is not None:
            if task is existing:
                summary.unchanged.append(existing.id)
                continue
            summary.updated.append(existing.id)
        change.tasks.append(task)
        ledger._ensure_units(change, (row.lead_unit, *row.co_units))
        ledger._ensure_people(change, owners, unit=row.lead_unit)
        if leader:
            ledger._ensure_leader(change, leader)
    _bind_accounts(ledger, change, accounts, summary)
    if marker:
        change.counters[marker] = 1  # this source is imported, once
    if not dry_run and (change.tasks or change.people or marker):
        repo.commit(change)
    return summary


def _progress_note(ledger: Ledger, change: Change, task: Task, row: ParsedRow, *, who: str,
                   now: datetime) -> Task | None:
    """The task with the row's 进展情况 as its latest progress note (a history entry added to
    `change`), or None when there is none to record."""
    from bot.domain.ledger import _states_figure

    text = row.progress_note.strip()
    if not text or task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED):
        return None
    figure = row.progress if task.status is TaskStatus.OPEN else None
    if text == task.latest_note and (figure is None or figure == task.progress):
        return None
    note = text if figure is None or _states_figure(text, figure) else f"{figure}%：{text}"
    change.history.append(HistoryEntry(task.id, now, who, "progress", note=note))
    updates: dict[str, object] = {"latest_note": text}
    if figure is not None:
        updates["progress"] = figure
    return task.with_changes(**updates)


def _bind_accounts(ledger: Ledger, change: Change, accounts: dict[str, tuple[str, str]],
                   summary: ImportSummary) -> None:
    """Each named person bound to their 钉钉 userid (see the module's docstring)."""
    pending = {p.name: i for i, p in enumerate(change.people)}
    taken: dict[str, str] = {}  # userid → name, within this import
    for name, (userid, unit) in accounts.items():
        address = Address(DINGTALK, userid)
        owner = ledger.account_owner(account_number(address))
        holder = taken.get(userid) or (owner[0].name if owner is not None else name)
        if holder != name:
            summary.account_conflicts.append(f"{userid}（{holder}）")
            continue
        taken[userid] = name
        index = pending.get(name)
        person = change.people[index] if index is not None else (
            ledger.repo.get_person(name) or Person(name=name, unit=unit))
        if person.address_on(DINGTALK) == address:
            continue
        bound = person.with_account(address)
        if index is None:
            pending[name] = len(change.people)
            change.people.append(bound)
        else:
            change.people[index] = bound
        summary.accounts.append(name)


def _start_of(day: date, now: datetime) -> datetime:
    """The first moment of `day` in the ledger's time zone (that of its clock)."""
    return datetime.combine(day, time.min, tzinfo=now.tzinfo)


def _local_day(moment: datetime, now: datetime) -> date:
    if moment.tzinfo is not None and now.tzinfo is not None:
        moment = moment.astimezone(now.tzinfo)
    return moment.date()


def _plain_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Frequency):
        return value.value
    return value
