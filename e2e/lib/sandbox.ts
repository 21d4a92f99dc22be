/**
 * The sandbox from a test's side, what the e2e story, the scale run and the test hosts share: a
 * project copy and a state folder, one command at a time through `e2e/sandbox.sh` (the only door),
 * each command's output kept in `run.log`, returned with the stand-ins' calls it caused and the
 * engine's record of its resource steps; how a site on test hosts is configured.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { testBedUnavailable, type TestBed, type TestHost } from "../../hosts/test/testbed";
import { readCallLog, type CallRecord } from "../standins/call-log";
import { readEngineSteps, type EngineStep } from "./engine-log";
import { TOOLS_BIN } from "./install-plugins";

export const ROOT = path.resolve(__dirname, "..", "..");
export const REGION = "eu-west-1";
/** Files of the repository a copy of the project needs; the copy keeps the checkout's stack files untouched. */
const PROJECT_LINKS = ["infra", "hosts", "worker", "node_modules", "policy", "tsconfig.json", "package.json"];
const PROJECT_COPIES = ["Pulumi.yaml", "Pulumi.region.yaml", "Pulumi.anywhere.yaml"];

export interface RunResult {
    readonly status: number | null;
    readonly output: string;
    /** Calls the stand-ins answered during this command. */
    readonly calls: CallRecord[];
    /** What the engine did to each resource, in its order (`--event-log` of up, preview, destroy). */
    readonly steps: EngineStep[];
    /** Where that event log is. */
    readonly eventLog?: string;
    readonly seconds: number;
}

export class Sandbox {
    readonly state = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-e2e-"));
    readonly project = path.join(this.state, "project");
    readonly runLog = path.join(this.state, "run.log");
    readonly callLog = path.join(this.state, "calls.jsonl");
    private commands = 0;

    constructor() {
        fs.mkdirSync(this.project);
        for (const name of PROJECT_LINKS) if (fs.existsSync(path.join(ROOT, name))) fs.symlinkSync(path.join(ROOT, name), path.join(this.project, name));
        for (const name of PROJECT_COPIES) fs.copyFileSync(path.join(ROOT, name), path.join(this.project, name));
    }

    /** Runs one command in the sandbox, in the project copy; `input` is its standard input; `stderrFile` takes its standard error instead of the output. */
    run(args: readonly string[], options: { input?: string; env?: Record<string, string>; stderrFile?: string } = {}): Promise<RunResult> {
        // The engine's own record of every resource step, for commands that have steps.
        const eventLog = args[0] === "pulumi" && ["up", "preview", "destroy", "refresh"].includes(args[1]) ? path.join(this.state, `events-${++this.commands}.jsonl`) : undefined;
        if (eventLog) args = [...args, "--event-log", eventLog];
        // PULUMI_DEBUG_COMMANDS: the CLI offers `--event-log` only with it.
        const env = { E2E_STATE: this.state, E2E_PROJECT: this.project, ...(eventLog ? { PULUMI_DEBUG_COMMANDS: "true" } : {}), ...options.env };
        return this.spawnLogged(args.join(" "), "bash", [path.join(ROOT, "e2e", "sandbox.sh"), ...args], { ...options, env }, eventLog);
    }

    /** Runs `line` as a user types it, with bash in the repository's root (not in the sandbox, which the line may call itself). */
    shell(line: string, options: { env?: Record<string, string> } = {}): Promise<RunResult> {
        return this.spawnLogged(line, "bash", ["-c", line], { ...options, cwd: ROOT });
    }

    private spawnLogged(shown: string, command: string, args: readonly string[], options: { input?: string; env?: Record<string, string>; stderrFile?: string; cwd?: string }, eventLog?: string): Promise<RunResult> {
        const before = readCallLog(this.callLog).length;
        const started = Date.now();
        fs.appendFileSync(this.runLog, `\n$ ${shown}\n`);
        process.stdout.write(`  $ ${shown}\n`);
        return new Promise((resolve) => {
            const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"], ...(options.cwd ? { cwd: options.cwd } : {}) });
            let output = "";
            const take = (chunk: Buffer) => {
                output += chunk.toString();
                fs.appendFileSync(this.runLog, chunk);
            };
            child.stdout.on("data", take);
            if (options.stderrFile) child.stderr.pipe(fs.createWriteStream(options.stderrFile));
            else child.stderr.on("data", take);
            child.stdin.end(options.input ?? "");
            child.on("close", (status) => {
                const seconds = (Date.now() - started) / 1000;
                process.stdout.write(`    exit ${status} in ${seconds.toFixed(1)} s\n`);
                resolve({ status, output, calls: readCallLog(this.callLog).slice(before), steps: eventLog ? readEngineSteps(eventLog) : [], ...(eventLog ? { eventLog } : {}), seconds });
            });
        });
    }

    async pulumi(args: readonly string[], options: { input?: string; expectFailure?: boolean; env?: Record<string, string>; stderrFile?: string } = {}): Promise<RunResult> {
        const result = await this.run(["pulumi", ...args, "--non-interactive"], options);
        const failedAsExpected = options.expectFailure === true;
        if ((result.status === 0) === failedAsExpected) {
            throw new Error(`\`pulumi ${args.join(" ")}\` exited ${result.status}${failedAsExpected ? ", expected a failure" : ""}:\n${tail(result.output, 40)}`);
        }
        return result;
    }

    /** `stack`'s outputs, secrets left hidden. */
    async outputs(stack: string): Promise<Record<string, unknown>> {
        const result = await this.pulumi(["stack", "output", "-s", stack, "--json"]);
        return JSON.parse(result.output.slice(result.output.indexOf("{"))) as Record<string, unknown>;
    }
}

export function tail(text: string, lines: number): string {
    return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export function indent(text: string): string {
    return text
        .split("\n")
        .map((line) => `    ${line}`)
        .join("\n");
}

export function expect(condition: unknown, message: string): asserts condition {
    if (!condition) throw new Error(message);
}

/** What `npm run e2e:tools` puts in .cache/pulumi/bin for the sandbox (.base-image: the offline base image's layout). */
const SANDBOX_TOOLS = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "pulumi-resource-command", "pulumi-resource-docker-build", "buildkitd", "buildctl", ".base-image"];

/** Why the real-engine runs cannot run here, or undefined if they can. */
export function sandboxUnavailable(): string | undefined {
    const missing = SANDBOX_TOOLS.filter((tool) => !fs.existsSync(path.join(TOOLS_BIN, tool)));
    const packages = ["docker-registry", "runc"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
    return (
        testBedUnavailable() ??
        (missing.length > 0 ? `needs ${missing.join(", ")} in .cache/pulumi/bin: run \`npm run e2e:tools\` first` : undefined) ??
        (packages.length > 0 ? `needs ${packages.join(" and ")} for the image build (apt-get install docker-registry runc)` : undefined)
    );
}

/**
 * Stack settings of a site on test hosts: the data folder and a shorter wait. The installer and
 * the endpoints are the defaults: the hosts reach them under their real names at the test bed.
 */
export function siteSettings(dataDir: string): [string, string][] {
    return [
        ["ecs-anywhere:dataDir", dataDir],
        ["ecs-anywhere:verifyTimeoutSeconds", "30"],
        // An activation window of 11 days: the default's is one day, so a run that crossed midnight
        // UTC would see a new activation between an up and the preview after it. Defaults: infra tests.
        ["ecs-anywhere:activationExpiryDays", "14"],
        ["ecs-anywhere:activationRenewDays", "3"],
    ];
}

/** The stand-in state folder of the sandbox with state `state`, where the test bed's stand-in AWS API records what the hosts register. */
export function standinState(state: string): string {
    return path.join(state, "standins");
}

/** A host as `ecs-anywhere:hosts` lists it, with its pinned key; `address`: where it is reached (default its own). */
export function hostEntry(host: TestHost, address = host.address): Record<string, string> {
    return { name: host.name, address, user: "root", hostKey: host.publicHostKey };
}

/** Host entries as `pulumi config set-all --path` keys, `ecs-anywhere:hosts[<first + i>].<field>`. */
export function hostSettings(entries: readonly Readonly<Record<string, string>>[], first = 0): [string, string][] {
    return entries.flatMap((entry, i) => Object.entries(entry).map(([field, value]) => [`ecs-anywhere:hosts[${first + i}].${field}`, value] as [string, string]));
}

/** `pulumi config set-all` of plain `settings` on `stack` (`--path` keys allowed): one CLI start for all. */
export function setAllArgs(stack: string, settings: readonly (readonly [string, string])[]): string[] {
    return ["config", "set-all", "-s", stack, "--path", ...settings.flatMap(([key, value]) => ["--plaintext", `${key}=${value}`])];
}

export interface SiteOptions {
    /** The hosts' entries (default `hostEntry` of each). */
    readonly entries?: readonly Record<string, string>[];
    /** More plain settings (`--path` keys allowed). */
    readonly config?: readonly (readonly [string, string])[];
    /** Secret settings, each set from standard input (default: the bed's client key as `ecs-anywhere:sshPrivateKey`). */
    readonly secrets?: readonly (readonly [string, string])[];
}

/**
 * Makes anywhere stack `stack` for `hosts` with `pulumi stack init` and `pulumi config`, as a user
 * does: the example file's hosts replaced, the test bed's settings, the private key as a secret.
 */
export async function configureSite(sandbox: Sandbox, stack: string, bed: TestBed, hosts: readonly TestHost[], dataDir: string, options: SiteOptions = {}): Promise<void> {
    // As the docs say for a new site: the example file copied first (it carries aws:region), then the
    // stack made. The checkout's: the project copy's Pulumi.anywhere.yaml is the anywhere stack's own by now.
    const file = path.join(sandbox.project, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) fs.copyFileSync(path.join(ROOT, "Pulumi.anywhere.yaml"), file);
    await sandbox.pulumi(["stack", "init", stack]);
    await sandbox.pulumi(["config", "rm", "-s", stack, "ecs-anywhere:hosts"]);
    const entries = options.entries ?? hosts.map((host) => hostEntry(host));
    await sandbox.pulumi(setAllArgs(stack, [...hostSettings(entries), ...siteSettings(dataDir), ...(options.config ?? [])]));
    for (const [key, value] of options.secrets ?? [["ecs-anywhere:sshPrivateKey", fs.readFileSync(bed.clientKey, "utf8")]]) {
        await sandbox.pulumi(["config", "set", "-s", stack, "--secret", key], { input: value });
    }
}

/** An ssh-agent holding the keys in `keyFiles` (without passphrase), on a socket in `dir`; `stop` ends it. */
export async function startSshAgent(dir: string, keyFiles: readonly string[]): Promise<{ socket: string; stop: () => void }> {
    const socket = path.join(dir, `agent-${process.pid}.sock`);
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    const stop = () => agent.kill("SIGTERM");
    for (let i = 0; !fs.existsSync(socket); i++) {
        if (i > 100 || agent.exitCode !== null) {
            stop();
            throw new Error(`ssh-agent did not open ${socket}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const file of keyFiles) {
        const added = spawnSync("ssh-add", [file], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: ["ignore", "pipe", "pipe"] });
        if (added.status !== 0) {
            stop();
            throw new Error(`ssh-add ${file} failed: ${added.stderr.toString()}`);
        }
    }
    return { socket, stop };
}
