/**
 * `npm run e2e`: the documented commands (README.md, docs/) under the real Pulumi engine, the
 * real command provider and the real Node.js language host, as a user lives them (model: pulumi/pulumi's ProgramTest).
 * The story below is the lifecycle as data: one step a block, what the user does with the checks
 * of it beside it, and the stacks each step must leave settled (a `preview --expect-no-changes`
 * follows it). Every command goes through `e2e/sandbox.sh`; hosts are real sshd hosts in network
 * namespaces (hosts/test/testbed.ts) running AWS's installer as released; only what lies outside a
 * host (downloads, the agents' packages, the service manager) and AWS are stood in. Checks read
 * the engine's own record (`--event-log`), stack outputs and exports, the AWS stand-ins' call log
 * and records, and the hosts' files. Ends with `e2e: N passed, N failed`.
 *
 * Needs root (network namespaces) and the tools `npm run e2e:tools` puts in .cache/pulumi/bin;
 * without them it says so and skips.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { TestBed, type TestHost } from "../hosts/test/testbed";
import { activationWindow } from "../infra/anywhere/activation";
import { cleanupCommand } from "../infra/anywhere/host-commands";
import { REGION_OUTPUTS } from "../infra/region/index";
import {
    changedProgram,
    deregistrationOf,
    deregistrationsIn,
    expectDeregisteredInOrder,
    expectNoSecretIn,
    logFilesUnder,
    PACK_PASSED,
    refusedBy,
    REGISTRATION_PATHS,
    registrationLeft,
    shellBlock,
    strangerKey,
    unreachableFromHere,
} from "./lib/checks";
import { changed, changedOn, describeSteps, failedOn, hostStep, secondsTo, startedInLatestEventLog } from "./lib/engine-log";
import { configureSite, expect, hostEntry, hostSettings, REGION, ROOT, Sandbox, sandboxUnavailable, setAllArgs, standinState, startSshAgent, tail, type RunResult } from "./lib/sandbox";
import { playStory, step } from "./lib/story";
import { liveResources } from "./standins/records";
import type { Manifest } from "./standins/registry";

type Ids = Record<string, { managedInstanceId: string; containerInstanceArn: string }>;

/** What the story's steps share: the sandbox, the test hosts, and what earlier steps learnt. */
interface World {
    readonly s: Sandbox;
    readonly bed: TestBed;
    readonly alpha: TestHost;
    readonly beta: TestHost;
    readonly gamma: TestHost;
    readonly delta: TestHost;
    readonly epsilon: TestHost;
    /** One host per ECDSA curve, serving that key only (the others serve ed25519). */
    readonly keyHosts: readonly TestHost[];
    /** A bastion, and a host that answers only on its private link to it. */
    readonly jump: TestHost;
    readonly inner: TestHost;
    readonly dataDir: string;
    /** A line of the SSH private key's base64, which a leak would show even without the PEM lines. */
    readonly keyBody: string;
    /** The engine's and the providers' -v=9 log of the up that hands the code to the hosts, and its event log. */
    readonly verboseLog: string;
    verboseEvents: string;
    /** The anywhere stack's outputs, as last read. */
    site: Record<string, unknown>;
    /** The berlin site's hosts' ids. */
    berlin: Ids;
    /** How long the real provider took to give up (or to get through), for the closing lines. */
    readonly measured: string[];
}

/**
 * The activation the managed instance `id` registered with, as the stand-in SSM recorded it (it
 * checks the code against the activation's): so which code the host's agent used.
 */
function activationOf(bed: TestBed, id: string): string | undefined {
    return bed.managedInstances().find((m) => m.id === id)?.activationId;
}

/** A host loses its registration (re-imaged, cleaned by hand): what cleanup runs, run by hand. */
async function wipe(host: TestHost, cluster = "ecs-anywhere-anywhere"): Promise<void> {
    const wiped = await host.ssh(cleanupCommand(host.name, cluster));
    expect(wiped.status === 0 && registrationLeft(host).length === 0, `wiping ${host.name} failed: ${wiped.stderr}`);
}

/** `what` (`run`) deregistered nobody, and the hosts' ids are still `before` (JSON); w.site re-read. */
async function expectRegistrationsKept(w: World, run: RunResult, before: string, what: string): Promise<void> {
    const deregistered = deregistrationsIn(run.calls);
    expect(deregistered.length === 0, `${what} deregistered: ${deregistered.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
    w.site = await w.s.outputs("anywhere");
    expect(JSON.stringify(w.site.hosts) === before, `the hosts' ids changed: ${before} -> ${JSON.stringify(w.site.hosts)}`);
}

/** beta registered again: with the current code, new ids recorded, its old ones deregistered (ECS, then SSM), nothing else; alpha unchanged. */
async function expectBetaRegisteredAgain(w: World, run: RunResult, oldIds: Ids, installerRuns: number): Promise<void> {
    const { s, alpha, beta } = w;
    const runs = beta.installerRuns();
    w.site = await s.outputs("anywhere");
    const ids = w.site.hosts as Ids;
    expect(runs.length === installerRuns, `the installer ran ${runs.length} times on beta, expected ${installerRuns}`);
    expect(ids[beta.name].managedInstanceId !== oldIds[beta.name].managedInstanceId, "beta's new ids were not recorded");
    expect(activationOf(w.bed, ids[beta.name].managedInstanceId) === w.site.activationId, `beta was not registered again with the current activation ${String(w.site.activationId)}`);
    expect(JSON.stringify(ids[alpha.name]) === JSON.stringify(oldIds[alpha.name]), "alpha's ids changed");
    const { ecs, ssm } = deregistrationOf(run.calls, oldIds[beta.name]);
    expect(ecs >= 0 && ssm > ecs, `beta's old registration was not deregistered (ECS ${ecs}, SSM ${ssm})`);
    const deregistered = deregistrationsIn(run.calls);
    expect(deregistered.length === 2, `expected only beta's old registration deregistered, got ${deregistered.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
    expect(alpha.installerRuns().length === 1, "the installer ran again on alpha");
}

/** Activation expiries whose windows end on other dates than the sites' (14 days, renewed 3 before: e2e/lib/sandbox.ts siteSettings) and each other's today. */
function renewalExpiries(): number[] {
    const now = new Date();
    const ends = new Set([activationWindow(now, 14, 3).expirationDate]);
    return [10, 9, 8, 12, 13, 11, 7, 6].filter((days) => {
        const end = activationWindow(now, days, 3).expirationDate;
        return ends.has(end) ? false : (ends.add(end), true);
    });
}

/** The manifest the sandbox's registry holds for `reference` (its API on loopback, read through the sandbox), or undefined. */
async function pushedManifest(s: Sandbox, reference: string): Promise<Manifest | undefined> {
    const read = await s.run(["node", "--import", "tsx", path.join(ROOT, "e2e", "standins", "registry.ts"), "manifest", reference], { stderrFile: path.join(s.state, "registry-read.err") });
    if (read.status === 3) return undefined;
    expect(read.status === 0, `reading ${reference} from the registry failed (exit ${read.status}): ${fs.readFileSync(path.join(s.state, "registry-read.err"), "utf8")}`);
    return JSON.parse(read.output.trim().split("\n").pop() ?? "") as Manifest;
}

/** The resources a stack holds, but the engine's own (`pulumi:*`). */
async function resourcesOf(s: Sandbox, stack: string): Promise<Array<{ urn: string; type: string }>> {
    const exported = JSON.parse((await s.pulumi(["stack", "export", "-s", stack])).output) as { deployment: { resources?: Array<{ urn: string; type: string }> } };
    return (exported.deployment.resources ?? []).filter((r) => !r.type.startsWith("pulumi:"));
}

/** The URN `pulumi stack --show-urns` lists for the resource whose name ends with `suffix`. */
async function urnOf(s: Sandbox, stack: string, suffix: string): Promise<string> {
    const urns = await s.pulumi(["stack", "--show-urns", "-s", stack]);
    const urn = urns.output.split(/\s+/).find((word) => word.startsWith("urn:pulumi:") && word.endsWith(suffix));
    expect(urn !== undefined, `pulumi stack --show-urns -s ${stack} shows no URN ending ${suffix}:\n${tail(urns.output, 20)}`);
    return urn;
}

const renewal = renewalExpiries();

/** The user's story, in order. */
const story = [
    // --- the region stack ----------------------------------------------------------------------
    step<World>(
        "pulumi up -s region: the nine contract outputs",
        async ({ s }) => {
            await s.pulumi(["stack", "init", "region"]);
            await s.pulumi(["config", "set", "-s", "region", "aws:region", REGION]);
            const up = await s.pulumi(["up", "-s", "region", "--yes"]);
            expect(up.steps.some((c) => c.phase === "done" && c.op === "create" && c.type === "aws:sqs/queue:Queue"), "the engine created no queue");
            expect(up.calls.some((c) => c.operation === "create" && c.type === "aws:sqs/queue:Queue"), "no queue was created through the aws stand-in");
            const region = await s.outputs("region");
            for (const name of REGION_OUTPUTS) expect(typeof region[name] === "string" && region[name] !== "", `output ${name} is ${JSON.stringify(region[name])}`);
            expect(region.region === REGION, `region output ${String(region.region)}`);
            expect(/^https:\/\/sqs\.eu-west-1\.amazonaws\.com\/123456789012\/.+/.test(String(region.queueUrl)), `queueUrl ${String(region.queueUrl)}`);
            expect(String(region.taskRoleArn).startsWith("arn:aws:iam::123456789012:role/"), `taskRoleArn ${String(region.taskRoleArn)}`);
            // The image: built by the real docker-build provider on BuildKit, pushed to the stand-in ECR's repository on the sandbox's registry.
            const imageUri = /^(127\.0\.0\.1:\d+\/[^:@]+:latest)@(sha256:[0-9a-f]{64})$/.exec(String(region.imageUri));
            expect(imageUri !== null, `imageUri ${String(region.imageUri)} is no <sandbox registry>/<repository>:latest@sha256:<digest>`);
            expect(up.steps.some((c) => c.phase === "done" && c.op === "create" && c.type === "docker-build:index:Image"), "the engine built no image");
            const pushed = await pushedManifest(s, imageUri[1]);
            expect(pushed?.digest === imageUri[2], `the registry's latest is ${pushed?.digest}, imageUri names ${imageUri[2]}`);
            const platforms = (pushed.manifests ?? []).map((m) => `${m.platform?.os}/${m.platform?.architecture}`);
            expect(platforms.includes("linux/amd64") && platforms.includes("linux/arm64"), `the pushed manifest list names ${platforms.join(", ") || "no platform"}`);
        },
        ["region"],
    ),

    step<World>("the worker image runs as ECS runs the anywhere stack's task (podman): amd64 moves the demo files, health check, hostile names, SIGTERM, memory; arm64 starts under emulation", async ({ s }) => {
        const run = await s.run(["node", "--import", "tsx", path.join(ROOT, "e2e", "image-run.ts")]);
        expect(run.status === 0 && /^image-run: (all \d+ checks held|SKIPPED)/m.test(run.output), `e2e/image-run.ts exited ${run.status}:\n${tail(run.output, 40)}`);
        process.stdout.write(`    ${/^image-run: measured: .*$/m.exec(run.output)?.[0] ?? "image-run: nothing measured"}\n`);
    }),

    // --- the anywhere stack: refused before anything is made -------------------------------------
    step<World>("a bad config value stops before any resource, naming key and fix", async ({ s, bed, alpha, beta, dataDir }) => {
        await configureSite(s, "anywhere", bed, [alpha, beta], dataDir);
        await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", "data"]);
        const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
        expect(up.output.includes("ecs-anywhere:dataDir") && up.output.includes("expected an absolute folder"), `the error does not name the key and fix:\n${tail(up.output, 20)}`);
        expect(changed(up.steps).length === 0, `resources were touched: ${describeSteps(changed(up.steps))}`);
        await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", dataDir]);
    }),

    step<World>("a host without hostKey stops before any resource, naming it and the ssh-keyscan command that prints its key", async ({ s, beta }) => {
        await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey"]);
        const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
        const scan = /`(ssh-keyscan -t ed25519 [^`]+)`/.exec(up.output)?.[1];
        expect(up.output.includes(`host ${beta.name} (${beta.address})`) && scan !== undefined, `the error does not name ${beta.name} and the scan:\n${tail(up.output, 20)}`);
        expect(changed(up.steps).length === 0, `resources were touched: ${describeSteps(changed(up.steps))}`);
        // The command it gives prints the key beta's sshd serves.
        const [tool, ...args] = scan.split(" ");
        const printed = execFileSync(tool, args, { stdio: ["ignore", "pipe", "ignore"] }).toString().trim().split(" ").slice(1).join(" ");
        expect(printed === beta.publicHostKey, `\`${scan}\` printed ${JSON.stringify(printed)}, not beta's key`);
        await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey", beta.publicHostKey]);
    }),

    // --- the anywhere stack: up, and what it must keep secret ---------------------------------------
    step<World>(
        "pulumi up -s anywhere: two hosts registered over real SSH (engine and providers logging at -v=9)",
        async (w) => {
            const { s, alpha, beta, verboseLog } = w;
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes", "--logtostderr", "-v=9", "--logflow"], { stderrFile: verboseLog });
            w.verboseEvents = path.basename(up.eventLog ?? "");
            for (const host of [alpha, beta]) {
                for (const hostStepName of ["preflight", "seal", "install", "data", "verify"]) {
                    expect(hostStep(up.steps, "create", host.name, hostStepName) !== undefined, `no ${hostStepName} ran on ${host.name}`);
                }
                expect(host.installerRuns().length === 1, `the installer ran ${host.installerRuns().length} times on ${host.name}`);
            }
            w.site = await s.outputs("anywhere");
            const hosts = w.site.hosts as Ids;
            for (const host of [alpha, beta]) {
                expect(/^mi-[0-9a-f]{17}$/.test(hosts?.[host.name]?.managedInstanceId ?? ""), `hosts.${host.name} ${JSON.stringify(hosts?.[host.name])}`);
                expect((hosts[host.name].containerInstanceArn ?? "").startsWith("arn:aws:ecs:eu-west-1:"), `hosts.${host.name}.containerInstanceArn`);
            }
            expect(w.site.clusterName === "ecs-anywhere-anywhere", `clusterName ${String(w.site.clusterName)}`);
            const verbose = fs.readFileSync(verboseLog, "utf8");
            // The log holds what the engine sent the command provider and what the provider said (its own -v=9 lines).
            expect(/Provider\[0x[0-9a-f]+\]\.Create\(urn:pulumi:[^)]*command:remote:Command/.test(verbose), "the verbose log shows the engine calling no command provider");
            expect(verbose.includes("__pulumi-go-provider-version"), "the verbose log holds none of the command provider's own lines (pulumi-go-provider's)");
        },
        ["anywhere"],
    ),

    step<World>("the activation code: shown with --show-secrets, hidden without, the one the hosts got, and in plain text nowhere (exports, command output, event logs, -v=9 logs, hosts' logs)", async (w) => {
        const { s, alpha, beta, site, keyBody, verboseLog, verboseEvents } = w;
        const shown = await s.pulumi(["stack", "output", "-s", "anywhere", "activationCode", "--show-secrets"]);
        const code = shown.output.trim().split("\n").pop() ?? "";
        expect(/^[A-Za-z0-9+/=]{20,}$/.test(code), `activationCode --show-secrets printed ${JSON.stringify(code)}`);
        const hidden = await s.pulumi(["stack", "output", "-s", "anywhere", "activationCode"]);
        expect(hidden.output.includes("[secret]") && !hidden.output.includes(code), "activationCode without --show-secrets is not hidden");
        // The stand-in SSM took each host's registration only with this activation's id and code.
        for (const host of [alpha, beta]) {
            const id = (site.hosts as Ids)[host.name].managedInstanceId;
            expect(activationOf(w.bed, id) === site.activationId, `${host.name} (${id}) registered with activation ${String(activationOf(w.bed, id))}, not ${String(site.activationId)}`);
        }
        // Every artefact of the run so far.
        const places: Record<string, string> = {
            "stack export -s anywhere": (await s.pulumi(["stack", "export", "-s", "anywhere"])).output,
            "stack export -s region": (await s.pulumi(["stack", "export", "-s", "region"])).output,
            "the call log": fs.readFileSync(s.callLog, "utf8"),
            "the run log (every command's output)": fs.readFileSync(s.runLog, "utf8").replace(shown.output, ""),
        };
        // The stand-in API's log, the -v=9 log, and the engine's event log of every up, preview and destroy.
        for (const file of fs.readdirSync(s.state).filter((f) => (f.endsWith(".log") || /^events-\d+\.jsonl$/.test(f)) && f !== path.basename(s.runLog))) places[file] = fs.readFileSync(path.join(s.state, file), "utf8");
        // And what the hosts logged: sshd, the installer's record, the agents' logs.
        for (const host of [alpha, beta]) for (const file of logFilesUnder([host.dir])) places[`${host.name}:${path.relative(host.dir, file)}`] = fs.readFileSync(file, "utf8");
        expect(Object.keys(places).includes(path.basename(verboseLog)) && Object.keys(places).includes(verboseEvents), "the -v=9 logs are not among the places read");
        // The state of each host's sealed code (the dynamic resource that takes the code as an input) is among them.
        const exported = JSON.parse(places["stack export -s anywhere"]) as { deployment: { resources?: Array<{ type: string }> } };
        const sealedCodes = (exported.deployment.resources ?? []).filter((r) => r.type === "pulumi-nodejs:dynamic/ecs-anywhere:SealedActivationCode");
        expect(sealedCodes.length === 2, `the export holds ${sealedCodes.length} sealed codes, not one per host`);
        expectNoSecretIn(places, { "the activation code": code });
        // The command provider logs every input at -v=9, a key given as sshPrivateKey too, line by
        // line, which the engine's masking of config secrets misses (upstream; docs say so). With an
        // agent the key is no input at all: the bastion site reads its -v=9 logs for it.
        const { [path.basename(verboseLog)]: _verbose, [verboseEvents]: _events, ...others } = places;
        expectNoSecretIn(others, { "the SSH private key": keyBody });
    }),

    step<World>(
        "a second up changes nothing",
        async ({ s, alpha, beta }) => {
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expect(changed(up.steps).length === 0, `the second up changed: ${describeSteps(changed(up.steps))}`);
            for (const host of [alpha, beta]) expect(host.installerRuns().length === 1, `the installer ran again on ${host.name}`);
        },
        ["anywhere"],
    ),

    // --- living with it: renewals, lost registrations, a moved data folder --------------------------
    step<World>(
        "a renewed activation makes each host's seal again and re-runs the idempotent install: the installer does not run, nobody is deregistered, nothing else is touched",
        async (w) => {
            const { s, alpha, beta } = w;
            const before = JSON.stringify(w.site.hosts);
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:activationExpiryDays", String(renewal[0])]);
            const renew = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expect(changed(renew.steps).some((c) => c.type === "aws:ssm/activation:Activation" && ["create", "create-replacement"].includes(c.op)), `no new activation was made: ${describeSteps(changed(renew.steps))}`);
            for (const host of [alpha, beta]) {
                expect(hostStep(renew.steps, "update", host.name, "install") !== undefined, `the new activation did not re-run install on ${host.name}`);
                expect(hostStep(renew.steps, "replace", host.name, "seal") !== undefined, `the new activation did not make ${host.name}'s seal again`);
                const others = changedOn(renew.steps, host.name).filter((c) => c.type === "command:remote:Command" && !/-(install|seal)$/.test(c.name));
                expect(others.length === 0, `a new activation touched more than seal and install on ${host.name}: ${describeSteps(others)}`);
                expect(host.installerRuns().length === 1, `the installer ran again on ${host.name}, already registered`);
            }
            await expectRegistrationsKept(w, renew, before, "the renewal");
        },
        ["anywhere"],
    ),

    step<World>(
        "a host that lost its registration (cleaned by hand) registers again with the current code at the next renewal; its old ids are deregistered",
        async (w) => {
            await wipe(w.beta);
            const before = w.site.hosts as Ids;
            await w.s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:activationExpiryDays", String(renewal[1])]);
            await expectBetaRegisteredAgain(w, await w.s.pulumi(["up", "-s", "anywhere", "--yes"]), before, 2);
        },
        ["anywhere"],
    ),

    step<World>(
        "...or at once, by the documented recipe: pulumi up --replace of the host's seal step",
        async (w) => {
            const { s, alpha, beta } = w;
            await wipe(beta);
            const before = w.site.hosts as Ids;
            const replace = await s.pulumi(["up", "-s", "anywhere", "--yes", "--replace", await urnOf(s, "anywhere", `-${beta.name}-seal`)]);
            await expectBetaRegisteredAgain(w, replace, before, 3);
            expect(changedOn(replace.steps, alpha.name).length === 0, `alpha was touched: ${describeSteps(changedOn(replace.steps, alpha.name))}`);
        },
        ["anywhere"],
    ),

    step<World>(
        "a moved data folder makes the folders there and touches nothing else",
        async (w) => {
            const { s, alpha, beta } = w;
            const before = JSON.stringify(w.site.hosts);
            const moved = path.join(s.state, "data-moved");
            fs.mkdirSync(moved);
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:dataDir", moved]);
            const move = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            for (const host of [alpha, beta]) {
                expect(changedOn(move.steps, host.name).some((c) => c.name.endsWith("-data") && ["create", "create-replacement"].includes(c.op)), `the folders were not made in the new data folder on ${host.name}`);
                const touched = changedOn(move.steps, host.name).filter((c) => /-(cleanup|seal|install|verify|registration)$/.test(c.name));
                expect(touched.length === 0, `moving the data folder touched ${describeSteps(touched)}`);
            }
            await expectRegistrationsKept(w, move, before, "moving the data folder");
        },
        ["anywhere"],
    ),

    // --- the residency policy pack -----------------------------------------------------------------
    step<World>("the residency policy pack passes both stacks as they are: pulumi preview --policy-pack policy", async ({ s }) => {
        for (const stack of ["region", "anywhere"]) {
            const preview = await s.pulumi(["preview", "-s", stack, "--policy-pack", "policy", "--expect-no-changes"]);
            expect(PACK_PASSED.test(preview.output), `the pack did not run and pass on ${stack}:\n${tail(preview.output, 20)}`);
        }
    }),

    step<World>(
        "the pack refuses plain file names from hosts (preview, and up before any step) and an EFS volume on the external task, touching nothing",
        async ({ s }) => {
            // A config value the program accepts: refused by preview, and by up before any step.
            await s.pulumi(["config", "set", "-s", "anywhere", "ecs-anywhere:logFileNames", "plain"]);
            const preview = await s.pulumi(["preview", "-s", "anywhere", "--policy-pack", "policy"], { expectFailure: true });
            expect(refusedBy(preview.output, "external-task-file-names-hidden-in-logs"), `preview was not refused by external-task-file-names-hidden-in-logs:\n${tail(preview.output, 30)}`);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes", "--policy-pack", "policy"], { expectFailure: true });
            expect(refusedBy(up.output, "external-task-file-names-hidden-in-logs"), `up was not refused by external-task-file-names-hidden-in-logs:\n${tail(up.output, 30)}`);
            expect(changed(up.steps).length === 0, `the refused up touched: ${describeSteps(changed(up.steps))}`);
            await s.pulumi(["config", "rm", "-s", "anywhere", "ecs-anywhere:logFileNames"]);

            // A copy of the program changed to put the hosts' data volume on EFS: refused with the pack, accepted without it.
            const program = changedProgram(s, "program-efs-on-hosts", path.join("anywhere", "index.ts"), (source) =>
                source.replace('volumes: [{ name: "data", hostPath: config.dataDir }]', 'volumes: [{ name: "data", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0", transitEncryption: "ENABLED" } }]'),
            );
            const env = { E2E_PROJECT: program };
            const refused = await s.run(["pulumi", "preview", "-s", "anywhere", "--policy-pack", "policy", "--non-interactive"], { env });
            expect(refused.status !== 0 && refusedBy(refused.output, "external-task-host-volumes-only"), `the EFS volume was not refused (exit ${refused.status}):\n${tail(refused.output, 30)}`);
            const unchecked = await s.run(["pulumi", "preview", "-s", "anywhere", "--non-interactive"], { env });
            expect(unchecked.status === 0, `without the pack the changed program does not preview (exit ${unchecked.status}), so the refusal proves nothing:\n${tail(unchecked.output, 30)}`);
        },
        ["anywhere"],
    ),

    // --- hosts that do not answer as expected --------------------------------------------------------
    step<World>(
        "a wrong host key fails naming the host; the other host is untouched",
        async ({ s, alpha, beta, gamma, measured }) => {
            await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey", gamma.publicHostKey]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
            expect(up.output.includes(beta.name) && /host key mismatch/i.test(up.output), `the failure does not name ${beta.name} and its host key:\n${tail(up.output, 30)}`);
            const failed = failedOn(up.steps, beta.name);
            expect(failed !== undefined, `the engine reports no failed step of ${beta.name}`);
            measured.push(`a wrong pinned host key failed after ${secondsTo(up.steps, failed)} s`);
            expect(changedOn(up.steps, alpha.name).length === 0, `alpha was touched: ${describeSteps(changedOn(up.steps, alpha.name))}`);
            expect(registrationLeft(beta).length === REGISTRATION_PATHS.length, "beta lost its registration");
            await s.pulumi(["config", "set", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1].hostKey", beta.publicHostKey]);
        },
        ["anywhere"],
    ),

    step<World>(
        "a host that refuses connections fails naming it; the others' installs are not run again and nobody is deregistered",
        async ({ s, alpha, beta, delta, measured }) => {
            delta.stopSshd();
            const installerRuns = Object.fromEntries([alpha, beta].map((host) => [host.name, host.installerRuns().length]));
            await s.pulumi(setAllArgs("anywhere", hostSettings([hostEntry(delta)], 2)));
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"], { expectFailure: true });
            expect(up.output.includes(delta.name) || up.output.includes(delta.address), `the failure does not name ${delta.name}:\n${tail(up.output, 30)}`);
            const failed = failedOn(up.steps, delta.name);
            expect(failed !== undefined, `the engine reports no failed step of ${delta.name}`);
            measured.push(`a host refusing connections failed after ${secondsTo(up.steps, failed)} s`);
            // A third host may need a larger registration limit, so a new activation: then the others'
            // seals are made again and their installs re-run (an update), which changes nothing on a registered host.
            const others = changed(up.steps).filter((c) => c.type === "command:remote:Command" && !c.name.includes(`-${delta.name}-`) && c.op !== "update" && !c.name.endsWith("-seal"));
            expect(others.length === 0, `other hosts' steps were replaced: ${describeSteps(others)}`);
            for (const host of [alpha, beta]) expect(host.installerRuns().length === installerRuns[host.name], `the installer ran again on ${host.name}`);
            const deregistered = deregistrationsIn(up.calls);
            expect(deregistered.length === 0, `a host was deregistered: ${deregistered.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[2]"]);
            // The failed host's half-made resources (if any) go with the next up.
            await s.pulumi(["up", "-s", "anywhere", "--yes"]);
        },
        ["anywhere"],
    ),

    step<World>(
        "a host off the network for 20 s after the provider starts dialling it (a reboot) is waited for and registered",
        async ({ s, epsilon, measured }) => {
            epsilon.powerOff();
            await s.pulumi(setAllArgs("anywhere", hostSettings([hostEntry(epsilon)], 2)));
            // The host comes back 20 s after the engine starts its first step (preflight), as the engine's event log tells.
            let back: NodeJS.Timeout | undefined;
            const watch = setInterval(() => {
                if (back === undefined && startedInLatestEventLog(s.state, `-${epsilon.name}-preflight`)) back = setTimeout(() => epsilon.powerOn(), 20_000);
            }, 200);
            try {
                const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
                expect(back !== undefined, `the engine's event log never showed ${epsilon.name}'s preflight start`);
                expect(hostStep(up.steps, "create", epsilon.name, "verify") !== undefined && epsilon.installerRuns().length === 1, `${epsilon.name} was not registered`);
                const preflight = hostStep(up.steps, "create", epsilon.name, "preflight");
                expect(preflight !== undefined, `${epsilon.name}'s preflight did not finish`);
                measured.push(`a host off the network for 20 s was reached after ${secondsTo(up.steps, preflight)} s of dialling`);
            } finally {
                clearInterval(watch);
                clearTimeout(back);
                epsilon.powerOn();
            }
        },
        ["anywhere"],
    ),

    step<World>(
        "taken out of the config, that host is deregistered and cleaned",
        async ({ s, epsilon }) => {
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[2]"]);
            const removed = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expect(hostStep(removed.steps, "delete", epsilon.name, "cleanup") !== undefined && registrationLeft(epsilon).length === 0, `${epsilon.name} was not cleaned: ${registrationLeft(epsilon).join(", ")}`);
        },
        ["anywhere"],
    ),

    step<World>(
        "a host registered by hand with the stack's installCommand (docs/hosts.md), then listed in the config, is adopted: the installer does not run again, its ids are recorded, and taken out again it is deregistered and cleaned",
        async ({ s, bed, epsilon }) => {
            const shown = await s.pulumi(["stack", "output", "-s", "anywhere", "installCommand", "--show-secrets"]);
            const line = shown.output.trim().split("\n").pop() ?? "";
            expect(line.includes("--proto-redir '=https'") && line.includes("sha256sum -c"), `installCommand does not pin the installer: ${line.replace(/--activation-code .*/, "...")}`);
            const byHand = await epsilon.ssh(line, { timeoutMs: 180_000 });
            expect(byHand.status === 0, `installCommand failed on ${epsilon.name}:\n${tail(byHand.stdout + byHand.stderr, 20)}`);
            const runs = epsilon.installerRuns().length;
            const registered = JSON.parse(fs.readFileSync(epsilon.hostPath("/var/lib/amazon/ssm/registration"), "utf8")) as { ManagedInstanceID: string };
            await s.pulumi(setAllArgs("anywhere", hostSettings([hostEntry(epsilon)], 2)));
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expect(hostStep(up.steps, "create", epsilon.name, "verify") !== undefined, `${epsilon.name} was not verified`);
            expect(epsilon.installerRuns().length === runs, `the installer ran again on ${epsilon.name}, registered by hand`);
            const ids = (await s.outputs("anywhere")).hosts as Ids;
            expect(ids[epsilon.name]?.managedInstanceId === registered.ManagedInstanceID, `${epsilon.name} is recorded as ${JSON.stringify(ids[epsilon.name])}, not ${registered.ManagedInstanceID}`);
            expect(bed.containerInstances().some((c) => c.arn === ids[epsilon.name].containerInstanceArn && c.managedInstanceId === registered.ManagedInstanceID), "the stand-in ECS holds no such container instance");
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[2]"]);
            const removed = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expect(hostStep(removed.steps, "delete", epsilon.name, "cleanup") !== undefined && registrationLeft(epsilon).length === 0, `${epsilon.name} was not cleaned: ${registrationLeft(epsilon).join(", ")}`);
        },
        ["anywhere"],
    ),

    // --- site anywhere-keys: every host key type, an encrypted SSH key ------------------------------
    step<World>(
        "site anywhere-keys: each ECDSA host key the config accepts (nistp256, 384, 521, each served alone), pinned, connects, with an encrypted SSH key and its passphrase (in plain text in no export)",
        async ({ s, bed, keyHosts, dataDir }) => {
            const passphrase = crypto.randomBytes(12).toString("base64");
            const encryptedKey = path.join(s.state, "encrypted_key");
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-f", encryptedKey]);
            for (const host of keyHosts) host.authorize(fs.readFileSync(`${encryptedKey}.pub`, "utf8"));
            keyHosts.forEach((host, i) => {
                const type = ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"][i];
                expect(host.publicHostKey.startsWith(`${type} `), `${host.name} pins ${host.publicHostKey.split(" ")[0]}, not ${type}`);
            });
            const secrets: [string, string][] = [
                ["ecs-anywhere:sshPrivateKey", fs.readFileSync(encryptedKey, "utf8")],
                ["ecs-anywhere:sshPrivateKeyPassphrase", passphrase],
            ];
            await configureSite(s, "anywhere-keys", bed, keyHosts, dataDir, { secrets });
            const up = await s.pulumi(["up", "-s", "anywhere-keys", "--yes"]);
            for (const host of keyHosts) expect(hostStep(up.steps, "create", host.name, "verify") !== undefined && host.installerRuns().length === 1, `${host.name} was not registered`);
            expectNoSecretIn({ "stack export -s anywhere-keys": (await s.pulumi(["stack", "export", "-s", "anywhere-keys"])).output, "the run log": fs.readFileSync(s.runLog, "utf8") }, { "the key's passphrase": passphrase });
        },
        ["anywhere-keys"],
    ),

    step<World>(
        "a wrong key of the right type fails naming the host; the others are untouched",
        async ({ s, keyHosts, measured }) => {
            const [k256, ...others] = keyHosts;
            await s.pulumi(["config", "set", "-s", "anywhere-keys", "--path", "ecs-anywhere:hosts[0].hostKey", strangerKey(s.state, "ecdsa")]);
            const wrong = await s.pulumi(["up", "-s", "anywhere-keys", "--yes"], { expectFailure: true });
            const failed = failedOn(wrong.steps, k256.name);
            expect(failed !== undefined && /host key mismatch/.test(wrong.output) && wrong.output.includes(`-${k256.name}-`), `the wrong key did not fail ${k256.name} with a host key mismatch:\n${tail(wrong.output, 30)}`);
            measured.push(`a wrong ECDSA key failed after ${secondsTo(wrong.steps, failed)} s`);
            for (const host of others) expect(changedOn(wrong.steps, host.name).length === 0, `${host.name} was touched: ${describeSteps(changedOn(wrong.steps, host.name))}`);
            await s.pulumi(["config", "set", "-s", "anywhere-keys", "--path", "ecs-anywhere:hosts[0].hostKey", k256.publicHostKey]);
        },
        ["anywhere-keys"],
    ),

    step<World>("pulumi destroy -s anywhere-keys cleans every host through the real provider", async ({ s, keyHosts }) => {
        const destroy = await s.pulumi(["destroy", "-s", "anywhere-keys", "--yes"]);
        for (const host of keyHosts) expect(hostStep(destroy.steps, "delete", host.name, "cleanup") !== undefined && registrationLeft(host).length === 0, `${host.name} was not cleaned: ${registrationLeft(host).join(", ")}`);
    }),

    // --- site anywhere-bastion: a host reached only through a jump host, the key in an agent ---------
    step<World>(
        "site anywhere-bastion: a host reached only through a bastion, both keys pinned, the SSH key in an agent; a wrong bastion key is refused as the proxy's; destroy cleans it",
        async ({ s, bed, alpha, jump, inner, dataDir, keyBody, measured }) => {
            const privateAddress = inner.privateAddress as string;
            expect(unreachableFromHere(inner, privateAddress), `${inner.name}'s sshd answers at ${privateAddress} from here: the check would not prove the bastion is used`);
            const throughJump = await jump.ssh(`ssh-keyscan -T 3 -t ed25519 ${privateAddress}`);
            expect(throughJump.stdout.includes(inner.publicHostKey.split(" ")[1]), `${inner.name} does not answer at ${privateAddress} from the bastion: ${throughJump.stderr}`);
            const agent = await startSshAgent(s.state, [bed.clientKey]);
            try {
                const bastion: [string, string][] = [
                    ["ecs-anywhere:bastion.address", jump.address],
                    ["ecs-anywhere:bastion.user", "root"],
                    ["ecs-anywhere:bastion.hostKey", jump.publicHostKey],
                    ["ecs-anywhere:sshAgentSocket", agent.socket],
                ];
                await configureSite(s, "anywhere-bastion", bed, [inner], dataDir, { entries: [hostEntry(inner, privateAddress)], config: bastion, secrets: [] });
                const verbose = path.join(s.state, "verbose-bastion-up.log");
                const up = await s.pulumi(["up", "-s", "anywhere-bastion", "--yes", "--logtostderr", "-v=9", "--logflow"], { stderrFile: verbose });
                expect(hostStep(up.steps, "create", inner.name, "verify") !== undefined && inner.installerRuns().length === 1, `${inner.name} was not registered`);
                expect(jump.installerRuns().length === 0, "the bastion itself was registered");
                expect(/Accepted publickey for root/.test(fs.readFileSync(path.join(jump.dir, "sshd.log"), "utf8")), "the bastion's sshd logged no login");
                // With an agent the key is no input of the provider, so not in its -v=9 lines either.
                const code = (await s.pulumi(["stack", "output", "-s", "anywhere-bastion", "activationCode", "--show-secrets"])).output.trim().split("\n").pop() ?? "";
                expect(code.length >= 20, `no activation code shown: ${JSON.stringify(code)}`);
                const logs = { "its -v=9 log": fs.readFileSync(verbose, "utf8"), "its event log": fs.readFileSync(up.eventLog ?? "", "utf8") };
                for (const [place, text] of Object.entries(logs)) expect(text.includes("__pulumi-go-provider-version"), `${place} holds none of the command provider's own lines`);
                expectNoSecretIn(logs, { "the SSH private key": keyBody, "the activation code": code });
                await s.pulumi(["preview", "-s", "anywhere-bastion", "--expect-no-changes"]);

                await s.pulumi(["config", "set", "-s", "anywhere-bastion", "--path", "ecs-anywhere:bastion.hostKey", alpha.publicHostKey]);
                const wrong = await s.pulumi(["up", "-s", "anywhere-bastion", "--yes"], { expectFailure: true });
                const failed = failedOn(wrong.steps, inner.name);
                expect(failed !== undefined && /proxy: .*host key mismatch/.test(wrong.output), `the wrong bastion key was not refused as the proxy's:\n${tail(wrong.output, 30)}`);
                measured.push(`a wrong bastion key failed after ${secondsTo(wrong.steps, failed)} s`);
                await s.pulumi(["config", "set", "-s", "anywhere-bastion", "--path", "ecs-anywhere:bastion.hostKey", jump.publicHostKey]);
                await s.pulumi(["preview", "-s", "anywhere-bastion", "--expect-no-changes"]);

                const destroy = await s.pulumi(["destroy", "-s", "anywhere-bastion", "--yes"]);
                expect(hostStep(destroy.steps, "delete", inner.name, "cleanup") !== undefined && registrationLeft(inner).length === 0, `${inner.name} was not cleaned: ${registrationLeft(inner).join(", ")}`);
            } finally {
                agent.stop();
            }
        },
    ),

    // --- site anywhere-berlin: a second site, AWS keys of its own, a host that goes away ------------
    step<World>(
        "a second site anywhere-berlin on the same region stack, with static AWS keys in its config (recorded as a secret)",
        async (w) => {
            const { s, bed, gamma, dataDir } = w;
            await configureSite(s, "anywhere-berlin", bed, [gamma], dataDir);
            const secretKey = crypto.randomBytes(30).toString("base64");
            await s.pulumi(["config", "set", "-s", "anywhere-berlin", "aws:accessKey", "AKIAE2EBERLINSITE000"]);
            await s.pulumi(["config", "set", "-s", "anywhere-berlin", "--secret", "aws:secretKey", secretKey]);
            await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);
            const exported = (await s.pulumi(["stack", "export", "-s", "anywhere-berlin"])).output;
            expect(exported.includes("HostRegistration"), "the berlin stack holds no registration");
            expectNoSecretIn({ "the berlin stack's export": exported, "the call log": fs.readFileSync(s.callLog, "utf8") }, { "the secret key": secretKey });
            const berlin = await s.outputs("anywhere-berlin");
            expect(berlin.clusterName === "ecs-anywhere-anywhere-berlin", `clusterName ${String(berlin.clusterName)}`);
            expect(berlin.activationId !== w.site.activationId, "both sites share one activation");
            w.berlin = berlin.hosts as Ids;
            expect(/^mi-/.test(w.berlin?.[gamma.name]?.managedInstanceId ?? ""), `hosts.${gamma.name} ${JSON.stringify(w.berlin)}`);
        },
        ["anywhere-berlin"],
    ),

    step<World>(
        "its destroy with credentials of another account is refused before any deregistration, naming both accounts; the stack keeps all",
        async ({ s, gamma }) => {
            // "Not found" in that account would not mean gone.
            const wrong = await s.run(["pulumi", "destroy", "-s", "anywhere-berlin", "--yes", "--non-interactive"], { env: { E2E_STS_ACCOUNT: "999999999999" } });
            expect(wrong.status !== 0 && /registered in AWS account 123456789012/.test(wrong.output) && /are of account 999999999999/.test(wrong.output), `a destroy in the wrong account was not refused naming both accounts (exit ${wrong.status}):\n${tail(wrong.output, 30)}`);
            const touched = wrong.calls.filter((c) => c.provider === "ecs-api" || c.provider === "ssm-api");
            expect(touched.length === 0, `the wrong-account destroy called ${touched.map((c) => `${c.provider} ${c.type}`).join(", ")}`);
            expect(registrationLeft(gamma).length === REGISTRATION_PATHS.length, "the wrong-account destroy cleaned gamma");
            await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);
        },
        ["anywhere-berlin"],
    ),

    step<World>(
        "its destroy with the host off the network deregisters it in AWS and fails naming its clean-up; --continue-on-error leaves only that host's clean-up and preflight",
        async ({ s, gamma, berlin }) => {
            gamma.disconnect();
            const plain = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"], { expectFailure: true });
            expect(plain.output.includes(`-${gamma.name}-cleanup`), `the failed destroy does not name ${gamma.name}'s clean-up:\n${tail(plain.output, 30)}`);
            expectDeregisteredInOrder(plain, gamma.name, berlin[gamma.name]);
            expect(hostStep(plain.steps, "delete", gamma.name, "cleanup", "failed") !== undefined, `the engine does not report ${gamma.name}'s clean-up as failed`);
            console.log(`    after a plain destroy: ${(await resourcesOf(s, "anywhere-berlin")).map((r) => r.urn.split("::").pop()).join(", ")}`);
            const full = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes", "--continue-on-error"], { expectFailure: true });
            expect(full.output.includes(`-${gamma.name}-cleanup`), `destroy --continue-on-error does not name ${gamma.name}'s clean-up:\n${tail(full.output, 30)}`);
            const remaining = (await resourcesOf(s, "anywhere-berlin")).map((r) => `${r.type} ${r.urn.split("::").pop()}`);
            const expected = [`ecs-anywhere:hosts:ManagedHost ecs-anywhere-anywhere-berlin-${gamma.name}`, ...["cleanup", "preflight"].map((name) => `command:remote:Command ecs-anywhere-anywhere-berlin-${gamma.name}-${name}`)];
            expect(JSON.stringify(remaining.sort()) === JSON.stringify(expected.sort()), `left after destroy --continue-on-error: ${remaining.join(", ")}; expected only ${expected.join(", ")}`);
            expect(registrationLeft(gamma).length === REGISTRATION_PATHS.length, "gamma was cleaned while unreachable?");
        },
    ),

    step<World>("once the host is back, destroy again cleans it and empties the stack", async ({ s, gamma }) => {
        gamma.reconnect();
        const again = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"]);
        expect(hostStep(again.steps, "delete", gamma.name, "cleanup") !== undefined, "the second destroy did not clean gamma");
        expect(registrationLeft(gamma).length === 0, `gamma still has ${registrationLeft(gamma).join(", ")}`);
        const left = await resourcesOf(s, "anywhere-berlin");
        expect(left.length === 0, `the berlin stack still holds ${left.map((r) => r.urn).join(", ")}`);
    }),

    step<World>("a host that never comes back: the documented way out, pulumi state delete of its clean-up, destroy, and the clean-up by hand", async ({ s, gamma }) => {
        await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);
        gamma.disconnect();
        await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes", "--continue-on-error"], { expectFailure: true });
        await s.pulumi(["state", "delete", "-s", "anywhere-berlin", await urnOf(s, "anywhere-berlin", `-${gamma.name}-cleanup`), "--yes"]);
        await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"]);
        const left = await resourcesOf(s, "anywhere-berlin");
        expect(left.length === 0, `after state delete and destroy the berlin stack still holds ${left.map((r) => r.urn).join(", ")}`);
        gamma.reconnect();
        const byHand = await gamma.ssh(cleanupCommand(gamma.name, "ecs-anywhere-anywhere-berlin"));
        expect(byHand.status === 0 && registrationLeft(gamma).length === 0, `cleaning gamma by hand failed: ${byHand.stderr}`);
    }),

    // --- a host moved between clusters ------------------------------------------------------------
    step<World>(
        "reregister: beta, registered to site anywhere, listed in site anywhere-berlin is refused naming that cluster; with reregister: true it is cleared and registered there with berlin's activation",
        async (w) => {
            const { s, beta } = w;
            await s.pulumi(["config", "rm", "-s", "anywhere-berlin", "--path", "ecs-anywhere:hosts"]);
            await s.pulumi(setAllArgs("anywhere-berlin", hostSettings([hostEntry(beta)])));
            const refused = await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"], { expectFailure: true });
            expect(/this host is registered to another cluster, ecs-anywhere-anywhere \(as mi-[0-9a-f]{17}\)/.test(refused.output) && refused.output.includes("reregister true"), `the install was not refused naming the other cluster and the fix:\n${tail(refused.output, 30)}`);
            await s.pulumi(["config", "set", "-s", "anywhere-berlin", "ecs-anywhere:reregister", "true"]);
            const runs = beta.installerRuns().length;
            await s.pulumi(["up", "-s", "anywhere-berlin", "--yes"]);
            expect(beta.installerRuns().length === runs + 1, `the installer ran ${beta.installerRuns().length - runs} times on beta, expected once`);
            const berlin = await s.outputs("anywhere-berlin");
            const ids = (berlin.hosts as Ids)[beta.name];
            expect(ids?.containerInstanceArn.includes("container-instance/ecs-anywhere-anywhere-berlin/") && activationOf(w.bed, ids.managedInstanceId) === berlin.activationId, `beta is not registered to berlin's cluster with its activation: ${JSON.stringify(ids)}`);
            w.berlin = berlin.hosts as Ids;
        },
        ["anywhere-berlin"],
    ),

    // --- taking it down -------------------------------------------------------------------------
    step<World>(
        "a host removed from the config is deregistered: ECS, then SSM, then the host's clean-up, which leaves the registration it has now (berlin's) alone; the other only gets the new activation (one registration fewer): sealed again, install re-run without the installer",
        async ({ s, alpha, beta, site }) => {
            const alphaRuns = alpha.installerRuns().length;
            const ids = (site.hosts as Ids)[beta.name];
            await s.pulumi(["config", "rm", "-s", "anywhere", "--path", "ecs-anywhere:hosts[1]"]);
            const up = await s.pulumi(["up", "-s", "anywhere", "--yes"]);
            expectDeregisteredInOrder(up, beta.name, ids);
            expect(hostStep(up.steps, "delete", beta.name, "cleanup") !== undefined, "beta's clean-up did not finish");
            const deregistrations = deregistrationsIn(up.calls);
            expect(deregistrations.length === 2, `expected exactly beta's two deregistrations, got ${deregistrations.map((c) => JSON.stringify(c.inputs)).join(", ")}`);
            // beta is berlin's now: this stack's clean-up leaves that registration alone, naming it.
            expect(/this host is registered to cluster ecs-anywhere-anywhere-berlin as mi-[0-9a-f]{17}, not the registration this stack made \(cluster ecs-anywhere-anywhere\): left as it is/.test(up.output), `beta's clean-up did not leave berlin's registration alone with a warning:\n${tail(up.output, 30)}`);
            expect(registrationLeft(beta).length === REGISTRATION_PATHS.length, `beta lost berlin's registration: it has only ${registrationLeft(beta).join(", ")}`);
            expect(registrationLeft(alpha).length === REGISTRATION_PATHS.length, "alpha lost its registration");
            // The registration limit is exact: one host fewer is a new activation, so the code of the old one dies.
            expect(changed(up.steps).some((c) => c.type === "aws:ssm/activation:Activation" && ["create", "create-replacement"].includes(c.op)), "no new activation for one host fewer");
            const touched = changedOn(up.steps, alpha.name).filter((c) => !/-(seal|sealed-code)$/.test(c.name) && !(c.name.endsWith("-install") && c.op === "update"));
            expect(touched.length === 0, `alpha was touched beyond the new activation's seal and install: ${describeSteps(touched)}`);
            expect(alpha.installerRuns().length === alphaRuns, "the installer ran again on alpha");
        },
        ["anywhere"],
    ),

    step<World>("pulumi destroy -s anywhere: the service first, then per host ECS, SSM and the host's clean-up, the cluster after; the host left clean", async ({ s, alpha, site }) => {
        const ids = (site.hosts as Ids)[alpha.name];
        const destroy = await s.pulumi(["destroy", "-s", "anywhere", "--yes"]);
        const serviceDeleted = destroy.steps.find((c) => c.phase === "done" && c.op === "delete" && c.type === "aws:ecs/service:Service");
        const registrationStarted = destroy.steps.find((c) => c.phase === "start" && c.op === "delete" && c.name.endsWith(`-${alpha.name}-registration`));
        expect(serviceDeleted !== undefined && registrationStarted !== undefined && serviceDeleted.sequence < registrationStarted.sequence, `the service (${serviceDeleted?.sequence}) was not gone before alpha's deregistration started (${registrationStarted?.sequence})`);
        const { registrationDeleted } = expectDeregisteredInOrder(destroy, alpha.name, ids);
        expect(hostStep(destroy.steps, "delete", alpha.name, "cleanup") !== undefined, "alpha's clean-up did not finish");
        const cluster = destroy.steps.find((c) => c.phase === "start" && c.op === "delete" && c.type === "aws:ecs/cluster:Cluster");
        expect(cluster !== undefined && cluster.sequence > registrationDeleted.sequence, `the cluster's delete (${cluster?.sequence}) started before its instance was deregistered (${registrationDeleted.sequence})`);
        expect(registrationLeft(alpha).length === 0, `alpha still has ${registrationLeft(alpha).join(", ")}`);
    }),

    step<World>("pulumi destroy -s anywhere-berlin: beta, registered there, deregistered and cleaned", async ({ s, beta, berlin }) => {
        const destroy = await s.pulumi(["destroy", "-s", "anywhere-berlin", "--yes"]);
        expectDeregisteredInOrder(destroy, beta.name, berlin[beta.name]);
        expect(registrationLeft(beta).length === 0, `beta still has ${registrationLeft(beta).join(", ")}`);
    }),

    step<World>("pulumi destroy -s region: nothing left alive in the stand-ins' records, the image gone from the registry", async ({ s }) => {
        const imageUri = String((await s.outputs("region")).imageUri);
        await s.pulumi(["destroy", "-s", "region", "--yes"]);
        const alive = liveResources(path.join(s.state, "standins"));
        expect(alive.length === 0, `still alive: ${alive.map((r) => `${r.type} ${r.name}`).join(", ")}`);
        expect((await pushedManifest(s, imageUri)) === undefined, `the registry still holds ${imageUri} (forceDelete deletes a repository's images)`);
    }),

    // --- the documented session by hand ---------------------------------------------------------
    step<World>("docs/offline-engine.md, the anywhere stack by hand: every command of the session as written (region up, hosts up, anywhere up, stack output --show-secrets, destroy both, hosts down)", async ({ s }) => {
        const state = path.join(s.state, "by-hand");
        let outputs = "";
        try {
            for (const line of shellBlock(path.join(ROOT, "docs", "offline-engine.md"), "## The anywhere stack by hand")) {
                if (line.startsWith("export E2E_STATE=")) continue;
                const result = await s.shell(line, { env: { E2E_STATE: state } });
                expect(result.status === 0, `\`${line}\` exited ${result.status}:\n${tail(result.output, 20)}`);
                if (line.includes("stack output -s anywhere --show-secrets")) outputs = result.output;
            }
        } finally {
            // Hosts left running by a failed line go with it.
            if (fs.existsSync(path.join(state, "hosts", "ready.json"))) await s.shell("bash e2e/sandbox.sh hosts down", { env: { E2E_STATE: state } });
        }
        expect(/activationCode\s+[A-Za-z0-9+/=]{20,}/.test(outputs), `stack output --show-secrets shows no activation code:\n${tail(outputs, 20)}`);
        expect(/host-1[\s\S]*managedInstanceId[\s\S]*mi-[0-9a-f]{17}/.test(outputs) || /"host-1"/.test(outputs), `the outputs show no registered host-1:\n${tail(outputs, 20)}`);
        expect(!fs.existsSync(path.join(state, "hosts", "ready.json")), "the hosts still run after hosts down");
    }),
];

async function main(): Promise<void> {
    const unavailable = sandboxUnavailable();
    if (unavailable !== undefined) {
        console.log(`e2e: SKIPPED: the end-to-end scenario ${unavailable}`);
        console.log("e2e: 0 passed, 0 failed, 1 skipped");
        return;
    }
    const s = new Sandbox();
    const bed = new TestBed({ stateDir: standinState(s.state) });
    let passed = 0;
    let failed = 0;
    const measured: string[] = [];
    try {
        console.log(`e2e: state in ${s.state}`);
        const add = (name: string, options?: Parameters<TestBed["addHost"]>[1]) => bed.addHost(name, options);
        const [alpha, beta, gamma, delta, epsilon] = [await add("alpha"), await add("beta"), await add("gamma"), await add("delta"), await add("epsilon")];
        const keyHosts = [await add("k256", { hostKeyTypes: ["ecdsa"] }), await add("k384", { hostKeyTypes: ["ecdsa384"] }), await add("k521", { hostKeyTypes: ["ecdsa521"] })];
        const jump = await add("jump");
        const inner = await add("inner", { behind: jump });
        const dataDir = path.join(s.state, "data");
        fs.mkdirSync(dataDir);
        const privateKey = fs.readFileSync(bed.clientKey, "utf8");
        const keyBody = privateKey.split("\n").filter((line) => line && !line.startsWith("-----"))[1] ?? privateKey;
        const world: World = { s, bed, alpha, beta, gamma, delta, epsilon, keyHosts, jump, inner, dataDir, keyBody, verboseLog: path.join(s.state, "verbose-up.log"), verboseEvents: "", site: {}, berlin: {}, measured };
        ({ passed, failed } = await playStory(s, world, story));
    } catch (error) {
        console.log(`e2e: aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        failed++;
    } finally {
        await bed.cleanUp();
        if (failed === 0 && !process.env.E2E_KEEP) fs.rmSync(s.state, { recursive: true, force: true });
        else console.log(`e2e: state kept in ${s.state} (run.log, calls.jsonl, events-*.jsonl, backend/)`);
        if (measured.length > 0) console.log(`e2e: measured through the real command provider: ${measured.join("; ")}`);
        console.log(`e2e: ${passed} passed, ${failed} failed`);
    }
    process.exitCode = failed > 0 ? 1 : 0;
}

void main();
