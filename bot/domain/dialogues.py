"""The dialogue port: what a person is in the middle of saying to the bot, kept between their
messages — the guided /add's answers so far, "the next file is a ledger" after /import.

Why a port, and not the channel library's memory (python-telegram-bot's ConversationHandler
and user_data): several workers may serve one county (issue 16), and any of them may get the
next message of a dialogue; a restart must not lose it either. So the state lives where the
ledger lives (bot/adapters/dialogues.py `StoreDialogues`, over the store's documents) — or,
without a store, in memory (`MemoryDialogues` there: a read-only store, tests on fakes).

A state is a small JSON-like dict (strings, numbers, lists, dicts, None; the application
encodes anything else) under a key naming whose dialogue it is and where (bot/app/dialogue.py
builds the keys). Each state has a deadline, `expires_at`, measured on the injected clock: past
it the dialogue is over — `get` no longer gives it, `expired` does until someone clears it
(so the person is told once that it timed out), and the store forgets it some time later.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

Dialogue = dict[str, Any]
"""One dialogue's state (JSON-like)."""


class DialogueStore(ABC):
    """Dialogue states by key, each until its deadline. `put` and `clear` return only once
    the change is durable (where the implementation is durable); they raise PersistenceError
    when it could not be made so, and then nothing changed."""

    @abstractmethod
    def get(self, key: str) -> Dialogue | None:
        """The dialogue's state (a copy), or None: there is none, or it has expired."""

    @abstractmethod
    def put(self, key: str, state: Dialogue, expires_at: datetime) -> None:
        """Keep `state` (a copy) under `key` until `expires_at`, replacing what was there."""

    @abstractmethod
    def clear(self, key: str) -> None:
        """The dialogue is over (answered, cancelled, or told that it expired). Nothing is
        written when there is nothing under `key`."""

    @abstractmethod
    def expired(self, key: str) -> Dialogue | None:
        """The state of a dialogue that has expired and was not cleared yet, else None."""
