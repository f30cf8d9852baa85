"""Buttons under the bot's messages: ✅/📈/⚠️/⏳ under reminders, 📝 under a task of the daily
digest (its four choices), ↩️ 撤回, 核账/退回,
批准/不批准, 我来协调/已解决, 确认换绑/不同意, a date's 确认/重新填写, 确认交账/只是进展, and the
task picker.

A button's action data is decoded by `actions` and never trusted: who pressed, and whether the
action still applies to the task as it is now, are checked here every time. A button of a
request decided meanwhile says so and loses its buttons.

`decide` takes a `Press` and the conversation it happened in, and returns the short notice for
whoever pressed (the channel shows it as an alert), or None when the chat shows the result:
the pressed message edited in place (`Press.under`; a Reply without buttons drops them), a
prompt, a confirmation. Buttons that read a message again (PICK, DATE, SURE: under a question
that replies to it) find it as `Press.under.reply_to`, and only its author may answer.
"""

from __future__ import annotations

import logging
import re

from bot.alerts import notify_chat
from bot.app import actions
from bot.app.common import (
    actor,
    alert_store_failure,
    created_reply,
    parse_add_line,
    retried,
    with_line,
)
from bot.app.conversation import Conversation, Posted, Press, Reply, Said, plain
from bot.app.digest import part_said, part_source
from bot.app.reports import (
    apply_report,
    confirm_and_tell,
    difficulty_buttons,
    may_report,
    notify_owners,
)
from bot.app.review import extend_task
from bot.domain.errors import DomainError, TaskNotFound
from bot.domain.model import Difficulty, ExtensionStatus, RebindStatus, Task, TaskStatus
from bot.domain.ports import Buttons, ConcurrentChange, PersistenceError
from bot.domain.replies import Reading, ReplyKind
from bot.domain.rhythm import reminder_kind
from bot.domain.text import normalize_task_id, parse_deadline
from bot.messages import esc
from bot.services import Services

log = logging.getLogger(__name__)


async def decide(services: Services, conversation: Conversation, press: Press) -> str | None:
    """Act on a pressed button; returns the notice for the presser (Luoshi markup), if any.
    Unknown data (old, forged) and failures are notices too: a domain error says what to do,
    a change that could not be made durable asks to press again (and the admins are told)."""
    msgs = services.messages
    data = actions.decode(press.action)
    if data is None:
        return msgs.t("button_unknown")
    try:
        return await retried(lambda: _decide(services, conversation, press, data))
    except DomainError as err:
        return msgs.error(err)
    except ConcurrentChange as err:
        if err.duplicate:  # the press was applied by another worker (delivered twice)
            return None
        log.error("a button's change could not be applied beside other workers': %s", err)
        return msgs.t("save_failed")
    except PersistenceError:
        log.error("a button's change could not be made durable")
        await alert_store_failure(services)
        return msgs.t("save_failed")


async def _decide(services: Services, conversation: Conversation, press: Press,
                  data: actions.Callback) -> str | None:
    msgs = services.messages
    caller = press.caller
    if data.kind == actions.UNDO:
        undone = services.ledger.undo_report(data.target, user_id=caller.user_id)
        await _edit(conversation, press, msgs.t("undone", id=undone.id))
        return None
    if data.kind == actions.DIFF:
        return await _difficulty_button(services, conversation, press, data)
    if data.kind == actions.REBIND:
        return await _rebind_button(services, conversation, press, data)
    if data.kind == actions.DATE:
        return await _date_button(services, conversation, press, data)
    if data.kind == actions.SURE:
        return await _completion_button(services, conversation, press, data)
    task = services.ledger.repo.get_task(data.target)
    if task is None:
        raise TaskNotFound(task_id=data.target)
    if data.kind in (actions.VERIFY, actions.REJECT, actions.EXT):
        return await _admin_button(services, conversation, press, data, task)
    if not may_report(services, caller, task):
        return msgs.t("button_not_yours")
    if data.kind == actions.PICK:
        original = _original(press)
        if original is None:
            return msgs.t("button_not_yours")
        if task.status not in (TaskStatus.OPEN, TaskStatus.SUBMITTED):
            return msgs.t("action_expired", id=task.id, status=msgs.status(task.status))
        await _edit(conversation, press, msgs.t("picked", id=task.id))
        await apply_report(services, conversation, caller, task, original)
        return None
    # ACT: the four buttons under a reminder or task message, 📝 under a digest's task.
    if task.status is not TaskStatus.OPEN:
        if data.choice == "done" and task.status is TaskStatus.SUBMITTED:
            return msgs.t("already_submitted", id=task.id)
        return msgs.t("action_expired", id=task.id, status=msgs.status(task.status))
    if data.choice == "done":
        outcome = services.ledger.submit_report(
            task.id, Reading(ReplyKind.COMPLETION, progress=100,
                             text=_strip_tags(msgs.catalog["btn_done"]).lstrip("✅ ")),
            who=actor(services, caller), user_id=caller.user_id, source=press.source)
        await confirm_and_tell(services, conversation, outcome)
        return None
    if data.choice == "open":
        await conversation.say(task_choices(services, task))
        return None
    await _prompt(conversation, press, msgs.t(f"prompt_{data.choice}", id=task.id))
    return None


def task_choices(services: Services, task: Task) -> Reply:
    """📝 under a task of the daily digest: the task's own reminder (what is due today, the
    latest report) with its four buttons; a reply to it reports on this task."""
    msgs = services.messages
    today = services.clock.today()
    kind = reminder_kind(task, today, services.calendar)
    if kind is not None:
        text = msgs.rhythm_reminder(task, kind, today, services.calendar,
                                    services.lights.of(task, today))
    else:
        text = msgs.t("task_choices", id=task.id, title=task.title,
                      deadline=msgs.deadline_with_days(task, today))
    return Reply(text, buttons=msgs.task_buttons(task.id))


async def _admin_button(services: Services, conversation: Conversation, press: Press,
                        data: actions.Callback, task: Task) -> str | None:
    """核账通过 / 退回 under a 交账, 批准 / 不批准 under a 延期申请: admins only, and only
    while the request they name still waits."""
    msgs = services.messages
    caller = press.caller
    if not services.is_admin(caller.user_id):
        return msgs.t("button_not_yours")
    # Decided meanwhile (another admin's copy, a command, the official's 撤回): say how,
    # and the message keeps that line instead of its buttons.
    decided = (_extension_decided(services, task, data.ref) if data.kind == actions.EXT
               else _submission_decided(services, task, data.ref))
    if decided is not None:
        newer = data.kind != actions.EXT and task.status is TaskStatus.SUBMITTED
        return await _decided(services, conversation, press, decided,
                              msgs.t("newer_submission", id=task.id) if newer else "")
    who = actor(services, caller)
    if data.kind == actions.VERIFY:
        closed = services.ledger.verify(task.id, who=who, submission=data.ref,
                                        user_id=caller.user_id)
        told = await notify_owners(services, closed, msgs.t(
            "verified_notice", id=closed.id, title=closed.title))
        await _edit(conversation, press, with_line(_append(press.under, msgs.t(
            "verified_by", who=msgs.who(who))), told))
        return None
    if data.kind == actions.REJECT:
        if task.status is not TaskStatus.SUBMITTED:
            return msgs.t("action_expired", id=task.id, status=msgs.status(task.status))
        if task.submission != data.ref:
            return msgs.t("superseded_submission", id=task.id)
        # The reason comes back as a reply to the ✍️ prompt (`reports.on_reply`).
        await _prompt(conversation, press, msgs.t("prompt_reject", id=task.id))
        return None
    if data.choice == "yes":
        extended = services.ledger.extend(task.id, None, who=who, request_id=data.ref)
        told = await notify_owners(services, extended, msgs.t(
            "extended_notice", id=task.id, title=task.title,
            deadline=msgs.date(extended.deadline)))
        await _edit(conversation, press, with_line(_append(press.under, msgs.t(
            "extended", id=task.id, deadline=msgs.date(extended.deadline))), told))
        return None
    services.ledger.refuse_extension(task.id, who=who, request_id=data.ref)
    told = await notify_owners(services, task, msgs.t(
        "extension_refused_notice", id=task.id, title=task.title,
        deadline=msgs.date(task.deadline)))
    await _edit(conversation, press, with_line(_append(press.under, msgs.t(
        "extension_refused", id=task.id)), told))
    return None


async def _difficulty_button(services: Services, conversation: Conversation, press: Press,
                             data: actions.Callback) -> str | None:
    """我来协调 / 已解决: for admins and the task's 责任领导 only. After 我来协调 the message
    keeps 已解决 (the coordinator marks it solved there). A 困难 solved, withdrawn or closed
    with its task meanwhile, or already taken on by someone else: the presser is told."""
    msgs = services.messages
    caller = press.caller
    item = services.ledger.repo.get_difficulty(data.target)
    if item is None:
        return msgs.t("button_unknown")
    task = services.ledger.task(item.task_id)
    person = services.person(caller.user_id)
    is_leader = person is not None and bool(task.leader) and person.name == task.leader
    if not services.is_admin(caller.user_id) and not is_leader:
        return msgs.t("button_not_yours")
    decided = _difficulty_decided(services, task, item)
    if decided is not None:
        return await _decided(services, conversation, press, decided)
    who = actor(services, caller)
    solved_only = difficulty_buttons(services, item.id)[0][1:]
    if data.choice == "coord":
        if item.coordinator:
            line = msgs.t("coordinating_by", who=msgs.who(item.coordinator))
            if not _shows(press.under, line):
                await _edit(conversation, press, _append(press.under, line),
                            buttons=[solved_only])
            return msgs.t("already_coordinating", who=msgs.who(item.coordinator))
        services.ledger.coordinate(item.id, who=who)
        told = await notify_owners(services, task, msgs.t("coordinating_notice", id=task.id,
                                                          who=msgs.who(who)))
        await _edit(conversation, press, with_line(_append(press.under, msgs.t(
            "coordinating_by", who=msgs.who(who))), told), buttons=[solved_only])
        return None
    resolved = services.ledger.resolve_difficulty(item.id, "", who=who)
    told = await notify_owners(services, task, msgs.t("resolved_notice", id=task.id,
                                                      note=resolved.text))
    await _edit(conversation, press, with_line(_append(press.under, msgs.t(
        "solved_by", who=msgs.who(who))), told))
    return None


async def _rebind_button(services: Services, conversation: Conversation, press: Press,
                         data: actions.Callback) -> str | None:
    """确认换绑 / 不同意: admins only; the previous account is told when it is replaced."""
    msgs = services.messages
    caller = press.caller
    if not services.is_admin(caller.user_id):
        return msgs.t("button_not_yours")
    request = services.ledger.repo.get_rebind(data.target)
    if request is not None and not request.pending:  # another admin decided it
        key = ("decided_rebind_confirmed" if request.status is RebindStatus.CONFIRMED
               else "decided_rebind_refused")
        return await _decided(services, conversation, press,
                              msgs.t(key, who=msgs.who(request.decided_by)))
    who = actor(services, caller)
    if data.choice == "yes":
        done = services.ledger.confirm_rebind(data.target, who=who, admin_id=caller.user_id)
        person = done.person
        await notify_chat(services, done.new_user_id, msgs.t(
            "rebind_done_new", name=person.name, unit=person.unit or "—"))
        if done.old_user_id:
            await notify_chat(services, done.old_user_id,
                              msgs.t("rebind_old_notice", name=person.name))
        await _edit(conversation, press, _append(press.under,
                                                 msgs.t("rebind_done", name=person.name)))
        return None
    refused = services.ledger.refuse_rebind(data.target, who=who, admin_id=caller.user_id)
    await notify_chat(services, refused.new_user_id,
                      msgs.t("rebind_refused_notice", name=refused.name))
    await _edit(conversation, press, _append(press.under,
                                             msgs.t("rebind_refused", name=refused.name)))
    return None


# ---- buttons of requests decided meanwhile ----

# History actions that end a 交账's wait for 核账 ("submission_withdrawn": a lower progress
# figure took it back, bot/domain/ledger.py).
_SUBMISSION_ENDS = ("verified", "rejected", "cancelled", "withdrawn", "submission_withdrawn")


def _submission_decided(services: Services, task: Task, report_id: str) -> str | None:
    """What became of the 交账 `report_id` (a line for its message) once it no longer waits
    for 核账: verified, sent back, taken back, or its task cancelled; by whom. None while it
    waits, or when no such 交账 of this task exists (the ledger then says why)."""
    msgs = services.messages
    if task.status is TaskStatus.SUBMITTED and task.submission == report_id:
        return None
    report = services.ledger.repo.get_report(report_id)
    if report is None or report.task_id != task.id:
        return None
    if report.undone_at is not None:
        return msgs.t("decided_submission_undone")
    history = list(services.ledger.repo.history(task.id))
    if task.submission == report_id:  # still this 交账: the task was closed or cancelled
        end = next((e for e in reversed(history) if e.action in ("verified", "cancelled")),
                   None)
    else:  # what followed this 交账 in the history
        start = next((i + 1 for i, e in enumerate(history)
                      if e.action == "submitted" and e.at == report.at
                      and e.who == report.who and e.note == report.text), 0)
        end = next((e for e in history[start:] if e.action in _SUBMISSION_ENDS), None)
    if end is None:
        return msgs.t("decided_task_state", id=task.id, status=msgs.status(task.status))
    who = msgs.who(end.who)
    if end.action == "verified":
        return msgs.t("verified_by", who=who)
    if end.action == "rejected":
        return msgs.t("rejected_by", who=who, reason=end.note)
    if end.action == "cancelled":
        return msgs.t("decided_cancelled", who=who)
    if end.action == "withdrawn":
        return msgs.t("decided_submission_undone")
    return msgs.t("decided_submission_withdrawn", who=who)


def _extension_decided(services: Services, task: Task, request_id: str) -> str | None:
    """What became of the 延期申请 `request_id` (a line for its message) once it no longer
    waits: approved, refused, withdrawn, replaced by a newer one, or its task closed. None
    while it waits, or when the task has no such request (the ledger then says why)."""
    msgs = services.messages
    requests = list(services.ledger.repo.extensions_of(task.id))
    request = next((e for e in requests if e.id == request_id), None)
    if request is None:
        return None
    if request.status is ExtensionStatus.WITHDRAWN and request.decided_by and not task.live:
        # Went with its task (销账 / 撤销), not withdrawn by the official.
        return msgs.t("decided_task_state", id=task.id, status=msgs.status(task.status))
    if request.status is ExtensionStatus.APPROVED:
        return msgs.t("decided_extension_approved", who=msgs.who(request.decided_by),
                      deadline=msgs.full_date(request.new_deadline))
    if request.status is ExtensionStatus.REFUSED:
        return msgs.t("decided_extension_refused", who=msgs.who(request.decided_by))
    if request.status is ExtensionStatus.WITHDRAWN:
        return msgs.t("decided_extension_withdrawn")
    if not task.live:
        return msgs.t("decided_task_state", id=task.id, status=msgs.status(task.status))
    if any((e.requested_at, e.id) > (request.requested_at, request.id) for e in requests):
        return msgs.t("decided_extension_replaced")  # a newer request replaced it
    return None


def _difficulty_decided(services: Services, task: Task, item: Difficulty) -> str | None:
    """What became of a 困难 (a line for its alert) once nobody needs to act on it: solved,
    withdrawn, closed with its task. None while it is open."""
    msgs = services.messages
    if item.withdrawn:
        return msgs.t("decided_difficulty_withdrawn")
    if item.closed_with:
        return msgs.t("decided_difficulty_closed", who=msgs.who(item.resolved_by),
                      status=msgs.status(TaskStatus(item.closed_with)))
    if item.resolved_at is not None:
        return msgs.t("solved_by", who=msgs.who(item.resolved_by))
    if not task.live:  # closed before 困难 closed with their task
        return msgs.t("decided_task_state", id=task.id, status=msgs.status(task.status))
    return None


async def _decided(services: Services, conversation: Conversation, press: Press,
                   line: str, hint: str = "") -> str:
    """A button of a request decided meanwhile: the message keeps its text and the decision
    (`line`, rendered), without buttons; the presser is told in an alert (with `hint`, what
    to do instead)."""
    if not _shows(press.under, line):
        await _edit(conversation, press, _append(press.under, line))
    alert = services.messages.raw("already_decided", decision=line)
    return f"{alert}\n{hint}" if hint else alert


def _shows(message: Said | None, line: str) -> bool:
    """Whether the message already says `line` (a second press of a stale button)."""
    return message is not None and plain(line) in message.text


# ---- buttons that read a message again ----


def _original(press: Press) -> Said | None:
    """The message a question under the pressed button replies to (a report, a command), if
    the presser wrote it: only they may answer for it."""
    original = press.under.reply_to if press.under is not None else None
    if original is None or original.author_id != press.caller.user_id:
        return None
    return original


async def _date_button(services: Services, conversation: Conversation, press: Press,
                       data: actions.Callback) -> str | None:
    """确认 / 重新填写 under a question about an unusual date: only the one who wrote the
    message may answer; 确认 reads that message again and goes on as if it were usual."""
    msgs = services.messages
    caller = press.caller
    original = _original(press)
    if original is None:
        return msgs.t("button_not_yours")
    if data.choice == "no":
        await _edit(conversation, press, msgs.t("date_retype"))
        return None
    kind = data.target
    if kind in ("add", "ext"):
        if not services.is_admin(caller.user_id):
            return msgs.t("button_not_yours")
        await _edit(conversation, press, msgs.t("date_confirmed"))
        rest = original.text.split(maxsplit=1)
        if kind == "add":
            new = parse_add_line(rest[1] if len(rest) > 1 else "", services)
            created = services.ledger.add_task(new, who=actor(services, caller))
            await conversation.say(created_reply(services, created))
            return None
        args = rest[1].split(maxsplit=1) if len(rest) > 1 else []
        task_id = normalize_task_id(args[0]) if args else None
        new_deadline = parse_deadline(args[1], today=services.clock.today()) \
            if len(args) > 1 else None
        if task_id is None or new_deadline is None:
            return msgs.t("extend_usage")
        await extend_task(services, conversation, caller, task_id, new_deadline)
        return None
    task = services.ledger.task(data.ref)
    if not may_report(services, caller, task):
        return msgs.t("button_not_yours")
    await _edit(conversation, press, msgs.t("date_confirmed"))
    await apply_report(services, conversation, caller, task, part_said(original, data.span),
                       date_confirmed=True, intent="extend" if kind == "askx" else None,
                       span=data.span)
    return None


async def _completion_button(services: Services, conversation: Conversation, press: Press,
                             data: actions.Callback) -> str | None:
    """确认交账 / 只是进展 under 确认交账？: only the one who wrote the message may answer; the
    message is read again and recorded as 交账 or as progress."""
    msgs = services.messages
    caller = press.caller
    original = _original(press)
    if original is None:
        return msgs.t("button_not_yours")
    task = services.ledger.task(data.target)
    if not may_report(services, caller, task):
        return msgs.t("button_not_yours")
    if services.ledger.repo.report_from(part_source(original, data.span)) is not None:
        await _edit(conversation, press, msgs.t("already_recorded_short"))
        return None
    if task.status is not TaskStatus.OPEN:
        await _edit(conversation, press, msgs.t("confirm_done_stale", id=task.id,
                                                status=msgs.status(task.status)))
        return None
    await _edit(conversation, press,
                msgs.t("confirm_done_yes" if data.choice == "yes" else "confirm_done_no"))
    await apply_report(services, conversation, caller, task, part_said(original, data.span),
                       completion=data.choice, span=data.span)
    return None


# ---- answering in the chat ----


async def _prompt(conversation: Conversation, press: Press, text: str) -> None:
    """Ask for the text a button needs; the answer comes back as a reply to this prompt.

    In a group the prompt mentions whoever pressed the button: on Telegram a selective
    ForceReply opens the reply box only for users mentioned in it (or the author of the
    message it answers, here the bot itself), so without the mention nobody would get one."""
    in_group = press.under is not None and not press.under.private
    await conversation.say(Reply(text, ask=True, mention=press.caller if in_group else None))


async def _edit(conversation: Conversation, press: Press, text: str, *,
                buttons: Buttons | None = None) -> None:
    """Replace the pressed message's text and drop its buttons, or put `buttons` instead (a
    second press is harmless; a message the channel no longer shows is left alone)."""
    under = press.under
    if under is None:
        log.info("the pressed message is not available; not edited")
        return
    if not await conversation.edit(Posted(under.chat_id, under.message_id),
                                   Reply(text, buttons=buttons or ())):
        log.info("could not edit message %s", under.message_id)


def _append(message: Said | None, line: str) -> str:
    """The pressed message's text (escaped: it is plain text as the channel gives it) with
    a line added."""
    original = esc(message.text) if message is not None and message.text else ""
    return f"{original}\n{line}" if original else line


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)
