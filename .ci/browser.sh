#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the sandbox page's browser test
# (tests/browser/test_sandbox_browser.py drives /usr/bin/chromium through /usr/bin/chromedriver).
#
# Idempotent and quiet: does nothing when both are present. Without apt (not a Debian-like
# machine) or without root it prints a warning and exits 0; the browser test then skips with a
# reason (or fails when CI is set). A failed installation on a machine with apt is an error.
# Selenium itself comes from pip (the `test` extras); selenium-manager never downloads a browser.
set -euo pipefail

PACKAGES=(chromium chromium-driver)

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser.sh: warning: no /usr/bin/chromium or /usr/bin/chromedriver and no apt-get;" \
        "install ${PACKAGES[*]} by hand; the browser test will skip" >&2
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "browser.sh: warning: chromium missing and not root (no password-less sudo); run as" \
            "root: apt-get install --no-install-recommends ${PACKAGES[*]}; the browser test will skip" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# apt and debconf chatter goes to the log; it is shown only when the installation fails.
if ! "${SUDO[@]}" apt-get update -qq >"$log" 2>&1 \
    || ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
        >>"$log" 2>&1; then
    cat "$log" >&2
    echo "browser.sh: error: could not install ${PACKAGES[*]}" >&2
    exit 1
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    cat "$log" >&2
    echo "browser.sh: error: ${PACKAGES[*]} installed but /usr/bin/chromium or" \
        "/usr/bin/chromedriver is missing" >&2
    exit 1
fi
echo "browser.sh: installed ${PACKAGES[*]}"
