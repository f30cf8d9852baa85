"""`python -m bot read`: what the bot understands from a reply, for admins trying phrases and
for evaluating the reader on a labelled set. Needs no config and no ledger.

    python -m bot read "完成了55%，资金没到位，申请延期到2月10日"
    python -m bot read --json --today 2026-12-10 < replies.txt

With `--json`, one object per input line:
{"progress": int|null, "done": bool, "confirm": bool, "difficulty": bool, "extension": bool,
 "new_deadline": "YYYY-MM-DD"|null, ...}. `done`: the reply would make the task 待核账 without
asking; `confirm`: the bot would ask 确认交账？ first. Relative periods (延期20天) count from
`--deadline` (the task's 完成时限) when given, else from `--today`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TextIO

from bot.domain.replies import Reading, is_acknowledgement, read_reply

EXIT_USAGE = 2


def reading_json(reading: Reading, *, ack: bool) -> dict[str, Any]:
    """The reading as the evaluation format (also used by the corpus tests)."""
    deadline = reading.new_deadline
    suggested = reading.suggested_deadline
    return {
        "progress": reading.progress,
        "done": reading.done,
        "confirm": reading.confirm,
        "difficulty": reading.difficulty is not None,
        "extension": reading.extension,
        "new_deadline": deadline.isoformat() if deadline else None,
        "ack": ack,
        "kind": reading.kind.value,
        "difficulty_text": reading.difficulty,
        "reason": reading.reason or None,
        "suggested_deadline": suggested.isoformat() if suggested else None,
        "odd_progress": reading.odd_progress,
    }


def read_one(text: str, *, today: date, deadline: date | None = None) -> dict[str, Any]:
    """What the bot does with one reply: an acknowledgement (收到) is not a report at all."""
    if is_acknowledgement(text):
        return {"progress": None, "done": False, "confirm": False, "difficulty": False,
                "extension": False, "new_deadline": None, "ack": True, "kind": "ack",
                "difficulty_text": None, "reason": None, "suggested_deadline": None,
                "odd_progress": None}
    return reading_json(read_reply(text, today=today, deadline=deadline), ack=False)


def describe(result: dict[str, Any]) -> str:
    """One line in Chinese: what the bot understood."""
    if result["ack"]:
        return "收到类回复：不算报送（机器人会提示如何报送）"
    parts: list[str] = []
    if result["done"]:
        parts.append("交账（进度 100%，待核账）")
    elif result["confirm"]:
        parts.append("可能是交账：会先问“确认交账？”")
    if result["progress"] is not None and not result["done"]:
        parts.append(f"进度 {result['progress']}%")
    if result["odd_progress"] is not None:
        parts.append(f"进度 {result['odd_progress']}% 不合理：会请对方重新填写")
    if result["difficulty"]:
        parts.append(f"困难：{result['difficulty_text']}")
    if result["extension"]:
        if result["new_deadline"]:
            parts.append(f"申请延期至 {result['new_deadline']}")
        else:
            parts.append(f"申请延期（未写日期，会请对方写明，建议 {result['suggested_deadline']}）")
        if result["reason"]:
            parts.append(f"原因：{result['reason']}")
    return "；".join(parts) if parts else "最新进展（无进度数字）"


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value}") from None


def parser() -> argparse.ArgumentParser:
    read = argparse.ArgumentParser(
        prog="python -m bot read",
        description="what the bot understands from a reply / 回复解读")
    read.add_argument("text", nargs="*", help="the reply (default: one reply per line on stdin)")
    read.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD",
                      help="the day the reply is sent (default: today)")
    read.add_argument("--deadline", type=_day, default=None, metavar="YYYY-MM-DD",
                      help="the task's current 完成时限, for relative extensions (延期20天)")
    read.add_argument("--json", action="store_true", help="one JSON object per input line")
    return read


def main(argv: Sequence[str], stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    try:
        args = parser().parse_args(list(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_USAGE
    out = stdout or sys.stdout
    today = args.today or date.today()
    lines: Iterable[str] = [" ".join(args.text)] if args.text else (stdin or sys.stdin)
    for line in lines:
        text = line.rstrip("\r\n")
        result = read_one(text, today=today, deadline=args.deadline)
        if args.json:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
        else:
            out.write(f"{text}\n  → {describe(result)}\n" if not args.text
                      else describe(result) + "\n")
    out.flush()
    return 0
