"""The inbox: every incoming update is made durable before it is confirmed to the channel, and
marked applied in the same commit as the change it causes.

Why: Telegram (like every channel) delivers at least once. python-telegram-bot's own polling
confirms a batch as soon as it is fetched, so a crash while handling it loses the batch; and
recognising redeliveries by the highest update id breaks when Telegram renumbers updates (after
a week without any, the next id is random; a test server numbers from the start again).

So an update goes through four states, all in the store's table ``inbox``:

* received — fetched, written (fsynced) before the fetch is confirmed to Telegram. After a
  crash it is still here and is handled at start-up; Telegram will not send it again.
* applied — its change committed. ``Receipt``: while an update is handled, every commit of
  the repository adds the applied mark to the same journal line, so the change and the mark
  are durable together or not at all. An update whose handling commits nothing (``/tasks``) is
  marked applied right after it was answered.
* done — answered. An update applied but not done when the process died (its change is in
  the store, its answer never went out) is answered at start-up without being applied again
  (bot/tg/reporting.py ``reanswer``).
* kept — a done mark may keep a few fields of its update (``Receipt.keep``, read back by
  ``StoreInbox.kept``) until it is forgotten: a 钉钉 message a question with buttons was
  about, so that a button pressed later can read that message again
  (bot/dingtalk/inbound.py). Nothing else keeps its text past done.
* forgotten — marks older than ``KEEP_APPLIED`` are dropped (Telegram keeps an unconfirmed
  update for at most 24 hours, so none can come back later).

An update is recognised by its *receipt key*: the update id plus the identity of what it
carries (the chat and message id, the callback query id, …). A redelivered update has the same
key; an update of a new numbering that happens to reuse an old id does not.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.docstore import Documents, Put, StoreError, StoreWriteError
from bot.domain.clock import Clock
from bot.domain.ports import PersistenceError

log = logging.getLogger(__name__)

INBOX = "inbox"
RECEIVED, APPLIED, DONE = "received", "applied", "done"
KEEP_APPLIED = timedelta(hours=48)
PRUNE_EVERY = timedelta(hours=1)


@dataclass
class Receipt:
    """The update being handled in this asyncio task (see ``applying``)."""

    key: str
    at: str  # ISO time the handling began
    update: dict[str, Any] | None = None  # kept until done: to answer it after a crash
    applied: bool = False
    keep: dict[str, Any] | None = None  # kept with the done mark (see the module docstring)

    def put(self, state: str = APPLIED) -> Put:
        doc: dict[str, Any] = {"state": state, "at": self.at}
        if state == APPLIED and self.update is not None:
            doc["update"] = self.update
        if state == DONE and self.keep is not None:
            doc["kept"] = self.keep
        return (INBOX, self.key, doc)


# Set by the intake around the handling of one update. asyncio copies the context into every
# task, so updates handled concurrently each see their own receipt.
applying: contextvars.ContextVar[Receipt | None] = contextvars.ContextVar(
    "luoshi_applying", default=None)


def receipt_puts() -> list[Put]:
    """For the repository's commit: the applied mark of the update being handled, if any."""
    receipt = applying.get()
    return [receipt.put()] if receipt is not None else []


def applied_before() -> bool:
    """An earlier commit already carried the applied mark of the update being handled."""
    receipt = applying.get()
    return receipt is not None and receipt.applied


def applied_elsewhere(store: Documents) -> bool:
    """Another worker applied the update being handled (its mark says so in ``store``)."""
    receipt = applying.get()
    if receipt is None or receipt.applied:
        return False
    doc = store.get(INBOX, receipt.key) or {}
    return doc.get("state") in (APPLIED, DONE)


def committed() -> None:
    """For the repository: the commit that carried ``receipt_puts`` is durable."""
    receipt = applying.get()
    if receipt is not None:
        receipt.applied = True


def receipt_key(update: dict[str, Any]) -> str:
    """``<update_id>:<digest of what the update carries>`` (see the module docstring)."""
    update_id = update.get("update_id")
    kind = next((k for k in update if k != "update_id"), "")
    body = update.get(kind)
    identity: Any
    if isinstance(body, dict):
        chat: dict[str, Any] = body["chat"] if isinstance(body.get("chat"), dict) else {}
        sender: dict[str, Any] = body["from"] if isinstance(body.get("from"), dict) else {}
        identity = [kind, body.get("id"), chat.get("id"), body.get("message_id"),
                    body.get("date"), sender.get("id"), body.get("text"), body.get("data")]
    else:
        identity = [kind, body]
    digest = hashlib.blake2b(json.dumps(identity, ensure_ascii=False, default=str).encode(),
                             digest_size=8).hexdigest()
    return f"{update_id}:{digest}"


class StoreInbox:
    """The inbox table of a DocStore (the event loop's thread only, like the store)."""

    def __init__(self, store: Documents, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._order = max((doc.get("n", 0) for doc in self._docs()), default=0)
        self._pruned_at: datetime | None = None

    def _docs(self) -> Iterator[dict[str, Any]]:
        yield from self.store.all(INBOX).values()

    def refresh(self) -> None:
        """Take in what other workers committed (a shared store; else nothing to do). When
        the database cannot be reached now, go on with this worker's view: a commit made on
        it is checked against the others' anyway (bot/adapters/postgres.py)."""
        try:
            self.store.refresh()
        except StoreError as err:
            log.warning("could not fetch other workers' changes: %s", err)

    def applied(self, key: str) -> bool:
        """The update was applied (or answered) — on a shared store, maybe by another worker."""
        doc = self.store.get(INBOX, key) or {}
        return doc.get("state") in (APPLIED, DONE)

    def known(self, key: str) -> bool:
        """Received or applied already (a redelivery) — by this or, on a shared store, any
        worker (the caller refreshes first)."""
        return key in self.store.all(INBOX)

    def receive(self, updates: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Make fetched updates durable, in one commit. PersistenceError if it could not be:
        then they must not be confirmed to the channel."""
        now = self.clock.now().isoformat()
        puts: list[Put] = []
        for key, update in updates:
            self._order += 1
            puts.append((INBOX, key, {"state": RECEIVED, "n": self._order, "at": now,
                                      "update": update}))
        puts += self._expired()
        self._commit(puts)

    def pending(self, state: str = RECEIVED, *,
                older_than: timedelta | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Updates received but not applied (a crash or stop came first), oldest first; with
        ``state=APPLIED``, those applied but never answered. ``older_than``: only those
        received (or applied) that long ago — on a store shared by several workers, younger
        ones are probably being handled by the worker that received them."""
        cutoff = (self.clock.now() - older_than).isoformat() if older_than else None
        found = [(doc.get("n", 0), key, doc["update"])
                 for key, doc in self.store.all(INBOX).items()
                 if doc.get("state") == state and "update" in doc
                 and (cutoff is None or doc.get("at", "") < cutoff)]
        return [(key, update) for _n, key, update in sorted(found, key=lambda f: f[0])]

    def kept(self, key: str) -> dict[str, Any] | None:
        """What a done mark kept of its update, or the update itself while it is not done
        yet (received or applied, not answered); None when the key is unknown or forgotten."""
        doc = self.store.get(INBOX, key)
        if doc is None:
            return None
        kept = doc.get("kept")
        if isinstance(kept, dict):
            return kept
        update = doc.get("update")
        return update if isinstance(update, dict) else None

    def begin(self, key: str) -> Receipt:
        self.refresh()  # read what other workers did, before this update is handled
        doc = self.store.get(INBOX, key) or {}
        return Receipt(key, self.clock.now().isoformat(), doc.get("update"))

    def finish(self, receipt: Receipt) -> None:
        """The update was handled and answered: done (its text is dropped from the store)."""
        self._commit([receipt.put(DONE)])
        receipt.applied = True

    def _expired(self) -> list[Put]:
        """Applied marks too old to matter, at most once an hour."""
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return []
        self._pruned_at = now
        cutoff = (now - KEEP_APPLIED).isoformat()
        return [(INBOX, key, None) for key, doc in self.store.all(INBOX).items()
                if doc.get("state") in (APPLIED, DONE) and doc.get("at", "") < cutoff]

    def _commit(self, puts: list[Put]) -> None:
        try:
            self.store.commit(puts)
        except StoreWriteError as err:
            raise PersistenceError(str(err)) from err
