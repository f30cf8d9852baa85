"""Fault injection and flood limits: `fail_next` (an error answer), `drop_connection_next`
(the transport hangs up, before or after executing the call), `rate_limit` (Telegram-like
429s with retry_after over sliding windows) and `hold` (calls wait, unexecuted, until
`release_held`: a moment with requests on the way but none delivered, to kill a process in).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from bot.fakeapi.protocol import ApiError, JSONDict
from bot.fakeapi.state import FakeState

#: Methods counted (and limited) by `FakeBotApi.rate_limit`.
RATE_LIMITED_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)


def _default_description(error_code: int, retry_after: int | None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(error_code, "Error")


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class _Hold:
    method: str  # lower-case name
    chats: frozenset[int] | None  # only calls to these chats (None: any)
    after: int  # calls let through before holding starts
    seen: int = 0
    held: int = 0  # calls waiting now
    gate: threading.Event = field(default_factory=threading.Event)


@dataclass
class _RateLimiter:
    global_per_sec: int | None
    per_chat_per_sec: int | None
    per_group_per_min: int | None
    global_hits: deque[float] = field(default_factory=deque)
    chat_hits: dict[int, deque[float]] = field(default_factory=dict)
    group_hits: dict[int, deque[float]] = field(default_factory=dict)

    @staticmethod
    def _retry(hits: deque[float], limit: int | None, window: float, now: float) -> int | None:
        while hits and hits[0] <= now - window:
            hits.popleft()
        if limit is not None and len(hits) >= limit:
            return max(1, math.ceil(hits[0] + window - now))
        return None

    def check(self, chat_id: int | None, now: float) -> int | None:
        waits = [self._retry(self.global_hits, self.global_per_sec, 1.0, now)]
        if chat_id is not None:
            waits.append(
                self._retry(
                    self.chat_hits.setdefault(chat_id, deque()), self.per_chat_per_sec, 1.0, now
                )
            )
            if chat_id < 0:
                waits.append(
                    self._retry(
                        self.group_hits.setdefault(chat_id, deque()),
                        self.per_group_per_min,
                        60.0,
                        now,
                    )
                )
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def record(self, chat_id: int | None, now: float) -> None:
        self.global_hits.append(now)
        if chat_id is not None:
            self.chat_hits.setdefault(chat_id, deque()).append(now)
            if chat_id < 0:
                self.group_hits.setdefault(chat_id, deque()).append(now)


class FaultsMixin(FakeState):
    """Fault injection and flood limits for `FakeBotApi`; `call` consults them."""

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" = any method) with this error.

        For 429 `retry_after` defaults to 1 and the description to Telegram's
        "Too Many Requests: retry after N". The call is still recorded in `calls`.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        fault = _Fault(
            error_code,
            description or _default_description(error_code, retry_after),
            retry_after,
            count,
        )
        with self._lock:
            self._faults.setdefault(self._method_key(method), deque()).append(fault)

    def drop_connection_next(
        self, method: str, *, after_processing: bool = False, count: int = 1
    ) -> None:
        """Make the transport close the connection without answering the next call(s).

        With `after_processing` the call is executed first (the message *is* sent, only the
        answer is lost). `FakeRequest` raises a connection error instead.
        """
        with self._lock:
            queue = self._drops.setdefault(self._method_key(method), deque())
            queue.extend([after_processing] * count)

    def rate_limit(
        self,
        global_per_sec: int | None = 30,
        per_chat_per_sec: int | None = 1,
        per_group_per_min: int | None = 20,
        *,
        enabled: bool = True,
    ) -> None:
        """Enforce Telegram-like flood limits (sliding windows over `clock`) with 429 +
        retry_after on the methods in RATE_LIMITED_METHODS. None disables one limit,
        `enabled=False` all of them. 429s are counted in `too_many_requests`."""
        with self._lock:
            self._limiter = (
                _RateLimiter(global_per_sec, per_chat_per_sec, per_group_per_min)
                if enabled
                else None
            )

    def hold(self, method: str, *, after: int = 0, chats: frozenset[int] | None = None) -> None:
        """Let `after` calls of `method` (to `chats`, if given) through, then make the next
        ones wait — unexecuted — until `release_held`. `held` says how many wait."""
        with self._lock:
            self._hold = _Hold(self._method_key(method), chats, after)

    @property
    def held(self) -> int:
        with self._lock:
            return self._hold.held if self._hold is not None else 0

    def release_held(self) -> None:
        """End the hold: the waiting calls are answered 502 without being executed (the
        message never reached Telegram; a process killed meanwhile never learns of it)."""
        with self._lock:
            hold, self._hold = self._hold, None
        if hold is not None:
            hold.gate.set()

    def _wait_if_held(self, method: str, params: JSONDict) -> bool:
        """In `call`, before the lock: True when this call was held and must not run."""
        with self._cond:
            hold = self._hold
            if hold is None or self._method_key(method) != hold.method:
                return False
            chat = params.get("chat_id")
            if hold.chats is not None and (not isinstance(chat, int | str)
                                           or int(chat) not in hold.chats):
                return False
            hold.seen += 1
            if hold.seen <= hold.after:
                return False
            hold.held += 1
            self._cond.notify_all()  # `wait_until(lambda: api.held …)` looks again
        hold.gate.wait()
        with self._lock:
            hold.held -= 1
        return True

    def take_connection_drop(self, method: str) -> str | None:
        """Consume a pending `drop_connection_next` for `method`.

        Returns None (answer normally), "before" (drop without executing the call) or "after"
        (execute the call, then drop the answer). Used by the transports.
        """
        with self._lock:
            entry = self._handlers.get(method.lower())
            for key in ((entry[0] if entry else method).lower(), "*"):
                queue = self._drops.get(key)
                if queue:
                    after = queue.popleft()
                    return "after" if after else "before"
            return None

    # ------------------------------------------------------------------ internals

    def _method_key(self, method: str) -> str:
        if method == "*":
            return "*"
        entry = self._handlers.get(method.lower())
        return (entry[0] if entry else method).lower()

    def _check_fault(self, name: str) -> None:
        for key in (name.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                raise ApiError(fault.error_code, fault.description, fault.retry_after)

    def _rate_limit_chat(self, name: str, params: JSONDict) -> int | None:
        if self._limiter is None or name not in RATE_LIMITED_METHODS:
            return None
        try:
            chat_id = self._chat_id(params, required=False)
        except ApiError:
            chat_id = None
        retry_after = self._limiter.check(chat_id, self.clock())
        if retry_after is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        return chat_id
