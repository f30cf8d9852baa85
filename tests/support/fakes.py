"""Fakes for the domain's ports: an in-memory repository with the same contract as the store."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from bot.domain.model import (
    Difficulty,
    ExtensionRequest,
    HistoryEntry,
    Invite,
    OutboxEntry,
    Person,
    RebindRequest,
    Report,
    Task,
    Unit,
)
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
        self._reports: dict[str, Report] = {}
        self._difficulties: dict[str, Difficulty] = {}
        self._extensions: dict[str, ExtensionRequest] = {}
        self._bulletins: dict[str, dict[str, int]] = {}
        self._rebinds: dict[str, RebindRequest] = {}
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
        return copy.deepcopy([h for h in self._history if h.task_id == task_id])

    def counter(self, name: str) -> int:
        return self._counters.get(name, 0)

    def outbox_get(self, key: str) -> OutboxEntry | None:
        return self._outbox.get(key)

    def outbox_keys(self) -> Iterable[str]:
        return list(self._outbox)

    def get_report(self, report_id: str) -> Report | None:
        return copy.deepcopy(self._reports.get(report_id))

    def bulletin_ranks(self, period_code: str) -> dict[str, int] | None:
        return copy.deepcopy(self._bulletins.get(period_code))

    def reports(self) -> Iterable[Report]:
        return copy.deepcopy(list(self._reports.values()))

    def report_from(self, source: str) -> Report | None:
        if not source:  # as the store: only reports made from a message are indexed
            return None
        return copy.deepcopy(next((r for r in self._reports.values() if r.source == source),
                                  None))

    def get_difficulty(self, difficulty_id: str) -> Difficulty | None:
        return self._difficulties.get(difficulty_id)

    def difficulties_of(self, task_id: str) -> Sequence[Difficulty]:
        return [d for d in self._difficulties.values() if d.task_id == task_id]

    def open_difficulties(self) -> Sequence[Difficulty]:
        return [d for d in self._difficulties.values() if d.open]

    def extensions_of(self, task_id: str) -> Sequence[ExtensionRequest]:
        return [e for e in self._extensions.values() if e.task_id == task_id]

    def get_rebind(self, request_id: str) -> RebindRequest | None:
        return self._rebinds.get(request_id)

    def rebinds(self) -> Iterable[RebindRequest]:
        return list(self._rebinds.values())

    def commit(self, change: Change) -> None:
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise PersistenceError("disk full")
        self.commits += 1
        change = copy.deepcopy(change)  # as the store: later changes to the caller's objects
        # do not reach what was committed
        self._tasks.update({t.id: t for t in change.tasks})
        self._people.update({p.name: p for p in change.people})
        self._units.update({u.name: u for u in change.units})
        self._invites.update({i.code: i for i in change.invites})
        self._history.extend(change.history)
        self._counters.update(change.counters)
        self._outbox.update({o.key: o for o in change.outbox})
        for key in change.outbox_drop:
            self._outbox.pop(key, None)
        self._reports.update({r.id: r for r in change.reports})
        self._difficulties.update({d.id: d for d in change.difficulties})
        self._extensions.update({e.id: e for e in change.extensions})
        self._bulletins.update(change.bulletin_ranks)
        self._rebinds.update({r.id: r for r in change.rebinds})
