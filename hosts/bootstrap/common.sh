#!/usr/bin/env bash
# Shared helpers of the ecs-anywhere host scripts. The Pulumi program sends this file followed by
# one step script as a single `bash -c` text; run by hand, each step script sources it.
#
# Reads:
#   HOST_NAME   name of this host in the stack's config, used in every message (default: hostname)
#   DATA_DIR    the data folder the worker uses (default: /data)
set -euo pipefail
umask 022

HOST_NAME="${HOST_NAME:-$(hostname 2>/dev/null || echo this-host)}"
DATA_DIR="${DATA_DIR:-/data}"
# Paths a registration leaves; the step scripts read them.
# shellcheck disable=SC2034
{
    ECS_CONFIG_FILE=/etc/ecs/ecs.config
    SSM_REGISTRATION_KEY=/var/lib/amazon/ssm/Vault/Store/RegistrationKey
    SSM_REGISTRATION_FILE=/var/lib/amazon/ssm/registration
    ECS_INIT=/usr/libexec/amazon-ecs-init
    # The host's sealing key: the activation code reaches the host encrypted to it (seal.sh, install.sh).
    SEAL_DIR=/var/lib/ecs-anywhere
    SEAL_KEY=/var/lib/ecs-anywhere/seal-key.pem
}
STEP="${STEP:-${0##*/}}"

# json_field NAME < JSON: the string value of a top-level field (enough for the agent's flat answer
# and the SSM agent's registration file).
json_field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }

# Progress goes to stderr: stdout is kept for a step's result (verify prints one JSON line).
info() { printf '[%s] %s: %s\n' "$HOST_NAME" "$STEP" "$*" >&2; }
warn() { printf '[%s] %s: warning: %s\n' "$HOST_NAME" "$STEP" "$*" >&2; }
# fatal WHAT FIX: what failed on this host, and how to fix it.
fatal() {
    printf '[%s] %s: error: %s\n' "$HOST_NAME" "$STEP" "$1" >&2
    if [ -n "${2:-}" ]; then printf '[%s] %s: fix: %s\n' "$HOST_NAME" "$STEP" "$2" >&2; fi
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# The steps that change the host run as root (the SSH user's passwordless sudo gives it).
require_root() { [ "$(id -u)" -eq 0 ] || fatal "not running as root" "run as root or through passwordless sudo"; }

# The activation code reaches this host sealed to a key of its own (seal.sh): openssl makes the key and opens the code.
require_openssl() {
    have openssl || fatal "openssl is not installed; it opens the activation code, which reaches this host encrypted" \
        "install it: apt-get install openssl (Debian, Ubuntu, Raspberry Pi OS) or dnf install openssl (RHEL, Amazon Linux)"
}

# systemd runs this host (PID 1), so systemctl can manage the agents.
systemd_running() { [ -d /run/systemd/system ] && have systemctl; }

# The cluster /etc/ecs/ecs.config names, or nothing.
configured_cluster() {
    if [ -f "$ECS_CONFIG_FILE" ]; then
        sed -n 's/^ECS_CLUSTER=//p' "$ECS_CONFIG_FILE" | tail -n 1
    fi
}

# Stops the ECS and SSM agents (deb/rpm services, or the snap on Ubuntu); already stopped is fine.
stop_agents() {
    if systemd_running; then
        local unit
        for unit in ecs amazon-ssm-agent snap.amazon-ssm-agent.amazon-ssm-agent; do
            if systemctl list-unit-files "$unit.service" >/dev/null 2>&1; then
                systemctl disable --now "$unit" >/dev/null 2>&1 || warn "could not stop $unit"
            fi
        done
    else
        warn "systemd is not running; stop the ecs and amazon-ssm-agent services by hand"
    fi
}

# Removes this host's ECS and SSM registration state (ECS docs: /var/lib/ecs, /etc/ecs, /var/lib/amazon/ssm).
clear_registration() {
    stop_agents
    rm -rf /var/lib/ecs /etc/ecs /var/lib/amazon/ssm
    info "cleared the ECS and SSM registration state on this host"
}

# The data folder is the worker's to write (it is mounted read-write into the worker): a link in it
# may be the worker's doing, and a step run as root never follows one. refuse_data_link PATH stops,
# naming the link, if PATH is one.
refuse_data_link() {
    [ -L "$1" ] || return 0
    fatal "$1 is a symbolic link (to $(printf '%q' "$(readlink -- "$1")")); root follows no link inside the data folder, which the worker can write to" \
        "find out who made it, remove the link itself (rm $1, not rm -r) and run pulumi up again: the data step makes the folder"
}
