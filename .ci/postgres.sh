#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries for the PostgreSQL store's tests. The tests start
# their own throwaway cluster (tests/support/postgres.py: initdb in a temporary folder, a free
# port, trust on loopback), so the cluster Debian may create and start is not used.
#
# Idempotent and quiet: does nothing when initdb and pg_ctl are found. Without apt or root it
# warns and exits 0; the PostgreSQL tests then skip with a reason (or fail when CI is set).
set -euo pipefail

found() {
    command -v initdb >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if found; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgres.sh: warning: no initdb and no apt-get; install PostgreSQL's server by hand;" \
        "the PostgreSQL tests will skip" >&2
    exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "postgres.sh: warning: PostgreSQL missing and not root; run as root:" \
            "apt-get install --no-install-recommends postgresql; the PostgreSQL tests will skip" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "${SUDO[@]}" apt-get update -qq >"$log" 2>&1 \
    || ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql >>"$log" 2>&1; then
    cat "$log" >&2
    echo "postgres.sh: error: could not install postgresql" >&2
    exit 1
fi
if ! found; then
    cat "$log" >&2
    echo "postgres.sh: error: postgresql installed but initdb is missing" >&2
    exit 1
fi
echo "postgres.sh: installed postgresql"
