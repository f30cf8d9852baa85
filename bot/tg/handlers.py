"""Telegram handlers for the commands (bot/app/commands.py): parse the update into the
application's inputs, run the use case in the update's conversation (guarded:
`bot.tg.conversation.run`). The guided /add, whose state is in the store, has its own module
(bot/tg/dialogue.py).

Also here, Telegram only: a group that became a supergroup (`chat_migrated`) and the last
resort for an unhandled error (`on_error`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.error import TelegramError

from bot.app import commands
from bot.app.conversation import Caller, Conversation, Reply, Said
from bot.services import Services
from bot.tg.context import LuoshiContext, chat_watch
from bot.tg.conversation import TelegramConversation, caller_of, press_of, run, said_of

log = logging.getLogger(__name__)

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


# ---- the last resort -----------------------------------------------------------------------------


async def on_error(update: object, context: LuoshiContext) -> None:
    """Log the failure (never the token) and tell the user nothing was done."""
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        conversation = TelegramConversation.of(update, context)
        await conversation.say(Reply(context.services.messages.t("internal_error")))
