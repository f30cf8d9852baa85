"""Command line: `python -m bot [--config PATH] COMMAND` (run, check, plan, import, export,
score, restore, sandbox, migrate — bot/migrate_cli.py), and `python -m bot read` (no config)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot.config import Config, ConfigError, load_config, parse_config, resolve_config_path

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
    run = sub.add_parser("run", parents=[common], help="run the bot (default) / 运行机器人")
    run.add_argument("--or-sandbox", action="store_true",
                     help="without a token, start the local sandbox instead (make run)")
    run.add_argument("--port", type=int, default=8080, help="sandbox web page port")

    def listen(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":")
        host = host.strip("[]")  # an IPv6 host in brackets: [::1]:8443
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise argparse.ArgumentTypeError(
                f"应为 host:port，例如 0.0.0.0:8443，实际为 {text!r} / "
                f"expected host:port such as 0.0.0.0:8443, got {text!r}")
        return host, int(port)

    run.add_argument("--listen", type=listen, default=None, metavar="HOST:PORT",
                     help="webhook mode: the address this worker listens on (overrides "
                          "[telegram] webhook_listen) / webhook 模式下本进程监听的地址")
    restore = sub.add_parser("restore", parents=[common],
                             help="put a daily backup back (the bot must be stopped) / 恢复备份")
    restore.add_argument("backup", nargs="?", help="YYYY-MM-DD (default: the newest good one)")
    sandbox = sub.add_parser("sandbox", parents=[common],
                             help="local sandbox: built-in Bot API server and a web chat page")
    sandbox.add_argument("--port", type=int, default=8080, help="web page port (127.0.0.1)")
    sub.add_parser("check", parents=[common],
                   help="validate config and store, print a summary / 检查配置和数据")
    plan = sub.add_parser("plan", parents=[common],
                          help="preview reminders for a date range (read-only) / 调度计划预览")
    plan.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    plan.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    plan.add_argument("--json", action="store_true", help="one JSON object per line")
    imp = sub.add_parser("import", parents=[common],
                         help="import a ledger file (.xlsx/.csv) / 导入台账")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true",
                     help="check and count only, write nothing / 只检查不写入")
    imp.add_argument("--allow-past", "--allow-any-date", dest="allow_any_date",
                     action="store_true",
                     help="also import a 完成时限 in the past or more than three years ahead "
                          "(otherwise such rows are errors) / 允许任意日期")
    imp.add_argument("--sheet", default=None, metavar="NAME",
                     help="the worksheet to import, when several look like the ledger / 工作表")
    imp.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                     help="seconds allowed for reading the file (default 20) / 读取时限（秒）")
    exp = sub.add_parser("export", parents=[common],
                         help="export the ledger to FILE.xlsx or FILE.csv (read-only) / 导出台账")
    exp.add_argument("file", type=Path)
    score = sub.add_parser("score", parents=[common],
                           help="unit scores with itemised deductions to FILE.xlsx / 考核得分")
    score.add_argument("--period", required=True, metavar="2026-Q4|2026-12|2026-12-2")
    score.add_argument("file", type=Path)
    migrate = sub.add_parser("migrate", parents=[common],
                             help="create or upgrade the PostgreSQL schema of this county "
                                  "([storage] tenant) / 建表或升级数据库表结构")
    migrate.add_argument("--from-tinydb", type=Path, default=None, metavar="DIR",
                         help="then copy the TinyDB store in DIR into it (must be empty) / "
                              "从内置存储迁入")
    sub.add_parser("read", help="what the bot understands from a reply (TEXT or stdin; "
                                "--today, --deadline, --json) / 回复解读", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["read"]:  # needs no config: its own options (see bot/read_cli.py)
        from bot import read_cli

        return read_cli.main(arguments[1:])
    args = _parser().parse_args(arguments)
    command = args.command or "run"
    config_path: Path | None = getattr(args, "config", None)
    sandbox_wanted = command == "sandbox" or getattr(args, "or_sandbox", False)
    try:
        # Read-only commands work without a token (and while the bot runs).
        config = load_config(config_path,
                             require_token=command in {"run", "check"} and not sandbox_wanted)
    except ConfigError as err:
        if not (sandbox_wanted and err.key is None and not _config_exists(config_path)):
            print(str(err), file=sys.stderr)
            return EXIT_CONFIG
        config = parse_config({}, require_token=False)  # trying it out: no config.toml yet
    if command == "sandbox" and config.telegram.token:
        print("已配置 Telegram 令牌，沙盒不会用真实令牌启动；请用 make run 运行机器人。\n"
              "A Telegram token is configured: the sandbox never runs with a real token.",
              file=sys.stderr)
        return EXIT_CONFIG
    # `run --or-sandbox` (make run): the sandbox only when no channel is configured.
    if command == "sandbox" or (sandbox_wanted and not config.channels_enabled):
        from bot.sandbox.runtime import run_sandbox

        return run_sandbox(config, port=args.port)
    if command == "check":
        return check(config)
    if command == "plan":
        return plan_command(config, args.start, args.end, as_json=args.json)
    if command == "import":
        return import_command(config, args.file, dry_run=args.dry_run,
                              allow_any_date=args.allow_any_date, time_limit=args.time_limit,
                              sheet=args.sheet)
    if command == "export":
        return export_command(config, args.file)
    if command == "score":
        return score_command(config, args.period, args.file)
    if command == "migrate":
        from bot.migrate_cli import migrate_command

        return migrate_command(config, args.from_tinydb)
    if command == "restore":
        return restore_command(config, args.backup)
    return run(config, listen=getattr(args, "listen", None))


def _config_exists(path: Path | None) -> bool:
    try:
        return resolve_config_path(path).exists()
    except ConfigError:
        return False


def run(config: Config, *, listen: tuple[str, int] | None = None) -> int:
    """Telegram, 钉钉 or both, as `config.channels_enabled` says (one store, one scheduler).
    Telegram by polling, or in webhook mode as one of several workers on `listen` (default
    `[telegram] webhook_listen`)."""
    import asyncio
    from typing import Any

    from bot.adapters.docstore import StoreError
    from bot.bootstrap import bootstrap
    from bot.runtime import setup_logging

    enabled = config.channels_enabled
    if listen is not None and not ("telegram" in enabled and config.telegram.webhook):
        print('--listen 只用于 webhook 模式（[telegram] mode = "webhook"）\n'
              '--listen applies to webhook mode only ([telegram] mode = "webhook")',
              file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(config.telegram.token)
    try:
        services = bootstrap(config)  # a store it opened is closed again when it fails
    except StoreError as err:
        print(str(err), file=sys.stderr)
        _print_backup_hint(config)
        return EXIT_STORE
    except DOCUMENT_ERRORS as err:
        return _damaged_documents(config, err)
    if "telegram" not in enabled:
        from bot.dingtalk.runtime import serve_dingtalk

        asyncio.run(serve_dingtalk(services))
        return 0
    from bot.tg.app import build_application, build_intake
    from bot.tg.runner import serve, serve_webhook
    from bot.tg.webhook import ListenError

    try:
        app = build_application(services)
        intake = build_intake(app, services)
    except BaseException:
        if services.close is not None:
            services.close()
        raise
    address = listen or config.telegram.webhook_listen
    if config.telegram.webhook:
        services.jobs.lock.identify(f"{address[0]}:{address[1]}")

    def health() -> dict[str, Any]:
        """What the load balancer (and an operator) reads at /healthz."""
        found: dict[str, Any] = {"mode": config.telegram.mode,
                                 "backend": config.storage.backend,
                                 "planner": services.jobs.planner}
        if config.storage.postgresql:
            found["tenant"] = config.storage.tenant
        return found

    async def telegram(app: Any, intake: Any, stop: asyncio.Event | None = None) -> None:
        if not config.telegram.webhook:
            await serve(app, intake, stop)
            return
        stop = stop or asyncio.Event()
        intake.redeliver_unstored = True  # refused with a 500: Telegram sends it again
        # Several workers on one database: the planner handles what a dead worker left.
        sweeper = asyncio.create_task(intake.sweep(stop, lambda: services.jobs.planner)) \
            if config.storage.postgresql else None
        try:
            await serve_webhook(app, intake, address, stop, health=health)
        finally:
            if sweeper is not None:
                sweeper.cancel()
                await asyncio.gather(sweeper, return_exceptions=True)

    try:
        if "dingtalk" in enabled:
            from bot.dingtalk.runtime import serve_both

            asyncio.run(serve_both(services, app, intake, runner=telegram))
        else:
            asyncio.run(telegram(app, intake))
    except ListenError as err:  # the store was closed on the way out
        print(str(err), file=sys.stderr)
        return EXIT_CONFIG
    return 0


def check(config: Config) -> int:
    from bot.adapters.docstore import StoreError
    from bot.bootstrap import bootstrap
    from bot.runtime import open_store

    print("配置 / config: OK" + (f" ({config.source})" if config.source else ""))
    for line in config.redacted_summary():
        print(f"  {line}")
    try:
        store = open_store(config, writable=False)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        _print_backup_hint(config)
        return EXIT_STORE
    try:
        try:
            repo = bootstrap(config, store=store).ledger.repo
        except DOCUMENT_ERRORS as err:
            return _damaged_documents(config, err)
        states = Counter(t.status.value for t in repo.tasks())
        people = list(repo.people())
        print(f"数据 / store: OK ({_store_place(config)})")
        print(f"  任务 tasks: {sum(states.values())} "
              + " ".join(f"{k} {v}" for k, v in sorted(states.items())))
        print(f"  人员 people: {len(people)}, 已绑定 bound: {sum(1 for p in people if p.bound)}")
        print(f"  记录 history: {store.history_count()}, 序号 seq: {store.seq}")
        if config.storage.postgresql:
            from bot.adapters.planner_lock import planner_line
            from bot.adapters.postgres import LATEST_VERSION

            print(f"  表结构版本 schema version: {LATEST_VERSION}（最新 / latest）")
            print(f"  {planner_line(config.storage.dsn, config.storage.tenant)}")
        _print_group_warnings(config, repo)
    finally:
        store.close()
    _print_calendar_warning(config)
    return 0


def _store_place(config: Config) -> str:
    """Where the store is, for `check` (never the DSN: it may hold a password)."""
    if config.storage.postgresql:
        return f"PostgreSQL, 县 / tenant {config.storage.tenant}"
    return f"TinyDB, {config.storage.dir}"


# A store whose files are intact but a document lacks the fields it should.
DOCUMENT_ERRORS = (AttributeError, KeyError, TypeError, ValueError)


def _damaged_documents(config: Config, err: Exception) -> int:
    print(f"数据无法读取 / cannot be read: a document in the store at "
          f"{config.storage.dir} does not have the expected fields ({err!r}); restore "
          "the store directory from a backup or repair the file; the bot will not "
          "start on a damaged store", file=sys.stderr)
    _print_backup_hint(config)
    return EXIT_STORE


def _print_group_warnings(config: Config, repo: object) -> None:
    """What the running bot learnt about the configured groups: moved, or unreachable."""
    from bot.domain.clock import SystemClock
    from bot.domain.ports import LedgerRepository
    from bot.tg.notifier import ChatWatch

    assert isinstance(repo, LedgerRepository)
    watch = ChatWatch(repo, SystemClock(config.timezone))
    for label, chat in (("督查室群 admin_group", config.chats.admin_group),
                        ("工作群 work_group", config.chats.work_group)):
        if not chat:
            continue
        current = watch.resolve(chat)
        if current != chat:
            print(f"⚠️ {label} {chat} 已升级为超级群，现 id 为 {current}（机器人已自动改用）；"
                  f"请把配置改为 {current} / upgraded to a supergroup, now {current}")
        since = watch.unreachable_since(current)
        if since is not None:
            print(f"⚠️ {label} {current} 自 {since:%Y-%m-%d %H:%M} 起无法送达（机器人可能已"
                  f"被移出），通知改为私信各管理员 / cannot be reached since "
                  f"{since:%Y-%m-%d %H:%M}; "
                  "alerts go to each admin privately. 请把机器人重新加入该群。")


def today_in(config: Config) -> date:
    """Today in the configured time zone (the one place the CLI reads the wall clock)."""
    from bot.domain.clock import SystemClock

    return SystemClock(config.timezone).today()


def _print_calendar_warning(config: Config) -> None:
    from bot.runtime import build_calendar

    warning = build_calendar(config).warning(today_in(config))
    if warning:
        print(warning)


MAX_PLAN_DAYS = 366


def plan_command(config: Config, start_text: str, end_text: str, *, as_json: bool) -> int:
    """Print the reminder plan for the ledger in the store; opens the store read-only."""
    import json

    from bot.adapters.docstore import StoreError
    from bot.bootstrap import bootstrap
    from bot.domain.rhythm import plan
    from bot.runtime import open_store

    try:
        start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    except ValueError:
        print("日期格式应为 YYYY-MM-DD，例如 --from 2026-12-01 --to 2026-12-31\n"
              "Dates must be YYYY-MM-DD, e.g. --from 2026-12-01 --to 2026-12-31",
              file=sys.stderr)
        return EXIT_CONFIG
    if end < start or (end - start).days >= MAX_PLAN_DAYS:
        print(f"--to 应不早于 --from，且跨度不超过 {MAX_PLAN_DAYS} 天\n"
              f"--to must not be before --from, and the range at most {MAX_PLAN_DAYS} days",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        store = open_store(config, writable=False)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    try:
        services = bootstrap(config, store=store)
        planned = plan(services.ledger.repo.tasks(), start, end, services.calendar)
    finally:
        store.close()
    out = sys.stdout
    if as_json:
        for item in planned:
            out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
        return 0
    out.write(f"{'date':<12}{'task':<10}{'kind':<11}to\n")
    for item in planned:
        out.write(f"{item.day.isoformat():<12}{item.task_id:<10}{item.kind.value:<11}"
                  f"{'、'.join(item.to)}\n")
    out.write(f"{len(planned)} reminders / 条\n")
    return 0


EXIT_INVALID = 1


def import_command(config: Config, path: Path, *, dry_run: bool, allow_any_date: bool = False,
                   time_limit: float | None = None, sheet: str | None = None) -> int:
    """Import a ledger file. Writing needs the store to itself: refused while the bot runs.

    The file is read before the store is opened, so a file that fails (or takes longer than
    `time_limit` seconds) never holds the store."""
    import getpass

    from bot.adapters.docstore import StoreError
    from bot.adapters.spreadsheet import MAX_BYTES, PARSE_SECONDS, SheetError
    from bot.bootstrap import bootstrap
    from bot.domain.clock import SystemClock
    from bot.ledger_io import ImportResult, apply_import, read_ledger_file
    from bot.messages import Messages
    from bot.runtime import open_store

    msgs = Messages(config.language)
    if time_limit is not None and not time_limit > 0:
        print("--time-limit 应为正数 / must be a positive number of seconds", file=sys.stderr)
        return EXIT_CONFIG
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= MAX_BYTES else b""
    except OSError as err:
        print(f"无法读取文件 / cannot read {path}: {err.strerror}", file=sys.stderr)
        return EXIT_INVALID
    clock = SystemClock(config.timezone)
    year = config.imports.year or clock.today().year
    if size > MAX_BYTES:
        result = ImportResult(sheet_error=SheetError("too_big", f"{size} bytes"))
    else:
        result = read_ledger_file(path.name, data, year=year, sheet=sheet, today=clock.today(),
                                  seconds=time_limit or PARSE_SECONDS)
    if result.sheet_error or result.errors or result.missing_columns or result.sheet_choices:
        print(_strip_html(msgs.import_result(result, path.name, preview=dry_run, cli=True)))
        return EXIT_INVALID
    try:
        store = open_store(config, writable=not dry_run)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    try:
        ledger = bootstrap(config, store=store, clock=clock).ledger
        apply_import(ledger, result, who=f"命令行 {getpass.getuser()}", dry_run=dry_run,
                     allow_any_date=allow_any_date)
    finally:
        store.close()
    print(_strip_html(msgs.import_result(result, path.name, preview=dry_run, cli=True)))
    return 0 if result.ok else EXIT_INVALID


def export_command(config: Config, path: Path) -> int:
    """Write the ledger to .xlsx or .csv; read-only, so it works while the bot runs."""
    from bot.adapters.docstore import StoreError
    from bot.bootstrap import bootstrap
    from bot.ledger_io import export_ledger
    from bot.runtime import open_store

    fmt = path.suffix.lower().lstrip(".")
    if fmt not in {"xlsx", "csv"}:
        print("文件名应以 .xlsx 或 .csv 结尾 / the file name must end in .xlsx or .csv",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        store = open_store(config, writable=False)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    try:
        services = bootstrap(config, store=store)
        data = export_ledger(services.ledger, services.lights, services.calendar,
                             services.clock.today(), fmt=fmt)
    finally:
        store.close()
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    print(f"已导出 / exported: {path}")
    return 0


def _strip_html(text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", text))


def score_command(config: Config, period_code: str, path: Path) -> int:
    """Per-unit scores for a period, with every deduction itemised (read-only)."""
    from bot.adapters.docstore import StoreError
    from bot.adapters.spreadsheet import write_sheets
    from bot.bootstrap import bootstrap
    from bot.bulletins import BULLETIN_KINDS, make_bulletin, score_sheets
    from bot.domain.periods import Period
    from bot.runtime import open_store

    try:
        period = Period.parse(period_code)
    except ValueError:
        period = None
    if period is None or period.kind not in BULLETIN_KINDS:
        print("期间应为 2026-Q4（季）、2026-12（月）或 2026-12-2（旬）\n"
              "The period must be 2026-Q4 (quarter), 2026-12 (month) or 2026-12-2 (旬)",
              file=sys.stderr)
        return EXIT_CONFIG
    if path.suffix.lower() != ".xlsx":
        print("文件名应以 .xlsx 结尾 / the file name must end in .xlsx", file=sys.stderr)
        return EXIT_CONFIG
    try:
        store = open_store(config, writable=False)
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    try:
        services = bootstrap(config, store=store)
        bulletin = make_bulletin(services.ledger.repo, services.calendar, config, period,
                                 today=services.clock.today())
    finally:
        store.close()
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(write_sheets(score_sheets(bulletin)))
    tmp.replace(path)
    print(f"已导出 {period.label()} 考核得分 / scores written: {path} ({len(bulletin.units)})")
    return 0


def _print_backup_hint(config: Config) -> None:
    """After a StoreError: the newest backup that passes the same checks, and how to restore
    it (the bot must be stopped)."""
    from bot.adapters.backups import backup_root, list_backups, newest_good_backup

    store_dir = Path(config.storage.dir)
    name = newest_good_backup(store_dir)
    if name:
        print(f"最新的完好备份：{name}。恢复：python -m bot restore {name}"
              f"（{name} 之后的改动会丢失）\n"
              f"Newest good backup: {name}. Restore it with: python -m bot restore {name} "
              f"(changes made after it are lost)", file=sys.stderr)
    elif list_backups(store_dir):
        count = len(list_backups(store_dir))
        print(f"{backup_root(store_dir)} 中的 {count} 个备份都未通过检查 / none of the {count} "
              f"backups in {backup_root(store_dir)} passes the checks", file=sys.stderr)
    else:
        print("没有找到可用的备份 / no usable backup was found", file=sys.stderr)


def restore_command(config: Config, name: str | None) -> int:
    from bot.adapters.backups import list_backups, newest_good_backup, restore_backup
    from bot.adapters.docstore import StoreError

    store_dir = Path(config.storage.dir)
    name = name or newest_good_backup(store_dir)
    if name is None:
        print(f"没有可用的备份 / no usable backup in {store_dir / 'backups'}", file=sys.stderr)
        return EXIT_STORE
    if name not in list_backups(store_dir):
        print(f"没有 {name} 的备份；现有：{', '.join(list_backups(store_dir)) or '无'}\n"
              f"No backup {name}; available: {', '.join(list_backups(store_dir)) or 'none'}",
              file=sys.stderr)
        return EXIT_STORE
    try:
        aside = restore_backup(store_dir, name)  # checks the backup as every open does
    except StoreError as err:
        print(str(err), file=sys.stderr)
        return EXIT_STORE
    print(f"已恢复 {name} 的备份；原文件移至 {aside}\n"
          f"Restored the backup of {name}; the replaced files are in {aside}\n"
          "请运行 python -m bot check 确认 / run python -m bot check to confirm")
    return 0
