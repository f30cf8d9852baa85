"""钉钉 buttons that read a message again (issue 15), end to end: the real services on a real
store, the 钉钉 runtime against the fake 钉钉 on sockets. Which task a plain report was about
(PICK), 确认交账？ (SURE) and an unusual date in /add (DATE) work as on Telegram: the button
names the message it is about, found again in the inbox — never in the pressed text; the
same text sent by someone else, a forged or garbled reference and a forgotten message are
refused (bot/dingtalk/inbound.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from bot.adapters.inbox import INBOX
from bot.dingtalk.render import SEND_URL
from bot.dingtalk.runtime import DingTalkRuntime
from bot.domain.model import TaskStatus
from bot.fakedingtalk import FakeDingTalk
from bot.services import Services


async def _say(fake: FakeDingTalk, runtime: DingTalkRuntime, staff: str, text: str,
               **kw: Any) -> None:
    frame = fake.send_text(staff, text, **kw)
    assert await fake.wait_acked(frame)
    await runtime.intake.idle()


async def _press(fake: FakeDingTalk, runtime: DingTalkRuntime, staff: str, url: str) -> str:
    """The person taps the link; returns the last thing the robot said to them."""
    frame = fake.press_link(staff, url)
    assert await fake.wait_acked(frame)
    await runtime.intake.idle()
    return fake.texts_to(staff)[-1]


def _deadline() -> str:
    return (date.today() + timedelta(days=120)).isoformat()


async def _two_tasks(fake: FakeDingTalk, runtime: DingTalkRuntime,
                     services: Services) -> list[str]:
    for title in ("世忻铁路复线征地", "县城污水管网改造"):
        await _say(fake, runtime, "boss", f"/add {title} | 县自然资源局 | 张三 | {_deadline()}")
    await _say(fake, runtime, "boss", "/invite 张三 县自然资源局")
    code = re.search(r"绑定 ([^\s”]+)", fake.texts_to("boss")[-1])
    assert code is not None
    await _say(fake, runtime, "zhang3", f"绑定 {code.group(1)}")
    return sorted(t.id for t in services.ledger.repo.tasks())


def _buttons(fake: FakeDingTalk, staff: str) -> list[tuple[str, str]]:
    [*_, last] = [m for m in fake.messages_to(staff) if m.buttons]
    return last.buttons


async def test_which_task_a_plain_report_was_about(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime]) -> None:
    services, runtime = running
    first, second = await _two_tasks(fake, runtime, services)
    await _say(fake, runtime, "zhang3", "进度70%，已完成入户调查")
    buttons = _buttons(fake, "zhang3")
    url = next(u for label, u in buttons if second in label)
    assert "%E2%86%A9" in url, "the button names the message it is about"  # ↩

    # Someone else sending the same text (from their own chat) is refused.
    refused = await _press(fake, runtime, "li4", url)
    assert refused.startswith(services.messages.t("button_not_yours")), refused
    assert services.ledger.task(second).progress != 70

    await _press(fake, runtime, "zhang3", url)
    assert services.ledger.task(second).progress == 70
    assert services.ledger.task(first).progress != 70
    reports = [r for r in services.ledger.repo.reports() if r.task_id == second]
    assert len(reports) == 1
    again = await _press(fake, runtime, "zhang3", url)  # pressed again: recorded once
    reports = [r for r in services.ledger.repo.reports() if r.task_id == second]
    assert len(reports) == 1, again
    assert not [r for r in services.ledger.repo.reports() if r.task_id == first]


async def test_a_forged_or_forgotten_reference_is_refused(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime]) -> None:
    services, runtime = running
    _first, second = await _two_tasks(fake, runtime, services)
    msgs = services.messages
    garbled = SEND_URL + quote(f"{second}〔↩not a msgId!〕〔PICK {second}〕", safe="")
    assert await _press(fake, runtime, "zhang3", garbled) == msgs.t("button_unknown")
    unknown = SEND_URL + quote(f"{second}〔↩msg0000〕〔PICK {second}〕", safe="")
    assert await _press(fake, runtime, "zhang3", unknown) == msgs.t("button_message_gone")

    await _say(fake, runtime, "zhang3", "进度70%，已完成入户调查")
    url = next(u for label, u in _buttons(fake, "zhang3") if second in label)
    # The message forgotten (older than 48 h: the inbox dropped it): said so, nothing done.
    store = services.inbox.store if services.inbox is not None else None
    assert store is not None
    kept = [key for key, doc in store.all(INBOX).items() if "kept" in doc]
    assert len(kept) == 1
    store.commit([(INBOX, kept[0], None)])
    gone = await _press(fake, runtime, "zhang3", url)
    assert gone.startswith(msgs.t("button_message_gone")), gone
    assert services.ledger.task(second).progress != 70


async def test_confirm_a_completion(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime]) -> None:
    services, runtime = running
    first, _second = await _two_tasks(fake, runtime, services)
    await _say(fake, runtime, "zhang3", f"{first} 方案已制定完成")
    buttons = _buttons(fake, "zhang3")
    assert "确认交账" in fake.texts_to("zhang3")[-1], fake.texts_to("zhang3")[-1]
    sure = next(u for label, u in buttons if "确认交账" in label)
    refused = await _press(fake, runtime, "li4", sure)
    assert refused.startswith(services.messages.t("button_not_yours")), refused
    assert services.ledger.task(first).status is TaskStatus.OPEN
    await _press(fake, runtime, "zhang3", sure)
    assert services.ledger.task(first).status is TaskStatus.SUBMITTED


async def test_an_unusual_date_confirmed(
        fake: FakeDingTalk, running: tuple[Services, DingTalkRuntime]) -> None:
    services, runtime = running
    await _say(fake, runtime, "boss", "/add 旧账补录 | 县自然资源局 | 张三 | 2020-01-01")
    assert not list(services.ledger.repo.tasks())
    ok = next(u for label, u in _buttons(fake, "boss") if "确认" in label)
    # Not theirs: another chat, another author.
    refused = await _press(fake, runtime, "zhang3", ok)
    assert refused.startswith(services.messages.t("button_not_yours")), refused
    assert not list(services.ledger.repo.tasks())
    await _press(fake, runtime, "boss", ok)
    [task] = list(services.ledger.repo.tasks())
    assert task.title == "旧账补录" and task.deadline == date(2020, 1, 1)
