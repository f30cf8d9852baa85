"""Callback data for inline buttons: encoded and decoded here only, never trusted.

Formats (Telegram allows 64 bytes):
  ACT <task> <done|progress|difficulty|extend>   the four buttons under reminders
  UNDO <report>                                  ↩️ 撤回 a misread report
  VERIFY <task> <report> / REJECT <task> <report>
                                                 核账通过 / 退回 under one 交账 (its report)
  EXT <task> <yes|no> <request>                  approve or refuse one extension request
  PICK <task>                                    which task a plain message was about
  IMP <ok|no>                                    确认导入 / 取消 under an import preview
  DIFF <difficulty> <coord|solved>               我来协调 / 已解决 under a 困难 alert
  REBIND <request> <yes|no>                      确认换绑 / 不同意 under a 换绑 request
  DATE <add|ext|ask|askx> <ok|no> [<task>]       确认 / 重新填写 a date in the past or years
                                                 ahead (建账, /extend, 延期申请; askx: the
                                                 answer to a ⏳ prompt)
  SURE <task> <yes|no>                           确认交账 / 只是进展 under 确认交账？ (the
                                                 question replies to the official's message)

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
ACTIONS = ("done", "progress", "difficulty", "extend")
_ID = r"[A-Za-z0-9_-]{1,20}"
_PATTERNS = {
    ACT: re.compile(rf"^ACT ({_ID}) ({'|'.join(ACTIONS)})$"),
    UNDO: re.compile(rf"^UNDO ({_ID})$"),
    VERIFY: re.compile(rf"^VERIFY ({_ID})() ({_ID})$"),
    REJECT: re.compile(rf"^REJECT ({_ID})() ({_ID})$"),
    EXT: re.compile(rf"^EXT ({_ID}) (yes|no) ({_ID})$"),
    PICK: re.compile(rf"^PICK ({_ID})$"),
    IMP: re.compile(r"^IMP (ok|no)$"),
    DIFF: re.compile(rf"^DIFF ({_ID}) (coord|solved)$"),
    REBIND: re.compile(rf"^REBIND ({_ID}) (yes|no)$"),
    DATE: re.compile(rf"^DATE ({'|'.join(DATE_KINDS)}) (ok|no)(?: ({_ID}))?$"),
    SURE: re.compile(rf"^SURE ({_ID}) (yes|no)$"),
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


def encode(kind: str, target: str, choice: str = "", ref: str = "") -> str:
    data = " ".join(part for part in (kind, target, choice, ref) if part)
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
    groups = match.groups()
    return Callback(kind, groups[0], groups[1] if len(groups) > 1 else "",
                    (groups[2] or "") if len(groups) > 2 else "")
