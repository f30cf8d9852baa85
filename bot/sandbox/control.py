"""What the sandbox web page may ask of the running sandbox (identities, the clock, jobs)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Identity:
    """Someone the page can act as, on one channel: Telegram (`user_id` is the Telegram id) or
    钉钉 (`account` is the staffId, `user_id` its account number, bot/domain/accounts.py). A
    person bound on both channels is two identities, one per channel."""

    user_id: int
    name: str
    role: str  # "admin" | "official" | "leader" | "new"
    unit: str = ""
    channel: str = "telegram"  # "telegram" | "dingtalk"
    account: str = ""  # the 钉钉 staffId ("" on Telegram)


ACTIONS = ("dispatch", "bulletin", "summary", "next_workday", "next_day")


class SandboxControl(ABC):
    @abstractmethod
    def identities(self) -> list[Identity]: ...

    @abstractmethod
    def admin_group(self) -> tuple[int, str]:
        """(chat id, title) of the admin group."""

    @abstractmethod
    def now(self) -> datetime:
        """The sandbox clock (what the bot believes the time is)."""

    @abstractmethod
    def run_action(self, action: str, timeout: float = 120.0) -> str:
        """Thread-safe and blocking: run one of ACTIONS on the bot's event loop and return a
        short human-readable result (Chinese). Raises ValueError for an unknown action."""

    @abstractmethod
    def reset(self, timeout: float = 120.0) -> str:
        """Thread-safe and blocking: start the sandbox over (a new demo ledger, empty chats,
        the clock from today) and return a short result (Chinese) once it is up again. Raises
        TimeoutError when it is not up within `timeout`."""
