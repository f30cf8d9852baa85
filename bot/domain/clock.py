"""The clock port: the domain never calls datetime.now() itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta, tzinfo


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware in the county's time zone."""

    def today(self) -> date:
        return self.now().date()


class SystemClock(Clock):
    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz

    def now(self) -> datetime:
        return datetime.now(self._tz)


class FixedClock(Clock):
    """A clock that only moves when told to (tests, the sandbox)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        self._now = value

    def advance(self, delta: timedelta) -> None:
        self._now += delta
