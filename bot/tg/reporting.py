"""Officials answer in chat; admins verify and close (交账 → 核账 → 销账).

Replies to the bot's task messages, plain messages, photos and documents (佐证材料), the
inline buttons, and the admin commands /verify /reject /reopen /resolve /extend.
Callback data is decoded in `callbacks` and never trusted: who pressed, and whether the action
still applies to the task as it is now, are checked here every time.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from telegram import CallbackQuery, ForceReply, Message, ReplyParameters, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.domain.errors import DomainError, InvalidField, TaskNotFound
from bot.domain.ledger import ReportOutcome
from bot.domain.model import (
    Difficulty,
    Evidence,
    ExtensionStatus,
    RebindStatus,
    Task,
    TaskStatus,
)
from bot.domain.ports import Buttons, DeliveryFailed, PersistenceError, Unreachable
from bot.domain.replies import Reading, ReplyKind, is_acknowledgement, read_reply
from bot.domain.text import normalize, normalize_task_id, parse_deadline
from bot.tg import callbacks
from bot.tg.alerts import notify_admins, notify_chat, notify_person
from bot.tg.context import LuoshiContext, Services
from bot.tg.handlers import (
    actor,
    admin_only,
    alert_store_failure,
    ask_date,
    guarded,
    parse_add_line,
    reply,
)
from bot.tg.html_split import clip
from bot.tg.notifier import keyboard

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[A-Za-z0-9-]{2,}")
# The first line of a ForceReply prompt says what the answer is for.
_PROMPT_INTENTS = (("📈", "progress"), ("⚠️", "difficulty"), ("⏳", "extend"), ("✍️", "reject"))


# ---- reading the context of a message ----


def task_mentioned(services: Services, text: str) -> Task | None:
    """The first existing task whose 编号 appears in a bot message's text."""
    for token in _TOKEN.findall(text[:400]):
        task_id = normalize_task_id(token)
        if task_id:
            task = services.ledger.repo.get_task(task_id)
            if task is not None:
                return task
    return None


def prompt_intent(text: str) -> str | None:
    first = text.lstrip()[:3]
    for emoji, intent in _PROMPT_INTENTS:
        if first.startswith(emoji):
            return intent
    return None


def evidence_of(message: Message) -> tuple[Evidence, ...]:
    """Photos and documents are kept as 佐证材料 (the largest photo size)."""
    if message.photo:
        return (Evidence("photo", message.photo[-1].file_id),)
    if message.document:
        return (Evidence("document", message.document.file_id,
                         message.document.file_name or ""),)
    return ()


def source_of(message: Message) -> str:
    return f"{message.chat_id}:{message.message_id}"


def source_of_button(query: CallbackQuery) -> str:
    return f"callback:{query.id}"


async def reanswer(app: Any, update: Update) -> None:
    """A report applied just before a crash, never answered: answer it now (the intake calls
    this at start-up instead of handling the update again). Other updates' answers cannot be
    rebuilt without applying them again; they stay unanswered (logged)."""
    from bot.tg.context import SERVICES_KEY

    services: Services = app.bot_data[SERVICES_KEY]
    if update.callback_query is not None:
        source = source_of_button(update.callback_query)
    elif update.effective_message is not None:
        source = source_of(update.effective_message)
    else:
        return
    report = services.ledger.repo.report_from(source)
    if report is None:
        log.warning("update %s was applied before a crash; its answer is lost",
                    update.update_id)
        return
    task = services.ledger.task(report.task_id)
    current = (task.status is TaskStatus.SUBMITTED and task.submission == report.id
               if report.kind == ReplyKind.COMPLETION.value else task.last_report == report.id)
    if not current or report.undone_at is not None:
        # Something happened to the task since (退回, a newer report, 撤回): an answer now
        # would announce what is no longer true.
        log.info("report %s was overtaken before it could be answered", report.id)
        return
    repo = services.ledger.repo
    outcome = ReportOutcome(
        task, report,
        next((d for d in repo.difficulties_of(report.task_id) if d.id == report.difficulty_id),
             None),
        next((e for e in repo.extensions_of(report.task_id) if e.id == report.extension_id),
             None))
    context = LuoshiContext.from_update(update, app)
    message = update.effective_message
    quote = (ReplyParameters(message_id=message.message_id, chat_id=message.chat_id,
                             allow_sending_without_reply=True)
             if message is not None and update.callback_query is None else None)
    await confirm_and_tell(update, context, outcome, quote)


def may_report(services: Services, user: User, task: Task) -> bool:
    """Admins, the task's 责任人 and its 责任领导 (who covers while a 责任人 is on leave: the
    bot asks them to report) may report on a task and press its buttons."""
    if services.is_admin(user.id):
        return True
    person = services.person(user.id)
    return person is not None and services.ledger.may_report(task, person.name,
                                                             services.clock.today())


def plain_leader(services: Services, user: User, task: Task) -> bool:
    """A leader of the task who is not answering for an official on leave: their replies to
    alerts (a 困难, a 督办单) are remarks to the office, not reports ("已解决" is no 交账)."""
    person = services.person(user.id)
    return (person is not None and not services.is_admin(user.id)
            and services.ledger.reporting_role(task, person.name,
                                               services.clock.today()) == "leader")


def asks_for_report(replied: Message | None) -> bool:
    """A bot message an official answers with a report: it carries the ✅/📈/⚠️/⏳ buttons
    (a reminder, /task) or is one of their prompts."""
    if replied is None:
        return False
    if prompt_intent(replied.text or "") is not None:
        return True
    markup = replied.reply_markup
    rows = markup.inline_keyboard if markup is not None else ()
    return any((button.callback_data or "").startswith(f"{callbacks.ACT} ")
               for row in rows for button in row if isinstance(button.callback_data, str))


# ---- notifications ----


async def notify_owners(context: LuoshiContext, task: Task, text: str,
                        buttons: Buttons | None = None, *, skip_user: int | None = None) -> str:
    """Tell the task's 责任人; returns the line for the admin's answer: who was told, and who
    could not be reached (not bound, blocked the bot)."""
    services = context.services
    msgs = services.messages
    told, missed = [], []
    for name in task.owners:
        person = services.ledger.repo.get_person(name)
        if person is not None and person.user_id == skip_user and skip_user is not None:
            continue
        if await notify_person(services, name, text, buttons):
            told.append(name)
        else:
            missed.append(name)
    lines = [msgs.t("told_owners", names=msgs.names(told))] if told else []
    if missed:
        lines.append(msgs.t("owners_unreached", names=msgs.names(missed)))
    return "\n".join(lines)


def _with(text: str, line: str) -> str:
    return f"{text}\n{line}" if line else text


QUOTE_LIMIT = 1500  # characters of an official's text quoted in an alert; the rest: /task


def quoted(services: Services, text: str, task_id: str) -> str:
    """User text quoted in an alert, shortened when long (a pasted 情况说明): the alert must
    reach the admin in one message Telegram accepts; the whole text is in /task."""
    if len(text) <= QUOTE_LIMIT:
        return text
    more = services.messages.catalog["quote_more"].format(id=task_id)
    return clip(text, QUOTE_LIMIT, "") + more


# ---- applying a report ----


def reading_for(intent: str | None, text: str, today: date) -> Reading:
    """Read the text, steered by the button the official pressed (if any)."""
    reading = read_reply(text, today=today)
    if intent == "difficulty" and reading.kind is not ReplyKind.DIFFICULTY:
        return Reading(ReplyKind.DIFFICULTY, progress=reading.progress, text=reading.text,
                       detail=reading.text)
    if intent == "extend" and reading.kind is not ReplyKind.EXTENSION:
        steered = read_reply(f"申请延期至{normalize(text)}", today=today)
        if steered.kind is ReplyKind.EXTENSION and steered.new_deadline is not None:
            return Reading(ReplyKind.EXTENSION, text=reading.text,
                           new_deadline=steered.new_deadline, detail=steered.detail)
        return Reading(ReplyKind.EXTENSION, text=reading.text)
    return reading


async def apply_report(update: Update, context: LuoshiContext, task: Task, message: Message,
                       *, intent: str | None = None, user: User | None = None,
                       date_confirmed: bool = False) -> None:
    """Record what `message` says about `task` and answer with what was understood (with ↩️
    撤回); then tell whoever must act (admins on 交账 and 延期, admins and the leader on 困难)
    and complete the answer with who was actually reached."""
    services = context.services
    msgs = services.messages
    user = user or update.effective_user
    if user is None:
        return
    if not may_report(services, user, task):
        await reply(update, context, msgs.t("not_your_task", id=task.id))
        return
    text = (message.text or message.caption or "").strip()
    evidence = evidence_of(message)
    if not evidence and intent is None and is_acknowledgement(text):
        # 收到 / 好的 / 👍: not a report (the period's reminders go on). Say what one is.
        # (An answer to a button's prompt is read as that answer, whatever it says.)
        await reply(update, context, msgs.t("ack_hint"))
        return
    today = services.clock.today()
    reading = reading_for(intent, text, today) if text else Reading(ReplyKind.NOTE)
    if reading.kind is ReplyKind.EXTENSION and reading.new_deadline is not None \
            and not date_confirmed:
        question = msgs.date_confirmation(reading.new_deadline, today, what="extension")
        if question:  # 申请延期至2036年: years ahead, most likely a typo
            await ask_date(update, context, question, "askx" if intent == "extend" else "ask",
                           task.id, about=message)
            return
    try:
        outcome = services.ledger.submit_report(
            task.id, reading, who=actor(services, user), user_id=user.id,
            evidence=evidence, source=source_of(message))
    except InvalidField as err:
        if err.params.get("field") == "extension_date":
            await reply(update, context, msgs.t("invalid_extension_date"))
            return
        raise
    # The confirmation quotes the message it answers: in a busy chat it is clear which one.
    await confirm_and_tell(update, context, outcome,
                           ReplyParameters(message_id=message.message_id,
                                           chat_id=message.chat_id,
                                           allow_sending_without_reply=True))


async def confirm_and_tell(update: Update, context: LuoshiContext, outcome: ReportOutcome,
                           reply_parameters: ReplyParameters | None = None) -> None:
    """Durable now: confirm at once, with the way back (↩️ 撤回). When others must be told,
    the confirmation first says so is under way, then is edited to name who was reached —
    the official never waits for the admin group's rate limit, and never reads a promise."""
    services = context.services
    msgs = services.messages
    undo = keyboard([[(msgs.catalog["btn_undo"],
                       callbacks.encode(callbacks.UNDO, outcome.report.id))]])
    to_tell = needs_telling(outcome)
    sent = await reply(update, context,
                       msgs.recorded(outcome, msgs.t("telling") if to_tell else ""),
                       reply_markup=undo, reply_parameters=reply_parameters)
    if not to_tell:
        return
    told = await tell_about(context, outcome)
    final = msgs.recorded(outcome, told)
    sender = services.sender
    if sent is None or sender is None or not await sender.edit(sent, final, reply_markup=undo):
        await reply(update, context, told)


def needs_telling(outcome: ReportOutcome) -> bool:
    return outcome.submitted or outcome.difficulty is not None or outcome.extension is not None


async def tell_about(context: LuoshiContext, outcome: ReportOutcome) -> str:
    """Tell the admins (and on a 困难 the leader, first); returns the line that says who was
    reached, for the official's confirmation."""
    services = context.services
    msgs = services.messages
    task, report = outcome.task, outcome.report
    leader = task.leader if outcome.difficulty is not None else ""
    leader_told = False
    if leader:
        item = outcome.difficulty
        assert item is not None
        leader_told = await notify_person(services, leader, _difficulty_text(services, outcome),
                                          _difficulty_buttons(services, item.id))
    admins_told = False
    if outcome.submitted:
        text = msgs.submission(task, report, text=quoted(services, report.text, task.id))
        buttons = [[(msgs.catalog["btn_verify"],
                     callbacks.encode(callbacks.VERIFY, task.id, ref=report.id)),
                    (msgs.catalog["btn_reject"],
                     callbacks.encode(callbacks.REJECT, task.id, ref=report.id))]]
        admins_told = await notify_admins(services, text, buttons)
    if outcome.difficulty is not None:
        # 督帮一体: the leader and the admins get it at once, with 我来协调 / 已解决.
        text = _difficulty_text(services, outcome)
        if leader and not leader_told:
            text += "\n" + msgs.t("relay_to_leader", leader=leader)
        told = await notify_admins(services, text,
                                   _difficulty_buttons(services, outcome.difficulty.id))
        admins_told = admins_told or told
    if outcome.extension is not None:
        request = outcome.extension
        text = msgs.extension_request(task, request,
                                      reason=quoted(services, request.reason, task.id))
        buttons = [[(msgs.catalog["btn_approve"],
                     callbacks.encode(callbacks.EXT, task.id, "yes", request.id)),
                    (msgs.catalog["btn_refuse"],
                     callbacks.encode(callbacks.EXT, task.id, "no", request.id))]]
        told = await notify_admins(services, text, buttons)
        admins_told = admins_told or told
    return told_line(services, admins_told, leader, leader_told)


def told_line(services: Services, admins_told: bool, leader: str, leader_told: bool) -> str:
    msgs = services.messages
    if admins_told:
        if not leader:
            return msgs.t("told_admins")
        return msgs.t("told_admins_leader" if leader_told else "told_leader_relay",
                      leader=leader)
    if leader and leader_told:
        return msgs.t("told_leader_only", leader=leader)
    return msgs.t("told_nobody")


def _difficulty_text(services: Services, outcome: ReportOutcome) -> str:
    item = outcome.difficulty
    assert item is not None
    task = outcome.task
    msgs = services.messages
    return msgs.t("difficulty_alert", id=task.id, title=task.title,
                  who=msgs.who(outcome.report.who), text=quoted(services, item.text, task.id))


def _difficulty_buttons(services: Services, difficulty_id: str) -> Buttons:
    msgs = services.messages
    return [[(msgs.catalog["btn_coordinate"], callbacks.encode(callbacks.DIFF, difficulty_id,
                                                               "coord")),
             (msgs.catalog["btn_solved"], callbacks.encode(callbacks.DIFF, difficulty_id,
                                                           "solved"))]]


# ---- messages ----


@guarded
async def on_reply(update: Update, context: LuoshiContext) -> None:
    """A reply to one of the bot's messages: a reminder, a task message or a prompt."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    replied = message.reply_to_message
    services = context.services
    bot_text = (replied.text or replied.caption or "") if replied else ""
    from_bot = (replied is not None and replied.from_user is not None
                and replied.from_user.id == context.bot.id)
    task = task_mentioned(services, bot_text) if from_bot else None
    if task is None:
        await on_plain(update, context)
        return
    intent = prompt_intent(bot_text)
    if intent == "reject":
        if services.is_admin(user.id):
            await _reject(update, context, task.id, message.text or "")
        return
    if plain_leader(services, user, task) and not asks_for_report(replied):
        await reply(update, context, services.messages.t("ack_hint"))
        return
    await apply_report(update, context, task, message, intent=intent)


@guarded
async def on_plain(update: Update, context: LuoshiContext) -> None:
    """A message that is not a reply: with one open task it applies to it; with several the
    bot asks which (the question replies to the message, so nothing needs remembering)."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    services = context.services
    msgs = services.messages
    if chat.type != ChatType.PRIVATE:
        return  # in groups only replies to the bot count
    if services.person(user.id) is None:
        key = "help_admin" if services.is_admin(user.id) else "not_registered"
        await reply(update, context, msgs.t(key))
        return
    person = services.person(user.id)
    assert person is not None
    if not message.photo and not message.document and \
            is_acknowledgement(message.text or message.caption or ""):
        await reply(update, context, msgs.t("ack_hint"))
        return
    # Their own tasks, and those they cover for an official on leave.
    tasks = [t for t in services.ledger.tasks_to_report(person.name, services.clock.today())
             if t.status is TaskStatus.OPEN]
    if not tasks:
        await reply(update, context, msgs.t("no_task_to_report"))
        return
    if len(tasks) == 1:
        await apply_report(update, context, tasks[0], message)
        return
    buttons = [[(f"{t.id} {_short(t.title)}", callbacks.encode(callbacks.PICK, t.id))]
               for t in tasks[:20]]
    await reply(update, context, msgs.t("pick_task", count=len(tasks)),
                reply_markup=keyboard(buttons),
                reply_parameters=ReplyParameters(message_id=message.message_id))


def _short(title: str, limit: int = 18) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


# ---- buttons ----


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
        task = services.ledger.undo_report(data.target, user_id=user.id)
        await _edit(query, msgs.t("undone", id=task.id))
        return None
    message = query.message if isinstance(query.message, Message) else None
    if data.kind == callbacks.DIFF:
        return await _difficulty_button(context, query, message, data)
    if data.kind == callbacks.REBIND:
        return await _rebind_button(context, query, message, data)
    if data.kind == callbacks.DATE:
        return await _date_button(update, context, query, message, data)
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
            await _edit(query, _with(_append(message, msgs.t(
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
            await _edit(query, _with(_append(message, msgs.t(
                "extended", id=task.id, deadline=msgs.date(extended.deadline))), told))
        else:
            services.ledger.refuse_extension(task.id, who=actor(services, user),
                                             request_id=data.ref)
            told = await notify_owners(context, task, msgs.t(
                "extension_refused_notice", id=task.id, title=task.title,
                deadline=msgs.date(task.deadline)))
            await _edit(query, _with(_append(message, msgs.t("extension_refused", id=task.id)),
                                     told))
        return None
    if not may_report(services, user, task):
        return msgs.t("button_not_yours")
    if data.kind == callbacks.PICK:
        original = message.reply_to_message if message else None
        if original is None or original.from_user is None or original.from_user.id != user.id:
            return msgs.t("button_not_yours")
        if task.status is not TaskStatus.OPEN:
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
    solved_only = _difficulty_buttons(services, item.id)[0][1:]
    if data.choice == "coord":
        if item.coordinator:
            line = msgs.t("coordinating_by", who=msgs.who(item.coordinator))
            if not _shows(message, line):
                await _edit(query, _append(message, line), buttons=[solved_only])
            return msgs.t("already_coordinating", who=msgs.who(item.coordinator))
        services.ledger.coordinate(item.id, who=who)
        told = await notify_owners(context, task, msgs.t("coordinating_notice", id=task.id,
                                                         who=msgs.who(who)))
        await _edit(query, _with(_append(message, msgs.t("coordinating_by", who=msgs.who(who))),
                                 told), buttons=[solved_only])
        return None
    resolved = services.ledger.resolve_difficulty(item.id, "", who=who)
    told = await notify_owners(context, task, msgs.t("resolved_notice", id=task.id,
                                                     note=resolved.text))
    await _edit(query, _with(_append(message, msgs.t("solved_by", who=msgs.who(who))), told))
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
    request = next((e for e in services.ledger.repo.extensions_of(task.id)
                    if e.id == request_id), None)
    if request is None:
        return None
    if request.status is ExtensionStatus.APPROVED:
        return msgs.t("decided_extension_approved", who=msgs.who(request.decided_by),
                      deadline=msgs.full_date(request.new_deadline))
    if request.status is ExtensionStatus.REFUSED:
        return msgs.t("decided_extension_refused", who=msgs.who(request.decided_by))
    if request.status is ExtensionStatus.WITHDRAWN:
        return msgs.t("decided_extension_withdrawn")
    if not task.live:
        return msgs.t("decided_task_state", id=task.id, status=msgs.status(task.status))
    pending = services.ledger.pending_extension(task.id)
    if pending is not None and pending.id != request.id:
        return msgs.t("decided_extension_replaced")
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
        await _extend(update, context, task_id, new_deadline)
        return None
    task = services.ledger.task(data.ref)
    if not may_report(services, user, task):
        return msgs.t("button_not_yours")
    await _edit(query, msgs.t("date_confirmed"))
    await apply_report(update, context, task, original, user=user, date_confirmed=True,
                       intent="extend" if kind == "askx" else None)
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
    sender = context.services.sender
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


# ---- admin commands ----


def _task_arg(context: LuoshiContext) -> str | None:
    args = context.args or []
    return normalize_task_id(args[0]) if args else None


def _rest(context: LuoshiContext) -> str:
    return " ".join((context.args or [])[1:]).strip()


@admin_only
@guarded
async def verify_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    task_id = _task_arg(context)
    if task_id is None:
        await reply(update, context, msgs.t("verify_usage"))
        return
    assert update.effective_user is not None
    task = services.ledger.verify(task_id, who=actor(services, update.effective_user),
                                  user_id=update.effective_user.id)
    told = await notify_owners(context, task, msgs.t("verified_notice", id=task.id,
                                                     title=task.title))
    await reply(update, context, _with(msgs.t("verified", id=task.id), told))


async def _reject(update: Update, context: LuoshiContext, task_id: str, reason: str) -> None:
    services = context.services
    msgs = services.messages
    assert update.effective_user is not None
    try:
        task = services.ledger.reject(task_id, reason, who=actor(services, update.effective_user))
    except InvalidField:
        await reply(update, context, f"{msgs.t('invalid_reason')}\n{msgs.t('reject_usage')}")
        return
    told = await notify_owners(context, task,
                               msgs.t("rejected_notice", id=task.id, title=task.title,
                                      reason=reason.strip()),
                               msgs.task_buttons(task.id))
    await reply(update, context, _with(msgs.t("rejected", id=task.id), told))


@admin_only
@guarded
async def reject_command(update: Update, context: LuoshiContext) -> None:
    task_id = _task_arg(context)
    if task_id is None:
        await reply(update, context, context.services.messages.t("reject_usage"))
        return
    await _reject(update, context, task_id, _rest(context))


@admin_only
@guarded
async def reopen_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    task_id = _task_arg(context)
    reason = _rest(context)
    if task_id is None or not reason:
        await reply(update, context, msgs.t("reopen_usage"))
        return
    assert update.effective_user is not None
    task = services.ledger.reopen(task_id, reason, who=actor(services, update.effective_user))
    told = await notify_owners(context, task, msgs.t("reopened_notice", id=task.id,
                                                     title=task.title, reason=reason),
                               msgs.task_buttons(task.id))
    await reply(update, context, _with(msgs.t("reopened", id=task.id), told))


@admin_only
@guarded
async def resolve_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    task_id = _task_arg(context)
    if task_id is None:
        await reply(update, context, msgs.t("resolve_usage"))
        return
    note = _rest(context)
    assert update.effective_user is not None
    services.ledger.resolve_difficulties(task_id, note, who=actor(services, update.effective_user))
    task = services.ledger.task(task_id)
    told = await notify_owners(context, task, msgs.t("resolved_notice", id=task.id,
                                                     note=note or "—"))
    await reply(update, context, _with(msgs.t("resolved", id=task_id), told))


@admin_only
@guarded
async def extend_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    task_id = _task_arg(context)
    if task_id is None:
        await reply(update, context, msgs.t("extend_usage"))
        return
    rest = _rest(context)
    new_deadline: date | None = None
    if rest:
        try:
            new_deadline = parse_deadline(rest, today=services.clock.today())
        except InvalidField:
            new_deadline = None
        if new_deadline is None:
            await reply(update, context, msgs.t("extend_usage"))
            return
    question = msgs.date_confirmation(new_deadline, services.clock.today(), what="extension") \
        if new_deadline is not None else None
    if question:
        await ask_date(update, context, question, "ext")
        return
    await _extend(update, context, task_id, new_deadline)


async def _extend(update: Update, context: LuoshiContext, task_id: str,
                  new_deadline: date | None) -> None:
    services = context.services
    msgs = services.messages
    assert update.effective_user is not None
    task = services.ledger.extend(task_id, new_deadline, who=actor(services, update.effective_user))
    told = await notify_owners(context, task, msgs.t("extended_notice", id=task.id,
                                                     title=task.title,
                                                     deadline=msgs.date(task.deadline)))
    await reply(update, context, _with(msgs.t("extended", id=task.id,
                                              deadline=msgs.date(task.deadline)), told))


def task_buttons_for(services: Services, user_id: int, task: Task) -> Sequence[Any] | None:
    """The answer buttons belong under a task message only for its 责任人, while it is open."""
    person = services.person(user_id)
    if person is None or person.name not in task.owners or task.status is not TaskStatus.OPEN:
        return None
    return services.messages.task_buttons(task.id)
