"""A throwaway PostgreSQL cluster for the tests and benchmarks of the PostgreSQL store.

`Cluster.start()` runs Debian's (or any) ``initdb`` into a temporary folder and starts
``postgres`` on a free loopback port with trust authentication; `stop()` stops it and removes
the folder. Nothing of the machine's own PostgreSQL is used or touched. As root (CI) the
server runs as the ``postgres`` user (PostgreSQL refuses to run as root) through ``runuser``.

`binaries()` finds the server programs (on PATH, else /usr/lib/postgresql/<newest>/bin); the
tests skip with a reason when there are none (``bash .ci/postgres.sh`` installs them), except
under CI, where a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"  # who runs the server when we are root


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    return versions[-1].parent if versions else None


def missing_reason() -> str:
    return ("PostgreSQL's server programs (initdb, pg_ctl) were not found: "
            "run `bash .ci/postgres.sh` (Debian's postgresql) to run these tests")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One temporary cluster. `dsn` connects as its superuser to database ``postgres``."""

    def __init__(self, *, durable: bool = False) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError(missing_reason())
        self.bin = bin_dir
        self.durable = durable  # fsync on (benchmarks); off for tests: faster, same semantics
        self.root = Path(tempfile.mkdtemp(prefix="luoshi-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_root = os.geteuid() == 0

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> Cluster:
        if self._as_root:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                   "-c max_connections=300 -c shared_buffers=128MB")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
