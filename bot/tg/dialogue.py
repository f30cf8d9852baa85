"""The guided /add on Telegram, with its state in the store (bot/app/dialogue.py), not in
python-telegram-bot's ConversationHandler: any worker may get the next answer, and a restart
loses nothing.

`DialogueHandler` runs before every other handler (its own group, -1, in bot/tg/app.py): it
takes a message only when bot/app/dialogue.py `claim`s it for a guided /add in progress (or
one that timed out) — everyone else's messages are not even looked at twice. When the
dialogue is done with the message it stops there (`ApplicationHandlerStop`); otherwise (a
command after the timeout was told) the usual handlers get it too.

The timeout is told when it happens, as before: after each step a job of this process's
JobQueue is set for ADD_TIMEOUT later (one per dialogue, the previous one removed). When it
fires, the dialogue ends only if it has really timed out by the services' clock — it may have
been answered meanwhile on another worker, whose own job then tells. If this process is gone
by then, the person is told at their next message instead (`claim` → "expired").
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler

from bot.app import dialogue
from bot.domain.ports import PersistenceError
from bot.services import Services
from bot.tg.context import LuoshiContext
from bot.tg.conversation import TelegramConversation, caller_of, run, said_of

log = logging.getLogger(__name__)


class DialogueHandler(BaseHandler[Update, LuoshiContext, None]):
    """Messages that belong to a guided /add (bot/app/dialogue.py `claim`)."""

    def __init__(self, services: Services) -> None:
        super().__init__(on_dialogue)
        self.services = services

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.message is None:
            return False  # buttons, edits: never the dialogue's
        message, user = update.message, update.message.from_user
        if user is None:
            return False
        return dialogue.claim(self.services, caller_of(user), said_of(message, None)) is not None


async def on_dialogue(update: Update, context: LuoshiContext) -> None:
    """An answer, 取消, or the first message after the timeout (see the module docstring)."""
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return
    said, caller = said_of(message, context.bot.id), caller_of(user)
    done = await run(update, context, lambda conversation: dialogue.take(
        context.services, caller, said, conversation))
    watch_timeout(context, message.chat_id, user.id)
    if done is not False:  # the dialogue's (None: it failed and the guard answered)
        raise ApplicationHandlerStop


async def add_command(update: Update, context: LuoshiContext) -> None:
    """/add with the four fields creates at once; /add alone starts the guided dialogue."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    said, caller = said_of(message, context.bot.id), caller_of(user)
    await run(update, context, lambda conversation: dialogue.add_command(
        context.services, caller, said, conversation))
    watch_timeout(context, message.chat_id, user.id)


def watch_timeout(context: LuoshiContext, chat_id: int, user_id: int) -> None:
    """(Re)set this process's timer of the guided /add in this chat, or drop it when the
    dialogue is over."""
    jobs = context.job_queue
    if jobs is None:
        return
    name = dialogue.add_key(chat_id, user_id)
    for job in jobs.get_jobs_by_name(name):
        job.schedule_removal()
    if dialogue.waiting(context.services, chat_id, user_id):
        timed_out: Any = _timed_out  # PTB types a job's callback by an unbound context type
        jobs.run_once(timed_out, dialogue.ADD_TIMEOUT, data=(chat_id, user_id), name=name)


async def _timed_out(context: LuoshiContext) -> None:
    """The timer: the dialogue is over and the person told, if it really timed out."""
    job: Any = context.job
    chat_id, user_id = job.data
    services = context.services
    if services.inbox is not None:
        services.inbox.refresh()  # a shared store: what other workers did meanwhile
    try:
        await dialogue.time_out(services, chat_id, user_id,
                                TelegramConversation(services, chat_id))
    except PersistenceError as err:  # told at their next message instead
        log.warning("could not end a timed-out /add dialogue: %s", err)
