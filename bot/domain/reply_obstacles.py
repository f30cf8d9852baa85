"""Difficulties (困难) in a reply: named as one (困难：…, 存在问题, 需要协调) or as the obstacle
itself — people who will not cooperate, money that has not come, land and approvals, staff,
weather, people who cannot be reached, negotiations, supplies, work that stopped — and not
when negated, resolved, hypothetical or a beneficiary (困难群众).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from bot.domain.reply_text import _Clause, _Source

# 请督查室帮忙把时限延到2月15日: help asked for an extension is not a difficulty.
_EXTENSION_HINT = re.compile(r"延期|延长|延到|延至|顺延|推迟|宽限|时限|期限|\bextend")

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
    r"(?:协调|支持|帮助|帮忙|支援|出面|解决|统筹|督促|推动|请示|介入|加快|配合|出具|支持)"
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
    r"|^\s*(?:解决|化解|排除)|\b(?:resolved|solved|fixed)\b")


# Obstacles as officials name them, without the words 困难 or 问题: people who will not
# cooperate, money that has not come, land and approvals, too few staff, weather, people who
# cannot be reached, negotiations that stall, supplies that do not arrive, work that stopped.
_OBSTACLE = re.compile(
    # people
    r"不配合|不支持|不理解|不同意|不愿意?|不肯|不让|不签|拒签|拒绝|抵触|阻力|有意见|意见(?:很|较)?大"
    r"|不认可|反对|闹事|上访|阻挠|阻工|嫌[^,。;!?\n]{0,8}(?:少|低|高|多)|死活|要价|漫天要价|钉子户"
    r"|不积极|不买账|拖着|一直拖|拖延|推诿|扯皮|态度[^,。;!?\n]{0,4}(?:不好|消极|强硬|变化|有变)"
    r"|意向有变|变卦|返工|标准又变"
    # money
    r"|(?:资金|钱|款|经费|预算|补偿款|工程款|补贴|配套)[^,。;!?\n]{0,8}?"
    r"(?:没到|未到|不到位|没拨|未拨|没下来|没批|不够|不足|缺口|还差|差[^,。;!?\n]{0,4}万|紧张|短缺"
    r"|断|没结|未结|没有着落|没着落|没落实|一分没)"
    r"|垫不起|垫付|涨价|价格[^,。;!?\n]{0,4}(?:涨|翻|高)|追加|资金链|缺钱|没钱|筹不到"
    r"|(?:谈不下来|没谈拢|谈不拢|谈不妥|有分歧|分歧较?大|谈判[^,。;!?\n]{0,6}(?:僵|停|慢))"
    # land, approvals, procedures
    r"|指标[^,。;!?\n]{0,4}(?:没|未|不)|(?:手续|审批|批复|环评|土地|用地|规划|许可|报批|涉河)"
    r"[^,。;!?\n]{0,10}?(?:没批|未批|没下来|未下达|没下|卡|慢|迟迟|较长|排队|没消息|不下来)"
    r"|流标|没消息|迟迟|卡在|卡住|卡壳"
    # staff
    r"|人手|人员紧张|人员不足|人员撤|力量不足|力量不够|力量薄弱|忙不过来|缺人|缺乏?[^,。;!?\n]{0,4}"
    r"(?:人|技术|专业)|没人会|就\s*[一二两三\d]\s*个人|只有\s*[一二两三\d]\s*个人|抽不出"
    # weather and season
    r"|(?:降雨|下雨|雨季|雨天|暴雨|降雪|下雪|大雪|冰冻|结冰|冻土|低温|降温|天冷|天太冷|寒潮|冷了|汛期|台风"
    r"|高温|天气)[^。;!?\n]{0,12}?(?:影响|无法|不能|没法|停|暂停|进不|上不|干不|施工不|刷不|推迟|耽误"
    r"|拖|不便|受阻)"
    r"|冻得|天冷|冰冻|冻土|结冰"
    # contact lost
    r"|联系不上|联系不到|打不通|找不到人|不接电话|失联|跑路|人在外地|在外地[^,。;!?\n]{0,8}(?:回不来|不回)"
    r"|回不来|出国"
    # supplies and contractors
    r"|(?:没到货|未到货|到货[^,。;!?\n]{0,4}(?:慢|晚|延迟|推迟)|还没到|没到场|未到场|供应紧张|缺货"
    r"|停产|交货期|货期|排期|排不过来|排到|排队|不来调试|迟迟不来)"
    # work stopped
    r"|停工|(?<![暂拖])停了|工地[^,。;!?\n]{0,4}停|没法开工|无法开工|没法动工|无法动工|开不了工|动不了|不能动"
    r"|进不去|进不了场|进不了|干不下去|干不动|推不动|协调不动|协调[^,。;!?\n]{0,6}(?:没结果|无果|未果"
    r"|不下来)|施工暂停|暂停施工|搁置|停滞|耽误|影响(?:了)?(?:施工|工期|进度|推进)|难点"
    r"|难度(?:很|较|比较)?大|恐难|难以(?!\s*(?:按期|按时|如期)?\s*完成)|压力(?:很|较)?大|跟不上"
    r"|遇到(?:点|些|了)?麻烦|有(?:点|些)麻烦|麻烦(?:事|的是)|拖(?:了|慢了?)[^,。;!?\n]{0,4}(?:进度|工期)|找不到|对不上|没凑齐|凑不齐|不齐"
    r"|要[^,。;!?\n]{0,8}才能|等[^,。;!?\n]{0,4}(?:资金|钱|款)[^,。;!?\n]{0,4}到位|滞后|进度慢|进展慢"
    r"|拖后腿|(?:清关|出图|审批|进展|推进|办理|到货|拨付|回款)[^,。;!?\n]{0,3}(?:慢|缓慢|迟缓)"
    r"|只能等|要等[^,。;!?\n]{0,12}才|等开春|开春(?:再|后才)|等天气|天气转暖|等明年|等放假"
    r"|很难|较难|太难|挺难|难做|难办|不好做|不好办|做不通|工作不通|[录登报推衔交接办]\s*不[了上开通]"
    r"|下不了|没回复|未回复|没有回复|没答复|未答复|没有?批复|(?:有|存在)?争议|病了|生病|住院"
    r"|互相推|相互推诿|外出(?:务工|打工)|受影响|影响较大|受限|暂停|未开通|没开通|系统故障|天寒地冻"
    r"|容易冻|冻坏|没有经费|没经费|只到了?[^,。;!?\n]{0,3}(?:一半|部分)|说不清|未果|慢慢磨|阻拦"
    r"|拒不|撤场|换人|不确定|不到位|(?:没法|无法|没办法)(?!\s*(?:按期|按时|如期)?\s*完成)|设计变更|方案变更|扯不清|(?<!拖一)拖了"
    r"|天气原因|天气影响|都没到|没到齐|没批下来|没谈下来|不好走|路况差|缺乏|过不去|审不过"
    r"|冻结|发烧|生病|没人盯|滑坡|冲断|运不上|系统[^,。;!?\n]{0,6}报错|录不进|出错|没办下来|还没下来"
    r"|都出去了|等(?:设备|资金|钱|材料|到货)|停在|没搬走|还在路上|才能(?:到|进场)"
    r"|没签下来|不明确|不知道(?:按|听|怎么|该)|没调整|批不了|性质不符|不符合规划|运输途中|僵持|不统一"
    r"|不一致|没想通"
    r"|压着|没给意见|离职|莫得办法|在外学习|没人对接|找不着|叫不回来|(?:进场|开工|到货)晚了"
    r"|政策(?:变了|有变|调整)|标准[^,。;!?\n]{0,4}(?:在变|变了)|风浪|靠不了|供货延迟|不批|出不了|中毒"
    r"|(?:权属|存在|有)[^,。;!?\n]{0,4}纠纷|签不了|停在那|雪太大|封了|暂缓|待政策"
    # staff, ownership, turnover
    r"|人(?:根本|都|手)?不够|人不足|就剩\s*[俩两三\d]\s*个?人|[顾弄干排查忙搞]不过来|抽去|抽调走"
    r"|就(?:我|俺)(?:一个人|和)|工人[^,。;!?\n]{0,3}回(?:老)?家|跑了一半|没人管|没人拍板|各说各"
    r"|谁管|调走了|换届|没人接手"
    # weather
    r"|下雨|落雨|雨太多|雨水多|暴雪|大雾|台风|封路|一片泥|冲毁|冲垮|塌方|泥泞"
    r"|(?:高温|炎热|酷暑)[^,。;!?\n]{0,6}(?:停|不能|无法|干不)"
    # negotiation, people
    r"|没谈妥|谈崩|差了[^,。;!?\n]{0,6}万|还在磨|磨叽|想不通|没做通|做不通|不认|不满足|拦下|拦住"
    r"|有情绪|情绪(?:大|激动)|不公平|天天来|不搬|不签|不同意|闹|吵"
    # approvals and decisions
    r"|没定|定不下来|没动静|没拿到|未拿到|没通过|未通过|还得改|尚未办结|还在走|权限调整|收回|没有?明确"
    r"|不敢开工|没接上|排了[^,。;!?\n]{0,4}(?:个月|天|周)"
    # contact, supplies, money, systems
    r"|见不着|没人接|不接电话|在国外|等他回来|断供|坏了|故障|没运到|等料|限产|供不上|延迟交货|仲未到"
    r"|莫得钱|钱不趁手|没钱|欠起|欠薪|工资[^,。;!?\n]{0,3}欠|闪退|传不上|崩了|信号不好|登不上|上不去"
    # English
    r"|\b(?:refuse[sd]?|not cooperating|uncooperative|obstacles?|shortage|lack of|delayed|late"
    r"|short of|no funds?|funding gap|frozen|unreachable|stalled|halted|opposition|stopped"
    r"|low temperatures?|cold weather|heavy (?:snow|rain)|(?:has|have)n['’]?t (?:arrived|come)"
    r"|not (?:yet )?arrived|can(?:no|')t reach|no response|disagree(?:s|ment)?|oppose[sd]?)\b")
# What makes an obstacle word say there is none, or none any more, or only maybe.
_OBSTACLE_NOT = re.compile(
    r"没(?:什么|啥|有)?(?:大的?)?(?:困难|问题|阻力)|无(?:困难|问题|阻力)|困难不(?:是很|太)?大|不大"
    r"|已(?:经)?(?:全部|基本)?(?:解决|到位|落实|拨付|协调好|谈妥|签|恢复|复工|到货|化解|批)"
    r"|解决了|到位了|复工了|恢复了|谈妥了|批下来了|到货了|都签了|签完了"
    r"|如有|如果|若有|(?<!主)要是|万一|假如|一旦|防止|避免|以免|提前|做好[^,。;!?\n]{0,6}准备|预案"
    r"|第一时间|及时报告|及时反映|会及时|暂无|暂时没有|之前(?:说|反映|提)的|此前反映|前期反映"
    r"|不缺|没什么障碍|没有障碍|到账了|已到账|不是问题|问题不大|已[^,。;!?\n]{0,8}解决|兜底|克服"
    r"|调解成功|达成一致|已调处|签订[^,。;!?\n]{0,4}协议|不存在|找到了|补齐|没障碍|没有这个问题|去年"
    r"|提前跟|以后可能|可能会|延期的申请|困难群众|困难企业|困难户"
    r"|已[^,。;!?\n]{0,8}(?:结案|到位|兑付|清零|支付)")


_RESOLVED_AFTER = re.compile(
    r"^\s*(?:困难|问题)?\s*(?:已|已经)?(?:解决|到位|化解|排除)"
    r"|已经?(?:办下来|解决|复工|恢复|到位|到账|批下来)|复工了|恢复了|(?:钱|资金|款)(?:已经?)?到了|兜底")


def _resolved_next(source: _Source, clause: _Clause) -> bool:
    """资金昨天到账了，困难解决: the clause after says the obstacle is gone."""
    index = bisect_right(source.starts, clause.start) - 1
    following = source.clauses[index + 1] if index + 1 < len(source.clauses) else None
    return following is not None and bool(_RESOLVED_AFTER.search(following.text))


def _obstacle(source: _Source) -> str | None:
    """A clause that names an obstacle (not negated, resolved or hypothetical): its text."""
    for clause in source.clauses:
        text = clause.text
        match = _OBSTACLE.search(text)
        if match is None:
            continue
        if _OBSTACLE_NOT.search(text) or _resolved_next(source, clause):
            continue
        return source.cut(clause.start, clause.end)
    return None


def _difficulty(source: _Source) -> str | None:
    """The difficulty's description when the reply reports one, else None."""
    found = _marked_difficulty(source)
    return found if found is not None else _obstacle(source)


def _marked_difficulty(source: _Source) -> str | None:
    """A difficulty named as one: 困难：…, 存在问题, 需要协调 (not 困难不大, 有困难会第一时间
    报告, 之前的困难已解决, nor a request for help with an extension)."""
    norm = source.norm
    found = [(m.start(), 0, m) for m in _DIFF_HEADING.finditer(norm)]
    found += [(m.start(), 1, m) for m in _DIFF_CLAUSE.finditer(norm)]
    for _, priority, match in sorted(found, key=lambda item: (item[0], item[1])):
        clause = source.clause_at(match.start())
        pre, rest = source.before(match.start()), source.after(match.end())
        if _DIFF_NEG_BEFORE.search(pre) or _DIFF_RESOLVED.search(rest):
            continue
        if _OBSTACLE_NOT.search(clause.text) or _resolved_next(source, clause):
            continue
        if priority == 1 and _EXTENSION_HINT.search(clause.text):
            continue  # 请督查室帮忙把时限延到2月15日: the help asked for is the extension
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


