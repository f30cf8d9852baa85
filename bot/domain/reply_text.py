"""The text of a reply, normalised for reading, with a map back to what was sent; clauses;
numbers (Arabic and Chinese). Shared by the parts of the reply reader (bot/domain/replies.py).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass


def _trimmed(text: object) -> str:
    return text.strip() if isinstance(text, str) else ""


# Clause boundaries (after NFKC: ， → ,  ； → ;  ！ → !  ？ → ?). A dot inside a number is not one.
_BOUNDARY = re.compile(r"[。,;!?\n…]+|\.(?!\d)")


@dataclass(frozen=True)
class _Clause:
    start: int  # in the normalised text
    end: int
    text: str
    terminator: str

    @property
    def question(self) -> bool:
        return "?" in self.terminator or bool(_QUESTION.search(self.text))


@dataclass(frozen=True)
class _Source:
    """The reply as sent, its normalised form (NFKC per character, lower case, no control or
    zero-width characters, any whitespace as a space) and, for each normalised character, the
    index of the character it came from, so that details can be cut from the original."""

    original: str
    norm: str
    origin: tuple[int, ...]  # len(norm) + 1 entries; the last is len(original)
    clauses: tuple[_Clause, ...]
    starts: tuple[int, ...]  # of the clauses

    @classmethod
    def of(cls, text: str) -> _Source:
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            for out in unicodedata.normalize("NFKC", char).lower():
                if out in "\r\n":
                    out = "\n"
                elif out.isspace():
                    out = " "
                elif unicodedata.category(out) in ("Cc", "Cf"):
                    continue
                chars.append(out)
                origin.append(index)
        origin.append(len(text))
        norm = _TYPOS.sub(lambda m: _TYPO_FIXES[m.group()], "".join(chars))
        clauses = tuple(_split_clauses(norm))
        return cls(text, norm, tuple(origin), clauses, tuple(c.start for c in clauses))

    def cut(self, start: int, end: int | None = None) -> str:
        """The original text behind norm[start:end], trimmed of spaces and leading punctuation."""
        first = self.origin[start]
        last = self.origin[len(self.norm) if end is None else end]
        return self.original[first:last].strip().lstrip(_LEAD_PUNCT).strip()

    def clause_at(self, position: int) -> _Clause:
        """The clause a position falls in (a boundary belongs to the clause before it)."""
        return self.clauses[max(bisect_right(self.starts, position) - 1, 0)]

    def before(self, position: int) -> str:
        """The text of the clause up to position, at most WINDOW characters of it."""
        start = max(self.clause_at(position).start, position - WINDOW)
        return self.norm[start:position]

    def after(self, position: int) -> str:
        """The text of the clause from position on, at most WINDOW characters of it."""
        clause = self.clause_at(position)
        return self.norm[position:min(clause.end, position + WINDOW)]

    def at_clause_start(self, position: int) -> bool:
        clause = self.clause_at(position)
        return position - clause.start <= WINDOW and not self.norm[clause.start:position].strip()


_LEAD_PUNCT = ":：,，、。.;；!！-—~～ \t"
# Variants and common typos, fixed in the normalised text only, each by a text of the same
# length (the map back to the original stays exact): 元月 is January; 以经完成 is 已经完成 (but
# 难以完成 stays what it is).
_TYPO_FIXES = {"元月": "1月", "成了一般": "成了一半", "到味": "到位", "以经": "已经",
               "以完成": "已完成", "以办结": "已办结", "完城": "完成", "办节": "办结",
               "尽度": "进度", "进渡": "进度",
               "百分只": "百分之", "困男": "困难", "已竣公": "已竣工", "廷期": "延期",
               "办洁": "办结", "完程": "完成", "弄号": "弄好", "完比": "完毕",
               "全不完成": "全部完成", "搞顶": "搞定"}
_TYPOS = re.compile(r"(?<![难可得足用予加所据是])(?:以经|以完成|以办结)|元月|成了一般|到味|完城"
                    r"|办节"
                    r"|尽度|进渡|百分只|困男|已竣公|廷期|办洁|完程|弄号|完比|全不完成|搞顶")
# How far around a marker the reader looks for the words that qualify it (未, 预计, 已, 需…).
# Clauses are short; the bound also keeps reading linear on a pathological 10,000-char reply.
WINDOW = 30


def _split_clauses(norm: str) -> list[_Clause]:
    clauses: list[_Clause] = []
    position = 0
    for match in _BOUNDARY.finditer(norm):
        clauses.append(_Clause(position, match.start(), norm[position:match.start()],
                               match.group()))
        position = match.end()
    clauses.append(_Clause(position, len(norm), norm[position:], ""))
    return clauses


_QUESTION = re.compile(r"吗|么\s*$|是否|有没有|能否|可否")


# ---- numbers -------------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "零〇一二两三四五六七八九十百"
_EN_NUMBERS = {"a": 1, "an": 1, "another": 1, "one": 1, "two": 2, "three": 3, "four": 4,
               "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12}


def _number(token: str) -> float | None:
    """An Arabic (≤ 4 digits, optional decimals) or Chinese (零…百) number; None otherwise."""
    token = token.strip()
    if re.fullmatch(r"\d{1,4}(?:\.\d{1,4})?", token):
        return float(token)
    if token in _EN_NUMBERS:
        return float(_EN_NUMBERS[token])
    if not token or len(token) > 8 or any(c not in _CN_NUM for c in token):
        return None
    total, current = 0, 0
    for char in token:
        if char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = _CN_DIGITS[char]
    return float(total + current)


