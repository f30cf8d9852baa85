"""The bot as officials and admins use it, through PTB with a fake Bot API transport."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.domain.ledger import NewTask
from bot.domain.model import TaskStatus
from tests.chat.conftest import OpenBot
from tests.conftest import ADMIN, DEC1, LI, STRANGER, WANG, ZHANG
from tests.support.harness import Harness

OFFICIAL = ZHANG  # 张三, not bound unless a test binds them


@pytest.fixture
async def bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    async with open_bot(bound=()) as harness:
        harness.api.add_user(OFFICIAL, "张三")
        harness.api.add_user(STRANGER, "路人")
        yield harness


async def bind(bot: Harness, user_id: int, name: str, unit: str = "县自然资源局") -> str:
    text = await bot.answer(ADMIN, f"/invite {name} {unit}")
    match = re.search(r"https://t\.me/luoshi_test_bot\?start=([\w-]+)", text)
    assert match, text
    return await bot.answer(user_id, f"/start {match.group(1)}")


async def test_admin_adds_a_task_in_one_line(bot: Harness) -> None:
    text = await bot.answer(ADMIN,
                            "/add 世忻铁路复线保德段征地 | 县自然资源局 | 张三、李四 | 2026-12-31")
    assert "T0001" in text and "世忻铁路复线保德段征地" in text
    assert "12月31日（周四）" in text
    task = bot.ledger.task("T0001")
    assert task.owners == ("张三", "李四") and task.lead_unit == "县自然资源局"
    assert task.status is TaskStatus.OPEN


async def test_full_width_bar_and_chinese_date(bot: Harness) -> None:
    text = await bot.answer(ADMIN,
                            "/add 中医院迁建项目一期工程｜县卫健局｜吴九，郑十｜2027年3月31日")
    assert "T0001" in text
    assert bot.ledger.task("T0001").deadline.isoformat() == "2027-03-31"


@pytest.mark.parametrize("command,expect", [
    ("/add 只有任务名", "应为 4 项"),
    ("/add a | b | c | d | e | f", "应为 4 项"),  # a fifth part is the 责任领导
    ("/add 任务 | 单位 | 张三 | 尽快", "看不懂完成时限"),
    ("/add 任务 |  | 张三 | 2026-12-31", "牵头单位"),
    ("/add 任务 | 单位 | ， | 2026-12-31", "责任人"),
])
async def test_malformed_add_explains_the_form_and_creates_nothing(bot: Harness, command: str,
                                                                   expect: str) -> None:
    text = await bot.answer(ADMIN, command)
    assert expect in text
    assert "例" in text  # an example of the right form
    assert list(bot.ledger.repo.tasks()) == []


async def test_guided_add_dialogue_checks_each_answer(bot: Harness) -> None:
    assert "第 1/4 步" in await bot.answer(ADMIN, "/add")
    assert "第 2/4 步" in await bot.answer(ADMIN, "职业中学新校区建设")
    assert "第 3/4 步" in await bot.answer(ADMIN, "县教育局")
    assert "第 4/4 步" in await bot.answer(ADMIN, "周五、钱六")
    retry = await bot.answer(ADMIN, "尽快")
    assert "看不懂完成时限" in retry and "重新发送" in retry
    done = await bot.answer(ADMIN, "12月31日")
    assert "T0001" in done
    task = bot.ledger.task("T0001")
    assert (task.title, task.lead_unit, task.owners) == ("职业中学新校区建设", "县教育局",
                                                         ("周五", "钱六"))


async def test_guided_add_can_be_cancelled(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add")
    await bot.answer(ADMIN, "某项任务")
    assert "已取消" in await bot.answer(ADMIN, "取消")
    assert list(bot.ledger.repo.tasks()) == []
    # After cancelling, plain text is no longer taken as an answer.
    assert "T0001" not in await bot.answer(ADMIN, "县教育局")


async def test_invite_binds_and_greets_with_open_tasks(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三 | 2026-12-31")
    greeting = await bind(bot, OFFICIAL, "张三")
    assert "绑定成功" in greeting and "T0001" in greeting
    person = bot.ledger.person_for_user(OFFICIAL)
    assert person is not None and person.name == "张三"
    # The code is single use.
    link_text = await bot.answer(ADMIN, "/invite 李四 县教育局")
    code = re.search(r"start=([\w-]+)", link_text).group(1)  # type: ignore[union-attr]
    await bot.answer(STRANGER, f"/start {code}")
    bot.api.add_user(3002, "另一人")
    assert "已被使用" in await bot.answer(3002, f"/start {code}")


async def test_wrong_and_expired_codes_get_clear_answers(bot: Harness) -> None:
    assert "邀请码无效" in await bot.answer(STRANGER, "/start not-a-code")
    text = await bot.answer(ADMIN, "/invite 李四")
    code = re.search(r"start=([\w-]+)", text).group(1)  # type: ignore[union-attr]
    bot.clock.advance(timedelta(days=7, minutes=1))
    assert "已过期" in await bot.answer(STRANGER, f"/start {code}")
    assert bot.ledger.person_for_user(STRANGER) is None


async def test_strangers_see_no_data(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 机密任务 | 县发改局 | 张三 | 2026-12-31")
    for command in ("/start", "/tasks", "/task T0001", "/people", "/add x|y|z|长期", "你好"):
        text = await bot.answer(STRANGER, command)
        assert "未登记" in text, command
        assert "机密任务" not in text


async def test_officials_cannot_run_admin_commands(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三 | 2026-12-31")
    await bind(bot, OFFICIAL, "张三")
    for command in ("/add a | b | c | 长期", "/cancel T0001", "/invite 王五", "/people",
                    "/remind T0001"):
        assert "仅限督查室" in await bot.answer(OFFICIAL, command), command
    assert len(list(bot.ledger.repo.tasks())) == 1
    assert bot.ledger.task("T0001").status is TaskStatus.OPEN


async def test_officials_see_only_their_own_tasks(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三 | 2026-12-31")
    await bot.answer(ADMIN, "/add 吉港冠宇水泥技改 | 县工信局 | 王五 | 2026-12-20")
    await bind(bot, OFFICIAL, "张三")
    mine = await bot.answer(OFFICIAL, "/tasks")
    assert "T0001" in mine and "T0002" not in mine
    assert "没有找到任务 T0002" in await bot.answer(OFFICIAL, "/task T0002")
    assert "世忻铁路复线征地" in await bot.answer(OFFICIAL, "/task t1")


async def test_admin_tasks_filter_by_unit(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三 | 2026-12-31")
    await bot.answer(ADMIN, "/add 吉港冠宇水泥技改 | 县工信局 | 王五 | 2026-12-20")
    both = await bot.answer(ADMIN, "/tasks")
    assert both.index("T0002") < both.index("T0001")  # nearer deadline first
    only = await bot.answer(ADMIN, "/tasks 县工信局")
    assert "T0002" in only and "T0001" not in only
    assert "已有单位" in await bot.answer(ADMIN, "/tasks 县不存在局")


async def test_task_detail_shows_history(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三 | 2026-12-31")
    await bot.answer(ADMIN, "/cancel T0001 并入其他任务")
    text = await bot.answer(ADMIN, "/task T0001")
    assert "已撤销" in text and "建账" in text and "并入其他任务" in text
    assert "还剩 34 天" in text


async def test_cancel_and_bad_ids(bot: Harness) -> None:
    assert "用法：/cancel" in await bot.answer(ADMIN, "/cancel")
    assert "没有找到任务 T0009" in await bot.answer(ADMIN, "/cancel T0009")
    await bot.answer(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 长期")
    assert "已撤销" in await bot.answer(ADMIN, "/cancel T0001")
    assert "无需再次撤销" in await bot.answer(ADMIN, "/cancel T0001")


async def test_remind_reaches_bound_owners_and_reports_the_rest(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三、李四 | 2026-12-31")
    await bind(bot, OFFICIAL, "张三")
    sent = await bot.say(ADMIN, "/remind T0001")
    to_official = [m["text"] for m in sent if m["chat"]["id"] == OFFICIAL]
    assert len(to_official) == 1
    assert "T0001" in to_official[0] and "回复" in to_official[0]
    to_admin = "\n".join(m["text"] for m in sent if m["chat"]["id"] == ADMIN)
    assert "已催办" in to_admin and "张三" in to_admin and "未绑定" in to_admin
    assert "李四" in to_admin
    assert [h.action for h in bot.ledger.repo.history("T0001")] == ["created", "remind"]


async def test_remind_to_blocked_official_is_reported(bot: Harness) -> None:
    await bot.answer(ADMIN, "/add 世忻铁路复线征地 | 县自然资源局 | 张三 | 2026-12-31")
    await bind(bot, OFFICIAL, "张三")
    bot.api.block(OFFICIAL)
    text = await bot.answer(ADMIN, "/remind T0001")
    assert "未能催办" in text and "无法送达" in text


async def test_user_text_is_escaped(bot: Harness) -> None:
    text = await bot.answer(ADMIN, "/add <b>x</b> *_[ | 县&局 | 张三 | 长期")
    assert "<b>x</b> *_[" in text  # shown literally, not as bold
    sent = bot.api.sent[-1]
    assert not any(e.get("type") == "bold" and sent["text"][e["offset"]:][:1] == "x"
                   for e in sent.get("entities", []))


async def test_long_answers_are_split(bot: Harness) -> None:
    for i in range(60):
        bot.ledger.add_task(
            NewTask(
                title=f"重点项目{i:02d}" + "建设" * 40, lead_unit="县发改局", owners=("张三",),
                deadline=None),
            who="a")
    sent = await bot.say(ADMIN, "/tasks")
    assert len(sent) >= 2
    assert all(len(m["text"]) <= 4096 for m in sent)


async def test_help_is_per_role(bot: Harness) -> None:
    assert "/invite" in await bot.answer(ADMIN, "/help")
    await bind(bot, OFFICIAL, "张三")
    official_help = await bot.answer(OFFICIAL, "/help")
    assert "/tasks" in official_help and "/invite" not in official_help


async def test_commands_menu_registered(bot: Harness) -> None:
    calls = bot.api.calls_of("setMyCommands")
    assert any(c.get("scope", {}).get("type") == "chat" for c in calls)
    assert any("scope" not in c or c["scope"].get("type") == "default" for c in calls)


async def test_unknown_command_gets_help(bot: Harness) -> None:
    assert "/help" in await bot.answer(ADMIN, "/foo")


async def test_failed_save_is_not_confirmed(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    text = await bot.answer(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 长期")
    monkeypatch.undo()
    assert "未能保存" in text and "T0001" not in text
    assert list(bot.ledger.repo.tasks()) == []
    assert "T0001" in await bot.answer(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 长期")


async def test_english_language(tmp_path: Path) -> None:
    async with Harness(tmp_path / "en", language="en") as bot:
        text = await bot.answer(ADMIN, "/add Rail land | Land Bureau | Zhang San | 2026-12-31")
        assert "Opened" in text and "T0001" in text and "Thu 31 Dec 2026" in text


async def test_redelivered_update_is_not_applied_twice(bot: Harness) -> None:
    """Telegram redelivers an update whose offset was not confirmed before a crash."""
    await bot.answer(ADMIN, "/add 任务甲 | 县发改局 | 张三 | 长期")
    raw = bot.api.updates[-1]
    assert await bot.intake.accept([raw]) == 0  # recognised: not handled again
    await bot.intake.idle()
    assert [t.id for t in bot.ledger.repo.tasks()] == ["T0001"]


# ---- /people: names, units and binding state ------------------------------------------------


@pytest.fixture
async def staffed_bot(open_bot: OpenBot) -> AsyncIterator[Harness]:
    """张三 (县发改局) and 李四 (县教育局) bound."""
    async with open_bot(now=DEC1, bound=(ZHANG, LI),
                        units={ZHANG: "县发改局", LI: "县教育局"}) as harness:
        yield harness


async def test_people_lists_names_units_and_binding_state(staffed_bot: Harness) -> None:
    bot = staffed_bot
    invite = await bot.answer(ADMIN, "/invite 王五 县财政局")
    code = re.search(r"start=([\w-]+)", invite)
    assert code, invite
    bot.ledger.add_task(NewTask(title="农村公路养护", lead_unit="县交通局", owners=("赵六",),
                                deadline=date(2026, 12, 31)), who="admin")  # never invited

    text = await bot.answer(ADMIN, "/people")
    assert "人员（4 人，已绑定 2 人）" in text
    assert "张三（县发改局）✅ 已绑定" in text
    assert "李四（县教育局）✅ 已绑定" in text
    assert "王五（县财政局）⏳ 未绑定" in text
    assert "赵六（县交通局）⏳ 未绑定" in text

    # Once 王五 opens the invite link, /people shows them bound.
    bot.api.add_user(WANG, "王五")
    assert "绑定成功" in await bot.answer(WANG, f"/start {code.group(1)}")
    text = await bot.answer(ADMIN, "/people")
    assert "人员（4 人，已绑定 3 人）" in text
    assert "王五（县财政局）✅ 已绑定" in text
    assert "赵六（县交通局）⏳ 未绑定" in text


async def test_people_is_refused_to_officials(staffed_bot: Harness) -> None:
    bot = staffed_bot
    text = await bot.answer(ZHANG, "/people")
    assert "仅限督查室" in text and "李四" not in text
