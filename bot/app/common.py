"""What every use case shares: who the caller is in the ledger, the guard that turns domain
and storage failures into a clear answer, the admin check, and a few shared questions."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.alerts import notify_admins
from bot.app import actions
from bot.app.conversation import Caller, Conversation, Reply, Said
from bot.domain.deadlines import read_deadline
from bot.domain.errors import DomainError, InvalidField
from bot.domain.ledger import NewTask
from bot.domain.model import Task
from bot.domain.ports import ConcurrentChange, PersistenceError
from bot.domain.text import normalize, normalize_name, split_names
from bot.services import Services

log = logging.getLogger(__name__)

T = TypeVar("T")

STORE_ALERT_EVERY = 600.0  # seconds between two "disk full" alerts to the admins
USE_CASE_RETRIES = 10  # runs of a use case again after other workers' changes (`retried`) …
RETRY_PAUSE = 0.005  # … each after a random pause of up to this many seconds × the attempt


def actor(services: Services, caller: Caller) -> str:
    """How a caller appears in a task's history: their ledger name, else their channel name
    with its id (for audit). Users read names only: Messages.who drops the id."""
    person = services.person(caller.user_id)
    if person is not None:
        return person.name
    return f"{caller.name}（{caller.account or caller.user_id}）"


async def guarded(services: Services, conversation: Conversation,
                  work: Callable[[], Awaitable[T]]) -> T | None:
    """Run a use case; a domain error is answered with what to do, a change that could not be
    made durable with "please resend" (and the admins are told): nothing half-done is ever
    confirmed."""
    msgs = services.messages
    try:
        return await retried(work)
    except DomainError as err:
        await conversation.say(Reply(msgs.error(err)))
    except ConcurrentChange as err:
        if err.duplicate:  # another worker applied this update (delivered twice): it answers
            log.info("update applied by another worker meanwhile; not applied again")
        else:  # kept meeting other workers' changes, or part of the action was applied
            log.error("a change could not be applied beside other workers': %s", err)
            await conversation.say(Reply(msgs.t("save_failed")))
    except PersistenceError:
        log.error("a change could not be made durable; the user was told to resend")
        await conversation.say(Reply(msgs.t("save_failed")))
        await alert_store_failure(services)
    return None


async def retried(work: Callable[[], Awaitable[T]], *,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """``await work()``, run again while another worker's change makes it retryable
    (``ConcurrentChange``: the store already shows that change, so the use case computes its
    own anew). Use cases say nothing before they commit, so a retry says nothing twice.

    Every refusal means another worker's commit went through, so the county makes progress;
    a short random pause (a few milliseconds, growing) keeps workers that met on a key every
    report touches (the report counter) from meeting again at once."""
    for attempt in range(USE_CASE_RETRIES):
        try:
            return await work()
        except ConcurrentChange as err:
            if not err.retryable:
                raise
            log.info("retrying after another worker's change (%d): %s", attempt + 1, err)
            await sleep(random.uniform(0.0, RETRY_PAUSE * (attempt + 1)))
    return await work()


async def alert_store_failure(services: Services) -> None:
    """Tell the admins (at most every 10 minutes) that the store cannot write: usually a full
    disk. Officials were already asked to resend; nothing was half-written."""
    now = time.monotonic()
    last = services.store_alert_at
    if last is not None and now - last < STORE_ALERT_EVERY:
        return
    services.store_alert_at = now
    await notify_admins(services, services.messages.t("store_failure_alert"))


def admin_refusal(services: Services, caller: Caller) -> Reply | None:
    """None for an admin; otherwise the answer to someone who ran an admin command (strangers
    learn nothing about the ledger)."""
    if services.is_admin(caller.user_id):
        return None
    key = "admin_only" if services.person(caller.user_id) else "not_registered"
    return Reply(services.messages.t(key))


async def refused(services: Services, caller: Caller, conversation: Conversation) -> bool:
    """True (and the caller told why) when an admin command comes from anyone else."""
    refusal = admin_refusal(services, caller)
    if refusal is not None:
        await conversation.say(refusal)
    return refusal is not None


def visible_tasks_for(services: Services, user_id: int) -> list[Task] | None:
    """Admins see every live task, officials their own; None for strangers."""
    if services.is_admin(user_id):
        return services.ledger.live_tasks()
    person = services.person(user_id)
    if person is None:
        return None
    return services.ledger.tasks_of_person(person.name)


def parse_add_line(text: str, services: Services) -> NewTask:
    """`任务 | 牵头单位 | 责任人 | 完成时限 [| 责任领导]` (full-width ｜ too) → NewTask, or
    InvalidField. The deadline is read by the one deadline reader (bot/domain/deadlines.py)."""
    parts = [p.strip() for p in normalize(text).split("|")]
    if len(parts) not in (4, 5):
        raise InvalidField(field="parts", value=str(len(parts)))
    title, unit, owners, deadline = parts[:4]
    leader = normalize_name(parts[4]) if len(parts) == 5 else ""
    return NewTask(title=title, lead_unit=unit, owners=split_names(owners),
                   deadline=read_deadline(deadline, today=services.clock.today()),
                   leader=leader)


def unbound_names(services: Services, task: Task) -> list[str]:
    """The task's 责任人 and 责任领导 who have no account bound yet (no reminder reaches them)."""
    names = [*task.owners, *([task.leader] if task.leader else [])]
    unbound = []
    for name in dict.fromkeys(names):
        person = services.ledger.repo.get_person(name)
        if person is None or not person.addresses:
            unbound.append(name)
    return unbound


def created_reply(services: Services, task: Task) -> Reply:
    """已建账: the task as opened, its 责任领导, and who named on it is not bound yet, with a
    📨 button for their invite links (the INVITE action)."""
    msgs = services.messages
    lines = [msgs.task_created(task)]
    if task.leader:
        lines.append(msgs.t("created_leader", leader=task.leader))
    unbound = unbound_names(services, task)
    if not unbound:
        return Reply("\n".join(lines))
    lines.append(msgs.t("add_unbound", names=msgs.names(unbound)))
    return Reply("\n".join(lines), buttons=[[(msgs.catalog["btn_invite"],
                                              actions.invite_data(task.id))]])


def date_question(services: Services, question: str, kind: str, task_id: str,
                  about: Said, span: str = "") -> Reply:
    """确认 / 重新填写 under a question about an unusual date. The question answers the message
    it is about; the 确认 button reads that message again (nothing kept in memory; `span`:
    the part of it about this task, bot/app/digest.py)."""
    msgs = services.messages
    buttons = [[(msgs.catalog["btn_date_ok"],
                 actions.encode(actions.DATE, kind, "ok", task_id, span)),
                (msgs.catalog["btn_date_retype"],
                 actions.encode(actions.DATE, kind, "no", task_id, span))]]
    return Reply(question, buttons=buttons, quote=about)


def with_line(text: str, line: str) -> str:
    return f"{text}\n{line}" if line else text
