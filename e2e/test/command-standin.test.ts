/**
 * The command stand-in (e2e/standins/command.ts), called directly (no engine), against real sshd
 * hosts of the SSH test bed (hosts/test/testbed.ts): alpha, and beta reached directly or through
 * alpha as its proxy (a link between the two namespaces only). Three more sshd on beta, in beta's
 * own namespaces: an RSA host key as a current OpenSSH offers it (rsa-sha2-* only), the same key on
 * a server that still offers SHA-1 `ssh-rsa`, and one that accepts environment variables.
 *
 * Where the stand-in differs from pulumi-command v1.2.1 (it drives the OpenSSH client, the real
 * one golang.org/x/crypto/ssh in process):
 * - One ssh process (one connection) per command, plus one probe connection (`printenv`) before a
 *   command that sends environment variables: OpenSSH does not say whether the server accepted
 *   them (the real one's Setenv does). A variable the remote environment already has counts as
 *   accepted. Key formats, algorithms and the order of authentication methods are OpenSSH's.
 * - Dial errors: OpenSSH's messages are translated into x/crypto's words for the usual causes
 *   (refused, timeout, no route, unknown name, host key mismatch, no common host key algorithm,
 *   authentication, EOF), else `ssh: handshake failed: <OpenSSH's last line>`; each is followed by
 *   lines `ssh user@host port N: <what OpenSSH said>`. An exit error ends with a line
 *   `(on user@host:port [through proxy])`, carries only the last 64 KiB of output, and secret
 *   values (secret inputs, privateKey, privateKeyPassword, password) read `[secret]` in errors and
 *   in logged output lines (the real one prints them).
 * - perDialTimeout is OpenSSH's ConnectTimeout, which also bounds the banner and key exchange: a
 *   server that accepts TCP and never speaks fails the stand-in after perDialTimeout but hangs the
 *   real one (its timeout covers the TCP connect only). Through a proxy the target's timeout is the
 *   sum of both, as it runs while the proxy hop connects.
 * - Through a proxy, every retry dials the proxy again (the real one dials it once, with the
 *   proxy's dialErrorLimit, then retries the dial from the proxy and the handshake). Which stage
 *   failed is read from the proxy hop's messages. Counting, delays and wording are the real ones:
 *   dialErrorLimit N allows N+1 dials, then `after N failed attempts: ...`, delays 100 ms x1.5.
 * - An empty command runs `true` (OpenSSH would open a shell reading stdin).
 * - A remote command killed by a signal reads `Process exited with status 255`.
 * - Diff returns `changes` and `replaces` only (the Node.js provider server sends no detailed
 *   diff); the engine is not asked for Create/Update during preview (the server does not
 *   advertise preview support), so previews show outputs unknown as the real one does.
 * - Check failures use the stand-in's own wording; a bad hostKey reads
 *   `failed to parse hostKey: ssh: no key found` (the real wording was not available).
 * - password and privateKeyPassword go through SSH_ASKPASS (values only in the ssh process's
 *   environment); password authentication is not exercised here (the test hosts refuse it).
 * - command:local:Command, CopyToRemote, CopyFile and invokes are not modelled: a clear error.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import * as providerrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as providerproto from "@pulumi/pulumi/proto/provider_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { TestBed, testBedUnavailable, type TestHost } from "../../hosts/test/testbed";
import { readCallLog } from "../standins/call-log";
import { CommandProvider, checkInputs, diffInputs, goQuote, isSecret, makeSecret, parseHostKey, reveal, type EngineLog } from "../standins/command";

const URN = (name: string, type = "command:remote:Command") => `urn:pulumi:anywhere::ecs-anywhere::${type}::${name}`;
const SECRET_STDIN = "Secret+Code/1234567890abcdefghij\n0f3c2b1a-1111-2222-3333-444455556666\n";

class Recorder implements EngineLog {
    readonly lines: { kind: string; message: string }[] = [];
    status(_urn: string, message: string): void {
        this.lines.push({ kind: "status", message });
    }
    warn(_urn: string, message: string): void {
        this.lines.push({ kind: "warn", message });
    }
    error(_urn: string, message: string): void {
        this.lines.push({ kind: "error", message });
    }
    take(): { kind: string; message: string }[] {
        return this.lines.splice(0);
    }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
    try {
        await promise;
    } catch (e) {
        return e as Error;
    }
    assert.fail("expected the call to fail");
}

describe("command stand-in: the provider's own logic", () => {
    it("check applies the schema's defaults (connection, proxy, addPreviousOutputInEnv) and keeps secretness", () => {
        const { inputs, failures } = checkInputs({ connection: makeSecret({ host: "h", proxy: { host: "p" } }), create: "true" });
        assert.deepEqual(failures, []);
        assert.equal(inputs.addPreviousOutputInEnv, true);
        assert.ok(isSecret(inputs.connection));
        assert.deepEqual(reveal(inputs.connection), {
            host: "h",
            user: "root",
            port: 22,
            dialErrorLimit: 10,
            perDialTimeout: 15,
            proxy: { host: "p", user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15 },
        });
    });

    it("check refuses a missing connection or host, unknown fields, wrong types and logging values", () => {
        assert.deepEqual(checkInputs({ create: "true" }).failures.map((f) => f.property), ["connection"]);
        const { failures } = checkInputs({ connection: { port: "22", extra: 1 }, create: 3, logging: "loud", bogus: true });
        const byProperty = Object.fromEntries(failures.map((f) => [f.property, f.reason]));
        assert.match(byProperty["connection.host"], /Missing required field 'host'/);
        assert.match(byProperty["connection.extra"], /Unrecognized field 'extra' on 'remote.Connection'/);
        assert.match(byProperty["connection.port"], /number/);
        assert.match(byProperty.create, /string/);
        assert.match(byProperty.logging, /stdoutAndStderr/);
        assert.match(byProperty.bogus, /Unrecognized field/);
    });

    it("diff: triggers replace; create, update, delete, stdin, environment, connection update; secretness counts", () => {
        const base = { connection: makeSecret({ host: "h", port: 22 }), create: "a", triggers: ["x", 1], stdin: makeSecret("s"), addPreviousOutputInEnv: true };
        const state = { ...base, stdout: "out", stderr: "" };
        assert.deepEqual(diffInputs(state, { ...base }), { changes: false, replaces: [], changed: [] });
        assert.deepEqual(diffInputs(state, { ...base, triggers: ["x", 2] }).replaces, ["triggers"]);
        assert.deepEqual(diffInputs(state, { ...base, triggers: undefined }).replaces, ["triggers"]);
        for (const change of [{ create: "b" }, { update: "u" }, { delete: "d" }, { stdin: makeSecret("t") }, { environment: { A: "1" } }, { connection: makeSecret({ host: "h", port: 2222 }) }]) {
            const d = diffInputs(state, { ...base, ...change });
            assert.equal(d.changes, true, JSON.stringify(change));
            assert.deepEqual(d.replaces, [], JSON.stringify(change));
        }
        assert.equal(diffInputs(state, { ...base, stdin: "s" }).changes, true, "a secret that became plain is a change");
    });

    it("quotes commands as Go's %q and reads host keys as ssh.ParseAuthorizedKey", () => {
        assert.equal(goQuote('a "b"\n\tc\\ é\x01\u00a0'), '"a \\"b\\"\\n\\tc\\\\ é\\x01\\u00a0"');
        const key = "AAAAC3NzaC1lZDI1NTE5AAAAIBnrkAlQ0cu0GzmmFY9xLc2h2nd4HGqEEY2tsRiRPd6w";
        assert.deepEqual(parseHostKey(`ssh-ed25519 ${key} comment`), { type: "ssh-ed25519", base64: key });
        assert.deepEqual(parseHostKey(`10.0.0.2 ssh-ed25519 ${key}`), { type: "ssh-ed25519", base64: key }, "a known_hosts line: the host reads as options");
        assert.throws(() => parseHostKey("not a key"), /ssh: no key found/);
    });

    it("a bad hostKey or private key fails before any dial, as the real one's client config does", async () => {
        const provider = new CommandProvider({ log: new Recorder() });
        const conn = { host: "127.0.0.1", user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15 };
        const badHostKey = await rejection(provider.create(URN("bad"), { connection: makeSecret({ ...conn, hostKey: "ssh-ed25519 not-base64!" }), create: "true" }));
        assert.equal(badHostKey.message, "failed to parse hostKey: ssh: no key found");
        const badKey = await rejection(provider.create(URN("bad"), { connection: makeSecret({ ...conn, privateKey: "not a key" }), create: "true" }));
        assert.equal(badKey.message, "ssh: no key found");
        const badProxyKey = await rejection(provider.create(URN("bad"), { connection: makeSecret({ ...conn, proxy: { ...conn, hostKey: "nope" } }), create: "true" }));
        assert.equal(badProxyKey.message, "proxy: failed to parse hostKey: ssh: no key found");
    });

    it("refuses what it does not model, clearly", async () => {
        const provider = new CommandProvider({ log: new Recorder() });
        const error = await rejection(provider.check(URN("x", "command:local:Command"), {}, { create: "true" }));
        assert.match(error.message, /command:local:Command is not modelled by the command stand-in/);
    });
});

describe("command stand-in: command:remote:Command over real SSH", function () {
    this.timeout(180_000);
    let bed: TestBed;
    let alpha: TestHost;
    let beta: TestHost;
    let privateKey: string;
    let callLog: string;
    let savedCallLog: string | undefined;
    let work: string;
    const log = new Recorder();
    const provider = new CommandProvider({ log });
    const ports = { rsaCurrent: 2222, rsaLegacy: 2223, acceptEnv: 2224 };
    let rsaHostKey: string;
    let linkAddress: string;
    let agent: { socket: string; pid: number } | undefined;

    before(async function () {
        const reason = testBedUnavailable();
        if (reason !== undefined) {
            console.log(`      SKIPPED the SSH test bed: it ${reason}`);
            this.skip();
        }
        work = fs.mkdtempSync(path.join(os.tmpdir(), "command-standin-test-"));
        callLog = path.join(work, "calls.jsonl");
        savedCallLog = process.env.E2E_CALL_LOG;
        process.env.E2E_CALL_LOG = callLog;
        bed = new TestBed();
        alpha = await bed.addHost("alpha");
        beta = await bed.addHost("beta");
        privateKey = fs.readFileSync(bed.clientKey, "utf8");

        // A link between alpha and beta only: alpha reaches beta's address through it (no forwarding).
        const sh = (...args: string[]) => execFileSync(args[0], args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        const net = `10.214.${beta.index}`;
        const link = `eapx${process.pid % 10000}`;
        sh("ip", "link", "add", link, "netns", alpha.namespace, "type", "veth", "peer", "name", "eapx", "netns", beta.namespace);
        sh("ip", "netns", "exec", alpha.namespace, "ip", "addr", "add", `${net}.1/30`, "dev", link);
        sh("ip", "netns", "exec", alpha.namespace, "ip", "link", "set", link, "up");
        sh("ip", "netns", "exec", beta.namespace, "ip", "addr", "add", `${net}.2/30`, "dev", "eapx");
        sh("ip", "netns", "exec", beta.namespace, "ip", "link", "set", "eapx", "up");
        sh("ip", "netns", "exec", alpha.namespace, "ip", "route", "add", `${beta.address}/32`, "via", `${net}.2`);
        linkAddress = `${net}.1`;

        // More sshd on beta, inside beta's namespaces (its overlays and /run).
        const rsaKey = path.join(beta.dir, "ssh_host_rsa_key");
        sh("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsaKey);
        rsaHostKey = fs.readFileSync(`${rsaKey}.pub`, "utf8").trim();
        const sshdPid = fs.readFileSync(path.join(beta.dir, "sshd.pid"), "utf8").trim();
        const extra: [number, string, string[]][] = [
            [ports.rsaCurrent, rsaKey, []],
            [ports.rsaLegacy, rsaKey, ["HostKeyAlgorithms +ssh-rsa"]],
            [ports.acceptEnv, path.join(beta.dir, "ssh_host_ed25519_key"), ["AcceptEnv PULUMI_COMMAND_* STANDIN_*"]],
        ];
        for (const [port, hostKey, lines] of extra) {
            const config = path.join(beta.dir, `sshd_config_${port}`);
            const sshdLog = path.join(beta.dir, `sshd_${port}.log`);
            fs.writeFileSync(
                config,
                [
                    `ListenAddress ${beta.address}`,
                    `Port ${port}`,
                    `HostKey ${hostKey}`,
                    `PidFile ${path.join(beta.dir, `sshd_${port}.pid`)}`,
                    `AuthorizedKeysFile ${path.join(beta.dir, "authorized_keys")}`,
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    ...lines,
                    "",
                ].join("\n"),
            );
            spawnSync("nsenter", ["-t", sshdPid, "-m", "-n", "/usr/sbin/sshd", "-f", config, "-E", sshdLog]);
            const start = Date.now();
            while (!(fs.existsSync(sshdLog) && fs.readFileSync(sshdLog, "utf8").includes("Server listening"))) {
                if (Date.now() - start > 10_000) throw new Error(`the sshd on port ${port} did not start: ${fs.existsSync(sshdLog) ? fs.readFileSync(sshdLog, "utf8") : "no log"}`);
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }
    });

    beforeEach(() => log.take());

    after(async () => {
        if (agent) spawnSync("kill", [String(agent.pid)]);
        await bed?.cleanUp();
        if (savedCallLog === undefined) delete process.env.E2E_CALL_LOG;
        else process.env.E2E_CALL_LOG = savedCallLog;
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    /** A connection as the SDK sends it: secret, with the private key inside. */
    function connection(host: TestHost, extra: Record<string, unknown> = {}): Record<string, unknown> {
        return { host: host.address, user: "root", privateKey, hostKey: host.publicHostKey, dialErrorLimit: 1, perDialTimeout: 5, ...extra };
    }

    async function inputs(conn: Record<string, unknown>, rest: Record<string, unknown>): Promise<Record<string, unknown>> {
        const checked = await provider.check(URN("step"), {}, { connection: makeSecret(conn), ...rest });
        assert.deepEqual(checked.failures ?? [], []);
        return checked.inputs as Record<string, unknown>;
    }

    it("create runs the command, gives it stdin, and returns inputs plus stdout and stderr", async () => {
        const create = "echo out $(cat /etc/hostname >/dev/null; echo 1); echo err >&2; cat";
        const ins = await inputs(connection(alpha), { create, stdin: makeSecret("from stdin\n") });
        const result = await provider.create(URN("ecs-anywhere-anywhere-alpha-preflight"), ins);
        assert.match(result.id, /^ecs-anywhere-anywhere-alpha-preflight[0-9a-f]{8}$/);
        assert.equal(result.outs.stdout, "out 1\nfrom stdin", "one trailing newline trimmed");
        assert.equal(result.outs.stderr, "err");
        assert.equal(result.outs.create, create);
        assert.ok(isSecret(result.outs.connection), "connection stays secret");
        assert.ok(isSecret(result.outs.stdin), "stdin stays secret");
        assert.equal(result.outs.addPreviousOutputInEnv, true);
        const statuses = log.take().filter((l) => l.kind === "status").map((l) => l.message);
        assert.deepEqual(statuses.sort(), ["[secret]", "err", "out 1"], "output lines go to the engine as status, a secret's echo scrubbed");
    });

    it("without a create command nothing runs; without hostKey any host key is accepted", async () => {
        const none = await provider.create(URN("none"), await inputs(connection(alpha), {}));
        assert.equal(none.outs.stdout, "");
        const conn = connection(alpha);
        delete conn.hostKey;
        const any = await provider.create(URN("any"), await inputs(conn, { create: "echo ok" }));
        assert.equal(any.outs.stdout, "ok");
    });

    it("a wrong hostKey fails after the retries, naming the host and the mismatch", async () => {
        const started = Date.now();
        const error = await rejection(provider.create(URN("wrong-key"), await inputs(connection(alpha, { hostKey: beta.publicHostKey }), { create: `touch ${path.join(alpha.dir, "should-not-run")}` })));
        assert.match(error.message, /^after 1 failed attempts: ssh: handshake failed: ssh: host key mismatch\n/);
        assert.match(error.message, new RegExp(`ssh root@${alpha.address.replace(/\./g, "\\.")} port 22: .*Host key verification failed`));
        assert.ok(Date.now() - started < 10_000);
        assert.deepEqual(log.take().filter((l) => l.kind === "status").map((l) => l.message), ["Dial 1/1 failed: retrying"]);
        assert.ok(!fs.existsSync(path.join(alpha.dir, "should-not-run")), "the command never ran");
    });

    it("a non-zero exit fails with the exit status, the command line, its output and the host", async () => {
        const create = "echo partial; echo 'preflight: no systemd' >&2; exit 3";
        const error = await rejection(provider.create(URN("fails"), await inputs(connection(alpha), { create })));
        assert.equal(
            error.message,
            `Process exited with status 3: running ${JSON.stringify(create)}:\npartial\npreflight: no systemd\n(on root@${alpha.address}:22)`,
        );
    });

    it("an unreachable address fails after dialErrorLimit retries within a bounded time", async () => {
        const gamma = await bed.addHost("gamma");
        // Gamma's answers vanish: its sshd never completes a TCP handshake with us.
        execFileSync("ip", ["netns", "exec", gamma.namespace, "ip", "route", "add", "blackhole", `${gamma.gateway}/32`]);
        const started = Date.now();
        const error = await rejection(provider.create(URN("unreachable"), await inputs(connection(gamma, { dialErrorLimit: 2, perDialTimeout: 1 }), { create: "true" })));
        const elapsed = Date.now() - started;
        assert.match(error.message, new RegExp(`^after 2 failed attempts: dial tcp ${gamma.address.replace(/\./g, "\\.")}:22: i/o timeout\n`));
        assert.ok(elapsed >= 3000 && elapsed < 8000, `3 dials of 1 s and 0.25 s of delays, took ${elapsed} ms`);
        assert.deepEqual(log.take().filter((l) => l.kind === "status").map((l) => l.message), ["Dial 1/2 failed: retrying", "Dial 2/2 failed: retrying"]);
    });

    it("update runs `update` if set, else `create`; the previous output is offered in the environment", async () => {
        const conn = connection(alpha);
        const first = await provider.create(URN("upd"), await inputs(conn, { create: "echo v1" }));
        const viaCreate = await provider.update(first.id, URN("upd"), first.outs, await inputs(conn, { create: 'echo "v2 prev=${PULUMI_COMMAND_STDOUT:-unset}"' }));
        assert.equal(viaCreate.outs?.stdout, "v2 prev=unset", "a default sshd refuses the variable");
        assert.ok(log.take().some((l) => l.kind === "warn" && l.message.startsWith("Unable to set 'PULUMI_COMMAND_STDOUT'. This only works if your SSH server is configured to accept")));
        const viaUpdate = await provider.update(first.id, URN("upd"), viaCreate.outs, await inputs(conn, { create: "echo create", update: "echo update" }));
        assert.equal(viaUpdate.outs?.stdout, "update");

        const accepting = connection(beta, { port: ports.acceptEnv });
        const base = await provider.create(URN("upd-env"), await inputs(accepting, { create: "echo line1; echo line2" }));
        const next = await provider.update(base.id, URN("upd-env"), base.outs, await inputs(accepting, { create: 'printf "%s" "$PULUMI_COMMAND_STDOUT" | base64 -w0' }));
        assert.equal(Buffer.from(String(next.outs?.stdout), "base64").toString(), "line1\nline2");
        const off = await provider.update(base.id, URN("upd-env"), base.outs, await inputs(accepting, { create: 'echo "${PULUMI_COMMAND_STDOUT:-unset}"', addPreviousOutputInEnv: false }));
        assert.equal(off.outs?.stdout, "unset");
        log.take();
    });

    it("environment needs the server's AcceptEnv: refused, the run fails; accepted, the command sees it", async () => {
        const refused = await rejection(provider.create(URN("env"), await inputs(connection(alpha), { create: "true", environment: { STANDIN_X: "1" } })));
        assert.equal(refused.message, 'could not set environment variable "STANDIN_X": ssh: setenv failed');
        assert.ok(log.take().some((l) => l.kind === "error" && l.message.startsWith("Unable to set 'STANDIN_X'")));
        const accepted = await provider.create(URN("env"), await inputs(connection(beta, { port: ports.acceptEnv }), { create: 'echo "$STANDIN_X"', environment: { STANDIN_X: "two words\nand a line" } }));
        assert.equal(accepted.outs.stdout, "two words\nand a line");
    });

    it("delete runs `delete` with the stored stdin and previous output; a non-zero exit fails the delete", async () => {
        const conn = connection(beta, { port: ports.acceptEnv });
        const marker = path.join(beta.dir, "deleted");
        const created = await provider.create(URN("del"), await inputs(conn, { create: "echo registered", delete: `{ cat; echo "prev=$PULUMI_COMMAND_STDOUT"; } > ${marker}`, stdin: makeSecret("input\n") }));
        await provider.delete(created.id, URN("del"), created.outs);
        assert.equal(fs.readFileSync(marker, "utf8"), "input\nprev=registered\n");
        const failing = await provider.create(URN("del-fail"), await inputs(conn, { create: "true", delete: "echo 'cannot deregister' >&2; exit 7" }));
        const error = await rejection(provider.delete(failing.id, URN("del-fail"), failing.outs));
        assert.match(error.message, /^Process exited with status 7: running "echo 'cannot deregister' >&2; exit 7":\ncannot deregister\n/);
        const nothing = await provider.create(URN("del-none"), await inputs(conn, { create: "true" }));
        await provider.delete(nothing.id, URN("del-none"), nothing.outs);
        log.take();
    });

    it("read (refresh) returns the state as it is, running nothing", async () => {
        const created = await provider.create(URN("read"), await inputs(connection(alpha), { create: "echo state" }));
        const read = await provider.read(created.id, URN("read"), created.outs);
        assert.equal(read.id, created.id);
        assert.deepEqual(read.props, created.outs);
        assert.equal((read.inputs as Record<string, unknown>).stdout, undefined);
        log.take();
    });

    it("a proxy: the target is dialled through it; a wrong proxy key fails naming the proxy", async () => {
        const proxy = { host: alpha.address, user: "root", privateKey, hostKey: alpha.publicHostKey, dialErrorLimit: 1, perDialTimeout: 5 };
        const through = await provider.create(URN("proxied"), await inputs(connection(beta, { proxy }), { create: "echo $SSH_CONNECTION" }));
        assert.match(String(through.outs.stdout), new RegExp(`^${linkAddress.replace(/\./g, "\\.")} \\d+ ${beta.address.replace(/\./g, "\\.")} 22$`), "beta saw the connection come from alpha");
        const direct = await provider.create(URN("direct"), await inputs(connection(beta), { create: "echo $SSH_CONNECTION" }));
        assert.ok(String(direct.outs.stdout).startsWith(`${beta.gateway} `));

        const badProxy = await rejection(provider.create(URN("proxied"), await inputs(connection(beta, { proxy: { ...proxy, hostKey: beta.publicHostKey } }), { create: "true" })));
        assert.match(badProxy.message, /^proxy: after 1 failed attempts: ssh: handshake failed: ssh: host key mismatch\n/);
        assert.match(badProxy.message, new RegExp(`ssh root@${alpha.address.replace(/\./g, "\\.")} port 22: Host key verification failed`));
        const closed = await rejection(provider.create(URN("proxied"), await inputs(connection(beta, { proxy, port: 2299 }), { create: "true" })));
        assert.match(closed.message, /^proxy: after 1 failed attempts: ssh: rejected: connect failed \(Connection refused\)\n/);
        log.take();
    });

    it("an ssh-rsa hostKey offers only SHA-1 ssh-rsa: a current OpenSSH refuses it, a legacy one accepts it", async () => {
        assert.equal(parseHostKey(rsaHostKey).type, "ssh-rsa");
        // OpenSSH >= 8.8 signs with rsa-sha2-256/512 only; pulumi-command v1.2.1 offers the key's type, "ssh-rsa".
        const refused = await rejection(provider.create(URN("rsa"), await inputs(connection(beta, { port: ports.rsaCurrent, hostKey: rsaHostKey }), { create: "true" })));
        assert.match(refused.message, /^after 1 failed attempts: ssh: handshake failed: ssh: no common algorithm for host key; client offered: \[ssh-rsa\], server offered: \[rsa-sha2-512 rsa-sha2-256\]\n/);
        assert.match(refused.message, /no matching host key type found\. Their offer: rsa-sha2-512,rsa-sha2-256/);
        const legacy = await provider.create(URN("rsa"), await inputs(connection(beta, { port: ports.rsaLegacy, hostKey: rsaHostKey }), { create: "echo legacy" }));
        assert.equal(legacy.outs.stdout, "legacy");
        log.take();
    });

    it("an encrypted private key needs privateKeyPassword; an ssh agent socket works instead of a key", async () => {
        const encrypted = path.join(work, "encrypted_key");
        fs.copyFileSync(bed.clientKey, encrypted);
        fs.chmodSync(encrypted, 0o600);
        execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "pass phrase 42", "-f", encrypted]);
        const key = fs.readFileSync(encrypted, "utf8");
        const missing = await rejection(provider.create(URN("enc"), await inputs(connection(alpha, { privateKey: key }), { create: "true" })));
        assert.equal(missing.message, "ssh: this private key is passphrase protected");
        const ok = await provider.create(URN("enc"), await inputs(connection(alpha, { privateKey: key, privateKeyPassword: "pass phrase 42" }), { create: "echo unlocked" }));
        assert.equal(ok.outs.stdout, "unlocked");

        const socket = path.join(work, "agent.sock");
        const started = execFileSync("ssh-agent", ["-a", socket]).toString();
        agent = { socket, pid: Number(/SSH_AGENT_PID=(\d+)/.exec(started)?.[1]) };
        execFileSync("ssh-add", ["-q", bed.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: ["ignore", "ignore", "pipe"] });
        const conn = connection(alpha, { agentSocketPath: socket });
        delete conn.privateKey;
        const viaAgent = await provider.create(URN("agent"), await inputs(conn, { create: "echo agent" }));
        assert.equal(viaAgent.outs.stdout, "agent");
        const gone = await rejection(provider.create(URN("agent"), await inputs({ ...conn, agentSocketPath: path.join(work, "nope.sock") }, { create: "true" })));
        assert.match(gone.message, /^dial unix .*nope\.sock: connect: no such file or directory$/);
        log.take();
    });

    it("no secret reaches the call log or an error message", async () => {
        const error = await rejection(provider.create(URN("leaky"), await inputs(connection(alpha), { create: "cat; exit 1", stdin: makeSecret(SECRET_STDIN) })));
        assert.ok(!error.message.includes("Secret+Code"), error.message);
        assert.match(error.message, /\[secret\]/);
        const statuses = log.take().map((l) => l.message).join("\n");
        assert.ok(!statuses.includes("Secret+Code"), "output lines sent to the engine are scrubbed too");

        const calls = readCallLog(callLog);
        assert.ok(calls.length > 20, `the calls were logged (${calls.length})`);
        assert.ok(calls.every((c) => c.provider === "command" && c.type === "command:remote:Command"));
        for (const op of ["check", "create", "update", "delete", "read"]) assert.ok(calls.some((c) => c.operation === op), `${op} logged`);
        const text = fs.readFileSync(callLog, "utf8");
        const keyBody = privateKey.split("\n")[1];
        for (const secret of [keyBody, "Secret+Code", "pass phrase 42", "from stdin"]) assert.ok(!text.includes(secret), `the call log holds ${secret.slice(0, 12)}...`);
        const failed = calls.find((c) => c.name === "leaky" && c.operation === "create");
        assert.ok(failed?.result?.startsWith("Process exited with status 1"), "a failure is logged with its message");
    });

    it("an empty command is a no-op, not a shell reading stdin", async () => {
        const result = await provider.create(URN("empty"), await inputs(connection(alpha), { create: "", stdin: "echo should-not-run\n" }));
        assert.equal(result.outs.stdout, "");
        log.take();
    });

    it("serves the provider protocol from its own entry point: check, diff, create, delete; output to the engine", async () => {
        // A stand-in engine that records what the provider logs to it.
        const logged: { message: string; ephemeral: boolean; severity: number }[] = [];
        const engine = new grpc.Server();
        engine.addService(enginerpc.EngineService, {
            log: (call: grpc.ServerUnaryCall<engineproto.LogRequest, Empty>, callback: grpc.sendUnaryData<Empty>) => {
                logged.push({ message: call.request.getMessage(), ephemeral: call.request.getEphemeral(), severity: call.request.getSeverity() });
                callback(null, new Empty());
            },
        });
        const enginePort = await new Promise<number>((resolve, reject) => engine.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
        const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "..", "standins", "command.ts"), `127.0.0.1:${enginePort}`], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, E2E_CALL_LOG: callLog },
        });
        try {
            // The plugin prints the port it serves on, as every Pulumi plugin does.
            const port = await new Promise<string>((resolve, reject) => {
                let out = "";
                child.stdout.on("data", (chunk: Buffer) => {
                    out += chunk.toString();
                    if (out.includes("\n")) resolve(out.trim());
                });
                child.on("exit", (code) => reject(new Error(`the plugin exited (${code})`)));
                setTimeout(() => reject(new Error("the plugin printed no port")), 20_000);
            });
            assert.match(port, /^\d+$/);
            const client = new providerrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
            const unary = <Req, Res>(method: (req: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown, req: Req) =>
                new Promise<Res>((resolve, reject) => method.call(client, req, (e: grpc.ServiceError | null, r: Res) => (e ? reject(e) : resolve(r))));
            const urn = URN("wire");
            const news = { connection: makeSecret(connection(alpha)), create: "echo over the wire; echo note >&2", delete: "true", triggers: ["a"] };

            const checkRequest = new providerproto.CheckRequest();
            checkRequest.setUrn(urn);
            checkRequest.setOlds(Struct.fromJavaScript({}));
            checkRequest.setNews(Struct.fromJavaScript(news as never));
            const checked = await unary<providerproto.CheckRequest, providerproto.CheckResponse>(client.check, checkRequest);
            assert.equal(checked.getFailuresList().length, 0);
            const inputs = checked.getInputs()!.toJavaScript() as Record<string, unknown>;
            assert.ok(isSecret(inputs.connection));
            assert.equal((reveal(inputs.connection) as Record<string, unknown>).port, 22);

            const createRequest = new providerproto.CreateRequest();
            createRequest.setUrn(urn);
            createRequest.setProperties(Struct.fromJavaScript(inputs as never));
            const created = await unary<providerproto.CreateRequest, providerproto.CreateResponse>(client.create, createRequest);
            const outs = created.getProperties()!.toJavaScript() as Record<string, unknown>;
            assert.equal(outs.stdout, "over the wire");
            assert.equal(outs.stderr, "note");
            assert.ok(isSecret(outs.connection), "connection goes back secret");

            const diff = async (change: Record<string, unknown>) => {
                const request = new providerproto.DiffRequest();
                request.setId(created.getId());
                request.setUrn(urn);
                request.setOlds(Struct.fromJavaScript(outs as never));
                request.setNews(Struct.fromJavaScript({ ...inputs, ...change } as never));
                const response = await unary<providerproto.DiffRequest, providerproto.DiffResponse>(client.diff, request);
                return { changes: response.getChanges(), replaces: response.getReplacesList() };
            };
            assert.deepEqual(await diff({}), { changes: providerproto.DiffResponse.DiffChanges.DIFF_NONE, replaces: [] });
            assert.deepEqual(await diff({ create: "echo other" }), { changes: providerproto.DiffResponse.DiffChanges.DIFF_SOME, replaces: [] });
            assert.deepEqual(await diff({ triggers: ["b"] }), { changes: providerproto.DiffResponse.DiffChanges.DIFF_SOME, replaces: ["triggers"] });

            const deleteRequest = new providerproto.DeleteRequest();
            deleteRequest.setId(created.getId());
            deleteRequest.setUrn(urn);
            deleteRequest.setProperties(Struct.fromJavaScript(outs as never));
            await unary<providerproto.DeleteRequest, Empty>(client.delete, deleteRequest);
            client.close();

            // The output lines went to the engine as ephemeral status; the refused PULUMI_COMMAND_* as warnings.
            const start = Date.now();
            while (!logged.some((l) => l.message === "over the wire") && Date.now() - start < 5000) await new Promise((resolve) => setTimeout(resolve, 50));
            assert.ok(logged.some((l) => l.message === "over the wire" && l.ephemeral && l.severity === engineproto.LogSeverity.INFO), JSON.stringify(logged));
            assert.ok(logged.some((l) => l.message.startsWith("Unable to set 'PULUMI_COMMAND_STDOUT'") && !l.ephemeral && l.severity === engineproto.LogSeverity.WARNING));
            const wire = readCallLog(callLog).filter((c) => c.name === "wire").map((c) => c.operation);
            assert.deepEqual(wire, ["check", "create", "diff", "diff", "diff", "delete"]);
        } finally {
            child.kill();
            engine.forceShutdown();
        }
    });
});
