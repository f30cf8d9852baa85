"""What officials ask for and admins decide, at the service level: 延期 (request → approve or
refuse), 困难 (opened → 我来协调 → 已解决, or closed with the task) and 容错 (/exempt)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from bot.domain.clock import FixedClock
from bot.domain.errors import (
    InvalidField,
    NothingPending,
    Superseded,
    TaskNotFound,
    TaskNotLive,
)
from bot.domain.ledger import Ledger, ReportOutcome
from bot.domain.model import ExtensionRequest, ExtensionStatus, Task, TaskStatus
from tests.support.fakes import FakeRepository
from tests.unit.conftest import (
    ADMIN,
    ADMIN2,
    DEADLINE,
    LEADER,
    ZHANG,
    difficulty,
    done,
    extension,
    progress,
)

Report = Callable[..., ReportOutcome]
JAN15, JAN31 = date(2027, 1, 15), date(2027, 1, 31)


def request(report: Report, task: Task, new_deadline: date = JAN15,
            reason: str = "资金未到位") -> ExtensionRequest:
    outcome = report(task.id, extension(new_deadline, reason))
    assert outcome.extension is not None
    return outcome.extension


# ---- 延期 ------------------------------------------------------------------------------------


def test_extension_request_then_approve(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task,
        report: Report) -> None:
    asked = request(report, task)
    assert (asked.status, asked.new_deadline, asked.requested_by, asked.reason) == (
        ExtensionStatus.PENDING, JAN15, ZHANG.who, "资金未到位")
    assert ledger.pending_extension(task.id) == asked
    assert ledger.task(task.id).deadline == DEADLINE  # nothing moves before an admin says so
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.note) == (
        "extension_requested", ZHANG.who, "2027-01-15 资金未到位")

    clock.advance(timedelta(hours=1))
    extended = ledger.extend(task.id, None, who=ADMIN.who, request_id=asked.id)
    assert extended.deadline == JAN15 == ledger.task(task.id).deadline
    (decided,) = repo.extensions_of(task.id)
    assert (decided.status, decided.decided_by, decided.decided_at, decided.new_deadline) == (
        ExtensionStatus.APPROVED, ADMIN.who, clock.now(), JAN15)
    assert ledger.pending_extension(task.id) is None
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.note, entry.changes) == (
        "extended", ADMIN.who, "2026-12-31 → 2027-01-15",
        {"deadline": ["2026-12-31", "2027-01-15"]})


def test_an_admin_date_approves_the_pending_request_at_that_date(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    request(report, task)
    ledger.extend(task.id, JAN31, who=ADMIN.who)
    assert ledger.task(task.id).deadline == JAN31
    (decided,) = repo.extensions_of(task.id)
    assert (decided.status, decided.new_deadline) == (ExtensionStatus.APPROVED, JAN31)


def test_extension_refused_keeps_the_deadline(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    asked = request(report, task)
    refused = ledger.refuse_extension(task.id, who=ADMIN.who, note=" 按期完成 ",
                                      request_id=asked.id)
    assert (refused.status, refused.decided_by) == (ExtensionStatus.REFUSED, ADMIN.who)
    assert ledger.task(task.id).deadline == DEADLINE
    assert ledger.pending_extension(task.id) is None
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.note) == ("extension_refused", ADMIN.who, "按期完成")

    with pytest.raises(NothingPending) as again:
        ledger.refuse_extension(task.id, who=ADMIN2.who)
    assert again.value.params == {"what": "extension", "task_id": task.id}
    with pytest.raises(NothingPending):
        ledger.extend(task.id, None, who=ADMIN.who)
    with pytest.raises(Superseded) as button:  # the old 批准 button of the refused request
        ledger.extend(task.id, None, who=ADMIN.who, request_id=asked.id)
    assert button.value.params == {"what": "extension", "task_id": task.id}


@pytest.mark.parametrize("asked", [DEADLINE, date(2026, 12, 1), date(2026, 11, 30)],
                         ids=["the-deadline", "today", "past"])
def test_an_extension_must_ask_for_a_later_date(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report, asked: date) -> None:
    with pytest.raises(InvalidField) as err:
        report(task.id, extension(asked))
    assert err.value.params == {"field": "extension_date", "value": asked.isoformat()}
    assert list(repo.reports()) == [] and repo.extensions_of(task.id) == []


def test_an_admin_cannot_extend_into_the_past_or_a_closed_task(
        ledger: Ledger, task: Task, report: Report) -> None:
    with pytest.raises(InvalidField) as past:
        ledger.extend(task.id, date(2026, 11, 30), who=ADMIN.who)
    assert past.value.params == {"field": "extension_date", "value": "2026-11-30"}
    ledger.cancel_task(task.id, who=ADMIN.who)
    with pytest.raises(TaskNotLive) as closed:
        ledger.extend(task.id, JAN15, who=ADMIN.who)
    assert closed.value.params == {"task_id": task.id, "status": TaskStatus.CANCELLED.value}


def test_a_long_running_task_gets_its_first_deadline(
        ledger: Ledger, repo: FakeRepository, make_task: Callable[..., Task]) -> None:
    ongoing = make_task("乡村振兴示范村创建", deadline=None)
    ledger.extend(ongoing.id, JAN15, who=ADMIN.who)
    assert ledger.task(ongoing.id).deadline == JAN15
    entry = repo.history(ongoing.id)[-1]
    assert (entry.note, entry.changes) == ("长期 → 2027-01-15",
                                           {"deadline": [None, "2027-01-15"]})


def test_a_newer_request_supersedes_the_older_ones_button(
        ledger: Ledger, clock: FixedClock, task: Task, report: Report) -> None:
    older = request(report, task, JAN15)
    clock.advance(timedelta(minutes=30))
    newer = request(report, task, JAN31, "春节前无法施工")
    assert ledger.pending_extension(task.id) == newer
    for act in (lambda: ledger.extend(task.id, None, who=ADMIN.who, request_id=older.id),
                lambda: ledger.refuse_extension(task.id, who=ADMIN.who, request_id=older.id)):
        with pytest.raises(Superseded) as err:
            act()
        assert err.value.params == {"what": "extension", "task_id": task.id}
    assert ledger.task(task.id).deadline == DEADLINE
    ledger.extend(task.id, None, who=ADMIN.who, request_id=newer.id)
    assert ledger.task(task.id).deadline == JAN31


def test_a_replaced_request_does_not_come_back_after_the_newer_one_is_decided(
        ledger: Ledger, clock: FixedClock, task: Task, report: Report) -> None:
    older = request(report, task, JAN15)
    clock.advance(timedelta(minutes=30))
    newer = request(report, task, JAN31)
    ledger.extend(task.id, None, who=ADMIN.who, request_id=newer.id)
    assert ledger.pending_extension(task.id) is None
    with pytest.raises(Superseded):
        ledger.extend(task.id, None, who=ADMIN.who, request_id=older.id)
    assert ledger.task(task.id).deadline == JAN31


def test_the_newer_of_two_requests_made_at_the_same_time_is_current(
        ledger: Ledger, task: Task, report: Report) -> None:
    request(report, task, JAN15)
    newer = request(report, task, JAN31)
    assert ledger.pending_extension(task.id) == newer


def test_a_request_left_when_the_task_closed_does_not_revive_on_reopen(
        ledger: Ledger, task: Task, report: Report) -> None:
    request(report, task)
    report(task.id, done())
    ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)
    ledger.reopen(task.id, "复查发现未完成", who=ADMIN.who)
    assert ledger.pending_extension(task.id) is None


# ---- 困难 (督帮一体) ---------------------------------------------------------------------------


def test_difficulty_opened_coordinated_resolved(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task,
        report: Report) -> None:
    report(task.id, progress(40))
    outcome = report(task.id, difficulty("征地补偿资金缺口200万"))
    item = outcome.difficulty
    assert item is not None and item.open
    assert (item.text, item.opened_by, item.opened_at, item.task_id) == (
        "征地补偿资金缺口200万", ZHANG.who, clock.now(), task.id)
    assert ledger.task(task.id).progress == 40  # a 困难 moves no figure …
    assert ledger.task(task.id).status is TaskStatus.OPEN  # … and no state
    assert ledger.open_difficulties_of(task.id) == [item] == list(repo.open_difficulties())
    assert repo.get_difficulty(item.id) == item
    assert [(h.action, h.note) for h in repo.history(task.id)][-1] == (
        "difficulty", "征地补偿资金缺口200万")

    clock.advance(timedelta(hours=1))
    taken = ledger.coordinate(item.id, who=LEADER.who)
    assert taken.coordinator == LEADER.who and taken.open
    assert ledger.open_difficulties_of(task.id) == [taken]
    assert [(h.action, h.who) for h in repo.history(task.id)][-1] == ("coordinating", LEADER.who)

    clock.advance(timedelta(days=1))
    solved = ledger.resolve_difficulty(item.id, " 资金已拨付 ", who=LEADER.who)
    assert not solved.open
    assert (solved.resolved_at, solved.resolved_by, solved.resolution, solved.closed_with) == (
        clock.now(), LEADER.who, "资金已拨付", "")
    assert ledger.open_difficulties_of(task.id) == [] and repo.open_difficulties() == []
    assert [(h.action, h.note) for h in repo.history(task.id)][-1] == ("resolved", "资金已拨付")

    for act in (lambda: ledger.coordinate(item.id, who=ADMIN.who),
                lambda: ledger.resolve_difficulty(item.id, "", who=ADMIN.who)):
        with pytest.raises(NothingPending) as err:
            act()
        assert err.value.params == {"what": "difficulty", "task_id": item.id}


def test_resolve_every_open_difficulty_of_a_task(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    report(task.id, difficulty("资金缺口"))
    report(task.id, difficulty("拆迁户不同意补偿标准"))
    solved = ledger.resolve_difficulties(task.id, "县长办公会已研究", who=ADMIN.who)
    assert len(solved) == 2 and all(not d.open for d in solved)
    assert ledger.open_difficulties_of(task.id) == []
    with pytest.raises(NothingPending) as err:
        ledger.resolve_difficulties(task.id, "再次", who=ADMIN.who)
    assert err.value.params == {"what": "difficulty", "task_id": task.id}


@pytest.mark.parametrize("closing", ["verify", "cancel"])
def test_open_difficulties_close_with_their_task(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report,
        closing: str) -> None:
    solved = report(task.id, difficulty("施工便道未贯通")).difficulty
    assert solved is not None
    ledger.resolve_difficulty(solved.id, "已打通", who=LEADER.who)
    first = report(task.id, difficulty("资金缺口")).difficulty
    second = report(task.id, difficulty("拆迁户不同意")).difficulty
    assert first is not None and second is not None
    ledger.coordinate(first.id, who=LEADER.who)
    if closing == "verify":
        report(task.id, done())
        ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)
        to = TaskStatus.CLOSED
    else:
        ledger.cancel_task(task.id, who=ADMIN.who, note="不再实施")
        to = TaskStatus.CANCELLED

    assert ledger.open_difficulties_of(task.id) == [] and repo.open_difficulties() == []
    by_id = {d.id: d for d in repo.difficulties_of(task.id)}
    for item in (first, second):
        closed = by_id[item.id]
        assert (closed.closed_with, closed.resolved_by, closed.resolution) == (
            to.value, ADMIN.who, "")
    assert by_id[first.id].coordinator == LEADER.who
    assert by_id[solved.id].closed_with == "" and by_id[solved.id].resolved_by == LEADER.who
    closing_entry = next(h for h in repo.history(task.id) if h.action == "difficulties_closed")
    assert closing_entry.note == "资金缺口；拆迁户不同意"


# ---- 容错 (/exempt) ---------------------------------------------------------------------------


def test_exempt_takes_a_task_out_of_scoring_from_now_on(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task) -> None:
    first_time = clock.now()
    exempted = ledger.exempt(task.id, " 暴雨停工，不可抗力 ", who=ADMIN.who)
    assert exempted == ledger.task(task.id)
    assert (exempted.exempt_since, exempted.exempt_reason) == (first_time, "暴雨停工，不可抗力")
    assert (exempted.status, exempted.progress, exempted.deadline) == (
        task.status, task.progress, task.deadline)
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.note) == ("exempted", ADMIN.who, "暴雨停工，不可抗力")

    clock.advance(timedelta(days=3))
    again = ledger.exempt(task.id, "上级政策调整", who=ADMIN2.who)
    # The exemption counts from the first time; the reason is the latest one.
    assert (again.exempt_since, again.exempt_reason) == (first_time, "上级政策调整")
    assert [h.action for h in repo.history(task.id)].count("exempted") == 2


def test_exempt_needs_a_reason_and_a_known_task(
        ledger: Ledger, repo: FakeRepository, task: Task) -> None:
    with pytest.raises(InvalidField) as err:
        ledger.exempt(task.id, "  ", who=ADMIN.who)
    assert err.value.params == {"field": "reason", "value": ""}
    assert ledger.task(task.id).exempt_since is None
    with pytest.raises(TaskNotFound) as unknown:
        ledger.exempt("T9999", "理由", who=ADMIN.who)
    assert unknown.value.params == {"task_id": "T9999"}


def test_an_exempted_task_still_runs_the_loop(
        ledger: Ledger, task: Task, report: Report) -> None:
    ledger.exempt(task.id, "不可抗力", who=ADMIN.who)
    report(task.id, done())
    closed = ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)
    assert closed.status is TaskStatus.CLOSED and closed.exempt_reason == "不可抗力"
