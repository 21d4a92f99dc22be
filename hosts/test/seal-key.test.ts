/**
 * The sealing key on a host (issue 29, item 6): a fresh key for every seal, the code sealed to it
 * with Node's RSA-OAEP (randomized) and opened by the host with openssl, the key removed once
 * install has used it. Over real SSH on the test bed, with the program's own command lines.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { hostCommands, installInput, parseSealKey, type HostStepSettings } from "../../infra/anywhere/host-commands";
import { sealActivationCode } from "../../infra/anywhere/seal";
import { TEST_CLUSTER, testBedSettings } from "./step-settings";
import { TestBed, testBedUnavailable, type TestHost } from "./testbed";

const ACTIVATION_ID = "0f3c2b1a-1111-2222-3333-444455556666";
const ACTIVATION_CODE = "Secret+Code/1234567890abcdefghij";
const SEAL_KEY = "/var/lib/ecs-anywhere/seal-key.pem";

describe("the sealing key, over SSH", function () {
    // AWS's installer runs apt and dpkg on the host: minutes on a loaded machine.
    this.timeout(300_000);
    let bed: TestBed;
    let alpha: TestHost;
    let beta: TestHost;

    before(async function () {
        const reason = testBedUnavailable();
        if (reason !== undefined) {
            console.log(`      SKIPPED the SSH test bed: it ${reason}`);
            this.skip();
        }
        bed = new TestBed();
        bed.addActivation(ACTIVATION_ID, ACTIVATION_CODE);
        bed.addCluster(TEST_CLUSTER);
        [alpha, beta] = [await bed.addHost("alpha"), await bed.addHost("beta")];
    });
    after(async () => {
        await bed?.cleanUp();
    });

    const commandsFor = (host: TestHost, extra: Partial<HostStepSettings> = {}) => hostCommands(testBedSettings(host, extra));

    /** Runs the host's seal step; its public key (base64 DER). */
    async function seal(host: TestHost): Promise<string> {
        const result = await host.ssh(commandsFor(host).seal);
        assert.equal(result.status, 0, result.stderr);
        return parseSealKey(host.name, result.stdout);
    }

    const keyOnHost = (host: TestHost) => fs.existsSync(host.hostPath(SEAL_KEY));

    it("makes a fresh key (root only) at every seal", async () => {
        const first = await seal(alpha);
        const stats = fs.statSync(alpha.hostPath(SEAL_KEY));
        assert.deepEqual([stats.uid, stats.mode & 0o777], [0, 0o600]);
        const second = await seal(alpha);
        assert.notEqual(second, first, "the key was kept from the seal before");
    });

    it("opens the code sealed to its key (twice, differently: OAEP is randomized), registers with it, and removes the key once used", async () => {
        const key = await seal(alpha);
        const sealed = sealActivationCode(key, ACTIVATION_CODE);
        assert.notEqual(sealActivationCode(key, ACTIVATION_CODE), sealed, "two seals of the same code are the same");
        const install = await alpha.ssh(commandsFor(alpha).install, { stdin: installInput(sealed, ACTIVATION_ID), timeoutMs: 180_000 });
        assert.equal(install.status, 0, install.stderr);
        assert.ok(!install.stderr.includes(ACTIVATION_CODE) && !install.stdout.includes(ACTIVATION_CODE), "the code was printed");
        assert.equal(alpha.installerRuns().length, 1);
        // The code opened is the one sealed: the stand-in SSM took it (it checks the code against the activation's).
        assert.ok(bed.managedInstances().some((m) => m.activationId === ACTIVATION_ID), "no managed instance registered with the activation");
        assert.equal(keyOnHost(alpha), false, "the sealing key is still on the host after install used it");
        assert.equal((await alpha.ssh(`test ! -e ${SEAL_KEY}`)).status, 0);

        // Install run again with the same input (another of its settings changed): the key is gone, the host registered: nothing to do.
        const again = await alpha.ssh(commandsFor(alpha).install, { stdin: installInput(sealed, ACTIVATION_ID), timeoutMs: 180_000 });
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /already registered to cluster ecs-anywhere-anywhere as mi-[0-9a-f]{17}: nothing to do/);
        assert.equal(alpha.installerRuns().length, 1, "the installer ran again");
    });

    it("keeps the key when install fails, so the next up can retry with the same sealed code", async () => {
        const key = await seal(beta);
        const input = installInput(sealActivationCode(key, ACTIVATION_CODE), ACTIVATION_ID);
        const failed = await beta.ssh(commandsFor(beta, { installerUrl: `https://${beta.gateway}:1/nothing-here.sh` }).install, { stdin: input });
        assert.equal(failed.status, 1, failed.stderr);
        assert.match(failed.stderr, /could not download the installer/);
        assert.equal(keyOnHost(beta), true, "a failed install removed the key");
        const retried = await beta.ssh(commandsFor(beta).install, { stdin: input, timeoutMs: 180_000 });
        assert.equal(retried.status, 0, retried.stderr);
        assert.equal(keyOnHost(beta), false);
    });

    it("refuses a code sealed to another host's key, naming the fix, and keeps its own key", async () => {
        const toBeta = installInput(sealActivationCode(await seal(beta), ACTIVATION_CODE), ACTIVATION_ID);
        await alpha.ssh(commandsFor(alpha).deregister);
        await seal(alpha);
        const refused = await alpha.ssh(commandsFor(alpha).install, { stdin: toBeta });
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /\[alpha\] ecs-anywhere-install: error: the sealed activation code does not open with this host's sealing key/);
        assert.match(refused.stderr, /fix: seal the code to this host again: pulumi up --replace with the URN of its -seal step/);
        assert.ok(!refused.stderr.includes(ACTIVATION_CODE));
        assert.equal(keyOnHost(alpha), true);
    });
});
