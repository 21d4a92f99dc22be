/**
 * The activation code, sealed to the host that uses it. Each host makes a fresh RSA key for every
 * seal (hosts/bootstrap/seal.sh) and prints the public half; the program encrypts the code to it
 * with Node's own RSA-OAEP (SHA-256, MGF1 SHA-256, empty label: what `openssl pkeyutl` opens in
 * install.sh), and install removes the key once it has used it. The command provider logs every
 * input it gets at `-v=9`, secrets in plain text, so the code must never be one of them.
 *
 * OAEP is randomized: the same code sealed twice differs. What keeps install's input stable from
 * one `up` to the next is `SealedActivationCode`, a resource that seals once per activation and
 * host key and keeps the ciphertext in the state, not a deterministic seed.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** What install.sh recognises as a sealed code. */
export const SEALED_PREFIX = "sealed:";
/** The smallest host key accepted. */
const MIN_MODULUS_BITS = 2048;
/** OAEP with SHA-256 leaves a k-byte key room for k - 2*32 - 2 bytes of message (RFC 8017, 7.1.1). */
const OAEP_OVERHEAD_BYTES = 2 * 32 + 2;

/** A host's public sealing key (base64 of its DER SubjectPublicKeyInfo), checked. */
export function sealingKey(publicKeyBase64: string): crypto.KeyObject {
    const key = crypto.createPublicKey({ key: Buffer.from(publicKeyBase64, "base64"), format: "der", type: "spki" });
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== "rsa" || bits < MIN_MODULUS_BITS) throw new Error(`the sealing key is ${key.asymmetricKeyType} of ${bits} bits, not RSA of ${MIN_MODULUS_BITS} bits or more`);
    return key;
}

/** `code` encrypted to the host key `publicKeyBase64` (RSA-OAEP, SHA-256, a random seed each time), as `sealed:<base64>`. */
export function sealActivationCode(publicKeyBase64: string, code: string): string {
    const key = sealingKey(publicKeyBase64);
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    const message = Buffer.from(code, "utf8");
    if (message.length > bits / 8 - OAEP_OVERHEAD_BYTES) throw new Error(`a code of ${message.length} bytes does not fit a ${bits}-bit key`);
    return `${SEALED_PREFIX}${crypto.publicEncrypt({ key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, message).toString("base64")}`;
}

/** A sealed code's inputs. */
export interface SealedCodeInputs {
    /** The host's public sealing key, base64 DER, as its seal step printed it. */
    readonly publicKey: string;
    /** The activation the code belongs to: a new one is sealed anew. */
    readonly activationId: string;
    /** Secret; kept in the state only as the encrypted input, never as an output. */
    readonly activationCode: string;
}

/** What the state keeps as the resource's outputs: no activation code. */
export interface SealedCodeOutputs {
    readonly publicKey: string;
    readonly activationId: string;
    /** `sealed:<base64>`, opened only by the key `publicKey` is the public half of. */
    readonly sealed: string;
}

/** The engine's placeholder for a value a preview does not know yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** What makes another ciphertext: a new host key or a new activation. */
const SEAL_IDENTITY = ["publicKey", "activationId"] as const;

/** Seals at create only: the ciphertext stays until the host key or the activation changes. */
export const sealedCodeProvider = {
    async create(inputs: SealedCodeInputs) {
        const outs: SealedCodeOutputs = { publicKey: inputs.publicKey, activationId: inputs.activationId, sealed: sealActivationCode(inputs.publicKey, inputs.activationCode) };
        return { id: `${inputs.activationId}/${crypto.createHash("sha256").update(inputs.publicKey).digest("hex").slice(0, 16)}`, outs };
    },
    async diff(_id: string, olds: SealedCodeOutputs, news: SealedCodeInputs) {
        // A key or activation not known in a preview may be new: shown as a replacement, decided at `up`.
        const replaces = SEAL_IDENTITY.filter((key) => news[key] === UNKNOWN || olds[key] !== news[key]);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
} satisfies pulumi.dynamic.ResourceProvider;

export interface SealedActivationCodeArgs {
    readonly publicKey: pulumi.Input<string>;
    readonly activationId: pulumi.Input<string>;
    /** Made secret here whatever the caller passed. */
    readonly activationCode: pulumi.Input<string>;
}

/** The activation code sealed to one host's current key, sealed once and kept in the state. */
export class SealedActivationCode extends pulumi.dynamic.Resource {
    /** `sealed:<base64>` (a secret output: it is the code, encrypted to a key that lives on a host). */
    declare readonly sealed: pulumi.Output<string>;

    constructor(name: string, args: SealedActivationCodeArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            sealedCodeProvider,
            name,
            { publicKey: args.publicKey, activationId: args.activationId, activationCode: pulumi.secret(args.activationCode), sealed: undefined },
            { ...opts, additionalSecretOutputs: ["sealed"] },
            "ecs-anywhere",
            "SealedActivationCode",
        );
    }
}
