"""The ledger service: every change to the store goes through here.

Tasks, people and invites, and the bot's own records: the outbox of messages sent, bulletin
ranks, what the sender learnt about chats. Nothing outside `bot/domain/` and `bot/adapters/`
commits to the repository (a test scans for it); reads may go to the repository directly.

Each public method validates first, builds one `Change`, commits it (durable when the call
returns) and only then returns what the caller may confirm to the user.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.accounts import account_number, is_foreign
from bot.domain.clock import Clock
from bot.domain.errors import (
    AlreadyBound,
    AlreadyRecorded,
    AlreadySubmitted,
    InvalidField,
    InvalidTransition,
    InviteExpired,
    InviteUnknown,
    InviteUsed,
    NotAllowed,
    NothingPending,
    RebindPending,
    Superseded,
    TaskNotFound,
    TaskNotLive,
    UndoRefused,
)
from bot.domain.ledger_file import ParsedRow
from bot.domain.ledger_import import ImportSummary as ImportSummary
from bot.domain.ledger_import import import_rows
from bot.domain.ledger_records import LedgerRecords
from bot.domain.model import (
    ALLOWED_TRANSITIONS,
    LIVE_STATES,
    TELEGRAM,
    Address,
    Difficulty,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    Frequency,
    HistoryEntry,
    Invite,
    Person,
    RebindRequest,
    RebindStatus,
    Report,
    Role,
    Task,
    TaskStatus,
    Unit,
)
from bot.domain.ports import Change, LedgerRepository
from bot.domain.replies import Reading, ReplyKind
from bot.domain.text import check_year, normalize_name

INVITE_VALID_FOR = timedelta(days=7)
UNDO_WINDOW = timedelta(minutes=10)  # ↩️ 撤回 of a misread report
EVIDENCE_KIND = "evidence"
SUBMISSION_WITHDRAWN = "submission_withdrawn"  # a progress figure took a 交账 back
MAX_TITLE = 200
MAX_NAME = 30
TASK_COUNTER = "task"
REPORT_COUNTER, DIFFICULTY_COUNTER, EXTENSION_COUNTER = "report", "difficulty", "extension"
REBIND_COUNTER = "rebind"
# Task fields a report may change; kept in the report so that 撤回 can put them back.
_RESTORABLE = ("status", "progress", "latest_note", "last_report_at", "last_report",
               "submitted_by", "submission")


@dataclass(frozen=True)
class ReportOutcome:
    task: Task
    report: Report
    difficulty: Difficulty | None = None
    extension: ExtensionRequest | None = None

    @property
    def submitted(self) -> bool:
        """交账: the report moved the task to 待核账."""
        return self.report.kind == ReplyKind.COMPLETION.value

    @property
    def withdrew_submission(self) -> bool:
        """A progress figure below 100 on a task waiting for 核账 took its 交账 back."""
        return (self.report.before.get("status") == TaskStatus.SUBMITTED.value
                and status_after(self.report, self.task.status) is TaskStatus.OPEN)

    @property
    def withdrawn_submission(self) -> str:
        """The report id of the 交账 this report took back ("" if none)."""
        return str(self.report.before.get("submission") or "") if self.withdrew_submission \
            else ""


@dataclass(frozen=True)
class Rebinding:
    """换绑 confirmed: `person` is now bound to `new_user_id`; `old_user_id` (the account it
    replaced, None if it had none by then) is to be told. Account numbers; on a channel other
    than Telegram the request's `new_address` and `old_address` name the accounts."""

    person: Person
    old_user_id: int | None
    new_user_id: int
    request: RebindRequest


class ReportRole:
    """Why a person may report on a task (Ledger.reporting_role)."""

    OWNER = "owner"  # 责任人
    COVERING = "covering"  # 责任领导 while a 责任人 is on leave: the bot sends them the reminders
    LEADER = "leader"  # 责任领导 otherwise: they answer for the task, the 督查室 takes their word


@dataclass(frozen=True)
class NewTask:
    """What an admin gives to open an entry (建账)."""

    title: str
    lead_unit: str
    owners: tuple[str, ...]
    deadline: date | None
    goal: str = ""
    leader: str = ""
    co_units: tuple[str, ...] = ()
    category: str = ""
    frequency: Frequency | None = None
    remark: str = ""


def _default_code() -> str:
    return secrets.token_urlsafe(9)


class Ledger(LedgerRecords):
    def __init__(
        self,
        repo: LedgerRepository,
        clock: Clock,
        *,
        new_code: Callable[[], str] = _default_code,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self._new_code = new_code
        # Account numbers of other channels' accounts (Person.accounts) → (name, address):
        # rebuilt from the people when a number is not found or no longer matches.
        self._accounts: dict[int, tuple[str, Address]] = {}
        self._numbers: dict[Address, int] = {}

    # ---- queries -------------------------------------------------------------------------

    def task(self, task_id: str) -> Task:
        task = self.repo.get_task(task_id)
        if task is None:
            raise TaskNotFound(task_id=task_id)
        return task

    def live_tasks(self) -> list[Task]:
        """Tasks still being worked on (推进中 and 待核账), ordered by deadline then id."""
        return sorted((t for t in self.repo.tasks() if t.status in LIVE_STATES), key=_urgency)

    def tasks_of_unit(self, unit: str) -> list[Task]:
        return [t for t in self.live_tasks() if t.lead_unit == unit or unit in t.co_units]

    def tasks_of_person(self, name: str) -> list[Task]:
        name = normalize_name(name)
        return [t for t in self.live_tasks() if name in t.owners]

    def person_for_user(self, user_id: int) -> Person | None:
        """The person bound to an account number (bot/domain/accounts.py): a Telegram user
        id, or another channel's account (Person.accounts)."""
        found = self.account_owner(user_id)
        return found[0] if found is not None else None

    def account_owner(self, user_id: int) -> tuple[Person, Address] | None:
        """The person bound to an account number, and that account (which channel)."""
        if not is_foreign(user_id):
            person = self.repo.person_by_user(user_id)
            return (person, Address(TELEGRAM, str(user_id))) if person is not None else None
        for attempt in range(2):
            hit = self._accounts.get(user_id)
            if hit is not None:
                person = self.repo.get_person(hit[0])
                if person is not None and hit[1] in person.accounts:
                    return person, hit[1]
            if attempt == 0:
                self._index_accounts()
        return None

    def _index_accounts(self) -> None:
        index: dict[int, tuple[str, Address]] = {}
        for person in self.repo.people():
            for address in person.accounts:
                number = self._numbers.get(address)
                if number is None:
                    number = self._numbers[address] = account_number(address)
                index[number] = (person.name, address)
        self._accounts = index

    def person_named(self, name: str) -> Person | None:
        """A person by name as typed (/leave 张三, a 责任领导 cell): normalised first, so a
        zero-width character or a full-width letter finds the same person."""
        name = normalize_name(name)
        return self.repo.get_person(name) if name else None

    # ---- who may report (roles) ------------------------------------------------------------

    def covering(self, task: Task, name: str, today: date) -> bool:
        """`name` is the task's 责任领导 and a 责任人 is on leave today: the rhythm sends them
        that 责任人's reminders (jobs/dispatch.py), so they are asked to report."""
        name = normalize_name(name)
        if not name or name != task.leader or name in task.owners:
            return False
        for owner in task.owners:
            person = self.repo.get_person(owner)
            if person is not None and person.on_leave(today):
                return True
        return False

    def reporting_role(self, task: Task, name: str, today: date) -> str | None:
        """Why `name` may report on `task` and press its buttons (a ReportRole), or None.

        The 责任人 always; the 责任领导 always too: covering while a 责任人 is on leave (the bot
        asked them), and otherwise because the leader answers for the task and the 督查室 takes
        their word (their report is recorded under their own name, 交账 still needs 核账 by
        someone else). Admins are the adapter's business (they may report on any task).
        """
        name = normalize_name(name)
        if not name:
            return None
        if name in task.owners:
            return ReportRole.OWNER
        if task.leader and name == task.leader:
            return ReportRole.COVERING if self.covering(task, name, today) else ReportRole.LEADER
        return None

    def may_report(self, task: Task, name: str, today: date) -> bool:
        """Whether `name` may report on `task` and press its ✅/📈/⚠️/⏳ buttons."""
        return self.reporting_role(task, name, today) is not None

    def tasks_to_report(self, name: str, today: date) -> list[Task]:
        """The live tasks `name` is asked to report on, most urgent first: those they are
        责任人 of, and those they lead while a 责任人 is on leave today (covering). Tasks they
        merely lead are left out (a leader of 40 tasks is not asked which one a message is
        about), though they may report on them by 编号 or by replying (may_report)."""
        name = normalize_name(name)
        if not name:
            return []
        return [t for t in self.live_tasks()
                if name in t.owners or self.covering(t, name, today)]

    def unit_names(self) -> list[str]:
        return sorted(u.name for u in self.repo.units())

    # ---- 建账: open an entry -----------------------------------------------------------

    def add_task(self, new: NewTask, *, who: str) -> Task:
        title = new.title.strip()
        lead_unit = new.lead_unit.strip()
        owners = _names(new.owners)
        leader = normalize_name(new.leader)
        if not title or len(title) > MAX_TITLE:
            raise InvalidField(field="title", value=new.title)
        if not lead_unit or len(lead_unit) > MAX_NAME:
            raise InvalidField(field="lead_unit", value=new.lead_unit)
        if not owners or any(len(o) > MAX_NAME for o in owners):
            raise InvalidField(field="owners", value="、".join(new.owners))
        if len(leader) > MAX_NAME:
            raise InvalidField(field="name", value=new.leader)
        if new.deadline is not None:
            check_year(new.deadline)
        now = self.clock.now()
        change = Change()
        task_id = self._next_task_id(change)
        task = Task(
            id=task_id,
            title=title,
            lead_unit=lead_unit,
            owners=owners,
            deadline=new.deadline,
            created_at=now,
            goal=new.goal.strip(),
            leader=leader,
            co_units=tuple(u.strip() for u in new.co_units if u.strip()),
            category=new.category.strip(),
            frequency=new.frequency,
            remark=new.remark.strip(),
        )
        change.tasks.append(task)
        self._ensure_units(change, (task.lead_unit, *task.co_units))
        self._ensure_people(change, owners, unit=lead_unit)
        if task.leader:
            self._ensure_leader(change, task.leader)
        change.history.append(
            HistoryEntry(task_id, now, who, "created", None, TaskStatus.OPEN, "建账")
        )
        self.repo.commit(change)
        return task

    # ---- import (台账 in bulk) ------------------------------------------------------------

    def import_rows(self, rows: Sequence[ParsedRow], *, who: str, dry_run: bool = False,
                    marker: str = "") -> ImportSummary:
        """Upsert imported rows as one change: all of them or none (bot.domain.ledger_import:
        下达日期, 进展情况). Importing the same file twice changes nothing."""
        return import_rows(self, rows, who=who, dry_run=dry_run, marker=marker)

    # ---- lifecycle -----------------------------------------------------------------------

    def transition(self, task_id: str, to: TaskStatus, *, who: str, note: str = "",
                   action: str = "") -> Task:
        """Move a task to another state, keeping who, when, from, to and note."""
        task = self.task(task_id)
        if to not in ALLOWED_TRANSITIONS[task.status]:
            raise InvalidTransition(task_id=task_id, current=task.status.value, target=to.value,
                                    action=action)
        now = self.clock.now()
        updated = task.with_changes(status=to)
        entry = HistoryEntry(task_id, now, who, action or f"to:{to.value}", task.status, to,
                             note.strip())
        change = Change(tasks=[updated], history=[entry])
        if to not in LIVE_STATES:
            self._close_difficulties(change, task.id, to, who=who, now=now)
            self._close_requests(change, task.id, who=who, now=now)
        self.repo.commit(change)
        return updated

    def cancel_task(self, task_id: str, *, who: str, note: str = "") -> Task:
        """撤销: any state → 已撤销 (an admin's decision)."""
        return self.transition(task_id, TaskStatus.CANCELLED, who=who, note=note,
                               action="cancelled")

    # ---- 交账 and progress reports -------------------------------------------------------

    def submit_report(self, task_id: str, reading: Reading, *, who: str, user_id: int,
                      evidence: tuple[Evidence, ...] = (), source: str = "") -> ReportOutcome:
        """An official's answer, as read by the reply reader, applied to a task: every facet
        of it in one durable change.

        Completion → 交账 (待核账, 进度 100); a progress figure sets 进度 (and, on a task
        waiting for 核账, takes the 交账 back: it is not done after all); a difficulty opens a
        困难 item; an extension request (with its date) waits for an admin; the text is kept
        as 最新进展. Every report counts as 最近填报 (and for 减负).
        """
        task = self.task(task_id)
        if source and self.repo.report_from(source) is not None:
            raise AlreadyRecorded(task_id=task.id)
        if not task.live:
            raise TaskNotLive(task_id=task.id, status=task.status.value)
        if reading.done and task.status is TaskStatus.SUBMITTED:
            raise AlreadySubmitted(task_id=task.id)
        now = self.clock.now()
        change = Change()
        report_id = self._next_id(change, REPORT_COUNTER, "R", 6)
        text = reading.text.strip()
        progress = 100 if reading.done else reading.progress
        if progress is not None:
            progress = max(0, min(100, progress))
        updates: dict[str, object] = {"last_report_at": now, "last_report": report_id}
        if text:
            updates["latest_note"] = text
        extension = self._extension_request(change, task, reading, who) \
            if reading.extension and not reading.done else None
        if reading.done:
            updates.update(status=TaskStatus.SUBMITTED, progress=100, submitted_by=who,
                           submission=report_id)
            change.history.append(HistoryEntry(task.id, now, who, "submitted", task.status,
                                               TaskStatus.SUBMITTED, text))
        elif progress is not None:
            updates["progress"] = progress
            if task.status is TaskStatus.SUBMITTED and progress < 100:
                # 完成了, then 进度45%: the 交账 is taken back, the task is open again.
                updates.update(status=TaskStatus.OPEN, submitted_by="", submission="")
                change.history.append(HistoryEntry(
                    task.id, now, who, SUBMISSION_WITHDRAWN, task.status, TaskStatus.OPEN,
                    f"{progress}%"))
        difficulty: Difficulty | None = None
        if reading.difficulty is not None:
            difficulty = Difficulty(
                id=self._next_id(change, DIFFICULTY_COUNTER, "D", 4), task_id=task.id,
                text=(reading.difficulty or text).strip(), opened_by=who, opened_at=now)
            change.difficulties.append(difficulty)
            change.history.append(HistoryEntry(task.id, now, who, "difficulty",
                                               note=difficulty.text))
        if not reading.done and difficulty is None and extension is None:
            note = text
            if progress is not None and not _states_figure(text, progress):
                note = f"{progress}%" + (f"：{text}" if text else "")
            change.history.append(HistoryEntry(
                task.id, now, who, "progress" if text or progress is not None
                else EVIDENCE_KIND, note=note))
        report = Report(
            id=report_id, task_id=task.id, who=who, user_id=user_id, at=now,
            kind=reading.kind.value if (text or progress is not None) else EVIDENCE_KIND,
            text=text, progress=progress, evidence=evidence, before=_snapshot(task),
            source=source, difficulty_id=difficulty.id if difficulty else "",
            extension_id=extension.id if extension else "")
        updated = task.with_changes(**updates)
        change.tasks.append(updated)
        change.reports.append(report)
        owner = self.account_owner(user_id)
        if owner is not None:
            used = _last_used(owner[0], owner[1].channel)
            if used is not owner[0]:
                change.people.append(used)
        self.repo.commit(change)
        return ReportOutcome(updated, report, difficulty, extension)

    def _extension_request(self, change: Change, task: Task, reading: Reading,
                           who: str) -> ExtensionRequest:
        """申请延期: a request for an admin, for a date after today and the current deadline."""
        new_deadline = reading.new_deadline
        if new_deadline is None or new_deadline <= self.clock.today() or (
                task.deadline is not None and new_deadline <= task.deadline):
            raise InvalidField(field="extension_date",
                               value=new_deadline.isoformat() if new_deadline else "")
        check_year(new_deadline, field="extension_date")
        now = self.clock.now()
        extension = ExtensionRequest(
            id=self._next_id(change, EXTENSION_COUNTER, "E", 4), task_id=task.id,
            requested_by=who, requested_at=now, new_deadline=new_deadline,
            reason=(reading.reason or reading.detail).strip())
        change.extensions.append(extension)
        change.history.append(HistoryEntry(
            task.id, now, who, "extension_requested",
            note=f"{new_deadline.isoformat()} {extension.reason}".strip()))
        return extension

    def undo_report(self, report_id: str, *, user_id: int) -> Task:
        """↩️ 撤回: the reporter takes back a misread report within 10 minutes, as long as
        nothing happened to the task since."""
        report = self.repo.get_report(report_id)
        if report is None:
            raise UndoRefused(reason="unknown", report_id=report_id)
        if report.user_id != user_id:
            raise UndoRefused(reason="not_yours", report_id=report_id)
        if report.undone_at is not None:
            raise UndoRefused(reason="done", report_id=report_id, task_id=report.task_id)
        now = self.clock.now()
        if now - report.at > UNDO_WINDOW:
            raise UndoRefused(reason="expired", report_id=report_id, task_id=report.task_id)
        task = self.task(report.task_id)
        # The state the report left the task in must still be there: once an admin verified,
        # cancelled or sent it back, 撤回 would undo their decision too.
        left_in = status_after(report, task.status)
        if task.last_report != report.id or task.status is not left_in \
                or self._decided_since(report):
            raise UndoRefused(reason="superseded", report_id=report_id, task_id=task.id)
        restored = task.with_changes(**_restore(report.before))
        change = Change(tasks=[restored],
                        reports=[Report(**{**report.__dict__, "undone_at": now})])
        change.history.append(HistoryEntry(task.id, now, report.who, "withdrawn", task.status,
                                           restored.status if restored.status != task.status
                                           else None, report.text))
        if report.difficulty_id:
            for item in self.repo.difficulties_of(task.id):
                if item.id == report.difficulty_id:
                    change.difficulties.append(item.with_changes(withdrawn=True))
        if report.extension_id:
            for request in self.repo.extensions_of(task.id):
                if request.id == report.extension_id and \
                        request.status is ExtensionStatus.PENDING:
                    change.extensions.append(
                        request.with_changes(status=ExtensionStatus.WITHDRAWN))
        self.repo.commit(change)
        return restored

    def _decided_since(self, report: Report) -> bool:
        """Whether someone acted on what the report asked for: its 延期申请 approved or
        refused, its 困难 taken on or solved. 撤回 would then undo their decision too."""
        if report.extension_id and any(
                request.id == report.extension_id and request.status is not ExtensionStatus.PENDING
                for request in self.repo.extensions_of(report.task_id)):
            return True
        return bool(report.difficulty_id) and any(
            item.id == report.difficulty_id and (not item.open or bool(item.coordinator))
            for item in self.repo.difficulties_of(report.task_id))

    # ---- 核账 / 销账 / 退回 / 重新打开 -------------------------------------------------------

    def verify(self, task_id: str, *, who: str, submission: str | None = None,
               user_id: int | None = None) -> Task:
        """核账 passed → 已销账. Never by the one who reported it done (four eyes). With
        `submission` (a button's report id), only if that 交账 is still the one waiting.

        `user_id` is the verifier's Telegram user id; the adapter passes it, and the check then
        compares it with the 交账 report's user id (a display name can be changed). Without it
        (or for a 交账 stored without one) the display names are compared, as before.
        """
        task = self.task(task_id)
        self._check_submission(task, submission)
        if task.status is TaskStatus.SUBMITTED and self._self_verify(task, who, user_id):
            raise NotAllowed(reason="self_verify", task_id=task.id)
        if TaskStatus.CLOSED not in ALLOWED_TRANSITIONS[task.status] or \
                task.status is not TaskStatus.SUBMITTED:
            raise InvalidTransition(task_id=task.id, current=task.status.value,
                                    target=TaskStatus.CLOSED.value, action="verify")
        now = self.clock.now()
        closed = task.with_changes(status=TaskStatus.CLOSED, closed_at=now)
        entry = HistoryEntry(task.id, now, who, "verified", task.status, TaskStatus.CLOSED)
        change = Change(tasks=[closed], history=[entry])
        self._close_difficulties(change, task.id, TaskStatus.CLOSED, who=who, now=now)
        self._close_requests(change, task.id, who=who, now=now)
        self.repo.commit(change)
        return closed

    def _close_requests(self, change: Change, task_id: str, *, who: str, now: datetime) -> None:
        """销账 / 撤销: a 延期申请 still waiting goes with the task (withdrawn, by whoever closed
        it), so reopening the task does not bring back a request from before."""
        for request in self.repo.extensions_of(task_id):
            if request.status is ExtensionStatus.PENDING:
                change.extensions.append(request.with_changes(
                    status=ExtensionStatus.WITHDRAWN, decided_by=who, decided_at=now))

    def _close_difficulties(self, change: Change, task_id: str, to: TaskStatus, *, who: str,
                            now: datetime) -> None:
        """销账 / 撤销 closes the task's open 困难 in the same change, with a history note: they
        wait for nobody any more (the daily summary stops listing them, their 我来协调 / 已解决
        buttons say what became of them)."""
        items = self.open_difficulties_of(task_id)
        if not items:
            return
        change.difficulties.extend(
            d.with_changes(resolved_at=now, resolved_by=who, closed_with=to.value)
            for d in items)
        change.history.append(HistoryEntry(task_id, now, who, "difficulties_closed",
                                           note="；".join(d.text for d in items)))

    def _self_verify(self, task: Task, who: str, user_id: int | None) -> bool:
        report = self.repo.get_report(task.submission) if task.submission else None
        if user_id is not None and report is not None and report.user_id:
            if report.user_id == user_id:
                return True
            # The same person on another channel (reported on 钉钉, verifies on Telegram).
            mine, theirs = self.person_for_user(user_id), self.person_for_user(report.user_id)
            return mine is not None and theirs is not None and mine.name == theirs.name
        return task.submitted_by == who

    def _check_submission(self, task: Task, submission: str | None) -> None:
        if submission is not None and task.status is TaskStatus.SUBMITTED and \
                task.submission != submission:
            raise Superseded(what="submission", task_id=task.id)

    def reject(self, task_id: str, reason: str, *, who: str,
               submission: str | None = None) -> Task:
        """退回: a submitted task goes back to 推进中 with a reason; 进度 as before 交账."""
        task = self.task(task_id)
        self._check_submission(task, submission)
        reason = reason.strip()
        if not reason:
            raise InvalidField(field="reason", value="")
        if TaskStatus.OPEN not in ALLOWED_TRANSITIONS[task.status] or \
                task.status is not TaskStatus.SUBMITTED:
            raise InvalidTransition(task_id=task.id, current=task.status.value,
                                    target=TaskStatus.OPEN.value, action="reject")
        handed_in = self.repo.get_report(task.submission) if task.submission else None
        progress = int(handed_in.before.get("progress", task.progress)) if handed_in else (
            min(task.progress, 90))
        now = self.clock.now()
        updated = task.with_changes(status=TaskStatus.OPEN, progress=progress,
                                    submitted_by="", submission="")
        entry = HistoryEntry(task.id, now, who, "rejected", task.status, TaskStatus.OPEN, reason)
        self.repo.commit(Change(tasks=[updated], history=[entry]))
        return updated

    def reopen(self, task_id: str, reason: str, *, who: str) -> Task:
        task = self.task(task_id)
        if not reason.strip():
            raise InvalidField(field="reason", value="")
        if task.status is not TaskStatus.CLOSED:
            raise InvalidTransition(task_id=task.id, current=task.status.value,
                                    target=TaskStatus.OPEN.value, action="reopen")
        now = self.clock.now()
        reopened = task.with_changes(status=TaskStatus.OPEN, closed_at=None, submitted_by="",
                                     submission="")
        entry = HistoryEntry(task.id, now, who, "reopened", task.status, TaskStatus.OPEN,
                             reason.strip())
        self.repo.commit(Change(tasks=[reopened], history=[entry]))
        return reopened

    def exempt(self, task_id: str, reason: str, *, who: str) -> Task:
        """容错: take a task out of scoring from now on, with who and why in its history."""
        task = self.task(task_id)
        reason = reason.strip()
        if not reason:
            raise InvalidField(field="reason", value="")
        now = self.clock.now()
        exempted = task.with_changes(exempt_since=task.exempt_since or now,
                                     exempt_reason=reason)
        entry = HistoryEntry(task.id, now, who, "exempted", note=reason)
        self.repo.commit(Change(tasks=[exempted], history=[entry]))
        return exempted

    # ---- 困难 (督帮一体) and 延期 -------------------------------------------------------------

    def open_difficulties_of(self, task_id: str) -> list[Difficulty]:
        return [d for d in self.repo.difficulties_of(task_id) if d.open]

    def resolve_difficulties(self, task_id: str, note: str, *, who: str) -> list[Difficulty]:
        task = self.task(task_id)
        items = self.open_difficulties_of(task.id)
        if not items:
            raise NothingPending(what="difficulty", task_id=task.id)
        now = self.clock.now()
        resolved = [d.with_changes(resolved_at=now, resolved_by=who, resolution=note.strip())
                    for d in items]
        entry = HistoryEntry(task.id, now, who, "resolved", note=note.strip())
        self.repo.commit(Change(difficulties=resolved, history=[entry]))
        return resolved

    def difficulty(self, difficulty_id: str) -> Difficulty:
        for item in self.repo.open_difficulties():
            if item.id == difficulty_id:
                return item
        raise NothingPending(what="difficulty", task_id=difficulty_id)

    def coordinate(self, difficulty_id: str, *, who: str) -> Difficulty:
        """我来协调: a leader or admin takes an open 困难 on (督帮一体)."""
        item = self.difficulty(difficulty_id)
        taken = item.with_changes(coordinator=who)
        entry = HistoryEntry(item.task_id, self.clock.now(), who, "coordinating", note=item.text)
        self.repo.commit(Change(difficulties=[taken], history=[entry]))
        return taken

    def resolve_difficulty(self, difficulty_id: str, note: str, *, who: str) -> Difficulty:
        item = self.difficulty(difficulty_id)
        now = self.clock.now()
        resolved = item.with_changes(resolved_at=now, resolved_by=who, resolution=note.strip())
        entry = HistoryEntry(item.task_id, now, who, "resolved", note=note.strip() or item.text)
        self.repo.commit(Change(difficulties=[resolved], history=[entry]))
        return resolved

    def set_leave(self, name: str, start: date | None, end: date | None) -> Person:
        """请假: no prompts to `name` from `start` to `end`; None, None clears it."""
        person = self.person_named(name)
        if person is None:
            raise InvalidField(field="person", value=name)
        if start is not None and end is not None and end < start:
            raise InvalidField(field="leave", value=f"{start}–{end}")
        updated = person.with_changes(leave_from=start, leave_to=end)
        self.repo.commit(Change(people=[updated]))
        return updated

    def pending_extension(self, task_id: str) -> ExtensionRequest | None:
        """The request waiting for a decision: the newest one, if it is still pending. A newer
        request replaces an older one, which never comes back (even when the newer one is
        decided); of two made at the same instant the later-numbered one is newer."""
        requests = list(self.repo.extensions_of(task_id))
        if not requests:
            return None
        newest = max(requests, key=lambda e: (e.requested_at, e.id))
        return newest if newest.status is ExtensionStatus.PENDING else None

    def extend(self, task_id: str, new_deadline: date | None, *, who: str,
               request_id: str | None = None) -> Task:
        """Approve a 延期: the pending request's date (or the date given). The original
        deadline stays in the history. With `request_id` (a button's), only that request."""
        task = self.task(task_id)
        if not task.live:
            raise TaskNotLive(task_id=task.id, status=task.status.value)
        request = self._pending_request(task.id, request_id)
        target = new_deadline or (request.new_deadline if request else None)
        if target is None:
            raise NothingPending(what="extension", task_id=task.id)
        if target < self.clock.today():
            raise InvalidField(field="extension_date", value=target.isoformat())
        check_year(target, field="extension_date")
        now = self.clock.now()
        updated = task.with_changes(deadline=target)
        old = task.deadline.isoformat() if task.deadline else "长期"
        change = Change(tasks=[updated], history=[HistoryEntry(
            task.id, now, who, "extended", note=f"{old} → {target.isoformat()}",
            changes={"deadline": [task.deadline.isoformat() if task.deadline else None,
                                  target.isoformat()]})])
        if request is not None:
            change.extensions.append(request.with_changes(
                status=ExtensionStatus.APPROVED, decided_by=who, decided_at=now,
                new_deadline=target))
        self.repo.commit(change)
        return updated

    def _pending_request(self, task_id: str, request_id: str | None) -> ExtensionRequest | None:
        request = self.pending_extension(task_id)
        if request_id is not None and (request is None or request.id != request_id):
            raise Superseded(what="extension", task_id=task_id)
        return request

    def refuse_extension(self, task_id: str, *, who: str, note: str = "",
                         request_id: str | None = None) -> ExtensionRequest:
        task = self.task(task_id)
        request = self._pending_request(task.id, request_id)
        if request is None:
            raise NothingPending(what="extension", task_id=task.id)
        now = self.clock.now()
        refused = request.with_changes(status=ExtensionStatus.REFUSED, decided_by=who,
                                       decided_at=now)
        entry = HistoryEntry(task.id, now, who, "extension_refused", note=note.strip())
        self.repo.commit(Change(extensions=[refused], history=[entry]))
        return refused

    # ---- people and invites --------------------------------------------------------------

    def create_invite(self, name: str, unit: str, *, admin_id: int) -> Invite:
        name, unit = normalize_name(name), unit.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidField(field="name", value=name)
        if len(unit) > MAX_NAME:
            raise InvalidField(field="unit", value=unit)
        now = self.clock.now()
        change = Change()
        person = self.repo.get_person(name)
        if person is None:
            change.people.append(Person(name=name, unit=unit))
        elif unit and person.unit != unit:
            change.people.append(person.with_changes(unit=unit))
        if unit:
            self._ensure_units(change, (unit,))
        code = self._new_code()
        while self.repo.get_invite(code) is not None:
            code = self._new_code()
        invite = Invite(code=code, name=name, created_at=now, expires_at=now + INVITE_VALID_FOR,
                        created_by=admin_id)
        change.invites.append(invite)
        self.repo.commit(change)
        return invite

    def redeem_invite(self, code: str, user_id: int, address: Address | None = None) -> Person:
        """Bind an account to the invited person. Single use, valid for 7 days.

        `user_id` is the account's number; `address` the account (None: Telegram's
        `user_id`). On another channel the person's `accounts` gain it, replacing their
        account on that channel only (a person may be bound on Telegram and 钉钉 at once).
        When the person is already bound to another account on that channel, nothing is
        rebound: a 换绑 request is recorded (durably) and RebindPending is raised with it, for
        an admin to confirm (confirm_rebind) or refuse (refuse_rebind); the invite stays unused
        until then. Redeeming again from the same account raises RebindPending for the same
        request; from a third account, or after the request was refused, InviteUsed.
        """
        address = address or Address(TELEGRAM, str(user_id))
        if account_number(address) != user_id:
            raise ValueError(f"account {address} is not number {user_id}")
        invite = self.repo.get_invite(code.strip())
        if invite is None:
            raise InviteUnknown(code=code)
        name = normalize_name(invite.name)
        person = self.repo.get_person(name) or Person(name=name)
        held = person.address_on(address.channel)
        if invite.used_by is not None:
            if invite.used_by == user_id and held == address:
                return person  # the same person tapped the link twice: nothing to do
            raise InviteUsed(code=code)
        requests = [r for r in self.repo.rebinds() if r.invite == invite.code]
        for request in requests:
            if request.pending and request.new_user_id == user_id:
                raise RebindPending(request=request, request_id=request.id, name=name, new=False)
        if any(r.pending or r.status is RebindStatus.REFUSED for r in requests):
            raise InviteUsed(code=code)
        now = self.clock.now()
        if now >= invite.expires_at:
            raise InviteExpired(code=code, expired_at=invite.expires_at)
        current = self.person_for_user(user_id)
        if current is not None and current.name != person.name:
            raise AlreadyBound(name=current.name)
        if held is not None and held != address:
            change = Change()
            foreign = address.channel != TELEGRAM
            request = RebindRequest(
                id=self._next_id(change, REBIND_COUNTER, "B", 4), name=name,
                invite=invite.code, old_user_id=account_number(held), new_user_id=user_id,
                requested_at=now, new_address=address if foreign else None,
                old_address=held if foreign else None)
            change.rebinds.append(request)
            self.repo.commit(change)
            raise RebindPending(request=request, request_id=request.id, name=name, new=True)
        bound = _last_used(person.with_account(address).with_changes(
            bound_at=now, unreachable_since=None), address.channel)
        self.repo.commit(Change(people=[bound], invites=[_used(invite, user_id, now)]))
        return bound

    def pending_rebinds(self) -> list[RebindRequest]:
        """换绑 requests waiting for an admin, oldest first."""
        return sorted((r for r in self.repo.rebinds() if r.pending),
                      key=lambda r: (r.requested_at, r.id))

    def _pending_rebind(self, request_id: str) -> RebindRequest:
        request = self.repo.get_rebind(request_id)
        if request is None:
            raise NothingPending(what="rebind", task_id=request_id)
        if not request.pending:
            raise Superseded(what="rebind", task_id=request_id)
        return request

    def confirm_rebind(self, request_id: str, *, who: str, admin_id: int) -> Rebinding:
        """确认换绑: bind the new account, use the invite; returns the account it replaced so
        the adapter can tell it. Refused (NotAllowed "self_rebind") when the admin confirms a
        request to bind their own account; Superseded when the binding changed since the
        request (another 换绑 or invite went first) or the request was already decided."""
        request = self._pending_rebind(request_id)
        if admin_id == request.new_user_id:
            raise NotAllowed(reason="self_rebind", task_id=request.id)
        person = self.repo.get_person(request.name) or Person(name=request.name)
        held = person.address_on(request.channel)
        if (account_number(held) if held is not None else None) != request.old_user_id:
            raise Superseded(what="rebind", task_id=request.id)
        current = self.person_for_user(request.new_user_id)
        if current is not None and current.name != person.name:
            raise AlreadyBound(name=current.name)
        now = self.clock.now()
        bound = _last_used(person.with_account(request.new).with_changes(
            bound_at=now, unreachable_since=None), request.channel)
        decided = request.with_changes(status=RebindStatus.CONFIRMED, decided_by=who,
                                       decided_by_id=admin_id, decided_at=now)
        change = Change(people=[bound], rebinds=[decided])
        invite = self.repo.get_invite(request.invite)
        if invite is not None and invite.used_by is None:
            change.invites.append(_used(invite, request.new_user_id, now))
        self.repo.commit(change)
        return Rebinding(bound, request.old_user_id, request.new_user_id, decided)

    def refuse_rebind(self, request_id: str, *, who: str, admin_id: int) -> RebindRequest:
        """不同意换绑: the binding stays as it is; the invite cannot be used again (a new
        /invite is needed). Returns the refused request (new_user_id is to be told)."""
        request = self._pending_rebind(request_id)
        decided = request.with_changes(status=RebindStatus.REFUSED, decided_by=who,
                                       decided_by_id=admin_id, decided_at=self.clock.now())
        self.repo.commit(Change(rebinds=[decided]))
        return decided

    # ---- helpers -------------------------------------------------------------------------

    def _next_id(self, change: Change, counter: str, prefix: str, width: int) -> str:
        """The next report, 困难 or 延期 id. A store shared by several workers hands the
        number out itself (`take_number`: every report would otherwise write one counter);
        otherwise the change carries the counter."""
        seen = max(self.repo.counter(counter), change.counters.get(counter, 0))
        number = self.repo.take_number(counter, seen)
        if number is None:
            number = seen + 1
            change.counters[counter] = number
        return f"{prefix}{number:0{width}d}"

    def _next_task_id(self, change: Change) -> str:
        number = max(self.repo.counter(TASK_COUNTER), change.counters.get(TASK_COUNTER, 0))
        while True:
            number += 1
            task_id = f"T{number:04d}"
            if self.repo.get_task(task_id) is None:
                change.counters[TASK_COUNTER] = number
                return task_id

    def _ensure_units(self, change: Change, names: Iterable[str]) -> None:
        known = {u.name for u in self.repo.units()} | {u.name for u in change.units}
        for name in names:
            if name and name not in known:
                change.units.append(Unit(name))
                known.add(name)

    def _ensure_people(self, change: Change, names: Iterable[str], *, unit: str) -> None:
        pending = {p.name for p in change.people}
        for name in names:
            if name not in pending and self.repo.get_person(name) is None:
                change.people.append(Person(name=name, unit=unit))
                pending.add(name)

    def _ensure_leader(self, change: Change, name: str) -> None:
        if self.repo.get_person(name) is None:
            change.people.append(Person(name=name, role=Role.LEADER))


def _names(names: Iterable[str]) -> tuple[str, ...]:
    """Normalised names (normalize_name), empty ones and duplicates dropped, order kept."""
    return tuple(dict.fromkeys(n for n in (normalize_name(name) for name in names) if n))


def _last_used(person: Person, channel: str) -> Person:
    """`person` having just used `channel` (a report, a binding): their `last_channel`,
    kept once they have accounts on more than one channel (where reminders go under
    [channels] prefer = "last"); the same object when nothing changes."""
    if person.last_channel == channel or len({a.channel for a in person.addresses}) < 2:
        return person
    return person.with_changes(last_channel=channel)


def _used(invite: Invite, user_id: int, now: datetime) -> Invite:
    return Invite(code=invite.code, name=invite.name, created_at=invite.created_at,
                  expires_at=invite.expires_at, created_by=invite.created_by,
                  used_by=user_id, used_at=now)


def _t_number(task_id: str) -> int:
    """T0107 → 107; other ids → 0."""
    return int(task_id[1:]) if task_id[:1] == "T" and task_id[1:].isdigit() else 0


def status_after(report: Report, default: TaskStatus) -> TaskStatus:
    """The state a report left its task in: 待核账 after a 交账, 推进中 after a progress figure
    that took a 交账 back, else the state it found."""
    if report.kind == ReplyKind.COMPLETION.value:
        return TaskStatus.SUBMITTED
    before = TaskStatus(report.before.get("status", default.value))
    if before is TaskStatus.SUBMITTED and report.progress is not None and report.progress < 100:
        return TaskStatus.OPEN
    return before


def _states_figure(text: str, progress: int) -> bool:
    """Whether the official's text already shows the figure (进度90%): the history line then
    does not repeat it ("90%：进度90%")."""
    return bool(re.search(rf"(?<!\d){progress}\s*[%％]", text))


def _snapshot(task: Task) -> dict[str, object]:
    doc = task.to_doc()
    return {key: doc[key] for key in _RESTORABLE}


def _restore(before: dict[str, object]) -> dict[str, object]:
    doc = {"id": "x", "title": "x", "created_at": "2000-01-01T00:00:00+00:00", **before}
    task = Task.from_doc(doc)
    return {key: getattr(task, key) for key in _RESTORABLE}


def _urgency(task: Task) -> tuple[date, str]:
    return (task.deadline or date.max, task.id)
