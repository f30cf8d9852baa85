"""钉钉 robot messages at the application's edge: a Stream frame parsed into the application's
inputs (`Caller`, `Said`, `Press`), dispatched to the same use cases as Telegram's handlers,
and made exactly-once through the durable inbox (bot/adapters/inbox.py).

**Parsing** (`said_of`). `senderStaffId` is the caller (`Caller.on("dingtalk", staffId,
senderNick)`); the chat is the caller's account number in the one-to-one chat
(conversationType "1": the sender answers there through oToMessages) or
`group_number(Address("dingtalk", conversationId))` in a group ("2"; only @robot messages
arrive). The message id is a stable 48-bit number from `msgId` (no counter to keep). A quoted
message (`text.isReplyMsg`, `text.repliedMsg`) becomes `reply_to`, by the bot when its
senderId is the robot's (`chatbotUserId`); its action data are read from the dtmd links in
its text, if it shows any.

**Dispatch** (`DingTalkInbound.handle`), in this order: a text carrying an action (a pressed
action-card button: `render.action_of_text`) → bot/app/decisions.py `decide` with a `Press`
whose `under` is None (钉钉 does not say which message the button was under; the use cases
check who pressed and whether the action still holds; robot messages cannot be edited, so a
decision is said anew) — or, for a button that reads a message again, the question it was
under (see below) — the returned notice said in the chat;
"/command args" → the use case of the same command as on Telegram (the table `COMMANDS`);
"绑定 CODE" → binding; anything else → reports.on_reply (a quoted robot message) or
reports.on_plain. `/add` takes the one-line form only: the guided dialogue (its state in the
store, bot/app/dialogue.py) is wired to Telegram's handlers only (said so). `/invite` gives the
text to send the robot ("发送“绑定 CODE”给机器人") instead of a link. Files (/import, /export)
are not offered: robot messages carry no files here.

**Buttons that read a message again** (PICK: which task a plain report was about; SURE:
确认交账 / 只是进展; DATE: 确认 / 重新填写 an unusual date in /add, /extend or a 申请延期).
On Telegram the press comes with the question it was under, which replies to the original
message; decisions.py reads that message again and lets only its author answer. On 钉钉,
`DingTalkConversation.say` gives such buttons (a question quoting the message being handled)
a reference, the message's msgId (`render.with_reference`), and asks the inbox to keep the
few fields of the frame it needs with its done mark (`Receipt.keep`, forgotten after
`KEEP_APPLIED`, 48 h). A press carrying a reference (`resolve_under`) is answered from the
inbox only — never from the pressed text: the frame stored under ``dingtalk:<msgId>`` gives
the original's text, chat, author and message id, and the press gets
``under = Said(question, reply_to=original)``. Refused: a garbled reference (the usual
"button unknown"); a message of another chat, or of someone else (not theirs — decide checks
the author again); a message no longer in the inbox ("这条消息已过期，请重新发送"). Without an
inbox (read-only or in-memory store) no reference is given and those buttons decline.

**Exactly once** (`DingTalkIntake`). The Stream client ACKs a frame only after the handler
returns; 钉钉 delivers unACKed frames again. The handler stores the frame in the inbox (keyed
``dingtalk:<msgId>``, fsynced) and only then returns, so the ACK follows durability; a msgId
already in the inbox is a redelivery and is ACKed without being applied again. Stored frames
are handled in lanes (one per chat, in order), each under an inbox receipt, so the change and
the applied mark are one commit; then marked done. At start `replay` handles what was stored
but not applied, and answers (without applying) what was applied but not answered — as
bot/tg/intake.py does for Telegram.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote

from bot.adapters.inbox import APPLIED, INBOX, RECEIVED, StoreInbox, applying
from bot.adapters.lanes import Lanes
from bot.app import actions, commands, review, supervision
from bot.app.common import guarded
from bot.app.conversation import Caller, Conversation, Posted, Press, Reply, Said
from bot.app.decisions import decide
from bot.app.reports import on_plain, on_reply, reanswer, resume
from bot.dingtalk.render import (
    SEND_URL,
    action_of_text,
    referable,
    reference_of_text,
    with_reference,
)
from bot.dingtalk.stream import ROBOT_MESSAGE_TOPIC
from bot.domain.accounts import group_number
from bot.domain.model import DINGTALK, Address
from bot.domain.ports import Buttons, DeliveryFailed, PersistenceError, Unreachable
from bot.services import Services

log = logging.getLogger(__name__)

_LINK = re.compile(re.escape(SEND_URL) + r"([^)\s]+)")


def message_number(msg_id: str) -> int:
    """A 钉钉 msgId as the application's message id: a stable 48-bit number."""
    return int.from_bytes(hashlib.blake2b(msg_id.encode(), digest_size=6).digest(), "big")


def caller_of(data: dict[str, Any]) -> Caller:
    return Caller.on(DINGTALK, str(data.get("senderStaffId") or ""),
                     str(data.get("senderNick") or ""))


def _content(data: dict[str, Any]) -> dict[str, Any]:
    text = data.get("text")
    return text if isinstance(text, dict) else {}


def actions_in(text: str) -> tuple[str, ...]:
    """The action data of the dtmd links a (quoted) robot message shows, in order."""
    found = (action_of_text(unquote(m.group(1))) for m in _LINK.finditer(text))
    return tuple(a for a in found if a)


def said_of(data: dict[str, Any]) -> Said:
    """A robot message as the application sees it (with the message it quotes, if any)."""
    caller = caller_of(data)
    private = str(data.get("conversationType", "1")) != "2"
    chat_id = caller.user_id if private else group_number(
        Address(DINGTALK, str(data.get("conversationId") or "")))
    content = _content(data)
    reply_to = None
    replied = content.get("repliedMsg")
    if content.get("isReplyMsg") and isinstance(replied, dict):
        inner = replied.get("content")
        quoted = str(inner.get("text") or "") if isinstance(inner, dict) else str(inner or "")
        robot = data.get("chatbotUserId")
        by_bot = bool(robot) and replied.get("senderId") == robot
        reply_to = Said(chat_id, message_number(str(replied.get("msgId") or quoted)),
                        text=quoted, author_id=None, by_bot=by_bot, private=private,
                        actions=actions_in(quoted) if by_bot else ())
    return Said(chat_id, message_number(str(data.get("msgId") or "")),
                text=str(content.get("content") or "").strip(), author_id=caller.user_id,
                private=private, reply_to=reply_to)


# ---- buttons that read a message again ---------------------------------------------------------

REREAD = frozenset({actions.PICK, actions.DATE, actions.SURE})
KEPT_FIELDS = ("msgId", "senderStaffId", "senderNick", "conversationType", "conversationId")


def rereads(data: str) -> bool:
    """Whether a button's action reads the message its question is about again."""
    decoded = actions.decode(data)
    return decoded is not None and decoded.kind in REREAD


def kept_of(data: dict[str, Any]) -> dict[str, Any]:
    """What the inbox keeps of a frame a question is about: enough for `said_of`."""
    kept = {name: data[name] for name in KEPT_FIELDS if name in data}
    kept["text"] = {"content": str(_content(data).get("content") or "")}
    return {"topic": ROBOT_MESSAGE_TOPIC, "data": kept}


class Gone(Exception):
    """A pressed button's reference cannot be followed; `notice` (a catalogue key) says why."""

    def __init__(self, notice: str) -> None:
        super().__init__(notice)
        self.notice = notice


def resolve_under(inbox: StoreInbox | None, said: Said, ref: str) -> Said:
    """The question a button with a reference was under, replying to the original message
    as the inbox stored it (see the module docstring). Raises `Gone`."""
    if not ref:
        raise Gone("button_unknown")
    stored = inbox.kept(f"dingtalk:{ref}") if inbox is not None else None
    data = stored.get("data") if stored is not None else None
    if not isinstance(data, dict) or str(data.get("msgId") or "") != ref:
        raise Gone("button_message_gone")
    original = said_of(data)
    if original.chat_id != said.chat_id:
        raise Gone("button_not_yours")
    # The question's own text and id are not known (钉钉 does not say); it cannot be edited.
    return Said(said.chat_id, 0, by_bot=True, private=said.private, reply_to=original)


class DingTalkConversation:
    """The chat a robot message came from, as the application's `Conversation`: answers go
    through the services' sender to the chat number; robot messages cannot be edited. With
    the frame being handled, a question about it gets referenced buttons (module docstring)."""

    def __init__(self, services: Services, chat_id: int,
                 frame: dict[str, Any] | None = None) -> None:
        self.services = services
        self.chat_id = chat_id
        self.frame = frame

    def _buttons(self, reply: Reply) -> Buttons:
        """The reply's buttons; those that read the quoted message again (when it is the
        frame being handled, kept by the inbox) also name it."""
        frame, quote = self.frame, reply.quote
        if not reply.buttons or frame is None or quote is None:
            return reply.buttons
        msg_id = str(frame.get("msgId") or "")
        receipt = applying.get()
        if (not referable(msg_id) or quote.message_id != message_number(msg_id)
                or quote.chat_id != self.chat_id or receipt is None
                or receipt.key != frame_key(frame)
                or not any(rereads(data) for row in reply.buttons for _label, data in row)):
            return reply.buttons
        receipt.keep = kept_of(frame)
        return with_reference(reply.buttons, msg_id, rereads)

    async def say(self, reply: Reply) -> Posted | None:
        sender = self.services.sender
        if sender is None:
            return None
        attachment = reply.attachment
        try:
            if attachment is None:
                buttons = self._buttons(reply)
                message_id = await sender.send(self.chat_id, reply.text, buttons or None)
            elif attachment.kind == "photo":
                message_id = await sender.send_photo(self.chat_id, attachment.data, reply.text)
            else:
                message_id = await sender.send_document(self.chat_id, attachment.filename,
                                                        attachment.data, reply.text)
        except (Unreachable, DeliveryFailed) as err:
            log.warning("could not answer in 钉钉 chat %s: %s", self.chat_id, err)
            return None
        return Posted(self.chat_id, message_id)

    async def edit(self, posted: Posted, reply: Reply) -> bool:
        return False


# ---- the commands ------------------------------------------------------------------------------

WithArgs = Callable[[Services, Caller, Sequence[str], Conversation], Awaitable[None]]
Review = Callable[[Services, Conversation, Caller, Said], Awaitable[None]]


def invite_text(services: Services) -> Callable[[str], str]:
    """The 钉钉 "link" of an invitation: the text to send the robot."""
    return lambda code: services.messages.t("dingtalk_invite", code=code)


async def _invite(services: Services, caller: Caller, args: Sequence[str],
                  conversation: Conversation) -> None:
    await commands.invite(services, caller, args, conversation, invite_text(services))


async def _help(services: Services, caller: Caller, args: Sequence[str],
                conversation: Conversation) -> None:
    await commands.help_command(services, caller, conversation)


async def _people(services: Services, caller: Caller, args: Sequence[str],
                  conversation: Conversation) -> None:
    await commands.people(services, caller, conversation)


WITH_ARGS: dict[str, WithArgs] = {
    "start": commands.start, "help": _help, "tasks": commands.list_tasks,
    "task": commands.show_task, "mine": commands.mine, "invite": _invite, "people": _people,
    "cancel": commands.cancel_task, "remind": commands.remind, "plan": commands.plan_preview,
    "leave": supervision.leave, "exempt": supervision.exempt, "report": supervision.report,
    "score": supervision.score,
}
REVIEW: dict[str, Review] = {
    "verify": review.verify, "reject": review.reject, "reopen": review.reopen,
    "resolve": review.resolve, "extend": review.extend,
}
COMMANDS = frozenset({*WITH_ARGS, *REVIEW, "add", "dispatch"})


def command_of(text: str) -> tuple[str, list[str]] | None:
    """"/tasks 逾期" → ("tasks", ["逾期"]); None for text that is not a command."""
    if not text.startswith("/"):
        return None
    words = text.split()
    return words[0][1:].split("@")[0].lower(), words[1:]


async def _command(services: Services, conversation: Conversation, caller: Caller,
                   said: Said, name: str, args: list[str]) -> None:
    if name in WITH_ARGS:
        await WITH_ARGS[name](services, caller, args, conversation)
    elif name in REVIEW:
        await REVIEW[name](services, conversation, caller, said)
    elif name == "dispatch":
        await commands.dispatch_now(services, caller, said, conversation)
    elif name == "add":
        if not args and services.is_admin(caller.user_id):
            await conversation.say(Reply(services.messages.t("add_one_line")))
            return
        await commands.add_entry(services, caller, said, conversation)
    else:
        await commands.fallback(services, caller, said, conversation)


class DingTalkInbound:
    """A robot message → the use case it asks for, answered in its chat."""

    def __init__(self, services: Services, inbox: StoreInbox | None = None) -> None:
        self.services = services
        # where the messages buttons are about are found again (the intake's inbox)
        self.inbox = inbox if inbox is not None else services.inbox

    async def handle(self, data: dict[str, Any]) -> None:
        services = self.services
        caller, said = caller_of(data), said_of(data)
        if not caller.account:
            return
        conversation = DingTalkConversation(services, said.chat_id, data)
        action = action_of_text(said.text)
        if action is not None:
            under = None
            ref = reference_of_text(said.text)
            if ref is not None:
                try:
                    under = resolve_under(self.inbox, said, ref)
                except Gone as gone:
                    await conversation.say(Reply(services.messages.t(gone.notice)))
                    return
            press = Press(caller, action, str(data.get("msgId") or said.message_id), under)
            notice = await decide(services, conversation, press)
            if notice:
                await conversation.say(Reply(notice))
            return
        command = command_of(said.text)
        if command is not None:
            name, args = command
            await guarded(services, conversation, lambda: _command(
                services, conversation, caller, said, name, args))
            return
        if await guarded(services, conversation, lambda: commands.bind_by_text(
                services, caller, said, conversation)):
            return
        replied = said.reply_to
        handle = on_reply if replied is not None and replied.by_bot else on_plain
        await guarded(services, conversation,
                      lambda: handle(services, conversation, caller, said))

    async def reanswer(self, data: dict[str, Any]) -> None:
        """A message applied just before a crash, never answered: answer it now without
        applying it again (as bot/tg/reporting.py `reanswer`)."""
        services = self.services
        caller, said = caller_of(data), said_of(data)
        conversation = DingTalkConversation(services, said.chat_id, data)
        if action_of_text(said.text) is not None:
            await reanswer(services, conversation,
                           f"callback:{data.get('msgId') or said.message_id}")
            return
        if await resume(services, conversation, caller, said):
            return
        await reanswer(services, conversation, said.source, said)


# ---- exactly once ------------------------------------------------------------------------------


def frame_key(data: dict[str, Any]) -> str | None:
    msg_id = data.get("msgId")
    return f"dingtalk:{msg_id}" if msg_id else None


class DingTalkIntake:
    """The Stream client's handler: frames made durable before they are ACKed, handled in one
    lane per chat under an inbox receipt (see the module docstring). Without an inbox (a
    read-only or in-memory store) frames are handled directly, before the ACK."""

    def __init__(self, inbound: DingTalkInbound, inbox: StoreInbox | None, *,
                 on_frame: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.inbound = inbound
        self.inbox = inbox
        self.on_frame = on_frame  # sees every robot message first (who wrote from where)
        self._lanes: Lanes[tuple[str | None, dict[str, Any], bool]] = Lanes(
            lambda item: self._handle(*item), "luoshi-dingtalk-lane")
        self._queued: set[str] = set()  # keys in a lane, not yet handled
        self.handled = 0
        self.redelivered = 0

    async def __call__(self, topic: str, data: dict[str, Any]) -> dict[str, Any] | None:
        if topic != ROBOT_MESSAGE_TOPIC:
            log.info("钉钉 frame on %s ignored (buttons come back as robot messages)", topic)
            return None
        if self.on_frame is not None:
            self.on_frame(data)
        key = frame_key(data)
        if self.inbox is None or key is None:
            await self._handle(None, data, False)
            return None
        if self.inbox.known(key):
            self.redelivered += 1
            stored = self.inbox.store.get(INBOX, key) or {}
            if stored.get("state") == RECEIVED and key not in self._queued:
                # Stored, then the handler failed before it was queued: handle it now.
                self._enqueue(key, data, reanswer=False)
            else:
                log.info("钉钉 message %s delivered again; not applied twice", key)
            return None
        # Durable before the ACK: PersistenceError propagates, the frame is not ACKed (500)
        # and 钉钉 delivers it again.
        self.inbox.receive([(key, {"topic": topic, "data": data})])
        self._enqueue(key, data, reanswer=False)
        return None

    async def replay(self) -> int:
        """Before the Stream opens: answer what was applied but not answered, handle what
        was stored but not applied. Returns how many."""
        if self.inbox is None:
            return 0
        unanswered = self.inbox.pending(APPLIED)
        pending = self.inbox.pending()
        for key, stored in unanswered:
            self._enqueue(key, stored.get("data") or {}, reanswer=True)
        for key, stored in pending:
            self._enqueue(key, stored.get("data") or {}, reanswer=False)
        if pending or unanswered:
            log.info("钉钉 after the last stop: %d message(s) to handle, %d to answer",
                     len(pending), len(unanswered))
        return len(pending) + len(unanswered)

    def _enqueue(self, key: str | None, data: dict[str, Any], *, reanswer: bool) -> None:
        if key is not None:
            self._queued.add(key)
        self._lanes.add(said_of(data).chat_id, (key, data, reanswer))

    async def _handle(self, key: str | None, data: dict[str, Any], again: bool) -> None:
        receipt = self.inbox.begin(key) if key is not None and self.inbox else None
        token = applying.set(receipt)
        try:
            if again:
                await self.inbound.reanswer(data)
            else:
                await self.inbound.handle(data)
        except Exception:
            log.exception("钉钉 message %s could not be handled", key)
        finally:
            applying.reset(token)
        try:
            if receipt is not None and self.inbox is not None:
                self.inbox.finish(receipt)
        except PersistenceError as err:
            log.error("钉钉 message %s handled but not marked done: %s", key, err)
        self._queued.discard(key or "")
        self.handled += 1

    async def idle(self) -> None:
        """Wait until every stored message was handled."""
        await self._lanes.idle()

    async def close(self, grace: float = 5.0) -> None:
        """Let running lanes finish (at most `grace` seconds), then cancel the rest; what was
        not applied stays in the inbox for the next start."""
        await self._lanes.close(grace)
