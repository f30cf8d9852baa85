"""The commands at the application level (bot/app/commands.py), with no channel: the services
over the FakeRepository, a FakeSender for what others are told, a RecordingConversation for
what the caller is answered. What is asserted is what a user would notice: the text said,
the buttons under it, what others received, the ledger afterwards.

The same commands through Telegram (fake Bot API, ForceReply, quotes, the dialogue's states)
are in tests/chat/test_handlers.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest

import tests.conftest as people
from bot.app import commands
from bot.app.actions import DATE, REBIND, decode, encode
from bot.app.common import guarded
from bot.app.conversation import Caller, Said, plain
from bot.domain.ledger import NewTask
from bot.domain.model import Person, Task, TaskStatus
from bot.services import Services
from tests.support.fake_channel import FakeSender, RecordingConversation
from tests.support.fakes import FakeRepository
from tests.unit.conftest import LI, ZHANG, Actor

ADMIN = Caller(people.ADMIN, "督查室")
OFFICIAL = Caller(people.ZHANG, "张三")
OTHER_OFFICIAL = Caller(people.LI, "李四")
STRANGER = Caller(people.STRANGER, "路人", "passerby")


def said(text: str, *, by: Caller = ADMIN, chat_id: int | None = None, message_id: int = 50,
         private: bool = True, reply_to: Said | None = None) -> Said:
    """A message as a channel gives it (in the caller's private chat unless told)."""
    return Said(chat_id=by.user_id if chat_id is None else chat_id, message_id=message_id,
                text=text, author_id=by.user_id, private=private, reply_to=reply_to)


def open_task(services: Services, title: str = "世忻铁路复线保德段征地",
              owners: tuple[str, ...] = ("张三",), deadline: date = date(2026, 12, 31)) -> Task:
    return services.ledger.add_task(NewTask(title=title, lead_unit="县自然资源局",
                                            owners=owners, deadline=deadline), who="督查室")


def titles(services: Services) -> list[str]:
    return [task.title for task in services.ledger.repo.tasks()]


def msgs_t(services: Services, key: str, **params: object) -> str:
    """A catalogue text as the user reads it."""
    return plain(services.messages.t(key, **params))


# ---- who may --------------------------------------------------------------------------------


async def test_a_stranger_learns_nothing(services: Services,
                                         conversation: RecordingConversation) -> None:
    open_task(services)
    await commands.list_tasks(services, STRANGER, [], conversation)
    await commands.show_task(services, STRANGER, ["T0001"], conversation)
    await commands.help_command(services, STRANGER, conversation)
    await commands.start(services, STRANGER, [], conversation)
    not_registered = plain(services.messages.t("not_registered"))
    assert conversation.texts == [not_registered] * 4
    assert "世忻铁路" not in "".join(conversation.texts)


@pytest.mark.parametrize("command", ["add", "invite", "people", "cancel", "remind",
                                     "dispatch", "plan"])
async def test_admin_commands_are_refused_to_everyone_else(
        services: Services, sender: FakeSender, bind: Callable[[Actor], Person],
        command: str) -> None:
    task = open_task(services)
    bind(ZHANG)
    msgs = services.messages
    for caller, answer in ((OFFICIAL, "admin_only"), (STRANGER, "not_registered")):
        conversation = RecordingConversation()
        args = [task.id, "理由"]
        if command == "add":
            step = await commands.add_entry(services, caller,
                                            said("/add 任务乙 | 县发改局 | 张三 | 长期", by=caller),
                                            conversation)
            assert step == commands.DONE  # no dialogue either
        elif command == "invite":
            await commands.invite(services, caller, ["王五"], conversation, lambda code: code)
        elif command == "people":
            await commands.people(services, caller, conversation)
        elif command == "cancel":
            await commands.cancel_task(services, caller, args, conversation)
        elif command == "remind":
            await commands.remind(services, caller, args, conversation)
        elif command == "dispatch":
            await commands.dispatch_now(services, caller, said("/dispatch", by=caller),
                                        conversation)
        else:
            await commands.plan_preview(services, caller, [], conversation)
        assert conversation.texts == [msgs.t(answer)]
    await services.background_idle()
    assert sender.sent == []  # nobody was told anything
    assert titles(services) == ["世忻铁路复线保德段征地"]
    assert services.ledger.task(task.id).status is TaskStatus.OPEN
    assert services.ledger.repo.get_person("王五") is None


async def test_help_is_per_role(services: Services, conversation: RecordingConversation,
                                bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    for caller in (ADMIN, OFFICIAL, STRANGER):
        await commands.help_command(services, caller, conversation)
    msgs = services.messages
    assert conversation.texts == [plain(msgs.t(key)) for key in
                                  ("help_admin", "help_official", "not_registered")]


# ---- /tasks and /task -------------------------------------------------------------------------


async def test_officials_see_their_own_tasks_only(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    open_task(services, "张三的任务")
    open_task(services, "李四的任务", owners=("李四",))
    bind(ZHANG)
    await commands.list_tasks(services, OFFICIAL, ["县自然资源局"], conversation)
    [listing] = conversation.texts
    assert "张三的任务" in listing and "李四的任务" not in listing  # a unit filter is admins'


async def test_admins_filter_tasks_by_unit(services: Services,
                                           conversation: RecordingConversation) -> None:
    open_task(services)
    await commands.list_tasks(services, ADMIN, ["县教育局"], conversation)
    await commands.list_tasks(services, ADMIN, ["县自然资源局"], conversation)
    missing, found = conversation.texts
    assert "“县教育局”没有在办任务" in missing and "县自然资源局" in missing  # the units there are
    assert "世忻铁路复线保德段征地" in found


async def test_an_officials_task_of_someone_else_is_not_found(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    task = open_task(services)
    bind(ZHANG)
    bind(LI)
    await commands.show_task(services, OTHER_OFFICIAL, [task.id.lower()], conversation)
    assert conversation.texts == [services.messages.t("task_not_found", id=task.id)]
    assert "世忻铁路" not in conversation.last
    assert conversation.said[-1].buttons == ()


async def test_an_owner_sees_the_task_with_the_report_buttons(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    task = open_task(services)
    bind(ZHANG)
    await commands.show_task(services, OFFICIAL, [task.id], conversation)
    await commands.show_task(services, ADMIN, [task.id], conversation)
    await commands.show_task(services, ADMIN, [], conversation)
    owner, admin, usage = conversation.said
    assert "世忻铁路复线保德段征地" in plain(owner.text)
    assert owner.buttons == services.messages.task_buttons(task.id)
    assert plain(admin.text) == plain(owner.text) and admin.buttons == ()  # admins don't report
    assert plain(usage.text) == services.messages.t("task_usage")


# ---- 建账: /add -------------------------------------------------------------------------------


async def test_add_in_one_line_creates_the_task(services: Services,
                                                conversation: RecordingConversation) -> None:
    line = "/add 任务甲 ｜ 县发改局 ｜ 张三、李四 ｜ 12月31日"  # full-width bars too
    step = await commands.add_entry(services, ADMIN, said(line), conversation)
    assert step == commands.DONE
    [task] = services.ledger.repo.tasks()
    assert (task.title, task.lead_unit, task.owners, task.deadline) == (
        "任务甲", "县发改局", ("张三", "李四"), date(2026, 12, 31))
    [created] = conversation.texts
    assert created.startswith(plain(services.messages.task_created(task)))
    assert "张三、李四 尚未绑定" in created  # no reminder reaches them yet (issue 14)
    assert [entry.who for entry in services.ledger.repo.history(task.id)] == ["督查室（1001）"]


async def test_a_malformed_add_line_explains_the_form(
        services: Services, conversation: RecordingConversation) -> None:
    await commands.add_entry(services, ADMIN, said("/add 任务甲 | 县发改局"), conversation)
    msgs = services.messages
    assert conversation.last == plain(f"{msgs.t('add_parts', count=2)}\n{msgs.t('add_usage')}")
    assert titles(services) == []


async def test_an_unusual_deadline_is_asked_about_under_the_message(
        services: Services, conversation: RecordingConversation) -> None:
    message = said("/add 任务甲 | 县发改局 | 张三 | 2020-01-01")
    await commands.add_entry(services, ADMIN, message, conversation)
    [question] = conversation.said
    assert question.quote == message  # the 确认 button reads that message again
    assert [data for row in question.buttons for _label, data in row] == [
        encode(DATE, "add", "ok", ""), encode(DATE, "add", "no", "")]
    assert titles(services) == []


async def test_the_guided_add_checks_each_answer(
        services: Services, conversation: RecordingConversation) -> None:
    msgs = services.messages
    step = await commands.add_entry(services, ADMIN, said("/add"), conversation)
    assert step == "title" and conversation.last == plain(msgs.t("ask_title"))
    answers: dict[str, object] = {}

    async def answer(text: str) -> commands.AddStep:
        nonlocal step
        step = await commands.add_answer(services, ADMIN, step, text, answers, conversation)
        return step

    assert await answer("  ") == "title"  # nothing: asked again
    assert conversation.last.endswith(msgs.t("retry"))
    assert await answer("中医院迁建项目") == "lead_unit"
    assert conversation.last == plain(msgs.t("ask_unit"))
    assert await answer("县卫健局") == "owners"
    assert await answer("张三、李四") == "deadline"
    assert await answer("2020年1月1日") == "deadline"  # in the past: confirmed by word
    assert conversation.last.endswith(msgs.t("confirm_by_word"))
    assert titles(services) == []
    assert await answer("确认") == commands.DONE
    [task] = services.ledger.repo.tasks()
    assert (task.title, task.lead_unit, task.owners, task.deadline) == (
        "中医院迁建项目", "县卫健局", ("张三", "李四"), date(2020, 1, 1))
    assert conversation.last.startswith(plain(msgs.task_created(task)))


async def test_a_guided_add_that_could_not_be_saved_keeps_its_answers(
        services: Services, conversation: RecordingConversation, repo: FakeRepository,
        sender: FakeSender) -> None:
    """The channel runs the step guarded: the failure is answered, the admins are told, and
    the dialogue can stay at its step with the answers it has (the channel keeps them)."""
    answers: dict[str, object] = {"title": "中医院迁建项目", "lead_unit": "县卫健局",
                                  "owners": ("张三",)}
    repo.fail_next_commit = True

    def last_step() -> Awaitable[commands.AddStep | None]:
        return guarded(services, conversation, lambda: commands.add_answer(
            services, ADMIN, "deadline", "12月31日", answers, conversation))

    assert await last_step() is None
    assert conversation.last == plain(services.messages.t("save_failed"))
    assert titles(services) == [] and answers["title"] == "中医院迁建项目"
    assert sender.to(people.ADMIN) == [plain(services.messages.t("store_failure_alert"))]
    assert await last_step() == commands.DONE
    assert titles(services) == ["中医院迁建项目"]


async def test_abort_cancels_the_dialogue_or_runs_cancel(
        services: Services, conversation: RecordingConversation) -> None:
    task = open_task(services)
    await commands.add_abort(services, ADMIN, [], conversation)
    assert conversation.last == services.messages.t("dialog_cancelled")
    await commands.add_abort(services, ADMIN, [task.id, "重复建账"], conversation)
    assert services.ledger.task(task.id).status is TaskStatus.CANCELLED
    assert conversation.last == plain(services.messages.t("cancelled", id=task.id,
                                                          title=task.title))
    await commands.add_timeout(services, conversation)
    assert conversation.last == services.messages.t("dialog_expired")


# ---- people: /start, /invite, 换绑 -----------------------------------------------------------


async def test_an_invite_link_binds_and_greets_with_the_open_tasks(
        services: Services, conversation: RecordingConversation) -> None:
    open_task(services)
    codes: list[str] = []

    def link(code: str) -> str:  # the channel's invitation (on Telegram a t.me deep link)
        codes.append(code)
        return f"https://example.org/join/{code}"

    await commands.invite(services, ADMIN, ["张三", "县自然资源局"], conversation, link)
    [code] = codes
    assert f"https://example.org/join/{code}" in conversation.last
    person = services.ledger.repo.get_person("张三")
    assert person is not None and person.unit == "县自然资源局" and person.user_id is None
    await commands.start(services, OFFICIAL, [code], conversation)
    greeting = conversation.last
    assert "绑定成功，张三（县自然资源局）" in greeting and "世忻铁路复线保德段征地" in greeting
    assert services.person(people.ZHANG) is not None
    await commands.start(services, OFFICIAL, [], conversation)
    assert conversation.last.startswith(services.messages.t("welcome_back", name="张三"))


async def test_a_second_account_asks_the_admins_to_rebind_once(
        services: Services, conversation: RecordingConversation, sender: FakeSender,
        bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    invite = services.ledger.create_invite("张三", "", admin_id=people.ADMIN)
    new_phone = Caller(people.NEW_PHONE, "张三", "zhang_new")
    await commands.start(services, new_phone, [invite.code], conversation)
    assert conversation.last == plain(services.messages.t("rebind_pending", name="张三"))
    for admin in (people.ADMIN, people.OTHER_ADMIN):
        [question] = [m for m in sender.sent if m.chat_id == admin]
        assert "换绑申请" in question.plain
        assert f"张三 @zhang_new（{people.NEW_PHONE}）" in question.plain
        assert str(people.ZHANG) in question.plain
        assert question.buttons is not None
        choices = [decode(data) for row in question.buttons for _label, data in row]
        assert [(c.kind, c.choice) for c in choices if c] == [(REBIND, "yes"), (REBIND, "no")]
    await commands.start(services, new_phone, [invite.code], conversation)
    assert len(sender.sent) == 2  # asked once
    assert services.person(people.ZHANG) is not None  # still bound to the old account


async def test_people_lists_everyone(services: Services, conversation: RecordingConversation,
                                     bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    await commands.people(services, ADMIN, conversation)
    assert "张三" in conversation.last


# ---- /cancel and /remind ---------------------------------------------------------------------


async def test_cancel_records_who_and_why(services: Services,
                                          conversation: RecordingConversation) -> None:
    task = open_task(services)
    await commands.cancel_task(services, ADMIN, [], conversation)
    assert conversation.last == services.messages.t("cancel_usage")
    await commands.cancel_task(services, ADMIN, [task.id, "重复", "建账"], conversation)
    assert services.ledger.task(task.id).status is TaskStatus.CANCELLED
    [*_, entry] = services.ledger.repo.history(task.id)
    assert entry.note == "重复 建账"


async def test_cancelling_an_unknown_task_is_answered_by_the_guard(
        services: Services, conversation: RecordingConversation) -> None:
    await guarded(services, conversation,
                  lambda: commands.cancel_task(services, ADMIN, ["T0099"], conversation))
    assert conversation.texts == [services.messages.t("task_not_found", id="T0099")]


async def test_remind_names_who_was_reached_and_who_was_not(
        services: Services, conversation: RecordingConversation, sender: FakeSender,
        bind: Callable[[Actor], Person]) -> None:
    task = open_task(services, owners=("张三", "李四", "王五"))
    bind(ZHANG)
    bind(LI)
    sender.unreachable.add(people.LI)  # blocked the bot
    await commands.remind(services, ADMIN, [task.id], conversation)
    msgs = services.messages
    assert conversation.last.splitlines() == [
        plain(msgs.t("remind_sent", id=task.id, names="张三")),
        msgs.t("remind_unbound", names="王五"),
        msgs.t("remind_unreachable", names="李四")]
    [reminder] = sender.sent
    assert reminder.chat_id == people.ZHANG and task.id in reminder.plain
    assert reminder.buttons == msgs.task_buttons(task.id)
    [*_, entry] = services.ledger.repo.history(task.id)
    assert (entry.action, entry.note) == ("remind", "张三")


async def test_remind_that_reached_nobody_is_not_recorded(
        services: Services, conversation: RecordingConversation, sender: FakeSender,
        actions: Callable[[str], list[str]]) -> None:
    task = open_task(services)
    await commands.remind(services, ADMIN, [task.id], conversation)
    assert conversation.last.splitlines()[0] == msgs_t(services, "remind_none_sent",
                                                       id=task.id)
    assert sender.sent == [] and "remind" not in actions(task.id)


async def test_remind_of_a_closed_task_says_so(services: Services,
                                               conversation: RecordingConversation) -> None:
    task = open_task(services)
    services.ledger.cancel_task(task.id, who="督查室")
    await commands.remind(services, ADMIN, [task.id], conversation)
    assert conversation.last == services.messages.t(
        "remind_not_live", id=task.id, status=services.messages.status(TaskStatus.CANCELLED))



# ---- the rhythm: /dispatch and /plan ---------------------------------------------------------


async def test_dispatch_reports_back_to_the_chat_it_came_from(
        services: Services, conversation: RecordingConversation, sender: FakeSender) -> None:
    group = -100500
    await commands.dispatch_now(services, ADMIN, said("/dispatch", chat_id=group,
                                                      private=False), conversation)
    assert conversation.texts == [services.messages.t("dispatch_started")]
    await services.background_idle()
    [report] = sender.to(group)
    assert "调度：应发 0 条" in report


async def test_dispatch_says_how_many_messages_the_reminders_went_out_in(
        services: Services, conversation: RecordingConversation, sender: FakeSender,
        bind: Callable[[Actor], Person], make_task: Callable[..., Task]) -> None:
    """每人每日一条: two due tasks of one official are one message, and the admin reads so."""
    from jobs.pacing import Pacer
    from tests.support.harness import FakeTime

    time = FakeTime()
    services.dispatcher._pacer_factory = lambda: Pacer(monotonic=time.monotonic,
                                                       sleep=time.sleep)
    bind(ZHANG)
    make_task("供暖管网抢修", deadline=date(2026, 12, 8))
    make_task("中医院迁建项目一期工程", deadline=date(2026, 11, 24))
    await commands.dispatch_now(services, ADMIN, said("/dispatch"), conversation)
    await services.background_idle()
    [report] = [text for text in sender.to(ADMIN.user_id) if "调度：" in text]
    assert "本次发送 2 条" in report and "共发出" in report
    assert len(sender.to(ZHANG.user_id)) == 1


@pytest.mark.parametrize("days", ["0", "61", "十", "-3"])
async def test_plan_refuses_bad_days(services: Services, conversation: RecordingConversation,
                                     days: str) -> None:
    await commands.plan_preview(services, ADMIN, [days], conversation)
    assert conversation.texts == [services.messages.t("plan_usage")]


async def test_plan_takes_days_with_or_without_天(
        services: Services, conversation: RecordingConversation) -> None:
    open_task(services)
    await commands.plan_preview(services, ADMIN, ["５天"], conversation)
    await commands.plan_preview(services, ADMIN, ["5"], conversation)
    await commands.plan_preview(services, ADMIN, [], conversation)
    five, five_again, ten = conversation.texts
    assert five == five_again and five != ten
    assert services.messages.t("plan_usage") not in conversation.texts


# ---- everything else -------------------------------------------------------------------------


async def test_the_fallback_answers_only_where_it_helps(
        services: Services, conversation: RecordingConversation,
        bind: Callable[[Actor], Person]) -> None:
    bind(ZHANG)
    group = -100600
    bot_post = Said(chat_id=group, message_id=7, text="提醒", by_bot=True, private=False)
    cases: list[tuple[Caller, Said, str | None]] = [
        (STRANGER, said("🙂", by=STRANGER), "not_registered"),
        (STRANGER, said("大家好", by=STRANGER, chat_id=group, private=False), None),
        (STRANGER, said("/foo", by=STRANGER, chat_id=group, private=False), "not_registered"),
        (OFFICIAL, said("/foo", by=OFFICIAL), "unknown_command"),
        (OFFICIAL, said("👍", by=OFFICIAL), "ack_hint"),
        (ADMIN, said("👍"), "help_admin"),
        (OFFICIAL, said("收到", by=OFFICIAL, chat_id=group, private=False), None),
        (OFFICIAL, said("👍", by=OFFICIAL, chat_id=group, private=False, reply_to=bot_post),
         "ack_hint"),
    ]
    for caller, message, key in cases:
        heard = RecordingConversation()
        await commands.fallback(services, caller, message, heard)
        assert heard.texts == ([plain(services.messages.t(key))] if key else []), message.text
