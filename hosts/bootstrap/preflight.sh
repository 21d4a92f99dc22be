#!/usr/bin/env bash
# Step 1 of the host lifecycle: check that this host can run ECS Anywhere and the worker, before
# anything is installed. Every failed check names the host and the fix.
#
# Reads:
#   REGION          AWS region the host registers in (required)
#   DATA_DIR        data folder that must exist, be writable and hold no link where the worker's
#                   folders go (default: /data)
#   HOST_NAME       name used in messages (default: hostname)
#   SSM_ENDPOINT    SSM endpoint to reach (default: https://ssm.$REGION.amazonaws.com)
#   ECS_ENDPOINT    ECS endpoint to reach (default: https://ecs.$REGION.amazonaws.com)
#   MIN_MEMORY_MB   memory the host needs (default: 400: a 512 MB Raspberry Pi passes)
#   MIN_DISK_MB     free space needed on / and /var/lib for Docker and the agents (default: 1024)
#   MAX_CLOCK_SKEW_SECONDS  largest clock difference to AWS accepted (default: 120; AWS rejects 300)
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

REGION="${REGION:-}"
MIN_MEMORY_MB="${MIN_MEMORY_MB:-400}"
MIN_DISK_MB="${MIN_DISK_MB:-1024}"
MAX_CLOCK_SKEW_SECONDS="${MAX_CLOCK_SKEW_SECONDS:-120}"

check_settings() {
    [ -n "$REGION" ] || fatal "REGION is not set" "pass the AWS region, e.g. REGION=eu-west-1"
    SSM_ENDPOINT="${SSM_ENDPOINT:-https://ssm.$REGION.amazonaws.com}"
    ECS_ENDPOINT="${ECS_ENDPOINT:-https://ecs.$REGION.amazonaws.com}"
}

check_root() {
    [ "$(id -u)" -eq 0 ] || fatal "not running as root" "log in as root or give the SSH user passwordless sudo (a line 'USER ALL=(ALL) NOPASSWD:ALL' in /etc/sudoers.d/)"
}

check_systemd() {
    [ -d /run/systemd/system ] || fatal "systemd is not running (no /run/systemd/system); the ECS Anywhere installer needs it" \
        "use a systemd-based OS such as Ubuntu 20.04+, Debian 11+, RHEL 8+ or 64-bit Raspberry Pi OS"
}

check_architecture() {
    local machine
    machine="$(uname -m)"
    case "$machine" in
        x86_64 | amd64 | aarch64 | arm64) info "architecture $machine: supported" ;;
        armv6l | armv7l | armhf | armv8l | i386 | i686)
            fatal "this is a 32-bit OS ($machine); ECS Anywhere supports only x86_64 and aarch64" \
                "use a 64-bit OS (on a Raspberry Pi 3, 4 or 5: Raspberry Pi OS (64-bit), see hosts/raspberry-pi.md)" ;;
        *) fatal "unsupported architecture $machine" "use an x86_64 or aarch64 (64-bit ARM) machine" ;;
    esac
}

check_memory_cgroup() {
    local enabled=no
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        grep -qw memory /sys/fs/cgroup/cgroup.controllers && enabled=yes
    elif [ -f /proc/cgroups ]; then
        awk '$1 == "memory" && $4 == 1 { found = 1 } END { exit !found }' /proc/cgroups && enabled=yes
    fi
    if [ "$enabled" != yes ]; then
        local cmdline=/boot/firmware/cmdline.txt
        [ -f "$cmdline" ] || cmdline=/boot/cmdline.txt
        fatal "the memory cgroup is not enabled, so Docker cannot limit the worker's memory" \
            "add 'cgroup_enable=memory cgroup_memory=1' to the single line of $cmdline (Raspberry Pi) or to the kernel command line, then reboot; check with: grep memory /proc/cgroups"
    fi
}

check_memory() {
    local total_kb
    total_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
    [ $((total_kb / 1024)) -ge "$MIN_MEMORY_MB" ] ||
        fatal "only $((total_kb / 1024)) MB of memory; the agents and the worker need $MIN_MEMORY_MB MB" "use a host with more memory, or lower MIN_MEMORY_MB if you know it fits"
}

check_disk() {
    local path free_mb
    for path in / /var/lib; do
        free_mb="$(df -Pm "$path" | awk 'NR == 2 { print $4 }')"
        [ "$free_mb" -ge "$MIN_DISK_MB" ] ||
            fatal "only $free_mb MB free on $path; Docker, the agents and the image need $MIN_DISK_MB MB" "free space on $path or grow the disk"
    done
}

# Reach each endpoint over HTTPS (any HTTP answer counts) and compare our clock with its Date header:
# AWS rejects requests signed with a clock more than 5 minutes off.
check_endpoints_and_clock() {
    local url headers date_header remote now skew
    for url in "$SSM_ENDPOINT" "$ECS_ENDPOINT"; do
        # HTTPS only, redirects too (the endpoints are https:// by the config's rule).
        if ! headers="$(curl --proto '=https' --proto-redir '=https' -sS -I --connect-timeout 5 --max-time 10 "$url" 2>&1)"; then
            fatal "cannot reach $url: ${headers##*$'\n'}" "allow outbound HTTPS (port 443) from this host to $url, directly or through a proxy (HTTPS_PROXY)"
        fi
        info "reached $url"
    done
    date_header="$(printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^[Dd]ate: //p' | head -n 1)"
    if [ -n "$date_header" ] && remote="$(date -u -d "$date_header" +%s 2>/dev/null)"; then
        now="$(date -u +%s)"
        skew=$((now - remote))
        [ "${skew#-}" -le "$MAX_CLOCK_SKEW_SECONDS" ] ||
            fatal "the clock is ${skew} s off AWS's (requests more than 300 s off are rejected)" \
                "synchronise the clock: timedatectl set-ntp true (or install chrony), then check timedatectl status"
        info "clock within ${skew#-} s of AWS"
    else
        warn "could not read the time from $ECS_ENDPOINT; make sure NTP is on (timedatectl set-ntp true)"
    fi
    if have timedatectl && [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null || true)" = no ]; then
        warn "timedatectl says the clock is not NTP-synchronised; run: timedatectl set-ntp true"
    fi
}

# Docker: AWS's installer installs it where it can (install.sh has it take the distribution's
# docker.io on Debian and Ubuntu, whose Docker repository path needs apt-key and add-apt-repository,
# gone in Debian 13), but not on RHEL.
check_docker() {
    local id
    id="$( (. /etc/os-release 2>/dev/null && printf '%s' "${ID:-}") || true)"
    if have docker; then
        info "docker present"
    elif [ "$id" = rhel ]; then
        fatal "Docker is not installed, and AWS's installer cannot install it on RHEL" \
            "install Docker first (Docker's RHEL repository: dnf config-manager --add-repo https://download.docker.com/linux/rhel/docker-ce.repo && dnf install -y docker-ce && systemctl enable --now docker), then run pulumi up again"
    elif have apt-get; then
        info "Docker is not installed: the installer will install the distribution's docker.io"
    else
        warn "Docker is not installed: AWS's installer will try Docker's repository for $id; if it cannot, install Docker first"
    fi
}

check_openssl() {
    require_openssl
    info "openssl present"
}

check_data_dir() {
    [ -d "$DATA_DIR" ] || fatal "the data folder $DATA_DIR does not exist" \
        "create it (mkdir -p $DATA_DIR), mount the data disk there, or set the stack's dataDir to the folder that holds the data"
    local folder probe
    for folder in sourcefolder destinationfolder; do refuse_data_link "${DATA_DIR%/}/$folder"; done
    # A new file of a random name (mktemp: O_EXCL, so never through a link planted in the data folder).
    if ! probe="$(mktemp -p "$DATA_DIR" .ecs-anywhere-preflight.XXXXXXXXXX 2>/dev/null)"; then
        fatal "the data folder $DATA_DIR is not writable" "remount it read-write or fix its permissions (root makes the worker's folders in it)"
    fi
    rm -f -- "$probe"
    info "data folder $DATA_DIR is present and writable"
}

check_settings
check_root
check_systemd
check_architecture
check_memory_cgroup
check_memory
check_disk
check_endpoints_and_clock
check_docker
check_openssl
check_data_dir
info "ready for ECS Anywhere"
