"""Command line: `python -m bot [--config PATH] [run|check]`."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bot.config import Config, ConfigError, load_config

EXIT_CONFIG = 2
EXIT_STORE = 3


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="config file (default: $BOT_CONFIG, else ./config.toml)")
    parser = argparse.ArgumentParser(
        prog="python -m bot", parents=[common],
        description="落实 Luoshi — 台账督办机器人 / task ledger bot")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="run the bot (default) / 运行机器人")
    sub.add_parser("check", parents=[common],
                   help="validate config and store, print a summary / 检查配置和数据")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    config_path: Path | None = getattr(args, "config", None)
    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return EXIT_CONFIG
    if command == "check":
        return check(config)
    return run(config)


def run(config: Config) -> int:
    from bot.adapters.docstore import StoreError
    from bot.runtime import build_services, open_store, setup_logging
    from bot.tg.app import allowed_updates, build_application

    setup_logging(config.telegram.token)
    try:
        store = open_store(config, writable=True)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    try:
        services = build_services(config, store)
        app = build_application(services)
    except BaseException:
        store.close()
        raise
    app.run_polling(allowed_updates=allowed_updates())
    return 0


def check(config: Config) -> int:
    from bot.adapters.docstore import StoreError
    from bot.adapters.repository import StoreRepository
    from bot.runtime import open_store

    print("配置 / config: OK" + (f" ({config.source})" if config.source else ""))
    for line in config.redacted_summary():
        print(f"  {line}")
    try:
        store = open_store(config, writable=False)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    try:
        repo = StoreRepository(store)
        states = Counter(t.status.value for t in repo.tasks())
        people = list(repo.people())
        print(f"数据 / store: OK ({config.storage.dir})")
        print(f"  任务 tasks: {sum(states.values())} "
              + " ".join(f"{k} {v}" for k, v in sorted(states.items())))
        print(f"  人员 people: {len(people)}, 已绑定 bound: {sum(1 for p in people if p.bound)}")
        print(f"  记录 history: {store.history_count()}, 序号 seq: {store.seq}")
    finally:
        store.close()
    return 0
