"""Ledger entities (台账) and their JSON document form."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    """Task states; the values are the export column 状态."""

    OPEN = "推进中"
    SUBMITTED = "待核账"
    CLOSED = "已销账"
    CANCELLED = "已撤销"


class Role(StrEnum):
    OFFICIAL = "official"  # 承办人 / 责任人
    LEADER = "leader"  # 责任领导


class Frequency(StrEnum):
    """调度频次: the minimum reporting rhythm."""

    DAILY = "每日"
    XUN = "每旬"
    MONTHLY = "每月"
    QUARTERLY = "每季"


# Which states may move to which (SPEC: lifecycle). Cancelling is allowed from any live state.
ALLOWED_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.SUBMITTED, TaskStatus.CANCELLED}),
    TaskStatus.SUBMITTED: frozenset({TaskStatus.CLOSED, TaskStatus.OPEN, TaskStatus.CANCELLED}),
    TaskStatus.CLOSED: frozenset({TaskStatus.OPEN, TaskStatus.CANCELLED}),
    TaskStatus.CANCELLED: frozenset(),
}

LIVE_STATES = frozenset({TaskStatus.OPEN, TaskStatus.SUBMITTED})


@dataclass(frozen=True)
class Unit:
    """单位: a department, township or office."""

    name: str

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Unit:
        return cls(name=doc["name"])


TELEGRAM = "telegram"  # the first channel; its account ids are Person.user_id
DINGTALK = "dingtalk"  # 钉钉: accounts are userids (staffId), in Person.accounts
PREFER_LAST = "last"  # [channels] prefer: the channel the person last used


@dataclass(frozen=True)
class Address:
    """Where a person can be reached: an account on one channel (("telegram", "2001"),
    later ("dingtalk", "manager4220")). A person may have one on each channel."""

    channel: str
    id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.id}"


@dataclass(frozen=True)
class Person:
    """An official (承办人) or leader (责任领导), bound to a channel's account once they accept
    an invite there (Telegram: `user_id`; other channels: `accounts`, one per channel)."""

    name: str
    unit: str = ""
    role: Role = Role.OFFICIAL
    user_id: int | None = None
    bound_at: datetime | None = None
    unreachable_since: datetime | None = None  # Telegram said 403: blocked / never started
    leave_from: date | None = None  # 请假: no prompts in [leave_from, leave_to] …
    leave_to: date | None = None  # … their tasks' leaders get the reminders instead
    accounts: tuple[Address, ...] = ()  # accounts on channels other than Telegram
    # The channel they last used (a report, a binding), kept only once they have accounts on
    # more than one: where reminders go under [channels] prefer = "last" (channel_for).
    last_channel: str = ""

    @property
    def bound(self) -> bool:
        """Bound on some channel."""
        return self.user_id is not None or bool(self.accounts)

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every account the person can be reached at: Telegram's (`user_id`) first."""
        telegram = (Address(TELEGRAM, str(self.user_id)),) if self.user_id is not None else ()
        return telegram + tuple(a for a in self.accounts if a.channel != TELEGRAM)

    def address_on(self, channel: str) -> Address | None:
        return next((a for a in self.addresses if a.channel == channel), None)

    def on_leave(self, day: date) -> bool:
        return (self.leave_from is not None and self.leave_to is not None
                and self.leave_from <= day <= self.leave_to)

    @property
    def reachable(self) -> bool:
        return self.bound and self.unreachable_since is None

    def with_account(self, address: Address) -> Person:
        """Bound to `address`, replacing their account on that channel (Telegram: user_id)."""
        if address.channel == TELEGRAM:
            return self.with_changes(user_id=int(address.id))
        others = tuple(a for a in self.accounts if a.channel != address.channel)
        return self.with_changes(accounts=(*others, address))

    def with_changes(self, **changes: Any) -> Person:
        return replace(self, **changes)

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "role": self.role.value,
            "user_id": self.user_id,
            "bound_at": _dt_out(self.bound_at),
            "unreachable_since": _dt_out(self.unreachable_since),
            "leave_from": self.leave_from.isoformat() if self.leave_from else None,
            "leave_to": self.leave_to.isoformat() if self.leave_to else None,
            **({"accounts": [[a.channel, a.id] for a in self.accounts]} if self.accounts
               else {}),
            **({"last_channel": self.last_channel} if self.last_channel else {}),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Person:
        return cls(
            name=doc["name"],
            unit=doc.get("unit", ""),
            role=Role(doc.get("role", Role.OFFICIAL.value)),
            user_id=doc.get("user_id"),
            bound_at=_dt_in(doc.get("bound_at")),
            unreachable_since=_dt_in(doc.get("unreachable_since")),
            leave_from=date.fromisoformat(doc["leave_from"]) if doc.get("leave_from") else None,
            leave_to=date.fromisoformat(doc["leave_to"]) if doc.get("leave_to") else None,
            accounts=tuple(Address(str(channel), str(id_))
                           for channel, id_ in doc.get("accounts", ())),
            last_channel=str(doc.get("last_channel") or ""),
        )


def channel_for(person: Person, prefer: str = PREFER_LAST, last_used: str | None = None,
                running: Collection[str] | None = None) -> Address | None:
    """Where one reminder to `person` goes: one address, never two.

    Among the person's addresses on the channels `running` (None: any), the preferred
    channel's ([channels] prefer: "telegram", "dingtalk") if they have one there; else the
    channel they used last (`last_used`, by default `person.last_channel`); else the first
    of `person.addresses` (Telegram's first). None when no running channel reaches them.
    """
    addresses = [a for a in person.addresses if running is None or a.channel in running]
    last = person.last_channel if last_used is None else last_used
    for wanted in (prefer if prefer != PREFER_LAST else "", last):
        chosen = next((a for a in addresses if wanted and a.channel == wanted), None)
        if chosen is not None:
            return chosen
    return addresses[0] if addresses else None


@dataclass(frozen=True)
class Task:
    """One row of the ledger."""

    id: str  # 编号
    title: str  # 任务
    lead_unit: str  # 牵头单位
    owners: tuple[str, ...]  # 责任人
    deadline: date | None  # 完成时限; None = 长期
    created_at: datetime
    goal: str = ""  # 目标
    leader: str = ""  # 责任领导
    co_units: tuple[str, ...] = ()  # 配合单位
    category: str = ""  # 类别
    frequency: Frequency | None = None  # 调度频次
    remark: str = ""  # 备注
    status: TaskStatus = TaskStatus.OPEN  # 状态
    progress: int = 0  # 进度 0–100
    latest_note: str = ""  # 最新进展
    last_report_at: datetime | None = None  # 最近填报
    last_report: str = ""  # the id of that report (撤回 applies only to the latest)
    submitted_by: str = ""  # who reported it done (交账); never the one who verifies it
    submission: str = ""  # the report id of the 交账, to restore progress on 退回
    reminded_on: date | None = None  # the last scheduled reminder …
    reminded_kind: str = ""  # … and its kind (预警: no report since its period began)
    closed_at: datetime | None = None  # 销账: when it was verified and closed
    exempt_since: datetime | None = None  # 容错: out of scoring from this moment on
    exempt_reason: str = ""

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATES

    def with_changes(self, **changes: Any) -> Task:
        return replace(self, **changes)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "lead_unit": self.lead_unit,
            "owners": list(self.owners),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "created_at": _dt_out(self.created_at),
            "goal": self.goal,
            "leader": self.leader,
            "co_units": list(self.co_units),
            "category": self.category,
            "frequency": self.frequency.value if self.frequency else None,
            "remark": self.remark,
            "status": self.status.value,
            "progress": self.progress,
            "latest_note": self.latest_note,
            "last_report_at": _dt_out(self.last_report_at),
            "last_report": self.last_report,
            "submitted_by": self.submitted_by,
            "submission": self.submission,
            "reminded_on": self.reminded_on.isoformat() if self.reminded_on else None,
            "reminded_kind": self.reminded_kind,
            "closed_at": _dt_out(self.closed_at),
            "exempt_since": _dt_out(self.exempt_since),
            "exempt_reason": self.exempt_reason,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Task:
        created = _dt_in(doc.get("created_at"))
        if created is None:
            raise ValueError(f"task {doc.get('id')!r} has no created_at")
        return cls(
            id=doc["id"],
            title=doc["title"],
            lead_unit=doc.get("lead_unit", ""),
            owners=tuple(doc.get("owners", ())),
            deadline=date.fromisoformat(doc["deadline"]) if doc.get("deadline") else None,
            created_at=created,
            goal=doc.get("goal", ""),
            leader=doc.get("leader", ""),
            co_units=tuple(doc.get("co_units", ())),
            category=doc.get("category", ""),
            frequency=Frequency(doc["frequency"]) if doc.get("frequency") else None,
            remark=doc.get("remark", ""),
            status=TaskStatus(doc.get("status", TaskStatus.OPEN.value)),
            progress=int(doc.get("progress", 0)),
            latest_note=doc.get("latest_note", ""),
            last_report_at=_dt_in(doc.get("last_report_at")),
            last_report=doc.get("last_report", ""),
            submitted_by=doc.get("submitted_by", ""),
            submission=doc.get("submission", ""),
            reminded_on=date.fromisoformat(doc["reminded_on"]) if doc.get("reminded_on") else None,
            reminded_kind=doc.get("reminded_kind", ""),
            closed_at=_dt_in(doc.get("closed_at")),
            exempt_since=_dt_in(doc.get("exempt_since")),
            exempt_reason=doc.get("exempt_reason", ""),
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a task's append-only audit trail: who, when, from, to, note."""

    task_id: str
    at: datetime
    who: str  # a person's name, "admin:<user id>" or "system"
    action: str  # created, cancelled, remind, …
    from_status: TaskStatus | None = None
    to_status: TaskStatus | None = None
    note: str = ""
    changes: dict[str, Any] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "task": self.task_id,
            "at": _dt_out(self.at),
            "who": self.who,
            "action": self.action,
            "from": self.from_status.value if self.from_status else None,
            "to": self.to_status.value if self.to_status else None,
            "note": self.note,
        }
        if self.changes:
            doc["changes"] = self.changes
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HistoryEntry:
        at = _dt_in(doc.get("at"))
        assert at is not None
        return cls(
            task_id=doc["task"],
            at=at,
            who=doc.get("who", ""),
            action=doc.get("action", ""),
            from_status=TaskStatus(doc["from"]) if doc.get("from") else None,
            to_status=TaskStatus(doc["to"]) if doc.get("to") else None,
            note=doc.get("note", ""),
            changes=dict(doc.get("changes", {})),
        )


@dataclass(frozen=True)
class Invite:
    """A one-time code that binds a Telegram account to a person."""

    code: str
    name: str
    created_at: datetime
    expires_at: datetime
    created_by: int
    used_by: int | None = None
    used_at: datetime | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "created_at": _dt_out(self.created_at),
            "expires_at": _dt_out(self.expires_at),
            "created_by": self.created_by,
            "used_by": self.used_by,
            "used_at": _dt_out(self.used_at),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Invite:
        created, expires = _dt_in(doc["created_at"]), _dt_in(doc["expires_at"])
        assert created is not None and expires is not None
        return cls(
            code=doc["code"],
            name=doc["name"],
            created_at=created,
            expires_at=expires,
            created_by=int(doc.get("created_by", 0)),
            used_by=doc.get("used_by"),
            used_at=_dt_in(doc.get("used_at")),
        )


class RebindStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


@dataclass(frozen=True)
class RebindRequest:
    """换绑: an invite for a person already bound to another account on the same channel was
    redeemed.

    Nothing is rebound until an admin confirms; the invite is used only then. The previous
    account is told when it happens. `old_user_id` and `new_user_id` are account numbers
    (bot/domain/accounts.py: Telegram's ids themselves); on another channel `new_address`
    (and `old_address`) say which accounts they are — None on Telegram, whose documents keep
    the form they had.
    """

    id: str  # B0001
    name: str  # the person
    invite: str  # the invite code that was redeemed
    old_user_id: int | None  # the account bound when the request was made
    new_user_id: int  # the account that redeemed the invite
    requested_at: datetime
    status: RebindStatus = RebindStatus.PENDING
    decided_by: str = ""  # actor label, e.g. "admin:1001"
    decided_by_id: int | None = None  # the admin's user id
    decided_at: datetime | None = None
    new_address: Address | None = None
    old_address: Address | None = None

    @property
    def pending(self) -> bool:
        return self.status is RebindStatus.PENDING

    @property
    def channel(self) -> str:
        return self.new_address.channel if self.new_address is not None else TELEGRAM

    @property
    def new(self) -> Address:
        """The account to bind."""
        return self.new_address or Address(TELEGRAM, str(self.new_user_id))

    def with_changes(self, **changes: Any) -> RebindRequest:
        return replace(self, **changes)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "invite": self.invite,
            "old_user_id": self.old_user_id,
            "new_user_id": self.new_user_id,
            "requested_at": _dt_out(self.requested_at),
            "status": self.status.value,
            "decided_by": self.decided_by,
            "decided_by_id": self.decided_by_id,
            "decided_at": _dt_out(self.decided_at),
            **({"new_address": [self.new_address.channel, self.new_address.id]}
               if self.new_address is not None else {}),
            **({"old_address": [self.old_address.channel, self.old_address.id]}
               if self.old_address is not None else {}),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RebindRequest:
        requested = _dt_in(doc["requested_at"])
        assert requested is not None
        return cls(
            id=doc["id"],
            name=doc["name"],
            invite=doc.get("invite", ""),
            old_user_id=doc.get("old_user_id"),
            new_user_id=int(doc["new_user_id"]),
            requested_at=requested,
            status=RebindStatus(doc.get("status", RebindStatus.PENDING.value)),
            decided_by=doc.get("decided_by", ""),
            decided_by_id=doc.get("decided_by_id"),
            decided_at=_dt_in(doc.get("decided_at")),
            new_address=_address_in(doc.get("new_address")),
            old_address=_address_in(doc.get("old_address")),
        )


def _address_in(value: Any) -> Address | None:
    return Address(str(value[0]), str(value[1])) if value else None


@dataclass(frozen=True)
class Evidence:
    """佐证材料: a photo or document kept with a report (Telegram file id)."""

    kind: str  # "photo" | "document"
    file_id: str
    name: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {"kind": self.kind, "file_id": self.file_id, "name": self.name}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Evidence:
        return cls(kind=doc["kind"], file_id=doc["file_id"], name=doc.get("name", ""))


@dataclass(frozen=True)
class Report:
    """One status report from an official (or an admin on their behalf)."""

    id: str  # R000001
    task_id: str
    who: str
    user_id: int
    at: datetime
    kind: str  # a ReplyKind value, or "evidence"
    text: str
    progress: int | None = None
    evidence: tuple[Evidence, ...] = ()
    before: dict[str, Any] = field(default_factory=dict)  # task fields before, for 撤回
    difficulty_id: str = ""
    extension_id: str = ""
    undone_at: datetime | None = None
    source: str = ""  # "chat:message" of the Telegram message it came from (no double use)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task_id,
            "source": self.source,
            "who": self.who,
            "user_id": self.user_id,
            "at": _dt_out(self.at),
            "kind": self.kind,
            "text": self.text,
            "progress": self.progress,
            "evidence": [e.to_doc() for e in self.evidence],
            "before": self.before,
            "difficulty": self.difficulty_id,
            "extension": self.extension_id,
            "undone_at": _dt_out(self.undone_at),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Report:
        at = _dt_in(doc["at"])
        assert at is not None
        return cls(
            id=doc["id"],
            task_id=doc["task"],
            who=doc.get("who", ""),
            user_id=int(doc.get("user_id", 0)),
            at=at,
            kind=doc.get("kind", "note"),
            text=doc.get("text", ""),
            progress=doc.get("progress"),
            evidence=tuple(Evidence.from_doc(e) for e in doc.get("evidence", ())),
            before=dict(doc.get("before", {})),
            difficulty_id=doc.get("difficulty", ""),
            extension_id=doc.get("extension", ""),
            undone_at=_dt_in(doc.get("undone_at")),
            source=doc.get("source", ""),
        )


@dataclass(frozen=True)
class Difficulty:
    """困难: a problem an official raised; open until an admin or the leader solves it
    (督帮一体), or its task is 销账 or 撤销 (closed with it, `closed_with`)."""

    id: str  # D0001
    task_id: str
    text: str
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str = ""
    resolution: str = ""
    withdrawn: bool = False  # the report that opened it was withdrawn (撤回)
    coordinator: str = ""  # 我来协调: who took it on
    # Closed with its task (the TaskStatus value: 已销账 / 已撤销), not solved: resolved_at and
    # resolved_by then say when and by whom the task was closed. "" otherwise.
    closed_with: str = ""

    @property
    def open(self) -> bool:
        return self.resolved_at is None and not self.withdrawn

    def with_changes(self, **changes: Any) -> Difficulty:
        return replace(self, **changes)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "task": self.task_id,
            "text": self.text,
            "opened_by": self.opened_by,
            "opened_at": _dt_out(self.opened_at),
            "resolved_at": _dt_out(self.resolved_at),
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
            "withdrawn": self.withdrawn,
            "coordinator": self.coordinator,
        }
        if self.closed_with:  # only then: documents of difficulties solved or open stay as
            doc["closed_with"] = self.closed_with  # they were (older versions read them)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Difficulty:
        opened = _dt_in(doc["opened_at"])
        assert opened is not None
        return cls(
            id=doc["id"],
            task_id=doc["task"],
            text=doc.get("text", ""),
            opened_by=doc.get("opened_by", ""),
            opened_at=opened,
            resolved_at=_dt_in(doc.get("resolved_at")),
            resolved_by=doc.get("resolved_by", ""),
            resolution=doc.get("resolution", ""),
            withdrawn=bool(doc.get("withdrawn", False)),
            coordinator=doc.get("coordinator", ""),
            closed_with=doc.get("closed_with", ""),
        )


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ExtensionRequest:
    """申请延期: an official asks for a later deadline; an admin approves or refuses."""

    id: str  # E0001
    task_id: str
    requested_by: str
    requested_at: datetime
    new_deadline: date
    reason: str = ""
    status: ExtensionStatus = ExtensionStatus.PENDING
    decided_by: str = ""
    decided_at: datetime | None = None

    def with_changes(self, **changes: Any) -> ExtensionRequest:
        return replace(self, **changes)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task_id,
            "requested_by": self.requested_by,
            "requested_at": _dt_out(self.requested_at),
            "new_deadline": self.new_deadline.isoformat(),
            "reason": self.reason,
            "status": self.status.value,
            "decided_by": self.decided_by,
            "decided_at": _dt_out(self.decided_at),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ExtensionRequest:
        requested = _dt_in(doc["requested_at"])
        assert requested is not None
        return cls(
            id=doc["id"],
            task_id=doc["task"],
            requested_by=doc.get("requested_by", ""),
            requested_at=requested,
            new_deadline=date.fromisoformat(doc["new_deadline"]),
            reason=doc.get("reason", ""),
            status=ExtensionStatus(doc.get("status", "pending")),
            decided_by=doc.get("decided_by", ""),
            decided_at=_dt_in(doc.get("decided_at")),
        )


class DeliveryStatus(StrEnum):
    """What became of one scheduled reminder (the outbox)."""

    SENT = "sent"
    UNBOUND = "unbound"  # the 责任人 has not bound a Telegram account
    UNREACHABLE = "unreachable"  # 403: blocked the bot or never started it
    FAILED = "failed"  # network trouble after retries; tried again on the next run


@dataclass(frozen=True)
class OutboxEntry:
    """One reminder for one person, keyed by (date, task, person, kind, channel): sent at most
    once on each channel (a person reachable on two gets it on the one chosen).

    Read status, on channels that can tell (钉钉; `Sender.receipt`/`read_by`): `receipt` is
    what the channel needs to be asked later who read the message (钉钉's processQueryKey),
    kept in the same change as the send's record so a restart loses nothing; `read` is the
    answer once asked (jobs/read_status.py): None = not asked or not known, False = 已送达未读,
    True = read. Both are left out of the document when unset (old documents load, Telegram's
    entries keep their form)."""

    day: date
    task_id: str
    person: str
    kind: str
    status: DeliveryStatus
    at: datetime
    message_id: int | None = None
    chat_id: int | None = None
    channel: str = TELEGRAM
    receipt: str | None = None
    read: bool | None = None

    @property
    def key(self) -> str:
        return outbox_key(self.day, self.task_id, self.person, self.kind, self.channel)

    def to_doc(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "task": self.task_id,
            "person": self.person,
            "kind": self.kind,
            "status": self.status.value,
            "at": _dt_out(self.at),
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            **({"channel": self.channel} if self.channel != TELEGRAM else {}),
            **({"receipt": self.receipt} if self.receipt is not None else {}),
            **({"read": self.read} if self.read is not None else {}),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OutboxEntry:
        at = _dt_in(doc["at"])
        assert at is not None
        return cls(
            day=date.fromisoformat(doc["day"]),
            task_id=doc["task"],
            person=doc["person"],
            kind=doc["kind"],
            status=DeliveryStatus(doc["status"]),
            at=at,
            message_id=doc.get("message_id"),
            chat_id=doc.get("chat_id"),
            channel=doc.get("channel", TELEGRAM),
            receipt=doc.get("receipt"),
            read=doc.get("read"),
        )


def outbox_key(day: date, task_id: str, person: str, kind: str,
               channel: str = TELEGRAM) -> str:
    """The outbox's unique key. Telegram's keys keep the form they had before there was a
    second channel, so an upgraded install never sends the day's reminders again."""
    base = f"{day.isoformat()}|{task_id}|{person}|{kind}"
    return base if channel == TELEGRAM else f"{base}|{channel}"


def _dt_out(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt_in(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
