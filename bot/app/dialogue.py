"""Dialogues across messages, kept in the services' dialogue store (bot/domain/dialogues.py),
not in a process's memory: several workers may serve one county and any of them may get the
next message; a restart must not lose a dialogue either.

Two dialogues exist:

* **The guided /add** (bot/app/commands.py `add_entry`, `add_answer`), per chat and person
  (`add_key`): ``{"step": …, "answers": {…}}``, dates as ISO strings. It waits ADD_TIMEOUT
  for each answer. While it waits, the person's plain text in that chat is the answer
  (`claim` says so before any other handler sees the message), 取消 / 退出 / cancel or
  `/cancel` ends it (`/cancel 编号` then cancels that task as usual), and anything else —
  other commands, photos, files, buttons — goes on as usual and leaves it waiting. A new /add
  starts over. Once the dialogue has timed out, the person is told so once: by the channel's
  timer if it is still running (Telegram's, bot/tg/dialogue.py), otherwise at their next
  message in that chat (`take` answers it "expired"; that message is the dialogue's when it
  was meant as an answer, and goes on as usual when it is a command).
* **/import's "the next file is a ledger"** (bot/app/files.py), per person (`import_key`),
  waiting IMPORT_TIMEOUT: `held` gives it to the use cases as the mapping they expect, each
  change written to the store before anything is said about it.

Each step is one durable commit that carries the update's applied mark
(bot/adapters/dialogues.py), so a message replayed after a crash is not taken as the answer to
the next question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import date, timedelta
from typing import Any, Literal

from bot.app import commands
from bot.app.conversation import Caller, Conversation, Reply, Said
from bot.domain.dialogues import Dialogue
from bot.services import Services

ADD_TIMEOUT = timedelta(minutes=15)  # the guided /add waits this long for each answer
IMPORT_TIMEOUT = timedelta(hours=1)  # /import waits this long for the file
CANCEL_WORDS = re.compile(r"^\s*(取消|退出|cancel)\s*$")

Claim = Literal["answer", "cancel", "expired"]
"""What a message is to a guided /add: its answer, the end of it, or the first message after
it timed out."""


def add_key(chat_id: int, user_id: int) -> str:
    """The guided /add of this person in this chat."""
    return f"add:{chat_id}:{user_id}"


def import_key(user_id: int) -> str:
    """/import's waiting for this person's file (in any chat, as before)."""
    return f"import:{user_id}"


def _command(text: str) -> tuple[str, list[str]] | None:
    """"/cancel@luoshi_bot T0001" → ("cancel", ["T0001"]); None for text that is no command."""
    if not text.startswith("/"):
        return None
    words = text.split()
    return words[0][1:].split("@")[0].lower(), words[1:]


def _is_text(said: Said) -> bool:
    """A message of text alone (not a photo's or a file's caption, not a sticker)."""
    return bool(said.text.strip()) and not said.evidence


def claim(services: Services, caller: Caller, said: Said) -> Claim | None:
    """What `said` is to the caller's guided /add in its chat, if anything (None: the message
    goes on as usual). Reads the store only: the channel asks before choosing a handler."""
    key = add_key(said.chat_id, caller.user_id)
    if services.dialogues.get(key) is None:
        return "expired" if services.dialogues.expired(key) is not None else None
    command = _command(said.text)
    if command is not None:
        return "cancel" if command[0] == "cancel" else None
    if not _is_text(said):
        return None
    return "cancel" if CANCEL_WORDS.match(said.text) else "answer"


async def add_command(services: Services, caller: Caller, said: Said,
                      conversation: Conversation) -> commands.AddStep:
    """/add: in one line it creates at once; alone it starts the guided dialogue, kept in the
    store. Either way a guided /add in progress in this chat is over."""
    answers: dict[str, Any] = {}
    return await commands.add_entry(services, caller, said, conversation,
                                    keep=_keeper(services, said, caller, answers))


async def take(services: Services, caller: Caller, said: Said,
               conversation: Conversation) -> bool:
    """A message `claim` gave to the caller's guided /add: answer it. Returns False when it is
    not the dialogue's after all (the channel then handles it as usual): a command after the
    dialogue timed out (the timeout is told first), or a dialogue that ended meanwhile."""
    found = claim(services, caller, said)
    key = add_key(said.chat_id, caller.user_id)
    if found is None:
        return False
    if found == "expired":
        services.dialogues.clear(key)
        await commands.add_timeout(services, conversation)
        return _command(said.text) is None and _is_text(said)
    if found == "cancel":
        services.dialogues.clear(key)
        command = _command(said.text)
        await commands.add_abort(services, caller, command[1] if command else [], conversation)
        return True
    state = services.dialogues.get(key)
    if state is None:
        return False
    step, answers = _decode(state)
    await commands.add_answer(services, caller, step, said.text, answers, conversation,
                              keep=_keeper(services, said, caller, answers))
    return True


async def time_out(services: Services, chat_id: int, user_id: int,
                   conversation: Conversation) -> bool:
    """The channel's timer: if the guided /add of this person in this chat has timed out
    (on the services' clock: it may have been answered meanwhile, on any worker), it is over
    and they are told. Returns whether it was."""
    key = add_key(chat_id, user_id)
    if services.dialogues.expired(key) is None:
        return False
    services.dialogues.clear(key)
    await commands.add_timeout(services, conversation)
    return True


_QUESTIONS: dict[str, str] = {"title": "ask_title", "lead_unit": "ask_unit",
                              "owners": "ask_owners", "deadline": "ask_deadline"}


async def reask(services: Services, caller: Caller, said: Said,
                conversation: Conversation) -> bool:
    """`said` moved the guided /add on (its step is saved) just before a crash, and its
    question never went out: ask it now (a channel's intake at start-up, instead of handling
    the message again). False when `said` was not the dialogue's latest step."""
    state = services.dialogues.get(add_key(said.chat_id, caller.user_id))
    if state is None or not said.source or state.get("source") != said.source:
        return False
    question = _QUESTIONS.get(str(state.get("step")))
    if question is None:
        return False
    await conversation.say(Reply(services.messages.t(question)))
    return True


def waiting(services: Services, chat_id: int, user_id: int) -> bool:
    """Whether a guided /add of this person waits for an answer in this chat."""
    return services.dialogues.get(add_key(chat_id, user_id)) is not None


def _keeper(services: Services, said: Said, caller: Caller,
            answers: Mapping[str, Any]) -> commands.Keep:
    """`commands.Keep` for the guided /add of `caller` in `said`'s chat, over `answers`."""
    key = add_key(said.chat_id, caller.user_id)

    def keep(step: commands.AddStep) -> None:
        if step == commands.DONE:
            services.dialogues.clear(key)
        else:
            # `source`: the message that led here — `reask` after a crash asks its question.
            services.dialogues.put(key, {"step": step, "answers": _encode(answers),
                                         "source": said.source},
                                   services.clock.now() + ADD_TIMEOUT)

    return keep


_STEPS: tuple[commands.AddStep, ...] = ("title", "lead_unit", "owners", "deadline")


def _encode(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as JSON: a date as {"date": ISO}, names as a list."""
    encoded: dict[str, Any] = {}
    for name, value in answers.items():
        if isinstance(value, date):
            encoded[name] = {"date": value.isoformat()}
        elif isinstance(value, tuple):
            encoded[name] = list(value)
        else:
            encoded[name] = value
    return encoded


def _decode(state: Dialogue) -> tuple[commands.AddStep, dict[str, Any]]:
    """The step and the answers (`_encode`'s inverse); an unknown step starts at the title."""
    step: commands.AddStep = next((s for s in _STEPS if s == state.get("step")), "title")
    answers: dict[str, Any] = {}
    raw = state.get("answers")
    for name, value in (raw.items() if isinstance(raw, dict) else ()):
        if isinstance(value, dict) and "date" in value:
            answers[name] = date.fromisoformat(value["date"])
        elif isinstance(value, list):
            answers[name] = tuple(value)
        else:
            answers[name] = value
    return step, answers


class Held(MutableMapping[str, object]):
    """One dialogue's state as the mapping bot/app/files.py expects, read from the store when
    made and written back on every change (cleared once empty), each for `timeout` more."""

    def __init__(self, services: Services, key: str, timeout: timedelta) -> None:
        self._services = services
        self._key = key
        self._timeout = timeout
        self._state: dict[str, object] = dict(services.dialogues.get(key) or {})

    def __getitem__(self, name: str) -> object:
        return self._state[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    def __setitem__(self, name: str, value: object) -> None:
        self._write({**self._state, name: value})

    def __delitem__(self, name: str) -> None:
        state = dict(self._state)
        del state[name]
        self._write(state)

    def _write(self, state: dict[str, object]) -> None:
        dialogues = self._services.dialogues
        if state:
            dialogues.put(self._key, state, self._services.clock.now() + self._timeout)
        else:
            dialogues.clear(self._key)
        self._state = state


def held_import(services: Services, user_id: int) -> Held:
    """/import's dialogue state of this person (bot/app/files.py AWAITING_IMPORT)."""
    return Held(services, import_key(user_id), IMPORT_TIMEOUT)
