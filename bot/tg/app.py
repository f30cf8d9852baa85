"""The Telegram adapter: builds the Application on the services bot/bootstrap.py built, connects
its sender, and registers every handler."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.app import actions as callbacks
from bot.tg import buttons, dialogue
from bot.tg import handlers as h
from bot.tg import ledger_files as lf
from bot.tg import reporting as r
from bot.tg import supervision as sv
from bot.tg.context import LuoshiContext, Services, attach_services, services_of
from bot.tg.dialogue import DialogueHandler
from bot.tg.intake import Intake, StrangerBudget
from bot.tg.notifier import ChatWatch, TelegramSender
from bot.tg.ratelimit import ChatRateLimiter
from jobs.schedule import MISFIRE_GRACE_SECONDS

log = logging.getLogger(__name__)

OFFICIAL_COMMANDS = {
    "zh": [("tasks", "我负责的任务"), ("mine", "我分管的任务（责任领导）"),
           ("task", "任务详情：/task 编号"), ("help", "使用说明")],
    "en": [("tasks", "my tasks"), ("mine", "tasks I lead (leaders)"),
           ("task", "task details: /task ID"), ("help", "how to use")],
}
ADMIN_COMMANDS = {
    "zh": [
        ("tasks", "在办任务 [单位]"), ("task", "任务详情：/task 编号"),
        ("add", "建账：任务 | 牵头单位 | 责任人 | 完成时限 [| 责任领导]"),
        ("mine", "领导分管的任务：/mine 姓名"), ("remind", "催办：/remind 编号"),
        ("cancel", "撤销：/cancel 编号 [原因]"), ("invite", "邀请：/invite 姓名 [单位]"),
        ("verify", "核账通过：/verify 编号"), ("reject", "退回：/reject 编号 理由"),
        ("resolve", "困难已解决：/resolve 编号 [说明]"), ("extend", "延期：/extend 编号 [日期]"),
        ("reopen", "重新打开：/reopen 编号 理由"),
        ("import", "导入台账（Excel/CSV）"), ("export", "导出台账 Excel"),
        ("leave", "请假：/leave 姓名 起 止"), ("exempt", "容错：/exempt 编号 理由"),
        ("report", "工作通报：/report [旬|月|季] [单位]"), ("score", "考核得分：/score [期间]"),
        ("people", "人员和绑定情况"), ("dispatch", "立即执行今日调度"),
        ("plan", "调度计划：/plan [天数]"), ("help", "命令说明"),
    ],
    "en": [
        ("tasks", "open tasks [unit]"), ("task", "task details: /task ID"),
        ("add", "open a task: task | unit | owners | deadline [| leader]"),
        ("mine", "a leader's tasks: /mine name"), ("remind", "urge: /remind ID"),
        ("cancel", "cancel: /cancel ID [reason]"), ("invite", "invite: /invite name [unit]"),
        ("verify", "verify: /verify ID"), ("reject", "send back: /reject ID reason"),
        ("resolve", "problem solved: /resolve ID [note]"),
        ("extend", "extend: /extend ID [date]"), ("reopen", "reopen: /reopen ID reason"),
        ("import", "import a ledger (Excel/CSV)"), ("export", "export the ledger"),
        ("leave", "leave: /leave name from to"), ("exempt", "exempt: /exempt ID reason"),
        ("report", "bulletin: /report [旬|月|季] [unit]"), ("score", "scores: /score [period]"),
        ("people", "people and registration"), ("dispatch", "run today's dispatch now"),
        ("plan", "reminder plan: /plan [days]"), ("help", "command help"),
    ],
}


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: ChatRateLimiter | None = None,
) -> Application[Any, LuoshiContext, Any, Any, Any, Any]:
    config = services.config
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=config.timezone, do_quote=False,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .context_types(ContextTypes(context=LuoshiContext))
        # Telegram's limits per chat; a 429 holds only its chat (bot/tg/ratelimit.py).
        .rate_limiter(rate_limiter or ChatRateLimiter())
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if config.telegram.base_url:
        builder = builder.base_url(config.telegram.base_url)
    if config.telegram.base_file_url:
        builder = builder.base_file_url(config.telegram.base_file_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    app = builder.build()
    attach_services(app, services)
    watch = ChatWatch(services.ledger.repo, services.clock, services.ledger)
    services.connect(TelegramSender(app.bot, watch), watch)
    _configure_scheduler(app)
    register_handlers(app)
    return app


def build_intake(app: Application[Any, Any, Any, Any, Any, Any], services: Services, *,
                 budget: StrangerBudget | None = None) -> Intake:
    """Where updates come in (bot/tg/intake.py): durable before confirmed, one lane a chat."""
    if services.inbox is None:
        raise RuntimeError("the intake needs the store's inbox")
    return Intake(app, services.inbox, is_known=services.is_known, budget=budget,
                  allowed_updates=allowed_updates(),
                  reanswer=lambda update: r.reanswer(app, update))


def _configure_scheduler(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """python-telegram-bot's own JobQueue now only tells admins that their /add dialogue timed
    out (bot/tg/dialogue.py; our jobs have their own scheduler, jobs/schedule.py).
    APScheduler drops a run more than 1 s late by default; we want late runs, once."""
    jq = app.job_queue
    if jq is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    jq.scheduler.configure(
        **jq.scheduler_configuration,
        job_defaults={"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True,
                      "max_instances": 1},
    )


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """All handlers, in one place. Order matters: the first matching handler in a group wins.

    1. The guided /add dialogue comes first, in a group of its own (-1) that sees every
       message: while it waits (its state in the store: bot/tg/dialogue.py), the admin's plain
       answers and 取消 reach it and stop there; everything else — and every message of
       whoever has no dialogue — goes on to group 0.
    2. Commands next (/add among them: it starts or restarts the dialogue).
    3. The catch-all last: unknown commands and stray messages get a helpful answer.
    Redelivered updates never get here: the intake recognises them (bot/tg/intake.py).
    """
    app.add_handler(DialogueHandler(services_of(app)), group=-1)
    # A group upgraded to a supergroup: its new id is kept (bot/tg/notifier.py ChatWatch).
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, h.chat_migrated))
    app.add_handler(CommandHandler("add", dialogue.add_command))
    app.add_handler(CommandHandler("start", h.start))
    app.add_handler(CommandHandler("help", h.help_command))
    app.add_handler(CommandHandler("tasks", h.list_tasks))
    app.add_handler(CommandHandler("task", h.show_task))
    app.add_handler(CommandHandler("mine", h.mine))
    app.add_handler(CommandHandler("invite", h.invite))
    app.add_handler(CommandHandler("people", h.people))
    app.add_handler(CommandHandler("cancel", h.cancel_task))
    app.add_handler(CommandHandler("remind", h.remind))
    app.add_handler(CommandHandler("dispatch", h.dispatch_now))
    app.add_handler(CommandHandler("plan", h.plan_preview))
    app.add_handler(CommandHandler("verify", r.verify_command))
    app.add_handler(CommandHandler("reject", r.reject_command))
    app.add_handler(CommandHandler("reopen", r.reopen_command))
    app.add_handler(CommandHandler("resolve", r.resolve_command))
    app.add_handler(CommandHandler("extend", r.extend_command))
    app.add_handler(CommandHandler("leave", sv.leave_command))
    app.add_handler(CommandHandler("exempt", sv.exempt_command))
    app.add_handler(CommandHandler("report", sv.report_command))
    app.add_handler(CommandHandler("score", sv.score_command))
    app.add_handler(CommandHandler("import", lf.import_command))
    app.add_handler(CommandHandler("export", lf.export_command))
    # Buttons: ours are routed by prefix; anything else (old, forged) still gets an answer.
    app.add_handler(CallbackQueryHandler(buttons.on_button, pattern=callbacks.ROUTE))
    app.add_handler(CallbackQueryHandler(lf.on_import_button, pattern=callbacks.IMPORT_ROUTE))
    app.add_handler(CallbackQueryHandler(h.on_invite_button, pattern=callbacks.INVITE_ROUTE))
    app.add_handler(CallbackQueryHandler(buttons.on_button))
    # Reports: replies to the bot's messages first (they name their task), then plain
    # messages in private chats. Edits are not new reports.
    content = (filters.TEXT | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND
    fresh = ~filters.UpdateType.EDITED
    # Documents first: a ledger file for /import, otherwise evidence for a report.
    app.add_handler(MessageHandler(filters.Document.ALL & fresh, lf.on_document))
    app.add_handler(MessageHandler(filters.REPLY & content & fresh, r.on_reply))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & content & fresh, r.on_plain))
    app.add_handler(MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL & fresh, h.fallback))
    app.add_error_handler(h.on_error)


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = services_of(app)
    await register_commands(app, services)
    # The scheduled jobs and the store's snapshots, rebuilt from the ledger; they run (and a
    # late start catches up) once the bot has started, after the inbox's replay (start_jobs).
    services.jobs.start(paused=True)
    log.info("Luoshi started as @%s", app.bot.username)


async def register_commands(app: Application[Any, Any, Any, Any, Any, Any],
                            services: Services) -> None:
    """The command menu: officials' commands for everyone, the admin menu in admins' chats."""
    lang = services.messages.language
    try:
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in OFFICIAL_COMMANDS[lang]])
    except TelegramError as err:
        log.warning("could not register the command menu: %s", err)
    for admin_id in sorted(services.config.access.admins):
        try:
            await app.bot.set_my_commands([BotCommand(c, d) for c, d in ADMIN_COMMANDS[lang]],
                                          scope=BotCommandScopeChat(admin_id))
        except TelegramError as err:  # the admin never opened a chat with the bot yet
            log.info("admin menu not set for %s: %s", admin_id, err)


def start_jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Let the scheduled jobs run (bot/tg/runner.py, once the Application has started)."""
    services_of(app).jobs.resume()


async def _post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Before the bot shuts down: no new job runs, and a running one (a dispatch) finishes."""
    await services_of(app).jobs.stop()


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = services_of(app)
    # If the bot never started, post_stop did not run: the jobs stop here (idempotent).
    await services.jobs.stop(wait=False)
    if services.close is not None:
        services.close()


def allowed_updates() -> list[str]:
    return [Update.MESSAGE, Update.CALLBACK_QUERY]
