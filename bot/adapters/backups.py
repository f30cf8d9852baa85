"""Daily backups of the store, and putting one back.

A backup is the snapshot pair (ledger.json + history.jsonl) copied right after a snapshot, into
`<store>/backups/<YYYY-MM-DD>/`, kept `[storage] keep_backups` days. Restoring moves the damaged
files aside (nothing is deleted) and copies the backup in; changes made after the backup are
lost, so `restore` says which day it goes back to.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from pathlib import Path

from bot.adapters.docstore import HISTORY_FILE, LEDGER_FILE, DocStore, StoreError

BACKUP_DIR = "backups"
_FILES = (LEDGER_FILE, HISTORY_FILE)


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
    """Copy the current snapshot files unless today's backup exists; prune old ones.
    Call right after a snapshot, so the two files agree. Returns the new backup's folder."""
    root = backup_root(store_dir)
    target = root / today.isoformat()
    if target.exists() or not (store_dir / LEDGER_FILE).exists():
        _prune(root, today, keep_days)
        return None
    partial = root / f".{today.isoformat()}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    for name in _FILES:
        source = store_dir / name
        if source.exists():
            shutil.copy2(source, partial / name)
            with open(partial / name, "rb") as handle:
                os.fsync(handle.fileno())
    os.replace(partial, target)
    _fsync_dir(root)
    _prune(root, today, keep_days)
    return target


def _prune(root: Path, today: date, keep_days: int) -> None:
    if not root.is_dir():
        return
    for entry in root.iterdir():
        try:
            day = date.fromisoformat(entry.name)
        except ValueError:
            continue
        if (today - day).days >= keep_days:
            shutil.rmtree(entry, ignore_errors=True)


def backup_is_good(store_dir: Path, name: str) -> bool:
    try:
        DocStore.open(backup_root(store_dir) / name, writable=False).close()
    except (StoreError, OSError, ValueError):
        return False
    return True


def newest_good_backup(store_dir: Path) -> str | None:
    for name in list_backups(store_dir):
        if backup_is_good(store_dir, name):
            return name
    return None


def restore_backup(store_dir: Path, name: str) -> Path:
    """Put backup `name` in place. The store must not be in use (the caller holds no DocStore;
    the writer's lock is taken here). Returns the folder the replaced files were moved to."""
    if name not in list_backups(store_dir) or not backup_is_good(store_dir, name):
        raise StoreError(f"备份 {name} 不存在或已损坏 / backup {name} is missing or damaged: "
                         f"{backup_root(store_dir) / name}")
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
                with open(store_dir / file_name, "rb") as handle:
                    os.fsync(handle.fileno())
        _fsync_dir(store_dir)
    return aside


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
