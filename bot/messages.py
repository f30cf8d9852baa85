"""Everything users read, rendered in one place per language (Chinese default, English option).

Messages are HTML (Telegram parse mode); every piece of user text goes through `esc`.
Shape (SPEC "Messages"): key fact first, short, the task's 编号 in every task message,
dates as 12月31日（周四）, and one line saying how to answer.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from datetime import date as Date  # in Messages, whose methods date/datetime shadow the types
from datetime import datetime as DateTime
from typing import Any

from bot.domain.calendar import WorkCalendar
from bot.domain.errors import DomainError
from bot.domain.model import (
    ExtensionRequest,
    HistoryEntry,
    Invite,
    Person,
    RebindRequest,
    Report,
    Task,
    TaskStatus,
)
from bot.domain.rhythm import PlannedReminder, ReminderKind, secured_period
from bot.domain.text import deadline_needs_confirmation
from bot.domain.warning import EMOJI, Light, overdue_workdays

MAX_MESSAGE = 4096

_WEEKDAYS_ZH = "一二三四五六日"
_STATUS_EN = {
    TaskStatus.OPEN: "open",
    TaskStatus.SUBMITTED: "awaiting verification",
    TaskStatus.CLOSED: "closed",
    TaskStatus.CANCELLED: "cancelled",
}

ZH: dict[str, str] = {
    "not_registered": (
        "您好！您还未登记为本台账的责任人。\n请联系县政府督查室获取邀请链接，点开即可完成绑定。"
    ),
    "admin_only": "此命令仅限督查室管理员使用。",
    "save_failed": "⚠️ 系统未能保存，本次操作没有生效。请稍后重新发送。",
    "store_failure_alert": "⚠️ 数据写入失败（服务器磁盘可能已满），刚才的报送未能保存，已请报送人稍后重发。请尽快检查服务器磁盘空间。",
    "internal_error": "⚠️ 处理时出现问题，本次操作没有生效。请稍后重试，或联系督查室。",
    "help_admin": (
        "<b>落实 · 督查室命令</b>\n"
        "/add 任务 | 牵头单位 | 责任人 | 完成时限 [| 责任领导] — 建账（只发 /add 则逐项填写）\n"
        "/tasks [单位] — 在办任务　/mine 姓名 — 某位领导分管的任务\n"
        "/task 编号 — 任务详情和记录\n"
        "/remind 编号 — 立即催办\n"
        "/cancel 编号 [原因] — 撤销任务\n"
        "/invite 姓名 [单位] — 生成绑定邀请链接\n"
        "/people — 人员和绑定情况\n"
        "/plan [天数] — 调度计划　/dispatch — 立即执行今日调度\n"
        "/import — 导入 Excel 台账　/export — 导出台账\n"
        "/verify /reject /reopen /resolve /extend 编号 — 核账、退回、重开、困难解决、延期\n"
        "/report [旬|月|季] [单位] — 工作通报　/score [期间] — 考核得分\n"
        "/leave 姓名 起 止 — 请假　/exempt 编号 理由 — 容错\n"
        "例：/add 世忻铁路复线征地 | 县自然资源局 | 张三、李四 | 一季度 | 陈副县长"
    ),
    "help_official": (
        "<b>落实 · 使用说明（责任人）</b>\n"
        "收到调度提醒后，直接回复该消息报送，例如：\n"
        "　“进度60%，完成主体征地”\n"
        "　“已完成”（交账，督查室核账后销账）\n"
        "　“困难：配套资金未到位”\n"
        "　“申请延期至1月15日，原因：……”\n"
        "也可点提醒下方的按钮：✅ 已完成 · 📈 报进度 · ⚠️ 有困难 · ⏳ 申请延期。\n"
        "同一天有多项任务时，提醒合并为一条：回复时写明序号或编号，如“2 进度60%”“T0005 已完成”，"
        "或点📝按钮选任务。\n"
        "/tasks — 我负责的任务　/task 编号 — 任务详情，例如 /task T0007"
    ),
    "greeting_hint": "直接回复调度提醒报送，例如“进度80%”“已完成”“困难：……”。",
    "help_leader": (
        "<b>落实 · 使用说明（责任领导）</b>\n"
        "/mine — 我分管的任务，带🔴🟡🟢预警\n"
        "/task 编号 — 任务详情和记录，例如 /task T0007\n"
        "/tasks — 我作为责任人负责的任务\n"
        "分管任务逾期、报告困难或申请延期时，会在这里告知您。\n"
        "如需代为报送，直接回复提醒，或在 /task 编号 下方点按钮，例如“进度80%”“已完成”。"
    ),
    "mine_header": "我分管的任务（{count} 项）",
    "mine_header_of": "{name} 分管的任务（{count} 项）",
    "mine_none": "您没有分管的在办任务。您负责的任务请发送 /tasks 查看。",
    "mine_none_of": "{name} 没有分管的在办任务。",
    "mine_usage": "用法：/mine 姓名 — 查看该领导分管的任务，例如 /mine 陈副县长",
    "tasks_lead_hint": "您分管 {count} 项任务，发送 /mine 查看。",
    "welcome_bound": "✅ 绑定成功，{name}（{unit}）。\n今后调度提醒将发到这里。",
    "welcome_bound_elsewhere": "✅ 绑定成功，{name}（{unit}）。\n按本系统设置，调度提醒发到您的{channel}；在这里也可以报送。",
    "channel_telegram": "Telegram",
    "channel_dingtalk": "钉钉",
    "welcome_back": "您好，{name}。",
    "your_open_tasks": "您负责的在办任务（{count} 项）：",
    "no_open_tasks": "您目前没有在办任务。",
    "invite_unknown": "邀请码无效。请向督查室索取新的邀请链接。",
    "invite_used": "该邀请链接已被使用。如需重新绑定，请向督查室索取新的链接。",
    "invite_expired": "该邀请链接已过期（有效期 7 天）。请向督查室索取新的链接。",
    "already_bound": "您的账号已绑定为 {name}，不能再绑定他人。如有误，请联系督查室。",
    "rebind_pending": "已收到您的绑定申请。{name} 已绑定另一个账号，换绑须经督查室确认，确认后会在这里通知您。",
    "rebind_question": "🔁【换绑申请】{name}{unit} 已绑定账号 {old}，现账号 {new} 用邀请链接申请换绑。\n确认后原账号不再收到提醒，并会收到通知。如非本人更换账号，请点“不同意”。",
    "btn_rebind_ok": "✅ 确认换绑",
    "btn_rebind_no": "❌ 不同意",
    "rebind_done": "已将 {name} 换绑到新账号，已通知原账号。",
    "rebind_done_new": "✅ 督查室已确认换绑，{name}（{unit}）今后的调度提醒将发到这里。",
    "rebind_old_notice": "⚠️ 您的账号已由督查室换绑：{name} 今后的调度提醒将发到新账号，本账号不再接收。如非本人申请，请立即联系督查室。",
    "rebind_refused": "已不同意 {name} 的换绑申请，原绑定不变。",
    "rebind_refused_notice": "督查室未同意换绑，{name} 仍绑定原账号。如有疑问，请联系督查室。",
    "self_rebind": "这是绑定您本人账号的换绑申请，须由其他管理员确认。",
    "superseded_rebind": "此按钮已失效：该换绑申请已处理，或绑定已有变化。",
    "nothing_pending_rebind": "找不到换绑申请 {id}。",
    "invite_created": (
        "已为 {name}{unit} 生成邀请链接（7 天内有效，仅限一次）：\n{link}\n"
        "请转发给本人，点开后按“开始”即完成绑定。"
    ),
    "invite_usage": "用法：/invite 姓名 [单位]\n例：/invite 张三 县自然资源局",
    "dingtalk_invite": "发送“绑定 {code}”给机器人",
    "add_usage": (
        "格式：/add 任务 | 牵头单位 | 责任人 | 完成时限 [| 责任领导]\n"
        "例：/add 世忻铁路复线征地 | 县自然资源局 | 张三、李四 | 2026-12-31 | 陈副县长\n"
        "多名责任人用“、”分隔；时限可写 2026-12-31、12月底、一季度、下周五，长期任务写“长期”。"
        "只发 /add 可逐项填写。"
    ),
    "add_parts": "应为 4 项（可加第 5 项责任领导），用 | 分隔，实际为 {count} 项。",
    "add_one_line": "钉钉上请一次写全四项（逐项填写的 /add 目前只在电报上可用）。",
    "field_title": "任务",
    "field_lead_unit": "牵头单位",
    "field_owners": "责任人",
    "field_deadline": "完成时限",
    "field_name": "姓名",
    "field_unit": "单位",
    "invalid_title": "“任务”不能为空，且不超过 200 字。",
    "invalid_lead_unit": "“牵头单位”不能为空，且不超过 30 字。",
    "invalid_owners": "请至少写一名责任人，多名用“、”分隔，例如：张三、李四。",
    "invalid_deadline": (
        "看不懂完成时限“{value}”。可写 2026-12-31、12月31日、12月底、月底前、一季度、下周五、"
        "春节前；长期任务写“长期”。"
    ),
    "invalid_name": "姓名不能为空，且不超过 30 字。",
    "invalid_unit": "单位名称不超过 30 字。",
    "task_created": (
        "✅ 已建账 <b>{id}</b> {title}\n牵头单位：{unit}　责任人：{owners}\n完成时限：{deadline}"
    ),
    "created_leader": "责任领导：{leader}",
    "add_unbound": "⚠️ {names} 尚未绑定，收不到提醒。点下方按钮生成邀请链接，转发给本人。",
    "btn_invite": "📨 生成邀请链接",
    "invite_links": "<b>{id}</b> 的邀请链接（7 天内有效，仅限一次），请分别转发给本人：",
    "invite_link_line": "{name}：{link}",
    "invite_all_bound": "{id} 的责任人和责任领导都已绑定。",
    "ask_title": "建账第 1/4 步：请发送任务名称。\n（随时发送“取消”结束）",
    "ask_unit": "第 2/4 步：牵头单位是？例如：县自然资源局",
    "ask_owners": "第 3/4 步：责任人是谁？多名用“、”分隔，例如：张三、李四",
    "ask_deadline": "第 4/4 步：完成时限？例如 2026-12-31、12月底、一季度、下周五，长期任务写“长期”",
    "retry": "请重新发送。",
    "dialog_cancelled": "已取消，未建账。",
    "dialog_expired": "建账对话已超时结束，未建账。如需继续，请重新发送 /add。",
    "tasks_header": "在办任务（{count} 项）",
    "tasks_header_unit": "{unit} 在办任务（{count} 项）",
    "tasks_none": "没有在办任务。",
    "tasks_none_unit": "“{unit}”没有在办任务。已有单位：{units}",
    "tasks_more": "……另有 {count} 项，请用 /tasks 单位 筛选，或 /task 编号 查看。",
    "task_line": "<b>{id}</b> {title}\n　{deadline}｜{owners}｜{status}",
    "task_usage": "用法：/task 编号，例如 /task T0007",
    "task_not_found": "没有找到任务 {id}。请用 /tasks 查看编号。",
    "task_detail": (
        "<b>{id}</b> {title}\n"
        "状态：{status}　进度：{progress}%\n"
        "完成时限：{deadline}\n"
        "牵头单位：{unit}\n"
        "责任人：{owners}"
    ),
    "task_leader": "责任领导：{leader}",
    "task_latest": "最新进展：{note}",
    "history_header": "记录：",
    "history_line": "{at} {who}：{what}",
    "people_header": "人员（{count} 人，已绑定 {bound} 人）",
    "people_line": "{name}（{unit}）{state}",
    "people_bound": "✅ 已绑定",
    "people_unbound": "⏳ 未绑定",
    "people_none": "还没有人员。用 /invite 姓名 单位 邀请责任人。",
    "cancel_usage": "用法：/cancel 编号 [原因]，例如 /cancel T0007 任务已调整",
    "cancelled": "已撤销 <b>{id}</b> {title}。",
    "invalid_transition": "{id} 当前状态为“{current}”，不能改为“{target}”。",
    "remind_usage": "用法：/remind 编号，例如 /remind T0007",
    "remind_not_live": "{id} 当前状态为“{status}”，无需催办。",
    "remind_sent": "已催办 <b>{id}</b>：已发给 {names}。",
    "remind_none_sent": "⚠️ {id} 未能催办：责任人均未绑定或无法接收消息。",
    "remind_unbound": "未绑定（请用 /invite 邀请）：{names}",
    "remind_unreachable": "无法送达（可能未开始对话或已屏蔽）：{names}",
    "reminder": (
        "🔔【催办】<b>{id}</b> {title}\n"
        "完成时限：{deadline}\n"
        "请抓紧推进，并报送最新进展。\n"
        "直接回复本消息报送，例如“进度80%”“已完成”“困难：……”"
    ),
    "deadline_none": "长期",
    "days_left": "还剩 {days} 天",
    "due_today": "今天到期",
    "days_overdue": "已逾期 {days} 个工作日",
    "days_overdue_rest": "已过完成时限",
    "unknown_command": "没有这个命令。发送 /help 查看可用命令。",
    "action_created": "建账",
    "action_cancelled": "撤销",
    "action_remind": "催办",
    "kind_overdue": "督办",
    "kind_daily": "日调度",
    "kind_xun": "旬调度",
    "kind_monthly": "月调度",
    "kind_quarterly": "季调度",
    "rhythm_head": "{light}【{kind}】<b>{id}</b> {title}",
    "rhythm_head_overdue": "{light}【督办】<b>{id}</b> {title} 已逾期 {days} 个工作日",
    "rhythm_deadline": "完成时限：{deadline}",
    "rhythm_people": "完成时限：{deadline}　责任人：{owners}",
    "rhythm_people_leader": "完成时限：{deadline}　责任人：{owners}　责任领导：{leader}",
    "secure_overdue": "请今日内报送进展或申请延期。",
    "secure_daily": "请每个工作日报送进展，以日保旬（本旬：{period}）。",
    "secure_xun": "本旬（{period}）请报送进展，以旬保月。",
    "secure_monthly": "本月（{period}）请报送进展，以月保季。",
    "secure_quarterly": "本季度（{period}）请报送进展，以季保年。",
    "rhythm_latest": "最近进展（{day}）：进度 {progress}%，{note}",
    "rhythm_latest_bare": "最近进展（{day}）：进度 {progress}%",
    "rhythm_how": "直接回复本消息报送，例如“进度80%”“已完成”“困难：……”",
    "dispatched_on": "（{day}调度）",
    "digest_head": "📋【今日调度】{day} {name} 共 {count} 项",
    "digest_head_more": "📋【今日调度】{day} {name}（续：第 {first}–{last} 项，共 {count} 项）",
    "digest_line": "{n}. {light}【{kind}】<b>{id}</b> {title}｜{due}",
    "digest_overdue": "{deadline}，已逾期 {days} 个工作日",
    "digest_for": "（代{names}）",
    "digest_how": "回复“序号/编号 + 进展”，如“{n} 进度80%”“{id} 已完成”；或点下方按钮。",
    "btn_digest_task": "📝 {n}. {id} {title}",
    "task_choices": "📝 <b>{id}</b> {title}\n完成时限：{deadline}\n请点选，或直接回复本消息报送，例如“进度80%”“已完成”“困难：……”",
    "pick_listed": "这条进展是关于哪一项？请点选，或回复“序号/编号 + 进展”：",
    "escalation_digest_head": "🔴【督办单】{day} 您分管的逾期任务 {count} 项",
    "escalation_digest_line": "{n}. <b>{id}</b> {title}｜已逾期 {days} 个工作日",
    "escalation_digest_detail": "　{unit}　责任人：{owners}｜{latest}",
    "escalation_digest_reported": "最近报送 {day}，进度 {progress}%",
    "escalation_digest_silent": "尚未报送",
    "escalation_digest_stranded": "　⚠️ 无法接收提醒：{names}",
    "escalation_digest_unread": "　📭 {names}：提醒已送达，未读",
    "dispatch_rest_day": "{day}是休息日，不发送调度提醒。",
    "dispatch_report": "{day}调度：应发 {due} 条，本次发送 {sent} 条，此前已发 {before} 条。",
    "dispatch_messages": "每人每日一条：共发出 {messages} 条消息。",
    "dispatch_escalated": "另向责任领导发送督办单 {count} 项。",
    "dispatch_skipped": "减负：{count} 条因本期已报送而免发。",
    "dispatch_failed": "⚠️ {count} 条暂未发出（网络问题），稍后再次调度时会补发。",
    "dispatch_unbound": "未绑定（请用 /invite 邀请）：{names}",
    "dispatch_unreachable": "无法送达（未开始对话或已屏蔽机器人）：{names}",
    "dispatch_busy": "调度正在进行中，请稍后再试。",
    "newly_unreachable": (
        "⚠️ 以下责任人无法接收提醒（未开始对话或已屏蔽机器人），请联系本人：{names}"
    ),
    "plan_usage": "用法：/plan [天数]，例如 /plan 10（1–60 天）",
    "plan_header": "未来 {days} 天调度计划（{start}起）",
    "plan_day": "{day}：共 {count} 条（{kinds}）",
    "plan_rest": "{day}：休息日",
    "plan_none": "未来 {days} 天没有需要发送的调度提醒。",
    "btn_done": "✅ 已完成",
    "btn_progress": "📈 报进度",
    "btn_difficulty": "⚠️ 有困难",
    "btn_extend": "⏳ 申请延期",
    "btn_undo": "↩️ 撤回",
    "btn_verify": "✅ 核账通过",
    "btn_reject": "↩️ 退回",
    "btn_approve": "✅ 批准延期",
    "btn_refuse": "❌ 不批准",
    "calendar_gap_now": "⚠️ 缺少{year}年节假日调休安排。在补上之前，机器人按周末和法定节假日推算工作日，提醒照常发送，个别调休日可能有出入。请告知维护本系统的同事更新节假日数据。",
    "calendar_gap_next": "⚠️ 尚无{year}年节假日调休安排。{year}年起，机器人将暂按周末和法定节假日推算工作日，提醒照常发送。请告知维护本系统的同事在年底前更新节假日数据。",
    "prompt_progress": "📈 {id} 报进度：请回复本消息，写明进度和进展，例如“60%，已完成主体征地”。",
    "prompt_difficulty": "⚠️ {id} 有困难：请回复本消息，说明困难和需要协调的事项。",
    "prompt_extend": "⏳ {id} 申请延期：请回复本消息，写明延期到的日期和原因，例如“1月15日，原因：……”。",
    "prompt_reject": "✍️ {id} 退回：请回复本消息，写明退回理由。",
    "pick_task": "您有 {count} 项在办任务，这条进展是关于哪一项？请点选：",
    "no_task_to_report": "您目前没有在办任务，无需报送。如有疑问请联系督查室。",
    "ack_hint": "如需报送，请直接写进展，例如“进度80%”“已完成”“困难：……”。",
    "not_your_task": "{id} 不是您负责的任务，无法报送。请用 /tasks 查看您的任务。",
    "recorded_done": "✅ 已交账 <b>{id}</b>，进度 100%，等待督查室核账。",
    "recorded_progress": "已记录 <b>{id}</b>：进度 {progress}%",
    "recorded_note": "已记录 <b>{id}</b> 最新进展。",
    "recorded_difficulty": "已记录 <b>{id}</b> 的困难。",
    "telling": "正在告知督查室……",
    "told_admins": "已告知督查室。",
    "told_owners": "已告知责任人{names}。",
    "owners_unreached": "⚠️ {names} 暂无法送达（未绑定或已屏蔽机器人），请另行通知。",
    "told_admins_leader": "已告知督查室和责任领导{leader}。",
    "told_leader_relay": "已告知督查室；责任领导{leader}暂无法送达，已请督查室转告。",
    "told_leader_only": "已告知责任领导{leader}；督查室暂无法送达，请另行告知督查室。",
    "told_nobody": "⚠️ 督查室暂无法送达。报送已记入台账，请另行告知督查室。",
    "relay_to_leader": "（责任领导{leader}暂无法送达，请督查室转告。）",
    "quote_more": "…（全文见 /task {id}）",
    "dispatch_started": "已开始今日调度，发送完毕后告知结果。",
    "admin_group_lost": "⚠️ 督查室群自{since}起无法送达（机器人可能已被移出群），通知已改为私信各管理员。请把机器人重新加入督查室群。",
    "recorded_extension": "已提交 <b>{id}</b> 延期申请（至{deadline}），等待督查室审批。",
    "recorded_evidence": "已收到 <b>{id}</b> 的佐证材料（{count} 个文件）。",
    "recorded_with_evidence": "附佐证材料 {count} 个。",
    "recorded_head": "已记录 <b>{id}</b>：{facets}。",
    "facet_progress": "进度 {progress}%",
    "facet_difficulty": "困难“{text}”",
    "facet_extension": "延期申请（至{deadline}）待督查室审批",
    "recorded_withdrawn": "原交账已撤回，任务回到推进中。",
    "confirm_done_q": "❓ <b>{id}</b> 确认交账？\n“{text}”\n交账后任务进入待核账，进度记为 100%，调度提醒停止。若只是部分工作完成，请点“只是进展”。",
    "btn_confirm_done": "✅ 确认交账",
    "btn_just_progress": "📈 只是进展",
    "confirm_done_yes": "已确认交账。",
    "already_recorded_short": "这条消息已记录过了。",
    "confirm_done_no": "按进展记录。",
    "confirm_done_stale": "此问题已处理过了：{id} 当前状态为“{status}”。",
    "odd_progress": "📈 {id} 进度“{value}%”不在 0—100% 之间，未记录进度。请回复本消息重新写明进度，例如“进度80%”。",
    "ask_extension_date": "⏳ {id} 申请延期：请回复本消息，写明延期到的日期和原因，例如“{suggested}，原因：……”。",
    "submission_withdrawn_alert": "↩️【交账撤回】<b>{id}</b> {title}\n{who} 报送进度 {progress}%，原交账撤回，任务回到推进中，无需核账。",
    "submission_withdrawn_note": "↩️ 交账已撤回：{who} 报送进度 {progress}%，任务回到推进中，无需核账。",
    "undo_hint": "如理解有误，10 分钟内可点“撤回”。",
    "undone": "已撤回 <b>{id}</b> 的这次报送，任务恢复原状。",
    "undo_expired": "已超过 10 分钟，不能撤回。如需更正，请直接再报送一次。",
    "undo_done": "这次报送已经撤回过了。",
    "undo_superseded": "{id} 之后已有新的报送或处理，不能撤回这一条。如需更正，请再报送一次。",
    "undo_not_yours": "只能撤回自己的报送。",
    "undo_unknown": "找不到这次报送，可能已过期。",
    "already_submitted": "{id} 已交账，正在等待督查室核账，无需重复交账。",
    "task_not_live": "{id} 当前状态为“{status}”，不再接收报送。",
    "invalid_extension_date": "请写明延期到的日期（应晚于原完成时限），例如“申请延期至2027年1月15日，原因：……”。",
    "invalid_deadline_year": "完成时限“{value}”的年份应在 {min_year}—{max_year} 年之间。请检查后重写，例如 2026-12-31 或 2026年12月31日。",
    "invalid_extension_date_year": "延期日期“{value}”的年份应在 {min_year}—{max_year} 年之间。请写明延期到的日期，例如“申请延期至2027年1月15日，原因：……”。",
    "confirm_deadline_past": "⚠️ 完成时限 {date} 已过去 {span}，确认吗？",
    "confirm_deadline_far": "⚠️ 完成时限 {date} 在 {span}后，确认吗？",
    "confirm_extension_past": "⚠️ 延期至 {date}，已过去 {span}，确认吗？",
    "confirm_extension_far": "⚠️ 延期至 {date}，在 {span}后，确认吗？",
    "btn_date_ok": "✅ 确认",
    "btn_date_retype": "✏️ 重新填写",
    "confirm_by_word": "回复“确认”继续，或重新输入完成时限。",
    "date_confirmed": "已确认。",
    "date_retype": "好的，请重新发送（写明正确的日期）。",
    "span_days": "{n} 天",
    "span_months": "{n} 个月",
    "span_years": "{n} 年",
    "span_years_months": "{n} 年 {m} 个月",
    "extension_span": "（延长 {span}）",
    "invalid_reason": "请写明理由。",
    "submission": "📥【交账】<b>{id}</b> {title}\n{who} 报告已完成。完成时限：{deadline}\n内容：{text}",
    "difficulty_alert": "⚠️【困难】<b>{id}</b> {title}\n{who}：{text}\n解决后请发送 /resolve {id} 说明",
    "extension_request": "⏳【延期申请】<b>{id}</b> {title}\n{who} 申请将完成时限由 {old} 延至 {new}\n理由：{reason}",
    "verified": "✅ <b>{id}</b> 已核账销账。",
    "verified_notice": "✅ <b>{id}</b> {title} 已通过核账，已销账。辛苦了！",
    "verified_by": "已核账（{who}）",
    "self_verify": "{id} 是您本人交账的，须由其他管理员核账。",
    "rejected": "已退回 <b>{id}</b>。",
    "rejected_notice": "↩️ <b>{id}</b> {title} 被退回，请继续推进。\n理由：{reason}",
    "rejected_by": "已退回（{who}）：{reason}",
    "reject_usage": "用法：/reject 编号 理由，例如 /reject T0007 佐证材料不全",
    "reopened": "已重新打开 <b>{id}</b>。",
    "reopened_notice": "🔄 <b>{id}</b> {title} 已重新打开，请继续推进。\n理由：{reason}",
    "reopen_usage": "用法：/reopen 编号 理由，例如 /reopen T0007 复查发现问题",
    "verify_usage": "用法：/verify 编号，例如 /verify T0007",
    "resolve_usage": "用法：/resolve 编号 [说明]，例如 /resolve T0007 资金已落实",
    "resolved": "已标记 <b>{id}</b> 的困难为已解决。",
    "resolved_notice": "✅ <b>{id}</b> 反映的困难已解决：{note}",
    "nothing_pending_difficulty": "{id} 没有未解决的困难。",
    "nothing_pending_extension": "{id} 没有待审批的延期申请。用法：/extend 编号 日期",
    "superseded_submission": "此按钮已失效：{id} 有了新的交账，请在最新的交账消息上核账。",
    "superseded_extension": "此按钮已失效：{id} 的这份延期申请已处理或有了新的申请，以最新消息为准。",
    "extend_usage": "用法：/extend 编号 [日期]，例如 /extend T0007 2027-01-15（不写日期则批准申请的日期）",
    "extended": "已将 <b>{id}</b> 的完成时限改为 {deadline}。",
    "extended_notice": "⏳ <b>{id}</b> {title} 延期已批准：完成时限改为 {deadline}。",
    "extension_refused": "已不批准 <b>{id}</b> 的延期申请。",
    "extension_refused_notice": "❌ <b>{id}</b> {title} 的延期申请未获批准，请按原时限 {deadline} 推进。",
    "action_expired": "此按钮已失效：{id} 当前状态为“{status}”。",
    "button_not_yours": "此按钮不是给您的。",
    "button_unknown": "此按钮已失效，请重新打开任务：/tasks",
    "button_message_gone": "这条消息已过期，请重新发送。",
    "task_light": "预警：{light}",
    "task_difficulties": "未解决困难：{items}",
    "task_extension": "延期申请：至{deadline}，待审批",
    "action_submitted": "交账",
    "action_progress": "报送进展",
    "action_evidence": "佐证材料",
    "action_difficulty": "反映困难",
    "action_extension_requested": "申请延期",
    "action_withdrawn": "撤回",
    "action_verified": "核账销账",
    "action_rejected": "退回",
    "action_reopened": "重新打开",
    "action_resolved": "困难已解决",
    "action_extended": "延期",
    "action_extension_refused": "延期未批准",
    "action_submission_withdrawn": "报送进展，交账撤回",
    "already_recorded": "这条消息已记录过了（{id}），无需重复操作。",
    "import_send_file": "请发送 .xlsx 或 .csv 格式的台账文件（不超过 10 MB、1 万行）。表头须包含：任务、牵头单位、责任人、完成时限。\n完成时限已过或在三年以后的行会被当作错误（多为笔误）；确需导入，请发送“/import 允许任意日期”后再发文件，或在文件的说明中写“/import 允许任意日期”。",
    "import_send_file_any_date": "请发送 .xlsx 或 .csv 格式的台账文件（不超过 10 MB、1 万行）。本次允许任意日期：已过或三年以后的完成时限也将导入。",
    "import_any_date_note": "（本次允许任意日期）",
    "import_date_hint": "如这些日期确实无误，请重新发送文件，并在文件的说明中写：/import 允许任意日期",
    "import_date_hint_cli": "如这些日期确实无误，请加上 --allow-past 重新运行。",
    "import_preview": "📋 台账预览：{file}\n共 {rows} 行：新增 {new} 项，更新 {updated} 项，无变化 {unchanged} 项。\n请确认后写入台账。",
    "import_unknown_columns": "已忽略未识别的列：{columns}",
    "import_done": "✅ 已导入 {file}：新增 {new} 项，更新 {updated} 项，无变化 {unchanged} 项。",
    "import_cancelled": "已取消导入，台账未作任何改动。",
    "import_errors": "❌ {file} 有 {count} 处错误，未导入任何内容。请修改后重新发送：",
    "import_error_line": "第 {row} 行「{column}」“{value}”：{problem}",
    "import_more_errors": "……另有 {count} 处错误。",
    "import_already": "该文件已经导入过了，无需重复确认。",
    "import_download_failed": "文件下载失败，请重新发送。",
    "import_missing_columns": "❌ {file} 缺少必填列：{columns}。表头须包含：任务、牵头单位、责任人、完成时限。",
    "btn_import_ok": "✅ 确认导入",
    "btn_import_no": "取消",
    "import_sheet_line": "工作表：{sheet}",
    "import_footer": "已跳过 {count} 行合计、落款或说明：{rows}",
    "import_footer_row": "第 {row} 行“{text}”",
    "import_notes": "进展情况 {count} 项记为最新进展（{day}），其中 {figures} 项读出了进度。",
    "import_pick_sheet": "📋 {file} 中有 {count} 个工作表都像台账，请选择要导入的一个（也可重新发送文件，说明写：/import --sheet 工作表名称）：",
    "import_pick_sheet_cli": "{file} 中有多个工作表都像台账：{sheets}。请加上 --sheet 工作表名称 重新运行。",
    "sheet_no_sheet": "❌ 文件中没有名为“{sheet}”的工作表。现有工作表：{sheets}。",
    "problem_assigned": "看不懂，应为日期，如 2026-09-01",
    "problem_assigned_future": "晚于今天，请核对",
    "problem_required": "不能为空",
    "problem_deadline": "看不懂，可写 2026-12-31、12月底、一季度、长期 等",
    "problem_deadline_year": "年份不对，应在 2000–2099 年之间，请改正",
    "problem_deadline_past": "日期已过，请核对后改为今后的日期",
    "problem_deadline_far": "在三年以后，请核对年份",
    "problem_frequency": "应为 每日、每旬、每月 或 每季",
    "problem_too_long": "内容太长",
    "problem_duplicate_id": "编号重复",
    "problem_dingtalk_ids": "钉钉账号应与责任人一一对应（个数相同、顺序一致）",
    "problem_bad_id": "编号只能含字母、数字和“-”，须含数字，不超过 20 位",
    "problem_bad_progress": "进度应为 0–100",
    "sheet_too_big": "❌ 文件超过 10 MB，请拆分后分批导入。",
    "sheet_too_complex": "❌ 文件过大或过于复杂（解压后内容过多），未读取。请精简后重试：删去图片和多余的工作表，或把台账复制到新建的 Excel 文件中再发送。",
    "sheet_too_slow": "❌ 文件过大或过于复杂，读取超时。请精简后重试：删去多余的工作表、图片和空白行列，或拆分后分批导入。",
    "sheet_not_spreadsheet": "❌ 无法识别的文件。请发送 Excel（.xlsx）或 CSV 文件。",
    "sheet_broken": "❌ 文件已损坏，无法打开。请在 Excel 中另存为 .xlsx 后重新发送。",
    "sheet_encrypted": "❌ 文件设置了打开密码。请在 Excel 中取消密码保护后重新发送。",
    "sheet_empty": "❌ 文件中没有台账数据。",
    "sheet_too_many_rows": "❌ 超过 1 万行，请拆分后分批导入。",
    "sheet_encoding": "❌ 无法识别 CSV 文件的编码。请用 Excel 另存为“CSV UTF-8”后重新发送。",
    "sheet_no_header": "❌ 没有找到表头。表头须包含：任务、牵头单位、责任人、完成时限。",
    "export_caption": "台账导出：{count} 项（{day}）",
    "escalation_head": "🔴【督办单】<b>{id}</b> {title}",
    "escalation_days": "已逾期 {days} 个工作日（完成时限：{deadline}）",
    "escalation_people": "牵头单位：{unit}　责任人：{owners}",
    "escalation_stranded": "以下责任人无法接收提醒：{names}",
    "escalation_unread": "{names}：提醒已送达，未读",
    "escalation_latest": "最近进展（{day}）：进度 {progress}%，{note}",
    "escalation_no_report": "最近进展：尚未报送",
    "escalation_ask": "请督促责任人今日内报送进展或申请延期。",
    "listing_head": "🔴【挂牌督办】逾期满 {days} 个工作日的任务（{count} 项）",
    "listing_line": "<b>{id}</b> {title}｜{unit}｜{owners}｜逾期 {overdue} 个工作日",
    "leave_note": "📌 {names} 请假中，以下提醒由您代收：",
    "summary_head": "📋【今日小结】{day}",
    "summary_reports": "今日报送 {count} 条（{tasks} 项任务）",
    "summary_waiting": "待核账 {count} 项：{ids}",
    "summary_overdue": "今日新增逾期 {count} 项：{ids}",
    "summary_unreachable": "新发现无法收到提醒的责任人：{names}（未开始对话或已屏蔽机器人，请联系本人）",
    "summary_unread": "已送达未读 {count} 条（{day} 的提醒，至今未读）：{items}",
    "summary_unread_item": "{name}（{id}）",
    "summary_difficulties": "未解决困难 {count} 项（督帮一体）：",
    "summary_difficulty_line": "· {id} {text}（已 {days} 天）",
    "summary_coordinator": "，{who} 协调中",
    "leave_usage": "用法：/leave 姓名 起 止，例如 /leave 张三 12月1日 12月5日；/leave 张三 取消 销假。",
    "leave_unknown": "没有找到“{name}”。请用 /people 查看人员。",
    "leave_set": "已登记 {name} 请假：{start}至{end}。期间不向其发送提醒，由任务的责任领导代收。",
    "leave_cleared": "已取消 {name} 的请假。",
    "leave_none": "目前没有人请假。",
    "leave_list_head": "请假人员：",
    "leave_line": "{name}：{start}至{end}",
    "exempt_usage": "用法：/exempt 编号 理由，例如 /exempt T0007 因上级政策调整暂缓",
    "exempted": "已将 <b>{id}</b> 移出考核（容错）：{reason}",
    "bulletin_head": "📊【工作通报】{period}（{start}—{end}）",
    "bulletin_head_unit": "📊【工作通报】{period} · {unit}（{start}—{end}）",
    "bulletin_head_partial": "📊【工作通报】{period}（{start}—{end}，本期进行中，截至今日）",
    "bulletin_head_to_date": "📊【工作通报】截至{day}",
    "bulletin_of_unit": "{period} · {unit}",
    "bulletin_totals": "本期共涉及任务 {total} 项：已办结 {closed} 项（占 {closed_share}），其中按时办结 {on_time} 项；正在办理 {open} 项，其中逾期 {overdue} 项（占 {overdue_share}）{pending}；按时完成率 {rate}。",
    "bulletin_totals_to_date": "截至{day}，共有任务 {total} 项，已办结 {closed} 项（占 {closed_share}），其中按时办结 {on_time} 项；正在办理 {open} 项，其中逾期 {overdue} 项（占 {overdue_share}）{pending}；按时完成率 {rate}。",
    "bulletin_pending": "、待核账 {pending} 项",
    "bulletin_overdue_units": "逾期任务按单位：{items}",
    "bulletin_overdue_unit_item": "{unit} {count} 项",
    "bulletin_ranking": "<b>单位排名（比学赶超）</b>",
    "bulletin_unit": "{rank}. {unit} {score} 分{change}（按时率 {rate}，逾期 {overdue} 项）",
    "bulletin_up": " ↑{n} 进位",
    "bulletin_down": " ↓{n} 退位",
    "bulletin_same": " —",
    "bulletin_new": " 新",
    "bulletin_red": "🏅 红榜：{units}",
    "bulletin_overdue_head": "<b>⚠️ 逾期任务</b>",
    "bulletin_overdue_line": "{unit}：{id} {title}（逾期 {days} 个工作日，{owners}）{exempt}",
    "bulletin_exempt": "〔容错〕",
    "bulletin_silent": "📵 未报送：{items}",
    "bulletin_silent_item": "{name} {count} 次",
    "bulletin_none": "{period}没有需要通报的任务。",
    "bulletin_chart_caption": "{period} 各单位按时完成率与逾期任务数",
    "chart_title": "{period} 各单位按时完成率与逾期任务数",
    "report_usage": "用法：/report [今日|旬|月|季|期间] [单位]，例如 /report 今日、/report 月 县教育局、/report 2026-12、/report 2026-Q4、/report 2026-12-1",
    "report_fallback_today": "说明：{period}台账尚未建立，没有可通报的数据，以下为截至今日的通报。",
    "report_not_started": "{period}尚未开始，没有可通报或计分的数据。",
    "period_to_date": "{period}（截至{day}）",
    "score_usage": "用法：/score [期间]，例如 /score 月、/score 今日、/score 2026-12、/score 2026-Q4、/score 2026-12-2",
    "score_head": "🏆【考核得分】{period}（满分 {base}）",
    "score_line": "{rank}. {unit} {score} 分：{items}",
    "score_item_overdue_days": "逾期 {count} 个工作日 {points}",
    "score_item_closed_on_time": "按时办结 {count} 项 {points}",
    "score_no_items": "无扣分",
    "score_none": "{period}没有计分的任务。",
    "btn_coordinate": "🤝 我来协调",
    "btn_solved": "✅ 已解决",
    "coordinating_by": "🤝 {who} 负责协调",
    "coordinating_notice": "🤝 <b>{id}</b> 反映的困难由 {who} 协调解决。",
    "solved_by": "✅ 已解决（{who}）",
    "picked": "已选择 {id}。",
    # A button of a request decided meanwhile: the alert, and the line the message keeps.
    "already_decided": "此事项已处理，无需重复操作：{decision}",
    "already_coordinating": "该困难已由 {who} 负责协调。解决后请点“已解决”。",
    "newer_submission": "{id} 已有新的交账，请在最新的交账消息上核账。",
    "decided_cancelled": "任务已撤销（{who}）",
    "decided_submission_undone": "↩️ 报送人已撤回这次交账",
    "decided_submission_withdrawn": "↩️ 交账已撤回（{who}）",
    "decided_extension_approved": "✅ 已批准延期至{deadline}（{who}）",
    "decided_extension_refused": "❌ 未批准延期（{who}）",
    "decided_extension_withdrawn": "↩️ 申请人已撤回这份延期申请",
    "decided_extension_replaced": "已有新的延期申请，以最新消息为准",
    "decided_task_state": "任务 {id} 当前状态为 {status}，无需再处理",
    "decided_difficulty_closed": "任务{status}，该困难随之关闭（{who}）",
    "decided_difficulty_withdrawn": "↩️ 报送人已撤回这条困难",
    "decided_rebind_confirmed": "✅ 已确认换绑（{who}）",
    "decided_rebind_refused": "❌ 未同意换绑（{who}）",
    # /reject, /reopen, /verify, /cancel where the task's state does not allow it.
    "invalid_transition_reject": "任务 {id} 当前状态为 {current}，没有待核账的交账，无需退回。",
    "invalid_transition_reject_closed": "任务 {id} 当前状态为 {current}，没有待核账的交账，无需退回。如需重新办理，请发送 /reopen {id} 理由。",
    "invalid_transition_reopen": "任务 {id} 当前状态为 {current}，仍在办理中，无需重新打开。",
    "invalid_transition_reopen_submitted": "任务 {id} 当前状态为 {current}，尚未销账，无需重新打开。如需退回，请发送 /reject {id} 理由。",
    "invalid_transition_reopen_cancelled": "任务 {id} 当前状态为 {current}，已撤销的任务不能重新打开。",
    "invalid_transition_verify": "任务 {id} 当前状态为 {current}，没有待核账的交账，无需核账。",
    "invalid_transition_verify_closed": "任务 {id} 当前状态为 {current}，已核账销账，无需重复核账。",
    "invalid_transition_cancelled": "任务 {id} 当前状态为 {current}，无需再次撤销。",
    # History lines (/task) and who did it.
    "action_imported": "建账（导入）",
    "action_import_updated": "导入更新",
    "action_exempted": "容错移出考核",
    "action_coordinating": "负责协调困难",
    "action_difficulties_closed": "困难随任务关闭",
    "action_other": "其他记录",
    "field_goal": "目标",
    "field_leader": "责任领导",
    "field_co_units": "配合单位",
    "field_category": "类别",
    "field_frequency": "调度频次",
    "field_remark": "备注",
    "field_created_at": "下达日期",
    "who_admin": "督查室",
    "who_system": "系统",
    "rhythm_latest_note": "最近进展（{day}）：{note}",
    "escalation_latest_note": "最近进展（{day}）：{note}",
}

EN: dict[str, str] = {
    "not_registered": (
        "Hello! You are not registered in this ledger yet.\n"
        "Ask the supervision office for an invite link and open it to register."
    ),
    "admin_only": "This command is for the supervision office's admins only.",
    "save_failed": "⚠️ Could not save; nothing was changed. Please send it again shortly.",
    "store_failure_alert": "⚠️ The store could not write (the server's disk may be full): a report was not saved and its sender was asked to resend. Please check the disk space.",
    "internal_error": "⚠️ Something went wrong; nothing was changed. Please try again later.",
    "help_admin": (
        "<b>Luoshi · admin commands</b>\n"
        "/add task | lead unit | owners | deadline [| leader] — open a task (/add alone asks)\n"
        "/tasks [unit] — open tasks  /mine name — the tasks a leader leads\n"
        "/task ID — details and history\n"
        "/remind ID — urge the owners now\n"
        "/cancel ID [reason] — cancel a task\n"
        "/invite name [unit] — invite link for an official\n"
        "/people — people and who is registered\n"
        "/plan [days] — reminder plan  /dispatch — run today's dispatch now\n"
        "/import — import an Excel ledger  /export — export the ledger\n"
        "/verify /reject /reopen /resolve /extend ID — verify, send back, reopen, solve, extend\n"
        "/report [旬|月|季] [unit] — bulletin  /score [period] — scores\n"
        "/leave name from to — leave  /exempt ID reason — out of scoring\n"
        "e.g. /add Rail land acquisition | Land Bureau | Zhang San, Li Si | Q1 | Deputy Chen"
    ),
    "help_official": (
        "<b>Luoshi · how to use (owner)</b>\n"
        "When a reminder arrives, reply to it to report, e.g.:\n"
        "  \"progress 60%, land acquired\"\n"
        "  \"done\" (reported done; the office verifies and closes it)\n"
        "  \"problem: the funds have not arrived\"\n"
        "  \"extend to 15 Jan, because …\"\n"
        "Or press the buttons under it: ✅ Done · 📈 Progress · ⚠️ Problem · ⏳ Extension.\n"
        "Several tasks on one day come in one message: name the number or ID when you reply, "
        "e.g. \"2 progress 60%\", \"T0005 done\", or press a 📝 button to pick the task.\n"
        "/tasks — my tasks  /task ID — task details, e.g. /task T0007"
    ),
    "greeting_hint": "Reply to a reminder to report, e.g. \"progress 80%\", \"done\", \"problem: …\".",
    "help_leader": (
        "<b>Luoshi · how to use (leader)</b>\n"
        "/mine — the tasks I lead, with 🔴🟡🟢 lights\n"
        "/task ID — details and history, e.g. /task T0007\n"
        "/tasks — the tasks I am an owner of\n"
        "You are told here when a task you lead is overdue, has a problem or asks for more time.\n"
        "To report for it, reply to a reminder or press the buttons under /task ID, "
        "e.g. \"progress 80%\", \"done\"."
    ),
    "mine_header": "Tasks I lead ({count})",
    "mine_header_of": "Tasks {name} leads ({count})",
    "mine_none": "You lead no open tasks. Your own tasks: /tasks.",
    "mine_none_of": "{name} leads no open tasks.",
    "mine_usage": "Usage: /mine name — the tasks that leader leads, e.g. /mine Deputy Chen",
    "tasks_lead_hint": "You lead {count} task(s): send /mine to see them.",
    "welcome_bound": "✅ Registered as {name} ({unit}).\nReminders will arrive here.",
    "welcome_bound_elsewhere": "✅ Registered as {name} ({unit}).\nAs configured, reminders go to your {channel}; you can report here too.",
    "channel_telegram": "Telegram",
    "channel_dingtalk": "DingTalk",
    "welcome_back": "Hello, {name}.",
    "your_open_tasks": "Your open tasks ({count}):",
    "no_open_tasks": "You have no open tasks.",
    "invite_unknown": "This invite code is not valid. Ask the supervision office for a new link.",
    "invite_used": "This invite link was already used. Ask the supervision office for a new one.",
    "invite_expired": "This invite link has expired (valid 7 days). Ask for a new one.",
    "already_bound": "Your account is already registered as {name}. Contact the office if wrong.",
    "rebind_pending": "Your request was received. {name} is registered with another account; moving it to this one needs the supervision office's confirmation. You will be told here.",
    "rebind_question": "🔁 [Re-binding] {name}{unit} is registered with account {old}; account {new} used an invite link to take it over.\nIf confirmed, the old account gets no more reminders and is told. If this is not the person changing accounts, press \"Refuse\".",
    "btn_rebind_ok": "✅ Confirm re-binding",
    "btn_rebind_no": "❌ Refuse",
    "rebind_done": "{name} is now registered with the new account; the old account was told.",
    "rebind_done_new": "✅ The supervision office confirmed: reminders for {name} ({unit}) now come here.",
    "rebind_old_notice": "⚠️ The supervision office moved {name} to another account: reminders now go there, not here. If you did not ask for this, contact the office at once.",
    "rebind_refused": "Refused moving {name} to the new account; the registration is unchanged.",
    "rebind_refused_notice": "The supervision office did not confirm the re-binding; {name} stays registered with the other account. Contact the office with any questions.",
    "self_rebind": "This request would register your own account; another admin must confirm it.",
    "superseded_rebind": "This button has expired: the request was already decided, or the registration changed.",
    "nothing_pending_rebind": "No re-binding request {id}.",
    "invite_created": (
        "Invite link for {name}{unit} (valid 7 days, single use):\n{link}\n"
        "Forward it to them; opening it and pressing Start registers them."
    ),
    "invite_usage": "Usage: /invite name [unit]\ne.g. /invite Zhang San Land Bureau",
    "dingtalk_invite": "Send the robot “绑定 {code}”",
    "add_usage": (
        "Format: /add task | lead unit | owners | deadline [| leader]\n"
        "e.g. /add Rail land acquisition | Land Bureau | Zhang San, Li Si | 2026-12-31 | Chen\n"
        "Separate several owners with commas; the deadline may be 2026-12-31, end of month, "
        "Q1; write 'ongoing' for none. /add alone asks step by step."
    ),
    "add_parts": "Expected 4 parts (or 5 with the leader) separated by |, got {count}.",
    "add_one_line": "On DingTalk, give all four parts at once (the step-by-step /add is "
                    "Telegram only).",
    "field_title": "task",
    "field_lead_unit": "lead unit",
    "field_owners": "owners",
    "field_deadline": "deadline",
    "field_name": "name",
    "field_unit": "unit",
    "invalid_title": "The task must not be empty and at most 200 characters.",
    "invalid_lead_unit": "The lead unit must not be empty and at most 30 characters.",
    "invalid_owners": "Give at least one owner; separate several with commas.",
    "invalid_deadline": (
        "Cannot read the deadline \"{value}\". Write a date such as 2026-12-31, Dec 31, "
        "end of month, Q1 or 12月底, or 'ongoing' for a long-running task."
    ),
    "invalid_name": "The name must not be empty and at most 30 characters.",
    "invalid_unit": "The unit name must be at most 30 characters.",
    "task_created": (
        "✅ Opened <b>{id}</b> {title}\nLead unit: {unit}  Owners: {owners}\nDeadline: {deadline}"
    ),
    "created_leader": "Leader: {leader}",
    "add_unbound": "⚠️ {names}: not registered yet, so no reminders reach them. Press the button for invite links to forward.",
    "btn_invite": "📨 Invite links",
    "invite_links": "Invite links for <b>{id}</b> (valid 7 days, single use); forward each to its person:",
    "invite_link_line": "{name}: {link}",
    "invite_all_bound": "Everyone named on {id} is registered.",
    "ask_title": "New task, step 1/4: send the task name.\n(Send 'cancel' at any time to stop.)",
    "ask_unit": "Step 2/4: the lead unit? e.g. Land Bureau",
    "ask_owners": "Step 3/4: who is responsible? Separate several with commas.",
    "ask_deadline": "Step 4/4: the deadline? e.g. 2026-12-31, end of month, Q1, or 'ongoing'",
    "retry": "Please send it again.",
    "dialog_cancelled": "Cancelled; no task was opened.",
    "dialog_expired": "The /add dialogue timed out; no task was opened. Send /add to start again.",
    "tasks_header": "Open tasks ({count})",
    "tasks_header_unit": "{unit}: open tasks ({count})",
    "tasks_none": "No open tasks.",
    "tasks_none_unit": "No open tasks for \"{unit}\". Units: {units}",
    "tasks_more": "…and {count} more; filter with /tasks unit or see /task ID.",
    "task_line": "<b>{id}</b> {title}\n  {deadline} | {owners} | {status}",
    "task_usage": "Usage: /task ID, e.g. /task T0007",
    "task_not_found": "Task {id} not found. Use /tasks to see the IDs.",
    "task_detail": (
        "<b>{id}</b> {title}\n"
        "Status: {status}  Progress: {progress}%\n"
        "Deadline: {deadline}\n"
        "Lead unit: {unit}\n"
        "Owners: {owners}"
    ),
    "task_leader": "Leader in charge: {leader}",
    "task_latest": "Latest: {note}",
    "history_header": "History:",
    "history_line": "{at} {who}: {what}",
    "people_header": "People ({count}, {bound} registered)",
    "people_line": "{name} ({unit}) {state}",
    "people_bound": "✅ registered",
    "people_unbound": "⏳ not registered",
    "people_none": "No people yet. Invite officials with /invite name unit.",
    "cancel_usage": "Usage: /cancel ID [reason], e.g. /cancel T0007 merged into T0008",
    "cancelled": "Cancelled <b>{id}</b> {title}.",
    "invalid_transition": "{id} is \"{current}\" and cannot become \"{target}\".",
    "remind_usage": "Usage: /remind ID, e.g. /remind T0007",
    "remind_not_live": "{id} is \"{status}\"; no reminder needed.",
    "remind_sent": "Reminded <b>{id}</b>: sent to {names}.",
    "remind_none_sent": "⚠️ {id}: no owner could be reminded (not registered or unreachable).",
    "remind_unbound": "Not registered (use /invite): {names}",
    "remind_unreachable": "Could not deliver (never started the bot or blocked it): {names}",
    "reminder": (
        "🔔 [Reminder] <b>{id}</b> {title}\n"
        "Deadline: {deadline}\n"
        "Please push on and report the latest progress.\n"
        "Reply to this message, e.g. \"progress 80%\", \"done\", \"problem: …\""
    ),
    "deadline_none": "ongoing",
    "days_left": "{days} days left",
    "due_today": "due today",
    "days_overdue": "{days} workdays overdue",
    "days_overdue_rest": "past the deadline",
    "unknown_command": "Unknown command. Send /help for the list.",
    "action_created": "opened",
    "action_cancelled": "cancelled",
    "action_remind": "reminded",
    "kind_overdue": "Overdue",
    "kind_daily": "Daily",
    "kind_xun": "Ten-day",
    "kind_monthly": "Monthly",
    "kind_quarterly": "Quarterly",
    "rhythm_head": "{light} [{kind}] <b>{id}</b> {title}",
    "rhythm_head_overdue": "{light} [Overdue] <b>{id}</b> {title}: {days} workdays overdue",
    "rhythm_deadline": "Deadline: {deadline}",
    "rhythm_people": "Deadline: {deadline}  Owners: {owners}",
    "rhythm_people_leader": "Deadline: {deadline}  Owners: {owners}  Leader: {leader}",
    "secure_overdue": "Report progress or ask for an extension today.",
    "secure_daily": "Report every workday: days secure the ten-day period ({period}).",
    "secure_xun": "Report once this ten-day period ({period}) to secure the month.",
    "secure_monthly": "Report once this month ({period}) to secure the quarter.",
    "secure_quarterly": "Report once this quarter ({period}) to secure the year.",
    "rhythm_latest": "Latest ({day}): {progress}%, {note}",
    "rhythm_latest_bare": "Latest ({day}): {progress}%",
    "rhythm_how": "Reply to this message, e.g. \"progress 80%\", \"done\", \"problem: …\"",
    "dispatched_on": "(dispatch of {day})",
    "digest_head": "📋 [Today's reminders] {day} {name}: {count} tasks",
    "digest_head_more": "📋 [Today's reminders] {day} {name} (continued: {first}–{last} of {count})",
    "digest_line": "{n}. {light} [{kind}] <b>{id}</b> {title} | {due}",
    "digest_overdue": "{deadline}, {days} workdays overdue",
    "digest_for": " (for {names})",
    "digest_how": "Reply \"number or ID + progress\", e.g. \"{n} progress 80%\", \"{id} done\"; or use the buttons.",
    "btn_digest_task": "📝 {n}. {id} {title}",
    "task_choices": "📝 <b>{id}</b> {title}\nDeadline: {deadline}\nChoose, or reply to this message, e.g. \"progress 80%\", \"done\", \"problem: …\"",
    "pick_listed": "Which task is this about? Choose one, or reply \"number or ID + progress\":",
    "escalation_digest_head": "🔴 [Supervision] {day}: {count} overdue tasks you lead",
    "escalation_digest_line": "{n}. <b>{id}</b> {title} | {days} workdays overdue",
    "escalation_digest_detail": "  {unit}  Owners: {owners} | {latest}",
    "escalation_digest_reported": "last report {day}, {progress}%",
    "escalation_digest_silent": "no report yet",
    "escalation_digest_stranded": "  ⚠️ Cannot receive reminders: {names}",
    "escalation_digest_unread": "  📭 {names}: reminder delivered, not read",
    "dispatch_rest_day": "{day} is a rest day: no reminders are sent.",
    "dispatch_report": "Dispatch {day}: {due} due, {sent} sent now, {before} sent earlier.",
    "dispatch_messages": "One message per person a day: {messages} messages sent in all.",
    "dispatch_escalated": "Supervision sheets to leaders: {count} tasks.",
    "dispatch_skipped": "Burden limit: {count} skipped, already reported this period.",
    "dispatch_failed": "⚠️ {count} not sent yet (network trouble); the next run retries them.",
    "dispatch_unbound": "Not registered (use /invite): {names}",
    "dispatch_unreachable": "Unreachable (never started or blocked the bot): {names}",
    "dispatch_busy": "A dispatch is already running; try again shortly.",
    "newly_unreachable": (
        "⚠️ These owners cannot receive reminders (never started or blocked the bot); "
        "please contact them: {names}"
    ),
    "plan_usage": "Usage: /plan [days], e.g. /plan 10 (1–60 days)",
    "plan_header": "Reminder plan, next {days} days (from {start})",
    "plan_day": "{day}: {count} ({kinds})",
    "plan_rest": "{day}: rest day",
    "plan_none": "No reminders due in the next {days} days.",
    "btn_done": "✅ Done",
    "btn_progress": "📈 Progress",
    "btn_difficulty": "⚠️ Problem",
    "btn_extend": "⏳ Extension",
    "btn_undo": "↩️ Undo",
    "btn_verify": "✅ Verify",
    "btn_reject": "↩️ Send back",
    "btn_approve": "✅ Approve",
    "btn_refuse": "❌ Refuse",
    "calendar_gap_now": "⚠️ The official {year} holiday arrangement (调休 make-up workdays) is missing. Until it is added, the bot counts workdays from weekends and statutory holidays and sends reminders as usual; a make-up workday may be missed. Please ask whoever maintains the bot to update the holiday data.",
    "calendar_gap_next": "⚠️ The official {year} holiday arrangement (调休 make-up workdays) is not available yet. From {year}, the bot will count workdays from weekends and statutory holidays and send reminders as usual. Please ask whoever maintains the bot to update the holiday data before the year ends.",
    "prompt_progress": "📈 {id} progress: reply to this message with the figure and news, e.g. \"60%, land acquired\".",
    "prompt_difficulty": "⚠️ {id} problem: reply to this message describing the problem and what you need.",
    "prompt_extend": "⏳ {id} extension: reply to this message with the new date and the reason, e.g. \"extend to 2027-01-15, because …\".",
    "prompt_reject": "✍️ {id} send back: reply to this message with the reason.",
    "pick_task": "You have {count} open tasks. Which one is this about?",
    "no_task_to_report": "You have no open tasks to report on. Contact the office if this is wrong.",
    "ack_hint": "To report, just write the progress, e.g. \"80%\", \"done\" or \"problem: …\".",
    "not_your_task": "{id} is not one of your tasks. See /tasks.",
    "recorded_done": "✅ <b>{id}</b> reported done (100%); waiting for verification.",
    "recorded_progress": "Recorded <b>{id}</b>: progress {progress}%",
    "recorded_note": "Recorded the latest news on <b>{id}</b>.",
    "recorded_difficulty": "Recorded the problem on <b>{id}</b>.",
    "telling": "Telling the supervision office…",
    "told_admins": "The supervision office was told.",
    "told_owners": "Told the owners: {names}.",
    "owners_unreached": "⚠️ Cannot reach {names} (not registered, or they blocked the bot); please tell them yourself.",
    "told_admins_leader": "The supervision office and the leader {leader} were told.",
    "told_leader_relay": "The supervision office was told; the leader {leader} cannot be reached, so the office was asked to pass it on.",
    "told_leader_only": "The leader {leader} was told; the supervision office cannot be reached, please tell them yourself.",
    "told_nobody": "⚠️ The supervision office cannot be reached. Your report is in the ledger; please tell the office yourself.",
    "relay_to_leader": "(The leader {leader} cannot be reached; please pass this on.)",
    "quote_more": "… (full text: /task {id})",
    "dispatch_started": "Today's dispatch has started; you will get the result when it is done.",
    "admin_group_lost": "⚠️ The admin group cannot be reached since {since} (the bot may have been removed); alerts go to each admin privately. Please add the bot to the group again.",
    "recorded_extension": "Extension request for <b>{id}</b> (to {deadline}) sent for approval.",
    "recorded_evidence": "Received evidence for <b>{id}</b> ({count} file(s)).",
    "recorded_with_evidence": "With {count} evidence file(s).",
    "recorded_head": "Recorded <b>{id}</b>: {facets}.",
    "facet_progress": "progress {progress}%",
    "facet_difficulty": "problem \"{text}\"",
    "facet_extension": "extension request (to {deadline}) waiting for approval",
    "recorded_withdrawn": "The earlier completion report is taken back; the task is open again.",
    "confirm_done_q": "❓ <b>{id}</b>: report the task as done?\n\"{text}\"\nThen it waits for verification at 100% and reminders stop. If only part of the work is done, press \"Just progress\".",
    "btn_confirm_done": "✅ Report done",
    "btn_just_progress": "📈 Just progress",
    "confirm_done_yes": "Confirmed as done.",
    "already_recorded_short": "This message was already recorded.",
    "confirm_done_no": "Recorded as progress.",
    "confirm_done_stale": "Already handled: {id} is now \"{status}\".",
    "odd_progress": "📈 {id}: progress \"{value}%\" is not between 0 and 100%; nothing recorded. Reply to this message with the progress, e.g. \"80%\".",
    "ask_extension_date": "⏳ {id} extension: reply to this message with the new date and the reason, e.g. \"{suggested}, because …\".",
    "submission_withdrawn_alert": "↩️ [Completion taken back] <b>{id}</b> {title}\n{who} reported progress {progress}%; the task is open again, nothing to verify.",
    "submission_withdrawn_note": "↩️ Taken back: {who} reported progress {progress}%; nothing to verify.",
    "undo_hint": "Misread? Press Undo within 10 minutes.",
    "undone": "Withdrawn: <b>{id}</b> is back as it was.",
    "undo_expired": "More than 10 minutes have passed; send a new report instead.",
    "undo_done": "This report was already withdrawn.",
    "undo_superseded": "{id} changed since; this report cannot be withdrawn. Send a new one.",
    "undo_not_yours": "You can only withdraw your own reports.",
    "undo_unknown": "This report cannot be found.",
    "already_submitted": "{id} is already reported done and waiting for verification.",
    "task_not_live": "{id} is \"{status}\" and takes no more reports.",
    "invalid_extension_date": "Give the new date (later than the deadline), e.g. \"extend to 2027-01-15, because …\".",
    "invalid_deadline_year": "The deadline \"{value}\" must be in the years {min_year}–{max_year}. Check it and write it again, e.g. 2026-12-31.",
    "invalid_extension_date_year": "The extension date \"{value}\" must be in the years {min_year}–{max_year}. Give the new date, e.g. \"extend to 2027-01-15, because …\".",
    "confirm_deadline_past": "⚠️ The deadline {date} was {span} ago. Confirm?",
    "confirm_deadline_far": "⚠️ The deadline {date} is {span} from now. Confirm?",
    "confirm_extension_past": "⚠️ Extend to {date}, {span} ago. Confirm?",
    "confirm_extension_far": "⚠️ Extend to {date}, {span} from now. Confirm?",
    "btn_date_ok": "✅ Confirm",
    "btn_date_retype": "✏️ Write it again",
    "confirm_by_word": "Reply \"confirm\" to go on, or type the deadline again.",
    "date_confirmed": "Confirmed.",
    "date_retype": "Please send it again, with the right date.",
    "span_days": "{n} day(s)",
    "span_months": "{n} month(s)",
    "span_years": "{n} year(s)",
    "span_years_months": "{n} year(s) {m} month(s)",
    "extension_span": " (+{span})",
    "invalid_reason": "Please give a reason.",
    "submission": "📥 [Done] <b>{id}</b> {title}\n{who} reports it done. Deadline: {deadline}\nReport: {text}",
    "difficulty_alert": "⚠️ [Problem] <b>{id}</b> {title}\n{who}: {text}\nWhen solved: /resolve {id} note",
    "extension_request": "⏳ [Extension] <b>{id}</b> {title}\n{who} asks to move the deadline from {old} to {new}\nReason: {reason}",
    "verified": "✅ <b>{id}</b> verified and closed.",
    "verified_notice": "✅ <b>{id}</b> {title} was verified and closed. Well done!",
    "verified_by": "Verified ({who})",
    "self_verify": "You reported {id} done yourself; another admin must verify it.",
    "rejected": "Sent <b>{id}</b> back.",
    "rejected_notice": "↩️ <b>{id}</b> {title} was sent back; please continue.\nReason: {reason}",
    "rejected_by": "Sent back ({who}): {reason}",
    "reject_usage": "Usage: /reject ID reason, e.g. /reject T0007 evidence missing",
    "reopened": "Reopened <b>{id}</b>.",
    "reopened_notice": "🔄 <b>{id}</b> {title} was reopened; please continue.\nReason: {reason}",
    "reopen_usage": "Usage: /reopen ID reason",
    "verify_usage": "Usage: /verify ID, e.g. /verify T0007",
    "resolve_usage": "Usage: /resolve ID [note], e.g. /resolve T0007 funds arranged",
    "resolved": "Marked the problem on <b>{id}</b> as solved.",
    "resolved_notice": "✅ The problem you raised on <b>{id}</b> is solved: {note}",
    "nothing_pending_difficulty": "{id} has no open problem.",
    "nothing_pending_extension": "{id} has no pending extension request. Usage: /extend ID date",
    "superseded_submission": "This button no longer applies: {id} was reported done again; "
                             "verify on the newest message.",
    "superseded_extension": "This button no longer applies: that extension request for {id} "
                            "was decided or replaced; see the newest message.",
    "extend_usage": "Usage: /extend ID [date], e.g. /extend T0007 2027-01-15 (no date: approve the requested one)",
    "extended": "The deadline of <b>{id}</b> is now {deadline}.",
    "extended_notice": "⏳ <b>{id}</b> {title}: extension approved, new deadline {deadline}.",
    "extension_refused": "Refused the extension for <b>{id}</b>.",
    "extension_refused_notice": "❌ <b>{id}</b> {title}: extension refused; the deadline stays {deadline}.",
    "action_expired": "This button no longer applies: {id} is \"{status}\".",
    "button_not_yours": "This button is not for you.",
    "button_unknown": "This button has expired; open the task again: /tasks",
    "button_message_gone": "That message has expired; please send it again.",
    "task_light": "Warning light: {light}",
    "task_difficulties": "Open problems: {items}",
    "task_extension": "Extension requested to {deadline}, pending",
    "action_submitted": "reported done",
    "action_progress": "progress",
    "action_evidence": "evidence",
    "action_difficulty": "problem",
    "action_extension_requested": "extension requested",
    "action_withdrawn": "withdrawn",
    "action_verified": "verified",
    "action_rejected": "sent back",
    "action_reopened": "reopened",
    "action_resolved": "problem solved",
    "action_extended": "extended",
    "action_extension_refused": "extension refused",
    "action_submission_withdrawn": "progress reported, submission taken back",
    "already_recorded": "This message was already recorded ({id}).",
    "import_send_file": "Send the ledger as an .xlsx or .csv file (at most 10 MB, 10,000 rows). The header must have 任务, 牵头单位, 责任人, 完成时限.\nRows whose 完成时限 is past or more than three years ahead are errors (usually typos); to import them anyway, send \"/import any-date\" before the file, or write \"/import any-date\" as the file's caption.",
    "import_send_file_any_date": "Send the ledger as an .xlsx or .csv file (at most 10 MB, 10,000 rows). Any date is allowed this time: past deadlines and deadlines more than three years ahead are imported too.",
    "import_any_date_note": "(any date allowed this time)",
    "import_date_hint": "If these dates are right, send the file again with the caption: /import any-date",
    "import_date_hint_cli": "If these dates are right, run it again with --allow-past.",
    "import_preview": "📋 Preview of {file}\n{rows} rows: {new} new, {updated} updated, {unchanged} unchanged.\nConfirm to write them to the ledger.",
    "import_unknown_columns": "Ignored unknown columns: {columns}",
    "import_done": "✅ Imported {file}: {new} new, {updated} updated, {unchanged} unchanged.",
    "import_cancelled": "Import cancelled; the ledger is unchanged.",
    "import_errors": "❌ {file} has {count} error(s); nothing was imported. Fix them and send it again:",
    "import_error_line": "Row {row} \"{column}\" \"{value}\": {problem}",
    "import_more_errors": "…and {count} more.",
    "import_already": "This file was already imported.",
    "import_download_failed": "Could not download the file; please send it again.",
    "import_missing_columns": "❌ {file} lacks required columns: {columns}. The header must have 任务, 牵头单位, 责任人, 完成时限.",
    "btn_import_ok": "✅ Import",
    "btn_import_no": "Cancel",
    "import_sheet_line": "Sheet: {sheet}",
    "import_footer": "Skipped {count} row(s) of totals, signatures or notes: {rows}",
    "import_footer_row": "row {row} \"{text}\"",
    "import_notes": "进展情况 of {count} task(s) recorded as their latest progress ({day}); a progress figure was read from {figures}.",
    "import_pick_sheet": "📋 {count} sheets of {file} look like the ledger; choose the one to import (or send the file again with the caption /import --sheet NAME):",
    "import_pick_sheet_cli": "Several sheets of {file} look like the ledger: {sheets}. Run it again with --sheet NAME.",
    "sheet_no_sheet": "❌ The file has no sheet named \"{sheet}\". Its sheets: {sheets}.",
    "problem_assigned": "unreadable; it must be a date such as 2026-09-01",
    "problem_assigned_future": "later than today; please check it",
    "problem_required": "must not be empty",
    "problem_deadline": "unreadable; write 2026-12-31, 12月底, 一季度, 长期 …",
    "problem_deadline_year": "the year must be 2000–2099; please correct it",
    "problem_deadline_past": "already past; please check it and give a future date",
    "problem_deadline_far": "more than three years ahead; please check the year",
    "problem_frequency": "must be 每日, 每旬, 每月 or 每季",
    "problem_too_long": "too long",
    "problem_duplicate_id": "duplicate ID",
    "problem_dingtalk_ids": "give one 钉钉 userid per 责任人, in the same order",
    "problem_bad_id": "IDs may contain letters, digits and '-' only, need a digit and have at most 20 characters",
    "problem_bad_progress": "progress must be 0–100",
    "sheet_too_big": "❌ The file is over 10 MB; split it and import the parts.",
    "sheet_too_complex": "❌ The file is too large or too complex once unpacked, so it was not read. Simplify it: remove pictures and extra sheets, or copy the ledger into a new Excel file.",
    "sheet_too_slow": "❌ The file is too large or too complex: reading it timed out. Simplify it (remove extra sheets, pictures, blank rows and columns) or split it and import the parts.",
    "sheet_not_spreadsheet": "❌ Not a spreadsheet. Send an Excel (.xlsx) or CSV file.",
    "sheet_broken": "❌ The file is damaged. Save it again as .xlsx in Excel and resend it.",
    "sheet_encrypted": "❌ The workbook is password-protected. Remove the password and resend it.",
    "sheet_empty": "❌ The file holds no ledger rows.",
    "sheet_too_many_rows": "❌ More than 10,000 rows; split it and import the parts.",
    "sheet_encoding": "❌ Unknown CSV encoding. Save it as \"CSV UTF-8\" in Excel and resend it.",
    "sheet_no_header": "❌ No header found. It must have 任务, 牵头单位, 责任人, 完成时限.",
    "export_caption": "Ledger export: {count} tasks ({day})",
    "escalation_head": "🔴 [Supervision] <b>{id}</b> {title}",
    "escalation_days": "{days} workdays overdue (deadline {deadline})",
    "escalation_people": "Lead unit: {unit}  Owners: {owners}",
    "escalation_stranded": "These owners cannot receive reminders: {names}",
    "escalation_unread": "{names}: reminder delivered, not read",
    "escalation_latest": "Latest ({day}): {progress}%, {note}",
    "escalation_no_report": "Latest: nothing reported yet",
    "escalation_ask": "Please have the owners report today or ask for an extension.",
    "listing_head": "🔴 [Listed for supervision] tasks {days}+ workdays overdue ({count})",
    "listing_line": "<b>{id}</b> {title} | {unit} | {owners} | {overdue} workdays overdue",
    "leave_note": "📌 {names} on leave; you receive this reminder for them:",
    "summary_head": "📋 [Daily summary] {day}",
    "summary_reports": "Reports today: {count} ({tasks} tasks)",
    "summary_waiting": "Waiting for verification: {count}: {ids}",
    "summary_overdue": "Newly overdue today: {count}: {ids}",
    "summary_unreachable": "Newly unreachable: {names} (never started or blocked the bot; contact them)",
    "summary_unread": "Delivered, not read: {count} (reminders of {day}, still unread): {items}",
    "summary_unread_item": "{name} ({id})",
    "summary_difficulties": "Open problems: {count}:",
    "summary_difficulty_line": "· {id} {text} ({days} days)",
    "summary_coordinator": ", {who} coordinating",
    "leave_usage": "Usage: /leave name from to, e.g. /leave Zhang 2026-12-01 2026-12-05; /leave Zhang clear.",
    "leave_unknown": "No one called \"{name}\". See /people.",
    "leave_set": "{name} is on leave {start} – {end}: no reminders to them; the tasks' leaders receive them.",
    "leave_cleared": "{name} is no longer on leave.",
    "leave_none": "No one is on leave.",
    "leave_list_head": "On leave:",
    "leave_line": "{name}: {start} – {end}",
    "exempt_usage": "Usage: /exempt ID reason, e.g. /exempt T0007 policy changed upstream",
    "exempted": "<b>{id}</b> is out of scoring from now on (容错): {reason}",
    "bulletin_head": "📊 [Bulletin] {period} ({start} – {end})",
    "bulletin_head_unit": "📊 [Bulletin] {period} · {unit} ({start} – {end})",
    "bulletin_head_partial": "📊 [Bulletin] {period} ({start} – {end}, in progress, as of today)",
    "bulletin_head_to_date": "📊 [Bulletin] as of {day}",
    "bulletin_of_unit": "{period} · {unit}",
    "bulletin_totals": "Tasks this period: {total}. Closed {closed} ({closed_share}), on time {on_time}; in progress {open}, overdue {overdue} ({overdue_share}){pending}; on-time rate {rate}.",
    "bulletin_totals_to_date": "As of {day}: {total} tasks. Closed {closed} ({closed_share}), on time {on_time}; in progress {open}, overdue {overdue} ({overdue_share}){pending}; on-time rate {rate}.",
    "bulletin_pending": ", awaiting verification {pending}",
    "bulletin_overdue_units": "Overdue by unit: {items}",
    "bulletin_overdue_unit_item": "{unit} {count}",
    "bulletin_ranking": "<b>Unit ranking</b>",
    "bulletin_unit": "{rank}. {unit} {score} pts{change} (on time {rate}, overdue {overdue})",
    "bulletin_up": " ↑{n}",
    "bulletin_down": " ↓{n}",
    "bulletin_same": " —",
    "bulletin_new": " new",
    "bulletin_red": "🏅 Honour roll: {units}",
    "bulletin_overdue_head": "<b>⚠️ Overdue</b>",
    "bulletin_overdue_line": "{unit}: {id} {title} ({days} workdays, {owners}){exempt}",
    "bulletin_exempt": " [exempt]",
    "bulletin_silent": "📵 Did not report: {items}",
    "bulletin_silent_item": "{name} ×{count}",
    "bulletin_none": "Nothing to report for {period}.",
    "bulletin_chart_caption": "{period}: on-time rate and overdue tasks per unit",
    "chart_title": "{period}: on-time rate and overdue tasks per unit",
    "report_usage": "Usage: /report [today|旬|月|季|period] [unit], e.g. /report today, /report 月 Land Bureau, /report 2026-12, /report 2026-Q4, /report 2026-12-1",
    "report_fallback_today": "Note: the ledger did not exist yet in {period}, so there is nothing to report for it; here is the bulletin as of today.",
    "report_not_started": "{period} has not started: nothing to report or score yet.",
    "period_to_date": "{period} (to {day})",
    "score_usage": "Usage: /score [period], e.g. /score 月, /score today, /score 2026-12, /score 2026-Q4",
    "score_head": "🏆 [Scores] {period} (out of {base})",
    "score_line": "{rank}. {unit} {score}: {items}",
    "score_item_overdue_days": "overdue {count} workdays {points}",
    "score_item_closed_on_time": "closed on time {count} {points}",
    "score_no_items": "no deductions",
    "score_none": "No scored tasks in {period}.",
    "btn_coordinate": "🤝 I'll coordinate",
    "btn_solved": "✅ Solved",
    "coordinating_by": "🤝 {who} coordinates",
    "coordinating_notice": "🤝 {who} is coordinating the problem raised on <b>{id}</b>.",
    "solved_by": "✅ Solved ({who})",
    "picked": "Chose {id}.",
    "already_decided": "Already handled: {decision}",
    "already_coordinating": "{who} is already coordinating this problem. Press \"Solved\" once it is.",
    "newer_submission": "{id} was reported done again; verify on the newest message.",
    "decided_cancelled": "Task cancelled ({who})",
    "decided_submission_undone": "↩️ The reporter withdrew this completion report",
    "decided_submission_withdrawn": "↩️ Completion taken back ({who})",
    "decided_extension_approved": "✅ Extension approved to {deadline} ({who})",
    "decided_extension_refused": "❌ Extension refused ({who})",
    "decided_extension_withdrawn": "↩️ The request was withdrawn",
    "decided_extension_replaced": "A newer extension request replaced this one; see the newest message",
    "decided_task_state": "Task {id} is \"{status}\"; nothing more to do",
    "decided_difficulty_closed": "Task {status}; the problem was closed with it ({who})",
    "decided_difficulty_withdrawn": "↩️ The reporter withdrew this problem",
    "decided_rebind_confirmed": "✅ Re-binding confirmed ({who})",
    "decided_rebind_refused": "❌ Re-binding refused ({who})",
    "invalid_transition_reject": "Task {id} is \"{current}\": no completion report is waiting, nothing to send back.",
    "invalid_transition_reject_closed": "Task {id} is \"{current}\": no completion report is waiting, nothing to send back. To reopen it: /reopen {id} reason.",
    "invalid_transition_reopen": "Task {id} is \"{current}\": still in progress, nothing to reopen.",
    "invalid_transition_reopen_submitted": "Task {id} is \"{current}\": not closed, nothing to reopen. To send it back: /reject {id} reason.",
    "invalid_transition_reopen_cancelled": "Task {id} is \"{current}\": a cancelled task cannot be reopened.",
    "invalid_transition_verify": "Task {id} is \"{current}\": no completion report is waiting, nothing to verify.",
    "invalid_transition_verify_closed": "Task {id} is \"{current}\": already verified and closed.",
    "invalid_transition_cancelled": "Task {id} is \"{current}\" already.",
    "action_imported": "opened (import)",
    "action_import_updated": "updated by import",
    "action_exempted": "out of scoring",
    "action_coordinating": "coordinating the problem",
    "action_difficulties_closed": "problems closed with the task",
    "action_other": "other",
    "field_goal": "goal",
    "field_leader": "leader",
    "field_co_units": "cooperating units",
    "field_category": "category",
    "field_frequency": "rhythm",
    "field_remark": "remark",
    "field_created_at": "assigned on",
    "who_admin": "the supervision office",
    "who_system": "system",
    "rhythm_latest_note": "Latest ({day}): {note}",
    "escalation_latest_note": "Latest ({day}): {note}",
}

CATALOGS = {"zh": ZH, "en": EN}


def _short_quote(text: str, limit: int = 60) -> str:
    """A user's text quoted inside a sentence: one line, at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def esc(text: object) -> str:
    """Escape user text for Telegram's HTML parse mode."""
    return html.escape(str(text), quote=False)


class Messages:
    """Renders messages in one language. Parameters are escaped here, not by callers."""

    def __init__(self, language: str = "zh", *,
                 today: Callable[[], Date] | None = None,
                 calendar: WorkCalendar | None = None) -> None:
        """`today` gives the county's date (bot/bootstrap.py passes `clock.today`): a date in
        another year is shown with its year. Without it the machine's date is used.
        `calendar` counts 逾期N个工作日 (without it: weekends only)."""
        self.language = language if language in CATALOGS else "zh"
        self.catalog = CATALOGS[self.language]
        self._today = today or date.today
        self.calendar = calendar or WorkCalendar()

    # ---- primitives ----------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        """A catalog string with its parameters escaped."""
        return self.catalog[key].format(**{k: esc(v) for k, v in params.items()})

    def raw(self, key: str, **params: str) -> str:
        """A catalog string with already-rendered (trusted) HTML parameters."""
        return self.catalog[key].format(**params)

    def _other_year(self, value: Date, today: Date | None) -> bool:
        return value.year != (today or self._today()).year

    def date(self, value: Date | None, *, today: Date | None = None) -> str:
        """12月31日（周四）; with the year (2027年1月15日（周五）) when it is not this year's.
        English always shows the year: Thu 31 Dec 2026."""
        if value is None:
            return self.catalog["deadline_none"]
        if self.language == "en" or self._other_year(value, today):
            return self.full_date(value)
        return f"{value.month}月{value.day}日（周{_WEEKDAYS_ZH[value.weekday()]}）"

    def full_date(self, value: Date | None) -> str:
        """Always with the year, for every approval request (延期 from → to, 交账):
        2027年1月15日（周五） / Fri 15 Jan 2027."""
        if value is None:
            return self.catalog["deadline_none"]
        if self.language == "en":
            return value.strftime("%a %d %b %Y").replace(" 0", " ")
        return (f"{value.year}年{value.month}月{value.day}日"
                f"（周{_WEEKDAYS_ZH[value.weekday()]}）")

    def datetime(self, value: DateTime) -> str:
        other_year = self._other_year(value.date(), None)
        if self.language == "en":
            pattern = "%d %b %Y %H:%M" if other_year else "%d %b %H:%M"
            return value.strftime(pattern).lstrip("0")
        year = f"{value.year}年" if other_year else ""
        return f"{year}{value.month}月{value.day}日 {value:%H:%M}"

    def span(self, start: Date, end: Date) -> str:
        """How far apart two dates are, in the largest units: 10 年 1 个月, 5 个月, 3 天."""
        early, late = sorted((start, end))
        months = (late.year - early.year) * 12 + late.month - early.month
        if late.day < early.day:
            months -= 1
        years, months = divmod(months, 12)
        if years and months:
            return self.catalog["span_years_months"].format(n=years, m=months)
        if years:
            return self.catalog["span_years"].format(n=years)
        if months:
            return self.catalog["span_months"].format(n=months)
        return self.catalog["span_days"].format(n=(late - early).days)

    def date_confirmation(self, day: Date | None, today: Date, *,
                          what: str = "deadline") -> str | None:
        """The question to ask before using a 完成时限 (`what="deadline"`: /add, an edited
        deadline) or an extension date (`what="extension"`: /extend, 延期申请) that is in the
        past or more than three years ahead, e.g. 完成时限 2036年12月31日（周三） 在 10 年 1 个月后，
        确认吗？ None when the date needs no confirmation."""
        reason = deadline_needs_confirmation(day, today)
        if reason is None or day is None:
            return None
        return self.t(f"confirm_{what}_{reason}", date=self.full_date(day),
                      span=self.span(day, today))

    def names(self, names: Iterable[str]) -> str:
        return ("、" if self.language == "zh" else ", ").join(names)

    def who(self, label: str) -> str:
        """Who did something, as users read it: the name only. The history keeps an account
        outside the ledger with its Telegram id for audit (督查室王主任（1001）, see
        bot/app/common.actor); users read 督查室王主任."""
        if label == "admin" or label.startswith("admin:"):
            return self.catalog["who_admin"]
        if label == "system":
            return self.catalog["who_system"]
        return _ACCOUNT_ID.sub("", label) or label

    def status(self, status: TaskStatus) -> str:
        return status.value if self.language == "zh" else _STATUS_EN[status]

    def deadline_with_days(self, task: Task, today: Date) -> str:
        text = self.date(task.deadline)
        if task.deadline is None:
            return text
        days = (task.deadline - today).days
        if days > 0:
            extra = self.catalog["days_left"].format(days=days)
        elif days == 0:
            extra = self.catalog["due_today"]
        elif not task.live:  # closed or cancelled: the deadline alone
            return text
        elif overdue := overdue_workdays(task, today, self.calendar):  # the one count
            extra = self.catalog["days_overdue"].format(days=overdue)
        else:  # the rest days right after the deadline
            extra = self.catalog["days_overdue_rest"]
        sep = "，" if self.language == "zh" else ", "
        return f"{text}{sep}{extra}"

    # ---- errors --------------------------------------------------------------------------

    def error(self, err: DomainError) -> str:
        code, params = err.code, err.params
        if code == "invalid_field":
            if params.get("reason") == "year_range":
                return self.t(f"invalid_{params['field']}_year", value=params.get("value", ""),
                              min_year=params["min_year"], max_year=params["max_year"])
            return self.t(f"invalid_{params['field']}", value=params.get("value", ""))
        if code == "task_not_found":
            return self.t("task_not_found", id=params["task_id"])
        if code == "invalid_transition":
            # /reject on a task not waiting for 核账, /reopen on one still open: the task's
            # state and why nothing is to be done, by what was asked (and from which state).
            current = TaskStatus(params["current"])
            values = {"id": params["task_id"], "current": self.status(current),
                      "target": self.status(TaskStatus(params["target"]))}
            action = params.get("action") or ""
            for key in (f"invalid_transition_{action}_{current.name.lower()}",
                        f"invalid_transition_{action}"):
                if action and key in self.catalog:
                    return self.t(key, **values)
            return self.t("invalid_transition", **values)
        if code == "already_bound":
            return self.t("already_bound", name=params["name"])
        if code == "rebind_pending":
            return self.t("rebind_pending", name=params["name"])
        if code in {"invite_unknown", "invite_used", "invite_expired"}:
            return self.t(code)
        if code == "task_not_live":
            return self.t("task_not_live", id=params["task_id"],
                          status=self.status(TaskStatus(params["status"])))
        if code in {"already_submitted", "already_recorded"}:
            return self.t(code, id=params["task_id"])
        if code == "undo_refused":
            return self.t(f"undo_{params['reason']}", id=params.get("task_id", ""))
        if code == "nothing_pending":
            return self.t(f"nothing_pending_{params['what']}", id=params["task_id"])
        if code == "superseded":
            return self.t(f"superseded_{params['what']}", id=params["task_id"])
        if code == "not_allowed" and params.get("reason") == "self_verify":
            return self.t("self_verify", id=params["task_id"])
        if code == "not_allowed" and params.get("reason") == "self_rebind":
            return self.t("self_rebind")
        return self.t("internal_error")

    # ---- tasks ---------------------------------------------------------------------------

    def task_created(self, task: Task) -> str:
        return self.t("task_created", id=task.id, title=task.title, unit=task.lead_unit,
                      owners=self.names(task.owners), deadline=self.date(task.deadline))

    def task_line(self, task: Task, today: Date, light: Light | None = None) -> str:
        line = self.t("task_line", id=task.id, title=task.title,
                      deadline=self.deadline_with_days(task, today),
                      owners=self.names(task.owners), status=self.status(task.status))
        return f"{EMOJI[light]}{line}" if light else line

    def task_list(self, header: str, tasks: Sequence[Task], today: Date,
                  limit: int = 50, lights: dict[str, Light] | None = None) -> str:
        lines = [f"<b>{header}</b>"]
        lines += [self.task_line(t, today, (lights or {}).get(t.id)) for t in tasks[:limit]]
        if len(tasks) > limit:
            lines.append(self.t("tasks_more", count=len(tasks) - limit))
        return "\n".join(lines)

    def task_detail(self, task: Task, history: Sequence[HistoryEntry], today: Date,
                    history_limit: int = 10, *, light: Light | None = None,
                    difficulties: Sequence[str] = (),
                    extension_to: Date | None = None) -> str:
        head = self.t("task_detail", id=task.id, title=task.title,
                      status=self.status(task.status), progress=task.progress,
                      deadline=self.deadline_with_days(task, today), unit=task.lead_unit,
                      owners=self.names(task.owners))
        lines = [f"{EMOJI[light]}{head}" if light else head]
        if task.leader:
            lines.append(self.t("task_leader", leader=task.leader))
        if task.latest_note:
            lines.append(self.t("task_latest", note=task.latest_note))
        if difficulties:
            lines.append(self.t("task_difficulties", items="；".join(difficulties)))
        if extension_to is not None:
            lines.append(self.t("task_extension", deadline=self.date(extension_to)))
        if history:
            lines.append(self.t("history_header"))
            for entry in list(history)[-history_limit:]:
                lines.append(self.t("history_line", at=self.datetime(entry.at),
                                    who=self.who(entry.who),
                                    what=self.history_what(entry)))
        return "\n".join(lines)

    def history_what(self, entry: HistoryEntry) -> str:
        key = f"action_{entry.action}"
        what = self.catalog.get(key)
        if what is None:  # never the stored action word itself (coordinating, …)
            what = self.status(entry.to_status) if entry.to_status else \
                self.catalog["action_other"]
        note = self._history_note(entry)
        if note and note != what:  # 建账（建账）
            what = f"{what}（{note}）" if self.language == "zh" else f"{what} ({note})"
        return what

    def _history_note(self, entry: HistoryEntry) -> str:
        """A history entry's note as users read it: field names and dates in their language,
        and a progress figure only once (90%：进度90%，… → 进度90%，…)."""
        note = entry.note
        if entry.action == "import_updated" and entry.changes:
            return self.names(self.catalog.get(f"field_{name}", name) for name in entry.changes)
        if entry.action == "extended" and len(entry.changes.get("deadline") or ()) == 2:
            old, new = entry.changes["deadline"]
            return f"{self._stored_date(old)} → {self._stored_date(new)}"
        if entry.action == "extension_requested":
            match = re.match(r"(\d{4}-\d{2}-\d{2})(.*)", note, re.S)
            if match:
                return f"{self._stored_date(match[1])}{match[2]}"
        if entry.action == "progress":
            match = re.match(r"(\d{1,3})%：(.+)", note, re.S)
            if match and states_progress(match[2], int(match[1])):
                return match[2]
        return note

    def _stored_date(self, value: str | None) -> str:
        """An ISO date kept in the history (None: 长期), as the bot writes dates."""
        try:
            return self.date(date.fromisoformat(value) if value else None)
        except ValueError:
            return str(value)

    def reminder(self, task: Task, today: Date) -> str:
        return self.t("reminder", id=task.id, title=task.title,
                      deadline=self.deadline_with_days(task, today))

    def short_date(self, value: Date) -> str:
        """12月3日 / 3 Dec, with the year when it is not this year's."""
        other_year = self._other_year(value, None)
        if self.language == "en":
            return value.strftime("%d %b %Y" if other_year else "%d %b").lstrip("0")
        return f"{value.year}年{value.month}月{value.day}日" if other_year else (
            f"{value.month}月{value.day}日")

    def submission(self, task: Task, report: Report, text: str | None = None) -> str:
        """📥【交账】 for the admins, with the full 完成时限. `text` replaces the report's text
        (e.g. shortened to fit); plain text, escaped here."""
        return self.t("submission", id=task.id, title=task.title, who=self.who(report.who),
                      deadline=self.full_date(task.deadline),
                      text=(report.text if text is None else text) or "—")

    def extension_request(self, task: Task, request: ExtensionRequest,
                          reason: str | None = None) -> str:
        """⏳【延期申请】 for the admins: both dates in full and how much later, e.g. 由
        2026年12月31日（周四） 延至 2036年12月31日（周三）（延长 10 年）. `reason` replaces the
        request's reason (e.g. shortened to fit)."""
        new = self.full_date(request.new_deadline)
        if task.deadline is not None and request.new_deadline > task.deadline:
            new += self.catalog["extension_span"].format(
                span=self.span(task.deadline, request.new_deadline))
        return self.t("extension_request", id=task.id, title=task.title,
                      who=self.who(request.requested_by), old=self.full_date(task.deadline),
                      new=new,
                      reason=(request.reason if reason is None else reason) or "—")

    def rebind_question(self, request: RebindRequest, *, unit: str = "",
                        old: str | None = None, new: str | None = None) -> str:
        """🔁【换绑申请】 for the admins (buttons btn_rebind_ok / btn_rebind_no). `old` and `new`
        describe the two accounts (e.g. a name and @username); by default their user ids."""
        unit_text = (f"（{unit}）" if self.language == "zh" else f" ({unit})") if unit else ""
        return self.t("rebind_question", name=request.name, unit=unit_text,
                      old=old if old is not None else str(request.old_user_id or "—"),
                      new=new if new is not None else str(request.new_user_id))

    def recorded(self, outcome: Any, told: str = "") -> str:
        """What the bot understood from a report, every facet of it, e.g. 已记录 T0007：进度
        55%；困难“资金未到位”；延期申请（至2027年2月10日（周三））待督查室审批。 `told` says who
        was told about it (a rendered line, see bot/app/reports.py)."""
        report, task = outcome.report, outcome.task
        if report.kind == "evidence":
            return self.t("recorded_evidence", id=task.id, count=len(report.evidence))
        if outcome.submitted:
            text = self.t("recorded_done", id=task.id)
        else:
            facets = []
            if report.progress is not None:
                facets.append(self.t("facet_progress", progress=report.progress))
            if outcome.difficulty is not None:
                facets.append(self.t("facet_difficulty",
                                     text=_short_quote(outcome.difficulty.text)))
            if outcome.extension is not None:
                facets.append(self.t("facet_extension",
                                     deadline=self.full_date(outcome.extension.new_deadline)))
            separator = "；" if self.language == "zh" else "; "
            text = self.raw("recorded_head", id=esc(task.id), facets=separator.join(facets)) \
                if facets else self.t("recorded_note", id=task.id)
            if outcome.withdrew_submission:
                text += "\n" + self.t("recorded_withdrawn")
        if report.evidence:
            text += "\n" + self.t("recorded_with_evidence", count=len(report.evidence))
        if told:
            text += "\n" + told
        return f"{text}\n{self.t('undo_hint')}"

    def rhythm_reminder(self, task: Task, kind: ReminderKind, day: Date,
                        calendar: WorkCalendar, light: Light) -> str:
        """A scheduled reminder: key fact first, what it secures, the latest report, how to
        answer."""
        emoji = EMOJI[light]
        if kind is ReminderKind.OVERDUE:
            days = overdue_workdays(task, day, calendar)
            lines = [self.t("rhythm_head_overdue", light=emoji, id=task.id, title=task.title,
                            days=days)]
            owners = self.names(task.owners)
            if task.leader:
                lines.append(self.t("rhythm_people_leader", deadline=self.date(task.deadline),
                                    owners=owners, leader=task.leader))
            else:
                lines.append(self.t("rhythm_people", deadline=self.date(task.deadline),
                                    owners=owners))
            lines.append(self.t("secure_overdue"))
        else:
            lines = [self.t("rhythm_head", light=emoji, kind=self.catalog[f"kind_{kind.value}"],
                            id=task.id, title=task.title),
                     self.t("rhythm_deadline", deadline=self.deadline_with_days(task, day)),
                     self.t(f"secure_{kind.value}",
                            period=secured_period(kind, day).label(self.language))]
        if task.last_report_at is not None:
            when = self.short_date(task.last_report_at.date())
            note = _clip(task.latest_note, 60)
            if note and states_progress(note, task.progress):  # 进度 90%，进度90%
                lines.append(self.t("rhythm_latest_note", day=when, note=note))
            elif note:
                lines.append(self.t("rhythm_latest", day=when, progress=task.progress,
                                    note=note))
            else:
                lines.append(self.t("rhythm_latest_bare", day=when, progress=task.progress))
        lines.append(self.t("rhythm_how"))
        # The day it went out: 钉钉 drops identical text to the same person within a day, and a
        # reminder read late says which day's it was.
        lines.append(self.t("dispatched_on", day=self.date(day)))
        return "\n".join(lines)

    def task_buttons(self, task_id: str) -> list[list[tuple[str, str]]]:
        """✅ 已完成 · 📈 报进度 / ⚠️ 有困难 · ⏳ 申请延期 under reminders and task messages."""
        return [[(self.catalog["btn_done"], f"ACT {task_id} done"),
                 (self.catalog["btn_progress"], f"ACT {task_id} progress")],
                [(self.catalog["btn_difficulty"], f"ACT {task_id} difficulty"),
                 (self.catalog["btn_extend"], f"ACT {task_id} extend")]]

    def import_result(self, result: Any, filename: str, *, preview: bool,
                      cli: bool = False) -> str:
        """The answer to an import: what is wrong (first 20, then a count), or the counts.

        When a 完成时限 is only refused for being past or far ahead, the last line says how to
        import it anyway (`cli`: the command-line flag, else the chat caption)."""
        if result.sheet_error is not None:
            if result.sheet_error.code == "no_sheet":
                return self.t("sheet_no_sheet", sheet=result.sheet_error.detail,
                              sheets=self.names(result.sheet_error.sheets))
            return self.t(f"sheet_{result.sheet_error.code}")
        if result.sheet_choices:
            if cli:
                return self.t("import_pick_sheet_cli", file=filename,
                              sheets=self.names(result.sheet_choices))
            return self.t("import_pick_sheet", file=filename, count=len(result.sheet_choices))
        if result.missing_columns:
            return self.t("import_missing_columns", file=filename,
                          columns=self.names(result.missing_columns))
        if result.errors:
            lines = [self.t("import_errors", file=filename, count=len(result.errors))]
            for error in result.errors[:20]:
                lines.append(self.t("import_error_line", row=error.row, column=error.column,
                                    value=_clip(error.value, 30) or "—",
                                    problem=self.catalog.get(f"problem_{error.problem}",
                                                             error.problem)))
            if len(result.errors) > 20:
                lines.append(self.t("import_more_errors", count=len(result.errors) - 20))
            if any(e.problem in ("deadline_past", "deadline_far") for e in result.errors):
                lines.append(self.t("import_date_hint_cli" if cli else "import_date_hint"))
            return "\n".join(lines)
        if result.already_done:
            return self.t("import_already")
        summary = result.summary
        counts = {"new": len(summary.new), "updated": len(summary.updated),
                  "unchanged": len(summary.unchanged)}
        if preview:
            text = self.t("import_preview", file=filename, rows=len(result.rows), **counts)
        else:
            text = self.t("import_done", file=filename, **counts)
        if result.sheet:
            text += "\n" + self.t("import_sheet_line", sheet=result.sheet)
        if summary.notes:
            text += "\n" + self.t("import_notes", count=len(summary.notes),
                                   figures=len(summary.figures), day=self.short_date(summary.on))
        if result.footer:
            shown = self.names(self.t("import_footer_row", row=row.row, text=_clip(row.text, 12))
                               for row in result.footer[:5])
            text += "\n" + self.raw("import_footer", count=str(len(result.footer)),
                                     rows=shown + ("…" if len(result.footer) > 5 else ""))
        if result.unknown_columns:
            text += "\n" + self.t("import_unknown_columns",
                                   columns=self.names(result.unknown_columns))
        return text

    def escalation_sheet(self, task: Task, day: Date, calendar: WorkCalendar,
                         stranded: Sequence[str] = (), unread: Sequence[str] = ()) -> str:
        """督办单 for the 责任领导: the task, how late, who is responsible (and who cannot be
        reached, or got the last reminder but has not read it: 已送达未读), the last report."""
        days = overdue_workdays(task, day, calendar)
        lines = [self.t("escalation_head", id=task.id, title=task.title),
                 self.t("escalation_days", days=days, deadline=self.date(task.deadline)),
                 self.t("escalation_people", unit=task.lead_unit, owners=self.names(task.owners))]
        if stranded:
            lines.append(self.t("escalation_stranded", names=self.names(stranded)))
        if unread:
            lines.append(self.t("escalation_unread", names=self.names(unread)))
        if task.last_report_at is not None:
            reported = self.short_date(task.last_report_at.date())
            note = _clip(task.latest_note, 60)
            if note and states_progress(note, task.progress):
                lines.append(self.t("escalation_latest_note", day=reported, note=note))
            else:
                lines.append(self.t("escalation_latest", day=reported, progress=task.progress,
                                    note=note or "—"))
        else:
            lines.append(self.t("escalation_no_report"))
        lines.append(self.t("escalation_ask"))
        lines.append(self.t("dispatched_on", day=self.date(day)))
        return "\n".join(lines)

    def listing(self, listed: Sequence[tuple[Task, int]], threshold: int,
                limit: int = 60) -> str:
        """挂牌督办: every task overdue long enough, most overdue first."""
        lines = [self.t("listing_head", days=threshold, count=len(listed))]
        for task, days in listed[:limit]:
            lines.append(self.t("listing_line", id=task.id, title=_clip(task.title, 24),
                                unit=task.lead_unit, owners=self.names(task.owners),
                                overdue=days))
        if len(listed) > limit:
            lines.append(self.t("tasks_more", count=len(listed) - limit))
        return "\n".join(lines)

    def leave_note(self, names: Sequence[str]) -> str:
        return self.t("leave_note", names=self.names(names))

    def rate(self, value: float | None) -> str:
        return "—" if value is None else f"{round(value * 100)}%"

    def points(self, value: float) -> str:
        text = f"{value:.1f}".rstrip("0").rstrip(".")
        return text

    def period_label(self, period: Any, as_of: Date | None = None) -> str:
        """A period's label, "12月（截至12月4日）" while in progress (`as_of` before its end);
        截至今日 reads "截至12月4日"."""
        label = str(period.label(self.language))
        if as_of is None or as_of >= period.end or not hasattr(period, "kind"):
            return label
        return self.t("period_to_date", period=label, day=self.short_date(as_of))

    def bulletin_label(self, bulletin: Any) -> str:
        """What a bulletin covers, for its chart: 12月中旬 · 12月（截至12月4日） · 截至12月4日."""
        return self.period_label(bulletin.period, bulletin.as_of)

    def _share(self, part: int, whole: int) -> str:
        return self.rate(part / whole if whole else None)

    def bulletin(self, bulletin: Any, unit: str | None = None) -> str:
        """工作通报, written as 督查通报 are: 截至某日 (or the period), totals with their shares,
        the ranking with 进位/退位, 红榜, overdue by unit, 未报送."""
        period = bulletin.period
        to_date = not hasattr(period, "kind")  # 截至今日 (bot.domain.periods.ToDate)
        until = bulletin.as_of or period.end
        label = self.bulletin_label(bulletin)
        if not bulletin.units and not bulletin.overdue:
            return self.t("bulletin_none", period=label)
        if to_date:
            day = esc(self.date(until))
            if unit:
                day = self.raw("bulletin_of_unit", period=day, unit=esc(unit))
            head = self.raw("bulletin_head_to_date", day=day)
        else:
            head_key = ("bulletin_head_partial" if bulletin.as_of is not None
                        else "bulletin_head_unit" if unit else "bulletin_head")
            name = esc(period.label(self.language))
            if unit and bulletin.as_of is not None:
                name = self.raw("bulletin_of_unit", period=name, unit=esc(unit))
            head = self.raw(head_key, period=name, unit=esc(unit or ""),
                            start=esc(self.short_date(period.start)),
                            end=esc(self.short_date(until)))
        lines = [head]
        totals = bulletin.totals
        total = totals.open + totals.closed
        pending = self.t("bulletin_pending", pending=totals.pending) if totals.pending else ""
        lines.append(self.raw(
            "bulletin_totals_to_date" if to_date else "bulletin_totals",
            day=esc(self.short_date(until)), total=str(total), closed=str(totals.closed),
            closed_share=self._share(totals.closed, total), on_time=str(totals.closed_on_time),
            open=str(totals.open), overdue=str(totals.overdue),
            overdue_share=self._share(totals.overdue, total), pending=pending,
            rate=self.rate(totals.on_time_rate)))
        if bulletin.units:
            lines.append(self.catalog["bulletin_ranking"])
            for line in bulletin.units:
                if to_date:  # no earlier bulletin to compare with
                    change = ""
                elif line.change is None:
                    change = self.catalog["bulletin_new"]
                elif line.change > 0:
                    change = self.catalog["bulletin_up"].format(n=line.change)
                elif line.change < 0:
                    change = self.catalog["bulletin_down"].format(n=-line.change)
                else:
                    change = self.catalog["bulletin_same"]
                lines.append(self.t("bulletin_unit", rank=line.rank, unit=line.unit,
                                    score=self.points(line.score), change=change,
                                    rate=self.rate(line.on_time_rate), overdue=line.overdue))
        if bulletin.red_list:
            lines.append(self.t("bulletin_red", units=self.names(bulletin.red_list)))
        if bulletin.overdue:
            lines.append(self.catalog["bulletin_overdue_head"])
            per_unit: dict[str, int] = {}
            for item in bulletin.overdue:
                per_unit[item.unit] = per_unit.get(item.unit, 0) + 1
            if len(per_unit) > 1:
                sep = "、" if self.language == "zh" else ", "
                lines.append(self.raw("bulletin_overdue_units", items=sep.join(
                    self.t("bulletin_overdue_unit_item", unit=name, count=count)
                    for name, count in sorted(per_unit.items(),
                                              key=lambda kv: (-kv[1], kv[0])))))
            for item in bulletin.overdue[:40]:
                lines.append(self.t("bulletin_overdue_line", unit=item.unit, id=item.task_id,
                                    title=_clip(item.title, 24), days=item.days_overdue,
                                    owners=self.names(item.owners),
                                    exempt=self.catalog["bulletin_exempt"] if item.exempt
                                    else ""))
            if len(bulletin.overdue) > 40:
                lines.append(self.t("tasks_more", count=len(bulletin.overdue) - 40))
        if bulletin.silent:
            sep = "、" if self.language == "zh" else ", "
            items = sep.join(self.catalog["bulletin_silent_item"].format(name=esc(n), count=c)
                             for n, c in bulletin.silent[:30])
            lines.append(self.raw("bulletin_silent", items=items))
        return "\n".join(lines)

    def scores(self, period: Any, scores: Sequence[Any], ranks: dict[str, int],
               base: float, *, as_of: Date | None = None) -> str:
        """考核得分 per unit with its items; a period in progress is labelled up to `as_of`."""
        label = self.period_label(period, as_of)
        if not scores:
            return self.t("score_none", period=label)
        lines = [self.t("score_head", period=label, base=self.points(base))]
        for score in sorted(scores, key=lambda s: (ranks.get(s.unit, 999), s.unit)):
            totals: dict[str, list[float]] = {}
            for item in score.items:
                entry = totals.setdefault(item.kind, [0, 0.0])
                entry[0] += item.count
                entry[1] += item.points
            sep = "，" if self.language == "zh" else "; "
            parts = [self.catalog[f"score_item_{kind}"].format(
                count=int(count), points=("+" if points > 0 else "") + self.points(points))
                for kind, (count, points) in totals.items() if count]
            lines.append(self.t("score_line", rank=ranks.get(score.unit, "—"), unit=score.unit,
                                score=self.points(score.score),
                                items=sep.join(parts) or self.catalog["score_no_items"]))
        return "\n".join(lines)

    def plan_summary(self, planned: Sequence[PlannedReminder], start: Date, days: int,
                     calendar: WorkCalendar) -> str:
        if not planned:
            return self.t("plan_none", days=days)
        by_day: dict[date, list[PlannedReminder]] = {}
        for item in planned:
            by_day.setdefault(item.day, []).append(item)
        lines = [f"<b>{self.t('plan_header', days=days, start=self.date(start))}</b>"]
        sep = "、" if self.language == "zh" else ", "
        for offset in range(days):
            day = date.fromordinal(start.toordinal() + offset)
            if not calendar.is_workday(day):
                continue
            items = by_day.get(day, [])
            if not items:
                continue
            counts: dict[ReminderKind, int] = {}
            for item in items:
                counts[item.kind] = counts.get(item.kind, 0) + len(item.to)
            kinds = sep.join(f"{self.catalog['kind_' + k.value]} {n}"
                             for k, n in sorted(counts.items(), key=lambda kv: _KIND_ORDER[kv[0]]))
            lines.append(self.t("plan_day", day=self.date(day), count=sum(counts.values()),
                                kinds=kinds))
        return "\n".join(lines)

    # ---- people --------------------------------------------------------------------------

    def invite_created(self, invite: Invite, unit: str, link: str) -> str:
        unit_part = f"（{unit}）" if unit and self.language == "zh" else (
            f" ({unit})" if unit else "")
        return self.t("invite_created", name=invite.name, unit=unit_part, link=link)

    def people_list(self, people: Sequence[Person]) -> str:
        if not people:
            return self.t("people_none")
        bound = sum(1 for p in people if p.bound)
        lines = [f"<b>{self.t('people_header', count=len(people), bound=bound)}</b>"]
        for person in sorted(people, key=lambda p: (p.unit, p.name)):
            state = self.catalog["people_bound" if person.bound else "people_unbound"]
            lines.append(self.t("people_line", name=person.name, unit=person.unit or "—",
                                state=state))
        return "\n".join(lines)


_KIND_ORDER = {k: i for i, k in enumerate(ReminderKind)}
# The channel id bot/app/common.actor adds to an account outside the ledger (for audit).
_ACCOUNT_ID = re.compile(r"\s*[（(]\d{4,}[)）]$")


def states_progress(note: str, progress: int) -> bool:
    """Whether a note already gives that progress figure (进度90%，完成主体 for 90): a line
    showing the note then does not put 进度 90% before it again."""
    text = unicodedata.normalize("NFKC", note)
    return bool(re.search(rf"(?<![\d.]){progress}\s*%", text)
                or re.search(rf"进度\s*[:：]?\s*(?:为|是|达到?)?\s*{progress}(?![\d.])", text))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split a long answer at line breaks so each part fits Telegram's 4096-character limit.

    Lines are never broken inside an HTML tag: callers render one item per line.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single overlong line: hard split (rare; plain text)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts
