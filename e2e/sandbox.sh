#!/usr/bin/env bash
# Runs one command inside the hermetic sandbox of the real Pulumi engine:
#   bash e2e/sandbox.sh pulumi stack init region
#   bash e2e/sandbox.sh hosts up 2        test hosts for the anywhere stack (needs root; E2E_STATE set)
#   bash e2e/sandbox.sh hosts down
# - the pulumi CLI, the Node.js language host with its dynamic-provider launcher, and the command
#   provider that `npm run e2e:tools` put in .cache/pulumi/bin (upstream's, built or installed),
#   first on PATH;
# - a private PULUMI_HOME whose plugins are the real command provider and, for AWS, the stand-in
#   providers (e2e/standins): the engine never downloads a plugin and no provider talks to AWS;
# - a local backend (file://) and the stand-ins' records in $E2E_STATE if set (keep it across
#   commands to build up stacks step by step), else in a temporary folder removed afterwards;
# - PULUMI_CONFIG_PASSPHRASE (default "sandbox"), fake AWS credentials, no AWS profile or config
#   file, every AWS SDK endpoint pointed at a closed local port, except ECS, SSM and STS, which go
#   to stand-in API endpoints (e2e/standins/aws-api.ts) that run for the command's duration (the
#   hosts' deregistration at destroy checks its caller's account with STS GetCallerIdentity).
# Environment:
#   E2E_STATE        folder for the backend, PULUMI_HOME, call log and records (default: temporary)
#   E2E_API_LISTEN   comma-separated host:port the stand-in ECS/SSM/STS API listens on (default 127.0.0.1:0)
#   E2E_STS_ACCOUNT  the account the stand-in STS says the sandbox's credentials belong to (default
#                    123456789012, the hosts' account; another one makes the destroy refuse to
#                    deregister the hosts, as in the wrong AWS account)
#   E2E_PROJECT      folder to run the command in (default: $E2E_STATE/project, a copy of this
#                    repository's project: links to its code, copies of its Pulumi*.yaml, so
#                    `pulumi config set` writes the sandbox's stack files, never the checkout's)
# - the image build's services, on loopback, for the command's duration (not for the pulumi commands
#   that run no provider: config, stack, state...): Debian's docker-registry
#   (the CNCF distribution registry) at 127.0.0.1:<port> (chosen once per state and kept, since the
#   stand-in ECR's repository URLs name it; $E2E_REGISTRY), serving the offline base image
#   (e2e/tools/base-image.sh) as library/node:<image major>-bookworm-slim; buildkitd (its OCI worker
#   on runc, as root) with docker.io mirrored to that registry, on a socket in the state
#   ($BUILDKIT_HOST); and a private DOCKER_CONFIG whose one buildx builder, of the `remote` driver,
#   points at it: the docker-build provider finds it there (buildx's store; no docker CLI, buildx
#   plugin or Docker daemon is needed, and none of the caller's is used). Their logs and data are
#   in $E2E_STATE/registry and $E2E_STATE/buildkit; BuildKit's cache stays there between commands.
# The stand-ins append every call they answer to $E2E_STATE/calls.jsonl.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.cache/pulumi/bin"

if [ "$#" -eq 0 ]; then
    echo "usage: bash e2e/sandbox.sh <command...>   e.g. bash e2e/sandbox.sh pulumi preview -s region" >&2
    exit 2
fi
tsx=(node --import "$root/node_modules/tsx/dist/loader.mjs")

# `hosts up <N>` / `hosts down`: test hosts for the anywhere stack, kept in $E2E_STATE/hosts.
if [ "$1" = hosts ]; then
    shift
    exec "${tsx[@]}" "$root/e2e/test-hosts.ts" "$@"
fi

for tool in pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs pulumi-resource-command pulumi-resource-docker-build buildkitd buildctl .base-image; do
    if [ ! -e "$bin/$tool" ]; then
        echo "sandbox: $bin/$tool is missing: run \`npm run e2e:tools\` first (it builds the engine's tools)" >&2
        exit 1
    fi
done
base_layout="$(cat "$bin/.base-image")"
[ -f "$base_layout/index.json" ] || { echo "sandbox: the base image $base_layout (named by $bin/.base-image) is gone: run \`npm run e2e:tools\` again" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "sandbox: buildkitd, which builds the worker image, needs root (its OCI worker runs containers with runc): run as root" >&2; exit 1; }
for tool in docker-registry runc curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "sandbox: $tool is missing: apt-get install docker-registry runc curl (the image build's registry, BuildKit's container runtime)" >&2; exit 1; }
done

if [ -n "${E2E_STATE:-}" ]; then
    state="$E2E_STATE"
    mkdir -p "$state"
    keep=true
else
    state="$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-sandbox-XXXXXX")"
    keep=false
fi
state="$(cd "$state" && pwd)"
mkdir -p "$state/backend" "$state/home" "$state/standins" "$state/registry" "$state/buildkit" "$state/docker/buildx/instances"
api_pid="" registry_pid="" buildkitd_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local pid
    for pid in "$api_pid" "$buildkitd_pid" "$registry_pid"; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    done
    if [ "$keep" = false ]; then rm -rf "$state"; fi
}
trap cleanup EXIT

# The plugins, once per PULUMI_HOME (again when the stand-ins or the real providers change).
stamp="$state/home/.standins-installed"
if [ ! -f "$stamp" ] || [ -n "$(find "$root/e2e/standins" "$root/e2e/lib/install-plugins.ts" "$bin/" -newer "$stamp" -print -quit)" ]; then
    "${tsx[@]}" "$root/e2e/lib/install-plugins.ts" "$state/home" >&2
    touch "$stamp"
fi

# Nothing of the caller's Pulumi or AWS set-up leaks in.
# PULUMI_DEBUG_COMMANDS passes: it enables `--event-log`, the engine's record the e2e reads.
while IFS= read -r name; do case "$name" in PULUMI_NODEJS_TRANSPILE_ONLY | PULUMI_DEBUG_COMMANDS) ;; *) unset "$name" ;; esac; done < <(env | sed -n 's/^\(\(PULUMI\|AWS\)_[A-Za-z0-9_]*\)=.*/\1/p')
# The command provider would offer the caller's agent keys too ($SSH_AUTH_SOCK): a stack says its own.
unset SSH_AUTH_SOCK
export PATH="$bin:$PATH"
export PULUMI_HOME="$state/home"
export PULUMI_BACKEND_URL="file://$state/backend"
export PULUMI_CONFIG_PASSPHRASE="${E2E_PASSPHRASE:-sandbox}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export E2E_CALL_LOG="$state/calls.jsonl"
export E2E_STANDIN_STATE="$state/standins"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
# Port 9 (discard) on loopback: closed, so any AWS call that is not stood in fails at once.
export AWS_ENDPOINT_URL=http://127.0.0.1:9
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost,10.213.0.0/16

# --- the image build's services ---
# wait_for WHAT PID LOG CHECK...: until CHECK succeeds (10 s at most), or the process is gone.
wait_for() {
    local what="$1" pid="$2" log="$3"
    shift 3
    for _ in $(seq 1 100); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { echo "sandbox: $what did not start: $(tail -n 5 "$log")" >&2; exit 1; }
        sleep 0.1
    done
    echo "sandbox: $what did not answer within 10 s: $(tail -n 5 "$log")" >&2
    exit 1
}
# Not for the pulumi commands that run no provider (most of them: config, stack, state...).
case "${1:-} ${2:-}" in
    "pulumi config" | "pulumi stack" | "pulumi state" | "pulumi login" | "pulumi logout" | "pulumi whoami" | "pulumi version" | "pulumi plugin" | "pulumi about") services=false ;;
    *) services=true ;;
esac
# The registry's port, chosen once per state: the stand-in ECR's repository URLs name it.
if [ ! -s "$state/registry/port" ]; then
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })' >"$state/registry/port"
fi
registry="127.0.0.1:$(cat "$state/registry/port")"
cat >"$state/registry/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry/data
  delete:
    enabled: true
http:
  addr: $registry
CONFIG
if [ "$services" = true ]; then
    docker-registry serve "$state/registry/config.yml" >>"$state/registry/registry.log" 2>&1 &
    registry_pid=$!
fi
socket="$state/buildkit/buildkitd.sock"
# A unix socket's path has room for 107 bytes.
[ "${#socket}" -lt 108 ] || { echo "sandbox: $socket is too long for a unix socket: set E2E_STATE to a shorter folder" >&2; exit 1; }
cat >"$state/buildkit/buildkitd.toml" <<CONFIG
root = "$state/buildkit/root"
[grpc]
  address = ["unix://$socket"]
[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
[worker.containerd]
  enabled = false
# FROM node:... (docker.io) comes from the sandbox's registry: the offline base image.
[registry."docker.io"]
  mirrors = ["$registry"]
[registry."$registry"]
  http = true
CONFIG
if [ "$services" = true ]; then
    rm -f "$socket"
    buildkitd --config "$state/buildkit/buildkitd.toml" >>"$state/buildkit/buildkitd.log" 2>&1 &
    buildkitd_pid=$!
fi
export BUILDKIT_HOST="unix://$socket" E2E_REGISTRY="$registry"

# All three start at once; then each is waited for.
listen=()
IFS=, read -r -a addresses <<<"${E2E_API_LISTEN:-127.0.0.1:0}"
for address in "${addresses[@]}"; do listen+=(--listen "$address"); done
ready="$state/aws-api.ready.$$"
rm -f "$ready"
"${tsx[@]}" "$root/e2e/standins/aws-api.ts" "${listen[@]}" --ready-file "$ready" >>"$state/aws-api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do
    [ -s "$ready" ] && break
    kill -0 "$api_pid" 2>/dev/null || { echo "sandbox: the stand-in ECS/SSM/STS API did not start: $(tail -n 5 "$state/aws-api.log")" >&2; exit 1; }
    sleep 0.1
done
[ -s "$ready" ] || { echo "sandbox: the stand-in ECS/SSM/STS API did not start within 10 s" >&2; exit 1; }
url="$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(Array.isArray(r.urls) ? r.urls[0] : r.url ?? r.urls)' "$ready")"
rm -f "$ready"
export AWS_ENDPOINT_URL_ECS="$url" AWS_ENDPOINT_URL_SSM="$url" AWS_ENDPOINT_URL_STS="$url"
if [ "$services" = true ]; then
    wait_for "the registry at $registry" "$registry_pid" "$state/registry/registry.log" curl -sf "http://$registry/v2/"
    wait_for "buildkitd" "$buildkitd_pid" "$state/buildkit/buildkitd.log" buildctl debug workers
fi
# The offline base image, once per registry (again when it is remade).
pushed="$state/registry/base-$(sha256sum <"$base_layout/index.json" | cut -c1-16)"
if [ "$services" = true ] && [ ! -f "$pushed" ]; then
    base_tag="$(node -p "require('$root/node-versions.json').image")-bookworm-slim"
    "${tsx[@]}" "$root/e2e/standins/registry.ts" push "$base_layout" "$registry" library/node "$base_tag" >"$pushed.partial"
    mv "$pushed.partial" "$pushed"
fi
# The docker-build provider's builder: the one buildx builder in a private DOCKER_CONFIG (buildx's
# store: instances/<name> holds a NodeGroup), of the remote driver, at this buildkitd. No Docker daemon.
export DOCKER_CONFIG="$state/docker" DOCKER_HOST="unix://$state/docker/no-docker-daemon.sock"
unset BUILDX_CONFIG BUILDX_BUILDER DOCKER_CONTEXT DOCKER_BUILDKIT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
[ -f "$DOCKER_CONFIG/config.json" ] || echo '{}' >"$DOCKER_CONFIG/config.json"
printf '{"Name":"ecs-anywhere-e2e","Driver":"remote","Nodes":[{"Name":"ecs-anywhere-e2e0","Endpoint":"%s"}],"Dynamic":false}\n' "$BUILDKIT_HOST" \
    >"$DOCKER_CONFIG/buildx/instances/ecs-anywhere-e2e"

project="${E2E_PROJECT:-$state/project}"
if [ -z "${E2E_PROJECT:-}" ] && [ ! -f "$project/Pulumi.yaml" ]; then
    mkdir -p "$project"
    for name in infra hosts worker policy node_modules package.json tsconfig.json; do
        if [ -e "$root/$name" ]; then ln -sfn "$root/$name" "$project/$name"; fi
    done
    cp "$root"/Pulumi*.yaml "$project/"
fi
cd "$project"
status=0
"$@" || status=$?
exit "$status"
