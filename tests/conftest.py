"""What the tests of every level share: the people of the test ledgers (their names and
Telegram user ids), the county's time zone, the usual first day, and the repository's root.

The tests are laid out by level: `unit/` (the domain and the ledger's services on the
FakeRepository, and pure parsers), `store/` (the document store on disk, in-process),
`chat/` (python-telegram-bot driven through the fake Bot API by the Harness), `process/`
(the real `python -m bot` process, started and killed; marked `slow`) and `browser/` (the
sandbox page in chromium). Support code is in `support/`, labelled replies in `data/`.

Import the constants from here (`from tests.conftest import ADMIN, ZHANG`). Each level's
conftest holds its factories: `unit/conftest.py` a ledger on the FakeRepository,
`chat/conftest.py` a bot in the Harness with these people bound.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.postgres import Cluster, binaries, missing_reason

ROOT = Path(__file__).resolve().parent.parent  # the repository
TZ = ZoneInfo("Asia/Shanghai")

# ---- the people: Telegram user ids ------------------------------------------------------------

ADMIN = 1001  # 督查室: the admin of every Harness unless told otherwise
OTHER_ADMIN = 1002  # a second admin (four eyes, decisions taken meanwhile)
ZHANG = 2001  # 张三: 责任人 of most tasks
LI = 2002  # 李四: a second official (co-owner, or not an owner of the task)
WANG = 2003  # 王五: a third official
LEADER = 2900  # 陈副县长: 责任领导
NEW_PHONE = 2777  # 张三's new account (换绑)
STRANGER = 3001  # someone the bot does not know

# Their names in the ledger.
NAMES = {ZHANG: "张三", LI: "李四", WANG: "王五", LEADER: "陈副县长"}

# ---- days -------------------------------------------------------------------------------------

NOV27 = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)  # Fri: where a Harness starts unless told
DEC1 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # Tue: first workday of December and of 上旬


# ---- PostgreSQL (the postgresql store's tests) ------------------------------------------------

_PG_COUNTER = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway cluster for the whole run (tests/support/postgres.py). Skips with a reason
    when PostgreSQL's server programs are missing — except in CI, where that fails."""
    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail(missing_reason())
        pytest.skip(missing_reason())
    with Cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    return pg_cluster.dsn


@pytest.fixture
def tenant() -> str:
    """A schema name of its own for each test (tests share the cluster, never a county)."""
    return f"county_t{os.getpid()}_{next(_PG_COUNTER)}"
