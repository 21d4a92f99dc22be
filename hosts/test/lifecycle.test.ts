/**
 * The host scripts over real SSH, exactly as the Pulumi program builds them
 * (`remoteScriptCommand`), against hosts in network namespaces running AWS's installer as released
 * (its downloads, the agents' packages, the service manager and AWS's API stood in: testbed.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostCommands, installedAs, installInput, parseSealKey, parseVerifyOutput, verifyCommand, type HostStepSettings } from "../../infra/anywhere/host-commands";
import { sealActivationCode } from "../../infra/anywhere/seal";
import { remoteScriptCommand } from "../../infra/anywhere/remote-script";
import { TEST_CLUSTER, TEST_REGION, testBedSettings } from "./step-settings";
import { TestBed, testBedUnavailable, type TestHost } from "./testbed";

const REGION = TEST_REGION;
const CLUSTER = TEST_CLUSTER;
const ACTIVATION_ID = "0f3c2b1a-1111-2222-3333-444455556666";
const ACTIVATION_CODE = "Secret+Code/1234567890abcdefghij";
const OTHER_CLUSTER = "someone-elses-cluster";

describe("host lifecycle over SSH", function () {
    // AWS's installer runs apt and dpkg on each host: minutes on a loaded machine.
    this.timeout(300_000);
    let bed: TestBed;
    let fresh: TestHost;
    let second: TestHost;

    before(async function () {
        const reason = testBedUnavailable();
        if (reason !== undefined) {
            console.log(`      SKIPPED the SSH test bed: it ${reason}`);
            this.skip();
        }
        bed = new TestBed();
        bed.addActivation(ACTIVATION_ID, ACTIVATION_CODE);
        bed.addCluster(CLUSTER);
        bed.addCluster(OTHER_CLUSTER);
        // Two ordinary hosts, registered in parallel as the program does.
        [fresh, second] = [await bed.addHost("alpha"), await bed.addHost("beta")];
    });
    after(async () => {
        await bed?.cleanUp();
    });

    /** The host's steps exactly as the Pulumi program builds them, with its defaults (the test bed serves their names). */
    const settingsFor = testBedSettings;

    function commandsFor(host: TestHost, extra: Partial<HostStepSettings> = {}) {
        return hostCommands(settingsFor(host, extra));
    }

    /** As the program does: the seal step's key, and the code sealed to it on install's standard input. */
    async function sealedInput(host: TestHost): Promise<string> {
        const seal = await host.ssh(commandsFor(host).seal);
        assert.equal(seal.status, 0, seal.stderr);
        return installInput(sealActivationCode(parseSealKey(host.name, seal.stdout), ACTIVATION_CODE), ACTIVATION_ID);
    }

    /** Whether the host has Debian package `name` installed (its own dpkg database). */
    async function installed(host: TestHost, name: string): Promise<boolean> {
        return (await host.ssh(`dpkg-query -W -f='\${Status}' ${name} 2>/dev/null | grep -q 'install ok installed'`)).status === 0;
    }

    /** The host's settings file `file` as lines (none if absent). */
    function settingsLines(host: TestHost, file: string): string[] {
        return fs.existsSync(host.hostPath(file)) ? fs.readFileSync(host.hostPath(file), "utf8").split("\n").filter(Boolean) : [];
    }

    async function lifecycle(host: TestHost, extra: Partial<HostStepSettings> = {}): Promise<{ managedInstanceId: string; containerInstanceArn: string }> {
        const commands = commandsFor(host, extra);
        const preflight = await host.ssh(commands.preflight);
        assert.equal(preflight.status, 0, preflight.stderr);
        const install = await host.ssh(commands.install, { stdin: await sealedInput(host), timeoutMs: 180_000 });
        assert.equal(install.status, 0, install.stderr);
        assert.ok(!install.stderr.includes(ACTIVATION_CODE) && !install.stdout.includes(ACTIVATION_CODE), "the activation code is never printed");
        const data = await host.ssh(commands.prepareData);
        assert.equal(data.status, 0, data.stderr);
        // As the program does: verify is told the id install reported, and finds the same.
        const reported = installedAs(install.stdout);
        assert.match(reported ?? "", /^mi-[0-9a-f]{17}$/, `install reported no managed instance id: ${JSON.stringify(install.stdout)}`);
        const verify = await host.ssh(verifyCommand(settingsFor(host, extra), reported));
        assert.equal(verify.status, 0, verify.stderr);
        const ids = parseVerifyOutput(host.name, verify.stdout);
        assert.equal(ids.managedInstanceId, reported);
        return ids;
    }

    it("registers two fresh hosts in parallel and reports their ids", async () => {
        const [a, b] = await Promise.all([lifecycle(fresh), lifecycle(second)]);
        for (const [host, ids] of [[fresh, a], [second, b]] as const) {
            assert.match(ids.managedInstanceId, /^mi-[0-9a-f]{17}$/);
            assert.match(ids.containerInstanceArn, new RegExp(`^arn:aws:ecs:${REGION}:\\d{12}:container-instance/${CLUSTER}/[0-9a-f]{32}$`));
            assert.equal(host.installerRuns().length, 1);
            // AWS's side saw the registrations the agents made: SSM with the activation, ECS with the managed instance.
            assert.deepEqual(bed.managedInstances().find((m) => m.id === ids.managedInstanceId), { id: ids.managedInstanceId, activationId: ACTIVATION_ID });
            assert.deepEqual(bed.containerInstances().find((c) => c.arn === ids.containerInstanceArn), { arn: ids.containerInstanceArn, cluster: CLUSTER, managedInstanceId: ids.managedInstanceId });
            assert.deepEqual(settingsLines(host, "/etc/ecs/ecs.config"), [`ECS_CLUSTER=${CLUSTER}`]);
            assert.deepEqual(settingsLines(host, "/var/lib/ecs/ecs.config"), [`AWS_DEFAULT_REGION=${REGION}`, "ECS_EXTERNAL=true"]);
            assert.ok(await installed(host, "amazon-ecs-init"), "amazon-ecs-init installed by the host's dpkg");
            for (const folder of ["sourcefolder", "destinationfolder"]) {
                const stats = fs.statSync(path.join(host.dataDir, folder));
                assert.deepEqual([stats.uid, stats.gid, stats.mode & 0o777], [10001, 10001, 0o770], `${host.name} ${folder}`);
            }
        }
        assert.notEqual(a.managedInstanceId, b.managedInstanceId);
        assert.ok(!fs.existsSync("/etc/ecs/ecs.config") || !fs.readFileSync("/etc/ecs/ecs.config", "utf8").includes(CLUSTER), "the real machine is untouched");
    });

    it("a second run registers nothing again, and install reports the same managed instance", async () => {
        const before = fresh.installerRuns().length;
        const first = parseVerifyOutput(fresh.name, (await fresh.ssh(commandsFor(fresh).verify)).stdout);
        const ids = await lifecycle(fresh);
        assert.equal(fresh.installerRuns().length, before, "installer not run again");
        assert.equal(ids.managedInstanceId, first.managedInstanceId);
    });

    it("verify refuses a host registered as another managed instance than install reported", async () => {
        const result = await fresh.ssh(verifyCommand(settingsFor(fresh), "mi-00000000000000000"));
        assert.equal(result.status, 1);
        assert.match(result.stderr, /install registered this host as mi-00000000000000000, but it is now mi-[0-9a-f]{17}/);
        assert.match(result.stderr, /fix: run pulumi up again/);
    });

    it("refuses a host registered to another cluster, naming it and the fix; reregister clears it", async () => {
        const other = OTHER_CLUSTER;
        const refused = await second.ssh(commandsFor(second, { cluster: other }).install, { stdin: installInput(ACTIVATION_CODE, ACTIVATION_ID) });
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, new RegExp(`\\[beta\\] ecs-anywhere-install: error: this host is registered to another cluster, ${CLUSTER} \\(as mi-[0-9a-f]{17}\\)`));
        assert.match(refused.stderr, /fix: .*reregister true/);
        const runs = second.installerRuns().length;
        const moved = await lifecycle(second, { cluster: other, reregister: true });
        assert.equal(second.installerRuns().length, runs + 1);
        assert.match(moved.containerInstanceArn, new RegExp(`container-instance/${other}/`));
        assert.deepEqual(settingsLines(second, "/etc/ecs/ecs.config"), [`ECS_CLUSTER=${other}`]);
    });

    it("destroy leaves a registration to another cluster alone, with a warning naming it", async () => {
        // beta is now registered to OTHER_CLUSTER: this stack's clean-up (CLUSTER) must not touch it.
        const before = settingsLines(second, "/etc/ecs/ecs.config");
        const result = await second.ssh(commandsFor(second).deregister);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, new RegExp(`warning: this host is registered to cluster ${OTHER_CLUSTER} as mi-[0-9a-f]{17}, not the registration this stack made \\(cluster ${CLUSTER}\\): left as it is`));
        assert.deepEqual(settingsLines(second, "/etc/ecs/ecs.config"), before);
        assert.ok(fs.existsSync(second.hostPath("/var/lib/amazon/ssm/Vault/Store/RegistrationKey")), "the SSM registration is still there");
        assert.ok(await installed(second, "amazon-ecs-init"), "the agent package is still there");
        const agent = await second.ssh("curl -fsS --max-time 2 http://localhost:51678/v1/metadata");
        assert.equal(agent.status, 0, "the agent still answers");
    });

    it("deregisters: agent stopped, packages, state and sealing key gone, and a second run is fine", async () => {
        const command = commandsFor(fresh).deregister;
        const sealedBefore = await sealedInput(fresh);
        const first = await fresh.ssh(command);
        assert.equal(first.status, 0, first.stderr);
        const stale = await fresh.ssh(commandsFor(fresh).install, { stdin: sealedBefore });
        assert.equal(stale.status, 1);
        assert.match(stale.stderr, /error: the activation code came sealed, but this host has no sealing key \(\/var\/lib\/ecs-anywhere\/seal-key\.pem\)/);
        for (const gone of ["/etc/ecs", "/var/lib/ecs", "/var/lib/amazon/ssm", "/var/lib/ecs-anywhere"]) {
            const check = await fresh.ssh(`test ! -e ${gone}`);
            assert.equal(check.status, 0, `${gone} still on the host`);
        }
        const agent = await fresh.ssh("curl -fsS --max-time 2 http://localhost:51678/v1/metadata");
        assert.notEqual(agent.status, 0, "the agent no longer answers");
        for (const name of ["amazon-ecs-init", "amazon-ssm-agent"]) assert.ok(!(await installed(fresh, name)), `${name} is still installed`);
        const again = await fresh.ssh(command);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /already deregistered/);
    });

    it("verify times out with the tail of the agent's log when the agent does not answer", async () => {
        // After deregistration no agent answers on this host, but its log is still there.
        const result = await fresh.ssh(commandsFor(fresh, { verifyTimeoutSeconds: 2 }).verify);
        assert.equal(result.status, 1);
        assert.match(result.stderr, /--- last lines of \/var\/log\/ecs\/ecs-agent\.log ---\nlevel=info .*Registering Instance with ECS/);
        assert.match(result.stderr, /\[alpha\] ecs-anywhere-verify: error: the ECS agent did not report cluster .* within 2 s/);
    });

    it("quotes every value: a hostile host or cluster name arrives intact and runs nothing", async () => {
        const hostile = "a'b; touch /tmp/pwned-$$ `touch /tmp/pwned-bt` $(touch /tmp/pwned-cs)";
        const result = await second.ssh(remoteScriptCommand("verify", { HOST_NAME: hostile, CLUSTER: hostile, VERIFY_TIMEOUT_SECONDS: "1" }));
        assert.equal(result.status, 1);
        assert.ok(result.stderr.includes(`[${hostile}] ecs-anywhere-verify:`), result.stderr);
        const pwned = await second.ssh("ls /tmp | grep -c pwned || true");
        assert.equal(pwned.stdout.trim(), "0");
        assert.ok(!fs.readdirSync("/tmp").some((name) => name.startsWith("pwned")));
    });

    describe("preflight failures name the host and the fix", () => {
        it("no systemd", async () => {
            const host = await bed.addHost("nosystemd", { systemd: false });
            const result = await host.ssh(commandsFor(host).preflight);
            assert.equal(result.status, 1);
            assert.match(result.stderr, /\[nosystemd\] ecs-anywhere-preflight: error: systemd is not running/);
            assert.match(result.stderr, /fix: use a systemd-based OS/);
        });

        it("a 32-bit OS gets 'use a 64-bit OS'", async () => {
            const host = await bed.addHost("pi32", { arch32: true });
            const arch = await host.ssh("uname -m");
            assert.equal(arch.stdout.trim(), "i686", "the host runs under the 32-bit personality");
            const result = await host.ssh(commandsFor(host).preflight);
            assert.equal(result.status, 1);
            assert.match(result.stderr, /\[pi32\] ecs-anywhere-preflight: error: this is a 32-bit OS \(i686\)/);
            assert.match(result.stderr, /fix: use a 64-bit OS/);
            // The installer refuses too, as the real one does.
            const install = await host.ssh(commandsFor(host).install, { stdin: installInput(ACTIVATION_CODE, ACTIVATION_ID) });
            assert.equal(install.status, 1);
            assert.match(install.stderr, /Unsupported architecture: i686/);
        });

        it("a missing data folder", async () => {
            const host = await bed.addHost("nodata", { dataDir: false });
            const result = await host.ssh(commandsFor(host).preflight);
            assert.equal(result.status, 1);
            assert.match(result.stderr, /\[nodata\] ecs-anywhere-preflight: error: the data folder .* does not exist/);
            assert.match(result.stderr, /fix: create it .* or set the stack's dataDir/);
        });

        it("a clock far from AWS's", async () => {
            bed.clockSkewSeconds = 900;
            try {
                const result = await second.ssh(commandsFor(second).preflight);
                assert.equal(result.status, 1);
                // The Date header has whole seconds, so 900 s of skew reads as 899 to 901.
                const off = /error: the clock is (-?\d+) s off AWS's/.exec(result.stderr);
                assert.ok(off, result.stderr);
                assert.ok(Math.abs(Math.abs(Number(off[1])) - 900) <= 1, `${off[1]} s measured for 900 s of skew`);
            } finally {
                bed.clockSkewSeconds = 0;
            }
        });

        it("an unreachable AWS endpoint", async () => {
            const result = await second.ssh(commandsFor(second, { ssmEndpoint: `https://${second.gateway}:1/` }).preflight);
            assert.equal(result.status, 1);
            assert.match(result.stderr, new RegExp(`error: cannot reach https://${second.gateway.replaceAll(".", "\\.")}:1/`));
            assert.match(result.stderr, /fix: allow outbound HTTPS/);
        });
    });

    describe("SSH itself", () => {
        it("refuses a host whose key is not the pinned one", async () => {
            const result = await fresh.ssh("true", { knownHostKey: second.publicHostKey });
            assert.equal(result.status, 255);
            assert.match(result.stderr, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
        });

        it("fails fast on an unreachable host", async () => {
            const host = await bed.addHost("gone");
            host.stopSshd();
            await new Promise((resolve) => setTimeout(resolve, 300));
            const started = Date.now();
            const result = await host.ssh("true");
            assert.equal(result.status, 255);
            assert.match(result.stderr, /Connection refused|timed out/);
            assert.ok(Date.now() - started < 10_000);
        });
    });

    describe("after destroy, and on other systems", () => {
        it("destroy then install again on the same host registers it anew (the packages went with the registration)", async () => {
            // alpha was deregistered above: AWS's installer would skip the ECS agent's set-up if its package were still there.
            const before = fresh.installerRuns().length;
            const ids = await lifecycle(fresh);
            assert.equal(fresh.installerRuns().length, before + 1);
            assert.ok(bed.managedInstances().some((m) => m.id === ids.managedInstanceId));
        });

        it("a host cleaned by hand as the ECS docs say, its packages left, registers again", async () => {
            await fresh.ssh("systemctl disable --now ecs amazon-ssm-agent; rm -rf /var/lib/ecs /etc/ecs /var/lib/amazon/ssm");
            assert.ok(await installed(fresh, "amazon-ecs-init"));
            const ids = await lifecycle(fresh);
            assert.match(ids.containerInstanceArn, new RegExp(`container-instance/${CLUSTER}/`));
        });

        it("keeps what an operator put in the agents' settings files, and sets only its own keys", async () => {
            const host = await bed.addHost("operator");
            host.writeFile("/etc/ecs/ecs.config", "# the site's proxy\nHTTP_PROXY=http://proxy.example:3128\nNO_PROXY=169.254.169.254,169.254.170.2,/var/run/docker.sock\nECS_CLUSTER=left-over\n");
            host.writeFile("/var/lib/ecs/ecs.config", "ECS_LOGLEVEL=debug\nECS_EXTERNAL=false\n");
            await lifecycle(host);
            const operator = ["# the site's proxy", "HTTP_PROXY=http://proxy.example:3128", "NO_PROXY=169.254.169.254,169.254.170.2,/var/run/docker.sock"];
            assert.deepEqual(settingsLines(host, "/etc/ecs/ecs.config"), [...operator, `ECS_CLUSTER=${CLUSTER}`]);
            assert.deepEqual(settingsLines(host, "/var/lib/ecs/ecs.config"), ["ECS_LOGLEVEL=debug", `AWS_DEFAULT_REGION=${REGION}`, "ECS_EXTERNAL=true"]);
            const cleaned = await host.ssh(commandsFor(host).deregister);
            assert.equal(cleaned.status, 0, cleaned.stderr);
            assert.deepEqual(settingsLines(host, "/etc/ecs/ecs.config"), operator);
            assert.deepEqual(settingsLines(host, "/var/lib/ecs/ecs.config"), ["ECS_LOGLEVEL=debug"]);
        });

        it("refuses a package whose signature does not match (the installer's own GPG check)", async () => {
            const host = await bed.addHost("tampered");
            bed.downloads.tamperEcsInit(REGION);
            try {
                const install = await host.ssh(commandsFor(host).install, { stdin: installInput(ACTIVATION_CODE, ACTIVATION_ID), timeoutMs: 180_000 });
                assert.equal(install.status, 1);
                assert.match(install.stderr, /amazon-ecs-init GPG verification failed\. Stop the installation of amazon-ecs-init/);
                assert.ok(!(await installed(host, "amazon-ecs-init")), "the tampered package was installed");
            } finally {
                bed.downloads.restore();
            }
        });

        it("a Debian 13 host without Docker (no apt-key, no add-apt-repository) gets the distribution's docker.io and registers", async () => {
            const host = await bed.addHost("trixie", { os: "debian13", docker: false });
            assert.notEqual((await host.ssh("command -v docker || command -v apt-key || command -v add-apt-repository")).status, 0, "the host still has docker, apt-key or add-apt-repository");
            const preflight = await host.ssh(commandsFor(host).preflight);
            assert.match(preflight.stderr, /Docker is not installed: the installer will install the distribution's docker\.io/);
            await lifecycle(host);
            assert.ok(await installed(host, "docker.io"), "docker.io was not installed");
        });

        it("RHEL without Docker is refused by preflight and install, naming the fix; with Docker it registers", async () => {
            const bare = await bed.addHost("rhel-bare", { os: "rhel9", docker: false });
            const preflight = await bare.ssh(commandsFor(bare).preflight);
            assert.equal(preflight.status, 1);
            assert.match(preflight.stderr, /\[rhel-bare\] ecs-anywhere-preflight: error: Docker is not installed, and AWS's installer cannot install it on RHEL/);
            assert.match(preflight.stderr, /fix: install Docker first/);
            const install = await bare.ssh(commandsFor(bare).install, { stdin: installInput(ACTIVATION_CODE, ACTIVATION_ID) });
            assert.equal(install.status, 1);
            assert.match(install.stderr, /error: Docker is not installed, and AWS's installer cannot install it on RHEL/);
            const withDocker = await bed.addHost("rhel", { os: "rhel9" });
            await lifecycle(withDocker);
        });

        it("the activation code is on no command line during install but the SSM agent's -register", async () => {
            const host = await bed.addHost("watched");
            const input = await sealedInput(host);
            const seen = new Map<string, string>();
            let watching = true;
            const watch = (async () => {
                while (watching) {
                    for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
                        for (const part of ["cmdline", "environ"]) {
                            let text = "";
                            try {
                                text = fs.readFileSync(`/proc/${pid}/${part}`, "utf8").replaceAll("\0", " ");
                            } catch {
                                continue;
                            }
                            if (text.includes(ACTIVATION_CODE)) seen.set(`${pid} ${part}`, text.slice(0, 200));
                        }
                    }
                    await new Promise((resolve) => setImmediate(resolve));
                }
            })();
            try {
                const install = await host.ssh(commandsFor(host).install, { stdin: input, timeoutMs: 180_000 });
                assert.equal(install.status, 0, install.stderr);
            } finally {
                watching = false;
                await watch;
            }
            const places = [...seen.entries()];
            assert.ok(places.some(([where, text]) => where.endsWith("cmdline") && /amazon-ssm-agent -register -code /.test(text)), `the watch never saw the SSM agent's -register (so proves nothing): ${JSON.stringify(places)}`);
            const elsewhere = places.filter(([where, text]) => !(where.endsWith("cmdline") && /^(\S*bash )?\S*amazon-ssm-agent -register -code /.test(text)));
            assert.deepEqual(elsewhere, [], "the code was on another command line or in an environment");
        });
    });
});
