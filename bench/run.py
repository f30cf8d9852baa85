"""Run every benchmark module and write bench/RESULTS.md.

    .venv/bin/python -m bench.run                        # all of them (what `make bench` does)
    .venv/bin/python -m bench.run bench.bench_rhythm     # only the named modules

A benchmark module exposes `run() -> list[bench.common.Row]`. Add new ones to MODULES.
The exit status is 1 if a module crashed, 0 otherwise (missed targets show in the table).
"""

from __future__ import annotations

import argparse
import importlib
import time
import traceback
from datetime import datetime
from pathlib import Path

from bench.common import Row, machine_info, markdown_table, text_table

MODULES: list[str] = [
    "bench.bench_store",  # 1. the durable write path vs TinyDB, SQLite, a bare append
    "bench.bench_e2e",  # 2. reply -> confirmation through the fake Bot API; loop stalls
    "bench.bench_rhythm",  # 3. and 5.: plan one day, fan-out of 5,000 reminders
    "bench.bench_process",  # 4. start-up and peak RSS of the running bot
    "bench.bench_ledger_io",  # 5. import 5,000 rows, export 10,000
    "bench.bench_bulletin",  # a quarter's bulletin at county scale
    "bench.bench_faults",  # SIGKILL trials; an official's report under floods
    "bench.bench_dingtalk",  # both channels in one loop: stall, 钉钉 fan-out, lost / twice
    "bench.bench_province",  # PostgreSQL: 100 counties, 3 webhook workers, takeover; vs TinyDB
]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def run_module(name: str) -> tuple[list[Row], float, bool]:
    """(rows, seconds, crashed) of one module."""
    start = time.monotonic()
    try:
        module = importlib.import_module(name)
        rows = list(module.run())
        crashed = False
    except Exception as err:
        traceback.print_exc()
        rows = [Row(f"{name}: crashed", f"{type(err).__name__}: {err}", "runs", False)]
        crashed = True
    return rows, time.monotonic() - start, crashed


def render(info: dict[str, str], sections: list[tuple[str, list[Row], float]],
           started: datetime) -> str:
    lines = ["# Luoshi benchmark results", "",
             f"Run {started.isoformat(timespec='seconds')} with `.venv/bin/python -m bench.run`.",
             "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    for name, rows, seconds in sections:
        lines += ["", f"## {name} ({seconds:.0f} s)", "", markdown_table(rows)]
    missed = [r.name for _, rows, _ in sections for r in rows if r.ok is False]
    lines += ["", "## Summary", ""]
    lines.append(f"{len(missed)} target(s) missed" + (":" if missed else "."))
    lines += [f"- {name}" for name in missed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args(argv)
    started = datetime.now().astimezone()
    info = machine_info()
    print("\n".join(f"{key}: {value}" for key, value in info.items()), flush=True)
    sections: list[tuple[str, list[Row], float]] = []
    any_crash = False
    for name in args.modules or MODULES:
        print(f"\n== {name} ...", flush=True)
        rows, seconds, crashed = run_module(name)
        any_crash = any_crash or crashed
        sections.append((name, rows, seconds))
        print(text_table(rows), flush=True)
        print(f"({seconds:.0f} s)", flush=True)
    args.output.write_text(render(info, sections, started), encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 1 if any_crash else 0


if __name__ == "__main__":
    raise SystemExit(main())
