#!/usr/bin/env bash
# Step 2 of the host lifecycle: register this host with ECS Anywhere by running AWS's installer
# (aws/amazon-ecs-agent scripts/ecs-anywhere-install.sh), a pinned release checked by sha256, with
# the SSM activation. Already registered to this cluster: nothing to do. Registered elsewhere, or
# a stale registration: a clear error, or a clean re-registration with REREGISTER=true.
#
# Reads:
#   REGION           AWS region (required)
#   CLUSTER          ECS cluster to join (required)
#   standard input   line 1: the SSM activation code (required; a secret: never put it in the
#                    environment or on a command line you type), either as it is or, as the
#                    Pulumi program sends it, `sealed:<base64>`: encrypted to this host's sealing
#                    key (seal.sh), which is removed once the install succeeded (the host is
#                    registered, now or before); line 2: the activation id, unless ACTIVATION_ID is set
#   ACTIVATION_ID    SSM activation id (required here or on line 2 of standard input)
#   INSTALLER_URL    where to fetch the installer, https:// only (default: release v1.105.0 at
#                    https://raw.githubusercontent.com/aws/amazon-ecs-agent/v1.105.0/scripts/ecs-anywhere-install.sh)
#   INSTALLER_SHA256 its expected sha256 (default: v1.105.0's); `none`: not checked
#   ECS_VERSION      the amazon-ecs-init package version the installer installs (--ecs-version;
#                    default 1.105.0-1), so every host of a site runs the same agent
#   REREGISTER       true: clear another or stale registration and register again (default: false)
#   ECS_ENDPOINT     where the ECS agent reaches ECS, https:// only, passed on as --ecs-endpoint
#                    (default: the region's public endpoint)
#   HOST_NAME        name used in messages (default: hostname)
#
# Prints, as the last line of standard output, `managed-instance mi-...`: the SSM managed instance
# this host is registered as (registered now or before). The Pulumi program hands it to verify, so a
# re-registration (a new id) re-runs verify and records the host's new ids.
#
# The activation code: the installer takes it only as `--activation-code` and hands it to
# `amazon-ssm-agent -register -code ...`, whose command line shows it while that runs (the one place).
# This script keeps it in a variable: it sources the installer, unmodified, in a subshell of this
# same bash process with the code among that subshell's positional parameters, so no program's
# command line carries it but the SSM agent's; it is never written to disk in plain text, and it
# is masked in the installer's output.
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

DEFAULT_INSTALLER_URL=https://raw.githubusercontent.com/aws/amazon-ecs-agent/v1.105.0/scripts/ecs-anywhere-install.sh
DEFAULT_INSTALLER_SHA256=92a118a8c15f377f9c0b30b4445b0cfc08385bfe5bd3107e2dfe8b4d1b1125c8
REGION="${REGION:-}"
CLUSTER="${CLUSTER:-}"
ACTIVATION_ID="${ACTIVATION_ID:-}"
INSTALLER_URL="${INSTALLER_URL:-$DEFAULT_INSTALLER_URL}"
INSTALLER_SHA256="${INSTALLER_SHA256:-$DEFAULT_INSTALLER_SHA256}"
ECS_VERSION="${ECS_VERSION:-1.105.0-1}"
REREGISTER="${REREGISTER:-false}"
ECS_ENDPOINT="${ECS_ENDPOINT:-}"
ACTIVATION_CODE=""
WORK_DIR=""

SEALED=false

cleanup() {
    local status=$?
    if [ -n "$WORK_DIR" ]; then
        # The installer's gpg keyring lived there: its agent goes with it.
        if have gpgconf && [ -d "$WORK_DIR/gnupg" ]; then gpgconf --homedir "$WORK_DIR/gnupg" --kill all >/dev/null 2>&1 || true; fi
        rm -rf "$WORK_DIR"
    fi
    # The sealing key serves one sealed code: gone once the host is registered (a failure keeps it for a retry).
    if [ "$status" -eq 0 ] && [ "$SEALED" = true ]; then rm -f "$SEAL_KEY"; fi
}
trap cleanup EXIT

check_settings() {
    [ -n "$REGION" ] || fatal "REGION is not set" "pass the AWS region, e.g. REGION=eu-west-1"
    [ -n "$CLUSTER" ] || fatal "CLUSTER is not set" "pass the ECS cluster name"
    case "$REREGISTER" in true | false) ;; *) fatal "REREGISTER is '$REREGISTER'" "set it to true or false" ;; esac
    case "$INSTALLER_URL" in https://*) ;; *) fatal "INSTALLER_URL is '$INSTALLER_URL', not an https:// URL" "fetch the installer over HTTPS only (the default is $DEFAULT_INSTALLER_URL)" ;; esac
    case "$ECS_ENDPOINT" in "" | https://*) ;; *) fatal "ECS_ENDPOINT is '$ECS_ENDPOINT', not an https:// URL" "give the ECS endpoint as https://..., or leave it unset for the region's" ;; esac
    [[ $ECS_VERSION =~ ^[A-Za-z0-9.+~-]+$ ]] || fatal "ECS_VERSION is '$ECS_VERSION'" "give an amazon-ecs-init package version such as 1.105.0-1"
    require_root
}

read_activation_code() {
    WORK_DIR="$(mktemp -d)"
    chmod 700 "$WORK_DIR"
    IFS= read -r ACTIVATION_CODE || true
    [ -n "$ACTIVATION_CODE" ] || fatal "no activation code on standard input" \
        "pipe the code in: pulumi stack output activationCode --show-secrets | sudo ... bash install.sh"
    if [ -z "$ACTIVATION_ID" ]; then IFS= read -r ACTIVATION_ID || true; fi
    [ -n "$ACTIVATION_ID" ] || fatal "no activation id (ACTIVATION_ID or line 2 of standard input)" "pass the SSM activation id (pulumi stack output activationId)"
    case "$ACTIVATION_CODE" in
        sealed:*)
            SEALED=true
            # Install run again after the key was used (another setting changed): nothing to open.
            if [ ! -e "$SEAL_KEY" ] && registered_to_cluster; then ACTIVATION_CODE=""; else open_sealed_code "${ACTIVATION_CODE#sealed:}"; fi
            ;;
    esac
}

# Decrypts the code sealed to this host's key (seal.sh) into ACTIVATION_CODE, through a pipe: the
# plain code is written nowhere.
open_sealed_code() {
    local reseal="seal the code to this host again: pulumi up --replace with the URN of its -seal step (pulumi stack --show-urns lists it)"
    [ -s "$SEAL_KEY" ] || fatal "the activation code came sealed, but this host has no sealing key ($SEAL_KEY): the host was cleaned or reinstalled since it was sealed" "$reseal"
    printf '%s' "$1" | base64 -d >"$WORK_DIR/sealed" 2>/dev/null || fatal "the sealed activation code on standard input is not base64" "$reseal"
    ACTIVATION_CODE="$(openssl pkeyutl -decrypt -inkey "$SEAL_KEY" -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$WORK_DIR/sealed" 2>/dev/null)" ||
        fatal "the sealed activation code does not open with this host's sealing key ($SEAL_KEY is not the key it was sealed to)" "$reseal"
}

# Writes which registration this tool made or adopted here: destroy clears only that one.
mark_registration() {
    (umask 077 && mkdir -p "$SEAL_DIR" && printf 'cluster=%s\nmanaged-instance=%s\n' "$CLUSTER" "$(registered_instance)" >"$REGISTRATION_MARKER")
}

# Registered with SSM (a vault key with an instance id), and the ECS agent set up for CLUSTER.
registered_to_cluster() { [ -n "$(registered_instance)" ] && [ "$(configured_cluster)" = "$CLUSTER" ]; }

# Decides from the files a registration leaves whether there is anything to do.
check_existing_registration() {
    local current instance
    current="$(configured_cluster)"
    instance="$(registered_instance)"
    if registered_to_cluster; then
        info "already registered to cluster $CLUSTER as $instance: nothing to do"
        mark_registration
        report_registration
        exit 0
    fi
    local other=""
    if [ -n "$instance" ]; then
        if [ -n "$current" ]; then
            other="is registered to another cluster, $current (as $instance)"
        else
            other="holds a stale SSM registration ($instance in $SSM_REGISTRATION_KEY, no cluster configured); the installer would skip registration"
        fi
    elif [ -e "$ECS_INIT" ] && [ -n "$current" ] && [ "$current" != "$CLUSTER" ]; then
        other="has the ECS agent set up for another cluster, $current"
    fi
    if [ -n "$other" ]; then
        if [ "$REREGISTER" = true ]; then
            warn "this host $other; clearing it and registering to $CLUSTER (reregister is on); deregister its old instance in AWS if no stack does"
            clear_registration
        else
            fatal "this host $other" \
                "deregister it first (pulumi destroy of the stack that registered it, or run hosts/bootstrap/deregister.sh here and deregister it in AWS), or set 'pulumi config set ecs-anywhere:reregister true' to clear and re-register"
        fi
    fi
    # Not registered, but the agent packages are here (a host cleaned by hand, or a failed run): the
    # installer would skip the ECS agent's set-up (it returns when /usr/libexec/amazon-ecs-init
    # exists) and wait for an agent it never started. Without them it installs and sets up both.
    if [ -z "$(registered_instance)" ] && [ -n "$(installed_agent_packages)" ]; then
        info "not registered, but the agent packages are installed: removing them so the installer sets them up again"
        stop_agents
        remove_agent_packages
    fi
}

fetch_installer() {
    info "fetching the ECS Anywhere installer from $INSTALLER_URL"
    # HTTPS only, redirects included.
    curl --proto '=https' --proto-redir '=https' -fsSL --retry 3 --connect-timeout 10 --max-time 120 -o "$WORK_DIR/ecs-anywhere-install.sh" "$INSTALLER_URL" ||
        fatal "could not download the installer from $INSTALLER_URL" "check HTTPS access from this host, or set installerUrl to a reachable https:// copy"
    if [ "$INSTALLER_SHA256" = none ]; then
        warn "the installer's checksum is not checked (installerSha256 is none)"
        return 0
    fi
    local actual
    actual="$(sha256sum "$WORK_DIR/ecs-anywhere-install.sh" | cut -d' ' -f1)"
    [ "$actual" = "$INSTALLER_SHA256" ] ||
        fatal "the installer's sha256 is $actual, expected $INSTALLER_SHA256" "check the download; for another release set installerUrl and installerSha256 together (docs/hosts.md, Moving to a newer installer)"
    info "installer checksum verified"
}

# The installer appends its keys to the agents' settings files: an earlier registration's go first,
# whatever else is there (an operator's proxy settings) stays.
prepare_agent_settings() {
    remove_installer_keys
}

# How the installer gets Docker. Present: none (it skips Docker anyway; RHEL requires `none`).
# Absent on Debian/Ubuntu: from the distribution (its own Docker repository path needs apt-key
# and add-apt-repository, gone in Debian 13 and so in current Raspberry Pi OS). Absent on RHEL: an error.
docker_install_source() {
    local id
    id="$( (. /etc/os-release 2>/dev/null && printf '%s' "${ID:-}") || true)"
    if have docker; then
        DOCKER_SOURCE=none
    elif [ "$id" = rhel ]; then
        fatal "Docker is not installed, and AWS's installer cannot install it on RHEL" \
            "install Docker first (Docker's RHEL repository: dnf config-manager --add-repo https://download.docker.com/linux/rhel/docker-ce.repo && dnf install -y docker-ce && systemctl enable --now docker), then run pulumi up again"
    elif have apt-get; then
        DOCKER_SOURCE=distro
        info "Docker is not installed: the installer installs the distribution's docker.io"
    else
        DOCKER_SOURCE=all
    fi
}

# Prints standard input with the activation code masked (a bash loop: no program gets the code).
mask_code() {
    local line
    while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "${line//"$ACTIVATION_CODE"/****}"; done
}

run_installer() {
    info "running the installer (region $REGION, cluster $CLUSTER, activation $ACTIVATION_ID, ECS agent $ECS_VERSION, Docker source $DOCKER_SOURCE); this takes a few minutes"
    local status=0 endpoint=()
    if [ -n "$ECS_ENDPOINT" ]; then endpoint=(--ecs-endpoint "$ECS_ENDPOINT"); fi
    # Not in an `||` list: there bash ignores `set -e`, and the installer relies on its `set -e`
    # to stop at the first failure, as when run as `bash script`.
    set +e
    (
        # The installer as released, run by this bash (no new command line), in the work folder
        # (it unpacks a download into ./ssm-binaries), with its own shell options.
        cd "$WORK_DIR" || exit 1
        # It imports AWS's signing keys to check the packages: into a keyring of its own, not root's.
        mkdir -m 700 gnupg
        export GNUPGHOME="$WORK_DIR/gnupg"
        set +u +o pipefail
        set -- --region "$REGION" --cluster "$CLUSTER" ${endpoint[@]+"${endpoint[@]}"} --ecs-version "$ECS_VERSION" \
            --docker-install-source "$DOCKER_SOURCE" --activation-id "$ACTIVATION_ID" --activation-code "$ACTIVATION_CODE"
        # shellcheck source=/dev/null
        . "$WORK_DIR/ecs-anywhere-install.sh"
    ) </dev/null 2>&1 | mask_code >&2
    status="${PIPESTATUS[0]}"
    set -e
    [ "$status" -eq 0 ] || fatal "the ECS Anywhere installer failed (exit $status); its output is above" \
        "fix what it reports; if the activation expired or reached its limit, run pulumi up again to get a new one"
    [ -n "$(registered_instance)" ] || fatal "the installer finished but left no SSM registration ($SSM_REGISTRATION_KEY)" "check the installer output above and /var/log/amazon/ssm/amazon-ssm-agent.log"
    mark_registration
    info "registered with SSM and the ECS agent is set up"
}

# The registration's managed instance id on standard output (the step's result; progress goes to stderr).
report_registration() {
    local id=""
    if [ -f "$SSM_REGISTRATION_FILE" ]; then
        id="$(json_field ManagedInstanceID <"$SSM_REGISTRATION_FILE")"
    fi
    case "$id" in
        mi-*) printf 'managed-instance %s\n' "$id" ;;
        *) warn "no managed instance id in $SSM_REGISTRATION_FILE yet; verify will read it once the SSM agent has written it" ;;
    esac
}

check_settings
read_activation_code
check_existing_registration
fetch_installer
prepare_agent_settings
docker_install_source
run_installer
report_registration
