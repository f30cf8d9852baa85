#!/usr/bin/env bash
# Install a CJK font so that bulletin charts (bot/adapters/chart.py) can draw Chinese text.
#
# Idempotent and quiet: does nothing when a CJK font is already present. Without apt (not a
# Debian-like machine) it prints a warning and exits 0; the chart tests then skip with a reason.
# A failed installation on a machine that has apt is an error (exit 1): CI should notice it.
#
# Package: fonts-wqy-microhei, the smallest Debian package with full Simplified Chinese coverage
# (about 1.6 MB download, 5 MB installed; fonts-noto-cjk is about 57 MB / 91 MB).
set -euo pipefail
source "$(dirname "$0")/apt.sh"

PACKAGE="${LUOSHI_CJK_FONT_PACKAGE:-fonts-wqy-microhei}"

has_cjk_font() {
    if command -v fc-list >/dev/null 2>&1; then
        [ -n "$(fc-list :lang=zh file 2>/dev/null)" ] && return 0
    fi
    # fc-list is missing (fontconfig is only a recommendation) or its cache is stale: look at the
    # font directories for the files the chart module searches for.
    local dir
    for dir in /usr/share/fonts /usr/local/share/fonts "${HOME:-/root}/.local/share/fonts"; do
        [ -d "$dir" ] || continue
        if find "$dir" -type f \( -iname 'wqy-*' -o -iname 'NotoSansCJK*' -o -iname 'NotoSerifCJK*' \
            -o -iname 'SourceHan*' -o -iname 'DroidSansFallback*' -o -iname 'uming*' \
            -o -iname 'ukai*' \) -print -quit 2>/dev/null | grep -q .; then
            return 0
        fi
    done
    return 1
}

if has_cjk_font; then
    exit 0
fi

apt_install fonts.sh "CJK font" "$PACKAGE" || exit 0

if command -v fc-cache >/dev/null 2>&1; then
    fc-cache -f >/dev/null 2>&1 || true
fi
echo "fonts.sh: installed $PACKAGE"
