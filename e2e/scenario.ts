/**
 * `npm run e2e`: the README's commands under the real Pulumi engine, in the order a user lives
 * them (model: pulumi/pulumi's ProgramTest). Every command goes through `e2e/sandbox.sh`; hosts are
 * real sshd hosts in network namespaces (hosts/test/testbed.ts) registered by the real engine
 * through the command provider, with the stand-in installer. Assertions read the engine's own
 * artefacts: stack outputs, `pulumi stack export`, the stand-ins' call log and records, and the
 * hosts' files. Ends with `e2e: N passed, N failed`.
 *
 * Needs root (network namespaces) and the tools `npm run e2e:tools` builds; without them it says
 * so and skips.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { TestBed, type TestHost } from "../hosts/test/testbed";
import { activationWindow } from "../infra/anywhere/activation";
import { cleanupCommand } from "../infra/anywhere/host-commands";
import { REGION_OUTPUTS } from "../infra/region/index";
import { configureSite, expect, hostEntry, indexOf, isCommand, REGION, Sandbox, sandboxUnavailable, tail } from "./sandbox-runner";
import type { CallRecord } from "./standins/call-log";
import { liveResources } from "./standins/records";

/** Files a registration leaves on a host (the installer's and the agents'). */
const REGISTRATION_PATHS = ["/var/lib/amazon/ssm", "/etc/ecs", "/var/lib/ecs"];

function registrationLeft(host: TestHost): string[] {
    return REGISTRATION_PATHS.filter((p) => fs.existsSync(host.hostPath(p)));
}

/** The stand-in ECS/SSM deregistration calls in `calls`. */
function deregistrationsIn(calls: readonly CallRecord[]): CallRecord[] {
    return calls.filter((c) => c.operation === "api" && c.type.startsWith("Deregister"));
}

/** Where in `calls` the host with `ids` left ECS and SSM (-1: it did not). */
function deregistrationOf(calls: readonly CallRecord[], ids: { containerInstanceArn: string; managedInstanceId: string }): { ecs: number; ssm: number } {
    return {
        ecs: indexOf(calls, (c) => c.provider === "ecs-api" && c.type === "DeregisterContainerInstance" && JSON.stringify(c.inputs).includes(ids.containerInstanceArn)),
        ssm: indexOf(calls, (c) => c.provider === "ssm-api" && c.type === "DeregisterManagedInstance" && JSON.stringify(c.inputs).includes(ids.managedInstanceId)),
    };
}

/** Every `*.log` file in `folders`, recursively. */
function logFilesUnder(folders: readonly string[]): string[] {
    return folders.flatMap((folder) =>
        fs.existsSync(folder)
            ? (fs.readdirSync(folder, { recursive: true }) as string[]).map((name) => path.join(folder, name)).filter((file) => file.endsWith(".log") && fs.statSync(file).isFile())
            : [],
    );
}

/** The residency policy pack's own line in a `--policy-pack` run's output: it ran and passed. */
const PACK_PASSED = /✅ ecs-anywhere-residency@v[\d.]+ \(local: policy\)/;

/** Whether a `--policy-pack` run's output shows `rule` refusing a resource as mandatory. */
function refusedBy(output: string, rule: string): boolean {
    return /❌ ecs-anywhere-residency@v/.test(output) && new RegExp(`\\[mandatory\\]\\s+${rule}\\s`).test(output);
}

/**
 * A copy of the sandbox's project whose infra/ is a real copy with `file` changed by `change`; the
 * rest (stack config, links to node_modules, worker, hosts, policy) as in the project. Fails if the
 * change finds nothing to change.
 */
function changedProgram(s: Sandbox, name: string, file: string, change: (source: string) => string): string {
    const copy = path.join(s.state, name);
    fs.mkdirSync(copy);
    for (const entry of fs.readdirSync(s.project)) {
        const from = path.join(s.project, entry);
        if (entry === "infra") fs.cpSync(path.resolve(__dirname, "..", "infra"), path.join(copy, "infra"), { recursive: true });
        else if (fs.lstatSync(from).isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), path.join(copy, entry));
        else fs.copyFileSync(from, path.join(copy, entry));
    }
    const target = path.join(copy, "infra", file);
    const source = fs.readFileSync(target, "utf8");
    const changed = change(source);
    expect(changed !== source, `the change to infra/${file} found nothing to change: the program moved on, update this check`);
    fs.writeFileSync(target, changed);
    return copy;
}

async function main(): Promise<void> {
    const unavailable = sandboxUnavailable();
    if (unavailable !== undefined) {
        console.log(`e2e: SKIPPED: the end-to-end scenario ${unavailable}`);
        console.log("e2e: 0 passed, 0 failed, 1 skipped");
        return;
    }

    const s = new Sandbox();
    const bed = new TestBed();
    let exitCode = 0;
    try {
        console.log(`e2e: state in ${s.state}`);
        const [alpha, beta, gamma, delta] = [await bed.addHost("alpha"), await bed.addHost("beta"), await bed.addHost("gamma"), await bed.addHost("delta")];
        const dataDir = path.join(s.state, "data");
        fs.mkdirSync(dataDir);
        const privateKey = fs.readFileSync(bed.clientKey, "utf8");
        // The base64 of the key, which a leak would show even without the PEM lines.
        const keyBody = privateKey.split("\n").filter((line) => line && !line.startsWith("-----"))[1] ?? privateKey;

        // --- region ---------------------------------------------------------------------------
        let region: Record<string, unknown> = {};
        await s.check("pulumi up -s region: all nine contract outputs", async () => {
            await s.pulumi(["stack", "init", "region"]);
            await s.pulumi(["config", "set", "-s", "region", "aws:region", REGION]);
            const up = await s.pulumi(["up", "-s", "region", "--yes"]);
            expect(up.calls.some((c) => c.operation === "create" && c.type === "aws:sqs/queue:Queue"), "no queue was created through the aws stand-in");
            region = await s.outputs("region");
            for (const name of REGION_OUTPUTS) expect(typeof region[name] === "string" && region[name] !== "", `output ${name} is ${JSON.stringify(region[name])}`);
            expect(region.region === REGION, `region output ${String(region.region)}`);
            expect(/^https:\/\/sqs\.eu-west-1\.amazonaws\.com\/123456789012\/.+/.test(String(region.queueUrl)), `queueUrl ${String(region.queueUrl)}`);
            expect(/^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/[^:@]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/.test(String(region.imageUri)), `imageUri ${String(region.imageUri)}`);
            expect(String(region.taskRoleArn).startsWith("arn:aws:iam::123456789012:role/"), `taskRoleArn ${String(region.taskRoleArn)}`);
        });
        await s.check("pulumi preview -s region --expect-no-changes after up", async () => {
            await s.pulumi(["preview", "-s", "region", "--expect-no-changes"]);
        });

        // --- anywhere ---------------------------------------------------------------------------
        await s.check("a bad config value stops before any resource, naming key and fix", async () => {
            await configureSite(s, "anywhere", bed, [alpha, beta], dataDir);
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", "data"]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
            expect(up.output.includes("ecs-anywhere:dataDir") && up.output.includes("expected an absolute folder"), `the error does not name the key and fix:\n${tail(up.output, 20)}`);
            const touched = up.calls.filter((c) => ["create", "update", "delete"].includes(c.operation));
            expect(touched.length === 0, `resources were touched: ${touched.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
        });

        await s.check("a host without hostKey stops before any resource, naming it and the ssh-keyscan command that prints its key", async () => {
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", dataDir]);
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey"]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
            const scan = /`(ssh-keyscan -t ed25519 [^`]+)`/.exec(up.output)?.[1];
            expect(up.output.includes(`host ${beta.name} (${beta.address})`) && scan !== undefined, `the error does not name ${beta.name} and the scan:\n${tail(up.output, 20)}`);
            const touched = up.calls.filter((c) => ["create", "update", "delete"].includes(c.operation));
            expect(touched.length === 0, `resources were touched: ${touched.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
            // The command it gives prints the key beta's sshd serves.
            const [tool, ...args] = scan.split(" ");
            const printed = execFileSync(tool, args, { stdio: ["ignore", "pipe", "ignore"] }).toString().trim().split(" ").slice(1).join(" ");
            expect(printed === beta.publicHostKey, `\`${scan}\` printed ${JSON.stringify(printed)}, not beta's key`);
            await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey", beta.publicHostKey]);
        });

        let site: Record<string, unknown> = {};
        await s.check("pulumi up -s anywhere: two hosts registered over real SSH", async () => {
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", dataDir]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            for (const host of [alpha, beta]) {
                for (const step of ["preflight", "install", "data", "verify"]) {
                    expect(indexOf(up.calls, isCommand("create", host.name, step)) >= 0, `no ${step} ran on ${host.name}`);
                }
                expect(host.installerRuns().length === 1, `the installer ran ${host.installerRuns().length} times on ${host.name}`);
            }
            site = await s.outputs("anywhere");
            const hosts = site.hosts as Record<string, { managedInstanceId: string; containerInstanceArn: string }>;
            for (const host of [alpha, beta]) {
                expect(/^mi-[0-9a-f]{17}$/.test(hosts?.[host.name]?.managedInstanceId ?? ""), `hosts.${host.name} ${JSON.stringify(hosts?.[host.name])}`);
                expect((hosts[host.name].containerInstanceArn ?? "").startsWith("arn:aws:ecs:eu-west-1:"), `hosts.${host.name}.containerInstanceArn`);
            }
            expect(site.clusterName === "ecs-anywhere-anywhere", `clusterName ${String(site.clusterName)}`);
        });

        await s.check("the activation code: shown with --show-secrets, hidden without, the one the hosts got", async () => {
            const shown = await s.pulumi(["stack", "output", "-s", "anywhere", "activationCode", "--show-secrets"]);
            const code = shown.output.trim().split("\n").pop() ?? "";
            expect(/^[A-Za-z0-9+/=]{20,}$/.test(code), `activationCode --show-secrets printed ${JSON.stringify(code)}`);
            const hidden = await s.pulumi(["stack", "output", "-s", "anywhere", "activationCode"]);
            expect(hidden.output.includes("[secret]") && !hidden.output.includes(code), "activationCode without --show-secrets is not hidden");
            const digest = crypto.createHash("sha256").update(code).digest("hex");
            for (const host of [alpha, beta]) {
                const run = host.installerRuns()[0] ?? "";
                expect(run.includes(`code-sha256=${digest}`), `${host.name} got another code: ${run}`);
                expect(run.includes(`activation-id=${String(site.activationId)}`), `${host.name} got another activation id: ${run}`);
            }
            // Every artefact of the run so far: neither the code nor the private key in plain text.
            const exports = [await s.pulumi(["stack", "export", "-s", "anywhere"]), await s.pulumi(["stack", "export", "-s", "region"])];
            const places: Record<string, string> = {
                "stack export -s anywhere": exports[0].output,
                "stack export -s region": exports[1].output,
                "the call log": fs.readFileSync(s.callLog, "utf8"),
                "the run log (every command's output)": fs.readFileSync(s.runLog, "utf8").replace(shown.output, ""),
            };
            for (const file of fs.readdirSync(s.state).filter((f) => f.endsWith(".log") && f !== path.basename(s.runLog))) places[file] = fs.readFileSync(path.join(s.state, file), "utf8");
            // And what the hosts logged: sshd, the installer's record, the agents' logs.
            for (const host of [alpha, beta]) {
                for (const file of logFilesUnder([host.dir])) places[`${host.name}:${path.relative(host.dir, file)}`] = fs.readFileSync(file, "utf8");
            }
            for (const [place, text] of Object.entries(places)) {
                expect(!text.includes(code), `${place} holds the activation code in plain text`);
                expect(!text.includes(keyBody), `${place} holds the SSH private key in plain text`);
            }
        });

        await s.check("a second up and preview --expect-no-changes find nothing to change", async () => {
            await s.pulumi(["preview", "-s", "anywhere", "--expect-no-changes"]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            const changed = up.calls.filter((c) => ["create", "update", "delete"].includes(c.operation));
            expect(changed.length === 0, `the second up changed: ${changed.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
            for (const host of [alpha, beta]) expect(host.installerRuns().length === 1, `the installer ran again on ${host.name}`);
        });

        await s.check("a renewed activation re-runs the idempotent install (nobody deregistered); a host that lost its registration registers again with the current code, at a renewal or a replaced install; a moved data folder replaces nothing", async () => {
            type Ids = Record<string, { managedInstanceId: string; containerInstanceArn: string }>;
            const before = JSON.stringify(site.hosts);
            // Expiries whose windows end on other dates than the default's (14 days, renewed 3 before) and each other's today.
            const now = new Date();
            const ends = new Set([activationWindow(now, 14, 3).expirationDate]);
            const expiries = [10, 9, 8, 12, 13, 11, 7, 6].filter((days) => {
                const end = activationWindow(now, days, 3).expirationDate;
                return ends.has(end) ? false : (ends.add(end), true);
            });
            const currentCodeDigest = async () => {
                const shown = await s.pulumi(["stack", "output", "-s", "anywhere", "activationCode", "--show-secrets"]);
                return crypto.createHash("sha256").update(shown.output.trim().split("\n").pop() ?? "").digest("hex");
            };
            const wipeBeta = async () => {
                const wiped = await beta.ssh(cleanupCommand(beta.name));
                expect(wiped.status === 0 && registrationLeft(beta).length === 0, `wiping beta failed: ${wiped.stderr}`);
            };
            /** beta registered again: with the current code, new ids recorded, its old ones deregistered (ECS, then SSM); alpha unchanged. */
            const expectBetaRegisteredAgain = async (run: { calls: CallRecord[] }, oldIds: Ids, installerRuns: number) => {
                const digest = await currentCodeDigest();
                const runs = beta.installerRuns();
                expect(runs.length === installerRuns && (runs.at(-1) ?? "").includes(`code-sha256=${digest}`), `beta was not registered again with the current code: ${runs.join(" | ")}`);
                site = await s.outputs("anywhere");
                const ids = site.hosts as Ids;
                expect(ids[beta.name].managedInstanceId !== oldIds[beta.name].managedInstanceId, "beta's new ids were not recorded");
                expect(JSON.stringify(ids[alpha.name]) === JSON.stringify(oldIds[alpha.name]), "alpha's ids changed");
                const { ecs, ssm } = deregistrationOf(run.calls, oldIds[beta.name]);
                expect(ecs >= 0 && ssm > ecs, `beta's old registration was not deregistered (ECS ${ecs}, SSM ${ssm})`);
                const deregistered = deregistrationsIn(run.calls);
                expect(deregistered.length === 2, `expected only beta's old registration deregistered, got ${deregistered.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
                expect(alpha.installerRuns().length === 1, "the installer ran again on alpha");
            };

            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:activationExpiryDays", String(expiries[0])]);
            const renew = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expect(indexOf(renew.calls, (c) => c.operation === "create" && c.type === "aws:ssm/activation:Activation") >= 0, "no new activation was made");
            for (const host of [alpha, beta]) {
                expect(indexOf(renew.calls, isCommand("update", host.name, "install")) >= 0, `the new activation did not re-run install on ${host.name}`);
                const others = renew.calls.filter((c) => c.provider === "command" && c.name.includes(`-${host.name}-`) && ["create", "update", "delete"].includes(c.operation) && !c.name.endsWith("-install"));
                expect(others.length === 0, `a new activation touched more than install on ${host.name}: ${others.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
                expect(host.installerRuns().length === 1, `the installer ran again on ${host.name}, already registered`);
            }
            const deregistered = deregistrationsIn(renew.calls);
            expect(deregistered.length === 0, `the renewal deregistered: ${deregistered.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
            site = await s.outputs("anywhere");
            expect(JSON.stringify(site.hosts) === before, `the hosts' ids changed: ${before} -> ${JSON.stringify(site.hosts)}`);

            // beta loses its registration (re-imaged, cleaned by hand); the next renewal registers it again.
            await wipeBeta();
            const beforeRenewal = site.hosts as Ids;
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:activationExpiryDays", String(expiries[1])]);
            const renewAgain = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            await expectBetaRegisteredAgain(renewAgain, beforeRenewal, 2);

            // The README's way without waiting for a renewal: replace beta's install.
            await wipeBeta();
            const beforeReplace = site.hosts as Ids;
            const installUrn = `urn:pulumi:anywhere::ecs-anywhere::ecs-anywhere:hosts:ManagedHost$command:remote:Command::ecs-anywhere-anywhere-${beta.name}-install`;
            const replace = await s.pulumi(["up", "-s", "anywhere", "--yes", "--replace", installUrn]);
            await expectBetaRegisteredAgain(replace, beforeReplace, 3);
            const onAlpha = replace.calls.filter((c) => c.name.includes(`-${alpha.name}-`) && ["create", "update", "delete"].includes(c.operation));
            expect(onAlpha.length === 0, `alpha was touched: ${onAlpha.map((c) => `${c.operation} ${c.name}`).join(", ")}`);

            const beforeMove = JSON.stringify(site.hosts);
            const moved = path.join(s.state, "data-moved");
            fs.mkdirSync(moved);
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", moved]);
            const move = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            for (const host of [alpha, beta]) {
                expect(indexOf(move.calls, isCommand("create", host.name, "data")) >= 0, `the folders were not made in the new data folder on ${host.name}`);
                const touched = move.calls.filter((c) => c.name.includes(`-${host.name}-`) && /-(cleanup|install|verify|registration)$/.test(c.name) && ["create", "update", "delete"].includes(c.operation));
                expect(touched.length === 0, `moving the data folder touched ${touched.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
            }
            const moveDeregistrations = deregistrationsIn(move.calls);
            expect(moveDeregistrations.length === 0, `moving the data folder deregistered: ${moveDeregistrations.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
            site = await s.outputs("anywhere");
            expect(JSON.stringify(site.hosts) === beforeMove, `the hosts' ids changed: ${beforeMove} -> ${JSON.stringify(site.hosts)}`);
            await s.pulumi(["preview", "-s", "anywhere", "--expect-no-changes"]);
        });

        await s.check("the residency policy pack passes both stacks as they are: pulumi preview --policy-pack policy", async () => {
            for (const stack of ["region", "anywhere"]) {
                const preview = await s.pulumi(["preview", "-s", stack, "--policy-pack", "policy", "--expect-no-changes"]);
                expect(PACK_PASSED.test(preview.output), `the pack did not run and pass on ${stack}:\n${tail(preview.output, 20)}`);
            }
        });

        await s.check("the residency policy pack refuses plain file names from hosts and an EFS volume on the external task, touching nothing", async () => {
            // A config value the program accepts: refused by preview, and by up before any step.
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:logFileNames", "plain"]);
            const preview = await s.pulumi(["preview", "-s", "anywhere", "--policy-pack", "policy"], { expectFailure: true });
            expect(refusedBy(preview.output, "external-task-file-names-hidden-in-logs"), `preview was not refused by external-task-file-names-hidden-in-logs:\n${tail(preview.output, 30)}`);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes", "--policy-pack", "policy"], { expectFailure: true });
            expect(refusedBy(up.output, "external-task-file-names-hidden-in-logs"), `up was not refused by external-task-file-names-hidden-in-logs:\n${tail(up.output, 30)}`);
            const touched = up.calls.filter((c) => ["create", "update", "delete"].includes(c.operation));
            expect(touched.length === 0, `the refused up touched: ${touched.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
            await s.pulumi(["config", "rm", "-s", "anywhere", "ecs-anywhere:logFileNames"]);

            // A copy of the program changed to put the hosts' data volume on EFS: refused with the pack, accepted without it.
            const program = changedProgram(s, "program-efs-on-hosts", path.join("anywhere", "index.ts"), (source) =>
                source.replace(
                    'volumes: [{ name: "data", hostPath: config.dataDir }]',
                    'volumes: [{ name: "data", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0", transitEncryption: "ENABLED" } }]',
                ),
            );
            const env = { E2E_PROJECT: program };
            const refused = await s.run(["pulumi", "preview", "-s", "anywhere", "--policy-pack", "policy", "--non-interactive"], { env });
            expect(refused.status !== 0 && refusedBy(refused.output, "external-task-host-volumes-only"), `the EFS volume was not refused (exit ${refused.status}):\n${tail(refused.output, 30)}`);
            const unchecked = await s.run(["pulumi", "preview", "-s", "anywhere", "--non-interactive"], { env });
            expect(unchecked.status === 0, `without the pack the changed program does not preview (exit ${unchecked.status}), so the refusal proves nothing:\n${tail(unchecked.output, 30)}`);
            await s.pulumi(["preview", "-s", "anywhere", "--expect-no-changes"]);
        });

        await s.check("a wrong host key fails naming the host; the other host is untouched", async () => {
            const other = fs.readFileSync(path.join(gamma.dir, "ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
            await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey", other]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
            expect(up.output.includes(beta.name) && /host key/i.test(up.output), `the failure does not name ${beta.name} and its host key:\n${tail(up.output, 30)}`);
            const onAlpha = up.calls.filter((c) => c.provider === "command" && c.name.includes(`-${alpha.name}-`) && c.operation !== "diff" && c.operation !== "check");
            expect(onAlpha.length === 0, `alpha was touched: ${onAlpha.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
            expect(registrationLeft(beta).length === REGISTRATION_PATHS.length, "beta lost its registration");
            await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey", beta.publicHostKey]);
        });

        await s.check("an unreachable host fails naming it; the others are untouched", async () => {
            delta.stopSshd();
            const installerRuns = Object.fromEntries([alpha, beta].map((host) => [host.name, host.installerRuns().length]));
            await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[2].name", delta.name]);
            for (const [field, value] of Object.entries(hostEntry(delta)).filter(([f]) => f !== "name")) {
                await s.pulumi(["config", "set", "-s", "anywhere", "--path", `ecs-anywhere:hosts[2].${field}`, value]);
            }
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
            expect(up.output.includes(delta.name) || up.output.includes(delta.address), `the failure does not name ${delta.name}:\n${tail(up.output, 30)}`);
            // A third host may need a larger registration limit, so a new activation: then the others'
            // installs re-run (an update), which changes nothing on a registered host.
            const others = up.calls.filter((c) => c.provider === "command" && !c.name.includes(`-${delta.name}-`) && ["create", "delete"].includes(c.operation));
            expect(others.length === 0, `other hosts' steps were replaced: ${others.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
            for (const host of [alpha, beta]) expect(host.installerRuns().length === installerRuns[host.name], `the installer ran again on ${host.name}`);
            const deregistered = deregistrationsIn(up.calls);
            expect(deregistered.length === 0, `a host was deregistered: ${deregistered.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[2]"]);
            // The failed host's half-made resources (if any) go with the next up.
            await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            await s.pulumi(["preview", "-s", "anywhere", "--expect-no-changes"]);
        });

        await s.check("a second site anywhere-berlin on the same region stack; its destroy with the host unreachable removes all else and says which host is left", async () => {
            await configureSite(s, "anywhere-berlin", bed, [gamma], dataDir);
            // This site's AWS access is static keys in its config: the deregistration records them, as a secret.
            const secretKey = crypto.randomBytes(30).toString("base64");
            await s.pulumi(["config", "set", "-s", "anywhere-berlin", "aws:accessKey", "AKIAE2EBERLINSITE000"]);
            await s.pulumi(["config", "set", "-s", "anywhere-berlin", "--secret", "aws:secretKey", secretKey]);
            await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);
            const exported = await s.pulumi(["stack", "export", "-s", "anywhere-berlin"]);
            expect(exported.output.includes("HostRegistration") && !exported.output.includes(secretKey), "the berlin stack's export holds the secret key in plain text (or no registration)");
            expect(!fs.readFileSync(s.callLog, "utf8").includes(secretKey), "the call log holds the secret key in plain text");
            const berlin = await s.outputs("anywhere-berlin");
            expect(berlin.clusterName === "ecs-anywhere-anywhere-berlin", `clusterName ${String(berlin.clusterName)}`);
            expect(berlin.activationId !== site.activationId, "both sites share one activation");
            const hosts = berlin.hosts as Record<string, { managedInstanceId: string; containerInstanceArn: string }>;
            expect(/^mi-/.test(hosts?.[gamma.name]?.managedInstanceId ?? ""), `hosts.${gamma.name} ${JSON.stringify(hosts)}`);

            // Credentials of another account (the stand-in STS says so): the destroy refuses before
            // any deregistration, since "not found" there would not mean gone; the stack keeps all.
            const wrong = await s.run(["pulumi", "destroy", "-s", "anywhere-berlin", "--yes", "--non-interactive"], { env: { E2E_STS_ACCOUNT: "999999999999" } });
            expect(wrong.status !== 0 && /registered in AWS account 123456789012/.test(wrong.output) && /are of account 999999999999/.test(wrong.output), `a destroy in the wrong account was not refused naming both accounts (exit ${wrong.status}):\n${tail(wrong.output, 30)}`);
            const touchedInWrongAccount = wrong.calls.filter((c) => c.provider === "ecs-api" || c.provider === "ssm-api");
            expect(touchedInWrongAccount.length === 0, `the wrong-account destroy called ${touchedInWrongAccount.map((c) => `${c.provider} ${c.type}`).join(", ")}`);
            expect(registrationLeft(gamma).length === REGISTRATION_PATHS.length, "the wrong-account destroy cleaned gamma");
            await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);

            // gamma drops off the network: destroy still deregisters it in AWS and removes the
            // service, cluster, activation and role; only gamma's own clean-up fails, naming it.
            gamma.disconnect();
            const left = async () => {
                const exported = JSON.parse((await s.pulumi(["stack", "export", "-s", "anywhere-berlin"])).output) as { deployment: { resources?: Array<{ urn: string; type: string }> } };
                return (exported.deployment.resources ?? []).filter((r) => !r.type.startsWith("pulumi:"));
            };
            const plain = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"], { expectFailure: true });
            expect(plain.output.includes(`-${gamma.name}-cleanup`), `the failed destroy does not name ${gamma.name}'s clean-up:\n${tail(plain.output, 30)}`);
            const { ecs, ssm } = deregistrationOf(plain.calls, hosts[gamma.name]);
            expect(ecs >= 0 && ssm > ecs, `gamma was not deregistered in AWS (ECS ${ecs}, SSM ${ssm})`);
            console.log(`    after a plain destroy: ${(await left()).map((r) => r.urn.split("::").pop()).join(", ")}`);
            const full = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes", "--continue-on-error"], { expectFailure: true });
            expect(full.output.includes(`-${gamma.name}-cleanup`), `destroy --continue-on-error does not name ${gamma.name}'s clean-up:\n${tail(full.output, 30)}`);
            const remaining = (await left()).map((r) => r.type + " " + r.urn.split("::").pop());
            const expected = ["ecs-anywhere:hosts:ManagedHost ecs-anywhere-anywhere-berlin-" + gamma.name, ...["cleanup", "preflight"].map((step) => `command:remote:Command ecs-anywhere-anywhere-berlin-${gamma.name}-${step}`)];
            expect(JSON.stringify(remaining.sort()) === JSON.stringify(expected.sort()), `left after destroy --continue-on-error: ${remaining.join(", ")}; expected only ${expected.join(", ")}`);
            expect(registrationLeft(gamma).length === REGISTRATION_PATHS.length, "gamma was cleaned while unreachable?");

            // gamma is back: destroy again cleans it and empties the stack.
            gamma.reconnect();
            const again = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"]);
            expect(indexOf(again.calls, isCommand("delete", gamma.name, "cleanup")) >= 0, "the second destroy did not clean gamma");
            expect(registrationLeft(gamma).length === 0, `gamma still has ${registrationLeft(gamma).join(", ")}`);
            expect((await left()).length === 0, `the berlin stack still holds ${(await left()).map((r) => r.urn).join(", ")}`);

            // Or it never comes back: the README's way out, `pulumi state delete` of its clean-up.
            await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);
            gamma.disconnect();
            await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes", "--continue-on-error"], { expectFailure: true });
            const urns = await s.pulumi(["stack", "--show-urns", "-s", "anywhere-berlin"]);
            const cleanupUrn = urns.output.split(/\s+/).find((word) => word.startsWith("urn:pulumi:") && word.endsWith(`-${gamma.name}-cleanup`));
            expect(cleanupUrn !== undefined, `pulumi stack --show-urns shows no clean-up URN:\n${tail(urns.output, 20)}`);
            await s.pulumi(["state", "delete", "-s", "anywhere-berlin", cleanupUrn!, "--yes"]);
            await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"]);
            expect((await left()).length === 0, `after state delete and destroy the berlin stack still holds ${(await left()).map((r) => r.urn).join(", ")}`);
            gamma.reconnect();
            const byHand = await gamma.ssh(cleanupCommand(gamma.name));
            expect(byHand.status === 0 && registrationLeft(gamma).length === 0, `cleaning gamma by hand failed: ${byHand.stderr}`);
        });

        await s.check("a host removed from the config is deregistered: ECS, then SSM, then the host; the other untouched", async () => {
            const ids = (site.hosts as Record<string, { managedInstanceId: string; containerInstanceArn: string }>)[beta.name];
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1]"]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            const { ecs, ssm } = deregistrationOf(up.calls, ids);
            const host = indexOf(up.calls, isCommand("delete", beta.name, "cleanup"));
            expect(ecs >= 0 && ssm > ecs && host > ssm, `order ECS ${ecs}, SSM ${ssm}, host ${host}`);
            const deregistrations = deregistrationsIn(up.calls);
            expect(deregistrations.length === 2, `expected exactly beta's two deregistrations, got ${deregistrations.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
            expect(registrationLeft(beta).length === 0, `beta still has ${registrationLeft(beta).join(", ")}`);
            expect(registrationLeft(alpha).length === REGISTRATION_PATHS.length, "alpha lost its registration");
            const onAlpha = up.calls.filter((c) => c.provider === "command" && c.name.includes(`-${alpha.name}-`) && ["create", "update", "delete"].includes(c.operation));
            expect(onAlpha.length === 0, `alpha was touched: ${onAlpha.map((c) => `${c.operation} ${c.name}`).join(", ")}`);
        });

        await s.check("pulumi destroy -s anywhere: service first, then per host ECS, SSM, host; hosts left clean", async () => {
            const ids = (site.hosts as Record<string, { managedInstanceId: string; containerInstanceArn: string }>)[alpha.name];
            const destroy = await s.pulumi(["destroy", "-s", "anywhere", "--yes"]);
            const service = indexOf(destroy.calls, (c) => c.operation === "delete" && c.type === "aws:ecs/service:Service");
            const { ecs, ssm } = deregistrationOf(destroy.calls, ids);
            const host = indexOf(destroy.calls, isCommand("delete", alpha.name, "cleanup"));
            const cluster = indexOf(destroy.calls, (c) => c.operation === "delete" && c.type === "aws:ecs/cluster:Cluster");
            expect(service >= 0 && ecs > service && ssm > ecs && host > ssm, `order service ${service}, ECS ${ecs}, SSM ${ssm}, host ${host}`);
            expect(cluster > ecs, `the cluster (${cluster}) went before its instance was deregistered (${ecs})`);
            expect(registrationLeft(alpha).length === 0, `alpha still has ${registrationLeft(alpha).join(", ")}`);
        });

        await s.check("pulumi destroy -s region: nothing left alive in the stand-ins' records", async () => {
            await s.pulumi(["destroy", "-s", "region", "--yes"]);
            const alive = liveResources(path.join(s.state, "standins"));
            expect(alive.length === 0, `still alive: ${alive.map((r) => `${r.type} ${r.name}`).join(", ")}`);
        });
    } catch (error) {
        console.log(`e2e: aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        s.failed++;
    } finally {
        await bed.cleanUp();
        if (s.failed === 0 && !process.env.E2E_KEEP) fs.rmSync(s.state, { recursive: true, force: true });
        else console.log(`e2e: state kept in ${s.state} (run.log, calls.jsonl, backend/)`);
        console.log(`e2e: ${s.passed} passed, ${s.failed} failed`);
        if (s.failed > 0) exitCode = 1;
    }
    process.exitCode = exitCode;
}

void main();
