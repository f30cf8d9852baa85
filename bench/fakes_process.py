"""The fakes of bench_dingtalk in a child process, so the loop-lag probe measures the bot.

Why: in one process the fake Bot API's and the fake 钉钉's HTTP handler threads, the fake
钉钉's own event-loop thread (Stream frames, permessage-deflate) and the thread pushing user
frames all compete with the bot's loop for the GIL. Sampling the bot's loop thread during the
worst lags (`sys._current_frames()` from a watchdog, and timing every loop callback) showed no
bot callback running for most of them: the loop thread was waiting for the GIL held by the
fakes. The bench then measured the harness, not the bot.

`FakesProcess` starts both fakes (and the user side: frames pushed from the child's own
thread) in a `spawn`ed child and talks to it over a `multiprocessing` pipe. The bot's side
only blocks on the pipe in a worker thread (`asyncio.to_thread`), which releases the GIL.
What the child sends back is plain data: URLs, frame ids, what each fake received.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["FakesProcess"]


def _child(conn: Connection, token: str, users: list[tuple[int, str]],
           staff: list[tuple[str, str]], groups: list[tuple[str, str]]) -> None:
    from bot.fakeapi import FakeBotApi, FakeBotApiServer
    from bot.fakedingtalk import FakeDingTalk

    api = FakeBotApi(token=token, bot_username="luoshi_bench_bot")
    api.rate_limit(global_per_sec=30, per_chat_per_sec=1, per_group_per_min=20)
    for user_id, name in users:
        api.add_user(user_id, name)
        api.send_text(user_id, "/start")
    pushed: list[str] = []
    pusher: threading.Thread | None = None
    with FakeBotApiServer(api) as server, \
            FakeDingTalk(client_id="app", client_secret="s", robot_code="robot") as fake:
        for staff_id, name in staff:
            fake.add_staff(staff_id, name)
        for cid, title in groups:
            fake.add_group(cid, title, [s for s, _ in staff[:3]])
        conn.send({"base_url": server.base_url, "base_file_url": server.base_file_url,
                   "dd_url": fake.url})
        while True:
            op, arg = conn.recv()
            if op == "stop":
                conn.send(None)
                return
            if op == "wait_connected":
                conn.send(asyncio.run(fake.wait_connected(arg)))
            elif op == "push":  # [(staff, text)], spacing: from the child's own thread
                items, spacing = arg

                def push(items: list[tuple[str, str]] = items, spacing: float = spacing) -> None:
                    for staff_id, text in items:
                        pushed.append(fake.send_text(staff_id, text))
                        time.sleep(spacing)

                pusher = threading.Thread(target=push, daemon=True)
                pusher.start()
                conn.send(None)
            elif op == "pushed":  # wait for the pusher and every frame ACKed
                if pusher is not None:
                    pusher.join()

                async def acked(timeout: float = arg) -> None:
                    for frame in pushed:
                        await fake.wait_acked(frame, timeout)

                asyncio.run(acked())
                conn.send(list(pushed))
            elif op == "results":
                conn.send({
                    "dd_sent": [(m.kind, m.target, m.text, m.at) for m in fake.sent],
                    "tg_sent": [(m["chat"]["id"], m.get("text", "")) for m in api.sent],
                    "acks": {f: fake.frame(f).ack_code for f in pushed},
                    "dd_refused": [r for r in fake.requests()
                                   if r[1] == "/v1.0/robot/groupMessages/send"],
                    "throttled": dict(fake.state.throttled_until),
                })


class FakesProcess:
    """The fake Bot API (limits on) and the fake 钉钉 in a child process (see the module)."""

    def __init__(self, token: str, users: list[tuple[int, str]],
                 staff: list[tuple[str, str]], groups: list[tuple[str, str]] | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, daemon=True,
                                 args=(child, token, users, staff, list(groups or [])))
        self._proc.start()
        child.close()
        self.urls: dict[str, str] = self._conn.recv()
        self._lock = threading.Lock()

    def _call(self, op: str, arg: Any = None) -> Any:
        with self._lock:
            self._conn.send((op, arg))
            return self._conn.recv()

    async def call(self, op: str, arg: Any = None) -> Any:
        """One request to the child, waited for off the loop (the pipe releases the GIL)."""
        return await asyncio.to_thread(self._call, op, arg)

    def close(self) -> None:
        try:
            self._call("stop")
        except (EOFError, OSError):
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
