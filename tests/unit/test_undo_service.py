"""↩️ 撤回 at the service level: within 10 minutes, only by the one who reported, and only while
nothing happened to the task since (the message undo_superseded: "之后已有新的报送或处理")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from bot.domain.clock import FixedClock
from bot.domain.errors import UndoRefused
from bot.domain.ledger import UNDO_WINDOW, Ledger, ReportOutcome
from bot.domain.model import ExtensionStatus, Task, TaskStatus
from tests.support.fakes import FakeRepository
from tests.unit.conftest import (
    ADMIN,
    LEADER,
    LI,
    ZHANG,
    Actor,
    difficulty,
    done,
    extension,
    progress,
)

Report = Callable[..., ReportOutcome]
OPEN, SUBMITTED = TaskStatus.OPEN, TaskStatus.SUBMITTED


def test_undo_within_ten_minutes_puts_the_task_back(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task,
        report: Report) -> None:
    earlier = report(task.id, progress(30, "进度30%，完成勘界"))
    before = ledger.task(task.id)
    clock.advance(timedelta(minutes=2))
    misread = report(task.id, progress(80, "进度80%？不对，是18栋完成"))
    assert ledger.task(task.id).progress == 80

    clock.set(misread.report.at + UNDO_WINDOW)  # the last moment it may be taken back
    restored = ledger.undo_report(misread.report.id, user_id=ZHANG.user_id)
    assert restored == ledger.task(task.id) == before
    assert (restored.progress, restored.latest_note, restored.last_report,
            restored.last_report_at) == (30, "进度30%，完成勘界", earlier.report.id,
                                         earlier.report.at)
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.from_status, entry.to_status, entry.note) == (
        "withdrawn", ZHANG.who, OPEN, None, "进度80%？不对，是18栋完成")
    stored = repo.get_report(misread.report.id)
    assert stored is not None and stored.undone_at == clock.now()


def test_undo_after_ten_minutes_is_refused(
        ledger: Ledger, clock: FixedClock, task: Task, report: Report) -> None:
    outcome = report(task.id, progress(80))
    clock.advance(UNDO_WINDOW + timedelta(seconds=1))
    with pytest.raises(UndoRefused) as err:
        ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert err.value.params == {"reason": "expired", "report_id": outcome.report.id,
                                "task_id": task.id}
    assert ledger.task(task.id).progress == 80


@pytest.mark.parametrize("other", [LI, LEADER, ADMIN], ids=["co-owner", "leader", "admin"])
def test_only_the_reporter_may_undo(
        ledger: Ledger, make_task: Callable[..., Task], report: Report, other: Actor) -> None:
    task = make_task(owners=(ZHANG.who, LI.who))
    outcome = report(task.id, progress(80))
    with pytest.raises(UndoRefused) as err:
        ledger.undo_report(outcome.report.id, user_id=other.user_id)
    assert err.value.params == {"reason": "not_yours", "report_id": outcome.report.id}
    assert ledger.task(task.id).progress == 80


def test_undo_twice_and_unknown_reports(
        ledger: Ledger, task: Task, report: Report) -> None:
    outcome = report(task.id, progress(80))
    ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    with pytest.raises(UndoRefused) as twice:
        ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert twice.value.params == {"reason": "done", "report_id": outcome.report.id,
                                  "task_id": task.id}
    with pytest.raises(UndoRefused) as unknown:
        ledger.undo_report("R999999", user_id=ZHANG.user_id)
    assert unknown.value.params == {"reason": "unknown", "report_id": "R999999"}


def test_undo_a_submission_reopens_the_task(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    report(task.id, progress(70))
    outcome = report(task.id, done("方案已完成"))  # meant: the plan, not the task
    restored = ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert (restored.status, restored.progress, restored.submitted_by, restored.submission) \
        == (OPEN, 70, "", "")
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.from_status, entry.to_status) == ("withdrawn", SUBMITTED, OPEN)


def test_undo_the_figure_that_took_a_submission_back_restores_the_submission(
        ledger: Ledger, task: Task, report: Report) -> None:
    handed_in = report(task.id, done())
    taken_back = report(task.id, progress(45))
    assert ledger.task(task.id).status is OPEN
    restored = ledger.undo_report(taken_back.report.id, user_id=ZHANG.user_id)
    assert (restored.status, restored.progress, restored.submitted_by, restored.submission) \
        == (SUBMITTED, 100, ZHANG.who, handed_in.report.id)
    assert ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                         submission=handed_in.report.id).status is TaskStatus.CLOSED


def test_undo_withdraws_the_difficulty_and_the_extension_request(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    stuck = report(task.id, difficulty("征地补偿资金缺口200万"))
    late = report(task.id, extension(date(2027, 1, 15)))
    assert stuck.difficulty is not None and late.extension is not None

    ledger.undo_report(late.report.id, user_id=ZHANG.user_id)
    assert ledger.pending_extension(task.id) is None
    assert [e.status for e in repo.extensions_of(task.id)] == [ExtensionStatus.WITHDRAWN]
    assert ledger.task(task.id).deadline == task.deadline

    ledger.undo_report(stuck.report.id, user_id=ZHANG.user_id)
    assert ledger.open_difficulties_of(task.id) == []
    (item,) = repo.difficulties_of(task.id)
    assert item.withdrawn and item.resolved_at is None


# ---- refused once superseded ----------------------------------------------------------------


def _verified(ledger: Ledger, task: Task, report: Report) -> None:
    ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)


def _rejected(ledger: Ledger, task: Task, report: Report) -> None:
    ledger.reject(task.id, "材料不全", who=ADMIN.who)


def _cancelled(ledger: Ledger, task: Task, report: Report) -> None:
    ledger.cancel_task(task.id, who=ADMIN.who)


def _reported_again(ledger: Ledger, task: Task, report: Report) -> None:
    report(task.id, progress(60), by=LEADER)


@pytest.mark.parametrize("then", [_verified, _rejected, _cancelled],
                         ids=["verified", "rejected", "cancelled"])
def test_undo_of_a_submission_is_refused_once_an_admin_decided(
        ledger: Ledger, task: Task, report: Report, then: Callable[..., None]) -> None:
    outcome = report(task.id, done())
    then(ledger, task, report)
    decided = ledger.task(task.id)
    with pytest.raises(UndoRefused) as err:
        ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert err.value.params == {"reason": "superseded", "report_id": outcome.report.id,
                                "task_id": task.id}
    assert ledger.task(task.id) == decided


@pytest.mark.parametrize("then", [_reported_again, _cancelled], ids=["new-report", "cancelled"])
def test_undo_of_a_progress_report_is_refused_once_superseded(
        ledger: Ledger, task: Task, report: Report, then: Callable[..., None]) -> None:
    outcome = report(task.id, progress(30))
    then(ledger, task, report)
    after = ledger.task(task.id)
    with pytest.raises(UndoRefused) as err:
        ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert err.value.params["reason"] == "superseded"
    assert ledger.task(task.id) == after


def test_undo_of_an_extension_request_is_refused_once_approved(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    outcome = report(task.id, extension(date(2027, 1, 15)))
    assert outcome.extension is not None
    ledger.extend(task.id, None, who=ADMIN.who, request_id=outcome.extension.id)
    with pytest.raises(UndoRefused) as err:
        ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert err.value.params["reason"] == "superseded"


def test_undo_of_a_difficulty_is_refused_once_solved(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    outcome = report(task.id, difficulty("征地补偿资金缺口200万"))
    assert outcome.difficulty is not None
    ledger.resolve_difficulty(outcome.difficulty.id, "资金已拨付", who=LEADER.who)
    with pytest.raises(UndoRefused) as err:
        ledger.undo_report(outcome.report.id, user_id=ZHANG.user_id)
    assert err.value.params["reason"] == "superseded"
    (item,) = repo.difficulties_of(task.id)
    assert not item.withdrawn and item.resolved_by == LEADER.who
