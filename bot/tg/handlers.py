"""Telegram handlers for the commands (bot/app/commands.py): parse the update into the
application's inputs, run the use case in the update's conversation (guarded:
`bot.tg.conversation.run`), and give python-telegram-bot what only it needs — the state of
the guided /add dialogue, which lives in its ConversationHandler and the user's user_data.

Also here, Telegram only: a group that became a supergroup (`chat_migrated`) and the last
resort for an unhandled error (`on_error`).

The helpers below the line "kept for the other handler modules" are what bot/tg/reporting.py,
bot/tg/buttons.py and bot/tg/ledger_files.py imported before they moved to the application
layer (`reply` is still `on_error`'s); the issue's last cleanup removes the rest.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from telegram import Message, ReplyParameters, Update, User
from telegram.ext import ConversationHandler

from bot.app import actions as callbacks
from bot.app import commands
from bot.app import common as app_common
from bot.app.common import parse_add_line as parse_add_line
from bot.app.common import visible_tasks_for as visible_tasks_for
from bot.app.conversation import Caller, Conversation, Said
from bot.domain.ports import DeliveryFailed, Unreachable
from bot.services import Services
from bot.tg.context import LuoshiContext, chat_watch, telegram_sender
from bot.tg.conversation import TelegramConversation, caller_of, run, said_of
from bot.tg.notifier import keyboard

log = logging.getLogger(__name__)

Handler = Callable[[Update, LuoshiContext], Coroutine[Any, Any, Any]]

# The guided /add dialogue: python-telegram-bot's states for the application's steps.
ADD_TITLE, ADD_UNIT, ADD_OWNERS, ADD_DEADLINE = range(4)
ADD_KEY = "add_dialogue"  # the answers so far, in the user's user_data
_STATES: dict[commands.AddStep, int] = {
    "title": ADD_TITLE, "lead_unit": ADD_UNIT, "owners": ADD_OWNERS, "deadline": ADD_DEADLINE}

# The shapes of use cases: by what they need besides the services and the conversation.
WithArgs = Callable[[Services, Caller, Sequence[str], Conversation], Awaitable[None]]
WithSaid = Callable[[Services, Caller, Said, Conversation], Awaitable[None]]
ForCaller = Callable[[Services, Caller, Conversation], Awaitable[None]]


async def run_with_args(update: Update, context: LuoshiContext, use_case: WithArgs) -> None:
    """A command whose use case takes its arguments (the words after the command)."""
    user = update.effective_user
    if user is None:
        return
    args = list(context.args or [])
    await run(update, context,
              lambda conv: use_case(context.services, caller_of(user), args, conv))


async def run_with_said(update: Update, context: LuoshiContext, use_case: WithSaid) -> None:
    """A use case that reads the message itself (its chat, its text, what it answers)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    said = said_of(message, context.bot.id)
    await run(update, context,
              lambda conv: use_case(context.services, caller_of(user), said, conv))


async def run_for_caller(update: Update, context: LuoshiContext, use_case: ForCaller) -> None:
    """A command that takes nothing but who runs it."""
    user = update.effective_user
    if user is None:
        return
    await run(update, context, lambda conv: use_case(context.services, caller_of(user), conv))


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


# ---- the commands ------------------------------------------------------------------------------


async def start(update: Update, context: LuoshiContext) -> None:
    """/start [邀请码]: Telegram's deep links (t.me/…?start=CODE) arrive as its argument."""
    await run_with_args(update, context, commands.start)


async def help_command(update: Update, context: LuoshiContext) -> None:
    await run_for_caller(update, context, commands.help_command)


async def list_tasks(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, commands.list_tasks)


async def show_task(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, commands.show_task)


async def invite(update: Update, context: LuoshiContext) -> None:
    """/invite: the invitation is a deep link to this bot that runs /start with the code."""
    bot = context.bot

    def link(code: str) -> str:
        return f"https://t.me/{bot.username}?start={code}"

    async def use_case(services: Services, caller: Caller, args: Sequence[str],
                       conversation: Conversation) -> None:
        await commands.invite(services, caller, args, conversation, link)

    await run_with_args(update, context, use_case)


async def people(update: Update, context: LuoshiContext) -> None:
    await run_for_caller(update, context, commands.people)


async def cancel_task(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, commands.cancel_task)


async def remind(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, commands.remind)


async def dispatch_now(update: Update, context: LuoshiContext) -> None:
    """/dispatch: the report comes back to the chat the command came from."""
    await run_with_said(update, context, commands.dispatch_now)


async def plan_preview(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, commands.plan_preview)


async def fallback(update: Update, context: LuoshiContext) -> None:
    """Unknown commands, and whatever no other handler took (stickers, voice, …)."""
    if update.effective_chat is None:
        return
    await run_with_said(update, context, commands.fallback)


# ---- 建账: the guided /add -----------------------------------------------------------------------


async def add_entry(update: Update, context: LuoshiContext) -> int | None:
    """/add with the four fields creates at once; /add alone starts the guided dialogue, whose
    answers are kept in the user's user_data."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return ConversationHandler.END
    said = said_of(message, context.bot.id)
    step = await run(update, context, lambda conv: commands.add_entry(
        context.services, caller_of(user), said, conv))
    if step is None:  # failed and answered (the guard): no dialogue
        return None
    if step == commands.DONE:
        return ConversationHandler.END
    context.dialogue[ADD_KEY] = {}
    return _STATES[step]


def _dialogue_step(step: commands.AddStep) -> Handler:
    """The handler of one step of the guided /add (python-telegram-bot's state for it)."""

    async def answer(update: Update, context: LuoshiContext) -> int | None:
        user = update.effective_user
        if user is None:
            return None
        answers: dict[str, Any] = context.dialogue.setdefault(ADD_KEY, {})
        text = message_text(update)
        after = await run(update, context, lambda conv: commands.add_answer(
            context.services, caller_of(user), step, text, answers, conv))
        if after is None:
            # Failed and answered (the guard): the dialogue stays at this step, answers kept.
            return None
        if after == commands.DONE:
            context.dialogue.pop(ADD_KEY, None)
            return ConversationHandler.END
        return _STATES[after]

    answer.__name__ = answer.__qualname__ = f"add_{step}"
    return answer


add_title = _dialogue_step("title")
add_unit = _dialogue_step("lead_unit")
add_owners = _dialogue_step("owners")
add_deadline = _dialogue_step("deadline")


async def add_abort(update: Update, context: LuoshiContext) -> int:
    """取消 ends the dialogue. `/cancel 编号` is the task command: end the dialogue, then run it."""
    context.dialogue.pop(ADD_KEY, None)
    await run_with_args(update, context, commands.add_abort)
    return ConversationHandler.END


async def add_timeout(update: Update, context: LuoshiContext) -> None:
    context.dialogue.pop(ADD_KEY, None)
    await run(update, context, lambda conv: commands.add_timeout(context.services, conv))


# ---- the last resort -----------------------------------------------------------------------------


async def on_error(update: object, context: LuoshiContext) -> None:
    """Log the failure (never the token) and tell the user nothing was done."""
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        await reply(update, context, context.services.messages.t("internal_error"))


# ---- kept for the other handler modules until the last cleanup ---------------------------------


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
    """Turn domain and storage failures into a clear answer; nothing half-done is confirmed
    (the application's guard, `bot.app.common.guarded`, in the update's chat)."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: LuoshiContext) -> Any:
        chat = update.effective_chat
        conversation = TelegramConversation(context.services, chat.id if chat else None)
        return await app_common.guarded(context.services, conversation,
                                        lambda: handler(update, context))

    return wrapper


async def alert_store_failure(context: LuoshiContext) -> None:
    """Tell the admins (at most every 10 minutes) that the store cannot write."""
    await app_common.alert_store_failure(context.services)


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
    """How a user appears in a task's history (`bot.app.common.actor`)."""
    return app_common.actor(services, caller_of(user))


def message_text(update: Update) -> str:
    message = update.effective_message
    return (message.text or message.caption or "") if message else ""


def command_rest(update: Update) -> str:
    """The text after the command word (`/add a | b` → `a | b`), keeping its spaces."""
    return commands.command_rest(message_text(update))


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
