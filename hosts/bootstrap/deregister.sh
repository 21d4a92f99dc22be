#!/usr/bin/env bash
# Step 5 of the host lifecycle, run by `pulumi destroy` after the service is gone and after the
# container instance and the managed instance were deregistered in AWS: stop the agents and
# remove their state, and this host's sealing key, from this host. Already gone is fine.
#
# Reads:
#   HOST_NAME   name used in messages (default: hostname)
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

deregister_host() {
    require_root
    rm -rf "$SEAL_DIR"
    if [ ! -e /var/lib/ecs ] && [ ! -e /etc/ecs ] && [ ! -e /var/lib/amazon/ssm ]; then
        stop_agents
        info "no ECS or SSM state on this host: already deregistered"
        return 0
    fi
    clear_registration
    info "this host is no longer an ECS Anywhere instance; Docker and the agent packages stay installed"
}

deregister_host
