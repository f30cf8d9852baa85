"""Fakes for the domain's ports: an in-memory repository with the same contract as the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.domain.model import HistoryEntry, Invite, OutboxEntry, Person, Task, Unit
from bot.domain.ports import Change, LedgerRepository, PersistenceError


class FakeRepository(LedgerRepository):
    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._people: dict[str, Person] = {}
        self._units: dict[str, Unit] = {}
        self._invites: dict[str, Invite] = {}
        self._history: list[HistoryEntry] = []
        self._counters: dict[str, int] = {}
        self._outbox: dict[str, OutboxEntry] = {}
        self.commits = 0
        self.fail_next_commit = False

    def get_task(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def tasks(self) -> Iterable[Task]:
        return list(self._tasks.values())

    def get_person(self, name: str) -> Person | None:
        return self._people.get(name)

    def people(self) -> Iterable[Person]:
        return list(self._people.values())

    def person_by_user(self, user_id: int) -> Person | None:
        return next((p for p in self._people.values() if p.user_id == user_id), None)

    def units(self) -> Iterable[Unit]:
        return list(self._units.values())

    def get_invite(self, code: str) -> Invite | None:
        return self._invites.get(code)

    def history(self, task_id: str) -> Sequence[HistoryEntry]:
        return [h for h in self._history if h.task_id == task_id]

    def counter(self, name: str) -> int:
        return self._counters.get(name, 0)

    def outbox_get(self, key: str) -> OutboxEntry | None:
        return self._outbox.get(key)

    def outbox_keys(self) -> Iterable[str]:
        return list(self._outbox)

    def commit(self, change: Change) -> None:
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise PersistenceError("disk full")
        self.commits += 1
        self._tasks.update({t.id: t for t in change.tasks})
        self._people.update({p.name: p for p in change.people})
        self._units.update({u.name: u for u in change.units})
        self._invites.update({i.code: i for i in change.invites})
        self._history.extend(change.history)
        self._counters.update(change.counters)
        self._outbox.update({o.key: o for o in change.outbox})
        for key in change.outbox_drop:
            self._outbox.pop(key, None)
