"""Dialogue states (bot/domain/dialogues.py): in the store, or in memory when there is none.

`StoreDialogues` keeps each state as a document of the table ``dialogues`` — ``{"state": …,
"expires_at": ISO time, "at": ISO time}`` under the dialogue's key — through the store's
document API (`get`, `commit`), so it works on any store that offers it: the TinyDB DocStore
of a county install, and the PostgreSQL store several workers share. Every `put` and `clear`
is one durable commit, and it carries the applied mark of the update being handled (like the
repository's commits, bot/adapters/inbox.py): a dialogue's step and "this message was
applied" are durable together, so a redelivered or replayed message never answers the same
question twice (it would be taken as the answer to the next one).

Nothing is cached here: every read asks the store, which on a shared store shows what other
workers committed (the intake refreshes it before each update). There a commit of a key that
another worker wrote meanwhile is refused (ConcurrentChange, a PersistenceError): the use case
runs again on the fresh state (bot/app/common.py `guarded`).

Expired states stay until they are cleared (the person is told once that the dialogue timed
out: bot/app/dialogue.py) or until FORGET_AFTER past their deadline; those are deleted at most
once every PRUNE_EVERY, in a commit of their own after a `put` (a failure to prune is logged,
never the person's problem).

`MemoryDialogues` is the same in a dict, for services without a writable store (a read-only
store, the unit tests' fake repository): it lasts as long as the process.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta

from bot.adapters import inbox
from bot.adapters.docstore import Documents, Put, StoreWriteError
from bot.domain.clock import Clock
from bot.domain.dialogues import Dialogue, DialogueStore
from bot.domain.ports import PersistenceError

log = logging.getLogger(__name__)

DIALOGUES = "dialogues"
PRUNE_EVERY = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)  # an expired state is deleted this long after its deadline


class StoreDialogues(DialogueStore):
    """Dialogue states in the store's table ``dialogues`` (see the module docstring)."""

    def __init__(self, store: Documents, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._pruned_at: datetime | None = None

    def _held(self, key: str) -> tuple[Dialogue, datetime] | None:
        doc = self.store.get(DIALOGUES, key)
        if doc is None:
            return None
        try:
            return copy.deepcopy(dict(doc["state"])), datetime.fromisoformat(doc["expires_at"])
        except (KeyError, TypeError, ValueError):
            log.warning("dialogue %s is unreadable; treated as expired", key)
            return {}, datetime.min.replace(tzinfo=self.clock.now().tzinfo)

    def get(self, key: str) -> Dialogue | None:
        held = self._held(key)
        return held[0] if held is not None and held[1] > self.clock.now() else None

    def expired(self, key: str) -> Dialogue | None:
        held = self._held(key)
        return held[0] if held is not None and held[1] <= self.clock.now() else None

    def put(self, key: str, state: Dialogue, expires_at: datetime) -> None:
        now = self.clock.now()
        self._commit([(DIALOGUES, key, {"state": state, "expires_at": expires_at.isoformat(),
                                        "at": now.isoformat()})])
        self._prune(now)

    def clear(self, key: str) -> None:
        if self.store.get(DIALOGUES, key) is not None:
            self._commit([(DIALOGUES, key, None)])

    def _commit(self, puts: list[Put]) -> None:
        try:
            self.store.commit([*puts, *inbox.receipt_puts()])
        except StoreWriteError as err:
            raise PersistenceError(str(err)) from err
        inbox.committed()

    def _prune(self, now: datetime) -> None:
        """Forget states long expired, at most once every PRUNE_EVERY (best effort)."""
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        cutoff = now - FORGET_AFTER
        stale: list[Put] = []
        for key, doc in list(self.store.all(DIALOGUES).items()):
            try:
                expires_at = datetime.fromisoformat(doc["expires_at"])
            except (KeyError, TypeError, ValueError):
                expires_at = None
            if expires_at is None or expires_at < cutoff:
                stale.append((DIALOGUES, key, None))
        if not stale:
            return
        try:
            self.store.commit(stale)
        except (StoreWriteError, PersistenceError) as err:
            log.warning("could not forget %d expired dialogues: %s", len(stale), err)


class MemoryDialogues(DialogueStore):
    """Dialogue states in this process's memory (no store to keep them in)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._states: dict[str, tuple[Dialogue, datetime]] = {}

    def get(self, key: str) -> Dialogue | None:
        held = self._states.get(key)
        return copy.deepcopy(held[0]) if held and held[1] > self.clock.now() else None

    def expired(self, key: str) -> Dialogue | None:
        held = self._states.get(key)
        return copy.deepcopy(held[0]) if held and held[1] <= self.clock.now() else None

    def put(self, key: str, state: Dialogue, expires_at: datetime) -> None:
        now = self.clock.now()
        self._states = {k: v for k, v in self._states.items() if v[1] >= now - FORGET_AFTER}
        self._states[key] = (copy.deepcopy(state), expires_at)

    def clear(self, key: str) -> None:
        self._states.pop(key, None)
