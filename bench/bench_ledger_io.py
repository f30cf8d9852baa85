"""台账 files: importing a 5,000-row .xlsx and exporting 10,000 tasks to .xlsx.

(plan_day over 10,000 tasks is measured by bench_rhythm.)

1. Import: a 5,000-row workbook written with `bot.adapters.spreadsheet.write_xlsx`, columns
   and values as county ledgers have them (序号, 任务, 目标, 牵头单位, 责任人 with 1–3 names,
   责任领导, 配合单位, 完成时限 as date cells and as phrases such as 2026年12月底 / 一季度 /
   长期, 类别, 调度频次, 备注), no 编号 (the bot numbers the tasks). `import_ledger_file(...,
   dry_run=False, allow_any_date=True)` into an empty store (the synthetic ledger has ~500
   deadlines before its "today", which an import refuses without that flag): read + validate +
   one durable commit. Median of
   IMPORT_RUNS, each into a fresh store; the stages are timed once more on their own.
2. Export: `export_ledger` of bench_store's 10,000-task ledger (100,000 history records) to
   .xlsx: lights, rows, workbook. Median of EXPORT_RUNS; the stages are timed once on their own.
"""

from __future__ import annotations

import random
import statistics
import tempfile
from datetime import date, datetime
from pathlib import Path

from bench.bench_store import BASE_DAY, template_store
from bench.common import TZ, Row, make_officials, make_tasks, median_ms, services_on, timed
from bot.adapters.docstore import DocStore
from bot.adapters.spreadsheet import read_table, write_xlsx
from bot.domain.clock import FixedClock
from bot.domain.ledger_file import find_header, parse_rows
from bot.domain.model import TaskStatus
from bot.ledger_io import (
    EXPORT_HEADER,
    export_ledger,
    export_rows,
    exported_tasks,
    import_ledger_file,
)

IMPORT_ROWS = 5_000
IMPORT_RUNS = 3
EXPORT_RUNS = 3
TARGET_S = 3.0
YEAR = 2026

IMPORT_HEADER = ("序号", "任务", "目标", "牵头单位", "责任人", "责任领导", "配合单位", "完成时限",
                 "类别", "调度频次", "备注")
_LEADERS = ("王建国", "李志强", "张丽华", "刘卫东", "陈海燕", "杨光明", "赵振华", "黄春梅")
_PHRASES = ("{y}年12月底", "12月底前", "一季度", "{y1}年一季度", "{y1}年上半年", "年底前",
            "{y1}年6月30日")
_FREQUENCIES = ("每月", "每旬", "每季", "每日", "", "", "", "")
_GOALS = ("年底前完成", "按序时推进", "确保按期达效", "形成可复制经验")
_REMARKS = ("", "", "", "", "市级重点", "纳入年度考核", "需省厅协调", "跨年度项目")


def import_workbook(rows: int = IMPORT_ROWS, *, seed: int = 21) -> bytes:
    rng = random.Random(seed)
    officials = make_officials(500, 50)
    tasks = make_tasks(rows, date(YEAR, 12, 1), officials, seed=seed)
    out: list[list[object]] = []
    for number, task in enumerate(tasks, 1):
        roll = rng.random()
        deadline: object
        if task.deadline is None or roll < 0.10:
            deadline = "长期"
        elif roll < 0.35:
            deadline = rng.choice(_PHRASES).format(y=YEAR, y1=YEAR + 1)
        else:
            deadline = task.deadline
        co_units = rng.sample([p.unit for p in officials[:50]], rng.choice((0, 0, 1, 2)))
        out.append([
            number, task.title, f"{task.title}，{rng.choice(_GOALS)}",
            task.lead_unit, "、".join(task.owners), rng.choice(_LEADERS),
            "、".join(u for u in co_units if u != task.lead_unit), deadline, task.category,
            rng.choice(_FREQUENCIES), rng.choice(_REMARKS)])
    return write_xlsx(IMPORT_HEADER, out)


def _clock() -> FixedClock:
    return FixedClock(datetime.combine(BASE_DAY, datetime.min.time(), TZ).replace(hour=10))


def bench_import(rows: list[Row]) -> None:
    seconds, data = timed(import_workbook)
    rows.append(Row(f"import: the workbook ({IMPORT_ROWS:,} rows, {len(IMPORT_HEADER)} columns)",
                    f"{len(data) / 1e6:.2f} MB, written in {seconds:.1f} s"))
    samples: list[float] = []
    closes: list[float] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-import-") as tmp:
        for n in range(IMPORT_RUNS):
            store = DocStore.open(Path(tmp) / f"store{n}")
            try:
                ledger = services_on(store, _clock()).ledger
                seconds, result = timed(lambda ledger=ledger: import_ledger_file(
                    ledger, "2026年重点工作台账.xlsx", data, who="bench", year=YEAR,
                    dry_run=False, allow_any_date=True))  # ~500 deadlines before "today"
                samples.append(seconds)
                new = len(result.summary.new) if result.summary else 0
                if not result.ok or new != IMPORT_ROWS:
                    problems.append(f"ok={result.ok}, new={new}, errors={result.errors[:2]}, "
                                    f"sheet={result.sheet_error}")
            finally:
                close, _ = timed(store.close)
                closes.append(close)
        # The stages once more, on their own.
        read_s, table = timed(lambda: read_table("台账.xlsx", data))
        header = find_header(table)
        assert header is not None
        parse_s, (parsed, _) = timed(lambda: parse_rows(table, header, year=YEAR))
        store = DocStore.open(Path(tmp) / "stages")
        try:
            ledger = services_on(store, _clock()).ledger
            plan_s, _ = timed(lambda: ledger.import_rows(parsed, who="bench", dry_run=True))
            write_s, _ = timed(lambda: ledger.import_rows(parsed, who="bench"))
        finally:
            store.close()
    median = statistics.median(samples)
    rows.append(Row(
        f"import: import_ledger_file {IMPORT_ROWS:,} rows into an empty store, median of "
        f"{len(samples)}",
        f"{median:.2f} s (runs {', '.join(f'{s:.2f}' for s in samples)})"
        + (f"; PROBLEM: {problems[0]}" if problems else ""),
        f"<= {TARGET_S:.0f} s", median <= TARGET_S and not problems))
    rows.append(Row("  import stages: read_table (openpyxl) / parse_rows / import_rows dry run "
                    "/ import_rows + commit",
                    f"{read_s:.2f} / {parse_s:.2f} / {plan_s:.2f} / {write_s:.2f} s"))
    rows.append(Row("  after the import: store.close() (first snapshot), median",
                    f"{statistics.median(closes):.2f} s"))


def bench_export(rows: list[Row]) -> None:
    template, data = template_store()
    store = DocStore.open(template, writable=False)
    try:
        services = services_on(store, _clock())
        ledger, lights, calendar = services.ledger, services.lights, services.calendar
        calendar.is_workday(BASE_DAY)
        sizes: list[int] = []

        def export() -> None:
            sizes.append(len(export_ledger(ledger, lights, calendar, BASE_DAY)))

        median, samples = median_ms(export, EXPORT_RUNS, warmup=0)
        count = sum(1 for t in data.tasks if t.status is not TaskStatus.CANCELLED)
        rows.append(Row(
            f"export: export_ledger {count:,} tasks to .xlsx, median of {len(samples)}",
            f"{median / 1000:.2f} s (runs {', '.join(f'{s / 1000:.2f}' for s in samples)}; "
            f"{sizes[-1] / 1e6:.2f} MB)", f"<= {TARGET_S:.0f} s", median / 1000 <= TARGET_S))
        # The stages on their own: lights, the rows, the workbook.
        tasks = exported_tasks(ledger)
        lights_s, colours = timed(lambda: lights.all(tasks, BASE_DAY))
        rows_s, sheet_rows = timed(lambda: export_rows(tasks, colours, calendar, BASE_DAY))
        book_s, _ = timed(lambda: write_xlsx(EXPORT_HEADER, sheet_rows))
        rows.append(Row("  export stages: lights / rows / write_xlsx",
                        f"{lights_s:.2f} / {rows_s:.2f} / {book_s:.2f} s"))
    finally:
        store.close()


def run() -> list[Row]:
    rows: list[Row] = []
    for part in (bench_import, bench_export):
        try:
            part(rows)
        except Exception as err:  # report what we have, never hide the failure
            rows.append(Row(f"{part.__name__}: run", f"{type(err).__name__}: {err}",
                            "completes", False))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
