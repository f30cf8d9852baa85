"""Reading the small pieces of text officials type: dates, lists of names, task ids."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from bot.domain.errors import InvalidField

# 长期 and its synonyms: a task without a deadline.
NO_DEADLINE_WORDS = frozenset({"长期", "持续推进", "常态化", "长期坚持", "none", "ongoing"})

_OWNER_SPLIT = re.compile(r"[、，,;；/／\s]+")
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_CN_FULL = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$")
_CN_SHORT = re.compile(r"^(\d{1,2})月(\d{1,2})[日号]?$")
_TASK_ID = re.compile(r"^[A-Za-z]{0,4}-?\d{1,6}$")


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC) and trimmed: ｜ → |, ２０２６ → 2026."""
    return unicodedata.normalize("NFKC", text).strip()


def split_names(text: str) -> tuple[str, ...]:
    """Several 责任人 are separated by 、 ， , ; / or spaces; duplicates are dropped."""
    seen: dict[str, None] = {}
    for part in _OWNER_SPLIT.split(text.strip()):
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


def parse_deadline(text: str, *, today: date) -> date | None:
    """A 完成时限: a date, or None for 长期. Raises InvalidField for anything else.

    Accepts 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日 and 12月31日 (this year).
    """
    raw = normalize(text)
    if raw.lower() in NO_DEADLINE_WORDS:
        return None
    for pattern, has_year in ((_ISO, True), (_CN_FULL, True), (_CN_SHORT, False)):
        match = pattern.match(raw)
        if not match:
            continue
        parts = [int(g) for g in match.groups()]
        year, month, day = parts if has_year else [today.year, *parts]
        try:
            return date(year, month, day)
        except ValueError:
            break
    raise InvalidField(field="deadline", value=text)


def normalize_task_id(text: str) -> str | None:
    """'t7', 'T0007', ' T0007 ' → 'T0007'; imported ids such as 'A-12' stay as given (upper-cased).

    Returns None when the text cannot be a task id.
    """
    raw = normalize(text).upper()
    if not raw or not _TASK_ID.match(raw):
        return None
    if raw.startswith("T") and raw[1:].isdigit():
        return f"T{int(raw[1:]):04d}"
    return raw
