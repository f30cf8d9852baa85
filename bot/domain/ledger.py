"""The ledger service: every change to tasks, people and invites goes through here.

Each public method validates first, builds one `Change`, commits it (durable when the call
returns) and only then returns what the caller may confirm to the user.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.clock import Clock
from bot.domain.errors import (
    AlreadyBound,
    InvalidField,
    InvalidTransition,
    InviteExpired,
    InviteUnknown,
    InviteUsed,
    TaskNotFound,
)
from bot.domain.model import (
    ALLOWED_TRANSITIONS,
    LIVE_STATES,
    Frequency,
    HistoryEntry,
    Invite,
    Person,
    Role,
    Task,
    TaskStatus,
    Unit,
)
from bot.domain.ports import Change, LedgerRepository

INVITE_VALID_FOR = timedelta(days=7)
MAX_TITLE = 200
MAX_NAME = 30
TASK_COUNTER = "task"


@dataclass(frozen=True)
class NewTask:
    """What an admin gives to open an entry (建账)."""

    title: str
    lead_unit: str
    owners: tuple[str, ...]
    deadline: date | None
    goal: str = ""
    leader: str = ""
    co_units: tuple[str, ...] = ()
    category: str = ""
    frequency: Frequency | None = None
    remark: str = ""


def _default_code() -> str:
    return secrets.token_urlsafe(9)


class Ledger:
    def __init__(
        self,
        repo: LedgerRepository,
        clock: Clock,
        *,
        new_code: Callable[[], str] = _default_code,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self._new_code = new_code

    # ---- queries -------------------------------------------------------------------------

    def task(self, task_id: str) -> Task:
        task = self.repo.get_task(task_id)
        if task is None:
            raise TaskNotFound(task_id=task_id)
        return task

    def live_tasks(self) -> list[Task]:
        """Tasks still being worked on (推进中 and 待核账), ordered by deadline then id."""
        return sorted((t for t in self.repo.tasks() if t.status in LIVE_STATES), key=_urgency)

    def tasks_of_unit(self, unit: str) -> list[Task]:
        return [t for t in self.live_tasks() if t.lead_unit == unit or unit in t.co_units]

    def tasks_of_person(self, name: str) -> list[Task]:
        return [t for t in self.live_tasks() if name in t.owners]

    def person_for_user(self, user_id: int) -> Person | None:
        return self.repo.person_by_user(user_id)

    def unit_names(self) -> list[str]:
        return sorted(u.name for u in self.repo.units())

    # ---- 建账: open an entry -----------------------------------------------------------

    def add_task(self, new: NewTask, *, who: str) -> Task:
        title = new.title.strip()
        lead_unit = new.lead_unit.strip()
        owners = tuple(o.strip() for o in new.owners if o.strip())
        if not title or len(title) > MAX_TITLE:
            raise InvalidField(field="title", value=new.title)
        if not lead_unit or len(lead_unit) > MAX_NAME:
            raise InvalidField(field="lead_unit", value=new.lead_unit)
        if not owners or any(len(o) > MAX_NAME for o in owners):
            raise InvalidField(field="owners", value="、".join(new.owners))
        now = self.clock.now()
        change = Change()
        task_id = self._next_task_id(change)
        task = Task(
            id=task_id,
            title=title,
            lead_unit=lead_unit,
            owners=owners,
            deadline=new.deadline,
            created_at=now,
            goal=new.goal.strip(),
            leader=new.leader.strip(),
            co_units=tuple(u.strip() for u in new.co_units if u.strip()),
            category=new.category.strip(),
            frequency=new.frequency,
            remark=new.remark.strip(),
        )
        change.tasks.append(task)
        self._ensure_units(change, (task.lead_unit, *task.co_units))
        self._ensure_people(change, owners, unit=lead_unit)
        if task.leader:
            self._ensure_leader(change, task.leader)
        change.history.append(
            HistoryEntry(task_id, now, who, "created", None, TaskStatus.OPEN, "建账")
        )
        self.repo.commit(change)
        return task

    # ---- lifecycle -----------------------------------------------------------------------

    def transition(self, task_id: str, to: TaskStatus, *, who: str, note: str = "",
                   action: str = "") -> Task:
        """Move a task to another state, keeping who, when, from, to and note."""
        task = self.task(task_id)
        if to not in ALLOWED_TRANSITIONS[task.status]:
            raise InvalidTransition(task_id=task_id, current=task.status.value, target=to.value)
        now = self.clock.now()
        updated = task.with_changes(status=to)
        entry = HistoryEntry(task_id, now, who, action or f"to:{to.value}", task.status, to,
                             note.strip())
        self.repo.commit(Change(tasks=[updated], history=[entry]))
        return updated

    def cancel_task(self, task_id: str, *, who: str, note: str = "") -> Task:
        """撤销: any state → 已撤销 (an admin's decision)."""
        return self.transition(task_id, TaskStatus.CANCELLED, who=who, note=note,
                               action="cancelled")

    def record_reminder(self, task_id: str, *, who: str, sent_to: Iterable[str]) -> None:
        """催办: keep in the history that the task's 责任人 were urged, and to whom."""
        names = list(sent_to)
        entry = HistoryEntry(task_id, self.clock.now(), who, "remind", note="、".join(names))
        self.repo.commit(Change(history=[entry]))

    # ---- people and invites --------------------------------------------------------------

    def create_invite(self, name: str, unit: str, *, admin_id: int) -> Invite:
        name, unit = name.strip(), unit.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidField(field="name", value=name)
        if len(unit) > MAX_NAME:
            raise InvalidField(field="unit", value=unit)
        now = self.clock.now()
        change = Change()
        person = self.repo.get_person(name)
        if person is None:
            change.people.append(Person(name=name, unit=unit))
        elif unit and person.unit != unit:
            change.people.append(person.with_changes(unit=unit))
        if unit:
            self._ensure_units(change, (unit,))
        code = self._new_code()
        while self.repo.get_invite(code) is not None:
            code = self._new_code()
        invite = Invite(code=code, name=name, created_at=now, expires_at=now + INVITE_VALID_FOR,
                        created_by=admin_id)
        change.invites.append(invite)
        self.repo.commit(change)
        return invite

    def redeem_invite(self, code: str, user_id: int) -> Person:
        """Bind a Telegram account to the invited person. Single use, valid for 7 days."""
        invite = self.repo.get_invite(code.strip())
        if invite is None:
            raise InviteUnknown(code=code)
        person = self.repo.get_person(invite.name) or Person(name=invite.name)
        if invite.used_by is not None:
            if invite.used_by == user_id and person.user_id == user_id:
                return person  # the same person tapped the link twice: nothing to do
            raise InviteUsed(code=code)
        now = self.clock.now()
        if now >= invite.expires_at:
            raise InviteExpired(code=code, expired_at=invite.expires_at)
        current = self.repo.person_by_user(user_id)
        if current is not None and current.name != person.name:
            raise AlreadyBound(name=current.name)
        bound = person.with_changes(user_id=user_id, bound_at=now, unreachable_since=None)
        used = Invite(code=invite.code, name=invite.name, created_at=invite.created_at,
                      expires_at=invite.expires_at, created_by=invite.created_by,
                      used_by=user_id, used_at=now)
        self.repo.commit(Change(people=[bound], invites=[used]))
        return bound

    # ---- helpers -------------------------------------------------------------------------

    def _next_task_id(self, change: Change) -> str:
        number = max(self.repo.counter(TASK_COUNTER), change.counters.get(TASK_COUNTER, 0))
        while True:
            number += 1
            task_id = f"T{number:04d}"
            if self.repo.get_task(task_id) is None:
                change.counters[TASK_COUNTER] = number
                return task_id

    def _ensure_units(self, change: Change, names: Iterable[str]) -> None:
        known = {u.name for u in self.repo.units()} | {u.name for u in change.units}
        for name in names:
            if name and name not in known:
                change.units.append(Unit(name))
                known.add(name)

    def _ensure_people(self, change: Change, names: Iterable[str], *, unit: str) -> None:
        pending = {p.name for p in change.people}
        for name in names:
            if name not in pending and self.repo.get_person(name) is None:
                change.people.append(Person(name=name, unit=unit))
                pending.add(name)

    def _ensure_leader(self, change: Change, name: str) -> None:
        if self.repo.get_person(name) is None:
            change.people.append(Person(name=name, role=Role.LEADER))


def _urgency(task: Task) -> tuple[date, str]:
    return (task.deadline or date.max, task.id)
