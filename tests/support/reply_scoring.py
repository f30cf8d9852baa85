"""Scoring the reply reader on a labelled corpus, facet by facet.

    .venv/bin/python -m tests.support.reply_scoring tests/data/replies_corpus.jsonl [--failures]

Each line of a corpus is {"text", "today", "deadline", "progress", "done", "difficulty",
"extension", "new_deadline", "ack"} (see tests/data/README.md). The reading is what
`python -m bot read --json` prints (an acknowledgement first, as the bot does). The figures:

- false_done: replies that are not a completion but would make the task 待核账 unasked
  (rate over all non-completions) — the worst error;
- done_recall: completions the bot takes or asks about (确认交账？); done_unasked: taken at once;
- confirm_on_other: non-completions the bot would ask about (a nuisance, not a harm);
- difficulty recall and precision; extension recall and precision;
- progress_exact: the figure (or its absence) exactly right, over replies that are neither
  completions nor acknowledgements; progress_stated: the same over replies that state one;
- date_exact: the new deadline right, over extension requests that give a precise date;
- ack_accuracy: acknowledgements told apart from reports, both ways.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.read_cli import read_one

DATA = Path(__file__).resolve().parent.parent / "data"  # tests/data
CORPUS = DATA / "replies_corpus.jsonl"
HELDOUT = DATA / "replies_heldout.jsonl"


def load(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path.name}:{number}: {err}") from None
    return rows


def predict(row: dict[str, Any]) -> dict[str, Any]:
    deadline = date.fromisoformat(row["deadline"]) if row.get("deadline") else None
    return read_one(row["text"], today=date.fromisoformat(row["today"]), deadline=deadline)


@dataclass
class _Ratio:
    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hits += hit
        self.total += 1

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0


@dataclass
class Score:
    rows: int = 0
    false_done: _Ratio = field(default_factory=_Ratio)
    done_recall: _Ratio = field(default_factory=_Ratio)
    done_unasked: _Ratio = field(default_factory=_Ratio)
    confirm_on_other: _Ratio = field(default_factory=_Ratio)
    difficulty_recall: _Ratio = field(default_factory=_Ratio)
    difficulty_precision: _Ratio = field(default_factory=_Ratio)
    extension_recall: _Ratio = field(default_factory=_Ratio)
    extension_precision: _Ratio = field(default_factory=_Ratio)
    progress_exact: _Ratio = field(default_factory=_Ratio)
    progress_stated: _Ratio = field(default_factory=_Ratio)
    date_exact: _Ratio = field(default_factory=_Ratio)
    ack_accuracy: _Ratio = field(default_factory=_Ratio)
    failures: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {name: ratio.value for name, ratio in vars(self).items()
                if isinstance(ratio, _Ratio)}

    def report(self) -> str:
        lines = [f"{self.rows} replies"]
        for name, ratio in vars(self).items():
            if isinstance(ratio, _Ratio):
                lines.append(f"  {name:22} {ratio.value:6.3f}  ({ratio.hits}/{ratio.total})")
        return "\n".join(lines)


def score(rows: Iterable[dict[str, Any]]) -> Score:
    result = Score()
    for row in rows:
        result.rows += 1
        got = predict(row)
        wrong: list[str] = []

        def check(ratio: _Ratio, hit: bool, facet: str, wrong: list[str] = wrong) -> None:
            ratio.add(hit)
            if not hit:
                wrong.append(facet)

        check(result.ack_accuracy, got["ack"] == bool(row.get("ack")), "ack")
        if row.get("ack"):
            if wrong:
                result.failures.append((",".join(wrong), row, got))
            continue
        if row["done"]:
            check(result.done_recall, got["done"] or got["confirm"], "done")
            result.done_unasked.add(got["done"])
        else:
            result.false_done.add(got["done"])  # the error itself: lower is better
            if got["done"]:
                wrong.append("false_done")
            result.confirm_on_other.add(got["confirm"])
            check(result.progress_exact, got["progress"] == row["progress"], "progress")
            if row["progress"] is not None:
                result.progress_stated.add(got["progress"] == row["progress"])
        if row["difficulty"]:
            check(result.difficulty_recall, got["difficulty"], "difficulty")
        if got["difficulty"]:
            check(result.difficulty_precision, bool(row["difficulty"]), "difficulty+")
        if row["extension"]:
            check(result.extension_recall, got["extension"], "extension")
            if row.get("new_deadline"):
                check(result.date_exact, got["new_deadline"] == row["new_deadline"], "date")
        if got["extension"]:
            check(result.extension_precision, bool(row["extension"]), "extension+")
        if wrong:
            result.failures.append((",".join(wrong), row, got))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.reply_scoring")
    parser.add_argument("corpus", type=Path, nargs="?", default=CORPUS)
    parser.add_argument("--failures", action="store_true", help="print every misread reply")
    args = parser.parse_args(argv)
    result = score(load(args.corpus))
    if args.failures:
        for facets, row, got in result.failures:
            print(f"[{facets}] {row['text']}")
            print(f"    want progress={row['progress']} done={row['done']} "
                  f"diff={row['difficulty']} ext={row['extension']} "
                  f"date={row.get('new_deadline')} (today {row['today']}, "
                  f"deadline {row.get('deadline')})")
            print(f"    got  progress={got['progress']} done={got['done']} "
                  f"confirm={got['confirm']} diff={got['difficulty']} ext={got['extension']} "
                  f"date={got['new_deadline']}")
    print(result.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
