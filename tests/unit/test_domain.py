"""The ledger's rules, with a fake repository and a fixed clock."""

from __future__ import annotations

import ast
from datetime import date, timedelta

import pytest

from bot.domain.clock import FixedClock
from bot.domain.errors import (
    AlreadyBound,
    InvalidField,
    InvalidTransition,
    InviteExpired,
    InviteUnknown,
    InviteUsed,
    RebindPending,
    TaskNotFound,
)
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import Role, Task, TaskStatus
from bot.domain.ports import Change, PersistenceError
from bot.domain.text import normalize_task_id, parse_deadline, split_names
from tests.conftest import NOV27 as NOW
from tests.conftest import ROOT
from tests.unit.conftest import make_ledger


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ledger(clock: FixedClock) -> Ledger:
    return make_ledger(clock=clock)


def rail(**changes: object) -> NewTask:
    base = dict(title="世忻铁路复线保德段征地", lead_unit="县自然资源局", owners=("张三", "李四"),
                deadline=date(2026, 12, 31))
    base.update(changes)
    return NewTask(**base)  # type: ignore[arg-type]


def test_add_task_numbers_entries_and_records_history(ledger: Ledger) -> None:
    first = ledger.add_task(rail(), who="王主任")
    second = ledger.add_task(rail(title="中医院迁建项目一期工程"), who="王主任")
    assert (first.id, second.id) == ("T0001", "T0002")
    assert first.status is TaskStatus.OPEN and first.progress == 0
    assert first.created_at == NOW
    [entry] = ledger.repo.history("T0001")
    assert (entry.who, entry.to_status, entry.at) == ("王主任", TaskStatus.OPEN, NOW)
    # Units and people are created as needed.
    assert ledger.unit_names() == ["县自然资源局"]
    assert {p.name for p in ledger.repo.people()} == {"张三", "李四"}


def test_task_ids_skip_ids_already_taken(ledger: Ledger) -> None:
    ledger.repo.commit(Change(
        tasks=[Task(id="T0001", title="x", lead_unit="u", owners=("a",), deadline=None,
                    created_at=NOW)]))
    assert ledger.add_task(rail(), who="a").id == "T0002"


@pytest.mark.parametrize("field,changes", [
    ("title", {"title": "  "}),
    ("title", {"title": "长" * 201}),
    ("lead_unit", {"lead_unit": ""}),
    ("owners", {"owners": ()}),
    ("owners", {"owners": ("  ",)}),
])
def test_add_task_rejects_bad_fields_and_changes_nothing(ledger: Ledger, field: str,
                                                        changes: dict[str, object]) -> None:
    with pytest.raises(InvalidField) as info:
        ledger.add_task(rail(**changes), who="a")
    assert info.value.params["field"] == field
    assert list(ledger.repo.tasks()) == [] and list(ledger.repo.people()) == []


def test_lifecycle_transitions_keep_who_when_from_to_note(ledger: Ledger,
                                                         clock: FixedClock) -> None:
    task = ledger.add_task(rail(), who="admin")
    clock.advance(timedelta(hours=1))
    ledger.transition(task.id, TaskStatus.SUBMITTED, who="张三", note="已完成")
    ledger.transition(task.id, TaskStatus.OPEN, who="admin", note="材料不全")
    with pytest.raises(InvalidTransition):
        ledger.transition(task.id, TaskStatus.CLOSED, who="admin")  # not submitted
    ledger.transition(task.id, TaskStatus.SUBMITTED, who="张三")
    ledger.transition(task.id, TaskStatus.CLOSED, who="admin")
    history = ledger.repo.history(task.id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, TaskStatus.OPEN),
        (TaskStatus.OPEN, TaskStatus.SUBMITTED),
        (TaskStatus.SUBMITTED, TaskStatus.OPEN),
        (TaskStatus.OPEN, TaskStatus.SUBMITTED),
        (TaskStatus.SUBMITTED, TaskStatus.CLOSED),
    ]
    assert history[1].note == "已完成" and history[1].at == NOW + timedelta(hours=1)
    assert history[2].note == "材料不全"


def test_cancel_from_any_live_state_and_never_from_cancelled(ledger: Ledger) -> None:
    task = ledger.add_task(rail(), who="admin")
    cancelled = ledger.cancel_task(task.id, who="admin", note="任务调整")
    assert cancelled.status is TaskStatus.CANCELLED
    assert ledger.live_tasks() == []
    with pytest.raises(InvalidTransition):
        ledger.cancel_task(task.id, who="admin")
    with pytest.raises(TaskNotFound):
        ledger.cancel_task("T0099", who="admin")


def test_failed_commit_changes_nothing(ledger: Ledger) -> None:
    task = ledger.add_task(rail(), who="admin")
    ledger.repo.fail_next_commit = True  # type: ignore[attr-defined]
    with pytest.raises(PersistenceError):
        ledger.cancel_task(task.id, who="admin")
    assert ledger.task(task.id).status is TaskStatus.OPEN
    assert len(ledger.repo.history(task.id)) == 1


def test_live_tasks_sorted_by_deadline_long_running_last(ledger: Ledger) -> None:
    ledger.add_task(rail(deadline=None), who="a")
    ledger.add_task(rail(deadline=date(2026, 12, 10)), who="a")
    ledger.add_task(rail(deadline=date(2026, 12, 1), lead_unit="县卫健局",
                         owners=("吴九",)), who="a")
    assert [t.id for t in ledger.live_tasks()] == ["T0003", "T0002", "T0001"]
    assert [t.id for t in ledger.tasks_of_unit("县卫健局")] == ["T0003"]
    assert [t.id for t in ledger.tasks_of_person("张三")] == ["T0002", "T0001"]


def test_invite_binds_once_and_expires_after_seven_days(ledger: Ledger,
                                                        clock: FixedClock) -> None:
    invite = ledger.create_invite("张三", "县自然资源局", admin_id=1)
    assert invite.expires_at == NOW + timedelta(days=7)
    person = ledger.redeem_invite(invite.code, user_id=501)
    assert (person.name, person.unit, person.user_id) == ("张三", "县自然资源局", 501)
    assert ledger.person_for_user(501) == person
    # The same person tapping the link again is harmless; anyone else is refused.
    assert ledger.redeem_invite(invite.code, user_id=501).user_id == 501
    with pytest.raises(InviteUsed):
        ledger.redeem_invite(invite.code, user_id=502)
    with pytest.raises(InviteUnknown):
        ledger.redeem_invite("nope", user_id=502)
    late = ledger.create_invite("李四", "", admin_id=1)
    clock.advance(timedelta(days=7))
    with pytest.raises(InviteExpired):
        ledger.redeem_invite(late.code, user_id=502)
    assert ledger.person_for_user(502) is None


def test_one_account_cannot_be_two_people(ledger: Ledger) -> None:
    ledger.redeem_invite(ledger.create_invite("张三", "", admin_id=1).code, user_id=501)
    other = ledger.create_invite("李四", "", admin_id=1)
    with pytest.raises(AlreadyBound):
        ledger.redeem_invite(other.code, user_id=501)


def test_new_invite_rebinds_a_new_phone_once_an_admin_confirms(ledger: Ledger) -> None:
    ledger.redeem_invite(ledger.create_invite("张三", "", admin_id=1).code, user_id=501)
    with pytest.raises(RebindPending) as info:
        ledger.redeem_invite(ledger.create_invite("张三", "", admin_id=1).code, user_id=777)
    assert ledger.person_for_user(777) is None and ledger.person_for_user(501) is not None
    rebinding = ledger.confirm_rebind(info.value.params["request_id"], who="admin:1", admin_id=1)
    assert rebinding.old_user_id == 501
    assert ledger.person_for_user(777) is not None and ledger.person_for_user(501) is None


def test_leader_is_recorded_with_leader_role(ledger: Ledger) -> None:
    ledger.add_task(rail(leader="陈副县长"), who="a")
    leader = ledger.repo.get_person("陈副县长")
    assert leader is not None and leader.role is Role.LEADER


@pytest.mark.parametrize("text,expected", [
    ("2026-12-31", date(2026, 12, 31)),
    ("2026/12/31", date(2026, 12, 31)),
    ("2026.12.31", date(2026, 12, 31)),
    ("2026年12月31日", date(2026, 12, 31)),
    ("２０２６年１２月３１日", date(2026, 12, 31)),
    ("12月31日", date(2026, 12, 31)),
    ("长期", None),
    ("持续推进", None),
    # the one deadline reader (issue 14): relative days and months are read too
    ("明天", date(2026, 11, 28)),
    ("2026-12", date(2026, 12, 31)),
])
def test_parse_deadline(text: str, expected: date | None) -> None:
    assert parse_deadline(text, today=date(2026, 11, 27)) == expected


@pytest.mark.parametrize("text", ["", "2026-02-30", "13月1日", "x", "尽快", "明年", "春节后"])
def test_parse_deadline_rejects(text: str) -> None:
    with pytest.raises(InvalidField):
        parse_deadline(text, today=date(2026, 11, 27))


def test_split_names_accepts_every_separator() -> None:
    assert split_names("张三、李四，王五,赵六;钱七/孙八 周九 张三") == (
        "张三", "李四", "王五", "赵六", "钱七", "孙八", "周九")


@pytest.mark.parametrize("text,expected", [
    ("T0007", "T0007"), ("t7", "T0007"), (" T0012 ", "T0012"), ("Ｔ００１２", "T0012"),
    ("A-12", "A-12"), ("", None), ("任务", None), ("T0007;drop", None),
])
def test_normalize_task_id(text: str, expected: str | None) -> None:
    assert normalize_task_id(text) == expected


def test_domain_imports_only_the_standard_library() -> None:
    """The domain stays free of telegram, tinydb and apscheduler."""
    forbidden = {"telegram", "tinydb", "apscheduler", "httpx", "chinese_calendar"}
    domain = ROOT / "bot" / "domain"
    offenders = []
    for path in domain.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in forbidden or (top == "bot" and not name.startswith("bot.domain")):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
