#!/usr/bin/env bash
# Lints every shell script in the repository with shellcheck (installed by .ci/run).
set -eu
cd "$(dirname "$0")/.."
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard '*.sh' .ci/run)
if ! command -v shellcheck >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
        echo "lint: shellcheck is missing; .ci/run installs it (apt-get install shellcheck)" >&2
        exit 1
    fi
    echo "lint: SKIPPED shell scripts: shellcheck is not installed (apt-get install shellcheck)" >&2
    exit 0
fi
shellcheck --shell=bash --severity=style --external-sources --source-path=SCRIPTDIR "${scripts[@]}"
echo "lint: shellcheck clean (${#scripts[@]} scripts)"
