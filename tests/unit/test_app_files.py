"""台账 files at the application level (bot/app/files.py), with no channel: /import, the
preview with 确认导入 / 取消, the IMP button and /export, on the services over the
FakeRepository and a RecordingConversation. The file is an `IncomingFile` whose fetch counts
its downloads; the button's message is the preview as the channel would give it back (its
text, its buttons' actions, the file's message it quotes).

The same flows through Telegram (fake Bot API, the adapter's downloads, answers to the press)
are in tests/chat/test_ledger_chat.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import openpyxl
import pytest

import tests.conftest as people
from bot.app import files
from bot.app.conversation import Caller, Press, Reply, Said, plain, said_rows
from bot.domain.ledger import NewTask
from bot.domain.model import Evidence, Person
from bot.services import Services
from tests.support.county_ledger import TITLES as COUNTY_TITLES
from tests.support.county_ledger import county_workbook
from tests.support.fake_channel import RecordingConversation
from tests.unit.conftest import ZHANG, Actor

ADMIN = Caller(people.ADMIN, "督查室")
OFFICIAL = Caller(people.ZHANG, "张三")
STRANGER = Caller(9999, "路人")

GOOD = [
    ["T0101", "世忻铁路复线保德段征地", "县自然资源局", "张三、李四", "12月底", "陈副县长"],
    ["", "吉港冠宇水泥技改", "县工信局", "王五", date(2027, 3, 31), ""],
    ["", "职业中学新校区建设", "县教育局", "赵六", "长期", "刘副县长"],
]
PAST = [["", "去年的任务", "县发改局", "张三", "2025-06-30", ""],
        ["", "正常任务", "县发改局", "张三", "2027-06-30", ""]]
GOOD_CSV = ("任务,牵头单位,责任人,完成时限\n"
            "世忻铁路复线保德段征地,县自然资源局,张三,2027-06-30\n"
            "吉港冠宇水泥技改,县工信局,王五,2027-03-31\n").encode("utf-8-sig")


def workbook(rows: list[list[Any]]) -> bytes:
    """A 台账 as counties send it: a title row above the header, a 序号 column."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026年县政府重点工作任务台账"])
    sheet.append(["序号", "任务编号", "重点任务", "责任单位", "具体责任人", "完成时限", "分管领导"])
    for number, row in enumerate(rows, start=1):
        sheet.append([number, *row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class FakeFile:
    """A file as a channel gives it: `fetch` counts the downloads, or fails like a network."""

    filename: str
    data: bytes
    size: int | None = None
    broken: bool = False
    fetches: int = 0

    async def fetch(self) -> bytes:
        self.fetches += 1
        if self.broken:
            raise files.DownloadFailed("network down")
        return self.data

    def incoming(self) -> files.IncomingFile:
        size = len(self.data) if self.size is None else self.size
        return files.IncomingFile(self.filename, size, self.fetch)


@dataclass
class Acknowledger:
    """A channel's answer to a press: records the notices; `works` False is a stale press."""

    works: bool = True
    notices: list[str | None] = field(default_factory=list)

    async def __call__(self, notice: str | None) -> bool:
        self.notices.append(notice)
        return self.works


def file_message(caption: str = "/import", *, message_id: int = 500,
                 name: str = "台账.xlsx") -> Said:
    return Said(chat_id=people.ADMIN, message_id=message_id, text=caption,
                author_id=people.ADMIN,
                evidence=(Evidence("document", f"file-{message_id}", name),))


async def send(services: Services, conversation: RecordingConversation, file: FakeFile,
               *, caption: str = "/import", by: Caller = ADMIN,
               dialogue: dict[str, object] | None = None, message_id: int = 500) -> Said:
    """The file's message, sent: answered by the use case when it is a ledger import."""
    said = file_message(caption, message_id=message_id, name=file.filename)
    state = {} if dialogue is None else dialogue
    assert files.is_ledger_file(said, state)
    await files.on_ledger_file(services, conversation, by, said, file.incoming(), state)
    return said


def preview_of(conversation: RecordingConversation, reply: Reply) -> Said:
    """The preview as the channel gives it back under a press: plain text, its buttons'
    actions, the file's message it quotes."""
    message_id = next(i for i, said in enumerate(conversation.said, 1) if said is reply)
    return Said(chat_id=conversation.chat_id, message_id=message_id, text=plain(reply.text),
                by_bot=True, actions=said_rows(reply.buttons), reply_to=reply.quote)


async def press(services: Services, conversation: RecordingConversation, reply: Reply,
                choice: str, file: FakeFile | None, *, by: Caller = ADMIN,
                acknowledge: Acknowledger | None = None) -> Acknowledger:
    answer = acknowledge or Acknowledger()
    under = preview_of(conversation, reply)
    await files.on_import_press(services, conversation, Press(by, f"IMP {choice}", "q1", under),
                                file.incoming() if file is not None else None, answer)
    return answer


def titles(services: Services) -> set[str]:
    return {task.title for task in services.ledger.repo.tasks()}


# ---- who may ------------------------------------------------------------------------------


async def test_strangers_and_officials_cannot_export(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    await files.export(services, conversation, STRANGER)
    bind(ZHANG)
    await files.export(services, conversation, OFFICIAL)
    assert conversation.texts == [services.messages.t("not_registered"),
                                  services.messages.t("admin_only")]
    assert all(reply.attachment is None for reply in conversation.said)


async def test_officials_cannot_import_and_their_file_is_not_downloaded(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    dialogue: dict[str, object] = {}
    await files.import_command(services, conversation, OFFICIAL, "", dialogue)
    assert dialogue == {}  # their next file is not taken for a ledger
    file = FakeFile("台账.xlsx", workbook(GOOD))
    await send(services, conversation, file, by=OFFICIAL)
    assert conversation.texts == [services.messages.t("admin_only")] * 2
    assert file.fetches == 0 and titles(services) == set()


async def test_only_an_admin_may_press_and_an_orphan_button_is_unknown(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", workbook(GOOD))
    await send(services, conversation, file)
    preview = conversation.said[-1]
    refused = await press(services, conversation, preview, "ok", file, by=OFFICIAL)
    orphan = await press(services, conversation, preview, "ok", None)
    msgs = services.messages
    assert refused.notices == [msgs.t("button_not_yours")]
    assert orphan.notices == [msgs.t("button_unknown")]
    assert file.fetches == 1 and titles(services) == set()  # only the preview's download
    assert conversation.edits == []


# ---- the preview, then 确认导入 / 取消 --------------------------------------------------------


@pytest.mark.parametrize("name,data,rows", [("台账.xlsx", workbook(GOOD), 3),
                                           ("台账.csv", GOOD_CSV, 2)])
async def test_a_good_file_gets_a_preview_and_nothing_is_imported_yet(
        services: Services, conversation: RecordingConversation, name: str, data: bytes,
        rows: int) -> None:
    said = await send(services, conversation, FakeFile(name, data))
    [preview] = conversation.said
    assert f"新增 {rows} 项" in plain(preview.text) and name in plain(preview.text)
    assert preview.quote == said
    msgs = services.messages
    assert preview.buttons == [[(msgs.catalog["btn_import_ok"], "IMP ok"),
                                (msgs.catalog["btn_import_no"], "IMP no")]]
    assert titles(services) == set()


async def test_confirm_imports_once(services: Services,
                                    conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", workbook(GOOD))
    await send(services, conversation, file)
    preview = conversation.said[-1]
    answer = await press(services, conversation, preview, "ok", file)
    assert answer.notices == [None]  # acknowledged silently, before the import
    assert titles(services) == {"世忻铁路复线保德段征地", "吉港冠宇水泥技改", "职业中学新校区建设"}
    assert services.ledger.task("T0101").deadline == date(2026, 12, 31)
    assert len(conversation.said) == 1  # the outcome replaced the preview: no new message
    [(posted, outcome)] = conversation.edits
    assert posted.message_id == 1 and "已导入" in plain(outcome.text) and not outcome.buttons
    # A second press (an old button, a double tap) finds the file's marker.
    await press(services, conversation, preview, "ok", file)
    assert len(list(services.ledger.repo.tasks())) == 3
    assert plain(conversation.edits[-1][1].text) == services.messages.t("import_already")


async def test_cancel_imports_nothing(services: Services,
                                      conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", workbook(GOOD))
    await send(services, conversation, file)
    await press(services, conversation, conversation.said[-1], "no", file)
    assert conversation.last == services.messages.t("import_cancelled")
    assert file.fetches == 1 and titles(services) == set()


async def test_a_press_the_channel_could_not_acknowledge_is_also_answered_anew(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", workbook(GOOD))
    await send(services, conversation, file)
    preview = conversation.said[-1]
    await press(services, conversation, preview, "ok", file,
                acknowledge=Acknowledger(works=False))
    assert len(titles(services)) == 3  # the import the admin asked for still happened
    assert "已导入" in plain(conversation.edits[-1][1].text)  # no button left to press
    again = conversation.said[-1]
    assert "已导入" in plain(again.text) and again.quote is not None
    assert again.quote.message_id == 1  # it answers the preview


async def test_an_outcome_that_cannot_replace_the_preview_is_said_anew(
        services: Services) -> None:
    conversation = RecordingConversation(refuse_edits=True)
    file = FakeFile("台账.xlsx", workbook(GOOD))
    await send(services, conversation, file)
    await press(services, conversation, conversation.said[-1], "no", file)
    assert conversation.last == services.messages.t("import_cancelled")


# ---- files that cannot be imported -----------------------------------------------------------


@pytest.mark.parametrize("name,data,expect", [
    ("台账.xlsx", b"PK\x03\x04broken zip", "损坏"),
    ("台账.pdf", b"%PDF-1.4", "无法识别"),
    ("台账.csv", "名称,数量\n甲,1\n".encode(), "缺少"),
])
async def test_a_broken_file_gets_a_clear_answer_and_no_buttons(
        services: Services, conversation: RecordingConversation, name: str, data: bytes,
        expect: str) -> None:
    await send(services, conversation, FakeFile(name, data))
    [answer] = conversation.said
    assert expect in plain(answer.text) and not answer.buttons
    assert titles(services) == set()


async def test_an_oversize_file_is_refused_before_it_is_downloaded(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", b"", size=files.MAX_BYTES + 1)
    await send(services, conversation, file)
    assert conversation.last == services.messages.t("sheet_too_big")
    assert file.fetches == 0


async def test_a_failed_download_asks_for_the_file_again(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", workbook(GOOD), broken=True)
    await send(services, conversation, file)
    assert conversation.last == services.messages.t("import_download_failed")


async def test_past_deadlines_are_errors_unless_the_command_allowed_any_date(
        services: Services, conversation: RecordingConversation) -> None:
    refused = FakeFile("台账.xlsx", workbook(PAST))
    await send(services, conversation, refused)
    assert "日期已过" in conversation.last and not conversation.said[-1].buttons
    # /import 允许任意日期, then a file without a caption: the preview says so, and 确认导入
    # reads the permission back from the preview's last line.
    dialogue: dict[str, object] = {}
    await files.import_command(services, conversation, ADMIN, "允许 任意日期", dialogue)
    assert "本次允许任意日期" in conversation.last
    allowed = FakeFile("台账2.xlsx", workbook(PAST))
    await send(services, conversation, allowed, caption="", dialogue=dialogue, message_id=501)
    preview = conversation.said[-1]
    assert conversation.last.endswith(services.messages.t("import_any_date_note"))
    assert dialogue == {}  # for that file only
    await press(services, conversation, preview, "ok", allowed)
    assert titles(services) == {"去年的任务", "正常任务"}


def test_only_a_file_after_import_or_captioned_so_is_a_ledger() -> None:
    assert files.is_ledger_file(file_message("/import@luoshi_bot 允许任意日期"), {})
    assert files.is_ledger_file(file_message(""), {files.AWAITING_IMPORT: True})
    assert not files.is_ledger_file(file_message("现场照片"), {})  # 佐证材料: a report
    assert not files.is_ledger_file(file_message(""), {})


# ---- /export ---------------------------------------------------------------------------------


async def test_export_answers_with_a_workbook_of_the_ledger(
        services: Services, conversation: RecordingConversation) -> None:
    ledger = services.ledger
    kept = ledger.add_task(NewTask("世忻铁路复线保德段征地", "县自然资源局", ("张三",),
                                   date(2026, 12, 31)), who="督查室")
    gone = ledger.add_task(NewTask("吉港冠宇水泥技改", "县工信局", ("王五",), None),
                           who="督查室")
    ledger.cancel_task(gone.id, who="督查室")
    await files.export(services, conversation, ADMIN)
    [reply] = conversation.said
    assert reply.attachment is not None and reply.attachment.kind == "document"
    assert reply.attachment.filename.endswith(".xlsx")
    assert plain(reply.text).startswith("台账导出：1 项")
    sheet = openpyxl.load_workbook(io.BytesIO(reply.attachment.data)).active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == ["编号", "任务"]
    assert [row[:2] for row in rows[1:]] == [[kept.id, "世忻铁路复线保德段征地"]]


# ---- the 台账 a county keeps (issue 14, item 6) ------------------------------------------------


async def test_the_county_workbook_is_previewed_and_imported_from_its_second_sheet(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("2026年重点任务台账.xlsx", county_workbook())
    await send(services, conversation, file)
    [preview] = conversation.said
    text = plain(preview.text)
    assert "新增 4 项" in text and "工作表：重点任务台账" in text
    assert "进展情况 3 项记为最新进展（12月1日），其中 2 项读出了进度。" in text
    assert "已跳过 4 行合计、落款或说明：第 8 行“合计”" in text
    msgs = services.messages
    assert preview.buttons == [[(msgs.catalog["btn_import_ok"], "IMP ok 1"),
                                (msgs.catalog["btn_import_no"], "IMP no")]]
    await press(services, conversation, preview, "ok 1", file)
    assert titles(services) == set(COUNTY_TITLES)
    rail = next(t for t in services.ledger.repo.tasks() if t.title == COUNTY_TITLES[0])
    assert (rail.progress, rail.created_at.date()) == (80, date(2026, 9, 1))
    assert "进展情况 3 项" in plain(conversation.edits[-1][1].text)


async def test_several_ledger_sheets_are_asked_about_with_a_button_each(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", county_workbook(second_ledger="11月台账"))
    said = await send(services, conversation, file)
    [question] = conversation.said
    msgs = services.messages
    assert plain(question.text).startswith("📋 台账.xlsx 中有 2 个工作表都像台账")
    assert question.quote == said  # like a preview: the buttons find the file through it
    assert question.buttons == [[("重点任务台账", "IMP sheet 1")], [("11月台账", "IMP sheet 2")],
                                [(msgs.catalog["btn_import_no"], "IMP no")]]
    await press(services, conversation, question, "sheet 2", file)
    [(posted, preview)] = conversation.edits
    assert posted.message_id == 1  # the question became that sheet's preview
    assert "新增 1 项" in plain(preview.text) and "工作表：11月台账" in plain(preview.text)
    assert preview.buttons == [[(msgs.catalog["btn_import_ok"], "IMP ok 2"),
                                (msgs.catalog["btn_import_no"], "IMP no")]]
    assert titles(services) == set()
    # 确认导入 under the edited message imports the sheet it names.
    conversation.said[0] = Reply(preview.text, buttons=preview.buttons, quote=said)
    await press(services, conversation, conversation.said[0], "ok 2", file)
    assert titles(services) == {COUNTY_TITLES[0]} and file.fetches == 3


@pytest.mark.parametrize("caption", ["/import --sheet 11月台账", "/import 工作表=“11月台账”",
                                     "/import --sheet=11月台账 --allow-past"])
async def test_a_caption_names_the_sheet(services: Services, conversation: RecordingConversation,
                                         caption: str) -> None:
    file = FakeFile("台账.xlsx", county_workbook(second_ledger="11月台账"))
    await send(services, conversation, file, caption=caption)
    [preview] = conversation.said
    assert "工作表：11月台账" in plain(preview.text)
    await press(services, conversation, preview, "ok", file)  # an old button: the caption's
    assert titles(services) == {COUNTY_TITLES[0]}


async def test_import_sheet_as_a_command_then_the_file(
        services: Services, conversation: RecordingConversation) -> None:
    dialogue: dict[str, object] = {}
    await files.import_command(services, conversation, ADMIN, "--sheet 重点任务台账", dialogue)
    file = FakeFile("台账.xlsx", county_workbook(second_ledger="11月台账"))
    await send(services, conversation, file, caption="", dialogue=dialogue)
    assert dialogue == {}
    assert "工作表：重点任务台账" in conversation.last
    assert conversation.said[-1].buttons[0][0][1] == "IMP ok 1"


async def test_a_sheet_that_is_not_there_is_named_with_the_sheets_there_are(
        services: Services, conversation: RecordingConversation) -> None:
    await send(services, conversation, FakeFile("台账.xlsx", county_workbook()),
               caption="/import --sheet 台账")
    assert conversation.last == ("❌ 文件中没有名为“台账”的工作表。"
                                 "现有工作表：填表说明、重点任务台账。")
    assert not conversation.said[-1].buttons


async def test_allow_past_in_the_caption_lets_past_deadlines_through(
        services: Services, conversation: RecordingConversation) -> None:
    file = FakeFile("台账.xlsx", workbook(PAST))
    await send(services, conversation, file, caption="/import --allow-past")
    preview = conversation.said[-1]
    assert conversation.last.endswith(services.messages.t("import_any_date_note"))
    await press(services, conversation, preview, "ok", file)
    assert titles(services) == {"去年的任务", "正常任务"}


def test_import_options() -> None:
    assert files.import_options("") == files.ImportOptions()
    assert files.import_options("允许 任意日期") == files.ImportOptions(any_date=True)
    assert files.import_options("--ALLOW-PAST") == files.ImportOptions(any_date=True)
    assert files.import_options('--sheet "重点 任务" 允许任意日期') == files.ImportOptions(
        any_date=True, sheet="重点 任务")
    assert files.import_options("工作表：台账") == files.ImportOptions(sheet="台账")
    assert files.import_options("随便写写") == files.ImportOptions()
