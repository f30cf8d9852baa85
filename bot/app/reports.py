"""Officials answer in chat: replies to the bot's messages, plain messages, photos and
documents (佐证材料) become reports on their tasks (交账, progress, 困难, 延期申请).

A message names its task by a 编号 or, in a reply to the daily digest, a 序号 at the start of a
line ("DG-3 进度60%", "2. 已完成"); several lines each naming a task report on each
(bot/app/digest.py). An explicit 编号 wins over the task of the message replied to. A reply
naming none is about the task of the bot message it answers (a reminder, a task message, a
prompt); to a digest of several tasks the bot asks which. A plain private message naming none
applies to the official's one open task, or the bot asks which one (the PICK question quotes
the message, so nothing needs remembering). Who may report on a task is checked here every
time.

Recording follows one rule: durable first, then confirmed at once with the way back
(↩️ 撤回), then whoever must act is told (admins on 交账 and 延期, the leader and the admins on
困难) and the confirmation is completed with who was actually reached. Before recording, the
bot asks instead of guessing (确认交账？, a date for an extension, a progress figure again).

The admins' side of the loop (核账 commands) is in `review`; the buttons in `decisions`.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date

from bot.alerts import notify_admins, notify_admins_at, notify_person
from bot.app import actions
from bot.app.common import actor, date_question, guarded
from bot.app.conversation import Caller, Conversation, Reply, Said, clip
from bot.app.digest import Mark, Part, listed_tasks, named_parts, part_said, part_source
from bot.domain.errors import InvalidField
from bot.domain.ledger import ReportOutcome
from bot.domain.model import Evidence, Task, TaskStatus
from bot.domain.ports import Buttons
from bot.domain.replies import Reading, ReplyKind, is_acknowledgement, read_reply
from bot.domain.text import normalize, normalize_task_id
from bot.services import Services

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[A-Za-z0-9-]{2,}")
# The first line of a prompt (a question answered by reply) says what the answer is for.
_PROMPT_INTENTS = (("📈", "progress"), ("⚠️", "difficulty"), ("⏳", "extend"), ("✍️", "reject"))
_PROMPT = re.compile(r"\s*(📈|⚠️|⏳|✍️)\s+[A-Za-z0-9-]{2,}")


# ---- reading the context of a message ----


def task_mentioned(services: Services, text: str) -> Task | None:
    """The first existing task whose 编号 appears in a bot message's text."""
    for token in _TOKEN.findall(text[:400]):
        task_id = normalize_task_id(token)
        if task_id:
            task = services.ledger.repo.get_task(task_id)
            if task is not None:
                return task
    return None


def prompt_intent(text: str) -> str | None:
    """What a prompt asks for: progress, difficulty, extend, reject. A prompt starts with its
    emoji, a space and the task's 编号 ("⚠️ T0001 有困难：…"); an alert that starts with the
    same emoji ("⚠️【困难】T0001 …") is not a prompt — a leader's "已解决" under it is no 困难."""
    match = _PROMPT.match(text)
    if match is None:
        return None
    return next(intent for emoji, intent in _PROMPT_INTENTS if emoji == match.group(1))


def may_report(services: Services, caller: Caller, task: Task) -> bool:
    """Admins, the task's 责任人 and its 责任领导 (who covers while a 责任人 is on leave: the
    bot asks them to report) may report on a task and press its buttons."""
    if services.is_admin(caller.user_id):
        return True
    person = services.person(caller.user_id)
    return person is not None and services.ledger.may_report(task, person.name,
                                                             services.clock.today())


def plain_leader(services: Services, caller: Caller, task: Task) -> bool:
    """A leader of the task who is not answering for an official on leave: their replies to
    alerts (a 困难, a 督办单) are remarks to the office, not reports ("已解决" is no 交账)."""
    person = services.person(caller.user_id)
    return (person is not None and not services.is_admin(caller.user_id)
            and services.ledger.reporting_role(task, person.name,
                                               services.clock.today()) == "leader")


def asks_for_report(replied: Said | None) -> bool:
    """A bot message an official answers with a report: it carries the ✅/📈/⚠️/⏳ buttons
    (a reminder, /task) or is one of their prompts."""
    if replied is None:
        return False
    if prompt_intent(replied.text) is not None:
        return True
    return any(data.startswith(f"{actions.ACT} ") for data in replied.actions)


# ---- notifications ----


async def notify_owners(services: Services, task: Task, text: str,
                        buttons: Buttons | None = None, *, skip_user: int | None = None) -> str:
    """Tell the task's 责任人; returns the line for the admin's answer: who was told, and who
    could not be reached (not bound, blocked the bot)."""
    msgs = services.messages
    told, missed = [], []
    for name in task.owners:
        person = services.ledger.repo.get_person(name)
        if person is not None and person.user_id == skip_user and skip_user is not None:
            continue
        if await notify_person(services, name, text, buttons):
            told.append(name)
        else:
            missed.append(name)
    lines = [msgs.t("told_owners", names=msgs.names(told))] if told else []
    if missed:
        lines.append(msgs.t("owners_unreached", names=msgs.names(missed)))
    return "\n".join(lines)


QUOTE_LIMIT = 1500  # characters of an official's text quoted in an alert; the rest: /task


def quoted(services: Services, text: str, task_id: str) -> str:
    """User text quoted in an alert, shortened when long (a pasted 情况说明): the alert must
    reach the admin in one message the channel accepts; the whole text is in /task."""
    if len(text) <= QUOTE_LIMIT:
        return text
    more = services.messages.catalog["quote_more"].format(id=task_id)
    return clip(text, QUOTE_LIMIT, "") + more


# ---- messages ----


async def on_reply(services: Services, conversation: Conversation, caller: Caller,
                   said: Said) -> None:
    """A reply to one of the bot's messages: a reminder, the daily digest, a task message or a
    prompt. Lines naming a task (编号, or the digest's 序号) report on it; otherwise the task
    is the one the bot's message names (a digest of several: the bot asks which); a reply to
    anything else is a plain message."""
    replied = said.reply_to
    if replied is None or not replied.by_bot:
        await on_plain(services, conversation, caller, said)
        return
    intent = prompt_intent(replied.text)
    if intent != "reject":  # a 退回 reason is the admin's text, whatever it names
        listed = listed_tasks(replied)
        parts = named_parts(said.text, _resolver(services, caller, listed))
        if parts:
            own = task_mentioned(services, replied.text) if not listed else None
            await _report_parts(services, conversation, caller, said, parts, replied,
                                intent if own is not None else None,
                                own.id if own is not None else "")
            return
        if len(set(listed.values())) > 1:
            tasks = [services.ledger.repo.get_task(tid) for tid in dict.fromkeys(
                listed[n] for n in sorted(listed))]
            await _ask_which(services, conversation, said,
                             [t for t in tasks if t is not None], "pick_listed")
            return
    task = task_mentioned(services, replied.text)
    if task is None:
        await on_plain(services, conversation, caller, said)
        return
    if intent == "reject":
        if services.is_admin(caller.user_id):
            from bot.app.review import reject_task  # review builds on this module

            # The reason is the reply's text; a photo's or a document's caption is none.
            await reject_task(services, conversation, caller, task.id,
                              "" if said.evidence else said.text)
        return
    if plain_leader(services, caller, task) and not asks_for_report(replied):
        await conversation.say(Reply(services.messages.t("ack_hint")))
        return
    await apply_report(services, conversation, caller, task, said, intent=intent)


def _resolver(services: Services, caller: Caller,
              listed: dict[int, str]) -> Callable[[Mark], str | None]:
    """Which task a line's mark names: a 序号 of the digest replied to, else an existing
    task's 编号 (whoever's it is: an explicit 编号 is answered "not your task" rather than
    applied elsewhere)."""

    def resolve(mark: Mark) -> str | None:
        if mark.numeric and int(mark.text) in listed:
            return listed[int(mark.text)]
        task_id = normalize_task_id(mark.text)
        if task_id is None or services.ledger.repo.get_task(task_id) is None:
            return None
        return task_id

    return resolve


async def _report_parts(services: Services, conversation: Conversation, caller: Caller,
                        said: Said, parts: list[Part], replied: Said | None = None,
                        intent: str | None = None, replied_task: str = "") -> None:
    """Each part of a message on the task it names, in order. A prompt's intent (📈, ⏳) goes
    only with its own task; a leader's remark under an alert stays a remark."""
    for part in parts:
        task = services.ledger.repo.get_task(part.task_id)
        if task is None:
            continue
        if replied is not None and not asks_for_report(replied) \
                and plain_leader(services, caller, task):
            await conversation.say(Reply(services.messages.t("ack_hint")))
            continue
        mine = intent if part.task_id == replied_task else None
        await apply_report(services, conversation, caller, task, part_said(said, part.span),
                           intent=mine, span=part.span)


async def _ask_which(services: Services, conversation: Conversation, said: Said,
                     tasks: list[Task], key: str) -> None:
    """Which task is this about? One button per task (PICK reads the message again)."""
    msgs = services.messages
    buttons = [[(f"{t.id} {_short(t.title)}", actions.encode(actions.PICK, t.id))]
               for t in tasks[:20]]
    await conversation.say(Reply(msgs.t(key, count=len(tasks)), buttons=buttons, quote=said))


async def on_plain(services: Services, conversation: Conversation, caller: Caller,
                   said: Said) -> None:
    """A message that is not a reply: lines naming a task by 编号 report on it; otherwise
    with one open task it applies to it; with several the bot asks which (the question
    replies to the message, so nothing needs remembering)."""
    msgs = services.messages
    if not said.private:
        return  # in groups only replies to the bot count
    from bot.app.commands import bind_by_text  # commands builds on the same layer

    if await bind_by_text(services, caller, said, conversation):
        return  # "绑定 ABC123" typed: an invite redeemed
    person = services.person(caller.user_id)
    if person is None:
        key = "help_admin" if services.is_admin(caller.user_id) else "not_registered"
        await conversation.say(Reply(msgs.t(key)))
        return
    if not said.evidence and is_acknowledgement(said.text):
        await conversation.say(Reply(msgs.t("ack_hint")))
        return
    parts = named_parts(said.text, _resolver(services, caller, {}))
    if parts:
        await _report_parts(services, conversation, caller, said, parts)
        return
    # Their own tasks, and those they cover for an official on leave; a task waiting for 核账
    # too (进度45% after 已完成 takes the 交账 back).
    tasks = [t for t in services.ledger.tasks_to_report(person.name, services.clock.today())
             if t.status in (TaskStatus.OPEN, TaskStatus.SUBMITTED)]
    if not tasks:
        await conversation.say(Reply(msgs.t("no_task_to_report")))
        return
    if len(tasks) == 1:
        await apply_report(services, conversation, caller, tasks[0], said)
        return
    await _ask_which(services, conversation, said, tasks, "pick_task")


def _short(title: str, limit: int = 18) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


# ---- applying a report ----


def reading_for(intent: str | None, text: str, today: date,
                deadline: date | None = None) -> Reading:
    """Read the text, steered by the button the official pressed (if any)."""
    reading = read_reply(text, today=today, deadline=deadline)
    if intent == "difficulty" and reading.difficulty is None:
        return replace(reading, kind=ReplyKind.DIFFICULTY if not reading.done else reading.kind,
                       difficulty=reading.text, detail=reading.text)
    if intent == "extend" and (not reading.extension or reading.new_deadline is None):
        steered = read_reply(f"申请延期至{normalize(text)}", today=today, deadline=deadline)
        if steered.extension and steered.new_deadline is not None:
            return Reading(ReplyKind.EXTENSION, text=reading.text,
                           new_deadline=steered.new_deadline, detail=steered.reason)
        return Reading(ReplyKind.EXTENSION, text=reading.text)
    return reading


async def apply_report(services: Services, conversation: Conversation, caller: Caller,
                       task: Task, said: Said, *, intent: str | None = None,
                       date_confirmed: bool = False, completion: str | None = None,
                       span: str = "") -> None:
    """Record what `said` says about `task`, every facet of it in one change, and answer
    with what was understood (with ↩️ 撤回); then tell whoever must act (admins on 交账 and
    延期, admins and the leader on 困难) and complete the answer with who was reached.

    Before recording, the bot asks instead of guessing: 确认交账？ when a completion might be
    of a part only (`completion` carries the answer: "yes" or "no"), a date for an extension
    that gives none, a progress figure again when the one given is impossible (120%).
    `caller` is who reports: the message's author, or who pressed a button that reads it
    again (PICK, a date's 确认, 确认交账). `span`: `said` is one part of a message of several
    (bot/app/digest.py); the questions' buttons carry it, and the report is named by it.
    """
    msgs = services.messages
    if not may_report(services, caller, task):
        await conversation.say(Reply(msgs.t("not_your_task", id=task.id)))
        return
    if _resuming.get():
        source = part_source(said, span)
        if services.ledger.repo.report_from(source) is not None:
            await reanswer(services, conversation, source, quote=said)  # recorded already
            return
    text = said.text.strip()
    evidence = said.evidence
    if not evidence and intent is None and is_acknowledgement(text):
        # 收到 / 好的 / 👍: not a report (the period's reminders go on). Say what one is.
        # (An answer to a button's prompt is read as that answer, whatever it says.)
        await conversation.say(Reply(msgs.t("ack_hint")))
        return
    today = services.clock.today()
    reading = reading_for(intent, text, today, task.deadline) if text \
        else Reading(ReplyKind.NOTE)
    if completion == "yes":
        reading = reading.as_completion()
    elif completion == "no":
        reading = reading.as_progress()
    elif reading.confirm and intent is None:
        await conversation.say(completion_question(services, task, said, text, span))
        return
    elif reading.confirm:  # the answer to a 📈/⚠️/⏳ prompt: what the button said it is
        reading = reading.as_progress()
    follow_up = ""  # a question to ask after recording the rest
    if reading.odd_progress is not None and reading.progress is None and not reading.done:
        follow_up = msgs.t("odd_progress", id=task.id, value=reading.odd_progress)
    if reading.extension and reading.new_deadline is None and intent != "extend":
        suggested = reading.suggested_deadline or today
        follow_up = msgs.t("ask_extension_date", id=task.id,
                           suggested=msgs.full_date(suggested))
        reading = reading.without_extension()
    # A question whose answer comes back as a reply to it: its first emoji (📈, ⏳) says
    # what the answer is for (`prompt_intent`).
    prompt = Reply(follow_up, quote=said, ask=True)
    if follow_up and not _worth_recording(reading, evidence):
        await conversation.say(prompt)
        return
    if reading.extension and reading.new_deadline is not None and not date_confirmed:
        question = msgs.date_confirmation(reading.new_deadline, today, what="extension")
        if question:  # 申请延期至2036年: years ahead, most likely a typo
            await conversation.say(date_question(
                services, question, "askx" if intent == "extend" else "ask", task.id, said,
                span))
            return
    try:
        outcome = services.ledger.submit_report(
            task.id, reading, who=actor(services, caller), user_id=caller.user_id,
            evidence=evidence, source=part_source(said, span))
    except InvalidField as err:
        if err.params.get("field") == "extension_date":
            await conversation.say(Reply(msgs.t("invalid_extension_date")))
            return
        raise
    # The confirmation quotes the message it answers: in a busy chat it is clear which one.
    await confirm_and_tell(services, conversation, outcome, quote=said)
    if follow_up:
        await conversation.say(prompt)


def _worth_recording(reading: Reading, evidence: tuple[Evidence, ...]) -> bool:
    """Whether what is left of a reply, once a question is split off, says anything: a
    progress figure, a difficulty, a completion or 佐证材料 (a bare 申请延期 does not)."""
    return bool(evidence) or reading.done or reading.progress is not None \
        or reading.difficulty is not None


def completion_question(services: Services, task: Task, said: Said, text: str,
                        span: str = "") -> Reply:
    """确认交账？ with 确认交账 / 只是进展. The question replies to the official's message; the
    buttons read that message again (nothing kept in memory; `span`: the part about this
    task)."""
    msgs = services.messages
    buttons = [[(msgs.catalog["btn_confirm_done"],
                 actions.encode(actions.SURE, task.id, "yes", span=span)),
                (msgs.catalog["btn_just_progress"],
                 actions.encode(actions.SURE, task.id, "no", span=span))]]
    return Reply(msgs.t("confirm_done_q", id=task.id, text=clip(text, 200, "…")),
                 buttons=buttons, quote=said)


async def confirm_and_tell(services: Services, conversation: Conversation,
                           outcome: ReportOutcome, quote: Said | None = None) -> None:
    """Durable now: confirm at once, with the way back (↩️ 撤回). When others must be told,
    the confirmation first says so is under way, then is edited to name who was reached —
    the official never waits for the admin group's rate limit, and never reads a promise.
    Where the confirmation cannot be edited, who was reached is said separately."""
    msgs = services.messages
    undo = [[(msgs.catalog["btn_undo"], actions.encode(actions.UNDO, outcome.report.id))]]
    to_tell = needs_telling(outcome)
    posted = await conversation.say(Reply(
        msgs.recorded(outcome, msgs.t("telling") if to_tell else ""), buttons=undo,
        quote=quote))
    if not to_tell:
        return
    told = await tell_about(services, outcome)
    final = Reply(msgs.recorded(outcome, told), buttons=undo)
    if posted is None or not await conversation.edit(posted, final):
        await conversation.say(Reply(told))


def needs_telling(outcome: ReportOutcome) -> bool:
    return (outcome.submitted or outcome.difficulty is not None
            or outcome.extension is not None or outcome.withdrew_submission)


async def tell_about(services: Services, outcome: ReportOutcome) -> str:
    """Tell the admins (and on a 困难 the leader, first); returns the line that says who was
    reached, for the official's confirmation."""
    msgs = services.messages
    task, report = outcome.task, outcome.report
    leader = task.leader if outcome.difficulty is not None else ""
    leader_told = False
    if leader:
        item = outcome.difficulty
        assert item is not None
        leader_told = await notify_person(services, leader, _difficulty_text(services, outcome),
                                          difficulty_buttons(services, item.id))
    admins_told = False
    if outcome.submitted:
        text = msgs.submission(task, report, text=quoted(services, report.text, task.id))
        buttons = [[(msgs.catalog["btn_verify"],
                     actions.encode(actions.VERIFY, task.id, ref=report.id)),
                    (msgs.catalog["btn_reject"],
                     actions.encode(actions.REJECT, task.id, ref=report.id))]]
        posts = await notify_admins_at(services, text, buttons)
        admins_told = bool(posts)
        # Kept to edit the 核账 post should this 交账 be taken back (`_tell_withdrawal`).
        services.ledger.record_posts(task.id, report.id, posts)
    if outcome.withdrew_submission:
        admins_told = await _tell_withdrawal(services, outcome) or admins_told
    if outcome.difficulty is not None:
        # 督帮一体: the leader and the admins get it at once, with 我来协调 / 已解决.
        text = _difficulty_text(services, outcome)
        if leader and not leader_told:
            text += "\n" + msgs.t("relay_to_leader", leader=leader)
        told = await notify_admins(services, text,
                                   difficulty_buttons(services, outcome.difficulty.id))
        admins_told = admins_told or told
    if outcome.extension is not None:
        request = outcome.extension
        text = msgs.extension_request(task, request,
                                      reason=quoted(services, request.reason, task.id))
        buttons = [[(msgs.catalog["btn_approve"],
                     actions.encode(actions.EXT, task.id, "yes", request.id)),
                    (msgs.catalog["btn_refuse"],
                     actions.encode(actions.EXT, task.id, "no", request.id))]]
        told = await notify_admins(services, text, buttons)
        admins_told = admins_told or told
    return told_line(services, admins_told, leader, leader_told)


async def _tell_withdrawal(services: Services, outcome: ReportOutcome) -> bool:
    """完成了, then 进度45%: the 交账 is taken back. Its 核账 message loses its buttons and
    says so (where the channel can edit, `Sender.edit`); the admins get a short alert too (an
    edit of an old message goes unnoticed)."""
    msgs = services.messages
    task, report = outcome.task, outcome.report
    withdrawn = outcome.withdrawn_submission
    note = msgs.t("submission_withdrawn_note", who=msgs.who(report.who), progress=report.progress)
    original = services.ledger.repo.get_report(withdrawn) if withdrawn else None
    sender = services.sender
    if original is not None and sender is not None:
        text = msgs.submission(task, original, text=quoted(services, original.text, task.id))
        for chat_id, message_id in services.ledger.posts(task.id, withdrawn):
            await sender.edit(chat_id, message_id, f"{text}\n{note}")
    return await notify_admins(services, msgs.t(
        "submission_withdrawn_alert", id=task.id, title=task.title, who=msgs.who(report.who),
        progress=report.progress))


def told_line(services: Services, admins_told: bool, leader: str, leader_told: bool) -> str:
    """Who was reached, for a confirmation: the admins, the leader, or nobody (then the
    official knows to tell them another way)."""
    msgs = services.messages
    if admins_told:
        if not leader:
            return msgs.t("told_admins")
        return msgs.t("told_admins_leader" if leader_told else "told_leader_relay",
                      leader=leader)
    if leader and leader_told:
        return msgs.t("told_leader_only", leader=leader)
    return msgs.t("told_nobody")


def _difficulty_text(services: Services, outcome: ReportOutcome) -> str:
    item = outcome.difficulty
    assert item is not None
    task = outcome.task
    msgs = services.messages
    return msgs.t("difficulty_alert", id=task.id, title=task.title,
                  who=msgs.who(outcome.report.who), text=quoted(services, item.text, task.id))


def difficulty_buttons(services: Services, difficulty_id: str) -> Buttons:
    """我来协调 / 已解决 under a 困难 alert (`decisions` handles them)."""
    msgs = services.messages
    return [[(msgs.catalog["btn_coordinate"], actions.encode(actions.DIFF, difficulty_id,
                                                             "coord")),
             (msgs.catalog["btn_solved"], actions.encode(actions.DIFF, difficulty_id,
                                                         "solved"))]]


# ---- after a crash ----

# True while a message applied in part before a crash is handled again (`resume`).
_resuming: contextvars.ContextVar[bool] = contextvars.ContextVar("resuming", default=False)


async def resume(services: Services, conversation: Conversation, caller: Caller,
                 said: Said) -> bool:
    """A message whose report(s) were being recorded when the process died: its first
    commit marked it applied (the inbox's receipt), so it is not handled again as new. A
    message of several parts (lines naming several tasks) makes one report per part, each in
    its own commit: the parts recorded are answered again (`reanswer`), those not yet
    recorded are applied now — each part exactly once, named by its source. Returns False
    when no part of the message was recorded (it was no report: the caller falls back)."""
    replied = said.reply_to
    by_bot = replied is not None and replied.by_bot
    listed = listed_tasks(replied) if replied is not None and by_bot else {}
    parts = named_parts(said.text, _resolver(services, caller, listed))
    sources = {said.source, *(part_source(said, part.span) for part in parts)}
    if not any(services.ledger.repo.report_from(source) is not None for source in sources):
        return False
    token = _resuming.set(True)
    try:
        handle = on_reply if by_bot else on_plain
        await guarded(services, conversation,
                      lambda: handle(services, conversation, caller, said))
    finally:
        _resuming.reset(token)
    return True



async def reanswer(services: Services, conversation: Conversation, source: str,
                   quote: Said | None = None) -> None:
    """A report applied just before a crash, never answered: answer it now (a channel's
    intake calls this at start-up instead of handling the input again). `source` names the
    input (`Said.source`, `Press.source`); `quote` is the message to answer, if it was one.
    Other inputs' answers cannot be rebuilt without applying them again; they stay
    unanswered (logged)."""
    report = services.ledger.repo.report_from(source)
    if report is None:
        log.warning("input %s was applied before a crash; its answer is lost", source)
        return
    task = services.ledger.task(report.task_id)
    current = (task.status is TaskStatus.SUBMITTED and task.submission == report.id
               if report.kind == ReplyKind.COMPLETION.value else task.last_report == report.id)
    if not current or report.undone_at is not None:
        # Something happened to the task since (退回, a newer report, 撤回): an answer now
        # would announce what is no longer true.
        log.info("report %s was overtaken before it could be answered", report.id)
        return
    repo = services.ledger.repo
    outcome = ReportOutcome(
        task, report,
        next((d for d in repo.difficulties_of(report.task_id) if d.id == report.difficulty_id),
             None),
        next((e for e in repo.extensions_of(report.task_id) if e.id == report.extension_id),
             None))
    await confirm_and_tell(services, conversation, outcome, quote)
