/**
 * `hosts/host-keys.sh` (`npm run host-keys`) against real sshd hosts of the test bed: the key it
 * prints is the one the host serves, its fingerprint is what `ssh-keygen -lf` shows for the host's
 * key file, and a host it cannot use gets nothing printed, only an error naming it.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { parseHostKey } from "../../infra/anywhere/host-key";
import { TestBed, testBedUnavailable, type HostKeyType, type TestHost } from "./testbed";

const SCRIPT = path.resolve(__dirname, "..", "host-keys.sh");

interface Scan {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** The printed blocks: the comment line's fields and the `hostKey:` line. */
    readonly blocks: Array<{ address: string; port: number; kind: string; fingerprint: string; consoleFile: string; hostKeyLine: string }>;
}

function hostKeys(...targets: string[]): Scan {
    const run = spawnSync("bash", [SCRIPT, ...targets], { env: { ...process.env, SCAN_TIMEOUT: "3" }, timeout: 60_000 });
    const stdout = run.stdout.toString();
    const blocks = stdout
        .split("\n\n")
        .filter((block) => block.trim() !== "")
        .map((block) => {
            const [comment, hostKeyLine, ...rest] = block.trim().split("\n");
            assert.deepEqual(rest, [], `one comment and one hostKey line per host:\n${block}`);
            const match = /^# (\S+) port (\d+): (\S+) (SHA256:\S+) \(\d+ bits\); compare on the host: ssh-keygen -lf (\S+)$/.exec(comment);
            assert.ok(match, `unexpected comment line: ${comment}`);
            return { address: match[1], port: Number(match[2]), kind: match[3], fingerprint: match[4], consoleFile: match[5], hostKeyLine };
        });
    return { status: run.status, stdout, stderr: run.stderr.toString(), blocks };
}

/** What `ssh-keygen -lf` prints for a key file: `<bits> SHA256:<hash> <comment> (<TYPE>)`. */
function fingerprintOf(file: string): { fingerprint: string; kind: string } {
    const fields = execFileSync("ssh-keygen", ["-lf", file]).toString().trim().split(" ");
    return { fingerprint: fields[1], kind: fields[fields.length - 1].replace(/[()]/g, "") };
}

describe("host-keys: argument checks", () => {
    it("refuses an argument that is not an address before scanning anything, naming it", () => {
        const marker = `/tmp/host-keys-injected-${process.pid}`;
        const scan = hostKeys("192.0.2.10", `-oProxyCommand=touch ${marker}`);
        assert.equal(scan.status, 2);
        assert.equal(scan.stdout, "");
        assert.match(scan.stderr, /host-keys: error: "-oProxyCommand=touch \/tmp\/host-keys-injected-\d+" is not a host name or IP address\nhost-keys: fix: give hosts as <address>\[:port\]/);
        assert.equal(fs.existsSync(marker), false);
    });
    it("refuses a port out of range, naming it", () => {
        const scan = hostKeys("192.0.2.10:70000");
        assert.equal(scan.status, 2);
        assert.match(scan.stderr, /"192\.0\.2\.10:70000" has port "70000"\nhost-keys: fix: give a port from 1 to 65535, e\.g\. 192\.0\.2\.10:22/);
    });
});

describe("host-keys against real sshd hosts", function () {
    this.timeout(120_000);
    let bed: TestBed;
    let plain: TestHost;
    let many: TestHost;
    let ecdsaOnly: TestHost;
    let rsaOnly: TestHost;
    let down: TestHost;

    before(async function () {
        const reason = testBedUnavailable();
        if (reason !== undefined) {
            console.log(`      SKIPPED the SSH test bed: it ${reason}`);
            this.skip();
        }
        bed = new TestBed();
        plain = await bed.addHost("plain");
        many = await bed.addHost("many", { hostKeyTypes: ["rsa", "ecdsa", "ed25519"] });
        ecdsaOnly = await bed.addHost("ecdsa", { hostKeyTypes: ["ecdsa"] });
        rsaOnly = await bed.addHost("rsa", { hostKeyTypes: ["rsa"] });
        down = await bed.addHost("down");
        down.stopSshd();
    });
    after(async () => {
        await bed?.cleanUp();
    });

    /** The block for `host`, checked against the host's own key file and its sshd. */
    async function expectPinnable(scan: Scan, host: TestHost, type: HostKeyType): Promise<void> {
        const block = scan.blocks.find((b) => b.address === host.address);
        assert.ok(block, `nothing printed for ${host.name}:\n${scan.stdout}\n${scan.stderr}`);
        assert.equal(block.port, 22);
        // The printed key is the host's key file's key...
        const pasted = yaml.load(block.hostKeyLine) as { hostKey: string };
        assert.equal(pasted.hostKey, host.publicKeyOf(type), `${host.name}: printed key is not its ${type} key`);
        // ...its fingerprint is what ssh-keygen -lf shows for that file on the host...
        const onHost = fingerprintOf(host.hostKeyFile(type));
        assert.equal(block.fingerprint, onHost.fingerprint);
        assert.equal(block.kind, onHost.kind);
        assert.equal(block.consoleFile, `/etc/ssh/ssh_host_${type}_key.pub`);
        // ...the program accepts it as pasted...
        assert.equal(parseHostKey(pasted.hostKey, { address: host.address, port: 22 }).key, pasted.hostKey);
        // ...and it is the key the host's sshd serves: SSH pinned to it (and only it) gets in.
        const pinned = await host.ssh("echo pinned-ok", { knownHostKey: pasted.hostKey });
        assert.equal(pinned.status, 0, pinned.stderr);
        assert.equal(pinned.stdout.trim(), "pinned-ok");
    }

    it("prints the ed25519 key the host serves, ready to paste, with the fingerprint ssh-keygen -lf shows for its key file", async () => {
        const scan = hostKeys(plain.address, `${many.address}:22`);
        assert.equal(scan.status, 0, scan.stderr);
        assert.equal(scan.blocks.length, 2);
        await expectPinnable(scan, plain, "ed25519");
        // A host serving RSA, ECDSA and ed25519 keys: the ed25519 one.
        await expectPinnable(scan, many, "ed25519");
        assert.equal(scan.stderr, "");
    });

    it("prints the ECDSA key of a host without an ed25519 key", async () => {
        const scan = hostKeys(ecdsaOnly.address);
        assert.equal(scan.status, 0, scan.stderr);
        await expectPinnable(scan, ecdsaOnly, "ecdsa");
        assert.match(scan.blocks[0].hostKeyLine, /^hostKey: ecdsa-sha2-nistp256 AAAA/);
    });

    it("prints nothing for a host that serves only an RSA key, and says how to give it an ed25519 key", () => {
        const scan = hostKeys(rsaOnly.address);
        assert.equal(scan.status, 1);
        assert.equal(scan.stdout, "");
        assert.ok(scan.stderr.includes(`host-keys: error: ${rsaOnly.address} port 22 serves no ed25519 or ECDSA host key (only: ssh-rsa)`), scan.stderr);
        assert.match(scan.stderr, /fix: an RSA key cannot be pinned .*SHA-1 ssh-rsa.*`sudo ssh-keygen -A`/);
    });

    it("prints nothing for a host it cannot reach, names it, and still prints the others", () => {
        const scan = hostKeys(down.address, plain.address, `${plain.address}:2222`);
        assert.equal(scan.status, 1);
        assert.deepEqual(scan.blocks.map((b) => `${b.address}:${b.port}`), [`${plain.address}:22`]);
        assert.ok(!scan.stdout.includes(down.address), "the unreachable host appears on standard output");
        assert.ok(scan.stderr.includes(`host-keys: error: no SSH answer from ${down.address} port 22`), scan.stderr);
        assert.ok(scan.stderr.includes(`host-keys: error: no SSH answer from ${plain.address} port 2222`), scan.stderr);
        assert.match(scan.stderr, /host-keys: 2 of 3 hosts not printed/);
    });
});
