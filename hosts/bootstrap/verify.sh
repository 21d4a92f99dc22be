#!/usr/bin/env bash
# Step 4 of the host lifecycle: wait until the ECS agent on this host reports itself registered
# to the cluster (its local introspection API), then print, as the last line of standard output,
#   {"managedInstanceId":"mi-...","containerInstanceArn":"arn:aws:ecs:..."}
#
# Reads:
#   CLUSTER                 ECS cluster the agent must report (required)
#   VERIFY_TIMEOUT_SECONDS  how long to wait (default: 300)
#   INTROSPECTION_URL       the agent's metadata endpoint (default: http://localhost:51678/v1/metadata)
#   INSTALLED_AS            the managed instance id install reported (optional): a host now
#                           registered as another one is an error (registered again in between)
#   HOST_NAME               name used in messages (default: hostname)
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

CLUSTER="${CLUSTER:-}"
VERIFY_TIMEOUT_SECONDS="${VERIFY_TIMEOUT_SECONDS:-300}"
INTROSPECTION_URL="${INTROSPECTION_URL:-http://localhost:51678/v1/metadata}"
INSTALLED_AS="${INSTALLED_AS:-}"

agent_log_tail() {
    local log
    for log in /var/log/ecs/ecs-agent.log /var/log/ecs/ecs-init.log; do
        if [ -s "$log" ]; then
            printf -- '--- last lines of %s ---\n' "$log"
            tail -n 30 "$log"
            return 0
        fi
    done
    if have journalctl; then
        printf -- '--- last lines of journalctl -u ecs ---\n'
        journalctl -u ecs -n 30 --no-pager 2>/dev/null || true
    else
        echo "(no ECS agent log found in /var/log/ecs)"
    fi
}

wait_for_agent() {
    [ -n "$CLUSTER" ] || fatal "CLUSTER is not set" "pass the ECS cluster name"
    local deadline answer cluster=""
    deadline=$(($(date +%s) + VERIFY_TIMEOUT_SECONDS))
    info "waiting up to ${VERIFY_TIMEOUT_SECONDS} s for the ECS agent to report cluster $CLUSTER"
    while :; do
        if answer="$(curl -fsS --max-time 5 "$INTROSPECTION_URL" 2>/dev/null)"; then
            cluster="$(printf '%s' "$answer" | json_field Cluster)"
            CONTAINER_INSTANCE_ARN="$(printf '%s' "$answer" | json_field ContainerInstanceArn)"
            if [ -n "$cluster" ] && [ "$cluster" != "$CLUSTER" ] && [ "${cluster##*/}" != "$CLUSTER" ]; then
                fatal "the ECS agent here is registered to another cluster, $cluster" \
                    "deregister it (hosts/bootstrap/deregister.sh, then deregister the instance in AWS) or set reregister: true"
            fi
            if [ -n "$cluster" ] && [ -n "$CONTAINER_INSTANCE_ARN" ]; then
                info "the ECS agent is registered to $cluster as $CONTAINER_INSTANCE_ARN"
                return 0
            fi
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            agent_log_tail >&2
            fatal "the ECS agent did not report cluster $CLUSTER within ${VERIFY_TIMEOUT_SECONDS} s (last answer: ${answer:-none})" \
                "read the agent log above; check systemctl status ecs, the clock, and HTTPS access to ecs.$REGION_HINT.amazonaws.com"
        fi
        sleep 2
    done
}

read_managed_instance_id() {
    MANAGED_INSTANCE_ID=""
    if [ -f "$SSM_REGISTRATION_FILE" ]; then
        MANAGED_INSTANCE_ID="$(json_field ManagedInstanceID <"$SSM_REGISTRATION_FILE")"
    fi
    case "$MANAGED_INSTANCE_ID" in
        mi-*) info "SSM managed instance $MANAGED_INSTANCE_ID" ;;
        *) fatal "no SSM managed instance id in $SSM_REGISTRATION_FILE" "check that the SSM agent registered: systemctl status amazon-ssm-agent" ;;
    esac
}

REGION_HINT="${REGION:-<region>}"
wait_for_agent
read_managed_instance_id
if [ -n "$INSTALLED_AS" ] && [ "$INSTALLED_AS" != "$MANAGED_INSTANCE_ID" ]; then
    fatal "install registered this host as $INSTALLED_AS, but it is now $MANAGED_INSTANCE_ID (registered again since)" \
        "run pulumi up again: install reports the registration it finds and verify records it"
fi
printf '{"managedInstanceId":"%s","containerInstanceArn":"%s"}\n' "$MANAGED_INSTANCE_ID" "$CONTAINER_INSTANCE_ARN"
