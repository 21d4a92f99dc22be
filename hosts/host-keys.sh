#!/usr/bin/env bash
# Prints, for each host given as <address>[:port], the `hostKey:` line to paste into
# `ecs-anywhere:hosts` and that key's SHA256 fingerprint, in the form `ssh-keygen -lf` shows on the
# host itself: compare the two at the host's console before trusting the key (a scan over the
# network cannot tell the host from a machine in the middle).
#
#   npm run --silent host-keys -- 192.0.2.10 192.0.2.20:2222 '[2001:db8::5]:22'
#   bash hosts/host-keys.sh 192.0.2.10
#
# The key is the host's ed25519 key, else its ECDSA key: an RSA key cannot be pinned (the command
# provider would offer only SHA-1 `ssh-rsa`, which OpenSSH 8.8 and newer refuse).
#
# Reads:
#   SCAN_TIMEOUT  seconds to wait for each host (default 5)
#
# A host that does not answer, or serves no ed25519 or ECDSA key, gets nothing on standard output:
# an error naming it and the fix goes to standard error, and the script exits 1 after the others.
set -eu

SCAN_TIMEOUT="${SCAN_TIMEOUT:-5}"

info() { printf 'host-keys: %s\n' "$*" >&2; }
fail_host() {
    printf 'host-keys: error: %s\nhost-keys: fix: %s\n' "$1" "$2" >&2
    failures=$((failures + 1))
}
fatal() {
    printf 'host-keys: error: %s\nhost-keys: fix: %s\n' "$1" "$2" >&2
    exit 2
}

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
}

# Splits <address>[:port] (IPv6 as [address]:port, or bare without a port) into ADDRESS and PORT.
parse_target() {
    local target="$1"
    case "$target" in
        \[*\]:*) ADDRESS="${target#\[}"; ADDRESS="${ADDRESS%%\]*}"; PORT="${target##*\]:}" ;;
        \[*\]) ADDRESS="${target#\[}"; ADDRESS="${ADDRESS%\]}"; PORT=22 ;;
        *:*:*) ADDRESS="$target"; PORT=22 ;;
        *:*) ADDRESS="${target%:*}"; PORT="${target##*:}" ;;
        *) ADDRESS="$target"; PORT=22 ;;
    esac
    # Only host-name and address characters: nothing ssh-keyscan could take for an option.
    if ! [[ "$ADDRESS" =~ ^[A-Za-z0-9:][A-Za-z0-9.:_-]*$ ]]; then
        fatal "\"$target\" is not a host name or IP address" "give hosts as <address>[:port], e.g. 192.0.2.10 or 192.0.2.10:2222 or [2001:db8::5]:22"
    fi
    if ! [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
        fatal "\"$target\" has port \"$PORT\"" "give a port from 1 to 65535, e.g. $ADDRESS:22"
    fi
}

# Prints the block for one host, or reports why there is none.
scan_host() {
    local target="$1" scanned errors line line_type type key chosen="" fingerprint file bits hash
    parse_target "$target"
    errors="$work/errors"
    # All three types, to tell "serves only RSA" from "does not answer".
    scanned="$(ssh-keyscan -T "$SCAN_TIMEOUT" -p "$PORT" -t ed25519,ecdsa,rsa -- "$ADDRESS" 2>"$errors" || true)"
    for type in ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521; do
        while read -r _ line_type key _; do
            if [ "$line_type" = "$type" ] && [ -n "$key" ]; then chosen="$type $key"; break 2; fi
        done <<<"$scanned"
    done
    if [ -z "$chosen" ]; then
        if [ -n "$scanned" ]; then
            fail_host "$ADDRESS port $PORT serves no ed25519 or ECDSA host key (only: $(awk '{print $2}' <<<"$scanned" | sort -u | paste -sd, -))" \
                "an RSA key cannot be pinned (the command provider would offer only SHA-1 ssh-rsa, refused by OpenSSH 8.8+): on the host run \`sudo ssh-keygen -A\`, restart sshd, and scan again"
        else
            line="$(grep -v '^#' "$errors" | tail -n 1 || true)"
            fail_host "no SSH answer from $ADDRESS port $PORT (refused, unreachable, or silent for ${SCAN_TIMEOUT} s)${line:+: $line}; nothing printed for it" \
                "check the address and port, that sshd runs there and that this machine reaches it (behind a bastion: run this on the bastion); a slow link: SCAN_TIMEOUT=15"
        fi
        return
    fi
    file="$work/key.pub"
    printf '%s\n' "$chosen" >"$file"
    if ! fingerprint="$(ssh-keygen -l -E sha256 -f "$file" 2>/dev/null)"; then
        fail_host "$ADDRESS port $PORT sent a key ssh-keygen cannot read (${chosen:0:40}...)" "scan again; if it persists, copy the key from the host's console"
        return
    fi
    # ssh-keygen -l prints: <bits> SHA256:<hash> <comment> (<TYPE>); the comment is "no comment" here.
    read -r bits hash _ <<<"$fingerprint"
    local kind="${fingerprint##*(}"
    kind="${kind%)}"
    local pub="/etc/ssh/ssh_host_ed25519_key.pub"
    [ "${chosen%% *}" = ssh-ed25519 ] || pub="/etc/ssh/ssh_host_ecdsa_key.pub"
    printf '# %s port %s: %s %s (%s bits); compare on the host: ssh-keygen -lf %s\n' "$ADDRESS" "$PORT" "$kind" "$hash" "$bits" "$pub"
    printf 'hostKey: %s\n\n' "$chosen"
}

main() {
    if [ "$#" -eq 0 ]; then
        usage >&2
        exit 2
    fi
    if [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
        usage
        exit 0
    fi
    for tool in ssh-keyscan ssh-keygen; do
        command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed" "install the OpenSSH client (apt-get install openssh-client)"
    done
    if ! [[ "$SCAN_TIMEOUT" =~ ^[1-9][0-9]{0,2}$ ]]; then
        fatal "SCAN_TIMEOUT is \"$SCAN_TIMEOUT\"" "set it to whole seconds from 1 to 999"
    fi
    # Every argument is checked before any host is scanned.
    for target in "$@"; do parse_target "$target"; done

    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    failures=0
    for target in "$@"; do scan_host "$target"; done
    if [ "$failures" -gt 0 ]; then
        info "$failures of $# hosts not printed (see above)"
        exit 1
    fi
}

main "$@"
