#!/usr/bin/env bash
# Step 1b of the host lifecycle, before install: a fresh sealing key for this host. The Pulumi
# program encrypts the activation code to it (RSA-OAEP with SHA-256) before handing it to the
# command provider, so the code is in plain text nowhere between Pulumi and this host: not in the
# provider's inputs, not in the provider's or the engine's verbose logs. Only this host opens it
# (install.sh), and install removes the key once it has used it. Run at every new activation; each
# run makes a new key (one key per sealed code), replacing any left from before.
#
# Reads:
#   HOST_NAME   name used in messages (default: hostname)
#
# Prints, as the last line of standard output, `seal-key <base64 of the public key, DER>`.
if ! declare -F fatal >/dev/null; then
    # shellcheck source=hosts/bootstrap/common.sh
    . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

make_seal_key() {
    require_root
    require_openssl
    (
        umask 077
        mkdir -p "$SEAL_DIR"
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$SEAL_KEY.partial" 2>/dev/null ||
            fatal "openssl could not make a key in $SEAL_DIR" "check that $SEAL_DIR is writable and openssl works (openssl version)"
        mv "$SEAL_KEY.partial" "$SEAL_KEY"
    )
    info "made a fresh sealing key for this activation ($SEAL_KEY, readable by root only; install removes it once used)"
}

print_public_key() {
    printf 'seal-key %s\n' "$(openssl pkey -in "$SEAL_KEY" -pubout -outform DER | base64 | tr -d '\n')"
}

make_seal_key
print_public_key
