"""Leaders, help and the one deadline reader at the application level (issue 14, items 4-5):
/add with a fifth field 责任领导 and the 📨 invite links for whoever is not bound, deadlines in
every usual form in /add, the dialogue and /extend (unusual ones asked about), /mine, /help by
role — on the services with a FakeSender and a RecordingConversation, no Telegram.

Today is Tuesday 1 December 2026 (the `clock` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

import tests.conftest as people
from bot.app import actions, commands, review
from bot.app.conversation import Caller, Press, Said, plain
from bot.domain.model import Person, Task
from bot.services import Services
from tests.support.fake_channel import RecordingConversation
from tests.unit.conftest import LEADER, LI, ZHANG, Actor

ADMIN = Caller(people.ADMIN, "督查室")
OFFICIAL = Caller(people.ZHANG, "张三")
CHEN = Caller(people.LEADER, "陈副县长")
STRANGER = Caller(people.STRANGER, "路人", "passerby")


def said(text: str, *, by: Caller = ADMIN) -> Said:
    return Said(chat_id=by.user_id, message_id=50, text=text, author_id=by.user_id,
                private=True)


def link(code: str) -> str:
    return f"https://t.me/luoshi_bot?start={code}"


def invite_buttons(conversation: RecordingConversation) -> list[str]:
    return [data for row in conversation.said[-1].buttons for _label, data in row]


# ---- /add: the fifth field, who is not bound, the deadline reader -----------------------------


async def test_add_with_a_leader_names_who_is_not_bound_with_an_invite_button(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    line = "/add 中医院迁建项目 | 县卫健局 | 张三、李四 | 2026-12-31 | 陈副县长"
    assert await commands.add_entry(services, ADMIN, said(line), conversation) == "done"
    [task] = services.ledger.repo.tasks()
    assert (task.owners, task.leader, task.deadline) == (("张三", "李四"), "陈副县长",
                                                         date(2026, 12, 31))
    text = conversation.last
    assert "责任领导：陈副县长" in text
    assert "李四、陈副县长 尚未绑定" in text and "张三" not in text.splitlines()[-1]
    assert invite_buttons(conversation) == [actions.invite_data(task.id)]


async def test_add_when_everyone_is_bound_has_no_button(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    bind(LEADER)
    line = "/add 任务甲 | 县发改局 | 张三 | 12月底 | 陈副县长"
    await commands.add_entry(services, ADMIN, said(line), conversation)
    assert "尚未绑定" not in conversation.last
    assert conversation.said[-1].buttons == ()
    # An empty fifth field is no leader.
    await commands.add_entry(services, ADMIN, said("/add 任务乙 | 县发改局 | 张三 | 长期 | "),
                             conversation)
    assert services.ledger.task("T0002").leader == ""


async def test_the_invite_button_gives_links_for_those_not_bound(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    await commands.add_entry(services, ADMIN,
                             said("/add 任务甲 | 县发改局 | 张三、李四 | 一季度 | 陈副县长"),
                             conversation)
    bind(LI)  # bound meanwhile: no link for 李四
    data = actions.invite_data("T0001")
    press = Press(OFFICIAL, data, "q1")
    assert await commands.invite_press(services, conversation, press, link) == plain(
        services.messages.t("button_not_yours"))
    notice = await commands.invite_press(services, conversation, Press(ADMIN, data, "q2"), link)
    assert notice is None
    text = conversation.last
    assert "T0001" in text and "张三：https://t.me/luoshi_bot?start=" in text
    assert "陈副县长：https://t.me/luoshi_bot?start=" in text and "李四" not in text
    # The links work: 张三 binds with his.
    code = text.split("张三：https://t.me/luoshi_bot?start=")[1].split()[0]
    assert services.ledger.redeem_invite(code, people.ZHANG).name == "张三"
    bind(LEADER)
    assert await commands.invite_press(services, conversation, Press(ADMIN, data, "q3"),
                                       link) == services.messages.t("invite_all_bound",
                                                                    id="T0001")


def test_the_invite_action_round_trips() -> None:
    assert actions.invite_target(actions.invite_data("T0001")) == "T0001"
    assert actions.invite_target("INV T0001 x") is None
    assert actions.invite_target("ACT T0001 done") is None
    assert actions.invite_target(None) is None


@pytest.mark.parametrize("written,expected", [
    ("12月底", date(2026, 12, 31)),
    ("月底前", date(2026, 12, 31)),
    ("年底前", date(2026, 12, 31)),
    ("一季度", date(2027, 3, 31)),
    ("一季度末", date(2027, 3, 31)),
    ("下周五", date(2026, 12, 11)),
    ("春节前", date(2027, 2, 4)),
    ("2026年12月31日", date(2026, 12, 31)),
    ("长期", None),
])
async def test_add_reads_every_usual_deadline(services: Services,
                                              conversation: RecordingConversation,
                                              written: str, expected: date | None) -> None:
    await commands.add_entry(services, ADMIN, said(f"/add 任务甲 | 县发改局 | 张三 | {written}"),
                             conversation)
    [task] = services.ledger.repo.tasks()
    assert task.deadline == expected
    assert conversation.last.startswith(plain(services.messages.task_created(task)))


@pytest.mark.parametrize("written", ["2025-01-01", "2026年11月20日", "2030-01-01"])
async def test_add_asks_before_a_past_or_far_deadline(services: Services,
                                                      conversation: RecordingConversation,
                                                      written: str) -> None:
    await commands.add_entry(services, ADMIN, said(f"/add 任务甲 | 县发改局 | 张三 | {written}"),
                             conversation)
    assert list(services.ledger.repo.tasks()) == []
    assert "确认吗" in conversation.last
    assert [data for row in conversation.said[-1].buttons for _l, data in row] == [
        actions.encode(actions.DATE, "add", "ok", ""),
        actions.encode(actions.DATE, "add", "no", "")]


async def test_an_unreadable_deadline_says_what_can_be_written(
        services: Services, conversation: RecordingConversation) -> None:
    await commands.add_entry(services, ADMIN, said("/add 任务甲 | 县发改局 | 张三 | 尽快"),
                             conversation)
    assert "看不懂完成时限“尽快”" in conversation.last and "一季度" in conversation.last
    assert list(services.ledger.repo.tasks()) == []


async def test_the_guided_add_reads_the_same_deadlines(
        services: Services, conversation: RecordingConversation) -> None:
    answers: dict[str, object] = {"title": "中医院迁建项目", "lead_unit": "县卫健局",
                                  "owners": ("张三",)}
    step = await commands.add_answer(services, ADMIN, "deadline", "一季度", answers,
                                     conversation)
    assert step == "done"
    assert services.ledger.task("T0001").deadline == date(2027, 3, 31)
    answers = {"title": "任务乙", "lead_unit": "县卫健局", "owners": ("张三",)}
    step = await commands.add_answer(services, ADMIN, "deadline", "2025-01-01", answers,
                                     conversation)
    assert step == "deadline" and "确认吗" in conversation.last  # asked, by word


# ---- /extend ----------------------------------------------------------------------------------


async def test_extend_reads_the_same_deadlines_and_asks_about_unusual_ones(
        services: Services, conversation: RecordingConversation, task: Task) -> None:
    await review.extend(services, conversation, ADMIN, said(f"/extend {task.id} 一季度末"))
    assert services.ledger.task(task.id).deadline == date(2027, 3, 31)
    await review.extend(services, conversation, ADMIN, said(f"/extend {task.id} 2026-01-01"))
    assert "确认吗" in conversation.last
    assert services.ledger.task(task.id).deadline == date(2027, 3, 31)
    await review.extend(services, conversation, ADMIN, said(f"/extend {task.id} 尽快"))
    assert "看不懂完成时限“尽快”" in conversation.last
    assert conversation.last.endswith(plain(services.messages.t("extend_usage")))


# ---- /mine ------------------------------------------------------------------------------------


async def test_mine_lists_the_tasks_a_leader_leads_with_lights_red_first(
        services: Services, conversation: RecordingConversation,
        make_task: Callable[..., Task], bind: Callable[[Actor], Person]) -> None:
    bind(LEADER)
    later = make_task("职业中学新校区建设", deadline=date(2027, 6, 30))
    overdue = make_task("中医院迁建项目一期工程", deadline=date(2026, 11, 24))
    make_task("乡村振兴示范村创建", leader="王副县长")  # led by someone else
    await commands.mine(services, CHEN, [], conversation)
    lines = conversation.last.splitlines()
    assert lines[0] == "我分管的任务（2 项）"
    assert lines[1].startswith(f"🔴{overdue.id}") and later.id in conversation.last
    assert "乡村振兴" not in conversation.last


async def test_mine_for_others(services: Services, conversation: RecordingConversation,
                               task: Task, bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    await commands.mine(services, OFFICIAL, [], conversation)
    assert conversation.last == plain(services.messages.t("mine_none"))
    await commands.mine(services, ADMIN, ["陈副县长"], conversation)
    assert conversation.last.startswith("陈副县长 分管的任务（1 项）")
    assert task.id in conversation.last
    await commands.mine(services, ADMIN, [], conversation)
    assert conversation.last == plain(services.messages.t("mine_usage"))
    await commands.mine(services, ADMIN, ["王副县长"], conversation)
    assert conversation.last == plain(services.messages.t("mine_none_of", name="王副县长"))
    await commands.mine(services, STRANGER, [], conversation)
    assert conversation.last == plain(services.messages.t("not_registered"))
    # An official cannot look at a leader's tasks by naming them.
    await commands.mine(services, OFFICIAL, ["陈副县长"], conversation)
    assert conversation.last == plain(services.messages.t("mine_none"))


async def test_tasks_points_a_leader_to_mine(services: Services,
                                             conversation: RecordingConversation, task: Task,
                                             bind: Callable[[Actor], Person]) -> None:
    bind(LEADER)
    await commands.list_tasks(services, CHEN, [], conversation)
    assert conversation.last == plain(services.messages.t("tasks_none") + "\n"
                                      + services.messages.t("tasks_lead_hint", count=1))


# ---- /help by role ------------------------------------------------------------------------------


async def test_help_differs_by_role(services: Services, conversation: RecordingConversation,
                                    task: Task, bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    bind(LEADER)
    msgs = services.messages
    for caller, key in ((ADMIN, "help_admin"), (CHEN, "help_leader"),
                        (OFFICIAL, "help_official"), (STRANGER, "not_registered")):
        await commands.help_command(services, caller, conversation)
        assert conversation.last == plain(msgs.t(key)), key
    official = plain(msgs.t("help_official"))
    for example in ("进度60%", "已完成", "困难：", "申请延期至"):
        assert example in official
    assert "/mine" in plain(msgs.t("help_leader")) and "/mine" in plain(msgs.t("help_admin"))
