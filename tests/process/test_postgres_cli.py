"""The PostgreSQL store from the command line, as an operator moving a county runs it:
`migrate` (and again: nothing to do), `run` refusing a schema not migrated, `migrate
--from-tinydb` from a county's TinyDB store, `check` naming backend, tenant, schema version
and planner, and `export` the same before and after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.process.test_e2e import _env
from tests.store.test_postgres_store import _cells
from tests.support.county_ledger import county_workbook

pytestmark = pytest.mark.slow


def bot(config: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env or _env())


def test_a_county_moves_from_tinydb_to_postgresql(tmp_path: Path, pg_dsn: str,
                                                  tenant: str) -> None:
    tiny = tmp_path / "tiny.toml"
    tiny.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    book = tmp_path / "台账.xlsx"
    book.write_bytes(county_workbook())
    assert bot(tiny, "import", str(book), "--allow-past").returncode == 0
    assert bot(tiny, "export", str(tmp_path / "before.xlsx")).returncode == 0

    pg = tmp_path / "pg.toml"  # the password-free DSN comes from DATABASE_URL
    pg.write_text(f'[telegram]\ntoken = "123:abc"\n[storage]\nbackend = "postgresql"\n'
                  f'tenant = "{tenant}"\n', encoding="utf-8")
    env = {**_env(), "DATABASE_URL": pg_dsn}
    refused = bot(pg, "run", env=env)
    assert refused.returncode == 3 and "python -m bot migrate" in refused.stderr

    first = bot(pg, "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "0 → 2" in first.stdout
    again = bot(pg, "migrate", "--from-tinydb", str(tmp_path / "data"), env=env)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout and "tasks 4" in again.stdout
    twice = bot(pg, "migrate", "--from-tinydb", str(tmp_path / "data"), env=env)
    assert twice.returncode == 3 and "already holds data" in twice.stderr

    checked = bot(pg, "check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert f"PostgreSQL, 县 / tenant {tenant}" in checked.stdout
    assert "schema version: 2" in checked.stdout and "Planner: 无" in checked.stdout
    assert "任务 tasks: 4" in checked.stdout
    assert pg_dsn not in checked.stdout + checked.stderr

    assert bot(pg, "export", str(tmp_path / "after.xlsx"), env=env).returncode == 0
    assert _cells(tmp_path / "after.xlsx") == _cells(tmp_path / "before.xlsx")


def test_migrate_says_it_needs_the_postgresql_backend(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndir = "data"\n', encoding="utf-8")
    result = bot(config, "migrate")
    assert result.returncode == 2 and 'backend = "postgresql"' in result.stderr
