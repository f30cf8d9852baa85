"""Ports: what the domain needs from the outside, as small abstract classes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TypeVar

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

T = TypeVar("T")


@dataclass
class Change:
    """Everything one user action changes; committed durably as one unit or not at all."""

    tasks: list[Task] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    outbox_drop: list[str] = field(default_factory=list)  # keys of old entries to forget
    reports: list[Report] = field(default_factory=list)
    difficulties: list[Difficulty] = field(default_factory=list)
    extensions: list[ExtensionRequest] = field(default_factory=list)
    bulletin_ranks: dict[str, dict[str, int]] = field(default_factory=dict)  # period → ranks
    rebinds: list[RebindRequest] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.tasks, self.people, self.units, self.invites, self.history,
                    self.counters, self.outbox, self.outbox_drop, self.reports,
                    self.difficulties, self.extensions, self.bulletin_ranks, self.rebinds))


class LedgerRepository(ABC):
    """The ledger's storage. `commit` returns only once the change is durable on disk."""

    @abstractmethod
    def get_task(self, task_id: str) -> Task | None: ...

    @abstractmethod
    def tasks(self) -> Iterable[Task]: ...

    @abstractmethod
    def get_person(self, name: str) -> Person | None: ...

    @abstractmethod
    def people(self) -> Iterable[Person]: ...

    @abstractmethod
    def person_by_user(self, user_id: int) -> Person | None: ...

    @abstractmethod
    def units(self) -> Iterable[Unit]: ...

    @abstractmethod
    def get_invite(self, code: str) -> Invite | None: ...

    @abstractmethod
    def history(self, task_id: str) -> Sequence[HistoryEntry]: ...

    @abstractmethod
    def counter(self, name: str) -> int: ...

    @abstractmethod
    def outbox_get(self, key: str) -> OutboxEntry | None: ...

    @abstractmethod
    def outbox_keys(self) -> Iterable[str]: ...

    @abstractmethod
    def get_report(self, report_id: str) -> Report | None: ...

    @abstractmethod
    def bulletin_ranks(self, period_code: str) -> dict[str, int] | None:
        """The unit ranks published in the bulletin of that period, if one was sent."""

    @abstractmethod
    def reports(self) -> Iterable[Report]:
        """Every report (for bulletins, scores and the daily summary)."""

    @abstractmethod
    def report_from(self, source: str) -> Report | None:
        """The report made from one Telegram message, if any."""

    @abstractmethod
    def difficulties_of(self, task_id: str) -> Sequence[Difficulty]: ...

    @abstractmethod
    def open_difficulties(self) -> Sequence[Difficulty]: ...

    def get_difficulty(self, difficulty_id: str) -> Difficulty | None:
        """One 困难 by id, whatever became of it (a button names it). Stores override this
        scan with a lookup."""
        for task in self.tasks():
            for item in self.difficulties_of(task.id):
                if item.id == difficulty_id:
                    return item
        return None

    @abstractmethod
    def extensions_of(self, task_id: str) -> Sequence[ExtensionRequest]: ...

    @abstractmethod
    def get_rebind(self, request_id: str) -> RebindRequest | None:
        """One 换绑 request (any status)."""

    @abstractmethod
    def rebinds(self) -> Iterable[RebindRequest]:
        """Every 换绑 request (few: one per redeemed invite of an already-bound person)."""

    @abstractmethod
    def commit(self, change: Change) -> None:
        """Make the change durable, then visible. Raises StorageFull/OSError-like errors
        (the adapter's own) when it could not; then nothing changed."""

    # --- several workers on one store (bot/adapters/postgres.py); one process: no-ops -----

    def refresh(self) -> None:  # noqa: B027 - deliberately optional: one process has no others
        """Take in what other workers committed since (a store shared by several workers)."""

    def take_number(self, counter: str, after: int) -> int | None:
        """The next number of `counter` (greater than `after`, the counter as this worker
        sees it), taken at once so that no other worker takes it too; None (this default):
        the store has no such service, and the change carries the counter (one process)."""
        return None

    def claim_outbox(self, keys: Sequence[str]) -> AbstractContextManager[bool]:
        """Hold these outbox keys while their message is sent and its outcome recorded (the
        record is the block's last step: it commits when the block ends). The value is False
        when another worker holds one of them — a planner taking over while the old one still
        runs — and then the message must not be sent. A worker that cannot reach the store
        cannot claim (an error), so it cannot send what it could not record. One process: True.
        """
        return nullcontext(True)


class PersistenceError(Exception):
    """A change could not be made durable (disk full, I/O error). Nothing changed;
    the user must be told to try again, never that it was saved."""


class ConcurrentChange(PersistenceError):
    """Another worker changed what this change was computed from (a store shared by several
    workers: bot/adapters/postgres.py). Nothing changed, and the repository now shows the
    other change: running the same action again computes it anew (`retryable`). Not retryable
    when the action already committed part of its work (an update applied by an earlier
    commit): then it is answered like any change that could not be saved. `duplicate`: the
    other worker applied this very update (delivered twice, handled twice at once): nothing
    is left to do and nothing to say — that worker answers."""

    def __init__(self, message: str = "", *, retryable: bool = True,
                 duplicate: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable and not duplicate
        self.duplicate = duplicate


RETRIES_AFTER_CONFLICT = 3  # times an action is run again after ConcurrentChange


def retry_on_conflict(work: Callable[[], T]) -> T:
    """``work()``, run again (at most RETRIES_AFTER_CONFLICT times) while it raises a
    retryable ConcurrentChange; the last one propagates."""
    for attempt in range(RETRIES_AFTER_CONFLICT + 1):
        try:
            return work()
        except ConcurrentChange as err:
            if not err.retryable or attempt == RETRIES_AFTER_CONFLICT:
                raise
    raise AssertionError("unreachable")


class Unreachable(Exception):
    """The recipient cannot be messaged (blocked the bot, or never started it)."""


class DeliveryFailed(Exception):
    """Sending failed for now (network, Telegram trouble) after the sender's own retries."""


Buttons = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)


class Sender(ABC):
    """Sends to one chat; returns the id of the message sent. Raises `Unreachable` or
    `DeliveryFailed` when it was not delivered.

    `channel` names the channel (the outbox keys what was sent by channel, so a person
    reachable on two channels gets each reminder once on each at most)."""

    channel: str = "telegram"

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this sender reaches (a router over several channels: each of them)."""
        return (self.channel,)

    @abstractmethod
    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        """A text of any length: a long one goes in parts (the buttons under the last), and
        the id is the last part's."""

    @abstractmethod
    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        """An image (PNG or JPEG bytes) with a short caption (clipped when too long)."""

    async def send_document(self, chat_id: int, filename: str, data: bytes,
                            caption: str = "") -> int:
        """A file (an exported workbook) with a short caption. Channels that cannot send files
        say so (this default): the caller tells the user, never claims it was sent."""
        raise DeliveryFailed(f"the {self.channel} channel cannot send files")

    async def edit(self, chat_id: int, message_id: int, text: str,
                   buttons: Buttons | None = None) -> bool:
        """Replace the text of a message sent earlier (kept by its ids: a 核账 post whose
        交账 was taken back); without `buttons` its buttons go. False when it was not
        edited: the message is too old or gone, or the channel cannot edit (this default).
        Callers tell people anew instead of relying on an edit."""
        return False

    # --- read status (optional: 钉钉 can tell, Telegram cannot) --------------------------------

    def receipt(self, chat_id: int, message_id: int) -> str | None:
        """What to keep durably with the outbox entry of a message just sent (by the id
        `send` returned) so that `read_by` can later ask who read it — after a restart too
        (钉钉: the send's processQueryKey). None (this default): the channel cannot tell."""
        return None

    async def read_by(self, chat_id: int, receipt: str) -> set[str] | None:
        """The account ids (as in `Address.id` on this channel) who have read the message
        kept as `receipt` (from `receipt`) in `chat_id`; None when not known: the channel
        cannot tell (this default), or could not say now. Never raises for that."""
        return None
