"""Callback data for inline buttons: encoded and decoded here only, never trusted.

Formats (Telegram allows 64 bytes):
  ACT <task> <done|progress|difficulty|extend>   the four buttons under reminders
  ACT <task> open                                📝 under a task in the daily digest: opens
                                                 the task's four choices
  UNDO <report>                                  ↩️ 撤回 a misread report
  VERIFY <task> <report> / REJECT <task> <report>
                                                 核账通过 / 退回 under one 交账 (its report)
  EXT <task> <yes|no> <request>                  approve or refuse one extension request
  PICK <task>                                    which task a plain message was about
  IMP <ok|no> [<sheet>]                          确认导入 / 取消 under an import preview
                                                 (ok: of the workbook's sheet at 0-based
                                                 position <sheet>, when it has several)
  IMP sheet <sheet>                              the sheet to import, when several look like
                                                 the ledger
  DIFF <difficulty> <coord|solved>               我来协调 / 已解决 under a 困难 alert
  REBIND <request> <yes|no>                      确认换绑 / 不同意 under a 换绑 request
  DATE <add|ext|ask|askx> <ok|no> [<task> [<span>]]
                                                 确认 / 重新填写 a date in the past or years
                                                 ahead (建账, /extend, 延期申请; askx: the
                                                 answer to a ⏳ prompt)
  SURE <task> <yes|no> [<span>]                  确认交账 / 只是进展 under 确认交账？ (the
                                                 question replies to the official's message)

<span> (start-mark-end, line numbers) names the part of a message of several lines that the
question is about, each line naming a task ("1 进度80%" / "2 已完成": bot/app/digest.py).

Decoding only checks the shape; handlers check who pressed and whether the action is still
valid for the task's current state. Buttons that decide a request name the request, so an old
button never acts on a newer 交账 or 延期申请.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACT, UNDO, VERIFY, REJECT, EXT, PICK, IMP, DIFF, REBIND, DATE, SURE = (
    "ACT", "UNDO", "VERIFY", "REJECT", "EXT", "PICK", "IMP", "DIFF", "REBIND", "DATE", "SURE")
DATE_KINDS = ("add", "ext", "ask", "askx")
ACTIONS = ("done", "progress", "difficulty", "extend", "open")
_ID = r"[A-Za-z0-9_-]{1,20}"
_SPAN = r"\d{1,3}-\d{1,3}-\d{1,3}"


def _id(name: str) -> str:
    return f"(?P<{name}>{_ID})"


_PATTERNS = {
    ACT: re.compile(rf"^ACT {_id('target')} (?P<choice>{'|'.join(ACTIONS)})$"),
    UNDO: re.compile(rf"^UNDO {_id('target')}$"),
    VERIFY: re.compile(rf"^VERIFY {_id('target')} {_id('ref')}$"),
    REJECT: re.compile(rf"^REJECT {_id('target')} {_id('ref')}$"),
    EXT: re.compile(rf"^EXT {_id('target')} (?P<choice>yes|no) {_id('ref')}$"),
    PICK: re.compile(rf"^PICK {_id('target')}$"),
    IMP: re.compile(r"^IMP (?P<target>ok|no|sheet)(?: (?P<choice>\d{1,3}))?$"),
    DIFF: re.compile(rf"^DIFF {_id('target')} (?P<choice>coord|solved)$"),
    REBIND: re.compile(rf"^REBIND {_id('target')} (?P<choice>yes|no)$"),
    DATE: re.compile(rf"^DATE (?P<target>{'|'.join(DATE_KINDS)}) (?P<choice>ok|no)"
                     rf"(?: {_id('ref')}(?: (?P<span>{_SPAN}))?)?$"),
    SURE: re.compile(rf"^SURE {_id('target')} (?P<choice>yes|no)(?: (?P<span>{_SPAN}))?$"),
}
# For handler registration: `pattern=ROUTE` on the CallbackQueryHandler.
ROUTE = re.compile(r"^(ACT|UNDO|VERIFY|REJECT|EXT|PICK|DIFF|REBIND|DATE|SURE) ")
IMPORT_ROUTE = re.compile(r"^IMP ")


@dataclass(frozen=True)
class Callback:
    kind: str
    target: str  # a task id or a report id (DATE: what is being dated)
    choice: str = ""
    ref: str = ""  # VERIFY/REJECT: the 交账's report id; EXT: the request id; DATE: the task
    span: str = ""  # SURE/DATE: the part of a message of several lines (start-mark-end)


def encode(kind: str, target: str, choice: str = "", ref: str = "", span: str = "") -> str:
    data = " ".join(part for part in (kind, target, choice, ref, span) if part)
    if decode(data) is None:
        raise ValueError(f"not valid callback data: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The callback, or None when the data is not one of ours (old, forged, garbled)."""
    if not data or len(data.encode()) > 64:
        return None
    kind = data.split(" ", 1)[0]
    pattern = _PATTERNS.get(kind)
    match = pattern.match(data) if pattern else None
    if match is None:
        return None
    groups = {name: value or "" for name, value in match.groupdict().items()}
    return Callback(kind, groups["target"], groups.get("choice", ""), groups.get("ref", ""),
                    groups.get("span", ""))


# 📨 生成邀请链接 under 已建账 (bot/app/commands.py invite_press): INV <task>, invite links for
# the task's people not bound yet. Routed apart from the buttons above, like IMP.
INVITE = "INV"
INVITE_ROUTE = re.compile(rf"^INV ({_ID})$")


def invite_data(task_id: str) -> str:
    data = f"{INVITE} {task_id}"
    if INVITE_ROUTE.match(data) is None:
        raise ValueError(f"not valid callback data: {data!r}")
    return data


def invite_target(data: str | None) -> str | None:
    """The task of an INV button's data, or None when the data is not one."""
    match = INVITE_ROUTE.match(data or "") if data and len(data.encode()) <= 64 else None
    return match.group(1) if match else None
