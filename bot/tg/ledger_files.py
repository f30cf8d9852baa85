"""台账 files in chat: /import (a preview, then 确认导入 / 取消) and /export.

The preview replies to the file's message, and 确认导入 reads the file again from there, so
nothing waits in memory between the two and a restart in between loses nothing. A second press
finds the file's marker in the store and imports nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Document, Message, ReplyParameters, Update
from telegram.error import TelegramError

from bot.adapters.spreadsheet import MAX_BYTES, SheetError
from bot.ledger_io import ImportResult, export_filename, export_ledger, import_ledger_file
from bot.tg import callbacks
from bot.tg.context import LuoshiContext, Services
from bot.tg.handlers import actor, admin_only, guarded, reply
from bot.tg.notifier import keyboard
from bot.tg.reporting import on_plain, on_reply

log = logging.getLogger(__name__)

AWAITING_IMPORT = "awaiting_import"


def _year(services: Services) -> int:
    return services.config.imports.year or services.clock.today().year


def _marker(message: Message) -> str:
    return f"import:{message.chat_id}:{message.message_id}"


async def _download(context: LuoshiContext, document: Document) -> bytes:
    file = await context.bot.get_file(document.file_id)
    return bytes(await file.download_as_bytearray())


async def _run(context: LuoshiContext, message: Message, *, who: str,
               dry_run: bool) -> tuple[ImportResult, str]:
    services = context.services
    document = message.document
    assert document is not None
    filename = document.file_name or "file"
    if document.file_size and document.file_size > MAX_BYTES:
        result = ImportResult(sheet_error=SheetError("too_big", ""))
        return result, filename
    data = await _download(context, document)
    result = import_ledger_file(services.ledger, filename, data, who=who,
                                year=_year(services), dry_run=dry_run,
                                marker=_marker(message))
    return result, filename


@admin_only
@guarded
async def import_command(update: Update, context: LuoshiContext) -> None:
    """/import: the next file this admin sends is a ledger to import."""
    context.user_data[AWAITING_IMPORT] = True
    await reply(update, context, context.services.messages.t("import_send_file"))


@guarded
async def on_document(update: Update, context: LuoshiContext) -> None:
    """A document: a ledger to import (caption /import, or after /import), else a report."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.document is None:
        return
    services = context.services
    caption = (message.caption or "").strip()
    wants_import = caption.split(maxsplit=1)[0].split("@")[0] == "/import" if caption else False
    if not wants_import and not context.user_data.get(AWAITING_IMPORT):
        if message.reply_to_message is not None:
            await on_reply(update, context)
        else:
            await on_plain(update, context)
        return
    msgs = services.messages
    if not services.is_admin(user.id):
        key = "admin_only" if services.person(user.id) else "not_registered"
        await reply(update, context, msgs.t(key))
        return
    context.user_data.pop(AWAITING_IMPORT, None)
    try:
        result, filename = await _run(context, message, who=actor(services, user), dry_run=True)
    except TelegramError as err:
        log.warning("could not download an import file: %s", err)
        await reply(update, context, msgs.t("import_download_failed"))
        return
    text = msgs.import_result(result, filename, preview=True)
    markup = None
    if result.ok:
        ok = (msgs.catalog["btn_import_ok"], callbacks.encode(callbacks.IMP, "ok"))
        no = (msgs.catalog["btn_import_no"], callbacks.encode(callbacks.IMP, "no"))
        markup = keyboard([[ok, no]])
    await context.bot.send_message(chat_id=message.chat_id, text=text, reply_markup=markup,
                                   reply_parameters=ReplyParameters(message_id=message.message_id))


async def on_import_button(update: Update, context: LuoshiContext) -> None:
    query = update.callback_query
    if query is None:
        return
    services = context.services
    msgs = services.messages
    data = callbacks.decode(query.data)
    preview = query.message if isinstance(query.message, Message) else None
    original = preview.reply_to_message if preview else None
    if data is None or original is None or original.document is None:
        await query.answer(msgs.t("button_unknown"), show_alert=True)
        return
    if not services.is_admin(query.from_user.id):
        await query.answer(msgs.t("button_not_yours"), show_alert=True)
        return
    await query.answer()
    if data.target == "no":
        await _edit(query, msgs.t("import_cancelled"))
        return
    try:
        result, filename = await _run(context, original, who=actor(services, query.from_user),
                                      dry_run=False)
    except TelegramError as err:
        log.warning("could not download an import file: %s", err)
        await _edit(query, msgs.t("import_download_failed"))
        return
    except Exception:
        log.exception("import failed")
        await _edit(query, msgs.t("save_failed"))
        return
    await _edit(query, msgs.import_result(result, filename, preview=False))


async def _edit(query: Any, text: str) -> None:
    try:
        await query.edit_message_text(text)
    except TelegramError as err:
        log.info("could not edit the preview: %s", err)


@admin_only
@guarded
async def export_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    chat = update.effective_chat
    if chat is None:
        return
    today = services.clock.today()
    data = export_ledger(services.ledger, services.lights, services.calendar, today)
    count = sum(1 for t in services.ledger.repo.tasks() if t.status.value != "已撤销")
    await context.bot.send_document(
        chat_id=chat.id, document=data, filename=export_filename(today),
        caption=services.messages.t("export_caption", count=count,
                                    day=services.messages.date(today)))
