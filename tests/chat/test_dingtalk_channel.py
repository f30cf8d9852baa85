"""钉钉 end to end in one process: the real services on a real store, the 钉钉 runtime
(bot/dingtalk/runtime.py: client, sender, Stream, inbound, inbox) against the fake 钉钉 on
local sockets. An admin's /tasks, /add and /invite; an official binds by "绑定 CODE" and
reports 进度60%; an action-card button 已完成 makes the task 待核账; the same frame twice is
applied once; a handler that fails before the ACK is delivered again and applied once."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import date, timedelta
from typing import Any

import pytest

from bot.dingtalk.runtime import DingTalkRuntime
from bot.dingtalk.stream import ROBOT_MESSAGE_TOPIC
from bot.domain.model import TaskStatus
from bot.domain.ports import Change
from bot.fakedingtalk import FakeDingTalk
from bot.services import Services


async def _say(fake: FakeDingTalk, runtime: DingTalkRuntime, staff: str, text: str,
               **kw: Any) -> None:
    frame = fake.send_text(staff, text, **kw)
    assert await fake.wait_acked(frame)
    await runtime.intake.idle()


def _deadline() -> str:
    return (date.today() + timedelta(days=120)).isoformat()


async def test_admin_official_report_and_button(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime]) -> None:
    services, runtime = running
    await _say(fake, runtime, "boss", "/tasks")
    assert fake.texts_to("boss"), "the admin is answered"
    await _say(fake, runtime, "boss",
               f"/add 世忻铁路复线征地 | 县自然资源局 | 张三 | {_deadline()}")
    [task] = list(services.ledger.repo.tasks())
    await _say(fake, runtime, "boss", "/add")
    assert "一次写全" in fake.texts_to("boss")[-1]
    await _say(fake, runtime, "boss", "/invite 张三 县自然资源局")
    invite = fake.texts_to("boss")[-1]
    code = re.search(r"绑定 ([^\s”]+)", invite)
    assert code is not None, invite
    await _say(fake, runtime, "zhang3", f"绑定 {code.group(1)}")
    assert fake.texts_to("zhang3"), "the official is greeted"
    person = services.ledger.repo.get_person("张三")
    assert person is not None and person.accounts

    # Overdue on the next workday: the dispatch reaches the official on 钉钉, dated.
    day = services.clock.today()
    while not services.calendar.is_workday(day):
        day += timedelta(days=1)
    overdue = dataclasses.replace(services.ledger.task(task.id),
                                  deadline=day - timedelta(days=3))
    services.ledger.repo.commit(Change(tasks=[overdue]))
    report = await services.rhythm().run(day)
    assert report.sent == 1, report
    sent = [m for m in fake.messages_to("zhang3") if m.buttons]
    # NOTE: the single-task reminder does not carry the day's date yet (issue 15 item 3
    # wants it: 钉钉 drops identical text to the same person within a day).
    assert sent and "督办" in sent[-1].text and task.id in sent[-1].text

    await _say(fake, runtime, "zhang3", f"{task.id} 进度60%，已完成征地公告")
    assert services.ledger.task(task.id).progress == 60

    # The reminder's button 已完成 comes back as a robot message: 待核账.
    done = next(url for label, url in sent[-1].buttons if "已完成" in label)
    frame = fake.press_link("zhang3", done)
    assert await fake.wait_acked(frame)
    await runtime.intake.idle()
    assert services.ledger.task(task.id).status is TaskStatus.SUBMITTED


async def test_the_same_frame_twice_is_applied_once(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime]) -> None:
    services, runtime = running
    await _say(fake, runtime, "boss", f"/add 征地 | 县自然资源局 | 张三 | {_deadline()}")
    [task] = list(services.ledger.repo.tasks())
    await _say(fake, runtime, "boss", "/invite 张三")
    code = re.search(r"绑定 ([^\s”]+)", fake.texts_to("boss")[-1])
    assert code is not None
    await _say(fake, runtime, "zhang3", f"绑定 {code.group(1)}")
    frame = fake.send_text("zhang3", f"{task.id} 进度30%")
    assert await fake.wait_acked(frame)
    data = fake.frame(frame).data
    await runtime.intake(ROBOT_MESSAGE_TOPIC, data)  # delivered again
    await runtime.intake.idle()
    reports = [r for r in services.ledger.repo.reports() if r.task_id == task.id]
    assert len(reports) == 1 and runtime.intake.redelivered == 1


async def test_a_failure_before_the_ack_is_redelivered_and_applied_once(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime],
        monkeypatch: pytest.MonkeyPatch) -> None:
    services, runtime = running
    await _say(fake, runtime, "boss", f"/add 征地 | 县自然资源局 | 张三 | {_deadline()}")
    [task] = list(services.ledger.repo.tasks())
    await _say(fake, runtime, "boss", "/invite 张三")
    code = re.search(r"绑定 ([^\s”]+)", fake.texts_to("boss")[-1])
    assert code is not None
    await _say(fake, runtime, "zhang3", f"绑定 {code.group(1)}")

    intake = runtime.intake
    original = intake._enqueue
    calls = {"n": 0}

    def crash_once(key: str | None, data: dict[str, Any], *, reanswer: bool) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("crash after storing, before the ACK")
        original(key, data, reanswer=reanswer)

    monkeypatch.setattr(intake, "_enqueue", crash_once)
    frame = fake.send_text("zhang3", f"{task.id} 进度45%")
    for _ in range(100):
        if fake.frame(frame).ack_code is not None:
            break
        await asyncio.sleep(0.02)
    assert fake.frame(frame).ack_code == 500
    assert fake.drop_stream()
    assert await fake.wait_acked(frame)  # delivered again on the next connection
    await intake.idle()
    reports = [r for r in services.ledger.repo.reports() if r.task_id == task.id]
    assert len(reports) == 1 and services.ledger.task(task.id).progress == 45
