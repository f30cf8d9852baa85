"""The ledger repository over the journaled document store.

Decoded domain objects are cached next to the documents, so reads cost no JSON work and a
commit only touches what changed. Reports and the outbox, which grow every day, are decoded on
demand instead. Reads may come from a worker thread (bulletins, the daily summary): they copy a
table's values in one step before looking at them.

Over a store shared by several workers (bot/adapters/postgres.py) the decoded objects follow
the other workers' commits: the store tells the repository what changed (`subscribe`) when it
refreshes. A change refused because another worker wrote the same keys meanwhile
(`ConcurrentChange`) may be computed again — unless the update being handled was already
marked applied by an earlier commit of the same action (then it is not retryable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from bot.adapters import inbox
from bot.adapters.docstore import Doc, Documents, Put, StoreWriteError
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
from bot.domain.ports import Change, ConcurrentChange, LedgerRepository, PersistenceError

TASKS, PEOPLE, UNITS, INVITES, COUNTERS = "tasks", "people", "units", "invites", "counters"
OUTBOX = "outbox"
REPORTS, DIFFICULTIES, EXTENSIONS = "reports", "difficulties", "extensions"
BULLETINS = "bulletins"
REBINDS = "rebinds"  # 换绑 requests waiting for (or decided by) an admin
T = TypeVar("T")


class StoreRepository(LedgerRepository):
    def __init__(self, store: Documents) -> None:
        self.store = store
        self._tasks: dict[str, Task] = {}
        self._people: dict[str, Person] = {}
        self._by_user: dict[int, str] = {}
        self._difficulties: dict[str, Difficulty] = {}
        self._extensions: dict[str, ExtensionRequest] = {}
        self._sources: dict[str, str] = {}
        self._load()
        store.subscribe(self._remote)

    def _remote(self, changes: list[tuple[str, str, Doc | None]]) -> None:
        """Other workers' changes, now in the store: update the decoded objects."""
        for table, key, doc in changes:
            if table == TASKS:
                _follow(self._tasks, key, doc, Task.from_doc)
            elif table == DIFFICULTIES:
                _follow(self._difficulties, key, doc, Difficulty.from_doc)
            elif table == EXTENSIONS:
                _follow(self._extensions, key, doc, ExtensionRequest.from_doc)
            elif table == PEOPLE:
                old = self._people.pop(key, None)
                if old is not None and old.user_id:
                    self._by_user.pop(old.user_id, None)
                if doc is not None:
                    person = self._people[key] = Person.from_doc(doc)
                    if person.user_id:
                        self._by_user[person.user_id] = person.name
            elif table == REPORTS and doc is not None and doc.get("source"):
                self._sources[doc["source"]] = key

    def _load(self) -> None:
        self._tasks = {k: Task.from_doc(d) for k, d in self.store.all(TASKS).items()}
        self._people = {k: Person.from_doc(d) for k, d in self.store.all(PEOPLE).items()}
        self._by_user = {p.user_id: p.name for p in self._people.values() if p.user_id}
        self._difficulties = {k: Difficulty.from_doc(d)
                              for k, d in self.store.all(DIFFICULTIES).items()}
        self._extensions = {k: ExtensionRequest.from_doc(d)
                            for k, d in self.store.all(EXTENSIONS).items()}
        self._sources = {d["source"]: k for k, d in self.store.all(REPORTS).items()
                         if d.get("source")}

    # ---- reads ---------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def tasks(self) -> Iterable[Task]:
        return list(self._tasks.values())

    def get_person(self, name: str) -> Person | None:
        return self._people.get(name)

    def people(self) -> Iterable[Person]:
        return list(self._people.values())

    def person_by_user(self, user_id: int) -> Person | None:
        name = self._by_user.get(user_id)
        return self._people.get(name) if name else None

    def units(self) -> Iterable[Unit]:
        return [Unit.from_doc(d) for d in self.store.all(UNITS).values()]

    def get_invite(self, code: str) -> Invite | None:
        doc = self.store.get(INVITES, code)
        return Invite.from_doc(doc) if doc else None

    def history(self, task_id: str) -> Sequence[HistoryEntry]:
        return [HistoryEntry.from_doc(d) for d in self.store.history(task_id)]

    def counter(self, name: str) -> int:
        doc = self.store.get(COUNTERS, name)
        return int(doc["value"]) if doc else 0

    def outbox_get(self, key: str) -> OutboxEntry | None:
        doc = self.store.get(OUTBOX, key)
        return OutboxEntry.from_doc(doc) if doc else None

    def outbox_keys(self) -> Iterable[str]:
        return list(self.store.all(OUTBOX).keys())

    def get_report(self, report_id: str) -> Report | None:
        doc = self.store.get(REPORTS, report_id)
        return Report.from_doc(doc) if doc else None

    def bulletin_ranks(self, period_code: str) -> dict[str, int] | None:
        doc = self.store.get(BULLETINS, period_code)
        return dict(doc["ranks"]) if doc else None

    def reports(self) -> Iterable[Report]:
        # Bulletins call this from a worker thread while the event loop may commit new
        # reports: `docs` copies the encoded documents in one step, then decodes.
        return [Report.from_doc(d) for d in self.store.docs(REPORTS)]

    def report_from(self, source: str) -> Report | None:
        report_id = self._sources.get(source)
        return self.get_report(report_id) if report_id else None

    def difficulties_of(self, task_id: str) -> Sequence[Difficulty]:
        return [d for d in list(self._difficulties.values()) if d.task_id == task_id]

    def open_difficulties(self) -> Sequence[Difficulty]:
        return [d for d in list(self._difficulties.values()) if d.open]

    def get_difficulty(self, difficulty_id: str) -> Difficulty | None:
        return self._difficulties.get(difficulty_id)

    def extensions_of(self, task_id: str) -> Sequence[ExtensionRequest]:
        return [e for e in list(self._extensions.values()) if e.task_id == task_id]

    def get_rebind(self, request_id: str) -> RebindRequest | None:
        doc = self.store.get(REBINDS, request_id)
        return RebindRequest.from_doc(doc) if doc else None

    def rebinds(self) -> Iterable[RebindRequest]:
        return [RebindRequest.from_doc(d) for d in self.store.docs(REBINDS)]

    # ---- several workers ----------------------------------------------------------------------

    def refresh(self) -> None:
        self.store.refresh()

    def claim_outbox(self, keys: Sequence[str]) -> AbstractContextManager[bool]:
        return self.store.claim(OUTBOX, keys)

    def take_number(self, counter: str, after: int) -> int | None:
        try:
            return self.store.take_number(counter, after)
        except StoreWriteError as err:
            raise PersistenceError(str(err)) from err

    # ---- the one write path ----------------------------------------------------------------

    def commit(self, change: Change) -> None:
        puts: list[Put] = []
        puts += [(TASKS, t.id, t.to_doc()) for t in change.tasks]
        puts += [(PEOPLE, p.name, p.to_doc()) for p in change.people]
        puts += [(UNITS, u.name, u.to_doc()) for u in change.units]
        puts += [(INVITES, i.code, i.to_doc()) for i in change.invites]
        puts += [(COUNTERS, k, {"value": v}) for k, v in change.counters.items()]
        puts += [(OUTBOX, o.key, o.to_doc()) for o in change.outbox]
        puts += [(OUTBOX, key, None) for key in change.outbox_drop]
        puts += [(REPORTS, r.id, r.to_doc()) for r in change.reports]
        puts += [(DIFFICULTIES, d.id, d.to_doc()) for d in change.difficulties]
        puts += [(EXTENSIONS, e.id, e.to_doc()) for e in change.extensions]
        puts += [(BULLETINS, code, {"ranks": ranks})
                 for code, ranks in change.bulletin_ranks.items()]
        puts += [(REBINDS, r.id, r.to_doc()) for r in change.rebinds]
        # The update being handled is marked applied in the same journal line (bot/adapters/
        # inbox.py): the change and the mark are durable together or not at all.
        puts += inbox.receipt_puts()
        history: list[tuple[str, dict[str, Any]]] = [(h.task_id, h.to_doc())
                                                       for h in change.history]
        try:
            self.store.commit(puts, history)
        except ConcurrentChange as err:
            # Computed on what another worker has changed since: the store now shows it.
            # Running the action again is right — unless this update already applied something,
            # or another worker applied this very update (a redelivery handled twice at once).
            raise ConcurrentChange(str(err), retryable=not inbox.applied_before(),
                                   duplicate=inbox.applied_elsewhere(self.store)) from err
        except StoreWriteError as err:
            raise PersistenceError(str(err)) from err
        inbox.committed()
        # Durable: now make it visible.
        for task in change.tasks:
            self._tasks[task.id] = task
        for report in change.reports:
            if report.source:
                self._sources[report.source] = report.id
        for difficulty in change.difficulties:
            self._difficulties[difficulty.id] = difficulty
        for extension in change.extensions:
            self._extensions[extension.id] = extension
        for person in change.people:
            old = self._people.get(person.name)
            if old and old.user_id and old.user_id != person.user_id:
                self._by_user.pop(old.user_id, None)
            self._people[person.name] = person
            if person.user_id:
                self._by_user[person.user_id] = person.name


def _follow(decoded: dict[str, T], key: str, doc: Doc | None,
            decode: Callable[[Doc], T]) -> None:
    """One decoded object follows its document (None: deleted)."""
    if doc is None:
        decoded.pop(key, None)
    else:
        decoded[key] = decode(doc)
