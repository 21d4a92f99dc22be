/**
 * What the end-to-end scenario and the scale run share: a project copy and a state folder, one
 * command at a time through `e2e/sandbox.sh`, each command's output kept in `run.log` and the
 * stand-ins' calls it caused returned with it; named checks counted for the closing line.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { testBedUnavailable, type TestBed, type TestHost } from "../hosts/test/testbed";
import { readCallLog, type CallRecord } from "./standins/call-log";

export const ROOT = path.resolve(__dirname, "..");
export const BIN = path.join(ROOT, ".cache", "pulumi", "bin");
export const REGION = "eu-west-1";
/** Files of the repository a copy of the project needs; the copy keeps the checkout's stack files untouched. */
const PROJECT_LINKS = ["infra", "hosts", "worker", "node_modules", "policy", "tsconfig.json", "package.json"];
const PROJECT_COPIES = ["Pulumi.yaml", "Pulumi.region.yaml", "Pulumi.anywhere.yaml"];

export interface RunResult {
    readonly status: number | null;
    readonly output: string;
    /** Calls the stand-ins answered during this command. */
    readonly calls: CallRecord[];
    readonly seconds: number;
}

export class Sandbox {
    readonly state = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-e2e-"));
    readonly project = path.join(this.state, "project");
    readonly runLog = path.join(this.state, "run.log");
    readonly callLog = path.join(this.state, "calls.jsonl");
    passed = 0;
    failed = 0;

    constructor() {
        fs.mkdirSync(this.project);
        for (const name of PROJECT_LINKS) if (fs.existsSync(path.join(ROOT, name))) fs.symlinkSync(path.join(ROOT, name), path.join(this.project, name));
        for (const name of PROJECT_COPIES) fs.copyFileSync(path.join(ROOT, name), path.join(this.project, name));
    }

    /** Runs one command in the sandbox, in the project copy; `input` is its standard input. */
    run(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
        const before = readCallLog(this.callLog).length;
        const started = Date.now();
        fs.appendFileSync(this.runLog, `\n$ ${args.join(" ")}\n`);
        process.stdout.write(`  $ ${args.join(" ")}\n`);
        return new Promise((resolve) => {
            const child = spawn("bash", [path.join(ROOT, "e2e", "sandbox.sh"), ...args], {
                env: { ...process.env, E2E_STATE: this.state, E2E_PROJECT: this.project, ...options.env },
                stdio: ["pipe", "pipe", "pipe"],
            });
            let output = "";
            const take = (chunk: Buffer) => {
                output += chunk.toString();
                fs.appendFileSync(this.runLog, chunk);
            };
            child.stdout.on("data", take);
            child.stderr.on("data", take);
            child.stdin.end(options.input ?? "");
            child.on("close", (status) => {
                const seconds = (Date.now() - started) / 1000;
                process.stdout.write(`    exit ${status} in ${seconds.toFixed(1)} s\n`);
                resolve({ status, output, calls: readCallLog(this.callLog).slice(before), seconds });
            });
        });
    }

    async pulumi(args: readonly string[], options: { input?: string; expectFailure?: boolean } = {}): Promise<RunResult> {
        const result = await this.run(["pulumi", ...args, "--non-interactive"], options);
        const failedAsExpected = options.expectFailure === true;
        if ((result.status === 0) === failedAsExpected) {
            throw new Error(`\`pulumi ${args.join(" ")}\` exited ${result.status}${failedAsExpected ? ", expected a failure" : ""}:\n${tail(result.output, 40)}`);
        }
        return result;
    }

    async outputs(stack: string, showSecrets = false): Promise<Record<string, unknown>> {
        const result = await this.pulumi(["stack", "output", "-s", stack, "--json", ...(showSecrets ? ["--show-secrets"] : [])]);
        return JSON.parse(result.output.slice(result.output.indexOf("{"))) as Record<string, unknown>;
    }

    async check(name: string, body: () => Promise<void>): Promise<boolean> {
        process.stdout.write(`\n- ${name}\n`);
        try {
            await body();
            this.passed++;
            process.stdout.write(`  ok: ${name}\n`);
            return true;
        } catch (error) {
            this.failed++;
            process.stdout.write(`  FAILED: ${name}\n${indent(error instanceof Error ? error.message : String(error))}\n`);
            return false;
        }
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

/** Index of the first call matching `match`, or -1. */
export function indexOf(calls: readonly CallRecord[], match: (call: CallRecord) => boolean): number {
    return calls.findIndex(match);
}

export const isCommand = (operation: string, host: string, step: string) => (call: CallRecord) =>
    call.provider === "command" && call.operation === operation && call.type === "command:remote:Command" && call.name.endsWith(`-${host}-${step}`);

/** Why the real-engine runs cannot run here, or undefined if they can. */
export function sandboxUnavailable(): string | undefined {
    const missing = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"].filter((tool) => !fs.existsSync(path.join(BIN, tool)));
    return testBedUnavailable() ?? (missing.length > 0 ? `needs ${missing.join(", ")} in .cache/pulumi/bin: run \`npm run e2e:tools\` first` : undefined);
}

/** Stack settings that point an anywhere stack's hosts at the test bed's installer and endpoints. */
export function siteSettings(bed: TestBed, dataDir: string): [string, string][] {
    const port = new URL(bed.installerUrl(bed.hosts[0])).port;
    const shared = `http://${bed.sharedGateway}:${port}`;
    return [
        ["ecs-anywhere:dataDir", dataDir],
        ["ecs-anywhere:installerUrl", `${shared}/ecs-anywhere-install-latest.sh`],
        ["ecs-anywhere:ssmEndpoint", `${shared}/ssm`],
        ["ecs-anywhere:ecsEndpoint", `${shared}/ecs`],
        ["ecs-anywhere:verifyTimeoutSeconds", "30"],
    ];
}

/** A host as `ecs-anywhere:hosts` lists it, with its pinned key. */
export function hostEntry(host: TestHost): Record<string, string> {
    return { name: host.name, address: host.address, user: "root", hostKey: host.publicHostKey };
}

/**
 * Makes anywhere stack `stack` for `hosts` with `pulumi stack init` and `pulumi config set`, as a
 * user does: the example file's hosts replaced, the test bed's settings, the private key as a secret.
 */
export async function configureSite(sandbox: Sandbox, stack: string, bed: TestBed, hosts: readonly TestHost[], dataDir: string): Promise<void> {
    // As the README says for a new site: the example file copied first (it carries aws:region), then the stack made.
    const file = path.join(sandbox.project, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) fs.copyFileSync(path.join(sandbox.project, "Pulumi.anywhere.yaml"), file);
    await sandbox.pulumi(["stack", "init", stack]);
    await sandbox.pulumi(["config", "rm", "-s", stack, "ecs-anywhere:hosts"]);
    for (const [i, host] of hosts.entries()) {
        for (const [field, value] of Object.entries(hostEntry(host))) {
            await sandbox.pulumi(["config", "set", "-s", stack, "--path", `ecs-anywhere:hosts[${i}].${field}`, value]);
        }
    }
    for (const [key, value] of siteSettings(bed, dataDir)) await sandbox.pulumi(["config", "set", "-s", stack, key, value]);
    await sandbox.pulumi(["config", "set", "-s", stack, "--secret", "ecs-anywhere:sshPrivateKey"], { input: fs.readFileSync(bed.clientKey, "utf8") });
}
