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
#   pulumi-resource-docker-build   the docker-build provider at the version @pulumi/docker-build
#                                  declares: the installed plugin, else built from upstream's source
#                                  in $E2E_VENDOR_DIR with the .NET code generator's source and the
#                                  Java one's one-type shim beside it (../shared/vendor/README.md)
#   buildkitd, buildctl            BuildKit, which the docker-build provider builds with: installed
#                                  ones (on PATH, at least the wrapper's version), else built from
#                                  the Go module github.com/moby/buildkit through the wrapper module
#                                  e2e/tools/buildkit (`go install` refuses BuildKit: exclude directives)
#   .base-image                    names the offline stand-in for node:<image major>-bookworm-slim,
#                                  made and cached by e2e/tools/base-image.sh (root, mmdebstrap)
# Installed tools are linked, not copied. Every archive's sha256 is checked against
# e2e/tools/vendor.sha256 before it is unpacked; the Go build info of a built tool names its
# upstream module (`go version -m .cache/pulumi/bin/<tool>`), and a stamp beside it
# (`.<tool>.from`) the archives and sha256s it was built from, so a second run skips it.
# Arguments: the tools to get, of cli, language-host, command, docker-build, buildkit and
# base-image (default: all).
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
# What a tool was built from: its module path and the archives it came from, each with its sha256
# (-trimpath keeps -ldflags, and so the version, out of the build info: a stamp file beside it).
archives_of() { local file; for file in "$@"; do printf ' %s %s' "$(basename "$file")" "$(sha256sum "$file" | cut -d' ' -f1)"; done; }
stamp_of() { local tool="$1"; shift; printf '%s%s\n' "$(module_of "$tool")" "$(archives_of "$@")"; }
# built_from TOOL MODULE ARCHIVE...: TOOL was built from exactly these archives.
built_from() { local tool="$1" module="$2"; shift 2; [ -x "$bin/$tool" ] && [ -f "$bin/.$tool.from" ] && [ "$(cat "$bin/.$tool.from")" = "$module$(archives_of "$@")" ]; }
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

# build_tool TOOL SOURCE VERSION_FLAG ARCHIVE...: go build of the package in SOURCE into $bin/TOOL
# with -X VERSION_FLAG, and the stamp of the ARCHIVEs it came from beside it.
build_tool() {
    local tool="$1" source="$2" flag="$3"
    shift 3
    (cd "$source" && go build -trimpath -ldflags "-X $flag" -o "$bin/$tool.partial" .)
    mv "$bin/$tool.partial" "$bin/$tool"
    stamp_of "$bin/$tool" "$@" >"$bin/.$tool.from"
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
        if built_from pulumi-language-nodejs "$host_module" "$file" && [ -x "$bin/pulumi-resource-pulumi-nodejs" ]; then
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
            build_tool pulumi-language-nodejs "$src" "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" "$file"
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
        if built_from pulumi-resource-command "$command_module" "$file"; then
            info "pulumi-resource-command v$command_version: already built"
        else
            need_go "the command provider" "or run \`pulumi plugin install resource command $command_version\`"
            info "pulumi-resource-command v$command_version: building from $(basename "$file") (about 50 s)"
            work="$(unpack "$file" pulumi-command)"
            src="$work/pulumi-command-$command_version/provider"
            [ -f "$src/go.mod" ] || fatal "$file has no pulumi-command-$command_version/provider/go.mod: its source is of another version than @pulumi/command's $command_version"
            build_tool pulumi-resource-command "$src/cmd/pulumi-resource-command" "github.com/pulumi/pulumi-command/provider/pkg/version.Version=$command_version" "$file"
            info "pulumi-resource-command v$command_version: built"
        fi
    fi
}

# --- the docker-build provider -----------------------------------------------------------------
build_docker_build() {
    docker_build_module=github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build
    docker_build_version="$(package_version @pulumi/docker-build)"
    plugin="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-docker-build-v$docker_build_version/pulumi-resource-docker-build"
    if [ "${E2E_TOOLS_BUILD:-}" != 1 ] && [ -x "$plugin" ] && [ "$(readlink -f "$plugin")" != "$(readlink -f "$bin/pulumi-resource-docker-build")" ]; then
        link "$plugin" pulumi-resource-docker-build
        return
    fi
    [ ! -L "$bin/pulumi-resource-docker-build" ] || rm -f "$bin/pulumi-resource-docker-build"
    local get="set E2E_VENDOR_DIR, or run \`pulumi plugin install resource docker-build $docker_build_version\`"
    file="$(vendored 'pulumi-docker-build-*-provider.tar.gz' "$docker_build_version" "@pulumi/docker-build declares" \
        "no docker-build provider v$docker_build_version: it is not installed (${plugin}) and $vendor has no pulumi-docker-build-$docker_build_version-provider.tar.gz to build it from ($get)")" || exit 1
    # Its provider imports two code generators the Go module proxy refuses, for their schema types only.
    work="$(unpack "$file" pulumi-docker-build)"
    src="$work/pulumi-docker-build-$docker_build_version"
    [ -f "$src/go.mod" ] || fatal "$file has no pulumi-docker-build-$docker_build_version/go.mod: its source is of another version than @pulumi/docker-build's $docker_build_version"
    dotnet_version="$(sed -n 's#^\s*github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3 v\([0-9.]*\)$#\1#p' "$src/go.mod")"
    [ -n "$dotnet_version" ] || fatal "$file's go.mod requires no github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3: not the upstream archive this script knows"
    dotnet="$(vendored 'pulumi-language-dotnet-*-codegen.tar.gz' "$dotnet_version" "pulumi-docker-build $docker_build_version's go.mod requires" \
        "no pulumi-language-dotnet-$dotnet_version-codegen.tar.gz in $vendor: the docker-build provider's build needs that code generator's source ($get)")" || exit 1
    java="$(vendored pulumi-java-codegen-shim.tar.gz "" "" "no pulumi-java-codegen-shim.tar.gz in $vendor: the docker-build provider's build needs it ($get)")" || exit 1
    if built_from pulumi-resource-docker-build "$docker_build_module" "$file" "$dotnet" "$java"; then
        info "pulumi-resource-docker-build v$docker_build_version: already built"
        return
    fi
    need_go "the docker-build provider" "or run \`pulumi plugin install resource docker-build $docker_build_version\`"
    info "pulumi-resource-docker-build v$docker_build_version: building from $(basename "$file") (3 to 7 minutes on a cold Go module cache, seconds with a warm Go build cache)"
    tar -xzf "$dotnet" -C "$work"
    tar -xzf "$java" -C "$work"
    if [ ! -d "$work/pulumi-dotnet-$dotnet_version/pulumi-language-dotnet" ] || [ ! -f "$work/pulumi-java-shim/go.mod" ]; then fatal "$(basename "$dotnet") or $(basename "$java") is not laid out as ../shared/vendor/README.md says"; fi
    (cd "$src" && go mod edit \
        -replace "github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3=../pulumi-dotnet-$dotnet_version/pulumi-language-dotnet" \
        -replace github.com/pulumi/pulumi-java=../pulumi-java-shim)
    GOFLAGS="$GOFLAGS -mod=mod" build_tool pulumi-resource-docker-build "$src/provider/cmd/pulumi-resource-docker-build" "github.com/pulumi/pulumi-docker-build/provider.Version=$docker_build_version" "$file" "$dotnet" "$java"
    info "pulumi-resource-docker-build v$docker_build_version: built"
}

# --- BuildKit -------------------------------------------------------------------------------------
build_buildkit() {
    wrapper="$root/e2e/tools/buildkit"
    pinned="$(sed -n 's#^require github.com/moby/buildkit v##p' "$wrapper/go.mod")"
    # `buildkitd --version` prints "buildkitd github.com/moby/buildkit v0.31.1 <revision>".
    version_of() { "$1" --version 2>/dev/null | awk '{ print $3 }' | sed 's/^v//'; }
    if [ "${E2E_TOOLS_BUILD:-}" != 1 ] && found="$(command -v buildkitd 2>/dev/null)" && client="$(command -v buildctl 2>/dev/null)" &&
        [ "$(dirname "$(readlink -f "$found")")" != "$(readlink -f "$bin")" ]; then
        installed="$(version_of "$found")"
        if [ -n "$installed" ] && at_least "$installed" "$pinned"; then
            link "$(readlink -f "$found")" buildkitd
            link "$(readlink -f "$client")" buildctl
            return
        fi
        info "the installed $found is ${installed:-of unknown version}, older than v$pinned: building BuildKit"
    fi
    for tool in buildkitd buildctl; do [ ! -L "$bin/$tool" ] || rm -f "$bin/$tool"; done
    if [ -x "$bin/buildkitd" ] && [ -x "$bin/buildctl" ] && [ "$(version_of "$bin/buildkitd")" = "$pinned" ] && [ "$(version_of "$bin/buildctl")" = "$pinned" ]; then
        info "buildkitd and buildctl v$pinned: already built"
        return
    fi
    need_go "BuildKit (buildkitd, buildctl)" "or install buildkitd and buildctl v$pinned or newer on PATH"
    info "buildkitd and buildctl v$pinned: building from github.com/moby/buildkit (about 3 minutes on a cold Go module cache, seconds with a warm Go build cache)"
    work="$cache/src/buildkit"
    rm -rf "$work"; mkdir -p "$work"
    cp "$wrapper/go.mod" "$wrapper/go.sum" "$wrapper/tools.go" "$work/"
    (cd "$work" && go build -trimpath -ldflags "-X github.com/moby/buildkit/version.Version=v$pinned" -o "$work/bin/" \
        github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
    for tool in buildkitd buildctl; do mv "$work/bin/$tool" "$bin/$tool"; done
    info "buildkitd and buildctl $(version_of "$bin/buildkitd" | sed 's/^/v/'): built"
}

# The tools named as arguments, all by default.
for tool in "${@:-cli language-host command docker-build buildkit base-image}"; do
    for one in $tool; do
        case "$one" in
            cli) build_cli ;;
            language-host) build_language_host ;;
            command) build_command ;;
            docker-build) build_docker_build ;;
            buildkit) build_buildkit ;;
            base-image) bash "$root/e2e/tools/base-image.sh" ;;
            *) fatal "unknown tool $one: name cli, language-host, command, docker-build, buildkit or base-image (or none, for all)" ;;
        esac
    done
done
info "done: $(find "$bin" -maxdepth 1 -name 'pulumi*' \( -type f -o -type l \) -printf '%f ')"
