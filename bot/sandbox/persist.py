"""The sandbox's chats and clock on disk, so a restarted sandbox is where it was left.

`data-sandbox/sandbox-chat.json` holds the fake Bot API's state (bot/fakeapi/persistence.py:
chat history, update and message numbering, users) and the sandbox clock; the files people
and the bot sent are in `data-sandbox/sandbox-files/`, one per content (named by its SHA-256,
written once). Every write is a temp file, fsync, `os.replace`, fsync of the folder, so a kill
at any moment leaves the previous or the new state, never a torn one. A file that cannot be
read back (damaged, of another format, a file missing) is moved aside with one log line and
the sandbox starts fresh; it never stops the sandbox.

`Saver` writes in the background shortly after anything changed, and once more on stop.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from bot.adapters.atomic_storage import atomic_write_chunks, fsync_dir
from bot.fakeapi.core import FakeBotApi
from bot.fakeapi.persistence import export_state, import_state, latest_date, state_version

log = logging.getLogger(__name__)

STATE_NAME = "sandbox-chat.json"
FILES_DIR = "sandbox-files"
#: The sandbox file's own format (it wraps the fake Bot API's).
FORMAT = 1


class SandboxState:
    """The chat state file of one sandbox data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / STATE_NAME
        self.files = folder / FILES_DIR
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    # ------------------------------------------------------------------ reading

    def restore(self, api: FakeBotApi, tz: tzinfo) -> datetime | None:
        """Put the saved chats into `api` (a fresh one) and return the saved sandbox time; None
        when there is nothing saved, or it was unusable (then it is set aside and `api` is left
        as it was)."""
        if not self.path.exists():
            return None
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("format") != FORMAT:
                raise ValueError(f"not a sandbox state of format {FORMAT}")
            now = datetime.fromisoformat(str(raw["now"]))
            if now.tzinfo is None:
                raise ValueError("the saved clock has no time zone")
            import_state(api, raw["api"], self._blob)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.set_aside(f"cannot be read back ({exc})")
            return None
        # A kill between two saves may leave the clock behind the last message: never go back.
        return max(now, datetime.fromtimestamp(latest_date(api), tz)).astimezone(tz)

    def _blob(self, name: str) -> bytes:
        if not name.isalnum():
            raise ValueError(f"bad file name {name!r}")
        return (self.files / name).read_bytes()

    def set_aside(self, reason: str) -> Path | None:
        """Move the state file out of the way (kept for a look, never deleted) and say so."""
        aside = self.path.with_name(
            f"{STATE_NAME}.{datetime.now():%Y%m%d-%H%M%S}.set-aside")
        try:
            os.replace(self.path, aside)
            fsync_dir(self.folder)
        except OSError as exc:
            log.error("sandbox chat state %s %s and could not be moved aside (%s); starting "
                      "with empty chats", self.path, reason, exc)
            return None
        log.warning("sandbox chat state %s %s: moved to %s; the sandbox starts with empty "
                    "chats (the ledger is kept)", self.path, reason, aside.name)
        return aside

    # ------------------------------------------------------------------ writing

    def save(self, api: FakeBotApi, now: datetime) -> None:
        """Write the state now (files first, then the state naming them). Raises OSError."""
        with self._lock:
            state, blobs = export_state(api)
            self.files.mkdir(parents=True, exist_ok=True)
            wrote_blob = False
            for name, data in blobs.items():
                target = self.files / name
                if not target.exists():
                    atomic_write_chunks(target, [data], pause=0)
                    wrote_blob = True
            if wrote_blob:
                fsync_dir(self.files)
            document = {"format": FORMAT, "now": now.isoformat(), "api": state}
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            atomic_write_chunks(self.path, [text], pause=0)


def wipe(folder: Path, keep: frozenset[str] = frozenset({"sandbox.log"})) -> None:
    """Empty the sandbox data folder (重置沙盒), keeping the log."""
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    fsync_dir(folder)


class Saver:
    """Saves the sandbox state in a thread when it changed (checked every `interval` s), on
    `save_now()`, and a last time on `stop()`. A failed save is logged and tried again later;
    it never stops the sandbox."""

    def __init__(self, state: SandboxState, api: FakeBotApi, now: Callable[[], datetime],
                 extra_version: Callable[[], Hashable] = lambda: None, *,
                 interval: float = 0.5) -> None:
        self.state = state
        self.api = api
        self.now = now
        self.extra_version = extra_version
        self.interval = interval
        self._saved: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def _version(self) -> Hashable:
        return (state_version(self.api), self.extra_version())

    def save_now(self) -> bool:
        version = self._version()
        try:
            self.state.save(self.api, self.now())
        except OSError as exc:
            if not self._failing:
                log.error("could not save the sandbox chat state to %s: %s", self.state.path,
                          exc)
            self._failing = True
            return False
        if self._failing:
            log.warning("the sandbox chat state is saved again")
        self._failing = False
        self._saved = version
        return True

    def save_if_changed(self) -> None:
        if self._version() != self._saved:
            self.save_now()

    def start(self) -> Saver:
        self._saved = self._version() if self.state.exists() else None
        self._thread = threading.Thread(target=self._run, name="sandbox-saver", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save_if_changed()
            except Exception:  # a bug must not end the saving for good
                log.exception("sandbox saver failed")

    def stop(self, *, final_save: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if final_save:
            self.save_now()
