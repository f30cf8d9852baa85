"""An in-process python-telegram-bot transport talking straight to a `FakeBotApi`.

    api = FakeBotApi()
    bot = telegram.Bot(api.token, request=FakeRequest(api), get_updates_request=FakeRequest(api))

No sockets and no threads: every request is a direct `api.call`. Long polling (getUpdates with
a `timeout`) never blocks the event loop: the request asks the API with a zero wait and, while
nothing is queued, awaits an asyncio.Event that the API's update listener sets (from any
thread) whenever a new update arrives, until the requested timeout passes. Cancelling the
poll (as PTB does on shutdown) therefore returns immediately and leaves no thread behind.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import IO, Any, cast
from urllib.parse import unquote, urlsplit

from telegram.request import BaseRequest, RequestData

from bot.fakeapi.core import FakeBotApi, FileTuple, JSONDict, route_path

__all__ = ["FakeRequest"]


def _error(status: int, description: str) -> tuple[int, bytes]:
    body = {"ok": False, "error_code": status, "description": description}
    return status, json.dumps(body).encode("utf-8")


def _read_content(content: bytes | IO[bytes] | Any) -> bytes:
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    read = getattr(content, "read", None)
    if read is None:
        raise TypeError(f"cannot upload {type(content).__name__}")
    data = read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


class FakeRequest(BaseRequest):
    """`telegram.request.BaseRequest` implementation backed by a `FakeBotApi`.

    Connection drops injected with `api.drop_connection_next` surface as ConnectionResetError,
    which PTB wraps into `telegram.error.NetworkError`.
    """

    def __init__(self, api: FakeBotApi, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        route = route_path(unquote(urlsplit(url).path))
        if route is None:
            return _error(404, "Not Found")
        kind, token, rest = route
        if not self.api.check_token(token):
            return _error(401, "Unauthorized")
        if kind == "file":
            try:
                return 200, self.api.download_path(rest)
            except KeyError:
                return _error(404, "Not Found")

        params: JSONDict = dict(request_data.parameters) if request_data else {}
        files: dict[str, FileTuple] = {}
        if request_data is not None:
            for name, spec in request_data.multipart_data.items():
                filename, content, *rest_spec = cast("tuple[Any, ...]", spec)
                mime = rest_spec[0] if rest_spec else None
                files[name] = (str(filename or ""), _read_content(content), mime)

        drop = self.api.take_connection_drop(rest)
        if drop == "before":
            raise ConnectionResetError("fake Bot API dropped the connection")
        if rest.lower() == "getupdates":
            status, payload = await self._get_updates(params, files)
        else:
            status, payload = self.api.call(rest, params, files)
            await asyncio.sleep(0)  # behave like real I/O: give other tasks a turn
        if drop == "after":
            raise ConnectionResetError("fake Bot API dropped the connection after processing")
        return status, json.dumps(payload).encode("utf-8")

    async def _get_updates(
        self, params: JSONDict, files: dict[str, FileTuple]
    ) -> tuple[int, JSONDict]:
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            timeout = 0.0
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()

        def notify() -> None:
            try:
                loop.call_soon_threadsafe(arrived.set)
            except RuntimeError:  # the loop is already closed
                pass

        remove_listener = self.api.add_update_listener(notify)
        try:
            deadline = time.monotonic() + timeout
            record = True
            while True:
                arrived.clear()
                status, payload = self.api.call(
                    "getUpdates", params, files, record=record, max_wait=0
                )
                record = False
                remaining = deadline - time.monotonic()
                if status != 200 or payload["result"] or remaining <= 0:
                    await asyncio.sleep(0)
                    return status, payload
                try:
                    await asyncio.wait_for(arrived.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            remove_listener()
