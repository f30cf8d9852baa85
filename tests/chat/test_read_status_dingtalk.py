"""已送达未读 against the fake 钉钉 on local sockets (issue 15 item 3): a reminder dispatched
on 钉钉 keeps its processQueryKey in the outbox on the real store; after a restart (a new
store handle, a new runtime and so a new sender that remembers nothing) the next workday's
question is asked with that key, the daily summary lists the reminder as unread, and once
the official opens it (`mark_read`) it is no longer listed."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

from bot.bootstrap import bootstrap
from bot.config import Config, parse_config
from bot.dingtalk.runtime import DingTalkRuntime
from bot.domain.ledger import NewTask
from bot.domain.model import DINGTALK, Address, DeliveryStatus, Person
from bot.domain.ports import Change
from bot.fakedingtalk import FakeDingTalk
from bot.services import Services
from jobs.read_status import note_read_status
from jobs.summary import daily_summary


def _config(fake: FakeDingTalk, tmp_path: Path) -> Config:
    return parse_config({
        "storage": {"dir": str(tmp_path / "data")},
        "access": {"dingtalk_admins": ["boss"]},
        "dingtalk": {"client_id": "app", "client_secret": "secret", "robot_code": "robot",
                     "api_base": fake.url},
    }, require_token=False)


async def _start(config: Config) -> tuple[Services, DingTalkRuntime]:
    services = bootstrap(config)
    runtime = DingTalkRuntime(services)
    services.connect(runtime.sender)
    return services, runtime


async def _stop(services: Services, runtime: DingTalkRuntime) -> None:
    await runtime.close()
    await services.background_idle()
    if services.close is not None:
        services.close()


def _workday_from(services: Services, day: date) -> date:
    while not services.calendar.is_workday(day):
        day += timedelta(days=1)
    return day


async def test_unread_after_a_restart_then_read(tmp_path: Path) -> None:
    with FakeDingTalk(client_id="app", client_secret="secret", robot_code="robot") as fake:
        fake.add_staff("boss", "督查室王主任")
        fake.add_staff("zhang3", "张三")
        config = _config(fake, tmp_path)
        services, runtime = await _start(config)
        try:
            services.ledger.seed_people([Person("张三", unit="县自然资源局",
                                                accounts=(Address(DINGTALK, "zhang3"),))])
            day = _workday_from(services, services.clock.today() + timedelta(days=1))
            task = services.ledger.add_task(NewTask(
                title="世忻铁路复线征地", lead_unit="县自然资源局", owners=("张三",),
                deadline=day + timedelta(days=30)), who="admin")
            overdue = dataclasses.replace(services.ledger.task(task.id),
                                          deadline=day - timedelta(days=3))
            services.ledger.repo.commit(Change(tasks=[overdue]))
            report = await services.rhythm().run(day)
            assert report.sent == 1, report
            [entry] = [e for e in services.ledger.deliveries_of(day) if e.person == "张三"]
            [sent] = [m for m in fake.messages_to("zhang3") if task.id in m.text]
            assert entry.status is DeliveryStatus.SENT and entry.channel == DINGTALK
            assert entry.receipt == sent.process_query_key  # kept with the send's record
        finally:
            await _stop(services, runtime)

        # A restart: the new sender has never seen the message; the store has its key.
        services, runtime = await _start(config)
        try:
            assert runtime.sender.process_query_key(entry.message_id or 0) is None
            after = _workday_from(services, day + timedelta(days=1))
            check = await note_read_status(services.ledger.repo, services.ledger,
                                           services.sender, day)
            assert check.asked == 1 and [e.person for e in check.unread] == ["张三"]
            summary = daily_summary(services, after)
            assert "已送达未读 1 条" in summary and f"张三（{task.id}）" in summary

            fake.mark_read(sent)
            check = await note_read_status(services.ledger.repo, services.ledger,
                                           services.sender, day)
            assert check.asked == 1 and check.unread == []
            assert "已送达未读" not in daily_summary(services, after)
        finally:
            await _stop(services, runtime)
