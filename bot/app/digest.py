"""每人每日一条: the day's reminders to one person as one message, and how a reply names a task.

Writing. `reminder_parts` lays out one person's due reminders (most urgent first, as given):
a header with the day, the name and the count; one numbered line per task with its 预警 light,
kind, 编号, title and deadline (剩余 / 逾期 N 个工作日); one line saying how to answer; one 📝
button per task (`ACT <task> open`: the task's four choices). A person with one due task gets
the single-task reminder instead, with its four buttons: one tap to 已完成, and the latest
report. The digest is split only to stay within Telegram's limits — 4,096 characters of text,
100 buttons, about 10 kB of keyboard — each part carrying its own tasks' buttons and the
numbering going on across parts. `escalation_parts` does the same for a leader's 督办单.

Reading. A reply is split into parts by the lines that name a task at their start: a 编号
("DG-3 进度60%", "T0007：已完成") or a 序号 of the digest it answers ("2. 已完成", "1 进度80%",
"第2项 已完成"). Lines before the first named line go with the first part. `listed_tasks`
reads a digest's 序号 back from the message as the channel returns it (its text and its
buttons' data), so nothing is remembered. A part is addressed by its span of lines
(start-mark-end), which a question's buttons carry (确认交账？, an unusual date).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from bot.app import actions
from bot.app.conversation import Said
from bot.domain.calendar import WorkCalendar
from bot.domain.model import Task
from bot.domain.ports import Buttons
from bot.domain.rhythm import ReminderKind
from bot.domain.text import normalize_task_id
from bot.domain.warning import EMOJI, Light
from bot.messages import Messages

TEXT_BUDGET = 3900  # UTF-16 code units of a part; Telegram takes 4,096 (a margin for entities)
MAX_BUTTONS = 90  # Telegram refuses an inline keyboard of more than 100 buttons
MARKUP_BUDGET = 8000  # bytes of keyboard JSON; Telegram refuses about 10 kB
TITLE_CLIP = 30  # characters of a title in a digest line (the whole title: /task)
BUTTON_TITLE_CLIP = 8  # characters of a title on a 📝 button


@dataclass(frozen=True)
class DigestEntry:
    """One task in a person's digest: its reminder kind, and whom the person covers for
    (a 督办单: the owners who cannot receive reminders). `unread` (督办单 only): owners whose
    previous reminder was delivered but not read (已送达未读, channels that can tell)."""

    task: Task
    kind: ReminderKind
    on_behalf: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestPart:
    """One message of a digest: its text (Luoshi markup), its buttons and its tasks."""

    text: str
    buttons: Buttons | None
    entries: tuple[DigestEntry, ...]


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _markup_size(label: str, data: str) -> int:
    return len(json.dumps({"text": label, "callback_data": data})) + 2


# ---- writing ---------------------------------------------------------------------------------


def reminder_parts(messages: Messages, name: str, day: date, entries: Sequence[DigestEntry],
                   calendar: WorkCalendar, light_of: Callable[[Task], Light]
                   ) -> list[DigestPart]:
    """One person's reminders of the day, as few messages as Telegram allows (usually one)."""
    if len(entries) == 1:
        entry = entries[0]
        text = messages.rhythm_reminder(entry.task, entry.kind, day, calendar,
                                        light_of(entry.task))
        if entry.on_behalf:
            text = f"{messages.leave_note(entry.on_behalf)}\n{text}"
        return [DigestPart(text, messages.task_buttons(entry.task.id), (entry,))]
    lines: list[str] = []
    buttons: list[tuple[str, str]] = []
    for n, entry in enumerate(entries, 1):
        task = entry.task
        if entry.kind is ReminderKind.OVERDUE:
            due = messages.t("digest_overdue", deadline=messages.date(task.deadline),
                             days=calendar.workdays_between(task.deadline or day, day))
        else:
            due = messages.deadline_with_days(task, day)
        line = messages.t("digest_line", n=n, light=EMOJI[light_of(task)],
                          kind=messages.catalog[f"kind_{entry.kind.value}"], id=task.id,
                          title=clip(task.title, TITLE_CLIP), due=due)
        if entry.on_behalf:
            line += messages.t("digest_for", names=messages.names(entry.on_behalf))
        lines.append(line)
        buttons.append((messages.raw("btn_digest_task", n=str(n), id=task.id,
                                     title=clip(task.title, BUTTON_TITLE_CLIP)),
                        actions.encode(actions.ACT, task.id, "open")))

    def head(first: int, last: int) -> str:
        if first == 1 and last == len(entries):
            return messages.t("digest_head", day=messages.date(day), name=name,
                              count=len(entries))
        return messages.t("digest_head_more", day=messages.date(day), name=name,
                          first=first, last=last, count=len(entries))

    def how(group: Sequence[int]) -> str:
        """How to answer, with examples from this part's own tasks."""
        example = entries[group[1] if len(group) > 1 else group[0]].task.id
        return messages.t("digest_how", n=group[0] + 1, id=example)

    return _pack(entries, lines, buttons, head, how)


def escalation_parts(messages: Messages, day: date, entries: Sequence[DigestEntry],
                     calendar: WorkCalendar) -> list[DigestPart]:
    """A leader's 督办单 of the day: every overdue task they lead that needs them, one
    message (a single task: the 督办单 as it always was). `on_behalf`: owners who cannot
    receive reminders; `unread`: owners whose reminder was delivered but not read."""
    if len(entries) == 1:
        entry = entries[0]
        return [DigestPart(messages.escalation_sheet(entry.task, day, calendar,
                                                     entry.on_behalf, entry.unread),
                           None, (entry,))]
    lines: list[str] = []
    for n, entry in enumerate(entries, 1):
        task = entry.task
        days = calendar.workdays_between(task.deadline or day, day)
        if task.last_report_at is not None:
            latest = messages.t("escalation_digest_reported",
                                day=messages.short_date(task.last_report_at.date()),
                                progress=task.progress)
        else:
            latest = messages.t("escalation_digest_silent")
        block = [messages.t("escalation_digest_line", n=n, id=task.id,
                            title=clip(task.title, TITLE_CLIP), days=days),
                 messages.t("escalation_digest_detail", unit=task.lead_unit,
                            owners=messages.names(task.owners), latest=latest)]
        if entry.on_behalf:
            block.append(messages.t("escalation_digest_stranded",
                                    names=messages.names(entry.on_behalf)))
        if entry.unread:
            block.append(messages.t("escalation_digest_unread",
                                    names=messages.names(entry.unread)))
        lines.append("\n".join(block))

    def head(first: int, last: int) -> str:
        return messages.t("escalation_digest_head", day=messages.date(day), count=len(entries))

    return _pack(entries, lines, [], head, lambda _group: messages.t("escalation_ask"))


def _pack(entries: Sequence[DigestEntry], lines: Sequence[str],
          buttons: Sequence[tuple[str, str]], head: Callable[[int, int], str],
          how: Callable[[Sequence[int]], str]) -> list[DigestPart]:
    """Lines into as few messages as the limits allow; each part: head, its lines, how to
    answer, and its own tasks' buttons (one row each)."""
    final = len(entries) - 1
    widest = max(units(head(1, len(entries))), units(head(len(entries), len(entries))))
    fixed = widest + units(how([final, final])) + 24  # the examples' 序号 and 编号 may be longer
    groups: list[list[int]] = [[]]
    size = fixed
    markup = 0
    for index, line in enumerate(lines):
        button = _markup_size(*buttons[index]) if buttons else 0
        current = groups[-1]
        if current and (size + units(line) + 1 > TEXT_BUDGET or len(current) >= MAX_BUTTONS
                        or markup + button > MARKUP_BUDGET):
            groups.append([])
            size, markup = fixed, 0
        groups[-1].append(index)
        size += units(line) + 1
        markup += button
    parts = []
    for group in groups:
        first, last = group[0] + 1, group[-1] + 1
        text = "\n".join([head(first, last), *(lines[i] for i in group), how(group)])
        rows = [[buttons[i]] for i in group] if buttons else None
        parts.append(DigestPart(text, rows, tuple(entries[i] for i in group)))
    return parts


# ---- reading ---------------------------------------------------------------------------------

_LISTED = re.compile(r"^\s*(\d{1,3})\.\s")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
# A line that names a task at its start: "第2项", "2.", "2、", "(2)", "2 ", "T0007：",
# "【DG-3】", "DG-3进度…"; a number followed by 月/日/%… is a date or a figure, not a 序号.
_MARK = re.compile(
    r"^[\s>＞*•·\-]*(?:第\s*(?P<nth>\d{1,3})\s*[项条个]"
    r"|[【\[（(]?\s*(?P<mark>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)\s*[】\]）)]?)"
    r"(?P<sep>\s*[.．、:：,，]|\s+|(?=[^\x00-\x7f])|$)\s*")
_NOT_AFTER_NUMBER = re.compile(r"^[月日号天年周个项条%％万元亿分点时]")


def listed_tasks(message: Said | None) -> dict[int, str]:
    """序号 → 编号 of a digest (as the channel returns it: text and the 📝 buttons' data);
    empty for any other message."""
    if message is None or not message.by_bot:
        return {}
    ids = []
    for data in message.actions:
        callback = actions.decode(data)
        if callback is not None and callback.kind == actions.ACT and callback.choice == "open":
            ids.append(callback.target)
    listed: dict[int, str] = {}
    if not ids:
        return listed
    for line in message.text.splitlines():
        match = _LISTED.match(line)
        if match is None:
            continue
        for token in _TOKEN.findall(line[match.end():]):
            task_id = normalize_task_id(token)
            if task_id in ids:
                listed[int(match.group(1))] = task_id
                break
    return listed


@dataclass(frozen=True)
class Mark:
    """How a line names a task at its start: the 序号 or 编号 as written, and where the rest
    of the line begins."""

    text: str
    numeric: bool
    rest: int


def line_mark(line: str) -> Mark | None:
    match = _MARK.match(line)
    if match is None:
        return None
    if match.group("nth"):
        return Mark(match.group("nth"), True, match.end())
    mark = match.group("mark")
    if not mark:
        return None
    numeric = mark.isdigit()
    if numeric and (len(mark) > 3 or (not match.group("sep").strip()
                                      and _NOT_AFTER_NUMBER.match(line[match.end():]))):
        return None
    if not numeric and normalize_task_id(mark) is None:
        return None
    return Mark(mark, numeric, match.end())


@dataclass(frozen=True)
class Part:
    """A part of a reply about one task: lines start..end (the first part also takes the
    lines before it), the line `mark` naming the task."""

    task_id: str
    start: int
    mark: int
    end: int

    @property
    def span(self) -> str:
        return f"{self.start}-{self.mark}-{self.end}"


Resolve = Callable[[Mark], "str | None"]


def named_parts(text: str, resolve: Resolve) -> list[Part]:
    """The parts of `text` that name a task (`resolve` maps a line's mark to a task id, or
    None when it names none); empty when no line does."""
    lines = text.splitlines()
    starts: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        mark = line_mark(line)
        task_id = resolve(mark) if mark is not None else None
        if task_id is not None:
            starts.append((index, task_id))
    parts = []
    for n, (index, task_id) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        parts.append(Part(task_id, 0 if n == 0 else index, index, end))
    return parts


def parse_span(span: str) -> tuple[int, int, int] | None:
    try:
        start, mark, end = (int(x) for x in span.split("-"))
    except ValueError:
        return None
    return (start, mark, end) if start <= mark < end else None


def part_text(text: str, span: str) -> str:
    """The text of one part: its lines, the naming mark taken off its line."""
    bounds = parse_span(span)
    if bounds is None:
        return text
    start, mark_at, end = bounds
    lines = text.splitlines()
    out = []
    for index in range(start, min(end, len(lines))):
        line = lines[index]
        if index == mark_at:
            mark = line_mark(line)
            line = line[mark.rest:] if mark is not None else line
        out.append(line)
    return "\n".join(line for line in out if line.strip()).strip()


def part_said(said: Said, span: str) -> Said:
    """The message as if it said only this part (same chat and message: quotes still work)."""
    return replace(said, text=part_text(said.text, span)) if span else said


def part_source(said: Said, span: str) -> str:
    """Names the report made from one part for good (a part starting at the first line keeps
    the message's own name, so an answer lost in a crash is found again)."""
    if not span or span.startswith("0-"):
        return said.source
    return f"{said.source}#{span}"

