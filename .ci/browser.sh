#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the sandbox page's browser test
# (tests/browser/test_sandbox_browser.py drives /usr/bin/chromium through /usr/bin/chromedriver).
#
# Idempotent and quiet: does nothing when both are present. Without apt (not a Debian-like
# machine) or without root it prints a warning and exits 0; the browser test then skips with a
# reason (or fails when CI is set). A failed installation on a machine with apt is an error.
# Selenium itself comes from pip (the `test` extras); selenium-manager never downloads a browser.
set -euo pipefail
source "$(dirname "$0")/apt.sh"

PACKAGES=(chromium chromium-driver)

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi

apt_install browser.sh "chromium and chromedriver" "${PACKAGES[@]}" || exit 0

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "browser.sh: error: ${PACKAGES[*]} installed but /usr/bin/chromium or" \
        "/usr/bin/chromedriver is missing" >&2
    exit 1
fi
echo "browser.sh: installed ${PACKAGES[*]}"
