"""Province scale (issue 16): many counties in one PostgreSQL cluster, webhook workers, one
planner at a time — and the same county-scale figures on TinyDB beside them.

Everything runs on this machine: a throwaway PostgreSQL cluster (tests/support/postgres.py
`Cluster(durable=True)`: fsync on, as in production) and the fake Bot API on 127.0.0.1, whose
webhook poster (bot/fakeapi/webhook.py) plays Telegram posting updates to a load balancer's
workers. If PostgreSQL's server programs are missing the module says so in one row.

The county: bench_store's `realistic_data` at 10,000 tasks with one 建账 history record per
task (10,000), 500 bound officials in 50 units, no reports and no outbox (a fresh province).
Built once into a TinyDB store (the template); every tenant of the province holds the same
documents.

1. **Load**: 100 tenants (one schema per county) in one cluster. The first county is moved the
   way an operator does it, `python -m bot migrate --from-tinydb DIR` (a process: migrate,
   then COPY from the TinyDB store); the other 99 are migrated and COPYed from the same rows,
   encoded once, two connections at a time (one transaction per county); then VACUUM
   (ANALYZE) and a CHECKPOINT, so that neither autovacuum nor the load's writes run beside the
   replies. Reported: the times, `pg_database_size`, one tenant's tables, and the TinyDB
   store's size for comparison.
2. **Replies, 3 webhook workers** of one tenant: real `python -m bot run --listen` processes on
   the PostgreSQL backend (`DATABASE_URL` in the environment, after `python -m bot migrate`),
   the fake's webhook poster spreading updates over the three at random (a load balancer).
   An open loop of 50 replies a second for REPLY_SECONDS, round-robin over the 500 officials
   (each chat gets one every 10 s: under the 1 msg/s per chat rule), each a reply to a
   reminder of the official's own task. Latency: from the update being queued at the fake to
   the worker's 已记录 confirmation arriving at the fake (bench_e2e's `Instruments`). The fake
   has no flood limit; each worker's own send limiter allows 29 msg/s, so about 17 a second
   each is below it. Telegram itself would hold one token to 30 msg/s: the figure is the
   bot's own latency, against the goal of 50 ms.
3. **Takeover**: the worker holding the planner lock (asked with `planner_holder`) is
   SIGKILLed; the time until another worker logs that it is now the planner (read from its
   log as it is written, no polling), then confirmed with `planner_holder`. Twice: three
   workers → two → one. The lock's default period (5 s).
4. **One worker, PostgreSQL vs TinyDB, same load**: the surviving PostgreSQL worker, then one
   TinyDB webhook worker on a copy of the template store, each under 20 replies a second
   (below one worker's send limiter) for SINGLE_SECONDS: the directly comparable pair.
5. **Planning one county's day** (2026-12-01: first workday of a month and of its 旬), in
   this process, PostgreSQL tenant vs TinyDB copy side by side: opening the county, the
   RhythmDispatcher's plan (`plan_messages`, median of 5), and the full dispatch — plan,
   every message sent through a fake sender paced by the real Pacer on fake time, every
   outbox record committed — then the same day again (sends nothing).

Scaled down: nothing; the whole module takes about 2 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from bench.bench_e2e import (
    ANSWER_FIGURE,
    ANSWER_MARK,
    REPLY_TEXT,
    Instruments,
    Official,
    prepare_chats,
)
from bench.bench_store import BASE_DAY, LedgerData, build_store, realistic_data, store_bytes
from bench.common import TOKEN, TZ, Row, cpu_count, percentile
from bot.adapters.docstore import DocStore
from bot.adapters.pg_migrate import migrate
from bot.adapters.planner_lock import planner_holder
from bot.adapters.postgres import PgDocStore
from bot.adapters.store_files import raw
from bot.bootstrap import bootstrap
from bot.config import Config, StorageConfig
from bot.domain.clock import FixedClock
from bot.domain.ports import Buttons, Sender
from bot.domain.rhythm import plan
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from jobs.pacing import Pacer
from tests.support.postgres import Cluster, binaries

# ---- parameters ------------------------------------------------------------------------------

TENANTS = 100
TASKS = 10_000
HISTORY = 10_000  # one 建账 record per task
TENANT = "county_000"  # the workers' county (moved with `migrate --from-tinydb`)
PLAN_TENANT = "county_001"  # the planning benchmark's county (loaded by COPY)
LOAD_CONNECTIONS = 2  # counties loaded at once (2 cores)
WORKERS = 3
REPLY_RATE = 50.0  # replies a second, open loop, over the three workers
REPLY_SECONDS = 25.0
SINGLE_RATE = 20.0  # one worker: below its send limiter (29 msg/s)
SINGLE_SECONDS = 20.0
WARMUP_REPLIES = 60  # per phase, at WARMUP_RATE, not counted
WARMUP_RATE = 20.0
TAKEOVERS = 2
PLAN_DAY = BASE_DAY  # 2026-12-01
PLAN_RUNS = 5
TARGET_REPLY_P99_MS = 50.0
TARGET_TINYDB_P99_MS = 30.0  # bench_e2e's target for one process at 10,000 tasks
TARGET_TAKEOVER_S = 30.0
TARGET_PLAN_MS = 200.0  # bench_rhythm's target for planning a day
START_TIMEOUT = 120.0
ANSWER_TIMEOUT = 20.0
TAKEOVER_TIMEOUT = 60.0
SECRET = "bench-Webhook_secret-0123456789"
PLANNER_MARK = b"is now the planner"
LOCAL = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCAL, 0))
        return int(probe.getsockname()[1])


def _p(ms: Sequence[float]) -> str:
    return (f"p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
            f"max {max(ms):.1f} ms (n={len(ms):,})")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size < 10e9 else f"{size / 1e9:,.1f} GB"


# ---- the county and its rows -----------------------------------------------------------------


def county_data() -> LedgerData:
    """bench_store's realistic county at TASKS tasks and HISTORY records, without outbox."""
    return dataclasses.replace(realistic_data(TASKS, HISTORY), outbox=[])


def _copy_text(value: str) -> str:
    """A value in COPY's text format."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def encoded_rows(directory: Path) -> tuple[bytes, bytes, dict[str, int]]:
    """The TinyDB store's documents and history as COPY text for the ``docs (tbl, key, doc,
    seq)`` and ``history (seq, i, key, rec)`` tables, exactly as `copy_from_tinydb` writes them
    (bot/adapters/pg_migrate.py), and the documents per table."""
    store = DocStore.open(directory, writable=False)
    try:
        docs: list[str] = []
        counts: dict[str, int] = {}
        for table in store.tables():
            items = store.all(table)
            counts[table] = len(items)
            docs += [f"{_copy_text(table)}\t{_copy_text(key)}\t"
                     f"{_copy_text(raw(doc).decode('utf-8'))}\t1\n" for key, doc in items.items()]
        history: list[str] = []
        for key in store.history_keys():
            for rec in store.history(key):
                history.append(f"1\t{len(history)}\t{_copy_text(key)}\t"
                               f"{_copy_text(raw(rec).decode('utf-8'))}\n")
    finally:
        store.close()
    return "".join(docs).encode("utf-8"), "".join(history).encode("utf-8"), counts


def load_county(dsn: str, tenant: str, docs: bytes, history: bytes) -> None:
    """Migrate `tenant` and COPY the encoded rows into it, in one transaction."""
    with psycopg.connect(dsn, autocommit=True, application_name="luoshi bench load") as conn:
        migrate(conn, tenant)
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(sql.SQL("COPY {} (tbl, key, doc, seq) FROM STDIN")
                          .format(sql.Identifier(tenant, "docs"))) as copy:
                copy.write(docs)
            with cur.copy(sql.SQL("COPY {} (seq, i, key, rec) FROM STDIN")
                          .format(sql.Identifier(tenant, "history"))) as copy:
                copy.write(history)
            cur.execute(sql.SQL("UPDATE {} SET seq = 1").format(sql.Identifier(tenant, "meta")))


# ---- processes -------------------------------------------------------------------------------


def bot_env(dsn: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"BOT_TOKEN", "BOT_CONFIG", "DATABASE_URL"}}
    env["TELEGRAM_WEBHOOK_SECRET"] = SECRET
    if dsn is not None:
        env["DATABASE_URL"] = dsn
    return env


def write_config(path: Path, server: FakeBotApiServer, *, tenant: str | None,
                 data_dir: Path) -> Path:
    """A webhook worker's config: the fake's URLs, the PostgreSQL tenant (the DSN comes from
    DATABASE_URL) or the TinyDB store, and no workday around now (no scheduled job sends
    anything during the benchmark, also not a new planner's catch-up)."""
    today = datetime.now(TZ).date()
    holidays = ", ".join(f'"{today + timedelta(days=d)}"' for d in (-1, 0, 1))
    storage = (f'backend = "postgresql"\ntenant = "{tenant}"\n' if tenant is not None
               else f'dir = "{data_dir}"\n')
    path.write_text(f"""
timezone = "Asia/Shanghai"
[telegram]
token = "{TOKEN}"
base_url = "{server.base_url}"
base_file_url = "{server.base_file_url}"
mode = "webhook"
webhook_url = "http://{LOCAL}:{free_port()}/telegram/hook"
[storage]
{storage}[calendar]
extra_holidays = [{holidays}]
""", encoding="utf-8")
    return path


class Gains:
    """When each worker logged that it became the planner (monotonic, this process's clock
    reading the line as it is written), shared by the workers' log readers."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[tuple[float, Worker]] = []

    def add(self, worker: Worker) -> None:
        with self.cond:
            self.events.append((time.monotonic(), worker))
            self.cond.notify_all()

    def wait_after(self, since: float, timeout: float) -> tuple[float, Worker]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                later = [e for e in self.events if e[0] > since]
                if later:
                    return later[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no worker became the planner within {timeout:.0f} s")
                self.cond.wait(remaining)


class Worker:
    """`python -m bot --config X run --listen 127.0.0.1:PORT`; its output goes through a
    pipe to a reader thread (into `log`), which tells `gains` when it becomes the planner."""

    def __init__(self, config: Path, env: dict[str, str], log: Path, gains: Gains) -> None:
        self.port = free_port()
        self.listen = f"{LOCAL}:{self.port}"
        self.url = f"http://{self.listen}/telegram/hook"
        self.log = log
        self.gains = gains
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--listen",
             self.listen], cwd=config.parent, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        with self.log.open("ab") as out:
            for line in pipe:
                out.write(line)
                out.flush()
                if PLANNER_MARK in line:
                    self.gains.add(self)

    def tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-400:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        return self.proc.returncode


def start_workers(api: FakeBotApi, server: FakeBotApiServer, config: Path,
                  env: dict[str, str], logs: Path, gains: Gains, count: int,
                  label: str) -> tuple[list[Worker], float]:
    """`count` workers, the poster's targets set to them; returns them and the seconds from
    the first spawn until all of them registered the webhook (they serve before that)."""
    before = len(api.calls_of("setWebhook"))
    workers: list[Worker] = []
    try:
        for n in range(count):
            workers.append(Worker(config, env, logs / f"{label}-{n}.log", gains))
        server.webhook.configure(targets=[w.url for w in workers])
        api.wait_until(lambda: len(api.calls_of("setWebhook")) >= before + count
                       or any(not w.alive() for w in workers), timeout=START_TIMEOUT)
    except BaseException:
        for worker in workers:
            worker.kill()
        raise
    dead = [w for w in workers if not w.alive()]
    if dead:
        for worker in workers:
            worker.kill()
        raise RuntimeError(f"a {label} worker exited ({dead[0].proc.returncode}): "
                           f"{dead[0].tail()}")
    return workers, time.monotonic() - workers[0].spawned


# ---- what else ran -----------------------------------------------------------------------------


class CpuMeter:
    """Busy CPU seconds over a phase: the whole machine's (/proc/stat) and this benchmark's
    processes' (this process, its children — the workers — and the PostgreSQL server's
    processes); the rest is other work on the machine, which the latencies pay for too."""

    def __init__(self, roots: Callable[[], list[int]]) -> None:
        self.roots = roots
        self.tick = float(os.sysconf("SC_CLK_TCK"))
        self._start = (0.0, 0.0, 0.0, 0.0)

    def _machine(self) -> tuple[float, float]:
        """(busy, steal) seconds of all CPUs: user, nice, system, irq, softirq; and the time
        the hypervisor gave to other guests."""
        with open("/proc/stat", encoding="ascii") as f:
            fields = [float(x) for x in f.readline().split()[1:9]]
        return sum(fields[:3] + fields[5:7]) / self.tick, fields[7] / self.tick

    def _ours(self) -> float:
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", encoding="ascii",
                          errors="replace") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry.name)
            parents[pid] = int(rest[1])
            # utime + stime, and cutime + cstime: the children it reaped (a worker killed,
            # PostgreSQL's backends and autovacuum workers that ended) stay counted
            times[pid] = sum(int(x) for x in rest[11:15]) / self.tick
        ours = set(self.roots())
        grew = True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in ours} - ours
            grew = bool(more)
            ours |= more
        return sum(times.get(pid, 0.0) for pid in ours)

    def start(self) -> None:
        self._start = (time.monotonic(), *self._machine(), self._ours())

    def figure(self) -> str:
        wall = time.monotonic() - self._start[0]
        busy, steal = self._machine()
        busy, steal = busy - self._start[1], steal - self._start[2]
        ours = self._ours() - self._start[3]
        return (f"this benchmark's processes {ours:.1f} s, other processes "
                f"{max(0.0, busy - ours):.1f} s, of {wall * cpu_count():.0f} core-seconds"
                + (f" (and {steal:.1f} s stolen by the hypervisor)" if steal >= 0.5 else ""))


def postmaster(data: Path) -> int | None:
    """The PostgreSQL server's main process (its children are the backends)."""
    try:
        return int((data / "postmaster.pid").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ---- replies ---------------------------------------------------------------------------------


@dataclass
class Load:
    sends: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms
    missing: int = 0  # no answer within ANSWER_TIMEOUT
    wrong: list[str] = field(default_factory=list)  # answers that were not the confirmation
    extra: int = 0  # answers beyond one per reply (a reply confirmed twice)
    per_target: Counter[str] = field(default_factory=Counter)  # deliveries per worker
    refused: int = 0  # POSTs not answered 2xx
    cpu: str = ""  # CpuMeter's figure over the load


def open_loop(server: FakeBotApiServer, inst: Instruments, officials: Sequence[Official],
              rate: float, *, seconds: float | None = None, count: int | None = None,
              offset: int = 0, meter: CpuMeter | None = None) -> Load:
    """Replies at `rate` a second (open loop: not waiting for answers), round-robin over the
    officials, for `seconds` or `count` replies; then every answer is awaited."""
    api = server.api
    result = Load()
    first = {o.user_id: inst.count(o.user_id) for o in officials}
    deliveries = len(server.webhook.deliveries)
    sent: dict[int, list[float]] = {}
    period = 1.0 / rate
    if meter is not None:
        meter.start()
    start = next_at = time.monotonic()
    k = 0
    while (count is None or k < count) and (seconds is None
                                            or time.monotonic() - start < seconds):
        n = offset + k
        official = officials[n % len(officials)]
        reminder = official.reminders[(n // len(officials)) % len(official.reminders)]
        at = time.monotonic()
        api.send_text(official.user_id, REPLY_TEXT, reply_to=reminder)
        sent.setdefault(official.user_id, []).append(at)
        k += 1
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing the load generator
    result.seconds = time.monotonic() - start
    result.sends = k
    deadline = time.monotonic() + ANSWER_TIMEOUT
    with inst.cond:
        for official in officials:
            uid = official.user_id
            expected = first[uid] + len(sent.get(uid, ()))
            while len(inst.by_chat.get(uid, ())) < expected:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                inst.cond.wait(remaining)
        for official in officials:
            uid = official.user_id
            answers = inst.by_chat.get(uid, [])[first[uid]:]
            mine = sent.get(uid, [])
            result.extra += max(0, len(answers) - len(mine))
            for n, at in enumerate(mine):
                if n >= len(answers):
                    result.missing += 1
                    continue
                answered, text = answers[n]
                if ANSWER_MARK in text and ANSWER_FIGURE in text:
                    result.latencies.append((answered - at) * 1000)
                else:
                    result.wrong.append(text[:80])
    if meter is not None:
        result.cpu = meter.figure()
    with api._lock:  # the poster appends under the api's lock
        done = list(server.webhook.deliveries[deliveries:])
    result.per_target = Counter(d.url for d in done if d.ok)
    result.refused = sum(1 for d in done if not d.ok)
    return result


def load_rows(name: str, load: Load, target_ms: float,
              names: dict[str, str] | None = None) -> list[Row]:
    ms = load.latencies
    complete = (len(ms) == load.sends and not load.missing and not load.wrong
                and not load.extra)
    figure = _p(ms) if ms else "no confirmation"
    figure += f"; {load.sends / load.seconds:.1f} replies/s over {load.seconds:.0f} s"
    if not complete:
        figure += (f"; {load.missing} unanswered, {len(load.wrong)} other answers, "
                   f"{load.extra} extra")
        if load.wrong:
            figure += f", e.g. {load.wrong[0]!r}"
    rows = [Row(name, figure, f"p99 <= {target_ms:.0f} ms, all confirmed once",
                complete and bool(ms) and percentile(ms, 0.99) <= target_ms)]
    if names and len(names) > 1:
        spread = ", ".join(f"{names.get(url, url)} {n}" for url, n in
                           sorted(load.per_target.items(), key=lambda x: names.get(x[0], x[0])))
        rows.append(Row("  deliveries per worker (the poster's random choice)",
                        f"{spread}; POSTs not answered 2xx: {load.refused}"))
    elif load.refused:
        rows.append(Row("  POSTs not answered 2xx", str(load.refused)))
    if load.cpu:
        rows.append(Row("  CPU during the load (busy seconds, whole machine)", load.cpu))
    return rows


def log_summary(workers: Sequence[Worker]) -> str:
    """What the workers logged so far: conflicts retried (another worker's commit touched a
    key this change writes: `ConcurrentChange`, run again), errors and warnings."""
    retries = errors = warnings = 0
    seen: Counter[str] = Counter()
    for worker in workers:
        try:
            text = worker.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if "retrying after another worker's change" in line:
                retries += 1
            elif " ERROR " in line:
                errors += 1
                seen[line.split(" ERROR ", 1)[1][:110]] += 1
            elif " WARNING " in line:
                warnings += 1
    figure = f"{retries} changes run again after a conflict, {errors} errors, {warnings} warnings"
    if seen:
        message, count = seen.most_common(1)[0]
        figure += f"; most frequent error ({count}×): {message}"
    return figure


def warm_up(server: FakeBotApiServer, inst: Instruments, officials: Sequence[Official],
            offset: int) -> int:
    """WARMUP_REPLIES replies, not counted (first requests of each worker: imports, caches);
    returns the next round-robin offset."""
    open_loop(server, inst, officials, WARMUP_RATE, count=WARMUP_REPLIES, offset=offset)
    return offset + WARMUP_REPLIES


# ---- takeover --------------------------------------------------------------------------------


def holder_of(dsn: str, workers: Sequence[Worker]) -> Worker | None:
    """The worker `planner_holder` names (its application_name ends with its --listen)."""
    holder = planner_holder(dsn, TENANT)
    if holder is None:
        return None
    return next((w for w in workers
                 if holder.endswith(" " + w.listen) or f":{w.proc.pid} " in holder), None)


def takeovers(dsn: str, workers: list[Worker], gains: Gains) -> list[Row]:
    """SIGKILL the planner, TAKEOVERS times; `workers` keeps the survivors."""
    rows: list[Row] = []
    names = {id(w): f"worker {n + 1}" for n, w in enumerate(workers)}
    for trial in range(1, TAKEOVERS + 1):
        holder = holder_of(dsn, workers)
        if holder is None:
            rows.append(Row(f"takeover {trial}: the planner before the kill",
                            "no worker holds the planner lock", "one holds it", False))
            return rows
        alive = len(workers)
        killed_at = time.monotonic()
        holder.kill()  # SIGKILL
        workers.remove(holder)
        try:
            gained_at, successor = gains.wait_after(killed_at, TAKEOVER_TIMEOUT)
        except TimeoutError as err:
            rows.append(Row(f"takeover {trial}: SIGKILL the planner ({alive} → {alive - 1} "
                            "workers)", str(err), f"<= {TARGET_TAKEOVER_S:.0f} s", False))
            return rows
        seconds = gained_at - killed_at
        confirmed = holder_of(dsn, workers)
        ok = confirmed is successor and seconds <= TARGET_TAKEOVER_S
        rows.append(Row(
            f"takeover {trial}: SIGKILL the planner ({alive} → {alive - 1} workers) → another "
            "worker plans (lock period 5 s)",
            f"{seconds:.2f} s ({names[id(holder)]} killed, {names[id(successor)]} took over; "
            f"planner_holder {'agrees' if confirmed is successor else 'names another'})",
            f"<= {TARGET_TAKEOVER_S:.0f} s", ok))
    return rows


# ---- planning one county's day ---------------------------------------------------------------


class FakeTime:
    """Monotonic time that moves only when the pacer sleeps on it: Telegram's pace without
    waiting for it."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += max(delay, 0.0)
        await asyncio.sleep(0)


class CountingSender(Sender):
    """Accepts every message at once (the channel is not what is measured)."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self._ids = itertools.count(1)

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        self.sent.append(chat_id)
        return next(self._ids)

    async def send_photo(self, chat_id: int, photo: bytes, caption: str = "") -> int:
        self.sent.append(chat_id)
        return next(self._ids)


@dataclass
class Planned:
    label: str
    open_s: float = 0.0
    rhythm_ms: float = 0.0  # the store's tasks read + bot.domain.rhythm.plan
    plan_ms: float = 0.0  # the dispatcher's whole plan: due, recipients, digest texts
    plan_first_ms: float = 0.0
    messages: int = 0
    run_s: float = 0.0
    paced_s: float = 0.0  # the Pacer's time on fake time: Telegram's pace for these sends
    sent: int = 0
    due: int = 0
    again_messages: int = 0
    again_ms: float = 0.0
    error: str = ""


async def plan_county(open_store: Callable[[], Any], storage: StorageConfig,
                      out: Planned) -> None:
    """Open the county, plan its day, dispatch it on fake time, dispatch it again."""
    start = time.perf_counter()
    store = open_store()
    out.open_s = time.perf_counter() - start
    try:
        fake = FakeTime()
        sender = CountingSender()
        clock = FixedClock(datetime.combine(PLAN_DAY, datetime.min.time(), TZ).replace(hour=9))
        services = bootstrap(Config(storage=storage), store=store, clock=clock, sender=sender,
                             pacer_factory=lambda: Pacer(monotonic=fake.monotonic,
                                                         sleep=fake.sleep),
                             sleep=fake.sleep)
        dispatcher = services.dispatcher
        samples = []
        for _ in range(PLAN_RUNS):
            start = time.perf_counter()
            plan(dispatcher.repo.tasks(), PLAN_DAY, PLAN_DAY, dispatcher.calendar)
            samples.append((time.perf_counter() - start) * 1000)
        out.rhythm_ms = statistics.median(samples)
        start = time.perf_counter()
        out.messages = len(dispatcher.plan_messages(PLAN_DAY))
        out.plan_first_ms = (time.perf_counter() - start) * 1000
        samples = []
        for _ in range(PLAN_RUNS):
            start = time.perf_counter()
            dispatcher.plan_messages(PLAN_DAY)
            samples.append((time.perf_counter() - start) * 1000)
        out.plan_ms = statistics.median(samples)
        start = time.perf_counter()
        report = await dispatcher.run(PLAN_DAY)
        out.run_s = time.perf_counter() - start
        out.paced_s = fake.now
        out.sent, out.due = report.sent, report.due
        sent = len(sender.sent)
        start = time.perf_counter()
        await dispatcher.run(PLAN_DAY)
        out.again_ms = (time.perf_counter() - start) * 1000
        out.again_messages = len(sender.sent) - sent
    finally:
        store.close()


def plan_both(dsn: str, template: Path, tmp: Path) -> list[Row]:
    pg = Planned("PostgreSQL")
    tiny = Planned("TinyDB")
    copy = tmp / "plan-tinydb"
    shutil.copytree(template, copy, ignore=shutil.ignore_patterns(".lock"))
    sides: list[tuple[Planned, Callable[[], Any], StorageConfig]] = [
        (pg, lambda: PgDocStore.open(dsn, PLAN_TENANT),
         StorageConfig(dir=tmp / "unused", backend="postgresql", tenant=PLAN_TENANT)),
        (tiny, lambda: DocStore.open(copy), StorageConfig(dir=copy)),
    ]
    for out, opener, storage in sides:
        try:
            asyncio.run(plan_county(opener, storage, out))
        except Exception as err:  # reported, never hidden
            out.error = f"{type(err).__name__}: {err}"
    rows: list[Row] = []
    for out in (pg, tiny):
        if out.error:
            rows.append(Row(f"planner, {out.label}: run", out.error, "completes", False))
    if pg.error or tiny.error:
        return rows
    day = f"{PLAN_DAY} ({TASKS:,} tasks)"
    rows.append(Row("planner: open the county (load every document), PostgreSQL / TinyDB",
                    f"{pg.open_s * 1000:.0f} ms / {tiny.open_s * 1000:.0f} ms"))
    rows.append(Row(
        f"planner: plan {day}: read the tasks + bot.domain.rhythm.plan, median of {PLAN_RUNS}, "
        "PostgreSQL / TinyDB",
        f"{pg.rhythm_ms:.0f} ms / {tiny.rhythm_ms:.0f} ms", f"< {TARGET_PLAN_MS:.0f} ms each",
        max(pg.rhythm_ms, tiny.rhythm_ms) < TARGET_PLAN_MS))
    rows.append(Row(
        f"planner: the dispatcher's whole plan of the day (due, recipients, digest texts: "
        f"plan_messages), median of {PLAN_RUNS}, PostgreSQL / TinyDB",
        f"{pg.plan_ms:.0f} ms / {tiny.plan_ms:.0f} ms (first {pg.plan_first_ms:.0f} / "
        f"{tiny.plan_first_ms:.0f} ms; {pg.messages} / {tiny.messages} messages)",
        "the same messages", pg.messages == tiny.messages))
    for out in (pg, tiny):
        rows.append(Row(
            f"planner: dispatch the day on fake time (plan, send, outbox commits), {out.label}",
            f"{out.run_s:.2f} s wall for {out.sent:,} reminders in {out.messages} messages "
            f"(due {out.due:,}); the Pacer's own time at Telegram's pace: {out.paced_s:.1f} s",
            "wall < paced time (the store is not the bottleneck)",
            out.run_s < out.paced_s and out.sent == out.due))
    rows.append(Row("  dispatch wall ratio PostgreSQL / TinyDB",
                    f"{pg.run_s / max(tiny.run_s, 1e-9):.2f}x "
                    f"({pg.run_s * 1000 / max(pg.messages, 1):.1f} vs "
                    f"{tiny.run_s * 1000 / max(tiny.messages, 1):.1f} ms per message)"))
    rows.append(Row("planner: the same day dispatched again, PostgreSQL / TinyDB",
                    f"{pg.again_messages} / {tiny.again_messages} messages, "
                    f"{pg.again_ms:.0f} / {tiny.again_ms:.0f} ms", "0 messages",
                    pg.again_messages == 0 and tiny.again_messages == 0))
    return rows


# ---- the run ---------------------------------------------------------------------------------


@contextlib.contextmanager
def fake_server() -> Iterator[FakeBotApiServer]:
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_bench_bot")
    server = FakeBotApiServer(api).start()
    try:
        yield server
    finally:
        server.stop()


def load_province(dsn: str, pg_config: Path, template: Path, env: dict[str, str],
                  rows: list[Row]) -> None:
    start = time.monotonic()
    docs, history, counts = encoded_rows(template)
    encode_s = time.monotonic() - start
    start = time.monotonic()
    moved = subprocess.run([sys.executable, "-m", "bot", "--config", str(pg_config), "migrate",
                            "--from-tinydb", str(template)], capture_output=True, text=True,
                           timeout=300, env=env, cwd=pg_config.parent)
    move_s = time.monotonic() - start
    if moved.returncode != 0:
        raise RuntimeError(f"migrate --from-tinydb failed ({moved.returncode}): "
                           f"{moved.stderr.strip()[-300:]}")
    rows.append(Row(f"province: one county moved, `python -m bot migrate --from-tinydb` "
                    f"({TASKS:,} tasks, {HISTORY:,} history)",
                    f"{move_s:.2f} s (the process: migrate, then COPY from the TinyDB store)"))
    start = time.monotonic()
    tenants = [f"county_{n:03d}" for n in range(1, TENANTS)]
    with ThreadPoolExecutor(LOAD_CONNECTIONS) as pool:
        list(pool.map(lambda t: load_county(dsn, t, docs, history), tenants))
    copy_s = time.monotonic() - start
    with psycopg.connect(dsn, autocommit=True) as conn:
        # As an operator would after a bulk load, and so that neither autovacuum nor the
        # checkpoint of the load's writes runs beside the replies below.
        start = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        vacuum_s = time.monotonic() - start
        start = time.monotonic()
        conn.execute("CHECKPOINT")
        checkpoint_s = time.monotonic() - start
        found = conn.execute("SELECT count(*) FROM information_schema.schemata "
                             "WHERE schema_name LIKE 'county\\_%'").fetchone()
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        tenant_size = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (TENANT,)).fetchone()
        tasks = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE tbl = 'tasks'")
                             .format(sql.Identifier(PLAN_TENANT, "docs"))).fetchone()
    schemas = int(found[0]) if found else 0
    total = int(size[0]) if size else 0
    per_tenant = int(tenant_size[0] or 0) if tenant_size else 0
    documents = sum(counts.values())
    rows.append(Row(
        f"province: {TENANTS} tenants × {TASKS:,} tasks + {counts.get('people', 0)} officials "
        "in one cluster (fsync on)",
        f"{schemas} schemas loaded in {move_s + copy_s:.1f} s: the first moved as above, "
        f"{TENANTS - 1} by COPY ({LOAD_CONNECTIONS} at a time) in {copy_s:.1f} s = "
        f"{copy_s / (TENANTS - 1) * 1000:.0f} ms each, {documents:,} documents + "
        f"{HISTORY:,} history rows per county (rows encoded once: {encode_s:.1f} s); then "
        f"VACUUM (ANALYZE) {vacuum_s:.1f} s, CHECKPOINT {checkpoint_s:.1f} s",
        f"{TENANTS} tenants, {TASKS:,} tasks each",
        schemas == TENANTS and tasks is not None and tasks[0] == TASKS))
    rows.append(Row("province: database size (pg_database_size)",
                    f"{_mb(total)} for {TENANTS} counties; one county's tables with indexes "
                    f"{_mb(per_tenant)}; the same county as a TinyDB store "
                    f"{_mb(store_bytes(template))}"))


def run_province(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-province-") as tmp_name, \
            fake_server() as server, Cluster(durable=True) as cluster:
        tmp = Path(tmp_name)
        api = server.api
        inst = Instruments(api)
        data = county_data()
        template = tmp / "template"
        build_store(template, data)
        dsn = cluster.dsn
        pg_env = bot_env(dsn)
        pg_config = write_config(tmp / "pg.toml", server, tenant=TENANT,
                                 data_dir=tmp / "unused")
        load_province(dsn, pg_config, template, pg_env, rows)

        officials = prepare_chats(api, data, len(data.officials), per_official=2)
        start = time.monotonic()
        migrated = subprocess.run([sys.executable, "-m", "bot", "--config", str(pg_config),
                                   "migrate"], capture_output=True, text=True, timeout=120,
                                  env=pg_env, cwd=tmp)
        if migrated.returncode != 0:
            raise RuntimeError(f"python -m bot migrate failed: {migrated.stderr[-300:]}")
        migrate_s = time.monotonic() - start
        gains = Gains()
        server_pid = postmaster(cluster.data)
        meter = CpuMeter(lambda: [os.getpid()] + ([server_pid] if server_pid else []))
        workers, start_s = start_workers(api, server, pg_config, pg_env, tmp, gains, WORKERS,
                                         "pg")
        try:
            rows.append(Row(f"workers: `python -m bot migrate` (up to date), then {WORKERS} "
                            "webhook workers spawned → all registered the webhook",
                            f"{migrate_s:.2f} s, then {start_s:.2f} s (load average "
                            f"{os.getloadavg()[0]:.2f}: other work on the machine shows here)"))
            names = {w.url: f"worker {n + 1}" for n, w in enumerate(workers)}
            offset = warm_up(server, inst, officials, 0)
            load = open_loop(server, inst, officials, REPLY_RATE, seconds=REPLY_SECONDS,
                             offset=offset, meter=meter)
            offset += load.sends
            rows += load_rows(f"reply → 已记录, {WORKERS} webhook workers on PostgreSQL, "
                              f"{REPLY_RATE:.0f} replies/s over {len(officials)} officials "
                              "(the fake has no flood limit)", load, TARGET_REPLY_P99_MS,
                              names)
            rows.append(Row("  the workers' logs (start-up, warm-up and this load)",
                            log_summary(workers)))
            rows += takeovers(dsn, workers, gains)
            server.webhook.configure(targets=[w.url for w in workers])
            if workers:
                offset = warm_up(server, inst, officials, offset)
                single = open_loop(server, inst, officials, SINGLE_RATE,
                                   seconds=SINGLE_SECONDS, offset=offset, meter=meter)
                offset += single.sends
                rows += load_rows(f"reply → 已记录, 1 worker, PostgreSQL (the survivor), "
                                  f"{SINGLE_RATE:.0f} replies/s", single, TARGET_REPLY_P99_MS)
        finally:
            for worker in workers:
                worker.stop()

        tiny_dir = tmp / "tinydb"
        shutil.copytree(template, tiny_dir, ignore=shutil.ignore_patterns(".lock"))
        tiny_config = write_config(tmp / "tiny.toml", server, tenant=None, data_dir=tiny_dir)
        tiny, tiny_start = start_workers(api, server, tiny_config, bot_env(None), tmp, gains, 1,
                                         "tinydb")
        try:
            offset = warm_up(server, inst, officials, offset)
            single = open_loop(server, inst, officials, SINGLE_RATE, seconds=SINGLE_SECONDS,
                               offset=offset, meter=meter)
            rows += load_rows(f"reply → 已记录, 1 worker, TinyDB (the default), "
                              f"{SINGLE_RATE:.0f} replies/s (webhook; started in "
                              f"{tiny_start:.1f} s)", single, TARGET_TINYDB_P99_MS)
        finally:
            for worker in tiny:
                worker.stop()

        rows += plan_both(dsn, template, tmp)


def run() -> list[Row]:
    if binaries() is None:
        return [Row("province (PostgreSQL): not measured",
                    "PostgreSQL's server programs (initdb, pg_ctl) were not found; "
                    "`bash .ci/postgres.sh` installs Debian's", "PostgreSQL's programs installed")]
    rows: list[Row] = []
    try:
        run_province(rows)
    except Exception as err:  # report what we have, never hide the failure
        rows.append(Row("province: run", f"{type(err).__name__}: {err}", "completes", False))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
