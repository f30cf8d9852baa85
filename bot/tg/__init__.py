"""The Telegram adapter: python-telegram-bot handlers, jobs wiring and the composition root."""
