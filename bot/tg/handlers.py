"""Telegram handlers for the commands (bot/app/commands.py): parse the update into the
application's inputs, run the use case in the update's conversation (guarded:
`bot.tg.conversation.run`), and give python-telegram-bot what only it needs — the state of
the guided /add dialogue, which lives in its ConversationHandler and the user's user_data.

Also here, Telegram only: a group that became a supergroup (`chat_migrated`) and the last
resort for an unhandled error (`on_error`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot.app import commands
from bot.app.conversation import Caller, Conversation, Reply, Said
from bot.services import Services
from bot.tg.context import LuoshiContext, chat_watch
from bot.tg.conversation import TelegramConversation, caller_of, press_of, run, said_of

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


async def mine(update: Update, context: LuoshiContext) -> None:
    """/mine (我分管的任务): the tasks a leader leads."""
    await run_with_args(update, context, commands.mine)


def _invite_link(context: LuoshiContext) -> Callable[[str], str]:
    """An invitation is a deep link to this bot that runs /start with the code."""
    bot = context.bot

    def link(code: str) -> str:
        return f"https://t.me/{bot.username}?start={code}"

    return link


async def invite(update: Update, context: LuoshiContext) -> None:
    """/invite: the invitation is a deep link to this bot that runs /start with the code."""
    link = _invite_link(context)

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


async def on_invite_button(update: Update, context: LuoshiContext) -> None:
    """📨 under 已建账 (INV): the invite links of the task's people not bound yet."""
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    notice = await commands.invite_press(context.services,
                                         TelegramConversation.of(update, context),
                                         press_of(query, context.bot.id), _invite_link(context))
    try:
        if notice:
            await query.answer(re.sub(r"<[^>]+>", "", notice)[:200], show_alert=True)
        else:
            await query.answer()
    except TelegramError as err:  # a query answered late or twice: nothing to do
        log.info("callback answer failed: %s", err)


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
        message = update.effective_message
        text = (message.text or message.caption or "") if message else ""
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
        conversation = TelegramConversation.of(update, context)
        await conversation.say(Reply(context.services.messages.t("internal_error")))
