"""Factories for the service-level tests: a ledger on the in-memory FakeRepository with a
FixedClock the test moves by hand (nothing sleeps), its people, tasks and replies.

Only the domain is involved here (no Telegram): what a user would notice is read back from
the ledger and its repository — states, 进度, history entries, errors and their params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import count
from pathlib import Path

import pytest

import tests.conftest as people
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask, ReportOutcome
from bot.domain.model import Person, Task
from bot.domain.ports import LedgerRepository
from bot.domain.replies import Reading, ReplyKind
from bot.services import Services
from tests.conftest import DEC1, NOV27
from tests.support.fake_channel import FakeSender, RecordingConversation
from tests.support.fakes import FakeRepository

START = DEC1  # a Tuesday, a workday
DEADLINE = date(2026, 12, 31)


@dataclass(frozen=True)
class Actor:
    """Someone who acts in the ledger: the name the ledger records (`who`) and their
    Telegram user id (what the four-eyes check and 撤回 compare)."""

    who: str
    user_id: int


ZHANG = Actor(people.NAMES[people.ZHANG], people.ZHANG)  # 责任人 of the default task
LI = Actor(people.NAMES[people.LI], people.LI)  # a second 责任人 (co-owner) or a stranger to it
LEADER = Actor(people.NAMES[people.LEADER], people.LEADER)  # 责任领导 of the default task
ADMIN = Actor(f"admin:{people.ADMIN}", people.ADMIN)  # 督查室
ADMIN2 = Actor(f"admin:{people.OTHER_ADMIN}", people.OTHER_ADMIN)  # another admin


def make_ledger(repo: LedgerRepository | None = None,
                clock: FixedClock | None = None) -> Ledger:
    """A ledger on `repo` (a new FakeRepository unless given), at 27 November 09:00 unless
    `clock` says otherwise, whose invite codes are code1, code2, …"""
    codes = (f"code{i}" for i in count(1))
    return Ledger(repo or FakeRepository(), clock or FixedClock(NOV27),
                  new_code=lambda: next(codes))


# ---- replies, as the reader would give them ------------------------------------------------


def done(text: str = "已完成") -> Reading:
    """交账: the whole task is done."""
    return Reading(ReplyKind.COMPLETION, progress=100, text=text)


def progress(figure: int, text: str = "") -> Reading:
    return Reading(ReplyKind.PROGRESS, progress=figure, text=text or f"进度{figure}%")


def note(text: str) -> Reading:
    return Reading(ReplyKind.NOTE, text=text)


def difficulty(detail: str) -> Reading:
    return Reading(ReplyKind.DIFFICULTY, text=f"困难：{detail}", detail=detail)


def extension(new_deadline: date, reason: str = "资金未到位") -> Reading:
    return Reading(ReplyKind.EXTENSION, text=f"申请延期至{new_deadline:%m月%d日}，{reason}",
                   new_deadline=new_deadline, reason=reason)


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def ledger(repo: FakeRepository, clock: FixedClock) -> Ledger:
    codes = (f"INV{n:04d}" for n in count(1))
    return Ledger(repo, clock, new_code=lambda: next(codes))


@pytest.fixture
def make_task(ledger: Ledger) -> Callable[..., Task]:
    """建账 through the ledger: 张三 责任人, 陈副县长 责任领导, due 12月31日, unless told."""

    def make(title: str = "世忻铁路复线保德段征地", **fields: object) -> Task:
        values: dict[str, object] = {
            "lead_unit": "县自然资源局", "owners": (ZHANG.who,), "deadline": DEADLINE,
            "leader": LEADER.who, **fields}
        return ledger.add_task(NewTask(title=title, **values), who=ADMIN.who)  # type: ignore[arg-type]

    return make


@pytest.fixture
def task(make_task: Callable[..., Task]) -> Task:
    """One task in 推进中, as just opened."""
    return make_task()


@pytest.fixture
def bind(ledger: Ledger) -> Callable[[Actor], Person]:
    """Bind an actor's Telegram account to their person, through an invite (as in chat)."""

    def bind_actor(actor: Actor, unit: str = "") -> Person:
        invite = ledger.create_invite(actor.who, unit, admin_id=ADMIN.user_id)
        return ledger.redeem_invite(invite.code, actor.user_id)

    return bind_actor


@pytest.fixture
def report(ledger: Ledger) -> Callable[..., ReportOutcome]:
    """An official's reply applied to a task (by 张三 unless `by` says otherwise)."""

    def submit(task_id: str, reading: Reading, by: Actor = ZHANG,
               source: str = "") -> ReportOutcome:
        return ledger.submit_report(task_id, reading, who=by.who, user_id=by.user_id,
                                    source=source)

    return submit


@pytest.fixture
def actions(repo: FakeRepository) -> Callable[[str], list[str]]:
    """A task's history as the actions it records, oldest first."""

    def of(task_id: str) -> list[str]:
        return [entry.action for entry in repo.history(task_id)]

    return of



# ---- the application layer: services on the fake repository and a fake channel -------------


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def services(repo: FakeRepository, clock: FixedClock, sender: FakeSender) -> Services:
    """The real services (bot/bootstrap.py) over the FakeRepository, with `sender` as the
    channel; admin: people.ADMIN (and OTHER_ADMIN); no admin group (admins are told
    privately)."""
    from bot.bootstrap import bootstrap
    from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig
    from bot.domain.calendar import WorkCalendar

    config = Config(telegram=TelegramConfig(token="123:test"),
                    access=AccessConfig(admins=frozenset({people.ADMIN, people.OTHER_ADMIN})),
                    storage=StorageConfig(dir=Path("unused")))
    return bootstrap(config, repository=repo, clock=clock, calendar=WorkCalendar(),
                     sender=sender)


@pytest.fixture
def conversation() -> RecordingConversation:
    return RecordingConversation()
