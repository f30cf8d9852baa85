"""`DingTalkSender`: the services' `Sender` port for 钉钉 (``channel = "dingtalk"``).

* **Chats** are the application's account and group numbers (bot/domain/accounts.py). A
  `Directory` (injected: the identity side knows people's staffIds and the configured groups)
  turns one into ``("user", staffId)`` or ``("group", openConversationId)``; a number it does
  not know is `Unreachable`.
* **Rendering**: bot/dingtalk/render.py (markdown, action cards; long texts in parts, the
  buttons under the last).
* **Outcomes**: 钉钉's refusals become the domain's. `Unreachable` (retrying will not help
  this recipient): the staffId in ``invalidStaffIdList`` (no such user, not in the
  organisation, left it), an unknown or dissolved group, the robot not in the group or
  stopped (`GONE_CODES`, and codes naming those). `DeliveryFailed`: everything else — the
  network, 5xx, throttling (HTTP 429, ``Throttling…``, ``flowControlledStaffIdList``) after
  `retry_delays` short retries on the injected sleep, and app-wide problems (a bad
  robotCode, the permission ``qyapi_robot_sendmsg`` not granted): those are the operator's
  to fix, not the recipient's fault, so the outbox keeps trying (logged as errors).
  Conservative on purpose: marking a person unreachable on a guess would stop their
  reminders.
* **Pacing**: each group at most `group_per_minute` (20, 钉钉's documented limit for group
  robots; more throttles the robot for 10 minutes) messages in any 60 seconds. Slots are
  reserved when a send starts, so a group's messages keep their order and a waiting group
  costs the others nothing; when 钉钉 has answered, the slot moves to the answer's time, for
  钉钉 counts a message when it arrives, which may be long after its slot (the first sends
  wait for a token and a connection): counted from the reservation, the 21st could arrive
  within 60 s of the 1st and be refused (found by bench_dingtalk against the fake's limit).
  Time is injected (tests never wait).
* **Message ids**: 钉钉 names a sent message by its processQueryKey (a string); the port
  wants an int. The id is a 48-bit number derived from the key (stable, no counter to
  persist), and the last `KEPT` ids are kept with their key for `receipt`: the dispatcher
  keeps the key with the message's outbox entry, durably, and `read_by(chat, key)` asks 钉钉
  who has read it — the next day, after a restart too (督办's 已送达未读, which Telegram
  cannot give).
* **Photos**: a robot message cannot carry a local image without uploading it as media
  first (not done here). `send_photo` sends the caption with a line saying the chart was not
  attached (`PHOTO_NOTE`) — the reader is told, nothing pretends the picture went — and
  returns that message's id. `send_document` keeps the port's default (DeliveryFailed).
* **Edits**: robot messages cannot be edited: `edit` returns False (the port's default), so
  callers tell people anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, Protocol

from bot.dingtalk import render
from bot.dingtalk.api import DingTalkApi, DingTalkError
from bot.domain.ports import Buttons, DeliveryFailed, Sender, Unreachable

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"
Kind = Literal["user", "group"]
Target = tuple[Kind, str]
Sleep = Callable[[float], Awaitable[None]]

KEPT = 20_000  # message ids remembered for read status (a day's reminders and then some)
PHOTO_NOTE = "（图表未随本消息发送：钉钉机器人消息不能附带图片）"

# 钉钉 codes meaning this recipient cannot be reached (documented for the robot APIs).
GONE_CODES = frozenset({
    "invalidStaffIdList",  # bot/dingtalk/api.py: every recipient was an invalid staffId
    "invalid.openConversationId",  # 无效的openConversationId
    "invalidParameter.openConversationId",  # the fake 钉钉's unknown group (bot/fakedingtalk)
    "invalidParameter.openConversationId.invalid",
    "invalidParameter.robotCode.notExsit",  # 机器人不存在，请检查机器人是否在群内
    "bot.stopped",  # 群机器人已经停用
    "group.disbanded",
})
# Substrings of codes that name the same (钉钉's codes are not all documented).
GONE_SIGNS = ("notingroup", "not.in.group", "disband", "dismiss", "staffid.notexist",
              "userid.notexist", "user.notexist", "notinorg")
THROTTLE_CODES = frozenset({"flowControlledStaffIdList", "send.too.fast", "too.many.group",
                            "too.many.people", "send.byToken.tooFast", "410100", "130101"})
# e.g. Throttling.Api, Forbidden.AccessDenied.QpsLimitForAppkeyAndApi (403: over the QPS limit)
THROTTLE_SIGNS = ("Throttling", "QpsLimit", "flowControl")


class Directory(Protocol):
    """Who an account or group number is on 钉钉: ("user", staffId), ("group",
    openConversationId), or None when the number is not a 钉钉 chat we know."""

    def __call__(self, chat_id: int) -> Target | None: ...


def message_id_of(process_query_key: str) -> int:
    """The port's int id of a 钉钉 message: 48 bits of SHA-256 of its processQueryKey."""
    return int.from_bytes(hashlib.sha256(process_query_key.encode()).digest()[:6], "big")


def is_gone(err: DingTalkError, kind: Kind) -> bool:
    """Whether 钉钉's refusal means this recipient cannot be reached (not: try later)."""
    code = err.code
    lowered = code.lower()
    if code == "invalidParameter.robotCode.notExsit":
        return kind == "group"  # for one-to-one messages it is the robotCode itself
    return code in GONE_CODES or any(sign in lowered for sign in GONE_SIGNS)


def is_transient(err: DingTalkError) -> bool:
    """Worth a short retry: no answer, 5xx, or throttled."""
    return (err.status == 0 or err.status >= 500 or err.status == 429
            or err.code in THROTTLE_CODES
            or any(sign in err.code for sign in THROTTLE_SIGNS))


DAY_SECONDS = 24 * 3600.0  # 钉钉's window for dropping identical content


class DingTalkSender(Sender):
    channel = CHANNEL

    def __init__(self, api: DingTalkApi, directory: Directory, *,
                 group_per_minute: int = 20,
                 retry_delays: Sequence[float] = (1.0, 5.0),
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep,
                 kept: int = KEPT) -> None:
        self.api = api
        self.directory = directory
        self.group_per_minute = group_per_minute
        self.retry_delays = tuple(retry_delays)
        self._monotonic = monotonic
        self._sleep = sleep
        self._kept = kept
        self._slots: dict[str, deque[float]] = {}  # each group's reserved send times
        self._sent: OrderedDict[int, tuple[Target, str]] = OrderedDict()
        # (target, text digest) → (first sent, times sent): 钉钉 drops identical content to
        # the same recipient within a day and still reports success (`_unique`).
        self._repeats: OrderedDict[tuple[Target, str], tuple[float, int]] = OrderedDict()

    # --- the port -----------------------------------------------------------------------------

    def _unique(self, target: Target, text: str) -> str:
        """The text, made different from an identical one sent to the same recipient in the
        last 24 hours (a second /remind the same day): 钉钉 would drop it silently and report
        success, and the bot would say "已催办" untruly. Reminders carry their day already."""
        key = (target, hashlib.sha256(text.encode()).hexdigest())
        now = self._monotonic()
        first, times = self._repeats.pop(key, (now, 0))
        if now - first >= DAY_SECONDS:
            first, times = now, 0
        times += 1
        self._repeats[key] = (first, times)
        while len(self._repeats) > self._kept:
            self._repeats.popitem(last=False)
        return text if times == 1 else f"{text}\n（第 {times} 次发送）"

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        target = self._target(chat_id)
        text = self._unique(target, text)
        message_id = 0
        for part in render.render(text, buttons):
            message_id = await self._deliver(chat_id, target, part)
        return message_id

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        """The caption, with `PHOTO_NOTE` saying the image is not attached (see the module)."""
        target = self._target(chat_id)
        text = f"{caption}\n{PHOTO_NOTE}" if caption else PHOTO_NOTE
        message_id = 0
        for part in render.render(text):
            message_id = await self._deliver(chat_id, target, part)
        return message_id

    async def edit(self, chat_id: int, message_id: int, text: str,
                   buttons: Buttons | None = None) -> bool:
        """Robot messages cannot be edited."""
        return False

    # --- read status --------------------------------------------------------------------------

    def receipt(self, chat_id: int, message_id: int) -> str | None:
        """The processQueryKey of a message just sent (kept with its outbox entry, so that
        `read_by` can ask after a restart); None when it is not remembered."""
        return self.process_query_key(message_id)

    async def read_by(self, chat_id: int, receipt: str) -> set[str] | None:
        """The staffIds who have read the message with processQueryKey `receipt` sent to
        `chat_id` (one-to-one: ``readStatus``; a group: ``groupMessages/query``); None when
        not known (a chat no longer known, or 钉钉 could not say)."""
        target = self.directory(chat_id)
        if target is None:
            return None
        kind, address = target
        try:
            if kind == "user":
                return await self.api.read_status(receipt)
            return await self.api.group_read_status(address, receipt)
        except DingTalkError as err:
            log.info("read status of %s in %s not known: %s", receipt, chat_id, err)
            return None

    def process_query_key(self, message_id: int) -> str | None:
        """钉钉's key of a message sent here (to keep with the outbox), if remembered."""
        sent = self._sent.get(message_id)
        return sent[1] if sent else None

    # --- delivery -----------------------------------------------------------------------------

    def _target(self, chat_id: int) -> Target:
        target = self.directory(chat_id)
        if target is None:
            raise Unreachable(f"{chat_id} is not a 钉钉 chat we know")
        return target

    async def _deliver(self, chat_id: int, target: Target, part: render.Rendered) -> int:
        kind, address = target
        attempt = 0
        while True:
            slot = await self._pace(address) if kind == "group" else None
            try:
                if kind == "user":
                    key = await self.api.send_to_users([address], part.msg_key, part.msg_param)
                else:
                    key = await self.api.send_to_group(address, part.msg_key, part.msg_param)
            except DingTalkError as err:
                if slot is not None:
                    self._answered(address, slot)
                if is_gone(err, kind):
                    log.warning("钉钉 %s %s cannot be reached: %s", kind, chat_id, err)
                    raise Unreachable(str(err)) from None
                if is_transient(err) and attempt < len(self.retry_delays):
                    delay = self.retry_delays[attempt]
                    attempt += 1
                    log.info("钉钉 %s %s: %s; retrying in %.1f s", kind, chat_id, err, delay)
                    await self._sleep(delay)
                    continue
                if not is_transient(err):
                    log.error("钉钉 refused a message to %s %s: %s", kind, chat_id, err)
                raise DeliveryFailed(str(err)) from None
            if slot is not None:
                self._answered(address, slot)
            message_id = message_id_of(key)
            self._sent[message_id] = (target, key)
            self._sent.move_to_end(message_id)
            while len(self._sent) > self._kept:
                self._sent.popitem(last=False)
            return message_id

    def _reserve(self, group: str) -> float:
        """Reserve the group's next send time: at most `group_per_minute` in any 60 s, in
        the order the sends came."""
        now = self._monotonic()
        slots = self._slots.setdefault(group, deque())
        while slots and slots[0] <= now - 60.0:
            slots.popleft()
        slot = max(now, slots[-1]) if slots else now
        if len(slots) >= self.group_per_minute:
            slot = max(slot, slots[-self.group_per_minute] + 60.0)
        slots.append(slot)
        if len(self._slots) > 1000:  # forget groups that are quiet again
            self._slots = {g: s for g, s in self._slots.items() if s and s[-1] > now - 60.0}
            self._slots.setdefault(group, slots)
        return slot

    async def _pace(self, group: str) -> float:
        slot = self._reserve(group)
        delay = slot - self._monotonic()
        if delay > 0:
            await self._sleep(delay)
        return slot

    def _answered(self, group: str, slot: float) -> None:
        """钉钉 answered the send reserved at `slot`: it counts from now (≥ its arrival)."""
        slots = self._slots.get(group)
        now = self._monotonic()
        if slots is None or now <= slot:
            return
        try:
            slots.remove(slot)
        except ValueError:
            return  # forgotten already (a quiet group)
        slots.append(now)
        self._slots[group] = deque(sorted(slots))
