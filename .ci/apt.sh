# Sourced by the .ci install scripts: `apt_install NAME WHAT PACKAGE...` installs Debian
# packages quietly (their chatter is shown only when the installation fails).
#
# Returns 0 once installed. Without apt-get (not a Debian-like machine), or without root and
# password-less sudo, it prints a warning saying what to install by hand and returns 2: the
# tests that need WHAT then skip with a reason. A failed installation on a machine that has apt
# is an error: it prints the log and exits 1 (CI should notice it).

apt_install() {
    local name="$1" what="$2"
    shift 2
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$name: warning: no $what and no apt-get; install $* by hand; the tests that" \
            "need it will skip" >&2
        return 2
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "$name: warning: no $what and not root (no password-less sudo); run as root:" \
                "apt-get install --no-install-recommends $*; the tests that need it will skip" >&2
            return 2
        fi
    fi
    local log
    log="$(mktemp)"
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq >"$log" 2>&1 \
        || ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
            --no-install-recommends "$@" >>"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "$name: error: could not install $*" >&2
        exit 1
    fi
    rm -f "$log"
    return 0
}
