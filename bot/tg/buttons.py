"""Inline buttons under the bot's messages: ✅/📈/⚠️/⏳ under reminders, ↩️ 撤回, 核账/退回,
批准/不批准, 我来协调/已解决, 确认换绑/不同意, a date's 确认/重新填写, 确认交账/只是进展, and the
task picker.

Callback data is decoded in `callbacks` and never trusted: who pressed, and whether the action
still applies to the task as it is now, are checked here every time. A button of a request
decided meanwhile says so and loses its buttons.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import CallbackQuery, ForceReply, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.alerts import notify_chat
from bot.app import actions as callbacks
from bot.domain.errors import DomainError, TaskNotFound
from bot.domain.model import Difficulty, ExtensionStatus, RebindStatus, Task, TaskStatus
from bot.domain.ports import Buttons, DeliveryFailed, PersistenceError, Unreachable
from bot.domain.replies import Reading, ReplyKind
from bot.domain.text import normalize_task_id, parse_deadline
from bot.tg.context import LuoshiContext, Services, telegram_sender
from bot.tg.handlers import actor, alert_store_failure, parse_add_line, reply
from bot.tg.notifier import keyboard
from bot.tg.reporting import (
    apply_report,
    confirm_and_tell,
    difficulty_buttons,
    extend_task,
    may_report,
    notify_owners,
    source_of,
    source_of_button,
    with_line,
)

log = logging.getLogger(__name__)


async def on_button(update: Update, context: LuoshiContext) -> None:
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    services = context.services
    msgs = services.messages
    data = callbacks.decode(query.data)
    if data is None:
        await query.answer(msgs.t("button_unknown"), show_alert=True)
        return
    try:
        notice = await _handle_button(update, context, query, data)
    except DomainError as err:
        notice = msgs.error(err)
    except PersistenceError:
        log.error("a button's change could not be made durable")
        notice = msgs.t("save_failed")
        await alert_store_failure(context)
    try:
        if notice:
            await query.answer(_plain(notice), show_alert=True)
        else:
            await query.answer()
    except TelegramError as err:  # a query answered late or twice: nothing to do
        log.info("callback answer failed: %s", err)


def _plain(text: str) -> str:
    """Alerts are plain text, at most 200 characters."""
    return re.sub(r"<[^>]+>", "", text)[:200]


async def _handle_button(update: Update, context: LuoshiContext, query: CallbackQuery,
                         data: callbacks.Callback) -> str | None:
    """Returns an alert text for the presser, or None when the chat shows the result."""
    services = context.services
    msgs = services.messages
    user = query.from_user
    if data.kind == callbacks.UNDO:
        undone = services.ledger.undo_report(data.target, user_id=user.id)
        await _edit(query, msgs.t("undone", id=undone.id))
        return None
    message = query.message if isinstance(query.message, Message) else None
    if data.kind == callbacks.DIFF:
        return await _difficulty_button(context, query, message, data)
    if data.kind == callbacks.REBIND:
        return await _rebind_button(context, query, message, data)
    if data.kind == callbacks.DATE:
        return await _date_button(update, context, query, message, data)
    if data.kind == callbacks.SURE:
        return await _completion_button(update, context, query, message, data)
    task = services.ledger.repo.get_task(data.target)
    if task is None:
        raise TaskNotFound(task_id=data.target)
    if data.kind in (callbacks.VERIFY, callbacks.REJECT, callbacks.EXT):
        if not services.is_admin(user.id):
            return msgs.t("button_not_yours")
        # Decided meanwhile (another admin's copy, a command, the official's 撤回): say how,
        # and the message keeps that line instead of its buttons.
        decided = (_extension_decided(services, task, data.ref) if data.kind == callbacks.EXT
                   else _submission_decided(services, task, data.ref))
        if decided is not None:
            newer = data.kind != callbacks.EXT and task.status is TaskStatus.SUBMITTED
            return await _decided(services, query, message, decided,
                                  msgs.t("newer_submission", id=task.id) if newer else "")
        if data.kind == callbacks.VERIFY:
            closed = services.ledger.verify(task.id, who=actor(services, user),
                                            submission=data.ref, user_id=user.id)
            told = await notify_owners(context, closed, msgs.t(
                "verified_notice", id=closed.id, title=closed.title))
            await _edit(query, with_line(_append(message, msgs.t(
                "verified_by", who=msgs.who(actor(services, user)))), told))
            return None
        if data.kind == callbacks.REJECT:
            if task.status is not TaskStatus.SUBMITTED:
                return msgs.t("action_expired", id=task.id, status=msgs.status(task.status))
            if task.submission != data.ref:
                return msgs.t("superseded_submission", id=task.id)
            await _prompt(context, query, msgs.t("prompt_reject", id=task.id))
            return None
        if data.choice == "yes":
            extended = services.ledger.extend(task.id, None, who=actor(services, user),
                                              request_id=data.ref)
            told = await notify_owners(context, extended, msgs.t(
                "extended_notice", id=task.id, title=task.title,
                deadline=msgs.date(extended.deadline)))
            await _edit(query, with_line(_append(message, msgs.t(
                "extended", id=task.id, deadline=msgs.date(extended.deadline))), told))
        else:
            services.ledger.refuse_extension(task.id, who=actor(services, user),
                                             request_id=data.ref)
            told = await notify_owners(context, task, msgs.t(
                "extension_refused_notice", id=task.id, title=task.title,
                deadline=msgs.date(task.deadline)))
            await _edit(query, with_line(_append(message, msgs.t("extension_refused", id=task.id)),
                                     told))
        return None
    if not may_report(services, user, task):
        return msgs.t("button_not_yours")
    if data.kind == callbacks.PICK:
        original = message.reply_to_message if message else None
        if original is None or original.from_user is None or original.from_user.id != user.id:
            return msgs.t("button_not_yours")
        if task.status not in (TaskStatus.OPEN, TaskStatus.SUBMITTED):
            return msgs.t("action_expired", id=task.id, status=msgs.status(task.status))
        await _edit(query, msgs.t("picked", id=task.id))
        await apply_report(update, context, task, original, user=user)
        return None
    # ACT: the four buttons under a reminder or task message.
    if task.status is not TaskStatus.OPEN:
        if data.choice == "done" and task.status is TaskStatus.SUBMITTED:
            return msgs.t("already_submitted", id=task.id)
        return msgs.t("action_expired", id=task.id, status=msgs.status(task.status))
    if data.choice == "done":
        outcome = services.ledger.submit_report(
            task.id, Reading(ReplyKind.COMPLETION, progress=100,
                             text=_plain(msgs.catalog["btn_done"]).lstrip("✅ ")),
            who=actor(services, user), user_id=user.id, source=source_of_button(query))
        await confirm_and_tell(update, context, outcome)
        return None
    await _prompt(context, query, msgs.t(f"prompt_{data.choice}", id=task.id))
    return None


async def _difficulty_button(context: LuoshiContext, query: CallbackQuery,
                             message: Message | None, data: callbacks.Callback) -> str | None:
    """我来协调 / 已解决: for admins and the task's 责任领导 only. After 我来协调 the message
    keeps 已解决 (the coordinator marks it solved there). A 困难 solved, withdrawn or closed
    with its task meanwhile, or already taken on by someone else: the presser is told."""
    services = context.services
    msgs = services.messages
    user = query.from_user
    item = services.ledger.repo.get_difficulty(data.target)
    if item is None:
        return msgs.t("button_unknown")
    task = services.ledger.task(item.task_id)
    person = services.person(user.id)
    is_leader = person is not None and bool(task.leader) and person.name == task.leader
    if not services.is_admin(user.id) and not is_leader:
        return msgs.t("button_not_yours")
    decided = _difficulty_decided(services, task, item)
    if decided is not None:
        return await _decided(services, query, message, decided)
    who = actor(services, user)
    solved_only = difficulty_buttons(services, item.id)[0][1:]
    if data.choice == "coord":
        if item.coordinator:
            line = msgs.t("coordinating_by", who=msgs.who(item.coordinator))
            if not _shows(message, line):
                await _edit(query, _append(message, line), buttons=[solved_only])
            return msgs.t("already_coordinating", who=msgs.who(item.coordinator))
        services.ledger.coordinate(item.id, who=who)
        told = await notify_owners(context, task, msgs.t("coordinating_notice", id=task.id,
                                                         who=msgs.who(who)))
        await _edit(query, with_line(_append(message, msgs.t("coordinating_by", who=msgs.who(who))),
                                 told), buttons=[solved_only])
        return None
    resolved = services.ledger.resolve_difficulty(item.id, "", who=who)
    told = await notify_owners(context, task, msgs.t("resolved_notice", id=task.id,
                                                     note=resolved.text))
    await _edit(query, with_line(_append(message, msgs.t("solved_by", who=msgs.who(who))), told))
    return None


async def _rebind_button(context: LuoshiContext, query: CallbackQuery,
                         message: Message | None, data: callbacks.Callback) -> str | None:
    """确认换绑 / 不同意: admins only; the previous account is told when it is replaced."""
    services = context.services
    msgs = services.messages
    user = query.from_user
    if not services.is_admin(user.id):
        return msgs.t("button_not_yours")
    request = services.ledger.repo.get_rebind(data.target)
    if request is not None and not request.pending:  # another admin decided it
        key = ("decided_rebind_confirmed" if request.status is RebindStatus.CONFIRMED
               else "decided_rebind_refused")
        return await _decided(services, query, message,
                              msgs.t(key, who=msgs.who(request.decided_by)))
    who = actor(services, user)
    if data.choice == "yes":
        done = services.ledger.confirm_rebind(data.target, who=who, admin_id=user.id)
        person = done.person
        await notify_chat(services, done.new_user_id, msgs.t(
            "rebind_done_new", name=person.name, unit=person.unit or "—"))
        if done.old_user_id:
            await notify_chat(services, done.old_user_id,
                              msgs.t("rebind_old_notice", name=person.name))
        await _edit(query, _append(message, msgs.t("rebind_done", name=person.name)))
        return None
    refused = services.ledger.refuse_rebind(data.target, who=who, admin_id=user.id)
    await notify_chat(services, refused.new_user_id,
                      msgs.t("rebind_refused_notice", name=refused.name))
    await _edit(query, _append(message, msgs.t("rebind_refused", name=refused.name)))
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


async def _decided(services: Services, query: CallbackQuery, message: Message | None,
                   line: str, hint: str = "") -> str:
    """A button of a request decided meanwhile: the message keeps its text and the decision
    (`line`, rendered), without buttons; the presser is told in an alert (with `hint`, what
    to do instead)."""
    if not _shows(message, line):
        await _edit(query, _append(message, line))
    alert = services.messages.raw("already_decided", decision=line)
    return f"{alert}\n{hint}" if hint else alert


def _shows(message: Message | None, line: str) -> bool:
    """Whether the message already says `line` (a second press of a stale button)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", line))
    return message is not None and plain in (message.text or "")


async def _date_button(update: Update, context: LuoshiContext, query: CallbackQuery,
                       message: Message | None, data: callbacks.Callback) -> str | None:
    """确认 / 重新填写 under a question about an unusual date: only the one who wrote the
    message may answer; 确认 reads that message again and goes on as if it were usual."""
    services = context.services
    msgs = services.messages
    user = query.from_user
    original = message.reply_to_message if message else None
    if original is None or original.from_user is None or original.from_user.id != user.id:
        return msgs.t("button_not_yours")
    if data.choice == "no":
        await _edit(query, msgs.t("date_retype"))
        return None
    kind = data.target
    if kind in ("add", "ext"):
        if not services.is_admin(user.id):
            return msgs.t("button_not_yours")
        await _edit(query, msgs.t("date_confirmed"))
        rest = (original.text or "").split(maxsplit=1)
        if kind == "add":
            new = parse_add_line(rest[1] if len(rest) > 1 else "", services)
            task = services.ledger.add_task(new, who=actor(services, user))
            await reply(update, context, msgs.task_created(task))
            return None
        args = rest[1].split(maxsplit=1) if len(rest) > 1 else []
        task_id = normalize_task_id(args[0]) if args else None
        new_deadline = parse_deadline(args[1], today=services.clock.today()) \
            if len(args) > 1 else None
        if task_id is None or new_deadline is None:
            return msgs.t("extend_usage")
        await extend_task(update, context, task_id, new_deadline)
        return None
    task = services.ledger.task(data.ref)
    if not may_report(services, user, task):
        return msgs.t("button_not_yours")
    await _edit(query, msgs.t("date_confirmed"))
    await apply_report(update, context, task, original, user=user, date_confirmed=True,
                       intent="extend" if kind == "askx" else None)
    return None


async def _completion_button(update: Update, context: LuoshiContext, query: CallbackQuery,
                             message: Message | None, data: callbacks.Callback) -> str | None:
    """确认交账 / 只是进展 under 确认交账？: only the one who wrote the message may answer; the
    message is read again and recorded as 交账 or as progress."""
    services = context.services
    msgs = services.messages
    user = query.from_user
    original = message.reply_to_message if message else None
    if original is None or original.from_user is None or original.from_user.id != user.id:
        return msgs.t("button_not_yours")
    task = services.ledger.task(data.target)
    if not may_report(services, user, task):
        return msgs.t("button_not_yours")
    if services.ledger.repo.report_from(source_of(original)) is not None:
        await _edit(query, msgs.t("already_recorded_short"))
        return None
    if task.status is not TaskStatus.OPEN:
        await _edit(query, msgs.t("confirm_done_stale", id=task.id,
                                  status=msgs.status(task.status)))
        return None
    await _edit(query, msgs.t("confirm_done_yes" if data.choice == "yes" else "confirm_done_no"))
    await apply_report(update, context, task, original, user=user, completion=data.choice)
    return None


async def _prompt(context: LuoshiContext, query: CallbackQuery, text: str) -> None:
    """Ask for the text a button needs; the answer comes back as a reply to this prompt.

    In a group the prompt mentions whoever pressed the button: a selective ForceReply opens
    the reply box only for users mentioned in it (or the author of the message it answers,
    here the bot itself), so without the mention nobody would get one."""
    from bot.messages import esc

    chat = query.message.chat if query.message else None
    chat_id = chat.id if chat is not None else query.from_user.id
    if chat is not None and chat.type != ChatType.PRIVATE:
        user = query.from_user
        # At the end: the prompt's leading emoji tells its answer apart (prompt_intent).
        text = f'{text} <a href="tg://user?id={user.id}">{esc(user.full_name)}</a>'
    sender = telegram_sender(context.services)
    assert sender is not None
    try:
        await sender.send_message(chat_id, text, reply_markup=ForceReply(selective=True))
    except (Unreachable, DeliveryFailed) as err:
        log.warning("could not ask in chat %s: %s", chat_id, err)


async def _edit(query: CallbackQuery, text: str, *, buttons: Buttons | None = None) -> None:
    """Replace the pressed message's text and drop its buttons, or put `buttons` instead (a
    second press is harmless)."""
    try:
        await query.edit_message_text(text, reply_markup=keyboard(buttons) if buttons else None)
    except TelegramError as err:
        log.info("could not edit the message: %s", err)


def _append(message: Message | None, line: str) -> str:
    from bot.messages import esc

    original = esc(message.text) if message and message.text else ""
    return f"{original}\n{line}" if original else line


