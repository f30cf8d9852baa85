"""The sandbox's demo ledger: something to see in every panel from the first minute."""

from __future__ import annotations

from datetime import datetime

from bot.adapters.holidays import default_calendar
from bot.bulletins import make_bulletin
from bot.config import Config
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger
from bot.domain.periods import PeriodKind, period_of
from bot.sandbox import demo
from tests.conftest import TZ
from tests.support.fakes import FakeRepository

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=TZ)


def test_the_demo_has_a_past_xun_and_month_to_report_on() -> None:
    repo = FakeRepository()
    calendar = default_calendar()
    ledger = Ledger(repo, FixedClock(NOW))
    assert demo.seed_demo(ledger, calendar, NOW)
    assert not demo.seed_demo(ledger, calendar, NOW)  # only into an empty ledger
    for kind in (PeriodKind.XUN, PeriodKind.MONTH):
        previous = period_of(kind, NOW.date()).previous()
        bulletin = make_bulletin(repo, calendar, Config(), previous, today=NOW.date())
        assert len(bulletin.units) >= 5, kind  # ranked units, so a chart too
    assert all(t.created_at < NOW for t in repo.tasks())
    # Every demo official is bound: on Telegram, or on 钉钉 only (吴敏), or on both (李娜).
    assert {p.name for p in repo.people() if p.bound} >= {n for n, _u, _i in demo.OFFICIALS}
    on_dingtalk = {p.name for p in repo.people() if p.address_on("dingtalk") is not None}
    assert on_dingtalk and on_dingtalk <= {n for n, _u, _i in demo.OFFICIALS}
