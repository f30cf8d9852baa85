"""Progress figures in a reply: 60%, 百分之四十五, 八成五, 三分之二, 还差两成, 40户里完成了30户,
2/5 — the current progress of the whole task, not a target, a past figure or a percentage of
something else (满意度96%).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.reply_text import WINDOW, _number, _Source

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
    r"(半|[一二三四五六七八九](?![成个户家项人天月年号日万千百]))?"
    r"(?!本|立|员|效|果|熟|功|为|交|绩|都|品|型|年|人|长|就|全|不|片|群|批)")
# 这次50, 现在97, 进度条走到八十五了: a bare number said to be where the work is now.
_NOW_NUMBER = re.compile(
    r"(?:这次|本次|现在|目前|走到|搞到|弄到|干到|做到|整到)\s*(?:是|已经?|到了?|为)?\s*"
    r"(\d{1,3}|[一二两三四五六七八九十百]{1,4})(?![\d.%])"
    r"(?!\s*(?:个|户|家|人|天|号|日|月|年|万|元|米|公里|亩|项|点|岁|多|周|条|处|成|分之))")
# Nothing done yet, said of the whole task (主体还没动 is said of a part: not 0).
_ZERO = re.compile(
    r"一点(?:都|也)没(?:动|做|干|弄)|(?:^|[,.;!?\s。])(?:都|全都|整个|项目|工程|任务|这项|这个)?"
    r"(?:还没|尚未)(?:动|开始|启动|动工)|进度(?:还是|为|是)?\s*(?:零|0)(?![\d.%])"
    r"|^\s*(?:\bnot started\b)")
_HALF = re.compile(r"过半|一半|半数|\bhalf(?:way|\s+(?:done|complete|completed|finished|way))\b")
_NEARLY_DONE = re.compile(
    r"基本(?:上)?(?:已经?|都|均|全部)?(?:完成|完工|竣工|办结|完毕|到位|结束|办妥|弄完|搞定|就绪)"
    r"|\b(?:almost|nearly|practically|basically)\s+(?:done|complete|completed|finished)\b")
_AFTER_WORD = re.compile(
    r"(?:进度|完成率|完成度|完成比例|progress)\s*(?:is|at|of|为|是|已达到?|达到?|约|已|到了?|在|:"
    r"|=|报|还是)?"
    r"\s*(?:约|大约|大概|近|about|approximately|around|~)?\s*" + _NUM +
    r"(?![\d.])(?!\s*(?:个|天|日|月|年|万|亿|元|米|公里|亩|户|人|项|家|%|percent|per\s*cent|成"
    r"|分之))")
_AFTER_ANCHOR = re.compile(r"进度|完成率?|完成了|总任务|任务量|工作量|计划的|任务的|目标的"
                           r"|progress")
_PAST_FIGURE = re.compile(
    r"上周|上次|上旬|上个?月|上回|去年|之前|原来|以前|此前|前期|刚才|刚刚报|第[一二三]周|\d{1,2}月(?:底|末|初|中旬)是?"
    r"|[一二三四五六七八九十]{1,2}月(?:底|末)是?|last\s+(?:week|month|time)|\bwas\b")
_CURRENT_FIGURE = re.compile(
    r"→|->|⇒|这次|本次|实际|应该是|更正为|本周|这周|整个|整体|全部|现在|目前|当前|累计|总进度|总体"
    r"|今天|已经是|到了|达到|截至|now|current")
_INCREMENT_AFTER = re.compile(r"\s*的?\s*(?:工作量|任务量)")
_OTHER_AFTER = re.compile(
    r"\s*(?:of\s+(?:the\s+)?(?:residents|people|villagers|households|respondents|funds?|budget"
    r"|investment)|来自|由|用于|的(?:资金|投资|群众|居民|村民|人|企业|补助))")
_BARE = re.compile(r"\s*(\d{1,3})\s*%?\s*(?:左右)?\s*[。.!]?\s*")
_ANCHOR = re.compile(r"进度|完成|完工|办结|竣工|总体|整体|progress|complet|done|finished")
_FIGURE_PLAN = re.compile(
    r"预计|争取|力争|确保|拟|(?<!已)(?<!已经)将(?!近)|下周|下个?月|目标|"
    r"计划(?=\s*(?:在|于|下|明|本|今|年|月|\d|完成))|\b(?:will|expect|plan to|aim|target)\b")
# Percentages of other things: 满意度96%, 同比下降30%, 覆盖率62%, 贷款利率下浮了20%.
_OTHER_RATE = re.compile(
    r"(?:满意|知晓|覆盖|参与|达标|合格|通过|参保|入学|就业|出生|发生|利|税|增长|增速|增幅|占有|投诉"
    r"|回访"
    r"|入住|使用|优良|治愈|识别|准确|及时|接通|办结率?|到位|签约|出勤|上线|利用|森林|绿化|检出|流失"
    r"|失业"
    r"|回收|处理|处置|抽检|抽查|空置|贫困|城镇化)率"
    r"|满意度|知晓度|同比|环比|比上年|较上年|较去年|增长|下降|上升|提高|降低|下浮|上浮|减少|增加"
    r"|占比|占"
    r"|比例为|折扣|优惠|利率|税率|(?<!完成)率[^,。;!?\n\d]{0,4}$|比例|节省|节约|增速|比往年|比去年"
    r"|\b(?:rate|satisfaction|growth|increase|decrease|share|down|up|saved?|gdp)\b")
_COMPLEMENT_BEFORE = re.compile(r"剩余|剩下|还剩|就剩|只剩|剩|尚余|还差|尚有|仍有|还有"
                                r"|\bremaining\b")
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
        extra = match.group(2)
        if value is not None and value <= 10:
            tenths = value * 10 + (5 if extra == "半" else (_number(extra) or 0) if extra else 0)
            found.append(_Figure(match.start(), match.end(), tenths))
    for match in _NOW_NUMBER.finditer(norm):
        value = _number(match.group(1))
        if value is not None:
            found.append(_Figure(match.start(1), match.end(1), value))
    for match in _ZERO.finditer(norm):
        found.append(_Figure(match.start(), match.end(), 0.0))
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


def _vague_only(source: _Source) -> bool:
    """Whether the only figures are words like 基本完成 (90) or 过半 (50)."""
    figures = _figures(source.norm)
    return bool(figures) and all(figure.vague for figure in figures)


def _progress_reading(source: _Source) -> tuple[int | None, int | None]:
    """(the current progress the text states, or None; a stated figure that cannot be a
    progress — over 100 or below 0 — so the bot can ask back instead of changing anything).

    Figures in a planning clause (争取月底完成80%) are targets, not progress; figures of the
    past (上周30%, 10月底是20%) and of one week's work (本周完成了10%的工作量) are not the
    current progress; percentages of other things (满意度96%) are not progress. Among the
    others one marked current (现在, 目前, 累计, 总进度) wins, else the last one in a clause
    about progress or completion (上周进度40%，本周进度60% → 60), else the first. A figure
    after 剩余/还差 (or before 未完成) counts what is left. A chosen figure over 100 or below 0
    is not a progress at all.
    """
    candidates: list[tuple[bool, float]] = []
    current: list[float] = []
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
        if re.search(r"(?:支付|拨付|资金|投资|付款)[^,。;!?\n]{0,3}进度", before[-10:]):
            continue  # 资金支付进度30%: money, not the work
        if _OTHER_RATE.search(before[-14:]) and not _AFTER_ANCHOR.search(before[-6:]):
            continue  # 满意度96%: a percentage of something else
        if _OTHER_AFTER.match(source.norm, figure.end, clause.end):
            continue  # 90% of residents, 70%来自省级补助
        if _PAST_FIGURE.search(before[-14:]) or _INCREMENT_AFTER.match(source.norm, figure.end,
                                                                      clause.end):
            continue  # 上周30%; 本周完成了10%的工作量
        value = figure.value
        if _COMPLEMENT_BEFORE.search(before[-WINDOW:]) or _COMPLEMENT_AFTER.match(
                source.norm, figure.end, clause.end):
            value = 100 - value if value <= 100 else value
        candidates.append((anchored, value))
        if _CURRENT_FIGURE.search(before[-12:]):
            current.append(value)
    if not candidates:
        return None, None
    about_progress = [value for is_anchored, value in candidates if is_anchored]
    value = current[-1] if current else about_progress[-1] if about_progress \
        else candidates[0][1]
    if value > 100 or value < 0:
        return None, int(value)
    return int(value + 0.5), None


# X of Y: 40户里完成了30户, 共15家企业已整改12家, 已签约60户，总数80户, 完成了2/5, 18 of 24.
_UNIT = (r"(?:个自然村|个村|自然村|所学校|家企业|个项目|公里|千米|万亩|km|户|家|个|人|项|条|座|所"
         r"|村|米|亩|栋|间|处|套|件|名|台|辆|宗|笔|盏|块|口|吨|批|份|场|次|棵|株|只|头|匹|本|张|路"
         r"|段|片|校|镇|乡|期|艘|人次|平方米|平米|立方米|方)")
_QUANTITY = re.compile(r"(?<![\d.])(\d{1,6}(?:\.\d{1,2})?"
                       r"|[一二两三四五六七八九十百]{1,4})\s*(" + _UNIT + ")")
_TOTAL_BEFORE = re.compile(r"(?:总|共|应|全|计划|需要?|涉及|任务|合计|年度|排查|摸排|摸底|梳理|确定"
                           r"|要求|目标)"
                           r"[^,。;!?\n\d]{0,8}$")
_TOTAL_AFTER = re.compile(r"^\s*(?:里面?|中的?|之中|当中|里头)")
_DONE_BEFORE = re.compile(r"(?:已|完成|了|签|拆|缴|建成|改造|清淤|整改|验收|办结|安装|铺设|done"
                          r"|fixed|完工)"
                          r"[^,。;!?\n\d]{0,8}$")
_NOT_DONE_BEFORE = re.compile(r"(?:剩余|剩下|还剩|另外?|其余|其他|尚有|还有|发现|未|没|又|今天|本周"
                              r"|待)[^,。;!?\n\d]{0,6}$")
_REST_BEFORE = re.compile(r"(?:剩余|剩下|还剩|另外?|其余|尚有|还有|后面|余下|未完成的?"
                          r"|没完成的?)[^,。;!?\n\d]{0,6}$")
_EXCEPT = re.compile(r"(\d{1,6})\s*(" + _UNIT + r")[^,。;!?\n\d]{0,6}除(?:了)?\s*(\d{1,6})\s*"
                     + _UNIT + r"\s*(?:外|以外|之外)?")
_EXCEPT_TOTAL_AFTER = re.compile(
    r"除(?:了)?\s*(\d{1,6})\s*(" + _UNIT + r")[^。;!?\n\d]{0,12}(?:总共|一共|共计|共)\s*"
    r"(\d{1,6})\s*" + _UNIT)
_JUST_AFTER_TOTAL = re.compile(r"\s*(?:里面?|中的?|之中|当中|里头)\s*(?:已经?)?\s*")
_SLASH = re.compile(r"(?<![\d/.])(\d{1,3})\s*/\s*(\d{1,3})(?![\d/.])")
_EN_OF = re.compile(r"\b(\d{1,6})\s+(?:out\s+)?of\s+(?:the\s+)?(\d{1,6})\b")
_EN_THIRDS = {"one third": 33, "a third": 33, "two thirds": 67, "a quarter": 25,
              "one quarter": 25, "three quarters": 75}


def _is_total(before: str, after: str) -> bool:
    """共125家, 40户里: a total; 已排查100家 is a count done, not a total."""
    if _TOTAL_AFTER.match(after):
        return True
    return bool(_TOTAL_BEFORE.search(before)) and not re.search(r"已|完成|了", before)


def _except_figure(norm: str) -> int | None:
    """56户除3户外全部签约, 除了3户其他都完成了，总共40户: all but some."""
    match = _EXCEPT.search(norm)
    if match is not None:
        total, left = _number(match.group(1)), _number(match.group(3))
    else:
        match = _EXCEPT_TOTAL_AFTER.search(norm)
        if match is None:
            return None
        left, total = _number(match.group(1)), _number(match.group(3))
    if total and left is not None and left <= total:
        return int((total - left) * 100 / total + 0.5)
    return None


def _ratio_figure(source: _Source) -> int | None:
    """Progress from counts when no percentage is given (rounded half up)."""
    norm = source.norm
    excepted = _except_figure(norm)
    if excepted is not None:
        return excepted
    for match in _EN_OF.finditer(norm):
        done, total = float(match.group(1)), float(match.group(2))
        if 0 < total and done <= total:
            return int(done * 100 / total + 0.5)
    for phrase, share in _EN_THIRDS.items():
        if re.search(r"\b" + phrase + r"\b", norm) and _ANCHOR.search(norm):
            return share
    for match in _SLASH.finditer(norm):
        clause = source.clause_at(match.start())
        if _ANCHOR.search(clause.text) and not re.search(r"[月日号延]|截止|截至", clause.text):
            done, total = float(match.group(1)), float(match.group(2))
            if 0 < total and done <= total:
                return int(done * 100 / total + 0.5)
    quantities = []
    previous_end = 0
    for match in _QUANTITY.finditer(norm):
        value = _number(match.group(1))
        if value is None:
            continue
        before = norm[max(0, match.start() - 12, previous_end):match.start()]
        previous_end = match.end()
        after = norm[match.end():match.end() + 4]
        quantities.append((match, value, match.group(2)[0], before, after))
    for index, (first, value, unit, before, after) in enumerate(quantities):
        for second, other, other_unit, before2, after2 in quantities[index + 1:index + 3]:
            if (other_unit != unit and "个" not in (unit, other_unit)) \
                    or second.start() - first.end() > 40:
                continue
            first_total = _is_total(before, after)
            second_total = _is_total(before2, after2)
            right_after_total = _TOTAL_AFTER.match(after) and _JUST_AFTER_TOTAL.fullmatch(before2)
            if first_total and not second_total and not _NOT_DONE_BEFORE.search(before2) \
                    and (_DONE_BEFORE.search(before2) or right_after_total):
                done, total = other, value
            elif _REST_BEFORE.search(before2) and _DONE_BEFORE.search(before) \
                    and not _NOT_DONE_BEFORE.search(before) and not first_total:
                done, total = value, value + other  # 已完成70户，还剩30户
            elif _REST_BEFORE.search(before) and second_total:
                done, total = other - value, other  # 没完成的还有5个，共20个
            elif second_total and not first_total and _DONE_BEFORE.search(before) \
                    and not _NOT_DONE_BEFORE.search(before):
                done, total = value, other
            elif not first_total and not second_total and value > other \
                    and _DONE_BEFORE.search(before2) and not _NOT_DONE_BEFORE.search(before2) \
                    and not re.search(r"已|了|完成", before[-6:]):
                done, total = other, value  # 35户已拆了28户, 300户签了240户
            else:
                continue
            if 0 < total and 0 <= done <= total:
                return int(done * 100 / total + 0.5)
    return None


