"""Admins close the loop (交账 → 核账 → 销账) by command: /verify /reject /reopen /resolve
/extend, and the reason for a 退回 given as a reply to the ✍️ prompt of the 退回 button.

Every command is an admin's (`refused` answers anyone else, strangers learning nothing
about the ledger). Each one changes the ledger, then tells the task's 责任人 and answers the
admin with what was done and who was reached (`reports.notify_owners`). The same steps back
the buttons under the admins' messages (`decisions`).

A command is read from its message: the words after the command word are its arguments (as
Telegram's `context.args`: split at whitespace).
"""

from __future__ import annotations

from datetime import date

from bot.app.common import actor, date_question, refused, with_line
from bot.app.conversation import Caller, Conversation, Reply, Said
from bot.app.reports import notify_owners
from bot.domain.deadlines import read_deadline
from bot.domain.errors import InvalidField
from bot.domain.text import normalize_task_id
from bot.services import Services


def _args(said: Said) -> list[str]:
    return said.text.split()[1:]


def _task_arg(said: Said) -> str | None:
    args = _args(said)
    return normalize_task_id(args[0]) if args else None


def _rest(said: Said) -> str:
    return " ".join(_args(said)[1:]).strip()


async def verify(services: Services, conversation: Conversation, caller: Caller,
                 said: Said) -> None:
    """/verify <编号>: 核账通过, the task is 已销账; its 责任人 are told."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = _task_arg(said)
    if task_id is None:
        await conversation.say(Reply(msgs.t("verify_usage")))
        return
    task = services.ledger.verify(task_id, who=actor(services, caller), user_id=caller.user_id)
    told = await notify_owners(services, task, msgs.t("verified_notice", id=task.id,
                                                      title=task.title))
    await conversation.say(Reply(with_line(msgs.t("verified", id=task.id), told)))


async def reject(services: Services, conversation: Conversation, caller: Caller,
                 said: Said) -> None:
    """/reject <编号> <理由>: the 交账 is sent back with the reason."""
    if await refused(services, caller, conversation):
        return
    task_id = _task_arg(said)
    if task_id is None:
        await conversation.say(Reply(services.messages.t("reject_usage")))
        return
    await reject_task(services, conversation, caller, task_id, _rest(said))


async def reject_task(services: Services, conversation: Conversation, caller: Caller,
                      task_id: str, reason: str) -> None:
    """退回 with a reason (from /reject, or the reply to the 退回 button's ✍️ prompt): the
    task is open again and its 责任人 are told why, with the answer buttons."""
    msgs = services.messages
    try:
        task = services.ledger.reject(task_id, reason, who=actor(services, caller))
    except InvalidField:
        await conversation.say(Reply(f"{msgs.t('invalid_reason')}\n{msgs.t('reject_usage')}"))
        return
    told = await notify_owners(services, task,
                               msgs.t("rejected_notice", id=task.id, title=task.title,
                                      reason=reason.strip()),
                               msgs.task_buttons(task.id))
    await conversation.say(Reply(with_line(msgs.t("rejected", id=task.id), told)))


async def reopen(services: Services, conversation: Conversation, caller: Caller,
                 said: Said) -> None:
    """/reopen <编号> <理由>: a closed task is open again."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = _task_arg(said)
    reason = _rest(said)
    if task_id is None or not reason:
        await conversation.say(Reply(msgs.t("reopen_usage")))
        return
    task = services.ledger.reopen(task_id, reason, who=actor(services, caller))
    told = await notify_owners(services, task, msgs.t("reopened_notice", id=task.id,
                                                      title=task.title, reason=reason),
                               msgs.task_buttons(task.id))
    await conversation.say(Reply(with_line(msgs.t("reopened", id=task.id), told)))


async def resolve(services: Services, conversation: Conversation, caller: Caller,
                  said: Said) -> None:
    """/resolve <编号> [说明]: the task's open 困难 are solved."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = _task_arg(said)
    if task_id is None:
        await conversation.say(Reply(msgs.t("resolve_usage")))
        return
    note = _rest(said)
    services.ledger.resolve_difficulties(task_id, note, who=actor(services, caller))
    task = services.ledger.task(task_id)
    told = await notify_owners(services, task, msgs.t("resolved_notice", id=task.id,
                                                      note=note or "—"))
    await conversation.say(Reply(with_line(msgs.t("resolved", id=task_id), told)))


async def extend(services: Services, conversation: Conversation, caller: Caller,
                 said: Said) -> None:
    """/extend <编号> [新时限]: without a date, the pending 延期申请 is approved. A date in the
    past or years ahead is asked about first (确认 / 重新填写; the button reads this command
    again)."""
    if await refused(services, caller, conversation):
        return
    msgs = services.messages
    task_id = _task_arg(said)
    if task_id is None:
        await conversation.say(Reply(msgs.t("extend_usage")))
        return
    rest = _rest(said)
    new_deadline: date | None = None
    if rest:
        try:
            new_deadline = read_deadline(rest, today=services.clock.today())
        except InvalidField as err:  # the reader's own words: what it can read
            await conversation.say(Reply(f"{msgs.error(err)}\n{msgs.t('extend_usage')}"))
            return
        if new_deadline is None:  # 长期 is no date to extend to
            await conversation.say(Reply(msgs.t("extend_usage")))
            return
    question = msgs.date_confirmation(new_deadline, services.clock.today(), what="extension") \
        if new_deadline is not None else None
    if question:
        await conversation.say(date_question(services, question, "ext", "", said))
        return
    await extend_task(services, conversation, caller, task_id, new_deadline)


async def extend_task(services: Services, conversation: Conversation, caller: Caller,
                      task_id: str, new_deadline: date | None) -> None:
    """The task's 完成时限 moved (to `new_deadline`, or the pending request's date); its 责任人
    are told."""
    msgs = services.messages
    task = services.ledger.extend(task_id, new_deadline, who=actor(services, caller))
    told = await notify_owners(services, task, msgs.t("extended_notice", id=task.id,
                                                      title=task.title,
                                                      deadline=msgs.date(task.deadline)))
    await conversation.say(Reply(with_line(msgs.t("extended", id=task.id,
                                                  deadline=msgs.date(task.deadline)), told)))
