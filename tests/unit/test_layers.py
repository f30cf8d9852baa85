"""The layers point one way: channels (bot/tg/, bot/dingtalk/) depend on the application
(bot/app/, the services, the scheduled jobs), never the reverse; the domain needs only the
standard library (tests/unit/test_domain.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The application layer and everything it stands on, outside the domain.
CHANNEL_NEUTRAL = [
    *sorted((ROOT / "bot" / "app").glob("*.py")),
    *sorted((ROOT / "jobs").glob("*.py")),
    *(ROOT / "bot" / name for name in ("services.py", "alerts.py", "bulletins.py",
                                       "ledger_io.py", "bootstrap.py", "messages.py",
                                       "channels.py")),
]


def _is_channel(name: str) -> bool:
    return (name.split(".")[0] == "telegram" or name.startswith("bot.tg")
            or name.startswith("bot.dingtalk") or name.startswith("bot.fakedingtalk"))


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", CHANNEL_NEUTRAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_application_and_jobs_import_no_channel(path: Path) -> None:
    assert [name for name in _imports(path) if _is_channel(name)] == []


def test_nothing_channel_neutral_loads_telegram_indirectly() -> None:
    """Importing the whole application layer and the jobs loads neither `telegram` nor the
    Telegram adapter: the engine runs without a Telegram Application."""
    modules = sorted({
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in CHANNEL_NEUTRAL if path.stem != "__init__"})
    probe = (f"import sys, {', '.join(modules)}\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'telegram'"
             " or m.startswith(('bot.tg', 'bot.dingtalk'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, check=True).stdout.strip()
    assert loaded == "[]"


def test_the_catalogue_speaks_luoshi_markup() -> None:
    """Messages use one tag, <b>, so every channel can render them (bot/app/conversation.py);
    a new tag would reach 钉钉 as literal text."""
    import re

    source = (ROOT / "bot" / "messages.py").read_text(encoding="utf-8")
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z-]*)[ >]", source))
    assert tags <= {"b"}
