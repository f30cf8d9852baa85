"""台账 files in chat, for any channel: /import (a preview, then 确认导入 / 取消) and /export.

A file arrives as an `IncomingFile`: the name and size the channel gives, and a way to fetch
its bytes (`fetch`, the channel's download). Nothing is downloaded before it is needed, so a
file over MAX_BYTES is refused from its size alone; a failed download is `DownloadFailed`,
raised by the channel's `fetch`, and answered with "please send it again".

The preview answers (quotes) the file's message, and 确认导入 reads the file again from there
(`Press.under` is the preview, its `reply_to` the file's message, and the channel gives the
file again): nothing waits in memory between the two, and a restart in between loses nothing.
A second press finds the file's marker (its chat and message) in the store and imports
nothing twice.

Reading and parsing a file is CPU work: it runs in a worker thread (asyncio.to_thread) within
`parse_seconds`, so a slow file never holds the bot; only the short store step runs on the
loop. Building the /export workbook runs in a worker thread too.

"/import 允许任意日期" (or "/import --allow-past", "/import any-date"), as a command before the
file or as the file's caption, lets past and far-off 完成时限 through. The preview then ends
with the note import_any_date_note, and 确认导入 reads the permission back from the caption or
that note. The command's "the next file is a ledger" is kept in the caller's dialogue state (a
mapping, kept in the store per person for an hour: bot/app/dialogue.py `held_import`, so any
worker takes the file), under AWAITING_IMPORT (and the sheet asked for under IMPORT_SHEET).

A workbook whose ledger is not its only sheet: the sheet whose header matches is read. When
several match, the bot asks which, in chat: one button per sheet (IMP sheet <position>) under
the question, which quotes the file's message as a preview does; the press turns the question
into that sheet's preview, whose 确认导入 (IMP ok <position>) imports that sheet. "/import
--sheet 名称" (a caption, or the command before the file) names the sheet at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass

from bot.adapters.spreadsheet import MAX_BYTES, PARSE_SECONDS, SheetError
from bot.app import actions
from bot.app.common import actor, refused
from bot.app.conversation import (
    Attachment,
    Caller,
    Conversation,
    Posted,
    Press,
    Reply,
    Said,
    plain,
)
from bot.domain.model import TaskStatus
from bot.ledger_io import (
    ImportResult,
    apply_import,
    export_filename,
    export_ledger,
    read_ledger_file,
)
from bot.services import Services

log = logging.getLogger(__name__)

AWAITING_IMPORT = "awaiting_import"  # dialogue: the next file is a ledger; True or ANY_DATE
IMPORT_SHEET = "import_sheet"  # dialogue: the sheet /import --sheet named for that file
ANY_DATE = "any_date"
# The words after /import that allow any 完成时限, compared without spaces, case or width.
ANY_DATE_WORDS = frozenset({"允许任意日期", "任意日期", "不限日期", "允许过去日期", "any-date",
                            "anydate", "allowanydate", "allow-any-date", "--allow-any-date",
                            "--allow-past", "allow-past", "allowpast", "--allowpast"})
# --sheet 名称 (or 工作表=名称) among the words after /import; a name with spaces is quoted.
_SHEET_OPTION = re.compile(
    r"(?:--sheet|工作表)\s*[=:：]?\s*(?:\"([^\"]+)\"|“([^”]+)”|「([^」]+)」|'([^']+)'|(\S+))")
SHEET_LABEL_MAX = 30  # characters of a sheet's name on its button
# Seams for tests: the time a file may take to read and parse, and the clock it is taken on.
parse_seconds: float = PARSE_SECONDS
monotonic: Callable[[], float] = time.monotonic

Dialogue = MutableMapping[str, object]
"""The caller's dialogue state between their messages (bot/app/dialogue.py `Held`: every change
is written to the store at once)."""

Acknowledge = Callable[[str | None], Awaitable[bool]]
"""Answer a button press: with a notice (Luoshi markup, shown as an alert) or silently (the
presser's spinner stops). False when the channel refused (Telegram: the query is too old)."""


class DownloadFailed(Exception):
    """The channel could not fetch a file's bytes (raised by `IncomingFile.fetch`)."""


@dataclass(frozen=True)
class IncomingFile:
    """A file sent in a chat, before it is downloaded."""

    filename: str  # as the sender named it ("" when the channel gives none)
    size: int | None  # in bytes, when the channel says
    fetch: Callable[[], Awaitable[bytes]]  # the download; raises DownloadFailed

    @property
    def name(self) -> str:
        return self.filename or "file"


def wants_any_date(words: str) -> bool:
    """Whether the words after /import (or a caption's) ask to allow any 完成时限."""
    key = "".join(unicodedata.normalize("NFKC", words).split()).lower()
    return key in ANY_DATE_WORDS


@dataclass(frozen=True)
class ImportOptions:
    """What the words after /import ask for: any 完成时限, and which sheet (None: find it)."""

    any_date: bool = False
    sheet: str | None = None


def import_options(words: str) -> ImportOptions:
    """"--sheet 台账 --allow-past", "允许任意日期", "工作表=重点任务" … → ImportOptions."""
    text = unicodedata.normalize("NFKC", words)
    match = _SHEET_OPTION.search(text)
    sheet = next((group for group in match.groups() if group), None) if match else None
    rest = text[: match.start()] + " " + text[match.end() :] if match else text
    return ImportOptions(any_date=wants_any_date(rest), sheet=sheet)


def _caption_args(caption: str) -> tuple[bool, str]:
    """(is a /import caption, the words after its first word)."""
    parts = caption.split(maxsplit=1)
    if not parts:
        return False, ""
    return parts[0].split("@")[0] == "/import", parts[1] if len(parts) > 1 else ""


def is_ledger_file(said: Said, dialogue: Dialogue) -> bool:
    """Whether a file is a ledger to import (its caption is /import, or it follows /import);
    any other file is 佐证材料 and goes on to the report flow, which the channel calls."""
    return _caption_args(said.text)[0] or bool(dialogue.get(AWAITING_IMPORT))


async def import_command(services: Services, conversation: Conversation, caller: Caller,
                         words: str, dialogue: Dialogue) -> None:
    """/import [允许任意日期]: the next file this admin sends is a ledger to import."""
    if await refused(services, caller, conversation):
        return
    options = import_options(words)
    any_date = options.any_date
    dialogue[AWAITING_IMPORT] = ANY_DATE if any_date else True
    if options.sheet:
        dialogue[IMPORT_SHEET] = options.sheet
    else:
        dialogue.pop(IMPORT_SHEET, None)
    key = "import_send_file_any_date" if any_date else "import_send_file"
    await conversation.say(Reply(services.messages.t(key)))


async def on_ledger_file(services: Services, conversation: Conversation, caller: Caller,
                         said: Said, file: IncomingFile, dialogue: Dialogue) -> None:
    """A ledger file (`is_ledger_file`): checked against the ledger without writing, and
    answered with a preview under which 确认导入 / 取消 decide (only when the file is good)."""
    msgs = services.messages
    if await refused(services, caller, conversation):
        return
    awaiting = dialogue.pop(AWAITING_IMPORT, None)
    asked_sheet = dialogue.pop(IMPORT_SHEET, None)
    by_caption, words = _caption_args(said.text)
    options = import_options(words) if by_caption else ImportOptions()
    any_date = options.any_date or awaiting == ANY_DATE
    sheet = options.sheet or (asked_sheet if isinstance(asked_sheet, str) else None)
    try:
        result = await _import(services, said, file, who=actor(services, caller),
                               dry_run=True, allow_any_date=any_date, sheet=sheet)
    except DownloadFailed as err:
        log.warning("could not download an import file: %s", err)
        await conversation.say(Reply(msgs.t("import_download_failed")))
        return
    await conversation.say(_preview(services, result, file.name, any_date=any_date, quote=said))


async def on_import_press(services: Services, conversation: Conversation, press: Press,
                          file: IncomingFile | None, acknowledge: Acknowledge) -> None:
    """确认导入 / 取消 under a preview. `file` is the file of the message the preview quotes
    (`press.under.reply_to`), given again by the channel; None when that message has none.

    Unlike other buttons, the press is acknowledged before the work (the admin's spinner
    stops at once; an import may take a while). When the channel could not acknowledge it
    (after a stall), the outcome is also said as a new message, so that it is seen: the
    preview is edited to the outcome in any case, so its buttons cannot be pressed again.
    """
    msgs = services.messages
    choice = actions.decode(press.action)
    preview = press.under
    original = preview.reply_to if preview is not None else None
    if (choice is None or choice.kind != actions.IMP or preview is None or original is None
            or file is None):
        await acknowledge(msgs.t("button_unknown"))
        return
    if not services.is_admin(press.caller.user_id):
        await acknowledge(msgs.t("button_not_yours"))
        return
    acknowledged = await acknowledge(None)
    if choice.target == "no":
        await _tell(conversation, preview, msgs.t("import_cancelled"), also_say=not acknowledged)
        return
    options = import_options(_caption_args(original.text)[1])
    any_date = (options.any_date
                or _preview_allows_any_date(preview, msgs.t("import_any_date_note")))
    # The sheet: the one the button names (chosen from the question, or read for the
    # preview), else the caption's.
    sheet: str | int | None = int(choice.choice) if choice.choice else options.sheet
    if choice.target == "sheet":
        await _show_sheet(services, conversation, press, original, file, sheet,
                          any_date=any_date, also_say=not acknowledged)
        return
    try:
        result = await _import(services, original, file, who=actor(services, press.caller),
                               dry_run=False, allow_any_date=any_date, sheet=sheet)
    except DownloadFailed as err:
        log.warning("could not download an import file: %s", err)
        text = msgs.t("import_download_failed")
    except Exception:
        log.exception("import failed")
        text = msgs.t("save_failed")
    else:
        text = msgs.import_result(result, file.name, preview=False)
    await _tell(conversation, preview, text, also_say=not acknowledged)


async def export(services: Services, conversation: Conversation, caller: Caller) -> None:
    """/export: every task but cancelled ones as a workbook, sent as a document."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    today = services.clock.today()
    # Building the workbook takes a second or two at county scale: off the event loop, so
    # no other chat waits for it (the repository may be read from a worker thread).
    data = await asyncio.to_thread(export_ledger, services.ledger, services.lights,
                                   services.calendar, today)
    count = sum(1 for t in services.ledger.repo.tasks() if t.status is not TaskStatus.CANCELLED)
    caption = msgs.t("export_caption", count=count, day=msgs.date(today))
    await conversation.say(Reply(caption, attachment=Attachment(export_filename(today), data,
                                                                "document")))


# ---- the steps -----------------------------------------------------------------------------


def _preview(services: Services, result: ImportResult, filename: str, *, any_date: bool,
             quote: Said) -> Reply:
    """The answer to a ledger file: its preview with 确认导入 / 取消 (the sheet read named in
    确认导入), the question which sheet with a button for each, or what is wrong."""
    msgs = services.messages
    text = msgs.import_result(result, filename, preview=True)
    buttons: list[list[tuple[str, str]]] = []
    no = (msgs.catalog["btn_import_no"], actions.encode(actions.IMP, "no"))
    if result.sheet_choices:
        buttons = [[(_label(name), actions.encode(actions.IMP, "sheet", str(position)))]
                   for name, position in zip(result.sheet_choices, result.sheet_positions,
                                             strict=True)]
        buttons.append([no])
    elif result.ok:
        position = "" if result.sheet_position is None else str(result.sheet_position)
        buttons = [[(msgs.catalog["btn_import_ok"], actions.encode(actions.IMP, "ok", position)),
                    no]]
    if buttons and any_date:
        text += "\n" + msgs.t("import_any_date_note")
    return Reply(text, buttons=buttons, quote=quote)


def _label(name: str) -> str:
    name = " ".join(name.split()) or "—"
    return name if len(name) <= SHEET_LABEL_MAX else name[: SHEET_LABEL_MAX - 1] + "…"


async def _show_sheet(services: Services, conversation: Conversation, press: Press,
                      original: Said, file: IncomingFile, sheet: str | int | None, *,
                      any_date: bool, also_say: bool) -> None:
    """A sheet chosen under the question: the question becomes that sheet's preview."""
    msgs = services.messages
    try:
        result = await _import(services, original, file, who=actor(services, press.caller),
                               dry_run=True, allow_any_date=any_date, sheet=sheet)
    except DownloadFailed as err:
        log.warning("could not download an import file: %s", err)
        reply = Reply(msgs.t("import_download_failed"))
    else:
        reply = _preview(services, result, file.name, any_date=any_date, quote=original)
    question = press.under
    assert question is not None
    edited = await conversation.edit(Posted(question.chat_id, question.message_id), reply)
    if also_say or not edited:
        # A new preview must answer the file's message: 确认导入 reads the file from there.
        await conversation.say(reply)



def _year(services: Services) -> int:
    """The year a 完成时限 without one (12月底) falls in: the config's, else this year."""
    return services.config.imports.year or services.clock.today().year


def _marker(said: Said) -> str:
    """Names the file's message in the store, so that it is imported once."""
    return f"import:{said.chat_id}:{said.message_id}"


async def _import(services: Services, said: Said, file: IncomingFile, *, who: str,
                  dry_run: bool, allow_any_date: bool,
                  sheet: str | int | None = None) -> ImportResult:
    """Fetch, read and check (and unless `dry_run`, import) the file of message `said`."""
    if file.size and file.size > MAX_BYTES:
        return ImportResult(sheet_error=SheetError("too_big", ""))
    data = await file.fetch()
    # The CPU part off the event loop, within its time budget; the store part on the loop.
    result = await asyncio.to_thread(read_ledger_file, file.name, data, year=_year(services),
                                     sheet=sheet, today=services.clock.today(),
                                     seconds=parse_seconds, monotonic=monotonic)
    apply_import(services.ledger, result, who=who, dry_run=dry_run, marker=_marker(said),
                 allow_any_date=allow_any_date)
    return result


def _preview_allows_any_date(preview: Said, note: str) -> bool:
    """The preview's last line is the any-date note (it is never part of a file name or of
    the unknown-columns line, which come before it)."""
    lines = preview.text.splitlines()
    return bool(lines) and lines[-1].strip() == plain(note)


async def _tell(conversation: Conversation, preview: Said, text: str, *,
                also_say: bool) -> None:
    """The outcome in place of the preview (its buttons go); also as a new message quoting
    the preview when `also_say` (the press was not acknowledged: the admin may have given up
    waiting) or the preview could not be edited, so that the outcome is seen."""
    edited = await conversation.edit(Posted(preview.chat_id, preview.message_id), Reply(text))
    if also_say or not edited:
        await conversation.say(Reply(text, quote=preview))
