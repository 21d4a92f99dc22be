#!/usr/bin/env bash
# Step 5 of the host lifecycle, run by `pulumi destroy` after the service is gone and after the
# container instance and the managed instance were deregistered in AWS: stop the agents, remove
# the agent packages and their state as AWS's deregistration page says (keeping what an operator
# put in the agents' settings files), and this host's sealing key. Already gone is fine.
# Only the registration this stack made (or adopted) here is cleared: registered to another
# cluster, or as another managed instance than install recorded, the host is left as it is, with
# a warning naming that registration.
#
# Reads:
#   CLUSTER     the stack's cluster: a registration to another one is left alone (unset: whatever
#               registration the host has is cleared, as by hand)
#   HOST_NAME   name used in messages (default: hostname)
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

CLUSTER="${CLUSTER:-}"

# Whether the host's registration is the one this stack made: its cluster, and the managed
# instance install recorded (a host registered before install recorded one: its cluster alone).
registration_is_ours() {
    local cluster="$1" instance="$2" recorded
    [ -z "$CLUSTER" ] && return 0
    [ "$cluster" = "$CLUSTER" ] || return 1
    recorded="$(marker_value managed-instance)"
    [ -z "$recorded" ] || [ -z "$instance" ] || [ "$recorded" = "$instance" ]
}

deregister_host() {
    require_root
    local cluster instance
    cluster="$(configured_cluster)"
    instance="$(registered_instance)"
    if [ -z "$cluster" ] && [ -z "$instance" ] && [ -z "$(installed_agent_packages)" ] && [ ! -e /var/lib/amazon/ssm ]; then
        rm -rf "$SEAL_DIR"
        stop_agents
        info "no ECS or SSM registration on this host: already deregistered"
        return 0
    fi
    if ! registration_is_ours "$cluster" "$instance"; then
        # The sealing key and the record go with that registration: the stack that has it still needs them.
        warn "this host is registered to cluster ${cluster:-(none)} as ${instance:-(no managed instance)}, not the registration this stack made (cluster $CLUSTER): left as it is; deregister it from the stack or by the hand that registered it"
        return 0
    fi
    clear_registration
    rm -rf "$SEAL_DIR"
    info "this host is no longer an ECS Anywhere instance; Docker stays installed"
}

deregister_host
