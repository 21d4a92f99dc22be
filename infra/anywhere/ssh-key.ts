/**
 * The SSH client key (`ecs-anywhere:sshPrivateKey`): whether it is protected by a passphrase, told
 * from its text alone, so that a missing or needless passphrase stops the run before any host is
 * dialled (the command provider would otherwise fail every host with "this private key is
 * passphrase protected" or "key is not password protected"). Pure functions, tested without mocks.
 */
import { readString } from "./host-key";

/** How a private key's text says it is stored. */
export type KeyProtection = "passphrase" | "none" | "unknown";

const OPENSSH_MAGIC = "openssh-key-v1\0";

/**
 * Whether `text` (an OpenSSH, PKCS#1/SEC1 PEM or PKCS#8 private key) is passphrase protected:
 * OpenSSH keys name their cipher (`none` when not), PEM keys carry `Proc-Type: 4,ENCRYPTED`, PKCS#8
 * ones are `ENCRYPTED PRIVATE KEY`. `unknown` when the text is none of these.
 */
export function keyProtection(text: string): KeyProtection {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) return "passphrase";
    const pem = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----\r?\n([\s\S]*?)-----END \1PRIVATE KEY-----/.exec(text);
    if (pem === null) return "unknown";
    const [, kind, body] = pem;
    if (kind !== "OPENSSH ") return /^Proc-Type:\s*4,ENCRYPTED/m.test(body) ? "passphrase" : "none";
    const data = Buffer.from(body.replace(/\s+/g, ""), "base64");
    if (data.subarray(0, OPENSSH_MAGIC.length).toString("latin1") !== OPENSSH_MAGIC) return "unknown";
    const cipher = readString(data, OPENSSH_MAGIC.length);
    if (cipher === undefined) return "unknown";
    return cipher.value.toString("latin1") === "none" ? "none" : "passphrase";
}
