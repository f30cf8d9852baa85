"""Splitting HTML messages at Telegram's length limits without breaking the markup.

Telegram refuses a text over 4,096 characters (1,024 for a caption). Our messages are HTML
(parse mode) with user text escaped, so a naive cut can land inside a tag (`<b`), an entity
(`&lt;` shows as a literal `lt;` in the next part) or between `<b>` and `</b>` (the API then
refuses the whole part as invalid HTML).

`split_html` cuts at line breaks where it can, inside a line only between whole units (a
character, an entity, a tag), and closes the tags still open at a cut, reopening them at the
start of the next part, so every part is valid HTML on its own. Lengths are counted as
Telegram counts them: the text after entity parsing (tags count nothing, `&lt;` counts one),
in UTF-16 code units (an emoji outside the BMP counts two).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.app.conversation import clip, utf16_len

__all__ = ["CAPTION_LIMIT", "TEXT_LIMIT", "Part", "clip", "split_html", "split_parts", "utf16_len"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# A tag, an entity, or one character (a newline included).
_UNIT = re.compile(r"<[^<>]*>|&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});|.", re.DOTALL)
_VISIBLE = re.compile(r"<[^<>]*>")
_TAG = re.compile(r"^<(/?)([A-Za-z][A-Za-z0-9-]*)")


@dataclass(frozen=True)
class Part:
    html: str
    separator: str  # what stood between this part and the next in the original: "\n" or ""


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` UTF-16 units, each valid HTML (see module doc)."""
    return [part.html for part in split_parts(text, limit)]


def split_parts(text: str, limit: int = TEXT_LIMIT) -> list[Part]:
    """Like `split_html`, keeping what separated the parts (for tests and re-joining)."""
    if utf16_len(text) <= limit:  # the raw text is never shorter than what Telegram counts
        return [Part(text, "")]
    units = _UNIT.findall(text)
    parts: list[Part] = []
    stack: list[tuple[str, str]] = []  # open tags: (name, the opening tag as written)
    current: list[str] = []
    length = 0
    start = (0, 0)  # (units, length) of the tags reopened at the start of the current part
    # The last newline in the current part: (index in `current`, length before it, the open
    # tags there, index of the unit after it).
    last_newline: tuple[int, int, list[tuple[str, str]], int] | None = None
    index = 0
    while index < len(units):
        unit = units[index]
        after = _apply(stack, unit)
        size = _visible_len(unit)
        # A unit that does not fit even in an empty part goes in anyway (never happens: a
        # unit is at most one character).
        if length + size <= limit or len(current) == start[0]:
            if unit == "\n":
                last_newline = (len(current), length, list(stack), index + 1)
            current.append(unit)
            length += size
            stack = after
            index += 1
            continue
        if last_newline is not None and last_newline[1] > start[1]:
            at, _before, open_tags, resume = last_newline
            parts.append(Part("".join(current[:at]) + _closing(open_tags), "\n"))
            stack, index = open_tags, resume
        else:
            parts.append(Part("".join(current) + _closing(stack), ""))
        current = [opening for _name, opening in stack]
        length = 0
        start = (len(current), length)
        last_newline = None
    parts.append(Part("".join(current) + _closing(stack), ""))
    # Telegram refuses a text that is empty once tags are removed and whitespace trimmed.
    return [part for part in parts if _VISIBLE.sub("", part.html).strip()]


def _apply(stack: list[tuple[str, str]], unit: str) -> list[tuple[str, str]]:
    """The open tags after `unit` (a new list only when it changes)."""
    if not unit.startswith("<") or len(unit) < 3:
        return stack
    match = _TAG.match(unit)
    if match is None:
        return stack
    closing, name = match.group(1), match.group(2).lower()
    if closing:
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth][0] == name:
                return stack[:depth] + stack[depth + 1:]
        return stack
    if unit.endswith("/>"):
        return stack
    return [*stack, (name, unit)]


def _closing(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _opening in reversed(stack))


def _visible_len(unit: str) -> int:
    if unit.startswith("<") and len(unit) > 1:
        return 0
    if unit.startswith("&") and len(unit) > 1:
        return utf16_len(html.unescape(unit))
    return utf16_len(unit)
