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

for tool in pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs pulumi-resource-command; do
    if [ ! -x "$bin/$tool" ]; then
        echo "sandbox: $bin/$tool is missing: run \`npm run e2e:tools\` first (it builds the engine's tools)" >&2
        exit 1
    fi
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
mkdir -p "$state/backend" "$state/home" "$state/standins"
api_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; fi
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
