"""A fake Telegram Bot API for tests and local sandboxes.

* `FakeBotApi` (core): the in-memory Telegram side - users, updates, sent messages, files.
* `FakeBotApiServer` (server): the same over HTTP, for `telegram.Bot(base_url=...)`.
* `FakeRequest` (request): an in-process python-telegram-bot transport, no sockets.
"""

from bot.fakeapi.core import ApiError, FakeBotApi, parse_entities
from bot.fakeapi.request import FakeRequest
from bot.fakeapi.server import FakeBotApiServer

__all__ = ["ApiError", "FakeBotApi", "FakeBotApiServer", "FakeRequest", "parse_entities"]
