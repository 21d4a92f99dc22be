/**
 * The activation code, sealed to the host that uses it. Each host makes an RSA key of its own
 * (hosts/bootstrap/seal.sh) and prints the public half; the program encrypts the code to it with
 * RSA-OAEP (SHA-256) and the host opens it with openssl (install.sh). The command provider logs
 * every input it gets at `-v=9`, secrets in plain text, so the code must never be one of them.
 *
 * The encryption is deterministic: the OAEP seed is an HMAC of the code under the host's public
 * key, so the same code for the same host seals to the same text, and an unchanged activation
 * changes no input (a random seed would make every `up` re-run every install). Equal codes sealing
 * equally is all it gives away, and the code is random. Pure functions, tested without mocks.
 */
import * as crypto from "node:crypto";

const HASH = "sha256";
const HASH_BYTES = 32;
/** What install.sh recognises as a sealed code. */
export const SEALED_PREFIX = "sealed:";
/** The smallest host key accepted. */
const MIN_MODULUS_BITS = 2048;

function sha256(...parts: Buffer[]): Buffer {
    const hash = crypto.createHash(HASH);
    for (const part of parts) hash.update(part);
    return hash.digest();
}

/** MGF1 with SHA-256 (RFC 8017, B.2.1). */
function mgf1(seed: Buffer, length: number): Buffer {
    const blocks: Buffer[] = [];
    for (let counter = 0; blocks.length * HASH_BYTES < length; counter++) {
        const c = Buffer.alloc(4);
        c.writeUInt32BE(counter);
        blocks.push(sha256(seed, c));
    }
    return Buffer.concat(blocks).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
    return Buffer.from(a.map((byte, i) => byte ^ b[i]));
}

/** A host's public sealing key (base64 of its DER SubjectPublicKeyInfo), checked. */
export function sealingKey(publicKeyBase64: string): crypto.KeyObject {
    const key = crypto.createPublicKey({ key: Buffer.from(publicKeyBase64, "base64"), format: "der", type: "spki" });
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== "rsa" || bits < MIN_MODULUS_BITS) throw new Error(`the sealing key is ${key.asymmetricKeyType} of ${bits} bits, not RSA of ${MIN_MODULUS_BITS} bits or more`);
    return key;
}

/** `code` encrypted to the host key `publicKeyBase64` (RSA-OAEP, SHA-256, deterministic seed), as `sealed:<base64>`. */
export function sealActivationCode(publicKeyBase64: string, code: string): string {
    const key = sealingKey(publicKeyBase64);
    const k = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    const message = Buffer.from(code, "utf8");
    if (message.length > k - 2 * HASH_BYTES - 2) throw new Error(`a code of ${message.length} bytes does not fit a ${k * 8}-bit key`);
    // EME-OAEP encoding (RFC 8017, 7.1.1), empty label.
    const dataBlock = Buffer.concat([sha256(Buffer.alloc(0)), Buffer.alloc(k - message.length - 2 * HASH_BYTES - 2), Buffer.from([1]), message]);
    const seed = crypto.createHmac(HASH, Buffer.from(publicKeyBase64, "base64")).update(message).digest();
    const maskedDataBlock = xor(dataBlock, mgf1(seed, k - HASH_BYTES - 1));
    const maskedSeed = xor(seed, mgf1(maskedDataBlock, HASH_BYTES));
    const encoded = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDataBlock]);
    return `${SEALED_PREFIX}${crypto.publicEncrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, encoded).toString("base64")}`;
}
