"""The guided /add over the PostgreSQL store with two workers (issue 16 item 2): its state is
in the county's schema (bot/adapters/dialogues.py over bot/adapters/postgres.py), so each
answer may reach either worker; a worker whose view is stale does not take an answer as the
wrong step — its write is refused (ConcurrentChange) and the step is run again on the fresh
state. Skipped with a reason when PostgreSQL's programs are missing (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

import tests.conftest as people
from bot.adapters.pg_migrate import migrate
from bot.adapters.postgres import PgDocStore
from bot.app import dialogue
from bot.app.common import guarded
from bot.app.conversation import Caller, Said, plain
from bot.bootstrap import bootstrap
from bot.config import AccessConfig, Config, StorageConfig, TelegramConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import FixedClock
from bot.services import Services
from tests.conftest import DEC1
from tests.support.fake_channel import FakeSender, RecordingConversation

ADMIN = Caller(people.ADMIN, "督查室")


def said(text: str) -> Said:
    return Said(chat_id=ADMIN.user_id, message_id=50, text=text, author_id=ADMIN.user_id)


@pytest.fixture
def workers(pg_dsn: str, tenant: str) -> Iterator[tuple[Services, Services]]:
    """Two workers' services on one county's schema, on one clock."""
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, tenant)
    config = Config(telegram=TelegramConfig(token="123:test"),
                    access=AccessConfig(admins=frozenset({people.ADMIN})),
                    storage=StorageConfig(dir=Path("unused")))
    clock = FixedClock(DEC1)
    stores = [PgDocStore.open(pg_dsn, tenant, max_size=2) for _ in range(2)]
    one, two = (bootstrap(config, store=store, clock=clock, calendar=WorkCalendar(),
                          sender=FakeSender()) for store in stores)
    yield one, two
    for store in stores:
        store.close()


async def answer(worker: Services, text: str, conversation: RecordingConversation) -> None:
    """The admin's message reaches `worker`, which refreshes first as its intake does."""
    assert worker.inbox is not None
    worker.inbox.refresh()
    assert await guarded(worker, conversation, lambda: dialogue.take(
        worker, ADMIN, said(text), conversation))


async def test_each_answer_may_reach_either_worker(workers: tuple[Services, Services]) -> None:
    one, two = workers
    conversation = RecordingConversation()
    await dialogue.add_command(one, ADMIN, said("/add"), conversation)
    await answer(two, "职业中学新校区建设", conversation)
    assert conversation.last == plain(two.messages.t("ask_unit"))
    await answer(one, "县教育局", conversation)
    await answer(two, "周五、钱六", conversation)
    await answer(one, "12月31日", conversation)
    [task] = one.ledger.repo.tasks()
    assert (task.title, task.lead_unit, task.owners, task.deadline) == (
        "职业中学新校区建设", "县教育局", ("周五", "钱六"), date(2026, 12, 31))
    assert two.inbox is not None
    two.inbox.refresh()
    assert dialogue.claim(two, ADMIN, said("县教育局")) is None  # over on both


async def test_a_stale_worker_does_not_take_an_answer_as_the_wrong_step(
        workers: tuple[Services, Services]) -> None:
    one, two = workers
    conversation = RecordingConversation()
    await dialogue.add_command(one, ADMIN, said("/add"), conversation)
    assert two.inbox is not None
    two.inbox.refresh()  # worker two sees the dialogue at its first step …
    await answer(one, "职业中学新校区建设", conversation)
    # … and gets the next answer before it has refreshed: its step (the title) is refused
    # and run again on the dialogue as it is now (the unit).
    said_before = len(conversation.said)
    assert await guarded(two, conversation, lambda: dialogue.take(
        two, ADMIN, said("县教育局"), conversation))
    assert conversation.texts[said_before:] == [plain(two.messages.t("ask_owners"))]
    state = two.dialogues.get(dialogue.add_key(ADMIN.user_id, ADMIN.user_id))
    assert state is not None and state["step"] == "owners"
    assert state["answers"] == {"title": "职业中学新校区建设", "lead_unit": "县教育局"}
