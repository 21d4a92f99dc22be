/** The activation code sealed to a host's key: what only that host can open, sealed anew only for a new key or activation. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import { parseSealKey } from "../anywhere/host-commands";
import { SEALED_PREFIX, sealActivationCode, sealedCodeProvider, type SealedCodeInputs, type SealedCodeOutputs } from "../anywhere/seal";
import { loadSerializedProvider } from "../../test-support/serialized-provider";

const CODE = "f0Gk2VbS9ZkR3mP8sQ1x";
const keyPair = (bits = 2048) => crypto.generateKeyPairSync("rsa", { modulusLength: bits });
const publicBase64 = (pair: crypto.KeyPairKeyObjectResult) => pair.publicKey.export({ format: "der", type: "spki" }).toString("base64");
const open = (pair: crypto.KeyPairKeyObjectResult, sealed: string) =>
    crypto.privateDecrypt({ key: pair.privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, Buffer.from(sealed.slice(SEALED_PREFIX.length), "base64")).toString();

describe("sealing the activation code to a host", () => {
    const host = keyPair();
    const other = keyPair();

    it("is standard RSA-OAEP with SHA-256: the host's private key opens it (as openssl pkeyutl does on the host)", () => {
        const sealed = sealActivationCode(publicBase64(host), CODE);
        assert.ok(sealed.startsWith(SEALED_PREFIX));
        assert.ok(!sealed.includes(CODE));
        assert.equal(open(host, sealed), CODE);
        assert.throws(() => open(other, sealed), "another key opens it");
    });

    it("is randomized: the same code sealed twice to the same key differs, and both open to the code", () => {
        const once = sealActivationCode(publicBase64(host), CODE);
        const twice = sealActivationCode(publicBase64(host), CODE);
        assert.notEqual(twice, once);
        assert.equal(open(host, once), CODE);
        assert.equal(open(host, twice), CODE);
    });

    it("refuses a key that is not RSA of 2048 bits or more, and a code too long for the key", () => {
        const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "der", type: "spki" }).toString("base64");
        assert.throws(() => sealActivationCode(ec, CODE), /the sealing key is ec of 0 bits, not RSA of 2048 bits or more/);
        assert.throws(() => sealActivationCode(publicBase64(keyPair(1024)), CODE), /rsa of 1024 bits/);
        assert.throws(() => sealActivationCode(publicBase64(host), "x".repeat(191)), /does not fit a 2048-bit key/);
        assert.equal(open(host, sealActivationCode(publicBase64(host), "x".repeat(190))), "x".repeat(190), "the longest that fits");
    });

    it("reads the key from the seal step's last seal-key line, and names the host when there is none", () => {
        const key = publicBase64(host);
        assert.equal(parseSealKey("pi-1", `[pi-1] seal: made this host's sealing key\nseal-key ${publicBase64(other)}\nseal-key ${key}\n`), key);
        assert.throws(() => parseSealKey("pi-1", "[pi-1] seal: error: openssl is not installed\n"), /^Error: host pi-1: the seal step printed no sealing key/);
        assert.throws(() => parseSealKey("pi-1", "seal-key AAAA\n"), /^Error: host pi-1: the seal step printed an unusable sealing key/);
    });

    describe("SealedActivationCode (the dynamic resource that keeps the ciphertext)", () => {
        const inputs = (pair = host, activationId = "0f3c2b1a-1111-2222-3333-444455556666"): SealedCodeInputs => ({ publicKey: publicBase64(pair), activationId, activationCode: CODE });

        it("seals at create; its outputs hold the ciphertext the host opens, and not the code", async () => {
            const { outs } = await sealedCodeProvider.create(inputs());
            assert.deepEqual(Object.keys(outs).sort(), ["activationId", "publicKey", "sealed"]);
            assert.ok(!JSON.stringify(outs).includes(CODE), "the code is among the outputs");
            assert.equal(open(host, outs.sealed), CODE);
        });

        it("changes nothing while the key and the activation stay (so install's input stays the same)", async () => {
            const { outs } = await sealedCodeProvider.create(inputs());
            assert.deepEqual(await sealedCodeProvider.diff("id", outs, inputs()), { changes: false, replaces: [], deleteBeforeReplace: false });
        });

        it("works serialized, as Pulumi stores it and the dynamic provider host loads it (what the engine runs), capturing no code", async () => {
            const { text } = await pulumi.runtime.serializeFunction(() => sealedCodeProvider, { allowSecrets: false });
            assert.ok(!text.includes(CODE));
            const provider = loadSerializedProvider(text);
            const created = await provider.create!(inputs());
            assert.equal(open(host, (created.outs as SealedCodeOutputs).sealed), CODE);
            assert.deepEqual(await provider.diff!("id", created.outs, inputs()), { changes: false, replaces: [], deleteBeforeReplace: false });
        });

        it("seals anew for a new host key or a new activation, or when a preview does not know them yet", async () => {
            const { outs } = await sealedCodeProvider.create(inputs());
            assert.deepEqual((await sealedCodeProvider.diff("id", outs, inputs(other))).replaces, ["publicKey"]);
            assert.deepEqual((await sealedCodeProvider.diff("id", outs, inputs(host, "1f3c2b1a-1111-2222-3333-444455556666"))).replaces, ["activationId"]);
            const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            assert.deepEqual((await sealedCodeProvider.diff("id", outs, { ...inputs(), publicKey: unknown })).replaces, ["publicKey"]);
        });
    });
});
