"""Tests for the fake Telegram Bot API, driven through real python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import json
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from bot.fakeapi import FakeBotApi, FakeBotApiServer, FakeRequest, parse_entities
from bot.fakeapi.core import ApiError
from bot.fakeapi.server import decode_request

TOKEN = "123456:TEST"
ALICE = 1001
BOB = 1002
GROUP = -1001234567890

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082"
)


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@pytest.fixture
def api() -> FakeBotApi:
    fake = FakeBotApi()
    fake.add_user(ALICE, "Alice", "alice")
    fake.add_user(BOB, "Bob")
    return fake


@pytest.fixture
def server(api: FakeBotApi) -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(api) as srv:
        yield srv


@pytest.fixture
async def http_bot(server: FakeBotApiServer) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)
    async with bot:
        yield bot


@pytest.fixture
async def fake_bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api))
    async with bot:
        yield bot


def raw_post(server: FakeBotApiServer, path: str, data: bytes, ctype: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.url + path, data=data, headers={"Content-Type": ctype}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --------------------------------------------------------------------------- over HTTP


async def test_get_me_over_http(http_bot: Bot) -> None:
    me = await http_bot.get_me()
    assert me.id == 123456
    assert me.username == "luoshi_test_bot"
    assert me.is_bot


async def test_send_message_with_inline_keyboard(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "/start")
    message = await http_bot.send_message(ALICE, "Pick one", reply_markup=keyboard(("A", "a")))
    assert message.text == "Pick one"
    assert message.chat.type == "private"
    assert message.chat.first_name == "Alice"
    assert message.from_user is not None and message.from_user.id == 123456
    assert message.reply_markup is not None
    assert message.reply_markup.inline_keyboard[0][0].callback_data == "a"
    stored = api.sent[-1]
    assert stored["message_id"] == message.message_id
    assert stored["reply_markup"] == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert api.messages_to(ALICE) == [stored]
    assert api.calls[-1][0] == "sendMessage"


async def test_get_updates_after_send_text(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "/start@luoshi_test_bot hello")
    updates = await http_bot.get_updates(timeout=0)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start@luoshi_test_bot hello"
    entity = message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 22)
    # The offset confirms the update, like Telegram.
    assert await http_bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert api.pending_updates == []


async def test_long_poll_wakes_up_on_new_update(http_bot: Bot, api: FakeBotApi) -> None:
    timer = threading.Timer(0.2, api.send_text, args=(BOB, "late"))
    timer.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    updates = await http_bot.get_updates(timeout=3)
    assert [u.message.text for u in updates if u.message] == ["late"]
    assert loop.time() - started < 2


async def test_unknown_chat_is_forbidden(http_bot: Bot, api: FakeBotApi) -> None:
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await http_bot.send_message(BOB, "hi")
    api.send_text(BOB, "hello")
    api.block(BOB)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await http_bot.send_message(BOB, "hi")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await http_bot.send_message(-42, "hi")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_retry_after_injection(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "hi")
    api.fail_next("sendmessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await http_bot.send_message(ALICE, "x")
    assert retry_seconds(caught.value) == 7
    assert api.too_many_requests == 1
    assert (await http_bot.send_message(ALICE, "x")).text == "x"


async def test_unknown_method_is_404(http_bot: Bot, server: FakeBotApiServer) -> None:
    with pytest.raises(EndPointNotFound):
        await http_bot.do_api_request("fooBar")
    status, body = raw_post(server, f"/bot{TOKEN}/fooBar", b"", "application/json")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_wrong_token_is_401(server: FakeBotApiServer) -> None:
    requests = (HTTPXRequest(), HTTPXRequest())
    bot = Bot(
        "999:WRONG",
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        with pytest.raises(InvalidToken):
            await bot.get_me()
    finally:  # the bot never initialized, so close its transports by hand
        for request in requests:
            await request.shutdown()
    status, body = raw_post(server, "/bot999:WRONG/getMe", b"", "application/json")
    assert status == 401 and body["description"] == "Unauthorized"


async def test_document_round_trip(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "/export")
    content = bytes(range(256)) * 40 + b"\r\n--boundary-like\r\n"
    message = await http_bot.send_document(
        ALICE, document=content, filename="台账 2024.xlsx", caption="123"
    )
    document = message.document
    assert document is not None and document.file_name == "台账 2024.xlsx"
    assert document.file_size == len(content)
    assert message.caption == "123"
    assert api.file_bytes(document.file_id) == content
    tg_file = await http_bot.get_file(document.file_id)
    assert tg_file.file_path is not None and tg_file.file_path.startswith(http_bot.base_file_url)
    buffer = io.BytesIO()
    await tg_file.download_to_memory(buffer)
    assert buffer.getvalue() == content
    # Re-sending by file_id works without an upload.
    again = await http_bot.send_document(ALICE, document=document.file_id)
    assert again.document is not None and again.document.file_id == document.file_id


async def test_user_photo_can_be_downloaded(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_photo(ALICE, PNG_1x1, caption="look")
    (update,) = await http_bot.get_updates(timeout=0)
    assert update.message is not None and update.message.caption == "look"
    photo = update.message.photo[-1]
    assert (photo.width, photo.height) == (1, 1)
    data = await (await photo.get_file()).download_as_bytearray()
    assert bytes(data) == PNG_1x1
    sent = await http_bot.send_photo(ALICE, photo=PNG_1x1)
    assert sent.photo and sent.photo[0].file_size == len(PNG_1x1)


async def test_numeric_strings_stay_strings(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "hi")
    message = await http_bot.send_message(ALICE, "123")
    assert message.text == "123"
    assert api.sent[-1]["text"] == "123"
    assert api.calls_of("sendMessage")[-1]["text"] == "123"
    query_id = api.press_button(ALICE, api.sent[-1], "9", strict=False)
    assert await http_bot.answer_callback_query(query_id, text="456")
    assert api.answered_callbacks == [{"callback_query_id": query_id, "text": "456"}]


async def test_dropped_connection_is_network_error(http_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "hi")
    api.drop_connection_next("sendMessage", after_processing=True)
    with pytest.raises(NetworkError):
        await http_bot.send_message(ALICE, "lost answer")
    assert api.sent[-1]["text"] == "lost answer"  # it was delivered, only the answer was lost
    assert (await http_bot.send_message(ALICE, "ok")).text == "ok"


async def test_raw_bodies_json_query_and_case_insensitive(server: FakeBotApiServer) -> None:
    server.api.send_text(ALICE, "hi")
    status, body = raw_post(
        server,
        f"/bot{TOKEN}/SENDMESSAGE?chat_id={ALICE}",
        json.dumps({"text": "007", "reply_markup": {"force_reply": True}}).encode(),
        "application/json",
    )
    assert status == 200 and body["ok"] is True
    assert body["result"]["text"] == "007"
    assert "reply_markup" not in body["result"]  # Telegram only echoes inline keyboards
    assert server.api.sent_markup(server.api.sent[-1]) == {"force_reply": True}
    status, body = raw_post(
        server,
        f"/bot{TOKEN}/sendMessage",
        b"chat_id=1001&text=",
        "application/x-www-form-urlencoded",
    )
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


# --------------------------------------------------------------------------- in-process


async def test_fake_request_basic_flow(fake_bot: Bot, api: FakeBotApi) -> None:
    assert (await fake_bot.get_me()).username == "luoshi_test_bot"
    api.send_text(ALICE, "/start")
    (update,) = await fake_bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "/start"
    sent = await fake_bot.send_message(
        ALICE,
        "Reply please",
        reply_markup=ForceReply(),
        reply_parameters=ReplyParameters(update.message.message_id),
    )
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "/start"
    with pytest.raises(Forbidden):
        await fake_bot.send_message(BOB, "hi")
    message = await fake_bot.send_document(ALICE, document=b"abc", filename="a.txt")
    assert message.document is not None and message.document.mime_type == "text/plain"
    data = await (await fake_bot.get_file(message.document.file_id)).download_as_bytearray()
    assert bytes(data) == b"abc"
    with pytest.raises(EndPointNotFound):
        await fake_bot.do_api_request("fooBar")


async def test_fake_request_long_poll_does_not_block_loop(fake_bot: Bot, api: FakeBotApi) -> None:
    poll = asyncio.create_task(fake_bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    api.send_text(ALICE, "wake up")
    updates = await asyncio.wait_for(poll, 1)
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    assert len(api.calls_of("getUpdates")) == 1


async def test_callback_edit_flow(fake_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "/task")
    sent = await fake_bot.send_message(ALICE, "Task 1", reply_markup=keyboard(("Done", "done:1")))
    with pytest.raises(ValueError, match="no button"):
        api.press_button(ALICE, api.sent[-1], "done:2")
    query_id = api.press_button(ALICE, api.sent[-1], "done:1")
    updates = await fake_bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None and query.data == "done:1" and query.id == query_id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await query.answer("Saved")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")
    edited = await fake_bot.edit_message_text("Task 1 ✅", ALICE, sent.message_id)
    assert isinstance(edited, type(sent)) and edited.text == "Task 1 ✅"
    assert api.sent[-1]["text"] == "Task 1 ✅"
    assert "reply_markup" not in api.sent[-1]  # editing without reply_markup drops the keyboard
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await fake_bot.edit_message_text("Task 1 ✅", ALICE, sent.message_id)
    assert await fake_bot.delete_message(ALICE, sent.message_id)
    assert api.messages_to(ALICE) == []


async def test_parse_modes_and_limits(fake_bot: Bot, api: FakeBotApi) -> None:
    api.send_text(ALICE, "hi")
    message = await fake_bot.send_message(
        ALICE, "<b>粗体</b> &lt;ok&gt;", parse_mode=ParseMode.HTML
    )
    assert message.text == "粗体 <ok>"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 2)]
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "" at byte offset 2'):
        await fake_bot.send_message(ALICE, "1 < 2", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '.' is reserved"):
        await fake_bot.send_message(ALICE, "Done.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await fake_bot.send_message(ALICE, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await fake_bot.send_message(ALICE, "x", reply_markup=keyboard(("A", "d" * 65)))


async def test_application_end_to_end_with_fake_request(api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Welcome", reply_markup=keyboard(("Go", "go")))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Going")
        await query.edit_message_text(f"Pressed {query.data}")

    app = (
        Application.builder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        api.send_text(ALICE, "/start")
        welcome = await asyncio.to_thread(api.wait_for, lambda m: m.get("text") == "Welcome", 3)
        api.press_button(ALICE, welcome, "go")
        # Same event loop as the bot: use the non-blocking variant.
        edited = await api.wait_for_async(lambda m: m.get("text") == "Pressed go", 3)
        assert edited is welcome  # the stored message was edited in place
        await app.updater.stop()
        await app.stop()
    assert api.answered_callbacks[0]["text"] == "Going"
    assert api.pending_updates == []


# --------------------------------------------------------------------------- core only


def test_group_privacy_and_supergroup_chat(api: FakeBotApi) -> None:
    api.add_group(GROUP, "县政府工作群")
    api.send_text(ALICE, "just chatting", chat_id=GROUP)
    api.send_text(ALICE, "/report@other_bot", chat_id=GROUP)
    api.send_text(ALICE, "/report@luoshi_test_bot", chat_id=GROUP)
    api.send_text(ALICE, "hey @luoshi_test_bot", chat_id=GROUP)
    texts = [u["message"]["text"] for u in api.pending_updates]
    assert texts == ["/report@luoshi_test_bot", "hey @luoshi_test_bot"]
    status, body = api.call("sendMessage", {"chat_id": GROUP, "text": "ok"})
    assert status == 200
    assert body["result"]["chat"] == {"id": GROUP, "title": "县政府工作群", "type": "supergroup"}
    # Alice never wrote to the bot privately.
    assert api.call("sendMessage", {"chat_id": ALICE, "text": "x"})[0] == 403


def test_get_updates_offset_limit_and_allowed_updates(api: FakeBotApi) -> None:
    for text in ("a", "b", "c"):
        api.send_text(ALICE, text)
    _, body = api.call("getUpdates", {"limit": 2})
    first, second = body["result"]
    assert [first["message"]["text"], second["message"]["text"]] == ["a", "b"]
    _, body = api.call("getUpdates", {"offset": second["update_id"] + 1})
    assert [u["message"]["text"] for u in body["result"]] == ["c"]
    api.press_button(ALICE, 1, "x", strict=False)
    _, body = api.call("getUpdates", {"offset": -1, "allowed_updates": ["message"]})
    assert body["result"] == []


def test_wait_for_timeout_lists_what_was_sent(api: FakeBotApi) -> None:
    api.send_text(ALICE, "hi")
    api.call("sendMessage", {"chat_id": ALICE, "text": "something else"})
    with pytest.raises(TimeoutError, match="something else"):
        api.wait_for(lambda m: m.get("text") == "never", timeout=0.05)


def test_rate_limit_per_chat() -> None:
    now = [1000.0]
    api = FakeBotApi(clock=lambda: now[0])
    api.send_text(ALICE, "hi")
    api.rate_limit(per_chat_per_sec=1)
    assert api.call("sendMessage", {"chat_id": ALICE, "text": "1"})[0] == 200
    status, body = api.call("sendMessage", {"chat_id": ALICE, "text": "2"})
    assert status == 429 and body["parameters"] == {"retry_after": 1}
    assert body["description"] == "Too Many Requests: retry after 1"
    now[0] += 1.0
    assert api.call("sendMessage", {"chat_id": ALICE, "text": "3"})[0] == 200
    assert api.too_many_requests == 1


def test_parse_entities_utf16_offsets_and_errors() -> None:
    text, entities = parse_entities(r"😀 *bold* see https://x\.org/a\.", "MarkdownV2")
    assert text == "😀 bold see https://x.org/a."
    assert entities[0] == {"type": "bold", "offset": 3, "length": 4}
    assert entities[1] == {"type": "url", "offset": 12, "length": 15}
    with pytest.raises(ApiError, match="Can't find end of the entity starting at byte offset 5"):
        parse_entities("snake_case", "Markdown")
    with pytest.raises(ApiError, match='Can\'t find end tag corresponding to start tag "b"'):
        parse_entities("<b>open", "HTML")
    text, entities = parse_entities('<pre><code class="language-py">x = 1</code></pre>', "HTML")
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "py"}]


def test_decode_request_keeps_text_raw_and_parses_multipart() -> None:
    params, files = decode_request(
        "application/x-www-form-urlencoded",
        b"chat_id=42&text=123&reply_markup=%7B%22force_reply%22%3A+true%7D&show_alert=true",
    )
    assert params == {
        "chat_id": 42,
        "text": "123",
        "reply_markup": {"force_reply": True},
        "show_alert": True,
    }
    assert files == {}
    boundary = "XyZ"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n123\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
            f'filename="报表.xlsx"\r\nContent-Type: application/vnd.ms-excel\r\n\r\n'
        ).encode()
        + b"\x00\r\n\xff"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    params, files = decode_request(f"multipart/form-data; boundary={boundary}", body)
    assert params == {"caption": "123"}
    assert files == {"document": ("报表.xlsx", b"\x00\r\n\xff", "application/vnd.ms-excel")}
