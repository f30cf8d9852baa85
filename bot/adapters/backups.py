"""Daily backups of the store, and putting one back.

A backup is the snapshot pair (ledger.json + history.jsonl) copied right after a snapshot, into
`<store>/backups/<YYYY-MM-DD>/`, kept `[storage] keep_backups` days. Restoring moves the damaged
files aside (nothing is deleted) and copies the backup in; changes made after the backup are
lost, so `restore` says which day it goes back to.

A backup is only ever made of a store that passes the checks every open makes (the snapshot's
schema, history.jsonl against what the snapshot says it covers; `bot.adapters.store_files`):
the copy is opened read-only before it takes its name, and a copy that fails is kept aside as
`.<date>.rejected` (not retried that day) while the older backups stay. "Good" backups, the
ones `check`, `run` and `restore` name, pass the same checks.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import date, datetime
from pathlib import Path

from bot.adapters.docstore import HISTORY_FILE, LEDGER_FILE, DocStore, StoreError
from bot.adapters.store_files import read_covered_history

BACKUP_DIR = "backups"
_FILES = (LEDGER_FILE, HISTORY_FILE)
_REJECTED = ".rejected"
_COPY_CHUNK = 1 << 20

log = logging.getLogger(__name__)


def backup_root(store_dir: Path) -> Path:
    return store_dir / BACKUP_DIR


def list_backups(store_dir: Path) -> list[str]:
    """Backup names (dates), newest first."""
    root = backup_root(store_dir)
    if not root.is_dir():
        return []
    names = []
    for entry in root.iterdir():
        try:
            date.fromisoformat(entry.name)
        except ValueError:
            continue
        if entry.is_dir():
            names.append(entry.name)
    return sorted(names, reverse=True)


def make_daily_backup(store_dir: Path, today: date, keep_days: int) -> Path | None:
    """Copy the current snapshot files unless today's backup exists (or was refused today);
    prune old ones. Call right after a snapshot. Returns the new backup's folder, or None.

    ledger.json is copied first, then exactly the part of history.jsonl it covers (a snapshot
    running meanwhile only appends beyond it), so the pair agrees even if the writer moved
    on. The copy is then opened read-only: if it fails the checks, no backup is made today
    and the error is logged (the store on disk is damaged; older backups are kept)."""
    root = backup_root(store_dir)
    day = today.isoformat()
    target = root / day
    rejected = root / f".{day}{_REJECTED}"
    if target.exists() or rejected.exists() or not (store_dir / LEDGER_FILE).exists():
        _prune(root, today, keep_days)
        return None
    partial = root / f".{day}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    ledger = partial / LEDGER_FILE
    shutil.copy2(store_dir / LEDGER_FILE, ledger)
    _fsync_file(ledger)
    problem: str | None
    try:
        covers = read_covered_history(ledger)
        source = store_dir / HISTORY_FILE
        if covers is None:  # an older snapshot: it does not say, take the whole file
            if source.exists():
                shutil.copy2(source, partial / HISTORY_FILE)
        elif covers.length and source.exists():  # (if it is missing, the check says so)
            _copy_prefix(source, partial / HISTORY_FILE, covers.length)
        if (partial / HISTORY_FILE).exists():
            _fsync_file(partial / HISTORY_FILE)
        problem = store_problem(partial)
    except (StoreError, FileNotFoundError) as err:
        problem = str(err)
    if problem is not None:
        os.replace(partial, rejected)
        log.error("今天的备份未生成：数据文件未通过检查 / today's backup was NOT made: the store "
                  "fails its checks: %s. The copy is kept in %s; older backups are unchanged. "
                  "Run `python -m bot check`.", problem, rejected)
        _prune(root, today, keep_days)
        return None
    os.replace(partial, target)
    _fsync_dir(root)
    _prune(root, today, keep_days)
    return target


def _copy_prefix(source: Path, target: Path, length: int) -> None:
    """Copy the first ``length`` bytes of ``source`` (fewer if it is shorter: the checks of
    the copy then report it)."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        left = length
        while left > 0:
            chunk = src.read(min(left, _COPY_CHUNK))
            if not chunk:
                break
            dst.write(chunk)
            left -= len(chunk)
    shutil.copystat(source, target)


def _prune(root: Path, today: date, keep_days: int) -> None:
    if not root.is_dir():
        return
    for entry in root.iterdir():
        name = entry.name
        if name.startswith(".") and name.endswith(_REJECTED):
            name = name[1:-len(_REJECTED)]
        try:
            day = date.fromisoformat(name)
        except ValueError:
            continue
        if (today - day).days >= keep_days:
            shutil.rmtree(entry, ignore_errors=True)


def store_problem(directory: Path) -> str | None:
    """Why the store in ``directory`` would not open (the StoreError's message), or None if
    it passes every check an open makes. Read-only: changes nothing."""
    try:
        DocStore.open(directory, writable=False).close()
    except StoreError as err:
        return str(err)
    except OSError as err:
        return f"{directory}: {err}"
    return None


def backup_problem(store_dir: Path, name: str) -> str | None:
    """Why backup ``name`` is not good, or None if it is."""
    if name not in list_backups(store_dir):
        return f"{backup_root(store_dir) / name} does not exist"
    folder = backup_root(store_dir) / name
    if not (folder / LEDGER_FILE).exists():
        return f"{folder / LEDGER_FILE} is missing"
    return store_problem(folder)


def backup_is_good(store_dir: Path, name: str) -> bool:
    return backup_problem(store_dir, name) is None


def newest_good_backup(store_dir: Path) -> str | None:
    for name in list_backups(store_dir):
        if backup_is_good(store_dir, name):
            return name
    return None


def restore_backup(store_dir: Path, name: str) -> Path:
    """Put backup `name` in place. The store must not be in use (the caller holds no DocStore;
    the writer's lock is taken here). Returns the folder the replaced files were moved to."""
    problem = backup_problem(store_dir, name)
    if problem is not None:
        raise StoreError(f"备份 {name} 不存在或已损坏 / backup {name} is missing or damaged: "
                         f"{problem}")
    # Taking the writer's lock refuses a restore while the bot runs; the store may be damaged,
    # so lock the folder directly instead of opening it.
    import fcntl

    with open(store_dir / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise StoreError(f"数据正在被另一个落实进程使用，请先停止它 / the store at "
                             f"{store_dir} is in use by another Luoshi process; stop it first"
                             ) from err
        aside = store_dir / f"damaged-{datetime.now():%Y%m%d-%H%M%S}"
        aside.mkdir()
        for entry in list(store_dir.iterdir()):
            if entry.name in _FILES or entry.name.startswith("journal."):
                os.replace(entry, aside / entry.name)
        source = backup_root(store_dir) / name
        for file_name in _FILES:
            if (source / file_name).exists():
                shutil.copy2(source / file_name, store_dir / file_name)
                _fsync_file(store_dir / file_name)
        _fsync_dir(store_dir)
    return aside


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
