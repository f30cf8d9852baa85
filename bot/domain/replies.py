"""Reading an official's free-text answer to a reminder: 交账, 进度, 困难, 延期 or a plain note.

Officials answer on their phones, mostly in Chinese, sometimes in English. The reader is
rule-based and deliberately conservative about one thing: a task is only read as done (交账)
on an unambiguous completion statement. Closing a task by mistake is costly, while reading
a completion as a note only means the official says 已完成 again, so every doubtful sentence
(negated, planned, partial, asked, or next to unfinished work) is read as something else.

Order of precedence: extension (申请延期) > difficulty (困难/需协调) > completion > progress
figure > note. A difficulty or an extension keeps any progress figure the text gives.

Reading never raises: `read_reply` falls back to a plain note if anything unexpected happens,
and the reader itself is written (and property-tested) so that the fallback is never needed.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum, StrEnum


class ReplyKind(StrEnum):
    COMPLETION = "completion"  # 交账: the task is done
    PROGRESS = "progress"  # a progress figure
    DIFFICULTY = "difficulty"  # 困难 / 问题 / 需协调 → opens a 困难 item (督帮一体)
    EXTENSION = "extension"  # 申请延期
    NOTE = "note"  # anything else: kept as 最新进展, 进度 unchanged


@dataclass(frozen=True)
class Reading:
    kind: ReplyKind
    progress: int | None = None  # 0–100 when the text gives one; completion → 100
    text: str = ""  # the reply, trimmed (kept as 最新进展)
    detail: str = ""  # the difficulty's description, or the extension's reason
    new_deadline: date | None = None  # for EXTENSION when a date is given


def read_reply(text: str, *, today: date) -> Reading:
    """What the official meant. Never raises; anything unreadable is a NOTE."""
    try:
        return _read_reply(text, today=today)
    except Exception:  # a safety net only: the reader is property-tested not to raise
        return Reading(ReplyKind.NOTE, text=_trimmed(text))


def read_progress(text: str) -> int | None:
    """Just the progress figure (0–100), for a 报进度 answer; a completion statement is 100.

    None when the text gives no figure (or an impossible one, such as 150%).
    """
    try:
        source = _Source.of(text)
        figure = _progress_figure(source)
        if figure is None and _is_completion(source):
            return 100
        return figure
    except Exception:  # a safety net only, as in read_reply
        return None


# ---- acknowledgements: 收到, 好的, 👍 are not reports -----------------------------------------

# Whole words that acknowledge, thank or promise and carry no news about the work. A reply is
# an acknowledgement when, without punctuation, symbols, emoji and spaces, it is made of these
# words only (收到收到, 好的谢谢领导, 收到马上落实); any other word (已, 完成, 进度, a figure,
# a date, 正在, 同上) makes it a report. 落实 / 办 count only as promises: 已落实 is news.
_ACK_WORDS = frozenset({
    # received, understood
    "收到", "已收到", "收到了", "收到啦", "收悉", "已收悉", "悉", "已阅", "阅", "已读",
    "知道", "知道了", "知道啦", "晓得", "晓得了", "明白", "明白了", "明白啦", "了解", "了解了",
    "清楚", "清楚了",
    "懂了", "get",
    # yes, fine
    "好", "好的", "好滴", "好吧", "好呀", "好啊", "好的呢", "好啦", "嗯", "嗯呢", "恩", "哦",
    "噢", "喔", "哈", "是", "是的", "对", "对的", "行", "可以", "没问题", "妥", "收", "好嘞",
    "好哒", "好咧",
    # thanks, courtesy
    "谢谢", "感谢", "多谢", "谢了", "辛苦", "辛苦了", "您辛苦了", "您", "领导", "老师", "同志",
    "提醒", "我", "我们", "请放心", "放心",
    # promises without news
    "遵照执行", "照办", "马上办", "立即办", "马上", "立即", "立刻", "抓紧", "尽快", "一定",
    "落实", "办理", "执行", "照做", "安排", "好的马上",
    # English
    "ok", "okay", "okey", "k", "kk", "got", "it", "noted", "thanks", "thank", "you", "thx",
    "ty", "roger", "yes", "yep", "yeah", "fine", "understood", "received", "will", "do",
    "alright", "cool", "good", "great", "copy", "that", "with", "sure",
})
# 王主任, 李局长: a surname (one or two characters that say nothing about the work) + a title.
_ACK_TITLES = ("主任", "副主任", "科长", "局长", "副局长", "县长", "副县长", "书记", "副书记",
               "部长", "处长", "股长", "组长", "站长", "所长", "镇长", "乡长", "队长", "主席",
               "秘书", "总", "经理", "领导", "老师", "同志")
_ACK_NAME_CHARS = re.compile(r"[\u3400-\u9fff]{1,2}")
_ACK_NOT_NAME = re.compile(r"[已未没不无完成办结进度困难延期需请正在将]")
_ACK_LONGEST = max(len(word) for word in (*_ACK_WORDS, *_ACK_TITLES)) + 2
ACK_MAX = 40  # longer than this (letters and digits only), it is not just an acknowledgement


def is_acknowledgement(text: str) -> bool:
    """收到, 好的, 嗯, 知道了, 👍, 🙏, ok, punctuation or emoji only, or nothing at all: a reply
    that acknowledges but reports nothing (no progress, completion, difficulty, extension or
    note). The adapter answers it with the catalogue's `ack_hint` instead of recording it, so
    it never counts as the period's report. Never raises."""
    try:
        core = _ack_core(text)
    except Exception:  # a safety net only, as in read_reply
        return False
    if not core:
        return True
    if len(core) > ACK_MAX:
        return False
    return _segments_into_ack_words(core)


def _ack_core(text: str) -> str:
    """Letters and digits only, NFKC, lower case: "收到！👍" → "收到", "OK 90%" → "ok90"."""
    if not isinstance(text, str):
        return ""
    kept = [char for char in unicodedata.normalize("NFKC", text).lower()
            if unicodedata.category(char)[0] in "LN"]
    return "".join(kept)


def _segments_into_ack_words(core: str) -> bool:
    """Whether `core` is a sequence of acknowledgement words (word break, linear in length)."""
    reachable = [False] * (len(core) + 1)
    reachable[0] = True
    for start in range(len(core)):
        if not reachable[start]:
            continue
        for end in range(start + 1, min(len(core), start + _ACK_LONGEST) + 1):
            piece = core[start:end]
            if piece in _ACK_WORDS or _addressed(piece):
                reachable[end] = True
    return reachable[len(core)]


def _addressed(piece: str) -> bool:
    """王主任, 李局长, 张副县长: a form of address."""
    return any(piece.endswith(title) and _ACK_NAME_CHARS.fullmatch(piece[: -len(title)])
               and not _ACK_NOT_NAME.search(piece[: -len(title)]) for title in _ACK_TITLES)


# ---- the text, normalised with a map back to what was sent --------------------------------


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
        norm = "".join(chars)
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


# ---- numbers -------------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "零〇一二两三四五六七八九十百"
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
               "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12}


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


# ---- completion ---------------------------------------------------------------------------


class _Use(Enum):
    """How one completion word is used in its clause."""

    AFFIRMED = "affirmed"  # 已完成, 全部完成, done
    NEGATED = "negated"  # 未完成, 无法完成, not done
    PLANNED = "planned"  # 预计下周完成, 月底前完成, will be done
    PARTIAL = "partial"  # 基本完成, 完成60%, 完成投资2000万元, 一期已完成
    ASKED = "asked"  # 完成了吗?
    IGNORED = "ignored"  # 完成情况, 完成时限 (a noun), or 原计划…完成 (a past plan)


_ZH_DONE = re.compile(r"完成|办结|完工|竣工|完毕|搞定")
# Whatever else the text says, these make it not a completion (see the property test).
_ZH_NEGATED_ANYWHERE = re.compile(
    r"[未没]\s*(?:有\s*)?(?:全部\s*|按期\s*|按时\s*)?(?:完成|办结|完工|竣工|完毕)"
    r"|完不成|完成不了|做不完|干不完|办不完|弄不完|搞不定|办不结")
# Phrases that only look like negations or plans.
_ZH_NEUTRAL = re.compile(
    r"没问题|没有问题|没啥问题|不折不扣|按计划|按照计划|按原计划|按期|按时|如期|按要求|按照要求"
    r"|计划内|年度计划|工作计划|投资计划|建设计划|计划任务|不断|不懈")
_ZH_NEG = re.compile(r"未(?!来)|没|不|无法|无力|难以|否|还差|差一点|尚需|还需|仍需")
_ZH_POST_NEG = re.compile(r"^\s*(?:不了|不成|不到|得不)")
_ZH_NOUN_AFTER = re.compile(
    r"^\s*(?:情况|时限|时间|期限|日期|节点|目标|率|度|进度|比例|量|值|数|标准|要求)")
_ZH_PLAN = re.compile(
    r"(?<!已)(?<!已经)将(?!近)|预计|计划|争取|力争|确保|拟|准备|打算|有望|可望|即将|马上|就要|快要"
    r"|(?<![主重必紧])要|需(?!求)|能够|可以|会在|会于|尽快|加快|抓紧|正在|目标|预期|期望|希望"
    r"|安排|待(?!遇)|未来|务必|必须|应当|等到|直到|(?<![随最])后(?!期|续|台|勤|方)")
_ZH_TIME = re.compile(
    r"下周|下个?月|下旬|中旬|上旬|明天|明日|后天|明年|年底|年末|月底|月末|周末|近期|本周|本月"
    r"|今年|[年月周天日]内|以内|之内|节后|春节|前(?!期|段|阶段|置|述|面)|\d\s*[年月日号]"
    r"|[一二两三四五六七八九十]\s*[月日号]")
_ZH_PAST_PLAN = re.compile(r"原计划|原定|原来|原本|本应|本来|按原")
_ZH_PARTIAL = re.compile(
    r"基本|部分|主体|[一二三四]期|初步|阶段性|局部|个别|多数|大多|前期|首批|第一批|第一阶段|大半"
    r"|一半|累计")
_ZH_WHOLE = re.compile(r"全部|全面|所有|整体|全数")
# Hedges: "nearly", "probably" — the official is not saying it is done.
_ZH_HEDGE = re.compile(
    r"快|接近|临近|几乎|近乎|将近|已近|差不多|应该|应当|可能|似乎|好像|大概|估计|或许|也许|大约")
_ZH_POST_HEDGE = re.compile(
    r"^\s*(?:得?\s*差不多|在即|了?\s*吧|[一二三四首]期|第[一二三四]期|第[一二三四]阶段)")
_ZH_QUANTITY = re.compile(
    r"(?<![\d.])\d{1,12}(?:\.\d+)?(?!\s*[年月日号\d])|%|百分之|一半|过半|大半|部分"
    r"|[一二两三四五六七八九十百千万]\s*(?:成|个|户|亩|项|家|万|千|公里|米|栋|间|处|套|座|条|批"
    r"|人|件|宗|笔)")
_ZH_REMAINING = re.compile(
    r"正在|进行中|推进中|实施中|施工中|建设中|剩余|剩下|还剩|尚有|仍有|其余|其他(?:的)?还"
    r"|还有[^,。;!?\n]{0,10}[未没待]")
_QUESTION = re.compile(r"吗|么\s*$|是否|有没有|能否|可否")

_EN_DONE = re.compile(r"\b(?:done|completed?|finished|accomplished)\b")
_EN_NEG = re.compile(
    r"\b(?:not|never|no|cannot|yet|unable|incomplete|unfinished)\b|n['’]t\b|\bcan\s*not\b")
_EN_PLAN = re.compile(
    r"\b(?:will|shall|going to|gonna|expect(?:ed|s)?|plan(?:ned|s)?|aim(?:ing|s)?|hope|should"
    r"|must|eta|target(?:ed)?|scheduled|estimated?|until|till|about to|soon|tomorrow|next)\b"
    r"|\bto\s+(?:be\s+)?$")
_EN_POST_PLAN = re.compile(
    r"^\W*(?:by|before|next|tomorrow|soon|later|within|in\s+\d|this\s+(?:week|month)|end\s+of)\b")
_EN_PARTIAL = re.compile(
    r"\b(?:almost|nearly|mostly|partially|partly|half|part|about|approximately|basically)\b"
    r"|\d|%|\bpercent\b")
_EN_POST_QUANTITY = re.compile(r"^\s*(?:\d|half\b|about\b|%)")
_EN_REMAINING = re.compile(
    r"\b(?:in progress|ongoing|still|remaining|remains|pending|underway|under way)\b")


def _zh_use(clause: _Clause, start: int, end: int) -> _Use:
    pre = _ZH_NEUTRAL.sub("·", clause.text[max(0, start - WINDOW):start])
    post = clause.text[end:end + WINDOW]
    if _ZH_NEG.search(pre) or _ZH_POST_NEG.match(post):
        return _Use.NEGATED
    if _ZH_NOUN_AFTER.match(post):
        return _Use.IGNORED
    if clause.question:
        return _Use.ASKED
    if _ZH_HEDGE.search(pre) or _ZH_POST_HEDGE.match(post):
        return _Use.PARTIAL
    perfective = pre.rfind("已")
    planned = any(m.start() > perfective for m in _ZH_PLAN.finditer(pre))
    if planned or (perfective < 0 and _ZH_TIME.search(pre)) or re.match(r"\s*(?:之|以)?后", post):
        return _Use.IGNORED if _ZH_PAST_PLAN.search(pre) else _Use.PLANNED
    partials = list(_ZH_PARTIAL.finditer(pre))
    if partials and not _ZH_WHOLE.search(pre, partials[-1].end()):
        return _Use.PARTIAL
    if _ZH_QUANTITY.search(post):
        return _Use.PARTIAL
    return _Use.AFFIRMED


def _en_use(clause: _Clause, start: int, end: int) -> _Use:
    pre = clause.text[max(0, start - WINDOW):start]
    post = clause.text[end:end + WINDOW]
    if _EN_NEG.search(pre):
        return _Use.NEGATED
    if clause.question:
        return _Use.ASKED
    if _EN_PLAN.search(pre) or _EN_POST_PLAN.match(post):
        return _Use.PLANNED
    if _EN_PARTIAL.search(pre) or _EN_POST_QUANTITY.match(post):
        return _Use.PARTIAL
    return _Use.AFFIRMED


def _is_completion(source: _Source) -> bool:
    """An unambiguous statement that the task is done: at least one affirmed completion word,
    and nothing anywhere that negates, plans, qualifies or asks about a completion, and no
    mention of unfinished work."""
    norm = source.norm
    if _ZH_NEGATED_ANYWHERE.search(norm) or _ZH_REMAINING.search(norm):
        return False
    if _EN_REMAINING.search(norm):
        return False
    uses: list[_Use] = []
    for clause in source.clauses:
        uses += [_zh_use(clause, m.start(), m.end()) for m in _ZH_DONE.finditer(clause.text)]
        uses += [_en_use(clause, m.start(), m.end()) for m in _EN_DONE.finditer(clause.text)]
    blocking = {_Use.NEGATED, _Use.PLANNED, _Use.PARTIAL, _Use.ASKED}
    return _Use.AFFIRMED in uses and not blocking.intersection(uses)


# ---- progress figures ------------------------------------------------------------------------

_NUM = r"(\d{1,4}(?:\.\d{1,3})?|[零〇一二两三四五六七八九十百]{1,6})"
_PERCENT = re.compile(
    r"(?:(?<![\d%.])([-−]))?(?<![\d.])(\d{1,4}(?:\.\d{1,3})?)(?![\d.])\s*"
    r"(?:%|percent\b|per\s*cent\b|pct\b)")
_CN_PERCENT = re.compile(r"百分之\s*" + _NUM + r"(?![\d.])")
_FRACTION = re.compile(
    r"(?<![百零〇一二两三四五六七八九十\d])([一二两三四五六七八九十]{1,3}|\d{1,3})\s*分之\s*"
    r"([一二两三四五六七八九十]{1,3}|\d{1,3})(?![\d零〇一二两三四五六七八九十])")
_TENTHS = re.compile(
    r"(?<![零〇一二两三四五六七八九十百\d.])([一二两三四五六七八九十]|10|\d)\s*成"
    r"(?!本|立|员|效|果|熟|功|为|交|绩|都|品|型|年|人|长|就|全|不|片|群|批)")
_HALF = re.compile(r"过半|一半|半数|\bhalf(?:way|\s+(?:done|complete|completed|finished|way))\b")
_NEARLY_DONE = re.compile(
    r"基本(?:上)?(?:已经?|都|均|全部)?(?:完成|完工|竣工|办结|完毕)"
    r"|\b(?:almost|nearly|practically|basically)\s+(?:done|complete|completed|finished)\b")
_AFTER_WORD = re.compile(
    r"(?:进度|完成率|完成度|完成比例|progress)\s*(?:is|at|of|为|是|已达到?|达到?|约|已|到了?|在|:|=)?"
    r"\s*(?:约|大约|大概|近|about|approximately|around|~)?\s*" + _NUM +
    r"(?![\d.])(?!\s*(?:个|天|日|月|年|万|亿|元|米|公里|亩|户|人|项|家|%|percent|per\s*cent|成"
    r"|分之))")
_BARE = re.compile(r"\s*(\d{1,3})\s*%?\s*(?:左右)?\s*[。.!]?\s*")
_ANCHOR = re.compile(r"进度|完成|完工|办结|竣工|总体|整体|progress|complet|done|finished")
_FIGURE_PLAN = re.compile(
    r"预计|争取|力争|确保|拟|(?<!已)(?<!已经)将(?!近)|下周|下个?月|目标|"
    r"计划(?=\s*(?:在|于|下|明|本|今|年|月|\d|完成))|\b(?:will|expect|plan to|aim|target)\b")
_COMPLEMENT_BEFORE = re.compile(r"剩余|剩下|还剩|尚余|还差|尚有|仍有|还有|\bremaining\b")
_COMPLEMENT_AFTER = re.compile(r"\s*(?:未完成|没完成|尚未完成|待完成|未完|left|remaining|to go)")


@dataclass(frozen=True)
class _Figure:
    start: int
    end: int
    value: float
    vague: bool = False  # 过半 (50), 基本完成 (90): only when no figure is stated


def _figures(norm: str) -> list[_Figure]:
    found: list[_Figure] = []
    for match in _PERCENT.finditer(norm):
        sign = -1 if match.group(1) else 1  # 进度-20% is clamped to 0 below
        found.append(_Figure(match.start(), match.end(), sign * float(match.group(2))))
    for match in _CN_PERCENT.finditer(norm):
        value = _number(match.group(1))
        if value is not None:
            found.append(_Figure(match.start(), match.end(), value))
    for match in _FRACTION.finditer(norm):
        whole, part = _number(match.group(1)), _number(match.group(2))
        if whole and part is not None:
            found.append(_Figure(match.start(), match.end(), part * 100 / whole))
    for match in _TENTHS.finditer(norm):
        value = _number(match.group(1))
        if value is not None and value <= 10:
            found.append(_Figure(match.start(), match.end(), value * 10))
    for match in _HALF.finditer(norm):
        found.append(_Figure(match.start(), match.end(), 50.0, vague=True))
    for match in _NEARLY_DONE.finditer(norm):
        found.append(_Figure(match.start(), match.end(), 90.0, vague=True))
    for match in _AFTER_WORD.finditer(norm):
        value = _number(match.group(1))
        if value is not None:
            found.append(_Figure(match.start(1), match.end(1), value))
    bare = _BARE.fullmatch(norm)
    if bare:
        found.append(_Figure(bare.start(1), bare.end(1), float(bare.group(1))))
    # Where two readings overlap (进度60% is both a percentage and a number after 进度),
    # keep the one that starts first, then the longer one.
    found.sort(key=lambda f: (f.start, -f.end))
    kept: list[_Figure] = []
    for figure in found:
        if not kept or figure.start >= kept[-1].end:
            kept.append(figure)
    return kept


def _progress_figure(source: _Source) -> int | None:
    """The current progress the text states, or None.

    Figures in a planning clause (争取月底完成80%) are targets, not progress. Among the others
    the last one in a clause about progress or completion wins (上周进度40%，本周进度60% → 60),
    else the first. A figure after 剩余/还差 (or before 未完成) counts what is left. A chosen
    figure over 100 is not a progress at all.
    """
    candidates: list[tuple[bool, float]] = []
    previous_end: dict[int, int] = {}
    clause_kind: dict[int, tuple[bool, bool]] = {}  # clause start → (planning, anchored)
    figures = _figures(source.norm)
    if any(not f.vague for f in figures):  # 进度60%，征地完成过半 → 60, not 50
        figures = [f for f in figures if not f.vague]
    for figure in figures:
        clause = source.clause_at(figure.start)
        before = source.norm[previous_end.get(clause.start, clause.start):figure.start]
        previous_end[clause.start] = figure.end
        if clause.start not in clause_kind:
            clause_kind[clause.start] = (bool(_FIGURE_PLAN.search(clause.text)),
                                         bool(_ANCHOR.search(clause.text)))
        planning, anchored = clause_kind[clause.start]
        if planning:
            continue
        value = figure.value
        if _COMPLEMENT_BEFORE.search(before[-WINDOW:]) or _COMPLEMENT_AFTER.match(
                source.norm, figure.end, clause.end):
            value = 100 - value if value <= 100 else value
        candidates.append((anchored, value))
    if not candidates:
        return None
    anchored = [value for is_anchored, value in candidates if is_anchored]
    value = anchored[-1] if anchored else candidates[0][1]
    if value > 100:
        return None
    return max(0, int(value))


# ---- difficulties ---------------------------------------------------------------------------

# 困难：… — the description follows the heading.
_DIFF_HEADING = re.compile(
    r"(?:困难|问题|难点|堵点|难题|瓶颈)(?:\s*(?:和|及|与|、)\s*(?:困难|问题|建议))?\s*:"
    r"|\b(?:problems?|issues?|difficult(?:y|ies)|blockers?|obstacles?)\s*:")
_HEADING_COLON = re.compile(r"\s*(?:如下)?\s*:")
_DIFF_NOTHING = re.compile(
    r"\s*(?:无|没有|暂无|暂时没有|无困难|无问题|none|no|nil|n/?a|/|-)?\s*[。.!]?\s*")
# Markers that are the description themselves (from their clause on).
_DIFF_CLAUSE = re.compile(
    r"(?:存在|遇到|面临|碰到|出现)[^,。;!?\n]{0,10}?(?:困难|问题|难题|阻力|障碍|瓶颈|缺口|矛盾)"
    r"|困难(?!群众|户|家庭|职工|学生|党员|老人|人员|人群|对象|残疾|儿童|帮扶|救助|补助|村)"
    r"|(?<!所)(?:需要|需|急需|亟需|亟待|恳请|请求|提请|请|希望|建议)(?!求)[^,。;!?\n]{0,10}?"
    r"(?:协调|支持|帮助|帮忙|支援|出面|解决)"
    r"|卡在|卡住|卡壳|受阻|难以推进|无法推进|推不动|资金(?:缺口|短缺|不足|未到位|不到位|紧张)"
    r"|\bblocked\b|\bstuck\b"
    r"|\b(?:need(?:s|ed)?|request(?:s|ing)?|require(?:s|d)?)\s+(?:\w+\s+){0,3}?"
    r"(?:help|support|coordination|assistance)\b")
_DIFF_NEG_BEFORE = re.compile(
    r"(?:无|没有?|并无|暂无|不|未|暂不|并不|无须|不再|不用)\s*(?:存在|遇到|发现|什么|任何|较大的?|大的?)?"
    r"\s*$|\b(?:no|not|don't|doesn't|never|without)\s+(?:\w+\s+){0,2}$|n['’]t\s+(?:\w+\s+){0,2}$")
_DIFF_OVERCOME = re.compile(
    r"(?:克服|解决|化解|排除|帮助|帮扶|慰问|救助|资助|走访)[^,。;!?\n]{0,6}$")
_DIFF_RESOLVED = re.compile(
    r"已(?:经)?(?:全部|基本)?(?:解决|整改|协调|处理|化解|消除|落实|到位)|均已|都已"
    r"|\b(?:resolved|solved|fixed)\b")


def _difficulty(source: _Source) -> str | None:
    """The difficulty's description when the reply reports one, else None."""
    norm = source.norm
    found = [(m.start(), 0, m) for m in _DIFF_HEADING.finditer(norm)]
    found += [(m.start(), 1, m) for m in _DIFF_CLAUSE.finditer(norm)]
    for _, priority, match in sorted(found, key=lambda item: (item[0], item[1])):
        clause = source.clause_at(match.start())
        pre, rest = source.before(match.start()), source.after(match.end())
        if _DIFF_NEG_BEFORE.search(pre) or _DIFF_RESOLVED.search(rest):
            continue
        if priority == 0:
            if _DIFF_NOTHING.fullmatch(norm[match.end():]):
                continue
            return source.cut(match.end())
        if match.group().startswith("困难") and _DIFF_OVERCOME.search(pre):
            continue
        heading = _HEADING_COLON.match(norm, match.end())
        if heading and not _DIFF_NOTHING.fullmatch(norm[heading.end():]):
            return source.cut(heading.end())  # 存在问题：… is a heading too
        return source.cut(clause.start)
    return None


# ---- extensions ------------------------------------------------------------------------------

_EXT_WORD = re.compile(
    r"延期|延长|顺延|推迟|展期|宽限|调整(?=\s*(?:为|至|到))"
    r"|\b(?:extend(?:ed|ing)?|extension|postpone(?:d)?|defer(?:red)?)\b")
_EXT_REQUEST = re.compile(
    r"(?:申请|请求|恳请|提请|需要?|拟|要求|建议|希望|请|想|能否|可否|特此|request(?:ing)?|apply"
    r"|ask(?:ing)?|need|please|would like to|want to)[^,。;!?\n]{0,10}$")
_EXT_NEG = re.compile(
    r"(?:无需|无须|不需要?|不用|不必|不再|暂不|不|未|没有?|无)\s*(?:申请|要求|需要?)?\s*$"
    r"|\b(?:no|not|don't|doesn't|never|without)\s+(?:\w+\s+){0,3}$|n['’]t\s+(?:\w+\s+){0,3}$")
_EXT_TARGET = re.compile(
    r"^\s*(?:时限|期限|工期|时间)?\s*(?:至|到|为)|^\s*(?:\d|[一两二三四五六七八九十半])"
    r"|^\s*(?:to|until|till|by|for)\b")
_EXT_TIME_WORD = re.compile(r"时限|期限|工期|完成时间|截止|deadline|due")
_REASON = re.compile(
    r"原因|理由|因为|由于|鉴于|因(?![此而素])|\bbecause(?:\s+of)?\b|\bdue\s+to\b|\breasons?\b")
_REASON_LEAD = re.compile(r"(?:是|为|系|如下|:|\s|is\b|was\b)*")  # used with match(pos)


@dataclass(frozen=True)
class _Extension:
    start: int
    end: int


def _extension(source: _Source) -> _Extension | None:
    norm = source.norm
    for match in _EXT_WORD.finditer(norm):
        pre, after = source.before(match.start()), source.after(match.end())
        if _EXT_NEG.search(pre):
            continue
        word = match.group()
        requested = bool(_EXT_REQUEST.search(pre))
        if word == "延期" or word.startswith(("extend", "extension", "postpone", "defer")):
            if requested or source.at_clause_start(match.start()) or _EXT_TARGET.match(after):
                return _Extension(match.start(), match.end())
        elif requested or (_EXT_TARGET.match(after) and _EXT_TIME_WORD.search(pre + after)):
            return _Extension(match.start(), match.end())
    return None


def _reason(source: _Source, extension: _Extension) -> tuple[str, int]:
    """The reason given for an extension, and where the deadline search should stop."""
    norm = source.norm
    found = [m for m in _REASON.finditer(norm)]
    after = [m for m in found if m.start() >= extension.end]
    before = [m for m in found if m.end() <= extension.start]
    if after:
        lead = _REASON_LEAD.match(norm, after[0].end())
        start = lead.end() if lead else after[0].end()
        return source.cut(start), after[0].start()
    if before:
        lead = _REASON_LEAD.match(norm, before[-1].end())
        start = lead.end() if lead else before[-1].end()
        stop = source.clause_at(extension.start).start
        if stop <= start:
            stop = extension.start
        return source.cut(start, stop).rstrip(_LEAD_PUNCT), len(norm)
    return "", len(norm)


# ---- dates -------------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _upcoming(today: date, month: int, day: int | None, year_word: str = "") -> date | None:
    """A date given without a year: this year if it is not past, else next year.

    day None means the end of the month. 明年 / 今年 force the year.
    """
    def build(year: int) -> date | None:
        if not 1 <= month <= 12 or not 1 <= year <= 9999:
            return None
        if day is None:
            return _month_end(year, month)
        return _safe_date(year, month, day)

    if year_word in ("明年", "next year"):
        return build(today.year + 1)
    if year_word in ("今年", "this year"):
        return build(today.year)
    this_year = build(today.year)
    if this_year is not None and this_year >= today:
        return this_year
    return build(today.year + 1)


def _add_months(today: date, months: int) -> date | None:
    index = today.year * 12 + today.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    end = _month_end(year, month + 1)
    return end.replace(day=min(today.day, end.day))


def _add_days(today: date, days: float) -> date | None:
    try:
        return today + timedelta(days=round(days))
    except OverflowError:
        return None


_MON = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"
_EN_MONTHS = {name: index for index, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_EN_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_PERIOD_DAYS = {"月": 0, "周": 7, "星期": 7, "礼拜": 7, "天": 1, "日": 1,
                "month": 0, "week": 7, "day": 1}


def _full_date(m: re.Match[str], today: date) -> date | None:
    return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _year_month(m: re.Match[str], today: date) -> date | None:
    year, month = int(m.group(1)), _number(m.group(2))
    if month is None or not 1 <= month <= 12 or not 1 <= year <= 9999:
        return None
    return _month_end(year, int(month))


def _month_day(m: re.Match[str], today: date) -> date | None:
    month, day = _number(m.group(2)), _number(m.group(3))
    if month is None or day is None:
        return None
    return _upcoming(today, int(month), int(day), m.group(1) or "")


def _month_only(m: re.Match[str], today: date) -> date | None:
    month = _number(m.group(2))
    if month is None:
        return None
    day = {"初": 5, "上旬": 10, "中旬": 20}.get(m.group(3) or "")
    return _upcoming(today, int(month), day, m.group(1) or "")


def _this_month_end(m: re.Match[str], today: date) -> date | None:
    return _month_end(today.year, today.month)


def _next_month_end(m: re.Match[str], today: date) -> date | None:
    following = _add_months(today.replace(day=1), 1)
    return _month_end(following.year, following.month) if following else None


def _year_end(m: re.Match[str], today: date) -> date | None:
    return _safe_date(today.year + (1 if m.group(1) == "明" else 0), 12, 31)


def _day_of_month(m: re.Match[str], today: date) -> date | None:
    day = _number(m.group(1))
    if day is None:
        return None
    this_month = _safe_date(today.year, today.month, int(day))
    if this_month is not None and this_month >= today:
        return this_month
    following = _add_months(today.replace(day=1), 1)
    return _safe_date(following.year, following.month, int(day)) if following else None


def _duration(m: re.Match[str], today: date) -> date | None:
    count_word, half, unit = m.group(1), m.group(2), m.group(3).rstrip("s")
    count = 0.5 if count_word in ("半", "half a") else _number(count_word)
    if count is None:
        return None
    if half:
        count += 0.5
    step = _PERIOD_DAYS.get(unit, 1)
    if step:
        return _add_days(today, count * step)
    # Months: the same day n months later (clamped to the month's end); half a month is 15 days.
    whole = int(count)
    target = _add_months(today, whole) if whole else today
    if target is None:
        return None
    return _add_days(target, 15) if count > whole else target


def _en_month_day(m: re.Match[str], today: date) -> date | None:
    month, day = _EN_MONTHS[m.group(1)], int(m.group(2))
    if m.group(3):
        return _safe_date(int(m.group(3)), month, day)
    return _upcoming(today, month, day)


def _en_day_month(m: re.Match[str], today: date) -> date | None:
    month, day = _EN_MONTHS[m.group(2)], int(m.group(1))
    if m.group(3):
        return _safe_date(int(m.group(3)), month, day)
    return _upcoming(today, month, day)


def _en_end_of_month(m: re.Match[str], today: date) -> date | None:
    return _upcoming(today, _EN_MONTHS[m.group(1)], None)


_YEAR_WORD = r"(明年|今年)?\s*"
_EN_COUNT = r"(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|half a)"
# Deadline patterns, each with its builder. At one place the longest match wins, then the
# earlier pattern (3月 is March, not three months; 3个月 is three months).
_DATE_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str], date], date | None]]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})"
                r"(?!\d)\s*[日号]?"), _full_date),
    (re.compile(r"(?<!\d)(\d{4})\s*年\s*" + _MON + r"\s*月\s*(?:份)?\s*(?:底|末|前)?"),
     _year_month),
    (re.compile(_YEAR_WORD + _MON + r"\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})"
                r"(?!\d)\s*[日号]?"), _month_day),
    (re.compile(_YEAR_WORD + r"(?<![\d个])" + _MON +
                r"\s*月\s*(?:份)?\s*(底|末|初|上旬|中旬|下旬)?"), _month_only),
    (re.compile(r"(?:本月|这个?月)\s*(?:底|末)|(?<![个下])月\s*(?:底|末)"
                r"|\bend\s+of\s+(?:the\s+|this\s+)?month\b"), _this_month_end),
    (re.compile(r"下\s*个?\s*月\s*(?:底|末)?|\bend\s+of\s+next\s+month\b"), _next_month_end),
    (re.compile(r"(明|今)?\s*年\s*年?\s*(?:底|末)|\bend\s+of\s+(?:the\s+|this\s+)?year\b"),
     _year_end),
    (re.compile(r"(?:至|到)\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"), _day_of_month),
    (re.compile(r"(?<![\d月至到])(\d{1,3}|[一二两三四五六七八九十]{1,3}|半)\s*个?\s*(半)?\s*多?"
                r"\s*(月|周|星期|礼拜|天|日)(?!期|内)"), _duration),
    (re.compile(r"\b" + _EN_COUNT + r"\s+(?:more\s+)?()(months?|weeks?|days?)\b"), _duration),
    (re.compile(r"\b" + _EN_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s*(\d{4})\b)?"),
     _en_month_day),
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _EN_MONTH +
                r"(?:,?\s*(\d{4})\b)?"), _en_day_month),
    (re.compile(r"\bend\s+of\s+" + _EN_MONTH), _en_end_of_month),
]


def _deadline(segment: str, today: date) -> date | None:
    """The first date the segment names (earliest match; at one place the longest wins)."""
    matches: list[tuple[int, int, int]] = []
    found: list[tuple[re.Match[str], Callable[[re.Match[str], date], date | None]]] = []
    for pattern, build in _DATE_PATTERNS:
        for match in pattern.finditer(segment):
            if match.end() > match.start():
                matches.append((match.start(), -match.end(), len(found)))
                found.append((match, build))
    covered = 0  # a failed date (2月30日) is not retried as a shorter one (2月)
    for start, negative_end, index in sorted(matches):
        if start < covered:
            continue
        match, build = found[index]
        result = build(match, today)
        if result is not None:
            return result
        covered = -negative_end
    return None


# ---- the reader ---------------------------------------------------------------------------------


def _read_reply(text: str, *, today: date) -> Reading:
    trimmed = _trimmed(text)
    source = _Source.of(text)
    figure = _progress_figure(source)

    extension = _extension(source)
    if extension is not None:
        reason, stop = _reason(source, extension)
        deadline = _deadline(source.norm[extension.end:stop], today)
        return Reading(ReplyKind.EXTENSION, progress=figure, text=trimmed, detail=reason,
                       new_deadline=deadline)

    detail = _difficulty(source)
    if detail is not None:
        return Reading(ReplyKind.DIFFICULTY, progress=figure, text=trimmed,
                       detail=detail or trimmed)

    if (figure is None or figure == 100) and _is_completion(source):
        return Reading(ReplyKind.COMPLETION, progress=100, text=trimmed)
    if figure is not None:
        return Reading(ReplyKind.PROGRESS, progress=figure, text=trimmed)
    return Reading(ReplyKind.NOTE, text=trimmed)
