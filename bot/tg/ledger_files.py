"""Telegram's side of 台账 files: /import, a document, the 确认导入 / 取消 buttons, /export.

What the bot does with a ledger file is channel-neutral, in bot/app/files.py; here the
Telegram update is parsed into its inputs (`Caller`, `Said`, `Press`), a document becomes an
`IncomingFile` whose `fetch` is Telegram's download (get_file, then the bytes), the press is
acknowledged with `CallbackQuery.answer`, and the replies go out through
`TelegramConversation`. A document that is not a ledger import is 佐证材料: it goes on to the
report flow (bot/tg/reporting.py, then bot/app/reports.py), as a reply or as a plain message.
/import's "the next file is a ledger" is kept in the store (bot/app/dialogue.py
`held_import`), so the file may reach another worker than the command did.
"""

from __future__ import annotations

import logging

from telegram import Document, Message, Update
from telegram.error import TelegramError

from bot.app import files
from bot.app.conversation import plain
from bot.app.dialogue import held_import
from bot.tg.context import LuoshiContext
from bot.tg.conversation import TelegramConversation, caller_of, press_of, run, said_of
from bot.tg.reporting import on_plain, on_reply

log = logging.getLogger(__name__)


def incoming_file(context: LuoshiContext, document: Document) -> files.IncomingFile:
    """A Telegram document as the application's `IncomingFile`: downloaded only when read."""

    async def fetch() -> bytes:
        try:
            file = await context.bot.get_file(document.file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as err:
            raise files.DownloadFailed(str(err)) from err

    return files.IncomingFile(document.file_name or "", document.file_size, fetch)


async def import_command(update: Update, context: LuoshiContext) -> None:
    """/import [允许任意日期 | --allow-past] [--sheet 名称]."""
    user = update.effective_user
    if user is None:
        return
    words = " ".join(context.args or ())
    await run(update, context, lambda conversation: files.import_command(
        context.services, conversation, caller_of(user), words,
        held_import(context.services, user.id)))


async def on_document(update: Update, context: LuoshiContext) -> None:
    """A document: a ledger to import (caption /import, or after /import), else a report."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.document is None:
        return
    said = said_of(message, context.bot.id)
    if not files.is_ledger_file(said, held_import(context.services, user.id)):
        if message.reply_to_message is not None:
            await on_reply(update, context)
        else:
            await on_plain(update, context)
        return
    file = incoming_file(context, message.document)
    await run(update, context, lambda conversation: files.on_ledger_file(
        context.services, conversation, caller_of(user), said, file,
        held_import(context.services, user.id)))


async def on_import_button(update: Update, context: LuoshiContext) -> None:
    """确认导入 / 取消, or a sheet chosen under the question which: the file is the one of the
    message the preview (or the question) answers."""
    query = update.callback_query
    if query is None:
        return
    preview = query.message if isinstance(query.message, Message) else None
    original = preview.reply_to_message if preview is not None else None
    file = (incoming_file(context, original.document)
            if original is not None and original.document is not None else None)

    async def acknowledge(notice: str | None) -> bool:
        """Answer the press; False when Telegram refused (the query is too old), which must
        not stop the import the admin asked for."""
        try:
            if notice is None:
                await query.answer()
            else:
                await query.answer(plain(notice), show_alert=True)
        except TelegramError as err:
            log.info("could not answer an import button: %s", err)
            return False
        return True

    await files.on_import_press(context.services, TelegramConversation.of(update, context),
                                press_of(query, context.bot.id), file, acknowledge)


async def export_command(update: Update, context: LuoshiContext) -> None:
    """/export: the workbook as a document."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        return
    await run(update, context, lambda conversation: files.export(
        context.services, conversation, caller_of(user)))
