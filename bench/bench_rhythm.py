"""The rhythm: planning one day over a big ledger, and the paced fan-out of 5,000 reminders.

1. `plan` for one day over 10,000 open tasks, on the first workday of a month (2026-12-01:
   also the first workday of its 旬, so 旬 and month reminders fall due) and on an ordinary
   workday (2026-12-02). Median of PLAN_RUNS warm runs; the calendar is built once and its
   one-off cost (resolving a year) is reported separately.
2. The fan-out through the real path: DocStore in a temp dir → bootstrap →
   build_application (HTTPXRequest + ChatRateLimiter) → HTTP → FakeBotApiServer on 127.0.0.1
   enforcing Telegram's flood limits (30 msg/s overall, 1 msg/s per private chat, 20/min per
   group) → the real RhythmDispatcher with the real Pacer and real asyncio.sleep. Exactly
   FANOUT_REMINDERS (task, person) reminders are due across OFFICIALS officials, skewed: every
   BUSY_EVERY-th official draws BUSY_WEIGHT times as many tasks (40+ each), the way unit heads
   carry a county's ledger. 每人每日一条: the dispatch sends one digest per official (split
   only at Telegram's limits), so what is measured is messages sent, the time until the last
   reminder is out, and the message rate against Telegram's 30 msg/s; a schedule model gives
   the same day sent one message per task (as before the digest) for comparison.
   Then the same day is dispatched again: it must send nothing.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    TOKEN,
    TZ,
    Row,
    make_officials,
    make_tasks,
    median_ms,
    percentile,
    timed,
    unit_name,
)
from bot.adapters.docstore import DocStore
from bot.adapters.holidays import default_calendar
from bot.adapters.repository import StoreRepository
from bot.bootstrap import bootstrap
from bot.config import Config, StorageConfig, TelegramConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.clock import FixedClock
from bot.domain.ledger import TASK_COUNTER
from bot.domain.model import Person, Task, TaskStatus, Unit
from bot.domain.ports import Change, Sender
from bot.domain.rhythm import plan, reminder_kind
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.tg.app import build_application
from jobs.dispatch import DispatchReport, RhythmDispatcher
from jobs.pacing import Pacer, interleave

# ---- parameters ------------------------------------------------------------------------------

PLAN_TASKS = 10_000
PLAN_RUNS = 9
PLAN_TARGET_MS = 200.0
FIRST_WORKDAY_OF_MONTH = date(2026, 12, 1)
ORDINARY_WORKDAY = date(2026, 12, 2)
FALLBACK_YEAR_DAY = date(2027, 1, 4)  # chinese-calendar 1.11.0 stops at 2026

OFFICIALS = 500
UNITS = 50
FANOUT_DAY = FIRST_WORKDAY_OF_MONTH
FANOUT_TASKS = 10_000  # ledger size; the due ones beyond FANOUT_REMINDERS are marked not open
FANOUT_REMINDERS = 5_000
TELEGRAM_RATE = 30.0  # msg/s, the limit the fake enforces
RATE_TARGET = 0.9  # achieved / TELEGRAM_RATE
FANOUT_TIMEOUT = 330.0  # seconds; a hung run is reported, never waited on forever
BUSY_EVERY = 20  # every 20th official is a busy one (25 of 500) …
BUSY_WEIGHT = 6.0  # … drawing 6 times as many tasks: about 44 each, the others about 8
DIGEST_TIME_TARGET = 60.0  # s until the last reminder is out (per task it took ~3 min)

_TASK_ID = re.compile(r"\bT\d{4,}\b")


# ---- 1. plan ---------------------------------------------------------------------------------


def bench_plan() -> list[Row]:
    rows: list[Row] = []
    calendar_box: list[WorkCalendar] = []

    def build() -> None:
        calendar = default_calendar()
        calendar.is_workday(FIRST_WORKDAY_OF_MONTH)  # resolves 2026 (chinese-calendar data)
        calendar_box.append(calendar)

    seconds, _ = timed(build)
    calendar = calendar_box[0]
    rows.append(Row("calendar: build + resolve 2026 (official data), one-off",
                    f"{seconds * 1000:.1f} ms"))
    seconds, _ = timed(lambda: calendar.is_workday(FALLBACK_YEAR_DAY))
    rows.append(Row("calendar: resolve 2027 (computed fallback), one-off",
                    f"{seconds * 1000:.1f} ms"))

    officials = make_officials(OFFICIALS, UNITS)
    tasks = make_tasks(PLAN_TASKS, FIRST_WORKDAY_OF_MONTH, officials, seed=1)
    for day, label in ((FIRST_WORKDAY_OF_MONTH, "first workday of month"),
                       (ORDINARY_WORKDAY, "ordinary workday")):
        cold, planned = timed(lambda d=day: plan(tasks, d, d, calendar))
        median, samples = median_ms(lambda d=day: plan(tasks, d, d, calendar), PLAN_RUNS,
                                    warmup=0)
        people = sum(len(p.to) for p in planned)
        rows.append(Row(
            f"plan {day} ({label}), {PLAN_TASKS:,} open tasks, median of {PLAN_RUNS}",
            f"{median:.0f} ms (min {min(samples):.0f}, max {max(samples):.0f}, first "
            f"{cold * 1000:.0f}; {len(planned):,} reminders to {people:,} people)",
            f"< {PLAN_TARGET_MS:.0f} ms", median < PLAN_TARGET_MS))
    return rows


# ---- 2. fan-out: the data --------------------------------------------------------------------


@dataclass
class FanoutData:
    officials: list[Person]
    tasks: list[Task]
    expected: set[tuple[str, str]]  # (task id, person name) due on FANOUT_DAY


def build_fanout_data(calendar: WorkCalendar, *, reminders: int = FANOUT_REMINDERS,
                      seed: int = 2) -> FanoutData:
    """A 10,000-task ledger where exactly `reminders` (task, person) reminders are due on
    FANOUT_DAY, covering every official. Due tasks beyond that are marked 待核账/已销账 (they
    stay in the ledger, not due); owners of the due tasks are re-drawn so that every official
    gets at least one reminder and the rest fall at random, skewed towards the busy ones
    (BUSY_EVERY, BUSY_WEIGHT)."""
    rng = random.Random(seed)
    officials = make_officials(OFFICIALS, UNITS)
    raw = make_tasks(FANOUT_TASKS, FANOUT_DAY, officials, seed=seed)
    remaining = reminders
    due_sizes: dict[str, int] = {}
    for task in raw:
        if reminder_kind(task, FANOUT_DAY, calendar) is None or remaining == 0:
            continue
        size = min(len(task.owners), remaining)
        due_sizes[task.id] = size
        remaining -= size
    if remaining:
        raise RuntimeError(f"the generated ledger has {remaining} too few due reminders")

    coverage = [p.name for p in officials]
    rng.shuffle(coverage)
    names = [p.name for p in officials]
    weights = [BUSY_WEIGHT if i % BUSY_EVERY == 0 else 1.0 for i in range(len(names))]
    unit_of = {p.name: p.unit for p in officials}
    tasks: list[Task] = []
    expected: set[tuple[str, str]] = set()
    for task in raw:
        size = due_sizes.get(task.id)
        if size is None:
            if reminder_kind(task, FANOUT_DAY, calendar) is not None:
                task = task.with_changes(
                    status=rng.choice((TaskStatus.SUBMITTED, TaskStatus.CLOSED)))
            tasks.append(task)
            continue
        owners: list[str] = []
        while len(owners) < size:
            name = coverage.pop() if coverage else rng.choices(names, weights)[0]
            if name not in owners:
                owners.append(name)
        task = task.with_changes(owners=tuple(owners), lead_unit=unit_of[owners[0]])
        tasks.append(task)
        expected.update((task.id, name) for name in owners)
    assert len(expected) == reminders
    return FanoutData(officials, tasks, expected)


def populate(store: DocStore, data: FanoutData, *, chunk: int = 1000) -> None:
    """Write the ledger through the repository (one durable commit per chunk)."""
    repo = StoreRepository(store)
    repo.commit(Change(people=list(data.officials),
                       units=[Unit(unit_name(i)) for i in range(UNITS)],
                       counters={TASK_COUNTER: len(data.tasks)}))
    for start in range(0, len(data.tasks), chunk):
        repo.commit(Change(tasks=data.tasks[start:start + chunk]))


# ---- 2. fan-out: instruments -----------------------------------------------------------------


@dataclass
class TimedSender(Sender):
    """Wraps the real TelegramSender and records (start, end, chat) of every send."""

    inner: Sender
    spans: list[tuple[float, float, int]] = field(default_factory=list)

    async def send(self, chat_id: int, text: str, *args: Any, **kwargs: Any) -> int:
        start = time.monotonic()
        try:
            return await self.inner.send(chat_id, text, *args, **kwargs)
        finally:
            self.spans.append((start, time.monotonic(), chat_id))

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        return await self.inner.send_photo(chat_id, photo, caption)


class LoopLag:
    """Measures how late the event loop wakes a 50 ms sleeper (blocking work on the loop)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(self.interval)
            self.lags.append(time.monotonic() - start - self.interval)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


class RefusalLog:
    """Why the fake answered 429: wraps the fake's flood-limit check (a private detail of
    bot.fakeapi.core, used for diagnostics only) and classifies every refusal."""

    def __init__(self, api: FakeBotApi) -> None:
        # (which limit, gap to the chat's previous accepted send, chat, clock time)
        self.refusals: list[tuple[str, float, int | None, float]] = []
        limiter = getattr(api, "_limiter", None)
        if limiter is None or not hasattr(limiter, "check"):
            return
        inner = limiter.check

        def check(chat_id: int | None, now: float) -> int | None:
            hits = limiter.chat_hits.get(chat_id) if chat_id is not None else None
            gap = now - hits[-1] if hits else float("inf")
            recent = sum(1 for t in limiter.global_hits if t > now - 1.0)
            retry: int | None = inner(chat_id, now)
            if retry is not None:
                if recent >= (limiter.global_per_sec or recent + 1):
                    self.refusals.append(("global", gap, chat_id, now))
                elif chat_id is not None and chat_id < 0:
                    self.refusals.append(("group", gap, chat_id, now))
                else:
                    self.refusals.append(("per-chat", gap, chat_id, now))
            return retry

        limiter.check = check

    def summary(self) -> str:
        if not self.refusals:
            return "none"
        kinds = Counter(kind for kind, *_ in self.refusals)
        parts = [f"{kind} {count}" for kind, count in sorted(kinds.items())]
        gaps = [gap * 1000 for kind, gap, *_ in self.refusals if kind == "per-chat"]
        if gaps:
            parts.append(f"per-chat gaps {min(gaps):.0f}–{max(gaps):.0f} ms after the "
                         "chat's previous message")
        return ", ".join(parts)


def timed_method(obj: Any, name: str, durations: list[float]) -> None:
    """Replace obj.name (an instance attribute shadowing the method) by a timing wrapper."""
    inner: Callable[..., Any] = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - start)

    setattr(obj, name, wrapper)


# ---- 2. fan-out: schedule models (no I/O) ----------------------------------------------------


def pacer_makespan(chats: Iterable[int], per_second: float = 28.0,
                   private_interval: float = 1.0) -> float:
    """When the last send slot of the real Pacer falls, for sends in this order, on fake time."""
    now = [0.0]
    pacer = Pacer(per_second=per_second, private_interval=private_interval,
                  monotonic=lambda: now[0])
    for chat in chats:
        delay = pacer.reserve(chat)
        if delay > 0:
            now[0] += delay
    return now[0]


def ideal_makespan(counts: dict[int, int], per_second: float = 28.0,
                   per_chat_interval: float = 1.0) -> float:
    """A near-optimal schedule under the same two limits: at every global slot send to the
    ready chat with the most messages left."""
    gap = 1.0 / per_second
    remaining = dict(counts)
    ready: list[tuple[int, int]] = [(-n, chat) for chat, n in counts.items()]
    heapq.heapify(ready)
    waiting: list[tuple[float, int]] = []
    now = last = 0.0
    while ready or waiting:
        while waiting and waiting[0][0] <= now + 1e-9:
            _, chat = heapq.heappop(waiting)
            heapq.heappush(ready, (-remaining[chat], chat))
        if not ready:
            now = waiting[0][0]
            continue
        _, chat = heapq.heappop(ready)
        last = now
        remaining[chat] -= 1
        if remaining[chat]:
            heapq.heappush(waiting, (now + per_chat_interval, chat))
        now += gap
    return last


def skewed_makespans(seed: int = 3) -> list[tuple[str, int, float]]:
    """Pacer makespan of 5,000 sends over 500 chats for skewed owner distributions."""
    out = []
    for label in ("unit heads 2x", "lognormal sigma 0.5"):
        rng = random.Random(seed)
        if label.startswith("unit"):
            weights = [2.0 if i % 10 == 0 else 1.0 for i in range(OFFICIALS)]
        else:
            weights = [rng.lognormvariate(0.0, 0.5) for _ in range(OFFICIALS)]
        chats = list(range(OFFICIALS))
        rng.shuffle(chats)
        chats += rng.choices(range(OFFICIALS), weights, k=FANOUT_REMINDERS - OFFICIALS)
        rng.shuffle(chats)  # urgency order is unrelated to the chat
        top = max(Counter(chats).values())
        out.append((label, top, pacer_makespan(interleave(chats, lambda c: c))))
    return out


# ---- 2. fan-out: the run ---------------------------------------------------------------------


@dataclass
class FanoutResult:
    wall: float = 0.0
    last_reminder: float = 0.0  # s from the run's start until the last message was accepted
    per_task_model: float = 0.0  # the same day, one message per task (before the digest)
    per_task_messages: int = 0
    digest_messages_model: int = 0
    reminders_per_official: Counter[str] = field(default_factory=Counter)
    report: DispatchReport | None = None
    second: DispatchReport | None = None
    second_sent_messages: int = 0
    second_wall: float = 0.0
    too_many_requests: int = 0
    duplicates: int = 0
    losses: int = 0
    unexpected: int = 0
    per_chat: Counter[int] = field(default_factory=Counter)
    spans: list[tuple[float, float, int]] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)
    pacer_model: float = 0.0
    pacer_margin_model: float = 0.0
    refusals: str = ""
    refusal_log: RefusalLog | None = None
    ideal_model: float = 0.0
    setup: float = 0.0
    error: str = ""


def analyse_sent(sent: Sequence[dict[str, Any]], name_of_chat: dict[int, str],
                 expected: set[tuple[str, str]], result: FanoutResult) -> None:
    pairs: Counter[tuple[str, str]] = Counter()
    for message in sent:
        chat = message["chat"]["id"]
        ids = set(_TASK_ID.findall(message.get("text", ""))) or {"?"}
        for task_id in ids:  # a digest names each of its tasks (and one again, as an example)
            pairs[(task_id, name_of_chat.get(chat, str(chat)))] += 1
        result.per_chat[chat] += 1
    result.duplicates = sum(n - 1 for n in pairs.values() if n > 1)
    result.losses = len(expected - pairs.keys())
    result.unexpected = len(pairs.keys() - expected)


async def run_fanout(result: FanoutResult, reminders: int = FANOUT_REMINDERS) -> None:
    setup_start = time.monotonic()
    calendar = default_calendar()
    data = build_fanout_data(calendar, reminders=reminders)
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_bench_bot")
    api.rate_limit(global_per_sec=30, per_chat_per_sec=1, per_group_per_min=20)
    refusal_log = result.refusal_log = RefusalLog(api)
    name_of_chat: dict[int, str] = {}
    for person in data.officials:
        assert person.user_id is not None
        api.add_user(person.user_id, person.name)
        api.send_text(person.user_id, "/start")  # the fake only lets the bot write after this
        name_of_chat[person.user_id] = person.name

    with tempfile.TemporaryDirectory(prefix="luoshi-bench-") as tmp, \
            FakeBotApiServer(api) as server:
        store = DocStore.open(Path(tmp) / "data")
        try:
            populate(store, data)
            config = Config(
                telegram=TelegramConfig(token=TOKEN, base_url=server.base_url,
                                        base_file_url=server.base_file_url),
                storage=StorageConfig(dir=Path(tmp) / "data"))
            clock = FixedClock(datetime.combine(FANOUT_DAY, datetime.min.time(), TZ)
                               .replace(hour=9))
            services = bootstrap(config, store=store, clock=clock)
            app = build_application(services)
            await app.initialize()
            try:
                dispatcher: RhythmDispatcher = services.dispatcher
                sender = TimedSender(dispatcher.sender)
                dispatcher.sender = sender
                timed_method(services.ledger.repo, "commit", result.commits)

                model_report = DispatchReport(day=FANOUT_DAY)
                items, _ = dispatcher._collect(dispatcher._due(FANOUT_DAY, model_report),
                                               FANOUT_DAY, model_report)
                result.reminders_per_official = Counter(item.person.name for item in items)
                per_task = [item.chat_id for item in items]
                result.per_task_messages = len(per_task)
                result.per_task_model = pacer_makespan(interleave(per_task, lambda c: c))
                chats = [message.chat_id for message in dispatcher.plan_messages(FANOUT_DAY)]
                result.digest_messages_model = len(chats)
                result.pacer_model = pacer_makespan(interleave(chats, lambda c: c))
                result.pacer_margin_model = pacer_makespan(interleave(chats, lambda c: c),
                                                           private_interval=1.1)
                result.ideal_model = ideal_makespan(Counter(chats))
                result.setup = time.monotonic() - setup_start

                lag = LoopLag()
                lag.start()
                start = time.monotonic()
                result.report = await asyncio.wait_for(dispatcher.run(FANOUT_DAY),
                                                       FANOUT_TIMEOUT)
                result.wall = time.monotonic() - start
                result.last_reminder = max((end for _, end, _ in sender.spans),
                                           default=start) - start
                await lag.stop()
                result.lags = lag.lags
                result.spans = list(sender.spans)
                sent = api.sent
                result.too_many_requests = api.too_many_requests
                result.refusals = refusal_log.summary()
                analyse_sent(sent, name_of_chat, data.expected, result)

                start = time.monotonic()
                result.second = await asyncio.wait_for(dispatcher.run(FANOUT_DAY), 60.0)
                result.second_wall = time.monotonic() - start
                result.second_sent_messages = len(api.sent) - len(sent)
            finally:
                await app.shutdown()
        finally:
            store.close()


def fanout_rows(result: FanoutResult, reminders: int = FANOUT_REMINDERS) -> list[Row]:
    rows: list[Row] = []
    if result.error:
        rows.append(Row("fan-out 5,000 reminders: run", result.error, "completes", False))
    report = result.report
    if report is None:
        return rows
    n = reminders
    messages = report.messages
    rate = messages / result.last_reminder if result.last_reminder else 0.0
    ratio = rate / TELEGRAM_RATE
    chats = result.per_chat
    load = sorted(result.reminders_per_official.values())
    busy = sum(1 for count in load if count >= 40)
    rows.append(Row(
        "fan-out (digest): reminders due, officials, skew",
        f"{report.due:,} reminders to {len(chats)} officials; per official median "
        f"{statistics.median(load) if load else 0:.0f}, max {load[-1] if load else 0}, "
        f"{busy} officials with 40+"))
    rows.append(Row(
        "fan-out (digest): messages sent for 5,000 reminders",
        f"{messages:,} messages carrying {report.sent:,} reminders (failed {report.failed}); "
        f"per task it would be {result.per_task_messages:,}",
        f"1 per official (+ parts at Telegram's limits) = {result.digest_messages_model:,}",
        report.sent == n and messages == result.digest_messages_model))
    rows.append(Row(
        "fan-out (digest): time to the last reminder",
        f"{result.last_reminder:.1f} s (run {result.wall:.1f} s with its outbox writes; "
        f"per task, schedule model: {result.per_task_model:.1f} s)",
        f"<= {DIGEST_TIME_TARGET:.0f} s", result.last_reminder <= DIGEST_TIME_TARGET
        and report.sent == n))
    rows.append(Row("fan-out (digest): message rate / Telegram's 30 msg/s",
                    f"{rate:.2f} msg/s = {ratio:.3f} of the limit "
                    f"({report.sent / max(result.last_reminder, 1e-9):.0f} reminders/s)",
                    "< 1.0 (never above the limit)", ratio < 1.0))
    rows.append(Row("fan-out: 429 Too Many Requests",
                    f"{result.too_many_requests} ({result.refusals or 'not classified'})", "0",
                    result.too_many_requests == 0))
    rows.append(Row("fan-out: duplicates (same task, person twice)", str(result.duplicates),
                    "0", result.duplicates == 0))
    rows.append(Row("fan-out: losses (due, not sent)",
                    f"{result.losses} (unexpected sends: {result.unexpected})", "0",
                    result.losses == 0 and result.unexpected == 0))
    second = result.second
    if second is not None:
        rows.append(Row(
            "fan-out: second run, same day (idempotent)",
            f"{result.second_sent_messages} messages, sent {second.sent}, "
            f"already sent {second.sent_before:,}, {result.second_wall * 1000:.0f} ms",
            "0 messages", result.second_sent_messages == 0 and second.sent == 0
            and second.sent_before == n))
    counts = sorted(chats.values())
    if counts:
        rows.append(Row("fan-out: messages per chat",
                        f"median {statistics.median(counts):.0f}, max {counts[-1]}, "
                        f"min {counts[0]}"))
    sends = result.digest_messages_model
    rows.append(Row(
        "fan-out: schedule model, the digest's sends (no I/O)",
        f"real Pacer + interleave {result.pacer_model:.1f} s "
        f"(ratio {sends / max(result.pacer_model, 1e-9) / TELEGRAM_RATE:.3f}); "
        f"best possible at 28/s + 1 s/chat {result.ideal_model:.1f} s; Pacer with 1.1 s "
        f"per chat {result.pacer_margin_model:.1f} s"))
    top = max(result.reminders_per_official.values(), default=0)
    rows.append(Row(
        "fan-out: schedule model, one message per task (before the digest)",
        f"{result.per_task_messages:,} sends, max {top}/chat: {result.per_task_model:.1f} s"))
    for label, top, makespan in skewed_makespans():
        rows.append(Row(
            f"fan-out: schedule model, per task, skewed owners ({label})",
            f"{FANOUT_REMINDERS:,} sends, max {top}/chat: {makespan:.1f} s (ratio "
            f"{FANOUT_REMINDERS / makespan / TELEGRAM_RATE:.3f})"))
    if result.spans:
        latencies = [(end - start) * 1000 for start, end, _ in result.spans]
        rows.append(Row("fan-out: send latency (HTTP round trip via PTB)",
                        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 "
                        f"{percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"))
        starts = sorted(start for start, _, _ in result.spans)
        cut = int(len(starts) * 0.9)
        head = (starts[cut - 1] - starts[0]) if cut > 1 else 0.0
        tail = starts[-1] - starts[cut - 1]
        rows.append(Row("fan-out: rate of first 90 % / last 10 % of sends",
                        f"{(cut - 1) / head if head else 0:.1f} / "
                        f"{(len(starts) - cut) / tail if tail else 0:.1f} msg/s"))
    if result.lags:
        lags = [lag * 1000 for lag in result.lags]
        rows.append(Row("fan-out: event-loop lag (50 ms probe)",
                        f"p50 {percentile(lags, 0.5):.1f} ms, p99 {percentile(lags, 0.99):.1f} "
                        f"ms, max {max(lags):.1f} ms"))
    if result.commits:
        ms = [c * 1000 for c in result.commits]
        rows.append(Row("fan-out: outbox commits (fsync, on the event loop)",
                        f"{len(ms):,} commits, p50 {percentile(ms, 0.5):.2f} ms, p99 "
                        f"{percentile(ms, 0.99):.2f} ms, total {sum(ms) / 1000:.1f} s"))
    rows.append(Row("fan-out: setup (ledger + store + app)", f"{result.setup:.1f} s"))
    return rows


def bench_fanout(reminders: int = FANOUT_REMINDERS) -> list[Row]:
    result = FanoutResult()
    try:
        asyncio.run(run_fanout(result, reminders))
    except Exception as err:  # report what we have, never hide the failure
        result.error = f"{type(err).__name__}: {err}"
    return fanout_rows(result, reminders)


def run() -> list[Row]:
    return bench_plan() + bench_fanout()


if __name__ == "__main__":
    for row in run():
        print(row)
