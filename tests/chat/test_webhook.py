"""Webhook mode at the chat level: the real Application and intake served by
`bot.tg.runner.serve_webhook`, the fake Bot API's `WebhookPoster` playing Telegram (and the
load balancer) — the updates travel over a local socket as they would in production.

What a user sees: an official's report and /tasks are answered; an update Telegram delivers
twice is applied once; the webhook is registered with the secret and never deleted when the
worker stops (other workers still serve it); /healthz tells the balancer the worker serves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig, parse_config
from bot.dingtalk.runtime import serve_both
from bot.domain.ledger import NewTask
from bot.fakeapi.webhook import WebhookPoster
from bot.fakedingtalk import FakeDingTalk
from bot.tg.runner import serve_webhook
from bot.tg.webhook import WebhookServer
from tests.conftest import ADMIN, TZ, ZHANG
from tests.support.harness import TOKEN, Harness

SECRET = "chat-level_webhook-secret"
PUBLIC = "https://luoshi.example.gov.cn/telegram/luoshi"
DEC1 = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


@dataclass
class Worker:
    bot: Harness
    server: WebhookServer
    poster: WebhookPoster
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def answer(self, user_id: int, text: str, expect: str) -> str:
        """The user writes `text`; the texts sent back to them once one contains `expect`."""
        api = self.bot.api
        start = len(api.sent)
        api.send_text(user_id, text)
        await api.wait_for_async(lambda m: m["chat"]["id"] == user_id
                                 and expect in m.get("text", ""), start=start)
        return "\n".join(m.get("text", "") for m in api.sent[start:]
                         if m["chat"]["id"] == user_id)

    async def settled(self) -> None:
        """Every update taken (a 200 came back) and every one of them handled."""
        await asyncio.to_thread(self.poster.wait_idle)
        await self.bot.intake.idle()
        await self.bot.services.background_idle()


def webhook_config(data: Path) -> Config:
    return Config(language="zh",  # type: ignore[arg-type]
                  telegram=TelegramConfig(token=TOKEN, mode="webhook", webhook_url=PUBLIC,
                                          webhook_listen=("127.0.0.1", 0),
                                          webhook_secret=SECRET),
                  access=AccessConfig(admins=frozenset({ADMIN})),
                  storage=StorageConfig(dir=data))




@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[Worker]:
    """A bot in webhook mode on a free port; the fake Telegram posts to it (its `targets`:
    the public URL is not this machine)."""
    async with Harness(tmp_path / "data", now=DEC1,
                       config=webhook_config(tmp_path / "data")) as bot:
        bot.bind("张三", ZHANG)
        bot.ledger.add_task(NewTask(title="世忻铁路复线保德段征地", lead_unit="县自然资源局",
                                    owners=("张三",), deadline=date(2026, 12, 31)),
                            who="admin")
        serving: asyncio.Future[WebhookServer] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        task = asyncio.create_task(serve_webhook(
            bot.app, bot.intake, stop=stop, health=lambda: {"mode": "webhook", "tenant": "x"},
            on_serving=serving.set_result))
        server = await asyncio.wait_for(serving, 10)
        poster = WebhookPoster(bot.api, concurrency=2, seed=16,
                               targets=[f"http://127.0.0.1:{server.port}/telegram/luoshi"])
        with poster:
            # Registered once the Application serves (the poster waits for it).
            await asyncio.to_thread(bot.api.wait_until,
                                    lambda: bool(bot.api.calls_of("setWebhook")))
            running = Worker(bot, server, poster, stop, task)
            try:
                yield running
            finally:
                stop.set()
                await asyncio.wait_for(task, 20)


async def test_an_officials_report_and_tasks_are_answered_through_the_webhook(
        worker: Worker) -> None:
    text = await worker.answer(ZHANG, "进度60%", "60%")
    assert "T0001" in text
    assert worker.bot.ledger.task("T0001").progress == 60
    listing = await worker.answer(ZHANG, "/tasks", "T0001")
    assert "世忻铁路复线保德段征地" in listing
    await worker.settled()
    assert worker.bot.api.call("getWebhookInfo", {})[1]["result"]["pending_update_count"] == 0


async def test_an_update_delivered_twice_is_applied_once(worker: Worker) -> None:
    worker.poster.configure(duplicate_rate=1.0)  # Telegram redelivers every update
    await worker.answer(ZHANG, "进度30%", "30%")
    await worker.answer(ZHANG, "已召开协调会", "T0001")
    await worker.settled()
    ids = [u["update_id"] for u in worker.bot.api.updates]
    for update_id in ids:
        assert [d.status for d in worker.poster.delivered(update_id)] == [200, 200]
    reports = list(worker.bot.ledger.repo.reports())
    assert len(reports) == 2, "each of the two replies recorded once"
    assert worker.bot.ledger.task("T0001").progress == 30


async def test_the_webhook_is_registered_with_its_secret_and_never_deleted(
        worker: Worker) -> None:
    api = worker.bot.api
    [registered] = api.calls_of("setWebhook")
    assert registered["url"] == PUBLIC and registered["secret_token"] == SECRET
    assert sorted(registered["allowed_updates"]) == ["callback_query", "message"]
    assert api.call("getUpdates", {})[0] == 409, "polling is refused while the webhook is set"
    worker.stop.set()
    await asyncio.wait_for(worker.task, 20)
    assert api.calls_of("deleteWebhook") == [], "the other workers still serve it"
    assert api.call("getWebhookInfo", {})[1]["result"]["url"] == PUBLIC


async def test_healthz_says_serving_with_the_callers_fields(worker: Worker) -> None:
    async with httpx.AsyncClient(base_url=worker.url) as client:
        answer = await client.get("/healthz")
        assert answer.status_code == 200
        assert answer.json() == {"ok": True, "state": "serving", "mode": "webhook",
                                 "tenant": "x"}
        refused = await client.post("/telegram/luoshi", content=json.dumps({"update_id": 1}))
        assert refused.status_code == 401


async def test_a_worker_that_answers_500_gets_the_update_again(worker: Worker,
                                                               monkeypatch: Any) -> None:
    """The store failed for the first delivery: Telegram retries until a 200."""
    from bot.domain.ports import PersistenceError

    accept = worker.bot.intake.accept
    failures = [PersistenceError("disk full")]

    async def flaky(raws: Any) -> int:
        if failures:
            raise failures.pop()
        return await accept(raws)

    monkeypatch.setattr(worker.bot.intake, "accept", flaky)
    await worker.answer(ZHANG, "进度45%", "45%")
    await worker.settled()
    [update] = worker.bot.api.updates
    assert [d.status for d in worker.poster.delivered(update["update_id"])] == [500, 200]
    assert len(list(worker.bot.ledger.repo.reports())) == 1


async def test_dingtalk_runs_beside_a_webhook_worker(tmp_path: Path,
                                                     fake: FakeDingTalk) -> None:
    """`run` with both channels in webhook mode: serve_both with serve_webhook as Telegram's
    runner; each channel's message is answered on its own channel."""
    config = parse_config({
        "telegram": {"token": TOKEN, "mode": "webhook", "webhook_url": PUBLIC,
                     "webhook_secret": SECRET},
        "storage": {"dir": str(tmp_path / "data")},
        "access": {"admins": [ADMIN], "dingtalk_admins": ["boss"]},
        "dingtalk": {"client_id": "app", "client_secret": "secret", "robot_code": "robot",
                     "api_base": fake.url},
    })
    async with Harness.from_config(config, now=DEC1) as bot:
        serving: asyncio.Future[WebhookServer] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()

        async def telegram(app: Any, intake: Any, stop: asyncio.Event) -> None:
            await serve_webhook(app, intake, ("127.0.0.1", 0), stop,
                                on_serving=serving.set_result)

        both = asyncio.create_task(serve_both(bot.services, bot.app, bot.intake, stop,
                                              runner=telegram))
        try:
            server = await asyncio.wait_for(serving, 10)
            assert await fake.wait_connected()
            with WebhookPoster(bot.api, concurrency=1,
                               targets=[f"http://127.0.0.1:{server.port}/telegram/luoshi"]):
                await asyncio.to_thread(bot.api.wait_until,
                                        lambda: bool(bot.api.calls_of("setWebhook")))
                start = len(bot.api.sent)
                bot.api.send_text(ADMIN, "/tasks")
                await bot.api.wait_for_async(lambda m: m["chat"]["id"] == ADMIN, start=start)
                fake.send_text("boss", "/tasks")
                await asyncio.to_thread(fake.wait_until, lambda: fake.texts_to("boss"),
                                        what="钉钉's answer")
        finally:
            stop.set()
            await asyncio.wait_for(both, 20)
        assert bot.api.calls_of("deleteWebhook") == []
