"""Everything users read, rendered in one place per language (Chinese default, English option).

Messages are HTML (Telegram parse mode); every piece of user text goes through `esc`.
Shape (SPEC "Messages"): key fact first, short, the task's 编号 in every task message,
dates as 12月31日（周四）, and one line saying how to answer.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.calendar import WorkCalendar
from bot.domain.errors import DomainError
from bot.domain.model import HistoryEntry, Invite, Person, Task, TaskStatus
from bot.domain.rhythm import PlannedReminder, ReminderKind, securing_period
from bot.domain.warning import EMOJI, light

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
    "internal_error": "⚠️ 处理时出现问题，本次操作没有生效。请稍后重试，或联系督查室。",
    "help_admin": (
        "<b>落实 · 督查室命令</b>\n"
        "/add 任务 | 牵头单位 | 责任人 | 完成时限 — 建账（只发 /add 则逐项填写）\n"
        "/tasks [单位] — 在办任务\n"
        "/task 编号 — 任务详情和记录\n"
        "/remind 编号 — 立即催办\n"
        "/cancel 编号 [原因] — 撤销任务\n"
        "/invite 姓名 [单位] — 生成绑定邀请链接\n"
        "/people — 人员和绑定情况\n"
        "/plan [天数] — 调度计划　/dispatch — 立即执行今日调度\n"
        "例：/add 世忻铁路复线征地 | 县自然资源局 | 张三、李四 | 2026-12-31"
    ),
    "help_official": (
        "<b>落实 · 使用说明</b>\n"
        "/tasks — 我负责的任务\n"
        "/task 编号 — 任务详情，例如 /task T0007\n"
        "收到调度提醒后，直接回复该消息报送进展。"
    ),
    "welcome_bound": "✅ 绑定成功，{name}（{unit}）。\n今后调度提醒将发到这里。",
    "welcome_back": "您好，{name}。",
    "your_open_tasks": "您负责的在办任务（{count} 项）：",
    "no_open_tasks": "您目前没有在办任务。",
    "invite_unknown": "邀请码无效。请向督查室索取新的邀请链接。",
    "invite_used": "该邀请链接已被使用。如需重新绑定，请向督查室索取新的链接。",
    "invite_expired": "该邀请链接已过期（有效期 7 天）。请向督查室索取新的链接。",
    "already_bound": "您的账号已绑定为 {name}，不能再绑定他人。如有误，请联系督查室。",
    "invite_created": (
        "已为 {name}{unit} 生成邀请链接（7 天内有效，仅限一次）：\n{link}\n"
        "请转发给本人，点开后按“开始”即完成绑定。"
    ),
    "invite_usage": "用法：/invite 姓名 [单位]\n例：/invite 张三 县自然资源局",
    "add_usage": (
        "格式：/add 任务 | 牵头单位 | 责任人 | 完成时限\n"
        "例：/add 世忻铁路复线征地 | 县自然资源局 | 张三、李四 | 2026-12-31\n"
        "多名责任人用“、”分隔；长期任务时限写“长期”。只发 /add 可逐项填写。"
    ),
    "add_parts": "应为 4 项，用 | 分隔，实际为 {count} 项。",
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
        "看不懂完成时限“{value}”。请写日期，例如 2026-12-31 或 2026年12月31日；长期任务写“长期”。"
    ),
    "invalid_name": "姓名不能为空，且不超过 30 字。",
    "invalid_unit": "单位名称不超过 30 字。",
    "task_created": (
        "✅ 已建账 <b>{id}</b> {title}\n牵头单位：{unit}　责任人：{owners}\n完成时限：{deadline}"
    ),
    "ask_title": "建账第 1/4 步：请发送任务名称。\n（随时发送“取消”结束）",
    "ask_unit": "第 2/4 步：牵头单位是？例如：县自然资源局",
    "ask_owners": "第 3/4 步：责任人是谁？多名用“、”分隔，例如：张三、李四",
    "ask_deadline": "第 4/4 步：完成时限？例如 2026-12-31、2026年12月31日，长期任务写“长期”",
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
    "days_overdue": "已逾期 {days} 天",
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
    "secure_daily": "时限在本旬（{period}），请今日报送进展，以日保旬。",
    "secure_xun": "本旬（{period}）请报送进展，以旬保月。",
    "secure_monthly": "本月（{period}）请报送进展，以月保季。",
    "secure_quarterly": "本季度（{period}）请报送进展，以季保年。",
    "rhythm_latest": "最近进展（{day}）：进度 {progress}%，{note}",
    "rhythm_latest_bare": "最近进展（{day}）：进度 {progress}%",
    "rhythm_how": "直接回复本消息报送，例如“进度80%”“已完成”“困难：……”",
    "dispatch_rest_day": "{day}是休息日，不发送调度提醒。",
    "dispatch_report": "{day}调度：应发 {due} 条，本次发送 {sent} 条，此前已发 {before} 条。",
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
}

EN: dict[str, str] = {
    "not_registered": (
        "Hello! You are not registered in this ledger yet.\n"
        "Ask the supervision office for an invite link and open it to register."
    ),
    "admin_only": "This command is for the supervision office's admins only.",
    "save_failed": "⚠️ Could not save; nothing was changed. Please send it again shortly.",
    "internal_error": "⚠️ Something went wrong; nothing was changed. Please try again later.",
    "help_admin": (
        "<b>Luoshi · admin commands</b>\n"
        "/add task | lead unit | owners | deadline — open a task (/add alone asks step by step)\n"
        "/tasks [unit] — open tasks\n"
        "/task ID — details and history\n"
        "/remind ID — urge the owners now\n"
        "/cancel ID [reason] — cancel a task\n"
        "/invite name [unit] — invite link for an official\n"
        "/people — people and who is registered\n"
        "/plan [days] — reminder plan  /dispatch — run today's dispatch now\n"
        "e.g. /add Rail land acquisition | Land Bureau | Zhang San, Li Si | 2026-12-31"
    ),
    "help_official": (
        "<b>Luoshi · how to use</b>\n"
        "/tasks — my tasks\n"
        "/task ID — task details, e.g. /task T0007\n"
        "When a reminder arrives, reply to it to report progress."
    ),
    "welcome_bound": "✅ Registered as {name} ({unit}).\nReminders will arrive here.",
    "welcome_back": "Hello, {name}.",
    "your_open_tasks": "Your open tasks ({count}):",
    "no_open_tasks": "You have no open tasks.",
    "invite_unknown": "This invite code is not valid. Ask the supervision office for a new link.",
    "invite_used": "This invite link was already used. Ask the supervision office for a new one.",
    "invite_expired": "This invite link has expired (valid 7 days). Ask for a new one.",
    "already_bound": "Your account is already registered as {name}. Contact the office if wrong.",
    "invite_created": (
        "Invite link for {name}{unit} (valid 7 days, single use):\n{link}\n"
        "Forward it to them; opening it and pressing Start registers them."
    ),
    "invite_usage": "Usage: /invite name [unit]\ne.g. /invite Zhang San Land Bureau",
    "add_usage": (
        "Format: /add task | lead unit | owners | deadline\n"
        "e.g. /add Rail land acquisition | Land Bureau | Zhang San, Li Si | 2026-12-31\n"
        "Separate several owners with commas; write 'ongoing' for no deadline. "
        "/add alone asks step by step."
    ),
    "add_parts": "Expected 4 parts separated by |, got {count}.",
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
        "Cannot read the deadline \"{value}\". Write a date such as 2026-12-31, "
        "or 'ongoing' for a long-running task."
    ),
    "invalid_name": "The name must not be empty and at most 30 characters.",
    "invalid_unit": "The unit name must be at most 30 characters.",
    "task_created": (
        "✅ Opened <b>{id}</b> {title}\nLead unit: {unit}  Owners: {owners}\nDeadline: {deadline}"
    ),
    "ask_title": "New task, step 1/4: send the task name.\n(Send 'cancel' at any time to stop.)",
    "ask_unit": "Step 2/4: the lead unit? e.g. Land Bureau",
    "ask_owners": "Step 3/4: who is responsible? Separate several with commas.",
    "ask_deadline": "Step 4/4: the deadline? e.g. 2026-12-31, or 'ongoing'",
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
    "days_overdue": "{days} days overdue",
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
    "secure_daily": "Due this ten-day period ({period}): report today; days secure the period.",
    "secure_xun": "Report once this ten-day period ({period}) to secure the month.",
    "secure_monthly": "Report once this month ({period}) to secure the quarter.",
    "secure_quarterly": "Report once this quarter ({period}) to secure the year.",
    "rhythm_latest": "Latest ({day}): {progress}%, {note}",
    "rhythm_latest_bare": "Latest ({day}): {progress}%",
    "rhythm_how": "Reply to this message, e.g. \"progress 80%\", \"done\", \"problem: …\"",
    "dispatch_rest_day": "{day} is a rest day: no reminders are sent.",
    "dispatch_report": "Dispatch {day}: {due} due, {sent} sent now, {before} sent earlier.",
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
}

CATALOGS = {"zh": ZH, "en": EN}


def esc(text: object) -> str:
    """Escape user text for Telegram's HTML parse mode."""
    return html.escape(str(text), quote=False)


class Messages:
    """Renders messages in one language. Parameters are escaped here, not by callers."""

    def __init__(self, language: str = "zh") -> None:
        self.language = language if language in CATALOGS else "zh"
        self.catalog = CATALOGS[self.language]

    # ---- primitives ----------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        """A catalog string with its parameters escaped."""
        return self.catalog[key].format(**{k: esc(v) for k, v in params.items()})

    def raw(self, key: str, **params: str) -> str:
        """A catalog string with already-rendered (trusted) HTML parameters."""
        return self.catalog[key].format(**params)

    def date(self, value: date | None) -> str:
        if value is None:
            return self.catalog["deadline_none"]
        if self.language == "en":
            return value.strftime("%a %d %b %Y").replace(" 0", " ")
        return f"{value.month}月{value.day}日（周{_WEEKDAYS_ZH[value.weekday()]}）"

    def datetime(self, value: datetime) -> str:
        if self.language == "en":
            return value.strftime("%d %b %H:%M").lstrip("0")
        return f"{value.month}月{value.day}日 {value:%H:%M}"

    def names(self, names: Iterable[str]) -> str:
        return ("、" if self.language == "zh" else ", ").join(names)

    def status(self, status: TaskStatus) -> str:
        return status.value if self.language == "zh" else _STATUS_EN[status]

    def deadline_with_days(self, task: Task, today: date) -> str:
        text = self.date(task.deadline)
        if task.deadline is None:
            return text
        days = (task.deadline - today).days
        if days > 0:
            extra = self.catalog["days_left"].format(days=days)
        elif days == 0:
            extra = self.catalog["due_today"]
        else:
            extra = self.catalog["days_overdue"].format(days=-days)
        sep = "，" if self.language == "zh" else ", "
        return f"{text}{sep}{extra}"

    # ---- errors --------------------------------------------------------------------------

    def error(self, err: DomainError) -> str:
        code, params = err.code, err.params
        if code == "invalid_field":
            return self.t(f"invalid_{params['field']}", value=params.get("value", ""))
        if code == "task_not_found":
            return self.t("task_not_found", id=params["task_id"])
        if code == "invalid_transition":
            return self.t("invalid_transition", id=params["task_id"],
                          current=self.status(TaskStatus(params["current"])),
                          target=self.status(TaskStatus(params["target"])))
        if code == "already_bound":
            return self.t("already_bound", name=params["name"])
        if code in {"invite_unknown", "invite_used", "invite_expired"}:
            return self.t(code)
        return self.t("internal_error")

    # ---- tasks ---------------------------------------------------------------------------

    def task_created(self, task: Task) -> str:
        return self.t("task_created", id=task.id, title=task.title, unit=task.lead_unit,
                      owners=self.names(task.owners), deadline=self.date(task.deadline))

    def task_line(self, task: Task, today: date) -> str:
        return self.t("task_line", id=task.id, title=task.title,
                      deadline=self.deadline_with_days(task, today),
                      owners=self.names(task.owners), status=self.status(task.status))

    def task_list(self, header: str, tasks: Sequence[Task], today: date,
                  limit: int = 50) -> str:
        lines = [f"<b>{header}</b>"]
        lines += [self.task_line(t, today) for t in tasks[:limit]]
        if len(tasks) > limit:
            lines.append(self.t("tasks_more", count=len(tasks) - limit))
        return "\n".join(lines)

    def task_detail(self, task: Task, history: Sequence[HistoryEntry], today: date,
                    history_limit: int = 10) -> str:
        lines = [self.t("task_detail", id=task.id, title=task.title,
                        status=self.status(task.status), progress=task.progress,
                        deadline=self.deadline_with_days(task, today), unit=task.lead_unit,
                        owners=self.names(task.owners))]
        if task.leader:
            lines.append(self.t("task_leader", leader=task.leader))
        if task.latest_note:
            lines.append(self.t("task_latest", note=task.latest_note))
        if history:
            lines.append(self.t("history_header"))
            for entry in list(history)[-history_limit:]:
                lines.append(self.t("history_line", at=self.datetime(entry.at), who=entry.who,
                                    what=self.history_what(entry)))
        return "\n".join(lines)

    def history_what(self, entry: HistoryEntry) -> str:
        key = f"action_{entry.action}"
        what = self.catalog.get(key)
        if what is None:
            what = self.status(entry.to_status) if entry.to_status else entry.action
        if entry.note:
            what = f"{what}（{entry.note}）" if self.language == "zh" else f"{what} ({entry.note})"
        return what

    def reminder(self, task: Task, today: date) -> str:
        return self.t("reminder", id=task.id, title=task.title,
                      deadline=self.deadline_with_days(task, today))

    def short_date(self, value: date) -> str:
        return value.strftime("%d %b").lstrip("0") if self.language == "en" else (
            f"{value.month}月{value.day}日")

    def rhythm_reminder(self, task: Task, kind: ReminderKind, day: date,
                        calendar: WorkCalendar) -> str:
        """A scheduled reminder: key fact first, what it secures, the latest report, how to
        answer."""
        emoji = EMOJI[light(task, day, calendar)]
        if kind is ReminderKind.OVERDUE:
            days = calendar.workdays_between(task.deadline or day, day)
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
                            period=securing_period(kind, day).label(self.language))]
        if task.last_report_at is not None:
            when = self.short_date(task.last_report_at.date())
            if task.latest_note:
                lines.append(self.t("rhythm_latest", day=when, progress=task.progress,
                                    note=_clip(task.latest_note, 60)))
            else:
                lines.append(self.t("rhythm_latest_bare", day=when, progress=task.progress))
        lines.append(self.t("rhythm_how"))
        return "\n".join(lines)

    def plan_summary(self, planned: Sequence[PlannedReminder], start: date, days: int,
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
