"""Officials answer in chat; admins verify and close (交账 → 核账 → 销账).

Replies to the bot's task messages, plain messages, photos and documents (佐证材料), and the
admin commands /verify /reject /reopen /resolve /extend; the inline buttons are in `buttons`.
Who may report on a task is checked here every time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from telegram import CallbackQuery, ForceReply, Message, ReplyParameters, Update, User
from telegram.constants import ChatType

from bot.alerts import notify_admins, notify_admins_at, notify_person
from bot.app import actions as callbacks
from bot.domain.errors import InvalidField
from bot.domain.ledger import ReportOutcome
from bot.domain.model import (
    Evidence,
    Task,
    TaskStatus,
)
from bot.domain.ports import Buttons, DeliveryFailed, Unreachable
from bot.domain.replies import Reading, ReplyKind, is_acknowledgement, read_reply
from bot.domain.text import normalize, normalize_task_id, parse_deadline
from bot.tg.context import LuoshiContext, Services, services_of, telegram_sender
from bot.tg.handlers import (
    actor,
    admin_only,
    ask_date,
    guarded,
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
    services = services_of(app)
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


def with_line(text: str, line: str) -> str:
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


def reading_for(intent: str | None, text: str, today: date,
                deadline: date | None = None) -> Reading:
    """Read the text, steered by the button the official pressed (if any)."""
    reading = read_reply(text, today=today, deadline=deadline)
    if intent == "difficulty" and reading.difficulty is None:
        return replace(reading, kind=ReplyKind.DIFFICULTY if not reading.done else reading.kind,
                       difficulty=reading.text, detail=reading.text)
    if intent == "extend" and (not reading.extension or reading.new_deadline is None):
        steered = read_reply(f"申请延期至{normalize(text)}", today=today, deadline=deadline)
        if steered.extension and steered.new_deadline is not None:
            return Reading(ReplyKind.EXTENSION, text=reading.text,
                           new_deadline=steered.new_deadline, detail=steered.reason)
        return Reading(ReplyKind.EXTENSION, text=reading.text)
    return reading


async def apply_report(update: Update, context: LuoshiContext, task: Task, message: Message,
                       *, intent: str | None = None, user: User | None = None,
                       date_confirmed: bool = False, completion: str | None = None) -> None:
    """Record what `message` says about `task`, every facet of it in one change, and answer
    with what was understood (with ↩️ 撤回); then tell whoever must act (admins on 交账 and
    延期, admins and the leader on 困难) and complete the answer with who was reached.

    Before recording, the bot asks instead of guessing: 确认交账？ when a completion might be
    of a part only (`completion` carries the answer: "yes" or "no"), a date for an extension
    that gives none, a progress figure again when the one given is impossible (120%).
    """
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
    reading = reading_for(intent, text, today, task.deadline) if text \
        else Reading(ReplyKind.NOTE)
    if completion == "yes":
        reading = reading.as_completion()
    elif completion == "no":
        reading = reading.as_progress()
    elif reading.confirm and intent is None:
        await _ask_completion(update, context, task, message, text)
        return
    elif reading.confirm:  # the answer to a 📈/⚠️/⏳ prompt: what the button said it is
        reading = reading.as_progress()
    quote = ReplyParameters(message_id=message.message_id, chat_id=message.chat_id,
                            allow_sending_without_reply=True)
    follow_up = ""  # a question to ask after recording the rest
    if reading.odd_progress is not None and reading.progress is None and not reading.done:
        follow_up = msgs.t("odd_progress", id=task.id, value=reading.odd_progress)
    if reading.extension and reading.new_deadline is None and intent != "extend":
        suggested = reading.suggested_deadline or today
        follow_up = msgs.t("ask_extension_date", id=task.id,
                           suggested=msgs.full_date(suggested))
        reading = reading.without_extension()
    if follow_up and not _worth_recording(reading, evidence):
        await _prompt_in(context, message.chat_id, follow_up, quote)
        return
    if reading.extension and reading.new_deadline is not None and not date_confirmed:
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
    await confirm_and_tell(update, context, outcome, quote)
    if follow_up:
        await _prompt_in(context, message.chat_id, follow_up, quote)


def _worth_recording(reading: Reading, evidence: tuple[Evidence, ...]) -> bool:
    """Whether what is left of a reply, once a question is split off, says anything: a
    progress figure, a difficulty, a completion or 佐证材料 (a bare 申请延期 does not)."""
    return bool(evidence) or reading.done or reading.progress is not None \
        or reading.difficulty is not None


async def _ask_completion(update: Update, context: LuoshiContext, task: Task,
                          message: Message, text: str) -> None:
    """确认交账？ with 确认交账 / 只是进展. The question replies to the official's message; the
    buttons read that message again (nothing kept in memory)."""
    msgs = context.services.messages
    buttons = [[(msgs.catalog["btn_confirm_done"], callbacks.encode(callbacks.SURE, task.id,
                                                                    "yes")),
                (msgs.catalog["btn_just_progress"], callbacks.encode(callbacks.SURE, task.id,
                                                                     "no"))]]
    await reply(update, context,
                msgs.t("confirm_done_q", id=task.id, text=clip(text, 200, "…")),
                reply_markup=keyboard(buttons),
                reply_parameters=ReplyParameters(message_id=message.message_id,
                                                 chat_id=message.chat_id,
                                                 allow_sending_without_reply=True))


async def _prompt_in(context: LuoshiContext, chat_id: int, text: str,
                     quote: ReplyParameters | None = None) -> None:
    """A question whose answer comes back as a reply to it (ForceReply): its first emoji
    (📈, ⏳) says what the answer is for."""
    sender = telegram_sender(context.services)
    assert sender is not None
    try:
        await sender.send_message(chat_id, text, reply_markup=ForceReply(selective=True),
                                  reply_parameters=quote)
    except (Unreachable, DeliveryFailed) as err:
        log.warning("could not ask in chat %s: %s", chat_id, err)


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
    sender = telegram_sender(services)
    if sent is None or sender is None or not await sender.edit(sent, final, reply_markup=undo):
        await reply(update, context, told)


def needs_telling(outcome: ReportOutcome) -> bool:
    return (outcome.submitted or outcome.difficulty is not None
            or outcome.extension is not None or outcome.withdrew_submission)


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
                                          difficulty_buttons(services, item.id))
    admins_told = False
    if outcome.submitted:
        text = msgs.submission(task, report, text=quoted(services, report.text, task.id))
        buttons = [[(msgs.catalog["btn_verify"],
                     callbacks.encode(callbacks.VERIFY, task.id, ref=report.id)),
                    (msgs.catalog["btn_reject"],
                     callbacks.encode(callbacks.REJECT, task.id, ref=report.id))]]
        posts = await notify_admins_at(services, text, buttons)
        admins_told = bool(posts)
        services.ledger.record_posts(task.id, report.id, posts)
    if outcome.withdrew_submission:
        admins_told = await _tell_withdrawal(context, outcome) or admins_told
    if outcome.difficulty is not None:
        # 督帮一体: the leader and the admins get it at once, with 我来协调 / 已解决.
        text = _difficulty_text(services, outcome)
        if leader and not leader_told:
            text += "\n" + msgs.t("relay_to_leader", leader=leader)
        told = await notify_admins(services, text,
                                   difficulty_buttons(services, outcome.difficulty.id))
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


async def _tell_withdrawal(context: LuoshiContext, outcome: ReportOutcome) -> bool:
    """完成了, then 进度45%: the 交账 is taken back. Its 核账 message loses its buttons and
    says so; the admins get a short alert too (an edit of an old message goes unnoticed)."""
    services = context.services
    msgs = services.messages
    task, report = outcome.task, outcome.report
    withdrawn = outcome.withdrawn_submission
    note = msgs.t("submission_withdrawn_note", who=msgs.who(report.who), progress=report.progress)
    original = services.ledger.repo.get_report(withdrawn) if withdrawn else None
    sender = telegram_sender(services)
    if original is not None and sender is not None:
        text = msgs.submission(task, original, text=quoted(services, original.text, task.id))
        for chat_id, message_id in services.ledger.posts(task.id, withdrawn):
            await sender.edit_at(chat_id, message_id, f"{text}\n{note}")
    return await notify_admins(services, msgs.t(
        "submission_withdrawn_alert", id=task.id, title=task.title, who=msgs.who(report.who),
        progress=report.progress))


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


def difficulty_buttons(services: Services, difficulty_id: str) -> Buttons:
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
    # Their own tasks, and those they cover for an official on leave; a task waiting for 核账
    # too (进度45% after 已完成 takes the 交账 back).
    tasks = [t for t in services.ledger.tasks_to_report(person.name, services.clock.today())
             if t.status in (TaskStatus.OPEN, TaskStatus.SUBMITTED)]
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
    await reply(update, context, with_line(msgs.t("verified", id=task.id), told))


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
    await reply(update, context, with_line(msgs.t("rejected", id=task.id), told))


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
    await reply(update, context, with_line(msgs.t("reopened", id=task.id), told))


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
    await reply(update, context, with_line(msgs.t("resolved", id=task_id), told))


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
    await extend_task(update, context, task_id, new_deadline)


async def extend_task(update: Update, context: LuoshiContext, task_id: str,
                  new_deadline: date | None) -> None:
    services = context.services
    msgs = services.messages
    assert update.effective_user is not None
    task = services.ledger.extend(task_id, new_deadline, who=actor(services, update.effective_user))
    told = await notify_owners(context, task, msgs.t("extended_notice", id=task.id,
                                                     title=task.title,
                                                     deadline=msgs.date(task.deadline)))
    await reply(update, context, with_line(msgs.t("extended", id=task.id,
                                              deadline=msgs.date(task.deadline)), told))


def task_buttons_for(services: Services, user_id: int, task: Task) -> Sequence[Any] | None:
    """The answer buttons belong under a task message only for its 责任人, while it is open."""
    person = services.person(user_id)
    if person is None or person.name not in task.owners or task.status is not TaskStatus.OPEN:
        return None
    return services.messages.task_buttons(task.id)
