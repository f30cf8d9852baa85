"""Dialogue state lives in the store, not in a process's memory (issue 16 item 2): the port's
two implementations (bot/adapters/dialogues.py) and the guided /add over them
(bot/app/dialogue.py) — across a restart, across two workers over one store, and its
timeout on the injected clock. The chat level is tests/chat/test_dialogue_chat.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

import tests.conftest as people
from bot.adapters import inbox
from bot.adapters.dialogues import DIALOGUES, FORGET_AFTER, MemoryDialogues, StoreDialogues
from bot.adapters.docstore import DocStore, StoreWriteError
from bot.app import dialogue
from bot.app.common import guarded
from bot.app.conversation import Caller, Said, plain
from bot.app.files import AWAITING_IMPORT
from bot.bootstrap import bootstrap
from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import FixedClock
from bot.domain.dialogues import DialogueStore
from bot.domain.model import Evidence, TaskStatus
from bot.domain.ports import PersistenceError
from bot.services import Services
from tests.support.fake_channel import FakeSender, RecordingConversation
from tests.support.fakes import FakeRepository

ADMIN = Caller(people.ADMIN, "督查室")
TIMEOUT = dialogue.ADD_TIMEOUT


def said(text: str, *, by: Caller = ADMIN, chat_id: int | None = None) -> Said:
    return Said(chat_id=by.user_id if chat_id is None else chat_id, message_id=50, text=text,
                author_id=by.user_id)


def config(data: Path) -> Config:
    return Config(telegram=TelegramConfig(token="123:test"),
                  access=AccessConfig(admins=frozenset({people.ADMIN})),
                  storage=StorageConfig(dir=data))


def on_store(store: DocStore, clock: FixedClock) -> Services:
    """The services one worker builds over the county's store."""
    return bootstrap(config(store.directory), store=store, clock=clock,
                     calendar=WorkCalendar(), sender=FakeSender())


# ---- the port: in the store and in memory ------------------------------------------------------


@pytest.fixture(params=["store", "memory"])
def dialogues(request: pytest.FixtureRequest, tmp_path: Path,
              clock: FixedClock) -> Iterator[DialogueStore]:
    if request.param == "memory":
        yield MemoryDialogues(clock)
        return
    with DocStore.open(tmp_path / "data") as store:
        yield StoreDialogues(store, clock)


def test_a_state_lasts_until_its_deadline_on_the_injected_clock(
        dialogues: DialogueStore, clock: FixedClock) -> None:
    state = {"step": "owners", "answers": {"title": "中医院迁建项目", "owners": ["张三"]}}
    dialogues.put("add:1:1", state, clock.now() + TIMEOUT)
    assert dialogues.get("add:1:1") == state and dialogues.expired("add:1:1") is None
    assert dialogues.get("add:2:2") is None and dialogues.expired("add:2:2") is None
    clock.advance(TIMEOUT - timedelta(seconds=1))
    assert dialogues.get("add:1:1") == state
    clock.advance(timedelta(seconds=1))
    assert dialogues.get("add:1:1") is None  # over: never resumed
    assert dialogues.expired("add:1:1") == state  # until told and cleared
    dialogues.clear("add:1:1")
    assert dialogues.get("add:1:1") is None and dialogues.expired("add:1:1") is None


def test_states_are_copies_and_a_put_replaces(dialogues: DialogueStore,
                                              clock: FixedClock) -> None:
    state = {"step": "title", "answers": {}}
    dialogues.put("k", state, clock.now() + TIMEOUT)
    state["step"] = "owners"
    got = dialogues.get("k")
    assert got == {"step": "title", "answers": {}}
    got["answers"]["title"] = "x"
    assert dialogues.get("k") == {"step": "title", "answers": {}}
    dialogues.put("k", {"step": "deadline"}, clock.now() + TIMEOUT)
    assert dialogues.get("k") == {"step": "deadline"}


def test_long_expired_states_are_forgotten(dialogues: DialogueStore, clock: FixedClock) -> None:
    dialogues.put("old", {"step": "title"}, clock.now() + TIMEOUT)
    clock.advance(TIMEOUT + FORGET_AFTER + timedelta(minutes=1))
    dialogues.put("new", {"step": "title"}, clock.now() + TIMEOUT)
    assert dialogues.expired("old") is None and dialogues.get("new") is not None


def test_a_state_in_the_store_survives_a_restart(tmp_path: Path, clock: FixedClock) -> None:
    with DocStore.open(tmp_path / "data") as store:
        StoreDialogues(store, clock).put("add:1:1", {"step": "owners"}, clock.now() + TIMEOUT)
    with DocStore.open(tmp_path / "data") as store:
        assert StoreDialogues(store, clock).get("add:1:1") == {"step": "owners"}


def test_clearing_nothing_writes_nothing(tmp_path: Path, clock: FixedClock) -> None:
    with DocStore.open(tmp_path / "data") as store:
        before = store.seq
        StoreDialogues(store, clock).clear("add:1:1")
        assert store.seq == before


def test_a_step_and_the_updates_applied_mark_are_one_commit(tmp_path: Path,
                                                            clock: FixedClock) -> None:
    """A message replayed after a crash must not answer the next question: the state it
    left and its applied mark are durable together."""
    with DocStore.open(tmp_path / "data") as store:
        receipt = inbox.Receipt("7:abc", clock.now().isoformat())
        token = inbox.applying.set(receipt)
        try:
            before = store.seq
            StoreDialogues(store, clock).put("add:1:1", {"step": "owners"},
                                             clock.now() + TIMEOUT)
        finally:
            inbox.applying.reset(token)
        assert store.seq == before + 1 and receipt.applied
        assert (store.get(inbox.INBOX, "7:abc") or {}).get("state") == inbox.APPLIED
        assert set(store.all(DIALOGUES)) == {"add:1:1"}


def test_a_write_that_fails_is_a_persistence_error(tmp_path: Path, clock: FixedClock,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with DocStore.open(tmp_path / "data") as store:
        dialogues = StoreDialogues(store, clock)

        def full(*args: object, **kwargs: object) -> int:
            raise StoreWriteError("disk full")

        monkeypatch.setattr(store, "commit", full)
        with pytest.raises(PersistenceError):
            dialogues.put("k", {"step": "title"}, clock.now() + TIMEOUT)
        assert dialogues.get("k") is None


# ---- the guided /add over the store ------------------------------------------------------------


async def walk(services: Services, conversation: RecordingConversation, *texts: str) -> None:
    """Each text as the admin's next message, taken by the dialogue."""
    for text in texts:
        assert dialogue.claim(services, ADMIN, said(text)) == "answer"
        assert await dialogue.take(services, ADMIN, said(text), conversation)


async def test_the_next_answer_may_reach_another_worker(tmp_path: Path,
                                                        clock: FixedClock) -> None:
    """Two workers (two services) over one store: each step is taken by whichever gets it."""
    with DocStore.open(tmp_path / "data") as store:
        first, second = on_store(store, clock), on_store(store, clock)
        msgs = first.messages
        conversation = RecordingConversation()
        await dialogue.add_command(first, ADMIN, said("/add"), conversation)
        assert conversation.last == plain(msgs.t("ask_title"))
        await walk(second, conversation, "职业中学新校区建设")
        assert conversation.last == plain(msgs.t("ask_unit"))
        await walk(first, conversation, "县教育局")
        await walk(second, conversation, "周五、钱六")
        assert conversation.last == plain(msgs.t("ask_deadline"))
        await walk(first, conversation, "12月31日")
        [task] = first.ledger.repo.tasks()
        assert (task.title, task.lead_unit, task.owners, task.deadline) == (
            "职业中学新校区建设", "县教育局", ("周五", "钱六"), date(2026, 12, 31))
        assert conversation.last.startswith(plain(msgs.task_created(task)))
        # Over for both workers: the admin's next text is no answer anywhere.
        assert dialogue.claim(first, ADMIN, said("县教育局")) is None
        assert dialogue.claim(second, ADMIN, said("县教育局")) is None


async def test_two_services_sharing_one_memory_dialogue_store(
        services: Services, repo: FakeRepository, clock: FixedClock) -> None:
    """Without a store, the in-memory implementation: shared, it serves two services alike."""
    other = bootstrap(services.config, repository=repo, clock=clock, calendar=WorkCalendar(),
                      sender=FakeSender())
    other.dialogues = services.dialogues
    conversation = RecordingConversation()
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    await walk(other, conversation, "中医院迁建项目")
    await walk(services, conversation, "县卫健局", "张三")
    await walk(other, conversation, "长期")
    assert [t.title for t in repo.tasks()] == ["中医院迁建项目"]


async def test_the_guided_add_survives_a_restart(tmp_path: Path, clock: FixedClock) -> None:
    conversation = RecordingConversation()
    with DocStore.open(tmp_path / "data") as store:
        services = on_store(store, clock)
        await dialogue.add_command(services, ADMIN, said("/add"), conversation)
        await walk(services, conversation, "职业中学新校区建设", "县教育局")
    with DocStore.open(tmp_path / "data") as store:  # a new process over the same store
        services = on_store(store, clock)
        await walk(services, conversation, "周五")
        assert conversation.last == plain(services.messages.t("ask_deadline"))
        await walk(services, conversation, "长期")
        [task] = services.ledger.repo.tasks()
        assert (task.title, task.lead_unit, task.owners) == ("职业中学新校区建设", "县教育局",
                                                             ("周五",))


async def test_each_answer_renews_the_timeout_and_an_expired_dialogue_is_not_resumed(
        services: Services, conversation: RecordingConversation, clock: FixedClock,
        repo: FakeRepository) -> None:
    msgs = services.messages
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    clock.advance(TIMEOUT - timedelta(seconds=1))
    await walk(services, conversation, "中医院迁建项目")
    clock.advance(TIMEOUT - timedelta(seconds=1))
    await walk(services, conversation, "县卫健局")  # still waiting: each answer renews it
    clock.advance(TIMEOUT)
    assert dialogue.claim(services, ADMIN, said("张三")) == "expired"
    assert await dialogue.take(services, ADMIN, said("张三"), conversation)  # meant as answer
    assert conversation.last == plain(msgs.t("dialog_expired"))
    # Told once; the dialogue is over: the next text goes on as usual.
    assert dialogue.claim(services, ADMIN, said("张三")) is None
    assert not await dialogue.take(services, ADMIN, said("张三"), conversation)
    assert list(repo.tasks()) == []


async def test_a_command_after_the_timeout_is_told_then_goes_on(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    clock.advance(TIMEOUT)
    assert not await dialogue.take(services, ADMIN, said("/tasks"), conversation)
    assert conversation.last == plain(services.messages.t("dialog_expired"))


async def test_the_channels_timer_ends_only_a_dialogue_that_timed_out(
        services: Services, conversation: RecordingConversation, clock: FixedClock) -> None:
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    chat = ADMIN.user_id
    assert not await dialogue.time_out(services, chat, ADMIN.user_id, conversation)
    assert dialogue.waiting(services, chat, ADMIN.user_id)
    clock.advance(TIMEOUT)
    assert await dialogue.time_out(services, chat, ADMIN.user_id, conversation)
    assert conversation.last == plain(services.messages.t("dialog_expired"))
    said_before = len(conversation.said)
    assert not await dialogue.time_out(services, chat, ADMIN.user_id, conversation)
    assert dialogue.claim(services, ADMIN, said("x")) is None  # nor told at the next message
    assert len(conversation.said) == said_before


async def test_what_the_dialogue_takes_and_what_goes_on(
        services: Services, conversation: RecordingConversation) -> None:
    """Plain text answers; 取消 and /cancel end it; other commands, files and other chats or
    people go on as usual and leave it waiting."""
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    assert dialogue.claim(services, ADMIN, said("/tasks")) is None
    assert dialogue.claim(services, ADMIN, said("/add")) is None  # the command restarts it
    document = Said(ADMIN.user_id, 51, "台账", ADMIN.user_id,
                    evidence=(Evidence("document", "f1", "台账.xlsx"),))
    assert dialogue.claim(services, ADMIN, document) is None
    assert dialogue.claim(services, ADMIN, said("任务", chat_id=-100)) is None
    assert dialogue.claim(services, Caller(people.ZHANG), said("任务", by=Caller(
        people.ZHANG))) is None
    assert dialogue.claim(services, ADMIN, said(" 取消 ")) == "cancel"
    assert dialogue.claim(services, ADMIN, said("/cancel@luoshi_bot")) == "cancel"
    assert await dialogue.take(services, ADMIN, said("取消"), conversation)
    assert conversation.last == plain(services.messages.t("dialog_cancelled"))
    assert not dialogue.waiting(services, ADMIN.user_id, ADMIN.user_id)


async def test_cancel_with_an_id_ends_the_dialogue_and_cancels_that_task(
        services: Services, conversation: RecordingConversation) -> None:
    await dialogue.add_command(services, ADMIN, said("/add 任务甲 | 县发改局 | 张三 | 长期"),
                               conversation)
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    assert await dialogue.take(services, ADMIN, said("/cancel T0001 重复建账"), conversation)
    assert services.ledger.task("T0001").status is TaskStatus.CANCELLED
    assert not dialogue.waiting(services, ADMIN.user_id, ADMIN.user_id)


async def test_a_new_add_starts_over(services: Services,
                                     conversation: RecordingConversation) -> None:
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    await walk(services, conversation, "任务甲", "县发改局")
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    assert conversation.last == plain(services.messages.t("ask_title"))
    await walk(services, conversation, "任务乙")
    assert conversation.last == plain(services.messages.t("ask_unit"))
    # A one-line /add ends a guided one in progress.
    await dialogue.add_command(services, ADMIN, said("/add 任务丙 | 县发改局 | 张三 | 长期"),
                               conversation)
    assert not dialogue.waiting(services, ADMIN.user_id, ADMIN.user_id)


async def test_a_deadline_to_confirm_is_kept_as_a_date_and_another_date_replaces_it(
        tmp_path: Path, clock: FixedClock) -> None:
    conversation = RecordingConversation()
    with DocStore.open(tmp_path / "data") as store:
        services = on_store(store, clock)
        await dialogue.add_command(services, ADMIN, said("/add"), conversation)
        await walk(services, conversation, "中医院迁建项目", "县卫健局", "张三", "2020年1月1日")
        assert conversation.last.endswith(plain(services.messages.t("confirm_by_word")))
        # Another date instead of 确认 (this used to reach NewTask as an unknown field).
        await walk(services, conversation, "12月31日")
        [task] = services.ledger.repo.tasks()
        assert task.deadline == date(2026, 12, 31)


async def test_a_step_that_could_not_be_saved_leaves_the_dialogue_at_its_step(
        services: Services, conversation: RecordingConversation, repo: FakeRepository) -> None:
    await dialogue.add_command(services, ADMIN, said("/add"), conversation)
    await walk(services, conversation, "中医院迁建项目", "县卫健局", "张三", "2020年1月1日")
    repo.fail_next_commit = True
    assert await guarded(services, conversation, lambda: dialogue.take(
        services, ADMIN, said("确认"), conversation)) is None
    assert conversation.last == plain(services.messages.t("save_failed"))
    assert list(repo.tasks()) == []
    # Still at the deadline, the date still waiting for 确认: saying it again creates the task.
    await walk(services, conversation, "确认")
    [task] = repo.tasks()
    assert task.deadline == date(2020, 1, 1)


async def test_imports_waiting_for_the_file_is_kept_for_an_hour(services: Services,
                                                                clock: FixedClock) -> None:
    dialogue.held_import(services, ADMIN.user_id)[AWAITING_IMPORT] = True
    assert dialogue.held_import(services, ADMIN.user_id).get(AWAITING_IMPORT) is True
    assert dialogue.held_import(services, people.ZHANG).get(AWAITING_IMPORT) is None
    clock.advance(dialogue.IMPORT_TIMEOUT)
    assert dialogue.held_import(services, ADMIN.user_id).get(AWAITING_IMPORT) is None
