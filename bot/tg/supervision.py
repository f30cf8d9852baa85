"""Telegram handlers for the 督办 and 考核 commands: /leave, /exempt, /report, /score. Thin:
the use cases are in bot/app/supervision.py; the bulletin's chart is sent as a photo by
`TelegramConversation`."""

from __future__ import annotations

from telegram import Update

from bot.app import supervision
from bot.tg.context import LuoshiContext
from bot.tg.handlers import run_with_args


async def leave_command(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, supervision.leave)


async def exempt_command(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, supervision.exempt)


async def report_command(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, supervision.report)


async def score_command(update: Update, context: LuoshiContext) -> None:
    await run_with_args(update, context, supervision.score)
