"""Reading the small pieces of text officials type: dates, lists of names, task ids."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from bot.domain.errors import InvalidField

# 长期 and its synonyms: a task without a deadline.
NO_DEADLINE_WORDS = frozenset({"长期", "持续推进", "常态化", "长期坚持", "none", "ongoing"})

_OWNER_SPLIT = re.compile(r"[、，,;；/／\s]+")
# A task id: letters, digits and inner hyphens, at least one digit, at most TASK_ID_MAX
# characters (it travels in callback data, 64 bytes at most: see bot/app/actions.py).
TASK_ID_MAX = 20
_TASK_ID = re.compile(r"^(?=[^0-9]*[0-9])[A-Z0-9]+(?:-[A-Z0-9]+)*$")
# 完成时限 and extension dates are accepted in these years only; anything else is a typo
# (0001, 9999, 20266) that would make a task look long-running or overdue for ever.
MIN_YEAR, MAX_YEAR = 2000, 2099
# A deadline further ahead than this (or in the past) is asked about before it is used.
FAR_AHEAD_YEARS = 3

# Characters that change nothing on screen but make two names differ (zero-width spaces and
# joiners, direction marks, soft hyphens, variation selectors, Hangul fillers, tags: Unicode's
# Default_Ignorable_Code_Point), removed from names on top of every control/format character.
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")
_SPACES = re.compile(r"\s+")
# A space between two Chinese characters in a name is layout (张　三 aligned with 三字名).
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) (?=[\u3400-\u9fff\uf900-\ufaff])")


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC) and trimmed: ｜ → |, ２０２６ → 2026."""
    return unicodedata.normalize("NFKC", text).strip()


def normalize_name(text: str) -> str:
    """A person's name as stored and compared: NFKC (full-width → half-width), without
    zero-width, control or format characters, inner whitespace collapsed to one space (none
    between two Chinese characters), trimmed. "张\u200b三", "张　三" and "张三" are one person.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _IGNORABLE.sub("", text)
    text = "".join(" " if char.isspace() else char for char in text
                   if char.isspace() or unicodedata.category(char) not in ("Cc", "Cf", "Cs"))
    text = _SPACES.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)


def split_names(text: str) -> tuple[str, ...]:
    """Several 责任人 are separated by 、 ， , ; / or spaces; each is a normalised name
    (normalize_name); duplicates are dropped."""
    seen: dict[str, None] = {}
    cleaned = _IGNORABLE.sub("", unicodedata.normalize("NFKC", text))
    for part in _OWNER_SPLIT.split(cleaned.strip()):
        name = normalize_name(part)
        if name:
            seen.setdefault(name, None)
    return tuple(seen)


def parse_deadline(text: str, *, today: date) -> date | None:
    """A 完成时限 or an extension date as typed: a date, or None for 长期. Raises InvalidField
    (reason="year_range" for a year outside MIN_YEAR–MAX_YEAR).

    The one deadline reader is bot/domain/deadlines.py (read_deadline): 2026-12-31, 12月底,
    月底前, 一季度, 下周五, 春节前, …; this name stays for the callers that use it.
    """
    from bot.domain.deadlines import read_deadline  # deadlines reads this module's words

    return read_deadline(text, today=today)


def check_year(day: date, *, field: str = "deadline", value: str | None = None) -> None:
    """InvalidField(field, reason="year_range") unless MIN_YEAR <= day.year <= MAX_YEAR."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidField(field=field, value=day.isoformat() if value is None else value,
                           reason="year_range", min_year=MIN_YEAR, max_year=MAX_YEAR)


def years_later(day: date, years: int) -> date:
    """The same day `years` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def deadline_needs_confirmation(day: date | None, today: date) -> str | None:
    """Whether a 完成时限 or extension date must be confirmed in chat before it is used:
    "past" (before today), "far" (more than FAR_AHEAD_YEARS years after today) or None.
    A long-running task (None) needs nothing."""
    if day is None:
        return None
    if day < today:
        return "past"
    if day > years_later(today, FAR_AHEAD_YEARS):
        return "far"
    return None


def normalize_task_id(text: str) -> str | None:
    """'t7', 'T0007', ' T0007 ' → 'T0007'; 't1000000' → 'T1000000' (any number of digits);
    imported ids such as 'A-12' stay as given (upper-cased).

    Returns None when the text cannot be a task id: empty, longer than TASK_ID_MAX, without a
    digit, or with anything but letters, digits and inner hyphens.
    """
    raw = normalize(text).upper()
    if not raw or len(raw) > TASK_ID_MAX or not raw.isascii() or not _TASK_ID.match(raw):
        return None
    if raw.startswith("T") and raw[1:].isdigit():
        return f"T{int(raw[1:]):04d}"
    return raw
