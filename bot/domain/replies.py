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
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum, StrEnum

from bot.domain.reply_dates import _deadline, _extension_date, _suggested_date
from bot.domain.reply_figures import _progress_reading, _ratio_figure, _vague_only
from bot.domain.reply_obstacles import _difficulty
from bot.domain.reply_text import _LEAD_PUNCT, WINDOW, _Clause, _Source, _trimmed


class ReplyKind(StrEnum):
    COMPLETION = "completion"  # 交账: the task is done
    PROGRESS = "progress"  # a progress figure
    DIFFICULTY = "difficulty"  # 困难 / 问题 / 需协调 → opens a 困难 item (督帮一体)
    EXTENSION = "extension"  # 申请延期
    NOTE = "note"  # anything else: kept as 最新进展, 进度 unchanged


@dataclass(frozen=True)
class Reading:
    """Every facet one reply carries; the ledger applies them together in one change.

    `kind` is the reply's main facet (completion > extension > difficulty > progress > note),
    kept on the stored report and in the history. Built by hand with a kind only (a button,
    a steered prompt), the facets follow from the kind.
    """

    kind: ReplyKind
    progress: int | None = None  # 0–100 when the text gives one; completion → 100
    text: str = ""  # the reply, trimmed (kept as 最新进展)
    detail: str = ""  # the difficulty's description (or, for EXTENSION, its reason)
    new_deadline: date | None = None  # the extension's date, when the reply gives one
    difficulty: str | None = None  # 困难: its description; None when the reply reports none
    extension: bool = False  # 申请延期 (with or without a date)
    reason: str = ""  # the extension's reason
    confirm: bool = False  # a completion the reader is not sure of: ask 确认交账？ first
    suggested_deadline: date | None = None  # 春节后, 往后推几天: a date to propose
    odd_progress: int | None = None  # a stated figure that cannot be a progress (120%, -5%)

    def __post_init__(self) -> None:
        if self.kind is ReplyKind.DIFFICULTY and self.difficulty is None:
            object.__setattr__(self, "difficulty", self.detail or self.text)
        if self.kind is ReplyKind.EXTENSION and not self.extension:
            object.__setattr__(self, "extension", True)
            if not self.reason:
                object.__setattr__(self, "reason", self.detail)

    @property
    def done(self) -> bool:
        """交账 without asking: the reply says the whole task is done, now."""
        return self.kind is ReplyKind.COMPLETION

    def facets(self) -> tuple[str, ...]:
        """What the reply says, in the product's order: done, progress, difficulty, extension."""
        found = []
        if self.done:
            found.append("done")
        elif self.confirm:
            found.append("confirm")
        if self.progress is not None and not self.done:
            found.append("progress")
        if self.difficulty is not None:
            found.append("difficulty")
        if self.extension:
            found.append("extension")
        return tuple(found)

    def as_progress(self) -> Reading:
        """只是进展: the same reply with its completion claim taken back (the official said
        it is not 交账); the progress, difficulty and extension stay."""
        return replace(self, kind=_main_kind(False, self.extension, self.difficulty,
                                             self.progress), confirm=False)

    def without_extension(self) -> Reading:
        """The reply without its extension request (asked about separately: it gave no date)."""
        return replace(self, kind=_main_kind(self.done, False, self.difficulty, self.progress),
                       extension=False, new_deadline=None, suggested_deadline=None,
                       reason="", detail=self.difficulty or "")

    def as_completion(self) -> Reading:
        """确认交账: the official confirmed that the whole task is done."""
        return replace(self, kind=ReplyKind.COMPLETION, progress=100, confirm=False,
                       extension=False, new_deadline=None, suggested_deadline=None)


def _main_kind(done: bool, extension: bool, difficulty: str | None,
               progress: int | None) -> ReplyKind:
    if done:
        return ReplyKind.COMPLETION
    if extension:
        return ReplyKind.EXTENSION
    if difficulty is not None:
        return ReplyKind.DIFFICULTY
    if progress is not None:
        return ReplyKind.PROGRESS
    return ReplyKind.NOTE


def read_reply(text: str, *, today: date, deadline: date | None = None) -> Reading:
    """What the official meant. Never raises; anything unreadable is a NOTE.

    `deadline` is the task's current 完成时限: a relative extension (延期20天, 往后延两周)
    counts from it (from today when there is none, or when that would still be past).
    """
    try:
        return _read_reply(text, today=today, deadline=deadline)
    except Exception:  # a safety net only: the reader is property-tested not to raise
        return Reading(ReplyKind.NOTE, text=_trimmed(text))


def read_progress(text: str) -> int | None:
    """Just the progress figure (0–100), for a 报进度 answer; a completion statement is 100.

    None when the text gives no figure (or an impossible one, such as 150%).
    """
    try:
        source = _Source.of(text)
        figure, _ = _progress_reading(source)
        if figure is None and _completion(source) == "done":
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
    "落实", "办理", "执行", "照做", "安排", "好的马上", "坚决", "坚决落实", "坚决完成任务",
    "请领导放心", "对接", "马上对接", "去办", "马上去办", "按要求", "抓好", "抓好落实", "会",
    "会抓紧", "中", "要得", "好勒", "遵命", "哈哈", "哈哈哈", "得嘞", "去弄", "马上去弄",
    "一定完成", "保证完成", "全力以赴", "推进", "跟进", "马上跟进",
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


# ---- completion ---------------------------------------------------------------------------


class _Use(Enum):
    """How one completion word is used in its clause."""

    AFFIRMED = "affirmed"  # 已完成, 全部完成, done
    NEGATED = "negated"  # 未完成, 无法完成, not done
    PLANNED = "planned"  # 预计下周完成, 月底前完成, will be done
    PARTIAL = "partial"  # 基本完成, 完成60%, 完成投资2000万元, 一期已完成
    ASKED = "asked"  # 完成了吗?
    IGNORED = "ignored"  # 完成情况, 完成时限 (a noun), or 原计划…完成 (a past plan)


_ZH_DONE = re.compile(
    r"完成|办结|完工|竣工|完毕|搞定|办妥|弄妥|搞好|弄好|做完|弄完|干完|搞完|办完|整完|清运完|弄利索"
    r"|搞掂"
    r"|(?<![金钱款员备料])(?:整改|落实|发放|兑付|调运|储备)?\s*(?:已经?|均已|全部"
    r"|都)?\s*(?<![金钱款员备料])到位|圆满结束|已结束|全部结束|清零|闭环"
    r"|验收(?:合格|通过)|复查(?:也)?通过|全部合格|全面建成|已建成|已拆除|已化解|已交账"
    r"|可以交账|可以销号|可以交差|申请交账|申请销号|整改销号|全部销号"
    r"|全部[^,。;!?\n]{0,4}(?:完了|好了|光了|结束|结案|交付|达标|签约|入库|起运|打到|配送|建成|完工"
    r"|落实|换装|发放)"
    r"|(?:全部|全都|都)[^,。;!?\n]{0,3}(?:落实|整好|弄好|办好|搞好|拾掇|停当|ok|OK)了?"
    r"|停当|完事|完活|收官|了结|利索了|巴适了|通过[^,。;!?\n]{0,4}验收|(?<![申请可以予])交账"
    r"|(?:都|全)[^,。;!?\n]{0,3}好了|[收缴核签拆发装]完了?|缴齐|核完|办好了?|完结|归一|弄[^,。;!?\n]?好了"
    r"|[铺建装]好了|贯通|通车|通水"
    r"|[签拆换装修]完了?|任务(?:已经?)?(?:结束|收官|销号)|可以结了|(?<![了])结了|已?交付|已?挂牌"
    r"|齐活|得咗|落实完|整利索|并网|投入使用|投入运行|一户不少|一个不少|一户没剩|妥了"
    r"|全(?:部|都)都?[^,。;!?\n]{0,3}(?:发|签|拆|装|交|弄|办|做|整|改)了"
    r"|请(?:予)?(?:销号|销账|核验|核账|验收)")
# Whatever else the text says, these make it not a completion (see the property test).
_ZH_NEGATED_ANYWHERE = re.compile(
    r"[未没]\s*(?:有\s*)?(?:全部\s*|按期\s*|按时\s*)?(?:完成|办结|完工|竣工|完毕)"
    r"|完不成|完成不了|做不完|干不完|办不完|弄不完|搞不定|办不结")
# Phrases that only look like negations or plans.
_ZH_NEUTRAL = re.compile(
    r"没问题|没有问题|没啥问题|不折不扣|按计划|按照计划|按原计划|按期|按时|如期|按要求|按照要求"
    r"|计划内|年度计划|工作计划|投资计划|建设计划|计划任务|不断|不懈")
_ZH_NEG = re.compile(r"未(?!来)|没|不|无法|无力|难以|否|还差|差一点|尚需|还需|仍需")
_ZH_POST_NEG = re.compile(
    r"^\s*(?:不了|不成|不到|得不|得了|得成|啥|个啥|什么|个什么|个鬼|个屁|呢)")
_ZH_RHETORICAL = re.compile(r"哪里|哪儿|哪有|哪能|什么|怎么可能|谈何|说什么|别说|还(?=\s*$)")
# 施工队说弄完了: what someone else says is not the official's 交账.
_ZH_HEARSAY = re.compile(r"(?:说|听说|据说|反映|称)[^,。;!?\n]{0,3}$")
# 完成销售收入…, 完成投资800万: an amount, not the task.
_ZH_AMOUNT_AFTER = re.compile(
    r"^\s*(?:了)?\s*(?:投资|产值|销售|收入|税收|营收|任务量|工作量|招商|签约额|引资|固投|增加值)")
_ZH_NOUN_AFTER = re.compile(
    r"^\s*(?:情况|时限|时间|期限|日期|节点|目标|率|度|进度|比例|量|值|数|标准|要求)")
_ZH_PLAN = re.compile(
    r"(?<!已)(?<!已经)将(?!近)|预计|计划|争取|力争|确保|拟|准备|打算|有望|可望|即将|马上|就要|快要"
    r"|一定|保证|时限内|期限内"
    r"|(?<![主重必紧])要|需(?!求)|能够|可以|会在|会于|尽快|加快|抓紧|正在|目标(?![人户群村企])|预期"
    r"|期望"
    r"|希望"
    r"|安排|待(?!遇)|未来|务必|必须|应当|等到|直到|等(?!级|同|于|待遇)|(?<![功性动产])能(?!力|源|耗"
    r"|效|级|手)|肯定|保证"
    r"|(?<![随最])后(?!期|续|台|勤|方)")
_ZH_TIME = re.compile(
    r"下周|下个?月|下旬|中旬|上旬|明天|明日|后天|明年|年底|年末|月底|月末|周末|近期|本周|本月"
    r"|今年|[年月周天日]内|以内|之内|节后|春节|(?<!提)前(?!期|段|阶段|置|述|面)|\d\s*[年月日号]"
    r"|[一二两三四五六七八九十]\s*[月日号]")
_ZH_PAST_PLAN = re.compile(r"原计划|原定|原来|原本|本应|本来|按原")
_ZH_PARTIAL = re.compile(
    r"基本|部分|主体|[一二三四]期|初步|阶段性|局部|个别|多数|大多|前期|首批|第一批|第一阶段|大半"
    r"|一半|累计|大头|大部分|主要|大体|其中|[一二三四五\d]\s*标段|土建|今天的|今日的|本周的")
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
    r"正在|进行中|推进中|实施中|施工中|建设中|剩余|剩下|还剩|就剩|只剩|尚有|仍有|其余|其他(?:的)?还"
    r"|还在|太早|刚铺开|刚开始|刚起步|刚启动|刚开头|所谓|纸面|差得远|还早"
    r"|除了|除去|除[^,。;!?\n]{1,12}外|\bexcept\b"
    r"|还有[^,。;!?\n]{0,10}[未没待]")
# 剩下的3户都签了, 已将剩余12户全部签约: the remaining work is done too.
_ZH_REMAINING_DONE = re.compile(
    r"(?:都|全部|均|已将)[^,。;!?\n]{0,8}(?:了|完|到位|签约|结束|清零)|剩余[^,。;!?\n]{0,4}已"
    r"|也[^,。;!?\n]{0,4}完")

_EN_DONE = re.compile(r"\b(?:done|completed?|finished|accomplished)\b")
_EN_NEG = re.compile(
    r"\b(?:not|never|no|cannot|yet|unable|incomplete|unfinished)\b|n['’]t\b|\bcan\s*not\b")
_EN_PLAN = re.compile(
    r"\b(?:will|shall|going to|gonna|expect(?:ed|s)?|plan(?:ned|s)?|aim(?:ing|s)?|hope|should"
    r"|must|eta|target(?:ed)?|scheduled|estimated?|until|till|about to|soon|tomorrow|next"
    r"|once|when|after|as soon as)\b|['’]ll\b"
    r"|\bto\s+(?:be\s+)?$")
_EN_POST_PLAN = re.compile(
    r"^\W*(?:by|before|next|tomorrow|soon|later|within|in\s+\d|this\s+(?:week|month)|end\s+of)\b")
_EN_PARTIAL = re.compile(
    r"\b(?:almost|nearly|mostly|partially|partly|half|part|about|approximately|basically)\b"
    r"|\d|%|\bpercent\b")
_EN_POST_QUANTITY = re.compile(r"^\s*(?:\d|half\b|about\b|%)")
_EN_REMAINING = re.compile(
    r"\b(?:in progress|ongoing|still|remaining|remains|pending|underway|under way|not yet"
    r"|not started)\b|n['’]t (?:started|begun|finished|done)")


def _zh_use(clause: _Clause, start: int, end: int) -> _Use:
    pre = _ZH_NEUTRAL.sub("·", clause.text[max(0, start - WINDOW):start])
    post = clause.text[end:end + WINDOW]
    if _ZH_NEG.search(pre) or _ZH_POST_NEG.match(post) or _ZH_RHETORICAL.search(pre):
        return _Use.NEGATED
    if _ZH_NOUN_AFTER.match(post):
        return _Use.IGNORED
    if _ZH_AMOUNT_AFTER.match(post) or _ZH_HEARSAY.search(pre):
        return _Use.PARTIAL
    if clause.question:
        return _Use.ASKED
    if _ZH_HEDGE.search(pre) or _ZH_POST_HEDGE.match(post):
        return _Use.PARTIAL
    perfective = pre.rfind("已")
    # 前天就完成了, 弄完了: done, at a time in the past (a time word then is no plan).
    past = bool(re.match(r"\s*了", post) or re.search(
        r"(?:昨天|前天|早|上周|之前)就|昨天|前天|刚刚?|已于|于\s*\d", pre))
    if past and perfective < 0 and re.search(
            r"(?:昨天|前天|早|上周|之前)就|昨天|前天|刚刚?|已于|于\s*\d", pre):
        perfective = len(pre)
    planned = any(m.start() > perfective for m in _ZH_PLAN.finditer(pre))
    raw_pre = clause.text[max(0, start - 8):start]
    if perfective < 0 and not past and re.search(r"(?:按期|按时|如期|按原时限|按新时限)\s*$",
                                                 raw_pre):
        return _Use.PLANNED  # 按期完成 (no 已): a promise
    if re.match(r"\s*(?:要到|还要|还得|估计|预计|要等|至少|再报|再说|了?\s*(?:会|就会|以后|之后))",
                post):
        return _Use.PLANNED  # 全部完成要到春节前后
    if planned or (perfective < 0 and not past and _ZH_TIME.search(pre)) \
            or re.match(r"\s*(?:之|以)?后(?!的)", post):
        return _Use.IGNORED if _ZH_PAST_PLAN.search(pre) else _Use.PLANNED
    if clause.text.endswith("到位", 0, end) and re.search(
            r"(?:资金|钱|款|经费|人员|设备|材料|物资)[^,。;!?\n]{0,3}$", pre):
        return _Use.IGNORED  # 资金已到位: a means, not the task
    partials = list(_ZH_PARTIAL.finditer(pre))
    whole = _ZH_WHOLE.search(clause.text, start, end)  # 全部完工 (the match holds 全部)
    if partials and not whole and not _ZH_WHOLE.search(pre, partials[-1].end()):
        return _Use.PARTIAL
    if _ZH_QUANTITY.search(post.lstrip(" ").split(" ")[0][:8]) and not re.match(
            r"\s*(?:了)?\s*(?:全部|所有|全县|全镇|全乡|全村|全市|全区|整个|全)", post):
        return _Use.PARTIAL  # 完成60%, 完成3户, 完成投资2000万
    if re.match(r"\s*(?:任务)?\s*没问题", post):
        return _Use.PLANNED  # 完成任务没问题: a promise
    return _Use.AFFIRMED


def _en_use(clause: _Clause, start: int, end: int) -> _Use:
    pre = re.sub(r"\bt\d{2,}\b", "", clause.text[max(0, start - WINDOW):start])  # T0011 done
    post = clause.text[end:end + WINDOW]
    if _EN_NEG.search(pre):
        return _Use.NEGATED
    if clause.question:
        return _Use.ASKED
    if _EN_PLAN.search(pre) or _EN_POST_PLAN.match(post):
        return _Use.PLANNED
    if (_EN_PARTIAL.search(pre) and not re.search(r"\ball\b", pre)) \
            or _EN_POST_QUANTITY.match(post):
        return _Use.PARTIAL
    return _Use.AFFIRMED


# Parts of a task, or steps before its end: "方案已完成", "摸底登记已完成", "主体已完工" do
# not say the task is done. A completion whose clause names one (without 全部 / 整体) is asked
# about (确认交账？) rather than taken.
_ZH_SUBSTEP = re.compile(
    r"方案|设计|招标|招投标|摸底|调查|调研|排查|登记|手续|审批|批复|立项|备案|规划|选址"
    r"|测量|测绘|评估|图纸|预算|清单|初稿|草案|基础|地基|主体|土建|框架|封顶|一期|二期|首批"
    r"|第一批|前期|初验|试运行|进场|开工|自查|勘察|勘测|土方|路基|基坑")
# The task itself: 任务完成, 工作全部完成 — no step of it.
_ZH_TASK_DONE = re.compile(r"(?:任务|工作|项目|事项)[^,。;!?\n]{0,4}(?:完成|结束|办结|完毕|收官)")
# Work that comes next: "接下来评估", "下一步进场施工" — the task goes on.
_ZH_NEXT = re.compile(
    r"接下来|下一步|下步|下阶段|下一阶段|随后|然后|再进行|再开展|准备|即将|还要|还得|还需|尚需"
    r"|仍需|待(?!遇)|进场施工|开始施工|启动|(?:可以|开始|准备|将|马上|即将)[^,。;!?\n]{0,3}"
    r"(?:施工|开工|动工)|到时候|再报|告诉你|告诉您|报给您|就报(?!过)|继续")
# Work still to do, anywhere in the reply: 设备还没安装, 还差2户没签字, 二标段刚开工, 又在改.
_ZH_PENDING = re.compile(
    r"(?:还|尚|都|仍|并)\s*(?:没|未)(?:有)?(?!问题|什么问题|遗留|影响|困难|来得及)|还差|就差|只差|差最后"
    r"|刚开工|刚动工|又在|被退回|退回了|返工|没到齐|没凑齐|在推进|推进中|在做|在弄|在改")
# 下一步建立长效管护机制: upkeep after the task is done, not more of the task.
_UPKEEP = re.compile(r"长效|巩固|常态|管护|持续|后续管理|跟踪问效")
# 交账 in so many words: the official hands the task in.
_ZH_HAND_IN = re.compile(
    r"可以交账|申请交账|予以交账|交账|可以销号|申请销号|请核验|请核账|请验收|请销号|请审核|请查验"
    r"|请予核验|请予销号")


# 完成100%, Completed 100%: the figure says it is all done.
_ALL_OF_IT = re.compile(r"(?:完成|completed?|done|finished)\s*(?:了|率)?\s*100\s*%"
                        r"|100\s*%\s*(?:完成"
                        r"|complete|done|finished)")


def _nothing_left(source: _Source) -> bool:
    """No word of negation, plan, question or work still to do anywhere (for a bare 100%)."""
    norm = source.norm
    if _ZH_NEGATED_ANYWHERE.search(norm) or _ZH_PENDING.search(norm) or \
            _EN_REMAINING.search(norm) or any(clause.question for clause in source.clauses):
        return False
    return not any(_ZH_REMAINING.finditer(norm)) and not _ZH_PLAN.search(norm) \
        and not _EN_PLAN.search(norm)


def _whole_done(source: _Source) -> bool:
    return any(_ZH_WHOLE.search(c.text) and _ZH_DONE.search(c.text) for c in source.clauses)


def _completion(source: _Source) -> str | None:
    """"done" for a statement that the whole task is done now, "confirm" when a completion is
    affirmed but might be of a part (ask 确认交账？), None otherwise: anything that negates,
    plans, qualifies or asks about a completion, or mentions unfinished or next work."""
    norm = source.norm
    if _ZH_NEGATED_ANYWHERE.search(norm) or _EN_REMAINING.search(norm) \
            or _ZH_PENDING.search(norm):
        return None
    for match in _ZH_REMAINING.finditer(norm):
        if match.group().startswith("除") or match.group() == "except" or \
                not _ZH_REMAINING_DONE.search(source.clause_at(match.start()).text):
            return None
    uses: list[_Use] = []
    affirmed: list[_Clause] = []
    for clause in source.clauses:
        for match in _ZH_DONE.finditer(clause.text):
            uses.append(_zh_use(clause, match.start(), match.end()))
            if uses[-1] is _Use.AFFIRMED:
                affirmed.append(clause)
        for match in _EN_DONE.finditer(clause.text):
            uses.append(_en_use(clause, match.start(), match.end()))
            if uses[-1] is _Use.AFFIRMED:
                affirmed.append(clause)
    blocking = {_Use.NEGATED, _Use.PLANNED, _Use.PARTIAL, _Use.ASKED}
    if any(_ZH_WHOLE.search(clause.text) for clause in affirmed):
        blocking.discard(_Use.PARTIAL)  # 已完成入户复核1023户…工作全部完成
    if _Use.ASKED in uses and _Use.AFFIRMED in uses[uses.index(_Use.ASKED):]:
        blocking.discard(_Use.ASKED)  # 完成了吗？完成了！
    if not affirmed or blocking.intersection(uses):
        return None
    if any(not _UPKEEP.search(source.clause_at(m.start()).text) for m in _ZH_NEXT.finditer(norm)):
        return None
    if _ZH_HAND_IN.search(norm):
        return "done"
    if _ZH_TASK_DONE.search(norm):
        return "done"
    for clause in affirmed:
        if _ZH_SUBSTEP.search(clause.text) and not _ZH_WHOLE.search(clause.text):
            return "confirm"
    return "done"


# ---- extensions ------------------------------------------------------------------------------

_EXT_WORD = re.compile(
    r"(?:推|挪|放|延|拖)到(?=\s*(?:节后|年后|春节|下个?季度|明年|年底))|延期|延长|顺延|推迟|展期"
    r"|宽限|延后|往后延|延(?=\s*(?:到|至|一|延|\d"
    r"|两|几|个|半|[二三四五六七八九十]))"
    r"|往后(?:推|挪|拖|放)|推到|推至|挪到|挪一挪|缓一缓|缓到|缓几天|放到|调到|放宽|多给|再给|再要|多要"
    r"|延迟"
    r"|(?:春节|过年|年|节)(?:以|之)?后[^,。;!?\n]{0,4}(?:完成|弄完|干完"
    r"|办完)(?=[^。\n]{0,4}(?:行不行|行吗|可以吗|可否|能否|好吗|吧))"
    r"|调整(?=\s*(?:为|至|到))|调整[^,。;!?\n]{0,2}时限|改(?:成|到|为)(?=[^,。;!?\n]{0,12}(?:完成"
    r"|交|\d|〇|年|月))"
    r"|晚(?=\s*(?:[一两二三几\d]\s*(?:个)?\s*(?:天|周|个月|星期|礼拜)|点|些|一点|一阵)\s*"
    r"(?:再)?(?:交|完成|报|弄完|结|办|吗|吧|行不行|可以吗|好吗|\s*$))"
    r"|(?:春节|过年|年|节)(?:以|之)?后再(?:交|报|弄|完成|办)"
    r"|(?:再交|再报|交|完成|报)(?=\s*(?:可以吗|行吗|行不行|可不可以|好吗|成吗|中不中|可否))"
    r"|(?:能不能|可不可以|可以|可否|能否)[^,。;!?\n]{0,10}再(?:交|报|完成)"
    r"|\b(?:extend(?:ed|ing)?|extension|postpone(?:d)?|defer(?:red)?|push(?:ed)? back"
    r"|more time|(?:one|a few|two|some) more (?:days?|weeks?|months?)"
    r"|push(?:ed)? (?:the deadline|it|this)|give us until|another (?:day|week|month|\d+ days?)"
    r"|need (?:more|another|extra) (?:time|days?|weeks?))\b")
# Words that ask for time only when a date, a period or a deadline word comes with them.
_EXT_WEAK = ("延长", "推迟", "延后", "推到", "推至", "挪到", "放到", "调到", "调整", "放宽",
             "extended", "extending", "postponed", "deferred", "改成", "改到", "改为", "延迟")
_VAGUE_LATER = re.compile(r"\s*(?:节后|年后|春节|下个?季度|明年|年底)")
_EXT_GIVE = ("多给", "再给", "再要", "多要")  # 再给我们一周时间: with a period or 时间
# A mention of an extension that is not a request now: past, granted, withdrawn, conditional.
_EXT_NOT_NOW = re.compile(
    r"(?<![号日底末月周天])之前|上回|上次|去年|此前|前次|已经?(?:同意|批准?|报|交|提交|申请过?)"
    r"|批了|批下来|同意了|作废"
    r"|撤回|撤销|不需要了|不用了|不延|不用延|还没批复|申请过|驳回|获批|不可能|有人问|可能要申请"
    r"|怎么填"
    r"|不提|先不|暂不|什么手续|怎么申请|怎么办理|流程|什么区别|几号|会不会|在哪|还是直接|扣分|考虑一下"
    r"|请示一下|要不要|本来想|后来|被退回|不让|延期后的?|没有申请"
    r"|感谢[^,。;!?\n]{0,6}同意|批复的|按照|按新时限|上周申请|上个?月申请|已经?(?:延期|延长|顺延)"
    r"|(?<!主)要是|如果|若|万一|假如|一旦|如需"
    r"|等[^,。]{0,8}再申请"
    r"|\b(?:already|approved|granted|withdraw|withdrawn|if)\b")
_EXT_REFUSED_AFTER = re.compile(r"^\s*(?:不用|不需要|不延|不了|没必要|算了|no\b)")
_EXT_REQUEST = re.compile(
    r"(?:申请|请求|恳请|提请|需要?|拟|要求|建议|希望|请|想|能否|可否|能不能|可不可以|可以|特此"
    r"|request(?:ing)?|apply"
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


def _extensions(source: _Source) -> list[_Extension]:
    """Every mention that asks for more time now, in order."""
    norm = source.norm
    found: list[_Extension] = []
    for match in _EXT_WORD.finditer(norm):
        pre, after = source.before(match.start()), source.after(match.end())
        if _EXT_NEG.search(pre):
            continue
        clause = source.clause_at(match.start())
        if _EXT_NOT_NOW.search(clause.text) or _refused_next(source, clause) \
                or _conditional_before(source, clause):
            continue
        word = match.group()
        requested = bool(_EXT_REQUEST.search(pre))
        if word in _EXT_GIVE:
            if not re.search(r"时间|\d\s*[天周月]"
                             r"|[一两二三四五六七八九十几半]\s*(?:个)?\s*[天周月星礼]",
                             after):
                continue
        elif word in _EXT_WEAK and not _VAGUE_LATER.match(after):
            if not (requested or (_EXT_TARGET.match(after)
                                  and _EXT_TIME_WORD.search(clause.text))
                    or (_EXT_TARGET.match(after) and _deadline(after, date(2000, 1, 1)))):
                continue
        elif word.startswith(("extend", "postpone", "defer")) and not (
                requested or source.at_clause_start(match.start()) or _EXT_TARGET.match(after)
                or clause.question):
            continue
        found.append(_Extension(match.start(), match.end()))
    return found


def _conditional_before(source: _Source, clause: _Clause) -> bool:
    """要是下周还不到，我们再申请延期: a request made only if something happens."""
    index = bisect_right(source.starts, clause.start) - 1
    return index > 0 and "再" in clause.text and bool(
        re.search(r"(?<!主)要是|如果|若|万一|假如|一旦|倘若", source.clauses[index - 1].text))


def _refused_next(source: _Source, clause: _Clause) -> bool:
    """延期一个月？不用了: the next clause turns it down."""
    index = bisect_right(source.starts, clause.start) - 1
    following = source.clauses[index + 1] if index + 1 < len(source.clauses) else None
    return following is not None and bool(_EXT_REFUSED_AFTER.match(following.text))


def _extension(source: _Source) -> _Extension | None:
    found = _extensions(source)
    return found[0] if found else None


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



def _requested_date(source: _Source, extensions: list[_Extension], stop: int, today: date,
                    deadline: date | None) -> date | None:
    """The date an extension asks for: first right after a mention (in its clause, or the
    next when nothing follows: 申请延期，至2月10日); then anywhere in a mention's clause (a
    two-week extension); then from the first mention to the reason (因…)."""
    norm = source.norm
    for extension in extensions:
        clause = source.clause_at(extension.start)
        end = clause.end
        if not norm[extension.end:end].strip() and end < len(norm):
            end = source.clause_at(min(end + 1, len(norm))).end
        because = _REASON.search(norm, extension.end, end)
        if because is not None:  # 延期申请：因…停工近20天 — the reason's figures are not it
            end = because.start()
        found = _extension_date(norm[extension.end:end], today, deadline)
        if found is not None:
            return found
    for extension in extensions:
        clause = source.clause_at(extension.start)
        found = _extension_date(norm[clause.start:clause.end], today, deadline)
        if found is not None:
            return found
    return _extension_date(norm[extensions[0].end:stop], today, deadline)



# ---- the reader ---------------------------------------------------------------------------------


def _read_reply(text: str, *, today: date, deadline: date | None = None) -> Reading:
    trimmed = _trimmed(text)
    source = _Source.of(text)
    figure, odd = _progress_reading(source)
    if figure is None and odd is None:
        figure = _ratio_figure(source)

    extensions = _extensions(source)
    extension = extensions[0] if extensions else None
    new_deadline: date | None = None
    suggested: date | None = None
    reason = ""
    if extension is not None:
        reason, stop = _reason(source, extension)
        new_deadline = _requested_date(source, extensions, stop, today, deadline)
        if new_deadline is None:
            suggested = _suggested_date(source.norm, today, deadline)

    difficulty = _difficulty(source)
    completion = _completion(source)
    if completion is None and figure == 100 and (_nothing_left(source) or (
            not _ZH_NEGATED_ANYWHERE.search(source.norm)
            and (_ZH_HAND_IN.search(source.norm) or _ALL_OF_IT.search(source.norm)))):
        completion = "done"  # 进度100%，请核账; T0018 100%
    elif completion == "done" and figure is not None and figure < 100 \
            and _vague_only(source) and _whole_done(source):
        figure = None  # 不是基本完成，是全部完成了 / 基本完成是上次的说法，现在已经全部完成了
    if extension is not None or (figure is not None and figure < 100):
        completion = None  # asking for more time, or a figure below 100: not done
    elif completion == "done" and difficulty is not None:
        completion = "confirm"  # 已完成 next to a problem: ask
    done = completion == "done"
    progress = 100 if done else figure
    kind = _main_kind(done, extension is not None, difficulty, progress)
    detail = (difficulty or trimmed) if kind is ReplyKind.DIFFICULTY else (
        reason if kind is ReplyKind.EXTENSION else "")
    return Reading(kind, progress=progress, text=trimmed, detail=detail,
                   new_deadline=new_deadline, difficulty=difficulty,
                   extension=extension is not None, reason=reason,
                   confirm=completion == "confirm", suggested_deadline=suggested,
                   odd_progress=odd if figure is None else None)
