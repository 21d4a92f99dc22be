/**
 * What the e2e story checks beside its steps, on the artefacts a user (or an auditor) could look
 * at: the hosts' own files, the AWS stand-ins' call log, the engine's record of its steps, the
 * policy pack's report, and any text that must hold no secret.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { TestHost } from "../../hosts/test/testbed";
import type { CallRecord } from "../standins/call-log";
import { hostStep, type EngineStep } from "./engine-log";
import { expect, ROOT, type RunResult, type Sandbox } from "./sandbox";

/** Files a registration leaves on a host (the installer's and the agents'). */
export const REGISTRATION_PATHS = ["/var/lib/amazon/ssm", "/etc/ecs", "/var/lib/ecs", "/var/lib/ecs-anywhere"];

export function registrationLeft(host: TestHost): string[] {
    return REGISTRATION_PATHS.filter((p) => fs.existsSync(host.hostPath(p)));
}

/** The stand-in ECS/SSM deregistration calls in `calls`. */
export function deregistrationsIn(calls: readonly CallRecord[]): CallRecord[] {
    return calls.filter((c) => c.operation === "api" && c.type.startsWith("Deregister"));
}

/** Where in `calls` the host with `ids` left ECS and SSM (-1: it did not). */
export function deregistrationOf(calls: readonly CallRecord[], ids: { containerInstanceArn: string; managedInstanceId: string }): { ecs: number; ssm: number } {
    return {
        ecs: calls.findIndex((c) => c.provider === "ecs-api" && c.type === "DeregisterContainerInstance" && JSON.stringify(c.inputs).includes(ids.containerInstanceArn)),
        ssm: calls.findIndex((c) => c.provider === "ssm-api" && c.type === "DeregisterManagedInstance" && JSON.stringify(c.inputs).includes(ids.managedInstanceId)),
    };
}

/**
 * `host` left in order: its AWS side (ECS, then SSM, in the stand-in API's call log) within the
 * delete of its registration, and the host's own clean-up only after that delete finished.
 */
export function expectDeregisteredInOrder(run: RunResult, host: string, ids: { containerInstanceArn: string; managedInstanceId: string }): { registrationDeleted: EngineStep } {
    const { ecs, ssm } = deregistrationOf(run.calls, ids);
    expect(ecs >= 0 && ssm > ecs, `${host} was not deregistered in AWS, ECS then SSM (ECS call ${ecs}, SSM call ${ssm})`);
    const registrationDeleted = run.steps.find((s) => s.phase === "done" && s.op === "delete" && s.name.endsWith(`-${host}-registration`));
    const cleanup = hostStep(run.steps, "delete", host, "cleanup", "start");
    expect(registrationDeleted !== undefined && cleanup !== undefined && registrationDeleted.sequence < cleanup.sequence, `${host}'s clean-up did not start after its registration was deleted (registration ${registrationDeleted?.sequence}, clean-up ${cleanup?.sequence})`);
    return { registrationDeleted };
}

/**
 * Whether `host`'s sshd cannot be reached at `address` from here: a key scan gets no key of it
 * (a TCP dial alone proves nothing where the network accepts connections to any address).
 */
export function unreachableFromHere(host: TestHost, address: string): boolean {
    const scan = spawnSync("ssh-keyscan", ["-T", "3", "-t", "ed25519", address], { encoding: "utf8" });
    return !scan.stdout.includes(host.publicHostKey.split(" ")[1]);
}

/** `type base64` of a fresh key of `type` (ssh-keygen -t), pinned by no host. */
export function strangerKey(dir: string, type: string): string {
    const file = path.join(dir, `stranger-${type}-${crypto.randomBytes(4).toString("hex")}`);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", file]);
    return fs.readFileSync(`${file}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
}

/**
 * The lines of the `sh` block under the heading `heading` in `file` (a Markdown document): the first
 * one after it, before the next heading of level 1 or 2.
 */
export function shellBlock(file: string, heading: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const at = text.indexOf(`\n${heading}\n`);
    if (at < 0) throw new Error(`${path.basename(file)} has no heading ${JSON.stringify(heading)}`);
    const after = text.slice(at + heading.length + 2);
    const block = /```sh\n([\s\S]*?)```/.exec(after);
    const nextHeading = after.search(/^#{1,2} /m);
    if (!block || (nextHeading >= 0 && block.index > nextHeading)) throw new Error(`${path.basename(file)} has no sh block under ${JSON.stringify(heading)}`);
    return block[1].split("\n").filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
}

/** Every `*.log` file in `folders`, recursively. */
export function logFilesUnder(folders: readonly string[]): string[] {
    return folders.flatMap((folder) =>
        fs.existsSync(folder)
            ? (fs.readdirSync(folder, { recursive: true }) as string[]).map((name) => path.join(folder, name)).filter((file) => file.endsWith(".log") && fs.statSync(file).isFile())
            : [],
    );
}

/** The residency policy pack's own line in a `--policy-pack` run's output: it ran and passed. */
export const PACK_PASSED = /✅ ecs-anywhere-residency@v[\d.]+ \(local: policy\)/;

/** Whether a `--policy-pack` run's output shows `rule` refusing a resource as mandatory. */
export function refusedBy(output: string, rule: string): boolean {
    return /❌ ecs-anywhere-residency@v/.test(output) && new RegExp(`\\[mandatory\\]\\s+${rule}\\s`).test(output);
}

/**
 * A copy of the sandbox's project whose infra/ is a real copy with `file` changed by `change`; the
 * rest (stack config, links to node_modules, worker, hosts, policy) as in the project. Fails if the
 * change finds nothing to change.
 */
export function changedProgram(s: Sandbox, name: string, file: string, change: (source: string) => string): string {
    const copy = path.join(s.state, name);
    fs.mkdirSync(copy);
    for (const entry of fs.readdirSync(s.project)) {
        const from = path.join(s.project, entry);
        if (entry === "infra") fs.cpSync(path.join(ROOT, "infra"), path.join(copy, "infra"), { recursive: true });
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

/** Fails naming the first place (name to text) that holds one of `secrets` (name to value) in plain text. */
export function expectNoSecretIn(places: Readonly<Record<string, string>>, secrets: Readonly<Record<string, string>>): void {
    for (const [place, text] of Object.entries(places)) {
        for (const [secret, value] of Object.entries(secrets)) expect(!text.includes(value), `${place} holds ${secret} in plain text`);
    }
}
