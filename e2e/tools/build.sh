#!/usr/bin/env bash
# npm run e2e:tools: puts the real Pulumi engine's tools into the gitignored .cache/pulumi/bin,
# skipping what is already there:
#   pulumi                         the CLI: an installed one (on PATH, at least the installed
#                                  @pulumi/pulumi's version), else built from the Go module
#                                  github.com/pulumi/pulumi/pkg/v3 (cmd/pulumi) through the wrapper
#                                  module e2e/tools/pulumi-cli (it repeats pkg/v3's replaces)
#   pulumi-language-nodejs         the Node.js language host: the one beside an installed CLI, else
#   pulumi-resource-pulumi-nodejs  built from upstream's source in $E2E_VENDOR_DIR, with the
#                                  dynamic-provider launcher from the same archive
#   pulumi-resource-command        the command provider at the version @pulumi/command declares:
#                                  the installed plugin (`pulumi plugin install resource command
#                                  <version>`), else built from upstream's source in $E2E_VENDOR_DIR
# Installed tools are linked, not copied. Every archive's sha256 is checked against
# e2e/tools/vendor.sha256 before it is unpacked; the Go build info of a built tool names its
# upstream module (`go version -m .cache/pulumi/bin/<tool>`), and a stamp beside it
# (`.<tool>.from`) the archive and sha256 it was built from, so a second run skips it.
# Arguments: the tools to get, of cli, language-host and command (default: all three).
# Environment:
#   E2E_VENDOR_DIR          the upstream source archives (default: ../shared/vendor beside the
#                           repository, or beside the checkout a local clone was made from)
#   E2E_PULUMI_CLI_VERSION  the CLI version to build (default: the installed @pulumi/pulumi's, or
#                           the wrapper's pinned one when the Go module proxy refuses that version)
#   E2E_TOOLS_BUILD=1       build every tool even where an installed one would serve
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$root/.cache/pulumi"
bin="$cache/bin"
# The upstream sources: beside the repository, or, for a clone of a checkout on this machine (`git
# clone /work/main ...` into a private folder), beside the checkout it was cloned from.
vendor_default() {
    local origin
    origin="$(git -C "$root" config --get remote.origin.url 2>/dev/null || true)"
    if [ ! -d "$root/../shared/vendor" ] && [ -n "$origin" ] && [ -d "$origin/../shared/vendor" ]; then
        (cd "$origin/../shared/vendor" && pwd)
    else
        printf '%s\n' "$root/../shared/vendor"
    fi
}
vendor="${E2E_VENDOR_DIR:-$(vendor_default)}"
sums="$root/e2e/tools/vendor.sha256"
started=$SECONDS

info() { printf 'e2e:tools [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
fatal() { printf 'e2e:tools: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || fatal "node is not on PATH"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

package_version() { node -p "require('$root/node_modules/$1/package.json').version" 2>/dev/null || fatal "$1 is not installed: run npm ci first"; }
# Whether version $1 is at least $2 (x.y.z).
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
need_go() { command -v go >/dev/null 2>&1 || fatal "$1 needs Go to be built, and Go is not installed; install Go 1.26.6 or newer, $2, then run npm run e2e:tools again"; }
# The Go module path a built tool names in its build info ("" when it is no Go binary).
module_of() { go version -m "$1" 2>/dev/null | awk '$1 == "path" { print $2; exit }'; }
# What a tool was built from: its module path and the archive it came from, with the archive's
# sha256 (-trimpath keeps -ldflags, and so the version, out of the build info: a stamp file beside it).
stamp_of() { printf '%s %s %s\n' "$(module_of "$1")" "$(basename "$2")" "$(sha256sum "$2" | cut -d' ' -f1)"; }
built_from() { [ -x "$bin/$1" ] && [ -f "$bin/.$1.from" ] && [ "$(cat "$bin/.$1.from")" = "$3 $(basename "$2") $(sha256sum "$2" | cut -d' ' -f1)" ]; }
# Links an installed tool into bin (replacing whatever was there).
link() { ln -sfn "$1" "$bin/$2"; info "$2: using the installed $1"; }

installed_cli=""
if [ "${E2E_TOOLS_BUILD:-}" != 1 ] && found="$(command -v pulumi 2>/dev/null)"; then
    found="$(readlink -f "$found")"
    # Our own cache on PATH (the sandbox puts it there) is no installation.
    [ "$(dirname "$found")" = "$(readlink -f "$bin")" ] || installed_cli="$found"
fi

# vendored PATTERN VERSION WHOSE MISSING: the archive PATTERN names (the version left as *) at VERSION
# (WHOSE, in messages), its pinned sha256 checked; each failure is fatal with its own message, MISSING
# where there is no archive at all. Run in $(...): the caller adds `|| exit 1`.
vendored() {
    local pattern="$1" wanted="$2" file name sum
    [ -d "$vendor" ] || fatal "$4"
    file="$vendor/${pattern/\*/$wanted}"
    if [ ! -f "$file" ]; then
        local others
        others="$(cd "$vendor" && find . -maxdepth 1 -name "$pattern" -printf '%f ' 2>/dev/null)"
        [ -z "$others" ] || fatal "$vendor has ${others% } but ${pattern/\*/$wanted} is wanted (the version $3): put that upstream archive there, or install the matching package version"
        fatal "$4"
    fi
    name="$(basename "$file")"
    sum="$(awk -v n="$name" '$2 == n { print $1 }' "$sums")"
    [ -n "$sum" ] || fatal "$name has no pinned sha256 in e2e/tools/vendor.sha256: check the archive against its upstream tag and add its line"
    [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sum" ] || fatal "$file does not match its pinned sha256 $sum (e2e/tools/vendor.sha256): the archive was changed or is another one; fetch the upstream archive again"
    printf '%s\n' "$file"
}

# build_tool TOOL ARCHIVE SOURCE VERSION_FLAG: go build of the package in SOURCE into $bin/TOOL with
# -X VERSION_FLAG, and the stamp of the ARCHIVE it came from beside it.
build_tool() {
    (cd "$3" && go build -trimpath -ldflags "-X $4" -o "$bin/$1.partial" .)
    mv "$bin/$1.partial" "$bin/$1"
    stamp_of "$bin/$1" "$2" >"$bin/.$1.from"
}

# Unpacks archive $1 into a fresh $cache/src/$2; prints the folder.
unpack() {
    local work="$cache/src/$2"
    rm -rf "$work"; mkdir -p "$work"
    tar -xzf "$1" -C "$work"
    printf '%s\n' "$work"
}

# --- the CLI ---------------------------------------------------------------------------------
build_cli() {
    sdk="$(package_version @pulumi/pulumi)"
    if [ -n "$installed_cli" ] && cli_version="$("$installed_cli" version 2>/dev/null)" && at_least "${cli_version#v}" "$sdk"; then
        link "$installed_cli" pulumi
    else
        [ -z "$installed_cli" ] || info "the installed $installed_cli is ${cli_version:-of unknown version}, older than @pulumi/pulumi $sdk: building one"
        wrapper="$root/e2e/tools/pulumi-cli"
        pinned="$(sed -n 's#^require github.com/pulumi/pulumi/pkg/v3 v##p' "$wrapper/go.mod")"
        want="${E2E_PULUMI_CLI_VERSION:-$sdk}"
        if [ -L "$bin/pulumi" ]; then rm -f "$bin/pulumi"; fi
        need_go "the pulumi CLI" "or install the Pulumi CLI (https://www.pulumi.com/docs/install/)"
        if [ "$want" != "$pinned" ] && [ -z "${E2E_PULUMI_CLI_VERSION:-}" ] && ! go mod download "github.com/pulumi/pulumi/pkg/v3@v$want" >/dev/null 2>&1; then
            # The proxy here does not serve every release: the wrapper's pinned one is newer than the
            # SDK, and a CLI runs programs of older SDKs.
            info "the Go module proxy refuses pkg/v3@v$want (the installed @pulumi/pulumi's version); building v$pinned, the wrapper's pinned release"
            want="$pinned"
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
    fi
}

# --- the language host and the dynamic-provider launcher --------------------------------------
build_language_host() {
    host_module=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
    beside="${installed_cli:+$(dirname "$installed_cli")}"
    if [ -L "$bin/pulumi" ] && [ -x "$beside/pulumi-language-nodejs" ] && [ -x "$beside/pulumi-resource-pulumi-nodejs" ]; then
        link "$beside/pulumi-language-nodejs" pulumi-language-nodejs
        link "$beside/pulumi-resource-pulumi-nodejs" pulumi-resource-pulumi-nodejs
    else
        missing="no Node.js language host: no installed Pulumi CLI carries one, and $vendor has no pulumi-language-nodejs-<version>.tar.gz to build it from (set E2E_VENDOR_DIR to the folder of upstream archives, or install the Pulumi CLI)"
        archive="$({ cd "$vendor" 2>/dev/null && find . -maxdepth 1 -name 'pulumi-language-nodejs-*.tar.gz' -printf '%f\n' | sort -V | tail -n 1; } || true)"
        [ -n "$archive" ] || fatal "$missing"
        version="${archive#pulumi-language-nodejs-}"; version="${version%.tar.gz}"
        file="$(vendored 'pulumi-language-nodejs-*.tar.gz' "$version" "of the language host" "$missing")" || exit 1
        for tool in pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do [ ! -L "$bin/$tool" ] || rm -f "$bin/$tool"; done
        if built_from pulumi-language-nodejs "$file" "$host_module" && [ -x "$bin/pulumi-resource-pulumi-nodejs" ]; then
            info "pulumi-language-nodejs v$version: already built"
        else
            need_go "the Node.js language host" "or install the Pulumi CLI (its archive carries the language host)"
            info "pulumi-language-nodejs v$version: building from $(basename "$file") (about 30 s)"
            work="$(unpack "$file" language-nodejs)"
            src="$work/pulumi-$version/sdk/nodejs/cmd/pulumi-language-nodejs"
            [ -f "$src/go.mod" ] || fatal "$file has no sdk/nodejs/cmd/pulumi-language-nodejs/go.mod: not the upstream archive this script knows"
            # Its go.mod points pkg/v3 and sdk/v3 at the monorepo: the released modules of the same tag instead.
            (cd "$src" &&
                go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
                    -require "github.com/pulumi/pulumi/pkg/v3@v$version" -require "github.com/pulumi/pulumi/sdk/v3@v$version" &&
                go mod tidy)
            build_tool pulumi-language-nodejs "$file" "$src" "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
            install -m 0755 "$work/pulumi-$version/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"
            info "pulumi-language-nodejs v$version and its dynamic-provider launcher: built"
        fi
    fi
}

# --- the command provider ---------------------------------------------------------------------
build_command() {
    command_module=github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command
    command_version="$(package_version @pulumi/command)"
    plugin="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-command-v$command_version/pulumi-resource-command"
    if [ "${E2E_TOOLS_BUILD:-}" != 1 ] && [ -x "$plugin" ] && [ "$(readlink -f "$plugin")" != "$(readlink -f "$bin/pulumi-resource-command")" ]; then
        link "$plugin" pulumi-resource-command
    else
        [ ! -L "$bin/pulumi-resource-command" ] || rm -f "$bin/pulumi-resource-command"
        file="$(vendored 'pulumi-command-*-provider.tar.gz' "$command_version" "@pulumi/command declares" \
            "no command provider v$command_version: it is not installed (${plugin}) and $vendor has no pulumi-command-$command_version-provider.tar.gz to build it from (set E2E_VENDOR_DIR, or run \`pulumi plugin install resource command $command_version\`)")" || exit 1
        if built_from pulumi-resource-command "$file" "$command_module"; then
            info "pulumi-resource-command v$command_version: already built"
        else
            need_go "the command provider" "or run \`pulumi plugin install resource command $command_version\`"
            info "pulumi-resource-command v$command_version: building from $(basename "$file") (about 50 s)"
            work="$(unpack "$file" pulumi-command)"
            src="$work/pulumi-command-$command_version/provider"
            [ -f "$src/go.mod" ] || fatal "$file has no pulumi-command-$command_version/provider/go.mod: its source is of another version than @pulumi/command's $command_version"
            build_tool pulumi-resource-command "$file" "$src/cmd/pulumi-resource-command" "github.com/pulumi/pulumi-command/provider/pkg/version.Version=$command_version"
            info "pulumi-resource-command v$command_version: built"
        fi
    fi
}

# The tools named as arguments (cli, language-host, command), all three by default.
for tool in "${@:-cli language-host command}"; do
    for one in $tool; do
        case "$one" in
            cli) build_cli ;;
            language-host) build_language_host ;;
            command) build_command ;;
            *) fatal "unknown tool $one: name cli, language-host or command (or none, for all three)" ;;
        esac
    done
done
info "done: $(find "$bin" -maxdepth 1 -name 'pulumi*' \( -type f -o -type l \) -printf '%f ')"
