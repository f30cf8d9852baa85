#!/usr/bin/env bash
# Install Debian's PostgreSQL server programs for the PostgreSQL store's tests. The tests start
# their own throwaway cluster (tests/support/postgres.py: initdb in a temporary folder, a free
# port, trust on loopback), so the cluster Debian may create and start is not used.
#
# Idempotent and quiet: does nothing when initdb is found. Without apt or root it warns and
# exits 0; the PostgreSQL tests then skip with a reason (or fail when CI is set).
set -euo pipefail
source "$(dirname "$0")/apt.sh"

found() {
    command -v initdb >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if found; then
    exit 0
fi
apt_install postgres.sh "PostgreSQL server" postgresql || exit 0
if ! found; then
    echo "postgres.sh: error: postgresql installed but initdb is missing" >&2
    exit 1
fi
echo "postgres.sh: installed postgresql"
