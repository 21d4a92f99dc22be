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
    # The installer's ECS Anywhere settings (region, external, endpoint): ecs-init reads both files.
    ECS_STATE_CONFIG_FILE=/var/lib/ecs/ecs.config
    SSM_REGISTRATION_KEY=/var/lib/amazon/ssm/Vault/Store/RegistrationKey
    SSM_REGISTRATION_FILE=/var/lib/amazon/ssm/registration
    ECS_INIT=/usr/libexec/amazon-ecs-init
    # The host's sealing key: the activation code reaches the host encrypted to it (seal.sh, install.sh).
    SEAL_DIR=/var/lib/ecs-anywhere
    SEAL_KEY=/var/lib/ecs-anywhere/seal-key.pem
    # The registration this tool made or adopted here (install.sh): destroy clears only that one.
    REGISTRATION_MARKER=/var/lib/ecs-anywhere/registration
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

# The SSM managed instance this host is registered as (the SSM agent's vault key), or nothing. A key
# without an id (a registration that failed half-way) is no registration: the installer registers again.
registered_instance() {
    if [ -f "$SSM_REGISTRATION_KEY" ]; then
        json_field instanceID <"$SSM_REGISTRATION_KEY"
    fi
}

# One `KEY=value` of the registration marker, or nothing.
marker_value() { if [ -f "$REGISTRATION_MARKER" ]; then sed -n "s/^$1=//p" "$REGISTRATION_MARKER" | tail -n 1; fi; }

# The keys the installer appends to each agent settings file (a re-run appends them again): removed
# before it runs and when the host is cleaned, whatever else an operator put there is kept.
INSTALLER_KEYS_ETC="ECS_CLUSTER"
INSTALLER_KEYS_STATE="AWS_DEFAULT_REGION ECS_EXTERNAL ECS_BACKEND_HOST ECS_ENABLE_GPU_SUPPORT"
remove_installer_keys() {
    local file keys key pattern=""
    for file in "$ECS_CONFIG_FILE" "$ECS_STATE_CONFIG_FILE"; do
        [ -f "$file" ] || continue
        if [ "$file" = "$ECS_CONFIG_FILE" ]; then keys="$INSTALLER_KEYS_ETC"; else keys="$INSTALLER_KEYS_STATE"; fi
        pattern=""
        for key in $keys; do pattern="${pattern:+$pattern|}$key"; done
        # In place (same file, owner and mode); lines of other keys and comments stay as they were.
        sed -i -E "/^[[:space:]]*($pattern)=/d" "$file"
    done
}

# The agent packages AWS's installer installs, where present (deb or rpm).
installed_agent_packages() {
    local package
    for package in amazon-ecs-init amazon-ssm-agent; do
        if have dpkg-query && [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ]; then
            echo "$package"
        elif have rpm && rpm -q "$package" >/dev/null 2>&1; then
            echo "$package"
        fi
    done
}

# Removes the agent packages (ECS docs, ecs-anywhere-deregistration), so that the installer installs
# and sets up the ECS agent again next time: it skips all ECS set-up while /usr/libexec/amazon-ecs-init exists.
remove_agent_packages() {
    local packages
    mapfile -t packages < <(installed_agent_packages)
    [ "${#packages[@]}" -gt 0 ] || return 0
    if have dpkg; then
        dpkg --purge "${packages[@]}" >/dev/null 2>&1 || warn "dpkg --purge ${packages[*]} failed; remove them by hand"
    elif have dnf; then
        dnf remove -y "${packages[@]}" >/dev/null 2>&1 || warn "dnf remove ${packages[*]} failed; remove them by hand"
    elif have yum; then
        yum remove -y "${packages[@]}" >/dev/null 2>&1 || warn "yum remove ${packages[*]} failed; remove them by hand"
    fi
    info "removed the agent packages: ${packages[*]}"
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

# Removes this host's ECS and SSM registration as AWS's deregistration page says (stop the agents,
# remove the packages, /var/lib/ecs, /etc/ecs, /var/lib/amazon/ssm), except what an operator put in
# the agents' settings files: those lines (a proxy, say) stay for the next registration.
clear_registration() {
    stop_agents
    remove_installer_keys
    local file
    for file in "$ECS_CONFIG_FILE" "$ECS_STATE_CONFIG_FILE"; do
        if [ -f "$file" ] && ! grep -q '[^[:space:]]' "$file"; then rm -f "$file"; fi
    done
    rm -rf /var/lib/ecs/data /var/lib/ecs/deps /var/lib/amazon/ssm "$REGISTRATION_MARKER"
    remove_agent_packages
    rmdir /etc/ecs /var/lib/ecs 2>/dev/null || true
    info "cleared the ECS and SSM registration on this host"
}

# The data folder is the worker's to write (it is mounted read-write into the worker): a link in it
# may be the worker's doing, and a step run as root never follows one. refuse_data_link PATH stops,
# naming the link, if PATH is one.
refuse_data_link() {
    [ -L "$1" ] || return 0
    fatal "$1 is a symbolic link (to $(printf '%q' "$(readlink -- "$1")")); root follows no link inside the data folder, which the worker can write to" \
        "find out who made it, remove the link itself (rm $1, not rm -r) and run pulumi up again: the data step makes the folder"
}
