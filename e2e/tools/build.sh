#!/usr/bin/env bash
# npm run e2e:tools: builds the real Pulumi engine's tools from the Go module proxy into the
# gitignored .cache/pulumi/bin, skipping what is already built:
#   pulumi                          the CLI (github.com/pulumi/pulumi/pkg/v3, cmd/pulumi), from the
#                                   wrapper module e2e/tools/pulumi-cli (it repeats pkg/v3's replaces)
#   pulumi-language-nodejs          the Node.js language host (e2e/tools/language-nodejs, see there why ours)
#   pulumi-resource-pulumi-nodejs,  the launchers the CLI's release archive carries beside it
#   pulumi-analyzer-policy
#   pulumi-resource-command         the command provider at the version @pulumi/command asks for,
#                                   when the Go module proxy serves it (see below)
# Environment: E2E_PULUMI_CLI_VERSION  the CLI version to build (default: the installed
#              @pulumi/pulumi's, or the wrapper's pinned one when the proxy refuses that version)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$root/.cache/pulumi"
bin="$cache/bin"
started=$SECONDS

info() { printf 'e2e:tools [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
fatal() { printf 'e2e:tools: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fatal "Go is not installed (needed to build the pulumi CLI and the language host): install Go 1.26.6 or newer (what pkg/v3 and sdk/v3 at v3.274.1 require), then run npm run e2e:tools again"
command -v node >/dev/null 2>&1 || fatal "node is not on PATH"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

package_version() { node -p "require('$root/node_modules/$1/package.json').version" 2>/dev/null || fatal "$1 is not installed: run npm ci first"; }

# --- the CLI ---------------------------------------------------------------------------------
wrapper="$root/e2e/tools/pulumi-cli"
pinned="$(sed -n 's#^require github.com/pulumi/pulumi/pkg/v3 v##p' "$wrapper/go.mod")"
sdk="$(package_version @pulumi/pulumi)"
want="${E2E_PULUMI_CLI_VERSION:-$sdk}"
if [ "$want" != "$pinned" ] && [ -z "${E2E_PULUMI_CLI_VERSION:-}" ]; then
    # The proxy here does not serve every release: fall back to the wrapper's pinned one, which is
    # newer than the SDK (a CLI runs programs of older SDKs).
    if ! go mod download "github.com/pulumi/pulumi/pkg/v3@v$want" >/dev/null 2>&1; then
        info "the Go module proxy refuses pkg/v3@v$want (the installed @pulumi/pulumi's version); building v$pinned, the wrapper's pinned release"
        want="$pinned"
    fi
fi
if [ -x "$bin/pulumi" ] && [ "$("$bin/pulumi" version 2>/dev/null)" = "v$want" ]; then
    info "pulumi v$want: already built"
else
    info "pulumi v$want: building from github.com/pulumi/pulumi/pkg/v3 (first build: about 5 minutes on 2 cores)"
    work="$cache/src/pulumi-cli"
    rm -rf "$work"; mkdir -p "$work"
    cp "$wrapper/go.mod" "$wrapper/go.sum" "$wrapper/tools.go" "$work/"
    if [ "$want" != "$pinned" ]; then
        (cd "$work" && go mod edit -require="github.com/pulumi/pulumi/pkg/v3@v$want" -require="github.com/pulumi/pulumi/sdk/v3@v$want" && go mod tidy)
    fi
    (cd "$work" && go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$want" -o "$bin/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$bin/pulumi.partial" "$bin/pulumi"
    info "pulumi $("$bin/pulumi" version): built"
fi

# --- the language host and launchers ----------------------------------------------------------
info "pulumi-language-nodejs and launchers"
bash "$root/e2e/tools/build-language-host.sh" "$bin"

# --- the command provider ---------------------------------------------------------------------
command_version="$(package_version @pulumi/command)"
if [ -x "$bin/pulumi-resource-command" ]; then
    info "pulumi-resource-command: already built"
else
    # pulumi-command tags its releases at the repository root (vX.Y.Z); the provider module lives
    # in provider/ and has no tag of its own, so the proxy knows it only by pseudo-version.
    # Asked of the proxy only (no direct fallback to the VCS): its answer is the one to report.
    proxy_only="$(go env GOPROXY | sed 's/,direct$//; s/|direct$//')"
    if out="$(GOPROXY="$proxy_only" go mod download -json "github.com/pulumi/pulumi-command/provider@v$command_version" 2>&1)" && ! grep -q '"Error"' <<<"$out"; then
        work="$cache/src/pulumi-command"
        rm -rf "$work"; mkdir -p "$work"
        (cd "$work" && go mod init ecs-anywhere.local/e2e/pulumi-command >/dev/null 2>&1 &&
            go get "github.com/pulumi/pulumi-command/provider@v$command_version" &&
            go build -trimpath -o "$bin/pulumi-resource-command" github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command)
        info "pulumi-resource-command v$command_version: built"
    else
        reason="$(grep -o '"Error": "[^"]*' <<<"$out" | head -n 1 | cut -c11- || true)"
        info "pulumi-resource-command v$command_version: the Go module proxy does not serve github.com/pulumi/pulumi-command/provider (${reason:-$out}); the sandbox uses the stand-in e2e/standins/command.ts, which runs commands with OpenSSH"
    fi
fi
info "done: $(find "$bin" -maxdepth 1 -type f -printf '%f ')"
