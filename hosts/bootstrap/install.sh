#!/usr/bin/env bash
# Step 2 of the host lifecycle: register this host with ECS Anywhere by running the official
# installer (aws/amazon-ecs-agent scripts/ecs-anywhere-install.sh) with the SSM activation.
# Already registered to this cluster: nothing to do. Registered elsewhere, or a stale
# registration file: a clear error, or a clean re-registration with REREGISTER=true.
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
#   INSTALLER_URL    where to fetch the installer
#                    (default: https://amazon-ecs-agent.s3.amazonaws.com/ecs-anywhere-install-latest.sh)
#   INSTALLER_SHA256 expected sha256 of the installer (default: not checked)
#   REREGISTER       true: clear another or stale registration and register again (default: false)
#   ECS_ENDPOINT     where the ECS agent reaches ECS, passed on as --ecs-endpoint (default: the
#                    region's public endpoint)
#   HOST_NAME        name used in messages (default: hostname)
#
# Prints, as the last line of standard output, `managed-instance mi-...`: the SSM managed instance
# this host is registered as (registered now or before). The Pulumi program hands it to verify, so a
# re-registration (a new id) re-runs verify and records the host's new ids.
#
# The official installer takes the code only as --activation-code, so for the installer's run
# it is in that process's arguments on this host; it is kept in a 0600 file otherwise, masked in
# the installer's output, and single-use up to the activation's registration limit.
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

REGION="${REGION:-}"
CLUSTER="${CLUSTER:-}"
ACTIVATION_ID="${ACTIVATION_ID:-}"
INSTALLER_URL="${INSTALLER_URL:-https://amazon-ecs-agent.s3.amazonaws.com/ecs-anywhere-install-latest.sh}"
INSTALLER_SHA256="${INSTALLER_SHA256:-}"
REREGISTER="${REREGISTER:-false}"
ECS_ENDPOINT="${ECS_ENDPOINT:-}"
WORK_DIR=""

SEALED=false

cleanup() {
    local status=$?
    if [ -n "$WORK_DIR" ]; then rm -rf "$WORK_DIR"; fi
    # The sealing key serves one sealed code: gone once the host is registered (a failure keeps it for a retry).
    if [ "$status" -eq 0 ] && [ "$SEALED" = true ]; then rm -f "$SEAL_KEY"; fi
}
trap cleanup EXIT

check_settings() {
    [ -n "$REGION" ] || fatal "REGION is not set" "pass the AWS region, e.g. REGION=eu-west-1"
    [ -n "$CLUSTER" ] || fatal "CLUSTER is not set" "pass the ECS cluster name"
    case "$REREGISTER" in true | false) ;; *) fatal "REREGISTER is '$REREGISTER'" "set it to true or false" ;; esac
    require_root
}

read_activation_code() {
    WORK_DIR="$(mktemp -d)"
    chmod 700 "$WORK_DIR"
    ACTIVATION_CODE=""
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
        *) (umask 077 && printf '%s' "$ACTIVATION_CODE" >"$WORK_DIR/activation-code") ;;
    esac
}

# Decrypts the code sealed to this host's key (seal.sh) into the work folder.
open_sealed_code() {
    local reseal="seal the code to this host again: pulumi up --replace with the URN of its -seal step (pulumi stack --show-urns lists it)"
    [ -s "$SEAL_KEY" ] || fatal "the activation code came sealed, but this host has no sealing key ($SEAL_KEY): the host was cleaned or reinstalled since it was sealed" "$reseal"
    printf '%s' "$1" | base64 -d >"$WORK_DIR/sealed" 2>/dev/null || fatal "the sealed activation code on standard input is not base64" "$reseal"
    (umask 077 && openssl pkeyutl -decrypt -inkey "$SEAL_KEY" -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
        -in "$WORK_DIR/sealed" -out "$WORK_DIR/activation-code" 2>/dev/null) ||
        fatal "the sealed activation code does not open with this host's sealing key ($SEAL_KEY is not the key it was sealed to)" "$reseal"
    ACTIVATION_CODE="$(cat "$WORK_DIR/activation-code")"
}

# Registered with SSM, and the ECS agent set up for CLUSTER.
registered_to_cluster() { [ -e "$SSM_REGISTRATION_KEY" ] && [ "$(configured_cluster)" = "$CLUSTER" ]; }

# Decides from the files a registration leaves whether there is anything to do.
check_existing_registration() {
    local current
    current="$(configured_cluster)"
    if registered_to_cluster; then
        info "already registered to cluster $CLUSTER: nothing to do"
        report_registration
        exit 0
    fi
    local other=""
    if [ -e "$SSM_REGISTRATION_KEY" ]; then
        if [ -n "$current" ]; then
            other="registered to another cluster, $current"
        else
            other="holds a stale SSM registration ($SSM_REGISTRATION_KEY exists but no cluster is configured); the installer would skip registration"
        fi
    elif [ -e "$ECS_INIT" ] && [ -n "$current" ] && [ "$current" != "$CLUSTER" ]; then
        other="has the ECS agent set up for another cluster, $current"
    fi
    [ -n "$other" ] || return 0
    if [ "$REREGISTER" = true ]; then
        warn "this host $other; clearing it and registering to $CLUSTER (reregister is on)"
        clear_registration
    else
        fatal "this host $other" \
            "deregister it first (pulumi destroy of the stack that registered it, or run hosts/bootstrap/deregister.sh here and deregister mi-... in AWS), or set 'pulumi config set ecs-anywhere:reregister true' to clear and re-register"
    fi
}

fetch_installer() {
    info "fetching the ECS Anywhere installer from $INSTALLER_URL"
    curl -fsSL --retry 3 --connect-timeout 10 --max-time 120 -o "$WORK_DIR/ecs-anywhere-install.sh" "$INSTALLER_URL" ||
        fatal "could not download the installer from $INSTALLER_URL" "check HTTPS access from this host, or set installerUrl to a reachable copy"
    if [ -n "$INSTALLER_SHA256" ]; then
        local actual
        actual="$(sha256sum "$WORK_DIR/ecs-anywhere-install.sh" | cut -d' ' -f1)"
        [ "$actual" = "$INSTALLER_SHA256" ] ||
            fatal "the installer's sha256 is $actual, expected $INSTALLER_SHA256" "check the download, or update installerSha256 to the new release's checksum"
        info "installer checksum verified"
    fi
}

write_ecs_config() {
    mkdir -p /etc/ecs
    {
        echo "# Written by ecs-anywhere before registering; the ECS agent reads it at start."
        echo "ECS_CLUSTER=$CLUSTER"
    } >"$ECS_CONFIG_FILE"
    info "wrote $ECS_CONFIG_FILE for cluster $CLUSTER"
}

run_installer() {
    info "running the installer (region $REGION, cluster $CLUSTER, activation $ACTIVATION_ID); this takes a few minutes"
    local status=0 endpoint=()
    if [ -n "$ECS_ENDPOINT" ]; then endpoint=(--ecs-endpoint "$ECS_ENDPOINT"); fi
    bash "$WORK_DIR/ecs-anywhere-install.sh" --region "$REGION" --cluster "$CLUSTER" ${endpoint[@]+"${endpoint[@]}"} \
        --activation-id "$ACTIVATION_ID" --activation-code "$(cat "$WORK_DIR/activation-code")" 2>&1 |
        awk -v secret="$ACTIVATION_CODE" '{ while ((i = index($0, secret)) > 0) $0 = substr($0, 1, i - 1) "****" substr($0, i + length(secret)); print }' >&2 ||
        status=$?
    [ "$status" -eq 0 ] || fatal "the ECS Anywhere installer failed (exit $status); its output is above" \
        "fix what it reports; if the activation expired or reached its limit, run pulumi up again to get a new one"
    [ -e "$SSM_REGISTRATION_KEY" ] || fatal "the installer finished but left no SSM registration ($SSM_REGISTRATION_KEY)" "check the installer output above and /var/log/amazon/ssm/amazon-ssm-agent.log"
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
write_ecs_config
run_installer
report_registration
