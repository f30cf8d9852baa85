"""Shared pieces of the benchmarks: result rows, timing, machine facts and synthetic ledgers."""

from __future__ import annotations

import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.model import Frequency, Person, Role, Task, TaskStatus

if TYPE_CHECKING:
    from bot.adapters.docstore import DocStore
    from bot.domain.clock import Clock
    from bot.services import Services

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "123456:BENCH-token"
PACKAGES = ("python-telegram-bot", "tinydb", "apscheduler")


def services_on(store: DocStore, clock: Clock) -> Services:
    """The bot's services over a bench's store, built as the bot builds them (bot/bootstrap.py),
    with the config's defaults."""
    from bot.bootstrap import bootstrap
    from bot.config import Config, StorageConfig

    return bootstrap(Config(storage=StorageConfig(dir=Path(store.directory))), store=store,
                     clock=clock)


@dataclass(frozen=True)
class Row:
    """One line of the results table. `ok` is None for figures that have no target."""

    name: str
    figure: str
    target: str = "—"
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "info"
        return "ok" if self.ok else "MISSED"


# ---- timing ----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_ms(fn: Callable[[], Any], runs: int, *, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of `fn` in milliseconds over `runs` calls (after `warmup` calls)."""
    for _ in range(warmup):
        fn()
    samples = [timed(fn)[0] * 1000.0 for _ in range(runs)]
    return statistics.median(samples), samples


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1) of a non-empty sequence."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[index]


# ---- machine ---------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 0


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=5,
                             cwd=Path(__file__).resolve().parent.parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5,
                               cwd=Path(__file__).resolve().parent.parent).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info() -> dict[str, str]:
    info = {
        "nproc": str(cpu_count()),
        "CPU": cpu_model(),
        "Python": f"{platform.python_version()} ({sys.implementation.name})",
        "OS": f"{platform.system()} {platform.release()}",
    }
    try:
        info["load average at start"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    for name in PACKAGES:
        info[name] = package_version(name)
    info["git"] = git_revision()
    return info


# ---- tables ----------------------------------------------------------------------------------


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| Benchmark | Figure | Target | Result |", "|---|---|---|---|"]
    for row in rows:
        cells = (row.name, row.figure, row.target, row.verdict)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def text_table(rows: Sequence[Row]) -> str:
    headers = ("Benchmark", "Figure", "Target", "Result")
    cells = [(r.name, r.figure, r.target, r.verdict) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


# ---- synthetic ledgers -----------------------------------------------------------------------

CATEGORIES = ("重点项目", "民生实事", "招商引资", "环保督察", "安全生产", "乡村振兴", "营商环境")
ACTIONS = ("推进", "完成", "落实", "开展", "督导", "整改")
OWNER_COUNTS = (1, 2, 3)
OWNER_COUNT_WEIGHTS = (60, 30, 10)


def unit_name(index: int) -> str:
    return f"单位{index:02d}"


def official_name(index: int) -> str:
    return f"干部{index:03d}"


def make_officials(count: int = 500, units: int = 50, *,
                   first_user_id: int = 700_000) -> list[Person]:
    """`count` officials spread evenly over `units` units, each bound to a Telegram id."""
    bound = datetime(2026, 6, 1, 9, 0, tzinfo=TZ)
    return [Person(name=official_name(i), unit=unit_name(i % units), role=Role.OFFICIAL,
                   user_id=first_user_id + i, bound_at=bound)
            for i in range(count)]


def random_task(rng: random.Random, number: int, base: date, officials: Sequence[Person],
                *, frequency_share: float = 0.3) -> Task:
    """One open task with a realistic shape, relative to `base`:

    10 % overdue (deadline up to 60 days before `base`), 10 % without deadline (长期), the rest
    due within the next two quarters (182 days); a random 调度频次 on `frequency_share` of
    them; 1–3 distinct owners (60/30/10 %), the lead unit being the first owner's unit.
    """
    roll = rng.random()
    deadline: date | None
    if roll < 0.10:
        deadline = base - timedelta(days=rng.randint(1, 60))
    elif roll < 0.20:
        deadline = None
    else:
        deadline = base + timedelta(days=rng.randint(0, 182))
    frequency = rng.choice(list(Frequency)) if rng.random() < frequency_share else None
    k = rng.choices(OWNER_COUNTS, OWNER_COUNT_WEIGHTS)[0]
    owners = rng.sample(officials, k)
    category = rng.choice(CATEGORIES)
    return Task(
        id=f"T{number:05d}",
        title=f"{rng.choice(ACTIONS)}{category}第{number}项工作",
        lead_unit=owners[0].unit,
        owners=tuple(p.name for p in owners),
        deadline=deadline,
        created_at=datetime(2026, 6, 1, 9, 0, tzinfo=TZ),
        category=category,
        frequency=frequency,
    )


def make_tasks(count: int, base: date, officials: Sequence[Person], *, seed: int = 1,
               first_number: int = 1) -> list[Task]:
    """`count` open tasks (see `random_task`), reproducible for a given seed."""
    rng = random.Random(seed)
    return [random_task(rng, n, base, officials)
            for n in range(first_number, first_number + count)]


def status_mix(tasks: Sequence[Task], rng: random.Random, share: float) -> list[Task]:
    """Mark about `share` of the tasks as no longer open (待核账 / 已销账 / 已撤销)."""
    states = (TaskStatus.SUBMITTED, TaskStatus.CLOSED, TaskStatus.CANCELLED)
    return [t.with_changes(status=rng.choice(states)) if rng.random() < share else t
            for t in tasks]


def one_task_each(officials: Sequence[Person], deadline: date | None, *,
                  first_number: int = 1) -> list[Task]:
    """One open task per official, all with the same `deadline` (None: 长期), numbered
    T0001 … as the bot writes its ids; the lead unit is the official's unit."""
    return [Task(id=f"T{number:04d}", title=f"{ACTIONS[number % len(ACTIONS)]}"
                 f"{CATEGORIES[number % len(CATEGORIES)]}第{number}项工作",
                 lead_unit=person.unit, owners=(person.name,), deadline=deadline,
                 created_at=datetime(2026, 6, 1, 9, 0, tzinfo=TZ),
                 category=CATEGORIES[number % len(CATEGORIES)])
            for number, person in enumerate(officials, first_number)]
