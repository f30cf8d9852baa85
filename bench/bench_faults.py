"""Faults and floods: the real `python -m bot run` process against the fake Bot API over HTTP.

1. SIGKILL trials. TRIALS seeded trials on one store and one fake server: start the bot, a
   burst of BURST replies to reminders from TRIAL_OFFICIALS officials (distinct texts), SIGKILL
   at a seeded moment, restart without any fault, let it finish, stop it (SIGTERM), read the
   store. The moments, each used TRIALS / 4 times in a seeded order:
   * "at once": right after the burst was queued at the fake (before any answer);
   * "random delay": after a seeded 0–600 ms;
   * "mid-burst": once a seeded number (1–25) of the burst's 已记录 answers were sent;
   * "stalled": the first answers get a 429 with retry_after=60 (ChatRateLimiter then holds
     that chat's sends), the intake keeps fetching and storing; killed once
     the fake has no unconfirmed update left (all 30 fetched and stored, none answered).
   Counted over all trials (goal 0 each): lost (a reply neither stored nor answered after the
   restart), applied twice (a reply's text in two reports), confirmed-then-lost (answered
   已记录 but not in the store). Shown too: replies stored but never answered (applied before
   the kill, their answer died with the process), and replies answered twice.
2. Latency of an official's private report (send → the bot's 已记录 answer, stamped where the
   fake executes the sendMessage), the fake enforcing Telegram's limits (`api.rate_limit()`:
   30 msg/s, 1 msg/s per chat, 20 msg/min per group). The official reports in a closed loop,
   each report sent REPORT_SPACING s after the previous answer (so that the official's own
   chat stays under 1 msg/s). Goal p99 ≤ 1 s in each phase:
   * group flood: 60 `/tasks` from a stranger and 60 from a bound official, sent at once in
     the work group (answers there are bound to 20 per minute); the official reports for
     FLOOD_SECONDS, past the group's first minute;
   * dispatch: an admin's `/dispatch` fans out DISPATCH_OFFICIALS reminders (one task due today
     per official; today made a workday, send times at 23:59 so that no job runs by itself);
   * stranger: STRANGER_MESSAGES private messages from a stranger, queued at once; the first
     report is sent right after them (shown apart: how long a report waits while they come).
   Each phase has its own fake server, store and bot process. Diagnostics: the 429s the fake
   gave (by kind of chat), and what each flood achieved.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bench_e2e import Instruments
from bench.bench_store import LedgerData, build_store
from bench.common import TOKEN, TZ, Row, make_officials, one_task_each, percentile
from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.ledger import TASK_COUNTER
from bot.domain.model import Person, Unit
from bot.fakeapi import FakeBotApi, FakeBotApiServer

# ---- parameters ------------------------------------------------------------------------------

SEED = 20261127
TRIALS = 20
BURST = 30
TRIAL_OFFICIALS = 6
MODES = ("at once", "random delay", "mid-burst", "stalled")
STALL_RETRY_AFTER = 60  # s: the 429's retry_after in the "stalled" trials
FINISH_TIMEOUT = 30.0  # s a restarted bot gets to answer what is left of a burst
START_TIMEOUT = 60.0

ADMIN = 1001
STRANGER = 9001
WORK_GROUP = -1_003_000_000_001
GROUP_FLOOD = 60  # /tasks from the stranger, and as many from a bound official
FLOOD_REPORTS = 20  # at least, and for FLOOD_SECONDS (past the group's first minute)
FLOOD_SECONDS = 75.0
DISPATCH_OFFICIALS = 400
DISPATCH_MIN_REPORTS = 8
STRANGER_MESSAGES = 1_000
STRANGER_REPORTS = 12
REPORT_SPACING = 1.1  # s at least between an answer and the next report (1 msg/s per chat)
SPACING_JITTER = 1.0  # s: a seeded random part on top
ANSWER_TIMEOUT = 120.0
TARGET_P99_S = 1.0
ANSWER_MARK = "已记录"

ROOT = Path(__file__).resolve().parent.parent


# ---- the process and its config --------------------------------------------------------------


def write_config(directory: Path, server: FakeBotApiServer, data_dir: Path, *,
                 workday: bool = False) -> Path:
    """The fake's URLs, the store, an admin and the work group. Without `workday` the days
    around now are holidays (no job sends anything); with it today is a workday and every
    send time is 23:59 (nothing runs by itself, /dispatch does)."""
    today = datetime.now(TZ).date()
    if workday:
        calendar = f'extra_workdays = ["{today}"]'
        times = '[rhythm]\nsend_at = "23:59"\n[summary]\nsend_at = "23:59"\n' \
                '[bulletin]\nsend_at = "23:59"\n'
    else:
        holidays = ", ".join(f'"{today + timedelta(days=d)}"' for d in (-1, 0, 1))
        calendar = f"extra_holidays = [{holidays}]"
        times = ""
    path = directory / "config.toml"
    path.write_text(
        f"""
timezone = "Asia/Shanghai"
[telegram]
token = "{TOKEN}"
base_url = "{server.base_url}"
base_file_url = "{server.base_file_url}"
[storage]
dir = "{data_dir}"
[access]
admins = [{ADMIN}]
[chats]
work_group = {WORK_GROUP}
[calendar]
{calendar}
{times}""",
        encoding="utf-8",
    )
    return path


class Bot:
    """`python -m bot run`; started = it registered its command menu (post_init: the store
    is loaded; the replay of what it had received and the polling follow at once)."""

    def __init__(self, config: Path, api: FakeBotApi, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "BOT_CONFIG"}}
        menus = len(api.calls_of("setMyCommands"))
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(config), "run"],
                cwd=config.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            api.wait_until(lambda: len(api.calls_of("setMyCommands")) > menus
                           or self.proc.poll() is not None, timeout=START_TIMEOUT)
        except TimeoutError:
            self.kill()
            raise
        if self.proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-800:]
            raise RuntimeError(f"the bot exited with {self.proc.returncode}: {tail}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


def seed(directory: Path, officials: Sequence[Person], deadlines: Sequence[date | None]) -> None:
    """A closed store: the officials (bound) and one open task each, due on its deadline."""
    tasks = [one_task_each([person], deadline, first_number=number)[0]
             for number, (person, deadline) in enumerate(zip(officials, deadlines,
                                                             strict=True), 1)]
    units = sorted({p.unit for p in officials})
    build_store(directory, LedgerData(officials=list(officials),
                                      units=[Unit(u) for u in units], tasks=tasks, history=[],
                                      reports=[], counters={TASK_COUNTER: len(tasks)}))


@contextmanager
def read_store(directory: Path) -> Iterator[StoreRepository]:
    store = DocStore.open(directory, writable=False)
    try:
        yield StoreRepository(store)
    finally:
        store.close()


def new_api(people: Sequence[Person], *, username: str) -> FakeBotApi:
    api = FakeBotApi(token=TOKEN, bot_username=username)
    api.add_user(ADMIN, "王主任")
    api.start_chat(ADMIN)
    for person in people:
        assert person.user_id is not None
        api.add_user(person.user_id, person.name)
        api.start_chat(person.user_id)
    return api


def clear_faults(api: FakeBotApi) -> None:
    """Use up the injected sendMessage faults still queued (on a chat that does not exist)."""
    while api.call("sendMessage", {"chat_id": 999_999_999, "text": "-"},
                   record=False)[0] == 429:
        pass


def place_reminder(api: FakeBotApi, user_id: int, task_id: str, title: str) -> dict[str, Any]:
    """A reminder in the official's chat, as the bot sends it (they reply to it)."""
    text = f"🟡【旬调度】{task_id} {title}\n直接回复本消息报送，例如“进度80%”“已完成”“困难：……”"
    status, answer = api.call("sendMessage", {"chat_id": user_id, "text": text}, record=False)
    if status != 200:
        raise RuntimeError(f"could not place a reminder: {answer}")
    return dict(answer["result"])


# ---- 1. SIGKILL trials -----------------------------------------------------------------------


@dataclass
class TrialCounts:
    replies: int = 0
    lost: int = 0
    twice: int = 0
    confirmed_lost: int = 0
    stored_unanswered: int = 0
    answered_twice: int = 0
    unconfirmed_at_kill: int = 0  # updates the fake still held unconfirmed when the bot died
    modes: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def answered(api: FakeBotApi, start: int) -> list[str]:
    """The texts the bot's 已记录 answers since `sent[start]` quote, one per answer."""
    return [str(m.get("reply_to_message", {}).get("text", "")) for m in api.sent[start:]
            if ANSWER_MARK in str(m.get("text", ""))]


def sigkill_trials(tmp: Path) -> TrialCounts:
    rng = random.Random(SEED)
    officials = make_officials(TRIAL_OFFICIALS, units=3, first_user_id=2300)
    api = new_api(officials, username="luoshi_faults_bot")
    data = tmp / "trials" / "data"
    data.parent.mkdir()
    seed(data, officials, [date(2027, 6, 30)] * len(officials))
    counts = TrialCounts()
    with FakeBotApiServer(api) as server:
        server.start()
        config = write_config(data.parent, server, data)
        log = data.parent / "bot.log"
        reminders = {p.user_id: place_reminder(api, p.user_id or 0, f"T{n:04d}", "重点工作")
                     for n, p in enumerate(officials, 1)}
        modes = [mode for mode in MODES for _ in range(TRIALS // len(MODES))]
        rng.shuffle(modes)
        for trial, mode in enumerate(modes, 1):
            counts.modes[mode] += 1
            trial_once(api, config, data, log, reminders, officials, trial, mode, rng, counts)
    return counts


def trial_once(api: FakeBotApi, config: Path, data: Path, log: Path,
               reminders: dict[int | None, dict[str, Any]], officials: Sequence[Person],
               trial: int, mode: str, rng: random.Random, counts: TrialCounts) -> None:
    texts = [f"第{trial:02d}轮第{k + 1:02d}条：已召开协调会，推进{rng.choice('甲乙丙丁')}项"
             for k in range(BURST)]
    bot = Bot(config, api, log)
    start = len(api.sent)
    try:
        if mode == "stalled":
            api.fail_next("sendMessage", 429, retry_after=STALL_RETRY_AFTER, count=BURST)
        for k, text in enumerate(texts):
            user_id = officials[k % len(officials)].user_id
            assert user_id is not None
            api.send_text(user_id, text, reply_to=reminders[user_id])
        if mode == "random delay":
            time.sleep(rng.uniform(0.0, 0.6))
        elif mode == "mid-burst":
            enough = rng.randint(1, 25)
            api.wait_until(lambda: len(answered(api, start)) >= enough, timeout=FINISH_TIMEOUT)
        elif mode == "stalled":
            api.wait_until(lambda: not api.pending_updates, timeout=FINISH_TIMEOUT)
            if answered(api, start):
                counts.notes.append(f"trial {trial}: answers went out despite the stall")
    finally:
        bot.kill()
    counts.unconfirmed_at_kill += len(api.pending_updates)
    clear_faults(api)
    with read_store(data) as repo:
        stored_at_kill = {r.text for r in repo.reports()}
    owed = [t for t in texts if t not in stored_at_kill]  # must be answered after the restart
    bot = Bot(config, api, log)
    try:
        try:
            api.wait_until(lambda: set(owed) <= set(answered(api, start))
                           and not api.pending_updates, timeout=FINISH_TIMEOUT)
        except TimeoutError:
            counts.notes.append(f"trial {trial} ({mode}): not finished within "
                                f"{FINISH_TIMEOUT:.0f} s")
    finally:
        if bot.stop() != 0:
            counts.notes.append(f"trial {trial}: the bot did not stop cleanly")
    with read_store(data) as repo:
        stored = Counter(r.text for r in repo.reports())
    answers = Counter(answered(api, start))
    for text in texts:
        counts.replies += 1
        if not stored[text] and not answers[text]:
            counts.lost += 1
        if stored[text] > 1:
            counts.twice += 1
        if answers[text] and not stored[text]:
            counts.confirmed_lost += 1
        if stored[text] and not answers[text]:
            counts.stored_unanswered += 1
        if answers[text] > 1:
            counts.answered_twice += 1


def trial_rows(counts: TrialCounts) -> list[Row]:
    modes = ", ".join(f"{mode} ×{n}" for mode, n in counts.modes.items())
    head = f"SIGKILL trials ({sum(counts.modes.values())}: {modes}), {counts.replies} replies"
    rows = [
        Row(f"{head}: lost (neither stored nor answered)", str(counts.lost), "0",
            counts.lost == 0),
        Row("  applied twice (one reply in two reports)", str(counts.twice), "0",
            counts.twice == 0),
        Row("  confirmed then lost (已记录 sent, not in the store)", str(counts.confirmed_lost),
            "0", counts.confirmed_lost == 0),
        Row("  stored but never answered (applied before the kill; its answer died with it)",
            str(counts.stored_unanswered)),
        Row("  answered twice", str(counts.answered_twice)),
        Row("  replies not yet fetched (or not confirmed) at the kill: for the next start",
            str(counts.unconfirmed_at_kill)),
    ]
    if counts.notes:
        rows.append(Row("  notes", "; ".join(counts.notes[:5]), "none", False))
    return rows


# ---- 2. an official's report under floods ----------------------------------------------------


def wait_answer(inst: Instruments, chat_id: int, index: int, timeout: float) -> float:
    """When the chat got its first 已记录 from message number `index` on (monotonic)."""
    deadline = time.monotonic() + timeout
    with inst.cond:
        while True:
            for at, text in inst.by_chat.get(chat_id, [])[index:]:
                if ANSWER_MARK in text:
                    return at
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no 已记录 in chat {chat_id} within {timeout:.0f} s")
            inst.cond.wait(remaining)


def report_loop(api: FakeBotApi, inst: Instruments, user_id: int, rng: random.Random, *,
                label: str, count: int = 0,
                until: Callable[[], bool] | None = None) -> list[float]:
    """Reports in a closed loop, each sent REPORT_SPACING s plus a seeded 0–SPACING_JITTER s
    after the previous answer (the jitter keeps the reports from falling into step with
    anything periodic in the bot): at least `count` of them, and on until `until()`; returns
    their latencies in seconds."""
    latencies: list[float] = []
    last = 0.0
    while len(latencies) < count or (until is not None and not until()):
        pause = last + REPORT_SPACING + rng.uniform(0.0, SPACING_JITTER) - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        index = inst.count(user_id)
        sent = time.monotonic()
        api.send_text(user_id, f"{label}第{len(latencies) + 1}次：按计划推进")
        last = wait_answer(inst, user_id, index, ANSWER_TIMEOUT)
        latencies.append(last - sent)
    return latencies


def too_many(api: FakeBotApi) -> str:
    kinds: Counter[str] = Counter()
    for method, params, error in api.errors:
        if error.get("error_code") == 429:
            chat = int(params.get("chat_id", 0) or 0)
            kinds["group" if chat < 0 else "private" if chat > 0 else method] += 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"


def latency_row(name: str, latencies: Sequence[float], extra: str = "") -> Row:
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    figure = (f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max "
              f"{max(latencies) * 1000:.0f} ms ({len(latencies)} reports{extra})")
    return Row(name, figure, f"p99 <= {TARGET_P99_S:.0f} s", p99 <= TARGET_P99_S)


@dataclass
class Phase:
    api: FakeBotApi
    inst: Instruments
    bot: Bot
    official: int  # the official whose reports are timed
    rng: random.Random  # the jitter of their reports


@contextmanager
def phase(tmp: Path, name: str, people: Sequence[Person], deadlines: Sequence[date | None],
          *, workday: bool = False) -> Iterator[Phase]:
    """A fresh store, fake server (Telegram's limits on) and bot process; the last person is
    the official whose reports are timed."""
    directory = tmp / name
    directory.mkdir()
    seed(directory / "data", people, deadlines)
    api = new_api(people, username="luoshi_flood_bot")
    api.add_user(STRANGER, "陌生人")
    api.add_group(WORK_GROUP, "县重点工作群")
    inst = Instruments(api)
    with FakeBotApiServer(api) as server:
        server.start()
        config = write_config(directory, server, directory / "data", workday=workday)
        bot = Bot(config, api, directory / "bot.log")
        try:
            official = people[-1].user_id
            assert official is not None
            rng = random.Random(f"{SEED}-{name}")
            report_loop(api, inst, official, rng, label="预热", count=2)  # warm-up, not timed
            api.rate_limit()  # Telegram's limits from now on
            yield Phase(api, inst, bot, official, rng)
        finally:
            bot.kill()


def group_flood(tmp: Path) -> list[Row]:
    people = make_officials(2, units=2, first_user_id=2400)
    member, official = people[0].user_id, people[1].user_id
    assert member is not None and official is not None
    with phase(tmp, "group-flood", people, [date(2027, 6, 30)] * 2) as p:
        start = len(p.api.sent)
        begun = time.monotonic()
        for _ in range(GROUP_FLOOD):
            p.api.send_text(STRANGER, "/tasks", chat_id=WORK_GROUP)
            p.api.send_text(member, "/tasks", chat_id=WORK_GROUP)
        latencies = report_loop(
            p.api, p.inst, official, p.rng, label="群刷屏时", count=FLOOD_REPORTS,
            until=lambda: time.monotonic() - begun >= FLOOD_SECONDS)
        seconds = time.monotonic() - begun
        in_group = sum(1 for m in p.api.sent[start:] if m["chat"]["id"] == WORK_GROUP)
        return [latency_row(f"report latency while {GROUP_FLOOD} /tasks from a stranger and "
                            f"{GROUP_FLOOD} from an official flood the work group", latencies),
                Row("  meanwhile: answers in the group / 429s from the fake",
                    f"{in_group} in {seconds:.0f} s (20/min allowed) / {too_many(p.api)}")]


def dispatch_flood(tmp: Path) -> list[Row]:
    today = datetime.now(TZ).date()
    people = make_officials(DISPATCH_OFFICIALS + 1, units=40, first_user_id=700_000)
    # The timed official's task is due in a later quarter: no reminder for them today.
    deadlines: list[date | None] = [today] * DISPATCH_OFFICIALS + [today + timedelta(days=200)]
    with phase(tmp, "dispatch", people, deadlines, workday=True) as p:
        start = len(p.api.sent)
        begun = time.monotonic()
        p.api.send_text(ADMIN, "/dispatch")

        def reported() -> bool:
            return any("应发" in str(m.get("text", "")) for m in p.api.sent[start:]
                       if m["chat"]["id"] == ADMIN)

        latencies = report_loop(p.api, p.inst, p.official, p.rng, label="调度时",
                                count=DISPATCH_MIN_REPORTS, until=reported)
        p.api.wait_until(reported, timeout=ANSWER_TIMEOUT)
        fan_out = time.monotonic() - begun
        ids = {person.user_id for person in people[:DISPATCH_OFFICIALS]}
        reminders = sum(1 for m in p.api.sent[start:] if m["chat"]["id"] in ids)
        report = next(str(m.get("text")) for m in p.api.sent[start:]
                      if m["chat"]["id"] == ADMIN and "应发" in str(m.get("text", "")))
        return [latency_row(f"report latency while /dispatch sends {DISPATCH_OFFICIALS} "
                            "reminders", latencies),
                Row("  meanwhile: reminders sent / fan-out (/dispatch → the admin's report) / "
                    "429s", f"{reminders} in {fan_out:.1f} s ({reminders / fan_out:.1f} msg/s; "
                    f"{report.splitlines()[0]}) / {too_many(p.api)}",
                    f"{DISPATCH_OFFICIALS} sent", reminders == DISPATCH_OFFICIALS)]


def stranger_flood(tmp: Path) -> list[Row]:
    people = make_officials(1, units=1, first_user_id=2500)
    with phase(tmp, "stranger", people, [date(2027, 6, 30)]) as p:
        start = len(p.api.sent)
        drained_at: list[float] = []

        def watch() -> None:  # when the intake has fetched (and confirmed) all of them
            try:
                p.api.wait_until(lambda: not p.api.pending_updates, timeout=ANSWER_TIMEOUT)
                drained_at.append(time.monotonic())
            except TimeoutError:
                pass

        began = time.monotonic()
        for n in range(STRANGER_MESSAGES):
            p.api.send_text(STRANGER, f"你好{n}")
        queued = time.monotonic() - began
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        latencies = report_loop(p.api, p.inst, p.official, p.rng, label="陌生人刷屏时",
                                count=STRANGER_REPORTS)
        watcher.join(timeout=ANSWER_TIMEOUT)
        drain = f"{drained_at[0] - began:.1f} s" if drained_at else "not within the timeout"
        to_stranger = sum(1 for m in p.api.sent[start:] if m["chat"]["id"] == STRANGER)
        return [
            Row(f"report sent right after {STRANGER_MESSAGES:,} private messages from a "
                "stranger: its wait",
                f"{latencies[0] * 1000:.0f} ms (queued in {queued:.2f} s; the intake had "
                f"fetched them all {drain} after the first)",
                f"<= {TARGET_P99_S:.0f} s", latencies[0] <= TARGET_P99_S),
            latency_row("  report latency during and after them", latencies),
            Row("  meanwhile: answers to the stranger / 429s", f"{to_stranger} / "
                f"{too_many(p.api)}"),
        ]


# ---- run -------------------------------------------------------------------------------------


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-faults-") as name:
        tmp = Path(name)
        try:
            rows += trial_rows(sigkill_trials(tmp))
        except Exception as err:  # report what we have, never hide the failure
            rows.append(Row("SIGKILL trials", f"{type(err).__name__}: {err}", "completes",
                            False))
        for part in (group_flood, dispatch_flood, stranger_flood):
            try:
                rows += part(tmp)
            except Exception as err:
                rows.append(Row(part.__name__, f"{type(err).__name__}: {err}", "completes",
                                False))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
