"""Ledger entities (台账) and their JSON document form."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Person:
    """An official (承办人) or leader (责任领导), bound to Telegram once they accept an invite."""

    name: str
    unit: str = ""
    role: Role = Role.OFFICIAL
    user_id: int | None = None
    bound_at: datetime | None = None
    unreachable_since: datetime | None = None  # Telegram said 403: blocked / never started

    @property
    def bound(self) -> bool:
        return self.user_id is not None

    @property
    def reachable(self) -> bool:
        return self.user_id is not None and self.unreachable_since is None

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
        )


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


class DeliveryStatus(StrEnum):
    """What became of one scheduled reminder (the outbox)."""

    SENT = "sent"
    UNBOUND = "unbound"  # the 责任人 has not bound a Telegram account
    UNREACHABLE = "unreachable"  # 403: blocked the bot or never started it
    FAILED = "failed"  # network trouble after retries; tried again on the next run


@dataclass(frozen=True)
class OutboxEntry:
    """One reminder for one person, keyed by (date, task, person, kind): sent at most once."""

    day: date
    task_id: str
    person: str
    kind: str
    status: DeliveryStatus
    at: datetime
    message_id: int | None = None
    chat_id: int | None = None

    @property
    def key(self) -> str:
        return outbox_key(self.day, self.task_id, self.person, self.kind)

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
        )


def outbox_key(day: date, task_id: str, person: str, kind: str) -> str:
    return f"{day.isoformat()}|{task_id}|{person}|{kind}"


def _dt_out(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt_in(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
