"""The closed loop at the service level (建账 → 交账 → 核账 → 销账, 退回, 重新打开, 撤销),
on the FakeRepository with a FixedClock: what an official or an admin would notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.domain.clock import FixedClock
from bot.domain.errors import (
    AlreadyRecorded,
    AlreadySubmitted,
    InvalidField,
    InvalidTransition,
    NotAllowed,
    Superseded,
    TaskNotFound,
    TaskNotLive,
)
from bot.domain.ledger import SUBMISSION_WITHDRAWN, Ledger, ReportOutcome
from bot.domain.model import Task, TaskStatus
from tests.support.fakes import FakeRepository
from tests.unit.conftest import (
    ADMIN,
    ADMIN2,
    LEADER,
    LI,
    ZHANG,
    Actor,
    done,
    note,
    progress,
)

Report = Callable[..., ReportOutcome]
Actions = Callable[[str], list[str]]

OPEN, SUBMITTED = TaskStatus.OPEN, TaskStatus.SUBMITTED
CLOSED, CANCELLED = TaskStatus.CLOSED, TaskStatus.CANCELLED


def submit(report: Report, task: Task, by: Actor = ZHANG) -> str:
    """交账 by `by`; returns the report id the 核账 buttons carry."""
    outcome = report(task.id, done(), by=by)
    assert outcome.submitted
    return outcome.report.id


# ---- 交账 → 核账 → 销账 ----------------------------------------------------------------------


def test_submit_then_verify_closes_the_task(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task, report: Report,
        actions: Actions) -> None:
    assert (task.status, task.progress) == (OPEN, 0)
    report(task.id, progress(60, "进度60%，主体征地完成"))
    assert ledger.task(task.id).progress == 60

    clock.advance(timedelta(hours=1))
    outcome = report(task.id, done("已全部完成"))
    submitted = ledger.task(task.id)
    assert outcome.submitted and not outcome.withdrew_submission
    assert submitted.status is SUBMITTED
    assert submitted.progress == 100
    assert submitted.submitted_by == ZHANG.who
    assert submitted.submission == outcome.report.id == submitted.last_report
    assert submitted.latest_note == "已全部完成"
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.from_status, entry.to_status, entry.note) == (
        "submitted", ZHANG.who, OPEN, SUBMITTED, "已全部完成")
    assert task.id in [t.id for t in ledger.live_tasks()]  # 待核账 is still live

    clock.advance(timedelta(hours=2))
    closed = ledger.verify(task.id, who=ADMIN.who, submission=outcome.report.id,
                           user_id=ADMIN.user_id)
    assert closed.status is CLOSED and ledger.task(task.id).status is CLOSED
    assert closed.closed_at == clock.now()
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.from_status, entry.to_status) == (
        "verified", ADMIN.who, SUBMITTED, CLOSED)
    assert actions(task.id) == ["created", "progress", "submitted", "verified"]
    # 销账: out of every list that asks someone to act.
    assert ledger.live_tasks() == []
    assert ledger.tasks_of_person(ZHANG.who) == []
    assert ledger.tasks_to_report(ZHANG.who, clock.today()) == []


def test_a_closed_task_takes_no_more_reports_or_verification(
        ledger: Ledger, task: Task, report: Report) -> None:
    ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                  submission=submit(report, task))
    with pytest.raises(TaskNotLive) as err:
        report(task.id, progress(50))
    assert err.value.params == {"task_id": task.id, "status": CLOSED.value}
    with pytest.raises(InvalidTransition) as twice:
        ledger.verify(task.id, who=ADMIN2.who, user_id=ADMIN2.user_id)
    assert twice.value.params == {"task_id": task.id, "current": CLOSED.value,
                                  "target": CLOSED.value, "action": "verify"}


def test_verify_and_reject_need_a_submission(ledger: Ledger, task: Task) -> None:
    with pytest.raises(InvalidTransition) as verify:
        ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)
    assert verify.value.params == {"task_id": task.id, "current": OPEN.value,
                                   "target": CLOSED.value, "action": "verify"}
    with pytest.raises(InvalidTransition) as reject:
        ledger.reject(task.id, "材料不全", who=ADMIN.who)
    assert reject.value.params == {"task_id": task.id, "current": OPEN.value,
                                   "target": OPEN.value, "action": "reject"}
    assert ledger.task(task.id) == task


def test_a_second_completion_while_waiting_is_refused(
        ledger: Ledger, task: Task, report: Report) -> None:
    first = submit(report, task)
    with pytest.raises(AlreadySubmitted) as err:
        report(task.id, done("确实完成了"), by=LEADER)
    assert err.value.params == {"task_id": task.id}
    assert ledger.task(task.id).submission == first


def test_the_same_message_is_recorded_once(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    report(task.id, progress(40), source="2001:77")
    with pytest.raises(AlreadyRecorded) as err:
        report(task.id, progress(40), source="2001:77")
    assert err.value.params == {"task_id": task.id}
    assert len(list(repo.reports())) == 1


def test_unknown_task_is_named(ledger: Ledger, report: Report) -> None:
    with pytest.raises(TaskNotFound) as err:
        ledger.verify("T9999", who=ADMIN.who, user_id=ADMIN.user_id)
    assert err.value.params == {"task_id": "T9999"}
    with pytest.raises(TaskNotFound):
        report("T9999", progress(10))


# ---- 退回 -----------------------------------------------------------------------------------


def test_reject_restores_the_progress_before_the_submission_then_submit_again(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task, report: Report,
        actions: Actions) -> None:
    report(task.id, progress(60))
    first = submit(report, task)
    clock.advance(timedelta(hours=3))

    rejected = ledger.reject(task.id, "  佐证材料不全  ", who=ADMIN.who, submission=first)
    assert rejected == ledger.task(task.id)
    assert (rejected.status, rejected.progress) == (OPEN, 60)
    assert (rejected.submitted_by, rejected.submission) == ("", "")
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.from_status, entry.to_status, entry.note, entry.at) \
        == ("rejected", ADMIN.who, SUBMITTED, OPEN, "佐证材料不全", clock.now())

    clock.advance(timedelta(days=1))
    second = submit(report, task)
    assert second != first
    again = ledger.task(task.id)
    assert (again.status, again.progress, again.submission) == (SUBMITTED, 100, second)
    ledger.verify(task.id, who=ADMIN.who, submission=second, user_id=ADMIN.user_id)
    assert ledger.task(task.id).status is CLOSED
    assert actions(task.id) == ["created", "progress", "submitted", "rejected", "submitted",
                                "verified"]


def test_reject_without_a_reason_changes_nothing(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    submit(report, task)
    before, commits = ledger.task(task.id), repo.commits
    with pytest.raises(InvalidField) as err:
        ledger.reject(task.id, "   ", who=ADMIN.who)
    assert err.value.params == {"field": "reason", "value": ""}
    assert ledger.task(task.id) == before and repo.commits == commits


# ---- four eyes ------------------------------------------------------------------------------


def test_the_reporter_cannot_verify_their_own_submission_by_user_id(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report) -> None:
    submission = submit(report, task)
    # Same Telegram account under another display name (an official who is also an admin).
    with pytest.raises(NotAllowed) as err:
        ledger.verify(task.id, who="督查室张三（2001）", user_id=ZHANG.user_id,
                      submission=submission)
    assert err.value.params == {"reason": "self_verify", "task_id": task.id}
    assert ledger.task(task.id).status is SUBMITTED
    assert "verified" not in [h.action for h in repo.history(task.id)]


def test_four_eyes_compares_accounts_not_display_names(
        ledger: Ledger, task: Task, report: Report) -> None:
    submission = submit(report, task)
    # An admin whose Telegram name happens to be the reporter's is someone else.
    closed = ledger.verify(task.id, who=ZHANG.who, user_id=ADMIN.user_id,
                           submission=submission)
    assert closed.status is CLOSED


def test_without_a_user_id_the_names_are_compared(
        ledger: Ledger, task: Task, report: Report) -> None:
    submit(report, task)
    with pytest.raises(NotAllowed):
        ledger.verify(task.id, who=ZHANG.who)
    assert ledger.verify(task.id, who=ADMIN.who).status is CLOSED


def test_a_leaders_submission_still_needs_someone_else(
        ledger: Ledger, task: Task, report: Report) -> None:
    submission = submit(report, task, by=LEADER)
    assert ledger.task(task.id).submitted_by == LEADER.who
    with pytest.raises(NotAllowed):
        ledger.verify(task.id, who="admin:2900", user_id=LEADER.user_id, submission=submission)
    assert ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                         submission=submission).status is CLOSED


def test_four_eyes_looks_at_the_current_submission(
        ledger: Ledger, make_task: Callable[..., Task], report: Report) -> None:
    """李四 handed in first and was sent back; 张三 handed in now: 李四 is not the reporter."""
    co_owned = make_task("职业中学新校区建设", lead_unit="县教育局", owners=(ZHANG.who, LI.who))
    first = submit(report, co_owned, by=LI)
    ledger.reject(co_owned.id, "未附验收单", who=ADMIN.who, submission=first)
    second = submit(report, co_owned, by=ZHANG)
    with pytest.raises(NotAllowed):
        ledger.verify(co_owned.id, who=ZHANG.who, user_id=ZHANG.user_id, submission=second)
    assert ledger.verify(co_owned.id, who=LI.who, user_id=LI.user_id,
                         submission=second).status is CLOSED


# ---- buttons of a superseded submission ----------------------------------------------------


def test_an_old_submission_button_is_superseded(
        ledger: Ledger, task: Task, report: Report) -> None:
    first = submit(report, task)
    ledger.reject(task.id, "材料不全", who=ADMIN.who, submission=first)
    second = submit(report, task)
    for act in (lambda: ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                                      submission=first),
                lambda: ledger.reject(task.id, "再补充", who=ADMIN.who, submission=first)):
        with pytest.raises(Superseded) as err:
            act()
        assert err.value.params == {"what": "submission", "task_id": task.id}
    current = ledger.task(task.id)
    assert (current.status, current.submission) == (SUBMITTED, second)
    assert ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                         submission=second).status is CLOSED


def test_a_submission_button_after_the_submission_was_taken_back(
        ledger: Ledger, task: Task, report: Report) -> None:
    first = submit(report, task)
    report(task.id, progress(45, "进度45%，还差竣工验收"))
    with pytest.raises(InvalidTransition) as err:
        ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id, submission=first)
    assert err.value.params["current"] == OPEN.value
    with pytest.raises(InvalidTransition):
        ledger.reject(task.id, "材料不全", who=ADMIN.who, submission=first)


# ---- a progress figure after 交账 takes it back ----------------------------------------------


def test_a_progress_figure_after_submission_takes_it_back(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report,
        actions: Actions) -> None:
    report(task.id, progress(30))
    first = submit(report, task)
    outcome = report(task.id, progress(45, "进度45%，还差竣工验收"))

    assert outcome.withdrew_submission and not outcome.submitted
    assert outcome.withdrawn_submission == first
    back = ledger.task(task.id)
    assert (back.status, back.progress, back.submitted_by, back.submission) == (
        OPEN, 45, "", "")
    assert back.latest_note == "进度45%，还差竣工验收"
    withdrawn = next(h for h in repo.history(task.id) if h.action == SUBMISSION_WITHDRAWN)
    assert (withdrawn.who, withdrawn.from_status, withdrawn.to_status, withdrawn.note) == (
        ZHANG.who, SUBMITTED, OPEN, "45%")
    assert actions(task.id)[-3:] == ["submitted", SUBMISSION_WITHDRAWN, "progress"]


@pytest.mark.parametrize("reading", [note("验收材料已报县住建局"), progress(100, "进度100%")],
                         ids=["note", "figure-100"])
def test_a_note_or_a_full_figure_after_submission_keeps_it(
        ledger: Ledger, task: Task, report: Report, reading: object) -> None:
    first = submit(report, task)
    outcome = report(task.id, reading)
    assert not outcome.withdrew_submission and outcome.withdrawn_submission == ""
    kept = ledger.task(task.id)
    assert (kept.status, kept.progress, kept.submission) == (SUBMITTED, 100, first)


# ---- 重新打开 -------------------------------------------------------------------------------


def test_reopen_a_closed_task_then_close_it_again(
        ledger: Ledger, repo: FakeRepository, clock: FixedClock, task: Task, report: Report,
        actions: Actions) -> None:
    ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                  submission=submit(report, task))
    clock.advance(timedelta(days=2))
    reopened = ledger.reopen(task.id, " 复查发现未完成 ", who=ADMIN2.who)
    assert reopened == ledger.task(task.id)
    assert (reopened.status, reopened.closed_at, reopened.submitted_by, reopened.submission) \
        == (OPEN, None, "", "")
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.from_status, entry.to_status, entry.note) == (
        "reopened", ADMIN2.who, CLOSED, OPEN, "复查发现未完成")
    assert task.id in [t.id for t in ledger.tasks_of_person(ZHANG.who)]

    again = submit(report, task)
    ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id, submission=again)
    assert ledger.task(task.id).status is CLOSED
    assert actions(task.id) == ["created", "submitted", "verified", "reopened", "submitted",
                                "verified"]


def test_reopen_needs_a_reason_and_a_closed_task(
        ledger: Ledger, task: Task, report: Report) -> None:
    with pytest.raises(InvalidTransition) as open_task:
        ledger.reopen(task.id, "复查", who=ADMIN.who)
    assert open_task.value.params == {"task_id": task.id, "current": OPEN.value,
                                      "target": OPEN.value, "action": "reopen"}
    submit(report, task)
    with pytest.raises(InvalidTransition):
        ledger.reopen(task.id, "复查", who=ADMIN.who)
    ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)
    with pytest.raises(InvalidField) as err:
        ledger.reopen(task.id, " ", who=ADMIN.who)
    assert err.value.params == {"field": "reason", "value": ""}
    assert ledger.task(task.id).status is CLOSED


# ---- 撤销 -----------------------------------------------------------------------------------


def _bring_to(state: TaskStatus, ledger: Ledger, task: Task, report: Report) -> None:
    if state in (SUBMITTED, CLOSED):
        submit(report, task)
    if state is CLOSED:
        ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id)


@pytest.mark.parametrize("state", [OPEN, SUBMITTED, CLOSED], ids=lambda s: s.name.lower())
def test_cancel_from_any_state_is_final(
        ledger: Ledger, repo: FakeRepository, task: Task, report: Report,
        state: TaskStatus) -> None:
    _bring_to(state, ledger, task, report)
    cancelled = ledger.cancel_task(task.id, who=ADMIN.who, note="任务调整，不再实施")
    assert cancelled.status is CANCELLED and ledger.task(task.id).status is CANCELLED
    entry = repo.history(task.id)[-1]
    assert (entry.action, entry.who, entry.from_status, entry.to_status, entry.note) == (
        "cancelled", ADMIN.who, state, CANCELLED, "任务调整，不再实施")
    assert ledger.live_tasks() == []

    with pytest.raises(TaskNotLive) as reported:
        report(task.id, progress(10))
    assert reported.value.params == {"task_id": task.id, "status": CANCELLED.value}
    with pytest.raises(InvalidTransition) as again:
        ledger.cancel_task(task.id, who=ADMIN.who)
    assert again.value.params == {"task_id": task.id, "current": CANCELLED.value,
                                  "target": CANCELLED.value, "action": "cancelled"}
    for act in (lambda: ledger.verify(task.id, who=ADMIN2.who, user_id=ADMIN2.user_id),
                lambda: ledger.reject(task.id, "理由", who=ADMIN.who),
                lambda: ledger.reopen(task.id, "理由", who=ADMIN.who)):
        with pytest.raises(InvalidTransition):
            act()


# ---- people -----------------------------------------------------------------------------------


def test_an_official_bound_by_invite_runs_the_loop_from_their_account(
        ledger: Ledger, clock: FixedClock, task: Task, report: Report,
        bind: Callable[[Actor], object]) -> None:
    bind(ZHANG)
    person = ledger.person_for_user(ZHANG.user_id)
    assert person is not None and person.name == ZHANG.who and person.bound
    assert [t.id for t in ledger.tasks_to_report(person.name, clock.today())] == [task.id]
    assert ledger.may_report(task, LEADER.who, clock.today())  # the 责任领导 answers for it
    assert not ledger.may_report(task, LI.who, clock.today())

    submission = submit(report, task, by=Actor(person.name, ZHANG.user_id))
    with pytest.raises(NotAllowed):
        ledger.verify(task.id, who=person.name, user_id=ZHANG.user_id, submission=submission)
    assert ledger.verify(task.id, who=ADMIN.who, user_id=ADMIN.user_id,
                         submission=submission).status is CLOSED
