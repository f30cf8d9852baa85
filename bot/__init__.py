"""Luoshi (落实): a Telegram bot that keeps a county government's task ledger (台账) moving."""

__version__ = "0.1.0"
