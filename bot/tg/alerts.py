"""Moved to bot/alerts.py (channel-neutral; the scheduled jobs use it too)."""

from bot.alerts import notify_admins, notify_admins_at, notify_chat, notify_person

__all__ = ["notify_admins", "notify_admins_at", "notify_chat", "notify_person"]
