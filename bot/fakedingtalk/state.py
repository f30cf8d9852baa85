"""The fake 钉钉's world: the app's credentials, the organisation (staff), groups, tokens and
tickets, messages the robot sent, and the clock everything expires on.

All of it is guarded by one lock: the HTTP server answers on its own threads, the Stream
server runs on its own event loop, and tests read and change it from theirs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

JSONDict = dict[str, Any]

#: 钉钉 counts days in China's time.
CHINA = timezone(timedelta(hours=8))

#: Access tokens live 7,200 s (documented: `expireIn` 7200).
TOKEN_LIFETIME = 7200.0
#: How long a Stream ticket may wait for its WebSocket (a guess; the real one is short-lived).
TICKET_LIFETIME = 90.0
#: A session webhook (`sessionWebhook`) is valid this long (documented as about 90 minutes).
SESSION_WEBHOOK_LIFETIME = 5400.0


class ManualClock:
    """A clock that moves only when told: `now()` in epoch seconds, `advance(seconds)`."""

    def __init__(self, start: float | datetime | None = None) -> None:
        if isinstance(start, datetime):
            start = start.timestamp()
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass
class Staff:
    """A person of the organisation: `staff_id` is 钉钉's userid (`senderStaffId`)."""

    staff_id: str
    name: str
    #: The one-to-one conversation's id as the robot sees it (`conversationId`).
    conversation_id: str = ""


@dataclass
class Group:
    """A group chat: `open_conversation_id` addresses it; `robot_in` says whether our robot
    was added (sending to a group without it fails)."""

    open_conversation_id: str
    title: str
    members: list[str] = field(default_factory=list)
    robot_in: bool = True
    #: The custom group robot webhook's access_token and signing secret, if one was added.
    webhook_token: str | None = None
    webhook_secret: str | None = None


@dataclass
class SentMessage:
    """A message the robot sent. `kind`: "oto" (batchSend, one record per recipient),
    "group" (groupMessages/send), "webhook" (the custom robot) or "session" (a reply through
    a `sessionWebhook`). `dropped`: 钉钉 reported success but never showed it (identical
    content to the same person within a day)."""

    seq: int
    kind: str
    target: str
    msg_key: str
    msg_param: JSONDict
    at: float
    process_query_key: str = ""
    dropped: bool = False
    read_at: float | None = None

    @property
    def text(self) -> str:
        """The visible text: markdown's text, a text's content, an action card's text."""
        for key in ("text", "content", "markdown"):
            value = self.msg_param.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict):
                inner = value.get("text") or value.get("content")
                if isinstance(inner, str):
                    return inner
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, url) of an action card's buttons (`actionTitleN`/`actionURLN`, or
        `singleTitle`/`singleURL`, or a webhook action card's `btns`)."""
        param = self.msg_param
        found: list[tuple[str, str]] = []
        for n in range(1, 7):
            title = param.get(f"actionTitle{n}")
            if isinstance(title, str):
                found.append((title, str(param.get(f"actionURL{n}", ""))))
        if isinstance(param.get("singleTitle"), str):
            found.append((param["singleTitle"], str(param.get("singleURL", ""))))
        card = param.get("actionCard")
        if isinstance(card, dict):
            for btn in card.get("btns") or []:
                if isinstance(btn, dict):
                    found.append((str(btn.get("title", "")), str(btn.get("actionURL", ""))))
        return found


@dataclass
class FakeState:
    """Everything the fake 钉钉 knows. Use `lock` around any read-modify-write."""

    client_id: str
    client_secret: str
    robot_code: str
    clock: Callable[[], float]
    corp_id: str = "dingfakecorp0001"
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Notified whenever something a test may wait for happens (a message sent, a frame
    #: ACKed, a connection accepted): `FakeDingTalk.wait_until` waits on it, never sleeps.
    changed: threading.Condition = field(default_factory=threading.Condition)
    version: int = 0  # counts the changes notified (under `changed`)
    staff: dict[str, Staff] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    #: access token → expiry (clock seconds).
    tokens: dict[str, float] = field(default_factory=dict)
    #: Stream ticket → expiry; a ticket is taken out when used.
    tickets: dict[str, float] = field(default_factory=dict)
    #: session webhook id → (conversation id, expiry).
    sessions: dict[str, tuple[str, float]] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    #: Every HTTP request: (method, path, decoded JSON body or {}), secrets included - tests
    #: check bodies with it; it is never logged.
    requests: list[tuple[str, str, JSONDict]] = field(default_factory=list)
    #: Sends per group (clock seconds), for the 20-a-minute limit, and throttled-until.
    group_hits: dict[str, list[float]] = field(default_factory=dict)
    throttled_until: dict[str, float] = field(default_factory=dict)
    #: Seconds every HTTP answer waits (a fault: a slow 钉钉).
    http_delay: float = 0.0
    #: Next N HTTP calls (any route but the webhook) answered 503.
    http_failures: int = 0
    token_lifetime: float = TOKEN_LIFETIME
    per_person_daily_limit: int = 500
    group_per_minute: int = 20
    _seq: int = 0

    def now(self) -> float:
        return self.clock()

    def day(self, at: float) -> str:
        return datetime.fromtimestamp(at, CHINA).date().isoformat()

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    # ---- people and groups ------------------------------------------------------------------

    def add_staff(self, staff_id: str, name: str) -> Staff:
        with self.lock:
            person = Staff(staff_id, name, conversation_id=f"cid{uuid.uuid4().hex[:22]}==")
            self.staff[staff_id] = person
            return person

    def add_group(
        self,
        open_conversation_id: str,
        title: str,
        members: list[str] | None = None,
        *,
        robot_in: bool = True,
    ) -> Group:
        with self.lock:
            group = Group(open_conversation_id, title, list(members or []), robot_in)
            self.groups[open_conversation_id] = group
            return group

    # ---- credentials ------------------------------------------------------------------------

    def issue_token(self) -> tuple[str, int]:
        with self.lock:
            token = uuid.uuid4().hex
            self.tokens[token] = self.now() + self.token_lifetime
            return token, int(self.token_lifetime)

    def token_valid(self, token: str | None) -> bool:
        with self.lock:
            expiry = self.tokens.get(token or "")
            return expiry is not None and self.now() < expiry

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as when 钉钉 rotates them early)."""
        with self.lock:
            self.tokens.clear()

    def issue_ticket(self) -> str:
        with self.lock:
            ticket = uuid.uuid4().hex
            self.tickets[ticket] = self.now() + TICKET_LIFETIME
            return ticket

    def take_ticket(self, ticket: str) -> bool:
        """Use a ticket up: True once for a ticket issued and not expired."""
        with self.lock:
            expiry = self.tickets.pop(ticket, None)
            return expiry is not None and self.now() < expiry

    def open_session(self, conversation_id: str) -> tuple[str, float]:
        with self.lock:
            session = uuid.uuid4().hex
            expiry = self.now() + SESSION_WEBHOOK_LIFETIME
            self.sessions[session] = (conversation_id, expiry)
            return session, expiry

    # ---- what the robot sent ----------------------------------------------------------------

    def record(
        self, kind: str, target: str, msg_key: str, msg_param: JSONDict, **kw: Any
    ) -> SentMessage:
        with self.lock:
            message = SentMessage(self.next_seq(), kind, target, msg_key, msg_param, self.now())
            for name, value in kw.items():
                setattr(message, name, value)
            self.sent.append(message)
        self.notify_changed()
        return message

    def notify_changed(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def delivered_today(self, staff_id: str, msg_key: str, msg_param: JSONDict) -> tuple[bool, int]:
        """(whether identical content already reached this person today, how many messages
        reached them today)."""
        with self.lock:
            today = self.day(self.now())
            same = False
            count = 0
            for message in self.sent:
                if message.kind != "oto" or message.target != staff_id or message.dropped:
                    continue
                if self.day(message.at) != today:
                    continue
                count += 1
                if message.msg_key == msg_key and message.msg_param == msg_param:
                    same = True
            return same, count
