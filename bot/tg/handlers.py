"""Telegram handlers: parse the update, call the ledger, render the answer. Nothing else."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import Message, ReplyParameters, Update, User
from telegram.constants import ChatType
from telegram.ext import ConversationHandler

from bot.alerts import notify_admins, notify_chat
from bot.app import actions as callbacks
from bot.domain.errors import DomainError, InvalidField, RebindPending
from bot.domain.ledger import NewTask
from bot.domain.model import Person, RebindRequest, Task, TaskStatus
from bot.domain.ports import DeliveryFailed, PersistenceError, Unreachable
from bot.domain.rhythm import plan
from bot.domain.text import (
    normalize,
    normalize_name,
    normalize_task_id,
    parse_deadline,
    split_names,
)
from bot.tg.context import LuoshiContext, Services, chat_watch, telegram_sender
from bot.tg.notifier import keyboard

log = logging.getLogger(__name__)

Handler = Callable[[Update, LuoshiContext], Coroutine[Any, Any, Any]]

# Guided /add dialogue states.
ADD_TITLE, ADD_UNIT, ADD_OWNERS, ADD_DEADLINE = range(4)
ADD_KEY = "add_dialogue"
CANCEL_WORDS = frozenset({"取消", "cancel", "/cancel", "退出"})
CONFIRM_WORDS = frozenset({"确认", "确定", "是", "对", "confirm", "yes"})


# ---- shared helpers ----------------------------------------------------------------------


async def reply(update: Update, context: LuoshiContext, text: str, *,
                reply_markup: Any = None, reply_parameters: Any = None) -> Message | None:
    """Answer in the chat the update came from, through the one sender (split when long).
    Returns the (last) message sent, or None when the chat could not be reached."""
    chat = update.effective_chat
    sender = telegram_sender(context.services)
    if chat is None or sender is None:
        return None
    try:
        return await sender.send_message(chat.id, text, reply_markup=reply_markup,
                                         reply_parameters=reply_parameters)
    except (Unreachable, DeliveryFailed) as err:
        log.warning("could not answer in chat %s: %s", chat.id, err)
        return None


def guarded(handler: Handler) -> Handler:
    """Turn domain and storage failures into a clear answer; nothing half-done is confirmed."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: LuoshiContext) -> Any:
        msgs = context.services.messages
        try:
            return await handler(update, context)
        except DomainError as err:
            await reply(update, context, msgs.error(err))
        except PersistenceError:
            log.error("a change could not be made durable; the user was told to resend")
            await reply(update, context, msgs.t("save_failed"))
            await alert_store_failure(context)
        return None

    return wrapper


STORE_ALERT_EVERY = 600.0  # seconds between two "disk full" alerts to the admins


async def alert_store_failure(context: LuoshiContext) -> None:
    """Tell the admins (at most every 10 minutes) that the store cannot write: usually a full
    disk. Officials were already asked to resend; nothing was half-written."""
    services = context.services
    now = time.monotonic()
    last = services.store_alert_at
    if last is not None and now - last < STORE_ALERT_EVERY:
        return
    services.store_alert_at = now
    await notify_admins(services, services.messages.t("store_failure_alert"))


def admin_only(handler: Handler) -> Handler:
    """Refuse admin commands to everyone else; strangers learn nothing about the ledger."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: LuoshiContext) -> Any:
        services = context.services
        user = update.effective_user
        if user is None or not services.is_admin(user.id):
            key = "admin_only" if services.person(user.id if user else None) else "not_registered"
            await reply(update, context, services.messages.t(key))
            return ConversationHandler.END
        return await handler(update, context)

    return wrapper


def actor(services: Services, user: User) -> str:
    """How a user appears in a task's history: their ledger name, else their Telegram name
    with its id (for audit). Users read names only: Messages.who drops the id."""
    person = services.person(user.id)
    if person is not None:
        return person.name
    return f"{user.full_name}（{user.id}）"


def message_text(update: Update) -> str:
    message = update.effective_message
    return (message.text or message.caption or "") if message else ""


def command_rest(update: Update) -> str:
    """The text after the command word (`/add a | b` → `a | b`), keeping its spaces."""
    text = message_text(update)
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def visible_tasks_for(services: Services, user_id: int) -> list[Task] | None:
    """Admins see every live task, officials their own; None for strangers."""
    if services.is_admin(user_id):
        return services.ledger.live_tasks()
    person = services.person(user_id)
    if person is None:
        return None
    return services.ledger.tasks_of_person(person.name)


# ---- groups ----------------------------------------------------------------------------------


async def chat_migrated(update: Update, context: LuoshiContext) -> None:
    """A group became a supergroup: Telegram says so in both chats; keep the new id."""
    message = update.effective_message
    watch = chat_watch(context.services)
    if message is None or watch is None:
        return
    if message.migrate_to_chat_id:
        watch.moved(message.chat_id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        watch.moved(message.migrate_from_chat_id, message.chat_id)


# ---- /start and /help ----------------------------------------------------------------------


@guarded
async def start(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    user = update.effective_user
    if user is None:
        return
    if context.args:
        try:
            bound = services.ledger.redeem_invite(context.args[0], user.id)
        except RebindPending as pending:
            # The person is bound to another account: an admin must confirm (换绑).
            await reply(update, context, msgs.error(pending))
            if pending.params.get("new"):
                await ask_admins_to_rebind(services, pending.params["request"], user)
            return
        await reply(update, context, _greeting(services, bound, bound_now=True))
        return
    person = services.person(user.id)
    if services.is_admin(user.id):
        await reply(update, context, msgs.t("help_admin"))
    elif person is not None:
        await reply(update, context, _greeting(services, person, bound_now=False))
    else:
        await reply(update, context, msgs.t("not_registered"))


def _greeting(services: Services, person: Person, *, bound_now: bool) -> str:
    msgs = services.messages
    today = services.clock.today()
    first = (msgs.t("welcome_bound", name=person.name, unit=person.unit or "—") if bound_now
             else msgs.t("welcome_back", name=person.name))
    tasks = services.ledger.tasks_of_person(person.name)
    if not tasks:
        return f"{first}\n{msgs.t('no_open_tasks')}"
    listing = msgs.task_list(msgs.t("your_open_tasks", count=len(tasks)), tasks, today)
    return f"{first}\n{listing}\n{msgs.t('help_official').splitlines()[-1]}"


@guarded
async def help_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    user_id = update.effective_user.id if update.effective_user else None
    if services.is_admin(user_id):
        key = "help_admin"
    elif services.person(user_id) is not None:
        key = "help_official"
    else:
        key = "not_registered"
    await reply(update, context, services.messages.t(key))


# ---- 建账: /add ----------------------------------------------------------------------------


def parse_add_line(text: str, services: Services) -> NewTask:
    """`任务 | 牵头单位 | 责任人 | 完成时限` (full-width ｜ too) → NewTask, or InvalidField."""
    parts = [p.strip() for p in normalize(text).split("|")]
    if len(parts) != 4:
        raise InvalidField(field="parts", value=str(len(parts)))
    title, unit, owners, deadline = parts
    new = NewTask(title=title, lead_unit=unit, owners=split_names(owners),
                  deadline=parse_deadline(deadline, today=services.clock.today()))
    return new


@admin_only
@guarded
async def add_entry(update: Update, context: LuoshiContext) -> int:
    """/add with the four fields creates at once; /add alone starts the guided dialogue."""
    services = context.services
    msgs = services.messages
    rest = command_rest(update)
    if not rest:
        context.dialogue[ADD_KEY] = {}
        await reply(update, context, msgs.t("ask_title"))
        return ADD_TITLE
    try:
        new = parse_add_line(rest, services)
        question = msgs.date_confirmation(new.deadline, services.clock.today())
        if question:
            # A deadline in the past or years ahead: a typo more often than not.
            await ask_date(update, context, question, "add")
            return ConversationHandler.END
        await _create_task(update, context, new)
    except InvalidField as err:
        if err.params["field"] == "parts":
            text = f"{msgs.t('add_parts', count=err.params['value'])}\n{msgs.t('add_usage')}"
        else:
            text = f"{msgs.error(err)}\n{msgs.t('add_usage')}"
        await reply(update, context, text)
    return ConversationHandler.END


async def _create_task(update: Update, context: LuoshiContext, new: NewTask) -> None:
    services = context.services
    assert update.effective_user is not None
    task = services.ledger.add_task(new, who=actor(services, update.effective_user))
    await reply(update, context, services.messages.task_created(task))


def _dialogue_step(field: str, next_state: int | None, prompt: str | None) -> Handler:
    """One step of the guided /add: check the answer, keep it, ask the next question."""

    @guarded
    async def step(update: Update, context: LuoshiContext) -> int:
        services = context.services
        msgs = services.messages
        text = normalize(message_text(update))
        data: dict[str, Any] = context.dialogue.setdefault(ADD_KEY, {})
        try:
            if field == "title":
                if not text or len(text) > 200:
                    raise InvalidField(field="title", value=text)
                data["title"] = text
            elif field == "lead_unit":
                if not text or len(text) > 30:
                    raise InvalidField(field="lead_unit", value=text)
                data["lead_unit"] = text
            elif field == "owners":
                owners = split_names(text)
                if not owners:
                    raise InvalidField(field="owners", value=text)
                data["owners"] = owners
            else:
                today = services.clock.today()
                if text in CONFIRM_WORDS and "unconfirmed" in data:
                    data["deadline"] = data.pop("unconfirmed")
                else:
                    deadline = parse_deadline(text, today=today)
                    question = msgs.date_confirmation(deadline, today)
                    if question:
                        data["unconfirmed"] = deadline
                        await reply(update, context, f"{question}\n{msgs.t('confirm_by_word')}")
                        return ADD_DEADLINE
                    data["deadline"] = deadline
        except InvalidField as err:
            await reply(update, context, f"{msgs.error(err)}\n{msgs.t('retry')}")
            return {"title": ADD_TITLE, "lead_unit": ADD_UNIT,
                    "owners": ADD_OWNERS}.get(field, ADD_DEADLINE)
        if next_state is not None and prompt is not None:
            await reply(update, context, msgs.t(prompt))
            return next_state
        await _create_task(update, context, NewTask(**data))
        # Only now: if saving failed, the dialogue stays at this step with its answers kept.
        context.dialogue.pop(ADD_KEY, None)
        return ConversationHandler.END

    return step


add_title = _dialogue_step("title", ADD_UNIT, "ask_unit")
add_unit = _dialogue_step("lead_unit", ADD_OWNERS, "ask_owners")
add_owners = _dialogue_step("owners", ADD_DEADLINE, "ask_deadline")
add_deadline = _dialogue_step("deadline", None, None)


async def add_abort(update: Update, context: LuoshiContext) -> int:
    """取消 ends the dialogue. `/cancel 编号` is the task command: end the dialogue, then run it."""
    context.dialogue.pop(ADD_KEY, None)
    if context.args:
        await cancel_task(update, context)
    else:
        await reply(update, context, context.services.messages.t("dialog_cancelled"))
    return ConversationHandler.END


async def add_timeout(update: Update, context: LuoshiContext) -> None:
    context.dialogue.pop(ADD_KEY, None)
    await reply(update, context, context.services.messages.t("dialog_expired"))


# ---- /tasks and /task ----------------------------------------------------------------------


@guarded
async def list_tasks(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    user = update.effective_user
    if user is None:
        return
    tasks = visible_tasks_for(services, user.id)
    if tasks is None:
        await reply(update, context, msgs.t("not_registered"))
        return
    today = services.clock.today()
    unit = " ".join(context.args or []).strip()
    if unit and services.is_admin(user.id):
        tasks = services.ledger.tasks_of_unit(unit)
        if not tasks:
            units = msgs.names(services.ledger.unit_names()) or "—"
            await reply(update, context, msgs.t("tasks_none_unit", unit=unit, units=units))
            return
        header = msgs.t("tasks_header_unit", unit=unit, count=len(tasks))
    else:
        if not tasks:
            await reply(update, context, msgs.t("tasks_none"))
            return
        header = msgs.t("tasks_header", count=len(tasks))
    lights = services.lights.all(tasks, today)
    await reply(update, context, msgs.task_list(header, tasks, today, lights=lights))


@guarded
async def show_task(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    user = update.effective_user
    if user is None:
        return
    is_admin = services.is_admin(user.id)
    person = services.person(user.id)
    if not is_admin and person is None:
        await reply(update, context, msgs.t("not_registered"))
        return
    task_id = normalize_task_id(context.args[0]) if context.args else None
    if task_id is None:
        await reply(update, context, msgs.t("task_usage"))
        return
    task = services.ledger.repo.get_task(task_id)
    today = services.clock.today()
    # Officials see the tasks they may report on (their own, and those they lead); others
    # are "not found" so nothing leaks.
    if task is None or (not is_admin and person is not None
                        and not services.ledger.may_report(task, person.name, today)):
        await reply(update, context, msgs.t("task_not_found", id=task_id))
        return
    history = services.ledger.repo.history(task.id)
    # A closed or cancelled task waits for nothing (困难 close with it; an old 延期申请 too).
    difficulties = [d.text for d in services.ledger.open_difficulties_of(task.id)] \
        if task.live else []
    pending = services.ledger.pending_extension(task.id) if task.live else None
    text = msgs.task_detail(task, history, today, light=services.lights.of(task, today),
                            difficulties=difficulties,
                            extension_to=pending.new_deadline if pending else None)
    buttons = None
    if person is not None and task.status is TaskStatus.OPEN and \
            services.ledger.may_report(task, person.name, today):
        buttons = keyboard(msgs.task_buttons(task.id))
    await reply(update, context, text, reply_markup=buttons)


# ---- people: /invite and /people --------------------------------------------------------------


@admin_only
@guarded
async def invite(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    args = context.args or []
    if not args:
        await reply(update, context, msgs.t("invite_usage"))
        return
    name, unit = normalize_name(args[0]), normalize(" ".join(args[1:]))
    assert update.effective_user is not None
    created = services.ledger.create_invite(name, unit, admin_id=update.effective_user.id)
    person = services.ledger.repo.get_person(created.name)
    link = f"https://t.me/{context.bot.username}?start={created.code}"
    await reply(update, context,
                msgs.invite_created(created, person.unit if person else unit, link))


@admin_only
@guarded
async def people(update: Update, context: LuoshiContext) -> None:
    services = context.services
    await reply(update, context,
                services.messages.people_list(list(services.ledger.repo.people())))


# ---- /cancel (撤销) and /remind (催办) -----------------------------------------------------------


@admin_only
@guarded
async def cancel_task(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    args = context.args or []
    task_id = normalize_task_id(args[0]) if args else None
    if task_id is None:
        await reply(update, context, msgs.t("cancel_usage"))
        return
    assert update.effective_user is not None
    task = services.ledger.cancel_task(task_id, who=actor(services, update.effective_user),
                                       note=" ".join(args[1:]))
    await reply(update, context, msgs.t("cancelled", id=task.id, title=task.title))


@admin_only
@guarded
async def remind(update: Update, context: LuoshiContext) -> None:
    services = context.services
    msgs = services.messages
    args = context.args or []
    task_id = normalize_task_id(args[0]) if args else None
    if task_id is None:
        await reply(update, context, msgs.t("remind_usage"))
        return
    task = services.ledger.task(task_id)
    if not task.live:
        await reply(update, context,
                    msgs.t("remind_not_live", id=task.id, status=msgs.status(task.status)))
        return
    text = msgs.reminder(task, services.clock.today())
    sent, unbound, unreachable = [], [], []
    assert services.sender is not None
    for name in task.owners:
        person = services.ledger.repo.get_person(name)
        if person is None or person.user_id is None:
            unbound.append(name)
            continue
        try:
            await services.sender.send(person.user_id, text, msgs.task_buttons(task.id))
            sent.append(name)
        except (Unreachable, DeliveryFailed) as err:
            log.warning("reminder for %s to %s failed: %s", task.id, name, err)
            unreachable.append(name)
    assert update.effective_user is not None
    if sent:
        services.ledger.record_reminder(task.id, who=actor(services, update.effective_user),
                                        sent_to=sent)
        lines = [msgs.t("remind_sent", id=task.id, names=msgs.names(sent))]
    else:
        lines = [msgs.t("remind_none_sent", id=task.id)]
    if unbound:
        lines.append(msgs.t("remind_unbound", names=msgs.names(unbound)))
    if unreachable:
        lines.append(msgs.t("remind_unreachable", names=msgs.names(unreachable)))
    await reply(update, context, "\n".join(lines))


# ---- the rhythm: /dispatch and /plan -----------------------------------------------------------


@admin_only
@guarded
async def dispatch_now(update: Update, context: LuoshiContext) -> None:
    """Run today's dispatch now; what was already sent today is not sent again."""
    services = context.services
    msgs = services.messages
    if services.rhythm().running:
        await reply(update, context, msgs.t("dispatch_busy"))
        return
    chat = update.effective_chat
    assert chat is not None
    await reply(update, context, msgs.t("dispatch_started"))

    async def work() -> None:
        # The fan-out waits on Telegram's limits for minutes at county scale: it runs on its
        # own, and the admin's chat stays free meanwhile.
        report = await services.rhythm().run()
        await notify_chat(services, chat.id, render_dispatch_report(services, report))

    services.background(work(), "dispatch-now")


def render_dispatch_report(services: Services, report: Any) -> str:
    msgs = services.messages
    day = msgs.date(report.day)
    if not report.workday:
        return msgs.t("dispatch_rest_day", day=day)
    lines = [msgs.t("dispatch_report", day=day, due=report.due, sent=report.sent,
                    before=report.sent_before)]
    if report.skipped_reported:
        lines.append(msgs.t("dispatch_skipped", count=report.skipped_reported))
    if report.failed:
        lines.append(msgs.t("dispatch_failed", count=report.failed))
    if report.unbound:
        lines.append(msgs.t("dispatch_unbound", names=msgs.names(sorted(set(report.unbound)))))
    if report.unreachable:
        lines.append(msgs.t("dispatch_unreachable",
                            names=msgs.names(sorted(set(report.unreachable)))))
    return "\n".join(lines)


PLAN_DEFAULT_DAYS = 10
PLAN_MAX_DAYS = 60


@admin_only
@guarded
async def plan_preview(update: Update, context: LuoshiContext) -> None:
    """/plan [天数]: how many reminders of each kind go out on each coming workday."""
    services = context.services
    msgs = services.messages
    args = context.args or []
    days = PLAN_DEFAULT_DAYS
    if args:
        raw = normalize(args[0]).rstrip("天")
        if not raw.isdigit() or not 1 <= int(raw) <= PLAN_MAX_DAYS:
            await reply(update, context, msgs.t("plan_usage"))
            return
        days = int(raw)
    start = services.clock.today()
    end = start + timedelta(days=days - 1)
    planned = plan(services.ledger.repo.tasks(), start, end, services.calendar)
    await reply(update, context, msgs.plan_summary(planned, start, days, services.calendar))


# ---- confirmations: 换绑 and unusual dates ------------------------------------------------------


def account_label(user: User | None, user_id: int | None) -> str:
    """How an account is shown to admins: its Telegram name and @username, with the id."""
    if user is None:
        return str(user_id or "—")
    handle = f" @{user.username}" if user.username else ""
    return f"{user.full_name}{handle}（{user.id}）"


async def ask_admins_to_rebind(services: Services, request: RebindRequest, user: User) -> None:
    """换绑: the admins decide, with 确认换绑 / 不同意 (handled in buttons.on_button)."""
    msgs = services.messages
    person = services.ledger.repo.get_person(request.name)
    text = msgs.rebind_question(request, unit=person.unit if person else "",
                                old=account_label(None, request.old_user_id),
                                new=account_label(user, request.new_user_id))
    buttons = [[(msgs.catalog["btn_rebind_ok"],
                 callbacks.encode(callbacks.REBIND, request.id, "yes")),
                (msgs.catalog["btn_rebind_no"],
                 callbacks.encode(callbacks.REBIND, request.id, "no"))]]
    if not await notify_admins(services, text, buttons):
        log.error("换绑 request %s could not be shown to any admin", request.id)


async def ask_date(update: Update, context: LuoshiContext, question: str, kind: str,
                   task_id: str = "", about: Message | None = None) -> None:
    """确认 / 重新填写 under a question about an unusual date. The question replies to the
    message it is about (`about`, else the update's); the 确认 button reads that message
    again (nothing kept in memory)."""
    msgs = context.services.messages
    message = about or update.effective_message
    buttons = [[(msgs.catalog["btn_date_ok"],
                 callbacks.encode(callbacks.DATE, kind, "ok", task_id)),
                (msgs.catalog["btn_date_retype"],
                 callbacks.encode(callbacks.DATE, kind, "no", task_id))]]
    await reply(update, context, question, reply_markup=keyboard(buttons),
                reply_parameters=ReplyParameters(message_id=message.message_id,
                                                 allow_sending_without_reply=True)
                if message is not None else None)


def _replies_to_bot(update: Update, context: LuoshiContext) -> bool:
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    return (replied is not None and replied.from_user is not None
            and replied.from_user.id == context.bot.id)


# ---- everything else ---------------------------------------------------------------------------


@guarded
async def fallback(update: Update, context: LuoshiContext) -> None:
    """Unknown commands, and whatever no other handler took (stickers, voice, …)."""
    services = context.services
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    known = services.is_admin(user.id) or services.person(user.id) is not None
    is_command = message_text(update).startswith("/")
    if not known:
        if chat.type == ChatType.PRIVATE or is_command:
            await reply(update, context, services.messages.t("not_registered"))
        return
    if is_command:
        await reply(update, context, services.messages.t("unknown_command"))
    elif chat.type == ChatType.PRIVATE or _replies_to_bot(update, context):
        # A sticker, a voice message, a 👍: not a report. One line on what a report is.
        key = "help_admin" if services.is_admin(user.id) else "ack_hint"
        await reply(update, context, services.messages.t(key))


async def on_error(update: object, context: LuoshiContext) -> None:
    """Log the failure (never the token) and tell the user nothing was done."""
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        await reply(update, context, context.services.messages.t("internal_error"))
