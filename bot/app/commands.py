"""The commands: /start (with invite codes and 换绑), /help (by role), 建账 (/add, in one line
or as a guided dialogue, and the 📨 invite links for whoever it names that is not bound yet),
/tasks and /task, /mine (the tasks a leader leads), /invite and /people, /cancel (撤销) and
/remind (催办), the rhythm (/dispatch, /plan), and the answer to anything else.

Each use case takes who is speaking (`Caller`), what they gave (the command's arguments as
plain strings, or the `Said` message when more than the words matters) and the
`Conversation` to answer in. Admin-only commands refuse everyone else with `refused`
(strangers learn nothing about the ledger). Domain and storage failures are not caught here:
the channel runs every use case inside `bot.app.common.guarded`, which answers them.

The guided /add is a dialogue: `add_entry` and `add_answer` take the answers so far as a plain
dict and return the next step to wait at, or `DONE`. Where its state is kept is not theirs to
know: they hand it to `keep` (the step to wait at, with the answers as they are then) before
they say anything, and bot/app/dialogue.py keeps it in the services' dialogue store, so that
any worker — or the same one after a restart — takes the next answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, MutableMapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from bot.alerts import notify_admins, notify_chat
from bot.app import actions
from bot.app.common import (
    actor,
    created_reply,
    date_question,
    parse_add_line,
    refused,
    unbound_names,
    visible_tasks_for,
)
from bot.app.conversation import Caller, Conversation, Press, Reply, Said
from bot.domain.deadlines import read_deadline
from bot.domain.errors import InvalidField, RebindPending
from bot.domain.ledger import NewTask
from bot.domain.model import Person, RebindRequest, Role, Task, TaskStatus
from bot.domain.ports import DeliveryFailed, PersistenceError, Unreachable
from bot.domain.rhythm import plan
from bot.domain.text import (
    normalize,
    normalize_name,
    normalize_task_id,
    split_names,
)
from bot.domain.warning import Light
from bot.services import Services

if TYPE_CHECKING:
    from jobs.dispatch import DispatchReport

log = logging.getLogger(__name__)

# The guided /add: the step the dialogue waits at, or DONE when it is over (a task was
# created, or the command did not start a dialogue at all).
AddStep = Literal["title", "lead_unit", "owners", "deadline", "done"]
DONE: AddStep = "done"
# What each step asks next (the last one creates the task instead).
_NEXT: dict[str, tuple[AddStep, str]] = {
    "title": ("lead_unit", "ask_unit"),
    "lead_unit": ("owners", "ask_owners"),
    "owners": ("deadline", "ask_deadline"),
}
CONFIRM_WORDS = frozenset({"确认", "确定", "是", "对", "confirm", "yes"})

Keep = Callable[[AddStep], None]
"""Make the guided /add's state durable: the step it now waits at, with the answers as they
are (DONE: the dialogue is over). Raises PersistenceError when it could not."""


def keep_nothing(step: AddStep) -> None:
    """`Keep` for a caller that holds the answers itself (tests)."""

PLAN_DEFAULT_DAYS = 10
PLAN_MAX_DAYS = 60


def command_rest(text: str) -> str:
    """The text after the command word (`/add a | b` → `a | b`), keeping its spaces."""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


# ---- /start and /help ------------------------------------------------------------------------


async def start(services: Services, caller: Caller, args: Sequence[str],
                conversation: Conversation) -> None:
    """/start: with an invite code, bind the caller's account (`caller.address`, on whichever
    channel they came from) to their person (a person bound to another account on that channel
    asks the admins first: 换绑); without, greet by role."""
    msgs = services.messages
    if args:
        try:
            bound = services.ledger.redeem_invite(args[0], caller.user_id, caller.address)
        except RebindPending as pending:
            # The person is bound to another account: an admin must confirm (换绑).
            await conversation.say(Reply(msgs.error(pending)))
            if pending.params.get("new"):
                await ask_admins_to_rebind(services, pending.params["request"], caller)
            return
        await conversation.say(Reply(_greeting(services, bound, bound_now=True,
                                               channel=caller.channel)))
        return
    person = services.person(caller.user_id)
    if services.is_admin(caller.user_id):
        await conversation.say(Reply(msgs.t("help_admin")))
    elif person is not None:
        await conversation.say(Reply(_greeting(services, person, bound_now=False)))
    else:
        await conversation.say(Reply(msgs.t("not_registered")))


# "绑定 ABC123", "/start ABC123" (also 绑定：ABC123, full-width letters): an invite code typed.
_BIND_TEXT = re.compile(r"(?:绑定|/start(?:@\w+)?)[\s:]*([A-Za-z0-9_-]{4,64})", re.IGNORECASE)


def invite_code_in(text: str) -> str | None:
    """The invite code of a message that is only "绑定 CODE" or "/start CODE", else None."""
    match = _BIND_TEXT.fullmatch(normalize(text))
    return match.group(1) if match else None


async def bind_by_text(services: Services, caller: Caller, said: Said,
                       conversation: Conversation) -> bool:
    """An invite code typed as plain text in a one-to-one chat ("绑定 ABC123", "/start
    ABC123": how 钉钉 users bind, and Telegram users may type it too) is redeemed as /start
    would; False (nothing done) for any other message."""
    code = invite_code_in(said.text) if said.private and not said.evidence else None
    if code is None:
        return False
    await start(services, caller, [code], conversation)
    return True


def _greeting(services: Services, person: Person, *, bound_now: bool,
              channel: str = "") -> str:
    """Welcome (or welcome back) with the person's open tasks. Bound just now on `channel`:
    it says where reminders will go — here, or (a person on two channels, `[channels] prefer`
    naming the other) on the other channel, never a promise the dispatch will not keep."""
    msgs = services.messages
    today = services.clock.today()
    first = (msgs.t("welcome_bound", name=person.name, unit=person.unit or "—") if bound_now
             else msgs.t("welcome_back", name=person.name))
    if bound_now and channel:
        sender = services.sender
        where = services.reminder_address(person, running=sender.channels if sender else None)
        if where is not None and where.channel != channel:
            first = msgs.t("welcome_bound_elsewhere", name=person.name,
                           unit=person.unit or "—",
                           channel=msgs.catalog[f"channel_{where.channel}"])
    tasks = services.ledger.tasks_of_person(person.name)
    led = tasks_led_by(services, person.name)
    lead_hint = f"\n{msgs.t('tasks_lead_hint', count=len(led))}" if led else ""
    if not tasks:
        return f"{first}\n{msgs.t('no_open_tasks')}{lead_hint}"
    listing = msgs.task_list(msgs.t("your_open_tasks", count=len(tasks)), tasks, today)
    return f"{first}\n{listing}\n{msgs.t('greeting_hint')}{lead_hint}"


def tasks_led_by(services: Services, name: str) -> list[Task]:
    """The live tasks `name` is 责任领导 of, most urgent first."""
    name = normalize_name(name)
    return [t for t in services.ledger.live_tasks() if name and t.leader == name]


def is_leader(services: Services, person: Person) -> bool:
    """A 责任领导: recorded as one, or named as the leader of a live task."""
    return person.role is Role.LEADER or bool(tasks_led_by(services, person.name))


async def help_command(services: Services, caller: Caller,
                       conversation: Conversation) -> None:
    """/help: the commands of the caller's role — admin, 责任领导 or 责任人 (with examples of
    how to answer); strangers are told they are not registered."""
    person = services.person(caller.user_id)
    if services.is_admin(caller.user_id):
        key = "help_admin"
    elif person is not None and is_leader(services, person):
        key = "help_leader"
    elif person is not None:
        key = "help_official"
    else:
        key = "not_registered"
    await conversation.say(Reply(services.messages.t(key)))


async def ask_admins_to_rebind(services: Services, request: RebindRequest,
                               caller: Caller) -> None:
    """换绑: the admins decide, with 确认换绑 / 不同意 (the REBIND action, bot/app/actions.py)."""
    msgs = services.messages
    person = services.ledger.repo.get_person(request.name)
    old = request.old_address.id if request.old_address else str(request.old_user_id or "—")
    text = msgs.rebind_question(request, unit=person.unit if person else "", old=old,
                                new=caller.label)
    buttons = [[(msgs.catalog["btn_rebind_ok"], actions.encode(actions.REBIND, request.id, "yes")),
                (msgs.catalog["btn_rebind_no"], actions.encode(actions.REBIND, request.id, "no"))]]
    if not await notify_admins(services, text, buttons):
        log.error("换绑 request %s could not be shown to any admin", request.id)


# ---- 建账: /add ------------------------------------------------------------------------------


async def add_entry(services: Services, caller: Caller, said: Said,
                    conversation: Conversation, keep: Keep = keep_nothing) -> AddStep:
    """/add with the four fields creates at once; /add alone starts the guided dialogue
    (returns "title": the answers start empty, and wait for the first). Any /add ends a
    guided one in progress (`keep(DONE)`)."""
    if await refused(services, caller, conversation):
        return DONE
    msgs = services.messages
    rest = command_rest(said.text)
    if not rest:
        keep("title")
        await conversation.say(Reply(msgs.t("ask_title")))
        return "title"
    keep(DONE)
    try:
        new = parse_add_line(rest, services)
        # A deadline in the past or more than three years ahead: asked about, as everywhere.
        question = msgs.date_confirmation(new.deadline, services.clock.today())
        if question:
            # A deadline in the past or years ahead: a typo more often than not.
            await conversation.say(date_question(services, question, "add", "", said))
            return DONE
        await _create_task(services, caller, new, conversation)
    except InvalidField as err:
        if err.params["field"] == "parts":
            text = f"{msgs.t('add_parts', count=err.params['value'])}\n{msgs.t('add_usage')}"
        else:
            text = f"{msgs.error(err)}\n{msgs.t('add_usage')}"
        await conversation.say(Reply(text))
    return DONE


async def add_answer(services: Services, caller: Caller, step: AddStep, answer: str,
                     answers: MutableMapping[str, Any], conversation: Conversation,
                     keep: Keep = keep_nothing) -> AddStep:
    """One step of the guided /add: check the answer, keep it in `answers`, ask the next
    question. Returns the step to wait at (the same one when the answer was not usable, or
    an unusual deadline waits for 确认), or DONE once the task is created.

    The new state goes to `keep` before anything is said (what the admin is asked is what
    their next message will be taken as). The dialogue is over (`keep(DONE)`) just before the
    task is created: a crash between the two loses the task rather than making it twice. A
    failure to save raises (the channel's guard answers it) and leaves `answers` as they were
    and the dialogue at its step (kept again)."""
    msgs = services.messages
    before = dict(answers)
    try:
        following, question = _take_answer(services, step, normalize(answer), answers)
    except InvalidField as err:
        keep(step)  # asked again: the dialogue waits anew
        await conversation.say(Reply(f"{msgs.error(err)}\n{msgs.t('retry')}"))
        return step
    if following != DONE:
        keep(following)
        await conversation.say(Reply(question))
        return following
    try:
        keep(DONE)
        task = services.ledger.add_task(NewTask(**answers), who=actor(services, caller))
    except Exception:
        answers.clear()
        answers.update(before)
        try:
            keep(step)
        except PersistenceError:
            log.error("the guided /add could not be kept at its step; it is over")
        raise
    await conversation.say(created_reply(services, task))
    return DONE


def _take_answer(services: Services, step: AddStep, text: str,
                 answers: MutableMapping[str, Any]) -> tuple[AddStep, str]:
    """Check one answer of the guided /add and keep it in `answers`: the step to wait at next
    and its question, or (DONE, "") when the task can be created. Raises InvalidField."""
    msgs = services.messages
    if step == "title":
        if not text or len(text) > 200:
            raise InvalidField(field="title", value=text)
        answers["title"] = text
    elif step == "lead_unit":
        if not text or len(text) > 30:
            raise InvalidField(field="lead_unit", value=text)
        answers["lead_unit"] = text
    elif step == "owners":
        owners = split_names(text)
        if not owners:
            raise InvalidField(field="owners", value=text)
        answers["owners"] = owners
    else:
        today = services.clock.today()
        if text in CONFIRM_WORDS and "unconfirmed" in answers:
            answers["deadline"] = answers.pop("unconfirmed")
            return DONE, ""
        deadline = read_deadline(text, today=today)
        question = msgs.date_confirmation(deadline, today)
        if question:
            answers["unconfirmed"] = deadline
            return "deadline", f"{question}\n{msgs.t('confirm_by_word')}"
        answers.pop("unconfirmed", None)  # another date instead of 确认
        answers["deadline"] = deadline
        return DONE, ""
    following, prompt = _NEXT[step]
    return following, msgs.t(prompt)


async def add_abort(services: Services, caller: Caller, args: Sequence[str],
                    conversation: Conversation) -> None:
    """取消 ends the dialogue (bot/app/dialogue.py drops its state first). `/cancel 编号` is
    the task command: it runs as usual."""
    if args:
        await cancel_task(services, caller, args, conversation)
    else:
        await conversation.say(Reply(services.messages.t("dialog_cancelled")))


async def add_timeout(services: Services, conversation: Conversation) -> None:
    """The dialogue waited too long for an answer: it is over."""
    await conversation.say(Reply(services.messages.t("dialog_expired")))


async def _create_task(services: Services, caller: Caller, new: NewTask,
                       conversation: Conversation) -> None:
    task = services.ledger.add_task(new, who=actor(services, caller))
    await conversation.say(created_reply(services, task))


async def invite_press(services: Services, conversation: Conversation, press: Press,
                       link: Callable[[str], str]) -> str | None:
    """📨 under 已建账 (the INVITE action): an invite link for each person named on the task who
    is still not bound, in one message to forward. Admins only; the presser's notice is
    returned (None when the links were sent)."""
    msgs = services.messages
    if not services.is_admin(press.caller.user_id):
        return msgs.t("button_not_yours")
    task_id = actions.invite_target(press.action)
    if task_id is None:
        return msgs.t("button_unknown")
    task = services.ledger.task(task_id)
    unbound = unbound_names(services, task)
    if not unbound:
        return msgs.t("invite_all_bound", id=task.id)
    lines = [msgs.t("invite_links", id=task.id)]
    for name in unbound:
        person = services.ledger.repo.get_person(name)
        unit = person.unit if person is not None and person.unit else ""
        created = services.ledger.create_invite(name, unit, admin_id=press.caller.user_id)
        lines.append(msgs.t("invite_link_line", name=created.name, link=link(created.code)))
    await conversation.say(Reply("\n".join(lines)))
    return None


# ---- /tasks and /task ------------------------------------------------------------------------


async def list_tasks(services: Services, caller: Caller, args: Sequence[str],
                     conversation: Conversation) -> None:
    """/tasks: admins see every live task (or one unit's: /tasks 单位), officials their own,
    with the 红黄绿 light of each; a 责任领导 is pointed to /mine for the tasks they lead."""
    msgs = services.messages
    tasks = visible_tasks_for(services, caller.user_id)
    if tasks is None:
        await conversation.say(Reply(msgs.t("not_registered")))
        return
    today = services.clock.today()
    unit = " ".join(args).strip()
    hint = ""
    if unit and services.is_admin(caller.user_id):
        tasks = services.ledger.tasks_of_unit(unit)
        if not tasks:
            units = msgs.names(services.ledger.unit_names()) or "—"
            await conversation.say(Reply(msgs.t("tasks_none_unit", unit=unit, units=units)))
            return
        header = msgs.t("tasks_header_unit", unit=unit, count=len(tasks))
    else:
        person = None if services.is_admin(caller.user_id) else services.person(caller.user_id)
        led = tasks_led_by(services, person.name) if person is not None else []
        hint = f"\n{msgs.t('tasks_lead_hint', count=len(led))}" if led else ""
        if not tasks:
            await conversation.say(Reply(msgs.t("tasks_none") + hint))
            return
        header = msgs.t("tasks_header", count=len(tasks))
    lights = services.lights.all(tasks, today)
    await conversation.say(Reply(msgs.task_list(header, tasks, today, lights=lights) + hint))


async def mine(services: Services, caller: Caller, args: Sequence[str],
               conversation: Conversation) -> None:
    """/mine (我分管的任务): the live tasks the caller leads as 责任领导, 🔴 first, with lights.
    Admins may name a leader: /mine 陈副县长."""
    msgs = services.messages
    is_admin = services.is_admin(caller.user_id)
    person = services.person(caller.user_id)
    if not is_admin and person is None:
        await conversation.say(Reply(msgs.t("not_registered")))
        return
    named = normalize_name(" ".join(args)) if is_admin else ""
    if named:
        name, header_key, none = named, "mine_header_of", msgs.t("mine_none_of", name=named)
    elif person is not None:
        name, header_key, none = person.name, "mine_header", msgs.t("mine_none")
    else:
        await conversation.say(Reply(msgs.t("mine_usage")))
        return
    tasks = tasks_led_by(services, name)
    if not tasks:
        await conversation.say(Reply(none))
        return
    today = services.clock.today()
    lights = services.lights.all(tasks, today)
    order = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2}
    tasks.sort(key=lambda t: order.get(lights.get(t.id, Light.GREEN), 2))  # stable: by urgency
    header = msgs.t(header_key, name=name, count=len(tasks))
    await conversation.say(Reply(msgs.task_list(header, tasks, today, lights=lights)))


async def show_task(services: Services, caller: Caller, args: Sequence[str],
                    conversation: Conversation) -> None:
    """/task 编号: the task with its history, open 困难 and pending 延期申请; under it the
    report buttons for whoever may report on it."""
    msgs = services.messages
    is_admin = services.is_admin(caller.user_id)
    person = services.person(caller.user_id)
    if not is_admin and person is None:
        await conversation.say(Reply(msgs.t("not_registered")))
        return
    task_id = normalize_task_id(args[0]) if args else None
    if task_id is None:
        await conversation.say(Reply(msgs.t("task_usage")))
        return
    task = services.ledger.repo.get_task(task_id)
    today = services.clock.today()
    # Officials see the tasks they may report on (their own, and those they lead); others
    # are "not found" so nothing leaks.
    if task is None or (not is_admin and person is not None
                        and not services.ledger.may_report(task, person.name, today)):
        await conversation.say(Reply(msgs.t("task_not_found", id=task_id)))
        return
    history = services.ledger.repo.history(task.id)
    # A closed or cancelled task waits for nothing (困难 close with it; an old 延期申请 too).
    difficulties = [d.text for d in services.ledger.open_difficulties_of(task.id)] \
        if task.live else []
    pending = services.ledger.pending_extension(task.id) if task.live else None
    text = msgs.task_detail(task, history, today, light=services.lights.of(task, today),
                            difficulties=difficulties,
                            extension_to=pending.new_deadline if pending else None)
    reports = (person is not None and task.status is TaskStatus.OPEN
               and services.ledger.may_report(task, person.name, today))
    await conversation.say(Reply(text, buttons=msgs.task_buttons(task.id) if reports else ()))


# ---- people: /invite and /people -------------------------------------------------------------


async def invite(services: Services, caller: Caller, args: Sequence[str],
                 conversation: Conversation, link: Callable[[str], str]) -> None:
    """/invite 姓名 [单位]: a one-time code to bind the person's account. `link` makes the
    channel's invitation from the code (on Telegram a t.me deep link that runs /start)."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    if not args:
        await conversation.say(Reply(msgs.t("invite_usage")))
        return
    name, unit = normalize_name(args[0]), normalize(" ".join(args[1:]))
    created = services.ledger.create_invite(name, unit, admin_id=caller.user_id)
    person = services.ledger.repo.get_person(created.name)
    await conversation.say(Reply(msgs.invite_created(
        created, person.unit if person else unit, link(created.code))))


async def people(services: Services, caller: Caller, conversation: Conversation) -> None:
    """/people: everyone in the ledger, with their unit and whether their account is bound."""
    if await refused(services, caller, conversation):
        return
    await conversation.say(Reply(
        services.messages.people_list(list(services.ledger.repo.people()))))


# ---- /cancel (撤销) and /remind (催办) -----------------------------------------------------------


async def cancel_task(services: Services, caller: Caller, args: Sequence[str],
                      conversation: Conversation) -> None:
    """/cancel 编号 [原因]: 撤销, with who and why in the task's history."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = normalize_task_id(args[0]) if args else None
    if task_id is None:
        await conversation.say(Reply(msgs.t("cancel_usage")))
        return
    task = services.ledger.cancel_task(task_id, who=actor(services, caller),
                                       note=" ".join(args[1:]))
    await conversation.say(Reply(msgs.t("cancelled", id=task.id, title=task.title)))


async def remind(services: Services, caller: Caller, args: Sequence[str],
                 conversation: Conversation) -> None:
    """/remind 编号: 催办 every 责任人 now, with the report buttons. The answer names who was
    reached, who has no bound account and who could not be reached; only a reminder that
    reached someone is recorded."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = normalize_task_id(args[0]) if args else None
    if task_id is None:
        await conversation.say(Reply(msgs.t("remind_usage")))
        return
    task = services.ledger.task(task_id)
    if not task.live:
        await conversation.say(Reply(
            msgs.t("remind_not_live", id=task.id, status=msgs.status(task.status))))
        return
    text = msgs.reminder(task, services.clock.today())
    sent: list[str] = []
    unbound: list[str] = []
    unreachable: list[str] = []
    assert services.sender is not None
    for name in task.owners:
        person = services.ledger.repo.get_person(name)
        if person is None or person.user_id is None:
            unbound.append(name)
            continue
        try:
            await services.sender.send(person.user_id, text, msgs.task_buttons(task.id))
            sent.append(name)
        except (Unreachable, DeliveryFailed) as err:
            log.warning("reminder for %s to %s failed: %s", task.id, name, err)
            unreachable.append(name)
    if sent:
        services.ledger.record_reminder(task.id, who=actor(services, caller), sent_to=sent)
        lines = [msgs.t("remind_sent", id=task.id, names=msgs.names(sent))]
    else:
        lines = [msgs.t("remind_none_sent", id=task.id)]
    if unbound:
        lines.append(msgs.t("remind_unbound", names=msgs.names(unbound)))
    if unreachable:
        lines.append(msgs.t("remind_unreachable", names=msgs.names(unreachable)))
    await conversation.say(Reply("\n".join(lines)))


# ---- the rhythm: /dispatch and /plan -----------------------------------------------------------


async def dispatch_now(services: Services, caller: Caller, said: Said,
                       conversation: Conversation) -> None:
    """/dispatch: run today's dispatch now; what was already sent today is not sent again.
    The fan-out waits on the channel's limits for minutes at county scale: it runs in the
    background (the admin's chat stays free meanwhile) and its report is sent to the chat the
    command came from through the Sender port."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    if services.rhythm().running:
        await conversation.say(Reply(msgs.t("dispatch_busy")))
        return
    await conversation.say(Reply(msgs.t("dispatch_started")))
    chat_id = said.chat_id

    async def work() -> None:
        report = await services.rhythm().run()
        await notify_chat(services, chat_id, render_dispatch_report(services, report))

    services.background(work(), "dispatch-now")


def render_dispatch_report(services: Services, report: DispatchReport) -> str:
    """What a dispatch did: due, sent (and sent before), skipped, failed, unbound, unreachable."""
    msgs = services.messages
    day = msgs.date(report.day)
    if not report.workday:
        return msgs.t("dispatch_rest_day", day=day)
    reminders = report.sent - report.escalated  # 督办单 are counted apart: they were not due
    lines = [msgs.t("dispatch_report", day=day, due=report.due, sent=reminders,
                    before=report.sent_before)]
    if report.escalated:
        lines.append(msgs.t("dispatch_escalated", count=report.escalated))
    if 0 < report.messages < report.sent:
        lines.append(msgs.t("dispatch_messages", messages=report.messages))
    if report.skipped_reported:
        lines.append(msgs.t("dispatch_skipped", count=report.skipped_reported))
    if report.failed:
        lines.append(msgs.t("dispatch_failed", count=report.failed))
    if report.unbound:
        lines.append(msgs.t("dispatch_unbound", names=msgs.names(sorted(set(report.unbound)))))
    if report.unreachable:
        lines.append(msgs.t("dispatch_unreachable",
                            names=msgs.names(sorted(set(report.unreachable)))))
    return "\n".join(lines)


async def plan_preview(services: Services, caller: Caller, args: Sequence[str],
                       conversation: Conversation) -> None:
    """/plan [天数]: how many reminders of each kind go out on each coming workday."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    days = PLAN_DEFAULT_DAYS
    if args:
        raw = normalize(args[0]).rstrip("天")
        if not raw.isdigit() or not 1 <= int(raw) <= PLAN_MAX_DAYS:
            await conversation.say(Reply(msgs.t("plan_usage")))
            return
        days = int(raw)
    first = services.clock.today()
    last = first + timedelta(days=days - 1)
    planned = plan(services.ledger.repo.tasks(), first, last, services.calendar)
    await conversation.say(Reply(msgs.plan_summary(planned, first, days, services.calendar)))


# ---- everything else ---------------------------------------------------------------------------


async def fallback(services: Services, caller: Caller, said: Said,
                   conversation: Conversation) -> None:
    """Unknown commands, and whatever nothing else took (stickers, voice, …). Strangers are
    told they are not registered (in a group only when they tried a command); in a group a
    known user's stray message is answered only when it replies to the bot."""
    msgs = services.messages
    is_command = said.text.startswith("/")
    if not services.is_known(caller.user_id):
        if said.private or is_command:
            await conversation.say(Reply(msgs.t("not_registered")))
        return
    if is_command:
        await conversation.say(Reply(msgs.t("unknown_command")))
    elif said.private or (said.reply_to is not None and said.reply_to.by_bot):
        # A sticker, a voice message, a 👍: not a report. One line on what a report is.
        key = "help_admin" if services.is_admin(caller.user_id) else "ack_hint"
        await conversation.say(Reply(msgs.t(key)))
