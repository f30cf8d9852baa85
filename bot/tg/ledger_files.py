"""台账 files in chat: /import (a preview, then 确认导入 / 取消) and /export.

The preview replies to the file's message, and 确认导入 reads the file again from there, so
nothing waits in memory between the two and a restart in between loses nothing. A second press
finds the file's marker in the store and imports nothing twice.

Reading and parsing a file is CPU work: it runs in a worker thread (asyncio.to_thread) within
PARSE_SECONDS, so a slow file never holds the bot; only the short store step runs on the loop.

"/import 允许任意日期" (or "/import any-date"), as a command before the file or as the file's
caption, lets past and far-off 完成时限 through. The preview then ends with the note
import_any_date_note, and 确认导入 reads the permission back from the caption or that note.
"""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from telegram import Document, Message, ReplyParameters, Update
from telegram.error import TelegramError

from bot.adapters.spreadsheet import MAX_BYTES, PARSE_SECONDS, SheetError
from bot.app import actions as callbacks
from bot.ledger_io import (
    ImportResult,
    apply_import,
    export_filename,
    export_ledger,
    read_ledger_file,
)
from bot.tg.context import LuoshiContext, Services
from bot.tg.handlers import actor, admin_only, guarded, reply
from bot.tg.notifier import keyboard
from bot.tg.reporting import on_plain, on_reply

log = logging.getLogger(__name__)

AWAITING_IMPORT = "awaiting_import"  # user_data: the next file is a ledger; True or ANY_DATE
ANY_DATE = "any_date"
# The words after /import that allow any 完成时限, compared without spaces, case or width.
ANY_DATE_WORDS = frozenset({"允许任意日期", "任意日期", "不限日期", "any-date", "anydate",
                            "allowanydate", "allow-any-date", "--allow-any-date"})
# Seams for tests: the time a file may take to read and parse, and the clock it is taken on.
parse_seconds: float = PARSE_SECONDS
monotonic: Callable[[], float] = time.monotonic


def wants_any_date(words: str) -> bool:
    """Whether the words after /import (or a caption's) ask to allow any 完成时限."""
    key = "".join(unicodedata.normalize("NFKC", words).split()).lower()
    return key in ANY_DATE_WORDS


def _caption_args(caption: str | None) -> tuple[bool, str]:
    """(is a /import caption, the words after /import)."""
    parts = (caption or "").split(maxsplit=1)
    if not parts:
        return False, ""
    return parts[0].split("@")[0] == "/import", parts[1] if len(parts) > 1 else ""


def _year(services: Services) -> int:
    return services.config.imports.year or services.clock.today().year


def _marker(message: Message) -> str:
    return f"import:{message.chat_id}:{message.message_id}"


async def _download(context: LuoshiContext, document: Document) -> bytes:
    file = await context.bot.get_file(document.file_id)
    return bytes(await file.download_as_bytearray())


async def _run(context: LuoshiContext, message: Message, *, who: str, dry_run: bool,
               allow_any_date: bool) -> tuple[ImportResult, str]:
    services = context.services
    document = message.document
    assert document is not None
    filename = document.file_name or "file"
    if document.file_size and document.file_size > MAX_BYTES:
        result = ImportResult(sheet_error=SheetError("too_big", ""))
        return result, filename
    data = await _download(context, document)
    # The CPU part off the event loop, within its time budget; the store part on the loop.
    result = await asyncio.to_thread(read_ledger_file, filename, data, year=_year(services),
                                     seconds=parse_seconds, monotonic=monotonic)
    apply_import(services.ledger, result, who=who, dry_run=dry_run, marker=_marker(message),
                 allow_any_date=allow_any_date)
    return result, filename


@admin_only
@guarded
async def import_command(update: Update, context: LuoshiContext) -> None:
    """/import [允许任意日期]: the next file this admin sends is a ledger to import."""
    any_date = wants_any_date(" ".join(context.args or ()))
    context.dialogue[AWAITING_IMPORT] = ANY_DATE if any_date else True
    key = "import_send_file_any_date" if any_date else "import_send_file"
    await reply(update, context, context.services.messages.t(key))


@guarded
async def on_document(update: Update, context: LuoshiContext) -> None:
    """A document: a ledger to import (caption /import, or after /import), else a report."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.document is None:
        return
    services = context.services
    wants_import, words = _caption_args(message.caption)
    awaiting = context.dialogue.get(AWAITING_IMPORT)
    if not wants_import and not awaiting:
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
    context.dialogue.pop(AWAITING_IMPORT, None)
    any_date = (wants_any_date(words) if wants_import else False) or awaiting == ANY_DATE
    try:
        result, filename = await _run(context, message, who=actor(services, user), dry_run=True,
                                      allow_any_date=any_date)
    except TelegramError as err:
        log.warning("could not download an import file: %s", err)
        await reply(update, context, msgs.t("import_download_failed"))
        return
    text = msgs.import_result(result, filename, preview=True)
    markup = None
    if result.ok and any_date:
        text += "\n" + msgs.t("import_any_date_note")
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
        await _answer(query, msgs.t("button_unknown"), show_alert=True)
        return
    if not services.is_admin(query.from_user.id):
        await _answer(query, msgs.t("button_not_yours"), show_alert=True)
        return
    # Answered first so the admin's spinner stops; after a stall Telegram refuses the answer
    # ("query is too old"), which must not stop the import the admin asked for.
    answered = await _answer(query)
    if data.target == "no":
        await _tell(update, context, query, msgs.t("import_cancelled"), also_send=not answered)
        return
    any_date = (wants_any_date(_caption_args(original.caption)[1])
                or _preview_allows_any_date(preview, msgs.t("import_any_date_note")))
    try:
        result, filename = await _run(context, original, who=actor(services, query.from_user),
                                      dry_run=False, allow_any_date=any_date)
    except TelegramError as err:
        log.warning("could not download an import file: %s", err)
        text = msgs.t("import_download_failed")
    except Exception:
        log.exception("import failed")
        text = msgs.t("save_failed")
    else:
        text = msgs.import_result(result, filename, preview=False)
    await _tell(update, context, query, text, also_send=not answered)


def _preview_allows_any_date(preview: Message | None, note: str) -> bool:
    """The preview's last line is the any-date note (it is never part of a file name or of
    the unknown-columns line, which come before it)."""
    lines = (preview.text or "").splitlines() if preview is not None else []
    return bool(lines) and lines[-1].strip() == note


async def _answer(query: Any, text: str | None = None, *, show_alert: bool = False) -> bool:
    """Answer the button press; False when Telegram refused (the query is too old)."""
    try:
        await query.answer(text, show_alert=show_alert)
    except TelegramError as err:
        log.info("could not answer an import button: %s", err)
        return False
    return True


async def _tell(update: Update, context: LuoshiContext, query: Any, text: str, *,
                also_send: bool) -> None:
    """The outcome in place of the preview (its buttons go); also as a new message when the
    button could not be answered (the admin may have given up waiting) or the preview cannot
    be edited, so that the outcome is seen."""
    edited = await _edit(query, text)
    if also_send or not edited:
        preview = query.message if isinstance(query.message, Message) else None
        parameters = (ReplyParameters(message_id=preview.message_id,
                                      allow_sending_without_reply=True) if preview else None)
        await reply(update, context, text, reply_parameters=parameters)


async def _edit(query: Any, text: str) -> bool:
    try:
        await query.edit_message_text(text)
    except TelegramError as err:
        log.info("could not edit the preview: %s", err)
        return False
    return True


@admin_only
@guarded
async def export_command(update: Update, context: LuoshiContext) -> None:
    services = context.services
    chat = update.effective_chat
    if chat is None:
        return
    today = services.clock.today()
    # Building the workbook takes a second or two at county scale: off the event loop, so
    # no other chat waits for it (the repository may be read from a worker thread).
    data = await asyncio.to_thread(export_ledger, services.ledger, services.lights,
                                   services.calendar, today)
    count = sum(1 for t in services.ledger.repo.tasks() if t.status.value != "已撤销")
    try:
        await context.bot.send_document(
            chat_id=chat.id, document=data, filename=export_filename(today),
            caption=services.messages.t("export_caption", count=count,
                                        day=services.messages.date(today)))
    except TelegramError as err:
        log.warning("the export could not be sent to %s: %s", chat.id, err)
