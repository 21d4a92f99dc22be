#!/usr/bin/env bash
# build-language-host.sh <out-dir>: builds our Node.js language host (e2e/tools/language-nodejs) into
# <out-dir>/pulumi-language-nodejs and copies the launchers the CLI's release archive carries beside
# it (e2e/tools/launchers: pulumi-resource-pulumi-nodejs, pulumi-analyzer-policy). Put <out-dir> beside
# the pulumi binary (the CLI looks there for these bundled plugins) or first on PATH.
# Skips the build when the binary is newer than every source (*.go, go.mod, go.sum, this script).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/language-nodejs"
launchers="$here/launchers"

fatal() { printf 'build-language-host: %s\n' "$*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ]; then fatal "usage: $0 <out-dir>"; fi
out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
bin="$out/pulumi-language-nodejs"

self="$here/$(basename "$0")"
if [ -x "$bin" ] && ! [ "$self" -nt "$bin" ] &&
    [ -z "$(find "$src" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin" -print -quit)" ]; then
    printf 'build-language-host: %s is up to date\n' "$bin"
else
    command -v go >/dev/null 2>&1 || fatal "Go is not installed (needed to build the language host e2e/tools/language-nodejs, which requires Go 1.26.6 or newer: see its go.mod): install Go (https://go.dev/doc/install), then run this again"
    export GOFLAGS="${GOFLAGS:--buildvcs=false}"
    printf 'build-language-host: building %s\n' "$bin"
    (cd "$src" && go build -trimpath -o "$bin.partial" .) || { rm -f "$bin.partial"; fatal "go build failed in $src"; }
    mv -f "$bin.partial" "$bin"
fi

names=(pulumi-language-nodejs)
for launcher in "$launchers"/*; do
    install -m 0755 "$launcher" "$out/$(basename "$launcher")"
    names+=("$(basename "$launcher")")
done
printf 'build-language-host: %s has %s\n' "$out" "${names[*]}"
